/*
 * template.c - expansion of `{{ $labels.NAME }}` and `{{ $value }}`
 * (template.h). One pass over the text; nothing is compiled.
 */
#include <stdio.h>
#include <string.h>

#include "alert/template.h"

/* What one action between "{{" and "}}" asks for. */
enum tpl_kind { TPL_BAD, TPL_LABEL, TPL_VALUE };

struct tpl_action {
    enum tpl_kind kind;
    const char *name; /* TPL_LABEL: the label's name, name_len bytes */
    size_t name_len;
    size_t end; /* offset just past "}}" */
};

static bool tpl_is_name_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    return !first && c >= '0' && c <= '9';
}

/* Reads the action of tpl that starts at offset at ("{{"). */
static struct tpl_action tpl_action(const char *tpl, size_t at)
{
    struct tpl_action a = {TPL_BAD, NULL, 0, 0};
    const char *p = tpl + at + 2, *close = strstr(p, "}}"), *e;

    if (close == NULL)
        return a;
    a.end = (size_t)(close - tpl) + 2;
    while (*p == ' ')
        p++;
    e = close;
    while (e > p && e[-1] == ' ')
        e--;
    if ((size_t)(e - p) == 6 && strncmp(p, "$value", 6) == 0)
        a.kind = TPL_VALUE;
    else if ((size_t)(e - p) == 6 && strncmp(p, ".Value", 6) == 0)
        a.kind = TPL_VALUE;
    else if (strncmp(p, "$labels.", 8) == 0)
        p += 8;
    else if (strncmp(p, ".Labels.", 8) == 0)
        p += 8;
    else
        return a;
    if (a.kind == TPL_VALUE)
        return a;
    a.name = p;
    a.name_len = (size_t)(e - p);
    while (p < e && tpl_is_name_char(*p, p == a.name))
        p++;
    if (p == e && a.name_len > 0)
        a.kind = TPL_LABEL;
    return a;
}

int vg_alert_template_check(const char *tpl, char *why, size_t why_size)
{
    const char *p = tpl;
    struct tpl_action a;

    for (p = strstr(p, "{{"); p != NULL; p = strstr(p, "{{")) {
        a = tpl_action(tpl, (size_t)(p - tpl));
        if (a.end == 0) {
            snprintf(why, why_size, "at offset %zu: '{{' without a closing '}}'",
                     (size_t)(p - tpl));
            return VG_EPARSE;
        }
        if (a.kind == TPL_BAD) {
            snprintf(why, why_size,
                     "at offset %zu: unknown '%.*s': use {{ $labels.NAME }} or {{ $value }}",
                     (size_t)(p - tpl), (int)(a.end - (size_t)(p - tpl)), p);
            return VG_EPARSE;
        }
        p = tpl + a.end;
    }
    return VG_OK;
}

static const char *tpl_label(const struct vg_label *labels, size_t n, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strncmp(labels[i].name, name, len) == 0 && labels[i].name[len] == '\0')
            return labels[i].value;
    return "";
}

int vg_alert_template_expand(const char *tpl, const struct vg_label *labels, size_t n, double value,
                             struct vg_buf *b)
{
    const char *p = tpl, *open;
    struct tpl_action a;
    int rc = VG_OK;

    for (open = strstr(p, "{{"); rc == VG_OK && open != NULL; open = strstr(p, "{{")) {
        a = tpl_action(tpl, (size_t)(open - tpl));
        if (a.kind == TPL_BAD) {
            rc = vg_buf_append(b, p, (size_t)(open - p) + 2);
            p = open + 2;
            continue;
        }
        rc = vg_buf_append(b, p, (size_t)(open - p));
        if (rc == VG_OK && a.kind == TPL_VALUE)
            rc = vg_buf_put_double(b, value);
        else if (rc == VG_OK)
            rc = vg_buf_puts(b, tpl_label(labels, n, a.name, a.name_len));
        p = tpl + a.end;
    }
    return rc == VG_OK ? vg_buf_puts(b, p) : rc;
}

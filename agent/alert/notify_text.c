/*
 * notify_text.c - what every notifier says the same way: a notice's
 * title, its times, the labels of its alerts and link templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/notifier.h"

static void notice_labels_free(struct vg_label *v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++) {
        free((char *)v[i].name);
        free((char *)v[i].value);
    }
    free(v);
}

void vg_notice_free(struct vg_notice *n)
{
    size_t i;

    if (n == NULL)
        return;
    for (i = 0; i < n->n_alerts; i++) {
        notice_labels_free(n->alerts[i].labels, n->alerts[i].n_labels);
        notice_labels_free(n->alerts[i].annotations, n->alerts[i].n_annotations);
        free(n->alerts[i].generator_url);
    }
    free(n->alerts);
    notice_labels_free(n->group_labels, n->n_group_labels);
    free(n);
}

const char *vg_notice_label(const struct vg_notice_alert *a, const char *name)
{
    size_t i;

    for (i = 0; i < a->n_labels; i++)
        if (strcmp(a->labels[i].name, name) == 0)
            return a->labels[i].value;
    return NULL;
}

void vg_notice_title(const struct vg_notice *n, char *out, size_t size)
{
    const char *name = n->n_alerts > 0 ? vg_notice_label(&n->alerts[0], "alertname") : NULL;
    char labels[512], state[32];
    size_t i, len = 0;
    int k;

    labels[0] = '\0';
    for (i = 0; i < n->n_group_labels; i++) {
        if (strcmp(n->group_labels[i].name, "alertname") == 0)
            continue;
        k = snprintf(labels + len, sizeof(labels) - len, "%s%s=%s", len > 0 ? " " : "",
                     n->group_labels[i].name, n->group_labels[i].value);
        if (k < 0 || (size_t)k >= sizeof(labels) - len)
            break;
        len += (size_t)k;
    }
    if (n->n_firing > 0)
        snprintf(state, sizeof(state), "FIRING:%zu", n->n_firing);
    else
        snprintf(state, sizeof(state), "RESOLVED");
    snprintf(out, size, "[%s] %s%s%s%s", state, name != NULL ? name : "alert", len > 0 ? " (" : "",
             labels, len > 0 ? ")" : "");
}

void vg_notice_time(int64_t ns, char *out, size_t size)
{
    time_t s = (time_t)(ns / VG_NS_PER_SEC);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((ns % VG_NS_PER_SEC) / VG_NS_PER_MS));
}

/* Appends s, percent-encoded outside RFC 3986's unreserved bytes when url. */
static int notice_put(struct vg_buf *out, const char *s, bool url)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = VG_OK;

    if (!url)
        return vg_buf_puts(out, s);
    for (; *s != '\0' && rc == VG_OK; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rc = vg_buf_putc(out, (char)c);
            continue;
        }
        rc = vg_buf_putc(out, '%');
        if (rc == VG_OK)
            rc = vg_buf_putc(out, hex[c >> 4]);
        if (rc == VG_OK)
            rc = vg_buf_putc(out, hex[c & 15]);
    }
    return rc;
}

/* The value "{{ X }}" at p (len bytes between the braces, trimmed) stands
 * for, or NULL when it is no placeholder we know. */
static const char *notice_placeholder(const struct vg_notice_alert *a, const char *p, size_t len,
                                      char *num, size_t num_size)
{
    char name[128];

    while (len > 0 && *p == ' ')
        p++, len--;
    while (len > 0 && p[len - 1] == ' ')
        len--;
    if (len == 6 && strncmp(p, "$value", 6) == 0) {
        snprintf(num, num_size, "%g", a->value);
        return num;
    }
    if (len <= 8 || len - 8 >= sizeof(name) || strncmp(p, "$labels.", 8) != 0)
        return NULL;
    memcpy(name, p + 8, len - 8);
    name[len - 8] = '\0';
    p = vg_notice_label(a, name);
    return p != NULL ? p : "";
}

int vg_notice_expand(const struct vg_notice *n, const char *tmpl, bool url, struct vg_buf *out)
{
    const char *p = tmpl, *open, *close, *v;
    char num[64];
    int rc = VG_OK;

    while (rc == VG_OK && *p != '\0') {
        open = strstr(p, "{{");
        close = open != NULL ? strstr(open + 2, "}}") : NULL;
        if (close == NULL || n->n_alerts == 0)
            return vg_buf_puts(out, p);
        rc = vg_buf_append(out, p, (size_t)(open - p));
        v = notice_placeholder(&n->alerts[0], open + 2, (size_t)(close - open - 2), num,
                               sizeof(num));
        if (rc == VG_OK && v != NULL)
            rc = notice_put(out, v, url);
        else if (rc == VG_OK)
            rc = vg_buf_append(out, open, (size_t)(close + 2 - open));
        p = close + 2;
    }
    return rc;
}

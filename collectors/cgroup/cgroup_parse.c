/*
 * cgroup_parse.c - pure parsers for the cgroup collector's files.
 *
 * Lines are walked in place and split on blanks into spans of the caller's
 * text (the node collector's span helpers): no allocation and no
 * filesystem, so every parser is tested on strings, garbage included.
 */
#include <string.h>

#include "../node/node_parse.h"
#include "cgroup_parse.h"

/* Cuts the next line (without '\n') off *rest; false when none is left. */
static bool cgroup_next_line(struct node_span *rest, struct node_span *line)
{
    const char *nl;

    if (rest->n == 0)
        return false;
    nl = memchr(rest->p, '\n', rest->n);
    line->p = rest->p;
    line->n = nl != NULL ? (size_t)(nl - rest->p) : rest->n;
    rest->p += line->n + (nl != NULL);
    rest->n -= line->n + (nl != NULL);
    return true;
}

/* Cuts the next blank-separated word off *s; false when none is left. */
static bool cgroup_next_word(struct node_span *s, struct node_span *word)
{
    while (s->n > 0 && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r')) {
        s->p++;
        s->n--;
    }
    if (s->n == 0)
        return false;
    word->p = s->p;
    while (s->n > 0 && *s->p != ' ' && *s->p != '\t' && *s->p != '\r') {
        s->p++;
        s->n--;
    }
    word->n = (size_t)(s->p - word->p);
    return true;
}

/* The one word of a single-value file. */
static bool cgroup_only_word(const char *text, size_t len, struct node_span *word)
{
    struct node_span s = {text, len}, line, extra;

    if (!cgroup_next_line(&s, &line) || s.n != 0)
        return false;
    if (!cgroup_next_word(&line, word))
        return false;
    return !cgroup_next_word(&line, &extra);
}

int cgroup_parse_u64(const char *text, size_t len, uint64_t *out)
{
    struct node_span w;

    if (!cgroup_only_word(text, len, &w) || !node_span_u64(&w, out))
        return VG_EPARSE;
    return VG_OK;
}

int cgroup_parse_limit(const char *text, size_t len, uint64_t *out)
{
    struct node_span w;

    if (!cgroup_only_word(text, len, &w))
        return VG_EPARSE;
    if (node_span_eq(&w, "max") || node_span_eq(&w, "-1")) {
        *out = 0;
        return VG_OK;
    }
    return node_span_u64(&w, out) ? VG_OK : VG_EPARSE;
}

int cgroup_parse_kv(const char *text, size_t len, struct cgroup_kv *keys, size_t n_keys)
{
    struct node_span rest = {text, len}, line, key, val;
    size_t i;

    for (i = 0; i < n_keys; i++)
        keys[i].found = false;
    while (cgroup_next_line(&rest, &line)) {
        if (!cgroup_next_word(&line, &key))
            continue;
        if (!cgroup_next_word(&line, &val))
            return VG_EPARSE;
        for (i = 0; i < n_keys; i++) {
            if (!node_span_eq(&key, keys[i].key))
                continue;
            if (!node_span_u64(&val, &keys[i].value))
                return VG_EPARSE;
            keys[i].found = true;
            break;
        }
    }
    return VG_OK;
}

int cgroup_parse_cpu_max(const char *text, size_t len, uint64_t *quota, uint64_t *period)
{
    struct node_span s = {text, len}, line, q, p, extra;
    uint64_t qv = 0, pv;

    if (!cgroup_next_line(&s, &line) || s.n != 0)
        return VG_EPARSE;
    if (!cgroup_next_word(&line, &q) || !cgroup_next_word(&line, &p) ||
        cgroup_next_word(&line, &extra))
        return VG_EPARSE;
    if (!node_span_eq(&q, "max") && !node_span_u64(&q, &qv))
        return VG_EPARSE;
    if (!node_span_u64(&p, &pv))
        return VG_EPARSE;
    *quota = qv;
    *period = pv;
    return VG_OK;
}

/* "MAJ:MIN" into major and minor. */
static bool cgroup_span_dev(const struct node_span *s, unsigned *major, unsigned *minor)
{
    const char *colon = memchr(s->p, ':', s->n);
    struct node_span a, b;
    uint64_t ma, mi;

    if (colon == NULL)
        return false;
    a.p = s->p;
    a.n = (size_t)(colon - s->p);
    b.p = colon + 1;
    b.n = s->n - a.n - 1;
    if (!node_span_u64(&a, &ma) || !node_span_u64(&b, &mi) || ma > 0xfffff || mi > 0xfffff)
        return false;
    *major = (unsigned)ma;
    *minor = (unsigned)mi;
    return true;
}

/* The entry of device major:minor in out, added when new; NULL when full. */
static size_t cgroup_io_slot(struct cgroup_io *out, unsigned major, unsigned minor)
{
    size_t i;

    for (i = 0; i < out->n; i++)
        if (out->dev[i].major == major && out->dev[i].minor == minor)
            return i;
    if (out->n == CGROUP_IO_DEV_MAX)
        return CGROUP_IO_DEV_MAX;
    out->dev[out->n].major = major;
    out->dev[out->n].minor = minor;
    out->dev[out->n].rbytes = out->dev[out->n].wbytes = 0;
    return out->n++;
}

/* One "key=value" word of io.stat into the device's entry. */
static bool cgroup_io_field(const struct node_span *w, struct cgroup_io *out, size_t slot)
{
    const char *eq = memchr(w->p, '=', w->n);
    struct node_span key, val;
    uint64_t v;

    if (eq == NULL)
        return false;
    key.p = w->p;
    key.n = (size_t)(eq - w->p);
    val.p = eq + 1;
    val.n = w->n - key.n - 1;
    if (!node_span_u64(&val, &v))
        return false;
    if (slot < CGROUP_IO_DEV_MAX && node_span_eq(&key, "rbytes"))
        out->dev[slot].rbytes = v;
    else if (slot < CGROUP_IO_DEV_MAX && node_span_eq(&key, "wbytes"))
        out->dev[slot].wbytes = v;
    return true;
}

int cgroup_parse_io_stat(const char *text, size_t len, struct cgroup_io *out)
{
    struct node_span rest = {text, len}, line, w;
    unsigned major, minor;

    out->n = 0;
    while (cgroup_next_line(&rest, &line)) {
        size_t slot;

        if (!cgroup_next_word(&line, &w))
            continue;
        if (!cgroup_span_dev(&w, &major, &minor))
            return VG_EPARSE;
        slot = cgroup_io_slot(out, major, minor);
        while (cgroup_next_word(&line, &w))
            if (!cgroup_io_field(&w, out, slot))
                return VG_EPARSE;
    }
    return VG_OK;
}

int cgroup_parse_blkio(const char *text, size_t len, struct cgroup_io *out)
{
    struct node_span rest = {text, len}, line, dev, op, val;
    unsigned major, minor;
    uint64_t v;

    out->n = 0;
    while (cgroup_next_line(&rest, &line)) {
        size_t slot;

        if (!cgroup_next_word(&line, &dev))
            continue;
        if (node_span_eq(&dev, "Total"))
            continue;
        if (!cgroup_span_dev(&dev, &major, &minor) || !cgroup_next_word(&line, &op) ||
            !cgroup_next_word(&line, &val) || !node_span_u64(&val, &v))
            return VG_EPARSE;
        slot = cgroup_io_slot(out, major, minor);
        if (slot == CGROUP_IO_DEV_MAX)
            continue;
        if (node_span_eq(&op, "Read"))
            out->dev[slot].rbytes = v;
        else if (node_span_eq(&op, "Write"))
            out->dev[slot].wbytes = v;
    }
    return VG_OK;
}

/* The format is /proc/pressure's: the node collector's parser reads it. */
int cgroup_parse_pressure(const char *text, size_t len, struct cgroup_psi *out)
{
    struct node_perr pe = {0, NULL};
    struct node_psi psi;

    if (node_parse_pressure(text, len, &psi, &pe) != VG_OK)
        return VG_EPARSE;
    out->some_us = psi.some_total_us;
    out->has_full = psi.has_full;
    out->full_us = psi.has_full ? psi.full_total_us : 0;
    return VG_OK;
}

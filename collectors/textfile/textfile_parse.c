/*
 * textfile_parse.c - the Prometheus text exposition format 0.0.4, parsed
 * the way node_exporter's textfile collector reads it, and stricter where
 * node_exporter would silently drop data: a file either parses whole or
 * yields nothing.
 *
 * Lines are `# HELP name text`, `# TYPE name type`, other comments, blank
 * lines and samples `name{label="value",...} value`. A sample named
 * X_bucket, X_sum or X_count belongs to family X when X was declared a
 * histogram (or, for _sum and _count, a summary) earlier in the file.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "textfile_parse.h"

#define TEXTFILE_VALUE_MAX 64 /* characters of a sample value or a bound */
#define TEXTFILE_QUOTE_MAX 48 /* characters of input quoted in a message */

/* ------------------------------------------------------------------------
 * The set of byte strings.
 */

void textfile_keys_init(struct textfile_keys *k)
{
    memset(k, 0, sizeof(*k));
    vg_buf_init(&k->arena);
}

void textfile_keys_reset(struct textfile_keys *k)
{
    vg_buf_reset(&k->arena);
    k->n = 0;
    if (k->slots != NULL)
        memset(k->slots, 0, k->n_slots * sizeof(*k->slots));
}

void textfile_keys_free(struct textfile_keys *k)
{
    vg_buf_free(&k->arena);
    free(k->ents);
    free(k->slots);
    textfile_keys_init(k);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t textfile_keys_slot(const struct textfile_keys *k, const void *key, size_t len,
                                 uint64_t h)
{
    size_t mask = k->n_slots - 1, j;

    for (j = h & mask; k->slots[j] != 0; j = (j + 1) & mask) {
        const struct textfile_key *e = &k->ents[k->slots[j] - 1];

        if (e->hash == h && e->len == len && memcmp(k->arena.data + e->off, key, len) == 0)
            break;
    }
    return j;
}

long textfile_keys_find(const struct textfile_keys *k, const void *key, size_t len)
{
    size_t j;

    if (k->n_slots == 0)
        return -1;
    j = textfile_keys_slot(k, key, len, vg_fnv1a(key, len));
    return k->slots[j] != 0 ? (long)k->slots[j] - 1 : -1;
}

/* Keeps room for one more entry and the load at or under one half. */
static int textfile_keys_room(struct textfile_keys *k)
{
    size_t n_slots = k->n_slots ? k->n_slots : 64, cap, i, j;
    struct textfile_key *ents;
    uint32_t *slots;

    if (k->n + 1 > k->cap) {
        cap = k->cap ? k->cap * 2 : 32;
        ents = realloc(k->ents, cap * sizeof(*ents));
        if (ents == NULL)
            return VG_ENOMEM;
        k->ents = ents;
        k->cap = cap;
    }
    while ((k->n + 1) * 2 > n_slots)
        n_slots *= 2;
    if (n_slots == k->n_slots)
        return VG_OK;
    slots = calloc(n_slots, sizeof(*slots));
    if (slots == NULL)
        return VG_ENOMEM;
    for (i = 0; i < k->n; i++) {
        for (j = k->ents[i].hash & (n_slots - 1); slots[j] != 0; j = (j + 1) & (n_slots - 1))
            ;
        slots[j] = (uint32_t)(i + 1);
    }
    free(k->slots);
    k->slots = slots;
    k->n_slots = n_slots;
    return VG_OK;
}

int textfile_keys_add(struct textfile_keys *k, const void *key, size_t len, uint32_t value,
                      size_t *index, bool *added)
{
    uint64_t h = vg_fnv1a(key, len);
    size_t j, off = k->arena.len;
    struct textfile_key *e;

    *added = false;
    if (k->n >= UINT32_MAX - 1 || textfile_keys_room(k) != VG_OK)
        return VG_ENOMEM;
    j = textfile_keys_slot(k, key, len, h);
    if (k->slots[j] != 0) {
        *index = k->slots[j] - 1;
        return VG_OK;
    }
    if (off + len + 1 > UINT32_MAX || vg_buf_append(&k->arena, key, len) != VG_OK ||
        vg_buf_putc(&k->arena, '\0') != VG_OK) {
        k->arena.len = off;
        return VG_ENOMEM;
    }
    e = &k->ents[k->n];
    e->hash = h;
    e->off = (uint32_t)off;
    e->len = (uint32_t)len;
    e->value = value;
    k->slots[j] = (uint32_t)(k->n + 1);
    *index = k->n++;
    *added = true;
    return VG_OK;
}

const char *textfile_keys_at(const struct textfile_keys *k, size_t i, size_t *len)
{
    if (len != NULL)
        *len = k->ents[i].len;
    return k->arena.data + k->ents[i].off;
}

uint32_t textfile_keys_value(const struct textfile_keys *k, size_t i)
{
    return k->ents[i].value;
}

/* ------------------------------------------------------------------------
 * Results.
 */

void textfile_result_init(struct textfile_result *r)
{
    memset(r, 0, sizeof(*r));
    textfile_keys_init(&r->names);
    textfile_keys_init(&r->series);
    vg_buf_init(&r->strings);
    vg_buf_init(&r->scratch);
    vg_buf_init(&r->key);
}

void textfile_result_reset(struct textfile_result *r)
{
    textfile_keys_reset(&r->names);
    textfile_keys_reset(&r->series);
    r->n_families = 0;
    r->n_samples = 0;
    vg_buf_reset(&r->strings);
    vg_buf_reset(&r->scratch);
    vg_buf_reset(&r->key);
    r->n_labels = 0;
}

void textfile_result_free(struct textfile_result *r)
{
    textfile_keys_free(&r->names);
    textfile_keys_free(&r->series);
    free(r->families);
    free(r->samples);
    vg_buf_free(&r->strings);
    vg_buf_free(&r->scratch);
    vg_buf_free(&r->key);
    textfile_result_init(r);
}

const char *textfile_family_name(const struct textfile_result *r, size_t i)
{
    return textfile_keys_at(&r->names, i, NULL);
}

const char *textfile_family_help(const struct textfile_result *r, size_t i)
{
    uint32_t off = r->families[i].help;

    return off == TEXTFILE_NONE ? NULL : r->strings.data + off;
}

void textfile_sample_view(const struct textfile_result *r, size_t i, struct textfile_view *v,
                          struct vg_label *labels)
{
    size_t len;
    const char *key = textfile_keys_at(&r->series, r->samples[i].key, &len);
    const char *end = key + len, *p;

    v->family = key;
    v->suffix = key + strlen(key) + 1;
    v->n_labels = 0;
    p = v->suffix + strlen(v->suffix) + 1;
    while (p < end && v->n_labels < TEXTFILE_MAX_LABELS) {
        labels[v->n_labels].name = p;
        p += strlen(p) + 1;
        labels[v->n_labels].value = p;
        p += strlen(p) + 1;
        v->n_labels++;
    }
}

/* ------------------------------------------------------------------------
 * The parser. One line at a time: [p, end) is what is left of the line.
 */
struct textfile_ps {
    struct textfile_result *r;
    const char *p;
    const char *end;
    unsigned line;
    struct vg_error *err;
};

static bool textfile_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool textfile_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool textfile_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void textfile_skip_blanks(struct textfile_ps *ps)
{
    while (ps->p < ps->end && textfile_blank(*ps->p))
        ps->p++;
}

/* The next run of non-blank characters; *n its length (may be 0). */
static const char *textfile_token(struct textfile_ps *ps, size_t *n)
{
    const char *t = ps->p;

    while (ps->p < ps->end && !textfile_blank(*ps->p))
        ps->p++;
    *n = (size_t)(ps->p - t);
    return t;
}

/* Copies s[0..n) into out (cap bytes) for a message: printable ASCII as
 * is, anything else as \xHH, cut with "..." when long. */
static const char *textfile_quote(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;

    for (i = 0; i < n && o + 8 < cap && i < TEXTFILE_QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (i < n && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static int textfile_fail(struct textfile_ps *ps, const char *fmt, ...) VG_PRINTF(2, 3);

static int textfile_fail(struct textfile_ps *ps, const char *fmt, ...)
{
    va_list ap;

    ps->err->code = VG_EPARSE;
    va_start(ap, fmt);
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
    return VG_EPARSE;
}

/* Well-formed UTF-8 without NUL: no overlongs, surrogates or code points
 * past U+10FFFF. */
static bool textfile_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    uint32_t cp, min;

    while (i < n) {
        unsigned char c = s[i++];

        if (c == 0)
            return false;
        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            min = 0x10000;
        } else {
            return false;
        }
        cp = c & (0x3fu >> need);
        if (n - i < need)
            return false;
        for (k = 0; k < need; k++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i++] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

static bool textfile_metric_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || textfile_digit(s[0]))
        return false;
    for (i = 0; i < n; i++)
        if (!textfile_alpha(s[i]) && !textfile_digit(s[i]) && s[i] != ':')
            return false;
    return true;
}

/*
 * Parses a sample value or a bound: a decimal float, Inf, +Inf, -Inf,
 * Infinity or NaN in any case, as Go's ParseFloat would, but no hex floats
 * or digit separators. VG_OK or VG_EPARSE (nothing reported).
 */
static int textfile_float(const char *s, size_t n, double *out)
{
    char buf[TEXTFILE_VALUE_MAX + 1];
    char *endp;
    size_t i;
    double v;

    if (n == 0 || n > TEXTFILE_VALUE_MAX)
        return VG_EPARSE;
    for (i = 0; i < n; i++) {
        if (!textfile_digit(s[i]) && strchr(".+-eEiInNfFtTyYaA", s[i]) == NULL)
            return VG_EPARSE;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    v = strtod(buf, &endp);
    if (endp != buf + n)
        return VG_EPARSE;
    /* an overflow to infinity is an error; the word Inf is not */
    if (isinf(v) && strpbrk(buf, "iI") == NULL)
        return VG_EPARSE;
    *out = v;
    return VG_OK;
}

static bool textfile_integer(const char *s, size_t n)
{
    size_t i = 0;

    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    if (i == n)
        return false;
    for (; i < n; i++)
        if (!textfile_digit(s[i]))
            return false;
    return true;
}

/* The index of the family named name[0..n), or -1. */
static long textfile_family_find(struct textfile_ps *ps, const char *name, size_t n)
{
    return textfile_keys_find(&ps->r->names, name, n);
}

/* Finds or creates the family named name[0..n); *index is its index. */
static int textfile_family_get(struct textfile_ps *ps, const char *name, size_t n, size_t *index)
{
    struct textfile_result *r = ps->r;
    struct textfile_family *f;
    bool added;
    size_t cap;

    if (r->n_families + 1 > r->cap_families) {
        cap = r->cap_families ? r->cap_families * 2 : 16;
        f = realloc(r->families, cap * sizeof(*f));
        if (f == NULL)
            return VG_ENOMEM;
        r->families = f;
        r->cap_families = cap;
    }
    if (textfile_keys_add(&r->names, name, n, 0, index, &added) != VG_OK)
        return VG_ENOMEM;
    if (!added)
        return VG_OK;
    f = &r->families[r->n_families++];
    f->help = TEXTFILE_NONE;
    f->type = VG_METRIC_UNTYPED;
    f->typed = false;
    f->has_samples = false;
    f->line = ps->line;
    return VG_OK;
}

/* Unescapes a HELP text (\\ and \n) into r->strings; *off is where it went. */
static int textfile_help_text(struct textfile_ps *ps, const char *s, size_t n, uint32_t *off)
{
    struct vg_buf *b = &ps->r->strings;
    size_t start = b->len, i;
    char q[64];

    if (start + n + 1 > UINT32_MAX || vg_buf_reserve(b, n) != VG_OK)
        return VG_ENOMEM;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\\') {
            if (i + 1 == n)
                return textfile_fail(ps, "HELP text ends in a lone backslash");
            c = s[++i];
            if (c == 'n')
                c = '\n';
            else if (c != '\\')
                return textfile_fail(ps, "invalid escape sequence '\\%s' in HELP text",
                                     textfile_quote(&c, 1, q, sizeof(q)));
        }
        b->data[b->len++] = c;
    }
    b->data[b->len++] = '\0';
    if (!textfile_utf8_ok((const unsigned char *)b->data + start, b->len - start - 1))
        return textfile_fail(ps, "HELP text is not valid UTF-8 (or holds a NUL byte)");
    *off = (uint32_t)start;
    return VG_OK;
}

static int textfile_help(struct textfile_ps *ps, size_t fam, const char *name, size_t n)
{
    struct textfile_family *f = &ps->r->families[fam];
    const char *text;
    char q[200];

    if (f->help != TEXTFILE_NONE)
        return textfile_fail(ps, "second HELP line for metric %s",
                             textfile_quote(name, n, q, sizeof(q)));
    textfile_skip_blanks(ps);
    text = ps->p;
    return textfile_help_text(ps, text, (size_t)(ps->end - text), &f->help);
}

static int textfile_type_parse(const char *s, size_t n, enum vg_metric_type *out)
{
    static const struct {
        const char *word;
        enum vg_metric_type type;
    } types[] = {
        {"counter", VG_METRIC_COUNTER},     {"gauge", VG_METRIC_GAUGE},
        {"histogram", VG_METRIC_HISTOGRAM}, {"summary", VG_METRIC_SUMMARY},
        {"untyped", VG_METRIC_UNTYPED},
    };
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(types); i++) {
        if (strlen(types[i].word) == n && strncasecmp(types[i].word, s, n) == 0) {
            *out = types[i].type;
            return VG_OK;
        }
    }
    return VG_EPARSE;
}

/* For a family X now typed histogram or summary: samples already read as
 * X_sum, X_count or X_bucket would have belonged to it, so the TYPE line
 * came too late. */
static int textfile_type_parts_seen(struct textfile_ps *ps, const char *name, size_t n,
                                    enum vg_metric_type type)
{
    static const char *const parts[] = {"_sum", "_count", "_bucket"};
    size_t i, np = type == VG_METRIC_HISTOGRAM ? 3 : 2;
    char q[200];
    long k;

    for (i = 0; i < np; i++) {
        struct vg_buf *b = &ps->r->key;

        vg_buf_reset(b);
        if (vg_buf_append(b, name, n) != VG_OK || vg_buf_puts(b, parts[i]) != VG_OK)
            return VG_ENOMEM;
        k = textfile_family_find(ps, b->data, b->len);
        if (k >= 0 && ps->r->families[k].has_samples)
            return textfile_fail(ps, "TYPE line for %s after its samples (line %u)",
                                 textfile_quote(name, n, q, sizeof(q)), ps->r->families[k].line);
    }
    return VG_OK;
}

static int textfile_type(struct textfile_ps *ps, size_t fam, const char *name, size_t n)
{
    struct textfile_family *f = &ps->r->families[fam];
    enum vg_metric_type type;
    const char *word;
    size_t wn;
    char q[200], q2[100];

    textfile_skip_blanks(ps);
    word = textfile_token(ps, &wn);
    textfile_skip_blanks(ps);
    if (wn == 0)
        return textfile_fail(ps, "TYPE line for %s without a type",
                             textfile_quote(name, n, q, sizeof(q)));
    if (ps->p < ps->end || textfile_type_parse(word, wn, &type) != VG_OK)
        return textfile_fail(ps, "unknown metric type '%s'",
                             textfile_quote(word, (size_t)(ps->end - word), q2, sizeof(q2)));
    if (f->typed)
        return textfile_fail(ps, "second TYPE line for metric %s",
                             textfile_quote(name, n, q, sizeof(q)));
    if (f->has_samples)
        return textfile_fail(ps, "TYPE line for %s after its samples (line %u)",
                             textfile_quote(name, n, q, sizeof(q)), f->line);
    if (type == VG_METRIC_HISTOGRAM || type == VG_METRIC_SUMMARY) {
        int rc = textfile_type_parts_seen(ps, name, n, type);
        if (rc != VG_OK)
            return rc;
    }
    f = &ps->r->families[fam];
    f->type = type;
    f->typed = true;
    f->line = ps->line;
    return VG_OK;
}

/* A line starting with '#': HELP, TYPE, or a comment to ignore. */
static int textfile_comment(struct textfile_ps *ps)
{
    const char *word, *name;
    size_t wn, nn, fam;
    bool help;
    char q[200];
    int rc;

    ps->p++;
    textfile_skip_blanks(ps);
    word = textfile_token(ps, &wn);
    if (wn == 4 && memcmp(word, "HELP", 4) == 0)
        help = true;
    else if (wn == 4 && memcmp(word, "TYPE", 4) == 0)
        help = false;
    else
        return VG_OK;
    textfile_skip_blanks(ps);
    name = textfile_token(ps, &nn);
    if (nn == 0)
        return textfile_fail(ps, "%s line without a metric name", help ? "HELP" : "TYPE");
    if (!textfile_metric_name_ok(name, nn))
        return textfile_fail(ps, "invalid metric name '%s'",
                             textfile_quote(name, nn, q, sizeof(q)));
    rc = textfile_family_get(ps, name, nn, &fam);
    if (rc != VG_OK)
        return rc;
    return help ? textfile_help(ps, fam, name, nn) : textfile_type(ps, fam, name, nn);
}

/* Does name[0..n) end in suffix? Sets *base to the length without it. */
static bool textfile_ends(const char *name, size_t n, const char *suffix, size_t *base)
{
    size_t sn = strlen(suffix);

    if (n <= sn || memcmp(name + n - sn, suffix, sn) != 0)
        return false;
    *base = n - sn;
    return true;
}

/*
 * The family and suffix of a sample named name[0..n), as node_exporter's
 * parser decides: the family of that exact name, else X for X_sum/X_count
 * of a summary or histogram X and X_bucket of a histogram X, else a new
 * untyped family.
 */
static int textfile_resolve(struct textfile_ps *ps, const char *name, size_t n, size_t *fam,
                            const char **suffix)
{
    static const char *const parts[] = {"_sum", "_count", "_bucket"};
    size_t i, base;
    long k = textfile_family_find(ps, name, n);
    char q[200];

    *suffix = "";
    if (k >= 0) {
        *fam = (size_t)k;
        if (ps->r->families[k].type == VG_METRIC_HISTOGRAM)
            return textfile_fail(ps,
                                 "sample %s of histogram needs a _bucket, _sum or _count suffix",
                                 textfile_quote(name, n, q, sizeof(q)));
        return VG_OK;
    }
    for (i = 0; i < VG_ARRAY_LEN(parts); i++) {
        if (!textfile_ends(name, n, parts[i], &base))
            continue;
        k = textfile_family_find(ps, name, base);
        if (k < 0)
            continue;
        if (ps->r->families[k].type == VG_METRIC_HISTOGRAM ||
            (i < 2 && ps->r->families[k].type == VG_METRIC_SUMMARY)) {
            *fam = (size_t)k;
            *suffix = parts[i];
            return VG_OK;
        }
    }
    return textfile_family_get(ps, name, n, fam);
}

/* Appends s[0..n) and a NUL to the scratch; *off is where it starts. */
static int textfile_scratch_put(struct textfile_ps *ps, const char *s, size_t n, uint32_t *off)
{
    struct vg_buf *b = &ps->r->scratch;

    *off = (uint32_t)b->len;
    if (b->len + n + 1 > UINT32_MAX || vg_buf_append(b, s, n) != VG_OK ||
        vg_buf_putc(b, '\0') != VG_OK)
        return VG_ENOMEM;
    return VG_OK;
}

/* Reads a quoted label value (after its opening quote) into the scratch,
 * unescaping \\, \" and \n; the closing quote is consumed. The label's
 * name is at name_off in the scratch. */
static int textfile_label_value(struct textfile_ps *ps, uint32_t name_off, uint32_t *off)
{
    struct vg_buf *b = &ps->r->scratch;
    size_t start = b->len;
    const char *lname;
    char q[64], q2[200];

    /* unescaping never lengthens, so the scratch stays put from here on */
    if (start + (size_t)(ps->end - ps->p) + 1 > UINT32_MAX ||
        vg_buf_reserve(b, (size_t)(ps->end - ps->p)) != VG_OK)
        return VG_ENOMEM;
    lname = b->data + name_off;
    for (;;) {
        char c;

        if (ps->p >= ps->end)
            return textfile_fail(ps, "unterminated value of label %s",
                                 textfile_quote(lname, strlen(lname), q2, sizeof(q2)));
        c = *ps->p++;
        if (c == '"')
            break;
        if (c == '\\') {
            if (ps->p >= ps->end)
                return textfile_fail(ps, "unterminated value of label %s",
                                     textfile_quote(lname, strlen(lname), q2, sizeof(q2)));
            c = *ps->p++;
            if (c == 'n')
                c = '\n';
            else if (c != '\\' && c != '"')
                return textfile_fail(ps, "invalid escape sequence '\\%s' in value of label %s",
                                     textfile_quote(&c, 1, q, sizeof(q)),
                                     textfile_quote(lname, strlen(lname), q2, sizeof(q2)));
        }
        b->data[b->len++] = c;
    }
    b->data[b->len++] = '\0';
    if (!textfile_utf8_ok((const unsigned char *)b->data + start, b->len - start - 1))
        return textfile_fail(ps, "value of label %s is not valid UTF-8 (or holds a NUL byte)",
                             textfile_quote(lname, strlen(lname), q2, sizeof(q2)));
    *off = (uint32_t)start;
    return VG_OK;
}

/* One `name="value"` of a label set; the cursor is on the name. */
static int textfile_label(struct textfile_ps *ps)
{
    struct textfile_result *r = ps->r;
    const char *name = ps->p;
    size_t n;
    char q[200];
    int rc;

    while (ps->p < ps->end && (textfile_alpha(*ps->p) || textfile_digit(*ps->p)))
        ps->p++;
    n = (size_t)(ps->p - name);
    if (n == 0 || textfile_digit(name[0]))
        return textfile_fail(ps, "expected a label name, found '%s'",
                             textfile_quote(name, (size_t)(ps->end - name), q, sizeof(q)));
    if (n >= 2 && name[0] == '_' && name[1] == '_')
        return textfile_fail(ps, "label name %s is reserved (starts with __)",
                             textfile_quote(name, n, q, sizeof(q)));
    if (r->n_labels == TEXTFILE_MAX_LABELS)
        return textfile_fail(ps, "more than %d labels on one sample", TEXTFILE_MAX_LABELS);
    rc = textfile_scratch_put(ps, name, n, &r->lab_name[r->n_labels]);
    if (rc != VG_OK)
        return rc;
    textfile_skip_blanks(ps);
    if (ps->p >= ps->end || *ps->p != '=')
        return textfile_fail(ps, "expected '=' after label name %s",
                             textfile_quote(name, n, q, sizeof(q)));
    ps->p++;
    textfile_skip_blanks(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return textfile_fail(ps, "expected '\"' to open the value of label %s",
                             textfile_quote(name, n, q, sizeof(q)));
    ps->p++;
    rc = textfile_label_value(ps, r->lab_name[r->n_labels], &r->lab_value[r->n_labels]);
    if (rc == VG_OK)
        r->n_labels++;
    return rc;
}

/* A label set; the cursor is just after '{'. A trailing comma is fine. */
static int textfile_labels(struct textfile_ps *ps)
{
    char q[100];
    int rc;

    for (;;) {
        textfile_skip_blanks(ps);
        if (ps->p < ps->end && *ps->p == '}')
            break;
        rc = textfile_label(ps);
        if (rc != VG_OK)
            return rc;
        textfile_skip_blanks(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}')
            break;
        if (ps->p >= ps->end)
            return textfile_fail(ps, "label set not closed with '}'");
        return textfile_fail(ps, "expected ',' or '}' after a label value, found '%s'",
                             textfile_quote(ps->p, (size_t)(ps->end - ps->p), q, sizeof(q)));
    }
    ps->p++;
    return VG_OK;
}

static const char *textfile_label_name(const struct textfile_result *r, size_t i)
{
    return r->scratch.data + r->lab_name[i];
}

static const char *textfile_label_val(const struct textfile_result *r, size_t i)
{
    return r->scratch.data + r->lab_value[i];
}

/*
 * Checks the label set of a sample of family f with that suffix: no name
 * twice, and the le (histogram bucket) or quantile (summary) label present
 * and numeric; that label is rewritten the way Prometheus prints floats.
 * order[] gets the labels' indexes sorted by name.
 */
static int textfile_check_labels(struct textfile_ps *ps, const struct textfile_family *f,
                                 const char *suffix, unsigned char *order)
{
    struct textfile_result *r = ps->r;
    const char *need = NULL;
    bool found = false;
    size_t i, j;
    char q[100];
    double v;
    int rc;

    if (f->type == VG_METRIC_HISTOGRAM && strcmp(suffix, "_bucket") == 0)
        need = "le";
    else if (f->type == VG_METRIC_SUMMARY && suffix[0] == '\0')
        need = "quantile";
    for (i = 0; i < r->n_labels; i++) {
        unsigned char x = (unsigned char)i;

        for (j = i;
             j > 0 && strcmp(textfile_label_name(r, order[j - 1]), textfile_label_name(r, x)) > 0;
             j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    for (i = 0; i < r->n_labels; i++) {
        const char *name = textfile_label_name(r, order[i]);
        const char *val = textfile_label_val(r, order[i]);

        if (i > 0 && strcmp(textfile_label_name(r, order[i - 1]), name) == 0)
            return textfile_fail(ps, "label %s given twice",
                                 textfile_quote(name, strlen(name), q, sizeof(q)));
        if (need == NULL || strcmp(name, need) != 0)
            continue;
        found = true;
        if (textfile_float(val, strlen(val), &v) != VG_OK)
            return textfile_fail(ps, "%s label value '%s' is not a number", need,
                                 textfile_quote(val, strlen(val), q, sizeof(q)));
        r->lab_value[order[i]] = (uint32_t)r->scratch.len;
        rc = vg_buf_put_double(&r->scratch, v);
        if (rc == VG_OK)
            rc = vg_buf_putc(&r->scratch, '\0');
        if (rc != VG_OK)
            return VG_ENOMEM;
    }
    if (need != NULL && !found)
        return textfile_fail(ps, "%s sample without a %s label",
                             f->type == VG_METRIC_HISTOGRAM ? "histogram bucket" : "summary", need);
    return VG_OK;
}

/* Writes the series key (family, suffix, sorted labels) into r->key. */
static int textfile_build_key(struct textfile_result *r, const char *family, const char *suffix,
                              const unsigned char *order)
{
    struct vg_buf *b = &r->key;
    int rc;
    size_t i;

    vg_buf_reset(b);
    rc = vg_buf_append(b, family, strlen(family) + 1);
    if (rc == VG_OK)
        rc = vg_buf_append(b, suffix, strlen(suffix) + 1);
    for (i = 0; i < r->n_labels && rc == VG_OK; i++) {
        const char *n = textfile_label_name(r, order[i]);
        const char *v = textfile_label_val(r, order[i]);

        rc = vg_buf_append(b, n, strlen(n) + 1);
        if (rc == VG_OK)
            rc = vg_buf_append(b, v, strlen(v) + 1);
    }
    return rc;
}

/* The value, then the end of the line: a timestamp or anything else is an error. */
static int textfile_value(struct textfile_ps *ps, double *v)
{
    const char *t;
    size_t n;
    char q[100];

    textfile_skip_blanks(ps);
    t = textfile_token(ps, &n);
    if (n == 0)
        return textfile_fail(ps, "sample without a value");
    if (textfile_float(t, n, v) != VG_OK)
        return textfile_fail(ps, "invalid sample value '%s'", textfile_quote(t, n, q, sizeof(q)));
    textfile_skip_blanks(ps);
    if (ps->p == ps->end)
        return VG_OK;
    t = textfile_token(ps, &n);
    if (textfile_integer(t, n))
        return textfile_fail(ps,
                             "sample has a timestamp (%s); client-side timestamps are not "
                             "supported",
                             textfile_quote(t, n, q, sizeof(q)));
    return textfile_fail(ps, "unexpected '%s' after the sample value",
                         textfile_quote(t, (size_t)(ps->end - t), q, sizeof(q)));
}

/* A series key as name{a="b",...} for a message, cut to fit out. */
static const char *textfile_describe(const char *key, size_t len, char *out, size_t cap)
{
    const char *end = key + len, *p = key + strlen(key) + 1;
    char q1[200], q2[200];
    const char *sep = "{";
    size_t o;

    o = (size_t)snprintf(out, cap, "%s%s", textfile_quote(key, strlen(key), q1, sizeof(q1)),
                         textfile_quote(p, strlen(p), q2, sizeof(q2)));
    p += strlen(p) + 1;
    while (p < end && o < cap) {
        const char *v = p + strlen(p) + 1;

        o += (size_t)snprintf(out + o, cap - o, "%s%s=\"%s\"", sep,
                              textfile_quote(p, strlen(p), q1, sizeof(q1)),
                              textfile_quote(v, strlen(v), q2, sizeof(q2)));
        sep = ",";
        p = v + strlen(v) + 1;
    }
    if (sep[0] == ',' && o < cap)
        snprintf(out + o, cap - o, "}");
    return out;
}

/* Records the sample whose key is in r->key; a series seen before is an error. */
static int textfile_add_sample(struct textfile_ps *ps, size_t fam, double value)
{
    struct textfile_result *r = ps->r;
    struct textfile_sample *s;
    size_t cap, idx;
    bool added;
    char q[300];

    if (r->n_samples + 1 > r->cap_samples) {
        cap = r->cap_samples ? r->cap_samples * 2 : 64;
        s = realloc(r->samples, cap * sizeof(*s));
        if (s == NULL)
            return VG_ENOMEM;
        r->samples = s;
        r->cap_samples = cap;
    }
    if (textfile_keys_add(&r->series, r->key.data, r->key.len, (uint32_t)r->n_samples, &idx,
                          &added) != VG_OK)
        return VG_ENOMEM;
    if (!added)
        return textfile_fail(ps, "duplicate series %s (first on line %u)",
                             textfile_describe(r->key.data, r->key.len, q, sizeof(q)),
                             r->samples[textfile_keys_value(&r->series, idx)].line);
    s = &r->samples[r->n_samples++];
    s->family = (uint32_t)fam;
    s->key = (uint32_t)idx;
    s->line = ps->line;
    s->value = value;
    r->families[fam].has_samples = true;
    return VG_OK;
}

static int textfile_sample(struct textfile_ps *ps)
{
    struct textfile_result *r = ps->r;
    unsigned char order[TEXTFILE_MAX_LABELS];
    const char *name = ps->p, *suffix;
    size_t n, fam;
    double value;
    char q[200];
    int rc;

    while (ps->p < ps->end && (textfile_alpha(*ps->p) || textfile_digit(*ps->p) || *ps->p == ':'))
        ps->p++;
    n = (size_t)(ps->p - name);
    if (n == 0 || textfile_digit(name[0]))
        return textfile_fail(ps, "expected a metric name, found '%s'",
                             textfile_quote(name, (size_t)(ps->end - name), q, sizeof(q)));
    if (ps->p < ps->end && *ps->p != '{' && !textfile_blank(*ps->p))
        return textfile_fail(ps, "invalid character in metric name '%s'",
                             textfile_quote(name, (size_t)(ps->end - name), q, sizeof(q)));
    rc = textfile_resolve(ps, name, n, &fam, &suffix);
    if (rc != VG_OK)
        return rc;
    vg_buf_reset(&r->scratch);
    r->n_labels = 0;
    textfile_skip_blanks(ps);
    if (ps->p < ps->end && *ps->p == '{') {
        ps->p++;
        rc = textfile_labels(ps);
        if (rc != VG_OK)
            return rc;
    }
    rc = textfile_value(ps, &value);
    if (rc == VG_OK)
        rc = textfile_check_labels(ps, &r->families[fam], suffix, order);
    if (rc == VG_OK)
        rc = textfile_build_key(r, textfile_family_name(r, fam), suffix, order);
    if (rc == VG_OK)
        rc = textfile_add_sample(ps, fam, value);
    return rc;
}

static int textfile_line(struct textfile_ps *ps)
{
    textfile_skip_blanks(ps);
    if (ps->p == ps->end)
        return VG_OK;
    if (*ps->p == '#')
        return textfile_comment(ps);
    return textfile_sample(ps);
}

int textfile_parse(struct textfile_result *r, const char *text, size_t len, unsigned *line,
                   struct vg_error *err)
{
    struct vg_error spare;
    struct textfile_ps ps = {.r = r, .line = 1, .err = err != NULL ? err : &spare};
    size_t pos = 0;
    int rc = VG_OK;

    textfile_result_reset(r);
    *line = 0;
    if (len > TEXTFILE_MAX_TEXT)
        return vg_error_set(ps.err, VG_EPARSE, "more than %u bytes", TEXTFILE_MAX_TEXT);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t eol = nl != NULL ? (size_t)(nl - text) : len;

        ps.p = text + pos;
        ps.end = text + eol;
        rc = textfile_line(&ps);
        if (rc != VG_OK)
            break;
        pos = eol + 1;
        ps.line++;
    }
    if (rc == VG_ENOMEM)
        vg_error_set(ps.err, VG_ENOMEM, "out of memory");
    if (rc != VG_OK) {
        *line = ps.line;
        textfile_result_reset(r);
    }
    return rc;
}

/*
 * expo.c - the exposition formats: Prometheus text 0.0.4 and OpenMetrics
 * 1.0.0, rendered from the store into immutable, reference-counted
 * snapshots that are cached (plain and gzip) until the store changes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gzip.h"
#include "metrics_internal.h"

/* Level 1: a scrape after a commit pays for the compression while holding
 * the store's lock; speed matters more than the last bytes on a node. */
#define EXPO_GZIP_LEVEL 1
#define EXPO_TOTAL      "_total"
#define EXPO_TOTAL_LEN  6

/* Appends v with the bytes in `special` backslash-escaped ('\n' as "\n"). */
static int expo_escape(struct vg_buf *b, const char *v, const char *special)
{
    const char *run = v, *p;
    int rc = VG_OK;

    for (p = v; *p != '\0' && rc == VG_OK; p++) {
        if (strchr(special, *p) == NULL)
            continue;
        rc = vg_buf_append(b, run, (size_t)(p - run));
        if (rc == VG_OK)
            rc = vg_buf_append(b, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
        run = p + 1;
    }
    if (rc == VG_OK)
        rc = vg_buf_append(b, run, (size_t)(p - run));
    return rc;
}

int vg_expo_escape_label(struct vg_buf *b, const char *v)
{
    return expo_escape(b, v, "\\\"\n");
}

int vg_expo_escape_help(struct vg_buf *b, const char *v)
{
    return expo_escape(b, v, "\\\n");
}

const char *vg_metric_type_name(enum vg_metric_type t)
{
    switch (t) {
    case VG_METRIC_COUNTER:
        return "counter";
    case VG_METRIC_GAUGE:
        return "gauge";
    case VG_METRIC_HISTOGRAM:
        return "histogram";
    case VG_METRIC_SUMMARY:
        return "summary";
    case VG_METRIC_UNTYPED:
        break;
    }
    return "untyped";
}

static const char *expo_type_name(enum vg_metric_type t, enum vg_expo_format fmt)
{
    if (t == VG_METRIC_UNTYPED && fmt == VG_EXPO_OPENMETRICS)
        return "unknown";
    return vg_metric_type_name(t);
}

static bool expo_ends_total(const char *name, size_t len)
{
    return len > EXPO_TOTAL_LEN && memcmp(name + len - EXPO_TOTAL_LEN, EXPO_TOTAL, 6) == 0;
}

/* OpenMetrics wants le and quantile as canonical floats ("1.0", "+Inf");
 * a value that is no number is written as given. */
static int expo_om_bound(struct vg_buf *b, const char *v)
{
    char tmp[32];
    char *end = NULL;
    double d = strtod(v, &end);

    if (end == v || *end != '\0')
        return vg_expo_escape_label(b, v);
    if (isfinite(d) && d == floor(d) && fabs(d) < 1e15) {
        snprintf(tmp, sizeof(tmp), "%.1f", d);
        return vg_buf_puts(b, tmp);
    }
    return vg_buf_put_double(b, d);
}

/* {name="value",...} of one series, in the key's (sorted) order. */
static int expo_labels(struct vg_buf *b, const struct vg_store_series *s, enum vg_expo_format fmt)
{
    const char *p = s->key + s->labels_off, *name, *suffix = s->key + s->suffix_off;
    bool om = fmt == VG_EXPO_OPENMETRICS;
    int rc = VG_OK;
    uint32_t i;

    if (s->n_labels == 0)
        return VG_OK;
    rc = vg_buf_putc(b, '{');
    for (i = 0; i < s->n_labels && rc == VG_OK; i++) {
        name = p;
        p += strlen(p) + 1;
        if (i > 0)
            rc = vg_buf_putc(b, ',');
        if (rc == VG_OK)
            rc = vg_buf_puts(b, name);
        if (rc == VG_OK)
            rc = vg_buf_append(b, "=\"", 2);
        if (rc != VG_OK)
            break;
        if (om && ((strcmp(name, "le") == 0 && s->family->type == VG_METRIC_HISTOGRAM) ||
                   (strcmp(name, "quantile") == 0 && s->family->type == VG_METRIC_SUMMARY &&
                    suffix[0] == '\0')))
            rc = expo_om_bound(b, p);
        else
            rc = vg_expo_escape_label(b, p);
        if (rc == VG_OK)
            rc = vg_buf_putc(b, '"');
        p += strlen(p) + 1;
    }
    if (rc == VG_OK)
        rc = vg_buf_putc(b, '}');
    return rc;
}

/* One sample line: name (family + suffix), labels, value. */
static int expo_series(struct vg_buf *b, const struct vg_store_series *s, enum vg_expo_format fmt)
{
    size_t flen = s->suffix_off - 1;
    int rc = vg_buf_append(b, s->key, flen);

    if (rc == VG_OK)
        rc = vg_buf_puts(b, s->key + s->suffix_off);
    if (rc == VG_OK && fmt == VG_EXPO_OPENMETRICS && s->family->type == VG_METRIC_COUNTER &&
        !expo_ends_total(s->key, flen))
        rc = vg_buf_puts(b, EXPO_TOTAL);
    if (rc == VG_OK)
        rc = expo_labels(b, s, fmt);
    if (rc == VG_OK)
        rc = vg_buf_putc(b, ' ');
    if (rc == VG_OK)
        rc = vg_buf_put_double(b, s->value);
    if (rc == VG_OK)
        rc = vg_buf_putc(b, '\n');
    return rc;
}

/* Compares the label sets of a and b, leaving out the label named skip. */
static int expo_cmp_labels(const struct vg_store_series *a, const struct vg_store_series *b,
                           const char *skip)
{
    const char *pa = a->key + a->labels_off, *pb = b->key + b->labels_off;
    uint32_t ia = 0, ib = 0;
    int c;

    for (;;) {
        while (ia < a->n_labels && skip != NULL && strcmp(pa, skip) == 0) {
            pa += strlen(pa) + 1;
            pa += strlen(pa) + 1;
            ia++;
        }
        while (ib < b->n_labels && skip != NULL && strcmp(pb, skip) == 0) {
            pb += strlen(pb) + 1;
            pb += strlen(pb) + 1;
            ib++;
        }
        if (ia == a->n_labels || ib == b->n_labels)
            return (ia == a->n_labels ? 0 : 1) - (ib == b->n_labels ? 0 : 1);
        for (c = 0; c < 2; c++) {
            int d = strcmp(pa, pb);

            if (d != 0)
                return d;
            pa += strlen(pa) + 1;
            pb += strlen(pb) + 1;
        }
        ia++;
        ib++;
    }
}

/* Series order within a family: by label set (le and quantile aside), then
 * buckets or quantiles by bound, then _sum, then _count. */
static int expo_cmp_series(const void *x, const void *y)
{
    const struct vg_store_series *a = *(const struct vg_store_series *const *)x;
    const struct vg_store_series *b = *(const struct vg_store_series *const *)y;
    enum vg_metric_type t = a->family->type;
    const char *skip = t == VG_METRIC_HISTOGRAM ? "le" : t == VG_METRIC_SUMMARY ? "quantile" : NULL;
    int c = expo_cmp_labels(a, b, skip);

    if (c != 0)
        return c;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->bound != b->bound && !isnan(a->bound) && !isnan(b->bound))
        return a->bound < b->bound ? -1 : 1;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    return memcmp(a->key, b->key, a->key_len);
}

static int expo_cmp_family(const void *x, const void *y)
{
    const struct vg_store_family *a = *(const struct vg_store_family *const *)x;
    const struct vg_store_family *b = *(const struct vg_store_family *const *)y;

    return strcmp(a->name, b->name);
}

/* The # HELP and # TYPE lines of a family. */
static int expo_family_head(struct vg_buf *b, const struct vg_store_family *f,
                            enum vg_expo_format fmt)
{
    size_t len = strlen(f->name);
    int rc = VG_OK;

    /* OpenMetrics names a counter family without the _total of its samples */
    if (fmt == VG_EXPO_OPENMETRICS && f->type == VG_METRIC_COUNTER && expo_ends_total(f->name, len))
        len -= EXPO_TOTAL_LEN;
    if (f->help != NULL) {
        rc = vg_buf_puts(b, "# HELP ");
        if (rc == VG_OK)
            rc = vg_buf_append(b, f->name, len);
        if (rc == VG_OK)
            rc = vg_buf_putc(b, ' ');
        if (rc == VG_OK)
            rc = fmt == VG_EXPO_OPENMETRICS ? vg_expo_escape_label(b, f->help)
                                            : vg_expo_escape_help(b, f->help);
        if (rc == VG_OK)
            rc = vg_buf_putc(b, '\n');
    }
    if (rc == VG_OK)
        rc = vg_buf_puts(b, "# TYPE ");
    if (rc == VG_OK)
        rc = vg_buf_append(b, f->name, len);
    if (rc == VG_OK)
        rc = vg_buf_printf(b, " %s\n", expo_type_name(f->type, fmt));
    return rc;
}

/* Brings f->text[fmt] up to date. */
static int expo_family(struct vg_store_family *f, enum vg_expo_format fmt)
{
    struct vg_buf *b = &f->text[fmt];
    size_t i;
    int rc;

    if (!f->stale[fmt])
        return VG_OK;
    if (f->order_dirty) {
        qsort(f->series, f->n_series, sizeof(*f->series), expo_cmp_series);
        for (i = 0; i < f->n_series; i++)
            f->series[i]->findex = i;
        f->order_dirty = false;
    }
    vg_buf_reset(b);
    rc = expo_family_head(b, f, fmt);
    for (i = 0; i < f->n_series && rc == VG_OK; i++)
        rc = expo_series(b, f->series[i], fmt);
    if (rc == VG_OK)
        f->stale[fmt] = false;
    return rc;
}

static struct vg_rendered *expo_rendered_new(size_t cap)
{
    struct vg_rendered *r = vg_malloc(sizeof(*r) + cap + 1);

    if (r == NULL)
        return NULL;
    atomic_init(&r->refs, 1);
    r->len = 0;
    return r;
}

/* Renders the whole store in fmt into a new snapshot (one reference). */
static struct vg_rendered *expo_render_plain(struct vg_metric_store *st, enum vg_expo_format fmt)
{
    struct vg_buf *b = &st->scratch;
    struct vg_rendered *r;
    size_t i;
    int rc = VG_OK;

    if (st->families_dirty) {
        qsort(st->families, st->n_families, sizeof(*st->families), expo_cmp_family);
        for (i = 0; i < st->n_families; i++)
            st->families[i]->index = i;
        st->families_dirty = false;
    }
    vg_buf_reset(b);
    for (i = 0; i < st->n_families && rc == VG_OK; i++) {
        struct vg_store_family *f = st->families[i];

        rc = expo_family(f, fmt);
        if (rc == VG_OK)
            rc = vg_buf_append(b, f->text[fmt].data, f->text[fmt].len);
    }
    if (rc == VG_OK && fmt == VG_EXPO_OPENMETRICS)
        rc = vg_buf_puts(b, "# EOF\n");
    if (rc != VG_OK)
        return NULL;
    r = expo_rendered_new(b->len);
    if (r == NULL)
        return NULL;
    if (b->len > 0)
        memcpy(r->data, b->data, b->len);
    r->len = b->len;
    r->data[r->len] = '\0';
    return r;
}

/* Compresses plain into a new gzip snapshot; NULL on failure. */
static struct vg_rendered *expo_gzip(struct vg_metric_store *st, const struct vg_rendered *plain)
{
    struct vg_rendered *r, *shrunk;
    size_t bound;

    if (!st->z_ready) {
        if (vg_gzip_init(&st->z, EXPO_GZIP_LEVEL) != VG_OK)
            return NULL;
        st->z_ready = true;
    }
    bound = vg_gzip_bound(&st->z, plain->len);
    r = expo_rendered_new(bound);
    if (r == NULL)
        return NULL;
    if (vg_gzip(&st->z, plain->data, plain->len, r->data, bound, &r->len) != VG_OK) {
        free(r);
        return NULL;
    }
    shrunk = vg_realloc(r, sizeof(*r) + r->len + 1);
    return shrunk != NULL ? shrunk : r;
}

/* The cached snapshot for (fmt, gzip), built when missing; lock held. */
static struct vg_rendered *expo_cached(struct vg_metric_store *st, enum vg_expo_format fmt,
                                       bool gzip)
{
    struct vg_rendered **slot = &st->cache[fmt][gzip ? 1 : 0];

    if (*slot != NULL)
        return *slot;
    if (!gzip) {
        *slot = expo_render_plain(st, fmt);
        return *slot;
    }
    if (expo_cached(st, fmt, false) == NULL)
        return NULL;
    *slot = expo_gzip(st, st->cache[fmt][0]);
    return *slot;
}

/*
 * A reference to the store rendered in fmt (gzip-compressed when asked),
 * rendered only when the store changed since the last call. The caller
 * releases it with vg_rendered_release; NULL on out of memory.
 */
struct vg_rendered *vg_store_render(struct vg_metric_store *st, enum vg_expo_format fmt, bool gzip)
{
    struct vg_rendered *r;

    if (st == NULL || (fmt != VG_EXPO_TEXT && fmt != VG_EXPO_OPENMETRICS))
        return NULL;
    pthread_mutex_lock(&st->lock);
    r = expo_cached(st, fmt, gzip);
    if (r != NULL)
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&st->lock);
    return r;
}

const char *vg_rendered_data(const struct vg_rendered *r)
{
    return r->data;
}

size_t vg_rendered_len(const struct vg_rendered *r)
{
    return r->len;
}

void vg_rendered_release(struct vg_rendered *r)
{
    if (r != NULL && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
        free(r);
}

void vg_expo_invalidate(struct vg_metric_store *st)
{
    size_t f, z;

    for (f = 0; f < VG_EXPO_NFORMATS; f++) {
        for (z = 0; z < 2; z++) {
            vg_rendered_release(st->cache[f][z]);
            st->cache[f][z] = NULL;
        }
    }
}

void vg_expo_teardown(struct vg_metric_store *st)
{
    vg_expo_invalidate(st);
    if (st->z_ready)
        deflateEnd(&st->z);
    st->z_ready = false;
}

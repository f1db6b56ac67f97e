/*
 * emit_samples.c - the sample half of the emitter a collector writes to:
 * everything lands in the collection's staging area (e->samples).
 */
#include <math.h>
#include <stdarg.h>

#include "core.h"

/* More labels than this on one series is a collector bug, not data. */
#define EMIT_MAX_LABELS 32
#define EMIT_BOUND_LEN  40

int vg_emit_series(struct vg_emit *e, const char *family, enum vg_metric_type type,
                   const char *help, const char *suffix, const struct vg_label *labels,
                   size_t n_labels, double value)
{
    if (e == NULL || e->samples == NULL)
        return VG_EINVAL;
    return vg_samples_add(e->samples, family, type, help, suffix, labels, n_labels, value);
}

/* Reads name/value pairs up to the NULL sentinel; VG_EINVAL when a name
 * has no value or there are too many. */
static int emit_va_labels(va_list ap, struct vg_label *labels, size_t *n)
{
    const char *name, *value;

    *n = 0;
    for (;;) {
        name = va_arg(ap, const char *);
        if (name == NULL)
            return VG_OK;
        value = va_arg(ap, const char *);
        if (value == NULL || *n == EMIT_MAX_LABELS)
            return VG_EINVAL;
        labels[*n].name = name;
        labels[*n].value = value;
        (*n)++;
    }
}

static int emit_va(struct vg_emit *e, const char *family, enum vg_metric_type type,
                   const char *help, double value, va_list ap)
{
    struct vg_label labels[EMIT_MAX_LABELS];
    size_t n = 0;
    int rc = emit_va_labels(ap, labels, &n);

    if (rc != VG_OK)
        return rc;
    return vg_emit_series(e, family, type, help, "", labels, n, value);
}

int vg_emit_gauge(struct vg_emit *e, const char *family, const char *help, double value, ...)
{
    va_list ap;
    int rc;

    va_start(ap, value);
    rc = emit_va(e, family, VG_METRIC_GAUGE, help, value, ap);
    va_end(ap);
    return rc;
}

int vg_emit_counter(struct vg_emit *e, const char *family, const char *help, double value, ...)
{
    va_list ap;
    int rc;

    va_start(ap, value);
    rc = emit_va(e, family, VG_METRIC_COUNTER, help, value, ap);
    va_end(ap);
    return rc;
}

/* The bound as the text format prints it, into out (EMIT_BOUND_LEN bytes):
 * vg_buf_put_double writes at most 25 bytes, so the buffer never grows and
 * a histogram stages without allocating. */
static int emit_bound(double v, char *out)
{
    struct vg_buf b;

    _Static_assert(EMIT_BOUND_LEN >= 26, "room for any double");
    vg_buf_init(&b);
    b.data = out;
    b.cap = EMIT_BOUND_LEN;
    return vg_buf_put_double(&b, v);
}

/* Bounds finite and ascending, counts cumulative and within count. */
static bool emit_buckets_ok(const double *upper_bounds, const uint64_t *cumulative_counts,
                            size_t n_buckets, uint64_t count)
{
    size_t i;

    for (i = 0; i < n_buckets; i++) {
        if (!isfinite(upper_bounds[i]) || cumulative_counts[i] > count)
            return false;
        if (i > 0 && (!(upper_bounds[i] > upper_bounds[i - 1]) ||
                      cumulative_counts[i] < cumulative_counts[i - 1]))
            return false;
    }
    return true;
}

/*
 * Stages a whole histogram: one _bucket per finite bound plus +Inf, then
 * _sum and _count. Bounds must be finite and ascend, counts cumulative;
 * labels must not hold le. Bad arguments stage nothing (VG_EINVAL); a
 * staging error stops at that part and is returned.
 */
int vg_emit_histogram(struct vg_emit *e, const char *family, const char *help,
                      const struct vg_label *labels, size_t n_labels, const double *upper_bounds,
                      const uint64_t *cumulative_counts, size_t n_buckets, double sum,
                      uint64_t count)
{
    struct vg_label all[EMIT_MAX_LABELS + 1];
    char bound[EMIT_BOUND_LEN];
    size_t i;
    int rc = VG_OK;

    if (e == NULL || e->samples == NULL || n_labels > EMIT_MAX_LABELS ||
        (n_labels > 0 && labels == NULL) ||
        (n_buckets > 0 && (upper_bounds == NULL || cumulative_counts == NULL)) ||
        !emit_buckets_ok(upper_bounds, cumulative_counts, n_buckets, count))
        return VG_EINVAL;
    for (i = 0; i < n_labels; i++)
        all[i] = labels[i];
    all[n_labels].name = "le";
    for (i = 0; i < n_buckets && rc == VG_OK; i++) {
        rc = emit_bound(upper_bounds[i], bound);
        all[n_labels].value = bound;
        if (rc == VG_OK)
            rc = vg_emit_series(e, family, VG_METRIC_HISTOGRAM, help, "_bucket", all, n_labels + 1,
                                (double)cumulative_counts[i]);
    }
    all[n_labels].value = "+Inf";
    if (rc == VG_OK)
        rc = vg_emit_series(e, family, VG_METRIC_HISTOGRAM, help, "_bucket", all, n_labels + 1,
                            (double)count);
    if (rc == VG_OK)
        rc = vg_emit_series(e, family, VG_METRIC_HISTOGRAM, help, "_sum", labels, n_labels, sum);
    if (rc == VG_OK)
        rc = vg_emit_series(e, family, VG_METRIC_HISTOGRAM, help, "_count", labels, n_labels,
                            (double)count);
    return rc;
}

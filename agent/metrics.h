/*
 * metrics.h - the metric store and its exposition.
 *
 * Collectors stage samples in a vg_samples (engine thread, no lock); the
 * engine commits a collector's staged set into the store, replacing all the
 * series that owner had (a series not re-emitted disappears). Scrapes read
 * rendered, reference-counted snapshots; they never wait on a collector.
 */
#ifndef VG_METRICS_H
#define VG_METRICS_H

#include "vigil.h"

struct vg_samples;      /* one collector's staging area */
struct vg_metric_store; /* lock: one mutex, held only for commit and render */
struct vg_rendered;     /* immutable exposition text, reference counted */

enum vg_expo_format {
    VG_EXPO_TEXT,        /* text/plain; version=0.0.4 */
    VG_EXPO_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

struct vg_samples *vg_samples_create(void);
void vg_samples_destroy(struct vg_samples *s);
void vg_samples_reset(struct vg_samples *s);
size_t vg_samples_count(const struct vg_samples *s);
/* Adds one sample (copies all strings). Labels need not be sorted. Returns
 * VG_OK, VG_ENOMEM, or VG_EINVAL for an invalid metric or label name, or a
 * family already staged with another type. */
int vg_samples_add(struct vg_samples *s, const char *family, enum vg_metric_type type,
                   const char *help, const char *suffix, const struct vg_label *labels,
                   size_t n_labels, double value);

struct vg_metric_store *vg_store_create(void);
void vg_store_destroy(struct vg_metric_store *st);
/* Replaces every series of `owner` with the staged samples (the staging is
 * left empty). A family staged by two owners with different types or help:
 * the first wins and the sample is refused with VG_EINVAL. */
int vg_store_commit(struct vg_metric_store *st, const char *owner, struct vg_samples *staged);
/* Removes every series of owner. */
void vg_store_drop_owner(struct vg_metric_store *st, const char *owner);
size_t vg_store_series_count(struct vg_metric_store *st);
/* Calls fn for every committed series whose name (family and suffix) is
 * name, under the store's lock: fn must not call into the store. The
 * series' labels come as one key, labels[0..len): name\0value\0 for each
 * of its n_labels labels, in name order (vg_store_labels_split reads
 * them), valid during the call only. VG_OK (also when no series has that
 * name) or VG_EINVAL. */
typedef void (*vg_store_series_fn)(void *arg, const char *labels, size_t len, size_t n_labels,
                                   double value);
int vg_store_each_series(struct vg_metric_store *st, const char *name, vg_store_series_fn fn,
                         void *arg);
/* Splits such a key into out[0..n) (pointers into labels); returns n, at
 * most max. */
size_t vg_store_labels_split(const char *labels, size_t len, struct vg_label *out, size_t max);

/* A snapshot of the store in one format, gzip-compressed or not. Rendering
 * is cached until the next commit. The caller releases it. */
struct vg_rendered *vg_store_render(struct vg_metric_store *st, enum vg_expo_format fmt, bool gzip);
const char *vg_rendered_data(const struct vg_rendered *r);
size_t vg_rendered_len(const struct vg_rendered *r);
void vg_rendered_release(struct vg_rendered *r);

/* Escaping for the exposition formats (exposed for tests). */
int vg_expo_escape_label(struct vg_buf *b, const char *v); /* \\ \" \n */
int vg_expo_escape_help(struct vg_buf *b, const char *v);  /* \\ \n */
bool vg_metric_name_valid(const char *name);
/* "counter", "gauge", "histogram", "summary" or "untyped". */
const char *vg_metric_type_name(enum vg_metric_type t);
bool vg_label_name_valid(const char *name);

#endif

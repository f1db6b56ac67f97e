/*
 * log_metrics_internal.h - what log_metrics.c (the always-on counters,
 * the record's way in, emitting) shares with log_metrics_user.c (the
 * user-defined metrics of `log_metrics:`).
 */
#ifndef VG_LOG_METRICS_INTERNAL_H
#define VG_LOG_METRICS_INTERNAL_H

#include "alloc.h"
#include "log_metrics.h"
#include "log_series.h"

/* A run of emits and the first error among them. */
struct vg_log_emit {
    struct vg_emit *e;
    int rc;
};

static inline void vg_log_emit_keep(struct vg_log_emit *x, int rc)
{
    if (x->rc == VG_OK && rc != VG_OK)
        x->rc = rc;
}

/* One `scope` entry and the last value it judged. */
struct vg_log_scope_memo {
    char *field;
    char *glob;
    struct vg_buf last; /* that value, NUL-terminated */
    bool known;         /* last and ok hold something */
    bool ok;
};

/* A configured label: a named group of `match`, or a record field. */
struct vg_log_label {
    char *name;
    int group; /* -1: the record field of that name */
};

/* One user metric. */
struct vg_log_user {
    char *name;
    char *help;
    enum vg_metric_type type;
    char **sources;
    size_t n_sources;
    bool takes; /* the current collector's records are for it */
    struct vg_log_scope_memo *scope;
    size_t n_scope;
    struct vg_regex *match;
    char *field;
    char *equals;
    size_t equals_len;
    struct vg_regex *field_match;
    struct vg_log_label *labels;
    size_t n_labels;
    char *value;          /* NULL: a counter adds 1 */
    int value_group;      /* -1: the record field `value` */
    double *bounds;       /* histogram */
    uint64_t *cumulative; /* scratch for emitting */
    size_t n_bounds;
    struct vg_log_series series; /* collector, then the labels */
    uint64_t overflow;
    uint64_t value_errors;
};

/* Fills u from spec (see vg_log_metrics_add); on error u holds nothing. */
int vg_log_user_init(struct vg_log_user *u, const struct vg_log_metric_spec *spec,
                     struct vg_error *err);
void vg_log_user_free(struct vg_log_user *u);
/* Works out whether u takes the records of collector (u->takes). */
void vg_log_user_source(struct vg_log_user *u, const char *collector);
/* Counts r when u takes it; key is scratch. */
void vg_log_user_record(struct vg_log_user *u, struct vg_log_key *key, const char *collector,
                        const struct vg_record *r, int64_t now_ns);
/* Drops u's series not fed since before_ns and emits the others. */
void vg_log_user_emit(struct vg_log_user *u, struct vg_log_emit *x, int64_t before_ns);

/* The text of field f: a string's or JSON's bytes, a number or boolean
 * written into buf (size bytes). */
void vg_log_field_text(const struct vg_field *f, char *buf, size_t size, const char **p,
                       size_t *len);

#endif

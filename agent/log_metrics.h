/*
 * log_metrics.h - metrics counted from log records, on the engine thread,
 * one record at a time after the processing stage.
 *
 * Always on, per container (records without the kubernetes fields count
 * with empty label values):
 *   vigil_log_records_total{collector,namespace,pod,container,stream}
 *   vigil_log_bytes_total{collector,namespace,pod,container,stream}   body bytes
 *   vigil_log_level_total{collector,namespace,pod,container,level}
 * stream is "stdout", "stderr", "" (no stream field) or "other". level is
 * counted for records with a `level` field: its value read as
 * vg_level_parse reads a level ("WARNING" and "30" count as warn and
 * info), one of trace, debug, info, warn, error, fatal; a value that names
 * no level counts as level="other".
 *
 * User-defined (`log_metrics:` in the configuration, planned by
 * vg_log_metrics_plan in config/log_metrics_plan.c): a counter `NAME`
 * (its name ends in _total) or a histogram NAME_bucket/_sum/_count, with
 * the labels `collector` plus the configured ones, fed by the records of
 * the chosen collectors (`source`) whose fields pass `scope` (globs) and
 * whose body matches `match` (PCRE2) and/or whose field passes a condition
 * (`field`, `equals`, `field_match`). Label values come from the named
 * groups of `match`, else from the record field of that name ("" when
 * neither has one). A counter adds 1, or its `value` (a named group or
 * field, a number >= 0); a histogram observes its `value`. A record whose
 * value is not a number is not counted and counts in
 * vigil_log_metrics_value_errors_total{metric}.
 *
 * Agent's own:
 *   vigil_log_metrics_overflow_total{metric}  records counted in an overflow
 *                                             series (metric is the user
 *                                             metric, or vigil_log_records_total
 *                                             for the always-on set)
 *   vigil_log_metrics_series{metric}          series held now (containers, for
 *                                             vigil_log_records_total)
 *
 * Design:
 * - Each metric (and the always-on set) keeps its series in a struct
 *   vg_log_series (log_series.h): an open-addressing hash table from the
 *   label values to a block of counts, with a cap; label sets past the cap
 *   go to ONE overflow series whose label values are all "__overflow__".
 *   The always-on set holds one series per container (collector,
 *   namespace, pod, container) with its counts per stream and per level
 *   inside, so that a record costs one lookup.
 * - Records of one container come in runs: the always-on set remembers the
 *   series it fed last and compares the record's namespace, pod and
 *   container (length, then bytes) and the collector before hashing
 *   anything. Pointers are not enough to tell: a batch's arena is reused,
 *   so the same address may hold another container's name.
 * - Nothing is allocated per record in steady state: keys are built in one
 *   reused buffer, a series allocates only when it is born, patterns are
 *   compiled once (JIT) with their match data (vg_regex, parse/parser.h).
 * - Which user metrics take the records of a collector (`source`) is
 *   worked out when the collector changes from one record to the next, not
 *   per record; `scope` remembers the last value of each field it checks.
 * - Time is never read here: the caller passes CLOCK_MONOTONIC ns. A series
 *   not fed for the expiry time (5 minutes) leaves at the next emit; its
 *   counters start from 0 if it comes back (a counter reset to Prometheus).
 *
 * Not thread-safe: the engine thread records and emits.
 */
#ifndef VG_LOG_METRICS_H
#define VG_LOG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

struct vg_regex;

#define VG_LOG_METRICS_EXPIRY_NS   (INT64_C(300) * VG_NS_PER_SEC)
#define VG_LOG_METRICS_MAX_SERIES  20000 /* always-on containers */
#define VG_LOG_METRICS_MAX_LABELS  16    /* configured labels of one metric */
#define VG_LOG_METRICS_USER_SERIES 1000  /* default max_series of a user metric */

/* One `scope` entry: the record field and the glob (fnmatch) its value
 * must match; a missing field reads as "". */
struct vg_log_scope {
    const char *field;
    const char *glob;
};

/* A user metric as the configuration describes it (checked by the plan).
 * Strings and arrays are copied by vg_log_metrics_add; the patterns are
 * taken. */
struct vg_log_metric_spec {
    const char *name;           /* as exposed: a counter's ends in _total */
    enum vg_metric_type type;   /* VG_METRIC_COUNTER or VG_METRIC_HISTOGRAM */
    const char *help;           /* NULL: a default */
    const char *const *sources; /* collector names or globs; none: every collector */
    size_t n_sources;
    const struct vg_log_scope *scope;
    size_t n_scope;
    struct vg_regex *match;       /* on the body, or NULL */
    const char *field;            /* the record must have this field, or NULL */
    const char *equals;           /* ... with this value (its text), or NULL */
    struct vg_regex *field_match; /* ... or one this pattern matches, or NULL */
    const char *const *labels;    /* label names, without `collector` */
    size_t n_labels;
    const char *value;     /* named group or field; NULL: a counter adds 1 */
    const double *buckets; /* histogram upper bounds, ascending; none: a default set */
    size_t n_buckets;
    size_t max_series; /* 0: VG_LOG_METRICS_USER_SERIES */
};

struct vg_log_metrics;

/* The always-on counters and no user metric yet; NULL when out of memory. */
struct vg_log_metrics *vg_log_metrics_create(void);
void vg_log_metrics_destroy(struct vg_log_metrics *m);

/* Sets how long a series may go unfed (expiry_ns > 0) and the cap of the
 * always-on set (max_series > 0), before the first record (tests shorten
 * them). VG_OK, VG_EINVAL (records counted already, or a zero), VG_ENOMEM. */
int vg_log_metrics_set_limits(struct vg_log_metrics *m, int64_t expiry_ns, size_t max_series);

/* Adds a user metric. The patterns of spec are m's from now on, even on
 * error. VG_OK, VG_ENOMEM, or VG_EINVAL with err saying what the spec
 * lacks (the plan reports such problems first, with file and line). */
int vg_log_metrics_add(struct vg_log_metrics *m, const struct vg_log_metric_spec *spec,
                       struct vg_error *err);
size_t vg_log_metrics_user_count(const struct vg_log_metrics *m);

/* Counts record r of collector (its instance name; NULL reads as "") at
 * mono_ns (CLOCK_MONOTONIC). Nothing of r is kept. Out of memory while a
 * new series is born: that record is not counted for that series. */
void vg_log_metrics_record(struct vg_log_metrics *m, const char *collector,
                           const struct vg_record *r, int64_t mono_ns);

/* Drops the series not fed since mono_ns minus the expiry time, then emits
 * every series left and the agent's own counters through e. Returns VG_OK
 * or the first error of an emit (VG_ENOMEM; VG_EINVAL when e takes no
 * samples); the rest is emitted all the same. */
int vg_log_metrics_emit(struct vg_log_metrics *m, struct vg_emit *e, int64_t mono_ns);

#endif

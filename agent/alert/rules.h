/*
 * rules.h - the alert rule engine: metric rules and log rules evaluated
 * every alerts.interval against the metric store, one alert per matching
 * series, through the states inactive -> pending -> firing -> resolved,
 * as Prometheus evaluates its alerting rules.
 *
 * A log rule is a metric rule over the counter that its `logs:` match
 * feeds (agent/log_metrics.h, one user metric per log rule, planned by
 * config/alerts_plan.c) with `reduce: increase` over the window of its
 * `count:`; a series born while the agent runs counts from 0.
 *
 * After each evaluation the runner hands its firing alerts, and its
 * resolved ones for VG_ALERT_RESOLVED_KEEP_NS, to a notify hook (the
 * notifier set's vg_notifier_put once joined; unset: nobody). Its
 * states are kept in <state_dir>/checkpoints/alerts, written atomically when a
 * state changed, before the hook is called, so that a restart neither
 * pages twice nor forgets a resolved notice.
 *
 * Engine thread only: not locked. The store is read under its own lock.
 */
#ifndef VG_ALERT_RULES_H
#define VG_ALERT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/expr.h"
#include "alert/notify.h"
#include "metrics.h"
#include "vigil.h"

#define VG_ALERT_RESOLVED_KEEP_NS (INT64_C(900) * VG_NS_PER_SEC) /* as Prometheus: 15m */
#define VG_ALERT_HISTORY_MAX      4096     /* samples a series keeps for its reduce window */
#define VG_ALERT_STATE_FILE       "alerts" /* in <state_dir>/checkpoints/ */

enum vg_alert_reduce {
    VG_REDUCE_NONE,
    VG_REDUCE_AVG,
    VG_REDUCE_MAX,
    VG_REDUCE_MIN,
    VG_REDUCE_RATE,     /* per second, counter resets allowed */
    VG_REDUCE_INCREASE, /* over the window (log rules' count) */
};

/* One rule, as the plan checked it. Strings and arrays are copied; the
 * selector is taken (left empty). */
struct vg_alert_rule_spec {
    const char *name;
    struct vg_alert_selector *sel;
    struct vg_alert_test fire;
    bool has_clear;
    struct vg_alert_test keep; /* with has_clear: what keeps a firing alert firing */
    enum vg_alert_reduce reduce;
    int64_t window_ms;
    bool from_zero; /* a series born after the start counts from 0 (log counters) */
    int64_t for_ms, keep_firing_for_ms;
    const struct vg_label *labels; /* severity included */
    size_t n_labels;
    const struct vg_label *annotations; /* templates, checked */
    size_t n_annotations;
    const char *const *notify;
    size_t n_notify;
    const char *const *group_by;
    size_t n_group_by;
    int64_t group_wait_ms, group_interval_ms, repeat_interval_ms; /* -1: the section's */
    int send_resolved;                                            /* -1: the section's */
};

struct vg_alert_runner;

typedef void (*vg_alert_notify_fn)(void *arg, const struct vg_alert_msg *alerts, size_t n,
                                   int64_t now_ns);

/* A runner without rules; external_url (may be NULL) is the base of the
 * alerts' generator URL. NULL when out of memory. */
struct vg_alert_runner *vg_alert_runner_create(int64_t interval_ms, const char *external_url);
void vg_alert_runner_destroy(struct vg_alert_runner *r);
/* Adds a rule. VG_OK, VG_ENOMEM, or VG_EINVAL (a name already taken). */
int vg_alert_runner_add(struct vg_alert_runner *r, struct vg_alert_rule_spec *spec,
                        struct vg_error *err);
size_t vg_alert_runner_rule_count(const struct vg_alert_runner *r);
int64_t vg_alert_runner_interval_ms(const struct vg_alert_runner *r);
/* Sets the hook called after each evaluation (fn NULL: none). */
void vg_alert_runner_set_notify(struct vg_alert_runner *r, vg_alert_notify_fn fn, void *arg);

/* Reads <state_dir>/checkpoints/alerts when there is one (a damaged line is
 * logged and skipped; an alert of a rule no longer configured is
 * forgotten) and writes there from now on. VG_OK, VG_ENOMEM, or VG_EIO
 * with err filled (the runner then keeps no state). */
int vg_alert_runner_open_state(struct vg_alert_runner *r, const char *state_dir,
                               struct vg_error *err);
/* Evaluates every rule at now_ns (UNIX ns) against st, saves the states
 * when one changed, then calls the hook. */
void vg_alert_runner_eval(struct vg_alert_runner *r, struct vg_metric_store *st, int64_t now_ns);
/* Writes the state file when a state changed since the last write. VG_OK
 * or VG_EIO (logged, rate-limited; tried again at the next evaluation). */
int vg_alert_runner_save(struct vg_alert_runner *r);

/* ALERTS{alertname,alertstate,...} 1 and ALERTS_FOR_STATE{...} (the
 * active-since time in seconds) of every pending and firing alert, and
 * the engine's own vigil_alert_rules, vigil_alert_evaluation_duration_seconds
 * and vigil_alert_state_write_errors_total (when states are kept). */
int vg_alert_runner_emit(struct vg_alert_runner *r, struct vg_samples *s);
/* The body of /api/v1/alerts, as Prometheus answers it. */
int vg_alert_runner_json(struct vg_alert_runner *r, struct vg_buf *b);

/* Alerts pending and firing now (tests, logs). */
size_t vg_alert_runner_active(const struct vg_alert_runner *r, size_t *firing);

/* A double as Go's strconv.FormatFloat(v, 'e', -1, 64) writes it, as
 * Prometheus' API shows alert values: "1e+01", "8.65e+01", "NaN", "+Inf". */
void vg_alert_format_value(double v, char *out, size_t size);
/* UNIX ns as RFC 3339 in UTC with as many fraction digits as needed. */
void vg_alert_format_time(int64_t ns, char *out, size_t size);

#endif

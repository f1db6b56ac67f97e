/*
 * notify.h - between the rule engine and the notifiers, as between
 * Prometheus and Alertmanager: after each evaluation the rule engine hands
 * over the whole set of alerts it holds (firing ones, and resolved ones
 * for a while with their end time), and the notifier worker groups,
 * deduplicates, repeats and delivers them. Nothing here blocks the rule
 * engine: the set is copied and the worker thread does the rest.
 */
#ifndef VG_ALERT_NOTIFY_H
#define VG_ALERT_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* One alert, as Alertmanager's API v2 names its parts. Strings and arrays
 * are the caller's; vg_notifier_put copies what it keeps. */
struct vg_alert_msg {
    const struct vg_label *labels; /* alertname, severity, rule labels, series labels; sorted */
    size_t n_labels;
    const struct vg_label *annotations; /* templates already expanded */
    size_t n_annotations;
    int64_t starts_at_ns;      /* UNIX ns the alert started firing */
    int64_t ends_at_ns;        /* UNIX ns it resolved; 0 while firing */
    double value;              /* the value that made it fire (or the last one) */
    const char *const *notify; /* the notifiers (names) of its rule */
    size_t n_notify;
    const char *generator_url; /* may be NULL */
    /* grouping of its rule (NULL / negative: the alerts: section's) */
    const char *const *group_by;
    size_t n_group_by;
    int64_t group_wait_ms, group_interval_ms, repeat_interval_ms;
    int send_resolved; /* -1: the section's */
};

struct vg_notifier_set; /* every notifier of the config and the worker */

/* The current alerts, after one evaluation (engine thread): copied; a
 * firing alert missing from a later call counts as resolved then. */
void vg_notifier_put(struct vg_notifier_set *ns, const struct vg_alert_msg *alerts, size_t n,
                     int64_t now_ns);

#endif

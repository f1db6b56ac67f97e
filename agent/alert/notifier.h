/*
 * notifier.h - the notifiers: what the agent plans from the `alerts:`
 * section, starts, feeds (vg_notifier_put in notify.h), measures and stops,
 * and the contract of a notifier plugin (outputs/slack, outputs/email,
 * outputs/alertmanager).
 *
 * The set groups the alerts it is handed as Alertmanager does (group_by,
 * group_wait, group_interval, repeat_interval, send_resolved), turns each
 * group's changes into one notice, and delivers notices from a bounded
 * outbox, each notifier on a thread of its own, with retries until the
 * notifier's max_age. A notifier that is not `grouped` (alertmanager) gets every
 * put's alerts as one notice instead, as Prometheus re-posts them.
 */
#ifndef VG_ALERT_NOTIFIER_H
#define VG_ALERT_NOTIFIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/notify.h"
#include "vigil.h"

struct vg_errors; /* config/config.h */
struct vg_emit;

/* ------------------------------------------------------------------------
 * Notices: what a notifier is asked to deliver.
 */
enum vg_notice_kind {
    VG_NOTICE_FIRING,   /* a group's first notice, or alerts new to it (resolved ones listed too) */
    VG_NOTICE_RESOLVED, /* every alert of the group resolved */
    VG_NOTICE_REPEAT,   /* nothing changed; repeat_interval passed */
    VG_NOTICE_CURRENT,  /* not grouped: the alerts of one put (alertmanager) */
};

/* One alert of a notice, owned by the notice. */
struct vg_notice_alert {
    struct vg_label *labels; /* sorted by name */
    size_t n_labels;
    struct vg_label *annotations;
    size_t n_annotations;
    int64_t starts_at_ns;
    int64_t ends_at_ns; /* 0 while firing */
    double value;
    char *generator_url; /* may be NULL */
    uint64_t fp;         /* fingerprint of the labels */
};

struct vg_notice {
    enum vg_notice_kind kind;
    struct vg_label *group_labels; /* the group_by labels of the group, in group_by order */
    size_t n_group_labels;
    struct vg_notice_alert *alerts; /* the firing ones first, then the resolved ones */
    size_t n_alerts;
    size_t n_firing;
    int64_t made_ns;        /* when the notice was made */
    int64_t valid_until_ns; /* CURRENT: the endsAt of firing alerts (Prometheus' 4 intervals) */
};

void vg_notice_free(struct vg_notice *n);
/* The value of label name in a, or NULL. */
const char *vg_notice_label(const struct vg_notice_alert *a, const char *name);
/* A title for people: "[FIRING:3] GpuHot (node=n1)" or "[RESOLVED] GpuHot
 * (node=n1)": the alertname of the first alert and the group's labels
 * other than alertname. Cut to fit size. */
void vg_notice_title(const struct vg_notice *n, char *out, size_t size);
/* Appends template tmpl with each "{{ $labels.NAME }}" replaced by that
 * label of the notice's first alert (percent-encoded when url is true) and
 * "{{ $value }}" by its value; anything else is copied. VG_OK or
 * VG_ENOMEM. */
int vg_notice_expand(const struct vg_notice *n, const char *tmpl, bool url, struct vg_buf *out);
/* RFC 3339 UTC with milliseconds, "2026-11-24T10:00:00.123Z" (size >= 25). */
void vg_notice_time(int64_t ns, char *out, size_t size);

/* ------------------------------------------------------------------------
 * Notifier plugins: one const descriptor each, like outputs.
 */
enum vg_notify_result {
    VG_NOTIFY_OK,    /* delivered */
    VG_NOTIFY_RETRY, /* try again later (backoff, or reply->retry_after_ms), until max_age */
    VG_NOTIFY_DROP,  /* refused for good: logged with reply->reason and counted */
};

/* What a notify call reports besides its result. */
struct vg_notify_reply {
    int64_t retry_after_ms; /* RETRY: the peer's Retry-After, 0: the set's backoff */
    char reason[256];       /* RETRY and DROP: why, for the log (never a secret) */
    size_t rejected;        /* OK: recipients that refused it (each logged by the plugin) */
};

struct vg_notifier {
    const struct vg_notifier_ops *ops;
    const char *name;      /* the key under alerts.notifiers */
    void *ctx;             /* ops->ctx_size bytes, filled from the option table */
    int64_t timeout_ms;    /* the longest one delivery may take */
    const char *node_name; /* the node, for messages */
    /* set when the set stops and its deadline passed: a delivery that waits
     * on the network gives up (libcurl's progress callback reads it) */
    const atomic_bool *abort;
    void *priv; /* the plugin's own, from init */
};

struct vg_notifier_ops {
    const char *name; /* the `type:` */
    const char *doc;
    const struct vg_option *options; /* terminated by { NULL } */
    size_t ctx_size;
    bool grouped;        /* false: one CURRENT notice per put, never grouped */
    double rate_per_s;   /* > 0: a token bucket per instance, so many notices a second */
    unsigned rate_burst; /* ... with this burst */
    /* Optional, as for outputs: checks what the table cannot declare. */
    int (*check)(const void *ctx, struct vg_check *chk);
    int (*init)(struct vg_notifier *n, struct vg_error *err); /* optional */
    /* Delivers one notice (the notifier's delivery thread). */
    enum vg_notify_result (*notify)(struct vg_notifier *n, const struct vg_notice *notice,
                                    struct vg_notify_reply *reply);
    void (*destroy)(struct vg_notifier *n); /* optional: frees priv, not ctx */
};

/* The compiled-in notifiers (agent/registry.c). */
extern const struct vg_notifier_ops *const vg_notifier_registry[];
const struct vg_notifier_ops *vg_notifier_find(const char *name);

/* ------------------------------------------------------------------------
 * The plan: the `alerts:` section's notifier part, checked.
 */
struct vg_notify_defaults {
    struct vg_strlist group_by;
    int64_t group_wait_ms, group_interval_ms, repeat_interval_ms;
    bool send_resolved;
    int64_t outbox_max;
};

struct vg_notifier_plan_entry {
    const struct vg_notifier_ops *ops;
    char *name;
    void *ctx; /* options applied; taken (set to NULL) by vg_notifier_create */
    int64_t max_age_ms, timeout_ms;
    const struct vg_config_node *node;
};

struct vg_notifier_plan {
    struct vg_notify_defaults defaults;
    struct vg_notifier_plan_entry *v;
    size_t n;
};

/* Builds the plan from the `alerts:` map (NULL: no section, defaults and
 * no notifier). Only the keys of the notifiers are looked at (group_by,
 * group_wait, group_interval, repeat_interval, send_resolved, outbox_max,
 * notifiers); others are the rule engine's to check. Every problem goes to
 * errs as "FILE:LINE: alerts.notifiers.NAME (TYPE): ...". No side effect.
 * Returns VG_OK, VG_ECONFIG or VG_ENOMEM; the plan is to be freed either way. */
int vg_notifiers_plan(const struct vg_config_node *alerts, struct vg_notifier_plan *plan,
                      struct vg_errors *errs);
void vg_notifiers_plan_free(struct vg_notifier_plan *plan);
/* The table of the section's own keys and of every notifier's common ones,
 * for --list-options. */
extern const struct vg_option vg_notify_options[];
extern const struct vg_option vg_notifier_common_options[];

/* ------------------------------------------------------------------------
 * The set.
 */
struct vg_notifier_set;

/* Makes the set from a plan (its contexts are taken) and inits every
 * notifier; nothing runs yet. NULL with err set on failure. */
struct vg_notifier_set *vg_notifier_create(struct vg_notifier_plan *plan, struct vg_error *err);
/* Reads what the set told before a restart from
 * <state_dir>/checkpoints/notify (notify_state.c) and keeps it there from
 * now on; call before vg_notifier_start. A damaged line is logged and
 * skipped. VG_OK, or VG_EIO / VG_EPARSE / VG_ENOMEM with err set (then
 * nothing is kept across restarts). */
int vg_notifier_open_state(struct vg_notifier_set *ns, const char *state_dir, struct vg_error *err);
/* Starts the set's threads: one that looks at groups when due, one per
 * notifier that delivers. VG_OK, or VG_EIO with err set. */
int vg_notifier_start(struct vg_notifier_set *ns, struct vg_error *err);
/* Without threads (tests, on a fake clock; not with vg_notifier_start):
 * flushes the groups due at now_ns and makes every delivery due then, one
 * notifier after the other; returns the time of the next thing due
 * (INT64_MAX: none). The threads do the same parts on vg_now_ns(). */
int64_t vg_notifier_step(struct vg_notifier_set *ns, int64_t now_ns);
/* vigil_notifications_total{notifier,result} and
 * vigil_notification_queue_length{notifier} (any thread). */
void vg_notifier_emit_metrics(struct vg_notifier_set *ns, struct vg_emit *e);
/* Notices waiting in the outbox, and one notifier's count of a result
 * ("sent", "failed", "expired", "dropped", "retried"), for tests. */
size_t vg_notifier_queue_length(struct vg_notifier_set *ns);
uint64_t vg_notifier_count(struct vg_notifier_set *ns, const char *notifier, const char *result);
/* Stops: groups still waiting out group_wait are flushed, then each
 * notifier delivers what the outbox holds until it is empty or deadline_ms passed
 * (a delivery then in progress is aborted). Returns the notices left
 * undelivered (counted as dropped). Safe without vg_notifier_start. */
size_t vg_notifier_stop(struct vg_notifier_set *ns, int64_t deadline_ms);
void vg_notifier_destroy(struct vg_notifier_set *ns);

/* ------------------------------------------------------------------------
 * HTTP for notifiers (libcurl, one easy handle per notifier, kept alive).
 */
struct vg_notify_http {
    const char *url;
    const char *body;
    size_t len;
    const char *const *headers;  /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *user, *password; /* basic authentication when user is set */
    const char *ca_file;         /* NULL: the system's */
    bool verify;
};

struct vg_notify_http_reply {
    long status;            /* 0: no HTTP reply (connection, timeout) */
    int64_t retry_after_ms; /* Retry-After, seconds or a date; 0 when none */
    struct vg_buf body;     /* the first 4 KiB of the reply */
    char error[256];        /* libcurl's message when status is 0 */
};

/* POSTs r with easy (reset first) within n->timeout_ms, stopping early when
 * n->abort is set. The reply's body is reset, not freed. VG_OK when an
 * HTTP reply came (any status), VG_EIO otherwise (reply->error says why). */
int vg_notify_http_post(struct vg_notifier *n, void *easy, const struct vg_notify_http *r,
                        struct vg_notify_http_reply *reply);
/* The usual reading of a reply: 2xx OK; 429 and 5xx and no reply RETRY
 * (429 with its Retry-After); any other status DROP. reason gets the status
 * and the start of the body. */
enum vg_notify_result vg_notify_http_result(const struct vg_notify_http_reply *h,
                                            struct vg_notify_reply *reply);
/* What an HTTP notifier keeps between deliveries: its handle (a kept-alive
 * connection), the body it builds and the reply. */
struct vg_notify_http_conn {
    void *easy;
    struct vg_buf body;
    struct vg_notify_http_reply reply;
};

int vg_notify_http_conn_init(struct vg_notify_http_conn *c, struct vg_error *err);
void vg_notify_http_conn_free(struct vg_notify_http_conn *c);
/* POSTs c->body (built by the caller; built says whether that worked) as
 * r says, and reads the reply as vg_notify_http_result does. */
enum vg_notify_result vg_notify_http_send(struct vg_notifier *n, struct vg_notify_http_conn *c,
                                          bool built, struct vg_notify_http *r,
                                          struct vg_notify_reply *reply);
/* True when url's host is a loopback one (127.x.y.z, localhost, [::1]):
 * where a notifier may go without TLS. */
bool vg_notify_url_loopback(const char *url);

#endif

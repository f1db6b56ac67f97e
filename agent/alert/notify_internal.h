/*
 * notify_internal.h - the notifier set's parts, shared by notify_set.c
 * (life cycle, worker thread, metrics), notify_group.c (grouping, as
 * Alertmanager's dispatcher and dedup stage) and notify_outbox.c (the
 * bounded outbox and deliveries).
 *
 * Threads: the grouping thread looks at groups when due; each notifier has
 * a delivery thread of its own, so that a peer that hangs holds up no
 * other (without vg_notifier_start, vg_notifier_step does both in turn).
 *
 * Lock: set->mu guards everything below but each notifier's `n` (read-only
 * once created) and the plugin's own state (its delivery thread only). The
 * engine thread takes it in vg_notifier_put, the set's threads in their
 * loops, any thread in the metrics; nobody holds it across a delivery.
 */
#ifndef VG_NOTIFY_INTERNAL_H
#define VG_NOTIFY_INTERNAL_H

#include <pthread.h>

#include "alert/notifier.h"

enum ns_result { NS_SENT, NS_FAILED, NS_EXPIRED, NS_DROPPED, NS_RETRIED, NS_RESULTS };
extern const char *const vg_ns_result_names[NS_RESULTS];

/* A hash index over an array of n entries (notify_index.c): positions by
 * a 64-bit hash. Set stale after removing or moving entries. */
struct ng_index {
    size_t *pos; /* cap slots: position + 1, 0 when empty */
    size_t cap, n;
    bool stale;
};
typedef uint64_t (*ng_hash_fn)(const void *set, size_t i);
typedef bool (*ng_eq_fn)(const void *set, size_t i, const void *key);
/* The position of the entry with hash h (and, eq given, equal to key) among
 * the n entries of set, or SIZE_MAX. */
size_t vg_ng_index_find(struct ng_index *ix, size_t n, ng_hash_fn hf, ng_eq_fn eq, const void *set,
                        uint64_t h, const void *key);
/* Entry i (the last, hash h) was appended. */
void vg_ng_index_added(struct ng_index *ix, size_t i, uint64_t h);
void vg_ng_index_free(struct ng_index *ix);

/* One alert of a group. */
struct ng_alert {
    struct vg_notice_alert a; /* our copy */
    bool firing;
    bool notified;  /* in the firing set of the group's last notice */
    uint64_t stamp; /* the put that last named it */
};

/* An alert of a notice, as a restart knows it: the same labels and the
 * same start are the same firing. */
struct ns_fired {
    uint64_t fp;
    int64_t starts_at_ns;
};

/* One group: a notifier, the values of its group_by labels and its timing. */
struct ng_group {
    size_t notifier;
    char *key; /* notifier, grouping and label values: unique */
    uint64_t hash;
    struct vg_label *labels;
    size_t n_labels;
    int64_t wait_ns, interval_ns, repeat_ns;
    bool send_resolved;
    struct ng_alert *alerts;
    size_t n_alerts, cap_alerts;
    struct ng_index index; /* alerts by fingerprint */
    int64_t next_flush_ns;
    bool notified_once; /* a notice was made */
    size_t n_last_firing;
    int64_t last_ns; /* when the last notice was made */
    /* restored from state_dir until its first look: the firing set of its
     * last notice before a restart, sorted (notify_state.c) */
    struct ns_fired *was;
    size_t n_was;
};

/* What a restart must know of a group (notify_state.c): the last notice
 * of it that was delivered (or given up for good). */
struct ns_saved {
    char *key; /* the group's key (notifier index first) */
    uint64_t hash;
    int64_t last_ns;        /* when that notice was made (UNIX ns) */
    int64_t seen_ns;        /* when its group was last known */
    int64_t keep_ns;        /* forgotten when unseen this long */
    struct ns_fired *fired; /* the firing alerts of that notice, sorted */
    size_t n_fired;
    bool restored; /* read from the file, not yet taken by a group */
};

/* One notice waiting in the outbox (a FIFO per set, in order of making). */
struct ob_item {
    struct ob_item *next;
    struct vg_notice *notice;
    size_t notifier;
    bool important;      /* a first firing or a resolved notice: never dropped */
    char *group_key;     /* of its group (NULL: not grouped), for the saved state */
    uint64_t group_hash; /* of its group (0: not grouped): a newer repeat replaces it */
    int64_t next_try_ns;
    unsigned tries;
    bool in_flight;
};

struct ns_notifier {
    struct vg_notifier n;
    int64_t max_age_ns;
    double tokens; /* token bucket, when ops->rate_per_s > 0 */
    int64_t tokens_ns;
    int64_t not_before_ns; /* a Retry-After */
    uint64_t counts[NS_RESULTS];
    size_t queued;
    struct vg_complain complain;
    struct vg_notice_alert *last; /* not grouped: the firing alerts of the last put */
    size_t n_last;
    struct ng_index last_index; /* ... by fingerprint */
    struct vg_notifier_set *set;
    pthread_t thread; /* its delivery thread */
    bool started;
};

struct vg_notifier_set {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on every change; each thread looks again */
    pthread_t group_thread;
    bool group_started, started, stopping;
    size_t n_done; /* delivery threads that ended */
    atomic_bool abort;
    int64_t deadline_ns;
    struct ns_notifier *nf;
    size_t n_nf;
    struct vg_notify_defaults def;
    struct ng_group **groups;
    size_t n_groups, cap_groups;
    struct ng_index index; /* groups by key */
    struct ob_item *head;
    size_t queued;
    uint64_t stamp;
    int64_t last_put_ns, put_gap_ns;
    uint64_t rng;
    struct vg_buf scratch;  /* group keys */
    struct ns_saved *saved; /* delivered state of the groups (notify_state.c) */
    size_t n_saved, cap_saved;
    char *state_path; /* <state_dir>/checkpoints/notify; NULL: not kept */
    bool state_dirty;
    int64_t state_retry_ns; /* after a failed write, not before this */
    struct vg_complain state_complain;
};

/* notify_group.c: under mu. */
int vg_ng_ingest(struct vg_notifier_set *ns, const struct vg_alert_msg *alerts, size_t n,
                 int64_t now_ns);
void vg_ng_flush_due(struct vg_notifier_set *ns, int64_t now_ns, bool all);
int64_t vg_ng_next_due(const struct vg_notifier_set *ns);
void vg_ng_free_all(struct vg_notifier_set *ns);
int vg_ng_current(struct vg_notifier_set *ns, size_t idx, const struct vg_alert_msg *alerts,
                  size_t n, int64_t now_ns);
/* Copies m into a (labels, annotations, url), with fingerprint fp. */
int vg_ng_copy_alert(struct vg_notice_alert *a, const struct vg_alert_msg *m, uint64_t fp);
int vg_ng_dup_alert(struct vg_notice_alert *a, const struct vg_notice_alert *from);
void vg_ng_alert_free(struct vg_notice_alert *a);
uint64_t vg_ng_fingerprint(const struct vg_alert_msg *m);

/* notify_outbox.c: under mu (vg_ob_deliver drops it while a notifier works). */
void vg_ob_add(struct vg_notifier_set *ns, size_t idx, struct vg_notice *notice, bool important,
               const struct ng_group *g);
/* Delivers what is due at now_ns; returns the next time something is. */
int64_t vg_ob_deliver(struct vg_notifier_set *ns, int64_t now_ns);
/* Delivers notifier idx's first notice when it is due at now_ns; returns
 * true when it tried, else false with *next set to when it will be due. */
bool vg_ob_try(struct vg_notifier_set *ns, size_t idx, int64_t now_ns, int64_t *next);
size_t vg_ob_clear(struct vg_notifier_set *ns);

/* notify_group.c: the group of key (hash), or NULL. */
struct ng_group *vg_ng_find(struct vg_notifier_set *ns, const char *key, uint64_t hash);

/* notify_state.c: under mu. */
/* A final answer (sent, refused, expired) for a notice of the group of
 * key: its firing set is what a restart remembers (none: forgotten). */
void vg_ns_delivered(struct vg_notifier_set *ns, const char *key, const struct vg_notice *n,
                     int64_t now_ns);
/* A group ended without a notice (all resolved, no send_resolved). */
void vg_ns_forget(struct vg_notifier_set *ns, const char *key);
/* True when a restored state waits for the group of key. */
bool vg_ns_restorable(struct vg_notifier_set *ns, const char *key, uint64_t hash, int64_t now_ns);
/* New group g takes the restored state of its key, if any. */
void vg_ns_restore(struct vg_notifier_set *ns, struct ng_group *g, int64_t now_ns);
/* True when the alert fp that started at starts_at_ns was in g's firing
 * set before the restart. */
bool vg_ns_was(const struct ng_group *g, uint64_t fp, int64_t starts_at_ns);
/* Writes the file when something changed; drops mu during the write.
 * Only one thread at a time (the grouping thread, or the stepper). */
void vg_ns_save(struct vg_notifier_set *ns, int64_t now_ns);
void vg_ns_free(struct vg_notifier_set *ns);
/* The file's reader and writer, for tests and fuzzing: parse takes text
 * (damaged lines logged once and skipped; VG_OK or VG_ENOMEM); render
 * appends the text of what is kept, forgetting what went unseen too long
 * by now_ns. */
int vg_ns_parse(struct vg_notifier_set *ns, const char *text, size_t len);
int vg_ns_render(struct vg_notifier_set *ns, struct vg_buf *b, int64_t now_ns);

#endif

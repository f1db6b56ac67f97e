/*
 * notify_set.c - the notifier set: made from the plan, fed by the rule
 * engine (vg_notifier_put, engine thread), worked by its threads (one that
 * looks at groups, one per notifier that delivers: vg_notifier_step's
 * parts on the real clock), measured, and stopped within a deadline. The rule engine never waits on
 * a notifier: a put copies the alerts into the groups under the lock and wakes the set's threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "notify_internal.h"

#define NS_PLUGIN      "notifier"
#define NS_WAIT_MAX_NS (60 * VG_NS_PER_SEC) /* a thread looks around at least this often */

const char *const vg_ns_result_names[NS_RESULTS] = {"sent", "failed", "expired", "dropped",
                                                    "retried"};

static int ns_copy_defaults(struct vg_notify_defaults *to, const struct vg_notify_defaults *from)
{
    size_t i;

    *to = *from;
    to->group_by.v = vg_calloc(from->group_by.n + 1, sizeof(char *));
    if (to->group_by.v == NULL)
        return VG_ENOMEM;
    for (i = 0; i < from->group_by.n; i++) {
        to->group_by.v[i] = vg_strdup(from->group_by.v[i]);
        if (to->group_by.v[i] == NULL)
            return VG_ENOMEM;
    }
    if (to->outbox_max < 1)
        to->outbox_max = 1;
    return VG_OK;
}

/* Takes plan entry e into notifier slot nf and inits it. */
static int ns_take(struct vg_notifier_set *ns, struct ns_notifier *nf,
                   struct vg_notifier_plan_entry *e, struct vg_error *err)
{
    nf->n.ops = e->ops;
    nf->n.name = vg_strdup(e->name);
    nf->n.ctx = e->ctx;
    e->ctx = NULL;
    nf->n.timeout_ms = e->timeout_ms > 0 ? e->timeout_ms : 10000;
    nf->n.node_name = vg_node_name();
    nf->n.abort = &ns->abort;
    nf->max_age_ns = vg_ms_to_ns_sat(e->max_age_ms);
    nf->tokens = e->ops->rate_burst > 0 ? e->ops->rate_burst : 1;
    nf->tokens_ns = vg_now_ns();
    if (nf->n.name == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    if (e->ops->init != NULL && e->ops->init(&nf->n, err) != VG_OK) {
        nf->n.ops = NULL; /* nothing to destroy */
        return err->code != VG_OK ? err->code : VG_ECONFIG;
    }
    return VG_OK;
}

/* A condition variable timed on CLOCK_MONOTONIC: a step of the wall clock
 * neither wakes a thread early nor makes it sleep for hours. */
static void ns_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
}

/* Waits on cv under mu until woken or the wall-clock time `until` (ns),
 * at most NS_WAIT_MAX_NS. */
static void ns_timedwait(struct vg_notifier_set *ns, int64_t until)
{
    int64_t d = until - vg_now_ns();
    struct timespec ts;

    d = d < 0 ? 0 : d > NS_WAIT_MAX_NS ? NS_WAIT_MAX_NS : d;
    d += vg_mono_ns();
    ts.tv_sec = (time_t)(d / VG_NS_PER_SEC);
    ts.tv_nsec = (long)(d % VG_NS_PER_SEC);
    pthread_cond_timedwait(&ns->cv, &ns->mu, &ts);
}

struct vg_notifier_set *vg_notifier_create(struct vg_notifier_plan *plan, struct vg_error *err)
{
    struct vg_notifier_set *ns = vg_calloc(1, sizeof(*ns));
    size_t i;

    if (ns == NULL) {
        vg_error_set(err, VG_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&ns->mu, NULL);
    ns_cond_init(&ns->cv);
    atomic_init(&ns->abort, false);
    vg_buf_init(&ns->scratch);
    ns->rng = (uint64_t)vg_now_ns() | 1;
    ns->nf = vg_calloc(plan->n + 1, sizeof(*ns->nf));
    if (ns->nf == NULL || ns_copy_defaults(&ns->def, &plan->defaults) != VG_OK) {
        vg_error_set(err, VG_ENOMEM, "out of memory");
        vg_notifier_destroy(ns);
        return NULL;
    }
    for (i = 0; i < plan->n; i++) {
        ns->n_nf = i + 1;
        if (ns_take(ns, &ns->nf[i], &plan->v[i], err) != VG_OK) {
            vg_notifier_destroy(ns);
            return NULL;
        }
    }
    return ns;
}

void vg_notifier_put(struct vg_notifier_set *ns, const struct vg_alert_msg *alerts, size_t n,
                     int64_t now_ns)
{
    int rc;

    if (ns == NULL)
        return;
    pthread_mutex_lock(&ns->mu);
    if (ns->last_put_ns > 0 && now_ns > ns->last_put_ns)
        ns->put_gap_ns = now_ns - ns->last_put_ns;
    ns->last_put_ns = now_ns;
    rc = vg_ng_ingest(ns, alerts, n, now_ns);
    pthread_cond_broadcast(&ns->cv); /* the grouping thread, and whoever else waits */
    pthread_mutex_unlock(&ns->mu);
    if (rc != VG_OK)
        vg_log(VG_LOG_ERROR, NS_PLUGIN, "alerts", "alerts not all taken: %s", vg_strerror(rc));
}

int64_t vg_notifier_step(struct vg_notifier_set *ns, int64_t now_ns)
{
    int64_t next, groups;

    pthread_mutex_lock(&ns->mu);
    vg_ng_flush_due(ns, now_ns, false);
    next = vg_ob_deliver(ns, now_ns);
    vg_ns_save(ns, now_ns);
    groups = vg_ng_next_due(ns);
    pthread_mutex_unlock(&ns->mu);
    return groups < next ? groups : next;
}

/* The grouping thread: looks at each group when it is due, and writes
 * the state when a notice got its answer. */
static void *ns_group_worker(void *arg)
{
    struct vg_notifier_set *ns = arg;
    int64_t now, next;

    pthread_mutex_lock(&ns->mu);
    while (!ns->stopping) {
        now = vg_now_ns();
        vg_ng_flush_due(ns, now, false);
        vg_ns_save(ns, now);
        if (ns->stopping)
            break;
        next = vg_ng_next_due(ns);
        ns_timedwait(ns, next < now + NS_WAIT_MAX_NS ? next : now + NS_WAIT_MAX_NS);
    }
    pthread_mutex_unlock(&ns->mu);
    return NULL;
}

/* One notifier's delivery thread: its notices in order, each when due, so
 * that a peer that hangs holds up no other notifier. Once stopping, it
 * ends when its outbox is empty or the deadline passed. */
static void *ns_deliver_worker(void *arg)
{
    struct ns_notifier *nf = arg;
    struct vg_notifier_set *ns = nf->set;
    size_t idx = (size_t)(nf - ns->nf);
    int64_t now, when, cap;

    pthread_mutex_lock(&ns->mu);
    for (;;) {
        now = vg_now_ns();
        if (vg_ob_try(ns, idx, now, &when))
            continue;
        if (ns->stopping && (nf->queued == 0 || now >= ns->deadline_ns))
            break;
        cap = ns->stopping ? ns->deadline_ns : now + NS_WAIT_MAX_NS;
        ns_timedwait(ns, when < cap ? when : cap);
    }
    ns->n_done++;
    pthread_cond_broadcast(&ns->cv);
    pthread_mutex_unlock(&ns->mu);
    return NULL;
}

/* Joins every thread started (stopping and abort set by the caller). */
static void ns_join(struct vg_notifier_set *ns)
{
    size_t i;

    if (ns->group_started)
        pthread_join(ns->group_thread, NULL);
    ns->group_started = false;
    for (i = 0; i < ns->n_nf; i++) {
        if (ns->nf[i].started)
            pthread_join(ns->nf[i].thread, NULL);
        ns->nf[i].started = false;
    }
}

int vg_notifier_start(struct vg_notifier_set *ns, struct vg_error *err)
{
    size_t i;
    int e = pthread_create(&ns->group_thread, NULL, ns_group_worker, ns);

    ns->group_started = e == 0;
    for (i = 0; e == 0 && i < ns->n_nf; i++) {
        ns->nf[i].set = ns;
        e = pthread_create(&ns->nf[i].thread, NULL, ns_deliver_worker, &ns->nf[i]);
        ns->nf[i].started = e == 0;
    }
    if (e == 0) {
        ns->started = true;
        return VG_OK;
    }
    pthread_mutex_lock(&ns->mu);
    ns->stopping = true;
    atomic_store(&ns->abort, true);
    pthread_cond_broadcast(&ns->cv);
    pthread_mutex_unlock(&ns->mu);
    ns_join(ns);
    return vg_error_set(err, VG_EIO, "cannot start the notifier threads: %s", vg_errno_str(e));
}

size_t vg_notifier_stop(struct vg_notifier_set *ns, int64_t deadline_ms)
{
    int64_t until = vg_add_sat(vg_now_ns(), vg_ms_to_ns_sat(deadline_ms));
    size_t left;

    pthread_mutex_lock(&ns->mu);
    vg_ng_flush_due(ns, vg_now_ns(), true);
    ns->stopping = true;
    ns->deadline_ns = until;
    pthread_cond_broadcast(&ns->cv);
    while (ns->started && ns->n_done < ns->n_nf && vg_now_ns() < until)
        ns_timedwait(ns, until);
    atomic_store(&ns->abort, true); /* a delivery still going gives up */
    pthread_cond_broadcast(&ns->cv);
    pthread_mutex_unlock(&ns->mu);
    ns_join(ns);
    ns->started = false;
    pthread_mutex_lock(&ns->mu);
    left = vg_ob_clear(ns);
    ns->state_dirty = ns->state_dirty || ns->n_saved > 0; /* the groups seen now */
    ns->state_retry_ns = 0;
    vg_ns_save(ns, vg_now_ns());
    pthread_mutex_unlock(&ns->mu);
    if (left > 0)
        vg_log(VG_LOG_WARN, NS_PLUGIN, "alerts", "%zu notification(s) not delivered by shutdown",
               left);
    return left;
}

void vg_notifier_destroy(struct vg_notifier_set *ns)
{
    size_t i;

    if (ns == NULL)
        return;
    if (ns->started)
        vg_notifier_stop(ns, 0);
    vg_ob_clear(ns);
    vg_ng_free_all(ns);
    vg_ns_free(ns);
    for (i = 0; i < ns->n_nf; i++) {
        struct ns_notifier *nf = &ns->nf[i];

        if (nf->n.ops != NULL && nf->n.ops->destroy != NULL)
            nf->n.ops->destroy(&nf->n);
        if (nf->n.ctx != NULL && nf->n.ops != NULL)
            vg_options_free(nf->n.ops->options, nf->n.ctx);
        free(nf->n.ctx);
        free((char *)nf->n.name);
    }
    free(ns->nf);
    for (i = 0; ns->def.group_by.v != NULL && i < ns->def.group_by.n; i++)
        free(ns->def.group_by.v[i]);
    free(ns->def.group_by.v);
    vg_buf_free(&ns->scratch);
    pthread_cond_destroy(&ns->cv);
    pthread_mutex_destroy(&ns->mu);
    free(ns);
}

/* ------------------------------------------------------------------------
 * Metrics.
 */

size_t vg_notifier_queue_length(struct vg_notifier_set *ns)
{
    size_t n;

    pthread_mutex_lock(&ns->mu);
    n = ns->queued;
    pthread_mutex_unlock(&ns->mu);
    return n;
}

uint64_t vg_notifier_count(struct vg_notifier_set *ns, const char *notifier, const char *result)
{
    uint64_t v = 0;
    size_t i, r;

    pthread_mutex_lock(&ns->mu);
    for (i = 0; i < ns->n_nf; i++)
        for (r = 0; r < NS_RESULTS; r++)
            if (strcmp(ns->nf[i].n.name, notifier) == 0 &&
                strcmp(vg_ns_result_names[r], result) == 0)
                v = ns->nf[i].counts[r];
    pthread_mutex_unlock(&ns->mu);
    return v;
}

void vg_notifier_emit_metrics(struct vg_notifier_set *ns, struct vg_emit *e)
{
    uint64_t counts[NS_RESULTS];
    size_t i, r, queued;

    for (i = 0; i < ns->n_nf; i++) {
        pthread_mutex_lock(&ns->mu);
        memcpy(counts, ns->nf[i].counts, sizeof(counts));
        queued = ns->nf[i].queued;
        pthread_mutex_unlock(&ns->mu);
        for (r = 0; r < NS_RESULTS; r++)
            vg_emit_counter(e, "vigil_notifications_total",
                            "Alert notifications by notifier and result (sent, failed: refused "
                            "for good, expired: past max_age, dropped: outbox full or shutdown, "
                            "retried: a try that failed for now)",
                            (double)counts[r], "notifier", ns->nf[i].n.name, "result",
                            vg_ns_result_names[r], NULL);
        vg_emit_gauge(e, "vigil_notification_queue_length",
                      "Notifications waiting in the outbox, by notifier", (double)queued,
                      "notifier", ns->nf[i].n.name, NULL);
    }
}

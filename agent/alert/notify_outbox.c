/*
 * notify_outbox.c - the outbox: notices in the order they were made, at
 * most outbox_max of them. When it is full the oldest repeat notice (or
 * re-post of unchanged alerts) goes first; a first firing or a resolved
 * notice is never dropped (there are at most a few per group). Each
 * notifier delivers its own notices in order, one at a time: a notice
 * that waits for a retry holds back the later ones of its notifier only.
 * Under the set's lock, which vg_ob_deliver drops during a delivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "notify_internal.h"

#define OB_BACKOFF_NS     VG_NS_PER_SEC
#define OB_BACKOFF_MAX_NS (60 * VG_NS_PER_SEC)
#define OB_ROUNDS_MAX     64 /* deliveries per notifier in one step */

static void ob_unlink(struct vg_notifier_set *ns, struct ob_item *it)
{
    struct ob_item **pp;

    for (pp = &ns->head; *pp != NULL; pp = &(*pp)->next)
        if (*pp == it) {
            *pp = it->next;
            ns->queued--;
            ns->nf[it->notifier].queued--;
            vg_notice_free(it->notice);
            free(it->group_key);
            free(it);
            return;
        }
}

/* The oldest item that may be dropped (not important, not being sent);
 * with a notifier and group given, only one of theirs. */
static struct ob_item *ob_droppable(struct vg_notifier_set *ns, size_t idx, uint64_t group_hash,
                                    bool any)
{
    struct ob_item *it;

    for (it = ns->head; it != NULL; it = it->next)
        if (!it->important && !it->in_flight &&
            (any || (it->notifier == idx && it->group_hash == group_hash)))
            return it;
    return NULL;
}

void vg_ob_add(struct vg_notifier_set *ns, size_t idx, struct vg_notice *notice, bool important,
               const struct ng_group *g)
{
    uint64_t group_hash = g != NULL ? g->hash : 0;
    struct ob_item *it, **pp;

    it = important ? NULL : ob_droppable(ns, idx, group_hash, false);
    if (it != NULL)
        ob_unlink(ns, it); /* the same group's older repeat: this one says more */
    if (ns->queued >= (size_t)ns->def.outbox_max) {
        it = ob_droppable(ns, 0, 0, true);
        if (it == NULL && !important) {
            ns->nf[idx].counts[NS_DROPPED]++;
            vg_notice_free(notice);
            return;
        }
        if (it != NULL) {
            ns->nf[it->notifier].counts[NS_DROPPED]++;
            ob_unlink(ns, it);
        }
    }
    it = vg_calloc(1, sizeof(*it));
    if (it != NULL && g != NULL) {
        it->group_key = vg_strdup(g->key);
        if (it->group_key == NULL) {
            free(it);
            it = NULL;
        }
    }
    if (it == NULL) {
        ns->nf[idx].counts[NS_DROPPED]++;
        vg_notice_free(notice);
        return;
    }
    it->notice = notice;
    it->notifier = idx;
    it->important = important;
    it->group_hash = group_hash;
    it->next_try_ns = notice->made_ns;
    for (pp = &ns->head; *pp != NULL; pp = &(*pp)->next)
        ;
    *pp = it;
    ns->queued++;
    ns->nf[idx].queued++;
    pthread_cond_broadcast(&ns->cv);
}

size_t vg_ob_clear(struct vg_notifier_set *ns)
{
    size_t n = 0;

    while (ns->head != NULL) {
        ns->nf[ns->head->notifier].counts[NS_DROPPED]++;
        ob_unlink(ns, ns->head);
        n++;
    }
    return n;
}

/* The first notice of notifier idx and when it may go (INT64_MAX: none). */
static struct ob_item *ob_head(struct vg_notifier_set *ns, size_t idx, int64_t now_ns,
                               int64_t *when)
{
    struct ns_notifier *nf = &ns->nf[idx];
    struct ob_item *it;
    double rate = nf->n.ops->rate_per_s;

    for (it = ns->head; it != NULL && it->notifier != idx; it = it->next)
        ;
    *when = INT64_MAX;
    if (it == NULL || it->in_flight)
        return NULL;
    *when = it->next_try_ns > nf->not_before_ns ? it->next_try_ns : nf->not_before_ns;
    if (rate > 0) {
        double burst = nf->n.ops->rate_burst > 0 ? nf->n.ops->rate_burst : 1;

        nf->tokens += (double)(now_ns - nf->tokens_ns) / (double)VG_NS_PER_SEC * rate;
        nf->tokens = nf->tokens > burst ? burst : nf->tokens;
        nf->tokens_ns = now_ns;
        if (nf->tokens < 1.0 && *when <= now_ns)
            *when = now_ns + (int64_t)((1.0 - nf->tokens) / rate * (double)VG_NS_PER_SEC) + 1;
    }
    return it;
}

static int64_t ob_backoff(struct vg_notifier_set *ns, unsigned tries)
{
    int64_t d = OB_BACKOFF_NS;
    unsigned i;

    for (i = 1; i < tries && d < OB_BACKOFF_MAX_NS; i++)
        d *= 2;
    d = d > OB_BACKOFF_MAX_NS ? OB_BACKOFF_MAX_NS : d;
    ns->rng ^= ns->rng << 13;
    ns->rng ^= ns->rng >> 7;
    ns->rng ^= ns->rng << 17;
    return d - d / 5 + (int64_t)(ns->rng % (uint64_t)(d / 5 * 2 + 1)); /* +-20% */
}

/* Takes the answer of a delivery of item it. */
static void ob_answer(struct vg_notifier_set *ns, struct ob_item *it, enum vg_notify_result r,
                      const struct vg_notify_reply *reply, int64_t now_ns)
{
    struct ns_notifier *nf = &ns->nf[it->notifier];
    const char *type = nf->n.ops->name;

    it->in_flight = false;
    if (it->group_key != NULL &&
        (r != VG_NOTIFY_RETRY || now_ns - it->notice->made_ns >= nf->max_age_ns))
        vg_ns_delivered(ns, it->group_key, it->notice, now_ns);
    if (r == VG_NOTIFY_OK) {
        nf->counts[NS_SENT]++;
        vg_complain_clear(&nf->complain, type, nf->n.name, "delivery");
        ob_unlink(ns, it);
        return;
    }
    if (r == VG_NOTIFY_DROP) {
        nf->counts[NS_FAILED]++;
        vg_log(VG_LOG_ERROR, type, nf->n.name, "notification refused, not retried: %s",
               reply->reason);
        ob_unlink(ns, it);
        return;
    }
    if (now_ns - it->notice->made_ns >= nf->max_age_ns) {
        nf->counts[NS_EXPIRED]++;
        vg_log(VG_LOG_ERROR, type, nf->n.name,
               "notification given up after %u tries (older than max_age): %s", it->tries + 1,
               reply->reason);
        ob_unlink(ns, it);
        return;
    }
    nf->counts[NS_RETRIED]++;
    it->tries++;
    if (reply->retry_after_ms > 0) {
        it->next_try_ns = now_ns + vg_ms_to_ns_sat(reply->retry_after_ms);
        nf->not_before_ns = it->next_try_ns;
    } else {
        it->next_try_ns = now_ns + ob_backoff(ns, it->tries);
    }
    vg_complain(&nf->complain, VG_LOG_WARN, type, nf->n.name, "notification retried: %s",
                reply->reason);
}

bool vg_ob_try(struct vg_notifier_set *ns, size_t idx, int64_t now_ns, int64_t *next)
{
    struct ns_notifier *nf = &ns->nf[idx];
    struct vg_notify_reply reply;
    struct ob_item *it = ob_head(ns, idx, now_ns, next);
    enum vg_notify_result r;

    if (it == NULL || *next > now_ns || atomic_load(&ns->abort))
        return false;
    if (nf->n.ops->rate_per_s > 0)
        nf->tokens -= 1.0;
    it->in_flight = true;
    memset(&reply, 0, sizeof(reply));
    pthread_mutex_unlock(&ns->mu);
    r = nf->n.ops->notify(&nf->n, it->notice, &reply);
    pthread_mutex_lock(&ns->mu);
    if (reply.reason[0] == '\0')
        snprintf(reply.reason, sizeof(reply.reason), "no reason given");
    ob_answer(ns, it, r, &reply, now_ns);
    return true;
}

int64_t vg_ob_deliver(struct vg_notifier_set *ns, int64_t now_ns)
{
    int64_t next = INT64_MAX, when;
    size_t i, round;
    bool any = true;

    for (round = 0; any && round < OB_ROUNDS_MAX; round++) {
        any = false;
        for (i = 0; i < ns->n_nf; i++)
            any = vg_ob_try(ns, i, now_ns, &when) || any;
    }
    for (i = 0; i < ns->n_nf; i++) {
        ob_head(ns, i, now_ns, &when);
        next = when < next ? when : next;
    }
    return next;
}

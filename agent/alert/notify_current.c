/*
 * notify_current.c - notices of the notifiers that are not grouped
 * (alertmanager): each put's alerts of that notifier, as Prometheus posts
 * them at every evaluation, plus the alerts that were firing at the last
 * put and are missing now, resolved at this one. Firing alerts carry an
 * end 4 intervals ahead (at least 4 minutes), as Prometheus' do, so that
 * the receiver resolves them itself if the agent goes away. Under the
 * set's lock.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "notify_internal.h"

#define NC_MIN_RESEND_NS (60 * VG_NS_PER_SEC)

static bool nc_names(const struct vg_alert_msg *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->n_notify; i++)
        if (m->notify[i] != NULL && strcmp(m->notify[i], name) == 0)
            return true;
    return false;
}

static uint64_t nc_last_hash(const void *set, size_t i)
{
    return ((const struct ns_notifier *)set)->last[i].fp;
}

static uint64_t nc_notice_hash(const void *set, size_t i)
{
    return ((const struct vg_notice *)set)->alerts[i].fp;
}

static bool nc_in_last(struct ns_notifier *nf, uint64_t fp)
{
    return vg_ng_index_find(&nf->last_index, nf->n_last, nc_last_hash, NULL, nf, fp, NULL) !=
           SIZE_MAX;
}

/* Adds this put's alerts of notifier nf to notice n; *news says whether one
 * is new or newly resolved. */
static int nc_take(struct ns_notifier *nf, struct vg_notice *n, const struct vg_alert_msg *alerts,
                   size_t count, bool *news)
{
    size_t i;
    int rc;

    for (i = 0; i < count; i++) {
        uint64_t fp;

        if (!nc_names(&alerts[i], nf->n.name))
            continue;
        fp = vg_ng_fingerprint(&alerts[i]);
        rc = vg_ng_copy_alert(&n->alerts[n->n_alerts], &alerts[i], fp);
        if (rc != VG_OK)
            return rc;
        n->n_alerts++;
        n->n_firing += alerts[i].ends_at_ns == 0 ? 1 : 0;
        if (!nc_in_last(nf, fp) == (alerts[i].ends_at_ns == 0))
            *news = true;
    }
    return VG_OK;
}

/* Adds the alerts of the last put missing from this one, resolved now. */
static int nc_missing(const struct ns_notifier *nf, struct vg_notice *n, int64_t now_ns, bool *news)
{
    struct ng_index given = {0};
    size_t i, n_given = n->n_alerts;
    int rc = VG_OK;

    for (i = 0; rc == VG_OK && i < nf->n_last; i++) {
        if (vg_ng_index_find(&given, n_given, nc_notice_hash, NULL, n, nf->last[i].fp, NULL) !=
            SIZE_MAX)
            continue;
        rc = vg_ng_dup_alert(&n->alerts[n->n_alerts], &nf->last[i]);
        if (rc != VG_OK)
            break;
        n->alerts[n->n_alerts++].ends_at_ns = now_ns;
        *news = true;
    }
    vg_ng_index_free(&given);
    return rc;
}

/* Remembers the firing alerts of notice n as the notifier's last put. */
static int nc_remember(struct ns_notifier *nf, const struct vg_notice *n)
{
    struct vg_notice_alert *v = vg_calloc(n->n_firing + 1, sizeof(*v));
    size_t i, k = 0;

    if (v == NULL)
        return VG_ENOMEM;
    for (i = 0; i < n->n_alerts; i++) {
        if (n->alerts[i].ends_at_ns != 0)
            continue;
        if (vg_ng_dup_alert(&v[k], &n->alerts[i]) != VG_OK)
            break;
        k++;
    }
    for (i = 0; i < nf->n_last; i++)
        vg_ng_alert_free(&nf->last[i]);
    free(nf->last);
    nf->last = v;
    nf->n_last = k;
    nf->last_index.stale = true;
    return k == n->n_firing ? VG_OK : VG_ENOMEM;
}

/* Firing alerts first, as in grouped notices. */
static void nc_order(struct vg_notice *n)
{
    size_t i, k = 0;

    for (i = 0; i < n->n_alerts; i++)
        if (n->alerts[i].ends_at_ns == 0) {
            struct vg_notice_alert t = n->alerts[k];

            n->alerts[k++] = n->alerts[i];
            n->alerts[i] = t;
        }
}

int vg_ng_current(struct vg_notifier_set *ns, size_t idx, const struct vg_alert_msg *alerts,
                  size_t count, int64_t now_ns)
{
    struct ns_notifier *nf = &ns->nf[idx];
    struct vg_notice *n = vg_calloc(1, sizeof(*n));
    int64_t gap = ns->put_gap_ns > NC_MIN_RESEND_NS ? ns->put_gap_ns : NC_MIN_RESEND_NS;
    bool news = false;
    int rc = VG_ENOMEM;

    if (n == NULL)
        return VG_ENOMEM;
    n->kind = VG_NOTICE_CURRENT;
    n->made_ns = now_ns;
    n->valid_until_ns = vg_add_sat(now_ns, gap * 4);
    n->alerts = vg_calloc(count + nf->n_last + 1, sizeof(*n->alerts));
    if (n->alerts != NULL)
        rc = nc_take(nf, n, alerts, count, &news);
    if (rc == VG_OK)
        rc = nc_missing(nf, n, now_ns, &news);
    if (rc == VG_OK) {
        nc_order(n);
        rc = nc_remember(nf, n);
    }
    if (rc != VG_OK || n->n_alerts == 0) {
        vg_notice_free(n);
        return rc;
    }
    vg_ob_add(ns, idx, n, news, NULL);
    return VG_OK;
}

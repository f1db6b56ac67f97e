/*
 * notify_group.c - grouping as Alertmanager does it. Each alert goes to
 * one group per notifier of its rule, keyed by the values of its group_by
 * labels (and its grouping times). A new group waits group_wait, then is
 * looked at every group_interval: it makes a notice when an alert is new
 * to it, when all of its alerts resolved, when some resolved (with
 * send_resolved) or when repeat_interval passed; otherwise nothing. Its
 * resolved alerts leave it after each look, and an empty group goes.
 * Everything here runs under the set's lock (notify_internal.h).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "notify_internal.h"

static int ng_labels_copy(struct vg_label **out, const struct vg_label *in, size_t n)
{
    size_t i;

    *out = NULL;
    if (n == 0)
        return VG_OK;
    *out = vg_calloc(n, sizeof(**out));
    if (*out == NULL)
        return VG_ENOMEM;
    for (i = 0; i < n; i++) {
        (*out)[i].name = vg_strdup(in[i].name != NULL ? in[i].name : "");
        (*out)[i].value = vg_strdup(in[i].value != NULL ? in[i].value : "");
        if ((*out)[i].name == NULL || (*out)[i].value == NULL)
            return VG_ENOMEM; /* the caller frees what was made */
    }
    return VG_OK;
}

static void ng_labels_free(struct vg_label *v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++) {
        free((char *)v[i].name);
        free((char *)v[i].value);
    }
    free(v);
}

void vg_ng_alert_free(struct vg_notice_alert *a)
{
    ng_labels_free(a->labels, a->n_labels);
    ng_labels_free(a->annotations, a->n_annotations);
    free(a->generator_url);
    memset(a, 0, sizeof(*a));
}

int vg_ng_copy_alert(struct vg_notice_alert *a, const struct vg_alert_msg *m, uint64_t fp)
{
    int rc;

    memset(a, 0, sizeof(*a));
    a->n_labels = m->n_labels;
    a->n_annotations = m->n_annotations;
    a->starts_at_ns = m->starts_at_ns;
    a->ends_at_ns = m->ends_at_ns;
    a->value = m->value;
    a->fp = fp;
    rc = ng_labels_copy(&a->labels, m->labels, m->n_labels);
    if (rc == VG_OK)
        rc = ng_labels_copy(&a->annotations, m->annotations, m->n_annotations);
    if (rc == VG_OK && m->generator_url != NULL) {
        a->generator_url = vg_strdup(m->generator_url);
        rc = a->generator_url != NULL ? VG_OK : VG_ENOMEM;
    }
    if (rc != VG_OK)
        vg_ng_alert_free(a);
    return rc;
}

int vg_ng_dup_alert(struct vg_notice_alert *a, const struct vg_notice_alert *from)
{
    struct vg_alert_msg m;

    memset(&m, 0, sizeof(m));
    m.labels = from->labels;
    m.n_labels = from->n_labels;
    m.annotations = from->annotations;
    m.n_annotations = from->n_annotations;
    m.starts_at_ns = from->starts_at_ns;
    m.ends_at_ns = from->ends_at_ns;
    m.value = from->value;
    m.generator_url = from->generator_url;
    return vg_ng_copy_alert(a, &m, from->fp);
}

uint64_t vg_ng_fingerprint(const struct vg_alert_msg *m)
{
    uint64_t h = VG_FNV1A_INIT;
    size_t i;

    for (i = 0; i < m->n_labels; i++) {
        const char *k = m->labels[i].name != NULL ? m->labels[i].name : "";
        const char *v = m->labels[i].value != NULL ? m->labels[i].value : "";

        h = vg_fnv1a_more(h, k, strlen(k) + 1);
        h = vg_fnv1a_more(h, v, strlen(v) + 1);
    }
    return h;
}

/* ------------------------------------------------------------------------
 * Groups.
 */

/* The grouping of alert m: its rule's, else the section's. */
struct ng_how {
    const char *const *by;
    size_t n_by;
    int64_t wait_ms, interval_ms, repeat_ms;
    bool send_resolved;
};

static void ng_how(const struct vg_notifier_set *ns, const struct vg_alert_msg *m, struct ng_how *h)
{
    const struct vg_notify_defaults *d = &ns->def;

    h->by = m->group_by != NULL ? m->group_by : (const char *const *)d->group_by.v;
    h->n_by = m->group_by != NULL ? m->n_group_by : d->group_by.n;
    h->wait_ms = m->group_wait_ms >= 0 ? m->group_wait_ms : d->group_wait_ms;
    h->interval_ms = m->group_interval_ms >= 0 ? m->group_interval_ms : d->group_interval_ms;
    h->repeat_ms = m->repeat_interval_ms >= 0 ? m->repeat_interval_ms : d->repeat_interval_ms;
    h->send_resolved = m->send_resolved >= 0 ? m->send_resolved != 0 : d->send_resolved;
}

/* True when group_by is "..." (every label, as in Alertmanager). */
static bool ng_by_all(const struct ng_how *h)
{
    return h->n_by == 1 && strcmp(h->by[0], "...") == 0;
}

static const char *ng_value(const struct vg_alert_msg *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->n_labels; i++)
        if (strcmp(m->labels[i].name, name) == 0)
            return m->labels[i].value != NULL ? m->labels[i].value : "";
    return "";
}

/* Appends "\x1fNAME=VALUE" to a group key. */
static int ng_key_label(struct vg_buf *b, const char *name, const char *value)
{
    int rc = vg_buf_putc(b, '\x1f');

    if (rc == VG_OK)
        rc = vg_buf_puts(b, name);
    if (rc == VG_OK)
        rc = vg_buf_putc(b, '=');
    return rc == VG_OK ? vg_buf_puts(b, value) : rc;
}

/* The key of m's group for notifier idx, in ns->scratch. */
static int ng_key(struct vg_notifier_set *ns, size_t idx, const struct vg_alert_msg *m,
                  const struct ng_how *h)
{
    struct vg_buf *b = &ns->scratch;
    size_t i;
    int rc;

    vg_buf_reset(b);
    rc = vg_buf_printf(b, "%zu\x1f%lld,%lld,%lld,%d", idx, (long long)h->wait_ms,
                       (long long)h->interval_ms, (long long)h->repeat_ms, h->send_resolved);
    for (i = 0; rc == VG_OK && ng_by_all(h) && i < m->n_labels; i++)
        rc = ng_key_label(b, m->labels[i].name, ng_value(m, m->labels[i].name));
    for (i = 0; rc == VG_OK && !ng_by_all(h) && i < h->n_by; i++)
        rc = ng_key_label(b, h->by[i], ng_value(m, h->by[i]));
    if (rc == VG_OK)
        rc = vg_buf_putc(b, '\0');
    return rc;
}

static uint64_t ng_group_hash(const void *set, size_t i)
{
    return ((const struct vg_notifier_set *)set)->groups[i]->hash;
}

static bool ng_group_eq(const void *set, size_t i, const void *key)
{
    return strcmp(((const struct vg_notifier_set *)set)->groups[i]->key, key) == 0;
}

struct ng_group *vg_ng_find(struct vg_notifier_set *ns, const char *key, uint64_t hash)
{
    size_t i =
        vg_ng_index_find(&ns->index, ns->n_groups, ng_group_hash, ng_group_eq, ns, hash, key);

    return i != SIZE_MAX ? ns->groups[i] : NULL;
}

static void ng_group_free(struct ng_group *g)
{
    size_t i;

    for (i = 0; i < g->n_alerts; i++)
        vg_ng_alert_free(&g->alerts[i].a);
    free(g->alerts);
    free(g->was);
    vg_ng_index_free(&g->index);
    ng_labels_free(g->labels, g->n_labels);
    free(g->key);
    free(g);
}

/* The group labels of m: the group_by ones present, or all for "...". */
static int ng_group_labels(struct ng_group *g, const struct vg_alert_msg *m, const struct ng_how *h)
{
    struct vg_label tmp[64];
    size_t i, n = 0;

    if (ng_by_all(h))
        return ng_labels_copy(&g->labels, m->labels, g->n_labels = m->n_labels);
    for (i = 0; i < h->n_by && n < VG_ARRAY_LEN(tmp); i++) {
        tmp[n].name = h->by[i];
        tmp[n].value = ng_value(m, h->by[i]);
        n += tmp[n].value[0] != '\0' ? 1 : 0;
    }
    g->n_labels = n;
    return ng_labels_copy(&g->labels, tmp, n);
}

static struct ng_group *ng_create(struct vg_notifier_set *ns, size_t idx,
                                  const struct vg_alert_msg *m, const struct ng_how *h,
                                  uint64_t hash, int64_t now_ns)
{
    struct ng_group *g = vg_calloc(1, sizeof(*g));
    void *v = ns->groups;

    if (g == NULL)
        return NULL;
    g->notifier = idx;
    g->hash = hash;
    g->key = vg_strdup(ns->scratch.data);
    g->wait_ns = vg_ms_to_ns_sat(h->wait_ms);
    g->interval_ns = vg_ms_to_ns_sat(h->interval_ms);
    g->repeat_ns = vg_ms_to_ns_sat(h->repeat_ms);
    g->send_resolved = h->send_resolved;
    g->next_flush_ns = vg_add_sat(now_ns, g->wait_ns);
    if (g->key == NULL || ng_group_labels(g, m, h) != VG_OK ||
        vg_grow(&v, &ns->cap_groups, ns->n_groups + 1, sizeof(*ns->groups)) != VG_OK) {
        ng_group_free(g);
        return NULL;
    }
    ns->groups = v;
    ns->groups[ns->n_groups] = g;
    vg_ng_index_added(&ns->index, ns->n_groups++, hash);
    vg_ns_restore(ns, g, now_ns);
    return g;
}

static uint64_t ng_alert_hash(const void *set, size_t i)
{
    return ((const struct ng_group *)set)->alerts[i].a.fp;
}

static struct ng_alert *ng_alert_find(struct ng_group *g, uint64_t fp)
{
    size_t i = vg_ng_index_find(&g->index, g->n_alerts, ng_alert_hash, NULL, g, fp, NULL);

    return i != SIZE_MAX ? &g->alerts[i] : NULL;
}

/* True when our copy a still says what m says but for its times and
 * value (the labels are the same: same fingerprint). */
static bool ng_same_text(const struct vg_notice_alert *a, const struct vg_alert_msg *m)
{
    size_t i;

    if (a->n_annotations != m->n_annotations ||
        (a->generator_url == NULL) != (m->generator_url == NULL) ||
        (a->generator_url != NULL && strcmp(a->generator_url, m->generator_url) != 0))
        return false;
    for (i = 0; i < a->n_annotations; i++)
        if (m->annotations[i].name == NULL || m->annotations[i].value == NULL ||
            strcmp(a->annotations[i].name, m->annotations[i].name) != 0 ||
            strcmp(a->annotations[i].value, m->annotations[i].value) != 0)
            return false;
    return true;
}

/* Our copy of m in al: copied again only when its text changed, so that
 * a put of unchanged alerts allocates nothing. */
static int ng_update(struct ng_alert *al, const struct vg_alert_msg *m, uint64_t fp)
{
    struct vg_notice_alert copy;
    int rc;

    if (al->a.labels != NULL && ng_same_text(&al->a, m)) {
        al->a.starts_at_ns = m->starts_at_ns;
        al->a.ends_at_ns = m->ends_at_ns;
        al->a.value = m->value;
        return VG_OK;
    }
    rc = vg_ng_copy_alert(&copy, m, fp);
    if (rc != VG_OK)
        return rc;
    vg_ng_alert_free(&al->a);
    al->a = copy;
    return VG_OK;
}

/* Takes m (fingerprint fp) into group g: new, updated, resolved or firing again. */
static int ng_take(struct vg_notifier_set *ns, struct ng_group *g, const struct vg_alert_msg *m,
                   uint64_t fp)
{
    struct ng_alert *al = ng_alert_find(g, fp);
    void *v = g->alerts;
    int rc;

    if (al == NULL && m->ends_at_ns != 0 && !vg_ns_was(g, fp, m->starts_at_ns))
        return VG_OK; /* resolved before this group ever saw it fire */
    if (al == NULL) {
        rc = vg_grow(&v, &g->cap_alerts, g->n_alerts + 1, sizeof(*g->alerts));
        if (rc != VG_OK)
            return rc;
        g->alerts = v;
        al = &g->alerts[g->n_alerts];
        memset(al, 0, sizeof(*al));
        rc = ng_update(al, m, fp);
        if (rc != VG_OK)
            return rc;
        al->notified = vg_ns_was(g, fp, m->starts_at_ns); /* told before a restart */
        vg_ng_index_added(&g->index, g->n_alerts++, fp);
    } else {
        if (!al->firing && m->ends_at_ns == 0)
            al->notified = false; /* fires again: new to the group */
        rc = ng_update(al, m, fp);
        if (rc != VG_OK)
            return rc;
    }
    al->firing = m->ends_at_ns == 0;
    al->stamp = ns->stamp;
    return VG_OK;
}

static int ng_ingest_one(struct vg_notifier_set *ns, size_t idx, const struct vg_alert_msg *m,
                         uint64_t fp, int64_t now_ns)
{
    struct ng_how h;
    struct ng_group *g;
    uint64_t hash;
    int rc;

    ng_how(ns, m, &h);
    rc = ng_key(ns, idx, m, &h);
    if (rc != VG_OK)
        return rc;
    hash = vg_hash_bytes(ns->scratch.data, ns->scratch.len);
    g = vg_ng_find(ns, ns->scratch.data, hash);
    if (g == NULL && m->ends_at_ns != 0 && !vg_ns_restorable(ns, ns->scratch.data, hash, now_ns))
        return VG_OK; /* resolved, and no group ever told of it */
    if (g == NULL)
        g = ng_create(ns, idx, m, &h, hash, now_ns);
    if (g == NULL)
        return VG_ENOMEM;
    return ng_take(ns, g, m, fp);
}

static size_t ng_notifier_index(const struct vg_notifier_set *ns, const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < ns->n_nf; i++)
        if (strcmp(ns->nf[i].n.name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* Firing alerts that this put did not name resolved now. */
static void ng_resolve_missing(struct vg_notifier_set *ns, int64_t now_ns)
{
    size_t i, j;

    for (i = 0; i < ns->n_groups; i++)
        for (j = 0; j < ns->groups[i]->n_alerts; j++) {
            struct ng_alert *al = &ns->groups[i]->alerts[j];

            if (al->firing && al->stamp != ns->stamp) {
                al->firing = false;
                al->a.ends_at_ns = now_ns;
            }
        }
}

int vg_ng_ingest(struct vg_notifier_set *ns, const struct vg_alert_msg *alerts, size_t n,
                 int64_t now_ns)
{
    size_t i, j, idx;
    int rc = VG_OK, r;

    ns->stamp++;
    for (i = 0; i < n; i++) {
        uint64_t fp = vg_ng_fingerprint(&alerts[i]);

        for (j = 0; j < alerts[i].n_notify; j++) {
            idx = ng_notifier_index(ns, alerts[i].notify[j]);
            if (idx == SIZE_MAX || !ns->nf[idx].n.ops->grouped)
                continue;
            r = ng_ingest_one(ns, idx, &alerts[i], fp, now_ns);
            rc = rc == VG_OK ? r : rc;
        }
    }
    ng_resolve_missing(ns, now_ns);
    for (idx = 0; idx < ns->n_nf; idx++) {
        if (ns->nf[idx].n.ops->grouped)
            continue;
        r = vg_ng_current(ns, idx, alerts, n, now_ns);
        rc = rc == VG_OK ? r : rc;
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Flushing: the dedup stage.
 */

/* What a look at group g makes: a notice kind, or -1 for none. */
static int ng_decide(const struct ng_group *g, int64_t now_ns, size_t *n_firing, size_t *n_resolved)
{
    size_t i, nf = 0, nr = 0;
    bool fresh = false;

    for (i = 0; i < g->n_alerts; i++) {
        nf += g->alerts[i].firing ? 1 : 0;
        nr += g->alerts[i].firing ? 0 : 1;
        fresh = fresh || (g->alerts[i].firing && !g->alerts[i].notified);
    }
    *n_firing = nf;
    *n_resolved = nr;
    if (!g->notified_once)
        return nf > 0 ? VG_NOTICE_FIRING : -1;
    if (fresh)
        return VG_NOTICE_FIRING;
    if (nf == 0)
        return g->n_last_firing > 0 ? VG_NOTICE_RESOLVED : -1;
    if (g->send_resolved && nr > 0)
        return VG_NOTICE_FIRING;
    if (now_ns - g->last_ns >= g->repeat_ns)
        return VG_NOTICE_REPEAT;
    return -1;
}

/* The notice of group g: its firing alerts, then its resolved ones. */
static struct vg_notice *ng_notice(const struct ng_group *g, int kind, size_t nf, size_t nr,
                                   int64_t now_ns)
{
    struct vg_notice *n = vg_calloc(1, sizeof(*n));
    size_t i, k = 0, pass;

    if (n == NULL)
        return NULL;
    n->kind = (enum vg_notice_kind)kind;
    n->made_ns = now_ns;
    n->n_firing = nf;
    n->n_group_labels = g->n_labels;
    n->alerts = vg_calloc(nf + nr + 1, sizeof(*n->alerts));
    if (n->alerts == NULL || ng_labels_copy(&n->group_labels, g->labels, g->n_labels) != VG_OK)
        goto fail;
    for (pass = 0; pass < 2; pass++)
        for (i = 0; i < g->n_alerts; i++) {
            if (g->alerts[i].firing != (pass == 0))
                continue;
            if (vg_ng_dup_alert(&n->alerts[k], &g->alerts[i].a) != VG_OK)
                goto fail;
            n->n_alerts = ++k;
        }
    return n;
fail:
    vg_notice_free(n);
    return NULL;
}

/* After a look: the firing set is what was notified; resolved alerts go. */
static void ng_after(struct ng_group *g, size_t nf, int64_t now_ns)
{
    size_t i, k = 0;

    for (i = 0; i < g->n_alerts; i++) {
        if (!g->alerts[i].firing) {
            vg_ng_alert_free(&g->alerts[i].a);
            continue;
        }
        g->alerts[i].notified = true;
        g->alerts[k++] = g->alerts[i];
    }
    g->n_alerts = k;
    g->index.stale = true;
    g->notified_once = true;
    g->n_last_firing = nf;
    g->last_ns = now_ns;
}

/* Looks at group g; returns false when it is to go (nothing left). */
static bool ng_flush(struct vg_notifier_set *ns, struct ng_group *g, int64_t now_ns)
{
    size_t nf, nr;
    int kind = ng_decide(g, now_ns, &nf, &nr);
    struct vg_notice *n;

    g->next_flush_ns = vg_add_sat(now_ns, g->interval_ns);
    free(g->was); /* the restored set served its first look */
    g->was = NULL;
    g->n_was = 0;
    if (kind < 0) {
        size_t i, k = 0;

        for (i = 0; i < g->n_alerts; i++) /* resolved ones nobody heard of */
            if (g->alerts[i].firing)
                g->alerts[k++] = g->alerts[i];
            else
                vg_ng_alert_free(&g->alerts[i].a);
        g->n_alerts = k;
        g->index.stale = true;
        return k > 0 && g->notified_once;
    }
    if (kind != VG_NOTICE_REPEAT && nr > 0 && !g->send_resolved && nf == 0) {
        ng_after(g, nf, now_ns); /* all resolved, nothing to say */
        vg_ns_forget(ns, g->key);
        return false;
    }
    n = ng_notice(g, kind, nf, g->send_resolved ? nr : 0, now_ns);
    if (n == NULL) {
        g->next_flush_ns = vg_add_sat(now_ns, VG_NS_PER_SEC); /* try again soon */
        return true;
    }
    vg_ob_add(ns, g->notifier, n, kind != VG_NOTICE_REPEAT, g);
    ng_after(g, nf, now_ns);
    return g->n_alerts > 0;
}

void vg_ng_flush_due(struct vg_notifier_set *ns, int64_t now_ns, bool all)
{
    size_t i = 0;

    while (i < ns->n_groups) {
        struct ng_group *g = ns->groups[i];

        if ((!all && g->next_flush_ns > now_ns) || (all && g->notified_once)) {
            i++;
            continue;
        }
        if (ng_flush(ns, g, now_ns)) {
            i++;
            continue;
        }
        ng_group_free(g);
        ns->groups[i] = ns->groups[--ns->n_groups];
        ns->index.stale = true;
    }
}

int64_t vg_ng_next_due(const struct vg_notifier_set *ns)
{
    int64_t next = INT64_MAX;
    size_t i;

    for (i = 0; i < ns->n_groups; i++)
        if (ns->groups[i]->next_flush_ns < next)
            next = ns->groups[i]->next_flush_ns;
    return next;
}

void vg_ng_free_all(struct vg_notifier_set *ns)
{
    size_t i, j;

    for (i = 0; i < ns->n_groups; i++)
        ng_group_free(ns->groups[i]);
    free(ns->groups);
    vg_ng_index_free(&ns->index);
    ns->groups = NULL;
    ns->n_groups = ns->cap_groups = 0;
    for (i = 0; i < ns->n_nf; i++) {
        for (j = 0; j < ns->nf[i].n_last; j++)
            vg_ng_alert_free(&ns->nf[i].last[j]);
        free(ns->nf[i].last);
        vg_ng_index_free(&ns->nf[i].last_index);
        ns->nf[i].last = NULL;
        ns->nf[i].n_last = 0;
    }
}

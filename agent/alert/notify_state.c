/*
 * notify_state.c - what the notifier set remembers across restarts, in
 * <state_dir>/checkpoints/notify (read with the checkpoint store's reader,
 * written whole and atomically with its writer), so that a restart neither
 * pages again for alerts already told nor forgets their resolved notice.
 *
 * Per group: the last notice of it that got a final answer (delivered,
 * refused for good, or given up past max_age): when it was made and its
 * firing alerts (fingerprint and start). A notice still in the outbox at a
 * crash is not remembered, so the restart makes it again. A resolved
 * notice forgets the group. A group made after a restart for a key in
 * the file starts as told: the same firing alerts make no notice (a repeat
 * comes repeat_interval after the saved one), one of them handed over
 * resolved makes the resolved notice, a new one is told as usual. A key
 * whose group is not seen for max(2 x repeat_interval, 24h) is forgotten.
 *
 * Format: a header line, then one group a line, fields split by tabs
 * (escaped as the checkpoint store does):
 *   <notifier> <group key> <last_ns> <seen_ns> <keep_ns> [<fp hex>:<starts_at_ns>]...
 * The file is written by the grouping thread (or vg_notifier_step, or the
 * stop), off the set's lock; everything else here runs under it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "checkpoint.h"
#include "notify_internal.h"

#define NSS_FILE     "notify"
#define NSS_HEADER   "# vigil notify v1\n"
#define NSS_MAX_FILE (UINT64_C(64) << 20)
#define NSS_KEEP_NS  (24 * 3600 * VG_NS_PER_SEC)
#define NSS_RETRY_NS (10 * VG_NS_PER_SEC)
#define NSS_FIELDS   5 /* before the alerts */
#define NSS_SEP      '\x1f'

static uint64_t nss_hash(const char *key)
{
    return vg_hash_bytes(key, strlen(key) + 1); /* as the group's: with its NUL */
}

static struct ns_saved *nss_find(struct vg_notifier_set *ns, const char *key, uint64_t hash)
{
    size_t i;

    for (i = 0; i < ns->n_saved; i++)
        if (ns->saved[i].hash == hash && strcmp(ns->saved[i].key, key) == 0)
            return &ns->saved[i];
    return NULL;
}

static void nss_remove(struct vg_notifier_set *ns, struct ns_saved *s)
{
    free(s->key);
    free(s->fired);
    *s = ns->saved[--ns->n_saved];
}

/* A new entry for key (copied), or NULL when out of memory. */
static struct ns_saved *nss_add(struct vg_notifier_set *ns, const char *key, uint64_t hash)
{
    void *v = ns->saved;
    struct ns_saved *s;

    if (vg_grow(&v, &ns->cap_saved, ns->n_saved + 1, sizeof(*ns->saved)) != VG_OK)
        return NULL;
    ns->saved = v;
    s = &ns->saved[ns->n_saved];
    memset(s, 0, sizeof(*s));
    s->key = vg_strdup(key);
    if (s->key == NULL)
        return NULL;
    s->hash = hash;
    ns->n_saved++;
    return s;
}

static int nss_cmp(const void *a, const void *b)
{
    const struct ns_fired *x = a, *y = b;

    if (x->fp != y->fp)
        return x->fp < y->fp ? -1 : 1;
    return x->starts_at_ns < y->starts_at_ns ? -1 : x->starts_at_ns > y->starts_at_ns ? 1 : 0;
}

void vg_ns_delivered(struct vg_notifier_set *ns, const char *key, const struct vg_notice *n,
                     int64_t now_ns)
{
    uint64_t hash = nss_hash(key);
    struct ns_saved *s = nss_find(ns, key, hash);
    struct ns_fired *fired;
    struct ng_group *g;
    size_t i;

    if (ns->state_path == NULL)
        return; /* nothing kept across restarts */
    ns->state_dirty = true;
    pthread_cond_broadcast(&ns->cv); /* the grouping thread writes it */
    if (n->n_firing == 0) {
        if (s != NULL)
            nss_remove(ns, s);
        return;
    }
    fired = vg_calloc(n->n_firing, sizeof(*fired));
    if (s == NULL && fired != NULL)
        s = nss_add(ns, key, hash);
    if (s == NULL || fired == NULL) {
        free(fired); /* not remembered: a restart tells it again */
        return;
    }
    for (i = 0; i < n->n_firing; i++) {
        fired[i].fp = n->alerts[i].fp;
        fired[i].starts_at_ns = n->alerts[i].starts_at_ns;
    }
    qsort(fired, n->n_firing, sizeof(*fired), nss_cmp);
    free(s->fired);
    s->fired = fired;
    s->n_fired = n->n_firing;
    s->last_ns = n->made_ns;
    s->seen_ns = now_ns;
    s->restored = false;
    g = vg_ng_find(ns, key, hash);
    s->keep_ns = g != NULL && g->repeat_ns > NSS_KEEP_NS / 2
                     ? vg_add_sat(g->repeat_ns, g->repeat_ns)
                     : NSS_KEEP_NS;
}

void vg_ns_forget(struct vg_notifier_set *ns, const char *key)
{
    struct ns_saved *s = nss_find(ns, key, nss_hash(key));

    if (s != NULL) {
        nss_remove(ns, s);
        ns->state_dirty = true;
    }
}

static struct ns_saved *nss_restorable(struct vg_notifier_set *ns, const char *key, uint64_t hash,
                                       int64_t now_ns)
{
    struct ns_saved *s = ns->state_path != NULL ? nss_find(ns, key, hash) : NULL;

    if (s == NULL || !s->restored || now_ns - s->seen_ns > s->keep_ns)
        return NULL;
    return s;
}

bool vg_ns_restorable(struct vg_notifier_set *ns, const char *key, uint64_t hash, int64_t now_ns)
{
    return nss_restorable(ns, key, hash, now_ns) != NULL;
}

void vg_ns_restore(struct vg_notifier_set *ns, struct ng_group *g, int64_t now_ns)
{
    struct ns_saved *s = nss_restorable(ns, g->key, g->hash, now_ns);
    int64_t next;

    if (s == NULL)
        return;
    g->was = vg_calloc(s->n_fired + 1, sizeof(*g->was));
    if (g->was == NULL)
        return; /* told again: better twice than never */
    memcpy(g->was, s->fired, s->n_fired * sizeof(*g->was));
    g->n_was = s->n_fired;
    g->notified_once = true;
    g->last_ns = s->last_ns;
    g->n_last_firing = s->n_fired;
    /* as a group that lived on: its next look a group_interval after its
     * last notice, but not before the restored alerts are all back */
    next = vg_add_sat(s->last_ns, g->interval_ns);
    g->next_flush_ns = next > g->next_flush_ns ? next : g->next_flush_ns;
    s->restored = false;
    s->seen_ns = now_ns;
}

bool vg_ns_was(const struct ng_group *g, uint64_t fp, int64_t starts_at_ns)
{
    struct ns_fired key = {fp, starts_at_ns};

    return g->n_was > 0 && bsearch(&key, g->was, g->n_was, sizeof(*g->was), nss_cmp) != NULL;
}

/* ------------------------------------------------------------------------
 * The file.
 */

static int nss_line(const struct vg_notifier_set *ns, const struct ns_saved *s, struct vg_buf *b)
{
    const char *rest = strchr(s->key, NSS_SEP);
    size_t idx = strtoul(s->key, NULL, 10), i;
    int rc;

    if (rest == NULL || idx >= ns->n_nf)
        return VG_OK; /* not a key of ours: never made */
    rc = vg_checkpoint_escape(b, ns->nf[idx].n.name);
    if (rc == VG_OK)
        rc = vg_buf_putc(b, '\t');
    if (rc == VG_OK)
        rc = vg_checkpoint_escape(b, rest + 1);
    if (rc == VG_OK)
        rc = vg_buf_printf(b, "\t%lld\t%lld\t%lld", (long long)s->last_ns, (long long)s->seen_ns,
                           (long long)s->keep_ns);
    for (i = 0; rc == VG_OK && i < s->n_fired; i++)
        rc = vg_buf_printf(b, "\t%016" PRIx64 ":%lld", s->fired[i].fp,
                           (long long)s->fired[i].starts_at_ns);
    return rc == VG_OK ? vg_buf_putc(b, '\n') : rc;
}

/* The file's text; groups alive are seen now, those unseen too long go. */
int vg_ns_render(struct vg_notifier_set *ns, struct vg_buf *b, int64_t now_ns)
{
    size_t i = 0;
    int rc = vg_buf_puts(b, NSS_HEADER);

    while (rc == VG_OK && i < ns->n_saved) {
        struct ns_saved *s = &ns->saved[i];

        if (vg_ng_find(ns, s->key, s->hash) != NULL)
            s->seen_ns = now_ns;
        if (now_ns - s->seen_ns > s->keep_ns) {
            nss_remove(ns, s);
            continue;
        }
        rc = nss_line(ns, s, b);
        i++;
    }
    return rc;
}

void vg_ns_save(struct vg_notifier_set *ns, int64_t now_ns)
{
    struct vg_buf b;
    int rc, e = 0;

    if (ns->state_path == NULL || !ns->state_dirty || now_ns < ns->state_retry_ns)
        return;
    vg_buf_init(&b);
    rc = vg_ns_render(ns, &b, now_ns);
    ns->state_dirty = false;
    pthread_mutex_unlock(&ns->mu); /* a put never waits on the disk */
    if (rc == VG_OK)
        rc = vg_checkpoint_write_atomic(ns->state_path, b.data, b.len);
    e = errno;
    pthread_mutex_lock(&ns->mu);
    vg_buf_free(&b);
    if (rc != VG_OK) {
        ns->state_dirty = true;
        ns->state_retry_ns = vg_add_sat(now_ns, NSS_RETRY_NS);
        vg_complain(&ns->state_complain, VG_LOG_ERROR, "notifier", "state",
                    "cannot write %s: %s; a restart may page again for alerts already told",
                    ns->state_path, rc == VG_ENOMEM ? "out of memory" : vg_errno_str(e));
        return;
    }
    ns->state_retry_ns = 0;
    vg_complain_clear(&ns->state_complain, "notifier", "state", "writing the notifier state");
}

/* One "<fp hex>:<starts_at>" field. */
static bool nss_fired(const char *f, struct ns_fired *out)
{
    char *end;
    unsigned long long fp;

    errno = 0;
    fp = strtoull(f, &end, 16);
    if (errno != 0 || end == f || *end != ':' || !vg_checkpoint_i64(end + 1, &out->starts_at_ns))
        return false;
    out->fp = (uint64_t)fp;
    return true;
}

static size_t nss_notifier(const struct vg_notifier_set *ns, const char *name)
{
    size_t i;

    for (i = 0; i < ns->n_nf; i++)
        if (strcmp(ns->nf[i].n.name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* The alerts of a line, from field p on, into s. */
static bool nss_restore_fired(struct ns_saved *s, char *p)
{
    size_t n = 1;
    const char *q;

    for (q = p; *q != '\0'; q++)
        n += *q == '\t' ? 1 : 0;
    s->fired = vg_calloc(n, sizeof(*s->fired));
    if (s->fired == NULL)
        return true; /* no memory: the group is told again */
    while (p != NULL) {
        char *f = p;

        p = vg_checkpoint_field(p);
        if (!nss_fired(f, &s->fired[s->n_fired++]))
            return false;
    }
    qsort(s->fired, s->n_fired, sizeof(*s->fired), nss_cmp);
    return true;
}

/* Restores one line; false when it is damaged. */
static bool nss_restore(struct vg_notifier_set *ns, char *line)
{
    char *f[NSS_FIELDS], *next = line;
    int64_t t[3];
    struct ns_saved *s;
    size_t i, idx;
    bool ok;

    for (i = 0; i < NSS_FIELDS; i++) {
        if (next == NULL)
            return false;
        f[i] = next;
        next = vg_checkpoint_field(next);
    }
    for (i = 0; i < 3; i++)
        if (!vg_checkpoint_i64(f[2 + i], &t[i]))
            return false;
    if (next == NULL || t[2] <= 0)
        return false; /* a group told is told of at least one alert */
    if (t[0] < 0 || t[1] < 0)
        return false; /* times are UNIX ns: now - seen must not overflow */
    idx = nss_notifier(ns, f[0]);
    if (idx == SIZE_MAX || !ns->nf[idx].n.ops->grouped)
        return true; /* a notifier no longer configured: forgotten */
    vg_buf_reset(&ns->scratch);
    if (vg_buf_printf(&ns->scratch, "%zu%c%s", idx, NSS_SEP, f[1]) != VG_OK)
        return true;
    s = nss_find(ns, ns->scratch.data, nss_hash(ns->scratch.data));
    if (s != NULL)
        nss_remove(ns, s);
    s = nss_add(ns, ns->scratch.data, nss_hash(ns->scratch.data));
    if (s == NULL)
        return true;
    s->last_ns = t[0];
    s->seen_ns = t[1];
    s->keep_ns = t[2];
    s->restored = true;
    ok = nss_restore_fired(s, next);
    if (ok && s->fired != NULL)
        return true;
    nss_remove(ns, s);
    return ok;
}

static bool nss_restore_cb(void *arg, char *line)
{
    return nss_restore(arg, line);
}

int vg_ns_parse(struct vg_notifier_set *ns, const char *text, size_t len)
{
    return vg_checkpoint_lines(text, len, nss_restore_cb, ns, "notifier", "state",
                               "checkpoints/" NSS_FILE);
}

static int nss_parse(void *arg, const char *text, size_t len)
{
    return vg_ns_parse(arg, text, len);
}

int vg_notifier_open_state(struct vg_notifier_set *ns, const char *state_dir, struct vg_error *err)
{
    char *path = NULL;
    int rc;

    pthread_mutex_lock(&ns->mu);
    rc = vg_checkpoint_load_file(state_dir, NSS_FILE, NSS_MAX_FILE, &path, nss_parse, ns, err);
    if (rc != VG_OK) {
        free(path);
        path = NULL;
    }
    free(ns->state_path);
    ns->state_path = path;
    pthread_mutex_unlock(&ns->mu);
    return rc;
}

void vg_ns_free(struct vg_notifier_set *ns)
{
    while (ns->n_saved > 0)
        nss_remove(ns, &ns->saved[ns->n_saved - 1]);
    free(ns->saved);
    ns->saved = NULL;
    ns->cap_saved = 0;
    free(ns->state_path);
    ns->state_path = NULL;
}

/*
 * metrics_store.c - the metric store: series by owner, commit by mark and
 * sweep. Series and families are kept from one commit to the next, so a
 * collector that reports the same series every time costs no allocation.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "metrics_internal.h"

#define STORE_MIN_BUCKETS 256

/* The sweep generation no series carries: drops all of an owner's series. */
#define STORE_GEN_NONE UINT64_MAX

struct vg_metric_store *vg_store_create(void)
{
    struct vg_metric_store *st = vg_calloc(1, sizeof(*st));

    if (st == NULL)
        return NULL;
    st->sbuckets = vg_calloc(STORE_MIN_BUCKETS, sizeof(*st->sbuckets));
    st->fbuckets = vg_calloc(STORE_MIN_BUCKETS, sizeof(*st->fbuckets));
    if (st->sbuckets == NULL || st->fbuckets == NULL || pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st->sbuckets);
        free(st->fbuckets);
        free(st);
        return NULL;
    }
    st->n_sbuckets = STORE_MIN_BUCKETS;
    st->n_fbuckets = STORE_MIN_BUCKETS;
    vg_buf_init(&st->scratch);
    return st;
}

static void store_family_free(struct vg_store_family *f)
{
    size_t i;

    for (i = 0; i < VG_EXPO_NFORMATS; i++)
        vg_buf_free(&f->text[i]);
    free(f->series);
    free(f->help);
    free(f->name);
    free(f);
}

void vg_store_destroy(struct vg_metric_store *st)
{
    struct vg_store_owner *o, *onext;
    struct vg_store_series *s, *snext;
    size_t i;

    if (st == NULL)
        return;
    for (o = st->owners; o != NULL; o = onext) {
        onext = o->next;
        for (s = o->series; s != NULL; s = snext) {
            snext = s->onext;
            free(s);
        }
        free(o);
    }
    for (i = 0; i < st->n_families; i++)
        store_family_free(st->families[i]);
    free(st->families);
    free(st->sbuckets);
    free(st->fbuckets);
    vg_expo_teardown(st);
    vg_buf_free(&st->scratch);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* Doubles a chained table once it holds more entries than buckets; a
 * failed allocation keeps the old, longer chains. */
static void store_hash_grow(struct vg_store_hnode ***buckets, size_t *n_buckets, size_t count)
{
    struct vg_store_hnode **nb, *n, *next;
    size_t nn = *n_buckets * 2, i;

    if (count <= *n_buckets)
        return;
    nb = vg_calloc(nn, sizeof(*nb));
    if (nb == NULL)
        return;
    for (i = 0; i < *n_buckets; i++) {
        for (n = (*buckets)[i]; n != NULL; n = next) {
            next = n->next;
            n->next = nb[n->hash & (nn - 1)];
            nb[n->hash & (nn - 1)] = n;
        }
    }
    free(*buckets);
    *buckets = nb;
    *n_buckets = nn;
}

static void store_hash_unlink(struct vg_store_hnode **buckets, size_t n_buckets,
                              struct vg_store_hnode *node)
{
    struct vg_store_hnode **pp = &buckets[node->hash & (n_buckets - 1)];

    while (*pp != NULL && *pp != node)
        pp = &(*pp)->next;
    if (*pp != NULL)
        *pp = node->next;
}

static void store_hash_link(struct vg_store_hnode **buckets, size_t n_buckets,
                            struct vg_store_hnode *node)
{
    size_t i = node->hash & (n_buckets - 1);

    node->next = buckets[i];
    buckets[i] = node;
}

static struct vg_store_family *store_family_find(const struct vg_metric_store *st, const char *name,
                                                 uint64_t h)
{
    struct vg_store_hnode *n;

    for (n = st->fbuckets[h & (st->n_fbuckets - 1)]; n != NULL; n = n->next) {
        struct vg_store_family *f = (struct vg_store_family *)n;

        if (n->hash == h && strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

static void store_family_touch(struct vg_store_family *f, bool order)
{
    size_t i;

    for (i = 0; i < VG_EXPO_NFORMATS; i++)
        f->stale[i] = true;
    if (order)
        f->order_dirty = true;
}

/* Creates a family with no series yet; NULL on out of memory. */
static struct vg_store_family *store_family_create(struct vg_metric_store *st, const char *name,
                                                   uint64_t h, enum vg_metric_type type,
                                                   const char *help)
{
    struct vg_store_family *f = vg_calloc(1, sizeof(*f));
    size_t i;

    if (f == NULL)
        return NULL;
    f->name = vg_strdup(name);
    f->help = help != NULL ? vg_strdup(help) : NULL;
    if (f->name == NULL || (help != NULL && f->help == NULL))
        goto fail;
    if (st->n_families == st->cap_families) {
        size_t cap = st->cap_families ? st->cap_families * 2 : 64;
        struct vg_store_family **p = vg_realloc(st->families, cap * sizeof(*p));

        if (p == NULL)
            goto fail;
        st->families = p;
        st->cap_families = cap;
    }
    for (i = 0; i < VG_EXPO_NFORMATS; i++)
        vg_buf_init(&f->text[i]);
    f->node.hash = h;
    f->type = type;
    store_family_touch(f, true);
    f->index = st->n_families;
    st->families[st->n_families++] = f;
    st->families_dirty = true;
    store_hash_link(st->fbuckets, st->n_fbuckets, &f->node);
    store_hash_grow(&st->fbuckets, &st->n_fbuckets, st->n_families);
    return f;
fail:
    free(f->name);
    free(f->help);
    free(f);
    return NULL;
}

static void store_family_remove(struct vg_metric_store *st, struct vg_store_family *f)
{
    store_hash_unlink(st->fbuckets, st->n_fbuckets, &f->node);
    st->families[f->index] = st->families[--st->n_families];
    st->families[f->index]->index = f->index;
    st->families_dirty = true;
    store_family_free(f);
}

static bool store_family_sole_owner(const struct vg_store_family *f, const struct vg_store_owner *o)
{
    size_t i;

    for (i = 0; i < f->n_series; i++) {
        if (f->series[i]->owner != o)
            return false;
    }
    return true;
}

/*
 * The store's family for a staged one, created when new. Another type or
 * another help than the family has is refused (NULL, *rc = VG_EINVAL) unless
 * every series of the family is the committing owner's own: then the owner
 * simply changed its mind. Out of memory: NULL, *rc = VG_ENOMEM.
 */
static struct vg_store_family *store_resolve(struct vg_metric_store *st, struct vg_store_owner *o,
                                             const struct vg_samples *staged,
                                             const struct vg_staged_family *sf, int *rc)
{
    const char *name = staged->arena.data + sf->name_off;
    const char *help =
        sf->help_off != VG_METRICS_NO_HELP ? staged->arena.data + sf->help_off : NULL;
    struct vg_store_family *f = store_family_find(st, name, sf->hash);
    bool help_differs;
    char *copy;

    if (f == NULL) {
        f = store_family_create(st, name, sf->hash, sf->type, help);
        if (f == NULL)
            *rc = VG_ENOMEM;
        return f;
    }
    help_differs = help != NULL && (f->help == NULL || strcmp(f->help, help) != 0);
    if (f->type == sf->type && !help_differs)
        return f;
    if (f->type == sf->type && f->help == NULL) {
        /* a family that had no help yet takes the first one offered */
    } else if (!store_family_sole_owner(f, o)) {
        *rc = VG_EINVAL;
        return NULL;
    }
    if (help_differs) {
        copy = vg_strdup(help);
        if (copy == NULL) {
            *rc = VG_ENOMEM;
            return NULL;
        }
        free(f->help);
        f->help = copy;
    }
    f->type = sf->type;
    store_family_touch(f, true);
    return f;
}

static struct vg_store_series *store_series_find(const struct vg_metric_store *st, uint64_t h,
                                                 const char *key, size_t len)
{
    struct vg_store_hnode *n;

    for (n = st->sbuckets[h & (st->n_sbuckets - 1)]; n != NULL; n = n->next) {
        struct vg_store_series *s = (struct vg_store_series *)n;

        if (n->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
    return NULL;
}

/* Fills the offsets, the part rank and the bound (le or quantile) from the
 * key, so that sorting never parses numbers. */
static void store_series_index(struct vg_store_series *s)
{
    const char *p = s->key, *suffix, *name, *value;
    uint32_t i;

    p += strlen(p) + 1;
    suffix = p;
    s->suffix_off = (uint32_t)(suffix - s->key);
    p += strlen(p) + 1;
    s->labels_off = (uint32_t)(p - s->key);
    s->rank = 0;
    if (strcmp(suffix, "_sum") == 0)
        s->rank = 1;
    else if (strcmp(suffix, "_count") == 0)
        s->rank = 2;
    s->bound = 0;
    for (i = 0; i < s->n_labels; i++) {
        name = p;
        p += strlen(p) + 1;
        value = p;
        p += strlen(p) + 1;
        if ((strcmp(name, "le") == 0 && strcmp(suffix, "_bucket") == 0) ||
            (strcmp(name, "quantile") == 0 && suffix[0] == '\0'))
            s->bound = strtod(value, NULL);
    }
}

static int store_family_attach(struct vg_store_family *f, struct vg_store_series *s)
{
    if (f->n_series == f->cap_series) {
        size_t cap = f->cap_series ? f->cap_series * 2 : 8;
        struct vg_store_series **p = vg_realloc(f->series, cap * sizeof(*p));

        if (p == NULL)
            return VG_ENOMEM;
        f->series = p;
        f->cap_series = cap;
    }
    s->family = f;
    s->findex = f->n_series;
    f->series[f->n_series++] = s;
    store_family_touch(f, true);
    return VG_OK;
}

/* Adds the staged sample as a new series of owner o in family f. */
static int store_series_create(struct vg_metric_store *st, struct vg_store_owner *o,
                               struct vg_store_family *f, const struct vg_staged_sample *x,
                               const char *key, uint64_t gen)
{
    struct vg_store_series *s = vg_malloc(sizeof(*s) + x->key_len);

    if (s == NULL)
        return VG_ENOMEM;
    memcpy(s->key, key, x->key_len);
    s->key_len = x->key_len;
    s->n_labels = x->n_labels;
    s->node.hash = x->hash;
    s->value = x->value;
    s->gen = gen;
    s->owner = o;
    store_series_index(s);
    if (store_family_attach(f, s) != VG_OK) {
        free(s);
        return VG_ENOMEM;
    }
    s->onext = o->series;
    o->series = s;
    store_hash_link(st->sbuckets, st->n_sbuckets, &s->node);
    st->n_series++;
    store_hash_grow(&st->sbuckets, &st->n_sbuckets, st->n_series);
    return VG_OK;
}

/* Takes one staged sample into the store; a series another owner holds is
 * refused with VG_EINVAL (the first owner keeps it). */
static int store_upsert(struct vg_metric_store *st, struct vg_store_owner *o,
                        struct vg_store_family *f, const struct vg_samples *staged,
                        const struct vg_staged_sample *x, uint64_t gen, bool *changed)
{
    const char *key = staged->arena.data + x->key_off;
    struct vg_store_series *s = store_series_find(st, x->hash, key, x->key_len);

    if (s == NULL) {
        *changed = true;
        return store_series_create(st, o, f, x, key, gen);
    }
    if (s->owner != o)
        return VG_EINVAL;
    /* bitwise, so that NaN to NaN is no change and -0 to 0 is one */
    if (memcmp(&s->value, &x->value, sizeof(double)) != 0) {
        s->value = x->value;
        store_family_touch(f, false);
        *changed = true;
    }
    s->gen = gen;
    return VG_OK;
}

/* Removes a series from its family (and the family when it was the last). */
static void store_series_detach(struct vg_metric_store *st, struct vg_store_series *s)
{
    struct vg_store_family *f = s->family;

    store_hash_unlink(st->sbuckets, st->n_sbuckets, &s->node);
    st->n_series--;
    f->series[s->findex] = f->series[--f->n_series];
    f->series[s->findex]->findex = s->findex;
    store_family_touch(f, true);
    if (f->n_series == 0)
        store_family_remove(st, f);
}

/* Frees every series of o not emitted in generation gen. */
static bool store_sweep(struct vg_metric_store *st, struct vg_store_owner *o, uint64_t gen)
{
    struct vg_store_series **pp = &o->series, *s;
    bool changed = false;

    while (*pp != NULL) {
        s = *pp;
        if (s->gen == gen) {
            pp = &s->onext;
            continue;
        }
        *pp = s->onext;
        store_series_detach(st, s);
        free(s);
        changed = true;
    }
    return changed;
}

static struct vg_store_owner **store_owner_slot(struct vg_metric_store *st, const char *name)
{
    struct vg_store_owner **pp = &st->owners;

    while (*pp != NULL && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

static struct vg_store_owner *store_owner_get(struct vg_metric_store *st, const char *name)
{
    struct vg_store_owner **pp = store_owner_slot(st, name);
    size_t len = strlen(name) + 1;

    if (*pp != NULL)
        return *pp;
    *pp = vg_calloc(1, sizeof(**pp) + len);
    if (*pp != NULL)
        memcpy((*pp)->name, name, len);
    return *pp;
}

/* Takes the staged samples into the store; returns the first error met
 * (VG_EINVAL for a refused sample, VG_ENOMEM) after taking all it could. */
static int store_commit_locked(struct vg_metric_store *st, struct vg_store_owner *o,
                               struct vg_samples *staged, bool *changed)
{
    uint64_t gen = ++st->gen;
    int rc = VG_OK, r;
    size_t i;

    for (i = 0; i < staged->n_families; i++) {
        r = VG_OK;
        staged->families[i].resolved = store_resolve(st, o, staged, &staged->families[i], &r);
        if (r != VG_OK && rc == VG_OK)
            rc = r;
    }
    for (i = 0; i < staged->n_samples; i++) {
        const struct vg_staged_sample *x = &staged->samples[i];
        struct vg_store_family *f = staged->families[x->family].resolved;

        if (f == NULL)
            continue;
        r = store_upsert(st, o, f, staged, x, gen, changed);
        if (r != VG_OK && rc == VG_OK)
            rc = r;
    }
    /* a family created for samples that all failed has no series to keep it */
    for (i = 0; i < staged->n_families; i++) {
        struct vg_store_family *f = staged->families[i].resolved;

        if (f != NULL && f->n_series == 0)
            store_family_remove(st, f);
    }
    if (store_sweep(st, o, gen))
        *changed = true;
    return rc;
}

/*
 * Replaces every series of owner with the staged samples, under the lock,
 * and leaves the staging empty. A refused sample (VG_EINVAL) or a failed
 * allocation (VG_ENOMEM) does not stop the others from being taken.
 */
int vg_store_commit(struct vg_metric_store *st, const char *owner, struct vg_samples *staged)
{
    struct vg_store_owner *o;
    bool changed = false;
    int rc;

    if (st == NULL || owner == NULL || staged == NULL)
        return VG_EINVAL;
    pthread_mutex_lock(&st->lock);
    o = store_owner_get(st, owner);
    if (o == NULL) {
        rc = VG_ENOMEM;
        goto out;
    }
    rc = store_commit_locked(st, o, staged, &changed);
    if (changed)
        vg_expo_invalidate(st);
out:
    pthread_mutex_unlock(&st->lock);
    vg_samples_reset(staged);
    return rc;
}

void vg_store_drop_owner(struct vg_metric_store *st, const char *owner)
{
    struct vg_store_owner **pp, *o;

    if (st == NULL || owner == NULL)
        return;
    pthread_mutex_lock(&st->lock);
    pp = store_owner_slot(st, owner);
    o = *pp;
    if (o != NULL) {
        if (store_sweep(st, o, STORE_GEN_NONE))
            vg_expo_invalidate(st);
        *pp = o->next;
        free(o);
    }
    pthread_mutex_unlock(&st->lock);
}

size_t vg_store_series_count(struct vg_metric_store *st)
{
    size_t n;

    if (st == NULL)
        return 0;
    pthread_mutex_lock(&st->lock);
    n = st->n_series;
    pthread_mutex_unlock(&st->lock);
    return n;
}

/* Calls fn for each series of family f whose suffix is suffix. */
static void store_family_walk(const struct vg_store_family *f, const char *suffix,
                              vg_store_series_fn fn, void *arg)
{
    size_t i;

    for (i = 0; i < f->n_series; i++) {
        const struct vg_store_series *s = f->series[i];

        if (strcmp(s->key + s->suffix_off, suffix) != 0)
            continue;
        fn(arg, s->key + s->labels_off, s->key_len - s->labels_off, s->n_labels, s->value);
    }
}

size_t vg_store_labels_split(const char *labels, size_t len, struct vg_label *out, size_t max)
{
    const char *p = labels, *end = labels + len;
    size_t n = 0;

    while (p < end && n < max) {
        out[n].name = p;
        p += strlen(p) + 1;
        out[n].value = p;
        p += strlen(p) + 1;
        n++;
    }
    return n;
}

/* The family a series name belongs to: the name itself, else the name
 * without a histogram or summary part's suffix (then *suffix is that). */
static const struct vg_store_family *store_family_of(const struct vg_metric_store *st,
                                                     const char *name, const char **suffix)
{
    static const char *const parts[] = {"_bucket", "_sum", "_count"};
    const struct vg_store_family *f = store_family_find(st, name, vg_fnv1a(name, strlen(name)));
    char base[512];
    size_t i, n = strlen(name), k;

    *suffix = "";
    if (f != NULL || n >= sizeof(base))
        return f;
    for (i = 0; i < VG_ARRAY_LEN(parts); i++) {
        k = strlen(parts[i]);
        if (n <= k || strcmp(name + n - k, parts[i]) != 0)
            continue;
        memcpy(base, name, n - k);
        base[n - k] = '\0';
        *suffix = parts[i];
        return store_family_find(st, base, vg_fnv1a(base, n - k));
    }
    return NULL;
}

int vg_store_each_series(struct vg_metric_store *st, const char *name, vg_store_series_fn fn,
                         void *arg)
{
    const struct vg_store_family *f;
    const char *suffix;

    if (st == NULL || name == NULL || fn == NULL)
        return VG_EINVAL;
    pthread_mutex_lock(&st->lock);
    f = store_family_of(st, name, &suffix);
    if (f != NULL)
        store_family_walk(f, suffix, fn, arg);
    pthread_mutex_unlock(&st->lock);
    return VG_OK;
}

/*
 * cgroup_spec.c - the limits of each cgroup between collections
 * (cgroup_spec.h): a dense array of entries and an open-addressing index
 * of them by the hash of the cgroup's path, rebuilt when entries are swept
 * or the index grows. Steady state allocates nothing: a path is copied
 * once, when its cgroup is new.
 */
#include <stdlib.h>
#include <string.h>

#include "cgroup_spec.h"
#include "vigil.h"

struct cgroup_spec_entry {
    uint64_t hash;
    uint64_t seen; /* the collection that got it last */
    char *rel;
    struct cgroup_spec spec;
};

struct cgroup_spec_cache {
    struct cgroup_spec_entry *e;
    size_t n, cap;
    uint32_t *slots; /* index into e, plus one; 0 is free */
    size_t n_slots;  /* a power of two, more than twice n */
};

struct cgroup_spec_cache *cgroup_spec_cache_create(void)
{
    return calloc(1, sizeof(struct cgroup_spec_cache));
}

void cgroup_spec_cache_destroy(struct cgroup_spec_cache *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n; i++)
        free(c->e[i].rel);
    free(c->e);
    free(c->slots);
    free(c);
}

size_t cgroup_spec_count(const struct cgroup_spec_cache *c)
{
    return c->n;
}

/* Puts entry i into the index (which has room). */
static void cgroup_spec_index(struct cgroup_spec_cache *c, size_t i)
{
    size_t j = c->e[i].hash & (c->n_slots - 1);

    while (c->slots[j] != 0)
        j = (j + 1) & (c->n_slots - 1);
    c->slots[j] = (uint32_t)(i + 1);
}

/* Indexes every entry again in an index of want slots (a power of two),
 * allocated anew when it differs. VG_OK or VG_ENOMEM (nothing changed). */
static int cgroup_spec_reindex(struct cgroup_spec_cache *c, size_t want)
{
    size_t i;

    if (want != c->n_slots) {
        uint32_t *slots = calloc(want, sizeof(*slots));

        if (slots == NULL)
            return VG_ENOMEM;
        free(c->slots);
        c->slots = slots;
        c->n_slots = want;
    } else {
        memset(c->slots, 0, want * sizeof(*c->slots));
    }
    for (i = 0; i < c->n; i++)
        cgroup_spec_index(c, i);
    return VG_OK;
}

/* A new entry for rel at the end of the array, indexed; NULL on ENOMEM. */
static struct cgroup_spec_entry *cgroup_spec_add(struct cgroup_spec_cache *c, const char *rel,
                                                 uint64_t h)
{
    struct cgroup_spec_entry *x;
    size_t want = c->n_slots > 0 ? c->n_slots : 64;
    char *copy;

    while (want <= 2 * (c->n + 1))
        want *= 2;
    if (vg_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e)) != VG_OK)
        return NULL;
    if (want != c->n_slots && cgroup_spec_reindex(c, want) != VG_OK)
        return NULL;
    copy = strdup(rel);
    if (copy == NULL)
        return NULL;
    x = &c->e[c->n];
    memset(x, 0, sizeof(*x));
    x->hash = h;
    x->rel = copy;
    cgroup_spec_index(c, c->n++);
    return x;
}

struct cgroup_spec *cgroup_spec_get(struct cgroup_spec_cache *c, const char *rel, uint64_t gen,
                                    bool *stale)
{
    uint64_t h = vg_fnv1a(rel, strlen(rel));
    struct cgroup_spec_entry *x = NULL;
    size_t j;

    for (j = h & (c->n_slots - 1); c->n_slots > 0 && c->slots[j] != 0;
         j = (j + 1) & (c->n_slots - 1)) {
        struct cgroup_spec_entry *y = &c->e[c->slots[j] - 1];

        if (y->hash == h && strcmp(y->rel, rel) == 0) {
            x = y;
            break;
        }
    }
    *stale = x == NULL || (gen + h) % CGROUP_SPEC_EVERY == 0;
    if (x == NULL)
        x = cgroup_spec_add(c, rel, h);
    if (x == NULL)
        return NULL;
    x->seen = gen;
    return &x->spec;
}

void cgroup_spec_sweep(struct cgroup_spec_cache *c, uint64_t gen)
{
    size_t i, kept = 0;

    for (i = 0; i < c->n; i++) {
        if (c->e[i].seen != gen) {
            free(c->e[i].rel);
            continue;
        }
        c->e[kept++] = c->e[i];
    }
    if (kept == c->n)
        return;
    c->n = kept;
    cgroup_spec_reindex(c, c->n_slots); /* the same size: allocates nothing */
}

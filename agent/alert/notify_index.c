/*
 * notify_index.c - a hash index over an array of entries (groups by key,
 * alerts by fingerprint), so that a put of thousands of series finds each
 * one in constant time. The index holds positions, not pointers: it goes
 * stale when entries are removed or moved, and is rebuilt at the next
 * lookup (removals happen at a group's look, not per put). When memory
 * runs out the lookup scans the array instead: slower, never wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "notify_internal.h"

#define NX_MIN_CAP 16

static int nx_build(struct ng_index *ix, size_t n, ng_hash_fn hf, const void *set)
{
    size_t cap = NX_MIN_CAP, i, j;

    while (cap < n * 2)
        cap *= 2;
    if (cap != ix->cap) {
        size_t *pos = vg_calloc(cap, sizeof(*pos));

        if (pos == NULL)
            return VG_ENOMEM;
        free(ix->pos);
        ix->pos = pos;
        ix->cap = cap;
    } else {
        memset(ix->pos, 0, cap * sizeof(*ix->pos));
    }
    for (i = 0; i < n; i++) {
        for (j = hf(set, i) & (cap - 1); ix->pos[j] != 0; j = (j + 1) & (cap - 1))
            ;
        ix->pos[j] = i + 1;
    }
    ix->n = n;
    ix->stale = false;
    return VG_OK;
}

size_t vg_ng_index_find(struct ng_index *ix, size_t n, ng_hash_fn hf, ng_eq_fn eq, const void *set,
                        uint64_t h, const void *key)
{
    size_t i, j;

    if ((ix->pos == NULL || ix->stale || ix->n != n) && nx_build(ix, n, hf, set) != VG_OK) {
        for (i = 0; i < n; i++) /* no memory for the index: scan */
            if (hf(set, i) == h && (eq == NULL || eq(set, i, key)))
                return i;
        return SIZE_MAX;
    }
    for (j = h & (ix->cap - 1); ix->pos[j] != 0; j = (j + 1) & (ix->cap - 1)) {
        i = ix->pos[j] - 1;
        if (hf(set, i) == h && (eq == NULL || eq(set, i, key)))
            return i;
    }
    return SIZE_MAX;
}

void vg_ng_index_added(struct ng_index *ix, size_t i, uint64_t h)
{
    size_t j;

    if (ix->stale || ix->pos == NULL || ix->n != i || (i + 1) * 2 > ix->cap) {
        ix->stale = true; /* rebuilt, larger, at the next lookup */
        return;
    }
    for (j = h & (ix->cap - 1); ix->pos[j] != 0; j = (j + 1) & (ix->cap - 1))
        ;
    ix->pos[j] = i + 1;
    ix->n = i + 1;
}

void vg_ng_index_free(struct ng_index *ix)
{
    free(ix->pos);
    memset(ix, 0, sizeof(*ix));
}

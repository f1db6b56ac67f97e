/*
 * metrics_internal.h - what the staging (metrics.c), the store
 * (metrics_store.c) and the exposition (expo.c) share. Not for plugins.
 */
#ifndef VG_METRICS_INTERNAL_H
#define VG_METRICS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <zlib.h>

#include "metrics.h"

#define VG_METRICS_NO_HELP UINT32_MAX

/*
 * Series key: the NUL-terminated strings family, suffix, then name and value
 * of each label in name order, back to back. No string holds a NUL, so the
 * key identifies the series and compares with memcmp.
 */

/* A family staged in one collection; strings are offsets into the arena. */
struct vg_staged_family {
    uint64_t hash;
    uint32_t name_off;
    uint32_t help_off; /* VG_METRICS_NO_HELP when none */
    enum vg_metric_type type;
    void *resolved; /* the store's family while a commit runs, NULL if refused */
};

struct vg_staged_sample {
    uint64_t hash; /* of the key */
    uint32_t key_off;
    uint32_t key_len;
    uint32_t family; /* index into families */
    uint32_t n_labels;
    double value;
};

/*
 * A collector's staging area, used by the engine thread only (no lock).
 * Every string lives in one arena, so that a collection allocates nothing
 * once the arena and the tables have grown to their steady size.
 */
struct vg_samples {
    struct vg_buf arena;
    struct vg_staged_sample *samples;
    size_t n_samples, cap_samples;
    uint32_t *slots; /* open addressing over samples: index + 1, 0 empty */
    size_t n_slots;
    struct vg_staged_family *families;
    size_t n_families, cap_families;
    uint32_t *fslots; /* same over families */
    size_t n_fslots;
    struct vg_label *sorted; /* scratch for sorting one sample's labels */
    size_t cap_sorted;
};

struct vg_store_owner;

/* The link of the store's chained hash tables, first in what they hold. */
struct vg_store_hnode {
    struct vg_store_hnode *next;
    uint64_t hash;
};

/* One series in the store; key[] holds family, suffix and labels. */
struct vg_store_series {
    struct vg_store_hnode node;    /* by key */
    struct vg_store_series *onext; /* the owner's list */
    struct vg_store_family *family;
    struct vg_store_owner *owner;
    uint64_t gen; /* last commit that emitted it */
    double value;
    double bound;  /* numeric le (histogram) or quantile (summary), else 0 */
    size_t findex; /* position in family->series */
    uint32_t key_len;
    uint32_t n_labels;
    uint32_t suffix_off; /* offset of the suffix in key */
    uint32_t labels_off; /* offset of the first label name in key */
    unsigned rank;       /* order of the part within a label set */
    char key[];
};

#define VG_EXPO_NFORMATS 2

struct vg_store_family {
    struct vg_store_hnode node; /* by name */
    char *name;
    char *help; /* NULL when none */
    enum vg_metric_type type;
    struct vg_store_series **series;
    size_t n_series, cap_series;
    size_t index; /* position in store->families */
    bool order_dirty;
    /* The family's rendered lines per format, valid unless stale, so that a
     * render after a commit touches only the families that changed. */
    bool stale[VG_EXPO_NFORMATS];
    struct vg_buf text[VG_EXPO_NFORMATS];
};

struct vg_store_owner {
    struct vg_store_owner *next;
    struct vg_store_series *series;
    char name[];
};

struct vg_rendered {
    atomic_size_t refs;
    size_t len;
    char data[];
};

/*
 * The store. `lock` guards every field: vg_store_commit, vg_store_drop_owner
 * and vg_store_render take it for their whole run and nothing else does; a
 * collector's I/O and an HTTP response's transmission happen outside it
 * (responses hold references to immutable vg_rendered snapshots).
 */
struct vg_metric_store {
    pthread_mutex_t lock;
    struct vg_store_hnode **sbuckets; /* series by key */
    size_t n_sbuckets, n_series;
    struct vg_store_hnode **fbuckets; /* families by name */
    size_t n_fbuckets;
    struct vg_store_family **families; /* sorted by name unless families_dirty */
    size_t n_families, cap_families;
    bool families_dirty;
    struct vg_store_owner *owners;
    uint64_t gen;
    struct vg_rendered *cache[VG_EXPO_NFORMATS][2]; /* [format][gzip] */
    struct vg_buf scratch;
    z_stream z;
    bool z_ready;
};

/* Releases the cached renderings; called with the lock held on any change. */
void vg_expo_invalidate(struct vg_metric_store *st);
/* Frees the compressor and the cached renderings (store teardown). */
void vg_expo_teardown(struct vg_metric_store *st);

#endif

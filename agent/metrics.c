/*
 * metrics.c - name rules and the staging area a collector fills during one
 * collection (struct vg_samples). The store itself is metrics_store.c, the
 * exposition formats expo.c.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "metrics_internal.h"

/* A staging area refuses samples beyond this many series: a runaway source
 * must not take the node's memory with it. */
#define SAMPLES_MAX       (1u << 22)
#define SAMPLES_ARENA_MAX ((size_t)UINT32_MAX - 1)

static bool metrics_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool metrics_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool vg_metric_name_valid(const char *name)
{
    const char *p;

    if (name == NULL || name[0] == '\0' || metrics_digit(name[0]))
        return false;
    for (p = name; *p != '\0'; p++) {
        if (!metrics_alpha(*p) && !metrics_digit(*p) && *p != ':')
            return false;
    }
    return true;
}

/* [a-zA-Z_][a-zA-Z0-9_]*, and not the reserved "__" prefix. */
bool vg_label_name_valid(const char *name)
{
    const char *p;

    if (name == NULL || name[0] == '\0' || metrics_digit(name[0]))
        return false;
    if (name[0] == '_' && name[1] == '_')
        return false;
    for (p = name; *p != '\0'; p++) {
        if (!metrics_alpha(*p) && !metrics_digit(*p))
            return false;
    }
    return true;
}

struct vg_samples *vg_samples_create(void)
{
    struct vg_samples *s = vg_calloc(1, sizeof(*s));

    if (s != NULL)
        vg_buf_init(&s->arena);
    return s;
}

void vg_samples_destroy(struct vg_samples *s)
{
    if (s == NULL)
        return;
    vg_buf_free(&s->arena);
    free(s->samples);
    free(s->slots);
    free(s->families);
    free(s->fslots);
    free(s->sorted);
    free(s);
}

/* Empties the staging; every buffer is kept for the next collection. */
void vg_samples_reset(struct vg_samples *s)
{
    if (s == NULL)
        return;
    vg_buf_reset(&s->arena);
    s->n_samples = 0;
    s->n_families = 0;
    if (s->slots != NULL)
        memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
    if (s->fslots != NULL)
        memset(s->fslots, 0, s->n_fslots * sizeof(*s->fslots));
}

size_t vg_samples_count(const struct vg_samples *s)
{
    return s != NULL ? s->n_samples : 0;
}

/* Rebuilds an open-addressing index of n_slots_new (a power of two) over
 * count entries of `stride` bytes that each start with their uint64_t hash;
 * the old table is freed. */
static int samples_rehash(uint32_t **slots, size_t *n_slots, size_t n_slots_new, const void *base,
                          size_t stride, size_t count)
{
    uint32_t *t = vg_calloc(n_slots_new, sizeof(*t));
    size_t i, j;

    if (t == NULL)
        return VG_ENOMEM;
    for (i = 0; i < count; i++) {
        uint64_t h = *(const uint64_t *)((const char *)base + i * stride);
        for (j = h & (n_slots_new - 1); t[j] != 0; j = (j + 1) & (n_slots_new - 1))
            ;
        t[j] = (uint32_t)(i + 1);
    }
    free(*slots);
    *slots = t;
    *n_slots = n_slots_new;
    return VG_OK;
}

/* Keeps the load of an index at or under one half before adding one. */
static int samples_index_room(uint32_t **slots, size_t *n_slots, const void *base, size_t stride,
                              size_t count)
{
    size_t n = *n_slots ? *n_slots : 64;

    while ((count + 1) * 2 > n)
        n *= 2;
    if (n == *n_slots)
        return VG_OK;
    return samples_rehash(slots, n_slots, n, base, stride, count);
}

/* Appends str (with its NUL) to the arena and stores its offset; *off is
 * left alone on failure. */
static int samples_put(struct vg_samples *s, const char *str, uint32_t *off)
{
    size_t n = strlen(str) + 1, at = s->arena.len;

    if (at + n > SAMPLES_ARENA_MAX || vg_buf_append(&s->arena, str, n) != VG_OK)
        return VG_ENOMEM;
    *off = (uint32_t)at;
    return VG_OK;
}

static const char *samples_str(const struct vg_samples *s, uint32_t off)
{
    return s->arena.data + off;
}

/* Index of the staged family named name, or -1. */
static long samples_family_find(const struct vg_samples *s, const char *name, uint64_t h)
{
    size_t j;

    if (s->n_fslots == 0)
        return -1;
    for (j = h & (s->n_fslots - 1); s->fslots[j] != 0; j = (j + 1) & (s->n_fslots - 1)) {
        const struct vg_staged_family *f = &s->families[s->fslots[j] - 1];

        if (f->hash == h && strcmp(samples_str(s, f->name_off), name) == 0)
            return (long)(s->fslots[j] - 1);
    }
    return -1;
}

/* Finds or adds the staged family; a type other than the staged one is
 * VG_EINVAL. The first help given is kept. */
static int samples_family(struct vg_samples *s, const char *name, enum vg_metric_type type,
                          const char *help, uint32_t *index)
{
    uint64_t h = vg_fnv1a(name, strlen(name));
    long found = samples_family_find(s, name, h);
    struct vg_staged_family *f;
    size_t j;
    int rc;

    if (found >= 0) {
        f = &s->families[found];
        if (f->type != type)
            return VG_EINVAL;
        *index = (uint32_t)found;
        if (f->help_off == VG_METRICS_NO_HELP && help != NULL && help[0] != '\0')
            return samples_put(s, help, &f->help_off);
        return VG_OK;
    }
    rc = vg_grow((void **)&s->families, &s->cap_families, s->n_families + 1, sizeof(*s->families));
    if (rc == VG_OK)
        rc = samples_index_room(&s->fslots, &s->n_fslots, s->families, sizeof(*s->families),
                                s->n_families);
    if (rc != VG_OK)
        return rc;
    f = &s->families[s->n_families];
    f->hash = h;
    f->type = type;
    f->resolved = NULL;
    f->help_off = VG_METRICS_NO_HELP;
    rc = samples_put(s, name, &f->name_off);
    if (rc == VG_OK && help != NULL && help[0] != '\0')
        rc = samples_put(s, help, &f->help_off);
    if (rc != VG_OK)
        return rc;
    for (j = h & (s->n_fslots - 1); s->fslots[j] != 0; j = (j + 1) & (s->n_fslots - 1))
        ;
    s->fslots[j] = (uint32_t)(s->n_families + 1);
    *index = (uint32_t)s->n_families++;
    return VG_OK;
}

/* The suffixes each type may stage, and the label each part requires. */
static bool samples_suffix_ok(enum vg_metric_type type, const char *suffix, const char **need)
{
    *need = NULL;
    switch (type) {
    case VG_METRIC_COUNTER:
    case VG_METRIC_GAUGE:
    case VG_METRIC_UNTYPED:
        return suffix[0] == '\0';
    case VG_METRIC_HISTOGRAM:
        if (strcmp(suffix, "_bucket") == 0) {
            *need = "le";
            return true;
        }
        return strcmp(suffix, "_sum") == 0 || strcmp(suffix, "_count") == 0;
    case VG_METRIC_SUMMARY:
        if (suffix[0] == '\0') {
            *need = "quantile";
            return true;
        }
        return strcmp(suffix, "_sum") == 0 || strcmp(suffix, "_count") == 0;
    }
    return false;
}

/* Copies the labels into s->sorted in name order and checks them: valid
 * names, values present, no name twice, and `need` present when set. */
static int samples_sort_labels(struct vg_samples *s, const struct vg_label *labels, size_t n,
                               const char *need)
{
    bool found = need == NULL;
    size_t i, j;
    int rc;

    if (n > 0 && labels == NULL)
        return VG_EINVAL;
    rc = vg_grow((void **)&s->sorted, &s->cap_sorted, n, sizeof(*s->sorted));
    if (rc != VG_OK)
        return rc;
    for (i = 0; i < n; i++) {
        struct vg_label l = labels[i];

        if (!vg_label_name_valid(l.name) || l.value == NULL)
            return VG_EINVAL;
        /* label sets are small: insertion sort beats qsort's call overhead */
        for (j = i; j > 0 && strcmp(s->sorted[j - 1].name, l.name) > 0; j--)
            s->sorted[j] = s->sorted[j - 1];
        s->sorted[j] = l;
    }
    for (i = 0; i < n; i++) {
        if (i > 0 && strcmp(s->sorted[i - 1].name, s->sorted[i].name) == 0)
            return VG_EINVAL;
        if (!found && strcmp(s->sorted[i].name, need) == 0)
            found = true;
    }
    return found ? VG_OK : VG_EINVAL;
}

/* Writes the key of the sample being added at the end of the arena. */
static int samples_key(struct vg_samples *s, const char *family, const char *suffix, size_t n)
{
    uint32_t off;
    size_t i;
    int rc;

    rc = samples_put(s, family, &off);
    if (rc == VG_OK)
        rc = samples_put(s, suffix, &off);
    for (i = 0; i < n && rc == VG_OK; i++) {
        rc = samples_put(s, s->sorted[i].name, &off);
        if (rc == VG_OK)
            rc = samples_put(s, s->sorted[i].value, &off);
    }
    return rc;
}

/* Index of the staged sample with the key at arena[key_off..), or -1. */
static long samples_find(const struct vg_samples *s, uint64_t h, uint32_t key_off, size_t len,
                         size_t *slot)
{
    size_t j;

    for (j = h & (s->n_slots - 1); s->slots[j] != 0; j = (j + 1) & (s->n_slots - 1)) {
        const struct vg_staged_sample *x = &s->samples[s->slots[j] - 1];

        if (x->hash == h && x->key_len == len &&
            memcmp(s->arena.data + x->key_off, s->arena.data + key_off, len) == 0)
            return (long)(s->slots[j] - 1);
    }
    *slot = j;
    return -1;
}

/* Records the sample whose key was just written at key_off; a series staged
 * twice keeps its last value and gives the arena back. */
static int samples_insert(struct vg_samples *s, uint32_t key_off, uint32_t family, size_t n_labels,
                          double value)
{
    size_t len = s->arena.len - key_off;
    uint64_t h = vg_hash_bytes(s->arena.data + key_off, len);
    struct vg_staged_sample *x;
    size_t slot = 0;
    long found;
    int rc;

    if (s->n_samples >= SAMPLES_MAX)
        return VG_ENOMEM;
    rc = vg_grow((void **)&s->samples, &s->cap_samples, s->n_samples + 1, sizeof(*s->samples));
    if (rc == VG_OK)
        rc = samples_index_room(&s->slots, &s->n_slots, s->samples, sizeof(*s->samples),
                                s->n_samples);
    if (rc != VG_OK)
        return rc;
    found = samples_find(s, h, key_off, len, &slot);
    if (found >= 0) {
        s->samples[found].value = value;
        s->arena.len = key_off;
        return VG_OK;
    }
    x = &s->samples[s->n_samples];
    x->hash = h;
    x->key_off = key_off;
    x->key_len = (uint32_t)len;
    x->family = family;
    x->n_labels = (uint32_t)n_labels;
    x->value = value;
    s->slots[slot] = (uint32_t)(++s->n_samples);
    return VG_OK;
}

/*
 * Stages one sample, copying every string. Returns VG_OK, VG_ENOMEM (also
 * when the staging is full), or VG_EINVAL for a bad name, a suffix the type
 * does not have, a missing le/quantile label, a label name given twice, or a
 * family staged before with another type. On error nothing is staged.
 */
int vg_samples_add(struct vg_samples *s, const char *family, enum vg_metric_type type,
                   const char *help, const char *suffix, const struct vg_label *labels,
                   size_t n_labels, double value)
{
    size_t mark;
    uint32_t fam = 0;
    const char *need;
    int rc;

    if (s == NULL || !vg_metric_name_valid(family))
        return VG_EINVAL;
    if (suffix == NULL)
        suffix = "";
    if ((unsigned)type > VG_METRIC_UNTYPED || !samples_suffix_ok(type, suffix, &need))
        return VG_EINVAL;
    rc = samples_sort_labels(s, labels, n_labels, need);
    if (rc != VG_OK)
        return rc;
    mark = s->arena.len;
    rc = samples_family(s, family, type, help, &fam);
    if (rc != VG_OK)
        goto out;
    mark = s->arena.len;
    rc = samples_key(s, family, suffix, n_labels);
    if (rc == VG_OK)
        rc = samples_insert(s, (uint32_t)mark, fam, n_labels, value);
out:
    if (rc != VG_OK && s->arena.len > mark)
        s->arena.len = mark;
    return rc;
}

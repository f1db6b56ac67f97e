/*
 * log_series.h - the series store of log-derived metrics (log_metrics.c):
 * a set of series, each a key (a few label values) and a fixed-size block
 * of counts, looked up by an open-addressing hash table (linear probing,
 * deletion by backward shift, so no tombstones pile up).
 *
 * - Keys are encoded once, as the label values one after the other, each
 *   ended by a NUL; a value is cut to VG_LOG_VALUE_MAX bytes and its NUL
 *   bytes and invalid UTF-8 become U+FFFD, so that every key renders as a
 *   distinct, valid series.
 * - A set holds at most max_series series; what comes past the cap is
 *   counted in one overflow series, whose label values are all
 *   VG_LOG_OVERFLOW.
 * - A series remembers when it was last fed; vg_log_series_expire drops
 *   those idle too long (the overflow series included).
 * - Memory is allocated when a series is born (its key) or when the table
 *   grows, never when a series is fed.
 *
 * Not thread-safe: the engine thread is its only user.
 */
#ifndef VG_LOG_SERIES_H
#define VG_LOG_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* Longest label value kept, in bytes; a longer one is cut. */
#define VG_LOG_VALUE_MAX 256
/* Every label value of an overflow series. */
#define VG_LOG_OVERFLOW "__overflow__"

/* A key being built: the encoded values and their hash. */
struct vg_log_key {
    struct vg_buf buf;
    size_t n_parts;
};

void vg_log_key_init(struct vg_log_key *k);
void vg_log_key_free(struct vg_log_key *k);
void vg_log_key_reset(struct vg_log_key *k); /* memory kept */
/* Appends one label value p[0..len) (p may be NULL when len is 0). VG_OK
 * or VG_ENOMEM. */
int vg_log_key_add(struct vg_log_key *k, const char *p, size_t len);

struct vg_log_series_entry; /* the store's own */

struct vg_log_series {
    uint32_t *slots; /* dense index + 1; 0: empty */
    size_t n_slots;  /* a power of two */
    struct vg_log_series_entry *v;
    size_t n, cap;       /* series in v, slots of v */
    unsigned char *vals; /* n blocks of val_size bytes, in the order of v */
    size_t val_size;
    size_t n_parts;    /* label values of a key */
    size_t max_series; /* cap, the overflow series not counted */
    bool over_live;    /* the overflow series exists */
    int64_t over_last_ns;
    unsigned char *over_vals;
};

/* An empty set whose keys hold n_parts values and whose series carry
 * val_size bytes of counts (zeroed at birth). VG_OK or VG_ENOMEM. */
int vg_log_series_init(struct vg_log_series *s, size_t n_parts, size_t val_size, size_t max_series);
void vg_log_series_free(struct vg_log_series *s);

/* Where the series of key k lives. */
#define VG_LOG_SERIES_OVERFLOW SIZE_MAX /* the index of the overflow series */

/*
 * The index of the series of key k (of n_parts values), born now when new;
 * VG_LOG_SERIES_OVERFLOW when the set is full and k is not in it. Marks it
 * fed at now_ns. VG_OK, or VG_ENOMEM (nothing changed).
 */
int vg_log_series_get(struct vg_log_series *s, const struct vg_log_key *k, int64_t now_ns,
                      size_t *index);
/* The counts of series index (valid until the next get or expire). */
void *vg_log_series_vals(struct vg_log_series *s, size_t index);
/* Marks series index fed at now_ns. */
void vg_log_series_touch(struct vg_log_series *s, size_t index, int64_t now_ns);
/* The encoded key of series index (values ended by NULs) and its length;
 * it stays where it is while the series lives. */
const char *vg_log_series_key(const struct vg_log_series *s, size_t index, size_t *len);
/* Drops every series last fed before before_ns; returns how many went.
 * Indexes of the series left may change. */
size_t vg_log_series_expire(struct vg_log_series *s, int64_t before_ns);
/* Series held, the overflow series included. */
size_t vg_log_series_count(const struct vg_log_series *s);

/* Calls fn for each series with its label values (n_parts NUL-terminated
 * strings) and counts, the overflow series last; stops at the first
 * result other than VG_OK and returns it. */
typedef int (*vg_log_series_fn)(void *arg, const char *const *values, const void *vals);
int vg_log_series_each(const struct vg_log_series *s, vg_log_series_fn fn, void *arg);

#endif

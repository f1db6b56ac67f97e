/*
 * log_series.c - the series store of log-derived metrics: keys, the hash
 * table over them, the cap with its overflow series, and expiry.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log_series.h"

#define LS_MIN_SLOTS   64
#define LS_MAX_PARTS   32
#define LS_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

struct vg_log_series_entry {
    uint64_t hash;
    char *key; /* encoded values, malloc'd */
    size_t key_len;
    int64_t last_ns;
};

/* ------------------------------------------------------------------------
 * Keys.
 */

void vg_log_key_init(struct vg_log_key *k)
{
    vg_buf_init(&k->buf);
    k->n_parts = 0;
}

void vg_log_key_free(struct vg_log_key *k)
{
    vg_buf_free(&k->buf);
    k->n_parts = 0;
}

void vg_log_key_reset(struct vg_log_key *k)
{
    vg_buf_reset(&k->buf);
    k->n_parts = 0;
}

/* Bytes of p[0..len) that go into a key as they are: ASCII but NUL. */
static size_t ls_plain_run(const unsigned char *p, size_t len)
{
    size_t i = 0;

    while (i < len && p[i] != 0 && p[i] < 0x80)
        i++;
    return i;
}

/* Appends p[0..len) with NUL and invalid UTF-8 replaced, up to
 * VG_LOG_VALUE_MAX bytes written (never half a character). */
static int ls_key_sanitize(struct vg_buf *b, const unsigned char *p, size_t len)
{
    size_t i = 0, out = 0, run, seq;
    int rc = VG_OK;

    while (rc == VG_OK && i < len) {
        run = ls_plain_run(p + i, len - i);
        if (run > VG_LOG_VALUE_MAX - out)
            run = VG_LOG_VALUE_MAX - out;
        rc = vg_buf_append(b, p + i, run);
        i += run;
        out += run;
        if (rc != VG_OK || i == len || out == VG_LOG_VALUE_MAX)
            break;
        seq = p[i] != 0 ? vg_utf8_seq(p + i, len - i) : 0;
        if ((seq == 0 ? 3 : seq) > VG_LOG_VALUE_MAX - out)
            break;
        rc = seq == 0 ? vg_buf_append(b, LS_REPLACEMENT, 3) : vg_buf_append(b, p + i, seq);
        out += seq == 0 ? 3 : seq;
        i += seq == 0 ? 1 : seq;
    }
    return rc;
}

int vg_log_key_add(struct vg_log_key *k, const char *p, size_t len)
{
    int rc = VG_OK;

    if (len > 0)
        rc = ls_key_sanitize(&k->buf, (const unsigned char *)p, len);
    if (rc == VG_OK)
        rc = vg_buf_putc(&k->buf, '\0');
    if (rc == VG_OK)
        k->n_parts++;
    return rc;
}

/* ------------------------------------------------------------------------
 * The table.
 */

int vg_log_series_init(struct vg_log_series *s, size_t n_parts, size_t val_size, size_t max_series)
{
    memset(s, 0, sizeof(*s));
    if (n_parts == 0 || n_parts > LS_MAX_PARTS || max_series == 0)
        return VG_EINVAL;
    s->n_parts = n_parts;
    s->val_size = val_size;
    s->max_series = max_series;
    s->n_slots = LS_MIN_SLOTS;
    s->slots = vg_calloc(s->n_slots, sizeof(*s->slots));
    s->over_vals = vg_calloc(1, val_size > 0 ? val_size : 1);
    if (s->slots == NULL || s->over_vals == NULL) {
        vg_log_series_free(s);
        return VG_ENOMEM;
    }
    return VG_OK;
}

void vg_log_series_free(struct vg_log_series *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i].key);
    free(s->slots);
    free(s->v);
    free(s->vals);
    free(s->over_vals);
    memset(s, 0, sizeof(*s));
}

/* The slot that holds dense index i (which must be in the table). */
static size_t ls_slot_of(const struct vg_log_series *s, size_t i)
{
    size_t mask = s->n_slots - 1, at = (size_t)s->v[i].hash & mask;

    while (s->slots[at] != i + 1)
        at = (at + 1) & mask;
    return at;
}

/* The slot of key (hash h) if present, else the empty slot where it goes. */
static size_t ls_probe(const struct vg_log_series *s, uint64_t h, const char *key, size_t len)
{
    size_t mask = s->n_slots - 1, at = (size_t)h & mask;
    const struct vg_log_series_entry *e;

    for (;;) {
        if (s->slots[at] == 0)
            return at;
        e = &s->v[s->slots[at] - 1];
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return at;
        at = (at + 1) & mask;
    }
}

/* Doubles the table and puts every series back. VG_OK or VG_ENOMEM. */
static int ls_rehash(struct vg_log_series *s)
{
    size_t n_slots = s->n_slots * 2, i, at;
    uint32_t *slots = vg_calloc(n_slots, sizeof(*slots));

    if (slots == NULL)
        return VG_ENOMEM;
    free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    for (i = 0; i < s->n; i++) {
        at = (size_t)s->v[i].hash & (n_slots - 1);
        while (slots[at] != 0)
            at = (at + 1) & (n_slots - 1);
        slots[at] = (uint32_t)(i + 1);
    }
    return VG_OK;
}

/* Room for one more series: the dense arrays and a table at most half
 * full. VG_OK or VG_ENOMEM. */
static int ls_reserve(struct vg_log_series *s)
{
    size_t vcap = s->cap;
    void *vals;

    if ((s->n + 1) * 2 > s->n_slots && ls_rehash(s) != VG_OK)
        return VG_ENOMEM;
    if (s->n < s->cap)
        return VG_OK;
    if (vg_grow((void **)&s->v, &vcap, s->n + 1, sizeof(*s->v)) != VG_OK)
        return VG_ENOMEM;
    /* should this fail, v keeps its larger size and cap its old value */
    vals = vg_realloc(s->vals, vcap * (s->val_size > 0 ? s->val_size : 1));
    if (vals == NULL)
        return VG_ENOMEM;
    s->vals = vals;
    s->cap = vcap;
    return VG_OK;
}

/* Adds key k (hash h) at slot `at`, found empty by ls_probe. */
static int ls_add(struct vg_log_series *s, uint64_t h, const struct vg_log_key *k, size_t at,
                  int64_t now_ns, size_t *index)
{
    size_t n_slots = s->n_slots;
    struct vg_log_series_entry *e;
    char *key;

    if (ls_reserve(s) != VG_OK)
        return VG_ENOMEM;
    key = vg_malloc(k->buf.len);
    if (key == NULL)
        return VG_ENOMEM;
    memcpy(key, k->buf.data, k->buf.len);
    if (s->n_slots != n_slots) /* the table was rebuilt */
        at = ls_probe(s, h, key, k->buf.len);
    e = &s->v[s->n];
    e->hash = h;
    e->key = key;
    e->key_len = k->buf.len;
    e->last_ns = now_ns;
    memset(s->vals + s->n * s->val_size, 0, s->val_size);
    s->slots[at] = (uint32_t)(s->n + 1);
    *index = s->n++;
    return VG_OK;
}

int vg_log_series_get(struct vg_log_series *s, const struct vg_log_key *k, int64_t now_ns,
                      size_t *index)
{
    uint64_t h = vg_hash_bytes(k->buf.data, k->buf.len);
    size_t at = ls_probe(s, h, k->buf.data, k->buf.len);

    if (s->slots[at] != 0) {
        *index = s->slots[at] - 1;
        s->v[*index].last_ns = now_ns;
        return VG_OK;
    }
    if (s->n < s->max_series)
        return ls_add(s, h, k, at, now_ns, index);
    if (!s->over_live)
        memset(s->over_vals, 0, s->val_size);
    s->over_live = true;
    s->over_last_ns = now_ns;
    *index = VG_LOG_SERIES_OVERFLOW;
    return VG_OK;
}

void *vg_log_series_vals(struct vg_log_series *s, size_t index)
{
    if (index == VG_LOG_SERIES_OVERFLOW)
        return s->over_vals;
    return s->vals + index * s->val_size;
}

void vg_log_series_touch(struct vg_log_series *s, size_t index, int64_t now_ns)
{
    if (index == VG_LOG_SERIES_OVERFLOW)
        s->over_last_ns = now_ns;
    else
        s->v[index].last_ns = now_ns;
}

const char *vg_log_series_key(const struct vg_log_series *s, size_t index, size_t *len)
{
    *len = s->v[index].key_len;
    return s->v[index].key;
}

/* Empties slot `at` and shifts back the series after it in its cluster
 * that may move closer to their home slot (Knuth's algorithm R). */
static void ls_unslot(struct vg_log_series *s, size_t at)
{
    size_t mask = s->n_slots - 1, j = at, home;

    for (;;) {
        j = (j + 1) & mask;
        if (s->slots[j] == 0)
            break;
        home = (size_t)s->v[s->slots[j] - 1].hash & mask;
        /* it stays when its home lies cyclically in (at, j] */
        if (at <= j ? (at < home && home <= j) : (at < home || home <= j))
            continue;
        s->slots[at] = s->slots[j];
        at = j;
    }
    s->slots[at] = 0;
}

/* Removes series i; the last series takes its index. */
static void ls_remove(struct vg_log_series *s, size_t i)
{
    size_t last = s->n - 1;

    ls_unslot(s, ls_slot_of(s, i));
    free(s->v[i].key);
    if (i != last) {
        s->slots[ls_slot_of(s, last)] = (uint32_t)(i + 1);
        s->v[i] = s->v[last];
        memcpy(s->vals + i * s->val_size, s->vals + last * s->val_size, s->val_size);
    }
    s->n--;
}

size_t vg_log_series_expire(struct vg_log_series *s, int64_t before_ns)
{
    size_t i = s->n, gone = 0;

    while (i-- > 0) {
        if (s->v[i].last_ns >= before_ns)
            continue;
        ls_remove(s, i);
        gone++;
    }
    if (s->over_live && s->over_last_ns < before_ns) {
        s->over_live = false;
        gone++;
    }
    return gone;
}

size_t vg_log_series_count(const struct vg_log_series *s)
{
    return s->n + (s->over_live ? 1 : 0);
}

int vg_log_series_each(const struct vg_log_series *s, vg_log_series_fn fn, void *arg)
{
    const char *values[LS_MAX_PARTS];
    const char *p;
    size_t i, j;
    int rc = VG_OK;

    for (i = 0; rc == VG_OK && i < s->n; i++) {
        for (j = 0, p = s->v[i].key; j < s->n_parts; j++, p += strlen(p) + 1)
            values[j] = p;
        rc = fn(arg, values, s->vals + i * s->val_size);
    }
    if (rc != VG_OK || !s->over_live)
        return rc;
    for (j = 0; j < s->n_parts; j++)
        values[j] = VG_LOG_OVERFLOW;
    return fn(arg, values, s->over_vals);
}

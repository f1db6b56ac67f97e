/*
 * throttle.c - the `throttle` filter: a rate limit per container (or per
 * any key of fields), so that one chatty pod cannot crowd out the rest of
 * the node, as Fluent Bit's throttle and Vector's throttle do.
 *
 * Each key has a token bucket: it holds up to `burst` records and refills
 * at `rate` records a second; a record that finds it empty is dropped.
 * Keys live in an open-addressing hash table of at most `max_keys`;
 * records of keys beyond it share one overflow bucket (counted), and keys
 * idle for `forget_after` whose bucket is full again are forgotten. Time
 * is the monotonic clock (a test may set its own). Drops are never
 * silent: counted per key (vigil_log_throttled_total, labelled with the
 * key fields), and a rate-limited warning names the key whenever one
 * starts to drop. A key field is read as text (other types by their JSON
 * text) up to a NUL byte; a missing field reads as an empty one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "filter.h"

#define TH_MAX_KEY_FIELDS 8
#define TH_SWEEP_NS       (10 * VG_NS_PER_SEC) /* how often idle keys are looked for */

struct th_bucket {
    uint64_t hash;
    char *key; /* the key (th_key); NULL for the overflow bucket */
    size_t key_len;
    double tokens;
    int64_t last_ns;
    uint64_t dropped;
    bool dropping; /* its last record was dropped */
};

struct throttle_ctx {
    /* options */
    double rate;
    int64_t burst;
    struct vg_strlist key;
    int64_t max_keys;
    int64_t forget_ms;
    /* built */
    char *name;
    char *labels[TH_MAX_KEY_FIELDS]; /* the key fields as label names */
    double capacity;                 /* burst, or the default */
    struct th_bucket *buckets;
    size_t n_buckets;
    size_t cap_buckets;
    uint32_t *index;   /* bucket number + 1; 0: a free slot */
    size_t index_size; /* a power of two, at least twice n_buckets */
    struct th_bucket overflow;
    int64_t last_sweep_ns;
    struct vg_buf keybuf;  /* the key of the record at hand */
    struct vg_buf scratch; /* the text of a key field that is not a string */
    vg_filter_clock_fn clock;
    void *clock_arg;
    struct vg_complain complain;
    uint64_t dropped;
    uint64_t overflow_records;
};

static const struct vg_option throttle_options[] = {
    {"rate", VG_OPT_DOUBLE, NULL, offsetof(struct throttle_ctx, rate),
     "records a second each key may pass (more than 0)", VG_OPT_REQUIRED, NULL},
    {"burst", VG_OPT_INT, NULL, offsetof(struct throttle_ctx, burst),
     "records a key may pass at once after a quiet spell; default: rate (at least 1)", VG_OPT_MIN,
     NULL, 1, 0},
    {"key", VG_OPT_STRLIST, "namespace,pod,container", offsetof(struct throttle_ctx, key),
     "fields whose values make one bucket (missing ones count as missing)", 0, NULL},
    {"max_keys", VG_OPT_INT, "10000", offsetof(struct throttle_ctx, max_keys),
     "buckets kept; records of further keys share one overflow bucket", VG_OPT_RANGE, NULL, 1,
     1000000},
    {"forget_after", VG_OPT_DURATION, "5m", offsetof(struct throttle_ctx, forget_ms),
     "a key idle this long (with its bucket full again) is forgotten", VG_OPT_MIN, NULL, 1000, 0},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static int64_t th_mono(void *arg)
{
    (void)arg;
    return vg_mono_ns();
}

void vg_filter_throttle_clock(void *ctx, vg_filter_clock_fn now, void *arg)
{
    struct throttle_ctx *x = ctx;

    x->clock = now;
    x->clock_arg = arg;
}

/* ------------------------------------------------------------------------
 * Building.
 */

/* The label a key field is shown with: bytes other than letters, digits
 * and '_' become '_', and a leading digit gets a '_' first. NULL when out
 * of memory. */
static char *th_label(const char *field)
{
    size_t i, n = strlen(field), lead = field[0] >= '0' && field[0] <= '9';
    char *l = vg_malloc(n + lead + 1);
    char c;

    if (l == NULL)
        return NULL;
    l[0] = '_';
    for (i = 0; i < n; i++) {
        c = field[i];
        l[lead + i] =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_';
    }
    l[n + lead] = '\0';
    return l;
}

/* The key fields and their labels: 1 to TH_MAX_KEY_FIELDS, none empty,
 * no two labels alike nor one of the step's own. */
static int th_build_key(struct throttle_ctx *x, struct vg_check *chk)
{
    size_t i, k;

    if (x->key.n == 0 || x->key.n > TH_MAX_KEY_FIELDS) {
        vg_check_error(chk, "key", "option 'key': 1 to %d fields, not %zu", TH_MAX_KEY_FIELDS,
                       x->key.n);
        return VG_ECONFIG;
    }
    for (i = 0; i < x->key.n; i++) {
        if (x->key.v[i][0] == '\0') {
            vg_check_error(chk, "key", "option 'key': a field name is empty");
            return VG_ECONFIG;
        }
        x->labels[i] = th_label(x->key.v[i]);
        if (x->labels[i] == NULL)
            return VG_ENOMEM;
        for (k = 0; k < i && strcmp(x->labels[k], x->labels[i]) != 0; k++)
            ;
        if (k < i || strcmp(x->labels[i], "collector") == 0 || strcmp(x->labels[i], "step") == 0 ||
            strncmp(x->labels[i], "__", 2) == 0) {
            vg_check_error(chk, "key",
                           "option 'key': field '%s' cannot be a label of "
                           "vigil_log_throttled_total (as '%s')",
                           x->key.v[i], x->labels[i]);
            return VG_ECONFIG;
        }
    }
    return VG_OK;
}

static int throttle_build(void *ctx, const char *name, struct vg_check *chk)
{
    struct throttle_ctx *x = ctx;
    int rc = VG_OK, r;

    x->clock = th_mono;
    x->name = vg_strdup(name != NULL ? name : "throttle");
    if (x->name == NULL)
        return VG_ENOMEM;
    if (!(x->rate > 0) || !isfinite(x->rate)) {
        vg_check_error(chk, "rate", "option 'rate': must be more than 0");
        rc = VG_ECONFIG;
    }
    x->capacity = x->burst > 0 ? (double)x->burst : fmax(1.0, ceil(x->rate));
    x->overflow.tokens = x->capacity;
    r = th_build_key(x, chk);
    return r != VG_OK ? r : rc;
}

/* ------------------------------------------------------------------------
 * The table of buckets.
 */

/* The record's key into x->keybuf: the text of each key field up to its
 * first NUL (none for a missing field), each followed by a NUL. So the
 * key's values are the labels of its series, and two keys never show as
 * one series. VG_OK or VG_ENOMEM. */
static int th_key(struct throttle_ctx *x, const struct vg_prec *pr)
{
    const char *s, *nul;
    size_t i, len;
    int have;

    vg_buf_reset(&x->keybuf);
    for (i = 0; i < x->key.n; i++) {
        have = vg_filter_lookup(pr, x->key.v[i], strlen(x->key.v[i]), false, &x->scratch, &s, &len);
        if (have < 0)
            return VG_ENOMEM;
        nul = have == 1 ? memchr(s, '\0', len) : NULL;
        len = have == 0 ? 0 : nul != NULL ? (size_t)(nul - s) : len;
        if (vg_buf_append(&x->keybuf, s, len) != VG_OK || vg_buf_putc(&x->keybuf, '\0') != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* Puts bucket i into the index. */
static void th_index_put(struct throttle_ctx *x, size_t i)
{
    size_t mask = x->index_size - 1, k;

    for (k = x->buckets[i].hash & mask; x->index[k] != 0; k = (k + 1) & mask)
        ;
    x->index[k] = (uint32_t)(i + 1);
}

/* Rebuilds the index, size slots (a power of two). VG_OK or VG_ENOMEM
 * (the index is then as it was). */
static int th_reindex(struct throttle_ctx *x, size_t size)
{
    uint32_t *index = size != x->index_size ? vg_calloc(size, sizeof(*index)) : x->index;
    size_t i;

    if (index == NULL)
        return VG_ENOMEM;
    if (index != x->index) {
        free(x->index);
        x->index = index;
        x->index_size = size;
    }
    memset(x->index, 0, size * sizeof(*index));
    for (i = 0; i < x->n_buckets; i++)
        th_index_put(x, i);
    return VG_OK;
}

static struct th_bucket *th_find(const struct throttle_ctx *x, uint64_t hash)
{
    size_t mask = x->index_size - 1, k;
    struct th_bucket *b;

    if (x->index_size == 0)
        return NULL;
    for (k = hash & mask; x->index[k] != 0; k = (k + 1) & mask) {
        b = &x->buckets[x->index[k] - 1];
        if (b->hash == hash && b->key_len == x->keybuf.len &&
            memcmp(b->key, x->keybuf.data, b->key_len) == 0)
            return b;
    }
    return NULL;
}

/* A new bucket, full, for the key in keybuf; NULL when out of memory. */
static struct th_bucket *th_insert(struct throttle_ctx *x, uint64_t hash, int64_t now)
{
    struct th_bucket *b;
    char *key;

    if ((x->n_buckets + 1) * 2 > x->index_size &&
        th_reindex(x, x->index_size > 0 ? x->index_size * 2 : 64) != VG_OK)
        return NULL;
    if (vg_grow((void **)&x->buckets, &x->cap_buckets, x->n_buckets + 1, sizeof(*b)) != VG_OK)
        return NULL;
    key = vg_malloc(x->keybuf.len > 0 ? x->keybuf.len : 1);
    if (key == NULL)
        return NULL;
    memcpy(key, x->keybuf.data, x->keybuf.len);
    b = &x->buckets[x->n_buckets];
    memset(b, 0, sizeof(*b));
    b->hash = hash;
    b->key = key;
    b->key_len = x->keybuf.len;
    b->tokens = x->capacity;
    b->last_ns = now;
    th_index_put(x, x->n_buckets++);
    return b;
}

/* Tokens b holds at now, refilled since it was last used. */
static double th_tokens(const struct throttle_ctx *x, const struct th_bucket *b, int64_t now)
{
    if (now <= b->last_ns)
        return b->tokens;
    return fmin(x->capacity, b->tokens + (double)(now - b->last_ns) * x->rate / 1e9);
}

/* Forgets the keys idle for forget_after whose buckets are full again (a
 * key forgotten earlier would come back with more than it had). */
static void th_sweep(struct throttle_ctx *x, int64_t now)
{
    int64_t idle = vg_ms_to_ns_sat(x->forget_ms);
    struct th_bucket *b;
    size_t i, n = 0;

    x->last_sweep_ns = now;
    for (i = 0; i < x->n_buckets; i++) {
        b = &x->buckets[i];
        if (now - b->last_ns >= idle && th_tokens(x, b, now) >= x->capacity) {
            free(b->key);
            continue;
        }
        x->buckets[n++] = *b;
    }
    if (n == x->n_buckets)
        return;
    x->n_buckets = n;
    (void)th_reindex(x, x->index_size); /* the same size: nothing to allocate */
}

/* The bucket of the key in keybuf: its own, a new one, or the overflow
 * bucket once max_keys are tracked. NULL when out of memory. */
static struct th_bucket *th_bucket(struct throttle_ctx *x, int64_t now)
{
    uint64_t hash = vg_fnv1a(x->keybuf.data, x->keybuf.len);
    struct th_bucket *b = th_find(x, hash);

    if (b != NULL)
        return b;
    if (x->n_buckets >= (size_t)x->max_keys && now - x->last_sweep_ns >= VG_NS_PER_SEC)
        th_sweep(x, now);
    if (x->n_buckets < (size_t)x->max_keys)
        return th_insert(x, hash, now);
    x->overflow_records++;
    return &x->overflow;
}

/* ------------------------------------------------------------------------
 * Running.
 */

/* The values of b's key: vals[i] for key field i ("" when the record had
 * none). */
static void th_values(const struct throttle_ctx *x, const struct th_bucket *b, const char **vals)
{
    const char *p = b->key;
    size_t i;

    for (i = 0; i < x->key.n; i++) {
        vals[i] = p;
        p += strlen(p) + 1;
    }
}

/* The warning when a key starts to drop (at most one line a minute for
 * the step, with a count of those held back). */
static void th_warn(struct throttle_ctx *x, const struct th_bucket *b)
{
    const char *vals[TH_MAX_KEY_FIELDS], *metric = "vigil_log_throttled_total";
    char who[512];
    size_t i, n = 0;

    if (b == &x->overflow) {
        metric = "vigil_throttle_overflow_dropped_total";
        snprintf(who, sizeof(who), "keys beyond max_keys (%lld), which share one bucket",
                 (long long)x->max_keys);
    } else {
        th_values(x, b, vals);
        for (i = 0; i < x->key.n && n < sizeof(who); i++)
            n += (size_t)snprintf(who + n, sizeof(who) - n, "%s%s=%s", i > 0 ? " " : "",
                                  x->key.v[i], vals[i]);
    }
    vg_complain(&x->complain, VG_LOG_WARN, "throttle", x->name,
                "dropping records of %s: over %g a second (burst %g); counted in %s", who, x->rate,
                x->capacity, metric);
}

static int throttle_run(void *ctx, struct vg_prec *pr)
{
    struct throttle_ctx *x = ctx;
    int64_t now = x->clock(x->clock_arg);
    struct th_bucket *b;

    if (th_key(x, pr) != VG_OK)
        return VG_ENOMEM;
    if (now - x->last_sweep_ns >= TH_SWEEP_NS)
        th_sweep(x, now);
    b = th_bucket(x, now);
    if (b == NULL)
        return VG_ENOMEM;
    b->tokens = th_tokens(x, b, now);
    b->last_ns = now > b->last_ns ? now : b->last_ns;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        b->dropping = false;
        return VG_FILTER_KEEP;
    }
    b->dropped++;
    x->dropped++;
    if (!b->dropping)
        th_warn(x, b);
    b->dropping = true;
    return VG_FILTER_DROP;
}

static void throttle_metrics(void *ctx, struct vg_emit *e, const char *collector, const char *step)
{
    struct throttle_ctx *x = ctx;
    struct vg_label labels[TH_MAX_KEY_FIELDS + 2] = {{"collector", collector}, {"step", step}};
    const char *vals[TH_MAX_KEY_FIELDS];
    size_t i, k;

    for (i = 0; i < x->n_buckets; i++) {
        if (x->buckets[i].dropped == 0)
            continue;
        th_values(x, &x->buckets[i], vals);
        for (k = 0; k < x->key.n; k++) {
            labels[2 + k].name = x->labels[k];
            labels[2 + k].value = vals[k];
        }
        vg_emit_series(e, "vigil_log_throttled_total", VG_METRIC_COUNTER,
                       "Records a throttle step dropped, by key.", "", labels, 2 + x->key.n,
                       (double)x->buckets[i].dropped);
    }
    vg_filter_count_dropped(e, x->dropped, collector, step);
    vg_filter_count(e, "vigil_throttle_overflow_records_total",
                    "Records of keys beyond max_keys, which share one bucket.", x->overflow_records,
                    collector, step);
    vg_filter_count(e, "vigil_throttle_overflow_dropped_total",
                    "Records of keys beyond max_keys that a throttle step dropped.",
                    x->overflow.dropped, collector, step);
    vg_emit_gauge(e, "vigil_throttle_keys", "Keys a throttle step tracks.", (double)x->n_buckets,
                  "collector", collector, "step", step, NULL);
}

static void throttle_destroy(void *ctx)
{
    struct throttle_ctx *x = ctx;
    size_t i;

    for (i = 0; i < x->n_buckets; i++)
        free(x->buckets[i].key);
    for (i = 0; i < TH_MAX_KEY_FIELDS; i++)
        free(x->labels[i]);
    free(x->buckets);
    free(x->index);
    free(x->name);
    vg_buf_free(&x->keybuf);
    vg_buf_free(&x->scratch);
}

const struct vg_filter_ops vg_filter_throttle = {
    .name = "throttle",
    .doc = "rate-limit records per container (token bucket per key)",
    .options = throttle_options,
    .ctx_size = sizeof(struct throttle_ctx),
    .build = throttle_build,
    .run = throttle_run,
    .metrics = throttle_metrics,
    .destroy = throttle_destroy,
};

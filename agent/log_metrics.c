/*
 * log_metrics.c - metrics counted from log records: the always-on
 * per-container counters, the records' way to the user metrics, and
 * emitting both (see log_metrics.h for the design).
 */
#include <stdlib.h>
#include <string.h>

#include "log_metrics_internal.h"
#include "parse/parser.h"

/* Longest collector name remembered between records; a longer one is
 * compared afresh each record (slower, never wrong). */
#define LM_COLLECTOR_MAX 128

#define LM_HELP_RECORDS "Log records read, by container and stream."
#define LM_HELP_BYTES   "Bytes of log record bodies read, by container and stream."
#define LM_HELP_LEVELS  "Log records with a level field, by container and level."
#define LM_HELP_OVERFLOW                                                                           \
    "Log records counted in an overflow series because the metric held its most series."
#define LM_HELP_SERIES "Series a log-derived metric holds now."
#define LM_HELP_VALUE  "Log records a log-derived metric left out because their value was no number."

/* The fields the always-on set reads: the key's first, in key order. */
enum { LM_NAMESPACE, LM_POD, LM_CONTAINER, LM_STREAM, LM_LEVEL, LM_VIEW_FIELDS };
#define LM_KEY_FIELDS LM_STREAM

/* One record's fields of those names. */
struct lm_view {
    const struct vg_field *f[LM_VIEW_FIELDS];
};

enum { LM_STREAM_STDOUT, LM_STREAM_STDERR, LM_STREAM_NONE, LM_STREAM_OTHER, LM_STREAMS };
#define LM_LEVELS      (VG_LEVEL_FATAL - VG_LEVEL_TRACE + 2)
#define LM_LEVEL_OTHER (LM_LEVELS - 1)

static const char *const lm_stream_names[LM_STREAMS] = {"stdout", "stderr", "", "other"};
static const char *const lm_level_names[LM_LEVELS] = {"trace", "debug", "info", "warn",
                                                      "error", "fatal", "other"};

/* The counts of one container. */
struct lm_counts {
    uint64_t records[LM_STREAMS];
    uint64_t bytes[LM_STREAMS];
    uint64_t levels[LM_LEVELS];
};

/* The series the always-on set fed last, and its values (in its key). */
struct lm_last {
    bool valid;
    size_t index;
    const char *part[LM_KEY_FIELDS];
    size_t len[LM_KEY_FIELDS];
};

/* The level value read last and what it named. */
struct lm_level_memo {
    char text[16];
    size_t len; /* 0: none yet */
    int index;
};

struct vg_log_metrics {
    int64_t expiry_ns;
    bool fed;                    /* a record was counted */
    struct vg_log_series conts;  /* the always-on set, one series per container */
    struct lm_last last;         /* ... and the one fed last */
    uint64_t overflow;           /* records counted in its overflow series */
    struct lm_level_memo level;  /* the level read last */
    char coll[LM_COLLECTOR_MAX]; /* the collector of the last record */
    size_t coll_len;             /* SIZE_MAX: none, or too long to keep */
    struct vg_log_key key;       /* scratch for the key of a record */
    struct vg_log_user *users;
    size_t n_users, users_cap;
};

struct vg_log_metrics *vg_log_metrics_create(void)
{
    struct vg_log_metrics *m = vg_calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->expiry_ns = VG_LOG_METRICS_EXPIRY_NS;
    m->coll_len = SIZE_MAX;
    vg_log_key_init(&m->key);
    if (vg_log_series_init(&m->conts, LM_KEY_FIELDS + 1, sizeof(struct lm_counts),
                           VG_LOG_METRICS_MAX_SERIES) != VG_OK) {
        free(m);
        return NULL;
    }
    return m;
}

void vg_log_metrics_destroy(struct vg_log_metrics *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->n_users; i++)
        vg_log_user_free(&m->users[i]);
    free(m->users);
    vg_log_series_free(&m->conts);
    vg_log_key_free(&m->key);
    free(m);
}

int vg_log_metrics_set_limits(struct vg_log_metrics *m, int64_t expiry_ns, size_t max_series)
{
    struct vg_log_series fresh;
    int rc;

    if (m == NULL || m->fed || expiry_ns <= 0 || max_series == 0)
        return VG_EINVAL;
    rc = vg_log_series_init(&fresh, LM_KEY_FIELDS + 1, sizeof(struct lm_counts), max_series);
    if (rc != VG_OK)
        return rc;
    vg_log_series_free(&m->conts);
    m->conts = fresh;
    m->expiry_ns = expiry_ns;
    return VG_OK;
}

int vg_log_metrics_add(struct vg_log_metrics *m, const struct vg_log_metric_spec *spec,
                       struct vg_error *err)
{
    size_t cap = m->users_cap;
    int rc;

    if (vg_grow((void **)&m->users, &cap, m->n_users + 1, sizeof(*m->users)) != VG_OK) {
        vg_regex_destroy(spec->match);
        vg_regex_destroy(spec->field_match);
        return vg_error_set(err, VG_ENOMEM, "log_metrics: out of memory");
    }
    m->users_cap = cap;
    m->coll_len = SIZE_MAX; /* the next record works out its sources again */
    rc = vg_log_user_init(&m->users[m->n_users], spec, err);
    if (rc == VG_OK)
        m->n_users++;
    return rc;
}

size_t vg_log_metrics_user_count(const struct vg_log_metrics *m)
{
    return m->n_users;
}

/* ------------------------------------------------------------------------
 * Reading a record.
 */

/* The per-record compares below are of short strings, inline: a call to
 * strcmp or memcmp costs more than the compare itself. */

/* True when the NUL-terminated key is lit; the keys of a record most often
 * differ from lit at their first or second byte. */
static inline bool lm_key_is(const char *key, const char *lit)
{
    while (*lit != '\0' && *key == *lit) {
        key++;
        lit++;
    }
    return *key == *lit;
}

/* p[0..n) == q[0..n), eight bytes at a time, then four, then one. */
static inline bool lm_same(const char *p, const char *q, size_t n)
{
    uint64_t a, b;
    uint32_t c, d;

    for (; n >= 8; p += 8, q += 8, n -= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, q, 8);
        if (a != b)
            return false;
    }
    if (n >= 4) {
        memcpy(&c, p, 4);
        memcpy(&d, q, 4);
        if (c != d)
            return false;
        p += 4;
        q += 4;
        n -= 4;
    }
    for (; n > 0; p++, q++, n--)
        if (*p != *q)
            return false;
    return true;
}

/* The fields the always-on set reads, by slot, and by first byte the slot
 * a key may name (plus one; 0: none), so that most keys cost one load. */
static const char *const lm_view_keys[LM_VIEW_FIELDS] = {"namespace", "pod", "container", "stream",
                                                         "level"};
static const unsigned char lm_view_first[256] = {
    ['n'] = 1 + LM_NAMESPACE, ['p'] = 1 + LM_POD,   ['c'] = 1 + LM_CONTAINER,
    ['s'] = 1 + LM_STREAM,    ['l'] = 1 + LM_LEVEL,
};

/* One pass over r's fields: the first of each name wins, as for
 * vg_record_field. */
static void lm_view_of(const struct vg_record *r, struct lm_view *v)
{
    const struct vg_field *f;
    unsigned slot, found = 0;

    memset(v, 0, sizeof(*v));
    for (f = r->fields; f != NULL && found < LM_VIEW_FIELDS; f = f->next) {
        slot = lm_view_first[(unsigned char)f->key[0]];
        if (slot != 0 && v->f[slot - 1] == NULL && lm_key_is(f->key, lm_view_keys[slot - 1])) {
            v->f[slot - 1] = f;
            found++;
        }
    }
}

/* The text of field slot of v: a string's bytes, "" for anything else. */
static void lm_view_text(const struct lm_view *v, int slot, const char **p, size_t *len)
{
    const struct vg_field *f = v->f[slot];

    if (f == NULL || f->type != VG_FIELD_STR) {
        *p = "";
        *len = 0;
        return;
    }
    *p = f->v.s.ptr;
    *len = f->v.s.len;
}

static int lm_stream_of(const struct lm_view *v)
{
    const char *p;
    size_t len;

    if (v->f[LM_STREAM] == NULL)
        return LM_STREAM_NONE;
    lm_view_text(v, LM_STREAM, &p, &len);
    if (len == 6 && lm_same(p, "stdout", 6))
        return LM_STREAM_STDOUT;
    if (len == 6 && lm_same(p, "stderr", 6))
        return LM_STREAM_STDERR;
    return LM_STREAM_OTHER;
}

/* The level a `level` field names, as an index of lm_level_names: the
 * names the level parser writes at once, the last other spelling from
 * memory, the rest as vg_level_parse reads them. */
static int lm_level_of(struct vg_log_metrics *m, const struct vg_field *f)
{
    static const size_t lens[LM_LEVEL_OTHER] = {5, 5, 4, 4, 5, 5};
    char buf[32];
    const char *p;
    size_t len;
    enum vg_level level;
    int index;

    vg_log_field_text(f, buf, sizeof(buf), &p, &len);
    for (index = 0; index < LM_LEVEL_OTHER; index++)
        if (len == lens[index] && lm_same(p, lm_level_names[index], len))
            return index;
    if (len > 0 && len == m->level.len && lm_same(p, m->level.text, len))
        return m->level.index;
    index =
        vg_level_parse(p, len, &level) == VG_OK ? (int)(level - VG_LEVEL_TRACE) : LM_LEVEL_OTHER;
    if (len > 0 && len <= sizeof(m->level.text)) {
        memcpy(m->level.text, p, len);
        m->level.len = len;
        m->level.index = index;
    }
    return index;
}

/* True when collector differs from that of the previous record; then it
 * is remembered, and which user metrics take its records worked out. */
static bool lm_collector_changed(struct vg_log_metrics *m, const char *collector)
{
    size_t len = strlen(collector), i;

    if (len == m->coll_len && lm_same(collector, m->coll, len))
        return false;
    m->coll_len = len < sizeof(m->coll) ? len : SIZE_MAX;
    if (m->coll_len != SIZE_MAX)
        memcpy(m->coll, collector, len);
    for (i = 0; i < m->n_users; i++)
        vg_log_user_source(&m->users[i], collector);
    return true;
}

/* ------------------------------------------------------------------------
 * The always-on counters.
 */

/* True when v names the container fed last (same collector). */
static bool lm_last_same(const struct vg_log_metrics *m, const struct lm_view *v)
{
    const char *p;
    size_t len;
    int i;

    if (!m->last.valid)
        return false;
    for (i = 0; i < LM_KEY_FIELDS; i++) {
        lm_view_text(v, i, &p, &len);
        if (len != m->last.len[i] || !lm_same(p, m->last.part[i], len))
            return false;
    }
    return true;
}

/* Remembers series index as the one fed last (not the overflow series,
 * whose values are not a record's). */
static void lm_last_set(struct vg_log_metrics *m, size_t index)
{
    const char *p;
    size_t len;
    int i;

    m->last.valid = index != VG_LOG_SERIES_OVERFLOW;
    if (!m->last.valid)
        return;
    m->last.index = index;
    p = vg_log_series_key(&m->conts, index, &len);
    p += strlen(p) + 1; /* the collector */
    for (i = 0; i < LM_KEY_FIELDS; i++) {
        m->last.part[i] = p;
        m->last.len[i] = strlen(p);
        p += m->last.len[i] + 1;
    }
}

/* The series of v's container, found by its key. VG_OK or VG_ENOMEM. */
static int lm_container(struct vg_log_metrics *m, const char *collector, const struct lm_view *v,
                        int64_t now_ns, size_t *index)
{
    const char *p;
    size_t len;
    int i, rc;

    vg_log_key_reset(&m->key);
    rc = vg_log_key_add(&m->key, collector, strlen(collector));
    for (i = 0; rc == VG_OK && i < LM_KEY_FIELDS; i++) {
        lm_view_text(v, i, &p, &len);
        rc = vg_log_key_add(&m->key, p, len);
    }
    if (rc == VG_OK)
        rc = vg_log_series_get(&m->conts, &m->key, now_ns, index);
    if (rc == VG_OK)
        lm_last_set(m, *index);
    return rc;
}

static void lm_count(struct vg_log_metrics *m, const char *collector, bool coll_changed,
                     const struct vg_record *r, const struct lm_view *v, int64_t now_ns)
{
    struct lm_counts *c;
    size_t index;
    int stream = lm_stream_of(v);

    if (!coll_changed && lm_last_same(m, v)) {
        index = m->last.index;
        vg_log_series_touch(&m->conts, index, now_ns);
    } else if (lm_container(m, collector, v, now_ns, &index) != VG_OK) {
        return;
    }
    c = vg_log_series_vals(&m->conts, index);
    c->records[stream]++;
    c->bytes[stream] += r->body_len;
    if (v->f[LM_LEVEL] != NULL)
        c->levels[lm_level_of(m, v->f[LM_LEVEL])]++;
    if (index == VG_LOG_SERIES_OVERFLOW)
        m->overflow++;
}

void vg_log_metrics_record(struct vg_log_metrics *m, const char *collector,
                           const struct vg_record *r, int64_t mono_ns)
{
    struct lm_view v;
    bool changed;
    size_t i;

    if (m == NULL || r == NULL)
        return;
    if (collector == NULL)
        collector = "";
    m->fed = true;
    lm_view_of(r, &v);
    changed = lm_collector_changed(m, collector);
    lm_count(m, collector, changed, r, &v, mono_ns);
    for (i = 0; i < m->n_users; i++)
        vg_log_user_record(&m->users[i], &m->key, collector, r, mono_ns);
}

/* ------------------------------------------------------------------------
 * Emitting.
 */

/* Emits family's counts[i] for each i with seen[i] > 0, labelled l[0..4)
 * and l[4] (name: names[i]). */
static void lm_emit_counts(struct vg_log_emit *x, const char *family, const char *help,
                           struct vg_label *l, const char *name, const char *const *names,
                           const uint64_t *counts, const uint64_t *seen, int n)
{
    int i;

    l[4].name = name;
    for (i = 0; i < n; i++) {
        if (seen[i] == 0)
            continue;
        l[4].value = names[i];
        vg_log_emit_keep(
            x, vg_emit_series(x->e, family, VG_METRIC_COUNTER, help, "", l, 5, (double)counts[i]));
    }
}

/* Emits the counts of one container; the first error stays in *arg. */
static int lm_emit_container(void *arg, const char *const *val, const void *vals)
{
    const struct lm_counts *c = vals;
    struct vg_log_emit *x = arg;
    struct vg_label l[5] = {{"collector", val[0]},
                            {"namespace", val[1]},
                            {"pod", val[2]},
                            {"container", val[3]},
                            {NULL, NULL}};

    lm_emit_counts(x, "vigil_log_records_total", LM_HELP_RECORDS, l, "stream", lm_stream_names,
                   c->records, c->records, LM_STREAMS);
    lm_emit_counts(x, "vigil_log_bytes_total", LM_HELP_BYTES, l, "stream", lm_stream_names,
                   c->bytes, c->records, LM_STREAMS);
    lm_emit_counts(x, "vigil_log_level_total", LM_HELP_LEVELS, l, "level", lm_level_names,
                   c->levels, c->levels, LM_LEVELS);
    return VG_OK; /* the next series may still fit */
}

/* The agent's own counters of one metric. */
static void lm_emit_own(struct vg_log_emit *x, const char *metric, uint64_t overflow, size_t series,
                        const uint64_t *value_errors)
{
    vg_log_emit_keep(x, vg_emit_counter(x->e, "vigil_log_metrics_overflow_total", LM_HELP_OVERFLOW,
                                        (double)overflow, "metric", metric, NULL));
    vg_log_emit_keep(x, vg_emit_gauge(x->e, "vigil_log_metrics_series", LM_HELP_SERIES,
                                      (double)series, "metric", metric, NULL));
    if (value_errors != NULL)
        vg_log_emit_keep(x, vg_emit_counter(x->e, "vigil_log_metrics_value_errors_total",
                                            LM_HELP_VALUE, (double)*value_errors, "metric", metric,
                                            NULL));
}

int vg_log_metrics_emit(struct vg_log_metrics *m, struct vg_emit *e, int64_t mono_ns)
{
    int64_t before = vg_add_sat(mono_ns, -m->expiry_ns);
    struct vg_log_emit x = {e, VG_OK};
    struct vg_log_user *u;
    size_t i;

    if (vg_log_series_expire(&m->conts, before) > 0)
        m->last.valid = false;
    vg_log_series_each(&m->conts, lm_emit_container, &x);
    lm_emit_own(&x, "vigil_log_records_total", m->overflow, vg_log_series_count(&m->conts), NULL);
    for (i = 0; i < m->n_users; i++) {
        u = &m->users[i];
        vg_log_user_emit(u, &x, before);
        lm_emit_own(&x, u->name, u->overflow, vg_log_series_count(&u->series),
                    u->value != NULL ? &u->value_errors : NULL);
    }
    return x.rc;
}

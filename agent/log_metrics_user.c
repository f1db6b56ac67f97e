/*
 * log_metrics_user.c - the user-defined metrics of `log_metrics:`: which
 * records each one takes (source, scope, match, field condition), the
 * label values and value it reads from them, and its series.
 */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_metrics_internal.h"
#include "parse/parser.h"

#define LMU_NUMBER_MAX 64 /* longest text read as a value */
#define LMU_HELP       "Counted from log records (log_metrics)."

/* Prometheus' default histogram buckets. */
static const double lmu_default_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10};

/* The counts of a histogram series. */
struct lmu_hist {
    double sum;
    uint64_t count;
    uint64_t bucket[]; /* per bound, not cumulative */
};

/* ------------------------------------------------------------------------
 * Building.
 */

/* Copies n strings; VG_OK or VG_ENOMEM (*out then holds what was copied). */
static int lmu_strs(char ***out, const char *const *v, size_t n)
{
    size_t i;

    *out = n > 0 ? vg_calloc(n, sizeof(**out)) : NULL;
    if (n > 0 && *out == NULL)
        return VG_ENOMEM;
    for (i = 0; i < n; i++) {
        (*out)[i] = vg_strdup(v[i]);
        if ((*out)[i] == NULL)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* A copy of s, or NULL for NULL; *rc becomes VG_ENOMEM when it fails. */
static char *lmu_dup(const char *s, int *rc)
{
    char *copy;

    if (s == NULL)
        return NULL;
    copy = vg_strdup(s);
    if (copy == NULL)
        *rc = VG_ENOMEM;
    return copy;
}

/* A zeroed array of n elements for *arr, its count in *count. VG_OK or
 * VG_ENOMEM; nothing when n is 0. */
static int lmu_array(void **arr, size_t *count, size_t n, size_t size)
{
    if (n == 0)
        return VG_OK;
    *arr = vg_calloc(n, size);
    if (*arr == NULL)
        return VG_ENOMEM;
    *count = n;
    return VG_OK;
}

static int lmu_scope(struct vg_log_user *u, const struct vg_log_metric_spec *spec)
{
    size_t i;
    int rc = lmu_array((void **)&u->scope, &u->n_scope, spec->n_scope, sizeof(*u->scope));

    for (i = 0; rc == VG_OK && i < u->n_scope; i++) {
        vg_buf_init(&u->scope[i].last);
        u->scope[i].field = lmu_dup(spec->scope[i].field, &rc);
        u->scope[i].glob = lmu_dup(spec->scope[i].glob, &rc);
    }
    return rc;
}

/* The named group of `match` called name, or -1 (then a record field). */
static int lmu_group(const struct vg_log_user *u, const char *name)
{
    return u->match != NULL ? vg_regex_group(u->match, name) : -1;
}

static int lmu_labels(struct vg_log_user *u, const struct vg_log_metric_spec *spec)
{
    size_t i;
    int rc = lmu_array((void **)&u->labels, &u->n_labels, spec->n_labels, sizeof(*u->labels));

    for (i = 0; rc == VG_OK && i < u->n_labels; i++) {
        u->labels[i].name = lmu_dup(spec->labels[i], &rc);
        u->labels[i].group = lmu_group(u, spec->labels[i]);
    }
    return rc;
}

/* The histogram's bounds (spec's, else the default set) and the scratch
 * that emitting makes them cumulative in. */
static int lmu_bounds(struct vg_log_user *u, const struct vg_log_metric_spec *spec)
{
    const double *b = spec->n_buckets > 0 ? spec->buckets : lmu_default_bounds;
    size_t n = spec->n_buckets > 0 ? spec->n_buckets : VG_ARRAY_LEN(lmu_default_bounds);

    if (u->type != VG_METRIC_HISTOGRAM)
        return VG_OK;
    u->bounds = vg_calloc(n, sizeof(*u->bounds));
    u->cumulative = vg_calloc(n, sizeof(*u->cumulative));
    if (u->bounds == NULL || u->cumulative == NULL)
        return VG_ENOMEM;
    memcpy(u->bounds, b, n * sizeof(*b));
    u->n_bounds = n;
    return VG_OK;
}

/* What the runtime cannot work without; the plan says it first, better. */
static int lmu_spec_check(const struct vg_log_metric_spec *spec, struct vg_error *err)
{
    size_t i;

    if (spec->name == NULL || (spec->match == NULL && spec->field == NULL))
        return vg_error_set(err, VG_EINVAL,
                            "log_metrics: a metric needs a name and a match or "
                            "a field");
    if (spec->type != VG_METRIC_COUNTER && spec->type != VG_METRIC_HISTOGRAM)
        return vg_error_set(err, VG_EINVAL, "log_metrics: %s: a counter or a histogram",
                            spec->name);
    if (spec->type == VG_METRIC_HISTOGRAM && spec->value == NULL)
        return vg_error_set(err, VG_EINVAL, "log_metrics: %s: a histogram needs a value",
                            spec->name);
    if (spec->n_labels > VG_LOG_METRICS_MAX_LABELS)
        return vg_error_set(err, VG_EINVAL, "log_metrics: %s: more than %d labels", spec->name,
                            VG_LOG_METRICS_MAX_LABELS);
    for (i = 0; i < spec->n_buckets; i++)
        if (!isfinite(spec->buckets[i]) || (i > 0 && spec->buckets[i] <= spec->buckets[i - 1]))
            return vg_error_set(err, VG_EINVAL, "log_metrics: %s: buckets not ascending",
                                spec->name);
    return VG_OK;
}

/* Copies spec into u (patterns taken). VG_OK or VG_ENOMEM. */
static int lmu_fill(struct vg_log_user *u, const struct vg_log_metric_spec *spec)
{
    size_t val_size;
    int rc = VG_OK;

    u->type = spec->type;
    u->name = lmu_dup(spec->name, &rc);
    u->help = lmu_dup(spec->help != NULL ? spec->help : LMU_HELP, &rc);
    u->field = lmu_dup(spec->field, &rc);
    u->equals = lmu_dup(spec->equals, &rc);
    u->equals_len = spec->equals != NULL ? strlen(spec->equals) : 0;
    u->value = lmu_dup(spec->value, &rc);
    u->value_group = spec->value != NULL ? lmu_group(u, spec->value) : -1;
    u->takes = spec->n_sources == 0;
    if (rc == VG_OK)
        rc = lmu_strs(&u->sources, spec->sources, spec->n_sources);
    u->n_sources = u->sources != NULL ? spec->n_sources : 0;
    if (rc == VG_OK)
        rc = lmu_scope(u, spec);
    if (rc == VG_OK)
        rc = lmu_labels(u, spec);
    if (rc == VG_OK)
        rc = lmu_bounds(u, spec);
    val_size = u->type == VG_METRIC_HISTOGRAM
                   ? sizeof(struct lmu_hist) + u->n_bounds * sizeof(uint64_t)
                   : sizeof(double);
    if (rc == VG_OK)
        rc = vg_log_series_init(&u->series, 1 + u->n_labels, val_size,
                                spec->max_series > 0 ? spec->max_series
                                                     : VG_LOG_METRICS_USER_SERIES);
    return rc;
}

int vg_log_user_init(struct vg_log_user *u, const struct vg_log_metric_spec *spec,
                     struct vg_error *err)
{
    int rc;

    memset(u, 0, sizeof(*u));
    u->match = spec->match;
    u->field_match = spec->field_match;
    rc = lmu_spec_check(spec, err);
    if (rc == VG_OK && lmu_fill(u, spec) != VG_OK)
        rc = vg_error_set(err, VG_ENOMEM, "log_metrics: %s: out of memory", spec->name);
    if (rc != VG_OK)
        vg_log_user_free(u);
    return rc;
}

void vg_log_user_free(struct vg_log_user *u)
{
    size_t i;

    for (i = 0; u->sources != NULL && i < u->n_sources; i++)
        free(u->sources[i]);
    for (i = 0; u->scope != NULL && i < u->n_scope; i++) {
        free(u->scope[i].field);
        free(u->scope[i].glob);
        vg_buf_free(&u->scope[i].last);
    }
    for (i = 0; u->labels != NULL && i < u->n_labels; i++)
        free(u->labels[i].name);
    vg_regex_destroy(u->match);
    vg_regex_destroy(u->field_match);
    vg_log_series_free(&u->series);
    free(u->sources);
    free(u->scope);
    free(u->labels);
    free(u->bounds);
    free(u->cumulative);
    free(u->name);
    free(u->help);
    free(u->field);
    free(u->equals);
    free(u->value);
    memset(u, 0, sizeof(*u));
}

/* ------------------------------------------------------------------------
 * Taking a record.
 */

void vg_log_field_text(const struct vg_field *f, char *buf, size_t size, const char **p,
                       size_t *len)
{
    int n = 0;

    switch (f->type) {
    case VG_FIELD_STR:
    case VG_FIELD_JSON:
        *p = f->v.s.ptr;
        *len = f->v.s.len;
        return;
    case VG_FIELD_INT:
        n = snprintf(buf, size, "%lld", (long long)f->v.i);
        break;
    case VG_FIELD_DOUBLE:
        n = snprintf(buf, size, "%.17g", f->v.d);
        break;
    case VG_FIELD_BOOL:
        n = snprintf(buf, size, "%s", f->v.b ? "true" : "false");
        break;
    }
    *p = buf;
    *len = n > 0 ? ((size_t)n < size ? (size_t)n : size - 1) : 0;
}

void vg_log_user_source(struct vg_log_user *u, const char *collector)
{
    size_t i;

    u->takes = u->n_sources == 0;
    for (i = 0; !u->takes && i < u->n_sources; i++)
        u->takes = fnmatch(u->sources[i], collector, 0) == 0;
}

/* Whether the value p[0..len) of a scope entry matches its glob; the last
 * value judged is remembered, as records of one container come in runs. */
static bool lmu_scope_entry_ok(struct vg_log_scope_memo *s, const char *p, size_t len)
{
    if (s->known && s->last.len == len + 1 && memcmp(s->last.data, p, len) == 0)
        return s->ok;
    vg_buf_reset(&s->last);
    s->known = vg_buf_append(&s->last, p, len) == VG_OK && vg_buf_putc(&s->last, '\0') == VG_OK;
    if (!s->known)
        return false; /* out of memory: no NUL-terminated copy to match */
    s->ok = fnmatch(s->glob, s->last.data, 0) == 0;
    return s->ok;
}

static bool lmu_scope_ok(struct vg_log_user *u, const struct vg_record *r)
{
    const struct vg_field *f;
    const char *p;
    char buf[32];
    size_t i, len;

    for (i = 0; i < u->n_scope; i++) {
        f = vg_record_field(r, u->scope[i].field);
        p = "";
        len = 0;
        if (f != NULL)
            vg_log_field_text(f, buf, sizeof(buf), &p, &len);
        if (!lmu_scope_entry_ok(&u->scope[i], p, len))
            return false;
    }
    return true;
}

/* The field condition: `field` present, with `equals`' value or one that
 * `field_match` matches when they are given. */
static bool lmu_cond_ok(struct vg_log_user *u, const struct vg_record *r)
{
    const struct vg_field *f;
    const char *p;
    char buf[32];
    size_t len;
    bool limit;

    if (u->field == NULL)
        return true;
    f = vg_record_field(r, u->field);
    if (f == NULL)
        return false;
    if (u->equals == NULL && u->field_match == NULL)
        return true;
    vg_log_field_text(f, buf, sizeof(buf), &p, &len);
    if (u->equals != NULL)
        return len == u->equals_len && memcmp(p, u->equals, len) == 0;
    return vg_regex_match(u->field_match, p, len, &limit) > 0;
}

/* A number written p[0..len), whole. VG_OK or VG_EPARSE. */
static int lmu_number(const char *p, size_t len, double *out)
{
    char buf[LMU_NUMBER_MAX];
    char *end;

    if (len == 0 || len >= sizeof(buf))
        return VG_EPARSE;
    memcpy(buf, p, len);
    buf[len] = '\0';
    *out = strtod(buf, &end);
    return end == buf + len && isfinite(*out) ? VG_OK : VG_EPARSE;
}

/* The value of r for u: its named group in the last match (pairs), else
 * its field. A counter takes only numbers >= 0. VG_OK or VG_EPARSE. */
static int lmu_value(const struct vg_log_user *u, const struct vg_record *r, int pairs, double *out)
{
    const struct vg_field *f;
    size_t start, len;
    int rc = VG_EPARSE;

    if (u->value_group >= 0) {
        if (vg_regex_span(u->match, pairs, (uint32_t)u->value_group, &start, &len))
            rc = lmu_number(r->body + start, len, out);
    } else {
        f = vg_record_field(r, u->value);
        if (f != NULL && f->type == VG_FIELD_INT) {
            *out = (double)f->v.i;
            rc = VG_OK;
        } else if (f != NULL && f->type == VG_FIELD_DOUBLE && isfinite(f->v.d)) {
            *out = f->v.d;
            rc = VG_OK;
        } else if (f != NULL && f->type == VG_FIELD_STR) {
            rc = lmu_number(f->v.s.ptr, f->v.s.len, out);
        }
    }
    if (rc == VG_OK && u->type == VG_METRIC_COUNTER && *out < 0)
        rc = VG_EPARSE;
    return rc;
}

/* The key of r's series: collector, then each label's value. */
static int lmu_key(const struct vg_log_user *u, struct vg_log_key *key, const char *collector,
                   const struct vg_record *r, int pairs)
{
    const struct vg_field *f;
    const char *p;
    char buf[32];
    size_t i, start, len;
    int rc;

    vg_log_key_reset(key);
    rc = vg_log_key_add(key, collector, strlen(collector));
    for (i = 0; rc == VG_OK && i < u->n_labels; i++) {
        p = "";
        len = 0;
        if (u->labels[i].group >= 0) {
            if (vg_regex_span(u->match, pairs, (uint32_t)u->labels[i].group, &start, &len))
                p = r->body + start;
        } else {
            f = vg_record_field(r, u->labels[i].name);
            if (f != NULL)
                vg_log_field_text(f, buf, sizeof(buf), &p, &len);
        }
        rc = vg_log_key_add(key, p, len);
    }
    return rc;
}

static void lmu_observe(struct vg_log_user *u, void *vals, double v)
{
    struct lmu_hist *h = vals;
    size_t i;

    if (u->type == VG_METRIC_COUNTER) {
        *(double *)vals += v;
        return;
    }
    h->sum += v;
    h->count++;
    for (i = 0; i < u->n_bounds; i++) {
        if (v <= u->bounds[i]) {
            h->bucket[i]++;
            break;
        }
    }
}

void vg_log_user_record(struct vg_log_user *u, struct vg_log_key *key, const char *collector,
                        const struct vg_record *r, int64_t now_ns)
{
    double v = 1;
    int pairs = 0;
    size_t index;
    bool limit;

    if (!u->takes || !lmu_scope_ok(u, r) || !lmu_cond_ok(u, r))
        return;
    if (u->match != NULL) {
        pairs = vg_regex_match(u->match, r->body != NULL ? r->body : "", r->body_len, &limit);
        if (pairs < 0)
            return;
    }
    if (u->value != NULL && lmu_value(u, r, pairs, &v) != VG_OK) {
        u->value_errors++;
        return;
    }
    if (lmu_key(u, key, collector, r, pairs) != VG_OK ||
        vg_log_series_get(&u->series, key, now_ns, &index) != VG_OK)
        return;
    if (index == VG_LOG_SERIES_OVERFLOW)
        u->overflow++;
    lmu_observe(u, vg_log_series_vals(&u->series, index), v);
}

/* ------------------------------------------------------------------------
 * Emitting.
 */

struct lmu_emit {
    struct vg_log_user *u;
    struct vg_log_emit *x;
};

static int lmu_emit_series(void *arg, const char *const *val, const void *vals)
{
    const struct lmu_emit *a = arg;
    struct vg_log_user *u = a->u;
    const struct lmu_hist *h = vals;
    struct vg_label l[1 + VG_LOG_METRICS_MAX_LABELS];
    uint64_t run = 0;
    size_t i;

    l[0].name = "collector";
    l[0].value = val[0];
    for (i = 0; i < u->n_labels; i++) {
        l[i + 1].name = u->labels[i].name;
        l[i + 1].value = val[i + 1];
    }
    if (u->type == VG_METRIC_COUNTER) {
        vg_log_emit_keep(a->x, vg_emit_series(a->x->e, u->name, VG_METRIC_COUNTER, u->help, "", l,
                                              1 + u->n_labels, *(const double *)vals));
        return VG_OK;
    }
    for (i = 0; i < u->n_bounds; i++) {
        run += h->bucket[i];
        u->cumulative[i] = run;
    }
    vg_log_emit_keep(a->x,
                     vg_emit_histogram(a->x->e, u->name, u->help, l, 1 + u->n_labels, u->bounds,
                                       u->cumulative, u->n_bounds, h->sum, h->count));
    return VG_OK;
}

void vg_log_user_emit(struct vg_log_user *u, struct vg_log_emit *x, int64_t before_ns)
{
    struct lmu_emit a = {u, x};

    vg_log_series_expire(&u->series, before_ns);
    vg_log_series_each(&u->series, lmu_emit_series, &a);
}

/*
 * log_metrics_plan.c - the `log_metrics:` section: each entry checked
 * against its option table and the rules of metric and label names, its
 * patterns compiled, and the whole turned into the runtime's struct
 * vg_log_metrics (agent/log_metrics.h). Every problem of every entry is
 * reported, each at its file and line, as "log_metrics[I] (NAME): ...".
 */
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log_metrics.h"
#include "metrics.h"
#include "parse/parser.h"

#define LMP_MAX_BOUNDS   64
#define LMP_MAX_SERIES   1000000
#define LMP_RESERVED     "vigil_"
#define LMP_WHERE_MAX    160
#define LMP_PATTERN_SHOW 80 /* bytes of a pattern quoted in a message */

/* What the option table fills for one entry. */
struct lmp_opts {
    char *name;
    char *type;
    char *help;
    struct vg_strlist source;
    const struct vg_config_node *scope;
    char *match;
    char *field;
    char *equals;
    char *field_match;
    struct vg_strlist labels;
    char *value;
    const struct vg_config_node *buckets;
    int64_t max_series;
};

#define LMP_OPT(name, type, def, field, doc)                                                       \
    {                                                                                              \
        name, type, def, offsetof(struct lmp_opts, field), doc, 0, NULL                            \
    }

const struct vg_option vg_log_metrics_options[] = {
    {"name", VG_OPT_STR, NULL, offsetof(struct lmp_opts, name),
     "metric name as exposed ([a-zA-Z_:][a-zA-Z0-9_:]*, not vigil_*); a counter's ends in _total",
     VG_OPT_REQUIRED, NULL},
    {"type", VG_OPT_ENUM, "counter", offsetof(struct lmp_opts, type),
     "counter (adds 1, or value) or histogram (observes value)", 0, "counter|histogram"},
    LMP_OPT("help", VG_OPT_STR, NULL, help, "the metric's HELP text"),
    LMP_OPT("source", VG_OPT_STRLIST, NULL, source,
            "collector names or globs whose records count; default: every record collector"),
    LMP_OPT("scope", VG_OPT_NODE, NULL, scope,
            "map of record field to glob the field's value must match ({ namespace: shop })"),
    LMP_OPT("match", VG_OPT_STR, NULL, match,
            "PCRE2 pattern on the record's body; its named groups may be labels and value"),
    LMP_OPT("field", VG_OPT_STR, NULL, field, "a record field that must exist"),
    LMP_OPT("equals", VG_OPT_STR, NULL, equals, "... and hold this value"),
    LMP_OPT("field_match", VG_OPT_STR, NULL, field_match,
            "... or a value this PCRE2 pattern matches"),
    LMP_OPT("labels", VG_OPT_STRLIST, NULL, labels,
            "label names: named groups of match, else record fields of that name"),
    LMP_OPT(
        "value", VG_OPT_STR, NULL, value,
        "named group or field holding a number: what a histogram observes, what a counter adds"),
    LMP_OPT("buckets", VG_OPT_NODE, NULL, buckets,
            "histogram upper bounds, ascending; default 0.005 to 10 as Prometheus clients have"),
    {"max_series", VG_OPT_INT, "1000", offsetof(struct lmp_opts, max_series),
     "most label sets; more go to one series labelled __overflow__", VG_OPT_RANGE, NULL, 1,
     LMP_MAX_SERIES},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* The collectors that `source` may name. */
struct lmp_collectors {
    const char *const *names;
    size_t n;
};

/* One entry being planned. */
struct lmp_entry {
    const struct vg_config_node *node;
    char where[LMP_WHERE_MAX]; /* "log_metrics[0] (nginx_requests_total)" */
    struct vg_errors *errs;
    size_t first; /* the entry's first error */
    int rc;       /* VG_OK, VG_ECONFIG, VG_ENOMEM */
    struct lmp_opts o;
    struct vg_regex *match;
    struct vg_regex *field_match;
    double *bounds;
    size_t n_bounds;
    struct vg_log_scope *scope;
    size_t n_scope;
};

static void lmp_error(struct lmp_entry *x, const char *key, const char *fmt, ...) VG_PRINTF(3, 4);
static void lmp_warn(struct lmp_entry *x, const char *key, const char *fmt, ...) VG_PRINTF(3, 4);

/* The node of key in the entry, else the entry. */
static const struct vg_config_node *lmp_at(const struct lmp_entry *x, const char *key)
{
    const struct vg_config_node *n = key != NULL ? vg_node_get(x->node, key) : NULL;

    return n != NULL ? n : x->node;
}

/* Reports a problem of option key (or of the entry, key NULL) at its line,
 * unless that node has an error already (a refused value). */
static void lmp_error(struct lmp_entry *x, const char *key, const char *fmt, ...)
{
    va_list ap;

    if (x->rc == VG_OK)
        x->rc = VG_ECONFIG;
    va_start(ap, fmt);
    vg_errors_entryv(x->errs, x->first, lmp_at(x, key), key != NULL, x->where, fmt, ap);
    va_end(ap);
}

static void lmp_warn(struct lmp_entry *x, const char *key, const char *fmt, ...)
{
    char msg[VG_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vg_errors_warn(x->errs, lmp_at(x, key), "%s: %s", x->where, msg);
}

static bool lmp_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ------------------------------------------------------------------------
 * Names and types.
 */

/* The metric's name: valid, not reserved, and with the suffix its type
 * calls for (a counter's ends in _total; a histogram's parts get theirs). */
static void lmp_check_name(struct lmp_entry *x)
{
    const char *name = x->o.name;
    static const char *const taken[] = {"_total", "_bucket", "_sum", "_count"};
    size_t i;

    if (!vg_metric_name_valid(name)) {
        lmp_error(x, "name",
                  "invalid metric name '%s' (letters, digits, '_' and ':', not starting with a "
                  "digit)",
                  name);
        return;
    }
    if (strncmp(name, LMP_RESERVED, strlen(LMP_RESERVED)) == 0) {
        lmp_error(x, "name", "metric names starting with '%s' are the agent's own; choose another",
                  LMP_RESERVED);
        return;
    }
    if (vg_errors_about(x->errs, x->first, lmp_at(x, "type")))
        return; /* the type is unknown: so is the suffix it calls for */
    if (strcmp(x->o.type, "counter") == 0 && !lmp_ends_with(name, "_total")) {
        lmp_error(x, "name", "a counter's name ends in '_total' (such as '%s_total')", name);
        return;
    }
    for (i = 0; strcmp(x->o.type, "histogram") == 0 && i < VG_ARRAY_LEN(taken); i++)
        if (lmp_ends_with(name, taken[i]))
            lmp_error(x, "name",
                      "a histogram's name does not end in '%s' (its series add _bucket, _sum "
                      "and _count)",
                      taken[i]);
}

/* Reports a name given twice, naming the first entry that has it. */
static void lmp_check_duplicate(struct lmp_entry *x, const struct vg_config_node *section)
{
    const struct vg_config_node *c, *n;
    size_t j = 0;

    for (c = section->children; c != NULL && c != x->node; c = c->next, j++) {
        n = c->kind == VG_NODE_MAP ? vg_node_get(c, "name") : NULL;
        if (n == NULL || n->kind != VG_NODE_SCALAR || strcmp(n->value, x->o.name) != 0)
            continue;
        lmp_error(x, "name", "duplicate metric name '%s' (also log_metrics[%zu], line %d)",
                  x->o.name, j, n->line);
        return;
    }
}

/* ------------------------------------------------------------------------
 * Patterns and conditions.
 */

/* Compiles option key's pattern into *out; reports PCRE2's message. */
static void lmp_compile(struct lmp_entry *x, const char *key, const char *pattern,
                        struct vg_regex **out)
{
    char why[VG_ERROR_MAX];
    int rc;

    if (pattern == NULL)
        return;
    rc = vg_regex_create(pattern, 0, out, why, sizeof(why));
    if (rc == VG_ENOMEM)
        x->rc = VG_ENOMEM;
    else if (rc != VG_OK)
        lmp_error(x, key, "option '%s': pattern '%.*s%s': %s", key, LMP_PATTERN_SHOW, pattern,
                  strlen(pattern) > LMP_PATTERN_SHOW ? "..." : "", why);
}

static void lmp_check_condition(struct lmp_entry *x)
{
    if (x->o.match == NULL && x->o.field == NULL)
        lmp_error(x, NULL,
                  "give 'match' (a pattern on the body), 'field' (a condition on a field), or "
                  "both");
    if (x->o.field == NULL && x->o.equals != NULL)
        lmp_error(x, "equals", "option 'equals' goes with 'field' (the field it compares)");
    if (x->o.field == NULL && x->o.field_match != NULL)
        lmp_error(x, "field_match",
                  "option 'field_match' goes with 'field' (the field it matches)");
    if (x->o.equals != NULL && x->o.field_match != NULL)
        lmp_error(x, "field_match", "options 'equals' and 'field_match' both given; use one");
}

/* Warns when name, not a group of `match`, is a likely typo of one: it is
 * then read from a record field, which may not be what was meant. */
static void lmp_check_group(struct lmp_entry *x, const char *key, const char *name)
{
    const char *groups[64];
    const char *pick;
    uint32_t number;
    size_t i, n;

    if (x->match == NULL || vg_regex_group(x->match, name) >= 0)
        return;
    n = vg_regex_name_count(x->match);
    for (i = 0; i < n && i < VG_ARRAY_LEN(groups); i++)
        groups[i] = vg_regex_name(x->match, i, &number);
    pick = vg_suggest(name, groups, i);
    if (pick != NULL)
        lmp_warn(x, key,
                 "'%s' is no named group of 'match' (did you mean '%s'?); it is read from the "
                 "record field '%s'",
                 name, pick, name);
}

/* ------------------------------------------------------------------------
 * Labels, value, buckets.
 */

static void lmp_check_label(struct lmp_entry *x, size_t i)
{
    const char *name = x->o.labels.v[i];
    bool histogram = strcmp(x->o.type, "histogram") == 0;
    size_t j;

    if (!vg_label_name_valid(name)) {
        lmp_error(x, "labels",
                  "option 'labels': invalid label name '%s' ([a-zA-Z_][a-zA-Z0-9_]*, not "
                  "starting with '__')",
                  name);
        return;
    }
    if (strcmp(name, "collector") == 0 || (histogram && strcmp(name, "le") == 0)) {
        lmp_error(x, "labels", "option 'labels': '%s' is a label the agent sets itself", name);
        return;
    }
    for (j = 0; j < i; j++) {
        if (strcmp(x->o.labels.v[j], name) == 0) {
            lmp_error(x, "labels", "option 'labels': '%s' given twice", name);
            return;
        }
    }
    lmp_check_group(x, "labels", name);
}

static void lmp_check_labels_value(struct lmp_entry *x)
{
    size_t i;

    if (x->o.labels.n > VG_LOG_METRICS_MAX_LABELS)
        lmp_error(x, "labels", "option 'labels': %zu labels, more than %d", x->o.labels.n,
                  VG_LOG_METRICS_MAX_LABELS);
    for (i = 0; i < x->o.labels.n; i++)
        lmp_check_label(x, i);
    if (x->o.value != NULL)
        lmp_check_group(x, "value", x->o.value);
    else if (strcmp(x->o.type, "histogram") == 0)
        lmp_error(x, NULL, "a histogram needs 'value' (a named group or field holding a number)");
}

/* Reads bound i of the buckets (node n) into x->bounds; false after
 * reporting why not. */
static bool lmp_bound(struct lmp_entry *x, const struct vg_config_node *n, size_t i)
{
    double v;

    if (n->kind != VG_NODE_SCALAR || vg_parse_double(n->value, &v) != VG_OK) {
        lmp_error(x, "buckets", "option 'buckets': item %zu is not a number", i);
        return false;
    }
    if (i > 0 && v <= x->bounds[i - 1]) {
        lmp_error(x, "buckets", "option 'buckets': must ascend, but %s follows %g", n->value,
                  x->bounds[i - 1]);
        return false;
    }
    x->bounds[i] = v;
    return true;
}

static void lmp_buckets(struct lmp_entry *x)
{
    const struct vg_config_node *b = x->o.buckets, *c;
    size_t i = 0;

    if (b == NULL)
        return;
    if (strcmp(x->o.type, "histogram") != 0) {
        lmp_error(x, "buckets", "option 'buckets': only a histogram has buckets");
        return;
    }
    if (b->kind != VG_NODE_SEQ || b->n_children == 0 || b->n_children > LMP_MAX_BOUNDS) {
        lmp_error(x, "buckets", "option 'buckets': expected a list of 1 to %d ascending numbers",
                  LMP_MAX_BOUNDS);
        return;
    }
    x->bounds = vg_calloc(b->n_children, sizeof(*x->bounds));
    if (x->bounds == NULL) {
        x->rc = VG_ENOMEM;
        return;
    }
    for (c = b->children; c != NULL && lmp_bound(x, c, i); c = c->next)
        i++;
    x->n_bounds = i;
}

/* ------------------------------------------------------------------------
 * Scope and source.
 */

static void lmp_scope(struct lmp_entry *x)
{
    const struct vg_config_node *s = x->o.scope, *c;

    if (s == NULL)
        return;
    if (s->kind != VG_NODE_MAP || s->n_children == 0) {
        lmp_error(x, "scope",
                  "option 'scope': expected a map of field: glob (such as "
                  "{ namespace: shop, container: \"nginx*\" })");
        return;
    }
    x->scope = vg_calloc(s->n_children, sizeof(*x->scope));
    if (x->scope == NULL) {
        x->rc = VG_ENOMEM;
        return;
    }
    for (c = s->children; c != NULL; c = c->next) {
        if (c->kind != VG_NODE_SCALAR) {
            lmp_error(x, "scope", "option 'scope': '%s' must be a glob, not a %s", c->key,
                      c->kind == VG_NODE_MAP ? "map" : "sequence");
            continue;
        }
        x->scope[x->n_scope].field = c->key;
        x->scope[x->n_scope++].glob = c->value;
    }
}

static bool lmp_is_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Writes "a, b, c" (the collectors) into out. */
static void lmp_collector_list(const struct lmp_collectors *cs, char *out, size_t size)
{
    size_t i, len = 0;
    int n;

    out[0] = '\0';
    for (i = 0; i < cs->n; i++) {
        n = snprintf(out + len, size - len, "%s%s", i > 0 ? ", " : "", cs->names[i]);
        if (n < 0 || (size_t)n >= size - len)
            return;
        len += (size_t)n;
    }
}

/* A source that is no collector's name: an error with the closest name, a
 * glob that matches none: a warning (the metric counts nothing). */
static void lmp_source(struct lmp_entry *x, const struct lmp_collectors *cs, const char *src)
{
    const char *pick;
    char list[256];
    size_t i;

    for (i = 0; i < cs->n; i++)
        if (fnmatch(src, cs->names[i], 0) == 0)
            return;
    if (lmp_is_glob(src)) {
        lmp_warn(x, "source",
                 "option 'source': '%s' matches no record collector; it counts nothing", src);
        return;
    }
    pick = vg_suggest(src, cs->names, cs->n);
    lmp_collector_list(cs, list, sizeof(list));
    if (pick != NULL)
        lmp_error(x, "source",
                  "option 'source': no record collector named '%s' (did you mean '%s'?)", src,
                  pick);
    else
        lmp_error(x, "source",
                  "option 'source': no record collector named '%s' (record collectors: %s)", src,
                  cs->n > 0 ? list : "none");
}

/* ------------------------------------------------------------------------
 * Entries.
 */

/* "log_metrics[i] (name)", or without the name when there is none. */
static void lmp_where(struct lmp_entry *x, size_t i)
{
    const struct vg_config_node *n = vg_node_get(x->node, "name");

    if (n != NULL && n->kind == VG_NODE_SCALAR && n->value[0] != '\0')
        snprintf(x->where, sizeof(x->where), "log_metrics[%zu] (%.100s)", i, n->value);
    else
        snprintf(x->where, sizeof(x->where), "log_metrics[%zu]", i);
}

/* Every check of one entry whose options applied; patterns compiled. */
static void lmp_checks(struct lmp_entry *x, const struct vg_config_node *section,
                       const struct lmp_collectors *cs)
{
    size_t i;

    if (x->o.name != NULL) {
        lmp_check_name(x);
        lmp_check_duplicate(x, section);
    }
    lmp_compile(x, "match", x->o.match, &x->match);
    lmp_compile(x, "field_match", x->o.field_match, &x->field_match);
    lmp_check_condition(x);
    lmp_check_labels_value(x);
    lmp_buckets(x);
    lmp_scope(x);
    for (i = 0; i < x->o.source.n; i++)
        lmp_source(x, cs, x->o.source.v[i]);
}

/* Hands a checked entry to the runtime (the patterns go with it). */
static void lmp_add(struct lmp_entry *x, struct vg_log_metrics *m)
{
    struct vg_log_metric_spec spec = {
        .name = x->o.name,
        .type = strcmp(x->o.type, "histogram") == 0 ? VG_METRIC_HISTOGRAM : VG_METRIC_COUNTER,
        .help = x->o.help,
        .sources = (const char *const *)x->o.source.v,
        .n_sources = x->o.source.n,
        .scope = x->scope,
        .n_scope = x->n_scope,
        .match = x->match,
        .field = x->o.field,
        .equals = x->o.equals,
        .field_match = x->field_match,
        .labels = (const char *const *)x->o.labels.v,
        .n_labels = x->o.labels.n,
        .value = x->o.value,
        .buckets = x->bounds,
        .n_buckets = x->n_bounds,
        .max_series = (size_t)x->o.max_series,
    };
    struct vg_error err = {0};
    int rc;

    x->match = NULL;
    x->field_match = NULL;
    rc = vg_log_metrics_add(m, &spec, &err);
    if (rc == VG_ENOMEM)
        x->rc = VG_ENOMEM;
    else if (rc != VG_OK)
        lmp_error(x, NULL, "%s", err.msg);
}

static void lmp_entry_free(struct lmp_entry *x)
{
    vg_regex_destroy(x->match);
    vg_regex_destroy(x->field_match);
    free(x->bounds);
    free(x->scope);
    vg_options_free(vg_log_metrics_options, &x->o);
}

/* Plans entry i; VG_OK, VG_ECONFIG or VG_ENOMEM. */
static int lmp_entry(struct vg_log_metrics *m, const struct vg_config_node *section,
                     const struct vg_config_node *entry, size_t i, const struct lmp_collectors *cs,
                     struct vg_errors *errs)
{
    const struct vg_option *tables[1] = {vg_log_metrics_options};
    struct lmp_entry x = {.node = entry, .errs = errs, .first = errs->n};
    void *ctxs[1] = {&x.o};
    int rc;

    if (entry->kind != VG_NODE_MAP) {
        vg_errors_add(errs, entry,
                      "log_metrics[%zu]: expected a map with a 'name' (such as '- name: "
                      "app_errors_total'), found a %s",
                      i, entry->kind == VG_NODE_SEQ ? "sequence" : "scalar");
        return VG_ECONFIG;
    }
    lmp_where(&x, i);
    rc = vg_options_apply(tables, ctxs, 1, entry, x.where, NULL, errs);
    if (rc == VG_ENOMEM || x.o.type == NULL)
        x.rc = VG_ENOMEM;
    else if (rc != VG_OK)
        x.rc = VG_ECONFIG;
    if (x.rc != VG_ENOMEM)
        lmp_checks(&x, section, cs);
    if (x.rc == VG_OK)
        lmp_add(&x, m);
    if (x.rc == VG_ENOMEM)
        vg_errors_add(errs, entry, "%s: out of memory", x.where);
    rc = x.rc;
    lmp_entry_free(&x);
    return rc;
}

/* The section's value: a sequence, or nothing (empty or null). */
static bool lmp_section_seq(const struct vg_config_node *sec, struct vg_errors *errs, int *rc)
{
    *rc = VG_OK;
    if (sec == NULL || sec->kind == VG_NODE_SEQ)
        return sec != NULL;
    if (sec->kind == VG_NODE_SCALAR && !sec->quoted &&
        (sec->value[0] == '\0' || strcmp(sec->value, "~") == 0 || strcmp(sec->value, "null") == 0))
        return false;
    vg_errors_add(errs, sec,
                  "log_metrics: expected a sequence of metric maps ('- name: app_errors_total'), "
                  "found a %s",
                  sec->kind == VG_NODE_MAP ? "map" : "scalar");
    *rc = VG_ECONFIG;
    return false;
}

int vg_log_metrics_plan(const struct vg_config_node *section, const char *const *collectors,
                        size_t n_collectors, struct vg_log_metrics **out, struct vg_errors *errs)
{
    struct lmp_collectors cs = {collectors, n_collectors};
    struct vg_log_metrics *m = vg_log_metrics_create();
    const struct vg_config_node *entry;
    size_t i = 0;
    int rc, r;

    *out = NULL;
    if (m == NULL) {
        vg_errors_add(errs, section, "log_metrics: out of memory");
        return VG_ENOMEM;
    }
    if (lmp_section_seq(section, errs, &rc)) {
        for (entry = section->children; entry != NULL; entry = entry->next, i++) {
            r = lmp_entry(m, section, entry, i, &cs, errs);
            if (r == VG_ENOMEM || (r != VG_OK && rc == VG_OK))
                rc = r;
        }
    }
    if (rc != VG_OK) {
        vg_log_metrics_destroy(m);
        return rc;
    }
    *out = m;
    return VG_OK;
}

/*
 * alerts_plan.c - the rule half of the `alerts:` section: interval,
 * external_url and rules (the notifier keys belong to notify_plan.c and
 * are only known here). Each rule is checked against its option table,
 * its expression, count, clear, templates and notifier names, and turned
 * into the runtime's rule (agent/alert/rules.h); a log rule also becomes a
 * counter of the log metrics (agent/log_metrics.h) that the rule reads.
 * Every problem of every rule is reported, each at its file and line, as
 * "alerts.rules[I] (NAME): ...".
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/rules.h"
#include "alert/template.h"
#include "alloc.h"
#include "config.h"
#include "log_metrics.h"
#include "metrics.h"
#include "parse/parser.h"

#define AP_WHERE_MAX   160
#define AP_MAX_LABELS  64
#define AP_LOG_PREFIX  "vigil_alert_"
#define AP_LOG_SUFFIX  "_log_matches_total"
#define AP_LOG_HELP    "Log records matched by an alert rule's logs: (alerts.rules)."
#define AP_PATTERN_MAX 80

/* The section's own keys. */
struct ap_section {
    int64_t interval_ms;
    char *external_url;
    const struct vg_config_node *rules;
};

const struct vg_option vg_alerts_options[] = {
    {"interval", VG_OPT_DURATION, "15s", offsetof(struct ap_section, interval_ms),
     "how often every rule is evaluated", VG_OPT_MIN, NULL, 100, 0},
    {"external_url", VG_OPT_STR, NULL, offsetof(struct ap_section, external_url),
     "base of the alerts' generator URL (http://node:9469)", 0, NULL},
    {"rules", VG_OPT_NODE, NULL, offsetof(struct ap_section, rules),
     "the alerting rules: metric rules (expr) and log rules (logs, count)", 0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* The notifier half's keys (notify_plan.c), accepted here as they are. */
static const char *const ap_notify_keys[] = {
    "notifiers",       "group_by",      "group_wait", "group_interval",
    "repeat_interval", "send_resolved", "outbox_max", NULL};

/* What the option tables fill for one rule. */
struct ap_rule_opts {
    char *name;
    char *expr;
    const struct vg_config_node *logs;
    char *count;
    const struct vg_config_node *reduce;
    int64_t for_ms;
    int64_t keep_firing_for_ms;
    char *clear;
    char *severity;
    const struct vg_config_node *labels;
    const struct vg_config_node *annotations;
    struct vg_strlist notify;
    struct vg_strlist group_by;
    char *group_wait;
    char *group_interval;
    char *repeat_interval;
    char *send_resolved;
};

#define AP_OPT(name, type, def, field, doc)                                                        \
    {                                                                                              \
        name, type, def, offsetof(struct ap_rule_opts, field), doc, 0, NULL                        \
    }

const struct vg_option vg_alert_rule_options[] = {
    {"name", VG_OPT_STR, NULL, offsetof(struct ap_rule_opts, name),
     "the alert's name (alertname): letters, digits and '_', unique", VG_OPT_REQUIRED, NULL},
    AP_OPT("expr", VG_OPT_STR, NULL, expr,
           "metric rule: 'metric{label=\"v\",l=~\"re\"} > 85' (matchers = != =~ !~)"),
    AP_OPT("logs", VG_OPT_NODE, NULL, logs,
           "log rule: {match: PCRE2, source: [collectors], scope: {field: glob}, fields: [...]}"),
    AP_OPT("count", VG_OPT_STR, NULL, count, "log rule: '> N in 5m', matches over a window"),
    AP_OPT("reduce", VG_OPT_NODE, NULL, reduce,
           "metric rule: {fn: avg|max|min|rate, window: 1m} over each series' samples"),
    AP_OPT("for", VG_OPT_DURATION, "0", for_ms, "how long the condition holds before it fires"),
    AP_OPT("keep_firing_for", VG_OPT_DURATION, "0", keep_firing_for_ms,
           "how long a firing alert stays firing once its condition stops holding"),
    AP_OPT("clear", VG_OPT_STR, NULL, clear,
           "hysteresis: a number (fire above 85, resolve below clear: 80) or '<op> N'"),
    AP_OPT("severity", VG_OPT_STR, NULL, severity, "the severity label"),
    AP_OPT("labels", VG_OPT_NODE, NULL, labels, "map of extra labels"),
    AP_OPT("annotations", VG_OPT_NODE, NULL, annotations,
           "map of texts with {{ $labels.NAME }} and {{ $value }}"),
    AP_OPT("notify", VG_OPT_STRLIST, NULL, notify, "names of alerts.notifiers"),
    AP_OPT("group_by", VG_OPT_STRLIST, NULL, group_by, "grouping labels (default: the section's)"),
    AP_OPT("group_wait", VG_OPT_STR, NULL, group_wait, "duration (default: the section's)"),
    AP_OPT("group_interval", VG_OPT_STR, NULL, group_interval, "duration (default: the section's)"),
    AP_OPT("repeat_interval", VG_OPT_STR, NULL, repeat_interval,
           "duration (default: the section's)"),
    AP_OPT("send_resolved", VG_OPT_STR, NULL, send_resolved, "bool (default: the section's)"),
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

struct ap_logs_opts {
    char *match;
    struct vg_strlist source;
    const struct vg_config_node *scope;
    struct vg_strlist fields;
};

static const struct vg_option ap_logs_options[] = {
    {"match", VG_OPT_STR, NULL, offsetof(struct ap_logs_opts, match),
     "PCRE2 pattern on the body; its named groups become labels", VG_OPT_REQUIRED, NULL},
    {"source", VG_OPT_STRLIST, NULL, offsetof(struct ap_logs_opts, source),
     "collector names or globs; default: every record collector", 0, NULL},
    {"scope", VG_OPT_NODE, NULL, offsetof(struct ap_logs_opts, scope),
     "map of record field to glob", 0, NULL},
    {"fields", VG_OPT_STRLIST, NULL, offsetof(struct ap_logs_opts, fields),
     "record fields that become labels", 0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

struct ap_reduce_opts {
    char *fn;
    int64_t window_ms;
};

static const struct vg_option ap_reduce_options[] = {
    {"fn", VG_OPT_ENUM, NULL, offsetof(struct ap_reduce_opts, fn), "avg, max, min or rate",
     VG_OPT_REQUIRED, "avg|max|min|rate"},
    {"window", VG_OPT_DURATION, NULL, offsetof(struct ap_reduce_opts, window_ms),
     "the window the samples are taken from", VG_OPT_REQUIRED | VG_OPT_MIN, NULL, 1},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* What every rule is checked against. */
struct ap_ctx {
    const struct vg_config_node *section;
    const char *const *collectors; /* record collectors */
    size_t n_collectors;
    const char **notifiers; /* names in alerts.notifiers */
    size_t n_notifiers;
    struct vg_log_metrics *lm; /* NULL: log rules are only checked */
    struct vg_alert_runner *runner;
    struct vg_errors *errs;
};

/* One rule being planned and what it becomes. */
struct ap_rule {
    const struct vg_config_node *node;
    char where[AP_WHERE_MAX]; /* "alerts.rules[0] (GpuHot)" */
    struct vg_errors *errs;
    size_t first;
    int rc;
    struct ap_rule_opts o;
    struct ap_logs_opts lo;
    struct ap_reduce_opts ro;
    struct vg_alert_selector sel;
    struct vg_alert_rule_spec spec;
    struct vg_label labels[AP_MAX_LABELS];
    struct vg_label annotations[AP_MAX_LABELS];
    struct vg_regex *match;
    struct vg_log_scope scope[AP_MAX_LABELS];
    size_t n_scope;
    const char *log_labels[AP_MAX_LABELS];
    size_t n_log_labels;
    char metric[AP_WHERE_MAX];
};

static void ap_error(struct ap_rule *x, const char *key, const char *fmt, ...) VG_PRINTF(3, 4);

static const struct vg_config_node *ap_at(const struct ap_rule *x, const char *key)
{
    const struct vg_config_node *n = NULL, *logs = vg_node_get(x->node, "logs");

    if (key != NULL && strncmp(key, "logs.", 5) == 0 && logs != NULL)
        n = vg_node_get(logs, key + 5);
    else if (key != NULL)
        n = vg_node_get(x->node, key);
    return n != NULL ? n : x->node;
}

/* Reports a problem of option key (NULL: the rule) at its line, unless
 * that node has an error already. */
static void ap_error(struct ap_rule *x, const char *key, const char *fmt, ...)
{
    va_list ap;

    if (x->rc == VG_OK)
        x->rc = VG_ECONFIG;
    va_start(ap, fmt);
    vg_errors_entryv(x->errs, x->first, ap_at(x, key), key != NULL, x->where, fmt, ap);
    va_end(ap);
}

/* The node of one item of a map or sequence option (for its own line). */
static const struct vg_config_node *ap_item(const struct vg_config_node *n, size_t i)
{
    const struct vg_config_node *c = n != NULL ? n->children : NULL;

    while (c != NULL && i-- > 0)
        c = c->next;
    return c != NULL ? c : n;
}

static bool ap_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
              (i > 0 && s[i] >= '0' && s[i] <= '9')))
            return false;
    return i > 0;
}

/* ------------------------------------------------------------------------
 * Names, durations, maps.
 */

static void ap_check_name(struct ap_rule *x, const struct ap_ctx *c)
{
    const struct vg_config_node *r, *n;
    size_t j = 0;

    if (!ap_name_ok(x->o.name)) {
        ap_error(x, "name",
                 "option 'name': '%s' is not an alert name (letters, digits and '_', not "
                 "starting with a digit)",
                 x->o.name);
        return;
    }
    for (r = c->section != NULL ? ap_item(c->section, 0) : NULL; r != NULL && r != x->node;
         r = r->next, j++) {
        n = r->kind == VG_NODE_MAP ? vg_node_get(r, "name") : NULL;
        if (n != NULL && n->kind == VG_NODE_SCALAR && strcmp(n->value, x->o.name) == 0) {
            ap_error(x, "name", "duplicate rule name '%s' (also alerts.rules[%zu], line %d)",
                     x->o.name, j, n->line);
            return;
        }
    }
}

/* A duration option given as text (group_wait...): -1 when not given. */
static int64_t ap_duration(struct ap_rule *x, const char *key, const char *text)
{
    int64_t ms;

    if (text == NULL)
        return -1;
    if (vg_parse_duration_ms(text, &ms) != VG_OK || ms < 0) {
        ap_error(x, key, "option '%s': '%s' is not a duration (such as 30s, 5m, 4h)", key, text);
        return -1;
    }
    return ms;
}

/* A map option of scalars into out (at most AP_MAX_LABELS). */
static size_t ap_map(struct ap_rule *x, const char *key, const struct vg_config_node *m,
                     struct vg_label *out)
{
    const struct vg_config_node *c;
    size_t n = 0;

    if (m == NULL)
        return 0;
    if (m->kind != VG_NODE_MAP) {
        ap_error(x, key, "option '%s': expected a map of name: text", key);
        return 0;
    }
    for (c = m->children; c != NULL; c = c->next) {
        if (c->kind != VG_NODE_SCALAR)
            ap_error(x, key, "option '%s': '%s' must be a text, not a %s", key, c->key,
                     c->kind == VG_NODE_MAP ? "map" : "sequence");
        else if (!vg_label_name_valid(c->key))
            ap_error(x, key, "option '%s': '%s' is not a valid label name", key, c->key);
        else if (n == AP_MAX_LABELS)
            ap_error(x, key, "option '%s': more than %d entries", key, AP_MAX_LABELS);
        else
            out[n++] = (struct vg_label){c->key, c->value};
    }
    return n;
}

static void ap_check_templates(struct ap_rule *x)
{
    char why[256];
    size_t i;

    for (i = 0; i < x->spec.n_annotations; i++)
        if (vg_alert_template_check(x->annotations[i].value, why, sizeof(why)) != VG_OK)
            ap_error(x, "annotations", "option 'annotations': '%s': template error %s",
                     x->annotations[i].name, why);
}

/* Labels and annotations, severity among the labels. */
static void ap_labels(struct ap_rule *x)
{
    size_t i;

    x->spec.n_labels = ap_map(x, "labels", x->o.labels, x->labels);
    x->spec.n_annotations = ap_map(x, "annotations", x->o.annotations, x->annotations);
    ap_check_templates(x);
    if (x->o.severity == NULL)
        return;
    for (i = 0; i < x->spec.n_labels && strcmp(x->labels[i].name, "severity") != 0; i++)
        ;
    if (i == AP_MAX_LABELS)
        return;
    x->labels[i] = (struct vg_label){"severity", x->o.severity};
    if (i == x->spec.n_labels)
        x->spec.n_labels++;
}

/* ------------------------------------------------------------------------
 * Notifiers.
 */

static void ap_check_notify(struct ap_rule *x, const struct ap_ctx *c)
{
    const struct vg_config_node *list = vg_node_get(x->node, "notify");
    const char *pick;
    size_t i, j;

    for (i = 0; i < x->o.notify.n; i++) {
        const char *want = x->o.notify.v[i];

        for (j = 0; j < c->n_notifiers && strcmp(c->notifiers[j], want) != 0; j++)
            ;
        if (j < c->n_notifiers)
            continue;
        if (x->rc == VG_OK)
            x->rc = VG_ECONFIG;
        pick = vg_suggest(want, c->notifiers, c->n_notifiers);
        if (pick != NULL)
            vg_errors_add(x->errs, ap_item(list, i),
                          "%s: option 'notify': unknown notifier '%s' (did you mean '%s'?)",
                          x->where, want, pick);
        else
            vg_errors_add(x->errs, ap_item(list, i),
                          "%s: option 'notify': unknown notifier '%s' (%s)", x->where, want,
                          c->n_notifiers > 0 ? "not a key of alerts.notifiers"
                                             : "alerts.notifiers is empty");
    }
}

/* The names of alerts.notifiers: the keys of a map, or the `name` of
 * each entry of a sequence. *out is malloc'd. */
static size_t ap_notifier_names(const struct vg_config_node *sec, const char ***out)
{
    const struct vg_config_node *n = vg_node_get(sec, "notifiers"), *c, *name;
    size_t k = 0;

    *out = vg_calloc(n != NULL ? n->n_children + 1 : 1, sizeof(**out));
    if (*out == NULL || n == NULL)
        return 0;
    for (c = n->children; c != NULL; c = c->next) {
        if (n->kind == VG_NODE_MAP) {
            (*out)[k++] = c->key;
            continue;
        }
        name = c->kind == VG_NODE_MAP ? vg_node_get(c, "name") : NULL;
        if (name != NULL && name->kind == VG_NODE_SCALAR)
            (*out)[k++] = name->value;
    }
    return k;
}

/* ------------------------------------------------------------------------
 * Metric rules.
 */

static void ap_reduce(struct ap_rule *x)
{
    const struct vg_option *tables[1] = {ap_reduce_options};
    void *ctxs[1] = {&x->ro};
    char where[AP_WHERE_MAX + 16];

    if (x->o.reduce == NULL)
        return;
    snprintf(where, sizeof(where), "%s: reduce", x->where);
    if (x->o.reduce->kind != VG_NODE_MAP) {
        ap_error(x, "reduce", "option 'reduce': expected {fn: avg|max|min|rate, window: 1m}");
        return;
    }
    if (vg_options_apply(tables, ctxs, 1, x->o.reduce, where, NULL, x->errs) != VG_OK ||
        x->ro.fn == NULL) {
        if (x->rc == VG_OK)
            x->rc = VG_ECONFIG;
        return;
    }
    x->spec.window_ms = x->ro.window_ms;
    if (strcmp(x->ro.fn, "avg") == 0)
        x->spec.reduce = VG_REDUCE_AVG;
    else if (strcmp(x->ro.fn, "max") == 0)
        x->spec.reduce = VG_REDUCE_MAX;
    else if (strcmp(x->ro.fn, "min") == 0)
        x->spec.reduce = VG_REDUCE_MIN;
    else
        x->spec.reduce = VG_REDUCE_RATE;
}

/* clear: parsed; one that names a metric names the rule's. */
static void ap_clear(struct ap_rule *x)
{
    const char *p = x->o.clear;
    char why[256];
    size_t n;

    x->spec.has_clear = true;
    if (vg_alert_clear_parse(p, &x->spec.fire, &x->spec.keep, why, sizeof(why)) != VG_OK) {
        ap_error(x, "clear", "option 'clear': cannot parse '%s': %s", p, why);
        return;
    }
    p += strspn(p, " \t");
    n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:");
    if (n > 0) /* a name, not a number */
        n += strspn(p + n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
    if (n > 0 && x->sel.metric != NULL &&
        (strlen(x->sel.metric) != n || strncmp(p, x->sel.metric, n) != 0))
        ap_error(x, "clear", "option 'clear': compares '%.*s', not the rule's metric '%s'", (int)n,
                 p, x->sel.metric);
}

static void ap_metric_rule(struct ap_rule *x)
{
    char why[256];

    if (x->o.count != NULL)
        ap_error(x, "count", "option 'count' is for log rules (logs:); use expr's comparison");
    if (vg_alert_expr_parse(x->o.expr, &x->sel, &x->spec.fire, why, sizeof(why)) != VG_OK)
        ap_error(x, "expr", "option 'expr': cannot parse '%s': %s", x->o.expr, why);
    if (x->o.clear != NULL)
        ap_clear(x);
    ap_reduce(x);
}

/* ------------------------------------------------------------------------
 * Log rules.
 */

static void ap_log_source(struct ap_rule *x, const struct ap_ctx *c, const char *src)
{
    const char *pick;
    size_t i;

    for (i = 0; i < c->n_collectors; i++)
        if (fnmatch(src, c->collectors[i], 0) == 0)
            return;
    pick = vg_suggest(src, c->collectors, c->n_collectors);
    if (pick != NULL)
        ap_error(x, "logs.source",
                 "logs: option 'source': no record collector named '%s' (did you mean '%s'?)", src,
                 pick);
    else
        ap_error(x, "logs.source", "logs: option 'source': no record collector named '%s'", src);
}

/* The labels of a log rule: the named groups of match, then fields. */
static void ap_log_labels(struct ap_rule *x)
{
    size_t i, j, n = vg_regex_name_count(x->match);
    uint32_t number;

    for (i = 0; i < n && x->n_log_labels < AP_MAX_LABELS; i++)
        x->log_labels[x->n_log_labels++] = vg_regex_name(x->match, i, &number);
    for (i = 0; i < x->lo.fields.n && x->n_log_labels < AP_MAX_LABELS; i++) {
        const char *f = x->lo.fields.v[i];

        if (!vg_label_name_valid(f)) {
            ap_error(x, "logs.fields", "logs: option 'fields': '%s' is not a valid label name", f);
            continue;
        }
        for (j = 0; j < x->n_log_labels && strcmp(x->log_labels[j], f) != 0; j++)
            ;
        if (j == x->n_log_labels)
            x->log_labels[x->n_log_labels++] = f;
    }
}

static void ap_log_scope(struct ap_rule *x)
{
    const struct vg_config_node *s = x->lo.scope, *c;

    if (s == NULL)
        return;
    if (s->kind != VG_NODE_MAP) {
        ap_error(x, "logs.scope", "logs: option 'scope': expected a map of field: glob");
        return;
    }
    for (c = s->children; c != NULL && x->n_scope < AP_MAX_LABELS; c = c->next) {
        if (c->kind != VG_NODE_SCALAR)
            ap_error(x, "logs.scope", "logs: option 'scope': '%s' must be a glob", c->key);
        else
            x->scope[x->n_scope++] = (struct vg_log_scope){c->key, c->value};
    }
}

/* count: "> N in 5m" into the rule's test and window. */
static void ap_log_count(struct ap_rule *x)
{
    char why[256], window[64];
    int64_t ms = 0;

    if (x->o.count == NULL) {
        ap_error(x, NULL, "a log rule needs 'count' (such as count: \"> 0 in 5m\")");
        return;
    }
    if (vg_alert_count_parse(x->o.count, &x->spec.fire, window, sizeof(window), why, sizeof(why)) !=
        VG_OK)
        ap_error(x, "count", "option 'count': cannot parse '%s': %s", x->o.count, why);
    else if (vg_parse_duration_ms(window, &ms) != VG_OK || ms <= 0)
        ap_error(x, "count", "option 'count': '%s' is not a duration (such as 5m)", window);
    x->spec.window_ms = ms;
    x->spec.reduce = VG_REDUCE_INCREASE;
    x->spec.from_zero = true;
}

static void ap_log_rule(struct ap_rule *x, const struct ap_ctx *c)
{
    const struct vg_option *tables[1] = {ap_logs_options};
    void *ctxs[1] = {&x->lo};
    char where[AP_WHERE_MAX + 16], why[VG_ERROR_MAX];
    size_t i;

    if (x->o.expr != NULL || x->o.reduce != NULL || x->o.clear != NULL)
        ap_error(x,
                 x->o.expr != NULL     ? "expr"
                 : x->o.reduce != NULL ? "reduce"
                                       : "clear",
                 "a rule has either 'expr' (a metric rule) or 'logs' (a log rule), and "
                 "reduce/clear go with expr");
    ap_log_count(x);
    snprintf(where, sizeof(where), "%s: logs", x->where);
    if (x->o.logs->kind != VG_NODE_MAP) {
        ap_error(x, "logs", "option 'logs': expected {match: PCRE2, source: [...], ...}");
        return;
    }
    if (vg_options_apply(tables, ctxs, 1, x->o.logs, where, NULL, x->errs) != VG_OK ||
        x->lo.match == NULL) {
        if (x->rc == VG_OK)
            x->rc = VG_ECONFIG;
        return;
    }
    if (vg_regex_create(x->lo.match, 0, &x->match, why, sizeof(why)) != VG_OK) {
        ap_error(x, "logs.match", "logs: option 'match': pattern '%.*s': %s", AP_PATTERN_MAX,
                 x->lo.match, why);
        return;
    }
    for (i = 0; i < x->lo.source.n; i++)
        ap_log_source(x, c, x->lo.source.v[i]);
    ap_log_labels(x);
    ap_log_scope(x);
}

/* The counter the log rule reads, added to the log metrics (which take
 * the pattern), and the rule's selector on it. */
static void ap_log_add(struct ap_rule *x, const struct ap_ctx *c)
{
    struct vg_log_metric_spec ls = {0};
    struct vg_error err = {0};

    snprintf(x->metric, sizeof(x->metric), "%s%s%s", AP_LOG_PREFIX, x->o.name, AP_LOG_SUFFIX);
    ls.name = x->metric;
    ls.type = VG_METRIC_COUNTER;
    ls.help = AP_LOG_HELP;
    ls.sources = (const char *const *)x->lo.source.v;
    ls.n_sources = x->lo.source.n;
    ls.scope = x->scope;
    ls.n_scope = x->n_scope;
    ls.match = x->match;
    ls.labels = x->log_labels;
    ls.n_labels = x->n_log_labels;
    x->match = NULL; /* the log metrics' now, even on error */
    if (vg_log_metrics_add(c->lm, &ls, &err) != VG_OK) {
        ap_error(x, "logs", "logs: %s", err.msg);
        return;
    }
    x->sel.metric = vg_strdup(x->metric);
    if (x->sel.metric == NULL)
        x->rc = VG_ENOMEM;
}

/* ------------------------------------------------------------------------
 * Rules.
 */

static void ap_where(struct ap_rule *x, size_t i)
{
    const struct vg_config_node *n = vg_node_get(x->node, "name");

    if (n != NULL && n->kind == VG_NODE_SCALAR && n->value[0] != '\0')
        snprintf(x->where, sizeof(x->where), "alerts.rules[%zu] (%.100s)", i, n->value);
    else
        snprintf(x->where, sizeof(x->where), "alerts.rules[%zu]", i);
}

/* Every check of one rule whose options applied. */
static void ap_checks(struct ap_rule *x, const struct ap_ctx *c)
{
    if (x->o.name != NULL)
        ap_check_name(x, c);
    if (x->o.expr == NULL && x->o.logs == NULL)
        ap_error(x, NULL, "give 'expr' (a metric rule) or 'logs' with 'count' (a log rule)");
    else if (x->o.logs != NULL)
        ap_log_rule(x, c);
    else
        ap_metric_rule(x);
    ap_labels(x);
    ap_check_notify(x, c);
    x->spec.group_wait_ms = ap_duration(x, "group_wait", x->o.group_wait);
    x->spec.group_interval_ms = ap_duration(x, "group_interval", x->o.group_interval);
    x->spec.repeat_interval_ms = ap_duration(x, "repeat_interval", x->o.repeat_interval);
    x->spec.send_resolved = -1;
    if (x->o.send_resolved != NULL) {
        bool b = false;

        if (vg_parse_bool(x->o.send_resolved, &b) != VG_OK)
            ap_error(x, "send_resolved", "option 'send_resolved': '%s' is not true or false",
                     x->o.send_resolved);
        x->spec.send_resolved = b;
    }
}

/* Hands a checked rule to the runner. */
static void ap_add(struct ap_rule *x, const struct ap_ctx *c)
{
    struct vg_error err = {0};

    if (x->o.logs != NULL && c->lm != NULL)
        ap_log_add(x, c);
    if (x->rc != VG_OK || c->runner == NULL || x->sel.metric == NULL)
        return;
    x->spec.name = x->o.name;
    x->spec.sel = &x->sel;
    x->spec.for_ms = x->o.for_ms;
    x->spec.keep_firing_for_ms = x->o.keep_firing_for_ms;
    x->spec.labels = x->labels;
    x->spec.annotations = x->annotations;
    x->spec.notify = (const char *const *)x->o.notify.v;
    x->spec.n_notify = x->o.notify.n;
    x->spec.group_by = (const char *const *)x->o.group_by.v;
    x->spec.n_group_by = x->o.group_by.n;
    if (vg_alert_runner_add(c->runner, &x->spec, &err) != VG_OK)
        ap_error(x, NULL, "%s", err.msg);
}

static void ap_rule_free(struct ap_rule *x)
{
    vg_regex_destroy(x->match);
    vg_alert_selector_free(&x->sel);
    vg_options_free(vg_alert_rule_options, &x->o);
    vg_options_free(ap_logs_options, &x->lo);
    vg_options_free(ap_reduce_options, &x->ro);
}

/* Plans rule i; VG_OK, VG_ECONFIG or VG_ENOMEM. */
static int ap_rule(const struct ap_ctx *c, const struct vg_config_node *entry, size_t i)
{
    const struct vg_option *tables[1] = {vg_alert_rule_options};
    struct ap_rule *x = vg_calloc(1, sizeof(*x));
    void *ctxs[1];
    int rc;

    if (x == NULL)
        return VG_ENOMEM;
    x->node = entry;
    x->errs = c->errs;
    x->first = c->errs->n;
    ctxs[0] = &x->o;
    ap_where(x, i);
    if (entry->kind != VG_NODE_MAP) {
        vg_errors_add(c->errs, entry, "%s: expected a map with a 'name' and 'expr' or 'logs'",
                      x->where);
        free(x);
        return VG_ECONFIG;
    }
    rc = vg_options_apply(tables, ctxs, 1, entry, x->where, NULL, c->errs);
    x->rc = rc == VG_ENOMEM ? VG_ENOMEM : rc != VG_OK ? VG_ECONFIG : VG_OK;
    if (x->rc != VG_ENOMEM)
        ap_checks(x, c);
    if (x->rc == VG_OK)
        ap_add(x, c);
    if (x->rc == VG_ENOMEM)
        vg_errors_add(c->errs, entry, "%s: out of memory", x->where);
    rc = x->rc;
    ap_rule_free(x);
    free(x);
    return rc;
}

/* Every rule of the section's rules: sequence. */
static int ap_rules(struct ap_ctx *c, const struct vg_config_node *rules)
{
    const struct vg_config_node *entry;
    size_t i = 0;
    int rc = VG_OK, r;

    if (rules == NULL)
        return VG_OK;
    if (rules->kind != VG_NODE_SEQ) {
        vg_errors_add(c->errs, rules,
                      "alerts: option 'rules': expected a sequence of rules ('- name: GpuHot')");
        return VG_ECONFIG;
    }
    c->section = rules;
    for (entry = rules->children; entry != NULL; entry = entry->next, i++) {
        r = ap_rule(c, entry, i);
        if (r == VG_ENOMEM || (r != VG_OK && rc == VG_OK))
            rc = r;
    }
    return rc;
}

int vg_alerts_plan(const struct vg_config_node *section, const char *const *collectors,
                   size_t n_collectors, struct vg_log_metrics *lm, struct vg_alert_runner **out,
                   struct vg_errors *errs)
{
    const struct vg_option *tables[1] = {vg_alerts_options};
    struct ap_section s = {0};
    void *ctxs[1] = {&s};
    struct ap_ctx c = {NULL, collectors, n_collectors, NULL, 0, lm, NULL, errs};
    int rc, r;

    *out = NULL;
    if (section == NULL)
        return VG_OK;
    if (section->kind != VG_NODE_MAP) {
        vg_errors_add(errs, section, "alerts: expected a map (interval, rules, notifiers...)");
        return VG_ECONFIG;
    }
    rc = vg_options_apply(tables, ctxs, 1, section, "alerts", ap_notify_keys, errs);
    c.n_notifiers = ap_notifier_names(section, &c.notifiers);
    c.runner = vg_alert_runner_create(s.interval_ms, s.external_url);
    if (c.notifiers == NULL || c.runner == NULL)
        rc = VG_ENOMEM;
    r = rc == VG_ENOMEM ? VG_ENOMEM : ap_rules(&c, s.rules);
    if (r != VG_OK && rc != VG_ENOMEM)
        rc = r;
    free(c.notifiers);
    vg_options_free(vg_alerts_options, &s);
    if (rc != VG_OK || vg_alert_runner_rule_count(c.runner) == 0) {
        vg_alert_runner_destroy(c.runner);
        return rc == VG_ENOMEM ? VG_ENOMEM : rc != VG_OK ? VG_ECONFIG : VG_OK;
    }
    *out = c.runner;
    return VG_OK;
}

/*
 * test_alert_rules.c - the alert rule engine on a fake clock: the
 * expression, count, clear and template parsers; pending to firing after
 * `for`, a condition that breaks inside `for`, hysteresis with a value
 * flapping around the threshold, keep_firing_for, a vanishing series,
 * reduce windows, a restart in the middle of a firing alert (state file
 * reloaded), ALERTS and the /api/v1/alerts body; and every error of a bad
 * rule with its line. A test double of the notify hook counts the
 * transitions to firing and to resolved that it is shown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alert/expr.h"
#include "alert/rules.h"
#include "alert/template.h"
#include "config.h"
#include "core.h"
#include "log_metrics.h"
#include "metrics.h"
#include "plan_fixture.h"

#define SEC VG_NS_PER_SEC
#define T0  (INT64_C(1800000000) * SEC)

/* ------------------------------------------------------------------------
 * The notify hook's double: per alert (its labels joined), the last
 * state shown, and the transitions seen.
 */
#define HOOK_MAX 32

struct hook {
    char key[HOOK_MAX][256];
    int state[HOOK_MAX]; /* 0 none, 1 firing, 2 resolved */
    size_t n;
    int firing, resolved, calls;
    size_t last_n;
    char last_summary[256];
};

static void hook_key(const struct vg_alert_msg *m, char *out, size_t size)
{
    size_t i, len = 0;

    out[0] = '\0';
    for (i = 0; i < m->n_labels && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s=%s,", m->labels[i].name,
                                m->labels[i].value);
}

static void hook_fn(void *arg, const struct vg_alert_msg *alerts, size_t n, int64_t now_ns)
{
    struct hook *h = arg;
    size_t i, j;
    char key[256];

    (void)now_ns;
    h->calls++;
    h->last_n = n;
    for (i = 0; i < n; i++) {
        int st = alerts[i].ends_at_ns == 0 ? 1 : 2;

        hook_key(&alerts[i], key, sizeof(key));
        for (j = 0; j < h->n && strcmp(h->key[j], key) != 0; j++)
            ;
        if (j == h->n) {
            assert_true(h->n < HOOK_MAX);
            snprintf(h->key[h->n++], sizeof(h->key[0]), "%s", key);
        }
        if (h->state[j] != st) {
            h->firing += st == 1;
            h->resolved += st == 2;
        }
        h->state[j] = st;
        if (alerts[i].n_annotations > 0)
            snprintf(h->last_summary, sizeof(h->last_summary), "%s",
                     alerts[i].annotations[0].value);
    }
}

/* ------------------------------------------------------------------------
 * Building rules and driving series.
 */

struct rule_opts {
    const char *expr;
    int64_t for_ms, keep_ms;
    const char *clear;
    enum vg_alert_reduce reduce;
    int64_t window_ms;
    const char *summary;
    bool from_zero;
};

static struct vg_alert_runner *runner_with(const char *name, const struct rule_opts *o,
                                           struct hook *h)
{
    struct vg_alert_runner *r = vg_alert_runner_create(15000, "http://node:9469/");
    struct vg_alert_selector sel;
    struct vg_label labels[] = {{"severity", "critical"}};
    struct vg_label ann[] = {{"summary", o->summary != NULL ? o->summary : "hot"}};
    const char *notify[] = {"oncall"};
    struct vg_alert_rule_spec spec = {0};
    struct vg_error err = {0};
    char why[256];

    assert_non_null(r);
    assert_int_equal(vg_alert_expr_parse(o->expr, &sel, &spec.fire, why, sizeof(why)), VG_OK);
    if (o->clear != NULL)
        assert_int_equal(vg_alert_clear_parse(o->clear, &spec.fire, &spec.keep, why, sizeof(why)),
                         VG_OK);
    spec.has_clear = o->clear != NULL;
    spec.name = name;
    spec.sel = &sel;
    spec.for_ms = o->for_ms;
    spec.keep_firing_for_ms = o->keep_ms;
    spec.reduce = o->reduce;
    spec.window_ms = o->window_ms;
    spec.from_zero = o->from_zero;
    spec.labels = labels;
    spec.n_labels = 1;
    spec.annotations = ann;
    spec.n_annotations = 1;
    spec.notify = notify;
    spec.n_notify = 1;
    spec.group_wait_ms = spec.group_interval_ms = spec.repeat_interval_ms = -1;
    spec.send_resolved = -1;
    assert_int_equal(vg_alert_runner_add(r, &spec, &err), VG_OK);
    vg_alert_runner_set_notify(r, hook_fn, h);
    return r;
}

/* Commits one gauge series per (gpu, value) pair: gpu_temperature_celsius
 * {gpu=...}; a NULL gpu ends the list. */
static void temps(struct vg_metric_store *st, ...)
{
    struct vg_samples *s = vg_samples_create();
    const char *gpu;
    va_list ap;

    assert_non_null(s);
    va_start(ap, st);
    for (gpu = va_arg(ap, const char *); gpu != NULL; gpu = va_arg(ap, const char *)) {
        double v = va_arg(ap, double);
        struct vg_label l[] = {{"gpu", gpu}, {"node", "n1"}};

        assert_int_equal(
            vg_samples_add(s, "gpu_temperature_celsius", VG_METRIC_GAUGE, "t", "", l, 2, v), VG_OK);
    }
    va_end(ap);
    assert_int_equal(vg_store_commit(st, "test", s), VG_OK);
    vg_samples_destroy(s);
}

static size_t firing_count(const struct vg_alert_runner *r)
{
    size_t firing = 0;

    vg_alert_runner_active(r, &firing);
    return firing;
}

/* ------------------------------------------------------------------------
 * The store's walk of one name's series.
 */

struct walk_seen {
    int calls;
    double sum;
    char last[128];
};

static void walk_cb(void *arg, const char *key, size_t key_len, size_t n, double value)
{
    struct walk_seen *w = arg;
    struct vg_label labels[8];
    size_t i, len = 0;

    assert_int_equal(vg_store_labels_split(key, key_len, labels, 8), n);
    w->calls++;
    w->sum += value;
    w->last[0] = '\0';
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(w->last + len, sizeof(w->last) - len, "%s=%s;", labels[i].name,
                                labels[i].value);
}

static void store_walks_series_of_one_name(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct vg_samples *s = vg_samples_create();
    struct vg_label l[] = {{"path", "/"}};
    double bounds[] = {0.1, 1};
    uint64_t counts[] = {1, 3};
    struct vg_emit e;
    struct walk_seen w = {0};

    (void)state;
    e.samples = s;
    e.sink = NULL;
    assert_int_equal(vg_emit_histogram(&e, "req_seconds", "h", l, 1, bounds, counts, 2, 2.5, 4),
                     VG_OK);
    assert_int_equal(vg_emit_counter(&e, "req_total", "c", 7.0, "path", "/", NULL), VG_OK);
    assert_int_equal(vg_store_commit(st, "t", s), VG_OK);
    assert_int_equal(vg_store_each_series(st, "req_total", walk_cb, &w), VG_OK);
    assert_int_equal(w.calls, 1);
    assert_string_equal(w.last, "path=/;");
    memset(&w, 0, sizeof(w));
    assert_int_equal(vg_store_each_series(st, "req_seconds_bucket", walk_cb, &w), VG_OK);
    assert_int_equal(w.calls, 3); /* 0.1, 1, +Inf */
    assert_true(w.sum == 1 + 3 + 4);
    memset(&w, 0, sizeof(w));
    assert_int_equal(vg_store_each_series(st, "req_seconds_count", walk_cb, &w), VG_OK);
    assert_int_equal(w.calls, 1);
    assert_true(w.sum == 4);
    memset(&w, 0, sizeof(w));
    assert_int_equal(vg_store_each_series(st, "req_seconds", walk_cb, &w), VG_OK);
    assert_int_equal(vg_store_each_series(st, "nothing_total", walk_cb, &w), VG_OK);
    assert_int_equal(vg_store_each_series(st, "x_bucket", walk_cb, &w), VG_OK);
    assert_int_equal(w.calls, 0); /* a histogram's own name has no plain series */
    assert_int_equal(vg_store_each_series(st, NULL, walk_cb, &w), VG_EINVAL);
    vg_samples_destroy(s);
    vg_store_destroy(st);
}

/* ------------------------------------------------------------------------
 * Parsers.
 */

static void expr_parses_selectors(void **state)
{
    struct vg_alert_selector sel;
    struct vg_alert_test t;
    char why[256];
    struct vg_label l[] = {{"gpu", "1"}, {"node", "b"}, {"pod", "x-7"}};

    (void)state;
    assert_int_equal(vg_alert_expr_parse(" up == 0 ", &sel, &t, why, sizeof(why)), VG_OK);
    assert_string_equal(sel.metric, "up");
    assert_int_equal(sel.n, 0);
    assert_int_equal(t.cmp, VG_CMP_EQ);
    assert_true(vg_alert_selector_matches(&sel, l, 3));
    vg_alert_selector_free(&sel);

    assert_int_equal(vg_alert_expr_parse("gpu_t{gpu=~\"0|1\", node!='a', pod!~\"y.*\","
                                         " zone=\"\",}>=8.5e1",
                                         &sel, &t, why, sizeof(why)),
                     VG_OK);
    assert_int_equal(sel.n, 4);
    assert_int_equal(t.cmp, VG_CMP_GE);
    assert_true(t.threshold == 85);
    assert_true(vg_alert_selector_matches(&sel, l, 3)); /* zone="" matches a missing label */
    l[0].value = "10";                                  /* anchored: "10" is not "0|1" */
    assert_false(vg_alert_selector_matches(&sel, l, 3));
    l[0].value = "0";
    l[2].value = "y1";
    assert_false(vg_alert_selector_matches(&sel, l, 3));
    vg_alert_selector_free(&sel);

    assert_int_equal(vg_alert_expr_parse("m{a=\"q\\\"x\"} < -1", &sel, &t, why, sizeof(why)),
                     VG_OK);
    assert_string_equal(sel.m[0].value, "q\"x");
    assert_true(t.threshold == -1);
    vg_alert_selector_free(&sel);
}

static void expect_expr_error(const char *text, const char *msg)
{
    struct vg_alert_selector sel;
    struct vg_alert_test t;
    char why[256] = "";

    assert_int_equal(vg_alert_expr_parse(text, &sel, &t, why, sizeof(why)), VG_EPARSE);
    assert_string_equal(why, msg);
    vg_alert_selector_free(&sel);
}

static void expr_reports_where(void **state)
{
    (void)state;
    expect_expr_error("", "at offset 0: expected a metric name");
    expect_expr_error("9m > 1", "at offset 0: expected a metric name");
    expect_expr_error("m",
                      "at offset 1: expected a comparison (>, >=, <, <=, ==, !=) and a number");
    expect_expr_error("m > ", "at offset 4: expected a number after '>'");
    expect_expr_error("m > 1 and", "at offset 6: unexpected 'and'");
    expect_expr_error("m{a} > 1", "at offset 3: expected a label matcher operator (=, !=, =~, !~)");
    expect_expr_error("m{a=b} > 1", "at offset 4: expected a quoted label value");
    expect_expr_error("m{a=\"b} > 1", "at offset 11: unterminated label value");
    expect_expr_error("m{a=\"b\" c=\"d\"} > 1",
                      "at offset 8: expected ',' or '}' after a label matcher");
    expect_expr_error("m{a=~\"(\"} > 1", "at offset 8: bad regex for label 'a': missing closing "
                                         "parenthesis at offset 7");
}

static void count_and_clear_parse(void **state)
{
    struct vg_alert_test t, keep;
    char why[256], win[32];

    (void)state;
    assert_int_equal(vg_alert_count_parse("> 0 in 5m", &t, win, sizeof(win), why, sizeof(why)),
                     VG_OK);
    assert_int_equal(t.cmp, VG_CMP_GT);
    assert_string_equal(win, "5m");
    assert_int_equal(vg_alert_count_parse(">= 3 in 1h30m", &t, win, sizeof(win), why, sizeof(why)),
                     VG_OK);
    assert_string_equal(win, "1h30m");
    assert_int_equal(vg_alert_count_parse("> 0", &t, win, sizeof(win), why, sizeof(why)),
                     VG_EPARSE);
    assert_string_equal(why, "at offset 3: expected 'in <duration>' (such as \"> 0 in 5m\")");
    assert_int_equal(vg_alert_count_parse("> 0 in", &t, win, sizeof(win), why, sizeof(why)),
                     VG_EPARSE);
    assert_string_equal(why, "at offset 6: expected a duration such as 5m after 'in'");

    t.cmp = VG_CMP_GT;
    t.threshold = 85;
    assert_int_equal(vg_alert_clear_parse("80", &t, &keep, why, sizeof(why)), VG_OK);
    assert_true(vg_alert_test_holds(&keep, 81));
    assert_false(vg_alert_test_holds(&keep, 80));
    assert_int_equal(vg_alert_clear_parse("gpu_t < 80", &t, &keep, why, sizeof(why)), VG_OK);
    assert_true(vg_alert_test_holds(&keep, 80));
    assert_false(vg_alert_test_holds(&keep, 79.9));
    assert_int_equal(vg_alert_clear_parse("eighty", &t, &keep, why, sizeof(why)), VG_EPARSE);
}

static void templates_expand_and_check(void **state)
{
    struct vg_label l[] = {{"gpu", "3"}, {"node", "n1"}};
    struct vg_buf b;
    char why[256];

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(vg_alert_template_expand("GPU {{ $labels.gpu }} on {{.Labels.node}} at "
                                              "{{ $value }}C, {{ $labels.zone }}; {{x",
                                              l, 2, 86.5, &b),
                     VG_OK);
    assert_string_equal(b.data, "GPU 3 on n1 at 86.5C, ; {{x");
    vg_buf_free(&b);
    assert_int_equal(vg_alert_template_check("{{ .Value }} {{ $labels.a_1 }}", why, sizeof(why)),
                     VG_OK);
    assert_int_equal(vg_alert_template_check("at {{ $value", why, sizeof(why)), VG_EPARSE);
    assert_string_equal(why, "at offset 3: '{{' without a closing '}}'");
    assert_int_equal(vg_alert_template_check("x {{ $lables.gpu }}", why, sizeof(why)), VG_EPARSE);
    assert_string_equal(
        why, "at offset 2: unknown '{{ $lables.gpu }}': use {{ $labels.NAME }} or {{ $value }}");
    assert_int_equal(vg_alert_template_check("{{ $labels. }}", why, sizeof(why)), VG_EPARSE);
}

static void values_and_times_format_as_prometheus(void **state)
{
    char out[64];

    (void)state;
    vg_alert_format_value(10, out, sizeof(out));
    assert_string_equal(out, "1e+01");
    vg_alert_format_value(86.5, out, sizeof(out));
    assert_string_equal(out, "8.65e+01");
    vg_alert_format_value(0.1, out, sizeof(out));
    assert_string_equal(out, "1e-01");
    vg_alert_format_value(1.0 / 0.0, out, sizeof(out));
    assert_string_equal(out, "+Inf");
    vg_alert_format_time(T0, out, sizeof(out));
    assert_string_equal(out, "2027-01-15T08:00:00Z");
    vg_alert_format_time(T0 + 120000000, out, sizeof(out));
    assert_string_equal(out, "2027-01-15T08:00:00.12Z");
}

/* ------------------------------------------------------------------------
 * States.
 */

static void pending_then_firing_after_for(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius > 85", .for_ms = 60000};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);
    size_t firing;

    (void)state;
    temps(st, "0", 90.0, "1", 70.0, NULL);
    vg_alert_runner_eval(r, st, T0);
    assert_int_equal(vg_alert_runner_active(r, &firing), 1);
    assert_int_equal(firing, 0);
    assert_int_equal(h.last_n, 0); /* pending alerts are not notified */
    vg_alert_runner_eval(r, st, T0 + 45 * SEC);
    assert_int_equal(firing_count(r), 0);
    vg_alert_runner_eval(r, st, T0 + 60 * SEC);
    assert_int_equal(firing_count(r), 1);
    assert_int_equal(h.firing, 1);
    vg_alert_runner_eval(r, st, T0 + 75 * SEC);
    assert_int_equal(h.firing, 1);
    assert_int_equal(h.calls, 4);
    vg_alert_runner_destroy(r);
    vg_store_destroy(st);
}

static void no_fire_when_condition_breaks_inside_for(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius > 85", .for_ms = 60000};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);
    int64_t t = T0;

    (void)state;
    temps(st, "0", 90.0, NULL);
    vg_alert_runner_eval(r, st, t);
    temps(st, "0", 84.0, NULL);
    vg_alert_runner_eval(r, st, t += 30 * SEC);
    assert_int_equal(vg_alert_runner_active(r, NULL), 0);
    temps(st, "0", 90.0, NULL);
    vg_alert_runner_eval(r, st, t += 30 * SEC); /* pending again, from now */
    vg_alert_runner_eval(r, st, t += 45 * SEC);
    assert_int_equal(firing_count(r), 0);
    vg_alert_runner_eval(r, st, t += 15 * SEC);
    assert_int_equal(firing_count(r), 1);
    assert_int_equal(h.firing, 1);
    assert_int_equal(h.resolved, 0);
    vg_alert_runner_destroy(r);
    vg_store_destroy(st);
}

static void hysteresis_sends_no_extra_notices(void **state)
{
    static const double flap[] = {86, 84, 86, 81, 85.5, 80.5, 86, 79, 84, 86};
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius > 85", .clear = "80"};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(flap); i++) {
        temps(st, "0", flap[i], NULL);
        vg_alert_runner_eval(r, st, T0 + (int64_t)i * 15 * SEC);
        if (i == 6)
            assert_int_equal(firing_count(r), 1); /* never below 80 until 79 */
    }
    /* fired at 86, held through 84..80.5, resolved at 79, not re-fired at
     * 84 (under 85), fired again at 86 */
    assert_int_equal(h.firing, 2);
    assert_int_equal(h.resolved, 1);
    vg_alert_runner_destroy(r);
    vg_store_destroy(st);
}

static void keep_firing_for_holds_a_flapping_alert(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius > 85", .keep_ms = 120000};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);

    (void)state;
    temps(st, "0", 90.0, NULL);
    vg_alert_runner_eval(r, st, T0);
    temps(st, "0", 70.0, NULL);
    vg_alert_runner_eval(r, st, T0 + 60 * SEC);
    vg_alert_runner_eval(r, st, T0 + 119 * SEC);
    assert_int_equal(firing_count(r), 1);
    temps(st, "0", 90.0, NULL);
    vg_alert_runner_eval(r, st, T0 + 150 * SEC); /* back before the end: same alert */
    temps(st, "0", 70.0, NULL);
    vg_alert_runner_eval(r, st, T0 + 269 * SEC);
    assert_int_equal(firing_count(r), 1);
    vg_alert_runner_eval(r, st, T0 + 270 * SEC);
    assert_int_equal(firing_count(r), 0);
    assert_int_equal(h.firing, 1);
    assert_int_equal(h.resolved, 1);
    vg_alert_runner_destroy(r);
    vg_store_destroy(st);
}

static void a_vanished_series_resolves(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius{node=\"n1\"} > 85",
                          .summary = "GPU {{ $labels.gpu }} at {{ $value }}C"};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);

    (void)state;
    temps(st, "0", 90.0, "1", 95.0, NULL);
    vg_alert_runner_eval(r, st, T0);
    assert_int_equal(h.firing, 2);
    temps(st, "0", 91.0, NULL);
    vg_alert_runner_eval(r, st, T0 + 15 * SEC);
    assert_int_equal(h.resolved, 1);
    assert_int_equal(firing_count(r), 1);
    assert_int_equal(h.last_n, 2); /* the resolved one is still handed over */
    /* kept for the notifiers as long as Prometheus keeps them, then gone */
    vg_alert_runner_eval(r, st, T0 + 15 * SEC + VG_ALERT_RESOLVED_KEEP_NS);
    assert_int_equal(h.last_n, 1);
    assert_string_equal(h.last_summary, "GPU 0 at 91C");
    vg_alert_runner_destroy(r);
    vg_store_destroy(st);
}

static void reduce_avg_and_rate_over_a_window(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts avg = {
        .expr = "gpu_temperature_celsius > 85", .reduce = VG_REDUCE_AVG, .window_ms = 60000};
    struct rule_opts rate = {
        .expr = "gpu_temperature_celsius > 0.5", .reduce = VG_REDUCE_RATE, .window_ms = 60000};
    struct vg_alert_runner *ra = runner_with("Avg", &avg, &h);
    struct vg_alert_runner *rr = runner_with("Rate", &rate, &h);
    static const double v[] = {70, 100, 70, 100, 100, 100, 100, 100};
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(v); i++) {
        temps(st, "0", v[i], NULL);
        vg_alert_runner_eval(ra, st, T0 + (int64_t)i * 15 * SEC);
        if (i < 5)
            assert_int_equal(firing_count(ra), i >= 4 ? 1 : 0); /* 85 is not over 85 */
    }
    vg_alert_runner_destroy(ra);
    /* a counter growing 1/s, then reset to 0, then growing again */
    for (i = 0; i < 6; i++) {
        temps(st, "0", i == 4 ? 5.0 : (double)(i * 15), NULL);
        vg_alert_runner_eval(rr, st, T0 + (int64_t)i * 15 * SEC);
    }
    assert_int_equal(firing_count(rr), 1);
    vg_alert_runner_destroy(rr);
    vg_store_destroy(st);
}

static void a_gone_log_counter_keeps_firing_for_a_window(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius > 0",
                          .reduce = VG_REDUCE_INCREASE,
                          .window_ms = 300000,
                          .from_zero = true};
    struct vg_alert_runner *r = runner_with("Count", &o, &h);

    (void)state;
    temps(st, "0", 0.0, NULL);
    vg_alert_runner_eval(r, st, T0);
    assert_int_equal(firing_count(r), 0);
    temps(st, "0", 2.0, "1", 1.0, NULL); /* gpu 1 born counting: from 0 */
    vg_alert_runner_eval(r, st, T0 + 15 * SEC);
    assert_int_equal(firing_count(r), 2);
    temps(st, "0", 2.0, NULL); /* gpu 1's counter expired */
    vg_alert_runner_eval(r, st, T0 + 60 * SEC);
    vg_alert_runner_eval(r, st, T0 + 314 * SEC);
    assert_int_equal(firing_count(r), 2);
    vg_alert_runner_eval(r, st, T0 + 315 * SEC); /* no match in a window: both resolve */
    assert_int_equal(firing_count(r), 0);
    assert_int_equal(h.firing, 2);
    assert_int_equal(h.resolved, 2);
    vg_alert_runner_destroy(r);
    vg_store_destroy(st);
}

/* A temporary state_dir, removed with its files. */
static void tmp_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/test_alert_rules.XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_dir(const char *dir)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/checkpoints/%s", dir, VG_ALERT_STATE_FILE);
    unlink(path);
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    rmdir(path);
    rmdir(dir);
}

static void restart_keeps_a_firing_alert(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius > 85", .for_ms = 30000};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);
    struct vg_error err = {0};
    char dir[64];

    (void)state;
    tmp_dir(dir, sizeof(dir));
    assert_int_equal(vg_alert_runner_open_state(r, dir, &err), VG_OK);
    temps(st, "0", 90.0, "1", 95.0, NULL);
    vg_alert_runner_eval(r, st, T0);
    vg_alert_runner_eval(r, st, T0 + 30 * SEC);
    assert_int_equal(h.firing, 2);
    vg_alert_runner_destroy(r); /* as a kill -9: nothing more is written */

    r = runner_with("GpuHot", &o, &h);
    assert_int_equal(vg_alert_runner_open_state(r, dir, &err), VG_OK);
    assert_int_equal(firing_count(r), 2); /* before any evaluation */
    temps(st, "0", 90.0, NULL);           /* gpu 1 went away while down */
    vg_alert_runner_eval(r, st, T0 + 45 * SEC);
    assert_int_equal(h.firing, 2); /* no second page */
    assert_int_equal(h.resolved, 1);
    temps(st, "0", 60.0, NULL);
    vg_alert_runner_eval(r, st, T0 + 60 * SEC);
    assert_int_equal(h.resolved, 2);
    vg_alert_runner_destroy(r);

    /* the resolved notices survive a restart too, until they age out */
    memset(&h, 0, sizeof(h));
    r = runner_with("GpuHot", &o, &h);
    assert_int_equal(vg_alert_runner_open_state(r, dir, &err), VG_OK);
    vg_alert_runner_eval(r, st, T0 + 75 * SEC);
    assert_int_equal(h.last_n, 2);
    assert_int_equal(h.resolved, 2);
    assert_int_equal(h.firing, 0);
    vg_alert_runner_destroy(r);
    rm_dir(dir);
    vg_store_destroy(st);
}

static void damaged_state_lines_are_skipped(void **state)
{
    struct hook h = {0};
    struct rule_opts o = {.expr = "gpu_temperature_celsius > 85"};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);
    struct vg_error err = {0};
    char dir[64], path[128];
    FILE *f;

    (void)state;
    tmp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/checkpoints/%s", dir, VG_ALERT_STATE_FILE);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("# vigil alerts v1\nGpuHot\tfiring\t1\t2\t0\t2\t90\tgpu\t0\n"
          "GpuHot\tweird\t1\t2\t0\t2\t90\n"
          "GpuHot\tfiring\tx\n"
          "Gone\tfiring\t1\t2\t0\t2\t90\tgpu\t0\n"
          "GpuHot\tpending\t1\t0\t0\t2\t90\tgpu\n"
          "GpuHot\tfiring\t-9000000000000000000\t2\t0\t2\t90\tgpu\t1\n"
          "GpuHot\tpending\t1\t0\t0\t-2\t90\tgpu\t2\n",
          f);
    fclose(f);
    assert_int_equal(vg_alert_runner_open_state(r, dir, &err), VG_OK);
    assert_int_equal(vg_alert_runner_active(r, NULL), 1);
    vg_alert_runner_destroy(r);
    rm_dir(dir);
}

static void alerts_metrics_and_json(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct vg_samples *s = vg_samples_create();
    struct hook h = {0};
    struct rule_opts o = {
        .expr = "gpu_temperature_celsius > 85", .for_ms = 30000, .summary = "at {{ $value }}"};
    struct vg_alert_runner *r = runner_with("GpuHot", &o, &h);
    struct vg_rendered *text;
    struct vg_buf b;

    (void)state;
    vg_buf_init(&b);
    temps(st, "0", 90.0, "1", 10.0, NULL);
    vg_alert_runner_eval(r, st, T0);
    assert_int_equal(vg_alert_runner_json(r, &b), VG_OK);
    assert_string_equal(b.data, "{\"status\":\"success\",\"data\":{\"alerts\":[{\"labels\":{"
                                "\"alertname\":\"GpuHot\",\"gpu\":\"0\",\"node\":\"n1\","
                                "\"severity\":\"critical\"},\"annotations\":{\"summary\":\"at "
                                "90\"},\"state\":\"pending\",\"activeAt\":\"2027-01-15T08:00:00Z\","
                                "\"value\":\"9e+01\"}]}}");
    assert_int_equal(vg_alert_runner_emit(r, s), VG_OK);
    assert_int_equal(vg_store_commit(st, "alerts", s), VG_OK);
    text = vg_store_render(st, VG_EXPO_TEXT, false);
    assert_non_null(strstr(vg_rendered_data(text),
                           "ALERTS{alertname=\"GpuHot\",alertstate=\"pending\",gpu=\"0\","
                           "node=\"n1\",severity=\"critical\"} 1\n"));
    assert_non_null(strstr(vg_rendered_data(text),
                           "ALERTS_FOR_STATE{alertname=\"GpuHot\",gpu=\"0\",node=\"n1\","
                           "severity=\"critical\"} 1800000000\n"));
    vg_rendered_release(text);
    vg_buf_free(&b);
    vg_samples_destroy(s);
    vg_alert_runner_destroy(r);
    vg_store_destroy(st);
}

/* ------------------------------------------------------------------------
 * The plan: log rules end to end, bad rules with their lines.
 */

#define PLAN_HEAD                                                                                  \
    "agent: { state_dir: /tmp }\n"                                                                 \
    "collectors:\n"                                                                                \
    "  - { type: kmsg, path: /tmp/no-kmsg }\n"                                                     \
    "alerts:\n"                                                                                    \
    "  notifiers:\n"                                                                               \
    "    oncall-slack: { type: slack, webhook_url: 'http://127.0.0.1:1/x' }\n"                     \
    "    oncall-mail: { type: email, url: 'smtp://127.0.0.1:1', from: a@x, to: [b@x] }\n"          \
    "  rules:\n"

static struct vg_config *plan_load(const char *yaml, struct vg_plan *plan, struct vg_errors *errs,
                                   int *rc)
{
    struct vg_config *cfg = NULL;

    vg_errors_init(errs);
    memset(plan, 0, sizeof(*plan));
    *rc = vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, errs);
    if (cfg != NULL && vg_plan_build(cfg, plan, errs) != VG_OK)
        *rc = VG_ECONFIG;
    return cfg;
}

/* The errors of PLAN_HEAD followed by rules. */
#define EXPECT_RULE_ERRORS(rules, ...) EXPECT_ERRORS(PLAN_HEAD rules, __VA_ARGS__)

static void bad_rules_name_file_and_line(void **state)
{
    (void)state;
    EXPECT_RULE_ERRORS(
        "    - { name: A, expr: 'm{gpu=~\"(\"} > 1' }\n"
        "    - { name: B, expr: 'm > ' }\n"
        "    - { name: C, expr: 'm > 1', notify: [oncall-slak, nobody] }\n"
        "    - { name: D, expr: 'm > 1', for: 5 minutes }\n"
        "    - { name: E, expr: 'm > 1', annotations: { summary: 'at {{ $valeu }}' } }\n"
        "    - { name: F, logs: { match: 'Xid (', source: kmsg }, count: '> 0 in 5m' }\n"
        "    - { name: G, logs: { match: 'Xid', source: kmesg }, count: '> 0' }\n"
        "  interval: 0s\n"
        "  intervall: 1m\n",
        "t.yaml:16: alerts: option 'interval': must be between 100ms and 87600h, not 0s",
        "t.yaml:17: alerts: unknown option 'intervall' (did you mean 'interval'?)",
        "t.yaml:9: alerts.rules[0] (A): option 'expr': cannot parse 'm{gpu=~\"(\"} > 1': at "
        "offset 10: bad regex for label 'gpu': missing closing parenthesis at offset 7",
        "t.yaml:10: alerts.rules[1] (B): option 'expr': cannot parse 'm > ': at offset 4: "
        "expected a number after '>'",
        "t.yaml:11: alerts.rules[2] (C): option 'notify': unknown notifier 'oncall-slak' (did "
        "you mean 'oncall-slack'?)",
        "t.yaml:11: alerts.rules[2] (C): option 'notify': unknown notifier 'nobody' (not a key "
        "of alerts.notifiers)",
        "t.yaml:12: alerts.rules[3] (D): option 'for': invalid duration '5 minutes' (use ms, s, "
        "m, h: '15s')",
        "t.yaml:13: alerts.rules[4] (E): option 'annotations': 'summary': template error at "
        "offset 3: unknown '{{ $valeu }}': use {{ $labels.NAME }} or {{ $value }}",
        "t.yaml:14: alerts.rules[5] (F): logs: option 'match': pattern 'Xid (': missing closing "
        "parenthesis at offset 5",
        "t.yaml:15: alerts.rules[6] (G): option 'count': cannot parse '> 0': at offset 3: "
        "expected 'in <duration>' (such as \"> 0 in 5m\")",
        "t.yaml:15: alerts.rules[6] (G): logs: option 'source': no record collector named "
        "'kmesg' (did you mean 'kmsg'?)");
}

static void more_bad_rules(void **state)
{
    (void)state;
    EXPECT_RULE_ERRORS(
        "    - { name: A, expr: 'm > 1' }\n"
        "    - { name: A, expr: 'm > 1', clear: 'soon' }\n"
        "    - { name: 'bad name', expr: 'm > 1', reduce: { fn: median, window: 1m } }\n"
        "    - { name: H }\n"
        "    - { name: I, expr: 'm > 1', count: '> 1 in 1m', group_wait: later }\n"
        "    - { name: J, logs: { match: x }, count: '> 1 in 1m', expr: 'm > 1' }\n"
        "    - { name: K, expr: 'm > 85', clear: 'n < 80' }\n"
        "    - { name: L, expr: 'm > 85', clear: 'm < 80' }\n"
        "    - { name: M, expr: 'm > 85', clear: 80 }\n"
        "    - { name: N, expr: 'm > 85', clear: '< 80' }\n",
        "t.yaml:10: alerts.rules[1] (A): duplicate rule name 'A' (also alerts.rules[0], line 9)",
        "t.yaml:10: alerts.rules[1] (A): option 'clear': cannot parse 'soon': at offset 4: "
        "expected a comparison (>, >=, <, <=, ==, !=) and a number",
        "t.yaml:11: alerts.rules[2] (bad name): option 'name': 'bad name' is not an alert name "
        "(letters, digits and '_', not starting with a digit)",
        "t.yaml:11: alerts.rules[2] (bad name): reduce: option 'fn': invalid value 'median' (one "
        "of: avg, max, min, rate)",
        "t.yaml:12: alerts.rules[3] (H): give 'expr' (a metric rule) or 'logs' with 'count' (a "
        "log rule)",
        "t.yaml:13: alerts.rules[4] (I): option 'count' is for log rules (logs:); use expr's "
        "comparison",
        "t.yaml:13: alerts.rules[4] (I): option 'group_wait': 'later' is not a duration (such as "
        "30s, 5m, 4h)",
        "t.yaml:14: alerts.rules[5] (J): a rule has either 'expr' (a metric rule) or 'logs' (a "
        "log rule), and reduce/clear go with expr",
        "t.yaml:15: alerts.rules[6] (K): option 'clear': compares 'n', not the rule's metric 'm'");
}

/* Feeds one kmsg-like record through the plan's log metrics. */
static void feed(struct vg_plan *plan, const char *body, const char *gpu, int64_t mono)
{
    struct vg_field f = {.key = "gpu", .type = VG_FIELD_STR};
    struct vg_record r = {0};

    r.body = body;
    r.body_len = strlen(body);
    f.v.s.ptr = gpu;
    f.v.s.len = strlen(gpu);
    r.fields = r.fields_tail = &f;
    vg_log_metrics_record(plan->log_metrics, "kmsg", &r, mono);
}

static void commit_log_metrics(struct vg_plan *plan, struct vg_metric_store *st, int64_t mono)
{
    struct vg_samples *s = vg_samples_create();
    struct vg_emit e = {.samples = s, .sink = NULL};

    vg_log_metrics_emit(plan->log_metrics, &e, mono);
    vg_store_commit(st, "self", s);
    vg_samples_destroy(s);
}

static void log_rule_fires_with_group_labels_and_resolves(void **state)
{
    static const char yaml[] =
        PLAN_HEAD "    - name: XidError\n"
                  "      logs: { match: 'NVRM: Xid \\(PCI:(?<pci>[0-9a-f:.]+)\\): (?<xid>\\d+)',"
                  " source: kmsg, fields: [gpu] }\n"
                  "      count: '> 0 in 5m'\n"
                  "      severity: critical\n"
                  "      annotations: { summary: 'Xid {{ $labels.xid }} on {{ $labels.pci }}' }\n"
                  "      notify: [oncall-slack]\n";
    struct vg_metric_store *st = vg_store_create();
    struct vg_errors errs;
    struct vg_plan plan;
    struct vg_config *cfg = plan_load(yaml, &plan, &errs, &(int){0});
    struct hook h = {0};
    struct vg_buf b;

    (void)state;
    assert_int_equal(errs.n, 0);
    assert_non_null(plan.alerts);
    vg_alert_runner_set_notify(plan.alerts, hook_fn, &h);
    commit_log_metrics(&plan, st, 1);
    vg_alert_runner_eval(plan.alerts, st, T0);
    assert_int_equal(vg_alert_runner_active(plan.alerts, NULL), 0);
    feed(&plan, "NVRM: Xid (PCI:0000:3b:00): 79, pid=1", "3", 2);
    feed(&plan, "something else", "3", 2);
    commit_log_metrics(&plan, st, 3);
    vg_alert_runner_eval(plan.alerts, st, T0 + 15 * SEC);
    assert_int_equal(h.firing, 1);
    vg_buf_init(&b);
    vg_alert_runner_json(plan.alerts, &b);
    assert_non_null(strstr(b.data, "\"labels\":{\"alertname\":\"XidError\",\"collector\":\"kmsg\","
                                   "\"gpu\":\"3\",\"pci\":\"0000:3b:00\",\"severity\":"
                                   "\"critical\",\"xid\":\"79\"}"));
    assert_non_null(strstr(b.data, "\"summary\":\"Xid 79 on 0000:3b:00\""));
    assert_non_null(strstr(b.data, "\"value\":\"1e+00\""));
    vg_buf_free(&b);
    vg_alert_runner_eval(plan.alerts, st, T0 + 60 * SEC);
    vg_alert_runner_eval(plan.alerts, st, T0 + 299 * SEC);
    assert_int_equal(h.resolved, 0);
    vg_alert_runner_eval(plan.alerts, st, T0 + 316 * SEC); /* a window without a match */
    assert_int_equal(h.resolved, 1);
    assert_int_equal(h.firing, 1);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
    vg_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_walks_series_of_one_name),
        cmocka_unit_test(expr_parses_selectors),
        cmocka_unit_test(expr_reports_where),
        cmocka_unit_test(count_and_clear_parse),
        cmocka_unit_test(templates_expand_and_check),
        cmocka_unit_test(values_and_times_format_as_prometheus),
        cmocka_unit_test(pending_then_firing_after_for),
        cmocka_unit_test(no_fire_when_condition_breaks_inside_for),
        cmocka_unit_test(hysteresis_sends_no_extra_notices),
        cmocka_unit_test(keep_firing_for_holds_a_flapping_alert),
        cmocka_unit_test(a_vanished_series_resolves),
        cmocka_unit_test(reduce_avg_and_rate_over_a_window),
        cmocka_unit_test(a_gone_log_counter_keeps_firing_for_a_window),
        cmocka_unit_test(restart_keeps_a_firing_alert),
        cmocka_unit_test(damaged_state_lines_are_skipped),
        cmocka_unit_test(alerts_metrics_and_json),
        cmocka_unit_test(bad_rules_name_file_and_line),
        cmocka_unit_test(more_bad_rules),
        cmocka_unit_test(log_rule_fires_with_group_labels_and_resolves),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

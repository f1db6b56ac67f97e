/*
 * test_log_metrics.c - metrics from log records: the always-on counters
 * (per container, stream and level; expiry; the cap), user metrics from
 * `log_metrics:` (labels from groups and fields, conditions, histograms,
 * the cardinality cap, scope and source), and every error of the plan
 * with its line. Samples are checked in the rendered exposition text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "config.h"
#include "core.h"
#include "log_metrics.h"
#include "log_series.h"
#include "metrics.h"

#define SEC  VG_NS_PER_SEC
#define T0   (INT64_C(1000) * SEC)
#define MAXF 16

/* ------------------------------------------------------------------------
 * Records built on the stack: nothing of them is kept.
 */

struct rec {
    struct vg_record r;
    struct vg_field f[MAXF];
    size_t n;
};

static void rec_init(struct rec *x, const char *body)
{
    memset(x, 0, sizeof(*x));
    x->r.body = body;
    x->r.body_len = strlen(body);
}

static struct vg_field *rec_field(struct rec *x, const char *key, enum vg_field_type type)
{
    struct vg_field *f = &x->f[x->n++];

    assert_true(x->n <= MAXF);
    f->key = key;
    f->type = type;
    if (x->r.fields_tail != NULL)
        x->r.fields_tail->next = f;
    else
        x->r.fields = f;
    x->r.fields_tail = f;
    return f;
}

static void rec_str(struct rec *x, const char *key, const char *val)
{
    struct vg_field *f = rec_field(x, key, VG_FIELD_STR);

    f->v.s.ptr = val;
    f->v.s.len = strlen(val);
}

static void rec_int(struct rec *x, const char *key, int64_t v)
{
    rec_field(x, key, VG_FIELD_INT)->v.i = v;
}

/* A container's record, as the container_logs collector makes them (file
 * and node first, so that the fields read are not the first ones). */
static void rec_container(struct rec *x, const char *ns, const char *pod, const char *ctr,
                          const char *stream, const char *body)
{
    rec_init(x, body);
    if (stream != NULL)
        rec_str(x, "stream", stream);
    rec_str(x, "file", "/var/log/containers/x.log");
    rec_str(x, "node", "n1");
    rec_str(x, "namespace", ns);
    rec_str(x, "pod", pod);
    rec_str(x, "container", ctr);
    rec_str(x, "container_id", "cri-o://0123");
}

/* ------------------------------------------------------------------------
 * Planning and rendering.
 */

static const char *const collectors[] = {"logs", "kmsg", "app-logs"};

/* Loads yaml and plans its log_metrics section into *m; the plan's answer. */
static int plan_yaml(const char *yaml, struct vg_config **cfg, struct vg_log_metrics **m,
                     struct vg_errors *errs)
{
    size_t i;
    int rc;

    vg_errors_init(errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", cfg, errs), VG_OK);
    rc = vg_log_metrics_plan(vg_node_get((*cfg)->root, "log_metrics"), collectors,
                             VG_ARRAY_LEN(collectors), m, errs);
    for (i = 0; i < errs->n; i++)
        print_message("error: %s\n", errs->msgs[i]);
    for (i = 0; i < errs->n_warns; i++)
        print_message("%s\n", errs->warns[i]);
    return rc;
}

/* Plans yaml's log_metrics section; fails the test on any error. */
static struct vg_log_metrics *plan_ok(const char *yaml)
{
    struct vg_config *cfg = NULL;
    struct vg_log_metrics *m = NULL;
    struct vg_errors errs;

    assert_int_equal(plan_yaml(yaml, &cfg, &m, &errs), VG_OK);
    assert_int_equal(errs.n, 0);
    assert_non_null(m);
    vg_errors_free(&errs);
    vg_config_free(cfg);
    return m;
}

/* Plans yaml and expects exactly the errors (then the warnings) given. */
static void plan_fails(const char *yaml, const char *const *expected, size_t n,
                       const char *const *warnings, size_t n_warns)
{
    struct vg_config *cfg = NULL;
    struct vg_log_metrics *m = NULL;
    struct vg_errors errs;
    size_t i;
    int rc = plan_yaml(yaml, &cfg, &m, &errs);

    assert_int_equal(errs.n, n);
    for (i = 0; i < n; i++)
        assert_string_equal(errs.msgs[i], expected[i]);
    assert_int_equal(errs.n_warns, n_warns);
    for (i = 0; i < n_warns; i++)
        assert_string_equal(errs.warns[i], warnings[i]);
    assert_int_equal(rc, n > 0 ? VG_ECONFIG : VG_OK);
    assert_true((m == NULL) == (n > 0));
    vg_log_metrics_destroy(m);
    vg_errors_free(&errs);
    vg_config_free(cfg);
}

#define FAILS(yaml, ...)                                                                           \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        plan_fails(yaml, want_, VG_ARRAY_LEN(want_), NULL, 0);                                     \
    } while (0)

/* Emits m at now into a store and renders it: a string the caller frees. */
static char *render(struct vg_log_metrics *m, int64_t now)
{
    struct vg_samples *s = vg_samples_create();
    struct vg_metric_store *st = vg_store_create();
    struct vg_emit e = {.samples = s, .sink = NULL};
    struct vg_rendered *r;
    char *text;

    assert_non_null(s);
    assert_non_null(st);
    assert_int_equal(vg_log_metrics_emit(m, &e, now), VG_OK);
    assert_int_equal(vg_store_commit(st, "log_metrics", s), VG_OK);
    r = vg_store_render(st, VG_EXPO_TEXT, false);
    assert_non_null(r);
    text = strndup(vg_rendered_data(r), vg_rendered_len(r));
    assert_non_null(text);
    vg_rendered_release(r);
    vg_store_destroy(st);
    vg_samples_destroy(s);
    return text;
}

/* True when text has line as one whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p = text;

    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
        p += n;
    }
    return false;
}

#define HAS(text, line)                                                                            \
    do {                                                                                           \
        if (!has_line(text, line))                                                                 \
            fail_msg("missing line: %s\nin:\n%s", line, text);                                     \
    } while (0)
#define HAS_NOT(text, part)                                                                        \
    do {                                                                                           \
        if (strstr(text, part) != NULL)                                                            \
            fail_msg("unexpected: %s\nin:\n%s", part, text);                                       \
    } while (0)

/* Feeds m n copies of x from collector. */
static void feed(struct vg_log_metrics *m, const char *collector, struct rec *x, int n, int64_t t)
{
    int i;

    for (i = 0; i < n; i++)
        vg_log_metrics_record(m, collector, &x->r, t);
}

/* Feeds m one record of each body, from "logs", and renders m. */
static char *feed_lines(struct vg_log_metrics *m, const char *const *bodies, size_t n)
{
    struct rec x;
    size_t i;

    for (i = 0; i < n; i++) {
        rec_init(&x, bodies[i]);
        vg_log_metrics_record(m, "logs", &x.r, T0);
    }
    return render(m, T0);
}

/* ------------------------------------------------------------------------
 * The always-on counters.
 */

static void always_on_counts_per_container_and_stream(void **state)
{
    struct vg_log_metrics *m = plan_ok("collectors: []\n");
    struct rec a, b, c, k;
    char *text;

    (void)state;
    rec_container(&a, "shop", "web-1", "nginx", "stdout", "GET / 200");
    rec_container(&b, "shop", "web-1", "nginx", "stderr", "oops");
    rec_container(&c, "shop", "web-2", "nginx", "stdout", "x");
    rec_init(&k, "NVRM: Xid 79");
    feed(m, "logs", &a, 3, T0);
    feed(m, "logs", &b, 1, T0);
    feed(m, "logs", &c, 2, T0);
    feed(m, "logs", &a, 1, T0);
    feed(m, "kmsg", &k, 2, T0);
    text = render(m, T0);
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"nginx\",namespace=\"shop\","
              "pod=\"web-1\",stream=\"stdout\"} 4");
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"nginx\",namespace=\"shop\","
              "pod=\"web-1\",stream=\"stderr\"} 1");
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"nginx\",namespace=\"shop\","
              "pod=\"web-2\",stream=\"stdout\"} 2");
    HAS(text, "vigil_log_bytes_total{collector=\"logs\",container=\"nginx\",namespace=\"shop\","
              "pod=\"web-1\",stream=\"stdout\"} 36");
    HAS(text, "vigil_log_bytes_total{collector=\"logs\",container=\"nginx\",namespace=\"shop\","
              "pod=\"web-1\",stream=\"stderr\"} 4");
    HAS(text, "vigil_log_records_total{collector=\"kmsg\",container=\"\",namespace=\"\",pod=\"\","
              "stream=\"\"} 2");
    HAS(text, "vigil_log_bytes_total{collector=\"kmsg\",container=\"\",namespace=\"\",pod=\"\","
              "stream=\"\"} 24");
    HAS(text, "vigil_log_metrics_series{metric=\"vigil_log_records_total\"} 3");
    HAS(text, "vigil_log_metrics_overflow_total{metric=\"vigil_log_records_total\"} 0");
    HAS_NOT(text, "vigil_log_level_total");
    free(text);
    vg_log_metrics_destroy(m);
}

static void always_on_counts_levels_and_other(void **state)
{
    struct vg_log_metrics *m = plan_ok("");
    static const char *const levels[] = {"info", "INFO", "warning", "bogus", "error", "E", ""};
    struct rec x;
    size_t i;
    char *text;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(levels); i++) {
        rec_container(&x, "ns", "p", "c", "stdout", "line");
        rec_str(&x, "level", levels[i]);
        vg_log_metrics_record(m, "logs", &x.r, T0);
    }
    rec_container(&x, "ns", "p", "c", "stdout", "line");
    rec_int(&x, "level", 30); /* pino's info */
    vg_log_metrics_record(m, "logs", &x.r, T0);
    rec_container(&x, "ns", "p", "c", "stdout", "no level");
    vg_log_metrics_record(m, "logs", &x.r, T0);
    text = render(m, T0);
#define LV(level, n)                                                                               \
    "vigil_log_level_total{collector=\"logs\",container=\"c\",level=\"" level                      \
    "\",namespace=\"ns\",pod=\"p\"} " n
    HAS(text, LV("info", "3"));
    HAS(text, LV("warn", "1"));
    HAS(text, LV("error", "2"));
    HAS(text, LV("other", "2"));
    HAS_NOT(text, "level=\"debug\"");
#undef LV
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"ns\",pod="
              "\"p\",stream=\"stdout\"} 9");
    free(text);
    vg_log_metrics_destroy(m);
}

/* The arena of a batch is reused: the same bytes may name another
 * container from one record to the next, and must not be taken for the
 * one fed last. */
static void always_on_tells_containers_apart_at_one_address(void **state)
{
    struct vg_log_metrics *m = plan_ok("");
    char ns[8], pod[8];
    struct rec x;
    int i;
    char *text;

    (void)state;
    for (i = 0; i < 6; i++) {
        snprintf(ns, sizeof(ns), "%s", i % 2 == 0 ? "aa" : "bb");
        snprintf(pod, sizeof(pod), "%s", i < 3 ? "p1" : "p2");
        rec_container(&x, ns, pod, "c", "stdout", "z");
        vg_log_metrics_record(m, i == 5 ? "kmsg" : "logs", &x.r, T0);
    }
    text = render(m, T0);
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"aa\",pod="
              "\"p1\",stream=\"stdout\"} 2");
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"bb\",pod="
              "\"p1\",stream=\"stdout\"} 1");
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"bb\",pod="
              "\"p2\",stream=\"stdout\"} 1");
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"aa\",pod="
              "\"p2\",stream=\"stdout\"} 1");
    HAS(text, "vigil_log_records_total{collector=\"kmsg\",container=\"c\",namespace=\"bb\",pod="
              "\"p2\",stream=\"stdout\"} 1");
    free(text);
    vg_log_metrics_destroy(m);
}

static void always_on_series_expire_when_idle(void **state)
{
    struct vg_log_metrics *m = vg_log_metrics_create();
    struct rec a, b;
    char *text;

    (void)state;
    assert_non_null(m);
    assert_int_equal(vg_log_metrics_set_limits(m, 10 * SEC, 100), VG_OK);
    rec_container(&a, "ns", "old", "c", "stdout", "a");
    rec_container(&b, "ns", "new", "c", "stdout", "b");
    feed(m, "logs", &a, 2, T0);
    feed(m, "logs", &b, 1, T0 + 5 * SEC);
    text = render(m, T0 + 10 * SEC); /* a was fed exactly 10 s ago: stays */
    HAS(text, "vigil_log_metrics_series{metric=\"vigil_log_records_total\"} 2");
    free(text);
    text = render(m, T0 + 11 * SEC);
    HAS_NOT(text, "pod=\"old\"");
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"ns\",pod="
              "\"new\",stream=\"stdout\"} 1");
    HAS(text, "vigil_log_metrics_series{metric=\"vigil_log_records_total\"} 1");
    free(text);
    /* back after expiry: counted from 0, the cache of the last series
     * having gone with it */
    feed(m, "logs", &a, 1, T0 + 12 * SEC);
    text = render(m, T0 + 12 * SEC);
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"ns\",pod="
              "\"old\",stream=\"stdout\"} 1");
    free(text);
    assert_int_equal(vg_log_metrics_set_limits(m, SEC, 1), VG_EINVAL); /* records counted */
    vg_log_metrics_destroy(m);
}

static void always_on_cap_sends_the_rest_to_one_overflow_series(void **state)
{
    struct vg_log_metrics *m = vg_log_metrics_create();
    static const char *const pods[] = {"p1", "p2", "p3", "p4", "p1"};
    struct rec x;
    size_t i;
    char *text;

    (void)state;
    assert_int_equal(vg_log_metrics_set_limits(m, 300 * SEC, 2), VG_OK);
    for (i = 0; i < VG_ARRAY_LEN(pods); i++) {
        rec_container(&x, "ns", pods[i], "c", "stderr", "xyz");
        vg_log_metrics_record(m, "logs", &x.r, T0);
    }
    text = render(m, T0);
    HAS(text, "vigil_log_records_total{collector=\"logs\",container=\"c\",namespace=\"ns\",pod="
              "\"p1\",stream=\"stderr\"} 2");
    HAS(text, "vigil_log_records_total{collector=\"__overflow__\",container=\"__overflow__\","
              "namespace=\"__overflow__\",pod=\"__overflow__\",stream=\"stderr\"} 2");
    HAS(text, "vigil_log_bytes_total{collector=\"__overflow__\",container=\"__overflow__\","
              "namespace=\"__overflow__\",pod=\"__overflow__\",stream=\"stderr\"} 6");
    HAS(text, "vigil_log_metrics_overflow_total{metric=\"vigil_log_records_total\"} 2");
    HAS(text, "vigil_log_metrics_series{metric=\"vigil_log_records_total\"} 3");
    free(text);
    vg_log_metrics_destroy(m);
}

/* Label values are valid UTF-8 without NUL, and at most 256 bytes. */
static void always_on_label_values_are_made_valid(void **state)
{
    struct vg_log_metrics *m = plan_ok("");
    char big[400];
    struct rec x;
    char *text, want[600];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rec_container(&x, "n\xffs", big, "c", "stdout", "z");
    x.f[5].v.s.len = 3; /* container "c\0c": NUL inside */
    x.f[5].v.s.ptr = "c\0c";
    vg_log_metrics_record(m, "logs", &x.r, T0);
    text = render(m, T0);
    snprintf(want, sizeof(want),
             "vigil_log_records_total{collector=\"logs\",container=\"c\xef\xbf\xbd"
             "c\",namespace=\"n\xef\xbf\xbds\",pod=\"%.256s\",stream=\"stdout\"} 1",
             big);
    HAS(text, want);
    free(text);
    vg_log_metrics_destroy(m);
}

/* ------------------------------------------------------------------------
 * User metrics.
 */

static const char nginx_yaml[] =
    "log_metrics:\n"
    "  - name: nginx_requests_total\n"
    "    help: \"Requests by status\"\n"
    "    source: [logs]\n"
    "    scope: { namespace: shop, container: \"nginx*\" }\n"
    "    match: '^\\S+ \\S+ \\S+ \\[[^\\]]+\\] \"(?<method>\\S+) [^\"]*\" (?<status>\\d{3})'\n"
    "    labels: [method, status, pod]\n";

static void nginx_line(struct rec *x, const char *ns, const char *ctr, const char *body)
{
    rec_container(x, ns, "web-1", ctr, "stdout", body);
}

static void user_counter_takes_labels_from_groups_and_fields(void **state)
{
    struct vg_log_metrics *m = plan_ok(nginx_yaml);
    struct rec x;
    char *text;

    (void)state;
    nginx_line(&x, "shop", "nginx",
               "1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] \"GET /a HTTP/1.1\" 200 12");
    feed(m, "logs", &x, 3, T0);
    nginx_line(&x, "shop", "nginx",
               "1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] \"POST /b HTTP/1.1\" 503 0");
    feed(m, "logs", &x, 1, T0);
    nginx_line(&x, "shop", "nginx", "not an access line");
    feed(m, "logs", &x, 1, T0);
    text = render(m, T0);
    HAS(text, "# HELP nginx_requests_total Requests by status");
    HAS(text, "# TYPE nginx_requests_total counter");
    HAS(text, "nginx_requests_total{collector=\"logs\",method=\"GET\",pod=\"web-1\",status="
              "\"200\"} 3");
    HAS(text, "nginx_requests_total{collector=\"logs\",method=\"POST\",pod=\"web-1\",status="
              "\"503\"} 1");
    HAS(text, "vigil_log_metrics_series{metric=\"nginx_requests_total\"} 2");
    HAS(text, "vigil_log_metrics_overflow_total{metric=\"nginx_requests_total\"} 0");
    HAS_NOT(text, "vigil_log_metrics_value_errors_total");
    free(text);
    vg_log_metrics_destroy(m);
}

static void user_scope_and_source_choose_the_records(void **state)
{
    struct vg_log_metrics *m = plan_ok(nginx_yaml);
    const char *line = "h - - [t] \"GET / HTTP/1.1\" 200 1";
    struct rec x;
    char *text;

    (void)state;
    nginx_line(&x, "shop", "nginx-proxy", line); /* in scope */
    feed(m, "logs", &x, 1, T0);
    nginx_line(&x, "shop", "nginx", line); /* another collector */
    feed(m, "app-logs", &x, 4, T0);
    nginx_line(&x, "blog", "nginx", line); /* another namespace */
    feed(m, "logs", &x, 2, T0);
    nginx_line(&x, "shop", "php", line); /* another container */
    feed(m, "logs", &x, 2, T0);
    rec_init(&x, line); /* no namespace at all */
    feed(m, "logs", &x, 1, T0);
    nginx_line(&x, "shop", "nginx", line);
    feed(m, "logs", &x, 1, T0);
    text = render(m, T0);
    HAS(text, "nginx_requests_total{collector=\"logs\",method=\"GET\",pod=\"web-1\",status="
              "\"200\"} 2");
    HAS(text, "vigil_log_metrics_series{metric=\"nginx_requests_total\"} 1");
    free(text);
    vg_log_metrics_destroy(m);
}

static void user_counter_on_a_field_condition(void **state)
{
    struct vg_log_metrics *m = plan_ok("log_metrics:\n"
                                       "  - name: app_server_errors_total\n"
                                       "    field: status\n"
                                       "    equals: \"500\"\n"
                                       "    labels: [namespace, route]\n"
                                       "  - name: app_slow_total\n"
                                       "    field: status\n"
                                       "    field_match: '^5'\n"
                                       "  - name: app_bytes_total\n"
                                       "    field: bytes\n"
                                       "    value: bytes\n");
    struct rec x;
    char *text;

    (void)state;
    rec_container(&x, "shop", "p", "c", "stdout", "{}");
    rec_int(&x, "status", 500);
    rec_str(&x, "route", "/cart");
    rec_int(&x, "bytes", 1500);
    feed(m, "logs", &x, 2, T0);
    rec_container(&x, "shop", "p", "c", "stdout", "{}");
    rec_str(&x, "status", "503");
    rec_str(&x, "bytes", "12.5");
    feed(m, "logs", &x, 1, T0);
    rec_container(&x, "shop", "p", "c", "stdout", "{}");
    rec_str(&x, "bytes", "lots"); /* no number: not counted */
    feed(m, "logs", &x, 1, T0);
    text = render(m, T0);
    HAS(text, "app_server_errors_total{collector=\"logs\",namespace=\"shop\",route=\"/cart\"} 2");
    HAS(text, "app_slow_total{collector=\"logs\"} 3");
    HAS(text, "app_bytes_total{collector=\"logs\"} 3012.5");
    HAS(text, "vigil_log_metrics_value_errors_total{metric=\"app_bytes_total\"} 1");
    free(text);
    vg_log_metrics_destroy(m);
}

static void user_histogram_observes_a_group(void **state)
{
    struct vg_log_metrics *m = plan_ok("log_metrics:\n"
                                       "  - name: http_request_duration_seconds\n"
                                       "    type: histogram\n"
                                       "    match: 'path=(?<path>\\S+) took=(?<took>\\S+)s'\n"
                                       "    labels: [path]\n"
                                       "    value: took\n"
                                       "    buckets: [0.1, 0.5, 1]\n");
    static const char *const lines[] = {"path=/a took=0.05s", "path=/a took=0.1s",
                                        "path=/a took=0.7s",  "path=/a took=3s",
                                        "path=/a took=fast",  "path=/b took=0.2s"};
    char *text;

    (void)state;
    text = feed_lines(m, lines, VG_ARRAY_LEN(lines));
    HAS(text, "# TYPE http_request_duration_seconds histogram");
    HAS(text, "http_request_duration_seconds_bucket{collector=\"logs\",le=\"0.1\",path=\"/a\"} 2");
    HAS(text, "http_request_duration_seconds_bucket{collector=\"logs\",le=\"0.5\",path=\"/a\"} 2");
    HAS(text, "http_request_duration_seconds_bucket{collector=\"logs\",le=\"1\",path=\"/a\"} 3");
    HAS(text, "http_request_duration_seconds_bucket{collector=\"logs\",le=\"+Inf\",path=\"/a\"} 4");
    HAS(text, "http_request_duration_seconds_sum{collector=\"logs\",path=\"/a\"} 3.85");
    HAS(text, "http_request_duration_seconds_count{collector=\"logs\",path=\"/a\"} 4");
    HAS(text, "http_request_duration_seconds_count{collector=\"logs\",path=\"/b\"} 1");
    HAS(text, "vigil_log_metrics_value_errors_total{metric=\"http_request_duration_seconds\"} 1");
    free(text);
    vg_log_metrics_destroy(m);
}

static void user_cardinality_cap_counts_the_rest_in_one_series(void **state)
{
    struct vg_log_metrics *m = plan_ok("log_metrics:\n"
                                       "  - name: user_logins_total\n"
                                       "    match: 'login user=(?<user>\\w+)'\n"
                                       "    labels: [user]\n"
                                       "    max_series: 2\n");
    static const char *const lines[] = {"login user=ann", "login user=bob", "login user=cid",
                                        "login user=dan", "login user=ann", "login user=cid"};
    struct rec x;
    char *text;

    (void)state;
    text = feed_lines(m, lines, VG_ARRAY_LEN(lines));
    HAS(text, "user_logins_total{collector=\"logs\",user=\"ann\"} 2");
    HAS(text, "user_logins_total{collector=\"logs\",user=\"bob\"} 1");
    HAS(text, "user_logins_total{collector=\"__overflow__\",user=\"__overflow__\"} 3");
    HAS(text, "vigil_log_metrics_overflow_total{metric=\"user_logins_total\"} 3");
    HAS(text, "vigil_log_metrics_series{metric=\"user_logins_total\"} 3");
    free(text);
    /* once the others have gone idle and left, new label sets have room */
    free(render(m, T0 + 400 * SEC));
    rec_init(&x, "login user=eve");
    vg_log_metrics_record(m, "logs", &x.r, T0 + 400 * SEC);
    text = render(m, T0 + 400 * SEC);
    HAS(text, "user_logins_total{collector=\"logs\",user=\"eve\"} 1");
    HAS(text, "vigil_log_metrics_series{metric=\"user_logins_total\"} 1");
    free(text);
    vg_log_metrics_destroy(m);
}

/* Once every series exists, counting allocates nothing. */
static void steady_state_allocates_nothing(void **state)
{
    struct vg_log_metrics *m = plan_ok(nginx_yaml);
    struct rec a, b;
    int i;

    (void)state;
    nginx_line(&a, "shop", "nginx", "h - - [t] \"GET / HTTP/1.1\" 200 1");
    rec_container(&b, "kube-system", "dns", "coredns", "stderr", "E0101 oops");
    rec_str(&b, "level", "error");
    feed(m, "logs", &a, 1, T0);
    feed(m, "kmsg", &b, 1, T0);
    feed(m, "logs", &b, 1, T0);
    vg_alloc_fail_after(-1); /* count, never fail */
    for (i = 0; i < 1000; i++) {
        vg_log_metrics_record(m, "logs", &a.r, T0 + i);
        vg_log_metrics_record(m, i % 7 == 0 ? "kmsg" : "logs", &b.r, T0 + i);
    }
    assert_int_equal(vg_alloc_calls(), 0);
    vg_alloc_reset();
    vg_log_metrics_destroy(m);
}

/* Every allocation of planning and counting fails in turn: the plan fails
 * and leaves nothing behind, counting goes on without the series it could
 * not make (the sanitizer build finds leaks). */
static void plan_and_count_survive_every_failed_allocation(void **state)
{
    static const char yaml[] = "log_metrics:\n"
                               "  - name: lat_seconds\n"
                               "    type: histogram\n"
                               "    source: ['*logs']\n"
                               "    scope: { namespace: shop }\n"
                               "    match: 'took=(?<took>\\S+)s'\n"
                               "    labels: [took, pod]\n"
                               "    value: took\n";
    struct vg_config *cfg = NULL;
    struct vg_log_metrics *m;
    struct vg_errors errs;
    struct rec x;
    long n;
    int rc;

    (void)state;
    vg_errors_init(&errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs), VG_OK);
    for (n = 0;; n++) {
        vg_alloc_fail_after(n);
        rc = vg_log_metrics_plan(vg_node_get(cfg->root, "log_metrics"), collectors,
                                 VG_ARRAY_LEN(collectors), &m, &errs);
        /* the option code reports its own failures as VG_ECONFIG */
        assert_true(rc == VG_OK || rc == VG_ENOMEM || rc == VG_ECONFIG);
        assert_true((rc == VG_OK) == (m != NULL));
        if (rc == VG_OK) {
            rec_container(&x, "shop", "web-1", "app", "stdout", "took=0.2s");
            feed(m, "logs", &x, 2, T0);
            rec_container(&x, "shop", "web-2", "app", "stdout", "took=0.3s");
            feed(m, "app-logs", &x, 2, T0);
        }
        vg_log_metrics_destroy(m);
        if (rc == VG_OK && vg_alloc_calls() <= (unsigned long)n)
            break;
        vg_alloc_reset();
    }
    vg_alloc_reset();
    vg_errors_free(&errs);
    vg_config_free(cfg);
}

/* ------------------------------------------------------------------------
 * The series store under churn: keys born, fed and expired at random, the
 * table checked against a plain array after each round.
 */

#define CHURN_KEYS 3000

struct churn {
    uint64_t count[CHURN_KEYS];
    int64_t last[CHURN_KEYS];
    unsigned char seen[CHURN_KEYS];
    size_t found;
};

static int churn_check(void *arg, const char *const *values, const void *vals)
{
    struct churn *c = arg;
    unsigned long id = strtoul(values[0] + 1, NULL, 10);
    uint64_t n;

    memcpy(&n, vals, sizeof(n));
    assert_true(id < CHURN_KEYS);
    assert_string_equal(values[1], "x");
    assert_false(c->seen[id]);
    c->seen[id] = 1;
    assert_int_equal(n, c->count[id]);
    c->found++;
    return VG_OK;
}

static void churn_round(struct vg_log_series *s, struct vg_log_key *k, struct churn *c,
                        int64_t round, uint32_t *rnd)
{
    char name[16];
    size_t i, index, live = 0;
    uint64_t *n;

    for (i = 0; i < 2000; i++) {
        unsigned id;

        *rnd = *rnd * 1103515245u + 12345u;
        id = (*rnd >> 8) % CHURN_KEYS;
        snprintf(name, sizeof(name), "k%u", id);
        vg_log_key_reset(k);
        assert_int_equal(vg_log_key_add(k, name, strlen(name)), VG_OK);
        assert_int_equal(vg_log_key_add(k, "x", 1), VG_OK);
        assert_int_equal(vg_log_series_get(s, k, round, &index), VG_OK);
        n = vg_log_series_vals(s, index);
        (*n)++;
        c->count[id]++;
        c->last[id] = round;
    }
    vg_log_series_expire(s, round - 2);
    for (i = 0; i < CHURN_KEYS; i++) {
        if (c->count[i] > 0 && c->last[i] < round - 2)
            c->count[i] = 0;
        live += c->count[i] > 0;
    }
    memset(c->seen, 0, sizeof(c->seen));
    c->found = 0;
    assert_int_equal(vg_log_series_each(s, churn_check, c), VG_OK);
    assert_int_equal(c->found, live);
    assert_int_equal(vg_log_series_count(s), live);
}

static void series_store_survives_churn(void **state)
{
    static struct churn c;
    struct vg_log_series s;
    struct vg_log_key k;
    uint32_t rnd = 42;
    int64_t round;

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_int_equal(vg_log_series_init(&s, 2, sizeof(uint64_t), 100000), VG_OK);
    vg_log_key_init(&k);
    for (round = 1; round <= 30; round++)
        churn_round(&s, &k, &c, round, &rnd);
    vg_log_key_free(&k);
    vg_log_series_free(&s);
}

/* ------------------------------------------------------------------------
 * The plan's errors, each at its line.
 */

static void plan_without_section_or_with_null_is_fine(void **state)
{
    struct vg_log_metrics *m;
    struct vg_errors errs;

    (void)state;
    vg_errors_init(&errs);
    assert_int_equal(vg_log_metrics_plan(NULL, NULL, 0, &m, &errs), VG_OK);
    assert_int_equal(vg_log_metrics_user_count(m), 0);
    vg_log_metrics_destroy(m);
    vg_errors_free(&errs);
    m = plan_ok("log_metrics:\n");
    vg_log_metrics_destroy(m);
}

static void plan_reports_section_and_entry_shapes(void **state)
{
    (void)state;
    FAILS("log_metrics: { name: x_total }\n",
          "t.yaml:1: log_metrics: expected a sequence of metric maps ('- name: "
          "app_errors_total'), found a map");
    FAILS("log_metrics:\n  - just_text\n",
          "t.yaml:2: log_metrics[0]: expected a map with a 'name' (such as '- name: "
          "app_errors_total'), found a scalar");
}

static void plan_reports_names(void **state)
{
    (void)state;
    FAILS("log_metrics:\n  - match: x\n",
          "t.yaml:2: log_metrics[0]: missing required option 'name'");
    FAILS("log_metrics:\n  - name: 9lives_total\n    match: x\n",
          "t.yaml:2: log_metrics[0] (9lives_total): invalid metric name '9lives_total' (letters, "
          "digits, '_' and ':', not starting with a digit)");
    FAILS("log_metrics:\n  - name: vigil_mine_total\n    match: x\n",
          "t.yaml:2: log_metrics[0] (vigil_mine_total): metric names starting with 'vigil_' are "
          "the agent's own; choose another");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n  - name: b_total\n    match: y\n"
          "  - name: a_total\n    match: z\n",
          "t.yaml:6: log_metrics[2] (a_total): duplicate metric name 'a_total' (also "
          "log_metrics[0], line 2)");
    FAILS("log_metrics:\n  - name: errors\n    match: x\n",
          "t.yaml:2: log_metrics[0] (errors): a counter's name ends in '_total' (such as "
          "'errors_total')");
    FAILS("log_metrics:\n  - name: lat_count\n    type: histogram\n    match: x\n"
          "    value: v\n",
          "t.yaml:2: log_metrics[0] (lat_count): a histogram's name does not end in '_count' "
          "(its series add _bucket, _sum and _count)");
}

static void plan_reports_type_and_ranges(void **state)
{
    (void)state;
    FAILS("log_metrics:\n  - name: g\n    type: gauge\n    match: x\n",
          "t.yaml:3: log_metrics[0] (g): option 'type': invalid value 'gauge' (one of: counter, "
          "histogram)");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    max_series: 0\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'max_series': must be between 1 and "
          "1000000, not 0");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    mach: y\n",
          "t.yaml:4: log_metrics[0] (a_total): unknown option 'mach' (did you mean 'match'?)");
}

static void plan_reports_patterns_and_conditions(void **state)
{
    (void)state;
    FAILS("log_metrics:\n  - name: a_total\n    match: 'x(?<g>y'\n",
          "t.yaml:3: log_metrics[0] (a_total): option 'match': pattern 'x(?<g>y': missing closing "
          "parenthesis at offset 7");
    FAILS("log_metrics:\n  - name: a_total\n    field: f\n    field_match: '['\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'field_match': pattern '[': missing "
          "terminating ] for character class at offset 1");
    FAILS("log_metrics:\n  - name: a_total\n    labels: [x]\n",
          "t.yaml:2: log_metrics[0] (a_total): give 'match' (a pattern on the body), 'field' (a "
          "condition on a field), or both");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    equals: '1'\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'equals' goes with 'field' (the field it "
          "compares)");
    FAILS("log_metrics:\n  - name: a_total\n    field: f\n    equals: '1'\n    field_match: x\n",
          "t.yaml:5: log_metrics[0] (a_total): options 'equals' and 'field_match' both given; "
          "use one");
}

static void plan_reports_labels_value_and_buckets(void **state)
{
    (void)state;
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    labels: [ok, bad-name]\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'labels': invalid label name 'bad-name' "
          "([a-zA-Z_][a-zA-Z0-9_]*, not starting with '__')");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    labels: [collector]\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'labels': 'collector' is a label the agent "
          "sets itself");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    labels: [a, a]\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'labels': 'a' given twice");
    FAILS("log_metrics:\n  - name: lat\n    type: histogram\n    match: x\n",
          "t.yaml:2: log_metrics[0] (lat): a histogram needs 'value' (a named group or field "
          "holding a number)");
    FAILS("log_metrics:\n  - name: lat\n    type: histogram\n    match: x\n    value: v\n"
          "    buckets: [1, 0.5]\n",
          "t.yaml:6: log_metrics[0] (lat): option 'buckets': must ascend, but 0.5 follows 1");
    FAILS("log_metrics:\n  - name: lat\n    type: histogram\n    match: x\n    value: v\n"
          "    buckets: [1, x]\n",
          "t.yaml:6: log_metrics[0] (lat): option 'buckets': item 1 is not a number");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    buckets: [1]\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'buckets': only a histogram has buckets");
}

static void plan_reports_scope_and_source(void **state)
{
    static const char *const glob_warn[] = {
        "t.yaml:4: warning: log_metrics[0] (a_total): option 'source': 'web-*' matches no record "
        "collector; it counts nothing"};

    (void)state;
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    scope: [shop]\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'scope': expected a map of field: glob "
          "(such as { namespace: shop, container: \"nginx*\" })");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    source: [lgos]\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'source': no record collector named 'lgos' "
          "(did you mean 'logs'?)");
    FAILS("log_metrics:\n  - name: a_total\n    match: x\n    source: nodes_and_more\n",
          "t.yaml:4: log_metrics[0] (a_total): option 'source': no record collector named "
          "'nodes_and_more' (record collectors: logs, kmsg, app-logs)");
    plan_fails("log_metrics:\n  - name: a_total\n    match: x\n    source: ['web-*', '*logs']\n",
               NULL, 0, glob_warn, 1);
}

/* A label that is no named group but close to one: read from a field, as
 * written, with a warning that it may be a typo. */
static void plan_warns_of_a_label_like_a_group(void **state)
{
    static const char *const warn[] = {
        "t.yaml:4: warning: log_metrics[0] (a_total): 'methd' is no named group of 'match' (did "
        "you mean 'method'?); it is read from the record field 'methd'"};

    (void)state;
    plan_fails("log_metrics:\n  - name: a_total\n    match: '(?<method>\\w+)'\n"
               "    labels: [methd, pod]\n",
               NULL, 0, warn, 1);
}

/* Every entry's errors in one run. */
static void plan_reports_every_entry(void **state)
{
    (void)state;
    FAILS("log_metrics:\n  - name: a\n    match: x\n  - name: b_total\n    match: '('\n",
          "t.yaml:2: log_metrics[0] (a): a counter's name ends in '_total' (such as 'a_total')",
          "t.yaml:5: log_metrics[1] (b_total): option 'match': pattern '(': missing closing "
          "parenthesis at offset 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(always_on_counts_per_container_and_stream),
        cmocka_unit_test(always_on_counts_levels_and_other),
        cmocka_unit_test(always_on_tells_containers_apart_at_one_address),
        cmocka_unit_test(always_on_series_expire_when_idle),
        cmocka_unit_test(always_on_cap_sends_the_rest_to_one_overflow_series),
        cmocka_unit_test(always_on_label_values_are_made_valid),
        cmocka_unit_test(user_counter_takes_labels_from_groups_and_fields),
        cmocka_unit_test(user_scope_and_source_choose_the_records),
        cmocka_unit_test(user_counter_on_a_field_condition),
        cmocka_unit_test(user_histogram_observes_a_group),
        cmocka_unit_test(user_cardinality_cap_counts_the_rest_in_one_series),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(plan_and_count_survive_every_failed_allocation),
        cmocka_unit_test(series_store_survives_churn),
        cmocka_unit_test(plan_without_section_or_with_null_is_fine),
        cmocka_unit_test(plan_reports_section_and_entry_shapes),
        cmocka_unit_test(plan_reports_names),
        cmocka_unit_test(plan_reports_type_and_ranges),
        cmocka_unit_test(plan_reports_patterns_and_conditions),
        cmocka_unit_test(plan_reports_labels_value_and_buckets),
        cmocka_unit_test(plan_reports_scope_and_source),
        cmocka_unit_test(plan_warns_of_a_label_like_a_group),
        cmocka_unit_test(plan_reports_every_entry),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_expo.c - the exposition formats, byte for byte: text 0.0.4 and
 * OpenMetrics 1.0.0, escaping, ordering, special values and gzip.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "core.h"
#include "metrics.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

#define PROMTOOL "/usr/bin/promtool"

/* Every kind of family, staged in an order that rendering must fix. */
static void stage_all(struct vg_samples *s)
{
    struct vg_emit e = {.samples = s, .sink = NULL};
    struct vg_label job_b = {"job", "b"}, job_a = {"job", "a"};
    struct vg_label q9 = {"quantile", "0.9"}, q5 = {"quantile", "0.5"}, q1 = {"quantile", "1"};
    double bounds[] = {0.5, 2, 10};
    uint64_t counts_b[] = {0, 0, 1}, counts_a[] = {1, 3, 4};

    assert_int_equal(vg_emit_gauge(&e, "zz_untyped_gauge", "Last.", 0.25, NULL), VG_OK);
    assert_int_equal(vg_emit_series(&e, "unt", VG_METRIC_UNTYPED, NULL, "", NULL, 0, 3), VG_OK);
    assert_int_equal(vg_emit_counter(&e, "http_requests_total", "Total requests.", 2, "method",
                                     "POST", "code", "500", NULL),
                     VG_OK);
    assert_int_equal(vg_emit_counter(&e, "http_requests_total", "Total requests.", 10, "code",
                                     "200", "method", "GET", NULL),
                     VG_OK);
    assert_int_equal(vg_emit_counter(&e, "jobs", "Jobs run.", 7, NULL), VG_OK);
    assert_int_equal(
        vg_emit_histogram(&e, "lat_seconds", "Latency.", &job_b, 1, bounds, counts_b, 3, 9, 1),
        VG_OK);
    assert_int_equal(
        vg_emit_histogram(&e, "lat_seconds", "Latency.", &job_a, 1, bounds, counts_a, 3, 2.5, 5),
        VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "rpc_seconds", VG_METRIC_SUMMARY, "RPC latency.", "_count", NULL, 0, 30),
        VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "rpc_seconds", VG_METRIC_SUMMARY, "RPC latency.", "", &q9, 1, 0.7),
        VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "rpc_seconds", VG_METRIC_SUMMARY, "RPC latency.", "_sum", NULL, 0, 10),
        VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "rpc_seconds", VG_METRIC_SUMMARY, "RPC latency.", "", &q1, 1, 0.75),
        VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "rpc_seconds", VG_METRIC_SUMMARY, "RPC latency.", "", &q5, 1, 0.2),
        VG_OK);
    assert_int_equal(vg_emit_gauge(&e, "special", "Special values.", NAN, "v", "nan", NULL), VG_OK);
    assert_int_equal(vg_emit_gauge(&e, "special", "Special values.", INFINITY, "v", "pinf", NULL),
                     VG_OK);
    assert_int_equal(vg_emit_gauge(&e, "special", "Special values.", -INFINITY, "v", "ninf", NULL),
                     VG_OK);
    assert_int_equal(vg_emit_gauge(&e, "temp", "A \\ \"quoted\" help\nline", 1.5, "path",
                                   "C:\\dir \"q\"\nx", NULL),
                     VG_OK);
}

static const char expected_text[] = "# HELP http_requests_total Total requests.\n"
                                    "# TYPE http_requests_total counter\n"
                                    "http_requests_total{code=\"200\",method=\"GET\"} 10\n"
                                    "http_requests_total{code=\"500\",method=\"POST\"} 2\n"
                                    "# HELP jobs Jobs run.\n"
                                    "# TYPE jobs counter\n"
                                    "jobs 7\n"
                                    "# HELP lat_seconds Latency.\n"
                                    "# TYPE lat_seconds histogram\n"
                                    "lat_seconds_bucket{job=\"a\",le=\"0.5\"} 1\n"
                                    "lat_seconds_bucket{job=\"a\",le=\"2\"} 3\n"
                                    "lat_seconds_bucket{job=\"a\",le=\"10\"} 4\n"
                                    "lat_seconds_bucket{job=\"a\",le=\"+Inf\"} 5\n"
                                    "lat_seconds_sum{job=\"a\"} 2.5\n"
                                    "lat_seconds_count{job=\"a\"} 5\n"
                                    "lat_seconds_bucket{job=\"b\",le=\"0.5\"} 0\n"
                                    "lat_seconds_bucket{job=\"b\",le=\"2\"} 0\n"
                                    "lat_seconds_bucket{job=\"b\",le=\"10\"} 1\n"
                                    "lat_seconds_bucket{job=\"b\",le=\"+Inf\"} 1\n"
                                    "lat_seconds_sum{job=\"b\"} 9\n"
                                    "lat_seconds_count{job=\"b\"} 1\n"
                                    "# HELP rpc_seconds RPC latency.\n"
                                    "# TYPE rpc_seconds summary\n"
                                    "rpc_seconds{quantile=\"0.5\"} 0.2\n"
                                    "rpc_seconds{quantile=\"0.9\"} 0.7\n"
                                    "rpc_seconds{quantile=\"1\"} 0.75\n"
                                    "rpc_seconds_sum 10\n"
                                    "rpc_seconds_count 30\n"
                                    "# HELP special Special values.\n"
                                    "# TYPE special gauge\n"
                                    "special{v=\"nan\"} NaN\n"
                                    "special{v=\"ninf\"} -Inf\n"
                                    "special{v=\"pinf\"} +Inf\n"
                                    "# HELP temp A \\\\ \"quoted\" help\\nline\n"
                                    "# TYPE temp gauge\n"
                                    "temp{path=\"C:\\\\dir \\\"q\\\"\\nx\"} 1.5\n"
                                    "# TYPE unt untyped\n"
                                    "unt 3\n"
                                    "# HELP zz_untyped_gauge Last.\n"
                                    "# TYPE zz_untyped_gauge gauge\n"
                                    "zz_untyped_gauge 0.25\n";

static const char expected_openmetrics[] = "# HELP http_requests Total requests.\n"
                                           "# TYPE http_requests counter\n"
                                           "http_requests_total{code=\"200\",method=\"GET\"} 10\n"
                                           "http_requests_total{code=\"500\",method=\"POST\"} 2\n"
                                           "# HELP jobs Jobs run.\n"
                                           "# TYPE jobs counter\n"
                                           "jobs_total 7\n"
                                           "# HELP lat_seconds Latency.\n"
                                           "# TYPE lat_seconds histogram\n"
                                           "lat_seconds_bucket{job=\"a\",le=\"0.5\"} 1\n"
                                           "lat_seconds_bucket{job=\"a\",le=\"2.0\"} 3\n"
                                           "lat_seconds_bucket{job=\"a\",le=\"10.0\"} 4\n"
                                           "lat_seconds_bucket{job=\"a\",le=\"+Inf\"} 5\n"
                                           "lat_seconds_sum{job=\"a\"} 2.5\n"
                                           "lat_seconds_count{job=\"a\"} 5\n"
                                           "lat_seconds_bucket{job=\"b\",le=\"0.5\"} 0\n"
                                           "lat_seconds_bucket{job=\"b\",le=\"2.0\"} 0\n"
                                           "lat_seconds_bucket{job=\"b\",le=\"10.0\"} 1\n"
                                           "lat_seconds_bucket{job=\"b\",le=\"+Inf\"} 1\n"
                                           "lat_seconds_sum{job=\"b\"} 9\n"
                                           "lat_seconds_count{job=\"b\"} 1\n"
                                           "# HELP rpc_seconds RPC latency.\n"
                                           "# TYPE rpc_seconds summary\n"
                                           "rpc_seconds{quantile=\"0.5\"} 0.2\n"
                                           "rpc_seconds{quantile=\"0.9\"} 0.7\n"
                                           "rpc_seconds{quantile=\"1.0\"} 0.75\n"
                                           "rpc_seconds_sum 10\n"
                                           "rpc_seconds_count 30\n"
                                           "# HELP special Special values.\n"
                                           "# TYPE special gauge\n"
                                           "special{v=\"nan\"} NaN\n"
                                           "special{v=\"ninf\"} -Inf\n"
                                           "special{v=\"pinf\"} +Inf\n"
                                           "# HELP temp A \\\\ \\\"quoted\\\" help\\nline\n"
                                           "# TYPE temp gauge\n"
                                           "temp{path=\"C:\\\\dir \\\"q\\\"\\nx\"} 1.5\n"
                                           "# TYPE unt unknown\n"
                                           "unt 3\n"
                                           "# HELP zz_untyped_gauge Last.\n"
                                           "# TYPE zz_untyped_gauge gauge\n"
                                           "zz_untyped_gauge 0.25\n"
                                           "# EOF\n";

struct fixture {
    struct vg_samples *s;
    struct vg_metric_store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->s = vg_samples_create();
    f->st = vg_store_create();
    assert_non_null(f->s);
    assert_non_null(f->st);
    stage_all(f->s);
    assert_int_equal(vg_store_commit(f->st, "test", f->s), VG_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    vg_samples_destroy(f->s);
    vg_store_destroy(f->st);
    free(f);
    return 0;
}

static void assert_rendered(struct vg_metric_store *st, enum vg_expo_format fmt, const char *want)
{
    struct vg_rendered *r = vg_store_render(st, fmt, false);
    char *got;

    assert_non_null(r);
    got = strndup(vg_rendered_data(r), vg_rendered_len(r));
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(vg_rendered_len(r), strlen(want));
    free(got);
    vg_rendered_release(r);
}

static void test_text_format_is_exact(void **state)
{
    struct fixture *f = *state;

    assert_rendered(f->st, VG_EXPO_TEXT, expected_text);
}

static void test_openmetrics_format_is_exact(void **state)
{
    struct fixture *f = *state;

    assert_rendered(f->st, VG_EXPO_OPENMETRICS, expected_openmetrics);
}

static void test_output_does_not_depend_on_staging_order(void **state)
{
    struct fixture *f = *state;
    struct vg_emit e = {.samples = f->s, .sink = NULL};
    const char *names[] = {"b", "c", "a"};
    int i;

    /* re-stage in another order: families and series still come out sorted */
    for (i = 2; i >= 0; i--)
        assert_int_equal(vg_emit_gauge(&e, "zzz_order", "Order.", i, "k", names[i], NULL), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "order", f->s), VG_OK);
    stage_all(f->s);
    assert_int_equal(vg_store_commit(f->st, "test", f->s), VG_OK);
    {
        char want[sizeof(expected_text) + 200];

        snprintf(want, sizeof(want),
                 "%s# HELP zzz_order Order.\n# TYPE zzz_order gauge\n"
                 "zzz_order{k=\"a\"} 2\nzzz_order{k=\"b\"} 0\nzzz_order{k=\"c\"} 1\n",
                 expected_text);
        assert_rendered(f->st, VG_EXPO_TEXT, want);
    }
}

static void test_empty_store_renders_empty_and_eof(void **state)
{
    struct vg_metric_store *st = vg_store_create();

    (void)state;
    assert_non_null(st);
    assert_rendered(st, VG_EXPO_TEXT, "");
    assert_rendered(st, VG_EXPO_OPENMETRICS, "# EOF\n");
    vg_store_destroy(st);
}

static void test_label_escaping(void **state)
{
    struct vg_buf b;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(vg_expo_escape_label(&b, "a\\b\"c\nd"), VG_OK);
    assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
    vg_buf_reset(&b);
    assert_int_equal(vg_expo_escape_label(&b, "plain"), VG_OK);
    assert_string_equal(b.data, "plain");
    vg_buf_reset(&b);
    assert_int_equal(vg_expo_escape_label(&b, ""), VG_OK);
    assert_int_equal(b.len, 0);
    vg_buf_free(&b);
}

static void test_help_escaping_keeps_quotes(void **state)
{
    struct vg_buf b;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(vg_expo_escape_help(&b, "a\\b\"c\nd\n"), VG_OK);
    assert_string_equal(b.data, "a\\\\b\"c\\nd\\n");
    vg_buf_free(&b);
}

/* Inflates a gzip stream into a NUL-terminated string the caller frees. */
static char *gunzip(const char *data, size_t len, size_t *out_len)
{
    z_stream z;
    size_t cap = len * 20 + 1024;
    char *out = malloc(cap);

    assert_non_null(out);
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(cap - 1);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - 1 - z.avail_out;
    out[*out_len] = '\0';
    inflateEnd(&z);
    return out;
}

static void test_gzip_round_trips(void **state)
{
    struct fixture *f = *state;
    enum vg_expo_format fmts[] = {VG_EXPO_TEXT, VG_EXPO_OPENMETRICS};
    const char *want[] = {expected_text, expected_openmetrics};
    size_t i, n;

    for (i = 0; i < 2; i++) {
        struct vg_rendered *z = vg_store_render(f->st, fmts[i], true);
        struct vg_rendered *z2 = vg_store_render(f->st, fmts[i], true);
        const unsigned char *d;
        char *plain;

        assert_non_null(z);
        assert_ptr_equal(z, z2);
        d = (const unsigned char *)vg_rendered_data(z);
        assert_true(vg_rendered_len(z) > 18);
        assert_int_equal(d[0], 0x1f);
        assert_int_equal(d[1], 0x8b);
        plain = gunzip(vg_rendered_data(z), vg_rendered_len(z), &n);
        assert_int_equal(n, strlen(want[i]));
        assert_string_equal(plain, want[i]);
        free(plain);
        vg_rendered_release(z);
        vg_rendered_release(z2);
    }
}

static void test_large_store_renders_every_series(void **state)
{
    struct fixture *f = *state;
    struct vg_emit e = {.samples = f->s, .sink = NULL};
    struct vg_rendered *r, *z;
    char id[16], *plain;
    size_t n, lines = 0, base = 0, i;
    int k;

    for (k = 0; k < 10000; k++) {
        snprintf(id, sizeof(id), "%d", k);
        assert_int_equal(vg_emit_gauge(&e, "bench_series", "A benchmark series.", k, "job", "batch",
                                       "shard", id, NULL),
                         VG_OK);
    }
    assert_int_equal(vg_store_commit(f->st, "bench", f->s), VG_OK);
    r = vg_store_render(f->st, VG_EXPO_TEXT, false);
    z = vg_store_render(f->st, VG_EXPO_TEXT, true);
    assert_non_null(r);
    assert_non_null(z);
    for (i = 0; i < vg_rendered_len(r); i++)
        lines += vg_rendered_data(r)[i] == '\n';
    for (i = 0; expected_text[i] != '\0'; i++)
        base += expected_text[i] == '\n';
    assert_int_equal(lines, 10000 + 2 + base);
    assert_non_null(
        strstr(vg_rendered_data(r), "bench_series{job=\"batch\",shard=\"9999\"} 9999\n"));
    plain = gunzip(vg_rendered_data(z), vg_rendered_len(z), &n);
    assert_int_equal(n, vg_rendered_len(r));
    assert_memory_equal(plain, vg_rendered_data(r), n);
    free(plain);
    vg_rendered_release(r);
    vg_rendered_release(z);
}

/* A store that promtool's linter has nothing to say about. */
static void stage_clean(struct vg_samples *s)
{
    struct vg_emit e = {.samples = s, .sink = NULL};
    struct vg_label q = {"quantile", "0.5"}, path = {"path", "a \"b\"\\c\nd"};
    double bounds[] = {0.1, 1};
    uint64_t counts[] = {1, 2};

    assert_int_equal(vg_emit_counter(&e, "demo_requests_total", "Requests \"served\".\n", 5, "code",
                                     "200", NULL),
                     VG_OK);
    assert_int_equal(vg_emit_gauge(&e, "demo_temperature_celsius", "A \\ temperature.", NAN,
                                   "sensor", "x", NULL),
                     VG_OK);
    assert_int_equal(vg_emit_histogram(&e, "demo_latency_seconds", "Latency.", &path, 1, bounds,
                                       counts, 2, 3, 4),
                     VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "demo_rpc_seconds", VG_METRIC_SUMMARY, "RPC.", "", &q, 1, 0.1), VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "demo_rpc_seconds", VG_METRIC_SUMMARY, "RPC.", "_sum", NULL, 0, 1),
        VG_OK);
    assert_int_equal(
        vg_emit_series(&e, "demo_rpc_seconds", VG_METRIC_SUMMARY, "RPC.", "_count", NULL, 0, 2),
        VG_OK);
}

static void test_promtool_accepts_the_text_format(void **state)
{
    char dir[] = "/tmp/vg_expo_XXXXXX", path[64], cmd[160], out[4096];
    struct vg_metric_store *st;
    struct vg_samples *s;
    struct vg_rendered *r;
    FILE *fp, *p;
    size_t n;
    int status;

    (void)state;
    if (access(PROMTOOL, X_OK) != 0)
        skip();
    st = vg_store_create();
    s = vg_samples_create();
    stage_clean(s);
    assert_int_equal(vg_store_commit(st, "clean", s), VG_OK);
    r = vg_store_render(st, VG_EXPO_TEXT, false);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/metrics.prom", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(vg_rendered_data(r), 1, vg_rendered_len(r), fp), vg_rendered_len(r));
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", PROMTOOL, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    status = pclose(p);
    unlink(path);
    rmdir(dir);
    if (status != 0)
        fail_msg("promtool: %s\n%s", out, vg_rendered_data(r));
    vg_rendered_release(r);
    vg_samples_destroy(s);
    vg_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_format_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openmetrics_format_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_does_not_depend_on_staging_order, setup,
                                        teardown),
        cmocka_unit_test(test_empty_store_renders_empty_and_eof),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_help_escaping_keeps_quotes),
        cmocka_unit_test_setup_teardown(test_gzip_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_store_renders_every_series, setup, teardown),
        cmocka_unit_test(test_promtool_accepts_the_text_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_textfile.c - the textfile collector: its parser on strings, then
 * whole collections over fixture and temporary directories, through the
 * real staging area and metric store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../collectors/textfile/textfile_parse.h"
#include "config.h"
#include "core.h"
#include "read_file.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

#define FIXTURES VG_SOURCE_DIR "/tests/fixtures/textfile"

extern const struct vg_collector_ops vg_collector_textfile;

/* ------------------------------------------------------------------------
 * Parser helpers.
 */

struct parsed {
    struct textfile_result r;
    struct vg_error err;
    unsigned line;
    int rc;
};

static struct parsed *parse_str(const char *text)
{
    struct parsed *p = calloc(1, sizeof(*p));

    assert_non_null(p);
    textfile_result_init(&p->r);
    p->rc = textfile_parse(&p->r, text, strlen(text), &p->line, &p->err);
    return p;
}

static void parsed_free(struct parsed *p)
{
    textfile_result_free(&p->r);
    free(p);
}

/* Asserts that text fails on `line` with a message containing `what`. */
static void expect_error(const char *text, unsigned line, const char *what)
{
    struct parsed *p = parse_str(text);

    if (p->rc != VG_EPARSE || p->line != line || strstr(p->err.msg, what) == NULL)
        fail_msg("input %s: rc %d line %u msg '%s'; wanted line %u and '%s'", text, p->rc, p->line,
                 p->err.msg, line, what);
    assert_int_equal(p->r.n_samples, 0);
    parsed_free(p);
}

static long find_family(const struct textfile_result *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->n_families; i++)
        if (strcmp(textfile_family_name(r, i), name) == 0)
            return (long)i;
    return -1;
}

/* The sample i as "family suffix {a=b,c=d} value", for comparisons. */
static const char *sample_str(const struct textfile_result *r, size_t i, char *out, size_t cap)
{
    struct vg_label labels[TEXTFILE_MAX_LABELS];
    struct textfile_view v;
    size_t k, o;

    textfile_sample_view(r, i, &v, labels);
    o = (size_t)snprintf(out, cap, "%s%s{", v.family, v.suffix);
    for (k = 0; k < v.n_labels && o < cap; k++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", k ? "," : "", labels[k].name,
                              labels[k].value);
    if (o < cap)
        snprintf(out + o, cap - o, "} %g", r->samples[i].value);
    return out;
}

static void expect_sample(const struct textfile_result *r, size_t i, const char *want)
{
    char buf[4096];

    assert_true(i < r->n_samples);
    assert_string_equal(sample_str(r, i, buf, sizeof(buf)), want);
}

/* ------------------------------------------------------------------------
 * Parser: what is accepted.
 */

static void test_parse_families_with_help_and_type(void **state)
{
    struct parsed *p = parse_str("# HELP http_requests_total Requests served.\n"
                                 "# TYPE http_requests_total counter\n"
                                 "http_requests_total{code=\"200\"} 1027\n"
                                 "# TYPE temp_celsius gauge\n"
                                 "temp_celsius 21.5\n"
                                 "plain_value 3\n");
    long f;

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_samples, 3);
    f = find_family(&p->r, "http_requests_total");
    assert_true(f >= 0);
    assert_int_equal(p->r.families[f].type, VG_METRIC_COUNTER);
    assert_string_equal(textfile_family_help(&p->r, (size_t)f), "Requests served.");
    f = find_family(&p->r, "temp_celsius");
    assert_int_equal(p->r.families[f].type, VG_METRIC_GAUGE);
    assert_null(textfile_family_help(&p->r, (size_t)f));
    f = find_family(&p->r, "plain_value");
    assert_int_equal(p->r.families[f].type, VG_METRIC_UNTYPED);
    assert_false(p->r.families[f].typed);
    expect_sample(&p->r, 0, "http_requests_total{code=200} 1027");
    expect_sample(&p->r, 1, "temp_celsius{} 21.5");
    expect_sample(&p->r, 2, "plain_value{} 3");
    parsed_free(p);
}

static void test_parse_help_escapes(void **state)
{
    struct parsed *p = parse_str("# HELP a back\\\\slash and\\nnewline  \na 1\n");

    assert_int_equal(p->rc, VG_OK);
    assert_string_equal(textfile_family_help(&p->r, 0), "back\\slash and\nnewline  ");
    parsed_free(p);
}

static void test_parse_label_escapes(void **state)
{
    struct parsed *p = parse_str("d{x=\"a\\\\b\\\"c\\nd\"} 1\n");
    struct vg_label labels[TEXTFILE_MAX_LABELS];
    struct textfile_view v;

    assert_int_equal(p->rc, VG_OK);
    textfile_sample_view(&p->r, 0, &v, labels);
    assert_int_equal(v.n_labels, 1);
    assert_string_equal(labels[0].value, "a\\b\"c\nd");
    parsed_free(p);
}

static void test_parse_blanks_trailing_comma_and_sorted_labels(void **state)
{
    struct parsed *p = parse_str("  \t\n"
                                 "  m { zeta = \"1\" ,\talpha=\"2\", } \t 5  \n"
                                 "n{} 6\n"
                                 "o{a=\"\"}7\n");

    assert_int_equal(p->rc, VG_OK);
    expect_sample(&p->r, 0, "m{alpha=2,zeta=1} 5");
    expect_sample(&p->r, 1, "n{} 6");
    expect_sample(&p->r, 2, "o{a=} 7");
    parsed_free(p);
}

static void test_parse_special_values(void **state)
{
    struct parsed *p = parse_str("a NaN\nb +Inf\nc -Inf\nd Inf\ne 1e3\nf .5\ng -0\nh inf\n"
                                 "i 1.5E-3\nj Infinity\n");

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_samples, 10);
    assert_true(isnan(p->r.samples[0].value));
    assert_true(isinf(p->r.samples[1].value) && p->r.samples[1].value > 0);
    assert_true(isinf(p->r.samples[2].value) && p->r.samples[2].value < 0);
    assert_true(isinf(p->r.samples[3].value) && p->r.samples[3].value > 0);
    assert_true(p->r.samples[4].value == 1000.0);
    assert_true(p->r.samples[5].value == 0.5);
    assert_true(p->r.samples[6].value == 0.0);
    assert_true(isinf(p->r.samples[7].value));
    assert_true(p->r.samples[8].value == 1.5e-3);
    assert_true(isinf(p->r.samples[9].value));
    parsed_free(p);
}

static void test_parse_histogram_parts_and_le_normalised(void **state)
{
    struct parsed *p = parse_str("# HELP h Durations.\n"
                                 "# TYPE h histogram\n"
                                 "h_bucket{le=\"0.50\",path=\"/\"} 1\n"
                                 "h_bucket{path=\"/\",le=\"1.0\"} 3\n"
                                 "h_bucket{path=\"/\",le=\"+Inf\"} 4\n"
                                 "h_sum{path=\"/\"} 5.25\n"
                                 "h_count{path=\"/\"} 4\n");

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_families, 1);
    assert_int_equal(p->r.families[0].type, VG_METRIC_HISTOGRAM);
    expect_sample(&p->r, 0, "h_bucket{le=0.5,path=/} 1");
    expect_sample(&p->r, 1, "h_bucket{le=1,path=/} 3");
    expect_sample(&p->r, 2, "h_bucket{le=+Inf,path=/} 4");
    expect_sample(&p->r, 3, "h_sum{path=/} 5.25");
    expect_sample(&p->r, 4, "h_count{path=/} 4");
    parsed_free(p);
}

static void test_parse_summary_parts(void **state)
{
    struct parsed *p = parse_str("# TYPE s summary\n"
                                 "s{quantile=\"0.50\"} 0.2\n"
                                 "s{quantile=\"0.99\"} 0.9\n"
                                 "s_sum 12\n"
                                 "s_count 40\n");

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_families, 1);
    assert_int_equal(p->r.families[0].type, VG_METRIC_SUMMARY);
    expect_sample(&p->r, 0, "s{quantile=0.5} 0.2");
    expect_sample(&p->r, 1, "s{quantile=0.99} 0.9");
    expect_sample(&p->r, 2, "s_sum{} 12");
    expect_sample(&p->r, 3, "s_count{} 40");
    parsed_free(p);
}

static void test_parse_suffixes_without_type_are_own_families(void **state)
{
    struct parsed *p = parse_str("w_sum 1\nw_count 2\nw_bucket{le=\"x\"} 3\n"
                                 "# TYPE g gauge\ng_sum 4\n");

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_families, 5);
    expect_sample(&p->r, 0, "w_sum{} 1");
    expect_sample(&p->r, 2, "w_bucket{le=x} 3");
    expect_sample(&p->r, 3, "g_sum{} 4");
    assert_int_equal(p->r.families[find_family(&p->r, "g_sum")].type, VG_METRIC_UNTYPED);
    parsed_free(p);
}

static void test_parse_comments_help_after_samples_and_interleaving(void **state)
{
    struct parsed *p = parse_str("# just a comment\n#\n# HELPFUL not a help line\n"
                                 "# TYPE t gauge\nt{a=\"1\"} 1\nu 2\nt{a=\"2\"} 3\n"
                                 "# HELP t late help is fine\n");
    long f;

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_samples, 3);
    f = find_family(&p->r, "t");
    assert_string_equal(textfile_family_help(&p->r, (size_t)f), "late help is fine");
    parsed_free(p);
}

static void test_parse_type_is_case_insensitive(void **state)
{
    struct parsed *p = parse_str("# TYPE a COUNTER\na 1\n");

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.families[0].type, VG_METRIC_COUNTER);
    parsed_free(p);
}

static void test_parse_empty_and_comment_only(void **state)
{
    struct parsed *p = parse_str("");

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_samples, 0);
    parsed_free(p);
    p = parse_str("\n\n# HELP only_help text\n# TYPE only_help gauge\n\n");
    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_samples, 0);
    assert_false(p->r.families[0].has_samples);
    parsed_free(p);
}

static void test_parse_no_trailing_newline(void **state)
{
    struct parsed *p = parse_str("a 1\nb{x=\"y\"} 2");

    assert_int_equal(p->rc, VG_OK);
    assert_int_equal(p->r.n_samples, 2);
    expect_sample(&p->r, 1, "b{x=y} 2");
    parsed_free(p);
}

static void test_parse_very_long_line(void **state)
{
    size_t n = 1u << 20, i;
    char *text = malloc(n + 64);
    struct textfile_result r;
    struct vg_label labels[TEXTFILE_MAX_LABELS];
    struct textfile_view v;
    struct vg_error err;
    unsigned line;
    size_t o;

    assert_non_null(text);
    o = (size_t)snprintf(text, 64, "long{v=\"");
    for (i = 0; i < n; i++)
        text[o++] = (char)('a' + i % 26);
    memcpy(text + o, "\"} 1\n", 5);
    o += 5;
    textfile_result_init(&r);
    assert_int_equal(textfile_parse(&r, text, o, &line, &err), VG_OK);
    textfile_sample_view(&r, 0, &v, labels);
    assert_int_equal(strlen(labels[0].value), n);
    textfile_result_free(&r);
    free(text);
}

static void test_parse_result_reused(void **state)
{
    struct textfile_result r;
    struct vg_error err;
    unsigned line;
    const char *a = "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"2\"} 2\n";
    const char *b = "# TYPE x counter\nx{a=\"1\"} 5\n";
    int i;

    textfile_result_init(&r);
    for (i = 0; i < 3; i++) {
        assert_int_equal(textfile_parse(&r, a, strlen(a), &line, &err), VG_OK);
        assert_int_equal(r.n_samples, 2);
        assert_int_equal(r.families[0].type, VG_METRIC_GAUGE);
        assert_int_equal(textfile_parse(&r, b, strlen(b), &line, &err), VG_OK);
        assert_int_equal(r.n_samples, 1);
        assert_int_equal(r.families[0].type, VG_METRIC_COUNTER);
        assert_true(r.samples[0].value == 5.0);
    }
    assert_int_equal(textfile_parse(&r, "x 1 1\n", 6, &line, &err), VG_EPARSE);
    assert_int_equal(textfile_parse(&r, a, strlen(a), &line, &err), VG_OK);
    assert_int_equal(r.n_samples, 2);
    textfile_result_free(&r);
}

/* ------------------------------------------------------------------------
 * Parser: every error names its line.
 */

static void test_parse_rejects_timestamps(void **state)
{
    expect_error("a 1\nb 2 1700000000000\n", 2, "timestamp");
    expect_error("a{x=\"y\"} 1 -5\n", 1, "timestamp");
    expect_error("# TYPE c counter\n\nc 1 +17\n", 3, "timestamp");
}

static void test_parse_rejects_trailing_garbage(void **state)
{
    expect_error("a 1 xyz\n", 1, "unexpected 'xyz'");
    expect_error("a 1\nb 2 x y\n", 2, "unexpected 'x y'");
    expect_error("a 1 1.5\n", 1, "unexpected '1.5'");
}

static void test_parse_rejects_bad_values(void **state)
{
    expect_error("a\n", 1, "without a value");
    expect_error("a{x=\"1\"}\n", 1, "without a value");
    expect_error("a 0x10\n", 1, "invalid sample value '0x10'");
    expect_error("a 1_000\n", 1, "invalid sample value");
    expect_error("a one\n", 1, "invalid sample value 'one'");
    expect_error("a 1e400\n", 1, "invalid sample value");
    expect_error("ok 1\na nan(1)\n", 2, "invalid sample value");
    expect_error("a 1\r\n", 1, "invalid sample value '1\\x0d'");
}

static void test_parse_rejects_bad_names(void **state)
{
    expect_error("1abc 1\n", 1, "expected a metric name");
    expect_error("a-b 1\n", 1, "invalid character in metric name");
    expect_error("a\xc3\xa9 1\n", 1, "invalid character in metric name 'a\\xc3\\xa9 1'");
    expect_error("# TYPE 1x gauge\n", 1, "invalid metric name '1x'");
    expect_error("# HELP\n", 1, "HELP line without a metric name");
    expect_error("a{1x=\"1\"} 1\n", 1, "expected a label name");
    expect_error("a{x-y=\"1\"} 1\n", 1, "expected '=' after label name x");
    expect_error("a{__name__=\"b\"} 1\n", 1, "reserved");
    expect_error("a{__x=\"b\"} 1\n", 1, "reserved");
    expect_error("a{x=\"1\",x=\"2\"} 1\n", 1, "label x given twice");
}

static void test_parse_rejects_bad_label_syntax(void **state)
{
    expect_error("a{x=\"1} 1\n", 1, "unterminated value of label x");
    expect_error("a{x=1} 1\n", 1, "expected '\"' to open the value of label x");
    expect_error("a{x=\"1\" y=\"2\"} 1\n", 1, "expected ',' or '}'");
    expect_error("a{x=\"1\"\n", 1, "not closed");
    expect_error("a{x=\"a\\tb\"} 1\n", 1, "invalid escape sequence '\\t'");
    expect_error("a{x=\"\xff\"} 1\n", 1, "not valid UTF-8");
    expect_error("a{x=\"\xed\xa0\x80\"} 1\n", 1, "not valid UTF-8");
}

static void test_parse_rejects_nul_byte(void **state)
{
    struct textfile_result r;
    struct vg_error err;
    unsigned line;
    const char text[] = "a 1\nb{x=\"a\0b\"} 1\n";

    textfile_result_init(&r);
    assert_int_equal(textfile_parse(&r, text, sizeof(text) - 1, &line, &err), VG_EPARSE);
    assert_int_equal(line, 2);
    assert_non_null(strstr(err.msg, "NUL"));
    textfile_result_free(&r);
}

static void test_parse_rejects_bad_help_and_type_lines(void **state)
{
    expect_error("# HELP a x\\ty\n", 1, "invalid escape sequence '\\t' in HELP");
    expect_error("# HELP a trailing\\\n", 1, "lone backslash");
    expect_error("# HELP a \xc0\xaf\n", 1, "not valid UTF-8");
    expect_error("# HELP a one\n# HELP a two\na 1\n", 2, "second HELP line for metric a");
    expect_error("# TYPE a gauge\n# TYPE a gauge\n", 2, "second TYPE line for metric a");
    expect_error("# TYPE a gauge\na 1\n# TYPE a counter\n", 3, "second TYPE line");
    expect_error("b 1\n# TYPE b gauge\n", 2, "TYPE line for b after its samples (line 1)");
    expect_error("h_bucket{le=\"1\"} 1\n# TYPE h histogram\n", 2,
                 "TYPE line for h after its samples");
    expect_error("s_count 1\n\n# TYPE s summary\n", 3, "TYPE line for s after its samples");
    expect_error("# TYPE a gauges\n", 1, "unknown metric type 'gauges'");
    expect_error("# TYPE a counter extra\n", 1, "unknown metric type 'counter extra'");
    expect_error("# TYPE a\n", 1, "TYPE line for a without a type");
}

static void test_parse_rejects_bad_histograms_and_summaries(void **state)
{
    expect_error("# TYPE h histogram\nh_bucket 1\n", 2, "histogram bucket sample without a le");
    expect_error("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2, "le label value 'x'");
    expect_error("# TYPE h histogram\nh 1\n", 2, "needs a _bucket, _sum or _count suffix");
    expect_error("# TYPE s summary\ns 1\n", 2, "summary sample without a quantile label");
    expect_error("# TYPE s summary\ns{quantile=\"high\"} 1\n", 2, "quantile label value");
}

static void test_parse_rejects_duplicate_series(void **state)
{
    expect_error("# TYPE c gauge\nc{x=\"1\"} 1\nc{x=\"2\"} 1\nc{x=\"1\"} 2\n", 4,
                 "duplicate series c{x=\"1\"} (first on line 2)");
    expect_error("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n", 2, "duplicate series");
    expect_error("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1\n", 3,
                 "duplicate series h_bucket{le=\"1\"}");
    expect_error("a 1\na 2\n", 2, "duplicate series a (first on line 1)");
}

static void test_parse_rejects_too_many_labels(void **state)
{
    char text[4096];
    size_t o = 0;
    int i;

    o += (size_t)snprintf(text + o, sizeof(text) - o, "a{");
    for (i = 0; i <= TEXTFILE_MAX_LABELS; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "l%d=\"v\",", i);
    snprintf(text + o, sizeof(text) - o, "} 1\n");
    expect_error(text, 1, "more than 64 labels");
}

/* ------------------------------------------------------------------------
 * Whole collections.
 */

struct tf {
    struct vg_collector c;
    struct vg_samples *samples;
    struct vg_metric_store *store;
    char *text; /* the last rendering */
};

static const struct vg_option *tf_option(const char *name)
{
    const struct vg_option *o;

    for (o = vg_collector_textfile.options; o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    fail_msg("no option %s", name);
    return NULL;
}

/* A collector over dir as the engine would set it up; init's status in *rc. */
static struct tf *tf_new(const char *dir, uint64_t max_size, int *rc)
{
    struct tf *t = calloc(1, sizeof(*t));
    struct vg_error err = {0};

    assert_non_null(t);
    t->c.ops = &vg_collector_textfile;
    t->c.name = "tf";
    t->c.interval_ms = vg_collector_textfile.default_interval_ms;
    t->c.ctx = calloc(1, vg_collector_textfile.ctx_size);
    assert_non_null(t->c.ctx);
    *(char **)((char *)t->c.ctx + tf_option("directory")->offset) = strdup(dir);
    *(uint64_t *)((char *)t->c.ctx + tf_option("max_file_size")->offset) = max_size;
    t->samples = vg_samples_create();
    t->store = vg_store_create();
    assert_non_null(t->samples);
    assert_non_null(t->store);
    *rc = vg_collector_textfile.init(&t->c, NULL, &err);
    return t;
}

static void tf_free(struct tf *t)
{
    vg_collector_textfile.destroy(&t->c);
    free(*(char **)((char *)t->c.ctx + tf_option("directory")->offset));
    free(t->c.ctx);
    vg_samples_destroy(t->samples);
    vg_store_destroy(t->store);
    free(t->text);
    free(t);
}

/* One collection, committed and rendered into t->text; returns the number
 * of samples staged. */
static size_t tf_collect(struct tf *t)
{
    struct vg_emit emit = {.samples = t->samples, .sink = NULL};
    struct vg_rendered *r;
    size_t n;

    assert_int_equal(vg_collector_textfile.collect(&t->c, &emit), VG_OK);
    n = vg_samples_count(t->samples);
    assert_int_equal(vg_store_commit(t->store, "collector:tf", t->samples), VG_OK);
    r = vg_store_render(t->store, VG_EXPO_TEXT, false);
    assert_non_null(r);
    free(t->text);
    t->text = strndup(vg_rendered_data(r), vg_rendered_len(r));
    vg_rendered_release(r);
    return n;
}

static void expect_line(const struct tf *t, const char *line)
{
    const char *p = t->text;
    size_t n = strlen(line);

    for (; p != NULL; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL) {
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return;
    }
    fail_msg("line '%s' not in:\n%s", line, t->text);
}

static void expect_absent(const struct tf *t, const char *what)
{
    if (strstr(t->text, what) != NULL)
        fail_msg("'%s' should not be in:\n%s", what, t->text);
}

static char *tmp_dir(void)
{
    char tmpl[] = "/tmp/vigil-textfile-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(unlink(path), 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_dir(char *dir)
{
    /* only ever a mkdtemp folder of this test */
    assert_int_equal(strncmp(dir, "/tmp/vigil-textfile-", 20), 0);
    assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

static void test_collect_fixture_directory(void **state)
{
    int rc;
    struct tf *t = tf_new(FIXTURES, 16u << 20, &rc);

    assert_int_equal(rc, VG_OK);
    tf_collect(t);
    /* good.prom */
    expect_line(t, "# HELP backup_runs_total Backup runs by outcome.\\nCounted since install.");
    expect_line(t, "# TYPE backup_runs_total counter");
    expect_line(t, "backup_runs_total{outcome=\"ok\"} 42");
    expect_line(t, "backup_runs_total{outcome=\"failed\",reason=\"disk \\\"full\\\"\"} 3");
    expect_line(t, "backup_last_success_timestamp_seconds{job=\"nightly\"} 1700000000");
    expect_line(t, "# TYPE build_info untyped");
    expect_line(t, "build_info{path=\"C:\\\\jobs\",version=\"1.2.3\"} 1");
    expect_line(t, "# HELP build_info Metric read from " FIXTURES "/good.prom");
    /* histogram.prom */
    expect_line(t, "# TYPE job_duration_seconds histogram");
    expect_line(t, "job_duration_seconds_bucket{le=\"1\"} 3");
    expect_line(t, "job_duration_seconds_bucket{le=\"+Inf\"} 4");
    expect_line(t, "job_duration_seconds_sum 5.25");
    expect_line(t, "job_duration_seconds_count 4");
    expect_line(t, "# TYPE job_latency_seconds summary");
    expect_line(t, "job_latency_seconds{quantile=\"0.5\"} 0.2");
    expect_line(t, "job_latency_seconds_count 40");
    /* nohelp.prom */
    expect_line(t, "queue_depth{queue=\"b\"} NaN");
    /* skipped whole: bad.prom (timestamp), syntax.prom, type_conflict.prom */
    expect_absent(t, "stale_metric");
    expect_absent(t, "syntax_ok");
    expect_absent(t, "conflict_only_metric");
    expect_absent(t, "outcome=\"other\"");
    /* ignored: hidden and not *.prom */
    expect_absent(t, "hidden_metric");
    expect_absent(t, "not_a_prom_file");
    expect_line(t, "# HELP node_textfile_mtime_seconds Unixtime mtime of textfiles successfully "
                   "read.");
    assert_non_null(
        strstr(t->text, "node_textfile_mtime_seconds{file=\"" FIXTURES "/good.prom\"} "));
    assert_non_null(
        strstr(t->text, "node_textfile_mtime_seconds{file=\"" FIXTURES "/histogram.prom\"} "));
    assert_non_null(
        strstr(t->text, "node_textfile_mtime_seconds{file=\"" FIXTURES "/nohelp.prom\"} "));
    expect_absent(t, "/bad.prom\"");
    expect_absent(t, "/syntax.prom\"");
    expect_absent(t, "/type_conflict.prom\"");
    expect_line(t, "# HELP node_textfile_scrape_error 1 if there was an error opening or "
                   "reading a file, 0 otherwise");
    expect_line(t, "node_textfile_scrape_error 1");
    tf_free(t);
}

static void test_collect_mtime_value(void **state)
{
    char *dir = tmp_dir();
    char path[512];
    struct timespec ts[2] = {{1700000000, 123456789}, {1700000000, 123456789}};
    int rc;
    struct tf *t;

    test_write_file(dir, "a.prom", "a 1\n");
    snprintf(path, sizeof(path), "%s/a.prom", dir);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    t = tf_new(dir, 1024, &rc);
    assert_int_equal(tf_collect(t), 3);
    snprintf(path, sizeof(path), "node_textfile_mtime_seconds{file=\"%s/a.prom\"} 1700000000.123",
             dir);
    expect_line(t, path);
    expect_line(t, "node_textfile_scrape_error 0");
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_missing_directory(void **state)
{
    int rc;
    struct tf *t = tf_new("/nonexistent/vigil-textfile-test", 1024, &rc);

    assert_int_equal(rc, VG_OK);
    assert_int_equal(tf_collect(t), 1);
    expect_line(t, "node_textfile_scrape_error 1");
    /* and again: still no crash, still reported */
    assert_int_equal(tf_collect(t), 1);
    expect_line(t, "node_textfile_scrape_error 1");
    tf_free(t);
}

static void test_collect_empty_directory(void **state)
{
    char *dir = tmp_dir();
    int rc;
    struct tf *t = tf_new(dir, 1024, &rc);

    assert_int_equal(tf_collect(t), 1);
    expect_line(t, "node_textfile_scrape_error 0");
    expect_absent(t, "node_textfile_mtime_seconds");
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_update_and_removal(void **state)
{
    char *dir = tmp_dir();
    int rc;
    struct tf *t = tf_new(dir, 1024, &rc);

    test_write_file(dir, "a.prom", "# TYPE job_value gauge\njob_value 1\n");
    test_write_file(dir, "b.prom", "other_value 2\n");
    tf_collect(t);
    expect_line(t, "job_value 1");
    expect_line(t, "other_value 2");
    test_write_file(dir, "a.prom", "# TYPE job_value gauge\njob_value 5\n");
    tf_collect(t);
    expect_line(t, "job_value 5");
    expect_absent(t, "job_value 1");
    remove_file(dir, "b.prom");
    assert_int_equal(tf_collect(t), 3);
    expect_absent(t, "other_value");
    expect_absent(t, "/b.prom\"");
    expect_line(t, "node_textfile_scrape_error 0");
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_file_becomes_malformed(void **state)
{
    char *dir = tmp_dir();
    int rc;
    struct tf *t = tf_new(dir, 1024, &rc);

    test_write_file(dir, "a.prom", "a_metric 1\n");
    test_write_file(dir, "b.prom", "b_metric 1\n");
    tf_collect(t);
    expect_line(t, "node_textfile_scrape_error 0");
    test_write_file(dir, "a.prom", "a_metric 1\na_metric{x=\"1\"} 2 12345\n");
    tf_collect(t);
    expect_absent(t, "a_metric");
    expect_line(t, "b_metric 1");
    expect_line(t, "node_textfile_scrape_error 1");
    test_write_file(dir, "a.prom", "a_metric 3\n");
    tf_collect(t);
    expect_line(t, "a_metric 3");
    expect_line(t, "node_textfile_scrape_error 0");
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_conflicts_across_files(void **state)
{
    char *dir = tmp_dir();
    int rc;
    struct tf *t = tf_new(dir, 1024, &rc);

    test_write_file(dir, "1.prom",
                    "# HELP shared Shared.\n# TYPE shared gauge\nshared{f=\"1\"} 1\n"
                    "dup{x=\"1\"} 1\n");
    test_write_file(dir, "2.prom", "# TYPE shared gauge\nshared{f=\"2\"} 2\n");
    test_write_file(dir, "3.prom", "# TYPE shared counter\nshared{f=\"3\"} 3\nthree 3\n");
    test_write_file(dir, "4.prom",
                    "# HELP shared Other help.\n# TYPE shared gauge\nshared{f=\"4\"} 4\n"
                    "four 4\n");
    test_write_file(dir, "5.prom", "five 5\ndup{x=\"1\"} 5\n");
    test_write_file(dir, "6.prom", "node_textfile_scrape_error 0\n");
    tf_collect(t);
    expect_line(t, "shared{f=\"1\"} 1");
    expect_line(t, "shared{f=\"2\"} 2");
    expect_line(t, "# HELP shared Shared.");
    expect_absent(t, "f=\"3\"");
    expect_absent(t, "three");
    expect_absent(t, "f=\"4\"");
    expect_absent(t, "four");
    expect_line(t, "dup{x=\"1\"} 1");
    expect_absent(t, "five");
    expect_line(t, "node_textfile_scrape_error 1");
    expect_absent(t, "/3.prom\"");
    expect_absent(t, "/6.prom\"");
    assert_non_null(strstr(t->text, "/2.prom\""));
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_skips_file_over_max_size(void **state)
{
    char *dir = tmp_dir();
    char big[200];
    int rc;
    struct tf *t = tf_new(dir, 64, &rc);

    memset(big, 'x', sizeof(big));
    memcpy(big, "big 1\n#", 7);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    test_write_file(dir, "big.prom", big);
    test_write_file(dir, "small.prom", "small 1\n");
    tf_collect(t);
    expect_absent(t, "big 1");
    expect_line(t, "small 1");
    expect_line(t, "node_textfile_scrape_error 1");
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_ignores_non_files(void **state)
{
    char *dir = tmp_dir();
    char path[512];
    int rc;
    struct tf *t = tf_new(dir, 1024, &rc);

    snprintf(path, sizeof(path), "%s/sub.prom", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/fifo.prom", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/link.prom", dir);
    assert_int_equal(symlink("real.txt", path), 0);
    test_write_file(dir, "real.txt", "linked 1\n");
    test_write_file(dir, ".prom", "dot 1\n");
    test_write_file(dir, "x.prom.tmp", "tmp 1\n");
    assert_int_equal(tf_collect(t), 3);
    expect_line(t, "linked 1");
    assert_non_null(strstr(t->text, "/link.prom\""));
    expect_line(t, "node_textfile_scrape_error 0");
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_trailing_slash_in_directory(void **state)
{
    char *dir = tmp_dir();
    char with_slash[512];
    int rc;
    struct tf *t;

    snprintf(with_slash, sizeof(with_slash), "%s//", dir);
    test_write_file(dir, "a.prom", "a 1\n");
    t = tf_new(with_slash, 1024, &rc);
    tf_collect(t);
    snprintf(with_slash, sizeof(with_slash), "# HELP a Metric read from %s/a.prom", dir);
    expect_line(t, with_slash);
    /* node_exporter's filepath.Join: one slash between folder and name */
    snprintf(with_slash, sizeof(with_slash), "node_textfile_mtime_seconds{file=\"%s/a.prom\"} ",
             dir);
    assert_non_null(strstr(t->text, with_slash));
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_empty_help_gets_generated_help(void **state)
{
    char *dir = tmp_dir();
    char want[600];
    int rc;
    struct tf *t = tf_new(dir, 1024, &rc);

    test_write_file(dir, "e.prom", "# HELP e_metric\n# TYPE e_metric gauge\ne_metric 1\n");
    test_write_file(dir, "f.prom",
                    "# HELP e_metric Later help.\n# TYPE e_metric gauge\n"
                    "e_metric{x=\"1\"} 2\n");
    tf_collect(t);
    snprintf(want, sizeof(want), "# HELP e_metric Metric read from %s/e.prom", dir);
    expect_line(t, want);
    expect_line(t, "e_metric{x=\"1\"} 2");
    expect_line(t, "node_textfile_scrape_error 0");
    tf_free(t);
    remove_dir(dir);
}

/* Runs one collection with the agent's log (stderr) captured into out. */
static void collect_capturing_log(struct tf *t, char *out, size_t cap)
{
    char path[] = "/tmp/vigil-textfile-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    ssize_t n;

    assert_true(fd >= 0 && saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    tf_collect(t);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    n = pread(fd, out, cap - 1, 0);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
}

static void test_collect_logs_file_line_and_reason(void **state)
{
    char *dir = tmp_dir();
    char log[8192], want[600];
    int rc;
    struct tf *t = tf_new(dir, 1024, &rc);

    test_write_file(dir, "a.prom", "ok 1\n");
    test_write_file(dir, "b.prom", "# TYPE b gauge\nb 1\nb{x=\"y\"} 2 1700000000000\n");
    collect_capturing_log(t, log, sizeof(log));
    snprintf(want, sizeof(want), "skipped 1 of 2 files: %s/b.prom:3: sample has a timestamp", dir);
    if (strstr(log, want) == NULL)
        fail_msg("log '%s' lacks '%s'", log, want);
    /* the same failure at the next collection is held back (rate limit) */
    collect_capturing_log(t, log, sizeof(log));
    assert_null(strstr(log, "b.prom"));
    expect_line(t, "node_textfile_scrape_error 1");
    tf_free(t);
    remove_dir(dir);
}

static void test_collect_10000_series(void **state)
{
    char *dir = tmp_dir();
    char name[32];
    struct vg_buf b;
    int rc, f, i;
    struct tf *t = tf_new(dir, 16u << 20, &rc);

    vg_buf_init(&b);
    for (f = 0; f < 10; f++) {
        vg_buf_reset(&b);
        assert_int_equal(vg_buf_printf(&b,
                                       "# HELP bench_metric_%d Bench.\n# TYPE bench_metric_%d "
                                       "gauge\n",
                                       f, f),
                         VG_OK);
        for (i = 0; i < 1000; i++)
            assert_int_equal(
                vg_buf_printf(&b, "bench_metric_%d{series=\"%d\",node=\"n1\"} %d\n", f, i, i),
                VG_OK);
        snprintf(name, sizeof(name), "bench_%02d.prom", f);
        test_write_file(dir, name, b.data);
    }
    assert_int_equal(tf_collect(t), 10000 + 10 + 1);
    expect_line(t, "bench_metric_7{node=\"n1\",series=\"999\"} 999");
    /* a second collection reuses the state and stages the same */
    assert_int_equal(tf_collect(t), 10000 + 10 + 1);
    assert_int_equal(vg_store_series_count(t->store), 10000 + 10 + 1);
    vg_buf_free(&b);
    tf_free(t);
    remove_dir(dir);
}

/* Builds the plan of yaml; asserts that it is refused with msg. */
static void tf_expect_refused(const char *yaml, const char *msg)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    struct vg_plan plan;

    vg_errors_init(&errs);
    memset(&plan, 0, sizeof(plan));
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs), VG_OK);
    assert_int_equal(vg_plan_build(cfg, &plan, &errs), VG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], msg);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void test_plan_rejects_bad_options(void **state)
{
    tf_expect_refused("collectors:\n  - type: textfile\n    directory: ''\n",
                      "t.yaml:3: collectors[0] (textfile): option 'directory': must not be empty");
    tf_expect_refused("collectors:\n  - { type: textfile, directory: /tmp, max_file_size: 0 }\n",
                      "t.yaml:2: collectors[0] (textfile): option 'max_file_size': must be "
                      "between 1 and 256MiB, not 0");
    tf_expect_refused("collectors:\n  - { type: textfile, directory: /tmp, max_file_size: 1TiB }\n",
                      "t.yaml:2: collectors[0] (textfile): option 'max_file_size': must be "
                      "between 1 and 256MiB, not 1TiB");
}

static void test_descriptor(void **state)
{
    assert_string_equal(vg_collector_textfile.name, "textfile");
    assert_int_equal(vg_collector_textfile.default_interval_ms, 15000);
    assert_true(tf_option("directory")->flags & VG_OPT_REQUIRED);
    assert_int_equal(tf_option("max_file_size")->type, VG_OPT_SIZE);
    assert_string_equal(tf_option("max_file_size")->def, "16MiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_families_with_help_and_type),
        cmocka_unit_test(test_parse_help_escapes),
        cmocka_unit_test(test_parse_label_escapes),
        cmocka_unit_test(test_parse_blanks_trailing_comma_and_sorted_labels),
        cmocka_unit_test(test_parse_special_values),
        cmocka_unit_test(test_parse_histogram_parts_and_le_normalised),
        cmocka_unit_test(test_parse_summary_parts),
        cmocka_unit_test(test_parse_suffixes_without_type_are_own_families),
        cmocka_unit_test(test_parse_comments_help_after_samples_and_interleaving),
        cmocka_unit_test(test_parse_type_is_case_insensitive),
        cmocka_unit_test(test_parse_empty_and_comment_only),
        cmocka_unit_test(test_parse_no_trailing_newline),
        cmocka_unit_test(test_parse_very_long_line),
        cmocka_unit_test(test_parse_result_reused),
        cmocka_unit_test(test_parse_rejects_timestamps),
        cmocka_unit_test(test_parse_rejects_trailing_garbage),
        cmocka_unit_test(test_parse_rejects_bad_values),
        cmocka_unit_test(test_parse_rejects_bad_names),
        cmocka_unit_test(test_parse_rejects_bad_label_syntax),
        cmocka_unit_test(test_parse_rejects_nul_byte),
        cmocka_unit_test(test_parse_rejects_bad_help_and_type_lines),
        cmocka_unit_test(test_parse_rejects_bad_histograms_and_summaries),
        cmocka_unit_test(test_parse_rejects_duplicate_series),
        cmocka_unit_test(test_parse_rejects_too_many_labels),
        cmocka_unit_test(test_collect_fixture_directory),
        cmocka_unit_test(test_collect_mtime_value),
        cmocka_unit_test(test_collect_missing_directory),
        cmocka_unit_test(test_collect_empty_directory),
        cmocka_unit_test(test_collect_update_and_removal),
        cmocka_unit_test(test_collect_file_becomes_malformed),
        cmocka_unit_test(test_collect_conflicts_across_files),
        cmocka_unit_test(test_collect_skips_file_over_max_size),
        cmocka_unit_test(test_collect_ignores_non_files),
        cmocka_unit_test(test_collect_trailing_slash_in_directory),
        cmocka_unit_test(test_collect_empty_help_gets_generated_help),
        cmocka_unit_test(test_collect_logs_file_line_and_reason),
        cmocka_unit_test(test_collect_10000_series),
        cmocka_unit_test(test_plan_rejects_bad_options),
        cmocka_unit_test(test_descriptor),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

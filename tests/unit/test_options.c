/*
 * test_options.c - value parsers, suggestions and option tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

/* ------------------------------------------------------------------------
 * Parsers.
 */

static int64_t dur(const char *s)
{
    int64_t v = -1;

    assert_int_equal(vg_parse_duration_ms(s, &v), VG_OK);
    return v;
}

static void duration_accepts_every_unit_and_combinations(void **state)
{
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("250ms"), 250);
    assert_int_equal(dur("15s"), 15000);
    assert_int_equal(dur("5m"), 300000);
    assert_int_equal(dur("2h"), 7200000);
    assert_int_equal(dur("1h30m"), 5400000);
    assert_int_equal(dur("1m500ms"), 60500);
    assert_int_equal(dur("0s"), 0);
}

static void duration_rejects_bare_numbers_negatives_and_junk(void **state)
{
    static const char *const bad[] = {"",     "15", "-5s", "abc", "5 s", " 5s", "5sec",
                                      "1.5s", "s",  "5x",  "5S",  "ms",  "5s ", "+5s"};
    size_t i;
    int64_t v = 42;

    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        assert_int_equal(vg_parse_duration_ms(bad[i], &v), VG_EPARSE);
        assert_int_equal(v, 42);
    }
}

static void duration_rejects_overflow(void **state)
{
    int64_t v;

    assert_int_equal(vg_parse_duration_ms("9223372036854775807ms", &v), VG_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(vg_parse_duration_ms("9223372036854775808ms", &v), VG_EPARSE);
    assert_int_equal(vg_parse_duration_ms("9223372036854775807s", &v), VG_EPARSE);
    assert_int_equal(vg_parse_duration_ms("99999999999999999999h", &v), VG_EPARSE);
    assert_int_equal(vg_parse_duration_ms("2562047788015h1h", &v), VG_EPARSE);
}

/* vg_duration_text writes what vg_parse_duration_ms reads back. */
static void duration_text_uses_the_largest_whole_unit(void **state)
{
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {{0, "0"},          {1, "1ms"},       {1500, "1500ms"},
                 {15000, "15s"},    {90000, "90s"},   {300000, "5m"},
                 {86400000, "24h"}, {5400000, "90m"}, {3600001, "3600001ms"}};
    char out[32];
    int64_t back;
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(cases); i++) {
        vg_duration_text(cases[i].ms, out, sizeof(out));
        assert_string_equal(out, cases[i].text);
        assert_int_equal(vg_parse_duration_ms(out, &back), VG_OK);
        assert_int_equal(back, cases[i].ms);
    }
}

static uint64_t size(const char *s)
{
    uint64_t v = 1;

    assert_int_equal(vg_parse_size(s, &v), VG_OK);
    return v;
}

static void size_accepts_binary_and_decimal_units(void **state)
{
    assert_int_equal(size("512"), 512);
    assert_int_equal(size("0"), 0);
    assert_int_equal(size("64KiB"), 65536);
    assert_int_equal(size("5MiB"), 5 * 1048576);
    assert_int_equal(size("1GiB"), UINT64_C(1) << 30);
    assert_int_equal(size("1TiB"), UINT64_C(1) << 40);
    assert_int_equal(size("10KB"), 10000);
    assert_int_equal(size("10MB"), 10000000);
    assert_int_equal(size("10GB"), UINT64_C(10000000000));
}

static void size_rejects_ambiguous_units_and_overflow(void **state)
{
    static const char *const bad[] = {"",           "1k",    "1K",  "1M",   "-1",
                                      "1.5MiB",     "1 MiB", "MiB", "1kib", "18446744073709551616",
                                      "16777216TiB"};
    size_t i;
    uint64_t v = 7;

    for (i = 0; i < VG_ARRAY_LEN(bad); i++)
        assert_int_equal(vg_parse_size(bad[i], &v), VG_EPARSE);
    assert_int_equal(v, 7);
    assert_int_equal(vg_parse_size("18446744073709551615", &v), VG_OK);
    assert_true(v == UINT64_MAX);
}

static void bool_accepts_words_in_any_case(void **state)
{
    static const char *const yes[] = {"true", "TRUE", "Yes", "on", "On"};
    static const char *const no[] = {"false", "False", "no", "NO", "off"};
    size_t i;
    bool b;

    for (i = 0; i < VG_ARRAY_LEN(yes); i++) {
        b = false;
        assert_int_equal(vg_parse_bool(yes[i], &b), VG_OK);
        assert_true(b);
        b = true;
        assert_int_equal(vg_parse_bool(no[i], &b), VG_OK);
        assert_false(b);
    }
    assert_int_equal(vg_parse_bool("1", &b), VG_EPARSE);
    assert_int_equal(vg_parse_bool("maybe", &b), VG_EPARSE);
    assert_int_equal(vg_parse_bool("", &b), VG_EPARSE);
}

static void int_checks_the_whole_text_and_range(void **state)
{
    int64_t v;

    assert_int_equal(vg_parse_int("42", &v), VG_OK);
    assert_int_equal(v, 42);
    assert_int_equal(vg_parse_int("-7", &v), VG_OK);
    assert_int_equal(v, -7);
    assert_int_equal(vg_parse_int("010", &v), VG_OK);
    assert_int_equal(v, 10);
    assert_int_equal(vg_parse_int("9223372036854775807", &v), VG_OK);
    assert_int_equal(vg_parse_int("9223372036854775808", &v), VG_EPARSE);
    assert_int_equal(vg_parse_int("-9223372036854775809", &v), VG_EPARSE);
    assert_int_equal(vg_parse_int("", &v), VG_EPARSE);
    assert_int_equal(vg_parse_int(" 1", &v), VG_EPARSE);
    assert_int_equal(vg_parse_int("1 ", &v), VG_EPARSE);
    assert_int_equal(vg_parse_int("12abc", &v), VG_EPARSE);
    assert_int_equal(vg_parse_int("0x10", &v), VG_EPARSE);
}

static void double_rejects_nonfinite_and_junk(void **state)
{
    double d;

    assert_int_equal(vg_parse_double("0.25", &d), VG_OK);
    assert_true(d == 0.25);
    assert_int_equal(vg_parse_double("-1e3", &d), VG_OK);
    assert_true(d == -1000.0);
    assert_int_equal(vg_parse_double("nan", &d), VG_EPARSE);
    assert_int_equal(vg_parse_double("inf", &d), VG_EPARSE);
    assert_int_equal(vg_parse_double("1e999", &d), VG_EPARSE);
    assert_int_equal(vg_parse_double("1.5x", &d), VG_EPARSE);
    assert_int_equal(vg_parse_double("", &d), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * Suggestions.
 */

static void suggest_picks_the_closest_within_reach(void **state)
{
    static const char *const names[] = {"path", "fsync", "proc_root", "sys_root", "interval"};
    size_t n = VG_ARRAY_LEN(names);

    assert_string_equal(vg_suggest("pth", names, n), "path");
    assert_string_equal(vg_suggest("fysnc", names, n), "fsync"); /* transposition */
    assert_string_equal(vg_suggest("proc_rot", names, n), "proc_root");
    assert_string_equal(vg_suggest("intervall", names, n), "interval");
    assert_null(vg_suggest("zzz", names, n));
    assert_null(vg_suggest("zzzlogical", names, n));
    assert_null(vg_suggest("path", NULL, 0));
}

/* One name inside the other is a suggestion too, after the near misses: a
 * prefix before a substring; two letters are too few to say anything. */
static void suggest_takes_prefixes_and_substrings(void **state)
{
    static const char *const types[] = {"container_logs", "elasticsearch", "file", "stdout"};
    static const char *const agent[] = {"log", "http", "state_dir", "node_name"};
    static const char *const near[] = {"logs", "logging_driver"};

    assert_string_equal(vg_suggest("elastic", types, 4), "elasticsearch");
    assert_string_equal(vg_suggest("logs", types, 4), "container_logs");
    assert_string_equal(vg_suggest("logging", agent, 4), "log");
    assert_string_equal(vg_suggest("state", agent, 4), "state_dir");
    assert_string_equal(vg_suggest("name", agent, 4), "node_name");
    assert_string_equal(vg_suggest("logging", near, 2), "logging_driver"); /* prefix first */
    assert_string_equal(vg_suggest("lgs", near, 2), "logs");               /* distance first */
    assert_null(vg_suggest("ht", agent, 4));
}

static void suggest_prefers_the_smaller_distance(void **state)
{
    static const char *const names[] = {"listen_addr", "listen"};

    assert_string_equal(vg_suggest("lisen", names, 2), "listen");
}

/* ------------------------------------------------------------------------
 * Option tables. A loaded YAML map is the easiest way to get nodes with
 * positions.
 */

struct t_ctx {
    char *path;
    int64_t count;
    double ratio;
    bool fsync;
    int64_t interval_ms;
    uint64_t max_bytes;
    struct vg_strlist paths;
    char *format;
    const struct vg_config_node *raw;
    char *listen;
    int64_t stall_ms;
    char *password;
    char *token;
};

#define T_OPT(n, t, d, f, flags, ch)                                                               \
    {                                                                                              \
        n, t, d, offsetof(struct t_ctx, f), "doc", flags, ch                                       \
    }

static const struct vg_option t_table[] = {
    T_OPT("path", VG_OPT_STR, "/var/log/x", path, 0, NULL),
    T_OPT("count", VG_OPT_INT, "3", count, 0, NULL),
    T_OPT("ratio", VG_OPT_DOUBLE, "0.5", ratio, 0, NULL),
    T_OPT("fsync", VG_OPT_BOOL, "true", fsync, 0, NULL),
    T_OPT("interval", VG_OPT_DURATION, "15s", interval_ms, 0, NULL),
    T_OPT("max_bytes", VG_OPT_SIZE, "1MiB", max_bytes, 0, NULL),
    T_OPT("paths", VG_OPT_STRLIST, "a,b", paths, 0, NULL),
    T_OPT("format", VG_OPT_ENUM, "auto", format, 0, "cri|docker|auto"),
    T_OPT("raw", VG_OPT_NODE, NULL, raw, 0, NULL),
    T_OPT("http.listen", VG_OPT_STR, "127.0.0.1:1", listen, 0, NULL),
    T_OPT("http.stall_timeout", VG_OPT_DURATION, "30s", stall_ms, 0, NULL),
    T_OPT("password", VG_OPT_STR, NULL, password, VG_OPT_SECRET, NULL),
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

static const struct vg_option t_required[] = {
    T_OPT("token", VG_OPT_STR, NULL, token, VG_OPT_REQUIRED | VG_OPT_SECRET, NULL),
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* A fixture: the loaded config, the context, the errors. */
struct t_apply {
    struct vg_config *cfg;
    struct t_ctx ctx;
    struct vg_errors errs;
    int rc;
};

/* Loads yaml and applies t_table (and t_required when asked) to its root. */
static void t_apply_run(struct t_apply *t, const char *yaml, bool required)
{
    const struct vg_option *tables[2] = {t_table, t_required};
    void *ctxs[2];
    static const char *const ignore[] = {"type", NULL};

    memset(t, 0, sizeof(*t));
    ctxs[0] = &t->ctx;
    ctxs[1] = &t->ctx;
    vg_errors_init(&t->errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &t->cfg, &t->errs), VG_OK);
    t->rc = vg_options_apply(tables, ctxs, required ? 2 : 1, t->cfg->root, "outputs[0] (t)", ignore,
                             &t->errs);
}

static void t_apply_done(struct t_apply *t)
{
    vg_options_free(t_table, &t->ctx);
    vg_options_free(t_required, &t->ctx);
    vg_config_free(t->cfg);
    vg_errors_free(&t->errs);
}

/* Asserts exactly one error, with this text. */
static void t_expect_error(struct t_apply *t, const char *msg)
{
    size_t i;

    if (t->errs.n != 1 || strcmp(t->errs.msgs[0], msg) != 0)
        for (i = 0; i < t->errs.n; i++)
            print_message("error: %s\n", t->errs.msgs[i]);
    assert_int_equal(t->rc, VG_ECONFIG);
    assert_int_equal(t->errs.n, 1);
    assert_string_equal(t->errs.msgs[0], msg);
}

static void apply_fills_defaults_of_every_type(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "type: t\n", false);
    assert_int_equal(t.rc, VG_OK);
    assert_int_equal(t.errs.n, 0);
    assert_string_equal(t.ctx.path, "/var/log/x");
    assert_int_equal(t.ctx.count, 3);
    assert_true(t.ctx.ratio == 0.5);
    assert_true(t.ctx.fsync);
    assert_int_equal(t.ctx.interval_ms, 15000);
    assert_int_equal(t.ctx.max_bytes, 1048576);
    assert_int_equal(t.ctx.paths.n, 2);
    assert_string_equal(t.ctx.paths.v[0], "a");
    assert_string_equal(t.ctx.paths.v[1], "b");
    assert_string_equal(t.ctx.format, "auto");
    assert_null(t.ctx.raw);
    assert_string_equal(t.ctx.listen, "127.0.0.1:1");
    assert_int_equal(t.ctx.stall_ms, 30000);
    assert_null(t.ctx.password);
    t_apply_done(&t);
}

static void apply_sets_every_type_from_the_map(void **state)
{
    struct t_apply t;

    t_apply_run(&t,
                "path: /tmp/out\ncount: -12\nratio: 2.5\nfsync: off\ninterval: 1h30m\n"
                "max_bytes: 64KiB\npaths: [x, y, z]\nformat: cri\nraw: {a: [1, 2]}\n"
                "password: hunter2\n",
                false);
    assert_int_equal(t.rc, VG_OK);
    assert_string_equal(t.ctx.path, "/tmp/out");
    assert_int_equal(t.ctx.count, -12);
    assert_true(t.ctx.ratio == 2.5);
    assert_false(t.ctx.fsync);
    assert_int_equal(t.ctx.interval_ms, 5400000);
    assert_int_equal(t.ctx.max_bytes, 65536);
    assert_int_equal(t.ctx.paths.n, 3);
    assert_string_equal(t.ctx.paths.v[2], "z");
    assert_string_equal(t.ctx.format, "cri");
    assert_non_null(t.ctx.raw);
    assert_int_equal(t.ctx.raw->kind, VG_NODE_MAP);
    assert_int_equal(t.ctx.raw->line, 9);
    assert_string_equal(t.ctx.password, "hunter2");
    t_apply_done(&t);
}

static void apply_strlist_takes_one_scalar(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "paths: /var/log/*.log\n", false);
    assert_int_equal(t.rc, VG_OK);
    assert_int_equal(t.ctx.paths.n, 1);
    assert_string_equal(t.ctx.paths.v[0], "/var/log/*.log");
    t_apply_done(&t);
}

static void apply_strlist_refuses_nested_items(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "paths:\n  - a\n  - [b]\n", false);
    t_expect_error(&t, "t.yaml:3: outputs[0] (t): option 'paths': item 1 is a sequence, not a "
                       "string");
    t_apply_done(&t);
}

static void apply_reports_unknown_option_with_suggestion(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "type: t\npth: /x\n", false);
    t_expect_error(&t, "t.yaml:2: outputs[0] (t): unknown option 'pth' (did you mean 'path'?)");
    t_apply_done(&t);
}

static void apply_reports_unknown_option_without_suggestion(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "zzzzzz: 1\n", false);
    t_expect_error(&t, "t.yaml:1: outputs[0] (t): unknown option 'zzzzzz'");
    t_apply_done(&t);
}

static void apply_reports_bad_values_of_each_type(void **state)
{
    static const struct {
        const char *yaml;
        const char *msg;
    } cases[] = {
        {"count: many\n", "t.yaml:1: outputs[0] (t): option 'count': invalid integer 'many'"},
        {"ratio: half\n", "t.yaml:1: outputs[0] (t): option 'ratio': invalid number 'half'"},
        {"fsync: maybe\n",
         "t.yaml:1: outputs[0] (t): option 'fsync': invalid boolean 'maybe' (use true or false)"},
        {"interval: 15\n", "t.yaml:1: outputs[0] (t): option 'interval': invalid duration '15' "
                           "(use ms, s, m, h: '15s')"},
        {"max_bytes: 1K\n", "t.yaml:1: outputs[0] (t): option 'max_bytes': invalid size '1K' "
                            "(use bytes or KiB, MiB, GiB: '64KiB')"},
        {"format: json\n", "t.yaml:1: outputs[0] (t): option 'format': invalid value 'json' (one "
                           "of: cri, docker, auto)"},
        {"count: [1]\n",
         "t.yaml:1: outputs[0] (t): option 'count': expected an int, found a sequence"},
        {"path: {a: b}\n", "t.yaml:1: outputs[0] (t): option 'path': expected a string, found a "
                           "map"},
        {"paths: {a: b}\n",
         "t.yaml:1: outputs[0] (t): option 'paths': expected a list of strings, found a map"},
    };
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(cases); i++) {
        struct t_apply t;

        t_apply_run(&t, cases[i].yaml, false);
        t_expect_error(&t, cases[i].msg);
        t_apply_done(&t);
    }
}

static void apply_fills_nested_dotted_options(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "http:\n  listen: 0.0.0.0:80\n  stall_timeout: 5s\n", false);
    assert_int_equal(t.rc, VG_OK);
    assert_string_equal(t.ctx.listen, "0.0.0.0:80");
    assert_int_equal(t.ctx.stall_ms, 5000);
    t_apply_done(&t);
}

static void apply_reports_nested_unknown_with_dotted_name(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "http:\n  lisen: 0.0.0.0:80\n", false);
    t_expect_error(&t, "t.yaml:2: outputs[0] (t): unknown option 'http.lisen' (did you mean "
                       "'http.listen'?)");
    t_apply_done(&t);
}

static void apply_reports_scalar_where_a_map_is_expected(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "http: 0.0.0.0:80\n", false);
    t_expect_error(&t, "t.yaml:1: outputs[0] (t): option 'http': expected a map (with listen, "
                       "stall_timeout), found a scalar");
    t_apply_done(&t);
}

static void apply_reports_map_that_is_not_a_map(void **state)
{
    const struct vg_option *tables[1] = {t_table};
    struct t_ctx ctx;
    void *ctxs[1] = {&ctx};
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    const char *yaml = "out:\n  - a\n";

    memset(&ctx, 0, sizeof(ctx));
    vg_errors_init(&errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs), VG_OK);
    assert_int_equal(
        vg_options_apply(tables, ctxs, 1, vg_node_get(cfg->root, "out"), "x", NULL, &errs),
        VG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "t.yaml:1: x: expected a map of options, found a sequence");
    vg_options_free(t_table, &ctx);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void apply_suggests_ignored_keys_too(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "tpye: t\n", false);
    t_expect_error(&t, "t.yaml:1: outputs[0] (t): unknown option 'tpye' (did you mean 'type'?)");
    t_apply_done(&t);
}

static void apply_reports_missing_required_at_the_map(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "type: t\npath: /x\n", true);
    t_expect_error(&t, "t.yaml:1: outputs[0] (t): missing required option 'token' (or "
                       "'token_file')");
    t_apply_done(&t);
}

/* Writes content to a fresh file under a temporary folder. */
static void t_write(char *dir, char *path, size_t size, const char *content)
{
    FILE *f;

    snprintf(dir, 64, "/tmp/vigil-test-options-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, size, "%s/secret", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void t_cleanup(const char *dir, const char *path)
{
    unlink(path);
    rmdir(dir);
}

static void apply_reads_secret_file_and_strips_newlines(void **state)
{
    char dir[64], path[128], yaml[512];
    struct t_apply t;

    t_write(dir, path, sizeof(path), "s3cr3t\n\n");
    snprintf(yaml, sizeof(yaml), "password_file: %s\ntoken_file: %s\n", path, path);
    t_apply_run(&t, yaml, true);
    assert_int_equal(t.rc, VG_OK);
    assert_string_equal(t.ctx.password, "s3cr3t");
    assert_string_equal(t.ctx.token, "s3cr3t");
    t_apply_done(&t);
    t_cleanup(dir, path);
}

static void apply_inline_secret_satisfies_required(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "token: abc\n", true);
    assert_int_equal(t.rc, VG_OK);
    assert_string_equal(t.ctx.token, "abc");
    t_apply_done(&t);
}

static void apply_refuses_both_secret_forms(void **state)
{
    char dir[64], path[128], yaml[512];
    struct t_apply t;

    t_write(dir, path, sizeof(path), "s3cr3t\n");
    snprintf(yaml, sizeof(yaml), "password: inline\npassword_file: %s\n", path);
    t_apply_run(&t, yaml, false);
    t_expect_error(&t, "t.yaml:2: outputs[0] (t): option 'password' and 'password_file' both "
                       "given; use one");
    t_apply_done(&t);
    t_cleanup(dir, path);
}

static void apply_secret_file_error_names_path_not_content(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "password_file: /nonexistent/vigil/secret\n", false);
    t_expect_error(&t, "t.yaml:1: outputs[0] (t): option 'password_file': cannot read "
                       "'/nonexistent/vigil/secret': No such file or directory");
    t_apply_done(&t);
}

static void apply_file_suffix_is_only_for_secrets(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "path_file: /x\n", false);
    t_expect_error(&t, "t.yaml:1: outputs[0] (t): unknown option 'path_file' (did you mean "
                       "'path'?)");
    t_apply_done(&t);
}

static void apply_refuses_an_option_given_twice(void **state)
{
    struct t_apply t;

    t_apply_run(&t, "http: {listen: a}\nhttp.listen: b\n", false);
    t_expect_error(&t, "t.yaml:2: outputs[0] (t): option 'http.listen' given twice");
    t_apply_done(&t);
}

static void apply_shares_one_map_between_tables(void **state)
{
    struct {
        int64_t interval_ms;
    } common = {0};
    struct {
        char *path;
    } own = {NULL};
    static const struct vg_option common_table[] = {
        {"interval", VG_OPT_DURATION, "0", 0, "doc", 0, NULL},
        {NULL, 0, NULL, 0, NULL, 0, NULL},
    };
    static const struct vg_option own_table[] = {
        {"path", VG_OPT_STR, NULL, 0, "doc", VG_OPT_REQUIRED, NULL},
        {NULL, 0, NULL, 0, NULL, 0, NULL},
    };
    const struct vg_option *tables[2] = {common_table, own_table};
    void *ctxs[2] = {&common, &own};
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    const char *yaml = "interval: 2s\npath: /p\n";

    vg_errors_init(&errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs), VG_OK);
    assert_int_equal(vg_options_apply(tables, ctxs, 2, cfg->root, "w", NULL, &errs), VG_OK);
    assert_int_equal(common.interval_ms, 2000);
    assert_string_equal(own.path, "/p");
    vg_options_free(own_table, &own);
    assert_null(own.path);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void defaults_report_a_bad_default(void **state)
{
    struct {
        int64_t ms;
    } ctx = {0};
    static const struct vg_option bad[] = {
        {"interval", VG_OPT_DURATION, "soon", 0, "doc", 0, NULL},
        {NULL, 0, NULL, 0, NULL, 0, NULL},
    };
    struct vg_errors errs;

    vg_errors_init(&errs);
    assert_int_equal(vg_options_defaults(bad, &ctx, &errs), VG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "option table: option 'interval' has a bad default: "
                                      "invalid duration 'soon' (use ms, s, m, h: '15s')");
    vg_errors_free(&errs);
}

struct t_range_ctx {
    int64_t workers;
    int64_t limit;
    double ratio;
    uint64_t bytes;
    int64_t wait_ms;
    int64_t any_ms;
};

static const struct vg_option t_ranges[] = {
    {"workers", VG_OPT_INT, "2", offsetof(struct t_range_ctx, workers), "doc", VG_OPT_RANGE, NULL,
     1, 64},
    {"limit", VG_OPT_INT, "0", offsetof(struct t_range_ctx, limit), "doc", VG_OPT_MIN, NULL, 0, 0},
    {"ratio", VG_OPT_DOUBLE, "0.5", offsetof(struct t_range_ctx, ratio), "doc", VG_OPT_MAX, NULL, 0,
     1},
    {"bytes", VG_OPT_SIZE, "1KiB", offsetof(struct t_range_ctx, bytes), "doc", VG_OPT_RANGE, NULL,
     16, INT64_C(1) << 30},
    {"wait", VG_OPT_DURATION, "1s", offsetof(struct t_range_ctx, wait_ms), "doc", VG_OPT_MIN, NULL,
     1, 0},
    {"any", VG_OPT_DURATION, "0", offsetof(struct t_range_ctx, any_ms), "doc", 0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* Applies t_ranges to yaml; asserts the messages, in order (none: VG_OK). */
static void t_range_expect(const char *yaml, const char *const *msgs, size_t n)
{
    const struct vg_option *tables[1] = {t_ranges};
    struct t_range_ctx ctx;
    void *ctxs[1] = {&ctx};
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    size_t i;
    int rc;

    vg_errors_init(&errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs), VG_OK);
    rc = vg_options_apply(tables, ctxs, 1, cfg->root, "outputs[0] (t)", NULL, &errs);
    for (i = 0; errs.n != n && i < errs.n; i++)
        print_message("error: %s\n", errs.msgs[i]);
    assert_int_equal(rc, n == 0 ? VG_OK : VG_ECONFIG);
    assert_int_equal(errs.n, n);
    for (i = 0; i < n; i++)
        assert_string_equal(errs.msgs[i], msgs[i]);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

#define T_RANGE(yaml, ...)                                                                         \
    do {                                                                                           \
        static const char *const m_[] = {__VA_ARGS__};                                             \
        t_range_expect(yaml, m_, VG_ARRAY_LEN(m_));                                                \
    } while (0)

static void range_accepts_the_bounds_themselves(void **state)
{
    t_range_expect("workers: 1\nlimit: 0\nratio: 1\nbytes: 16\nwait: 1ms\nany: 87600h\n", NULL, 0);
    t_range_expect("workers: 64\nbytes: 1GiB\nratio: -3.5\n", NULL, 0);
}

static void range_refuses_every_value_outside_with_all_errors(void **state)
{
    T_RANGE("workers: 1000\nlimit: -1\nratio: 1.5\nbytes: 4GiB\nwait: 0\nany: 87601h\n",
            "t.yaml:1: outputs[0] (t): option 'workers': must be between 1 and 64, not 1000",
            "t.yaml:2: outputs[0] (t): option 'limit': must be at least 0, not -1",
            "t.yaml:3: outputs[0] (t): option 'ratio': must be at most 1, not 1.5",
            "t.yaml:4: outputs[0] (t): option 'bytes': must be between 16 and 1GiB, not 4GiB",
            "t.yaml:5: outputs[0] (t): option 'wait': must be between 1ms and 87600h, not 0",
            "t.yaml:6: outputs[0] (t): option 'any': must be at most 87600h, not 87601h");
    T_RANGE("workers: 0\nbytes: 15\n",
            "t.yaml:1: outputs[0] (t): option 'workers': must be between 1 and 64, not 0",
            "t.yaml:2: outputs[0] (t): option 'bytes': must be between 16 and 1GiB, not 15");
}

static void range_caps_durations_so_no_nanosecond_count_overflows(void **state)
{
    T_RANGE("any: 100000000000h\n",
            "t.yaml:1: outputs[0] (t): option 'any': must be at most 87600h, not 100000000000h");
    /* the cap itself fits in int64 nanoseconds */
    assert_true(VG_OPT_DURATION_CAP_MS <= INT64_MAX / VG_NS_PER_MS);
    assert_int_equal(vg_ms_to_ns_sat(VG_OPT_DURATION_CAP_MS),
                     VG_OPT_DURATION_CAP_MS * VG_NS_PER_MS);
}

static void range_checks_defaults_as_table_bugs(void **state)
{
    struct {
        int64_t n;
    } ctx = {0};
    static const struct vg_option bad[] = {
        {"n", VG_OPT_INT, "0", 0, "doc", VG_OPT_MIN, NULL, 1, 0},
        {NULL, 0, NULL, 0, NULL, 0, NULL},
    };
    struct vg_errors errs;

    vg_errors_init(&errs);
    assert_int_equal(vg_options_defaults(bad, &ctx, &errs), VG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0],
                        "option table: option 'n' has a bad default: must be at least 1, not 0");
    vg_errors_free(&errs);
}

static void saturating_helpers_never_overflow(void **state)
{
    assert_int_equal(vg_ms_to_ns_sat(0), 0);
    assert_int_equal(vg_ms_to_ns_sat(1500), INT64_C(1500000000));
    assert_int_equal(vg_ms_to_ns_sat(-2), INT64_C(-2000000));
    assert_int_equal(vg_ms_to_ns_sat(INT64_MAX / VG_NS_PER_MS),
                     (INT64_MAX / VG_NS_PER_MS) * VG_NS_PER_MS);
    assert_int_equal(vg_ms_to_ns_sat(INT64_MAX / VG_NS_PER_MS + 1), INT64_MAX);
    assert_int_equal(vg_ms_to_ns_sat(INT64_MAX), INT64_MAX);
    assert_int_equal(vg_ms_to_ns_sat(INT64_MIN), INT64_MIN);
    assert_int_equal(vg_add_sat(1, 2), 3);
    assert_int_equal(vg_add_sat(INT64_MAX - 1, 5), INT64_MAX);
    assert_int_equal(vg_add_sat(INT64_MAX, INT64_MAX), INT64_MAX);
    assert_int_equal(vg_add_sat(INT64_MIN + 1, -5), INT64_MIN);
    assert_int_equal(vg_add_sat(INT64_MAX, -1), INT64_MAX - 1);
}

static void apply_secret_file_must_be_a_regular_file(void **state)
{
    char dir[] = "/tmp/vigil-secret-XXXXXX", fifo[64], yaml[160];
    struct t_apply t;

    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* a FIFO with no writer: refused at once, not waited on */
    snprintf(yaml, sizeof(yaml), "password_file: %s\n", fifo);
    t_apply_run(&t, yaml, false);
    snprintf(yaml, sizeof(yaml),
             "t.yaml:1: outputs[0] (t): option 'password_file': '%s' is not "
             "a regular file",
             fifo);
    t_expect_error(&t, yaml);
    t_apply_done(&t);
    snprintf(yaml, sizeof(yaml), "password_file: %s\n", dir);
    t_apply_run(&t, yaml, false);
    snprintf(yaml, sizeof(yaml),
             "t.yaml:1: outputs[0] (t): option 'password_file': '%s' is not "
             "a regular file",
             dir);
    t_expect_error(&t, yaml);
    t_apply_done(&t);
    unlink(fifo);
    rmdir(dir);
}

static void print_lists_name_type_default_and_choices(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    vg_options_print(t_table, "  ", f);
    vg_options_print(t_required, "  ", f);
    fclose(f);
    assert_non_null(strstr(text, "  path "));
    assert_non_null(strstr(text, "duration"));
    assert_non_null(strstr(text, "[cri|docker|auto]"));
    assert_non_null(strstr(text, "password_file"));
    assert_non_null(strstr(text, "(required)"));
    free(text);
    assert_string_equal(vg_opt_type_name(VG_OPT_SIZE), "size");
    assert_string_equal(vg_opt_type_name(VG_OPT_STRLIST), "list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duration_accepts_every_unit_and_combinations),
        cmocka_unit_test(duration_rejects_bare_numbers_negatives_and_junk),
        cmocka_unit_test(duration_rejects_overflow),
        cmocka_unit_test(duration_text_uses_the_largest_whole_unit),
        cmocka_unit_test(range_accepts_the_bounds_themselves),
        cmocka_unit_test(range_refuses_every_value_outside_with_all_errors),
        cmocka_unit_test(range_caps_durations_so_no_nanosecond_count_overflows),
        cmocka_unit_test(range_checks_defaults_as_table_bugs),
        cmocka_unit_test(saturating_helpers_never_overflow),
        cmocka_unit_test(apply_secret_file_must_be_a_regular_file),
        cmocka_unit_test(size_accepts_binary_and_decimal_units),
        cmocka_unit_test(size_rejects_ambiguous_units_and_overflow),
        cmocka_unit_test(bool_accepts_words_in_any_case),
        cmocka_unit_test(int_checks_the_whole_text_and_range),
        cmocka_unit_test(double_rejects_nonfinite_and_junk),
        cmocka_unit_test(suggest_picks_the_closest_within_reach),
        cmocka_unit_test(suggest_takes_prefixes_and_substrings),
        cmocka_unit_test(suggest_prefers_the_smaller_distance),
        cmocka_unit_test(apply_fills_defaults_of_every_type),
        cmocka_unit_test(apply_sets_every_type_from_the_map),
        cmocka_unit_test(apply_strlist_takes_one_scalar),
        cmocka_unit_test(apply_strlist_refuses_nested_items),
        cmocka_unit_test(apply_reports_unknown_option_with_suggestion),
        cmocka_unit_test(apply_reports_unknown_option_without_suggestion),
        cmocka_unit_test(apply_reports_bad_values_of_each_type),
        cmocka_unit_test(apply_fills_nested_dotted_options),
        cmocka_unit_test(apply_reports_nested_unknown_with_dotted_name),
        cmocka_unit_test(apply_reports_scalar_where_a_map_is_expected),
        cmocka_unit_test(apply_reports_map_that_is_not_a_map),
        cmocka_unit_test(apply_suggests_ignored_keys_too),
        cmocka_unit_test(apply_reports_missing_required_at_the_map),
        cmocka_unit_test(apply_reads_secret_file_and_strips_newlines),
        cmocka_unit_test(apply_inline_secret_satisfies_required),
        cmocka_unit_test(apply_refuses_both_secret_forms),
        cmocka_unit_test(apply_secret_file_error_names_path_not_content),
        cmocka_unit_test(apply_file_suffix_is_only_for_secrets),
        cmocka_unit_test(apply_refuses_an_option_given_twice),
        cmocka_unit_test(apply_shares_one_map_between_tables),
        cmocka_unit_test(defaults_report_a_bad_default),
        cmocka_unit_test(print_lists_name_type_default_and_choices),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

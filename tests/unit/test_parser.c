/*
 * test_parser.c - the parser object and the regex, json and logfmt
 * parsers: the nginx and Apache built-ins on real-looking access lines,
 * typed fields, time_key (kept, read, failed), the match limit, json and
 * logfmt on what Go, Java and Python loggers write, lines that do not
 * match (nothing emitted), settings refused, no allocation once warm, and
 * every allocation of vg_parser_create failing in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "parser_fixture.h"
#include "torture.h"

/* Runs p on line and checks the result code and the fields. */
static void expect(struct vg_parser *p, const char *line, int want_rc, const char *want)
{
    struct vg_parse_result res;
    struct pf_out o = {0};
    int rc = pf_run(p, line, &o, &res);

    if (rc != want_rc || strcmp(o.text, want) != 0)
        fail_msg("line: %s\nrc %d (want %d)\ngot:  %s\nwant: %s", line, rc, want_rc, o.text, want);
}

/* Runs p on line and returns the result's flags (and time in *ns). */
static unsigned flags_of(struct vg_parser *p, const char *line, int64_t *ns)
{
    struct vg_parse_result res;
    struct pf_out o = {0};

    (void)pf_run(p, line, &o, &res);
    if (ns != NULL)
        *ns = res.time_ns;
    return res.flags;
}

/* Each line must be refused by a parser of that type, emitting nothing. */
static void expect_refused(const char *type, const char *const *lines, size_t n)
{
    struct vg_parser_settings s = {.type = type};
    struct vg_parser *p = pf_make(&s);
    size_t i;

    for (i = 0; i < n; i++)
        expect(p, lines[i], VG_EPARSE, "");
    vg_parser_destroy(p);
}

static int make_error(const struct vg_parser_settings *s, struct vg_error *err)
{
    struct vg_parser *p = (struct vg_parser *)0x1;
    int rc = vg_parser_create(s, &p, err);

    assert_null(p);
    return rc;
}

/* ------------------------------------------------------------------------
 * nginx and Apache.
 */

static void nginx_combined(void **state)
{
    struct vg_parser *p = pf_builtin("nginx");
    int64_t ns = 0;

    (void)state;
    expect(p,
           "192.168.1.10 - - [02/Dec/2026:14:05:06 +0000] \"GET /api/v1/items?id=42 HTTP/1.1\" "
           "200 1534 \"https://example.com/\" \"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0\"",
           VG_OK,
           "remote_addr=s:192.168.1.10|remote_user=s:-|method=s:GET|path=s:/api/v1/items?id=42|"
           "protocol=s:HTTP/1.1|status=i:200|body_bytes=i:1534|referer=s:https://example.com/|"
           "user_agent=s:Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0");
    assert_int_equal(flags_of(p,
                              "10.0.0.1 - - [02/Dec/2026:15:05:06 +0100] \"GET / HTTP/1.1\" 200 "
                              "1 \"-\" \"-\"",
                              &ns),
                     VG_PARSE_TIME);
    assert_int_equal(ns, PF_T1NS);
    /* ingress-nginx: fields after the user agent stay in the body */
    expect(p,
           "10.244.0.1 - alice [02/Dec/2026:14:05:06 +0000] \"POST /login HTTP/2.0\" 302 0 \"-\" "
           "\"curl/8.5.0\" 512 0.004 [default-web-80] [] 10.244.1.5:8080 0 0.004 302 1f2e3d",
           VG_OK,
           "remote_addr=s:10.244.0.1|remote_user=s:alice|method=s:POST|path=s:/login|"
           "protocol=s:HTTP/2.0|status=i:302|body_bytes=i:0|referer=s:-|user_agent=s:curl/8.5.0");
    /* a TLS handshake on a plain port: the request is kept whole */
    expect(p,
           "10.0.0.1 - - [02/Dec/2026:14:05:06 +0000] \"\\x16\\x03\\x01\\x02\\x00\\x01\" 400 157 "
           "\"-\" \"-\"",
           VG_OK,
           "remote_addr=s:10.0.0.1|remote_user=s:-|request=s:\\x16\\x03\\x01\\x02\\x00\\x01|"
           "status=i:400|body_bytes=i:157|referer=s:-|user_agent=s:-");
    expect(p, "10.0.0.1 - - [02/Dec/2026:14:05:06 +0000] \"\" 400 0 \"-\" \"-\"", VG_OK,
           "remote_addr=s:10.0.0.1|remote_user=s:-|request=s:|status=i:400|body_bytes=i:0|"
           "referer=s:-|user_agent=s:-");
    vg_parser_destroy(p);
}

static void apache_combined_and_common(void **state)
{
    struct vg_parser *p = pf_builtin("apache");

    (void)state;
    expect(p,
           "127.0.0.1 - frank [10/Oct/2026:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 "
           "2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"",
           VG_OK,
           "remote_addr=s:127.0.0.1|remote_user=s:frank|method=s:GET|path=s:/apache_pb.gif|"
           "protocol=s:HTTP/1.0|status=i:200|body_bytes=i:2326|"
           "referer=s:http://www.example.com/start.html|"
           "user_agent=s:Mozilla/4.08 [en] (Win98; I ;Nav)");
    /* common format: no referer or agent, "-" for no body (left out) */
    expect(p, "::1 - - [02/Dec/2026:14:05:06 +0000] \"HEAD / HTTP/1.1\" 304 -", VG_OK,
           "remote_addr=s:::1|remote_user=s:-|method=s:HEAD|path=s:/|protocol=s:HTTP/1.1|"
           "status=i:304");
    /* Apache escapes a quote inside a quoted field */
    expect(p,
           "10.1.1.1 - - [02/Dec/2026:14:05:06 +0000] \"GET /a\\\"b HTTP/1.1\" 404 12 \"-\" "
           "\"say \\\"hi\\\"\"",
           VG_OK,
           "remote_addr=s:10.1.1.1|remote_user=s:-|request=s:GET /a\\\"b HTTP/1.1|status=i:404|"
           "body_bytes=i:12|referer=s:-|user_agent=s:say \\\"hi\\\"");
    vg_parser_destroy(p);
}

static void access_lines_that_do_not_match(void **state)
{
    static const char *const bad[] = {
        "",
        "hello world",
        "10.0.0.1 - - [02/Dec/2026:14:05:06 +0000] \"GET / HTTP/1.1\" 2000 1",
        "10.0.0.1 - - 02/Dec/2026:14:05:06 +0000 \"GET / HTTP/1.1\" 200 1",
        "10.0.0.1 - - [02/Dec/2026:14:05:06 +0000] \"GET / HTTP/1.1 200 1",
    };
    struct vg_parser *p = pf_builtin("nginx");
    struct vg_parser_stats st;
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        expect(p, bad[i], VG_EPARSE, "");
        assert_int_equal(flags_of(p, bad[i], NULL), VG_PARSE_NOMATCH);
    }
    vg_parser_stats(p, &st);
    assert_int_equal(st.lines, 2 * VG_ARRAY_LEN(bad));
    assert_int_equal(st.nomatch, 2 * VG_ARRAY_LEN(bad));
    assert_int_equal(st.limit, 0);
    vg_parser_destroy(p);
}

static void time_failed_kept_and_flagged(void **state)
{
    struct vg_parser_settings s;
    struct vg_parser *p;
    struct vg_parser_stats st;
    int64_t ns = 0;

    (void)state;
    assert_int_equal(vg_parser_builtin("nginx", &s), VG_OK);
    p = pf_make(&s);
    /* February 31: the line matches, the time stays as text, flagged */
    expect(p, "10.0.0.1 - - [31/Feb/2026:14:05:06 +0000] \"GET / HTTP/1.1\" 200 1", VG_OK,
           "remote_addr=s:10.0.0.1|remote_user=s:-|time=s:31/Feb/2026:14:05:06 +0000|"
           "method=s:GET|path=s:/|protocol=s:HTTP/1.1|status=i:200|body_bytes=i:1");
    assert_int_equal(
        flags_of(p, "10.0.0.1 - - [31/Feb/2026:14:05:06 +0000] \"GET / HTTP/1.1\" 200 1", NULL),
        VG_PARSE_BAD_TIME);
    vg_parser_stats(p, &st);
    assert_int_equal(st.bad_time, 2);
    vg_parser_destroy(p);
    /* time_keep: the field stays once its time is read */
    s.time_keep = true;
    p = pf_make(&s);
    expect(p, "10.0.0.1 - - [02/Dec/2026:14:05:06 +0000] \"GET / HTTP/1.1\" 200 1", VG_OK,
           "remote_addr=s:10.0.0.1|remote_user=s:-|time=s:02/Dec/2026:14:05:06 +0000|"
           "method=s:GET|path=s:/|protocol=s:HTTP/1.1|status=i:200|body_bytes=i:1");
    assert_int_equal(
        flags_of(p, "10.0.0.1 - - [02/Dec/2026:14:05:06 +0000] \"GET / HTTP/1.1\" 200 1", &ns),
        VG_PARSE_TIME);
    assert_int_equal(ns, PF_T1NS);
    vg_parser_destroy(p);
}

/* ------------------------------------------------------------------------
 * Regex: types, groups, limits.
 */

static void regex_types(void **state)
{
    static const struct vg_parser_type types[] = {
        {"status", VG_FIELD_INT},
        {"latency", VG_FIELD_DOUBLE},
        {"ok", VG_FIELD_BOOL},
        {"name", VG_FIELD_STR},
    };
    struct vg_parser_settings s = {
        .name = "typed",
        .type = "regex",
        .pattern = "^(?<status>\\S+) (?<latency>\\S+) (?<ok>\\S+) (?<name>\\S+)$",
        .types = types,
        .n_types = VG_ARRAY_LEN(types),
    };
    struct vg_parser *p = pf_make(&s);

    (void)state;
    expect(p, "200 0.005 true x", VG_OK,
           "status=i:200|latency=d:0.0050000000000000001|ok=b:true|name=s:x");
    expect(p, "-42 1e3 OFF y", VG_OK, "status=i:-42|latency=d:1000|ok=b:false|name=s:y");
    expect(p, "+7 .5 Yes z", VG_OK, "status=i:7|latency=d:0.5|ok=b:true|name=s:z");
    expect(p, "9223372036854775807 -2 1 -", VG_OK,
           "status=i:9223372036854775807|latency=d:-2|ok=b:true|name=s:-");
    /* "-" is "none" for typed fields; what does not convert stays text */
    expect(p, "- - - -", VG_OK, "name=s:-");
    expect(p, "abc nan maybe w", VG_OK, "status=s:abc|latency=s:nan|ok=s:maybe|name=s:w");
    assert_int_equal(flags_of(p, "abc 1 1 w", NULL), VG_PARSE_BAD_TYPE);
    expect(p, "9223372036854775808 0x10 2 v", VG_OK,
           "status=s:9223372036854775808|latency=s:0x10|ok=s:2|name=s:v");
    vg_parser_destroy(p);
}

static void regex_groups_in_order_unset_left_out(void **state)
{
    struct vg_parser_settings s = {
        .type = "regex",
        /* names sort differently from their order; one group is optional */
        .pattern = "^(?<zeta>\\w+)(?: (?<alpha>\\d+))?(?: (?<mid>[a-z]+))?(\\s*)$",
    };
    struct vg_parser *p = pf_make(&s);

    (void)state;
    expect(p, "one 2 three", VG_OK, "zeta=s:one|alpha=s:2|mid=s:three");
    expect(p, "one three", VG_OK, "zeta=s:one|mid=s:three");
    expect(p, "one", VG_OK, "zeta=s:one");
    /* bytes are bytes: invalid UTF-8 and NUL pass */
    assert_int_equal(vg_parser_run(p, "a\xff\0b", 4, PF_NOW, pf_collect, &(struct pf_out){0},
                                   &(struct vg_parse_result){0}),
                     VG_EPARSE);
    vg_parser_destroy(p);
    /* (?J): one field per name, the group that matched */
    s.pattern = "(?J)^(?:a=(?<v>\\d+)|b=(?<v>\\w+))$";
    p = pf_make(&s);
    expect(p, "a=1", VG_OK, "v=s:1");
    expect(p, "b=x", VG_OK, "v=s:x");
    vg_parser_destroy(p);
}

static void regex_match_limit(void **state)
{
    struct vg_parser_settings s = {
        .name = "slow",
        .type = "regex",
        .pattern = "^(?<a>(x+x+)+y)$",
        .match_limit = 5000,
    };
    struct vg_parser *p = pf_make(&s);
    struct vg_parser_stats st;
    char line[64];

    (void)state;
    /* a 'y' to find, but not at the end: PCRE2 cannot rule it out at once */
    memset(line, 'x', sizeof(line) - 3);
    memcpy(line + sizeof(line) - 3, "yz", 3);
    expect(p, "xxy", VG_OK, "a=s:xxy");
    /* catastrophic backtracking stops at the limit: not matched, counted */
    expect(p, line, VG_EPARSE, "");
    assert_int_equal(flags_of(p, line, NULL), VG_PARSE_NOMATCH | VG_PARSE_LIMIT);
    vg_parser_stats(p, &st);
    assert_int_equal(st.limit, 2);
    assert_int_equal(st.nomatch, 2);
    assert_int_equal(st.lines, 3);
    /* and the parser still works afterwards */
    expect(p, "xxxxy", VG_OK, "a=s:xxxxy");
    vg_parser_destroy(p);
}

static void settings_refused(void **state)
{
    static const struct vg_parser_type bad_type[] = {{"nope", VG_FIELD_INT}};
    static const struct vg_parser_type json_type[] = {{"x", VG_FIELD_JSON}};
    struct {
        struct vg_parser_settings s;
        const char *says;
    } cases[] = {
        {{.name = "a", .type = "xml"}, "unknown type 'xml'"},
        {{.name = "b", .type = "regex"}, "needs a pattern"},
        {{.name = "c", .type = "regex", .pattern = "(unclosed"}, "at offset 9"},
        {{.name = "d", .type = "regex", .pattern = "^(\\w+)$"}, "no named group"},
        {{.name = "e", .type = "regex", .pattern = "(?<a>.)", .time_key = "ts"},
         "time_key 'ts' is not a named group"},
        {{.name = "f", .type = "regex", .pattern = "(?<a>.)", .types = bad_type, .n_types = 1},
         "'nope', not a named group"},
        {{.name = "g", .type = "json", .pattern = "x"}, "takes no pattern"},
        {{.name = "h", .type = "logfmt", .merge_into = "x"}, "json options"},
        {{.name = "i", .type = "json", .time_format = "%Q"}, "unknown conversion"},
        {{.name = "j", .type = "json", .types = json_type, .n_types = 1}, "bad entry 0"},
        {{.name = "k", .type = "json", .time_offset_s = 86400}, "beyond a day"},
        {{.type = NULL}, "unknown type ''"},
    };
    struct vg_error err;
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(cases); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(make_error(&cases[i].s, &err), VG_ECONFIG);
        if (strstr(err.msg, cases[i].says) == NULL)
            fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, cases[i].says);
    }
}

static void builtins_and_type_names(void **state)
{
    static const char *const names[] = {"nginx", "apache", "syslog_rfc3164", "syslog_rfc5424",
                                        "klog",  "json",   "logfmt",         "level"};
    struct vg_parser_settings s;
    enum vg_field_type t;
    struct vg_parser *p;
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(names); i++) {
        assert_int_equal(vg_parser_builtin(names[i], &s), VG_OK);
        assert_non_null(strstr(vg_parser_builtin_names(), names[i]));
        p = pf_make(&s);
        assert_string_equal(vg_parser_name(p), names[i]);
        vg_parser_destroy(p);
    }
    assert_int_equal(vg_parser_builtin("nginx_json", &s), VG_ENOENT);
    assert_int_equal(vg_parser_builtin(NULL, &s), VG_ENOENT);
    assert_int_equal(vg_parser_type_parse("int", &t), VG_OK);
    assert_int_equal(t, VG_FIELD_INT);
    assert_int_equal(vg_parser_type_parse("float", &t), VG_OK);
    assert_int_equal(t, VG_FIELD_DOUBLE);
    assert_int_equal(vg_parser_type_parse("boolean", &t), VG_OK);
    assert_int_equal(t, VG_FIELD_BOOL);
    assert_int_equal(vg_parser_type_parse("string", &t), VG_OK);
    assert_int_equal(t, VG_FIELD_STR);
    assert_int_equal(vg_parser_type_parse("Int", &t), VG_EPARSE);
    assert_int_equal(vg_parser_type_parse(NULL, &t), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * json.
 */

static void json_fields_keep_their_types(void **state)
{
    struct vg_parser_settings s = {.type = "json", .time_key = "ts"};
    struct vg_parser *p = pf_make(&s);
    int64_t ns = 0;

    (void)state;
    /* zap's production encoder */
    expect(p,
           "{\"level\":\"info\",\"ts\":1796220306.5,\"caller\":\"app/main.go:42\","
           "\"msg\":\"served \\\"/\\\"\",\"status\":200,\"latency\":0.004,\"cached\":false,"
           "\"user\":null,\"req\":{\"method\":\"GET\",\"h\":{\"a\":[1,2]}},\"tags\":[\"x\",\"y\"]}",
           VG_OK,
           "level=s:info|caller=s:app/main.go:42|msg=s:served \"/\"|status=i:200|"
           "latency=d:0.0040000000000000001|cached=b:false|user=j:null|"
           "req=j:{\"method\":\"GET\",\"h\":{\"a\":[1,2]}}|tags=j:[\"x\",\"y\"]");
    assert_int_equal(flags_of(p, "{\"ts\":1796220306.5}", &ns), VG_PARSE_TIME);
    assert_int_equal(ns, PF_T1NS + 500000000);
    /* a string time, an escaped key, numbers beyond int64, repeated keys */
    assert_int_equal(flags_of(p, "{\"ts\":\"2026-12-02T14:05:06Z\"}", &ns), VG_PARSE_TIME);
    assert_int_equal(ns, PF_T1NS);
    expect(p, "{\"a\\u0062\":9223372036854775808,\"k\":1,\"k\":-2.5e-3,\"e\":\"\\u00e9\\n\"}",
           VG_OK, "ab=d:9.2233720368547758e+18|k=i:1|k=d:-0.0025000000000000001|e=s:\xc3\xa9\n");
    expect(p, " { } ", VG_OK, "");
    /* a time that is none: kept as it was, flagged */
    expect(p, "{\"ts\":\"yesterday\",\"n\":1}", VG_OK, "ts=s:yesterday|n=i:1");
    assert_int_equal(flags_of(p, "{\"ts\":{\"s\":1}}", NULL), VG_PARSE_BAD_TIME);
    vg_parser_destroy(p);
}

static void json_lenient_and_strict(void **state)
{
    struct vg_parser_settings s = {.type = "json"};
    struct vg_parser *p = pf_make(&s);

    (void)state;
    /* raw tab and newline inside strings: taken, and escaped again inside
     * nested JSON text so that outputs write valid JSON */
    expect(p, "{\"msg\":\"a\tb\",\"o\":{\"s\":\"x\ny\"},\n\"n\":1}", VG_OK,
           "msg=s:a\tb|o=j:{\"s\":\"x\\u000ay\"}|n=i:1");
    /* whitespace between members stays as it is; escapes are left alone */
    expect(p, "{\"o\":[\"\\\"\x01\",\n\t{\"\x1f\":1}]}", VG_OK,
           "o=j:[\"\\\"\\u0001\",\n\t{\"\\u001f\":1}]");
    vg_parser_destroy(p);
    s.strict = true;
    p = pf_make(&s);
    expect(p, "{\"msg\":\"a\tb\"}", VG_EPARSE, "");
    expect(p, "{\"msg\":\"a b\",\n\t\"n\":1}", VG_OK, "msg=s:a b|n=i:1");
    vg_parser_destroy(p);
}

static void json_lines_that_do_not_match(void **state)
{
    static const char *const bad[] = {
        "",        "hello",      "[1,2]",           "\"text\"",
        "42",      "{\"a\":1,",  "{\"a\":1}}",      "{\"a\":1} x",
        "{'a':1}", "{\"a\":01}", "{\"a\":\"\\x\"}", "{\"a\":1,\"b\":tru}",
    };

    (void)state;
    expect_refused("json", bad, VG_ARRAY_LEN(bad));
}

static void json_merge_into(void **state)
{
    struct vg_parser_settings s = {.type = "json", .merge_into = "app", .time_key = "time"};
    struct vg_parser *p = pf_make(&s);
    int64_t ns = 0;

    (void)state;
    expect(p, "{\"time\":\"2026-12-02T14:05:06Z\",\"user\":{\"id\":7},\"msg\":\"hi\"}", VG_OK,
           "app=j:{\"time\":\"2026-12-02T14:05:06Z\",\"user\":{\"id\":7},\"msg\":\"hi\"}");
    assert_int_equal(flags_of(p, "{\"msg\":\"x\",\"time\":1796220306}", &ns), VG_PARSE_TIME);
    assert_int_equal(ns, PF_T1NS);
    expect(p, "{\"msg\":\"raw\ttab\"}", VG_OK, "app=j:{\"msg\":\"raw\\u0009tab\"}");
    vg_parser_destroy(p);
}

static void json_too_many_fields(void **state)
{
    struct vg_parser_settings s = {.type = "json"};
    struct vg_parser *p = pf_make(&s);
    struct vg_parse_result res;
    struct pf_out *o = calloc(1, sizeof(*o));
    char *line = malloc(16 * (VG_PARSER_MAX_FIELDS + 10));
    size_t i, len = 0;

    (void)state;
    assert_non_null(o);
    assert_non_null(line);
    line[len++] = '{';
    for (i = 0; i < VG_PARSER_MAX_FIELDS + 10; i++)
        len += (size_t)snprintf(line + len, 16, "%s\"k%zu\":1", i > 0 ? "," : "", i);
    line[len++] = '}';
    assert_int_equal(pf_run_len(p, line, len, PF_NOW, o, &res), VG_OK);
    assert_int_equal(o->fields, VG_PARSER_MAX_FIELDS);
    assert_int_equal(res.flags, VG_PARSE_TOO_MANY);
    /* a broken line that is also too wide is only a mismatch */
    assert_int_equal(pf_run_len(p, line, len - 1, PF_NOW, o, &res), VG_EPARSE);
    assert_int_equal(res.flags, VG_PARSE_NOMATCH);
    free(line);
    free(o);
    vg_parser_destroy(p);
}

/* ------------------------------------------------------------------------
 * logfmt.
 */

static void logfmt_pairs(void **state)
{
    static const struct vg_parser_type types[] = {{"status", VG_FIELD_INT},
                                                  {"duration", VG_FIELD_DOUBLE}};
    struct vg_parser_settings s = {
        .type = "logfmt", .time_key = "time", .types = types, .n_types = 2};
    struct vg_parser *p = pf_make(&s);
    int64_t ns = 0;

    (void)state;
    /* logrus's text formatter */
    expect(p,
           "time=\"2026-12-02T14:05:06Z\" level=info msg=\"GET /api \\\"q\\\" done\" "
           "duration=0.004 status=200 cached",
           VG_OK,
           "level=s:info|msg=s:GET /api \"q\" done|duration=d:0.0040000000000000001|"
           "status=i:200|cached=b:true");
    assert_int_equal(flags_of(p, "time=2026-12-02T14:05:06.25Z a=b", &ns), VG_PARSE_TIME);
    assert_int_equal(ns, PF_T1NS + 250000000);
    /* slog's text handler: spaces, empty values, '=' inside a value */
    expect(p, "  a=  b=c=d  e=\"\"  f=\"x\\ty \\u00e9\" g=\"\\x\" h=\"a\tb\" ", VG_OK,
           "a=s:|b=s:c=d|e=s:|f=s:x\ty \xc3\xa9|g=s:\\x|h=s:a\tb");
    expect(p, "k=\"a \\\\\" j=1", VG_OK, "k=s:a \\|j=s:1");
    expect(p, "status=abc", VG_OK, "status=s:abc");
    vg_parser_destroy(p);
}

static void logfmt_lines_that_do_not_match(void **state)
{
    static const char *const bad[] = {
        "",         "   ",      "hello world", "=x",          "a=1 =x",
        "k=\"open", "k=\"v\"x", "k\"v\"=1",    "a=1 \"b\"=2", "k=\"a \\\" still open",
    };

    (void)state;
    expect_refused("logfmt", bad, VG_ARRAY_LEN(bad));
}

/* ------------------------------------------------------------------------
 * Allocation: none once warm; creation survives every failure.
 */

static const char *const warm_lines[] = {
    "10.0.0.1 - - [02/Dec/2026:14:05:06 +0000] \"GET /x HTTP/1.1\" 200 5 \"-\" \"curl\"",
    "{\"a\":\"x\\ty\",\"o\":{\"s\":\"x\ny\"},\"n\":1.5,\"k\\u0062\":[1]}",
    "a=1 b=\"q \\\" x\" c",
    "I1202 14:05:06.123456       1 main.go:12] \"hello\" k=v",
    "<34>Dec  2 14:05:06 host app[1]: hello",
    "<165>1 2026-12-02T14:05:06Z h a 1 m [x@1 a=\"b\"] \xef\xbb\xbfhi",
    "2026-12-02 14:05:06,123 WARN [main] x",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyz",
};

static void no_allocation_once_warm(void **state)
{
    static const char *const names[] = {"nginx", "json",           "logfmt",        "klog",
                                        "level", "syslog_rfc3164", "syslog_rfc5424"};
    struct vg_parser_settings s = {
        .type = "regex", .pattern = "^(?<a>(x+x+)+y)$", .match_limit = 2000};
    struct vg_parser *p[VG_ARRAY_LEN(names) + 1];
    struct vg_parse_result res;
    static struct pf_out warm[VG_ARRAY_LEN(names) + 1][VG_ARRAY_LEN(warm_lines)];
    static struct pf_out o;
    size_t i, k;
    int rc[VG_ARRAY_LEN(names) + 1][VG_ARRAY_LEN(warm_lines)];

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(names); i++)
        p[i] = pf_builtin(names[i]);
    p[i] = pf_make(&s);
    for (i = 0; i < VG_ARRAY_LEN(p); i++) {
        for (k = 0; k < VG_ARRAY_LEN(warm_lines); k++)
            rc[i][k] = pf_run(p[i], warm_lines[k], &warm[i][k], &res);
    }
    vg_alloc_fail_after(0);
    for (i = 0; i < VG_ARRAY_LEN(p); i++) {
        for (k = 0; k < VG_ARRAY_LEN(warm_lines); k++) {
            assert_int_equal(pf_run(p[i], warm_lines[k], &o, &res), rc[i][k]);
            assert_string_equal(o.text, warm[i][k].text);
        }
    }
    assert_int_equal(vg_alloc_calls(), 0);
    vg_alloc_reset();
    for (i = 0; i < VG_ARRAY_LEN(p); i++)
        vg_parser_destroy(p[i]);
}

/* An emit callback that fails stops the run with its error; the same line
 * again emits the same fields. */
static void emit_failure_stops_the_run(void **state)
{
    struct vg_parser *p = pf_builtin("nginx");
    struct vg_parse_result res;
    struct pf_out o = {.stop_at = 3};

    (void)state;
    assert_int_equal(pf_run(p, warm_lines[0], &o, &res), VG_ENOMEM);
    assert_int_equal(o.fields, 2);
    assert_int_equal(res.flags & VG_PARSE_NOMATCH, 0);
    /* even a callback's own VG_EPARSE is not taken for a mismatch */
    o.stop_rc = VG_EPARSE;
    assert_int_equal(pf_run(p, warm_lines[0], &o, &res), VG_EPARSE);
    assert_int_equal(res.flags & VG_PARSE_NOMATCH, 0);
    o.stop_at = 0;
    assert_int_equal(pf_run(p, warm_lines[0], &o, &res), VG_OK);
    assert_int_equal(o.fields, 9);
    vg_parser_destroy(p);
}

static void create_body(struct torture *t, void *arg)
{
    static const struct vg_parser_type types[] = {{"a", VG_FIELD_INT}};
    const char *name = arg;
    struct vg_parser_settings s;
    struct vg_parser *p = NULL;
    struct vg_error err = {0};
    struct vg_parse_result res;
    struct pf_out *o = calloc(1, sizeof(*o));
    int rc;

    assert_non_null(o);
    if (vg_parser_builtin(name, &s) != VG_OK) {
        memset(&s, 0, sizeof(s));
        s.type = "regex";
        s.pattern = "^(?<a>\\d+)";
        s.types = types;
        s.n_types = 1;
        s.time_key = "a";
    }
    rc = vg_parser_create(&s, &p, &err);
    if (rc != VG_OK) {
        assert_int_equal(rc, VG_ENOMEM);
        assert_null(p);
        free(o);
        return;
    }
    torture_disarm(t);
    assert_int_equal(pf_run(p, warm_lines[0], o, &res) == VG_ENOMEM, false);
    vg_parser_destroy(p);
    free(o);
}

static void create_survives_every_failure(void **state)
{
    static const char *const names[] = {"nginx", "json", "klog", "syslog_rfc5424", "user"};
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(names); i++)
        torture_run(create_body, (void *)names[i], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nginx_combined),
        cmocka_unit_test(apache_combined_and_common),
        cmocka_unit_test(access_lines_that_do_not_match),
        cmocka_unit_test(time_failed_kept_and_flagged),
        cmocka_unit_test(regex_types),
        cmocka_unit_test(regex_groups_in_order_unset_left_out),
        cmocka_unit_test(regex_match_limit),
        cmocka_unit_test(settings_refused),
        cmocka_unit_test(builtins_and_type_names),
        cmocka_unit_test(json_fields_keep_their_types),
        cmocka_unit_test(json_lenient_and_strict),
        cmocka_unit_test(json_lines_that_do_not_match),
        cmocka_unit_test(json_merge_into),
        cmocka_unit_test(json_too_many_fields),
        cmocka_unit_test(logfmt_pairs),
        cmocka_unit_test(logfmt_lines_that_do_not_match),
        cmocka_unit_test_teardown(no_allocation_once_warm, torture_teardown),
        cmocka_unit_test(emit_failure_stops_the_run),
        cmocka_unit_test_teardown(create_survives_every_failure, torture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

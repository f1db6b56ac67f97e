/*
 * test_parser_system.c - the parsers of system and Kubernetes component
 * logs: klog headers (years around now), syslog RFC 3164 as daemons, files
 * and relays write it and RFC 5424 (the RFC's own examples, NILVALUEs,
 * structured data), and levels: every common spelling, and the search for
 * one in a plain line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "parser_fixture.h"

#define HOUR (INT64_C(3600) * VG_NS_PER_SEC)
#define DAY  (24 * HOUR)

static void expect_at(struct vg_parser *p, const char *line, int64_t now, int want_rc,
                      const char *want, int64_t want_ns)
{
    struct vg_parse_result res;
    struct pf_out o = {0};
    int rc = pf_run_len(p, line, strlen(line), now, &o, &res);

    if (rc != want_rc || strcmp(o.text, want) != 0)
        fail_msg("line: %s\nrc %d (want %d)\ngot:  %s\nwant: %s", line, rc, want_rc, o.text, want);
    if (want_ns != 0 && (!(res.flags & VG_PARSE_TIME) || res.time_ns != want_ns))
        fail_msg("line: %s\ntime %lld (flags %x), want %lld", line, (long long)res.time_ns,
                 res.flags, (long long)want_ns);
}

static void expect(struct vg_parser *p, const char *line, int want_rc, const char *want)
{
    expect_at(p, line, PF_NOW, want_rc, want, 0);
}

/* ------------------------------------------------------------------------
 * klog.
 */

static void klog_headers(void **state)
{
    struct vg_parser *p = pf_builtin("klog");

    (void)state;
    expect_at(p, "I1202 14:05:06.123456       1 controller.go:123] \"Starting workers\" count=4",
              PF_NOW, VG_OK,
              "level=s:info|thread=i:1|source_file=s:controller.go|source_line=i:123|"
              "message=s:\"Starting workers\" count=4",
              PF_T1NS + 123456000);
    expect(p, "W1202 14:05:06.000001 4021 pkg/a/b.go:7] disk 91% full", VG_OK,
           "level=s:warn|thread=i:4021|source_file=s:pkg/a/b.go|source_line=i:7|message=s:disk 91% "
           "full");
    expect(p, "E1202 14:05:06.000000 7 c:\\x\\y.go:12] ", VG_OK,
           "level=s:error|thread=i:7|source_file=s:c:\\x\\y.go|source_line=i:12|message=s:");
    expect(p, "F1202 14:05:06 7 f.go:1]", VG_OK,
           "level=s:fatal|thread=i:7|source_file=s:f.go|source_line=i:1|message=s:");
    /* January's line read in December is this year's, not next year's */
    expect_at(p, "I0102 15:04:05.000000 1 f.go:1] m", PF_NOW, VG_OK,
              "level=s:info|thread=i:1|source_file=s:f.go|source_line=i:1|message=s:m",
              INT64_C(1767366245) * VG_NS_PER_SEC);
    vg_parser_destroy(p);
}

static void klog_year_boundary_and_bad_times(void **state)
{
    /* 2026-12-31T23:59:59Z */
    const int64_t dec31 = INT64_C(1798761599) * VG_NS_PER_SEC;
    struct vg_parser_settings s;
    struct vg_parser *p;
    struct vg_parse_result res;
    struct pf_out o = {0};

    (void)state;
    p = pf_builtin("klog");
    expect_at(p, "W1231 23:59:59.000000 42 a.go:9] late", dec31 + 2 * VG_NS_PER_SEC, VG_OK,
              "level=s:warn|thread=i:42|source_file=s:a.go|source_line=i:9|message=s:late", dec31);
    /* month 13: the header is there, the time is not: kept, flagged */
    assert_int_equal(pf_run(p, "I1302 14:05:06.000000 1 f.go:1] m", &o, &res), VG_OK);
    assert_string_equal(o.text, "time=s:1302 14:05:06.000000|level=s:info|thread=i:1|"
                                "source_file=s:f.go|source_line=i:1|message=s:m");
    assert_int_equal(res.flags, VG_PARSE_BAD_TIME);
    vg_parser_destroy(p);
    /* time_keep */
    assert_int_equal(vg_parser_builtin("klog", &s), VG_OK);
    s.time_keep = true;
    p = pf_make(&s);
    expect(p, "I1202 14:05:06.5 1 f.go:1] m", VG_OK,
           "time=s:1202 "
           "14:05:06.5|level=s:info|thread=i:1|source_file=s:f.go|source_line=i:1|message=s:m");
    vg_parser_destroy(p);
}

static void klog_lines_that_do_not_match(void **state)
{
    static const char *const bad[] = {
        "",
        "I",
        "X1202 14:05:06.000000 1 f.go:1] m",
        "i1202 14:05:06.000000 1 f.go:1] m",
        "I1202 14:05:06.000000 x f.go:1] m",
        "I1202 14:05:06.000000 1 f.go:x] m",
        "I1202 14:05:06.000000 1 f.go:1 m",
        "I1202 14:05:06.000000 1 f.go] m",
        "I1202 14:05:06.000000 1 :1] m",
        "I1202 14:05:06.000000 1 f go:1] m",
        "I1202 14:05:06.000000 1",
        "I1202 14:05:06.000000",
        "I202 14:05:06.000000 1 f.go:1] m",
        "I1202 14:5:06.000000 1 f.go:1] m",
        "I1202 14:05:06.000000 99999999999999999999 f.go:1] m",
    };
    struct vg_parser *p = pf_builtin("klog");
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(bad); i++)
        expect(p, bad[i], VG_EPARSE, "");
    vg_parser_destroy(p);
}

/* ------------------------------------------------------------------------
 * syslog.
 */

static void syslog_rfc3164(void **state)
{
    struct vg_parser *p = pf_builtin("syslog_rfc3164");

    (void)state;
    /* RFC 3164's own example, read in December: October's is this year's */
    expect_at(p, "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
              PF_NOW, VG_OK,
              "facility=s:auth|severity=s:crit|level=s:fatal|host=s:mymachine|app=s:su|"
              "message=s:'su root' failed for lonvick on /dev/pts/8",
              INT64_C(1791756855) * VG_NS_PER_SEC);
    /* /var/log/syslog: no priority */
    expect_at(p, "Dec  2 14:05:06 node-1 kubelet[1234]: I1202 14:05:06.1 1234 k.go:2] hi", PF_NOW,
              VG_OK,
              "host=s:node-1|app=s:kubelet|pid=s:1234|message=s:I1202 14:05:06.1 1234 k.go:2] hi",
              PF_T1NS);
    /* rsyslog's high-precision time */
    expect_at(p, "<13>2026-12-02T15:05:06.123456+01:00 host app[7]: hi", PF_NOW, VG_OK,
              "facility=s:user|severity=s:notice|level=s:info|host=s:host|app=s:app|pid=s:7|"
              "message=s:hi",
              PF_T1NS + 123456000);
    /* no host; no tag; a fraction; local7.debug */
    expect(p, "<191>Dec  2 14:05:06 sshd[42]: Accepted publickey", VG_OK,
           "facility=s:local7|severity=s:debug|level=s:debug|app=s:sshd|pid=s:42|"
           "message=s:Accepted publickey");
    expect(p, "<0>Dec 12 14:05:06.250 host just a message: with a colon", VG_OK,
           "facility=s:kern|severity=s:emerg|level=s:fatal|host=s:host|"
           "message=s:just a message: with a colon");
    expect(p, "<6>Dec  2 14:05:06 host kernel: [ 1.234] x", VG_OK,
           "facility=s:kern|severity=s:info|level=s:info|host=s:host|app=s:kernel|"
           "message=s:[ 1.234] x");
    expect(p, "<6>Dec  2 14:05:06 host", VG_OK,
           "facility=s:kern|severity=s:info|level=s:info|host=s:host|message=s:");
    vg_parser_destroy(p);
}

static void syslog_rfc5424(void **state)
{
    struct vg_parser *p = pf_builtin("syslog_rfc5424");

    (void)state;
    /* RFC 5424's examples */
    expect_at(p,
              "<165>1 2026-12-02T14:05:06.003Z mymachine.example.com evntslog - ID47 "
              "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
              "\xef\xbb\xbf"
              "An application event log entry...",
              PF_NOW, VG_OK,
              "facility=s:local4|severity=s:notice|level=s:info|host=s:mymachine.example.com|"
              "app=s:evntslog|msgid=s:ID47|structured_data=s:[exampleSDID@32473 iut=\"3\" "
              "eventSource=\"Application\" eventID=\"1011\"]|"
              "message=s:An application event log entry...",
              PF_T1NS + 3000000);
    expect(p,
           "<34>1 2026-12-02T14:05:06.003Z mymachine.example.com su - ID47 - 'su root' failed "
           "for lonvick on /dev/pts/8",
           VG_OK,
           "facility=s:auth|severity=s:crit|level=s:fatal|host=s:mymachine.example.com|app=s:su|"
           "msgid=s:ID47|message=s:'su root' failed for lonvick on /dev/pts/8");
    expect(p,
           "<165>1 2026-12-02T14:05:06.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to "
           "make the do-nuts.",
           VG_OK,
           "facility=s:local4|severity=s:notice|level=s:info|host=s:192.0.2.1|app=s:myproc|"
           "pid=s:8710|message=s:%% It's time to make the do-nuts.");
    /* every NILVALUE, no message; two SD elements with ']' and \" in values */
    expect(p, "<13>1 - - - - - -", VG_OK, "facility=s:user|severity=s:notice|level=s:info");
    expect(p, "<13>1 - h - - - [a@1 k=\"x\\\"]y\"][b@2]", VG_OK,
           "facility=s:user|severity=s:notice|level=s:info|host=s:h|"
           "structured_data=s:[a@1 k=\"x\\\"]y\"][b@2]");
    vg_parser_destroy(p);
}

static void syslog_lines_that_do_not_match(void **state)
{
    static const char *const bad3164[] = {
        "",
        "hello",
        "<999>Dec  2 14:05:06 host app: x",
        "<34Dec  2 14:05:06 host app: x",
        "<>Dec  2 14:05:06 host app: x",
        "<34>Dec  2 14:05 host app: x",
        "<34>Dec  2 14:05:06",
        "<34>2026 host",
        "<34>D3c  2 14:05:06 host app: x",
    };
    static const char *const bad5424[] = {
        "",
        "<13>0 - - - - - -",
        "<13> - - - - - -",
        "<13>1 - - - - -",
        "<13>1 - - - - - x",
        "<13>1 - - - - - [a@1 k=\"v]",
        "<13>1 - - - - - [a@1]x",
        "13>1 - - - - - -",
        "<13>1  - - - - -",
    };
    struct vg_parser *p3 = pf_builtin("syslog_rfc3164");
    struct vg_parser *p5 = pf_builtin("syslog_rfc5424");
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(bad3164); i++)
        expect(p3, bad3164[i], VG_EPARSE, "");
    for (i = 0; i < VG_ARRAY_LEN(bad5424); i++)
        expect(p5, bad5424[i], VG_EPARSE, "");
    vg_parser_destroy(p3);
    vg_parser_destroy(p5);
}

/* ------------------------------------------------------------------------
 * Levels.
 */

static void level_spellings(void **state)
{
    static const struct {
        const char *word;
        enum vg_level level;
    } cases[] = {
        {"trace", VG_LEVEL_TRACE},    {"TRACE", VG_LEVEL_TRACE},      {"finest", VG_LEVEL_TRACE},
        {"Verbose", VG_LEVEL_TRACE},  {"debug", VG_LEVEL_DEBUG},      {"DBG", VG_LEVEL_DEBUG},
        {"FINE", VG_LEVEL_DEBUG},     {"D", VG_LEVEL_DEBUG},          {"info", VG_LEVEL_INFO},
        {"INFO", VG_LEVEL_INFO},      {"Information", VG_LEVEL_INFO}, {"notice", VG_LEVEL_INFO},
        {"I", VG_LEVEL_INFO},         {"warn", VG_LEVEL_WARN},        {"WARNING", VG_LEVEL_WARN},
        {"W", VG_LEVEL_WARN},         {"wrn", VG_LEVEL_WARN},         {"error", VG_LEVEL_ERROR},
        {"ERR", VG_LEVEL_ERROR},      {"eror", VG_LEVEL_ERROR},       {"SEVERE", VG_LEVEL_ERROR},
        {"E", VG_LEVEL_ERROR},        {"dpanic", VG_LEVEL_ERROR},     {"fatal", VG_LEVEL_FATAL},
        {"CRITICAL", VG_LEVEL_FATAL}, {"crit", VG_LEVEL_FATAL},       {"emerg", VG_LEVEL_FATAL},
        {"alert", VG_LEVEL_FATAL},    {"panic", VG_LEVEL_FATAL},      {"F", VG_LEVEL_FATAL},
        {"0", VG_LEVEL_FATAL},        {"2", VG_LEVEL_FATAL},          {"3", VG_LEVEL_ERROR},
        {"4", VG_LEVEL_WARN},         {"5", VG_LEVEL_INFO},           {"6", VG_LEVEL_INFO},
        {"7", VG_LEVEL_DEBUG},        {"10", VG_LEVEL_TRACE},         {"30", VG_LEVEL_INFO},
        {"50", VG_LEVEL_ERROR},       {"60", VG_LEVEL_FATAL},
    };
    static const char *const bad[] = {
        "",   "8",   "70", "15", "informative", "warnings", "x", "lvl", "12345678901234567890",
        "-1", "err "};
    enum vg_level l;
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(cases); i++) {
        if (vg_level_parse(cases[i].word, strlen(cases[i].word), &l) != VG_OK)
            fail_msg("refused: %s", cases[i].word);
        if (l != cases[i].level)
            fail_msg("%s: %s, want %s", cases[i].word, vg_level_name(l),
                     vg_level_name(cases[i].level));
    }
    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        if (vg_level_parse(bad[i], strlen(bad[i]), &l) != VG_EPARSE)
            fail_msg("accepted: '%s'", bad[i]);
    }
    assert_string_equal(vg_level_name(VG_LEVEL_WARN), "warn");
    assert_string_equal(vg_level_name((enum vg_level)0), "unknown");
    assert_int_equal(vg_level_from_syslog(3), VG_LEVEL_ERROR);
    assert_int_equal(vg_level_from_syslog(-1), VG_LEVEL_FATAL);
    assert_int_equal(vg_level_from_syslog(9), VG_LEVEL_DEBUG);
}

static void level_found_in_lines(void **state)
{
    static const struct {
        const char *line;
        const char *level; /* NULL: none */
    } cases[] = {
        {"time=\"2026-12-02T14:05:06Z\" level=warning msg=\"disk\"", "warn"},
        {"ts=1 lvl=E msg=x", "error"},
        {"{\"level\":\"ERROR\",\"msg\":\"x\"}", "error"},
        {"{\"msg\":\"x\", \"severity\": \"critical\"}", "fatal"},
        {"{\"@l\":\"Warning\",\"@mt\":\"x\"}", "warn"},
        {"LEVEL=debug thing", "debug"},
        {"2026-12-02 14:05:06,123 WARN [main] c.e.App - slow", "warn"},
        {"2026-12-02 14:05:06,123 - app - ERROR - failed", "error"},
        {"2026/12/02 14:05:06 [error] 7#7: *1 open() failed", "error"},
        {"[2026-12-02T14:05:06Z] [INFO] started", "info"},
        {"<notice> something", "info"},
        {"panic: runtime error: index out of range", "fatal"},
        {"E1202 14:05:06.123456 1 f.go:1] boom", "error"},
        {"W1202 14:05:06.123456 1 f.go:1] hm", "warn"},
        {"severity=3 code=7", "error"},
        {"the error was fixed yesterday", NULL},
        {"I am fine", NULL},
        {"a b c d ERROR late in the line", NULL},
        {"level=verbose2 x", NULL},
        {"", NULL},
        {"x=1 y=2", NULL},
    };
    struct vg_parser *p = pf_builtin("level");
    char want[64];
    enum vg_level l;
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(cases); i++) {
        int rc = vg_level_detect(cases[i].line, strlen(cases[i].line), &l);

        if (cases[i].level == NULL) {
            if (rc != VG_EPARSE)
                fail_msg("'%s': found %s", cases[i].line, vg_level_name(l));
            expect(p, cases[i].line, VG_OK, "");
            continue;
        }
        if (rc != VG_OK || strcmp(vg_level_name(l), cases[i].level) != 0)
            fail_msg("'%s': rc %d, %s, want %s", cases[i].line, rc,
                     rc == VG_OK ? vg_level_name(l) : "-", cases[i].level);
        snprintf(want, sizeof(want), "level=s:%s", cases[i].level);
        expect(p, cases[i].line, VG_OK, want);
    }
    vg_parser_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(klog_headers),
        cmocka_unit_test(klog_year_boundary_and_bad_times),
        cmocka_unit_test(klog_lines_that_do_not_match),
        cmocka_unit_test(syslog_rfc3164),
        cmocka_unit_test(syslog_rfc5424),
        cmocka_unit_test(syslog_lines_that_do_not_match),
        cmocka_unit_test(level_spellings),
        cmocka_unit_test(level_found_in_lines),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_parse_runtime.c - the container runtime line decoders (CRI and
 * Docker json-file) and the RFC 3339 parser under them: known instants,
 * calendar edges, every framing and escape rule, and hostile input that
 * must be refused without reading out of bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"

/* A string literal and its length, NUL bytes included. */
#define LIT(s) (s), (sizeof(s) - 1)

/* 2026-11-24T10:00:00Z */
#define T0 (INT64_C(1795514400) * VG_NS_PER_SEC)

struct time_case {
    const char *text;
    int64_t ns;
};

static void check_times(const struct time_case *cases, size_t n)
{
    int64_t ns;
    size_t i;

    for (i = 0; i < n; i++) {
        ns = -42;
        if (vg_time_parse_rfc3339(cases[i].text, strlen(cases[i].text), &ns) != VG_OK)
            fail_msg("refused: %s", cases[i].text);
        if (ns != cases[i].ns)
            fail_msg("%s: got %lld, want %lld", cases[i].text, (long long)ns,
                     (long long)cases[i].ns);
    }
}

static void check_time_errors(const char *const *cases, size_t n)
{
    int64_t ns;
    size_t i;

    for (i = 0; i < n; i++) {
        ns = -42;
        if (vg_time_parse_rfc3339(cases[i], strlen(cases[i]), &ns) != VG_EPARSE)
            fail_msg("accepted: \"%s\"", cases[i]);
        assert_int_equal(ns, -42);
    }
}

/* ------------------------------------------------------------------------
 * Time.
 */

static void time_known_values(void **state)
{
    static const struct time_case cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00.000000001Z", 1},
        {"1969-12-31T23:59:59Z", -VG_NS_PER_SEC},
        {"1969-12-31T23:59:59.5Z", -500000000},
        {"2026-11-24T10:00:00Z", T0},
        {"2026-11-24T10:00:00.123456789Z", T0 + 123456789},
        {"2038-01-19T03:14:08Z", INT64_C(2147483648) * VG_NS_PER_SEC},
        {"2100-02-28T00:00:00Z", INT64_C(4107456000) * VG_NS_PER_SEC},
        {"1900-03-01T00:00:00Z", INT64_C(-2203891200) * VG_NS_PER_SEC},
    };

    (void)state;
    check_times(cases, VG_ARRAY_LEN(cases));
}

static void time_offsets_cross_midnight(void **state)
{
    static const struct time_case cases[] = {
        {"2026-11-24T11:00:00+01:00", T0},
        {"2026-11-24T15:30:00+05:30", T0},
        {"2026-11-24T04:59:59-05:00", T0 - VG_NS_PER_SEC},
        {"2026-11-24T10:00:00+00:00", T0},
        {"2026-11-24T10:00:00-00:00", T0},
        /* back over midnight into the previous day */
        {"2026-11-24T01:00:00+02:00", INT64_C(1795474800) * VG_NS_PER_SEC},
        /* forward over midnight into the next year */
        {"2026-12-31T22:00:00-05:00", INT64_C(1798772400) * VG_NS_PER_SEC},
        /* back over midnight into February */
        {"2026-03-01T00:30:00+01:00", INT64_C(1772321400) * VG_NS_PER_SEC},
        {"1970-01-01T00:00:00+23:59", -(23 * 3600 + 59 * 60) * VG_NS_PER_SEC},
    };

    (void)state;
    check_times(cases, VG_ARRAY_LEN(cases));
}

static void time_fraction_digits(void **state)
{
    static const struct time_case cases[] = {
        {"2026-11-24T10:00:00Z", T0},
        {"2026-11-24T10:00:00.1Z", T0 + 100000000},
        {"2026-11-24T10:00:00.12Z", T0 + 120000000},
        {"2026-11-24T10:00:00.123Z", T0 + 123000000},
        {"2026-11-24T10:00:00.1234Z", T0 + 123400000},
        {"2026-11-24T10:00:00.12345Z", T0 + 123450000},
        {"2026-11-24T10:00:00.123456Z", T0 + 123456000},
        {"2026-11-24T10:00:00.1234567Z", T0 + 123456700},
        {"2026-11-24T10:00:00.12345678Z", T0 + 123456780},
        {"2026-11-24T10:00:00.123456789Z", T0 + 123456789},
        {"2026-11-24T10:00:00.1234567891Z", T0 + 123456789},
        {"2026-11-24T10:00:00.999999999999999999999Z", T0 + 999999999},
        {"2026-11-24T10:00:00.000000000+01:00", T0 - 3600 * VG_NS_PER_SEC},
    };

    (void)state;
    check_times(cases, VG_ARRAY_LEN(cases));
}

static void time_leap_years(void **state)
{
    static const struct time_case ok[] = {
        {"2000-02-29T12:00:00Z", INT64_C(951825600) * VG_NS_PER_SEC},
        {"2024-02-29T23:59:59Z", INT64_C(1709251199) * VG_NS_PER_SEC},
        /* the second after the leap day */
        {"2024-03-01T00:00:00Z", INT64_C(1709251200) * VG_NS_PER_SEC},
    };
    static const char *const bad[] = {
        "2026-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z", /* divisible by 100, not by 400 */
        "1900-02-29T00:00:00Z",
        "2024-02-30T00:00:00Z",
    };

    (void)state;
    check_times(ok, VG_ARRAY_LEN(ok));
    check_time_errors(bad, VG_ARRAY_LEN(bad));
}

static void time_range_limits(void **state)
{
    static const struct time_case ok[] = {
        {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
        {"1677-09-21T00:12:43.145224192Z", INT64_MIN},
    };
    static const char *const bad[] = {
        "2262-04-11T23:47:16.854775808Z",
        "1677-09-21T00:12:43.145224191Z",
        /* a valid date, but beyond what int64 nanoseconds hold */
        "9999-12-31T23:59:59.999999999Z",
        "0000-01-01T00:00:00Z",
    };

    (void)state;
    check_times(ok, VG_ARRAY_LEN(ok));
    check_time_errors(bad, VG_ARRAY_LEN(bad));
}

static void time_leap_second_and_case(void **state)
{
    static const struct time_case cases[] = {
        /* a leap second counts as the first second of the next minute */
        {"2016-12-31T23:59:60Z", INT64_C(1483228800) * VG_NS_PER_SEC},
        {"2026-11-24t10:00:00z", T0},
        {"2026-11-24t10:00:00.5Z", T0 + 500000000},
    };

    (void)state;
    check_times(cases, VG_ARRAY_LEN(cases));
}

static void time_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-24",
        "2026-11-24T10:00",
        "2026-11-24T10:00:00",       /* no zone */
        "2026-13-24T10:00:00Z",      /* month 13 */
        "2026-00-24T10:00:00Z",      /* month 0 */
        "2026-11-00T10:00:00Z",      /* day 0 */
        "2026-04-31T10:00:00Z",      /* April has 30 days */
        "2026-11-24T24:00:00Z",      /* hour 24 */
        "2026-11-24T10:60:00Z",      /* minute 60 */
        "2026-11-24T10:00:61Z",      /* second 61 */
        "2026-11-24 10:00:00Z",      /* missing T */
        "2026-11-24X10:00:00Z",      /* wrong T */
        "2026/11/24T10:00:00Z",      /* wrong separators */
        "2026-11-24T10-00-00Z",      /* wrong separators */
        "2O26-11-24T10:00:00Z",      /* a letter O */
        "2026-1a-24T10:00:00Z",      /* a letter in the month */
        "2026-11-24T10:00:0aZ",      /* a letter in the second */
        "+026-11-24T10:00:00Z",      /* a sign in the year */
        "2026-11-24T10:00:00.Z",     /* a dot without digits */
        "2026-11-24T10:00:00.",      /* truncated after the dot */
        "2026-11-24T10:00:00.12",    /* truncated fraction */
        "2026-11-24T10:00:00+01",    /* truncated offset */
        "2026-11-24T10:00:00+0100",  /* offset without colon */
        "2026-11-24T10:00:00+24:00", /* offset hour 24 */
        "2026-11-24T10:00:00+01:60", /* offset minute 60 */
        "2026-11-24T10:00:00+a1:00", /* letter in the offset */
        "2026-11-24T10:00:00ZZ",     /* trailing garbage */
        "2026-11-24T10:00:00Z ",     /* trailing space */
        " 2026-11-24T10:00:00Z",     /* leading space */
        "2026-11-24T10:00:00UTC",
        "2026-11-24T10:00:00,5Z", /* comma as decimal mark */
    };

    (void)state;
    check_time_errors(bad, VG_ARRAY_LEN(bad));
}

static void time_uses_only_the_given_length(void **state)
{
    const char *s = "2026-11-24T10:00:00Z trailing text";
    int64_t ns = 0;

    (void)state;
    assert_int_equal(vg_time_parse_rfc3339(s, 20, &ns), VG_OK);
    assert_int_equal(ns, T0);
    assert_int_equal(vg_time_parse_rfc3339(s, 19, &ns), VG_EPARSE);
    assert_int_equal(vg_time_parse_rfc3339(NULL, 0, &ns), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * CRI.
 */

static void cri_expect(const char *line, size_t len, int64_t ns, enum vg_stream stream,
                       bool partial, const char *msg, size_t msg_len)
{
    struct vg_runtime_line out;

    memset(&out, 0xA5, sizeof(out));
    assert_int_equal(vg_cri_decode(line, len, &out), VG_OK);
    assert_int_equal(out.time_ns, ns);
    assert_int_equal(out.stream, stream);
    assert_int_equal(out.partial, partial);
    assert_int_equal(out.msg_len, msg_len);
    assert_true(out.msg >= line && out.msg + out.msg_len == line + len);
    assert_memory_equal(out.msg, msg, msg_len);
    assert_null(out.attrs);
    assert_int_equal(out.attrs_len, 0);
}

static void cri_expect_errors(const char *const *cases, size_t n)
{
    struct vg_runtime_line out;
    size_t i;

    for (i = 0; i < n; i++) {
        memset(&out, 0, sizeof(out));
        if (vg_cri_decode(cases[i], strlen(cases[i]), &out) != VG_EPARSE)
            fail_msg("accepted: \"%s\"", cases[i]);
        assert_null(out.msg);
    }
}

static void cri_full_line(void **state)
{
    (void)state;
    cri_expect(LIT("2026-11-24T10:00:00.123456789Z stdout F hello world"), T0 + 123456789,
               VG_STREAM_STDOUT, false, LIT("hello world"));
    cri_expect(LIT("2026-11-24T10:00:00Z stderr F error: boom"), T0, VG_STREAM_STDERR, false,
               LIT("error: boom"));
}

static void cri_partial_line(void **state)
{
    (void)state;
    cri_expect(LIT("2026-11-24T10:00:00.5Z stdout P first half "), T0 + 500000000, VG_STREAM_STDOUT,
               true, LIT("first half "));
    cri_expect(LIT("2026-11-24T10:00:00.6Z stdout F second half"), T0 + 600000000, VG_STREAM_STDOUT,
               false, LIT("second half"));
}

static void cri_extra_tags_ignored(void **state)
{
    (void)state;
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F:x hello"), T0, VG_STREAM_STDOUT, false,
               LIT("hello"));
    cri_expect(LIT("2026-11-24T10:00:00Z stderr P:a:b:c hello"), T0, VG_STREAM_STDERR, true,
               LIT("hello"));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F: x"), T0, VG_STREAM_STDOUT, false, LIT("x"));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F:x"), T0, VG_STREAM_STDOUT, false, LIT(""));
}

static void cri_empty_content(void **state)
{
    (void)state;
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F"), T0, VG_STREAM_STDOUT, false, LIT(""));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F "), T0, VG_STREAM_STDOUT, false, LIT(""));
    cri_expect(LIT("2026-11-24T10:00:00Z stderr P "), T0, VG_STREAM_STDERR, true, LIT(""));
}

static void cri_crlf_kept(void **state)
{
    (void)state;
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F windows\r"), T0, VG_STREAM_STDOUT, false,
               LIT("windows\r"));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F \r"), T0, VG_STREAM_STDOUT, false, LIT("\r"));
}

static void cri_offset_time(void **state)
{
    (void)state;
    cri_expect(LIT("2026-11-24T11:00:00.123456789+01:00 stdout F crio"), T0 + 123456789,
               VG_STREAM_STDOUT, false, LIT("crio"));
    cri_expect(LIT("2026-11-24T04:59:59.999999999-05:00 stderr F crio"), T0 - 1, VG_STREAM_STDERR,
               false, LIT("crio"));
    cri_expect(LIT("2026-11-24T10:00:00.123456789+00:00 stdout F crio"), T0 + 123456789,
               VG_STREAM_STDOUT, false, LIT("crio"));
}

static void cri_fraction_lengths(void **state)
{
    static const struct time_case cases[] = {
        {"2026-11-24T10:00:00Z stdout F x", T0},
        {"2026-11-24T10:00:00.1Z stdout F x", T0 + 100000000},
        {"2026-11-24T10:00:00.12Z stdout F x", T0 + 120000000},
        {"2026-11-24T10:00:00.123Z stdout F x", T0 + 123000000},
        {"2026-11-24T10:00:00.1234Z stdout F x", T0 + 123400000},
        {"2026-11-24T10:00:00.12345Z stdout F x", T0 + 123450000},
        {"2026-11-24T10:00:00.123456Z stdout F x", T0 + 123456000},
        {"2026-11-24T10:00:00.1234567Z stdout F x", T0 + 123456700},
        {"2026-11-24T10:00:00.12345678Z stdout F x", T0 + 123456780},
        {"2026-11-24T10:00:00.123456789Z stdout F x", T0 + 123456789},
        {"2026-11-24T10:00:00.123456789123Z stdout F x", T0 + 123456789},
    };
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(cases); i++)
        cri_expect(cases[i].text, strlen(cases[i].text), cases[i].ns, VG_STREAM_STDOUT, false,
                   LIT("x"));
}

static void cri_content_byte_exact(void **state)
{
    (void)state;
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F bad \xff\xfe\xc3 utf-8"), T0, VG_STREAM_STDOUT,
               false, LIT("bad \xff\xfe\xc3 utf-8"));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F a\0b\0"), T0, VG_STREAM_STDOUT, false,
               LIT("a\0b\0"));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F  lead  and trail  "), T0, VG_STREAM_STDOUT, false,
               LIT(" lead  and trail  "));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F stdout F nested"), T0, VG_STREAM_STDOUT, false,
               LIT("stdout F nested"));
    cri_expect(LIT("2026-11-24T10:00:00Z stdout F \ttab"), T0, VG_STREAM_STDOUT, false,
               LIT("\ttab"));
}

static void cri_bad_timestamps(void **state)
{
    static const char *const bad[] = {
        "2026-13-24T10:00:00Z stdout F month 13",
        "2026-02-30T10:00:00Z stdout F Feb 30",
        "2026-11-24 10:00:00Z stdout F missing T",
        "2026-11-24X10:00:00Z stdout F wrong T",
        "2026-11-2aT10:00:00Z stdout F letters",
        "yesterday stdout F letters",
        "2026-11-24T10:00 stdout F truncated",
        "2026-11-24T10:00:00 stdout F no zone",
        "2026-11-24T10:00:00.Z stdout F empty fraction",
        "2026-11-24T10:00:00+0100 stdout F offset without colon",
    };

    (void)state;
    cri_expect_errors(bad, VG_ARRAY_LEN(bad));
}

static void cri_garbage_and_empty(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "hello world",
        "{\"log\":\"docker\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "\xff\xfe\xfd\xfc",
        "                                 ",
    };
    struct vg_runtime_line out;

    (void)state;
    cri_expect_errors(bad, VG_ARRAY_LEN(bad));
    assert_int_equal(vg_cri_decode(NULL, 0, &out), VG_EPARSE);
    assert_int_equal(vg_cri_decode(LIT("\0\0\0\0"), &out), VG_EPARSE);
}

static void cri_missing_fields(void **state)
{
    static const char *const bad[] = {
        "stdout F no time",
        " stdout F empty time",
        "2026-11-24T10:00:00Z",         /* time only */
        "2026-11-24T10:00:00Z ",        /* time and a space */
        "2026-11-24T10:00:00Z F x",     /* no stream */
        "2026-11-24T10:00:00Z stdout",  /* no tag */
        "2026-11-24T10:00:00Z stdout ", /* empty tag */
        "2026-11-24T10:00:00Z stdout  x",
        "2026-11-24T10:00:00Z  stdout F two spaces",
        "2026-11-24T10:00:00Z\tstdout F tab separator",
    };

    (void)state;
    cri_expect_errors(bad, VG_ARRAY_LEN(bad));
}

static void cri_bad_stream_and_tag(void **state)
{
    static const char *const bad[] = {
        "2026-11-24T10:00:00Z stdin F x",   "2026-11-24T10:00:00Z STDOUT F x",
        "2026-11-24T10:00:00Z stdoutF x",   "2026-11-24T10:00:00Z stdouts F x",
        "2026-11-24T10:00:00Z stdout X x",  "2026-11-24T10:00:00Z stdout f x",
        "2026-11-24T10:00:00Z stdout FF x", "2026-11-24T10:00:00Z stdout PF x",
        "2026-11-24T10:00:00Z stdout F\tx", "2026-11-24T10:00:00Z stdout Fx",
    };

    (void)state;
    cri_expect_errors(bad, VG_ARRAY_LEN(bad));
}

static void stream_names(void **state)
{
    (void)state;
    assert_string_equal(vg_stream_name(VG_STREAM_STDOUT), "stdout");
    assert_string_equal(vg_stream_name(VG_STREAM_STDERR), "stderr");
    assert_string_equal(vg_stream_name(VG_STREAM_OTHER), "other");
    assert_string_equal(vg_stream_name((enum vg_stream)7), "other");
}

/* Decodes every line of a fixture file with fn; all must be accepted. */
static size_t decode_fixture(const char *rel, bool docker)
{
    char path[512];
    struct vg_runtime_line out;
    struct vg_buf scratch;
    char *data, *p, *nl, *end;
    size_t n, lines = 0;
    long size;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", VG_SOURCE_DIR, rel);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    data = malloc((size_t)size);
    assert_non_null(data);
    n = fread(data, 1, (size_t)size, f);
    fclose(f);
    assert_int_equal(n, (size_t)size);
    vg_buf_init(&scratch);
    end = data + size;
    for (p = data; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        if (docker)
            assert_int_equal(vg_docker_decode(p, (size_t)(nl - p), &scratch, &out), VG_OK);
        else
            assert_int_equal(vg_cri_decode(p, (size_t)(nl - p), &out), VG_OK);
        lines++;
    }
    vg_buf_free(&scratch);
    free(data);
    return lines;
}

static void fixtures_decode(void **state)
{
    (void)state;
    assert_int_equal(decode_fixture("tests/fixtures/logs/cri/containerd.log", false), 8);
    assert_int_equal(decode_fixture("tests/fixtures/logs/cri/crio.log", false), 5);
    assert_int_equal(decode_fixture("tests/fixtures/logs/cri/edge.log", false), 5);
    assert_int_equal(decode_fixture("tests/fixtures/logs/docker/json-file.log", true), 5);
    assert_int_equal(decode_fixture("tests/fixtures/logs/docker/split.log", true), 3);
    assert_int_equal(decode_fixture("tests/fixtures/logs/docker/edge.log", true), 4);
}

/* ------------------------------------------------------------------------
 * Docker json-file.
 */

static int dk_setup(void **state)
{
    struct vg_buf *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return -1;
    vg_buf_init(b);
    *state = b;
    return 0;
}

static int dk_teardown(void **state)
{
    struct vg_buf *b = *state;

    vg_buf_free(b);
    free(b);
    return 0;
}

static struct vg_runtime_line dk_ok(struct vg_buf *b, const char *line, size_t len)
{
    struct vg_runtime_line out;

    memset(&out, 0xA5, sizeof(out));
    assert_int_equal(vg_docker_decode(line, len, b, &out), VG_OK);
    assert_ptr_equal(out.msg, b->data);
    assert_int_equal(out.msg_len, b->len);
    assert_int_equal(b->data[b->len], '\0');
    return out;
}

static void dk_msg(struct vg_buf *b, const char *line, size_t len, const char *msg, size_t msg_len,
                   bool partial)
{
    struct vg_runtime_line out = dk_ok(b, line, len);

    assert_int_equal(out.msg_len, msg_len);
    assert_memory_equal(out.msg, msg, msg_len);
    assert_int_equal(out.partial, partial);
}

static void dk_errors(struct vg_buf *b, const char *const *cases, size_t n)
{
    struct vg_runtime_line out;
    size_t i;

    for (i = 0; i < n; i++) {
        memset(&out, 0, sizeof(out));
        if (vg_docker_decode(cases[i], strlen(cases[i]), b, &out) != VG_EPARSE)
            fail_msg("accepted: %s", cases[i]);
        assert_null(out.msg);
    }
}

static void docker_normal_line(void **state)
{
    struct vg_runtime_line out = dk_ok(*state, LIT("{\"log\":\"hello\\n\",\"stream\":\"stderr\","
                                                   "\"time\":\"2026-11-24T10:00:00.123456789Z\"}"));

    assert_int_equal(out.time_ns, T0 + 123456789);
    assert_int_equal(out.stream, VG_STREAM_STDERR);
    assert_false(out.partial);
    assert_int_equal(out.msg_len, 5);
    assert_string_equal(out.msg, "hello");
    assert_null(out.attrs);
    assert_int_equal(out.attrs_len, 0);
    out = dk_ok(*state, LIT("{\"log\":\"out\\n\",\"stream\":\"stdout\","
                            "\"time\":\"2026-11-24T11:00:00+01:00\"}"));
    assert_int_equal(out.stream, VG_STREAM_STDOUT);
    assert_int_equal(out.time_ns, T0);
}

/* dockerd cuts a line longer than 16 KiB into chunks without "\n". */
static void docker_16k_split(void **state)
{
    static const size_t chunk = 16 * 1024;
    struct vg_buf line, joined;
    struct vg_runtime_line out;
    size_t i, k;

    vg_buf_init(&line);
    vg_buf_init(&joined);
    for (k = 0; k < 3; k++) {
        vg_buf_reset(&line);
        assert_int_equal(vg_buf_puts(&line, "{\"log\":\""), VG_OK);
        for (i = 0; i < (k < 2 ? chunk : 100); i++)
            assert_int_equal(vg_buf_putc(&line, (char)('a' + (i + k) % 26)), VG_OK);
        assert_int_equal(vg_buf_printf(&line,
                                       "%s\",\"stream\":\"stdout\","
                                       "\"time\":\"2026-11-24T10:00:00.00000000%zuZ\"}",
                                       k < 2 ? "" : "\\n", k + 1),
                         VG_OK);
        out = dk_ok(*state, line.data, line.len);
        assert_int_equal(out.partial, k < 2);
        assert_int_equal(out.msg_len, k < 2 ? chunk : 100);
        assert_int_equal(out.time_ns, T0 + (int64_t)k + 1);
        assert_int_equal(out.msg[0], (char)('a' + k % 26));
        assert_int_equal(vg_buf_append(&joined, out.msg, out.msg_len), VG_OK);
    }
    assert_int_equal(joined.len, 2 * chunk + 100);
    vg_buf_free(&line);
    vg_buf_free(&joined);
}

static void docker_attrs_nested(void **state)
{
    static const char attrs[] = "{\"tag\":\"web\",\"labels\":{\"a\":{\"b\":[1,{\"c\":\"}\\\"]\"}]},"
                                "\"e\":[]},\"n\":-1.5e-3,\"t\":true,\"f\":false,\"z\":null}";
    struct vg_buf line;
    struct vg_runtime_line out;

    vg_buf_init(&line);
    assert_int_equal(vg_buf_printf(&line,
                                   "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"attrs\":%s,"
                                   "\"time\":\"2026-11-24T10:00:00Z\"}",
                                   attrs),
                     VG_OK);
    out = dk_ok(*state, line.data, line.len);
    assert_int_equal(out.attrs_len, sizeof(attrs) - 1);
    assert_memory_equal(out.attrs, attrs, sizeof(attrs) - 1);
    assert_true(out.attrs > line.data && out.attrs + out.attrs_len < line.data + line.len);
    vg_buf_free(&line);
}

static void docker_attrs_any_value(void **state)
{
    static const char *const values[] = {"[1,2,[3]]", "\"text\"", "null", "0",
                                         "-12.5E+7",  "{}",       "[]",   "true"};
    struct vg_buf line;
    struct vg_runtime_line out;
    size_t i;

    vg_buf_init(&line);
    for (i = 0; i < VG_ARRAY_LEN(values); i++) {
        vg_buf_reset(&line);
        assert_int_equal(vg_buf_printf(&line,
                                       "{\"time\":\"2026-11-24T10:00:00Z\",\"attrs\": %s ,"
                                       "\"log\":\"x\"}",
                                       values[i]),
                         VG_OK);
        out = dk_ok(*state, line.data, line.len);
        assert_int_equal(out.attrs_len, strlen(values[i]));
        assert_memory_equal(out.attrs, values[i], out.attrs_len);
    }
    vg_buf_free(&line);
}

static void docker_keys_reordered_and_spaced(void **state)
{
    struct vg_runtime_line out =
        dk_ok(*state, LIT(" \t{ \"time\" :\t\"2026-11-24T10:00:00Z\" ,\r\n \"stream\" : \"stderr\","
                          " \"log\" : \"x\\n\" } \t"));

    assert_int_equal(out.time_ns, T0);
    assert_int_equal(out.stream, VG_STREAM_STDERR);
    assert_string_equal(out.msg, "x");
    assert_false(out.partial);
}

static void docker_unknown_keys_skipped(void **state)
{
    struct vg_runtime_line out =
        dk_ok(*state, LIT("{\"a\":1,\"b\":[true,false,null,{\"log\":\"not this\"}],\"c\":\"s\\\"\","
                          "\"log\":\"this\\n\",\"d\":{\"time\":\"bad\"},\"e\":-0.0e0,"
                          "\"time\":\"2026-11-24T10:00:00Z\",\"f\":{}}"));

    assert_string_equal(out.msg, "this");
    assert_int_equal(out.stream, VG_STREAM_OTHER);
}

static void docker_simple_escapes(void **state)
{
    dk_msg(*state,
           LIT("{\"log\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t end\\n\","
               "\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("q\" b\\ s/ \b\f\n\r\t end"), false);
}

static void docker_unicode_escapes(void **state)
{
    dk_msg(*state,
           LIT("{\"log\":\"\\u0041\\u00e9\\u00E9\\u20ac\\uFFFD\\u003chtml\\u003e\\u001b\","
               "\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("A\xc3\xa9\xc3\xa9\xe2\x82\xac\xef\xbf\xbd<html>\x1b"), true);
}

static void docker_surrogate_pairs(void **state)
{
    dk_msg(*state,
           LIT("{\"log\":\"\\ud83d\\ude00 \\uD834\\uDD1E \\udbff\\udfff\","
               "\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("\xf0\x9f\x98\x80 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf"), true);
}

static void docker_lone_surrogates(void **state)
{
    /* a high half at the end, before plain text, before another high half,
     * and a low half on its own */
    dk_msg(*state,
           LIT("{\"log\":\"a\\ud800|\\ud800b|\\ud800\\ud83d\\ude00|\\udc00|\\ud800\\u0041|"
               "\\ud800\",\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("a\xef\xbf\xbd|\xef\xbf\xbd"
               "b|\xef\xbf\xbd\xf0\x9f\x98\x80|\xef\xbf\xbd|\xef\xbf\xbd"
               "A|\xef\xbf\xbd"),
           true);
}

static void docker_nul_escape(void **state)
{
    dk_msg(*state, LIT("{\"log\":\"a\\u0000b\\u0000\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("a\0b\0"), false);
}

static void docker_raw_bytes_kept(void **state)
{
    dk_msg(*state, LIT("{\"log\":\"\xff\xfe\t\x01 raw\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("\xff\xfe\t\x01 raw"), false);
}

static void docker_one_newline_removed(void **state)
{
    dk_msg(*state, LIT("{\"log\":\"a\\n\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"), LIT("a\n"),
           false);
    dk_msg(*state, LIT("{\"log\":\"\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"), LIT(""), false);
    dk_msg(*state, LIT("{\"log\":\"\",\"time\":\"2026-11-24T10:00:00Z\"}"), LIT(""), true);
    dk_msg(*state, LIT("{\"log\":\"a\\r\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"), LIT("a\r"),
           false);
}

static void docker_missing_or_unknown_stream(void **state)
{
    struct vg_runtime_line out =
        dk_ok(*state, LIT("{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"));

    assert_int_equal(out.stream, VG_STREAM_OTHER);
    out = dk_ok(*state,
                LIT("{\"log\":\"x\\n\",\"stream\":\"stdin\",\"time\":\"2026-11-24T10:00:00Z\"}"));
    assert_int_equal(out.stream, VG_STREAM_OTHER);
    out = dk_ok(*state, LIT("{\"log\":\"x\\n\",\"stream\":\"std\\u006Fut\","
                            "\"time\":\"2026-11-24T10:00:00Z\"}"));
    assert_int_equal(out.stream, VG_STREAM_STDOUT);
}

static void docker_escaped_keys(void **state)
{
    struct vg_runtime_line out = dk_ok(
        *state, LIT("{\"l\\u006fg\":\"x\\n\",\"\\u0074ime\":\"2026-11-24T10:00:00\\u005a\"}"));

    assert_string_equal(out.msg, "x");
    assert_int_equal(out.time_ns, T0);
}

static void docker_missing_or_bad_time(void **state)
{
    static const char *const bad[] = {
        "{\"log\":\"x\\n\",\"stream\":\"stdout\"}",
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"\"}",
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2026-13-24T10:00:00Z\"}",
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2026-02-30T10:00:00Z\"}",
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":1795514400}",
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":null}",
    };

    dk_errors(*state, bad, VG_ARRAY_LEN(bad));
}

static void docker_missing_or_bad_log(void **state)
{
    static const char *const bad[] = {
        "{\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":null,\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":42,\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":[\"x\"],\"stream\":\"stdout\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"x\",\"stream\":1,\"time\":\"2026-11-24T10:00:00Z\"}",
        "{}",
    };

    dk_errors(*state, bad, VG_ARRAY_LEN(bad));
}

static void docker_not_an_object(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "[]",
        "[{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\"}]",
        "\"log\"",
        "null",
        "42",
        "2026-11-24T10:00:00Z stdout F cri line",
        "{log:\"x\",time:\"2026-11-24T10:00:00Z\"}",
        "{'log':'x','time':'2026-11-24T10:00:00Z'}",
    };
    struct vg_runtime_line out;

    dk_errors(*state, bad, VG_ARRAY_LEN(bad));
    assert_int_equal(vg_docker_decode(NULL, 0, *state, &out), VG_EPARSE);
}

/* Every strict prefix of a valid line is refused, and none reads past it. */
static void docker_truncated(void **state)
{
    static const char line[] = "{\"log\":\"a\\\"b\\u00e9\\ud83d\\ude00\\n\",\"stream\":\"stdout\","
                               "\"attrs\":{\"k\":[1,-2.5e+3,true,null,\"v\"]},"
                               "\"time\":\"2026-11-24T10:00:00Z\"}";
    struct vg_runtime_line out;
    char *copy;
    size_t n;

    for (n = 0; n < sizeof(line) - 1; n++) {
        /* an exact-size heap copy lets the sanitizer see any overread */
        copy = malloc(n > 0 ? n : 1);
        assert_non_null(copy);
        memcpy(copy, line, n);
        if (vg_docker_decode(copy, n, *state, &out) != VG_EPARSE)
            fail_msg("prefix of %zu bytes accepted", n);
        free(copy);
    }
    dk_ok(*state, line, sizeof(line) - 1);
}

static void docker_trailing_garbage(void **state)
{
    static const char *const bad[] = {
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\"}x",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\"}}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\"} {}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\",}",
        "{\"log\":\"x\\n\",,\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"x\\n\" \"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\" \"x\\n\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":[1,]}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":01}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":1.}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":tru}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":{\"k\"}}",
        "{\"log\":\"x\\n\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":[}",
    };

    dk_errors(*state, bad, VG_ARRAY_LEN(bad));
}

static void docker_invalid_escapes(void **state)
{
    static const char *const bad[] = {
        "{\"log\":\"\\x41\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"\\U0041\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"\\u12G4\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"\\u12\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"\\ud83d\\uZZZZ\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"\\'\",\"time\":\"2026-11-24T10:00:00Z\"}",
        "{\"log\":\"x\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":\"\\q\"}",
        "{\"log\":\"x\",\"time\":\"2026-11-24T10:00:00Z\",\"a\":\"\\u00\"}",
    };

    dk_errors(*state, bad, VG_ARRAY_LEN(bad));
}

static void docker_deep_nesting(void **state)
{
    struct vg_buf line;
    struct vg_runtime_line out;
    size_t depth, i;

    vg_buf_init(&line);
    for (depth = 100; depth <= 100000; depth *= 1000) {
        vg_buf_reset(&line);
        assert_int_equal(vg_buf_puts(&line, "{\"log\":\"x\",\"time\":\"2026-11-24T10:00:00Z\","
                                            "\"attrs\":"),
                         VG_OK);
        for (i = 0; i < depth; i++)
            assert_int_equal(vg_buf_putc(&line, '['), VG_OK);
        for (i = 0; i < depth; i++)
            assert_int_equal(vg_buf_putc(&line, ']'), VG_OK);
        assert_int_equal(vg_buf_putc(&line, '}'), VG_OK);
        /* moderate nesting is fine; hostile depth is refused, not recursed */
        assert_int_equal(vg_docker_decode(line.data, line.len, *state, &out),
                         depth == 100 ? VG_OK : VG_EPARSE);
    }
    vg_buf_free(&line);
}

static void docker_scratch_reused(void **state)
{
    struct vg_buf *b = *state;
    struct vg_runtime_line out;

    dk_msg(b, LIT("{\"log\":\"a longer first message\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("a longer first message"), false);
    dk_msg(b, LIT("{\"log\":\"b\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"), LIT("b"), false);
    /* a repeated key keeps the last value */
    dk_msg(b, LIT("{\"log\":\"one\",\"log\":\"two\\n\",\"time\":\"2026-11-24T10:00:00Z\"}"),
           LIT("two"), false);
    /* a failed decode leaves the scratch empty, never half a message */
    assert_int_equal(vg_docker_decode(LIT("{\"log\":\"c\\n\",\"time\":\"bad\"}"), b, &out),
                     VG_EPARSE);
    assert_int_equal(b->len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_known_values),
        cmocka_unit_test(time_offsets_cross_midnight),
        cmocka_unit_test(time_fraction_digits),
        cmocka_unit_test(time_leap_years),
        cmocka_unit_test(time_range_limits),
        cmocka_unit_test(time_leap_second_and_case),
        cmocka_unit_test(time_rejects_malformed),
        cmocka_unit_test(time_uses_only_the_given_length),
        cmocka_unit_test(cri_full_line),
        cmocka_unit_test(cri_partial_line),
        cmocka_unit_test(cri_extra_tags_ignored),
        cmocka_unit_test(cri_empty_content),
        cmocka_unit_test(cri_crlf_kept),
        cmocka_unit_test(cri_offset_time),
        cmocka_unit_test(cri_fraction_lengths),
        cmocka_unit_test(cri_content_byte_exact),
        cmocka_unit_test(cri_bad_timestamps),
        cmocka_unit_test(cri_garbage_and_empty),
        cmocka_unit_test(cri_missing_fields),
        cmocka_unit_test(cri_bad_stream_and_tag),
        cmocka_unit_test(stream_names),
        cmocka_unit_test(fixtures_decode),
        cmocka_unit_test_setup_teardown(docker_normal_line, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_16k_split, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_attrs_nested, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_attrs_any_value, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_keys_reordered_and_spaced, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_unknown_keys_skipped, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_simple_escapes, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_unicode_escapes, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_surrogate_pairs, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_lone_surrogates, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_nul_escape, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_raw_bytes_kept, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_one_newline_removed, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_missing_or_unknown_stream, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_escaped_keys, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_missing_or_bad_time, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_missing_or_bad_log, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_not_an_object, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_truncated, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_trailing_garbage, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_invalid_escapes, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_deep_nesting, dk_setup, dk_teardown),
        cmocka_unit_test_setup_teardown(docker_scratch_reused, dk_setup, dk_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

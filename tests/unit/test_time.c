/*
 * test_time.c - vg_time_parse: the timestamps of nginx, Apache, Go, Java,
 * Python, klog and syslog through strptime formats and the automatic
 * reader, epoch numbers, years and dates guessed around now (the year
 * boundary), zones, and dates that do not exist.
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

/* 2026-12-02T14:05:06Z, a Wednesday */
#define T1   INT64_C(1796220306)
#define T1NS (T1 * VG_NS_PER_SEC)
#define HOUR (INT64_C(3600) * VG_NS_PER_SEC)
#define DAY  (24 * HOUR)
/* a few hours after T1: "now" for texts without a year */
#define NOW (T1NS + 5 * HOUR)

struct tcase {
    const char *fmt; /* NULL: automatic */
    const char *text;
    int64_t ns;
};

static void init_format(struct vg_time_format *f, const char *fmt)
{
    struct vg_error err = {0};

    if (vg_time_format_init(f, fmt, &err) != VG_OK)
        fail_msg("format '%s': %s", fmt != NULL ? fmt : "(null)", err.msg);
}

/* Parses text with fmt (offset 0), now as given. */
static int parse_at(const char *fmt, const char *text, int64_t now, int64_t *ns)
{
    struct vg_time_format f;
    char *copy = malloc(strlen(text) + 1);
    int rc;

    /* an exact-size copy without the terminator in range: ASan sees overreads */
    assert_non_null(copy);
    memcpy(copy, text, strlen(text));
    init_format(&f, fmt);
    rc = vg_time_parse(&f, copy, strlen(text), now, ns);
    free(copy);
    return rc;
}

static void check_cases(const struct tcase *cases, size_t n, int64_t now)
{
    int64_t ns;
    size_t i;

    for (i = 0; i < n; i++) {
        ns = -42;
        if (parse_at(cases[i].fmt, cases[i].text, now, &ns) != VG_OK)
            fail_msg("refused: '%s' with '%s'", cases[i].text,
                     cases[i].fmt != NULL ? cases[i].fmt : "auto");
        if (ns != cases[i].ns)
            fail_msg("'%s' with '%s': got %lld, want %lld (diff %lld)", cases[i].text,
                     cases[i].fmt != NULL ? cases[i].fmt : "auto", (long long)ns,
                     (long long)cases[i].ns, (long long)(ns - cases[i].ns));
    }
}

static void check_refused(const struct tcase *cases, size_t n, int64_t now)
{
    int64_t ns;
    size_t i;

    for (i = 0; i < n; i++) {
        ns = -42;
        if (parse_at(cases[i].fmt, cases[i].text, now, &ns) != VG_EPARSE)
            fail_msg("accepted: '%s' with '%s' as %lld", cases[i].text,
                     cases[i].fmt != NULL ? cases[i].fmt : "auto", (long long)ns);
        assert_int_equal(ns, -42);
    }
}

/* ------------------------------------------------------------------------
 * The layouts of common writers, through their formats and automatically.
 */

static void nginx_and_apache(void **state)
{
    static const struct tcase cases[] = {
        {"%d/%b/%Y:%H:%M:%S %z", "02/Dec/2026:14:05:06 +0000", T1NS},
        {"%d/%b/%Y:%H:%M:%S %z", "02/Dec/2026:15:05:06 +0100", T1NS},
        {"%d/%b/%Y:%H:%M:%S %z", "02/Dec/2026:09:05:06 -0500", T1NS},
        {"%d/%b/%Y:%H:%M:%S %z", "02/dec/2026:14:05:06 +00:00", T1NS},
        {NULL, "02/Dec/2026:14:05:06 +0000", T1NS},
        {NULL, "02/Dec/2026:16:35:06 +0230", T1NS},
        /* nginx's $time_iso8601 */
        {NULL, "2026-12-02T15:05:06+01:00", T1NS},
    };

    (void)state;
    check_cases(cases, VG_ARRAY_LEN(cases), NOW);
}

static void go_java_python(void **state)
{
    static const struct tcase cases[] = {
        /* Go: RFC3339Nano drops trailing zeros, and the fraction when zero */
        {NULL, "2026-12-02T14:05:06.123456789Z", T1NS + 123456789},
        {NULL, "2026-12-02T14:05:06.1Z", T1NS + 100000000},
        {NULL, "2026-12-02T14:05:06Z", T1NS},
        {"%Y-%m-%dT%H:%M:%S.%f%z", "2026-12-02T14:05:06.123456789Z", T1NS + 123456789},
        {"%Y-%m-%dT%H:%M:%S.%f%z", "2026-12-02T14:05:06Z", T1NS},
        /* Go's time.Time.String() and log package */
        {NULL, "2026-12-02 14:05:06.5 +0000 UTC", T1NS + 500000000},
        {NULL, "2026-12-02 16:05:06.5 +0200 EET", T1NS + 500000000},
        {NULL, "2026/12/02 14:05:06", T1NS},
        {NULL, "2026/12/02 14:05:06.000123", T1NS + 123000},
        /* Java (logback, log4j ISO8601) and Python logging: comma, no zone */
        {NULL, "2026-12-02 14:05:06,123", T1NS + 123000000},
        {"%Y-%m-%d %H:%M:%S,%L", "2026-12-02 14:05:06,123", T1NS + 123000000},
        {"%Y-%m-%d %H:%M:%S.%L", "2026-12-02 14:05:06,123", T1NS + 123000000},
        {"%F %T,%L", "2026-12-02 14:05:06,007", T1NS + 7000000},
        {NULL, "2026-12-02T14:05:06.123+0000", T1NS + 123000000},
        {NULL, "2026-12-02T14:05:06.123+00", T1NS + 123000000},
        /* Tomcat, asctime, HTTP dates */
        {NULL, "02-Dec-2026 14:05:06.123", T1NS + 123000000},
        {NULL, "Wed Dec  2 14:05:06 2026", T1NS},
        {NULL, "Wed, 02 Dec 2026 14:05:06 GMT", T1NS},
        {NULL, "Wed, 02 Dec 2026 15:05:06 +0100", T1NS},
        {"%A, %d %B %Y %I:%M:%S %p", "Wednesday, 02 December 2026 02:05:06 PM", T1NS},
        {"%d.%m.%y %l:%M %p", "02.12.26  2:05 pm", T1NS - 6 * VG_NS_PER_SEC},
        {"%d.%m.%y %I:%M %p", "02.12.26 12:05 AM", T1NS - 14 * HOUR - 6 * VG_NS_PER_SEC},
        /* date alone, no seconds, trailing spaces */
        {NULL, "2026-12-02", T1NS - (14 * 3600 + 5 * 60 + 6) * VG_NS_PER_SEC},
        {NULL, "2026-12-02 14:05", T1NS - 6 * VG_NS_PER_SEC},
        {NULL, "2026-12-02 14:05:06  ", T1NS},
        {"%j %Y %T", "336 2026 14:05:06", T1NS},
        {"%s", "1796220306", T1NS},
        {"%s.%f", "1796220306.25", T1NS + 250000000},
        {"%Y%m%d%H%M%S", "20261202140506", T1NS},
        {"%Y-%m-%d %H:%M:%S %Z", "2026-12-02 14:05:06 UTC", T1NS},
        {"%% %Y-%m-%d%n%T", "% 2026-12-02 \t14:05:06", T1NS},
    };

    (void)state;
    check_cases(cases, VG_ARRAY_LEN(cases), NOW);
}

static void epoch_numbers(void **state)
{
    static const struct tcase cases[] = {
        {NULL, "1796220306", T1NS},
        {NULL, "1796220306.5", T1NS + 500000000},
        {NULL, "1796220306123", T1NS + 123000000},
        {NULL, "1796220306123.5", T1NS + 123500000},
        {NULL, "1796220306123456", T1NS + 123456000},
        {NULL, "1796220306123456789", T1NS + 123456789},
        {NULL, "0", 0},
        {NULL, "-1.5", -1500000000},
        {"epoch", "1796220306", T1NS},
        {"epoch", "1796220306.123456789", T1NS + 123456789},
        {"epoch_ms", "1796220306123", T1NS + 123000000},
        {"epoch_ms", "1796220306", T1 * VG_NS_PER_MS},
        {"epoch_us", "1796220306123456", T1NS + 123456000},
        {"epoch_ns", "1796220306123456789", T1NS + 123456789},
        {"epoch_ns", "9223372036854775807", INT64_MAX},
    };
    static const struct tcase bad[] = {
        {"epoch", "", 0},
        {"epoch", "-", 0},
        {"epoch", "12a", 0},
        {"epoch", "1.", 0},
        {"epoch", "9223372037", 0}, /* beyond int64 nanoseconds */
        {"epoch_ns", "9223372036854775808", 0},
        {"epoch_ms", "1e3", 0},
        {NULL, "99999999999999999999999", 0},
    };

    (void)state;
    check_cases(cases, VG_ARRAY_LEN(cases), NOW);
    check_refused(bad, VG_ARRAY_LEN(bad), NOW);
}

/* ------------------------------------------------------------------------
 * Texts without a year or a date.
 */

static void klog_and_syslog_take_the_year_around_now(void **state)
{
    static const struct tcase cases[] = {
        {"%m%d %H:%M:%S.%f", "1202 14:05:06.123456", T1NS + 123456000},
        {"%b %e %H:%M:%S", "Dec  2 14:05:06", T1NS},
        {"%b %e %H:%M:%S", "Dec 2 14:05:06", T1NS},
        {NULL, "Dec  2 14:05:06", T1NS},
        {NULL, "Dec  2 14:05:06.250", T1NS + 250000000},
        /* earlier in the year, and an hour ahead of now (clock skew) */
        {NULL, "Jan  2 15:04:05", INT64_C(1767366245) * VG_NS_PER_SEC},
        {NULL, "Dec  2 20:05:06", T1NS + 6 * HOUR},
        /* later in the year than now: last year's */
        {NULL, "Dec 24 00:00:00", (INT64_C(1766534400)) * VG_NS_PER_SEC},
        {"%a %b %e %T", "Wed Dec  2 14:05:06", T1NS},
    };

    (void)state;
    check_cases(cases, VG_ARRAY_LEN(cases), NOW);
}

static void the_year_boundary(void **state)
{
    /* 2026-12-31T23:59:59Z and 2027-01-01T00:00:01Z */
    const int64_t dec31 = INT64_C(1798761599) * VG_NS_PER_SEC;
    const int64_t jan01 = INT64_C(1798761601) * VG_NS_PER_SEC;
    struct tcase cases[] = {
        {"%m%d %H:%M:%S", "1231 23:59:59", dec31},
        {"%m%d %H:%M:%S", "0101 00:00:01", jan01},
    };

    (void)state;
    /* read just after midnight: December's line is last year's */
    check_cases(cases, VG_ARRAY_LEN(cases), jan01 + 10 * VG_NS_PER_SEC);
    /* read just before: a writer a little ahead writes next year's */
    check_cases(cases, VG_ARRAY_LEN(cases), dec31 - 10 * VG_NS_PER_SEC);
    /* read months later, the lines are still of their year */
    check_cases(cases, VG_ARRAY_LEN(cases), jan01 + 200 * DAY);
}

static void february_29_without_a_year(void **state)
{
    /* 2028-03-10: the last February 29 was this year's */
    const int64_t in2028 = INT64_C(1836259200) * VG_NS_PER_SEC;
    const struct tcase ok[] = {
        {"%b %e %H:%M:%S", "Feb 29 12:00:00", INT64_C(1835438400) * VG_NS_PER_SEC},
    };
    const struct tcase bad[] = {
        {"%b %e %H:%M:%S", "Feb 29 12:00:00", 0},
        {"%b %e %H:%M:%S", "Feb 30 12:00:00", 0},
    };

    (void)state;
    check_cases(ok, 1, in2028);
    /* in 2027, no year around now has it */
    check_refused(bad, 2, T1NS + 100 * DAY);
    check_refused(bad + 1, 1, in2028);
}

static void time_of_day_alone(void **state)
{
    struct tcase cases[] = {
        {"%H:%M:%S", "14:05:06", T1NS},
        /* a minute before midnight, read just after it: yesterday's */
        {"%H:%M:%S", "23:59:00", T1NS + (9 * 3600 + 53 * 60 + 54) * VG_NS_PER_SEC},
    };

    (void)state;
    check_cases(cases, 1, T1NS + 60 * VG_NS_PER_SEC);
    check_cases(cases + 1, 1, T1NS + (9 * 3600 + 55 * 60) * VG_NS_PER_SEC);
}

/* ------------------------------------------------------------------------
 * Zones and offsets.
 */

static void zones(void **state)
{
    static const struct tcase cases[] = {
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 14:05:06Z", T1NS},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 14:05:06z", T1NS},
        {"%Y-%m-%d %H:%M:%S %z", "2026-12-02 14:05:06 UTC", T1NS},
        {"%Y-%m-%d %H:%M:%S %z", "2026-12-02 14:05:06 gmt", T1NS},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 19:35:06+05:30", T1NS},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 19:35:06+0530", T1NS},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 10:05:06-04", T1NS},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-03 03:50:06+13:45", T1NS},
        /* crossing midnight and the year */
        {NULL, "2027-01-01T01:00:00+01:00", INT64_C(1798761600) * VG_NS_PER_SEC},
        {NULL, "2026-12-31T19:00:00-05:00", INT64_C(1798761600) * VG_NS_PER_SEC},
    };
    static const struct tcase bad[] = {
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 14:05:06+24:00", 0},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 14:05:06+01:60", 0},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 14:05:06+1", 0},
        {"%Y-%m-%d %H:%M:%S%z", "2026-12-02 14:05:06+01:5", 0},
        {"%Y-%m-%d %H:%M:%S %Z", "2026-12-02 14:05:06 PST", 0},
        {NULL, "2026-12-02T14:05:06 +01:00junk", 0},
    };

    (void)state;
    check_cases(cases, VG_ARRAY_LEN(cases), NOW);
    check_refused(bad, VG_ARRAY_LEN(bad), NOW);
}

static void offset_for_texts_without_a_zone(void **state)
{
    struct vg_time_format f;
    int32_t off = 0;
    int64_t ns = 0;

    (void)state;
    assert_int_equal(vg_time_offset_parse("+01:00", &off), VG_OK);
    assert_int_equal(off, 3600);
    assert_int_equal(vg_time_offset_parse("-0530", &off), VG_OK);
    assert_int_equal(off, -19800);
    assert_int_equal(vg_time_offset_parse("UTC", &off), VG_OK);
    assert_int_equal(off, 0);
    assert_int_equal(vg_time_offset_parse("+01:00 ", &off), VG_EPARSE);
    assert_int_equal(vg_time_offset_parse("Europe/Paris", &off), VG_EPARSE);
    init_format(&f, "%Y-%m-%d %H:%M:%S");
    f.offset_s = 3600;
    assert_int_equal(vg_time_parse(&f, "2026-12-02 15:05:06", 19, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
    /* a zone in the text wins; epoch numbers have none to apply */
    init_format(&f, NULL);
    f.offset_s = 3600;
    assert_int_equal(vg_time_parse(&f, "2026-12-02 15:05:06", 19, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
    assert_int_equal(vg_time_parse(&f, "2026-12-02 14:05:06Z", 20, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
    assert_int_equal(vg_time_parse(&f, "1796220306", 10, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
    /* a syslog line in a zone ahead of UTC, read at NOW: still today's */
    f.offset_s = 10 * 3600;
    assert_int_equal(vg_time_parse(&f, "Dec  3 00:05:06", 15, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
}

/* ------------------------------------------------------------------------
 * What must be refused.
 */

static void impossible_dates_and_fields(void **state)
{
    static const struct tcase bad[] = {
        {NULL, "2026-02-29 00:00:00", 0},
        {NULL, "2026-04-31T00:00:00Z", 0},
        {NULL, "2026-13-01T00:00:00Z", 0},
        {NULL, "2026-00-10T00:00:00Z", 0},
        {NULL, "2026-12-00T00:00:00Z", 0},
        {NULL, "2026-12-02T24:00:00Z", 0},
        {NULL, "2026-12-02T14:60:00Z", 0},
        {NULL, "2026-12-02T14:05:61Z", 0},
        {NULL, "2026-12-02T14:05:06.Z", 0},
        {NULL, "31/Feb/2026:14:05:06 +0000", 0},
        {NULL, "Thu, 02 Dec 2026 14:05:06 GMT", 0}, /* a Wednesday */
        {"%j %Y", "366 2026", 0},
        {"%d/%b/%Y", "02/Dcm/2026", 0},
        {"%d/%b/%Y", "02/Decx/2026", 0},
        {"%I:%M %p", "13:00 PM", 0},
        {"%I:%M %p", "00:00 AM", 0},
        {"%I:%M %p", "11:00 XM", 0},
        {"%Y-%m-%d", "2026-12-02x", 0},
        {"%Y-%m-%d", "2026-12", 0},
        {"%Y-%m-%d", "", 0},
        {"%Y", "10000", 0},
        {NULL, "", 0},
        {NULL, "   ", 0},
        {NULL, "hello", 0},
        {NULL, "2026-12-02T14:05:06Zjunk", 0},
        {NULL, "Dec  2 14:05", 0},
        {NULL, "1796220306 x", 0},
    };

    (void)state;
    check_refused(bad, VG_ARRAY_LEN(bad), NOW);
}

static void formats_checked_once(void **state)
{
    static const char *const bad[] = {"%Q", "%Y-%m-%d %", "plain text", "%%"};
    struct vg_time_format f;
    struct vg_error err = {0};
    char longfmt[VG_TIME_FORMAT_MAX + 8];
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        if (vg_time_format_init(&f, bad[i], &err) != VG_ECONFIG)
            fail_msg("accepted format '%s'", bad[i]);
        assert_non_null(strstr(err.msg, "time_format"));
    }
    memset(longfmt, 'x', sizeof(longfmt));
    memcpy(longfmt, "%Y", 2);
    longfmt[sizeof(longfmt) - 1] = '\0';
    assert_int_equal(vg_time_format_init(&f, longfmt, &err), VG_ECONFIG);
    assert_int_equal(vg_time_format_init(&f, "epoch_ms", &err), VG_OK);
    assert_int_equal(f.mode, VG_TIME_EPOCH_MS);
    assert_int_equal(vg_time_format_init(&f, "", &err), VG_OK);
    assert_int_equal(f.mode, VG_TIME_AUTO);
    assert_int_equal(vg_time_format_init(&f, "rfc3339", &err), VG_OK);
    assert_int_equal(f.mode, VG_TIME_AUTO);
    assert_int_equal(vg_time_format_init(&f, "%d/%b/%Y:%H:%M:%S %z", &err), VG_OK);
    assert_int_equal(f.mode, VG_TIME_STRPTIME);
}

/* Only len bytes are read: a valid time followed by more bytes in memory. */
static void reads_only_the_given_length(void **state)
{
    struct vg_time_format f;
    int64_t ns = 0;

    (void)state;
    init_format(&f, NULL);
    assert_int_equal(vg_time_parse(&f, "1796220306999", 10, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
    assert_int_equal(vg_time_parse(&f, "2026-12-02T14:05:06Zjunk", 20, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
    init_format(&f, "%d/%b/%Y:%H:%M:%S %z");
    assert_int_equal(vg_time_parse(&f, "02/Dec/2026:14:05:06 +0000 x", 26, NOW, &ns), VG_OK);
    assert_int_equal(ns, T1NS);
    assert_int_equal(vg_time_parse(&f, "02/Dec/2026:14:05:06 +0000", 20, NOW, &ns), VG_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nginx_and_apache),
        cmocka_unit_test(go_java_python),
        cmocka_unit_test(epoch_numbers),
        cmocka_unit_test(klog_and_syslog_take_the_year_around_now),
        cmocka_unit_test(the_year_boundary),
        cmocka_unit_test(february_29_without_a_year),
        cmocka_unit_test(time_of_day_alone),
        cmocka_unit_test(zones),
        cmocka_unit_test(offset_for_texts_without_a_zone),
        cmocka_unit_test(impossible_dates_and_fields),
        cmocka_unit_test(formats_checked_once),
        cmocka_unit_test(reads_only_the_given_length),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

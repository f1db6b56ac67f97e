/*
 * time.c - RFC 3339 timestamps as container runtimes write them, turned into
 * UNIX nanoseconds without the C library's time functions: timegm and
 * mktime consult the TZ database and take locks, and this runs once per log
 * line. Digits are read by hand and the date is counted with civil-calendar
 * arithmetic, so the parser holds no state and is safe on any thread.
 */
#include <stdint.h>
#include <string.h>

#include "parse.h"

#define TM_SECS_PER_DAY INT64_C(86400)
/* "YYYY-MM-DDTHH:MM:SS": the fixed part before the fraction and the offset */
#define TM_BASE_LEN 19
/* digits of the fraction that are kept (nanoseconds) */
#define TM_FRAC_DIGITS 9

/* The number s[0..1] as two decimal digits, or -1. */
static int tm_digits2(const char *s)
{
    unsigned a = (unsigned)(unsigned char)s[0] - '0';
    unsigned b = (unsigned)(unsigned char)s[1] - '0';

    if (a > 9 || b > 9)
        return -1;
    return (int)(a * 10 + b);
}

static bool tm_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int tm_days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && tm_is_leap(y))
        return 29;
    return days[m - 1];
}

/*
 * Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1..12,
 * d valid for the month), negative before the epoch. The year is shifted to
 * start in March so that the leap day falls at its end, then counted in
 * 400-year eras of 146097 days each (H. Hinnant's days_from_civil).
 */
static int64_t tm_days_from_civil(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

/*
 * Reads "YYYY-MM-DDTHH:MM:SS" at s (TM_BASE_LEN bytes, checked by the
 * caller) into seconds since the epoch, as if in UTC. A second of 60 (a
 * leap second, which RFC 3339 allows) counts as the first second of the
 * next minute. VG_OK or VG_EPARSE for a bad digit, separator or range.
 */
static int tm_parse_base(const char *s, int64_t *out_sec)
{
    int hi = tm_digits2(s), lo = tm_digits2(s + 2);
    int mon = tm_digits2(s + 5), day = tm_digits2(s + 8);
    int hour = tm_digits2(s + 11), min = tm_digits2(s + 14), sec = tm_digits2(s + 17);
    int year;

    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return VG_EPARSE;
    if (hi < 0 || lo < 0 || mon < 1 || mon > 12 || day < 1 || hour < 0 || hour > 23 || min < 0 ||
        min > 59 || sec < 0 || sec > 60)
        return VG_EPARSE;
    year = hi * 100 + lo;
    if (day > tm_days_in_month(year, mon))
        return VG_EPARSE;
    *out_sec = tm_days_from_civil(year, mon, day) * TM_SECS_PER_DAY + hour * 3600 + min * 60 + sec;
    return VG_OK;
}

/*
 * Reads an optional fraction ".d+" at *p: the first nine digits become
 * nanoseconds, further digits are accepted and dropped. Advances *p past
 * it. VG_OK, or VG_EPARSE for a '.' with no digit after it.
 */
static int tm_parse_fraction(const char **p, const char *end, int64_t *out_ns)
{
    const char *s = *p;
    int64_t ns = 0;
    int kept = 0;

    *out_ns = 0;
    if (s == end || *s != '.')
        return VG_OK;
    s++;
    if (s == end || (unsigned)(unsigned char)*s - '0' > 9)
        return VG_EPARSE;
    for (; s < end && (unsigned)(unsigned char)*s - '0' <= 9; s++) {
        if (kept < TM_FRAC_DIGITS) {
            ns = ns * 10 + (*s - '0');
            kept++;
        }
    }
    for (; kept < TM_FRAC_DIGITS; kept++)
        ns *= 10;
    *out_ns = ns;
    *p = s;
    return VG_OK;
}

/*
 * Reads the zone, which must end the string: 'Z', 'z', or +hh:mm / -hh:mm
 * (hh up to 23, mm up to 59). Writes the offset east of UTC in seconds.
 * VG_OK or VG_EPARSE.
 */
static int tm_parse_zone(const char *s, const char *end, int64_t *out_off)
{
    int hh, mm;

    if (end - s == 1 && (*s == 'Z' || *s == 'z')) {
        *out_off = 0;
        return VG_OK;
    }
    if (end - s != 6 || (*s != '+' && *s != '-') || s[3] != ':')
        return VG_EPARSE;
    hh = tm_digits2(s + 1);
    mm = tm_digits2(s + 4);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return VG_EPARSE;
    *out_off = (int64_t)(hh * 3600 + mm * 60) * (*s == '-' ? -1 : 1);
    return VG_OK;
}

/*
 * See parse.h. Years 0000 to 9999 are read, but only instants that fit in
 * int64 nanoseconds (1677-09-21 to 2262-04-11) are returned; the rest are
 * VG_EPARSE. *out_ns is written only on success.
 */
int vg_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns)
{
    const char *end, *p;
    int64_t sec, frac, off, ns;

    if (s == NULL || len < TM_BASE_LEN + 1)
        return VG_EPARSE;
    end = s + len;
    p = s + TM_BASE_LEN;
    if (tm_parse_base(s, &sec) != VG_OK || tm_parse_fraction(&p, end, &frac) != VG_OK ||
        tm_parse_zone(p, end, &off) != VG_OK)
        return VG_EPARSE;
    /* local time minus its offset east of UTC is UTC */
    sec -= off;
    /* borrow a second before the epoch so that the earliest instant,
     * whose whole seconds alone overflow, still fits */
    if (sec < 0 && frac > 0) {
        sec++;
        frac -= VG_NS_PER_SEC;
    }
    if (__builtin_mul_overflow(sec, VG_NS_PER_SEC, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return VG_EPARSE;
    *out_ns = ns;
    return VG_OK;
}

/*
 * time.c - timestamps turned into UNIX nanoseconds without the C library's
 * time functions: timegm, mktime and strptime consult the TZ database or
 * the locale and take locks, and this runs once per log line. Digits and
 * names are read by hand and the date is counted with civil-calendar
 * arithmetic, so the parser holds no state and is safe on any thread.
 *
 * Three readers share that arithmetic: RFC 3339 as container runtimes
 * write it (strict), a strptime-like reader driven by a format (the format
 * is read along with the text, so there is nothing to compile), and the
 * automatic one that knows RFC 3339 and its common variants, epoch
 * numbers and a few well-known layouts.
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

/* A fraction's digits at *p (at least one): the first nine are kept as
 * nanoseconds, the rest read and dropped. VG_OK or VG_EPARSE. */
static int tm_fraction_digits(const char **p, const char *end, int64_t *out_ns)
{
    const char *s = *p;
    int64_t ns = 0;
    int kept = 0;

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
 * Reads an optional fraction ".d+" at *p, advancing *p past it. VG_OK, or
 * VG_EPARSE for a '.' with no digit after it.
 */
static int tm_parse_fraction(const char **p, const char *end, int64_t *out_ns)
{
    const char *s = *p;

    *out_ns = 0;
    if (s == end || *s != '.')
        return VG_OK;
    s++;
    if (tm_fraction_digits(&s, end, out_ns) != VG_OK)
        return VG_EPARSE;
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
 * UNIX nanoseconds of sec seconds and frac nanoseconds (0..999999999) after
 * the epoch, when they fit int64. VG_OK or VG_EPARSE.
 */
static int tm_to_ns(int64_t sec, int64_t frac, int64_t *out_ns)
{
    int64_t ns;

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

/*
 * See parse.h. Years 0000 to 9999 are read, but only instants that fit in
 * int64 nanoseconds (1677-09-21 to 2262-04-11) are returned; the rest are
 * VG_EPARSE. *out_ns is written only on success.
 */
int vg_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns)
{
    const char *end, *p;
    int64_t sec, frac, off;

    if (s == NULL || len < TM_BASE_LEN + 1)
        return VG_EPARSE;
    end = s + len;
    p = s + TM_BASE_LEN;
    if (tm_parse_base(s, &sec) != VG_OK || tm_parse_fraction(&p, end, &frac) != VG_OK ||
        tm_parse_zone(p, end, &off) != VG_OK)
        return VG_EPARSE;
    /* local time minus its offset east of UTC is UTC */
    return tm_to_ns(sec - off, frac, out_ns);
}

/* ------------------------------------------------------------------------
 * Parts of a time read from text, put together once everything is read.
 */

/* Slots of struct tm_parts; TM_ABSENT where the text did not give one. */
enum {
    TM_YEAR,
    TM_YEAR2, /* %y: 69-99 are 19xx, 00-68 are 20xx, as POSIX says */
    TM_MON,
    TM_DAY,
    TM_YDAY,
    TM_HOUR,
    TM_HOUR12,
    TM_MIN,
    TM_SEC,
    TM_WDAY, /* 0 Sunday */
    TM_PM,   /* 0 AM, 1 PM */
    TM_NSLOTS
};
#define TM_ABSENT (-1)
/* how far ahead of now a time without a year may be: a day covers clock
 * skew and a writer in a zone ahead of the one assumed */
#define TM_AHEAD_S INT64_C(86400)
/* nesting of composite conversions (%T inside a format): one level */
#define TM_MAX_DEPTH 2

struct tm_parts {
    int v[TM_NSLOTS];
    int64_t frac_ns;
    bool have_zone;
    int64_t off; /* seconds east of UTC, with have_zone */
    bool have_epoch;
    int64_t epoch; /* %s */
};

static const char *const tm_months[12] = {"january",   "february", "march",    "april",
                                          "may",       "june",     "july",     "august",
                                          "september", "october",  "november", "december"};
static const char *const tm_wdays[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};

static void tm_parts_init(struct tm_parts *t)
{
    size_t i;

    for (i = 0; i < TM_NSLOTS; i++)
        t->v[i] = TM_ABSENT;
    t->frac_ns = 0;
    t->have_zone = false;
    t->off = 0;
    t->have_epoch = false;
    t->epoch = 0;
}

static bool tm_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool tm_is_space(char c)
{
    return c == ' ' || c == '\t';
}

static char tm_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Reads 1 to max decimal digits at *p into *out; VG_OK or VG_EPARSE. */
static int tm_number(const char **p, const char *end, int max, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;

    while (s < end && n < max && tm_is_digit(*s)) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0)
        return VG_EPARSE;
    *p = s;
    *out = v;
    return VG_OK;
}

/* Matches one of names (lowercase) at *p, case-insensitively, in full or
 * by its first three letters; *out is its index. VG_OK or VG_EPARSE. */
static int tm_name(const char **p, const char *end, const char *const *names, int n, int *out)
{
    size_t avail = (size_t)(end - *p), k, len;
    int i;

    for (i = 0; i < n; i++) {
        len = strlen(names[i]);
        for (k = 0; k < len && k < avail && tm_lower((*p)[k]) == names[i][k]; k++)
            ;
        if (k == len || k == 3) {
            /* the whole name, or its abbreviation not followed by a letter */
            if (k == 3 && k < avail && tm_lower((*p)[k]) >= 'a' && tm_lower((*p)[k]) <= 'z')
                continue;
            *p += k;
            *out = i;
            return VG_OK;
        }
    }
    return VG_EPARSE;
}

/* True when the text at *p starts with word (lowercase), case-insensitively;
 * *p moves past it. */
static bool tm_word(const char **p, const char *end, const char *word)
{
    size_t n = strlen(word), k;

    if ((size_t)(end - *p) < n)
        return false;
    for (k = 0; k < n; k++) {
        if (tm_lower((*p)[k]) != word[k])
            return false;
    }
    *p += n;
    return true;
}

/*
 * A zone at *p: 'Z', "UTC", "GMT" or "UT" (any case), or an offset +hh,
 * +hhmm or +hh:mm (hh up to 23, mm up to 59; '-' west of UTC). *off is
 * seconds east of UTC. VG_OK or VG_EPARSE.
 */
static int tm_zone(const char **p, const char *end, int64_t *off)
{
    const char *s = *p;
    int hh, mm = 0;
    char sign;

    if (tm_word(p, end, "utc") || tm_word(p, end, "gmt") || tm_word(p, end, "ut") ||
        tm_word(p, end, "z")) {
        *off = 0;
        return VG_OK;
    }
    if (end - s < 3 || (*s != '+' && *s != '-'))
        return VG_EPARSE;
    sign = *s;
    hh = tm_digits2(s + 1);
    s += 3;
    if (s < end && *s == ':' && end - s >= 3 && tm_is_digit(s[1]))
        s++;
    if (end - s >= 2 && tm_is_digit(s[0])) {
        mm = tm_digits2(s);
        s += 2;
    }
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return VG_EPARSE;
    *off = (int64_t)(hh * 3600 + mm * 60) * (sign == '-' ? -1 : 1);
    *p = s;
    return VG_OK;
}

/* Seconds since the epoch of an integer with optional sign at *p (%s). */
static int tm_epoch_seconds(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    bool neg = s < end && *s == '-';
    int64_t v = 0;

    if (neg)
        s++;
    if (s == end || !tm_is_digit(*s))
        return VG_EPARSE;
    for (; s < end && tm_is_digit(*s); s++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
            return VG_EPARSE;
    }
    *out = neg ? -v : v;
    *p = s;
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * The strptime-like reader.
 */

/* A numeric conversion: at most `digits` digits in [min, max], into slot. */
struct tm_num {
    char conv;
    unsigned char digits;
    short min;
    short max;
    unsigned char slot;
};

static const struct tm_num tm_nums[] = {
    {'Y', 4, 0, 9999, TM_YEAR}, {'y', 2, 0, 99, TM_YEAR2}, {'m', 2, 1, 12, TM_MON},
    {'d', 2, 1, 31, TM_DAY},    {'e', 2, 1, 31, TM_DAY},   {'j', 3, 1, 366, TM_YDAY},
    {'H', 2, 0, 23, TM_HOUR},   {'k', 2, 0, 23, TM_HOUR},  {'I', 2, 1, 12, TM_HOUR12},
    {'l', 2, 1, 12, TM_HOUR12}, {'M', 2, 0, 59, TM_MIN},   {'S', 2, 0, 60, TM_SEC},
};

/* Composite conversions and what they stand for. */
static const char *tm_composite(char conv)
{
    switch (conv) {
    case 'T':
        return "%H:%M:%S";
    case 'R':
        return "%H:%M";
    case 'F':
        return "%Y-%m-%d";
    case 'D':
        return "%m/%d/%y";
    default:
        return NULL;
    }
}

static const struct tm_num *tm_find_num(char conv)
{
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(tm_nums); i++) {
        if (tm_nums[i].conv == conv)
            return &tm_nums[i];
    }
    return NULL;
}

static bool tm_is_fraction(char conv)
{
    return conv == 'f' || conv == 'L' || conv == 'N';
}

/* True for a conversion the reader knows (composites included). */
static bool tm_known(char conv)
{
    return tm_find_num(conv) != NULL || tm_composite(conv) != NULL || tm_is_fraction(conv) ||
           (conv != '\0' && strchr("bhBaApzZsnt%", conv) != NULL);
}

/* A numeric conversion; %e, %k and %l take a space before one digit. */
static int tm_conv_num(const struct tm_num *n, const char **p, const char *end, struct tm_parts *t)
{
    int v;

    if (*p < end && **p == ' ' && (n->conv == 'e' || n->conv == 'k' || n->conv == 'l'))
        (*p)++;
    if (tm_number(p, end, n->digits, &v) != VG_OK || v < n->min || v > n->max)
        return VG_EPARSE;
    t->v[n->slot] = v;
    return VG_OK;
}

/* One conversion other than the numeric and composite ones. */
static int tm_conv_other(char conv, const char **p, const char *end, struct tm_parts *t)
{
    switch (conv) {
    case 'b':
    case 'h':
    case 'B':
        if (tm_name(p, end, tm_months, 12, &t->v[TM_MON]) != VG_OK)
            return VG_EPARSE;
        t->v[TM_MON]++;
        return VG_OK;
    case 'a':
    case 'A':
        return tm_name(p, end, tm_wdays, 7, &t->v[TM_WDAY]);
    case 'p':
        t->v[TM_PM] = tm_word(p, end, "am") ? 0 : tm_word(p, end, "pm") ? 1 : TM_ABSENT;
        return t->v[TM_PM] == TM_ABSENT ? VG_EPARSE : VG_OK;
    case 'z':
    case 'Z':
        t->have_zone = true;
        return tm_zone(p, end, &t->off);
    case 's':
        t->have_epoch = true;
        return tm_epoch_seconds(p, end, &t->epoch);
    case 'n':
    case 't':
        while (*p < end && tm_is_space(**p))
            (*p)++;
        return VG_OK;
    case '%':
        if (*p == end || **p != '%')
            return VG_EPARSE;
        (*p)++;
        return VG_OK;
    default:
        return tm_is_fraction(conv) ? tm_fraction_digits(p, end, &t->frac_ns) : VG_EPARSE;
    }
}

static int tm_strp(const char *fmt, const char **p, const char *end, struct tm_parts *t, int depth);

/* The conversion at fmt[0] == '%' (two format bytes). */
static int tm_conv(const char *fmt, const char **p, const char *end, struct tm_parts *t, int depth)
{
    const struct tm_num *n = tm_find_num(fmt[1]);
    const char *sub = tm_composite(fmt[1]);

    if (n != NULL)
        return tm_conv_num(n, p, end, t);
    if (sub != NULL)
        return depth < TM_MAX_DEPTH ? tm_strp(sub, p, end, t, depth + 1) : VG_EPARSE;
    return tm_conv_other(fmt[1], p, end, t);
}

/* A '.' or ',' in the format right before a fraction conversion: the pair
 * is optional (Go drops a zero fraction) and either mark is accepted (Java
 * and Python write a comma). Returns how many format bytes it took. */
static size_t tm_optional_fraction(const char *fmt, const char **p, const char *end,
                                   struct tm_parts *t)
{
    const char *s = *p;

    if ((fmt[0] != '.' && fmt[0] != ',') || fmt[1] != '%' || !tm_is_fraction(fmt[2]))
        return 0;
    if (end - s >= 2 && (*s == '.' || *s == ',') && tm_is_digit(s[1])) {
        s++;
        (void)tm_fraction_digits(&s, end, &t->frac_ns);
        *p = s;
    }
    return 3;
}

/*
 * Reads the text at *p as fmt says, into t: a conversion reads its field,
 * whitespace in the format takes any run of spaces and tabs (none
 * included), any other byte must be there as it is. *p ends past what was
 * read. VG_OK or VG_EPARSE.
 */
static int tm_strp(const char *fmt, const char **p, const char *end, struct tm_parts *t, int depth)
{
    size_t used;

    while (*fmt != '\0') {
        used = tm_optional_fraction(fmt, p, end, t);
        if (used > 0) {
            fmt += used;
        } else if (*fmt == '%') {
            if (tm_conv(fmt, p, end, t, depth) != VG_OK)
                return VG_EPARSE;
            fmt += 2;
        } else if (tm_is_space(*fmt)) {
            while (*p < end && tm_is_space(**p))
                (*p)++;
            fmt++;
        } else {
            if (*p == end || **p != *fmt)
                return VG_EPARSE;
            (*p)++;
            fmt++;
        }
    }
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * Putting the parts together.
 */

/* The year of a day count since the epoch (H. Hinnant's civil_from_days). */
static int tm_year_of_days(int64_t days)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    return (int)(yoe + era * 400 + (mp >= 10 ? 1 : 0));
}

/* 0 for Sunday; 1970-01-01 was a Thursday. */
static int tm_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7;

    return (int)(w < 0 ? w + 7 : w);
}

/* The day (since the epoch) of t's date in year y: month and day, or day
 * of the year, missing ones taken as 1. VG_EPARSE when there is no such
 * date (February 30, day 366 of a common year, or a weekday that is not
 * that date's). */
static int tm_date_days(const struct tm_parts *t, int y, int64_t *days)
{
    int m = t->v[TM_MON] != TM_ABSENT ? t->v[TM_MON] : 1;
    int d = t->v[TM_DAY] != TM_ABSENT ? t->v[TM_DAY] : 1;

    if (y < 0 || y > 9999)
        return VG_EPARSE;
    if (t->v[TM_YDAY] != TM_ABSENT) {
        if (t->v[TM_YDAY] > (tm_is_leap(y) ? 366 : 365))
            return VG_EPARSE;
        *days = tm_days_from_civil(y, 1, 1) + t->v[TM_YDAY] - 1;
    } else {
        if (d > tm_days_in_month(y, m))
            return VG_EPARSE;
        *days = tm_days_from_civil(y, m, d);
    }
    if (t->v[TM_WDAY] != TM_ABSENT && tm_weekday(*days) != t->v[TM_WDAY])
        return VG_EPARSE;
    return VG_OK;
}

/* Seconds into the day; a 12-hour clock without AM or PM is AM. */
static int64_t tm_day_seconds(const struct tm_parts *t)
{
    int h = t->v[TM_HOUR] != TM_ABSENT ? t->v[TM_HOUR] : 0;
    int m = t->v[TM_MIN] != TM_ABSENT ? t->v[TM_MIN] : 0;
    int s = t->v[TM_SEC] != TM_ABSENT ? t->v[TM_SEC] : 0;

    if (t->v[TM_HOUR12] != TM_ABSENT)
        h = t->v[TM_HOUR12] % 12 + (t->v[TM_PM] == 1 ? 12 : 0);
    return (int64_t)h * 3600 + m * 60 + s;
}

/* The instant of t on the given day, at offset off east of UTC. */
static int tm_instant(const struct tm_parts *t, int64_t days, int64_t off, int64_t *out_ns)
{
    return tm_to_ns(days * TM_SECS_PER_DAY + tm_day_seconds(t) - off, t->frac_ns, out_ns);
}

static uint64_t tm_distance(int64_t a, int64_t b)
{
    return a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
}

/*
 * A time whose text gives no year (syslog's "Dec  2 14:05:06", klog): the
 * latest of the years around now, in the zone of the text, that puts it no
 * more than TM_AHEAD_S ahead of now. Logs come from the past, so "Dec 31"
 * read on January 1 is last year's and an "Aug 1" read in July too, while a
 * writer's clock a little ahead of ours keeps "Jan 1" read on December 31
 * in the new year. VG_EPARSE when none of them has the date (February 29).
 */
static int tm_guess_year(const struct tm_parts *t, int64_t today, int64_t off, int64_t now_ns,
                         int64_t *out_ns)
{
    int year = tm_year_of_days(today);
    int64_t days, ns;
    int k;

    for (k = 1; k >= -1; k--) {
        if (tm_date_days(t, year + k, &days) != VG_OK || tm_instant(t, days, off, &ns) != VG_OK)
            continue;
        if (ns <= vg_add_sat(now_ns, TM_AHEAD_S * VG_NS_PER_SEC)) {
            *out_ns = ns;
            return VG_OK;
        }
    }
    return VG_EPARSE;
}

/* A time whose text gives no date ("14:05:06"): of yesterday, today and
 * tomorrow in the zone of the text, the one nearest to now. */
static int tm_guess_day(const struct tm_parts *t, int64_t today, int64_t off, int64_t now_ns,
                        int64_t *out_ns)
{
    int64_t ns, best = 0;
    bool found = false;
    int k;

    for (k = -1; k <= 1; k++) {
        if (t->v[TM_WDAY] != TM_ABSENT && tm_weekday(today + k) != t->v[TM_WDAY])
            continue;
        if (tm_instant(t, today + k, off, &ns) != VG_OK)
            continue;
        if (!found || tm_distance(ns, now_ns) < tm_distance(best, now_ns))
            best = ns;
        found = true;
    }
    if (!found)
        return VG_EPARSE;
    *out_ns = best;
    return VG_OK;
}

/* A time whose text leaves out the year, or the whole date. */
static int tm_guess(const struct tm_parts *t, int64_t off, int64_t now_ns, int64_t *out_ns)
{
    int64_t local = now_ns / VG_NS_PER_SEC + off;
    int64_t today = local / TM_SECS_PER_DAY - (local % TM_SECS_PER_DAY < 0 ? 1 : 0);

    if (t->v[TM_MON] != TM_ABSENT || t->v[TM_DAY] != TM_ABSENT || t->v[TM_YDAY] != TM_ABSENT)
        return tm_guess_year(t, today, off, now_ns, out_ns);
    return tm_guess_day(t, today, off, now_ns, out_ns);
}

/* The instant the parts name; off is the zone for a text that gives none. */
static int tm_compose(const struct tm_parts *t, int64_t off, int64_t now_ns, int64_t *out_ns)
{
    int year = t->v[TM_YEAR];
    int64_t days;

    if (t->have_epoch)
        return tm_to_ns(t->epoch, t->frac_ns, out_ns);
    if (t->have_zone)
        off = t->off;
    if (year == TM_ABSENT && t->v[TM_YEAR2] != TM_ABSENT)
        year = t->v[TM_YEAR2] + (t->v[TM_YEAR2] < 69 ? 2000 : 1900);
    if (year == TM_ABSENT)
        return tm_guess(t, off, now_ns, out_ns);
    if (tm_date_days(t, year, &days) != VG_OK)
        return VG_EPARSE;
    return tm_instant(t, days, off, out_ns);
}

/* Reads s[0..len) with fmt; trailing spaces are allowed, nothing else. */
static int tm_parse_with(const char *fmt, const char *s, size_t len, int64_t off, int64_t now_ns,
                         int64_t *out_ns)
{
    const char *p = s, *end = s + len;
    struct tm_parts t;

    tm_parts_init(&t);
    if (tm_strp(fmt, &p, end, &t, 0) != VG_OK)
        return VG_EPARSE;
    while (p < end && tm_is_space(*p))
        p++;
    if (p != end)
        return VG_EPARSE;
    return tm_compose(&t, off, now_ns, out_ns);
}

/* ------------------------------------------------------------------------
 * Epoch numbers and the automatic reader.
 */

/* Powers of ten up to 10^9. */
static const int64_t tm_pow10[10] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};

/*
 * An epoch number at s[0..len): an optional '-', digits and an optional
 * fraction, in units of 10^-unit seconds (0 s, 3 ms, 6 us, 9 ns); unit -1
 * decides by the count of integer digits: up to 11 seconds, up to 14
 * milliseconds, up to 17 microseconds, more nanoseconds. Trailing spaces
 * pass. VG_OK or VG_EPARSE (also when the instant does not fit).
 */
static int tm_epoch(const char *s, size_t len, int unit, int64_t *out_ns)
{
    const char *p = s, *end = s + len, *digits;
    int64_t v = 0, frac = 0, ns;
    bool neg = p < end && *p == '-';

    p += neg ? 1 : 0;
    digits = p;
    for (; p < end && tm_is_digit(*p); p++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
            return VG_EPARSE;
    }
    if (p == digits)
        return VG_EPARSE;
    if (unit < 0) {
        ptrdiff_t n = p - digits;
        unit = n <= 11 ? 0 : n <= 14 ? 3 : n <= 17 ? 6 : 9;
    }
    if (p < end && *p == '.') {
        p++;
        if (tm_fraction_digits(&p, end, &frac) != VG_OK)
            return VG_EPARSE;
    }
    while (p < end && tm_is_space(*p))
        p++;
    if (p != end || __builtin_mul_overflow(v, tm_pow10[9 - unit], &ns) ||
        __builtin_add_overflow(ns, frac / tm_pow10[unit], &ns))
        return VG_EPARSE;
    *out_ns = neg ? -ns : ns;
    return VG_OK;
}

/* After a zone: a space and a zone name, as Go prints "+0000 UTC". */
static void tm_skip_zone_name(const char **p, const char *end)
{
    const char *s = *p;
    int n = 0;

    if (s == end || *s != ' ')
        return;
    for (s++; s < end && *s >= 'A' && *s <= 'Z'; s++)
        n++;
    if (n >= 2 && n <= 5)
        *p = s;
}

/*
 * RFC 3339 and the variants logs write: a date alone, a space for the 'T',
 * no seconds, a comma before the fraction (Java, Python), no zone (then
 * off), a zone of +hh, +hhmm or a name, spaces before the zone.
 */
static int tm_iso(const char *s, size_t len, int64_t off, int64_t *out_ns)
{
    const char *p = s, *end = s + len;
    struct tm_parts t;

    tm_parts_init(&t);
    if (len < 10 || s[4] != '-' || tm_strp("%Y-%m-%d", &p, end, &t, 0) != VG_OK)
        return VG_EPARSE;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if (tm_strp("%H:%M", &p, end, &t, 0) != VG_OK)
            return VG_EPARSE;
        if (p < end && *p == ':') {
            p++;
            if (tm_strp("%S.%f", &p, end, &t, 0) != VG_OK)
                return VG_EPARSE;
        }
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p != ' ') {
            t.have_zone = true;
            if (tm_zone(&p, end, &t.off) != VG_OK)
                return VG_EPARSE;
            tm_skip_zone_name(&p, end);
        }
    }
    while (p < end && tm_is_space(*p))
        p++;
    if (p != end)
        return VG_EPARSE;
    return tm_compose(&t, off, 0, out_ns);
}

/* Layouts the automatic reader tries after RFC 3339 and epoch numbers. */
static const char *const tm_auto_formats[] = {
    "%d/%b/%Y:%H:%M:%S %z",     /* common log format: nginx, Apache */
    "%a, %d %b %Y %H:%M:%S %z", /* RFC 1123 and 2822, HTTP dates */
    "%a %b %e %H:%M:%S %Y",     /* ANSI C asctime */
    "%b %e %H:%M:%S.%f",        /* syslog, Go's Stamp (no year) */
    "%Y/%m/%d %H:%M:%S.%f",     /* Go's log package */
    "%d-%b-%Y %H:%M:%S.%f",     /* Tomcat */
};

static int tm_auto(const char *s, size_t len, int64_t off, int64_t now_ns, int64_t *out_ns)
{
    size_t i;

    if (len > 0 && (tm_is_digit(s[0]) || s[0] == '-')) {
        if (tm_epoch(s, len, -1, out_ns) == VG_OK || tm_iso(s, len, off, out_ns) == VG_OK)
            return VG_OK;
    }
    for (i = 0; i < VG_ARRAY_LEN(tm_auto_formats); i++) {
        if (tm_parse_with(tm_auto_formats[i], s, len, off, now_ns, out_ns) == VG_OK)
            return VG_OK;
    }
    return VG_EPARSE;
}

/* ------------------------------------------------------------------------
 * Formats.
 */

struct tm_named {
    const char *name;
    enum vg_time_mode mode;
};

static const struct tm_named tm_named_formats[] = {
    {"auto", VG_TIME_AUTO},         {"rfc3339", VG_TIME_AUTO},      {"iso8601", VG_TIME_AUTO},
    {"epoch", VG_TIME_EPOCH},       {"epoch_ms", VG_TIME_EPOCH_MS}, {"epoch_us", VG_TIME_EPOCH_US},
    {"epoch_ns", VG_TIME_EPOCH_NS},
};

/* Checks that every '%' of fmt starts a conversion the reader knows and
 * that there is at least one. */
static int tm_check_format(const char *fmt, struct vg_error *err)
{
    size_t i, convs = 0;

    for (i = 0; fmt[i] != '\0'; i++) {
        if (fmt[i] != '%')
            continue;
        if (!tm_known(fmt[i + 1]))
            return vg_error_set(err, VG_ECONFIG,
                                "time_format '%s': unknown conversion '%%%.1s' at offset %zu", fmt,
                                fmt + i + 1, i);
        if (fmt[i + 1] != '%')
            convs++;
        i++;
    }
    if (convs == 0)
        return vg_error_set(err, VG_ECONFIG, "time_format '%s' has no conversion", fmt);
    return VG_OK;
}

int vg_time_format_init(struct vg_time_format *f, const char *fmt, struct vg_error *err)
{
    size_t i, len;
    int rc;

    memset(f, 0, sizeof(*f));
    f->mode = VG_TIME_AUTO;
    if (fmt == NULL || fmt[0] == '\0')
        return VG_OK;
    for (i = 0; i < VG_ARRAY_LEN(tm_named_formats); i++) {
        if (strcmp(fmt, tm_named_formats[i].name) == 0) {
            f->mode = tm_named_formats[i].mode;
            return VG_OK;
        }
    }
    len = strlen(fmt);
    if (len >= sizeof(f->fmt))
        return vg_error_set(err, VG_ECONFIG, "time_format is longer than %zu bytes",
                            sizeof(f->fmt) - 1);
    rc = tm_check_format(fmt, err);
    if (rc != VG_OK)
        return rc;
    f->mode = VG_TIME_STRPTIME;
    memcpy(f->fmt, fmt, len + 1);
    return VG_OK;
}

int vg_time_parse(const struct vg_time_format *f, const char *s, size_t len, int64_t now_ns,
                  int64_t *out_ns)
{
    int64_t ns;
    int rc;

    if (f == NULL || s == NULL || out_ns == NULL)
        return VG_EPARSE;
    switch (f->mode) {
    case VG_TIME_STRPTIME:
        rc = tm_parse_with(f->fmt, s, len, f->offset_s, now_ns, &ns);
        break;
    case VG_TIME_EPOCH:
        rc = tm_epoch(s, len, 0, &ns);
        break;
    case VG_TIME_EPOCH_MS:
        rc = tm_epoch(s, len, 3, &ns);
        break;
    case VG_TIME_EPOCH_US:
        rc = tm_epoch(s, len, 6, &ns);
        break;
    case VG_TIME_EPOCH_NS:
        rc = tm_epoch(s, len, 9, &ns);
        break;
    default:
        rc = tm_auto(s, len, f->offset_s, now_ns, &ns);
        break;
    }
    if (rc == VG_OK)
        *out_ns = ns;
    return rc;
}

int vg_time_offset_parse(const char *s, int32_t *out_s)
{
    const char *p = s, *end;
    int64_t off;

    if (s == NULL)
        return VG_EPARSE;
    end = s + strlen(s);
    if (tm_zone(&p, end, &off) != VG_OK || p != end)
        return VG_EPARSE;
    *out_s = (int32_t)off;
    return VG_OK;
}

/*
 * level.c - severities as logs spell them, mapped onto six levels (trace,
 * debug, info, warn, error, fatal), and the search for one in a plain line
 * ("level=warn", "[ERROR]", klog's "E1202 ..."), which is also the
 * `level` parser: a line in, a `level` field out when it names one.
 */
#include <string.h>

#include "parser_internal.h"

/* Longest spelling in the table; a longer word is no level. */
#define LV_WORD_MAX 16
/* Leading tokens of a line that may hold a bare severity ("[WARN]"),
 * separators ("-", "|") not counted. */
#define LV_LEAD_TOKENS 4

struct lv_spelling {
    const char *word; /* lowercase */
    enum vg_level level;
};

/* The spellings of logrus, zap, slog, log4j, logback, java.util.logging,
 * Python, .NET, Serilog, syslog keywords, and their abbreviations. */
static const struct lv_spelling lv_spellings[] = {
    {"trace", VG_LEVEL_TRACE},
    {"trc", VG_LEVEL_TRACE},
    {"finest", VG_LEVEL_TRACE},
    {"finer", VG_LEVEL_TRACE},
    {"verbose", VG_LEVEL_TRACE},
    {"vrb", VG_LEVEL_TRACE},
    {"t", VG_LEVEL_TRACE},
    {"debug", VG_LEVEL_DEBUG},
    {"dbg", VG_LEVEL_DEBUG},
    {"dbug", VG_LEVEL_DEBUG},
    {"fine", VG_LEVEL_DEBUG},
    {"config", VG_LEVEL_DEBUG},
    {"d", VG_LEVEL_DEBUG},
    {"info", VG_LEVEL_INFO},
    {"inf", VG_LEVEL_INFO},
    {"information", VG_LEVEL_INFO},
    {"informational", VG_LEVEL_INFO},
    {"notice", VG_LEVEL_INFO},
    {"note", VG_LEVEL_INFO},
    {"i", VG_LEVEL_INFO},
    {"n", VG_LEVEL_INFO},
    {"warn", VG_LEVEL_WARN},
    {"warning", VG_LEVEL_WARN},
    {"wrn", VG_LEVEL_WARN},
    {"wrng", VG_LEVEL_WARN},
    {"w", VG_LEVEL_WARN},
    {"error", VG_LEVEL_ERROR},
    {"err", VG_LEVEL_ERROR},
    {"eror", VG_LEVEL_ERROR},
    {"erro", VG_LEVEL_ERROR},
    {"severe", VG_LEVEL_ERROR},
    {"e", VG_LEVEL_ERROR},
    {"dpanic", VG_LEVEL_ERROR},
    {"fatal", VG_LEVEL_FATAL},
    {"ftl", VG_LEVEL_FATAL},
    {"fatl", VG_LEVEL_FATAL},
    {"critical", VG_LEVEL_FATAL},
    {"crit", VG_LEVEL_FATAL},
    {"crt", VG_LEVEL_FATAL},
    {"alert", VG_LEVEL_FATAL},
    {"emerg", VG_LEVEL_FATAL},
    {"emergency", VG_LEVEL_FATAL},
    {"panic", VG_LEVEL_FATAL},
    {"f", VG_LEVEL_FATAL},
    {"c", VG_LEVEL_FATAL},
};

/* Keys whose value names a level, in "key=value" or "key":"value". */
static const char *const lv_keys[] = {"level",    "lvl",       "loglevel", "log_level",
                                      "severity", "levelname", "@l"};

static char lv_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

static bool lv_is_alnum(char c)
{
    c = lv_lower(c);
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool lv_is_space(char c)
{
    return c == ' ' || c == '\t';
}

const char *vg_level_name(enum vg_level level)
{
    static const char *const names[] = {"trace", "debug", "info", "warn", "error", "fatal"};

    if (level < VG_LEVEL_TRACE || level > VG_LEVEL_FATAL)
        return "unknown";
    return names[level - VG_LEVEL_TRACE];
}

enum vg_level vg_level_from_syslog(int severity)
{
    static const enum vg_level map[8] = {VG_LEVEL_FATAL, VG_LEVEL_FATAL, VG_LEVEL_FATAL,
                                         VG_LEVEL_ERROR, VG_LEVEL_WARN,  VG_LEVEL_INFO,
                                         VG_LEVEL_INFO,  VG_LEVEL_DEBUG};

    if (severity < 0)
        return VG_LEVEL_FATAL;
    return severity > 7 ? VG_LEVEL_DEBUG : map[severity];
}

/* A number: one digit is a syslog severity (0 emerg .. 7 debug); 10 to 60
 * in tens are bunyan's and pino's (10 trace .. 60 fatal). */
static int lv_number(const char *s, size_t len, enum vg_level *out)
{
    if (len == 1 && s[0] >= '0' && s[0] <= '7') {
        *out = vg_level_from_syslog(s[0] - '0');
        return VG_OK;
    }
    if (len == 2 && s[0] >= '1' && s[0] <= '6' && s[1] == '0') {
        *out = (enum vg_level)(VG_LEVEL_TRACE + (s[0] - '1'));
        return VG_OK;
    }
    return VG_EPARSE;
}

int vg_level_parse(const char *s, size_t len, enum vg_level *out)
{
    char word[LV_WORD_MAX];
    size_t i;

    if (s == NULL || len == 0 || len >= LV_WORD_MAX)
        return VG_EPARSE;
    if (s[0] >= '0' && s[0] <= '9')
        return lv_number(s, len, out);
    for (i = 0; i < len; i++)
        word[i] = lv_lower(s[i]);
    word[len] = '\0';
    for (i = 0; i < VG_ARRAY_LEN(lv_spellings); i++) {
        if (strcmp(word, lv_spellings[i].word) == 0) {
            *out = lv_spellings[i].level;
            return VG_OK;
        }
    }
    return VG_EPARSE;
}

/* True when s[0..n) is one of lv_keys, in any case, with optional quotes. */
static bool lv_is_key(const char *s, size_t n)
{
    size_t i, k;

    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    for (i = 0; i < VG_ARRAY_LEN(lv_keys); i++) {
        if (strlen(lv_keys[i]) != n)
            continue;
        for (k = 0; k < n && lv_lower(s[k]) == lv_keys[i][k]; k++)
            ;
        if (k == n)
            return true;
    }
    return false;
}

/* The level in the value that starts at s[i] (spaces and a quote first). */
static int lv_value(const char *s, size_t len, size_t i, enum vg_level *out)
{
    size_t start;

    while (i < len && lv_is_space(s[i]))
        i++;
    if (i < len && (s[i] == '"' || s[i] == '\''))
        i++;
    start = i;
    while (i < len && lv_is_alnum(s[i]))
        i++;
    return vg_level_parse(s + start, i - start, out);
}

/* "level=warn", "lvl=E", "\"level\":\"warning\"", "severity: ERROR": the
 * first '=' or ':' whose key is one of lv_keys and whose value a level. */
static int lv_keyed(const char *line, size_t len, enum vg_level *out)
{
    size_t i, k;

    for (i = 1; i < len; i++) {
        if (line[i] != '=' && line[i] != ':')
            continue;
        k = i;
        while (k > 0 && (lv_is_alnum(line[k - 1]) || line[k - 1] == '_' || line[k - 1] == '"' ||
                         line[k - 1] == '@'))
            k--;
        if (lv_is_key(line + k, i - k) && lv_value(line, len, i + 1, out) == VG_OK)
            return VG_OK;
    }
    return VG_EPARSE;
}

/* A leading token: "[WARN]", "ERROR:", "<info>", "WARNING" (a bare word only
 * in capitals, so that prose does not count); never a single letter. */
static int lv_token(const char *s, size_t n, enum vg_level *out)
{
    bool marked = false;
    size_t i;

    if (n >= 2 && memchr("[(<", s[0], 3) != NULL && memchr("])>", s[n - 1], 3) != NULL) {
        s++;
        n -= 2;
        marked = true;
    } else if (n >= 2 && (s[n - 1] == ':' || s[n - 1] == '|')) {
        n--;
        marked = true;
    }
    if (n < 3)
        return VG_EPARSE;
    for (i = 0; !marked && i < n; i++) {
        if (s[i] < 'A' || s[i] > 'Z')
            return VG_EPARSE;
    }
    return vg_level_parse(s, n, out);
}

/* klog's header: a severity letter and four digits ("E1202 14:05:06..."). */
static int lv_klog(const char *line, size_t len, enum vg_level *out)
{
    size_t i;

    if (len < 6 || memchr("IWEF", line[0], 4) == NULL || line[5] != ' ')
        return VG_EPARSE;
    for (i = 1; i < 5; i++) {
        if (line[i] < '0' || line[i] > '9')
            return VG_EPARSE;
    }
    return vg_level_parse(line, 1, out);
}

/* True when s[0..n) holds no letter or digit (a "-" or "|" separator). */
static bool lv_is_separator(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (lv_is_alnum(s[i]))
            return false;
    }
    return true;
}

int vg_level_detect(const char *line, size_t len, enum vg_level *out)
{
    size_t i = 0, start, tokens = 0;

    if (line == NULL)
        return VG_EPARSE;
    if (lv_keyed(line, len, out) == VG_OK || lv_klog(line, len, out) == VG_OK)
        return VG_OK;
    while (tokens < LV_LEAD_TOKENS) {
        while (i < len && lv_is_space(line[i]))
            i++;
        start = i;
        while (i < len && !lv_is_space(line[i]))
            i++;
        if (i == start)
            break;
        if (lv_is_separator(line + start, i - start))
            continue;
        if (lv_token(line + start, i - start, out) == VG_OK)
            return VG_OK;
        tokens++;
    }
    return VG_EPARSE;
}

/* The `level` parser: never a mismatch, a line without a level gives no
 * field. */
static int lv_run(struct vg_parse_ctx *c, const char *line, size_t len)
{
    struct vg_parse_field f = {.key = "level", .key_len = 5, .type = VG_FIELD_STR};
    enum vg_level level;

    if (vg_level_detect(line, len, &level) != VG_OK)
        return VG_OK;
    f.v.s.ptr = vg_level_name(level);
    f.v.s.len = strlen(f.v.s.ptr);
    return vg_parser_put(c, &f);
}

const struct vg_parser_kind vg_parser_kind_level = {
    .name = "level",
    .takes = 0,
    .run = lv_run,
};

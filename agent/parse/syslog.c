/*
 * syslog.c - the syslog parsers, RFC 3164 (BSD) and RFC 5424:
 *
 *   <34>Dec  2 14:05:06 host sshd[42]: message
 *   <165>1 2026-12-02T14:05:06.003Z host app 42 ID47 [id@32473 k="v"] message
 *
 * The priority becomes facility (a name: kern, user, ..., local7), severity
 * (emerg, alert, crit, err, warning, notice, info, debug) and level (the
 * common scale); then time (as time_key when it is "time": the built-ins),
 * host, app, pid, and for RFC 5424 msgid and structured_data (its text),
 * then message. RFC 5424's "-" leaves a field out, and a message's UTF-8
 * byte order mark is dropped.
 *
 * RFC 3164 as files and relays write it: the priority may be missing (as
 * in /var/log/syslog), the time may be RFC 3339 (rsyslog's high-precision
 * format), the host may be missing (a first word with '[' or ending in ':'
 * is the tag), and a message need not have a tag at all.
 */
#include <string.h>

#include "parser_internal.h"

enum {
    SL_FACILITY,
    SL_SEVERITY,
    SL_LEVEL,
    SL_TIME,
    SL_HOST,
    SL_APP,
    SL_PID,
    SL_MSGID,
    SL_SD,
    SL_MESSAGE,
    SL_NKEYS
};

static const char *const sl_names[SL_NKEYS] = {
    "facility", "severity", "level",           "time",    "host", "app",
    "pid",      "msgid",    "structured_data", "message",
};

static const char *const sl_facilities[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "solaris-cron",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7",
};

static const char *const sl_severities[8] = {"emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug"};

/* A text of the line, NULL when absent. */
struct sl_text {
    const char *ptr;
    size_t len;
};

/* One line's parts; texts without ptr are left out. */
struct sl_line {
    int pri; /* -1 when the line has none */
    struct sl_text f[SL_NKEYS];
};

static bool sl_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void sl_set(struct sl_line *l, int field, const char *from, const char *to)
{
    l->f[field].ptr = from;
    l->f[field].len = (size_t)(to - from);
}

/* "<PRI>" at *p, 0 to 191. VG_OK or VG_EPARSE. */
static int sl_pri(const char **p, const char *end, int *pri)
{
    const char *s = *p + 1;
    int v = 0, n = 0;

    if (*p == end || **p != '<')
        return VG_EPARSE;
    while (s < end && sl_digit(*s) && n < 3) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0 || s == end || *s != '>' || v > 191)
        return VG_EPARSE;
    *pri = v;
    *p = s + 1;
    return VG_OK;
}

/* The end of the word at p (the next space, or end). */
static const char *sl_word_end(const char *p, const char *end)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));

    return sp != NULL ? sp : end;
}

/* ------------------------------------------------------------------------
 * RFC 3164.
 */

/* "Mmm dd hh:mm:ss[.frac]" (day padded with a space) or an RFC 3339 word:
 * the shape only, the time parser judges the values. Its end, or NULL. */
static const char *sl_stamp(const char *p, const char *end)
{
    static const char shape[] = "aaa dd dd:dd:dd";
    size_t i;

    if (p < end && sl_digit(*p))
        return end - p > 10 && p[4] == '-' ? sl_word_end(p, end) : NULL;
    if ((size_t)(end - p) < sizeof(shape) - 1)
        return NULL;
    for (i = 0; i < sizeof(shape) - 1; i++) {
        char c = p[i], want = shape[i];

        if (want == 'a' && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
            return NULL;
        if (want == 'd' && !sl_digit(c) && !(i == 4 && c == ' '))
            return NULL;
        if (want != 'a' && want != 'd' && c != want)
            return NULL;
    }
    p += sizeof(shape) - 1;
    if (p < end && *p == '.') {
        for (p++; p < end && sl_digit(*p); p++)
            ;
    }
    return p;
}

/* "tag[pid]: " or "tag: " at p, then the message; a line without such a
 * tag is all message. */
static void sl_tag(const char *p, const char *end, struct sl_line *l)
{
    const char *q = p, *close;

    while (q < end && *q != ' ' && *q != ':' && *q != '[')
        q++;
    sl_set(l, SL_MESSAGE, p, end);
    if (q == p || q == end)
        return;
    if (*q == '[') {
        close = memchr(q, ']', (size_t)(end - q));
        if (close == NULL || close + 1 == end || close[1] != ':' ||
            memchr(q, ' ', (size_t)(close - q)) != NULL)
            return;
        sl_set(l, SL_PID, q + 1, close);
        sl_set(l, SL_APP, p, q);
        q = close + 1;
    } else if (*q == ':') {
        sl_set(l, SL_APP, p, q);
    } else {
        return;
    }
    q++;
    if (q < end && *q == ' ')
        q++;
    sl_set(l, SL_MESSAGE, q, end);
}

static int sl_read_3164(const char *line, size_t len, struct sl_line *l)
{
    const char *p = line, *end = line + len, *t, *w;

    l->pri = -1;
    if (p < end && *p == '<' && sl_pri(&p, end, &l->pri) != VG_OK)
        return VG_EPARSE;
    t = sl_stamp(p, end);
    if (t == NULL || t == end || *t != ' ')
        return VG_EPARSE;
    sl_set(l, SL_TIME, p, t);
    p = t + 1;
    w = sl_word_end(p, end);
    /* a first word like "sshd[42]:" is the tag of a line without a host */
    if (w > p && w[-1] != ':' && memchr(p, '[', (size_t)(w - p)) == NULL) {
        sl_set(l, SL_HOST, p, w);
        p = w < end ? w + 1 : w;
    }
    sl_tag(p, end, l);
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * RFC 5424.
 */

/* The word at *p and the space after it ("-" leaves the field out). */
static int sl_field(const char **p, const char *end, struct sl_line *l, int field)
{
    const char *w = sl_word_end(*p, end);

    if (w == *p || w == end)
        return VG_EPARSE;
    if (!(w - *p == 1 && **p == '-'))
        sl_set(l, field, *p, w);
    *p = w + 1;
    return VG_OK;
}

/* The end of the structured data at p: "-", or "[...]" elements whose
 * quoted values may hold ']' and \" escapes. NULL when malformed. */
static const char *sl_sd_end(const char *p, const char *end)
{
    bool quoted;

    if (p < end && *p == '-')
        return p + 1;
    if (p == end || *p != '[')
        return NULL;
    while (p < end && *p == '[') {
        for (p++, quoted = false; p < end && (quoted || *p != ']'); p++) {
            if (quoted && *p == '\\' && p + 1 < end)
                p++;
            else if (*p == '"')
                quoted = !quoted;
        }
        if (p == end)
            return NULL;
        p++;
    }
    return p;
}

static int sl_read_5424(const char *line, size_t len, struct sl_line *l)
{
    const char *p = line, *end = line + len, *sd;
    int field;

    if (sl_pri(&p, end, &l->pri) != VG_OK || p == end || !sl_digit(*p) || *p == '0')
        return VG_EPARSE;
    while (p < end && sl_digit(*p))
        p++;
    if (p == end || *p != ' ')
        return VG_EPARSE;
    p++;
    for (field = SL_TIME; field <= SL_MSGID; field++) {
        if (sl_field(&p, end, l, field) != VG_OK)
            return VG_EPARSE;
    }
    sd = sl_sd_end(p, end);
    if (sd == NULL || (sd < end && *sd != ' '))
        return VG_EPARSE;
    if (*p != '-')
        sl_set(l, SL_SD, p, sd);
    if (sd < end) {
        p = sd + 1;
        if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
            p += 3;
        sl_set(l, SL_MESSAGE, p, end);
    }
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * Both.
 */

static int sl_put(struct vg_parse_ctx *c, int field, const char *val, size_t len)
{
    return vg_parser_put_text(c, sl_names[field], strlen(sl_names[field]), val, len,
                              &c->p->fixed[field]);
}

static int sl_emit(struct vg_parse_ctx *c, const struct sl_line *l)
{
    const char *level;
    int rc = VG_OK, field;

    if (l->pri >= 0) {
        level = vg_level_name(vg_level_from_syslog(l->pri & 7));
        rc = sl_put(c, SL_FACILITY, sl_facilities[l->pri >> 3], strlen(sl_facilities[l->pri >> 3]));
        if (rc == VG_OK)
            rc = sl_put(c, SL_SEVERITY, sl_severities[l->pri & 7],
                        strlen(sl_severities[l->pri & 7]));
        if (rc == VG_OK)
            rc = sl_put(c, SL_LEVEL, level, strlen(level));
    }
    for (field = SL_TIME; rc == VG_OK && field < SL_NKEYS; field++) {
        if (l->f[field].ptr != NULL)
            rc = sl_put(c, field, l->f[field].ptr, l->f[field].len);
    }
    return rc;
}

static int sl_run(struct vg_parse_ctx *c, const char *line, size_t len,
                  int (*read)(const char *, size_t, struct sl_line *))
{
    struct sl_line l;

    memset(&l, 0, sizeof(l));
    if (read(line, len, &l) != VG_OK)
        return VG_EPARSE;
    return sl_emit(c, &l);
}

static int sl_run_3164(struct vg_parse_ctx *c, const char *line, size_t len)
{
    return sl_run(c, line, len, sl_read_3164);
}

static int sl_run_5424(struct vg_parse_ctx *c, const char *line, size_t len)
{
    return sl_run(c, line, len, sl_read_5424);
}

const struct vg_parser_kind vg_parser_kind_syslog_rfc3164 = {
    .name = "syslog_rfc3164",
    .takes = 0,
    .fixed = sl_names,
    .n_fixed = SL_NKEYS,
    .run = sl_run_3164,
};

const struct vg_parser_kind vg_parser_kind_syslog_rfc5424 = {
    .name = "syslog_rfc5424",
    .takes = 0,
    .fixed = sl_names,
    .n_fixed = SL_NKEYS,
    .run = sl_run_5424,
};

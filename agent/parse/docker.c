/*
 * docker.c - the json-file log driver's line: one JSON object per chunk a
 * container prints, {"log":"...","stream":"stdout","time":"...","attrs":{...}}.
 *
 * A small scanner rather than a general JSON library: the object is walked
 * once, "log" is unescaped straight into the caller's buffer, the other
 * known keys are read in place, and every other value (attrs included) is
 * skipped by a validating skipper that never builds a tree. Nothing is
 * allocated but the caller's scratch buffer, and only when it must grow.
 */
#include <string.h>

#include "parse.h"

/* Nesting allowed inside a skipped value; deeper input is refused rather
 * than risking the stack on hostile lines. */
#define DK_MAX_DEPTH 128
/* Keys, "stream" and "time" values with escapes are unescaped into a stack
 * buffer of this size; longer ones cannot be anything the decoder knows. */
#define DK_SMALL_MAX   64
#define DK_REPLACEMENT 0xFFFDu

/* Where the scanner stands in the line. */
struct dk_cursor {
    const char *p;
    const char *end;
};

/* What the known keys gave so far. */
struct dk_state {
    int64_t time_ns;
    enum vg_stream stream;
    bool have_log;
    bool have_time;
    const char *attrs;
    size_t attrs_len;
};

static int dk_skip_value(struct dk_cursor *c, int depth);

static void dk_ws(struct dk_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Consumes ch (after whitespace) or returns VG_EPARSE. */
static int dk_expect(struct dk_cursor *c, char ch)
{
    dk_ws(c);
    if (c->p == c->end || *c->p != ch)
        return VG_EPARSE;
    c->p++;
    return VG_OK;
}

/* Four hex digits at s (the caller checked they are there), or -1. */
static long dk_hex4(const char *s)
{
    long v = 0;
    int i, d;

    for (i = 0; i < 4; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            d = s[i] - '0';
        else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
            d = (s[i] | 0x20) - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Writes code point cp as UTF-8 at dst (when not NULL); returns its length. */
static size_t dk_utf8(char *dst, unsigned long cp)
{
    unsigned char b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (dst != NULL)
        memcpy(dst, b, n);
    return n;
}

/*
 * Decodes the XXXX of a \uXXXX escape at c->p (the "\u" already consumed),
 * together with the low half that must follow a high surrogate. A lone or
 * mismatched half becomes U+FFFD; a following escape that is not a low
 * half is left for the caller to read on its own. Writes UTF-8 at dst
 * (when not NULL) and its length to *n. VG_OK or VG_EPARSE (bad hex).
 */
static int dk_unicode(struct dk_cursor *c, char *dst, size_t *n)
{
    long cp, lo;

    if (c->end - c->p < 4)
        return VG_EPARSE;
    cp = dk_hex4(c->p);
    if (cp < 0)
        return VG_EPARSE;
    c->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        lo = -1;
        if (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u')
            lo = dk_hex4(c->p + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            c->p += 6;
        } else {
            cp = DK_REPLACEMENT;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = DK_REPLACEMENT;
    }
    *n = dk_utf8(dst, (unsigned long)cp);
    return VG_OK;
}

/*
 * Decodes one escape at c->p (just past the backslash) into dst (when not
 * NULL), its length in *n; never longer than the escape itself, which
 * lets callers size the output by the input. VG_OK or VG_EPARSE.
 */
static int dk_escape(struct dk_cursor *c, char *dst, size_t *n)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit;

    if (c->p == c->end)
        return VG_EPARSE;
    if (*c->p == 'u') {
        c->p++;
        return dk_unicode(c, dst, n);
    }
    hit = *c->p != '\0' ? strchr(from, *c->p) : NULL;
    if (hit == NULL)
        return VG_EPARSE;
    if (dst != NULL)
        *dst = to[hit - from];
    *n = 1;
    c->p++;
    return VG_OK;
}

/*
 * Reads a JSON string whose opening quote is already consumed, leaving
 * c->p past the closing quote. With dst, writes the unescaped bytes there
 * (room for c->end - c->p bytes is enough); with NULL, only validates.
 * Raw bytes, control bytes and invalid UTF-8 included, are taken as they
 * are: the runtime wrote them, and dropping the line would lose the log.
 * *n is the unescaped length. VG_OK, or VG_EPARSE when unterminated or on
 * a bad escape.
 */
static int dk_string(struct dk_cursor *c, char *dst, size_t *n)
{
    const char *q = NULL, *b;
    size_t len = 0, run, k;

    for (;;) {
        /* the quote found earlier may have been an escaped one */
        if (q == NULL || q < c->p) {
            q = memchr(c->p, '"', (size_t)(c->end - c->p));
            if (q == NULL)
                return VG_EPARSE;
        }
        b = memchr(c->p, '\\', (size_t)(q - c->p));
        run = (size_t)((b != NULL ? b : q) - c->p);
        if (dst != NULL && run > 0)
            memcpy(dst + len, c->p, run);
        len += run;
        if (b == NULL)
            break;
        c->p = b + 1;
        if (dk_escape(c, dst != NULL ? dst + len : NULL, &k) != VG_OK)
            return VG_EPARSE;
        len += k;
    }
    c->p = q + 1;
    *n = len;
    return VG_OK;
}

/*
 * Reads a short string (a key, "stream" or "time" value) whose opening
 * quote is consumed: *out points into the line when it has no escape, into
 * buf (DK_SMALL_MAX bytes) when it does, and is NULL when it has escapes
 * and is too long for buf. VG_OK or VG_EPARSE.
 */
static int dk_small(struct dk_cursor *c, char *buf, const char **out, size_t *out_len)
{
    const char *raw = c->p;
    struct dk_cursor again;
    size_t raw_len, n;

    if (dk_string(c, NULL, &n) != VG_OK)
        return VG_EPARSE;
    raw_len = (size_t)(c->p - 1 - raw);
    *out = raw;
    *out_len = raw_len;
    if (memchr(raw, '\\', raw_len) == NULL)
        return VG_OK;
    *out = NULL;
    *out_len = 0;
    if (raw_len > DK_SMALL_MAX)
        return VG_OK;
    again.p = raw;
    again.end = c->end;
    if (dk_string(&again, buf, &n) != VG_OK)
        return VG_EPARSE;
    *out = buf;
    *out_len = n;
    return VG_OK;
}

/* Consumes the literal word (true, false, null) or returns VG_EPARSE. */
static int dk_literal(struct dk_cursor *c, const char *word, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return VG_EPARSE;
    c->p += n;
    return VG_OK;
}

/* Consumes a run of decimal digits; returns how many. */
static size_t dk_digits(struct dk_cursor *c)
{
    const char *s = c->p;

    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return (size_t)(c->p - s);
}

/* Skips a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int dk_skip_number(struct dk_cursor *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (dk_digits(c) == 0)
        return VG_EPARSE;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (dk_digits(c) == 0)
            return VG_EPARSE;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (dk_digits(c) == 0)
            return VG_EPARSE;
    }
    return VG_OK;
}

/*
 * Skips an object or array at c->p ('{' or '['), members and elements
 * validated, nested values one level deeper. VG_OK or VG_EPARSE.
 */
static int dk_skip_container(struct dk_cursor *c, int depth)
{
    char close = *c->p == '{' ? '}' : ']';
    size_t n;

    c->p++;
    dk_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return VG_OK;
    }
    for (;;) {
        if (close == '}' && (dk_expect(c, '"') != VG_OK || dk_string(c, NULL, &n) != VG_OK ||
                             dk_expect(c, ':') != VG_OK))
            return VG_EPARSE;
        if (dk_skip_value(c, depth) != VG_OK)
            return VG_EPARSE;
        dk_ws(c);
        if (c->p == c->end)
            return VG_EPARSE;
        if (*c->p == close) {
            c->p++;
            return VG_OK;
        }
        if (*c->p != ',')
            return VG_EPARSE;
        c->p++;
    }
}

/* Skips any JSON value after optional whitespace. VG_OK or VG_EPARSE. */
static int dk_skip_value(struct dk_cursor *c, int depth)
{
    size_t n;

    dk_ws(c);
    if (c->p == c->end)
        return VG_EPARSE;
    switch (*c->p) {
    case '"':
        c->p++;
        return dk_string(c, NULL, &n);
    case '{':
    case '[':
        if (depth >= DK_MAX_DEPTH)
            return VG_EPARSE;
        return dk_skip_container(c, depth + 1);
    case 't':
        return dk_literal(c, "true", 4);
    case 'f':
        return dk_literal(c, "false", 5);
    case 'n':
        return dk_literal(c, "null", 4);
    default:
        return dk_skip_number(c);
    }
}

/*
 * Unescapes the "log" string value into scratch (reset first; a repeated
 * key keeps the last). The unescaped text is never longer than the rest of
 * the line, so one reservation covers it. VG_OK, VG_EPARSE or VG_ENOMEM.
 */
static int dk_log(struct dk_cursor *c, struct vg_buf *scratch, struct dk_state *st)
{
    size_t n;

    if (dk_expect(c, '"') != VG_OK)
        return VG_EPARSE;
    vg_buf_reset(scratch);
    if (vg_buf_reserve(scratch, (size_t)(c->end - c->p)) != VG_OK)
        return VG_ENOMEM;
    if (dk_string(c, scratch->data, &n) != VG_OK)
        return VG_EPARSE;
    scratch->len = n;
    scratch->data[n] = '\0';
    st->have_log = true;
    return VG_OK;
}

/* Reads the "stream" value: a string; other than stdout/stderr is OTHER. */
static int dk_stream(struct dk_cursor *c, struct dk_state *st)
{
    char buf[DK_SMALL_MAX];
    const char *s;
    size_t n;

    if (dk_expect(c, '"') != VG_OK || dk_small(c, buf, &s, &n) != VG_OK)
        return VG_EPARSE;
    st->stream = VG_STREAM_OTHER;
    if (s != NULL && n == 6 && memcmp(s, "stdout", 6) == 0)
        st->stream = VG_STREAM_STDOUT;
    else if (s != NULL && n == 6 && memcmp(s, "stderr", 6) == 0)
        st->stream = VG_STREAM_STDERR;
    return VG_OK;
}

/* Reads the "time" value: an RFC 3339 string. VG_OK or VG_EPARSE. */
static int dk_time(struct dk_cursor *c, struct dk_state *st)
{
    char buf[DK_SMALL_MAX];
    const char *s;
    size_t n;

    if (dk_expect(c, '"') != VG_OK || dk_small(c, buf, &s, &n) != VG_OK || s == NULL ||
        vg_time_parse_rfc3339(s, n, &st->time_ns) != VG_OK)
        return VG_EPARSE;
    st->have_time = true;
    return VG_OK;
}

/* Keeps the raw JSON text of the "attrs" value, whatever its type. */
static int dk_attrs(struct dk_cursor *c, struct dk_state *st)
{
    const char *start;

    dk_ws(c);
    start = c->p;
    if (dk_skip_value(c, 0) != VG_OK)
        return VG_EPARSE;
    st->attrs = start;
    st->attrs_len = (size_t)(c->p - start);
    return VG_OK;
}

/* Reads one "key": value member and hands the value to its reader. */
static int dk_member(struct dk_cursor *c, struct vg_buf *scratch, struct dk_state *st)
{
    char buf[DK_SMALL_MAX];
    const char *k;
    size_t n;

    if (dk_expect(c, '"') != VG_OK || dk_small(c, buf, &k, &n) != VG_OK ||
        dk_expect(c, ':') != VG_OK)
        return VG_EPARSE;
    if (k == NULL)
        return dk_skip_value(c, 0);
    if (n == 3 && memcmp(k, "log", 3) == 0)
        return dk_log(c, scratch, st);
    if (n == 6 && memcmp(k, "stream", 6) == 0)
        return dk_stream(c, st);
    if (n == 4 && memcmp(k, "time", 4) == 0)
        return dk_time(c, st);
    if (n == 5 && memcmp(k, "attrs", 5) == 0)
        return dk_attrs(c, st);
    return dk_skip_value(c, 0);
}

/* Reads the whole object and checks nothing but whitespace follows it. */
static int dk_object(struct dk_cursor *c, struct vg_buf *scratch, struct dk_state *st)
{
    int rc;

    if (dk_expect(c, '{') != VG_OK)
        return VG_EPARSE;
    dk_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
    } else {
        for (;;) {
            rc = dk_member(c, scratch, st);
            if (rc != VG_OK)
                return rc;
            dk_ws(c);
            if (c->p < c->end && *c->p == '}') {
                c->p++;
                break;
            }
            if (c->p == c->end || *c->p != ',')
                return VG_EPARSE;
            c->p++;
        }
    }
    dk_ws(c);
    return c->p == c->end ? VG_OK : VG_EPARSE;
}

/* See parse.h. *out is written only on success (msg is scratch->data);
 * on failure scratch is left empty, never holding half a message. */
int vg_docker_decode(const char *line, size_t len, struct vg_buf *scratch,
                     struct vg_runtime_line *out)
{
    struct dk_state st = {.stream = VG_STREAM_OTHER};
    struct dk_cursor c;
    int rc = VG_EPARSE;

    vg_buf_reset(scratch);
    if (line == NULL || len == 0)
        goto fail;
    c.p = line;
    c.end = line + len;
    rc = dk_object(&c, scratch, &st);
    if (rc != VG_OK)
        goto fail;
    rc = VG_EPARSE;
    if (!st.have_log || !st.have_time)
        goto fail;
    out->partial = true;
    /* the runtime's own line ending marks a complete message; drop it */
    if (scratch->len > 0 && scratch->data[scratch->len - 1] == '\n') {
        scratch->len--;
        scratch->data[scratch->len] = '\0';
        out->partial = false;
    }
    out->time_ns = st.time_ns;
    out->stream = st.stream;
    out->msg = scratch->data;
    out->msg_len = scratch->len;
    out->attrs = st.attrs;
    out->attrs_len = st.attrs_len;
    return VG_OK;
fail:
    vg_buf_reset(scratch);
    return rc;
}

/*
 * json.c - a JSON reader that works on spans of the caller's text: one
 * validating pass (vg_json_parse), then walkers that find the end of each
 * value by scanning, without a tree and without allocating.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_ONES  UINT64_C(0x0101010101010101)
#define JSON_HIGHS UINT64_C(0x8080808080808080)

/* vg_json_double: significant digits kept when a number is rewritten for
 * strtod. 767 can decide the rounding of a double; the rest only matter as
 * "some non-zero digit follows", which one extra '1' says. */
#define JSON_DBL_DIGITS 800
#define JSON_DBL_BUF    (JSON_DBL_DIGITS + 32)
/* Beyond this decimal exponent every number is 0 or infinite anyway. */
#define JSON_EXP_CLAMP INT64_C(100000)

struct json_parser {
    const char *s;
    size_t len;
    size_t pos;     /* next byte; on error, where the problem is */
    unsigned depth; /* arrays and objects open at pos */
    bool lenient;   /* VG_JSON_LENIENT: raw control bytes inside strings pass */
    vg_json_member_fn fn;
    void *arg;
    int stop_rc; /* what fn returned when it stopped the scan, else VG_OK */
};

static int json_parse_value(struct json_parser *p, struct vg_json_value *out);

static bool json_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t json_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

/* Index of the first byte at or after s[i] that ends a run of plain string
 * bytes ('"', '\\' or, unless lenient, a control character), or a value
 * >= len when none does. Eight bytes at a time, as memchr does, without a
 * call for each short string: the tests on the word are exact about
 * whether it holds such a byte, and the byte loop finds it. */
static size_t json_str_stop_any(const char *s, size_t len, size_t i, bool lenient)
{
    uint64_t w, q, b, hit, ctl = lenient ? 0 : JSON_ONES * 0x20;

    while (i < len && len - i >= 8) {
        memcpy(&w, s + i, 8);
        q = w ^ (JSON_ONES * '"');
        b = w ^ (JSON_ONES * '\\');
        hit = ((q - JSON_ONES) & ~q) | ((b - JSON_ONES) & ~b) | ((w - ctl) & ~w & -(ctl != 0));
        if (hit & JSON_HIGHS)
            break;
        i += 8;
    }
    while (i < len && s[i] != '"' && s[i] != '\\' && (lenient || (unsigned char)s[i] >= 0x20))
        i++;
    return i;
}

static size_t json_str_stop(const char *s, size_t len, size_t i)
{
    return json_str_stop_any(s, len, i, false);
}

/* Reads four hex digits at s[at..at+4) into *cp. VG_OK or VG_EPARSE. */
static int json_hex4(const char *s, size_t len, size_t at, uint32_t *cp)
{
    uint32_t v = 0;
    size_t k;
    char c;

    if (at > len || len - at < 4)
        return VG_EPARSE;
    for (k = 0; k < 4; k++) {
        c = s[at + k];
        if (json_is_digit(c))
            v = v * 16 + (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (uint32_t)(c - 'A' + 10);
        else
            return VG_EPARSE;
    }
    *cp = v;
    return VG_OK;
}

/* The byte a one-letter escape stands for, or -1 when it is not one. */
static int json_simple_escape(char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return -1;
    }
}

/* Writes cp (at most U+10FFFF) as UTF-8 into out; returns its length. */
static size_t json_utf8(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape that starts at s[*i] == '\\' (s[0..len) bounds the
 * string's content) into out (1 to 4 bytes, *n of them) and moves *i past
 * it: a surrogate pair is one escape; a lone surrogate becomes U+FFFD.
 * VG_OK, or VG_EPARSE with *i unchanged. */
static int json_decode_escape(const char *s, size_t len, size_t *i, char *out, size_t *n)
{
    size_t j = *i + 1;
    uint32_t cp, lo;
    int c;

    if (j >= len)
        return VG_EPARSE;
    if (s[j] != 'u') {
        c = json_simple_escape(s[j]);
        if (c < 0)
            return VG_EPARSE;
        out[0] = (char)c;
        *n = 1;
        *i = j + 1;
        return VG_OK;
    }
    if (json_hex4(s, len, j + 1, &cp) != VG_OK)
        return VG_EPARSE;
    j += 5;
    if (cp >= 0xD800 && cp <= 0xDBFF && j + 1 < len && s[j] == '\\' && s[j + 1] == 'u' &&
        json_hex4(s, len, j + 2, &lo) == VG_OK && lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        j += 6;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    *n = json_utf8(cp, out);
    *i = j;
    return VG_OK;
}

/* Scans an RFC 8259 number at s[pos..len); *end is one past what matched
 * (on error, the offending byte). VG_OK or VG_EPARSE. A leading zero ends
 * the integer part, so "01" scans as "0" and the caller sees the '1'. */
static int json_scan_number(const char *s, size_t len, size_t pos, size_t *end)
{
    size_t i = pos;

    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !json_is_digit(s[i]))
        goto bad;
    if (s[i] == '0')
        i++;
    else
        while (i < len && json_is_digit(s[i]))
            i++;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || !json_is_digit(s[i]))
            goto bad;
        while (i < len && json_is_digit(s[i]))
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || !json_is_digit(s[i]))
            goto bad;
        while (i < len && json_is_digit(s[i]))
            i++;
    }
    *end = i;
    return VG_OK;
bad:
    *end = i;
    return VG_EPARSE;
}

/* The kind of value that starts with byte c; false when none does. */
static bool json_kind_of(char c, enum vg_json_kind *kind)
{
    switch (c) {
    case '{':
        *kind = VG_JSON_OBJECT;
        return true;
    case '[':
        *kind = VG_JSON_ARRAY;
        return true;
    case '"':
        *kind = VG_JSON_STRING;
        return true;
    case 't':
        *kind = VG_JSON_TRUE;
        return true;
    case 'f':
        *kind = VG_JSON_FALSE;
        return true;
    case 'n':
        *kind = VG_JSON_NULL;
        return true;
    default:
        *kind = VG_JSON_NUMBER;
        return c == '-' || json_is_digit(c);
    }
}

/* Matches the literal of that kind at s[i..len); *end is one past it. */
static int json_scan_word(const char *s, size_t len, size_t i, enum vg_json_kind kind, size_t *end)
{
    const char *w = kind == VG_JSON_TRUE ? "true" : kind == VG_JSON_FALSE ? "false" : "null";
    size_t n = strlen(w);

    if (i > len || len - i < n || memcmp(s + i, w, n) != 0)
        return VG_EPARSE;
    *end = i + n;
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * Validation.
 */

/* A string at p->pos (on its opening quote); p->pos moves past it. */
static int json_parse_string(struct json_parser *p)
{
    size_t i = p->pos + 1;
    size_t n;
    char tmp[4];

    for (;;) {
        i = json_str_stop_any(p->s, p->len, i, p->lenient);
        if (i >= p->len) {
            i = p->len;
            break;
        }
        if (p->s[i] == '"') {
            p->pos = i + 1;
            return VG_OK;
        }
        /* a raw control character (never lenient), or a bad escape, which
         * leaves i on its '\\' */
        if (p->s[i] != '\\')
            break;
        if (json_decode_escape(p->s, p->len, &i, tmp, &n) != VG_OK)
            break;
    }
    p->pos = i;
    return VG_EPARSE;
}

/* Moves p->pos past whitespace and the separator that must follow an
 * element: ',' (returns 1, then past more whitespace), close (returns 0),
 * or anything else (VG_EPARSE, p->pos on it). */
static int json_parse_sep(struct json_parser *p, char close)
{
    p->pos = json_ws(p->s, p->len, p->pos);
    if (p->pos >= p->len)
        return VG_EPARSE;
    if (p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    if (p->s[p->pos] != ',')
        return VG_EPARSE;
    p->pos = json_ws(p->s, p->len, p->pos + 1);
    return 1;
}

/* An array at p->pos (on its '['). */
static int json_parse_array(struct json_parser *p)
{
    int rc;

    p->depth++;
    if (p->depth > VG_JSON_MAX_DEPTH)
        return VG_EPARSE;
    p->pos = json_ws(p->s, p->len, p->pos + 1);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        p->depth--;
        return VG_OK;
    }
    do {
        if (json_parse_value(p, NULL) != VG_OK)
            return VG_EPARSE;
        rc = json_parse_sep(p, ']');
    } while (rc == 1);
    p->depth--;
    return rc;
}

/* One "key": value member at p->pos (on the key's quote, or not). A
 * member of the top object goes to p->fn once it is read; what fn returns
 * other than VG_OK stops the scan (kept in p->stop_rc). */
static int json_parse_member(struct json_parser *p)
{
    struct vg_json_value key, val;
    size_t start = p->pos;

    if (p->pos >= p->len || p->s[p->pos] != '"' || json_parse_string(p) != VG_OK)
        return VG_EPARSE;
    key.kind = VG_JSON_STRING;
    key.ptr = p->s + start;
    key.len = p->pos - start;
    p->pos = json_ws(p->s, p->len, p->pos);
    if (p->pos >= p->len || p->s[p->pos] != ':')
        return VG_EPARSE;
    p->pos = json_ws(p->s, p->len, p->pos + 1);
    if (json_parse_value(p, &val) != VG_OK)
        return VG_EPARSE;
    if (p->fn == NULL || p->depth != 1)
        return VG_OK;
    p->stop_rc = p->fn(p->arg, &key, &val);
    return p->stop_rc == VG_OK ? VG_OK : VG_EPARSE;
}

/* An object at p->pos (on its '{'). */
static int json_parse_object(struct json_parser *p)
{
    int rc;

    p->depth++;
    if (p->depth > VG_JSON_MAX_DEPTH)
        return VG_EPARSE;
    p->pos = json_ws(p->s, p->len, p->pos + 1);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        p->depth--;
        return VG_OK;
    }
    do {
        if (json_parse_member(p) != VG_OK)
            return VG_EPARSE;
        rc = json_parse_sep(p, '}');
    } while (rc == 1);
    p->depth--;
    return rc;
}

/* Any value at p->pos (no whitespace before it); fills out when not NULL. */
static int json_parse_value(struct json_parser *p, struct vg_json_value *out)
{
    size_t start = p->pos;
    enum vg_json_kind kind;
    int rc;

    if (start >= p->len || !json_kind_of(p->s[start], &kind))
        return VG_EPARSE;
    switch (kind) {
    case VG_JSON_OBJECT:
        rc = json_parse_object(p);
        break;
    case VG_JSON_ARRAY:
        rc = json_parse_array(p);
        break;
    case VG_JSON_STRING:
        rc = json_parse_string(p);
        break;
    case VG_JSON_NUMBER:
        rc = json_scan_number(p->s, p->len, start, &p->pos);
        break;
    default:
        rc = json_scan_word(p->s, p->len, start, kind, &p->pos);
        break;
    }
    if (rc == VG_OK && out != NULL) {
        out->kind = kind;
        out->ptr = p->s + start;
        out->len = p->pos - start;
    }
    return rc;
}

int vg_json_parse(const char *s, size_t len, struct vg_json_value *out, size_t *err_off)
{
    return vg_json_scan(s, len, 0, NULL, NULL, out, err_off);
}

int vg_json_scan(const char *s, size_t len, unsigned flags, vg_json_member_fn fn, void *arg,
                 struct vg_json_value *out, size_t *err_off)
{
    struct json_parser p = {.s = s, .len = s != NULL ? len : 0};
    struct vg_json_value v;

    p.lenient = (flags & VG_JSON_LENIENT) != 0;
    p.fn = fn;
    p.arg = arg;

    p.pos = json_ws(p.s, p.len, 0);
    if (json_parse_value(&p, &v) != VG_OK)
        goto fail;
    p.pos = json_ws(p.s, p.len, p.pos);
    if (p.pos != p.len)
        goto fail;
    if (out != NULL)
        *out = v;
    return VG_OK;
fail:
    if (err_off != NULL)
        *err_off = p.pos;
    return p.stop_rc != VG_OK ? p.stop_rc : VG_EPARSE;
}

/* ------------------------------------------------------------------------
 * Walking. Every scan below is bounded by the end it is given, which is
 * the closing bracket of the container walked, so a value found inside
 * always lies strictly within its parent, whatever the bytes.
 */

/* A string at s[i] (its quote); *end is one past its closing quote. */
static int json_skip_string(const char *s, size_t len, size_t i, size_t *end)
{
    size_t j = i + 1;

    for (;;) {
        j = json_str_stop(s, len, j);
        if (j >= len)
            return VG_EPARSE;
        if (s[j] == '"')
            break;
        /* an escape hides the byte after it; a raw control byte is skipped */
        j += s[j] == '\\' ? 2 : 1;
    }
    *end = j + 1;
    return VG_OK;
}

/* An array or object at s[i]: its end is where its brackets balance (the
 * strings inside skipped), and that bracket must match the opening one. */
static int json_skip_container(const char *s, size_t len, size_t i, size_t *end)
{
    char close = s[i] == '{' ? '}' : ']';
    size_t depth = 0;
    size_t j = i;

    while (j < len) {
        if (s[j] == '"') {
            if (json_skip_string(s, len, j, &j) != VG_OK)
                return VG_EPARSE;
            continue;
        }
        if (s[j] == '{' || s[j] == '[') {
            depth++;
        } else if (s[j] == '}' || s[j] == ']') {
            depth--;
            if (depth == 0) {
                *end = j + 1;
                return s[j] == close ? VG_OK : VG_EPARSE;
            }
        }
        j++;
    }
    return VG_EPARSE;
}

/* The value that starts at s[i], bounded by len, into *out. */
static int json_skip(const char *s, size_t len, size_t i, struct vg_json_value *out)
{
    enum vg_json_kind kind;
    size_t end = i;
    int rc;

    if (i >= len || !json_kind_of(s[i], &kind))
        return VG_EPARSE;
    if (kind == VG_JSON_STRING)
        rc = json_skip_string(s, len, i, &end);
    else if (kind == VG_JSON_OBJECT || kind == VG_JSON_ARRAY)
        rc = json_skip_container(s, len, i, &end);
    else if (kind == VG_JSON_NUMBER)
        rc = json_scan_number(s, len, i, &end);
    else
        rc = json_scan_word(s, len, i, kind, &end);
    if (rc != VG_OK)
        return VG_EPARSE;
    out->kind = kind;
    out->ptr = s + i;
    out->len = end - i;
    return VG_OK;
}

/* Checks that v is an array or object (kind) with its brackets in place;
 * *end is the index of its closing bracket, *i where the walk resumes. */
static int json_walk_begin(const struct vg_json_value *v, enum vg_json_kind kind, size_t pos,
                           size_t *i, size_t *end)
{
    char open = kind == VG_JSON_OBJECT ? '{' : '[';
    char close = kind == VG_JSON_OBJECT ? '}' : ']';

    if (v == NULL || v->kind != kind || v->ptr == NULL || v->len < 2 || v->ptr[0] != open ||
        v->ptr[v->len - 1] != close)
        return VG_EPARSE;
    *end = v->len - 1;
    *i = json_ws(v->ptr, *end, pos == 0 ? 1 : pos);
    return VG_OK;
}

/* After an element that ends at s[i]: stores in *pos where the next one
 * starts (past a ',') or the closing bracket. 1, or VG_EPARSE when
 * something else follows. */
static int json_walk_next(const char *s, size_t end, size_t i, size_t *pos)
{
    i = json_ws(s, end, i);
    if (i < end) {
        if (s[i] != ',')
            return VG_EPARSE;
        i++;
    }
    *pos = i;
    return 1;
}

int vg_json_object_next(const struct vg_json_value *obj, size_t *pos, struct vg_json_value *key,
                        struct vg_json_value *val)
{
    size_t i, end;

    if (pos == NULL || key == NULL || val == NULL ||
        json_walk_begin(obj, VG_JSON_OBJECT, *pos, &i, &end) != VG_OK)
        return VG_EPARSE;
    if (i >= end) {
        *pos = end;
        return 0;
    }
    if (obj->ptr[i] != '"' || json_skip(obj->ptr, end, i, key) != VG_OK)
        return VG_EPARSE;
    i = json_ws(obj->ptr, end, i + key->len);
    if (i >= end || obj->ptr[i] != ':')
        return VG_EPARSE;
    i = json_ws(obj->ptr, end, i + 1);
    if (json_skip(obj->ptr, end, i, val) != VG_OK)
        return VG_EPARSE;
    return json_walk_next(obj->ptr, end, i + val->len, pos);
}

int vg_json_array_next(const struct vg_json_value *arr, size_t *pos, struct vg_json_value *val)
{
    size_t i, end;

    if (pos == NULL || val == NULL || json_walk_begin(arr, VG_JSON_ARRAY, *pos, &i, &end) != VG_OK)
        return VG_EPARSE;
    if (i >= end) {
        *pos = end;
        return 0;
    }
    if (json_skip(arr->ptr, end, i, val) != VG_OK)
        return VG_EPARSE;
    return json_walk_next(arr->ptr, end, i + val->len, pos);
}

int vg_json_get(const struct vg_json_value *obj, const char *name, struct vg_json_value *out)
{
    struct vg_json_value key, val;
    size_t pos = 0;
    int rc;

    if (out == NULL)
        return VG_EPARSE;
    for (;;) {
        rc = vg_json_object_next(obj, &pos, &key, &val);
        if (rc < 0)
            return VG_EPARSE;
        if (rc == 0)
            return VG_ENOENT;
        if (vg_json_string_is(&key, name)) {
            *out = val;
            return VG_OK;
        }
    }
}

/* ------------------------------------------------------------------------
 * Strings and numbers.
 */

static bool json_is_string(const struct vg_json_value *v)
{
    return v != NULL && v->kind == VG_JSON_STRING && v->ptr != NULL && v->len >= 2 &&
           v->ptr[0] == '"' && v->ptr[v->len - 1] == '"';
}

/* Writes the unescaped content of a checked string value to dst, which has
 * room for its escaped length (the unescaped text is never longer); *n is
 * how many bytes. VG_OK or VG_EPARSE (a bad escape). */
static int json_unescape_into(const struct vg_json_value *str, char *dst, size_t *n)
{
    const char *s = str->ptr + 1, *bs;
    size_t len = str->len - 2, i = 0, o = 0, stop, k;

    while (i < len) {
        bs = memchr(s + i, '\\', len - i);
        stop = bs != NULL ? (size_t)(bs - s) : len;
        memcpy(dst + o, s + i, stop - i);
        o += stop - i;
        i = stop;
        if (i == len)
            break;
        if (json_decode_escape(s, len, &i, dst + o, &k) != VG_OK)
            return VG_EPARSE;
        o += k;
    }
    *n = o;
    return VG_OK;
}

int vg_json_unescape(const struct vg_json_value *str, struct vg_buf *out)
{
    size_t n;

    if (!json_is_string(str) || out == NULL)
        return VG_EPARSE;
    /* unescaped text is never longer than escaped text: one reservation */
    if (vg_buf_reserve(out, str->len - 2) != VG_OK)
        return VG_ENOMEM;
    if (json_unescape_into(str, out->data + out->len, &n) != VG_OK) {
        out->data[out->len] = '\0';
        return VG_EPARSE;
    }
    out->len += n;
    out->data[out->len] = '\0';
    return VG_OK;
}

int vg_json_unescape_to(const struct vg_json_value *str, char *dst, size_t cap, size_t *n)
{
    if (!json_is_string(str) || dst == NULL || n == NULL)
        return VG_EPARSE;
    if (str->len - 2 > cap)
        return VG_ENOMEM;
    return json_unescape_into(str, dst, n);
}

/* Consumes b[0..k) from name[*at..nlen) when they are equal. */
static bool json_match(const char *name, size_t nlen, size_t *at, const char *b, size_t k)
{
    if (nlen - *at < k || memcmp(name + *at, b, k) != 0)
        return false;
    *at += k;
    return true;
}

bool vg_json_string_is(const struct vg_json_value *str, const char *name)
{
    const char *s, *bs;
    size_t len, nlen, i = 0, at = 0, stop, n;
    char tmp[4];

    if (!json_is_string(str) || name == NULL)
        return false;
    s = str->ptr + 1;
    len = str->len - 2;
    nlen = strlen(name);
    while (i < len) {
        bs = memchr(s + i, '\\', len - i);
        stop = bs != NULL ? (size_t)(bs - s) : len;
        if (!json_match(name, nlen, &at, s + i, stop - i))
            return false;
        i = stop;
        if (i == len)
            break;
        if (json_decode_escape(s, len, &i, tmp, &n) != VG_OK ||
            !json_match(name, nlen, &at, tmp, n))
            return false;
    }
    return at == nlen;
}

/* True when v is a number whose whole span follows the grammar. */
static bool json_is_number(const struct vg_json_value *v)
{
    size_t end;

    return v != NULL && v->kind == VG_JSON_NUMBER && v->ptr != NULL && v->len > 0 &&
           json_scan_number(v->ptr, v->len, 0, &end) == VG_OK && end == v->len;
}

int vg_json_int(const struct vg_json_value *num, int64_t *out)
{
    const char *s;
    uint64_t mag = 0, limit, d;
    size_t i;
    bool neg;

    if (!json_is_number(num) || out == NULL)
        return VG_EPARSE;
    s = num->ptr;
    neg = s[0] == '-';
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (i = neg ? 1 : 0; i < num->len; i++) {
        if (!json_is_digit(s[i]))
            return VG_EPARSE; /* a fraction or an exponent */
        d = (uint64_t)(s[i] - '0');
        if (mag > (limit - d) / 10)
            return VG_EPARSE;
        mag = mag * 10 + d;
    }
    if (!neg)
        *out = (int64_t)mag;
    else if (mag == (uint64_t)INT64_MAX + 1)
        *out = INT64_MIN;
    else
        *out = -(int64_t)mag;
    return VG_OK;
}

/* The exponent part at s[i..len) ('e' or 'E', or nothing), saturated far
 * beyond any exponent that still changes a double. */
static int64_t json_exponent(const char *s, size_t len, size_t i)
{
    int64_t e = 0;
    bool neg = false;

    if (i >= len)
        return 0;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        if (e < INT64_C(1000000000))
            e = e * 10 + (s[i] - '0');
    }
    return neg ? -e : e;
}

/* Rewrites the number s[0..len) (valid grammar) into buf as
 * [-]DIGITSe[-]EXP with at most JSON_DBL_DIGITS + 1 digits, the same
 * double once rounded, so that any length fits a buffer on the stack. */
static void json_number_normalize(const char *s, size_t len, char *buf)
{
    size_t i = 0, o = 0, kept = 0;
    int64_t e = 0;
    bool frac = false, sticky = false;
    char digits[24];
    size_t nd = 0;

    if (s[0] == '-')
        buf[o++] = s[i++];
    for (; i < len && s[i] != 'e' && s[i] != 'E'; i++) {
        if (s[i] == '.') {
            frac = true;
        } else if (kept == 0 && s[i] == '0') {
            e -= frac ? 1 : 0;
        } else if (kept < JSON_DBL_DIGITS) {
            buf[o++] = s[i];
            kept++;
            e -= frac ? 1 : 0;
        } else {
            sticky = sticky || s[i] != '0';
            e += frac ? 0 : 1;
        }
    }
    if (kept == 0)
        buf[o++] = '0';
    if (sticky) {
        buf[o++] = '1';
        e--;
    }
    e += json_exponent(s, len, i);
    e = e > JSON_EXP_CLAMP ? JSON_EXP_CLAMP : e < -JSON_EXP_CLAMP ? -JSON_EXP_CLAMP : e;
    buf[o++] = 'e';
    if (e < 0)
        buf[o++] = '-';
    e = e < 0 ? -e : e;
    do {
        digits[nd++] = (char)('0' + e % 10);
        e /= 10;
    } while (e > 0);
    while (nd > 0)
        buf[o++] = digits[--nd];
    buf[o] = '\0';
}

/*
 * The common short decimal ("45.888", "-0.25", "1200"): at most 15
 * significant digits and a fraction of at most 22 digits, no exponent. Its
 * digits as an integer and the power of ten are both exact doubles, and
 * one IEEE division rounds correctly, so the result is strtod's, without
 * its cost (Clinger's fast path). False for anything else.
 */
static bool json_double_fast(const char *s, size_t len, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t m = 0;
    size_t i = 0, digits = 0, frac = 0;
    bool neg = false, dot = false;

    if (len > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    for (; i < len; i++) {
        if (s[i] == '.' && !dot) {
            dot = true;
            continue;
        }
        if (s[i] < '0' || s[i] > '9' || ++digits > 15)
            return false;
        m = m * 10 + (uint64_t)(s[i] - '0');
        frac += dot;
    }
    if (digits == 0 || frac >= VG_ARRAY_LEN(pow10))
        return false;
    *out = (double)m / pow10[frac];
    if (neg)
        *out = -*out;
    return true;
}

int vg_json_double(const struct vg_json_value *num, double *out)
{
    char buf[JSON_DBL_BUF];

    if (!json_is_number(num) || out == NULL)
        return VG_EPARSE;
    if (json_double_fast(num->ptr, num->len, out))
        return VG_OK;
    /* strtod needs a terminated copy; the span is not terminated */
    if (num->len < 64) {
        memcpy(buf, num->ptr, num->len);
        buf[num->len] = '\0';
    } else {
        json_number_normalize(num->ptr, num->len, buf);
    }
    *out = strtod(buf, NULL);
    return VG_OK;
}

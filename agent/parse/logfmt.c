/*
 * logfmt.c - the logfmt parser: `key=value key2="quoted \" value" flag`,
 * as Go's logfmt, logrus and slog's text handler write it. One pass finds
 * every pair; the fields go out once the whole line is known to be logfmt.
 *
 * A key is a run of bytes other than space, tab, '=' and '"'. A value is
 * either quoted (JSON escapes: \" \\ \n \t \uXXXX ...; a quoted value must
 * be followed by a space or the end) or a run of bytes up to the next space
 * or tab ('=' and '"' included), possibly empty ("key="). A key without
 * '=' is a bare key, the boolean true. A line with no key=value pair at
 * all, a '=' or '"' where a key should start, or an unterminated quote, is
 * not logfmt.
 */
#include <string.h>

#include "json.h"
#include "parser_internal.h"

enum { LF_BARE, LF_PLAIN, LF_QUOTED };

static bool lf_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* True when the quote at line[i] is escaped: an odd run of backslashes,
 * after from, comes right before it. */
static bool lf_escaped(const char *line, size_t from, size_t i)
{
    size_t k = i;

    while (k > from && line[k - 1] == '\\')
        k--;
    return (i - k) % 2 == 1;
}

/* The end of a quoted value whose opening quote is at line[open]: one past
 * its closing quote, or 0 when it has none. */
static size_t lf_quoted_end(const char *line, size_t len, size_t open)
{
    const char *q;
    size_t i = open + 1;

    while (i < len) {
        q = memchr(line + i, '"', len - i);
        if (q == NULL)
            return 0;
        i = (size_t)(q - line);
        if (!lf_escaped(line, open + 1, i))
            return i + 1;
        i++;
    }
    return 0;
}

/* The value after '=' at line[*i]; *i moves past it. VG_OK or VG_EPARSE. */
static int lf_value(const char *line, size_t len, size_t *i, struct vg_parser_span *s)
{
    size_t start = *i, end;

    if (start < len && line[start] == '"') {
        end = lf_quoted_end(line, len, start);
        if (end == 0 || (end < len && !lf_is_space(line[end])))
            return VG_EPARSE;
        s->kind = LF_QUOTED;
    } else {
        end = start;
        while (end < len && !lf_is_space(line[end]))
            end++;
        s->kind = LF_PLAIN;
    }
    s->val = line + start;
    s->val_len = end - start;
    *i = end;
    return VG_OK;
}

/* Finds every pair of the line into the parser's spans. */
static int lf_scan(struct vg_parse_ctx *c, const char *line, size_t len, size_t *pairs)
{
    struct vg_parser_span s;
    size_t i = 0, start;
    int rc;

    for (;;) {
        while (i < len && lf_is_space(line[i]))
            i++;
        if (i == len)
            return VG_OK;
        start = i;
        while (i < len && !lf_is_space(line[i]) && line[i] != '=' && line[i] != '"')
            i++;
        if (i == start || (i < len && line[i] == '"'))
            return VG_EPARSE;
        s.key = line + start;
        s.key_len = i - start;
        s.val = NULL;
        s.val_len = 0;
        s.kind = LF_BARE;
        if (i < len && line[i] == '=') {
            i++;
            if (lf_value(line, len, &i, &s) != VG_OK)
                return VG_EPARSE;
            (*pairs)++;
        }
        rc = vg_parser_push_span(c, &s);
        if (rc != VG_OK)
            return rc;
    }
}

/* Emits one pair: a bare key is true, a quoted value is unescaped (kept as
 * written when its escapes are not JSON's). */
static int lf_emit(struct vg_parse_ctx *c, const struct vg_parser_span *s)
{
    struct vg_json_value q = {VG_JSON_STRING, s->val, s->val_len};
    struct vg_parse_field f = {.key = s->key, .key_len = s->key_len, .type = VG_FIELD_BOOL};
    struct vg_buf *buf = &c->p->val_buf;
    struct vg_parser_key k;
    const char *val = s->val;
    size_t len = s->val_len;

    if (s->kind == LF_BARE) {
        f.v.b = true;
        return vg_parser_put(c, &f);
    }
    if (s->kind == LF_QUOTED) {
        val++;
        len -= 2;
        vg_buf_reset(buf);
        if (memchr(val, '\\', len) != NULL && vg_json_unescape(&q, buf) == VG_OK) {
            val = buf->data;
            len = buf->len;
        }
    }
    vg_parser_key_of(c->p, s->key, s->key_len, &k);
    return vg_parser_put_text(c, s->key, s->key_len, val, len, &k);
}

static int lf_run(struct vg_parse_ctx *c, const char *line, size_t len)
{
    size_t pairs = 0, i;
    int rc;

    rc = lf_scan(c, line, len, &pairs);
    if (rc == VG_OK && pairs == 0)
        rc = VG_EPARSE;
    if (rc != VG_OK) {
        c->res->flags &= ~VG_PARSE_TOO_MANY;
        return rc;
    }
    for (i = 0; i < c->n_spans; i++) {
        rc = lf_emit(c, &c->p->spans[i]);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

const struct vg_parser_kind vg_parser_kind_logfmt = {
    .name = "logfmt",
    .takes = 0,
    .run = lf_run,
};

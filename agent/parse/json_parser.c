/*
 * json_parser.c - the json parser: a line that is one JSON object becomes
 * one field per member. The line is read in the JSON reader's single pass
 * (lenient unless `strict`: raw tabs and other control bytes inside strings
 * pass), which hands over each member's span; the fields go out once the
 * whole line is known to be valid, so that a broken line emits nothing.
 *
 * Strings are unescaped (only when they hold an escape) into the parser's
 * scratch; integers that fit int64 stay integers, other numbers doubles;
 * true and false are booleans; null, objects and arrays are JSON text, so
 * that outputs write them as JSON again. With `merge_into`, the object is
 * one JSON field of that name instead (its time_key still read).
 */
#include <string.h>

#include "json.h"
#include "parser_internal.h"

static const char jp_hex[] = "0123456789abcdef";

/* The scan hands over a member; with merge_into only time_key matters. */
static int jp_member(void *arg, const struct vg_json_value *key, const struct vg_json_value *val)
{
    struct vg_parse_ctx *c = arg;
    struct vg_parser_span s = {
        .key = key->ptr,
        .key_len = key->len,
        .val = val->ptr,
        .val_len = val->len,
        .kind = (int)val->kind,
    };
    const struct vg_parser *p = c->p;

    if (p->merge_into != NULL && (p->time_key == NULL || !vg_json_string_is(key, p->time_key)))
        return VG_OK;
    return vg_parser_push_span(c, &s);
}

/* The text of a string value (quotes included in v): in the line when it
 * has no escape, else unescaped into buf. VG_OK, VG_ENOMEM. */
static int jp_text(const struct vg_json_value *v, struct vg_buf *buf, const char **out,
                   size_t *out_len)
{
    int rc;

    if (memchr(v->ptr + 1, '\\', v->len - 2) == NULL) {
        *out = v->ptr + 1;
        *out_len = v->len - 2;
        return VG_OK;
    }
    vg_buf_reset(buf);
    rc = vg_json_unescape(v, buf);
    if (rc != VG_OK)
        return rc;
    *out = buf->data;
    *out_len = buf->len;
    return VG_OK;
}

/* How many bytes below 0x20 are in s[0..len). */
static size_t jp_controls(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++)
        n += (unsigned char)s[i] < 0x20 ? 1 : 0;
    return n;
}

/* JSON text of an object or array that outputs can write as it is: a
 * lenient line's raw control bytes inside strings become \u00XX escapes
 * (into buf); anything else is the line's own text. */
static int jp_json_text(const struct vg_parser *p, const char *s, size_t len, struct vg_buf *buf,
                        const char **out, size_t *out_len)
{
    bool in_str = false;
    size_t i, n;
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};

    *out = s;
    *out_len = len;
    n = p->strict ? 0 : jp_controls(s, len);
    if (n == 0)
        return VG_OK;
    vg_buf_reset(buf);
    /* one reservation: each control byte grows by at most five */
    if (vg_buf_reserve(buf, len + 5 * n) != VG_OK)
        return VG_ENOMEM;
    for (i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];

        if (in_str && b < 0x20) {
            esc[4] = jp_hex[b >> 4];
            esc[5] = jp_hex[b & 0xf];
            vg_buf_append(buf, esc, sizeof(esc));
            continue;
        }
        vg_buf_putc(buf, (char)b);
        if (in_str && b == '\\' && i + 1 < len)
            vg_buf_putc(buf, s[++i]);
        else if (b == '"')
            in_str = !in_str;
    }
    *out = buf->data;
    *out_len = buf->len;
    return VG_OK;
}

/* A number member: time_key's, an integer, or a double. */
static int jp_number(struct vg_parse_ctx *c, struct vg_parse_field *f,
                     const struct vg_json_value *v, const struct vg_parser_key *k)
{
    if (k->is_time && vg_parser_take_time(c, v->ptr, v->len) && !c->p->time_keep)
        return VG_OK;
    f->type = VG_FIELD_INT;
    if (vg_json_int(v, &f->v.i) != VG_OK) {
        f->type = VG_FIELD_DOUBLE;
        (void)vg_json_double(v, &f->v.d);
    }
    return vg_parser_put(c, f);
}

/* Emits one kept member. */
static int jp_emit(struct vg_parse_ctx *c, const struct vg_parser_span *s)
{
    struct vg_parser *p = c->p;
    struct vg_json_value key = {VG_JSON_STRING, s->key, s->key_len};
    struct vg_json_value v = {(enum vg_json_kind)s->kind, s->val, s->val_len};
    struct vg_parse_field f = {.type = VG_FIELD_JSON};
    struct vg_parser_key k;
    const char *text;
    size_t len;
    int rc;

    rc = jp_text(&key, &p->key_buf, &f.key, &f.key_len);
    if (rc != VG_OK)
        return rc;
    vg_parser_key_of(p, f.key, f.key_len, &k);
    if (v.kind == VG_JSON_STRING) {
        rc = jp_text(&v, &p->val_buf, &text, &len);
        return rc != VG_OK ? rc : vg_parser_put_text(c, f.key, f.key_len, text, len, &k);
    }
    if (v.kind == VG_JSON_NUMBER)
        return jp_number(c, &f, &v, &k);
    if (k.is_time)
        c->res->flags |= VG_PARSE_BAD_TIME;
    if (v.kind == VG_JSON_TRUE || v.kind == VG_JSON_FALSE) {
        f.type = VG_FIELD_BOOL;
        f.v.b = v.kind == VG_JSON_TRUE;
        return vg_parser_put(c, &f);
    }
    rc = jp_json_text(p, v.ptr, v.len, &p->val_buf, &f.v.s.ptr, &f.v.s.len);
    return rc != VG_OK ? rc : vg_parser_put(c, &f);
}

/* merge_into: the time from the kept time_key member, then the object. */
static int jp_merge(struct vg_parse_ctx *c, const struct vg_json_value *top)
{
    struct vg_parser *p = c->p;
    struct vg_parse_field f = {.type = VG_FIELD_JSON};
    struct vg_json_value v;
    const char *text;
    size_t i, len;
    int rc;

    for (i = 0; i < c->n_spans; i++) {
        v.kind = (enum vg_json_kind)p->spans[i].kind;
        v.ptr = p->spans[i].val;
        v.len = p->spans[i].val_len;
        if (v.kind == VG_JSON_NUMBER) {
            (void)vg_parser_take_time(c, v.ptr, v.len);
        } else if (v.kind == VG_JSON_STRING) {
            rc = jp_text(&v, &p->val_buf, &text, &len);
            if (rc != VG_OK)
                return rc;
            (void)vg_parser_take_time(c, text, len);
        } else {
            c->res->flags |= VG_PARSE_BAD_TIME;
        }
    }
    f.key = p->merge_into;
    f.key_len = strlen(p->merge_into);
    rc = jp_json_text(p, top->ptr, top->len, &p->val_buf, &f.v.s.ptr, &f.v.s.len);
    return rc != VG_OK ? rc : vg_parser_put(c, &f);
}

static int jp_run(struct vg_parse_ctx *c, const char *line, size_t len)
{
    struct vg_json_value top;
    size_t i;
    int rc;

    rc = vg_json_scan(line, len, c->p->strict ? 0 : VG_JSON_LENIENT, jp_member, c, &top, NULL);
    if (rc == VG_OK && top.kind != VG_JSON_OBJECT)
        rc = VG_EPARSE;
    if (rc != VG_OK) {
        c->res->flags &= ~VG_PARSE_TOO_MANY;
        return rc;
    }
    if (c->p->merge_into != NULL)
        return jp_merge(c, &top);
    for (i = 0; i < c->n_spans; i++) {
        rc = jp_emit(c, &c->p->spans[i]);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

const struct vg_parser_kind vg_parser_kind_json = {
    .name = "json",
    .takes = VG_PARSER_TAKES_JSON,
    .run = jp_run,
};

/*
 * es_parse.c - the pure parts of the elasticsearch output: templates, ids,
 * _bulk lines, cutting, gzip and reading replies. See es_parse.h.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "es_parse.h"

/* Longest {field} name in a template. */
#define ES_FIELD_NAME_MAX 127
/* Most bytes of an error reason kept in a dead letter or a failure. */
#define ES_REASON_MAX 1024
/* Most bytes of a reply that is not JSON shown in a message. */
#define ES_PREVIEW_MAX 200

/* ---- templates ---------------------------------------------------------- */

/* Bytes Elasticsearch refuses in an index name (and control bytes). */
static bool es_index_byte_bad(unsigned char c)
{
    return c < 0x20 || c == 0x7f || strchr("\\/*?\"<>| ,#:", c) != NULL;
}

int es_template_check(const char *tmpl, unsigned flags, struct vg_error *why)
{
    const char *p = tmpl;

    if (tmpl == NULL || tmpl[0] == '\0')
        return vg_error_set(why, VG_ECONFIG, "must not be empty");
    while (*p != '\0') {
        if (*p == '{') {
            size_t n = strcspn(p + 1, "{}");

            if (p[1 + n] != '}')
                return vg_error_set(why, VG_ECONFIG, "'{' at byte %zu is not closed by '}'",
                                    (size_t)(p - tmpl));
            if (n == 0 || n > ES_FIELD_NAME_MAX)
                return vg_error_set(why, VG_ECONFIG, "field name at byte %zu must be 1 to %d bytes",
                                    (size_t)(p - tmpl), ES_FIELD_NAME_MAX);
            p += n + 2;
            continue;
        }
        if (*p == '}')
            return vg_error_set(why, VG_ECONFIG, "'}' at byte %zu has no '{'", (size_t)(p - tmpl));
        if ((flags & ES_EXPAND_INDEX) && es_index_byte_bad((unsigned char)*p))
            return vg_error_set(why, VG_ECONFIG,
                                "byte %zu ('%c') cannot be part of an index name "
                                "(none of \\ / * ? \" < > | space , # :)",
                                (size_t)(p - tmpl), *p >= 0x20 ? *p : '?');
        p++;
    }
    return VG_OK;
}

/* Appends n bytes at out + *len; VG_EINVAL when they do not fit with a NUL. */
static int es_put(char *out, size_t size, size_t *len, const char *s, size_t n)
{
    if (n >= size - *len)
        return VG_EINVAL;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return VG_OK;
}

/* Appends the value of the field named name[0..n) (or "unknown"). */
static int es_put_field(const struct vg_record *r, const char *name, size_t n, unsigned flags,
                        char *out, size_t size, size_t *len)
{
    char key[ES_FIELD_NAME_MAX + 1], num[40];
    const struct vg_field *f = NULL;

    if (n <= ES_FIELD_NAME_MAX) {
        memcpy(key, name, n);
        key[n] = '\0';
        f = vg_record_field(r, key);
    }
    if (f == NULL)
        return (flags & ES_EXPAND_MISSING) ? VG_ENOENT : es_put(out, size, len, "unknown", 7);
    switch (f->type) {
    case VG_FIELD_STR:
    case VG_FIELD_JSON:
        return es_put(out, size, len, f->v.s.ptr, f->v.s.len);
    case VG_FIELD_INT:
        snprintf(num, sizeof(num), "%lld", (long long)f->v.i);
        break;
    case VG_FIELD_DOUBLE:
        snprintf(num, sizeof(num), "%.15g", f->v.d);
        break;
    case VG_FIELD_BOOL:
        snprintf(num, sizeof(num), "%s", f->v.b ? "true" : "false");
        break;
    default:
        return VG_EINVAL;
    }
    return es_put(out, size, len, num, strlen(num));
}

/* Appends seg[0..n), through strftime when tm is not NULL. */
static int es_put_literal(const char *seg, size_t n, const struct tm *tm, char *out, size_t size,
                          size_t *len)
{
    char fmt[2 * ES_INDEX_MAX + 2];
    size_t got;

    if (tm == NULL || memchr(seg, '%', n) == NULL)
        return es_put(out, size, len, seg, n);
    if (n >= sizeof(fmt))
        return VG_EINVAL;
    memcpy(fmt, seg, n);
    fmt[n] = '\0';
    /* the format is the user's index template, checked at start-up */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    got = strftime(out + *len, size - *len, fmt, tm);
#pragma GCC diagnostic pop
    /* 0 is also what a conversion with empty output gives; an index cannot
     * be made of those, and a name that did not fit is refused the same */
    if (got == 0)
        return VG_EINVAL;
    *len += got;
    return VG_OK;
}

/* Lower-cases ASCII and turns bytes an index name cannot hold into '_'. */
static void es_index_clean(char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 'A' && c <= 'Z')
            s[i] = (char)(c - 'A' + 'a');
        else if (es_index_byte_bad(c))
            s[i] = '_';
    }
}

int es_expand(const char *tmpl, const struct vg_record *r, unsigned flags, char *out, size_t size,
              size_t *len)
{
    struct tm tm, *tp = NULL;
    const char *p = tmpl;
    size_t n = 0;
    int rc = VG_OK;

    if (size == 0)
        return VG_EINVAL;
    out[0] = '\0';
    if (flags & ES_EXPAND_TIME) {
        int64_t sec = r->time_ns / VG_NS_PER_SEC - (r->time_ns % VG_NS_PER_SEC < 0);
        time_t t = (time_t)sec;

        tp = gmtime_r(&t, &tm);
    }
    while (*p != '\0' && rc == VG_OK) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        size_t seg = strcspn(p + 1, "{") + 1;

        if (close != NULL) {
            rc = es_put_field(r, p + 1, (size_t)(close - p - 1), flags, out, size, &n);
            p = close + 1;
        } else {
            rc = es_put_literal(p, seg, tp, out, size, &n);
            p += seg;
        }
    }
    if (rc == VG_OK && n == 0)
        rc = VG_EINVAL;
    if (rc == VG_OK && (flags & ES_EXPAND_INDEX))
        es_index_clean(out, n);
    *len = rc == VG_OK ? n : 0;
    return rc;
}

/* ---- document ids: SipHash-2-4 -------------------------------------------- */

struct es_sip {
    uint64_t v[4];
    uint8_t tail[8];
    size_t ntail;
    uint64_t total;
};

static uint64_t es_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t es_le64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void es_sip_round(uint64_t *v)
{
    v[0] += v[1];
    v[1] = es_rotl(v[1], 13) ^ v[0];
    v[0] = es_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = es_rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = es_rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = es_rotl(v[1], 17) ^ v[2];
    v[2] = es_rotl(v[2], 32);
}

static void es_sip_block(struct es_sip *s, uint64_t m)
{
    s->v[3] ^= m;
    es_sip_round(s->v);
    es_sip_round(s->v);
    s->v[0] ^= m;
}

static void es_sip_init(struct es_sip *s, const uint8_t k[16])
{
    uint64_t k0 = es_le64(k), k1 = es_le64(k + 8);

    s->v[0] = k0 ^ UINT64_C(0x736f6d6570736575);
    s->v[1] = k1 ^ UINT64_C(0x646f72616e646f6d);
    s->v[2] = k0 ^ UINT64_C(0x6c7967656e657261);
    s->v[3] = k1 ^ UINT64_C(0x7465646279746573);
    s->ntail = 0;
    s->total = 0;
}

static void es_sip_update(struct es_sip *s, const void *msg, size_t len)
{
    const uint8_t *p = msg;
    size_t i;

    for (i = 0; i < len; i++) {
        s->tail[s->ntail++] = p[i];
        if (s->ntail == 8) {
            es_sip_block(s, es_le64(s->tail));
            s->ntail = 0;
        }
    }
    s->total += len;
}

static uint64_t es_sip_final(struct es_sip *s)
{
    uint64_t b = (s->total & 0xff) << 56;
    size_t i;

    for (i = 0; i < s->ntail; i++)
        b |= (uint64_t)s->tail[i] << (8 * i);
    es_sip_block(s, b);
    s->v[2] ^= 0xff;
    for (i = 0; i < 4; i++)
        es_sip_round(s->v);
    return s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
}

uint64_t es_siphash(const uint8_t k[16], const void *msg, size_t len)
{
    struct es_sip s;

    es_sip_init(&s, k);
    es_sip_update(&s, msg, len);
    return es_sip_final(&s);
}

/* One id half: the node name, a NUL (a node name holds none), then both
 * numbers little-endian, so that the bytes hashed are the same everywhere. */
static uint64_t es_id_half(const char *key, const char *node, uint64_t source_id, uint64_t position)
{
    uint8_t num[17];
    struct es_sip s;
    int i;

    num[0] = 0;
    for (i = 0; i < 8; i++) {
        num[1 + i] = (uint8_t)(source_id >> (8 * i));
        num[9 + i] = (uint8_t)(position >> (8 * i));
    }
    es_sip_init(&s, (const uint8_t *)key);
    es_sip_update(&s, node, strlen(node));
    es_sip_update(&s, num, sizeof(num));
    return es_sip_final(&s);
}

void es_doc_id(const char *node, uint64_t source_id, uint64_t position, char out[ES_ID_LEN + 1])
{
    /* fixed for ever: the ids of documents already stored depend on them */
    static const char k1[] = "vigil/es/_id/one", k2[] = "vigil/es/_id/two";
    static const char hex[] = "0123456789abcdef";
    uint64_t h[2];
    int i, j;

    if (node == NULL)
        node = "";
    h[0] = es_id_half(k1, node, source_id, position);
    h[1] = es_id_half(k2, node, source_id, position);
    for (j = 0; j < 2; j++)
        for (i = 0; i < 16; i++)
            out[j * 16 + i] = hex[(h[j] >> (60 - 4 * i)) & 0xf];
    out[ES_ID_LEN] = '\0';
}

/* ---- _bulk lines ---------------------------------------------------------- */

void es_encoder_reset(struct es_encoder *e)
{
    e->index_fixed = e->index != NULL && strchr(e->index, '{') == NULL;
    e->index_valid = false;
    e->index_len = 0;
}

/* The index name of r, from the cache when the template has no field. */
static int es_index_name(struct es_encoder *e, const struct vg_record *r, char *buf, size_t size,
                         const char **name, size_t *len, struct vg_error *why)
{
    int64_t sec = r->time_ns / VG_NS_PER_SEC - (r->time_ns % VG_NS_PER_SEC < 0);
    int rc;

    if (e->index_fixed && e->index_valid && e->index_sec == sec) {
        *name = e->index_name;
        *len = e->index_len;
        return VG_OK;
    }
    rc = es_expand(e->index, r, ES_EXPAND_TIME | ES_EXPAND_INDEX, buf, size, len);
    if (rc != VG_OK)
        return vg_error_set(why, VG_EINVAL, "index template '%s' gives no name of 1 to %d bytes",
                            e->index, ES_INDEX_MAX);
    *name = buf;
    if (e->index_fixed) {
        memcpy(e->index_name, buf, *len + 1);
        e->index_len = *len;
        e->index_sec = sec;
        e->index_valid = true;
    }
    return VG_OK;
}

/* Appends the action line of r. */
static int es_encode_action(struct es_encoder *e, const struct vg_record *r, struct vg_buf *out,
                            struct vg_error *why)
{
    char buf[ES_INDEX_MAX + 1], route[ES_ROUTING_MAX + 1], id[ES_ID_LEN + 1];
    bool with_id = e->id_auto && r->source_id != 0;
    const char *name = NULL;
    size_t len = 0, rlen = 0;
    int rc = es_index_name(e, r, buf, sizeof(buf), &name, &len, why);

    if (rc != VG_OK)
        return rc;
    /* without an _id, create is refused by Elasticsearch before 7.5 */
    rc = vg_buf_puts(out, e->data_stream || with_id ? "{\"create\":{\"_index\":"
                                                    : "{\"index\":{\"_index\":");
    if (rc == VG_OK)
        rc = vg_buf_json_string(out, name, len);
    if (rc == VG_OK && with_id) {
        es_doc_id(e->node, r->source_id, r->position, id);
        rc = vg_buf_printf(out, ",\"_id\":\"%s\"", id);
    }
    /* a record that lacks a routing field is routed by its _id */
    if (rc == VG_OK && e->routing != NULL &&
        es_expand(e->routing, r, ES_EXPAND_MISSING, route, sizeof(route), &rlen) == VG_OK) {
        rc = vg_buf_puts(out, ",\"routing\":");
        if (rc == VG_OK)
            rc = vg_buf_json_string(out, route, rlen);
    }
    if (rc == VG_OK)
        rc = vg_buf_puts(out, "}}\n");
    return rc;
}

/* Appends the source line of r, in the encoder's schema. */
static int es_encode_source(struct es_encoder *e, const struct vg_record *r, struct vg_buf *out)
{
    int rc = vg_record_encode(
        r, e->schema != VG_RECORD_SCHEMA_DEFAULT ? e->schema : VG_RECORD_SCHEMA_ES, out);

    if (rc == VG_OK)
        rc = vg_buf_putc(out, '\n');
    return rc;
}

int es_encode(struct es_encoder *e, const struct vg_record *r, struct vg_buf *out,
              struct vg_error *why)
{
    size_t mark = out->len;
    int rc = es_encode_action(e, r, out, why);

    if (rc == VG_OK)
        rc = es_encode_source(e, r, out);
    if (rc != VG_OK) {
        if (rc != VG_EINVAL)
            vg_error_set(why, rc, "out of memory encoding a record");
        out->len = mark;
        if (out->data != NULL)
            out->data[mark] = '\0';
    }
    return rc;
}

size_t es_cut(const size_t *off, size_t start, size_t end, uint64_t max_bytes)
{
    size_t k = start + 1;

    while (k < end && off[k + 1] - off[start] <= max_bytes)
        k++;
    return k;
}

/* ---- gzip ------------------------------------------------------------------ */

int es_gzip(z_stream *z, const void *in, size_t len, struct vg_buf *out)
{
    size_t n = 0;
    int rc;

    vg_buf_reset(out);
    if (vg_buf_reserve(out, vg_gzip_bound(z, len) + 1) != VG_OK)
        return VG_ENOMEM;
    rc = vg_gzip(z, in, len, out->data, out->cap - 1, &n);
    if (rc != VG_OK)
        return rc;
    out->len = n;
    out->data[n] = '\0';
    return VG_OK;
}

/* ---- _bulk replies ---------------------------------------------------------- */

bool es_status_delivered(int status)
{
    return (status >= 200 && status < 300) || status == 409;
}

bool es_status_retry(int status)
{
    return status == 429 || (status >= 500 && status < 600);
}

/* Reads item number k: {"<op>":{"status":N,"error":{...},...}}. */
static int es_item_parse(const struct vg_json_value *item, size_t k, struct es_item *out,
                         struct vg_error *why)
{
    struct vg_json_value key, body, st;
    size_t pos = 0;
    int64_t status = 0;

    if (vg_json_object_next(item, &pos, &key, &body) != 1 || body.kind != VG_JSON_OBJECT)
        return vg_error_set(why, VG_EPARSE, "item %zu of the reply is not {\"<op>\":{...}}", k);
    if (vg_json_get(&body, "status", &st) != VG_OK || vg_json_int(&st, &status) != VG_OK ||
        status < 100 || status > 599)
        return vg_error_set(why, VG_EPARSE, "item %zu of the reply has no valid status", k);
    out->status = (int)status;
    if (vg_json_get(&body, "error", &out->error) != VG_OK ||
        (out->error.kind != VG_JSON_OBJECT && out->error.kind != VG_JSON_STRING))
        out->error.kind = VG_JSON_NULL;
    return VG_OK;
}

/* Walks the items array, filling items[0..expected) and counting all. */
static int es_items_walk(const struct vg_json_value *arr, bool fast, struct es_item *items,
                         size_t expected, size_t *count, struct vg_error *why)
{
    struct vg_json_value item;
    size_t pos = 0, n = 0;
    int rc;

    for (;;) {
        rc = vg_json_array_next(arr, &pos, &item);
        if (rc != 1)
            break;
        if (n < expected && fast) {
            items[n].status = 200;
            items[n].error.kind = VG_JSON_NULL;
        } else if (n < expected && es_item_parse(&item, n, &items[n], why) != VG_OK) {
            return VG_EPARSE;
        }
        n++;
    }
    *count = n;
    if (rc < 0)
        return vg_error_set(why, VG_EPARSE, "the items of the reply are malformed");
    return VG_OK;
}

int es_response_parse(const char *body, size_t len, struct es_item *items, size_t expected,
                      struct vg_error *why)
{
    struct vg_json_value top, errors, arr;
    size_t off = 0, n = 0;
    bool fast;

    if (vg_json_parse(body, len, &top, &off) != VG_OK)
        return vg_error_set(why, VG_EPARSE, "the reply is not JSON (byte %zu of %zu)", off, len);
    if (top.kind != VG_JSON_OBJECT)
        return vg_error_set(why, VG_EPARSE, "the reply is not a JSON object");
    if (vg_json_get(&top, "items", &arr) != VG_OK || arr.kind != VG_JSON_ARRAY)
        return vg_error_set(why, VG_EPARSE, "the reply has no items array");
    /* "errors":false: every item succeeded, none needs to be read */
    fast = vg_json_get(&top, "errors", &errors) == VG_OK && errors.kind == VG_JSON_FALSE;
    if (es_items_walk(&arr, fast, items, expected, &n, why) != VG_OK)
        return VG_EPARSE;
    if (n != expected)
        return vg_error_set(why, VG_EPARSE, "the reply has %zu items for the %zu records sent", n,
                            expected);
    return VG_OK;
}

/* Cuts out back to `start + max` bytes (on a UTF-8 boundary) and marks the cut. */
static int es_cap(struct vg_buf *out, size_t start, size_t max)
{
    size_t end;

    if (out->len - start <= max)
        return VG_OK;
    end = start + max;
    while (end > start && ((unsigned char)out->data[end] & 0xc0) == 0x80)
        end--;
    out->len = end;
    out->data[end] = '\0';
    return vg_buf_puts(out, "...");
}

/* Appends "<type>: <reason>" of an error object, or the text of an error string. */
static int es_error_text(const struct vg_json_value *err, struct vg_buf *out)
{
    struct vg_json_value type, reason;
    size_t start = out->len;
    int rc = VG_OK;

    if (err->kind == VG_JSON_STRING)
        return vg_json_unescape(err, out) == VG_ENOMEM ? VG_ENOMEM
                                                       : es_cap(out, start, ES_REASON_MAX);
    if (vg_json_get(err, "type", &type) == VG_OK && type.kind == VG_JSON_STRING)
        rc = vg_json_unescape(&type, out);
    else
        rc = vg_buf_puts(out, "error");
    if (rc == VG_OK && vg_json_get(err, "reason", &reason) == VG_OK &&
        reason.kind == VG_JSON_STRING) {
        rc = vg_buf_puts(out, ": ");
        if (rc == VG_OK)
            rc = vg_json_unescape(&reason, out);
    }
    if (rc == VG_EPARSE)
        rc = VG_OK; /* a bad escape: keep what came before it */
    return rc == VG_OK ? es_cap(out, start, ES_REASON_MAX) : rc;
}

int es_item_reason(const struct es_item *it, struct vg_buf *out)
{
    int rc = vg_buf_printf(out, "%d", it->status);

    if (rc != VG_OK || it->error.kind == VG_JSON_NULL)
        return rc;
    rc = vg_buf_putc(out, ' ');
    return rc == VG_OK ? es_error_text(&it->error, out) : rc;
}

int es_error_summary(const char *body, size_t len, struct vg_buf *out)
{
    struct vg_json_value top, err;
    size_t i, n = len < ES_PREVIEW_MAX ? len : ES_PREVIEW_MAX;
    int rc = VG_OK;

    if (vg_json_parse(body, len, &top, NULL) == VG_OK && top.kind == VG_JSON_OBJECT &&
        vg_json_get(&top, "error", &err) == VG_OK &&
        (err.kind == VG_JSON_OBJECT || err.kind == VG_JSON_STRING))
        return es_error_text(&err, out);
    if (len == 0)
        return vg_buf_puts(out, "(empty reply)");
    for (i = 0; i < n && rc == VG_OK; i++) {
        unsigned char c = (unsigned char)body[i];

        rc = vg_buf_putc(out, c >= 0x20 && c < 0x7f ? (char)c : '.');
    }
    if (rc == VG_OK && n < len)
        rc = vg_buf_puts(out, "...");
    return rc;
}

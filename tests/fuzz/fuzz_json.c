/*
 * fuzz_json.c - the JSON reader on arbitrary bytes. An accepted text is
 * walked member by member down to its leaves: every value found must lie
 * inside its parent, parse again on its own, and unescape (strings) or be
 * read (numbers) without error. The same bytes are also handed to the
 * walkers as values that never went through the parser, which may fail
 * but must never read outside the span they were given. The lenient scan
 * (raw control bytes inside strings) must accept whatever strict parsing
 * does, and hand over only members that lie inside the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The walk of raw bytes is not depth-limited by the parser. */
#define FUZZ_JSON_MAX_DEPTH 512

static struct vg_buf fuzz_buf;

static void fuzz_check(int ok)
{
    if (!ok)
        __builtin_trap();
}

/* child must lie strictly inside parent's brackets. */
static void fuzz_inside(const struct vg_json_value *parent, const struct vg_json_value *child)
{
    fuzz_check(child->len > 0);
    fuzz_check(child->ptr > parent->ptr);
    fuzz_check(child->ptr + child->len < parent->ptr + parent->len);
}

/* Reads a leaf; strict: it came from a validated text. */
static void fuzz_leaf(const struct vg_json_value *v, int strict)
{
    int64_t n;
    double d;
    int rc;

    if (v->kind == VG_JSON_STRING) {
        vg_buf_reset(&fuzz_buf);
        rc = vg_json_unescape(v, &fuzz_buf);
        fuzz_check(!strict || rc == VG_OK);
        fuzz_check(fuzz_buf.len <= v->len);
        (void)vg_json_string_is(v, "io.kubernetes.pod.name");
        (void)vg_json_string_is(v, "");
    } else if (v->kind == VG_JSON_NUMBER) {
        (void)vg_json_int(v, &n);
        rc = vg_json_double(v, &d);
        fuzz_check(!strict || rc == VG_OK);
    }
}

static void fuzz_walk(const struct vg_json_value *v, int strict, unsigned depth);

/* One child found by a walker: nested inside v, valid on its own when v
 * was, then walked in turn. */
static void fuzz_child(const struct vg_json_value *v, const struct vg_json_value *c, int strict,
                       unsigned depth)
{
    fuzz_inside(v, c);
    if (strict)
        fuzz_check(vg_json_parse(c->ptr, c->len, NULL, NULL) == VG_OK);
    fuzz_walk(c, strict, depth + 1);
}

static void fuzz_walk(const struct vg_json_value *v, int strict, unsigned depth)
{
    struct vg_json_value k, e, got;
    size_t pos = 0;
    int rc;

    if (depth > FUZZ_JSON_MAX_DEPTH)
        return;
    if (v->kind == VG_JSON_OBJECT) {
        for (;;) {
            rc = vg_json_object_next(v, &pos, &k, &e);
            if (rc != 1)
                break;
            fuzz_check(k.kind == VG_JSON_STRING);
            fuzz_child(v, &k, strict, depth);
            fuzz_child(v, &e, strict, depth);
            if (strict) {
                vg_buf_reset(&fuzz_buf);
                fuzz_check(vg_json_unescape(&k, &fuzz_buf) == VG_OK);
                /* a key with a NUL cannot be named by a C string */
                if (strlen(fuzz_buf.data) == fuzz_buf.len)
                    fuzz_check(vg_json_get(v, fuzz_buf.data, &got) == VG_OK);
            }
        }
        fuzz_check(!strict || rc == 0);
    } else if (v->kind == VG_JSON_ARRAY) {
        for (;;) {
            rc = vg_json_array_next(v, &pos, &e);
            if (rc != 1)
                break;
            fuzz_child(v, &e, strict, depth);
        }
        fuzz_check(!strict || rc == 0);
    } else {
        fuzz_leaf(v, strict);
    }
}

/* The input copied into a buffer of exactly its size and handed over as a
 * value of every kind, as if it had been parsed. */
static void fuzz_raw(const uint8_t *data, size_t size)
{
    static const enum vg_json_kind kinds[] = {VG_JSON_OBJECT, VG_JSON_ARRAY, VG_JSON_STRING,
                                              VG_JSON_NUMBER};
    struct vg_json_value v, got;
    char *copy = malloc(size > 0 ? size : 1);
    size_t i;

    if (copy == NULL)
        return;
    if (size > 0)
        memcpy(copy, data, size);
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        v.kind = kinds[i];
        v.ptr = copy;
        v.len = size;
        fuzz_walk(&v, 0, 0);
    }
    v.kind = VG_JSON_OBJECT;
    (void)vg_json_get(&v, "Config", &got);
    free(copy);
}

/* A member handed over by the lenient scan: inside the text, its key and
 * a string value unescape (the scan checked their escapes). */
static int fuzz_member(void *arg, const struct vg_json_value *key, const struct vg_json_value *val)
{
    const struct vg_json_value *in = arg;

    fuzz_check(key->kind == VG_JSON_STRING && key->ptr > in->ptr);
    fuzz_check(val->ptr > key->ptr + key->len && val->ptr + val->len <= in->ptr + in->len);
    vg_buf_reset(&fuzz_buf);
    fuzz_check(vg_json_unescape(key, &fuzz_buf) == VG_OK);
    vg_buf_reset(&fuzz_buf);
    fuzz_check(val->kind != VG_JSON_STRING || vg_json_unescape(val, &fuzz_buf) == VG_OK);
    return VG_OK;
}

/* Lenient scanning accepts all that strict parsing does, with the same
 * top value, and more; what it accepts is walked without the strict checks. */
static void fuzz_lenient(const uint8_t *data, size_t size, int strict_ok,
                         const struct vg_json_value *strict_v)
{
    struct vg_json_value in = {.ptr = (const char *)data, .len = size};
    struct vg_json_value v;
    size_t off = 0;
    int rc = vg_json_scan((const char *)data, size, VG_JSON_LENIENT, fuzz_member, &in, &v, &off);

    if (strict_ok)
        fuzz_check(rc == VG_OK && v.ptr == strict_v->ptr && v.len == strict_v->len);
    if (rc != VG_OK) {
        fuzz_check(rc == VG_EPARSE && off <= size);
        return;
    }
    fuzz_walk(&v, 0, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_json_value v;
    size_t off = 0;
    int ok = vg_json_parse((const char *)data, size, &v, &off) == VG_OK;

    if (ok) {
        fuzz_check(v.ptr >= (const char *)data && v.ptr + v.len <= (const char *)data + size);
        fuzz_walk(&v, 1, 0);
    } else {
        fuzz_check(off <= size);
    }
    fuzz_lenient(data, size, ok, &v);
    fuzz_raw(data, size);
    return 0;
}

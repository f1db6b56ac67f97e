/*
 * fuzz_parser.h - what every parser (agent/parse/parser.h) must hold to on
 * any line, for the fuzz targets of each type: the result is VG_OK or
 * VG_EPARSE; a mismatch emits nothing and says NOMATCH; a match does not;
 * every field's bytes can be read (the sanitizers watch); a second run of
 * the same line emits the same fields. The lines of an input are its
 * '\n'-separated parts and the whole input, as a tailer would hand them
 * over, each in a buffer of exactly its size.
 */
#ifndef VG_FUZZ_PARSER_H
#define VG_FUZZ_PARSER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parser.h"

/* 2026-12-02T19:05:06Z: "now" for times without a year */
#define FZ_NOW (INT64_C(1796238306) * VG_NS_PER_SEC)

struct fz_fields {
    uint64_t hash;
    size_t n;
};

static inline void fz_check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static inline uint64_t fz_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(1099511628211);
    return h;
}

static inline int fz_field(void *arg, const struct vg_parse_field *f)
{
    struct fz_fields *out = arg;

    fz_check(f->key != NULL || f->key_len == 0);
    out->hash = fz_hash(out->hash, f->key, f->key_len);
    out->hash = fz_hash(out->hash, &f->type, sizeof(f->type));
    switch (f->type) {
    case VG_FIELD_STR:
    case VG_FIELD_JSON:
        fz_check(f->v.s.ptr != NULL || f->v.s.len == 0);
        out->hash = fz_hash(out->hash, f->v.s.ptr, f->v.s.len);
        break;
    case VG_FIELD_INT:
        out->hash = fz_hash(out->hash, &f->v.i, sizeof(f->v.i));
        break;
    case VG_FIELD_DOUBLE:
        out->hash = fz_hash(out->hash, &f->v.d, sizeof(f->v.d));
        break;
    case VG_FIELD_BOOL:
        out->hash = fz_hash(out->hash, &f->v.b, sizeof(f->v.b));
        break;
    default:
        fz_check(0);
    }
    out->n++;
    return VG_OK;
}

/* Runs p on line twice and checks the contract; *out gets what it emitted
 * and the result's flags. Returns the result code. */
static inline int fz_run(struct vg_parser *p, const char *line, size_t len, struct fz_fields *out,
                         unsigned *flags)
{
    struct fz_fields a = {14695981039346656037ull, 0}, b = a;
    struct vg_parse_result ra, rb;
    int rc = vg_parser_run(p, line, len, FZ_NOW, fz_field, &a, &ra);

    fz_check(rc == VG_OK || rc == VG_EPARSE);
    fz_check((rc == VG_EPARSE) == ((ra.flags & VG_PARSE_NOMATCH) != 0));
    fz_check(rc == VG_OK || a.n == 0);
    fz_check(!(ra.flags & VG_PARSE_LIMIT) || rc == VG_EPARSE);
    fz_check(a.n <= VG_PARSER_MAX_FIELDS + 16);
    fz_check(vg_parser_run(p, line, len, FZ_NOW, fz_field, &b, &rb) == rc);
    fz_check(a.n == b.n && a.hash == b.hash && ra.flags == rb.flags);
    fz_check(!(ra.flags & VG_PARSE_TIME) || ra.time_ns == rb.time_ns);
    if (out != NULL)
        *out = a;
    if (flags != NULL)
        *flags = ra.flags;
    return rc;
}

/* Calls fn on an exact-size copy of the whole input and of each of its
 * '\n'-separated lines. */
static inline void fz_each_line(const uint8_t *data, size_t size, void (*fn)(const char *, size_t))
{
    const char *in = (const char *)data, *p, *nl, *end = in + size;
    char *copy;

    for (p = in;; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        copy = malloc(nl > p ? (size_t)(nl - p) : 1);
        if (copy == NULL)
            return;
        memcpy(copy, p, (size_t)(nl - p));
        fn(copy, (size_t)(nl - p));
        free(copy);
        if (nl == end)
            break;
    }
    if (memchr(in, '\n', size) != NULL)
        fn(in, size);
}

/* A parser from settings, made once per process; traps when it cannot be. */
static inline struct vg_parser *fz_make(const struct vg_parser_settings *s)
{
    struct vg_parser *p = NULL;
    struct vg_error err;

    fz_check(vg_parser_create(s, &p, &err) == VG_OK);
    return p;
}

static inline struct vg_parser *fz_builtin(const char *name)
{
    struct vg_parser_settings s;

    fz_check(vg_parser_builtin(name, &s) == VG_OK);
    return fz_make(&s);
}

#endif

/*
 * json.h - a small JSON reader: Docker's config.v2.json, Docker log lines,
 * and the `json` log parser.
 *
 * No tree is built. vg_json_parse validates a text once and hands back its
 * top value as a span of the caller's bytes; the walkers then step through
 * objects and arrays on those same bytes, and strings are unescaped only
 * when asked. vg_json_scan is the same pass with options: lenient about raw
 * control bytes in strings (log lines), and handing over the top object's
 * members as it reads them, so that a line is read once. Nothing allocates
 * except vg_json_unescape, into the caller's buffer. The caller keeps the
 * text alive as long as it uses the values.
 *
 * The walkers trust values that came from vg_json_parse (or from walking
 * one), but they never read outside a value's span even when handed one
 * that did not: malformed bytes give VG_EPARSE, never an overrun.
 */
#ifndef VG_JSON_H
#define VG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* Deepest nesting of arrays and objects that vg_json_parse accepts. */
#define VG_JSON_MAX_DEPTH 128

enum vg_json_kind {
    VG_JSON_NULL,
    VG_JSON_FALSE,
    VG_JSON_TRUE,
    VG_JSON_NUMBER,
    VG_JSON_STRING,
    VG_JSON_ARRAY,
    VG_JSON_OBJECT,
};

/* A value inside a JSON text: ptr/len cover its whole text (strings with
 * their quotes, objects with their braces), never surrounding whitespace. */
struct vg_json_value {
    enum vg_json_kind kind;
    const char *ptr;
    size_t len;
};

/* The whole of s[0..len) must be one JSON value, whitespace around it
 * allowed. RFC 8259, strictly: no trailing commas, comments, NaN, leading
 * zeros, single quotes or byte order mark; raw control characters inside
 * strings are rejected; nesting deeper than VG_JSON_MAX_DEPTH is rejected.
 * Bytes of 0x80 and above inside strings pass unchecked (invalid UTF-8 is
 * kept, as log lines may carry it). s need not be NUL-terminated; out
 * may be NULL to validate only. VG_OK with *out filled, or VG_EPARSE with
 * *out untouched and, when err_off is not NULL, the byte offset of the
 * problem (len when the text ends too soon). */
int vg_json_parse(const char *s, size_t len, struct vg_json_value *out, size_t *err_off);

/* vg_json_scan's flags. */
#define VG_JSON_LENIENT 0x1u /* raw control bytes (0x00-0x1f) inside strings pass */

/* Handed each member of the top object by vg_json_scan, in order, as soon
 * as the member itself is read (what follows it is not yet): key is a
 * VG_JSON_STRING, still escaped; both lie in the scanned text. VG_OK goes
 * on; any other value stops the scan and becomes its result. */
typedef int (*vg_json_member_fn)(void *arg, const struct vg_json_value *key,
                                 const struct vg_json_value *val);

/* vg_json_parse with options, in the same single pass: flags (0 or
 * VG_JSON_LENIENT, for log lines whose writers leave tabs and other control
 * bytes raw inside strings), and fn (NULL for none) called for each member
 * of the top value when it is an object, so that a caller reads an object
 * without walking it again. Whatever fn was handed stays valid; only a
 * VG_OK result says that the whole text was valid. VG_OK, VG_EPARSE (with
 * *err_off as vg_json_parse sets it), or what fn returned. */
int vg_json_scan(const char *s, size_t len, unsigned flags, vg_json_member_fn fn, void *arg,
                 struct vg_json_value *out, size_t *err_off);

/* Iterates an object's members; *pos starts at 0 and is only moved by
 * these calls. Returns 1 with key (a VG_JSON_STRING, still escaped) and val
 * filled, 0 after the last member (and on every later call), or VG_EPARSE
 * when obj is not an object or its bytes are malformed. */
int vg_json_object_next(const struct vg_json_value *obj, size_t *pos, struct vg_json_value *key,
                        struct vg_json_value *val);

/* The same for an array's elements. */
int vg_json_array_next(const struct vg_json_value *arr, size_t *pos, struct vg_json_value *val);

/* The member named name (compared after unescaping the key; the first
 * match wins). VG_OK with *out filled (out may be obj itself, to step
 * down a path), VG_ENOENT, or VG_EPARSE when obj is not an object. */
int vg_json_get(const struct vg_json_value *obj, const char *name, struct vg_json_value *out);

/* Appends the unescaped text of a string value (without its quotes) to
 * out: \uXXXX escapes and surrogate pairs become UTF-8, a lone surrogate
 * becomes U+FFFD, \u0000 a NUL byte. out stays NUL-terminated. VG_OK,
 * VG_EPARSE (not a string, or a bad escape: out is then as it was), or
 * VG_ENOMEM (out as it was). */
int vg_json_unescape(const struct vg_json_value *str, struct vg_buf *out);

/* The same into a fixed buffer, not terminated: dst needs room for the
 * string's escaped length (str->len - 2; the unescaped text is never
 * longer), *n is the unescaped length. VG_OK, VG_EPARSE (not a string, or
 * a bad escape), or VG_ENOMEM when cap is less than the escaped length
 * (nothing written). */
int vg_json_unescape_to(const struct vg_json_value *str, char *dst, size_t cap, size_t *n);

/* True when str is a string whose unescaped text equals name (NUL-terminated),
 * without allocating. False for anything that is not a string. */
bool vg_json_string_is(const struct vg_json_value *str, const char *name);

/* A number written as an integer (no fraction, no exponent) that fits
 * int64_t: VG_OK with *out set. VG_EPARSE for anything else (1.0, 1e3, an
 * overflow, a value that is not a number). */
int vg_json_int(const struct vg_json_value *num, int64_t *out);

/* Any number as the nearest double (correctly rounded, however many digits
 * it has); a magnitude beyond double's range gives +-HUGE_VAL, one below it
 * +-0 or a subnormal. VG_OK, or VG_EPARSE when num is not a number. */
int vg_json_double(const struct vg_json_value *num, double *out);

#endif

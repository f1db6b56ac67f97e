/*
 * test_json.c - the span-based JSON reader: RFC 8259 acceptance and
 * rejection in the manner of JSONTestSuite (y_ must parse, n_ must not),
 * error offsets, the walkers (also on values that never went through the
 * parser), unescaping, numbers, and Docker's config.v2.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "read_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/json.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

#define DOCKER_FIXTURE VG_SOURCE_DIR "/tests/fixtures/docker/config.v2.json"

/* Parses a copy of s in a buffer of exactly its length, so that ASan sees
 * any read past the end; the copy is kept in *copy for the caller to free. */
static int parse_exact(const char *s, size_t len, struct vg_json_value *v, size_t *err_off,
                       char **copy)
{
    *copy = malloc(len > 0 ? len : 1);
    assert_non_null(*copy);
    memcpy(*copy, s, len);
    return vg_json_parse(*copy, len, v, err_off);
}

static void assert_accepts(const char *s, enum vg_json_kind kind)
{
    struct vg_json_value v;
    size_t off = 12345;
    char *copy;

    if (parse_exact(s, strlen(s), &v, &off, &copy) != VG_OK)
        fail_msg("rejected at %zu: %s", off, s);
    assert_int_equal(v.kind, kind);
    assert_int_equal(off, 12345);
    free(copy);
}

static void assert_rejects_at(const char *s, size_t len, size_t want_off)
{
    struct vg_json_value v = {.kind = VG_JSON_NULL, .ptr = NULL, .len = 7};
    size_t off = 12345;
    char *copy;

    if (parse_exact(s, len, &v, &off, &copy) != VG_EPARSE)
        fail_msg("accepted: %s", s);
    if (off != want_off)
        fail_msg("offset %zu, want %zu: %s", off, want_off, s);
    assert_null(v.ptr); /* untouched */
    assert_int_equal(v.len, 7);
    free(copy);
}

static void assert_rejects(const char *s)
{
    struct vg_json_value v;
    char *copy;

    if (parse_exact(s, strlen(s), &v, NULL, &copy) != VG_EPARSE)
        fail_msg("accepted: %s", s);
    free(copy);
}

/* Parses s (which must be valid) and returns the unescaped top string. */
static void assert_unescapes(const char *s, const char *want, size_t want_len)
{
    struct vg_json_value v;
    struct vg_buf b;
    char *copy;

    vg_buf_init(&b);
    assert_int_equal(parse_exact(s, strlen(s), &v, NULL, &copy), VG_OK);
    assert_int_equal(v.kind, VG_JSON_STRING);
    assert_int_equal(vg_json_unescape(&v, &b), VG_OK);
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.data, want, want_len);
    assert_int_equal(b.data[b.len], '\0');
    vg_buf_free(&b);
    free(copy);
}

static struct vg_json_value value_of(const char *s)
{
    struct vg_json_value v;

    assert_int_equal(vg_json_parse(s, strlen(s), &v, NULL), VG_OK);
    return v;
}

/* A value that never went through the parser. */
static struct vg_json_value raw_value(enum vg_json_kind kind, const char *s)
{
    struct vg_json_value v = {.kind = kind, .ptr = s, .len = strlen(s)};

    return v;
}

/* ------------------------------------------------------------------------
 * Acceptance and rejection.
 */

static void y_literals(void **state)
{
    struct vg_json_value v;

    (void)state;
    assert_accepts("true", VG_JSON_TRUE);
    assert_accepts("false", VG_JSON_FALSE);
    assert_accepts("null", VG_JSON_NULL);
    v = value_of("  true ");
    assert_int_equal(v.len, 4);
    assert_memory_equal(v.ptr, "true", 4);
}

static void y_numbers(void **state)
{
    static const char *const ok[] = {
        "-0",     "0",    "1e5",  "1E-2", "0.1",  "123",  "-1.5e+10",
        "0e0",    "1E+2", "-0.0", "1e-0", "20e1", "-123", "123456789012345678901234567890",
        "1.5E308"};
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(ok); i++)
        assert_accepts(ok[i], VG_JSON_NUMBER);
}

static void n_number_leading_zeros(void **state)
{
    (void)state;
    assert_rejects_at("01", 2, 1);
    assert_rejects_at("-01", 3, 2);
    assert_rejects_at("00", 2, 1);
    assert_rejects_at("[012]", 5, 2);
    assert_rejects_at("-012.5", 6, 2);
}

static void n_number_incomplete(void **state)
{
    (void)state;
    assert_rejects_at("1.", 2, 2);
    assert_rejects_at("-", 1, 1);
    assert_rejects_at("[-]", 3, 2);
    assert_rejects_at("1e", 2, 2);
    assert_rejects_at("1e+", 3, 3);
    assert_rejects_at("1.e3", 4, 2);
    assert_rejects_at("[1.]", 4, 3);
    assert_rejects_at("-.5", 3, 1);
}

static void n_number_other_forms(void **state)
{
    static const char *const bad[] = {
        ".5",  "+1",  "0x10", "NaN",  "Infinity", "-Infinity", "1e5.", "1_000",
        "1,5", "- 1", "Inf",  "1ee5", "0.e1",     "2.e-3",     "01.5", "\xef\xbc\x91"};
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(bad); i++)
        assert_rejects(bad[i]);
}

static void y_structures(void **state)
{
    (void)state;
    assert_accepts("[]", VG_JSON_ARRAY);
    assert_accepts("{}", VG_JSON_OBJECT);
    assert_accepts("[[],{},[{}],[[[]]]]", VG_JSON_ARRAY);
    assert_accepts("{\"\":0}", VG_JSON_OBJECT);
    assert_accepts("{\"a\":1,\"a\":2}", VG_JSON_OBJECT); /* duplicates are allowed */
    assert_accepts("[1,\"2\",true,false,null,{\"x\":[]},-0.5e-3]", VG_JSON_ARRAY);
    assert_accepts(" \t\r\n[ 1 , { \"a\" : null } ]\n", VG_JSON_ARRAY);
}

static void y_whitespace_is_outside_the_span(void **state)
{
    struct vg_json_value v = value_of(" \t\n\r{ } \n");

    (void)state;
    assert_int_equal(v.kind, VG_JSON_OBJECT);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.ptr, "{ }", 3);
}

static void n_empty_and_whitespace_only(void **state)
{
    size_t off = 99;

    (void)state;
    assert_rejects_at("", 0, 0);
    assert_rejects_at(" \n\t\r", 4, 4);
    assert_int_equal(vg_json_parse(NULL, 0, NULL, &off), VG_EPARSE);
    assert_int_equal(off, 0);
}

static void n_trailing_commas(void **state)
{
    (void)state;
    assert_rejects_at("[1,]", 4, 3);
    assert_rejects_at("{\"a\":1,}", 8, 7);
    assert_rejects_at("[,1]", 4, 1);
    assert_rejects_at("[1,,2]", 6, 3);
    assert_rejects_at("{,}", 3, 1);
    assert_rejects_at("[1 2]", 5, 3);
    assert_rejects_at("{\"a\":1 \"b\":2}", 13, 7);
}

static void n_trailing_garbage(void **state)
{
    (void)state;
    assert_rejects_at("1 2", 3, 2);
    assert_rejects_at("{} x", 4, 3);
    assert_rejects_at("[]]", 3, 2);
    assert_rejects_at("truex", 5, 4);
    assert_rejects_at("nulll", 5, 4);
    assert_rejects_at("\"a\"\"b\"", 6, 3);
    assert_rejects_at("{}\0", 3, 2);
}

static void n_bad_literals(void **state)
{
    (void)state;
    assert_rejects_at("tru", 3, 0);
    assert_rejects_at("True", 4, 0);
    assert_rejects_at("nul", 3, 0);
    assert_rejects_at("[fals]", 6, 1);
    assert_rejects_at("undefined", 9, 0);
}

static void n_comments_and_quotes(void **state)
{
    (void)state;
    assert_rejects("/* c */ 1");
    assert_rejects("[1] // c");
    assert_rejects("# c\n1");
    assert_rejects("['a']");
    assert_rejects("{a:1}");
    assert_rejects("{'a':1}");
    assert_rejects("{1:2}");
    assert_rejects("{\"a\" 1}");
    assert_rejects("{\"a\"::1}");
    assert_rejects("{\"a\":}");
    assert_rejects("\xef\xbb\xbf{}"); /* a byte order mark */
}

static void n_unterminated(void **state)
{
    (void)state;
    assert_rejects_at("\"abc", 4, 4);
    assert_rejects_at("\"abc\\\"", 6, 6);
    assert_rejects_at("[1,2", 4, 4);
    assert_rejects_at("{\"a\":1", 6, 6);
    assert_rejects_at("{\"a\"", 4, 4);
    assert_rejects_at("{\"a\":", 5, 5);
    assert_rejects_at("[", 1, 1);
    assert_rejects_at("{", 1, 1);
    assert_rejects_at("[\"a", 3, 3);
    assert_rejects_at("{\"a", 3, 3);
}

static void n_mismatched_brackets(void **state)
{
    (void)state;
    assert_rejects_at("[}", 2, 1);
    assert_rejects_at("{]", 2, 1);
    assert_rejects_at("[{]}", 4, 2);
    assert_rejects_at("]", 1, 0);
    assert_rejects_at("}", 1, 0);
}

/* Nesting of n arrays or objects, innermost empty. */
static char *nested(char open, char close, size_t n, size_t *len)
{
    size_t per = open == '[' ? 1 : 5;
    char *s = malloc(n * (per + 1));
    size_t i, o = 0;

    assert_non_null(s);
    for (i = 0; i < n; i++) {
        if (open == '[') {
            s[o++] = '[';
        } else {
            memcpy(s + o, "{\"a\":", 5);
            o += 5;
        }
    }
    /* the innermost object is "{}" in place of its last member */
    if (open == '{')
        o -= 4;
    for (i = 0; i < n; i++)
        s[o++] = close;
    *len = o;
    return s;
}

static void depth_limit(void **state)
{
    struct vg_json_value v;
    size_t len, off = 0;
    char *s;

    (void)state;
    s = nested('[', ']', VG_JSON_MAX_DEPTH, &len);
    assert_int_equal(vg_json_parse(s, len, &v, &off), VG_OK);
    assert_int_equal(v.len, len);
    free(s);
    s = nested('[', ']', VG_JSON_MAX_DEPTH + 1, &len);
    assert_int_equal(vg_json_parse(s, len, &v, &off), VG_EPARSE);
    assert_int_equal(off, VG_JSON_MAX_DEPTH);
    free(s);
    s = nested('{', '}', VG_JSON_MAX_DEPTH, &len);
    assert_int_equal(vg_json_parse(s, len, &v, &off), VG_OK);
    free(s);
    s = nested('{', '}', VG_JSON_MAX_DEPTH + 1, &len);
    assert_int_equal(vg_json_parse(s, len, &v, &off), VG_EPARSE);
    assert_int_equal(off, (size_t)VG_JSON_MAX_DEPTH * 5);
    free(s);
}

static void deep_nesting_far_beyond_the_limit(void **state)
{
    size_t n = 100000, off = 0;
    char *s = malloc(n);

    (void)state;
    assert_non_null(s);
    memset(s, '[', n);
    assert_int_equal(vg_json_parse(s, n, NULL, &off), VG_EPARSE);
    assert_int_equal(off, VG_JSON_MAX_DEPTH);
    free(s);
}

/* ------------------------------------------------------------------------
 * Strings.
 */

static void y_string_every_escape(void **state)
{
    (void)state;
    assert_unescapes("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
    assert_unescapes("\"a\\u0041b\\u00e9\\u20AC\"", "aAb\xc3\xa9\xe2\x82\xac", 8);
    assert_unescapes("\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
                     "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11);
    assert_unescapes("\"\"", "", 0);
    assert_unescapes("\"plain text, no escapes at all\"", "plain text, no escapes at all", 29);
}

static void y_string_surrogate_pairs(void **state)
{
    (void)state;
    assert_unescapes("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
    assert_unescapes("\"\\uD834\\uDD1E!\"", "\xf0\x9d\x84\x9e!", 5);
    assert_unescapes("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4);
}

static void y_string_lone_surrogates_become_replacement(void **state)
{
    (void)state;
    assert_unescapes("\"\\ud800\"", "\xef\xbf\xbd", 3);
    assert_unescapes("\"\\udc00x\"", "\xef\xbf\xbdx", 4);
    assert_unescapes("\"\\ud800\\u0041\"",
                     "\xef\xbf\xbd"
                     "A",
                     4);
    assert_unescapes("\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80", 7);
    assert_unescapes("\"\\ud800\\n\"", "\xef\xbf\xbd\n", 4);
    assert_unescapes("\"\\udc00\\ud800\"", "\xef\xbf\xbd\xef\xbf\xbd", 6);
}

static void y_string_nul_escape(void **state)
{
    (void)state;
    assert_unescapes("\"a\\u0000b\"", "a\0b", 3);
}

static void y_string_bytes_above_ascii_pass_through(void **state)
{
    (void)state;
    assert_unescapes("\"caf\xc3\xa9 \x7f\"", "caf\xc3\xa9 \x7f", 7);
    /* invalid UTF-8 is kept as it is (implementation-defined in RFC 8259) */
    assert_unescapes("\"\xff\xfe\x80\"", "\xff\xfe\x80", 3);
}

static void n_string_invalid_escapes(void **state)
{
    (void)state;
    assert_rejects_at("\"\\x41\"", 6, 1);
    assert_rejects_at("\"ab\\'\"", 6, 3);
    assert_rejects_at("\"\\a\"", 4, 1);
    assert_rejects_at("\"\\u12\"", 6, 1);
    assert_rejects_at("\"\\u12G4\"", 8, 1);
    assert_rejects_at("\"\\U0041\"", 8, 1);
    assert_rejects_at("\"\\", 2, 1);
    assert_rejects_at("\"\\u", 3, 1);
    assert_rejects_at("\"\\ud800\\u\"", 10, 7);
    assert_rejects_at("\"\\\xc3\xa9\"", 5, 1);
    assert_rejects_at("[\"\\0\"]", 6, 2);
}

static void n_string_raw_control_characters(void **state)
{
    char s[40];
    unsigned c;

    (void)state;
    for (c = 0; c < 0x20; c++) {
        memcpy(s, "\"abc_\"", 7);
        s[4] = (char)c;
        assert_rejects_at(s, 6, 4);
    }
    assert_rejects_at("{\"a\nb\":1}", 9, 3);
}

/* Lenient scanning takes every raw control byte inside strings, keys
 * included, and refuses everything else that strict parsing refuses. */
static void lenient_takes_raw_control_bytes(void **state)
{
    char s[8];
    struct vg_json_value v;
    struct vg_buf b;
    unsigned c;

    (void)state;
    vg_buf_init(&b);
    for (c = 0; c < 0x20; c++) {
        memcpy(s, "\"abc_\"", 7);
        s[4] = (char)c;
        assert_int_equal(vg_json_scan(s, 6, VG_JSON_LENIENT, NULL, NULL, &v, NULL), VG_OK);
        assert_int_equal(v.len, 6);
        vg_buf_reset(&b);
        assert_int_equal(vg_json_unescape(&v, &b), VG_OK);
        assert_int_equal(b.len, 4);
        assert_int_equal(b.data[3], (char)c);
    }
    assert_int_equal(vg_json_scan("{\"a\nb\":\"\t\"}", 11, VG_JSON_LENIENT, NULL, NULL, &v, NULL),
                     VG_OK);
    /* outside strings a control byte is still an error, as are bad escapes */
    assert_int_equal(vg_json_scan("[1,\x01 2]", 7, VG_JSON_LENIENT, NULL, NULL, &v, NULL),
                     VG_EPARSE);
    assert_int_equal(vg_json_scan("\"\x01\\x\"", 5, VG_JSON_LENIENT, NULL, NULL, &v, NULL),
                     VG_EPARSE);
    assert_int_equal(vg_json_scan("\"\x01", 2, VG_JSON_LENIENT, NULL, NULL, &v, NULL), VG_EPARSE);
    vg_buf_free(&b);
}

struct scan_seen {
    char keys[8][16];
    char vals[8][32];
    size_t n;
    size_t stop_at; /* returns VG_ENOMEM at this member */
};

static int scan_member(void *arg, const struct vg_json_value *key, const struct vg_json_value *val)
{
    struct scan_seen *seen = arg;

    if (seen->n == seen->stop_at)
        return VG_ENOMEM;
    assert_true(seen->n < 8);
    assert_int_equal(key->kind, VG_JSON_STRING);
    assert_true(key->len < 16 && val->len < 32);
    memcpy(seen->keys[seen->n], key->ptr, key->len);
    memcpy(seen->vals[seen->n], val->ptr, val->len);
    seen->n++;
    return VG_OK;
}

/* The scan hands over the top object's members, nested ones never, with
 * values as vg_json_parse would give them; fn's error stops the scan. */
static void scan_hands_over_top_members(void **state)
{
    const char *s = " {\"a\" : 1, \"b\\u0041\":{\"c\":[2]}, \"d\":\"x\\ty\" } ";
    struct scan_seen seen = {.stop_at = 99};
    struct vg_json_value v;
    size_t off = 0;

    (void)state;
    assert_int_equal(vg_json_scan(s, strlen(s), 0, scan_member, &seen, &v, NULL), VG_OK);
    assert_int_equal(v.kind, VG_JSON_OBJECT);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.keys[0], "\"a\"");
    assert_string_equal(seen.vals[0], "1");
    assert_string_equal(seen.keys[1], "\"b\\u0041\"");
    assert_string_equal(seen.vals[1], "{\"c\":[2]}");
    assert_string_equal(seen.vals[2], "\"x\\ty\"");
    memset(&seen, 0, sizeof(seen));
    seen.stop_at = 1;
    assert_int_equal(vg_json_scan(s, strlen(s), 0, scan_member, &seen, &v, &off), VG_ENOMEM);
    assert_int_equal(seen.n, 1);
    /* members before an error were handed over; the result says EPARSE */
    memset(&seen, 0, sizeof(seen));
    seen.stop_at = 99;
    assert_int_equal(vg_json_scan("{\"a\":1,\"b\":2,}", 15, 0, scan_member, &seen, &v, &off),
                     VG_EPARSE);
    assert_int_equal(seen.n, 2);
    assert_int_equal(off, 13);
    /* a top value that is not an object has no members */
    memset(&seen, 0, sizeof(seen));
    seen.stop_at = 99;
    assert_int_equal(vg_json_scan("[{\"a\":1}]", 9, 0, scan_member, &seen, &v, NULL), VG_OK);
    assert_int_equal(seen.n, 0);
}

static void unescape_to_a_fixed_buffer(void **state)
{
    struct vg_json_value v = value_of("\"a\\u00e9\\n\"");
    char buf[16];
    size_t n = 99;

    (void)state;
    assert_int_equal(vg_json_unescape_to(&v, buf, sizeof(buf), &n), VG_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "a\xc3\xa9\n", 4);
    /* room for the escaped length is required, whatever the result */
    assert_int_equal(vg_json_unescape_to(&v, buf, 8, &n), VG_ENOMEM);
    assert_int_equal(vg_json_unescape_to(&v, buf, 9, &n), VG_OK);
    v = value_of("1");
    assert_int_equal(vg_json_unescape_to(&v, buf, sizeof(buf), &n), VG_EPARSE);
    v = raw_value(VG_JSON_STRING, "\"\\q\"");
    assert_int_equal(vg_json_unescape_to(&v, buf, sizeof(buf), &n), VG_EPARSE);
}

/* The string scanner works eight bytes at a time: a stop byte at every
 * position of a long string must still be seen. */
static void strings_scanned_at_every_offset(void **state)
{
    char s[42];
    struct vg_json_value v;
    struct vg_buf b;
    size_t at, off;

    (void)state;
    vg_buf_init(&b);
    for (at = 1; at < 40; at++) {
        memset(s, 'x', sizeof(s));
        s[0] = '"';
        s[41] = '"';
        s[at] = '\x1f';
        assert_int_equal(vg_json_parse(s, sizeof(s), &v, &off), VG_EPARSE);
        assert_int_equal(off, at);
        s[at] = '"';
        assert_int_equal(vg_json_parse(s, at + 1, &v, NULL), VG_OK);
        assert_int_equal(v.len, at + 1);
        s[at] = '\\';
        s[at + 1] = 'n';
        assert_int_equal(vg_json_parse(s, sizeof(s), &v, NULL), VG_OK);
        assert_int_equal(v.len, sizeof(s));
        vg_buf_reset(&b);
        assert_int_equal(vg_json_unescape(&v, &b), VG_OK);
        assert_int_equal(b.len, sizeof(s) - 3);
        assert_int_equal(b.data[at - 1], '\n');
    }
    vg_buf_free(&b);
}

static void unescape_appends_and_keeps_terminated(void **state)
{
    struct vg_json_value v = value_of("\"tail\\t\"");
    struct vg_buf b;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(vg_buf_puts(&b, "head-"), VG_OK);
    assert_int_equal(vg_json_unescape(&v, &b), VG_OK);
    assert_string_equal(b.data, "head-tail\t");
    vg_buf_free(&b);
}

static void unescape_rejects_what_is_not_a_string(void **state)
{
    struct vg_json_value n = value_of("12");
    struct vg_json_value bad = raw_value(VG_JSON_STRING, "\"a\\qb\"");
    struct vg_json_value open = raw_value(VG_JSON_STRING, "\"abc");
    struct vg_json_value esc_end = raw_value(VG_JSON_STRING, "\"abc\\\"");
    struct vg_json_value one = raw_value(VG_JSON_STRING, "\"");
    struct vg_buf b;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(vg_buf_puts(&b, "keep"), VG_OK);
    assert_int_equal(vg_json_unescape(&n, &b), VG_EPARSE);
    assert_int_equal(vg_json_unescape(&bad, &b), VG_EPARSE);
    assert_int_equal(vg_json_unescape(&open, &b), VG_EPARSE);
    assert_int_equal(vg_json_unescape(&esc_end, &b), VG_EPARSE);
    assert_int_equal(vg_json_unescape(&one, &b), VG_EPARSE);
    assert_int_equal(vg_json_unescape(NULL, &b), VG_EPARSE);
    /* out is as it was */
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    vg_buf_free(&b);
}

static void string_is_compares_unescaped_text(void **state)
{
    struct vg_json_value v = value_of("\"io.kubernetes\\u002epod\\/name\"");
    struct vg_json_value nul = value_of("\"a\\u0000\"");
    struct vg_json_value num = value_of("1");

    (void)state;
    assert_true(vg_json_string_is(&v, "io.kubernetes.pod/name"));
    assert_false(vg_json_string_is(&v, "io.kubernetes.pod/nam"));
    assert_false(vg_json_string_is(&v, "io.kubernetes.pod/name2"));
    assert_false(vg_json_string_is(&v, "io.kubernetes\\u002epod\\/name"));
    assert_false(vg_json_string_is(&v, ""));
    assert_false(vg_json_string_is(&v, NULL));
    assert_false(vg_json_string_is(&nul, "a"));
    assert_false(vg_json_string_is(&num, "1"));
    v = value_of("\"\"");
    assert_true(vg_json_string_is(&v, ""));
    v = value_of("\"\\ud83d\\ude00\"");
    assert_true(vg_json_string_is(&v, "\xf0\x9f\x98\x80"));
}

/* ------------------------------------------------------------------------
 * Walking.
 */

static void object_next_walks_members_in_order(void **state)
{
    struct vg_json_value obj = value_of("{ \"a\" : 1 , \"b\" : [ 1 , 2 ] ,\"c\":{\"d\":\"}\"}}");
    struct vg_json_value k, v;
    size_t pos = 0;

    (void)state;
    assert_int_equal(vg_json_object_next(&obj, &pos, &k, &v), 1);
    assert_true(vg_json_string_is(&k, "a"));
    assert_int_equal(k.len, 3);
    assert_int_equal(v.kind, VG_JSON_NUMBER);
    assert_int_equal(v.len, 1);
    assert_int_equal(vg_json_object_next(&obj, &pos, &k, &v), 1);
    assert_true(vg_json_string_is(&k, "b"));
    assert_int_equal(v.kind, VG_JSON_ARRAY);
    assert_int_equal(v.len, 9);
    assert_memory_equal(v.ptr, "[ 1 , 2 ]", 9);
    assert_int_equal(vg_json_object_next(&obj, &pos, &k, &v), 1);
    assert_true(vg_json_string_is(&k, "c"));
    assert_int_equal(v.kind, VG_JSON_OBJECT);
    assert_memory_equal(v.ptr, "{\"d\":\"}\"}", v.len);
    assert_int_equal(vg_json_object_next(&obj, &pos, &k, &v), 0);
    assert_int_equal(vg_json_object_next(&obj, &pos, &k, &v), 0);
}

static void array_next_walks_elements(void **state)
{
    struct vg_json_value arr = value_of("[1,\"x\\\"]\",[true,[]],{},null,false,-2.5e3]");
    static const enum vg_json_kind kinds[] = {VG_JSON_NUMBER, VG_JSON_STRING, VG_JSON_ARRAY,
                                              VG_JSON_OBJECT, VG_JSON_NULL,   VG_JSON_FALSE,
                                              VG_JSON_NUMBER};
    struct vg_json_value v;
    size_t pos = 0, i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(kinds); i++) {
        assert_int_equal(vg_json_array_next(&arr, &pos, &v), 1);
        assert_int_equal(v.kind, kinds[i]);
        if (i == 1)
            assert_int_equal(v.len, 6);
        if (i == 2)
            assert_memory_equal(v.ptr, "[true,[]]", v.len);
    }
    assert_int_equal(vg_json_array_next(&arr, &pos, &v), 0);
}

static void walking_empty_containers(void **state)
{
    struct vg_json_value arr = value_of("[ \n ]");
    struct vg_json_value obj = value_of("{}");
    struct vg_json_value k, v;
    size_t pos = 0;

    (void)state;
    assert_int_equal(vg_json_array_next(&arr, &pos, &v), 0);
    pos = 0;
    assert_int_equal(vg_json_object_next(&obj, &pos, &k, &v), 0);
    assert_int_equal(vg_json_get(&obj, "a", &v), VG_ENOENT);
}

static void walking_the_wrong_kind_fails(void **state)
{
    struct vg_json_value arr = value_of("[1]");
    struct vg_json_value obj = value_of("{\"a\":1}");
    struct vg_json_value str = value_of("\"{}\"");
    struct vg_json_value k, v;
    size_t pos = 0;

    (void)state;
    assert_int_equal(vg_json_object_next(&arr, &pos, &k, &v), VG_EPARSE);
    assert_int_equal(vg_json_array_next(&obj, &pos, &v), VG_EPARSE);
    assert_int_equal(vg_json_object_next(&str, &pos, &k, &v), VG_EPARSE);
    assert_int_equal(vg_json_get(&arr, "a", &v), VG_EPARSE);
    assert_int_equal(vg_json_get(&str, "a", &v), VG_EPARSE);
    assert_int_equal(vg_json_get(NULL, "a", &v), VG_EPARSE);
    assert_int_equal(vg_json_array_next(NULL, &pos, &v), VG_EPARSE);
    assert_int_equal(pos, 0);
}

static void get_finds_first_match_after_unescaping(void **state)
{
    struct vg_json_value obj = value_of("{\"a\":1,\"a\\u0062\":2,\"ab\":3,\"\":4}");
    struct vg_json_value v;
    int64_t n = 0;

    (void)state;
    assert_int_equal(vg_json_get(&obj, "ab", &v), VG_OK);
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(vg_json_get(&obj, "a", &v), VG_OK);
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(vg_json_get(&obj, "", &v), VG_OK);
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, 4);
    assert_int_equal(vg_json_get(&obj, "b", &v), VG_ENOENT);
    assert_int_equal(vg_json_get(&obj, NULL, &v), VG_ENOENT);
}

/* Values handed over without going through the parser: the walkers stop
 * at the value's end, whatever lies inside. Each one is a heap copy of
 * exactly its length so that any overrun shows under ASan. */
static void walk_raw(enum vg_json_kind kind, const char *text, int want_first)
{
    size_t len = strlen(text), pos = 0;
    char *copy = malloc(len);
    struct vg_json_value v, k, e;
    int rc;

    assert_non_null(copy);
    memcpy(copy, text, len);
    v.kind = kind;
    v.ptr = copy;
    v.len = len;
    if (kind == VG_JSON_OBJECT)
        rc = vg_json_object_next(&v, &pos, &k, &e);
    else
        rc = vg_json_array_next(&v, &pos, &e);
    if (rc != want_first)
        fail_msg("got %d, want %d: %s", rc, want_first, text);
    if (rc == 1) {
        assert_true(e.ptr > copy && e.ptr + e.len < copy + len);
        assert_true(pos < len);
    }
    free(copy);
}

static void walkers_never_leave_an_unparsed_value(void **state)
{
    (void)state;
    walk_raw(VG_JSON_OBJECT, "{\"a\":\"b}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":[1,2}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\"}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\\\"}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{a:1}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":1 2}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":tru}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":-}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":[}]}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":{]}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":1", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "}", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "", VG_EPARSE);
    walk_raw(VG_JSON_OBJECT, "{\"a\":\"\x01\"}", 1);
    walk_raw(VG_JSON_OBJECT, "{\"a\":1,}", 1);
    walk_raw(VG_JSON_ARRAY, "[\"]", VG_EPARSE);
    walk_raw(VG_JSON_ARRAY, "[\"\\]", VG_EPARSE);
    walk_raw(VG_JSON_ARRAY, "[[[[]", VG_EPARSE);
    walk_raw(VG_JSON_ARRAY, "[nul]", VG_EPARSE);
    walk_raw(VG_JSON_ARRAY, "[x]", VG_EPARSE);
    walk_raw(VG_JSON_ARRAY, "[]", 0);
}

static void walker_positions_out_of_range_end_the_walk(void **state)
{
    struct vg_json_value arr = value_of("[1,2]");
    struct vg_json_value v;
    size_t pos = 1000;

    (void)state;
    assert_int_equal(vg_json_array_next(&arr, &pos, &v), 0);
    assert_int_equal(pos, 4);
}

static void parse_reads_only_len_bytes(void **state)
{
    char *s = malloc(3);
    struct vg_json_value v;
    double d = 0;
    int64_t n = 0;

    (void)state;
    assert_non_null(s);
    memcpy(s, "123", 3);
    assert_int_equal(vg_json_parse(s, 3, &v, NULL), VG_OK);
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, 123);
    assert_int_equal(vg_json_double(&v, &d), VG_OK);
    assert_true(d == 123.0);
    assert_int_equal(vg_json_parse(s, 2, &v, NULL), VG_OK);
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, 12);
    free(s);
}

static void parse_without_out_or_err_off(void **state)
{
    (void)state;
    assert_int_equal(vg_json_parse("[1]", 3, NULL, NULL), VG_OK);
    assert_int_equal(vg_json_parse("[1", 2, NULL, NULL), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * Numbers.
 */

static void int_reads_integers_that_fit(void **state)
{
    struct vg_json_value v;
    int64_t n = 1;

    (void)state;
    v = value_of("0");
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, 0);
    v = value_of("-0");
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, 0);
    v = value_of("-42");
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_int_equal(n, -42);
    v = value_of("9223372036854775807");
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_true(n == INT64_MAX);
    v = value_of("-9223372036854775808");
    assert_int_equal(vg_json_int(&v, &n), VG_OK);
    assert_true(n == INT64_MIN);
}

static void int_rejects_the_rest(void **state)
{
    static const char *const bad[] = {"9223372036854775808",
                                      "-9223372036854775809",
                                      "99999999999999999999",
                                      "1.0",
                                      "1e3",
                                      "-1E0",
                                      "0.5",
                                      "\"1\"",
                                      "true",
                                      "null",
                                      "[1]"};
    struct vg_json_value v, raw;
    int64_t n = 7;
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        v = value_of(bad[i]);
        assert_int_equal(vg_json_int(&v, &n), VG_EPARSE);
    }
    raw = raw_value(VG_JSON_NUMBER, "-");
    assert_int_equal(vg_json_int(&raw, &n), VG_EPARSE);
    raw = raw_value(VG_JSON_NUMBER, "12a");
    assert_int_equal(vg_json_int(&raw, &n), VG_EPARSE);
    raw = raw_value(VG_JSON_NUMBER, "");
    assert_int_equal(vg_json_int(&raw, &n), VG_EPARSE);
    assert_int_equal(n, 7);
}

static double double_of(const char *s)
{
    struct vg_json_value v = value_of(s);
    double d = 12345.0;

    assert_int_equal(vg_json_double(&v, &d), VG_OK);
    return d;
}

static void double_reads_every_number(void **state)
{
    (void)state;
    assert_true(double_of("0.1") == 0.1);
    assert_true(double_of("1E-2") == 0.01);
    assert_true(double_of("1e5") == 100000.0);
    assert_true(double_of("-2.5e+3") == -2500.0);
    assert_true(double_of("42") == 42.0);
    assert_true(double_of("-0") == 0.0);
    assert_true(signbit(double_of("-0")));
    assert_true(double_of("1.7976931348623157e308") == 1.7976931348623157e308);
    assert_true(double_of("4.9e-324") == 4.9e-324);
    assert_true(isinf(double_of("1e400")) && double_of("1e400") > 0);
    assert_true(isinf(double_of("-1e400")) && double_of("-1e400") < 0);
    assert_true(double_of("1e-400") == 0.0);
}

/* Builds "<prefix><n times c><suffix>" on the heap. */
static char *long_number(const char *prefix, char c, size_t n, const char *suffix)
{
    size_t p = strlen(prefix), q = strlen(suffix);
    char *s = malloc(p + n + q + 1);

    assert_non_null(s);
    memcpy(s, prefix, p);
    memset(s + p, c, n);
    memcpy(s + p + n, suffix, q + 1);
    return s;
}

static void double_of_very_long_numbers(void **state)
{
    char *s;

    (void)state;
    s = long_number("1", '0', 300, ""); /* 1e300 written out */
    assert_true(double_of(s) == 1e300);
    free(s);
    s = long_number("1", '0', 2000, "e-2000");
    assert_true(double_of(s) == 1.0);
    free(s);
    s = long_number("0.", '0', 5000, "1e5005");
    assert_true(double_of(s) == 1e4);
    free(s);
    s = long_number("-1.", '0', 3000, "");
    assert_true(double_of(s) == -1.0);
    free(s);
    s = long_number("0.", '3', 1500, "");
    assert_true(double_of(s) == 1.0 / 3.0);
    free(s);
    s = long_number("1", '0', 400, "");
    assert_true(isinf(double_of(s)));
    free(s);
    s = long_number("1e", '9', 100, "");
    assert_true(isinf(double_of(s)));
    free(s);
    s = long_number("1e-", '9', 100, "");
    assert_true(double_of(s) == 0.0);
    free(s);
}

/* 1 + 2^-53 is halfway between 1 and the next double: ties to even gives
 * 1, and any non-zero digit after it, however far out, the next double. */
static void double_rounds_halfway_with_far_digits(void **state)
{
    static const char half[] = "1.00000000000000011102230246251565404236316680908203125";
    char *s;

    (void)state;
    assert_true(double_of(half) == 1.0);
    s = long_number(half, '0', 1000, "1");
    assert_true(double_of(s) == 1.0000000000000002);
    free(s);
    s = long_number(half, '0', 1000, "");
    assert_true(double_of(s) == 1.0);
    free(s);
}

static void double_rejects_what_is_not_a_number(void **state)
{
    struct vg_json_value v = value_of("\"1\"");
    struct vg_json_value raw = raw_value(VG_JSON_NUMBER, "1.");
    double d = 3.0;

    (void)state;
    assert_int_equal(vg_json_double(&v, &d), VG_EPARSE);
    assert_int_equal(vg_json_double(&raw, &d), VG_EPARSE);
    raw = raw_value(VG_JSON_NUMBER, "1e");
    assert_int_equal(vg_json_double(&raw, &d), VG_EPARSE);
    raw = raw_value(VG_JSON_NUMBER, "0x1p3");
    assert_int_equal(vg_json_double(&raw, &d), VG_EPARSE);
    raw = raw_value(VG_JSON_NUMBER, "inf");
    assert_int_equal(vg_json_double(&raw, &d), VG_EPARSE);
    assert_int_equal(vg_json_double(NULL, &d), VG_EPARSE);
    assert_true(d == 3.0);
}

/* ------------------------------------------------------------------------
 * Docker's config.v2.json.
 */

static char *read_fixture(const char *path, size_t *len)
{
    char *s = test_read_file(path, len);

    assert_true(*len > 0);
    return s;
}

/* Unescapes obj.path[0].path[1]... (a NULL-terminated list of names). */
static void assert_path_is(const struct vg_json_value *root, const char *const *path,
                           const char *want)
{
    struct vg_json_value v = *root;
    struct vg_buf b;
    size_t i;

    for (i = 0; path[i] != NULL; i++) {
        if (vg_json_get(&v, path[i], &v) != VG_OK)
            fail_msg("no member %s", path[i]);
    }
    vg_buf_init(&b);
    assert_int_equal(vg_json_unescape(&v, &b), VG_OK);
    assert_string_equal(b.data, want);
    vg_buf_free(&b);
}

static void docker_config_v2(void **state)
{
    static const char *const name[] = {"Name", NULL};
    static const char *const image[] = {"Config", "Image", NULL};
    static const char *const pod[] = {"Config", "Labels", "io.kubernetes.pod.name", NULL};
    static const char *const ns[] = {"Config", "Labels", "io.kubernetes.pod.namespace", NULL};
    static const char *const ctr[] = {"Config", "Labels", "io.kubernetes.container.name", NULL};
    static const char *const uid[] = {"Config", "Labels", "io.kubernetes.pod.uid", NULL};
    static const char *const maint[] = {"Config", "Labels", "maintainer", NULL};
    struct vg_json_value root;
    size_t len, off = 0;
    char *s = read_fixture(DOCKER_FIXTURE, &len);

    (void)state;
    if (vg_json_parse(s, len, &root, &off) != VG_OK)
        fail_msg("fixture rejected at %zu", off);
    assert_int_equal(root.kind, VG_JSON_OBJECT);
    assert_path_is(&root, name, "/k8s_app_mypod_default_5f2b7c1e-8d4a-4e0b-9c3f-2a6d1b8e7f90_0");
    assert_path_is(&root, image, "nginx:1.25.3");
    assert_path_is(&root, pod, "mypod");
    assert_path_is(&root, ns, "default");
    assert_path_is(&root, ctr, "app");
    assert_path_is(&root, uid, "5f2b7c1e-8d4a-4e0b-9c3f-2a6d1b8e7f90");
    assert_path_is(&root, maint, "NGINX Docker Maintainers <docker-maint@nginx.com>");
    free(s);
}

static void docker_config_v2_other_members(void **state)
{
    struct vg_json_value root, st, v, env, e;
    struct vg_buf b;
    size_t len, pos = 0;
    char *s = read_fixture(DOCKER_FIXTURE, &len);
    int64_t pid = 0;
    bool found = false;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(vg_json_parse(s, len, &root, NULL), VG_OK);
    assert_int_equal(vg_json_get(&root, "State", &st), VG_OK);
    assert_int_equal(vg_json_get(&st, "Pid", &v), VG_OK);
    assert_int_equal(vg_json_int(&v, &pid), VG_OK);
    assert_int_equal(pid, 41237);
    assert_int_equal(vg_json_get(&st, "Running", &v), VG_OK);
    assert_int_equal(v.kind, VG_JSON_TRUE);
    assert_int_equal(vg_json_get(&st, "Health", &v), VG_OK);
    assert_int_equal(v.kind, VG_JSON_NULL);
    assert_int_equal(vg_json_get(&root, "Config", &v), VG_OK);
    assert_int_equal(vg_json_get(&v, "Env", &env), VG_OK);
    while (vg_json_array_next(&env, &pos, &e) == 1) {
        vg_buf_reset(&b);
        assert_int_equal(vg_json_unescape(&e, &b), VG_OK);
        if (strncmp(b.data, "GREETING=", 9) == 0) {
            assert_string_equal(b.data, "GREETING=caf\xc3\xa9 <b>&</b>");
            found = true;
        }
    }
    assert_true(found);
    assert_int_equal(vg_json_get(&root, "Missing", &v), VG_ENOENT);
    vg_buf_free(&b);
    free(s);
}

/* Every truncation of the fixture is rejected, at an offset inside it. */
static void docker_config_v2_truncated(void **state)
{
    size_t len, cut, off;
    char *s = read_fixture(DOCKER_FIXTURE, &len);
    char *copy;

    (void)state;
    for (cut = 0; cut < len; cut += 7) {
        copy = malloc(cut > 0 ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, s, cut);
        off = len + 1;
        assert_int_equal(vg_json_parse(copy, cut, NULL, &off), VG_EPARSE);
        assert_true(off <= cut);
        free(copy);
    }
    free(s);
}

/* The short-decimal fast path gives strtod's double, bit for bit, on
 * random decimals of every length it takes and just past it. */
static void short_decimals_convert_exactly_as_strtod(void **state)
{
    struct vg_json_value v;
    uint64_t seed = 88172645463325252u;
    char text[64];
    double d, want;
    int i, n, k, dot;

    (void)state;
    for (i = 0; i < 200000; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        n = 1 + (int)(seed % 17);                     /* digits */
        dot = (int)((seed >> 8) % (unsigned)(n + 1)); /* where the point goes; n: none */
        k = 0;
        if ((seed >> 20) & 1)
            text[k++] = '-';
        for (int j = 0; j < n; j++) {
            if (j == dot && dot > 0)
                text[k++] = '.';
            text[k++] = (char)('0' + (j == 0 && dot != 1 && n > 1 ? 1 + (seed >> (24 + j)) % 9
                                                                  : (seed >> (24 + j)) % 10));
        }
        text[k] = '\0';
        assert_int_equal(vg_json_parse(text, (size_t)k, &v, NULL), VG_OK);
        assert_int_equal(vg_json_double(&v, &d), VG_OK);
        want = strtod(text, NULL);
        if (memcmp(&d, &want, sizeof(d)) != 0)
            fail_msg("%s: %.17g, strtod %.17g", text, d, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_decimals_convert_exactly_as_strtod),
        cmocka_unit_test(y_literals),
        cmocka_unit_test(y_numbers),
        cmocka_unit_test(n_number_leading_zeros),
        cmocka_unit_test(n_number_incomplete),
        cmocka_unit_test(n_number_other_forms),
        cmocka_unit_test(y_structures),
        cmocka_unit_test(y_whitespace_is_outside_the_span),
        cmocka_unit_test(n_empty_and_whitespace_only),
        cmocka_unit_test(n_trailing_commas),
        cmocka_unit_test(n_trailing_garbage),
        cmocka_unit_test(n_bad_literals),
        cmocka_unit_test(n_comments_and_quotes),
        cmocka_unit_test(n_unterminated),
        cmocka_unit_test(n_mismatched_brackets),
        cmocka_unit_test(depth_limit),
        cmocka_unit_test(deep_nesting_far_beyond_the_limit),
        cmocka_unit_test(y_string_every_escape),
        cmocka_unit_test(y_string_surrogate_pairs),
        cmocka_unit_test(y_string_lone_surrogates_become_replacement),
        cmocka_unit_test(y_string_nul_escape),
        cmocka_unit_test(y_string_bytes_above_ascii_pass_through),
        cmocka_unit_test(n_string_invalid_escapes),
        cmocka_unit_test(n_string_raw_control_characters),
        cmocka_unit_test(lenient_takes_raw_control_bytes),
        cmocka_unit_test(scan_hands_over_top_members),
        cmocka_unit_test(unescape_to_a_fixed_buffer),
        cmocka_unit_test(strings_scanned_at_every_offset),
        cmocka_unit_test(unescape_appends_and_keeps_terminated),
        cmocka_unit_test(unescape_rejects_what_is_not_a_string),
        cmocka_unit_test(string_is_compares_unescaped_text),
        cmocka_unit_test(object_next_walks_members_in_order),
        cmocka_unit_test(array_next_walks_elements),
        cmocka_unit_test(walking_empty_containers),
        cmocka_unit_test(walking_the_wrong_kind_fails),
        cmocka_unit_test(get_finds_first_match_after_unescaping),
        cmocka_unit_test(walkers_never_leave_an_unparsed_value),
        cmocka_unit_test(walker_positions_out_of_range_end_the_walk),
        cmocka_unit_test(parse_reads_only_len_bytes),
        cmocka_unit_test(parse_without_out_or_err_off),
        cmocka_unit_test(int_reads_integers_that_fit),
        cmocka_unit_test(int_rejects_the_rest),
        cmocka_unit_test(double_reads_every_number),
        cmocka_unit_test(double_of_very_long_numbers),
        cmocka_unit_test(double_rounds_halfway_with_far_digits),
        cmocka_unit_test(double_rejects_what_is_not_a_number),
        cmocka_unit_test(docker_config_v2),
        cmocka_unit_test(docker_config_v2_other_members),
        cmocka_unit_test(docker_config_v2_truncated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

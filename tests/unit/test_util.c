/*
 * test_util.c - buffers, JSON strings, Prometheus floats, the agent's log
 * format, its masking of secrets and its rate limiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil.h"

/* Published FNV-1a 64 test vectors; a continued hash equals the whole. */
static void fnv1a_matches_reference_vectors(void **state)
{
    (void)state;
    assert_true(vg_fnv1a("", 0) == UINT64_C(0xcbf29ce484222325));
    assert_true(vg_fnv1a("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(vg_fnv1a("foobar", 6) == UINT64_C(0x85944171f73967e8));
    assert_true(vg_fnv1a_more(vg_fnv1a("foo", 3), "bar", 3) == vg_fnv1a("foobar", 6));
}

static bool util_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p: nested folders made, an existing one accepted, a file in the
 * way refused with ENOTDIR (for the file itself and for a path through it). */
static void mkdirs_nested_existing_and_file_in_the_way(void **state)
{
    char root[] = "/tmp/vigil-mkdirs-XXXXXX";
    char path[256];
    int fd;

    (void)state;
    assert_non_null(mkdtemp(root));
    snprintf(path, sizeof(path), "%s/a/b/c", root);
    assert_int_equal(vg_mkdirs(path), VG_OK);
    assert_true(util_is_dir(path));
    assert_int_equal(vg_mkdirs(path), VG_OK); /* exists already */
    snprintf(path, sizeof(path), "%s/a/b/", root);
    assert_int_equal(vg_mkdirs(path), VG_OK); /* trailing slash */

    snprintf(path, sizeof(path), "%s/file", root);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    errno = 0;
    assert_int_equal(vg_mkdirs(path), VG_EIO);
    assert_int_equal(errno, ENOTDIR);
    snprintf(path, sizeof(path), "%s/file/sub", root);
    assert_int_equal(vg_mkdirs(path), VG_EIO);
    assert_int_equal(errno, ENOTDIR);
    assert_int_equal(vg_mkdirs(""), VG_EINVAL);

    unlink(path);
    snprintf(path, sizeof(path), "%s/file", root);
    unlink(path);
    snprintf(path, sizeof(path), "%s/a/b/c", root);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/a/b", root);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/a", root);
    rmdir(path);
    rmdir(root);
}

static void errno_str_names_the_error(void **state)
{
    (void)state;
    assert_string_equal(vg_errno_str(ENOENT), "No such file or directory");
    assert_non_null(vg_errno_str(-12345)); /* unknown: still a text */
}

static void json_escapes_controls_quotes_and_nul(void **state)
{
    struct vg_buf b;
    const char in[] = "a\"b\\c\n\t\x01\0z";

    vg_buf_init(&b);
    assert_int_equal(vg_buf_json_string(&b, in, sizeof(in) - 1), VG_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u0000z\"");
    vg_buf_free(&b);
}

/* The escape of one byte of the alphabet below, written plainly. */
static void json_ref_byte(struct vg_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";

    if (c == '"' || c == '\\') {
        vg_buf_putc(b, '\\');
        vg_buf_putc(b, (char)c);
    } else if (c == '\n') {
        vg_buf_puts(b, "\\n");
    } else if (c == '\r') {
        vg_buf_puts(b, "\\r");
    } else if (c == '\t') {
        vg_buf_puts(b, "\\t");
    } else if (c < 0x20) {
        vg_buf_puts(b, "\\u00");
        vg_buf_putc(b, hex[c >> 4]);
        vg_buf_putc(b, hex[c & 0xf]);
    } else {
        vg_buf_putc(b, (char)c);
    }
}

/* The word-at-a-time scan for plain bytes agrees with a byte-by-byte
 * escape on random strings of every length 0..40 and every alignment, with
 * controls, quotes, backslashes, DEL and two-byte UTF-8 sequences. */
static void json_word_scan_agrees_with_bytewise(void **state)
{
    struct vg_buf got, want;
    unsigned char s[48];
    unsigned seed = 7;
    int it;

    (void)state;
    vg_buf_init(&got);
    vg_buf_init(&want);
    for (it = 0; it < 200000; it++) {
        size_t n = (size_t)(rand_r(&seed) % 41), i;

        vg_buf_reset(&want);
        vg_buf_putc(&want, '"');
        for (i = 0; i < n; i++) {
            int r = rand_r(&seed) % 24;

            if (r == 0 && i + 1 < n) { /* U+00E9, kept as it is */
                s[i] = 0xc3;
                s[i + 1] = 0xa9;
                vg_buf_append(&want, s + i, 2);
                i++;
                continue;
            }
            s[i] = r == 1   ? '"'
                   : r == 2 ? '\\'
                   : r == 3 ? (unsigned char)(rand_r(&seed) % 0x20)
                   : r == 4 ? 0x7f
                            : (unsigned char)(0x20 + rand_r(&seed) % 0x5f);
            json_ref_byte(&want, s[i]);
        }
        vg_buf_putc(&want, '"');
        vg_buf_reset(&got);
        assert_int_equal(vg_buf_json_string(&got, (const char *)s, n), VG_OK);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
    }
    vg_buf_free(&got);
    vg_buf_free(&want);
}

static void json_replaces_invalid_utf8(void **state)
{
    struct vg_buf b;
    /* valid é, a lone continuation byte, a truncated 3-byte sequence, an
     * overlong encoding of '/', a surrogate */
    const char in[] = "\xc3\xa9|\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80";

    vg_buf_init(&b);
    assert_int_equal(vg_buf_json_string(&b, in, sizeof(in) - 1), VG_OK);
    assert_string_equal(b.data, "\"\xc3\xa9|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                                "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    vg_buf_free(&b);
}

static void doubles_print_like_prometheus(void **state)
{
    struct vg_buf b;

    vg_buf_init(&b);
    vg_buf_put_double(&b, 0);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, -3);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, 0.1);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, 1e300);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, NAN);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, INFINITY);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, -INFINITY);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, 1234567.125);
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, 1.5e19); /* beyond int64: no integer cast */
    vg_buf_putc(&b, ' ');
    vg_buf_put_double(&b, -9.3e18);
    assert_string_equal(b.data, "0 -3 0.1 1e+300 NaN +Inf -Inf 1234567.125 1.5e+19 -9.3e+18");
    vg_buf_free(&b);
}

static void buf_grows_and_printf_appends(void **state)
{
    struct vg_buf b;
    int i;

    vg_buf_init(&b);
    for (i = 0; i < 10000; i++)
        assert_int_equal(vg_buf_printf(&b, "%d,", i % 10), VG_OK);
    assert_int_equal(b.len, 20000);
    assert_int_equal(b.data[b.len], '\0');
    vg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    vg_buf_free(&b);
}

/* Runs fn with stderr sent to a temporary file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/vigil-test-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    char *out = calloc(1, 65536);
    ssize_t n;

    assert_true(fd >= 0 && out != NULL);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    n = read(fd, out, 65535);
    assert_true(n >= 0);
    close(fd);
    unlink(path);
    return out;
}

static void log_one_line(void)
{
    vg_log_setup(VG_LOG_INFO, false);
    vg_log(VG_LOG_ERROR, "file", "out 1", "cannot open %s", "/x \"y\"");
    vg_log(VG_LOG_DEBUG, "file", "out", "not shown at info");
}

static void log_logfmt_names_plugin_and_instance(void **state)
{
    char *out = capture_stderr(log_one_line);

    assert_non_null(strstr(out, " level=error plugin=file instance=\"out 1\" "
                                "msg=\"cannot open /x \\\"y\\\"\"\n"));
    assert_memory_equal(out, "ts=", 3);
    assert_null(strstr(out, "not shown"));
    free(out);
}

static void log_secret_line(void)
{
    vg_log_setup(VG_LOG_INFO, false);
    vg_secret_add("LogSecret4242");
    vg_log(VG_LOG_ERROR, "es", "es", "POST ftp://admin:UrlSecret777@host:9200 with %s",
           "LogSecret4242");
    vg_secret_forget_all();
}

/* Every log line goes through vg_secret_mask. */
static void log_masks_secrets(void **state)
{
    char *out = capture_stderr(log_secret_line);

    assert_non_null(strstr(out, "msg=\"POST ftp://***@host:9200 with ***\"\n"));
    assert_null(strstr(out, "UrlSecret777"));
    assert_null(strstr(out, "LogSecret4242"));
    free(out);
}

static void log_json_line(void)
{
    vg_log_setup(VG_LOG_DEBUG, true);
    vg_log(VG_LOG_DEBUG, "node", "node", "read %d files", 3);
    vg_log_setup(VG_LOG_INFO, false);
}

static void log_json_format(void **state)
{
    char *out = capture_stderr(log_json_line);

    assert_non_null(strstr(out, "\"level\":\"debug\",\"plugin\":\"node\",\"instance\":\"node\","
                                "\"msg\":\"read 3 files\"}\n"));
    free(out);
}

static void log_complain_many(void)
{
    struct vg_complain c = {0};
    int i;

    vg_log_setup(VG_LOG_INFO, false);
    for (i = 0; i < 1000; i++)
        vg_complain(&c, VG_LOG_ERROR, "textfile", "tf", "directory missing");
    vg_complain_clear(&c, "textfile", "tf", "collection");
    vg_complain(&c, VG_LOG_ERROR, "textfile", "tf", "directory missing again");
}

static void complaints_are_rate_limited(void **state)
{
    char *out = capture_stderr(log_complain_many);
    const char *p = out;
    int lines = 0;

    while ((p = strchr(p, '\n')) != NULL) {
        lines++;
        p++;
    }
    /* one complaint, one recovery, one new complaint: not 1000 lines */
    assert_int_equal(lines, 3);
    assert_non_null(strstr(out, "collection recovered"));
    assert_non_null(strstr(out, "directory missing again"));
    free(out);
}

static void strerror_names_every_code(void **state)
{
    int code;

    for (code = VG_ESTOP; code <= VG_OK; code++)
        assert_string_not_equal(vg_strerror(code), "unknown error");
    assert_string_equal(vg_strerror(-1000), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fnv1a_matches_reference_vectors),
        cmocka_unit_test(mkdirs_nested_existing_and_file_in_the_way),
        cmocka_unit_test(errno_str_names_the_error),
        cmocka_unit_test(json_escapes_controls_quotes_and_nul),
        cmocka_unit_test(json_replaces_invalid_utf8),
        cmocka_unit_test(json_word_scan_agrees_with_bytewise),
        cmocka_unit_test(doubles_print_like_prometheus),
        cmocka_unit_test(buf_grows_and_printf_appends),
        cmocka_unit_test(log_logfmt_names_plugin_and_instance),
        cmocka_unit_test(log_masks_secrets),
        cmocka_unit_test(log_json_format),
        cmocka_unit_test(complaints_are_rate_limited),
        cmocka_unit_test(strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_util.c - buffers, JSON strings, Prometheus floats, the agent's log
 * format and its rate limiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil.h"

static void json_escapes_controls_quotes_and_nul(void **state)
{
    struct vg_buf b;
    const char in[] = "a\"b\\c\n\t\x01\0z";

    vg_buf_init(&b);
    assert_int_equal(vg_buf_json_string(&b, in, sizeof(in) - 1), VG_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u0000z\"");
    vg_buf_free(&b);
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
        cmocka_unit_test(json_escapes_controls_quotes_and_nul),
        cmocka_unit_test(json_replaces_invalid_utf8),
        cmocka_unit_test(doubles_print_like_prometheus),
        cmocka_unit_test(buf_grows_and_printf_appends),
        cmocka_unit_test(log_logfmt_names_plugin_and_instance),
        cmocka_unit_test(log_json_format),
        cmocka_unit_test(complaints_are_rate_limited),
        cmocka_unit_test(strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_secret.c - the masking of secrets in messages: URL credentials,
 * registered values, a caller's own secret, cutting to the buffer, and
 * registration from several threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vigil.h"

static int forget(void **state)
{
    (void)state;
    vg_secret_forget_all();
    return 0;
}

static void expect_mask(const char *text, const char *also, const char *want)
{
    char out[256];

    assert_string_equal(vg_secret_mask(text, also, out, sizeof(out)), want);
}

static void url_credentials_are_masked(void **state)
{
    (void)state;
    expect_mask("option 'url': 'ftp://admin:UrlSecret777@host:9200' is not http://HOST", NULL,
                "option 'url': 'ftp://***@host:9200' is not http://HOST");
    expect_mask("http://user@es:9200/_bulk", NULL, "http://***@es:9200/_bulk");
    expect_mask("https://u:p%40ss@es", NULL, "https://***@es");
    /* an '@' inside the password, unescaped: up to the last '@' */
    expect_mask("http://u:p@ss@es:1 and more", NULL, "http://***@es:1 and more");
    expect_mask("a http://a:b@x, then SSL://c:d@y", NULL, "a http://***@x, then SSL://***@y");
    expect_mask("\"http://a:b@x\"@y", NULL, "\"http://***@x\"@y");
}

static void text_without_credentials_is_kept(void **state)
{
    (void)state;
    expect_mask("http://es:9200/_bulk?x=1", NULL, "http://es:9200/_bulk?x=1");
    expect_mask("mail admin@example.org", NULL, "mail admin@example.org");
    expect_mask("http:// @x", NULL, "http:// @x");
    expect_mask("", NULL, "");
    expect_mask(NULL, NULL, "");
}

static void registered_values_are_masked(void **state)
{
    (void)state;
    assert_int_equal(vg_secret_add("PwSecret12345"), VG_OK);
    assert_int_equal(vg_secret_add("PwSecret12345"), VG_OK);
    assert_int_equal(vg_secret_add("abc"), VG_OK); /* shorter than VG_SECRET_MIN: left out */
    assert_int_equal(vg_secret_add(""), VG_OK);
    assert_int_equal(vg_secret_add(NULL), VG_OK);
    expect_mask("auth PwSecret12345 and PwSecret12345!", NULL, "auth *** and ***!");
    expect_mask("abc is short", NULL, "abc is short");
    /* the caller's own secret, whatever its length */
    expect_mask("Invalid value \"ab\" for \"sasl.password\"", "ab",
                "Invalid value \"***\" for \"sasl.password\"");
    vg_secret_forget_all();
    expect_mask("auth PwSecret12345", NULL, "auth PwSecret12345");
}

static void longest_registered_value_wins(void **state)
{
    (void)state;
    assert_int_equal(vg_secret_add("secret"), VG_OK);
    assert_int_equal(vg_secret_add("secret-and-more"), VG_OK);
    expect_mask("x secret-and-more y secret", NULL, "x *** y ***");
}

static void output_is_cut_to_the_buffer(void **state)
{
    char out[8];

    (void)state;
    assert_string_equal(vg_secret_mask("0123456789", NULL, out, sizeof(out)), "0123456");
    assert_string_equal(vg_secret_mask("ftp://a:b@h", NULL, out, sizeof(out)), "ftp://*");
    assert_string_equal(vg_secret_mask("x", NULL, out, 1), "");
}

static void *adder(void *arg)
{
    char v[32];
    int i;

    for (i = 0; i < 200; i++) {
        snprintf(v, sizeof(v), "thread%d-value%d", *(int *)arg, i);
        if (vg_secret_add(v) != VG_OK)
            return arg;
    }
    return NULL;
}

static void registration_from_several_threads(void **state)
{
    pthread_t t[4];
    int ids[4] = {0, 1, 2, 3}, i;
    char out[128];
    void *ret;

    (void)state;
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, &ids[i]), 0);
    for (i = 0; i < 100; i++)
        vg_secret_mask("thread1-value7 thread3-value199", NULL, out, sizeof(out));
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
    expect_mask("thread1-value7 thread3-value199", NULL, "*** ***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(url_credentials_are_masked, forget),
        cmocka_unit_test_teardown(text_without_credentials_is_kept, forget),
        cmocka_unit_test_teardown(registered_values_are_masked, forget),
        cmocka_unit_test_teardown(longest_registered_value_wins, forget),
        cmocka_unit_test_teardown(output_is_cut_to_the_buffer, forget),
        cmocka_unit_test_teardown(registration_from_several_threads, forget),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

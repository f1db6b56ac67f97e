/*
 * test_http_conns.c - the HTTP server's connection table on made-up
 * addresses and clocks: the per-client cap, the total and its loopback
 * reserve, request deadlines, and the per-client counts against a plain
 * model through many opens and closes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "http_conns.h"
#include "vigil.h"

#define SEC VG_NS_PER_SEC

/* The client of a textual address: IPv6 when it holds a ':'. */
static struct vg_http_client client(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    struct vg_http_client c;
    bool six = strchr(text, ':') != NULL;

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = six ? AF_INET6 : AF_INET;
    assert_int_equal(
        inet_pton(ss.ss_family, text, six ? (void *)&a6->sin6_addr : (void *)&a4->sin_addr), 1);
    vg_http_client_of((struct sockaddr *)&ss, six ? sizeof(*a6) : sizeof(*a4), &c);
    return c;
}

static struct vg_http_conns *table(unsigned max, unsigned per_client, int64_t timeout_ns)
{
    struct vg_http_limits l = {max, per_client, timeout_ns};
    struct vg_http_conns *t = vg_http_conns_create(&l);

    assert_non_null(t);
    return t;
}

static void test_clients_are_told_apart_and_printed(void **state)
{
    struct vg_http_client a = client("192.0.2.7"), mapped = client("::ffff:192.0.2.7");
    struct vg_http_client six = client("2001:db8::1"), none;
    char buf[64];

    (void)state;
    assert_memory_equal(&a, &mapped, sizeof(a));
    assert_string_equal(vg_http_client_str(&mapped, buf, sizeof(buf)), "192.0.2.7");
    assert_string_equal(vg_http_client_str(&six, buf, sizeof(buf)), "2001:db8::1");
    vg_http_client_of(NULL, 0, &none);
    assert_string_equal(vg_http_client_str(&none, buf, sizeof(buf)), "unknown");
    assert_true(vg_http_client_is_loopback(&(struct vg_http_client){0}) == false);
    a = client("127.0.0.1");
    assert_true(vg_http_client_is_loopback(&a));
    a = client("::1");
    assert_true(vg_http_client_is_loopback(&a));
    a = client("::ffff:127.0.0.1");
    assert_true(vg_http_client_is_loopback(&a));
    a = client("127.0.0.2"); /* only the canonical loopback addresses hold the reserve */
    assert_false(vg_http_client_is_loopback(&a));
}

static void test_one_client_is_capped(void **state)
{
    struct vg_http_conns *t = table(64, 3, 10 * SEC);
    struct vg_http_client a = client("10.0.0.1"), b = client("10.0.0.2");
    struct vg_http_conn *c[3], *x;
    int i;

    (void)state;
    for (i = 0; i < 3; i++)
        assert_int_equal(vg_http_conns_admit(t, &a, 0, &c[i]), VG_HTTP_ADMITTED);
    assert_int_equal(vg_http_conns_admit(t, &a, 0, &x), VG_HTTP_REJECT_CLIENT);
    assert_null(x);
    assert_int_equal(vg_http_conns_admit(t, &b, 0, &x), VG_HTTP_ADMITTED);
    assert_int_equal(vg_http_conns_of(t, &a), 3);
    assert_int_equal(vg_http_conns_open(t), 4);
    vg_http_conns_release(t, c[1]);
    assert_int_equal(vg_http_conns_of(t, &a), 2);
    assert_int_equal(vg_http_conns_admit(t, &a, 0, &c[1]), VG_HTTP_ADMITTED);
    vg_http_conns_destroy(t);
}

/* 16 connections: 12 for anyone, 4 more only for 127.0.0.1 and ::1. */
static void test_a_full_server_keeps_a_reserve_for_loopback(void **state)
{
    struct vg_http_conns *t = table(16, 2, 10 * SEC);
    struct vg_http_client lo4 = client("127.0.0.1"), lo6 = client("::1"),
                          other = client("127.0.0.2");
    struct vg_http_conn *c, *r[4], *x;
    char addr[32];
    int i;

    (void)state;
    for (i = 0; i < 12; i++) {
        struct vg_http_client k;

        snprintf(addr, sizeof(addr), "10.1.0.%d", i);
        k = client(addr);
        assert_int_equal(vg_http_conns_admit(t, &k, 0, &c), VG_HTTP_ADMITTED);
        assert_false(c->reserved);
    }
    assert_int_equal(vg_http_conns_admit(t, &other, 0, &x), VG_HTTP_REJECT_FULL);
    assert_int_equal(vg_http_conns_admit(t, &lo4, 0, &r[0]), VG_HTTP_ADMITTED);
    assert_int_equal(vg_http_conns_admit(t, &lo4, 0, &r[1]), VG_HTTP_ADMITTED);
    assert_int_equal(vg_http_conns_admit(t, &lo4, 0, &x), VG_HTTP_REJECT_CLIENT);
    assert_int_equal(vg_http_conns_admit(t, &lo6, 0, &r[2]), VG_HTTP_ADMITTED);
    assert_int_equal(vg_http_conns_admit(t, &lo6, 0, &r[3]), VG_HTTP_ADMITTED);
    for (i = 0; i < 4; i++)
        assert_true(r[i]->reserved);
    assert_int_equal(vg_http_conns_open(t), 16);
    vg_http_conns_release(t, r[0]);
    assert_int_equal(vg_http_conns_admit(t, &other, 0, &x), VG_HTTP_REJECT_FULL);
    assert_int_equal(vg_http_conns_admit(t, &lo4, 0, &r[0]), VG_HTTP_ADMITTED);
    assert_true(r[0]->reserved);
    vg_http_conns_destroy(t);
}

/* The clock runs from the admission or the last answer, whatever comes in. */
static void test_deadlines_run_from_the_start_of_a_request(void **state)
{
    struct vg_http_conns *t = table(64, 8, 10 * SEC);
    struct vg_http_client a = client("10.0.0.1");
    struct vg_http_conn *c1, *c2;

    (void)state;
    assert_true(vg_http_conns_next_deadline(t) == INT64_MAX);
    assert_int_equal(vg_http_conns_admit(t, &a, 0, &c1), VG_HTTP_ADMITTED);
    assert_int_equal(vg_http_conns_admit(t, &a, 5 * SEC, &c2), VG_HTTP_ADMITTED);
    assert_true(vg_http_conns_next_deadline(t) == 10 * SEC);
    assert_null(vg_http_conns_expired(t, 10 * SEC - 1));
    vg_http_conns_restart(t, c1, 7 * SEC); /* answered: a fresh clock */
    assert_true(vg_http_conns_next_deadline(t) == 15 * SEC);
    assert_ptr_equal(vg_http_conns_expired(t, 17 * SEC), c2);
    assert_true(c2->timed_out);
    assert_ptr_equal(vg_http_conns_expired(t, 17 * SEC), c1);
    assert_null(vg_http_conns_expired(t, 100 * SEC)); /* each is returned once */
    vg_http_conns_restart(t, c2, 18 * SEC);           /* no clock for a closing one */
    assert_true(vg_http_conns_next_deadline(t) == INT64_MAX);
    vg_http_conns_release(t, c2);
    vg_http_conns_release(t, c1);
    assert_int_equal(vg_http_conns_open(t), 0);
    assert_int_equal(vg_http_conns_of(t, &a), 0);
    vg_http_conns_destroy(t);
}

static void test_no_timeout_means_no_deadline(void **state)
{
    struct vg_http_conns *t = table(16, 8, 0);
    struct vg_http_client a = client("10.0.0.1");
    struct vg_http_conn *c;

    (void)state;
    assert_int_equal(vg_http_conns_admit(t, &a, 0, &c), VG_HTTP_ADMITTED);
    assert_true(vg_http_conns_next_deadline(t) == INT64_MAX);
    assert_null(vg_http_conns_expired(t, INT64_MAX));
    vg_http_conns_destroy(t);
}

/* Opens and closes at random among 40 addresses that collide in a small
 * table; every count must match a plain array's. */
static void test_counts_match_a_model_through_churn(void **state)
{
    enum { MAX = 32, ADDRS = 40, STEPS = 20000 };
    struct vg_http_conns *t = table(MAX, 4, 10 * SEC);
    struct vg_http_client clients[ADDRS];
    struct vg_http_conn *open[MAX];
    unsigned model[ADDRS] = {0}, n_open = 0, i, step;
    int who[MAX];
    char addr[32];

    (void)state;
    srand(7);
    for (i = 0; i < ADDRS; i++) {
        snprintf(addr, sizeof(addr), "10.2.%u.%u", i / 7, i * 37 % 251);
        clients[i] = client(addr);
    }
    for (step = 0; step < STEPS; step++) {
        unsigned k = (unsigned)rand() % ADDRS;
        struct vg_http_conn *c;

        if (n_open > 0 && rand() % 2 == 0) {
            unsigned j = (unsigned)rand() % n_open;

            vg_http_conns_release(t, open[j]);
            model[who[j]]--;
            open[j] = open[--n_open];
            who[j] = who[n_open];
        } else if (vg_http_conns_admit(t, &clients[k], step, &c) == VG_HTTP_ADMITTED) {
            assert_true(model[k] < 4 && n_open < MAX);
            model[k]++;
            open[n_open] = c;
            who[n_open++] = (int)k;
        } else {
            assert_true(model[k] == 4 || n_open >= MAX - 8);
        }
        assert_int_equal(vg_http_conns_of(t, &clients[k]), model[k]);
    }
    for (i = 0; i < ADDRS; i++)
        assert_int_equal(vg_http_conns_of(t, &clients[i]), model[i]);
    assert_int_equal(vg_http_conns_open(t), n_open);
    vg_http_conns_destroy(t);
}

static void test_create_refuses_zero_limits_and_survives_failed_allocations(void **state)
{
    struct vg_http_limits zero = {0, 8, SEC}, ok = {64, 8, SEC};
    struct vg_http_conns *t;
    long n;

    (void)state;
    assert_null(vg_http_conns_create(&zero));
    assert_null(vg_http_conns_create(NULL));
    for (n = 0; n < 3; n++) {
        vg_alloc_fail_after(n);
        assert_null(vg_http_conns_create(&ok));
        vg_alloc_reset();
    }
    t = vg_http_conns_create(&ok);
    assert_non_null(t);
    vg_http_conns_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients_are_told_apart_and_printed),
        cmocka_unit_test(test_one_client_is_capped),
        cmocka_unit_test(test_a_full_server_keeps_a_reserve_for_loopback),
        cmocka_unit_test(test_deadlines_run_from_the_start_of_a_request),
        cmocka_unit_test(test_no_timeout_means_no_deadline),
        cmocka_unit_test(test_counts_match_a_model_through_churn),
        cmocka_unit_test(test_create_refuses_zero_limits_and_survives_failed_allocations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

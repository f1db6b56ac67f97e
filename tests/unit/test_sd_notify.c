/*
 * test_sd_notify.c - systemd's notify protocol (agent/sd_notify.c): the
 * NOTIFY_SOCKET and watchdog values, the STATUS= text, and what the tick
 * sends when, against an abstract datagram socket of the test's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd_notify.h"

static void addr_takes_paths_and_abstract_names(void **state)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    char longer[sizeof(sa.sun_path) + 2];

    (void)state;
    assert_int_equal(vg_sd_notify_parse_addr("/run/systemd/notify", &sa, &len), VG_OK);
    assert_int_equal(sa.sun_family, AF_UNIX);
    assert_string_equal(sa.sun_path, "/run/systemd/notify");
    assert_int_equal(len,
                     offsetof(struct sockaddr_un, sun_path) + strlen("/run/systemd/notify") + 1);
    /* Abstract: NUL first, and the length ends the name (no NUL counted). */
    assert_int_equal(vg_sd_notify_parse_addr("@sd-x", &sa, &len), VG_OK);
    assert_int_equal(sa.sun_path[0], '\0');
    assert_memory_equal(sa.sun_path + 1, "sd-x", 4);
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 5);
    assert_int_equal(vg_sd_notify_parse_addr("", &sa, &len), VG_EINVAL);
    assert_int_equal(vg_sd_notify_parse_addr("@", &sa, &len), VG_EINVAL);
    assert_int_equal(vg_sd_notify_parse_addr("relative/notify", &sa, &len), VG_EINVAL);
    assert_int_equal(vg_sd_notify_parse_addr("vsock:2:1234", &sa, &len), VG_EINVAL);
    assert_int_equal(vg_sd_notify_parse_addr(NULL, &sa, &len), VG_EINVAL);
    memset(longer, 'a', sizeof(longer) - 1);
    longer[0] = '/';
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(vg_sd_notify_parse_addr(longer, &sa, &len), VG_EINVAL);
    longer[sizeof(sa.sun_path) - 1] = '\0'; /* 107 bytes and the NUL: fits */
    assert_int_equal(vg_sd_notify_parse_addr(longer, &sa, &len), VG_OK);
}

static void watchdog_is_for_this_process_or_none(void **state)
{
    (void)state;
    assert_true(vg_sd_notify_parse_watchdog("30000000", NULL, 42) == INT64_C(30000000000));
    assert_true(vg_sd_notify_parse_watchdog("2000000", "", 42) == INT64_C(2000000000));
    assert_true(vg_sd_notify_parse_watchdog("2000000", "42", 42) == INT64_C(2000000000));
    assert_true(vg_sd_notify_parse_watchdog("2000000", "41", 42) == 0);
    assert_true(vg_sd_notify_parse_watchdog("0", NULL, 42) == VG_EINVAL);
    assert_true(vg_sd_notify_parse_watchdog("-5", NULL, 42) == VG_EINVAL);
    assert_true(vg_sd_notify_parse_watchdog(" 5", NULL, 42) == VG_EINVAL);
    assert_true(vg_sd_notify_parse_watchdog("5s", NULL, 42) == VG_EINVAL);
    assert_true(vg_sd_notify_parse_watchdog("", NULL, 42) == VG_EINVAL);
    assert_true(vg_sd_notify_parse_watchdog("99999999999999999999", NULL, 42) == VG_EINVAL);
    assert_true(vg_sd_notify_parse_watchdog("2000000", "x", 42) == VG_EINVAL);
    assert_true(vg_sd_notify_parse_watchdog("2000000", "99999999999", 42) == VG_EINVAL);
}

static void status_names_rate_collectors_and_outputs(void **state)
{
    struct vg_sd_stats st = {.collectors = 3, .outputs = 2};
    char buf[256];

    (void)state;
    vg_sd_notify_format_status(buf, sizeof(buf), 1234.56, &st);
    assert_string_equal(buf, "STATUS=1234.6 records/s, 3 collectors, 2 outputs up");
    st.outputs_down = true;
    vg_sd_notify_format_status(buf, sizeof(buf), 0, &st);
    assert_string_equal(buf, "STATUS=0.0 records/s, 3 collectors, an output of 2 is down");
    st.collectors = 1;
    st.outputs = 0;
    vg_sd_notify_format_status(buf, sizeof(buf), 5, &st);
    assert_string_equal(buf, "STATUS=5.0 records/s, 1 collector, no outputs");
}

/* A listener on a fresh abstract name, NOTIFY_SOCKET set to it. */
static int listen_abstract(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char name[64];
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    assert_true(fd >= 0);
    snprintf(name, sizeof(name), "@vigil-unit-%ld-%ld", (long)getpid(), (long)vg_mono_ns());
    assert_int_equal(vg_sd_notify_parse_addr(name, &sa, &len), VG_OK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    setenv("NOTIFY_SOCKET", name, 1);
    return fd;
}

/* Every message waiting on fd, joined by '|'. */
static void take(int fd, char *out, size_t size)
{
    char msg[512];
    ssize_t n;
    size_t used = 0;

    out[0] = '\0';
    while ((n = recv(fd, msg, sizeof(msg) - 1, 0)) > 0 && used + (size_t)n + 2 < size) {
        msg[n] = '\0';
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "|" : "", msg);
    }
}

static void tick_pings_at_half_the_interval_and_reports_rate(void **state)
{
    struct vg_sd_notify sd;
    struct vg_sd_stats st = {.collectors = 1, .outputs = 1};
    int64_t t0 = 1000 * VG_NS_PER_SEC, s = VG_NS_PER_SEC;
    char got[1024];
    int fd = listen_abstract(), pings = 0, i;

    (void)state;
    setenv("WATCHDOG_USEC", "2000000", 1);
    unsetenv("WATCHDOG_PID");
    vg_sd_notify_init(&sd, VG_NS_PER_SEC);
    assert_true(sd.watchdog_ns == 2 * VG_NS_PER_SEC);
    /* Ticks a hair early or late still ping every tick (1 s = half of 2 s). */
    for (i = 0; i <= 5; i++) {
        vg_sd_notify_tick(&sd, t0 + i * s + (i % 2 ? -s / 100 : s / 100), &st);
        take(fd, got, sizeof(got));
        pings += strstr(got, "WATCHDOG=1") != NULL;
        st.records_total += 500;
    }
    assert_int_equal(pings, 6);
    /* Five seconds after the first tick: 2500 records in ~5 s. */
    assert_true(strstr(got, "STATUS=") != NULL);
    assert_true(strstr(got, "records/s, 1 collector, 1 output up") != NULL);
    assert_true(atof(strstr(got, "STATUS=") + 7) > 450 && atof(strstr(got, "STATUS=") + 7) < 550);
    vg_sd_notify_ready(&sd);
    vg_sd_notify_reloading(&sd);
    vg_sd_notify_stopping(&sd);
    take(fd, got, sizeof(got));
    assert_non_null(strstr(got, "READY=1\nSTATUS=running|RELOADING=1\nMONOTONIC_USEC="));
    assert_non_null(strstr(got, "|STOPPING=1\n"));
    close(fd);
}

static void long_watchdog_pings_every_fifteen_ticks(void **state)
{
    struct vg_sd_notify sd;
    struct vg_sd_stats st = {0};
    char got[1024];
    int fd = listen_abstract(), i, pings = 0;

    (void)state;
    setenv("WATCHDOG_USEC", "30000000", 1);
    vg_sd_notify_init(&sd, VG_NS_PER_SEC);
    for (i = 0; i < 60; i++) {
        vg_sd_notify_tick(&sd, (int64_t)(i + 1) * VG_NS_PER_SEC, &st);
        take(fd, got, sizeof(got));
        pings += strstr(got, "WATCHDOG=1") != NULL;
    }
    assert_int_equal(pings, 4); /* at 1, 16, 31 and 46 s: every 15 s */
    close(fd);
}

static void no_socket_means_nothing_sent_and_no_error(void **state)
{
    struct vg_sd_notify sd;
    struct vg_sd_stats st = {0};

    (void)state;
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "2000000", 1);
    vg_sd_notify_init(&sd, VG_NS_PER_SEC);
    assert_int_equal(sd.addr_len, 0);
    assert_int_equal(vg_sd_notify_send(&sd, "READY=1"), VG_OK);
    vg_sd_notify_tick(&sd, VG_NS_PER_SEC, &st);
    /* A socket nobody listens on: the send fails, reported, not fatal. */
    setenv("NOTIFY_SOCKET", "@vigil-unit-nobody-listens-here", 1);
    vg_sd_notify_init(&sd, VG_NS_PER_SEC);
    assert_int_equal(vg_sd_notify_send(&sd, "READY=1"), VG_EIO);
    assert_true(sd.complain.active);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addr_takes_paths_and_abstract_names),
        cmocka_unit_test(watchdog_is_for_this_process_or_none),
        cmocka_unit_test(status_names_rate_collectors_and_outputs),
        cmocka_unit_test(tick_pings_at_half_the_interval_and_reports_rate),
        cmocka_unit_test(long_watchdog_pings_every_fifteen_ticks),
        cmocka_unit_test(no_socket_means_nothing_sent_and_no_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

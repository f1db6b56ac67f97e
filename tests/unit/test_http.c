/*
 * test_http.c - the HTTP server on loopback, fetched with libcurl: content
 * negotiation, gzip, health and readiness, errors, and listen parsing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "core.h"
#include "http.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

#define PROM_ACCEPT                                                                                \
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"       \
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/* The agent's defaults (http.* in config/plan.c). */
static const struct vg_http_limits test_limits = {256, 8, 10 * VG_NS_PER_SEC};

struct fixture {
    struct vg_metric_store *st;
    struct vg_samples *s;
    struct vg_health health;
    struct vg_http *http;
    CURL *curl;
};

struct reply {
    long code;
    struct vg_buf body;
    struct vg_buf headers; /* lower-cased */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vg_emit e;
    struct vg_error err = {0};

    assert_non_null(f);
    f->st = vg_store_create();
    f->s = vg_samples_create();
    assert_non_null(f->st);
    assert_non_null(f->s);
    e.samples = f->s;
    e.sink = NULL;
    assert_int_equal(
        vg_emit_counter(&e, "demo_requests_total", "Requests.", 42, "code", "200", NULL), VG_OK);
    assert_int_equal(vg_emit_gauge(&e, "demo_up", "Up.", 1, NULL), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "test", f->s), VG_OK);
    atomic_init(&f->health.heartbeat_ns, vg_mono_ns());
    atomic_init(&f->health.stall_ns, 60 * VG_NS_PER_SEC);
    atomic_init(&f->health.ready, false);
    if (vg_http_start("127.0.0.1:0", &test_limits, f->st, &f->health, &f->http, &err) != VG_OK)
        fail_msg("start: %s", err.msg);
    assert_true(vg_http_port(f->http) > 0);
    f->curl = curl_easy_init();
    assert_non_null(f->curl);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    curl_easy_cleanup(f->curl);
    vg_http_stop(f->http);
    vg_samples_destroy(f->s);
    vg_store_destroy(f->st);
    free(f);
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct vg_buf *b = ud;

    return vg_buf_append(b, p, size * n) == VG_OK ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct vg_buf *b = ud;
    size_t i, len = size * n;

    for (i = 0; i < len; i++) {
        char c = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i];
        if (c != '\r' && vg_buf_putc(b, c) != VG_OK)
            return 0;
    }
    return len;
}

/*
 * Fetches path on the test server. method NULL: GET. encoding: NULL sends
 * no Accept-Encoding; otherwise curl asks for it and decodes. header: one
 * extra request header or NULL. raw: keep the body as sent.
 */
static void fetch(struct fixture *f, uint16_t port, const char *method, const char *path,
                  const char *encoding, const char *header, bool raw, struct reply *out)
{
    char url[128];
    struct curl_slist *hdrs = NULL;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
    vg_buf_init(&out->body);
    vg_buf_init(&out->headers);
    curl_easy_reset(f->curl);
    curl_easy_setopt(f->curl, CURLOPT_URL, url);
    curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(f->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(f->curl, CURLOPT_HEADERDATA, &out->headers);
    if (encoding != NULL)
        curl_easy_setopt(f->curl, CURLOPT_ACCEPT_ENCODING, encoding);
    if (raw)
        curl_easy_setopt(f->curl, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (header != NULL) {
        hdrs = curl_slist_append(NULL, header);
        curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, hdrs);
    }
    if (method != NULL && strcmp(method, "HEAD") == 0)
        curl_easy_setopt(f->curl, CURLOPT_NOBODY, 1L);
    else if (method != NULL && strcmp(method, "POST") == 0)
        curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, "a=1");
    else if (method != NULL)
        curl_easy_setopt(f->curl, CURLOPT_CUSTOMREQUEST, method);
    assert_int_equal(curl_easy_perform(f->curl), CURLE_OK);
    curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &out->code);
    curl_slist_free_all(hdrs);
    if (out->body.data == NULL)
        assert_int_equal(vg_buf_append(&out->body, "", 0), VG_OK);
    if (out->headers.data == NULL)
        assert_int_equal(vg_buf_append(&out->headers, "", 0), VG_OK);
}

static void reply_free(struct reply *r)
{
    vg_buf_free(&r->body);
    vg_buf_free(&r->headers);
}

static void assert_body_is(const struct reply *r, struct vg_metric_store *st,
                           enum vg_expo_format fmt, bool gzip)
{
    struct vg_rendered *want = vg_store_render(st, fmt, gzip);

    assert_non_null(want);
    assert_int_equal(r->body.len, vg_rendered_len(want));
    assert_memory_equal(r->body.data, vg_rendered_data(want), r->body.len);
    vg_rendered_release(want);
}

static void test_metrics_serves_the_rendered_text(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), NULL, "/metrics", NULL, NULL, false, &r);
    assert_int_equal(r.code, 200);
    assert_body_is(&r, f->st, VG_EXPO_TEXT, false);
    assert_non_null(strstr(r.body.data, "demo_requests_total{code=\"200\"} 42\n"));
    assert_non_null(
        strstr(r.headers.data, "content-type: text/plain; version=0.0.4; charset=utf-8\n"));
    assert_non_null(strstr(r.headers.data, "vary: accept-encoding\n"));
    assert_null(strstr(r.headers.data, "content-encoding"));
    reply_free(&r);
}

static void test_metrics_gzip_when_asked(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    /* curl decodes: the body is the plain text */
    fetch(f, vg_http_port(f->http), NULL, "/metrics", "gzip", NULL, false, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.headers.data, "content-encoding: gzip\n"));
    assert_body_is(&r, f->st, VG_EXPO_TEXT, false);
    reply_free(&r);

    /* undecoded: the very bytes of the cached gzip rendering */
    fetch(f, vg_http_port(f->http), NULL, "/metrics", "gzip", NULL, true, &r);
    assert_body_is(&r, f->st, VG_EXPO_TEXT, true);
    reply_free(&r);
}

static void test_metrics_plain_when_gzip_refused(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), NULL, "/metrics", NULL, "Accept-Encoding: gzip;q=0, identity",
          true, &r);
    assert_int_equal(r.code, 200);
    assert_null(strstr(r.headers.data, "content-encoding"));
    assert_body_is(&r, f->st, VG_EXPO_TEXT, false);
    reply_free(&r);
}

static void test_metrics_openmetrics_by_accept(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), NULL, "/metrics", NULL, "Accept: " PROM_ACCEPT, false, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.headers.data, "content-type: application/openmetrics-text; "
                                           "version=1.0.0; charset=utf-8\n"));
    assert_body_is(&r, f->st, VG_EXPO_OPENMETRICS, false);
    assert_non_null(strstr(r.body.data, "# TYPE demo_requests counter\n"));
    assert_true(r.body.len > 6);
    assert_string_equal(r.body.data + r.body.len - 6, "# EOF\n");
    reply_free(&r);

    /* OpenMetrics and gzip together */
    fetch(f, vg_http_port(f->http), NULL, "/metrics", "gzip", "Accept: " PROM_ACCEPT, true, &r);
    assert_non_null(strstr(r.headers.data, "content-encoding: gzip\n"));
    assert_body_is(&r, f->st, VG_EXPO_OPENMETRICS, true);
    reply_free(&r);
}

static void test_metrics_text_when_openmetrics_is_less_wanted(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), NULL, "/metrics", NULL,
          "Accept: application/openmetrics-text;q=0.3, text/plain", false, &r);
    assert_non_null(strstr(r.headers.data, "content-type: text/plain; version=0.0.4"));
    reply_free(&r);
    fetch(f, vg_http_port(f->http), NULL, "/metrics", NULL,
          "Accept: application/openmetrics-text;q=0", false, &r);
    assert_non_null(strstr(r.headers.data, "content-type: text/plain; version=0.0.4"));
    reply_free(&r);
}

static void test_head_answers_without_a_body(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), "HEAD", "/metrics", NULL, NULL, false, &r);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.body.len, 0);
    assert_non_null(strstr(r.headers.data, "content-type: text/plain; version=0.0.4"));
    reply_free(&r);
}

static void test_healthz_follows_the_heartbeat(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), NULL, "/healthz", NULL, NULL, false, &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body.data, "ok\n");
    reply_free(&r);

    atomic_store(&f->health.heartbeat_ns, vg_mono_ns() - 120 * VG_NS_PER_SEC);
    fetch(f, vg_http_port(f->http), NULL, "/healthz", NULL, NULL, false, &r);
    assert_int_equal(r.code, 503);
    assert_non_null(strstr(r.body.data, "stalled"));
    reply_free(&r);
}

static void test_readyz_follows_ready(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), NULL, "/readyz", NULL, NULL, false, &r);
    assert_int_equal(r.code, 503);
    reply_free(&r);
    atomic_store(&f->health.ready, true);
    fetch(f, vg_http_port(f->http), NULL, "/readyz", NULL, NULL, false, &r);
    assert_int_equal(r.code, 200);
    reply_free(&r);
}

static void test_unknown_path_is_404(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), NULL, "/nope", NULL, NULL, false, &r);
    assert_int_equal(r.code, 404);
    reply_free(&r);
    fetch(f, vg_http_port(f->http), NULL, "/metrics/x", NULL, NULL, false, &r);
    assert_int_equal(r.code, 404);
    reply_free(&r);
}

/* MHD unescapes %00 and would hand the handler "/healthz" for
 * "/healthz%00.txt"; a path with a NUL is refused, a query may hold one. */
static void test_a_nul_in_the_path_is_400(void **state)
{
    static const char *const bad[] = {"/healthz%00.txt", "/metrics%00", "/%00", "/ready%00z"};
    struct fixture *f = *state;
    struct reply r;
    size_t i;

    atomic_store(&f->health.ready, true);
    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        fetch(f, vg_http_port(f->http), NULL, bad[i], NULL, NULL, false, &r);
        assert_int_equal(r.code, 400);
        reply_free(&r);
    }
    fetch(f, vg_http_port(f->http), NULL, "/readyz?x=%00", NULL, NULL, false, &r);
    assert_int_equal(r.code, 200);
    reply_free(&r);
}

static void test_other_methods_are_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    fetch(f, vg_http_port(f->http), "POST", "/metrics", NULL, NULL, false, &r);
    assert_int_equal(r.code, 405);
    assert_non_null(strstr(r.headers.data, "allow: get, head\n"));
    reply_free(&r);
    fetch(f, vg_http_port(f->http), "DELETE", "/healthz", NULL, NULL, false, &r);
    assert_int_equal(r.code, 405);
    reply_free(&r);
}

static void test_scrapes_reuse_one_connection(void **state)
{
    struct fixture *f = *state;
    char url[64];
    struct vg_buf body;
    long connects = -1;
    int i;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", (unsigned)vg_http_port(f->http));
    vg_buf_init(&body);
    curl_easy_reset(f->curl);
    curl_easy_setopt(f->curl, CURLOPT_URL, url);
    curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &body);
    for (i = 0; i < 500; i++) {
        vg_buf_reset(&body);
        assert_int_equal(curl_easy_perform(f->curl), CURLE_OK);
        if (i > 0) {
            curl_easy_getinfo(f->curl, CURLINFO_NUM_CONNECTS, &connects);
            assert_int_equal(connects, 0);
        }
    }
    assert_non_null(strstr(body.data, "demo_up 1\n"));
    vg_buf_free(&body);
}

static void test_new_samples_show_on_the_next_scrape(void **state)
{
    struct fixture *f = *state;
    struct vg_emit e = {.samples = f->s, .sink = NULL};
    struct reply r;

    assert_int_equal(vg_emit_gauge(&e, "demo_up", "Up.", 0, NULL), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "test", f->s), VG_OK);
    fetch(f, vg_http_port(f->http), NULL, "/metrics", NULL, NULL, false, &r);
    assert_string_equal(r.body.data, "# HELP demo_up Up.\n# TYPE demo_up gauge\ndemo_up 0\n");
    reply_free(&r);
}

static void test_busy_port_names_the_address(void **state)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    struct vg_metric_store *st = vg_store_create();
    struct vg_http *h = NULL;
    struct vg_error err = {0};
    char listen_at[64], want[128];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    snprintf(want, sizeof(want), "cannot listen on %s: Address already in use", listen_at);
    assert_int_equal(vg_http_start(listen_at, &test_limits, st, NULL, &h, &err), VG_EBUSY);
    assert_null(h);
    assert_string_equal(err.msg, want);
    close(fd);
    vg_store_destroy(st);
}

static void test_bad_listen_address_fails_to_start(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct vg_http *h = NULL;
    struct vg_error err = {0};

    (void)state;
    assert_int_equal(vg_http_start("127.0.0.1:99999", &test_limits, st, NULL, &h, &err),
                     VG_ECONFIG);
    assert_non_null(strstr(err.msg, "127.0.0.1:99999"));
    assert_null(h);
    vg_store_destroy(st);
}

static void test_serves_on_ipv6_loopback(void **state)
{
    struct vg_metric_store *st = vg_store_create();
    struct vg_http *h = NULL;
    struct vg_error err = {0};
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    CURL *c;
    char url[64];

    (void)state;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        vg_store_destroy(st);
        skip();
    }
    close(fd);
    if (vg_http_start("[::1]:0", &test_limits, st, NULL, &h, &err) != VG_OK)
        fail_msg("start: %s", err.msg);
    snprintf(url, sizeof(url), "http://[::1]:%u/healthz", (unsigned)vg_http_port(h));
    c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    vg_http_stop(h);
    vg_store_destroy(st);
}

static void assert_listen_ok(const char *text, const char *host, uint16_t port)
{
    char h[64];
    uint16_t p = 1;
    struct vg_error err = {0};

    if (vg_parse_listen(text, h, sizeof(h), &p, &err) != VG_OK)
        fail_msg("\"%s\": %s", text, err.msg);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void assert_listen_bad(const char *text)
{
    char h[64];
    uint16_t p = 0;
    struct vg_error err = {0};

    assert_int_equal(vg_parse_listen(text, h, sizeof(h), &p, &err), VG_ECONFIG);
    assert_non_null(strstr(err.msg, text));
}

static void test_parse_listen_accepts_the_documented_forms(void **state)
{
    (void)state;
    assert_listen_ok("127.0.0.1:9469", "127.0.0.1", 9469);
    assert_listen_ok("0.0.0.0:9469", "0.0.0.0", 9469);
    assert_listen_ok(":9469", "", 9469);
    assert_listen_ok("[::1]:9469", "::1", 9469);
    assert_listen_ok("[::]:0", "::", 0);
    assert_listen_ok("[fe80::1%eth0]:80", "fe80::1%eth0", 80);
    assert_listen_ok("localhost:65535", "localhost", 65535);
}

static void test_parse_listen_names_bad_text(void **state)
{
    static const char *const bad[] = {
        "9469",         "127.0.0.1",     "127.0.0.1:", "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:abc", "::1:9469",   "[::1]9469",
        "[::1",         "[]:80",         "host:80x",   "a b:80",
        "[1.2.3.4]:80", "h:123456",
    };
    char h[8];
    uint16_t p;
    struct vg_error err = {0};
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(bad); i++)
        assert_listen_bad(bad[i]);
    assert_int_equal(vg_parse_listen("", h, sizeof(h), &p, &err), VG_ECONFIG);
    assert_int_equal(vg_parse_listen(NULL, h, sizeof(h), &p, &err), VG_ECONFIG);
    /* a host longer than the caller's buffer */
    assert_int_equal(vg_parse_listen("a-long-hostname:80", h, sizeof(h), &p, &err), VG_ECONFIG);
}

static void test_health_alive_decision(void **state)
{
    struct vg_health h;
    int64_t now = 1000 * VG_NS_PER_SEC;

    (void)state;
    atomic_init(&h.heartbeat_ns, now - 5 * VG_NS_PER_SEC);
    atomic_init(&h.stall_ns, 10 * VG_NS_PER_SEC);
    atomic_init(&h.ready, false);
    assert_true(vg_health_alive(&h, now));
    assert_true(vg_health_alive(&h, now + 5 * VG_NS_PER_SEC));
    assert_false(vg_health_alive(&h, now + 5 * VG_NS_PER_SEC + 1));
    atomic_store(&h.heartbeat_ns, 0);
    assert_false(vg_health_alive(&h, now));
    atomic_store(&h.stall_ns, 0);
    assert_true(vg_health_alive(&h, now));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_serves_the_rendered_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_gzip_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_plain_when_gzip_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_openmetrics_by_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_text_when_openmetrics_is_less_wanted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_head_answers_without_a_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_follows_the_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz_follows_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_nul_in_the_path_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_methods_are_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrapes_reuse_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_samples_show_on_the_next_scrape, setup, teardown),
        cmocka_unit_test(test_busy_port_names_the_address),
        cmocka_unit_test(test_bad_listen_address_fails_to_start),
        cmocka_unit_test(test_serves_on_ipv6_loopback),
        cmocka_unit_test(test_parse_listen_accepts_the_documented_forms),
        cmocka_unit_test(test_parse_listen_names_bad_text),
        cmocka_unit_test(test_health_alive_decision),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

/*
 * http.c - the HTTP server: /metrics, /healthz, /readyz and /api/v1/alerts through
 * libmicrohttpd, driven by the server's own thread (http_loop.c). A scrape
 * takes a reference to the store's cached rendering and serves it without
 * copying.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "core.h"
#include "http_internal.h"

#define HTTP_BACKLOG  128
#define HTTP_PORT_MAX 65535

#define HTTP_CT_TEXT        "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define HTTP_CT_PLAIN       "text/plain; charset=utf-8"

#define HTTP_CT_JSON   "application/json"
#define HTTP_NO_ALERTS "{\"status\":\"success\",\"data\":{\"alerts\":[]}}"

enum http_route {
    HTTP_ROUTE_NONE,
    HTTP_ROUTE_METRICS,
    HTTP_ROUTE_HEALTHZ,
    HTTP_ROUTE_READYZ,
    HTTP_ROUTE_ALERTS
};

/* The marks in *con_cls: set by http_uri_seen when the request line is
 * in (a clean path or one with an escaped NUL), then by the first call of
 * the access handler. */
static char http_fresh, http_fresh_nul, http_seen;

static int http_listen_error(struct vg_error *err, const char *listen, const char *why)
{
    return vg_error_set(err, VG_ECONFIG, "invalid listen address \"%s\": %s", listen, why);
}

/* Port digits only, 0..65535. */
static int http_parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    const char *p;

    if (s[0] == '\0' || strlen(s) > 5)
        return VG_EINVAL;
    for (p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return VG_EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > HTTP_PORT_MAX)
        return VG_EINVAL;
    *port = (uint16_t)v;
    return VG_OK;
}

/*
 * Splits "host:port", "[v6]:port" or ":port" (host left empty: every
 * address). The host is copied without brackets into host[host_len].
 * Errors are VG_ECONFIG with a message quoting the text.
 */
int vg_parse_listen(const char *listen, char *host, size_t host_len, uint16_t *port,
                    struct vg_error *err)
{
    const char *h, *colon;
    size_t n;

    if (listen == NULL || listen[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "invalid listen address \"\": empty");
    if (host == NULL || host_len == 0 || port == NULL)
        return vg_error_set(err, VG_EINVAL, "vg_parse_listen: no room for the result");
    if (listen[0] == '[') {
        h = listen + 1;
        colon = strchr(h, ']');
        if (colon == NULL)
            return http_listen_error(err, listen, "missing ']'");
        n = (size_t)(colon - h);
        colon++;
        if (*colon != ':')
            return http_listen_error(err, listen, "expected \":port\" after ']'");
        if (n == 0 || memchr(h, ':', n) == NULL)
            return http_listen_error(err, listen, "brackets must hold an IPv6 address");
    } else {
        h = listen;
        colon = strrchr(listen, ':');
        if (colon == NULL)
            return http_listen_error(err, listen, "expected host:port");
        n = (size_t)(colon - h);
        if (memchr(h, ':', n) != NULL)
            return http_listen_error(err, listen, "an IPv6 address needs brackets: [addr]:port");
    }
    if (strcspn(h, " \t\r\n/[]") < n)
        return http_listen_error(err, listen, "bad character in the host");
    if (n >= host_len)
        return http_listen_error(err, listen, "host too long");
    if (http_parse_port(colon + 1, port) != VG_OK)
        return http_listen_error(err, listen, "the port must be a number from 0 to 65535");
    memcpy(host, h, n);
    host[n] = '\0';
    return VG_OK;
}

/*
 * Alive while the engine's heartbeat is at most stall_ns old. A stall_ns of
 * zero or less disables the check; a heartbeat of zero (the loop never
 * turned) is not alive.
 */
bool vg_health_alive(const struct vg_health *h, int64_t now_mono_ns)
{
    int64_t stall, beat;

    if (h == NULL)
        return true;
    stall = atomic_load(&h->stall_ns);
    if (stall <= 0)
        return true;
    beat = atomic_load(&h->heartbeat_ns);
    if (beat == 0)
        return false;
    return now_mono_ns - beat <= stall;
}

/* The q of one element's parameters ("; q=0.5"); 1 when absent, 0 when
 * unreadable so that a garbled element never wins. */
static double http_q(const char *p, const char *end)
{
    char tmp[16];
    char *stop = NULL;
    size_t n;
    double q;

    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *seg_end = semi != NULL ? semi : end;

        while (p < seg_end && (*p == ' ' || *p == '\t'))
            p++;
        if (seg_end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            n = (size_t)(seg_end - p - 2);
            if (n == 0 || n >= sizeof(tmp))
                return 0;
            memcpy(tmp, p + 2, n);
            tmp[n] = '\0';
            q = strtod(tmp, &stop);
            while (*stop == ' ' || *stop == '\t')
                stop++;
            if (stop == tmp || *stop != '\0' || !(q >= 0))
                return 0;
            return q > 1 ? 1 : q;
        }
        p = semi != NULL ? semi + 1 : end;
    }
    return 1;
}

/*
 * The highest q that a comma-separated header (Accept, Accept-Encoding)
 * gives to any of the tokens in `names` (NULL-terminated); -1 when none is
 * listed.
 */
static double http_header_q(const char *hdr, const char *const *names)
{
    double best = -1;
    const char *p = hdr;

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        const char *end = comma != NULL ? comma : p + strlen(p);
        const char *tok_end;
        size_t i, n;

        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        tok_end = p;
        while (tok_end < end && *tok_end != ';' && *tok_end != ' ' && *tok_end != '\t')
            tok_end++;
        n = (size_t)(tok_end - p);
        for (i = 0; names[i] != NULL; i++) {
            if (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0) {
                double q = http_q(tok_end, end);
                if (q > best)
                    best = q;
            }
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    return best;
}

/* OpenMetrics when the client asks for it at least as much as for text. */
static bool http_wants_openmetrics(const char *accept)
{
    static const char *const om[] = {"application/openmetrics-text", NULL};
    static const char *const text[] = {"text/plain", "text/*", "*/*", NULL};
    double q_om, q_text;

    if (accept == NULL)
        return false;
    q_om = http_header_q(accept, om);
    q_text = http_header_q(accept, text);
    return q_om > 0 && q_om >= q_text;
}

static bool http_accepts_gzip(const char *accept_encoding)
{
    static const char *const gz[] = {"gzip", "x-gzip", NULL};
    static const char *const any[] = {"*", NULL};
    double q;

    if (accept_encoding == NULL)
        return false;
    q = http_header_q(accept_encoding, gz);
    if (q < 0)
        q = http_header_q(accept_encoding, any);
    return q > 0;
}

static void http_release(void *cls)
{
    vg_rendered_release(cls);
}

/* Queues a one-off text response (copied). */
static enum MHD_Result http_queue_text(struct MHD_Connection *c, unsigned code, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_CT_PLAIN);
    ret = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* /metrics: negotiates the format and the encoding, then serves the
 * cached rendering; the response owns one reference until it is sent. */
static enum MHD_Result http_metrics(struct vg_http *h, struct MHD_Connection *c)
{
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    const char *enc =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    enum vg_expo_format fmt = http_wants_openmetrics(accept) ? VG_EXPO_OPENMETRICS : VG_EXPO_TEXT;
    bool gz = http_accepts_gzip(enc);
    struct vg_rendered *r = vg_store_render(h->store, fmt, gz);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r == NULL && gz) {
        gz = false;
        r = vg_store_render(h->store, fmt, false);
    }
    if (r == NULL)
        return http_queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
    /* MHD takes a non-const pointer but only reads the buffer */
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        vg_rendered_len(r), (void *)vg_rendered_data(r), http_release, r);
    if (resp == NULL) {
        vg_rendered_release(r);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            fmt == VG_EXPO_OPENMETRICS ? HTTP_CT_OPENMETRICS : HTTP_CT_TEXT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (gz)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result http_healthz(struct vg_http *h, struct MHD_Connection *c)
{
    char msg[128];
    int64_t now = vg_mono_ns(), beat;

    if (vg_health_alive(h->health, now))
        return MHD_queue_response(c, MHD_HTTP_OK, h->alive);
    beat = atomic_load(&h->health->heartbeat_ns);
    if (beat == 0)
        snprintf(msg, sizeof(msg), "engine loop has not started\n");
    else
        snprintf(msg, sizeof(msg), "engine loop stalled: no heartbeat for %.1f s\n",
                 (double)(now - beat) / 1e9);
    return http_queue_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
}

/* 503 with the reason, which is also how a caller tells "started, but an
 * output is down" from "still starting". */
static enum MHD_Result http_readyz(struct vg_http *h, struct MHD_Connection *c)
{
    static const char *const why[VG_NOT_READY_N] = {
        [VG_NOT_READY_STARTING] = "not ready: starting or stopping\n",
        [VG_NOT_READY_OUTPUT] = "not ready: an output is down or stopped (see vigil_output_up, "
                                "vigil_output_stopped)\n",
        [VG_NOT_READY_CHECKPOINT] = "not ready: checkpoints cannot be written (see "
                                    "vigil_checkpoint_errors_total)\n",
    };
    int r;

    if (h->health == NULL || atomic_load(&h->health->ready))
        return MHD_queue_response(c, MHD_HTTP_OK, h->ready);
    r = atomic_load(&h->health->not_ready);
    return http_queue_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           why[r >= 0 && r < VG_NOT_READY_N ? r : VG_NOT_READY_STARTING]);
}

/* /api/v1/alerts: the body the engine published last. */
static enum MHD_Result http_alerts(struct vg_http *h, struct MHD_Connection *c)
{
    enum MHD_Result ret;

    pthread_mutex_lock(&h->alerts_lock);
    ret = MHD_queue_response(c, MHD_HTTP_OK, h->alerts);
    pthread_mutex_unlock(&h->alerts_lock);
    return ret;
}

static struct MHD_Response *http_json(const char *json, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)json, MHD_RESPMEM_MUST_COPY);

    if (r != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_CT_JSON);
    return r;
}

int vg_http_publish_alerts(struct vg_http *h, const char *json, size_t len)
{
    struct MHD_Response *r, *old;

    if (h == NULL)
        return VG_OK;
    r = http_json(json, len);
    if (r == NULL)
        return VG_ENOMEM;
    pthread_mutex_lock(&h->alerts_lock);
    old = h->alerts;
    h->alerts = r;
    pthread_mutex_unlock(&h->alerts_lock);
    MHD_destroy_response(old);
    return VG_OK;
}

static enum http_route http_route_of(const char *url)
{
    if (strcmp(url, "/api/v1/alerts") == 0)
        return HTTP_ROUTE_ALERTS;
    if (strcmp(url, "/metrics") == 0)
        return HTTP_ROUTE_METRICS;
    if (strcmp(url, "/healthz") == 0)
        return HTTP_ROUTE_HEALTHZ;
    if (strcmp(url, "/readyz") == 0)
        return HTTP_ROUTE_READYZ;
    return HTTP_ROUTE_NONE;
}

/* True when the path of a raw request target (before its query) holds
 * "%00": MHD would unescape it and hand the handler a shorter string. */
static bool http_path_has_nul(const char *uri)
{
    size_t n = strcspn(uri, "?#"), i;

    for (i = 0; i + 2 < n; i++) {
        if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
            return true;
    }
    return false;
}

/* MHD's URI callback: sees the request target before it is unescaped;
 * what it returns is the request's first *con_cls. */
static void *http_uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    return http_path_has_nul(uri) ? &http_fresh_nul : &http_fresh;
}

/*
 * MHD's access handler. The first call for a request only marks it (or
 * refuses a path with a NUL at once); a body (which no route takes) is
 * read and dropped; the answer goes out on the last call, once the request
 * is complete.
 */
static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct vg_http *h = cls;
    enum http_route route;

    if (*con_cls != &http_seen) {
        bool nul = *con_cls == &http_fresh_nul;

        *con_cls = &http_seen;
        return nul ? MHD_queue_response(c, MHD_HTTP_BAD_REQUEST, h->bad_request) : MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    route = http_route_of(url);
    if (route == HTTP_ROUTE_NONE)
        return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, h->not_found);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, h->not_allowed);
    switch (route) {
    case HTTP_ROUTE_METRICS:
        return http_metrics(h, c);
    case HTTP_ROUTE_HEALTHZ:
        return http_healthz(h, c);
    case HTTP_ROUTE_READYZ:
        return http_readyz(h, c);
    case HTTP_ROUTE_ALERTS:
        return http_alerts(h, c);
    case HTTP_ROUTE_NONE:
        break;
    }
    return MHD_NO;
}

/* MHD's messages, nearly all of them about what a client did, go through
 * one rate-limited complaint; they end in a newline that our log lines
 * must not hold. */
static void http_mhd_log(void *cls, const char *fmt, va_list ap) VG_PRINTF(2, 0);

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct vg_http *h = cls;
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    vg_complain(&h->mhd_complain, VG_LOG_WARN, "http", "server", "%s", msg);
}

static struct MHD_Response *http_static(const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);

    if (r != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_CT_PLAIN);
    return r;
}

/* Stops what runs (the thread first: it is the daemon's only user, then
 * the daemon, whose closing connections still reach the table) and frees. */
static void http_free(struct vg_http *h)
{
    struct MHD_Response *const all[] = {h->not_found, h->not_allowed, h->bad_request,
                                        h->alive,     h->ready,       h->alerts};
    size_t i;

    vg_http_loop_stop(h);
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    vg_http_conns_destroy(h->conns);
    for (i = 0; i < VG_ARRAY_LEN(all); i++) {
        if (all[i] != NULL)
            MHD_destroy_response(all[i]);
    }
    pthread_mutex_destroy(&h->alerts_lock);
    free(h);
}

static int http_make_responses(struct vg_http *h)
{
    h->not_found = http_static("not found\n");
    h->not_allowed = http_static("method not allowed\n");
    h->bad_request = http_static("bad request: the path holds a NUL\n");
    h->alive = http_static("ok\n");
    h->ready = http_static("ready\n");
    h->alerts = http_json(HTTP_NO_ALERTS, strlen(HTTP_NO_ALERTS));
    if (h->not_found == NULL || h->not_allowed == NULL || h->bad_request == NULL ||
        h->alive == NULL || h->ready == NULL || h->alerts == NULL)
        return VG_ENOMEM;
    if (MHD_add_response_header(h->not_allowed, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)
        return VG_ENOMEM;
    return VG_OK;
}

/* Fills addr for host (empty: every address, IPv6 with IPv4 mapped). */
static int http_resolve(const char *listen, const char *host, uint16_t port,
                        struct sockaddr_storage *addr, socklen_t *len, struct vg_error *err)
{
    struct addrinfo hints, *res = NULL;
    char service[8];
    int rc;

    memset(addr, 0, sizeof(*addr));
    if (host[0] == '\0') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons(port);
        *len = sizeof(*a6);
        return VG_OK;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || res == NULL)
        return vg_error_set(err, VG_ECONFIG, "cannot listen on %s: cannot resolve \"%s\": %s",
                            listen, host, rc != 0 ? gai_strerror(rc) : "no address");
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return VG_OK;
}

/* A listening socket for addr. An IPv6 "any" that the kernel refuses
 * falls back to IPv4's. Returns the fd, or -1 with errno set. */
static int http_socket(struct sockaddr_storage *addr, socklen_t len, bool any)
{
    int one = 1, zero = 0, fd, saved;

    fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 && any && addr->ss_family == AF_INET6 && errno == EAFNOSUPPORT) {
        struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
        uint16_t port = ((struct sockaddr_in6 *)addr)->sin6_port;

        memset(addr, 0, sizeof(*addr));
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        a4->sin_port = port;
        len = sizeof(*a4);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    }
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (any && addr->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, (struct sockaddr *)addr, len) != 0 || listen(fd, HTTP_BACKLOG) != 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Binds listen ourselves, so that a busy port reports errno's own words. */
static int http_bind(const char *listen, uint16_t *bound, int *out_fd, struct vg_error *err)
{
    char host[256], ebuf[128];
    struct sockaddr_storage addr;
    socklen_t len = 0;
    uint16_t port = 0;
    int rc, fd;

    rc = vg_parse_listen(listen, host, sizeof(host), &port, err);
    if (rc == VG_OK)
        rc = http_resolve(listen, host, port, &addr, &len, err);
    if (rc != VG_OK)
        return rc;
    fd = http_socket(&addr, len, host[0] == '\0');
    if (fd < 0) {
        rc = errno == EADDRINUSE ? VG_EBUSY : VG_EIO;
        return vg_error_set(err, rc, "cannot listen on %s: %s", listen,
                            strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    len = sizeof(addr);
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        close(fd);
        return vg_error_set(err, VG_EIO, "cannot listen on %s: getsockname failed", listen);
    }
    *bound = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                              : ((struct sockaddr_in *)&addr)->sin_port);
    *out_fd = fd;
    return VG_OK;
}

/* MHD in its external epoll mode, without a listening socket of its own:
 * the server's thread accepts and hands connections over. MHD's idle
 * timeout stays as a backstop a second behind the request deadline (none
 * when there is no deadline). */
static struct MHD_Daemon *http_start_daemon(struct vg_http *h)
{
    int64_t timeout_ns = h->limits.request_timeout_ns;
    unsigned idle_s = timeout_ns > 0 ? (unsigned)(timeout_ns / VG_NS_PER_SEC) + 1 : 0;

    return MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL, NULL, http_handle, h,
        MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h, MHD_OPTION_CONNECTION_LIMIT,
        h->limits.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
        MHD_OPTION_NOTIFY_CONNECTION, vg_http_on_connection, h, MHD_OPTION_NOTIFY_COMPLETED,
        vg_http_on_completed, h, MHD_OPTION_URI_LOG_CALLBACK, http_uri_seen, h, MHD_OPTION_END);
}

static struct vg_http *http_new(const struct vg_http_limits *limits)
{
    struct vg_http *h = vg_calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->limits = *limits;
    pthread_mutex_init(&h->alerts_lock, NULL);
    h->listen_fd = h->epoll_fd = h->stop_fd = h->mhd_fd = -1;
    h->conns = vg_http_conns_create(limits);
    if (h->conns == NULL || http_make_responses(h) != VG_OK) {
        http_free(h);
        return NULL;
    }
    return h;
}

/*
 * Binds listen and starts serving on the server's own thread, within
 * limits (copied). On success *out owns the server (vg_http_stop); store
 * and health must outlive it. Errors name the address: "cannot listen on
 * 127.0.0.1:9469: Address already in use" (VG_EBUSY), a bad address
 * (VG_ECONFIG), anything else (VG_EINVAL/VG_EIO/VG_ENOMEM).
 */
int vg_http_start(const char *listen, const struct vg_http_limits *limits,
                  struct vg_metric_store *store, struct vg_health *health, struct vg_http **out,
                  struct vg_error *err)
{
    struct vg_http *h;
    int rc;

    if (store == NULL || out == NULL)
        return vg_error_set(err, VG_EINVAL, "vg_http_start: no store");
    *out = NULL;
    if (limits == NULL || limits->max_connections == 0 || limits->max_per_client == 0)
        return vg_error_set(err, VG_EINVAL, "vg_http_start: no connection limits");
    h = http_new(limits);
    if (h == NULL)
        return vg_error_set(err, VG_ENOMEM, "cannot start the HTTP server: out of memory");
    h->store = store;
    h->health = health;
    rc = http_bind(listen, &h->port, &h->listen_fd, err);
    if (rc != VG_OK)
        goto fail;
    h->daemon = http_start_daemon(h);
    if (h->daemon == NULL) {
        rc =
            vg_error_set(err, VG_EIO, "cannot listen on %s: the HTTP server did not start", listen);
        goto fail;
    }
    rc = vg_http_loop_start(h, err);
    if (rc != VG_OK)
        goto fail;
    *out = h;
    return VG_OK;
fail:
    http_free(h);
    return rc;
}

uint16_t vg_http_port(const struct vg_http *h)
{
    return h != NULL ? h->port : 0;
}

/* Stops the server's thread and MHD, closes the listening socket, frees. */
void vg_http_stop(struct vg_http *h)
{
    if (h != NULL)
        http_free(h);
}

void vg_http_emit_metrics(struct vg_http *h, struct vg_emit *e)
{
    static const char rejected_help[] =
        "Connections to the HTTP server closed at once: the client's or the server's "
        "connection limit was reached.";

    if (h == NULL)
        return;
    vg_emit_gauge(e, "vigil_http_connections", "Open connections to the HTTP server.",
                  (double)atomic_load(&h->open), NULL);
    vg_emit_counter(e, "vigil_http_connections_rejected_total", rejected_help,
                    (double)atomic_load(&h->rejected_per_client), "reason", "per_client", NULL);
    vg_emit_counter(e, "vigil_http_connections_rejected_total", rejected_help,
                    (double)atomic_load(&h->rejected_full), "reason", "full", NULL);
    vg_emit_counter(e, "vigil_http_connections_timed_out_total",
                    "Connections closed because a request was not complete within "
                    "http.request_timeout.",
                    (double)atomic_load(&h->timed_out), NULL);
    vg_emit_counter(e, "vigil_http_accept_errors_total",
                    "Failed accepts of a connection (such as too many open files); each pauses "
                    "accepting for a while.",
                    (double)atomic_load(&h->accept_errors), NULL);
}

/*
 * http_loop.c - the HTTP server's thread: accepts connections itself,
 * admits them through the connection table (a cap per client, a total, a
 * reserve for loopback), hands them to libmicrohttpd, and closes those
 * whose request is not whole by its deadline.
 *
 * Accepting here rather than in libmicrohttpd is what lets the server
 * back off when accept(2) fails for want of descriptors: the listening
 * socket leaves the epoll set for a while instead of waking the loop
 * again at once. Every complaint about a client goes through a
 * rate-limited vg_complain, with counts in vigil_http_* metrics.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "http_internal.h"

#define LOOP_ACCEPT_BATCH     64 /* connections taken per wake-up */
#define LOOP_BACKOFF_FIRST_NS (100 * VG_NS_PER_MS)
#define LOOP_BACKOFF_MAX_NS   VG_NS_PER_SEC
#define LOOP_TAG_LISTEN       1u
#define LOOP_TAG_MHD          2u
#define LOOP_TAG_STOP         3u

static int loop_watch(struct vg_http *h, int op, int fd, uint32_t tag)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    return epoll_ctl(h->epoll_fd, op, fd, &ev);
}

/* Errors of accept(2) that concern one connection only (accept(2), NOTES). */
static bool loop_accept_transient(int err)
{
    return err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN ||
           err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH ||
           err == EOPNOTSUPP || err == ENETUNREACH || err == EPERM;
}

/* accept(2) failed for want of something (descriptors, memory): stop
 * listening for a while, longer each time it happens again. */
static void loop_accept_failed(struct vg_http *h, int err, int64_t now)
{
    int64_t backoff = h->accept_backoff_ns == 0 ? LOOP_BACKOFF_FIRST_NS : 2 * h->accept_backoff_ns;

    if (backoff > LOOP_BACKOFF_MAX_NS)
        backoff = LOOP_BACKOFF_MAX_NS;
    h->accept_backoff_ns = backoff;
    h->accept_resume_ns = now + backoff;
    atomic_fetch_add(&h->accept_errors, 1);
    if (h->listening && epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, h->listen_fd, NULL) == 0)
        h->listening = false;
    vg_complain(&h->accept_complain, VG_LOG_WARN, "http", "server",
                "cannot accept connections: %s (%u open); trying again in %lld ms",
                vg_errno_str(err), vg_http_conns_open(h->conns),
                (long long)(backoff / VG_NS_PER_MS));
}

static void loop_listen_again(struct vg_http *h, int64_t now)
{
    if (h->listening || now < h->accept_resume_ns)
        return;
    if (loop_watch(h, EPOLL_CTL_ADD, h->listen_fd, LOOP_TAG_LISTEN) == 0)
        h->listening = true;
    else
        loop_accept_failed(h, errno, now);
}

static void loop_reject(struct vg_http *h, int fd, enum vg_http_admit verdict,
                        const struct vg_http_client *client)
{
    char addr[64];
    bool per_client = verdict == VG_HTTP_REJECT_CLIENT;

    close(fd);
    atomic_fetch_add(per_client ? &h->rejected_per_client : &h->rejected_full, 1);
    vg_http_client_str(client, addr, sizeof(addr));
    if (per_client)
        vg_complain(&h->reject_complain, VG_LOG_WARN, "http", "server",
                    "refused a connection from %s: it holds %u already "
                    "(http.max_connections_per_client)",
                    addr, h->limits.max_per_client);
    else
        vg_complain(&h->reject_complain, VG_LOG_WARN, "http", "server",
                    "refused a connection from %s: all %u connections are taken "
                    "(http.max_connections)",
                    addr, h->limits.max_connections);
}

/* Admits or refuses one accepted socket; an admitted one goes to MHD,
 * which owns (and closes) it from then on. */
static void loop_take(struct vg_http *h, int fd, const struct sockaddr_storage *ss, socklen_t len,
                      int64_t now)
{
    struct vg_http_client client;
    struct vg_http_conn *c;
    enum vg_http_admit verdict;

    vg_http_client_of((const struct sockaddr *)ss, len, &client);
    verdict = vg_http_conns_admit(h->conns, &client, now, &c);
    if (verdict != VG_HTTP_ADMITTED) {
        loop_reject(h, fd, verdict, &client);
        return;
    }
    c->fd = fd;
    h->adding = c;
    if (MHD_add_connection(h->daemon, fd, (const struct sockaddr *)ss, len) != MHD_YES) {
        int err = errno;

        vg_complain(&h->accept_complain, VG_LOG_WARN, "http", "server",
                    "cannot serve a connection: %s", vg_errno_str(err));
    }
    /* MHD took it when it announced the connection (vg_http_on_connection) */
    if (h->adding != NULL)
        vg_http_conns_release(h->conns, h->adding);
    h->adding = NULL;
    atomic_store(&h->open, vg_http_conns_open(h->conns));
}

static void loop_accept(struct vg_http *h, int64_t now)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int i, fd;

    for (i = 0; i < LOOP_ACCEPT_BATCH; i++) {
        len = sizeof(ss);
        fd = accept4(h->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (fd < 0 && loop_accept_transient(errno))
            continue;
        if (fd < 0) {
            loop_accept_failed(h, errno, now);
            return;
        }
        h->accept_backoff_ns = 0; /* the complaint stays: exhaustion comes in waves */
        loop_take(h, fd, &ss, len, now);
    }
}

/* Closes every connection past its deadline. shutdown(2) rather than
 * close(2): the descriptor stays MHD's, which sees the end of the stream
 * and closes the connection on its next run. */
static void loop_reap(struct vg_http *h, int64_t now)
{
    struct vg_http_conn *c;
    char addr[64];
    unsigned n = 0;

    for (c = vg_http_conns_expired(h->conns, now); c != NULL;
         c = vg_http_conns_expired(h->conns, now)) {
        shutdown(c->fd, SHUT_RDWR);
        vg_http_client_str(&c->client, addr, sizeof(addr));
        n++;
    }
    if (n == 0)
        return;
    atomic_fetch_add(&h->timed_out, n);
    vg_complain(&h->timeout_complain, VG_LOG_WARN, "http", "server",
                "closed %u connection%s that did not complete a request within %lld ms "
                "(http.request_timeout), the last from %s",
                n, n == 1 ? "" : "s", (long long)(h->limits.request_timeout_ns / VG_NS_PER_MS),
                addr);
}

/* How long the loop may sleep: until the next deadline, the end of an
 * accept back-off or MHD's own timeout, whichever is first; -1: forever. */
static int loop_wait_ms(struct vg_http *h, int64_t now)
{
    MHD_UNSIGNED_LONG_LONG mhd_ms;
    int64_t until = vg_http_conns_next_deadline(h->conns), ms = -1;

    if (!h->listening && h->accept_resume_ns < until)
        until = h->accept_resume_ns;
    if (until != INT64_MAX)
        ms = until <= now ? 0 : (until - now + VG_NS_PER_MS - 1) / VG_NS_PER_MS;
    if (MHD_get_timeout(h->daemon, &mhd_ms) == MHD_YES &&
        mhd_ms < (MHD_UNSIGNED_LONG_LONG)INT_MAX && (ms < 0 || (int64_t)mhd_ms < ms))
        ms = (int64_t)mhd_ms;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void *loop_main(void *arg)
{
    struct vg_http *h = arg;
    struct epoll_event events[8];
    bool stop = false;
    int64_t now;
    int i, n;

    while (!stop) {
        n = epoll_wait(h->epoll_fd, events, (int)VG_ARRAY_LEN(events),
                       loop_wait_ms(h, vg_mono_ns()));
        if (n < 0 && errno != EINTR) {
            /* a bug, not a client: stop rather than spin; /healthz then fails */
            vg_log(VG_LOG_ERROR, "http", "server", "the HTTP server stops: epoll_wait: %s",
                   vg_errno_str(errno));
            break;
        }
        now = vg_mono_ns();
        for (i = 0; i < n; i++) {
            if (events[i].data.u32 == LOOP_TAG_STOP)
                stop = true;
            else if (events[i].data.u32 == LOOP_TAG_LISTEN)
                loop_accept(h, now);
        }
        MHD_run(h->daemon);
        loop_reap(h, now);
        loop_listen_again(h, now);
    }
    return NULL;
}

/* MHD announces each connection it takes (from inside MHD_add_connection)
 * and each it closes; the table entry rides along as the socket context. */
void vg_http_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe)
{
    struct vg_http *h = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = h->adding;
        h->adding = NULL;
        return;
    }
    if (*socket_context != NULL) {
        vg_http_conns_release(h->conns, *socket_context);
        *socket_context = NULL;
        atomic_store(&h->open, vg_http_conns_open(h->conns));
    }
}

/* A request is over (answered, or the connection failed): the next one on
 * this connection starts a fresh clock. */
void vg_http_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    struct vg_http *h = cls;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    if (info != NULL && info->socket_context != NULL)
        vg_http_conns_restart(h->conns, info->socket_context, vg_mono_ns());
}

int vg_http_loop_start(struct vg_http *h, struct vg_error *err)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    int rc;

    h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    h->mhd_fd = info != NULL ? info->epoll_fd : -1;
    if (h->epoll_fd < 0 || h->stop_fd < 0 || h->mhd_fd < 0 ||
        loop_watch(h, EPOLL_CTL_ADD, h->stop_fd, LOOP_TAG_STOP) != 0 ||
        loop_watch(h, EPOLL_CTL_ADD, h->mhd_fd, LOOP_TAG_MHD) != 0 ||
        loop_watch(h, EPOLL_CTL_ADD, h->listen_fd, LOOP_TAG_LISTEN) != 0) {
        rc = vg_error_set(err, VG_EIO, "cannot start the HTTP server: %s", vg_errno_str(errno));
        vg_http_loop_stop(h);
        return rc;
    }
    h->listening = true;
    rc = pthread_create(&h->thread, NULL, loop_main, h);
    if (rc != 0) {
        rc = vg_error_set(err, VG_EIO, "cannot start the HTTP server's thread: %s",
                          vg_errno_str(rc));
        vg_http_loop_stop(h);
        return rc;
    }
    h->thread_started = true;
    return VG_OK;
}

static void loop_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void vg_http_loop_stop(struct vg_http *h)
{
    uint64_t one = 1;

    if (h->thread_started) {
        if (write(h->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            vg_log(VG_LOG_ERROR, "http", "server", "cannot wake the HTTP server to stop it");
        pthread_join(h->thread, NULL);
        h->thread_started = false;
    }
    loop_close(&h->epoll_fd);
    loop_close(&h->stop_fd);
    loop_close(&h->listen_fd);
    h->mhd_fd = -1; /* MHD's own */
}

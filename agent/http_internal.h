/*
 * http_internal.h - what http.c (routes, libmicrohttpd's callbacks) and
 * http_loop.c (the server's thread) share.
 */
#ifndef VG_HTTP_INTERNAL_H
#define VG_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <microhttpd.h>

#include "http.h"
#include "http_conns.h"

/*
 * The server. Fields above `conns` are fixed after vg_http_start and read
 * by the server's thread without a lock; the static responses are
 * reference counted by MHD and queued many times.
 *
 * libmicrohttpd runs in its "external" epoll mode: every MHD call after
 * MHD_start_daemon and before MHD_stop_daemon comes from the server's own
 * thread (http_loop.c), which also accepts the connections. So the table,
 * the complaints and `adding` belong to that thread alone (start and stop
 * hand them over through pthread_create and pthread_join). The counters
 * are read by the engine's thread for /metrics, hence atomic.
 */
struct vg_http {
    struct MHD_Daemon *daemon;
    struct vg_metric_store *store;
    struct vg_health *health;
    struct vg_http_limits limits;
    uint16_t port;
    struct MHD_Response *not_found;
    struct MHD_Response *not_allowed;
    struct MHD_Response *bad_request;
    struct MHD_Response *alive;
    struct MHD_Response *ready;
    struct MHD_Response *not_ready;
    /* /api/v1/alerts: replaced by the engine (vg_http_publish_alerts), read
     * by the server's thread; alerts_lock guards the pointer only (MHD
     * keeps a response that is replaced while queued until it is sent). */
    pthread_mutex_t alerts_lock;
    struct MHD_Response *alerts;

    struct vg_http_conns *conns;
    struct vg_http_conn *adding; /* the entry MHD_add_connection is taking in */
    int listen_fd, epoll_fd, stop_fd, mhd_fd;
    bool listening;           /* listen_fd is in epoll_fd */
    int64_t accept_resume_ns; /* when not listening: when to try again */
    int64_t accept_backoff_ns;
    pthread_t thread;
    bool thread_started;
    struct vg_complain mhd_complain;     /* libmicrohttpd's messages */
    struct vg_complain reject_complain;  /* connections refused at the door */
    struct vg_complain timeout_complain; /* requests past their deadline */
    struct vg_complain accept_complain;  /* accept(2) failing */

    _Atomic uint64_t rejected_per_client;
    _Atomic uint64_t rejected_full;
    _Atomic uint64_t timed_out;
    _Atomic uint64_t accept_errors;
    _Atomic unsigned open;
};

/* Starts the server's thread on h->listen_fd and h->daemon; VG_OK, or an
 * error in err with nothing left running. */
int vg_http_loop_start(struct vg_http *h, struct vg_error *err);
/* Stops and joins the thread and closes its descriptors (not the daemon). */
void vg_http_loop_stop(struct vg_http *h);

/* libmicrohttpd's connection and request notifications (http_loop.c). */
void vg_http_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe);
void vg_http_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe);

#endif

/*
 * http_conns.h - the HTTP server's table of open connections: who may
 * connect (a cap per client address, a total, a reserve kept for
 * 127.0.0.1 and ::1) and when each request's time is up. Pure
 * bookkeeping, no sockets, so that tests drive it with made-up addresses
 * and clocks.
 *
 * Not thread-safe: the HTTP server's own thread is its only user.
 */
#ifndef VG_HTTP_CONNS_H
#define VG_HTTP_CONNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Connections from 127.0.0.1 and ::1 beyond the others' share. */
#define VG_HTTP_LOOPBACK_RESERVE 8u

struct vg_http_limits {
    unsigned max_connections;   /* all connections, the loopback reserve included */
    unsigned max_per_client;    /* connections from one address */
    int64_t request_timeout_ns; /* one whole request, however slowly it trickles; 0: none */
};

enum vg_http_admit {
    VG_HTTP_ADMITTED,
    VG_HTTP_REJECT_CLIENT, /* that address holds max_per_client already */
    VG_HTTP_REJECT_FULL,   /* every connection it may use is taken */
};

/* A client address: IPv4 (also when mapped into IPv6) or IPv6. */
struct vg_http_client {
    uint8_t family; /* AF_INET or AF_INET6; 0 for other kinds of address */
    uint8_t addr[16];
};

/* One open connection. The table owns it; `fd` and `ctx` are the caller's. */
struct vg_http_conn {
    struct vg_http_client client;
    int64_t start_ns; /* when the current request's clock started */
    int fd;
    bool reserved;  /* holds one of the loopback reserve */
    bool timed_out; /* vg_http_conns_expired returned it */
    struct vg_http_conn *prev, *next;
};

struct vg_http_conns;

/* A table for limits (copied). NULL when out of memory or when the limits
 * are unusable (max_connections or max_per_client of zero). */
struct vg_http_conns *vg_http_conns_create(const struct vg_http_limits *limits);
void vg_http_conns_destroy(struct vg_http_conns *t);

/* The client of a socket address; family 0 for one that is neither IPv4
 * nor IPv6 (such clients share one count). */
void vg_http_client_of(const struct sockaddr *addr, socklen_t len, struct vg_http_client *out);
bool vg_http_client_is_loopback(const struct vg_http_client *c);
/* "192.0.2.1", "2001:db8::1" or "unknown", into buf[len]. */
const char *vg_http_client_str(const struct vg_http_client *c, char *buf, size_t len);

/*
 * Decides on a new connection from client at now_ns. Admitted: *out is
 * its entry (the clock started at now_ns), to release when it closes.
 * Rejected: *out is NULL and nothing is counted.
 */
enum vg_http_admit vg_http_conns_admit(struct vg_http_conns *t, const struct vg_http_client *client,
                                       int64_t now_ns, struct vg_http_conn **out);
/* The connection closed: its slot and its client's count are free again. */
void vg_http_conns_release(struct vg_http_conns *t, struct vg_http_conn *c);
/* A response went out; the next request on this connection gets a fresh clock. */
void vg_http_conns_restart(struct vg_http_conns *t, struct vg_http_conn *c, int64_t now_ns);

/* The oldest connection whose time is up at now_ns, marked timed_out and
 * taken off the clock (it is returned once); NULL when none is. */
struct vg_http_conn *vg_http_conns_expired(struct vg_http_conns *t, int64_t now_ns);
/* When the next connection's time is up; INT64_MAX when none is on the clock. */
int64_t vg_http_conns_next_deadline(const struct vg_http_conns *t);

unsigned vg_http_conns_open(const struct vg_http_conns *t);
/* Open connections from client. */
unsigned vg_http_conns_of(const struct vg_http_conns *t, const struct vg_http_client *client);

#endif

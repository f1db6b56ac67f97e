/*
 * http_conns.c - the HTTP server's table of open connections: admission
 * (per-client cap, total, loopback reserve) and the clock of each request.
 *
 * Everything is allocated once, for max_connections: the entries sit in
 * one array with a free list, the per-client counts in an open-addressing
 * hash at most half full. Connections on the clock form one list ordered
 * by start time (a clock only starts at "now", so appending keeps it
 * sorted), and the oldest is always at its head.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "http_conns.h"
#include "vigil.h"

struct conns_count {
    struct vg_http_client client;
    unsigned n; /* 0: an empty slot */
};

struct vg_http_conns {
    struct vg_http_limits limits;
    unsigned reserve; /* of limits.max_connections, for loopback only */
    unsigned n_open;  /* entries in use */
    unsigned n_reserved;
    struct vg_http_conn *entries;     /* limits.max_connections of them */
    struct vg_http_conn *free_list;   /* linked through next */
    struct vg_http_conn *head, *tail; /* on the clock, oldest first */
    struct conns_count *counts;
    size_t counts_mask; /* capacity - 1, a power of two */
};

void vg_http_client_of(const struct sockaddr *addr, socklen_t len, struct vg_http_client *out)
{
    memset(out, 0, sizeof(*out));
    if (addr == NULL)
        return;
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;

        out->family = AF_INET;
        memcpy(out->addr, &a4->sin_addr, 4);
    } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)addr;

        /* a dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d */
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            out->family = AF_INET;
            memcpy(out->addr, &a6->sin6_addr.s6_addr[12], 4);
        } else {
            out->family = AF_INET6;
            memcpy(out->addr, &a6->sin6_addr, 16);
        }
    }
}

bool vg_http_client_is_loopback(const struct vg_http_client *c)
{
    static const uint8_t v4[4] = {127, 0, 0, 1};
    static const uint8_t v6[16] = {[15] = 1}; /* ::1; addr is bytes, not an aligned in6_addr */

    if (c->family == AF_INET)
        return memcmp(c->addr, v4, sizeof(v4)) == 0;
    if (c->family == AF_INET6)
        return memcmp(c->addr, v6, sizeof(v6)) == 0;
    return false;
}

const char *vg_http_client_str(const struct vg_http_client *c, char *buf, size_t len)
{
    if (c->family == 0 || inet_ntop(c->family, c->addr, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "unknown");
    return buf;
}

static bool conns_same(const struct vg_http_client *a, const struct vg_http_client *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The slot of client: where it is counted, else the empty slot where it
 * would go. The table is never more than half full, so one is found. */
static size_t conns_slot(const struct vg_http_conns *t, const struct vg_http_client *client)
{
    size_t i = (size_t)vg_fnv1a(client, sizeof(*client)) & t->counts_mask;

    while (t->counts[i].n != 0 && !conns_same(&t->counts[i].client, client))
        i = (i + 1) & t->counts_mask;
    return i;
}

/* Empties slot i, moving later entries of its run back so that every
 * lookup still finds its entry without tombstones. */
static void conns_count_remove(struct vg_http_conns *t, size_t i)
{
    size_t j = i, home;

    t->counts[i].n = 0;
    for (;;) {
        j = (j + 1) & t->counts_mask;
        if (t->counts[j].n == 0)
            return;
        home = (size_t)vg_fnv1a(&t->counts[j].client, sizeof(t->counts[j].client)) & t->counts_mask;
        /* j may move to i when its home is not within (i, j] cyclically */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t->counts[i] = t->counts[j];
            t->counts[j].n = 0;
            i = j;
        }
    }
}

struct vg_http_conns *vg_http_conns_create(const struct vg_http_limits *limits)
{
    struct vg_http_conns *t;
    size_t cap = 2, i;

    if (limits == NULL || limits->max_connections == 0 || limits->max_per_client == 0)
        return NULL;
    t = vg_calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->limits = *limits;
    t->reserve = limits->max_connections / 4;
    if (t->reserve > VG_HTTP_LOOPBACK_RESERVE)
        t->reserve = VG_HTTP_LOOPBACK_RESERVE;
    while (cap < 2 * (size_t)limits->max_connections)
        cap *= 2;
    t->counts_mask = cap - 1;
    t->counts = vg_calloc(cap, sizeof(*t->counts));
    t->entries = vg_calloc(limits->max_connections, sizeof(*t->entries));
    if (t->counts == NULL || t->entries == NULL) {
        vg_http_conns_destroy(t);
        return NULL;
    }
    for (i = limits->max_connections; i > 0; i--) {
        t->entries[i - 1].next = t->free_list;
        t->free_list = &t->entries[i - 1];
    }
    return t;
}

void vg_http_conns_destroy(struct vg_http_conns *t)
{
    if (t == NULL)
        return;
    free(t->counts);
    free(t->entries);
    free(t);
}

static void conns_unlink(struct vg_http_conns *t, struct vg_http_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (t->head == c)
        t->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else if (t->tail == c)
        t->tail = c->prev;
    c->prev = c->next = NULL;
}

static void conns_append(struct vg_http_conns *t, struct vg_http_conn *c, int64_t now_ns)
{
    c->start_ns = now_ns;
    c->prev = t->tail;
    c->next = NULL;
    if (t->tail != NULL)
        t->tail->next = c;
    else
        t->head = c;
    t->tail = c;
}

/* Which share a new connection from client would take; its count is at
 * counts[slot]. */
static enum vg_http_admit conns_decide(const struct vg_http_conns *t,
                                       const struct vg_http_client *client, size_t slot,
                                       bool *reserved)
{
    unsigned regular = t->limits.max_connections - t->reserve;

    *reserved = false;
    if (t->counts[slot].n >= t->limits.max_per_client)
        return VG_HTTP_REJECT_CLIENT;
    if (t->n_open - t->n_reserved < regular)
        return VG_HTTP_ADMITTED;
    if (vg_http_client_is_loopback(client) && t->n_reserved < t->reserve) {
        *reserved = true;
        return VG_HTTP_ADMITTED;
    }
    return VG_HTTP_REJECT_FULL;
}

enum vg_http_admit vg_http_conns_admit(struct vg_http_conns *t, const struct vg_http_client *client,
                                       int64_t now_ns, struct vg_http_conn **out)
{
    size_t slot = conns_slot(t, client);
    struct vg_http_conn *c;
    enum vg_http_admit verdict;
    bool reserved;

    *out = NULL;
    verdict = conns_decide(t, client, slot, &reserved);
    if (verdict != VG_HTTP_ADMITTED)
        return verdict;
    c = t->free_list; /* never NULL here: n_open < max_connections */
    t->free_list = c->next;
    memset(c, 0, sizeof(*c));
    c->client = *client;
    c->fd = -1;
    c->reserved = reserved;
    if (t->counts[slot].n == 0)
        t->counts[slot].client = *client;
    t->counts[slot].n++;
    t->n_open++;
    if (reserved)
        t->n_reserved++;
    conns_append(t, c, now_ns);
    *out = c;
    return VG_HTTP_ADMITTED;
}

void vg_http_conns_release(struct vg_http_conns *t, struct vg_http_conn *c)
{
    size_t slot;

    if (c == NULL)
        return;
    if (!c->timed_out)
        conns_unlink(t, c);
    slot = conns_slot(t, &c->client);
    if (t->counts[slot].n > 0 && --t->counts[slot].n == 0)
        conns_count_remove(t, slot);
    t->n_open--;
    if (c->reserved)
        t->n_reserved--;
    c->next = t->free_list;
    t->free_list = c;
}

void vg_http_conns_restart(struct vg_http_conns *t, struct vg_http_conn *c, int64_t now_ns)
{
    if (c == NULL || c->timed_out)
        return;
    conns_unlink(t, c);
    conns_append(t, c, now_ns);
}

struct vg_http_conn *vg_http_conns_expired(struct vg_http_conns *t, int64_t now_ns)
{
    struct vg_http_conn *c = t->head;

    if (c == NULL || t->limits.request_timeout_ns <= 0 ||
        vg_add_sat(c->start_ns, t->limits.request_timeout_ns) > now_ns)
        return NULL;
    conns_unlink(t, c);
    c->timed_out = true;
    return c;
}

int64_t vg_http_conns_next_deadline(const struct vg_http_conns *t)
{
    if (t->head == NULL || t->limits.request_timeout_ns <= 0)
        return INT64_MAX;
    return vg_add_sat(t->head->start_ns, t->limits.request_timeout_ns);
}

unsigned vg_http_conns_open(const struct vg_http_conns *t)
{
    return t->n_open;
}

unsigned vg_http_conns_of(const struct vg_http_conns *t, const struct vg_http_client *client)
{
    return t->counts[conns_slot(t, client)].n;
}

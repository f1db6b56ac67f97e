/*
 * sd_notify.h - systemd's service notification protocol (sd_notify(3)):
 * READY=1, RELOADING=1, STOPPING=1, STATUS= and the WATCHDOG=1 pings, sent
 * as datagrams to $NOTIFY_SOCKET. Written here rather than linked from
 * libsystemd: a few dozen lines, no new dependency, and the same behaviour
 * in a container without systemd (no NOTIFY_SOCKET: every call is a no-op).
 *
 * Engine thread only: the watchdog pings must prove that the engine loop
 * runs, so they are sent from its tick and from nowhere else.
 */
#ifndef VG_SD_NOTIFY_H
#define VG_SD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "vigil.h"

/* What a STATUS= line tells, gathered by the engine at its tick. */
struct vg_sd_stats {
    uint64_t records_total; /* records emitted by every collector so far */
    size_t collectors;
    size_t outputs;
    bool outputs_down; /* some output's last send failed */
};

/* Embedded in the engine; vg_sd_notify_init fills it. Holds no descriptor:
 * each message opens, sends on and closes its own socket (as libsystemd
 * does), so nothing is left to release. */
struct vg_sd_notify {
    struct sockaddr_un addr;
    socklen_t addr_len;          /* 0: notifications off */
    int64_t watchdog_ns;         /* WATCHDOG_USEC; 0: no watchdog */
    int64_t ping_every_ns;       /* half of it */
    int64_t tick_ns;             /* the engine's tick (pings come with it) */
    int64_t next_ping_ns;        /* monotonic; 0: at the next tick */
    int64_t next_status_ns;      /* monotonic */
    int64_t rate_since_ns;       /* start of the records/s interval */
    uint64_t rate_records;       /* records_total at rate_since_ns */
    struct vg_complain complain; /* sends that failed */
};

/* How often a STATUS= line goes out at the most. */
#define VG_SD_STATUS_EVERY_NS (5 * VG_NS_PER_SEC)

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment
 * (left there, as sd_notify leaves them). tick_ns is the period of the
 * calls to vg_sd_notify_tick. A value that cannot be used is logged once
 * and turns that part off; nothing here is fatal. */
void vg_sd_notify_init(struct vg_sd_notify *sd, int64_t tick_ns);

/* Parses a NOTIFY_SOCKET value: an absolute path, or an abstract name that
 * starts with '@' (sent with a leading NUL, the length exact). Returns
 * VG_OK, or VG_EINVAL for anything else (empty, relative, too long). */
int vg_sd_notify_parse_addr(const char *value, struct sockaddr_un *addr, socklen_t *len);

/* Parses WATCHDOG_USEC (a positive decimal count of microseconds) and
 * WATCHDOG_PID (NULL or empty: any process; else it must equal self).
 * Returns the interval in ns, 0 when the watchdog is not for this process,
 * or VG_EINVAL when a value is malformed. */
int64_t vg_sd_notify_parse_watchdog(const char *usec, const char *pid, pid_t self);

/* Sends one message (lines "KEY=value" joined by '\n'). Never blocks: a
 * full socket is a failed send. Returns VG_OK, VG_OK too when notifications
 * are off, or VG_EIO (logged, rate-limited). */
int vg_sd_notify_send(struct vg_sd_notify *sd, const char *msg);

/* READY=1 with a STATUS= line: at the end of the start, once /readyz can
 * answer 200, and after a configuration reload. */
void vg_sd_notify_ready(struct vg_sd_notify *sd);
/* RELOADING=1 and MONOTONIC_USEC= (Type=notify-reload): before a reload. */
void vg_sd_notify_reloading(struct vg_sd_notify *sd);
/* STOPPING=1: when SIGTERM or SIGINT starts the drain. */
void vg_sd_notify_stopping(struct vg_sd_notify *sd);

/* At every engine tick: WATCHDOG=1 when a ping is due (every half of
 * WATCHDOG_USEC, a ping early rather than a tick late), and a STATUS= line
 * with records/s at most every VG_SD_STATUS_EVERY_NS. */
void vg_sd_notify_tick(struct vg_sd_notify *sd, int64_t now_ns, const struct vg_sd_stats *st);

/* The STATUS= message for a rate and the counts; returns snprintf's. */
int vg_sd_notify_format_status(char *buf, size_t size, double records_per_s,
                               const struct vg_sd_stats *st);

#endif

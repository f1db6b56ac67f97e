/*
 * sd_notify.c - systemd's notification protocol, written in the tree: one
 * AF_UNIX datagram per message to $NOTIFY_SOCKET (see sd_notify.h for why
 * not libsystemd). Failures are logged, rate-limited, and never fatal: a
 * notification that does not arrive must not stop the agent.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sd_notify.h"

#define SD_PLUGIN   "systemd"
#define SD_INSTANCE "notify"
/* A socket that keeps failing is told about once an hour, not per message. */
#define SD_COMPLAIN_EVERY_NS (3600 * VG_NS_PER_SEC)

int vg_sd_notify_parse_addr(const char *value, struct sockaddr_un *addr, socklen_t *len)
{
    size_t n;

    if (value == NULL || (value[0] != '/' && value[0] != '@'))
        return VG_EINVAL;
    n = strlen(value);
    if (n < 2 || n >= sizeof(addr->sun_path))
        return VG_EINVAL;
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, value, n);
    if (value[0] == '@') {
        /* Abstract: a leading NUL, and the length says where the name ends. */
        addr->sun_path[0] = '\0';
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return VG_OK;
}

/* A whole decimal number in [1, max]; VG_EINVAL otherwise. */
static int sd_parse_positive(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || s[0] < '0' || s[0] > '9')
        return VG_EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max)
        return VG_EINVAL;
    *out = v;
    return VG_OK;
}

int64_t vg_sd_notify_parse_watchdog(const char *usec, const char *pid, pid_t self)
{
    uint64_t us, p;

    if (sd_parse_positive(usec, (uint64_t)(INT64_MAX / 1000), &us) != VG_OK)
        return VG_EINVAL;
    if (pid != NULL && pid[0] != '\0') {
        if (sd_parse_positive(pid, (uint64_t)INT32_MAX, &p) != VG_OK)
            return VG_EINVAL;
        if ((pid_t)p != self)
            return 0; /* meant for another process (a parent's, say) */
    }
    return (int64_t)us * 1000;
}

/* The watchdog part of the environment: the interval and how often to
 * ping, or both 0. */
static void sd_init_watchdog(struct vg_sd_notify *sd)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    int64_t ns;

    if (usec == NULL || usec[0] == '\0')
        return;
    ns = vg_sd_notify_parse_watchdog(usec, pid, getpid());
    if (ns < 0) {
        vg_log(VG_LOG_WARN, SD_PLUGIN, SD_INSTANCE,
               "environment WATCHDOG_USEC=%s WATCHDOG_PID=%s: not a positive number; "
               "no watchdog pings",
               usec, pid != NULL ? pid : "");
        return;
    }
    if (ns == 0) {
        vg_log(VG_LOG_INFO, SD_PLUGIN, SD_INSTANCE,
               "environment WATCHDOG_PID=%s is not this process (%ld): no watchdog pings", pid,
               (long)getpid());
        return;
    }
    sd->watchdog_ns = ns;
    sd->ping_every_ns = ns / 2;
    if (sd->ping_every_ns < sd->tick_ns)
        vg_log(VG_LOG_WARN, SD_PLUGIN, SD_INSTANCE,
               "watchdog interval %.3fs is below twice the engine tick (%.3fs): pinging at "
               "every tick, which may come too late; set WatchdogSec= to 2s or more",
               (double)ns / 1e9, (double)sd->tick_ns / 1e9);
}

void vg_sd_notify_init(struct vg_sd_notify *sd, int64_t tick_ns)
{
    const char *sock = getenv("NOTIFY_SOCKET");

    memset(sd, 0, sizeof(*sd));
    sd->tick_ns = tick_ns > 0 ? tick_ns : VG_NS_PER_SEC;
    sd->complain.interval_ns = SD_COMPLAIN_EVERY_NS;
    if (sock == NULL || sock[0] == '\0')
        return; /* not started by systemd (or not as Type=notify) */
    if (vg_sd_notify_parse_addr(sock, &sd->addr, &sd->addr_len) != VG_OK) {
        sd->addr_len = 0;
        vg_log(VG_LOG_WARN, SD_PLUGIN, SD_INSTANCE,
               "environment NOTIFY_SOCKET=%s: not an absolute path or an @abstract name "
               "shorter than %zu bytes; no notifications",
               sock, sizeof(sd->addr.sun_path));
        return;
    }
    sd_init_watchdog(sd);
    if (sd->watchdog_ns > 0)
        vg_log(VG_LOG_INFO, SD_PLUGIN, SD_INSTANCE,
               "notifying systemd at %s, a watchdog ping every %.3fs", sock,
               (double)sd->ping_every_ns / 1e9);
    else
        vg_log(VG_LOG_INFO, SD_PLUGIN, SD_INSTANCE, "notifying systemd at %s", sock);
}

int vg_sd_notify_send(struct vg_sd_notify *sd, const char *msg)
{
    size_t len = strlen(msg);
    ssize_t n;
    int fd, err;

    if (sd->addr_len == 0)
        return VG_OK;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno;
        vg_complain(&sd->complain, VG_LOG_WARN, SD_PLUGIN, SD_INSTANCE,
                    "cannot open a socket for NOTIFY_SOCKET: %s", vg_errno_str(err));
        return VG_EIO;
    }
    /* MSG_DONTWAIT: the engine thread never waits on systemd. */
    n = sendto(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)&sd->addr,
               sd->addr_len);
    err = errno;
    close(fd);
    if (n != (ssize_t)len) {
        vg_complain(&sd->complain, VG_LOG_WARN, SD_PLUGIN, SD_INSTANCE,
                    "cannot send to NOTIFY_SOCKET %s%s: %s", sd->addr.sun_path[0] ? "" : "@",
                    sd->addr.sun_path[0] ? sd->addr.sun_path : sd->addr.sun_path + 1,
                    n < 0 ? vg_errno_str(err) : "short send");
        return VG_EIO;
    }
    vg_complain_clear(&sd->complain, SD_PLUGIN, SD_INSTANCE, "NOTIFY_SOCKET");
    return VG_OK;
}

int vg_sd_notify_format_status(char *buf, size_t size, double records_per_s,
                               const struct vg_sd_stats *st)
{
    char outputs[64];

    if (st->outputs == 0)
        snprintf(outputs, sizeof(outputs), "no outputs");
    else if (st->outputs_down)
        snprintf(outputs, sizeof(outputs), "an output of %zu is down", st->outputs);
    else
        snprintf(outputs, sizeof(outputs), "%zu output%s up", st->outputs,
                 st->outputs == 1 ? "" : "s");
    return snprintf(buf, size, "STATUS=%.1f records/s, %zu collector%s, %s", records_per_s,
                    st->collectors, st->collectors == 1 ? "" : "s", outputs);
}

void vg_sd_notify_ready(struct vg_sd_notify *sd)
{
    vg_sd_notify_send(sd, "READY=1\nSTATUS=running");
}

void vg_sd_notify_reloading(struct vg_sd_notify *sd)
{
    char msg[96];

    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRId64 "\nSTATUS=reloading",
             vg_mono_ns() / 1000);
    vg_sd_notify_send(sd, msg);
}

void vg_sd_notify_stopping(struct vg_sd_notify *sd)
{
    vg_sd_notify_send(sd, "STOPPING=1\nSTATUS=stopping: draining the outputs");
}

/* A STATUS= line when one is due: the rate over the time since the last. */
static void sd_status(struct vg_sd_notify *sd, int64_t now_ns, const struct vg_sd_stats *st)
{
    char msg[256];
    double secs, rate = 0.0;

    if (sd->rate_since_ns == 0) { /* the first tick starts the interval */
        sd->rate_since_ns = now_ns;
        sd->rate_records = st->records_total;
        sd->next_status_ns = now_ns + VG_SD_STATUS_EVERY_NS;
        return;
    }
    if (now_ns + sd->tick_ns / 2 < sd->next_status_ns)
        return;
    secs = (double)(now_ns - sd->rate_since_ns) / 1e9;
    if (secs > 0 && st->records_total >= sd->rate_records)
        rate = (double)(st->records_total - sd->rate_records) / secs;
    vg_sd_notify_format_status(msg, sizeof(msg), rate, st);
    vg_sd_notify_send(sd, msg);
    sd->rate_since_ns = now_ns;
    sd->rate_records = st->records_total;
    sd->next_status_ns = now_ns + VG_SD_STATUS_EVERY_NS;
}

void vg_sd_notify_tick(struct vg_sd_notify *sd, int64_t now_ns, const struct vg_sd_stats *st)
{
    if (sd->addr_len == 0)
        return;
    /* A ping is sent when the next tick could come after it is due: half
     * a tick early rather than up to a whole tick late. */
    if (sd->watchdog_ns > 0 && now_ns + sd->tick_ns / 2 >= sd->next_ping_ns) {
        vg_sd_notify_send(sd, "WATCHDOG=1");
        sd->next_ping_ns = now_ns + sd->ping_every_ns;
    }
    sd_status(sd, now_ns, st);
}

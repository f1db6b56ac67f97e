/*
 * node_sys.c - the node collector's clock and kernel table sources, under
 * node_exporter's names: time (the clock, its zone and clocksources),
 * timex (adjtimex(2)), filefd (/proc/sys/fs/file-nr), vmstat
 * (/proc/vmstat, filtered by vmstat_fields), os (os-release) and selinux.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "node_collect.h"

/* ------------------------------------------------------------------------
 * time.
 */

#define NODE_CLOCKSOURCE_MAX 64

struct node_cs_arg {
    struct vg_collector *c;
    struct vg_emit *emit;
};

/* One info series per clocksource named in ctx->buf (blank-separated). */
static int node_cs_emit(struct node_cs_arg *a, const char *family, const char *help,
                        const char *device)
{
    struct node_ctx *ctx = a->c->ctx;
    char name[NODE_CLOCKSOURCE_MAX];
    size_t i = 0, n = ctx->buf.len;
    const char *p = ctx->buf.data;
    int rc = VG_OK;

    while (i < n && rc == VG_OK) {
        size_t start;

        while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t'))
            i++;
        start = i;
        while (i < n && p[i] != ' ' && p[i] != '\n' && p[i] != '\t')
            i++;
        if (i == start)
            break;
        if (i - start >= sizeof(name)) {
            vg_complain(&ctx->complain_value, VG_LOG_WARN, NODE_PLUGIN, a->c->name,
                        "%s: clocksource name too long", ctx->path);
            continue;
        }
        memcpy(name, p + start, i - start);
        name[i - start] = '\0';
        rc = vg_emit_gauge(a->emit, family, help, 1.0, "clocksource", name, "device", device, NULL);
    }
    return rc;
}

static int node_cs_one(const char *entry, void *arg)
{
    struct node_cs_arg *a = arg;
    struct node_ctx *ctx = a->c->ctx;
    const char *device = entry + strlen("clocksource");
    char rel[256];
    int rc = VG_OK;

    if (strncmp(entry, "clocksource", strlen("clocksource")) != 0 || device[0] == '\0')
        return VG_OK;
    snprintf(rel, sizeof(rel), "devices/system/clocksource/%s/available_clocksource", entry);
    if (node_path(ctx, ctx->sys_root, rel) == VG_OK &&
        node_read_file(ctx->path, &ctx->buf) == VG_OK)
        rc = node_cs_emit(a, "node_time_clocksource_available_info",
                          "Available clocksources read from '/sys/devices/system/clocksource'.",
                          device);
    snprintf(rel, sizeof(rel), "devices/system/clocksource/%s/current_clocksource", entry);
    if (rc == VG_OK && node_path(ctx, ctx->sys_root, rel) == VG_OK &&
        node_read_file(ctx->path, &ctx->buf) == VG_OK)
        rc = node_cs_emit(a, "node_time_clocksource_current_info",
                          "Current clocksource read from '/sys/devices/system/clocksource'.",
                          device);
    return rc;
}

int node_collect_time(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_cs_arg a = {c, emit};
    struct timespec ts;
    struct tm tm;
    time_t now;
    int rc;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = ts.tv_sec;
    rc = vg_emit_gauge(emit, "node_time_seconds", "System time in seconds since epoch (1970).",
                       (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, NULL);
    if (rc == VG_OK && localtime_r(&now, &tm) != NULL)
        rc = vg_emit_gauge(emit, "node_time_zone_offset_seconds",
                           "System time zone offset in seconds.", (double)tm.tm_gmtoff, "time_zone",
                           tm.tm_zone != NULL ? tm.tm_zone : "", NULL);
    if (rc == VG_OK) {
        rc = node_dir_each(ctx, ctx->sys_root, "devices/system/clocksource", node_cs_one, &a);
        if (rc == VG_ENOENT)
            rc = VG_OK; /* no sysfs: the clock alone */
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * timex: adjtimex(2), from the host's own kernel only.
 */

static const struct node_timex_metric {
    enum node_timex_value v;
    const char *name;
    const char *help;
    bool counter;
} node_timex_metrics[] = {
    {NODE_TIMEX_SYNC, "node_timex_sync_status",
     "Is clock synchronized to a reliable server (1 = yes, 0 = no).", false},
    {NODE_TIMEX_OFFSET, "node_timex_offset_seconds",
     "Time offset in between local system and reference clock.", false},
    {NODE_TIMEX_FREQ, "node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.",
     false},
    {NODE_TIMEX_MAXERROR, "node_timex_maxerror_seconds", "Maximum error in seconds.", false},
    {NODE_TIMEX_ESTERROR, "node_timex_estimated_error_seconds", "Estimated error in seconds.",
     false},
    {NODE_TIMEX_STATUS, "node_timex_status", "Value of the status array bits.", false},
    {NODE_TIMEX_CONSTANT, "node_timex_loop_time_constant", "Phase-locked loop time constant.",
     false},
    {NODE_TIMEX_TICK, "node_timex_tick_seconds", "Seconds between clock ticks.", false},
    {NODE_TIMEX_PPSFREQ, "node_timex_pps_frequency_hertz", "Pulse per second frequency.", false},
    {NODE_TIMEX_JITTER, "node_timex_pps_jitter_seconds", "Pulse per second jitter.", false},
    {NODE_TIMEX_SHIFT, "node_timex_pps_shift_seconds", "Pulse per second interval duration.",
     false},
    {NODE_TIMEX_STABIL, "node_timex_pps_stability_hertz",
     "Pulse per second stability, average of recent frequency changes.", false},
    {NODE_TIMEX_JITCNT, "node_timex_pps_jitter_total",
     "Pulse per second count of jitter limit exceeded events.", true},
    {NODE_TIMEX_CALCNT, "node_timex_pps_calibration_total",
     "Pulse per second count of calibration intervals.", true},
    {NODE_TIMEX_ERRCNT, "node_timex_pps_error_total",
     "Pulse per second count of calibration errors.", true},
    {NODE_TIMEX_STBCNT, "node_timex_pps_stability_exceeded_total",
     "Pulse per second count of stability limit exceeded events.", true},
    {NODE_TIMEX_TAI, "node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.",
     false},
};

/* NODE_NO_DATA when proc_root is not the host's /proc: the kernel we would
 * ask is ours, not the one the fixture (or mounted /proc) describes. */
int node_collect_timex(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct timex tx;
    double v[NODE_TIMEX_N];
    size_t i;
    int state, rc = VG_OK;

    if (!ctx->real_proc)
        return NODE_NO_DATA;
    memset(&tx, 0, sizeof(tx));
    state = adjtimex(&tx);
    if (state < 0) {
        vg_collector_fail(c, "adjtimex: %s", vg_errno_str(errno));
        vg_complain(&ctx->complain, VG_LOG_WARN, NODE_PLUGIN, c->name, "adjtimex: %s",
                    vg_errno_str(errno));
        return VG_EIO;
    }
    node_timex_values(&tx, state, v);
    for (i = 0; i < VG_ARRAY_LEN(node_timex_metrics) && rc == VG_OK; i++) {
        const struct node_timex_metric *m = &node_timex_metrics[i];

        rc = vg_emit_series(emit, m->name, m->counter ? VG_METRIC_COUNTER : VG_METRIC_GAUGE,
                            m->help, "", NULL, 0, v[m->v]);
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * filefd and vmstat.
 */

int node_collect_filefd(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_perr pe = {0, NULL};
    uint64_t v[3];
    int rc = node_read(c, ctx->proc_root, "sys/fs/file-nr");

    if (rc == VG_OK)
        rc = node_parse_u64s(ctx->buf.data, ctx->buf.len, v, 3, &pe);
    if (rc != VG_OK)
        return node_report(c, rc, &pe);
    rc = vg_emit_gauge(emit, "node_filefd_allocated", "File descriptor statistics: allocated.",
                       (double)v[0], NULL);
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, "node_filefd_maximum", "File descriptor statistics: maximum.",
                           (double)v[2], NULL);
    return rc;
}

static int node_vmstat_one(const char *name, double v, void *arg)
{
    struct node_emit_arg *a = arg;
    char metric[NODE_METRIC_NAME_MAX + 16], help[NODE_METRIC_NAME_MAX + 48];

    if (a->ctx->re_vmstat != NULL && !node_re_match(a->ctx, a->ctx->re_vmstat, name))
        return VG_OK;
    snprintf(metric, sizeof(metric), "node_vmstat_%s", name);
    snprintf(help, sizeof(help), "/proc/vmstat information field %s.", name);
    return vg_emit_series(a->emit, metric, VG_METRIC_UNTYPED, help, "", NULL, 0, v);
}

int node_collect_vmstat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_emit_arg a = {ctx, emit};
    struct node_perr pe = {0, NULL};
    int rc = node_read(c, ctx->proc_root, "vmstat");

    if (rc == VG_OK)
        rc = node_parse_keyvalue(ctx->buf.data, ctx->buf.len, false, node_vmstat_one, &a, &pe);
    return node_report(c, rc, &pe);
}

/* ------------------------------------------------------------------------
 * os: os-release(5) under rootfs.
 */

/* node_exporter's labels, in its order, with the os-release keys. */
static const char *const node_os_keys[][2] = {
    {"build_id", "BUILD_ID"},
    {"id", "ID"},
    {"id_like", "ID_LIKE"},
    {"image_id", "IMAGE_ID"},
    {"image_version", "IMAGE_VERSION"},
    {"name", "NAME"},
    {"pretty_name", "PRETTY_NAME"},
    {"variant", "VARIANT"},
    {"variant_id", "VARIANT_ID"},
    {"version", "VERSION"},
    {"version_codename", "VERSION_CODENAME"},
    {"version_id", "VERSION_ID"},
};

#define NODE_OS_VALUE_MAX 128
#define NODE_OS_N         (sizeof(node_os_keys) / sizeof(node_os_keys[0]))

static int node_os_emit(struct node_ctx *ctx, struct vg_emit *emit)
{
    char v[NODE_OS_N][NODE_OS_VALUE_MAX];
    struct vg_label l[NODE_OS_N];
    size_t i;
    int rc;

    for (i = 0; i < NODE_OS_N; i++) {
        if (!node_os_release_value(ctx->buf.data, ctx->buf.len, node_os_keys[i][1], v[i],
                                   sizeof(v[i])))
            v[i][0] = '\0';
        l[i].name = node_os_keys[i][0];
        l[i].value = v[i];
    }
    rc = vg_emit_series(emit, "node_os_info", VG_METRIC_GAUGE,
                        "A metric with a constant '1' value labeled by build_id, id, id_like, "
                        "image_id, image_version, name, pretty_name, variant, variant_id, "
                        "version, version_codename, version_id.",
                        "", l, NODE_OS_N, 1.0);
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, "node_os_version",
                           "Metric containing the major.minor part of the OS version.",
                           node_os_version_number(v[NODE_OS_N - 1]), "id", v[1], "id_like", v[2],
                           "name", v[5], NULL);
    return rc;
}

int node_collect_os(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    int rc = node_read(c, ctx->rootfs, "etc/os-release");

    if (rc == VG_ENOENT)
        rc = node_read(c, ctx->rootfs, "usr/lib/os-release");
    if (rc != VG_OK)
        return node_report(c, rc, NULL);
    return node_os_emit(ctx, emit);
}

/* ------------------------------------------------------------------------
 * selinux: sys fs/selinux/enforce and rootfs etc/selinux/config.
 */

/* SELINUX= of the config file in base units: enforcing 1, permissive 0,
 * disabled (or none) -1, as libselinux's default enforce mode. */
static double node_selinux_config_mode(struct vg_collector *c, struct node_ctx *ctx)
{
    char mode[32];

    if (node_read(c, ctx->rootfs, "etc/selinux/config") != VG_OK ||
        !node_os_release_value(ctx->buf.data, ctx->buf.len, "SELINUX", mode, sizeof(mode)))
        return -1.0;
    if (strcmp(mode, "enforcing") == 0)
        return 1.0;
    return strcmp(mode, "permissive") == 0 ? 0.0 : -1.0;
}

/* Enabled when selinuxfs answers (its enforce file), as node_exporter asks
 * libselinux; otherwise node_selinux_enabled 0 alone. */
int node_collect_selinux(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    static const char help[] = "SELinux is enabled, 1 is true, 0 is false";
    struct node_perr pe = {0, NULL};
    uint64_t current = 0;
    int rc = node_read(c, ctx->sys_root, "fs/selinux/enforce");

    if (rc == VG_ENOENT)
        return vg_emit_gauge(emit, "node_selinux_enabled", help, 0.0, NULL);
    if (rc == VG_OK)
        rc = node_parse_u64s(ctx->buf.data, ctx->buf.len, &current, 1, &pe);
    if (rc != VG_OK)
        return node_report(c, rc, &pe);
    rc = vg_emit_gauge(emit, "node_selinux_enabled", help, 1.0, NULL);
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, "node_selinux_current_mode", "Current SELinux enforcement mode",
                           (double)current, NULL);
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, "node_selinux_config_mode", "Configured SELinux enforcement mode",
                           node_selinux_config_mode(c, ctx), NULL);
    return rc;
}

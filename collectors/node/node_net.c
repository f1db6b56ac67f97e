/*
 * node_net.c - the node collector's network sources beyond /proc/net/dev,
 * under node_exporter's names: netclass (/sys/class/net), netstat
 * (/proc/net/{netstat,snmp,snmp6}), sockstat, conntrack, arp, softnet and
 * udp_queues. Every file is read into the context's buffer and parsed by
 * node_parse.c; nothing is allocated per collection.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "node_collect.h"

/* ------------------------------------------------------------------------
 * netclass: /sys/class/net/<iface>/.
 */

/* The numeric files of an interface; help is "Network device property: "
 * and the name after node_network_, as node_exporter words it. */
static const struct node_netclass_file {
    const char *file;
    const char *name;
    bool counter;
    double scale;
} node_netclass_files[] = {
    {"addr_assign_type", "node_network_address_assign_type", false, 1},
    {"carrier", "node_network_carrier", false, 1},
    {"carrier_changes", "node_network_carrier_changes_total", true, 1},
    {"carrier_up_count", "node_network_carrier_up_changes_total", true, 1},
    {"carrier_down_count", "node_network_carrier_down_changes_total", true, 1},
    {"dev_id", "node_network_device_id", false, 1},
    {"dormant", "node_network_dormant", false, 1},
    {"flags", "node_network_flags", false, 1},
    {"ifindex", "node_network_iface_id", false, 1},
    {"iflink", "node_network_iface_link", false, 1},
    {"link_mode", "node_network_iface_link_mode", false, 1},
    {"mtu", "node_network_mtu_bytes", false, 1},
    {"name_assign_type", "node_network_name_assign_type", false, 1},
    {"netdev_group", "node_network_net_dev_group", false, 1},
    {"speed", "node_network_speed_bytes", false, 125000}, /* Mbit/s */
    {"tx_queue_len", "node_network_transmit_queue_length", false, 1},
    {"type", "node_network_protocol_type", false, 1},
};

#define NODE_IFACE_STR_MAX 256

/* Reads class/net/<dev>/<file> into ctx->buf; VG_OK or why not. A sysfs
 * file the driver cannot answer (carrier of a down link: EINVAL) is
 * simply absent, as for node_exporter. */
static int node_iface_read(struct node_ctx *ctx, const char *dev, const char *file)
{
    char rel[512];
    int n = snprintf(rel, sizeof(rel), "class/net/%s/%s", dev, file);

    if (n < 0 || (size_t)n >= sizeof(rel) || node_path(ctx, ctx->sys_root, rel) != VG_OK)
        return VG_EINVAL;
    return node_read_file(ctx->path, &ctx->buf);
}

/* A string property, "" when the file cannot be read. */
static void node_iface_str(struct node_ctx *ctx, const char *dev, const char *file, char *out)
{
    out[0] = '\0';
    if (node_iface_read(ctx, dev, file) == VG_OK &&
        node_copy_trimmed(ctx->buf.data, ctx->buf.len, out, NODE_IFACE_STR_MAX) != VG_OK)
        out[0] = '\0';
}

struct node_iface_arg {
    struct vg_collector *c;
    struct vg_emit *emit;
};

static int node_iface_numbers(struct node_iface_arg *a, struct node_ctx *ctx, const char *dev)
{
    char help[96];
    size_t i;
    int rc = VG_OK;

    for (i = 0; i < VG_ARRAY_LEN(node_netclass_files) && rc == VG_OK; i++) {
        const struct node_netclass_file *f = &node_netclass_files[i];
        int64_t v;

        if (node_iface_read(ctx, dev, f->file) != VG_OK)
            continue;
        if (node_parse_int(ctx->buf.data, ctx->buf.len, &v) != VG_OK) {
            vg_complain(&ctx->complain_value, VG_LOG_WARN, NODE_PLUGIN, a->c->name,
                        "%s: not an integer", ctx->path);
            continue;
        }
        snprintf(help, sizeof(help), "Network device property: %s",
                 f->name + strlen("node_network_"));
        rc =
            f->counter
                ? vg_emit_counter(a->emit, f->name, help, (double)v * f->scale, "device", dev, NULL)
                : vg_emit_gauge(a->emit, f->name, help, (double)v * f->scale, "device", dev, NULL);
    }
    return rc;
}

static int node_iface_one(const char *dev, void *arg)
{
    struct node_iface_arg *a = arg;
    struct node_ctx *ctx = a->c->ctx;
    char oper[NODE_IFACE_STR_MAX], addr[NODE_IFACE_STR_MAX], brd[NODE_IFACE_STR_MAX];
    char duplex[NODE_IFACE_STR_MAX], alias[NODE_IFACE_STR_MAX];
    int rc;

    node_iface_str(ctx, dev, "operstate", oper);
    node_iface_str(ctx, dev, "address", addr);
    node_iface_str(ctx, dev, "broadcast", brd);
    node_iface_str(ctx, dev, "duplex", duplex);
    node_iface_str(ctx, dev, "ifalias", alias);
    rc = vg_emit_gauge(a->emit, "node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.",
                       strcmp(oper, "up") == 0 ? 1.0 : 0.0, "device", dev, NULL);
    if (rc == VG_OK)
        rc = vg_emit_gauge(a->emit, "node_network_info",
                           "Non-numeric data from /sys/class/net/<iface>, value is always 1.", 1.0,
                           "address", addr, "broadcast", brd, "device", dev, "duplex", duplex,
                           "ifalias", alias, "operstate", oper, NULL);
    return rc == VG_OK ? node_iface_numbers(a, ctx, dev) : rc;
}

int node_collect_netclass(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_iface_arg a = {c, emit};
    int rc = node_dir_each(ctx, ctx->sys_root, "class/net", node_iface_one, &a);

    if (rc == VG_ENOENT || rc == VG_EIO) {
        node_path(ctx, ctx->sys_root, "class/net");
        if (rc == VG_EIO)
            vg_collector_fail(c, "cannot list %s: %s", ctx->path, vg_errno_str(errno));
    }
    return node_report(c, rc, NULL);
}

/* ------------------------------------------------------------------------
 * netstat: /proc/net/netstat, snmp and snmp6, filtered by netstat_fields.
 */

static int node_netstat_one(const char *name, double v, void *arg)
{
    struct node_emit_arg *a = arg;
    char metric[NODE_METRIC_NAME_MAX + 16], help[NODE_METRIC_NAME_MAX + 16];
    const char *us = strchr(name, '_');

    if (us == NULL)
        return VG_OK; /* the parsers always join with '_' */
    if (a->ctx->re_netstat != NULL && !node_re_match(a->ctx, a->ctx->re_netstat, name))
        return VG_OK;
    snprintf(metric, sizeof(metric), "node_netstat_%s", name);
    /* "Statistic TcpExtListenDrops.": the name without its first '_' */
    snprintf(help, sizeof(help), "Statistic %.*s%s.", (int)(us - name), name, us + 1);
    return vg_emit_series(a->emit, metric, VG_METRIC_UNTYPED, help, "", NULL, 0, v);
}

int node_collect_netstat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    static const char *const files[] = {"net/netstat", "net/snmp", "net/snmp6"};
    struct node_emit_arg a = {ctx, emit};
    struct node_perr pe = {0, NULL};
    size_t i;
    int rc = VG_OK;

    for (i = 0; i < VG_ARRAY_LEN(files) && rc == VG_OK; i++) {
        bool six = i == 2;

        rc = node_read(c, ctx->proc_root, files[i]);
        if (rc == VG_ENOENT && six)
            return VG_OK; /* IPv6 disabled */
        if (rc == VG_OK && six)
            rc = node_parse_keyvalue(ctx->buf.data, ctx->buf.len, true, node_netstat_one, &a, &pe);
        else if (rc == VG_OK)
            rc = node_parse_netstat(ctx->buf.data, ctx->buf.len, node_netstat_one, &a, &pe);
    }
    return node_report(c, rc, &pe);
}

/* ------------------------------------------------------------------------
 * sockstat: /proc/net/sockstat and sockstat6.
 */

static int node_sockstat_one(const char *name, double v, void *arg)
{
    struct node_emit_arg *a = arg;
    char metric[NODE_METRIC_NAME_MAX + 16], help[NODE_METRIC_NAME_MAX + 48];
    const char *us = strchr(name, '_');
    int rc;

    if (us == NULL)
        return VG_OK; /* the parser always joins with '_' */
    snprintf(metric, sizeof(metric), "node_sockstat_%s", name);
    if (strcmp(name, "sockets_used") == 0)
        snprintf(help, sizeof(help), "Number of IPv4 sockets in use.");
    else
        snprintf(help, sizeof(help), "Number of %.*s sockets in state %s.", (int)(us - name), name,
                 us + 1);
    rc = vg_emit_gauge(a->emit, metric, help, v, NULL);
    if (rc != VG_OK || strcmp(us + 1, "mem") != 0)
        return rc;
    /* mem counts pages; node_exporter adds it in bytes */
    snprintf(metric, sizeof(metric), "node_sockstat_%s_bytes", name);
    snprintf(help, sizeof(help), "Number of %.*s sockets in state mem_bytes.", (int)(us - name),
             name);
    return vg_emit_gauge(a->emit, metric, help, v * a->ctx->page_size, NULL);
}

int node_collect_sockstat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_emit_arg a = {ctx, emit};
    struct node_perr pe = {0, NULL};
    int rc = node_read(c, ctx->proc_root, "net/sockstat");

    if (rc == VG_OK)
        rc = node_parse_sockstat(ctx->buf.data, ctx->buf.len, node_sockstat_one, &a, &pe);
    if (rc == VG_OK) {
        rc = node_read(c, ctx->proc_root, "net/sockstat6");
        if (rc == VG_ENOENT)
            return VG_OK; /* IPv6 disabled */
        if (rc == VG_OK)
            rc = node_parse_sockstat(ctx->buf.data, ctx->buf.len, node_sockstat_one, &a, &pe);
    }
    return node_report(c, rc, &pe);
}

/* ------------------------------------------------------------------------
 * conntrack: /proc/sys/net/netfilter/nf_conntrack_{count,max} and
 * /proc/net/stat/nf_conntrack.
 */

static const struct node_ct_stat {
    const char *column;
    const char *name;
    const char *help;
} node_ct_stats[] = {
    {"found", "node_nf_conntrack_stat_found", "Number of searched entries which were successful."},
    {"invalid", "node_nf_conntrack_stat_invalid",
     "Number of packets seen which can not be tracked."},
    {"ignore", "node_nf_conntrack_stat_ignore",
     "Number of packets seen which are already connected to a conntrack entry."},
    {"insert", "node_nf_conntrack_stat_insert", "Number of entries inserted into the list."},
    {"insert_failed", "node_nf_conntrack_stat_insert_failed",
     "Number of entries for which list insertion was attempted but failed."},
    {"drop", "node_nf_conntrack_stat_drop", "Number of packets dropped due to conntrack failure."},
    {"early_drop", "node_nf_conntrack_stat_early_drop",
     "Number of dropped conntrack entries to make room for new ones, if maximum table size was "
     "reached."},
    {"search_restart", "node_nf_conntrack_stat_search_restart",
     "Number of conntrack table lookups which had to be restarted due to hashtable resizes."},
};

/* The per-CPU statistics, when the kernel has them. */
static int node_conntrack_stat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    const char *cols[VG_ARRAY_LEN(node_ct_stats)];
    uint64_t sums[VG_ARRAY_LEN(node_ct_stats)];
    struct node_perr pe = {0, NULL};
    unsigned have = 0;
    size_t k;
    int rc = node_read(c, ctx->proc_root, "net/stat/nf_conntrack");

    if (rc == VG_ENOENT)
        return VG_OK;
    for (k = 0; k < VG_ARRAY_LEN(node_ct_stats); k++)
        cols[k] = node_ct_stats[k].column;
    if (rc == VG_OK)
        rc = node_parse_conntrack_stat(ctx->buf.data, ctx->buf.len, cols, VG_ARRAY_LEN(cols), sums,
                                       &have, &pe);
    for (k = 0; k < VG_ARRAY_LEN(node_ct_stats) && rc == VG_OK; k++)
        if (have & (1u << k))
            rc = vg_emit_gauge(emit, node_ct_stats[k].name, node_ct_stats[k].help, (double)sums[k],
                               NULL);
    return node_report(c, rc, &pe);
}

/* NODE_NO_DATA without the nf_conntrack module, as node_exporter. */
int node_collect_conntrack(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_perr pe = {0, NULL};
    uint64_t count = 0, max = 0;
    int rc = node_read(c, ctx->proc_root, "sys/net/netfilter/nf_conntrack_count");

    if (rc == VG_ENOENT)
        return NODE_NO_DATA;
    if (rc == VG_OK)
        rc = node_parse_u64s(ctx->buf.data, ctx->buf.len, &count, 1, &pe);
    if (rc == VG_OK)
        rc = node_read(c, ctx->proc_root, "sys/net/netfilter/nf_conntrack_max");
    if (rc == VG_OK)
        rc = node_parse_u64s(ctx->buf.data, ctx->buf.len, &max, 1, &pe);
    if (rc != VG_OK)
        return node_report(c, rc, &pe);
    rc = vg_emit_gauge(emit, "node_nf_conntrack_entries",
                       "Number of currently allocated flow entries for connection tracking.",
                       (double)count, NULL);
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, "node_nf_conntrack_entries_limit",
                           "Maximum size of connection tracking table.", (double)max, NULL);
    return rc == VG_OK ? node_conntrack_stat(c, ctx, emit) : rc;
}

/* ------------------------------------------------------------------------
 * arp, softnet and udp_queues.
 */

#define NODE_ARP_DEVICES 64

struct node_arp_count {
    size_t n;
    unsigned count[NODE_ARP_DEVICES];
    char dev[NODE_ARP_DEVICES][NODE_NETDEV_NAME_MAX];
};

static int node_arp_one(const char *device, void *arg)
{
    struct node_arp_count *t = arg;
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->dev[i], device) == 0)
            break;
    if (i == t->n) {
        if (t->n == NODE_ARP_DEVICES)
            return VG_OK; /* more devices than anyone has: the rest uncounted */
        snprintf(t->dev[t->n], sizeof(t->dev[0]), "%s", device);
        t->count[t->n++] = 0;
    }
    t->count[i]++;
    return VG_OK;
}

int node_collect_arp(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_perr pe = {0, NULL};
    struct node_arp_count t;
    size_t i;
    int rc = node_read(c, ctx->proc_root, "net/arp");

    t.n = 0;
    if (rc == VG_OK)
        rc = node_parse_arp(ctx->buf.data, ctx->buf.len, node_arp_one, &t, &pe);
    for (i = 0; i < t.n && rc == VG_OK; i++)
        rc = vg_emit_gauge(emit, "node_arp_entries", "ARP entries by device", (double)t.count[i],
                           "device", t.dev[i], NULL);
    return node_report(c, rc, &pe);
}

static int node_softnet_one(unsigned cpu, uint64_t processed, uint64_t dropped, uint64_t squeezed,
                            void *arg)
{
    struct vg_emit *emit = arg;
    char id[16];
    int rc;

    snprintf(id, sizeof(id), "%u", cpu);
    rc = vg_emit_counter(emit, "node_softnet_processed_total", "Number of processed packets",
                         (double)processed, "cpu", id, NULL);
    if (rc == VG_OK)
        rc = vg_emit_counter(emit, "node_softnet_dropped_total", "Number of dropped packets",
                             (double)dropped, "cpu", id, NULL);
    if (rc == VG_OK)
        rc = vg_emit_counter(emit, "node_softnet_times_squeezed_total",
                             "Number of times processing packets ran out of quota",
                             (double)squeezed, "cpu", id, NULL);
    return rc;
}

int node_collect_softnet(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_perr pe = {0, NULL};
    int rc = node_read(c, ctx->proc_root, "net/softnet_stat");

    if (rc == VG_OK)
        rc = node_parse_softnet(ctx->buf.data, ctx->buf.len, node_softnet_one, emit, &pe);
    return node_report(c, rc, &pe);
}

int node_collect_udp_queues(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    static const char help[] = "Number of allocated memory in the kernel for UDP datagrams in "
                               "bytes.";
    static const char *const files[][2] = {{"net/udp", "v4"}, {"net/udp6", "v6"}};
    struct node_perr pe = {0, NULL};
    uint64_t tx, rx;
    size_t i;
    int rc = VG_OK;

    for (i = 0; i < VG_ARRAY_LEN(files) && rc == VG_OK; i++) {
        rc = node_read(c, ctx->proc_root, files[i][0]);
        if (rc == VG_ENOENT && i == 1)
            return VG_OK; /* IPv6 disabled */
        if (rc == VG_OK)
            rc = node_parse_udp_queues(ctx->buf.data, ctx->buf.len, &tx, &rx, &pe);
        if (rc == VG_OK)
            rc = vg_emit_gauge(emit, "node_udp_queues", help, (double)tx, "ip", files[i][1],
                               "queue", "tx", NULL);
        if (rc == VG_OK)
            rc = vg_emit_gauge(emit, "node_udp_queues", help, (double)rx, "ip", files[i][1],
                               "queue", "rx", NULL);
    }
    return node_report(c, rc, &pe);
}

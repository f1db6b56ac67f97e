/*
 * fuzz_proc.c - the node collector's /proc, /sys and udev parsers on
 * arbitrary bytes. The first byte picks the parser, the rest is the file.
 */
#include <stdint.h>
#include <string.h>

#include "../../collectors/node/node_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_cpu(const struct node_cpu_times *t, void *arg)
{
    return VG_OK;
}

static int fuzz_mem(const char *name, double value, void *arg)
{
    return strlen(name) < NODE_METRIC_NAME_MAX ? VG_OK : VG_EINVAL;
}

static int fuzz_mount(const struct node_mount *m, void *arg)
{
    return node_mount_readonly(m->options) ? VG_OK : VG_OK;
}

static int fuzz_netdev(const char *device, const struct node_netdev_cols *cols,
                       const uint64_t *values, void *arg)
{
    return cols->n <= NODE_NETDEV_MAX_COLS ? VG_OK : VG_EINVAL;
}

static int fuzz_disk(const struct node_disk *d, void *arg)
{
    return d->n <= NODE_DISK_NCOLS ? VG_OK : VG_EINVAL;
}

static int fuzz_value(const char *name, double value, void *arg)
{
    return strlen(name) < NODE_METRIC_NAME_MAX ? VG_OK : VG_EINVAL;
}

static int fuzz_softnet(unsigned cpu, uint64_t processed, uint64_t dropped, uint64_t squeezed,
                        void *arg)
{
    return VG_OK;
}

static int fuzz_device(const char *device, void *arg)
{
    return strlen(device) < NODE_NETDEV_NAME_MAX ? VG_OK : VG_EINVAL;
}

/* The parsers added for node_exporter's netstat, sockstat, conntrack,
 * softnet, arp, udp_queues, netclass, disk info and os families. */
static void fuzz_tables(unsigned which, const char *text, size_t size)
{
    static const char *const want[] = {"found", "drop", "search_restart"};
    struct node_perr pe = {0};
    uint64_t v[3], tx, rx;
    unsigned have;
    int64_t i;
    char out[64];

    switch (which % 8) {
    case 0:
        node_parse_keyvalue(text, size, size % 2 == 0, fuzz_value, NULL, &pe);
        break;
    case 1:
        node_parse_netstat(text, size, fuzz_value, NULL, &pe);
        break;
    case 2:
        node_parse_sockstat(text, size, fuzz_value, NULL, &pe);
        break;
    case 3:
        node_parse_conntrack_stat(text, size, want, 3, v, &have, &pe);
        break;
    case 4:
        node_parse_softnet(text, size, fuzz_softnet, NULL, &pe);
        break;
    case 5:
        node_parse_arp(text, size, fuzz_device, NULL, &pe);
        break;
    case 6:
        node_parse_udp_queues(text, size, &tx, &rx, &pe);
        break;
    default:
        node_parse_u64s(text, size, v, 3, &pe);
        node_parse_int(text, size, &i);
        node_udev_prop(text, size, "ID_PATH", out, sizeof(out));
        if (node_os_release_value(text, size, "VERSION_ID", out, sizeof(out)))
            node_os_version_number(out);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;
    struct node_perr pe = {0};
    struct node_netdev_cols cols;
    struct node_stat st;
    struct node_psi psi;
    double load[3];

    if (size < 1)
        return 0;
    size--;
    if (data[0] >= 128) {
        fuzz_tables(data[0], text, size);
        return 0;
    }
    switch (data[0] % 6) {
    case 0:
        node_parse_stat(text, size, fuzz_cpu, NULL, &st, &pe);
        break;
    case 1:
        node_parse_meminfo(text, size, fuzz_mem, NULL, &pe);
        break;
    case 2:
        node_parse_loadavg(text, size, load, &pe);
        break;
    case 3:
        node_parse_mounts(text, size, fuzz_mount, NULL, &pe);
        break;
    case 4:
        node_parse_netdev(text, size, &cols, fuzz_netdev, NULL, &pe);
        break;
    default:
        if (size > 0 && text[0] == 'p')
            node_parse_pressure(text, size, &psi, &pe);
        else
            node_parse_diskstats(text, size, fuzz_disk, NULL, &pe);
        break;
    }
    return 0;
}

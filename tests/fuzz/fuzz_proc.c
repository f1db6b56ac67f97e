/*
 * fuzz_proc.c - the node collector's /proc parsers on arbitrary bytes. The
 * first byte picks the parser, the rest is the file.
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

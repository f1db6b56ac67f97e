/*
 * fuzz_cgroup.c - the cgroup collector's parsers on arbitrary bytes. The
 * first byte picks the parser, the rest is the file.
 */
#include <stdint.h>
#include <string.h>

#include "../../collectors/cgroup/cgroup_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;
    struct cgroup_kv keys[] = {{"usage_usec", 0, false}, {"total_rss", 0, false}};
    struct cgroup_psi psi;
    struct cgroup_io io;
    uint64_t a, b;

    if (size < 1)
        return 0;
    size--;
    switch (data[0] % 7) {
    case 0:
        cgroup_parse_u64(text, size, &a);
        break;
    case 1:
        cgroup_parse_limit(text, size, &a);
        break;
    case 2:
        cgroup_parse_kv(text, size, keys, 2);
        break;
    case 3:
        cgroup_parse_cpu_max(text, size, &a, &b);
        break;
    case 4:
        if (cgroup_parse_io_stat(text, size, &io) == VG_OK && io.n > CGROUP_IO_DEV_MAX)
            __builtin_trap();
        break;
    case 5:
        if (cgroup_parse_blkio(text, size, &io) == VG_OK && io.n > CGROUP_IO_DEV_MAX)
            __builtin_trap();
        break;
    default:
        cgroup_parse_pressure(text, size, &psi);
        break;
    }
    return 0;
}

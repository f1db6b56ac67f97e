/*
 * cgroup_parse.h - pure parsers for the cgroup collector's files: single
 * values ("123\n", "max"), key-value files (cpu.stat, memory.stat,
 * memory.events, cpuacct.stat), cpu.max, io.stat and v1 blkio byte counts,
 * and pressure files (shared with the node collector's parser).
 *
 * Every parser works on (text, len), which need not be NUL-terminated,
 * never touches the filesystem and never allocates. Malformed input gives
 * VG_EPARSE and leaves what the caller asked for unset.
 */
#ifndef CGROUP_PARSE_H
#define CGROUP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* One unsigned decimal value, blanks and one trailing newline allowed.
 * VG_OK or VG_EPARSE (empty, sign, garbage, overflow). */
int cgroup_parse_u64(const char *text, size_t len, uint64_t *out);

/* A limit: a value as cgroup_parse_u64, or "max" (v2) and "-1" (v1 CFS
 * quota) for no limit, which is *out = 0 as cAdvisor exports it. */
int cgroup_parse_limit(const char *text, size_t len, uint64_t *out);

/* A key the caller wants from a "key value" file; found is set when a line
 * names it. */
struct cgroup_kv {
    const char *key;
    uint64_t value;
    bool found;
};

/* Fills the wanted keys from lines "key value". Keys not wanted are
 * skipped; a line with no value, or a wanted key whose value is not an
 * unsigned number, is VG_EPARSE. A file naming none of the keys is VG_OK
 * with nothing found. */
int cgroup_parse_kv(const char *text, size_t len, struct cgroup_kv *keys, size_t n_keys);

/* cpu.max: "QUOTA PERIOD", QUOTA "max" for no limit (0). */
int cgroup_parse_cpu_max(const char *text, size_t len, uint64_t *quota, uint64_t *period);

/* Bytes read and written per block device. */
#define CGROUP_IO_DEV_MAX 32
struct cgroup_io {
    size_t n;
    struct {
        unsigned major, minor;
        uint64_t rbytes, wbytes;
    } dev[CGROUP_IO_DEV_MAX];
};

/* io.stat (v2): "MAJ:MIN rbytes=N wbytes=N rios=N ...". Devices past
 * CGROUP_IO_DEV_MAX are left out. */
int cgroup_parse_io_stat(const char *text, size_t len, struct cgroup_io *out);

/* blkio.throttle.io_service_bytes(_recursive) (v1): "MAJ:MIN Read N",
 * "MAJ:MIN Write N" and other operations, then "Total N". */
int cgroup_parse_blkio(const char *text, size_t len, struct cgroup_io *out);

/* A pressure file: the totals of its "some" and "full" lines in
 * microseconds; has_full is false where the file has no full line (the
 * cpu file before Linux 5.13). */
struct cgroup_psi {
    bool has_full;
    uint64_t some_us, full_us;
};
int cgroup_parse_pressure(const char *text, size_t len, struct cgroup_psi *out);

#endif

/*
 * node_parse.h - pure parsers for the node collector's /proc sources.
 *
 * Every parser works on (text, len), which need not be NUL-terminated, never
 * touches the filesystem and never allocates. Malformed input gives
 * VG_EPARSE with the 1-based line and a static description in a
 * struct node_perr; a callback that returns an error stops the parse and that
 * error comes back as is.
 */
#ifndef NODE_PARSE_H
#define NODE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* Where and why a parse failed; what points to a string literal. */
struct node_perr {
    unsigned line;
    const char *what;
};

/* A piece of the text being parsed (not NUL-terminated). */
struct node_span {
    const char *p;
    size_t n;
};

/* True when s is exactly the string lit. */
bool node_span_eq(const struct node_span *s, const char *lit);
/* Decimal digits only, no sign, no overflow; false otherwise. The cgroup
 * collector's parsers use these too. */
bool node_span_u64(const struct node_span *s, uint64_t *out);

/* ---- /proc/stat ---------------------------------------------------------- */

/* The columns of a cpuN line, in the kernel's order. */
enum node_cpu_col {
    NODE_CPU_USER,
    NODE_CPU_NICE,
    NODE_CPU_SYSTEM,
    NODE_CPU_IDLE,
    NODE_CPU_IOWAIT,
    NODE_CPU_IRQ,
    NODE_CPU_SOFTIRQ,
    NODE_CPU_STEAL,
    NODE_CPU_GUEST,
    NODE_CPU_GUEST_NICE,
    NODE_CPU_NCOLS,
};

/* One cpuN line in ticks (USER_HZ); columns past n (old kernels) are 0. */
struct node_cpu_times {
    unsigned cpu;
    unsigned n; /* columns present, 4..NODE_CPU_NCOLS */
    uint64_t v[NODE_CPU_NCOLS];
};

#define NODE_STAT_CTXT          0x01u
#define NODE_STAT_INTR          0x02u
#define NODE_STAT_PROCESSES     0x04u
#define NODE_STAT_PROCS_RUNNING 0x08u
#define NODE_STAT_PROCS_BLOCKED 0x10u
#define NODE_STAT_BTIME         0x20u

/* The machine-wide lines; `have` holds NODE_STAT_* bits for those seen. */
struct node_stat {
    unsigned have;
    uint64_t ctxt;
    uint64_t intr; /* the total, the first number of the intr line */
    uint64_t processes;
    uint64_t procs_running;
    uint64_t procs_blocked;
    uint64_t btime;
};

typedef int (*node_cpu_cb)(const struct node_cpu_times *t, void *arg);

/* Parses /proc/stat: cb (may be NULL) is called for every cpuN line, the
 * summary "cpu" line is skipped, unknown keys are ignored. */
int node_parse_stat(const char *text, size_t len, node_cpu_cb cb, void *arg, struct node_stat *out,
                    struct node_perr *pe);

/* ---- /proc/meminfo ------------------------------------------------------- */

#define NODE_METRIC_NAME_MAX 128

/*
 * The metric name node_exporter gives a meminfo field: "node_memory_" +
 * field with "(x)" turned into "_x", + "_bytes" when the line has a unit.
 * Characters a metric name cannot hold become '_'. Returns VG_OK, or
 * VG_EINVAL when the field is empty or the name does not fit in out.
 */
int node_meminfo_name(const char *field, size_t flen, bool has_unit, char *out, size_t outsz);

/* name is the metric name (node_meminfo_name); value is already in bytes
 * for fields with a unit (kB * 1024). */
typedef int (*node_meminfo_cb)(const char *name, double value, void *arg);

int node_parse_meminfo(const char *text, size_t len, node_meminfo_cb cb, void *arg,
                       struct node_perr *pe);

/* ---- /proc/loadavg ------------------------------------------------------- */

int node_parse_loadavg(const char *text, size_t len, double out[3], struct node_perr *pe);

/* ---- /proc/1/mounts ------------------------------------------------------ */

#define NODE_MOUNT_FIELD_MAX 4096

/* One mount; strings are NUL-terminated and live only during the callback. */
struct node_mount {
    const char *device;
    const char *mountpoint; /* octal escapes (\040) decoded */
    const char *fstype;
    const char *options;
};

typedef int (*node_mount_cb)(const struct node_mount *m, void *arg);

int node_parse_mounts(const char *text, size_t len, node_mount_cb cb, void *arg,
                      struct node_perr *pe);

/* Decodes the \NNN octal escapes of fstab(5) from in[0..n) into out (NUL
 * terminated); a backslash not followed by three octal digits is kept.
 * Returns VG_OK or VG_EINVAL when out is too small. */
int node_unescape_octal(const char *in, size_t n, char *out, size_t outsz);

/* True when the comma-separated mount options hold "ro". */
bool node_mount_readonly(const char *options);

/* ---- /proc/net/dev ------------------------------------------------------- */

#define NODE_NETDEV_MAX_COLS 32
#define NODE_NETDEV_NAME_MAX 48

/* The columns named by the header, as "receive_bytes", "transmit_colls". */
struct node_netdev_cols {
    unsigned n;
    char name[NODE_NETDEV_MAX_COLS][NODE_NETDEV_NAME_MAX];
};

/* values[i] belongs to cols->name[i]. */
typedef int (*node_netdev_cb)(const char *device, const struct node_netdev_cols *cols,
                              const uint64_t *values, void *arg);

/* Parses /proc/net/dev: the two header lines give the columns (so newer
 * kernels' extra columns are found by name); a device line with fewer
 * values than the header names is VG_EPARSE. cols is filled before the first
 * callback. */
int node_parse_netdev(const char *text, size_t len, struct node_netdev_cols *cols,
                      node_netdev_cb cb, void *arg, struct node_perr *pe);

/* ---- /proc/diskstats ----------------------------------------------------- */

#define NODE_DISK_NAME_MAX 64

/* The statistics after major, minor and name, in the kernel's order: 11 on
 * any kernel, 15 since 4.18 (discards), 17 since 5.5 (flushes). */
enum node_disk_col {
    NODE_DISK_READS,
    NODE_DISK_READS_MERGED,
    NODE_DISK_READ_SECTORS,
    NODE_DISK_READ_MS,
    NODE_DISK_WRITES,
    NODE_DISK_WRITES_MERGED,
    NODE_DISK_WRITE_SECTORS,
    NODE_DISK_WRITE_MS,
    NODE_DISK_IO_NOW,
    NODE_DISK_IO_MS,
    NODE_DISK_IO_WEIGHTED_MS,
    NODE_DISK_DISCARDS,
    NODE_DISK_DISCARDS_MERGED,
    NODE_DISK_DISCARD_SECTORS,
    NODE_DISK_DISCARD_MS,
    NODE_DISK_FLUSHES,
    NODE_DISK_FLUSH_MS,
    NODE_DISK_NCOLS,
};

struct node_disk {
    char name[NODE_DISK_NAME_MAX];
    unsigned n; /* statistics present: 11, 15 or 17 (extra ones ignored) */
    uint64_t v[NODE_DISK_NCOLS];
};

typedef int (*node_disk_cb)(const struct node_disk *d, void *arg);

int node_parse_diskstats(const char *text, size_t len, node_disk_cb cb, void *arg,
                         struct node_perr *pe);

/* ---- /proc/pressure/{cpu,memory,io} ------------------------------------- */

struct node_psi {
    bool has_some, has_full;
    uint64_t some_total_us, full_total_us;
};

int node_parse_pressure(const char *text, size_t len, struct node_psi *out, struct node_perr *pe);

/* ---- small helpers ------------------------------------------------------- */

/* Copies text[0..len) without trailing whitespace into out (NUL terminated).
 * VG_EINVAL when it does not fit. */
int node_copy_trimmed(const char *text, size_t len, char *out, size_t outsz);

#endif

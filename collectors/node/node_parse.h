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
#include <sys/timex.h>

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
    uint64_t major, minor;
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

/* ---- name/value sources: vmstat, netstat, snmp, snmp6, sockstat ---------- */

/* name is NUL-terminated and lives only during the call. */
typedef int (*node_value_cb)(const char *name, double value, void *arg);

/* "name value" lines (/proc/vmstat; /proc/net/snmp6 when snmp6, where
 * "Udp6InErrors" is named "Udp6_InErrors" and keys without a '6' are
 * skipped, as node_exporter does). */
int node_parse_keyvalue(const char *text, size_t len, bool snmp6, node_value_cb cb, void *arg,
                        struct node_perr *pe);

/* /proc/net/netstat and /proc/net/snmp: pairs of "Proto: names" and
 * "Proto: values" lines; each value is named "Proto_Name". */
int node_parse_netstat(const char *text, size_t len, node_value_cb cb, void *arg,
                       struct node_perr *pe);

/* /proc/net/sockstat{,6}: "PROTO: name value name value..." lines; each
 * value is named "PROTO_name" ("sockets_used" for the first line). */
int node_parse_sockstat(const char *text, size_t len, node_value_cb cb, void *arg,
                        struct node_perr *pe);

/* The first n numbers of the first line (/proc/sys/fs/file-nr,
 * nf_conntrack_count, nf_conntrack_max). */
int node_parse_u64s(const char *text, size_t len, uint64_t *out, size_t n, struct node_perr *pe);

/* A sysfs integer: decimal, negative or 0x hexadecimal, trailing newline
 * allowed (strconv.ParseInt(s, 0, 64), as node_exporter's procfs reads
 * them). VG_EPARSE otherwise. */
int node_parse_int(const char *text, size_t len, int64_t *out);

/* ---- /proc/net/stat/nf_conntrack ------------------------------------------ */

#define NODE_CT_WANT_MAX 16

/* Sums the per-CPU hexadecimal rows of the columns named want[0..nwant)
 * into sums; bit k of *have is set when want[k] is in the header. */
int node_parse_conntrack_stat(const char *text, size_t len, const char *const *want, size_t nwant,
                              uint64_t *sums, unsigned *have, struct node_perr *pe);

/* ---- /proc/net/softnet_stat, arp, udp ------------------------------------- */

/* One CPU's row (cpu counts the rows from 0), hexadecimal columns 1-3. */
typedef int (*node_softnet_cb)(unsigned cpu, uint64_t processed, uint64_t dropped,
                               uint64_t squeezed, void *arg);

int node_parse_softnet(const char *text, size_t len, node_softnet_cb cb, void *arg,
                       struct node_perr *pe);

typedef int (*node_device_cb)(const char *device, void *arg);

/* /proc/net/arp: cb gets the device (last column) of every entry. */
int node_parse_arp(const char *text, size_t len, node_device_cb cb, void *arg,
                   struct node_perr *pe);

/* /proc/net/udp{,6}: the sums of the tx_queue and rx_queue columns. */
int node_parse_udp_queues(const char *text, size_t len, uint64_t *tx, uint64_t *rx,
                          struct node_perr *pe);

/* ---- udev and adjtimex ----------------------------------------------------- */

/* The value of "E:key=value" in a udev database file into out; false when
 * the key is absent or the value does not fit. */
bool node_udev_prop(const char *text, size_t len, const char *key, char *out, size_t outsz);

/* The value of KEY in an os-release(5) file, unquoted, into out; false
 * when the key is absent or the value does not fit. */
bool node_os_release_value(const char *text, size_t len, const char *key, char *out, size_t outsz);

/* The major.minor number at the start of a VERSION_ID ("12" -> 12,
 * "22.04.3" -> 22.04), 0 when it does not start with a digit. */
double node_os_version_number(const char *version_id);

/* The values node_exporter's timex collector derives from adjtimex(2). */
enum node_timex_value {
    NODE_TIMEX_SYNC,
    NODE_TIMEX_OFFSET,
    NODE_TIMEX_FREQ,
    NODE_TIMEX_MAXERROR,
    NODE_TIMEX_ESTERROR,
    NODE_TIMEX_STATUS,
    NODE_TIMEX_CONSTANT,
    NODE_TIMEX_TICK,
    NODE_TIMEX_PPSFREQ,
    NODE_TIMEX_JITTER,
    NODE_TIMEX_SHIFT,
    NODE_TIMEX_STABIL,
    NODE_TIMEX_JITCNT,
    NODE_TIMEX_CALCNT,
    NODE_TIMEX_ERRCNT,
    NODE_TIMEX_STBCNT,
    NODE_TIMEX_TAI,
    NODE_TIMEX_N,
};

/* t and state as adjtimex(2) filled and returned them, in base units. */
void node_timex_values(const struct timex *t, int state, double out[NODE_TIMEX_N]);

/* ---- small helpers ------------------------------------------------------- */

/* Copies text[0..len) without trailing whitespace into out (NUL terminated).
 * VG_EINVAL when it does not fit. */
int node_copy_trimmed(const char *text, size_t len, char *out, size_t outsz);

#endif

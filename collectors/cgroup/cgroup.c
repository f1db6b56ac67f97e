/*
 * cgroup.c - the cgroup collector: CPU, memory, I/O, threads and pressure
 * of every container and pod on the node under cAdvisor's container_*
 * names, from cgroup v2, v1 or the hybrid layout (v1 controllers with
 * cgroup2 at unified/).
 *
 * Each collection finds the layout under `root`, walks one hierarchy (v2's,
 * or v1's memory controller) and reports the root cgroup ("/"), every
 * pod-level cgroup (container="") and every container's cgroup, as
 * vg_cgroup_ids_of_path reads them. Names come from the core's container
 * metadata (vg_meta_get). A file that is missing, vanishes or does not parse
 * costs only its own metrics: it is counted in
 * vigil_cgroup_read_errors_total and complained about, rate-limited.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_parse.h"
#include "cgroup_spec.h"
#include "meta.h"
#include "vigil.h"

#define CGROUP_PLUGIN "cgroup"
/* Cgroup files are small; memory.stat is the largest at a few KiB. */
#define CGROUP_BUF_MAX (64u << 10)
/* Containers sit at most four levels down (systemd driver); room for a parent. */
#define CGROUP_DEPTH_MAX 8

enum cgroup_layout { CGROUP_NONE, CGROUP_V1, CGROUP_V2, CGROUP_HYBRID };

/* The v1 controllers read, by their mount folder under root. */
enum cgroup_ctl { CG_CPU, CG_CPUACCT, CG_MEMORY, CG_BLKIO, CG_PIDS, CG_NCTL };
static const char *const cgroup_ctl_dirs[CG_NCTL] = {"cpu", "cpuacct", "memory", "blkio", "pids"};

/* Every family with one value per cgroup, in the order of cgroup_families. */
enum cgroup_metric {
    CM_CPU_USAGE,
    CM_CPU_USER,
    CM_CPU_SYSTEM,
    CM_CFS_PERIODS,
    CM_CFS_THROTTLED,
    CM_CFS_THROTTLED_S,
    CM_MEM_USAGE,
    CM_MEM_WS,
    CM_MEM_RSS,
    CM_MEM_CACHE,
    CM_MEM_SWAP,
    CM_MEM_MAPPED,
    CM_MEM_FAILCNT,
    CM_SPEC_MEM_LIMIT,
    CM_SPEC_CPU_QUOTA,
    CM_SPEC_CPU_PERIOD,
    CM_OOM,
    CM_THREADS,
    CM_THREADS_MAX,
    CM_PSI_CPU_WAIT,
    CM_PSI_CPU_STALL,
    CM_PSI_MEM_WAIT,
    CM_PSI_MEM_STALL,
    CM_PSI_IO_WAIT,
    CM_PSI_IO_STALL,
    CM_N,
};

struct cgroup_family {
    const char *name;
    enum vg_metric_type type;
    const char *help;
};

/* cAdvisor's names and help texts; failcnt is a gauge here because a
 * counter must end in _total. */
static const struct cgroup_family cgroup_families[CM_N] = {
    {"container_cpu_usage_seconds_total", VG_METRIC_COUNTER,
     "Cumulative cpu time consumed in seconds."},
    {"container_cpu_user_seconds_total", VG_METRIC_COUNTER,
     "Cumulative user cpu time consumed in seconds."},
    {"container_cpu_system_seconds_total", VG_METRIC_COUNTER,
     "Cumulative system cpu time consumed in seconds."},
    {"container_cpu_cfs_periods_total", VG_METRIC_COUNTER,
     "Number of elapsed enforcement period intervals."},
    {"container_cpu_cfs_throttled_periods_total", VG_METRIC_COUNTER,
     "Number of throttled period intervals."},
    {"container_cpu_cfs_throttled_seconds_total", VG_METRIC_COUNTER,
     "Total time duration the container has been throttled."},
    {"container_memory_usage_bytes", VG_METRIC_GAUGE,
     "Current memory usage in bytes, including all memory regardless of when it was accessed"},
    {"container_memory_working_set_bytes", VG_METRIC_GAUGE, "Current working set in bytes."},
    {"container_memory_rss", VG_METRIC_GAUGE, "Size of RSS in bytes."},
    {"container_memory_cache", VG_METRIC_GAUGE, "Number of bytes of page cache memory."},
    {"container_memory_swap", VG_METRIC_GAUGE, "Container swap usage in bytes."},
    {"container_memory_mapped_file", VG_METRIC_GAUGE, "Size of memory mapped files in bytes."},
    {"container_memory_failcnt", VG_METRIC_GAUGE, "Number of memory usage hits limits"},
    {"container_spec_memory_limit_bytes", VG_METRIC_GAUGE, "Memory limit for the container."},
    {"container_spec_cpu_quota", VG_METRIC_GAUGE, "CPU quota of the container."},
    {"container_spec_cpu_period", VG_METRIC_GAUGE, "CPU period of the container."},
    {"container_oom_events_total", VG_METRIC_COUNTER,
     "Count of out of memory events observed for the container"},
    {"container_threads", VG_METRIC_GAUGE, "Number of threads running inside the container"},
    {"container_threads_max", VG_METRIC_GAUGE,
     "Maximum number of threads allowed inside the container, infinity if value is zero"},
    {"container_pressure_cpu_waiting_seconds_total", VG_METRIC_COUNTER,
     "Total time duration tasks in the container have waited due to CPU pressure."},
    {"container_pressure_cpu_stalled_seconds_total", VG_METRIC_COUNTER,
     "Total time duration no tasks in the container could make progress due to CPU "
     "congestion."},
    {"container_pressure_memory_waiting_seconds_total", VG_METRIC_COUNTER,
     "Total time duration tasks in the container have waited due to memory pressure."},
    {"container_pressure_memory_stalled_seconds_total", VG_METRIC_COUNTER,
     "Total time duration no tasks in the container could make progress due to memory "
     "congestion."},
    {"container_pressure_io_waiting_seconds_total", VG_METRIC_COUNTER,
     "Total time duration tasks in the container have waited due to IO pressure."},
    {"container_pressure_io_stalled_seconds_total", VG_METRIC_COUNTER,
     "Total time duration no tasks in the container could make progress due to IO "
     "congestion."},
};

/* What one cgroup gave: values[i] is valid when bit i of have is set. */
struct cgroup_values {
    uint32_t have;
    double v[CM_N];
    bool have_io;
    struct cgroup_io io;
};

struct cgroup_ctx {
    /* options */
    char *root;
    /* state, found again at each collection */
    enum cgroup_layout layout;
    bool ctl[CG_NCTL];    /* v1 controller mounted */
    const char *walk_dir; /* the hierarchy walked, under root */
    double user_hz;
    uint64_t read_errors;
    struct cgroup_spec_cache *specs; /* limits, read again every CGROUP_SPEC_EVERY */
    uint64_t gen;                    /* collections so far */
    struct vg_complain complain;
    char path[PATH_MAX]; /* the file being read, for messages */
    char buf[CGROUP_BUF_MAX];
    size_t len;
};

/* One collection's walk: rel is the cgroup path from the hierarchy root
 * ("" for the root, else "/a/b"). */
struct cgroup_walk {
    struct vg_collector *c;
    struct cgroup_ctx *ctx;
    struct vg_emit *emit;
    bool root;      /* the cgroup read now is the root: missing files are fine */
    bool read_spec; /* read its limits' files now (else they come from specs) */
    char rel[PATH_MAX];
    size_t rel_len;
    const char *cur_dir, *cur_file; /* the file read last, for messages */
    struct {
        const char *name; /* "", a controller, "unified" (static) */
        int fd, err;
    } dirs[8]; /* the current cgroup's folders (cgroup_dirfd) */
    size_t n_dirs;
    int parent_fd;    /* the folder holding the current cgroup in the walk, or -1 */
    const char *leaf; /* the current cgroup's name in parent_fd */
};

static const struct vg_option cgroup_options[] = {
    {"root", VG_OPT_STR, "/sys/fs/cgroup", offsetof(struct cgroup_ctx, root),
     "where the cgroup filesystems are mounted (the host's, or a fixture tree)", 0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* ------------------------------------------------------------------------
 * Reading files.
 */

static void cgroup_set(struct cgroup_values *vals, enum cgroup_metric m, double v)
{
    vals->v[m] = v;
    vals->have |= UINT32_C(1) << m;
}

/* Sets ctx->path to root/dir<rel>/file (file "" for the folder); false
 * when it does not fit. */
static bool cgroup_path(struct cgroup_walk *w, const char *dir, const char *file)
{
    const char *parts[] = {w->ctx->root, dir[0] ? "/" : "", dir, w->rel, file[0] ? "/" : "", file};
    char *out = w->ctx->path;
    size_t i, len = 0;

    for (i = 0; i < VG_ARRAY_LEN(parts); i++) {
        size_t n = strlen(parts[i]);

        if (len + n >= sizeof(w->ctx->path)) {
            out[len] = '\0';
            return false;
        }
        memcpy(out + len, parts[i], n);
        len += n;
    }
    out[len] = '\0';
    return true;
}

/* Counts and complains about the file read last: why says what went wrong. */
static void cgroup_bad(struct cgroup_walk *w, const char *why)
{
    w->ctx->read_errors++;
    cgroup_path(w, w->cur_dir, w->cur_file);
    vg_complain(&w->ctx->complain, VG_LOG_WARN, CGROUP_PLUGIN, w->c->name, "%s: %s", w->ctx->path,
                why);
}

/*
 * The folder of the current cgroup in hierarchy dir ("" on v2, a v1
 * controller, "unified"), opened once per cgroup (O_PATH) so that each file
 * is opened relative to it without walking the whole path again. -1 with
 * errno set when it cannot be opened.
 */
static int cgroup_dirfd(struct cgroup_walk *w, const char *dir)
{
    size_t i;

    for (i = 0; i < w->n_dirs; i++)
        if (strcmp(w->dirs[i].name, dir) == 0) {
            errno = w->dirs[i].err;
            return w->dirs[i].fd;
        }
    if (w->n_dirs == VG_ARRAY_LEN(w->dirs)) {
        errno = EMFILE;
        return -1;
    }
    w->dirs[i].name = dir;
    w->dirs[i].fd = -1;
    w->dirs[i].err = ENAMETOOLONG;
    if (w->parent_fd >= 0 && strcmp(dir, w->ctx->walk_dir) == 0) {
        /* the hierarchy being walked: one step from the parent's folder */
        w->dirs[i].fd = openat(w->parent_fd, w->leaf, O_PATH | O_DIRECTORY | O_CLOEXEC);
        w->dirs[i].err = w->dirs[i].fd < 0 ? errno : 0;
    } else if (cgroup_path(w, dir, "")) {
        w->dirs[i].fd = open(w->ctx->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        w->dirs[i].err = w->dirs[i].fd < 0 ? errno : 0;
    }
    w->n_dirs++;
    errno = w->dirs[i].err;
    return w->dirs[i].fd;
}

/* Closes the folders cgroup_dirfd opened for the current cgroup. */
static void cgroup_dirs_close(struct cgroup_walk *w)
{
    size_t i;

    for (i = 0; i < w->n_dirs; i++)
        if (w->dirs[i].fd >= 0)
            close(w->dirs[i].fd);
    w->n_dirs = 0;
}

/* Reads fd whole into ctx->buf (NUL-terminated). A short read is the end:
 * cgroup files are made whole at the first read. VG_OK, or VG_EIO with
 * errno set (EFBIG for a file larger than the buffer; a removed cgroup's
 * files answer ENODEV, which is ENOENT here). */
static int cgroup_read_fd(struct cgroup_ctx *ctx, int fd)
{
    size_t room = sizeof(ctx->buf) - 1;
    ssize_t n;

    ctx->len = 0;
    for (;;) {
        n = read(fd, ctx->buf + ctx->len, room - ctx->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ENODEV || errno == ENOENT ? VG_ENOENT : VG_EIO;
        ctx->len += (size_t)n;
        if (n == 0 || ctx->len < room)
            break;
        errno = EFBIG;
        return VG_EIO;
    }
    ctx->buf[ctx->len] = '\0';
    return VG_OK;
}

/*
 * Reads root/dir<rel>/file into ctx->buf. Returns VG_OK, or an error once
 * it is counted and complained about; a missing file is not complained about
 * when optional or when the root cgroup lacks it (v2's root has no
 * memory.current).
 */
static int cgroup_load(struct cgroup_walk *w, const char *dir, const char *file, bool optional)
{
    int dfd = cgroup_dirfd(w, dir), fd, rc;

    w->cur_dir = dir;
    w->cur_file = file;
    fd = dfd >= 0 ? openat(dfd, file, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        rc = cgroup_read_fd(w->ctx, fd);
        close(fd);
    } else {
        rc = errno == ENOENT || errno == ENOTDIR ? VG_ENOENT : VG_EIO;
    }
    if (rc == VG_ENOENT && !optional && !w->root)
        cgroup_bad(w, "no such file (the cgroup went away?)");
    else if (rc != VG_OK && rc != VG_ENOENT)
        cgroup_bad(w, vg_errno_str(errno));
    return rc;
}

/* Loads a single value (a limit when limit is set) into metric m times scale. */
static void cgroup_one(struct cgroup_walk *w, const char *dir, const char *file, bool limit,
                       double scale, struct cgroup_values *vals, enum cgroup_metric m)
{
    struct cgroup_ctx *ctx = w->ctx;
    uint64_t v;
    int rc;

    if (cgroup_load(w, dir, file, false) != VG_OK)
        return;
    rc = limit ? cgroup_parse_limit(ctx->buf, ctx->len, &v)
               : cgroup_parse_u64(ctx->buf, ctx->len, &v);
    if (rc != VG_OK)
        cgroup_bad(w, "not a number");
    else
        cgroup_set(vals, m, (double)v * scale);
}

/* Loads a key-value file into keys; false (counted) when it cannot. */
static bool cgroup_kv(struct cgroup_walk *w, const char *dir, const char *file, bool optional,
                      struct cgroup_kv *keys, size_t n)
{
    if (cgroup_load(w, dir, file, optional) != VG_OK)
        return false;
    if (cgroup_parse_kv(w->ctx->buf, w->ctx->len, keys, n) != VG_OK) {
        cgroup_bad(w, "malformed key-value line");
        return false;
    }
    return true;
}

/* Copies the found keys into their metrics, times scale. */
static void cgroup_kv_set(const struct cgroup_kv *keys, const enum cgroup_metric *ms, size_t n,
                          double scale, struct cgroup_values *vals)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (keys[i].found)
            cgroup_set(vals, ms[i], (double)keys[i].value * scale);
}

/* ------------------------------------------------------------------------
 * The sources: dir is "" on v2 ("unified" in the hybrid layout for
 * pressure), a controller's folder on v1.
 */

static void cgroup_pressure(struct cgroup_walk *w, const char *dir, bool optional,
                            struct cgroup_values *vals)
{
    static const char *const files[] = {"cpu.pressure", "memory.pressure", "io.pressure"};
    struct cgroup_psi psi;
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(files); i++) {
        if (cgroup_load(w, dir, files[i], optional) != VG_OK)
            continue;
        if (cgroup_parse_pressure(w->ctx->buf, w->ctx->len, &psi) != VG_OK) {
            cgroup_bad(w, "malformed pressure line");
            continue;
        }
        cgroup_set(vals, (enum cgroup_metric)(CM_PSI_CPU_WAIT + 2 * i), (double)psi.some_us / 1e6);
        if (psi.has_full)
            cgroup_set(vals, (enum cgroup_metric)(CM_PSI_CPU_STALL + 2 * i),
                       (double)psi.full_us / 1e6);
    }
}

static void cgroup_pids(struct cgroup_walk *w, const char *dir, struct cgroup_values *vals)
{
    cgroup_one(w, dir, "pids.current", false, 1, vals, CM_THREADS);
    if (w->read_spec)
        cgroup_one(w, dir, "pids.max", true, 1, vals, CM_THREADS_MAX);
}

/* Working set as cAdvisor computes it: usage less inactive file pages, not below 0. */
static void cgroup_working_set(struct cgroup_values *vals, const struct cgroup_kv *inactive)
{
    double ws;

    if (!(vals->have & (UINT32_C(1) << CM_MEM_USAGE)))
        return;
    ws = vals->v[CM_MEM_USAGE];
    if (inactive->found)
        ws = (double)inactive->value > ws ? 0 : ws - (double)inactive->value;
    cgroup_set(vals, CM_MEM_WS, ws);
}

static void cgroup_v2_cpu(struct cgroup_walk *w, struct cgroup_values *vals)
{
    static const enum cgroup_metric ms[] = {CM_CPU_USAGE,   CM_CPU_USER,      CM_CPU_SYSTEM,
                                            CM_CFS_PERIODS, CM_CFS_THROTTLED, CM_CFS_THROTTLED_S};
    static const double scale[] = {1e-6, 1e-6, 1e-6, 1, 1, 1e-6};
    struct cgroup_kv keys[] = {{"usage_usec", 0, false},   {"user_usec", 0, false},
                               {"system_usec", 0, false},  {"nr_periods", 0, false},
                               {"nr_throttled", 0, false}, {"throttled_usec", 0, false}};
    uint64_t quota, period;
    size_t i;

    if (cgroup_kv(w, "", "cpu.stat", false, keys, VG_ARRAY_LEN(keys)))
        for (i = 0; i < VG_ARRAY_LEN(keys); i++)
            cgroup_kv_set(&keys[i], &ms[i], 1, scale[i], vals);
    if (!w->read_spec || cgroup_load(w, "", "cpu.max", false) != VG_OK)
        return;
    if (cgroup_parse_cpu_max(w->ctx->buf, w->ctx->len, &quota, &period) != VG_OK) {
        cgroup_bad(w, "expected QUOTA PERIOD");
        return;
    }
    cgroup_set(vals, CM_SPEC_CPU_QUOTA, (double)quota);
    cgroup_set(vals, CM_SPEC_CPU_PERIOD, (double)period);
}

static void cgroup_v2_memory(struct cgroup_walk *w, struct cgroup_values *vals)
{
    static const enum cgroup_metric ms[] = {CM_MEM_RSS, CM_MEM_CACHE, CM_MEM_MAPPED};
    static const enum cgroup_metric ev[] = {CM_OOM, CM_MEM_FAILCNT};
    struct cgroup_kv keys[] = {{"anon", 0, false},
                               {"file", 0, false},
                               {"file_mapped", 0, false},
                               {"inactive_file", 0, false}};
    struct cgroup_kv events[] = {{"oom_kill", 0, false}, {"max", 0, false}};

    cgroup_one(w, "", "memory.current", false, 1, vals, CM_MEM_USAGE);
    if (cgroup_kv(w, "", "memory.stat", false, keys, VG_ARRAY_LEN(keys))) {
        cgroup_kv_set(keys, ms, VG_ARRAY_LEN(ms), 1, vals);
        cgroup_working_set(vals, &keys[3]);
    }
    if (w->read_spec)
        cgroup_one(w, "", "memory.max", true, 1, vals, CM_SPEC_MEM_LIMIT);
    if (cgroup_load(w, "", "memory.swap.current", true) == VG_OK) {
        uint64_t v;

        if (cgroup_parse_u64(w->ctx->buf, w->ctx->len, &v) == VG_OK)
            cgroup_set(vals, CM_MEM_SWAP, (double)v);
        else
            cgroup_bad(w, "not a number");
    }
    if (cgroup_kv(w, "", "memory.events", false, events, VG_ARRAY_LEN(events)))
        cgroup_kv_set(events, ev, VG_ARRAY_LEN(ev), 1, vals);
}

static void cgroup_io(struct cgroup_walk *w, const char *dir, const char *file,
                      struct cgroup_values *vals)
{
    int rc;

    if (cgroup_load(w, dir, file, false) != VG_OK)
        return;
    rc = dir[0] == '\0' ? cgroup_parse_io_stat(w->ctx->buf, w->ctx->len, &vals->io)
                        : cgroup_parse_blkio(w->ctx->buf, w->ctx->len, &vals->io);
    if (rc != VG_OK)
        cgroup_bad(w, "malformed device line");
    else
        vals->have_io = true;
}

static void cgroup_v1_cpu(struct cgroup_walk *w, struct cgroup_values *vals)
{
    static const enum cgroup_metric tick_ms[] = {CM_CPU_USER, CM_CPU_SYSTEM};
    static const enum cgroup_metric cfs_ms[] = {CM_CFS_PERIODS, CM_CFS_THROTTLED,
                                                CM_CFS_THROTTLED_S};
    struct cgroup_kv ticks[] = {{"user", 0, false}, {"system", 0, false}};
    struct cgroup_kv cfs[] = {
        {"nr_periods", 0, false}, {"nr_throttled", 0, false}, {"throttled_time", 0, false}};

    if (w->ctx->ctl[CG_CPUACCT]) {
        cgroup_one(w, "cpuacct", "cpuacct.usage", false, 1e-9, vals, CM_CPU_USAGE);
        if (cgroup_kv(w, "cpuacct", "cpuacct.stat", false, ticks, VG_ARRAY_LEN(ticks)))
            cgroup_kv_set(ticks, tick_ms, VG_ARRAY_LEN(ticks), 1 / w->ctx->user_hz, vals);
    }
    if (!w->ctx->ctl[CG_CPU])
        return;
    if (cgroup_kv(w, "cpu", "cpu.stat", false, cfs, VG_ARRAY_LEN(cfs))) {
        cgroup_kv_set(cfs, cfs_ms, 2, 1, vals);
        cgroup_kv_set(&cfs[2], &cfs_ms[2], 1, 1e-9, vals);
    }
    if (!w->read_spec)
        return;
    cgroup_one(w, "cpu", "cpu.cfs_quota_us", true, 1, vals, CM_SPEC_CPU_QUOTA);
    cgroup_one(w, "cpu", "cpu.cfs_period_us", false, 1, vals, CM_SPEC_CPU_PERIOD);
}

/* v1 reports no limit as the largest page-aligned signed value; as "max". */
#define CGROUP_V1_UNLIMITED 0x7ffffffffffff000ULL

static void cgroup_v1_memory(struct cgroup_walk *w, struct cgroup_values *vals)
{
    static const enum cgroup_metric ms[] = {CM_MEM_RSS, CM_MEM_CACHE, CM_MEM_MAPPED, CM_MEM_SWAP};
    struct cgroup_kv keys[] = {{"total_rss", 0, false},
                               {"total_cache", 0, false},
                               {"total_mapped_file", 0, false},
                               {"total_swap", 0, false},
                               {"total_inactive_file", 0, false}};
    struct cgroup_kv oom[] = {{"oom_kill", 0, false}};

    cgroup_one(w, "memory", "memory.usage_in_bytes", false, 1, vals, CM_MEM_USAGE);
    if (cgroup_kv(w, "memory", "memory.stat", false, keys, VG_ARRAY_LEN(keys))) {
        cgroup_kv_set(keys, ms, VG_ARRAY_LEN(ms), 1, vals);
        cgroup_working_set(vals, &keys[4]);
    }
    if (w->read_spec)
        cgroup_one(w, "memory", "memory.limit_in_bytes", false, 1, vals, CM_SPEC_MEM_LIMIT);
    if (vals->v[CM_SPEC_MEM_LIMIT] >= (double)CGROUP_V1_UNLIMITED)
        vals->v[CM_SPEC_MEM_LIMIT] = 0;
    cgroup_one(w, "memory", "memory.failcnt", false, 1, vals, CM_MEM_FAILCNT);
    if (cgroup_kv(w, "memory", "memory.oom_control", true, oom, 1) && oom[0].found)
        cgroup_set(vals, CM_OOM, (double)oom[0].value);
}

/* What the layout's files give of one cgroup (w->rel). */
static void cgroup_read_layout(struct cgroup_walk *w, struct cgroup_values *vals)
{
    struct cgroup_ctx *ctx = w->ctx;

    if (ctx->layout == CGROUP_V2) {
        cgroup_v2_cpu(w, vals);
        cgroup_v2_memory(w, vals);
        cgroup_io(w, "", "io.stat", vals);
        cgroup_pids(w, "", vals);
        cgroup_pressure(w, "", false, vals);
        return;
    }
    cgroup_v1_cpu(w, vals);
    if (ctx->ctl[CG_MEMORY])
        cgroup_v1_memory(w, vals);
    if (ctx->ctl[CG_BLKIO])
        cgroup_io(w, "blkio", "blkio.throttle.io_service_bytes_recursive", vals);
    if (ctx->ctl[CG_PIDS])
        cgroup_pids(w, "pids", vals);
    if (ctx->layout == CGROUP_HYBRID)
        cgroup_pressure(w, "unified", true, vals);
}

/* The limits just read go into spec (fresh), or come from it. */
static void cgroup_spec_keep(struct cgroup_spec *spec, bool fresh, struct cgroup_values *vals)
{
    static const enum cgroup_metric ms[CGROUP_SPEC_N] = {CM_SPEC_CPU_QUOTA, CM_SPEC_CPU_PERIOD,
                                                         CM_SPEC_MEM_LIMIT, CM_THREADS_MAX};
    size_t k;

    if (spec == NULL)
        return;
    if (fresh)
        spec->have = 0;
    for (k = 0; k < CGROUP_SPEC_N; k++) {
        uint32_t bit = UINT32_C(1) << ms[k];

        if (fresh && (vals->have & bit)) {
            spec->v[k] = vals->v[ms[k]];
            spec->have |= UINT32_C(1) << k;
        } else if (!fresh && (spec->have & (UINT32_C(1) << k))) {
            cgroup_set(vals, ms[k], spec->v[k]);
        }
    }
}

/* Everything one cgroup (w->rel) gives, by layout. */
static void cgroup_read_all(struct cgroup_walk *w, struct cgroup_values *vals)
{
    struct cgroup_ctx *ctx = w->ctx;
    struct cgroup_spec *spec;
    bool stale = true;

    memset(vals, 0, offsetof(struct cgroup_values, io));
    vals->io.n = 0;
    spec = cgroup_spec_get(ctx->specs, w->rel_len > 0 ? w->rel : "/", ctx->gen, &stale);
    w->read_spec = spec == NULL || stale;
    cgroup_read_layout(w, vals);
    cgroup_spec_keep(spec, w->read_spec, vals);
}

/* ------------------------------------------------------------------------
 * Emitting and walking.
 */

/* The series of one cgroup, labelled as cAdvisor labels them; the I/O
 * families carry the device ("MAJ:MIN") too. */
static int cgroup_emit(struct cgroup_walk *w, const char *pod_uid, const struct vg_meta *m)
{
    struct cgroup_values vals;
    const char *id = w->rel_len > 0 ? w->rel : "/";
    struct vg_label l[7] = {{"container", m->container},  {"id", id},      {"image", m->image},
                            {"namespace", m->namespace_}, {"pod", m->pod}, {"pod_uid", pod_uid}};
    struct vg_label ld[7] = {
        {"container", m->container},  {"device", ""},  {"id", id},          {"image", m->image},
        {"namespace", m->namespace_}, {"pod", m->pod}, {"pod_uid", pod_uid}};
    char dev[24];
    size_t i;
    int rc = VG_OK;

    cgroup_read_all(w, &vals);
    cgroup_dirs_close(w);
    for (i = 0; i < CM_N && rc == VG_OK; i++)
        if (vals.have & (UINT32_C(1) << i))
            rc = vg_emit_series(w->emit, cgroup_families[i].name, cgroup_families[i].type,
                                cgroup_families[i].help, "", l, 6, vals.v[i]);
    for (i = 0; vals.have_io && i < vals.io.n && rc == VG_OK; i++) {
        snprintf(dev, sizeof(dev), "%u:%u", vals.io.dev[i].major, vals.io.dev[i].minor);
        ld[1].value = dev;
        rc = vg_emit_series(w->emit, "container_fs_reads_bytes_total", VG_METRIC_COUNTER,
                            "Cumulative count of bytes read", "", ld, 7,
                            (double)vals.io.dev[i].rbytes);
        if (rc == VG_OK)
            rc = vg_emit_series(w->emit, "container_fs_writes_bytes_total", VG_METRIC_COUNTER,
                                "Cumulative count of bytes written", "", ld, 7,
                                (double)vals.io.dev[i].wbytes);
    }
    return rc;
}

static int cgroup_walk_dir(struct cgroup_walk *w, unsigned depth, struct vg_meta *pod_names);

/* True when the last part of rel names the pod itself ("pod<uid>",
 * "kubepods-<qos>-pod<uid_>.slice"), not a cgroup inside a pod that holds
 * no container (CRI-O's crio-conmon-<id>.scope). */
static bool cgroup_is_pod(const char *rel)
{
    const char *last = strrchr(rel, '/');

    last = last != NULL ? last + 1 : rel;
    return strncmp(last, "pod", 3) == 0 || strstr(last, "-pod") != NULL;
}

/*
 * Reports the cgroup w->rel when it is a pod's or a container's, else
 * walks below it. A container's names go up into *pod_names (the pod
 * around it, may be NULL), so that a pod-level cgroup carries its
 * namespace and pod when any of its containers is known.
 */
static int cgroup_visit(struct cgroup_walk *w, unsigned depth, struct vg_meta *pod_names)
{
    struct vg_cgroup_ids ids;
    struct vg_meta m;
    int rc;

    if (!vg_cgroup_ids_of_path(w->rel, &ids) || (ids.id[0] == '\0' && !cgroup_is_pod(w->rel)))
        return depth < CGROUP_DEPTH_MAX ? cgroup_walk_dir(w, depth + 1, pod_names) : VG_OK;
    memset(&m, 0, sizeof(m));
    if (ids.id[0] != '\0') {
        if (vg_meta_get(ids.id, &m) && pod_names != NULL && pod_names->pod[0] == '\0') {
            memcpy(pod_names->namespace_, m.namespace_, sizeof(m.namespace_));
            memcpy(pod_names->pod, m.pod, sizeof(m.pod));
        }
        return cgroup_emit(w, ids.pod_uid[0] != '\0' ? ids.pod_uid : m.pod_uid, &m);
    }
    /* a pod: its containers first, for the names */
    rc = cgroup_walk_dir(w, depth + 1, &m);
    if (rc != VG_OK)
        return rc;
    m.container[0] = m.image[0] = '\0';
    return cgroup_emit(w, ids.pod_uid, &m);
}

/* True when entry de of folder d is a folder (d_type, or fstatat where the
 * filesystem does not say). */
static bool cgroup_is_dir(DIR *d, const struct dirent *de)
{
    struct stat st;

    if (de->d_type != DT_UNKNOWN)
        return de->d_type == DT_DIR;
    return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Visits every child cgroup of w->rel. A folder that cannot be opened (a
 * cgroup removed since its parent was read) has no children. */
static int cgroup_walk_dir(struct cgroup_walk *w, unsigned depth, struct vg_meta *pod_names)
{
    struct cgroup_ctx *ctx = w->ctx;
    size_t keep = w->rel_len;
    int parent_fd = w->parent_fd, fd = -1, rc = VG_OK;
    const char *leaf = w->leaf;
    char dir[PATH_MAX];
    DIR *d;

    if (parent_fd >= 0) {
        fd = openat(parent_fd, leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        int n = snprintf(dir, sizeof(dir), "%s/%s%s", ctx->root, ctx->walk_dir, w->rel);

        if (n > 0 && (size_t)n < sizeof(dir))
            fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return VG_OK;
    }
    while (rc == VG_OK) {
        struct dirent *de = readdir(d);
        size_t nl;

        if (de == NULL)
            break;
        if (de->d_name[0] == '.' || !cgroup_is_dir(d, de))
            continue;
        nl = strlen(de->d_name);
        if (keep + 1 + nl >= sizeof(w->rel))
            continue;
        w->rel[keep] = '/';
        memcpy(w->rel + keep + 1, de->d_name, nl + 1);
        w->rel_len = keep + 1 + nl;
        w->parent_fd = dirfd(d);
        w->leaf = de->d_name;
        rc = cgroup_visit(w, depth, pod_names);
        w->rel[keep] = '\0';
        w->rel_len = keep;
    }
    closedir(d);
    w->parent_fd = parent_fd;
    w->leaf = leaf;
    return rc;
}

/* ------------------------------------------------------------------------
 * Layouts.
 */

/* stat of root/rel: 1 a folder, 0 something else, -1 nothing. */
static int cgroup_stat(const struct cgroup_ctx *ctx, const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s/%s", ctx->root, rel);

    if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0)
        return -1;
    return S_ISDIR(st.st_mode) ? 1 : 0;
}

/* Finds the layout under root: cgroup2 at the root is v2; v1 controller
 * folders are v1, hybrid when cgroup2 is at unified/ too. */
static void cgroup_detect(struct cgroup_ctx *ctx)
{
    static const enum cgroup_ctl walk_order[] = {CG_MEMORY, CG_CPUACCT, CG_CPU, CG_PIDS, CG_BLKIO};
    size_t i;

    ctx->layout = CGROUP_NONE;
    ctx->walk_dir = "";
    if (cgroup_stat(ctx, "cgroup.controllers") == 0) {
        ctx->layout = CGROUP_V2;
        return;
    }
    for (i = 0; i < CG_NCTL; i++)
        ctx->ctl[i] = cgroup_stat(ctx, cgroup_ctl_dirs[i]) == 1;
    for (i = 0; i < VG_ARRAY_LEN(walk_order) && ctx->layout == CGROUP_NONE; i++) {
        if (!ctx->ctl[walk_order[i]])
            continue;
        ctx->walk_dir = cgroup_ctl_dirs[walk_order[i]];
        ctx->layout = CGROUP_V1;
    }
    if (ctx->layout == CGROUP_V1 && cgroup_stat(ctx, "unified/cgroup.controllers") == 0)
        ctx->layout = CGROUP_HYBRID;
}

static const char *cgroup_layout_name(enum cgroup_layout l)
{
    static const char *const names[] = {"none", "v1", "v2", "hybrid"};

    return names[l];
}

/* ------------------------------------------------------------------------
 * The plugin.
 */

static int cgroup_check(const void *c, struct vg_check *chk)
{
    const struct cgroup_ctx *ctx = c;

    if (ctx->root == NULL || ctx->root[0] == '\0')
        vg_check_error(chk, "root", "option 'root': must not be empty");
    else
        vg_check_folder(chk, "root", ctx->root, "nothing is collected until it exists");
    return VG_OK;
}

static int cgroup_init(struct vg_collector *c, const struct vg_config_node *cfg,
                       struct vg_error *err)
{
    struct cgroup_ctx *ctx = c->ctx;
    long hz = sysconf(_SC_CLK_TCK);
    size_t rl;
    char every[32];

    if (ctx->root == NULL || ctx->root[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "option root: must not be empty");
    rl = strlen(ctx->root);
    while (rl > 1 && ctx->root[rl - 1] == '/')
        ctx->root[--rl] = '\0';
    ctx->user_hz = hz > 0 ? (double)hz : 100.0;
    ctx->specs = cgroup_spec_cache_create();
    if (ctx->specs == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    cgroup_detect(ctx);
    vg_duration_text(c->interval_ms, every, sizeof(every));
    vg_log(VG_LOG_INFO, CGROUP_PLUGIN, c->name, "collecting containers from %s (%s) every %s",
           ctx->root, cgroup_layout_name(ctx->layout), every);
    return VG_OK;
}

static void cgroup_destroy(struct vg_collector *c)
{
    struct cgroup_ctx *ctx = c->ctx;

    if (ctx == NULL)
        return;
    cgroup_spec_cache_destroy(ctx->specs);
    ctx->specs = NULL;
}

/*
 * One collection: the root cgroup, then every pod and container. Fails
 * only when root holds no cgroup filesystem; files that fail cost their own
 * metrics (vigil_cgroup_read_errors_total).
 */
static int cgroup_collect(struct vg_collector *c, struct vg_emit *emit)
{
    struct cgroup_ctx *ctx = c->ctx;
    struct cgroup_walk w;
    struct vg_meta none;
    uint64_t errors = ctx->read_errors;
    int rc;

    memset(&w, 0, sizeof(w));
    w.c = c;
    w.ctx = ctx;
    w.emit = emit;
    w.root = true;
    w.parent_fd = -1;
    ctx->gen++;
    cgroup_detect(ctx);
    if (ctx->layout == CGROUP_NONE) {
        vg_collector_fail(c, "no cgroup filesystem under %s", ctx->root);
        rc = VG_ENOENT;
    } else {
        memset(&none, 0, sizeof(none));
        rc = cgroup_emit(&w, "", &none);
        w.root = false;
        if (rc == VG_OK)
            rc = cgroup_walk_dir(&w, 0, NULL);
        cgroup_spec_sweep(ctx->specs, ctx->gen);
    }
    if (ctx->read_errors == errors && rc == VG_OK)
        vg_complain_clear(&ctx->complain, CGROUP_PLUGIN, c->name, "every cgroup file");
    vg_emit_counter(emit, "vigil_cgroup_read_errors_total",
                    "cgroup files that could not be read or parsed (their metrics were skipped).",
                    (double)ctx->read_errors, NULL);
    return rc;
}

const struct vg_collector_ops vg_collector_cgroup = {
    .name = "cgroup",
    .doc = "per-container CPU, memory, I/O, threads and pressure from cgroup v1/v2 under "
           "cAdvisor's container_* names",
    .options = cgroup_options,
    .ctx_size = sizeof(struct cgroup_ctx),
    .default_interval_ms = 15000,
    .check = cgroup_check,
    .init = cgroup_init,
    .collect = cgroup_collect,
    .destroy = cgroup_destroy,
};

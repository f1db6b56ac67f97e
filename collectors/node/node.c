/*
 * node.c - the node collector: the host's CPU, memory, load, filesystems,
 * network, disks, pressure and kernel identity from /proc, under
 * node_exporter's metric names, labels and help texts, so that existing
 * dashboards and alerts work unchanged; and the plugin itself, which runs
 * the sub-collectors of node_net.c and node_sys.c beside its own.
 *
 * Each sub-collector (cpu, stat, meminfo, loadavg, filesystem, netdev,
 * diskstats, pressure, uname here; netclass, netstat, sockstat, conntrack,
 * arp, softnet, udp_queues, time, timex, filefd, vmstat, os, selinux there)
 * reads its source with one read into a buffer the collector keeps, parses
 * it with the pure parsers of node_parse.c and reports
 * node_scrape_collector_{success,duration_seconds} as node_exporter does.
 * A failing source costs only its own families.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "node_collect.h"

/* A /proc file larger than this is not one we know: memory stays bounded. */
#define NODE_FILE_MAX   (16u << 20)
#define NODE_READ_CHUNK 65536u
#define NODE_UTS_MAX    256

/* node_exporter's defaults (collector/filesystem_linux.go, diskstats_linux.go). */
#define NODE_DEF_FS_TYPES_EXCLUDE                                                                  \
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"        \
    "iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|"     \
    "sysfs|tracefs)$"
#define NODE_DEF_MOUNT_POINTS_EXCLUDE                                                              \
    "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
#define NODE_DEF_DISK_EXCLUDE "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"
/* collector/vmstat_linux.go and netstat_linux.go */
#define NODE_DEF_VMSTAT_FIELDS "^(oom_kill|pgpg|pswp|pg.*fault).*"
#define NODE_DEF_NETSTAT_FIELDS                                                                    \
    "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|" \
    "TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue)|"                        \
    "Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|"                 \
    "Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
/* The sub-collectors, for messages and the option's doc. */
#define NODE_SUB_NAMES                                                                             \
    "cpu stat meminfo loadavg filesystem netdev diskstats pressure uname netclass netstat "        \
    "sockstat conntrack arp softnet udp_queues time timex filefd vmstat os selinux"

/*
 * One statvfs worker thread. The collector hands it a path and waits at
 * most the mount timeout; a worker stuck in the kernel (a dead NFS server)
 * is left behind with quit set and frees itself if it ever returns. mu
 * guards every field but path, which only the requester writes and only
 * while no request is pending.
 */
struct node_statfs_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned refs; /* the collector's and the thread's */
    bool pending;  /* a request waits for (or is in) the thread */
    bool quit;
    int err; /* errno of the last statvfs, 0 on success */
    struct statvfs st;
    char path[PATH_MAX];
};

static const struct vg_option node_options[] = {
    {"proc_root", VG_OPT_STR, "/proc", offsetof(struct node_ctx, proc_root),
     "where procfs is mounted (a host's /proc mounted into a container, or a fixture tree)", 0,
     NULL},
    {"sys_root", VG_OPT_STR, "/sys", offsetof(struct node_ctx, sys_root), "where sysfs is mounted",
     0, NULL},
    {"rootfs", VG_OPT_STR, "/", offsetof(struct node_ctx, rootfs),
     "prefix of mount points for statvfs (the host's / mounted into a container)", 0, NULL},
    {"filesystem_exclude_fs_types", VG_OPT_STR, NODE_DEF_FS_TYPES_EXCLUDE,
     offsetof(struct node_ctx, fs_types_exclude), "regex of filesystem types to skip (empty: none)",
     0, NULL},
    {"filesystem_exclude_mount_points", VG_OPT_STR, NODE_DEF_MOUNT_POINTS_EXCLUDE,
     offsetof(struct node_ctx, mount_points_exclude), "regex of mount points to skip (empty: none)",
     0, NULL},
    {"filesystem_mount_timeout", VG_OPT_DURATION, "5s", offsetof(struct node_ctx, mount_timeout_ms),
     "longest wait for one statvfs; a mount that takes longer reports device_error 1 (0: no limit)",
     0, NULL},
    {"disk_exclude_devices", VG_OPT_STR, NODE_DEF_DISK_EXCLUDE,
     offsetof(struct node_ctx, disk_exclude),
     "regex of /proc/diskstats devices to skip (empty: none)", 0, NULL},
    {"vmstat_fields", VG_OPT_STR, NODE_DEF_VMSTAT_FIELDS, offsetof(struct node_ctx, vmstat_fields),
     "regex of /proc/vmstat fields to export (empty: all)", 0, NULL},
    {"netstat_fields", VG_OPT_STR, NODE_DEF_NETSTAT_FIELDS,
     offsetof(struct node_ctx, netstat_fields),
     "regex of netstat fields (Proto_Name) to export (empty: all)", 0, NULL},
    {"collectors", VG_OPT_STRLIST, NULL, offsetof(struct node_ctx, collectors),
     "sub-collectors to run, of " NODE_SUB_NAMES " (empty: all)", 0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* ------------------------------------------------------------------------
 * Reading sources.
 */

int node_path(struct node_ctx *ctx, const char *root, const char *rel)
{
    size_t rl = strlen(root);
    int n;

    while (rl > 0 && root[rl - 1] == '/')
        rl--;
    n = snprintf(ctx->path, sizeof(ctx->path), "%.*s/%s", (int)rl, root, rel);
    return n < 0 || (size_t)n >= sizeof(ctx->path) ? VG_EINVAL : VG_OK;
}

int node_read_file(const char *path, struct vg_buf *b)
{
    int fd, rc = VG_OK, saved = 0;

    vg_buf_reset(b);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? VG_ENOENT : VG_EIO;
    for (;;) {
        ssize_t n;

        if (b->len >= NODE_FILE_MAX) {
            saved = EFBIG;
            rc = VG_EIO;
            break;
        }
        if (vg_buf_reserve(b, NODE_READ_CHUNK) != VG_OK) {
            saved = ENOMEM;
            rc = VG_ENOMEM;
            break;
        }
        n = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved = errno;
            rc = VG_EIO;
            break;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    if (b->data != NULL)
        b->data[b->len] = '\0';
    close(fd);
    errno = saved;
    return rc;
}

/* ctx->path into ctx->buf (a file larger than NODE_FILE_MAX is VG_EIO with
 * errno EFBIG). */
static int node_read_path(struct node_ctx *ctx)
{
    return node_read_file(ctx->path, &ctx->buf);
}

/* True when the entry is a regular file; a filesystem that does not say
 * (DT_UNKNOWN) is asked with fstatat. */
static bool node_dir_is_file(int dfd, const struct dirent64 *e)
{
    struct stat st;

    if (e->d_type != DT_UNKNOWN)
        return e->d_type == DT_REG;
    return fstatat(dfd, e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* The entries of one getdents64 answer in d[0..n) from the folder dfd,
 * handed to cb. */
static int node_dir_batch(int dfd, const char *d, size_t n, node_dir_cb cb, void *arg)
{
    size_t off = 0;
    int rc = VG_OK;

    while (off < n && rc == VG_OK) {
        const struct dirent64 *e = (const struct dirent64 *)(const void *)(d + off);

        off += e->d_reclen;
        if (e->d_reclen == 0)
            return VG_EIO;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || node_dir_is_file(dfd, e))
            continue;
        rc = cb(e->d_name, arg);
    }
    return rc;
}

int node_dir_each(struct node_ctx *ctx, const char *root, const char *rel, node_dir_cb cb,
                  void *arg)
{
    /* aligned for struct dirent64; one batch holds ~100 names */
    union {
        struct dirent64 align;
        char d[4096];
    } u;
    int fd, rc = node_path(ctx, root, rel);
    ssize_t n;

    if (rc != VG_OK)
        return rc;
    fd = open(ctx->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? VG_ENOENT : VG_EIO;
    while (rc == VG_OK) {
        n = getdents64(fd, u.d, sizeof(u.d));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? VG_EIO : VG_OK;
            break;
        }
        rc = node_dir_batch(fd, u.d, (size_t)n, cb, arg);
    }
    close(fd);
    return rc;
}

int node_read(struct vg_collector *c, const char *root, const char *rel)
{
    struct node_ctx *ctx = c->ctx;
    int rc = node_path(ctx, root, rel);

    if (rc != VG_OK) {
        vg_collector_fail(c, "path %s/%s too long", root, rel);
        return rc;
    }
    rc = node_read_path(ctx);
    if (rc != VG_OK && rc != VG_ENOENT)
        vg_collector_fail(c, "cannot read %s: %s", ctx->path, vg_errno_str(errno));
    return rc;
}

int node_report(struct vg_collector *c, int rc, const struct node_perr *pe)
{
    struct node_ctx *ctx = c->ctx;

    if (rc == VG_EPARSE) {
        vg_collector_fail(c, "%s:%u: %s", ctx->path, pe->line, pe->what);
        vg_complain(&ctx->complain, VG_LOG_WARN, NODE_PLUGIN, c->name, "%s:%u: %s", ctx->path,
                    pe->line, pe->what);
    } else if (rc == VG_ENOENT) {
        vg_collector_fail(c, "cannot read %s: no such file", ctx->path);
        vg_complain(&ctx->complain, VG_LOG_WARN, NODE_PLUGIN, c->name,
                    "cannot read %s: no such file", ctx->path);
    } else if (rc != VG_OK) {
        vg_complain(&ctx->complain, VG_LOG_WARN, NODE_PLUGIN, c->name, "%s: %s", ctx->path,
                    vg_strerror(rc));
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * cpu and stat: /proc/stat.
 */

static int node_cpu_one(const struct node_cpu_times *t, void *arg)
{
    static const char *const modes[] = {"user",   "nice", "system",  "idle",
                                        "iowait", "irq",  "softirq", "steal"};
    static const char help[] = "Seconds the CPUs spent in each mode.";
    static const char ghelp[] = "Seconds the CPUs spent in guests (VMs) for each mode.";
    struct node_emit_arg *a = arg;
    double hz = a->ctx->user_hz;
    char cpu[16];
    unsigned i;
    int rc = VG_OK;

    snprintf(cpu, sizeof(cpu), "%u", t->cpu);
    for (i = 0; i < VG_ARRAY_LEN(modes) && i < t->n && rc == VG_OK; i++)
        rc = vg_emit_counter(a->emit, "node_cpu_seconds_total", help, (double)t->v[i] / hz, "cpu",
                             cpu, "mode", modes[i], NULL);
    if (rc == VG_OK && t->n > NODE_CPU_GUEST)
        rc = vg_emit_counter(a->emit, "node_cpu_guest_seconds_total", ghelp,
                             (double)t->v[NODE_CPU_GUEST] / hz, "cpu", cpu, "mode", "user", NULL);
    if (rc == VG_OK && t->n > NODE_CPU_GUEST_NICE)
        rc = vg_emit_counter(a->emit, "node_cpu_guest_seconds_total", ghelp,
                             (double)t->v[NODE_CPU_GUEST_NICE] / hz, "cpu", cpu, "mode", "nice",
                             NULL);
    return rc;
}

static int node_collect_cpu(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_emit_arg a = {ctx, emit};
    struct node_perr pe = {0, NULL};
    struct node_stat st;
    int rc = node_read(c, ctx->proc_root, "stat");

    if (rc == VG_OK)
        rc = node_parse_stat(ctx->buf.data, ctx->buf.len, node_cpu_one, &a, &st, &pe);
    return node_report(c, rc, &pe);
}

static int node_collect_stat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_perr pe = {0, NULL};
    struct node_stat st;
    int rc = node_read(c, ctx->proc_root, "stat");

    if (rc == VG_OK)
        rc = node_parse_stat(ctx->buf.data, ctx->buf.len, NULL, NULL, &st, &pe);
    if (rc != VG_OK)
        return node_report(c, rc, &pe);
    if (st.have & NODE_STAT_INTR)
        rc = vg_emit_counter(emit, "node_intr_total", "Total number of interrupts serviced.",
                             (double)st.intr, NULL);
    if (rc == VG_OK && (st.have & NODE_STAT_CTXT))
        rc = vg_emit_counter(emit, "node_context_switches_total",
                             "Total number of context switches.", (double)st.ctxt, NULL);
    if (rc == VG_OK && (st.have & NODE_STAT_PROCESSES))
        rc = vg_emit_counter(emit, "node_forks_total", "Total number of forks.",
                             (double)st.processes, NULL);
    if (rc == VG_OK && (st.have & NODE_STAT_BTIME))
        rc = vg_emit_gauge(emit, "node_boot_time_seconds", "Node boot time, in unixtime.",
                           (double)st.btime, NULL);
    if (rc == VG_OK && (st.have & NODE_STAT_PROCS_RUNNING))
        rc = vg_emit_gauge(emit, "node_procs_running", "Number of processes in runnable state.",
                           (double)st.procs_running, NULL);
    if (rc == VG_OK && (st.have & NODE_STAT_PROCS_BLOCKED))
        rc = vg_emit_gauge(emit, "node_procs_blocked",
                           "Number of processes blocked waiting for I/O to complete.",
                           (double)st.procs_blocked, NULL);
    return rc;
}

/* ------------------------------------------------------------------------
 * meminfo and loadavg.
 */

static int node_meminfo_one(const char *name, double value, void *arg)
{
    struct node_emit_arg *a = arg;
    char help[NODE_METRIC_NAME_MAX + 64];

    /* "Memory information field Active_anon_bytes." */
    snprintf(help, sizeof(help), "Memory information field %s.", name + strlen("node_memory_"));
    return vg_emit_gauge(a->emit, name, help, value, NULL);
}

static int node_collect_meminfo(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_emit_arg a = {ctx, emit};
    struct node_perr pe = {0, NULL};
    int rc = node_read(c, ctx->proc_root, "meminfo");

    if (rc == VG_OK)
        rc = node_parse_meminfo(ctx->buf.data, ctx->buf.len, node_meminfo_one, &a, &pe);
    return node_report(c, rc, &pe);
}

static int node_collect_loadavg(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_perr pe = {0, NULL};
    double load[3];
    int rc = node_read(c, ctx->proc_root, "loadavg");

    if (rc == VG_OK)
        rc = node_parse_loadavg(ctx->buf.data, ctx->buf.len, load, &pe);
    if (rc != VG_OK)
        return node_report(c, rc, &pe);
    rc = vg_emit_gauge(emit, "node_load1", "1m load average.", load[0], NULL);
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, "node_load5", "5m load average.", load[1], NULL);
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, "node_load15", "15m load average.", load[2], NULL);
    return rc;
}

/* ------------------------------------------------------------------------
 * filesystem: statvfs with a time limit.
 */

static void node_job_release(struct node_statfs_job *job)
{
    bool last;

    pthread_mutex_lock(&job->mu);
    last = --job->refs == 0;
    pthread_mutex_unlock(&job->mu);
    if (last) {
        pthread_cond_destroy(&job->cv);
        pthread_mutex_destroy(&job->mu);
        free(job);
    }
}

/* Serves statvfs requests until told to quit; holds one reference. */
static void *node_statfs_thread(void *arg)
{
    struct node_statfs_job *job = arg;
    struct statvfs st;
    int r, e;

    pthread_mutex_lock(&job->mu);
    for (;;) {
        while (!job->pending && !job->quit)
            pthread_cond_wait(&job->cv, &job->mu);
        if (!job->pending)
            break;
        pthread_mutex_unlock(&job->mu);
        memset(&st, 0, sizeof(st));
        r = statvfs(job->path, &st);
        e = r == 0 ? 0 : errno;
        pthread_mutex_lock(&job->mu);
        job->st = st;
        job->err = e;
        job->pending = false;
        pthread_cond_broadcast(&job->cv);
    }
    pthread_mutex_unlock(&job->mu);
    node_job_release(job);
    return NULL;
}

/* A new worker thread, or NULL when one cannot be started. */
static struct node_statfs_job *node_job_create(void)
{
    struct node_statfs_job *job = calloc(1, sizeof(*job));
    pthread_condattr_t ca;
    pthread_attr_t ta;
    pthread_t tid;
    int rc;

    if (job == NULL)
        return NULL;
    pthread_mutex_init(&job->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cv, &ca);
    pthread_condattr_destroy(&ca);
    job->refs = 2;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &ta, node_statfs_thread, job);
    pthread_attr_destroy(&ta);
    if (rc != 0) {
        pthread_cond_destroy(&job->cv);
        pthread_mutex_destroy(&job->mu);
        free(job);
        return NULL;
    }
    return job;
}

/* Tells a worker to end (now, or when its statvfs returns) and drops ours. */
static void node_job_abandon(struct node_statfs_job *job)
{
    pthread_mutex_lock(&job->mu);
    job->quit = true;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    node_job_release(job);
}

/* Forgets stuck workers that came back; true when path is still stuck in one. */
static bool node_stuck_check(struct node_ctx *ctx, const char *path)
{
    bool stuck = false;
    size_t i = 0;

    while (i < ctx->n_stuck) {
        struct node_statfs_job *job = ctx->stuck[i];
        bool back, same;

        pthread_mutex_lock(&job->mu);
        back = !job->pending;
        same = strcmp(job->path, path) == 0;
        pthread_mutex_unlock(&job->mu);
        if (back) {
            node_job_release(job);
            ctx->stuck[i] = ctx->stuck[--ctx->n_stuck];
            continue;
        }
        stuck = stuck || same;
        i++;
    }
    return stuck;
}

/* Waits for the worker's answer until the deadline; true when it came. */
static bool node_job_wait(struct node_statfs_job *job, int64_t timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (job->pending)
        if (pthread_cond_timedwait(&job->cv, &job->mu, &ts) == ETIMEDOUT)
            break;
    return !job->pending;
}

/*
 * statvfs(path) in the worker thread, waiting at most the mount timeout.
 * Returns 0 or an errno value: ETIMEDOUT when the call did not come back
 * in time, or when an earlier call on the same path is still stuck.
 */
static int node_statfs(struct node_ctx *ctx, const char *path, struct statvfs *st)
{
    struct node_statfs_job *job;
    int err;

    if (ctx->mount_timeout_ms <= 0)
        return statvfs(path, st) == 0 ? 0 : errno;
    if (node_stuck_check(ctx, path) || ctx->n_stuck == NODE_STUCK_MAX)
        return ETIMEDOUT;
    if (strlen(path) >= PATH_MAX)
        return ENAMETOOLONG;
    if (ctx->worker == NULL)
        ctx->worker = node_job_create();
    if (ctx->worker == NULL)
        return statvfs(path, st) == 0 ? 0 : errno;
    job = ctx->worker;
    pthread_mutex_lock(&job->mu);
    memcpy(job->path, path, strlen(path) + 1);
    job->pending = true;
    pthread_cond_broadcast(&job->cv);
    if (!node_job_wait(job, ctx->mount_timeout_ms)) {
        job->quit = true;
        pthread_mutex_unlock(&job->mu);
        ctx->stuck[ctx->n_stuck++] = job; /* keeps our reference */
        ctx->worker = NULL;
        return ETIMEDOUT;
    }
    *st = job->st;
    err = job->err;
    pthread_mutex_unlock(&job->mu);
    return err;
}

static void node_jobs_destroy(struct node_ctx *ctx)
{
    size_t i;

    if (ctx->worker != NULL)
        node_job_abandon(ctx->worker);
    ctx->worker = NULL;
    for (i = 0; i < ctx->n_stuck; i++)
        node_job_abandon(ctx->stuck[i]);
    ctx->n_stuck = 0;
}

/* ------------------------------------------------------------------------
 * filesystem: mounts.
 */

bool node_re_match(struct node_ctx *ctx, const pcre2_code *re, const char *s)
{
    if (re == NULL)
        return false;
    return pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, ctx->md, NULL) >= 0;
}

/* True when this label set was already emitted in this collection (the
 * same filesystem mounted twice at one place); remembers it otherwise. */
static bool node_fs_seen(struct node_ctx *ctx, const struct node_mount *m)
{
    static const unsigned char sep = 0xffu; /* no byte of a C string */
    uint64_t h = VG_FNV1A_INIT;
    const char *parts[3] = {m->device, m->mountpoint, m->fstype};
    size_t i;

    for (i = 0; i < 3; i++) {
        h = vg_fnv1a_more(h, parts[i], strlen(parts[i]));
        h = vg_fnv1a_more(h, &sep, 1);
    }
    for (i = 0; i < ctx->n_seen; i++)
        if (ctx->seen[i] == h)
            return true;
    if (ctx->n_seen == ctx->cap_seen) {
        size_t cap = ctx->cap_seen != 0 ? ctx->cap_seen * 2 : 64;
        uint64_t *p = realloc(ctx->seen, cap * sizeof(*p));

        if (p == NULL)
            return false; /* at worst a duplicate series, which the store refuses */
        ctx->seen = p;
        ctx->cap_seen = cap;
    }
    ctx->seen[ctx->n_seen++] = h;
    return false;
}

/* The mount point as node_exporter labels it: without the rootfs prefix. */
static const char *node_fs_label(const struct node_ctx *ctx, const char *mountpoint)
{
    size_t rl = strlen(ctx->rootfs);

    while (rl > 1 && ctx->rootfs[rl - 1] == '/')
        rl--;
    if (rl <= 1 || strncmp(mountpoint, ctx->rootfs, rl) != 0)
        return mountpoint;
    if (mountpoint[rl] == '\0')
        return "/";
    return mountpoint[rl] == '/' ? mountpoint + rl : mountpoint;
}

static int node_fs_emit(struct vg_emit *emit, const struct vg_label *l, const struct statvfs *st,
                        bool ro)
{
    /* f_blocks, f_bfree and f_bavail count fragments of f_frsize bytes */
    double bs = (double)(st->f_frsize != 0 ? st->f_frsize : st->f_bsize);
    static const struct {
        const char *name;
        const char *help;
    } f[] = {
        {"node_filesystem_size_bytes", "Filesystem size in bytes."},
        {"node_filesystem_free_bytes", "Filesystem free space in bytes."},
        {"node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes."},
        {"node_filesystem_files", "Filesystem total file nodes."},
        {"node_filesystem_files_free", "Filesystem total free file nodes."},
        {"node_filesystem_readonly", "Filesystem read-only status."},
    };
    double v[VG_ARRAY_LEN(f)] = {
        (double)st->f_blocks * bs, (double)st->f_bfree * bs, (double)st->f_bavail * bs,
        (double)st->f_files,       (double)st->f_ffree,      ro ? 1.0 : 0.0,
    };
    size_t i;
    int rc = VG_OK;

    for (i = 0; i < VG_ARRAY_LEN(f) && rc == VG_OK; i++)
        rc = vg_emit_series(emit, f[i].name, VG_METRIC_GAUGE, f[i].help, "", l, 3, v[i]);
    return rc;
}

struct node_fs_arg {
    struct vg_collector *c;
    struct vg_emit *emit;
    char path[PATH_MAX];
};

static int node_fs_one(const struct node_mount *m, void *arg)
{
    struct node_fs_arg *a = arg;
    struct node_ctx *ctx = a->c->ctx;
    const char *mp = node_fs_label(ctx, m->mountpoint);
    struct vg_label l[3] = {{"device", m->device}, {"fstype", m->fstype}, {"mountpoint", mp}};
    struct statvfs st;
    int err, rc, n;

    if (node_re_match(ctx, ctx->re_mount_points, mp) ||
        node_re_match(ctx, ctx->re_fs_types, m->fstype) || node_fs_seen(ctx, m))
        return VG_OK;
    n = snprintf(a->path, sizeof(a->path), "%s%s", strcmp(ctx->rootfs, "/") == 0 ? "" : ctx->rootfs,
                 mp);
    err = n < 0 || (size_t)n >= sizeof(a->path) ? ENAMETOOLONG : node_statfs(ctx, a->path, &st);
    rc = vg_emit_series(a->emit, "node_filesystem_device_error", VG_METRIC_GAUGE,
                        "Whether an error occurred while getting statistics for the given device.",
                        "", l, 3, err != 0 ? 1.0 : 0.0);
    if (err != 0) {
        vg_log(VG_LOG_DEBUG, NODE_PLUGIN, a->c->name, "statvfs %s: %s", a->path, vg_errno_str(err));
        return rc;
    }
    return rc == VG_OK ? node_fs_emit(a->emit, l, &st, node_mount_readonly(m->options)) : rc;
}

static int node_collect_filesystem(struct vg_collector *c, struct node_ctx *ctx,
                                   struct vg_emit *emit)
{
    struct node_fs_arg *a = malloc(sizeof(*a));
    struct node_perr pe = {0, NULL};
    int rc;

    if (a == NULL)
        return VG_ENOMEM;
    a->c = c;
    a->emit = emit;
    ctx->n_seen = 0;
    /* the mounts init sees, not ours: we may live in a mount namespace */
    rc = node_read(c, ctx->proc_root, "1/mounts");
    if (rc == VG_ENOENT)
        rc = node_read(c, ctx->proc_root, "mounts");
    if (rc == VG_OK)
        rc = node_parse_mounts(ctx->buf.data, ctx->buf.len, node_fs_one, a, &pe);
    free(a);
    return node_report(c, rc, &pe);
}

/* ------------------------------------------------------------------------
 * netdev and diskstats.
 */

/*
 * Packets dropped for want of a protocol handler: node_exporter reads them
 * over netlink, /proc/net/dev has no column for them, sysfs has them since
 * Linux 4.6. Read into ctx->aux: ctx->buf holds /proc/net/dev meanwhile.
 * Nothing when the file is absent or not a number.
 */
static int node_netdev_nohandler(struct node_emit_arg *a, const char *device)
{
    struct node_ctx *ctx = a->ctx;
    char path[PATH_MAX];
    uint64_t v;
    int n = snprintf(path, sizeof(path), "%s/class/net/%s/statistics/rx_nohandler", ctx->sys_root,
                     device);

    if (n < 0 || (size_t)n >= sizeof(path) || node_read_file(path, &ctx->aux) != VG_OK ||
        node_parse_u64s(ctx->aux.data, ctx->aux.len, &v, 1, NULL) != VG_OK)
        return VG_OK;
    return vg_emit_counter(a->emit, "node_network_receive_nohandler_total",
                           "Network device statistic receive_nohandler.", (double)v, "device",
                           device, NULL);
}

static int node_netdev_one(const char *device, const struct node_netdev_cols *cols,
                           const uint64_t *values, void *arg)
{
    struct node_emit_arg *a = arg;
    char name[NODE_NETDEV_NAME_MAX + 32], help[NODE_NETDEV_NAME_MAX + 64];
    unsigned i;
    int rc = VG_OK;

    for (i = 0; i < cols->n && rc == VG_OK; i++) {
        snprintf(name, sizeof(name), "node_network_%s_total", cols->name[i]);
        snprintf(help, sizeof(help), "Network device statistic %s.", cols->name[i]);
        rc = vg_emit_counter(a->emit, name, help, (double)values[i], "device", device, NULL);
    }
    return rc == VG_OK ? node_netdev_nohandler(a, device) : rc;
}

static int node_collect_netdev(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_emit_arg a = {ctx, emit};
    struct node_perr pe = {0, NULL};
    struct node_netdev_cols cols;
    int rc = node_read(c, ctx->proc_root, "net/dev");

    if (rc == VG_OK)
        rc = node_parse_netdev(ctx->buf.data, ctx->buf.len, &cols, node_netdev_one, &a, &pe);
    return node_report(c, rc, &pe);
}

static const struct node_disk_metric {
    unsigned col;
    const char *name;
    const char *help;
    double scale;
    bool gauge;
} node_disk_metrics[] = {
    {NODE_DISK_READS, "node_disk_reads_completed_total",
     "The total number of reads completed successfully.", 1, false},
    {NODE_DISK_READS_MERGED, "node_disk_reads_merged_total", "The total number of reads merged.", 1,
     false},
    {NODE_DISK_READ_SECTORS, "node_disk_read_bytes_total",
     "The total number of bytes read successfully.", 512, false},
    {NODE_DISK_READ_MS, "node_disk_read_time_seconds_total",
     "The total number of seconds spent by all reads.", 0.001, false},
    {NODE_DISK_WRITES, "node_disk_writes_completed_total",
     "The total number of writes completed successfully.", 1, false},
    {NODE_DISK_WRITES_MERGED, "node_disk_writes_merged_total", "The number of writes merged.", 1,
     false},
    {NODE_DISK_WRITE_SECTORS, "node_disk_written_bytes_total",
     "The total number of bytes written successfully.", 512, false},
    {NODE_DISK_WRITE_MS, "node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", 0.001, false},
    {NODE_DISK_IO_NOW, "node_disk_io_now", "The number of I/Os currently in progress.", 1, true},
    {NODE_DISK_IO_MS, "node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", 0.001,
     false},
    {NODE_DISK_IO_WEIGHTED_MS, "node_disk_io_time_weighted_seconds_total",
     "The weighted # of seconds spent doing I/Os.", 0.001, false},
    {NODE_DISK_DISCARDS, "node_disk_discards_completed_total",
     "The total number of discards completed successfully.", 1, false},
    {NODE_DISK_DISCARDS_MERGED, "node_disk_discards_merged_total",
     "The total number of discards merged.", 1, false},
    {NODE_DISK_DISCARD_SECTORS, "node_disk_discarded_sectors_total",
     "The total number of sectors discarded successfully.", 1, false},
    {NODE_DISK_DISCARD_MS, "node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", 0.001, false},
    {NODE_DISK_FLUSHES, "node_disk_flush_requests_total",
     "The total number of flush requests completed successfully", 1, false},
    {NODE_DISK_FLUSH_MS, "node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", 0.001, false},
};

/* The udev properties node_disk_info carries, from the rootfs's
 * /run/udev/data/b<major>:<minor> when there is one (else empty). */
struct node_udev_info {
    char path[256], wwn[128], model[128], serial[128], revision[64];
};

static void node_udev_read(struct node_ctx *ctx, const struct node_disk *d,
                           struct node_udev_info *u)
{
    char path[PATH_MAX];
    const char *root = strcmp(ctx->rootfs, "/") == 0 ? "" : ctx->rootfs;
    int n = snprintf(path, sizeof(path), "%s/run/udev/data/b%llu:%llu", root,
                     (unsigned long long)d->major, (unsigned long long)d->minor);

    memset(u, 0, sizeof(*u));
    if (n < 0 || (size_t)n >= sizeof(path) || node_read_file(path, &ctx->aux) != VG_OK)
        return;
    node_udev_prop(ctx->aux.data, ctx->aux.len, "ID_PATH", u->path, sizeof(u->path));
    node_udev_prop(ctx->aux.data, ctx->aux.len, "ID_WWN", u->wwn, sizeof(u->wwn));
    node_udev_prop(ctx->aux.data, ctx->aux.len, "ID_MODEL", u->model, sizeof(u->model));
    if (!node_udev_prop(ctx->aux.data, ctx->aux.len, "ID_SERIAL_SHORT", u->serial,
                        sizeof(u->serial)))
        node_udev_prop(ctx->aux.data, ctx->aux.len, "ID_SERIAL", u->serial, sizeof(u->serial));
    node_udev_prop(ctx->aux.data, ctx->aux.len, "ID_REVISION", u->revision, sizeof(u->revision));
}

static int node_disk_info(struct node_emit_arg *a, const struct node_disk *d)
{
    struct node_udev_info u;
    char major[24], minor[24];

    node_udev_read(a->ctx, d, &u);
    snprintf(major, sizeof(major), "%llu", (unsigned long long)d->major);
    snprintf(minor, sizeof(minor), "%llu", (unsigned long long)d->minor);
    return vg_emit_gauge(a->emit, "node_disk_info", "Info of /sys/block/<block_device>.", 1.0,
                         "device", d->name, "major", major, "minor", minor, "model", u.model,
                         "path", u.path, "revision", u.revision, "serial", u.serial, "wwn", u.wwn,
                         NULL);
}

static int node_disk_one(const struct node_disk *d, void *arg)
{
    struct node_emit_arg *a = arg;
    struct vg_label l = {"device", d->name};
    size_t i;
    int rc;

    if (node_re_match(a->ctx, a->ctx->re_disk, d->name))
        return VG_OK;
    rc = node_disk_info(a, d);
    for (i = 0; i < VG_ARRAY_LEN(node_disk_metrics) && rc == VG_OK; i++) {
        const struct node_disk_metric *m = &node_disk_metrics[i];

        if (m->col >= d->n)
            continue;
        rc = vg_emit_series(a->emit, m->name, m->gauge ? VG_METRIC_GAUGE : VG_METRIC_COUNTER,
                            m->help, "", &l, 1, (double)d->v[m->col] * m->scale);
    }
    return rc;
}

static int node_collect_diskstats(struct vg_collector *c, struct node_ctx *ctx,
                                  struct vg_emit *emit)
{
    struct node_emit_arg a = {ctx, emit};
    struct node_perr pe = {0, NULL};
    int rc = node_read(c, ctx->proc_root, "diskstats");

    if (rc == VG_OK)
        rc = node_parse_diskstats(ctx->buf.data, ctx->buf.len, node_disk_one, &a, &pe);
    return node_report(c, rc, &pe);
}

/* ------------------------------------------------------------------------
 * pressure and uname.
 */

static const struct node_psi_source {
    const char *file;
    const char *some_name, *some_help;
    const char *full_name, *full_help; /* NULL: not exported, as node_exporter */
} node_psi_sources[] = {
    {"pressure/cpu", "node_pressure_cpu_waiting_seconds_total",
     "Total time in seconds that processes have waited for CPU time", NULL, NULL},
    {"pressure/memory", "node_pressure_memory_waiting_seconds_total",
     "Total time in seconds that processes have waited for memory",
     "node_pressure_memory_stalled_seconds_total",
     "Total time in seconds no process could make progress due to memory congestion"},
    {"pressure/io", "node_pressure_io_waiting_seconds_total",
     "Total time in seconds that processes have waited due to IO congestion",
     "node_pressure_io_stalled_seconds_total",
     "Total time in seconds no process could make progress due to IO congestion"},
};

/* Returns NODE_NO_DATA (not an error) when the kernel has no PSI:
 * no such file, or EOPNOTSUPP when booted with psi=0. */
static int node_collect_pressure(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_perr pe = {0, NULL};
    struct node_psi psi;
    size_t i;
    int rc = VG_OK;

    for (i = 0; i < VG_ARRAY_LEN(node_psi_sources) && rc == VG_OK; i++) {
        const struct node_psi_source *s = &node_psi_sources[i];

        rc = node_path(ctx, ctx->proc_root, s->file);
        if (rc == VG_OK)
            rc = node_read_path(ctx);
        if (rc == VG_ENOENT || (rc == VG_EIO && errno == EOPNOTSUPP))
            return NODE_NO_DATA;
        if (rc != VG_OK) {
            vg_collector_fail(c, "cannot read %s: %s", ctx->path, vg_errno_str(errno));
            return node_report(c, rc, &pe);
        }
        rc = node_parse_pressure(ctx->buf.data, ctx->buf.len, &psi, &pe);
        if (rc != VG_OK)
            return node_report(c, rc, &pe);
        rc = vg_emit_counter(emit, s->some_name, s->some_help, (double)psi.some_total_us / 1e6,
                             NULL);
        if (rc == VG_OK && s->full_name != NULL && psi.has_full)
            rc = vg_emit_counter(emit, s->full_name, s->full_help, (double)psi.full_total_us / 1e6,
                                 NULL);
    }
    return rc;
}

struct node_uts {
    char sysname[NODE_UTS_MAX], nodename[NODE_UTS_MAX], release[NODE_UTS_MAX];
    char version[NODE_UTS_MAX], machine[NODE_UTS_MAX], domainname[NODE_UTS_MAX];
};

/* The identity from <proc_root>/sys/kernel/, so that a fixture tree decides it.
 * Kernels before 6.1 have no sys/kernel/arch: the machine is then ours. */
static int node_uts_from_proc(struct vg_collector *c, struct node_ctx *ctx, struct node_uts *u)
{
    struct utsname un;
    const struct {
        const char *file;
        char *out;
    } f[] = {
        {"sys/kernel/ostype", u->sysname},    {"sys/kernel/hostname", u->nodename},
        {"sys/kernel/osrelease", u->release}, {"sys/kernel/version", u->version},
        {"sys/kernel/arch", u->machine},      {"sys/kernel/domainname", u->domainname},
    };
    size_t i;
    int rc;

    for (i = 0; i < VG_ARRAY_LEN(f); i++) {
        rc = node_read(c, ctx->proc_root, f[i].file);
        if (rc == VG_ENOENT && f[i].out == u->machine && uname(&un) == 0) {
            snprintf(u->machine, NODE_UTS_MAX, "%s", un.machine);
            continue;
        }
        if (rc != VG_OK)
            return rc;
        if (node_copy_trimmed(ctx->buf.data, ctx->buf.len, f[i].out, NODE_UTS_MAX) != VG_OK) {
            vg_collector_fail(c, "%s: value too long", ctx->path);
            return VG_EPARSE;
        }
    }
    return VG_OK;
}

static int node_uts_from_uname(struct vg_collector *c, struct node_uts *u)
{
    struct utsname un;

    if (uname(&un) != 0) {
        vg_collector_fail(c, "uname: %s", vg_errno_str(errno));
        return VG_EIO;
    }
    snprintf(u->sysname, sizeof(u->sysname), "%s", un.sysname);
    snprintf(u->nodename, sizeof(u->nodename), "%s", un.nodename);
    snprintf(u->release, sizeof(u->release), "%s", un.release);
    snprintf(u->version, sizeof(u->version), "%s", un.version);
    snprintf(u->machine, sizeof(u->machine), "%s", un.machine);
    snprintf(u->domainname, sizeof(u->domainname), "%s", un.domainname);
    return VG_OK;
}

static int node_collect_uname(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit)
{
    struct node_uts u;
    int rc = ctx->real_proc ? node_uts_from_uname(c, &u) : node_uts_from_proc(c, ctx, &u);

    if (rc == VG_ENOENT)
        return node_report(c, rc, NULL);
    if (rc != VG_OK)
        return rc;
    return vg_emit_gauge(emit, "node_uname_info",
                         "Labeled system information as provided by the uname system call.", 1.0,
                         "domainname", u.domainname, "machine", u.machine, "nodename", u.nodename,
                         "release", u.release, "sysname", u.sysname, "version", u.version, NULL);
}

/* ------------------------------------------------------------------------
 * The plugin.
 */

static const struct node_sub {
    const char *name;
    node_sub_fn fn;
} node_subs[] = {
    {"cpu", node_collect_cpu},
    {"stat", node_collect_stat},
    {"meminfo", node_collect_meminfo},
    {"loadavg", node_collect_loadavg},
    {"filesystem", node_collect_filesystem},
    {"netdev", node_collect_netdev},
    {"diskstats", node_collect_diskstats},
    {"pressure", node_collect_pressure},
    {"uname", node_collect_uname},
    {"netclass", node_collect_netclass},
    {"netstat", node_collect_netstat},
    {"sockstat", node_collect_sockstat},
    {"conntrack", node_collect_conntrack},
    {"arp", node_collect_arp},
    {"softnet", node_collect_softnet},
    {"udp_queues", node_collect_udp_queues},
    {"time", node_collect_time},
    {"timex", node_collect_timex},
    {"filefd", node_collect_filefd},
    {"vmstat", node_collect_vmstat},
    {"os", node_collect_os},
    {"selinux", node_collect_selinux},
};

/* Compiles pattern (NULL or empty: *re stays NULL, nothing excluded). */
static int node_re_compile(const char *option, const char *pattern, pcre2_code **re,
                           struct vg_error *err)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off = 0;
    int code = 0;

    *re = NULL;
    if (pattern == NULL || pattern[0] == '\0')
        return VG_OK;
    *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (*re != NULL)
        return VG_OK;
    pcre2_get_error_message(code, msg, sizeof(msg));
    return vg_error_set(err, VG_ECONFIG, "option %s: invalid regex at offset %zu: %s", option,
                        (size_t)off, (const char *)msg);
}

/* The index in node_subs of a sub-collector's name, or VG_ARRAY_LEN(node_subs). */
static size_t node_sub_index(const char *name)
{
    size_t k;

    for (k = 0; k < VG_ARRAY_LEN(node_subs); k++)
        if (strcmp(name, node_subs[k].name) == 0)
            break;
    return k;
}

/* The check callback: roots that are not empty, known sub-collectors and
 * regexes that compile (compiled here and freed again). */
static int node_check(const void *c, struct vg_check *chk)
{
    const struct node_ctx *ctx = c;
    const char *const roots[][2] = {
        {"proc_root", ctx->proc_root}, {"sys_root", ctx->sys_root}, {"rootfs", ctx->rootfs}};
    const char *const res[][2] = {{"filesystem_exclude_fs_types", ctx->fs_types_exclude},
                                  {"filesystem_exclude_mount_points", ctx->mount_points_exclude},
                                  {"disk_exclude_devices", ctx->disk_exclude},
                                  {"vmstat_fields", ctx->vmstat_fields},
                                  {"netstat_fields", ctx->netstat_fields}};
    struct vg_error err = {0};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(roots); i++)
        if (roots[i][1] == NULL || roots[i][1][0] == '\0')
            vg_check_error(chk, roots[i][0], "option '%s': must not be empty", roots[i][0]);
    for (i = 0; i < ctx->collectors.n; i++)
        if (node_sub_index(ctx->collectors.v[i]) == VG_ARRAY_LEN(node_subs))
            vg_check_error(
                chk, "collectors",
                "option 'collectors': unknown sub-collector '%s' (one of: " NODE_SUB_NAMES ")",
                ctx->collectors.v[i]);
    for (i = 0; i < VG_ARRAY_LEN(res); i++) {
        pcre2_code *re = NULL;

        if (node_re_compile(res[i][0], res[i][1], &re, &err) != VG_OK)
            vg_check_error(chk, res[i][0], "%s", err.msg);
        pcre2_code_free(re);
    }
    return VG_OK; /* what it found is in chk */
}

/* The enabled set from the `collectors` option; an unknown name is an error. */
static int node_pick(struct node_ctx *ctx, struct vg_error *err)
{
    size_t i, k;

    if (ctx->collectors.n == 0) {
        ctx->enabled = (1u << VG_ARRAY_LEN(node_subs)) - 1;
        return VG_OK;
    }
    ctx->enabled = 0;
    for (i = 0; i < ctx->collectors.n; i++) {
        const char *want = ctx->collectors.v[i];

        for (k = 0; k < VG_ARRAY_LEN(node_subs); k++)
            if (strcmp(want, node_subs[k].name) == 0)
                break;
        if (k == VG_ARRAY_LEN(node_subs))
            return vg_error_set(
                err, VG_ECONFIG,
                "option collectors: unknown sub-collector '%s' (one of: " NODE_SUB_NAMES ")", want);
        ctx->enabled |= 1u << k;
    }
    return VG_OK;
}

static void node_destroy(struct vg_collector *c)
{
    struct node_ctx *ctx = c->ctx;

    if (ctx == NULL)
        return;
    node_jobs_destroy(ctx);
    pcre2_code_free(ctx->re_fs_types);
    pcre2_code_free(ctx->re_mount_points);
    pcre2_code_free(ctx->re_disk);
    pcre2_code_free(ctx->re_vmstat);
    pcre2_code_free(ctx->re_netstat);
    pcre2_match_data_free(ctx->md);
    ctx->re_fs_types = ctx->re_mount_points = ctx->re_disk = NULL;
    ctx->re_vmstat = ctx->re_netstat = NULL;
    ctx->md = NULL;
    vg_buf_free(&ctx->buf);
    vg_buf_free(&ctx->aux);
    free(ctx->seen);
    ctx->seen = NULL;
    ctx->n_seen = ctx->cap_seen = 0;
}

/* Validates options and compiles the regexes; on error everything it made
 * is freed again and err says which option is wrong. */
/* The start line: which sub-collectors read which roots, how often. */
static void node_log_start(const struct vg_collector *c, const struct node_ctx *ctx)
{
    struct vg_buf subs;
    char every[32];
    size_t k;

    vg_buf_init(&subs);
    for (k = 0; k < VG_ARRAY_LEN(node_subs); k++)
        if (ctx->enabled & (1u << k))
            vg_buf_printf(&subs, "%s%s", subs.len > 0 ? " " : "", node_subs[k].name);
    vg_duration_text(c->interval_ms, every, sizeof(every));
    vg_log(VG_LOG_INFO, NODE_PLUGIN, c->name,
           "collecting %s from %s and %s (filesystems under %s) every %s",
           subs.data != NULL ? subs.data : "", ctx->proc_root, ctx->sys_root, ctx->rootfs, every);
    vg_buf_free(&subs);
}

static int node_init(struct vg_collector *c, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct node_ctx *ctx = c->ctx;
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    int rc;

    vg_buf_init(&ctx->buf);
    vg_buf_init(&ctx->aux);
    if (ctx->proc_root == NULL || ctx->proc_root[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "option proc_root: must not be empty");
    if (ctx->sys_root == NULL || ctx->sys_root[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "option sys_root: must not be empty");
    if (ctx->rootfs == NULL || ctx->rootfs[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "option rootfs: must not be empty");
    if (ctx->mount_timeout_ms < 0)
        return vg_error_set(err, VG_ECONFIG, "option filesystem_mount_timeout: must be >= 0");
    rc = node_pick(ctx, err);
    if (rc == VG_OK)
        rc = node_re_compile("filesystem_exclude_fs_types", ctx->fs_types_exclude,
                             &ctx->re_fs_types, err);
    if (rc == VG_OK)
        rc = node_re_compile("filesystem_exclude_mount_points", ctx->mount_points_exclude,
                             &ctx->re_mount_points, err);
    if (rc == VG_OK)
        rc = node_re_compile("disk_exclude_devices", ctx->disk_exclude, &ctx->re_disk, err);
    if (rc == VG_OK)
        rc = node_re_compile("vmstat_fields", ctx->vmstat_fields, &ctx->re_vmstat, err);
    if (rc == VG_OK)
        rc = node_re_compile("netstat_fields", ctx->netstat_fields, &ctx->re_netstat, err);
    if (rc == VG_OK) {
        ctx->md = pcre2_match_data_create(1, NULL);
        if (ctx->md == NULL)
            rc = vg_error_set(err, VG_ENOMEM, "out of memory");
    }
    if (rc != VG_OK) {
        node_destroy(c);
        return rc;
    }
    ctx->user_hz = hz > 0 ? (double)hz : 100.0;
    ctx->page_size = page > 0 ? (double)page : 4096.0;
    ctx->real_proc = strcmp(ctx->proc_root, "/proc") == 0 || strcmp(ctx->proc_root, "/proc/") == 0;
    node_log_start(c, ctx);
    return VG_OK;
}

/*
 * Runs every enabled sub-collector and reports each one's success and
 * duration. Fails only when some failed and none succeeded; a source the
 * kernel does not have (pressure) is no data, neither success nor failure.
 */
static int node_collect(struct vg_collector *c, struct vg_emit *emit)
{
    struct node_ctx *ctx = c->ctx;
    unsigned ok = 0, failed = 0;
    int last = VG_OK;
    size_t k;

    for (k = 0; k < VG_ARRAY_LEN(node_subs); k++) {
        const char *name = node_subs[k].name;
        int64_t t0;
        int rc;

        if (!(ctx->enabled & (1u << k)))
            continue;
        t0 = vg_mono_ns();
        rc = node_subs[k].fn(c, ctx, emit);
        if (rc == VG_OK) {
            ok++;
        } else if (rc != NODE_NO_DATA) {
            failed++;
            last = rc;
        }
        vg_emit_gauge(emit, "node_scrape_collector_duration_seconds",
                      "node_exporter: Duration of a collector scrape.",
                      (double)(vg_mono_ns() - t0) / 1e9, "collector", name, NULL);
        vg_emit_gauge(emit, "node_scrape_collector_success",
                      "node_exporter: Whether a collector succeeded.", rc == VG_OK ? 1.0 : 0.0,
                      "collector", name, NULL);
    }
    if (failed == 0)
        vg_complain_clear(&ctx->complain, NODE_PLUGIN, c->name, "every source");
    return ok == 0 && failed > 0 ? last : VG_OK;
}

const struct vg_collector_ops vg_collector_node = {
    .name = "node",
    .doc = "host metrics from /proc under node_exporter's names (cpu, memory, disks, network...)",
    .options = node_options,
    .ctx_size = sizeof(struct node_ctx),
    .default_interval_ms = 15000,
    .check = node_check,
    .init = node_init,
    .collect = node_collect,
    .destroy = node_destroy,
};

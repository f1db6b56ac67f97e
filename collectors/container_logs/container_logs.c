/*
 * container_logs.c - the container_logs collector: follows container log
 * files (CRI, Docker json-file, or plain lines), decodes and joins them,
 * and emits one record per message, without losing or repeating a line
 * across rotations and restarts.
 *
 * Each collect: drain inotify, rescan the patterns when due (or when a
 * folder changed), read rotated files to their end, then the others, up to
 * a byte budget; flush what timed out; write the checkpoint when due. The
 * engine calls collect when inotify has events, at the interval, and as
 * soon as the outputs have room again after a pause.
 *
 * Split across files: container_logs_scan.c (discovery, rotation, inotify),
 * container_logs_read.c (reading, decoding, records), container_logs_ckpt.c
 * (checkpoints), container_logs_parse.c (pure parsing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "alloc.h"
#include "container_logs.h"

static const struct vg_option clog_options[] = {
    {"paths", VG_OPT_STRLIST, "/var/log/containers/*.log", offsetof(struct clog_ctx, paths),
     "glob patterns of the files to follow (symlinks followed)", 0, NULL},
    {"exclude", VG_OPT_STRLIST, NULL, offsetof(struct clog_ctx, exclude),
     "glob patterns of files to leave alone (full path, or base name without '/')", 0, NULL},
    {"format", VG_OPT_ENUM, "auto", offsetof(struct clog_ctx, format),
     "line format; auto decides per file from its first line", 0, "auto|cri|docker|raw"},
    {"read_from", VG_OPT_ENUM, "head", offsetof(struct clog_ctx, read_from),
     "where a file with no checkpoint is read from", 0, "head|tail"},
    {"ignore_older", VG_OPT_DURATION, "24h", offsetof(struct clog_ctx, ignore_older_ms),
     "files not modified for this long when first seen are skipped; 0: none", 0, NULL},
    {"max_open_files", VG_OPT_INT, "1024", offsetof(struct clog_ctx, max_open_files),
     "idle files are closed beyond this many, and reopened when they grow", VG_OPT_MIN, NULL, 1, 0},
    {"rescan_interval", VG_OPT_DURATION, "10s", offsetof(struct clog_ctx, rescan_ms),
     "patterns are matched again this often (inotify finds new files sooner)", VG_OPT_MIN, NULL, 1,
     0},
    {"max_line_bytes", VG_OPT_SIZE, "1MiB", offsetof(struct clog_ctx, max_line_bytes),
     "longer lines (and joined messages) are cut and marked truncated=true", VG_OPT_RANGE, NULL, 16,
     INT64_C(1) << 30},
    {"partial_timeout", VG_OPT_DURATION, "2s", offsetof(struct clog_ctx, partial_timeout_ms),
     "a line or fragment without its end is emitted alone once the file stops growing this long", 0,
     NULL},
    {"rotate_wait", VG_OPT_DURATION, "5s", offsetof(struct clog_ctx, rotate_wait_ms),
     "a rotated or deleted file is closed after this long without growth", 0, NULL},
    {"checkpoint_interval", VG_OPT_DURATION, "1s", offsetof(struct clog_ctx, checkpoint_ms),
     "how often delivered positions are written to state_dir/checkpoints", VG_OPT_MIN, NULL, 1, 0},
    {"multiline.preset", VG_OPT_ENUM, NULL, offsetof(struct clog_ctx, ml_preset),
     "join stack traces: java, python or go", 0, "java|python|go"},
    {"multiline.start", VG_OPT_STR, NULL, offsetof(struct clog_ctx, ml_start),
     "PCRE2 pattern of the first line of a message", 0, NULL},
    {"multiline.continue", VG_OPT_STR, NULL, offsetof(struct clog_ctx, ml_cont),
     "PCRE2 pattern of the lines that continue a message", 0, NULL},
    {"multiline.timeout", VG_OPT_DURATION, "1s", offsetof(struct clog_ctx, ml_timeout_ms),
     "a message is emitted when no line came for this long", 0, NULL},
    {"multiline.max_lines", VG_OPT_INT, "500", offsetof(struct clog_ctx, ml_max_lines),
     "a message is emitted once it has this many lines", VG_OPT_MIN, NULL, 0, 0},
    {"multiline.max_bytes", VG_OPT_SIZE, "1MiB", offsetof(struct clog_ctx, ml_max_bytes),
     "a message is cut beyond this many bytes (truncated=true)", 0, NULL},
    {"kubernetes", VG_OPT_BOOL, "true", offsetof(struct clog_ctx, kubernetes),
     "add namespace, pod, container and their ids from kubelet's and Docker's paths", 0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static enum clog_format clog_format_parse(const char *s)
{
    if (s == NULL || strcmp(s, "auto") == 0)
        return CLOG_FMT_AUTO;
    if (strcmp(s, "cri") == 0)
        return CLOG_FMT_CRI;
    if (strcmp(s, "docker") == 0)
        return CLOG_FMT_DOCKER;
    return CLOG_FMT_RAW;
}

/* Compiles the multiline rules the options describe into *out (NULL when
 * none are set). */
static int clog_multiline_compile(const struct clog_ctx *x, struct vg_multiline_rules **out,
                                  struct vg_error *err)
{
    struct vg_multiline_settings s = {
        .preset = x->ml_preset,
        .start = x->ml_start,
        .cont = x->ml_cont,
        .timeout_ms = x->ml_timeout_ms,
        .max_lines = (uint64_t)x->ml_max_lines,
        .max_bytes = x->ml_max_bytes,
    };

    *out = NULL;
    if (x->ml_preset == NULL && x->ml_start == NULL && x->ml_cont == NULL)
        return VG_OK;
    return vg_multiline_compile(&s, out, err);
}

/* The multiline option a compile error is about, for its line. */
static const char *clog_multiline_option(const struct clog_ctx *x, const char *msg)
{
    if (strstr(msg, "multiline start pattern") != NULL)
        return "multiline.start";
    if (strstr(msg, "multiline continue pattern") != NULL)
        return "multiline.continue";
    return x->ml_preset != NULL ? "multiline.preset" : "multiline";
}

/* Warns when the fixed folder a pattern starts from (what comes before its
 * first wildcard) does not exist. */
static void clog_check_folder(struct vg_check *chk, const char *pattern)
{
    char why[PATH_MAX + 64];

    if (pattern[0] != '/' || strlen(pattern) >= PATH_MAX)
        return;
    snprintf(why, sizeof(why), "nothing matches '%s' until it does", pattern);
    vg_check_parent_folder(chk, "paths", pattern, strcspn(pattern, "*?["), why);
}

/* The check callback: what the option table cannot declare (its ranges
 * cover the numbers); the multiline patterns are compiled and dropped. */
static int clog_check(const void *ctx, struct vg_check *chk)
{
    const struct clog_ctx *x = ctx;
    struct vg_multiline_rules *rules = NULL;
    struct vg_error err = {0};
    int rc = VG_OK;
    size_t i;

    if (x->paths.n == 0) {
        vg_check_error(chk, "paths", "option 'paths': at least one pattern is needed");
        rc = VG_ECONFIG;
    }
    for (i = 0; i < x->paths.n; i++)
        clog_check_folder(chk, x->paths.v[i]);
    if (clog_multiline_compile(x, &rules, &err) != VG_OK) {
        const char *opt = clog_multiline_option(x, err.msg);

        vg_check_error(chk, opt, "option '%s': %s", opt, err.msg);
        rc = VG_ECONFIG;
    }
    vg_multiline_rules_destroy(rules);
    return rc;
}

static int clog_multiline_init(struct clog_ctx *x, struct vg_error *err)
{
    return clog_multiline_compile(x, &x->ml_rules, err);
}

/*
 * Lets max_open_files descriptors be open and keeps CLOG_FD_RESERVE more
 * for the rest of the agent (outputs, HTTP clients, checkpoints, dead
 * letters): the soft limit is raised toward the hard one, and when that is
 * not enough max_open_files is lowered to fit, with a warning. Without the
 * reserve, followed files took every descriptor and the outputs could not
 * open theirs.
 */
static void clog_fit_nofile(struct clog_ctx *x)
{
    rlim_t want = (rlim_t)x->max_open_files + CLOG_FD_RESERVE;
    struct rlimit rl;
    int64_t fit;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur >= want)
        return;
    fit = rl.rlim_cur > 2 * CLOG_FD_RESERVE ? (int64_t)(rl.rlim_cur - CLOG_FD_RESERVE)
                                            : (int64_t)(rl.rlim_cur / 2);
    if (fit < 1)
        fit = 1;
    vg_log(VG_LOG_WARN, CLOG_PLUGIN, x->c->name,
           "open file limit is %llu (hard %llu): max_open_files lowered from %lld to %lld, "
           "keeping %llu descriptors for outputs, HTTP clients and checkpoints; raise "
           "LimitNOFILE (or ulimit -n) to follow more files at once",
           (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
           (long long)x->max_open_files, (long long)fit,
           (unsigned long long)(rl.rlim_cur - (rlim_t)fit));
    x->max_open_files = fit;
}

static int clog_init(struct vg_collector *c, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct clog_ctx *x = c->ctx;
    int rc;

    x->c = c;
    x->inotify_fd = -1;
    x->hold_off = UINT64_MAX;
    x->wake_due_ns = INT64_MAX;
    x->mono = vg_mono_ns;
    x->real = vg_now_ns;
    x->budget = CLOG_BUDGET;
    rc = clog_multiline_init(x, err);
    if (rc != VG_OK)
        return rc;
    x->fmt = clog_format_parse(x->format);
    x->buf_cap = CLOG_READ_CHUNK + (size_t)x->max_line_bytes;
    x->buf = vg_malloc(x->buf_cap);
    if (x->buf == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory for a %zu-byte read buffer", x->buf_cap);
    vg_buf_init(&x->scratch);
    clog_fit_nofile(x);
    rc = clog_ckpt_load(x, err);
    if (rc == VG_OK)
        rc = clog_scan_init(x, err);
    return rc;
}

/* Reads the files that may have grown: rotated ones first, so that the
 * end of a rotated file comes out before the start of its successor. */
static void clog_read_all(struct clog_ctx *x, int64_t now_ns, bool poll)
{
    uint64_t budget = x->budget;
    struct clog_file *f;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        for (f = x->files; f != NULL; f = f->next) {
            if ((f->rotated_ns != 0) != (pass == 0) || f->fd < 0 || f->shadow)
                continue;
            if (!f->dirty && !poll && f->rotated_ns == 0)
                continue;
            f->dirty = false;
            if (!clog_read_file(x, f, now_ns, &budget)) {
                f->dirty = true; /* paused: the engine calls again when there is room */
                return;
            }
            if (budget == 0) {
                f->dirty = true; /* it may hold more: go on at once */
                clog_wake(x, 0);
                return;
            }
        }
    }
}

/* Timeouts, rotated files done, and the wake-up for the next deadline. */
static void clog_housekeep(struct clog_ctx *x, int64_t now_ns)
{
    int64_t next = INT64_MAX, d;
    struct clog_file *f, *nx;

    for (f = x->files; f != NULL; f = nx) {
        nx = f->next;
        clog_flush_file(x, f, now_ns, false);
        if (f->rotated_ns != 0 && f->read_off >= f->size &&
            now_ns - f->grew_ns >= x->rotate_wait_ms * VG_NS_PER_MS &&
            now_ns - f->rotated_ns >= x->rotate_wait_ms * VG_NS_PER_MS) {
            clog_flush_file(x, f, now_ns, true);
            clog_file_retire(x, f, now_ns);
            continue;
        }
        d = clog_file_deadline(x, f);
        if (f->rotated_ns != 0 && f->grew_ns + x->rotate_wait_ms * VG_NS_PER_MS < d)
            d = f->grew_ns + x->rotate_wait_ms * VG_NS_PER_MS;
        if (f->shadow && f->shadow_ns + x->rotate_wait_ms * VG_NS_PER_MS < d)
            d = f->shadow_ns + x->rotate_wait_ms * VG_NS_PER_MS;
        if (d < next)
            next = d;
    }
    clog_limit_open(x);
    if (next != INT64_MAX)
        clog_wake(x, next > now_ns ? (next - now_ns) / VG_NS_PER_MS + 1 : 0);
}

static void clog_emit_metrics(struct clog_ctx *x, struct vg_emit *emit)
{
    const char *n = x->c->name;

    vg_emit_counter(emit, "vigil_log_decode_errors_total",
                    "Log lines that did not decode in their format (sent raw, decode_error=true).",
                    (double)x->decode_errors, "collector", n, NULL);
    vg_emit_counter(emit, "vigil_log_truncated_total",
                    "Log messages cut at max_line_bytes (sent with truncated=true).",
                    (double)x->truncations, "collector", n, NULL);
    vg_emit_counter(emit, "vigil_log_rotations_total",
                    "Followed files that were rotated, truncated or deleted.", (double)x->rotations,
                    "collector", n, NULL);
    vg_emit_gauge(emit, "vigil_log_files", "Log files followed.", (double)x->n_files, "collector",
                  n, NULL);
    vg_emit_gauge(emit, "vigil_log_files_open", "Log files held open.", (double)x->n_open,
                  "collector", n, NULL);
    vg_emit_gauge(emit, "vigil_log_files_unreadable",
                  "Log files and folders matched by the patterns that the agent may not read.",
                  (double)x->n_unreadable, "collector", n, NULL);
    vg_emit_counter(emit, "vigil_log_lost_bytes_total",
                    "Bytes of log files that were gone before they could be read.",
                    (double)x->lost_rotated_bytes, "collector", n, "reason", "rotated_away", NULL);
    vg_emit_counter(emit, "vigil_log_rotated_found_total",
                    "Rotated-away files found again in their folder and read to their end.",
                    (double)x->recovered[0], "collector", n, "compression", "none", NULL);
    vg_emit_counter(emit, "vigil_log_rotated_found_total",
                    "Rotated-away files found again in their folder and read to their end.",
                    (double)x->recovered[1], "collector", n, "compression", "gzip", NULL);
    vg_emit_counter(emit, "vigil_log_read_retries_total",
                    "Log lines put back and read again later because memory ran out.",
                    (double)x->nomem_retries, "collector", n, "reason", "out_of_memory", NULL);
}

void clog_wake(struct clog_ctx *x, int64_t ms)
{
    int64_t at = vg_add_sat(x->mono(), vg_ms_to_ns_sat(ms));

    if (at < x->wake_due_ns)
        x->wake_due_ns = at;
    vg_collector_wake(x->c, ms);
}

/* A collect has nothing to do when its events concerned no followed file
 * and no wake-up, poll, rescan or checkpoint is due: busy files that are
 * not followed then cost an inotify read, not a walk of every file. */
static bool clog_idle_wake(const struct clog_ctx *x, bool relevant, int64_t now)
{
    return !relevant && !x->need_rescan && !x->deferred && !x->held && now < x->wake_due_ns &&
           now < x->poll_due_ns && now < x->rescan_due_ns && now < x->ckpt_due_ns;
}

/* Rescans when one is due: every rescan_interval, and on events, at most
 * every CLOG_RESCAN_GAP_NS and CLOG_RESCAN_SHARE times the cost of the last
 * scan (a deep pattern that takes 50 ms to expand rescans at most every
 * 500 ms). True when it scanned. */
static bool clog_maybe_scan(struct clog_ctx *x, int64_t now)
{
    int64_t gap = x->scan_cost_ns > CLOG_RESCAN_GAP_NS / CLOG_RESCAN_SHARE
                      ? x->scan_cost_ns * CLOG_RESCAN_SHARE
                      : CLOG_RESCAN_GAP_NS;

    if (now < x->rescan_due_ns && !(x->need_rescan && now - x->scan_done_ns >= gap)) {
        if (x->need_rescan)
            clog_wake(x, (x->scan_done_ns + gap - now) / VG_NS_PER_MS + 1);
        return false;
    }
    clog_scan(x, now);
    x->need_rescan = false;
    x->scan_done_ns = x->mono();
    x->scan_cost_ns = x->scan_done_ns - now;
    x->rescan_due_ns = now + x->rescan_ms * VG_NS_PER_MS;
    return true;
}

static int clog_collect(struct vg_collector *c, struct vg_emit *emit)
{
    struct clog_ctx *x = c->ctx;
    int64_t now = x->mono();
    bool poll = now >= x->poll_due_ns, relevant;

    x->emit = emit;
    relevant = clog_inotify_drain(x);
    if (clog_idle_wake(x, relevant, now)) {
        clog_emit_metrics(x, emit);
        x->emit = NULL;
        return VG_OK;
    }
    x->wake_due_ns = INT64_MAX;
    x->held = false;
    if (clog_maybe_scan(x, now))
        poll = true;
    if (poll)
        x->poll_due_ns = now + VG_NS_PER_SEC;
    clog_release_shadows(x, now);
    if (!vg_emit_paused(emit))
        clog_read_all(x, now, poll);
    if (!vg_emit_paused(emit))
        clog_housekeep(x, now);
    x->held = vg_emit_paused(emit);
    if (x->deferred) {
        x->need_rescan = true; /* now that read files were closed */
        clog_wake(x, 0);
    }
    if (now >= x->ckpt_due_ns) {
        clog_ckpt_write(x);
        x->ckpt_due_ns = now + x->checkpoint_ms * VG_NS_PER_MS;
    }
    clog_emit_metrics(x, emit);
    x->emit = NULL;
    return VG_OK;
}

static void clog_collector_ack(struct vg_collector *c, const struct vg_ack *ack)
{
    clog_ack(c->ctx, ack);
}

static void clog_destroy(struct vg_collector *c)
{
    struct clog_ctx *x = c->ctx;

    if (x->ckpt_loaded)
        clog_ckpt_write(x);
    clog_scan_fini(x);
    vg_multiline_rules_destroy(x->ml_rules);
    free(x->buf);
    vg_buf_free(&x->scratch);
}

const struct vg_collector_ops vg_collector_container_logs = {
    .name = "container_logs",
    .doc = "follows container log files (CRI, Docker json-file, plain) through rotations",
    .records = true,
    .options = clog_options,
    .ctx_size = sizeof(struct clog_ctx),
    .default_interval_ms = 1000,
    .check = clog_check,
    .init = clog_init,
    .collect = clog_collect,
    .ack = clog_collector_ack,
    .destroy = clog_destroy,
};

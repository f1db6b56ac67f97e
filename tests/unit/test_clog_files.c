/*
 * test_clog_files.c - the container_logs collector's reading and discovery
 * on real files in a temporary folder, step by step and deterministically:
 * the clocks are injected, scans are asked for, each collect's records are
 * taken from the sink, and acknowledgements are delivered (or held back)
 * by hand. Rotation styles, truncation, deletion, restarts with files
 * rotated (renamed, gzipped, deleted) while the collector was down, and
 * the identity rules that tell a copy from a file that merely starts alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../../collectors/container_logs/container_logs.h"
#include "config.h"
#include "core.h"
#include "pipeline_internal.h"
#include "read_file.h"
#include "torture.h"

extern const struct vg_collector_ops vg_collector_container_logs;

/* The monotonic clock is the test's; the real one stays the system's, as
 * file times are compared with it (ignore_older, files written since the
 * checkpoints were). */
static int64_t cl_mono_now = INT64_C(1000000000);

static int64_t cl_mono(void)
{
    return cl_mono_now;
}

/* Moves the monotonic clock on (and lets the real one move a little, so
 * that files written next are newer than what came before). */
static void cl_tick(int64_t ms)
{
    struct timespec ts = {0, 2 * 1000 * 1000};

    cl_mono_now += ms * VG_NS_PER_MS;
    nanosleep(&ts, NULL);
}

/* One record as the test sees it. */
struct cl_rec {
    char *body;
    char *file;
    bool truncated, decode_error, has_stream;
};

struct cl {
    char dir[256];
    char state[300];
    char opts[2048];
    struct vg_config *cfg;
    struct vg_pipeline *p;
    struct vg_collector c;
    struct clog_ctx *x;
    struct vg_emit e;
    struct cl_rec *recs;
    size_t n_recs, cap_recs;
    size_t taken;   /* records of the open batch copied already (its flush failed) */
    bool hold_acks; /* acknowledgements are not delivered */
};

/* ---- files ------------------------------------------------------------------ */

static void cl_path(const struct cl *t, const char *rel, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", t->dir, rel);
}

static void cl_mkdirs(const struct cl *t, const char *rel)
{
    char cmd[PATH_MAX + 32];

    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", t->dir, rel);
    assert_int_equal(system(cmd), 0);
}

/* Appends text to rel (created when missing). */
static void cl_append(const struct cl *t, const char *rel, const char *text)
{
    char p[PATH_MAX];
    int fd;

    cl_path(t, rel, p, sizeof(p));
    fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(vg_write_all(fd, text, strlen(text)), VG_OK);
    close(fd);
}

/* Appends lines "<prefix> <n>" for n in [from, to), in a format. */
static void cl_lines(const struct cl *t, const char *rel, const char *fmt, const char *prefix,
                     int from, int to)
{
    struct vg_buf b;
    int i;

    vg_buf_init(&b);
    for (i = from; i < to; i++) {
        if (strcmp(fmt, "cri") == 0)
            vg_buf_printf(&b, "2026-12-02T10:00:00.%09dZ stdout F %s %d\n", i, prefix, i);
        else if (strcmp(fmt, "docker") == 0)
            vg_buf_printf(&b,
                          "{\"log\":\"%s %d\\n\",\"stream\":\"stdout\","
                          "\"time\":\"2026-12-02T10:00:00.%09dZ\"}\n",
                          prefix, i, i);
        else
            vg_buf_printf(&b, "%s %d\n", prefix, i);
    }
    cl_append(t, rel, b.data != NULL ? b.data : "");
    vg_buf_free(&b);
}

static void cl_rename(const struct cl *t, const char *from, const char *to)
{
    char a[PATH_MAX], b[PATH_MAX];

    cl_path(t, from, a, sizeof(a));
    cl_path(t, to, b, sizeof(b));
    assert_int_equal(rename(a, b), 0);
}

static void cl_unlink(const struct cl *t, const char *rel)
{
    char p[PATH_MAX];

    cl_path(t, rel, p, sizeof(p));
    assert_int_equal(unlink(p), 0);
}

static off_t cl_size(const struct cl *t, const char *rel)
{
    char p[PATH_MAX];
    struct stat st;

    cl_path(t, rel, p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

/* Compresses rel into rel.gz (through a temporary name) and removes rel,
 * as kubelet and logrotate do. */
static void cl_gzip(const struct cl *t, const char *rel)
{
    char p[PATH_MAX], tmp[PATH_MAX + 8], gz[PATH_MAX + 8], buf[4096];
    gzFile out;
    ssize_t n;
    int fd;

    cl_path(t, rel, p, sizeof(p));
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    snprintf(gz, sizeof(gz), "%s.gz", p);
    fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    out = gzopen(tmp, "wb");
    assert_non_null(out);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        assert_int_equal(gzwrite(out, buf, (unsigned)n), (int)n);
    close(fd);
    assert_int_equal(gzclose(out), Z_OK);
    assert_int_equal(rename(tmp, gz), 0);
    assert_int_equal(unlink(p), 0);
}

/* ---- the collector ---------------------------------------------------------- */

static void cl_recs_free(struct cl *t)
{
    size_t i;

    for (i = 0; i < t->n_recs; i++) {
        free(t->recs[i].body);
        free(t->recs[i].file);
    }
    t->n_recs = 0;
}

/* Starts the collector on the options; false (everything undone) when
 * it refuses to, as it may when memory runs out. */
static bool cl_try_start(struct cl *t)
{
    const struct vg_collector_ops *ops = &vg_collector_container_logs;
    const struct vg_option *tables[1] = {ops->options};
    struct vg_pipeline_settings s = {.batch_max_records = 1u << 30,
                                     .batch_max_bytes = UINT64_C(1) << 40,
                                     .dead_letter_dir = "/nonexistent"};
    static const char *const ignore[] = {"type", NULL};
    struct vg_errors errs;
    struct vg_error err = {0};
    struct clog_ctx *x = calloc(1, ops->ctx_size);
    void *ctxs[1] = {x};
    int rc;

    assert_non_null(x);
    t->taken = 0;
    t->cfg = NULL;
    vg_errors_init(&errs);
    rc = vg_config_load_string(t->opts, strlen(t->opts), "t.yaml", &t->cfg, &errs);
    if (rc == VG_OK)
        rc = vg_options_apply(tables, ctxs, 1, t->cfg->root, "t", ignore, &errs);
    vg_errors_free(&errs);
    memset(&t->c, 0, sizeof(t->c));
    t->c.ops = ops;
    t->c.name = "logs";
    t->c.ctx = x;
    t->c.node_name = "node-1";
    t->c.state_dir = t->state;
    t->p = rc == VG_OK ? vg_pipeline_create(&s) : NULL;
    t->e.sink = t->p != NULL ? vg_pipeline_sink(t->p, &t->c) : NULL;
    rc = t->e.sink != NULL ? ops->init(&t->c, t->cfg->root, &err) : VG_ENOMEM;
    if (rc != VG_OK) {
        if (t->e.sink != NULL)
            ops->destroy(&t->c);
        vg_options_free(ops->options, x);
        free(x);
        vg_pipeline_destroy(t->p);
        vg_config_free(t->cfg);
        return false;
    }
    t->x = x;
    t->x->mono = cl_mono;
    return true;
}

/* Starts the collector; it must. */
static void cl_start(struct cl *t)
{
    if (!cl_try_start(t))
        fail_msg("the collector did not start");
}

/* Options for cl_start: paths and more, "%s" is the folder. */
static void cl_opts(struct cl *t, const char *fmt)
{
    char body[1800];
    size_t i, j = 0;

    /* every %s is the folder */
    for (i = 0; fmt[i] != '\0' && j + strlen(t->dir) + 2 < sizeof(body); i++) {
        if (fmt[i] == '%' && fmt[i + 1] == 's') {
            memcpy(body + j, t->dir, strlen(t->dir));
            j += strlen(t->dir);
            i++;
        } else {
            body[j++] = fmt[i];
        }
    }
    body[j] = '\0';
    snprintf(t->opts, sizeof(t->opts),
             "partial_timeout: 2s\nrotate_wait: 5s\ncheckpoint_interval: 1s\n%s", body);
}

/* Copies the records of the open batch not copied yet, seals it, and
 * (unless held back) delivers the acknowledgements. The test's own memory
 * comes from libc: allocation failures are for the collector. */
static void cl_take(struct cl *t)
{
    struct vg_batch *b = t->e.sink->open;
    const struct vg_field *fl;
    size_t i;

    for (i = t->taken; b != NULL && i < b->n_recs; i++) {
        const struct vg_record *r = b->recs[i];
        struct cl_rec *o;

        if (t->n_recs == t->cap_recs) {
            t->cap_recs = t->cap_recs != 0 ? 2 * t->cap_recs : 256;
            t->recs = realloc(t->recs, t->cap_recs * sizeof(*t->recs));
            assert_non_null(t->recs);
        }
        o = &t->recs[t->n_recs++];
        memset(o, 0, sizeof(*o));
        o->body = strndup(r->body, r->body_len);
        fl = vg_record_field(r, "file");
        o->file = fl != NULL ? strndup(fl->v.s.ptr, fl->v.s.len) : NULL;
        o->truncated = vg_record_field(r, "truncated") != NULL;
        o->decode_error = vg_record_field(r, "decode_error") != NULL;
        o->has_stream = vg_record_field(r, "stream") != NULL;
    }
    t->taken = b != NULL ? b->n_recs : 0;
    if (vg_sink_flush(t->e.sink) == VG_OK)
        t->taken = 0; /* sealed: the next open batch starts empty */
    if (!t->hold_acks)
        vg_pipeline_process_acks(t->p);
}

/* One collect, with a scan first when asked. */
static void cl_collect(struct cl *t, bool scan)
{
    if (scan)
        t->x->rescan_due_ns = 0; /* due now, whatever the gap since the last one */
    assert_int_equal(t->c.ops->collect(&t->c, &t->e), VG_OK);
    cl_take(t);
}

/* Collects (with scans) until three collects in a row bring nothing new,
 * at most n times. */
static void cl_drain(struct cl *t, int n)
{
    size_t before;
    int quiet = 0;

    while (quiet < 3 && n-- > 0) {
        before = t->n_recs;
        cl_collect(t, true);
        quiet = t->n_recs == before ? quiet + 1 : 0;
    }
}

/* Stops the collector: graceful writes its checkpoints, a crash does not. */
static void cl_stop(struct cl *t, bool graceful)
{
    if (!graceful)
        t->x->ckpt_loaded = false; /* destroy then writes nothing */
    else if (!t->hold_acks)
        vg_pipeline_process_acks(t->p);
    t->c.ops->destroy(&t->c);
    vg_options_free(t->c.ops->options, t->x);
    free(t->x);
    t->x = NULL;
    vg_pipeline_destroy(t->p);
    vg_config_free(t->cfg);
}

static int cl_setup(void **state)
{
    struct cl *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/vigil-clog-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->state, sizeof(t->state), "%s/state", t->dir);
    assert_int_equal(mkdir(t->state, 0750), 0);
    vg_log_setup(getenv("CL_DEBUG") != NULL ? VG_LOG_DEBUG : VG_LOG_ERROR, false);
    *state = t;
    return 0;
}

static int cl_teardown(void **state)
{
    struct cl *t = *state;
    char cmd[300];

    vg_alloc_reset(); /* a torture run that failed an assertion left it armed */
    if (t->x != NULL)
        cl_stop(t, true);
    cl_recs_free(t);
    free(t->recs);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
    free(t);
    return 0;
}

/* ---- checks ----------------------------------------------------------------- */

/* How many records have exactly this body (CL_DEBUG: the records are
 * printed when there is not exactly one). */
static size_t cl_count(const struct cl *t, const char *body)
{
    size_t i, n = 0;

    for (i = 0; i < t->n_recs; i++)
        n += strcmp(t->recs[i].body, body) == 0;
    if (n != 1 && getenv("CL_DEBUG") != NULL)
        for (i = 0; i < t->n_recs; i++)
            fprintf(stderr, "record %zu: [%s]\n", i, t->recs[i].body);
    n = 0;

    for (i = 0; i < t->n_recs; i++)
        n += strcmp(t->recs[i].body, body) == 0;
    return n;
}

/* Every "<prefix> <n>" for n in [from, to) arrived exactly once, in order. */
static void cl_expect(const struct cl *t, const char *prefix, int from, int to)
{
    char want[256];
    size_t i, at = 0;
    int n;

    for (n = from; n < to; n++) {
        snprintf(want, sizeof(want), "%s %d", prefix, n);
        if (cl_count(t, want) != 1)
            fail_msg("'%s' arrived %zu times", want, cl_count(t, want));
        for (i = 0; i < t->n_recs && strcmp(t->recs[i].body, want) != 0; i++)
            ;
        if (i < at)
            fail_msg("'%s' arrived out of order", want);
        at = i;
    }
}

/* The record with body a came before the one with body b. */
static void cl_before(const struct cl *t, const char *a, const char *b)
{
    size_t i, ia = SIZE_MAX, ib = SIZE_MAX;

    for (i = 0; i < t->n_recs; i++) {
        if (ia == SIZE_MAX && strcmp(t->recs[i].body, a) == 0)
            ia = i;
        if (ib == SIZE_MAX && strcmp(t->recs[i].body, b) == 0)
            ib = i;
    }
    if (ia == SIZE_MAX || ib == SIZE_MAX || ia > ib)
        fail_msg("'%s' (at %zu) did not come before '%s' (at %zu)", a, ia, b, ib);
}

/* ---- identity --------------------------------------------------------------- */

/* A banner of more than 1 KiB that every file starts with. */
static void cl_banner(const struct cl *t, const char *rel, const char *fmt)
{
    char line[1400];
    int i;

    memset(line, 'b', sizeof(line));
    line[sizeof(line) - 1] = '\0';
    if (strcmp(fmt, "cri") == 0)
        memcpy(line, "2026-12-02T09:00:00.000000000Z stdout F ", 40);
    if (strcmp(fmt, "docker") == 0) {
        snprintf(line, sizeof(line), "{\"log\":\"banner ");
        for (i = (int)strlen(line); i < 1300; i++)
            line[i] = 'b';
        snprintf(line + 1300, sizeof(line) - 1300,
                 "\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T09:00:00Z\"}");
    }
    cl_append(t, rel, line);
    cl_append(t, rel, "\n");
}

static void same_first_kib_files_are_all_read(void **state)
{
    static const char *const fmts[] = {"raw", "cri", "docker"};
    struct cl *t = *state;
    char rel[64], prefix[64];
    size_t f;
    int i;

    for (f = 0; f < 3; f++) {
        snprintf(rel, sizeof(rel), "%s", fmts[f]);
        cl_mkdirs(t, rel);
        for (i = 0; i < 50; i++) {
            snprintf(rel, sizeof(rel), "%s/worker-%d.log", fmts[f], i);
            cl_banner(t, rel, fmts[f]);
            if (i < 25) { /* half before the start, half while it runs */
                snprintf(prefix, sizeof(prefix), "%s-w%d", fmts[f], i);
                cl_lines(t, rel, fmts[f], prefix, 0, 20);
            }
        }
    }
    cl_opts(t, "paths: [\"%s/*/*.log\"]\n");
    cl_start(t);
    cl_drain(t, 10);
    for (f = 0; f < 3; f++)
        for (i = 0; i < 50; i++) {
            snprintf(rel, sizeof(rel), "%s/worker-%d.log", fmts[f], i);
            snprintf(prefix, sizeof(prefix), "%s-w%d", fmts[f], i);
            cl_lines(t, rel, fmts[f], prefix, i < 25 ? 20 : 0, 40);
        }
    cl_drain(t, 10);
    for (f = 0; f < 3; f++)
        for (i = 0; i < 50; i++) {
            snprintf(prefix, sizeof(prefix), "%s-w%d", fmts[f], i);
            cl_expect(t, prefix, 0, 40);
        }
    assert_int_equal(t->x->n_files, 150);
}

/* copytruncate as logrotate does it, with the copies matched by the
 * patterns. The first copy is seen before the truncation (held, then
 * adopted), the second only after it; each is shorter than what was read
 * of the original (the last lines came after the copy), so nothing in it
 * is new; renamed later, each is the same file, not a new one. */
static void copy_shorter_than_the_offset_then_renamed(void **state)
{
    struct cl *t = *state;
    char p[PATH_MAX], q[PATH_MAX + 8], cmd[4 * PATH_MAX + 64];

    cl_opts(t, "paths: [\"%s/app.log*\"]\nformat: raw\n");
    cl_path(t, "app.log", p, sizeof(p));
    snprintf(q, sizeof(q), "%s.1", p);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s.tmp' && mv '%s.tmp' '%s'", p, q, q, q);
    cl_lines(t, "app.log", "raw", "gen0", 0, 8);
    cl_start(t);
    cl_drain(t, 5);
    assert_int_equal(system(cmd), 0);             /* the copy: 8 lines */
    cl_lines(t, "app.log", "raw", "gen0", 8, 10); /* after the copy */
    cl_drain(t, 5);                               /* read; the copy is held */
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "gen1", 0, 5);
    cl_drain(t, 5);
    cl_tick(6000); /* the adopted copy, done, is let go */
    cl_drain(t, 5);
    cl_rename(t, "app.log.1", "app.log.2");
    cl_drain(t, 5);
    assert_int_equal(system(cmd), 0);            /* second copy: gen1 0-4 */
    cl_lines(t, "app.log", "raw", "gen1", 5, 7); /* after the copy */
    cl_drain(t, 5);
    cl_rename(t, "app.log.1", "hidden-copy"); /* hidden while the truncation is seen */
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "gen2", 0, 3);
    cl_drain(t, 5);
    cl_rename(t, "hidden-copy", "app.log.1");
    cl_drain(t, 5);
    cl_tick(6000);
    cl_drain(t, 5);
    cl_expect(t, "gen0", 0, 10);
    cl_expect(t, "gen1", 0, 7);
    cl_expect(t, "gen2", 0, 3);
    assert_int_equal(t->n_recs, 20);
}

/* The copy is first seen after its original was truncated and written
 * past the old read position, before the original was read again: the
 * truncation is noticed first, and the copy continues from the offset. */
static void copy_seen_after_the_original_was_refilled(void **state)
{
    struct cl *t = *state;
    char p[PATH_MAX], cmd[2 * PATH_MAX + 16];

    cl_opts(t, "paths: [\"%s/app.log*\"]\nformat: raw\n");
    cl_lines(t, "app.log", "raw", "gen0", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_path(t, "app.log", p, sizeof(p));
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s.1'", p, p);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "gen1-a-longer-line", 0, 20);
    cl_drain(t, 5);
    cl_expect(t, "gen0", 0, 10);
    cl_expect(t, "gen1-a-longer-line", 0, 20);
    assert_int_equal(t->n_recs, 30);
}

/* A copy found while cp is still writing it (shorter than what was read
 * of its original, which was truncated already): what cp writes next was
 * read in the original too, and is not read again. */
static void copy_still_being_written_is_not_read_again(void **state)
{
    struct cl *t = *state;
    char p[PATH_MAX];
    struct vg_buf all;
    char *copy;

    cl_opts(t, "paths: [\"%s/app.log*\"]\nformat: raw\n");
    cl_lines(t, "app.log", "raw", "gen0", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_path(t, "app.log", p, sizeof(p));
    copy = test_read_file(p, NULL);
    vg_buf_init(&all);
    vg_buf_puts(&all, copy);
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "gen1", 0, 3);
    cl_drain(t, 3);               /* the truncation is seen */
    all.data[all.len / 2] = '\0'; /* cp half way */
    cl_append(t, "app.log.1", all.data);
    all.data[all.len / 2] = copy[all.len / 2];
    cl_drain(t, 3);
    cl_append(t, "app.log.1", all.data + all.len / 2);
    cl_drain(t, 3);
    cl_tick(6000);
    cl_drain(t, 3);
    cl_expect(t, "gen0", 0, 10);
    cl_expect(t, "gen1", 0, 3);
    assert_int_equal(t->n_recs, 13);
    vg_buf_free(&all);
    free(copy);
}

/* A file that only shares the first line with a followed one is read
 * whole at once; one that looks like a copy is held at most rotate_wait. */
static void look_alike_is_not_held_and_a_held_copy_is_released(void **state)
{
    struct cl *t = *state;
    char p[PATH_MAX], q[PATH_MAX + 8], cmd[4 * PATH_MAX + 64];

    cl_opts(t, "paths: [\"%s/*.log\"]\nformat: raw\n");
    cl_lines(t, "a.log", "raw", "same", 0, 1);
    cl_lines(t, "a.log", "raw", "a", 0, 30);
    cl_start(t);
    cl_drain(t, 5);
    cl_lines(t, "b.log", "raw", "same", 0, 1);
    cl_lines(t, "b.log", "raw", "b", 0, 30);
    cl_drain(t, 5);
    cl_expect(t, "b", 0, 30);
    /* a byte-for-byte copy of a.log that a.log never follows with a truncation */
    cl_path(t, "a.log", p, sizeof(p));
    cl_path(t, "c.log", q, sizeof(q));
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", p, q);
    assert_int_equal(system(cmd), 0);
    cl_drain(t, 5);
    assert_int_equal(cl_count(t, "a 0"), 1); /* held */
    cl_tick(5001);
    cl_drain(t, 5);
    assert_int_equal(cl_count(t, "a 0"), 2); /* released: read as its own file */
    assert_int_equal(cl_count(t, "same 0"), 3);
}

/* ---- reading ---------------------------------------------------------------- */

/* A P fragment ends the first read chunk, the budget of the round is
 * spent, time passes beyond partial_timeout while bytes remain unread:
 * the fragment waits for its F line. */
static void fragment_waits_while_bytes_remain_unread(void **state)
{
    struct cl *t = *state;
    const char *p_line = "2026-12-02T10:00:00.5Z stdout P first half, \n";
    struct vg_buf b;
    int i = 0;

    vg_buf_init(&b);
    while (b.len + 60 + strlen(p_line) < CLOG_READ_CHUNK)
        vg_buf_printf(&b, "2026-12-02T10:00:00.%09dZ stdout F filler %06d\n", i, i), i++;
    b.len--; /* the last filler line grows to end the chunk exactly */
    while (b.len + 1 + strlen(p_line) < CLOG_READ_CHUNK)
        vg_buf_putc(&b, 'x');
    vg_buf_putc(&b, '\n');
    assert_int_equal(b.len + strlen(p_line), CLOG_READ_CHUNK);
    vg_buf_puts(&b, p_line);
    vg_buf_puts(&b, "2026-12-02T10:00:00.6Z stdout F second half\n");
    cl_append(t, "app.log", b.data);
    vg_buf_free(&b);
    cl_opts(t, "paths: [\"%s/app.log\"]\n");
    cl_start(t);
    t->x->budget = 1; /* one chunk per collect */
    cl_collect(t, true);
    assert_int_equal(t->n_recs, (size_t)i); /* the fillers; the fragment pending */
    t->x->budget = 0;                       /* another file took this round's budget */
    cl_tick(3000);
    cl_collect(t, false);
    assert_int_equal(t->n_recs, (size_t)i); /* not sent alone */
    t->x->budget = CLOG_BUDGET;
    cl_collect(t, false);
    assert_int_equal(cl_count(t, "first half, second half"), 1);
    assert_int_equal(t->n_recs, (size_t)i + 1);
}

/* ... but at the end of the file it is sent alone after partial_timeout. */
static void fragment_at_the_end_times_out(void **state)
{
    struct cl *t = *state;

    cl_append(t, "app.log", "2026-12-02T10:00:00.5Z stdout P lonely\n");
    cl_opts(t, "paths: [\"%s/app.log\"]\n");
    cl_start(t);
    cl_collect(t, true);
    cl_tick(1000);
    cl_collect(t, false);
    assert_int_equal(t->n_recs, 0);
    cl_tick(1001);
    cl_collect(t, false);
    assert_int_equal(cl_count(t, "lonely"), 1);
}

/* dockerd rotated between two 16 KiB pieces of one message: one record,
 * and the rotated file's checkpoint moves to its end once it is delivered. */
static void message_split_across_a_rotation_is_joined(void **state)
{
    struct cl *t = *state;
    const char *first = "{\"log\":\"part one \",\"stream\":\"stdout\",\"time\":\"2026-12-02T10:00:"
                        "01Z\"}\n";
    const char *last = "{\"log\":\"part two\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T10:00:"
                       "01Z\"}\n";
    struct clog_gone *g;

    cl_mkdirs(t, "c");
    cl_lines(t, "c/x-json.log", "docker", "before", 0, 3);
    cl_append(t, "c/x-json.log", first);
    cl_opts(t, "paths: [\"%s/c/*-json.log\"]\n");
    cl_start(t);
    cl_collect(t, true);
    cl_rename(t, "c/x-json.log", "c/x-json.log.1");
    cl_append(t, "c/x-json.log", last);
    cl_lines(t, "c/x-json.log", "docker", "after", 0, 2);
    cl_collect(t, true);
    cl_tick(6000);
    cl_drain(t, 5);
    cl_expect(t, "before", 0, 3);
    cl_expect(t, "after", 0, 2);
    assert_int_equal(cl_count(t, "part one part two"), 1);
    assert_int_equal(t->n_recs, 6);
    for (g = t->x->gone; g != NULL; g = g->next)
        if (strstr(g->e.real, "x-json.log") != NULL && g->e.ino != 0)
            assert_true(g->e.offset >= g->read_off); /* nothing left to read again */
}

/* Truncated and written again past the old read position before the
 * collector looked: the new content is read from its start. */
static void truncated_and_rewritten_before_looked(void **state)
{
    struct cl *t = *state;
    char p[PATH_MAX];

    cl_opts(t, "paths: [\"%s/app.log\"]\nformat: raw\n");
    cl_lines(t, "app.log", "raw", "old", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_path(t, "app.log", p, sizeof(p));
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "new-longer", 0, 12);
    cl_drain(t, 3);
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "old", 0, 10); /* the same first line again */
    cl_lines(t, "app.log", "raw", "again", 0, 3);
    cl_drain(t, 3);
    cl_expect(t, "new-longer", 0, 12);
    cl_expect(t, "again", 0, 3);
    assert_int_equal(cl_count(t, "old 0"), 2);
}

/* Truncated and written again twice in a row: once between two reads,
 * once more between its new identification and its first read. What is
 * read from the start is read under its own identity, and not again. */
static void rewritten_again_before_the_first_read(void **state)
{
    struct cl *t = *state;
    char p[PATH_MAX];

    cl_opts(t, "paths: [\"%s/app.log\"]\nformat: raw\n");
    cl_lines(t, "app.log", "raw", "gen0", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_path(t, "app.log", p, sizeof(p));
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "gen1-longer", 0, 12);
    cl_collect(t, true); /* the rewrite is seen; gen1 identified, not read yet */
    assert_int_equal(truncate(p, 0), 0);
    cl_lines(t, "app.log", "raw", "gen2-longer-still", 0, 12);
    cl_collect(t, true);
    cl_lines(t, "app.log", "raw", "gen2-longer-still", 12, 15);
    cl_drain(t, 5);
    cl_expect(t, "gen0", 0, 10);
    cl_expect(t, "gen2-longer-still", 0, 15);
    assert_int_equal(t->n_recs, 25);
}

/* The first Docker line is cut at max_line_bytes: it is marked and does
 * not make the file raw; a CRI line cut there carries truncated too. */
static void cut_first_line_does_not_decide_the_format(void **state)
{
    struct cl *t = *state;
    struct vg_buf b;
    int i;

    vg_buf_init(&b);
    vg_buf_puts(&b, "{\"log\":\"");
    for (i = 0; i < 3000; i++)
        vg_buf_putc(&b, 'L');
    vg_buf_puts(&b, "\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T10:00:00Z\"}\n");
    cl_mkdirs(t, "d");
    cl_append(t, "d/a.log", b.data);
    cl_lines(t, "d/a.log", "docker", "next", 0, 3);
    vg_buf_reset(&b);
    vg_buf_puts(&b, "2026-12-02T10:00:00Z stderr F ");
    for (i = 0; i < 3000; i++)
        vg_buf_putc(&b, 'C');
    vg_buf_putc(&b, '\n');
    cl_append(t, "d/b.log", b.data);
    vg_buf_free(&b);
    cl_opts(t, "paths: [\"%s/d/*.log\"]\nmax_line_bytes: 1KiB\n");
    cl_start(t);
    cl_drain(t, 3);
    assert_int_equal(t->n_recs, 5);
    for (i = 0; i < (int)t->n_recs; i++) {
        if (strncmp(t->recs[i].body, "next ", 5) == 0)
            assert_true(t->recs[i].has_stream && !t->recs[i].decode_error);
        else
            assert_true(t->recs[i].truncated);
    }
    assert_int_equal(t->x->truncations, 2);
}

/* Deleted while read: read to its end, then let go after rotate_wait. */
static void deleted_file_is_read_to_its_end(void **state)
{
    struct cl *t = *state;

    cl_opts(t, "paths: [\"%s/*.log\"]\nformat: raw\n");
    cl_lines(t, "app.log", "raw", "x", 0, 5);
    cl_start(t);
    cl_drain(t, 3);
    cl_lines(t, "app.log", "raw", "x", 5, 9);
    cl_unlink(t, "app.log");
    cl_drain(t, 3);
    assert_int_equal(t->x->n_open, 1);
    cl_tick(5001);
    cl_drain(t, 3);
    cl_expect(t, "x", 0, 9);
    assert_int_equal(t->x->n_files, 0);
    assert_int_equal(t->x->n_open, 0);
}

/* ---- restarts ---------------------------------------------------------------- */

#define CL_ID  "4f1c2a9b8e7d6c5b4a392817f6e5d4c3b2a19087f6e5d4c3b2a19087f6e5d4c3"
#define CL_POD "pods/shop_web-1_0a1b2c3d-1111-2222-3333-444455556666/nginx"

/* kubelet's layout: the container's 0.log and the link the patterns see. */
static void cl_kubelet(struct cl *t)
{
    char target[PATH_MAX], link[PATH_MAX];

    cl_mkdirs(t, CL_POD);
    cl_mkdirs(t, "containers");
    cl_path(t, CL_POD "/0.log", target, sizeof(target));
    cl_path(t, "containers/web-1_shop_nginx-" CL_ID ".log", link, sizeof(link));
    cl_append(t, CL_POD "/0.log", "");
    assert_int_equal(symlink(target, link), 0);
    cl_opts(t, "paths: [\"%s/containers/*.log\"]\n");
}

/* Every record came by the link, with its Kubernetes fields. */
static void cl_expect_link(const struct cl *t)
{
    size_t i;

    for (i = 0; i < t->n_recs; i++)
        if (t->recs[i].file == NULL || strstr(t->recs[i].file, "/containers/web-1_shop") == NULL)
            fail_msg("record '%s' came by %s", t->recs[i].body,
                     t->recs[i].file != NULL ? t->recs[i].file : "(none)");
}

/* Stopped (gracefully or not) with lines unread, the file rotated while
 * down: found by its inode in its folder and read on from the checkpoint. */
static void cl_restart_across_rename(struct cl *t, bool graceful)
{
    cl_kubelet(t);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 0, 100);
    cl_start(t);
    cl_drain(t, 3);
    cl_tick(1000);
    cl_collect(t, false); /* the checkpoint falls due */
    cl_lines(t, CL_POD "/0.log", "cri", "a", 100, 150);
    cl_collect(t, true); /* read, not yet in a checkpoint */
    cl_stop(t, graceful);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 150, 180);
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100000");
    cl_lines(t, CL_POD "/0.log", "cri", "b", 0, 20);
    cl_tick(1000);
    cl_start(t);
    cl_drain(t, 5);
    cl_expect(t, "b", 0, 20);
    cl_expect_link(t);
    assert_int_equal(t->x->recovered[0], 1);
}

/* Each "a <n>" arrived twice for n in [dup_from, dup_to), once otherwise. */
static void cl_expect_a(const struct cl *t, int dup_from, int dup_to)
{
    char want[32];
    int n;

    for (n = 0; n < 180; n++) {
        snprintf(want, sizeof(want), "a %d", n);
        if (cl_count(t, want) != (n >= dup_from && n < dup_to ? 2u : 1u))
            fail_msg("'%s' arrived %zu times", want, cl_count(t, want));
    }
}

static void graceful_restart_across_rename_loses_and_repeats_nothing(void **state)
{
    struct cl *t = *state;

    cl_restart_across_rename(t, true);
    cl_expect(t, "a", 0, 180);
    assert_int_equal(t->n_recs, 200);
}

static void crash_across_rename_repeats_only_what_was_not_checkpointed(void **state)
{
    struct cl *t = *state;

    cl_restart_across_rename(t, false);
    cl_expect_a(t, 100, 150); /* read, never checkpointed: again */
    assert_int_equal(t->n_recs, 250);
}

/* Read "a" 0-99, stopped; then, while down: "a" up to a_end, rotated to
 * 0.log.20261202-100000; "b" 0 to b_end, rotated to ...-100001; the older
 * one gzipped; "c" 0-9 in the live file. */
static void cl_down_two_rotations(struct cl *t, int a_end, int b_end)
{
    cl_kubelet(t);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 0, 100);
    cl_start(t);
    cl_drain(t, 3);
    cl_stop(t, true);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 100, a_end);
    cl_tick(1000);
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100000");
    cl_lines(t, CL_POD "/0.log", "cri", "b", 0, b_end);
    cl_tick(1000);
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100001");
    cl_gzip(t, CL_POD "/0.log.20261202-100000");
    cl_lines(t, CL_POD "/0.log", "cri", "c", 0, 10);
    cl_tick(1000);
}

/* Down while kubelet rotated twice and gzipped the older file: the file
 * of the checkpoint is read on from the .gz, the one written and rotated
 * while nobody looked is read whole, in order. */
static void restart_reads_gzipped_and_unseen_rotated_files(void **state)
{
    struct cl *t = *state;

    cl_down_two_rotations(t, 5000, 300);
    cl_start(t);
    cl_drain(t, 10);
    cl_expect(t, "a", 0, 5000);
    cl_expect(t, "b", 0, 300);
    cl_expect(t, "c", 0, 10);
    cl_before(t, "a 4999", "b 0"); /* the .gz of the older file first */
    cl_before(t, "b 299", "c 0");
    cl_expect_link(t);
    assert_int_equal(t->n_recs, 5310);
    assert_int_equal(t->x->recovered[1], 1);
    assert_int_equal(t->x->recovered[0], 1);
    assert_int_equal(t->x->lost_rotated_bytes, 0);
}

/* The rotated file to compress while the collector lists its folder. */
static const char *cl_gzip_when_listed;

static void cl_listed(void *arg, const char *dir)
{
    (void)dir;
    if (cl_gzip_when_listed != NULL)
        cl_gzip(arg, cl_gzip_when_listed);
    cl_gzip_when_listed = NULL;
}

/* The newest rotated file is compressed just after the folder was listed
 * at start (the .gz renamed into place, the plain file deleted): its
 * compressed copy is read in its place, before what came after it, and
 * not later as a file nobody had seen. */
static void rotated_file_compressed_while_listed_is_read_in_its_place(void **state)
{
    struct cl *t = *state;

    cl_down_two_rotations(t, 2000, 3000);
    cl_start(t);
    cl_gzip_when_listed = CL_POD "/0.log.20261202-100001";
    t->x->listed = cl_listed;
    t->x->listed_arg = t;
    cl_drain(t, 3);
    /* the live file rotates too: nothing found then may come before it */
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100002");
    cl_lines(t, CL_POD "/0.log", "cri", "d", 0, 10);
    cl_tick(1000);
    cl_drain(t, 5);
    assert_null(cl_gzip_when_listed);
    cl_expect(t, "a", 0, 2000);
    cl_expect(t, "b", 0, 3000);
    cl_expect(t, "c", 0, 10);
    cl_expect(t, "d", 0, 10);
    cl_before(t, "a 1999", "b 0");
    cl_before(t, "b 2999", "c 0");
    cl_before(t, "c 9", "d 0");
    assert_int_equal(t->n_recs, 5020);
    assert_int_equal(t->x->recovered[1], 2);
    assert_int_equal(t->x->lost_rotated_bytes, 0);
}

/* Records read, never delivered; the file rotated and deleted while down:
 * the bytes that could not be read are counted, and said. */
static void rotated_and_deleted_while_down_is_counted(void **state)
{
    struct cl *t = *state;
    off_t size;

    cl_opts(t, "paths: [\"%s/app.log\"]\nformat: raw\n");
    cl_lines(t, "app.log", "raw", "x", 0, 40);
    size = cl_size(t, "app.log");
    t->hold_acks = true;
    cl_start(t);
    cl_drain(t, 3);
    assert_int_equal(t->n_recs, 40);
    cl_stop(t, true);
    t->hold_acks = false;
    cl_rename(t, "app.log", "app.log.1");
    cl_unlink(t, "app.log.1");
    cl_lines(t, "app.log", "raw", "y", 0, 5);
    cl_start(t);
    cl_drain(t, 3);
    assert_int_equal(t->x->lost_rotated_bytes, (uint64_t)size);
    cl_expect(t, "y", 0, 5);
}

/* dockerd's max-file rotation while down: -json.log -> .1 -> .2. */
static void restart_across_docker_max_file_rotation(void **state)
{
    struct cl *t = *state;

    cl_mkdirs(t, "containers/" CL_ID);
    cl_lines(t, "containers/" CL_ID "/" CL_ID "-json.log", "docker", "a", 0, 10);
    cl_opts(t, "paths: [\"%s/containers/*/*-json.log\"]\n");
    cl_start(t);
    cl_drain(t, 3);
    cl_stop(t, true);
    cl_lines(t, "containers/" CL_ID "/" CL_ID "-json.log", "docker", "a", 10, 20);
    cl_rename(t, "containers/" CL_ID "/" CL_ID "-json.log",
              "containers/" CL_ID "/" CL_ID "-json.log.1");
    cl_lines(t, "containers/" CL_ID "/" CL_ID "-json.log", "docker", "b", 0, 10);
    cl_tick(1000);
    cl_rename(t, "containers/" CL_ID "/" CL_ID "-json.log.1",
              "containers/" CL_ID "/" CL_ID "-json.log.2");
    cl_rename(t, "containers/" CL_ID "/" CL_ID "-json.log",
              "containers/" CL_ID "/" CL_ID "-json.log.1");
    cl_lines(t, "containers/" CL_ID "/" CL_ID "-json.log", "docker", "c", 0, 10);
    cl_tick(1000);
    cl_start(t);
    cl_drain(t, 5);
    cl_expect(t, "a", 0, 20);
    cl_expect(t, "b", 0, 10);
    cl_expect(t, "c", 0, 10);
    cl_before(t, "a 19", "b 0"); /* .2 is older than .1 */
    cl_before(t, "b 9", "c 0");
    assert_int_equal(t->n_recs, 40);
}

/* Several .gz files to read after a restart, slowly (one chunk a collect,
 * a second apart): one waiting its turn is not taken for finished (its
 * size is only known at the end of its stream), and they come in order. */
static void gzipped_files_waiting_their_turn_are_read_in_order(void **state)
{
    struct cl *t = *state;
    char rel[128], prefix[8];
    int i;

    cl_kubelet(t);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_stop(t, true);
    for (i = 0; i < 4; i++) {
        snprintf(prefix, sizeof(prefix), "r%d", i);
        cl_lines(t, CL_POD "/0.log", "cri", prefix, 0, 8000); /* about 400 KiB */
        snprintf(rel, sizeof(rel), CL_POD "/0.log.20261202-10000%d", i);
        cl_rename(t, CL_POD "/0.log", rel);
        cl_gzip(t, rel);
    }
    cl_lines(t, CL_POD "/0.log", "cri", "live", 0, 5);
    cl_start(t);
    t->x->budget = 1;
    for (i = 0; i < 40; i++) {
        cl_collect(t, i % 4 == 0);
        cl_tick(1000);
    }
    cl_drain(t, 5);
    cl_expect(t, "r0", 0, 8000);
    cl_expect(t, "r3", 0, 8000);
    cl_before(t, "r0 7999", "r1 0");
    cl_before(t, "r1 7999", "r2 0");
    cl_before(t, "r2 7999", "r3 0");
    cl_before(t, "r3 7999", "live 0");
    assert_int_equal(t->n_recs, 10 + 4 * 8000 + 5);
    assert_int_equal(t->x->recovered[1], 4);
}

/* At start the file the patterns lead to is followed first, the one found
 * rotated away after it; when the first is rotated too while the other is
 * still being read, the older one still comes first. */
static void found_rotated_file_is_read_before_the_live_one_rotates(void **state)
{
    struct cl *t = *state;
    int i;

    cl_kubelet(t);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_stop(t, true);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 10, 20000); /* about 1 MiB left to read */
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100000");
    cl_lines(t, CL_POD "/0.log", "cri", "b", 0, 100);
    cl_start(t);
    t->x->budget = 1;
    cl_collect(t, true);
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100001");
    cl_lines(t, CL_POD "/0.log", "cri", "c", 0, 10);
    for (i = 0; i < 12; i++)
        cl_collect(t, true);
    cl_drain(t, 5);
    cl_expect(t, "a", 0, 20000);
    cl_expect(t, "b", 0, 100);
    cl_expect(t, "c", 0, 10);
    cl_before(t, "a 19999", "b 0");
    cl_before(t, "b 99", "c 0");
}

/* A live file found empty (so not identified yet) while the reader is busy
 * with older files, then written, rotated and compressed before the reader
 * reaches it: its .gz is its own copy, not a file nobody has seen, and it
 * is read once. */
static void unread_live_file_compressed_is_not_read_twice(void **state)
{
    struct cl *t = *state;
    int i;

    cl_kubelet(t);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_stop(t, true);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 10, 20000); /* about 1 MiB left to read */
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100000");
    cl_lines(t, CL_POD "/0.log", "cri", "b", 0, 0); /* the new live file, empty */
    cl_start(t);
    t->x->budget = 1;
    cl_collect(t, true);
    cl_lines(t, CL_POD "/0.log", "cri", "b", 0, 3000);
    cl_tick(1000);
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100001");
    cl_gzip(t, CL_POD "/0.log.20261202-100001");
    cl_lines(t, CL_POD "/0.log", "cri", "c", 0, 10);
    for (i = 0; i < 12; i++) {
        cl_collect(t, true);
        cl_tick(100);
    }
    cl_drain(t, 5);
    cl_expect(t, "a", 0, 20000);
    cl_expect(t, "b", 0, 3000);
    cl_expect(t, "c", 0, 10);
    cl_before(t, "b 2999", "c 0");
    assert_int_equal(t->n_recs, 20000 + 3000 + 10);
}

/* Two rotations between two scans (a burst larger than one poll): the
 * file that was created and rotated away unseen is found in the folder
 * and read, in order, between the old file and the new one. */
static void file_rotated_away_between_two_scans_is_read(void **state)
{
    struct cl *t = *state;

    cl_kubelet(t);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 0, 10);
    cl_start(t);
    cl_drain(t, 3);
    cl_tick(100);
    cl_lines(t, CL_POD "/0.log", "cri", "a", 10, 20);
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100000");
    cl_lines(t, CL_POD "/0.log", "cri", "b", 0, 30);
    cl_rename(t, CL_POD "/0.log", CL_POD "/0.log.20261202-100001");
    cl_lines(t, CL_POD "/0.log", "cri", "c", 0, 5);
    cl_drain(t, 5);
    cl_expect(t, "a", 0, 20);
    cl_expect(t, "b", 0, 30);
    cl_expect(t, "c", 0, 5);
    cl_before(t, "a 19", "b 0");
    cl_before(t, "b 29", "c 0");
    cl_expect_link(t);
    assert_int_equal(t->n_recs, 55);
}

/* Beyond max_open_files an idle file is closed; rotated away while
 * closed, it is found again by its inode and read to its end. */
static void closed_file_rotated_away_is_found_again(void **state)
{
    struct cl *t = *state;

    cl_opts(t, "paths: [\"%s/*.log\"]\nformat: raw\nmax_open_files: 1\n");
    cl_lines(t, "a.log", "raw", "a", 0, 5);
    cl_start(t);
    cl_drain(t, 3);
    cl_lines(t, "b.log", "raw", "b", 0, 5); /* a.log, idle, is closed for it */
    cl_drain(t, 3);
    assert_int_equal(t->x->n_open, 1);
    cl_lines(t, "a.log", "raw", "a", 5, 8);
    cl_rename(t, "a.log", "a.log.1");
    cl_drain(t, 5);
    cl_expect(t, "a", 0, 8);
    cl_expect(t, "b", 0, 5);
    assert_int_equal(t->x->lost_rotated_bytes, 0);
}

/* ---- allocation failures ---------------------------------------------------- */

/* What the torture bodies read: CRI with P fragments, Docker 16 KiB-style
 * pieces, plain lines, and a last line that never ends. */
static void cl_torture_files(struct cl *t)
{
    int i;

    cl_mkdirs(t, "t");
    for (i = 0; i < 12; i++) {
        char line[160];

        if (i % 3 == 1) {
            snprintf(line, sizeof(line),
                     "2026-12-02T10:00:00.%09dZ stdout P cri %d first, \n"
                     "2026-12-02T10:00:00.%09dZ stdout F second\n",
                     i, i, i);
        } else {
            snprintf(line, sizeof(line), "2026-12-02T10:00:00.%09dZ stdout F cri %d\n", i, i);
        }
        cl_append(t, "t/a.log", line);
        if (i % 4 == 2)
            snprintf(line, sizeof(line),
                     "{\"log\":\"docker %d piece \",\"stream\":\"stderr\",\"time\":"
                     "\"2026-12-02T10:00:01Z\"}\n{\"log\":\"two\\n\",\"stream\":\"stderr\","
                     "\"time\":\"2026-12-02T10:00:01Z\"}\n",
                     i);
        else
            snprintf(line, sizeof(line),
                     "{\"log\":\"docker %d\\n\",\"stream\":\"stderr\",\"time\":"
                     "\"2026-12-02T10:00:01Z\"}\n",
                     i);
        cl_append(t, "t/b.log", line);
        snprintf(line, sizeof(line), "plain %d\n", i);
        cl_append(t, "t/c.log", line);
    }
    cl_append(t, "t/c.log", "no end");
}

/* Every message of the torture files exactly once, in order per file. */
static void cl_torture_expect(const struct cl *t)
{
    char want[64];
    int i;

    for (i = 0; i < 12; i++) {
        snprintf(want, sizeof(want), i % 3 == 1 ? "cri %d first, second" : "cri %d", i);
        if (cl_count(t, want) != 1)
            fail_msg("'%s' arrived %zu times", want, cl_count(t, want));
        snprintf(want, sizeof(want), i % 4 == 2 ? "docker %d piece two" : "docker %d", i);
        if (cl_count(t, want) != 1)
            fail_msg("'%s' arrived %zu times", want, cl_count(t, want));
    }
    cl_expect(t, "plain", 0, 12);
    assert_int_equal(cl_count(t, "no end"), 1);
    assert_int_equal(t->n_recs, 37);
}

/* Collects with allocations failing from some point on, then with memory
 * back: nothing is lost, nothing comes twice, and after a restart on the
 * checkpoints nothing is read again (nothing was acknowledged that was not
 * delivered, nothing delivered stays unacknowledged). */
static void cl_torture_body(struct torture *tt, void *arg)
{
    struct cl *t = arg;
    char cmd[600];
    int i;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s/checkpoints'", t->state);
    assert_int_equal(system(cmd), 0);
    cl_recs_free(t);
    if (!cl_try_start(t))
        return; /* refused to start, and said so: fine */
    for (i = 0; i < 4; i++) {
        cl_collect(t, true);
        cl_tick(1500);
    }
    torture_disarm(tt);
    cl_drain(t, 20);
    cl_tick(3000); /* the unended line times out */
    cl_drain(t, 20);
    cl_torture_expect(t);
    cl_stop(t, true);
    cl_start(t);
    cl_drain(t, 5);
    assert_int_equal(t->n_recs, 37);
    cl_stop(t, true);
}

static void survives_every_allocation_failure(void **state)
{
    struct cl *t = *state;

    cl_torture_files(t);
    cl_opts(t, "paths: [\"%s/t/*.log\"]\n");
    torture_run(cl_torture_body, t, 0);
}

/* The same through the multiline rules (a Java trace in a plain file). */
static void cl_torture_ml_body(struct torture *tt, void *arg)
{
    struct cl *t = arg;
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s/checkpoints'", t->state);
    assert_int_equal(system(cmd), 0);
    cl_recs_free(t);
    if (!cl_try_start(t))
        return;
    cl_collect(t, true);
    cl_tick(1500);
    cl_collect(t, true);
    torture_disarm(tt);
    cl_drain(t, 10);
    cl_tick(3000);
    cl_drain(t, 10);
    assert_int_equal(cl_count(t, "2026-12-02 10:00:00 ERROR boom"), 1);
    assert_int_equal(cl_count(t, "java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)\n\tat "
                                 "a.B.d(B.java:2)"),
                     1);
    assert_int_equal(cl_count(t, "2026-12-02 10:00:01 INFO fine"), 1);
    assert_int_equal(cl_count(t, "2026-12-02 10:00:02 INFO last"), 1);
    assert_int_equal(t->n_recs, 4);
    cl_stop(t, true);
}

static void multiline_survives_every_allocation_failure(void **state)
{
    struct cl *t = *state;

    cl_mkdirs(t, "m");
    cl_append(t, "m/app.log",
              "2026-12-02 10:00:00 ERROR boom\njava.lang.IllegalStateException: x\n"
              "\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)\n2026-12-02 10:00:01 INFO fine\n"
              "2026-12-02 10:00:02 INFO last\n");
    cl_opts(t, "paths: [\"%s/m/*.log\"]\nformat: raw\nmultiline: { preset: java, timeout: 1s }\n");
    torture_run(cl_torture_ml_body, t, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(same_first_kib_files_are_all_read, cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(copy_shorter_than_the_offset_then_renamed, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(copy_seen_after_the_original_was_refilled, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(copy_still_being_written_is_not_read_again, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(look_alike_is_not_held_and_a_held_copy_is_released,
                                        cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(fragment_waits_while_bytes_remain_unread, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(fragment_at_the_end_times_out, cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(message_split_across_a_rotation_is_joined, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(truncated_and_rewritten_before_looked, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(rewritten_again_before_the_first_read, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(cut_first_line_does_not_decide_the_format, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(deleted_file_is_read_to_its_end, cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(graceful_restart_across_rename_loses_and_repeats_nothing,
                                        cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(crash_across_rename_repeats_only_what_was_not_checkpointed,
                                        cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(restart_reads_gzipped_and_unseen_rotated_files, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(rotated_and_deleted_while_down_is_counted, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(restart_across_docker_max_file_rotation, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(rotated_file_compressed_while_listed_is_read_in_its_place,
                                        cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(gzipped_files_waiting_their_turn_are_read_in_order,
                                        cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(found_rotated_file_is_read_before_the_live_one_rotates,
                                        cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(unread_live_file_compressed_is_not_read_twice, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(file_rotated_away_between_two_scans_is_read, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(closed_file_rotated_away_is_found_again, cl_setup,
                                        cl_teardown),
        cmocka_unit_test_setup_teardown(survives_every_allocation_failure, cl_setup, cl_teardown),
        cmocka_unit_test_setup_teardown(multiline_survives_every_allocation_failure, cl_setup,
                                        cl_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

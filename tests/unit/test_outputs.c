/*
 * test_outputs.c - the file, stdout and discard outputs and the generator
 * collector, driven through a real pipeline the way the engine drives them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "pipeline_internal.h"
#include "read_file.h"
#include "scripted_output.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

extern const struct vg_output_ops vg_output_file;
extern const struct vg_output_ops vg_output_stdout;
extern const struct vg_output_ops vg_output_discard;
extern const struct vg_collector_ops vg_collector_generator;

/* ---- option tables filled the way the config loader does ---- */

static void *to_ctx_defaults(const struct vg_option *t, size_t size)
{
    void *ctx = calloc(1, size);

    assert_non_null(ctx);
    for (; t->name != NULL; t++) {
        char *at = (char *)ctx + t->offset;

        if (t->type == VG_OPT_INT) {
            int64_t v = t->def != NULL ? strtoll(t->def, NULL, 10) : 0;

            memcpy(at, &v, sizeof(v));
        } else if (t->type == VG_OPT_BOOL) {
            bool v = t->def != NULL && strcmp(t->def, "true") == 0;

            memcpy(at, &v, sizeof(v));
        } else if (t->type == VG_OPT_STR) {
            char *v = t->def != NULL ? strdup(t->def) : NULL;

            memcpy(at, &v, sizeof(v));
        } else {
            fail_msg("option %s: type not handled by the test", t->name);
        }
    }
    return ctx;
}

static const struct vg_option *to_find(const struct vg_option *t, const char *name)
{
    for (; t->name != NULL; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    fail_msg("no option %s", name);
    return NULL;
}

static void to_set_int(const struct vg_option *t, void *ctx, const char *name, int64_t v)
{
    t = to_find(t, name);
    assert_int_equal(t->type, VG_OPT_INT);
    memcpy((char *)ctx + t->offset, &v, sizeof(v));
}

static void to_set_str(const struct vg_option *t, void *ctx, const char *name, const char *v)
{
    char **at;

    t = to_find(t, name);
    assert_int_equal(t->type, VG_OPT_STR);
    at = (char **)((char *)ctx + t->offset);
    free(*at);
    *at = strdup(v);
}

/* ---- fixture ---- */

struct to {
    char dir[64];
    struct vg_pipeline *p;
    struct vg_collector c;
    struct vg_emit e;
    struct vg_output_settings os;
    enum vg_record_schema schema; /* of the outputs to_add_output makes */
    int64_t next_n;
};

static int to_setup(void **state)
{
    struct to *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-test-outputs-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->os.queue_max_bytes = 1 << 20;
    f->os.queue_max_batches = 64;
    f->os.retry_backoff_ms = 5;
    f->os.retry_backoff_max_ms = 20;
    f->c.name = "test";
    *state = f;
    return 0;
}

static int to_teardown(void **state)
{
    struct to *f = *state;
    char cmd[128];

    if (f->p != NULL)
        vg_pipeline_destroy(f->p);
    if (f->c.ops != NULL) {
        if (f->c.ops->destroy != NULL)
            f->c.ops->destroy(&f->c);
        vg_options_free(f->c.ops->options, f->c.ctx);
        free(f->c.ctx);
    }
    /* the folder is ours (mkdtemp) and holds only what the test wrote */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void to_pipeline(struct to *f, uint64_t batch_records)
{
    struct vg_pipeline_settings s = {
        .batch_max_records = batch_records, .batch_max_bytes = 1 << 20, .dead_letter_dir = f->dir};

    f->p = vg_pipeline_create(&s);
    assert_non_null(f->p);
    f->e.sink = vg_pipeline_sink(f->p, &f->c);
    assert_non_null(f->e.sink);
}

/* Initialises an output of ops with ctx and hands it to the pipeline. */
static void to_add_output(struct to *f, const struct vg_output_ops *ops, void *ctx,
                          const char *name)
{
    struct vg_output *o = calloc(1, sizeof(*o));
    struct vg_error err = {0};

    assert_non_null(o);
    o->ops = ops;
    o->name = strdup(name);
    o->ctx = ctx;
    o->record_schema = f->schema;
    if (ops->init != NULL)
        assert_int_equal(ops->init(o, NULL, &err), VG_OK);
    assert_int_equal(vg_pipeline_add_output(f->p, o, &f->os, &err), VG_OK);
}

static void to_start(struct to *f)
{
    struct vg_error err = {0};

    assert_int_equal(vg_pipeline_start(f->p, &err), VG_OK);
}

static void to_emit(struct to *f, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        struct vg_record *r = vg_emit_record(&f->e, 0, "line", 4);

        assert_non_null(r);
        f->next_n++;
        assert_int_equal(vg_record_set_int(&f->e, r, "n", f->next_n), VG_OK);
    }
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
}

static uint64_t to_wait_acked(struct to *f, uint64_t records, int timeout_ms)
{
    int64_t deadline = vg_mono_ns() + timeout_ms * VG_NS_PER_MS;
    struct pollfd pfd = {vg_pipeline_ack_fd(f->p), POLLIN, 0};

    while (vg_sink_acked_total(f->e.sink) < records && vg_mono_ns() < deadline) {
        poll(&pfd, 1, 10);
        vg_pipeline_process_acks(f->p);
    }
    return vg_sink_acked_total(f->e.sink);
}

/* Checks that path holds exactly the records n = first .. first+count-1. */
static void to_check_file(const char *path, int64_t first, size_t count)
{
    char line[1024], want[64];
    size_t n = 0;
    FILE *fp = fopen(path, "r");

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        snprintf(want, sizeof(want), ",\"n\":%lld}\n", (long long)(first + (int64_t)n));
        assert_non_null(strstr(line, want));
        assert_memory_equal(line, "{\"time\":\"1970-01-01T00:00:00.000000000Z\",\"body\":\"line\"",
                            54);
        n++;
    }
    fclose(fp);
    assert_int_equal(n, count);
}

static void *to_file_ctx(const char *path)
{
    void *ctx = to_ctx_defaults(vg_output_file.options, vg_output_file.ctx_size);

    to_set_str(vg_output_file.options, ctx, "path", path);
    return ctx;
}

/* ---- file ---- */

static void file_writes_one_json_line_per_record(void **state)
{
    struct to *f = *state;
    char path[128];
    struct stat st;
    mode_t mask = umask(0);

    umask(mask);
    snprintf(path, sizeof(path), "%s/out.ndjson", f->dir);
    to_pipeline(f, 4);
    to_add_output(f, &vg_output_file, to_file_ctx(path), "file");
    to_start(f);
    to_emit(f, 10);
    assert_int_equal(to_wait_acked(f, 10, 5000), 10);
    to_check_file(path, 1, 10);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640 & ~mask);
}

/* record_schema: the lines are the records in the schema asked for. */
static void file_writes_the_record_schema_asked_for(void **state)
{
    struct to *f = *state;
    char path[128], *got;

    snprintf(path, sizeof(path), "%s/out.ndjson", f->dir);
    f->schema = VG_RECORD_SCHEMA_ECS;
    to_pipeline(f, 4);
    to_add_output(f, &vg_output_file, to_file_ctx(path), "file");
    to_start(f);
    to_emit(f, 2);
    assert_int_equal(to_wait_acked(f, 2, 5000), 2);
    got = test_read_file(path, NULL);
    assert_string_equal(got, "{\"@timestamp\":\"1970-01-01T00:00:00.000000000Z\","
                             "\"message\":\"line\",\"n\":1}\n"
                             "{\"@timestamp\":\"1970-01-01T00:00:00.000000000Z\","
                             "\"message\":\"line\",\"n\":2}\n");
    free(got);
}

static void file_missing_folder_is_retried_until_it_appears(void **state)
{
    struct to *f = *state;
    struct vg_output_stats st;
    char dir[128], path[160];
    int64_t deadline = vg_mono_ns() + 5 * VG_NS_PER_SEC;

    snprintf(dir, sizeof(dir), "%s/later", f->dir);
    snprintf(path, sizeof(path), "%s/out.ndjson", dir);
    to_pipeline(f, 100);
    to_add_output(f, &vg_output_file, to_file_ctx(path), "file");
    to_start(f);
    to_emit(f, 3);
    do {
        usleep(2000);
        assert_int_equal(vg_pipeline_output_stats(f->p, "file", &st), VG_OK);
    } while (st.retries < 2 && vg_mono_ns() < deadline);
    assert_true(st.retries >= 2);
    assert_false(st.up);
    assert_non_null(strstr(st.last_reason, path));
    assert_non_null(strstr(st.last_reason, "No such file or directory"));
    assert_int_equal(vg_sink_acked_total(f->e.sink), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(to_wait_acked(f, 3, 5000), 3);
    to_check_file(path, 1, 3);
    assert_int_equal(vg_pipeline_output_stats(f->p, "file", &st), VG_OK);
    assert_true(st.up);
    assert_int_equal(st.sent, 3);
}

static void file_reopens_after_rename(void **state)
{
    struct to *f = *state;
    char path[128], rotated[140];

    snprintf(path, sizeof(path), "%s/out.ndjson", f->dir);
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    to_pipeline(f, 100);
    to_add_output(f, &vg_output_file, to_file_ctx(path), "file");
    to_start(f);
    to_emit(f, 2);
    assert_int_equal(to_wait_acked(f, 2, 5000), 2);
    assert_int_equal(rename(path, rotated), 0);
    vg_pipeline_reopen(f->p);
    to_emit(f, 3);
    assert_int_equal(to_wait_acked(f, 5, 5000), 5);
    to_check_file(rotated, 1, 2);
    to_check_file(path, 3, 3);
}

static void file_refuses_a_bad_mode(void **state)
{
    struct vg_output o = {.ops = &vg_output_file, .name = "file"};
    struct vg_error err = {0};

    o.ctx = to_file_ctx("/tmp/unused");
    to_set_str(vg_output_file.options, o.ctx, "mode", "rw-r");
    assert_int_equal(vg_output_file.init(&o, NULL, &err), VG_ECONFIG);
    assert_non_null(strstr(err.msg, "mode 'rw-r'"));
    vg_output_file.destroy(&o);
    vg_options_free(vg_output_file.options, o.ctx);
    free(o.ctx);
}

/* ---- stdout ---- */

/* What the stdout output writes of two records "a" and "b" in schema,
 * into got (size bytes, NUL-terminated). */
static void to_stdout_send(struct to *f, enum vg_record_schema schema, char *got, size_t size)
{
    struct vg_output o = {.ops = &vg_output_stdout, .name = "stdout", .record_schema = schema};
    struct vg_error err = {0};
    char path[128];
    int fd, saved;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stdout", f->dir);
    to_pipeline(f, 100);
    o.ctx = to_ctx_defaults(vg_output_stdout.options, vg_output_stdout.ctx_size);
    assert_int_equal(vg_output_stdout.init(&o, NULL, &err), VG_OK);
    assert_non_null(vg_emit_record(&f->e, 0, "a", 1));
    assert_non_null(vg_emit_record(&f->e, 0, "b", 1));
    fflush(stdout);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    saved = dup(STDOUT_FILENO);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, STDOUT_FILENO);
    /* the open batch is a complete batch as far as send() can tell */
    assert_int_equal(vg_output_stdout.send(&o, f->e.sink->open), VG_SEND_OK);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    memset(got, 0, size);
    n = pread(fd, got, size - 1, 0);
    close(fd);
    assert_true(n > 0);
    vg_output_stdout.destroy(&o);
    vg_options_free(vg_output_stdout.options, o.ctx);
    free(o.ctx);
}

static void stdout_writes_the_batch_to_fd_1(void **state)
{
    char got[512];

    to_stdout_send(*state, VG_RECORD_SCHEMA_DEFAULT, got, sizeof(got));
    assert_string_equal(got, "{\"time\":\"1970-01-01T00:00:00.000000000Z\",\"body\":\"a\"}\n"
                             "{\"time\":\"1970-01-01T00:00:00.000000000Z\",\"body\":\"b\"}\n");
}

static void stdout_writes_the_record_schema_asked_for(void **state)
{
    char got[512];

    to_stdout_send(*state, VG_RECORD_SCHEMA_OTEL, got, sizeof(got));
    assert_string_equal(got, "{\"timestamp\":\"1970-01-01T00:00:00.000000000Z\",\"body\":\"a\"}\n"
                             "{\"timestamp\":\"1970-01-01T00:00:00.000000000Z\",\"body\":\"b\"}\n");
}

/* ---- line streams ---- */

/* n records with a body of len 'x' in the sink's open batch. */
static struct vg_batch *to_long_records(struct to *f, int n, size_t len)
{
    char *body = malloc(len);
    int i;

    assert_non_null(body);
    memset(body, 'x', len);
    for (i = 0; i < n; i++)
        assert_non_null(vg_emit_record(&f->e, 0, body, len));
    free(body);
    return f->e.sink->open;
}

/* Reads what fd (non-blocking) holds into out; returns the bytes. */
static size_t to_read_all(int fd, char *out, size_t cap)
{
    size_t got = 0;
    ssize_t n;

    while (got < cap) {
        n = read(fd, out + got, cap - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* Every line of data[0..n) up to its last newline is one whole record of
 * a body of len 'x'; returns the lines. */
static size_t to_whole_lines(const char *data, size_t n, size_t len)
{
    const char *p = data, *end = data + n, *nl;
    size_t lines = 0;

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        assert_true(strncmp(p, "{\"time\":\"1970-", 14) == 0);
        assert_int_equal((size_t)(nl - p), len + strlen("{\"time\":\"1970-01-01T00:00:00."
                                                        "000000000Z\",\"body\":\"\"}"));
        p = nl + 1;
        lines++;
    }
    return lines;
}

/* A pipe nobody reads: the send gives up after a second of no progress,
 * and what went in is whole lines (writes end at line ends). */
static void ostream_gives_up_on_a_stalled_pipe_after_a_second(void **state)
{
    struct to *f = *state;
    struct vg_output o = {.ops = &vg_output_stdout, .name = "t"};
    static char got[1 << 17];
    struct vg_ostream s;
    struct vg_batch *b;
    int p[2];
    int64_t t0, took;
    size_t n;

    to_pipeline(f, 5000);
    b = to_long_records(f, 2000, 200);
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    fcntl(p[1], F_SETFL, 0); /* blocking, as a shared stdout is */
    vg_ostream_init(&s);
    assert_int_equal(vg_ostream_attach(&s, p[1], true), VG_OSTREAM_NONBLOCK);
    assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK); /* the shared one is left as it was */
    t0 = vg_mono_ns();
    assert_int_equal(vg_ostream_send(&s, &o, b), VG_EAGAIN);
    took = vg_mono_ns() - t0;
    assert_true(took >= VG_OSTREAM_STALL_MS * VG_NS_PER_MS);
    assert_true(took < (VG_OSTREAM_STALL_MS + 500) * VG_NS_PER_MS);
    n = to_read_all(p[0], got, sizeof(got));
    assert_true(n > 0 && got[n - 1] == '\n');
    assert_true(to_whole_lines(got, n, 200) > 100);
    assert_int_equal(s.rest.len, 0); /* nothing cut */
    vg_ostream_free(&s);
    close(p[0]);
    close(p[1]);
}

/* Lines longer than PIPE_BUF go in pieces, so a stall may cut one: the next
 * send finishes it before anything else. */
static void ostream_finishes_a_cut_line_first(void **state)
{
    struct to *f = *state;
    struct vg_output o = {.ops = &vg_output_stdout, .name = "t"};
    static char got[1 << 18];
    struct vg_ostream s;
    struct vg_batch *b;
    size_t n, lines;
    int p[2];

    to_pipeline(f, 5000);
    b = to_long_records(f, 10, 10000);
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    vg_ostream_init(&s);
    assert_int_equal(vg_ostream_attach(&s, p[1], false), VG_OSTREAM_NONBLOCK);
    assert_int_equal(vg_ostream_send(&s, &o, b), VG_EAGAIN);
    n = to_read_all(p[0], got, sizeof(got));
    assert_true(s.rest_off < s.rest.len); /* a line was cut ... */
    assert_true(n > 0 && got[n - 1] != '\n');
    lines = to_whole_lines(got, n, 10000);
    /* ... and is finished first: without an engine every record is sent
     * again after it, up to the next stall */
    assert_int_equal(vg_ostream_send(&s, &o, b), VG_EAGAIN);
    n += to_read_all(p[0], got + n, sizeof(got) - n);
    assert_true(to_whole_lines(got, n, 10000) > lines);
    vg_ostream_free(&s);
    close(p[0]);
    close(p[1]);
}

/* ---- discard ---- */

static void discard_fail_first_exercises_the_retry_path(void **state)
{
    struct to *f = *state;
    struct vg_output_stats st;
    void *ctx = to_ctx_defaults(vg_output_discard.options, vg_output_discard.ctx_size);

    to_set_int(vg_output_discard.options, ctx, "fail_first", 3);
    to_pipeline(f, 5);
    to_add_output(f, &vg_output_discard, ctx, "discard");
    to_start(f);
    to_emit(f, 10);
    assert_int_equal(to_wait_acked(f, 10, 5000), 10);
    assert_int_equal(vg_pipeline_output_stats(f->p, "discard", &st), VG_OK);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.sent, 10);
    assert_int_equal(st.dropped, 0);
    assert_non_null(strstr(st.last_reason, "fail_first"));
}

static void discard_drop_every_exercises_dead_letters(void **state)
{
    struct to *f = *state;
    struct vg_output_stats st;
    void *ctx = to_ctx_defaults(vg_output_discard.options, vg_output_discard.ctx_size);
    char path[128], line[1024];
    size_t lines = 0;
    FILE *fp;

    to_set_int(vg_output_discard.options, ctx, "drop_every", 2);
    to_pipeline(f, 2);
    to_add_output(f, &vg_output_discard, ctx, "discard");
    to_start(f);
    to_emit(f, 8); /* batches 2 and 4 are dropped */
    assert_int_equal(to_wait_acked(f, 8, 5000), 8);
    assert_int_equal(vg_pipeline_output_stats(f->p, "discard", &st), VG_OK);
    assert_int_equal(st.sent, 4);
    assert_int_equal(st.dropped, 4);
    /* default place: <dead_letter_dir>/<output>.ndjson */
    snprintf(path, sizeof(path), "%s/discard.ndjson", f->dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        assert_non_null(strstr(line, "\"reason\":\"drop_every: dropping batch"));
        lines++;
    }
    fclose(fp);
    assert_int_equal(lines, 4);
}

/* ---- generator ---- */

static void *to_generator(struct to *f, int64_t rate, int64_t batch, int64_t count)
{
    struct vg_error err = {0};
    void *ctx = to_ctx_defaults(vg_collector_generator.options, vg_collector_generator.ctx_size);

    to_set_int(vg_collector_generator.options, ctx, "rate", rate);
    to_set_int(vg_collector_generator.options, ctx, "batch", batch);
    to_set_int(vg_collector_generator.options, ctx, "count", count);
    f->c.ops = &vg_collector_generator;
    f->c.name = "gen";
    f->c.ctx = ctx;
    assert_int_equal(vg_collector_generator.init(&f->c, NULL, &err), VG_OK);
    return ctx;
}

/* One collection as the engine runs it: collect, then flush the sink. */
static void to_collect(struct to *f)
{
    assert_int_equal(vg_collector_generator.collect(&f->c, &f->e), VG_OK);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
}

static void generator_seq_is_contiguous_across_pauses(void **state)
{
    struct to *f = *state;
    struct scripted_out *rec = scripted_out_new(SCRIPTED_GATED, 0);
    size_t i;

    rec->field = "seq";
    rec->str_field = "generator";
    f->os.queue_max_batches = 1;
    to_pipeline(f, 100);
    to_add_output(f, &scripted_output_ops, rec, "rec");
    to_start(f);
    to_generator(f, 0, 10, 35);
    to_collect(f);
    assert_int_equal(vg_sink_records_total(f->e.sink), 10);
    assert_true(vg_sink_paused(f->e.sink));
    to_collect(f); /* paused: nothing emitted, nothing skipped */
    assert_int_equal(vg_sink_records_total(f->e.sink), 10);
    scripted_open_gate(rec);
    assert_int_equal(to_wait_acked(f, 10, 5000), 10);
    for (i = 0; i < 4; i++) {
        to_collect(f);
        to_wait_acked(f, vg_sink_records_total(f->e.sink), 5000);
    }
    assert_int_equal(vg_sink_records_total(f->e.sink), 35);
    assert_int_equal(vg_sink_acked_total(f->e.sink), 35);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + VG_NS_PER_SEC), VG_OK);
    assert_int_equal(rec->n_delivered, 35);
    for (i = 0; i < 35; i++)
        assert_int_equal(rec->delivered[i], (int64_t)i + 1);
    assert_string_equal(rec->last_str, "gen");
    assert_string_equal(rec->last_body, "vigil generator record");
}

static void generator_keeps_its_rate_against_elapsed_time(void **state)
{
    struct to *f = *state;
    int64_t t_before_init, t_after_init, t_before_collect, t_after_collect;
    uint64_t n, lo, hi;

    to_pipeline(f, 1000);
    t_before_init = vg_mono_ns();
    to_generator(f, 200, 1000, 0);
    t_after_init = vg_mono_ns();
    usleep(100 * 1000);
    t_before_collect = vg_mono_ns();
    to_collect(f);
    t_after_collect = vg_mono_ns();
    n = vg_sink_records_total(f->e.sink);
    /* the generator's clock started inside init and was read inside collect */
    lo = (uint64_t)(200 * (t_before_collect - t_after_init) / VG_NS_PER_SEC);
    hi = (uint64_t)(200 * (t_after_collect - t_before_init) / VG_NS_PER_SEC);
    assert_true(n >= lo);
    assert_true(n <= hi);
    assert_true(n >= 19);
}

static void generator_is_capped_by_batch_and_catches_up(void **state)
{
    struct to *f = *state;

    to_pipeline(f, 1000);
    to_generator(f, 1000000, 50, 120);
    usleep(10 * 1000); /* 10,000 records due, 50 per collection */
    to_collect(f);
    assert_int_equal(vg_sink_records_total(f->e.sink), 50);
    to_collect(f);
    assert_int_equal(vg_sink_records_total(f->e.sink), 100);
    to_collect(f);
    assert_int_equal(vg_sink_records_total(f->e.sink), 120);
    to_collect(f);
    assert_int_equal(vg_sink_records_total(f->e.sink), 120);
}

int main(void)
{
#define TO_TEST(name) cmocka_unit_test_setup_teardown(name, to_setup, to_teardown)
    const struct CMUnitTest tests[] = {
        TO_TEST(file_writes_one_json_line_per_record),
        TO_TEST(file_writes_the_record_schema_asked_for),
        TO_TEST(file_missing_folder_is_retried_until_it_appears),
        TO_TEST(file_reopens_after_rename),
        cmocka_unit_test(file_refuses_a_bad_mode),
        TO_TEST(stdout_writes_the_batch_to_fd_1),
        TO_TEST(stdout_writes_the_record_schema_asked_for),
        TO_TEST(ostream_gives_up_on_a_stalled_pipe_after_a_second),
        TO_TEST(ostream_finishes_a_cut_line_first),
        TO_TEST(discard_fail_first_exercises_the_retry_path),
        TO_TEST(discard_drop_every_exercises_dead_letters),
        TO_TEST(generator_seq_is_contiguous_across_pauses),
        TO_TEST(generator_keeps_its_rate_against_elapsed_time),
        TO_TEST(generator_is_capped_by_batch_and_catches_up),
    };
#undef TO_TEST

    /* quiet: the failures below are on purpose */
    vg_log_setup((enum vg_log_level)(VG_LOG_ERROR + 1), false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

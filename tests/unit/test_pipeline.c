/*
 * test_pipeline.c - queues, workers and the ack path with outputs defined
 * here: retries with bounded backoff, order and exactly-once acks, dead
 * letters, two outputs of different speeds, queue limits and pausing, drain
 * deadlines, zero outputs, and batch recycling under a million records.
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

#include "core.h"
#include "pipeline_internal.h"
#include "process.h"
#include "scripted_output.h"
#include "torture.h"

#define TP_MAX_ACKS 4096

/* ---- a collector that records its acks ---- */

struct tp_acks {
    struct vg_ack v[TP_MAX_ACKS];
    size_t n;
};

static void tp_ack(struct vg_collector *c, const struct vg_ack *ack)
{
    struct tp_acks *a = c->ctx;

    if (a->n < TP_MAX_ACKS)
        a->v[a->n] = *ack;
    a->n++;
}

static const struct vg_collector_ops tp_collector_ops = {.name = "testc", .ack = tp_ack};

/* ---- fixture ---- */

struct tp {
    char dir[64];
    char dl_path[128];
    struct vg_pipeline *p;
    struct vg_collector c;
    struct tp_acks acks;
    struct vg_emit e;
    struct vg_output_settings os;
    int64_t next_n;
};

static int tp_setup(void **state)
{
    struct tp *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-test-pipeline-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->dl_path, sizeof(f->dl_path), "%s/dead.ndjson", f->dir);
    f->os.queue_max_bytes = 1 << 20;
    f->os.queue_max_batches = 64;
    f->os.retry_limit = 0;
    f->os.retry_backoff_ms = 10;
    f->os.retry_backoff_max_ms = 80;
    f->os.dead_letter_path = f->dl_path;
    f->c.ops = &tp_collector_ops;
    f->c.name = "testc";
    f->c.ctx = &f->acks;
    *state = f;
    return 0;
}

static int tp_teardown(void **state)
{
    struct tp *f = *state;

    vg_alloc_reset(); /* a torture test that failed an assertion left it armed */
    if (f->p != NULL)
        vg_pipeline_destroy(f->p);
    unlink(f->dl_path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void tp_create(struct tp *f, uint64_t batch_records)
{
    struct vg_pipeline_settings s = {
        .batch_max_records = batch_records, .batch_max_bytes = 1 << 20, .dead_letter_dir = f->dir};

    f->p = vg_pipeline_create(&s);
    assert_non_null(f->p);
    f->e.sink = vg_pipeline_sink(f->p, &f->c);
    assert_non_null(f->e.sink);
}

static struct scripted_out *tp_add(struct tp *f, const char *name, enum scripted_mode mode,
                                   int fail_n)
{
    struct vg_output *o = calloc(1, sizeof(*o));
    struct vg_error err = {0};
    struct scripted_out *t;

    assert_non_null(o);
    o->ops = strcmp(name, "grouped") == 0 ? &scripted_group_ops : &scripted_output_ops;
    o->name = strdup(name);
    t = scripted_out_new(mode, fail_n);
    o->ctx = t;
    assert_int_equal(vg_pipeline_add_output(f->p, o, &f->os, &err), VG_OK);
    return t;
}

static void tp_start(struct tp *f)
{
    struct vg_error err = {0};

    assert_int_equal(vg_pipeline_start(f->p, &err), VG_OK);
}

/* Emits n records with a field n (1, 2, ...) and source 7, offset n. */
static void tp_emit(struct tp *f, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        struct vg_record *r = vg_emit_record(&f->e, vg_now_ns(), "record", 6);

        assert_non_null(r);
        f->next_n++;
        r->source_id = 7;
        r->offset = (uint64_t)f->next_n;
        assert_int_equal(vg_record_set_int(&f->e, r, "n", f->next_n), VG_OK);
    }
}

/* Runs the ack path like the engine until `records` were acknowledged or
 * the timeout passes; returns the records acknowledged. */
static uint64_t tp_wait_acked(struct tp *f, uint64_t records, int timeout_ms)
{
    int64_t deadline = vg_mono_ns() + timeout_ms * VG_NS_PER_MS;
    struct pollfd pfd = {vg_pipeline_ack_fd(f->p), POLLIN, 0};

    while (vg_sink_acked_total(f->e.sink) < records && vg_mono_ns() < deadline) {
        poll(&pfd, 1, 10);
        vg_pipeline_process_acks(f->p);
    }
    return vg_sink_acked_total(f->e.sink);
}

static void tp_wait_sends(atomic_int *sends, int n, int timeout_ms)
{
    int64_t deadline = vg_mono_ns() + timeout_ms * VG_NS_PER_MS;

    while (atomic_load(sends) < n && vg_mono_ns() < deadline)
        usleep(1000);
}

/* Acks must come in order, contiguous, each batch once. */
static void tp_check_acks(struct tp *f, uint64_t records, uint64_t batch)
{
    uint64_t expect = 0, total = 0;
    size_t i;

    for (i = 0; i < f->acks.n; i++) {
        assert_int_equal(f->acks.v[i].source_id, 7);
        expect += f->acks.v[i].records;
        assert_int_equal(f->acks.v[i].offset, expect);
        if (i + 1 < f->acks.n)
            assert_int_equal(f->acks.v[i].records, batch);
        total += f->acks.v[i].records;
    }
    assert_int_equal(total, records);
}

static size_t tp_count_lines(const char *path, const char *needle)
{
    char line[4096];
    size_t n = 0;
    FILE *fp = fopen(path, "r");

    if (fp == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (needle == NULL || strstr(line, needle) != NULL)
            n++;
    fclose(fp);
    return n;
}

/* ---- tests ---- */

static void retries_with_bounded_backoff_then_delivers_in_order(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    struct vg_output_stats st;
    /* equal jitter: retry k waits in [d/2, d], d = min(80, 10 * 2^(k-1)) */
    static const int64_t d_ms[] = {10, 20, 40, 80};
    size_t i;

    tp_create(f, 10);
    t = tp_add(f, "flaky", SCRIPTED_FAIL_N, 4);
    tp_start(f);
    tp_emit(f, 30);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 30, 5000), 30);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + VG_NS_PER_SEC), VG_OK);
    assert_int_equal(atomic_load(&t->sends), 4 + 3);
    for (i = 0; i < 4; i++) {
        int64_t gap = t->send_ns[i + 1] - t->send_ns[i];

        assert_true(gap >= d_ms[i] / 2 * VG_NS_PER_MS);
        assert_true(gap <= (d_ms[i] + 100) * VG_NS_PER_MS);
    }
    assert_int_equal(t->n_delivered, 30);
    for (i = 0; i < 30; i++)
        assert_int_equal(t->delivered[i], (int64_t)i + 1);
    tp_check_acks(f, 30, 10);
    assert_int_equal(f->acks.n, 3);
    assert_int_equal(vg_pipeline_output_stats(f->p, "flaky", &st), VG_OK);
    assert_int_equal(st.retries, 4);
    assert_int_equal(st.sent, 30);
    assert_int_equal(st.dropped, 0);
    assert_true(st.up);
    assert_string_equal(st.last_reason, "test failure 4");
}

static void dropped_batch_goes_to_dead_letter_and_ack_moves(void **state)
{
    struct tp *f = *state;
    struct vg_output_stats st;

    tp_create(f, 5);
    tp_add(f, "dropper", SCRIPTED_DROP, 0);
    tp_start(f);
    tp_emit(f, 10);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 10, 5000), 10);
    tp_check_acks(f, 10, 5);
    assert_int_equal(tp_count_lines(f->dl_path, NULL), 10);
    assert_int_equal(tp_count_lines(f->dl_path, "\"output\":\"dropper\","
                                                "\"reason\":\"rejected by the test\","
                                                "\"record\":{\"time\":"),
                     10);
    assert_int_equal(tp_count_lines(f->dl_path, "\"n\":7}}"), 1);
    assert_int_equal(vg_pipeline_output_stats(f->p, "dropper", &st), VG_OK);
    assert_int_equal(st.dropped, 10);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.dead_letter_records, 10);
}

static void one_rejected_record_is_dead_lettered_the_rest_sent(void **state)
{
    struct tp *f = *state;
    struct vg_output_stats st;

    tp_create(f, 4);
    tp_add(f, "picky", SCRIPTED_REJECT_ONE, 0);
    tp_start(f);
    tp_emit(f, 4);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 4, 5000), 4);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + VG_NS_PER_SEC), VG_OK);
    assert_int_equal(tp_count_lines(f->dl_path, NULL), 1);
    assert_int_equal(tp_count_lines(f->dl_path, "\"reason\":\"bad field\""), 1);
    assert_int_equal(tp_count_lines(f->dl_path, "\"n\":2}"), 1);
    assert_int_equal(vg_pipeline_output_stats(f->p, "picky", &st), VG_OK);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.dropped, 1);
}

static void retry_limit_sends_the_batch_to_dead_letter(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    struct vg_output_stats st;

    f->os.retry_limit = 2;
    f->os.retry_backoff_ms = 1;
    f->os.retry_backoff_max_ms = 2;
    tp_create(f, 3);
    t = tp_add(f, "hopeless", SCRIPTED_FAIL_N, -1);
    tp_start(f);
    tp_emit(f, 3);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 3, 5000), 3);
    assert_int_equal(atomic_load(&t->sends), 3);
    assert_int_equal(tp_count_lines(f->dl_path, "retry limit of 2 reached: test failure 3"), 3);
    assert_int_equal(vg_pipeline_output_stats(f->p, "hopeless", &st), VG_OK);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.dropped, 3);
    assert_false(st.up);
}

static void ack_waits_for_the_slower_output(void **state)
{
    struct tp *f = *state;
    struct scripted_out *fast, *slow;

    tp_create(f, 2);
    fast = tp_add(f, "fast", SCRIPTED_OK, 0);
    slow = tp_add(f, "slow", SCRIPTED_GATED, 0);
    tp_start(f);
    tp_emit(f, 6);
    vg_sink_flush(f->e.sink);
    tp_wait_sends(&fast->sends, 3, 5000);
    assert_int_equal(atomic_load(&fast->records), 6);
    /* the fast output delivered everything, the slow one nothing yet */
    assert_int_equal(tp_wait_acked(f, 1, 100), 0);
    assert_int_equal(f->acks.n, 0);
    scripted_open_gate(slow);
    assert_int_equal(tp_wait_acked(f, 6, 5000), 6);
    tp_check_acks(f, 6, 2);
    assert_int_equal(f->acks.n, 3);
}

static void queue_limits_pause_and_resume_the_sink(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    struct vg_output_stats st;

    f->os.queue_max_batches = 2;
    tp_create(f, 1);
    t = tp_add(f, "blocked", SCRIPTED_GATED, 0);
    tp_start(f);
    tp_emit(f, 1);
    vg_sink_flush(f->e.sink);
    assert_false(vg_sink_paused(f->e.sink));
    tp_emit(f, 1);
    vg_sink_flush(f->e.sink);
    assert_true(vg_sink_paused(f->e.sink));
    assert_true(vg_emit_paused(&f->e));
    /* never refused while paused: the limit is soft */
    tp_emit(f, 1);
    vg_sink_flush(f->e.sink);
    assert_int_equal(vg_pipeline_output_stats(f->p, "blocked", &st), VG_OK);
    assert_int_equal(st.queue_batches, 3);
    assert_true(st.queue_bytes > 0);
    scripted_open_gate(t);
    assert_int_equal(tp_wait_acked(f, 3, 5000), 3);
    assert_false(vg_sink_paused(f->e.sink));
}

static void queue_byte_limit_pauses_the_sink(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;

    f->os.queue_max_bytes = 64;
    tp_create(f, 100);
    t = tp_add(f, "blocked", SCRIPTED_GATED, 0);
    tp_start(f);
    tp_emit(f, 10); /* 10 * (6 + 1 + 8) bytes */
    vg_sink_flush(f->e.sink);
    assert_true(vg_sink_paused(f->e.sink));
    scripted_open_gate(t);
    assert_int_equal(tp_wait_acked(f, 10, 5000), 10);
    assert_false(vg_sink_paused(f->e.sink));
}

static void drain_stops_at_the_deadline_and_leaves_the_batch_unacked(void **state)
{
    struct tp *f = *state;
    int64_t t0, took;

    tp_create(f, 10);
    tp_add(f, "down", SCRIPTED_FAIL_N, -1);
    tp_start(f);
    tp_emit(f, 5);
    t0 = vg_mono_ns();
    /* drain flushes the open batch itself */
    assert_int_equal(vg_pipeline_drain(f->p, t0 + 200 * VG_NS_PER_MS), VG_EAGAIN);
    took = vg_mono_ns() - t0;
    assert_true(took >= 200 * VG_NS_PER_MS);
    assert_true(took < 500 * VG_NS_PER_MS);
    assert_int_equal(vg_sink_acked_total(f->e.sink), 0);
    assert_int_equal(f->acks.n, 0);
}

/* A send that never returns: drain gives its worker one second after the
 * deadline, then leaves it (and destroy frees nothing it may touch). */
static void drain_leaves_a_worker_whose_send_does_not_return(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    struct vg_outq *q;
    int64_t t0, took;

    tp_create(f, 10);
    t = tp_add(f, "blocked", SCRIPTED_GATED, 0);
    tp_start(f);
    tp_emit(f, 5);
    t0 = vg_mono_ns();
    assert_int_equal(vg_pipeline_drain(f->p, t0 + 200 * VG_NS_PER_MS), VG_EAGAIN);
    took = vg_mono_ns() - t0;
    assert_true(took >= 1200 * VG_NS_PER_MS);
    assert_true(took < 1700 * VG_NS_PER_MS);
    assert_int_equal(vg_sink_acked_total(f->e.sink), 0);
    q = f->p->outs[0];
    assert_true(q->abandoned && f->p->abandoned && q->started);
    /* the test lets the send return and joins the worker itself, so that
     * the teardown can free the pipeline */
    scripted_open_gate(t);
    assert_int_equal(pthread_join(q->thread, NULL), 0);
    q->started = q->abandoned = f->p->abandoned = false;
}

/* A dead letter that cannot be written keeps its batch unacknowledged and
 * the output down, and is written (and acknowledged) once it can be. */
static void dead_letters_that_cannot_be_written_stay_unacked(void **state)
{
    struct tp *f = *state;
    struct vg_output_stats st;
    char blocker[160], path[200];
    int fd;

    snprintf(blocker, sizeof(blocker), "%s/blocker", f->dir);
    snprintf(path, sizeof(path), "%s/dead.ndjson", blocker);
    fd = open(blocker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600); /* a file where a folder goes */
    assert_true(fd >= 0);
    close(fd);
    f->os.dead_letter_path = path;
    tp_create(f, 5);
    tp_add(f, "dropper", SCRIPTED_DROP, 0);
    tp_start(f);
    tp_emit(f, 10);
    vg_sink_flush(f->e.sink);
    usleep(300 * 1000);
    vg_pipeline_process_acks(f->p);
    assert_int_equal(vg_sink_acked_total(f->e.sink), 0);
    assert_int_equal(vg_pipeline_output_stats(f->p, "dropper", &st), VG_OK);
    assert_true(st.dead_letter_errors >= 2);
    assert_int_equal(st.dead_letter_records, 0);
    assert_int_equal(st.dropped, 0);
    assert_false(st.up);
    assert_int_equal(unlink(blocker), 0);
    assert_int_equal(tp_wait_acked(f, 10, 5000), 10);
    assert_int_equal(tp_count_lines(path, NULL), 10);
    assert_int_equal(vg_pipeline_output_stats(f->p, "dropper", &st), VG_OK);
    assert_int_equal(st.dead_letter_records, 10);
    assert_int_equal(st.dropped, 10);
    assert_true(st.up);
    unlink(path);
    rmdir(blocker);
}

static void drain_delivers_what_is_queued(void **state)
{
    struct tp *f = *state;

    tp_create(f, 10);
    tp_add(f, "ok", SCRIPTED_OK, 0);
    tp_start(f);
    tp_emit(f, 25);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + 2 * VG_NS_PER_SEC), VG_OK);
    assert_int_equal(vg_sink_acked_total(f->e.sink), 25);
    tp_check_acks(f, 25, 10);
}

static void zero_outputs_acknowledge_at_once(void **state)
{
    struct tp *f = *state;

    tp_create(f, 100);
    tp_start(f);
    tp_emit(f, 3);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
    vg_pipeline_process_acks(f->p);
    assert_int_equal(f->acks.n, 1);
    assert_int_equal(f->acks.v[0].offset, 3);
    assert_int_equal(f->acks.v[0].records, 3);
    assert_int_equal(vg_sink_acked_total(f->e.sink), 3);
}

/* Emits n records of source 7 through sink s. */
static void tp_emit_to(struct vg_sink *s, int n)
{
    struct vg_emit e = {.sink = s};
    int i;

    for (i = 0; i < n; i++) {
        struct vg_record *r = vg_emit_record(&e, vg_now_ns(), "record", 6);

        assert_non_null(r);
        r->source_id = 7;
        r->offset = (uint64_t)i + 1;
    }
    assert_int_equal(vg_sink_flush(s), VG_OK);
}

/* Routes: collector a goes to the first output only, b to the second (held
 * shut), c to none. a is acknowledged without waiting for the second
 * output, c at once, b only once its output delivers; each output saw only
 * what it takes. */
static void routes_acknowledge_each_collector_by_its_own_outputs(void **state)
{
    static const bool to_first[2] = {true, false}, to_second[2] = {false, true};
    static const bool to_none[2] = {false, false};
    struct tp *f = *state;
    static struct tp_acks acks[2];
    struct vg_collector cs[2] = {{.ops = &tp_collector_ops, .name = "b", .ctx = &acks[0]},
                                 {.ops = &tp_collector_ops, .name = "c", .ctx = &acks[1]}};
    struct scripted_out *first, *second;
    struct vg_sink *b, *c;
    int n;

    tp_create(f, 4);
    first = tp_add(f, "first", SCRIPTED_OK, 0);
    second = tp_add(f, "second", SCRIPTED_GATED, 0);
    b = vg_pipeline_sink(f->p, &cs[0]);
    c = vg_pipeline_sink(f->p, &cs[1]);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(vg_sink_route(f->e.sink, to_first), VG_OK);
    assert_int_equal(vg_sink_route(b, to_second), VG_OK);
    assert_int_equal(vg_sink_route(c, to_none), VG_OK);
    tp_start(f);
    tp_emit(f, 8);
    vg_sink_flush(f->e.sink);
    tp_emit_to(b, 4);
    tp_emit_to(c, 4);
    assert_int_equal(tp_wait_acked(f, 8, 5000), 8); /* not held by the second output */
    tp_check_acks(f, 8, 4);
    assert_int_equal(vg_sink_acked_total(c), 4);
    assert_int_equal(vg_sink_acked_total(b), 0);
    assert_int_equal(atomic_load(&first->records), 8);
    scripted_open_gate(second);
    vg_pipeline_process_acks(f->p);
    tp_wait_sends(&second->sends, 1, 5000);
    for (n = 0; n < 500 && vg_sink_acked_total(b) < 4; n++) {
        usleep(1000);
        vg_pipeline_process_acks(f->p);
    }
    assert_int_equal(vg_sink_acked_total(b), 4);
    assert_int_equal(atomic_load(&second->records), 4);
    assert_int_equal(atomic_load(&first->records), 8);
}

/* A filter of the tests: drops records whose body is "drop". */
static int tp_drop_run(void *ctx, struct vg_prec *pr)
{
    (void)ctx;
    return pr->r->body_len == 4 && memcmp(pr->r->body, "drop", 4) == 0 ? VG_FILTER_DROP
                                                                       : VG_FILTER_KEEP;
}

static void tp_drop_destroy(void *ctx)
{
    (void)ctx;
}

static const struct vg_option tp_no_options[] = {{NULL, 0, NULL, 0, NULL, 0, NULL}};
static const struct vg_filter_ops tp_drop_ops = {.name = "dropper",
                                                 .options = tp_no_options,
                                                 .ctx_size = 1,
                                                 .run = tp_drop_run,
                                                 .destroy = tp_drop_destroy};

/* A pipeline of batches of up to batch_records, one output, and a test
 * sink whose process drops "drop" records; started. */
static struct scripted_out *tp_dropping(struct tp *f, uint64_t batch_records, const char *name,
                                        enum scripted_mode mode)
{
    struct vg_process *p = vg_process_new();
    struct scripted_out *t;

    assert_non_null(p);
    tp_create(f, batch_records);
    t = tp_add(f, name, mode, 0);
    assert_int_equal(vg_process_add_filter(p, "dropper", &tp_drop_ops, calloc(1, 1)), VG_OK);
    vg_sink_set_process(f->e.sink, p);
    tp_start(f);
    return t;
}

/* Emits bodies[i] at offsets from next_n + 1 on, source 7. */
static void tp_emit_bodies(struct tp *f, const char *const *bodies, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct vg_record *r = vg_emit_record(&f->e, vg_now_ns(), bodies[i], strlen(bodies[i]));

        assert_non_null(r);
        r->source_id = 7;
        r->offset = (uint64_t)++f->next_n;
    }
}

/* Records a filter drops never reach an output, and their positions are
 * acknowledged with their batch: the last record dropped, the collector
 * still hears of its offset. */
static void dropped_records_are_acknowledged_with_their_batch(void **state)
{
    static const char *const bodies[] = {"keep", "drop", "keep", "drop", "drop",
                                         "keep", "keep", "drop", "drop", "drop"};
    struct tp *f = *state;
    struct scripted_out *t;

    t = tp_dropping(f, 4, "ok", SCRIPTED_OK);
    tp_emit_bodies(f, bodies, 10);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
    assert_int_equal(tp_wait_acked(f, 4, 5000), 4);
    for (int i = 0; i < 500 && (f->acks.n == 0 || f->acks.v[f->acks.n - 1].offset < 10); i++) {
        usleep(1000);
        vg_pipeline_process_acks(f->p);
    }
    assert_true(f->acks.n > 0);
    assert_int_equal(f->acks.v[f->acks.n - 1].offset, 10);
    assert_int_equal(atomic_load(&t->records), 4);
    assert_int_equal(vg_sink_dropped_total(f->e.sink), 6);
}

/* A batch whose records were all dropped goes to no output: it is
 * acknowledged at once, though the only output is shut, and after the
 * batch before it (which that output holds). */
static void a_batch_of_dropped_records_waits_only_for_the_batches_before_it(void **state)
{
    static const char *const kept[] = {"keep"};
    static const char *const dropped[] = {"drop", "drop", "drop"};
    struct tp *f = *state;
    struct scripted_out *t;

    t = tp_dropping(f, 100, "shut", SCRIPTED_GATED);
    tp_emit_bodies(f, dropped, 3);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
    vg_pipeline_process_acks(f->p);
    assert_int_equal(f->acks.n, 1);
    assert_int_equal(f->acks.v[0].offset, 3);
    assert_int_equal(f->acks.v[0].records, 0);
    tp_emit_bodies(f, kept, 1);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
    tp_emit_bodies(f, dropped, 3);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
    usleep(20000);
    vg_pipeline_process_acks(f->p);
    assert_int_equal(f->acks.n, 1); /* held behind the kept record */
    scripted_open_gate(t);
    for (int i = 0; i < 500 && f->acks.n < 3; i++) {
        usleep(1000);
        vg_pipeline_process_acks(f->p);
    }
    assert_int_equal(f->acks.n, 3);
    assert_int_equal(f->acks.v[1].offset, 4);
    assert_int_equal(f->acks.v[2].offset, 7);
    assert_int_equal(atomic_load(&t->records), 1);
}

static void reopen_runs_before_the_next_send(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;

    tp_create(f, 10);
    t = tp_add(f, "ok", SCRIPTED_OK, 0);
    tp_start(f);
    tp_emit(f, 1);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 1, 5000), 1);
    assert_int_equal(atomic_load(&t->reopens), 0);
    vg_pipeline_reopen(f->p);
    tp_emit(f, 1);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 2, 5000), 2);
    assert_int_equal(atomic_load(&t->reopens), 1);
}

static void invalid_settings_are_refused_naming_the_output(void **state)
{
    struct tp *f = *state;
    struct vg_output *o = calloc(1, sizeof(*o));
    struct vg_error err = {0};

    tp_create(f, 10);
    o->ops = &scripted_output_ops;
    o->name = strdup("bad");
    o->ctx = scripted_out_new(SCRIPTED_OK, 0);
    f->os.retry_backoff_ms = 5000;
    f->os.retry_backoff_max_ms = 1000;
    /* the pipeline owns o even on error: no leak under the sanitizer */
    assert_int_equal(vg_pipeline_add_output(f->p, o, &f->os, &err), VG_ECONFIG);
    assert_non_null(strstr(err.msg, "output bad:"));
    assert_non_null(strstr(err.msg, "retry_backoff"));
}

static void a_million_records_reuse_a_bounded_set_of_batches(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    struct pollfd pfd;
    size_t max_live = 0;
    int i;

    f->os.queue_max_batches = 8;
    tp_create(f, 1000);
    t = tp_add(f, "sink", SCRIPTED_OK, 0);
    tp_start(f);
    pfd.fd = vg_pipeline_ack_fd(f->p);
    pfd.events = POLLIN;
    for (i = 0; i < 1000; i++) {
        while (vg_sink_paused(f->e.sink)) {
            poll(&pfd, 1, 10);
            vg_pipeline_process_acks(f->p);
        }
        tp_emit(f, 1000);
        vg_sink_flush(f->e.sink);
        vg_pipeline_process_acks(f->p);
        if (vg_sink_batches_live(f->e.sink) > max_live)
            max_live = vg_sink_batches_live(f->e.sink);
    }
    assert_int_equal(tp_wait_acked(f, 1000000, 20000), 1000000);
    assert_int_equal(atomic_load(&t->records), 1000000);
    /* queue limit + one over it + the open batch + the free list */
    assert_true(max_live <= 8 + 1 + 1 + 16);
    assert_int_equal(f->acks.n, 1000);
}

static void partial_progress_survives_the_retry(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    struct vg_output_stats st;

    tp_create(f, 6);
    t = tp_add(f, "items", SCRIPTED_PARTIAL, 0);
    tp_start(f);
    tp_emit(f, 6);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 6, 5000), 6);
    assert_int_equal(atomic_load(&t->sends), 2);
    /* first send: n = 1, 3, 5; the retry sends only what was pending: 4, 6 */
    assert_int_equal(t->n_delivered, 5);
    assert_int_equal(t->delivered[0], 1);
    assert_int_equal(t->delivered[1], 3);
    assert_int_equal(t->delivered[2], 5);
    assert_int_equal(t->delivered[3], 4);
    assert_int_equal(t->delivered[4], 6);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + VG_NS_PER_SEC), VG_OK);
    assert_int_equal(tp_count_lines(f->dl_path, "mapper_parsing_exception"), 1);
    assert_int_equal(tp_count_lines(f->dl_path, "\"n\":2}"), 1);
    assert_int_equal(vg_pipeline_output_stats(f->p, "items", &st), VG_OK);
    assert_int_equal(st.sent, 5);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.retries, 1);
    /* the retry sent 4 and 6 again, not the whole batch */
    assert_int_equal(st.retried_records, 2);
}

static void stop_marks_the_output_down_until_it_recovers(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    struct vg_output_stats st;
    int i;

    f->os.retry_backoff_max_ms = 100;
    tp_create(f, 2);
    t = tp_add(f, "auth", SCRIPTED_STOP_N, 3);
    tp_start(f);
    tp_emit(f, 2);
    vg_sink_flush(f->e.sink);
    tp_wait_sends(&t->sends, 1, 5000);
    for (i = 0; i < 100 && !vg_pipeline_outputs_stopped(f->p); i++)
        usleep(1000);
    assert_true(vg_pipeline_outputs_stopped(f->p));
    assert_int_equal(vg_pipeline_output_stats(f->p, "auth", &st), VG_OK);
    assert_false(st.up);
    assert_non_null(strstr(st.last_reason, "credentials refused"));
    /* kept queued, tried again at retry_backoff_max, delivered once allowed */
    assert_int_equal(tp_wait_acked(f, 2, 5000), 2);
    assert_int_equal(atomic_load(&t->sends), 4);
    assert_false(vg_pipeline_outputs_stopped(f->p));
    assert_int_equal(vg_pipeline_output_stats(f->p, "auth", &st), VG_OK);
    assert_true(st.up);
    assert_int_equal(st.dropped, 0);
}

static void queued_batches_go_out_together_in_order(void **state)
{
    struct tp *f = *state;
    struct scripted_out *t;
    int64_t i;

    tp_create(f, 10);
    t = tp_add(f, "grouped", SCRIPTED_GATED, 0);
    tp_start(f);
    tp_emit(f, 10); /* the first batch: the worker holds it at the gate */
    vg_sink_flush(f->e.sink);
    tp_wait_sends(&t->sends, 1, 5000);
    tp_emit(f, 100); /* ten more batches queue up meanwhile */
    vg_sink_flush(f->e.sink);
    scripted_open_gate(t);
    assert_int_equal(tp_wait_acked(f, 110, 5000), 110);
    /* one send for the first batch, then 8 + 2 of the ten waiting */
    assert_int_equal(atomic_load(&t->sends), 3);
    assert_int_equal(t->n_delivered, 110);
    for (i = 0; i < 110; i++)
        assert_int_equal(t->delivered[i], i + 1);
    tp_check_acks(f, 110, 10);
}

static void dead_letter_file_is_rotated_at_its_limit(void **state)
{
    struct tp *f = *state;
    char rotated[4200];
    struct stat st;

    f->os.dead_letter_max_bytes = 600;
    tp_create(f, 2);
    tp_add(f, "drops", SCRIPTED_DROP, 0);
    tp_start(f);
    tp_emit(f, 20);
    vg_sink_flush(f->e.sink);
    assert_int_equal(tp_wait_acked(f, 20, 5000), 20);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + VG_NS_PER_SEC), VG_OK);
    snprintf(rotated, sizeof(rotated), "%s.1", f->dl_path);
    assert_int_equal(stat(f->dl_path, &st), 0);
    assert_true(st.st_size <= 600);
    assert_int_equal(stat(rotated, &st), 0);
    assert_true(st.st_size <= 600);
    unlink(rotated);
}

/* ---- allocation failure: emit, seal, queue, send, ack ---- */

#define TT_RECORDS 80  /* batches of one: more than the ring's first 64 slots */
#define TT_BODY    300 /* dead-letter lines that grow the buffer as they are written */

struct tt_run {
    bool emitted[TT_RECORDS + 1]; /* by field n */
    uint64_t n_emitted;
    int64_t max_n;
};

/* A test output (gated and grouping, or rejecting one record of each
 * batch); NULL when the pipeline refused it (out of memory: it was freed).
 * The test's own memory is not hooked. */
static struct scripted_out *tt_add(struct tp *f, enum scripted_mode mode)
{
    struct vg_output *o = calloc(1, sizeof(*o));
    struct vg_error err = {0};
    struct scripted_out *t;

    assert_non_null(o);
    o->ops = mode == SCRIPTED_GATED ? &scripted_group_ops : &scripted_output_ops;
    o->name = strdup("tortured");
    t = scripted_out_new(mode, 0);
    o->ctx = t;
    assert_non_null(o->name);
    if (vg_pipeline_add_output(f->p, o, &f->os, &err) != VG_OK) {
        assert_int_equal(err.code, VG_ENOMEM);
        return NULL;
    }
    return t;
}

/* Emits TT_RECORDS records (field n, offset n); a record is emitted whole
 * or cancelled, and run says which made it. */
static void tt_emit(struct tp *f, struct tt_run *run)
{
    char body[TT_BODY];
    int64_t i;

    memset(body, 'b', sizeof(body));
    for (i = 1; i <= TT_RECORDS; i++) {
        uint64_t recs = vg_sink_records_total(f->e.sink);
        struct vg_record *r = vg_emit_record(&f->e, vg_now_ns(), body, sizeof(body));

        if (r == NULL) {
            assert_int_equal(vg_sink_records_total(f->e.sink), recs);
            continue;
        }
        r->source_id = 7;
        r->offset = (uint64_t)i;
        if (vg_record_set_int(&f->e, r, "n", i) != VG_OK) {
            assert_int_equal(vg_emit_record_cancel(&f->e, r), VG_OK);
            continue;
        }
        run->emitted[i] = true;
        run->n_emitted++;
        run->max_n = i;
    }
}

/* Runs the ack path until `want` records were acknowledged or timeout_ms
 * passed; never is a record acknowledged before the output took it. */
static uint64_t tt_settle(struct tp *f, struct scripted_out *t, uint64_t want, int timeout_ms)
{
    int64_t deadline = vg_mono_ns() + timeout_ms * VG_NS_PER_MS;
    struct pollfd pfd = {vg_pipeline_ack_fd(f->p), POLLIN, 0};
    uint64_t acked;

    for (;;) {
        vg_pipeline_process_acks(f->p);
        acked = vg_sink_acked_total(f->e.sink);
        assert_true(acked <= atomic_load(&t->records));
        if (acked >= want || vg_mono_ns() >= deadline)
            return acked;
        poll(&pfd, 1, 1);
    }
}

/* Every emitted record delivered once, nothing else; acks in order up to
 * the last one. */
static void tt_check(struct tp *f, struct scripted_out *t, const struct tt_run *run)
{
    bool seen[TT_RECORDS + 1] = {false};
    uint64_t total = 0, last = 0;
    size_t i;

    assert_int_equal(t->n_delivered, run->n_emitted);
    for (i = 0; i < t->n_delivered; i++) {
        int64_t n = t->delivered[i];

        assert_true(n >= 1 && n <= TT_RECORDS && run->emitted[n] && !seen[n]);
        seen[n] = true;
    }
    for (i = 0; i < f->acks.n; i++) {
        assert_int_equal(f->acks.v[i].source_id, 7);
        assert_true(f->acks.v[i].offset > last);
        last = f->acks.v[i].offset;
        total += f->acks.v[i].records;
    }
    assert_int_equal(total, run->n_emitted);
    assert_int_equal(last, (uint64_t)run->max_n);
}

/* The pipeline, its sink and one test output; NULL (nothing left) when
 * memory ran out on the way. */
static struct scripted_out *tt_open(struct tp *f, uint64_t batch_records, enum scripted_mode mode)
{
    struct vg_pipeline_settings s = {
        .batch_max_records = batch_records, .batch_max_bytes = 1 << 20, .dead_letter_dir = f->dir};
    struct scripted_out *t = NULL;

    memset(&f->acks, 0, sizeof(f->acks));
    f->p = vg_pipeline_create(&s);
    if (f->p == NULL)
        return NULL;
    f->e.sink = vg_pipeline_sink(f->p, &f->c);
    if (f->e.sink != NULL)
        t = tt_add(f, mode);
    if (t == NULL) {
        vg_pipeline_destroy(f->p);
        f->p = NULL;
    }
    return t;
}

static void tt_body(struct torture *tt, void *arg)
{
    struct tp *f = arg;
    struct tt_run run = {0};
    struct scripted_out *t = tt_open(f, 1, SCRIPTED_GATED);

    if (t == NULL)
        return;
    tp_start(f);
    tt_emit(f, &run);
    vg_sink_flush(f->e.sink);
    scripted_open_gate(t); /* the worker sends while allocations still fail */
    tt_settle(f, t, UINT64_MAX, 2);
    torture_disarm(tt);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
    assert_int_equal(tt_settle(f, t, run.n_emitted, 5000), run.n_emitted);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + VG_NS_PER_SEC), VG_OK);
    tt_check(f, t, &run);
    if (tt->fail_at < 0)
        assert_int_equal(run.n_emitted, TT_RECORDS);
    vg_pipeline_destroy(f->p);
    f->p = NULL;
}

static void records_survive_every_allocation_failure(void **state)
{
    struct tp *f = *state;

    f->os.retry_backoff_ms = 1;
    f->os.retry_backoff_max_ms = 2;
    assert_true(torture_run(tt_body, f, 0) > TT_RECORDS);
}

/* Every line of the dead-letter file is whole: one object, one output
 * key; returns the lines. */
static uint64_t tt_dead_lines(const char *path)
{
    char line[4096];
    uint64_t n = 0;
    FILE *fp = fopen(path, "r");

    if (fp == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *out = strstr(line, ",\"output\":");
        size_t len = strlen(line);

        assert_true(strncmp(line, "{\"time\":\"", 9) == 0);
        assert_non_null(out);
        assert_null(strstr(out + 1, ",\"output\":"));
        assert_true(len > 3 && strcmp(line + len - 3, "}}\n") == 0);
        n++;
    }
    fclose(fp);
    return n;
}

struct tt_dead {
    struct tp *f;
    enum scripted_mode mode; /* SCRIPTED_DROP or SCRIPTED_REJECT_ONE */
};

/* The output drops every batch, or rejects the second record of each: a
 * dead-letter line is written whole or not at all, a rejected record is
 * never counted as sent, and a line that could not be built is lost (and
 * counted so), never half written. */
static void tt_dead_body(struct torture *tt, void *arg)
{
    struct tt_dead *d = arg;
    struct tp *f = d->f;
    struct tt_run run = {0};
    struct scripted_out *t = tt_open(f, 4, d->mode);
    struct vg_output_stats st;

    unlink(f->dl_path);
    if (t == NULL)
        return;
    tp_start(f);
    tt_emit(f, &run);
    vg_sink_flush(f->e.sink);
    tt_settle(f, t, UINT64_MAX, 2);
    torture_disarm(tt);
    assert_int_equal(vg_sink_flush(f->e.sink), VG_OK);
    assert_int_equal(tt_settle(f, t, run.n_emitted, 5000), run.n_emitted);
    assert_int_equal(vg_pipeline_drain(f->p, vg_mono_ns() + VG_NS_PER_SEC), VG_OK);
    assert_int_equal(vg_pipeline_output_stats(f->p, "tortured", &st), VG_OK);
    assert_int_equal(tt_dead_lines(f->dl_path), st.dead_letter_records);
    assert_true(st.dead_letter_records <= st.dropped);
    assert_int_equal(st.sent + st.dropped, run.n_emitted);
    if (d->mode == SCRIPTED_REJECT_ONE)
        assert_int_equal(st.dropped, atomic_load(&t->rejected));
    else
        assert_int_equal(st.dropped, run.n_emitted);
    if (tt->fail_at < 0)
        assert_int_equal(st.dead_letter_records, st.dropped);
    vg_pipeline_destroy(f->p);
    f->p = NULL;
    unlink(f->dl_path);
}

static void dead_letters_survive_every_allocation_failure(void **state)
{
    struct tt_dead d = {*state, SCRIPTED_REJECT_ONE};

    d.f->os.retry_backoff_ms = 1;
    d.f->os.retry_backoff_max_ms = 2;
    assert_true(torture_run(tt_dead_body, &d, 0) > TT_RECORDS / 4);
    d.mode = SCRIPTED_DROP;
    assert_true(torture_run(tt_dead_body, &d, 0) > TT_RECORDS / 4);
}

int main(void)
{
#define TP_TEST(name) cmocka_unit_test_setup_teardown(name, tp_setup, tp_teardown)
    const struct CMUnitTest tests[] = {
        TP_TEST(retries_with_bounded_backoff_then_delivers_in_order),
        TP_TEST(dropped_batch_goes_to_dead_letter_and_ack_moves),
        TP_TEST(one_rejected_record_is_dead_lettered_the_rest_sent),
        TP_TEST(retry_limit_sends_the_batch_to_dead_letter),
        TP_TEST(ack_waits_for_the_slower_output),
        TP_TEST(queue_limits_pause_and_resume_the_sink),
        TP_TEST(queue_byte_limit_pauses_the_sink),
        TP_TEST(drain_stops_at_the_deadline_and_leaves_the_batch_unacked),
        TP_TEST(drain_delivers_what_is_queued),
        TP_TEST(drain_leaves_a_worker_whose_send_does_not_return),
        TP_TEST(dead_letters_that_cannot_be_written_stay_unacked),
        TP_TEST(zero_outputs_acknowledge_at_once),
        TP_TEST(routes_acknowledge_each_collector_by_its_own_outputs),
        TP_TEST(dropped_records_are_acknowledged_with_their_batch),
        TP_TEST(a_batch_of_dropped_records_waits_only_for_the_batches_before_it),
        TP_TEST(reopen_runs_before_the_next_send),
        TP_TEST(invalid_settings_are_refused_naming_the_output),
        TP_TEST(a_million_records_reuse_a_bounded_set_of_batches),
        TP_TEST(partial_progress_survives_the_retry),
        TP_TEST(stop_marks_the_output_down_until_it_recovers),
        TP_TEST(dead_letter_file_is_rotated_at_its_limit),
        TP_TEST(queued_batches_go_out_together_in_order),
        TP_TEST(records_survive_every_allocation_failure),
        TP_TEST(dead_letters_survive_every_allocation_failure),
    };
#undef TP_TEST

    /* quiet: the failures below are on purpose */
    vg_log_setup((enum vg_log_level)(VG_LOG_ERROR + 1), false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * scripted_output.h - an output for unit tests whose answers follow a
 * script (ok, retry, drop, stop, partial, rejecting one record, or held shut
 * until the test opens a gate) and that notes what it was sent: one integer
 * field and one string field of every record, and the time of every send.
 * Include after <cmocka.h>.
 */
#ifndef VG_SCRIPTED_OUTPUT_H
#define VG_SCRIPTED_OUTPUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core.h"
#include "pipeline_internal.h"

#define SCRIPTED_MAX_RECORDS 4096
#define SCRIPTED_MAX_SENDS   64

/* What send() answers: OK; RETRY for the first fail_n sends (fail_n < 0:
 * always); DROP; OK after dead-lettering record 1 of each batch; OK once
 * the gate opens (the output starts held shut); a partial delivery (see
 * scripted_send_partial); STOP for the first fail_n sends. */
enum scripted_mode {
    SCRIPTED_OK,
    SCRIPTED_FAIL_N,
    SCRIPTED_DROP,
    SCRIPTED_REJECT_ONE,
    SCRIPTED_GATED,
    SCRIPTED_PARTIAL,
    SCRIPTED_STOP_N
};

struct scripted_out {
    enum scripted_mode mode;
    int fail_n;
    atomic_int sends, reopens;
    atomic_int rejected;   /* records given to vg_output_dead_letter */
    atomic_ullong records; /* records taken: sent, or dropped (SCRIPTED_DROP) */
    int64_t send_ns[SCRIPTED_MAX_SENDS];
    const char *field; /* integer field recorded; NULL: "n" */
    /* that field of every record delivered, in order (-1: missing) */
    int64_t delivered[SCRIPTED_MAX_RECORDS];
    size_t n_delivered;
    const char *str_field; /* string field kept from the last record; NULL: none */
    char last_str[64];
    char last_body[64]; /* body of the last record delivered */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool held; /* send() waits while set */
};

/* Notes what a delivered record carried (the worker's thread only; read
 * after the pipeline is drained or destroyed). */
static void scripted_record(struct scripted_out *t, const struct vg_record *r)
{
    const struct vg_field *f = vg_record_field(r, t->field != NULL ? t->field : "n");

    if (t->n_delivered < SCRIPTED_MAX_RECORDS)
        t->delivered[t->n_delivered++] = f != NULL && f->type == VG_FIELD_INT ? f->v.i : -1;
    if (t->str_field != NULL) {
        f = vg_record_field(r, t->str_field);
        if (f != NULL && f->type == VG_FIELD_STR)
            snprintf(t->last_str, sizeof(t->last_str), "%.*s", (int)f->v.s.len, f->v.s.ptr);
    }
    snprintf(t->last_body, sizeof(t->last_body), "%.*s", (int)r->body_len, r->body);
}

static const struct vg_option scripted_no_options[] = {{NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL}};

static void scripted_wait_gate(struct scripted_out *t)
{
    pthread_mutex_lock(&t->mu);
    while (t->held)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

/* First send: delivers the even records, rejects record 1 for good and
 * leaves the rest pending (RETRY); later sends deliver what is pending. */
static enum vg_send_result scripted_send_partial(struct vg_output *o, struct scripted_out *t,
                                                 struct vg_batch *b, int k)
{
    size_t i;

    for (i = 0; i < vg_batch_count(b); i++) {
        if (!vg_output_pending(o, b, i))
            continue;
        if (k == 0 && i == 1) {
            vg_output_dead_letter(o, b, i, "mapper_parsing_exception");
            continue;
        }
        if (k == 0 && i % 2 == 1)
            continue;
        vg_output_delivered(o, b, i);
        scripted_record(t, vg_batch_record(b, i));
    }
    vg_output_count_bytes(o, 100, 40);
    vg_output_observe_request(o, 0.002);
    if (k == 0) {
        vg_output_fail(o, "some items answered 429");
        return VG_SEND_RETRY;
    }
    return VG_SEND_OK;
}

static enum vg_send_result scripted_send(struct vg_output *o, struct vg_batch *b)
{
    struct scripted_out *t = o->ctx;
    int k = atomic_fetch_add(&t->sends, 1);
    size_t i;

    if (k < SCRIPTED_MAX_SENDS)
        t->send_ns[k] = vg_mono_ns();
    scripted_wait_gate(t);
    if (t->mode == SCRIPTED_FAIL_N && (t->fail_n < 0 || k < t->fail_n)) {
        vg_output_fail(o, "test failure %d", k + 1);
        return VG_SEND_RETRY;
    }
    if (t->mode == SCRIPTED_DROP) {
        atomic_fetch_add(&t->records, vg_batch_count(b)); /* taken, to be dead-lettered */
        vg_output_fail(o, "rejected by the test");
        return VG_SEND_DROP;
    }
    if (t->mode == SCRIPTED_STOP_N && k < t->fail_n) {
        vg_output_fail(o, "credentials refused by the test");
        return VG_SEND_STOP;
    }
    if (t->mode == SCRIPTED_PARTIAL)
        return scripted_send_partial(o, t, b, k);
    if (t->mode == SCRIPTED_REJECT_ONE && vg_batch_count(b) > 1) {
        vg_output_dead_letter(o, b, 1, "bad field");
        atomic_fetch_add(&t->rejected, 1);
    }
    for (i = 0; i < vg_batch_count(b); i++) {
        scripted_record(t, vg_batch_record(b, i));
    }
    atomic_fetch_add(&t->records, vg_batch_count(b));
    return VG_SEND_OK;
}

static void scripted_reopen(struct vg_output *o)
{
    struct scripted_out *t = o->ctx;

    atomic_fetch_add(&t->reopens, 1);
}

static void scripted_destroy(struct vg_output *o)
{
    struct scripted_out *t = o->ctx;

    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}

__attribute__((unused)) static const struct vg_output_ops scripted_output_ops = {
    .name = "testout",
    .options = scripted_no_options,
    .ctx_size = sizeof(struct scripted_out),
    .send = scripted_send,
    .reopen = scripted_reopen,
    .destroy = scripted_destroy,
};

/* The same output, taking up to 8 queued batches per send. */
__attribute__((unused)) static const struct vg_output_ops scripted_group_ops = {
    .name = "testgroup",
    .options = scripted_no_options,
    .ctx_size = sizeof(struct scripted_out),
    .send = scripted_send,
    .destroy = scripted_destroy,
    .max_batches_per_send = 8,
};

static inline void scripted_open_gate(struct scripted_out *t)
{
    pthread_mutex_lock(&t->mu);
    t->held = false;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* A context for scripted_output_ops or scripted_group_ops (o->ctx), with
 * its lock made; held shut when mode is SCRIPTED_GATED. Asserts on ENOMEM.
 * The output's destroy() frees the lock, the pipeline the context. */
static inline struct scripted_out *scripted_out_new(enum scripted_mode mode, int fail_n)
{
    struct scripted_out *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->mode = mode;
    t->fail_n = fail_n;
    t->held = mode == SCRIPTED_GATED;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    return t;
}

#endif

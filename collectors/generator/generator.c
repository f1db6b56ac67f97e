/*
 * generator.c - the generator collector: synthetic records at a steady
 * rate, for tests, demos and benchmarks of the record path.
 *
 * Record n (from 1) has body `message` and the fields seq=n and
 * generator=<instance>; its source is 1 and its offset n, so the ack path
 * reports the highest delivered seq. The rate is kept against elapsed time:
 * a collect that is paused or capped by `batch` leaves the rest due for
 * later, so no seq is ever skipped or repeated.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vigil.h"

#define GENERATOR_SOURCE   1
#define GENERATOR_RATE_MAX INT64_C(1000000000)

struct generator_ctx {
    int64_t rate;  /* option: records per second; 0 = `batch` per collect */
    int64_t count; /* option: total records, 0 = no end */
    char *message; /* option */
    int64_t batch; /* option: most records per collect */
    int64_t start_ns;
    uint64_t emitted; /* the last seq emitted */
    uint64_t acked;   /* the highest seq delivered everywhere */
};

static const struct vg_option generator_options[] = {
    {"rate", VG_OPT_INT, "10", offsetof(struct generator_ctx, rate),
     "records per second; 0 emits `batch` records at every collection", VG_OPT_RANGE, NULL, 0,
     GENERATOR_RATE_MAX},
    {"count", VG_OPT_INT, "0", offsetof(struct generator_ctx, count),
     "records to emit in all, then stop; 0 for no end", VG_OPT_MIN, NULL, 0, 0},
    {"message", VG_OPT_STR, "vigil generator record", offsetof(struct generator_ctx, message),
     "body of every record", 0, NULL},
    {"batch", VG_OPT_INT, "1000", offsetof(struct generator_ctx, batch),
     "most records emitted by one collection", VG_OPT_MIN, NULL, 1, 0},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* The start line: how many records, how fast. */
static void generator_log_start(const struct vg_collector *c, const struct generator_ctx *ctx)
{
    char every[32], total[48] = "";

    if (ctx->count > 0)
        snprintf(total, sizeof(total), ", %lld in all", (long long)ctx->count);
    if (ctx->rate > 0) {
        vg_log(VG_LOG_INFO, "generator", c->name, "emitting %lld record%s a second%s",
               (long long)ctx->rate, ctx->rate == 1 ? "" : "s", total);
        return;
    }
    vg_duration_text(c->interval_ms, every, sizeof(every));
    vg_log(VG_LOG_INFO, "generator", c->name,
           "emitting %lld records at every collection (every %s)%s", (long long)ctx->batch, every,
           total);
}

static int generator_init(struct vg_collector *c, const struct vg_config_node *cfg,
                          struct vg_error *err)
{
    struct generator_ctx *ctx = c->ctx;

    /* rate, count and batch: ranges declared in the option table */
    ctx->start_ns = vg_mono_ns();
    ctx->emitted = 0;
    ctx->acked = 0;
    generator_log_start(c, ctx);
    return VG_OK;
}

/* Records due now: what the rate allows since init, less what was emitted,
 * capped by batch and by what is left of count. */
static uint64_t generator_due(const struct generator_ctx *ctx)
{
    int64_t elapsed = vg_mono_ns() - ctx->start_ns;
    uint64_t total, due, left;

    if (elapsed < 0)
        elapsed = 0;
    if (ctx->rate == 0) {
        due = (uint64_t)ctx->batch;
    } else {
        /* split to keep rate * ns inside 64 bits */
        total = (uint64_t)ctx->rate * (uint64_t)(elapsed / VG_NS_PER_SEC) +
                (uint64_t)ctx->rate * (uint64_t)(elapsed % VG_NS_PER_SEC) / (uint64_t)VG_NS_PER_SEC;
        due = total > ctx->emitted ? total - ctx->emitted : 0;
        if (due > (uint64_t)ctx->batch)
            due = (uint64_t)ctx->batch;
    }
    if (ctx->count > 0) {
        left = (uint64_t)ctx->count > ctx->emitted ? (uint64_t)ctx->count - ctx->emitted : 0;
        if (due > left)
            due = left;
    }
    return due;
}

static int generator_emit_one(struct vg_collector *c, struct generator_ctx *ctx,
                              struct vg_emit *emit)
{
    const char *msg = ctx->message != NULL ? ctx->message : "";
    uint64_t seq = ctx->emitted + 1;
    struct vg_record *r;

    r = vg_emit_record(emit, vg_now_ns(), msg, strlen(msg));
    if (r == NULL)
        return VG_ENOMEM;
    /* the record is in the batch now: its seq is taken even if a field fails */
    ctx->emitted = seq;
    r->source_id = GENERATOR_SOURCE;
    r->offset = seq;
    r->position = seq;
    if (vg_record_set_int(emit, r, "seq", (int64_t)seq) != VG_OK ||
        vg_record_set_str(emit, r, "generator", c->name, strlen(c->name)) != VG_OK)
        return VG_ENOMEM;
    return VG_OK;
}

/* Emits what is due, stopping as soon as the outputs are full. */
static int generator_collect(struct vg_collector *c, struct vg_emit *emit)
{
    struct generator_ctx *ctx = c->ctx;
    uint64_t due = generator_due(ctx), i;
    int rc;

    for (i = 0; i < due; i++) {
        if (vg_emit_paused(emit))
            break;
        rc = generator_emit_one(c, ctx, emit);
        if (rc != VG_OK) {
            vg_collector_fail(c, "cannot emit record %llu: %s",
                              (unsigned long long)ctx->emitted + 1, vg_strerror(rc));
            return rc;
        }
    }
    return VG_OK;
}

static void generator_ack(struct vg_collector *c, const struct vg_ack *ack)
{
    struct generator_ctx *ctx = c->ctx;

    if (ack->source_id != GENERATOR_SOURCE || ack->offset <= ctx->acked)
        return;
    ctx->acked = ack->offset;
    if (vg_log_enabled(VG_LOG_DEBUG))
        vg_log(VG_LOG_DEBUG, "generator", c->name, "delivered up to seq %llu (%llu records)",
               (unsigned long long)ack->offset, (unsigned long long)ack->records);
}

const struct vg_collector_ops vg_collector_generator = {
    .name = "generator",
    .doc = "emits synthetic records at a steady rate (tests, benchmarks)",
    .records = true,
    .options = generator_options,
    .ctx_size = sizeof(struct generator_ctx),
    .default_interval_ms = 100,
    .init = generator_init,
    .collect = generator_collect,
    .ack = generator_ack,
};

/*
 * discard.c - the discard output: accepts every batch and throws it away.
 * For benchmarks of the record path, and, with stop_first, fail_first and
 * drop_every, for tests of the engine's stop, retry and dead-letter paths.
 */
#include <stdint.h>

#include "vigil.h"

struct discard_ctx {
    int64_t stop_first; /* option: answer STOP to the first N sends */
    int64_t fail_first; /* option: answer RETRY to the first N sends */
    int64_t drop_every; /* option: answer DROP to every Nth batch after those */
    uint64_t sends;     /* worker thread only */
    uint64_t records;
};

static const struct vg_option discard_options[] = {
    {"stop_first", VG_OPT_INT, "0", offsetof(struct discard_ctx, stop_first),
     "answer 'stop' to the first N sends, as refused credentials would (tests)", VG_OPT_MIN, NULL,
     0, 0},
    {"fail_first", VG_OPT_INT, "0", offsetof(struct discard_ctx, fail_first),
     "answer 'retry' to the first N sends (tests of the retry path)", VG_OPT_MIN, NULL, 0, 0},
    {"drop_every", VG_OPT_INT, "0", offsetof(struct discard_ctx, drop_every),
     "when N > 0, answer 'drop' to every Nth batch (tests of dead letters)", VG_OPT_MIN, NULL, 0,
     0},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static int discard_init(struct vg_output *o, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct discard_ctx *ctx = o->ctx;

    /* stop_first, fail_first, drop_every: at least 0 (the option table) */
    ctx->sends = 0;
    ctx->records = 0;
    return VG_OK;
}

static enum vg_send_result discard_send(struct vg_output *o, struct vg_batch *b)
{
    struct discard_ctx *ctx = o->ctx;
    uint64_t n = ++ctx->sends;
    uint64_t after;

    if (n <= (uint64_t)ctx->stop_first) {
        vg_output_fail(o, "stop_first: refusing send %llu of %lld", (unsigned long long)n,
                       (long long)ctx->stop_first);
        return VG_SEND_STOP;
    }
    n -= (uint64_t)ctx->stop_first;
    if (n <= (uint64_t)ctx->fail_first) {
        vg_output_fail(o, "fail_first: failing send %llu of %lld", (unsigned long long)n,
                       (long long)ctx->fail_first);
        return VG_SEND_RETRY;
    }
    after = n - (uint64_t)ctx->fail_first;
    if (ctx->drop_every > 0 && after % (uint64_t)ctx->drop_every == 0) {
        vg_output_fail(o, "drop_every: dropping batch %llu", (unsigned long long)after);
        return VG_SEND_DROP;
    }
    ctx->records += vg_batch_count(b);
    return VG_SEND_OK;
}

const struct vg_output_ops vg_output_discard = {
    .name = "discard",
    .doc = "accepts and throws away every record (benchmarks, tests)",
    .options = discard_options,
    .ctx_size = sizeof(struct discard_ctx),
    .init = discard_init,
    .send = discard_send,
};

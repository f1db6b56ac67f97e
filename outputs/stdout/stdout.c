/*
 * stdout.c - the stdout output: every record as one NDJSON line on fd 1,
 * one write per batch. For debugging and for containers whose runtime
 * collects stdout.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vigil.h"

/* How long a full pipe on stdout may hold a send before it is retried. */

struct stdout_ctx {
    struct vg_buf buf; /* worker thread only; kept between batches */
};

static const struct vg_option stdout_options[] = {
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static int stdout_init(struct vg_output *o, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct stdout_ctx *ctx = o->ctx;

    vg_buf_init(&ctx->buf);
    return VG_OK;
}

/*
 * A failed write is retried by the engine. Lines written before the failure
 * are written again then (at-least-once); a reader that went away (EPIPE)
 * keeps the output retrying until one comes back.
 */
static enum vg_send_result stdout_send(struct vg_output *o, struct vg_batch *b)
{
    struct stdout_ctx *ctx = o->ctx;
    size_t i, n = vg_batch_count(b);
    char eb[128];

    vg_buf_reset(&ctx->buf);
    for (i = 0; i < n; i++) {
        if (vg_record_to_json(vg_batch_record(b, i), &ctx->buf) != VG_OK ||
            vg_buf_putc(&ctx->buf, '\n') != VG_OK) {
            vg_output_fail(o, "out of memory formatting %zu records", n);
            return VG_SEND_RETRY;
        }
    }
    if (vg_write_all(STDOUT_FILENO, ctx->buf.data, ctx->buf.len) != VG_OK) {
        vg_output_fail(o, "write to stdout: %s", strerror_r(errno, eb, sizeof(eb)));
        return VG_SEND_RETRY;
    }
    return VG_SEND_OK;
}

static void stdout_destroy(struct vg_output *o)
{
    struct stdout_ctx *ctx = o->ctx;

    vg_buf_free(&ctx->buf);
}

const struct vg_output_ops vg_output_stdout = {
    .name = "stdout",
    .doc = "writes every record as one JSON line on standard output",
    .options = stdout_options,
    .ctx_size = sizeof(struct stdout_ctx),
    .init = stdout_init,
    .send = stdout_send,
    .destroy = stdout_destroy,
};

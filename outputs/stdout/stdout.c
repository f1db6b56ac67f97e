/*
 * stdout.c - the stdout output: every record as one NDJSON line on fd 1.
 * For debugging and for containers whose runtime collects stdout.
 */
#include <errno.h>
#include <unistd.h>

#include "vigil.h"

struct stdout_ctx {
    struct vg_ostream out; /* worker thread only */
    bool attached;
};

static const struct vg_option stdout_options[] = {
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static int stdout_init(struct vg_output *o, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct stdout_ctx *ctx = o->ctx;

    vg_ostream_init(&ctx->out);
    return VG_OK;
}

/*
 * Writes the pending records through a line stream (vigil.h): a reader that
 * stops reading holds a send for a second at most, then the engine retries
 * it with backoff; lines written before the stall are not written again. A
 * reader that went away (EPIPE) keeps the output retrying until one comes
 * back. fd 1 is looked at on the first send, and again after an error.
 */
static enum vg_send_result stdout_send(struct vg_output *o, struct vg_batch *b)
{
    struct stdout_ctx *ctx = o->ctx;
    int rc;

    if (!ctx->attached) {
        vg_ostream_attach(&ctx->out, STDOUT_FILENO, true);
        ctx->attached = true;
    }
    rc = vg_ostream_send(&ctx->out, o, b);
    if (rc == VG_OK)
        return VG_SEND_OK;
    if (rc == VG_ENOMEM)
        vg_output_fail(o, "out of memory formatting %zu records", vg_batch_count(b));
    else if (rc == VG_EAGAIN)
        vg_output_fail(o, "write to stdout: the reader took nothing for %d ms",
                       VG_OSTREAM_STALL_MS);
    else if (rc == VG_ESTOP)
        vg_output_fail(o, "write to stdout: stopping");
    else
        vg_output_fail(o, "write to stdout: %s", vg_errno_str(errno));
    if (rc == VG_EIO) { /* the reader went away: the rest of a cut line was its */
        vg_ostream_detach(&ctx->out);
        ctx->attached = false;
    }
    return VG_SEND_RETRY;
}

static void stdout_destroy(struct vg_output *o)
{
    struct stdout_ctx *ctx = o->ctx;

    if (ctx->attached)
        vg_ostream_free(&ctx->out);
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

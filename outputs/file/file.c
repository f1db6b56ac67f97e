/*
 * file.c - the file output: NDJSON appended to one file, fsynced per batch.
 *
 * The file is opened on the first send, so a folder that appears later is
 * picked up (until then sends are retried). SIGHUP closes it and the next
 * send opens the path again: rename the file, send SIGHUP, and the new
 * records go to a new file (logrotate's postrotate). A batch that could not
 * be written whole is cut off again, so no partial line is left behind.
 * A path that is not a regular file (a FIFO, /dev/null, /dev/stdout) is
 * neither fsynced nor cut back: it is written as a line stream (vigil.h),
 * whose reader may stall a send for a second at most.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil.h"

struct file_ctx {
    char *path; /* option */
    bool fsync; /* option */
    char *mode; /* option: octal permissions of a created file */
    mode_t mode_bits;
    int fd;                   /* worker thread only; -1 while closed */
    bool regular;             /* fd is a regular file: fsynced, cut back after a failure */
    struct vg_buf buf;        /* worker thread only */
    struct vg_ostream stream; /* fd when it is not a regular file (FIFO, device) */
};

static const struct vg_option file_options[] = {
    {"path", VG_OPT_STR, NULL, offsetof(struct file_ctx, path),
     "file the records are appended to, one JSON object per line", VG_OPT_REQUIRED, NULL},
    {"fsync", VG_OPT_BOOL, "true", offsetof(struct file_ctx, fsync),
     "fsync after every batch; a batch counts as delivered only then", 0, NULL},
    {"mode", VG_OPT_STR, "0640", offsetof(struct file_ctx, mode),
     "permissions (octal) of the file when it is created", 0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static int file_parse_mode(const char *s, mode_t *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 8);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 07777)
        return VG_EINVAL;
    *out = (mode_t)v;
    return VG_OK;
}

/* The check callback: a path to write to, a mode that parses, and a warning
 * when the folder the file goes in is missing (it is not created). */
static int file_check(const void *c, struct vg_check *chk)
{
    const struct file_ctx *ctx = c;
    mode_t bits;

    if (ctx->path == NULL || ctx->path[0] == '\0')
        vg_check_error(chk, "path", "option 'path': must not be empty");
    if (file_parse_mode(ctx->mode != NULL ? ctx->mode : "0640", &bits) != VG_OK)
        vg_check_error(chk, "mode", "option 'mode': '%s' is not an octal file mode like 0640",
                       ctx->mode);
    if (ctx->path != NULL && ctx->path[0] != '\0')
        vg_check_parent_folder(chk, "path", ctx->path, strlen(ctx->path),
                               "the file cannot be created until it does");
    return VG_OK; /* what it found is in chk */
}

static int file_init(struct vg_output *o, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct file_ctx *ctx = o->ctx;

    ctx->fd = -1;
    vg_buf_init(&ctx->buf);
    vg_ostream_init(&ctx->stream);
    if (ctx->path == NULL || ctx->path[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "path must not be empty");
    if (file_parse_mode(ctx->mode != NULL ? ctx->mode : "0640", &ctx->mode_bits) != VG_OK)
        return vg_error_set(err, VG_ECONFIG, "mode '%s' is not an octal file mode like 0640",
                            ctx->mode);
    return VG_OK;
}

static void file_close(struct file_ctx *ctx)
{
    vg_ostream_detach(&ctx->stream);
    if (ctx->fd >= 0)
        close(ctx->fd);
    ctx->fd = -1;
}

static int file_format(struct vg_output *o, struct file_ctx *ctx, struct vg_batch *b)
{
    size_t i, n = vg_batch_count(b);

    vg_buf_reset(&ctx->buf);
    for (i = 0; i < n; i++) {
        if (vg_record_encode(vg_batch_record(b, i), o->record_schema, &ctx->buf) != VG_OK ||
            vg_buf_putc(&ctx->buf, '\n') != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* Cuts the file back to where the batch started and closes it, so that the
 * retry starts clean (and on a fresh descriptor). */
static void file_undo(struct vg_output *o, struct file_ctx *ctx, off_t start, const char *what)
{
    char eb[128], eb2[128];
    int saved = errno;

    if (start >= 0 && ftruncate(ctx->fd, start) != 0)
        vg_output_fail(o, "%s %s: %s; cutting the partial batch off failed too: %s", what,
                       ctx->path, strerror_r(saved, eb, sizeof(eb)),
                       strerror_r(errno, eb2, sizeof(eb2)));
    else
        vg_output_fail(o, "%s %s: %s", what, ctx->path, strerror_r(saved, eb, sizeof(eb)));
    file_close(ctx);
}

/* Opens the path non-blocking, so that a FIFO with no reader fails (ENXIO)
 * instead of holding the worker; a regular file is made blocking again,
 * anything else is written as a line stream. */
static int file_open(struct vg_output *o, struct file_ctx *ctx)
{
    struct stat st;
    int fl;

    ctx->fd =
        open(ctx->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, ctx->mode_bits);
    if (ctx->fd < 0) {
        vg_output_fail(o, "open %s: %s%s", ctx->path, vg_errno_str(errno),
                       errno == ENXIO ? " (a FIFO with no reader)" : "");
        return VG_EIO;
    }
    ctx->regular = fstat(ctx->fd, &st) == 0 && S_ISREG(st.st_mode);
    fl = fcntl(ctx->fd, F_GETFL);
    if (ctx->regular && fl >= 0)
        fcntl(ctx->fd, F_SETFL, fl & ~O_NONBLOCK);
    else if (!ctx->regular)
        vg_ostream_attach(&ctx->stream, ctx->fd, false);
    return VG_OK;
}

/* A FIFO or device (/dev/null, /dev/stdout on a pipe): a line stream
 * (vigil.h), nothing to fsync or cut back. A reader that went away closes
 * the file, opened again at the next send. */
static enum vg_send_result file_send_stream(struct vg_output *o, struct file_ctx *ctx,
                                            struct vg_batch *b)
{
    int rc = vg_ostream_send(&ctx->stream, o, b);

    if (rc == VG_OK)
        return VG_SEND_OK;
    if (rc == VG_ENOMEM) {
        vg_output_fail(o, "out of memory formatting %zu records", vg_batch_count(b));
    } else if (rc == VG_EAGAIN) {
        vg_output_fail(o, "write %s: the reader took nothing for %d ms", ctx->path,
                       VG_OSTREAM_STALL_MS);
    } else if (rc == VG_ESTOP) {
        vg_output_fail(o, "write %s: stopping", ctx->path);
    } else {
        vg_output_fail(o, "write %s: %s", ctx->path, vg_errno_str(errno));
        file_close(ctx);
    }
    return VG_SEND_RETRY;
}

/* Appends the batch with as few writes as the kernel allows, then fsyncs
 * (a regular file; anything else is a line stream). */
static enum vg_send_result file_send(struct vg_output *o, struct vg_batch *b)
{
    struct file_ctx *ctx = o->ctx;
    off_t start;

    if (ctx->fd < 0 && file_open(o, ctx) != VG_OK)
        return VG_SEND_RETRY;
    if (!ctx->regular)
        return file_send_stream(o, ctx, b);
    if (file_format(o, ctx, b) != VG_OK) {
        vg_output_fail(o, "out of memory formatting %zu records", vg_batch_count(b));
        return VG_SEND_RETRY;
    }
    /* O_APPEND writes at the end; the agent is the file's only writer */
    start = lseek(ctx->fd, 0, SEEK_END);
    if (vg_write_all(ctx->fd, ctx->buf.data, ctx->buf.len) != VG_OK) {
        file_undo(o, ctx, start, "write");
        return VG_SEND_RETRY;
    }
    if (ctx->fsync && fsync(ctx->fd) != 0) {
        file_undo(o, ctx, start, "fsync");
        return VG_SEND_RETRY;
    }
    vg_output_count_bytes(o, ctx->buf.len, ctx->buf.len);
    return VG_SEND_OK;
}

static void file_reopen(struct vg_output *o)
{
    file_close(o->ctx);
}

static void file_destroy(struct vg_output *o)
{
    struct file_ctx *ctx = o->ctx;

    file_close(ctx);
    vg_buf_free(&ctx->buf);
    vg_ostream_free(&ctx->stream);
}

const struct vg_output_ops vg_output_file = {
    .name = "file",
    .doc = "appends every record as one JSON line to a file (reopened on SIGHUP)",
    .options = file_options,
    .ctx_size = sizeof(struct file_ctx),
    .check = file_check,
    .init = file_init,
    .send = file_send,
    .reopen = file_reopen,
    .destroy = file_destroy,
};

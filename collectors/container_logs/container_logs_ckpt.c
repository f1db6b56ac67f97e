/*
 * container_logs_ckpt.c - checkpoints: per file identity, the position up
 * to which every output has acknowledged its records. Written atomically
 * by the core's vg_checkpoint_write_atomic (temporary file, fsync, rename,
 * fsync of the folder) every checkpoint_interval and at shutdown to
 * <state_dir>/checkpoints/<name>;
 * read once at start. The format is in README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "checkpoint.h"
#include "container_logs.h"

#define CLOG_CKPT_MAX_FILE (64 * 1024 * 1024)

/* Parses the lines of text; a bad line is reported and skipped, so that
 * one damaged entry never stops the agent or loses the others. */
static int clog_ckpt_parse_all(struct clog_ctx *x, const char *text, size_t len)
{
    const char *p = text, *end = text + len, *nl;
    bool v1 = len >= strlen(CLOG_CKPT_HEADER_V1) &&
              memcmp(text, CLOG_CKPT_HEADER_V1, strlen(CLOG_CKPT_HEADER_V1)) == 0;
    size_t cap = 0, wl = strlen(CLOG_CKPT_WRITTEN);
    int line = 0, rc;

    for (; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        line++;
        if ((size_t)(nl - p) > wl && memcmp(p, CLOG_CKPT_WRITTEN, wl) == 0)
            x->ckpt_written_ns = strtoll(p + wl, NULL, 10);
        if (p == nl || *p == '#')
            continue;
        if (vg_grow((void **)&x->ckpts, &cap, x->n_ckpts + 1, sizeof(*x->ckpts)) != VG_OK)
            return VG_ENOMEM;
        rc = clog_ckpt_parse_line(p, (size_t)(nl - p), v1, &x->ckpts[x->n_ckpts]);
        if (rc == VG_ENOMEM)
            return rc;
        if (rc == VG_OK)
            x->n_ckpts++;
        else
            vg_log(VG_LOG_WARN, CLOG_PLUGIN, x->c->name, "%s:%d: not a checkpoint line, skipped",
                   x->ckpt_path, line);
    }
    x->ckpt_used = vg_calloc(x->n_ckpts + 1, sizeof(*x->ckpt_used));
    return x->ckpt_used != NULL ? VG_OK : VG_ENOMEM;
}

static int clog_ckpt_parse_cb(void *arg, const char *text, size_t len)
{
    struct clog_ctx *x = arg;
    int rc = clog_ckpt_parse_all(x, text, len);

    if (rc == VG_OK)
        vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name, "%zu checkpoints read from %s", x->n_ckpts,
               x->ckpt_path);
    return rc;
}

int clog_ckpt_load(struct clog_ctx *x, struct vg_error *err)
{
    int rc = vg_checkpoint_load_file(x->c->state_dir, x->c->name, CLOG_CKPT_MAX_FILE, &x->ckpt_path,
                                     clog_ckpt_parse_cb, x, err);

    if (rc == VG_OK) {
        x->ckpt_loaded = true;
        vg_collector_checkpoint_state(x->c, true);
    }
    return rc;
}

/* The first line boundary at or before the end of f (read_from: tail). */
static uint64_t clog_tail_start(struct clog_ctx *x, struct clog_file *f)
{
    uint64_t end = f->size, from;
    ssize_t n;
    const char *nl;

    if (end == 0 || f->fd < 0)
        return 0;
    from = end > x->buf_cap ? end - x->buf_cap : 0;
    n = pread(f->fd, x->buf, (size_t)(end - from), (off_t)from);
    if (n <= 0)
        return end;
    nl = memrchr(x->buf, '\n', (size_t)n);
    return nl != NULL ? from + (uint64_t)(nl + 1 - x->buf) : end;
}

/* A truncated file (this run, or a checkpoint) that f is a copy of. */
static bool clog_copy_start(struct clog_ctx *x, const struct clog_file *f, uint64_t *start)
{
    const struct clog_gone *g;
    size_t i;

    for (g = x->gone; g != NULL; g = g->next)
        if ((g->e.flags & CLOG_CKPT_TRUNCATED) && g->e.fp_len == f->fp_len &&
            g->e.fp_hash == f->fp_hash && (g->e.dev != f->dev || g->e.ino != f->ino)) {
            *start = g->read_off;
            return true;
        }
    for (i = 0; i < x->n_ckpts; i++) {
        const struct clog_ckpt_entry *e = &x->ckpts[i];

        if ((e->flags & CLOG_CKPT_TRUNCATED) && !x->ckpt_used[i] && e->fp_len == f->fp_len &&
            e->fp_hash == f->fp_hash && (e->dev != f->dev || e->ino != f->ino)) {
            x->ckpt_used[i] = true;
            *start = e->offset;
            return true;
        }
    }
    return false;
}

/* The checkpoint of f's own identity (also one marked gone: a rotated file
 * that the patterns reach again), or NULL. */
static struct clog_ckpt_entry *clog_ckpt_find(struct clog_ctx *x, const struct clog_file *f)
{
    size_t i;

    for (i = 0; f->fp_len != 0 && i < x->n_ckpts; i++) {
        struct clog_ckpt_entry *e = &x->ckpts[i];

        if (x->ckpt_used[i] || e->dev != f->dev || e->ino != f->ino || e->fp_len != f->fp_len ||
            e->fp_hash != f->fp_hash || (e->flags & CLOG_CKPT_TRUNCATED))
            continue;
        x->ckpt_used[i] = true;
        return e;
    }
    return NULL;
}

uint64_t clog_ckpt_start(struct clog_ctx *x, struct clog_file *f)
{
    const struct clog_ckpt_entry *e = clog_ckpt_find(x, f);
    uint64_t start;

    if (e != NULL)
        return e->offset <= f->size ? e->offset : 0;
    /* a copy goes on from the original's offset whatever its own size: the
     * lines written between copy and truncation are in neither */
    if (f->fp_len != 0 && clog_copy_start(x, f, &start)) {
        f->skip_to = start; /* a copy still being written may be shorter yet */
        return start <= f->size ? start : f->size;
    }
    if (x->read_from != NULL && strcmp(x->read_from, "tail") == 0)
        return clog_tail_start(x, f);
    return 0;
}

void clog_ckpt_of(const struct clog_file *f, struct clog_ckpt_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->dev = f->dev;
    e->ino = f->ino;
    clog_gz_identity(f, &e->dev, &e->ino);
    e->fp_len = f->fp_len;
    e->fp_hash = f->fp_hash;
    e->offset = f->acked_off;
    e->flags = f->gz != NULL ? CLOG_CKPT_GONE : 0;
    e->size = f->size != UINT64_MAX ? f->size : 0; /* a .gz not read to its end: unknown */
    e->path = f->path;
    e->real = f->origin != NULL ? f->origin : f->real;
}

/* The checkpoint file's text: every file with a known identity. */
static int clog_ckpt_text(struct clog_ctx *x, struct vg_buf *b)
{
    struct clog_ckpt_entry e;
    const struct clog_file *f;
    const struct clog_gone *g;
    int rc = vg_buf_puts(b, CLOG_CKPT_HEADER);

    if (rc == VG_OK)
        rc = vg_buf_printf(b, "%s%lld\n", CLOG_CKPT_WRITTEN, (long long)x->real());
    for (f = x->files; rc == VG_OK && f != NULL; f = f->next)
        if (f->fp_len != 0 && !f->shadow) {
            clog_ckpt_of(f, &e);
            rc = clog_ckpt_format(&e, b);
        }
    for (g = x->gone; rc == VG_OK && g != NULL; g = g->next)
        rc = clog_ckpt_format(&g->e, b);
    return rc;
}

void clog_ckpt_write(struct clog_ctx *x)
{
    struct vg_buf text;
    int rc;

    if (!x->ckpt_dirty || x->ckpt_path == NULL)
        return;
    vg_buf_init(&text);
    rc = clog_ckpt_text(x, &text);
    if (rc == VG_OK)
        rc = vg_checkpoint_write_atomic(x->ckpt_path, text.data, text.len);
    vg_buf_free(&text);
    if (rc != VG_OK) {
        vg_complain(&x->ckpt_complain, VG_LOG_ERROR, CLOG_PLUGIN, x->c->name,
                    "cannot write checkpoints to %s: %s; /readyz fails until they are written",
                    x->ckpt_path, vg_errno_str(errno));
        vg_collector_checkpoint_state(x->c, false);
        return;
    }
    vg_complain_clear(&x->ckpt_complain, CLOG_PLUGIN, x->c->name, "checkpoint writing");
    vg_collector_checkpoint_state(x->c, true);
    x->ckpt_dirty = false;
}

/* Moves the acknowledged position of a file or gone file to off. */
static void clog_ack_source(struct clog_ctx *x, uint64_t source_id, uint64_t off)
{
    struct clog_file *f = clog_find_source(x, source_id);
    struct clog_gone *g;

    if (f != NULL) {
        if (off > f->acked_off) {
            f->acked_off = off;
            x->ckpt_dirty = true;
        }
        /* its first record, which completed its predecessor's fragment, is in */
        if (f->pred_source != 0 && f->acked_off > 0) {
            uint64_t pred = f->pred_source;

            f->pred_source = 0;
            clog_ack_source(x, pred, f->pred_end);
        }
        return;
    }
    for (g = x->gone; g != NULL; g = g->next)
        if (g->source_id == source_id && off > g->e.offset) {
            g->e.offset = off;
            x->ckpt_dirty = true;
        }
}

void clog_ack(struct clog_ctx *x, const struct vg_ack *ack)
{
    clog_ack_source(x, ack->source_id, ack->offset);
}

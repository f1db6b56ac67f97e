/*
 * container_logs_ident.c - the identity of followed files and where each
 * starts: device and inode name a file, the fingerprint of its first line
 * guards against inode reuse. A fingerprint alone makes a file a copy of
 * another only when that other one was truncated (copytruncate), or, held
 * for at most rotate_wait, while a followed file with the same first line
 * and the same last bytes has not been truncated yet. Files that leave
 * (rotated away and read, truncated) are remembered as gone for a while,
 * so that acknowledgements still reach their checkpoint and a file found
 * again under another name continues where it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "container_logs.h"

bool clog_identify(struct clog_ctx *x, struct clog_file *f, bool force)
{
    char head[CLOG_FP_MAX];
    ssize_t n;

    if (f->fp_len != 0)
        return true;
    if (f->fd < 0)
        return false;
    n = clog_pread(x, f, head, sizeof(head), 0);
    if (n <= 0)
        return false;
    f->fp_len = clog_fingerprint(head, (size_t)n, force ? (size_t)n : sizeof(head), &f->fp_hash);
    if (f->fp_len == 0)
        return false;
    f->source_id = clog_source_id(f->dev, f->ino, f->fp_hash);
    return true;
}

/* Hash of n bytes of f at off; false when they cannot all be read. */
static bool clog_hash_at(struct clog_ctx *x, struct clog_file *f, uint64_t off, size_t n,
                         uint64_t *h)
{
    char b[CLOG_FP_MAX];

    if (n > sizeof(b) || f->fd < 0 || clog_pread(x, f, b, n, off) != (ssize_t)n)
        return false;
    *h = clog_hash(CLOG_HASH_INIT, b, n);
    return true;
}

/* True when f may be a copy of o taken by cp: o was just truncated (the
 * copy was made for that), or f is no larger than o and holds the same
 * bytes just before its end. A file that merely starts alike is not. */
static bool clog_may_be_copy(struct clog_ctx *x, struct clog_file *f, struct clog_file *o)
{
    uint64_t end = f->size, h1, h2;
    size_t n = end < CLOG_FP_MAX ? (size_t)end : CLOG_FP_MAX;
    struct stat st;

    if (o->gz != NULL || o->fd < 0 || fstat(o->fd, &st) != 0)
        return false;
    if ((uint64_t)st.st_size < o->read_off)
        return true;
    if (end > (uint64_t)st.st_size)
        return false;
    if (end <= f->fp_len)
        return true; /* nothing beyond the first line to tell them apart yet */
    return clog_hash_at(x, f, end - n, n, &h1) && clog_hash_at(x, o, end - n, n, &h2) && h1 == h2;
}

/* A followed file, not truncated, that f looks like a copy of. */
static struct clog_file *clog_original_of(struct clog_ctx *x, struct clog_file *f)
{
    struct clog_file *o;

    for (o = x->files; o != NULL; o = o->next)
        if (o != f && !o->shadow && o->fp_len != 0 && o->fp_len == f->fp_len &&
            o->fp_hash == f->fp_hash && (o->dev != f->dev || o->ino != f->ino) &&
            clog_may_be_copy(x, f, o))
            return o;
    return NULL;
}

/* Followed files that start like f (on another inode) may have been
 * truncated, or truncated and written past their read position, since
 * they were last read: that is noticed now, before f is judged against
 * them, so that a copy taken just before the truncation is known as one. */
static void clog_refresh_lookalikes(struct clog_ctx *x, struct clog_file *f, int64_t now_ns)
{
    struct clog_file *o, *nx;
    const char *why;
    struct stat st;

    for (o = x->files; o != NULL; o = nx) {
        nx = o->next;
        if (o == f || o->shadow || o->gz != NULL || o->fd < 0 || o->fp_len != f->fp_len ||
            o->fp_hash != f->fp_hash || (o->dev == f->dev && o->ino == f->ino))
            continue;
        if (fstat(o->fd, &st) != 0)
            continue;
        why = (uint64_t)st.st_size < o->read_off ? "it shrank" : clog_rewritten(x, o);
        if (why != NULL)
            clog_file_reidentify(x, o, now_ns, why);
    }
}

/* A gone file of f's own identity (renamed, then matched again): f
 * continues from it, and it is forgotten. */
static bool clog_gone_resume(struct clog_ctx *x, struct clog_file *f)
{
    struct clog_gone **pp, *g;

    for (pp = &x->gone; *pp != NULL; pp = &(*pp)->next) {
        g = *pp;
        if (g->e.dev != f->dev || g->e.ino != f->ino || g->e.fp_len != f->fp_len ||
            g->e.fp_hash != f->fp_hash || (g->e.flags & CLOG_CKPT_TRUNCATED))
            continue;
        f->read_off = f->emitted_off = g->read_off <= f->size ? g->read_off : f->size;
        f->acked_off = g->e.offset;
        *pp = g->next;
        x->n_gone--;
        clog_ckpt_entry_free(&g->e);
        free(g);
        return true;
    }
    return false;
}

/* The byte before off is a line end (or off is 0). */
static bool clog_line_start(struct clog_ctx *x, struct clog_file *f, uint64_t off)
{
    char c;

    return off == 0 || f->fd < 0 || clog_pread(x, f, &c, 1, off - 1) != 1 || c == '\n';
}

void clog_file_place(struct clog_ctx *x, struct clog_file *f, int64_t now_ns)
{
    uint64_t start;

    f->shadow = false;
    if (f->fp_len != 0)
        clog_refresh_lookalikes(x, f, now_ns);
    if (f->fp_len != 0 && clog_gone_resume(x, f)) {
        f->mid_line = !clog_line_start(x, f, f->read_off);
        return;
    }
    if (f->fp_len != 0 && !f->not_copy && clog_original_of(x, f) != NULL) {
        f->shadow = true;
        f->shadow_ns = now_ns;
        vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name,
               "%s starts like a followed file: held for up to rotate_wait as a possible "
               "copytruncate copy",
               f->path);
        return;
    }
    start = clog_ckpt_start(x, f);
    f->read_off = f->emitted_off = f->acked_off = start;
    f->fresh = start == 0;
    x->ckpt_dirty = true; /* a new identity: in the next checkpoint, read or not */
    f->mid_line = !clog_line_start(x, f, start);
}

void clog_release_shadows(struct clog_ctx *x, int64_t now_ns)
{
    struct clog_file *f;
    struct stat st;

    for (f = x->files; f != NULL; f = f->next) {
        if (!f->shadow)
            continue;
        if (f->fd >= 0 && fstat(f->fd, &st) == 0)
            f->size = (uint64_t)st.st_size;
        clog_refresh_lookalikes(x, f, now_ns); /* its original truncated: adopted */
        if (!f->shadow)
            continue;
        if (now_ns - f->shadow_ns < x->rotate_wait_ms * VG_NS_PER_MS &&
            clog_original_of(x, f) != NULL)
            continue; /* still byte for byte a copy of a followed file */
        f->not_copy = true;
        clog_file_place(x, f, now_ns);
        f->dirty = true;
        vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name,
               "%s is not a copy after all: reading it from offset %llu", f->path,
               (unsigned long long)f->read_off);
    }
}

/* Adopts shadows whose original was just truncated: they continue from
 * where the original was read to, before anything newer is read. */
static void clog_adopt_shadows(struct clog_ctx *x, const struct clog_gone *g, int64_t now_ns)
{
    struct clog_file *f;

    for (f = x->files; f != NULL; f = f->next) {
        if (!f->shadow || f->fp_len != g->e.fp_len || f->fp_hash != g->e.fp_hash)
            continue;
        f->shadow = false;
        f->read_off = f->emitted_off = f->acked_off =
            g->read_off <= f->size ? g->read_off : f->size;
        f->skip_to = g->read_off;
        f->rotated_ns = now_ns; /* a copy is finished: read it ahead of the others */
        f->dirty = true;
        vg_log(VG_LOG_DEBUG, CLOG_PLUGIN, x->c->name, "%s is a copy of %s: continuing at %llu",
               f->path, g->e.path, (unsigned long long)f->read_off);
    }
}

/* Forgets finished gone files past CLOG_GONE_KEEP_NS, and the oldest
 * finished ones beyond CLOG_GONE_MAX_DONE. */
static void clog_gone_prune(struct clog_ctx *x, int64_t now_ns)
{
    struct clog_gone **pp = &x->gone, *g;
    size_t done = 0;

    while (*pp != NULL) {
        g = *pp;
        if (g->e.offset >= g->read_off &&
            (now_ns - g->gone_ns > CLOG_GONE_KEEP_NS || ++done > CLOG_GONE_MAX_DONE)) {
            *pp = g->next;
            x->n_gone--;
            clog_ckpt_entry_free(&g->e);
            free(g);
            continue;
        }
        pp = &g->next;
    }
}

void clog_gone_add(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, uint64_t flags)
{
    struct clog_ckpt_entry e;
    struct clog_gone *g;

    if (f->fp_len == 0)
        return;
    g = vg_calloc(1, sizeof(*g));
    clog_ckpt_of(f, &e);
    e.flags = CLOG_CKPT_GONE | flags;
    e.size = f->read_off;
    if (g == NULL || clog_ckpt_entry_copy(&e, &g->e) != VG_OK) {
        free(g);
        vg_complain(&x->nomem_complain, VG_LOG_ERROR, CLOG_PLUGIN, x->c->name,
                    "out of memory: the checkpoint of %s is not kept", f->path);
        return;
    }
    g->source_id = f->source_id;
    g->read_off = f->read_off;
    g->gone_ns = now_ns;
    g->next = x->gone; /* newest first: pruning keeps the newest */
    x->gone = g;
    x->n_gone++;
    if (flags & CLOG_CKPT_TRUNCATED)
        clog_adopt_shadows(x, g, now_ns);
    clog_gone_prune(x, now_ns);
}

void clog_file_reidentify(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, const char *why)
{
    int i;

    vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name,
           "%s was truncated (%s) at offset %llu (copytruncate): reading it again from its start",
           f->path, why, (unsigned long long)f->read_off);
    x->rotations++;
    clog_flush_file(x, f, now_ns, true);
    clog_gone_add(x, f, now_ns, CLOG_CKPT_TRUNCATED);
    for (i = 0; i < 3; i++) {
        vg_buf_reset(&f->join[i].buf);
        f->join[i].active = false;
    }
    f->fp_len = f->fp_hash = f->source_id = 0;
    f->read_off = f->emitted_off = f->acked_off = 0;
    f->size = 0; /* so that what is written now counts as growth */
    f->grew_ns = now_ns;
    f->eof_ns = 0;
    f->tail_off = 0;
    f->skipping = false;
    f->fmt = x->fmt;
    f->not_copy = true; /* its new content is its own */
    x->ckpt_dirty = true;
    if (clog_identify(x, f, false))
        clog_file_place(x, f, now_ns);
}

const char *clog_rewritten(struct clog_ctx *x, struct clog_file *f)
{
    uint64_t h;

    if (f->gz != NULL || f->fp_len == 0 || f->read_off == 0)
        return NULL;
    if (clog_hash_at(x, f, 0, (size_t)f->fp_len, &h) && h != f->fp_hash)
        return "its first line changed";
    if (f->tail_off != f->read_off || f->tail_off < CLOG_TAIL_CHECK)
        return NULL;
    if (clog_hash_at(x, f, f->tail_off - CLOG_TAIL_CHECK, CLOG_TAIL_CHECK, &h) && h != f->tail_hash)
        return "the bytes before the read position changed";
    return NULL;
}

void clog_file_retire(struct clog_ctx *x, struct clog_file *f, int64_t now_ns)
{
    clog_flush_file(x, f, now_ns, true);
    clog_file_unlink(x, f);
    clog_file_close(x, f);
    if (!f->shadow)
        clog_gone_add(x, f, now_ns, 0);
    x->ckpt_dirty = true;
    clog_file_free_state(f);
}

void clog_gone_fini(struct clog_ctx *x)
{
    struct clog_gone *g;

    while (x->gone != NULL) {
        g = x->gone;
        x->gone = g->next;
        clog_ckpt_entry_free(&g->e);
        free(g);
    }
    x->n_gone = 0;
}

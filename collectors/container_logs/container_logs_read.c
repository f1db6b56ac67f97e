/*
 * container_logs_read.c - reading a followed file: large reads into one
 * buffer, lines split with memchr, decoded per format, fragments joined
 * per stream, grouped by the multiline rules, and emitted as records whose
 * offset is the position a restart must read from to lose nothing.
 *
 * A line is consumed only once it has been turned into a record or into
 * pending state, so a pause (full outputs) stops between two lines and the
 * next read starts at the first line not consumed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "container_logs.h"

#define CLOG_F_TRUNCATED    0x1u
#define CLOG_F_DECODE_ERROR 0x2u

/* Where a restart must read from when a record ending at end is emitted:
 * never past the start of a fragment or group still pending. */
static uint64_t clog_safe_off(const struct clog_ctx *x, const struct clog_file *f, uint64_t end)
{
    uint64_t off = end < x->hold_off ? end : x->hold_off, start;
    int i;

    for (i = 0; i < 3; i++) {
        if (f->join[i].active && f->join[i].start_off < off)
            off = f->join[i].start_off;
        if (f->ml[i] != NULL && vg_multiline_pending(f->ml[i], &start) && start < off)
            off = start;
    }
    return off;
}

static int clog_set_str(struct vg_emit *e, struct vg_record *r, const char *key, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return VG_OK;
    return vg_record_set_str(e, r, key, v, strlen(v));
}

/* The fields every record of f carries. */
static int clog_fields(struct clog_ctx *x, struct clog_file *f, struct vg_record *r,
                       enum vg_stream stream)
{
    struct vg_emit *e = x->emit;
    const struct clog_meta *m = &f->meta;
    int rc = VG_OK;

    if (f->fmt != CLOG_FMT_RAW && stream != VG_STREAM_OTHER)
        rc = clog_set_str(e, r, "stream", vg_stream_name(stream));
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "file", f->path);
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "node", x->c->node_name);
    if (rc != VG_OK || !f->has_meta)
        return rc;
    rc = clog_set_str(e, r, "namespace", m->namespace_);
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "pod", m->pod);
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "container", m->container);
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "container_id", m->container_id);
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "pod_uid", m->pod_uid);
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "container_name", m->container_name);
    if (rc == VG_OK)
        rc = clog_set_str(e, r, "image", m->image);
    if (rc == VG_OK && m->restart_count >= 0)
        rc = vg_record_set_int(e, r, "restart_count", m->restart_count);
    return rc;
}

/* One record; on failure (out of memory) nothing of it stays and the
 * positions are as they were. VG_OK or VG_ENOMEM. */
static int clog_record(struct clog_ctx *x, struct clog_file *f, enum vg_stream stream,
                       const char *body, size_t len, int64_t time_ns, uint64_t end_off,
                       unsigned flags)
{
    struct vg_record *r = vg_emit_record(x->emit, time_ns, body, len);
    int rc;

    if (r == NULL)
        return VG_ENOMEM;
    r->source_id = f->source_id;
    r->offset = clog_safe_off(x, f, end_off);
    r->position = end_off;
    rc = clog_fields(x, f, r, stream);
    if (rc == VG_OK && (flags & CLOG_F_TRUNCATED))
        rc = vg_record_set_bool(x->emit, r, "truncated", true);
    if (rc == VG_OK && (flags & CLOG_F_DECODE_ERROR))
        rc = vg_record_set_bool(x->emit, r, "decode_error", true);
    if (rc == VG_OK && x->attrs != NULL)
        rc = vg_record_set_json(x->emit, r, "attrs", x->attrs, x->attrs_len);
    if (rc != VG_OK) {
        vg_emit_record_cancel(x->emit, r);
        return rc;
    }
    if (r->offset > f->emitted_off)
        f->emitted_off = r->offset;
    return VG_OK;
}

/* What the multiline callback needs to know. */
struct clog_ml_arg {
    struct clog_ctx *x;
    struct clog_file *f;
    enum vg_stream stream;
    unsigned flags;
};

static int clog_ml_emit(void *arg, const struct vg_multiline_group *g)
{
    struct clog_ml_arg *a = arg;

    return clog_record(a->x, a->f, a->stream, g->text, g->len, g->time_ns, g->end_off,
                       a->flags | (g->truncated ? CLOG_F_TRUNCATED : 0));
}

/* A whole message of one stream: through the multiline rules, or out.
 * VG_OK, or VG_ENOMEM with nothing taken (the line is read again later). */
static int clog_message(struct clog_ctx *x, struct clog_file *f, enum vg_stream stream,
                        const char *msg, size_t len, int64_t time_ns, uint64_t start_off,
                        uint64_t end_off, unsigned flags)
{
    struct clog_ml_arg a = {x, f, stream, flags};
    int rc;

    if (x->ml_rules != NULL && !(flags & CLOG_F_DECODE_ERROR)) {
        if (f->ml[stream] == NULL)
            f->ml[stream] = vg_multiline_create(x->ml_rules);
        if (f->ml[stream] == NULL)
            return VG_ENOMEM;
        rc = vg_multiline_push(f->ml[stream], msg, len, time_ns, start_off, end_off, x->mono(),
                               clog_ml_emit, &a);
    } else {
        if (len > x->max_line_bytes) {
            len = (size_t)x->max_line_bytes;
            flags |= CLOG_F_TRUNCATED;
        }
        rc = clog_record(x, f, stream, msg, len, time_ns, end_off, flags);
    }
    if (rc == VG_OK && (flags & CLOG_F_TRUNCATED))
        x->truncations++;
    return rc;
}

/* Adds a fragment to the stream's pending message (cut at max_line_bytes).
 * VG_ENOMEM leaves the message as it was. */
static int clog_join_add(struct clog_ctx *x, struct clog_join *j, const char *frag, size_t len,
                         int64_t time_ns, uint64_t start_off, uint64_t end_off)
{
    size_t room = j->active && j->buf.len < x->max_line_bytes
                      ? (size_t)x->max_line_bytes - j->buf.len
                  : j->active ? 0
                              : (size_t)x->max_line_bytes;
    bool cut = len > room;

    if (cut)
        len = room;
    if (!j->active)
        vg_buf_reset(&j->buf);
    if (len > 0 && vg_buf_append(&j->buf, frag, len) != VG_OK)
        return VG_ENOMEM;
    if (!j->active) {
        j->active = true;
        j->truncated = false;
        j->time_ns = time_ns;
        j->start_off = start_off;
    }
    j->truncated = j->truncated || cut;
    j->end_off = end_off;
    return VG_OK;
}

/* Emits the stream's pending message (ending at end_off) and clears it;
 * on failure it stays pending as it was. */
static int clog_join_emit(struct clog_ctx *x, struct clog_file *f, enum vg_stream stream,
                          uint64_t end_off, unsigned flags)
{
    struct clog_join *j = &f->join[stream];
    int rc;

    flags |= j->truncated ? CLOG_F_TRUNCATED : 0;
    j->active = false; /* before emitting: the record's offset may pass its start now */
    rc = clog_message(x, f, stream, j->buf.data != NULL ? j->buf.data : "", j->buf.len, j->time_ns,
                      j->start_off, end_off, flags);
    if (rc != VG_OK) {
        j->active = true;
        return rc;
    }
    vg_buf_reset(&j->buf);
    return VG_OK;
}

/* A decoded runtime line: a fragment to keep, or the end of a message. */
static int clog_runtime(struct clog_ctx *x, struct clog_file *f, const struct vg_runtime_line *rl,
                        uint64_t start_off, uint64_t end_off, unsigned flags)
{
    struct clog_join *j = &f->join[rl->stream];
    size_t len0 = j->buf.len;
    bool trunc0 = j->truncated, active0 = j->active;
    int rc;

    if (rl->partial)
        return clog_join_add(x, j, rl->msg, rl->msg_len, rl->time_ns, start_off, end_off);
    if (!j->active)
        return clog_message(x, f, rl->stream, rl->msg, rl->msg_len, rl->time_ns, start_off, end_off,
                            flags);
    rc = clog_join_add(x, j, rl->msg, rl->msg_len, rl->time_ns, start_off, end_off);
    if (rc == VG_OK)
        rc = clog_join_emit(x, f, rl->stream, end_off, flags);
    if (rc != VG_OK) { /* as before this line */
        j->buf.len = len0;
        j->truncated = trunc0;
        j->active = active0;
    }
    return rc;
}

/* The format a line is in; VG_ENOMEM when that could not be told. */
static int clog_detect(struct clog_ctx *x, const char *line, size_t len, enum clog_format *fmt)
{
    struct vg_runtime_line rl;
    int rc = VG_EPARSE;

    if (len > 0 && line[0] == '{')
        rc = vg_docker_decode(line, len, &x->scratch, &rl);
    if (rc == VG_ENOMEM)
        return rc;
    if (rc == VG_OK)
        *fmt = CLOG_FMT_DOCKER;
    else if (vg_cri_decode(line, len, &rl) == VG_OK)
        *fmt = CLOG_FMT_CRI;
    else
        *fmt = CLOG_FMT_RAW;
    return VG_OK;
}

/* The format of a file is decided on the first whole line that decodes;
 * a cut line (read from its middle, or longer than max_line_bytes) that
 * does not decode decides nothing. VG_OK or VG_ENOMEM. */
static int clog_line_format(struct clog_ctx *x, struct clog_file *f, const char *line, size_t len,
                            unsigned flags, enum clog_format *fmt)
{
    int rc;

    *fmt = f->fmt;
    if (f->fmt != CLOG_FMT_AUTO)
        return VG_OK;
    rc = clog_detect(x, line, len, fmt);
    if (rc == VG_OK && (*fmt != CLOG_FMT_RAW || (!f->mid_line && !(flags & CLOG_F_TRUNCATED))))
        f->fmt = *fmt;
    return rc;
}

/* A line that did not decode: sent as it is, marked. */
static int clog_undecoded(struct clog_ctx *x, struct clog_file *f, const char *line, size_t len,
                          uint64_t start_off, uint64_t end_off, int64_t now_real, unsigned flags)
{
    int rc = clog_message(x, f, VG_STREAM_OTHER, line, len, now_real, start_off, end_off,
                          flags | CLOG_F_DECODE_ERROR);

    if (rc == VG_OK)
        x->decode_errors++;
    return rc;
}

/* One line of f (without its '\n'), from start_off to end_off. VG_OK, or
 * VG_ENOMEM with nothing of it taken. */
static int clog_line(struct clog_ctx *x, struct clog_file *f, const char *line, size_t len,
                     uint64_t start_off, uint64_t end_off, int64_t now_real, unsigned flags)
{
    enum clog_format fmt;
    struct vg_runtime_line rl;
    int rc = clog_line_format(x, f, line, len, flags, &fmt);

    if (rc != VG_OK)
        return rc;
    if (fmt == CLOG_FMT_RAW && f->fmt == CLOG_FMT_RAW)
        return clog_message(x, f, VG_STREAM_OTHER, line, len, now_real, start_off, end_off, flags);
    if (fmt == CLOG_FMT_RAW)
        return clog_undecoded(x, f, line, len, start_off, end_off, now_real, flags);
    if (fmt == CLOG_FMT_CRI)
        rc = vg_cri_decode(line, len, &rl);
    else
        rc = vg_docker_decode(line, len, &x->scratch, &rl);
    if (rc == VG_ENOMEM)
        return rc;
    if (rc != VG_OK)
        return clog_undecoded(x, f, line, len, start_off, end_off, now_real, flags);
    if (flags & CLOG_F_TRUNCATED)
        rl.partial = false; /* the rest of this line is skipped: what was read is the message */
    x->attrs = rl.attrs;
    x->attrs_len = rl.attrs_len;
    rc = clog_runtime(x, f, &rl, start_off, end_off, flags);
    x->attrs = NULL;
    return rc;
}

/* At the end of what f holds: notices truncation (copytruncate) and
 * deletion. True when f was truncated. */
static bool clog_at_eof(struct clog_ctx *x, struct clog_file *f, int64_t now_ns)
{
    struct stat st;

    if (f->eof_ns == 0)
        f->eof_ns = now_ns; /* partial_timeout counts from here */
    if (f->gz != NULL || fstat(f->fd, &st) != 0)
        return false;
    if ((uint64_t)st.st_size < f->read_off) {
        clog_file_reidentify(x, f, now_ns, "it shrank");
        clog_wake(x, 0);
        return true;
    }
    if (st.st_nlink == 0 && f->rotated_ns == 0)
        f->rotated_ns = now_ns; /* deleted: read to the end, then close */
    return false;
}

/* A line could not be taken for lack of memory: read again shortly. */
static void clog_nomem(struct clog_ctx *x, struct clog_file *f)
{
    x->nomem_retries++;
    vg_complain(&x->nomem_complain, VG_LOG_ERROR, CLOG_PLUGIN, x->c->name,
                "out of memory at offset %llu of %s: reading it again in 100 ms",
                (unsigned long long)f->read_off, f->path);
    clog_wake(x, 100);
}

/* Splits buf[0..n) (read at f->read_off) into lines. Returns the bytes
 * consumed; *stop is set when the outputs filled up or memory ran out. */
static size_t clog_split(struct clog_ctx *x, struct clog_file *f, const char *buf, size_t n,
                         int64_t now_real, bool *stop)
{
    const char *p = buf, *end = buf + n, *nl;

    while (p < end) {
        if (vg_emit_paused(x->emit)) {
            *stop = true;
            break;
        }
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        if (!f->skipping &&
            clog_line(x, f, p, (size_t)(nl - p), f->read_off + (uint64_t)(p - buf),
                      f->read_off + (uint64_t)(nl + 1 - buf), now_real, 0) != VG_OK) {
            clog_nomem(x, f);
            *stop = true;
            break;
        }
        f->skipping = false;
        f->mid_line = false;
        f->fresh = false;
        p = nl + 1;
    }
    return (size_t)(p - buf);
}

/* The rest of buf holds no '\n': drop it while skipping, or cut a line
 * that is too long. Returns the bytes consumed. */
static size_t clog_long_line(struct clog_ctx *x, struct clog_file *f, const char *p, size_t n,
                             int64_t now_real)
{
    int rc;

    if (f->skipping)
        return n;
    if (n <= x->max_line_bytes)
        return 0; /* the line may still end: wait */
    /* named by the bytes it covers, resumed from the line's start */
    x->hold_off = f->read_off;
    rc = clog_line(x, f, p, (size_t)x->max_line_bytes, f->read_off, f->read_off + x->max_line_bytes,
                   now_real, CLOG_F_TRUNCATED);
    x->hold_off = UINT64_MAX;
    if (rc != VG_OK) {
        clog_nomem(x, f);
        return 0;
    }
    f->skipping = true;
    f->mid_line = false;
    f->fresh = false;
    return (size_t)x->max_line_bytes;
}

/* Remembers the bytes just before the read position, to notice a file
 * truncated and written again past it while the agent did not look. */
static void clog_note_tail(struct clog_file *f, const char *consumed_end, size_t consumed)
{
    if (consumed < CLOG_TAIL_CHECK || f->gz != NULL)
        return;
    f->tail_off = f->read_off;
    f->tail_hash = clog_hash(CLOG_HASH_INIT, consumed_end - CLOG_TAIL_CHECK, CLOG_TAIL_CHECK);
}

/* The first bytes of f are read: its identity must be theirs. A file
 * truncated and written again between its identification and this read
 * (copytruncate under load) takes the identity of what is read now;
 * nothing was read under the old one. */
static void clog_first_read(struct clog_ctx *x, struct clog_file *f, const char *buf, size_t n)
{
    uint64_t h;
    size_t len;

    if (f->gz != NULL || f->fp_len == 0)
        return;
    len = clog_fingerprint(buf, n, CLOG_FP_MAX, &h);
    if (len == 0 || (len == f->fp_len && h == f->fp_hash))
        return;
    f->fp_len = len;
    f->fp_hash = h;
    f->source_id = clog_source_id(f->dev, f->ino, h);
    x->ckpt_dirty = true;
}

/* One read at f->read_off and the lines it holds. Returns the bytes read
 * (0: the end, -1: an error), *used what was consumed. The first read that
 * finds new bytes first makes sure the file was not rewritten meanwhile
 * (*checked); if it was, nothing is read now (*stop) and f starts over. */
static ssize_t clog_read_once(struct clog_ctx *x, struct clog_file *f, size_t want, int64_t now_ns,
                              bool *checked, size_t *used, bool *stop)
{
    ssize_t n = clog_pread(x, f, x->buf, want, f->read_off);
    int64_t now_real = x->real();
    const char *why;
    size_t more;

    *used = 0;
    if (n <= 0)
        return n;
    if (!*checked) {
        *checked = true;
        why = clog_rewritten(x, f);
        if (why != NULL) {
            clog_file_reidentify(x, f, now_ns, why);
            f->dirty = true;
            clog_wake(x, 0);
            *stop = true;
            return 0;
        }
    }
    if (f->read_off == 0)
        clog_first_read(x, f, x->buf, (size_t)n);
    if (f->read_off + (uint64_t)n > f->size) {
        f->size = f->read_off + (uint64_t)n;
        f->grew_ns = now_ns;
        f->eof_ns = 0; /* new bytes: no timeout counts until the end is reached again */
    }
    *used = clog_split(x, f, x->buf, (size_t)n, now_real, stop);
    f->read_off += *used;
    if (!*stop) {
        more = clog_long_line(x, f, x->buf + *used, (size_t)n - *used, now_real);
        f->read_off += more;
        *used += more;
    }
    clog_note_tail(f, x->buf + *used, *used);
    return n;
}

/* A copy moves past what its original was read to, as far as it has been
 * written yet; true once it is there (what follows is new). */
static bool clog_skip_copied(struct clog_file *f)
{
    struct stat st;
    uint64_t to;

    if (f->read_off >= f->skip_to)
        return true;
    if (f->gz != NULL || f->fd < 0 || fstat(f->fd, &st) != 0)
        return false;
    to = (uint64_t)st.st_size < f->skip_to ? (uint64_t)st.st_size : f->skip_to;
    if (to > f->read_off)
        f->read_off = to;
    if (to > f->emitted_off)
        f->emitted_off = to;
    if ((uint64_t)st.st_size > f->size)
        f->size = (uint64_t)st.st_size;
    return f->read_off >= f->skip_to;
}

bool clog_read_file(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, uint64_t *budget)
{
    bool stop = false, checked = false;
    size_t want = CLOG_READ_CHUNK, used;
    ssize_t n;

    if (f->fp_len == 0 && clog_identify(x, f, false))
        clog_file_place(x, f, now_ns);
    if (f->fp_len == 0 || f->shadow || !clog_skip_copied(f))
        return true;
    if (f->fresh)
        clog_take_fragments(x, f);
    while (*budget > 0 && !stop) {
        n = clog_read_once(x, f, want, now_ns, &checked, &used, &stop);
        if (n == 0 && stop)
            return true; /* started over: read again at once */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vg_complain(&x->read_complain, VG_LOG_ERROR, CLOG_PLUGIN, x->c->name,
                        "cannot read %s: %s", f->path, vg_errno_str(errno));
            break;
        }
        if (n == 0) {
            clog_at_eof(x, f, now_ns);
            break;
        }
        *budget = used < *budget ? *budget - used : 0;
        if ((size_t)n < want && !stop && clog_at_eof(x, f, now_ns))
            break;
        if (used == 0 && (size_t)n == want && want < x->buf_cap && !stop) {
            want = x->buf_cap; /* a line longer than a chunk: read up to max_line_bytes */
            continue;
        }
        if ((size_t)n < want || used == 0)
            break;
        want = CLOG_READ_CHUNK;
    }
    return !stop;
}

/* Emits the last line of f when it never got its '\n'. VG_OK or VG_ENOMEM. */
static int clog_flush_tail(struct clog_ctx *x, struct clog_file *f, int64_t now_ns)
{
    ssize_t n;
    size_t len;
    int rc;

    if (f->fd < 0 || f->skipping || f->read_off >= f->size || f->read_off < f->skip_to)
        return VG_OK;
    if (f->fp_len == 0) {
        if (!clog_identify(x, f, true))
            return VG_OK;
        clog_file_place(x, f, now_ns);
    }
    if (f->shadow || f->read_off >= f->size)
        return VG_OK;
    n = clog_pread(x, f, x->buf, x->buf_cap, f->read_off);
    if (n <= 0 || memchr(x->buf, '\n', (size_t)n) != NULL)
        return VG_OK; /* whole lines are the reader's */
    len = (size_t)n < x->max_line_bytes ? (size_t)n : (size_t)x->max_line_bytes;
    rc = clog_line(x, f, x->buf, len, f->read_off, f->read_off + (uint64_t)n, x->real(),
                   len < (size_t)n ? CLOG_F_TRUNCATED : 0);
    if (rc != VG_OK)
        return rc;
    f->read_off += (uint64_t)n;
    f->fresh = false;
    f->mid_line = false;
    return VG_OK;
}

/* True once the reader has waited at f's end for partial_timeout, and f
 * has not been written to since (dirty: not read yet this round). */
static bool clog_timed_out(const struct clog_ctx *x, const struct clog_file *f, int64_t now_ns)
{
    return f->eof_ns != 0 && !f->dirty &&
           now_ns - f->eof_ns >= x->partial_timeout_ms * VG_NS_PER_MS;
}

void clog_flush_file(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, bool force)
{
    int i, rc = VG_OK;

    if (force || clog_timed_out(x, f, now_ns)) {
        rc = clog_flush_tail(x, f, now_ns);
        for (i = 0; i < 3 && rc == VG_OK; i++)
            if (f->join[i].active)
                rc = clog_join_emit(x, f, (enum vg_stream)i, f->join[i].end_off, 0);
    }
    for (i = 0; i < 3 && rc == VG_OK; i++) {
        struct clog_ml_arg a = {x, f, (enum vg_stream)i, 0};

        if (f->ml[i] != NULL)
            rc = vg_multiline_flush(f->ml[i], now_ns, force, clog_ml_emit, &a);
    }
    if (rc != VG_OK)
        clog_nomem(x, f);
}

int64_t clog_file_deadline(const struct clog_ctx *x, const struct clog_file *f)
{
    int64_t d = INT64_MAX, m;
    bool pending = f->read_off < f->size && !f->skipping;
    int i;

    for (i = 0; i < 3; i++) {
        pending = pending || f->join[i].active;
        if (f->ml[i] != NULL) {
            m = vg_multiline_deadline(f->ml[i]);
            if (m < d)
                d = m;
        }
    }
    if (pending && f->eof_ns != 0 && f->eof_ns + x->partial_timeout_ms * VG_NS_PER_MS < d)
        d = f->eof_ns + x->partial_timeout_ms * VG_NS_PER_MS;
    return d;
}

void clog_take_fragments(struct clog_ctx *x, struct clog_file *f)
{
    struct clog_file *p;
    int i;

    for (p = x->files; p != NULL && p != f; p = p->next) {
        if (p->rotated_ns == 0 || p->eof_ns == 0 || strcmp(p->path, f->path) != 0)
            continue;
        for (i = 0; i < 3; i++) {
            struct clog_join tmp;

            if (!p->join[i].active || f->join[i].active)
                continue;
            tmp = f->join[i];
            f->join[i] = p->join[i];
            p->join[i] = tmp;
            p->join[i].active = false;
            f->join[i].start_off = f->join[i].end_off = f->read_off;
            f->pred_source = p->source_id;
            f->pred_end = p->read_off;
            vg_log(VG_LOG_DEBUG, CLOG_PLUGIN, x->c->name,
                   "a message of %s goes on in %s: joined across the rotation", p->real, f->real);
        }
    }
}

void clog_file_free_state(struct clog_file *f)
{
    int i;

    clog_gz_close(f);
    for (i = 0; i < 3; i++) {
        vg_buf_free(&f->join[i].buf);
        if (f->ml[i] != NULL)
            vg_multiline_destroy(f->ml[i]);
    }
    free(f->path);
    free(f->real);
    free(f->origin);
    free(f);
}

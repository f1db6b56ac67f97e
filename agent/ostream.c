/*
 * ostream.c - NDJSON lines to a descriptor whose reader may stop reading:
 * bounded waits, no blocking write, and progress kept across retries (see
 * vigil.h).
 *
 * On every kind but a plain file a write takes at most PIPE_BUF bytes and
 * ends at a line end when one is in reach: such a write to a pipe is atomic,
 * so a line is never interleaved with what other writers of the same pipe
 * (the agent's own log, when 2>&1) put there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil.h"

#define OSTREAM_SLICE_MS 100 /* poll slices: how soon a shutdown is noticed */

void vg_ostream_init(struct vg_ostream *s)
{
    s->fd = -1;
    s->own_fd = -1;
    s->kind = VG_OSTREAM_PLAIN;
    vg_buf_init(&s->lines);
    vg_buf_init(&s->rest);
    s->rest_off = 0;
}

/* A non-blocking description of the FIFO or device behind a shared fd, or
 * -1. Never for a regular file: a new description would start at offset 0. */
static int ostream_reopen(int fd, const struct stat *st)
{
    char path[64];
    struct stat st2;
    int nfd;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (nfd < 0)
        return -1;
    if (fstat(nfd, &st2) != 0 || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino ||
        st2.st_rdev != st->st_rdev) {
        close(nfd);
        return -1;
    }
    return nfd;
}

/* Makes fd (ours alone) non-blocking; false when it cannot be. */
static bool ostream_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

enum vg_ostream_kind vg_ostream_attach(struct vg_ostream *s, int fd, bool shared)
{
    struct stat st;
    int nfd;

    vg_ostream_detach(s);
    s->fd = fd;
    s->kind = VG_OSTREAM_PLAIN;
    if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
        return s->kind; /* a write that fails says why */
    if (S_ISSOCK(st.st_mode)) {
        s->kind = VG_OSTREAM_SOCKET;
        return s->kind;
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
        return s->kind;
    if (!shared) {
        s->kind = ostream_set_nonblock(fd) ? VG_OSTREAM_NONBLOCK : VG_OSTREAM_POLLED;
        return s->kind;
    }
    nfd = ostream_reopen(fd, &st);
    if (nfd >= 0) {
        s->own_fd = s->fd = nfd;
        s->kind = VG_OSTREAM_NONBLOCK;
    } else {
        s->kind = VG_OSTREAM_POLLED;
    }
    return s->kind;
}

void vg_ostream_detach(struct vg_ostream *s)
{
    if (s->own_fd >= 0)
        close(s->own_fd);
    s->own_fd = -1;
    s->fd = -1;
    vg_buf_reset(&s->rest);
    s->rest_off = 0;
}

void vg_ostream_free(struct vg_ostream *s)
{
    vg_ostream_detach(s);
    vg_buf_free(&s->lines);
    vg_buf_free(&s->rest);
}

/* How much of p[0..n) the next write takes (see the file comment). */
static size_t ostream_chunk(const struct vg_ostream *s, const char *p, size_t n)
{
    const char *nl;

    if (s->kind == VG_OSTREAM_PLAIN || n <= PIPE_BUF)
        return n;
    nl = memrchr(p, '\n', PIPE_BUF);                     /* the last line end in reach */
    return nl != NULL ? (size_t)(nl - p) + 1 : PIPE_BUF; /* else a long line, in pieces */
}

/* One write: the bytes taken, 0 when fd would block, -1 on error (errno). */
static ssize_t ostream_write_some(const struct vg_ostream *s, const char *p, size_t n)
{
    ssize_t w;

    do {
        if (s->kind == VG_OSTREAM_SOCKET)
            w = send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        else
            w = write(s->fd, p, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (w == 0) {
        errno = ENOSPC; /* a regular file that takes nothing */
        return -1;
    }
    return w;
}

/* Waits until fd takes more, in slices so that a shutdown is noticed:
 * VG_OK, VG_EAGAIN (errno EAGAIN) at stall_ns, VG_ESTOP, VG_EIO. */
static int ostream_wait(const struct vg_ostream *s, struct vg_output *o, int64_t stall_ns)
{
    struct pollfd pfd = {s->fd, POLLOUT, 0};
    int64_t left_ms;
    int n;

    for (;;) {
        if (vg_output_stopping(o))
            return VG_ESTOP;
        left_ms = (stall_ns - vg_mono_ns() + VG_NS_PER_MS - 1) / VG_NS_PER_MS;
        if (left_ms <= 0) {
            errno = EAGAIN;
            return VG_EAGAIN;
        }
        n = poll(&pfd, 1, (int)(left_ms < OSTREAM_SLICE_MS ? left_ms : OSTREAM_SLICE_MS));
        if (n > 0) /* POLLOUT, or POLLERR: the write says which */
            return VG_OK;
        if (n < 0 && errno != EINTR)
            return VG_EIO;
    }
}

/* Writes p[0..n), or stops at a stall, an error or the shutdown; *done
 * gets the bytes written either way. */
static int ostream_write(const struct vg_ostream *s, struct vg_output *o, const char *p, size_t n,
                         size_t *done)
{
    int64_t stall_ns = vg_mono_ns() + VG_OSTREAM_STALL_MS * VG_NS_PER_MS;
    ssize_t w;
    int rc;

    *done = 0;
    while (*done < n) {
        if (s->kind == VG_OSTREAM_POLLED) {
            rc = ostream_wait(s, o, stall_ns);
            if (rc != VG_OK)
                return rc;
        }
        w = ostream_write_some(s, p + *done, ostream_chunk(s, p + *done, n - *done));
        if (w < 0)
            return VG_EIO;
        if (w == 0) {
            rc = ostream_wait(s, o, stall_ns);
            if (rc != VG_OK)
                return rc;
            continue;
        }
        *done += (size_t)w;
        stall_ns = vg_mono_ns() + VG_OSTREAM_STALL_MS * VG_NS_PER_MS;
    }
    return VG_OK;
}

/* Writes what is left of a cut line. */
static int ostream_finish_rest(struct vg_ostream *s, struct vg_output *o)
{
    size_t done;
    int rc;

    if (s->rest_off >= s->rest.len)
        return VG_OK;
    rc = ostream_write(s, o, s->rest.data + s->rest_off, s->rest.len - s->rest_off, &done);
    vg_output_count_bytes(o, done, done);
    s->rest_off += done;
    if (rc == VG_OK) {
        vg_buf_reset(&s->rest);
        s->rest_off = 0;
    }
    return rc;
}

/* The pending records of b, one line each, into s->lines. */
static int ostream_format(struct vg_ostream *s, struct vg_output *o, struct vg_batch *b)
{
    size_t i, n = vg_batch_count(b);

    vg_buf_reset(&s->lines);
    for (i = 0; i < n; i++) {
        if (!vg_output_pending(o, b, i))
            continue;
        if (vg_record_encode(vg_batch_record(b, i), o->record_schema, &s->lines) != VG_OK ||
            vg_buf_putc(&s->lines, '\n') != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* After a write of s->lines stopped at done bytes: the records whose lines
 * went out whole are delivered; so is one whose line was cut, its rest
 * kept to be written first (the buffers swap: nothing to allocate). */
static void ostream_keep(struct vg_ostream *s, struct vg_output *o, struct vg_batch *b, size_t done)
{
    size_t i, n = vg_batch_count(b), pos = 0, end;
    const char *nl;
    struct vg_buf tmp;

    for (i = 0; i < n && pos < done; i++) {
        if (!vg_output_pending(o, b, i))
            continue;
        nl = memchr(s->lines.data + pos, '\n', s->lines.len - pos);
        end = nl != NULL ? (size_t)(nl - s->lines.data) + 1 : s->lines.len;
        vg_output_delivered(o, b, i);
        if (end > done) { /* cut: the rest goes first next time */
            tmp = s->rest;
            s->rest = s->lines;
            s->lines = tmp;
            s->rest.len = end;
            s->rest_off = done;
            return;
        }
        pos = end;
    }
}

int vg_ostream_send(struct vg_ostream *s, struct vg_output *o, struct vg_batch *b)
{
    size_t done = 0;
    int rc;

    rc = ostream_finish_rest(s, o);
    if (rc == VG_OK)
        rc = ostream_format(s, o, b);
    if (rc != VG_OK)
        return rc;
    rc = ostream_write(s, o, s->lines.data, s->lines.len, &done);
    vg_output_count_bytes(o, done, done);
    if (rc != VG_OK)
        ostream_keep(s, o, b, done);
    return rc;
}

/*
 * pipeline_worker.c - one output's queue and worker thread: send, retry
 * with backoff, dead letters, and the release of batches.
 *
 * Backoff before retry n (n >= 1) is d = min(retry_backoff_max,
 * retry_backoff * 2^(n-1)) with "equal jitter": a wait drawn uniformly in
 * [d/2, d]. Half the wait is certain, so a recovering peer is not hammered,
 * and the other half spreads agents that failed at the same moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "pipeline_internal.h"

#define OUTQ_RING_MIN 64u
#define OUTQ_IDLE_MS  1000 /* between two calls of an idle output's hook */

int vg_outq_init(struct vg_outq *q)
{
    pthread_condattr_t ca;
    int rc = VG_EIO;

    q->dl_fd = -1;
    atomic_store(&q->st.up, 1);
    q->rng = (uint64_t)vg_mono_ns() ^ (uint64_t)(uintptr_t)q ^ 0x9e3779b97f4a7c15ull;
    vg_buf_init(&q->dl_buf);
    q->cap = OUTQ_RING_MIN;
    q->ring = vg_calloc(q->cap, sizeof(*q->ring));
    if (q->ring == NULL)
        return VG_ENOMEM;
    if (pthread_condattr_init(&ca) != 0)
        goto fail_ring;
    /* deadlines (backoff, drain) are on the monotonic clock */
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0)
        goto fail_attr;
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        goto fail_attr;
    if (pthread_cond_init(&q->cv, &ca) != 0)
        goto fail_mu;
    if (pthread_cond_init(&q->idle_cv, &ca) != 0)
        goto fail_cv;
    pthread_condattr_destroy(&ca);
    return VG_OK;
fail_cv:
    pthread_cond_destroy(&q->cv);
fail_mu:
    pthread_mutex_destroy(&q->mu);
fail_attr:
    pthread_condattr_destroy(&ca);
fail_ring:
    free(q->ring);
    q->ring = NULL;
    return rc;
}

/* Frees the queue's own memory; the batches belong to their sinks. */
void vg_outq_fini(struct vg_outq *q)
{
    if (q->ring == NULL)
        return;
    pthread_cond_destroy(&q->idle_cv);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    q->ring = NULL;
    if (q->dl_fd >= 0)
        close(q->dl_fd);
    vg_buf_free(&q->dl_buf);
    free(q->dl_marks);
    free(q->group.recs);
}

/* Doubles the ring (mu held), keeping the order of the waiting batches. */
static int outq_grow(struct vg_outq *q)
{
    size_t cap = q->cap * 2, i;
    struct vg_batch **ring = vg_malloc(cap * sizeof(*ring));

    if (ring == NULL)
        return VG_ENOMEM;
    for (i = 0; i < q->waiting; i++)
        ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return VG_OK;
}

static void outq_publish(struct vg_outq *q)
{
    atomic_store(&q->n_pub, q->n);
    atomic_store(&q->bytes_pub, q->bytes);
}

/*
 * Makes room in the ring for one more batch (engine thread, the only one
 * that pushes; workers only take, so the room stays). VG_OK or VG_ENOMEM.
 */
int vg_outq_reserve(struct vg_outq *q)
{
    int rc = VG_OK;

    pthread_mutex_lock(&q->mu);
    if (q->waiting == q->cap)
        rc = outq_grow(q);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

/*
 * Appends a reference to b, for which vg_outq_reserve made room. Never
 * waits: a queue over its limits takes the batch anyway (vg_sink_paused
 * tells collectors to stop reading).
 */
void vg_outq_push(struct vg_outq *q, struct vg_batch *b)
{
    pthread_mutex_lock(&q->mu);
    q->ring[(q->head + q->waiting) % q->cap] = b;
    q->waiting++;
    q->n++;
    q->bytes += b->mem;
    outq_publish(q);
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

bool vg_outq_full(struct vg_outq *q)
{
    return atomic_load(&q->n_pub) >= (size_t)q->s.queue_max_batches ||
           atomic_load(&q->bytes_pub) >= q->s.queue_max_bytes;
}

void vg_batch_release(struct vg_pipeline *p, struct vg_batch *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1)
        vg_batch_complete(p, b);
}

/* Waits ms unless stopped first; false when stopped. */
static bool outq_sleep(struct vg_outq *q, int64_t ms)
{
    int64_t deadline = vg_add_sat(vg_mono_ns(), vg_ms_to_ns_sat(ms));
    struct timespec ts = {(time_t)(deadline / VG_NS_PER_SEC), (long)(deadline % VG_NS_PER_SEC)};
    bool stop;

    pthread_mutex_lock(&q->mu);
    while (!q->stopping)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
            break;
    stop = q->stopping;
    pthread_mutex_unlock(&q->mu);
    return !stop;
}

static uint64_t outq_random(struct vg_outq *q)
{
    q->rng ^= q->rng >> 12;
    q->rng ^= q->rng << 25;
    q->rng ^= q->rng >> 27;
    return q->rng * 0x2545f4914f6cdd1dull;
}

/* The wait before retry `attempt` (1-based), in ms: see the file comment. */
static int64_t outq_backoff(struct vg_outq *q, unsigned attempt)
{
    int64_t d = q->s.retry_backoff_ms, max = q->s.retry_backoff_max_ms, half;
    unsigned i;

    for (i = 1; i < attempt && d < max; i++)
        d = vg_add_sat(d, d);
    if (d > max)
        d = max;
    half = d / 2;
    return half + (int64_t)(outq_random(q) % (uint64_t)(d - half + 1));
}

/* mkdir -p of the folder that holds path (none: the working directory). */
static int outq_mkdirs(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len;

    if (slash == NULL)
        return VG_OK;
    len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof(dir))
        return VG_EINVAL;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return vg_mkdirs(dir);
}

/* Opens the dead-letter file (non-blocking, so that a FIFO with no reader
 * cannot hold the worker); only a regular file is fsynced, cut back and
 * rotated, so that /dev/null or a FIFO can take dead letters too. */
static int outq_dl_open(struct vg_outq *q)
{
    struct stat st;
    int fl;

    if (q->dl_fd >= 0)
        return VG_OK;
    if (outq_mkdirs(q->dl_path) != VG_OK)
        return VG_EIO;
    q->dl_fd = open(q->dl_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
    if (q->dl_fd < 0)
        return VG_EIO;
    q->dl_regular = fstat(q->dl_fd, &st) == 0 && S_ISREG(st.st_mode);
    fl = fcntl(q->dl_fd, F_GETFL);
    if (q->dl_regular && fl >= 0)
        fcntl(q->dl_fd, F_SETFL, fl & ~O_NONBLOCK);
    return VG_OK;
}

/* Rotates the dead-letter file to PATH.1 when the pending lines would take
 * it past dead_letter_max_bytes, so that it never fills the disk. */
static void outq_dl_rotate(struct vg_outq *q)
{
    char old[4200];
    struct stat st;

    if (q->s.dead_letter_max_bytes == 0 || stat(q->dl_path, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size + q->dl_buf.len <= q->s.dead_letter_max_bytes)
        return;
    snprintf(old, sizeof(old), "%s.1", q->dl_path);
    if (rename(q->dl_path, old) != 0)
        return;
    if (q->dl_fd >= 0) {
        close(q->dl_fd);
        q->dl_fd = -1;
    }
    atomic_fetch_add(&q->st.dl_rotations, 1);
}

/*
 * Appends dl_buf to the dead-letter file with one write and an fsync.
 * VG_OK, or VG_EIO with errno set: a partial line is cut off again (the
 * file stays valid NDJSON), the file is closed, and dl_buf is kept for the
 * next try.
 */
static int outq_dl_write(struct vg_outq *q)
{
    off_t start = -1;
    int rc, saved;

    outq_dl_rotate(q);
    rc = outq_dl_open(q);
    if (rc == VG_OK) {
        start = q->dl_regular ? lseek(q->dl_fd, 0, SEEK_END) : -1;
        rc = vg_write_all(q->dl_fd, q->dl_buf.data, q->dl_buf.len);
    }
    if (rc == VG_OK && q->dl_regular && fsync(q->dl_fd) != 0)
        rc = VG_EIO;
    if (rc == VG_OK)
        return VG_OK;
    saved = errno;
    if (q->dl_fd >= 0) {
        if (start >= 0 && ftruncate(q->dl_fd, start) != 0)
            vg_log(VG_LOG_WARN, q->o->ops->name, q->o->name,
                   "cannot cut a partial dead letter off %s: %s", q->dl_path, vg_errno_str(errno));
        close(q->dl_fd);
        q->dl_fd = -1;
    }
    errno = saved;
    return VG_EIO;
}

/*
 * Writes the dead letters in dl_buf (lines of n_records records) until
 * they are in the file: true, with the records counted. Until then the
 * output is down and its batch unacknowledged, and the write is retried
 * with backoff; false when the worker is told to stop first (the batch
 * stays unacknowledged, to be sent again after a restart).
 */
static bool outq_dl_settle(struct vg_outq *q, size_t n_records)
{
    int was_up = atomic_load(&q->st.up);
    unsigned attempt = 0;
    int64_t wait_ms;
    char eb[128];

    while (q->dl_buf.len > 0 && outq_dl_write(q) != VG_OK) {
        snprintf(eb, sizeof(eb), "%s", vg_errno_str(errno));
        atomic_store(&q->st.up, 0);
        atomic_fetch_add(&q->st.dl_errors, 1);
        wait_ms = outq_backoff(q, ++attempt);
        vg_complain(&q->dl_complain, VG_LOG_ERROR, q->o->ops->name, q->o->name,
                    "cannot write the dead-letter file %s: %s; %zu records stay "
                    "unacknowledged, retry %u in %lld ms",
                    q->dl_path, eb, n_records, attempt, (long long)wait_ms);
        if (!outq_sleep(q, wait_ms))
            return false;
    }
    if (q->dl_buf.len > 0) {
        atomic_fetch_add(&q->st.dl_records, n_records);
        atomic_store(&q->st.up, was_up);
        if (q->dl_complain.active)
            vg_complain_clear(&q->dl_complain, q->o->ops->name, q->o->name, "dead-letter file");
    }
    vg_buf_reset(&q->dl_buf);
    return true;
}

/* Appends one dead-letter line for r to dl_buf; on failure (out of
 * memory) dl_buf is as it was, so that no partial line is ever written. */
static int outq_dl_line(struct vg_outq *q, const struct vg_record *r, const char *reason)
{
    size_t len = q->dl_buf.len;
    char ts[48];
    int rc;

    vg_record_format_time(vg_now_ns(), ts, sizeof(ts));
    rc = vg_buf_printf(&q->dl_buf, "{\"time\":\"%s\",\"output\":", ts);
    if (rc == VG_OK)
        rc = vg_buf_json_string(&q->dl_buf, q->o->name, strlen(q->o->name));
    if (rc == VG_OK)
        rc = vg_buf_puts(&q->dl_buf, ",\"reason\":");
    if (rc == VG_OK)
        rc = vg_buf_json_string(&q->dl_buf, reason, strlen(reason));
    if (rc == VG_OK)
        rc = vg_buf_puts(&q->dl_buf, ",\"record\":");
    if (rc == VG_OK)
        rc = vg_record_to_json(r, &q->dl_buf);
    if (rc == VG_OK)
        rc = vg_buf_puts(&q->dl_buf, "}\n");
    if (rc != VG_OK && q->dl_buf.data != NULL) {
        q->dl_buf.len = len;
        q->dl_buf.data[len] = '\0';
    }
    return rc;
}

/* Accounts for the records that went to the dead letters without a line
 * (no memory to build it): lost, like those of a failed write. */
static void outq_dl_lost(struct vg_outq *q)
{
    if (q->dl_lost == 0)
        return;
    atomic_fetch_add(&q->st.dl_errors, 1);
    vg_complain(&q->dl_complain, VG_LOG_ERROR, q->o->ops->name, q->o->name,
                "out of memory writing the dead-letter file %s; %zu records lost", q->dl_path,
                q->dl_lost);
    q->dl_lost = 0;
}

/* Gets the per-record marks ready for the first send of b (worker
 * thread); the retries of b keep them. */
static int outq_prepare(struct vg_outq *q, struct vg_batch *b, bool first)
{
    size_t n = vg_batch_count(b);

    q->reason[0] = '\0';
    if (!first && n <= q->dl_marks_cap)
        return VG_OK;
    /* cleared first: a failed growth must not leave marks of the last batch */
    if (q->dl_marks_cap > 0)
        memset(q->dl_marks, 0, q->dl_marks_cap);
    q->dl_pending = 0;
    q->dl_lost = 0;
    vg_buf_reset(&q->dl_buf);
    if (n > q->dl_marks_cap) {
        unsigned char *m = vg_calloc(n, 1);

        if (m == NULL)
            return VG_ENOMEM;
        free(q->dl_marks);
        q->dl_marks = m;
        q->dl_marks_cap = n;
    }
    return VG_OK;
}

/* The reason is logged and written with dead letters: its secrets are
 * masked here, once. */
void vg_output_fail(struct vg_output *o, const char *fmt, ...)
{
    struct vg_outq *q = o->priv;
    char raw[sizeof(q->reason)];
    va_list ap;

    va_start(ap, fmt);
    if (q != NULL) {
        vsnprintf(raw, sizeof(raw), fmt, ap);
        vg_secret_mask(raw, NULL, q->reason, sizeof(q->reason));
    } else {
        vg_logv(VG_LOG_WARN, o->ops->name, o->name, fmt, ap);
    }
    va_end(ap);
}

/* Marks record i of the batch being sent as failed for good; its line is
 * written once the batch is done (OK, DROP or the retry limit), with this
 * reason kept for it. Without memory for the line the record is still
 * done (never counted as delivered) and counted as lost. */
void vg_output_dead_letter(struct vg_output *o, struct vg_batch *b, size_t i, const char *reason)
{
    struct vg_outq *q = o->priv;

    if (q == NULL || i >= vg_batch_count(b) || i >= q->dl_marks_cap ||
        q->dl_marks[i] != OUTQ_PENDING)
        return;
    if (outq_dl_line(q, vg_batch_record(b, i), reason != NULL ? reason : "rejected") != VG_OK)
        q->dl_lost++;
    q->dl_marks[i] = OUTQ_DEAD;
    q->dl_pending++;
}

bool vg_output_stopping(struct vg_output *o)
{
    struct vg_outq *q = o->priv;
    bool stop;

    if (q == NULL)
        return false;
    pthread_mutex_lock(&q->mu);
    stop = q->stopping;
    pthread_mutex_unlock(&q->mu);
    return stop;
}

void vg_output_delivered(struct vg_output *o, struct vg_batch *b, size_t i)
{
    struct vg_outq *q = o->priv;

    if (q != NULL && i < vg_batch_count(b) && i < q->dl_marks_cap && q->dl_marks[i] == OUTQ_PENDING)
        q->dl_marks[i] = OUTQ_DELIVERED;
}

bool vg_output_pending(struct vg_output *o, const struct vg_batch *b, size_t i)
{
    struct vg_outq *q = o->priv;

    if (i >= vg_batch_count(b))
        return false;
    if (q == NULL) /* no engine: nothing is ever marked */
        return true;
    return i >= q->dl_marks_cap || q->dl_marks[i] == OUTQ_PENDING;
}

void vg_output_count_bytes(struct vg_output *o, uint64_t raw, uint64_t wire)
{
    struct vg_outq *q = o->priv;

    if (q == NULL)
        return;
    atomic_fetch_add(&q->st.bytes_raw, raw);
    atomic_fetch_add(&q->st.bytes_wire, wire);
}

/* Adds one duration to a histogram of VG_SEND_BUCKETS bounds. */
static void outq_observe(struct vg_outq_hist *h, int64_t ns)
{
    size_t i;

    for (i = 0; i < VG_SEND_BUCKETS; i++)
        if (ns <= vg_send_bounds_us[i] * 1000)
            break;
    atomic_fetch_add(&h->buckets[i], 1);
    atomic_fetch_add(&h->sum_ns, (uint64_t)(ns > 0 ? ns : 0));
    atomic_fetch_add(&h->count, 1);
}

void vg_output_count_reply_truncated(struct vg_output *o)
{
    struct vg_outq *q = o->priv;

    if (q != NULL)
        atomic_fetch_add(&q->st.reply_truncated, 1);
}

void vg_output_observe_request(struct vg_output *o, double seconds)
{
    struct vg_outq *q = o->priv;

    if (q != NULL)
        outq_observe(&q->st.request, (int64_t)(seconds * 1e9));
}

static enum vg_send_result outq_send_once(struct vg_outq *q, struct vg_batch *b, bool first)
{
    enum vg_send_result r;
    int64_t t0;

    if (atomic_exchange(&q->reopen, false)) {
        if (q->o->ops->reopen != NULL)
            q->o->ops->reopen(q->o);
        if (q->dl_fd >= 0) {
            close(q->dl_fd);
            q->dl_fd = -1;
        }
    }
    if (outq_prepare(q, b, first) != VG_OK) {
        snprintf(q->reason, sizeof(q->reason), "out of memory");
        return VG_SEND_RETRY;
    }
    t0 = vg_mono_ns();
    r = q->o->ops->send(q->o, b);
    outq_observe(&q->st.send, vg_mono_ns() - t0);
    if (r != VG_SEND_OK && r != VG_SEND_RETRY && r != VG_SEND_DROP && r != VG_SEND_STOP) {
        snprintf(q->reason, sizeof(q->reason), "send() gave an invalid answer %d", (int)r);
        r = VG_SEND_RETRY;
    }
    if (r != VG_SEND_OK) {
        if (q->reason[0] == '\0')
            snprintf(q->reason, sizeof(q->reason), "send failed (no reason given)");
        pthread_mutex_lock(&q->mu);
        snprintf(q->last_reason, sizeof(q->last_reason), "%s", q->reason);
        pthread_mutex_unlock(&q->mu);
    }
    return r;
}

static void outq_set_up(struct vg_outq *q, bool up)
{
    atomic_store(&q->st.up, up ? 1 : 0);
    if (up && atomic_exchange(&q->st.stopped, 0) != 0)
        atomic_fetch_sub(&q->p->stopped_outputs, 1);
}

/* OK: what the plugin rejected goes to the dead-letter file first; false
 * when the worker is told to stop before that write succeeds. */
static bool outq_on_ok(struct vg_outq *q, struct vg_batch *b)
{
    size_t n = vg_batch_count(b), dead = q->dl_pending;

    if (dead > 0) {
        if (!outq_dl_settle(q, dead - q->dl_lost))
            return false;
        outq_dl_lost(q);
    }
    atomic_fetch_add(&q->st.sent, n - dead);
    atomic_fetch_add(&q->st.dropped, dead);
    outq_set_up(q, true);
    if (q->complain.active)
        vg_complain_clear(&q->complain, q->o->ops->name, q->o->name, "send");
    return true;
}

/* What is still pending in the batch goes to the dead-letter file with
 * `why`; records the plugin rejected keep their own reason, and records it
 * delivered stay delivered. False when the worker is told to stop before
 * the dead letters are written (the batch stays unacknowledged). */
static bool outq_on_drop(struct vg_outq *q, struct vg_batch *b, const char *why)
{
    size_t n = vg_batch_count(b), i, delivered = 0;

    for (i = 0; i < n; i++) {
        if (i < q->dl_marks_cap && q->dl_marks[i] == OUTQ_DELIVERED)
            delivered++;
        else if ((i >= q->dl_marks_cap || q->dl_marks[i] == OUTQ_PENDING) &&
                 outq_dl_line(q, vg_batch_record(b, i), why) != VG_OK)
            q->dl_lost++;
    }
    if (!outq_dl_settle(q, n - delivered - q->dl_lost))
        return false;
    outq_dl_lost(q);
    atomic_fetch_add(&q->st.sent, delivered);
    atomic_fetch_add(&q->st.dropped, n - delivered);
    vg_complain(&q->complain, VG_LOG_WARN, q->o->ops->name, q->o->name,
                "%zu records written to the dead-letter file %s: %s", n - delivered, q->dl_path,
                why);
    return true;
}

/* STOP: the output is down until someone acts; /readyz says so. */
static int64_t outq_on_stop(struct vg_outq *q, struct vg_batch *b)
{
    if (atomic_exchange(&q->st.stopped, 1) == 0)
        atomic_fetch_add(&q->p->stopped_outputs, 1);
    vg_complain(&q->complain, VG_LOG_ERROR, q->o->ops->name, q->o->name,
                "stopped: %s; %zu records stay queued, next try in %lld ms", q->reason,
                vg_batch_count(b), (long long)q->s.retry_backoff_max_ms);
    return q->s.retry_backoff_max_ms;
}

/* The records of b still pending: those the retry sends again. */
static uint64_t outq_count_pending(struct vg_outq *q, const struct vg_batch *b)
{
    size_t i, n = vg_batch_count(b);
    uint64_t pending = 0;

    for (i = 0; i < n; i++)
        pending += vg_output_pending(q->o, b, i) ? 1 : 0;
    return pending;
}

/*
 * Sends b until it is delivered or dead-lettered (true), or the worker is
 * told to stop while b waits for a retry (false: b stays unreleased).
 */
static bool outq_deliver(struct vg_outq *q, struct vg_batch *b)
{
    char why[600];
    unsigned attempt = 0;
    enum vg_send_result r;
    int64_t wait_ms;

    for (;;) {
        r = outq_send_once(q, b, attempt == 0);
        if (r == VG_SEND_OK)
            return outq_on_ok(q, b);
        if (r == VG_SEND_DROP) {
            outq_set_up(q, true);
            return outq_on_drop(q, b, q->reason);
        }
        atomic_store(&q->st.up, 0);
        if (r == VG_SEND_STOP) {
            attempt = 1; /* not counted against retry_limit: nothing was refused */
            if (!outq_sleep(q, outq_on_stop(q, b)))
                return false;
            continue;
        }
        attempt++;
        if (q->s.retry_limit > 0 && attempt > (uint64_t)q->s.retry_limit) {
            snprintf(why, sizeof(why), "retry limit of %lld reached: %s",
                     (long long)q->s.retry_limit, q->reason);
            return outq_on_drop(q, b, why);
        }
        atomic_fetch_add(&q->st.retries, 1);
        atomic_fetch_add(&q->st.retried_records, outq_count_pending(q, b));
        wait_ms = outq_backoff(q, attempt);
        vg_complain(&q->complain, VG_LOG_ERROR, q->o->ops->name, q->o->name,
                    "send of %zu records failed: %s; retry %u in %lld ms", vg_batch_count(b),
                    q->reason, attempt, (long long)wait_ms);
        if (!outq_sleep(q, wait_ms))
            return false;
    }
}

/* Waits for a batch or the stop (mu held); an output with an idle hook
 * has it called (mu released) about every OUTQ_IDLE_MS meanwhile. */
static void outq_wait(struct vg_outq *q)
{
    struct timespec ts;
    int64_t at;

    if (q->o->ops->idle == NULL) {
        pthread_cond_wait(&q->cv, &q->mu);
        return;
    }
    at = vg_add_sat(vg_mono_ns(), OUTQ_IDLE_MS * VG_NS_PER_MS);
    ts.tv_sec = (time_t)(at / VG_NS_PER_SEC);
    ts.tv_nsec = (long)(at % VG_NS_PER_SEC);
    if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) != ETIMEDOUT)
        return;
    pthread_mutex_unlock(&q->mu);
    q->o->ops->idle(q->o);
    pthread_mutex_lock(&q->mu);
}

/* Takes the next batch (mu held); NULL when told to stop. */
static struct vg_batch *outq_take(struct vg_outq *q)
{
    struct vg_batch *b;

    while (q->waiting == 0 && !q->stopping)
        outq_wait(q);
    if (q->stopping)
        return NULL;
    b = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->waiting--;
    return b;
}

/* Takes up to max batches that are waiting (mu held; at least one is):
 * several small batches go out as one send. */
static size_t outq_take_more(struct vg_outq *q, struct vg_batch **members, size_t n, size_t max)
{
    while (n < max && q->waiting > 0 && !q->stopping) {
        members[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->waiting--;
    }
    return n;
}

/* The batch that send() sees for a group: the members' records in order,
 * in a view owned by the worker (the records stay in their batches). */
static struct vg_batch *outq_group(struct vg_outq *q, struct vg_batch **members, size_t n)
{
    size_t total = 0, i, k = 0;

    if (n == 1)
        return members[0];
    for (i = 0; i < n; i++)
        total += members[i]->n_recs;
    if (vg_grow((void **)&q->group.recs, &q->group.cap_recs, total, sizeof(*q->group.recs)) !=
        VG_OK)
        return NULL;
    for (i = 0; i < n; i++) {
        memcpy(q->group.recs + k, members[i]->recs, members[i]->n_recs * sizeof(*q->group.recs));
        k += members[i]->n_recs;
    }
    q->group.n_recs = total;
    return &q->group;
}

/* Accounts for delivered members and releases them (mu not held). */
static void outq_release_all(struct vg_outq *q, struct vg_batch **members, size_t n)
{
    size_t i;

    pthread_mutex_lock(&q->mu);
    for (i = 0; i < n; i++) {
        q->n--;
        q->bytes -= members[i]->mem;
    }
    outq_publish(q);
    if (q->n == 0)
        pthread_cond_broadcast(&q->idle_cv);
    pthread_mutex_unlock(&q->mu);
    /* drain joins this thread before its last vg_pipeline_process_acks, so
     * an ack released after the accounting is not missed */
    for (i = 0; i < n; i++)
        vg_batch_release(q->p, members[i]);
}

/* Sends a group and releases its members; false when told to stop while
 * a send waits for a retry (the members stay unreleased). */
static bool outq_deliver_group(struct vg_outq *q, struct vg_batch **members, size_t n)
{
    struct vg_batch *view = outq_group(q, members, n);
    size_t i;

    if (view != NULL) {
        if (!outq_deliver(q, view))
            return false;
        outq_release_all(q, members, n);
        return true;
    }
    for (i = 0; i < n; i++) { /* no memory for the view: one at a time */
        if (!outq_deliver(q, members[i]))
            return false;
        outq_release_all(q, members + i, 1);
    }
    return true;
}

/* The worker: batches in queue order; up to the output's
 * max_batches_per_send of those waiting go out together. */
void *vg_outq_worker(void *arg)
{
    struct vg_outq *q = arg;
    struct vg_batch *members[VG_SEND_GROUP_MAX], *b;
    size_t max = q->o->ops->max_batches_per_send, n;
    bool go_on = true;

    if (max < 1)
        max = 1;
    if (max > VG_SEND_GROUP_MAX)
        max = VG_SEND_GROUP_MAX;
    pthread_mutex_lock(&q->mu);
    while (go_on) {
        b = outq_take(q);
        if (b == NULL)
            break;
        members[0] = b;
        n = outq_take_more(q, members, 1, max);
        pthread_mutex_unlock(&q->mu);
        go_on = outq_deliver_group(q, members, n);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

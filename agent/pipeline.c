/*
 * pipeline.c - sinks, sealing and routing of batches, the acknowledgement
 * path back to the collectors, drain, metrics and teardown.
 *
 * Threads: everything here runs on the engine thread except
 * vg_batch_complete (the worker that drops the last reference), which only
 * touches the completion list under ack_mu and the eventfd.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "core.h"
#include "pipeline_internal.h"
#include "process.h"

#define PIPELINE_DEFAULT_RECORDS 1000u
#define PIPELINE_DEFAULT_BYTES   (1024u * 1024u)
#define PIPELINE_DEFAULT_DL_DIR  "/var/lib/vigil/dead-letter"
#define PIPELINE_FREE_MAX        16u        /* recycled batches kept per sink */
#define PIPELINE_LIVE_DEFAULT    (8u << 20) /* unacknowledged bytes of a sink with no output */
#define PIPELINE_JOIN_GRACE_MS   1000       /* a worker's time to stop after the deadline */

/*
 * Creates an empty pipeline (no outputs, no workers yet). Settings are
 * copied; zero limits take defaults. NULL when memory or an eventfd runs out.
 */
struct vg_pipeline *vg_pipeline_create(const struct vg_pipeline_settings *s)
{
    struct vg_pipeline *p = vg_calloc(1, sizeof(*p));
    const char *dir =
        s != NULL && s->dead_letter_dir != NULL ? s->dead_letter_dir : PIPELINE_DEFAULT_DL_DIR;

    if (p == NULL)
        return NULL;
    p->ack_fd = -1;
    if (s != NULL)
        p->s = *s;
    if (p->s.batch_max_records == 0)
        p->s.batch_max_records = PIPELINE_DEFAULT_RECORDS;
    if (p->s.batch_max_bytes == 0)
        p->s.batch_max_bytes = PIPELINE_DEFAULT_BYTES;
    p->s.dead_letter_dir = vg_strdup(dir);
    p->ack_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->s.dead_letter_dir == NULL || p->ack_fd < 0 ||
        pthread_mutex_init(&p->ack_mu, NULL) != 0) {
        if (p->ack_fd >= 0)
            close(p->ack_fd);
        free((char *)p->s.dead_letter_dir);
        free(p);
        return NULL;
    }
    return p;
}

/* Frees what the engine handed over with the output. */
void vg_pipeline_output_free(struct vg_output *o)
{
    if (o == NULL)
        return;
    if (o->ops->destroy != NULL)
        o->ops->destroy(o);
    if (o->ctx != NULL)
        vg_options_free(o->ops->options, o->ctx);
    free(o->ctx);
    free(o->name);
    free(o);
}

static int pipeline_check_settings(const struct vg_output *o, const struct vg_output_settings *s,
                                   struct vg_error *err)
{
    if (s->queue_max_bytes == 0)
        return vg_error_set(err, VG_ECONFIG, "output %s: queue_max_bytes must be > 0", o->name);
    if (s->queue_max_batches <= 0)
        return vg_error_set(err, VG_ECONFIG, "output %s: queue_max_batches must be > 0", o->name);
    if (s->retry_limit < 0)
        return vg_error_set(err, VG_ECONFIG, "output %s: retry_limit must be >= 0", o->name);
    if (s->retry_backoff_ms <= 0 || s->retry_backoff_max_ms <= 0)
        return vg_error_set(err, VG_ECONFIG,
                            "output %s: retry_backoff and retry_backoff_max must be > 0", o->name);
    if (s->retry_backoff_ms > s->retry_backoff_max_ms)
        return vg_error_set(err, VG_ECONFIG,
                            "output %s: retry_backoff (%lld ms) is longer than "
                            "retry_backoff_max (%lld ms)",
                            o->name, (long long)s->retry_backoff_ms,
                            (long long)s->retry_backoff_max_ms);
    return VG_OK;
}

/* The dead-letter file: the configured path, else <dir>/<name>.ndjson with
 * any '/' of the name replaced so that the file stays in dir. */
static char *pipeline_dl_path(const struct vg_pipeline *p, const struct vg_output *o,
                              const struct vg_output_settings *s)
{
    struct vg_buf b;
    size_t i, start;

    if (s->dead_letter_path != NULL && s->dead_letter_path[0] != '\0')
        return vg_strdup(s->dead_letter_path);
    vg_buf_init(&b);
    if (vg_buf_printf(&b, "%s/", p->s.dead_letter_dir) != VG_OK)
        goto fail;
    start = b.len;
    if (vg_buf_printf(&b, "%s.ndjson", o->name) != VG_OK)
        goto fail;
    for (i = start; i < b.len; i++)
        if (b.data[i] == '/')
            b.data[i] = '_';
    return b.data;
fail:
    vg_buf_free(&b);
    return NULL;
}

static struct vg_outq *pipeline_outq_new(struct vg_pipeline *p, struct vg_output *o,
                                         const struct vg_output_settings *s)
{
    struct vg_outq *q = vg_calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->p = p;
    q->o = o;
    q->s = *s;
    q->s.dead_letter_path = NULL;
    q->s.inputs.v = NULL; /* the plan's: routes are set on the sinks (vg_sink_route) */
    q->s.inputs.n = 0;
    q->s.record_schema = NULL; /* the plan's: the output has it as o->record_schema */
    q->dl_path = pipeline_dl_path(p, o, s);
    if (s->dead_letter_path != NULL)
        q->s.dead_letter_path = vg_strdup(s->dead_letter_path);
    if (q->dl_path == NULL || (s->dead_letter_path != NULL && q->s.dead_letter_path == NULL) ||
        vg_outq_init(q) != VG_OK) {
        free(q->dl_path);
        free(q->s.dead_letter_path);
        free(q);
        return NULL;
    }
    return q;
}

/*
 * Takes o (initialised by its plugin) into the pipeline. The pipeline owns
 * o from here on, also on error: it is destroyed at once then (ops->destroy,
 * its options, ctx, name and the struct). s is copied.
 */
int vg_pipeline_add_output(struct vg_pipeline *p, struct vg_output *o,
                           const struct vg_output_settings *s, struct vg_error *err)
{
    struct vg_outq **outs;
    struct vg_outq *q;
    int rc;

    if (p->started) {
        rc = vg_error_set(err, VG_EBUSY, "output %s: the pipeline is already running", o->name);
        goto fail;
    }
    rc = pipeline_check_settings(o, s, err);
    if (rc != VG_OK)
        goto fail;
    outs = vg_realloc(p->outs, (p->n_outs + 1) * sizeof(*outs));
    if (outs == NULL) {
        rc = vg_error_set(err, VG_ENOMEM, "output %s: out of memory", o->name);
        goto fail;
    }
    p->outs = outs;
    q = pipeline_outq_new(p, o, s);
    if (q == NULL) {
        rc = vg_error_set(err, VG_ENOMEM, "output %s: out of memory", o->name);
        goto fail;
    }
    o->priv = q;
    p->outs[p->n_outs++] = q;
    return VG_OK;
fail:
    vg_pipeline_output_free(o);
    return rc;
}

/* Starts one worker per output. On error the started ones keep running
 * until drain or destroy. */
int vg_pipeline_start(struct vg_pipeline *p, struct vg_error *err)
{
    size_t i;
    int rc;

    p->started = true;
    for (i = 0; i < p->n_outs; i++) {
        struct vg_outq *q = p->outs[i];

        if (q->started)
            continue;
        rc = pthread_create(&q->thread, NULL, vg_outq_worker, q);
        if (rc != 0)
            return vg_error_set(err, VG_EIO, "output %s: cannot start its worker: %s", q->o->name,
                                vg_errno_str(rc));
        q->started = true;
    }
    return VG_OK;
}

struct vg_sink *vg_pipeline_sink(struct vg_pipeline *p, struct vg_collector *c)
{
    struct vg_sink *s;

    for (s = p->sinks; s != NULL; s = s->next)
        if (s->c == c)
            return s;
    s = vg_calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->p = p;
    s->c = c;
    s->next = p->sinks;
    p->sinks = s;
    return s;
}

int vg_sink_route(struct vg_sink *s, const bool *takes)
{
    struct vg_outq **outs = vg_calloc(s->p->n_outs + 1, sizeof(*outs));
    size_t i, n = 0;

    if (outs == NULL)
        return VG_ENOMEM;
    for (i = 0; i < s->p->n_outs; i++)
        if (takes[i])
            outs[n++] = s->p->outs[i];
    free(s->outs);
    s->outs = outs;
    s->n_outs = n;
    s->routed = true;
    return VG_OK;
}

void vg_sink_set_log_metrics(struct vg_sink *s, struct vg_log_metrics *m)
{
    s->logm = m;
}

void vg_sink_set_process(struct vg_sink *s, struct vg_process *proc)
{
    vg_process_destroy(s->proc);
    s->proc = proc;
}

uint64_t vg_sink_dropped_total(const struct vg_sink *s)
{
    return s->dropped_total;
}

struct vg_process *vg_sink_process(const struct vg_sink *s)
{
    return s->proc;
}

/* The outputs that take the sink's batches: its route, or every output. */
static struct vg_outq *const *sink_outs(const struct vg_sink *s, size_t *n)
{
    *n = s->routed ? s->n_outs : s->p->n_outs;
    return s->routed ? s->outs : s->p->outs;
}

static struct vg_batch *pipeline_batch_new(struct vg_sink *s)
{
    struct vg_batch *b = vg_calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    vg_arena_init(&b->arena, 0);
    b->sink = s;
    b->all_next = s->all;
    if (s->all != NULL)
        s->all->all_prev = b;
    s->all = b;
    s->n_all++;
    return b;
}

static void pipeline_batch_drop(struct vg_sink *s, struct vg_batch *b)
{
    if (b->all_prev != NULL)
        b->all_prev->all_next = b->all_next;
    else
        s->all = b->all_next;
    if (b->all_next != NULL)
        b->all_next->all_prev = b->all_prev;
    s->n_all--;
    vg_batch_free(b);
}

int vg_batch_source_note(struct vg_batch_source **v, size_t *n, size_t *cap, uint64_t source_id,
                         uint64_t offset, uint64_t count)
{
    size_t j;

    /* records of one source come in runs: try the last one first */
    j = *n > 0 && (*v)[*n - 1].source_id == source_id ? *n - 1 : 0;
    for (; j < *n; j++)
        if ((*v)[j].source_id == source_id)
            break;
    if (j == *n) {
        if (vg_grow((void **)v, cap, *n + 1, sizeof(**v)) != VG_OK)
            return VG_ENOMEM;
        (*v)[j].source_id = source_id;
        (*v)[j].offset = offset;
        (*v)[j].records = 0;
        (*n)++;
    }
    if (offset > (*v)[j].offset)
        (*v)[j].offset = offset;
    (*v)[j].records += count;
    return VG_OK;
}

/* Records the highest offset and the record count per source of b, the
 * positions of the records its filters dropped included. */
static int pipeline_batch_sources(struct vg_batch *b)
{
    size_t i;
    int rc = VG_OK;

    b->n_sources = 0;
    for (i = 0; i < b->n_recs && rc == VG_OK; i++)
        rc = vg_batch_source_note(&b->sources, &b->n_sources, &b->cap_sources,
                                  b->recs[i]->source_id, b->recs[i]->offset, 1);
    for (i = 0; i < b->n_drops && rc == VG_OK; i++)
        rc = vg_batch_source_note(&b->sources, &b->n_sources, &b->cap_sources,
                                  b->drops[i].source_id, b->drops[i].offset, 0);
    return rc;
}

/* Hands a sealed batch to every output, whose rings have room for it;
 * with none it is complete at once. */
static void pipeline_route(struct vg_sink *s, struct vg_batch *b)
{
    struct vg_pipeline *p = s->p;
    struct vg_outq *const *outs;
    size_t i, n;

    b->seq = s->next_seq++;
    b->mem = b->arena.total + b->cap_recs * sizeof(*b->recs) + sizeof(*b);
    s->live_mem += b->mem;
    outs = sink_outs(s, &n);
    if (b->n_recs == 0)
        n = 0; /* every record was dropped: only their positions to acknowledge */
    atomic_store(&b->refs, (unsigned)n);
    if (n == 0) {
        vg_batch_complete(p, b);
        return;
    }
    for (i = 0; i < n; i++)
        vg_outq_push(outs[i], b);
}

/*
 * Seals the open batch, if it holds records, and routes it. On VG_ENOMEM
 * (the source table or an output's ring could not grow) the batch stays
 * open and nothing is lost; the next flush tries again. Everything that
 * can fail is done before the batch takes a sequence number: a batch
 * missing from one queue would hold back every later ack of its sink.
 */
int vg_sink_flush(struct vg_sink *s)
{
    struct vg_batch *b = s->open;
    struct vg_outq *const *outs;
    size_t i, n;
    int rc;

    vg_sink_finish_record(s);
    if (b == NULL || (b->n_recs == 0 && b->n_drops == 0))
        return VG_OK;
    rc = pipeline_batch_sources(b);
    outs = sink_outs(s, &n);
    for (i = 0; i < n && rc == VG_OK; i++)
        rc = vg_outq_reserve(outs[i]);
    if (rc != VG_OK)
        return rc;
    s->open = NULL;
    pipeline_route(s, b);
    return VG_OK;
}

struct vg_batch *vg_sink_batch_for_record(struct vg_sink *s)
{
    struct vg_pipeline *p = s->p;
    struct vg_batch *b = s->open;

    if (b != NULL && (b->n_recs >= p->s.batch_max_records || b->bytes >= p->s.batch_max_bytes)) {
        if (vg_sink_flush(s) != VG_OK)
            return NULL;
        b = NULL;
    }
    if (b != NULL)
        return b;
    if (s->free_list != NULL) {
        b = s->free_list;
        s->free_list = b->next;
        s->n_free--;
        b->next = NULL;
    } else {
        b = pipeline_batch_new(s);
        if (b == NULL)
            return NULL;
    }
    s->open = b;
    return b;
}

/*
 * Full outputs pause a collector, and so does the memory of its batches
 * that are sealed but not acknowledged yet, the open one included: sent
 * batches are only reclaimed by the engine thread, after the collect that
 * fills them returns, so queue_max_bytes alone did not bound what one
 * collect of very short lines could hold (a million records of "\n" in
 * one collect held a gigabyte). The bound is the largest queue_max_bytes
 * of the outputs that take its records (PIPELINE_LIVE_DEFAULT with none).
 */
bool vg_sink_paused(const struct vg_sink *s)
{
    uint64_t live = s->live_mem + (s->open != NULL ? s->open->arena.total : 0);
    size_t i, n;
    struct vg_outq *const *outs = sink_outs(s, &n);
    uint64_t max = n == 0 ? PIPELINE_LIVE_DEFAULT : 0;

    for (i = 0; i < n; i++) {
        if (vg_outq_full(outs[i]))
            return true;
        if (outs[i]->s.queue_max_bytes > max)
            max = outs[i]->s.queue_max_bytes;
    }
    return live >= max;
}

uint64_t vg_sink_records_total(const struct vg_sink *s)
{
    return s->records_total;
}

uint64_t vg_sink_bytes_total(const struct vg_sink *s)
{
    return s->bytes_total;
}

uint64_t vg_sink_acked_total(const struct vg_sink *s)
{
    return s->acked_total;
}

size_t vg_sink_batches_live(const struct vg_sink *s)
{
    return s->n_all;
}

int vg_pipeline_ack_fd(const struct vg_pipeline *p)
{
    return p->ack_fd;
}

void vg_batch_complete(struct vg_pipeline *p, struct vg_batch *b)
{
    uint64_t one = 1;
    ssize_t w;

    pthread_mutex_lock(&p->ack_mu);
    b->next = p->completed;
    p->completed = b;
    pthread_mutex_unlock(&p->ack_mu);
    /* EAGAIN only when the counter is near overflow: the fd is readable anyway */
    w = write(p->ack_fd, &one, sizeof(one));
    (void)w;
}

static void pipeline_recycle(struct vg_sink *s, struct vg_batch *b)
{
    if (s->n_free >= PIPELINE_FREE_MAX) {
        pipeline_batch_drop(s, b);
        return;
    }
    vg_batch_reset(b);
    b->next = s->free_list;
    s->free_list = b;
    s->n_free++;
}

/* Tells the collector about b's sources, then recycles b. */
static void pipeline_ack_batch(struct vg_sink *s, struct vg_batch *b)
{
    struct vg_collector *c = s->c;
    size_t i;

    for (i = 0; i < b->n_sources; i++) {
        struct vg_ack ack = {b->sources[i].source_id, b->sources[i].offset, b->sources[i].records};

        if (c != NULL && c->ops != NULL && c->ops->ack != NULL)
            c->ops->ack(c, &ack);
    }
    s->acked_total += b->n_recs;
    s->live_mem -= b->mem < s->live_mem ? b->mem : s->live_mem;
    pipeline_recycle(s, b);
}

/* Inserts b in its sink's pending list (sorted by seq), then acknowledges
 * every batch that is now contiguous with what was acknowledged before. */
static void pipeline_settle(struct vg_batch *b)
{
    struct vg_sink *s = b->sink;
    struct vg_batch **pp = &s->pending;

    while (*pp != NULL && (*pp)->seq < b->seq)
        pp = &(*pp)->next;
    b->next = *pp;
    *pp = b;
    while (s->pending != NULL && s->pending->seq == s->ack_next) {
        struct vg_batch *head = s->pending;

        s->pending = head->next;
        head->next = NULL;
        s->ack_next++;
        pipeline_ack_batch(s, head);
    }
}

void vg_pipeline_process_acks(struct vg_pipeline *p)
{
    struct vg_batch *list, *b, *rev = NULL;
    uint64_t v;
    ssize_t r;

    r = read(p->ack_fd, &v, sizeof(v));
    (void)r; /* EAGAIN: nothing signalled, the list may still hold work */
    pthread_mutex_lock(&p->ack_mu);
    list = p->completed;
    p->completed = NULL;
    pthread_mutex_unlock(&p->ack_mu);
    /* the list is newest first: settle the oldest first */
    while (list != NULL) {
        b = list;
        list = b->next;
        b->next = rev;
        rev = b;
    }
    while (rev != NULL) {
        b = rev;
        rev = b->next;
        pipeline_settle(b);
    }
}

void vg_pipeline_reopen(struct vg_pipeline *p)
{
    size_t i;

    for (i = 0; i < p->n_outs; i++)
        atomic_store(&p->outs[i]->reopen, true);
}

static void pipeline_set_flag(struct vg_outq *q, bool stop)
{
    pthread_mutex_lock(&q->mu);
    if (stop)
        q->stopping = true;
    else
        q->draining = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* Waits until q is empty or the deadline passes; true when empty. */
static bool pipeline_wait_empty(struct vg_outq *q, int64_t deadline_mono_ns)
{
    struct timespec ts = {(time_t)(deadline_mono_ns / VG_NS_PER_SEC),
                          (long)(deadline_mono_ns % VG_NS_PER_SEC)};
    bool empty;

    pthread_mutex_lock(&q->mu);
    while (q->n > 0 && q->started && vg_mono_ns() < deadline_mono_ns)
        if (pthread_cond_timedwait(&q->idle_cv, &q->mu, &ts) == ETIMEDOUT)
            break;
    empty = q->n == 0;
    pthread_mutex_unlock(&q->mu);
    return empty;
}

/* Joins q's worker by the monotonic deadline; false when it still runs
 * then (blocked in a send that does not heed vg_output_stopping). */
static bool pipeline_join(struct vg_outq *q, int64_t deadline_mono_ns)
{
    int64_t left = deadline_mono_ns - vg_mono_ns(), at;
    struct timespec ts;

    at = vg_add_sat(vg_now_ns(), left > 0 ? left : 0);
    ts.tv_sec = (time_t)(at / VG_NS_PER_SEC);
    ts.tv_nsec = (long)(at % VG_NS_PER_SEC);
    return pthread_timedjoin_np(q->thread, NULL, &ts) == 0;
}

/*
 * Tells every worker to stop and joins each by the deadline. A worker that
 * cannot be joined is logged and left behind (p->abandoned): what it may
 * still touch is never freed then, and the process exits around it.
 */
static void pipeline_stop_workers(struct vg_pipeline *p, int64_t deadline_mono_ns)
{
    size_t i;

    for (i = 0; i < p->n_outs; i++)
        pipeline_set_flag(p->outs[i], true);
    for (i = 0; i < p->n_outs; i++) {
        struct vg_outq *q = p->outs[i];

        if (!q->started || q->abandoned)
            continue;
        if (pipeline_join(q, deadline_mono_ns)) {
            q->started = false;
            continue;
        }
        q->abandoned = true;
        p->abandoned = true;
        vg_log(VG_LOG_ERROR, q->o->ops->name, q->o->name,
               "the output's worker did not stop within %lld ms of the shutdown deadline (its send "
               "did not return); left running, its batch stays unacknowledged",
               (long long)(PIPELINE_JOIN_GRACE_MS));
    }
}

/*
 * Flushes every sink, lets the workers empty their queues until the
 * deadline (CLOCK_MONOTONIC ns), stops and joins them, and delivers the
 * last acknowledgements. VG_OK when everything was delivered, VG_EAGAIN
 * when batches were left (they stay unacknowledged).
 */
int vg_pipeline_drain(struct vg_pipeline *p, int64_t deadline_mono_ns)
{
    struct vg_sink *s;
    size_t i;
    int rc = VG_OK;

    for (s = p->sinks; s != NULL; s = s->next)
        if (vg_sink_flush(s) != VG_OK)
            rc = VG_EAGAIN;
    for (i = 0; i < p->n_outs; i++)
        pipeline_set_flag(p->outs[i], false);
    for (i = 0; i < p->n_outs; i++)
        if (!pipeline_wait_empty(p->outs[i], deadline_mono_ns))
            rc = VG_EAGAIN;
    pipeline_stop_workers(p, vg_add_sat(deadline_mono_ns, PIPELINE_JOIN_GRACE_MS * VG_NS_PER_MS));
    if (p->abandoned)
        rc = VG_EAGAIN;
    vg_pipeline_process_acks(p);
    return rc;
}

int vg_pipeline_output_stats(struct vg_pipeline *p, const char *name, struct vg_output_stats *out)
{
    size_t i;

    for (i = 0; i < p->n_outs; i++) {
        struct vg_outq *q = p->outs[i];

        if (strcmp(q->o->name, name) != 0)
            continue;
        memset(out, 0, sizeof(*out));
        out->sent = atomic_load(&q->st.sent);
        out->dropped = atomic_load(&q->st.dropped);
        out->retries = atomic_load(&q->st.retries);
        out->retried_records = atomic_load(&q->st.retried_records);
        out->dead_letter_records = atomic_load(&q->st.dl_records);
        out->dead_letter_errors = atomic_load(&q->st.dl_errors);
        out->up = atomic_load(&q->st.up) != 0;
        pthread_mutex_lock(&q->mu);
        out->queue_bytes = q->bytes;
        out->queue_batches = q->n;
        memcpy(out->last_reason, q->last_reason, sizeof(out->last_reason));
        pthread_mutex_unlock(&q->mu);
        return VG_OK;
    }
    return VG_ENOENT;
}

const int64_t vg_send_bounds_us[VG_SEND_BUCKETS] = {1000,   5000,    10000,   50000,   100000,
                                                    500000, 1000000, 5000000, 10000000};

static void pipeline_emit_histogram(struct vg_outq *q, struct vg_outq_hist *h, const char *family,
                                    const char *help, struct vg_emit *e)
{
    double bounds[VG_SEND_BUCKETS];
    uint64_t cum[VG_SEND_BUCKETS], total = 0, count;
    struct vg_label label = {"output", q->o->name};
    double sum;
    size_t i;

    for (i = 0; i < VG_SEND_BUCKETS; i++) {
        total += atomic_load(&h->buckets[i]);
        cum[i] = total;
        bounds[i] = (double)vg_send_bounds_us[i] / 1e6;
    }
    /* read after the buckets, which are bumped first: count >= every bucket */
    count = atomic_load(&h->count);
    if (count < total)
        count = total;
    sum = (double)atomic_load(&h->sum_ns) / 1e9;
    vg_emit_histogram(e, family, help, &label, 1, bounds, cum, VG_SEND_BUCKETS, sum, count);
}

static void pipeline_emit_output(struct vg_outq *q, struct vg_emit *e)
{
    static const char records_help[] =
        "Records handled by the output, by result (sent, or dropped to the dead-letter file).";
    static const char bytes_help[] = "Bytes of records the output encoded (stage=raw) and sent "
                                     "(stage=wire, after compression).";
    const char *n = q->o->name;
    struct vg_output_stats st;

    vg_pipeline_output_stats(q->p, n, &st);
    vg_emit_counter(e, "vigil_output_records_total", records_help, (double)st.sent, "output", n,
                    "result", "sent", NULL);
    vg_emit_counter(e, "vigil_output_records_total", records_help, (double)st.dropped, "output", n,
                    "result", "dropped", NULL);
    vg_emit_counter(e, "vigil_output_retries_total", "Sends of a batch that were retried.",
                    (double)st.retries, "output", n, NULL);
    vg_emit_counter(e, "vigil_output_retried_records_total",
                    "Records sent again by a retry (the ones still pending in the batch).",
                    (double)st.retried_records, "output", n, NULL);
    vg_emit_gauge(e, "vigil_output_queue_bytes", "Bytes of records queued for the output.",
                  (double)st.queue_bytes, "output", n, NULL);
    vg_emit_gauge(e, "vigil_output_queue_batches",
                  "Batches queued for the output, the one being sent included.",
                  (double)st.queue_batches, "output", n, NULL);
    vg_emit_counter(e, "vigil_output_dead_letter_records_total",
                    "Records written to the output's dead-letter file.",
                    (double)st.dead_letter_records, "output", n, NULL);
    vg_emit_counter(e, "vigil_output_dead_letter_errors_total",
                    "Writes to the dead-letter file that failed (retried; their records stay "
                    "unacknowledged until one succeeds).",
                    (double)st.dead_letter_errors, "output", n, NULL);
    vg_emit_gauge(e, "vigil_output_up",
                  "1 when the output's last send succeeded (or none was made), 0 while retrying "
                  "a send or a dead-letter write.",
                  st.up ? 1 : 0, "output", n, NULL);
    vg_emit_counter(e, "vigil_output_dead_letter_rotations_total",
                    "Times the output's dead-letter file reached its size limit and was rotated.",
                    (double)atomic_load(&q->st.dl_rotations), "output", n, NULL);
    vg_emit_gauge(e, "vigil_output_stopped",
                  "1 while the output is stopped until someone acts (refused credentials).",
                  atomic_load(&q->st.stopped) ? 1 : 0, "output", n, NULL);
    vg_emit_counter(e, "vigil_output_bytes_total", bytes_help,
                    (double)atomic_load(&q->st.bytes_raw), "output", n, "stage", "raw", NULL);
    vg_emit_counter(e, "vigil_output_bytes_total", bytes_help,
                    (double)atomic_load(&q->st.bytes_wire), "output", n, "stage", "wire", NULL);
    vg_emit_counter(e, "vigil_output_reply_truncated_total",
                    "Replies of the peer cut off at the most the output reads of one (the "
                    "request failed and its records were sent again).",
                    (double)atomic_load(&q->st.reply_truncated), "output", n, NULL);
    pipeline_emit_histogram(q, &q->st.send, "vigil_output_send_duration_seconds",
                            "Time one send of a batch to the output took.", e);
    pipeline_emit_histogram(q, &q->st.request, "vigil_output_request_duration_seconds",
                            "Time one request of the output to its peer took.", e);
}

bool vg_pipeline_outputs_stopped(struct vg_pipeline *p)
{
    return atomic_load(&p->stopped_outputs) > 0;
}

bool vg_pipeline_outputs_down(struct vg_pipeline *p)
{
    size_t i;

    for (i = 0; i < p->n_outs; i++)
        if (atomic_load(&p->outs[i]->st.up) == 0)
            return true;
    return false;
}

void vg_pipeline_emit_metrics(struct vg_pipeline *p, struct vg_emit *e)
{
    size_t i;

    for (i = 0; i < p->n_outs; i++)
        pipeline_emit_output(p->outs[i], e);
}

static void pipeline_sink_free(struct vg_sink *s)
{
    struct vg_batch *b, *next;

    for (b = s->all; b != NULL; b = next) {
        next = b->all_next;
        vg_batch_free(b);
    }
    vg_process_destroy(s->proc);
    free(s->outs);
    free(s);
}

bool vg_sink_settled(const struct vg_sink *s)
{
    return s->ack_next == s->next_seq && (s->open == NULL || s->open->n_recs == 0);
}

void vg_sink_take_over(struct vg_sink *s, struct vg_sink *old, bool keep_process)
{
    s->records_total = old->records_total;
    s->bytes_total = old->bytes_total;
    s->acked_total = old->acked_total;
    s->dropped_total = old->dropped_total;
    s->finished = old->finished;
    if (keep_process) {
        vg_process_destroy(s->proc);
        s->proc = old->proc;
        old->proc = NULL;
    }
}

int vg_pipeline_move_output(struct vg_pipeline *to, struct vg_pipeline *from, const char *name,
                            const struct vg_output_settings *s, struct vg_error *err)
{
    struct vg_outq *q = NULL, *nq;
    struct vg_output *o;
    size_t i;
    int rc;

    for (i = 0; i < from->n_outs && q == NULL; i++)
        if (from->outs[i]->o != NULL && strcmp(from->outs[i]->o->name, name) == 0)
            q = from->outs[i];
    if (q == NULL || q->started || q->abandoned)
        return vg_error_set(err, VG_ENOENT, "output %s: not in the running pipeline", name);
    o = q->o;
    q->o = NULL;
    rc = vg_pipeline_add_output(to, o, s, err);
    if (rc != VG_OK)
        return rc;
    nq = to->outs[to->n_outs - 1];
    /* the old worker is joined: nothing writes these any more */
    memcpy(&nq->st, &q->st, sizeof(nq->st));
    atomic_store(&nq->st.up, 1); /* tried afresh: a reload is someone acting */
    atomic_store(&nq->st.stopped, 0);
    return VG_OK;
}

/* Stops workers still running, then frees outputs, queues, sinks and every
 * batch whatever its state (queued, in retry, pending, free); frees nothing
 * when a worker was left running (it may still touch any of it). */
void vg_pipeline_destroy(struct vg_pipeline *p)
{
    struct vg_sink *s, *next;
    size_t i;

    if (p == NULL)
        return;
    pipeline_stop_workers(p, vg_mono_ns() + PIPELINE_JOIN_GRACE_MS * VG_NS_PER_MS);
    if (p->abandoned)
        return; /* a worker may still touch any of it: left to the exit */
    for (i = 0; i < p->n_outs; i++) {
        struct vg_outq *q = p->outs[i];

        vg_pipeline_output_free(q->o);
        vg_outq_fini(q);
        free(q->dl_path);
        free(q->s.dead_letter_path);
        free(q);
    }
    free(p->outs);
    for (s = p->sinks; s != NULL; s = next) {
        next = s->next;
        pipeline_sink_free(s);
    }
    pthread_mutex_destroy(&p->ack_mu);
    close(p->ack_fd);
    free((char *)p->s.dead_letter_dir);
    free(p);
}

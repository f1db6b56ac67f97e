/*
 * pipeline_internal.h - what record.c, pipeline.c and pipeline_worker.c
 * share: the batch, the sink and the per-output queue. Not for plugins.
 *
 * Ownership of a batch over its life:
 *   open      the sink's open batch; engine thread only
 *   sealed    immutable; one reference per output queue (refs); workers read it
 *   complete  refs reached zero; on the pipeline's completion list (ack_mu)
 *   pending   engine thread: waiting for earlier sequence numbers of its sink
 *   free      engine thread: on its sink's free list, arena reset
 */
#ifndef VG_PIPELINE_INTERNAL_H
#define VG_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "pipeline.h"
#include "vigil.h"

/* The highest position one batch covers in one source. */
struct vg_batch_source {
    uint64_t source_id;
    uint64_t offset;
    uint64_t records;
};

struct vg_batch {
    struct vg_arena arena; /* records, fields, bodies */
    struct vg_record **recs;
    size_t n_recs, cap_recs;
    uint64_t bytes;                  /* bodies, keys and values */
    uint64_t mem;                    /* memory it holds, set when sealed: what queues count */
    uint64_t seq;                    /* per sink, from 0, assigned when sealed */
    struct vg_batch_source *sources; /* filled when sealed */
    size_t n_sources, cap_sources;
    struct vg_batch_source *drops; /* positions of records a filter dropped */
    size_t n_drops, cap_drops;
    atomic_uint refs; /* outputs that have not released it */
    struct vg_sink *sink;
    struct vg_batch *next;                /* completion, pending or free list */
    struct vg_batch *all_prev, *all_next; /* every batch of the sink (engine thread) */
};

/* One collector's record path. Engine thread only. */
struct vg_sink {
    struct vg_pipeline *p;
    struct vg_collector *c;
    struct vg_batch *open;
    struct vg_batch *free_list;
    size_t n_free;
    struct vg_batch *all; /* for destroy: every batch alive, whatever its state */
    size_t n_all;
    uint64_t next_seq;        /* assigned to the next sealed batch */
    uint64_t ack_next;        /* the sequence number the collector hears about next */
    struct vg_batch *pending; /* complete, sorted by seq, waiting for ack_next */
    uint64_t records_total, bytes_total, acked_total;
    uint64_t mark_bytes, mark_bytes_total; /* before the last record: its cancel */
    uint64_t live_mem;                     /* memory of its sealed batches not acknowledged yet */
    struct vg_process *proc;               /* its processing steps, or NULL */
    struct vg_log_metrics *logm;           /* counts records once processed, or NULL (shared) */
    bool unfinished;                       /* the open batch's last record awaits its steps */
    uint64_t dropped_total;                /* records its filters dropped */
    uint64_t finished;                     /* records through its steps */
    int64_t now_ns, mono_ns;               /* the clocks, read every 64 of them */
    bool routed;                           /* outs holds its route; else every output takes it */
    struct vg_outq **outs;                 /* the outputs that take its records, when routed */
    size_t n_outs;
    struct vg_sink *next;
};

#define VG_SEND_BUCKETS   9
#define VG_SEND_GROUP_MAX 64 /* most batches given to one send() */
extern const int64_t vg_send_bounds_us[VG_SEND_BUCKETS];

/* A duration histogram written by a worker: non-cumulative buckets, the
 * last one +Inf. */
struct vg_outq_hist {
    _Atomic uint64_t buckets[VG_SEND_BUCKETS + 1];
    _Atomic uint64_t count, sum_ns;
};

/* Counters of one output: written by its worker, read by the engine thread. */
struct vg_outq_stats {
    _Atomic uint64_t sent, dropped, retries, retried_records, dl_records, dl_errors;
    _Atomic uint64_t bytes_raw, bytes_wire;
    _Atomic uint64_t dl_rotations;
    _Atomic uint64_t reply_truncated; /* vg_output_count_reply_truncated */
    _Atomic int up;
    _Atomic int stopped;         /* the last answer was STOP */
    struct vg_outq_hist send;    /* send() calls */
    struct vg_outq_hist request; /* the output's own requests (vg_output_observe_request) */
};

/* The state of each record of the batch being sent (dl_marks). */
enum { OUTQ_PENDING = 0, OUTQ_DELIVERED = 1, OUTQ_DEAD = 2 };

/*
 * An output, its queue and its worker. Lock: mu protects ring, head, n,
 * bytes, draining and stopping; n_pub and bytes_pub mirror n and bytes for
 * readers that must not wait (vg_sink_paused). The batch being sent stays
 * counted until it is released, so "empty" means delivered.
 */
struct vg_outq {
    struct vg_pipeline *p;
    struct vg_output *o;
    struct vg_output_settings s; /* s.dead_letter_path is ours */
    char *dl_path;               /* resolved dead-letter file */
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work arrived, or stop */
    pthread_cond_t idle_cv; /* the queue became empty */
    struct vg_batch **ring;
    size_t cap, head, n, waiting; /* waiting: in ring, not yet taken */
    uint64_t bytes;
    _Atomic size_t n_pub;
    _Atomic uint64_t bytes_pub;
    bool draining, stopping;
    bool started;
    bool abandoned; /* its worker could not be joined at shutdown (engine thread) */
    pthread_t thread;
    atomic_bool reopen;
    struct vg_outq_stats st;
    char last_reason[512]; /* under mu, for tests and diagnostics */
    /* worker thread only: */
    char reason[512];
    struct vg_complain complain;
    struct vg_complain dl_complain;
    int dl_fd;
    bool dl_regular;         /* dl_fd is a regular file: fsynced, cut back, rotated */
    struct vg_batch group;   /* the view of several batches sent together */
    struct vg_buf dl_buf;    /* lines of the current dead-letter write */
    size_t dl_pending;       /* records given to vg_output_dead_letter this send */
    size_t dl_lost;          /* ... of them (or dropped) with no line: out of memory */
    unsigned char *dl_marks; /* per record of the batch being sent */
    size_t dl_marks_cap;
    uint64_t rng;
};

struct vg_pipeline {
    struct vg_pipeline_settings s; /* s.dead_letter_dir is ours */
    struct vg_outq **outs;
    size_t n_outs;
    struct vg_sink *sinks;
    int ack_fd;
    pthread_mutex_t ack_mu;
    struct vg_batch *completed; /* under ack_mu */
    bool started;
    bool abandoned;              /* a worker was left running at shutdown: nothing may be freed */
    _Atomic int stopped_outputs; /* outputs whose last answer was STOP (/readyz) */
};

/* A snapshot of one output's counters (tests and metrics). */
struct vg_output_stats {
    uint64_t sent, dropped, retries, retried_records, dead_letter_records, dead_letter_errors;
    uint64_t queue_bytes, queue_batches;
    bool up;
    char last_reason[512];
};

/* Looks up an output by name; VG_ENOENT when there is none. */
int vg_pipeline_output_stats(struct vg_pipeline *p, const char *name, struct vg_output_stats *out);
/* Batches the sink holds in any state (bounded by recycling). */
size_t vg_sink_batches_live(const struct vg_sink *s);

/* The bit of a key in vg_record.key_bits. */
static inline uint64_t vg_key_bit(const char *key, size_t len)
{
    return UINT64_C(1) << ((len * 7u + (unsigned char)key[0] * 3u +
                            (unsigned char)key[len > 0 ? len - 1 : 0]) &
                           63u);
}

/* record.c */
/* A new field of key[0..klen) in the arena, with room for `text` bytes
 * (a value and its NUL) after its key, at (char *)f->key + klen + 1; not
 * linked into any record. NULL on out of memory. */
struct vg_field *vg_field_new(struct vg_arena *a, const char *key, size_t klen, size_t text);
/* Links f at the end of r's fields. */
void vg_record_link(struct vg_record *r, struct vg_field *f, size_t klen);
void vg_batch_reset(struct vg_batch *b);
/* Runs the processing steps on the open batch's last record, once, if it
 * has not been through them yet (before the next record or the seal). */
void vg_sink_finish_record(struct vg_sink *s);
/* pipeline.c: adds a position to a batch's table of sources (count
 * records). VG_OK or VG_ENOMEM. */
int vg_batch_source_note(struct vg_batch_source **v, size_t *n, size_t *cap, uint64_t source_id,
                         uint64_t offset, uint64_t count);
void vg_batch_free(struct vg_batch *b);

/* pipeline.c */
/* The open batch that the next record goes to: seals and enqueues a full
 * one first. NULL on out of memory. */
struct vg_batch *vg_sink_batch_for_record(struct vg_sink *s);
/* Called by the last output that releases b (any thread). */
void vg_batch_complete(struct vg_pipeline *p, struct vg_batch *b);

/* pipeline_worker.c */
int vg_outq_init(struct vg_outq *q);
void vg_outq_fini(struct vg_outq *q);
/* Room for one more batch in the ring: VG_OK or VG_ENOMEM. */
int vg_outq_reserve(struct vg_outq *q);
/* Never blocks and never refuses once reserved: the limits are soft (see
 * vg_sink_paused). */
void vg_outq_push(struct vg_outq *q, struct vg_batch *b);
bool vg_outq_full(struct vg_outq *q);
void *vg_outq_worker(void *arg);
/* Drops one reference to b; the last one completes it. */
void vg_batch_release(struct vg_pipeline *p, struct vg_batch *b);

#endif

/*
 * pipeline.h - records, batches, per-output queues and workers, and the
 * acknowledgement path.
 *
 * A collector fills batches through its sink (engine thread). A sealed batch
 * is referenced once per output and pushed into each output's bounded queue
 * (bytes and count). One worker thread per output calls send() in order and
 * applies the engine's answer policy: OK acknowledges, RETRY waits with
 * exponential backoff and jitter and sends the same batch again, DROP (or
 * the retry limit) writes the records to the dead-letter file and
 * acknowledges. When a batch's last reference is released it goes on the
 * ack queue; the engine thread drains it (vg_pipeline_process_acks), and
 * each collector learns the highest contiguous delivered position of each
 * of its sources through its ack callback.
 */
#ifndef VG_PIPELINE_H
#define VG_PIPELINE_H

#include "output_settings.h"
#include "vigil.h"

/* Arena: bump allocation in chunks; reset keeps the first chunk. */
struct vg_arena_chunk;
struct vg_arena {
    struct vg_arena_chunk *head;
    size_t chunk_size;
    size_t total; /* bytes handed out */
};
void vg_arena_init(struct vg_arena *a, size_t chunk_size);
void *vg_arena_alloc(struct vg_arena *a, size_t n); /* 16-byte aligned; NULL on ENOMEM */
char *vg_arena_strndup(struct vg_arena *a, const char *s, size_t n); /* NUL-terminated copy */
void vg_arena_reset(struct vg_arena *a);
void vg_arena_free(struct vg_arena *a);

/* Engine-wide settings of the record path (agent: options). */
struct vg_pipeline_settings {
    uint64_t batch_max_records;  /* seal a batch at this many records */
    uint64_t batch_max_bytes;    /* ... or this many bytes of bodies and fields */
    const char *dead_letter_dir; /* default folder for dead-letter files */
};

struct vg_pipeline;
struct vg_sink; /* one per record-producing collector */

struct vg_pipeline *vg_pipeline_create(const struct vg_pipeline_settings *s);
/* Takes the output (initialised) into the pipeline; it is destroyed with it. */
int vg_pipeline_add_output(struct vg_pipeline *p, struct vg_output *o,
                           const struct vg_output_settings *s, struct vg_error *err);
/* Destroys an output that is in no pipeline: ops->destroy, its options,
 * ctx, name and the struct. */
void vg_pipeline_output_free(struct vg_output *o);
/* Starts one worker per output. */
int vg_pipeline_start(struct vg_pipeline *p, struct vg_error *err);
/* The sink through which collector c emits records (created on first use). */
struct vg_sink *vg_pipeline_sink(struct vg_pipeline *p, struct vg_collector *c);
/* Routes a sink: its batches go to the outputs i (in the order they were
 * added) for which takes[i] is true, and a batch no output takes is
 * complete, so acknowledged, at once. A new sink goes to every output. */
int vg_sink_route(struct vg_sink *s, const bool *takes); /* VG_OK or VG_ENOMEM */
/* Gives the sink its processing steps (process.h), run on each record
 * before it is sealed; the sink owns proc (and frees one it had). */
struct vg_process;
void vg_sink_set_process(struct vg_sink *s, struct vg_process *proc);
/* Counts the sink's records, once processed, in m (log_metrics.h); m is
 * shared by every sink and outlives them. */
struct vg_log_metrics;
void vg_sink_set_log_metrics(struct vg_sink *s, struct vg_log_metrics *m);
struct vg_process *vg_sink_process(const struct vg_sink *s);
/* Records its filters dropped (acknowledged with their batch all the same). */
uint64_t vg_sink_dropped_total(const struct vg_sink *s);
/* Seals the sink's open batch (if any records) and enqueues it to every output. */
int vg_sink_flush(struct vg_sink *s);
/* True while any output queue is at its limit: collectors should not read. */
bool vg_sink_paused(const struct vg_sink *s);
uint64_t vg_sink_records_total(const struct vg_sink *s); /* records emitted */
uint64_t vg_sink_bytes_total(const struct vg_sink *s);
/* Records of this sink acknowledged back to its collector so far. */
uint64_t vg_sink_acked_total(const struct vg_sink *s);

/* True when every record the sink took was acknowledged back to its
 * collector (nothing open, in a queue or waiting for an earlier batch). */
bool vg_sink_settled(const struct vg_sink *s);
/* A reload: s, a new sink of a collector kept running, continues old's
 * counters, and takes old's processing steps when keep_process. */
void vg_sink_take_over(struct vg_sink *s, struct vg_sink *old, bool keep_process);
/* A reload: takes the output `name` out of from (drained: its worker
 * stopped) into to, with its counters, as vg_pipeline_add_output does with
 * a new one. VG_ENOENT when from has no such output, or its worker could
 * not be stopped. */
int vg_pipeline_move_output(struct vg_pipeline *to, struct vg_pipeline *from, const char *name,
                            const struct vg_output_settings *s, struct vg_error *err);

/* Readable (EPOLLIN) when acknowledgements wait for vg_pipeline_process_acks. */
int vg_pipeline_ack_fd(const struct vg_pipeline *p);
/* Engine thread: clears the fd, calls collectors' ack callbacks. */
void vg_pipeline_process_acks(struct vg_pipeline *p);
/* SIGHUP: every output's reopen() runs on its worker before its next send. */
void vg_pipeline_reopen(struct vg_pipeline *p);
/* Flushes every sink, lets the workers empty their queues until the
 * monotonic deadline, then stops and joins them (a batch still in retry is
 * left unacknowledged). A worker not joined a second after the deadline (a
 * send that does not return) is logged and left running. Processes the
 * last acks. Returns VG_OK when every queue was emptied, VG_EAGAIN when
 * the deadline cut it short. */
int vg_pipeline_drain(struct vg_pipeline *p, int64_t deadline_mono_ns);
/* vigil_output_records_total{output,result}, vigil_output_queue_bytes{output},
 * vigil_output_queue_batches{output}, vigil_output_retries_total{output},
 * vigil_output_send_duration_seconds... */
void vg_pipeline_emit_metrics(struct vg_pipeline *p, struct vg_emit *e);
/* True while an output is stopped (its last answer was STOP): /readyz fails. */
bool vg_pipeline_outputs_stopped(struct vg_pipeline *p);
/* True while some output is down (vigil_output_up 0: its last send failed). */
bool vg_pipeline_outputs_down(struct vg_pipeline *p);
/* Stops the workers (a second each at most) and frees everything, unless a
 * worker was left running: then nothing is freed, for the exit to take. */
void vg_pipeline_destroy(struct vg_pipeline *p);

#endif

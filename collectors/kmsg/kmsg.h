/*
 * kmsg.h - the kmsg collector's context, shared by its files (kmsg.c:
 * reading and checkpoints; kmsg_events.c: Xid errors, OOM kills and their
 * metrics) and by its unit tests. Engine thread only.
 */
#ifndef KMSG_H
#define KMSG_H

#include <stdbool.h>
#include <stdint.h>

#include "checkpoint.h"
#include "kmsg_parse.h"
#include "meta.h"
#include "vigil.h"

#define KMSG_PLUGIN     "kmsg"
#define KMSG_SOURCE     1
#define KMSG_REC_MAX    8192        /* the most one read of /dev/kmsg returns */
#define KMSG_BUF_CAP    (64 * 1024) /* a plain file is read in pieces this large */
#define KMSG_READS_MAX  4096        /* most device reads in one collect */
#define KMSG_MAX_GPUS   64          /* GPU-at lines remembered */
#define KMSG_MAX_SERIES 256         /* per family; more are not counted (logged once) */

/* A GPU the driver announced ("NVRM: GPU at PCI:...: GPU-<uuid>"). */
struct kmsg_gpu {
    char bus[16]; /* vg_gpu_bus_id form */
    char uuid[KMSG_UUID_MAX];
};

struct kmsg_xid_series {
    char gpu[12];
    char uuid[KMSG_UUID_MAX];
    int xid;
    uint64_t n;
};

struct kmsg_oom_series {
    struct vg_meta m;
    char id[VG_META_ID_MAX];
    uint64_t n;
};

/* What one message says beyond its text: an Xid error or an OOM kill,
 * with the GPU and the container it concerns. */
enum kmsg_event_kind { KMSG_EV_NONE, KMSG_EV_XID, KMSG_EV_GPU_AT, KMSG_EV_OOM_KILL, KMSG_EV_OOM };

struct kmsg_event {
    enum kmsg_event_kind kind;
    struct kmsg_xid xid;
    struct kmsg_oom_kill kill;
    struct kmsg_oom_summary oom;
    char bus[16]; /* normal form; "" when none */
    char gpu[12]; /* index, "" when unknown */
    char uuid[KMSG_UUID_MAX];
    long pid;
    bool has_ids, has_meta;
    struct vg_cgroup_ids ids;
    struct vg_meta meta;
};

struct kmsg_ctx {
    /* options */
    char *path;
    char *boot_id_path;
    char *proc_root;
    int64_t checkpoint_ms;

    struct vg_collector *c;
    int fd;
    bool device;  /* a character device (/dev/kmsg): one record a read */
    bool watched; /* fd is watched by the engine */
    char *buf;    /* KMSG_BUF_CAP bytes: a plain file's bytes not yet used, or the
                     device's record that could not be taken yet */
    size_t buf_len;
    int64_t boot_ns; /* UNIX ns of the boot: a record's time is this plus its usec */
    char boot_id[64];
    struct vg_checkpoint ck; /* keys "boot_id" and "sequence" (the last acknowledged) */
    uint64_t ship_from;      /* records below this sequence were shipped before a restart */
    uint64_t acked;          /* one past the highest acknowledged sequence */
    uint64_t max_seq;        /* highest sequence read, when seen_any */
    bool seen_any;
    bool caught_up; /* the source ran dry once: the reboot check was made */

    /* counters since boot (the ring is read from its start) */
    uint64_t records, overruns, parse_errors, oom_kills;
    struct kmsg_gpu gpus[KMSG_MAX_GPUS];
    size_t n_gpus;
    struct kmsg_xid_series *xids;
    size_t n_xids, cap_xids;
    struct kmsg_oom_series *ooms;
    size_t n_ooms, cap_ooms;
    bool series_full_logged;
    struct vg_complain read_complain, parse_complain;
};

/* kmsg_events.c */
/* Reads what msg says (Xid, GPU-at, OOM) and resolves GPU and container
 * (a GPU-at line is remembered); ev->kind is KMSG_EV_NONE for any other
 * text. */
void kmsg_event_read(struct kmsg_ctx *x, const char *msg, size_t len, struct kmsg_event *ev);
/* Makes room for a new series of the event: VG_OK or VG_ENOMEM (the
 * record is then tried again later, so that no event goes uncounted). */
int kmsg_event_reserve(struct kmsg_ctx *x, const struct kmsg_event *ev);
/* Counts the event in the metrics (once the record is taken; after
 * kmsg_event_reserve, it cannot fail). */
void kmsg_event_count(struct kmsg_ctx *x, const struct kmsg_event *ev);
/* Adds the event's fields to record r. VG_OK or VG_ENOMEM. */
int kmsg_event_fields(struct vg_emit *e, struct vg_record *r, const struct kmsg_event *ev);
/* Emits every counter of the collector. */
void kmsg_emit_metrics(struct kmsg_ctx *x, struct vg_emit *e);
/* Forgets the counters (the source starts over after a reboot). */
void kmsg_events_reset(struct kmsg_ctx *x);

#endif

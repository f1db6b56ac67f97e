/*
 * container_logs.h - what the files of the container_logs collector share:
 * the collector's context, the table of followed files, and the functions
 * of discovery (container_logs_scan.c), reading (container_logs_read.c) and
 * checkpoints (container_logs_ckpt.c). Engine thread only; not for other
 * plugins.
 */
#ifndef CONTAINER_LOGS_H
#define CONTAINER_LOGS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "container_logs_parse.h"
#include "parse/parse.h"
#include "vigil.h"

#define CLOG_PLUGIN        "container_logs"
#define CLOG_FP_MAX        1024          /* bytes of a file's first line in its fingerprint */
#define CLOG_READ_CHUNK    (256 * 1024)  /* bytes per read */
#define CLOG_BUDGET        (1024 * 1024) /* bytes read by one collect before it yields */
#define CLOG_FD_RESERVE    256u          /* descriptors left to the rest of the agent */
#define CLOG_RESCAN_GAP_NS (100 * VG_NS_PER_MS) /* least time between event-driven rescans */
#define CLOG_RESCAN_SHARE  10 /* ... and at least this many times the last scan took */
#define CLOG_TAIL_CHECK    32 /* bytes before the read position re-checked for rewrites */
#define CLOG_GONE_KEEP_NS  (600 * VG_NS_PER_SEC) /* how long a finished gone file is remembered */
#define CLOG_GONE_MAX_DONE 512                   /* finished gone files remembered at most */

enum clog_format { CLOG_FMT_AUTO, CLOG_FMT_CRI, CLOG_FMT_DOCKER, CLOG_FMT_RAW };

/* Fragments of one stream waiting for the rest of their message (CRI P
 * lines, Docker lines without "\n"). */
struct clog_join {
    struct vg_buf buf;
    int64_t time_ns;
    uint64_t start_off; /* where the first fragment began */
    uint64_t end_off;   /* where the last fragment ended */
    bool active;
    bool truncated;
};

struct clog_gz; /* a gzip-compressed rotated file being read (container_logs_recover.c) */

/*
 * A followed file. Identity: device, inode and the fingerprint of its first
 * line (fp_len > 0 once known); source_id is derived from the three.
 * Positions: read_off is the next byte to decode; emitted_off the position
 * a restart must read from so that nothing emitted-or-pending is lost (it
 * never passes the start of a pending fragment or multiline group);
 * acked_off what every output has confirmed, the checkpoint.
 */
struct clog_file {
    uint64_t dev, ino;
    uint64_t fp_len, fp_hash;
    uint64_t source_id; /* 0 until the fingerprint is known */
    char *path;         /* as matched by the patterns */
    char *real;         /* the file a symlink points at */
    char *origin;       /* for a file found rotated away: the file it was rotated from (its
                           checkpoint names it, so that its next name is found by the same
                           search); NULL: real */
    char *base;         /* the name inside its folder (for inotify), points into real */
    int fd;             /* -1 while closed */
    uint64_t read_off, emitted_off, acked_off;
    uint64_t size;                  /* last size seen */
    int64_t grew_ns;                /* monotonic: when it last grew (or was opened) */
    int64_t eof_ns;                 /* monotonic: since when the reader waits at its end; 0 while
                                       bytes remain unread (partial_timeout counts from here only) */
    int64_t rotated_ns;             /* monotonic: when its path stopped leading to it; 0 if not */
    int64_t shadow_ns;              /* monotonic: when it was held as a possible copy */
    uint64_t skip_to;               /* a copy: what lies before was read in its original (the copy
                                       may still be growing to there): not read again */
    uint64_t tail_off;              /* read_off when tail_hash was taken, 0: none */
    uint64_t tail_hash;             /* hash of the CLOG_TAIL_CHECK bytes before tail_off */
    uint64_t pred_source, pred_end; /* a rotated predecessor whose last fragment this file
                                       completes: moved to pred_end once this file's first
                                       record is acknowledged */
    struct clog_gz *gz;             /* NULL for a plain file */
    enum clog_format fmt;
    struct clog_meta meta;
    bool has_meta;
    struct clog_join join[3]; /* per enum vg_stream */
    struct vg_multiline *ml[3];
    bool skipping; /* dropping the rest of an over-long line */
    bool dirty;    /* may have grown: read it */
    bool seen;     /* matched by the current scan */
    bool shadow;   /* a copy of a file being followed: not read (copytruncate) */
    bool not_copy; /* held as a copy once and released: never again */
    bool fresh;    /* placed at offset 0 and nothing read yet */
    bool mid_line; /* the next byte to read is inside a line (format not decided on it) */
    bool eof_seen; /* the last read reached the end of what the file holds */
    int wd;        /* inotify watch of its folder, -1 if none */
    struct clog_file *next;
    struct clog_file *ino_next;  /* in x->by_ino */
    struct clog_file *name_next; /* in x->by_name */
};

/* A file that is gone (rotated away and read to its end, or truncated):
 * kept so that acknowledgements still move its checkpoint and a copy of it
 * (copytruncate) can be recognised by its fingerprint. */
struct clog_gone {
    struct clog_ckpt_entry e; /* e.offset: acknowledged; e.size: read_off when it left */
    uint64_t source_id;
    uint64_t read_off; /* what was read of it */
    int64_t gone_ns;
    struct clog_gone *next;
};

/* A path the agent could not read: warned about once. */
struct clog_unreadable {
    char *path;
    bool seen; /* still unreadable at the last scan */
    struct clog_unreadable *next;
};

/* Docker metadata read from a container's config.v2.json, once. */
struct clog_docker_meta {
    char id[65];
    struct clog_meta meta;
    bool ok;
    struct clog_docker_meta *next;
};

struct clog_ctx {
    /* options */
    struct vg_strlist paths, exclude;
    char *format;
    char *read_from;
    int64_t ignore_older_ms;
    int64_t max_open_files;
    int64_t rescan_ms;
    uint64_t max_line_bytes;
    int64_t partial_timeout_ms;
    int64_t rotate_wait_ms;
    int64_t checkpoint_ms;
    char *ml_preset, *ml_start, *ml_cont;
    int64_t ml_timeout_ms;
    int64_t ml_max_lines;
    uint64_t ml_max_bytes;
    bool kubernetes;
    /* state */
    int64_t (*mono)(void); /* clocks: vg_mono_ns and vg_now_ns, replaced by tests */
    int64_t (*real)(void);
    /* tests: called once a folder's files are listed for recovery, before
     * any is opened, to change the folder in between as a rotator would */
    void (*listed)(void *arg, const char *dir);
    void *listed_arg;
    uint64_t budget; /* bytes one collect reads at most (CLOG_BUDGET) */
    struct vg_collector *c;
    enum clog_format fmt;
    struct vg_multiline_rules *ml_rules;
    struct clog_file *files;
    size_t n_files, n_open;
    struct clog_file **by_ino;  /* hash of (dev, ino) */
    struct clog_file **by_name; /* hash of (wd, base): inotify events */
    size_t n_buckets;           /* a power of two, >= 2 * n_files */
    struct clog_gone *gone;
    struct clog_docker_meta *docker; /* cache, by container id */
    struct clog_ckpt_entry *ckpts;   /* loaded at start, matched as files appear */
    size_t n_ckpts;
    bool *ckpt_used;
    char *ckpt_path;
    bool ckpt_loaded;
    bool recovered_start;    /* the first scan looked for rotated-away files */
    int64_t ckpt_written_ns; /* UNIX ns the loaded checkpoints were written at; 0: unknown */
    int64_t scan_real_ns;    /* UNIX ns of the last scan */
    int64_t ckpt_due_ns, rescan_due_ns, poll_due_ns;
    int64_t wake_due_ns;  /* earliest wake-up the collector asked for; INT64_MAX: none */
    int64_t scan_done_ns; /* monotonic end of the last scan */
    int64_t scan_cost_ns; /* how long it took */
    bool held;            /* the last collect stopped for full outputs */
    bool ckpt_dirty;
    int inotify_fd;
    bool need_rescan;
    bool deferred; /* the last scan left new files out: max_open_files */
    char *buf;     /* the read buffer: CLOG_READ_CHUNK + max_line_bytes */
    size_t buf_cap;
    struct vg_buf scratch; /* Docker unescaping */
    uint64_t hold_off;     /* emitted records resume no later than this; UINT64_MAX: none */
    const char *attrs;     /* Docker "attrs" of the line being handled, or NULL */
    size_t attrs_len;
    struct vg_emit *emit; /* during collect */
    uint64_t decode_errors, truncations, rotations, files_opened;
    uint64_t lost_rotated_bytes; /* vigil_log_lost_bytes_total{reason="rotated_away"} */
    uint64_t recovered[2];       /* rotated-away files found again: plain, gzip */
    uint64_t nomem_retries;      /* lines put back because memory ran out */
    uint64_t recover_examined;   /* files looked at in folders for rotated-away ones */
    size_t n_gone;
    struct clog_unreadable *unreadable;
    size_t n_unreadable;
    /* what the start line and the ignore_older line say (container_logs_scan.c) */
    size_t *pattern_files;    /* files each pattern led to at the last scan */
    uint64_t *old, *old_next; /* files skipped by ignore_older at the last scan and at
                                 this one: hashes of (device, inode), old sorted */
    size_t n_old, n_old_next, cap_old, cap_old_next;
    bool started; /* the start line was logged */
    struct vg_complain read_complain, scan_complain, ckpt_complain, nomem_complain;
};

/* container_logs_scan.c */
int clog_scan_init(struct clog_ctx *x, struct vg_error *err);
void clog_scan(struct clog_ctx *x, int64_t now_ns);
/* Reads the pending inotify events; true when one of them concerns a
 * followed file or calls for a rescan. */
bool clog_inotify_drain(struct clog_ctx *x);
/* vg_collector_wake, remembered so that a collect woken for nothing can
 * tell it was not its own wake-up. */
void clog_wake(struct clog_ctx *x, int64_t ms);
void clog_file_close(struct clog_ctx *x, struct clog_file *f);
void clog_file_retire(struct clog_ctx *x, struct clog_file *f, int64_t now_ns);
/* Moves f in the list (the order files are read in) to just after
 * `after`, or to the front when after is NULL. */
void clog_file_move(struct clog_ctx *x, struct clog_file *f, struct clog_file *after);
/* Takes f out of the list and the indexes (it stays allocated). */
void clog_file_unlink(struct clog_ctx *x, struct clog_file *f);
/* Why f was truncated and written again while the agent did not look (its
 * first line or the bytes before its read position changed), or NULL. */
const char *clog_rewritten(struct clog_ctx *x, struct clog_file *f);
void clog_gone_fini(struct clog_ctx *x);
int clog_file_reopen(struct clog_ctx *x, struct clog_file *f);
void clog_limit_open(struct clog_ctx *x);
void clog_scan_fini(struct clog_ctx *x);
/* Reads f's first bytes for its fingerprint (force: whatever is there, for
 * a file whose first line never ends). True once known. */
bool clog_identify(struct clog_ctx *x, struct clog_file *f, bool force);
/* Where a newly identified file starts (a gone file of the same identity,
 * checkpoint, copy of a truncated file, read_from), or whether it is a
 * copy of a followed file to hold back for now. */
void clog_file_place(struct clog_ctx *x, struct clog_file *f, int64_t now_ns);
/* Releases held copies whose original was not truncated within rotate_wait. */
void clog_release_shadows(struct clog_ctx *x, int64_t now_ns);
/* A new file: allocated, opened at path, linked and identified. NULL when
 * it cannot be opened (errno set) or memory runs out. */
struct clog_file *clog_file_add(struct clog_ctx *x, const char *path, const char *real,
                                const struct stat *st, int64_t now_ns);
/* Keeps what acknowledgements and copies of f's current identity need. */
void clog_gone_add(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, uint64_t flags);
/* f was truncated in place: its old identity is kept for acknowledgements
 * and copies, and it starts again from 0 as a new file. */
void clog_file_reidentify(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, const char *why);
struct clog_file *clog_find_ino(struct clog_ctx *x, uint64_t dev, uint64_t ino);
struct clog_file *clog_find_source(struct clog_ctx *x, uint64_t source_id);

/* container_logs_recover.c: rotated-away files found again in their folder */
/* After the first scan: checkpoints of files the patterns no longer reach
 * are looked for (same inode, or a .gz with the same first bytes), as are
 * files rotated while the agent was down; what is gone is warned about and
 * counted. Frees the loaded checkpoints. */
void clog_recover_start(struct clog_ctx *x, int64_t now_ns);
/* A followed file that was closed and is no longer reached: found again in
 * its folder and reopened (true), or counted lost. */
bool clog_recover_file(struct clog_ctx *x, struct clog_file *f, int64_t now_ns);
/* f was rotated away: files that were created and rotated in its folder
 * since the last scan, never seen, are read too. */
void clog_recover_siblings(struct clog_ctx *x, struct clog_file *f, int64_t now_ns);
/* Reads up to want bytes at off of f, plain or gzip. pread's contract. */
ssize_t clog_pread(struct clog_ctx *x, struct clog_file *f, char *buf, size_t want, uint64_t off);
void clog_gz_close(struct clog_file *f);
/* For a .gz being read: the device and inode of the file it was made from. */
void clog_gz_identity(const struct clog_file *f, uint64_t *dev, uint64_t *ino);

/* container_logs_read.c */
/* Reads what f has, up to *budget bytes; false when the outputs are full or
 * memory ran out (the line is read again later). */
bool clog_read_file(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, uint64_t *budget);
/* A rotated file at its end with a fragment pending: the fragment moves to
 * f, its successor at the same path, whose first line completes it. */
void clog_take_fragments(struct clog_ctx *x, struct clog_file *f);
/* Emits pending fragments and groups that timed out (force: all). */
void clog_flush_file(struct clog_ctx *x, struct clog_file *f, int64_t now_ns, bool force);
/* Monotonic time when f next needs a timeout flush, INT64_MAX if never. */
int64_t clog_file_deadline(const struct clog_ctx *x, const struct clog_file *f);
/* Frees f and what it holds (its descriptor is closed already). */
void clog_file_free_state(struct clog_file *f);

/* container_logs_ckpt.c */
int clog_ckpt_load(struct clog_ctx *x, struct vg_error *err);
/* The offset to start f at: its checkpoint, a gone file's offset whose
 * copy it is, or the start / end per read_from. */
uint64_t clog_ckpt_start(struct clog_ctx *x, struct clog_file *f);
void clog_ckpt_write(struct clog_ctx *x);
/* The checkpoint entry of f's identity (flags 0); strings borrowed from f. */
void clog_ckpt_of(const struct clog_file *f, struct clog_ckpt_entry *e);
void clog_ack(struct clog_ctx *x, const struct vg_ack *ack);

#endif

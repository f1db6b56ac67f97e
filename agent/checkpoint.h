/*
 * checkpoint.h - positions of record collectors, written atomically.
 *
 * The checkpoint store of the delivery guarantee: a record collector keeps
 * what it must resume from (a sequence number, a boot id, an offset) as a
 * few keyed values in one file per collector instance,
 * <state_dir>/checkpoints/<instance>. The file is read once at start
 * (vg_checkpoint_open) and written whole, atomically (temporary file,
 * fsync, rename, fsync of the folder), every interval (vg_checkpoint_tick)
 * and at shutdown (vg_checkpoint_close), only when a value changed. A crash
 * at any moment leaves either the old file or the new one, never a mix.
 *
 * Failures are reported through vg_collector_checkpoint_state (so /readyz
 * fails until a later write succeeds) and logged, rate-limited.
 *
 * Format (text, one value a line, a line at most VG_CKPT_LINE_MAX bytes):
 *   # vigil checkpoint v1
 *   <key> <value>
 * Keys are words without spaces; values are text without newlines.
 *
 * container_logs still keeps its own file format (container_logs_ckpt.c)
 * through vg_checkpoint_load_file and vg_checkpoint_write_atomic; its entries (one per file
 * identity) fit this store as keys named for the identity ("<dev>:<ino>:<fp>") with the offset,
 * size and paths in the value, so it can move onto it unchanged in format otherwise.
 *
 * Engine thread only (init, collect, ack, destroy); not locked.
 */
#ifndef VG_CHECKPOINT_H
#define VG_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

#define VG_CKPT_HEADER   "# vigil checkpoint v1\n"
#define VG_CKPT_LINE_MAX 4096
#define VG_CKPT_MAX_KEYS 64

struct vg_checkpoint_kv {
    char *key;
    char *value;
};

struct vg_checkpoint {
    struct vg_collector *c; /* reported to and named in log lines; may be NULL (tests) */
    char *path;             /* <state_dir>/checkpoints/<instance> */
    struct vg_checkpoint_kv kv[VG_CKPT_MAX_KEYS];
    size_t n;
    bool loaded; /* read at open: the close may write */
    bool dirty;  /* a value changed since the last write */
    int64_t interval_ns, due_ns;
    struct vg_complain complain;
};

/* Writes data[0..len) to path atomically: path.tmp, fsync, rename, fsync
 * of the folder. VG_OK, or VG_EIO with errno set (the temporary file is
 * removed). */
int vg_checkpoint_write_atomic(const char *path, const void *data, size_t len);

/* Reads checkpoint file `name` of state_dir (creating the folder
 * checkpoints/ when missing): *path gets its path (malloc'd, the
 * caller's, set also on most errors), and parse its whole text when the
 * file exists (none: VG_OK without a call). VG_OK, VG_ENOMEM (also what
 * parse returns), VG_EPARSE when larger than max bytes, or VG_EIO; err
 * filled. */
int vg_checkpoint_load_file(const char *state_dir, const char *name, size_t max, char **path,
                            int (*parse)(void *arg, const char *text, size_t len), void *arg,
                            struct vg_error *err);

/* Opens the store of collector c under state_dir (creating the folder
 * checkpoints/) and reads its file when there is one; a damaged line is
 * logged and skipped. interval_ms: how often vg_checkpoint_tick writes.
 * VG_OK (and the collector's checkpoint state reported ok), VG_ENOMEM, or
 * VG_EIO with err filled. Undo with vg_checkpoint_close. */
int vg_checkpoint_open(struct vg_checkpoint *ck, struct vg_collector *c, const char *state_dir,
                       const char *name, int64_t interval_ms, struct vg_error *err);

/* The value of key, or NULL; valid until the key is set again. */
const char *vg_checkpoint_get(const struct vg_checkpoint *ck, const char *key);
/* The value of key as an unsigned number: true with *out set, false when
 * missing or not a number. */
bool vg_checkpoint_get_u64(const struct vg_checkpoint *ck, const char *key, uint64_t *out);

/* Sets key to value (copied); marks the store dirty when it changed.
 * VG_OK, VG_EINVAL (a key with a space or newline, a value with a
 * newline, a line too long, too many keys) or VG_ENOMEM. */
int vg_checkpoint_set(struct vg_checkpoint *ck, const char *key, const char *value);
int vg_checkpoint_set_u64(struct vg_checkpoint *ck, const char *key, uint64_t v);
/* Forgets every value (a source that starts over); marks the store dirty. */
void vg_checkpoint_clear(struct vg_checkpoint *ck);

/* Writes the file now when dirty. VG_OK or VG_EIO (logged, rate-limited,
 * and reported through vg_collector_checkpoint_state). */
int vg_checkpoint_save(struct vg_checkpoint *ck);
/* Writes when dirty and the interval has passed since the last tick that
 * wrote (now_ns: monotonic). */
void vg_checkpoint_tick(struct vg_checkpoint *ck, int64_t now_ns);
/* Writes (when save and the file was read at open), then frees. */
void vg_checkpoint_close(struct vg_checkpoint *ck, bool save);

/* Fields of the tab-separated state files (alert states, notifier groups):
 * vg_checkpoint_escape appends s with tabs, newlines and backslashes
 * escaped (\t \n \\), VG_OK or VG_ENOMEM; vg_checkpoint_field unescapes
 * field f in place (it ends at a tab or the end) and returns the start of
 * the next field, or NULL after the last; vg_checkpoint_i64 reads a whole
 * decimal number. */
int vg_checkpoint_escape(struct vg_buf *b, const char *s);
char *vg_checkpoint_field(char *f);
bool vg_checkpoint_i64(const char *s, int64_t *out);
/* Calls line(arg, l) on each line of text[0..len) but empty ones and
 * comments ("#..."), in a copy it may change (newline cut off). The lines
 * it refused (returned false) are logged once, however many, as the
 * plugin's and instance's "NAME: N damaged line(s) skipped, the first
 * line K". VG_OK or VG_ENOMEM. */
int vg_checkpoint_lines(const char *text, size_t len, bool (*line)(void *arg, char *l), void *arg,
                        const char *plugin, const char *instance, const char *name);

#endif

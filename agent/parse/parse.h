/*
 * parse.h - decoders shared by collectors: container runtime log lines
 * (CRI, Docker json-file), timestamps and multiline grouping.
 *
 * Every function here is pure: it reads the bytes it is given and writes
 * only into what the caller passes, so each is tested on strings and fuzzed.
 * A line given to a decoder never contains its terminating '\n'.
 */
#ifndef VG_PARSE_H
#define VG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* ------------------------------------------------------------------------
 * Time (time.c).
 */

/* Parses an RFC 3339 timestamp with optional fraction (up to 9 digits are
 * kept, more are accepted and truncated) and a 'Z' or +hh:mm / -hh:mm
 * offset: "2026-11-24T10:00:00.123456789Z", "2026-11-24T10:00:00+01:00".
 * A lowercase 't' or 'z' is accepted. The whole of s[0..len) must be the
 * timestamp. Writes UNIX nanoseconds; VG_OK or VG_EPARSE. */
int vg_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns);

/* ------------------------------------------------------------------------
 * Container runtime lines (cri.c, docker.c).
 */
enum vg_stream { VG_STREAM_STDOUT = 0, VG_STREAM_STDERR = 1, VG_STREAM_OTHER = 2 };

/* "stdout", "stderr" or "other" */
const char *vg_stream_name(enum vg_stream s);

/* One decoded runtime line. msg points into the line (CRI) or into the
 * caller's buffer (Docker). */
struct vg_runtime_line {
    int64_t time_ns;
    enum vg_stream stream;
    bool partial;    /* more of this message follows on a later line */
    const char *msg; /* the content, without the runtime's framing */
    size_t msg_len;
    const char *attrs; /* Docker: the "attrs" object as JSON text, or NULL */
    size_t attrs_len;
};

/* CRI (containerd, CRI-O): "<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <content>".
 * The content is everything after the fourth field's single separating
 * space, kept byte for byte (a trailing '\r' included); a line that ends
 * right after the tag ("... stdout F") has empty content. VG_OK, or
 * VG_EPARSE for anything else (bad time, unknown stream, missing tag). */
int vg_cri_decode(const char *line, size_t len, struct vg_runtime_line *out);

/* Docker json-file: {"log":"...","stream":"stdout","time":"...","attrs":{...}}
 * with the keys in any order and unknown keys ignored. "log" is unescaped
 * into scratch (reset first; it may hold NUL and invalid UTF-8, and \u
 * escapes are turned into UTF-8, lone surrogates into U+FFFD); a log ending
 * in "\n" is complete and the "\n" is dropped, one without it is partial
 * (Docker splits lines over 16 KiB). A missing "stream" is VG_STREAM_OTHER
 * with no error; a missing or bad "time", a missing "log", or anything not a
 * JSON object is VG_EPARSE. VG_ENOMEM when scratch cannot grow. */
int vg_docker_decode(const char *line, size_t len, struct vg_buf *scratch,
                     struct vg_runtime_line *out);

/* ------------------------------------------------------------------------
 * Multiline grouping (multiline.c), one vg_multiline per file and stream,
 * applied after decoding. Rules are compiled once (PCRE2, JIT when
 * available) and shared read-only by every state.
 *
 * Grouping follows a small state machine, as Fluent Bit's multiline
 * parsers do: a line matching a rule of the state "start" opens a group;
 * while a group is open, a line matching a rule of the current state joins
 * it and moves to that rule's next state; any other line closes the group
 * (it is emitted) and is then tried as a start itself; a line that starts
 * nothing is emitted alone. Lines in a group are joined with '\n'.
 *
 * User patterns map onto it: `start` alone means "a line matching start
 * opens a group, every other line continues it"; `continue` alone means "a
 * line matching continue joins the open group, any other opens a new one";
 * both: start opens, continue joins, others stand alone.
 */
struct vg_multiline_rules;

struct vg_multiline_settings {
    const char *preset; /* "java", "python", "go", or NULL */
    const char *start;  /* PCRE2 pattern or NULL */
    const char *cont;   /* PCRE2 pattern or NULL */
    int64_t timeout_ms; /* an open group is emitted after this long without a line */
    uint64_t max_lines; /* a group is emitted when it reaches this many lines */
    uint64_t max_bytes; /* ... or this many bytes (the excess is cut, truncated set) */
};

/* Compiles the rules; a bad pattern or an unknown preset is VG_ECONFIG
 * with a message naming the pattern and the PCRE2 error and offset. */
int vg_multiline_compile(const struct vg_multiline_settings *s, struct vg_multiline_rules **out,
                         struct vg_error *err);
void vg_multiline_rules_destroy(struct vg_multiline_rules *r);

/* A finished group handed to the emit callback; valid during the call only. */
struct vg_multiline_group {
    const char *text; /* lines joined with '\n' */
    size_t len;
    int64_t time_ns;    /* the first line's */
    uint64_t start_off; /* the first line's start_off */
    uint64_t end_off;   /* the last line's end_off */
    uint64_t lines;
    bool truncated; /* max_bytes cut it */
};

/* Returns VG_OK or an error that vg_multiline_push/flush pass back. */
typedef int (*vg_multiline_emit_fn)(void *arg, const struct vg_multiline_group *g);

struct vg_multiline; /* one open group and its state; heap-allocated */

struct vg_multiline *vg_multiline_create(const struct vg_multiline_rules *r);
void vg_multiline_destroy(struct vg_multiline *m);

/* Feeds one decoded line (no '\n'), its time, and the positions of the
 * source it came from (start_off: where it began, end_off: just after it).
 * now_ns is CLOCK_MONOTONIC, remembered for the timeout. Emits zero, one or
 * two groups through fn. VG_OK, VG_ENOMEM, or fn's error (then the line was
 * not taken and may be fed again). */
int vg_multiline_push(struct vg_multiline *m, const char *line, size_t len, int64_t time_ns,
                      uint64_t start_off, uint64_t end_off, int64_t now_ns, vg_multiline_emit_fn fn,
                      void *arg);

/* Emits the open group if its last line came timeout_ms or more before now_ns
 * (force: whatever its age). VG_OK or fn's error. */
int vg_multiline_flush(struct vg_multiline *m, int64_t now_ns, bool force, vg_multiline_emit_fn fn,
                       void *arg);

/* True while a group is open; *start_off is then its first line's start_off
 * (the position a restart must read from so that nothing is lost). */
bool vg_multiline_pending(const struct vg_multiline *m, uint64_t *start_off);

/* Monotonic time at which the open group times out, or INT64_MAX if none. */
int64_t vg_multiline_deadline(const struct vg_multiline *m);

#endif

/*
 * parse.h - decoders shared by collectors: container runtime log lines
 * (CRI, Docker json-file), timestamps and multiline grouping. The log
 * parsers (regex, json, logfmt, klog, syslog) are in parser.h.
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

/* How vg_time_parse reads a time. */
enum vg_time_mode {
    VG_TIME_AUTO,     /* see vg_time_parse */
    VG_TIME_STRPTIME, /* the format in fmt */
    VG_TIME_EPOCH,    /* seconds since the epoch, an optional fraction */
    VG_TIME_EPOCH_MS, /* milliseconds, ... */
    VG_TIME_EPOCH_US,
    VG_TIME_EPOCH_NS,
};

#define VG_TIME_FORMAT_MAX 128

/* A checked time format; embedded, nothing to free. */
struct vg_time_format {
    enum vg_time_mode mode;
    int32_t offset_s; /* the zone of times whose text gives none, seconds east
                         of UTC (0, UTC, after init); never the host's zone */
    char fmt[VG_TIME_FORMAT_MAX];
};

/*
 * Checks fmt and fills f. NULL, "", "auto", "rfc3339" and "iso8601" are
 * VG_TIME_AUTO; "epoch", "epoch_ms", "epoch_us" and "epoch_ns" the epoch
 * modes; anything else a strptime format of these conversions:
 *   %Y year (up to 4 digits)  %y 2 digits (69-99: 19xx)  %m month  %d %e day
 *   %j day of year  %H %k hour  %I %l 12-hour hour, with %p AM/PM
 *   %M minute  %S second (60: a leap second, the next minute's first)
 *   %f %L %N a fraction of the second, 1 or more digits (9 are kept)
 *   %b %h %B month name  %a %A weekday name (checked against the date)
 *   %z Z, UTC, GMT, +hh, +hhmm or +hh:mm  %Z Z, UTC or GMT
 *   %s seconds since the epoch  %T %H:%M:%S  %R %H:%M  %F %Y-%m-%d
 *   %D %m/%d/%y  %n %t whitespace  %% a '%'
 * Names are English, in any case; numbers take 1 up to their digits. A
 * space in fmt takes any run of spaces and tabs, none included; other bytes
 * must be there as they are, except that a '.' or ',' right before %f, %L
 * or %N takes either mark and, with the fraction, may be absent (Go drops a
 * zero fraction; Java and Python write a comma). VG_OK, or VG_ECONFIG (an
 * unknown conversion, none at all, or longer than VG_TIME_FORMAT_MAX - 1).
 */
int vg_time_format_init(struct vg_time_format *f, const char *fmt, struct vg_error *err);

/*
 * Reads the time in s[0..len) (trailing spaces allowed) as f says, into
 * UNIX nanoseconds; *out_ns is written only on success. A text without a
 * zone is in f->offset_s. now_ns (CLOCK_REALTIME) stands in for what the
 * text leaves out: without a year, the latest year that puts the time at
 * most a day ahead of now (logs come from the past: "Dec 31" read on
 * January 1 is last year's, "Jan 1" read late on December 31 next year's);
 * without a date, whichever of yesterday, today and tomorrow is nearest.
 *
 * VG_TIME_AUTO takes, in that order: epoch numbers (up to 11 integer digits
 * seconds, up to 14 milliseconds, up to 17 microseconds, more nanoseconds;
 * a fraction allowed); RFC 3339 and the variants logs write ("2026-12-02",
 * a space for the 'T', no seconds, a comma before the fraction, no zone,
 * +hh or +hhmm, a space before the zone, "+0000 UTC"); the common log
 * format "02/Dec/2026:14:05:06 +0000"; RFC 1123 "Wed, 02 Dec 2026 14:05:06
 * GMT"; asctime "Wed Dec  2 14:05:06 2026"; syslog "Dec  2 14:05:06[.frac]";
 * Go's log "2026/12/02 14:05:06[.frac]"; Tomcat "02-Dec-2026 14:05:06.123".
 *
 * Dates that do not exist (February 30, a weekday that is not the date's),
 * out-of-range fields and instants outside int64 nanoseconds are refused.
 * VG_OK or VG_EPARSE.
 */
int vg_time_parse(const struct vg_time_format *f, const char *s, size_t len, int64_t now_ns,
                  int64_t *out_ns);

/* A zone offset as %z reads it ("+01:00", "-0500", "Z", "UTC"), the whole
 * string, into seconds east of UTC. VG_OK or VG_EPARSE. */
int vg_time_offset_parse(const char *s, int32_t *out_s);

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

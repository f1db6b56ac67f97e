/*
 * vigil.h - the one header a plugin needs.
 *
 * A collector or output is one const descriptor (struct vg_collector_ops or
 * struct vg_output_ops) with an option table; the engine allocates the
 * plugin's context (ops->ctx_size bytes), fills it from the option table and
 * then calls init. Everything else in a plugin is static.
 */
#ifndef VIGIL_H
#define VIGIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_VERSION "0.1.0"

#define VG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define VG_SENTINEL          __attribute__((sentinel))
#define VG_ARRAY_LEN(a)      (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * Status codes: VG_OK or a negative VG_E* value.
 */
enum vg_status {
    VG_OK = 0,
    VG_ENOMEM = -1,  /* allocation failed */
    VG_EINVAL = -2,  /* bad argument */
    VG_EIO = -3,     /* a system call failed; errno-based detail in the message */
    VG_ECONFIG = -4, /* configuration error */
    VG_EPARSE = -5,  /* malformed input (file, line, reply) */
    VG_EAGAIN = -6,  /* not now: queue full, would block */
    VG_ENOENT = -7,  /* not found */
    VG_EBUSY = -8,   /* resource in use (a bound port) */
    VG_ESTOP = -9,   /* shutting down */
};

const char *vg_strerror(int code);

/* An error with its message, filled by the callee; the caller owns it. */
#define VG_ERROR_MAX 512
struct vg_error {
    int code;
    char msg[VG_ERROR_MAX];
};

/* Sets code and message; returns code so that `return vg_error_set(...)`. */
int vg_error_set(struct vg_error *err, int code, const char *fmt, ...) VG_PRINTF(3, 4);

/* ------------------------------------------------------------------------
 * Growable byte buffer. data is NUL-terminated whenever len < cap.
 */
struct vg_buf {
    char *data;
    size_t len;
    size_t cap;
};

void vg_buf_init(struct vg_buf *b);
void vg_buf_reset(struct vg_buf *b); /* len = 0, memory kept */
void vg_buf_free(struct vg_buf *b);
int vg_buf_reserve(struct vg_buf *b, size_t extra);
int vg_buf_append(struct vg_buf *b, const void *p, size_t n);
int vg_buf_puts(struct vg_buf *b, const char *s);
int vg_buf_putc(struct vg_buf *b, char c);
int vg_buf_printf(struct vg_buf *b, const char *fmt, ...) VG_PRINTF(2, 3);
/* Appends a double the way Prometheus prints it: NaN, +Inf, -Inf, shortest round-trip. */
int vg_buf_put_double(struct vg_buf *b, double v);
/* Appends s[0..n) as a quoted JSON string: control bytes and NUL escaped,
 * invalid UTF-8 replaced by U+FFFD. */
int vg_buf_json_string(struct vg_buf *b, const char *s, size_t n);
/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1): 1 to 4, or 0
 * when s does not start one (overlong forms and surrogates included). */
size_t vg_utf8_seq(const unsigned char *s, size_t n);

/* Grows the array *arr of elements of `size` bytes so that it holds at least
 * `need` (capacity doubles, from 16); *arr and *cap are updated. VG_OK or
 * VG_ENOMEM (then *arr is unchanged). */
int vg_grow(void **arr, size_t *cap, size_t need, size_t size);

/* Writes all n bytes to fd, through short writes and EINTR; a non-blocking
 * fd is waited for (up to 1 s per stall). Returns VG_OK, or VG_EIO with
 * errno set (a zero-byte write counts as ENOSPC). */
int vg_write_all(int fd, const void *p, size_t n);
/* mkdir -p: creates dir and every missing folder above it (mode 0750). An
 * existing directory is fine. Returns VG_OK, VG_EINVAL for an empty path or
 * one of PATH_MAX bytes or more, or VG_EIO with errno set (ENOTDIR when
 * something other than a directory is in the way). */
int vg_mkdirs(const char *dir);

/* ------------------------------------------------------------------------
 * Hashing: 64-bit FNV-1a, for hash tables (not for anything an attacker
 * should not be able to collide).
 */
#define VG_FNV1A_INIT UINT64_C(14695981039346656037)
uint64_t vg_fnv1a(const void *p, size_t n); /* of p[0..n) */
/* Continues a hash h (start with VG_FNV1A_INIT) over p[0..n). */
uint64_t vg_fnv1a_more(uint64_t h, const void *p, size_t n);
/* A hash of p[0..n) for in-memory tables, eight bytes a step: for long
 * keys (a series' labels) where FNV-1a's byte a step shows in profiles.
 * Its values may change between versions: never store them. */
uint64_t vg_hash_bytes(const void *p, size_t n);

/* ------------------------------------------------------------------------
 * Time.
 */
int64_t vg_now_ns(void);  /* CLOCK_REALTIME */
int64_t vg_mono_ns(void); /* CLOCK_MONOTONIC */
#define VG_NS_PER_MS  INT64_C(1000000)
#define VG_NS_PER_SEC INT64_C(1000000000)

/* ms in ns, saturating at INT64_MAX / INT64_MIN instead of overflowing. */
static inline int64_t vg_ms_to_ns_sat(int64_t ms)
{
    if (ms > INT64_MAX / VG_NS_PER_MS)
        return INT64_MAX;
    if (ms < INT64_MIN / VG_NS_PER_MS)
        return INT64_MIN;
    return ms * VG_NS_PER_MS;
}

/* a + b, saturating at INT64_MAX / INT64_MIN instead of overflowing. */
static inline int64_t vg_add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* ------------------------------------------------------------------------
 * Logging of the agent itself: leveled, logfmt (default) or JSON, to stderr.
 * Every line names the plugin and the instance:
 *   ts=2026-11-24T10:00:00.123Z level=error plugin=file instance=out msg="..."
 * Never pass secrets in a message.
 */
enum vg_log_level { VG_LOG_DEBUG = 0, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR };

void vg_log_setup(enum vg_log_level level, bool json);
int vg_log_level_parse(const char *s, enum vg_log_level *out);
bool vg_log_enabled(enum vg_log_level level);
void vg_log(enum vg_log_level level, const char *plugin, const char *instance, const char *fmt, ...)
    VG_PRINTF(4, 5);
void vg_logv(enum vg_log_level level, const char *plugin, const char *instance, const char *fmt,
             va_list ap) VG_PRINTF(4, 0);
/* The text of an errno value for a log line: thread-safe strerror (a
 * per-thread buffer, valid until the thread's next call). The only use of
 * strerror allowed outside log.c (tests/lint/banned.py). */
const char *vg_errno_str(int errnum);

/*
 * A rate-limited complaint: at most one line per interval for the same
 * condition, with a count of the lines held back, so that a failing plugin
 * never fills the disk it watches. Zero-initialise; interval 0 means 60 s.
 */
struct vg_complain {
    int64_t last_ns;
    int64_t interval_ns;
    uint64_t suppressed;
    bool active;
};
void vg_complain(struct vg_complain *c, enum vg_log_level level, const char *plugin,
                 const char *instance, const char *fmt, ...) VG_PRINTF(5, 6);
/* Logs "recovered" once when a complaint was active, and clears it. */
void vg_complain_clear(struct vg_complain *c, const char *plugin, const char *instance,
                       const char *what);

/* ------------------------------------------------------------------------
 * Secrets in messages. Every log line, configuration error and output
 * failure goes through vg_secret_mask, so a secret reaches no message even
 * by a path nobody foresaw (a library's error text). Values of VG_OPT_SECRET
 * options are registered by the option code; a plugin registers the
 * secrets it finds elsewhere (a pass-through map) with vg_secret_add.
 */
#define VG_SECRET_MASK "***"
/* Shorter registered values are not masked everywhere: masking every "ab"
 * would garble messages. Mask them where they are known (`also`). */
#define VG_SECRET_MIN 4
/* Registers a copy of value (any thread); empty, NULL and short values are
 * ignored, a value already there is kept once. VG_OK or VG_ENOMEM. */
int vg_secret_add(const char *value);
/* Forgets every registered value (tests). */
void vg_secret_forget_all(void);
/* Copies text into out (size bytes, NUL-terminated, cut to fit) with
 * VG_SECRET_MASK for every registered value, for `also` (a secret of any
 * length known to the caller; may be NULL) and for the userinfo of every
 * URL ("admin:pw" in "ftp://admin:pw@host:21"). Thread-safe. Returns out. */
const char *vg_secret_mask(const char *text, const char *also, char *out, size_t size);

/* ------------------------------------------------------------------------
 * Configuration tree (YAML via libyaml). Scalars hold text with ${VAR} and
 * ${VAR:-default} already expanded. Nodes live as long as their vg_config.
 */
enum vg_node_kind { VG_NODE_SCALAR, VG_NODE_MAP, VG_NODE_SEQ };

struct vg_config_node {
    enum vg_node_kind kind;
    const char *file;                /* where it came from, for messages */
    int line;                        /* 1-based line of the node (of its key in a map) */
    int col;                         /* 1-based column */
    char *key;                       /* the key, when this node is a map value */
    char *value;                     /* scalar text; NULL for maps and sequences */
    bool quoted;                     /* scalar was quoted in the source */
    struct vg_config_node *children; /* map entries or sequence items, in order */
    struct vg_config_node *next;     /* next sibling */
    size_t n_children;
};

/* The value under key in a map node, or NULL. */
const struct vg_config_node *vg_node_get(const struct vg_config_node *map, const char *key);

/* ------------------------------------------------------------------------
 * Option tables. Each plugin declares its options once; defaults, type
 * checks, unknown-key errors and --list-options all come from the table.
 *
 * A name with a dot ("http.listen") is an option inside a nested map
 * ("http: { listen: ... }").
 */
enum vg_opt_type {
    VG_OPT_STR,      /* char * (malloc'd; freed by vg_options_free) */
    VG_OPT_INT,      /* int64_t */
    VG_OPT_DOUBLE,   /* double */
    VG_OPT_BOOL,     /* bool: true/false/yes/no/on/off */
    VG_OPT_DURATION, /* int64_t milliseconds: "250ms", "15s", "5m", "2h", "1h30m" */
    VG_OPT_SIZE,     /* uint64_t bytes: "512", "64KiB", "5MiB", "1GiB" (also KB MB GB as 1000s) */
    VG_OPT_STRLIST,  /* struct vg_strlist: a sequence of scalars, or one scalar */
    VG_OPT_ENUM,     /* char *: one of the '|'-separated words in choices */
    VG_OPT_NODE,     /* const struct vg_config_node *: the raw subtree, for the plugin to read */
};

struct vg_strlist {
    char **v;
    size_t n;
};

#define VG_OPT_REQUIRED 0x1u /* must be given */
#define VG_OPT_SECRET                                                                              \
    0x2u /* VG_OPT_STR only: also accepted as NAME_file (contents, trailing                        \
            newline removed); the value is never printed */
/* INT, DOUBLE, DURATION (ms), SIZE: the value must be >= min / <= max. A
 * DURATION is always at most VG_OPT_DURATION_CAP_MS and a SIZE at most
 * VG_OPT_SIZE_CAP, whatever max says, so that no duration overflows once in
 * nanoseconds. */
#define VG_OPT_MIN             0x4u
#define VG_OPT_MAX             0x8u
#define VG_OPT_RANGE           (VG_OPT_MIN | VG_OPT_MAX)
#define VG_OPT_DURATION_CAP_MS (INT64_C(87600) * 3600 * 1000) /* 10 years (87600h) */
#define VG_OPT_SIZE_CAP        (INT64_C(1) << 40)             /* 1TiB */

struct vg_option {
    const char *name;
    enum vg_opt_type type;
    const char *def;     /* default, in config syntax; NULL: zero / empty */
    size_t offset;       /* offsetof(plugin context, field) */
    const char *doc;     /* one line */
    unsigned flags;      /* VG_OPT_* flags */
    const char *choices; /* VG_OPT_ENUM: "cri|docker|raw|auto" */
    int64_t min;         /* with VG_OPT_MIN: least value (ms for a duration) */
    int64_t max;         /* with VG_OPT_MAX: greatest value */
    /* A default that depends on where the agent runs (the user, the
     * environment): writes it in config syntax into buf and returns buf.
     * Used instead of def, by the defaults and by --list-options alike. */
    const char *(*def_fn)(char *buf, size_t size);
};
/* Frees what the table allocated in ctx (strings, lists); ctx may be NULL.
 * Defined with the option code in config/options.c. */
void vg_options_free(const struct vg_option *table, void *ctx);
/* Writes a duration of ms milliseconds as a configuration would: "15s",
 * "24h", "1500ms", "0", for log lines. Defined in config/options.c. */
void vg_duration_text(int64_t ms, char *out, size_t size);

/* Reads a secret from a file as NAME_file options do: at most 64 KiB, no
 * NUL byte, trailing newlines removed, into a malloc'd string (*out).
 * A FIFO, device or directory is refused (opened non-blocking, so a FIFO
 * with no writer never hangs). VG_OK, VG_ENOMEM, or VG_EPARSE with why
 * naming the problem (never the content). */
int vg_read_secret_file(const char *path, char **out, char *why, size_t why_size);

/* What a plugin's check callback reports through: the plan builder's error
 * list and the entry being checked. */
struct vg_check;
/* Reports one problem found by a check callback, as "FILE:LINE: where:
 * message" at the line of option (a dotted name such as "multiline.start")
 * when the entry gives it, else at the entry's line. option may be NULL. */
void vg_check_error(struct vg_check *chk, const char *option, const char *fmt, ...) VG_PRINTF(3, 4);
/* Reports what will not work on this host as written (a folder that does
 * not exist yet, say): a warning, "FILE:LINE: warning: where: message",
 * printed by --check-config and logged at start; the config stays valid. */
void vg_check_warn(struct vg_check *chk, const char *option, const char *fmt, ...) VG_PRINTF(3, 4);
/* Warns (vg_check_warn) when path is not an existing folder; why says what
 * that means for the plugin ("no file matches until it does"). */
void vg_check_folder(struct vg_check *chk, const char *option, const char *path, const char *why);
/* vg_check_folder on the folder that path[0..len) lies in (its part up to
 * the last '/'); nothing for a name without a '/'. */
void vg_check_parent_folder(struct vg_check *chk, const char *option, const char *path, size_t len,
                            const char *why);

/* ------------------------------------------------------------------------
 * Metric types and labels.
 */
enum vg_metric_type {
    VG_METRIC_COUNTER,
    VG_METRIC_GAUGE,
    VG_METRIC_HISTOGRAM,
    VG_METRIC_SUMMARY,
    VG_METRIC_UNTYPED,
};

struct vg_label {
    const char *name;
    const char *value;
};

/* ------------------------------------------------------------------------
 * Records (log events). Records and their fields live in the arena of the
 * batch they belong to: one allocation per batch, not per field.
 */
enum vg_field_type { VG_FIELD_STR, VG_FIELD_INT, VG_FIELD_DOUBLE, VG_FIELD_BOOL, VG_FIELD_JSON };

struct vg_field {
    struct vg_field *next;
    const char *key; /* NUL-terminated */
    enum vg_field_type type;
    bool in_body; /* set by the core: the value is bytes of the body as a parser read it */
    union {
        struct {
            const char *ptr; /* may hold NUL and invalid UTF-8 */
            size_t len;
        } s; /* VG_FIELD_STR and VG_FIELD_JSON (JSON text) */
        int64_t i;
        double d;
        bool b;
    } v;
};

struct vg_record {
    int64_t time_ns;  /* event time, UNIX ns */
    const char *body; /* raw body, may hold NUL and invalid UTF-8 */
    size_t body_len;
    struct vg_field *fields; /* in insertion order */
    struct vg_field *fields_tail;
    uint64_t source_id; /* collector-defined source (a file identity), 0 if none */
    uint64_t offset;    /* collector-defined position to resume from once this record is
                           delivered (never past data still pending in the collector) */
    uint64_t position;  /* collector-defined unique position of this record in its source
                           (a file: the end of its last line); with the node and source_id
                           it names the record across retries and restarts */
    uint64_t key_bits;  /* set by the core: one bit per key present (a small hash), so that
                           a key that is not there is known without a walk */
};

struct vg_batch; /* a sealed group of records handed to outputs; see pipeline.h */

/* Read access to a batch for outputs (worker thread). */
size_t vg_batch_count(const struct vg_batch *b);
const struct vg_record *vg_batch_record(const struct vg_batch *b, size_t i);
/* The field with that key, or NULL. */
const struct vg_field *vg_record_field(const struct vg_record *r, const char *key);
/* Appends the record as one JSON object (no newline):
 * {"time":"<RFC3339Nano>","body":"...",<fields>} */
int vg_record_to_json(const struct vg_record *r, struct vg_buf *out);

/* The shape records are written in: an output's `record_schema`
 * (record_schema.c describes each one). */
enum vg_record_schema {
    VG_RECORD_SCHEMA_DEFAULT = 0, /* not configured: the output's own, flat for all but
                                     elasticsearch (VG_RECORD_SCHEMA_ES) */
    VG_RECORD_SCHEMA_FLAT,        /* vg_record_to_json */
    VG_RECORD_SCHEMA_ECS,         /* Elastic Common Schema, nested objects */
    VG_RECORD_SCHEMA_OTEL,        /* OpenTelemetry log data model */
    VG_RECORD_SCHEMA_ES,          /* {"@timestamp":...,"message":...,<fields>} */
};
/* The schema a `record_schema` value names (flat, ecs, otel); NULL or any
 * other word: VG_RECORD_SCHEMA_DEFAULT. */
enum vg_record_schema vg_record_schema_parse(const char *name);
/* Appends r as one JSON object (no newline) in schema, DEFAULT as FLAT.
 * Every key appears once in an object, except in FLAT (as
 * vg_record_to_json says). Returns VG_OK or VG_ENOMEM (out then holds a
 * partial object). */
int vg_record_encode(const struct vg_record *r, enum vg_record_schema schema, struct vg_buf *out);
/* Appends a field's value as JSON (NaN and infinities as null). */
int vg_field_to_json(const struct vg_field *f, struct vg_buf *out);
/* RFC 3339 UTC with nanoseconds, 30 bytes: 2026-11-24T10:00:00.123456789Z
 * (buf >= 31; shorter buffers get a cut copy). */
void vg_record_format_time(int64_t time_ns, char *buf, size_t size);

/* ------------------------------------------------------------------------
 * Emitting: a collector writes samples and records through a vg_emit that
 * the engine hands to collect(). Samples are staged and committed by the
 * engine when collect() returns: a series not emitted in a collection
 * disappears from /metrics. Strings are copied; the caller keeps its own.
 */
struct vg_emit;

/* One sample. suffix: "" for counters, gauges and untyped; "_bucket",
 * "_sum", "_count" for histogram and summary parts (a summary quantile has
 * suffix "" and a "quantile" label). family is the name as the 0.0.4 text
 * format shows it (counters end in _total). help may be NULL. */
int vg_emit_series(struct vg_emit *e, const char *family, enum vg_metric_type type,
                   const char *help, const char *suffix, const struct vg_label *labels,
                   size_t n_labels, double value);

/* Shorthands: label name/value pairs follow the value, then NULL. */
int vg_emit_gauge(struct vg_emit *e, const char *family, const char *help, double value,
                  ...) VG_SENTINEL;
int vg_emit_counter(struct vg_emit *e, const char *family, const char *help, double value,
                    ...) VG_SENTINEL;

/* A histogram: n_buckets finite upper bounds (ascending) with cumulative
 * counts; the +Inf bucket is `count`. */
int vg_emit_histogram(struct vg_emit *e, const char *family, const char *help,
                      const struct vg_label *labels, size_t n_labels, const double *upper_bounds,
                      const uint64_t *cumulative_counts, size_t n_buckets, double sum,
                      uint64_t count);

/* Starts a record in the current batch; body is copied. NULL on out of
 * memory. Fields are added until the next vg_emit_record call. */
struct vg_record *vg_emit_record(struct vg_emit *e, int64_t time_ns, const char *body,
                                 size_t body_len);
/* Takes back r, the record started last, with its fields (a collector that
 * could not complete it). VG_OK, or VG_EINVAL when r is not the last one. */
int vg_emit_record_cancel(struct vg_emit *e, struct vg_record *r);
int vg_record_set_str(struct vg_emit *e, struct vg_record *r, const char *key, const char *val,
                      size_t len);
int vg_record_set_json(struct vg_emit *e, struct vg_record *r, const char *key, const char *json,
                       size_t len);
int vg_record_set_int(struct vg_emit *e, struct vg_record *r, const char *key, int64_t v);
int vg_record_set_double(struct vg_emit *e, struct vg_record *r, const char *key, double v);
int vg_record_set_bool(struct vg_emit *e, struct vg_record *r, const char *key, bool v);
/* True while the outputs fed by this collector are full: stop reading and
 * come back at the next collect; nothing emitted is ever lost. */
bool vg_emit_paused(const struct vg_emit *e);

/* ------------------------------------------------------------------------
 * Collectors.
 */
struct vg_collector;

/* Delivery of a collector's records, reported on the engine thread: every
 * record of that source up to `offset` reached every output it was routed
 * to (or the dead-letter file). */
struct vg_ack {
    uint64_t source_id;
    uint64_t offset;
    uint64_t records; /* records delivered by this ack */
};

struct vg_collector_ops {
    const char *name;                /* the `type:` in the config */
    const char *doc;                 /* one line for --list-options */
    const struct vg_option *options; /* terminated by { NULL } */
    size_t ctx_size;                 /* bytes of the context the options fill */
    int64_t default_interval_ms;     /* interval when `interval:` is not given */
    bool records;                    /* it emits records (outputs take them through `inputs`) */
    /* Optional: checks what the option table cannot declare (relations
     * between options, patterns, URLs) once the options are applied, with no
     * side effect. Reports each problem with vg_check_error (which fails the
     * entry) and goes on to the next; returns VG_OK, or VG_ECONFIG with or
     * without a message. Run by the plan builder: --check-config and a start both
     * refuse what it refuses. */
    int (*check)(const void *ctx, struct vg_check *chk);
    int (*init)(struct vg_collector *c, const struct vg_config_node *cfg, struct vg_error *err);
    /* Returns VG_OK, or an error (the engine backs the interval off and
     * rate-limits the log); may call vg_collector_fail to say why. */
    int (*collect)(struct vg_collector *c, struct vg_emit *emit);
    void (*ack)(struct vg_collector *c, const struct vg_ack *ack); /* optional */
    void (*destroy)(struct vg_collector *c);                       /* optional */
};

struct vg_collector {
    const struct vg_collector_ops *ops;
    char *name;            /* instance: the `name:` option, else the type */
    void *ctx;             /* ops->ctx_size bytes, filled from the option table */
    int64_t interval_ms;   /* from `interval:` or the default */
    const char *node_name; /* agent.node_name, or the host name */
    const char *state_dir; /* agent.state_dir: where a collector keeps its state */
    void *priv;            /* the engine's own */
};

/* Records why the current collect failed (shown in the rate-limited log). */
void vg_collector_fail(struct vg_collector *c, const char *fmt, ...) VG_PRINTF(2, 3);

/* From init, collect, ack or destroy (engine thread), by a collector that
 * keeps positions in state_dir: whether its checkpoints can be written.
 * true once they are read at start or written; false when a write failed
 * (counted in vigil_checkpoint_errors_total{collector}; /readyz fails until
 * a later report says true). The collector logs the failure itself. */
void vg_collector_checkpoint_state(struct vg_collector *c, bool ok);

/* From init or collect (engine thread): the engine watches fd and calls
 * collect soon after it turns readable. Level-triggered: collect must drain
 * what made it readable, even while paused. The collector closes fd itself
 * after vg_collector_unwatch_fd or at destroy. VG_OK or VG_EIO. */
int vg_collector_watch_fd(struct vg_collector *c, int fd);
void vg_collector_unwatch_fd(struct vg_collector *c, int fd);

/* From collect: asks for the next collect within delay_ms rather than at the
 * interval (0: as soon as the loop is free), such as when a read was cut
 * short to keep the loop responsive or a timeout falls due. A collect that
 * ends paused (vg_emit_paused) is called again as soon as acknowledgements
 * make room, without asking. */
void vg_collector_wake(struct vg_collector *c, int64_t delay_ms);

/* ------------------------------------------------------------------------
 * Outputs. send() runs on the output's own worker thread and answers ok,
 * retry or drop; the engine owns backoff, retries, dead letters and metrics.
 */
enum vg_send_result {
    VG_SEND_OK,    /* delivered; acknowledge */
    VG_SEND_RETRY, /* transient failure; the engine retries the same batch with backoff */
    VG_SEND_DROP,  /* permanent failure; the batch goes to the dead-letter file */
    VG_SEND_STOP,  /* the output cannot work until someone acts (refused credentials):
                      it is marked down, /readyz fails, and the batch stays queued and is
                      tried again at retry_backoff_max */
};

struct vg_output;

struct vg_output_ops {
    const char *name;
    const char *doc;
    const struct vg_option *options;
    size_t ctx_size;
    int (*check)(const void *ctx, struct vg_check *chk); /* optional: as for collectors */
    int (*init)(struct vg_output *o, const struct vg_config_node *cfg, struct vg_error *err);
    enum vg_send_result (*send)(struct vg_output *o, struct vg_batch *b);
    void (*reopen)(struct vg_output *o); /* optional: SIGHUP, on the worker thread */
    /* Optional: called on the worker thread about once a second while no
     * batch waits, so that a client library's callbacks (statistics, errors)
     * are served and do not pile up in memory while the output is idle. */
    void (*idle)(struct vg_output *o);
    /* Most queued batches handed to one send() as one batch (records in
     * order); 0 or 1: one at a time. Fewer requests, fsyncs, round trips. */
    unsigned max_batches_per_send;
    void (*destroy)(struct vg_output *o); /* optional */
};

struct vg_output {
    const struct vg_output_ops *ops;
    char *name;
    void *ctx;
    /* the common option record_schema, set before init; what the output
     * writes records in (vg_record_encode) */
    enum vg_record_schema record_schema;
    void *priv; /* the engine's own */
};

/* Why the current send failed: logged (rate-limited) and written with dead letters. */
void vg_output_fail(struct vg_output *o, const char *fmt, ...) VG_PRINTF(2, 3);
/* From send(): record i of b failed for good; it goes to the dead-letter file
 * with the reason and is counted as dropped, while send() may still answer OK
 * for the rest. */
void vg_output_dead_letter(struct vg_output *o, struct vg_batch *b, size_t i, const char *reason);

/* Per-record progress inside a batch, kept across the retries of that
 * batch (worker thread, from send()): a record marked delivered or
 * dead-lettered is done; after a RETRY answer, send() is called again with
 * the same batch and sends only the records still pending. An OK answer
 * makes every pending record delivered. */
void vg_output_delivered(struct vg_output *o, struct vg_batch *b, size_t i);
/* True while record i is neither delivered nor dead-lettered (always, for
 * an output that no engine runs, such as one a unit test drives). */
bool vg_output_pending(struct vg_output *o, const struct vg_batch *b, size_t i);

/* Accounting of the wire (worker thread): bytes of records encoded (raw)
 * and as sent (after compression), and the duration of one request. */
void vg_output_count_bytes(struct vg_output *o, uint64_t raw, uint64_t wire);
void vg_output_observe_request(struct vg_output *o, double seconds);

/* From send(): a reply of the peer passed the most the output reads of one
 * and was cut off (that request failed and its records stay pending);
 * counted in vigil_output_reply_truncated_total. */
void vg_output_count_reply_truncated(struct vg_output *o);

/* True once the agent is stopping and the shutdown timeout has passed
 * (worker thread): a send() that waits on the network checks it in its
 * loop and returns what it has (VG_SEND_RETRY keeps the rest
 * unacknowledged, to be sent again after the restart). */
bool vg_output_stopping(struct vg_output *o);

/* ------------------------------------------------------------------------
 * Line streams: NDJSON to a descriptor whose reader may stop reading (a
 * pipe, FIFO, socket or terminal), for outputs such as stdout. A send never
 * waits more than VG_OSTREAM_STALL_MS without progress, nor past the
 * shutdown deadline (vg_output_stopping), and never blocks in write(2):
 * standard output is not made non-blocking for the processes that share
 * it. What was written before a stall is kept: the records whose lines went
 * out are marked delivered (vg_output_delivered), and the rest of a line cut
 * short is written first at the next send, so a retry writes no line twice
 * and leaves none broken. Worker thread only.
 */
#define VG_OSTREAM_STALL_MS 1000

enum vg_ostream_kind {
    VG_OSTREAM_PLAIN,    /* a regular file or block device: plain writes */
    VG_OSTREAM_NONBLOCK, /* a non-blocking description of our own (FIFO, pipe, device) */
    VG_OSTREAM_SOCKET,   /* a socket: send(2) with MSG_DONTWAIT | MSG_NOSIGNAL */
    VG_OSTREAM_POLLED,   /* a shared blocking pipe or device: poll(2), then PIPE_BUF at most */
};

struct vg_ostream {
    int fd;     /* where the lines go; -1 while detached */
    int own_fd; /* a description vg_ostream_attach opened, or -1 */
    enum vg_ostream_kind kind;
    struct vg_buf lines; /* the lines of the current send */
    struct vg_buf rest;  /* the line a stall cut short, up to its end */
    size_t rest_off;     /* bytes of rest already written */
};

void vg_ostream_init(struct vg_ostream *s);
/* Writes to fd from now on; fd stays the caller's. shared: other processes
 * may write to it too (standard output): a FIFO or device is then written
 * through a non-blocking description of its own (opened through
 * /proc/self/fd), and polled before each write where that cannot be
 * opened. A descriptor that is not shared is made non-blocking unless it
 * is a regular file. Returns the kind chosen. */
enum vg_ostream_kind vg_ostream_attach(struct vg_ostream *s, int fd, bool shared);
/* Forgets fd and the rest of a cut line (the reader it was for is gone). */
void vg_ostream_detach(struct vg_ostream *s);
void vg_ostream_free(struct vg_ostream *s);
/* Writes the rest of a cut line, then the pending records of b as one JSON
 * line each (vg_record_encode in o->record_schema), counting the bytes written
 * (vg_output_count_bytes). VG_OK when everything is written; otherwise
 * what was written is kept (see above) and the answer says why it stopped:
 * VG_EAGAIN (a stall: no progress for VG_OSTREAM_STALL_MS), VG_ESTOP (the
 * agent is stopping), VG_ENOMEM, or VG_EIO with errno set (EPIPE: the
 * reader went away). */
int vg_ostream_send(struct vg_ostream *s, struct vg_output *o, struct vg_batch *b);

/* The node this agent runs as (agent.node_name or the host name). */
const char *vg_node_name(void);

#endif /* VIGIL_H */

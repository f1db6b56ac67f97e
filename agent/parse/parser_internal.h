/*
 * parser_internal.h - what parser.c shares with the file of each parser
 * type (regex.c, json_parser.c, logfmt.c, klog.c, syslog.c, level.c):
 * the parser object, one line's run, and the helpers that turn a key and
 * its text into a field (time_key, types) so that every type does it alike.
 */
#ifndef VG_PARSER_INTERNAL_H
#define VG_PARSER_INTERNAL_H

#include "parse.h"
#include "parser.h"

struct vg_parse_ctx;

/* What a parser type is: parser.c finds it by name. */
struct vg_parser_kind {
    const char *name;
    unsigned takes; /* VG_PARSER_TAKES_*: the settings it accepts beyond the common ones */
    /* The names of the fields it always emits (klog, syslog), looked up
     * once into p->fixed[0..n_fixed); NULL when its keys come from the line. */
    const char *const *fixed;
    size_t n_fixed;
    /* Reads the type's own settings into p (p->impl); VG_OK, VG_ECONFIG or
     * VG_ENOMEM with err set. fini is called after a failed init too. Both
     * may be NULL. */
    int (*init)(struct vg_parser *p, const struct vg_parser_settings *s, struct vg_error *err);
    void (*fini)(struct vg_parser *p);
    /* Parses one line; see vg_parser_run. Sets VG_PARSE_NOMATCH itself. */
    int (*run)(struct vg_parse_ctx *c, const char *line, size_t len);
};

#define VG_PARSER_TAKES_PATTERN 0x1u /* pattern, match_limit */
#define VG_PARSER_TAKES_JSON    0x2u /* strict, merge_into */

extern const struct vg_parser_kind vg_parser_kind_regex;
extern const struct vg_parser_kind vg_parser_kind_json;
extern const struct vg_parser_kind vg_parser_kind_logfmt;
extern const struct vg_parser_kind vg_parser_kind_klog;
extern const struct vg_parser_kind vg_parser_kind_syslog_rfc3164;
extern const struct vg_parser_kind vg_parser_kind_syslog_rfc5424;
extern const struct vg_parser_kind vg_parser_kind_level;

/* A field found in a line and kept until the whole line is known to match
 * (json, logfmt), so that a line that fails half-way emits nothing. */
struct vg_parser_span {
    const char *key;
    size_t key_len;
    const char *val;
    size_t val_len;
    int kind; /* the type's own tag (a JSON kind, quoted or bare) */
};

/* How a key's text becomes a field, looked up once per key. */
struct vg_parser_key {
    enum vg_field_type type; /* from types; VG_FIELD_STR when not listed */
    bool is_time;            /* it is time_key */
};

/* Most fields of a type with fixed field names (klog, syslog). */
#define VG_PARSER_FIXED_MAX 16

struct vg_parser {
    const struct vg_parser_kind *kind;
    char *name;
    struct vg_parser_type *types; /* keys owned */
    size_t n_types;
    char *time_key; /* NULL when none */
    size_t time_key_len;
    struct vg_time_format time_fmt;
    bool time_keep;
    uint32_t match_limit;
    bool strict;
    char *merge_into;
    struct vg_buf key_buf; /* unescaped keys, reused line after line */
    struct vg_buf val_buf; /* unescaped values */
    struct vg_parser_span *spans;
    size_t spans_cap;
    struct vg_parser_stats stats;
    struct vg_parser_key fixed[VG_PARSER_FIXED_MAX]; /* see vg_parser_kind.fixed */
    void *impl;                                      /* the type's own state */
};

/* One run of a parser over one line. */
struct vg_parse_ctx {
    struct vg_parser *p;
    int64_t now_ns;
    vg_parse_emit_fn fn;
    void *arg;
    struct vg_parse_result *res;
    size_t n_spans;  /* spans used by this line */
    bool emit_error; /* fn failed: its code is the run's, whatever it is */
};

/* What p does with the text of key[0..key_len). */
void vg_parser_key_of(const struct vg_parser *p, const char *key, size_t key_len,
                      struct vg_parser_key *out);

/* Emits key with the text val[0..val_len) as k says: time_key's text sets
 * the result's time (emitted only with time_keep; kept as it is, flagged
 * VG_PARSE_BAD_TIME, when it is no time); a typed key is converted (a "-"
 * or empty text is left out; one that does not convert stays a string,
 * flagged VG_PARSE_BAD_TYPE). VG_OK or the emit callback's error. */
int vg_parser_put_text(struct vg_parse_ctx *c, const char *key, size_t key_len, const char *val,
                       size_t val_len, const struct vg_parser_key *k);

/* Emits f as it is. VG_OK or the emit callback's error. */
int vg_parser_put(struct vg_parse_ctx *c, const struct vg_parse_field *f);

/* Reads time_key's text into the result's time; true when it was a time
 * (otherwise VG_PARSE_BAD_TIME is set). */
bool vg_parser_take_time(struct vg_parse_ctx *c, const char *val, size_t val_len);

/* Keeps a span for the line; past VG_PARSER_MAX_FIELDS the span is
 * dropped and VG_PARSE_TOO_MANY set. VG_OK or VG_ENOMEM. */
int vg_parser_push_span(struct vg_parse_ctx *c, const struct vg_parser_span *s);

#endif

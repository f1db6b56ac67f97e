/*
 * process.h - the processing stage: a record collector's `processors:`
 * list (parsers and filters, in order), run on the engine thread on each
 * record once its collector has finished it, before it is sealed into a
 * batch. What a step may do to a record, and what a filter type provides.
 *
 * A record being processed is the last one of its sink's open batch: its
 * fields and strings live in that batch's arena, and every change below
 * copies into that arena (nothing to free). The fields the collector set
 * (namespace, pod, stream, file, ...) come first in the list; `mark` is
 * the last of them, so that a parser cannot overwrite where a line came
 * from (a line of one pod claiming another pod's name).
 */
#ifndef VG_PROCESS_H
#define VG_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

struct vg_arena;

/* A record in the open batch, as a step sees it. */
struct vg_prec {
    struct vg_record *r;
    struct vg_arena *arena; /* the open batch's */
    uint64_t *bytes;        /* the batch's byte count (what batch_max_bytes bounds) */
    struct vg_field *mark;  /* the collector's last field (NULL: it set none) */
    int64_t now_ns;         /* CLOCK_REALTIME about when the record was finished */
    bool parse_error;       /* set by a step: the record gets parse_error=true */
    bool keys_ready;        /* r->key_bits checked (a record made by hand has none) */
    /* set while a parser's fields go in: a set of a key the collector set
     * is refused (VG_EBUSY) and the field keeps its value */
    bool protect;
    /* set by the stage while a parser's field whose value lies in the body
     * goes in: the field is marked in_body (a text without a literal has
     * no substring with it, so redaction can skip such a field when the
     * body has none) */
    bool value_in_body;
    bool body_replaced; /* vg_prec_set_body was called: in_body marks no longer hold */
};

/* The field named key[0..key_len), or NULL. */
struct vg_field *vg_prec_find(const struct vg_prec *pr, const char *key, size_t key_len);

/* True when f is one of the fields the collector set. */
bool vg_prec_is_source_field(const struct vg_prec *pr, const struct vg_field *f);

/*
 * Sets a field: replaces the value of the field of that key, or appends a
 * new field. Strings are copied (they may hold NUL). VG_OK, VG_ENOMEM
 * (the record is unchanged then), or VG_EBUSY (protect is set and the key
 * is a field the collector set). JSON text must be valid JSON.
 */
int vg_prec_set_str(struct vg_prec *pr, const char *key, size_t key_len, const char *v, size_t len);
int vg_prec_set_json(struct vg_prec *pr, const char *key, size_t key_len, const char *v,
                     size_t len);
int vg_prec_set_int(struct vg_prec *pr, const char *key, size_t key_len, int64_t v);
int vg_prec_set_double(struct vg_prec *pr, const char *key, size_t key_len, double v);
int vg_prec_set_bool(struct vg_prec *pr, const char *key, size_t key_len, bool v);
/* Sets a field to a copy of f's value (any type). */
int vg_prec_set_copy(struct vg_prec *pr, const char *key, size_t key_len, const struct vg_field *f);

/* Takes the field of that key out of the record; false when there was none. */
bool vg_prec_remove(struct vg_prec *pr, const char *key, size_t key_len);

/* Renames a field (a field already named `to` is removed first). VG_OK,
 * VG_ENOENT (no field `from`) or VG_ENOMEM. */
int vg_prec_rename(struct vg_prec *pr, const char *from, size_t from_len, const char *to,
                   size_t to_len);

/* Replaces the body with a copy of v[0..len). VG_OK or VG_ENOMEM. */
int vg_prec_set_body(struct vg_prec *pr, const char *v, size_t len);

/* Copies len bytes into the arena (NUL-terminated), counting them in the
 * batch's bytes; NULL on out of memory. For a step that builds a value in
 * place before setting it. */
char *vg_prec_alloc(struct vg_prec *pr, size_t len);

/* ------------------------------------------------------------------------
 * The stage of one collector (process.c): built by the plan from its
 * `parser_rules:`, `parser:` and `processors:`, run by its sink on each
 * record, engine thread only.
 */
struct vg_parser;
struct vg_process;
struct vg_filter_ops;

/* How a parser step uses its parser. */
struct vg_process_parser_opts {
    const char *field;       /* the field whose text is parsed; NULL: the body */
    bool keep_body;          /* false: the body becomes message_key's field */
    const char *message_key; /* NULL: the first of message, msg, log */
};

/* A rule of parser_rules: globs on the record's fields (NULL: any). */
struct vg_process_rule {
    const char *namespace_, *pod, *container, *image;
};

struct vg_process *vg_process_new(void);
/* Appends a parser step; takes the parser, even on error. VG_OK or VG_ENOMEM. */
int vg_process_add_parser(struct vg_process *p, const char *name, struct vg_parser *parser,
                          const struct vg_process_parser_opts *o);
/* Adds a parser to the last step (a parser step): tried when the ones
 * before it do not match (Fluent Bit's parser filter with several
 * parsers). Takes the parser. VG_OK, VG_EINVAL (no parser step last) or
 * VG_ENOMEM. */
int vg_process_add_alternative(struct vg_process *p, const char *name, struct vg_parser *parser,
                               const struct vg_process_parser_opts *o);
/* Appends a filter step; takes ctx (built, options applied), even on error. */
int vg_process_add_filter(struct vg_process *p, const char *name, const struct vg_filter_ops *ops,
                          void *ctx);
/* Adds a rule to the parser_rules step (made first, before every other
 * step, on the first call); takes the parser, even on error. */
int vg_process_add_rule(struct vg_process *p, const struct vg_process_rule *rule,
                        const char *parser_name, struct vg_parser *parser,
                        const struct vg_process_parser_opts *o);
/* Steps in it. */
size_t vg_process_steps(const struct vg_process *p);
/* Runs every step on one record: VG_FILTER_KEEP or VG_FILTER_DROP. Marks
 * parse_error=true on a record a parser did not match (or matched with
 * an error). */
int vg_process_run(struct vg_process *p, struct vg_prec *pr);
/* vigil_parse_* and vigil_filter_* of the collector's steps. */
void vg_process_emit_metrics(struct vg_process *p, struct vg_emit *e, const char *collector);
void vg_process_destroy(struct vg_process *p);

/* ------------------------------------------------------------------------
 * Filters (agent/filter/): each type is a table of options, a build step
 * that checks and compiles them, and run on each record.
 */

/* What run returns. */
#define VG_FILTER_KEEP 0 /* the record goes on to the next step */
#define VG_FILTER_DROP 1 /* the record is dropped (counted, and acknowledged) */

struct vg_filter_ops {
    const char *name;                /* the `type:` in the config */
    const char *doc;                 /* one line for --list-options */
    const struct vg_option *options; /* terminated by { NULL } */
    size_t ctx_size;                 /* bytes of the context the options fill */
    /* Checks and compiles the options (regexes, presets, maps read from
     * VG_OPT_NODE options) into the context, reporting each problem with
     * vg_check_error against its option; VG_OK or an error code. Called
     * at --check-config and at start alike; destroy undoes it, even after
     * a failed build. `name` is the step's name for metrics and messages. */
    int (*build)(void *ctx, const char *name, struct vg_check *chk);
    /* One record: VG_FILTER_KEEP, VG_FILTER_DROP, or VG_ENOMEM (the record
     * goes on unchanged by this step and the failure is counted). */
    int (*run)(void *ctx, struct vg_prec *pr);
    /* Optional: the step's own metrics (labels: collector and step name),
     * on the engine thread. */
    void (*metrics)(void *ctx, struct vg_emit *e, const char *collector, const char *step);
    /* Frees what build made; the options are freed by the caller. */
    void (*destroy)(void *ctx);
};

/* The filter types, NULL-terminated (agent/filter/registry.c). */
extern const struct vg_filter_ops *const vg_filter_registry[];
const struct vg_filter_ops *vg_filter_find(const char *name);

#endif

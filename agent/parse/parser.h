/*
 * parser.h - log parsers: a line of text in (a record's body, or the text
 * of one of its fields), typed fields out. regex (PCRE2, named groups),
 * json, logfmt, klog, syslog (RFC 3164 and 5424) and level detection, each
 * built once from settings into a struct vg_parser and then run per line;
 * built-in settings by name for nginx, apache and the other known formats.
 *
 * The contract the processing stage relies on:
 * - A parser never drops a line. A line it does not match gives VG_EPARSE
 *   with VG_PARSE_NOMATCH and nothing emitted: the caller keeps the line
 *   whole and marks it (parse_error).
 * - Running allocates nothing in steady state: match data, scratch buffers
 *   and the table of a line's fields belong to the parser and are reused;
 *   they grow only for a line longer or wider than any before it.
 * - Fields go to a callback as they are found, valid during the call only
 *   (they point into the line or into the parser's scratch), so that the
 *   caller copies them once, into its batch's arena.
 * - A struct vg_parser is used by one thread at a time (the engine thread);
 *   create one per place that runs it concurrently.
 *
 * See agent/parse/README.md for each parser's fields and options.
 */
#ifndef VG_PARSER_H
#define VG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* ------------------------------------------------------------------------
 * Levels (level.c): severities as logs spell them, on one scale.
 */
enum vg_level {
    VG_LEVEL_TRACE = 1,
    VG_LEVEL_DEBUG,
    VG_LEVEL_INFO,
    VG_LEVEL_WARN,
    VG_LEVEL_ERROR,
    VG_LEVEL_FATAL,
};

/* The level a word names, in any case: trace, debug, info, warn, error,
 * fatal and their common spellings (WARNING, W, err, eror, crit, critical,
 * severe, notice, verbose, fine, emerg, panic, ...), a syslog severity
 * number 0-7 (0-2 fatal, 3 error, 4 warn, 5-6 info, 7 debug), or 10-60 as
 * bunyan and pino number them. VG_OK or VG_EPARSE. */
int vg_level_parse(const char *s, size_t len, enum vg_level *out);

/* "trace" ... "fatal" ("unknown" for anything else). */
const char *vg_level_name(enum vg_level level);

/* A syslog severity (0 emerg .. 7 debug) as a level. */
enum vg_level vg_level_from_syslog(int severity);

/* Finds a level in a plain line: a key (level, lvl, loglevel, log_level,
 * severity, levelname, @l; any case, quoted or not) followed by '=' or ':'
 * and a level; klog's header letter ("E1202 ..."); or one of the first four
 * words (separators such as "-" not counted) when it is a level in capitals
 * ("WARN", "ERROR") or marked as one ("[warn]", "<info>", "error:"). VG_OK
 * or VG_EPARSE (none found). */
int vg_level_detect(const char *line, size_t len, enum vg_level *out);

/* ------------------------------------------------------------------------
 * Compiled patterns (regex.c): a PCRE2 pattern compiled once the way the
 * regex parser compiles its own (bytes, not UTF-8; ANYCRLF newlines; JIT
 * where the platform has it), with match data, a match limit and a bounded
 * JIT stack made once, so that a match allocates nothing. One thread at a
 * time.
 */
struct vg_regex;

/* Compiles pattern; match_limit 0 is VG_PARSER_MATCH_LIMIT. On VG_OK *out
 * owns the pattern (vg_regex_destroy). VG_ECONFIG: why holds PCRE2's
 * message and offset ("missing closing parenthesis at offset 5");
 * VG_ENOMEM: why says "out of memory". *out is NULL on error. */
int vg_regex_create(const char *pattern, uint32_t match_limit, struct vg_regex **out, char *why,
                    size_t why_size);
void vg_regex_destroy(struct vg_regex *re);
/* Matches s[0..len) (need not be NUL-terminated). Returns the count of
 * group pairs set (> 0) on a match, else VG_EPARSE with *limit true when a
 * limit stopped it rather than a mismatch. */
int vg_regex_match(struct vg_regex *re, const char *s, size_t len, bool *limit);
/* Where group `number` of the last match lies in its subject: false when
 * the group took no part in it. pairs: what vg_regex_match returned. */
bool vg_regex_span(const struct vg_regex *re, int pairs, uint32_t number, size_t *start,
                   size_t *len);
/* Named groups: how many, the name of entry i (in name order) with its
 * number, and the number of a name (-1 when the pattern has none such). */
size_t vg_regex_name_count(const struct vg_regex *re);
const char *vg_regex_name(const struct vg_regex *re, size_t i, uint32_t *number);
int vg_regex_group(const struct vg_regex *re, const char *name);

/* ------------------------------------------------------------------------
 * Parsers (parser.c and one file per type).
 */

/* Regex parsers: the default PCRE2 match limit (see README.md). */
#define VG_PARSER_MATCH_LIMIT 100000u
/* Fields of one line beyond this many are not emitted (VG_PARSE_TOO_MANY). */
#define VG_PARSER_MAX_FIELDS 1024u

/* A key that `types` converts: from the text a parser read to this type. */
struct vg_parser_type {
    const char *key;
    enum vg_field_type type; /* VG_FIELD_INT, VG_FIELD_DOUBLE, VG_FIELD_BOOL or VG_FIELD_STR */
};

/* What a parser is made from. Strings are copied by vg_parser_create; a
 * zeroed struct with a type is a valid start. */
struct vg_parser_settings {
    const char *name;    /* for messages (a user's parser name, a built-in's) */
    const char *type;    /* regex, json, logfmt, klog, syslog_rfc3164, syslog_rfc5424, level */
    const char *pattern; /* regex: PCRE2, named groups become fields */
    const struct vg_parser_type *types; /* string values of these keys converted */
    size_t n_types;
    const char *time_key;    /* the field that holds the record's time, or NULL */
    const char *time_format; /* vg_time_format_init's: NULL is automatic */
    int32_t time_offset_s;   /* zone of times that give none, seconds east of UTC */
    bool time_keep;          /* emit time_key's field too once its time is read */
    uint32_t match_limit;    /* regex: PCRE2 match limit, 0 for VG_PARSER_MATCH_LIMIT */
    bool strict;             /* json: refuse raw control bytes inside strings */
    const char *merge_into;  /* json: one object field of this name, not one field a member */
};

/* Fills *out with the settings of a built-in parser: nginx, apache,
 * syslog_rfc3164, syslog_rfc5424, klog, json, logfmt, level. The strings
 * are static; the caller may change any member before vg_parser_create
 * (time_keep, time_offset_s, ...). VG_OK or VG_ENOENT. */
int vg_parser_builtin(const char *name, struct vg_parser_settings *out);

/* "nginx, apache, ...": the built-ins' names, for messages. */
const char *vg_parser_builtin_names(void);

/* The type a `types` entry names: int/integer, float/double, bool/boolean,
 * string. VG_OK or VG_EPARSE. */
int vg_parser_type_parse(const char *name, enum vg_field_type *out);

struct vg_parser;

/* Builds a parser; on success *out owns it (vg_parser_destroy). On error
 * *out is NULL and err says why, naming s->name: VG_ECONFIG (unknown type,
 * a pattern that does not compile or has no named group, a bad time_format
 * or type, a setting the type does not take) or VG_ENOMEM. */
int vg_parser_create(const struct vg_parser_settings *s, struct vg_parser **out,
                     struct vg_error *err);
void vg_parser_destroy(struct vg_parser *p);

/* The settings' name (or type when it had none). */
const char *vg_parser_name(const struct vg_parser *p);

/* One field, valid during the emit call only. key is not NUL-terminated
 * and may hold any byte (a JSON key may be "\u0000"); strings may hold NUL
 * and invalid UTF-8. VG_FIELD_JSON is JSON text: a nested object or array,
 * or null. */
struct vg_parse_field {
    const char *key;
    size_t key_len;
    enum vg_field_type type;
    union {
        struct {
            const char *ptr;
            size_t len;
        } s; /* VG_FIELD_STR, VG_FIELD_JSON */
        int64_t i;
        double d;
        bool b;
    } v;
};

/* Takes one field; VG_OK goes on, anything else stops the run and is
 * returned by vg_parser_run. */
typedef int (*vg_parse_emit_fn)(void *arg, const struct vg_parse_field *f);

/* Flags of struct vg_parse_result. */
#define VG_PARSE_NOMATCH  0x01u /* the line did not match: nothing emitted */
#define VG_PARSE_LIMIT    0x02u /* ... because the match limit was reached */
#define VG_PARSE_TIME     0x04u /* time_ns holds the time read from time_key */
#define VG_PARSE_BAD_TIME 0x08u /* time_key's value was no time: field kept as is */
#define VG_PARSE_BAD_TYPE 0x10u /* a `types` value did not convert: kept a string */
#define VG_PARSE_TOO_MANY 0x20u /* fields past VG_PARSER_MAX_FIELDS not emitted */
/* Any of these sets the record's parse_error. */
#define VG_PARSE_ERRORS                                                                            \
    (VG_PARSE_NOMATCH | VG_PARSE_LIMIT | VG_PARSE_BAD_TIME | VG_PARSE_BAD_TYPE | VG_PARSE_TOO_MANY)

struct vg_parse_result {
    unsigned flags;
    int64_t time_ns; /* with VG_PARSE_TIME; the record's time stays otherwise */
};

/*
 * Parses line[0..len) (need not be NUL-terminated) and hands each field to
 * fn in the order of the line. now_ns (CLOCK_REALTIME) stands in for a
 * year or date that a time leaves out. *res is always filled.
 *
 * VG_OK: the line matched (res may still flag BAD_TIME, BAD_TYPE, TOO_MANY).
 * VG_EPARSE: it did not (NOMATCH, and LIMIT when the match limit stopped
 * it); nothing was emitted. Anything else, or a VG_EPARSE without NOMATCH,
 * is what fn returned: the run stopped there, some fields may have been
 * emitted, and running the same line again emits the same fields.
 */
int vg_parser_run(struct vg_parser *p, const char *line, size_t len, int64_t now_ns,
                  vg_parse_emit_fn fn, void *arg, struct vg_parse_result *res);

/* Counts since the parser was made, for the processing stage's metrics. */
struct vg_parser_stats {
    uint64_t lines;    /* runs */
    uint64_t nomatch;  /* VG_PARSE_NOMATCH, match limit included */
    uint64_t limit;    /* VG_PARSE_LIMIT */
    uint64_t bad_time; /* VG_PARSE_BAD_TIME */
    uint64_t bad_type; /* VG_PARSE_BAD_TYPE */
    uint64_t too_many; /* VG_PARSE_TOO_MANY */
};

void vg_parser_stats(const struct vg_parser *p, struct vg_parser_stats *out);

#endif

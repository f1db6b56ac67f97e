/*
 * textfile_parse.h - a pure parser of the Prometheus text exposition format
 * 0.0.4, as node_exporter's textfile collector accepts it, and the small
 * hash set of byte strings that it and the collector share.
 *
 * The parser validates a whole file before anything is emitted: a file with
 * any error yields no samples at all. A result keeps its memory between
 * parses, so that re-reading the same files allocates nothing.
 */
#ifndef TEXTFILE_PARSE_H
#define TEXTFILE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

#define TEXTFILE_NONE       UINT32_MAX
#define TEXTFILE_MAX_LABELS 64         /* labels on one sample */
#define TEXTFILE_MAX_TEXT   (1u << 28) /* bytes one parse accepts (256 MiB) */

/*
 * A set of byte strings, each copied into the set's arena and numbered in
 * insertion order, with one 32-bit value the caller chooses. Keys may hold
 * NUL bytes; every key is followed by a NUL in the arena. Open addressing
 * on 64-bit FNV-1a hashes, load kept at or under one half.
 */
struct textfile_key {
    uint64_t hash;
    uint32_t off;
    uint32_t len;
    uint32_t value;
};

struct textfile_keys {
    struct vg_buf arena;
    struct textfile_key *ents;
    size_t n, cap;
    uint32_t *slots; /* index + 1; 0 is empty */
    size_t n_slots;
};

void textfile_keys_init(struct textfile_keys *k);
/* Forgets every key; memory is kept. */
void textfile_keys_reset(struct textfile_keys *k);
void textfile_keys_free(struct textfile_keys *k);
/* The index of key, or -1. */
long textfile_keys_find(const struct textfile_keys *k, const void *key, size_t len);
/* Adds key with value unless present. *index is its index either way and
 * *added says whether it was new. VG_OK or VG_ENOMEM (nothing added). */
int textfile_keys_add(struct textfile_keys *k, const void *key, size_t len, uint32_t value,
                      size_t *index, bool *added);
/* Key i (NUL-terminated; valid until the next add or reset) and its length. */
const char *textfile_keys_at(const struct textfile_keys *k, size_t i, size_t *len);
uint32_t textfile_keys_value(const struct textfile_keys *k, size_t i);

/* ------------------------------------------------------------------------
 * Parse results.
 */
struct textfile_family {
    uint32_t help;            /* offset into result->strings, or TEXTFILE_NONE */
    enum vg_metric_type type; /* VG_METRIC_UNTYPED unless a TYPE line said otherwise */
    bool typed;               /* a TYPE line was seen */
    bool has_samples;
    unsigned line; /* the TYPE line, else the first line naming it */
};

/*
 * One sample. Its series key (in result->series) is, NUL-separated: the
 * family name, the suffix ("", "_bucket", "_sum" or "_count"), then each
 * label name and value in name order. The le and quantile labels are
 * written the way Prometheus prints floats ("1.0" becomes "1").
 */
struct textfile_sample {
    uint32_t family; /* index into families */
    uint32_t key;    /* index into series */
    unsigned line;
    double value;
};

struct textfile_result {
    struct textfile_keys names; /* family names; key i is families[i] */
    struct textfile_family *families;
    size_t n_families, cap_families;
    struct textfile_keys series;
    struct textfile_sample *samples;
    size_t n_samples, cap_samples;
    struct vg_buf strings; /* help texts, NUL-terminated */
    /* scratch of the line being parsed */
    struct vg_buf scratch;
    struct vg_buf key;
    uint32_t lab_name[TEXTFILE_MAX_LABELS];
    uint32_t lab_value[TEXTFILE_MAX_LABELS];
    size_t n_labels;
};

void textfile_result_init(struct textfile_result *r);
/* Empties the result for the next parse; memory is kept. */
void textfile_result_reset(struct textfile_result *r);
void textfile_result_free(struct textfile_result *r);

/*
 * Parses text[0..len) (need not be NUL-terminated; a missing final newline
 * is fine) into r, which is reset first. Returns VG_OK, VG_EPARSE with
 * err->msg saying what is wrong and *line its 1-based line (0 when the
 * whole text is at fault: longer than TEXTFILE_MAX_TEXT), or VG_ENOMEM.
 * On error r holds nothing meaningful. Samples with timestamps, duplicate
 * series, a second HELP or TYPE for a family, TYPE after the family's
 * samples, bad names, escapes, values or UTF-8 are all errors.
 */
int textfile_parse(struct textfile_result *r, const char *text, size_t len, unsigned *line,
                   struct vg_error *err);

const char *textfile_family_name(const struct textfile_result *r, size_t i);
/* The family's HELP text (unescaped), or NULL when it had none. */
const char *textfile_family_help(const struct textfile_result *r, size_t i);

/*
 * A sample's strings, pointing into r (valid until the next parse or reset):
 * family, suffix and up to TEXTFILE_MAX_LABELS labels, into labels[].
 */
struct textfile_view {
    const char *family;
    const char *suffix;
    size_t n_labels;
};
void textfile_sample_view(const struct textfile_result *r, size_t i, struct textfile_view *v,
                          struct vg_label *labels);

#endif /* TEXTFILE_PARSE_H */

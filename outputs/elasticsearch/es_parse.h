/*
 * es_parse.h - the pure parts of the elasticsearch output: index and
 * routing templates, document ids, the _bulk body (action and source lines),
 * cutting a body at bulk_max_bytes, gzip, and reading _bulk replies.
 *
 * Nothing here does I/O or keeps global state, so every function is tested
 * on strings (tests/unit/test_elasticsearch.c).
 */
#ifndef VG_ES_PARSE_H
#define VG_ES_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "gzip.h"

#include "parse/json.h"
#include "vigil.h"

/* Longest index name Elasticsearch accepts, in bytes. */
#define ES_INDEX_MAX 255
/* Longest routing value written; a longer one is cut. */
#define ES_ROUTING_MAX 512
/* A document id: 32 hex digits. */
#define ES_ID_LEN 32

/* Flags of es_expand. */
#define ES_EXPAND_TIME    0x1u /* strftime conversions on the record time (UTC) */
#define ES_EXPAND_INDEX   0x2u /* lower-case; bytes invalid in index names become '_' */
#define ES_EXPAND_MISSING 0x4u /* a missing {field} is an error (VG_ENOENT), not "unknown" */

/*
 * Checks a template (index or routing) at start-up: braces balanced, field
 * names not empty, and, with ES_EXPAND_INDEX, no literal byte that an index
 * name cannot hold. VG_OK, or VG_ECONFIG with why filled.
 */
int es_template_check(const char *tmpl, unsigned flags, struct vg_error *why);

/*
 * Expands tmpl for record r into out[0..size): every {field} becomes the
 * value of that field (strings as they are, numbers and booleans printed,
 * JSON as its text; a missing field gives "unknown", or VG_ENOENT with
 * ES_EXPAND_MISSING), and with ES_EXPAND_TIME the rest goes through strftime
 * on the record time in UTC. *len gets the length; out is NUL-terminated.
 * VG_OK, VG_ENOENT, or VG_EINVAL when the result is empty or longer than
 * size - 1.
 */
int es_expand(const char *tmpl, const struct vg_record *r, unsigned flags, char *out, size_t size,
              size_t *len);

/*
 * The document id of a record: two independent 64-bit SipHash-2-4 values
 * (fixed keys) of (node, source_id, position), as 32 lower-case hex digits
 * and a NUL in out. The same inputs give the same id on every machine and
 * every version: changing this function would duplicate documents that are
 * replayed across an upgrade.
 */
void es_doc_id(const char *node, uint64_t source_id, uint64_t position, char out[ES_ID_LEN + 1]);

/* SipHash-2-4 of msg[0..len) under the 128-bit key k (exposed for its test vector). */
uint64_t es_siphash(const uint8_t k[16], const void *msg, size_t len);

/*
 * Encodes records into _bulk lines. Fill the settings, call
 * es_encoder_reset, then es_encode per record; the caches make a batch of
 * records in the same second cost one strftime and one gmtime.
 */
struct es_encoder {
    /* settings */
    const char *index;   /* template: strftime (UTC) and {field}; the data stream name */
    const char *routing; /* {field} template, or NULL */
    bool data_stream;    /* op_type create always, index is a data stream */
    bool id_auto;        /* _id from (node, source_id, position) */
    const char *node;    /* the node name ids are made of */
    /* the shape of the documents; VG_RECORD_SCHEMA_DEFAULT: VG_RECORD_SCHEMA_ES */
    enum vg_record_schema schema;
    /* caches */
    bool index_fixed;  /* the index template has no {field} */
    int64_t index_sec; /* second the cached index name is for */
    bool index_valid;  /* index_name holds the name for index_sec */
    char index_name[ES_INDEX_MAX + 1];
    size_t index_len;
};

/* Clears the caches after the settings change. */
void es_encoder_reset(struct es_encoder *e);

/*
 * Appends record r's two lines to out:
 *   {"create"|"index":{"_index":"...","_id":"...","routing":"..."}}\n
 *   <the record in e->schema (vg_record_encode)>\n
 * _id only with id_auto and a source_id other than 0 (op create); without
 * an _id the op is index, except for a data stream (create always). By
 * default the document is {"@timestamp":"<RFC 3339, ns, UTC>",
 * "message":"<body>",<fields>} (VG_RECORD_SCHEMA_ES): a field named
 * "message" replaces the body; fields named "@timestamp" or "" and repeats
 * of a key are left out, so the object never has duplicate keys.
 * VG_OK; VG_EINVAL (the index name cannot be made: why says so) or
 * VG_ENOMEM, and then out is as it was.
 */
int es_encode(struct es_encoder *e, const struct vg_record *r, struct vg_buf *out,
              struct vg_error *why);

/*
 * Given the end offsets of encoded records (off[k] is where record k
 * starts, off[k + 1] where it ends), the end (exclusive) of the request
 * that starts at record `start`: as many records as fit in max_bytes, and
 * at least one. end is the number of records.
 */
size_t es_cut(const size_t *off, size_t start, size_t end, uint64_t max_bytes);

/*
 * Compresses in[0..len) as one gzip member into out (reset first; a NUL
 * after it), with z set up by vg_gzip_init (gzip.h). VG_OK, VG_EINVAL (an
 * input over 2 GiB) or VG_ENOMEM.
 */
int es_gzip(z_stream *z, const void *in, size_t len, struct vg_buf *out);

/* One item of a _bulk reply. */
struct es_item {
    int status;                 /* HTTP status of the item */
    struct vg_json_value error; /* its "error" (an object), or kind VG_JSON_NULL */
};

/*
 * Reads a _bulk reply: {"errors":bool,"items":[{"<op>":{"status":N,
 * "error":{...}}},...]}, as Elasticsearch 7 and 8 and OpenSearch 1 and 2
 * write it (other members such as _type are ignored). items must hold
 * `expected` entries, the records the request carried. With "errors":false
 * the items are only counted, and each gets status 200. error values point
 * into body. VG_OK, or VG_EPARSE with why saying what was wrong (not JSON,
 * no items, a count that differs from expected, an item without status).
 */
int es_response_parse(const char *body, size_t len, struct es_item *items, size_t expected,
                      struct vg_error *why);

/* True for an item status that counts as delivered: 2xx, and 409 (the
 * document exists: a replay of a create). */
bool es_status_delivered(int status);
/* True for an item status worth retrying: 429 and 5xx. */
bool es_status_retry(int status);

/*
 * Appends "<status> <type>: <reason>" for an item's error (unescaped, at
 * most about 1 KiB of reason) to out; without an error object, "<status>".
 * VG_OK or VG_ENOMEM.
 */
int es_item_reason(const struct es_item *it, struct vg_buf *out);

/*
 * Appends a short summary of a whole-request error reply: "<type>: <reason>"
 * from {"error":{...}} (or the error string of older servers), else the
 * first bytes of the body with unprintable bytes as '.', or "(empty reply)".
 * VG_OK or VG_ENOMEM.
 */
int es_error_summary(const char *body, size_t len, struct vg_buf *out);

#endif

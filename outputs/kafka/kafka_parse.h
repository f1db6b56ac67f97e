/*
 * kafka_parse.h - the pure parts of the kafka output, tested on strings:
 * topic templates with {field} references, compression names, the checks
 * of the brokers list and of the rdkafka pass-through map, the class of a
 * librdkafka error code, and the state of the brokers in its statistics.
 *
 * Nothing here talks to a broker or reads a file. Failures come back as
 * VG_ECONFIG (or VG_EPARSE) with a one-line reason in a caller's buffer.
 */
#ifndef KAFKA_PARSE_H
#define KAFKA_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "vigil.h"

#define KAFKA_TOPIC_MAX  249       /* longest topic name Kafka accepts */
#define KAFKA_MISSING    "unknown" /* what a {field} the record lacks becomes */
#define KAFKA_REASON_MAX 256

/* One piece of a template: literal text, or the name of a record field. */
struct kafka_tpl_part {
    char *text; /* NUL-terminated, owned */
    size_t len;
    bool field;
};

/* A parsed template such as "logs-{namespace}": literal text and field
 * references in order. */
struct kafka_template {
    struct kafka_tpl_part *parts;
    size_t n;
    bool has_fields;
};

/* Parses src into t (zeroed or freed before). An unclosed '{', a stray
 * '}', an empty "{}" or a literal byte that is not legal in a topic name
 * ([A-Za-z0-9._-]) is VG_ECONFIG with why filled; VG_ENOMEM on allocation
 * failure. t is left empty on error. */
int kafka_template_parse(struct kafka_template *t, const char *src, char *why, size_t why_size);
void kafka_template_free(struct kafka_template *t);

/* Appends the expansion of t for record r to out: a field the record
 * lacks becomes KAFKA_MISSING, and every byte of a field's value that is
 * not legal in a topic name becomes '_'. VG_OK or VG_ENOMEM. */
int kafka_template_expand(const struct kafka_template *t, const struct vg_record *r,
                          struct vg_buf *out);

/* Checks an expanded topic name: VG_OK, or VG_EINVAL with why filled
 * (empty, ".", "..", longer than KAFKA_TOPIC_MAX). */
int kafka_topic_check(const char *name, size_t len, char *why, size_t why_size);

/* Appends the value of f as text (a message key): strings and JSON as
 * they are, numbers in decimal, booleans as true/false. */
int kafka_field_text(const struct vg_field *f, struct vg_buf *out);

/* librdkafka's compression.codec value for one of the option's names
 * (none, gzip, snappy, lz4, zstd), or NULL for anything else. */
const char *kafka_compression_codec(const char *name);

/* Checks "host:port,host:port": at least one broker, no empty entry, no
 * blank inside a name, and a port, when given, in 1..65535. An entry may
 * carry a scheme ("SSL://host:9093"). VG_OK or VG_ECONFIG with why. */
int kafka_brokers_check(const char *s, char *why, size_t why_size);

/* Checks one key of the rdkafka pass-through map: not empty, and not one
 * that an option of this output sets (then why names that option) or that
 * would break the delivery path (transactional.id). VG_OK or VG_ECONFIG
 * with why, which does not repeat the key. */
int kafka_rdkafka_key_check(const char *key, char *why, size_t why_size);

/* How a property's value is kept out of messages. */
enum kafka_secrecy {
    KAFKA_PLAIN,  /* may be shown */
    KAFKA_HIDDEN, /* never shown with its property (a user name, a key's path) */
    KAFKA_SECRET, /* also masked in every message (vg_secret_add) */
};

/* The secrecy of a librdkafka property: librdkafka's own list of
 * sensitive properties, and any key naming a password or a secret. */
enum kafka_secrecy kafka_secrecy(const char *key);

/* What a delivery error means for the record. */
enum kafka_class {
    KAFKA_DELIVERED, /* no error */
    KAFKA_RETRY,     /* transient: the record stays pending */
    KAFKA_DEAD,      /* this record can never be written: dead letter */
    KAFKA_STOP,      /* credentials or permissions refused: stop the output */
};

enum kafka_class kafka_classify(rd_kafka_resp_err_t err);

/* Reads a librdkafka statistics document (statistics.interval.ms): *known
 * gets the number of brokers it lists, the internal broker and logical ones
 * (coordinators) left out, and *up how many of those are connected (state
 * UP or UPDATE). VG_OK, or VG_EPARSE (not JSON, no "brokers" object) with
 * both left as they were. */
int kafka_stats_brokers(const char *json, size_t len, unsigned *up, unsigned *known);

#endif

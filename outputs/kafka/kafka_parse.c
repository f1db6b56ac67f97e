/*
 * kafka_parse.c - the pure parts of the kafka output: templates, names,
 * checks, the class of an error code and the brokers in the statistics.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kafka_parse.h"
#include "parse/json.h"

/* The bytes Kafka allows in a topic name. */
static bool kafka_topic_byte(unsigned char c)
{
    return isascii(c) && (isalnum(c) || c == '.' || c == '_' || c == '-');
}

void kafka_template_free(struct kafka_template *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        free(t->parts[i].text);
    free(t->parts);
    memset(t, 0, sizeof(*t));
}

/* Appends one part (a copy of s[0..len)) to t. */
static int kafka_template_add(struct kafka_template *t, const char *s, size_t len, bool field)
{
    struct kafka_tpl_part *parts = realloc(t->parts, (t->n + 1) * sizeof(*parts));
    char *text;

    if (parts == NULL)
        return VG_ENOMEM;
    t->parts = parts;
    text = malloc(len + 1);
    if (text == NULL)
        return VG_ENOMEM;
    memcpy(text, s, len);
    text[len] = '\0';
    t->parts[t->n].text = text;
    t->parts[t->n].len = len;
    t->parts[t->n].field = field;
    t->n++;
    t->has_fields = t->has_fields || field;
    return VG_OK;
}

/* Reads the field reference that opens at src[*pos] == '{' into t and
 * moves *pos past its '}'. */
static int kafka_template_field(struct kafka_template *t, const char *src, size_t *pos, char *why,
                                size_t why_size)
{
    const char *open = src + *pos, *close = strchr(open + 1, '}');
    const char *inner = strchr(open + 1, '{');

    if (close == NULL || (inner != NULL && inner < close)) {
        snprintf(why, why_size, "'{' at offset %zu is not closed", *pos);
        return VG_ECONFIG;
    }
    if (close == open + 1) {
        snprintf(why, why_size, "empty field name '{}' at offset %zu", *pos);
        return VG_ECONFIG;
    }
    *pos = (size_t)(close - src) + 1;
    return kafka_template_add(t, open + 1, (size_t)(close - open - 1), true);
}

/* Reads literal text from src[*pos] up to the next field reference into
 * t. A stray '}' and any byte that is not legal in a topic name are
 * refused (braces cannot appear in a topic, so they need no escape). */
static int kafka_template_text(struct kafka_template *t, const char *src, size_t *pos, char *why,
                               size_t why_size)
{
    size_t start = *pos, i = *pos;

    while (src[i] != '\0' && src[i] != '{') {
        if (src[i] == '}') {
            snprintf(why, why_size, "'}' at offset %zu closes no field", i);
            return VG_ECONFIG;
        }
        if (!kafka_topic_byte((unsigned char)src[i])) {
            snprintf(why, why_size,
                     "byte '%c' at offset %zu is not allowed in a topic name "
                     "(letters, digits, '.', '_', '-')",
                     isprint((unsigned char)src[i]) ? src[i] : '?', i);
            return VG_ECONFIG;
        }
        i++;
    }
    *pos = i;
    return kafka_template_add(t, src + start, i - start, false);
}

int kafka_template_parse(struct kafka_template *t, const char *src, char *why, size_t why_size)
{
    size_t pos = 0, start;
    int rc = VG_OK;

    memset(t, 0, sizeof(*t));
    while (rc == VG_OK && src[pos] != '\0') {
        start = pos;
        if (src[pos] == '{')
            rc = kafka_template_field(t, src, &pos, why, why_size);
        else
            rc = kafka_template_text(t, src, &pos, why, why_size);
        if (rc == VG_OK && pos == start) {
            snprintf(why, why_size, "cannot read the template at offset %zu", pos);
            rc = VG_ECONFIG;
        }
    }
    if (rc == VG_ENOMEM)
        snprintf(why, why_size, "out of memory");
    if (rc != VG_OK)
        kafka_template_free(t);
    return rc;
}

/* Appends s[0..len) with every byte not legal in a topic name as '_'. */
static int kafka_put_topic_bytes(struct vg_buf *out, const char *s, size_t len)
{
    size_t i;
    int rc = vg_buf_reserve(out, len + 1);

    if (rc != VG_OK)
        return rc;
    for (i = 0; i < len; i++)
        out->data[out->len + i] = kafka_topic_byte((unsigned char)s[i]) ? s[i] : '_';
    out->len += len;
    out->data[out->len] = '\0';
    return VG_OK;
}

int kafka_template_expand(const struct kafka_template *t, const struct vg_record *r,
                          struct vg_buf *out)
{
    size_t i, mark;
    int rc = VG_OK;

    for (i = 0; i < t->n && rc == VG_OK; i++) {
        const struct kafka_tpl_part *p = &t->parts[i];
        const struct vg_field *f;

        if (!p->field) {
            rc = vg_buf_append(out, p->text, p->len);
            continue;
        }
        f = vg_record_field(r, p->text);
        if (f == NULL) {
            rc = vg_buf_append(out, KAFKA_MISSING, sizeof(KAFKA_MISSING) - 1);
            continue;
        }
        /* formatted in place, then made legal where it stands */
        mark = out->len;
        rc = kafka_field_text(f, out);
        if (rc == VG_OK) {
            size_t n = out->len - mark;

            out->len = mark;
            rc = kafka_put_topic_bytes(out, out->data + mark, n);
        }
    }
    return rc;
}

int kafka_topic_check(const char *name, size_t len, char *why, size_t why_size)
{
    if (len == 0) {
        snprintf(why, why_size, "the topic is empty");
        return VG_EINVAL;
    }
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) {
        snprintf(why, why_size, "'%.*s' is not a valid topic name", (int)len, name);
        return VG_EINVAL;
    }
    if (len > KAFKA_TOPIC_MAX) {
        snprintf(why, why_size, "the topic '%.40s...' is %zu bytes long, more than Kafka's %d",
                 name, len, KAFKA_TOPIC_MAX);
        return VG_EINVAL;
    }
    return VG_OK;
}

int kafka_field_text(const struct vg_field *f, struct vg_buf *out)
{
    if (f->type == VG_FIELD_STR || f->type == VG_FIELD_JSON)
        return vg_buf_append(out, f->v.s.ptr, f->v.s.len);
    return vg_field_to_json(f, out);
}

const char *kafka_compression_codec(const char *name)
{
    static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    size_t i;

    if (name == NULL)
        return NULL;
    for (i = 0; i < VG_ARRAY_LEN(codecs); i++)
        if (strcasecmp(name, codecs[i]) == 0)
            return codecs[i];
    return NULL;
}

/* Checks one entry of the brokers list, s[0..len). */
static int kafka_broker_check(const char *s, size_t len, char *why, size_t why_size)
{
    const char *host = s, *end = s + len, *colon;
    size_t i;

    for (i = 0; i + 2 < len; i++)
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            host = s + i + 3;
            break;
        }
    for (i = 0; i < len; i++)
        if (isspace((unsigned char)s[i])) {
            snprintf(why, why_size, "broker '%.*s' has a blank in it", (int)len, s);
            return VG_ECONFIG;
        }
    colon = memrchr(host, ':', (size_t)(end - host));
    /* a bracketed IPv6 address carries colons of its own */
    if (colon != NULL && memchr(colon, ']', (size_t)(end - colon)) == NULL) {
        unsigned long port = 0;
        const char *p;

        for (p = colon + 1; p < end && isdigit((unsigned char)*p) && port <= 65535; p++)
            port = port * 10 + (unsigned long)(*p - '0');
        if (p == colon + 1 || p != end || port < 1 || port > 65535) {
            snprintf(why, why_size, "broker '%.*s': the port must be a number in 1..65535",
                     (int)len, s);
            return VG_ECONFIG;
        }
        end = colon;
    }
    if (end == host) {
        snprintf(why, why_size, "broker '%.*s' has no host", (int)len, s);
        return VG_ECONFIG;
    }
    return VG_OK;
}

int kafka_brokers_check(const char *s, char *why, size_t why_size)
{
    const char *p = s, *comma;
    int rc;

    if (s == NULL || s[0] == '\0') {
        snprintf(why, why_size, "brokers must not be empty (host:port,host:port)");
        return VG_ECONFIG;
    }
    for (;;) {
        comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (len == 0) {
            snprintf(why, why_size, "brokers '%s' has an empty entry", s);
            return VG_ECONFIG;
        }
        rc = kafka_broker_check(p, len, why, why_size);
        if (rc != VG_OK || comma == NULL)
            return rc;
        p = comma + 1;
    }
}

/* librdkafka properties that an option of this output owns. */
static const struct {
    const char *key;
    const char *option;
} kafka_owned[] = {
    {"bootstrap.servers", "brokers"},
    {"metadata.broker.list", "brokers"},
    {"compression.codec", "compression"},
    {"compression.type", "compression"},
    {"enable.idempotence", "idempotence"},
    {"linger.ms", "linger"},
    {"queue.buffering.max.ms", "linger"},
    {"message.max.bytes", "message_max_bytes"},
    {"queue.buffering.max.kbytes", "buffer_max_bytes"},
    {"message.timeout.ms", "timeout"},
    {"delivery.timeout.ms", "timeout"},
};

int kafka_rdkafka_key_check(const char *key, char *why, size_t why_size)
{
    size_t i;

    if (key == NULL || key[0] == '\0') {
        snprintf(why, why_size, "an empty key");
        return VG_ECONFIG;
    }
    for (i = 0; i < VG_ARRAY_LEN(kafka_owned); i++)
        if (strcmp(key, kafka_owned[i].key) == 0) {
            snprintf(why, why_size, "set it with the option '%s' instead", kafka_owned[i].option);
            return VG_ECONFIG;
        }
    if (strcmp(key, "transactional.id") == 0) {
        snprintf(why, why_size, "not supported: records are produced outside transactions");
        return VG_ECONFIG;
    }
    if (strcmp(key, "statistics.interval.ms") == 0) {
        snprintf(why, why_size,
                 "set by the output: the state of the brokers and the bytes on the wire come "
                 "from librdkafka's statistics");
        return VG_ECONFIG;
    }
    return VG_OK;
}

/* librdkafka's sensitive properties: those flagged _RK_SENSITIVE in
 * src/rdkafka_conf.c of librdkafka 2.0.2 (the version Debian 12 ships),
 * whose values its own configuration dump shows as "[redacted]".
 * librdkafka has no API that lists them. A user name, a file path and a
 * CA certificate are kept out of what is said about their property but
 * not masked in every message: masking a user name everywhere would
 * garble the log. */
static const struct {
    const char *key;
    enum kafka_secrecy secrecy;
} kafka_sensitive[] = {
    {"sasl.username", KAFKA_HIDDEN},
    {"sasl.password", KAFKA_SECRET},
    {"sasl.oauthbearer.config", KAFKA_SECRET},
    {"ssl.key.location", KAFKA_HIDDEN},
    {"ssl.key.password", KAFKA_SECRET},
    {"ssl.key.pem", KAFKA_SECRET},
    {"ssl_key", KAFKA_SECRET},
    {"ssl.ca.pem", KAFKA_HIDDEN},
    {"ssl.keystore.password", KAFKA_SECRET},
};

enum kafka_secrecy kafka_secrecy(const char *key)
{
    size_t i;

    if (key == NULL)
        return KAFKA_PLAIN;
    for (i = 0; i < VG_ARRAY_LEN(kafka_sensitive); i++)
        if (strcmp(key, kafka_sensitive[i].key) == 0)
            return kafka_sensitive[i].secrecy;
    /* later librdkafka versions add such keys (sasl.oauthbearer.client.secret) */
    if (strcasestr(key, "password") != NULL || strcasestr(key, "secret") != NULL)
        return KAFKA_SECRET;
    return KAFKA_PLAIN;
}

enum kafka_class kafka_classify(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return KAFKA_DELIVERED;
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        return KAFKA_STOP;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
        return KAFKA_DEAD;
    default:
        return KAFKA_RETRY;
    }
}

/* True for a broker entry of the statistics that stands for a connection
 * to a real broker: not the internal one, nor a logical one (a group or
 * transaction coordinator, which borrows another's connection). */
static bool kafka_stats_real_broker(const struct vg_json_value *b)
{
    struct vg_json_value source;

    if (b->kind != VG_JSON_OBJECT)
        return false;
    if (vg_json_get(b, "source", &source) != VG_OK)
        return true;
    return !vg_json_string_is(&source, "internal") && !vg_json_string_is(&source, "logical");
}

int kafka_stats_brokers(const char *json, size_t len, unsigned *up, unsigned *known)
{
    struct vg_json_value doc, brokers, key, b, state;
    unsigned n_up = 0, n_known = 0;
    size_t pos = 0;
    int rc;

    if (vg_json_parse(json, len, &doc, NULL) != VG_OK || doc.kind != VG_JSON_OBJECT ||
        vg_json_get(&doc, "brokers", &brokers) != VG_OK || brokers.kind != VG_JSON_OBJECT)
        return VG_EPARSE;
    for (;;) {
        rc = vg_json_object_next(&brokers, &pos, &key, &b);
        if (rc != 1)
            break;
        if (!kafka_stats_real_broker(&b))
            continue;
        n_known++;
        if (vg_json_get(&b, "state", &state) == VG_OK &&
            (vg_json_string_is(&state, "UP") || vg_json_string_is(&state, "UPDATE")))
            n_up++;
    }
    if (rc != 0)
        return VG_EPARSE;
    *up = n_up;
    *known = n_known;
    return VG_OK;
}

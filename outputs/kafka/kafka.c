/*
 * kafka.c - the kafka output: every record as one JSON message, produced
 * with librdkafka to a topic that may name record fields, keyed by a
 * record field for per-container ordering.
 *
 * One send() produces the pending records of its batch and then serves
 * librdkafka's delivery reports (rd_kafka_poll, on the worker thread) until
 * each produced record has one: a delivered record is marked delivered, a
 * record that can never be written (too large, unknown topic) goes to the
 * dead-letter file, a transient failure leaves it pending and the batch is
 * retried by the engine, and refused credentials stop the output. Each
 * message carries (round, index) as its opaque, so that a late report of
 * a send that gave up waiting never marks a record of a later batch.
 *
 * A send also gives up once no broker has been connected for
 * KAFKA_DOWN_MS (librdkafka's statistics every second, and its
 * ALL_BROKERS_DOWN event at once): what is still queued is purged and the
 * batch is retried, so that brokers that are all down show within seconds
 * (vigil_output_up 0, retries counted, the reason logged) instead of after
 * `timeout`. Messages that were on the wire when the connections dropped
 * may then be written twice: delivery stays at least once.
 *
 * Nothing is acknowledged before its delivery report: messages still in
 * librdkafka's queue at shutdown stay unacknowledged, and the checkpoints
 * make the records go out again after the restart.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <librdkafka/rdkafka.h>

#include "kafka_parse.h"
#include "vigil.h"

#define KAFKA_FLUSH_MS        10000      /* destroy(): longest wait for the out-queue */
#define KAFKA_POLL_MS         100        /* one wait for delivery reports */
#define KAFKA_FULL_POLL_MS    5          /* one wait while librdkafka's queue is full */
#define KAFKA_GRACE_MS        5000       /* past message.timeout.ms, for the last reports */
#define KAFKA_DOWN_MS         5000       /* no broker connected that long: the send gives up */
#define KAFKA_MAX_MESSAGES    "10000000" /* so that buffer_max_bytes is the limit */
#define KAFKA_STATS_MS        "1000"     /* statistics: bytes on the wire, brokers' state */
#define KAFKA_FILE_SUFFIX     "_file"
#define KAFKA_LOG_INTERVAL_NS (30 * VG_NS_PER_SEC)

/* The opaque of a message: the send's round in the high half, the record's
 * index in the batch in the low half. */
_Static_assert(sizeof(uintptr_t) >= 8, "the message opaque holds 64 bits");
#define KAFKA_TAG(round, i) ((void *)(uintptr_t)(((uint64_t)(round) << 32) | (uint64_t)(i)))

/* The bookkeeping of one send (worker thread). */
struct kafka_round {
    struct vg_batch *b; /* NULL between sends: late reports are ignored */
    uint32_t id;
    int64_t t0; /* vg_mono_ns at its start */
    size_t produced, outstanding, delivered, failed;
    uint64_t raw; /* value and key bytes produced */
    bool aborted; /* stopped producing: the rest stays pending */
    bool stop;    /* credentials or permissions refused */
    char failure[2 * KAFKA_REASON_MAX];
    char stop_reason[2 * KAFKA_REASON_MAX];
};

struct kafka_ctx {
    char *brokers;                        /* option */
    char *topic;                          /* option: a template */
    char *key;                            /* option: a field name, "" for none */
    char *compression;                    /* option */
    bool idempotence;                     /* option */
    int64_t linger_ms;                    /* option */
    uint64_t message_max_bytes;           /* option */
    uint64_t buffer_max_bytes;            /* option */
    int64_t timeout_ms;                   /* option */
    const struct vg_config_node *rdkafka; /* option: read by init only */

    struct vg_output *o;
    struct kafka_template tpl;
    rd_kafka_conf_t *conf; /* what every producer handle is made from */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;             /* the topic, when it names no field */
    bool fatal;                        /* rk failed for good: made again at the next send */
    uint64_t tx_bytes;                 /* librdkafka's last tx_bytes statistic */
    int64_t down_since;                /* vg_mono_ns since no broker is connected; 0: one is */
    char last_error[KAFKA_REASON_MAX]; /* from the error callback */
    struct vg_buf value, keybuf, topicbuf;
    struct kafka_round round;
    pthread_mutex_t log_mu; /* librdkafka logs from its own threads */
    bool log_mu_ok;
    struct vg_complain log_complain; /* under log_mu */
};

static const struct vg_option kafka_options[] = {
    {"brokers", VG_OPT_STR, NULL, offsetof(struct kafka_ctx, brokers),
     "bootstrap brokers, host:port,host:port", VG_OPT_REQUIRED, NULL},
    {"topic", VG_OPT_STR, NULL, offsetof(struct kafka_ctx, topic),
     "topic; {field} takes a record field (missing: unknown), e.g. logs-{namespace}",
     VG_OPT_REQUIRED, NULL},
    {"key", VG_OPT_STR, "", offsetof(struct kafka_ctx, key),
     "record field whose value is the message key (per-key ordering); empty: no key", 0, NULL},
    {"compression", VG_OPT_ENUM, "lz4", offsetof(struct kafka_ctx, compression),
     "compression of message batches", 0, "none|gzip|snappy|lz4|zstd"},
    {"idempotence", VG_OPT_BOOL, "true", offsetof(struct kafka_ctx, idempotence),
     "idempotent producer (acks=all, no duplicates from internal retries)", 0, NULL},
    {"linger", VG_OPT_DURATION, "5ms", offsetof(struct kafka_ctx, linger_ms),
     "how long librdkafka waits to fill a message batch (linger.ms)", VG_OPT_MIN, NULL, 0, 0},
    {"message_max_bytes", VG_OPT_SIZE, "1MiB", offsetof(struct kafka_ctx, message_max_bytes),
     "largest message; a larger record goes to the dead-letter file", VG_OPT_MIN, NULL, 1, 0},
    {"buffer_max_bytes", VG_OPT_SIZE, "64MiB", offsetof(struct kafka_ctx, buffer_max_bytes),
     "memory librdkafka may hold in messages not yet delivered", VG_OPT_MIN, NULL, 1, 0},
    {"timeout", VG_OPT_DURATION, "5m", offsetof(struct kafka_ctx, timeout_ms),
     "how long a message may wait for delivery before the batch is retried", VG_OPT_MIN, NULL, 1,
     0},
    {"rdkafka", VG_OPT_NODE, NULL, offsetof(struct kafka_ctx, rdkafka),
     "map of other librdkafka properties (security.protocol, sasl.*, ssl.*); KEY_file reads "
     "the value from a file",
     0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* ---- callbacks (worker thread, inside rd_kafka_poll, unless noted) ---- */

/* Notes a transient failure; the first one of a send is its reason. */
static void kafka_note_failure(struct kafka_round *rd, const char *what, const char *topic)
{
    if (rd->failure[0] != '\0')
        return;
    if (topic != NULL)
        snprintf(rd->failure, sizeof(rd->failure), "%s (topic %s)", what, topic);
    else
        snprintf(rd->failure, sizeof(rd->failure), "%s", what);
}

static void kafka_note_stop(struct kafka_round *rd, const char *what, const char *topic)
{
    rd->stop = true;
    if (rd->stop_reason[0] == '\0')
        snprintf(rd->stop_reason, sizeof(rd->stop_reason),
                 "refused by Kafka: %s%s%s; check the credentials and ACLs", what,
                 topic[0] != '\0' ? " for topic " : "", topic);
}

/* The delivery report of one message. */
static void kafka_on_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_ctx *ctx = opaque;
    struct kafka_round *rd = &ctx->round;
    uint64_t tag = (uint64_t)(uintptr_t)m->_private;
    size_t i = (size_t)(tag & 0xffffffffu);
    const char *topic = m->rkt != NULL ? rd_kafka_topic_name(m->rkt) : "";
    char reason[KAFKA_REASON_MAX];

    if (rd->b == NULL || (uint32_t)(tag >> 32) != rd->id)
        return; /* a send that gave up waiting for it; that batch was retried */
    rd->outstanding--;
    switch (kafka_classify(m->err)) {
    case KAFKA_DELIVERED:
        vg_output_delivered(ctx->o, rd->b, i);
        rd->delivered++;
        break;
    case KAFKA_DEAD:
        snprintf(reason, sizeof(reason), "kafka: %s (topic %s)", rd_kafka_err2str(m->err), topic);
        vg_output_dead_letter(ctx->o, rd->b, i, reason);
        break;
    case KAFKA_STOP:
        kafka_note_stop(rd, rd_kafka_err2str(m->err), topic);
        rd->failed++;
        break;
    case KAFKA_RETRY:
        kafka_note_failure(rd, rd_kafka_err2str(m->err), topic);
        rd->failed++;
        break;
    }
}

/* Notes how many brokers are connected now (from the statistics, or 0 on
 * ALL_BROKERS_DOWN): down_since is when the last one went. */
static void kafka_note_brokers(struct kafka_ctx *ctx, unsigned up)
{
    if (up > 0)
        ctx->down_since = 0;
    else if (ctx->down_since == 0)
        ctx->down_since = vg_mono_ns();
}

/* True once no broker has been connected for KAFKA_DOWN_MS, counted from
 * `from` at the earliest: each send gives librdkafka that long to connect. */
static bool kafka_brokers_down(const struct kafka_ctx *ctx, int64_t from)
{
    int64_t since = ctx->down_since > from ? ctx->down_since : from;

    return ctx->down_since != 0 && vg_mono_ns() - since >= KAFKA_DOWN_MS * VG_NS_PER_MS;
}

/* librdkafka's errors: kept for the reason of a failing send; refused
 * credentials stop the output, a fatal error makes the handle anew, and
 * ALL_BROKERS_DOWN is the state of the brokers before the next statistics. */
static void kafka_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_ctx *ctx = opaque;
    char fatal[KAFKA_REASON_MAX];
    rd_kafka_resp_err_t code = (rd_kafka_resp_err_t)err;

    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        ctx->fatal = true;
        code = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        reason = fatal;
    }
    snprintf(ctx->last_error, sizeof(ctx->last_error), "%s", reason);
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        kafka_note_brokers(ctx, 0);
    if (kafka_classify(code) == KAFKA_STOP && ctx->round.b != NULL)
        kafka_note_stop(&ctx->round, reason, "");
}

/* librdkafka's log lines (any of its threads): warnings and errors are
 * rate-limited, because a broker that is down is reported on every
 * reconnect. */
static void kafka_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct kafka_ctx *ctx = rd_kafka_opaque(rk);
    const char *name = ctx != NULL ? ctx->o->name : "kafka";

    if (level >= LOG_DEBUG) {
        vg_log(VG_LOG_DEBUG, "kafka", name, "librdkafka %s: %s", fac, buf);
    } else if (level >= LOG_NOTICE) {
        vg_log(VG_LOG_INFO, "kafka", name, "librdkafka %s: %s", fac, buf);
    } else if (ctx != NULL && ctx->log_mu_ok) {
        pthread_mutex_lock(&ctx->log_mu);
        vg_complain(&ctx->log_complain, level <= LOG_ERR ? VG_LOG_ERROR : VG_LOG_WARN, "kafka",
                    name, "librdkafka %s: %s", fac, buf);
        pthread_mutex_unlock(&ctx->log_mu);
    }
}

/* librdkafka's statistics: the growth of tx_bytes (the last one in the
 * document, the client's total) is what went on the wire, and the brokers'
 * states say whether any is connected. */
static int kafka_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    static const char needle[] = "\"tx_bytes\":";
    struct kafka_ctx *ctx = opaque;
    const char *p = json, *last = NULL, *end = json + len;
    unsigned up, known;
    uint64_t total;

    if (kafka_stats_brokers(json, len, &up, &known) == VG_OK && known > 0)
        kafka_note_brokers(ctx, up);

    while (p < end) {
        p = memmem(p, (size_t)(end - p), needle, sizeof(needle) - 1);
        if (p == NULL)
            break;
        last = p;
        p += sizeof(needle) - 1;
    }
    if (last == NULL)
        return 0;
    total = strtoull(last + sizeof(needle) - 1, NULL, 10);
    if (total > ctx->tx_bytes)
        vg_output_count_bytes(ctx->o, 0, total - ctx->tx_bytes);
    ctx->tx_bytes = total;
    return 0; /* librdkafka frees json */
}

/* ---- configuration (engine thread: the plan's check, then init) ---- */

/* One entry of the rdkafka map, resolved. */
struct kafka_prop {
    char key[256];  /* the librdkafka property (KEY of KEY_file) */
    char what[300]; /* the option, for messages: "rdkafka.KEY_file" */
    const char *value;
    char *from_file; /* owned: the value read from KEY_file */
    enum kafka_secrecy secrecy;
};

static void kafka_prop_free(struct kafka_prop *p)
{
    if (p->from_file != NULL)
        memset(p->from_file, 0, strlen(p->from_file));
    free(p->from_file);
    p->from_file = NULL;
}

/* Resolves entry n of the rdkafka map into p: the key checked, a KEY_file
 * read (its value is a secret). A secret value is registered with
 * vg_secret_add before anything can print it. VG_OK, VG_ENOMEM, or
 * VG_ECONFIG with why (never the value); p->what is set in every case,
 * and p is freed with kafka_prop_free. */
static int kafka_prop_get(const struct vg_config_node *n, struct kafka_prop *p, char *why,
                          size_t why_size)
{
    const size_t sfx = sizeof(KAFKA_FILE_SUFFIX) - 1;
    size_t klen = n->key != NULL ? strlen(n->key) : 0;
    int rc;

    memset(p, 0, sizeof(*p));
    snprintf(p->what, sizeof(p->what), "rdkafka.%s", n->key != NULL ? n->key : "");
    if (klen >= sizeof(p->key)) {
        snprintf(why, why_size, "a key of at most %zu bytes", sizeof(p->key) - 1);
        return VG_ECONFIG;
    }
    if (n->kind != VG_NODE_SCALAR) {
        snprintf(why, why_size, "expected a scalar value");
        return VG_ECONFIG;
    }
    memcpy(p->key, n->key != NULL ? n->key : "", klen + 1);
    p->value = n->value != NULL ? n->value : "";
    if (klen > sfx && strcmp(p->key + klen - sfx, KAFKA_FILE_SUFFIX) == 0) {
        p->key[klen - sfx] = '\0';
        rc = vg_read_secret_file(p->value, &p->from_file, why, why_size);
        if (rc != VG_OK)
            return rc == VG_ENOMEM ? VG_ENOMEM : VG_ECONFIG;
        p->value = p->from_file;
    }
    rc = kafka_rdkafka_key_check(p->key, why, why_size);
    if (rc != VG_OK)
        return rc;
    p->secrecy = p->from_file != NULL ? KAFKA_SECRET : kafka_secrecy(p->key);
    if (p->secrecy == KAFKA_SECRET && vg_secret_add(p->value) != VG_OK)
        return VG_ENOMEM;
    return VG_OK;
}

/* Sets one librdkafka property. VG_OK, or VG_ECONFIG with librdkafka's
 * words in why, `hide` (a value never to show; may be NULL) masked. */
static int kafka_conf_put(rd_kafka_conf_t *conf, const char *key, const char *value,
                          const char *hide, char *why, size_t why_size)
{
    char said[512] = "";
    size_t n;

    if (rd_kafka_conf_set(conf, key, value, said, sizeof(said)) == RD_KAFKA_CONF_OK)
        return VG_OK;
    n = strlen(said);
    while (n > 0 && (said[n - 1] == '\n' || said[n - 1] == ' '))
        said[--n] = '\0';
    vg_secret_mask(said, hide, why, why_size);
    return VG_ECONFIG;
}

static int kafka_prop_put(rd_kafka_conf_t *conf, const struct kafka_prop *p, char *why,
                          size_t why_size)
{
    return kafka_conf_put(conf, p->key, p->value, p->secrecy != KAFKA_PLAIN ? p->value : NULL, why,
                          why_size);
}

/* The rdkafka map, tried on a scratch configuration by the plan's check:
 * each key librdkafka refuses (unknown, or a bad value), each key an
 * option owns and each KEY_file that cannot be read is reported at its
 * line, in librdkafka's words. */
static void kafka_check_rdkafka(const struct kafka_ctx *ctx, struct vg_check *chk)
{
    const struct vg_config_node *n;
    rd_kafka_conf_t *conf;
    struct kafka_prop p;
    char why[VG_ERROR_MAX];

    if (ctx->rdkafka == NULL)
        return;
    if (ctx->rdkafka->kind != VG_NODE_MAP) {
        vg_check_error(chk, "rdkafka", "option 'rdkafka': expected a map of librdkafka properties");
        return;
    }
    conf = rd_kafka_conf_new();
    if (conf == NULL) {
        vg_check_error(chk, "rdkafka", "option 'rdkafka': out of memory");
        return;
    }
    for (n = ctx->rdkafka->children; n != NULL; n = n->next) {
        int rc = kafka_prop_get(n, &p, why, sizeof(why));

        if (rc == VG_OK)
            rc = kafka_prop_put(conf, &p, why, sizeof(why));
        if (rc != VG_OK)
            vg_check_error(chk, p.what, "option '%s': %s", p.what,
                           rc == VG_ENOMEM ? "out of memory" : why);
        kafka_prop_free(&p);
    }
    rd_kafka_conf_destroy(conf);
}

/* Applies the rdkafka map to conf (init): as kafka_check_rdkafka, which
 * the plan ran first, but stopping at the first refusal; each property is
 * logged at debug level, a sensitive value as VG_SECRET_MASK. */
static int kafka_conf_map(struct kafka_ctx *ctx, rd_kafka_conf_t *conf, struct vg_error *err)
{
    const struct vg_config_node *n;
    struct kafka_prop p;
    char why[VG_ERROR_MAX];
    int rc = VG_OK;

    if (ctx->rdkafka == NULL)
        return VG_OK;
    if (ctx->rdkafka->kind != VG_NODE_MAP)
        return vg_error_set(err, VG_ECONFIG,
                            "option 'rdkafka': expected a map of librdkafka properties");
    for (n = ctx->rdkafka->children; n != NULL && rc == VG_OK; n = n->next) {
        rc = kafka_prop_get(n, &p, why, sizeof(why));
        if (rc == VG_OK)
            rc = kafka_prop_put(conf, &p, why, sizeof(why));
        if (rc == VG_OK)
            vg_log(VG_LOG_DEBUG, "kafka", ctx->o->name, "rdkafka: %s = %s", p.key,
                   p.secrecy != KAFKA_PLAIN ? VG_SECRET_MASK : p.value);
        else
            vg_error_set(err, rc, "option '%s': %s", p.what,
                         rc == VG_ENOMEM ? "out of memory" : why);
        kafka_prop_free(&p);
    }
    return rc;
}

/* Builds ctx->conf: the options, then the rdkafka map, then the callbacks. */
static int kafka_conf_build(struct kafka_ctx *ctx, struct vg_error *err)
{
    char linger[24], max_bytes[24], kbytes[24], timeout[24], why[VG_ERROR_MAX];
    const struct {
        const char *key, *value, *what;
    } props[] = {
        {"bootstrap.servers", ctx->brokers, "brokers"},
        {"client.id", "vigil", "client.id"},
        {"compression.codec", kafka_compression_codec(ctx->compression), "compression"},
        {"enable.idempotence", ctx->idempotence ? "true" : "false", "idempotence"},
        {"acks", ctx->idempotence ? "all" : NULL, "idempotence"},
        {"linger.ms", linger, "linger"},
        {"message.max.bytes", max_bytes, "message_max_bytes"},
        {"queue.buffering.max.kbytes", kbytes, "buffer_max_bytes"},
        {"queue.buffering.max.messages", KAFKA_MAX_MESSAGES, "buffer_max_bytes"},
        {"message.timeout.ms", timeout, "timeout"},
        {"statistics.interval.ms", KAFKA_STATS_MS, "statistics.interval.ms"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t i;
    int rc = VG_OK;

    if (conf == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    snprintf(linger, sizeof(linger), "%" PRId64, ctx->linger_ms);
    snprintf(max_bytes, sizeof(max_bytes), "%" PRIu64, ctx->message_max_bytes);
    snprintf(kbytes, sizeof(kbytes), "%" PRIu64,
             ctx->buffer_max_bytes >= 1024 ? ctx->buffer_max_bytes / 1024 : 1);
    snprintf(timeout, sizeof(timeout), "%" PRId64, ctx->timeout_ms);
    for (i = 0; i < VG_ARRAY_LEN(props) && rc == VG_OK; i++)
        if (props[i].value != NULL &&
            kafka_conf_put(conf, props[i].key, props[i].value, NULL, why, sizeof(why)) != VG_OK)
            rc = vg_error_set(err, VG_ECONFIG, "%s: %s", props[i].what, why);
    if (rc == VG_OK)
        rc = kafka_conf_map(ctx, conf, err);
    if (rc != VG_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, ctx);
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_on_report);
    rd_kafka_conf_set_error_cb(conf, kafka_on_error);
    rd_kafka_conf_set_log_cb(conf, kafka_on_log);
    rd_kafka_conf_set_stats_cb(conf, kafka_on_stats);
    ctx->conf = conf;
    return VG_OK;
}

/* The topic: a template that parses, and when it is fixed, a name Kafka
 * takes. */
static void kafka_check_topic(const char *topic, struct vg_check *chk)
{
    struct kafka_template tpl;
    char why[VG_ERROR_MAX];

    if (topic == NULL)
        return; /* required: the table says so */
    memset(&tpl, 0, sizeof(tpl));
    if (kafka_template_parse(&tpl, topic, why, sizeof(why)) != VG_OK)
        vg_check_error(chk, "topic", "option 'topic': '%s': %s", topic, why);
    else if (!tpl.has_fields && kafka_topic_check(topic, strlen(topic), why, sizeof(why)) != VG_OK)
        vg_check_error(chk, "topic", "option 'topic': %s", why);
    kafka_template_free(&tpl);
}

/* The check callback: the brokers, the topic, the relations between sizes
 * and durations that the option table cannot declare, and the rdkafka map
 * tried on librdkafka. */
static int kafka_check(const void *c, struct vg_check *chk)
{
    const struct kafka_ctx *ctx = c;
    char why[VG_ERROR_MAX];

    if (ctx->brokers != NULL && kafka_brokers_check(ctx->brokers, why, sizeof(why)) != VG_OK)
        vg_check_error(chk, "brokers", "option 'brokers': %s", why);
    if (ctx->linger_ms >= ctx->timeout_ms)
        vg_check_error(chk, "linger",
                       "option 'linger' (%" PRId64 " ms) must be less than 'timeout' (%" PRId64
                       " ms)",
                       ctx->linger_ms, ctx->timeout_ms);
    if (ctx->buffer_max_bytes < ctx->message_max_bytes)
        vg_check_error(chk, "buffer_max_bytes",
                       "option 'buffer_max_bytes' (%" PRIu64
                       ") must be at least 'message_max_bytes' "
                       "(%" PRIu64 ")",
                       ctx->buffer_max_bytes, ctx->message_max_bytes);
    kafka_check_topic(ctx->topic, chk);
    kafka_check_rdkafka(ctx, chk);
    return VG_OK; /* what it found is in chk */
}

/* Parses the topic template into ctx->tpl. The brokers, the topic's name
 * and the compression were checked by the plan (kafka_check, the table). */
static int kafka_topic_prepare(struct kafka_ctx *ctx, struct vg_error *err)
{
    char why[VG_ERROR_MAX];

    if (kafka_template_parse(&ctx->tpl, ctx->topic, why, sizeof(why)) != VG_OK)
        return vg_error_set(err, VG_ECONFIG, "topic '%s': %s", ctx->topic, why);
    return VG_OK;
}

/* Makes the producer handle (and the topic handle of a fixed topic) from
 * ctx->conf. Kafka clients connect lazily: unreachable brokers are no
 * error here. */
static int kafka_connect(struct kafka_ctx *ctx, struct vg_error *err)
{
    char why[512] = "";
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(ctx->conf);

    if (conf == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    ctx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (ctx->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return vg_error_set(err, VG_ECONFIG, "rdkafka: %s", why);
    }
    ctx->fatal = false;
    ctx->tx_bytes = 0;
    ctx->down_since = 0;
    if (!ctx->tpl.has_fields) {
        ctx->rkt = rd_kafka_topic_new(ctx->rk, ctx->topic, NULL);
        if (ctx->rkt == NULL)
            return vg_error_set(err, VG_ECONFIG, "topic '%s': %s", ctx->topic,
                                rd_kafka_err2str(rd_kafka_last_error()));
    }
    return VG_OK;
}

/* Flushes for at most flush_ms, says what is left and destroys the
 * handles. What is left was never acknowledged: it is sent again. */
static void kafka_close(struct kafka_ctx *ctx, int flush_ms)
{
    int left;

    if (ctx->rk == NULL)
        return;
    ctx->round.b = NULL;
    if (flush_ms > 0)
        rd_kafka_flush(ctx->rk, flush_ms);
    left = rd_kafka_outq_len(ctx->rk);
    if (left > 0) {
        vg_log(VG_LOG_WARN, "kafka", ctx->o->name,
               "%d messages were still in librdkafka's out-queue; they stay unacknowledged and "
               "are sent again after the restart",
               left);
        rd_kafka_purge(ctx->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }
    if (ctx->rkt != NULL)
        rd_kafka_topic_destroy(ctx->rkt);
    ctx->rkt = NULL;
    rd_kafka_destroy(ctx->rk);
    ctx->rk = NULL;
}

/* ---- sending (worker thread) ---- */

/* Formats record r into value, key and topic. *keyed: the record has the
 * key field. VG_EINVAL with why when the topic it names cannot exist. */
static int kafka_encode(struct kafka_ctx *ctx, const struct vg_record *r, bool *keyed, char *why,
                        size_t why_size)
{
    const struct vg_field *f = NULL;
    char twhy[160];

    vg_buf_reset(&ctx->value);
    vg_buf_reset(&ctx->keybuf);
    if (vg_record_encode(r, ctx->o->record_schema, &ctx->value) != VG_OK)
        return VG_ENOMEM;
    if (ctx->key[0] != '\0')
        f = vg_record_field(r, ctx->key);
    *keyed = f != NULL;
    if (f != NULL && kafka_field_text(f, &ctx->keybuf) != VG_OK)
        return VG_ENOMEM;
    if (ctx->rkt != NULL)
        return VG_OK;
    vg_buf_reset(&ctx->topicbuf);
    if (kafka_template_expand(&ctx->tpl, r, &ctx->topicbuf) != VG_OK ||
        vg_buf_putc(&ctx->topicbuf, '\0') != VG_OK)
        return VG_ENOMEM;
    ctx->topicbuf.len--; /* the NUL stays behind the name */
    if (kafka_topic_check(ctx->topicbuf.data, ctx->topicbuf.len, twhy, sizeof(twhy)) != VG_OK) {
        snprintf(why, why_size, "kafka: topic template '%s' for this record: %s", ctx->topic, twhy);
        return VG_EINVAL;
    }
    return VG_OK;
}

static const char *kafka_cur_topic(const struct kafka_ctx *ctx)
{
    return ctx->rkt != NULL ? ctx->topic : ctx->topicbuf.data;
}

static rd_kafka_resp_err_t kafka_producev(struct kafka_ctx *ctx, bool keyed, void *tag)
{
    /* an empty key is still a key: never a NULL pointer for it */
    const void *key = keyed ? (ctx->keybuf.len > 0 ? ctx->keybuf.data : "") : NULL;
    size_t key_len = keyed ? ctx->keybuf.len : 0;

    if (ctx->rkt != NULL)
        return rd_kafka_producev(ctx->rk, RD_KAFKA_V_RKT(ctx->rkt), RD_KAFKA_V_KEY(key, key_len),
                                 RD_KAFKA_V_VALUE(ctx->value.data, ctx->value.len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(tag),
                                 RD_KAFKA_V_END);
    return rd_kafka_producev(
        ctx->rk, RD_KAFKA_V_TOPIC(ctx->topicbuf.data), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_VALUE(ctx->value.data, ctx->value.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
}

/* Accounts for the answer of rd_kafka_producev for record i. A transient
 * refusal ends the producing of this send, so that no later record goes
 * before it. */
static void kafka_produced(struct kafka_ctx *ctx, size_t i, rd_kafka_resp_err_t e)
{
    struct kafka_round *rd = &ctx->round;
    char why[KAFKA_REASON_MAX];

    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd->produced++;
        rd->outstanding++;
        rd->raw += ctx->value.len + ctx->keybuf.len;
        return;
    }
    switch (kafka_classify(e)) {
    case KAFKA_DEAD:
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
            snprintf(why, sizeof(why),
                     "kafka: the record is %zu bytes, more than message_max_bytes (%" PRIu64 ")",
                     ctx->value.len + ctx->keybuf.len, ctx->message_max_bytes);
        else
            snprintf(why, sizeof(why), "kafka: %s (topic %s)", rd_kafka_err2str(e),
                     kafka_cur_topic(ctx));
        vg_output_dead_letter(ctx->o, rd->b, i, why);
        return;
    case KAFKA_STOP:
        kafka_note_stop(rd, rd_kafka_err2str(e), kafka_cur_topic(ctx));
        break;
    default:
        if (e == RD_KAFKA_RESP_ERR__FATAL)
            ctx->fatal = true;
        kafka_note_failure(rd, rd_kafka_err2str(e), kafka_cur_topic(ctx));
    }
    rd->failed++;
    rd->aborted = true;
}

/* The reason of a send that gave up because no broker is connected. */
static void kafka_note_down(struct kafka_ctx *ctx)
{
    char what[64];

    snprintf(what, sizeof(what), "no broker connected for %d s", KAFKA_DOWN_MS / 1000);
    kafka_note_failure(&ctx->round, what, NULL);
}

/* Produces record i of the round's batch. A full local queue is
 * backpressure, not loss: serve delivery reports (which make room) and
 * try again, until the deadline or until no broker has been connected
 * for KAFKA_DOWN_MS. */
static void kafka_produce_one(struct kafka_ctx *ctx, size_t i, int64_t deadline)
{
    struct kafka_round *rd = &ctx->round;
    char why[2 * KAFKA_REASON_MAX];
    rd_kafka_resp_err_t e;
    bool keyed = false;
    int rc = kafka_encode(ctx, vg_batch_record(rd->b, i), &keyed, why, sizeof(why));

    if (rc == VG_EINVAL) {
        vg_output_dead_letter(ctx->o, rd->b, i, why);
        return;
    }
    if (rc != VG_OK) {
        kafka_note_failure(rd, "out of memory formatting a record", NULL);
        rd->aborted = true;
        return;
    }
    for (;;) {
        e = kafka_producev(ctx, keyed, KAFKA_TAG(rd->id, i));
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || vg_mono_ns() >= deadline ||
            vg_output_stopping(ctx->o))
            break;
        if (kafka_brokers_down(ctx, rd->t0)) {
            kafka_note_down(ctx);
            break;
        }
        rd_kafka_poll(ctx->rk, KAFKA_FULL_POLL_MS);
    }
    kafka_produced(ctx, i, e);
}

/* Serves delivery reports until every produced record of the round has
 * one. librdkafka reports each message within message.timeout.ms; past
 * that (and at once on refused credentials, a fatal error, or once no
 * broker has been connected for KAFKA_DOWN_MS) what was not sent yet is
 * purged, and the rest is left to late reports, which the round's id
 * makes harmless. */
static void kafka_wait(struct kafka_ctx *ctx)
{
    struct kafka_round *rd = &ctx->round;
    int64_t deadline =
        vg_add_sat(vg_mono_ns(), vg_ms_to_ns_sat(vg_add_sat(ctx->timeout_ms, KAFKA_GRACE_MS)));
    bool purged = false, down;

    while (rd->outstanding > 0) {
        int64_t now = vg_mono_ns();

        down = !purged && kafka_brokers_down(ctx, rd->t0);
        if (down)
            kafka_note_down(ctx);
        if (!purged &&
            (rd->stop || ctx->fatal || down || now >= deadline || vg_output_stopping(ctx->o))) {
            rd_kafka_purge(ctx->rk, RD_KAFKA_PURGE_F_QUEUE);
            purged = true;
            deadline = vg_add_sat(now, vg_ms_to_ns_sat(KAFKA_GRACE_MS));
        } else if (purged && now >= deadline) {
            kafka_note_failure(rd, "no delivery report within timeout", NULL);
            break;
        }
        rd_kafka_poll(ctx->rk, KAFKA_POLL_MS);
    }
}

/* The answer for the round: STOP on refused credentials, RETRY while any
 * record it tried is still pending, else OK. */
static enum vg_send_result kafka_verdict(struct kafka_ctx *ctx)
{
    struct kafka_round *rd = &ctx->round;

    if (rd->stop) {
        vg_output_fail(ctx->o, "%s", rd->stop_reason);
        return VG_SEND_STOP;
    }
    if (rd->failed == 0 && rd->outstanding == 0 && !rd->aborted) {
        ctx->last_error[0] = '\0';
        return VG_SEND_OK;
    }
    vg_output_fail(ctx->o, "brokers %s: %zu of %zu records produced were not delivered: %s%s%s",
                   ctx->brokers, rd->produced - rd->delivered, rd->produced,
                   rd->failure[0] != '\0' ? rd->failure : "stopped producing",
                   ctx->last_error[0] != '\0' ? "; last error: " : "", ctx->last_error);
    return VG_SEND_RETRY;
}

/* After a fatal error (or a failed attempt at it) the producer is made
 * anew; its queue was already failed by librdkafka. */
static int kafka_renew(struct kafka_ctx *ctx)
{
    struct vg_error err = {0};

    kafka_close(ctx, 0);
    if (kafka_connect(ctx, &err) != VG_OK) {
        vg_output_fail(ctx->o, "cannot make the producer anew after a fatal error: %s", err.msg);
        kafka_close(ctx, 0);
        return err.code;
    }
    vg_log(VG_LOG_WARN, "kafka", ctx->o->name, "producer made anew after a fatal error: %s",
           ctx->last_error);
    return VG_OK;
}

static void kafka_round_begin(struct kafka_ctx *ctx, struct vg_batch *b)
{
    struct kafka_round *rd = &ctx->round;
    uint32_t id = rd->id + 1;

    memset(rd, 0, sizeof(*rd));
    rd->id = id;
    rd->b = b;
    rd->t0 = vg_mono_ns();
}

/* Produces every pending record of b, then waits for their delivery
 * reports; see the file comment. */
static enum vg_send_result kafka_send(struct vg_output *o, struct vg_batch *b)
{
    struct kafka_ctx *ctx = o->ctx;
    int64_t t0 = vg_mono_ns(), deadline = vg_add_sat(t0, vg_ms_to_ns_sat(ctx->timeout_ms));
    size_t i, n = vg_batch_count(b);
    enum vg_send_result r;

    if ((ctx->fatal || ctx->rk == NULL) && kafka_renew(ctx) != VG_OK)
        return VG_SEND_RETRY;
    kafka_round_begin(ctx, b);
    rd_kafka_poll(ctx->rk, 0); /* errors that came in between two sends */
    for (i = 0; i < n && !ctx->round.aborted && !ctx->round.stop; i++)
        if (vg_output_pending(o, b, i))
            kafka_produce_one(ctx, i, deadline);
    kafka_wait(ctx);
    r = kafka_verdict(ctx);
    ctx->round.b = NULL;
    vg_output_count_bytes(o, ctx->round.raw, 0);
    vg_output_observe_request(o, (double)(vg_mono_ns() - t0) / 1e9);
    return r;
}

/* Serves librdkafka's callbacks while no batch waits: its statistics (one
 * a second) and error events otherwise pile up in memory until the next
 * send, about 850 KB a minute with three brokers. */
static void kafka_idle(struct vg_output *o)
{
    struct kafka_ctx *ctx = o->ctx;

    if (ctx->rk != NULL)
        rd_kafka_poll(ctx->rk, 0);
}

/* ---- life cycle (engine thread) ---- */

static int kafka_init(struct vg_output *o, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct kafka_ctx *ctx = o->ctx;
    int rc;

    ctx->o = o;
    vg_buf_init(&ctx->value);
    vg_buf_init(&ctx->keybuf);
    vg_buf_init(&ctx->topicbuf);
    ctx->log_complain.interval_ns = KAFKA_LOG_INTERVAL_NS;
    ctx->log_mu_ok = pthread_mutex_init(&ctx->log_mu, NULL) == 0;
    if (!ctx->log_mu_ok)
        return vg_error_set(err, VG_ENOMEM, "cannot make a mutex");
    if (ctx->key == NULL)
        ctx->key = strdup("");
    if (ctx->key == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    rc = kafka_topic_prepare(ctx, err);
    if (rc == VG_OK)
        rc = kafka_conf_build(ctx, err);
    if (rc == VG_OK)
        rc = kafka_connect(ctx, err);
    if (rc != VG_OK)
        return rc;
    vg_log(VG_LOG_INFO, "kafka", o->name,
           "producing to %s, topic %s, key %s, compression %s, idempotence %s", ctx->brokers,
           ctx->topic, ctx->key[0] != '\0' ? ctx->key : "(none)", ctx->compression,
           ctx->idempotence ? "on" : "off");
    return VG_OK;
}

/* Flushes for at most KAFKA_FLUSH_MS: never blocks for ever on brokers
 * that are down. Also called after a failed init. */
static void kafka_destroy(struct vg_output *o)
{
    struct kafka_ctx *ctx = o->ctx;

    kafka_close(ctx, KAFKA_FLUSH_MS);
    if (ctx->conf != NULL)
        rd_kafka_conf_destroy(ctx->conf);
    ctx->conf = NULL;
    kafka_template_free(&ctx->tpl);
    vg_buf_free(&ctx->value);
    vg_buf_free(&ctx->keybuf);
    vg_buf_free(&ctx->topicbuf);
    if (ctx->log_mu_ok)
        pthread_mutex_destroy(&ctx->log_mu);
    ctx->log_mu_ok = false;
}

const struct vg_output_ops vg_output_kafka = {
    .name = "kafka",
    .doc = "produces every record as one JSON message to Kafka (librdkafka)",
    .options = kafka_options,
    .ctx_size = sizeof(struct kafka_ctx),
    .check = kafka_check,
    .init = kafka_init,
    .send = kafka_send,
    .idle = kafka_idle,
    .max_batches_per_send = 64,
    .destroy = kafka_destroy,
};

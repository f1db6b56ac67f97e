/*
 * kafka_consume.c - reads a Kafka topic back for vigil's tests.
 *
 * usage: kafka_consume --bootstrap HOST:PORT[,...] --topic T [--count N] [--eof]
 *                      [--timeout-ms MS] [--set name=value]...
 *
 * Every partition of T is read from its first offset, assigned by hand
 * (nothing is committed, so reading twice gives the same answer). Each
 * message is one JSON line on stdout:
 *   {"partition":p,"offset":o,"key":"...","value":"..."}
 * key and value are JSON strings (null when absent; bytes that are not
 * UTF-8 become U+FFFD). It stops once it has N messages (--count), once
 * every partition is at its end (--eof), once both hold when both are given,
 * or at the timeout (default 30000 ms). A last line on stderr sums it up:
 *   {"messages":n,"partitions":p,"at_eof":true,"errors":e,"timed_out":false}
 * Exit status: 0 when what was asked for was read (or nothing was asked but
 * the timeout), 1 on timeout before that, 2 when it could not start.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka_peer.h"

#define PROG     "kafka_consume"
#define MAX_SETS 32

struct consume_options {
    const char *bootstrap;
    const char *topic;
    long count; /* -1: no count asked */
    bool eof;
    long timeout_ms;
    const char *sets[MAX_SETS];
    int n_sets;
};

struct consume_state {
    rd_kafka_t *rk;
    int n_parts;
    bool *at_eof; /* per partition: nothing past what was read */
    int n_at_eof;
    long messages;
    long errors;
};

static void consume_usage(void)
{
    fprintf(stderr,
            "usage: %s --bootstrap HOST:PORT[,...] --topic T [--count N] [--eof]\n"
            "       [--timeout-ms MS] [--set name=value]...\n",
            PROG);
}

/* Takes the value of option argv[*i] into *val. Returns 0 or -1. */
static int consume_value(int argc, char **argv, int *i, const char **val)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", PROG, argv[*i]);
        return -1;
    }
    *i += 1;
    *val = argv[*i];
    return 0;
}

/* Fills o from argv. Returns 0, or -1 after printing what was wrong. */
static int consume_parse_args(int argc, char **argv, struct consume_options *o)
{
    const char *v = NULL;
    int i;

    o->count = -1;
    o->timeout_ms = 30000;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--eof") == 0) {
            o->eof = true;
            continue;
        }
        if (consume_value(argc, argv, &i, &v) != 0)
            return -1;
        if (strcmp(argv[i - 1], "--bootstrap") == 0) {
            o->bootstrap = v;
        } else if (strcmp(argv[i - 1], "--topic") == 0) {
            o->topic = v;
        } else if (strcmp(argv[i - 1], "--count") == 0) {
            if (kp_parse_long(v, 0, INT32_MAX, &o->count) != 0) {
                fprintf(stderr, "%s: --count wants a count, got '%s'\n", PROG, v);
                return -1;
            }
        } else if (strcmp(argv[i - 1], "--timeout-ms") == 0) {
            if (kp_parse_long(v, 1, 3600000, &o->timeout_ms) != 0) {
                fprintf(stderr, "%s: --timeout-ms wants 1..3600000, got '%s'\n", PROG, v);
                return -1;
            }
        } else if (strcmp(argv[i - 1], "--set") == 0 && o->n_sets < MAX_SETS) {
            o->sets[o->n_sets++] = v;
        } else {
            fprintf(stderr, "%s: unknown or repeated argument '%s'\n", PROG, argv[i - 1]);
            return -1;
        }
    }
    if (!o->bootstrap || !o->topic) {
        fprintf(stderr, "%s: --bootstrap and --topic are required\n", PROG);
        return -1;
    }
    return 0;
}

/* Creates the consumer handle. Returns it, or NULL after printing why. */
static rd_kafka_t *consume_new(const struct consume_options *o)
{
    char errstr[512];
    char group[64];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    int i;

    /* librdkafka wants a group id even for a manual assign; a fresh one per
     * run, never committed to, keeps runs independent. */
    snprintf(group, sizeof(group), "kafka-consume-%ld", (long)getpid());
    if (kp_conf_set(PROG, conf, "bootstrap.servers", o->bootstrap) != 0 ||
        kp_conf_set(PROG, conf, "group.id", group) != 0 ||
        kp_conf_set(PROG, conf, "enable.partition.eof", "true") != 0 ||
        kp_conf_set(PROG, conf, "enable.auto.commit", "false") != 0 ||
        kp_conf_set(PROG, conf, "enable.auto.offset.store", "false") != 0)
        goto fail;
    for (i = 0; i < o->n_sets; i++) {
        if (kp_conf_set_pair(PROG, conf, o->sets[i]) != 0)
            goto fail;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "%s: rd_kafka_new: %s\n", PROG, errstr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Number of partitions of the topic, waiting for it to exist until the
 * deadline. Returns the count (> 0), or -1 after printing why. */
static int consume_partition_count(rd_kafka_t *rk, const char *topic, int64_t deadline)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    int n = -1;

    if (!rkt) {
        fprintf(stderr, "%s: rd_kafka_topic_new(%s): %s\n", PROG, topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    while (n < 0 && kp_now_ms() < deadline) {
        err = rd_kafka_metadata(rk, 0, rkt, &md, 1000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topics[0].partition_cnt > 0)
                n = md->topics[0].partition_cnt;
            else if (md->topic_cnt == 1)
                err = md->topics[0].err;
            rd_kafka_metadata_destroy(md);
        }
        if (n < 0)
            usleep(200 * 1000); /* the topic may not be created yet */
    }
    rd_kafka_topic_destroy(rkt);
    if (n < 0)
        fprintf(stderr, "%s: no partitions for topic %s: %s\n", PROG, topic,
                rd_kafka_err2name(err));
    return n;
}

/* Assigns every partition from its beginning. Returns 0, or -1 after printing. */
static int consume_assign(struct consume_state *s, const char *topic)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(s->n_parts);
    rd_kafka_resp_err_t err;
    int p;

    for (p = 0; p < s->n_parts; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    err = rd_kafka_assign(s->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "%s: rd_kafka_assign(%s): %s\n", PROG, topic, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Takes one polled message: prints it, or notes an end of partition or an
 * error. */
static void consume_one(struct consume_state *s, const rd_kafka_message_t *msg)
{
    int p = msg->partition;
    bool known = p >= 0 && p < s->n_parts;

    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (known && !s->at_eof[p]) {
            s->at_eof[p] = true;
            s->n_at_eof++;
        }
        return;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->errors++;
        fprintf(stderr, "%s: consumer error on partition %d: %s: %s\n", PROG, p,
                rd_kafka_err2name(msg->err), rd_kafka_message_errstr(msg));
        return;
    }
    if (known && s->at_eof[p]) {
        s->at_eof[p] = false;
        s->n_at_eof--;
    }
    printf("{\"partition\":%d,\"offset\":%lld,\"key\":", p, (long long)msg->offset);
    kp_json_string(stdout, msg->key, msg->key_len);
    fputs(",\"value\":", stdout);
    kp_json_string(stdout, msg->payload, msg->len);
    fputs("}\n", stdout);
    s->messages++;
}

/* True once what the options ask for has been read. */
static bool consume_done(const struct consume_state *s, const struct consume_options *o)
{
    if (o->count < 0 && !o->eof)
        return false;
    if (o->count >= 0 && s->messages < o->count)
        return false;
    return !o->eof || s->n_at_eof == s->n_parts;
}

/* Polls until done or the deadline. Returns true when done. */
static bool consume_loop(struct consume_state *s, const struct consume_options *o, int64_t deadline)
{
    rd_kafka_message_t *msg;

    while (!consume_done(s, o)) {
        if (kp_now_ms() >= deadline)
            return false;
        msg = rd_kafka_consumer_poll(s->rk, 100);
        if (msg) {
            consume_one(s, msg);
            rd_kafka_message_destroy(msg);
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    struct consume_options o = {0};
    struct consume_state s = {0};
    int64_t deadline;
    bool done;
    int rc = 2;

    if (consume_parse_args(argc, argv, &o) != 0) {
        consume_usage();
        return 2;
    }
    deadline = kp_now_ms() + o.timeout_ms;
    s.rk = consume_new(&o);
    if (!s.rk)
        return 2;
    s.n_parts = consume_partition_count(s.rk, o.topic, deadline);
    if (s.n_parts < 0)
        goto out;
    s.at_eof = calloc((size_t)s.n_parts, sizeof(*s.at_eof));
    if (!s.at_eof) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        goto out;
    }
    if (consume_assign(&s, o.topic) != 0)
        goto out;
    done = consume_loop(&s, &o, deadline);
    fflush(stdout);
    fprintf(stderr,
            "{\"messages\":%ld,\"partitions\":%d,\"at_eof\":%s,\"errors\":%ld,"
            "\"timed_out\":%s}\n",
            s.messages, s.n_parts, s.n_at_eof == s.n_parts ? "true" : "false", s.errors,
            done ? "false" : "true");
    rc = done || (o.count < 0 && !o.eof) ? 0 : 1;
out:
    rd_kafka_consumer_close(s.rk);
    rd_kafka_destroy(s.rk);
    free(s.at_eof);
    return rc;
}

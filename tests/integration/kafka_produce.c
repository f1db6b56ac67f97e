/*
 * kafka_produce.c - a small idempotent producer for vigil's tests.
 *
 * usage: kafka_produce --bootstrap HOST:PORT[,...] --topic T [--timeout-ms MS]
 *                      [--set name=value]...
 *
 * Reads stdin one message per line: KEY<TAB>VALUE, or VALUE alone (no tab)
 * for a message without a key; the value may hold more tabs. Producing uses
 * acks=all and enable.idempotence=true (--set may change any property).
 * Every delivery report is one JSON line on stdout, as it comes:
 *   {"key":"k","partition":p,"offset":o}
 *   {"key":"k","error":"ERR_NAME","reason":"..."}
 * At stdin EOF it waits up to --timeout-ms (default 60000) for the rest of
 * the reports, then sums up on stderr:
 *   {"sent":n,"delivered":d,"failed":f,"undelivered":u,"transmitted":t}
 * where t is librdkafka's count of messages put on the wire, retries
 * included (from its statistics, every 100 ms): t > d shows that retries
 * happened.
 * Exit status: 0 when every line was delivered, 1 otherwise, 2 when it could
 * not start.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka_peer.h"

#define PROG     "kafka_produce"
#define MAX_SETS 32
#define LINE_CAP (1024 * 1024)

struct produce_options {
    const char *bootstrap;
    const char *topic;
    long timeout_ms;
    const char *sets[MAX_SETS];
    int n_sets;
};

struct produce_state {
    rd_kafka_t *rk;
    const char *topic;
    long sent;
    long delivered;
    long failed;
    long long transmitted; /* top-level "txmsgs" of the last statistics */
};

static void produce_usage(void)
{
    fprintf(stderr,
            "usage: %s --bootstrap HOST:PORT[,...] --topic T [--timeout-ms MS]\n"
            "       [--set name=value]...\n",
            PROG);
}

/* Fills o from argv. Returns 0, or -1 after printing what was wrong. */
static int produce_parse_args(int argc, char **argv, struct produce_options *o)
{
    const char *v;
    int i;

    o->timeout_ms = 60000;
    for (i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", PROG, argv[i]);
            return -1;
        }
        v = argv[i + 1];
        if (strcmp(argv[i], "--bootstrap") == 0) {
            o->bootstrap = v;
        } else if (strcmp(argv[i], "--topic") == 0) {
            o->topic = v;
        } else if (strcmp(argv[i], "--timeout-ms") == 0) {
            if (kp_parse_long(v, 1, 3600000, &o->timeout_ms) != 0) {
                fprintf(stderr, "%s: --timeout-ms wants 1..3600000, got '%s'\n", PROG, v);
                return -1;
            }
        } else if (strcmp(argv[i], "--set") == 0 && o->n_sets < MAX_SETS) {
            o->sets[o->n_sets++] = v;
        } else {
            fprintf(stderr, "%s: unknown argument (or too many --set) '%s'\n", PROG, argv[i]);
            return -1;
        }
    }
    if (!o->bootstrap || !o->topic) {
        fprintf(stderr, "%s: --bootstrap and --topic are required\n", PROG);
        return -1;
    }
    return 0;
}

/* Delivery report callback (called from rd_kafka_poll on this thread):
 * one JSON line per message, flushed so that a test can follow progress. */
static void produce_dr(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct produce_state *s = opaque;

    (void)rk;
    fputs("{\"key\":", stdout);
    kp_json_string(stdout, msg->key, msg->key_len);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->delivered++;
        printf(",\"partition\":%d,\"offset\":%lld}\n", (int)msg->partition, (long long)msg->offset);
    } else {
        s->failed++;
        printf(",\"error\":\"%s\",\"reason\":", rd_kafka_err2name(msg->err));
        kp_json_string(stdout, rd_kafka_err2str(msg->err), strlen(rd_kafka_err2str(msg->err)));
        fputs("}\n", stdout);
    }
    fflush(stdout);
}

/* Statistics callback: keeps the client-wide "txmsgs" (messages sent,
 * retries included). librdkafka writes the per-broker and per-partition
 * fields of that name first and the client-wide total last. */
static int produce_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    static const char field[] = "\"txmsgs\":";
    struct produce_state *s = opaque;
    const char *last = NULL;
    const char *at = strstr(json, field);

    (void)rk;
    (void)len;
    while (at) {
        last = at;
        at = strstr(at + 1, field);
    }
    if (last)
        s->transmitted = strtoll(last + strlen(field), NULL, 10);
    return 0; /* librdkafka frees json */
}

/* Creates the producer handle with s as the delivery opaque. Returns it, or
 * NULL after printing why. */
static rd_kafka_t *produce_new(const struct produce_options *o, struct produce_state *s)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    int i;

    if (kp_conf_set(PROG, conf, "bootstrap.servers", o->bootstrap) != 0 ||
        kp_conf_set(PROG, conf, "acks", "all") != 0 ||
        kp_conf_set(PROG, conf, "enable.idempotence", "true") != 0 ||
        kp_conf_set(PROG, conf, "statistics.interval.ms", "100") != 0)
        goto fail;
    for (i = 0; i < o->n_sets; i++) {
        if (kp_conf_set_pair(PROG, conf, o->sets[i]) != 0)
            goto fail;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, produce_dr);
    rd_kafka_conf_set_stats_cb(conf, produce_stats);
    rd_kafka_conf_set_opaque(conf, s);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "%s: rd_kafka_new: %s\n", PROG, errstr);
        goto fail;
    }
    return rk;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Produces one input line (without its newline). A full local queue is
 * waited out; any other refusal counts as a failed message and is reported
 * the way a delivery error is. */
static void produce_line(struct produce_state *s, const char *line, size_t n)
{
    const char *tab = memchr(line, '\t', n);
    const char *key = tab ? line : NULL;
    size_t key_len = tab ? (size_t)(tab - line) : 0;
    const char *val = tab ? tab + 1 : line;
    size_t val_len = tab ? n - key_len - 1 : n;
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(s->topic),
                                RD_KAFKA_V_KEY((void *)key, key_len),
                                RD_KAFKA_V_VALUE((void *)val, val_len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(s->rk, 100);
    }
    s->sent++;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->failed++;
        fputs("{\"key\":", stdout);
        kp_json_string(stdout, key, key_len);
        printf(",\"error\":\"%s\",\"reason\":\"produce refused\"}\n", rd_kafka_err2name(err));
        fflush(stdout);
    }
}

/* Produces every complete line of buf[0..*len) and keeps the tail; at eof
 * the tail is a last line of its own. Returns 0, or -1 on a line longer
 * than the buffer. */
static int produce_lines(struct produce_state *s, char *buf, size_t *len, bool eof)
{
    char *start = buf;
    char *nl;

    for (;;) {
        nl = memchr(start, '\n', *len - (size_t)(start - buf));
        if (!nl)
            break;
        produce_line(s, start, (size_t)(nl - start));
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    if (eof && *len > 0) {
        produce_line(s, buf, *len);
        *len = 0;
    }
    if (*len == LINE_CAP) {
        fprintf(stderr, "%s: input line longer than %d bytes\n", PROG, LINE_CAP);
        return -1;
    }
    return 0;
}

/* Reads stdin to EOF, producing as lines come and serving delivery reports
 * in between. Returns 0, or -1 after printing a read error. */
static int produce_stdin(struct produce_state *s)
{
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    char *buf = malloc(LINE_CAP);
    size_t len = 0;
    ssize_t got;
    int rc = -1;

    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return -1;
    }
    for (;;) {
        rd_kafka_poll(s->rk, 0);
        if (poll(&pfd, 1, 50) <= 0)
            continue; /* timeout or EINTR: serve reports, wait again */
        got = read(0, buf + len, LINE_CAP - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, "%s: reading stdin: %s\n", PROG, strerror(errno));
            goto out;
        }
        len += (size_t)got;
        if (produce_lines(s, buf, &len, got == 0) != 0)
            goto out;
        if (got == 0)
            break;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Serves callbacks for 300 ms, so that statistics taken after the last
 * delivery (they come every 100 ms) are the ones reported. */
static void produce_drain_stats(struct produce_state *s)
{
    int64_t until = kp_now_ms() + 300;

    while (kp_now_ms() < until)
        rd_kafka_poll(s->rk, 50);
}

int main(int argc, char **argv)
{
    struct produce_options o = {0};
    struct produce_state s = {0};
    long undelivered;
    int rc = 2;

    if (produce_parse_args(argc, argv, &o) != 0) {
        produce_usage();
        return 2;
    }
    s.topic = o.topic;
    s.rk = produce_new(&o, &s);
    if (!s.rk)
        return 2;
    if (produce_stdin(&s) == 0)
        rc = 0;
    if (rd_kafka_flush(s.rk, (int)o.timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "%s: %d messages still queued after %ld ms\n", PROG,
                rd_kafka_outq_len(s.rk), o.timeout_ms);
    produce_drain_stats(&s);
    undelivered = s.sent - s.delivered - s.failed;
    fprintf(stderr,
            "{\"sent\":%ld,\"delivered\":%ld,\"failed\":%ld,\"undelivered\":%ld,"
            "\"transmitted\":%lld}\n",
            s.sent, s.delivered, s.failed, undelivered, s.transmitted);
    if (rc == 0 && (s.failed > 0 || undelivered > 0))
        rc = 1;
    else if (rc != 0)
        rc = 2;
    /* Undelivered messages are purged so that destroy does not wait on them. */
    rd_kafka_purge(s.rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(s.rk);
    return rc;
}

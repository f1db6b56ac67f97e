/*
 * kafka_mock.c - a Kafka cluster for vigil's tests: librdkafka's mock
 * cluster (3 brokers by default) on loopback, driven over stdin.
 *
 * usage: kafka_mock --bootstrap-file F [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * The bootstrap server list is written to F (atomically: a temporary name,
 * then rename) once the cluster and the --topic topics exist. Then one
 * command per line on stdin, one answer per command on stdout, "ok" or
 * "error <text>":
 *   broker_down <id>          broker stops accepting; no leader change
 *   broker_up <id>            broker accepts connections again
 *   broker_rtt <id> <ms>      delay every response of the broker (0: none)
 *   push_produce_errors <topic|*> <count> <ERR_NAME>...
 *                             the next <count> Produce requests fail with the
 *                             names in turn (the list repeats when shorter)
 *   create_topic <name> <partitions>
 *                             replication min(3, N); partition p is led by
 *                             broker p % N + 1 (so is every --topic topic)
 *   quit
 * Broker ids run from 1 to N; -1 means every broker. It exits 0 on quit,
 * stdin EOF, SIGTERM or SIGINT, and 2 when the cluster cannot start.
 *
 * The mock keeps about 5 MiB (and 100,000 message sets) per partition and
 * silently drops older data past that: tests must stay well under it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* signalfd, strcasecmp */
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <librdkafka/rdkafka_mock.h>

#include "kafka_peer.h"

#define PROG            "kafka_mock"
#define PRODUCE_API_KEY 0 /* RD_KAFKAP_Produce; the protocol header is private */
#define MAX_TOPIC_ARGS  64
#define MAX_PUSHED      256
#define MAX_PARTITIONS  1000
#define LINE_CAP        4096
#define REPLY_CAP       512

struct mock_options {
    const char *bootstrap_file;
    long brokers;
    const char *topics[MAX_TOPIC_ARGS];
    int n_topics;
};

struct mock {
    rd_kafka_t *rk; /* the handle the cluster needs for its bookkeeping */
    rd_kafka_mock_cluster_t *mc;
    int brokers;
};

static void mock_usage(void)
{
    fprintf(stderr, "usage: %s --bootstrap-file F [--brokers N] [--topic NAME:PARTITIONS]...\n",
            PROG);
}

/* Fills o from argv. Returns 0, or -1 after printing what was wrong. */
static int mock_parse_args(int argc, char **argv, struct mock_options *o)
{
    int i;

    o->brokers = 3;
    for (i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", PROG, argv[i]);
            return -1;
        }
        if (strcmp(argv[i], "--bootstrap-file") == 0) {
            o->bootstrap_file = argv[++i];
        } else if (strcmp(argv[i], "--brokers") == 0) {
            if (kp_parse_long(argv[++i], 1, 32, &o->brokers) != 0) {
                fprintf(stderr, "%s: --brokers wants 1..32, got '%s'\n", PROG, argv[i]);
                return -1;
            }
        } else if (strcmp(argv[i], "--topic") == 0) {
            if (o->n_topics == MAX_TOPIC_ARGS) {
                fprintf(stderr, "%s: more than %d --topic\n", PROG, MAX_TOPIC_ARGS);
                return -1;
            }
            o->topics[o->n_topics++] = argv[++i];
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", PROG, argv[i]);
            return -1;
        }
    }
    if (!o->bootstrap_file) {
        fprintf(stderr, "%s: --bootstrap-file is required\n", PROG);
        return -1;
    }
    return 0;
}

/* Creates topic `name` with `partitions` partitions, replicated on up to 3
 * brokers. Returns 0, or -1 with the reason in reply. */
static int mock_create_topic(struct mock *m, const char *name, const char *partitions, char *reply,
                             size_t cap)
{
    long parts;
    long p;
    int rf = m->brokers < 3 ? m->brokers : 3;
    rd_kafka_resp_err_t err;

    if (kp_parse_long(partitions, 1, MAX_PARTITIONS, &parts) != 0) {
        snprintf(reply, cap, "error partitions must be 1..%d, got '%s'", MAX_PARTITIONS,
                 partitions);
        return -1;
    }
    err = rd_kafka_mock_topic_create(m->mc, name, (int)parts, rf);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reply, cap, "error creating topic %s: %s", name, rd_kafka_err2name(err));
        return -1;
    }
    /* A fixed layout, so that a test knows which partitions a broker_down
     * stalls: partition p is led by broker p % brokers + 1. */
    for (p = 0; p < parts; p++) {
        err = rd_kafka_mock_partition_set_leader(m->mc, name, (int32_t)p,
                                                 (int32_t)(p % m->brokers + 1));
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(reply, cap, "error setting the leader of %s[%ld]: %s", name, p,
                     rd_kafka_err2name(err));
            return -1;
        }
    }
    snprintf(reply, cap, "ok");
    return 0;
}

/* Starts the cluster and creates the --topic topics ("NAME:PARTITIONS").
 * Returns 0, or -1 after printing what failed (m may be half set up: the
 * caller runs mock_stop either way). */
static int mock_start(struct mock *m, const struct mock_options *o)
{
    char errstr[512];
    char reply[REPLY_CAP];
    char name[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *colon;
    int i;

    /* This handle never connects: its notice about no bootstrap.servers is noise. */
    if (kp_conf_set(PROG, conf, "log_level", "4") != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!m->rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "%s: rd_kafka_new: %s\n", PROG, errstr);
        return -1;
    }
    m->brokers = (int)o->brokers;
    m->mc = rd_kafka_mock_cluster_new(m->rk, m->brokers);
    if (!m->mc) {
        fprintf(stderr, "%s: rd_kafka_mock_cluster_new(%d brokers) failed\n", PROG, m->brokers);
        return -1;
    }
    for (i = 0; i < o->n_topics; i++) {
        colon = strrchr(o->topics[i], ':');
        if (!colon || colon == o->topics[i] || (size_t)(colon - o->topics[i]) >= sizeof(name)) {
            fprintf(stderr, "%s: --topic wants NAME:PARTITIONS, got '%s'\n", PROG, o->topics[i]);
            return -1;
        }
        memcpy(name, o->topics[i], (size_t)(colon - o->topics[i]));
        name[colon - o->topics[i]] = '\0';
        if (mock_create_topic(m, name, colon + 1, reply, sizeof(reply)) != 0) {
            fprintf(stderr, "%s: --topic %s: %s\n", PROG, o->topics[i], reply);
            return -1;
        }
    }
    return 0;
}

static void mock_stop(struct mock *m)
{
    if (m->mc)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk)
        rd_kafka_destroy(m->rk);
}

/* Writes text and a newline to path through a temporary name and rename, so
 * that a reader polling for path never sees half of it. Returns 0 or -1. */
static int mock_write_bootstrap(const char *path, const char *text)
{
    char tmp[4096];
    FILE *f;
    int rc = -1;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fprintf(stderr, "%s: bootstrap file name too long\n", PROG);
        return -1;
    }
    f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot create %s: %s\n", PROG, tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", text);
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", PROG, tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "%s: cannot rename %s to %s: %s\n", PROG, tmp, path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* The error code named `name` (as rd_kafka_err2name spells it, with or
 * without the RD_KAFKA_RESP_ERR_ prefix, any case; NOT_LEADER_OR_FOLLOWER
 * is accepted for NOT_LEADER_FOR_PARTITION). Returns 0 or -1. */
static int mock_err_by_name(const char *name, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs;
    size_t n;
    size_t i;

    if (strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0)
        name += 18;
    if (strcasecmp(name, "NOT_LEADER_OR_FOLLOWER") == 0)
        name = "NOT_LEADER_FOR_PARTITION";
    rd_kafka_get_err_descs(&descs, &n);
    for (i = 0; i < n; i++) {
        if (descs[i].name && strcasecmp(descs[i].name, name) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    return -1;
}

/* Parses a broker id: 1..brokers, or -1 for all. Returns 0 or -1 (reply set). */
static int mock_broker_id(const struct mock *m, const char *s, int32_t *id, char *reply, size_t cap)
{
    long v;

    if (kp_parse_long(s, -1, m->brokers, &v) != 0 || v == 0) {
        snprintf(reply, cap, "error broker id must be 1..%d or -1, got '%s'", m->brokers,
                 s ? s : "");
        return -1;
    }
    *id = (int32_t)v;
    return 0;
}

/* broker_down / broker_up / broker_rtt <id> [<ms>]. */
static void mock_cmd_broker(struct mock *m, const char *cmd, char **args, int n, char *reply,
                            size_t cap)
{
    int32_t id;
    long ms = 0;
    bool rtt = strcmp(cmd, "broker_rtt") == 0;
    rd_kafka_resp_err_t err;

    if (n != (rtt ? 2 : 1)) {
        snprintf(reply, cap, "error usage: %s <id>%s", cmd, rtt ? " <ms>" : "");
        return;
    }
    if (mock_broker_id(m, args[0], &id, reply, cap) != 0)
        return;
    if (rtt && kp_parse_long(args[1], 0, 600000, &ms) != 0) {
        snprintf(reply, cap, "error rtt must be 0..600000 ms, got '%s'", args[1]);
        return;
    }
    if (rtt)
        err = rd_kafka_mock_broker_set_rtt(m->mc, id, (int)ms);
    else if (strcmp(cmd, "broker_down") == 0)
        err = rd_kafka_mock_broker_set_down(m->mc, id);
    else
        err = rd_kafka_mock_broker_set_up(m->mc, id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(reply, cap, "error %s %d: %s", cmd, (int)id, rd_kafka_err2name(err));
    else
        snprintf(reply, cap, "ok");
}

/* push_produce_errors <topic|*> <count> <ERR_NAME>...
 * The mock's error stack is per request type, not per topic: the errors hit
 * the next <count> Produce requests whatever topics they carry. The topic
 * argument documents the intent of the test and is only checked for shape. */
static void mock_cmd_push(struct mock *m, char **args, int n, char *reply, size_t cap)
{
    rd_kafka_resp_err_t errs[MAX_PUSHED];
    long count;
    int i;

    if (n < 3) {
        snprintf(reply, cap, "error usage: push_produce_errors <topic|*> <count> <ERR_NAME>...");
        return;
    }
    if (kp_parse_long(args[1], 1, MAX_PUSHED, &count) != 0) {
        snprintf(reply, cap, "error count must be 1..%d, got '%s'", MAX_PUSHED, args[1]);
        return;
    }
    for (i = 2; i < n; i++) {
        if (mock_err_by_name(args[i], &errs[i - 2]) != 0) {
            snprintf(reply, cap, "error unknown error name '%s'", args[i]);
            return;
        }
    }
    /* A shorter list repeats, so "5 REQUEST_TIMED_OUT" means five of them. */
    for (i = n - 2; i < count; i++)
        errs[i] = errs[i % (n - 2)];
    rd_kafka_mock_push_request_errors_array(m->mc, PRODUCE_API_KEY, (size_t)count, errs);
    snprintf(reply, cap, "ok");
}

/* Runs one command line; the answer goes to reply. Returns true on quit. */
static bool mock_dispatch(struct mock *m, char *line, char *reply, size_t cap)
{
    char *args[MAX_PUSHED + 3];
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r", &save);
    char *tok;
    int n = 0;

    if (!cmd) {
        snprintf(reply, cap, "error empty command");
        return false;
    }
    for (tok = strtok_r(NULL, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (n == (int)(sizeof(args) / sizeof(args[0]))) {
            snprintf(reply, cap, "error too many arguments");
            return false;
        }
        args[n++] = tok;
    }
    if (strcmp(cmd, "quit") == 0) {
        snprintf(reply, cap, "ok");
        return true;
    }
    if (strcmp(cmd, "broker_down") == 0 || strcmp(cmd, "broker_up") == 0 ||
        strcmp(cmd, "broker_rtt") == 0)
        mock_cmd_broker(m, cmd, args, n, reply, cap);
    else if (strcmp(cmd, "push_produce_errors") == 0)
        mock_cmd_push(m, args, n, reply, cap);
    else if (strcmp(cmd, "create_topic") == 0 && n == 2)
        mock_create_topic(m, args[0], args[1], reply, cap);
    else if (strcmp(cmd, "create_topic") == 0)
        snprintf(reply, cap, "error usage: create_topic <name> <partitions>");
    else
        snprintf(reply, cap, "error unknown command '%s'", cmd);
    return false;
}

/* Answers every complete line in buf[0..*len), keeping the tail that has no
 * newline yet. *skipping is set while the rest of an overlong line is
 * dropped. Returns true when a command asked to quit. */
static bool mock_lines(struct mock *m, char *buf, size_t *len, bool *skipping)
{
    char reply[REPLY_CAP];
    char *start = buf;
    char *nl;
    bool quit = false;

    for (;;) {
        nl = quit ? NULL : memchr(start, '\n', *len - (size_t)(start - buf));
        if (!nl)
            break;
        *nl = '\0';
        if (*skipping) {
            *skipping = false;
        } else {
            quit = mock_dispatch(m, start, reply, sizeof(reply));
            printf("%s\n", reply);
            fflush(stdout);
        }
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    if (*len == LINE_CAP) {
        /* No newline in a full buffer: answer once, drop up to the next one. */
        printf("error line longer than %d bytes\n", LINE_CAP);
        fflush(stdout);
        *len = 0;
        *skipping = true;
    }
    return quit;
}

/* Reads commands until quit, EOF, a signal on sigfd or a read error. */
static void mock_serve(struct mock *m, int sigfd)
{
    char buf[LINE_CAP + 1];
    size_t len = 0;
    bool skipping = false;
    struct pollfd pfd[2] = {{.fd = 0, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    ssize_t got;

    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: poll: %s\n", PROG, strerror(errno));
            return;
        }
        if (pfd[1].revents)
            return;
        if (!pfd[0].revents)
            continue;
        got = read(0, buf + len, LINE_CAP - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return; /* EOF: the driving test is gone */
        len += (size_t)got;
        if (mock_lines(m, buf, &len, &skipping))
            return;
    }
}

int main(int argc, char **argv)
{
    struct mock_options o = {0};
    struct mock m = {0};
    sigset_t set;
    int sigfd = -1;
    int rc = 2;

    if (mock_parse_args(argc, argv, &o) != 0) {
        mock_usage();
        return 2;
    }
    /* Blocked before librdkafka starts its threads, so that they inherit the
     * mask and SIGTERM reaches only the signalfd. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sigfd < 0) {
        fprintf(stderr, "%s: signalfd: %s\n", PROG, strerror(errno));
        return 2;
    }
    if (mock_start(&m, &o) != 0)
        goto out;
    if (mock_write_bootstrap(o.bootstrap_file, rd_kafka_mock_cluster_bootstraps(m.mc)) != 0)
        goto out;
    fprintf(stderr, "%s: %d brokers at %s\n", PROG, m.brokers,
            rd_kafka_mock_cluster_bootstraps(m.mc));
    mock_serve(&m, sigfd);
    rc = 0;
out:
    mock_stop(&m);
    close(sigfd);
    return rc;
}

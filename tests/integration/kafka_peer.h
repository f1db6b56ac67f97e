/*
 * kafka_peer.h - small helpers shared by the Kafka test peers
 * (kafka_mock.c, kafka_produce.c, kafka_consume.c): JSON string output,
 * strict integer parsing, a monotonic clock and librdkafka settings that
 * name what failed. The peers link the agent's core library for its JSON
 * escaping and clock.
 */
#ifndef KAFKA_PEER_H
#define KAFKA_PEER_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "vigil.h"

/* Writes p[0..n) to f as a quoted JSON string (the agent's own escaping:
 * bytes that are not valid UTF-8 become U+FFFD, so every line stays
 * parseable JSON), or `null` when p is NULL. */
static inline void kp_json_string(FILE *f, const void *p, size_t n)
{
    struct vg_buf b;

    if (!p) {
        fputs("null", f);
        return;
    }
    vg_buf_init(&b);
    if (vg_buf_json_string(&b, p, n) == VG_OK)
        fwrite(b.data, 1, b.len, f);
    else
        fputs("null", f);
    vg_buf_free(&b);
}

/* Parses all of s as a base-10 integer in [min, max] into *out.
 * Returns 0, or -1 (out untouched) on junk, overflow or range. */
static inline int kp_parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static inline int64_t kp_now_ms(void)
{
    return vg_mono_ns() / VG_NS_PER_MS;
}

/* Sets one librdkafka property; on failure prints what was refused and
 * why on stderr (prefixed with prog) and returns -1. */
static inline int kp_conf_set(const char *prog, rd_kafka_conf_t *conf, const char *name,
                              const char *value)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: librdkafka refused %s=%s: %s\n", prog, name, value, errstr);
        return -1;
    }
    return 0;
}

/* Applies a "name=value" argument (from --set) with kp_conf_set. */
static inline int kp_conf_set_pair(const char *prog, rd_kafka_conf_t *conf, const char *pair)
{
    char name[256];
    const char *eq = strchr(pair, '=');
    size_t n;

    if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof(name)) {
        fprintf(stderr, "%s: --set wants name=value, got '%s'\n", prog, pair);
        return -1;
    }
    n = (size_t)(eq - pair);
    memcpy(name, pair, n);
    name[n] = '\0';
    return kp_conf_set(prog, conf, name, eq + 1);
}

#endif

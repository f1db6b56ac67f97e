/*
 * es_sink.c - the fastest Elasticsearch _bulk peer vigil's benchmark can
 * talk to: it accepts every item, stores nothing, and so measures the ceiling
 * of the Elasticsearch output rather than of a real cluster.
 *
 * usage: es_sink [--port N] [--port-file F] [--threads N] [--thread-per-connection]
 *
 * Serves, with HTTP/1.1 keep-alive:
 *   POST|PUT /_bulk, /<index>/_bulk  body plain or Content-Encoding: gzip,
 *       decoded and scanned as it arrives (nothing is buffered); every action
 *       line counts as one item and is answered 201 created ("errors":false).
 *       A body that does not end with a newline or does not gunzip gets 400.
 *   GET /_stats   the counters as one JSON object
 *   GET /         a version document (Elasticsearch 8)
 * Port 0 (the default) picks a free port; --port-file F receives it (a
 * temporary name, then rename). By default an internal polling thread pool
 * of --threads (2) threads; --thread-per-connection switches to one thread
 * per connection. SIGTERM or SIGINT prints the counters as JSON on stdout
 * and exits 0; a start failure exits 2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#define PROG          "es_sink"
#define HEAD_CAP      24    /* bytes of each action line kept to read its op */
#define INFLATE_CHUNK 65536 /* decoded bytes scanned per inflate() call */
#define OPS_INITIAL   1024
#define ID_DIGITS     20

enum sink_op { OP_INDEX, OP_CREATE, OP_UPDATE, OP_DELETE, OP_COUNT };

struct sink_options {
    unsigned port;
    const char *port_file;
    unsigned threads;
    bool thread_per_connection;
};

/* Process-wide counters, updated by every connection thread (relaxed atomics). */
struct sink_stats {
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t bulk_requests;
    atomic_uint_fast64_t gzip_requests;
    atomic_uint_fast64_t items;
    atomic_uint_fast64_t bytes_wire;
    atomic_uint_fast64_t bytes_decoded;
    atomic_uint_fast64_t bad_requests;
    atomic_uint_fast64_t id_seq;
};

/* One bulk request in flight; owned by its connection, freed on completion. */
struct sink_request {
    bool is_bulk;
    bool gzip;
    bool bad;
    bool expect_action; /* the next non-empty line is an action line */
    bool last_newline;  /* the last decoded byte was '\n' */
    size_t line_len;
    char head[HEAD_CAP];
    size_t head_len;
    unsigned char *ops; /* the op of each item, in order */
    size_t n_ops, ops_cap;
    uint64_t decoded;
    z_stream zs;
    bool zs_ready;
    bool zs_end; /* the gzip stream ended with no input left after it */
};

static struct sink_stats g_stats;

static const char *const op_names[OP_COUNT] = {"index", "create", "update", "delete"};

static const char version_doc[] =
    "{\"name\":\"es-sink\",\"cluster_name\":\"es-sink\",\"cluster_uuid\":"
    "\"Xq5v1kq1QJ6bS4b5yK1v0Q\",\"version\":{\"number\":\"8.13.4\",\"build_flavor\":"
    "\"default\",\"lucene_version\":\"9.10.0\",\"minimum_wire_compatibility_version\":"
    "\"7.17.0\",\"minimum_index_compatibility_version\":\"7.0.0\"},\"tagline\":"
    "\"You Know, for Search\"}";

static const char no_newline_doc[] =
    "{\"error\":{\"root_cause\":[{\"type\":\"illegal_argument_exception\",\"reason\":"
    "\"The bulk request must be terminated by a newline [\\\\n]\"}],\"type\":"
    "\"illegal_argument_exception\",\"reason\":\"The bulk request must be terminated by a "
    "newline [\\\\n]\"},\"status\":400}";

static const char bad_gzip_doc[] =
    "{\"error\":{\"root_cause\":[{\"type\":\"illegal_argument_exception\",\"reason\":"
    "\"failed to decompress the request body\"}],\"type\":\"illegal_argument_exception\","
    "\"reason\":\"failed to decompress the request body\"},\"status\":400}";

static uint64_t stat_get(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void stat_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/*
 * The op named by an action line's first key, from the line's first bytes;
 * OP_COUNT when it names none (the sink does not judge: it answers "index").
 */
static enum sink_op sink_op_of(const char *head, size_t len)
{
    size_t i = 0;
    while (i < len && (head[i] == ' ' || head[i] == '\t' || head[i] == '{' || head[i] == '"'))
        i++;
    for (int op = 0; op < OP_COUNT; op++) {
        size_t n = strlen(op_names[op]);
        if (len - i >= n && memcmp(head + i, op_names[op], n) == 0)
            return (enum sink_op)op;
    }
    return OP_COUNT;
}

/* Appends one op to the request's list; false when memory runs out. */
static bool sink_push_op(struct sink_request *rq, enum sink_op op)
{
    if (rq->n_ops == rq->ops_cap) {
        size_t cap = rq->ops_cap ? rq->ops_cap * 2 : OPS_INITIAL;
        unsigned char *grown = realloc(rq->ops, cap);
        if (grown == NULL)
            return false;
        rq->ops = grown;
        rq->ops_cap = cap;
    }
    rq->ops[rq->n_ops++] = (unsigned char)(op == OP_COUNT ? OP_INDEX : op);
    return true;
}

/* Ends the current line: an action line records its op and says whether a
 * source line follows; blank lines are skipped as Elasticsearch does. */
static void sink_end_line(struct sink_request *rq)
{
    bool blank = true;
    for (size_t i = 0; i < rq->head_len && blank; i++)
        blank = rq->head[i] == ' ' || rq->head[i] == '\t' || rq->head[i] == '\r';
    if (rq->line_len == 0 || (blank && rq->line_len == rq->head_len)) {
        /* an empty line never changes what comes next */
    } else if (rq->expect_action) {
        enum sink_op op = sink_op_of(rq->head, rq->head_len);
        if (!sink_push_op(rq, op))
            rq->bad = true;
        rq->expect_action = op == OP_DELETE;
    } else {
        rq->expect_action = true;
    }
    rq->line_len = 0;
    rq->head_len = 0;
}

/* Scans decoded body bytes, which may split lines anywhere. */
static void sink_scan(struct sink_request *rq, const char *p, size_t n)
{
    const char *end = p + n;
    rq->decoded += n;
    if (n > 0)
        rq->last_newline = end[-1] == '\n';
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t seg = (size_t)((nl ? nl : end) - p);
        if (rq->head_len < HEAD_CAP) {
            size_t take = seg < HEAD_CAP - rq->head_len ? seg : HEAD_CAP - rq->head_len;
            memcpy(rq->head + rq->head_len, p, take);
            rq->head_len += take;
        }
        rq->line_len += seg;
        if (nl == NULL)
            break;
        sink_end_line(rq);
        p = nl + 1;
    }
}

/* Inflates one piece of a gzip body and scans what comes out; marks the
 * request bad when the stream is corrupt. */
static void sink_inflate(struct sink_request *rq, const char *data, size_t size)
{
    unsigned char out[INFLATE_CHUNK];
    rq->zs.next_in = (unsigned char *)(uintptr_t)data;
    rq->zs.avail_in = (uInt)size;
    while (!rq->bad && rq->zs.avail_in > 0) {
        rq->zs.next_out = out;
        rq->zs.avail_out = sizeof(out);
        int rc = inflate(&rq->zs, Z_NO_FLUSH);
        sink_scan(rq, (const char *)out, sizeof(out) - rq->zs.avail_out);
        rq->zs_end = rc == Z_STREAM_END && rq->zs.avail_in == 0;
        if (rc == Z_STREAM_END) {
            /* concatenated gzip members are legal: start the next one */
            if (rq->zs.avail_in > 0 && inflateReset(&rq->zs) != Z_OK)
                rq->bad = true;
        } else if (rc != Z_OK) {
            rq->bad = true;
        }
    }
}

/* A new request's state, or NULL when memory runs out. */
static struct sink_request *sink_request_create(struct MHD_Connection *conn, const char *url,
                                                const char *method)
{
    struct sink_request *rq = calloc(1, sizeof(*rq));
    if (rq == NULL)
        return NULL;
    size_t ulen = strlen(url);
    rq->is_bulk = (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) && ulen >= 6 &&
                  strcmp(url + ulen - 6, "/_bulk") == 0;
    rq->expect_action = true;
    const char *enc =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    rq->gzip = enc != NULL && (strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0);
    if (rq->gzip) {
        if (inflateInit2(&rq->zs, 16 + MAX_WBITS) != Z_OK) {
            free(rq);
            return NULL;
        }
        rq->zs_ready = true;
    }
    return rq;
}

/* MHD_OPTION_NOTIFY_COMPLETED: frees the request state. */
static void sink_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct sink_request *rq = *con_cls;
    if (rq == NULL)
        return;
    if (rq->zs_ready)
        inflateEnd(&rq->zs);
    free(rq->ops);
    free(rq);
    *con_cls = NULL;
}

/* Writes the 20-digit id of item `seq` at p (zero-padded decimal). */
static void sink_put_id(char *p, uint64_t seq)
{
    for (int i = ID_DIGITS - 1; i >= 0; i--) {
        p[i] = (char)('0' + seq % 10);
        seq /= 10;
    }
}

/*
 * The bulk answer for the request's items, built by copying one prepared
 * item per op and patching its id. With a filter_path (any: the one of
 * interest is errors,items.*.status,items.*.error) the items carry only
 * their status, as Elasticsearch then answers. Returns a malloc'd buffer
 * (the caller owns it) and its length in *len, or NULL when memory runs out.
 */
static char *sink_bulk_answer(const struct sink_request *rq, bool filtered, size_t *len)
{
    static const char full[] = "{\"%s\":{\"_index\":\"es-sink\",\"_id\":\"%0*d\",\"_version\":1,"
                               "\"result\":\"created\",\"_shards\":{\"total\":1,\"successful\":"
                               "1,\"failed\":0},\"_seq_no\":0,\"_primary_term\":1,\"status\":201}}";
    static const char brief[] = "{\"%s\":{\"status\":201}}";
    char items[OP_COUNT][256];
    size_t item_len[OP_COUNT], id_at[OP_COUNT], longest = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        int n = filtered ? snprintf(items[op], sizeof(items[op]), brief, op_names[op])
                         : snprintf(items[op], sizeof(items[op]), full, op_names[op], ID_DIGITS, 0);
        item_len[op] = (size_t)n;
        id_at[op] = filtered ? 0 : (size_t)(strstr(items[op], "\"_id\":\"") - items[op]) + 7;
        longest = item_len[op] > longest ? item_len[op] : longest;
    }
    char *out = malloc(64 + rq->n_ops * (longest + 1));
    if (out == NULL)
        return NULL;
    uint64_t seq = atomic_fetch_add_explicit(&g_stats.id_seq, rq->n_ops, memory_order_relaxed);
    size_t at = (size_t)snprintf(out, 64, "{\"took\":0,\"errors\":false,\"items\":[");
    for (size_t i = 0; i < rq->n_ops; i++) {
        unsigned op = rq->ops[i];
        if (i > 0)
            out[at++] = ',';
        memcpy(out + at, items[op], item_len[op]);
        if (!filtered)
            sink_put_id(out + at + id_at[op], seq + i);
        at += item_len[op];
    }
    memcpy(out + at, "]}", 2);
    *len = at + 2;
    return out;
}

/* The counters as JSON, into buf; returns the length written. */
static size_t sink_stats_json(char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "{\"requests\":%" PRIu64 ",\"bulk_requests\":%" PRIu64
                     ",\"gzip_requests\":%" PRIu64 ",\"items\":%" PRIu64 ",\"bytes_wire\":%" PRIu64
                     ",\"bytes_decoded\":%" PRIu64 ",\"bad_requests\":%" PRIu64 "}",
                     stat_get(&g_stats.requests), stat_get(&g_stats.bulk_requests),
                     stat_get(&g_stats.gzip_requests), stat_get(&g_stats.items),
                     stat_get(&g_stats.bytes_wire), stat_get(&g_stats.bytes_decoded),
                     stat_get(&g_stats.bad_requests));
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

/* Queues one answer; `body` is copied unless `owned` (then MHD frees it). */
static enum MHD_Result sink_reply(struct MHD_Connection *conn, unsigned status, char *body,
                                  size_t len, bool owned)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "X-elastic-product", "Elasticsearch");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Answers a fully received bulk request and counts it. */
static enum MHD_Result sink_finish_bulk(struct MHD_Connection *conn, struct sink_request *rq)
{
    stat_add(&g_stats.bulk_requests, 1);
    stat_add(&g_stats.bytes_decoded, rq->decoded);
    if (rq->gzip)
        stat_add(&g_stats.gzip_requests, 1);
    if (rq->gzip && !rq->zs_end)
        rq->bad = true; /* truncated, or no gzip at all */
    if (rq->bad) {
        stat_add(&g_stats.bad_requests, 1);
        return sink_reply(conn, MHD_HTTP_BAD_REQUEST, (char *)bad_gzip_doc,
                          sizeof(bad_gzip_doc) - 1, false);
    }
    if (!rq->last_newline) {
        stat_add(&g_stats.bad_requests, 1);
        return sink_reply(conn, MHD_HTTP_BAD_REQUEST, (char *)no_newline_doc,
                          sizeof(no_newline_doc) - 1, false);
    }
    stat_add(&g_stats.items, rq->n_ops);
    size_t len = 0;
    bool filtered = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "filter_path") != NULL;
    char *body = sink_bulk_answer(rq, filtered, &len);
    if (body == NULL)
        return MHD_NO;
    return sink_reply(conn, MHD_HTTP_OK, body, len, true);
}

/* Answers anything that is not a bulk request. */
static enum MHD_Result sink_finish_other(struct MHD_Connection *conn, const char *url)
{
    char buf[512];
    if (strcmp(url, "/_stats") == 0) {
        size_t n = sink_stats_json(buf, sizeof(buf));
        return sink_reply(conn, MHD_HTTP_OK, buf, n, false);
    }
    if (strcmp(url, "/") == 0)
        return sink_reply(conn, MHD_HTTP_OK, (char *)version_doc, sizeof(version_doc) - 1, false);
    int n = snprintf(buf, sizeof(buf), "{\"error\":\"no handler found for uri [%.400s]\"}", url);
    return sink_reply(conn, MHD_HTTP_BAD_REQUEST, buf, (size_t)n, false);
}

/* The MHD access handler: scans bulk bodies as they arrive, answers at the end. */
static enum MHD_Result sink_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct sink_request *rq = *con_cls;
    if (rq == NULL) {
        rq = sink_request_create(conn, url, method);
        if (rq == NULL)
            return MHD_NO;
        *con_cls = rq;
        stat_add(&g_stats.requests, 1);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        stat_add(&g_stats.bytes_wire, *upload_data_size);
        if (rq->is_bulk && rq->gzip)
            sink_inflate(rq, upload_data, *upload_data_size);
        else if (rq->is_bulk)
            sink_scan(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return rq->is_bulk ? sink_finish_bulk(conn, rq) : sink_finish_other(conn, url);
}

/* Writes the port to path through a temporary name, so readers see it whole. */
static int sink_write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    int rc = fprintf(f, "%u\n", port) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    return rc;
}

/* Reads an unsigned option value; false when it is not a number in [0, max]. */
static bool sink_parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Fills opts from argv; false (after a message) on a bad command line. */
static bool sink_parse_args(int argc, char **argv, struct sink_options *opts)
{
    opts->port = 0;
    opts->port_file = NULL;
    opts->threads = 2;
    opts->thread_per_connection = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--thread-per-connection") == 0) {
            opts->thread_per_connection = true;
            continue;
        }
        bool ok = v != NULL;
        if (ok && strcmp(a, "--port") == 0)
            ok = sink_parse_uint(v, 65535, &opts->port);
        else if (ok && strcmp(a, "--port-file") == 0)
            opts->port_file = v;
        else if (ok && strcmp(a, "--threads") == 0)
            ok = sink_parse_uint(v, 1024, &opts->threads) && opts->threads > 0;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "usage: " PROG " [--port N] [--port-file F] [--threads N] "
                            "[--thread-per-connection]\n");
            return false;
        }
        i++;
    }
    return true;
}

/* Starts the daemon the options describe, on loopback; NULL on failure. */
static struct MHD_Daemon *sink_start(const struct sink_options *opts)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opts->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    /* a pool size of 0 draws a warning with thread-per-connection: end the list there */
    struct MHD_OptionItem tail[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)opts->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (opts->thread_per_connection) {
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
        tail[0].option = MHD_OPTION_END;
    } else {
        flags |= MHD_USE_EPOLL;
    }
    return MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, sink_access, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, sink_request_done, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
        MHD_OPTION_ARRAY, tail, MHD_OPTION_END);
}

int main(int argc, char **argv)
{
    struct sink_options opts;
    if (!sink_parse_args(argc, argv, &opts))
        return 2;
    /* blocked before any thread starts, so only sigwait() below sees them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = sink_start(&opts);
    if (d == NULL) {
        fprintf(stderr, PROG ": cannot start the HTTP daemon on port %u\n", opts.port);
        return 2;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info != NULL ? info->port : opts.port;
    if (opts.port_file != NULL && sink_write_port_file(opts.port_file, port) != 0) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", opts.port_file, strerror(errno));
        MHD_stop_daemon(d);
        return 2;
    }
    int sig = 0;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    char buf[512];
    size_t n = sink_stats_json(buf, sizeof(buf));
    printf("%.*s\n", (int)n, buf);
    return 0;
}

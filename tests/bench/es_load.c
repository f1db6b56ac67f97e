/*
 * es_load.c - a load generator for Elasticsearch _bulk peers (es_sink,
 * es_receiver.py): K keep-alive connections, each posting one fixed body of
 * N documents over and over for a while, to measure the peer's ceiling.
 *
 * usage: es_load --url http://127.0.0.1:PORT/_bulk [--connections K] [--seconds S]
 *                [--docs N] [--plain]
 *
 * The body is N `create` items of a log-like document, gzip-compressed
 * unless --plain. An answer counts when it is HTTP 200 with "errors":false.
 * Prints one JSON object on stdout: requests, items, failed, seconds,
 * requests_per_s, items_per_s, body_bytes and decoded_bytes. Exits 0 when
 * every answer counted, 1 when any failed, 2 on a bad command line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#define PROG            "es_load"
#define MAX_CONNECTIONS 1024
#define ANSWER_CAP      64 /* bytes of each answer kept, enough to read "errors" */

struct load_options {
    const char *url;
    unsigned connections;
    double seconds;
    unsigned docs;
    bool plain;
};

/* One connection's transfer and the head of its current answer. */
struct load_conn {
    CURL *easy;
    char head[ANSWER_CAP];
    size_t head_len;
};

struct load_totals {
    uint64_t requests;
    uint64_t failed;
};

static double load_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The NDJSON body of `docs` create items into a malloc'd buffer (the caller
 * frees it); NULL when memory runs out.
 */
static char *load_ndjson(unsigned docs, size_t *len)
{
    static const char action[] = "{\"create\":{\"_index\":\"logs-bench-default\"}}\n";
    static const char fmt[] =
        "{\"@timestamp\":\"2024-05-01T12:00:00.%06uZ\",\"message\":\"GET /api/v1/items/%u "
        "HTTP/1.1 200 512 0.004\",\"log\":{\"level\":\"info\"},\"host\":{\"name\":"
        "\"node-1\"},\"kubernetes\":{\"namespace\":\"default\",\"pod\":\"web-7d9f\"},"
        "\"seq\":%u}\n";
    size_t cap = (size_t)docs * (sizeof(action) + sizeof(fmt) + 32) + 1;
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t at = 0;
    for (unsigned i = 0; i < docs; i++) {
        memcpy(buf + at, action, sizeof(action) - 1);
        at += sizeof(action) - 1;
        int n = snprintf(buf + at, cap - at, fmt, i % 1000000u, i, i);
        if (n < 0 || (size_t)n >= cap - at) {
            free(buf);
            return NULL;
        }
        at += (size_t)n;
    }
    *len = at;
    return buf;
}

/* in gzip-compressed into a malloc'd buffer; NULL on failure. */
static char *load_gzip(const char *in, size_t in_len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)in_len) + 32;
    char *out = malloc(cap);
    if (out == NULL) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (unsigned char *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = (unsigned char *)out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* CURLOPT_WRITEFUNCTION: keeps the first bytes of the answer, drops the rest. */
static size_t load_on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct load_conn *c = userp;
    size_t n = size * nmemb;
    size_t room = sizeof(c->head) - 1 - c->head_len;
    size_t take = n < room ? n : room;
    memcpy(c->head + c->head_len, data, take);
    c->head_len += take;
    c->head[c->head_len] = '\0';
    return n;
}

/* Sets up one connection's easy handle to post body; false on failure. */
static bool load_conn_init(struct load_conn *c, const struct load_options *opts,
                           struct curl_slist *headers, const char *body, size_t len)
{
    c->easy = curl_easy_init();
    if (c->easy == NULL)
        return false;
    curl_easy_setopt(c->easy, CURLOPT_URL, opts->url);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, load_on_data);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, 30L);
    return true;
}

/* Whether the answer's head says "errors": false (any spacing). */
static bool load_no_errors(const char *head)
{
    const char *p = strstr(head, "\"errors\"");
    if (p == NULL)
        return false;
    p += strlen("\"errors\"");
    while (*p == ' ' || *p == ':')
        p++;
    return strncmp(p, "false", 5) == 0;
}

/* Counts one finished transfer: ok only as HTTP 200 with "errors":false. */
static void load_count(CURLMsg *msg, struct load_totals *t)
{
    struct load_conn *c = NULL;
    long code = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
    t->requests++;
    if (msg->data.result != CURLE_OK || code != 200 || c == NULL || !load_no_errors(c->head))
        t->failed++;
    if (c != NULL) {
        c->head_len = 0;
        c->head[0] = '\0';
    }
}

/*
 * Runs the connections until `seconds` pass, restarting each transfer as it
 * ends (curl keeps its connection alive). Returns the elapsed seconds.
 */
static double load_run(CURLM *multi, struct load_conn *conns, const struct load_options *opts,
                       struct load_totals *t)
{
    double start = load_now();
    double stop_at = start + opts->seconds;
    for (unsigned i = 0; i < opts->connections; i++)
        curl_multi_add_handle(multi, conns[i].easy);
    int running = (int)opts->connections;
    while (running > 0) {
        curl_multi_perform(multi, &running);
        CURLMsg *msg = NULL;
        int left = 0;
        bool again = load_now() < stop_at;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *easy = msg->easy_handle;
            load_count(msg, t);
            curl_multi_remove_handle(multi, easy);
            if (again) {
                curl_multi_add_handle(multi, easy);
                running++;
            }
        }
        if (running > 0)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    return load_now() - start;
}

/* Fills opts from argv; false (after a message) on a bad command line. */
static bool load_parse_args(int argc, char **argv, struct load_options *opts)
{
    *opts = (struct load_options){NULL, 4, 10.0, 1000, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        char *end = NULL;
        bool ok = true;
        errno = 0;
        if (strcmp(a, "--plain") == 0) {
            opts->plain = true;
            continue;
        }
        if (strcmp(a, "--url") == 0)
            opts->url = v;
        else if (strcmp(a, "--connections") == 0)
            opts->connections = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--docs") == 0)
            opts->docs = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--seconds") == 0)
            opts->seconds = strtod(v, &end);
        else
            ok = false;
        if (!ok || errno != 0 || (end != NULL && (end == v || *end != '\0')))
            goto usage;
        i++;
    }
    if (opts->url != NULL && opts->connections > 0 && opts->connections <= MAX_CONNECTIONS &&
        opts->docs > 0 && opts->seconds > 0)
        return true;
usage:
    fprintf(stderr, "usage: " PROG " --url URL [--connections K] [--seconds S] [--docs N] "
                    "[--plain]\n");
    return false;
}

/* Builds the body to post (gzip unless --plain); NULL on failure. */
static char *load_body(const struct load_options *opts, size_t *len, size_t *decoded)
{
    char *plain = load_ndjson(opts->docs, decoded);
    if (plain == NULL || opts->plain) {
        *len = *decoded;
        return plain;
    }
    char *packed = load_gzip(plain, *decoded, len);
    free(plain);
    return packed;
}

static void load_report(const struct load_options *opts, const struct load_totals *t, double secs,
                        size_t len, size_t decoded)
{
    uint64_t ok = t->requests - t->failed;
    printf("{\"connections\":%u,\"docs_per_request\":%u,\"gzip\":%s,\"requests\":%llu,"
           "\"items\":%llu,\"failed\":%llu,\"seconds\":%.3f,\"requests_per_s\":%.1f,"
           "\"items_per_s\":%.0f,\"body_bytes\":%zu,\"decoded_bytes\":%zu}\n",
           opts->connections, opts->docs, opts->plain ? "false" : "true",
           (unsigned long long)t->requests, (unsigned long long)(ok * opts->docs),
           (unsigned long long)t->failed, secs, (double)ok / secs, (double)(ok * opts->docs) / secs,
           len, decoded);
}

int main(int argc, char **argv)
{
    struct load_options opts;
    if (!load_parse_args(argc, argv, &opts))
        return 2;
    int rc = 2;
    size_t len = 0, decoded = 0;
    struct load_totals totals = {0, 0};
    struct curl_slist *headers = NULL;
    struct load_conn *conns = calloc(opts.connections, sizeof(*conns));
    char *body = load_body(&opts, &len, &decoded);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    if (conns == NULL || body == NULL || multi == NULL)
        goto out;
    headers = curl_slist_append(headers, "Content-Type: application/x-ndjson");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    if (!opts.plain)
        headers = curl_slist_append(headers, "Content-Encoding: gzip");
    for (unsigned i = 0; i < opts.connections; i++)
        if (!load_conn_init(&conns[i], &opts, headers, body, len))
            goto out;
    double secs = load_run(multi, conns, &opts, &totals);
    load_report(&opts, &totals, secs, len, decoded);
    rc = totals.failed == 0 ? 0 : 1;
out:
    for (unsigned i = 0; conns != NULL && i < opts.connections; i++)
        if (conns[i].easy != NULL)
            curl_easy_cleanup(conns[i].easy);
    if (multi != NULL)
        curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    free(conns);
    free(body);
    if (rc == 2)
        fprintf(stderr, PROG ": cannot set up the load\n");
    return rc;
}

/*
 * elasticsearch.c - the elasticsearch output: records as _bulk NDJSON
 * (Elasticsearch 7 and 8, OpenSearch 1 and 2), gzip-compressed, over
 * libcurl.
 *
 * One send() encodes the pending records of its batch into one body,
 * cuts it into requests of at most bulk_max_bytes and sends them with
 * curl multi, at most `workers` at a time. The multi handle and the
 * `workers` easy handles live as long as the output, so connections are
 * kept alive between sends; the body, gzip, reply and index buffers are
 * reused too, so a send allocates nothing in steady state.
 *
 * Each reply is read item by item: 2xx and 409 (a replayed create) are
 * delivered, 429 and 5xx stay pending (the engine retries the batch and
 * only those go out again), any other item goes to the dead-letter file
 * with Elasticsearch's reason. A whole request that fails (connection,
 * timeout, 5xx) leaves its records pending and the next request goes to
 * the next URL; 413 halves the request; 401 and 403 stop the output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "es_parse.h"
#include "vigil.h"

#define ES_PLUGIN "elasticsearch"
/* The most read of one reply: the trimmed reply of a request of n records
 * holds a status and at most an error object per item, and an error may
 * quote a document, so ES_REPLY_BASE + n * ES_REPLY_PER_ITEM + the size of
 * the request is more than any true reply. A longer one (decompressed) is
 * cut off and counted, and the request fails. Reply buffers that grew past
 * ES_REPLY_KEEP are freed after use, so a large reply is not held on to. */
#define ES_REPLY_BASE     (64u << 10)
#define ES_REPLY_PER_ITEM 2048u
#define ES_REPLY_KEEP     (1u << 20)
#define ES_URL_HOLD_NS    (10 * VG_NS_PER_SEC) /* a failing URL is skipped that long */
#define ES_CONNECT_MAX_MS INT64_C(10000)       /* connect timeout, at most the timeout */
#define ES_WORKERS_MAX    64
#define ES_BULK_MIN       1024u
#define ES_FAILURE_MAX    1024
#define ES_POLL_MS        1000
#define ES_STALL_MIN_MS   INT64_C(10)   /* first wait after curl_multi_perform failed */
#define ES_STALL_GRACE_MS INT64_C(1000) /* past the timeout: a request is abandoned */
/* The reply only needs each item's status and error: a much smaller reply
 * to read (Elasticsearch and OpenSearch both take filter_path). */
#define ES_BULK_PATH "/_bulk?filter_path=errors,items.*.status,items.*.error"

/* Records [start, end) of the send's pending list, as one request. */
struct es_range {
    size_t start, end;
    unsigned tries; /* URLs already tried for it in this send */
};

/* One easy handle and the request it carries (worker thread). */
struct es_conn {
    CURL *easy;
    bool busy;
    struct es_range r;
    size_t url;          /* index into ctx->urls */
    int64_t t0;          /* vg_mono_ns at the start */
    uint64_t raw;        /* NDJSON bytes of the request */
    uint64_t wire;       /* bytes as sent */
    size_t reply_max;    /* the most read of its reply (see ES_REPLY_BASE) */
    bool too_big;        /* the reply passed reply_max */
    struct vg_buf gz;    /* the compressed body */
    struct vg_buf reply; /* the reply body */
    char errbuf[CURL_ERROR_SIZE];
};

struct es_url {
    char *show;         /* the base URL with its credentials masked, for messages */
    char *bulk;         /* what requests go to */
    int64_t down_until; /* vg_mono_ns before which it is skipped */
};

/* The outcome of one send. */
struct es_round {
    struct vg_batch *b;
    bool stop;
    size_t failed_requests;
    size_t item_retries;
    char failure[ES_FAILURE_MAX]; /* the first failure */
};

struct es_ctx {
    struct vg_strlist url;   /* option */
    char *index;             /* option */
    char *data_stream;       /* option */
    char *pipeline;          /* option */
    char *routing;           /* option */
    char *user;              /* option */
    char *password;          /* option, secret */
    char *api_key;           /* option, secret */
    char *ca_file;           /* option */
    char *client_cert;       /* option */
    char *client_key;        /* option */
    bool tls_verify;         /* option */
    char *id;                /* option: auto|none */
    int64_t timeout_ms;      /* option */
    char *compress;          /* option: gzip|none */
    int64_t compress_level;  /* option */
    int64_t workers;         /* option */
    uint64_t bulk_max_bytes; /* option */

    struct vg_output *o;
    struct es_encoder enc;
    struct es_url *urls;
    size_t n_urls, rr;
    bool gzip, z_ok, curl_ok;
    z_stream z;
    CURLM *multi;
    struct es_conn *conns;
    size_t n_conns, busy;
    struct curl_slist *headers;
    /* reused from send to send */
    struct vg_buf raw; /* the NDJSON of the pending records */
    size_t *off;       /* off[k]: where pending record k starts in raw */
    size_t *idx;       /* idx[k]: its index in the batch */
    size_t off_cap, idx_cap;
    struct es_range *queue; /* requests not started yet: [q_head, q_len) */
    size_t q_head, q_len, q_cap;
    struct es_item *items;
    size_t items_cap;
    struct vg_buf why;
    struct es_round round;
    struct vg_complain failover_complain;
    struct vg_complain multi_complain; /* curl_multi_perform failing */
};

static const struct vg_option es_options[] = {
    {"url", VG_OPT_STRLIST, NULL, offsetof(struct es_ctx, url),
     "base URL(s), http:// or https://; several: round-robin, failing over to the next",
     VG_OPT_REQUIRED, NULL},
    {"index", VG_OPT_STR, "vigil-%Y.%m.%d", offsetof(struct es_ctx, index),
     "index: strftime on the record time (UTC) and {field} of the record", 0, NULL},
    {"data_stream", VG_OPT_STR, "", offsetof(struct es_ctx, data_stream),
     "data stream to write to instead of index (e.g. logs-generic-default); op create", 0, NULL},
    {"pipeline", VG_OPT_STR, "", offsetof(struct es_ctx, pipeline),
     "ingest pipeline the documents go through; empty: none", 0, NULL},
    {"routing", VG_OPT_STR, "", offsetof(struct es_ctx, routing),
     "routing value, a {field} template; a record without the field is routed by _id", 0, NULL},
    {"user", VG_OPT_STR, "", offsetof(struct es_ctx, user), "user for basic authentication", 0,
     NULL},
    {"password", VG_OPT_STR, "", offsetof(struct es_ctx, password),
     "password for basic authentication", VG_OPT_SECRET, NULL},
    {"api_key", VG_OPT_STR, "", offsetof(struct es_ctx, api_key),
     "API key, base64 of id:key as Elasticsearch returns it (Authorization: ApiKey)", VG_OPT_SECRET,
     NULL},
    {"ca_file", VG_OPT_STR, "", offsetof(struct es_ctx, ca_file),
     "PEM file of the CAs that sign the server certificate; empty: the system's", 0, NULL},
    {"client_cert", VG_OPT_STR, "", offsetof(struct es_ctx, client_cert),
     "PEM client certificate for mutual TLS", 0, NULL},
    {"client_key", VG_OPT_STR, "", offsetof(struct es_ctx, client_key),
     "PEM private key of client_cert", 0, NULL},
    {"tls_verify", VG_OPT_BOOL, "true", offsetof(struct es_ctx, tls_verify),
     "verify the server certificate and host name (false: a warning at start)", 0, NULL},
    {"id", VG_OPT_ENUM, "auto", offsetof(struct es_ctx, id),
     "auto: _id from node, source and position, so a replay never duplicates; none: no _id", 0,
     "auto|none"},
    {"timeout", VG_OPT_DURATION, "30s", offsetof(struct es_ctx, timeout_ms),
     "longest time one request may take", VG_OPT_MIN, NULL, 1, 0},
    {"compress", VG_OPT_ENUM, "gzip", offsetof(struct es_ctx, compress), "request body compression",
     0, "gzip|none"},
    {"compress_level", VG_OPT_INT, "1", offsetof(struct es_ctx, compress_level),
     "gzip level, 1 (fastest) to 9 (smallest)", VG_OPT_RANGE, NULL, 1, 9},
    {"workers", VG_OPT_INT, "2", offsetof(struct es_ctx, workers),
     "requests in flight at once (and connections kept per URL)", VG_OPT_RANGE, NULL, 1,
     ES_WORKERS_MAX},
    {"bulk_max_bytes", VG_OPT_SIZE, "5MiB", offsetof(struct es_ctx, bulk_max_bytes),
     "largest _bulk body before compression; a batch is cut into several requests", VG_OPT_MIN,
     NULL, ES_BULK_MIN, 0},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static bool es_given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* http://HOST[:PORT] or https://HOST[:PORT], with a host. */
static bool es_url_ok(const char *u)
{
    if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0)
        return false;
    return u[strcspn(u, ":") + 3] != '\0' && u[strcspn(u, ":") + 3] != '/';
}

/* ---- configuration (engine thread, init) ---- */

/* The URL as messages show it, its credentials masked; malloc'd. */
static char *es_url_show(const char *url)
{
    size_t size = strlen(url) + sizeof(VG_SECRET_MASK);
    char *show = malloc(size);

    if (show != NULL)
        vg_secret_mask(url, NULL, show, size);
    return show;
}

/* Fills ctx->urls[i] from the base URL u: scheme checked, trailing
 * slashes dropped, the _bulk path and the pipeline appended. */
static int es_url_make(struct es_ctx *ctx, const char *u, struct es_url *out, struct vg_error *err)
{
    size_t n = strlen(u);
    char *pipe = NULL;
    struct vg_buf b;
    int rc = VG_OK;

    if (!es_url_ok(u))
        return vg_error_set(err, VG_ECONFIG,
                            "url '%s' is not http://HOST[:PORT] or https://HOST[:PORT]", u);
    while (n > 0 && u[n - 1] == '/')
        n--;
    vg_buf_init(&b);
    if (es_given(ctx->pipeline)) {
        pipe = curl_easy_escape(NULL, ctx->pipeline, 0);
        if (pipe == NULL)
            return vg_error_set(err, VG_ENOMEM, "out of memory");
    }
    if (vg_buf_append(&b, u, n) != VG_OK || vg_buf_puts(&b, ES_BULK_PATH) != VG_OK ||
        (pipe != NULL && vg_buf_printf(&b, "&pipeline=%s", pipe) != VG_OK))
        rc = VG_ENOMEM;
    curl_free(pipe);
    out->bulk = b.data;
    out->show = rc == VG_OK ? es_url_show(u) : NULL;
    if (rc != VG_OK || out->show == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

static int es_urls_build(struct es_ctx *ctx, struct vg_error *err)
{
    size_t i;
    int rc = VG_OK;

    if (ctx->url.n == 0)
        return vg_error_set(err, VG_ECONFIG, "url: at least one URL is required");
    ctx->urls = calloc(ctx->url.n, sizeof(*ctx->urls));
    if (ctx->urls == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    ctx->n_urls = ctx->url.n;
    for (i = 0; i < ctx->url.n && rc == VG_OK; i++)
        rc = es_url_make(ctx, ctx->url.v[i], &ctx->urls[i], err);
    return rc;
}

/* A TLS file option must name a readable file. */
static void es_file_check(struct vg_check *chk, const char *option, const char *path)
{
    if (!es_given(path) || access(path, R_OK) == 0)
        return;
    vg_check_error(chk, option, "option '%s': cannot read '%s': %s", option, path,
                   vg_errno_str(errno));
}

/* The templates: index (or data_stream) and routing. */
static void es_check_templates(const struct es_ctx *ctx, struct vg_check *chk)
{
    const char *tmpl = es_given(ctx->data_stream) ? ctx->data_stream : ctx->index;
    const char *what = es_given(ctx->data_stream) ? "data_stream" : "index";
    struct vg_error why = {0};

    if (es_template_check(tmpl, ES_EXPAND_INDEX, &why) != VG_OK)
        vg_check_error(chk, what, "option '%s': '%s': %s", what, tmpl != NULL ? tmpl : "", why.msg);
    if (es_given(ctx->routing) && es_template_check(ctx->routing, 0, &why) != VG_OK)
        vg_check_error(chk, "routing", "option 'routing': '%s': %s", ctx->routing, why.msg);
}

/* The check callback: what the option table cannot declare (templates,
 * which credentials go together, readable TLS files). Ranges are in the
 * table. */
static int es_check(const void *c, struct vg_check *chk)
{
    const struct es_ctx *ctx = c;
    size_t i;

    es_check_templates(ctx, chk);
    for (i = 0; i < ctx->url.n; i++)
        if (!es_url_ok(ctx->url.v[i]))
            vg_check_error(chk, "url",
                           "option 'url': '%s' is not http://HOST[:PORT] or https://HOST[:PORT]",
                           ctx->url.v[i]);
    if (es_given(ctx->api_key) && es_given(ctx->user))
        vg_check_error(chk, "api_key", "options 'api_key' and 'user' both given; use one");
    else if (es_given(ctx->api_key) && es_given(ctx->password))
        vg_check_error(chk, "api_key", "options 'api_key' and 'password' both given; use one");
    else if (es_given(ctx->user) != es_given(ctx->password))
        vg_check_error(chk, es_given(ctx->user) ? "user" : "password",
                       "options 'user' and 'password' (or 'password_file') go together");
    es_file_check(chk, "ca_file", ctx->ca_file);
    es_file_check(chk, "client_cert", ctx->client_cert);
    es_file_check(chk, "client_key", ctx->client_key);
    return VG_OK; /* what it found is in chk */
}

/* The headers of every request; the API key is in one of them. */
static int es_headers_build(struct es_ctx *ctx)
{
    struct curl_slist *h = NULL, *next;
    struct vg_buf auth;
    int rc = VG_OK;
    /* Expect: off, so that a large body never waits for 100-continue */
    const char *fixed[] = {"Content-Type: application/x-ndjson",
                           "Expect:", ctx->gzip ? "Content-Encoding: gzip" : NULL};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(fixed) && rc == VG_OK; i++) {
        if (fixed[i] == NULL)
            continue;
        next = curl_slist_append(h, fixed[i]);
        rc = next != NULL ? VG_OK : VG_ENOMEM;
        h = next != NULL ? next : h;
    }
    vg_buf_init(&auth);
    if (rc == VG_OK && es_given(ctx->api_key)) {
        rc = vg_buf_printf(&auth, "Authorization: ApiKey %s", ctx->api_key);
        next = rc == VG_OK ? curl_slist_append(h, auth.data) : NULL;
        rc = next != NULL ? VG_OK : VG_ENOMEM;
        h = next != NULL ? next : h;
        /* the copy curl made is the only one left */
        if (auth.data != NULL)
            memset(auth.data, 0, auth.cap);
    }
    vg_buf_free(&auth);
    ctx->headers = h;
    return rc;
}

/* Sets the options an easy handle keeps from request to request. */
static int es_easy_setup(struct es_ctx *ctx, struct es_conn *c)
{
    long verify = ctx->tls_verify ? 1L : 0L;
    int64_t connect = ctx->timeout_ms < ES_CONNECT_MAX_MS ? ctx->timeout_ms : ES_CONNECT_MAX_MS;
    CURLcode e = CURLE_OK;

    c->easy = curl_easy_init();
    if (c->easy == NULL)
        return VG_ENOMEM;
    e |= curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    e |= curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    e |= curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
    e |= curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, ctx->headers);
    e |= curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
    e |= curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)ctx->timeout_ms);
    e |= curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    e |= curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    e |= curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, verify);
    e |= curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (ctx->gzip)
        e |= curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "gzip");
    if (es_given(ctx->ca_file))
        e |= curl_easy_setopt(c->easy, CURLOPT_CAINFO, ctx->ca_file);
    if (es_given(ctx->client_cert))
        e |= curl_easy_setopt(c->easy, CURLOPT_SSLCERT, ctx->client_cert);
    if (es_given(ctx->client_key))
        e |= curl_easy_setopt(c->easy, CURLOPT_SSLKEY, ctx->client_key);
    if (es_given(ctx->user)) {
        e |= curl_easy_setopt(c->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        e |= curl_easy_setopt(c->easy, CURLOPT_USERNAME, ctx->user);
        e |= curl_easy_setopt(c->easy, CURLOPT_PASSWORD, ctx->password);
    }
    return e == CURLE_OK ? VG_OK : VG_EINVAL;
}

/* The multi handle, the easy handles and the reused buffers. */
static int es_curl_setup(struct es_ctx *ctx, struct vg_error *err)
{
    size_t i;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return vg_error_set(err, VG_ENOMEM, "libcurl cannot start");
    ctx->curl_ok = true;
    if (es_headers_build(ctx) != VG_OK)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    ctx->multi = curl_multi_init();
    ctx->conns = calloc((size_t)ctx->workers, sizeof(*ctx->conns));
    if (ctx->multi == NULL || ctx->conns == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    /* one kept-alive connection per worker to every URL */
    curl_multi_setopt(ctx->multi, CURLMOPT_MAXCONNECTS, (long)(ctx->workers * ctx->n_urls));
    ctx->n_conns = (size_t)ctx->workers;
    for (i = 0; i < ctx->n_conns; i++) {
        vg_buf_init(&ctx->conns[i].gz);
        vg_buf_init(&ctx->conns[i].reply);
        if (es_easy_setup(ctx, &ctx->conns[i]) != VG_OK)
            return vg_error_set(err, VG_ECONFIG, "libcurl refused an option (TLS support?)");
    }
    return VG_OK;
}

static void es_encoder_setup(struct es_ctx *ctx)
{
    bool ds = es_given(ctx->data_stream);

    memset(&ctx->enc, 0, sizeof(ctx->enc));
    ctx->enc.index = ds ? ctx->data_stream : ctx->index;
    ctx->enc.routing = es_given(ctx->routing) ? ctx->routing : NULL;
    ctx->enc.data_stream = ds;
    ctx->enc.id_auto = ctx->id == NULL || strcmp(ctx->id, "none") != 0;
    ctx->enc.node = vg_node_name();
    ctx->enc.schema = ctx->o->record_schema;
    es_encoder_reset(&ctx->enc);
}

static int es_init(struct vg_output *o, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct es_ctx *ctx = o->ctx;
    int rc;

    (void)cfg;
    ctx->o = o;
    vg_buf_init(&ctx->raw);
    vg_buf_init(&ctx->why);
    ctx->gzip = ctx->compress == NULL || strcmp(ctx->compress, "none") != 0;
    /* ranges and relations: checked by the plan (the table and es_check) */
    rc = es_urls_build(ctx, err);
    if (rc == VG_OK && ctx->gzip) {
        rc = vg_gzip_init(&ctx->z, (int)ctx->compress_level);
        ctx->z_ok = rc == VG_OK;
        if (rc != VG_OK)
            vg_error_set(err, rc, "cannot set up gzip");
    }
    if (rc == VG_OK)
        rc = es_curl_setup(ctx, err);
    if (rc != VG_OK)
        return rc;
    es_encoder_setup(ctx);
    if (!ctx->tls_verify)
        vg_log(VG_LOG_WARN, ES_PLUGIN, o->name,
               "tls_verify is false: the server certificate is not checked, anyone on the path "
               "can read and change what is sent");
    vg_log(VG_LOG_INFO, ES_PLUGIN, o->name,
           "sending to %s%s (%zu URL%s), %s %s, id %s, compress %s, %" PRId64 " workers",
           ctx->urls[0].show, ctx->n_urls > 1 ? " and others" : "", ctx->n_urls,
           ctx->n_urls > 1 ? "s" : "", ctx->enc.data_stream ? "data stream" : "index",
           ctx->enc.index, ctx->enc.id_auto ? "auto" : "none", ctx->gzip ? "gzip" : "none",
           ctx->workers);
    return VG_OK;
}

/* ---- sending (worker thread) ---- */

/* Keeps the first failure of the send as its reason. */
static void es_note(struct es_ctx *ctx, const char *fmt, ...) VG_PRINTF(2, 3);
static void es_note(struct es_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    if (ctx->round.failure[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(ctx->round.failure, sizeof(ctx->round.failure), fmt, ap);
    va_end(ap);
}

static int es_queue_push(struct es_ctx *ctx, size_t start, size_t end, unsigned tries)
{
    void *q = ctx->queue;

    if (vg_grow(&q, &ctx->q_cap, ctx->q_len + 1, sizeof(*ctx->queue)) != VG_OK)
        return VG_ENOMEM;
    ctx->queue = q;
    ctx->queue[ctx->q_len].start = start;
    ctx->queue[ctx->q_len].end = end;
    ctx->queue[ctx->q_len].tries = tries;
    ctx->q_len++;
    return VG_OK;
}

/* Makes room for n pending records in off, idx and items. */
static int es_reserve(struct es_ctx *ctx, size_t n)
{
    void *off = ctx->off, *idx = ctx->idx, *items = ctx->items;
    int rc = vg_grow(&off, &ctx->off_cap, n + 1, sizeof(*ctx->off));

    ctx->off = off;
    if (rc == VG_OK)
        rc = vg_grow(&idx, &ctx->idx_cap, n, sizeof(*ctx->idx));
    ctx->idx = idx;
    if (rc == VG_OK)
        rc = vg_grow(&items, &ctx->items_cap, n, sizeof(*ctx->items));
    ctx->items = items;
    return rc;
}

/* Encodes the pending records of b into ctx->raw and returns how many
 * went in (*n); a record whose index name cannot be made is dead-lettered.
 * VG_OK or VG_ENOMEM. */
static int es_encode_batch(struct es_ctx *ctx, struct vg_batch *b, size_t *n)
{
    size_t i, count = vg_batch_count(b), k = 0;
    struct vg_error why = {0};
    int rc = es_reserve(ctx, count);

    vg_buf_reset(&ctx->raw);
    *n = 0;
    if (rc != VG_OK)
        return rc;
    ctx->off[0] = 0;
    for (i = 0; i < count; i++) {
        if (!vg_output_pending(ctx->o, b, i))
            continue;
        rc = es_encode(&ctx->enc, vg_batch_record(b, i), &ctx->raw, &why);
        if (rc == VG_EINVAL) {
            vg_output_dead_letter(ctx->o, b, i, why.msg);
            continue;
        }
        if (rc != VG_OK)
            return rc;
        ctx->idx[k] = i;
        ctx->off[k + 1] = ctx->raw.len;
        k++;
    }
    *n = k;
    return VG_OK;
}

/* The next URL in turn that is not held back after a failure; when all
 * are, the next one anyway. */
static size_t es_pick_url(struct es_ctx *ctx)
{
    int64_t now = vg_mono_ns();
    size_t i, u;

    for (i = 0; i < ctx->n_urls; i++) {
        u = (ctx->rr + i) % ctx->n_urls;
        if (ctx->urls[u].down_until <= now) {
            ctx->rr = u + 1;
            return u;
        }
    }
    u = ctx->rr % ctx->n_urls;
    ctx->rr = u + 1;
    return u;
}

/* curl's write callback: the reply, decompressed, up to c->reply_max;
 * past it the transfer is aborted (CURLE_WRITE_ERROR). */
static size_t es_reply_write(char *p, size_t size, size_t n, void *arg)
{
    struct es_conn *c = arg;

    if (size * n > c->reply_max - c->reply.len) {
        c->too_big = true;
        return 0;
    }
    return vg_buf_append(&c->reply, p, size * n) == VG_OK ? size * n : 0;
}

/* Starts range r on the idle connection c: compresses the body when asked
 * and hands the handle to the multi handle. VG_OK or VG_ENOMEM. */
static int es_start(struct es_ctx *ctx, struct es_conn *c, const struct es_range *r)
{
    const char *body = ctx->raw.data + ctx->off[r->start];
    size_t len = ctx->off[r->end] - ctx->off[r->start];
    CURLcode e = CURLE_OK;

    c->r = *r;
    c->raw = len;
    if (ctx->gzip) {
        if (es_gzip(&ctx->z, body, len, &c->gz) != VG_OK)
            return VG_ENOMEM;
        body = c->gz.data;
        len = c->gz.len;
    }
    c->wire = len;
    c->reply_max = ES_REPLY_BASE + (r->end - r->start) * ES_REPLY_PER_ITEM + c->raw;
    c->url = es_pick_url(ctx);
    c->too_big = false;
    c->errbuf[0] = '\0';
    vg_buf_reset(&c->reply);
    e |= curl_easy_setopt(c->easy, CURLOPT_URL, ctx->urls[c->url].bulk);
    e |= curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, es_reply_write);
    e |= curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    /* the size first: a gzip body holds NUL bytes */
    e |= curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    e |= curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    if (e != CURLE_OK || curl_multi_add_handle(ctx->multi, c->easy) != CURLM_OK)
        return VG_ENOMEM;
    c->t0 = vg_mono_ns();
    c->busy = true;
    ctx->busy++;
    return VG_OK;
}

/* Starts queued requests on idle connections. A request that cannot
 * start leaves its records pending. */
static void es_fill(struct es_ctx *ctx)
{
    size_t i;

    for (i = 0; i < ctx->n_conns && ctx->q_head < ctx->q_len && !ctx->round.stop; i++) {
        if (ctx->conns[i].busy)
            continue;
        if (es_start(ctx, &ctx->conns[i], &ctx->queue[ctx->q_head]) != VG_OK) {
            es_note(ctx, "out of memory starting a request of %zu records",
                    ctx->queue[ctx->q_head].end - ctx->queue[ctx->q_head].start);
            ctx->round.failed_requests++;
        }
        ctx->q_head++;
    }
}

/* Reads a 2xx reply item by item; see the file comment. */
static void es_bulk_reply(struct es_ctx *ctx, struct es_conn *c)
{
    const char *show = ctx->urls[c->url].show;
    size_t k, n = c->r.end - c->r.start;
    struct vg_error why = {0};

    if (es_response_parse(c->reply.data, c->reply.len, ctx->items, n, &why) != VG_OK) {
        es_note(ctx, "%s: unusable _bulk reply, its %zu records are sent again: %s", show, n,
                why.msg);
        ctx->round.failed_requests++;
        return;
    }
    for (k = 0; k < n; k++) {
        const struct es_item *it = &ctx->items[k];
        size_t i = ctx->idx[c->r.start + k];

        if (es_status_delivered(it->status)) {
            vg_output_delivered(ctx->o, ctx->round.b, i);
            continue;
        }
        vg_buf_reset(&ctx->why);
        if (es_item_reason(it, &ctx->why) != VG_OK)
            vg_buf_puts(&ctx->why, "(reason lost: out of memory)");
        if (es_status_retry(it->status)) {
            ctx->round.item_retries++;
            es_note(ctx, "%s: records refused for now, sent again: %s", show, ctx->why.data);
        } else {
            vg_output_dead_letter(ctx->o, ctx->round.b, i,
                                  ctx->why.data != NULL ? ctx->why.data : "");
        }
    }
}

/* 413: the request is halved and each half sent again; a single record
 * still too large goes to the dead-letter file. */
static void es_split(struct es_ctx *ctx, const struct es_conn *c)
{
    size_t mid = c->r.start + (c->r.end - c->r.start) / 2;

    if (c->r.end - c->r.start == 1) {
        vg_output_dead_letter(ctx->o, ctx->round.b, ctx->idx[c->r.start],
                              "413 request entity too large");
        return;
    }
    if (es_queue_push(ctx, c->r.start, mid, 0) != VG_OK ||
        es_queue_push(ctx, mid, c->r.end, 0) != VG_OK) {
        es_note(ctx, "out of memory splitting a request refused with 413");
        ctx->round.failed_requests++;
    }
}

/* A whole request failed for the reason fmt gives: its records stay
 * pending. With failover (a connection error, a timeout, a 5xx) the URL is
 * held back for a while and the request goes to the next URL, once per URL;
 * that is logged, rate-limited, because the send may still succeed. */
static void es_failed(struct es_ctx *ctx, const struct es_conn *c, bool failover, const char *fmt,
                      ...) VG_PRINTF(4, 5);
static void es_failed(struct es_ctx *ctx, const struct es_conn *c, bool failover, const char *fmt,
                      ...)
{
    char msg[ES_FAILURE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    es_note(ctx, "%s", msg);
    if (failover)
        ctx->urls[c->url].down_until = vg_mono_ns() + ES_URL_HOLD_NS;
    if (failover && c->r.tries + 1 < ctx->n_urls &&
        es_queue_push(ctx, c->r.start, c->r.end, c->r.tries + 1) == VG_OK) {
        vg_complain(&ctx->failover_complain, VG_LOG_WARN, ES_PLUGIN, ctx->o->name,
                    "%s; its %zu records go to the next URL", msg, c->r.end - c->r.start);
        return;
    }
    ctx->round.failed_requests++;
}

/* Acts on the HTTP status of a finished request. */
static void es_status(struct es_ctx *ctx, struct es_conn *c, long status)
{
    const char *show = ctx->urls[c->url].show;

    if (status >= 200 && status < 300) {
        es_bulk_reply(ctx, c);
        return;
    }
    if (status == 413) {
        es_split(ctx, c);
        return;
    }
    if (status == 401 || status == 403) {
        if (!ctx->round.stop)
            snprintf(ctx->round.failure, sizeof(ctx->round.failure),
                     "%s refused the credentials (%ld): check user/password_file or "
                     "api_key_file",
                     show, status);
        ctx->round.stop = true;
        return;
    }
    vg_buf_reset(&ctx->why);
    es_error_summary(c->reply.data, c->reply.len, &ctx->why);
    es_failed(ctx, c, status >= 500, "%s: HTTP %ld: %s", show, status,
              ctx->why.data != NULL ? ctx->why.data : "");
}

/* A request is done: accounting, then its outcome. A reply cut off at
 * reply_max is counted and fails the request like a connection error. */
static void es_finish(struct es_ctx *ctx, struct es_conn *c, CURLcode result)
{
    const char *show = ctx->urls[c->url].show;
    long status = 0;

    curl_multi_remove_handle(ctx->multi, c->easy);
    c->busy = false;
    ctx->busy--;
    vg_output_observe_request(ctx->o, (double)(vg_mono_ns() - c->t0) / 1e9);
    vg_output_count_bytes(ctx->o, c->raw, c->wire);
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (c->too_big) {
        vg_output_count_reply_truncated(ctx->o);
        es_failed(ctx, c, true,
                  "%s: HTTP %ld reply cut off at %zu bytes (decompressed), more than a reply to "
                  "%zu records can need",
                  show, status, c->reply_max, c->r.end - c->r.start);
    } else if (result != CURLE_OK) {
        es_failed(ctx, c, true, "%s: %s%s%s", show, curl_easy_strerror(result),
                  c->errbuf[0] != '\0' ? ": " : "", c->errbuf);
    } else {
        es_status(ctx, c, status);
    }
    if (c->reply.cap > ES_REPLY_KEEP)
        vg_buf_free(&c->reply);
}

/* The agent is stopping past its shutdown timeout: the requests in
 * flight are dropped and nothing new starts; their records stay pending,
 * unacknowledged, and go out again after the restart (id auto makes the
 * ones Elasticsearch did index count as delivered then). */
static void es_abandon(struct es_ctx *ctx)
{
    size_t i;

    for (i = 0; i < ctx->n_conns; i++) {
        if (!ctx->conns[i].busy)
            continue;
        curl_multi_remove_handle(ctx->multi, ctx->conns[i].easy);
        ctx->conns[i].busy = false;
        ctx->busy--;
    }
    ctx->q_head = ctx->q_len;
    es_note(ctx, "stopping: requests in flight abandoned, their records stay unacknowledged");
}

/* Abandons the requests in flight for longer than the timeout (and
 * ES_STALL_GRACE_MS): curl enforces the timeout only while
 * curl_multi_perform works. Their records stay pending. */
static void es_expire(struct es_ctx *ctx)
{
    int64_t limit = vg_ms_to_ns_sat(vg_add_sat(ctx->timeout_ms, ES_STALL_GRACE_MS));
    int64_t now = vg_mono_ns();
    size_t i;

    for (i = 0; i < ctx->n_conns; i++) {
        struct es_conn *c = &ctx->conns[i];

        if (!c->busy || now - c->t0 <= limit)
            continue;
        curl_multi_remove_handle(ctx->multi, c->easy);
        c->busy = false;
        ctx->busy--;
        es_failed(ctx, c, true, "%s: no answer within %" PRId64 " ms: curl_multi_perform fails",
                  ctx->urls[c->url].show, ctx->timeout_ms);
    }
}

/* curl_multi_perform failed (out of memory, say): said once in a while,
 * then a sleep that doubles from ES_STALL_MIN_MS up to ES_POLL_MS. Not
 * curl_multi_poll: a socket with unread data would wake it at once. */
static void es_stall(struct es_ctx *ctx, CURLMcode mc, int64_t *wait_ms)
{
    struct timespec ts = {(time_t)(*wait_ms / 1000), (long)(*wait_ms % 1000) * 1000000L};

    vg_complain(&ctx->multi_complain, VG_LOG_ERROR, ES_PLUGIN, ctx->o->name,
                "curl_multi_perform failed: %s; %zu requests in flight wait (at most the "
                "timeout)",
                curl_multi_strerror(mc), ctx->busy);
    nanosleep(&ts, NULL);
    *wait_ms = *wait_ms * 2 < ES_POLL_MS ? *wait_ms * 2 : ES_POLL_MS;
    es_expire(ctx);
}

/* Hands every finished request to es_finish. */
static void es_collect(struct es_ctx *ctx)
{
    int left = 0;
    CURLMsg *m;

    for (m = curl_multi_info_read(ctx->multi, &left); m != NULL;
         m = curl_multi_info_read(ctx->multi, &left)) {
        struct es_conn *c = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        es_finish(ctx, c, m->data.result);
    }
}

/* Drives the requests of the send until none is left queued or in
 * flight; after refused credentials nothing new starts. */
static void es_run(struct es_ctx *ctx)
{
    int64_t stall_ms = ES_STALL_MIN_MS;
    int running = 0;
    CURLMcode mc;

    for (;;) {
        if (vg_output_stopping(ctx->o)) {
            es_abandon(ctx);
            break;
        }
        es_fill(ctx);
        if (ctx->busy == 0)
            break;
        mc = curl_multi_perform(ctx->multi, &running);
        if (mc != CURLM_OK) {
            es_stall(ctx, mc, &stall_ms);
            continue;
        }
        if (stall_ms > ES_STALL_MIN_MS) {
            stall_ms = ES_STALL_MIN_MS;
            vg_complain_clear(&ctx->multi_complain, ES_PLUGIN, ctx->o->name, "curl_multi_perform");
        }
        es_collect(ctx);
        if (running > 0 && ctx->busy > 0)
            curl_multi_poll(ctx->multi, NULL, 0, ES_POLL_MS, NULL);
    }
}

/* The answer: STOP on refused credentials, RETRY while any record of the
 * batch is pending, else OK. */
static enum vg_send_result es_verdict(struct es_ctx *ctx, struct vg_batch *b)
{
    size_t i, n = vg_batch_count(b), pending = 0;

    if (ctx->round.stop) {
        vg_output_fail(ctx->o, "%s", ctx->round.failure);
        return VG_SEND_STOP;
    }
    for (i = 0; i < n; i++)
        pending += vg_output_pending(ctx->o, b, i) ? 1 : 0;
    if (pending == 0)
        return VG_SEND_OK;
    vg_output_fail(ctx->o,
                   "%zu of %zu records not delivered yet (%zu failed requests, %zu items "
                   "refused for now): %s",
                   pending, n, ctx->round.failed_requests, ctx->round.item_retries,
                   ctx->round.failure[0] != '\0' ? ctx->round.failure : "no reason given");
    return VG_SEND_RETRY;
}

/* Encodes the pending records, cuts them into requests and sends those;
 * see the file comment. */
static enum vg_send_result es_send(struct vg_output *o, struct vg_batch *b)
{
    struct es_ctx *ctx = o->ctx;
    size_t n = 0, s, e;

    memset(&ctx->round, 0, sizeof(ctx->round));
    ctx->round.b = b;
    ctx->q_head = 0;
    ctx->q_len = 0;
    if (es_encode_batch(ctx, b, &n) != VG_OK) {
        vg_output_fail(o, "out of memory encoding %zu records", vg_batch_count(b));
        return VG_SEND_RETRY;
    }
    for (s = 0; s < n; s = e) {
        e = es_cut(ctx->off, s, n, ctx->bulk_max_bytes);
        if (es_queue_push(ctx, s, e, 0) != VG_OK) {
            es_note(ctx, "out of memory cutting the batch into requests");
            break;
        }
    }
    es_run(ctx);
    ctx->round.b = NULL;
    return es_verdict(ctx, b);
}

/* ---- life cycle (engine thread) ---- */

/* Also called after a failed init: every step checks what was made. */
static void es_destroy(struct vg_output *o)
{
    struct es_ctx *ctx = o->ctx;
    size_t i;

    for (i = 0; ctx->conns != NULL && i < ctx->n_conns; i++) {
        if (ctx->conns[i].easy != NULL) {
            if (ctx->conns[i].busy)
                curl_multi_remove_handle(ctx->multi, ctx->conns[i].easy);
            curl_easy_cleanup(ctx->conns[i].easy);
        }
        vg_buf_free(&ctx->conns[i].gz);
        vg_buf_free(&ctx->conns[i].reply);
    }
    free(ctx->conns);
    if (ctx->multi != NULL)
        curl_multi_cleanup(ctx->multi);
    curl_slist_free_all(ctx->headers);
    if (ctx->curl_ok)
        curl_global_cleanup();
    if (ctx->z_ok)
        deflateEnd(&ctx->z);
    for (i = 0; ctx->urls != NULL && i < ctx->n_urls; i++) {
        free(ctx->urls[i].show);
        free(ctx->urls[i].bulk);
    }
    free(ctx->urls);
    free(ctx->off);
    free(ctx->idx);
    free(ctx->queue);
    free(ctx->items);
    vg_buf_free(&ctx->raw);
    vg_buf_free(&ctx->why);
    memset(&ctx->o, 0, sizeof(*ctx) - offsetof(struct es_ctx, o));
}

const struct vg_output_ops vg_output_elasticsearch = {
    .name = "elasticsearch",
    .doc = "indexes every record with the _bulk API of Elasticsearch 7/8 or OpenSearch 1/2",
    .options = es_options,
    .ctx_size = sizeof(struct es_ctx),
    .check = es_check,
    .init = es_init,
    .send = es_send,
    .max_batches_per_send = 4,
    .destroy = es_destroy,
};

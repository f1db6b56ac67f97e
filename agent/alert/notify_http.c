/*
 * notify_http.c - one POST for a notifier (Slack's webhook, Alertmanager's
 * API) through libcurl, on the notifier's own easy handle so that its
 * connection is kept alive, and the usual reading of the reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "alert/notifier.h"

#define NH_REPLY_MAX      4096 /* bytes of a reply kept: enough for any error */
#define NH_CONNECT_MAX_MS 10000L

struct nh_call {
    struct vg_notify_http_reply *reply;
    const atomic_bool *abort;
};

static size_t nh_write(char *p, size_t size, size_t n, void *arg)
{
    struct nh_call *c = arg;
    size_t len = size * n, room = NH_REPLY_MAX - c->reply->body.len;

    if (c->reply->body.len < NH_REPLY_MAX)
        vg_buf_append(&c->reply->body, p, len < room ? len : room);
    return len;
}

/* Retry-After: seconds, or an HTTP date. */
static size_t nh_header(char *p, size_t size, size_t n, void *arg)
{
    struct nh_call *c = arg;
    size_t len = size * n;
    char v[128];
    long long secs;
    char *end;
    time_t when;

    if (len < 12 || strncasecmp(p, "Retry-After:", 12) != 0)
        return len;
    snprintf(v, sizeof(v), "%.*s", (int)(len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1),
             p + 12);
    v[strcspn(v, "\r\n")] = '\0';
    secs = strtoll(v, &end, 10);
    if (end != v && secs >= 0 && secs < 86400) {
        c->reply->retry_after_ms = secs > 0 ? secs * 1000 : 1;
        return len;
    }
    when = curl_getdate(v + strspn(v, " "), NULL);
    if (when > 0 && (int64_t)when * VG_NS_PER_SEC > vg_now_ns())
        c->reply->retry_after_ms = ((int64_t)when * VG_NS_PER_SEC - vg_now_ns()) / VG_NS_PER_MS;
    return len;
}

static int nh_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
    struct nh_call *c = arg;

    return c->abort != NULL && atomic_load(c->abort) ? 1 : 0;
}

static struct curl_slist *nh_headers(const struct vg_notify_http *r)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json"), *t;
    size_t i;

    for (i = 0; h != NULL && r->headers != NULL && r->headers[i] != NULL; i++) {
        t = curl_slist_append(h, r->headers[i]);
        if (t == NULL) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = t;
    }
    return h;
}

static CURLcode nh_setup(CURL *easy, struct vg_notifier *n, const struct vg_notify_http *r,
                         struct curl_slist *hdr, struct nh_call *c, char *errbuf)
{
    long timeout = (long)n->timeout_ms;
    CURLcode e = CURLE_OK;

    e |= curl_easy_setopt(easy, CURLOPT_URL, r->url);
    e |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    e |= curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    e |= curl_easy_setopt(easy, CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
    e |= curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdr);
    e |= curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    e |= curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r->body);
    e |= curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout);
    e |= curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                          timeout < NH_CONNECT_MAX_MS ? timeout : NH_CONNECT_MAX_MS);
    e |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, nh_write);
    e |= curl_easy_setopt(easy, CURLOPT_WRITEDATA, c);
    e |= curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, nh_header);
    e |= curl_easy_setopt(easy, CURLOPT_HEADERDATA, c);
    e |= curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    e |= curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, nh_progress);
    e |= curl_easy_setopt(easy, CURLOPT_XFERINFODATA, c);
    e |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    e |= curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, r->verify ? 1L : 0L);
    e |= curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, r->verify ? 2L : 0L);
    if (r->ca_file != NULL && r->ca_file[0] != '\0')
        e |= curl_easy_setopt(easy, CURLOPT_CAINFO, r->ca_file);
    if (r->user != NULL && r->user[0] != '\0') {
        e |= curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        e |= curl_easy_setopt(easy, CURLOPT_USERNAME, r->user);
        e |= curl_easy_setopt(easy, CURLOPT_PASSWORD, r->password != NULL ? r->password : "");
    }
    return e;
}

int vg_notify_http_post(struct vg_notifier *n, void *easy, const struct vg_notify_http *r,
                        struct vg_notify_http_reply *reply)
{
    struct nh_call c = {reply, n->abort};
    struct curl_slist *hdr = nh_headers(r);
    char errbuf[CURL_ERROR_SIZE] = "";
    char masked[sizeof(reply->error)];
    CURLcode e;

    vg_buf_reset(&reply->body);
    reply->status = 0;
    reply->retry_after_ms = 0;
    reply->error[0] = '\0';
    curl_easy_reset(easy);
    if (hdr == NULL || nh_setup(easy, n, r, hdr, &c, errbuf) != CURLE_OK) {
        curl_slist_free_all(hdr);
        snprintf(reply->error, sizeof(reply->error), "cannot set up the request");
        return VG_EIO;
    }
    e = curl_easy_perform(easy);
    curl_slist_free_all(hdr);
    if (e != CURLE_OK) {
        snprintf(masked, sizeof(masked), "%s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(e));
        vg_secret_mask(masked, r->url, reply->error, sizeof(reply->error));
        return VG_EIO;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply->status);
    return VG_OK;
}

enum vg_notify_result vg_notify_http_result(const struct vg_notify_http_reply *h,
                                            struct vg_notify_reply *reply)
{
    int len = (int)(h->body.len < 160 ? h->body.len : 160);

    if (h->status == 0) {
        snprintf(reply->reason, sizeof(reply->reason), "%s", h->error);
        return VG_NOTIFY_RETRY;
    }
    snprintf(reply->reason, sizeof(reply->reason), "HTTP %ld: %.*s", h->status, len,
             h->body.data != NULL ? h->body.data : "");
    reply->reason[strcspn(reply->reason, "\r\n")] = '\0';
    if (h->status >= 200 && h->status < 300)
        return VG_NOTIFY_OK;
    if (h->status == 429) {
        reply->retry_after_ms = h->retry_after_ms;
        return VG_NOTIFY_RETRY;
    }
    return h->status >= 500 ? VG_NOTIFY_RETRY : VG_NOTIFY_DROP;
}

bool vg_notify_url_loopback(const char *url)
{
    static const char *const hosts[] = {"127.", "localhost", "[::1]"};
    const char *p = strstr(url, "://");
    const char *at;
    size_t i, end;

    if (p == NULL)
        return false;
    p += 3;
    end = strcspn(p, "/?#");
    at = memchr(p, '@', end);
    if (at != NULL)
        end -= (size_t)(at + 1 - p), p = at + 1;
    for (i = 0; i < VG_ARRAY_LEN(hosts); i++) {
        size_t k = strlen(hosts[i]);

        if (end >= k && strncmp(p, hosts[i], k) == 0 &&
            (hosts[i][k - 1] == '.' || end == k || p[k] == ':'))
            return true;
    }
    return false;
}

int vg_notify_http_conn_init(struct vg_notify_http_conn *c, struct vg_error *err)
{
    vg_buf_init(&c->body);
    vg_buf_init(&c->reply.body);
    c->easy = curl_easy_init();
    if (c->easy == NULL)
        return vg_error_set(err, VG_ENOMEM, "cannot make a libcurl handle");
    return VG_OK;
}

void vg_notify_http_conn_free(struct vg_notify_http_conn *c)
{
    if (c->easy != NULL)
        curl_easy_cleanup(c->easy);
    c->easy = NULL;
    vg_buf_free(&c->body);
    vg_buf_free(&c->reply.body);
}

enum vg_notify_result vg_notify_http_send(struct vg_notifier *n, struct vg_notify_http_conn *c,
                                          bool built, struct vg_notify_http *r,
                                          struct vg_notify_reply *reply)
{
    if (!built) {
        snprintf(reply->reason, sizeof(reply->reason), "out of memory");
        return VG_NOTIFY_RETRY;
    }
    r->body = c->body.data;
    r->len = c->body.len;
    vg_notify_http_post(n, c->easy, r, &c->reply);
    return vg_notify_http_result(&c->reply, reply);
}

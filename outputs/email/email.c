/*
 * email.c - the email notifier: each notice as one message (email_msg.c)
 * through libcurl's SMTP: smtp:// with STARTTLS required by default
 * (opportunistic, or off for a relay on loopback), or smtps://; the
 * server's certificate checked against ca_file or the system's store;
 * user and password (password_file) when given. Recipients that the
 * server refuses are logged one by one, each with its reply; the message
 * still goes to the others. 4xx and no answer are retried by the set until
 * max_age; refused credentials, a refused sender or 5xx for every
 * recipient are logged and counted, not retried.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "alert/notifier.h"
#include "email_msg.h"

#define EMAIL_PLUGIN "email"

struct email_ctx {
    char *url;
    char *starttls;
    char *from;
    struct vg_strlist to;
    char *user;
    char *password;
    char *ca_file;
    bool tls_verify;
};

/* What the SMTP dialogue said of one recipient (the debug callback reads it). */
struct email_rcpt {
    char pending[512]; /* the address of the RCPT TO awaiting its reply */
    size_t refused;
    struct vg_notifier *n;
};

struct email_priv {
    CURL *easy;
    struct vg_buf msg;
    size_t sent; /* bytes of msg handed to libcurl */
    uint64_t seq;
    struct email_rcpt rcpt;
};

static const struct vg_option email_options[] = {
    {"url", VG_OPT_STR, NULL, offsetof(struct email_ctx, url),
     "smtp://HOST:PORT (587, STARTTLS) or smtps://HOST:PORT (465, TLS)", VG_OPT_REQUIRED, NULL},
    {"starttls", VG_OPT_ENUM, "required", offsetof(struct email_ctx, starttls),
     "smtp://: required, opportunistic, or off (a relay on loopback only)", 0,
     "required|opportunistic|off"},
    {"from", VG_OPT_STR, NULL, offsetof(struct email_ctx, from), "sender address", VG_OPT_REQUIRED,
     NULL},
    {"to", VG_OPT_STRLIST, NULL, offsetof(struct email_ctx, to), "recipient addresses",
     VG_OPT_REQUIRED, NULL},
    {"user", VG_OPT_STR, NULL, offsetof(struct email_ctx, user), "SMTP AUTH user, with password", 0,
     NULL},
    {"password", VG_OPT_STR, NULL, offsetof(struct email_ctx, password),
     "secret: better as password_file", VG_OPT_SECRET, NULL},
    {"ca_file", VG_OPT_STR, NULL, offsetof(struct email_ctx, ca_file),
     "PEM CAs of the server's certificate; empty: the system's", 0, NULL},
    {"tls_verify", VG_OPT_BOOL, "true", offsetof(struct email_ctx, tls_verify),
     "false: the certificate is not checked", 0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* An address as SMTP takes it: local@domain, no space, control or <>. */
static bool email_address_ok(const char *s)
{
    const char *at = strchr(s, '@');
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == '<' || s[i] == '>' || s[i] == 0x7f ||
            s[i] == ',')
            return false;
    return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

static int email_check(const void *vctx, struct vg_check *chk)
{
    const struct email_ctx *c = vctx;
    size_t i;
    bool smtps = c->url != NULL && strncmp(c->url, "smtps://", 8) == 0;

    if (c->url != NULL && !smtps && strncmp(c->url, "smtp://", 7) != 0)
        vg_check_error(chk, "url", "the URL must start with smtp:// or smtps://");
    else if (c->url != NULL && !smtps && c->starttls != NULL && strcmp(c->starttls, "off") == 0 &&
             !vg_notify_url_loopback(c->url))
        vg_check_error(chk, "starttls",
                       "'off' sends mail and password in clear: only for a relay on loopback");
    if (c->from != NULL && !email_address_ok(c->from))
        vg_check_error(chk, "from", "'%s' is not an address such as vigil@example.org", c->from);
    for (i = 0; i < c->to.n; i++)
        if (!email_address_ok(c->to.v[i]))
            vg_check_error(chk, "to", "'%s' is not an address such as oncall@example.org",
                           c->to.v[i]);
    if (c->to.n == 0 && c->url != NULL)
        vg_check_error(chk, "to", "give at least one recipient");
    if ((c->user != NULL) != (c->password != NULL))
        vg_check_error(chk, c->user != NULL ? "user" : "password",
                       "SMTP authentication takes both user and password");
    if (!c->tls_verify)
        vg_check_warn(chk, "tls_verify", "the mail server's certificate is not checked");
    return VG_OK;
}

static int email_init(struct vg_notifier *n, struct vg_error *err)
{
    struct email_priv *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    n->priv = p;
    vg_buf_init(&p->msg);
    p->seq = (uint64_t)vg_now_ns() ^ ((uint64_t)(uintptr_t)p << 16);
    p->rcpt.n = n;
    p->easy = curl_easy_init();
    if (p->easy == NULL)
        return vg_error_set(err, VG_ENOMEM, "cannot make a libcurl handle");
    return VG_OK;
}

static size_t email_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct email_priv *p = arg;
    size_t room = size * nitems, left = p->msg.len - p->sent;
    size_t k = left < room ? left : room;

    memcpy(buf, p->msg.data + p->sent, k);
    p->sent += k;
    return k;
}

/* Reads the SMTP dialogue: each RCPT TO and the reply to it. */
static int email_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    struct email_rcpt *r = arg;
    char line[512];
    size_t k;

    if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN)
        return 0;
    k = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
    memcpy(line, data, k);
    line[k] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (type == CURLINFO_HEADER_OUT) {
        r->pending[0] = '\0';
        if (strncmp(line, "RCPT TO:", 8) == 0)
            snprintf(r->pending, sizeof(r->pending), "%.400s", line + 8);
        return 0;
    }
    if (r->pending[0] == '\0' || strlen(line) < 4 || line[3] == '-')
        return 0; /* not a reply to RCPT, or not its last line */
    if (line[0] == '4' || line[0] == '5') {
        r->refused++;
        vg_log(VG_LOG_ERROR, EMAIL_PLUGIN, r->n->name, "recipient %s refused: %s", r->pending,
               line);
    }
    r->pending[0] = '\0';
    return 0;
}

static int email_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    const struct vg_notifier *n = arg;

    return atomic_load(n->abort) ? 1 : 0;
}

static struct curl_slist *email_rcpts(const struct email_ctx *c)
{
    struct curl_slist *l = NULL, *t;
    char addr[320];
    size_t i;

    for (i = 0; i < c->to.n; i++) {
        snprintf(addr, sizeof(addr), "<%s>", c->to.v[i]);
        t = curl_slist_append(l, addr);
        if (t == NULL) {
            curl_slist_free_all(l);
            return NULL;
        }
        l = t;
    }
    return l;
}

static long email_use_ssl(const struct email_ctx *c)
{
    if (strncmp(c->url, "smtps://", 8) == 0 || strcmp(c->starttls, "required") == 0)
        return (long)CURLUSESSL_ALL;
    return strcmp(c->starttls, "off") == 0 ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_TRY;
}

static CURLcode email_setup(struct vg_notifier *n, struct curl_slist *rcpt, char *from,
                            char *errbuf)
{
    const struct email_ctx *c = n->ctx;
    struct email_priv *p = n->priv;
    CURL *e = p->easy;
    CURLcode r = CURLE_OK;

    r |= curl_easy_setopt(e, CURLOPT_URL, c->url);
    r |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    r |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    r |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    r |= curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
    r |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
    r |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
    r |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    r |= curl_easy_setopt(e, CURLOPT_READFUNCTION, email_read);
    r |= curl_easy_setopt(e, CURLOPT_READDATA, p);
    r |= curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)p->msg.len);
    r |= curl_easy_setopt(e, CURLOPT_USE_SSL, email_use_ssl(c));
    r |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    r |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    r |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
    r |= curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    r |= curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, email_debug);
    r |= curl_easy_setopt(e, CURLOPT_DEBUGDATA, &p->rcpt);
    r |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    r |= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, email_progress);
    r |= curl_easy_setopt(e, CURLOPT_XFERINFODATA, n);
    if (c->ca_file != NULL && c->ca_file[0] != '\0')
        r |= curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->user != NULL) {
        r |= curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
        r |= curl_easy_setopt(e, CURLOPT_PASSWORD, c->password);
    }
    return r;
}

/* How a failed transfer is answered: refusals for good are dropped. */
static enum vg_notify_result email_failed(struct vg_notifier *n, CURLcode e, const char *errbuf,
                                          struct vg_notify_reply *reply)
{
    struct email_priv *p = n->priv;
    long code = 0;
    char msg[256];

    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
    snprintf(msg, sizeof(msg), "%s (SMTP %ld)", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(e),
             code);
    vg_secret_mask(msg, NULL, reply->reason, sizeof(reply->reason));
    if (e == CURLE_LOGIN_DENIED || e == CURLE_USE_SSL_FAILED || e == CURLE_URL_MALFORMAT ||
        (code >= 500 && code < 600))
        return VG_NOTIFY_DROP;
    return VG_NOTIFY_RETRY;
}

static enum vg_notify_result email_notify(struct vg_notifier *n, const struct vg_notice *notice,
                                          struct vg_notify_reply *reply)
{
    const struct email_ctx *c = n->ctx;
    struct email_priv *p = n->priv;
    struct curl_slist *rcpt = email_rcpts(c);
    char errbuf[CURL_ERROR_SIZE] = "", from[320];
    CURLcode e;

    vg_buf_reset(&p->msg);
    p->sent = 0;
    p->rcpt.refused = 0;
    p->rcpt.pending[0] = '\0';
    snprintf(from, sizeof(from), "<%s>", c->from);
    curl_easy_reset(p->easy);
    if (rcpt == NULL ||
        email_message(notice, c->from, (const char *const *)c->to.v, c->to.n, n->node_name,
                      vg_now_ns(), p->seq++, &p->msg) != VG_OK ||
        email_setup(n, rcpt, from, errbuf) != CURLE_OK) {
        curl_slist_free_all(rcpt);
        snprintf(reply->reason, sizeof(reply->reason), "cannot set up the message");
        return VG_NOTIFY_RETRY;
    }
    e = curl_easy_perform(p->easy);
    curl_slist_free_all(rcpt);
    if (e != CURLE_OK)
        return email_failed(n, e, errbuf, reply);
    reply->rejected = p->rcpt.refused;
    return VG_NOTIFY_OK;
}

static void email_destroy(struct vg_notifier *n)
{
    struct email_priv *p = n->priv;

    if (p == NULL)
        return;
    if (p->easy != NULL)
        curl_easy_cleanup(p->easy);
    vg_buf_free(&p->msg);
    free(p);
    n->priv = NULL;
}

const struct vg_notifier_ops vg_notifier_email = {
    .name = "email",
    .doc = "alert notifications by e-mail (SMTP with STARTTLS, or SMTPS)",
    .options = email_options,
    .ctx_size = sizeof(struct email_ctx),
    .grouped = true,
    .check = email_check,
    .init = email_init,
    .notify = email_notify,
    .destroy = email_destroy,
};

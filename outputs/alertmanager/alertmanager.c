/*
 * alertmanager.c - the alertmanager notifier: the alerts of every
 * evaluation posted to Alertmanager's /api/v2/alerts as Prometheus posts
 * them (not grouped here: Alertmanager groups, routes, silences and
 * inhibits them as it does for Prometheus), firing ones with an end a few
 * intervals ahead, resolved ones with their end. 5xx and no answer are
 * retried until max_age; a 4xx (a bad alert) is logged and counted.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/notifier.h"
#include "am_msg.h"

#define AM_PATH "/api/v2/alerts"

struct am_ctx {
    char *url;
    char *user;
    char *password;
    char *bearer_token;
    char *ca_file;
    bool tls_verify;
};

struct am_priv {
    struct vg_notify_http_conn conn;
    char *post_url;
    char *auth; /* "Authorization: Bearer ..." */
};

static const struct vg_option am_options[] = {
    {"url", VG_OPT_STR, NULL, offsetof(struct am_ctx, url),
     "Alertmanager's base URL (http:// or https://); alerts go to URL/api/v2/alerts",
     VG_OPT_REQUIRED, NULL},
    {"user", VG_OPT_STR, NULL, offsetof(struct am_ctx, user), "basic authentication, with password",
     0, NULL},
    {"password", VG_OPT_STR, NULL, offsetof(struct am_ctx, password),
     "secret: better as password_file", VG_OPT_SECRET, NULL},
    {"bearer_token", VG_OPT_STR, NULL, offsetof(struct am_ctx, bearer_token),
     "secret, sent as Authorization: Bearer; better as bearer_token_file", VG_OPT_SECRET, NULL},
    {"ca_file", VG_OPT_STR, NULL, offsetof(struct am_ctx, ca_file),
     "PEM CAs of Alertmanager's certificate; empty: the system's", 0, NULL},
    {"tls_verify", VG_OPT_BOOL, "true", offsetof(struct am_ctx, tls_verify),
     "false: the certificate is not checked", 0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

static int am_check(const void *vctx, struct vg_check *chk)
{
    const struct am_ctx *ctx = vctx;

    if (ctx->url != NULL && strncmp(ctx->url, "http://", 7) != 0 &&
        strncmp(ctx->url, "https://", 8) != 0)
        vg_check_error(chk, "url", "the URL must start with http:// or https://");
    if ((ctx->user != NULL) != (ctx->password != NULL))
        vg_check_error(chk, ctx->user != NULL ? "user" : "password",
                       "basic authentication takes both user and password");
    if (ctx->user != NULL && ctx->bearer_token != NULL)
        vg_check_error(chk, "bearer_token", "give user and password or bearer_token, not both");
    if (!ctx->tls_verify)
        vg_check_warn(chk, "tls_verify", "Alertmanager's certificate is not checked");
    return VG_OK;
}

static int am_init(struct vg_notifier *n, struct vg_error *err)
{
    const struct am_ctx *ctx = n->ctx;
    struct am_priv *p = calloc(1, sizeof(*p));
    size_t len;

    if (p == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    n->priv = p;
    if (vg_notify_http_conn_init(&p->conn, err) != VG_OK)
        return err->code;
    len = strlen(ctx->url);
    while (len > 0 && ctx->url[len - 1] == '/')
        len--;
    p->post_url = malloc(len + sizeof(AM_PATH));
    if (p->post_url != NULL)
        snprintf(p->post_url, len + sizeof(AM_PATH), "%.*s%s", (int)len, ctx->url, AM_PATH);
    if (ctx->bearer_token != NULL) {
        len = strlen(ctx->bearer_token) + 32;
        p->auth = malloc(len);
        if (p->auth != NULL)
            snprintf(p->auth, len, "Authorization: Bearer %s", ctx->bearer_token);
    }
    if (p->post_url == NULL || (ctx->bearer_token != NULL && p->auth == NULL))
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

static enum vg_notify_result am_notify(struct vg_notifier *n, const struct vg_notice *notice,
                                       struct vg_notify_reply *reply)
{
    const struct am_ctx *ctx = n->ctx;
    struct am_priv *p = n->priv;
    const char *headers[2] = {p->auth, NULL};
    struct vg_notify_http r = {0};
    bool built;

    vg_buf_reset(&p->conn.body);
    built = am_message(notice, &p->conn.body) == VG_OK;
    r.url = p->post_url;
    r.headers = headers;
    r.user = ctx->user;
    r.password = ctx->password;
    r.ca_file = ctx->ca_file;
    r.verify = ctx->tls_verify;
    return vg_notify_http_send(n, &p->conn, built, &r, reply);
}

static void am_destroy(struct vg_notifier *n)
{
    struct am_priv *p = n->priv;

    if (p == NULL)
        return;
    vg_notify_http_conn_free(&p->conn);
    free(p->post_url);
    free(p->auth);
    free(p);
    n->priv = NULL;
}

const struct vg_notifier_ops vg_notifier_alertmanager = {
    .name = "alertmanager",
    .doc = "alerts posted to Alertmanager's API v2, as Prometheus posts them",
    .options = am_options,
    .ctx_size = sizeof(struct am_ctx),
    .grouped = false,
    .check = am_check,
    .init = am_init,
    .notify = am_notify,
    .destroy = am_destroy,
};

/*
 * slack.c - the slack notifier: each notice as one message to a Slack
 * incoming webhook (slack_msg.c builds it). The webhook URL is a secret
 * (webhook_url_file, or ${ENV}): registered with the secret masking, it
 * reaches no log line. At most one message a second per webhook with a
 * small burst, as Slack asks; 429 waits out its Retry-After, 5xx and
 * timeouts are retried by the set until max_age, and any other refusal
 * (invalid_payload, no_service, channel_not_found...) is logged with
 * Slack's reason and counted, not retried.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alert/notifier.h"
#include "slack_msg.h"

struct slack_ctx {
    char *webhook_url;
    char *link;
    char *ca_file;
};

static const struct vg_option slack_options[] = {
    {"webhook_url", VG_OPT_STR, NULL, offsetof(struct slack_ctx, webhook_url),
     "the incoming webhook (a secret: better webhook_url_file or ${ENV})",
     VG_OPT_REQUIRED | VG_OPT_SECRET, NULL},
    {"link", VG_OPT_STR, NULL, offsetof(struct slack_ctx, link),
     "a button's URL, with {{ $labels.NAME }} of the first alert (percent-encoded)", 0, NULL},
    {"ca_file", VG_OPT_STR, NULL, offsetof(struct slack_ctx, ca_file),
     "PEM CAs of the webhook's certificate; empty: the system's", 0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

static int slack_check(const void *vctx, struct vg_check *chk)
{
    const struct slack_ctx *ctx = vctx;
    const char *u = ctx->webhook_url;

    if (u == NULL)
        return VG_OK;
    if (strncmp(u, "https://", 8) != 0 &&
        !(strncmp(u, "http://", 7) == 0 && vg_notify_url_loopback(u)))
        vg_check_error(chk, "webhook_url",
                       "the webhook URL must start with https:// (http:// only on loopback)");
    if (ctx->link != NULL && strncmp(ctx->link, "http://", 7) != 0 &&
        strncmp(ctx->link, "https://", 8) != 0)
        vg_check_error(chk, "link", "a link starts with http:// or https://");
    return VG_OK;
}

static int slack_init(struct vg_notifier *n, struct vg_error *err)
{
    struct vg_notify_http_conn *c = calloc(1, sizeof(*c));
    const struct slack_ctx *ctx = n->ctx;

    if (c == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    vg_secret_add(ctx->webhook_url);
    n->priv = c;
    return vg_notify_http_conn_init(c, err);
}

static enum vg_notify_result slack_notify(struct vg_notifier *n, const struct vg_notice *notice,
                                          struct vg_notify_reply *reply)
{
    const struct slack_ctx *ctx = n->ctx;
    struct vg_notify_http_conn *c = n->priv;
    struct vg_notify_http r = {0};
    bool built;

    vg_buf_reset(&c->body);
    built = slack_message(notice, ctx->link, n->node_name, &c->body) == VG_OK;
    r.url = ctx->webhook_url;
    r.ca_file = ctx->ca_file;
    r.verify = true;
    return vg_notify_http_send(n, c, built, &r, reply);
}

static void slack_destroy(struct vg_notifier *n)
{
    if (n->priv != NULL)
        vg_notify_http_conn_free(n->priv);
    free(n->priv);
    n->priv = NULL;
}

const struct vg_notifier_ops vg_notifier_slack = {
    .name = "slack",
    .doc = "alert notifications to a Slack incoming webhook (Block Kit)",
    .options = slack_options,
    .ctx_size = sizeof(struct slack_ctx),
    .grouped = true,
    .rate_per_s = 1.0,
    .rate_burst = 3,
    .check = slack_check,
    .init = slack_init,
    .notify = slack_notify,
    .destroy = slack_destroy,
};

/*
 * slack_msg.c - a notice as Slack's incoming webhooks take it:
 *   {"text": "<title>: <summaries>",
 *    "attachments": [{"color": "#E01E5A", "fallback": "<title>", "blocks": [...]}]}
 * The colour bar says the severity (green once resolved); the blocks are a
 * header with the title, fields (severity, node, start), one section per
 * alert with its labels and annotations, a context line for the alerts
 * left out and a button to the link. Texts are cut (on a UTF-8 boundary,
 * with an ellipsis) to Slack's limits, and a storm of alerts stays one
 * message of at most SLACK_BLOCKS_MAX blocks.
 */
#include <stdio.h>
#include <string.h>

#include "slack_msg.h"

#define SLACK_ALERTS_SHOWN 40 /* blocks left for alerts: 50 less header, fields, more, link */
#define SLACK_ELLIPSIS     "\xe2\x80\xa6"

/* Bytes of s[0..len) that hold at most max characters, cut on a UTF-8
 * boundary. */
static size_t slack_fit(const char *s, size_t len, size_t max)
{
    size_t i = 0, chars = 0, k;

    while (i < len && chars < max) {
        k = vg_utf8_seq((const unsigned char *)s + i, len - i);
        i += k > 0 ? k : 1;
        chars++;
    }
    return i;
}

/* Appends text as a JSON string of at most max characters (cut with an
 * ellipsis). */
static int slack_json_text(struct vg_buf *out, const char *s, size_t len, size_t max)
{
    struct vg_buf t;
    size_t keep = slack_fit(s, len, max);
    int rc;

    if (keep == len)
        return vg_buf_json_string(out, s, len);
    keep = slack_fit(s, len, max - 1);
    vg_buf_init(&t);
    rc = vg_buf_append(&t, s, keep);
    if (rc == VG_OK)
        rc = vg_buf_puts(&t, SLACK_ELLIPSIS);
    if (rc == VG_OK)
        rc = vg_buf_json_string(out, t.data, t.len);
    vg_buf_free(&t);
    return rc;
}

/* Appends s with mrkdwn's control characters escaped (&, <, >). */
static int slack_escape(struct vg_buf *out, const char *s)
{
    int rc = VG_OK;

    for (; *s != '\0' && rc == VG_OK; s++) {
        if (*s == '&')
            rc = vg_buf_puts(out, "&amp;");
        else if (*s == '<')
            rc = vg_buf_puts(out, "&lt;");
        else if (*s == '>')
            rc = vg_buf_puts(out, "&gt;");
        else
            rc = vg_buf_putc(out, *s);
    }
    return rc;
}

static const char *slack_severity(const struct vg_notice *n)
{
    const char *s = n->n_alerts > 0 ? vg_notice_label(&n->alerts[0], "severity") : NULL;

    return s != NULL ? s : "none";
}

static const char *slack_color(const struct vg_notice *n)
{
    const char *s = slack_severity(n);

    if (n->n_firing == 0)
        return "#2EB67D";
    if (strcmp(s, "critical") == 0 || strcmp(s, "error") == 0 || strcmp(s, "page") == 0)
        return "#E01E5A";
    if (strcmp(s, "warning") == 0)
        return "#ECB22E";
    return "#36C5F0";
}

/* The mrkdwn of alert a: state, labels, annotations, times. */
static int slack_alert_text(const struct vg_notice_alert *a, struct vg_buf *t)
{
    char when[32];
    size_t i, shown = 0;
    int rc = vg_buf_puts(t, a->ends_at_ns == 0 ? "*FIRING* " : "*RESOLVED* ");

    for (i = 0; rc == VG_OK && i < a->n_labels; i++) {
        if (strcmp(a->labels[i].name, "alertname") == 0)
            continue;
        rc = vg_buf_printf(t, "%s`%s=", shown++ > 0 ? " " : "", a->labels[i].name);
        if (rc == VG_OK)
            rc = slack_escape(t, a->labels[i].value);
        if (rc == VG_OK)
            rc = vg_buf_putc(t, '`');
    }
    for (i = 0; rc == VG_OK && i < a->n_annotations; i++) {
        rc = vg_buf_printf(t, "\n*%s:* ", a->annotations[i].name);
        if (rc == VG_OK)
            rc = slack_escape(t, a->annotations[i].value);
    }
    vg_notice_time(a->starts_at_ns, when, sizeof(when));
    if (rc == VG_OK)
        rc = vg_buf_printf(t, "\n_since %s", when);
    if (rc == VG_OK && a->ends_at_ns != 0) {
        vg_notice_time(a->ends_at_ns, when, sizeof(when));
        rc = vg_buf_printf(t, ", resolved %s", when);
    }
    return rc == VG_OK ? vg_buf_putc(t, '_') : rc;
}

static int slack_section(struct vg_buf *out, const char *mrkdwn, size_t len)
{
    int rc = vg_buf_puts(out, ",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");

    if (rc == VG_OK)
        rc = slack_json_text(out, mrkdwn, len, SLACK_SECTION_MAX);
    return rc == VG_OK ? vg_buf_puts(out, "}}") : rc;
}

static int slack_field(struct vg_buf *out, const char *name, const char *value, bool first)
{
    struct vg_buf t;
    int rc;

    vg_buf_init(&t);
    rc = vg_buf_printf(&t, "*%s*\n", name);
    if (rc == VG_OK)
        rc = slack_escape(&t, value);
    if (rc == VG_OK)
        rc = vg_buf_printf(out, "%s{\"type\":\"mrkdwn\",\"text\":", first ? "" : ",");
    if (rc == VG_OK)
        rc = slack_json_text(out, t.data, t.len, SLACK_FIELD_MAX);
    vg_buf_free(&t);
    return rc == VG_OK ? vg_buf_putc(out, '}') : rc;
}

/* The header and the fields: severity, node, start. */
static int slack_head(const struct vg_notice *n, const char *title, const char *node,
                      struct vg_buf *out)
{
    char when[32] = "";
    int rc = vg_buf_puts(out, "{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":");

    if (n->n_alerts > 0)
        vg_notice_time(n->alerts[0].starts_at_ns, when, sizeof(when));
    if (rc == VG_OK)
        rc = slack_json_text(out, title, strlen(title), SLACK_HEADER_MAX);
    if (rc == VG_OK)
        rc = vg_buf_puts(out, ",\"emoji\":true}},{\"type\":\"section\",\"fields\":[");
    if (rc == VG_OK)
        rc = slack_field(out, "Severity", slack_severity(n), true);
    if (rc == VG_OK)
        rc = slack_field(out, "Node", node != NULL && node[0] != '\0' ? node : "-", false);
    if (rc == VG_OK)
        rc = slack_field(out, "Started", when, false);
    return rc == VG_OK ? vg_buf_puts(out, "]}") : rc;
}

/* The alerts that fit, then a context line for the rest. */
static int slack_alerts(const struct vg_notice *n, struct vg_buf *out)
{
    struct vg_buf t;
    size_t i, shown = n->n_alerts < SLACK_ALERTS_SHOWN ? n->n_alerts : SLACK_ALERTS_SHOWN;
    int rc = VG_OK;

    vg_buf_init(&t);
    for (i = 0; rc == VG_OK && i < shown; i++) {
        vg_buf_reset(&t);
        rc = slack_alert_text(&n->alerts[i], &t);
        if (rc == VG_OK)
            rc = slack_section(out, t.data, t.len);
    }
    vg_buf_free(&t);
    if (rc == VG_OK && shown < n->n_alerts)
        rc = vg_buf_printf(out,
                           ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":"
                           "\"and %zu more alert(s) (%zu firing in all)\"}]}",
                           n->n_alerts - shown, n->n_firing);
    return rc;
}

static int slack_link(const struct vg_notice *n, const char *link, struct vg_buf *out)
{
    struct vg_buf u;
    int rc;

    if (link == NULL || link[0] == '\0')
        return VG_OK;
    vg_buf_init(&u);
    rc = vg_notice_expand(n, link, true, &u);
    if (rc == VG_OK && u.len > 0 && u.len <= SLACK_URL_MAX) {
        rc = vg_buf_puts(out, ",{\"type\":\"actions\",\"elements\":[{\"type\":\"button\",\"text\":"
                              "{\"type\":\"plain_text\",\"text\":\"Open\"},\"url\":");
        if (rc == VG_OK)
            rc = vg_buf_json_string(out, u.data, u.len);
        if (rc == VG_OK)
            rc = vg_buf_puts(out, "}]}");
    }
    vg_buf_free(&u);
    return rc;
}

/* The fallback text: the title, then each alert's summary while it fits. */
static int slack_fallback(const struct vg_notice *n, const char *title, struct vg_buf *out)
{
    struct vg_buf t;
    size_t i;
    int rc;

    vg_buf_init(&t);
    rc = vg_buf_puts(&t, title);
    for (i = 0; rc == VG_OK && i < n->n_alerts && t.len < SLACK_TEXT_MAX; i++) {
        const char *s = NULL;
        size_t j;

        for (j = 0; j < n->alerts[i].n_annotations; j++)
            if (strcmp(n->alerts[i].annotations[j].name, "summary") == 0)
                s = n->alerts[i].annotations[j].value;
        if (s == NULL)
            continue;
        rc = vg_buf_puts(&t, "\n- ");
        if (rc == VG_OK)
            rc = slack_escape(&t, s);
    }
    if (rc == VG_OK)
        rc = slack_json_text(out, t.data, t.len, SLACK_TEXT_MAX);
    vg_buf_free(&t);
    return rc;
}

int slack_message(const struct vg_notice *n, const char *link, const char *node, struct vg_buf *out)
{
    char title[512];
    int rc;

    vg_notice_title(n, title, sizeof(title));
    rc = vg_buf_puts(out, "{\"text\":");
    if (rc == VG_OK)
        rc = slack_fallback(n, title, out);
    if (rc == VG_OK)
        rc =
            vg_buf_printf(out, ",\"attachments\":[{\"color\":\"%s\",\"fallback\":", slack_color(n));
    if (rc == VG_OK)
        rc = slack_json_text(out, title, strlen(title), SLACK_TEXT_MAX);
    if (rc == VG_OK)
        rc = vg_buf_puts(out, ",\"blocks\":[");
    if (rc == VG_OK)
        rc = slack_head(n, title, node, out);
    if (rc == VG_OK)
        rc = slack_alerts(n, out);
    if (rc == VG_OK)
        rc = slack_link(n, link, out);
    return rc == VG_OK ? vg_buf_puts(out, "]}]}") : rc;
}

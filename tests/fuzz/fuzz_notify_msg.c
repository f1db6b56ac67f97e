/*
 * fuzz_notify_msg.c - the notifiers' message builders on arbitrary label
 * and annotation values (which may come from log lines). The first byte
 * picks how many alerts the notice has; the rest, cut at newlines, gives
 * alertname, node, severity, summary, description and a link template.
 * Whatever they hold: the Slack and Alertmanager bodies are valid JSON, the
 * Slack message keeps to 50 blocks, and the e-mail has CRLF line endings
 * only and no line over 998 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../outputs/alertmanager/am_msg.h"
#include "../../outputs/email/email_msg.h"
#include "../../outputs/slack/slack_msg.h"
#include "parse/json.h"

#define FZ_FIELDS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check_json(const struct vg_buf *b)
{
    if (vg_json_parse(b->data, b->len, NULL, NULL) != VG_OK)
        __builtin_trap();
}

static void fz_check_mail(const struct vg_buf *b)
{
    size_t i, col = 0;

    for (i = 0; i < b->len; i++) {
        if (b->data[i] == '\r' && (i + 1 >= b->len || b->data[i + 1] != '\n'))
            __builtin_trap();
        if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
            __builtin_trap();
        col = b->data[i] == '\n' ? 0 : col + 1;
        if (col > EMAIL_LINE_MAX + 1) /* + the CR */
            __builtin_trap();
    }
}

static size_t fz_blocks(const char *j)
{
    static const char *const kinds[] = {"{\"type\":\"header\"", "{\"type\":\"section\"",
                                        "{\"type\":\"context\"", "{\"type\":\"actions\""};
    size_t i, n = 0;
    const char *p;

    for (i = 0; i < 4; i++)
        for (p = strstr(j, kinds[i]); p != NULL; p = strstr(p + 1, kinds[i]))
            n++;
    return n;
}

static void fz_build(struct vg_notice *n, const char *link)
{
    static const char *const to[] = {"a@x.org"};
    struct vg_buf b;

    vg_buf_init(&b);
    if (slack_message(n, link, "node", &b) == VG_OK) {
        fz_check_json(&b);
        if (fz_blocks(b.data) > SLACK_BLOCKS_MAX)
            __builtin_trap();
    }
    vg_buf_reset(&b);
    if (am_message(n, &b) == VG_OK)
        fz_check_json(&b);
    vg_buf_reset(&b);
    if (email_message(n, "vigil@x.org", to, 1, "node", 0, 1, &b) == VG_OK)
        fz_check_mail(&b);
    vg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *f[FZ_FIELDS] = {"", "", "", "", "", ""}, *p;
    struct vg_label labels[3], ann[2];
    struct vg_notice_alert *alerts;
    struct vg_notice n;
    size_t i, count;

    if (size < 1)
        return 0;
    count = data[0] % 60 + 1;
    text = malloc(size);
    alerts = calloc(count, sizeof(*alerts));
    if (text == NULL || alerts == NULL)
        goto out;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    for (i = 0, p = text; i < FZ_FIELDS && p != NULL; i++) {
        f[i] = p;
        p = i + 1 < FZ_FIELDS ? strchr(p, '\n') : NULL;
        if (p != NULL)
            *p++ = '\0';
    }
    labels[0] = (struct vg_label){"alertname", f[0]};
    labels[1] = (struct vg_label){"node", f[1]};
    labels[2] = (struct vg_label){"severity", f[2]};
    ann[0] = (struct vg_label){"summary", f[3]};
    ann[1] = (struct vg_label){"description", f[4]};
    for (i = 0; i < count; i++) {
        alerts[i].labels = labels;
        alerts[i].n_labels = 3;
        alerts[i].annotations = ann;
        alerts[i].n_annotations = 2;
        alerts[i].starts_at_ns = (int64_t)data[0] * VG_NS_PER_SEC;
        alerts[i].ends_at_ns = i % 3 == 2 ? alerts[i].starts_at_ns + 1 : 0;
        alerts[i].generator_url = f[5];
    }
    memset(&n, 0, sizeof(n));
    n.group_labels = labels;
    n.n_group_labels = data[0] % 2 ? 2 : 1;
    n.alerts = alerts;
    n.n_alerts = count;
    n.n_firing = count - count / 3;
    fz_build(&n, f[5]);
out:
    free(alerts);
    free(text);
    return 0;
}

/*
 * am_msg.c - alerts as Alertmanager's API v2 takes them (PostableAlerts),
 * the body Prometheus posts:
 *   [{"labels":{"alertname":"GpuHot",...},"annotations":{...},
 *     "startsAt":"2026-11-24T10:00:00.000Z","endsAt":"...","generatorURL":"..."}]
 */
#include <string.h>

#include "am_msg.h"

static int am_map(struct vg_buf *out, const char *key, const struct vg_label *v, size_t n)
{
    size_t i;
    int rc = vg_buf_printf(out, "\"%s\":{", key);

    for (i = 0; rc == VG_OK && i < n; i++) {
        if (i > 0)
            rc = vg_buf_putc(out, ',');
        if (rc == VG_OK)
            rc = vg_buf_json_string(out, v[i].name, strlen(v[i].name));
        if (rc == VG_OK)
            rc = vg_buf_putc(out, ':');
        if (rc == VG_OK)
            rc = vg_buf_json_string(out, v[i].value, strlen(v[i].value));
    }
    return rc == VG_OK ? vg_buf_putc(out, '}') : rc;
}

static int am_alert(const struct vg_notice *n, const struct vg_notice_alert *a, struct vg_buf *out)
{
    char when[32];
    int64_t end = a->ends_at_ns != 0 ? a->ends_at_ns : n->valid_until_ns;
    int rc = vg_buf_putc(out, '{');

    if (rc == VG_OK)
        rc = am_map(out, "labels", a->labels, a->n_labels);
    if (rc == VG_OK)
        rc = vg_buf_putc(out, ',');
    if (rc == VG_OK)
        rc = am_map(out, "annotations", a->annotations, a->n_annotations);
    vg_notice_time(a->starts_at_ns, when, sizeof(when));
    if (rc == VG_OK)
        rc = vg_buf_printf(out, ",\"startsAt\":\"%s\"", when);
    vg_notice_time(end, when, sizeof(when));
    if (rc == VG_OK && end != 0)
        rc = vg_buf_printf(out, ",\"endsAt\":\"%s\"", when);
    if (rc == VG_OK && a->generator_url != NULL && a->generator_url[0] != '\0') {
        rc = vg_buf_puts(out, ",\"generatorURL\":");
        if (rc == VG_OK)
            rc = vg_buf_json_string(out, a->generator_url, strlen(a->generator_url));
    }
    return rc == VG_OK ? vg_buf_putc(out, '}') : rc;
}

int am_message(const struct vg_notice *n, struct vg_buf *out)
{
    size_t i;
    int rc = vg_buf_putc(out, '[');

    for (i = 0; rc == VG_OK && i < n->n_alerts; i++) {
        if (i > 0)
            rc = vg_buf_putc(out, ',');
        if (rc == VG_OK)
            rc = am_alert(n, &n->alerts[i], out);
    }
    return rc == VG_OK ? vg_buf_putc(out, ']') : rc;
}

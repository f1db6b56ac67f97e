/*
 * output_settings.c - the table of options every output takes (see
 * output_settings.h).
 */
#include <fnmatch.h>
#include <stddef.h>

#include "output_settings.h"

const struct vg_option vg_output_common_options[] = {
    {"queue_max_bytes", VG_OPT_SIZE, "8MiB", offsetof(struct vg_output_settings, queue_max_bytes),
     "bytes of records queued for this output before its collectors pause", VG_OPT_MIN, NULL, 1, 0},
    {"queue_max_batches", VG_OPT_INT, "256", offsetof(struct vg_output_settings, queue_max_batches),
     "batches queued for this output before its collectors pause", VG_OPT_MIN, NULL, 1, 0},
    {"retry_limit", VG_OPT_INT, "0", offsetof(struct vg_output_settings, retry_limit),
     "retries of a batch before it goes to the dead-letter file; 0 retries for ever", VG_OPT_MIN,
     NULL, 0, 0},
    {"retry_backoff", VG_OPT_DURATION, "1s", offsetof(struct vg_output_settings, retry_backoff_ms),
     "first wait before a retry; doubles at each retry, with jitter", VG_OPT_MIN, NULL, 1, 0},
    {"retry_backoff_max", VG_OPT_DURATION, "60s",
     offsetof(struct vg_output_settings, retry_backoff_max_ms), "longest wait between retries",
     VG_OPT_MIN, NULL, 1, 0},
    {"dead_letter_path", VG_OPT_STR, NULL, offsetof(struct vg_output_settings, dead_letter_path),
     "NDJSON file for records that cannot be delivered; default "
     "<state_dir>/dead-letter/NAME.ndjson",
     0, NULL},
    {"dead_letter_max_bytes", VG_OPT_SIZE, "64MiB",
     offsetof(struct vg_output_settings, dead_letter_max_bytes),
     "the dead-letter file is rotated to PATH.1 (replacing it) once it would pass this size", 0,
     NULL},
    {"inputs", VG_OPT_STRLIST, NULL, offsetof(struct vg_output_settings, inputs),
     "collectors whose records this output takes, by name or glob (logs-*); default: all", 0, NULL},
    {"record_schema", VG_OPT_ENUM, NULL, offsetof(struct vg_output_settings, record_schema),
     "shape of each record: flat {time,body,fields}, ecs (Elastic Common Schema) or otel "
     "(OpenTelemetry log data model); default: flat, and elasticsearch's own "
     "{@timestamp,message,fields} there",
     0, "flat|ecs|otel"},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

bool vg_output_takes(const struct vg_output_settings *s, const char *collector)
{
    size_t i;

    if (s->inputs.n == 0)
        return true;
    for (i = 0; i < s->inputs.n; i++)
        if (fnmatch(s->inputs.v[i], collector, 0) == 0)
            return true;
    return false;
}

int vg_output_settings_check(const void *ctx, struct vg_check *chk)
{
    const struct vg_output_settings *s = ctx;

    if (s->retry_backoff_ms <= s->retry_backoff_max_ms)
        return VG_OK;
    vg_check_error(chk, "retry_backoff",
                   "option 'retry_backoff' (%lld ms) is longer than 'retry_backoff_max' (%lld ms)",
                   (long long)s->retry_backoff_ms, (long long)s->retry_backoff_max_ms);
    return VG_ECONFIG;
}

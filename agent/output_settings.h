/*
 * output_settings.h - the options every output takes besides its own: its
 * queue limits, retry policy, dead-letter file and routes, which the engine
 * owns (outputs report, the engine decides), and the shape of the records
 * it writes, which the engine hands to the output. config/ applies their
 * table to each outputs[i] map, the pipeline enforces them.
 */
#ifndef VG_OUTPUT_SETTINGS_H
#define VG_OUTPUT_SETTINGS_H

#include "vigil.h"

/* Filled by vg_output_common_options (terminated by { NULL }). */
struct vg_output_settings {
    uint64_t queue_max_bytes;
    int64_t queue_max_batches;
    int64_t retry_limit;      /* 0: retry for ever */
    int64_t retry_backoff_ms; /* first wait */
    int64_t retry_backoff_max_ms;
    char *dead_letter_path;         /* NULL: <dead_letter_dir>/<output name>.ndjson */
    uint64_t dead_letter_max_bytes; /* rotated to PATH.1 beyond this */
    struct vg_strlist inputs;       /* collectors it takes (names, globs); none: all */
    char *record_schema;            /* flat, ecs, otel; NULL: the output's own (the engine
                                       hands it over as vg_output.record_schema) */
};
extern const struct vg_option vg_output_common_options[];

/* The check callback of the common options (ctx: struct vg_output_settings):
 * what the table cannot declare, such as retry_backoff <= retry_backoff_max. */
int vg_output_settings_check(const void *ctx, struct vg_check *chk);

/* True when an output with these settings takes the records of the
 * collector named `collector` (its inputs, or every collector without). */
bool vg_output_takes(const struct vg_output_settings *s, const char *collector);

#endif

/*
 * core.h - what the engine's modules share beyond the plugin API.
 */
#ifndef VG_CORE_H
#define VG_CORE_H

#include "metrics.h"
#include "pipeline.h"
#include "vigil.h"

/* The emitter handed to collect(): staged samples and the record sink. */
struct vg_emit {
    struct vg_samples *samples; /* NULL: samples refused with VG_EINVAL */
    struct vg_sink *sink;       /* NULL: records refused (vg_emit_record returns NULL) */
};

/* Registry of compiled-in plugins (agent/registry.c). */
extern const struct vg_collector_ops *const vg_collector_registry[];
extern const struct vg_output_ops *const vg_output_registry[];
const struct vg_collector_ops *vg_collector_find(const char *name);
const struct vg_output_ops *vg_output_find(const char *name);

#endif

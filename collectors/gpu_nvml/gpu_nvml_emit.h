/*
 * gpu_nvml_emit.h - a snapshot of the gpu_nvml collector as samples, under
 * Prometheus or dcgm-exporter names, with container labels from the core's
 * metadata (meta.h). Engine thread.
 */
#ifndef GPU_NVML_EMIT_H
#define GPU_NVML_EMIT_H

#include "gpu_nvml_parse.h"

struct gn_emit_opts {
    enum gn_naming naming;
    const char *node;      /* the agent's node name */
    const char *proc_root; /* where /proc/<pid>/cgroup of GPU processes is read */
};

/* The container id of pid from arg/<pid>/cgroup (arg: the proc root, a
 * const char *), for gn_group_procs; false for a process in no container
 * or one that is gone. */
bool gn_container_of(void *arg, uint32_t pid, char *id, size_t size);

/* Emits every GPU of snap and vigil_gpu_backend_up. VG_OK or the first
 * emit error. */
int gn_emit_snapshot(struct vg_emit *e, const struct gn_snapshot *snap,
                     const struct gn_emit_opts *o);

#endif

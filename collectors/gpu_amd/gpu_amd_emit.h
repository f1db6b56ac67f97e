/*
 * gpu_amd_emit.h - a snapshot of the gpu_amd collector as samples, under
 * the names the gpu_nvml collector uses where the meaning is the same.
 * Engine thread.
 */
#ifndef GPU_AMD_EMIT_H
#define GPU_AMD_EMIT_H

#include "gpu_amd_parse.h"

/* Emits vigil_gpu_backend_up{backend="amdgpu"} and every GPU of snap, with
 * the labels gpu, uuid, name, pci_bus_id and node (the agent's node name).
 * VG_OK or the first emit error. */
int ga_emit_snapshot(struct vg_emit *e, const struct ga_snapshot *snap, const char *node);

#endif

/*
 * gpu_amd_emit.c - samples from a gpu_amd snapshot (see gpu_amd_emit.h).
 */
#include <stdio.h>

#include "gpu_amd_emit.h"

#define GA_LABELS 5

/* The identity labels of one GPU; gpu points to room for its index. */
static void ga_labels_of(struct vg_label *l, const struct ga_gpu *g, const char *node, char *gpu,
                         size_t size)
{
    snprintf(gpu, size, "%d", g->index);
    l[0] = (struct vg_label){"gpu", gpu};
    l[1] = (struct vg_label){"uuid", g->uuid};
    l[2] = (struct vg_label){"name", g->name};
    l[3] = (struct vg_label){"pci_bus_id", g->bus_id};
    l[4] = (struct vg_label){"node", node};
}

static int ga_emit_gpu(struct vg_emit *e, const struct ga_gpu *g, const char *node)
{
    struct vg_label l[GA_LABELS];
    char gpu[16];
    unsigned f;
    int rc;

    ga_labels_of(l, g, node, gpu, sizeof(gpu));
    rc = vg_emit_series(e, "gpu_up", VG_METRIC_GAUGE,
                        "Whether the GPU answers (0 once the driver reports it lost).", "", l,
                        GA_LABELS, g->up ? 1 : 0);
    for (f = 0; f < GA_F_COUNT && rc == VG_OK; f++) {
        const struct ga_name *nm = ga_field_name((enum ga_field)f);

        if (g->have & (1u << f))
            rc = vg_emit_series(e, nm->family, VG_METRIC_GAUGE, nm->help, "", l, GA_LABELS,
                                g->v[f] * nm->scale);
    }
    return rc;
}

int ga_emit_snapshot(struct vg_emit *e, const struct ga_snapshot *snap, const char *node)
{
    size_t i;
    int rc = vg_emit_gauge(e, "vigil_gpu_backend_up",
                           "Whether the GPU library of a backend is loaded and initialised.",
                           snap->backend_up ? 1 : 0, "backend", "amdgpu", NULL);

    for (i = 0; i < snap->n_gpus && rc == VG_OK; i++)
        rc = ga_emit_gpu(e, &snap->gpus[i], node);
    return rc;
}

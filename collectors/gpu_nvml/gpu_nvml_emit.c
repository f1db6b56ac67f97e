/*
 * gpu_nvml_emit.c - samples from a gpu_nvml snapshot (see gpu_nvml_emit.h).
 */
#include <stdio.h>
#include <string.h>

#include "gpu_nvml_emit.h"

#define GN_LABELS_MAX 16

/* The labels of one GPU's series, with room for one more per family. */
struct gn_labels {
    struct vg_label l[GN_LABELS_MAX];
    size_t n;
    char gpu[16];
    char device[32];
};

static void gn_label(struct gn_labels *L, const char *name, const char *value)
{
    if (L->n < GN_LABELS_MAX) {
        L->l[L->n].name = name;
        L->l[L->n].value = value;
        L->n++;
    }
}

/* The GPU's identity labels, as node-level dashboards of each naming
 * expect them, and the container's names when one container owns it. */
static void gn_labels_of(struct gn_labels *L, const struct gn_emit_opts *o, const struct gn_gpu *g,
                         const struct vg_meta *owner)
{
    L->n = 0;
    snprintf(L->gpu, sizeof(L->gpu), "%d", g->index);
    gn_label(L, "gpu", L->gpu);
    if (o->naming == GN_NAMING_DCGM) {
        if (g->have_minor)
            snprintf(L->device, sizeof(L->device), "nvidia%u", g->minor);
        else
            snprintf(L->device, sizeof(L->device), "nvidia%d", g->index);
        gn_label(L, "UUID", g->uuid);
        gn_label(L, "device", L->device);
        gn_label(L, "modelName", g->name);
        gn_label(L, "Hostname", o->node);
    } else {
        gn_label(L, "uuid", g->uuid);
        gn_label(L, "name", g->name);
        gn_label(L, "node", o->node);
    }
    gn_label(L, "pci_bus_id", g->bus_id);
    if (owner != NULL) {
        gn_label(L, "namespace", owner->namespace_);
        gn_label(L, "pod", owner->pod);
        gn_label(L, "container", owner->container);
    }
}

/* One series of L with an extra label pair (name may be NULL). */
static int gn_series(struct vg_emit *e, struct gn_labels *L, const char *family,
                     enum vg_metric_type type, const char *help, const char *name,
                     const char *value, double v)
{
    size_t n = L->n;
    int rc;

    if (name != NULL)
        gn_label(L, name, value);
    rc = vg_emit_series(e, family, type, help, "", L->l, L->n, v);
    L->n = n;
    return rc;
}

/* gpu_clock_throttle_reason{reason}: one 0/1 series per reason bit. */
static int gn_emit_reasons(struct vg_emit *e, struct gn_labels *L, uint64_t mask)
{
    size_t i;
    int rc = VG_OK;

    for (i = 0; i < gn_n_reasons && rc == VG_OK; i++)
        rc = gn_series(e, L, "gpu_clock_throttle_reason", VG_METRIC_GAUGE,
                       "Whether the GPU clocks are held down for this reason (1) or not (0).",
                       "reason", gn_reasons[i].name, (mask & gn_reasons[i].bit) != 0 ? 1 : 0);
    return rc;
}

/* Every value the GPU reported, under the naming's names and units. */
static int gn_emit_fields(struct vg_emit *e, struct gn_labels *L, const struct gn_gpu *g,
                          enum gn_naming naming)
{
    int rc = VG_OK;
    unsigned f;

    for (f = 0; f < GN_F_COUNT && rc == VG_OK; f++) {
        const struct gn_name *nm = gn_field_name((enum gn_field)f, naming);

        if (!(g->have & (1u << f)))
            continue;
        if (f == GN_F_THROTTLE && naming == GN_NAMING_PROMETHEUS)
            rc = gn_emit_reasons(e, L, (uint64_t)g->v[f]);
        else if (nm->family != NULL)
            rc = gn_series(e, L, nm->family, nm->type, nm->help, nm->label_name, nm->label_value,
                           g->v[f] * nm->scale);
    }
    return rc;
}

/* gpu_info{driver_version,cuda_version} 1 */
static int gn_emit_info(struct vg_emit *e, struct gn_labels *L, const struct gn_snapshot *snap)
{
    size_t n = L->n;
    char cuda[32];
    int rc;

    gn_cuda_text(snap->cuda, cuda, sizeof(cuda));
    gn_label(L, "driver_version", snap->driver);
    gn_label(L, "cuda_version", cuda);
    rc = vg_emit_series(e, "gpu_info", VG_METRIC_GAUGE,
                        "A GPU and the versions of its driver and CUDA, always 1.", "", L->l, L->n,
                        1);
    L->n = n;
    return rc;
}

bool gn_container_of(void *arg, uint32_t pid, char *id, size_t size)
{
    struct vg_cgroup_ids ids;

    if (!vg_cgroup_ids_of_pid(arg, (long)pid, &ids) || ids.id[0] == '\0')
        return false;
    snprintf(id, size, "%s", ids.id);
    return true;
}

/*
 * container_gpu_memory_used_bytes of each container with processes on g
 * whose names the core knows; *owner is set to the names of the one
 * container using the GPU, when exactly one does (and no other process).
 */
static int gn_emit_containers(struct vg_emit *e, const struct gn_emit_opts *o,
                              const struct gn_gpu *g, struct vg_meta *owner, bool *owned)
{
    struct gn_container groups[GN_PROC_MAX];
    struct vg_meta m;
    size_t n, i, others = 0;
    char gpu[16];
    int rc = VG_OK;

    *owned = false;
    n = gn_group_procs(g->procs, g->n_procs, gn_container_of, (void *)o->proc_root, groups,
                       GN_PROC_MAX, &others);
    snprintf(gpu, sizeof(gpu), "%d", g->index);
    for (i = 0; i < n && rc == VG_OK; i++) {
        if (!vg_meta_get(groups[i].id, &m))
            continue;
        rc = vg_emit_gauge(e, "container_gpu_memory_used_bytes",
                           "GPU memory used by the processes of a container.",
                           (double)groups[i].used, "namespace", m.namespace_, "pod", m.pod,
                           "container", m.container, "gpu", gpu, "uuid", g->uuid, NULL);
        if (n == 1 && others == 0) {
            *owner = m;
            *owned = true;
        }
    }
    return rc;
}

static int gn_emit_gpu(struct vg_emit *e, const struct gn_snapshot *snap, const struct gn_gpu *g,
                       const struct gn_emit_opts *o)
{
    struct gn_labels L;
    struct vg_meta owner;
    bool owned = false;
    int rc = VG_OK;

    if (g->up)
        rc = gn_emit_containers(e, o, g, &owner, &owned);
    gn_labels_of(&L, o, g, owned ? &owner : NULL);
    if (rc == VG_OK)
        rc = gn_series(e, &L, "gpu_up", VG_METRIC_GAUGE,
                       "Whether the GPU answers (0 once the driver reports it lost).", NULL, NULL,
                       g->up ? 1 : 0);
    if (rc == VG_OK)
        rc = gn_emit_info(e, &L, snap);
    if (rc == VG_OK && g->up)
        rc = gn_emit_fields(e, &L, g, o->naming);
    return rc;
}

int gn_emit_snapshot(struct vg_emit *e, const struct gn_snapshot *snap,
                     const struct gn_emit_opts *o)
{
    size_t i;
    int rc = vg_emit_gauge(e, "vigil_gpu_backend_up",
                           "Whether the GPU library of a backend is loaded and initialised.",
                           snap->backend_up ? 1 : 0, "backend", "nvml", NULL);

    for (i = 0; i < snap->n_gpus && rc == VG_OK; i++)
        rc = gn_emit_gpu(e, snap, &snap->gpus[i], o);
    return rc;
}

/*
 * kmsg_events.c - what the kmsg collector reads in messages: NVIDIA Xid
 * errors (mapped to the GPU's index and UUID through the core's GPU table,
 * else through the driver's earlier GPU-at lines) and OOM kills (mapped to
 * the container through its cgroup), the record fields they add, and the
 * counters gpu_xid_errors_total, node_oom_kills_total and
 * container_oom_events_total.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmsg.h"

/* The UUID of bus from the GPU-at lines seen, or NULL. */
static const char *kmsg_gpu_at_uuid(const struct kmsg_ctx *x, const char *bus)
{
    size_t i;

    for (i = 0; i < x->n_gpus; i++)
        if (strcmp(x->gpus[i].bus, bus) == 0)
            return x->gpus[i].uuid;
    return NULL;
}

static void kmsg_remember_gpu(struct kmsg_ctx *x, const char *bus, const char *uuid)
{
    size_t i;

    for (i = 0; i < x->n_gpus && strcmp(x->gpus[i].bus, bus) != 0; i++)
        ;
    if (i == KMSG_MAX_GPUS)
        return;
    if (i == x->n_gpus)
        x->n_gpus++;
    snprintf(x->gpus[i].bus, sizeof(x->gpus[i].bus), "%s", bus);
    snprintf(x->gpus[i].uuid, sizeof(x->gpus[i].uuid), "%s", uuid);
}

/* The container of pid, through its cgroup and the core's names. */
static void kmsg_pid_container(const struct kmsg_ctx *x, long pid, struct kmsg_event *ev)
{
    if (pid <= 0)
        return;
    ev->has_ids = vg_cgroup_ids_of_pid(x->proc_root, pid, &ev->ids) && ev->ids.id[0] != '\0';
    if (ev->has_ids)
        ev->has_meta = vg_meta_get(ev->ids.id, &ev->meta);
}

static void kmsg_series_full(struct kmsg_ctx *x)
{
    if (x->series_full_logged)
        return;
    x->series_full_logged = true;
    vg_log(VG_LOG_WARN, KMSG_PLUGIN, x->c != NULL ? x->c->name : "",
           "more than %d series of one family; the rest are not counted", KMSG_MAX_SERIES);
}

static void kmsg_count_xid(struct kmsg_ctx *x, const struct kmsg_event *ev)
{
    struct kmsg_xid_series *s;
    size_t i;

    for (i = 0; i < x->n_xids; i++) {
        s = &x->xids[i];
        if (s->xid == ev->xid.xid && strcmp(s->gpu, ev->gpu) == 0 &&
            strcmp(s->uuid, ev->uuid) == 0) {
            s->n++;
            return;
        }
    }
    if (x->n_xids == KMSG_MAX_SERIES || x->n_xids == x->cap_xids) {
        kmsg_series_full(x);
        return;
    }
    s = &x->xids[x->n_xids++];
    memset(s, 0, sizeof(*s));
    snprintf(s->gpu, sizeof(s->gpu), "%s", ev->gpu);
    snprintf(s->uuid, sizeof(s->uuid), "%s", ev->uuid);
    s->xid = ev->xid.xid;
    s->n = 1;
}

static void kmsg_count_oom(struct kmsg_ctx *x, const struct kmsg_event *ev)
{
    struct kmsg_oom_series *s;
    size_t i;

    for (i = 0; i < x->n_ooms; i++) {
        if (strcmp(x->ooms[i].id, ev->ids.id) == 0) {
            x->ooms[i].m = ev->meta; /* the names may have become known since */
            x->ooms[i].n++;
            return;
        }
    }
    if (x->n_ooms == KMSG_MAX_SERIES || x->n_ooms == x->cap_ooms) {
        kmsg_series_full(x);
        return;
    }
    s = &x->ooms[x->n_ooms++];
    memset(s, 0, sizeof(*s));
    s->m = ev->meta;
    snprintf(s->id, sizeof(s->id), "%s", ev->ids.id);
    s->n = 1;
}

/* An Xid line: the GPU from the core's table, else from GPU-at lines. */
static void kmsg_read_xid(struct kmsg_ctx *x, struct kmsg_event *ev)
{
    const char *uuid;
    int index;

    ev->kind = KMSG_EV_XID;
    ev->pid = ev->xid.pid;
    if (!vg_gpu_bus_id(ev->xid.bus_id, ev->bus, sizeof(ev->bus)))
        ev->bus[0] = '\0';
    if (ev->bus[0] != '\0' && vg_gpu_get(ev->bus, &index, ev->uuid, sizeof(ev->uuid))) {
        snprintf(ev->gpu, sizeof(ev->gpu), "%d", index);
    } else if (ev->bus[0] != '\0') {
        /* the driver names the UUID at load, not the index NVML gives */
        uuid = kmsg_gpu_at_uuid(x, ev->bus);
        if (uuid != NULL)
            snprintf(ev->uuid, sizeof(ev->uuid), "%s", uuid);
    }
    kmsg_pid_container(x, ev->pid, ev);
}

void kmsg_event_read(struct kmsg_ctx *x, const char *msg, size_t len, struct kmsg_event *ev)
{
    char bus_raw[KMSG_BUS_MAX];

    memset(ev, 0, sizeof(*ev));
    ev->pid = -1;
    if (kmsg_parse_xid(msg, len, &ev->xid)) {
        kmsg_read_xid(x, ev);
    } else if (kmsg_parse_gpu_at(msg, len, bus_raw, ev->uuid)) {
        ev->kind = KMSG_EV_GPU_AT;
        if (vg_gpu_bus_id(bus_raw, ev->bus, sizeof(ev->bus)))
            kmsg_remember_gpu(x, ev->bus, ev->uuid);
    } else if (kmsg_parse_oom_kill(msg, len, &ev->kill)) {
        ev->kind = KMSG_EV_OOM_KILL;
        ev->pid = ev->kill.pid;
    } else if (kmsg_parse_oom_summary(msg, len, &ev->oom)) {
        ev->kind = KMSG_EV_OOM;
        ev->pid = ev->oom.pid;
        ev->has_ids = vg_cgroup_ids_of_path(ev->oom.task_memcg, &ev->ids) && ev->ids.id[0] != '\0';
        if (ev->has_ids)
            ev->has_meta = vg_meta_get(ev->ids.id, &ev->meta);
    }
}

int kmsg_event_reserve(struct kmsg_ctx *x, const struct kmsg_event *ev)
{
    if (ev->kind == KMSG_EV_XID && x->n_xids < KMSG_MAX_SERIES)
        return vg_grow((void **)&x->xids, &x->cap_xids, x->n_xids + 1, sizeof(*x->xids));
    if (ev->kind == KMSG_EV_OOM && ev->has_ids && x->n_ooms < KMSG_MAX_SERIES)
        return vg_grow((void **)&x->ooms, &x->cap_ooms, x->n_ooms + 1, sizeof(*x->ooms));
    return VG_OK;
}

void kmsg_event_count(struct kmsg_ctx *x, const struct kmsg_event *ev)
{
    if (ev->kind == KMSG_EV_XID)
        kmsg_count_xid(x, ev);
    else if (ev->kind == KMSG_EV_OOM_KILL)
        x->oom_kills++;
    else if (ev->kind == KMSG_EV_OOM && ev->has_ids)
        kmsg_count_oom(x, ev);
}

static int kmsg_set_s(struct vg_emit *e, struct vg_record *r, const char *key, const char *v)
{
    return vg_record_set_str(e, r, key, v, strlen(v));
}

/* namespace, pod, container and container_id of the event's container. */
static int kmsg_container_fields(struct vg_emit *e, struct vg_record *r,
                                 const struct kmsg_event *ev)
{
    int rc = VG_OK;

    if (!ev->has_ids)
        return VG_OK;
    if (ev->has_meta) {
        rc = kmsg_set_s(e, r, "namespace", ev->meta.namespace_);
        if (rc == VG_OK)
            rc = kmsg_set_s(e, r, "pod", ev->meta.pod);
        if (rc == VG_OK)
            rc = kmsg_set_s(e, r, "container", ev->meta.container);
    }
    if (rc == VG_OK)
        rc = kmsg_set_s(e, r, "container_id", ev->ids.id);
    return rc;
}

int kmsg_event_fields(struct vg_emit *e, struct vg_record *r, const struct kmsg_event *ev)
{
    int rc = VG_OK;

    if (ev->kind == KMSG_EV_NONE || ev->kind == KMSG_EV_GPU_AT)
        return VG_OK;
    if (ev->kind == KMSG_EV_XID) {
        rc = vg_record_set_int(e, r, "xid", ev->xid.xid);
        if (rc == VG_OK)
            rc = kmsg_set_s(e, r, "gpu", ev->gpu);
        if (rc == VG_OK)
            rc = kmsg_set_s(e, r, "uuid", ev->uuid);
        if (rc == VG_OK)
            rc = kmsg_set_s(e, r, "pci_bus_id", ev->bus[0] != '\0' ? ev->bus : ev->xid.bus_id);
    } else {
        rc = vg_record_set_bool(e, r, "oom", true);
    }
    if (rc == VG_OK && ev->pid > 0)
        rc = vg_record_set_int(e, r, "pid", ev->pid);
    if (rc == VG_OK)
        rc = kmsg_container_fields(e, r, ev);
    return rc;
}

static void kmsg_emit_xids(const struct kmsg_ctx *x, struct vg_emit *e)
{
    static const char help[] = "NVIDIA Xid errors in the kernel log since boot.";
    struct vg_label l[3];
    char xid[16];
    size_t i;

    for (i = 0; i < x->n_xids; i++) {
        snprintf(xid, sizeof(xid), "%d", x->xids[i].xid);
        l[0] = (struct vg_label){"gpu", x->xids[i].gpu};
        l[1] = (struct vg_label){"uuid", x->xids[i].uuid};
        l[2] = (struct vg_label){"xid", xid};
        vg_emit_series(e, "gpu_xid_errors_total", VG_METRIC_COUNTER, help, "", l, 3,
                       (double)x->xids[i].n);
    }
}

static void kmsg_emit_ooms(const struct kmsg_ctx *x, struct vg_emit *e)
{
    static const char help[] = "OOM kills in a container's memory cgroup since boot.";
    struct vg_label l[4];
    size_t i;

    for (i = 0; i < x->n_ooms; i++) {
        l[0] = (struct vg_label){"container", x->ooms[i].m.container};
        l[1] = (struct vg_label){"id", x->ooms[i].id};
        l[2] = (struct vg_label){"namespace", x->ooms[i].m.namespace_};
        l[3] = (struct vg_label){"pod", x->ooms[i].m.pod};
        vg_emit_series(e, "container_oom_events_total", VG_METRIC_COUNTER, help, "", l, 4,
                       (double)x->ooms[i].n);
    }
}

void kmsg_emit_metrics(struct kmsg_ctx *x, struct vg_emit *e)
{
    vg_emit_counter(e, "node_oom_kills_total", "Processes killed for lack of memory since boot.",
                    (double)x->oom_kills, NULL);
    vg_emit_counter(e, "vigil_kmsg_records_total", "Kernel log records read since boot.",
                    (double)x->records, "collector", x->c->name, NULL);
    vg_emit_counter(e, "vigil_kmsg_overrun_total",
                    "Times the kernel ring overwrote records before they were read.",
                    (double)x->overruns, "collector", x->c->name, NULL);
    vg_emit_counter(e, "vigil_kmsg_parse_errors_total", "Kernel log records that did not parse.",
                    (double)x->parse_errors, "collector", x->c->name, NULL);
    kmsg_emit_xids(x, e);
    kmsg_emit_ooms(x, e);
}

void kmsg_events_reset(struct kmsg_ctx *x)
{
    x->records = 0;
    x->parse_errors = 0;
    x->oom_kills = 0;
    x->n_xids = 0;
    x->n_ooms = 0;
    x->n_gpus = 0;
}

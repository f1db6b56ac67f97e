/*
 * gpu_nvml_read.c - NVML loaded with dlopen and read into a snapshot, on
 * the gpu_nvml collector's worker thread. Each value is asked for on its
 * own: NOT_SUPPORTED (or any other error) leaves out only that value, and
 * GPU_IS_LOST marks the GPU down.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "gpu_nvml_read.h"

/* The entry points we resolve; without a required one NVML is not used. */
struct gn_sym {
    const char *name;
    size_t offset;
    bool required;
};

#define GN_SYM(n, f, r)                                                                            \
    {                                                                                              \
        n, offsetof(struct gn_lib, f), r                                                           \
    }
static const struct gn_sym gn_syms[] = {
    GN_SYM("nvmlInit_v2", init, true),
    GN_SYM("nvmlShutdown", shutdown, true),
    GN_SYM("nvmlErrorString", error_string, false),
    GN_SYM("nvmlDeviceGetCount_v2", count, true),
    GN_SYM("nvmlDeviceGetHandleByIndex_v2", handle, true),
    GN_SYM("nvmlSystemGetDriverVersion", driver_version, false),
    GN_SYM("nvmlSystemGetCudaDriverVersion", cuda_version, false),
    GN_SYM("nvmlDeviceGetName", name, false),
    GN_SYM("nvmlDeviceGetUUID", uuid, false),
    GN_SYM("nvmlDeviceGetPciInfo_v3", pci, false),
    GN_SYM("nvmlDeviceGetMinorNumber", minor, false),
    GN_SYM("nvmlDeviceGetUtilizationRates", utilization, false),
    GN_SYM("nvmlDeviceGetMemoryInfo", memory, false),
    GN_SYM("nvmlDeviceGetTemperature", temperature, false),
    GN_SYM("nvmlDeviceGetPowerUsage", power, false),
    GN_SYM("nvmlDeviceGetEnforcedPowerLimit", power_limit, false),
    GN_SYM("nvmlDeviceGetTotalEnergyConsumption", energy, false),
    GN_SYM("nvmlDeviceGetClockInfo", clock, false),
    GN_SYM("nvmlDeviceGetCurrentClocksThrottleReasons", throttle, false),
    GN_SYM("nvmlDeviceGetTotalEccErrors", ecc, false),
    GN_SYM("nvmlDeviceGetRetiredPages", retired, false),
    GN_SYM("nvmlDeviceGetRemappedRows", remapped, false),
    GN_SYM("nvmlDeviceGetPcieThroughput", pcie, false),
    GN_SYM("nvmlDeviceGetFanSpeed", fan, false),
    GN_SYM("nvmlDeviceGetComputeRunningProcesses_v3", procs_v3, false),
    GN_SYM("nvmlDeviceGetComputeRunningProcesses", procs_v1, false),
    GN_SYM("nvmlEventSetCreate", event_create, false),
    GN_SYM("nvmlEventSetFree", event_free, false),
    GN_SYM("nvmlDeviceRegisterEvents", event_register, false),
    GN_SYM("nvmlEventSetWait_v2", event_wait, false),
};

static const char *gn_errstr(const struct gn_lib *lib, gn_ret_t rc)
{
    const char *s = lib->error_string != NULL ? lib->error_string(rc) : NULL;

    return s != NULL ? s : "error";
}

void gn_lib_close(struct gn_lib *lib)
{
    if (lib->events != NULL && lib->event_free != NULL)
        lib->event_free(lib->events);
    if (lib->up && lib->shutdown != NULL)
        lib->shutdown();
    if (lib->dl != NULL)
        dlclose(lib->dl);
    memset(lib, 0, offsetof(struct gn_lib, buf3));
}

int gn_lib_open(struct gn_lib *lib, const char *path, char *why, size_t why_size)
{
    const char *e;
    gn_ret_t rc;
    size_t i;

    memset(lib, 0, offsetof(struct gn_lib, buf3));
    lib->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib->dl == NULL) {
        e = dlerror();
        snprintf(why, why_size, "cannot load %s: %s", path, e != NULL ? e : "unknown error");
        return VG_ENOENT;
    }
    for (i = 0; i < VG_ARRAY_LEN(gn_syms); i++) {
        void *p = dlsym(lib->dl, gn_syms[i].name);

        if (p == NULL && gn_syms[i].required) {
            snprintf(why, why_size, "%s has no %s (not NVML, or too old)", path, gn_syms[i].name);
            gn_lib_close(lib);
            return VG_ENOENT;
        }
        memcpy((char *)lib + gn_syms[i].offset, &p, sizeof(p));
    }
    rc = lib->init();
    if (rc != GN_NVML_SUCCESS) {
        snprintf(why, why_size, "nvmlInit failed: %s (%u): no NVIDIA driver loaded?",
                 gn_errstr(lib, rc), rc);
        gn_lib_close(lib);
        return VG_EIO;
    }
    lib->up = true;
    return VG_OK;
}

/* Keeps value v of field f when rc says it was read; notes a lost GPU. */
static void gn_note(struct gn_gpu *g, enum gn_field f, gn_ret_t rc, double v)
{
    if (rc == GN_NVML_GPU_IS_LOST)
        g->up = false;
    if (rc != GN_NVML_SUCCESS)
        return;
    g->have |= 1u << f;
    g->v[f] = v;
}

/* Names: identity of the GPU (labels). */
static void gn_read_identity(struct gn_lib *lib, gn_device_t d, struct gn_gpu *g)
{
    gn_pci_info_t pci;
    gn_ret_t rc;

    if (lib->name != NULL && lib->name(d, g->name, sizeof(g->name)) == GN_NVML_GPU_IS_LOST)
        g->up = false;
    if (lib->uuid != NULL && lib->uuid(d, g->uuid, sizeof(g->uuid)) == GN_NVML_GPU_IS_LOST)
        g->up = false;
    memset(&pci, 0, sizeof(pci));
    rc = lib->pci != NULL ? lib->pci(d, &pci) : GN_NVML_NOT_SUPPORTED;
    if (rc == GN_NVML_SUCCESS)
        snprintf(g->bus_id, sizeof(g->bus_id), "%.*s", (int)sizeof(pci.bus_id), pci.bus_id);
    else if (rc == GN_NVML_GPU_IS_LOST)
        g->up = false;
    rc = lib->minor != NULL ? lib->minor(d, &g->minor) : GN_NVML_NOT_SUPPORTED;
    g->have_minor = rc == GN_NVML_SUCCESS;
    g->name[sizeof(g->name) - 1] = g->uuid[sizeof(g->uuid) - 1] = '\0';
}

/* Utilization and memory. */
static void gn_read_usage(struct gn_lib *lib, gn_device_t d, struct gn_gpu *g)
{
    gn_utilization_t u = {0, 0};
    gn_memory_t m = {0, 0, 0};
    gn_ret_t rc;

    if (lib->utilization != NULL && g->up) {
        rc = lib->utilization(d, &u);
        gn_note(g, GN_F_UTIL_GPU, rc, u.gpu);
        gn_note(g, GN_F_UTIL_MEM, rc, u.memory);
    }
    if (lib->memory != NULL && g->up) {
        rc = lib->memory(d, &m);
        gn_note(g, GN_F_MEM_USED, rc, (double)m.used);
        gn_note(g, GN_F_MEM_FREE, rc, (double)m.free);
        gn_note(g, GN_F_MEM_TOTAL, rc, (double)m.total);
    }
}

/* A value of one unsigned int from fn(d), or arg-taking afn(d, arg). */
static void gn_read_uint(struct gn_gpu *g, enum gn_field f, gn_dev_uint_fn fn,
                         gn_dev_arg_uint_fn afn, gn_device_t d, unsigned arg)
{
    unsigned x = 0;
    gn_ret_t rc;

    if (!g->up || (fn == NULL && afn == NULL))
        return;
    rc = fn != NULL ? fn(d, &x) : afn(d, arg, &x);
    gn_note(g, f, rc, x);
}

/* A value of one unsigned long long from fn(d). */
static void gn_read_ull(struct gn_gpu *g, enum gn_field f, gn_dev_ull_fn fn, gn_device_t d)
{
    unsigned long long x = 0;
    gn_ret_t rc;

    if (!g->up || fn == NULL)
        return;
    rc = fn(d, &x);
    gn_note(g, f, rc, (double)x);
}

/* Temperature, power, energy, clocks, fan, throttle reasons, PCIe. */
static void gn_read_physics(struct gn_lib *lib, gn_device_t d, struct gn_gpu *g)
{
    gn_read_uint(g, GN_F_TEMP, NULL, lib->temperature, d, GN_NVML_TEMPERATURE_GPU);
    gn_read_uint(g, GN_F_POWER, lib->power, NULL, d, 0);
    gn_read_uint(g, GN_F_POWER_LIMIT, lib->power_limit, NULL, d, 0);
    gn_read_ull(g, GN_F_ENERGY, lib->energy, d);
    gn_read_uint(g, GN_F_CLOCK_SM, NULL, lib->clock, d, GN_NVML_CLOCK_SM);
    gn_read_uint(g, GN_F_CLOCK_MEM, NULL, lib->clock, d, GN_NVML_CLOCK_MEM);
    gn_read_uint(g, GN_F_FAN, lib->fan, NULL, d, 0);
    gn_read_ull(g, GN_F_THROTTLE, lib->throttle, d);
    gn_read_uint(g, GN_F_PCIE_TX, NULL, lib->pcie, d, GN_NVML_PCIE_TX);
    gn_read_uint(g, GN_F_PCIE_RX, NULL, lib->pcie, d, GN_NVML_PCIE_RX);
}

/* Retired pages: a count query (no address buffer) answers 0 or INSUFFICIENT_SIZE. */
static void gn_read_retired(struct gn_lib *lib, gn_device_t d, struct gn_gpu *g, unsigned cause,
                            enum gn_field f)
{
    unsigned n = 0;
    gn_ret_t rc;

    if (lib->retired == NULL || !g->up)
        return;
    rc = lib->retired(d, cause, &n, NULL);
    gn_note(g, f, rc == GN_NVML_INSUFFICIENT_SIZE ? GN_NVML_SUCCESS : rc, n);
}

/* One volatile ECC counter. */
static void gn_read_ecc(struct gn_lib *lib, gn_device_t d, struct gn_gpu *g, unsigned type,
                        enum gn_field f)
{
    unsigned long long x = 0;
    gn_ret_t rc;

    if (lib->ecc == NULL || !g->up)
        return;
    rc = lib->ecc(d, type, GN_NVML_ECC_VOLATILE, &x);
    gn_note(g, f, rc, (double)x);
}

/* ECC, retired pages, remapped rows. */
static void gn_read_health(struct gn_lib *lib, gn_device_t d, struct gn_gpu *g)
{
    unsigned a = 0, b = 0, pending = 0, failed = 0;
    gn_ret_t rc;

    gn_read_ecc(lib, d, g, GN_NVML_ECC_CORRECTED, GN_F_ECC_CORR);
    gn_read_ecc(lib, d, g, GN_NVML_ECC_UNCORRECTED, GN_F_ECC_UNCORR);
    gn_read_retired(lib, d, g, GN_NVML_RETIRED_SBE, GN_F_RETIRED_SBE);
    gn_read_retired(lib, d, g, GN_NVML_RETIRED_DBE, GN_F_RETIRED_DBE);
    if (lib->remapped != NULL && g->up) {
        rc = lib->remapped(d, &a, &b, &pending, &failed);
        gn_note(g, GN_F_REMAP_CORR, rc, a);
        gn_note(g, GN_F_REMAP_UNCORR, rc, b);
    }
}

/* Adds a process to g (memory NVML does not know counts 0). */
static void gn_add_proc(struct gn_gpu *g, unsigned pid, unsigned long long used)
{
    if (g->n_procs == GN_PROC_MAX)
        return;
    g->procs[g->n_procs].pid = pid;
    g->procs[g->n_procs].used = used == GN_NVML_VALUE_UNAVAILABLE ? 0 : used;
    g->n_procs++;
}

/*
 * The compute processes: the _v3 call where the library has it, else the
 * first one (a smaller struct). Count first, then fill; a list that grew
 * between the two calls is asked for once more.
 */
static void gn_read_procs(struct gn_lib *lib, gn_device_t d, struct gn_gpu *g)
{
    unsigned n = 0, i, tries;
    gn_ret_t rc = GN_NVML_NOT_SUPPORTED;

    for (tries = 0; tries < 3 && g->up; tries++) {
        unsigned want = n < GN_PROC_BUF ? n : GN_PROC_BUF;

        if (lib->procs_v3 != NULL)
            rc = lib->procs_v3(d, &n, want > 0 ? lib->buf3 : NULL);
        else if (lib->procs_v1 != NULL)
            rc = lib->procs_v1(d, &n, want > 0 ? lib->buf1 : NULL);
        if (rc == GN_NVML_SUCCESS)
            n = n < want ? n : want;
        if (rc != GN_NVML_INSUFFICIENT_SIZE || n == 0)
            break;
        n = n < GN_PROC_BUF ? n : GN_PROC_BUF;
    }
    if (rc == GN_NVML_GPU_IS_LOST)
        g->up = false;
    if (rc != GN_NVML_SUCCESS)
        return;
    for (i = 0; i < n; i++)
        if (lib->procs_v3 != NULL)
            gn_add_proc(g, lib->buf3[i].pid, lib->buf3[i].used_gpu_memory);
        else
            gn_add_proc(g, lib->buf1[i].pid, lib->buf1[i].used_gpu_memory);
}

/*
 * Registers every GPU of this first read for Xid events (once: a GPU that
 * cannot be, such as one that does not support them, reports no Xid
 * series). The set stays until NVML is unloaded.
 */
static void gn_xid_register(struct gn_lib *lib, size_t n)
{
    size_t i;

    if (lib->registered)
        return;
    lib->registered = true;
    if (lib->event_create == NULL || lib->event_register == NULL || lib->event_wait == NULL ||
        lib->event_create(&lib->events) != GN_NVML_SUCCESS)
        return;
    for (i = 0; i < n; i++)
        lib->xid_on[i] =
            lib->devs[i] != NULL &&
            lib->event_register(lib->devs[i], GN_NVML_EVENT_XID, lib->events) == GN_NVML_SUCCESS;
}

/* Takes every Xid event waiting (without waiting for more) into the
 * per-GPU counts, then puts them into the snapshot's GPUs. */
static void gn_xid_drain(struct gn_lib *lib, struct gn_snapshot *snap)
{
    gn_event_data_t ev;
    size_t i, k;

    gn_xid_register(lib, snap->n_gpus);
    for (k = 0; lib->events != NULL && k < 1024; k++) {
        memset(&ev, 0, sizeof(ev));
        if (lib->event_wait(lib->events, &ev, 0) != GN_NVML_SUCCESS)
            break;
        for (i = 0; i < snap->n_gpus; i++)
            if (lib->devs[i] == ev.device && (ev.event_type & GN_NVML_EVENT_XID) != 0) {
                lib->xid_total[i]++;
                lib->xid_last[i] = (unsigned)ev.event_data;
            }
    }
    for (i = 0; i < snap->n_gpus; i++) {
        struct gn_gpu *g = &snap->gpus[i];

        if (!lib->xid_on[i] || !g->up)
            continue;
        gn_note(g, GN_F_XID_TOTAL, GN_NVML_SUCCESS, (double)lib->xid_total[i]);
        gn_note(g, GN_F_XID_LAST, GN_NVML_SUCCESS, lib->xid_last[i]);
    }
}

/* The driver and CUDA versions. */
static void gn_read_system(struct gn_lib *lib, struct gn_snapshot *snap)
{
    snap->driver[0] = '\0';
    snap->cuda = 0;
    if (lib->driver_version != NULL &&
        lib->driver_version(snap->driver, sizeof(snap->driver)) != GN_NVML_SUCCESS)
        snap->driver[0] = '\0';
    snap->driver[sizeof(snap->driver) - 1] = '\0';
    if (lib->cuda_version != NULL && lib->cuda_version(&snap->cuda) != GN_NVML_SUCCESS)
        snap->cuda = 0;
}

int gn_lib_read(struct gn_lib *lib, struct gn_snapshot *snap, char *why, size_t why_size)
{
    unsigned n = 0, i;
    gn_ret_t rc;

    memset(snap, 0, sizeof(*snap));
    snap->backend_up = true;
    rc = lib->count(&n);
    if (rc != GN_NVML_SUCCESS) {
        snprintf(why, why_size, "nvmlDeviceGetCount failed: %s (%u)", gn_errstr(lib, rc), rc);
        return VG_EIO;
    }
    gn_read_system(lib, snap);
    for (i = 0; i < n && snap->n_gpus < GN_GPU_MAX; i++) {
        struct gn_gpu *g = &snap->gpus[snap->n_gpus++];
        gn_device_t d = NULL;

        g->index = (int)i;
        g->up = true;
        rc = lib->handle(i, &d);
        lib->devs[i] = rc == GN_NVML_SUCCESS ? d : NULL;
        if (rc != GN_NVML_SUCCESS) {
            g->up = false;
            continue;
        }
        gn_read_identity(lib, d, g);
        gn_read_usage(lib, d, g);
        gn_read_physics(lib, d, g);
        gn_read_health(lib, d, g);
        gn_read_procs(lib, d, g);
    }
    gn_xid_drain(lib, snap);
    return VG_OK;
}

/*
 * fake_nvml.c - a stand-in for the NVML library, for the gpu_nvml
 * collector's tests: a shared object exporting the entry points the
 * collector resolves, answering from a scenario file named by the
 * environment variable FAKE_NVML_SCENARIO. The file is read again at
 * nvmlInit_v2 and at every nvmlDeviceGetCount_v2 (once per collection), so
 * a test changes what the "GPUs" say by rewriting it.
 *
 * Scenario lines ('#' starts a comment):
 *   init_fail                  nvmlInit_v2 answers DRIVER_NOT_LOADED
 *   driver TEXT | cuda N       system versions (cuda 12040 is 12.4)
 *   gpu N                      starts GPU N; the lines below describe it:
 *   name TEXT | uuid TEXT | bus TEXT | minor N
 *   util GPU% MEM% | memory TOTAL USED | temp C | power mW | power_limit mW
 *   energy mJ | clock_sm MHz | clock_mem MHz | throttle MASK | ecc CORR UNCORR
 *   retired SBE DBE | remapped CORR UNCORR | pcie TX_KBs RX_KBs | fan %
 *   proc PID BYTES             a compute process (up to 16)
 *   unsupported FN             FN answers NOT_SUPPORTED (FN: a word above, or procs)
 *   lost                       every call on this GPU answers GPU_IS_LOST
 *   hang FN SECONDS            FN sleeps that long before it answers
 *   xid N                      an Xid event (up to 8), delivered once
 *                              (FN "events": registering for events)
 *
 * Built twice: as NVML since 11.x (nvmlDeviceGetComputeRunningProcesses_v3)
 * and, with FAKE_NVML_V1, as an older library that has only the first
 * version of that call, whose process struct is smaller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_nvml_abi.h"

#define FAKE_GPUS  8
#define FAKE_PROCS 16

struct fake_gpu {
    char name[96], uuid[96], bus[32];
    unsigned minor, util_gpu, util_mem, temp, power, power_limit, clock_sm, clock_mem;
    unsigned retired[2], remapped[2], pcie[2], fan, n_procs;
    unsigned long long mem_total, mem_used, energy, throttle, ecc[2];
    unsigned pids[FAKE_PROCS];
    unsigned long long used[FAKE_PROCS];
    char unsupported[512];
    char hang_fn[32];
    unsigned hang_s;
    int lost;
    unsigned xids[8], n_xids;
};

/* Xid events delivered so far per GPU, kept when the scenario is read again. */
static unsigned fake_xids_delivered[FAKE_GPUS];

static struct {
    int init_fail;
    char driver[80];
    int cuda;
    unsigned n;
    struct fake_gpu gpus[FAKE_GPUS];
} fake;

/* Applies one "key value..." line to GPU g (NULL before any gpu line). */
static void fake_gpu_line(struct fake_gpu *g, const char *key, const char *rest)
{
    if (g == NULL)
        return;
    if (strcmp(key, "name") == 0)
        snprintf(g->name, sizeof(g->name), "%s", rest);
    else if (strcmp(key, "uuid") == 0)
        snprintf(g->uuid, sizeof(g->uuid), "%s", rest);
    else if (strcmp(key, "bus") == 0)
        snprintf(g->bus, sizeof(g->bus), "%s", rest);
    else if (strcmp(key, "minor") == 0)
        sscanf(rest, "%u", &g->minor);
    else if (strcmp(key, "util") == 0)
        sscanf(rest, "%u %u", &g->util_gpu, &g->util_mem);
    else if (strcmp(key, "memory") == 0)
        sscanf(rest, "%llu %llu", &g->mem_total, &g->mem_used);
    else if (strcmp(key, "temp") == 0)
        sscanf(rest, "%u", &g->temp);
    else if (strcmp(key, "power") == 0)
        sscanf(rest, "%u", &g->power);
    else if (strcmp(key, "power_limit") == 0)
        sscanf(rest, "%u", &g->power_limit);
    else if (strcmp(key, "energy") == 0)
        sscanf(rest, "%llu", &g->energy);
    else if (strcmp(key, "clock_sm") == 0)
        sscanf(rest, "%u", &g->clock_sm);
    else if (strcmp(key, "clock_mem") == 0)
        sscanf(rest, "%u", &g->clock_mem);
    else if (strcmp(key, "throttle") == 0)
        sscanf(rest, "%llu", &g->throttle);
    else if (strcmp(key, "ecc") == 0)
        sscanf(rest, "%llu %llu", &g->ecc[0], &g->ecc[1]);
    else if (strcmp(key, "retired") == 0)
        sscanf(rest, "%u %u", &g->retired[0], &g->retired[1]);
    else if (strcmp(key, "remapped") == 0)
        sscanf(rest, "%u %u", &g->remapped[0], &g->remapped[1]);
    else if (strcmp(key, "pcie") == 0)
        sscanf(rest, "%u %u", &g->pcie[0], &g->pcie[1]);
    else if (strcmp(key, "fan") == 0)
        sscanf(rest, "%u", &g->fan);
    else if (strcmp(key, "proc") == 0 && g->n_procs < FAKE_PROCS &&
             sscanf(rest, "%u %llu", &g->pids[g->n_procs], &g->used[g->n_procs]) == 2)
        g->n_procs++;
    else if (strcmp(key, "unsupported") == 0)
        snprintf(g->unsupported + strlen(g->unsupported),
                 sizeof(g->unsupported) - strlen(g->unsupported), " %s ", rest);
    else if (strcmp(key, "lost") == 0)
        g->lost = 1;
    else if (strcmp(key, "xid") == 0 && g->n_xids < 8 &&
             sscanf(rest, "%u", &g->xids[g->n_xids]) == 1)
        g->n_xids++;
    else if (strcmp(key, "hang") == 0)
        sscanf(rest, "%31s %u", g->hang_fn, &g->hang_s);
}

static void fake_line(char *line, struct fake_gpu **cur)
{
    char *rest, *hash = strchr(line, '#');
    size_t n;

    if (hash != NULL)
        *hash = '\0';
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '\r'))
        line[--n] = '\0';
    while (*line == ' ')
        line++;
    if (*line == '\0')
        return;
    rest = strchr(line, ' ');
    if (rest != NULL)
        *rest++ = '\0';
    else
        rest = line + strlen(line);
    if (strcmp(line, "init_fail") == 0)
        fake.init_fail = 1;
    else if (strcmp(line, "driver") == 0)
        snprintf(fake.driver, sizeof(fake.driver), "%s", rest);
    else if (strcmp(line, "cuda") == 0)
        fake.cuda = atoi(rest);
    else if (strcmp(line, "gpu") == 0 && fake.n < FAKE_GPUS)
        *cur = &fake.gpus[fake.n++];
    else
        fake_gpu_line(*cur, line, rest);
}

static void fake_load(void)
{
    const char *path = getenv("FAKE_NVML_SCENARIO");
    struct fake_gpu *cur = NULL;
    char line[512];
    FILE *f;

    memset(&fake, 0, sizeof(fake));
    if (path == NULL || (f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        fake_line(line, &cur);
    fclose(f);
}

/* The prologue of every device call: lost, hanging, unsupported. */
static gn_ret_t fake_enter(gn_device_t d, const char *fn, struct fake_gpu **out)
{
    struct fake_gpu *g = (struct fake_gpu *)d;
    char word[48];

    if (g == NULL || g < fake.gpus || g >= fake.gpus + fake.n)
        return 2; /* INVALID_ARGUMENT */
    *out = g;
    if (g->lost)
        return GN_NVML_GPU_IS_LOST;
    if (strcmp(g->hang_fn, fn) == 0)
        sleep(g->hang_s);
    snprintf(word, sizeof(word), " %s ", fn);
    if (strstr(g->unsupported, word) != NULL)
        return GN_NVML_NOT_SUPPORTED;
    return GN_NVML_SUCCESS;
}

#define FAKE_ENTER(fn)                                                                             \
    struct fake_gpu *g;                                                                            \
    gn_ret_t rc = fake_enter(d, fn, &g);                                                           \
    if (rc != GN_NVML_SUCCESS)                                                                     \
        return rc;

gn_ret_t nvmlInit_v2(void);
gn_ret_t nvmlShutdown(void);
const char *nvmlErrorString(gn_ret_t r);
gn_ret_t nvmlDeviceGetCount_v2(unsigned *n);
gn_ret_t nvmlDeviceGetHandleByIndex_v2(unsigned i, gn_device_t *d);
gn_ret_t nvmlSystemGetDriverVersion(char *buf, unsigned len);
gn_ret_t nvmlSystemGetCudaDriverVersion(int *v);
gn_ret_t nvmlDeviceGetName(gn_device_t d, char *buf, unsigned len);
gn_ret_t nvmlDeviceGetUUID(gn_device_t d, char *buf, unsigned len);
gn_ret_t nvmlDeviceGetPciInfo_v3(gn_device_t d, gn_pci_info_t *p);
gn_ret_t nvmlDeviceGetMinorNumber(gn_device_t d, unsigned *v);
gn_ret_t nvmlDeviceGetUtilizationRates(gn_device_t d, gn_utilization_t *u);
gn_ret_t nvmlDeviceGetMemoryInfo(gn_device_t d, gn_memory_t *m);
gn_ret_t nvmlDeviceGetTemperature(gn_device_t d, unsigned sensor, unsigned *v);
gn_ret_t nvmlDeviceGetPowerUsage(gn_device_t d, unsigned *v);
gn_ret_t nvmlDeviceGetEnforcedPowerLimit(gn_device_t d, unsigned *v);
gn_ret_t nvmlDeviceGetTotalEnergyConsumption(gn_device_t d, unsigned long long *v);
gn_ret_t nvmlDeviceGetClockInfo(gn_device_t d, unsigned type, unsigned *v);
gn_ret_t nvmlDeviceGetCurrentClocksThrottleReasons(gn_device_t d, unsigned long long *v);
gn_ret_t nvmlDeviceGetTotalEccErrors(gn_device_t d, unsigned type, unsigned counter,
                                     unsigned long long *v);
gn_ret_t nvmlDeviceGetRetiredPages(gn_device_t d, unsigned cause, unsigned *n,
                                   unsigned long long *addrs);
gn_ret_t nvmlDeviceGetRemappedRows(gn_device_t d, unsigned *c, unsigned *u, unsigned *p,
                                   unsigned *f);
gn_ret_t nvmlDeviceGetPcieThroughput(gn_device_t d, unsigned counter, unsigned *v);
gn_ret_t nvmlDeviceGetFanSpeed(gn_device_t d, unsigned *v);
gn_ret_t nvmlInit_v2(void)
{
    fake_load();
    return fake.init_fail ? GN_NVML_DRIVER_NOT_LOADED : GN_NVML_SUCCESS;
}

gn_ret_t nvmlShutdown(void)
{
    return GN_NVML_SUCCESS;
}

const char *nvmlErrorString(gn_ret_t r)
{
    switch (r) {
    case GN_NVML_NOT_SUPPORTED:
        return "Not Supported";
    case GN_NVML_DRIVER_NOT_LOADED:
        return "Driver Not Loaded";
    case GN_NVML_GPU_IS_LOST:
        return "GPU is lost";
    default:
        return "Unknown Error";
    }
}

gn_ret_t nvmlDeviceGetCount_v2(unsigned *n)
{
    fake_load();
    *n = fake.n;
    return GN_NVML_SUCCESS;
}

gn_ret_t nvmlDeviceGetHandleByIndex_v2(unsigned i, gn_device_t *d)
{
    if (i >= fake.n)
        return 2;
    *d = (gn_device_t)&fake.gpus[i];
    return GN_NVML_SUCCESS;
}

gn_ret_t nvmlSystemGetDriverVersion(char *buf, unsigned len)
{
    snprintf(buf, len, "%s", fake.driver);
    return GN_NVML_SUCCESS;
}

gn_ret_t nvmlSystemGetCudaDriverVersion(int *v)
{
    *v = fake.cuda;
    return GN_NVML_SUCCESS;
}

gn_ret_t nvmlDeviceGetName(gn_device_t d, char *buf, unsigned len)
{
    FAKE_ENTER("name");
    snprintf(buf, len, "%s", g->name);
    return rc;
}

gn_ret_t nvmlDeviceGetUUID(gn_device_t d, char *buf, unsigned len)
{
    FAKE_ENTER("uuid");
    snprintf(buf, len, "%s", g->uuid);
    return rc;
}

gn_ret_t nvmlDeviceGetPciInfo_v3(gn_device_t d, gn_pci_info_t *p)
{
    FAKE_ENTER("bus");
    memset(p, 0, sizeof(*p));
    snprintf(p->bus_id, sizeof(p->bus_id), "%s", g->bus);
    return rc;
}

gn_ret_t nvmlDeviceGetMinorNumber(gn_device_t d, unsigned *v)
{
    FAKE_ENTER("minor");
    *v = g->minor;
    return rc;
}

gn_ret_t nvmlDeviceGetUtilizationRates(gn_device_t d, gn_utilization_t *u)
{
    FAKE_ENTER("util");
    u->gpu = g->util_gpu;
    u->memory = g->util_mem;
    return rc;
}

gn_ret_t nvmlDeviceGetMemoryInfo(gn_device_t d, gn_memory_t *m)
{
    FAKE_ENTER("memory");
    m->total = g->mem_total;
    m->used = g->mem_used;
    m->free = g->mem_total - g->mem_used;
    return rc;
}

gn_ret_t nvmlDeviceGetTemperature(gn_device_t d, unsigned sensor, unsigned *v)
{
    FAKE_ENTER("temp");
    *v = sensor == GN_NVML_TEMPERATURE_GPU ? g->temp : 0;
    return rc;
}

gn_ret_t nvmlDeviceGetPowerUsage(gn_device_t d, unsigned *v)
{
    FAKE_ENTER("power");
    *v = g->power;
    return rc;
}

gn_ret_t nvmlDeviceGetEnforcedPowerLimit(gn_device_t d, unsigned *v)
{
    FAKE_ENTER("power_limit");
    *v = g->power_limit;
    return rc;
}

gn_ret_t nvmlDeviceGetTotalEnergyConsumption(gn_device_t d, unsigned long long *v)
{
    FAKE_ENTER("energy");
    *v = g->energy;
    return rc;
}

gn_ret_t nvmlDeviceGetClockInfo(gn_device_t d, unsigned type, unsigned *v)
{
    FAKE_ENTER(type == GN_NVML_CLOCK_SM ? "clock_sm" : "clock_mem");
    *v = type == GN_NVML_CLOCK_SM ? g->clock_sm : g->clock_mem;
    return rc;
}

gn_ret_t nvmlDeviceGetCurrentClocksThrottleReasons(gn_device_t d, unsigned long long *v)
{
    FAKE_ENTER("throttle");
    *v = g->throttle;
    return rc;
}

gn_ret_t nvmlDeviceGetTotalEccErrors(gn_device_t d, unsigned type, unsigned counter,
                                     unsigned long long *v)
{
    FAKE_ENTER("ecc");
    *v = g->ecc[type & 1];
    return rc;
}

gn_ret_t nvmlDeviceGetRetiredPages(gn_device_t d, unsigned cause, unsigned *n,
                                   unsigned long long *addrs)
{
    unsigned have;

    FAKE_ENTER("retired");
    have = g->retired[cause & 1];
    if (*n < have) {
        *n = have;
        return GN_NVML_INSUFFICIENT_SIZE;
    }
    *n = have;
    return rc;
}

gn_ret_t nvmlDeviceGetRemappedRows(gn_device_t d, unsigned *c, unsigned *u, unsigned *p,
                                   unsigned *f)
{
    FAKE_ENTER("remapped");
    *c = g->remapped[0];
    *u = g->remapped[1];
    *p = *f = 0;
    return rc;
}

gn_ret_t nvmlDeviceGetPcieThroughput(gn_device_t d, unsigned counter, unsigned *v)
{
    FAKE_ENTER("pcie");
    *v = g->pcie[counter & 1];
    return rc;
}

gn_ret_t nvmlDeviceGetFanSpeed(gn_device_t d, unsigned *v)
{
    FAKE_ENTER("fan");
    *v = g->fan;
    return rc;
}

gn_ret_t nvmlEventSetCreate(gn_event_set_t *set);
gn_ret_t nvmlEventSetFree(gn_event_set_t set);
gn_ret_t nvmlDeviceRegisterEvents(gn_device_t d, unsigned long long types, gn_event_set_t set);
gn_ret_t nvmlEventSetWait_v2(gn_event_set_t set, gn_event_data_t *data, unsigned timeout_ms);

gn_ret_t nvmlEventSetCreate(gn_event_set_t *set)
{
    *set = (gn_event_set_t)fake_xids_delivered;
    return GN_NVML_SUCCESS;
}

gn_ret_t nvmlEventSetFree(gn_event_set_t set)
{
    return GN_NVML_SUCCESS;
}

gn_ret_t nvmlDeviceRegisterEvents(gn_device_t d, unsigned long long types, gn_event_set_t set)
{
    FAKE_ENTER("events");
    return types == GN_NVML_EVENT_XID ? rc : 2;
}

/* The next Xid of the scenario not delivered yet; TIMEOUT when none. */
gn_ret_t nvmlEventSetWait_v2(gn_event_set_t set, gn_event_data_t *data, unsigned timeout_ms)
{
    unsigned i;

    for (i = 0; i < fake.n; i++) {
        if (fake_xids_delivered[i] >= fake.gpus[i].n_xids)
            continue;
        memset(data, 0, sizeof(*data));
        data->device = (gn_device_t)&fake.gpus[i];
        data->event_type = GN_NVML_EVENT_XID;
        data->event_data = fake.gpus[i].xids[fake_xids_delivered[i]++];
        return GN_NVML_SUCCESS;
    }
    return GN_NVML_TIMEOUT;
}

/* Count then fill, as NVML does: too small a buffer gets INSUFFICIENT_SIZE
 * and the count; a filled entry is a pid and its memory. */
static gn_ret_t fake_procs(gn_device_t d, unsigned *n, unsigned *pids, unsigned long long *used,
                           size_t stride)
{
    unsigned i;

    FAKE_ENTER("procs");
    if (*n < g->n_procs) {
        *n = g->n_procs;
        return GN_NVML_INSUFFICIENT_SIZE;
    }
    for (i = 0; i < g->n_procs; i++) {
        *(unsigned *)((char *)pids + i * stride) = g->pids[i];
        *(unsigned long long *)((char *)used + i * stride) = g->used[i];
    }
    *n = g->n_procs;
    return rc;
}

#ifdef FAKE_NVML_V1
gn_ret_t nvmlDeviceGetComputeRunningProcesses(gn_device_t d, unsigned *n, gn_process_v1_t *p);

gn_ret_t nvmlDeviceGetComputeRunningProcesses(gn_device_t d, unsigned *n, gn_process_v1_t *p)
{
    return fake_procs(d, n, p != NULL ? &p->pid : NULL, p != NULL ? &p->used_gpu_memory : NULL,
                      sizeof(*p));
}
#else
gn_ret_t nvmlDeviceGetComputeRunningProcesses_v3(gn_device_t d, unsigned *n, gn_process_v3_t *p);

gn_ret_t nvmlDeviceGetComputeRunningProcesses_v3(gn_device_t d, unsigned *n, gn_process_v3_t *p)
{
    if (p != NULL)
        memset(p, 0xff, sizeof(*p) * *n); /* instance ids we do not read */
    return fake_procs(d, n, p != NULL ? &p->pid : NULL, p != NULL ? &p->used_gpu_memory : NULL,
                      sizeof(*p));
}
#endif

/*
 * gpu_nvml_parse.c - the pure parts of the gpu_nvml collector (see
 * gpu_nvml_parse.h): the naming table, the throttle reasons, grouping of
 * processes by container.
 */
#include <stdio.h>
#include <string.h>

#include "gpu_nvml_parse.h"

#define GN_G   VG_METRIC_GAUGE
#define GN_C   VG_METRIC_COUNTER
#define GN_MIB (1.0 / 1048576.0)

/* Prometheus base units: ratios, bytes, watts, joules, hertz. */
static const struct gn_name gn_prom[GN_F_COUNT] = {
    [GN_F_UTIL_GPU] = {"gpu_utilization_ratio", "Fraction of time a kernel ran on the GPU.", GN_G,
                       0.01, NULL, NULL},
    [GN_F_UTIL_MEM] = {"gpu_memory_utilization_ratio",
                       "Fraction of time GPU memory was read or written.", GN_G, 0.01, NULL, NULL},
    [GN_F_MEM_USED] = {"gpu_memory_used_bytes", "GPU memory in use.", GN_G, 1, NULL, NULL},
    [GN_F_MEM_FREE] = {"gpu_memory_free_bytes", "GPU memory free.", GN_G, 1, NULL, NULL},
    [GN_F_MEM_TOTAL] = {"gpu_memory_total_bytes", "GPU memory in all.", GN_G, 1, NULL, NULL},
    [GN_F_TEMP] = {"gpu_temperature_celsius", "GPU die temperature.", GN_G, 1, NULL, NULL},
    [GN_F_POWER] = {"gpu_power_draw_watts", "Power the GPU draws.", GN_G, 0.001, NULL, NULL},
    [GN_F_POWER_LIMIT] = {"gpu_power_limit_watts", "Power limit the driver enforces.", GN_G, 0.001,
                          NULL, NULL},
    [GN_F_ENERGY] = {"gpu_energy_joules_total", "Energy the GPU used since the driver loaded.",
                     GN_C, 0.001, NULL, NULL},
    [GN_F_CLOCK_SM] = {"gpu_sm_clock_hertz", "Clock of the streaming multiprocessors.", GN_G, 1e6,
                       NULL, NULL},
    [GN_F_CLOCK_MEM] = {"gpu_memory_clock_hertz", "Clock of the GPU memory.", GN_G, 1e6, NULL,
                        NULL},
    [GN_F_THROTTLE] = {NULL, NULL, GN_G, 1, NULL, NULL}, /* one series per reason */
    [GN_F_ECC_CORR] = {"gpu_ecc_errors_total", "ECC errors since the driver loaded (volatile).",
                       GN_C, 1, "type", "corrected"},
    [GN_F_ECC_UNCORR] = {"gpu_ecc_errors_total", "ECC errors since the driver loaded (volatile).",
                         GN_C, 1, "type", "uncorrected"},
    [GN_F_RETIRED_SBE] = {"gpu_retired_pages", "Memory pages retired.", GN_G, 1, "cause",
                          "multiple_single_bit_ecc"},
    [GN_F_RETIRED_DBE] = {"gpu_retired_pages", "Memory pages retired.", GN_G, 1, "cause",
                          "double_bit_ecc"},
    [GN_F_REMAP_CORR] = {"gpu_remapped_rows", "Memory rows remapped.", GN_G, 1, "error",
                         "correctable"},
    [GN_F_REMAP_UNCORR] = {"gpu_remapped_rows", "Memory rows remapped.", GN_G, 1, "error",
                           "uncorrectable"},
    [GN_F_PCIE_TX] = {"gpu_pcie_throughput_bytes_per_second", "PCIe throughput (NVML samples).",
                      GN_G, 1024, "direction", "tx"},
    [GN_F_PCIE_RX] = {"gpu_pcie_throughput_bytes_per_second", "PCIe throughput (NVML samples).",
                      GN_G, 1024, "direction", "rx"},
    [GN_F_FAN] = {"gpu_fan_speed_ratio", "Fan speed, as a fraction of its maximum.", GN_G, 0.01,
                  NULL, NULL},
    [GN_F_XID_TOTAL] = {"gpu_xid_errors_total", "Xid errors NVML reported since it was loaded.",
                        GN_C, 1, NULL, NULL},
    [GN_F_XID_LAST] = {"gpu_xid_last_code", "The last Xid error NVML reported (0: none yet).", GN_G,
                       1, NULL, NULL},
};

/* dcgm-exporter's names and units (percent, MiB, MHz, mJ, KB/s). */
static const struct gn_name gn_dcgm[GN_F_COUNT] = {
    [GN_F_UTIL_GPU] = {"DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", GN_G, 1, NULL, NULL},
    [GN_F_UTIL_MEM] = {"DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", GN_G, 1, NULL,
                       NULL},
    [GN_F_MEM_USED] = {"DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", GN_G, GN_MIB,
                       NULL, NULL},
    [GN_F_MEM_FREE] = {"DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", GN_G, GN_MIB,
                       NULL, NULL},
    [GN_F_MEM_TOTAL] = {"DCGM_FI_DEV_FB_TOTAL", "Framebuffer memory total (in MiB).", GN_G, GN_MIB,
                        NULL, NULL},
    [GN_F_TEMP] = {"DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", GN_G, 1, NULL, NULL},
    [GN_F_POWER] = {"DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", GN_G, 0.001, NULL, NULL},
    [GN_F_POWER_LIMIT] = {"DCGM_FI_DEV_ENFORCED_POWER_LIMIT", "Enforced power limit (in W).", GN_G,
                          0.001, NULL, NULL},
    [GN_F_ENERGY] = {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                     "Total energy consumption since boot (in mJ).", GN_C, 1, NULL, NULL},
    [GN_F_CLOCK_SM] = {"DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", GN_G, 1, NULL, NULL},
    [GN_F_CLOCK_MEM] = {"DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz).", GN_G, 1, NULL,
                        NULL},
    [GN_F_THROTTLE] = {"DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "Throttling reasons (bit mask).", GN_G,
                       1, NULL, NULL},
    [GN_F_ECC_CORR] = {"DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "Single-bit volatile ECC errors.", GN_C, 1,
                       NULL, NULL},
    [GN_F_ECC_UNCORR] = {"DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "Double-bit volatile ECC errors.", GN_C,
                         1, NULL, NULL},
    [GN_F_RETIRED_SBE] = {"DCGM_FI_DEV_RETIRED_SBE", "Pages retired for single-bit errors.", GN_G,
                          1, NULL, NULL},
    [GN_F_RETIRED_DBE] = {"DCGM_FI_DEV_RETIRED_DBE", "Pages retired for double-bit errors.", GN_G,
                          1, NULL, NULL},
    [GN_F_REMAP_CORR] = {"DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
                         "Rows remapped for correctable errors.", GN_G, 1, NULL, NULL},
    [GN_F_REMAP_UNCORR] = {"DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
                           "Rows remapped for uncorrectable errors.", GN_G, 1, NULL, NULL},
    [GN_F_PCIE_TX] = {"DCGM_FI_DEV_PCIE_TX_THROUGHPUT", "PCIe TX throughput (in KB/s).", GN_G, 1,
                      NULL, NULL},
    [GN_F_PCIE_RX] = {"DCGM_FI_DEV_PCIE_RX_THROUGHPUT", "PCIe RX throughput (in KB/s).", GN_G, 1,
                      NULL, NULL},
    [GN_F_FAN] = {"DCGM_FI_DEV_FAN_SPEED", "Fan speed (in %).", GN_G, 1, NULL, NULL},
    [GN_F_XID_TOTAL] = {NULL, NULL, GN_C, 1, NULL, NULL}, /* dcgm-exporter has no count */
    [GN_F_XID_LAST] = {"DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered.", GN_G,
                       1, NULL, NULL},
};

const struct gn_reason gn_reasons[] = {
    {0x1, "gpu_idle"},
    {0x2, "applications_clocks_setting"},
    {0x4, "sw_power_cap"},
    {0x8, "hw_slowdown"},
    {0x10, "sync_boost"},
    {0x20, "sw_thermal_slowdown"},
    {0x40, "hw_thermal_slowdown"},
    {0x80, "hw_power_brake_slowdown"},
    {0x100, "display_clock_setting"},
};
const size_t gn_n_reasons = VG_ARRAY_LEN(gn_reasons);

const struct gn_name *gn_field_name(enum gn_field f, enum gn_naming n)
{
    if ((unsigned)f >= GN_F_COUNT)
        return NULL;
    return n == GN_NAMING_DCGM ? &gn_dcgm[f] : &gn_prom[f];
}

void gn_cuda_text(int cuda, char *out, size_t size)
{
    if (size == 0)
        return;
    if (cuda <= 0)
        out[0] = '\0';
    else
        snprintf(out, size, "%d.%d", cuda / 1000, (cuda % 1000) / 10);
}

/* The index of id in out[0..n), or n. */
static size_t gn_find_container(const struct gn_container *out, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(out[i].id, id) == 0)
            break;
    return i;
}

size_t gn_group_procs(const struct gn_proc *procs, size_t n, gn_container_of_fn of, void *arg,
                      struct gn_container *out, size_t max, size_t *others)
{
    char id[VG_META_ID_MAX];
    size_t i, k, n_out = 0;

    *others = 0;
    for (i = 0; i < n; i++) {
        if (!of(arg, procs[i].pid, id, sizeof(id)) || id[0] == '\0') {
            (*others)++;
            continue;
        }
        k = gn_find_container(out, n_out, id);
        if (k == n_out) {
            if (n_out == max) {
                (*others)++;
                continue;
            }
            snprintf(out[k].id, sizeof(out[k].id), "%s", id);
            out[k].used = 0;
            n_out++;
        }
        out[k].used += procs[i].used;
    }
    return n_out;
}

/*
 * gpu_amd_parse.c - the pure parts of the gpu_amd collector (see
 * gpu_amd_parse.h): the naming table and the sysfs value parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../node/node_parse.h"
#include "gpu_amd_parse.h"

#define GA_PCT     100u
#define GA_BYTES   (UINT64_C(1) << 50)   /* 1 PiB of memory */
#define GA_MILLI_C UINT64_C(300000)      /* 300 degrees: past it, a broken sensor */
#define GA_MICRO_W UINT64_C(10000000000) /* 10 kW */
#define GA_RPM     UINT64_C(100000)
#define GA_GTS_MAX 128.0 /* GT/s; PCIe 7 is 128 */

/*
 * Names NVML's collector (gpu_nvml_parse.c) uses where the meaning is the
 * same, with the same help text so that both can feed one /metrics; the
 * rest are AMD's own.
 */
static const struct ga_name ga_names[GA_F_COUNT] = {
    [GA_F_UTIL_GPU] = {"gpu_utilization_ratio", "Fraction of time a kernel ran on the GPU.", 0.01,
                       GA_PCT},
    [GA_F_UTIL_MEM] = {"gpu_memory_utilization_ratio",
                       "Fraction of time GPU memory was read or written.", 0.01, GA_PCT},
    [GA_F_VRAM_USED] = {"gpu_memory_used_bytes", "GPU memory in use.", 1, GA_BYTES},
    [GA_F_VRAM_FREE] = {"gpu_memory_free_bytes", "GPU memory free.", 1, GA_BYTES},
    [GA_F_VRAM_TOTAL] = {"gpu_memory_total_bytes", "GPU memory in all.", 1, GA_BYTES},
    [GA_F_VIS_USED] = {"gpu_visible_vram_used_bytes",
                       "GPU memory the CPU can map directly (visible VRAM) in use.", 1, GA_BYTES},
    [GA_F_VIS_TOTAL] = {"gpu_visible_vram_total_bytes",
                        "GPU memory the CPU can map directly (visible VRAM) in all.", 1, GA_BYTES},
    [GA_F_GTT_USED] = {"gpu_gtt_used_bytes", "System memory mapped for the GPU (GTT) in use.", 1,
                       GA_BYTES},
    [GA_F_GTT_TOTAL] = {"gpu_gtt_total_bytes", "System memory mapped for the GPU (GTT) in all.", 1,
                        GA_BYTES},
    [GA_F_TEMP_EDGE] = {"gpu_temperature_celsius", "GPU die temperature.", 0.001, GA_MILLI_C},
    [GA_F_TEMP_JUNCTION] = {"gpu_junction_temperature_celsius",
                            "Hottest point of the GPU die (junction or hotspot sensor).", 0.001,
                            GA_MILLI_C},
    [GA_F_TEMP_MEM] = {"gpu_memory_temperature_celsius", "GPU memory (HBM or VRAM) temperature.",
                       0.001, GA_MILLI_C},
    [GA_F_POWER] = {"gpu_power_draw_watts", "Power the GPU draws.", 1e-6, GA_MICRO_W},
    [GA_F_POWER_CAP] = {"gpu_power_limit_watts", "Power limit the driver enforces.", 1e-6,
                        GA_MICRO_W},
    [GA_F_FAN_PWM] = {"gpu_fan_speed_ratio", "Fan speed, as a fraction of its maximum.",
                      1.0 / 255.0, 255},
    [GA_F_FAN_RPM] = {"gpu_fan_speed_rpm", "Fan speed in revolutions per minute.", 1, GA_RPM},
    [GA_F_LINK_SPEED] = {"gpu_pcie_link_transfers_per_second", "Current PCIe link speed, per lane.",
                         1, 0},
    [GA_F_LINK_WIDTH] = {"gpu_pcie_link_width", "Current PCIe link width, in lanes.", 1, 32},
};

const struct ga_name *ga_field_name(enum ga_field f)
{
    return (unsigned)f < GA_F_COUNT ? &ga_names[f] : NULL;
}

void ga_set(struct ga_gpu *g, enum ga_field f, double v)
{
    g->v[f] = v;
    g->have |= 1u << f;
}

/* n less the trailing white space of s[0..n). */
static size_t ga_trim(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

static int ga_fail(const char **why, const char *what)
{
    *why = what;
    return VG_EPARSE;
}

int ga_parse_u64(const char *s, size_t n, uint64_t limit, uint64_t *out, const char **why)
{
    struct node_span sp = {s, ga_trim(s, n)};
    uint64_t v;

    size_t i;

    if (sp.n == 0)
        return ga_fail(why, "empty");
    for (i = 0; i < sp.n; i++)
        if (s[i] < '0' || s[i] > '9')
            return ga_fail(why, "not a whole number");
    if (!node_span_u64(&sp, &v))
        return ga_fail(why, "too large (2^64 or more)");
    if (v > limit)
        return ga_fail(why, "out of range");
    *out = v;
    return VG_OK;
}

int ga_parse_hex_id(const char *s, size_t n, unsigned *out, const char **why)
{
    unsigned v = 0;
    size_t i;

    n = ga_trim(s, n);
    if (n < 3 || n > 6 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return ga_fail(why, "not a hexadecimal id (0x1002)");
    for (i = 2; i < n; i++) {
        char c = s[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (unsigned)((c | 0x20) - 'a' + 10);
        else
            return ga_fail(why, "not a hexadecimal id (0x1002)");
        v = v * 16 + d;
    }
    *out = v;
    return VG_OK;
}

int ga_parse_link_speed(const char *s, size_t n, double *out, const char **why)
{
    char num[16];
    size_t i = 0, dots = 0;
    double gts;

    n = ga_trim(s, n);
    if (n >= 7 && memcmp(s, "Unknown", 7) == 0)
        return VG_ENOENT;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
        dots += s[i] == '.';
        i++;
    }
    if (i == 0 || i >= sizeof(num) || dots > 1 || s[0] == '.' || s[i - 1] == '.')
        return ga_fail(why, "not a link speed (16.0 GT/s PCIe)");
    if (n - i < 5 || memcmp(s + i, " GT/s", 5) != 0)
        return ga_fail(why, "not a link speed (16.0 GT/s PCIe)");
    if (n - i != 5 && !(n - i == 10 && memcmp(s + i + 5, " PCIe", 5) == 0))
        return ga_fail(why, "not a link speed (16.0 GT/s PCIe)");
    memcpy(num, s, i);
    num[i] = '\0';
    gts = strtod(num, NULL);
    if (gts <= 0 || gts > GA_GTS_MAX)
        return ga_fail(why, "out of range");
    *out = gts * 1e9;
    return VG_OK;
}

int ga_parse_text(const char *s, size_t n, char *out, size_t size, const char **why)
{
    size_t i;

    n = ga_trim(s, n);
    if (n == 0)
        return ga_fail(why, "empty");
    if (n >= size)
        return ga_fail(why, "too long for a label");
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return ga_fail(why, "not printable text");
    memcpy(out, s, n);
    out[n] = '\0';
    return VG_OK;
}

enum ga_field ga_temp_field(const char *s, size_t n)
{
    struct node_span sp = {s, ga_trim(s, n)};

    if (node_span_eq(&sp, "edge"))
        return GA_F_TEMP_EDGE;
    if (node_span_eq(&sp, "junction"))
        return GA_F_TEMP_JUNCTION;
    if (node_span_eq(&sp, "mem"))
        return GA_F_TEMP_MEM;
    return GA_F_COUNT;
}

int ga_parse_uevent_slot(const char *s, size_t n, char *out, size_t size)
{
    static const char key[] = "PCI_SLOT_NAME=";
    const size_t klen = sizeof(key) - 1;
    size_t i = 0;

    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = nl != NULL ? (size_t)(nl - s) : n;

        if (end - i > klen && memcmp(s + i, key, klen) == 0) {
            size_t len = end - i - klen;

            if (len >= size)
                return VG_EPARSE;
            memcpy(out, s + i + klen, len);
            out[len] = '\0';
            return VG_OK;
        }
        i = end + 1;
    }
    return VG_ENOENT;
}

bool ga_card_name(const char *name)
{
    size_t i;

    if (strncmp(name, "card", 4) != 0 || name[4] == '\0')
        return false;
    for (i = 4; name[i] != '\0'; i++)
        if (name[i] < '0' || name[i] > '9')
            return false;
    return i < 12;
}

/* By bus id, GPUs without one last and among them by card number. */
static int ga_compare(const void *a, const void *b)
{
    const struct ga_gpu *x = a, *y = b;

    if ((x->bus_id[0] == '\0') != (y->bus_id[0] == '\0'))
        return x->bus_id[0] == '\0' ? 1 : -1;
    if (x->bus_id[0] != '\0')
        return strcmp(x->bus_id, y->bus_id);
    if (strlen(x->card) != strlen(y->card))
        return strlen(x->card) < strlen(y->card) ? -1 : 1;
    return strcmp(x->card, y->card);
}

void ga_order(struct ga_snapshot *snap)
{
    size_t i;

    qsort(snap->gpus, snap->n_gpus, sizeof(snap->gpus[0]), ga_compare);
    for (i = 0; i < snap->n_gpus; i++)
        snap->gpus[i].index = (int)i;
}

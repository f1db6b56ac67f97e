/*
 * gpu_amd_parse.h - the pure parts of the gpu_amd collector: what one
 * collection read from sysfs (a snapshot), the table of metric names and
 * units, and the parsers of single sysfs values. No I/O here;
 * tests/unit/test_gpu_amd.c and tests/fuzz/fuzz_gpu_amd.c run it on
 * strings.
 *
 * Every parser takes (text, len), which need not be NUL-terminated, and
 * accepts what the kernel writes: the value, then at most trailing white
 * space (the newline). Anything else is VG_EPARSE with a static reason in
 * *why; nothing allocates.
 */
#ifndef GPU_AMD_PARSE_H
#define GPU_AMD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

#define GA_GPU_MAX    32 /* GPUs reported; more are left out */
#define GA_TEXT_MAX   96 /* a label value read from a file: unique_id, product_name */
#define GA_BUS_MAX    32 /* a PCI bus id as the kernel names the device: 0000:03:00.0 */
#define GA_AMD_VENDOR 0x1002

/* One value per GPU, in the unit sysfs gives it (the table scales it). */
enum ga_field {
    GA_F_UTIL_GPU,      /* gpu_busy_percent: percent */
    GA_F_UTIL_MEM,      /* mem_busy_percent: percent */
    GA_F_VRAM_USED,     /* mem_info_vram_used: bytes */
    GA_F_VRAM_FREE,     /* total - used: bytes */
    GA_F_VRAM_TOTAL,    /* mem_info_vram_total: bytes */
    GA_F_VIS_USED,      /* mem_info_vis_vram_used: bytes */
    GA_F_VIS_TOTAL,     /* mem_info_vis_vram_total: bytes */
    GA_F_GTT_USED,      /* mem_info_gtt_used: bytes */
    GA_F_GTT_TOTAL,     /* mem_info_gtt_total: bytes */
    GA_F_TEMP_EDGE,     /* hwmon temp*_input labelled edge: millidegrees */
    GA_F_TEMP_JUNCTION, /* ... labelled junction: millidegrees */
    GA_F_TEMP_MEM,      /* ... labelled mem: millidegrees */
    GA_F_POWER,         /* hwmon power1_average, else power1_input: microwatts */
    GA_F_POWER_CAP,     /* hwmon power1_cap: microwatts */
    GA_F_FAN_PWM,       /* hwmon pwm1: 0 to 255 */
    GA_F_FAN_RPM,       /* hwmon fan1_input: revolutions per minute */
    GA_F_LINK_SPEED,    /* current_link_speed: transfers per second */
    GA_F_LINK_WIDTH,    /* current_link_width: lanes */
    GA_F_COUNT,
};

struct ga_gpu {
    int index; /* its place among the GPUs, by bus id */
    bool up;   /* gpu_busy_percent read: the driver answers for it */
    char card[16];
    char bus_id[GA_BUS_MAX];
    char uuid[GA_TEXT_MAX];
    char name[GA_TEXT_MAX];
    uint32_t have; /* 1u << enum ga_field for each value read */
    double v[GA_F_COUNT];
};

struct ga_snapshot {
    bool backend_up; /* the drm class folder was read and holds an amdgpu GPU */
    size_t n_gpus;
    struct ga_gpu gpus[GA_GPU_MAX];
};

/* How one field is shown. */
struct ga_name {
    const char *family;
    const char *help;
    double scale;   /* value shown = sysfs value * scale */
    uint64_t limit; /* the largest sysfs value believed; a larger one is dropped */
};

/* The name of field f (NULL past the last). */
const struct ga_name *ga_field_name(enum ga_field f);

/* Sets field f of g to v (sysfs unit). */
void ga_set(struct ga_gpu *g, enum ga_field f, double v);

/* One unsigned decimal at most limit. */
int ga_parse_u64(const char *s, size_t n, uint64_t limit, uint64_t *out, const char **why);
/* A hexadecimal id with its 0x ("0x1002"), at most 0xffff. */
int ga_parse_hex_id(const char *s, size_t n, unsigned *out, const char **why);
/* current_link_speed: "16.0 GT/s PCIe" (or without " PCIe") as transfers
 * per second; VG_ENOENT for "Unknown" (the kernel does not know: no
 * value, nothing wrong). */
int ga_parse_link_speed(const char *s, size_t n, double *out, const char **why);
/* One line of printable ASCII (a label value), trailing white space cut,
 * into out (size bytes); empty, too long or other bytes: VG_EPARSE. */
int ga_parse_text(const char *s, size_t n, char *out, size_t size, const char **why);
/* The field a hwmon temp*_label names (edge, junction, mem), or
 * GA_F_COUNT for a label of another sensor or none known. */
enum ga_field ga_temp_field(const char *s, size_t n);
/* PCI_SLOT_NAME=<bus id> of a device's uevent into out; VG_ENOENT when
 * the file has no such line, VG_EPARSE when it does not fit. */
int ga_parse_uevent_slot(const char *s, size_t n, char *out, size_t size);
/* True for a drm class entry that is a card ("card0"), not one of its
 * connectors ("card0-DP-1") nor a render node ("renderD128"). */
bool ga_card_name(const char *name);
/* Orders snap's GPUs by bus id (GPUs without one last, by card) and
 * numbers them from 0 in that order, as NVML numbers by PCI order. */
void ga_order(struct ga_snapshot *snap);

#endif

/*
 * gpu_nvml_parse.h - the pure parts of the gpu_nvml collector: what one
 * collection read (a snapshot), the table of metric names and units under
 * both namings, the clock-throttle reason bits, and the grouping of a GPU's
 * processes by container. No I/O here; tests/unit/test_gpu_nvml.c runs it
 * on values.
 */
#ifndef GPU_NVML_PARSE_H
#define GPU_NVML_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "vigil.h"

#define GN_GPU_MAX  32 /* GPUs reported; more are left out */
#define GN_PROC_MAX 64 /* processes per GPU */
#define GN_TEXT_MAX 96

/* One value per GPU, in NVML's own unit (the table says which). */
enum gn_field {
    GN_F_UTIL_GPU,     /* percent */
    GN_F_UTIL_MEM,     /* percent */
    GN_F_MEM_USED,     /* bytes */
    GN_F_MEM_FREE,     /* bytes */
    GN_F_MEM_TOTAL,    /* bytes */
    GN_F_TEMP,         /* degrees Celsius */
    GN_F_POWER,        /* milliwatts */
    GN_F_POWER_LIMIT,  /* milliwatts */
    GN_F_ENERGY,       /* millijoules since the driver loaded */
    GN_F_CLOCK_SM,     /* MHz */
    GN_F_CLOCK_MEM,    /* MHz */
    GN_F_THROTTLE,     /* bit mask of reasons */
    GN_F_ECC_CORR,     /* volatile count */
    GN_F_ECC_UNCORR,   /* volatile count */
    GN_F_RETIRED_SBE,  /* pages */
    GN_F_RETIRED_DBE,  /* pages */
    GN_F_REMAP_CORR,   /* rows */
    GN_F_REMAP_UNCORR, /* rows */
    GN_F_PCIE_TX,      /* KB/s */
    GN_F_PCIE_RX,      /* KB/s */
    GN_F_FAN,          /* percent */
    GN_F_XID_TOTAL,    /* Xid events seen since NVML was loaded */
    GN_F_XID_LAST,     /* the last Xid seen, 0 for none */
    GN_F_COUNT,
};

struct gn_proc {
    uint32_t pid;
    uint64_t used; /* bytes of GPU memory; 0 when NVML does not know */
};

struct gn_gpu {
    int index;
    bool up;         /* false once NVML said the GPU is lost */
    bool have_minor; /* minor number known: device nvidia<minor> */
    unsigned minor;
    char uuid[GN_TEXT_MAX];
    char name[GN_TEXT_MAX];
    char bus_id[32];
    uint32_t have; /* 1u << enum gn_field for each value read */
    double v[GN_F_COUNT];
    size_t n_procs;
    struct gn_proc procs[GN_PROC_MAX];
};

struct gn_snapshot {
    bool backend_up; /* the library loaded and nvmlInit succeeded */
    char driver[GN_TEXT_MAX];
    int cuda; /* 12040 for 12.4; 0 when unknown */
    size_t n_gpus;
    struct gn_gpu gpus[GN_GPU_MAX];
};

enum gn_naming { GN_NAMING_PROMETHEUS, GN_NAMING_DCGM };

/* How one field is shown under one naming. */
struct gn_name {
    const char *family; /* NULL: not shown under this naming */
    const char *help;
    enum vg_metric_type type;
    double scale;           /* value shown = NVML value * scale */
    const char *label_name; /* an extra label telling series of one family apart, or NULL */
    const char *label_value;
};

/* The name of field f under naming n. */
const struct gn_name *gn_field_name(enum gn_field f, enum gn_naming n);

/* The clock-throttle reasons NVML reports as bits. */
struct gn_reason {
    uint64_t bit;
    const char *name;
};
extern const struct gn_reason gn_reasons[];
extern const size_t gn_n_reasons;

/* "12.4" for 12040 into out; "" for 0 or less. */
void gn_cuda_text(int cuda, char *out, size_t size);

/* The processes of one container on one GPU. */
struct gn_container {
    char id[VG_META_ID_MAX];
    uint64_t used; /* bytes, summed over its processes */
};

/* Finds the container id of pid; false for a process in no container. */
typedef bool (*gn_container_of_fn)(void *arg, uint32_t pid, char *id, size_t size);

/*
 * Groups procs[0..n) by container into out (room for max entries, in the
 * order first seen) and returns how many; *others counts the processes in
 * no container. Memory NVML does not know counts 0.
 */
size_t gn_group_procs(const struct gn_proc *procs, size_t n, gn_container_of_fn of, void *arg,
                      struct gn_container *out, size_t max, size_t *others);

#endif

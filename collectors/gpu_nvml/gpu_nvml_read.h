/*
 * gpu_nvml_read.h - NVML loaded at run time and read into a snapshot. Only
 * the collector's worker thread calls these (any call may hang when a GPU
 * falls off the bus).
 */
#ifndef GPU_NVML_READ_H
#define GPU_NVML_READ_H

#include "gpu_nvml_abi.h"
#include "gpu_nvml_parse.h"

#define GN_PROC_BUF 256 /* processes asked for per GPU; more are left out */

/* The loaded library: its handle and entry points (NULL where missing). */
struct gn_lib {
    void *dl;
    bool up; /* nvmlInit succeeded */
    gn_init_fn init;
    gn_shutdown_fn shutdown;
    gn_error_string_fn error_string;
    gn_count_fn count;
    gn_handle_fn handle;
    gn_text_fn driver_version;
    gn_int_fn cuda_version;
    gn_dev_text_fn name;
    gn_dev_text_fn uuid;
    gn_dev_pci_fn pci;
    gn_dev_uint_fn minor;
    gn_dev_util_fn utilization;
    gn_dev_memory_fn memory;
    gn_dev_arg_uint_fn temperature;
    gn_dev_uint_fn power;
    gn_dev_uint_fn power_limit;
    gn_dev_ull_fn energy;
    gn_dev_arg_uint_fn clock;
    gn_dev_ull_fn throttle;
    gn_dev_ecc_fn ecc;
    gn_dev_retired_fn retired;
    gn_dev_remapped_fn remapped;
    gn_dev_arg_uint_fn pcie;
    gn_dev_uint_fn fan;
    gn_dev_procs_v3_fn procs_v3;
    gn_dev_procs_v1_fn procs_v1;
    gn_event_create_fn event_create;
    gn_event_free_fn event_free;
    gn_event_register_fn event_register;
    gn_event_wait_fn event_wait;
    /* Xid events: the set, whether each GPU is registered in it, and what
     * each GPU reported since NVML was loaded */
    gn_event_set_t events;
    bool registered; /* registration was tried, at the first read */
    bool xid_on[GN_GPU_MAX];
    uint64_t xid_total[GN_GPU_MAX];
    unsigned xid_last[GN_GPU_MAX];
    gn_device_t devs[GN_GPU_MAX];      /* handles of the current read */
    gn_process_v3_t buf3[GN_PROC_BUF]; /* room for the process lists */
    gn_process_v1_t buf1[GN_PROC_BUF];
};

/*
 * Loads path and calls nvmlInit_v2. VG_OK, or VG_ENOENT (the library
 * cannot be loaded or lacks an entry point we cannot do without) or VG_EIO
 * (nvmlInit failed: no driver), with why filled; lib is then closed again.
 */
int gn_lib_open(struct gn_lib *lib, const char *path, char *why, size_t why_size);
/* nvmlShutdown and dlclose; lib may be closed already. */
void gn_lib_close(struct gn_lib *lib);
/* Reads every GPU into snap (backend_up true). Returns VG_OK, or VG_EIO
 * with why filled when the GPUs cannot even be counted. */
int gn_lib_read(struct gn_lib *lib, struct gn_snapshot *snap, char *why, size_t why_size);

#endif

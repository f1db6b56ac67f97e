/*
 * gpu_nvml_abi.h - the part of NVML's C ABI the gpu_nvml collector uses,
 * written from the library's public documentation: return codes, enum
 * values, struct layouts and one function-pointer type per entry point.
 * The library is loaded with dlopen at run time; nothing links against it.
 * The test double (tests/fake_nvml) implements the same entry points.
 */
#ifndef GPU_NVML_ABI_H
#define GPU_NVML_ABI_H

/* nvmlReturn_t values */
#define GN_NVML_SUCCESS           0
#define GN_NVML_NOT_SUPPORTED     3
#define GN_NVML_NOT_FOUND         6
#define GN_NVML_INSUFFICIENT_SIZE 7
#define GN_NVML_DRIVER_NOT_LOADED 9
#define GN_NVML_TIMEOUT           10
#define GN_NVML_GPU_IS_LOST       15

/* enum values of the arguments we pass */
#define GN_NVML_TEMPERATURE_GPU   0 /* nvmlTemperatureSensors_t */
#define GN_NVML_CLOCK_SM          1 /* nvmlClockType_t */
#define GN_NVML_CLOCK_MEM         2
#define GN_NVML_ECC_CORRECTED     0 /* nvmlMemoryErrorType_t */
#define GN_NVML_ECC_UNCORRECTED   1
#define GN_NVML_ECC_VOLATILE      0 /* nvmlEccCounterType_t: since the driver loaded */
#define GN_NVML_RETIRED_SBE       0 /* nvmlPageRetirementCause_t: multiple single-bit */
#define GN_NVML_RETIRED_DBE       1 /* double-bit */
#define GN_NVML_PCIE_TX           0 /* nvmlPcieUtilCounter_t */
#define GN_NVML_PCIE_RX           1
#define GN_NVML_VALUE_UNAVAILABLE (~0ULL) /* usedGpuMemory when not known */
#define GN_NVML_EVENT_XID         0x8ULL  /* nvmlEventTypeXidCriticalError */

#define GN_NVML_NAME_SIZE   96
#define GN_NVML_UUID_SIZE   96
#define GN_NVML_DRIVER_SIZE 80

typedef unsigned int gn_ret_t;
typedef struct gn_nvml_device *gn_device_t;       /* nvmlDevice_t: opaque */
typedef struct gn_nvml_event_set *gn_event_set_t; /* nvmlEventSet_t: opaque */

typedef struct {
    unsigned int gpu;    /* percent of time a kernel ran */
    unsigned int memory; /* percent of time memory was read or written */
} gn_utilization_t;

typedef struct {
    unsigned long long total; /* bytes */
    unsigned long long free;
    unsigned long long used;
} gn_memory_t;

typedef struct { /* nvmlPciInfo_t, as nvmlDeviceGetPciInfo_v3 fills it */
    char bus_id_legacy[16];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pci_device_id;
    unsigned int pci_subsystem_id;
    char bus_id[32];
} gn_pci_info_t;

typedef struct { /* nvmlProcessInfo_v1_t: nvmlDeviceGetComputeRunningProcesses */
    unsigned int pid;
    unsigned long long used_gpu_memory;
} gn_process_v1_t;

typedef struct { /* nvmlProcessInfo_t of the _v2 and _v3 calls */
    unsigned int pid;
    unsigned long long used_gpu_memory;
    unsigned int gpu_instance_id;
    unsigned int compute_instance_id;
} gn_process_v3_t;

typedef struct { /* nvmlEventData_t */
    gn_device_t device;
    unsigned long long event_type;
    unsigned long long event_data; /* the Xid, for GN_NVML_EVENT_XID */
    unsigned int gpu_instance_id;
    unsigned int compute_instance_id;
} gn_event_data_t;

typedef gn_ret_t (*gn_init_fn)(void);
typedef gn_ret_t (*gn_shutdown_fn)(void);
typedef const char *(*gn_error_string_fn)(gn_ret_t);
typedef gn_ret_t (*gn_count_fn)(unsigned int *);
typedef gn_ret_t (*gn_handle_fn)(unsigned int, gn_device_t *);
typedef gn_ret_t (*gn_text_fn)(char *, unsigned int);
typedef gn_ret_t (*gn_int_fn)(int *);
typedef gn_ret_t (*gn_dev_text_fn)(gn_device_t, char *, unsigned int);
typedef gn_ret_t (*gn_dev_uint_fn)(gn_device_t, unsigned int *);
typedef gn_ret_t (*gn_dev_ull_fn)(gn_device_t, unsigned long long *);
typedef gn_ret_t (*gn_dev_arg_uint_fn)(gn_device_t, unsigned int, unsigned int *);
typedef gn_ret_t (*gn_dev_util_fn)(gn_device_t, gn_utilization_t *);
typedef gn_ret_t (*gn_dev_memory_fn)(gn_device_t, gn_memory_t *);
typedef gn_ret_t (*gn_dev_pci_fn)(gn_device_t, gn_pci_info_t *);
typedef gn_ret_t (*gn_dev_ecc_fn)(gn_device_t, unsigned int, unsigned int, unsigned long long *);
typedef gn_ret_t (*gn_dev_retired_fn)(gn_device_t, unsigned int, unsigned int *,
                                      unsigned long long *);
typedef gn_ret_t (*gn_dev_remapped_fn)(gn_device_t, unsigned int *, unsigned int *, unsigned int *,
                                       unsigned int *);
typedef gn_ret_t (*gn_dev_procs_v1_fn)(gn_device_t, unsigned int *, gn_process_v1_t *);
typedef gn_ret_t (*gn_event_create_fn)(gn_event_set_t *);
typedef gn_ret_t (*gn_event_free_fn)(gn_event_set_t);
typedef gn_ret_t (*gn_event_register_fn)(gn_device_t, unsigned long long, gn_event_set_t);
typedef gn_ret_t (*gn_event_wait_fn)(gn_event_set_t, gn_event_data_t *, unsigned int);
typedef gn_ret_t (*gn_dev_procs_v3_fn)(gn_device_t, unsigned int *, gn_process_v3_t *);

#endif

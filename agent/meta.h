/*
 * meta.h - what the agent knows about the containers of its node, shared
 * between collectors through the core rather than one collector reaching
 * into another: the container log collector puts the Kubernetes names it
 * reads from log paths; the cgroup, GPU and kernel-log collectors look them
 * up by container id. Also the reading of container ids, pod UIDs and QoS
 * classes from cgroup paths, as kubelet's cgroupfs and systemd drivers and
 * the usual runtimes (containerd, CRI-O, Docker) name them, and of a
 * process's container from /proc/<pid>/cgroup.
 *
 * Thread-safe: collectors that run on their own thread (NVML) look up too.
 */
#ifndef VG_META_H
#define VG_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_META_ID_MAX   65 /* a 64-hex-digit container id and its NUL */
#define VG_META_TEXT_MAX 256

/* The names of one container. Empty strings where unknown. */
struct vg_meta {
    char namespace_[VG_META_TEXT_MAX];
    char pod[VG_META_TEXT_MAX];
    char container[VG_META_TEXT_MAX];
    char image[VG_META_TEXT_MAX];
    char pod_uid[40];
};

/* Remembers (or refreshes) the names of container id (its full id, or
 * the prefix a runtime prints). Entries not put again for `ttl_s` seconds
 * (vg_meta_expire) are forgotten. */
void vg_meta_put(const char *id, const struct vg_meta *m);
/* Copies the names of id into *out: true when known. An id given shorter
 * than the stored one (12 digits, as docker ps prints) matches its prefix. */
bool vg_meta_get(const char *id, struct vg_meta *out);
/* Forgets entries not put since now_s - ttl_s (monotonic seconds). */
void vg_meta_expire(int64_t ttl_s);
/* Forgets everything (tests). */
void vg_meta_reset(void);

/* GPUs by PCI bus id: the GPU collector puts what NVML says; the kernel
 * log collector maps an Xid line's bus id to the GPU's index and UUID.
 * Bus ids are compared as "dddd:bb:dd" (domain, bus, device; lower case):
 * NVML's "00000000:3B:00.0" and the kernel's "0000:3b:00" are the same. */
void vg_gpu_put(const char *bus_id, int index, const char *uuid);
bool vg_gpu_get(const char *bus_id, int *index, char *uuid, size_t uuid_size);
/* The normal form of a bus id into out[16]; false when it is none. */
bool vg_gpu_bus_id(const char *bus_id, char *out, size_t size);

/* What a cgroup path says about the container it holds. */
struct vg_cgroup_ids {
    char id[VG_META_ID_MAX]; /* the container id, "" for a pod-level or other cgroup */
    char pod_uid[40];        /* with dashes, "" when the path is no pod's */
    char qos[16];            /* guaranteed, burstable, besteffort; "" when not kubepods */
    const char *runtime;     /* "containerd", "crio", "docker", "" (static) */
};

/*
 * Reads a cgroup path (relative to the hierarchy's root, as in
 * /proc/<pid>/cgroup, or with the mount point before it):
 *   kubepods/<qos>/pod<uid>/<id>, kubepods/pod<uid>/<id> (cgroupfs driver)
 *   kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/
 *     cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope (systemd)
 *   docker/<id>, system.slice/docker-<id>.scope (plain Docker)
 * True when it is a pod's or a container's cgroup (out filled); false for
 * any other cgroup.
 */
bool vg_cgroup_ids_of_path(const char *path, struct vg_cgroup_ids *out);

/* The container of process pid, from proc_root/<pid>/cgroup (proc_root is
 * "/proc" but for tests): true with *out filled when a line of that file
 * names a container's cgroup. */
bool vg_cgroup_ids_of_pid(const char *proc_root, long pid, struct vg_cgroup_ids *out);

#endif

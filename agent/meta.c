/*
 * meta.c - the containers of the node by id (meta.h): a hash table under
 * one mutex, and the reading of container ids from cgroup paths.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "meta.h"

#define META_BUCKETS 1024u

struct meta_entry {
    char id[VG_META_ID_MAX];
    struct vg_meta m;
    int64_t put_s; /* monotonic seconds of the last put */
    struct meta_entry *next;
};

static pthread_mutex_t meta_mu = PTHREAD_MUTEX_INITIALIZER;
static struct meta_entry *meta_table[META_BUCKETS];

#define META_GPUS 64

struct meta_gpu {
    char bus[16];
    int index;
    char uuid[96];
};

static struct meta_gpu meta_gpus[META_GPUS];
static size_t meta_n_gpus;

static unsigned meta_hash(const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id != '\0'; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % META_BUCKETS;
}

static struct meta_entry *meta_find(const char *id)
{
    struct meta_entry *e;
    size_t len = strlen(id), i;

    for (e = meta_table[meta_hash(id)]; e != NULL; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    if (len == 0 || len >= VG_META_ID_MAX - 1)
        return NULL;
    for (i = 0; i < META_BUCKETS; i++) /* a short id: the prefix of a stored one */
        for (e = meta_table[i]; e != NULL; e = e->next)
            if (strncmp(e->id, id, len) == 0)
                return e;
    return NULL;
}

void vg_meta_put(const char *id, const struct vg_meta *m)
{
    struct meta_entry *e;
    unsigned h;

    if (id == NULL || id[0] == '\0' || strlen(id) >= VG_META_ID_MAX)
        return;
    pthread_mutex_lock(&meta_mu);
    h = meta_hash(id);
    for (e = meta_table[h]; e != NULL && strcmp(e->id, id) != 0; e = e->next)
        ;
    if (e == NULL) {
        e = vg_calloc(1, sizeof(*e));
        if (e != NULL) {
            snprintf(e->id, sizeof(e->id), "%s", id);
            e->next = meta_table[h];
            meta_table[h] = e;
        }
    }
    if (e != NULL) {
        e->m = *m;
        e->put_s = vg_mono_ns() / VG_NS_PER_SEC;
    }
    pthread_mutex_unlock(&meta_mu);
}

bool vg_meta_get(const char *id, struct vg_meta *out)
{
    struct meta_entry *e;

    if (id == NULL || id[0] == '\0')
        return false;
    pthread_mutex_lock(&meta_mu);
    e = meta_find(id);
    if (e != NULL)
        *out = e->m;
    pthread_mutex_unlock(&meta_mu);
    return e != NULL;
}

/* Drops the entries of every bucket put before `before` (all with INT64_MAX). */
static void meta_drop(int64_t before)
{
    struct meta_entry **pp, *e;
    size_t i;

    pthread_mutex_lock(&meta_mu);
    for (i = 0; i < META_BUCKETS; i++) {
        for (pp = &meta_table[i]; *pp != NULL;) {
            e = *pp;
            if (e->put_s < before) {
                *pp = e->next;
                free(e);
            } else {
                pp = &e->next;
            }
        }
    }
    pthread_mutex_unlock(&meta_mu);
}

void vg_meta_expire(int64_t ttl_s)
{
    meta_drop(vg_mono_ns() / VG_NS_PER_SEC - ttl_s);
}

void vg_meta_reset(void)
{
    meta_drop(INT64_MAX);
    pthread_mutex_lock(&meta_mu);
    meta_n_gpus = 0;
    pthread_mutex_unlock(&meta_mu);
}

/* ---- GPUs ------------------------------------------------------------------- */

bool vg_gpu_bus_id(const char *bus_id, char *out, size_t size)
{
    unsigned long dom, bus, dev;
    char *end;
    const char *p = bus_id;

    if (p == NULL || size < 11)
        return false;
    if (strncmp(p, "PCI:", 4) == 0)
        p += 4;
    dom = strtoul(p, &end, 16);
    if (end == p || *end != ':')
        return false;
    p = end + 1;
    bus = strtoul(p, &end, 16);
    if (end == p || *end != ':')
        return false;
    p = end + 1;
    dev = strtoul(p, &end, 16);
    if (end == p || dom > 0xffffffffUL || bus > 0xff || dev > 0x1f)
        return false;
    snprintf(out, size, "%04lx:%02lx:%02lx", dom & 0xffffUL, bus, dev);
    return true;
}

void vg_gpu_put(const char *bus_id, int index, const char *uuid)
{
    char bus[16];
    size_t i;

    if (!vg_gpu_bus_id(bus_id, bus, sizeof(bus)))
        return;
    pthread_mutex_lock(&meta_mu);
    for (i = 0; i < meta_n_gpus && strcmp(meta_gpus[i].bus, bus) != 0; i++)
        ;
    if (i < META_GPUS) {
        snprintf(meta_gpus[i].bus, sizeof(meta_gpus[i].bus), "%s", bus);
        meta_gpus[i].index = index;
        snprintf(meta_gpus[i].uuid, sizeof(meta_gpus[i].uuid), "%s", uuid != NULL ? uuid : "");
        if (i == meta_n_gpus)
            meta_n_gpus++;
    }
    pthread_mutex_unlock(&meta_mu);
}

bool vg_gpu_get(const char *bus_id, int *index, char *uuid, size_t uuid_size)
{
    char bus[16];
    size_t i;
    bool found = false;

    if (!vg_gpu_bus_id(bus_id, bus, sizeof(bus)))
        return false;
    pthread_mutex_lock(&meta_mu);
    for (i = 0; i < meta_n_gpus && !found; i++) {
        if (strcmp(meta_gpus[i].bus, bus) != 0)
            continue;
        *index = meta_gpus[i].index;
        snprintf(uuid, uuid_size, "%s", meta_gpus[i].uuid);
        found = true;
    }
    pthread_mutex_unlock(&meta_mu);
    return found;
}

/* ---- cgroup paths ----------------------------------------------------------- */

/* True when s[0..n) is n hex digits. */
static bool meta_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A pod UID after "pod" in a path part (dashes, or underscores as the
 * systemd driver writes them), into out with dashes. */
static void meta_pod_uid(const char *p, size_t n, char *out, size_t size)
{
    size_t i;

    if (n >= size)
        n = size - 1;
    for (i = 0; i < n; i++)
        out[i] = p[i] == '_' ? '-' : p[i];
    out[n] = '\0';
}

/* Reads one part of a path (s[0..n), between slashes) into ids. */
static void meta_part(const char *s, size_t n, struct vg_cgroup_ids *ids)
{
    static const char *const runtimes[][2] = {
        {"cri-containerd-", "containerd"}, {"crio-", "crio"}, {"docker-", "docker"}};
    static const char *const qos[] = {"burstable", "besteffort", "guaranteed"};
    const char *pod = memmem(s, n, "pod", 3);
    size_t i, k;

    while (pod != NULL && pod != s && pod[-1] != '-') /* not kubepods' own "pod" */
        pod = memmem(pod + 1, n - (size_t)(pod + 1 - s), "pod", 3);

    for (i = 0; i < VG_ARRAY_LEN(qos); i++)
        if (memmem(s, n, qos[i], strlen(qos[i])) != NULL && pod == NULL)
            snprintf(ids->qos, sizeof(ids->qos), "%s", qos[i]);
    if (pod != NULL && (pod == s || pod[-1] == '-') && n > (size_t)(pod - s) + 3) {
        k = n - (size_t)(pod - s) - 3;
        if (k > 6 && strncmp(pod + 3 + k - 6, ".slice", 6) == 0)
            k -= 6;
        meta_pod_uid(pod + 3, k, ids->pod_uid, sizeof(ids->pod_uid));
        return;
    }
    for (i = 0; i < VG_ARRAY_LEN(runtimes); i++) {
        k = strlen(runtimes[i][0]);
        if (n == k + 64 + 6 && strncmp(s, runtimes[i][0], k) == 0 &&
            strncmp(s + k + 64, ".scope", 6) == 0 && meta_hex(s + k, 64)) {
            memcpy(ids->id, s + k, 64);
            ids->id[64] = '\0';
            ids->runtime = runtimes[i][1];
            return;
        }
    }
    if (n == 64 && meta_hex(s, 64)) {
        memcpy(ids->id, s, 64);
        ids->id[64] = '\0';
    }
}

bool vg_cgroup_ids_of_path(const char *path, struct vg_cgroup_ids *out)
{
    const char *p = path, *slash;
    bool kube = strstr(path, "kubepods") != NULL, docker = strstr(path, "docker") != NULL;

    memset(out, 0, sizeof(*out));
    out->runtime = "";
    if (!kube && !docker)
        return false;
    while (*p != '\0') {
        slash = strchr(p, '/');
        meta_part(p, slash != NULL ? (size_t)(slash - p) : strlen(p), out);
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    if (docker && out->runtime[0] == '\0' && out->id[0] != '\0' && !kube)
        out->runtime = "docker";
    if (!kube)
        out->qos[0] = '\0';
    else if (out->qos[0] == '\0' && out->pod_uid[0] != '\0')
        snprintf(out->qos, sizeof(out->qos), "guaranteed"); /* kubepods/pod<uid>: no QoS level */
    return out->id[0] != '\0' || out->pod_uid[0] != '\0';
}

bool vg_cgroup_ids_of_pid(const char *proc_root, long pid, struct vg_cgroup_ids *out)
{
    char path[256], line[1024], *p;
    bool found = false;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%ld/cgroup", proc_root, pid);
    f = fopen(path, "re");
    if (f == NULL)
        return false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        p = strchr(line, ':'); /* "N:controllers:/path" */
        p = p != NULL ? strchr(p + 1, ':') : NULL;
        if (p != NULL && vg_cgroup_ids_of_path(p + 1, out) && out->id[0] != '\0')
            found = true;
    }
    fclose(f);
    return found;
}

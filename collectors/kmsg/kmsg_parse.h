/*
 * kmsg_parse.h - pure parsers of the kernel log as /dev/kmsg gives it:
 * the record header, its dictionary lines, and the messages the kmsg
 * collector understands (NVIDIA Xid errors, the driver's GPU-at lines,
 * OOM kills). Every function takes a pointer and a length (no NUL needed),
 * reads nothing past them, and allocates nothing.
 */
#ifndef KMSG_PARSE_H
#define KMSG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One record: "prio,seq,usec,flags[,more];message\n KEY=value\n..." */
struct kmsg_rec {
    int priority; /* 0 (emerg) .. 7 (debug) */
    int facility; /* 0 (kern) .. */
    uint64_t seq;
    uint64_t usec; /* microseconds since boot */
    char flags;    /* '-', 'c' (continuation start) or '+' */
    const char *msg;
    size_t msg_len;
    const char *dict; /* the continuation lines, each " KEY=value\n" */
    size_t dict_len;
};

/* Reads one record (a trailing newline is optional). VG_OK or VG_EPARSE. */
int kmsg_parse_record(const char *s, size_t n, struct kmsg_rec *out);

/* The next " KEY=value" line of a dictionary at *p (before end): true with
 * key and value set and *p moved past it; false at the end. Lines that are
 * no KEY=value are passed over. */
bool kmsg_dict_next(const char **p, const char *end, const char **key, size_t *klen,
                    const char **val, size_t *vlen);

/* The syslog name of a facility ("kern", "user", ...; "local0".."local7"),
 * "unknown" past them. */
const char *kmsg_facility_name(int facility);

#define KMSG_BUS_MAX  32
#define KMSG_NAME_MAX 64
#define KMSG_UUID_MAX 80
#define KMSG_PATH_MAX 512

/* "NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has ..."
 * and the older "NVRM: Xid (0000:3b:00): 13, ..." */
struct kmsg_xid {
    int xid;
    long pid;                  /* -1 when the line names none ("pid='<unknown>'", old drivers) */
    char bus_id[KMSG_BUS_MAX]; /* as the line writes it: "0000:3b:00" */
    char name[KMSG_NAME_MAX];  /* the process, "" when none */
};
bool kmsg_parse_xid(const char *msg, size_t n, struct kmsg_xid *out);

/* "NVRM: GPU at PCI:0000:3b:00: GPU-4f9a..." */
bool kmsg_parse_gpu_at(const char *msg, size_t n, char bus_id[KMSG_BUS_MAX],
                       char uuid[KMSG_UUID_MAX]);

/* "Memory cgroup out of memory: Killed process 4242 (python) total-vm:..."
 * and "Out of memory: Killed process 4242 (python) ..." (also "Kill
 * process" of older kernels). */
struct kmsg_oom_kill {
    long pid;
    char comm[KMSG_NAME_MAX];
    bool memcg; /* a memory cgroup's limit, not the node's memory */
};
bool kmsg_parse_oom_kill(const char *msg, size_t n, struct kmsg_oom_kill *out);

/* "oom-kill:constraint=CONSTRAINT_MEMCG,...,task_memcg=/kubepods/...,
 * task=python,pid=4242,uid=0" */
struct kmsg_oom_summary {
    char constraint[KMSG_NAME_MAX];
    char task_memcg[KMSG_PATH_MAX];
    char task[KMSG_NAME_MAX];
    long pid; /* -1 when missing */
};
bool kmsg_parse_oom_summary(const char *msg, size_t n, struct kmsg_oom_summary *out);

#endif

/*
 * kmsg_parse.c - pure parsers of kernel log records and of the messages
 * the kmsg collector understands; see kmsg_parse.h. Input is untrusted
 * (anything can write to /dev/kmsg): lengths are checked everywhere and
 * numbers that overflow are refused.
 */
#include "kmsg_parse.h"

#include <string.h>

#include "vigil.h"

/* A decimal number at *p (at least one digit, at most max): true with
 * *out set and *p past it. */
static bool kp_u64(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (s >= end || *s < '0' || *s > '9')
        return false;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (v > (max - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

/* Copies s[0..n) into dst (size bytes), cut to fit, NUL-terminated. */
static void kp_copy(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* True when s[0..n) starts with the literal lit; *p then past it. */
static bool kp_eat(const char **p, const char *end, const char *lit)
{
    size_t l = strlen(lit);

    if ((size_t)(end - *p) < l || memcmp(*p, lit, l) != 0)
        return false;
    *p += l;
    return true;
}

/* The end of the token at p: the first of stops, or end. */
static const char *kp_until(const char *p, const char *end, const char *stops)
{
    while (p < end && strchr(stops, *p) == NULL)
        p++;
    return p;
}

/* True when every byte of s[0..n) is one of set (n may be 0). */
static bool kp_all_in(const char *s, size_t n, const char *set)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] == '\0' || strchr(set, s[i]) == NULL)
            return false;
    return true;
}

#define KP_BUS_CHARS  "0123456789abcdefABCDEF:."
#define KP_UUID_CHARS "0123456789abcdefABCDEFGPU-"

int kmsg_parse_record(const char *s, size_t n, struct kmsg_rec *out)
{
    const char *p = s, *end = s + n, *semi, *nl;
    uint64_t prio, seq, usec;

    memset(out, 0, sizeof(*out));
    semi = memchr(s, ';', n);
    if (semi == NULL || !kp_u64(&p, semi, 1023, &prio) || !kp_eat(&p, semi, ",") ||
        !kp_u64(&p, semi, UINT64_MAX, &seq) || !kp_eat(&p, semi, ",") ||
        !kp_u64(&p, semi, UINT64_MAX, &usec) || !kp_eat(&p, semi, ","))
        return VG_EPARSE;
    /* flags, then fields of newer kernels (",caller=T1") that we pass over */
    if (p >= semi || strchr("-c+", *p) == NULL || (p + 1 < semi && p[1] != ','))
        return VG_EPARSE;
    out->flags = *p;
    out->priority = (int)(prio & 7);
    out->facility = (int)(prio >> 3);
    out->seq = seq;
    out->usec = usec;
    out->msg = semi + 1;
    nl = memchr(out->msg, '\n', (size_t)(end - out->msg));
    out->msg_len = (size_t)((nl != NULL ? nl : end) - out->msg);
    if (nl != NULL) {
        out->dict = nl + 1;
        out->dict_len = (size_t)(end - out->dict);
    }
    return VG_OK;
}

bool kmsg_dict_next(const char **p, const char *end, const char **key, size_t *klen,
                    const char **val, size_t *vlen)
{
    const char *s, *nl, *eq;

    for (s = *p; s < end; s = nl + 1) {
        nl = memchr(s, '\n', (size_t)(end - s));
        if (nl == NULL)
            nl = end;
        if (*s != ' ')
            continue;
        eq = memchr(s + 1, '=', (size_t)(nl - s - 1));
        if (eq == NULL || eq == s + 1)
            continue;
        *key = s + 1;
        *klen = (size_t)(eq - s - 1);
        *val = eq + 1;
        *vlen = (size_t)(nl - eq - 1);
        *p = nl < end ? nl + 1 : end;
        return true;
    }
    *p = end;
    return false;
}

const char *kmsg_facility_name(int facility)
{
    static const char *const names[] = {
        "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
        "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
        "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7",
    };

    if (facility < 0 || (size_t)facility >= VG_ARRAY_LEN(names))
        return "unknown";
    return names[facility];
}

/* ", pid=1234" and ", name=python" after the Xid number, in any order. */
static void kp_xid_rest(const char *p, const char *end, struct kmsg_xid *out)
{
    const char *t;
    uint64_t pid;

    while (p < end && kp_eat(&p, end, ", ")) {
        if (kp_eat(&p, end, "pid=")) {
            if (kp_u64(&p, end, INT32_MAX, &pid))
                out->pid = (long)pid;
        } else if (kp_eat(&p, end, "name=")) {
            t = kp_until(p, end, ",");
            kp_copy(out->name, sizeof(out->name), p, (size_t)(t - p));
            p = t;
        } else {
            return; /* the text of the error */
        }
        p = kp_until(p, end, ",");
    }
}

bool kmsg_parse_xid(const char *msg, size_t n, struct kmsg_xid *out)
{
    const char *p = msg, *end = msg + n, *bus, *bus_end;
    uint64_t xid;

    memset(out, 0, sizeof(*out));
    out->pid = -1;
    if (!kp_eat(&p, end, "NVRM: Xid ("))
        return false;
    kp_eat(&p, end, "PCI:");
    bus = p;
    bus_end = kp_until(p, end, ")");
    p = bus_end;
    if (bus_end == bus || (size_t)(bus_end - bus) >= sizeof(out->bus_id) ||
        !kp_all_in(bus, (size_t)(bus_end - bus), KP_BUS_CHARS) || !kp_eat(&p, end, "): ") ||
        !kp_u64(&p, end, 65535, &xid))
        return false;
    kp_copy(out->bus_id, sizeof(out->bus_id), bus, (size_t)(bus_end - bus));
    out->xid = (int)xid;
    kp_xid_rest(p, end, out);
    return true;
}

bool kmsg_parse_gpu_at(const char *msg, size_t n, char bus_id[KMSG_BUS_MAX],
                       char uuid[KMSG_UUID_MAX])
{
    const char *p = msg, *end = msg + n, *bus, *t;

    if (!kp_eat(&p, end, "NVRM: GPU at PCI:"))
        return false;
    bus = p;
    /* the bus id holds colons itself: it ends at ": GPU-" */
    for (t = p; t + 6 <= end && memcmp(t, ": GPU-", 6) != 0; t++)
        ;
    if (t + 6 > end || t == bus || (size_t)(t - bus) >= KMSG_BUS_MAX ||
        !kp_all_in(bus, (size_t)(t - bus), KP_BUS_CHARS))
        return false;
    kp_copy(bus_id, KMSG_BUS_MAX, bus, (size_t)(t - bus));
    p = t + 2;
    t = kp_until(p, end, " \t");
    if ((size_t)(t - p) >= KMSG_UUID_MAX || t - p <= 4 ||
        !kp_all_in(p, (size_t)(t - p), KP_UUID_CHARS))
        return false;
    kp_copy(uuid, KMSG_UUID_MAX, p, (size_t)(t - p));
    return true;
}

bool kmsg_parse_oom_kill(const char *msg, size_t n, struct kmsg_oom_kill *out)
{
    const char *p = msg, *end = msg + n, *t;
    uint64_t pid;

    memset(out, 0, sizeof(*out));
    if (kp_eat(&p, end, "Memory cgroup out of memory: "))
        out->memcg = true;
    else if (!kp_eat(&p, end, "Out of memory: ") &&
             !kp_eat(&p, end, "Out of memory (oom_kill_allocating_task): "))
        return false;
    if (!kp_eat(&p, end, "Killed process ") && !kp_eat(&p, end, "Kill process "))
        return false;
    if (!kp_u64(&p, end, INT32_MAX, &pid) || !kp_eat(&p, end, " ("))
        return false;
    out->pid = (long)pid;
    t = kp_until(p, end, ")");
    kp_copy(out->comm, sizeof(out->comm), p, (size_t)(t - p));
    return true;
}

/* The value of ",key=" (or "key=" at the start) in s[0..end), up to the
 * next comma: true with *v and *vlen set. */
static bool kp_kv(const char *s, const char *end, const char *key, const char **v, size_t *vlen)
{
    size_t kl = strlen(key);
    const char *p = s, *t;

    while (p < end) {
        if ((size_t)(end - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=' &&
            (p == s || p[-1] == ',')) {
            *v = p + kl + 1;
            t = kp_until(*v, end, ",");
            *vlen = (size_t)(t - *v);
            return true;
        }
        p++;
    }
    return false;
}

bool kmsg_parse_oom_summary(const char *msg, size_t n, struct kmsg_oom_summary *out)
{
    const char *p = msg, *end = msg + n, *v;
    size_t vl;
    uint64_t pid;

    memset(out, 0, sizeof(*out));
    out->pid = -1;
    if (!kp_eat(&p, end, "oom-kill:"))
        return false;
    if (kp_kv(p, end, "constraint", &v, &vl))
        kp_copy(out->constraint, sizeof(out->constraint), v, vl);
    if (kp_kv(p, end, "task_memcg", &v, &vl))
        kp_copy(out->task_memcg, sizeof(out->task_memcg), v, vl);
    if (kp_kv(p, end, "task", &v, &vl))
        kp_copy(out->task, sizeof(out->task), v, vl);
    if (kp_kv(p, end, "pid", &v, &vl) && kp_u64(&v, v + vl, INT32_MAX, &pid))
        out->pid = (long)pid;
    return true;
}

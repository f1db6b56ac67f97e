/*
 * fuzz_kmsg.c - the kmsg collector's parsers on arbitrary bytes: the whole
 * input as one kernel record (header and dictionary), and every line as a
 * message (Xid, GPU-at, OOM kill, OOM summary). Nothing may read past the
 * input, and what a parser reports must lie inside it and within range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../collectors/kmsg/kmsg_parse.h"
#include "vigil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void fz_record(const char *s, size_t n)
{
    const char *p, *k, *v;
    size_t kl, vl;
    struct kmsg_rec r;

    if (kmsg_parse_record(s, n, &r) != VG_OK)
        return;
    FZ_CHECK(r.priority >= 0 && r.priority <= 7 && r.facility >= 0 && r.facility < 128);
    FZ_CHECK(r.msg >= s && r.msg + r.msg_len <= s + n);
    FZ_CHECK(kmsg_facility_name(r.facility) != NULL);
    if (r.dict == NULL)
        return;
    FZ_CHECK(r.dict >= s && r.dict + r.dict_len <= s + n);
    for (p = r.dict; kmsg_dict_next(&p, r.dict + r.dict_len, &k, &kl, &v, &vl);)
        FZ_CHECK(kl > 0 && k >= r.dict && v + vl <= r.dict + r.dict_len && p <= s + n);
}

static void fz_message(const char *s, size_t n)
{
    char bus[KMSG_BUS_MAX], uuid[KMSG_UUID_MAX];
    struct kmsg_oom_summary sum;
    struct kmsg_oom_kill kill;
    struct kmsg_xid x;

    if (kmsg_parse_xid(s, n, &x))
        FZ_CHECK(x.xid >= 0 && x.xid <= 65535 && x.pid >= -1 && x.bus_id[0] != '\0' &&
                 strlen(x.name) < sizeof(x.name));
    if (kmsg_parse_gpu_at(s, n, bus, uuid))
        FZ_CHECK(bus[0] != '\0' && strlen(uuid) > 4 && strlen(uuid) < sizeof(uuid));
    if (kmsg_parse_oom_kill(s, n, &kill))
        FZ_CHECK(kill.pid >= 0 && strlen(kill.comm) < sizeof(kill.comm));
    if (kmsg_parse_oom_summary(s, n, &sum))
        FZ_CHECK(sum.pid >= -1 && strlen(sum.task_memcg) < sizeof(sum.task_memcg));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1); /* exact size: a read past the input is caught */
    const char *p, *end, *nl;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    fz_record(copy, size);
    for (p = copy, end = copy + size; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        fz_message(p, (size_t)(nl - p));
    }
    free(copy);
    return 0;
}

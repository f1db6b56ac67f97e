/*
 * test_kmsg.c - the kmsg collector: its parsers on strings (good,
 * garbage, truncated, hostile), the collector on fixture files in the
 * /dev/kmsg format with a sink whose acknowledgements are delivered by
 * hand (restarts, crashes, reboots), and the core checkpoint store it
 * keeps its position in (save and load, atomic writes under SIGKILL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../collectors/kmsg/kmsg.h"
#include "checkpoint.h"
#include "config.h"
#include "core.h"
#include "meta.h"
#include "pipeline_internal.h"
#include "torture.h"

extern const struct vg_collector_ops vg_collector_kmsg;

#define FIX  VG_SOURCE_DIR "/tests/fixtures/kmsg/"
#define CID  "9f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
#define PUID "5d3e1f2a-6b7c-4d8e-9f0a-1b2c3d4e5f60"

/* ---- parsers ----------------------------------------------------------------- */

static void record_header_and_dictionary(void **state)
{
    const char *s = "6,1234,5678901,-;hello world\n SUBSYSTEM=pci\n DEVICE=+pci:0000:3b:00.0\n";
    const char *p, *k, *v;
    size_t kl, vl;
    struct kmsg_rec r;

    assert_int_equal(kmsg_parse_record(s, strlen(s), &r), VG_OK);
    assert_int_equal(r.priority, 6);
    assert_int_equal(r.facility, 0);
    assert_int_equal(r.seq, 1234);
    assert_int_equal(r.usec, 5678901);
    assert_int_equal(r.flags, '-');
    assert_int_equal(r.msg_len, 11);
    assert_memory_equal(r.msg, "hello world", 11);
    p = r.dict;
    assert_true(kmsg_dict_next(&p, r.dict + r.dict_len, &k, &kl, &v, &vl));
    assert_memory_equal(k, "SUBSYSTEM", kl);
    assert_memory_equal(v, "pci", vl);
    assert_true(kmsg_dict_next(&p, r.dict + r.dict_len, &k, &kl, &v, &vl));
    assert_memory_equal(v, "+pci:0000:3b:00.0", vl);
    assert_false(kmsg_dict_next(&p, r.dict + r.dict_len, &k, &kl, &v, &vl));
    /* facility from prio, a caller id of newer kernels, no trailing newline */
    s = "30,7,8,c,caller=T12;systemd[1]: started";
    assert_int_equal(kmsg_parse_record(s, strlen(s), &r), VG_OK);
    assert_int_equal(r.priority, 6);
    assert_int_equal(r.facility, 3);
    assert_string_equal(kmsg_facility_name(r.facility), "daemon");
    assert_string_equal(kmsg_facility_name(99), "unknown");
    assert_string_equal(kmsg_facility_name(-1), "unknown");
    assert_null(r.dict);
}

static void record_garbage_is_refused(void **state)
{
    static const char *const bad[] = {
        "",
        ";",
        "this is not a kernel record",
        "6,abc,0,-;bad sequence",
        "6,1,2,x;bad flags",
        "6,1,2,-x;flag too long",
        "6,1,2;no flags",
        "6,1,2,-",
        "1024,1,2,-;prio too large",
        "99999999999999999999999,4,5,-;prio overflow",
        "6,18446744073709551616,5,-;seq overflow",
        "6,5,18446744073709551616,-;usec overflow",
        "-6,1,2,-;negative",
        " 6,1,2,-;leading space",
    };
    struct kmsg_rec r;
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(bad); i++)
        if (kmsg_parse_record(bad[i], strlen(bad[i]), &r) != VG_EPARSE)
            fail_msg("accepted: '%s'", bad[i]);
}

/* Every prefix of good input, copied to a heap block of its exact size
 * (so that a read past it is caught under the sanitizers), parses or
 * not without harm. */
static void truncated_input_reads_nothing_past_its_end(void **state)
{
    static const char *const good[] = {
        "6,1234,5678901,-;hello\n SUBSYSTEM=pci\n DEVICE=+pci:0000:3b:00.0\n",
        "NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.",
        "NVRM: GPU at PCI:0000:3b:00: GPU-4f9a2c1e-7b3d-5e8f-9a0b-1c2d3e4f5a6b",
        "Memory cgroup out of memory: Killed process 4242 (python) total-vm:1kB",
        "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/kubepods/x,task=python,pid=4242,uid=0",
    };
    struct kmsg_oom_summary sum;
    struct kmsg_oom_kill kill;
    struct kmsg_rec r;
    struct kmsg_xid x;
    char bus[KMSG_BUS_MAX], uuid[KMSG_UUID_MAX];
    const char *p, *k, *v;
    size_t i, n, kl, vl;
    char *c;

    for (i = 0; i < VG_ARRAY_LEN(good); i++)
        for (n = 0; n <= strlen(good[i]); n++) {
            c = malloc(n + 1);
            assert_non_null(c);
            memcpy(c, good[i], n);
            if (kmsg_parse_record(c, n, &r) == VG_OK && r.dict != NULL)
                for (p = r.dict; kmsg_dict_next(&p, r.dict + r.dict_len, &k, &kl, &v, &vl);)
                    assert_true(v + vl <= c + n);
            kmsg_parse_xid(c, n, &x);
            kmsg_parse_gpu_at(c, n, bus, uuid);
            kmsg_parse_oom_kill(c, n, &kill);
            kmsg_parse_oom_summary(c, n, &sum);
            free(c);
        }
}

static void xid_lines_new_and_old(void **state)
{
    const char *s =
        "NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.";
    struct kmsg_xid x;

    assert_true(kmsg_parse_xid(s, strlen(s), &x));
    assert_int_equal(x.xid, 79);
    assert_int_equal(x.pid, 1234);
    assert_string_equal(x.bus_id, "0000:3b:00");
    assert_string_equal(x.name, "python");
    s = "NVRM: Xid (0000:3b:00): 13, Graphics SM Warp Exception on (GPC 0, TPC 1, SM 0)";
    assert_true(kmsg_parse_xid(s, strlen(s), &x));
    assert_int_equal(x.xid, 13);
    assert_int_equal(x.pid, -1);
    assert_string_equal(x.bus_id, "0000:3b:00");
    assert_string_equal(x.name, "");
    s = "NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off";
    assert_true(kmsg_parse_xid(s, strlen(s), &x));
    assert_int_equal(x.pid, -1);
    assert_string_equal(x.name, "<unknown>");
}

static void xid_hostile_lines_are_refused(void **state)
{
    static const char *const bad[] = {
        "NVRM: Xid",
        "NVRM: Xid ()",
        "NVRM: Xid (): 13, x",
        "NVRM: Xid (PCI:0000:3b:00)",
        "NVRM: Xid (PCI:0000:3b:00): ",
        "NVRM: Xid (PCI:0000:3b:00): x",
        "NVRM: Xid (PCI:0000:3b:00): 99999999999999999999",
        "NVRM: Xid (PCI:0000:3b:00): 65536, too large",
        "NVRM: Xid (PCI:00000000000000000000000000000000000000000000:3b:00): 13",
        "nvrm: xid (PCI:0000:3b:00): 13",
        "something NVRM: Xid (PCI:0000:3b:00): 13",
        "NVRM: Xid (PCI:zz;3b'00): 13, a bus id of other characters",
    };
    char huge[600];
    struct kmsg_xid x;
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(bad); i++)
        if (kmsg_parse_xid(bad[i], strlen(bad[i]), &x))
            fail_msg("accepted: '%s'", bad[i]);
    /* a name longer than the field is cut, never overflows */
    snprintf(huge, sizeof(huge), "NVRM: Xid (PCI:0000:3b:00): 13, pid=1, name=%0500d, x", 7);
    assert_true(kmsg_parse_xid(huge, strlen(huge), &x));
    assert_int_equal(strlen(x.name), KMSG_NAME_MAX - 1);
    snprintf(huge, sizeof(huge), "NVRM: Xid (PCI:0000:3b:00): 13, pid=99999999999999999999");
    assert_true(kmsg_parse_xid(huge, strlen(huge), &x));
    assert_int_equal(x.pid, -1);
}

static void gpu_at_and_oom_lines(void **state)
{
    const char *s = "NVRM: GPU at PCI:0000:3b:00: GPU-4f9a2c1e-7b3d-5e8f-9a0b-1c2d3e4f5a6b";
    char bus[KMSG_BUS_MAX], uuid[KMSG_UUID_MAX];
    struct kmsg_oom_summary sum;
    struct kmsg_oom_kill kill;

    assert_true(kmsg_parse_gpu_at(s, strlen(s), bus, uuid));
    assert_string_equal(bus, "0000:3b:00");
    assert_string_equal(uuid, "GPU-4f9a2c1e-7b3d-5e8f-9a0b-1c2d3e4f5a6b");
    s = "NVRM: GPU at PCI:0000:3b:00: GPU-";
    assert_false(kmsg_parse_gpu_at(s, strlen(s), bus, uuid));
    s = "NVRM: GPU at PCI:0000:3b:00 GPU-123";
    assert_false(kmsg_parse_gpu_at(s, strlen(s), bus, uuid));
    s = "NVRM: GPU at PCI:0000:3b:00: GPU-\x1b[2J";
    assert_false(kmsg_parse_gpu_at(s, strlen(s), bus, uuid));
    s = "Memory cgroup out of memory: Killed process 4242 (python) total-vm:3245676kB, "
        "anon-rss:1kB";
    assert_true(kmsg_parse_oom_kill(s, strlen(s), &kill));
    assert_int_equal(kill.pid, 4242);
    assert_string_equal(kill.comm, "python");
    assert_true(kill.memcg);
    s = "Out of memory: Killed process 913 (java) total-vm:8123456kB";
    assert_true(kmsg_parse_oom_kill(s, strlen(s), &kill));
    assert_false(kill.memcg);
    s = "Out of memory: Killed process (java)";
    assert_false(kmsg_parse_oom_kill(s, strlen(s), &kill));
    s = "oom_reaper: reaped process 4242 (python), now anon-rss:0kB";
    assert_false(kmsg_parse_oom_kill(s, strlen(s), &kill));
    s = "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,mems_allowed=0,"
        "oom_memcg=/kubepods/burstable/pod" PUID "/" CID ",task_memcg=/kubepods/burstable/pod" PUID
        "/" CID ",task=python,pid=4242,uid=0";
    assert_true(kmsg_parse_oom_summary(s, strlen(s), &sum));
    assert_string_equal(sum.constraint, "CONSTRAINT_MEMCG");
    assert_string_equal(sum.task_memcg, "/kubepods/burstable/pod" PUID "/" CID);
    assert_string_equal(sum.task, "python");
    assert_int_equal(sum.pid, 4242);
    s = "oom-kill:pid=abc";
    assert_true(kmsg_parse_oom_summary(s, strlen(s), &sum));
    assert_int_equal(sum.pid, -1);
    assert_string_equal(sum.task_memcg, "");
}

/* ---- the collector ------------------------------------------------------------ */

struct km {
    char dir[128];
    char path[200], boot[200], state[200], proc[200];
    struct vg_config *cfg;
    struct vg_pipeline *p;
    struct vg_collector c;
    struct kmsg_ctx *x;
    struct vg_emit e;
    int64_t seqs[256]; /* the sequence of every record shipped, in order */
    char *bodies[256];
    size_t n;
    bool hold_acks;
};

static void km_write(const char *path, const char *text, const char *mode)
{
    FILE *f = fopen(path, mode);

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    fclose(f);
}

static void km_copy(const char *from, const char *to)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

/* Starts the collector on the fixture paths; false (everything undone)
 * when it refuses to, as it may when memory runs out. */
static bool km_try_start(struct km *t)
{
    const struct vg_collector_ops *ops = &vg_collector_kmsg;
    const struct vg_option *tables[1] = {ops->options};
    struct vg_pipeline_settings s = {.batch_max_records = 1u << 20,
                                     .batch_max_bytes = UINT64_C(1) << 30,
                                     .dead_letter_dir = "/nonexistent"};
    static const char *const ignore[] = {"type", NULL};
    char opts[1024];
    struct vg_errors errs;
    struct vg_error err = {0};
    void *ctxs[1];
    int rc;

    t->x = calloc(1, ops->ctx_size);
    assert_non_null(t->x);
    ctxs[0] = t->x;
    snprintf(opts, sizeof(opts), "path: %s\nboot_id_path: %s\nproc_root: %s\n", t->path, t->boot,
             t->proc);
    vg_errors_init(&errs);
    t->cfg = NULL;
    rc = vg_config_load_string(opts, strlen(opts), "t.yaml", &t->cfg, &errs);
    if (rc == VG_OK)
        rc = vg_options_apply(tables, ctxs, 1, t->cfg->root, "t", ignore, &errs);
    vg_errors_free(&errs);
    memset(&t->c, 0, sizeof(t->c));
    t->c.ops = ops;
    t->c.name = "kmsg";
    t->c.ctx = t->x;
    t->c.node_name = "node-1";
    t->c.state_dir = t->state;
    t->p = rc == VG_OK ? vg_pipeline_create(&s) : NULL;
    t->e.sink = t->p != NULL ? vg_pipeline_sink(t->p, &t->c) : NULL;
    rc = t->e.sink != NULL ? ops->init(&t->c, t->cfg->root, &err) : VG_ENOMEM;
    if (rc != VG_OK) {
        if (getenv("KM_DEBUG") != NULL)
            fprintf(stderr, "init: %s\n", err.msg);
        ops->destroy(&t->c);
        vg_options_free(ops->options, t->x);
        free(t->x);
        t->x = NULL;
        vg_pipeline_destroy(t->p);
        vg_config_free(t->cfg);
        return false;
    }
    t->x->boot_ns = 1000 * VG_NS_PER_SEC;
    return true;
}

static void km_start(struct km *t)
{
    if (!km_try_start(t))
        fail_msg("the collector did not start");
}

/* Stops the collector: graceful writes its checkpoint, a crash does not. */
static void km_stop(struct km *t, bool graceful)
{
    if (!graceful)
        t->x->ck.loaded = false;
    t->c.ops->destroy(&t->c);
    vg_options_free(t->c.ops->options, t->x);
    free(t->x);
    t->x = NULL;
    vg_pipeline_destroy(t->p);
    vg_config_free(t->cfg);
}

/* One collect; the records shipped are noted, then acknowledged (unless
 * held back). */
static void km_collect(struct km *t)
{
    struct vg_batch *b;
    const struct vg_field *f;
    size_t i;

    assert_int_equal(t->c.ops->collect(&t->c, &t->e), VG_OK);
    b = t->e.sink->open;
    for (i = 0; b != NULL && i < b->n_recs && t->n < VG_ARRAY_LEN(t->seqs); i++) {
        f = vg_record_field(b->recs[i], "sequence");
        assert_non_null(f);
        t->bodies[t->n] = strndup(b->recs[i]->body, b->recs[i]->body_len);
        t->seqs[t->n++] = f->v.i;
    }
    assert_int_equal(vg_sink_flush(t->e.sink), VG_OK);
    if (!t->hold_acks)
        vg_pipeline_process_acks(t->p);
}

/* The records shipped are exactly the sequences [from, to), in order. */
static void km_expect(const struct km *t, size_t at, int64_t from, int64_t to)
{
    int64_t s;

    if (t->n - at != (size_t)(to - from))
        fail_msg("%zu records shipped, %lld expected", t->n - at, (long long)(to - from));
    for (s = from; s < to; s++)
        assert_int_equal(t->seqs[at + (size_t)(s - from)], s);
}

static int km_setup(void **state)
{
    struct km *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/vigil-kmsg-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/kmsg", t->dir);
    snprintf(t->boot, sizeof(t->boot), "%s/boot_id", t->dir);
    snprintf(t->state, sizeof(t->state), "%s/state", t->dir);
    snprintf(t->proc, sizeof(t->proc), "%s/proc", t->dir);
    assert_int_equal(mkdir(t->state, 0750), 0);
    km_write(t->boot, "11111111-2222-3333-4444-555555555555\n", "w");
    vg_log_setup(getenv("KM_DEBUG") != NULL ? VG_LOG_DEBUG : VG_LOG_ERROR, false);
    vg_meta_reset();
    *state = t;
    return 0;
}

static int km_teardown(void **state)
{
    struct km *t = *state;
    char cmd[200];
    size_t i;

    vg_alloc_reset(); /* a torture run that failed an assertion left it armed */
    if (t->x != NULL)
        km_stop(t, true);
    for (i = 0; i < t->n; i++)
        free(t->bodies[i]);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
    vg_meta_reset();
    free(t);
    return 0;
}

static const struct vg_field *km_field(const struct vg_record *r, const char *key)
{
    const struct vg_field *f = vg_record_field(r, key);

    if (f == NULL)
        fail_msg("no field %s", key);
    return f;
}

static void km_expect_str(const struct vg_record *r, const char *key, const char *want)
{
    const struct vg_field *f = km_field(r, key);

    assert_int_equal(f->type, VG_FIELD_STR);
    if (f->v.s.len != strlen(want) || memcmp(f->v.s.ptr, want, f->v.s.len) != 0)
        fail_msg("%s is '%.*s', not '%s'", key, (int)f->v.s.len, f->v.s.ptr, want);
}

/* A process of a container: proc_root/<pid>/cgroup names its cgroup. */
static void km_container_pid(const struct km *t, long pid)
{
    char p[300];
    struct vg_meta m = {0};

    snprintf(p, sizeof(p), "%s/%ld", t->proc, pid);
    assert_int_equal(vg_mkdirs(p), VG_OK);
    snprintf(p, sizeof(p), "%s/%ld/cgroup", t->proc, pid);
    km_write(p, "0::/kubepods/burstable/pod" PUID "/" CID "\n", "w");
    snprintf(m.namespace_, sizeof(m.namespace_), "ml");
    snprintf(m.pod, sizeof(m.pod), "trainer-0");
    snprintf(m.container, sizeof(m.container), "train");
    vg_meta_put(CID, &m);
}

static void collector_ships_xid_records_with_gpu_and_container(void **state)
{
    struct km *t = *state;
    const struct vg_record *r;
    struct vg_batch *b;

    km_copy(FIX "gpu.kmsg", t->path);
    km_container_pid(t, 31337);
    vg_gpu_put("00000000:5E:00.0", 1, "GPU-from-nvml");
    t->hold_acks = true;
    km_start(t);
    assert_int_equal(t->c.ops->collect(&t->c, &t->e), VG_OK);
    b = t->e.sink->open;
    assert_non_null(b);
    assert_int_equal(b->n_recs, 13);
    r = b->recs[7]; /* Xid 13 on 3b: the UUID from the GPU-at line, no index */
    assert_int_equal(km_field(r, "sequence")->v.i, 7);
    assert_int_equal(km_field(r, "priority")->v.i, 4);
    km_expect_str(r, "facility", "kern");
    assert_int_equal(r->time_ns, 1000 * VG_NS_PER_SEC + INT64_C(912345678000));
    assert_int_equal(km_field(r, "xid")->v.i, 13);
    km_expect_str(r, "gpu", "");
    km_expect_str(r, "uuid", "GPU-4f9a2c1e-7b3d-5e8f-9a0b-1c2d3e4f5a6b");
    km_expect_str(r, "pci_bus_id", "0000:3b:00");
    assert_int_equal(km_field(r, "pid")->v.i, 20817);
    assert_null(vg_record_field(r, "namespace"));
    r = b->recs[9]; /* Xid 31 on 5e: the core's GPU table wins; the pid is a container's */
    assert_int_equal(km_field(r, "xid")->v.i, 31);
    km_expect_str(r, "gpu", "1");
    km_expect_str(r, "uuid", "GPU-from-nvml");
    km_expect_str(r, "namespace", "ml");
    km_expect_str(r, "pod", "trainer-0");
    km_expect_str(r, "container", "train");
    km_expect_str(r, "container_id", CID);
    r = b->recs[4];
    km_expect_str(r, "subsystem", "pci");
    km_expect_str(r, "device", "+pci:0000:3b:00.0");
    assert_int_equal(t->x->n_xids, 4); /* 13 (twice), 31, 48, 79 */
    assert_int_equal(t->x->xids[0].n, 2);
    assert_int_equal(t->x->xids[3].xid, 79);
    assert_int_equal(t->x->records, 13);
}

static void collector_counts_oom_kills_per_container(void **state)
{
    struct km *t = *state;
    const struct vg_record *r;
    struct vg_batch *b;

    km_copy(FIX "oom.kmsg", t->path);
    km_container_pid(t, 4242);
    t->hold_acks = true;
    km_start(t);
    assert_int_equal(t->c.ops->collect(&t->c, &t->e), VG_OK);
    b = t->e.sink->open;
    assert_int_equal(b->n_recs, 8);
    assert_int_equal(t->x->oom_kills, 2);
    assert_int_equal(t->x->n_ooms, 1);
    assert_string_equal(t->x->ooms[0].id, CID);
    assert_string_equal(t->x->ooms[0].m.pod, "trainer-0");
    r = b->recs[4];
    assert_true(km_field(r, "oom")->v.b);
    km_expect_str(r, "namespace", "ml");
    km_expect_str(r, "container_id", CID);
    assert_int_equal(km_field(r, "pid")->v.i, 4242);
    r = b->recs[5];
    assert_true(km_field(r, "oom")->v.b);
    assert_null(vg_record_field(b->recs[6], "oom"));
}

static void collector_skips_garbage_and_waits_for_whole_lines(void **state)
{
    struct km *t = *state;

    km_copy(FIX "garbage.kmsg", t->path);
    km_start(t);
    km_collect(t);
    km_expect(t, 0, 3, 4); /* the one with a caller id; the unended line waits */
    assert_int_equal(t->x->parse_errors, 6);
    km_write(t->path, "\n", "a");
    km_collect(t);
    assert_int_equal(t->n, 2);
    assert_int_equal(t->seqs[1], 6);
    assert_string_equal(t->bodies[1], "no newline at the end");
}

static void restart_ships_only_what_is_new(void **state)
{
    struct km *t = *state;

    km_copy(FIX "gpu.kmsg", t->path);
    km_start(t);
    km_collect(t);
    km_expect(t, 0, 0, 13);
    km_stop(t, true);
    km_write(t->path, "6,13,1300000000,-;after the restart\n6,14,1300000001,-;and one more\n", "a");
    km_start(t);
    km_collect(t);
    km_expect(t, 13, 13, 15);
    assert_int_equal(t->x->records, 15); /* counted since boot */
    assert_int_equal(t->x->n_xids, 4);
}

static void crash_resends_only_what_the_checkpoint_had_not(void **state)
{
    struct km *t = *state;

    km_copy(FIX "gpu.kmsg", t->path);
    km_start(t);
    km_collect(t);
    vg_checkpoint_save(&t->x->ck); /* the interval wrote 0..12 */
    km_write(t->path, "6,13,1300000000,-;shipped, not checkpointed\n", "a");
    km_collect(t);
    km_expect(t, 0, 0, 14);
    km_stop(t, false);
    km_start(t);
    km_collect(t);
    km_expect(t, 14, 13, 14); /* at least once: the unsaved one again, nothing lost */
}

static void new_boot_id_ships_everything_again(void **state)
{
    struct km *t = *state;

    km_copy(FIX "oom.kmsg", t->path);
    km_start(t);
    km_collect(t);
    km_stop(t, true);
    km_write(t->boot, "99999999-2222-3333-4444-555555555555\n", "w");
    km_start(t);
    km_collect(t);
    km_expect(t, 8, 0, 8);
    km_stop(t, true);
    km_start(t); /* the same boot again: nothing */
    km_collect(t);
    assert_int_equal(t->n, 16);
}

static void older_sequence_means_reboot(void **state)
{
    struct km *t = *state;

    km_copy(FIX "gpu.kmsg", t->path);
    km_start(t);
    km_collect(t);
    km_stop(t, true);
    /* the same boot id (unreadable on this host, say) but a ring that ends
     * before the saved sequence */
    km_copy(FIX "oom.kmsg", t->path);
    km_start(t);
    km_collect(t); /* reads to the end, finds the ring older, starts over */
    km_collect(t);
    km_expect(t, 13, 0, 8);
    assert_int_equal(t->x->records, 8);
    assert_int_equal(t->x->oom_kills, 2);
}

/* ---- the checkpoint store ------------------------------------------------------ */

static void checkpoint_save_and_load(void **state)
{
    struct km *t = *state;
    struct vg_checkpoint ck;
    struct vg_error err = {0};
    uint64_t v;

    assert_int_equal(vg_checkpoint_open(&ck, NULL, t->state, "c1", 1000, &err), VG_OK);
    assert_null(vg_checkpoint_get(&ck, "sequence"));
    assert_int_equal(vg_checkpoint_set_u64(&ck, "sequence", 18446744073709551614u), VG_OK);
    assert_int_equal(vg_checkpoint_set(&ck, "boot_id", "a b c"), VG_OK);
    assert_int_equal(vg_checkpoint_set(&ck, "bad key", "x"), VG_EINVAL);
    assert_int_equal(vg_checkpoint_set(&ck, "k", "two\nlines"), VG_EINVAL);
    assert_true(ck.dirty);
    vg_checkpoint_close(&ck, true);
    assert_int_equal(vg_checkpoint_open(&ck, NULL, t->state, "c1", 1000, &err), VG_OK);
    assert_true(vg_checkpoint_get_u64(&ck, "sequence", &v));
    assert_true(v == 18446744073709551614u);
    assert_string_equal(vg_checkpoint_get(&ck, "boot_id"), "a b c");
    assert_false(vg_checkpoint_get_u64(&ck, "boot_id", &v));
    assert_false(ck.dirty);
    /* setting the same value writes nothing */
    assert_int_equal(vg_checkpoint_set(&ck, "boot_id", "a b c"), VG_OK);
    assert_false(ck.dirty);
    vg_checkpoint_close(&ck, false);
}

static void checkpoint_damaged_lines_are_skipped(void **state)
{
    struct km *t = *state;
    struct vg_checkpoint ck;
    struct vg_error err = {0};
    char p[300];
    uint64_t v;

    snprintf(p, sizeof(p), "%s/checkpoints", t->state);
    assert_int_equal(vg_mkdirs(p), VG_OK);
    snprintf(p, sizeof(p), "%s/checkpoints/c2", t->state);
    km_write(p, "# vigil checkpoint v1\nnovalue\n\nsequence 41\nsequence 42\n\x01\xff garbage",
             "w");
    assert_int_equal(vg_checkpoint_open(&ck, NULL, t->state, "c2", 1000, &err), VG_OK);
    assert_true(vg_checkpoint_get_u64(&ck, "sequence", &v));
    assert_int_equal(v, 42);
    vg_checkpoint_close(&ck, false);
}

/* A writer killed at any moment leaves the old file or the new one whole. */
static void checkpoint_write_is_atomic_under_sigkill(void **state)
{
    struct km *t = *state;
    static char a[256 * 1024], b[256 * 1024];
    char p[300], *got;
    struct timespec ts = {0, 30 * 1000 * 1000};
    struct stat st;
    pid_t pid;
    int round, status, fd;

    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    snprintf(p, sizeof(p), "%s/atomic", t->dir);
    assert_int_equal(vg_checkpoint_write_atomic(p, a, sizeof(a)), VG_OK);
    got = malloc(sizeof(a));
    assert_non_null(got);
    for (round = 0; round < 3; round++) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            for (;;) {
                vg_checkpoint_write_atomic(p, b, sizeof(b));
                vg_checkpoint_write_atomic(p, a, sizeof(a));
            }
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_size, sizeof(a));
        fd = open(p, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, got, sizeof(a)), sizeof(a));
        close(fd);
        assert_true(memcmp(got, a, sizeof(a)) == 0 || memcmp(got, b, sizeof(b)) == 0);
    }
    free(got);
}

static void checkpoint_write_failure_is_reported(void **state)
{
    struct km *t = *state;
    struct vg_checkpoint ck;
    struct vg_error err = {0};
    char p[300];

    assert_int_equal(vg_checkpoint_open(&ck, NULL, t->state, "c3", 1000, &err), VG_OK);
    /* a folder where the file should be: the rename fails, the old stays */
    snprintf(p, sizeof(p), "%s/checkpoints/c3", t->state);
    assert_int_equal(mkdir(p, 0750), 0);
    snprintf(p, sizeof(p), "%s/checkpoints/c3/x", t->state);
    km_write(p, "x", "w");
    assert_int_equal(vg_checkpoint_set(&ck, "sequence", "1"), VG_OK);
    assert_int_equal(vg_checkpoint_save(&ck), VG_EIO);
    assert_true(ck.dirty);
    snprintf(p, sizeof(p), "%s/checkpoints/c3.tmp", t->state);
    assert_int_equal(access(p, F_OK), -1); /* no temporary file left */
    vg_checkpoint_close(&ck, false);
}

/* ---- allocation failures ------------------------------------------------------- */

/* Whatever allocation fails, the collector starts or says why, and once
 * memory is back every record arrives once, in order. */
static void km_torture_body(struct torture *tt, void *arg)
{
    struct km *t = arg;
    struct vg_batch *b;
    char ck[300];
    size_t i;
    int tries;

    snprintf(ck, sizeof(ck), "%s/checkpoints/kmsg", t->state);
    unlink(ck); /* each run starts from nothing */
    if (!km_try_start(t))
        return;
    t->c.ops->collect(&t->c, &t->e);
    torture_disarm(tt);
    for (tries = 0; tries < 3; tries++)
        assert_int_equal(t->c.ops->collect(&t->c, &t->e), VG_OK);
    b = t->e.sink->open;
    assert_non_null(b);
    assert_int_equal(b->n_recs, 13);
    for (i = 0; i < b->n_recs; i++)
        assert_int_equal(vg_record_field(b->recs[i], "sequence")->v.i, (int64_t)i);
    assert_int_equal(t->x->records, 13);
    assert_int_equal(t->x->xids[0].n, 2);
    km_stop(t, true);
}

static void collector_survives_every_allocation_failure(void **state)
{
    struct km *t = *state;

    km_copy(FIX "gpu.kmsg", t->path);
    torture_run(km_torture_body, t, 0);
}

static void ckpt_torture_body(struct torture *tt, void *arg)
{
    struct km *t = arg;
    struct vg_checkpoint ck;
    struct vg_error err = {0};
    char p[300];
    uint64_t v;

    snprintf(p, sizeof(p), "%s/checkpoints/t", t->state);
    unlink(p);
    if (vg_checkpoint_open(&ck, NULL, t->state, "t", 1000, &err) != VG_OK)
        return;
    if (vg_checkpoint_set_u64(&ck, "sequence", 7) != VG_OK ||
        vg_checkpoint_set(&ck, "boot_id", "b") != VG_OK || vg_checkpoint_save(&ck) != VG_OK) {
        torture_disarm(tt);
        assert_int_equal(vg_checkpoint_set_u64(&ck, "sequence", 7), VG_OK);
        assert_int_equal(vg_checkpoint_set(&ck, "boot_id", "b"), VG_OK);
    }
    torture_disarm(tt);
    vg_checkpoint_close(&ck, true);
    assert_int_equal(vg_checkpoint_open(&ck, NULL, t->state, "t", 1000, &err), VG_OK);
    assert_true(vg_checkpoint_get_u64(&ck, "sequence", &v));
    assert_int_equal(v, 7);
    assert_string_equal(vg_checkpoint_get(&ck, "boot_id"), "b");
    vg_checkpoint_close(&ck, false);
}

static void checkpoint_survives_every_allocation_failure(void **state)
{
    torture_run(ckpt_torture_body, *state, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_header_and_dictionary),
        cmocka_unit_test(record_garbage_is_refused),
        cmocka_unit_test(truncated_input_reads_nothing_past_its_end),
        cmocka_unit_test(xid_lines_new_and_old),
        cmocka_unit_test(xid_hostile_lines_are_refused),
        cmocka_unit_test(gpu_at_and_oom_lines),
        cmocka_unit_test_setup_teardown(collector_ships_xid_records_with_gpu_and_container,
                                        km_setup, km_teardown),
        cmocka_unit_test_setup_teardown(collector_counts_oom_kills_per_container, km_setup,
                                        km_teardown),
        cmocka_unit_test_setup_teardown(collector_skips_garbage_and_waits_for_whole_lines, km_setup,
                                        km_teardown),
        cmocka_unit_test_setup_teardown(restart_ships_only_what_is_new, km_setup, km_teardown),
        cmocka_unit_test_setup_teardown(crash_resends_only_what_the_checkpoint_had_not, km_setup,
                                        km_teardown),
        cmocka_unit_test_setup_teardown(new_boot_id_ships_everything_again, km_setup, km_teardown),
        cmocka_unit_test_setup_teardown(older_sequence_means_reboot, km_setup, km_teardown),
        cmocka_unit_test_setup_teardown(checkpoint_save_and_load, km_setup, km_teardown),
        cmocka_unit_test_setup_teardown(checkpoint_damaged_lines_are_skipped, km_setup,
                                        km_teardown),
        cmocka_unit_test_setup_teardown(checkpoint_write_is_atomic_under_sigkill, km_setup,
                                        km_teardown),
        cmocka_unit_test_setup_teardown(checkpoint_write_failure_is_reported, km_setup,
                                        km_teardown),
        cmocka_unit_test_setup_teardown(collector_survives_every_allocation_failure, km_setup,
                                        km_teardown),
        cmocka_unit_test_setup_teardown(checkpoint_survives_every_allocation_failure, km_setup,
                                        km_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_node.c - the node collector: every /proc parser on strings (normal,
 * truncated, garbage, newer and older kernels' columns, huge numbers), the
 * meminfo name table, mount escapes, the default exclusion regexes, and
 * whole collections over the fixture tree tests/fixtures/proc rendered
 * through the metric store.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "../../collectors/node/node_parse.h"
#include "collector_fixture.h"
#include "config.h"
#include "core.h"
#include "metrics.h"
#include "vigil.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

#define FIXTURE_PROC VG_SOURCE_DIR "/tests/fixtures/proc"
#define FIXTURE_SYS  VG_SOURCE_DIR "/tests/fixtures/sys"

extern const struct vg_collector_ops vg_collector_node;

#define S(lit) (lit), (sizeof(lit) - 1)

static void assert_near(double got, double want)
{
    if (!(fabs(got - want) <= 1e-9 * (fabs(want) > 1 ? fabs(want) : 1)))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* ------------------------------------------------------------------------
 * /proc/stat
 */

struct cpus {
    unsigned n;
    struct node_cpu_times t[8];
};

static int cpus_add(const struct node_cpu_times *t, void *arg)
{
    struct cpus *c = arg;

    if (c->n < 8)
        c->t[c->n] = *t;
    c->n++;
    return VG_OK;
}

static void stat_reads_cpus_and_totals(void **state)
{
    static const char text[] = "cpu  30 0 20 100 1 0 2 0 0 0\n"
                               "cpu0 10 0 5 50 1 0 1 0 4 5\n"
                               "cpu1 20 0 15 50 0 0 1 0 0 0\n"
                               "intr 593231 0 0 14 0 1904\n"
                               "ctxt 2642509\nbtime 1795561398\nprocesses 25625\n"
                               "procs_running 2\nprocs_blocked 1\n"
                               "softirq 2433595 0 97400 4\n";
    struct node_perr pe = {0, NULL};
    struct node_stat st;
    struct cpus c = {0};

    assert_int_equal(node_parse_stat(S(text), cpus_add, &c, &st, &pe), VG_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.t[0].cpu, 0);
    assert_int_equal(c.t[0].n, 10);
    assert_int_equal(c.t[0].v[NODE_CPU_GUEST], 4);
    assert_int_equal(c.t[0].v[NODE_CPU_GUEST_NICE], 5);
    assert_int_equal(c.t[1].cpu, 1);
    assert_int_equal(c.t[1].v[NODE_CPU_SYSTEM], 15);
    assert_int_equal(st.intr, 593231);
    assert_int_equal(st.ctxt, 2642509);
    assert_int_equal(st.btime, 1795561398);
    assert_int_equal(st.processes, 25625);
    assert_int_equal(st.procs_running, 2);
    assert_int_equal(st.procs_blocked, 1);
    assert_int_equal(st.have, NODE_STAT_CTXT | NODE_STAT_INTR | NODE_STAT_PROCESSES |
                                  NODE_STAT_PROCS_RUNNING | NODE_STAT_PROCS_BLOCKED |
                                  NODE_STAT_BTIME);
}

static void stat_old_kernel_has_four_columns(void **state)
{
    struct node_perr pe = {0, NULL};
    struct node_stat st;
    struct cpus c = {0};

    assert_int_equal(node_parse_stat(S("cpu3 1 2 3 4\n"), cpus_add, &c, &st, &pe), VG_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.t[0].cpu, 3);
    assert_int_equal(c.t[0].n, 4);
    assert_int_equal(c.t[0].v[NODE_CPU_IDLE], 4);
    assert_int_equal(c.t[0].v[NODE_CPU_IOWAIT], 0);
    assert_int_equal(st.have, 0);
}

static void stat_extra_columns_are_ignored(void **state)
{
    struct node_perr pe = {0, NULL};
    struct node_stat st;
    struct cpus c = {0};

    assert_int_equal(
        node_parse_stat(S("cpu0 1 2 3 4 5 6 7 8 9 10 11 12\n"), cpus_add, &c, &st, &pe), VG_OK);
    assert_int_equal(c.t[0].n, NODE_CPU_NCOLS);
    assert_int_equal(c.t[0].v[NODE_CPU_GUEST_NICE], 10);
}

static void stat_malformed_lines_name_their_line(void **state)
{
    struct node_perr pe = {0, NULL};
    struct node_stat st;
    struct cpus c = {0};

    assert_int_equal(node_parse_stat(S("ctxt 1\ncpu0 1 2 3\n"), cpus_add, &c, &st, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_non_null(pe.what);
    assert_int_equal(node_parse_stat(S("cpu0 1 2 3 4\ncpu1 1 x 3 4\n"), cpus_add, &c, &st, &pe),
                     VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(node_parse_stat(S("cpuX 1 2 3 4\n"), cpus_add, &c, &st, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 1);
    assert_int_equal(node_parse_stat(S("\n\nbtime\n"), NULL, NULL, &st, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 3);
    assert_int_equal(node_parse_stat(S("btime -5\n"), NULL, NULL, &st, &pe), VG_EPARSE);
}

static void stat_huge_numbers(void **state)
{
    struct node_perr pe = {0, NULL};
    struct node_stat st;

    assert_int_equal(node_parse_stat(S("ctxt 18446744073709551615\n"), NULL, NULL, &st, &pe),
                     VG_OK);
    assert_true(st.ctxt == UINT64_MAX);
    assert_int_equal(node_parse_stat(S("ctxt 18446744073709551616\n"), NULL, NULL, &st, &pe),
                     VG_EPARSE);
    assert_int_equal(node_parse_stat(S("ctxt 99999999999999999999999\n"), NULL, NULL, &st, &pe),
                     VG_EPARSE);
}

static void stat_truncated_text_keeps_what_it_has(void **state)
{
    struct node_perr pe = {0, NULL};
    struct node_stat st;
    struct cpus c = {0};

    /* the last line has no newline: still a whole line */
    assert_int_equal(node_parse_stat(S("cpu0 1 2 3 4\nctxt 77"), cpus_add, &c, &st, &pe), VG_OK);
    assert_int_equal(st.ctxt, 77);
    assert_int_equal(node_parse_stat("", 0, cpus_add, &c, &st, &pe), VG_OK);
    assert_int_equal(st.have, 0);
}

/* ------------------------------------------------------------------------
 * /proc/meminfo
 */

static void meminfo_name_table(void **state)
{
    static const struct {
        const char *field;
        bool unit;
        const char *want;
    } cases[] = {
        {"MemTotal", true, "node_memory_MemTotal_bytes"},
        {"Active(anon)", true, "node_memory_Active_anon_bytes"},
        {"Inactive(file)", true, "node_memory_Inactive_file_bytes"},
        {"HugePages_Total", false, "node_memory_HugePages_Total"},
        {"Hugepagesize", true, "node_memory_Hugepagesize_bytes"},
        {"DirectMap4k", true, "node_memory_DirectMap4k_bytes"},
        {"NFS_Unstable", true, "node_memory_NFS_Unstable_bytes"},
        {"A(b)c(d)", true, "node_memory_A_b_c_d_bytes"}, /* greedy, as \((.*)\) */
        {"Odd(", false, "node_memory_Odd_"},
        {"Sp ace-x", false, "node_memory_Sp_ace_x"},
    };
    char out[NODE_METRIC_NAME_MAX];
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(cases); i++) {
        assert_int_equal(node_meminfo_name(cases[i].field, strlen(cases[i].field), cases[i].unit,
                                           out, sizeof(out)),
                         VG_OK);
        assert_string_equal(out, cases[i].want);
    }
    assert_int_equal(node_meminfo_name("", 0, true, out, sizeof(out)), VG_EINVAL);
    assert_int_equal(node_meminfo_name("MemTotal", 8, true, out, 20), VG_EINVAL);
}

struct meminfo_seen {
    unsigned n;
    double memtotal, hp_total, active_anon;
};

static int meminfo_add(const char *name, double value, void *arg)
{
    struct meminfo_seen *m = arg;

    m->n++;
    if (strcmp(name, "node_memory_MemTotal_bytes") == 0)
        m->memtotal = value;
    else if (strcmp(name, "node_memory_HugePages_Total") == 0)
        m->hp_total = value;
    else if (strcmp(name, "node_memory_Active_anon_bytes") == 0)
        m->active_anon = value;
    return VG_OK;
}

static void meminfo_scales_kb_and_keeps_counts(void **state)
{
    static const char text[] = "MemTotal:       24684084 kB\n"
                               "\n"
                               "Active(anon):       1528 kB\n"
                               "HugePages_Total:       7\n";
    struct node_perr pe = {0, NULL};
    struct meminfo_seen m = {0};

    assert_int_equal(node_parse_meminfo(S(text), meminfo_add, &m, &pe), VG_OK);
    assert_int_equal(m.n, 3);
    assert_true(m.memtotal == 24684084.0 * 1024);
    assert_true(m.active_anon == 1528.0 * 1024);
    assert_true(m.hp_total == 7.0);
}

static void meminfo_garbage_names_its_line(void **state)
{
    struct node_perr pe = {0, NULL};
    struct meminfo_seen m = {0};

    assert_int_equal(
        node_parse_meminfo(S("MemTotal: 1 kB\nMemFree: lots kB\n"), meminfo_add, &m, &pe),
        VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(
        node_parse_meminfo(S("A: 1 kB\nB: 1 kB\nC: 1 kB extra\n"), meminfo_add, &m, &pe),
        VG_EPARSE);
    assert_int_equal(pe.line, 3);
    assert_int_equal(node_parse_meminfo(S("MemTotal:\n"), meminfo_add, &m, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 1);
    assert_int_equal(node_parse_meminfo(S("MemTotal 5 kB\n"), meminfo_add, &m, &pe), VG_EPARSE);
    assert_int_equal(node_parse_meminfo(S("MemTotal: nan\n"), meminfo_add, &m, &pe), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * /proc/loadavg
 */

static void loadavg_parses_three_values(void **state)
{
    struct node_perr pe = {0, NULL};
    double l[3];

    assert_int_equal(node_parse_loadavg(S("0.00 0.16 12.50 1/81 23261\n"), l, &pe), VG_OK);
    assert_true(l[0] == 0.0 && l[1] == 0.16 && l[2] == 12.5);
}

static void loadavg_truncated_or_garbage_fails(void **state)
{
    struct node_perr pe = {0, NULL};
    double l[3];

    assert_int_equal(node_parse_loadavg(S("0.00 0.16"), l, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 1);
    assert_int_equal(node_parse_loadavg(S("a b c d"), l, &pe), VG_EPARSE);
    assert_int_equal(node_parse_loadavg("", 0, l, &pe), VG_EPARSE);
    assert_int_equal(node_parse_loadavg(S("1 2 -3\n"), l, &pe), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * mounts
 */

static void mount_octal_escapes_decode(void **state)
{
    char out[64];

    assert_int_equal(node_unescape_octal(S("/mnt/my\\040disk"), out, sizeof(out)), VG_OK);
    assert_string_equal(out, "/mnt/my disk");
    assert_int_equal(node_unescape_octal(S("/a\\011b\\012c\\134d"), out, sizeof(out)), VG_OK);
    assert_string_equal(out, "/a\tb\nc\\d");
    /* not an escape: kept as is */
    assert_int_equal(node_unescape_octal(S("/x\\08y\\"), out, sizeof(out)), VG_OK);
    assert_string_equal(out, "/x\\08y\\");
    assert_int_equal(node_unescape_octal(S("/x\\04"), out, sizeof(out)), VG_OK);
    assert_string_equal(out, "/x\\04");
    assert_int_equal(node_unescape_octal(S("/long/path"), out, 5), VG_EINVAL);
    assert_int_equal(node_unescape_octal(S("/a\\040"), out, 4), VG_OK);
    assert_string_equal(out, "/a ");
}

struct mounts_seen {
    unsigned n;
    char mp[4][64];
    char dev[4][64];
    bool ro[4];
};

static int mounts_add(const struct node_mount *m, void *arg)
{
    struct mounts_seen *s = arg;

    if (s->n < 4) {
        snprintf(s->mp[s->n], sizeof(s->mp[0]), "%s", m->mountpoint);
        snprintf(s->dev[s->n], sizeof(s->dev[0]), "%s", m->device);
        s->ro[s->n] = node_mount_readonly(m->options);
    }
    s->n++;
    return VG_OK;
}

static void mounts_parse_fields_and_options(void **state)
{
    static const char text[] = "/dev/vda / ext4 rw,relatime 0 0\n"
                               "/dev/sdb1 /media/usb\\040stick vfat ro,nosuid 0 0\n"
                               "\n"
                               "srv:/export /data nfs4 rw,ro_like,x=ro 0 0\n";
    struct node_perr pe = {0, NULL};
    struct mounts_seen s;

    memset(&s, 0, sizeof(s));
    assert_int_equal(node_parse_mounts(S(text), mounts_add, &s, &pe), VG_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.mp[0], "/");
    assert_false(s.ro[0]);
    assert_string_equal(s.mp[1], "/media/usb stick");
    assert_true(s.ro[1]);
    assert_string_equal(s.dev[2], "srv:/export");
    assert_false(s.ro[2]); /* "ro_like" and "x=ro" are not "ro" */
}

static void mounts_short_line_names_its_line(void **state)
{
    struct node_perr pe = {0, NULL};
    struct mounts_seen s;

    memset(&s, 0, sizeof(s));
    assert_int_equal(
        node_parse_mounts(S("/dev/vda / ext4 rw 0 0\n/dev/vdb /x\n"), mounts_add, &s, &pe),
        VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(s.n, 1);
}

static void mount_readonly_options(void **state)
{
    assert_true(node_mount_readonly("ro"));
    assert_true(node_mount_readonly("rw,ro"));
    assert_true(node_mount_readonly("nosuid,ro,relatime"));
    assert_false(node_mount_readonly("rw,relatime"));
    assert_false(node_mount_readonly("rox,xro"));
    assert_false(node_mount_readonly(""));
}

/* The default of an option, from the collector's own table. */
static const char *option_default(const char *name)
{
    const struct vg_option *o;

    for (o = vg_collector_node.options; o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return o->def;
    fail_msg("no option %s", name);
    return NULL;
}

static bool re_matches(const char *pattern, const char *s)
{
    int code = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    pcre2_match_data *md;
    int rc;

    assert_non_null(re);
    md = pcre2_match_data_create_from_pattern(re, NULL);
    assert_non_null(md);
    rc = pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

static void default_pseudo_fs_exclusion(void **state)
{
    const char *types = option_default("filesystem_exclude_fs_types");
    const char *points = option_default("filesystem_exclude_mount_points");
    static const char *const skipped_types[] = {
        "proc", "sysfs", "cgroup", "cgroup2", "overlay", "devpts", "tracefs", "squashfs", "nsfs"};
    static const char *const kept_types[] = {"ext4", "xfs", "tmpfs", "nfs4", "btrfs", "cgroup3"};
    static const char *const skipped_points[] = {
        "/proc", "/dev/shm", "/run/user/1000", "/sys", "/var/lib/docker/overlay2/x/merged", "/mnt"};
    static const char *const kept_points[] = {
        "/", "/home", "/running", "/var/lib/docker", "/srv/backup disk", "/devices"};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(skipped_types); i++)
        assert_true(re_matches(types, skipped_types[i]));
    for (i = 0; i < VG_ARRAY_LEN(kept_types); i++)
        assert_false(re_matches(types, kept_types[i]));
    for (i = 0; i < VG_ARRAY_LEN(skipped_points); i++)
        assert_true(re_matches(points, skipped_points[i]));
    for (i = 0; i < VG_ARRAY_LEN(kept_points); i++)
        assert_false(re_matches(points, kept_points[i]));
}

static void default_disk_exclusion(void **state)
{
    const char *re = option_default("disk_exclude_devices");
    static const char *const skipped[] = {"loop0", "ram15", "fd0",   "sda1",
                                          "vda2",  "hdb3",  "xvda1", "nvme0n1p1"};
    static const char *const kept[] = {"sda", "vda", "nvme0n1", "dm-0", "md127", "zram0", "sr0"};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(skipped); i++)
        assert_true(re_matches(re, skipped[i]));
    for (i = 0; i < VG_ARRAY_LEN(kept); i++)
        assert_false(re_matches(re, kept[i]));
}

/* ------------------------------------------------------------------------
 * /proc/net/dev
 */

#define NETDEV_HEADER                                                                              \
    "Inter-|   Receive                                                |  Transmit\n"               \
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "     \
    "drop fifo colls carrier compressed\n"

struct netdev_seen {
    unsigned n;
    char dev[4][NODE_NETDEV_NAME_MAX];
    uint64_t v[4][NODE_NETDEV_MAX_COLS];
};

static int netdev_add(const char *device, const struct node_netdev_cols *cols,
                      const uint64_t *values, void *arg)
{
    struct netdev_seen *s = arg;

    if (s->n < 4) {
        snprintf(s->dev[s->n], sizeof(s->dev[0]), "%s", device);
        memcpy(s->v[s->n], values, cols->n * sizeof(*values));
    }
    s->n++;
    return VG_OK;
}

static void netdev_maps_columns_from_header(void **state)
{
    static const char text[] = NETDEV_HEADER
        "    lo: 31880966828 1942293    0    0    0     0          0         0 31880966828 "
        "1942293    0    0    0     0       0          0\n"
        "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
    struct node_netdev_cols cols;
    struct netdev_seen s;
    struct node_perr pe = {0, NULL};

    memset(&s, 0, sizeof(s));
    assert_int_equal(node_parse_netdev(S(text), &cols, netdev_add, &s, &pe), VG_OK);
    assert_int_equal(cols.n, 16);
    assert_string_equal(cols.name[0], "receive_bytes");
    assert_string_equal(cols.name[7], "receive_multicast");
    assert_string_equal(cols.name[8], "transmit_bytes");
    assert_string_equal(cols.name[13], "transmit_colls");
    assert_string_equal(cols.name[14], "transmit_carrier");
    assert_int_equal(s.n, 2);
    assert_string_equal(s.dev[0], "lo");
    assert_true(s.v[0][0] == UINT64_C(31880966828));
    assert_string_equal(s.dev[1], "eth0");
    assert_int_equal(s.v[1][13], 14);
}

static void netdev_extra_and_reordered_columns(void **state)
{
    /* a header naming columns in another order, with one unknown today */
    static const char text[] = "x|rx|tx\n"
                               " face |packets bytes nohandler|bytes packets\n"
                               "eth0: 5 500 1 700 7 99\n";
    struct node_netdev_cols cols;
    struct netdev_seen s;
    struct node_perr pe = {0, NULL};

    memset(&s, 0, sizeof(s));
    assert_int_equal(node_parse_netdev(S(text), &cols, netdev_add, &s, &pe), VG_OK);
    assert_int_equal(cols.n, 5);
    assert_string_equal(cols.name[0], "receive_packets");
    assert_string_equal(cols.name[1], "receive_bytes");
    assert_string_equal(cols.name[2], "receive_nohandler");
    assert_string_equal(cols.name[3], "transmit_bytes");
    assert_int_equal(s.v[0][1], 500);
    assert_int_equal(s.v[0][3], 700);
}

static void netdev_malformed_input_names_its_line(void **state)
{
    struct node_netdev_cols cols;
    struct netdev_seen s;
    struct node_perr pe = {0, NULL};

    memset(&s, 0, sizeof(s));
    assert_int_equal(node_parse_netdev(S(NETDEV_HEADER "lo: 1 2 3\n"), &cols, netdev_add, &s, &pe),
                     VG_EPARSE);
    assert_int_equal(pe.line, 3);
    assert_int_equal(node_parse_netdev(S(NETDEV_HEADER "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 "
                                                       "16\n"),
                                       &cols, netdev_add, &s, &pe),
                     VG_EPARSE);
    assert_int_equal(pe.line, 3);
    assert_int_equal(node_parse_netdev(S(NETDEV_HEADER "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
                                                       "15 99999999999999999999\n"),
                                       &cols, netdev_add, &s, &pe),
                     VG_EPARSE);
    assert_int_equal(node_parse_netdev(S("only one line\n"), &cols, netdev_add, &s, &pe),
                     VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(node_parse_netdev(S("a\nno bars here\n"), &cols, netdev_add, &s, &pe),
                     VG_EPARSE);
    assert_int_equal(pe.line, 2);
}

/* ------------------------------------------------------------------------
 * /proc/diskstats
 */

struct disks_seen {
    unsigned n;
    struct node_disk d[4];
};

static int disks_add(const struct node_disk *d, void *arg)
{
    struct disks_seen *s = arg;

    if (s->n < 4)
        s->d[s->n] = *d;
    s->n++;
    return VG_OK;
}

static void diskstats_old_and_new_kernels(void **state)
{
    static const char text[] =
        "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n"             /* 4.17- */
        "   8      16 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n" /* 4.18 */
        " 254       0 vda 135688 51283 4996282 26297 14952 15831 1879520 4978 0 12848 "
        "32440 7371 213 747176 1064 1838 100\n"                                      /* 5.5+ */
        " 259       0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n"; /* future */
    struct node_perr pe = {0, NULL};
    struct disks_seen s;

    memset(&s, 0, sizeof(s));
    assert_int_equal(node_parse_diskstats(S(text), disks_add, &s, &pe), VG_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.d[0].name, "sda");
    assert_int_equal(s.d[0].n, 11);
    assert_int_equal(s.d[0].v[NODE_DISK_IO_WEIGHTED_MS], 11);
    assert_int_equal(s.d[1].n, 15);
    assert_int_equal(s.d[1].v[NODE_DISK_DISCARD_MS], 15);
    assert_int_equal(s.d[2].n, 17);
    assert_int_equal(s.d[2].v[NODE_DISK_READ_SECTORS], 4996282);
    assert_int_equal(s.d[2].v[NODE_DISK_FLUSHES], 1838);
    assert_int_equal(s.d[2].v[NODE_DISK_FLUSH_MS], 100);
    assert_int_equal(s.d[3].n, 17);
}

static void diskstats_malformed_names_its_line(void **state)
{
    struct node_perr pe = {0, NULL};
    struct disks_seen s;

    memset(&s, 0, sizeof(s));
    assert_int_equal(node_parse_diskstats(S("8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 1 sda1 1 2 3\n"),
                                          disks_add, &s, &pe),
                     VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(
        node_parse_diskstats(S("8 0 sda 1 2 3 4 5 6 7 8 9 x 11\n"), disks_add, &s, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 1);
    assert_int_equal(node_parse_diskstats(S("8 0 sda 1 2 3 4 5 6 7 8 9 10 "
                                            "99999999999999999999999\n"),
                                          disks_add, &s, &pe),
                     VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * /proc/pressure
 */

static void pressure_some_and_full(void **state)
{
    struct node_perr pe = {0, NULL};
    struct node_psi p;

    assert_int_equal(
        node_parse_pressure(S("some avg10=0.00 avg60=0.00 avg300=0.00 total=7979359\n"
                              "full avg10=0.00 avg60=0.00 avg300=0.00 total=7679815\n"),
                            &p, &pe),
        VG_OK);
    assert_true(p.has_some && p.has_full);
    assert_int_equal(p.some_total_us, 7979359);
    assert_int_equal(p.full_total_us, 7679815);
    /* cpu before 5.13 has no full line */
    assert_int_equal(
        node_parse_pressure(S("some avg10=1.00 avg60=0.00 avg300=0.00 total=5\n"), &p, &pe), VG_OK);
    assert_false(p.has_full);
}

static void pressure_malformed_fails(void **state)
{
    struct node_perr pe = {0, NULL};
    struct node_psi p;

    assert_int_equal(node_parse_pressure(S("some avg10=0.00 avg60=0.00\n"), &p, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 1);
    assert_int_equal(node_parse_pressure(S("some total=1\nfull total=abc\n"), &p, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(node_parse_pressure(S("garbage\n"), &p, &pe), VG_EPARSE);
    assert_int_equal(node_parse_pressure("", 0, &p, &pe), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * name/value sources: vmstat, snmp6, netstat, sockstat, single numbers
 */

struct kvs {
    unsigned n;
    char name[16][NODE_METRIC_NAME_MAX];
    double v[16];
};

static int kvs_add(const char *name, double v, void *arg)
{
    struct kvs *k = arg;

    if (k->n < 16) {
        snprintf(k->name[k->n], sizeof(k->name[0]), "%s", name);
        k->v[k->n] = v;
    }
    k->n++;
    return VG_OK;
}

static void keyvalue_reads_vmstat_and_snmp6(void **state)
{
    struct node_perr pe = {0, NULL};
    struct kvs k = {0};

    assert_int_equal(
        node_parse_keyvalue(S("nr_free_pages 41\n\npgfault 158579934\n"), false, kvs_add, &k, &pe),
        VG_OK);
    assert_int_equal(k.n, 2);
    assert_string_equal(k.name[1], "pgfault");
    assert_true(k.v[1] == 158579934.0);
    memset(&k, 0, sizeof(k));
    assert_int_equal(node_parse_keyvalue(S("Ip6InOctets \t70000\nIcmp6InMsgs 12\n"
                                           "UdpLite6InErrors 0\nNoSixHere 5\n"),
                                         true, kvs_add, &k, &pe),
                     VG_OK);
    assert_int_equal(k.n, 3);
    assert_string_equal(k.name[0], "Ip6_InOctets");
    assert_string_equal(k.name[1], "Icmp6_InMsgs");
    assert_string_equal(k.name[2], "UdpLite6_InErrors");
}

static void keyvalue_garbage_names_its_line(void **state)
{
    struct node_perr pe = {0, NULL};
    struct kvs k = {0};

    assert_int_equal(node_parse_keyvalue(S("a 1\nb 2 3\n"), false, kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(node_parse_keyvalue(S("a 1\nb 2\nc x\n"), false, kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 3);
    assert_int_equal(node_parse_keyvalue(S("a\n"), false, kvs_add, &k, &pe), VG_EPARSE);
}

static void netstat_pairs_names_and_values(void **state)
{
    struct node_perr pe = {0, NULL};
    struct kvs k = {0};

    assert_int_equal(node_parse_netstat(S("Tcp: MaxConn ActiveOpens\nTcp: -1 276857\n"
                                          "IpExt: InOctets\nIpExt: 31880966828\n"),
                                        kvs_add, &k, &pe),
                     VG_OK);
    assert_int_equal(k.n, 3);
    assert_string_equal(k.name[0], "Tcp_MaxConn");
    assert_true(k.v[0] == -1.0);
    assert_string_equal(k.name[2], "IpExt_InOctets");
    assert_true(k.v[2] == 31880966828.0);
}

static void netstat_long_lines_are_read_whole(void **state)
{
    char names[4096] = "TcpExt:", values[4096] = "TcpExt:", text[8192];
    struct node_perr pe = {0, NULL};
    struct kvs k = {0};
    size_t i;

    /* TcpExt has more than a hundred columns */
    for (i = 0; i < 120; i++) {
        snprintf(names + strlen(names), sizeof(names) - strlen(names), " F%zu", i);
        snprintf(values + strlen(values), sizeof(values) - strlen(values), " %zu", i * 2);
    }
    snprintf(text, sizeof(text), "%s\n%s\n", names, values);
    assert_int_equal(node_parse_netstat(text, strlen(text), kvs_add, &k, &pe), VG_OK);
    assert_int_equal(k.n, 120);
    assert_string_equal(k.name[15], "TcpExt_F15");
    assert_true(k.v[15] == 30.0);
}

static void netstat_malformed_pairs_fail(void **state)
{
    struct node_perr pe = {0, NULL};
    struct kvs k = {0};

    /* fewer values than names, another prefix, no values line, bad number */
    assert_int_equal(node_parse_netstat(S("Tcp: A B\nTcp: 1\n"), kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(node_parse_netstat(S("Tcp: A\nUdp: 1\n"), kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(node_parse_netstat(S("Tcp: A\n"), kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(node_parse_netstat(S("Tcp: A\nTcp: x\n"), kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(node_parse_netstat(S("Tcp A\nTcp 1\n"), kvs_add, &k, &pe), VG_EPARSE);
}

static void sockstat_names_protocol_and_state(void **state)
{
    struct node_perr pe = {0, NULL};
    struct kvs k = {0};

    assert_int_equal(node_parse_sockstat(S("sockets: used 254\nTCP: inuse 243 mem 214\n"
                                           "FRAG6: inuse 0 memory 0\n"),
                                         kvs_add, &k, &pe),
                     VG_OK);
    assert_int_equal(k.n, 5);
    assert_string_equal(k.name[0], "sockets_used");
    assert_string_equal(k.name[2], "TCP_mem");
    assert_true(k.v[2] == 214.0);
    assert_string_equal(k.name[4], "FRAG6_memory");
    assert_int_equal(node_parse_sockstat(S("TCP: inuse\n"), kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(node_parse_sockstat(S("TCP inuse 3\n"), kvs_add, &k, &pe), VG_EPARSE);
    assert_int_equal(node_parse_sockstat(S("TCP: inuse x\n"), kvs_add, &k, &pe), VG_EPARSE);
}

static void single_numbers_and_sysfs_integers(void **state)
{
    struct node_perr pe = {0, NULL};
    uint64_t v[3];
    int64_t i;

    assert_int_equal(node_parse_u64s(S("848\t0\t2466126\n"), v, 3, &pe), VG_OK);
    assert_true(v[0] == 848 && v[2] == 2466126);
    assert_int_equal(node_parse_u64s(S("848\t0\n"), v, 3, &pe), VG_EPARSE);
    assert_int_equal(node_parse_u64s(S(""), v, 1, &pe), VG_EPARSE);
    assert_int_equal(node_parse_u64s(S("-1\n"), v, 1, &pe), VG_EPARSE);
    assert_int_equal(node_parse_int(S("0x1003\n"), &i), VG_OK);
    assert_true(i == 4099);
    assert_int_equal(node_parse_int(S("-1\n"), &i), VG_OK);
    assert_true(i == -1);
    assert_int_equal(node_parse_int(S("10000"), &i), VG_OK);
    assert_true(i == 10000);
    assert_int_equal(node_parse_int(S("garbage\n"), &i), VG_EPARSE);
    assert_int_equal(node_parse_int(S("\n"), &i), VG_EPARSE);
    assert_int_equal(node_parse_int(S("99999999999999999999\n"), &i), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * conntrack statistics, softnet, arp, udp queues, udev, os-release, timex
 */

static void conntrack_stat_sums_cpus(void **state)
{
    static const char *const want[] = {"found", "drop", "search_restart", "missing"};
    static const char text[] = "entries  found drop search_restart\n"
                               "00000025  00000010 00000002 00000004\n"
                               "00000025  00000020 0000000a 00000000\n";
    struct node_perr pe = {0, NULL};
    uint64_t sums[4];
    unsigned have = 0;

    assert_int_equal(node_parse_conntrack_stat(S(text), want, 4, sums, &have, &pe), VG_OK);
    assert_int_equal(have, 0x7);
    assert_true(sums[0] == 0x30 && sums[1] == 12 && sums[2] == 4);
    assert_int_equal(node_parse_conntrack_stat(S("found\nzz\n"), want, 4, sums, &have, &pe),
                     VG_EPARSE);
    assert_int_equal(pe.line, 2);
    assert_int_equal(node_parse_conntrack_stat(S(""), want, 4, sums, &have, &pe), VG_EPARSE);
}

struct softnets {
    unsigned n;
    uint64_t v[4][3];
};

static int softnet_add(unsigned cpu, uint64_t p, uint64_t d, uint64_t sq, void *arg)
{
    struct softnets *s = arg;

    if (cpu < 4) {
        s->v[cpu][0] = p;
        s->v[cpu][1] = d;
        s->v[cpu][2] = sq;
    }
    s->n++;
    return VG_OK;
}

static int devices_add(const char *device, void *arg)
{
    struct kvs *k = arg;

    return kvs_add(device, 1, k);
}

static void softnet_arp_and_udp_queues(void **state)
{
    struct node_perr pe = {0, NULL};
    struct softnets sn = {0};
    struct kvs k = {0};
    uint64_t tx, rx;

    assert_int_equal(node_parse_softnet(S("00179b52 00000000 00000000 0\n0015b8ef 3 10 0\n"),
                                        softnet_add, &sn, &pe),
                     VG_OK);
    assert_int_equal(sn.n, 2);
    assert_true(sn.v[0][0] == 0x179b52 && sn.v[1][1] == 3 && sn.v[1][2] == 16);
    assert_int_equal(node_parse_softnet(S("1 2\n"), softnet_add, &sn, &pe), VG_EPARSE);
    assert_int_equal(node_parse_softnet(S("1 2 x\n"), softnet_add, &sn, &pe), VG_EPARSE);
    assert_int_equal(node_parse_arp(S("IP address HW type Flags HW address Mask Device\n"
                                      "192.0.2.1 0x1 0x2 02:fc:00:00:00:05 * eth0\n"),
                                    devices_add, &k, &pe),
                     VG_OK);
    assert_int_equal(k.n, 1);
    assert_string_equal(k.name[0], "eth0");
    assert_int_equal(node_parse_arp(S("192.0.2.1 0x1 eth0\n"), devices_add, &k, &pe), VG_EPARSE);
    assert_int_equal(node_parse_udp_queues(S("  sl local rem st tx_queue rx_queue\n"
                                             " 1: 0100007F:0035 0:0 07 00000010:00000400 0\n"
                                             " 2: 0100007F:0036 0:0 07 00000001:00000001 0\n"),
                                           &tx, &rx, &pe),
                     VG_OK);
    assert_true(tx == 0x11 && rx == 0x401);
    assert_int_equal(node_parse_udp_queues(S(" 1: a b 07 00000010\n"), &tx, &rx, &pe), VG_EPARSE);
    assert_int_equal(node_parse_udp_queues(S(" 1: a b 07 0000001g:0\n"), &tx, &rx, &pe), VG_EPARSE);
}

static void udev_and_os_release_values(void **state)
{
    static const char udev[] = "S:disk/by-path/x\nE:ID_PATH=pci-0000:00:05.0\n"
                               "E:ID_PATH_TAG=pci-0000_00_05_0\nE:ID_MODEL=Virtio Disk\n";
    static const char osr[] = "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='22.04.3'\n";
    char out[64];

    assert_true(node_udev_prop(S(udev), "ID_PATH", out, sizeof(out)));
    assert_string_equal(out, "pci-0000:00:05.0");
    assert_true(node_udev_prop(S(udev), "ID_MODEL", out, sizeof(out)));
    assert_string_equal(out, "Virtio Disk");
    assert_false(node_udev_prop(S(udev), "ID_SERIAL", out, sizeof(out)));
    assert_false(node_udev_prop(S(udev), "ID_PATH", out, 4));
    assert_true(node_os_release_value(S(osr), "NAME", out, sizeof(out)));
    assert_string_equal(out, "Debian GNU/Linux");
    assert_true(node_os_release_value(S(osr), "ID", out, sizeof(out)));
    assert_string_equal(out, "debian");
    assert_true(node_os_release_value(S(osr), "VERSION_ID", out, sizeof(out)));
    assert_string_equal(out, "22.04.3");
    assert_false(node_os_release_value(S(osr), "BUILD_ID", out, sizeof(out)));
    assert_near(node_os_version_number("22.04.3"), 22.04);
    assert_near(node_os_version_number("12"), 12);
    assert_near(node_os_version_number("rolling"), 0);
    assert_near(node_os_version_number(""), 0);
}

static void timex_values_in_base_units(void **state)
{
    struct timex t;
    double v[NODE_TIMEX_N];

    memset(&t, 0, sizeof(t));
    t.status = STA_NANO | STA_UNSYNC;
    t.offset = 1500000000; /* ns, with STA_NANO */
    t.freq = 65536 * 10;   /* 10 ppm */
    t.maxerror = 16000000; /* us */
    t.esterror = 250;
    t.tick = 10000;
    t.jitter = 2000;
    t.tai = 37;
    t.calcnt = 5;
    node_timex_values(&t, TIME_ERROR, v);
    assert_near(v[NODE_TIMEX_SYNC], 0);
    assert_near(v[NODE_TIMEX_OFFSET], 1.5);
    assert_near(v[NODE_TIMEX_FREQ], 1.00001);
    assert_near(v[NODE_TIMEX_MAXERROR], 16);
    assert_near(v[NODE_TIMEX_ESTERROR], 0.00025);
    assert_near(v[NODE_TIMEX_STATUS], STA_NANO | STA_UNSYNC);
    assert_near(v[NODE_TIMEX_TICK], 0.01);
    assert_near(v[NODE_TIMEX_JITTER], 0.000002);
    assert_near(v[NODE_TIMEX_TAI], 37);
    assert_near(v[NODE_TIMEX_CALCNT], 5);
    t.status = 0; /* microseconds */
    node_timex_values(&t, TIME_OK, v);
    assert_near(v[NODE_TIMEX_SYNC], 1);
    assert_near(v[NODE_TIMEX_OFFSET], 1500);
}

static void copy_trimmed_strips_newline(void **state)
{
    char out[8];

    assert_int_equal(node_copy_trimmed(S("node-a\n"), out, sizeof(out)), VG_OK);
    assert_string_equal(out, "node-a");
    assert_int_equal(node_copy_trimmed(S("12345678\n"), out, sizeof(out)), VG_EINVAL);
}

/* ------------------------------------------------------------------------
 * Whole collections.
 */

struct run {
    struct vg_collector c;
    struct vg_samples *samples;
    struct vg_metric_store *store;
    char *text; /* the rendered exposition */
    int init_rc;
    struct vg_error err;
};

static void *option_field(void *ctx, const char *name)
{
    const struct vg_option *o;

    for (o = vg_collector_node.options; o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return (char *)ctx + o->offset;
    fail_msg("no option %s", name);
    return NULL;
}

static void option_set_str(void *ctx, const char *name, const char *value)
{
    char **p = option_field(ctx, name);

    free(*p);
    *p = strdup(value);
    assert_non_null(*p);
}

/* Sets the collectors list from a comma-separated text. */
static void option_set_list(void *ctx, const char *name, const char *csv)
{
    struct vg_strlist *l = option_field(ctx, name);
    char *copy = strdup(csv), *save = NULL, *tok;

    assert_non_null(copy);
    for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

        assert_non_null(v);
        l->v = v;
        l->v[l->n] = strdup(tok);
        assert_non_null(l->v[l->n]);
        l->n++;
    }
    free(copy);
}

/* A collector with the table's defaults, proc_root and rootfs pointing at
 * dir, sys_root at the sysfs fixture, and the given sub-collectors (NULL: all); init is run. */
static struct run *run_create(const char *dir, const char *subs)
{
    struct run *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    collector_fixture_open(&r->c, &vg_collector_node, "node", &r->samples, &r->store);
    option_set_str(r->c.ctx, "proc_root", dir);
    option_set_str(r->c.ctx, "sys_root", FIXTURE_SYS);
    option_set_str(r->c.ctx, "rootfs", dir);
    if (subs != NULL)
        option_set_list(r->c.ctx, "collectors", subs);
    return r;
}

static int run_init(struct run *r)
{
    r->init_rc = vg_collector_node.init(&r->c, NULL, &r->err);
    return r->init_rc;
}

/* One collection, committed and rendered into r->text; returns collect's rc. */
static int run_collect(struct run *r)
{
    return collector_fixture_collect(&r->c, r->samples, r->store, &r->text);
}

/* run_create, with init and one collection that must both succeed. */
static struct run *run_collected(const char *dir, const char *subs)
{
    struct run *r = run_create(dir, subs);

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    return r;
}

static void run_destroy(struct run *r)
{
    collector_fixture_free(&r->c, r->samples, r->store, r->text);
    free(r);
}

/* The value of the series whose text form (name and labels) is exactly key;
 * NAN when there is none. */
static double value_of(const struct run *r, const char *key)
{
    size_t kl = strlen(key);
    const char *p = r->text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
            return strtod(p + kl + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return NAN;
}

static bool has_text(const struct run *r, const char *needle)
{
    return strstr(r->text, needle) != NULL;
}

/* Fails with the rendered text when excerpt (whole lines) is not in it. */
static void assert_excerpt(const struct run *r, const char *excerpt)
{
    if (strstr(r->text, excerpt) == NULL)
        fail_msg("missing:\n%s\nin:\n%s", excerpt, r->text);
}

/* Counts sample lines (not comments) that start with prefix. */
static unsigned count_lines(const struct run *r, const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *p = r->text;
    unsigned n = 0;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return n;
}

static void fixture_cpu_and_stat(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, NULL);
    double hz = (double)sysconf(_SC_CLK_TCK);

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_cpu_seconds_total{cpu=\"1\",mode=\"user\"}"), 11407 / hz);
    assert_near(value_of(r, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"), 943587 / hz);
    assert_near(value_of(r, "node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"}"), 12 / hz);
    assert_near(value_of(r, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"user\"}"), 400 / hz);
    assert_near(value_of(r, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"nice\"}"), 5 / hz);
    assert_int_equal(count_lines(r, "node_cpu_seconds_total{"), 16);
    assert_true(
        has_text(r, "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"));
    assert_true(has_text(r, "# TYPE node_cpu_seconds_total counter\n"));
    assert_near(value_of(r, "node_boot_time_seconds"), 1795561398);
    assert_near(value_of(r, "node_context_switches_total"), 2642509);
    assert_near(value_of(r, "node_intr_total"), 593231);
    assert_near(value_of(r, "node_forks_total"), 25625);
    assert_near(value_of(r, "node_procs_running"), 2);
    assert_near(value_of(r, "node_procs_blocked"), 1);
    assert_true(has_text(r, "# TYPE node_procs_running gauge\n"));
    run_destroy(r);
}

static void fixture_memory_and_load(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, NULL);

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_memory_MemTotal_bytes"), 24684084.0 * 1024);
    assert_false(isnan(value_of(r, "node_memory_Active_anon_bytes")));
    assert_false(isnan(value_of(r, "node_memory_HugePages_Total")));
    assert_true(isnan(value_of(r, "node_memory_HugePages_Total_bytes")));
    assert_true(has_text(r, "# HELP node_memory_MemTotal_bytes Memory information field "
                            "MemTotal_bytes.\n"));
    assert_near(value_of(r, "node_load1"), 0.0);
    assert_near(value_of(r, "node_load5"), 0.16);
    assert_near(value_of(r, "node_load15"), 0.15);
    run_destroy(r);
}

static void fixture_filesystems(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, NULL);
    double size, avail;

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    /* "/" and "/net" exist under the fixture rootfs; duplicates collapse */
    assert_int_equal(count_lines(r, "node_filesystem_device_error{"), 3);
    assert_near(value_of(r, "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\","
                            "mountpoint=\"/\"}"),
                0);
    size = value_of(r, "node_filesystem_size_bytes{device=\"/dev/vda\",fstype=\"ext4\","
                       "mountpoint=\"/\"}");
    avail = value_of(r, "node_filesystem_avail_bytes{device=\"/dev/vda\",fstype=\"ext4\","
                        "mountpoint=\"/\"}");
    assert_true(size > 0 && avail >= 0 && avail <= size);
    assert_near(value_of(r, "node_filesystem_readonly{device=\"/dev/vda\",fstype=\"ext4\","
                            "mountpoint=\"/\"}"),
                0);
    assert_near(value_of(r, "node_filesystem_readonly{device=\"/dev/vdb\",fstype=\"xfs\","
                            "mountpoint=\"/net\"}"),
                1);
    /* missing mount point: an error for that mount only, escapes decoded */
    assert_near(value_of(r, "node_filesystem_device_error{device=\"/dev/vdc\",fstype=\"ext4\","
                            "mountpoint=\"/srv/backup disk\"}"),
                1);
    assert_true(isnan(value_of(r, "node_filesystem_size_bytes{device=\"/dev/vdc\",fstype=\"ext4\","
                                  "mountpoint=\"/srv/backup disk\"}")));
    assert_false(has_text(r, "fstype=\"proc\""));
    assert_false(has_text(r, "fstype=\"overlay\""));
    assert_false(has_text(r, "mountpoint=\"/dev/shm\""));
    assert_false(has_text(r, "mountpoint=\"/run\""));
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"filesystem\"}"), 1);
    run_destroy(r);
}

static void fixture_network_disks_pressure(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, NULL);

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_network_receive_bytes_total{device=\"lo\"}"), 31880966828.0);
    assert_near(value_of(r, "node_network_receive_errs_total{device=\"eth0\"}"), 3);
    assert_near(value_of(r, "node_network_transmit_carrier_total{device=\"eth0\"}"), 13);
    assert_near(value_of(r, "node_network_transmit_compressed_total{device=\"eth0\"}"), 14);
    assert_near(value_of(r, "node_network_receive_bytes_total{device=\"docker0\"}"),
                18446744073709551615.0);
    assert_true(has_text(r, "# HELP node_network_receive_bytes_total Network device statistic "
                            "receive_bytes.\n"));
    /* from sysfs, where the device has it (node_exporter: netlink) */
    assert_excerpt(r, "# HELP node_network_receive_nohandler_total Network device statistic "
                      "receive_nohandler.\n"
                      "# TYPE node_network_receive_nohandler_total counter\n"
                      "node_network_receive_nohandler_total{device=\"eth0\"} 5\n"
                      "# HELP");
    assert_near(value_of(r, "node_disk_read_bytes_total{device=\"vda\"}"), 4996282.0 * 512);
    assert_near(value_of(r, "node_disk_read_time_seconds_total{device=\"vda\"}"), 26.297);
    assert_near(value_of(r, "node_disk_io_now{device=\"vda\"}"), 2);
    assert_near(value_of(r, "node_disk_discards_completed_total{device=\"vda\"}"), 7371);
    assert_near(value_of(r, "node_disk_discarded_sectors_total{device=\"vda\"}"), 747176);
    assert_near(value_of(r, "node_disk_flush_requests_total{device=\"vda\"}"), 1838);
    assert_near(value_of(r, "node_disk_flush_requests_time_seconds_total{device=\"vda\"}"), 0.1);
    assert_near(value_of(r, "node_disk_reads_completed_total{device=\"nvme0n1\"}"), 2000);
    assert_true(isnan(value_of(r, "node_disk_discards_completed_total{device=\"nvme0n1\"}")));
    assert_near(value_of(r, "node_disk_discards_completed_total{device=\"sda\"}"), 5);
    assert_true(isnan(value_of(r, "node_disk_flush_requests_total{device=\"sda\"}")));
    assert_false(isnan(value_of(r, "node_disk_reads_completed_total{device=\"dm-0\"}")));
    assert_false(has_text(r, "device=\"vda1\""));
    assert_false(has_text(r, "device=\"sda1\""));
    assert_false(has_text(r, "device=\"nvme0n1p1\""));
    assert_false(has_text(r, "device=\"loop0\""));
    assert_false(has_text(r, "device=\"ram0\""));
    assert_near(value_of(r, "node_pressure_cpu_waiting_seconds_total"), 21.672574);
    assert_near(value_of(r, "node_pressure_memory_waiting_seconds_total"), 1.5);
    assert_near(value_of(r, "node_pressure_memory_stalled_seconds_total"), 0.25);
    assert_near(value_of(r, "node_pressure_io_waiting_seconds_total"), 7.979359);
    assert_near(value_of(r, "node_pressure_io_stalled_seconds_total"), 7.679815);
    assert_false(has_text(r, "node_pressure_cpu_stalled"));
    run_destroy(r);
}

static void fixture_uname_and_scrape_health(void **state)
{
    static const char *const subs[] = {
        "cpu",     "meminfo",    "loadavg",  "filesystem", "netdev",   "diskstats", "pressure",
        "uname",   "stat",       "netclass", "netstat",    "sockstat", "conntrack", "arp",
        "softnet", "udp_queues", "time",     "filefd",     "vmstat",   "os"};
    struct run *r = run_create(FIXTURE_PROC, NULL);
    char key[128];
    size_t i;

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_uname_info{domainname=\"(none)\",machine=\"x86_64\","
                            "nodename=\"node-a\",release=\"6.1.0-18-amd64\",sysname=\"Linux\","
                            "version=\"#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)\"}"),
                1);
    for (i = 0; i < VG_ARRAY_LEN(subs); i++) {
        snprintf(key, sizeof(key), "node_scrape_collector_success{collector=\"%s\"}", subs[i]);
        assert_near(value_of(r, key), 1);
        snprintf(key, sizeof(key), "node_scrape_collector_duration_seconds{collector=\"%s\"}",
                 subs[i]);
        assert_true(value_of(r, key) >= 0);
    }
    assert_true(has_text(r, "# HELP node_scrape_collector_success node_exporter: Whether a "
                            "collector succeeded.\n"));
    /* a second collection reuses everything and gives the same series */
    assert_int_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_load5"), 0.16);
    run_destroy(r);
}

static void fixture_netclass(void **state)
{
    struct run *r = run_collected(FIXTURE_PROC, "netclass");

    assert_excerpt(r, "# HELP node_network_info Non-numeric data from /sys/class/net/<iface>, "
                      "value is always 1.\n"
                      "# TYPE node_network_info gauge\n"
                      "node_network_info{address=\"00:00:00:00:00:00\",broadcast=\"00:00:00:00:00:"
                      "00\",device=\"lo\",duplex=\"\",ifalias=\"\",operstate=\"unknown\"} 1\n"
                      "node_network_info{address=\"02:fc:00:00:00:01\",broadcast=\"ff:ff:ff:ff:ff:"
                      "ff\",device=\"eth0\",duplex=\"full\",ifalias=\"\",operstate=\"up\"} 1\n"
                      "node_network_info{address=\"62:be:ea:cb:22:48\",broadcast=\"ff:ff:ff:ff:ff:"
                      "ff\",device=\"ifb0\",duplex=\"\",ifalias=\"uplink to rack 7\","
                      "operstate=\"down\"} 1\n");
    /* Mbit/s to bytes/s; -1 (unknown) kept as node_exporter keeps it; lo's
     * speed file holds garbage: that series alone is dropped */
    assert_excerpt(r, "# HELP node_network_speed_bytes Network device property: speed_bytes\n"
                      "# TYPE node_network_speed_bytes gauge\n"
                      "node_network_speed_bytes{device=\"eth0\"} 1250000000\n"
                      "node_network_speed_bytes{device=\"ifb0\"} -125000\n"
                      "# HELP node_network_transmit_queue_length");
    assert_excerpt(r, "# HELP node_network_up Value is 1 if operstate is 'up', 0 otherwise.\n"
                      "# TYPE node_network_up gauge\n"
                      "node_network_up{device=\"eth0\"} 1\n"
                      "node_network_up{device=\"ifb0\"} 0\n"
                      "node_network_up{device=\"lo\"} 0\n");
    assert_excerpt(r, "# TYPE node_network_mtu_bytes gauge\n"
                      "node_network_mtu_bytes{device=\"eth0\"} 1400\n"
                      "node_network_mtu_bytes{device=\"ifb0\"} 1500\n"
                      "node_network_mtu_bytes{device=\"lo\"} 65536\n");
    assert_excerpt(r, "node_network_flags{device=\"eth0\"} 4099\n");
    assert_excerpt(r, "# TYPE node_network_carrier_changes_total counter\n"
                      "node_network_carrier_changes_total{device=\"eth0\"} 2\n");
    /* a file a driver does not have is no series, not an error */
    assert_false(has_text(r, "node_network_carrier{device=\"ifb0\"}"));
    assert_false(has_text(r, "bonding_masters"));
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"netclass\"}"), 1);
    run_destroy(r);
}

static void fixture_netstat_and_sockstat(void **state)
{
    struct run *r = run_collected(FIXTURE_PROC, "netstat,sockstat");

    assert_excerpt(r, "# HELP node_netstat_Icmp6_InErrors Statistic Icmp6InErrors.\n"
                      "# TYPE node_netstat_Icmp6_InErrors untyped\n"
                      "node_netstat_Icmp6_InErrors 0\n");
    assert_excerpt(r, "# HELP node_netstat_IpExt_InOctets Statistic IpExtInOctets.\n"
                      "# TYPE node_netstat_IpExt_InOctets untyped\n"
                      "node_netstat_IpExt_InOctets 31880966828\n");
    assert_excerpt(r, "# HELP node_netstat_Tcp_CurrEstab Statistic TcpCurrEstab.\n"
                      "# TYPE node_netstat_Tcp_CurrEstab untyped\n"
                      "node_netstat_Tcp_CurrEstab 7\n");
    assert_excerpt(r, "node_netstat_TcpExt_ListenDrops 6\n");
    assert_excerpt(r, "node_netstat_TcpExt_TCPOFOQueue 9\n");
    assert_excerpt(r, "node_netstat_Udp6_InDatagrams 5\n");
    /* not in node_exporter's default fields */
    assert_false(has_text(r, "node_netstat_Tcp_MaxConn"));
    assert_false(has_text(r, "node_netstat_TcpExt_EmbryonicRsts"));
    assert_false(has_text(r, "node_netstat_IcmpMsg"));
    assert_false(has_text(r, "node_netstat_Ip6_InReceives"));
    assert_int_equal(count_lines(r, "node_netstat_"), 39);
    assert_excerpt(r, "# HELP node_sockstat_TCP_mem_bytes Number of TCP sockets in state "
                      "mem_bytes.\n"
                      "# TYPE node_sockstat_TCP_mem_bytes gauge\n");
    assert_near(value_of(r, "node_sockstat_TCP_mem_bytes"), 214.0 * sysconf(_SC_PAGESIZE));
    assert_excerpt(r, "# HELP node_sockstat_sockets_used Number of IPv4 sockets in use.\n"
                      "# TYPE node_sockstat_sockets_used gauge\n"
                      "node_sockstat_sockets_used 254\n");
    assert_excerpt(r, "# HELP node_sockstat_TCP6_inuse Number of TCP6 sockets in state inuse.\n"
                      "# TYPE node_sockstat_TCP6_inuse gauge\n"
                      "node_sockstat_TCP6_inuse 4\n");
    assert_excerpt(r, "node_sockstat_FRAG6_memory 0\n");
    run_destroy(r);
}

static void fixture_kernel_tables(void **state)
{
    struct run *r = run_collected(FIXTURE_PROC, "conntrack,filefd,vmstat,arp,softnet,udp_queues");

    assert_excerpt(r, "# HELP node_nf_conntrack_entries Number of currently allocated flow "
                      "entries for connection tracking.\n"
                      "# TYPE node_nf_conntrack_entries gauge\n"
                      "node_nf_conntrack_entries 37\n"
                      "# HELP node_nf_conntrack_entries_limit Maximum size of connection tracking "
                      "table.\n"
                      "# TYPE node_nf_conntrack_entries_limit gauge\n"
                      "node_nf_conntrack_entries_limit 262144\n");
    assert_excerpt(r, "# TYPE node_nf_conntrack_stat_found gauge\n"
                      "node_nf_conntrack_stat_found 48\n");
    assert_excerpt(r, "node_nf_conntrack_stat_insert_failed 1\n");
    assert_excerpt(r, "# HELP node_filefd_allocated File descriptor statistics: allocated.\n"
                      "# TYPE node_filefd_allocated gauge\n"
                      "node_filefd_allocated 848\n"
                      "# HELP node_filefd_maximum File descriptor statistics: maximum.\n"
                      "# TYPE node_filefd_maximum gauge\n"
                      "node_filefd_maximum 2466126\n");
    assert_excerpt(r, "# HELP node_vmstat_oom_kill /proc/vmstat information field oom_kill.\n"
                      "# TYPE node_vmstat_oom_kill untyped\n"
                      "node_vmstat_oom_kill 1\n");
    assert_excerpt(r, "node_vmstat_pgmajfault 19392\n");
    assert_int_equal(count_lines(r, "node_vmstat_"), 7);
    assert_false(has_text(r, "node_vmstat_nr_free_pages"));
    assert_excerpt(r, "# HELP node_arp_entries ARP entries by device\n"
                      "# TYPE node_arp_entries gauge\n"
                      "node_arp_entries{device=\"docker0\"} 1\n"
                      "node_arp_entries{device=\"eth0\"} 2\n");
    assert_excerpt(r, "# TYPE node_softnet_times_squeezed_total counter\n"
                      "node_softnet_times_squeezed_total{cpu=\"0\"} 0\n"
                      "node_softnet_times_squeezed_total{cpu=\"1\"} 16\n");
    assert_excerpt(r, "# HELP node_udp_queues Number of allocated memory in the kernel for UDP "
                      "datagrams in bytes.\n"
                      "# TYPE node_udp_queues gauge\n"
                      "node_udp_queues{ip=\"v4\",queue=\"rx\"} 1536\n"
                      "node_udp_queues{ip=\"v4\",queue=\"tx\"} 256\n"
                      "node_udp_queues{ip=\"v6\",queue=\"rx\"} 0\n"
                      "node_udp_queues{ip=\"v6\",queue=\"tx\"} 0\n");
    run_destroy(r);
}

static void fixture_disk_info_time_and_os(void **state)
{
    struct run *r = run_collected(FIXTURE_PROC, "diskstats,time,timex,os");

    /* udev's database under rootfs for vda, nothing for the others */
    assert_excerpt(r, "# HELP node_disk_info Info of /sys/block/<block_device>.\n"
                      "# TYPE node_disk_info gauge\n"
                      "node_disk_info{device=\"dm-0\",major=\"253\",minor=\"0\",model=\"\","
                      "path=\"\",revision=\"\",serial=\"\",wwn=\"\"} 1\n");
    assert_excerpt(r, "node_disk_info{device=\"vda\",major=\"254\",minor=\"0\",model=\"Virtio "
                      "Disk\",path=\"pci-0000:00:05.0\",revision=\"1.0\","
                      "serial=\"Virtio_Disk_vd0123\",wwn=\"\"} 1\n");
    assert_false(has_text(r, "node_disk_info{device=\"vda1\""));
    assert_excerpt(r,
                   "# TYPE node_time_clocksource_available_info gauge\n"
                   "node_time_clocksource_available_info{clocksource=\"acpi_pm\",device=\"0\"} 1\n"
                   "node_time_clocksource_available_info{clocksource=\"kvm-clock\",device=\"0\"} "
                   "1\n"
                   "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"} 1\n"
                   "# HELP node_time_clocksource_current_info Current clocksource read from "
                   "'/sys/devices/system/clocksource'.\n"
                   "# TYPE node_time_clocksource_current_info gauge\n"
                   "node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1\n");
    assert_true(value_of(r, "node_time_seconds") > 1.7e9);
    assert_excerpt(r, "# HELP node_time_zone_offset_seconds System time zone offset in seconds.\n");
    /* adjtimex(2) would describe this machine, not the fixture */
    assert_false(has_text(r, "node_timex_"));
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"timex\"}"), 0);
    assert_excerpt(r, "node_os_info{build_id=\"\",id=\"debian\",id_like=\"\",image_id=\"\","
                      "image_version=\"\",name=\"Debian GNU/Linux\",pretty_name=\"Debian "
                      "GNU/Linux 12 (bookworm)\",variant=\"\",variant_id=\"\",version=\"12 "
                      "(bookworm)\",version_codename=\"bookworm\",version_id=\"12\"} 1\n"
                      "# HELP node_os_version Metric containing the major.minor part of the OS "
                      "version.\n"
                      "# TYPE node_os_version gauge\n"
                      "node_os_version{id=\"debian\",id_like=\"\",name=\"Debian GNU/Linux\"} 12\n");
    run_destroy(r);
}

static void field_regexes_are_options(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, "vmstat,netstat");

    option_set_str(r->c.ctx, "vmstat_fields", "");
    option_set_str(r->c.ctx, "netstat_fields", "^Tcp_MaxConn$");
    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_int_equal(count_lines(r, "node_vmstat_"), 11);
    assert_near(value_of(r, "node_vmstat_nr_free_pages"), 4102380);
    assert_int_equal(count_lines(r, "node_netstat_"), 1);
    assert_near(value_of(r, "node_netstat_Tcp_MaxConn"), -1);
    run_destroy(r);
    r = run_create(FIXTURE_PROC, "vmstat");
    option_set_str(r->c.ctx, "netstat_fields", "^(Tcp");
    assert_int_equal(run_init(r), VG_ECONFIG);
    assert_non_null(strstr(r->err.msg, "netstat_fields"));
    run_destroy(r);
}

static void subset_runs_only_named_collectors(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, "loadavg,uname");

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_load1"), 0);
    assert_false(has_text(r, "node_cpu_seconds_total"));
    assert_false(has_text(r, "node_memory_"));
    assert_int_equal(count_lines(r, "node_scrape_collector_success{"), 2);
    run_destroy(r);
}

static void unknown_collector_name_is_an_init_error(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, "cpu,cpuinfo");

    assert_int_equal(run_init(r), VG_ECONFIG);
    assert_non_null(strstr(r->err.msg, "cpuinfo"));
    assert_non_null(strstr(r->err.msg, "collectors"));
    run_destroy(r);
}

static void bad_regex_is_an_init_error(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, NULL);

    option_set_str(r->c.ctx, "disk_exclude_devices", "^(sd[a-z]");
    assert_int_equal(run_init(r), VG_ECONFIG);
    assert_non_null(strstr(r->err.msg, "disk_exclude_devices"));
    assert_non_null(strstr(r->err.msg, "offset 9"));
    run_destroy(r);
}

static void empty_regex_excludes_nothing(void **state)
{
    struct run *r = run_create(FIXTURE_PROC, "diskstats");

    option_set_str(r->c.ctx, "disk_exclude_devices", "");
    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_true(has_text(r, "device=\"loop0\""));
    assert_true(has_text(r, "device=\"vda1\""));
    run_destroy(r);
}

/* Creates (mkdir) or removes (rmdir) the folders in dir/file's path, the
 * outermost first when creating and last when removing. */
static void tmp_tree_parents(const char *dir, const char *file, bool create)
{
    char path[512];
    size_t i, n = 0, cut[8];

    for (i = 0; file[i] != '\0'; i++)
        if (file[i] == '/' && n < 8)
            cut[n++] = i;
    for (i = 0; i < n; i++) {
        size_t k = create ? cut[i] : cut[n - 1 - i];

        snprintf(path, sizeof(path), "%s/%.*s", dir, (int)k, file);
        if (create)
            mkdir(path, 0700);
        else
            rmdir(path);
    }
}

/* A temporary proc tree: files[i] (which may name folders) written with
 * contents[i]. */
static char *tmp_tree(const char *const *files, const char *const *contents, size_t n)
{
    char tmpl[] = "/tmp/vigil-node-XXXXXX";
    char *dir = mkdtemp(tmpl), path[512];
    size_t i;

    assert_non_null(dir);
    for (i = 0; i < n; i++) {
        FILE *f;

        tmp_tree_parents(dir, files[i], true);
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(contents[i], f);
        fclose(f);
    }
    return strdup(dir);
}

static void tmp_tree_remove(char *dir, const char *const *files, size_t n)
{
    char path[512];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
        tmp_tree_parents(dir, files[i], false);
    }
    rmdir(dir);
    free(dir);
}

static void bad_kernel_tables_cost_only_their_families(void **state)
{
    static const char *const files[] = {"vmstat",         "net/sockstat",
                                        "net/netstat",    "net/snmp",
                                        "sys/fs/file-nr", "sys/net/netfilter/nf_conntrack_count",
                                        "net/arp",        "net/softnet_stat"};
    static const char *const contents[] = {
        "pgfault 1\npgmajfault many\n",
        "TCP: inuse\n",
        "TcpExt: A B\nTcpExt: 1\n",
        "Ip: Forwarding\nIp: 1\n",
        "848\t0\t2466126\n",
        "lots\n",
        "IP address HW type Flags HW address Mask Device\n192.0.2.1 eth0\n",
        "00000001 00000000 0000000g\n"};
    char *dir = tmp_tree(files, contents, VG_ARRAY_LEN(files));
    struct run *r = run_collected(dir, "vmstat,sockstat,netstat,filefd,conntrack,arp,softnet");
    static const char *const bad[] = {"vmstat",    "sockstat", "netstat",
                                      "conntrack", "arp",      "softnet"};
    char key[128];
    size_t i;

    /* the collection succeeds: filefd does */
    assert_near(value_of(r, "node_filefd_allocated"), 848);
    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        snprintf(key, sizeof(key), "node_scrape_collector_success{collector=\"%s\"}", bad[i]);
        assert_near(value_of(r, key), 0);
    }
    assert_false(has_text(r, "node_sockstat_"));
    assert_false(has_text(r, "node_nf_conntrack_"));
    assert_false(has_text(r, "node_arp_"));
    run_destroy(r);
    tmp_tree_remove(dir, files, VG_ARRAY_LEN(files));
}

static void missing_conntrack_is_not_an_error(void **state)
{
    static const char *const files[] = {"sys/fs/file-nr"};
    static const char *const contents[] = {"1 0 2\n"};
    char *dir = tmp_tree(files, contents, 1);
    struct run *r = run_collected(dir, "conntrack,filefd");

    assert_false(has_text(r, "node_nf_conntrack"));
    assert_near(value_of(r, "node_filefd_maximum"), 2);
    run_destroy(r);
    tmp_tree_remove(dir, files, 1);
}

static void selinux_modes(void **state)
{
    static const char *const files[] = {"fs/selinux/enforce", "etc/selinux/config"};
    static const char *const contents[] = {"1\n", "# comment\nSELINUX=permissive\n"};
    char *dir = tmp_tree(files, contents, 2);
    struct run *r = run_collected(FIXTURE_PROC, "selinux");

    /* the sysfs fixture has no selinuxfs: disabled, and nothing else */
    assert_excerpt(r, "# HELP node_selinux_enabled SELinux is enabled, 1 is true, 0 is false\n"
                      "# TYPE node_selinux_enabled gauge\n"
                      "node_selinux_enabled 0\n");
    assert_false(has_text(r, "node_selinux_current_mode"));
    run_destroy(r);
    r = run_create(dir, "selinux");
    option_set_str(r->c.ctx, "sys_root", dir);
    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_excerpt(r, "# HELP node_selinux_config_mode Configured SELinux enforcement mode\n"
                      "# TYPE node_selinux_config_mode gauge\n"
                      "node_selinux_config_mode 0\n"
                      "# HELP node_selinux_current_mode Current SELinux enforcement mode\n"
                      "# TYPE node_selinux_current_mode gauge\n"
                      "node_selinux_current_mode 1\n"
                      "# HELP node_selinux_enabled SELinux is enabled, 1 is true, 0 is false\n"
                      "# TYPE node_selinux_enabled gauge\n"
                      "node_selinux_enabled 1\n");
    run_destroy(r);
    tmp_tree_remove(dir, files, 2);
}

static void malformed_source_costs_only_its_families(void **state)
{
    static const char *const files[] = {"loadavg", "meminfo"};
    static const char *const contents[] = {"0.5 oops\n", "MemTotal: 100 kB\n"};
    char *dir = tmp_tree(files, contents, 2);
    struct run *r = run_create(dir, "loadavg,meminfo,pressure");

    assert_int_equal(run_init(r), VG_OK);
    /* loadavg is garbage and pressure is absent: still a collection */
    assert_int_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_memory_MemTotal_bytes"), 102400);
    assert_false(has_text(r, "node_load1 "));
    assert_false(has_text(r, "node_pressure_"));
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"loadavg\"}"), 0);
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"meminfo\"}"), 1);
    run_destroy(r);
    tmp_tree_remove(dir, files, 2);
}

static void every_source_failing_fails_the_collection(void **state)
{
    static const char *const files[] = {"loadavg"};
    static const char *const contents[] = {"garbage\n"};
    char *dir = tmp_tree(files, contents, 1);
    struct run *r = run_create(dir, "loadavg,stat,netdev,pressure");

    assert_int_equal(run_init(r), VG_OK);
    assert_int_not_equal(run_collect(r), VG_OK);
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"stat\"}"), 0);
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"netdev\"}"), 0);
    /* no pressure data is not a success that would hide the rest */
    assert_near(value_of(r, "node_scrape_collector_success{collector=\"pressure\"}"), 0);
    run_destroy(r);
    tmp_tree_remove(dir, files, 1);
}

static void missing_pressure_alone_is_not_an_error(void **state)
{
    static const char *const files[] = {"loadavg"};
    static const char *const contents[] = {"1 2 3 4/5 6\n"};
    char *dir = tmp_tree(files, contents, 1);
    struct run *r = run_create(dir, "pressure");

    assert_int_equal(run_init(r), VG_OK);
    assert_int_equal(run_collect(r), VG_OK);
    assert_false(has_text(r, "node_pressure_"));
    run_destroy(r);
    tmp_tree_remove(dir, files, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stat_reads_cpus_and_totals),
        cmocka_unit_test(stat_old_kernel_has_four_columns),
        cmocka_unit_test(stat_extra_columns_are_ignored),
        cmocka_unit_test(stat_malformed_lines_name_their_line),
        cmocka_unit_test(stat_huge_numbers),
        cmocka_unit_test(stat_truncated_text_keeps_what_it_has),
        cmocka_unit_test(meminfo_name_table),
        cmocka_unit_test(meminfo_scales_kb_and_keeps_counts),
        cmocka_unit_test(meminfo_garbage_names_its_line),
        cmocka_unit_test(loadavg_parses_three_values),
        cmocka_unit_test(loadavg_truncated_or_garbage_fails),
        cmocka_unit_test(mount_octal_escapes_decode),
        cmocka_unit_test(mounts_parse_fields_and_options),
        cmocka_unit_test(mounts_short_line_names_its_line),
        cmocka_unit_test(mount_readonly_options),
        cmocka_unit_test(default_pseudo_fs_exclusion),
        cmocka_unit_test(default_disk_exclusion),
        cmocka_unit_test(netdev_maps_columns_from_header),
        cmocka_unit_test(netdev_extra_and_reordered_columns),
        cmocka_unit_test(netdev_malformed_input_names_its_line),
        cmocka_unit_test(diskstats_old_and_new_kernels),
        cmocka_unit_test(diskstats_malformed_names_its_line),
        cmocka_unit_test(pressure_some_and_full),
        cmocka_unit_test(pressure_malformed_fails),
        cmocka_unit_test(keyvalue_reads_vmstat_and_snmp6),
        cmocka_unit_test(keyvalue_garbage_names_its_line),
        cmocka_unit_test(netstat_pairs_names_and_values),
        cmocka_unit_test(netstat_long_lines_are_read_whole),
        cmocka_unit_test(netstat_malformed_pairs_fail),
        cmocka_unit_test(sockstat_names_protocol_and_state),
        cmocka_unit_test(single_numbers_and_sysfs_integers),
        cmocka_unit_test(conntrack_stat_sums_cpus),
        cmocka_unit_test(softnet_arp_and_udp_queues),
        cmocka_unit_test(udev_and_os_release_values),
        cmocka_unit_test(timex_values_in_base_units),
        cmocka_unit_test(copy_trimmed_strips_newline),
        cmocka_unit_test(fixture_cpu_and_stat),
        cmocka_unit_test(fixture_memory_and_load),
        cmocka_unit_test(fixture_filesystems),
        cmocka_unit_test(fixture_network_disks_pressure),
        cmocka_unit_test(fixture_uname_and_scrape_health),
        cmocka_unit_test(fixture_netclass),
        cmocka_unit_test(fixture_netstat_and_sockstat),
        cmocka_unit_test(fixture_kernel_tables),
        cmocka_unit_test(fixture_disk_info_time_and_os),
        cmocka_unit_test(field_regexes_are_options),
        cmocka_unit_test(bad_kernel_tables_cost_only_their_families),
        cmocka_unit_test(missing_conntrack_is_not_an_error),
        cmocka_unit_test(selinux_modes),
        cmocka_unit_test(subset_runs_only_named_collectors),
        cmocka_unit_test(unknown_collector_name_is_an_init_error),
        cmocka_unit_test(bad_regex_is_an_init_error),
        cmocka_unit_test(empty_regex_excludes_nothing),
        cmocka_unit_test(malformed_source_costs_only_its_families),
        cmocka_unit_test(every_source_failing_fails_the_collection),
        cmocka_unit_test(missing_pressure_alone_is_not_an_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

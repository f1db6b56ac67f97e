/*
 * test_cgroup.c - the cgroup collector: its parsers on strings (normal,
 * "max", garbage, overflow), whole collections over the fixture trees
 * tests/fixtures/cgroup/{v1_cgroupfs,v2_systemd,hybrid} rendered through
 * the metric store and compared with each tree's golden excerpt
 * (<tree>.metrics; VIGIL_UPDATE_GOLDEN=1 rewrites them), and a container
 * that exits between two collections.
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

#include "../../collectors/cgroup/cgroup_parse.h"
#include "../../collectors/cgroup/cgroup_spec.h"
#include "collector_fixture.h"
#include "config.h"
#include "core.h"
#include "meta.h"
#include "metrics.h"
#include "read_file.h"
#include "vigil.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

#define FIXTURES VG_SOURCE_DIR "/tests/fixtures/cgroup"

extern const struct vg_collector_ops vg_collector_cgroup;

#define S(lit) (lit), (sizeof(lit) - 1)

/* ------------------------------------------------------------------------
 * Parsers.
 */

static void single_values_and_limits(void **state)
{
    uint64_t v = 7;

    assert_int_equal(cgroup_parse_u64(S("123\n"), &v), VG_OK);
    assert_int_equal(v, 123);
    assert_int_equal(cgroup_parse_u64(S("18446744073709551615"), &v), VG_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(cgroup_parse_u64(S("18446744073709551616\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_u64(S(""), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_u64(S("\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_u64(S("-5\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_u64(S("12 13\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_u64(S("12\n13\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_u64(S("max\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_u64(S("1\0002\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_limit(S("max\n"), &v), VG_OK);
    assert_int_equal(v, 0);
    v = 7;
    assert_int_equal(cgroup_parse_limit(S("-1\n"), &v), VG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(cgroup_parse_limit(S("536870912\n"), &v), VG_OK);
    assert_int_equal(v, 536870912);
    assert_int_equal(cgroup_parse_limit(S("maximum\n"), &v), VG_EPARSE);
    assert_int_equal(cgroup_parse_limit(S("-2\n"), &v), VG_EPARSE);
}

static void key_value_files(void **state)
{
    struct cgroup_kv keys[] = {
        {"usage_usec", 0, false}, {"nr_throttled", 0, false}, {"absent", 0, false}};

    assert_int_equal(cgroup_parse_kv(S("usage_usec 250\nuser_usec 1\nnr_throttled 3\n"), keys, 3),
                     VG_OK);
    assert_true(keys[0].found && keys[0].value == 250);
    assert_true(keys[1].found && keys[1].value == 3);
    assert_false(keys[2].found);
    /* keys not wanted may hold anything; blank lines are fine */
    assert_int_equal(cgroup_parse_kv(S("\nother x\nusage_usec 9"), keys, 3), VG_OK);
    assert_true(keys[0].found && keys[0].value == 9);
    assert_false(keys[1].found);
    assert_int_equal(cgroup_parse_kv(S("usage_usec twelve\n"), keys, 3), VG_EPARSE);
    assert_int_equal(cgroup_parse_kv(S("usage_usec -1\n"), keys, 3), VG_EPARSE);
    assert_int_equal(cgroup_parse_kv(S("garbage\n"), keys, 3), VG_EPARSE);
    assert_int_equal(cgroup_parse_kv(S("\x01\x02\xff zz\n"), keys, 3), VG_OK);
    assert_false(keys[0].found);
    assert_int_equal(cgroup_parse_kv(S(""), keys, 3), VG_OK);
}

static void cpu_max(void **state)
{
    uint64_t q = 1, p = 1;

    assert_int_equal(cgroup_parse_cpu_max(S("max 100000\n"), &q, &p), VG_OK);
    assert_int_equal(q, 0);
    assert_int_equal(p, 100000);
    assert_int_equal(cgroup_parse_cpu_max(S("50000 100000\n"), &q, &p), VG_OK);
    assert_int_equal(q, 50000);
    assert_int_equal(cgroup_parse_cpu_max(S("50000\n"), &q, &p), VG_EPARSE);
    assert_int_equal(cgroup_parse_cpu_max(S("lots 100000\n"), &q, &p), VG_EPARSE);
    assert_int_equal(cgroup_parse_cpu_max(S("1 2 3\n"), &q, &p), VG_EPARSE);
    assert_int_equal(cgroup_parse_cpu_max(S("max max\n"), &q, &p), VG_EPARSE);
}

static void io_stat_and_blkio(void **state)
{
    struct cgroup_io io;

    assert_int_equal(cgroup_parse_io_stat(S("8:0 rbytes=4096 wbytes=16 rios=1 wios=2 dbytes=0\n"
                                            "259:3 rbytes=1 wbytes=2\n"),
                                          &io),
                     VG_OK);
    assert_int_equal(io.n, 2);
    assert_int_equal(io.dev[0].major, 8);
    assert_int_equal(io.dev[0].rbytes, 4096);
    assert_int_equal(io.dev[0].wbytes, 16);
    assert_int_equal(io.dev[1].major, 259);
    assert_int_equal(io.dev[1].minor, 3);
    assert_int_equal(cgroup_parse_io_stat(S(""), &io), VG_OK);
    assert_int_equal(io.n, 0);
    assert_int_equal(cgroup_parse_io_stat(S("sda rbytes=1\n"), &io), VG_EPARSE);
    assert_int_equal(cgroup_parse_io_stat(S("8:0 rbytes=x\n"), &io), VG_EPARSE);
    assert_int_equal(cgroup_parse_io_stat(S("8:0 rbytes\n"), &io), VG_EPARSE);
    assert_int_equal(cgroup_parse_io_stat(S("8: rbytes=1\n"), &io), VG_EPARSE);

    assert_int_equal(cgroup_parse_blkio(S("8:0 Read 10\n8:0 Write 20\n8:0 Sync 30\n"
                                          "8:16 Read 1\n8:16 Write 2\nTotal 63\n"),
                                        &io),
                     VG_OK);
    assert_int_equal(io.n, 2);
    assert_int_equal(io.dev[0].rbytes, 10);
    assert_int_equal(io.dev[0].wbytes, 20);
    assert_int_equal(io.dev[1].minor, 16);
    assert_int_equal(io.dev[1].wbytes, 2);
    assert_int_equal(cgroup_parse_blkio(S("Total 0\n"), &io), VG_OK);
    assert_int_equal(io.n, 0);
    assert_int_equal(cgroup_parse_blkio(S("8:0 Read\n"), &io), VG_EPARSE);
    assert_int_equal(cgroup_parse_blkio(S("8:0 Read ten\n"), &io), VG_EPARSE);
    assert_int_equal(cgroup_parse_blkio(S("garbage here 1\n"), &io), VG_EPARSE);
}

static void io_devices_past_the_limit_are_left_out(void **state)
{
    struct cgroup_io io;
    char text[4096];
    size_t n = 0;
    unsigned i;

    for (i = 0; i < CGROUP_IO_DEV_MAX + 5; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "8:%u rbytes=%u wbytes=1\n", i, i);
    assert_int_equal(cgroup_parse_io_stat(text, n, &io), VG_OK);
    assert_int_equal(io.n, CGROUP_IO_DEV_MAX);
    assert_int_equal(io.dev[CGROUP_IO_DEV_MAX - 1].rbytes, CGROUP_IO_DEV_MAX - 1);
}

static void pressure(void **state)
{
    struct cgroup_psi psi;

    assert_int_equal(cgroup_parse_pressure(S("some avg10=0.00 avg60=0.00 avg300=0.00 total=15\n"
                                             "full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"),
                                           &psi),
                     VG_OK);
    assert_int_equal(psi.some_us, 15);
    assert_true(psi.has_full);
    assert_int_equal(psi.full_us, 7);
    assert_int_equal(
        cgroup_parse_pressure(S("some avg10=1.00 avg60=0.00 avg300=0.00 total=3\n"), &psi), VG_OK);
    assert_false(psi.has_full);
    assert_int_equal(cgroup_parse_pressure(S("some total=x\n"), &psi), VG_EPARSE);
    assert_int_equal(cgroup_parse_pressure(S("nonsense\n"), &psi), VG_EPARSE);
    assert_int_equal(cgroup_parse_pressure(S(""), &psi), VG_EPARSE);
}

/* ------------------------------------------------------------------------
 * The limits kept between collections.
 */

static void spec_cache_reads_new_cgroups_then_in_turn(void **state)
{
    struct cgroup_spec_cache *c = cgroup_spec_cache_create();
    struct cgroup_spec *s;
    char rel[64];
    bool stale;
    unsigned i, turns = 0;
    uint64_t gen;

    assert_non_null(c);
    s = cgroup_spec_get(c, "/kubepods/pod1", 1, &stale);
    assert_non_null(s);
    assert_true(stale);
    s->have = 1;
    s->v[0] = 50000;
    for (gen = 2; gen < 2 + CGROUP_SPEC_EVERY; gen++) {
        s = cgroup_spec_get(c, "/kubepods/pod1", gen, &stale);
        assert_true(s->have == 1 && s->v[0] == 50000);
        turns += stale;
        cgroup_spec_sweep(c, gen);
    }
    assert_int_equal(turns, 1); /* once in every CGROUP_SPEC_EVERY collections */
    /* many cgroups: all found again; those not seen are forgotten */
    for (i = 0; i < 1000; i++) {
        snprintf(rel, sizeof(rel), "/docker/%u", i);
        s = cgroup_spec_get(c, rel, gen, &stale);
        assert_true(stale);
        s->v[1] = i;
    }
    cgroup_spec_sweep(c, gen);
    assert_int_equal(cgroup_spec_count(c), 1000); /* pod1 was not got in gen */
    gen++;
    for (i = 0; i < 1000; i += 2) {
        snprintf(rel, sizeof(rel), "/docker/%u", i);
        s = cgroup_spec_get(c, rel, gen, &stale);
        assert_true(s->v[1] == i);
    }
    cgroup_spec_sweep(c, gen);
    assert_int_equal(cgroup_spec_count(c), 500);
    for (i = 0; i < 1000; i += 2) {
        snprintf(rel, sizeof(rel), "/docker/%u", i);
        assert_true(cgroup_spec_get(c, rel, gen, &stale)->v[1] == i);
    }
    snprintf(rel, sizeof(rel), "/docker/%u", 1);
    assert_true(cgroup_spec_get(c, rel, gen, &stale)->v[1] == 0);
    assert_true(stale);
    cgroup_spec_cache_destroy(c);
}

/* ------------------------------------------------------------------------
 * Whole collections.
 */

static struct collector_run *run_create(const char *root)
{
    return collector_run_create(&vg_collector_cgroup, "cgroup", "root", root);
}

/* The lines of the exposition about the collector's own families. */
static char *excerpt(const char *text)
{
    size_t n = strlen(text), len = 0;
    char *out = malloc(n + 1);
    const char *p = text;

    assert_non_null(out);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t ln = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
        const char *name = strncmp(p, "# ", 2) == 0 ? p + 7 : p; /* "# HELP " / "# TYPE " */

        if (strncmp(name, "container_", 10) == 0 || strncmp(name, "vigil_cgroup_", 13) == 0) {
            memcpy(out + len, p, ln);
            len += ln;
        }
        p += ln;
    }
    out[len] = '\0';
    return out;
}

/* Cuts the vigil_cgroup_read_errors_total sample line out of text. */
static void drop_errors_line(char *text)
{
    char *p = strstr(text, "\nvigil_cgroup_read_errors_total ");
    char *end;

    if (p == NULL)
        return;
    p++;
    end = strchr(p, '\n');
    end = end != NULL ? end + 1 : p + strlen(p);
    memmove(p, end, strlen(end) + 1);
}

/* Compares the excerpt of a collection over tree with tree.metrics. */
static void check_golden(const char *tree)
{
    char root[512], golden[512];
    struct collector_run *r;
    char *got, *want;
    int i;

    snprintf(root, sizeof(root), "%s/%s", FIXTURES, tree);
    snprintf(golden, sizeof(golden), "%s/%s.metrics", FIXTURES, tree);
    r = run_create(root);
    assert_int_equal(collector_run_collect(r), VG_OK);
    got = excerpt(r->text);
    if (getenv("VIGIL_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(golden, "w");

        assert_non_null(f);
        fputs(got, f);
        fclose(f);
    }
    want = test_read_file(golden, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("%s differs from the collection:\n%s", golden, got);
    /* later collections give the same series, the limits kept or read
     * again in turn; only the count of read errors grows */
    for (i = 0; i < CGROUP_SPEC_EVERY + 2; i++) {
        char *again;

        assert_int_equal(collector_run_collect(r), VG_OK);
        again = excerpt(r->text);
        drop_errors_line(again);
        drop_errors_line(got);
        if (strcmp(got, again) != 0)
            fail_msg("collection %d of %s differs:\n%s", i + 2, tree, again);
        free(again);
    }
    free(got);
    free(want);
    collector_run_destroy(r);
}

/* What the container log collector would have shared about two containers. */
static void put_meta(void)
{
    struct vg_meta m;

    vg_meta_reset();
    memset(&m, 0, sizeof(m));
    snprintf(m.namespace_, sizeof(m.namespace_), "shop");
    snprintf(m.pod, sizeof(m.pod), "cart-7d4b9c");
    snprintf(m.container, sizeof(m.container), "cart");
    snprintf(m.image, sizeof(m.image), "registry.example/cart:1.4");
    vg_meta_put("b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", &m);
    snprintf(m.container, sizeof(m.container), "sidecar");
    snprintf(m.image, sizeof(m.image), "registry.example/envoy:1.30");
    vg_meta_put("d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4", &m);
}

static void fixture_v1_cgroupfs(void **state)
{
    put_meta();
    check_golden("v1_cgroupfs");
}

static void fixture_v2_systemd(void **state)
{
    put_meta();
    check_golden("v2_systemd");
}

static void fixture_hybrid(void **state)
{
    put_meta();
    check_golden("hybrid");
}

static void no_cgroup_filesystem_fails_the_collection(void **state)
{
    struct collector_run *r = run_create(FIXTURES "/does-not-exist");

    assert_int_not_equal(collector_run_collect(r), VG_OK);
    assert_non_null(strstr(r->text, "vigil_cgroup_read_errors_total 0\n"));
    assert_null(strstr(r->text, "container_cpu"));
    collector_run_destroy(r);
}

/* ------------------------------------------------------------------------
 * A container that exits.
 */

static void rm_tree_files(const char *dir, const char *const *names, size_t n)
{
    char path[1024];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void an_exited_container_leaves_metrics(void **state)
{
    static const char *const files[] = {"cpu.stat", "memory.current"};
    char root[] = "/tmp/vigil-test-cgroup-XXXXXX", pod[256], ctr[512], dot[512];
    struct collector_run *r;

    assert_non_null(mkdtemp(root));
    test_write_file(root, "cgroup.controllers", "cpu memory\n");
    snprintf(dot, sizeof(dot), "%s/kubepods", root);
    assert_int_equal(mkdir(dot, 0755), 0);
    snprintf(pod, sizeof(pod), "%s/kubepods/pod11111111-2222-4333-8444-555555555555", root);
    assert_int_equal(mkdir(pod, 0755), 0);
    snprintf(ctr, sizeof(ctr), "%s/%s", pod,
             "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5");
    assert_int_equal(mkdir(ctr, 0755), 0);
    test_write_file(ctr, "cpu.stat", "usage_usec 3000000\n");
    test_write_file(ctr, "memory.current", "4096\n");
    vg_meta_reset();
    r = run_create(root);
    assert_int_equal(collector_run_collect(r), VG_OK);
    assert_non_null(strstr(r->text, "container_cpu_usage_seconds_total{container=\"\",id=\"/"
                                    "kubepods/pod11111111-2222-4333-8444-555555555555/e5e5"));
    assert_non_null(strstr(r->text, "container_memory_usage_bytes{"));
    /* the container goes away: its series leave at the next collection */
    rm_tree_files(ctr, files, VG_ARRAY_LEN(files));
    assert_int_equal(collector_run_collect(r), VG_OK);
    assert_null(strstr(r->text, "e5e5e5e5"));
    /* a file that vanishes mid-collection is counted, not fatal */
    assert_int_equal(mkdir(ctr, 0755), 0);
    test_write_file(ctr, "cpu.stat", "usage_usec 3000000\n");
    assert_int_equal(collector_run_collect(r), VG_OK);
    assert_non_null(
        strstr(r->text, "container_cpu_usage_seconds_total{container=\"\",id=\"/kubepods"));
    assert_null(strstr(r->text, "container_memory_usage_bytes{container=\"\",id=\"/kubepods/pod"
                                "11111111-2222-4333-8444-555555555555/"));
    assert_null(strstr(r->text, "vigil_cgroup_read_errors_total 0\n"));
    collector_run_destroy(r);
    rm_tree_files(ctr, files, VG_ARRAY_LEN(files));
    rmdir(pod);
    rmdir(dot);
    rm_tree_files(root, (const char *const[]){"cgroup.controllers"}, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_values_and_limits),
        cmocka_unit_test(key_value_files),
        cmocka_unit_test(cpu_max),
        cmocka_unit_test(io_stat_and_blkio),
        cmocka_unit_test(io_devices_past_the_limit_are_left_out),
        cmocka_unit_test(pressure),
        cmocka_unit_test(spec_cache_reads_new_cgroups_then_in_turn),
        cmocka_unit_test(fixture_v1_cgroupfs),
        cmocka_unit_test(fixture_v2_systemd),
        cmocka_unit_test(fixture_hybrid),
        cmocka_unit_test(no_cgroup_filesystem_fails_the_collection),
        cmocka_unit_test(an_exited_container_leaves_metrics),
    };

    vg_log_setup(VG_LOG_ERROR, false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

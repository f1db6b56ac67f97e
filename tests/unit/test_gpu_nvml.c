/*
 * test_gpu_nvml.c - the pure parts of the gpu_nvml collector: the naming
 * table under both namings, the throttle reason bits, the CUDA version
 * text, processes grouped by container (with a stub and over the fixture
 * tree tests/fixtures/gpu_nvml/proc), and a library that cannot be loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../collectors/gpu_nvml/gpu_nvml_emit.h"
#include "../../collectors/gpu_nvml/gpu_nvml_parse.h"
#include "../../collectors/gpu_nvml/gpu_nvml_read.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void prometheus_names_use_base_units(void **state)
{
    unsigned f;

    (void)state;
    for (f = 0; f < GN_F_COUNT; f++) {
        const struct gn_name *nm = gn_field_name((enum gn_field)f, GN_NAMING_PROMETHEUS);

        assert_non_null(nm);
        if (f == GN_F_THROTTLE) {
            assert_null(nm->family); /* one series per reason instead */
            continue;
        }
        assert_non_null(nm->family);
        assert_true(strncmp(nm->family, "gpu_", 4) == 0);
        assert_non_null(nm->help);
        assert_int_equal(ends_with(nm->family, "_total"), nm->type == VG_METRIC_COUNTER);
        assert_false(ends_with(nm->family, "_percent") || ends_with(nm->family, "_mib"));
    }
    assert_true(gn_field_name(GN_F_UTIL_GPU, GN_NAMING_PROMETHEUS)->scale == 0.01);
    assert_true(gn_field_name(GN_F_POWER, GN_NAMING_PROMETHEUS)->scale == 0.001);
    assert_true(gn_field_name(GN_F_ENERGY, GN_NAMING_PROMETHEUS)->scale == 0.001);
    assert_true(gn_field_name(GN_F_CLOCK_SM, GN_NAMING_PROMETHEUS)->scale == 1e6);
    assert_true(gn_field_name(GN_F_PCIE_TX, GN_NAMING_PROMETHEUS)->scale == 1024);
    assert_string_equal(gn_field_name(GN_F_ECC_UNCORR, GN_NAMING_PROMETHEUS)->label_value,
                        "uncorrected");
    assert_null(gn_field_name(GN_F_COUNT, GN_NAMING_PROMETHEUS));
}

static void dcgm_names_and_units(void **state)
{
    unsigned f;

    (void)state;
    for (f = 0; f < GN_F_COUNT; f++) {
        const struct gn_name *nm = gn_field_name((enum gn_field)f, GN_NAMING_DCGM);

        if (f == GN_F_XID_TOTAL) {
            assert_null(nm->family); /* dcgm-exporter shows the last Xid only */
            continue;
        }
        assert_non_null(nm->family);
        assert_true(strncmp(nm->family, "DCGM_FI_DEV_", 12) == 0);
        assert_null(nm->label_name); /* dcgm-exporter has one family per field */
    }
    assert_string_equal(gn_field_name(GN_F_UTIL_GPU, GN_NAMING_DCGM)->family,
                        "DCGM_FI_DEV_GPU_UTIL");
    assert_string_equal(gn_field_name(GN_F_UTIL_MEM, GN_NAMING_DCGM)->family,
                        "DCGM_FI_DEV_MEM_COPY_UTIL");
    assert_true(gn_field_name(GN_F_UTIL_GPU, GN_NAMING_DCGM)->scale == 1); /* percent */
    /* 10 GiB in bytes is 10240 MiB */
    assert_true(10737418240.0 * gn_field_name(GN_F_MEM_USED, GN_NAMING_DCGM)->scale == 10240.0);
    assert_true(gn_field_name(GN_F_ENERGY, GN_NAMING_DCGM)->scale == 1); /* mJ */
    assert_int_equal(gn_field_name(GN_F_ENERGY, GN_NAMING_DCGM)->type, VG_METRIC_COUNTER);
    assert_true(gn_field_name(GN_F_CLOCK_MEM, GN_NAMING_DCGM)->scale == 1); /* MHz */
    assert_string_equal(gn_field_name(GN_F_XID_LAST, GN_NAMING_DCGM)->family,
                        "DCGM_FI_DEV_XID_ERRORS");
}

static void throttle_reasons_are_distinct_bits(void **state)
{
    uint64_t seen = 0;
    size_t i;

    (void)state;
    assert_int_equal(gn_n_reasons, 9);
    for (i = 0; i < gn_n_reasons; i++) {
        uint64_t b = gn_reasons[i].bit;

        assert_true(b != 0 && (b & (b - 1)) == 0);
        assert_true((seen & b) == 0);
        seen |= b;
        assert_null(strpbrk(gn_reasons[i].name, " -ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    }
    assert_string_equal(gn_reasons[0].name, "gpu_idle");
    assert_int_equal(seen, 0x1ff);
}

static void cuda_version_text(void **state)
{
    char buf[16];

    (void)state;
    gn_cuda_text(12040, buf, sizeof(buf));
    assert_string_equal(buf, "12.4");
    gn_cuda_text(11080, buf, sizeof(buf));
    assert_string_equal(buf, "11.8");
    gn_cuda_text(12000, buf, sizeof(buf));
    assert_string_equal(buf, "12.0");
    gn_cuda_text(0, buf, sizeof(buf));
    assert_string_equal(buf, "");
    gn_cuda_text(-1, buf, sizeof(buf));
    assert_string_equal(buf, "");
}

/* pid / 10 is the container ("c1", "c2"); pid 0 to 9 are in none. */
static bool stub_container_of(void *arg, uint32_t pid, char *id, size_t size)
{
    (void)arg;
    if (pid < 10)
        return false;
    snprintf(id, size, "c%u", pid / 10);
    return true;
}

static void processes_grouped_by_container(void **state)
{
    const struct gn_proc procs[] = {{11, 100}, {5, 7}, {12, 50}, {21, 1000}, {13, 0}};
    struct gn_container out[4];
    size_t others = 99;
    size_t n;

    (void)state;
    n = gn_group_procs(procs, 5, stub_container_of, NULL, out, 4, &others);
    assert_int_equal(n, 2);
    assert_int_equal(others, 1);
    assert_string_equal(out[0].id, "c1");
    assert_int_equal(out[0].used, 150);
    assert_string_equal(out[1].id, "c2");
    assert_int_equal(out[1].used, 1000);
    /* no room for a second container: its processes count as others */
    n = gn_group_procs(procs, 5, stub_container_of, NULL, out, 1, &others);
    assert_int_equal(n, 1);
    assert_int_equal(others, 2);
    n = gn_group_procs(procs, 0, stub_container_of, NULL, out, 4, &others);
    assert_int_equal(n, 0);
    assert_int_equal(others, 0);
}

static void processes_of_the_fixture_tree(void **state)
{
    const struct gn_proc procs[] = {{4242, 1}, {5151, 2}, {5252, 4}, {6000, 8}, {777, 16}};
    struct gn_container out[8];
    size_t others = 0;
    size_t n;

    (void)state;
    n = gn_group_procs(procs, 5, gn_container_of,
                       (void *)(VG_SOURCE_DIR "/tests/fixtures/gpu_nvml/proc"), out, 8, &others);
    assert_int_equal(n, 3);
    assert_int_equal(others, 2); /* 6000: a host service; 777: no such process */
    assert_string_equal(out[0].id,
                        "aaaa000000000000000000000000000000000000000000000000000000000001");
    assert_string_equal(out[1].id,
                        "bbbb000000000000000000000000000000000000000000000000000000000002");
    assert_int_equal(out[2].used, 4);
}

static void a_missing_library_says_why(void **state)
{
    static struct gn_lib lib;
    char why[512];

    (void)state;
    assert_int_equal(gn_lib_open(&lib, "/nonexistent/libnvidia-ml.so.1", why, sizeof(why)),
                     VG_ENOENT);
    assert_non_null(strstr(why, "cannot load /nonexistent/libnvidia-ml.so.1"));
    assert_null(lib.dl);
    assert_false(lib.up);
    gn_lib_close(&lib); /* closing a closed library is fine */
    /* a library that is not NVML */
    assert_int_equal(gn_lib_open(&lib, "libc.so.6", why, sizeof(why)), VG_ENOENT);
    assert_non_null(strstr(why, "has no nvmlInit_v2"));
    assert_null(lib.dl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prometheus_names_use_base_units),
        cmocka_unit_test(dcgm_names_and_units),
        cmocka_unit_test(throttle_reasons_are_distinct_bits),
        cmocka_unit_test(cuda_version_text),
        cmocka_unit_test(processes_grouped_by_container),
        cmocka_unit_test(processes_of_the_fixture_tree),
        cmocka_unit_test(a_missing_library_says_why),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_gpu_amd.c - the gpu_amd collector: its sysfs value parsers on
 * strings (normal, garbage, empty, overflow, out of range), a collection
 * over the fixture tree tests/fixtures/sysfs_amd (an MI250X-like card, an
 * RX-like card, a card of garbage files, an Intel card, connectors)
 * rendered through the metric store and compared with the golden
 * tests/fixtures/sysfs_amd.metrics (VIGIL_UPDATE_GOLDEN=1 rewrites it),
 * the bus ids shared through the core, a missing drm folder, a GPU that
 * leaves sysfs between two collections, and files no sysfs would hold (a
 * page of digits, a FIFO, /dev/zero).
 */
#include <fcntl.h>
#include <ftw.h>
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

#include "../../collectors/gpu_amd/gpu_amd_parse.h"
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

#define FIXTURE VG_SOURCE_DIR "/tests/fixtures/sysfs_amd"
#define GOLDEN  VG_SOURCE_DIR "/tests/fixtures/sysfs_amd.metrics"

extern const struct vg_collector_ops vg_collector_gpu_amd;

#define S(lit) (lit), (sizeof(lit) - 1)

/* ------------------------------------------------------------------------
 * Parsers.
 */

static void whole_numbers(void **state)
{
    const char *why = NULL;
    uint64_t v = 7;

    assert_int_equal(ga_parse_u64(S("87\n"), 100, &v, &why), VG_OK);
    assert_int_equal(v, 87);
    assert_int_equal(ga_parse_u64(S("0"), 100, &v, &why), VG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(ga_parse_u64(S("18446744073709551615\n"), UINT64_MAX, &v, &why), VG_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(ga_parse_u64(S("101\n"), 100, &v, &why), VG_EPARSE);
    assert_string_equal(why, "out of range");
    assert_int_equal(ga_parse_u64(S("99999999999999999999999\n"), UINT64_MAX, &v, &why), VG_EPARSE);
    assert_string_equal(why, "too large (2^64 or more)");
    assert_int_equal(ga_parse_u64(S(""), 100, &v, &why), VG_EPARSE);
    assert_string_equal(why, "empty");
    assert_int_equal(ga_parse_u64(S("\n"), 100, &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_u64(S("-1\n"), 100, &v, &why), VG_EPARSE);
    assert_string_equal(why, "not a whole number");
    assert_int_equal(ga_parse_u64(S("12x\n"), 100, &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_u64(S(" 12\n"), 100, &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_u64(S("1\0002"), 100, &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_u64(S("1.5\n"), 100, &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_u64(S("12 13\n"), 100, &v, &why), VG_EPARSE);
    assert_true(v == UINT64_MAX); /* untouched by the failures */
}

static void hex_ids(void **state)
{
    const char *why = NULL;
    unsigned id = 0;

    assert_int_equal(ga_parse_hex_id(S("0x1002\n"), &id, &why), VG_OK);
    assert_int_equal(id, 0x1002);
    assert_int_equal(ga_parse_hex_id(S("0x740C"), &id, &why), VG_OK);
    assert_int_equal(id, 0x740c);
    assert_int_equal(ga_parse_hex_id(S("0x74zz\n"), &id, &why), VG_EPARSE);
    assert_int_equal(ga_parse_hex_id(S("1002\n"), &id, &why), VG_EPARSE);
    assert_int_equal(ga_parse_hex_id(S("0x\n"), &id, &why), VG_EPARSE);
    assert_int_equal(ga_parse_hex_id(S("0x10020\n"), &id, &why), VG_EPARSE);
    assert_int_equal(ga_parse_hex_id(S(""), &id, &why), VG_EPARSE);
}

static void link_speeds(void **state)
{
    const char *why = NULL;
    double v = 0;

    assert_int_equal(ga_parse_link_speed(S("16.0 GT/s PCIe\n"), &v, &why), VG_OK);
    assert_true(v == 16e9);
    assert_int_equal(ga_parse_link_speed(S("2.5 GT/s PCIe\n"), &v, &why), VG_OK);
    assert_true(v == 2.5e9);
    assert_int_equal(ga_parse_link_speed(S("8 GT/s"), &v, &why), VG_OK);
    assert_true(v == 8e9);
    assert_int_equal(ga_parse_link_speed(S("Unknown speed\n"), &v, &why), VG_ENOENT);
    assert_int_equal(ga_parse_link_speed(S("Unknown\n"), &v, &why), VG_ENOENT);
    assert_int_equal(ga_parse_link_speed(S("fast\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S("16.0\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S("16.0 GT/s PCIe extra\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S("1.2.3 GT/s\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S(".5 GT/s\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S("0 GT/s\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S("999999 GT/s\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S("1234567890123456789 GT/s\n"), &v, &why), VG_EPARSE);
    assert_int_equal(ga_parse_link_speed(S(""), &v, &why), VG_EPARSE);
}

static void label_texts(void **state)
{
    const char *why = NULL;
    char out[16];

    assert_int_equal(ga_parse_text(S("MI250X  \n"), out, sizeof(out), &why), VG_OK);
    assert_string_equal(out, "MI250X");
    assert_int_equal(ga_parse_text(S("\x01\x02\n"), out, sizeof(out), &why), VG_EPARSE);
    assert_string_equal(why, "not printable text");
    assert_int_equal(ga_parse_text(S("caf\xc3\xa9\n"), out, sizeof(out), &why), VG_EPARSE);
    assert_int_equal(ga_parse_text(S("\n"), out, sizeof(out), &why), VG_EPARSE);
    assert_string_equal(why, "empty");
    assert_int_equal(ga_parse_text(S("0123456789abcdef\n"), out, sizeof(out), &why), VG_EPARSE);
    assert_string_equal(why, "too long for a label");
    assert_int_equal(ga_parse_text(S("0123456789abcde\n"), out, sizeof(out), &why), VG_OK);
}

static void names_and_slots(void **state)
{
    char bus[GA_BUS_MAX];

    assert_int_equal(ga_temp_field(S("edge\n")), GA_F_TEMP_EDGE);
    assert_int_equal(ga_temp_field(S("junction\n")), GA_F_TEMP_JUNCTION);
    assert_int_equal(ga_temp_field(S("mem")), GA_F_TEMP_MEM);
    assert_int_equal(ga_temp_field(S("vddgfx\n")), GA_F_COUNT);
    assert_int_equal(ga_temp_field(S("")), GA_F_COUNT);
    assert_true(ga_card_name("card0"));
    assert_true(ga_card_name("card12"));
    assert_false(ga_card_name("card0-DP-1"));
    assert_false(ga_card_name("card"));
    assert_false(ga_card_name("renderD128"));
    assert_false(ga_card_name("version"));
    assert_false(ga_card_name("card123456789"));
    assert_int_equal(
        ga_parse_uevent_slot(S("DRIVER=amdgpu\nPCI_SLOT_NAME=0000:03:00.0\n"), bus, sizeof(bus)),
        VG_OK);
    assert_string_equal(bus, "0000:03:00.0");
    assert_int_equal(ga_parse_uevent_slot(S("PCI_SLOT_NAME=0000:44:00.0"), bus, sizeof(bus)),
                     VG_OK);
    assert_string_equal(bus, "0000:44:00.0");
    assert_int_equal(ga_parse_uevent_slot(S("DRIVER=amdgpu\n"), bus, sizeof(bus)), VG_ENOENT);
    assert_int_equal(ga_parse_uevent_slot(S("PCI_SLOT_NAME=\n"), bus, sizeof(bus)), VG_ENOENT);
    assert_int_equal(ga_parse_uevent_slot(S("PCI_SLOT_NAME=0000:44:00.0"), bus, 8), VG_EPARSE);
}

static void order_by_bus_id(void **state)
{
    struct ga_snapshot *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    s->n_gpus = 4;
    snprintf(s->gpus[0].bus_id, GA_BUS_MAX, "0000:44:00.0");
    snprintf(s->gpus[1].card, 16, "card10");
    snprintf(s->gpus[2].card, 16, "card9");
    snprintf(s->gpus[3].bus_id, GA_BUS_MAX, "0000:03:00.0");
    ga_order(s);
    assert_string_equal(s->gpus[0].bus_id, "0000:03:00.0");
    assert_string_equal(s->gpus[1].bus_id, "0000:44:00.0");
    assert_string_equal(s->gpus[2].card, "card9");
    assert_string_equal(s->gpus[3].card, "card10");
    assert_int_equal(s->gpus[3].index, 3);
    free(s);
}

/* ------------------------------------------------------------------------
 * Collections.
 */

static struct collector_run *run_create(const char *root)
{
    struct collector_run *r =
        collector_run_create(&vg_collector_gpu_amd, "gpu_amd", "sysfs_root", root);

    r->c.node_name = "node-1";
    return r;
}

static void fixture_matches_golden(void **state)
{
    struct collector_run *r = run_create(FIXTURE);
    char *want, *first;

    assert_int_equal(collector_run_collect(r), VG_OK);
    if (getenv("VIGIL_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(GOLDEN, "w");

        assert_non_null(f);
        fputs(r->text, f);
        fclose(f);
    }
    want = test_read_file(GOLDEN, NULL);
    if (strcmp(r->text, want) != 0)
        fail_msg("%s differs from the collection:\n%s", GOLDEN, r->text);
    /* the next collection gives the same */
    first = strdup(r->text);
    assert_non_null(first);
    assert_int_equal(collector_run_collect(r), VG_OK);
    assert_string_equal(r->text, first);
    free(first);
    free(want);
    collector_run_destroy(r);
}

static void bus_ids_reach_the_core(void **state)
{
    struct collector_run *r = run_create(FIXTURE);
    char uuid[64];
    int index = -1;

    vg_meta_reset();
    assert_int_equal(collector_run_collect(r), VG_OK);
    assert_true(vg_gpu_get("0000:03:00", &index, uuid, sizeof(uuid)));
    assert_int_equal(index, 0);
    assert_string_equal(uuid, "a1b2c3d4e5f60718");
    assert_true(vg_gpu_get("PCI:0000:0c:00", &index, uuid, sizeof(uuid)));
    assert_int_equal(index, 1);
    assert_string_equal(uuid, "");
    assert_true(vg_gpu_get("0000:44:00.0", &index, uuid, sizeof(uuid)));
    assert_int_equal(index, 2);
    assert_false(vg_gpu_get("0000:00:02.0", &index, uuid, sizeof(uuid))); /* the Intel card */
    vg_meta_reset();
    collector_run_destroy(r);
}

static void missing_drm_folder(void **state)
{
    struct collector_run *r = run_create("/nonexistent/vigil-gpu-amd");
    int i;

    for (i = 0; i < 3; i++) {
        assert_int_equal(collector_run_collect(r), VG_OK);
        assert_non_null(strstr(r->text, "vigil_gpu_backend_up{backend=\"amdgpu\"} 0\n"));
        assert_null(strstr(r->text, "gpu_up"));
    }
    collector_run_destroy(r);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Removes a tree one_card_tree made, and frees its name. */
static void remove_tree(char *dir)
{
    assert_int_equal(strncmp(dir, "/tmp/vigil-gpu-amd-", 19), 0);
    assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

/* A tree of one card whose device is a folder (no link: the bus id comes
 * from its uevent). */
static char *one_card_tree(void)
{
    char tmpl[] = "/tmp/vigil-gpu-amd-XXXXXX";
    char path[512];
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    snprintf(path, sizeof(path), "%s/class/drm/card0/device", d);
    assert_int_equal(vg_mkdirs(path), VG_OK);
    test_write_file(path, "vendor", "0x1002\n");
    test_write_file(path, "gpu_busy_percent", "50\n");
    test_write_file(path, "unique_id", "ffee\n");
    test_write_file(path, "product_name", "Test GPU\n");
    test_write_file(path, "uevent", "DRIVER=amdgpu\nPCI_SLOT_NAME=0000:c1:00.0\n");
    return strdup(d);
}

static void a_gpu_gone_from_sysfs_stays_down(void **state)
{
    char *dir = one_card_tree();
    char from[512], to[512];
    struct collector_run *r = run_create(dir);
    const char *labels = "{gpu=\"0\",name=\"Test GPU\",node=\"node-1\",pci_bus_id=\"0000:c1:00.0\","
                         "uuid=\"ffee\"}";
    char want[512];

    assert_int_equal(collector_run_collect(r), VG_OK);
    snprintf(want, sizeof(want), "gpu_up%s 1\n", labels);
    assert_non_null(strstr(r->text, want));
    snprintf(want, sizeof(want), "gpu_utilization_ratio%s 0.5\n", labels);
    assert_non_null(strstr(r->text, want));
    snprintf(from, sizeof(from), "%s/class/drm/card0", dir);
    snprintf(to, sizeof(to), "%s/card0.gone", dir);
    assert_int_equal(rename(from, to), 0);
    assert_int_equal(collector_run_collect(r), VG_OK);
    snprintf(want, sizeof(want), "gpu_up%s 0\n", labels);
    assert_non_null(strstr(r->text, want));
    assert_null(strstr(r->text, "gpu_utilization_ratio"));
    assert_non_null(strstr(r->text, "vigil_gpu_backend_up{backend=\"amdgpu\"} 0\n"));
    /* back again */
    assert_int_equal(rename(to, from), 0);
    assert_int_equal(collector_run_collect(r), VG_OK);
    snprintf(want, sizeof(want), "gpu_up%s 1\n", labels);
    assert_non_null(strstr(r->text, want));
    collector_run_destroy(r);
    remove_tree(dir);
}

/* A page-sized file, a FIFO with no writer and an endless device: each
 * value is dropped, nothing waits, the rest is served. */
static void hostile_files_are_dropped(void **state)
{
    char *dir = one_card_tree();
    char dev[512], path[600], big[6000];
    struct collector_run *r;

    snprintf(dev, sizeof(dev), "%s/class/drm/card0/device", dir);
    memset(big, '7', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    test_write_file(dev, "mem_info_vram_used", big);
    test_write_file(dev, "mem_info_vram_total", "1000\n");
    snprintf(path, sizeof(path), "%s/mem_busy_percent", dev);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/current_link_width", dev);
    assert_int_equal(symlink("/dev/zero", path), 0);
    r = run_create(dir);
    assert_int_equal(collector_run_collect(r), VG_OK);
    assert_non_null(strstr(r->text, "gpu_utilization_ratio{"));
    assert_non_null(strstr(r->text, "gpu_memory_total_bytes{"));
    assert_null(strstr(r->text, "gpu_memory_used_bytes"));
    assert_null(strstr(r->text, "gpu_memory_free_bytes"));
    assert_null(strstr(r->text, "gpu_memory_utilization_ratio"));
    assert_null(strstr(r->text, "gpu_pcie_link_width"));
    collector_run_destroy(r);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_numbers),
        cmocka_unit_test(hex_ids),
        cmocka_unit_test(link_speeds),
        cmocka_unit_test(label_texts),
        cmocka_unit_test(names_and_slots),
        cmocka_unit_test(order_by_bus_id),
        cmocka_unit_test(fixture_matches_golden),
        cmocka_unit_test(bus_ids_reach_the_core),
        cmocka_unit_test(missing_drm_folder),
        cmocka_unit_test(a_gpu_gone_from_sysfs_stays_down),
        cmocka_unit_test(hostile_files_are_dropped),
    };

    vg_log_setup(VG_LOG_ERROR, false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_container_logs.c - the pure parts of the container_logs collector:
 * Kubernetes and Docker metadata from paths, fingerprints, source ids and
 * checkpoint lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../collectors/container_logs/container_logs_parse.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

#define ID64 "4f1c2a9b8e7d6c5b4a392817f6e5d4c3b2a19087f6e5d4c3b2a19087f6e5d4c3"

static void test_link_name(void **state)
{
    struct clog_meta m;

    (void)state;
    clog_meta_init(&m);
    assert_true(clog_meta_from_container_link(
        "/var/log/containers/web-7d9f8-abcde_shop_nginx-" ID64 ".log", &m));
    assert_string_equal(m.pod, "web-7d9f8-abcde");
    assert_string_equal(m.namespace_, "shop");
    assert_string_equal(m.container, "nginx");
    assert_string_equal(m.container_id, ID64);
    assert_int_equal(m.restart_count, -1);
}

static void test_link_name_with_dashes_in_container(void **state)
{
    struct clog_meta m;

    (void)state;
    clog_meta_init(&m);
    assert_true(clog_meta_from_container_link("coredns-5d78c9869d-x2x9k_kube-system_core-dns-"
                                              "sidecar-" ID64 ".log",
                                              &m));
    assert_string_equal(m.namespace_, "kube-system");
    assert_string_equal(m.container, "core-dns-sidecar");
}

static void test_link_name_rejects(void **state)
{
    static const char *const bad[] = {
        "/var/log/containers/app.log",
        "/var/log/containers/pod_ns_c-123.log",       /* id too short */
        "/var/log/containers/pod_ns-" ID64 ".log",    /* one underscore */
        "/var/log/containers/_ns_c-" ID64 ".log",     /* empty pod */
        "/var/log/containers/pod__c-" ID64 ".log",    /* empty namespace */
        "/var/log/containers/pod_ns_-" ID64 ".log",   /* empty container */
        "/var/log/containers/pod_ns_c-" ID64 ".txt",  /* not .log */
        "/var/log/containers/pod_ns_c-" ID64 "X.log", /* not hex */
        "/var/log/containers/"
        "pod_ns_c-4F1C2A9B8E7D6C5B4A392817F6E5D4C3B2A19087F6E5D4C3B2A19087F6E5D4C3.log",
        "",
    };
    struct clog_meta m;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clog_meta_init(&m);
        if (clog_meta_from_container_link(bad[i], &m))
            fail_msg("accepted %s", bad[i]);
        assert_string_equal(m.pod, "");
    }
}

static void test_pod_file(void **state)
{
    struct clog_meta m;

    (void)state;
    clog_meta_init(&m);
    assert_true(clog_meta_from_pod_file(
        "/var/log/pods/shop_web-7d9f8-abcde_0b7c6a1e-2f3d-4c5b-8a9e-1f2d3c4b5a69/nginx/3.log", &m));
    assert_string_equal(m.namespace_, "shop");
    assert_string_equal(m.pod, "web-7d9f8-abcde");
    assert_string_equal(m.pod_uid, "0b7c6a1e-2f3d-4c5b-8a9e-1f2d3c4b5a69");
    assert_string_equal(m.container, "nginx");
    assert_int_equal(m.restart_count, 3);
    /* kubelet's rotated names, plain and compressed */
    clog_meta_init(&m);
    assert_true(
        clog_meta_from_pod_file("/var/log/pods/shop_web_uid-1/nginx/2.log.20261125-101010", &m));
    assert_int_equal(m.restart_count, 2);
    assert_string_equal(m.pod_uid, "uid-1");
    clog_meta_init(&m);
    assert_true(
        clog_meta_from_pod_file("/var/log/pods/shop_web_uid-1/nginx/0.log.20261125-101010.gz", &m));
    assert_int_equal(m.restart_count, 0);
}

static void test_pod_file_rejects(void **state)
{
    static const char *const bad[] = {
        "/var/log/pods/shop_web_uid/nginx/x.log",
        "/var/log/pods/shop_web_uid/nginx/3.log.",  /* nothing after the dot */
        "/var/log/pods/shop_web_uid/nginx/3.logx",  /* not .log */
        "/var/log/pods/shop_web_uid/nginx/3.txt.1", /* not .log */
        "/var/log/pods/shopweb/nginx/0.log",
        "/var/log/pods/shop_web_/nginx/0.log",
        "/0.log",
        "nginx/0.log",
        "/var/log/pods/shop_web_uid//0.log",
        "/var/log/pods/shop_web_uid/nginx/.log",
    };
    struct clog_meta m;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clog_meta_init(&m);
        if (clog_meta_from_pod_file(bad[i], &m))
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(m.restart_count, -1);
    }
}

static void test_docker_id(void **state)
{
    char id[65];

    (void)state;
    assert_true(
        clog_docker_id_from_path("/var/lib/docker/containers/" ID64 "/" ID64 "-json.log", id));
    assert_string_equal(id, ID64);
    assert_true(
        clog_docker_id_from_path("/var/lib/docker/containers/" ID64 "/" ID64 "-json.log.1", id));
    assert_false(clog_docker_id_from_path("/var/lib/docker/containers/x/" ID64 "-json.log", id));
    assert_false(clog_docker_id_from_path("/tmp/" ID64 "-json.logx", id));
    assert_false(clog_docker_id_from_path("/tmp/app-json.log", id));
}

static void test_docker_config(void **state)
{
    char text[65536];
    FILE *fp = fopen(VG_SOURCE_DIR "/tests/fixtures/docker/config.v2.json", "r");
    struct clog_meta m;
    size_t n;

    (void)state;
    assert_non_null(fp);
    n = fread(text, 1, sizeof(text), fp);
    fclose(fp);
    clog_meta_init(&m);
    assert_int_equal(clog_meta_from_docker_config(text, n, &m), VG_OK);
    assert_string_equal(m.container_name,
                        "k8s_app_mypod_default_5f2b7c1e-8d4a-4e0b-9c3f-2a6d1b8e7f90_0");
    assert_string_equal(m.image, "nginx:1.25.3");
    assert_string_equal(m.namespace_, "default");
    assert_string_equal(m.pod, "mypod");
    assert_string_equal(m.container, "app");
    assert_string_equal(m.pod_uid, "5f2b7c1e-8d4a-4e0b-9c3f-2a6d1b8e7f90");
    /* broken or foreign files leave the metadata alone */
    clog_meta_init(&m);
    assert_int_equal(clog_meta_from_docker_config(text, n / 2, &m), VG_EPARSE);
    assert_int_equal(clog_meta_from_docker_config("[1,2]", 5, &m), VG_EPARSE);
    assert_string_equal(m.image, "");
    assert_int_equal(clog_meta_from_docker_config("{\"Name\":7,\"Config\":[]}", 22, &m), VG_OK);
    assert_string_equal(m.container_name, "");
}

static void test_fingerprint(void **state)
{
    uint64_t h1 = 0, h2 = 0;
    char big[2048];

    (void)state;
    assert_int_equal(clog_fingerprint("first line\nsecond", 17, 1024, &h1), 11);
    assert_int_equal(clog_fingerprint("first line\nother", 16, 1024, &h2), 11);
    assert_true(h1 == h2); /* only the first line counts */
    assert_int_equal(clog_fingerprint("first lime\n", 11, 1024, &h2), 11);
    assert_true(h1 != h2);
    assert_int_equal(clog_fingerprint("no newline yet", 14, 1024, &h1), 0);
    memset(big, 'a', sizeof(big));
    assert_int_equal(clog_fingerprint(big, sizeof(big), 1024, &h1), 1024);
    /* forced: whatever is there */
    assert_int_equal(clog_fingerprint("abc", 3, 3, &h1), 3);
}

static void test_source_id(void **state)
{
    (void)state;
    assert_true(clog_source_id(1, 2, 3) != clog_source_id(1, 2, 4));
    assert_true(clog_source_id(1, 2, 3) != clog_source_id(1, 3, 3));
    assert_true(clog_source_id(1, 2, 3) == clog_source_id(1, 2, 3));
    assert_true(clog_source_id(0, 0, 0) != 0);
}

static void test_ckpt_round_trip(void **state)
{
    char path[] = "/var/log/odd name\\with\nnewline\r\tand tab.log";
    char real[] = "/var/log/pods/ns_pod_uid/c/0.log";
    struct clog_ckpt_entry e = {64768,       1234567,
                                57,          UINT64_C(0xdeadbeef01020304),
                                987654321,   CLOG_CKPT_GONE | CLOG_CKPT_TRUNCATED,
                                99999999999, path,
                                real};
    struct clog_ckpt_entry back;
    struct vg_buf b;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(clog_ckpt_format(&e, &b), VG_OK);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_null(memchr(b.data, '\n', b.len - 1)); /* one line whatever the path */
    memset(&back, 0, sizeof(back));
    assert_int_equal(clog_ckpt_parse_line(b.data, b.len - 1, false, &back), VG_OK);
    assert_true(back.dev == e.dev && back.ino == e.ino && back.fp_len == e.fp_len);
    assert_true(back.fp_hash == e.fp_hash && back.offset == e.offset && back.flags == e.flags);
    assert_true(back.size == e.size);
    assert_string_equal(back.path, e.path);
    assert_string_equal(back.real, e.real);
    clog_ckpt_entry_free(&back);
    assert_null(back.path);
    vg_buf_free(&b);
}

static void test_ckpt_reads_v1_lines(void **state)
{
    struct clog_ckpt_entry e;
    const char *line = "1 2 3 00000000000000ff 10 1 /a b\\\\c\td.log";

    (void)state;
    assert_int_equal(clog_ckpt_parse_line(line, strlen(line), true, &e), VG_OK);
    assert_true(e.dev == 1 && e.ino == 2 && e.fp_len == 3 && e.fp_hash == 0xff);
    assert_true(e.offset == 10 && e.flags == CLOG_CKPT_GONE && e.size == 0);
    assert_string_equal(e.path, "/a b\\c\td.log"); /* v1 wrote tabs as they were */
    assert_string_equal(e.real, e.path);
    clog_ckpt_entry_free(&e);
}

static void test_ckpt_bad_lines(void **state)
{
    static const char *const bad[] = {
        "",
        "1 2 3",
        "1 2 3 ff 10 0 5",                          /* no path */
        "1 2 3 ff 10 0 5 ",                         /* empty path */
        "1 2 3 ff 10 0 5 /a",                       /* no real path */
        "1 2 3 ff 10 0 5 /a\t",                     /* empty real path */
        "1 2 3 ff 10 0 5 \t/a",                     /* empty path */
        "x 2 3 ff 10 0 5 /a\t/a",                   /* not a number */
        "1 2 3 fg 10 0 5 /a\t/a",                   /* not hex */
        "1 2 0 ff 10 0 5 /a\t/a",                   /* no fingerprint */
        "1 2 3 ff 99999999999999999999 0 5 /a\t/a", /* overflow */
        "1 2 3 ff 10 0 5 /a\\x\t/a",                /* bad escape */
        "1 2 3 ff 10 0 5 /a\t/a\\",                 /* escape at the end */
        "1  2 3 ff 10 0 5 /a\t/a",                  /* empty field */
        "1 2 3 ff 10 0 /a\t/a",                     /* no size */
    };
    struct clog_ckpt_entry e;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (clog_ckpt_parse_line(bad[i], strlen(bad[i]), false, &e) != VG_EPARSE)
            fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_name),
        cmocka_unit_test(test_link_name_with_dashes_in_container),
        cmocka_unit_test(test_link_name_rejects),
        cmocka_unit_test(test_pod_file),
        cmocka_unit_test(test_pod_file_rejects),
        cmocka_unit_test(test_docker_id),
        cmocka_unit_test(test_docker_config),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_source_id),
        cmocka_unit_test(test_ckpt_round_trip),
        cmocka_unit_test(test_ckpt_reads_v1_lines),
        cmocka_unit_test(test_ckpt_bad_lines),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

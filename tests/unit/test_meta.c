/*
 * test_meta.c - the containers of the node by id, and container ids, pod
 * UIDs and QoS classes read from cgroup paths of both kubelet drivers and
 * the usual runtimes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta.h"

#define ID   "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
#define UID  "6a1e2f3d-0b7c-4c5b-8a9e-1f2d3c4b5a69"
#define UIDU "6a1e2f3d_0b7c_4c5b_8a9e_1f2d3c4b5a69"

static void expect(const char *path, const char *id, const char *uid, const char *qos,
                   const char *runtime)
{
    struct vg_cgroup_ids ids;

    assert_true(vg_cgroup_ids_of_path(path, &ids));
    assert_string_equal(ids.id, id);
    assert_string_equal(ids.pod_uid, uid);
    assert_string_equal(ids.qos, qos);
    assert_string_equal(ids.runtime, runtime);
}

static void cgroup_paths_of_every_driver_and_runtime(void **state)
{
    struct vg_cgroup_ids ids;

    (void)state;
    expect("/kubepods/burstable/pod" UID "/" ID, ID, UID, "burstable", "");
    expect("/kubepods/besteffort/pod" UID "/" ID, ID, UID, "besteffort", "");
    expect("/kubepods/pod" UID "/" ID, ID, UID, "guaranteed", "");
    expect("/kubepods/burstable/pod" UID, "", UID, "burstable", "");
    expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
           ".slice/cri-containerd-" ID ".scope",
           ID, UID, "burstable", "containerd");
    expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
           ".slice/crio-" ID ".scope",
           ID, UID, "besteffort", "crio");
    expect("/kubepods.slice/kubepods-pod" UIDU ".slice/docker-" ID ".scope", ID, UID, "guaranteed",
           "docker");
    expect("/sys/fs/cgroup/kubepods.slice/kubepods-pod" UIDU ".slice", "", UID, "guaranteed", "");
    expect("/docker/" ID, ID, "", "", "docker");
    expect("/system.slice/docker-" ID ".scope", ID, "", "", "docker");
    assert_false(vg_cgroup_ids_of_path("/user.slice/user-1000.slice/session-3.scope", &ids));
    assert_false(vg_cgroup_ids_of_path("/", &ids));
    assert_false(vg_cgroup_ids_of_path("/kubepods/burstable", &ids));
    assert_false(vg_cgroup_ids_of_path("/docker/not-an-id", &ids));
}

static void a_process_is_found_by_its_cgroup_file(void **state)
{
    char dir[] = "/tmp/vigil-meta-XXXXXX", path[128], cmd[160];
    struct vg_cgroup_ids ids;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/42", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/42/cgroup", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "12:memory:/kubepods/burstable/pod" UID "/" ID "\n0::/\n");
    fclose(f);
    assert_true(vg_cgroup_ids_of_pid(dir, 42, &ids));
    assert_string_equal(ids.id, ID);
    assert_false(vg_cgroup_ids_of_pid(dir, 43, &ids));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void names_are_kept_by_id_and_short_id(void **state)
{
    struct vg_meta m, got;

    (void)state;
    vg_meta_reset();
    memset(&m, 0, sizeof(m));
    snprintf(m.namespace_, sizeof(m.namespace_), "shop");
    snprintf(m.pod, sizeof(m.pod), "web-1");
    snprintf(m.container, sizeof(m.container), "nginx");
    vg_meta_put(ID, &m);
    assert_true(vg_meta_get(ID, &got));
    assert_string_equal(got.pod, "web-1");
    assert_true(vg_meta_get("9e8d7c6b5a4f", &got));
    assert_string_equal(got.container, "nginx");
    assert_false(vg_meta_get("0000", &got));
    vg_meta_expire(1000000);
    assert_true(vg_meta_get(ID, &got));
    vg_meta_expire(-10);
    assert_false(vg_meta_get(ID, &got));
}

static void gpus_are_found_by_either_form_of_their_bus_id(void **state)
{
    char uuid[96], bus[16];
    int index = -1;

    (void)state;
    vg_meta_reset();
    vg_gpu_put("00000000:3B:00.0", 1, "GPU-5e8d8a14-0000-1111-2222-333344445555");
    assert_true(vg_gpu_get("PCI:0000:3b:00", &index, uuid, sizeof(uuid)));
    assert_int_equal(index, 1);
    assert_string_equal(uuid, "GPU-5e8d8a14-0000-1111-2222-333344445555");
    assert_false(vg_gpu_get("0000:3c:00", &index, uuid, sizeof(uuid)));
    assert_true(vg_gpu_bus_id("0000:AF:00.0", bus, sizeof(bus)));
    assert_string_equal(bus, "0000:af:00");
    assert_false(vg_gpu_bus_id("garbage", bus, sizeof(bus)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cgroup_paths_of_every_driver_and_runtime),
        cmocka_unit_test(a_process_is_found_by_its_cgroup_file),
        cmocka_unit_test(names_are_kept_by_id_and_short_id),
        cmocka_unit_test(gpus_are_found_by_either_form_of_their_bus_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * cgroup_bench.c - the CPU of one collection of the cgroup collector over a
 * tree (tests/bench/cgroup.py builds one of 500 containers): the collector
 * runs as the engine runs it, each collection's samples committed to a
 * metric store, and the process's user and system CPU (getrusage) is
 * divided by the collections. Prints one line of key=value pairs:
 *
 *   build/cgroup_bench ROOT [COLLECTIONS]
 *
 * COLLECTIONS: collections timed after one warm-up (50).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "collector_bench.h"
#include "config.h"
#include "core.h"
#include "metrics.h"

extern const struct vg_collector_ops vg_collector_cgroup;

/* The collector with root set and init run; exits on failure. */
static void bench_open(struct vg_collector *c, const char *root)
{
    struct vg_errors errs;
    struct vg_error err = {0};
    const struct vg_option *o = vg_collector_cgroup.options;
    char **p;

    c->ops = &vg_collector_cgroup;
    c->name = "cgroup";
    c->interval_ms = vg_collector_cgroup.default_interval_ms;
    c->ctx = calloc(1, vg_collector_cgroup.ctx_size);
    vg_errors_init(&errs);
    if (c->ctx == NULL || vg_options_defaults(o, c->ctx, &errs) != VG_OK ||
        strcmp(o[0].name, "root") != 0) {
        fprintf(stderr, "cgroup_bench: cannot set up the collector\n");
        exit(2);
    }
    vg_errors_free(&errs);
    p = (char **)((char *)c->ctx + o[0].offset);
    free(*p);
    *p = strdup(root);
    if (*p == NULL || vg_collector_cgroup.init(c, NULL, &err) != VG_OK) {
        fprintf(stderr, "cgroup_bench: init: %s\n", err.msg);
        exit(2);
    }
}

/* Reads every file below the folder dfd (closed here) once; returns the
 * files read. */
static long bench_floor_dir(int dfd)
{
    DIR *d = fdopendir(dfd);
    char buf[65536];
    long files = 0;

    if (d == NULL) {
        close(dfd);
        return 0;
    }
    for (;;) {
        struct dirent *de = readdir(d);
        int fd;

        if (de == NULL)
            break;
        if (de->d_name[0] == '.')
            continue;
        fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (de->d_type == DT_DIR) {
            files += bench_floor_dir(fd);
            continue;
        }
        if (read(fd, buf, sizeof(buf)) >= 0)
            files++;
        close(fd);
    }
    closedir(d);
    return files;
}

/* The floor: n passes over the tree; prints the same line as a run. */
static int bench_floor(const char *root, long n)
{
    double t0 = bench_cpu_s(), w0 = (double)vg_mono_ns() / 1e9;
    long i, files = 0;

    for (i = 0; i < n; i++)
        files = bench_floor_dir(open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    printf("collections=%ld files=%ld cpu_ms_per_collection=%.3f wall_ms_per_collection=%.3f\n", n,
           files, (bench_cpu_s() - t0) * 1e3 / (double)n,
           ((double)vg_mono_ns() / 1e9 - w0) * 1e3 / (double)n);
    return files > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct vg_collector c;
    struct vg_samples *samples = vg_samples_create();
    struct vg_metric_store *store = vg_store_create();
    struct vg_emit emit = {samples, NULL};
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
    int rc;

    if (argc < 2 || n <= 0 || samples == NULL || store == NULL) {
        fprintf(stderr, "usage: cgroup_bench ROOT [COLLECTIONS]\n");
        return 2;
    }
    vg_log_setup(VG_LOG_ERROR, false);
    if (argc > 3 && strcmp(argv[3], "floor") == 0)
        return bench_floor(argv[1], n);
    memset(&c, 0, sizeof(c));
    bench_open(&c, argv[1]);
    vg_alloc_fail_after(-1); /* counts, never fails */
    rc = bench_run(&c, &emit, store, 1, n, vg_alloc_calls);
    vg_alloc_reset();
    vg_collector_cgroup.destroy(&c);
    vg_options_free(vg_collector_cgroup.options, c.ctx);
    free(c.ctx);
    vg_samples_destroy(samples);
    vg_store_destroy(store);
    return rc == VG_OK ? 0 : 1;
}

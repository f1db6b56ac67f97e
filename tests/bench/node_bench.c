/*
 * node_bench.c - the CPU and the allocations of one collection of the node
 * collector: the collector runs as the engine runs it, each collection's
 * samples committed to a metric store, and the process's user and system
 * CPU (getrusage) is divided by the collections. Every malloc, calloc and
 * realloc the core makes is counted (the link wraps them: see
 * CMakeLists.txt), so an allocation a collection adds shows. Prints one
 * line of key=value pairs:
 *
 *   build/node_bench PROC_ROOT SYS_ROOT ROOTFS [COLLECTIONS] [SUBS]
 *
 * COLLECTIONS: collections timed after two warm-ups (200). SUBS: the
 * `collectors` option, comma-separated (default: all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector_bench.h"
#include "config.h"
#include "core.h"
#include "metrics.h"

extern const struct vg_collector_ops vg_collector_node;

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static unsigned long bench_allocs;

void *__wrap_malloc(size_t size)
{
    bench_allocs++;
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    bench_allocs++;
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    bench_allocs++;
    return __real_realloc(p, size);
}

/* The context field of option name; exits when there is none. */
static void *bench_field(void *ctx, const char *name)
{
    const struct vg_option *o;

    for (o = vg_collector_node.options; o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return (char *)ctx + o->offset;
    fprintf(stderr, "node_bench: no option %s\n", name);
    exit(2);
}

static void bench_set(void *ctx, const char *name, const char *value)
{
    char **p = bench_field(ctx, name);

    free(*p);
    *p = strdup(value);
}

/* The `collectors` list from a comma-separated text (kept: the list
 * points into it until the process ends). */
static void bench_set_subs(void *ctx, char *csv)
{
    struct vg_strlist *l = bench_field(ctx, "collectors");
    char *save = NULL, *tok;

    for (tok = strtok_r(csv, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n++] = strdup(tok);
    }
}

static void bench_open(struct vg_collector *c, char **argv, int argc)
{
    struct vg_errors errs;
    struct vg_error err = {0};

    c->ops = &vg_collector_node;
    c->name = "node";
    c->interval_ms = vg_collector_node.default_interval_ms;
    c->ctx = calloc(1, vg_collector_node.ctx_size);
    vg_errors_init(&errs);
    if (c->ctx == NULL || vg_options_defaults(vg_collector_node.options, c->ctx, &errs) != VG_OK) {
        fprintf(stderr, "node_bench: cannot set up the collector\n");
        exit(2);
    }
    vg_errors_free(&errs);
    bench_set(c->ctx, "proc_root", argv[1]);
    bench_set(c->ctx, "sys_root", argv[2]);
    bench_set(c->ctx, "rootfs", argv[3]);
    if (argc > 5)
        bench_set_subs(c->ctx, argv[5]);
    if (vg_collector_node.init(c, NULL, &err) != VG_OK) {
        fprintf(stderr, "node_bench: init: %s\n", err.msg);
        exit(2);
    }
}

static unsigned long bench_alloc_count(void)
{
    return bench_allocs;
}

int main(int argc, char **argv)
{
    struct vg_collector c;
    struct vg_samples *samples = vg_samples_create();
    struct vg_metric_store *store = vg_store_create();
    struct vg_emit emit = {samples, NULL};
    long n = argc > 4 ? strtol(argv[4], NULL, 10) : 200;
    int rc;

    if (argc < 4 || n <= 0 || samples == NULL || store == NULL) {
        fprintf(stderr, "usage: node_bench PROC_ROOT SYS_ROOT ROOTFS [COLLECTIONS] [SUBS]\n");
        return 2;
    }
    vg_log_setup(VG_LOG_ERROR, false);
    memset(&c, 0, sizeof(c));
    bench_open(&c, argv, argc);
    rc = bench_run(&c, &emit, store, 2, n, bench_alloc_count);
    vg_collector_node.destroy(&c);
    vg_samples_destroy(samples);
    vg_store_destroy(store);
    return rc == VG_OK ? 0 : 1;
}

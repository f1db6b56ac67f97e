/*
 * collector_bench.h - what the collector benchmarks share: one collection
 * committed to a metric store as the engine runs it, the process's CPU
 * seconds, the wall time and size of a /metrics render, and the timed run
 * that prints one line of key=value pairs.
 */
#ifndef VG_COLLECTOR_BENCH_H
#define VG_COLLECTOR_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "core.h"
#include "metrics.h"

/* User plus system CPU of this process so far, in seconds. */
static inline double bench_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The /metrics text of the store (rendered afresh: a commit came before),
 * its size and the wall time of the render. */
static inline void bench_render(struct vg_metric_store *store, double *ms, size_t *len)
{
    int64_t t0 = vg_mono_ns();
    struct vg_rendered *r = vg_store_render(store, VG_EXPO_TEXT, false);

    *ms = (double)(vg_mono_ns() - t0) / 1e6;
    *len = r != NULL ? vg_rendered_len(r) : 0;
    if (r != NULL)
        vg_rendered_release(r);
}

/* One collection of c committed to the store, as the engine runs it. */
static inline int bench_collect(struct vg_collector *c, struct vg_emit *emit,
                                struct vg_metric_store *st)
{
    char source[128];
    int rc = c->ops->collect(c, emit);

    snprintf(source, sizeof(source), "collector:%s", c->name);
    return rc == VG_OK ? vg_store_commit(st, source, emit->samples) : rc;
}

/*
 * warm collections of c (buffers grown, the store's series made), then n
 * timed ones, then one render; prints
 * collections, series, CPU and wall ms a collection, allocations a
 * collection (allocs() is a running count of allocation calls) and the
 * render's size and time. Returns the first failed collection's error.
 */
static inline int bench_run(struct vg_collector *c, struct vg_emit *emit,
                            struct vg_metric_store *store, long warm, long n,
                            unsigned long (*allocs)(void))
{
    double t0, w0, t1, w1, render_ms = 0;
    unsigned long a0, a1;
    size_t render_len = 0;
    int rc = VG_OK;
    long i;

    for (i = 0; i < warm && rc == VG_OK; i++)
        rc = bench_collect(c, emit, store);
    t0 = bench_cpu_s();
    w0 = (double)vg_mono_ns() / 1e9;
    a0 = allocs();
    for (i = 0; i < n && rc == VG_OK; i++)
        rc = bench_collect(c, emit, store);
    a1 = allocs();
    t1 = bench_cpu_s();
    w1 = (double)vg_mono_ns() / 1e9;
    if (rc != VG_OK) {
        fprintf(stderr, "%s_bench: collection failed: %s\n", c->name, vg_strerror(rc));
        return rc;
    }
    bench_render(store, &render_ms, &render_len);
    printf("collections=%ld series=%zu cpu_ms_per_collection=%.3f wall_ms_per_collection=%.3f "
           "allocations_per_collection=%.1f metrics_bytes=%zu render_ms=%.3f\n",
           n, vg_store_series_count(store), (t1 - t0) * 1e3 / (double)n,
           (w1 - w0) * 1e3 / (double)n, (double)(a1 - a0) / (double)n, render_len, render_ms);
    return VG_OK;
}

#endif

/*
 * sink_fixture.h - a pipeline with one collector's sink, for unit tests
 * that emit records (vg_emit_record, vg_record_set_*) without an engine.
 */
#ifndef VG_SINK_FIXTURE_H
#define VG_SINK_FIXTURE_H

#include "core.h"
#include "pipeline_internal.h"

struct sink_fixture {
    struct vg_pipeline *p;
    struct vg_collector c;
    struct vg_emit e;
};

/* Makes the pipeline (batches of at most max_records, 1 MiB) and the sink
 * of a collector named "test"; asserts on failure. */
static inline void sink_fixture_open(struct sink_fixture *f, size_t max_records)
{
    struct vg_pipeline_settings s = {.batch_max_records = max_records,
                                     .batch_max_bytes = 1 << 20,
                                     .dead_letter_dir = "/nonexistent"};

    f->p = vg_pipeline_create(&s);
    assert_non_null(f->p);
    f->c.name = "test";
    f->e.sink = vg_pipeline_sink(f->p, &f->c);
    assert_non_null(f->e.sink);
}

static inline void sink_fixture_close(struct sink_fixture *f)
{
    vg_pipeline_destroy(f->p);
}

#endif

/*
 * collector_fixture.h - one collection of a metrics collector without an
 * engine, for unit tests: the samples are committed to a metric store and
 * rendered as /metrics would show them.
 */
#ifndef VG_COLLECTOR_FIXTURE_H
#define VG_COLLECTOR_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "metrics.h"

/* Fills c as the engine would before init: ops, name, interval and a
 * context holding the option table's defaults; makes samples and store. */
static inline void collector_fixture_open(struct vg_collector *c,
                                          const struct vg_collector_ops *ops, const char *name,
                                          struct vg_samples **samples,
                                          struct vg_metric_store **store)
{
    struct vg_errors errs;

    c->ops = ops;
    c->name = (char *)name;
    c->interval_ms = ops->default_interval_ms;
    c->ctx = calloc(1, ops->ctx_size);
    assert_non_null(c->ctx);
    vg_errors_init(&errs);
    assert_int_equal(vg_options_defaults(ops->options, c->ctx, &errs), VG_OK);
    vg_errors_free(&errs);
    *samples = vg_samples_create();
    *store = vg_store_create();
    assert_non_null(*samples);
    assert_non_null(*store);
}

/* Runs c's collect once into samples, commits them to store as c's source
 * and puts the rendered text exposition in *text (malloc'd; the previous one
 * is freed). Returns collect's answer; asserts on everything else. */
static inline int collector_fixture_collect(struct vg_collector *c, struct vg_samples *samples,
                                            struct vg_metric_store *store, char **text)
{
    struct vg_emit emit = {samples, NULL};
    struct vg_rendered *out;
    char source[128];
    int rc = c->ops->collect(c, &emit);

    snprintf(source, sizeof(source), "collector:%s", c->name);
    assert_int_equal(vg_store_commit(store, source, samples), VG_OK);
    out = vg_store_render(store, VG_EXPO_TEXT, false);
    assert_non_null(out);
    free(*text);
    *text = strndup(vg_rendered_data(out), vg_rendered_len(out));
    assert_non_null(*text);
    vg_rendered_release(out);
    return rc;
}

/* Destroys c (its destroy callback, options and context), samples, store
 * and text. */
static inline void collector_fixture_free(struct vg_collector *c, struct vg_samples *samples,
                                          struct vg_metric_store *store, char *text)
{
    if (c->ops->destroy != NULL)
        c->ops->destroy(c);
    vg_options_free(c->ops->options, c->ctx);
    free(c->ctx);
    vg_samples_destroy(samples);
    vg_store_destroy(store);
    free(text);
}

#endif

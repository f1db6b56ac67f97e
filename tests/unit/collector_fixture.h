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

/* A collector with its samples, store and last rendering, for tests that
 * run it whole over a fixture tree. */
struct collector_run {
    struct vg_collector c;
    struct vg_samples *samples;
    struct vg_metric_store *store;
    char *text; /* the rendered exposition */
};

/* Opens ops as instance name with the string option `option` set to value
 * (a fixture root) and runs init; asserts on any failure. */
static inline struct collector_run *collector_run_create(const struct vg_collector_ops *ops,
                                                         const char *name, const char *option,
                                                         const char *value)
{
    struct collector_run *r = calloc(1, sizeof(*r));
    const struct vg_option *o = ops->options;
    struct vg_error err = {0};
    char **p;

    assert_non_null(r);
    collector_fixture_open(&r->c, ops, name, &r->samples, &r->store);
    while (o->name != NULL && strcmp(o->name, option) != 0)
        o++;
    assert_non_null(o->name);
    assert_int_equal(o->type, VG_OPT_STR);
    p = (char **)((char *)r->c.ctx + o->offset);
    free(*p);
    *p = strdup(value);
    assert_non_null(*p);
    assert_int_equal(ops->init(&r->c, NULL, &err), VG_OK);
    return r;
}

/* One collection, committed and rendered into r->text; returns collect's rc. */
static inline int collector_run_collect(struct collector_run *r)
{
    return collector_fixture_collect(&r->c, r->samples, r->store, &r->text);
}

static inline void collector_run_destroy(struct collector_run *r)
{
    collector_fixture_free(&r->c, r->samples, r->store, r->text);
    free(r);
}

#endif

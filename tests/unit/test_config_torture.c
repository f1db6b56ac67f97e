/*
 * test_config_torture.c - loading a configuration and building its plan
 * with every allocation failing in turn: the load and the plan either
 * succeed with the same result as without failure, or say so (an error
 * code and a message when one could be kept); nothing leaks (ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "read_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "torture.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

/* What a run built: the plan's shape, to compare with the reference. */
struct ct_result {
    int rc;
    size_t n_collectors, n_outputs;
    char first_collector[64], last_output[64];
};

struct ct_case {
    const char *text;
    size_t len;
    const char *name;
    struct ct_result ref;
};

static void ct_load(const struct ct_case *c, struct ct_result *res)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    struct vg_plan plan;

    memset(res, 0, sizeof(*res));
    memset(&plan, 0, sizeof(plan));
    vg_errors_init(&errs);
    res->rc = vg_config_load_string(c->text, c->len, c->name, &cfg, &errs);
    if (res->rc == VG_OK) {
        assert_non_null(cfg);
        res->rc = vg_plan_build(cfg, &plan, &errs);
    }
    if (res->rc == VG_OK) {
        res->n_collectors = plan.n_collectors;
        res->n_outputs = plan.n_outputs;
        if (plan.n_collectors > 0)
            snprintf(res->first_collector, sizeof(res->first_collector), "%s",
                     plan.collectors[0].name);
        if (plan.n_outputs > 0)
            snprintf(res->last_output, sizeof(res->last_output), "%s",
                     plan.outputs[plan.n_outputs - 1].name);
    }
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void ct_body(struct torture *t, void *arg)
{
    struct ct_case *c = arg;
    struct ct_result res;

    ct_load(c, &res);
    torture_disarm(t);
    if (res.rc != VG_OK) {
        /* refused: only for want of memory, and said as a config error */
        assert_int_equal(res.rc, VG_ECONFIG);
        assert_true(t->fail_at >= 0);
        return;
    }
    assert_int_equal(res.n_collectors, c->ref.n_collectors);
    assert_int_equal(res.n_outputs, c->ref.n_outputs);
    assert_string_equal(res.first_collector, c->ref.first_collector);
    assert_string_equal(res.last_output, c->ref.last_output);
}

static void ct_run(const char *text, size_t len, const char *name)
{
    struct ct_case c = {text, len, name, {0}};

    ct_load(&c, &c.ref);
    assert_int_equal(c.ref.rc, VG_OK);
    assert_true(torture_run(ct_body, &c, 0) > 0);
}

static char *ct_read(const char *name, size_t *len)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/config/examples/%s", VG_SOURCE_DIR, name);
    return test_read_file(path, len);
}

static void default_config_survives_every_failure(void **state)
{
    ct_run(vg_default_config, vg_default_config_len, "default.yaml");
}

static void bare_metal_example_survives_every_failure(void **state)
{
    size_t len;
    char *text = ct_read("bare-metal.yaml", &len);

    ct_run(text, len, "bare-metal.yaml");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(default_config_survives_every_failure, torture_teardown),
        cmocka_unit_test_teardown(bare_metal_example_survives_every_failure, torture_teardown),
    };

    /* quiet: warnings about the examples' paths are not the point here */
    vg_log_setup((enum vg_log_level)(VG_LOG_ERROR + 1), false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

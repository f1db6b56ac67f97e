/*
 * plan_fixture.h - the plan's errors in unit tests: a configuration text
 * loaded as "t.yaml" and planned, and exactly the expected messages.
 * Include after cmocka.h and config.h.
 */
#ifndef VG_TEST_PLAN_FIXTURE_H
#define VG_TEST_PLAN_FIXTURE_H

#include <string.h>

/*
 * Loads yaml and, when it loads, builds its plan; asserts VG_ECONFIG and
 * exactly the expected messages in order.
 */
static void expect_errors(const char *yaml, const char *const *expected, size_t n)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    struct vg_plan plan;
    size_t i;
    int rc;

    vg_errors_init(&errs);
    memset(&plan, 0, sizeof(plan));
    rc = vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs);
    if (cfg != NULL && vg_plan_build(cfg, &plan, &errs) != VG_OK)
        rc = VG_ECONFIG;
    if (errs.n != n)
        for (i = 0; i < errs.n; i++)
            print_message("got: %s\n", errs.msgs[i]);
    assert_int_equal(rc, VG_ECONFIG);
    assert_int_equal(errs.n, n);
    for (i = 0; i < n; i++)
        assert_string_equal(errs.msgs[i], expected[i]);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

#define EXPECT_ERRORS(yaml, ...)                                                                   \
    do {                                                                                           \
        static const char *const expected_[] = {__VA_ARGS__};                                      \
        expect_errors(yaml, expected_, VG_ARRAY_LEN(expected_));                                   \
    } while (0)

#endif

/*
 * test_metrics.c - staging, the store's commit by owner, and the render
 * cache.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"
#include "metrics.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

struct fixture {
    struct vg_samples *s;
    struct vg_metric_store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->s = vg_samples_create();
    f->st = vg_store_create();
    assert_non_null(f->s);
    assert_non_null(f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    vg_samples_destroy(f->s);
    vg_store_destroy(f->st);
    free(f);
    return 0;
}

/* The text rendering as a NUL-terminated copy the caller frees. */
static char *render_text(struct vg_metric_store *st)
{
    struct vg_rendered *r = vg_store_render(st, VG_EXPO_TEXT, false);
    char *copy;

    assert_non_null(r);
    copy = strndup(vg_rendered_data(r), vg_rendered_len(r));
    assert_non_null(copy);
    vg_rendered_release(r);
    return copy;
}

static int add_gauge(struct vg_samples *s, const char *family, const char *lname,
                     const char *lvalue, double v)
{
    struct vg_label l = {lname, lvalue};

    return vg_samples_add(s, family, VG_METRIC_GAUGE, "Help.", "", &l, lname ? 1 : 0, v);
}

static void test_labels_are_sorted_at_add(void **state)
{
    struct fixture *f = *state;
    struct vg_label l[] = {{"zone", "b"}, {"app", "x"}, {"mid", "m"}};
    char *text;

    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", l, 3, 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    text = render_text(f->st);
    assert_string_equal(text, "# TYPE m gauge\nm{app=\"x\",mid=\"m\",zone=\"b\"} 1\n");
    free(text);
}

static void test_same_series_in_any_label_order_is_one_series(void **state)
{
    struct fixture *f = *state;
    struct vg_label a[] = {{"x", "1"}, {"y", "2"}};
    struct vg_label b[] = {{"y", "2"}, {"x", "1"}};

    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", a, 2, 1), VG_OK);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", b, 2, 7), VG_OK);
    assert_int_equal(vg_samples_count(f->s), 1);
}

static void test_duplicate_label_name_is_refused(void **state)
{
    struct fixture *f = *state;
    struct vg_label l[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};

    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", l, 3, 1), VG_EINVAL);
    assert_int_equal(vg_samples_count(f->s), 0);
}

static void test_invalid_names_are_refused(void **state)
{
    struct fixture *f = *state;
    struct vg_label bad_label[] = {{"1a", "v"}};
    struct vg_label reserved[] = {{"__name__", "v"}};
    struct vg_label dotted[] = {{"a.b", "v"}};
    struct vg_label no_value[] = {{"a", NULL}};
    struct vg_label no_name[] = {{NULL, "v"}};

    assert_int_equal(add_gauge(f->s, "1abc", NULL, NULL, 1), VG_EINVAL);
    assert_int_equal(add_gauge(f->s, "a-b", NULL, NULL, 1), VG_EINVAL);
    assert_int_equal(add_gauge(f->s, "", NULL, NULL, 1), VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, NULL, VG_METRIC_GAUGE, NULL, "", NULL, 0, 1), VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", bad_label, 1, 1),
                     VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", reserved, 1, 1),
                     VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", dotted, 1, 1), VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", no_value, 1, 1),
                     VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", no_name, 1, 1),
                     VG_EINVAL);
    assert_int_equal(vg_samples_count(f->s), 0);
}

static void test_name_rules(void **state)
{
    (void)state;
    assert_true(vg_metric_name_valid("node_cpu_seconds_total"));
    assert_true(vg_metric_name_valid("job:rate5m"));
    assert_true(vg_metric_name_valid("_x"));
    assert_true(vg_metric_name_valid("node_memory_MemTotal_bytes"));
    assert_false(vg_metric_name_valid("9x"));
    assert_false(vg_metric_name_valid("a b"));
    assert_false(vg_metric_name_valid(""));
    assert_false(vg_metric_name_valid(NULL));
    assert_true(vg_label_name_valid("le"));
    assert_true(vg_label_name_valid("_private"));
    assert_false(vg_label_name_valid("a:b"));
    assert_false(vg_label_name_valid("__reserved"));
    assert_false(vg_label_name_valid("0"));
}

static void test_suffix_must_fit_the_type(void **state)
{
    struct fixture *f = *state;
    struct vg_label le[] = {{"le", "1"}};
    struct vg_label q[] = {{"quantile", "0.5"}};

    assert_int_equal(vg_samples_add(f->s, "g", VG_METRIC_GAUGE, NULL, "_sum", NULL, 0, 1),
                     VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "h", VG_METRIC_HISTOGRAM, NULL, "", NULL, 0, 1),
                     VG_EINVAL);
    /* a bucket without le, a quantile without quantile */
    assert_int_equal(vg_samples_add(f->s, "h", VG_METRIC_HISTOGRAM, NULL, "_bucket", NULL, 0, 1),
                     VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "s", VG_METRIC_SUMMARY, NULL, "", NULL, 0, 1), VG_EINVAL);
    assert_int_equal(vg_samples_add(f->s, "h", VG_METRIC_HISTOGRAM, NULL, "_bucket", le, 1, 1),
                     VG_OK);
    assert_int_equal(vg_samples_add(f->s, "s", VG_METRIC_SUMMARY, NULL, "", q, 1, 1), VG_OK);
    assert_int_equal(vg_samples_add(f->s, "s", VG_METRIC_SUMMARY, NULL, "_count", NULL, 0, 1),
                     VG_OK);
    assert_int_equal(vg_samples_count(f->s), 3);
}

static void test_same_series_twice_keeps_the_last_value(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(add_gauge(f->s, "m", "a", "1", 1), VG_OK);
    assert_int_equal(add_gauge(f->s, "m", "a", "1", 2), VG_OK);
    assert_int_equal(add_gauge(f->s, "m", "a", "1", 3), VG_OK);
    assert_int_equal(vg_samples_count(f->s), 1);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    text = render_text(f->st);
    assert_string_equal(text, "# HELP m Help.\n# TYPE m gauge\nm{a=\"1\"} 3\n");
    free(text);
}

static void test_staging_refuses_a_second_type_for_a_family(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(add_gauge(f->s, "m", NULL, NULL, 1), VG_OK);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_COUNTER, NULL, "", NULL, 0, 1), VG_EINVAL);
    assert_int_equal(vg_samples_count(f->s), 1);
}

static void test_reset_empties_the_staging(void **state)
{
    struct fixture *f = *state;
    char name[32];
    int i;

    for (i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "%d", i);
        assert_int_equal(add_gauge(f->s, "m", "i", name, i), VG_OK);
    }
    assert_int_equal(vg_samples_count(f->s), 500);
    vg_samples_reset(f->s);
    assert_int_equal(vg_samples_count(f->s), 0);
    assert_int_equal(add_gauge(f->s, "m", "i", "7", 1), VG_OK);
    assert_int_equal(vg_samples_count(f->s), 1);
}

static void test_commit_empties_the_staging(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(add_gauge(f->s, "m", NULL, NULL, 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    assert_int_equal(vg_samples_count(f->s), 0);
    assert_int_equal(vg_store_series_count(f->st), 1);
}

static void test_commit_replaces_the_owners_series(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(add_gauge(f->s, "m", "c", "gone", 1), VG_OK);
    assert_int_equal(add_gauge(f->s, "m", "c", "stays", 2), VG_OK);
    assert_int_equal(add_gauge(f->s, "other", NULL, NULL, 3), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    assert_int_equal(vg_store_series_count(f->st), 3);

    assert_int_equal(add_gauge(f->s, "m", "c", "stays", 5), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    assert_int_equal(vg_store_series_count(f->st), 1);
    text = render_text(f->st);
    assert_string_equal(text, "# HELP m Help.\n# TYPE m gauge\nm{c=\"stays\"} 5\n");
    free(text);

    /* an empty collection clears the owner */
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    assert_int_equal(vg_store_series_count(f->st), 0);
    text = render_text(f->st);
    assert_string_equal(text, "");
    free(text);
}

static void test_two_owners_keep_their_own_series(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(add_gauge(f->s, "m", "from", "a", 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "a", f->s), VG_OK);
    assert_int_equal(add_gauge(f->s, "m", "from", "b", 2), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "b", f->s), VG_OK);
    assert_int_equal(vg_store_series_count(f->st), 2);

    assert_int_equal(vg_store_commit(f->st, "a", f->s), VG_OK);
    text = render_text(f->st);
    assert_string_equal(text, "# HELP m Help.\n# TYPE m gauge\nm{from=\"b\"} 2\n");
    free(text);

    vg_store_drop_owner(f->st, "b");
    assert_int_equal(vg_store_series_count(f->st), 0);
    vg_store_drop_owner(f->st, "never-seen");
}

static void test_type_conflict_between_owners_is_refused(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(add_gauge(f->s, "m", "from", "a", 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "a", f->s), VG_OK);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_COUNTER, NULL, "", NULL, 0, 9), VG_OK);
    assert_int_equal(add_gauge(f->s, "fine", NULL, NULL, 4), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "b", f->s), VG_EINVAL);
    text = render_text(f->st);
    /* the first owner's family is untouched; b's other family went in */
    assert_string_equal(text, "# HELP fine Help.\n# TYPE fine gauge\nfine 4\n"
                              "# HELP m Help.\n# TYPE m gauge\nm{from=\"a\"} 1\n");
    free(text);
}

static void test_help_conflict_between_owners_is_refused(void **state)
{
    struct fixture *f = *state;
    struct vg_label lb = {"from", "b"};

    assert_int_equal(add_gauge(f->s, "m", "from", "a", 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "a", f->s), VG_OK);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, "Other help.", "", &lb, 1, 2),
                     VG_OK);
    assert_int_equal(vg_store_commit(f->st, "b", f->s), VG_EINVAL);
    assert_int_equal(vg_store_series_count(f->st), 1);
    /* no help at all is no conflict */
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_GAUGE, NULL, "", &lb, 1, 2), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "b", f->s), VG_OK);
    assert_int_equal(vg_store_series_count(f->st), 2);
}

static void test_an_owner_may_change_its_own_family(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(add_gauge(f->s, "m", NULL, NULL, 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "a", f->s), VG_OK);
    assert_int_equal(vg_samples_add(f->s, "m", VG_METRIC_COUNTER, "New.", "", NULL, 0, 2), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "a", f->s), VG_OK);
    text = render_text(f->st);
    assert_string_equal(text, "# HELP m New.\n# TYPE m counter\nm 2\n");
    free(text);
}

static void test_same_series_from_a_second_owner_is_refused(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(add_gauge(f->s, "m", "x", "1", 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "a", f->s), VG_OK);
    assert_int_equal(add_gauge(f->s, "m", "x", "1", 2), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "b", f->s), VG_EINVAL);
    text = render_text(f->st);
    assert_string_equal(text, "# HELP m Help.\n# TYPE m gauge\nm{x=\"1\"} 1\n");
    free(text);
}

static void test_series_are_reused_across_many_commits(void **state)
{
    struct fixture *f = *state;
    char id[16];
    int round, i;

    for (round = 0; round < 300; round++) {
        for (i = 0; i < 200; i++) {
            snprintf(id, sizeof(id), "%d", i);
            assert_int_equal(add_gauge(f->s, "m", "id", id, round), VG_OK);
        }
        /* one series that comes and goes */
        if (round % 2 == 0)
            assert_int_equal(add_gauge(f->s, "flap", NULL, NULL, 1), VG_OK);
        assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
        assert_int_equal(vg_store_series_count(f->st), round % 2 == 0 ? 201 : 200);
    }
}

static void test_render_is_cached_until_a_commit(void **state)
{
    struct fixture *f = *state;
    struct vg_rendered *r1, *r2, *r3, *r4, *om;

    assert_int_equal(add_gauge(f->s, "m", NULL, NULL, 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    r1 = vg_store_render(f->st, VG_EXPO_TEXT, false);
    r2 = vg_store_render(f->st, VG_EXPO_TEXT, false);
    om = vg_store_render(f->st, VG_EXPO_OPENMETRICS, false);
    assert_non_null(r1);
    assert_ptr_equal(r1, r2);
    assert_ptr_not_equal(r1, om);

    /* an identical collection changes nothing and keeps the cache */
    assert_int_equal(add_gauge(f->s, "m", NULL, NULL, 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    r3 = vg_store_render(f->st, VG_EXPO_TEXT, false);
    assert_ptr_equal(r1, r3);

    assert_int_equal(add_gauge(f->s, "m", NULL, NULL, 2), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    r4 = vg_store_render(f->st, VG_EXPO_TEXT, false);
    assert_ptr_not_equal(r1, r4);
    /* a reference taken before the commit stays valid and unchanged */
    assert_memory_equal(vg_rendered_data(r1), "# HELP m Help.\n# TYPE m gauge\nm 1\n",
                        vg_rendered_len(r1));
    assert_memory_equal(vg_rendered_data(r4), "# HELP m Help.\n# TYPE m gauge\nm 2\n",
                        vg_rendered_len(r4));
    vg_rendered_release(r1);
    vg_rendered_release(r2);
    vg_rendered_release(r3);
    vg_rendered_release(r4);
    vg_rendered_release(om);
}

static void test_drop_owner_invalidates_the_cache(void **state)
{
    struct fixture *f = *state;
    struct vg_rendered *r1, *r2;

    assert_int_equal(add_gauge(f->s, "m", NULL, NULL, 1), VG_OK);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    r1 = vg_store_render(f->st, VG_EXPO_TEXT, false);
    vg_store_drop_owner(f->st, "o");
    r2 = vg_store_render(f->st, VG_EXPO_TEXT, false);
    assert_ptr_not_equal(r1, r2);
    assert_int_equal(vg_rendered_len(r2), 0);
    vg_rendered_release(r1);
    vg_rendered_release(r2);
}

struct scraper {
    struct vg_metric_store *st;
    atomic_bool stop;
    _Atomic unsigned long renders;
};

static void *scraper_run(void *arg)
{
    struct scraper *sc = arg;

    while (!atomic_load(&sc->stop)) {
        struct vg_rendered *r = vg_store_render(
            sc->st, sc->renders % 2 ? VG_EXPO_OPENMETRICS : VG_EXPO_TEXT, sc->renders % 3 == 0);
        if (r == NULL || (sc->renders % 3 != 0 && vg_rendered_len(r) > 0 &&
                          vg_rendered_data(r)[vg_rendered_len(r) - 1] != '\n'))
            abort();
        vg_rendered_release(r);
        sc->renders++;
    }
    return NULL;
}

static void test_renders_run_safely_beside_commits(void **state)
{
    struct fixture *f = *state;
    struct scraper sc = {.st = f->st, .renders = 0};
    pthread_t t;
    char id[16];
    int round, i;

    atomic_init(&sc.stop, false);
    assert_int_equal(pthread_create(&t, NULL, scraper_run, &sc), 0);
    /* on a loaded machine the scraper may start late: let it begin first */
    for (i = 0; i < 5000 && atomic_load(&sc.renders) == 0; i++)
        usleep(1000);
    for (round = 0; round < 200; round++) {
        for (i = 0; i < 50 + round % 7; i++) {
            snprintf(id, sizeof(id), "%d", i);
            assert_int_equal(add_gauge(f->s, "m", "id", id, round), VG_OK);
        }
        assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    }
    atomic_store(&sc.stop, true);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(sc.renders > 0);
}

static void test_emit_without_staging_is_refused(void **state)
{
    struct vg_emit e = {.samples = NULL, .sink = NULL};
    double b[] = {1};
    uint64_t c[] = {1};

    (void)state;
    assert_int_equal(vg_emit_gauge(&e, "m", NULL, 1, NULL), VG_EINVAL);
    assert_int_equal(vg_emit_counter(&e, "m_total", NULL, 1, NULL), VG_EINVAL);
    assert_int_equal(vg_emit_series(&e, "m", VG_METRIC_GAUGE, NULL, "", NULL, 0, 1), VG_EINVAL);
    assert_int_equal(vg_emit_histogram(&e, "h", NULL, NULL, 0, b, c, 1, 1, 1), VG_EINVAL);
}

static void test_emit_shorthands_stage_labels(void **state)
{
    struct fixture *f = *state;
    struct vg_emit e = {.samples = f->s, .sink = NULL};
    char *text;

    assert_int_equal(vg_emit_gauge(&e, "g", "G.", 1.5, "b", "2", "a", "1", NULL), VG_OK);
    assert_int_equal(vg_emit_counter(&e, "c_total", "C.", 3, NULL), VG_OK);
    /* a name without a value */
    assert_int_equal(vg_emit_gauge(&e, "g", "G.", 1, "a", NULL), VG_EINVAL);
    assert_int_equal(vg_store_commit(f->st, "o", f->s), VG_OK);
    text = render_text(f->st);
    assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total 3\n"
                              "# HELP g G.\n# TYPE g gauge\ng{a=\"1\",b=\"2\"} 1.5\n");
    free(text);
}

static void test_emit_histogram_refuses_bad_buckets(void **state)
{
    struct fixture *f = *state;
    struct vg_emit e = {.samples = f->s, .sink = NULL};
    double down[] = {2, 1};
    double inf[] = {1, INFINITY};
    double ok[] = {1, 2};
    uint64_t counts[] = {1, 2};
    uint64_t shrinking[] = {2, 1};

    assert_int_equal(vg_emit_histogram(&e, "h", NULL, NULL, 0, down, counts, 2, 1, 2), VG_EINVAL);
    assert_int_equal(vg_emit_histogram(&e, "h", NULL, NULL, 0, inf, counts, 2, 1, 2), VG_EINVAL);
    assert_int_equal(vg_emit_histogram(&e, "h", NULL, NULL, 0, ok, shrinking, 2, 1, 2), VG_EINVAL);
    assert_int_equal(vg_emit_histogram(&e, "h", NULL, NULL, 0, ok, counts, 2, 1, 1), VG_EINVAL);
    assert_int_equal(vg_samples_count(f->s), 0);
    assert_int_equal(vg_emit_histogram(&e, "h", NULL, NULL, 0, ok, counts, 2, 1, 2), VG_OK);
    assert_int_equal(vg_samples_count(f->s), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_labels_are_sorted_at_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_series_in_any_label_order_is_one_series, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_label_name_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_names_are_refused, setup, teardown),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test_setup_teardown(test_suffix_must_fit_the_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_series_twice_keeps_the_last_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_staging_refuses_a_second_type_for_a_family, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_empties_the_staging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_empties_the_staging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_replaces_the_owners_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_owners_keep_their_own_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_conflict_between_owners_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_help_conflict_between_owners_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_owner_may_change_its_own_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_series_from_a_second_owner_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_series_are_reused_across_many_commits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_render_is_cached_until_a_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_owner_invalidates_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renders_run_safely_beside_commits, setup, teardown),
        cmocka_unit_test(test_emit_without_staging_is_refused),
        cmocka_unit_test_setup_teardown(test_emit_shorthands_stage_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_histogram_refuses_bad_buckets, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_arena.c - the batch arena: alignment, growth into new chunks, big
 * allocations in chunks of their own, reset keeping one chunk for reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "pipeline.h"

static void allocations_are_16_byte_aligned(void **state)
{
    struct vg_arena a;
    size_t sizes[] = {1, 3, 7, 16, 17, 33, 100, 5};
    size_t i;

    vg_arena_init(&a, 256);
    for (i = 0; i < 200; i++) {
        void *p = vg_arena_alloc(&a, sizes[i % 8]);

        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, sizes[i % 8]);
    }
    vg_arena_free(&a);
}

static void allocations_do_not_overlap_across_chunks(void **state)
{
    struct vg_arena a;
    unsigned char *p[100];
    size_t i, j;

    vg_arena_init(&a, 128);
    for (i = 0; i < 100; i++) {
        p[i] = vg_arena_alloc(&a, 40);
        assert_non_null(p[i]);
        memset(p[i], (int)i, 40);
    }
    for (i = 0; i < 100; i++)
        for (j = 0; j < 40; j++)
            assert_int_equal(p[i][j], (unsigned char)i);
    assert_int_equal(a.total, 100 * 40);
    vg_arena_free(&a);
}

static void big_allocation_gets_its_own_chunk_and_keeps_the_current_one(void **state)
{
    struct vg_arena a;
    char *small1, *big, *small2;

    vg_arena_init(&a, 1024);
    small1 = vg_arena_alloc(&a, 16);
    big = vg_arena_alloc(&a, 100000);
    small2 = vg_arena_alloc(&a, 16);
    assert_non_null(small1);
    assert_non_null(big);
    assert_non_null(small2);
    memset(big, 'x', 100000);
    assert_int_equal((uintptr_t)big % 16, 0);
    /* the small chunk stayed current: the next small allocation follows the first */
    assert_ptr_equal(small2, small1 + 16);
    vg_arena_free(&a);
}

static void reset_reuses_one_chunk(void **state)
{
    struct vg_arena a;
    void *again;
    size_t i;

    vg_arena_init(&a, 4096);
    for (i = 0; i < 1000; i++)
        assert_non_null(vg_arena_alloc(&a, 64));
    assert_non_null(vg_arena_alloc(&a, 1 << 20));
    vg_arena_reset(&a);
    assert_int_equal(a.total, 0);
    assert_non_null(a.head);
    again = vg_arena_alloc(&a, 64);
    assert_non_null(again);
    assert_int_equal(a.total, 64);
    vg_arena_reset(&a);
    /* a reset arena hands out the very same memory again */
    assert_ptr_equal(vg_arena_alloc(&a, 64), again);
    vg_arena_free(&a);
    assert_null(a.head);
}

static void strndup_stops_at_nul_and_at_n(void **state)
{
    struct vg_arena a;
    char *s;

    vg_arena_init(&a, 0);
    s = vg_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    s = vg_arena_strndup(&a, "ab\0cd", 5);
    assert_string_equal(s, "ab");
    s = vg_arena_strndup(&a, "", 0);
    assert_string_equal(s, "");
    vg_arena_free(&a);
}

static void zero_size_gives_distinct_pointers(void **state)
{
    struct vg_arena a;
    void *p, *q;

    vg_arena_init(&a, 0);
    p = vg_arena_alloc(&a, 0);
    q = vg_arena_alloc(&a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    vg_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_16_byte_aligned),
        cmocka_unit_test(allocations_do_not_overlap_across_chunks),
        cmocka_unit_test(big_allocation_gets_its_own_chunk_and_keeps_the_current_one),
        cmocka_unit_test(reset_reuses_one_chunk),
        cmocka_unit_test(strndup_stops_at_nul_and_at_n),
        cmocka_unit_test(zero_size_gives_distinct_pointers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

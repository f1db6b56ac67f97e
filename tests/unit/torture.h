/*
 * torture.h - run a test body with every allocation failing in turn.
 *
 * The body runs once with counting on to learn N, the allocations it makes
 * (vg_malloc and friends, agent/alloc.h); then N times with the call k
 * (k = 0..N-1) and every later one failing; then once more with nothing
 * failing. A body must never crash and must assert its own invariants with
 * cmocka's assert_*; leaks are caught by AddressSanitizer's leak checker
 * when the process exits (the ASan build), so every failure path must free
 * what it allocated. A failed assertion leaves the hook armed: reset it in
 * the group's or the test's teardown (torture_teardown does).
 *
 * Use:
 *
 *   #include "torture.h"
 *
 *   static void my_body(struct torture *t, void *arg)
 *   {
 *       struct thing *x = thing_create();
 *
 *       if (x == NULL)
 *           return;                         // told: fine, nothing to check
 *       if (thing_add(x, "k") != VG_OK) {   // a step that failed ...
 *           torture_disarm(t);              // ... memory is back:
 *           assert_int_equal(thing_add(x, "k"), VG_OK); // it must work now
 *       }
 *       assert_true(thing_has(x, "k"));
 *       thing_destroy(x);
 *   }
 *
 *   static void thing_survives_every_failure(void **state)
 *   {
 *       torture_run(my_body, NULL, 0);      // 0: TORTURE_DEFAULT_MAX points
 *   }
 *
 * torture_disarm(t) ends the failing part of a run early (to retry a step
 * with memory back, or to check the outcome with allocations working);
 * on the counting run it fixes N at the calls made so far, so N counts only
 * the part of the body before it. t->fail_at says which call fails in this
 * run (-1 on the counting run and the last one). Allocations made by other
 * threads during the body count too, so N may vary from run to run in a
 * body with threads; the invariants must hold whatever fails.
 *
 * When N is over max, the runs are spread evenly over 0..N-1 (a stride),
 * so that the whole body is still covered. VIGIL_TORTURE_MAX in the
 * environment overrides max; VIGIL_TORTURE_VERBOSE=1 prints each run's
 * failing call (to find the one that broke an assertion).
 */
#ifndef VG_TORTURE_H
#define VG_TORTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"

#define TORTURE_DEFAULT_MAX 1000ul

struct torture {
    long fail_at;      /* the first call that fails in this run; -1: none */
    unsigned long run; /* 0: counting; then 1.. */
    unsigned long n;   /* allocations the counting run made */
    bool counting, disarmed;
};

typedef void (*torture_body_fn)(struct torture *t, void *arg);

/* Stops failing allocations for the rest of this run (see above). */
static inline void torture_disarm(struct torture *t)
{
    if (t->disarmed)
        return;
    if (t->counting)
        t->n = vg_alloc_calls();
    t->disarmed = true;
    vg_alloc_reset();
}

static inline void torture_one(struct torture *t, torture_body_fn body, void *arg, long fail_at)
{
    static int verbose = -1;

    if (verbose < 0)
        verbose = getenv("VIGIL_TORTURE_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "torture: run %lu, failing from call %ld\n", t->run, fail_at);
    t->fail_at = fail_at;
    t->disarmed = false;
    vg_alloc_reset();
    vg_alloc_fail_after(fail_at);
    body(t, arg);
    torture_disarm(t);
    t->run++;
}

/* Runs body as described at the top; returns N, the allocations counted. */
static inline unsigned long torture_run(torture_body_fn body, void *arg, unsigned long max)
{
    struct torture t = {.fail_at = -1};
    const char *env = getenv("VIGIL_TORTURE_MAX");
    unsigned long k, stride;

    if (env != NULL && strtoul(env, NULL, 10) > 0)
        max = strtoul(env, NULL, 10);
    if (max == 0)
        max = TORTURE_DEFAULT_MAX;
    t.counting = true;
    torture_one(&t, body, arg, -1);
    t.counting = false;
    stride = t.n > max ? (t.n + max - 1) / max : 1;
    for (k = 0; k < t.n; k += stride)
        torture_one(&t, body, arg, (long)k);
    torture_one(&t, body, arg, -1);
    return t.n;
}

/* A cmocka teardown that disarms the hook (after a failed assertion). */
static inline int torture_teardown(void **state)
{
    (void)state;
    vg_alloc_reset();
    return 0;
}

#endif

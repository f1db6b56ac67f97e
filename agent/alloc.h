/*
 * alloc.h - the core's allocator: libc's malloc family with a hook that
 * makes allocations fail on purpose, so that tests can walk every failure
 * path (as curl's torture tests and libcbor's test allocator do).
 *
 * vg_malloc, vg_calloc, vg_realloc, vg_strdup and vg_strndup keep the
 * contracts of their libc namesakes (NULL and errno ENOMEM on failure;
 * a failed vg_realloc leaves the block as it was). Memory from them is
 * released with plain free().
 *
 * The hook, for tests only: vg_alloc_fail_after(n) lets the next n calls
 * succeed and fails every later one until vg_alloc_reset(); n < 0 never
 * fails but still counts. Calls are counted only while the hook is armed
 * (from vg_alloc_fail_after to vg_alloc_reset); vg_alloc_calls() says how
 * many. Disarmed, the overhead is one relaxed atomic load per call.
 * Thread-safe: the count is shared by every thread.
 */
#ifndef VG_ALLOC_H
#define VG_ALLOC_H

#include <stddef.h>

void *vg_malloc(size_t size);
void *vg_calloc(size_t n, size_t size);
void *vg_realloc(void *p, size_t size);
char *vg_strdup(const char *s);
char *vg_strndup(const char *s, size_t n);

void vg_alloc_fail_after(long n);
void vg_alloc_reset(void);
unsigned long vg_alloc_calls(void);

#endif

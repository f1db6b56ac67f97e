/*
 * alloc.c - the malloc family behind a failure hook for tests; see alloc.h.
 *
 * armed is the only thing the fast path reads. Arming publishes fail_from
 * (the 0-based index of the first call that fails, -1 for none) before it
 * sets armed, so a thread that sees armed also sees the limit it goes with.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static atomic_bool alloc_armed;
static atomic_ulong alloc_count;
static atomic_long alloc_fail_from = -1;

/* Counts the call and says whether it must fail (hook armed only). */
static bool alloc_fail_slow(void)
{
    unsigned long k = atomic_fetch_add(&alloc_count, 1);
    long from = atomic_load(&alloc_fail_from);

    return from >= 0 && k >= (unsigned long)from;
}

static inline bool alloc_fail(void)
{
    if (!atomic_load_explicit(&alloc_armed, memory_order_relaxed))
        return false;
    return alloc_fail_slow();
}

void *vg_malloc(size_t size)
{
    if (alloc_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(size);
}

void *vg_calloc(size_t n, size_t size)
{
    if (alloc_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return calloc(n, size);
}

void *vg_realloc(void *p, size_t size)
{
    if (alloc_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, size);
}

char *vg_strdup(const char *s)
{
    return vg_strndup(s, SIZE_MAX);
}

/* Copies at most n bytes of s, stopping at a NUL; one counted call. */
char *vg_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p;

    if (len == SIZE_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    p = vg_malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* The calls after the next n fail until vg_alloc_reset; n < 0: none does. */
void vg_alloc_fail_after(long n)
{
    unsigned long now = atomic_load(&alloc_count);
    long from = -1;

    if (n >= 0)
        from = now > (unsigned long)(LONG_MAX - n) ? LONG_MAX : (long)now + n;
    atomic_store(&alloc_fail_from, from);
    atomic_store(&alloc_armed, true);
}

/* Disarms the hook and clears the count. */
void vg_alloc_reset(void)
{
    atomic_store(&alloc_armed, false);
    atomic_store(&alloc_fail_from, -1);
    atomic_store(&alloc_count, 0);
}

unsigned long vg_alloc_calls(void)
{
    return atomic_load(&alloc_count);
}

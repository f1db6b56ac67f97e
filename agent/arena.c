/*
 * arena.c - chunked bump allocator for the record path.
 *
 * A batch allocates its records, fields and bodies here and frees them all
 * at once; reset keeps one regular chunk so that a recycled batch starts
 * without a malloc. An allocation bigger than half a chunk gets a chunk of
 * its own, placed behind the current one so that the space left in the
 * current chunk is not wasted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pipeline.h"

#define ARENA_ALIGN         16u
#define ARENA_DEFAULT_CHUNK (64u * 1024u)

struct vg_arena_chunk {
    struct vg_arena_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    bool large; /* holds one big allocation; never kept by reset */
    _Alignas(16) unsigned char data[];
};

void vg_arena_init(struct vg_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size > 0 ? chunk_size : ARENA_DEFAULT_CHUNK;
    a->total = 0;
}

/* Offset in c where n bytes aligned to 16 fit, or SIZE_MAX. The address
 * is aligned, not the offset, so malloc's own alignment does not matter. */
static size_t arena_fit(const struct vg_arena_chunk *c, size_t n)
{
    uintptr_t base = (uintptr_t)c->data;
    uintptr_t at = (base + c->used + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1);
    size_t off = (size_t)(at - base);

    if (off > c->size || c->size - off < n)
        return SIZE_MAX;
    return off;
}

static struct vg_arena_chunk *arena_chunk_new(size_t size, bool large)
{
    struct vg_arena_chunk *c;

    /* room to realign in case malloc gives less than 16-byte alignment */
    if (size > SIZE_MAX - sizeof(*c) - ARENA_ALIGN)
        return NULL;
    c = vg_malloc(sizeof(*c) + size + ARENA_ALIGN);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size + ARENA_ALIGN;
    c->used = 0;
    c->large = large;
    return c;
}

/*
 * Returns n bytes aligned to 16, valid until reset or free; NULL when
 * memory runs out. n == 0 gives a valid, distinct pointer.
 */
void *vg_arena_alloc(struct vg_arena *a, size_t n)
{
    struct vg_arena_chunk *c;
    size_t off;

    if (n == 0)
        n = 1;
    if (a->head != NULL) {
        off = arena_fit(a->head, n);
        if (off != SIZE_MAX) {
            a->head->used = off + n;
            a->total += n;
            return a->head->data + off;
        }
    }
    if (n > a->chunk_size / 2) {
        c = arena_chunk_new(n, true);
        if (c == NULL)
            return NULL;
        if (a->head != NULL) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            a->head = c;
        }
    } else {
        c = arena_chunk_new(a->chunk_size, false);
        if (c == NULL)
            return NULL;
        c->next = a->head;
        a->head = c;
    }
    off = arena_fit(c, n);
    c->used = off + n;
    a->total += n;
    return c->data + off;
}

/* Copies at most n bytes of s, stopping at a NUL, and terminates the copy. */
char *vg_arena_strndup(struct vg_arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p;

    if (len == SIZE_MAX)
        return NULL;
    p = vg_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Frees every chunk but one regular chunk, which becomes empty. */
void vg_arena_reset(struct vg_arena *a)
{
    struct vg_arena_chunk *c = a->head, *next, *keep = NULL;

    while (c != NULL) {
        next = c->next;
        if (keep == NULL && !c->large) {
            keep = c;
        } else {
            free(c);
        }
        c = next;
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->total = 0;
}

void vg_arena_free(struct vg_arena *a)
{
    struct vg_arena_chunk *c = a->head, *next;

    while (c != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

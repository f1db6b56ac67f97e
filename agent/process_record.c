/*
 * process_record.c - what a processing step may do to the record it is
 * given: find, set, copy, rename and remove fields, replace the body. The
 * record is the last one of its open batch; every copy goes to that
 * batch's arena and is counted in its bytes.
 */
#include <string.h>

#include "pipeline.h"
#include "process.h"

/* What a numeric or boolean value counts for in batch_max_bytes. */
#define PREC_SCALAR_BYTES 8u

char *vg_prec_alloc(struct vg_prec *pr, size_t len)
{
    char *p;

    if (len == SIZE_MAX)
        return NULL;
    p = vg_arena_alloc(pr->arena, len + 1);
    if (p == NULL)
        return NULL;
    p[len] = '\0';
    *pr->bytes += len;
    return p;
}

static char *prec_dup(struct vg_prec *pr, const char *s, size_t len)
{
    char *p = vg_prec_alloc(pr, len);

    if (p != NULL && len > 0)
        memcpy(p, s, len);
    return p;
}

struct vg_field *vg_prec_find(const struct vg_prec *pr, const char *key, size_t key_len)
{
    struct vg_field *f;

    for (f = pr->r->fields; f != NULL; f = f->next)
        if (f->key[0] == key[0] && strncmp(f->key, key, key_len) == 0 && f->key[key_len] == '\0')
            return f;
    return NULL;
}

bool vg_prec_is_source_field(const struct vg_prec *pr, const struct vg_field *f)
{
    const struct vg_field *g;

    if (pr->mark == NULL)
        return false;
    for (g = pr->r->fields; g != NULL; g = g->next) {
        if (g == f)
            return true;
        if (g == pr->mark)
            return false;
    }
    return false;
}

/* The field of that key (its value to be set), or a new one appended.
 * NULL on out of memory. */
static struct vg_field *prec_slot(struct vg_prec *pr, const char *key, size_t key_len)
{
    struct vg_field *f = vg_prec_find(pr, key, key_len);

    if (f != NULL)
        return f;
    f = vg_arena_alloc(pr->arena, sizeof(*f));
    if (f == NULL)
        return NULL;
    memset(f, 0, sizeof(*f));
    f->key = prec_dup(pr, key, key_len);
    if (f->key == NULL)
        return NULL;
    if (pr->r->fields_tail != NULL)
        pr->r->fields_tail->next = f;
    else
        pr->r->fields = f;
    pr->r->fields_tail = f;
    return f;
}

static int prec_set_text(struct vg_prec *pr, const char *key, size_t key_len,
                         enum vg_field_type type, const char *v, size_t len)
{
    char *copy = prec_dup(pr, v != NULL ? v : "", v != NULL ? len : 0);
    struct vg_field *f;

    if (copy == NULL)
        return VG_ENOMEM;
    f = prec_slot(pr, key, key_len);
    if (f == NULL)
        return VG_ENOMEM;
    f->type = type;
    f->v.s.ptr = copy;
    f->v.s.len = v != NULL ? len : 0;
    return VG_OK;
}

int vg_prec_set_str(struct vg_prec *pr, const char *key, size_t key_len, const char *v, size_t len)
{
    return prec_set_text(pr, key, key_len, VG_FIELD_STR, v, len);
}

int vg_prec_set_json(struct vg_prec *pr, const char *key, size_t key_len, const char *v, size_t len)
{
    if (v == NULL || len == 0)
        return VG_EINVAL;
    return prec_set_text(pr, key, key_len, VG_FIELD_JSON, v, len);
}

static struct vg_field *prec_set_scalar(struct vg_prec *pr, const char *key, size_t key_len,
                                        enum vg_field_type type)
{
    struct vg_field *f = prec_slot(pr, key, key_len);

    if (f == NULL)
        return NULL;
    f->type = type;
    *pr->bytes += PREC_SCALAR_BYTES;
    return f;
}

int vg_prec_set_int(struct vg_prec *pr, const char *key, size_t key_len, int64_t v)
{
    struct vg_field *f = prec_set_scalar(pr, key, key_len, VG_FIELD_INT);

    if (f == NULL)
        return VG_ENOMEM;
    f->v.i = v;
    return VG_OK;
}

int vg_prec_set_double(struct vg_prec *pr, const char *key, size_t key_len, double v)
{
    struct vg_field *f = prec_set_scalar(pr, key, key_len, VG_FIELD_DOUBLE);

    if (f == NULL)
        return VG_ENOMEM;
    f->v.d = v;
    return VG_OK;
}

int vg_prec_set_bool(struct vg_prec *pr, const char *key, size_t key_len, bool v)
{
    struct vg_field *f = prec_set_scalar(pr, key, key_len, VG_FIELD_BOOL);

    if (f == NULL)
        return VG_ENOMEM;
    f->v.b = v;
    return VG_OK;
}

int vg_prec_set_copy(struct vg_prec *pr, const char *key, size_t key_len,
                     const struct vg_field *from)
{
    struct vg_field *f;

    if (from->type == VG_FIELD_STR || from->type == VG_FIELD_JSON)
        return prec_set_text(pr, key, key_len, from->type, from->v.s.ptr, from->v.s.len);
    f = prec_set_scalar(pr, key, key_len, from->type);
    if (f == NULL)
        return VG_ENOMEM;
    f->v = from->v;
    return VG_OK;
}

bool vg_prec_remove(struct vg_prec *pr, const char *key, size_t key_len)
{
    struct vg_field *f, *prev = NULL;

    for (f = pr->r->fields; f != NULL; prev = f, f = f->next) {
        if (strncmp(f->key, key, key_len) != 0 || f->key[key_len] != '\0')
            continue;
        if (prev != NULL)
            prev->next = f->next;
        else
            pr->r->fields = f->next;
        if (pr->r->fields_tail == f)
            pr->r->fields_tail = prev;
        if (pr->mark == f)
            pr->mark = prev; /* the source fields end one earlier (or there are none) */
        return true;
    }
    return false;
}

int vg_prec_rename(struct vg_prec *pr, const char *from, size_t from_len, const char *to,
                   size_t to_len)
{
    struct vg_field *f = vg_prec_find(pr, from, from_len);
    char *key;

    if (f == NULL)
        return VG_ENOENT;
    if (to_len == from_len && memcmp(from, to, to_len) == 0)
        return VG_OK;
    key = prec_dup(pr, to, to_len);
    if (key == NULL)
        return VG_ENOMEM;
    vg_prec_remove(pr, to, to_len);
    f->key = key;
    return VG_OK;
}

int vg_prec_set_body(struct vg_prec *pr, const char *v, size_t len)
{
    char *copy = prec_dup(pr, v != NULL ? v : "", v != NULL ? len : 0);

    if (copy == NULL)
        return VG_ENOMEM;
    pr->r->body = copy;
    pr->r->body_len = v != NULL ? len : 0;
    return VG_OK;
}

/*
 * process_record.c - what a processing step may do to the record it is
 * given: find, set, copy, rename and remove fields, replace the body. The
 * record is the last one of its open batch; every copy goes to that
 * batch's arena and is counted in its bytes.
 */
#include <string.h>

#include "pipeline_internal.h"
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

/* The bits of the keys the record has: the core keeps them as fields are
 * added; a record made by hand gets them here, once. */
static uint64_t prec_keys(struct vg_prec *pr)
{
    const struct vg_field *f;

    if (!pr->keys_ready && pr->r->key_bits == 0)
        for (f = pr->r->fields; f != NULL; f = f->next)
            pr->r->key_bits |= vg_key_bit(f->key, strlen(f->key));
    pr->keys_ready = true;
    return pr->r->key_bits;
}

struct vg_field *vg_prec_find(const struct vg_prec *pr, const char *key, size_t key_len)
{
    struct vg_field *f;

    if (key_len == 0 || !(prec_keys((struct vg_prec *)pr) & vg_key_bit(key, key_len)))
        return NULL;
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

/* A field that protect keeps: prec_slot's answer for it. */
static struct vg_field prec_kept;

/* The field of that key (its value to be set), or a new one appended
 * with room for `text` bytes after its key (*fresh set then); &prec_kept
 * for a protected one. NULL on out of memory. */
static struct vg_field *prec_slot(struct vg_prec *pr, const char *key, size_t key_len, size_t text,
                                  bool *fresh)
{
    struct vg_field *f = vg_prec_find(pr, key, key_len);

    *fresh = f == NULL;
    if (f != NULL)
        return pr->protect && vg_prec_is_source_field(pr, f) ? &prec_kept : f;
    f = vg_field_new(pr->arena, key, key_len, text);
    if (f == NULL)
        return NULL;
    *pr->bytes += key_len;
    vg_record_link(pr->r, f, key_len);
    return f;
}

static int prec_set_text(struct vg_prec *pr, const char *key, size_t key_len,
                         enum vg_field_type type, const char *v, size_t len)
{
    bool fresh;
    struct vg_field *f = prec_slot(pr, key, key_len, len + 1, &fresh);
    char *copy;

    if (f == NULL || f == &prec_kept)
        return f == NULL ? VG_ENOMEM : VG_EBUSY;
    if (fresh) {
        copy = (char *)f->key + key_len + 1;
        *pr->bytes += len;
    } else {
        copy = vg_prec_alloc(pr, len);
        if (copy == NULL)
            return VG_ENOMEM;
    }
    if (v != NULL && len > 0)
        memcpy(copy, v, len);
    copy[len] = '\0';
    f->type = type;
    f->in_body = pr->value_in_body;
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

/* Sets a numeric or boolean field to val's type and value. */
static int prec_set_scalar(struct vg_prec *pr, const char *key, size_t key_len,
                           const struct vg_field *val)
{
    bool fresh;
    struct vg_field *f = prec_slot(pr, key, key_len, 0, &fresh);

    if (f == NULL || f == &prec_kept)
        return f == NULL ? VG_ENOMEM : VG_EBUSY;
    f->type = val->type;
    f->in_body = false;
    f->v = val->v;
    *pr->bytes += PREC_SCALAR_BYTES;
    return VG_OK;
}

int vg_prec_set_int(struct vg_prec *pr, const char *key, size_t key_len, int64_t v)
{
    struct vg_field val = {.type = VG_FIELD_INT, .v.i = v};

    return prec_set_scalar(pr, key, key_len, &val);
}

int vg_prec_set_double(struct vg_prec *pr, const char *key, size_t key_len, double v)
{
    struct vg_field val = {.type = VG_FIELD_DOUBLE, .v.d = v};

    return prec_set_scalar(pr, key, key_len, &val);
}

int vg_prec_set_bool(struct vg_prec *pr, const char *key, size_t key_len, bool v)
{
    struct vg_field val = {.type = VG_FIELD_BOOL, .v.b = v};

    return prec_set_scalar(pr, key, key_len, &val);
}

int vg_prec_set_copy(struct vg_prec *pr, const char *key, size_t key_len,
                     const struct vg_field *from)
{
    if (from->type == VG_FIELD_STR || from->type == VG_FIELD_JSON)
        return prec_set_text(pr, key, key_len, from->type, from->v.s.ptr, from->v.s.len);
    return prec_set_scalar(pr, key, key_len, from);
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
    pr->r->key_bits |= vg_key_bit(to, to_len);
    return VG_OK;
}

int vg_prec_set_body(struct vg_prec *pr, const char *v, size_t len)
{
    char *copy = prec_dup(pr, v != NULL ? v : "", v != NULL ? len : 0);

    if (copy == NULL)
        return VG_ENOMEM;
    pr->r->body = copy;
    pr->r->body_len = v != NULL ? len : 0;
    pr->body_replaced = true;
    return VG_OK;
}

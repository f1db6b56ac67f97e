/*
 * record.c - records and their fields in a batch's arena, read access for
 * outputs, and the JSON form of their times and values (record_schema.c
 * writes whole records).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "core.h"
#include "log_metrics.h"
#include "pipeline_internal.h"
#include "process.h"

/* What a numeric or boolean value counts for in batch_max_bytes. */
#define RECORD_SCALAR_BYTES 8u

/* Copies exactly n bytes (NULs included) and terminates the copy. */
static char *record_memdup(struct vg_arena *a, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX)
        return NULL;
    p = vg_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Appends r to the array of b, which grows geometrically and is kept
 * when the batch is recycled. */
static int record_push(struct vg_batch *b, struct vg_record *r)
{
    struct vg_record **v;
    size_t cap;

    if (b->n_recs == b->cap_recs) {
        cap = b->cap_recs ? b->cap_recs * 2 : 256;
        v = vg_realloc(b->recs, cap * sizeof(*v));
        if (v == NULL)
            return VG_ENOMEM;
        b->recs = v;
        b->cap_recs = cap;
    }
    b->recs[b->n_recs++] = r;
    return VG_OK;
}

/*
 * Starts a record in the sink's open batch (sealing a full one first). The
 * body is copied into the batch's arena. NULL when e has no sink or memory
 * runs out; nothing is half-added then.
 */
struct vg_record *vg_emit_record(struct vg_emit *e, int64_t time_ns, const char *body,
                                 size_t body_len)
{
    struct vg_batch *b;
    struct vg_record *r;

    if (e == NULL || e->sink == NULL || (body == NULL && body_len > 0))
        return NULL;
    vg_sink_finish_record(e->sink);
    b = vg_sink_batch_for_record(e->sink);
    if (b == NULL)
        return NULL;
    r = vg_arena_alloc(&b->arena, sizeof(*r));
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->time_ns = time_ns;
    r->body = record_memdup(&b->arena, body != NULL ? body : "", body_len);
    if (r->body == NULL || record_push(b, r) != VG_OK)
        return NULL;
    /* only now: a failed start must leave the marks of the last record,
     * which may still be cancelled */
    e->sink->mark_bytes = b->bytes;
    e->sink->mark_bytes_total = e->sink->bytes_total;
    r->body_len = body_len;
    b->bytes += body_len;
    e->sink->unfinished = e->sink->proc != NULL || e->sink->logm != NULL;
    e->sink->records_total++;
    e->sink->bytes_total += body_len;
    return r;
}

/*
 * Takes back r, the record started last through e, with its fields: a
 * collector that could not complete it (out of memory) cancels it so that
 * no half record is delivered. Its arena bytes stay until the batch is
 * recycled. VG_OK, or VG_EINVAL when r is not the last record of the open
 * batch.
 */
int vg_emit_record_cancel(struct vg_emit *e, struct vg_record *r)
{
    struct vg_batch *b;

    if (e == NULL || e->sink == NULL || r == NULL)
        return VG_EINVAL;
    b = e->sink->open;
    if (b == NULL || b->n_recs == 0 || b->recs[b->n_recs - 1] != r)
        return VG_EINVAL;
    b->n_recs--;
    e->sink->unfinished = false;
    b->bytes = e->sink->mark_bytes;
    e->sink->bytes_total = e->sink->mark_bytes_total;
    e->sink->records_total--;
    return VG_OK;
}

struct vg_field *vg_field_new(struct vg_arena *a, const char *key, size_t klen, size_t text)
{
    struct vg_field *f;
    char *k;

    if (klen > SIZE_MAX / 2 || text > SIZE_MAX / 2)
        return NULL;
    f = vg_arena_alloc(a, sizeof(*f) + klen + 1 + text);
    if (f == NULL)
        return NULL;
    memset(f, 0, sizeof(*f));
    k = (char *)(f + 1);
    memcpy(k, key, klen);
    k[klen] = '\0';
    f->key = k;
    return f;
}

void vg_record_link(struct vg_record *r, struct vg_field *f, size_t klen)
{
    if (r->fields_tail != NULL)
        r->fields_tail->next = f;
    else
        r->fields = f;
    r->fields_tail = f;
    r->key_bits |= vg_key_bit(f->key, klen);
}

/*
 * Adds a field to r, which must be the last record emitted through e (it
 * is still in the open batch), with room for `text` bytes of value after
 * its key. Returns VG_EINVAL otherwise, VG_ENOMEM when the arena cannot
 * grow; the record is unchanged then.
 */
static int record_add(struct vg_emit *e, struct vg_record *r, const char *key,
                      enum vg_field_type type, size_t text, struct vg_field **out, size_t *klen_out)
{
    struct vg_batch *b;
    struct vg_field *f;
    size_t klen;

    if (e == NULL || e->sink == NULL || r == NULL || key == NULL)
        return VG_EINVAL;
    b = e->sink->open;
    if (b == NULL || b->n_recs == 0 || b->recs[b->n_recs - 1] != r)
        return VG_EINVAL;
    klen = strlen(key);
    f = vg_field_new(&b->arena, key, klen, text);
    if (f == NULL)
        return VG_ENOMEM;
    f->type = type;
    vg_record_link(r, f, klen);
    b->bytes += klen;
    e->sink->bytes_total += klen;
    *out = f;
    *klen_out = klen;
    return VG_OK;
}

/* A string or JSON value, copied into the field's own block. */
static int record_set_text(struct vg_emit *e, struct vg_record *r, const char *key,
                           enum vg_field_type type, const char *val, size_t len)
{
    struct vg_field *f;
    size_t klen;
    char *copy;
    int rc;

    if (e == NULL || e->sink == NULL || e->sink->open == NULL || (val == NULL && len > 0))
        return VG_EINVAL;
    rc = record_add(e, r, key, type, len + 1, &f, &klen);
    if (rc != VG_OK)
        return rc;
    copy = (char *)(f + 1) + klen + 1; /* after the key, in the field's own block */
    if (len > 0)
        memcpy(copy, val, len);
    copy[len] = '\0';
    f->v.s.ptr = copy;
    f->v.s.len = len;
    e->sink->open->bytes += len;
    e->sink->bytes_total += len;
    return VG_OK;
}

int vg_record_set_str(struct vg_emit *e, struct vg_record *r, const char *key, const char *val,
                      size_t len)
{
    return record_set_text(e, r, key, VG_FIELD_STR, val, len);
}

/* json must be valid JSON text: it is written into output as it is. */
int vg_record_set_json(struct vg_emit *e, struct vg_record *r, const char *key, const char *json,
                       size_t len)
{
    if (json == NULL || len == 0)
        return VG_EINVAL;
    return record_set_text(e, r, key, VG_FIELD_JSON, json, len);
}

static int record_set_scalar(struct vg_emit *e, struct vg_record *r, const char *key,
                             enum vg_field_type type, struct vg_field **out)
{
    size_t klen;
    int rc = record_add(e, r, key, type, 0, out, &klen);

    if (rc != VG_OK)
        return rc;
    e->sink->open->bytes += RECORD_SCALAR_BYTES;
    e->sink->bytes_total += RECORD_SCALAR_BYTES;
    return VG_OK;
}

int vg_record_set_int(struct vg_emit *e, struct vg_record *r, const char *key, int64_t v)
{
    struct vg_field *f;
    int rc = record_set_scalar(e, r, key, VG_FIELD_INT, &f);

    if (rc == VG_OK)
        f->v.i = v;
    return rc;
}

int vg_record_set_double(struct vg_emit *e, struct vg_record *r, const char *key, double v)
{
    struct vg_field *f;
    int rc = record_set_scalar(e, r, key, VG_FIELD_DOUBLE, &f);

    if (rc == VG_OK)
        f->v.d = v;
    return rc;
}

int vg_record_set_bool(struct vg_emit *e, struct vg_record *r, const char *key, bool v)
{
    struct vg_field *f;
    int rc = record_set_scalar(e, r, key, VG_FIELD_BOOL, &f);

    if (rc == VG_OK)
        f->v.b = v;
    return rc;
}

/* Drops the open batch's last record r, keeping its position so that
 * the batch still acknowledges it; false when that position cannot be
 * kept (out of memory): the record stays then. */
static bool record_drop(struct vg_sink *s, struct vg_batch *b, const struct vg_record *r)
{
    if (vg_batch_source_note(&b->drops, &b->n_drops, &b->cap_drops, r->source_id, r->offset, 0) !=
        VG_OK)
        return false;
    b->n_recs--;
    b->bytes = s->mark_bytes;
    s->dropped_total++;
    return true;
}

void vg_sink_finish_record(struct vg_sink *s)
{
    struct vg_batch *b = s->open;
    struct vg_prec pr;

    if (!s->unfinished)
        return;
    s->unfinished = false;
    if (b == NULL || b->n_recs == 0)
        return;
    memset(&pr, 0, sizeof(pr));
    pr.r = b->recs[b->n_recs - 1];
    pr.arena = &b->arena;
    pr.bytes = &b->bytes;
    pr.mark = pr.r->fields_tail;
    if ((s->finished++ & 63u) == 0) {
        s->now_ns = vg_now_ns(); /* a year for times that give none: coarse is enough */
        s->mono_ns = vg_mono_ns();
    }
    pr.now_ns = s->now_ns;
    if (s->proc != NULL && vg_process_run(s->proc, &pr) == VG_FILTER_DROP &&
        record_drop(s, b, pr.r))
        return;
    if (s->logm != NULL)
        vg_log_metrics_record(s->logm, s->c != NULL ? s->c->name : "", pr.r, s->mono_ns);
}

bool vg_emit_paused(const struct vg_emit *e)
{
    return e != NULL && e->sink != NULL && vg_sink_paused(e->sink);
}

size_t vg_batch_count(const struct vg_batch *b)
{
    return b->n_recs;
}

const struct vg_record *vg_batch_record(const struct vg_batch *b, size_t i)
{
    return i < b->n_recs ? b->recs[i] : NULL;
}

/* The first field with that key, or NULL. */
const struct vg_field *vg_record_field(const struct vg_record *r, const char *key)
{
    const struct vg_field *f;

    for (f = r->fields; f != NULL; f = f->next)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

/* Writes n as `width` decimal digits (zero-padded) at p. */
static void record_digits(char *p, int64_t n, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10);
        n /= 10;
    }
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void record_civil(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* By hand rather than gmtime_r + snprintf: every record written as JSON
 * goes through here. */
void vg_record_format_time(int64_t time_ns, char *buf, size_t size)
{
    int64_t sec = time_ns / VG_NS_PER_SEC, ns = time_ns % VG_NS_PER_SEC, days, rem, y;
    char tmp[32];
    int m, d;

    if (ns < 0) {
        ns += VG_NS_PER_SEC;
        sec--;
    }
    days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
    rem = sec - days * 86400;
    record_civil(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    memcpy(tmp, "0000-00-00T00:00:00.000000000Z", 31);
    record_digits(tmp, y, 4);
    record_digits(tmp + 5, m, 2);
    record_digits(tmp + 8, d, 2);
    record_digits(tmp + 11, rem / 3600, 2);
    record_digits(tmp + 14, rem / 60 % 60, 2);
    record_digits(tmp + 17, rem % 60, 2);
    record_digits(tmp + 20, ns, 9);
    if (size > 0) {
        size_t n = size - 1 < 30 ? size - 1 : 30;

        memcpy(buf, tmp, n);
        buf[n] = '\0';
    }
}

int vg_field_to_json(const struct vg_field *f, struct vg_buf *out)
{
    switch (f->type) {
    case VG_FIELD_STR:
        return vg_buf_json_string(out, f->v.s.ptr, f->v.s.len);
    case VG_FIELD_JSON:
        return vg_buf_append(out, f->v.s.ptr, f->v.s.len);
    case VG_FIELD_INT:
        return vg_buf_printf(out, "%lld", (long long)f->v.i);
    case VG_FIELD_DOUBLE:
        /* JSON has no NaN or infinities */
        if (!isfinite(f->v.d))
            return vg_buf_puts(out, "null");
        return vg_buf_put_double(out, f->v.d);
    case VG_FIELD_BOOL:
        return vg_buf_puts(out, f->v.b ? "true" : "false");
    }
    return VG_EINVAL;
}

/* Empties b for reuse; its arrays and one arena chunk are kept. */
void vg_batch_reset(struct vg_batch *b)
{
    vg_arena_reset(&b->arena);
    b->n_recs = 0;
    b->bytes = 0;
    b->n_sources = 0;
    b->n_drops = 0;
    b->seq = 0;
    b->next = NULL;
    atomic_store(&b->refs, 0);
}

void vg_batch_free(struct vg_batch *b)
{
    if (b == NULL)
        return;
    vg_arena_free(&b->arena);
    free(b->recs);
    free(b->sources);
    free(b->drops);
    free(b);
}

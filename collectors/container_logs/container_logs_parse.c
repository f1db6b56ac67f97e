/*
 * container_logs_parse.c - metadata from paths, fingerprints, checkpoint
 * lines. Pure functions: no I/O, tested on strings.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "container_logs_parse.h"
#include "parse/json.h"

void clog_meta_init(struct clog_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->restart_count = -1;
}

/* Copies s[0..n) into dst[size] when it fits (with its NUL); false if not. */
static bool clog_put(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool clog_is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static const char *clog_base(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

static bool clog_ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool clog_meta_from_container_link(const char *path, struct clog_meta *m)
{
    const char *b = clog_base(path), *u1, *u2, *dash;
    size_t n = strlen(b);
    struct clog_meta t = *m;

    if (!clog_ends_with(b, n, ".log"))
        return false;
    n -= 4;
    dash = memrchr(b, '-', n);
    u1 = memchr(b, '_', n);
    u2 = u1 != NULL ? memchr(u1 + 1, '_', (size_t)(b + n - u1 - 1)) : NULL;
    if (dash == NULL || u1 == NULL || u2 == NULL || dash < u2)
        return false;
    if ((size_t)(b + n - dash - 1) != 64 || !clog_is_hex(dash + 1, 64))
        return false;
    if (u1 == b || u2 == u1 + 1 || dash == u2 + 1)
        return false;
    if (!clog_put(t.pod, sizeof(t.pod), b, (size_t)(u1 - b)) ||
        !clog_put(t.namespace_, sizeof(t.namespace_), u1 + 1, (size_t)(u2 - u1 - 1)) ||
        !clog_put(t.container, sizeof(t.container), u2 + 1, (size_t)(dash - u2 - 1)) ||
        !clog_put(t.container_id, sizeof(t.container_id), dash + 1, 64))
        return false;
    *m = t;
    return true;
}

/* The start of the component before `end` (exclusive) in path. */
static const char *clog_component(const char *path, const char *end)
{
    const char *p = end;

    while (p > path && p[-1] != '/')
        p--;
    return p;
}

/* restart_count from "<n>.log" (digits only). */
/* "<n>.log", or a rotated "<n>.log.<time>[.gz]": n is the restart count. */
static bool clog_restart_count(const char *s, size_t n, int64_t *out)
{
    const char *dot = memchr(s, '.', n);
    int64_t v = 0;
    size_t i;

    if (dot != NULL && (size_t)(s + n - dot) > 5 && memcmp(dot, ".log.", 5) == 0)
        n = (size_t)(dot - s) + 4; /* rotated: what follows ".log." is its time */
    if (!clog_ends_with(s, n, ".log") || n == 4 || n > 4 + 9)
        return false;
    for (i = 0; i < n - 4; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool clog_meta_from_pod_file(const char *path, struct clog_meta *m)
{
    const char *end = path + strlen(path), *file, *cont, *dir, *u1, *u2;
    struct clog_meta t = *m;

    file = clog_component(path, end);
    if (file == path || !clog_restart_count(file, (size_t)(end - file), &t.restart_count))
        return false;
    cont = clog_component(path, file - 1);
    if (cont == path || cont == file - 1)
        return false;
    dir = clog_component(path, cont - 1);
    if (dir == cont - 1)
        return false;
    u1 = memchr(dir, '_', (size_t)(cont - 1 - dir));
    u2 = u1 != NULL ? memchr(u1 + 1, '_', (size_t)(cont - 1 - u1 - 1)) : NULL;
    if (u1 == NULL || u2 == NULL || u1 == dir || u2 == u1 + 1 || u2 + 1 == cont - 1)
        return false;
    if (!clog_put(t.namespace_, sizeof(t.namespace_), dir, (size_t)(u1 - dir)) ||
        !clog_put(t.pod, sizeof(t.pod), u1 + 1, (size_t)(u2 - u1 - 1)) ||
        !clog_put(t.pod_uid, sizeof(t.pod_uid), u2 + 1, (size_t)(cont - 1 - u2 - 1)) ||
        !clog_put(t.container, sizeof(t.container), cont, (size_t)(file - 1 - cont)))
        return false;
    *m = t;
    return true;
}

bool clog_docker_id_from_path(const char *path, char id[65])
{
    const char *b = clog_base(path), *dir;
    const char *json = strstr(b, "-json.log");

    if (json == NULL || json - b != 64 || !clog_is_hex(b, 64))
        return false;
    if (json[9] != '\0' && json[9] != '.')
        return false;
    /* the folder is named after the container too */
    if (b - path < 66)
        return false;
    dir = b - 65;
    if (memcmp(dir, b, 64) != 0 || (dir > path && dir[-1] != '/'))
        return false;
    memcpy(id, b, 64);
    id[64] = '\0';
    return true;
}

/* Copies the string member `name` of obj into dst[size] (unescaped; cut
 * when too long). Leaves dst alone when there is no such string. */
static void clog_json_copy(const struct vg_json_value *obj, const char *name, char *dst,
                           size_t size, struct vg_buf *tmp)
{
    struct vg_json_value v;

    if (vg_json_get(obj, name, &v) != VG_OK || v.kind != VG_JSON_STRING)
        return;
    vg_buf_reset(tmp);
    if (vg_json_unescape(&v, tmp) != VG_OK || tmp->len == 0)
        return;
    snprintf(dst, size, "%.*s", (int)tmp->len, tmp->data);
}

int clog_meta_from_docker_config(const char *json, size_t len, struct clog_meta *m)
{
    struct vg_json_value root, config, labels;
    struct clog_meta t = *m;
    struct vg_buf tmp;

    if (vg_json_parse(json, len, &root, NULL) != VG_OK || root.kind != VG_JSON_OBJECT)
        return VG_EPARSE;
    vg_buf_init(&tmp);
    clog_json_copy(&root, "Name", t.container_name, sizeof(t.container_name), &tmp);
    if (t.container_name[0] == '/')
        memmove(t.container_name, t.container_name + 1, strlen(t.container_name));
    if (vg_json_get(&root, "Config", &config) == VG_OK && config.kind == VG_JSON_OBJECT) {
        clog_json_copy(&config, "Image", t.image, sizeof(t.image), &tmp);
        if (vg_json_get(&config, "Labels", &labels) == VG_OK && labels.kind == VG_JSON_OBJECT) {
            clog_json_copy(&labels, "io.kubernetes.pod.namespace", t.namespace_,
                           sizeof(t.namespace_), &tmp);
            clog_json_copy(&labels, "io.kubernetes.pod.name", t.pod, sizeof(t.pod), &tmp);
            clog_json_copy(&labels, "io.kubernetes.container.name", t.container,
                           sizeof(t.container), &tmp);
            clog_json_copy(&labels, "io.kubernetes.pod.uid", t.pod_uid, sizeof(t.pod_uid), &tmp);
        }
    }
    vg_buf_free(&tmp);
    *m = t;
    return VG_OK;
}

uint64_t clog_hash(uint64_t h, const void *p, size_t n)
{
    return vg_fnv1a_more(h, p, n);
}

size_t clog_fingerprint(const char *head, size_t n, size_t max, uint64_t *hash)
{
    const char *nl = memchr(head, '\n', n < max ? n : max);
    size_t len;

    if (nl != NULL)
        len = (size_t)(nl - head) + 1;
    else if (n >= max)
        len = max;
    else
        return 0;
    *hash = clog_hash(CLOG_HASH_INIT, head, len);
    return len;
}

uint64_t clog_source_id(uint64_t dev, uint64_t ino, uint64_t fp_hash)
{
    uint64_t h = CLOG_HASH_INIT;

    h = clog_hash(h, &dev, sizeof(dev));
    h = clog_hash(h, &ino, sizeof(ino));
    h = clog_hash(h, &fp_hash, sizeof(fp_hash));
    return h != 0 ? h : 1; /* 0 means "no source" */
}

/* Appends path with backslash, newline, carriage return and tab escaped. */
static int clog_ckpt_put_path(struct vg_buf *out, const char *path)
{
    const char *p;
    int rc = VG_OK;

    for (p = path; rc == VG_OK && *p != '\0'; p++) {
        if (*p == '\\')
            rc = vg_buf_puts(out, "\\\\");
        else if (*p == '\n')
            rc = vg_buf_puts(out, "\\n");
        else if (*p == '\r')
            rc = vg_buf_puts(out, "\\r");
        else if (*p == '\t')
            rc = vg_buf_puts(out, "\\t");
        else
            rc = vg_buf_putc(out, *p);
    }
    return rc;
}

int clog_ckpt_format(const struct clog_ckpt_entry *e, struct vg_buf *out)
{
    int rc;

    rc = vg_buf_printf(out,
                       "%" PRIu64 " %" PRIu64 " %" PRIu64 " %016" PRIx64 " %" PRIu64 " %" PRIu64
                       " %" PRIu64 " ",
                       e->dev, e->ino, e->fp_len, e->fp_hash, e->offset, e->flags, e->size);
    if (rc == VG_OK)
        rc = clog_ckpt_put_path(out, e->path);
    if (rc == VG_OK)
        rc = vg_buf_putc(out, '\t');
    if (rc == VG_OK)
        rc = clog_ckpt_put_path(out, e->real != NULL ? e->real : e->path);
    return rc == VG_OK ? vg_buf_putc(out, '\n') : rc;
}

/* Reads an unsigned number in the given base up to the next space. */
static bool clog_field(const char **p, const char *end, int base, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0, d;

    if (s >= end || *s == ' ')
        return false;
    for (; s < end && *s != ' '; s++) {
        if (*s >= '0' && *s <= '9')
            d = (uint64_t)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (uint64_t)(*s - 'a' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + d;
    }
    if (s >= end)
        return false;
    *p = s + 1;
    *out = v;
    return true;
}

/* Unescapes s[0..end) into a new string (*out); v1 paths know no \t.
 * VG_OK, VG_EPARSE (empty, bad escape) or VG_ENOMEM. */
static int clog_ckpt_path(const char *s, const char *end, bool v1, char **out)
{
    char *p = vg_malloc((size_t)(end - s) + 1);
    size_t n = 0;
    bool bad = false;

    if (p == NULL)
        return VG_ENOMEM;
    for (; s < end && !bad; s++) {
        char c = *s;

        if (c == '\\') {
            c = ++s >= end ? '\0' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s == '\\' ? '\\' : '\0';
            if (s < end && *s == 't' && !v1)
                c = '\t';
            bad = c == '\0';
        }
        p[n++] = c;
    }
    p[n] = '\0';
    if (bad || n == 0) {
        free(p);
        return VG_EPARSE;
    }
    *out = p;
    return VG_OK;
}

/* The numbers of a line; v1 lines have no size. */
static bool clog_ckpt_numbers(const char **p, const char *end, bool v1, struct clog_ckpt_entry *e)
{
    e->size = 0;
    return clog_field(p, end, 10, &e->dev) && clog_field(p, end, 10, &e->ino) &&
           clog_field(p, end, 10, &e->fp_len) && clog_field(p, end, 16, &e->fp_hash) &&
           clog_field(p, end, 10, &e->offset) && clog_field(p, end, 10, &e->flags) &&
           (v1 || clog_field(p, end, 10, &e->size)) && e->fp_len != 0;
}

int clog_ckpt_parse_line(const char *line, size_t len, bool v1, struct clog_ckpt_entry *e)
{
    const char *p = line, *end = line + len, *tab;
    int rc;

    e->path = e->real = NULL;
    if (!clog_ckpt_numbers(&p, end, v1, e))
        return VG_EPARSE;
    tab = v1 ? NULL : memchr(p, '\t', (size_t)(end - p));
    if (!v1 && tab == NULL)
        return VG_EPARSE;
    rc = clog_ckpt_path(p, v1 ? end : tab, v1, &e->path);
    if (rc == VG_OK)
        rc = clog_ckpt_path(v1 ? p : tab + 1, end, v1, &e->real);
    if (rc != VG_OK)
        clog_ckpt_entry_free(e);
    return rc;
}

void clog_ckpt_entry_free(struct clog_ckpt_entry *e)
{
    free(e->path);
    free(e->real);
    e->path = e->real = NULL;
}

int clog_ckpt_entry_copy(const struct clog_ckpt_entry *e, struct clog_ckpt_entry *out)
{
    char *path = vg_strdup(e->path), *real = vg_strdup(e->real != NULL ? e->real : e->path);

    if (path == NULL || real == NULL) {
        free(path);
        free(real);
        return VG_ENOMEM;
    }
    *out = *e;
    out->path = path;
    out->real = real;
    return VG_OK;
}

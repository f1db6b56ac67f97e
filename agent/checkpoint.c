/*
 * checkpoint.c - positions of record collectors, written atomically.
 * The contract and the file format are in checkpoint.h.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

#define VG_CKPT_PLUGIN   "checkpoint"
#define VG_CKPT_MAX_FILE (VG_CKPT_MAX_KEYS * VG_CKPT_LINE_MAX)

int vg_checkpoint_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX + 8];
    char *slash;
    int fd, rc, saved;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return VG_EIO;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return VG_EIO;
    rc = vg_write_all(fd, data, len);
    if (rc == VG_OK && fsync(fd) != 0)
        rc = VG_EIO;
    if (close(fd) != 0 && rc == VG_OK)
        rc = VG_EIO;
    if (rc == VG_OK && rename(tmp, path) != 0)
        rc = VG_EIO;
    if (rc != VG_OK) {
        saved = errno; /* the caller's message names the first failure */
        unlink(tmp);
        errno = saved;
        return rc;
    }
    /* the rename itself is durable only once the folder is */
    slash = strrchr(tmp, '/');
    if (slash != NULL) {
        *slash = '\0';
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    return VG_OK;
}

static const char *vg_ckpt_who(const struct vg_checkpoint *ck)
{
    return ck->c != NULL ? ck->c->name : "";
}

static struct vg_checkpoint_kv *vg_ckpt_find(const struct vg_checkpoint *ck, const char *key,
                                             size_t klen)
{
    size_t i;

    for (i = 0; i < ck->n; i++)
        if (strlen(ck->kv[i].key) == klen && memcmp(ck->kv[i].key, key, klen) == 0)
            return (struct vg_checkpoint_kv *)&ck->kv[i];
    return NULL;
}

/* Sets key[0..klen) to value[0..vlen); VG_OK, VG_EINVAL or VG_ENOMEM. */
static int vg_ckpt_put(struct vg_checkpoint *ck, const char *key, size_t klen, const char *value,
                       size_t vlen)
{
    struct vg_checkpoint_kv *kv = vg_ckpt_find(ck, key, klen);
    char *v;

    if (klen == 0 || memchr(key, ' ', klen) != NULL || memchr(key, '\n', klen) != NULL ||
        memchr(value, '\n', vlen) != NULL || klen + vlen + 2 > VG_CKPT_LINE_MAX)
        return VG_EINVAL;
    if (kv != NULL && strlen(kv->value) == vlen && memcmp(kv->value, value, vlen) == 0)
        return VG_OK;
    if (kv == NULL && ck->n == VG_CKPT_MAX_KEYS)
        return VG_EINVAL;
    v = vg_strndup(value, vlen);
    if (v == NULL)
        return VG_ENOMEM;
    if (kv == NULL) {
        kv = &ck->kv[ck->n];
        kv->value = NULL;
        kv->key = vg_strndup(key, klen);
        if (kv->key == NULL) {
            free(v);
            return VG_ENOMEM;
        }
        ck->n++;
    }
    free(kv->value);
    kv->value = v;
    ck->dirty = true;
    return VG_OK;
}

/* Reads the lines of text; a bad line is logged and skipped, so that one
 * damaged value never stops the collector. */
static int vg_ckpt_parse(struct vg_checkpoint *ck, const char *text, size_t len)
{
    const char *p = text, *end = text + len, *nl, *sp;
    int line = 0, rc;

    for (; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        line++;
        if (p == nl || *p == '#')
            continue;
        sp = memchr(p, ' ', (size_t)(nl - p));
        rc = sp != NULL ? vg_ckpt_put(ck, p, (size_t)(sp - p), sp + 1, (size_t)(nl - sp - 1))
                        : VG_EINVAL;
        if (rc == VG_ENOMEM)
            return rc;
        if (rc != VG_OK)
            vg_log(VG_LOG_WARN, VG_CKPT_PLUGIN, vg_ckpt_who(ck),
                   "%s:%d: not a checkpoint line, skipped", ck->path, line);
    }
    ck->dirty = false;
    return VG_OK;
}

/* Appends the whole file at path to out. VG_OK, VG_ENOENT when there is
 * none, VG_EPARSE when larger than max bytes, VG_EIO or VG_ENOMEM. */
static int vg_ckpt_slurp(const char *path, size_t max, struct vg_buf *out, struct vg_error *err)
{
    char chunk[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    int rc = VG_OK;

    if (fd < 0 && errno == ENOENT)
        return VG_ENOENT;
    if (fd < 0)
        return vg_error_set(err, VG_EIO, "cannot open %s: %s", path, vg_errno_str(errno));
    while (rc == VG_OK) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = vg_error_set(err, VG_EIO, "cannot read %s: %s", path, vg_errno_str(errno));
        else if (n == 0)
            break;
        else if (out->len + (size_t)n > max)
            rc = vg_error_set(err, VG_EPARSE, "%s is larger than %zu KiB", path, max / 1024);
        else if (vg_buf_append(out, chunk, (size_t)n) != VG_OK)
            rc = vg_error_set(err, VG_ENOMEM, "out of memory");
    }
    close(fd);
    return rc;
}

/* The path of checkpoint `name` into *out (malloc'd), creating the folder
 * checkpoints/ under state_dir when missing. */
static int vg_ckpt_path(const char *state_dir, const char *name, char **out, struct vg_error *err)
{
    struct vg_buf b;

    vg_buf_init(&b);
    if (vg_buf_printf(&b, "%s/checkpoints", state_dir) != VG_OK)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    if (mkdir(b.data, 0750) != 0 && errno != EEXIST) {
        vg_error_set(err, VG_EIO, "cannot create %s: %s", b.data, vg_errno_str(errno));
        vg_buf_free(&b);
        return VG_EIO;
    }
    if (vg_buf_printf(&b, "/%s", name) != VG_OK) {
        vg_buf_free(&b);
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    }
    *out = b.data; /* the caller's now */
    return VG_OK;
}

int vg_checkpoint_load_file(const char *state_dir, const char *name, size_t max, char **path,
                            int (*parse)(void *arg, const char *text, size_t len), void *arg,
                            struct vg_error *err)
{
    struct vg_buf text;
    int rc;

    rc = vg_ckpt_path(state_dir != NULL ? state_dir : ".", name, path, err);
    if (rc != VG_OK)
        return rc;
    vg_buf_init(&text);
    rc = vg_ckpt_slurp(*path, max, &text, err);
    if (rc == VG_OK) {
        rc = parse(arg, text.data != NULL ? text.data : "", text.len);
        if (rc != VG_OK)
            vg_error_set(err, rc, "out of memory reading %s", *path);
    } else if (rc == VG_ENOENT) {
        rc = VG_OK;
    }
    vg_buf_free(&text);
    return rc;
}

static int vg_ckpt_parse_cb(void *arg, const char *text, size_t len)
{
    return vg_ckpt_parse(arg, text, len);
}

int vg_checkpoint_open(struct vg_checkpoint *ck, struct vg_collector *c, const char *state_dir,
                       const char *name, int64_t interval_ms, struct vg_error *err)
{
    int rc;

    memset(ck, 0, sizeof(*ck));
    ck->c = c;
    ck->interval_ns = vg_ms_to_ns_sat(interval_ms);
    rc = vg_checkpoint_load_file(state_dir, name, VG_CKPT_MAX_FILE, &ck->path, vg_ckpt_parse_cb, ck,
                                 err);
    if (rc != VG_OK) {
        vg_checkpoint_close(ck, false);
        return rc;
    }
    ck->loaded = true;
    if (c != NULL)
        vg_collector_checkpoint_state(c, true);
    return VG_OK;
}

const char *vg_checkpoint_get(const struct vg_checkpoint *ck, const char *key)
{
    const struct vg_checkpoint_kv *kv = vg_ckpt_find(ck, key, strlen(key));

    return kv != NULL ? kv->value : NULL;
}

bool vg_checkpoint_get_u64(const struct vg_checkpoint *ck, const char *key, uint64_t *out)
{
    const char *v = vg_checkpoint_get(ck, key);
    char *end;
    unsigned long long n;

    if (v == NULL || *v < '0' || *v > '9')
        return false;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (uint64_t)n;
    return true;
}

int vg_checkpoint_set(struct vg_checkpoint *ck, const char *key, const char *value)
{
    return vg_ckpt_put(ck, key, strlen(key), value, strlen(value));
}

int vg_checkpoint_set_u64(struct vg_checkpoint *ck, const char *key, uint64_t v)
{
    char text[24];

    snprintf(text, sizeof(text), "%" PRIu64, v);
    return vg_checkpoint_set(ck, key, text);
}

void vg_checkpoint_clear(struct vg_checkpoint *ck)
{
    size_t i;

    for (i = 0; i < ck->n; i++) {
        free(ck->kv[i].key);
        free(ck->kv[i].value);
    }
    ck->n = 0;
    ck->dirty = true;
}

int vg_checkpoint_save(struct vg_checkpoint *ck)
{
    struct vg_buf text;
    size_t i;
    int rc;

    if (!ck->dirty || ck->path == NULL)
        return VG_OK;
    vg_buf_init(&text);
    rc = vg_buf_puts(&text, VG_CKPT_HEADER);
    for (i = 0; rc == VG_OK && i < ck->n; i++)
        rc = vg_buf_printf(&text, "%s %s\n", ck->kv[i].key, ck->kv[i].value);
    if (rc == VG_OK)
        rc = vg_checkpoint_write_atomic(ck->path, text.data, text.len);
    else
        errno = ENOMEM;
    vg_buf_free(&text);
    if (rc != VG_OK) {
        vg_complain(&ck->complain, VG_LOG_ERROR, VG_CKPT_PLUGIN, vg_ckpt_who(ck),
                    "cannot write checkpoint %s: %s; /readyz fails until it is written", ck->path,
                    vg_errno_str(errno));
        if (ck->c != NULL)
            vg_collector_checkpoint_state(ck->c, false);
        return VG_EIO;
    }
    vg_complain_clear(&ck->complain, VG_CKPT_PLUGIN, vg_ckpt_who(ck), "checkpoint writing");
    if (ck->c != NULL)
        vg_collector_checkpoint_state(ck->c, true);
    ck->dirty = false;
    return VG_OK;
}

void vg_checkpoint_tick(struct vg_checkpoint *ck, int64_t now_ns)
{
    if (now_ns < ck->due_ns)
        return;
    vg_checkpoint_save(ck);
    ck->due_ns = vg_add_sat(now_ns, ck->interval_ns);
}

void vg_checkpoint_close(struct vg_checkpoint *ck, bool save)
{
    if (save && ck->loaded)
        vg_checkpoint_save(ck);
    vg_checkpoint_clear(ck);
    free(ck->path);
    ck->path = NULL;
    ck->loaded = false;
}

/* ------------------------------------------------------------------------
 * Fields of tab-separated state files (the alert states, the notifier set).
 */

int vg_checkpoint_escape(struct vg_buf *b, const char *s)
{
    int rc = VG_OK;

    for (; rc == VG_OK && *s != '\0'; s++) {
        if (*s == '\t')
            rc = vg_buf_puts(b, "\\t");
        else if (*s == '\n')
            rc = vg_buf_puts(b, "\\n");
        else if (*s == '\\')
            rc = vg_buf_puts(b, "\\\\");
        else
            rc = vg_buf_putc(b, *s);
    }
    return rc;
}

/* Unescapes field f in place (it ends at a tab, a newline or the end);
 * returns the start of the next field, or NULL after the last. */
char *vg_checkpoint_field(char *f)
{
    char *w = f, *p = f;

    for (; *p != '\0' && *p != '\t'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            *w++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *w++ = *p;
        }
    }
    if (*p == '\0') {
        *w = '\0';
        return NULL;
    }
    *w = '\0';
    return p + 1;
}

bool vg_checkpoint_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

int vg_checkpoint_lines(const char *text, size_t len, bool (*line)(void *arg, char *l), void *arg,
                        const char *plugin, const char *instance, const char *name)
{
    char *copy = vg_strndup(text, len), *l, *nl;
    size_t lineno = 0, bad = 0, first = 0;

    if (copy == NULL)
        return VG_ENOMEM;
    for (l = copy; l != NULL && *l != '\0'; l = nl) {
        nl = strchr(l, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        lineno++;
        if (l[0] == '#' || l[0] == '\0')
            continue;
        if (!line(arg, l) && bad++ == 0)
            first = lineno;
    }
    if (bad > 0)
        vg_log(VG_LOG_WARN, plugin, instance, "%s: %zu damaged line(s) skipped, the first line %zu",
               name, bad, first);
    free(copy);
    return VG_OK;
}

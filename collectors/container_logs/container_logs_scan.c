/*
 * container_logs_scan.c - discovery of the files to follow: glob patterns
 * matched at start, on inotify events in their folders and every
 * rescan_interval; identity by device, inode and fingerprint; rotation
 * (a path that now leads to another file), deletion, idle closing and
 * reopening, and the copy that copytruncate leaves behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "container_logs.h"
#include "meta.h"

#define CLOG_DIR_EVENTS                                                                            \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF)

static size_t clog_ino_bucket(const struct clog_ctx *x, uint64_t dev, uint64_t ino)
{
    uint64_t h = clog_hash(CLOG_HASH_INIT, &dev, sizeof(dev));

    return (size_t)(clog_hash(h, &ino, sizeof(ino)) & (x->n_buckets - 1));
}

static size_t clog_name_bucket(const struct clog_ctx *x, int wd, const char *base)
{
    uint64_t h = clog_hash(CLOG_HASH_INIT, &wd, sizeof(wd));

    return (size_t)(clog_hash(h, base, strlen(base)) & (x->n_buckets - 1));
}

static void clog_index_add(struct clog_ctx *x, struct clog_file *f)
{
    size_t b = clog_ino_bucket(x, f->dev, f->ino);

    f->ino_next = x->by_ino[b];
    x->by_ino[b] = f;
    b = clog_name_bucket(x, f->wd, f->base);
    f->name_next = x->by_name[b];
    x->by_name[b] = f;
}

static void clog_index_del(struct clog_ctx *x, struct clog_file *f)
{
    struct clog_file **pp;

    for (pp = &x->by_ino[clog_ino_bucket(x, f->dev, f->ino)]; *pp != NULL; pp = &(*pp)->ino_next)
        if (*pp == f) {
            *pp = f->ino_next;
            break;
        }
    for (pp = &x->by_name[clog_name_bucket(x, f->wd, f->base)]; *pp != NULL; pp = &(*pp)->name_next)
        if (*pp == f) {
            *pp = f->name_next;
            break;
        }
}

/* Keeps the hash tables at least twice as wide as the file count. */
static int clog_index_grow(struct clog_ctx *x)
{
    size_t n = x->n_buckets, want = n;
    struct clog_file **ino, **name, *f;

    while (want < 2 * (x->n_files + 1))
        want *= 2;
    if (want == n)
        return VG_OK;
    ino = vg_calloc(want, sizeof(*ino));
    name = vg_calloc(want, sizeof(*name));
    if (ino == NULL || name == NULL) {
        free(ino);
        free(name);
        return VG_ENOMEM;
    }
    free(x->by_ino);
    free(x->by_name);
    x->by_ino = ino;
    x->by_name = name;
    x->n_buckets = want;
    for (f = x->files; f != NULL; f = f->next)
        clog_index_add(x, f);
    return VG_OK;
}

struct clog_file *clog_find_ino(struct clog_ctx *x, uint64_t dev, uint64_t ino)
{
    struct clog_file *f;

    for (f = x->by_ino[clog_ino_bucket(x, dev, ino)]; f != NULL; f = f->ino_next)
        if (f->dev == dev && f->ino == ino)
            return f;
    return NULL;
}

struct clog_file *clog_find_source(struct clog_ctx *x, uint64_t source_id)
{
    struct clog_file *f;

    for (f = x->files; f != NULL; f = f->next)
        if (f->source_id == source_id)
            return f;
    return NULL;
}

/* A pattern in the folder part (/var/lib/docker/containers/ * /x.log):
 * watches the folders it matches now, and the last folder above the first
 * wildcard, so that a new matching folder (a new container) is seen at once. */
static int clog_watch_pattern_dirs(struct clog_ctx *x, char *dir)
{
    char *wild = strpbrk(dir, "*?["), *slash;
    glob_t g;
    size_t i;

    memset(&g, 0, sizeof(g));
    if (glob(dir, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0)
        for (i = 0; i < g.gl_pathc; i++)
            inotify_add_watch(x->inotify_fd, g.gl_pathv[i], CLOG_DIR_EVENTS);
    globfree(&g);
    *wild = '\0';
    slash = strrchr(dir, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    if (dir[0] != '\0')
        inotify_add_watch(x->inotify_fd, dir, CLOG_DIR_EVENTS);
    return -1;
}

static void clog_close_idle(struct clog_ctx *x, size_t keep);

/* The folder of path (a copy), for inotify. */
static int clog_watch_dir(struct clog_ctx *x, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash != NULL ? (size_t)(slash - path) : 0;

    if (x->inotify_fd < 0 || n == 0 || n >= sizeof(dir))
        return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (strpbrk(dir, "*?[") != NULL)
        return clog_watch_pattern_dirs(x, dir);
    return inotify_add_watch(x->inotify_fd, dir, CLOG_DIR_EVENTS);
}

int clog_scan_init(struct clog_ctx *x, struct vg_error *err)
{
    size_t i;

    x->n_buckets = 64;
    x->by_ino = vg_calloc(x->n_buckets, sizeof(*x->by_ino));
    x->by_name = vg_calloc(x->n_buckets, sizeof(*x->by_name));
    if (x->by_ino == NULL || x->by_name == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    x->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (x->inotify_fd < 0 || vg_collector_watch_fd(x->c, x->inotify_fd) != VG_OK) {
        vg_log(VG_LOG_WARN, CLOG_PLUGIN, x->c->name,
               "inotify unavailable (%s): new files are found every rescan_interval",
               vg_errno_str(errno));
        if (x->inotify_fd >= 0)
            close(x->inotify_fd);
        x->inotify_fd = -1;
    }
    x->pattern_files = vg_calloc(x->paths.n + 1, sizeof(*x->pattern_files));
    if (x->pattern_files == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    for (i = 0; i < x->paths.n; i++)
        clog_watch_dir(x, x->paths.v[i]);
    return VG_OK;
}

static bool clog_excluded(const struct clog_ctx *x, const char *path)
{
    const char *base = strrchr(path, '/');
    size_t i;

    base = base != NULL ? base + 1 : path;
    for (i = 0; i < x->exclude.n; i++) {
        const char *pat = x->exclude.v[i];

        if (fnmatch(pat, strchr(pat, '/') != NULL ? path : base, 0) == 0)
            return true;
    }
    return false;
}

/* Reads <folder of real>/config.v2.json into d->meta. */
static void clog_docker_read(struct clog_ctx *x, const char *real, struct clog_docker_meta *d)
{
    char path[PATH_MAX];
    const char *slash = strrchr(real, '/');
    struct vg_buf text;
    char chunk[16384];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%.*s/config.v2.json", (int)(slash - real), real);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* not Docker's folder after all, or no access: the id is enough */
    vg_buf_init(&text);
    for (n = read(fd, chunk, sizeof(chunk)); n > 0 && text.len < 4 * 1024 * 1024;
         n = read(fd, chunk, sizeof(chunk)))
        if (vg_buf_append(&text, chunk, (size_t)n) != VG_OK)
            break;
    close(fd);
    d->ok =
        text.data != NULL && clog_meta_from_docker_config(text.data, text.len, &d->meta) == VG_OK;
    if (!d->ok)
        vg_complain(&x->scan_complain, VG_LOG_WARN, CLOG_PLUGIN, x->c->name,
                    "%s: not a JSON object; only the container id is used", path);
    vg_buf_free(&text);
}

/* Docker's metadata of container id (whose log is real), from the cache
 * or read now. */
static const struct clog_meta *clog_docker_meta(struct clog_ctx *x, const char *real,
                                                const char *id)
{
    struct clog_docker_meta *d;

    for (d = x->docker; d != NULL; d = d->next)
        if (strcmp(d->id, id) == 0)
            return d->ok ? &d->meta : NULL;
    d = vg_calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    snprintf(d->id, sizeof(d->id), "%s", id);
    clog_meta_init(&d->meta);
    clog_docker_read(x, real, d);
    d->next = x->docker;
    x->docker = d;
    return d->ok ? &d->meta : NULL;
}

static void clog_meta_share(const struct clog_meta *m);

/* Fills the metadata that the paths (and Docker's config) say. */
static void clog_file_meta(struct clog_ctx *x, struct clog_file *f)
{
    const struct clog_meta *dm;
    char id[65];

    clog_meta_init(&f->meta);
    if (!x->kubernetes)
        return;
    if (clog_docker_id_from_path(f->real, id)) {
        dm = clog_docker_meta(x, f->real, id);
        if (dm != NULL)
            f->meta = *dm;
        memcpy(f->meta.container_id, id, sizeof(id));
        f->has_meta = true;
    }
    f->has_meta = clog_meta_from_container_link(f->path, &f->meta) || f->has_meta;
    f->has_meta = clog_meta_from_pod_file(f->real, &f->meta) || f->has_meta;
    if (f->has_meta)
        clog_meta_share(&f->meta);
}

/* Tells the core (meta.h) the names of the container, for the collectors
 * that know it by id only (cgroup, GPU, kernel log). */
static void clog_meta_share(const struct clog_meta *m)
{
    struct vg_meta v;

    if (m->container_id[0] == '\0')
        return;
    memset(&v, 0, sizeof(v));
    snprintf(v.namespace_, sizeof(v.namespace_), "%s", m->namespace_);
    snprintf(v.pod, sizeof(v.pod), "%s", m->pod);
    snprintf(v.container, sizeof(v.container), "%s",
             m->container[0] != '\0' ? m->container : m->container_name);
    snprintf(v.image, sizeof(v.image), "%s", m->image);
    snprintf(v.pod_uid, sizeof(v.pod_uid), "%s", m->pod_uid);
    vg_meta_put(m->container_id, &v);
}

static struct clog_file *clog_file_alloc(struct clog_ctx *x, const char *path, const char *real,
                                         const struct stat *st)
{
    struct clog_file *f = vg_calloc(1, sizeof(*f));
    char buf[PATH_MAX];
    const char *slash;

    if (f == NULL)
        return NULL;
    if (real == NULL && realpath(path, buf) == NULL)
        snprintf(buf, sizeof(buf), "%s", path);
    f->path = vg_strdup(path);
    f->real = vg_strdup(real != NULL ? real : buf);
    if (f->path == NULL || f->real == NULL) {
        free(f->path);
        free(f->real);
        free(f);
        return NULL;
    }
    slash = strrchr(f->real, '/');
    f->base = slash != NULL ? (char *)slash + 1 : f->real;
    f->dev = (uint64_t)st->st_dev;
    f->ino = (uint64_t)st->st_ino;
    f->fd = -1;
    f->wd = -1;
    f->fmt = x->fmt;
    clog_file_meta(x, f);
    return f;
}

/* Appends f to the list (discovery order: older files first). */
static void clog_file_link(struct clog_ctx *x, struct clog_file *f)
{
    struct clog_file **pp = &x->files;

    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = f;
    x->n_files++;
    clog_index_add(x, f);
}

/* Takes f out of the list only. */
static void clog_list_remove(struct clog_ctx *x, struct clog_file *f)
{
    struct clog_file **pp;

    for (pp = &x->files; *pp != NULL; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
}

void clog_file_move(struct clog_ctx *x, struct clog_file *f, struct clog_file *after)
{
    struct clog_file **pp;

    clog_list_remove(x, f);
    pp = after != NULL ? &after->next : &x->files;
    f->next = *pp;
    *pp = f;
}

void clog_file_unlink(struct clog_ctx *x, struct clog_file *f)
{
    clog_list_remove(x, f);
    clog_index_del(x, f);
    x->n_files--;
}

/* Opens the file f really is and checks it is still the same inode. */
static int clog_file_open(struct clog_ctx *x, struct clog_file *f)
{
    struct stat st;
    int fd = open(f->real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return errno == EACCES || errno == EPERM ? VG_EIO : VG_ENOENT;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != f->dev || (uint64_t)st.st_ino != f->ino) {
        close(fd);
        return VG_ENOENT;
    }
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    x->n_open++;
    x->files_opened++;
    return VG_OK;
}

struct clog_file *clog_file_add(struct clog_ctx *x, const char *path, const char *real,
                                const struct stat *st, int64_t now_ns)
{
    struct clog_file *f;
    int rc;

    f = clog_index_grow(x) == VG_OK ? clog_file_alloc(x, path, real, st) : NULL;
    if (f == NULL) {
        vg_complain(&x->nomem_complain, VG_LOG_ERROR, CLOG_PLUGIN, x->c->name,
                    "out of memory for %s: it is found again at the next scan", path);
        errno = ENOMEM;
        return NULL;
    }
    rc = clog_file_open(x, f);
    if (rc != VG_OK) {
        clog_file_free_state(f);
        errno = rc == VG_EIO ? EACCES : ENOENT;
        return NULL;
    }
    f->wd = clog_watch_dir(x, f->real);
    f->seen = true;
    f->grew_ns = now_ns;
    f->dirty = true;
    clog_file_link(x, f);
    return f;
}

/* A path the agent may not read: one warning while it stays so, counted
 * in vigil_log_files_unreadable. */
static void clog_unreadable(struct clog_ctx *x, const char *path, int err)
{
    struct clog_unreadable *u;

    for (u = x->unreadable; u != NULL; u = u->next)
        if (strcmp(u->path, path) == 0) {
            u->seen = true;
            return;
        }
    u = vg_calloc(1, sizeof(*u));
    if (u != NULL)
        u->path = vg_strdup(path);
    if (u != NULL && u->path == NULL) {
        free(u);
        u = NULL;
    }
    if (u != NULL) {
        u->seen = true;
        u->next = x->unreadable;
        x->unreadable = u;
        x->n_unreadable++;
    }
    vg_log(VG_LOG_WARN, CLOG_PLUGIN, x->c->name, "cannot read %s: %s (skipped until it can be)",
           path, vg_errno_str(err));
}

/* Forgets unreadable paths that the last scan did not meet again. */
static void clog_unreadable_sweep(struct clog_ctx *x, bool fini)
{
    struct clog_unreadable **pp = &x->unreadable, *u;

    while (*pp != NULL) {
        u = *pp;
        if (u->seen && !fini) {
            u->seen = false;
            pp = &u->next;
            continue;
        }
        *pp = u->next;
        x->n_unreadable--;
        free(u->path);
        free(u);
    }
}

/* glob() knows no context: the collector scanning now (engine thread). */
static __thread struct clog_ctx *clog_globbing;

static int clog_glob_error(const char *path, int err)
{
    if (clog_globbing != NULL && (err == EACCES || err == EPERM))
        clog_unreadable(clog_globbing, path, err);
    return 0; /* go on with the other folders */
}

/* Notes a file that ignore_older keeps out at this scan. */
static void clog_old_note(struct clog_ctx *x, const struct stat *st)
{
    uint64_t dev = (uint64_t)st->st_dev, ino = (uint64_t)st->st_ino;
    uint64_t key = clog_hash(clog_hash(CLOG_HASH_INIT, &dev, sizeof(dev)), &ino, sizeof(ino));

    /* without room it is taken for new again at the next scan: one more line */
    if (vg_grow((void **)&x->old_next, &x->cap_old_next, x->n_old_next + 1, sizeof(*x->old_next)) ==
        VG_OK)
        x->old_next[x->n_old_next++] = key;
}

static int clog_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The files that ignore_older kept out at this scan and not at the last
 * one (a file matched by two patterns counts once); this scan's become the
 * last. */
static size_t clog_old_sweep(struct clog_ctx *x)
{
    size_t i, n = 0, fresh = 0, cap;
    uint64_t *keep;

    if (x->n_old_next > 1)
        qsort(x->old_next, x->n_old_next, sizeof(*x->old_next), clog_u64_cmp);
    for (i = 0; i < x->n_old_next; i++) {
        uint64_t k = x->old_next[i];

        if (n > 0 && x->old_next[n - 1] == k)
            continue;
        x->old_next[n++] = k;
        if (x->n_old == 0 || bsearch(&k, x->old, x->n_old, sizeof(k), clog_u64_cmp) == NULL)
            fresh++;
    }
    keep = x->old;
    cap = x->cap_old;
    x->old = x->old_next;
    x->cap_old = x->cap_old_next;
    x->n_old = n;
    x->old_next = keep;
    x->cap_old_next = cap;
    x->n_old_next = 0;
    return fresh;
}

/* A new file that passed the patterns: followed from where it starts. */
static void clog_scan_new(struct clog_ctx *x, const char *path, const struct stat *st,
                          int64_t now_ns)
{
    struct clog_file *f;

    if (x->n_open >= (size_t)x->max_open_files) {
        clog_close_idle(x, (size_t)x->max_open_files - 1);
        if (x->n_open >= (size_t)x->max_open_files) {
            x->deferred = true; /* found again once read files make room */
            return;
        }
    }
    f = clog_file_add(x, path, NULL, st, now_ns);
    if (f == NULL) {
        if (errno == EACCES)
            clog_unreadable(x, path, EACCES);
        return;
    }
    clog_identify(x, f, false);
    clog_file_place(x, f, now_ns);
    vg_log(VG_LOG_DEBUG, CLOG_PLUGIN, x->c->name, "following %s from offset %llu%s", path,
           (unsigned long long)f->read_off, f->shadow ? " (a possible copy: held)" : "");
}

/* A path matched by a pattern: a file already followed, or a new one.
 * False when it is no regular file (or cannot be looked at). */
static bool clog_scan_path(struct clog_ctx *x, const char *path, int64_t now_ns)
{
    struct stat st;
    struct clog_file *f;

    if (stat(path, &st) != 0) {
        if (errno == EACCES)
            clog_unreadable(x, path, errno);
        return false;
    }
    if (!S_ISREG(st.st_mode))
        return false;
    f = clog_find_ino(x, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (f != NULL) {
        f->seen = true;
        if (f->fd < 0 && (uint64_t)st.st_size != f->size && f->rotated_ns == 0)
            clog_file_reopen(x, f);
        return true;
    }
    if (x->ignore_older_ms > 0 &&
        x->real() - (int64_t)st.st_mtime * VG_NS_PER_SEC > x->ignore_older_ms * VG_NS_PER_MS) {
        clog_old_note(x, &st);
        return true;
    }
    clog_scan_new(x, path, &st, now_ns);
    return true;
}

/* Files the patterns no longer lead to were rotated away or deleted: they
 * are read to their end and closed after rotate_wait. One that was closed
 * is looked for in its folder first. */
static void clog_mark_unseen(struct clog_ctx *x, int64_t now_ns)
{
    struct clog_file *f, *nx;

    for (f = x->files; f != NULL; f = nx) {
        nx = f->next;
        if (f->seen || f->rotated_ns != 0)
            continue;
        x->rotations++;
        if (!f->shadow) /* what was written and rotated away since the last scan */
            clog_recover_siblings(x, f, now_ns);
        if (f->shadow || (f->fd < 0 && !clog_recover_file(x, f, now_ns))) {
            clog_file_retire(x, f, now_ns);
            continue;
        }
        f->rotated_ns = now_ns;
        f->dirty = true;
        vg_log(VG_LOG_DEBUG, CLOG_PLUGIN, x->c->name,
               "%s was rotated or deleted: reading it to its end", f->path);
    }
}

/* Matches one pattern; returns how many regular files it matched (those
 * that exclude leaves out not counted). */
static size_t clog_scan_pattern(struct clog_ctx *x, const char *pattern, int64_t now_ns)
{
    size_t j, n = 0;
    glob_t g;
    int rc;

    clog_watch_dir(x, pattern); /* the folder may have appeared since */
    memset(&g, 0, sizeof(g));
    clog_globbing = x;
    rc = glob(pattern, GLOB_NOSORT, clog_glob_error, &g);
    clog_globbing = NULL;
    if (rc != 0 && rc != GLOB_NOMATCH)
        vg_complain(&x->scan_complain, VG_LOG_WARN, CLOG_PLUGIN, x->c->name, "cannot match %s: %s",
                    pattern, rc == GLOB_NOSPACE ? "out of memory" : "read error");
    for (j = 0; rc == 0 && j < g.gl_pathc; j++)
        if (!clog_excluded(x, g.gl_pathv[j]) && clog_scan_path(x, g.gl_pathv[j], now_ns))
            n++;
    globfree(&g);
    return n;
}

/*
 * Says what is collected: after the first scan, one line with the files
 * followed, what each pattern matched (or that none matches yet), the
 * rotated files found to finish, and how many files ignore_older kept
 * out; after a later scan, only the files that ignore_older kept out for
 * the first time.
 */
static void clog_log_scan(struct clog_ctx *x, size_t old)
{
    const char *sep = ": ";
    size_t i, live = 0;
    struct clog_file *f;
    struct vg_buf b;
    char age[32];

    vg_duration_text(x->ignore_older_ms, age, sizeof(age));
    if (x->started) {
        if (old > 0)
            vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name,
                   "skipped %zu more file%s not modified for %s (ignore_older); a file is "
                   "followed once it is written to",
                   old, old == 1 ? "" : "s", age);
        return;
    }
    x->started = true;
    for (f = x->files; f != NULL; f = f->next)
        live += f->rotated_ns == 0;
    vg_buf_init(&b);
    vg_buf_printf(&b, "following %zu file%s", live, live == 1 ? "" : "s");
    for (i = 0; i < x->paths.n; i++, sep = "; ") {
        if (x->pattern_files[i] == 0)
            vg_buf_printf(&b, "%sno file matches %s yet", sep, x->paths.v[i]);
        else
            vg_buf_printf(&b, "%s%zu match%s %s", sep, x->pattern_files[i],
                          x->pattern_files[i] == 1 ? "es" : "", x->paths.v[i]);
    }
    if (x->n_files > live) /* found by the search for what rotated while the agent was down */
        vg_buf_printf(&b, "; %zu rotated file%s to read to the end", x->n_files - live,
                      x->n_files - live == 1 ? "" : "s");
    if (old > 0)
        vg_buf_printf(&b, "; skipped %zu file%s not modified for %s (ignore_older)", old,
                      old == 1 ? "" : "s", age);
    vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name, "%s", b.data != NULL ? b.data : "started");
    vg_buf_free(&b);
}

void clog_scan(struct clog_ctx *x, int64_t now_ns)
{
    struct clog_file *f;
    size_t i;

    for (f = x->files; f != NULL; f = f->next)
        f->seen = false;
    x->deferred = false;
    for (i = 0; i < x->paths.n; i++)
        x->pattern_files[i] = clog_scan_pattern(x, x->paths.v[i], now_ns);
    clog_unreadable_sweep(x, false);
    if (!x->recovered_start) {
        x->recovered_start = true;
        clog_recover_start(x, now_ns); /* what was rotated away while the agent was down */
    }
    clog_mark_unseen(x, now_ns);
    x->scan_real_ns = x->real();
    clog_log_scan(x, clog_old_sweep(x));
}

/* True when a file of this name in a watched folder could be followed: the
 * last part of some pattern matches it and no name-only exclude does. */
static bool clog_name_may_match(const struct clog_ctx *x, const char *name)
{
    bool match = false;
    size_t i;

    for (i = 0; i < x->paths.n && !match; i++) {
        const char *last = strrchr(x->paths.v[i], '/');

        match = fnmatch(last != NULL ? last + 1 : x->paths.v[i], name, 0) == 0;
    }
    for (i = 0; i < x->exclude.n && match; i++)
        if (strchr(x->exclude.v[i], '/') == NULL && fnmatch(x->exclude.v[i], name, 0) == 0)
            match = false;
    return match;
}

/*
 * Marks the file an inotify event names as changed. Only what may concern
 * a followed file calls for a rescan: a folder appearing or going, a name
 * the patterns could match, a followed name, or lost events. A busy file
 * that is not followed (app.txt, an excluded debug log) is ignored, where
 * it used to make every event a rescan. True when the event mattered.
 */
static bool clog_inotify_event(struct clog_ctx *x, const struct inotify_event *ev)
{
    struct clog_file *f;
    bool found = false, named = ev->len > 0 && !(ev->mask & IN_ISDIR);

    if (ev->len > 0)
        for (f = x->by_name[clog_name_bucket(x, ev->wd, ev->name)]; f != NULL; f = f->name_next)
            if (f->wd == ev->wd && strcmp(f->base, ev->name) == 0) {
                found = true;
                if (!(ev->mask & (IN_MODIFY | IN_ATTRIB)))
                    continue;
                f->dirty = true;
                if (f->fd < 0 && f->rotated_ns == 0)
                    clog_file_reopen(x, f);
            }
    if (found)
        x->need_rescan |= (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) != 0;
    else if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF))
        x->need_rescan = true;
    else if (named && !clog_name_may_match(x, ev->name))
        return false;
    else if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY))
        x->need_rescan = true; /* a new file, or one not followed yet that grew (ignore_older) */
    else
        return false;
    return true;
}

bool clog_inotify_drain(struct clog_ctx *x)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool relevant = false;
    ssize_t n;
    char *p;
    int rounds;

    if (x->inotify_fd < 0)
        return false;
    for (rounds = 0; rounds < 64; rounds++) {
        n = read(x->inotify_fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            relevant |= clog_inotify_event(x, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    if (rounds == 64)
        relevant = true; /* more may be waiting: take the collect */
    return relevant;
}

void clog_file_close(struct clog_ctx *x, struct clog_file *f)
{
    clog_gz_close(f);
    if (f->fd < 0)
        return;
    close(f->fd);
    f->fd = -1;
    x->n_open--;
}

int clog_file_reopen(struct clog_ctx *x, struct clog_file *f)
{
    int rc = clog_file_open(x, f);

    if (rc != VG_OK)
        return rc;
    f->dirty = true;
    f->grew_ns = x->mono();
    return VG_OK;
}

/* Closes the least recently grown idle files until at most `keep` are open. */
static void clog_close_idle(struct clog_ctx *x, size_t keep)
{
    struct clog_file *f, *oldest;

    while (x->n_open > keep) {
        oldest = NULL;
        for (f = x->files; f != NULL; f = f->next)
            if (f->fd >= 0 && f->rotated_ns == 0 && f->read_off >= f->size &&
                clog_file_deadline(x, f) == INT64_MAX &&
                (oldest == NULL || f->grew_ns < oldest->grew_ns))
                oldest = f;
        if (oldest == NULL)
            return;
        clog_file_close(x, oldest);
    }
}

void clog_limit_open(struct clog_ctx *x)
{
    clog_close_idle(x, (size_t)x->max_open_files);
}

void clog_scan_fini(struct clog_ctx *x)
{
    struct clog_file *f;
    size_t i;

    while (x->files != NULL) {
        f = x->files;
        x->files = f->next;
        clog_file_close(x, f);
        clog_file_free_state(f);
    }
    clog_gone_fini(x);
    clog_unreadable_sweep(x, true);
    for (i = 0; x->ckpts != NULL && i < x->n_ckpts; i++)
        clog_ckpt_entry_free(&x->ckpts[i]);
    if (x->inotify_fd >= 0) {
        vg_collector_unwatch_fd(x->c, x->inotify_fd);
        close(x->inotify_fd);
        x->inotify_fd = -1;
    }
    while (x->docker != NULL) {
        struct clog_docker_meta *d = x->docker;

        x->docker = d->next;
        free(d);
    }
    free(x->by_ino);
    free(x->by_name);
    free(x->pattern_files);
    free(x->old);
    free(x->old_next);
    x->pattern_files = NULL;
    x->old = x->old_next = NULL;
    free(x->ckpts);
    free(x->ckpt_used);
    free(x->ckpt_path);
}

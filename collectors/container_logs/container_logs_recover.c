/*
 * container_logs_recover.c - files rotated away before they were read to
 * their end, found again in the folder where they lived: by device and
 * inode (kubelet's 0.log.<time>, dockerd's -json.log.N, logrotate's .1 or
 * -YYYYMMDD), or, once compressed (kubelet gzips all but the newest rotated
 * file, logrotate's `compress`), as a .gz whose first decompressed bytes
 * carry the file's fingerprint; then read on from the checkpoint with
 * zlib, streaming, in bounded memory. Files that were created and rotated
 * away while nobody looked (the agent down, or a burst between two scans)
 * are found the same way and read whole. What cannot be found is warned
 * about and counted in vigil_log_lost_bytes_total{reason="rotated_away"}.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "container_logs.h"

#define CLOG_GZ_CHUNK     (64 * 1024)
#define CLOG_CANDS_MAX    4096 /* files of one folder looked at, at most */
#define CLOG_GZIP_MAGIC_0 0x1f
#define CLOG_GZIP_MAGIC_1 0x8b
/* File times come from a coarser clock than the checkpoint's own time:
 * a file written just after a checkpoint may look a little older. The
 * files counted in by this margin are still checked against what is known. */
#define CLOG_MTIME_SLACK_NS (2 * VG_NS_PER_SEC)

/* A .gz read as a stream: the inflate state and its buffers exist only
 * while it is being read (from the first read to the end of the stream),
 * so that many files waiting their turn cost a descriptor each, no more. */
struct clog_gz {
    gzFile gz;         /* NULL before the first read and after the end */
    int fd;            /* the compressed file (its clog_file's; not ours) */
    struct vg_buf win; /* decompressed bytes [win_off, win_off + win.len) */
    uint64_t win_off;
    uint64_t dev, ino; /* the identity of the file it was compressed from */
    bool eof;
};

/* A file of a folder that may be a rotated-away one. */
struct clog_cand {
    char *path;
    struct stat st;
    char head[CLOG_FP_MAX];
    size_t head_len;
    bool gz;
    bool taken; /* known already: followed, recovered, or read before */
};

struct clog_cands {
    struct clog_cand *v;
    size_t n, cap;
    size_t examined;
};

/* ---- gzip reading ----------------------------------------------------------- */

static struct clog_gz *clog_gz_open(int fd, uint64_t dev, uint64_t ino)
{
    struct clog_gz *z = vg_calloc(1, sizeof(*z));

    if (z == NULL)
        return NULL;
    z->fd = fd;
    vg_buf_init(&z->win);
    z->dev = dev;
    z->ino = ino;
    return z;
}

/* Starts (or starts again) the stream from the beginning of the file. */
static bool clog_gz_start(struct clog_gz *z)
{
    int dfd;

    if (z->gz != NULL) {
        gzclose(z->gz);
        z->gz = NULL;
    }
    dfd = dup(z->fd);
    if (dfd >= 0 && lseek(dfd, 0, SEEK_SET) == 0)
        z->gz = gzdopen(dfd, "rb");
    if (z->gz == NULL) {
        if (dfd >= 0)
            close(dfd);
        return false;
    }
    gzbuffer(z->gz, CLOG_GZ_CHUNK);
    z->win.len = 0;
    z->win_off = 0;
    z->eof = false;
    return true;
}

static void clog_gz_free(struct clog_gz *z)
{
    if (z->gz != NULL)
        gzclose(z->gz);
    vg_buf_free(&z->win);
    free(z);
}

void clog_gz_close(struct clog_file *f)
{
    if (f->gz == NULL)
        return;
    clog_gz_free(f->gz);
    f->gz = NULL;
}

void clog_gz_identity(const struct clog_file *f, uint64_t *dev, uint64_t *ino)
{
    if (f->gz == NULL)
        return;
    *dev = f->gz->dev;
    *ino = f->gz->ino;
}

/* Decompresses up to one chunk more into the window; false at the end (a
 * damaged or unfinished stream ends where it stops making sense). */
static bool clog_gz_more(struct clog_gz *z)
{
    int n;

    if (z->eof)
        return false;
    if ((z->gz == NULL && !clog_gz_start(z)) || vg_buf_reserve(&z->win, CLOG_GZ_CHUNK) != VG_OK)
        return false;
    n = gzread(z->gz, z->win.data + z->win.len, CLOG_GZ_CHUNK);
    if (n <= 0) {
        z->eof = true; /* what is in the window stays; the stream goes */
        gzclose(z->gz);
        z->gz = NULL;
        return false;
    }
    z->win.len += (size_t)n;
    return true;
}

/* Drops what lies before off from the window, decompressing to get there. */
static bool clog_gz_skip(struct clog_gz *z, uint64_t off)
{
    if (off < z->win_off && !clog_gz_start(z)) /* backwards: from the start again (rare) */
        return false;
    while (z->win_off < off) {
        uint64_t drop = off - z->win_off;

        if (z->win.len == 0 && !clog_gz_more(z))
            return false;
        if (drop > z->win.len)
            drop = z->win.len;
        memmove(z->win.data, z->win.data + drop, z->win.len - (size_t)drop);
        z->win.len -= (size_t)drop;
        z->win_off += drop;
    }
    if (z->eof && z->win.len == 0)
        vg_buf_free(&z->win); /* read to its end: nothing more to hold */
    return true;
}

static ssize_t clog_gz_pread(struct clog_gz *z, char *buf, size_t want, uint64_t off)
{
    size_t n;

    if (!clog_gz_skip(z, off))
        return 0;
    while (z->win.len < want && clog_gz_more(z))
        ;
    n = z->win.len < want ? z->win.len : want;
    if (n > 0)
        memcpy(buf, z->win.data, n);
    return (ssize_t)n;
}

ssize_t clog_pread(struct clog_ctx *x, struct clog_file *f, char *buf, size_t want, uint64_t off)
{
    ssize_t n;

    (void)x;
    if (f->gz == NULL)
        return pread(f->fd, buf, want, (off_t)off);
    n = clog_gz_pread(f->gz, buf, want, off);
    if (f->gz->eof && f->size == UINT64_MAX && f->gz->win_off + f->gz->win.len >= off)
        f->size = f->gz->win_off + f->gz->win.len; /* the end of the stream: its size */
    return n;
}

/* ---- candidates -------------------------------------------------------------- */

/* Reads the first bytes of an open candidate, decompressed when it is gzip. */
static void clog_cand_head(struct clog_cand *c, int fd)
{
    ssize_t n = pread(fd, c->head, sizeof(c->head), 0);
    struct clog_gz *z;

    c->head_len = n > 0 ? (size_t)n : 0;
    c->gz = c->head_len >= 2 && (unsigned char)c->head[0] == CLOG_GZIP_MAGIC_0 &&
            (unsigned char)c->head[1] == CLOG_GZIP_MAGIC_1;
    if (!c->gz)
        return;
    z = clog_gz_open(fd, 0, 0);
    if (z == NULL) {
        c->head_len = 0;
        return;
    }
    n = clog_gz_pread(z, c->head, sizeof(c->head), 0);
    c->head_len = n > 0 ? (size_t)n : 0;
    clog_gz_free(z);
}

/* True when the candidate's first fp_len bytes hash to fp_hash. */
static bool clog_cand_fp(const struct clog_cand *c, uint64_t fp_len, uint64_t fp_hash)
{
    return fp_len != 0 && c->head_len >= fp_len &&
           clog_hash(CLOG_HASH_INIT, c->head, (size_t)fp_len) == fp_hash;
}

/* True when name begins with one of the base names (then "", "." or "-"). */
static bool clog_cand_named(const char *name, const char *const *bases, size_t n)
{
    size_t i, len;

    for (i = 0; i < n; i++) {
        len = strlen(bases[i]);
        if (strncmp(name, bases[i], len) == 0 &&
            (name[len] == '\0' || name[len] == '.' || name[len] == '-'))
            return true;
    }
    return false;
}

static void clog_cands_free(struct clog_cands *cs)
{
    size_t i;

    for (i = 0; i < cs->n; i++)
        free(cs->v[i].path);
    free(cs->v);
    memset(cs, 0, sizeof(*cs));
}

/* Adds dir/name when it is a regular file that can be read. */
static void clog_cands_add(struct clog_cands *cs, const char *dir, const char *name)
{
    struct clog_cand *c;
    struct vg_buf p;
    int fd;

    vg_buf_init(&p);
    if (vg_buf_printf(&p, "%s/%s", dir, name) != VG_OK ||
        vg_grow((void **)&cs->v, &cs->cap, cs->n + 1, sizeof(*cs->v)) != VG_OK) {
        vg_buf_free(&p);
        return;
    }
    c = &cs->v[cs->n];
    memset(c, 0, sizeof(*c));
    cs->examined++;
    fd = open(p.data, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &c->st) != 0 || !S_ISREG(c->st.st_mode)) {
        if (fd >= 0)
            close(fd);
        vg_buf_free(&p);
        return;
    }
    clog_cand_head(c, fd);
    close(fd);
    c->path = p.data; /* ours now */
    cs->n++;
}

static bool clog_name_ends(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);

    return n > k && strcmp(name + n - k, suffix) == 0;
}

/* The files of dir whose names begin with one of bases; a name ending in
 * ".tmp" is a compression still being written (kubelet and the usual
 * rotators write the .gz under a temporary name, then rename it). */
static void clog_cands_list(struct clog_ctx *x, const char *dir, const char *const *bases,
                            size_t n_bases, struct clog_cands *cs)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    memset(cs, 0, sizeof(*cs));
    if (d == NULL)
        return;
    for (de = readdir(d); de != NULL && cs->examined < CLOG_CANDS_MAX; de = readdir(d))
        if (de->d_name[0] != '.' && clog_cand_named(de->d_name, bases, n_bases) &&
            !clog_name_ends(de->d_name, ".tmp"))
            clog_cands_add(cs, dir, de->d_name);
    if (de != NULL)
        vg_complain(&x->scan_complain, VG_LOG_WARN, CLOG_PLUGIN, x->c->name,
                    "%s holds more than %d rotated files: the rest are not looked at", dir,
                    CLOG_CANDS_MAX);
    closedir(d);
}

/* The candidate holding the file of that identity: the same inode with its
 * fingerprint, else a gzip copy of it. NULL if none. */
static struct clog_cand *clog_cands_find(struct clog_cands *cs, uint64_t dev, uint64_t ino,
                                         uint64_t fp_len, uint64_t fp_hash)
{
    size_t i;

    for (i = 0; i < cs->n; i++)
        if (!cs->v[i].gz && (uint64_t)cs->v[i].st.st_dev == dev &&
            (uint64_t)cs->v[i].st.st_ino == ino && clog_cand_fp(&cs->v[i], fp_len, fp_hash))
            return &cs->v[i];
    for (i = 0; i < cs->n; i++)
        if (cs->v[i].gz && !cs->v[i].taken && clog_cand_fp(&cs->v[i], fp_len, fp_hash))
            return &cs->v[i];
    return NULL;
}

/* ---- recovering ------------------------------------------------------------- */

/* Follows candidate c as a rotated file of identity (dev, ino, fp), found
 * by `path` (whose metadata its records carry), from offset start. */
static struct clog_file *clog_recover_add(struct clog_ctx *x, const char *path, struct clog_cand *c,
                                          const struct clog_ckpt_entry *id, const char *base,
                                          uint64_t start, int64_t now_ns)
{
    struct clog_file *f = clog_file_add(x, path, c->path, &c->st, now_ns);
    const char *slash = strrchr(c->path, '/');
    struct vg_buf origin;

    c->taken = true;
    if (f == NULL)
        return NULL;
    vg_buf_init(&origin);
    if (vg_buf_printf(&origin, "%.*s/%s", (int)(slash - c->path), c->path, base) == VG_OK)
        f->origin = origin.data; /* ours now */
    if (c->gz) {
        f->gz = clog_gz_open(f->fd, id->dev, id->ino);
        f->size = UINT64_MAX; /* known once the stream is read to its end */
        if (f->gz == NULL) {
            clog_file_retire(x, f, now_ns);
            return NULL;
        }
    }
    f->fp_len = id->fp_len;
    f->fp_hash = id->fp_hash;
    f->source_id = clog_source_id(id->dev, id->ino, id->fp_hash);
    f->read_off = f->emitted_off = f->acked_off = start;
    f->fresh = start == 0;
    f->rotated_ns = now_ns;
    f->not_copy = true;
    x->recovered[c->gz ? 1 : 0]++;
    return f;
}

static bool clog_cand_known(struct clog_ctx *x, const struct clog_cand *c);

/* What could not be found: one warning with the bytes, and the counter. */
static void clog_recover_lost(struct clog_ctx *x, const char *path, const char *real,
                              uint64_t offset, uint64_t size)
{
    if (size > offset) {
        x->lost_rotated_bytes += size - offset;
        vg_log(VG_LOG_WARN, CLOG_PLUGIN, x->c->name,
               "%s (%s) was rotated away and is gone: %llu bytes from offset %llu to %llu were "
               "not read",
               path, real, (unsigned long long)(size - offset), (unsigned long long)offset,
               (unsigned long long)size);
    } else if (size == 0) {
        vg_log(VG_LOG_WARN, CLOG_PLUGIN, x->c->name,
               "%s (%s) was rotated away and is gone: what followed offset %llu was not read", path,
               real, (unsigned long long)offset);
    }
}

/* Remembers a checkpoint that no file took as a gone file: its copies and
 * compressed copies are then known when they turn up. */
static void clog_recover_keep(struct clog_ctx *x, struct clog_ckpt_entry *e, int64_t now_ns)
{
    struct clog_gone *g = vg_calloc(1, sizeof(*g));

    if (g == NULL)
        return;
    g->e = *e;
    g->e.flags |= CLOG_CKPT_GONE;
    if (g->e.size < g->e.offset)
        g->e.size = g->e.offset;
    g->source_id = clog_source_id(e->dev, e->ino, e->fp_hash);
    g->read_off = g->e.size;
    g->gone_ns = now_ns;
    g->next = x->gone;
    x->gone = g;
    x->n_gone++;
    e->path = e->real = NULL; /* the gone file owns the strings now */
}

/* A file to read again: a candidate, the identity and offset it is read
 * with, and the path whose metadata its records carry. */
struct clog_pick {
    struct clog_cand *c;
    struct clog_ckpt_entry id;
    struct clog_ckpt_entry *e; /* the checkpoint it continues, or NULL */
    const char *path;
    const char *base; /* the name it was rotated from */
};

struct clog_picks {
    struct clog_pick *v;
    size_t n, cap;
};

static void clog_picks_add(struct clog_picks *ps, struct clog_cand *c,
                           const struct clog_ckpt_entry *id, struct clog_ckpt_entry *e,
                           const char *path, const char *base)
{
    if (vg_grow((void **)&ps->v, &ps->cap, ps->n + 1, sizeof(*ps->v)) != VG_OK)
        return; /* not read now: counted lost below if it was a checkpoint */
    ps->v[ps->n].c = c;
    ps->v[ps->n].id = *id;
    ps->v[ps->n].e = e;
    ps->v[ps->n].path = path;
    ps->v[ps->n].base = base;
    ps->n++;
    c->taken = true;
}

/* What follows the name a file was rotated from: dockerd's and logrotate's
 * ".N" (a higher N is older), or a time (kubelet's ".20261202-100000",
 * logrotate's "-20261202": later is newer); ".gz" left out. *num is set
 * for a small number; "" (not rotated) sorts last. */
static size_t clog_rot_suffix(const struct clog_pick *p, const char **suf, long *num)
{
    const char *name = strrchr(p->c->path, '/') + 1, *end;
    size_t n;

    *num = -1;
    *suf = "";
    if (strncmp(name, p->base, strlen(p->base)) != 0)
        return SIZE_MAX; /* named otherwise: only its time tells */
    name += strlen(p->base);
    if (*name == '.' || *name == '-')
        name++;
    end = name + strlen(name);
    if (end - name > 3 && strcmp(end - 3, ".gz") == 0)
        end -= 3;
    n = (size_t)(end - name);
    *suf = name;
    *num = -1;
    if (n > 0 && n < 4 && strspn(name, "0123456789") == n)
        *num = strtol(name, NULL, 10);
    return n;
}

/* Oldest first, by the rotation's naming, then by modification time. */
static int clog_pick_cmp(const void *a, const void *b)
{
    const struct clog_pick *x = a, *y = b;
    const struct stat *sx = &x->c->st, *sy = &y->c->st;
    const char *fx, *fy;
    long nx, ny;
    size_t lx = clog_rot_suffix(x, &fx, &nx), ly = clog_rot_suffix(y, &fy, &ny);
    int64_t tx, ty;
    int c;

    if (lx == SIZE_MAX || ly == SIZE_MAX)
        lx = ly = SIZE_MAX; /* by time alone */
    else if ((lx == 0) != (ly == 0))
        return lx == 0 ? 1 : -1;
    if (nx >= 0 && ny >= 0 && nx != ny)
        return nx > ny ? -1 : 1;
    if (nx < 0 && ny < 0 && lx > 0 && ly > 0 && lx != SIZE_MAX) {
        c = strncmp(fx, fy, lx < ly ? lx : ly);
        if (c != 0 || lx != ly)
            return c != 0 ? c : (lx < ly ? -1 : 1);
    }
    tx = (int64_t)sx->st_mtim.tv_sec * VG_NS_PER_SEC + sx->st_mtim.tv_nsec;
    ty = (int64_t)sy->st_mtim.tv_sec * VG_NS_PER_SEC + sy->st_mtim.tv_nsec;
    return tx < ty ? -1 : tx > ty;
}

/*
 * A plain file picked from a listing was gone when it was opened: a
 * rotator compressed it in between (the .gz renamed into place, then the
 * plain file deleted). Its compressed copy is read in its place, where it
 * was picked, not later as a file nobody has seen.
 */
static struct clog_file *clog_recover_compressed(struct clog_ctx *x, struct clog_pick *p,
                                                 uint64_t start, int64_t now_ns)
{
    const char *slash = strrchr(p->c->path, '/');
    struct clog_file *f = NULL;
    struct clog_cands cs;
    struct vg_buf dir, name;

    memset(&cs, 0, sizeof(cs));
    vg_buf_init(&dir);
    vg_buf_init(&name);
    if (vg_buf_printf(&dir, "%.*s", (int)(slash - p->c->path), p->c->path) == VG_OK &&
        vg_buf_printf(&name, "%s.gz", slash + 1) == VG_OK)
        clog_cands_add(&cs, dir.data, name.data);
    if (cs.n == 1 && cs.v[0].gz && clog_cand_fp(&cs.v[0], p->id.fp_len, p->id.fp_hash) &&
        !clog_cand_known(x, &cs.v[0]))
        f = clog_recover_add(x, p->path, &cs.v[0], &p->id, p->base, start, now_ns);
    clog_cands_free(&cs);
    vg_buf_free(&dir);
    vg_buf_free(&name);
    return f;
}

/* Follows what was picked, oldest first, read right after `after` (the
 * file they were rotated after), or before everything (at start: they are
 * older than what the patterns lead to now). */
static void clog_picks_follow(struct clog_ctx *x, struct clog_picks *ps, struct clog_file *after,
                              int64_t now_ns)
{
    struct clog_file *f;
    size_t i;

    if (ps->n > 1)
        qsort(ps->v, ps->n, sizeof(*ps->v), clog_pick_cmp);
    for (i = 0; i < ps->n; i++) {
        struct clog_pick *p = &ps->v[i];

        uint64_t start = p->e != NULL ? p->e->offset : 0;

        f = clog_recover_add(x, p->path, p->c, &p->id, p->base, start, now_ns);
        if (f == NULL && errno == ENOENT && !p->c->gz)
            f = clog_recover_compressed(x, p, start, now_ns);
        if (f == NULL) {
            if (p->e != NULL)
                clog_recover_keep(x, p->e, now_ns);
            continue;
        }
        clog_file_move(x, f, after);
        after = f;
        vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name,
               p->e != NULL ? "%s was rotated away unread: reading %s from offset %llu"
                            : "%s: %s was written and rotated away unseen: reading it from %llu",
               p->path, f->real, (unsigned long long)start);
    }
    free(ps->v);
    memset(ps, 0, sizeof(*ps));
}

/* One checkpoint of the folder whose file the patterns did not reach:
 * picked when its file is found with bytes left, kept as gone when it is
 * done, warned about and counted when it is gone. */
static void clog_recover_entry(struct clog_ctx *x, struct clog_ckpt_entry *e, struct clog_cands *cs,
                               struct clog_picks *ps, int64_t now_ns)
{
    struct clog_cand *c = clog_cands_find(cs, e->dev, e->ino, e->fp_len, e->fp_hash);
    bool done = (e->flags & CLOG_CKPT_GONE) && e->size > 0 && e->offset >= e->size;

    if (c == NULL || done || (!c->gz && e->offset >= (uint64_t)c->st.st_size)) {
        if (c != NULL)
            c->taken = true;
        else if (!done)
            clog_recover_lost(x, e->path, e->real, e->offset, e->size);
        clog_recover_keep(x, e, now_ns);
        return;
    }
    clog_picks_add(ps, c, e, e, e->path, strrchr(e->real, '/') + 1);
}

/* True when f, followed but not identified yet (too short when it was
 * found, and not read since: the reader was busy with older files),
 * begins with the candidate's head, whole: the candidate is f's rotated
 * or compressed copy. */
static bool clog_cand_unidentified(struct clog_ctx *x, struct clog_file *f,
                                   const struct clog_cand *c)
{
    char head[CLOG_FP_MAX];
    ssize_t n;

    if (f->fp_len != 0 || f->fd < 0 || f->gz != NULL || c->head_len == 0)
        return false;
    n = clog_pread(x, f, head, sizeof(head), 0);
    return n > 0 && (size_t)n == c->head_len && memcmp(head, c->head, c->head_len) == 0;
}

/* True when the candidate's content is known already: a followed file
 * (identified or not), a gone one, or a checkpoint (a copy or a compressed
 * copy included). */
static bool clog_cand_known(struct clog_ctx *x, const struct clog_cand *c)
{
    struct clog_file *f;
    const struct clog_gone *g;
    size_t i;

    if (!c->gz && clog_find_ino(x, (uint64_t)c->st.st_dev, (uint64_t)c->st.st_ino) != NULL)
        return true;
    for (f = x->files; f != NULL; f = f->next)
        if (clog_cand_fp(c, f->fp_len, f->fp_hash) || clog_cand_unidentified(x, f, c))
            return true;
    for (g = x->gone; g != NULL; g = g->next)
        if (clog_cand_fp(c, g->e.fp_len, g->e.fp_hash))
            return true;
    for (i = 0; i < x->n_ckpts; i++)
        if (clog_cand_fp(c, x->ckpts[i].fp_len, x->ckpts[i].fp_hash))
            return true;
    return false;
}

/* A file under the name of a live one (not rotated): the patterns' to
 * find, even when it appeared just after they were matched. */
static bool clog_cand_live(const struct clog_cand *c, const char *const *bases, size_t n)
{
    const char *name = strrchr(c->path, '/') + 1;
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(name, bases[i]) == 0)
            return true;
    return false;
}

/* The index of the longest base name the candidate's name begins with. */
static size_t clog_cand_owner(const struct clog_cand *c, const char *const *bases, size_t n)
{
    const char *name = strrchr(c->path, '/') + 1;
    size_t i, best = 0, best_len = 0;

    for (i = 0; i < n; i++)
        if (strlen(bases[i]) > best_len && clog_cand_named(name, &bases[i], 1)) {
            best = i;
            best_len = strlen(bases[i]);
        }
    return best;
}

/* Picks the files of the folder modified after since that nobody has
 * seen: they are read whole, as rotated files of their owner's path. */
static void clog_recover_unseen(struct clog_ctx *x, struct clog_cands *cs, const char *const *bases,
                                const char *const *paths, size_t n_b, int64_t since_ns,
                                struct clog_picks *ps)
{
    struct clog_ckpt_entry id;
    size_t i, k, o;

    /* plain files first: a .gz of one of them (listed while it was being
     * compressed) is the same content, read once, from the plain file */
    for (i = 0; i < 2 * cs->n; i++) {
        struct clog_cand *c = &cs->v[i % cs->n];
        int64_t mtime = (int64_t)c->st.st_mtim.tv_sec * VG_NS_PER_SEC + c->st.st_mtim.tv_nsec;

        if (c->gz != (i >= cs->n) || c->taken || mtime <= since_ns - CLOG_MTIME_SLACK_NS ||
            clog_cand_live(c, bases, n_b) || clog_cand_known(x, c))
            continue;
        for (k = 0; c->gz && k < ps->n; k++)
            if (clog_cand_fp(c, ps->v[k].id.fp_len, ps->v[k].id.fp_hash))
                break;
        if (c->gz && k < ps->n)
            continue;
        memset(&id, 0, sizeof(id));
        id.dev = (uint64_t)c->st.st_dev;
        id.ino = (uint64_t)c->st.st_ino;
        id.fp_len = clog_fingerprint(c->head, c->head_len, c->head_len, &id.fp_hash);
        if (id.fp_len == 0)
            continue;
        o = clog_cand_owner(c, bases, n_b);
        clog_picks_add(ps, c, &id, NULL, paths[o], bases[o]);
    }
}

/* The folder of a path, into dir[size]; false when it has none or is too long. */
static bool clog_dirname(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash != NULL ? (size_t)(slash - path) : 0;

    if (n == 0 || n >= size)
        return false;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return true;
}

/* The checkpoints whose file lived in dir: each one found, kept or lost;
 * then the files of dir written since the checkpoints were. */
static void clog_recover_dir(struct clog_ctx *x, const char *dir, bool *done, int64_t now_ns)
{
    const char **bases = vg_calloc(x->n_ckpts + 1, sizeof(*bases));
    const char **paths = vg_calloc(x->n_ckpts + 1, sizeof(*paths));
    struct clog_picks ps = {0};
    struct clog_cands cs;
    char d[PATH_MAX];
    size_t i, n = 0;

    for (i = 0; bases != NULL && paths != NULL && i < x->n_ckpts; i++)
        if (!done[i] && clog_dirname(x->ckpts[i].real, d, sizeof(d)) && strcmp(d, dir) == 0) {
            bases[n] = strrchr(x->ckpts[i].real, '/') + 1;
            paths[n++] = x->ckpts[i].path;
        }
    if (bases == NULL || paths == NULL) {
        free(bases);
        free(paths);
        return; /* out of memory: the checkpoints are counted lost below */
    }
    clog_cands_list(x, dir, bases, n, &cs);
    if (x->listed != NULL)
        x->listed(x->listed_arg, dir);
    for (i = 0; i < x->n_ckpts; i++) {
        if (done[i] || !clog_dirname(x->ckpts[i].real, d, sizeof(d)) || strcmp(d, dir) != 0)
            continue;
        done[i] = true;
        if (!x->ckpt_used[i]) /* else the patterns reach it: followed */
            clog_recover_entry(x, &x->ckpts[i], &cs, &ps, now_ns);
    }
    if (x->ckpt_written_ns > 0 && n > 0)
        clog_recover_unseen(x, &cs, bases, paths, n, x->ckpt_written_ns, &ps);
    clog_picks_follow(x, &ps, NULL, now_ns);
    x->recover_examined += cs.examined;
    clog_cands_free(&cs);
    free(bases);
    free(paths);
}

void clog_recover_start(struct clog_ctx *x, int64_t now_ns)
{
    bool *done = vg_calloc(x->n_ckpts + 1, sizeof(*done));
    uint64_t before[2] = {x->recovered[0], x->recovered[1]}, lost = x->lost_rotated_bytes;
    int64_t t0 = x->mono();
    char dir[PATH_MAX];
    size_t i, dirs = 0;

    for (i = 0; done != NULL && i < x->n_ckpts; i++) {
        if (done[i])
            continue;
        if (!clog_dirname(x->ckpts[i].real, dir, sizeof(dir))) {
            done[i] = true;
            continue;
        }
        clog_recover_dir(x, dir, done, now_ns);
        dirs++;
    }
    if (dirs > 0)
        vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name,
               "%zu checkpoints in %zu folders: %llu files examined in %.1f ms; %llu rotated "
               "files found (%llu gzip), %llu bytes lost",
               x->n_ckpts, dirs, (unsigned long long)x->recover_examined,
               (double)(x->mono() - t0) / 1e6,
               (unsigned long long)(x->recovered[0] + x->recovered[1] - before[0] - before[1]),
               (unsigned long long)(x->recovered[1] - before[1]),
               (unsigned long long)(x->lost_rotated_bytes - lost));
    free(done);
    for (i = 0; i < x->n_ckpts; i++)
        clog_ckpt_entry_free(&x->ckpts[i]);
    free(x->ckpts);
    free(x->ckpt_used);
    x->ckpts = NULL;
    x->ckpt_used = NULL;
    x->n_ckpts = 0;
}

/* Points f at the file it now is (renamed within its folder). */
static bool clog_file_moved(struct clog_file *f, const char *real)
{
    char *copy = vg_strdup(real);
    const char *slash;

    if (copy == NULL)
        return false;
    if (f->origin == NULL)
        f->origin = f->real; /* the name it was rotated from stays in its checkpoint */
    else
        free(f->real);
    f->real = copy;
    slash = strrchr(f->real, '/');
    f->base = slash != NULL ? (char *)slash + 1 : f->real;
    return true;
}

bool clog_recover_file(struct clog_ctx *x, struct clog_file *f, int64_t now_ns)
{
    const char *base = f->base;
    struct clog_cands cs;
    struct clog_cand *c;
    char dir[PATH_MAX];
    bool ok = false;

    if (f->fp_len == 0 || !clog_dirname(f->real, dir, sizeof(dir)))
        return false;
    clog_cands_list(x, dir, &base, 1, &cs);
    c = clog_cands_find(&cs, f->dev, f->ino, f->fp_len, f->fp_hash);
    if (c != NULL && !c->gz && clog_file_moved(f, c->path) && clog_file_reopen(x, f) == VG_OK) {
        ok = true;
        vg_log(VG_LOG_INFO, CLOG_PLUGIN, x->c->name,
               "%s was rotated away while closed: reading %s from offset %llu", f->path, f->real,
               (unsigned long long)f->read_off);
    } else if (f->read_off < f->size) {
        clog_recover_lost(x, f->path, f->real, f->read_off, f->size);
    }
    x->recover_examined += cs.examined;
    clog_cands_free(&cs);
    (void)now_ns;
    return ok;
}

void clog_recover_siblings(struct clog_ctx *x, struct clog_file *f, int64_t now_ns)
{
    const char *base = f->base, *path = f->path;
    struct clog_picks ps = {0};
    struct clog_cands cs;
    char dir[PATH_MAX];

    if (x->scan_real_ns == 0 || f->gz != NULL || !clog_dirname(f->real, dir, sizeof(dir)))
        return;
    clog_cands_list(x, dir, &base, 1, &cs);
    clog_recover_unseen(x, &cs, &base, &path, 1, x->scan_real_ns, &ps);
    clog_picks_follow(x, &ps, f, now_ns);
    x->recover_examined += cs.examined;
    clog_cands_free(&cs);
}

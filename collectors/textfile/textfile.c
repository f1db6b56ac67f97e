/*
 * textfile.c - the textfile collector: metrics that batch jobs and scripts
 * write as *.prom files in one directory, served as node_exporter's
 * textfile collector serves them.
 *
 * Every collection reads each `*.prom` file of the directory (regular, not
 * hidden, in name order), parses it whole and emits its samples, then
 * node_textfile_mtime_seconds{file} for each file read and
 * node_textfile_scrape_error. A file that cannot be read, does not parse,
 * or contradicts a file read before it (another type for a metric, another
 * HELP, a series already read) is skipped whole and logged, rate-limited;
 * the other files are still served. A directory that does not exist is
 * warned about once, and its appearance said. The engine replaces the
 * collector's series at each collection, so a file removed takes its
 * series with it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "textfile_parse.h"
#include "vigil.h"

#define TEXTFILE_PLUGIN     "textfile"
#define TEXTFILE_SUFFIX     ".prom"
#define TEXTFILE_READ_CHUNK (64 * 1024)
#define TEXTFILE_REPORT_MAX 900 /* bytes of failures put in one log line */

#define TEXTFILE_MTIME      "node_textfile_mtime_seconds"
#define TEXTFILE_MTIME_HELP "Unixtime mtime of textfiles successfully read."
#define TEXTFILE_ERROR      "node_textfile_scrape_error"
#define TEXTFILE_ERROR_HELP "1 if there was an error opening or reading a file, 0 otherwise"

/* A family as the files of this collection defined it. */
struct textfile_gfam {
    enum vg_metric_type type;
    uint32_t help; /* offset into ctx->strings: the HELP, or "Metric read from FILE" */
    bool has_help; /* help came from a HELP line */
    uint32_t file; /* index into the listing of the file that first had it */
};

struct textfile_ctx {
    char *directory;        /* option; trailing slashes removed by init */
    uint64_t max_file_size; /* option */
    const char *sep;        /* between directory and a file name: "/" or "" */

    struct textfile_result res; /* the file being parsed */
    struct vg_buf data;         /* its contents */
    struct vg_buf path;         /* its path */
    struct vg_buf names;        /* the listing: NUL-terminated names */
    size_t *name_off;           /* offsets into names, sorted by name */
    size_t n_names, cap_names;
    /* what the files read so far in this collection defined */
    struct textfile_keys gnames; /* family names; key i is gfams[i] */
    struct textfile_gfam *gfams;
    size_t cap_gfams;
    struct textfile_keys gseries; /* series keys; value: file index */
    struct vg_buf strings;        /* help texts of gfams */
    uint32_t *fmap;               /* family of res -> index in gfams */
    size_t cap_fmap;
    struct vg_label labels[TEXTFILE_MAX_LABELS];
    /* failures of this collection, for the log */
    struct vg_buf report;
    unsigned n_failed, n_unreported;
    struct vg_complain dir_complain;
    struct vg_complain file_complain;
    bool started;     /* the first collection said what it reads */
    bool dir_missing; /* the directory did not exist at the last collection */
};

static const struct vg_option textfile_options[] = {
    {"directory", VG_OPT_STR, NULL, offsetof(struct textfile_ctx, directory),
     "directory whose *.prom files are read at every collection", VG_OPT_REQUIRED, NULL},
    {"max_file_size", VG_OPT_SIZE, "16MiB", offsetof(struct textfile_ctx, max_file_size),
     "a file larger than this is skipped with an error (bounds memory)", VG_OPT_RANGE, NULL, 1,
     TEXTFILE_MAX_TEXT},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* The check callback: a directory to read. */
static int textfile_check(const void *c, struct vg_check *chk)
{
    const struct textfile_ctx *ctx = c;

    if (ctx->directory == NULL || ctx->directory[0] == '\0')
        vg_check_error(chk, "directory", "option 'directory': must not be empty");
    else
        vg_check_folder(chk, "directory", ctx->directory,
                        "no metrics are read from it until it does");
    return VG_OK; /* what it found is in chk */
}

static int textfile_init(struct vg_collector *c, const struct vg_config_node *cfg,
                         struct vg_error *err)
{
    struct textfile_ctx *ctx = c->ctx;
    size_t n;

    /* directory and max_file_size: checked by the plan (textfile_check) */
    n = strlen(ctx->directory);
    while (n > 1 && ctx->directory[n - 1] == '/')
        ctx->directory[--n] = '\0';
    ctx->sep = strcmp(ctx->directory, "/") == 0 ? "" : "/";
    textfile_result_init(&ctx->res);
    textfile_keys_init(&ctx->gnames);
    textfile_keys_init(&ctx->gseries);
    vg_buf_init(&ctx->data);
    vg_buf_init(&ctx->path);
    vg_buf_init(&ctx->names);
    vg_buf_init(&ctx->strings);
    vg_buf_init(&ctx->report);
    return VG_OK;
}

/* Frees the collector's own state; the options are the engine's. Safe on a
 * context whose init never ran (all zero). */
static void textfile_destroy(struct vg_collector *c)
{
    struct textfile_ctx *ctx = c->ctx;

    if (ctx == NULL)
        return;
    textfile_result_free(&ctx->res);
    textfile_keys_free(&ctx->gnames);
    textfile_keys_free(&ctx->gseries);
    vg_buf_free(&ctx->data);
    vg_buf_free(&ctx->path);
    vg_buf_free(&ctx->names);
    vg_buf_free(&ctx->strings);
    vg_buf_free(&ctx->report);
    free(ctx->name_off);
    free(ctx->gfams);
    free(ctx->fmap);
    ctx->name_off = NULL;
    ctx->gfams = NULL;
    ctx->fmap = NULL;
}

static const char *textfile_name(const struct textfile_ctx *ctx, size_t i)
{
    return ctx->names.data + ctx->name_off[i];
}

/* Notes one failure of this collection for the log line; a file name and
 * its reason are kept while the line has room, the rest only counted. */
static void textfile_report(struct textfile_ctx *ctx, const char *file, unsigned line,
                            const char *reason)
{
    struct vg_buf *b = &ctx->report;
    size_t mark = b->len;
    int rc;

    ctx->n_failed++;
    if (b->len >= TEXTFILE_REPORT_MAX) {
        ctx->n_unreported++;
        return;
    }
    if (line > 0)
        rc = vg_buf_printf(b, "%s%s%s%s:%u: %s", b->len > 0 ? "; " : "", ctx->directory, ctx->sep,
                           file, line, reason);
    else
        rc = vg_buf_printf(b, "%s%s%s%s: %s", b->len > 0 ? "; " : "", ctx->directory, ctx->sep,
                           file, reason);
    if (rc != VG_OK) {
        b->len = mark;
        ctx->n_unreported++;
    }
}

static int textfile_cmp_names(const void *a, const void *b, void *arg)
{
    const char *base = arg;

    return strcmp(base + *(const size_t *)a, base + *(const size_t *)b);
}

/* Whether a directory entry is a candidate: *.prom, not hidden, and not
 * known to be anything but a file (symbolic links are followed later). */
static bool textfile_wanted(const struct dirent *de)
{
    size_t n = strlen(de->d_name), sn = strlen(TEXTFILE_SUFFIX);

    if (de->d_name[0] == '.' || n <= sn || strcmp(de->d_name + n - sn, TEXTFILE_SUFFIX) != 0)
        return false;
    return de->d_type == DT_REG || de->d_type == DT_LNK || de->d_type == DT_UNKNOWN;
}

/* Lists the candidate files, sorted by name, into ctx->names/name_off.
 * VG_EIO with errno set when the directory cannot be read; VG_ENOMEM. */
static int textfile_list(struct textfile_ctx *ctx)
{
    DIR *d = opendir(ctx->directory);
    struct dirent *de;
    int rc = VG_OK, saved;

    vg_buf_reset(&ctx->names);
    ctx->n_names = 0;
    if (d == NULL)
        return VG_EIO;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                rc = VG_EIO;
            break;
        }
        if (!textfile_wanted(de))
            continue;
        rc = vg_grow((void **)&ctx->name_off, &ctx->cap_names, ctx->n_names + 1,
                     sizeof(*ctx->name_off));
        if (rc != VG_OK)
            break;
        ctx->name_off[ctx->n_names] = ctx->names.len;
        rc = vg_buf_append(&ctx->names, de->d_name, strlen(de->d_name) + 1);
        if (rc != VG_OK)
            break;
        ctx->n_names++;
    }
    saved = errno;
    closedir(d);
    errno = saved;
    if (rc == VG_OK && ctx->n_names > 1)
        qsort_r(ctx->name_off, ctx->n_names, sizeof(*ctx->name_off), textfile_cmp_names,
                ctx->names.data);
    return rc;
}

/* Reads fd (a regular file of st_size bytes) into ctx->data. VG_EPARSE when
 * it is or grows larger than max_file_size; VG_EIO with errno set. */
static int textfile_read(struct textfile_ctx *ctx, int fd, off_t st_size)
{
    struct vg_buf *b = &ctx->data;
    size_t limit = (size_t)ctx->max_file_size + 1, want;
    ssize_t n;

    vg_buf_reset(b);
    want = st_size > 0 && (uint64_t)st_size < limit ? (size_t)st_size + 1 : TEXTFILE_READ_CHUNK;
    if (vg_buf_reserve(b, want) != VG_OK)
        return VG_ENOMEM;
    for (;;) {
        if (b->cap - b->len <= 1 && vg_buf_reserve(b, TEXTFILE_READ_CHUNK) != VG_OK)
            return VG_ENOMEM;
        want = b->cap - b->len - 1;
        if (want > limit - b->len)
            want = limit - b->len;
        n = read(fd, b->data + b->len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return VG_EIO;
        if (n == 0)
            return VG_OK;
        b->len += (size_t)n;
        if (b->len > ctx->max_file_size)
            return VG_EPARSE;
    }
}

/*
 * Opens and reads listing entry i into ctx->data; *mtime gets its mtime in
 * seconds (millisecond precision, as node_exporter). VG_ENOENT: not a
 * regular file, or gone since the listing (skipped quietly). Other errors
 * are reported and returned.
 */
static int textfile_load(struct textfile_ctx *ctx, size_t i, double *mtime)
{
    const char *name = textfile_name(ctx, i);
    char reason[160];
    struct stat st;
    int fd, rc;

    vg_buf_reset(&ctx->path);
    if (vg_buf_printf(&ctx->path, "%s%s%s", ctx->directory, ctx->sep, name) != VG_OK)
        return VG_ENOMEM;
    /* O_NONBLOCK: a FIFO named x.prom must not hang the engine */
    fd = open(ctx->path.data, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        return VG_ENOENT;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(reason, sizeof(reason), "cannot open: %s", vg_errno_str(errno));
        rc = VG_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = VG_ENOENT;
        goto out;
    }
    if ((uint64_t)st.st_size > ctx->max_file_size) {
        snprintf(reason, sizeof(reason), "file is %lld bytes, more than max_file_size (%llu)",
                 (long long)st.st_size, (unsigned long long)ctx->max_file_size);
        rc = VG_EPARSE;
        goto out;
    }
    rc = textfile_read(ctx, fd, st.st_size);
    if (rc == VG_EIO)
        snprintf(reason, sizeof(reason), "cannot read: %s", vg_errno_str(errno));
    else if (rc == VG_EPARSE)
        snprintf(reason, sizeof(reason), "file grew past max_file_size (%llu) while read",
                 (unsigned long long)ctx->max_file_size);
    *mtime = (double)((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000) / 1000.0;
out:
    if (fd >= 0)
        close(fd);
    if (rc == VG_EIO || rc == VG_EPARSE)
        textfile_report(ctx, name, 0, reason);
    return rc;
}

static bool textfile_reserved(const char *name)
{
    return strcmp(name, TEXTFILE_MTIME) == 0 || strcmp(name, TEXTFILE_ERROR) == 0;
}

/* Checks the families of the parsed file against the files read before it:
 * same type, same HELP, no reserved name. VG_EPARSE with err and *line. */
static int textfile_check_families(struct textfile_ctx *ctx, unsigned *line, struct vg_error *err)
{
    const struct textfile_result *r = &ctx->res;
    size_t i;
    long k;

    for (i = 0; i < r->n_families; i++) {
        const struct textfile_family *f = &r->families[i];
        const char *name = textfile_family_name(r, i), *help = textfile_family_help(r, i);
        const struct textfile_gfam *g;

        if (!f->has_samples)
            continue;
        if (help != NULL && help[0] == '\0')
            help = NULL;
        *line = f->line;
        if (textfile_reserved(name))
            return vg_error_set(err, VG_EPARSE, "metric name %s is reserved for the collector",
                                name);
        k = textfile_keys_find(&ctx->gnames, name, strlen(name));
        if (k < 0)
            continue;
        g = &ctx->gfams[k];
        if (g->type != f->type)
            return vg_error_set(err, VG_EPARSE, "metric %s is a %s here but a %s in %s", name,
                                vg_metric_type_name(f->type), vg_metric_type_name(g->type),
                                textfile_name(ctx, g->file));
        if (help != NULL && g->has_help && strcmp(help, ctx->strings.data + g->help) != 0)
            return vg_error_set(err, VG_EPARSE, "HELP of %s differs from the one in %s", name,
                                textfile_name(ctx, g->file));
    }
    return VG_OK;
}

/* Checks that no series of the parsed file was read from an earlier file. */
static int textfile_check_series(struct textfile_ctx *ctx, unsigned *line, struct vg_error *err)
{
    const struct textfile_result *r = &ctx->res;
    struct textfile_view v;
    size_t i, len;
    long k;

    for (i = 0; i < r->n_samples; i++) {
        const char *key = textfile_keys_at(&r->series, r->samples[i].key, &len);

        k = textfile_keys_find(&ctx->gseries, key, len);
        if (k < 0)
            continue;
        textfile_sample_view(r, i, &v, ctx->labels);
        *line = r->samples[i].line;
        return vg_error_set(err, VG_EPARSE, "a series of %s%s was already read from %s", v.family,
                            v.suffix,
                            textfile_name(ctx, textfile_keys_value(&ctx->gseries, (size_t)k)));
    }
    return VG_OK;
}

/* Adds a family of file `file` to the collection's table; fmap[i] is its
 * index there. A family new to the collection gets its HELP, or
 * node_exporter's "Metric read from PATH". */
static int textfile_commit_family(struct textfile_ctx *ctx, size_t i, uint32_t file)
{
    const struct textfile_result *r = &ctx->res;
    const char *name = textfile_family_name(r, i), *help = textfile_family_help(r, i);
    struct textfile_gfam *g;

    /* an empty HELP says nothing: treat it as none */
    if (help != NULL && help[0] == '\0')
        help = NULL;
    size_t k, at = ctx->strings.len;
    bool added;
    int rc;

    rc = vg_grow((void **)&ctx->gfams, &ctx->cap_gfams, ctx->gnames.n + 1, sizeof(*ctx->gfams));
    if (rc == VG_OK)
        rc = textfile_keys_add(&ctx->gnames, name, strlen(name), file, &k, &added);
    if (rc != VG_OK)
        return rc;
    ctx->fmap[i] = (uint32_t)k;
    if (!added)
        return VG_OK;
    g = &ctx->gfams[k];
    g->type = r->families[i].type;
    g->has_help = help != NULL;
    g->file = file;
    if (help != NULL)
        rc = vg_buf_append(&ctx->strings, help, strlen(help) + 1);
    else
        rc = vg_buf_printf(&ctx->strings, "Metric read from %s%s%s", ctx->directory, ctx->sep,
                           textfile_name(ctx, file));
    if (rc == VG_OK && help == NULL)
        rc = vg_buf_putc(&ctx->strings, '\0');
    g->help = (uint32_t)at;
    return rc == VG_OK && ctx->strings.len <= UINT32_MAX ? VG_OK : VG_ENOMEM;
}

/* Makes the parsed file's families and series part of the collection. */
static int textfile_commit(struct textfile_ctx *ctx, uint32_t file)
{
    const struct textfile_result *r = &ctx->res;
    size_t i, k, len;
    bool added;
    int rc;

    rc = vg_grow((void **)&ctx->fmap, &ctx->cap_fmap, r->n_families, sizeof(*ctx->fmap));
    for (i = 0; i < r->n_families && rc == VG_OK; i++) {
        ctx->fmap[i] = TEXTFILE_NONE;
        if (r->families[i].has_samples)
            rc = textfile_commit_family(ctx, i, file);
    }
    for (i = 0; i < r->n_samples && rc == VG_OK; i++) {
        const char *key = textfile_keys_at(&r->series, r->samples[i].key, &len);

        rc = textfile_keys_add(&ctx->gseries, key, len, file, &k, &added);
    }
    return rc;
}

/* Stages every sample of the parsed file. A refusal (not expected after
 * the checks above) is reported with its line and stops the file. */
static int textfile_emit_file(struct textfile_ctx *ctx, struct vg_emit *emit, const char *name)
{
    const struct textfile_result *r = &ctx->res;
    struct textfile_view v;
    char reason[200];
    size_t i;
    int rc;

    for (i = 0; i < r->n_samples; i++) {
        const struct textfile_sample *s = &r->samples[i];
        const struct textfile_gfam *g = &ctx->gfams[ctx->fmap[s->family]];

        textfile_sample_view(r, i, &v, ctx->labels);
        rc = vg_emit_series(emit, v.family, g->type, ctx->strings.data + g->help, v.suffix,
                            ctx->labels, v.n_labels, s->value);
        if (rc == VG_ENOMEM)
            return rc;
        if (rc != VG_OK) {
            snprintf(reason, sizeof(reason), "sample of %s%s refused: %s", v.family, v.suffix,
                     vg_strerror(rc));
            textfile_report(ctx, name, s->line, reason);
            return VG_EPARSE;
        }
    }
    return VG_OK;
}

/* Reads, parses, checks and emits listing entry i. VG_OK when emitted,
 * VG_ENOENT when skipped quietly, VG_ENOMEM, or another error already
 * reported. */
static int textfile_file(struct textfile_ctx *ctx, struct vg_emit *emit, size_t i)
{
    const char *name = textfile_name(ctx, i);
    struct vg_error err = {0};
    unsigned line = 0;
    double mtime = 0;
    int rc;

    rc = textfile_load(ctx, i, &mtime);
    if (rc != VG_OK)
        return rc;
    rc = textfile_parse(&ctx->res, ctx->data.data, ctx->data.len, &line, &err);
    if (rc == VG_OK)
        rc = textfile_check_families(ctx, &line, &err);
    if (rc == VG_OK)
        rc = textfile_check_series(ctx, &line, &err);
    if (rc == VG_ENOMEM)
        return rc;
    if (rc != VG_OK) {
        textfile_report(ctx, name, line, err.msg);
        return rc;
    }
    rc = textfile_commit(ctx, (uint32_t)i);
    if (rc == VG_OK)
        rc = textfile_emit_file(ctx, emit, name);
    /* file: the full path (ctx->path, from textfile_load), as node_exporter */
    if (rc == VG_OK)
        rc = vg_emit_gauge(emit, TEXTFILE_MTIME, TEXTFILE_MTIME_HELP, mtime, "file", ctx->path.data,
                           NULL);
    if (rc != VG_OK && rc != VG_ENOMEM && rc != VG_EPARSE)
        textfile_report(ctx, name, 0, "its mtime sample was refused");
    return rc;
}

/*
 * Says what the collector reads: at the first collection, and when the
 * directory appears. A directory that does not exist (yet) is warned about
 * once, then nothing is said until it appears. False when there is nothing
 * more to log for this collection.
 */
static bool textfile_log_dir(struct vg_collector *c, struct textfile_ctx *ctx, bool dir_ok, int err)
{
    char every[32];
    bool first = !ctx->started;

    ctx->started = true;
    if (!dir_ok && err == ENOENT) {
        if (!ctx->dir_missing)
            vg_log(VG_LOG_WARN, TEXTFILE_PLUGIN, c->name,
                   "directory %s does not exist: no textfile metrics until it is created "
                   "(node_textfile_scrape_error is 1 meanwhile)",
                   ctx->directory);
        ctx->dir_missing = true;
        return false;
    }
    vg_duration_text(c->interval_ms, every, sizeof(every));
    if (dir_ok && ctx->dir_missing)
        vg_log(VG_LOG_INFO, TEXTFILE_PLUGIN, c->name,
               "directory %s appeared: reading its *.prom files every %s (%zu now)", ctx->directory,
               every, ctx->n_names);
    else if (dir_ok && first)
        vg_log(VG_LOG_INFO, TEXTFILE_PLUGIN, c->name,
               "reading *.prom files in %s every %s (%zu now)", ctx->directory, every,
               ctx->n_names);
    ctx->dir_missing = false;
    return true;
}

/* Logs this collection's problems, at most once a minute for each kind. */
static void textfile_log(struct vg_collector *c, struct textfile_ctx *ctx, bool dir_ok, int err)
{
    if (!textfile_log_dir(c, ctx, dir_ok, err))
        return;
    if (!dir_ok) {
        vg_complain(&ctx->dir_complain, VG_LOG_ERROR, TEXTFILE_PLUGIN, c->name,
                    "cannot read directory %s: %s", ctx->directory, vg_errno_str(err));
        return;
    }
    vg_complain_clear(&ctx->dir_complain, TEXTFILE_PLUGIN, c->name, "directory");
    if (ctx->n_failed == 0) {
        vg_complain_clear(&ctx->file_complain, TEXTFILE_PLUGIN, c->name, "textfiles");
        return;
    }
    if (ctx->n_unreported > 0)
        vg_complain(&ctx->file_complain, VG_LOG_ERROR, TEXTFILE_PLUGIN, c->name,
                    "skipped %u of %zu files: %s; and %u more", ctx->n_failed, ctx->n_names,
                    ctx->report.data, ctx->n_unreported);
    else
        vg_complain(&ctx->file_complain, VG_LOG_ERROR, TEXTFILE_PLUGIN, c->name,
                    "skipped %u of %zu files: %s", ctx->n_failed, ctx->n_names, ctx->report.data);
}

/*
 * One collection. Problems with the directory or the files are logged and
 * shown as node_textfile_scrape_error 1, and the collection still succeeds
 * (the engine would otherwise stretch the interval, delaying the good
 * files); only running out of memory fails it.
 */
static int textfile_collect(struct vg_collector *c, struct vg_emit *emit)
{
    struct textfile_ctx *ctx = c->ctx;
    bool dir_ok;
    size_t i;
    int rc, dir_errno = 0;

    textfile_keys_reset(&ctx->gnames);
    textfile_keys_reset(&ctx->gseries);
    vg_buf_reset(&ctx->strings);
    vg_buf_reset(&ctx->report);
    ctx->n_failed = 0;
    ctx->n_unreported = 0;
    rc = textfile_list(ctx);
    if (rc == VG_ENOMEM)
        goto fail;
    dir_ok = rc == VG_OK;
    if (!dir_ok)
        dir_errno = errno;
    for (i = 0; dir_ok && i < ctx->n_names; i++) {
        rc = textfile_file(ctx, emit, i);
        if (rc == VG_ENOMEM)
            goto fail;
    }
    rc = vg_emit_gauge(emit, TEXTFILE_ERROR, TEXTFILE_ERROR_HELP,
                       !dir_ok || ctx->n_failed > 0 ? 1.0 : 0.0, NULL);
    textfile_log(c, ctx, dir_ok, dir_errno);
    return rc;
fail:
    vg_collector_fail(c, "out of memory reading %s", ctx->directory);
    return rc;
}

const struct vg_collector_ops vg_collector_textfile = {
    .name = "textfile",
    .doc = "serves the metrics of *.prom files in a directory (node_exporter's textfile format)",
    .options = textfile_options,
    .ctx_size = sizeof(struct textfile_ctx),
    .default_interval_ms = 15000,
    .check = textfile_check,
    .init = textfile_init,
    .collect = textfile_collect,
    .destroy = textfile_destroy,
};

/*
 * gpu_amd.c - the gpu_amd collector: AMD GPUs driven by amdgpu, read from
 * sysfs (sysfs_root/class/drm/card<N>/device and its hwmon folder), under
 * the gpu_nvml collector's names where the meaning is the same.
 *
 * A card is an amdgpu GPU when its device folder has gpu_busy_percent (only
 * amdgpu writes one) and its vendor, when readable, is AMD's. Each value
 * is one small file: a file that is missing or that the driver does not
 * support leaves its series out quietly; one that cannot be read or holds
 * anything but a sane value leaves it out too and is named in a warning,
 * one line a minute at most for the whole collector. A GPU seen before
 * and now gone from sysfs (off the bus) stays with gpu_up 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_amd_emit.h"
#include "meta.h"

#define GA_PLUGIN   "gpu_amd"
#define GA_FILE_MAX 4096 /* sysfs files are at most a page */
#define GA_BAD_MAX  8    /* files named in one warning; the rest are counted */
#define GA_TEMPS    9    /* temp1 to temp9 of a hwmon folder */

/* The names of a GPU, kept for when it is gone from sysfs. */
struct ga_ident {
    char card[16];
    char bus_id[GA_BUS_MAX];
    char uuid[GA_TEXT_MAX];
    char name[GA_TEXT_MAX];
};

struct ga_ctx {
    /* options */
    char *sysfs_root;
    /* state */
    char drm[PATH_MAX]; /* sysfs_root/class/drm */
    struct ga_snapshot *snap;
    struct ga_ident known[GA_GPU_MAX];
    size_t n_known;
    char buf[GA_FILE_MAX]; /* the file just read, NUL-terminated */
    size_t len;
    struct vg_buf bad; /* the files of this collection whose values were dropped */
    unsigned n_bad;
    struct vg_complain complain;
    bool drm_missing; /* said that the drm folder is missing */
    long last_count;  /* GPUs found at the last collection, -1 at first */
};

/* A folder being read: its descriptor and its path below drm, for messages. */
struct ga_dir {
    int fd;
    char rel[96];
};

static const struct vg_option ga_options[] = {
    {"sysfs_root", VG_OPT_STR, "/sys", offsetof(struct ga_ctx, sysfs_root),
     "where sysfs is mounted (a host's /sys mounted into a container, or a fixture tree)", 0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* ------------------------------------------------------------------------
 * Files.
 */

/* Notes that dir/file (dir itself when file is NULL), below the drm
 * folder, was left out, and why, for this collection's warning. */
static void ga_bad(struct ga_ctx *ctx, const struct ga_dir *dir, const char *file, const char *why)
{
    if (ctx->n_bad++ < GA_BAD_MAX)
        (void)vg_buf_printf(&ctx->bad, "%s%s%s%s: %s", ctx->bad.len > 0 ? "; " : "", dir->rel,
                            file != NULL ? "/" : "", file != NULL ? file : "", why);
}

/* Reads dir/file into ctx->buf. VG_OK; VG_ENOENT for a file that is not
 * there or that the driver does not support on this GPU (nothing said);
 * VG_EIO for one that cannot be read (noted with ga_bad). */
static int ga_read(struct ga_ctx *ctx, const struct ga_dir *dir, const char *file)
{
    /* O_NONBLOCK: a FIFO planted under sysfs_root must not hang the engine */
    int fd = openat(dir->fd, file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    int saved = errno;
    ssize_t n = -1;

    ctx->len = 0;
    if (fd >= 0) {
        do {
            n = read(fd, ctx->buf + ctx->len, sizeof(ctx->buf) - 1 - ctx->len);
            if (n > 0)
                ctx->len += (size_t)n;
        } while ((n > 0 && ctx->len < sizeof(ctx->buf) - 1) || (n < 0 && errno == EINTR));
        saved = n > 0 ? EFBIG : errno; /* a full buffer: more than a sysfs page */
        close(fd);
    }
    ctx->buf[ctx->len] = '\0';
    if (n == 0)
        return VG_OK;
    if (saved == ENOENT || saved == EOPNOTSUPP || saved == ENODATA || saved == EINVAL)
        return VG_ENOENT;
    ga_bad(ctx, dir, file, vg_errno_str(saved));
    return VG_EIO;
}

/* Field f of g from dir/file, a whole number (the table's limit); true when set. */
static bool ga_value(struct ga_ctx *ctx, const struct ga_dir *dir, const char *file,
                     struct ga_gpu *g, enum ga_field f)
{
    const char *why = NULL;
    uint64_t v;

    if (ga_read(ctx, dir, file) != VG_OK)
        return false;
    if (ga_parse_u64(ctx->buf, ctx->len, ga_field_name(f)->limit, &v, &why) != VG_OK) {
        ga_bad(ctx, dir, file, why);
        return false;
    }
    ga_set(g, f, (double)v);
    return true;
}

/* A label value from dir/file into out; false (out untouched) without one. */
static bool ga_text(struct ga_ctx *ctx, const struct ga_dir *dir, const char *file, char *out,
                    size_t size)
{
    const char *why = NULL;

    if (ga_read(ctx, dir, file) != VG_OK)
        return false;
    if (ga_parse_text(ctx->buf, ctx->len, out, size, &why) != VG_OK) {
        ga_bad(ctx, dir, file, why);
        return false;
    }
    return true;
}

/* Opens rel below parent (O_DIRECTORY) as *out; false when it is none. */
static bool ga_open_dir(const struct ga_dir *parent, const char *rel, struct ga_dir *out)
{
    int n = snprintf(out->rel, sizeof(out->rel), "%s/%s", parent->rel, rel);

    if (n < 0 || (size_t)n >= sizeof(out->rel))
        return false;
    out->fd = openat(parent->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return out->fd >= 0;
}

/* ------------------------------------------------------------------------
 * One GPU.
 */

/* The single values of the device folder. */
static const struct {
    const char *file;
    enum ga_field field;
} ga_device_files[] = {
    {"mem_busy_percent", GA_F_UTIL_MEM},         {"mem_info_vram_used", GA_F_VRAM_USED},
    {"mem_info_vram_total", GA_F_VRAM_TOTAL},    {"mem_info_vis_vram_used", GA_F_VIS_USED},
    {"mem_info_vis_vram_total", GA_F_VIS_TOTAL}, {"mem_info_gtt_used", GA_F_GTT_USED},
    {"mem_info_gtt_total", GA_F_GTT_TOTAL},      {"current_link_width", GA_F_LINK_WIDTH},
};

static void ga_read_link_speed(struct ga_ctx *ctx, const struct ga_dir *dev, struct ga_gpu *g)
{
    const char *why = NULL;
    double v;
    int rc;

    if (ga_read(ctx, dev, "current_link_speed") != VG_OK)
        return;
    rc = ga_parse_link_speed(ctx->buf, ctx->len, &v, &why);
    if (rc == VG_OK)
        ga_set(g, GA_F_LINK_SPEED, v);
    else if (rc == VG_EPARSE)
        ga_bad(ctx, dev, "current_link_speed", why);
}

/* The product name, else the PCI device id ("AMD GPU 0x740c"), else "". */
static void ga_read_name(struct ga_ctx *ctx, const struct ga_dir *dev, struct ga_gpu *g)
{
    const char *why = NULL;
    unsigned id;

    if (ga_text(ctx, dev, "product_name", g->name, sizeof(g->name)))
        return;
    if (ga_read(ctx, dev, "device") != VG_OK)
        return;
    if (ga_parse_hex_id(ctx->buf, ctx->len, &id, &why) == VG_OK)
        snprintf(g->name, sizeof(g->name), "AMD GPU 0x%04x", id);
    else
        ga_bad(ctx, dev, "device", why);
}

static void ga_read_device(struct ga_ctx *ctx, const struct ga_dir *dev, struct ga_gpu *g)
{
    size_t i;

    g->up = ga_value(ctx, dev, "gpu_busy_percent", g, GA_F_UTIL_GPU);
    for (i = 0; i < VG_ARRAY_LEN(ga_device_files); i++)
        ga_value(ctx, dev, ga_device_files[i].file, g, ga_device_files[i].field);
    if ((g->have & (1u << GA_F_VRAM_USED)) && (g->have & (1u << GA_F_VRAM_TOTAL)) &&
        g->v[GA_F_VRAM_USED] <= g->v[GA_F_VRAM_TOTAL])
        ga_set(g, GA_F_VRAM_FREE, g->v[GA_F_VRAM_TOTAL] - g->v[GA_F_VRAM_USED]);
    ga_read_link_speed(ctx, dev, g);
    ga_text(ctx, dev, "unique_id", g->uuid, sizeof(g->uuid));
    ga_read_name(ctx, dev, g);
}

/* temp1 to temp9 by their labels; a temp1 without one is the edge sensor. */
static void ga_read_temps(struct ga_ctx *ctx, const struct ga_dir *hw, struct ga_gpu *g)
{
    char file[32];
    unsigned i;

    for (i = 1; i <= GA_TEMPS; i++) {
        enum ga_field f = i == 1 ? GA_F_TEMP_EDGE : GA_F_COUNT;

        snprintf(file, sizeof(file), "temp%u_label", i);
        if (ga_read(ctx, hw, file) == VG_OK)
            f = ga_temp_field(ctx->buf, ctx->len);
        if (f == GA_F_COUNT || (g->have & (1u << f)))
            continue;
        snprintf(file, sizeof(file), "temp%u_input", i);
        ga_value(ctx, hw, file, g, f);
    }
}

/* The first hwmon<N> folder below dev/hwmon into *hw; false without one. */
static bool ga_find_hwmon(const struct ga_dir *dev, struct ga_dir *hw)
{
    struct ga_dir top;
    struct dirent *de;
    DIR *d;
    bool found = false;

    if (!ga_open_dir(dev, "hwmon", &top))
        return false;
    d = fdopendir(top.fd);
    if (d == NULL) {
        close(top.fd);
        return false;
    }
    for (de = readdir(d); de != NULL && !found; de = readdir(d))
        found = strncmp(de->d_name, "hwmon", 5) == 0 && de->d_name[5] >= '0' &&
                de->d_name[5] <= '9' && ga_open_dir(&top, de->d_name, hw);
    closedir(d);
    return found;
}

static void ga_read_hwmon(struct ga_ctx *ctx, const struct ga_dir *dev, struct ga_gpu *g)
{
    struct ga_dir hw;

    if (!ga_find_hwmon(dev, &hw))
        return;
    ga_read_temps(ctx, &hw, g);
    if (!ga_value(ctx, &hw, "power1_average", g, GA_F_POWER))
        ga_value(ctx, &hw, "power1_input", g, GA_F_POWER);
    ga_value(ctx, &hw, "power1_cap", g, GA_F_POWER_CAP);
    ga_value(ctx, &hw, "fan1_input", g, GA_F_FAN_RPM);
    ga_value(ctx, &hw, "pwm1", g, GA_F_FAN_PWM);
    close(hw.fd);
}

/* The PCI bus id: the name the device link points to, else the uevent's
 * PCI_SLOT_NAME; "" when neither is one. */
static void ga_read_bus_id(struct ga_ctx *ctx, const struct ga_dir *drm, const struct ga_dir *dev,
                           struct ga_gpu *g)
{
    char link[PATH_MAX], norm[16];
    ssize_t n = readlinkat(drm->fd, dev->rel, link, sizeof(link) - 1);
    const char *base = link;

    if (n > 0) {
        link[n] = '\0';
        base = strrchr(link, '/') != NULL ? strrchr(link, '/') + 1 : link;
        if (strlen(base) < sizeof(g->bus_id))
            memcpy(g->bus_id, base, strlen(base) + 1);
        else
            snprintf(g->bus_id, sizeof(g->bus_id), "-"); /* not one: said below */
    } else if (ga_read(ctx, dev, "uevent") == VG_OK) {
        if (ga_parse_uevent_slot(ctx->buf, ctx->len, g->bus_id, sizeof(g->bus_id)) != VG_OK)
            g->bus_id[0] = '\0';
    }
    if (g->bus_id[0] != '\0' && !vg_gpu_bus_id(g->bus_id, norm, sizeof(norm))) {
        ga_bad(ctx, dev, n > 0 ? NULL : "uevent", "does not name a PCI bus id");
        g->bus_id[0] = '\0';
    }
}

/* Whether dev is an amdgpu GPU: it has gpu_busy_percent, and its vendor,
 * when it says one, is AMD. */
static bool ga_is_amdgpu(struct ga_ctx *ctx, const struct ga_dir *dev)
{
    const char *why = NULL;
    struct stat st;
    unsigned vendor;

    if (fstatat(dev->fd, "gpu_busy_percent", &st, 0) != 0)
        return false;
    if (ga_read(ctx, dev, "vendor") != VG_OK)
        return true;
    if (ga_parse_hex_id(ctx->buf, ctx->len, &vendor, &why) != VG_OK) {
        ga_bad(ctx, dev, "vendor", why);
        return true;
    }
    return vendor == GA_AMD_VENDOR;
}

/* Reads card name of the drm folder into g; false when it is no amdgpu GPU. */
static bool ga_read_card(struct ga_ctx *ctx, const struct ga_dir *drm, const char *name,
                         struct ga_gpu *g)
{
    struct ga_dir dev;
    bool amd;

    memset(g, 0, sizeof(*g));
    snprintf(dev.rel, sizeof(dev.rel), "%.15s/device", name); /* ga_card_name: short */
    dev.fd = openat(drm->fd, dev.rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dev.fd < 0)
        return false;
    amd = ga_is_amdgpu(ctx, &dev);
    if (amd) {
        snprintf(g->card, sizeof(g->card), "%.15s", name);
        ga_read_bus_id(ctx, drm, &dev, g);
        ga_read_device(ctx, &dev, g);
        ga_read_hwmon(ctx, &dev, g);
    }
    close(dev.fd);
    return amd;
}

/* ------------------------------------------------------------------------
 * The collection.
 */

/* Reads every amdgpu card of the drm folder into ctx->snap. */
static void ga_scan(struct ga_ctx *ctx, DIR *d)
{
    struct ga_dir drm = {dirfd(d), ""};
    struct ga_snapshot *snap = ctx->snap;
    struct dirent *de;

    for (de = readdir(d); de != NULL && snap->n_gpus < GA_GPU_MAX; de = readdir(d))
        if (ga_card_name(de->d_name) &&
            ga_read_card(ctx, &drm, de->d_name, &snap->gpus[snap->n_gpus]))
            snap->n_gpus++;
    snap->backend_up = snap->n_gpus > 0;
}

/* The known GPU with g's bus id (or, without one, g's card), or NULL. */
static struct ga_ident *ga_known(struct ga_ctx *ctx, const struct ga_gpu *g)
{
    size_t i;

    for (i = 0; i < ctx->n_known; i++) {
        const struct ga_ident *k = &ctx->known[i];

        if (g->bus_id[0] != '\0' ? strcmp(k->bus_id, g->bus_id) == 0
                                 : k->bus_id[0] == '\0' && strcmp(k->card, g->card) == 0)
            return &ctx->known[i];
    }
    return NULL;
}

/* Remembers the names of the GPUs read, and adds those known from before
 * and gone now, with gpu_up 0 and nothing else. */
static void ga_remember(struct ga_ctx *ctx)
{
    struct ga_snapshot *snap = ctx->snap;
    size_t i, n = snap->n_gpus;

    for (i = 0; i < n; i++) {
        struct ga_gpu *g = &snap->gpus[i];
        struct ga_ident *k = ga_known(ctx, g);

        if (k == NULL && ctx->n_known == GA_GPU_MAX)
            continue;
        if (k == NULL)
            k = &ctx->known[ctx->n_known++];
        memcpy(k->card, g->card, sizeof(k->card));
        memcpy(k->bus_id, g->bus_id, sizeof(k->bus_id));
        memcpy(k->uuid, g->uuid, sizeof(k->uuid));
        memcpy(k->name, g->name, sizeof(k->name));
    }
    for (i = 0; i < ctx->n_known && snap->n_gpus < GA_GPU_MAX; i++) {
        struct ga_gpu *g = &snap->gpus[snap->n_gpus];
        size_t j;

        for (j = 0; j < n && ga_known(ctx, &snap->gpus[j]) != &ctx->known[i]; j++)
            ;
        if (j < n)
            continue;
        memset(g, 0, sizeof(*g));
        memcpy(g->card, ctx->known[i].card, sizeof(g->card));
        memcpy(g->bus_id, ctx->known[i].bus_id, sizeof(g->bus_id));
        memcpy(g->uuid, ctx->known[i].uuid, sizeof(g->uuid));
        memcpy(g->name, ctx->known[i].name, sizeof(g->name));
        snap->n_gpus++;
    }
}

/* Says what the collection found when it changed: the drm folder missing,
 * no amdgpu GPU in it, or how many. */
static void ga_say(struct vg_collector *c, struct ga_ctx *ctx, bool drm_ok, int err)
{
    long count = (long)ctx->snap->n_gpus;

    if (!drm_ok) {
        if (!ctx->drm_missing)
            vg_log(
                VG_LOG_INFO, GA_PLUGIN, c->name,
                "cannot read %s (%s): no amdgpu GPUs, vigil_gpu_backend_up{backend=\"amdgpu\"} 0",
                ctx->drm, vg_errno_str(err));
        ctx->drm_missing = true;
        return;
    }
    ctx->drm_missing = false;
    if (count == ctx->last_count)
        return;
    if (count == 0)
        vg_log(VG_LOG_INFO, GA_PLUGIN, c->name,
               "no amdgpu GPU under %s: vigil_gpu_backend_up{backend=\"amdgpu\"} 0", ctx->drm);
    else
        vg_log(VG_LOG_INFO, GA_PLUGIN, c->name, "%ld amdgpu GPU%s under %s", count,
               count == 1 ? "" : "s", ctx->drm);
    ctx->last_count = count;
}

/* Warns (rate-limited) about the files this collection left out. */
static void ga_complain(struct vg_collector *c, struct ga_ctx *ctx)
{
    if (ctx->n_bad == 0) {
        vg_complain_clear(&ctx->complain, GA_PLUGIN, c->name, "every GPU file");
        return;
    }
    if (ctx->n_bad > GA_BAD_MAX)
        (void)vg_buf_printf(&ctx->bad, "; and %u more", ctx->n_bad - GA_BAD_MAX);
    vg_complain(&ctx->complain, VG_LOG_WARN, GA_PLUGIN, c->name, "values left out, in %s: %s",
                ctx->drm, ctx->bad.data != NULL ? ctx->bad.data : "");
}

static int ga_collect(struct vg_collector *c, struct vg_emit *emit)
{
    struct ga_ctx *ctx = c->ctx;
    DIR *d = opendir(ctx->drm);
    int err = errno;
    size_t i;

    memset(ctx->snap, 0, sizeof(*ctx->snap));
    vg_buf_reset(&ctx->bad);
    ctx->n_bad = 0;
    if (d != NULL) {
        ga_scan(ctx, d);
        closedir(d);
    }
    ga_say(c, ctx, d != NULL, err);
    ga_remember(ctx);
    ga_order(ctx->snap);
    for (i = 0; i < ctx->snap->n_gpus; i++)
        if (ctx->snap->gpus[i].bus_id[0] != '\0')
            vg_gpu_put(ctx->snap->gpus[i].bus_id, ctx->snap->gpus[i].index,
                       ctx->snap->gpus[i].uuid);
    ga_complain(c, ctx);
    return ga_emit_snapshot(emit, ctx->snap, c->node_name != NULL ? c->node_name : "");
}

/* The check callback: a sysfs root to read. */
static int ga_check(const void *c, struct vg_check *chk)
{
    const struct ga_ctx *ctx = c;

    if (ctx->sysfs_root == NULL || ctx->sysfs_root[0] == '\0')
        vg_check_error(chk, "sysfs_root", "option 'sysfs_root': must not be empty");
    else
        vg_check_folder(chk, "sysfs_root", ctx->sysfs_root, "no AMD GPU metrics until it does");
    return VG_OK; /* what it found is in chk */
}

static void ga_destroy(struct vg_collector *c)
{
    struct ga_ctx *ctx = c->ctx;

    if (ctx == NULL)
        return;
    free(ctx->snap);
    ctx->snap = NULL;
    vg_buf_free(&ctx->bad);
}

static int ga_init(struct vg_collector *c, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct ga_ctx *ctx = c->ctx;
    size_t n = strlen(ctx->sysfs_root);
    char every[32];
    int len;

    /* sysfs_root: checked by the plan (ga_check) */
    while (n > 1 && ctx->sysfs_root[n - 1] == '/')
        n--;
    len = snprintf(ctx->drm, sizeof(ctx->drm), "%.*s/class/drm", (int)(n == 1 ? 0 : n),
                   ctx->sysfs_root);
    if (len < 0 || (size_t)len >= sizeof(ctx->drm))
        return vg_error_set(err, VG_ECONFIG, "option sysfs_root: path too long");
    ctx->snap = calloc(1, sizeof(*ctx->snap));
    if (ctx->snap == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    vg_buf_init(&ctx->bad);
    ctx->last_count = -1;
    vg_duration_text(c->interval_ms, every, sizeof(every));
    vg_log(VG_LOG_INFO, GA_PLUGIN, c->name, "collecting amdgpu GPUs from %s every %s", ctx->drm,
           every);
    return VG_OK;
}

const struct vg_collector_ops vg_collector_gpu_amd = {
    .name = "gpu_amd",
    .doc = "AMD GPUs driven by amdgpu, from sysfs, under the gpu_nvml collector's names",
    .options = ga_options,
    .ctx_size = sizeof(struct ga_ctx),
    .default_interval_ms = 15000,
    .check = ga_check,
    .init = ga_init,
    .collect = ga_collect,
    .destroy = ga_destroy,
};

/*
 * kmsg.c - the kmsg collector: the kernel log (/dev/kmsg, or a file in its
 * format for tests) into the log pipeline, one record per kernel record,
 * with NVIDIA Xid errors and OOM kills read out (kmsg_events.c).
 *
 * Positions: a record's source is 1 and its offset its sequence number
 * plus one, so an acknowledgement says up to which sequence every output
 * has it. The last acknowledged sequence and the boot id are kept in the
 * core's checkpoint store (agent/checkpoint.c). At start the ring is read
 * from its beginning: counters count since boot, while records up to the
 * saved sequence are counted but not shipped again. Another boot id, or a
 * ring whose newest record is older than the saved sequence, means the
 * node rebooted: everything is read and shipped from the start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "kmsg.h"

static const struct vg_option kmsg_options[] = {
    {"path", VG_OPT_STR, "/dev/kmsg", offsetof(struct kmsg_ctx, path),
     "the kernel log device, or a file in its format", 0, NULL},
    {"boot_id_path", VG_OPT_STR, "/proc/sys/kernel/random/boot_id",
     offsetof(struct kmsg_ctx, boot_id_path), "where the boot id is read (a reboot starts over)", 0,
     NULL},
    {"proc_root", VG_OPT_STR, "/proc", offsetof(struct kmsg_ctx, proc_root),
     "proc file system: the container of a pid, the boot time", 0, NULL},
    {"checkpoint_interval", VG_OPT_DURATION, "1s", offsetof(struct kmsg_ctx, checkpoint_ms),
     "how often the acknowledged sequence is written to state_dir", VG_OPT_MIN, NULL, 100, 0},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* UNIX ns of the boot: CLOCK_REALTIME less CLOCK_BOOTTIME, else btime of
 * proc_root/stat; 0 when neither is known. */
static int64_t kmsg_boot_ns(const struct kmsg_ctx *x)
{
    struct timespec bt;
    char path[4200], line[256];
    long long btime = 0;
    FILE *f;

    if (clock_gettime(CLOCK_BOOTTIME, &bt) == 0)
        return vg_now_ns() - ((int64_t)bt.tv_sec * VG_NS_PER_SEC + bt.tv_nsec);
    snprintf(path, sizeof(path), "%s/stat", x->proc_root);
    f = fopen(path, "re");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "btime ", 6) == 0)
            btime = strtoll(line + 6, NULL, 10);
    fclose(f);
    return (int64_t)btime * VG_NS_PER_SEC;
}

/* The boot id (first line of boot_id_path) into x->boot_id; "" when it
 * cannot be read (then only the sequence tells a reboot). */
static void kmsg_read_boot_id(struct kmsg_ctx *x)
{
    FILE *f = fopen(x->boot_id_path, "re");
    size_t n;

    x->boot_id[0] = '\0';
    if (f == NULL) {
        vg_log(VG_LOG_WARN, KMSG_PLUGIN, x->c->name, "cannot read the boot id from %s: %s",
               x->boot_id_path, vg_errno_str(errno));
        return;
    }
    if (fgets(x->boot_id, sizeof(x->boot_id), f) == NULL)
        x->boot_id[0] = '\0';
    fclose(f);
    n = strcspn(x->boot_id, " \t\r\n");
    x->boot_id[n] = '\0';
}

/* Where to ship from, from the checkpoint of this boot. */
static void kmsg_resume(struct kmsg_ctx *x)
{
    const char *saved = vg_checkpoint_get(&x->ck, "boot_id");
    uint64_t seq;

    if (saved != NULL && x->boot_id[0] != '\0' && strcmp(saved, x->boot_id) != 0) {
        vg_log(VG_LOG_INFO, KMSG_PLUGIN, x->c->name,
               "the node rebooted since the last checkpoint (boot id %s, was %s): shipping "
               "the kernel log from its start",
               x->boot_id, saved);
        vg_checkpoint_clear(&x->ck);
    } else if (vg_checkpoint_get_u64(&x->ck, "sequence", &seq) && seq < UINT64_MAX) {
        x->ship_from = seq + 1;
        x->acked = seq + 1;
    }
    if (x->boot_id[0] != '\0')
        vg_checkpoint_set(&x->ck, "boot_id", x->boot_id);
}

static int kmsg_open(struct kmsg_ctx *x, struct vg_error *err)
{
    struct stat st;

    x->fd = open(x->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (x->fd < 0)
        return vg_error_set(err, VG_EIO, "cannot open %s: %s", x->path, vg_errno_str(errno));
    if (fstat(x->fd, &st) != 0)
        return vg_error_set(err, VG_EIO, "cannot stat %s: %s", x->path, vg_errno_str(errno));
    x->device = S_ISCHR(st.st_mode);
    if (x->device) {
        if (vg_collector_watch_fd(x->c, x->fd) != VG_OK)
            return vg_error_set(err, VG_EIO, "cannot watch %s", x->path);
        x->watched = true;
    }
    return VG_OK;
}

static int kmsg_init(struct vg_collector *c, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct kmsg_ctx *x = c->ctx;
    int rc;

    x->c = c;
    x->fd = -1;
    rc = vg_checkpoint_open(&x->ck, c, c->state_dir, c->name, x->checkpoint_ms, err);
    if (rc != VG_OK)
        return rc;
    kmsg_read_boot_id(x);
    kmsg_resume(x);
    x->buf = vg_malloc(KMSG_BUF_CAP);
    if (x->buf == NULL)
        rc = vg_error_set(err, VG_ENOMEM, "out of memory");
    if (rc == VG_OK)
        rc = kmsg_open(x, err);
    if (rc != VG_OK)
        return rc; /* destroy undoes the rest */
    x->boot_ns = kmsg_boot_ns(x);
    vg_log(VG_LOG_INFO, KMSG_PLUGIN, c->name, "reading %s (%s), shipping from sequence %llu",
           x->path, x->device ? "device" : "file", (unsigned long long)x->ship_from);
    return VG_OK;
}

/* SUBSYSTEM and DEVICE of the record's dictionary, as fields. */
static int kmsg_dict_fields(struct vg_emit *e, struct vg_record *r, const struct kmsg_rec *k)
{
    const char *p = k->dict, *end = k->dict + k->dict_len, *key, *val;
    size_t kl, vl;
    int rc = VG_OK;

    while (rc == VG_OK && p != NULL && kmsg_dict_next(&p, end, &key, &kl, &val, &vl)) {
        if (kl == 9 && memcmp(key, "SUBSYSTEM", 9) == 0)
            rc = vg_record_set_str(e, r, "subsystem", val, vl);
        else if (kl == 6 && memcmp(key, "DEVICE", 6) == 0)
            rc = vg_record_set_str(e, r, "device", val, vl);
    }
    return rc;
}

/* The fields of kernel record k and of its event on r. */
static int kmsg_record_fields(struct vg_emit *e, struct vg_record *r, const struct kmsg_rec *k,
                              const struct kmsg_event *ev)
{
    const char *fac = kmsg_facility_name(k->facility);
    int rc;

    r->source_id = KMSG_SOURCE;
    r->offset = k->seq + 1;
    r->position = k->seq + 1;
    rc = vg_record_set_int(e, r, "priority", k->priority);
    if (rc == VG_OK)
        rc = vg_record_set_str(e, r, "facility", fac, strlen(fac));
    if (rc == VG_OK)
        rc = vg_record_set_int(e, r, "sequence", (int64_t)(k->seq & INT64_MAX));
    if (rc == VG_OK)
        rc = kmsg_dict_fields(e, r, k);
    if (rc == VG_OK)
        rc = kmsg_event_fields(e, r, ev);
    return rc;
}

/* Emits kernel record k as a log record, whole or not at all. */
static int kmsg_ship(struct kmsg_ctx *x, struct vg_emit *e, const struct kmsg_rec *k,
                     const struct kmsg_event *ev)
{
    int64_t usec = k->usec > (uint64_t)(INT64_MAX / 1000) ? INT64_MAX / 1000 : (int64_t)k->usec;
    struct vg_record *r =
        vg_emit_record(e, vg_add_sat(x->boot_ns, usec * 1000), k->msg, k->msg_len);
    int rc;

    if (r == NULL)
        return VG_ENOMEM;
    rc = kmsg_record_fields(e, r, k, ev);
    if (rc != VG_OK)
        vg_emit_record_cancel(e, r); /* it is tried again at the next collect */
    return rc;
}

/* One kernel record text: counted, read for events, and shipped unless it
 * was before the restart. */
static int kmsg_handle(struct kmsg_ctx *x, struct vg_emit *e, const char *s, size_t n)
{
    struct kmsg_event ev;
    struct kmsg_rec k;
    int rc;

    if (kmsg_parse_record(s, n, &k) != VG_OK || k.seq == UINT64_MAX) {
        x->parse_errors++;
        vg_complain(&x->parse_complain, VG_LOG_WARN, KMSG_PLUGIN, x->c->name,
                    "%s: a record that is not in the kernel log format, skipped", x->path);
        return VG_OK;
    }
    kmsg_event_read(x, k.msg, k.msg_len, &ev);
    if (kmsg_event_reserve(x, &ev) != VG_OK)
        return VG_ENOMEM;
    if (k.seq >= x->ship_from) {
        rc = kmsg_ship(x, e, &k, &ev);
        if (rc != VG_OK)
            return rc; /* neither taken nor counted: the same record comes again */
    }
    x->records++;
    if (!x->seen_any || k.seq > x->max_seq)
        x->max_seq = k.seq;
    x->seen_any = true;
    kmsg_event_count(x, &ev);
    return VG_OK;
}

/* The end of the record starting at p: its header line and the
 * dictionary lines after it (they start with a space). NULL when it is not
 * all there yet: a line not ended (unless full: the buffer can hold no
 * more), or the end of the data reached before eof says no more follows. */
static const char *kmsg_record_end(const char *p, const char *end, bool eof, bool full)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));

    if (nl == NULL)
        return full ? end : NULL;
    for (p = nl + 1; p < end && *p == ' '; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return full ? end : NULL;
    }
    return p < end || eof || full ? p : NULL;
}

/* Handles the whole records of buf; returns the bytes used. */
static size_t kmsg_split(struct kmsg_ctx *x, struct vg_emit *e, bool eof, int *rc)
{
    const char *p = x->buf, *end = x->buf + x->buf_len, *r;
    bool full = x->buf_len == KMSG_BUF_CAP;

    *rc = VG_OK;
    while (p < end && *rc == VG_OK && !vg_emit_paused(e)) {
        r = kmsg_record_end(p, end, eof, full);
        if (r == NULL)
            break;
        if (r - p > 1 || *p != '\n')
            *rc = kmsg_handle(x, e, p, (size_t)(r - p));
        if (*rc == VG_OK)
            p = r; /* else the record is handled again next time */
    }
    return (size_t)(p - x->buf);
}

/* Reads a plain file up to its end (nothing new yet: the next collect
 * looks again). *dry: its end was reached with nothing left to handle. */
static int kmsg_read_file(struct kmsg_ctx *x, struct vg_emit *e, bool *dry)
{
    size_t used, budget = 16 * (size_t)KMSG_BUF_CAP;
    ssize_t n;
    int rc = VG_OK;

    while (rc == VG_OK && !vg_emit_paused(e)) {
        n = read(x->fd, x->buf + x->buf_len, KMSG_BUF_CAP - x->buf_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vg_collector_fail(x->c, "cannot read %s: %s", x->path, vg_errno_str(errno));
            return VG_EIO;
        }
        x->buf_len += (size_t)n;
        used = kmsg_split(x, e, n == 0, &rc);
        memmove(x->buf, x->buf + used, x->buf_len - used);
        x->buf_len -= used;
        if (n == 0) {
            *dry = x->buf_len == 0;
            break;
        }
        if (budget <= (size_t)n) {
            vg_collector_wake(x->c, 0); /* let the loop breathe, then go on */
            break;
        }
        budget -= (size_t)n;
    }
    return rc;
}

/* Reads the device: one record a read, until it would block (*dry). A
 * record that could not be taken (out of memory) stays in buf, first in
 * line at the next collect. */
static int kmsg_read_device(struct kmsg_ctx *x, struct vg_emit *e, bool *dry)
{
    int budget = KMSG_READS_MAX, rc = VG_OK;
    ssize_t n;

    while (rc == VG_OK && !vg_emit_paused(e)) {
        if (budget-- == 0) {
            vg_collector_wake(x->c, 0); /* a full ring: let the loop breathe, then go on */
            break;
        }
        if (x->buf_len > 0) {
            rc = kmsg_handle(x, e, x->buf, x->buf_len);
            if (rc == VG_OK)
                x->buf_len = 0;
            continue;
        }
        n = read(x->fd, x->buf, KMSG_REC_MAX);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EPIPE) {
            x->overruns++; /* the ring overwrote records we had not read: go on */
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            *dry = true;
            break;
        }
        if (n <= 0) {
            vg_collector_fail(x->c, "cannot read %s: %s", x->path,
                              n == 0 ? "end of file" : vg_errno_str(errno));
            return VG_EIO;
        }
        x->buf_len = (size_t)n;
    }
    return rc;
}

/* At the first time the source runs dry: a ring whose newest record is
 * older than the saved sequence is another boot's; read it again, all of
 * it shipped this time. */
static void kmsg_check_reboot(struct kmsg_ctx *x)
{
    x->caught_up = true;
    if (x->ship_from == 0 || (x->seen_any && x->max_seq + 1 >= x->ship_from))
        return;
    vg_log(VG_LOG_INFO, KMSG_PLUGIN, x->c->name,
           "the kernel log ends before the saved sequence %llu: the node rebooted, shipping "
           "from the start",
           (unsigned long long)(x->ship_from - 1));
    x->ship_from = 0;
    x->acked = 0;
    x->seen_any = false;
    x->buf_len = 0;
    kmsg_events_reset(x);
    vg_checkpoint_clear(&x->ck);
    if (x->boot_id[0] != '\0')
        vg_checkpoint_set(&x->ck, "boot_id", x->boot_id);
    if (lseek(x->fd, 0, SEEK_SET) < 0)
        vg_log(VG_LOG_WARN, KMSG_PLUGIN, x->c->name, "cannot go back to the start of %s: %s",
               x->path, vg_errno_str(errno));
    vg_collector_wake(x->c, 0);
}

static int kmsg_collect(struct vg_collector *c, struct vg_emit *e)
{
    struct kmsg_ctx *x = c->ctx;
    bool dry = false;
    int rc;

    /* a device left unwatched while the outputs were full is watched again */
    if (x->device && !x->watched && !vg_emit_paused(e) && vg_collector_watch_fd(c, x->fd) == VG_OK)
        x->watched = true;
    rc = x->device ? kmsg_read_device(x, e, &dry) : kmsg_read_file(x, e, &dry);
    if (rc == VG_ENOMEM)
        vg_collector_fail(c, "out of memory: the record is taken at the next collection");
    if (x->device && x->watched && vg_emit_paused(e)) {
        /* level-triggered: stop watching what we cannot drain now */
        vg_collector_unwatch_fd(c, x->fd);
        x->watched = false;
    }
    if (rc == VG_OK && dry && !x->caught_up)
        kmsg_check_reboot(x);
    vg_checkpoint_tick(&x->ck, vg_mono_ns());
    kmsg_emit_metrics(x, e);
    return rc;
}

static void kmsg_ack(struct vg_collector *c, const struct vg_ack *ack)
{
    struct kmsg_ctx *x = c->ctx;

    if (ack->source_id != KMSG_SOURCE || ack->offset <= x->acked)
        return;
    x->acked = ack->offset;
    vg_checkpoint_set_u64(&x->ck, "sequence", ack->offset - 1);
}

static void kmsg_destroy(struct vg_collector *c)
{
    struct kmsg_ctx *x = c->ctx;

    if (x->c == NULL)
        return; /* init never ran */
    vg_checkpoint_close(&x->ck, true);
    if (x->fd >= 0) {
        if (x->watched)
            vg_collector_unwatch_fd(c, x->fd);
        close(x->fd);
        x->fd = -1;
    }
    x->watched = false;
    free(x->buf);
    x->buf = NULL;
    free(x->xids);
    x->xids = NULL;
    free(x->ooms);
    x->ooms = NULL;
}

const struct vg_collector_ops vg_collector_kmsg = {
    .name = "kmsg",
    .doc = "the kernel log: records with priority and sequence, NVIDIA Xid errors, OOM kills",
    .records = true,
    .options = kmsg_options,
    .ctx_size = sizeof(struct kmsg_ctx),
    .default_interval_ms = 1000,
    .init = kmsg_init,
    .collect = kmsg_collect,
    .ack = kmsg_ack,
    .destroy = kmsg_destroy,
};

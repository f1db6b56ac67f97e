/*
 * node_collect.h - what the node collector's files share: its context, the
 * helpers that read a source into the context's buffer and report a failed
 * read or parse, and the sub-collectors that live outside node.c
 * (node_net.c: network sources; node_sys.c: time, file handles, vmstat,
 * os-release, selinux).
 * Nothing here leaves the plugin: node.c exports the one descriptor.
 */
#ifndef NODE_COLLECT_H
#define NODE_COLLECT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "node_parse.h"
#include "vigil.h"

#define NODE_PLUGIN "node"
/* A sub-collector's answer when the kernel lacks its source: not an error. */
#define NODE_NO_DATA 1
/* Mount points whose statvfs hangs are given up on, at most this many at once. */
#define NODE_STUCK_MAX 16

struct node_statfs_job;

struct node_ctx {
    /* options */
    char *proc_root;
    char *sys_root;
    char *rootfs;
    char *fs_types_exclude;
    char *mount_points_exclude;
    char *disk_exclude;
    char *vmstat_fields;
    char *netstat_fields;
    struct vg_strlist collectors;
    int64_t mount_timeout_ms;
    /* state */
    unsigned enabled; /* 1u << index in node_subs */
    pcre2_code *re_fs_types;
    pcre2_code *re_mount_points;
    pcre2_code *re_disk;
    pcre2_code *re_vmstat;
    pcre2_code *re_netstat;
    pcre2_match_data *md;
    struct vg_buf buf; /* the file being parsed, reused */
    struct vg_buf aux; /* a second file read while buf is parsed (udev data) */
    double user_hz;
    double page_size;
    bool real_proc; /* proc_root is the host's own: uname(2), adjtimex(2) */
    struct node_statfs_job *worker;
    struct node_statfs_job *stuck[NODE_STUCK_MAX];
    size_t n_stuck;
    uint64_t *seen; /* hashes of the filesystem label sets of this collection */
    size_t n_seen, cap_seen;
    struct vg_complain complain;
    /* a value dropped from a source that is otherwise read: never cleared
     * by a good collection, so it stays at one line a minute */
    struct vg_complain complain_value;
    char path[PATH_MAX]; /* the file being read, for messages */
};

struct node_emit_arg {
    struct node_ctx *ctx;
    struct vg_emit *emit;
};

/* Sets ctx->path to root/rel; VG_EINVAL when it does not fit. */
int node_path(struct node_ctx *ctx, const char *root, const char *rel);

/* Reads the whole of path into b (kept between collections). VG_OK,
 * VG_ENOENT when the file does not exist, or VG_EIO with errno set. */
int node_read_file(const char *path, struct vg_buf *b);

/* Reads root/rel into ctx->buf; a failure other than ENOENT is said
 * through c. */
int node_read(struct vg_collector *c, const char *root, const char *rel);

/* Reports a failed read or parse of ctx->path (rate-limited); returns rc. */
int node_report(struct vg_collector *c, int rc, const struct node_perr *pe);

/* True when re (NULL: no exclusion) matches s. */
bool node_re_match(struct node_ctx *ctx, const pcre2_code *re, const char *s);

/* Calls cb for every entry of the folder root/rel but "." and "..", of a
 * type other than a regular file, without allocating. VG_ENOENT when the
 * folder does not exist; cb's error stops the walk and comes back. */
typedef int (*node_dir_cb)(const char *name, void *arg);
int node_dir_each(struct node_ctx *ctx, const char *root, const char *rel, node_dir_cb cb,
                  void *arg);

typedef int (*node_sub_fn)(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);

/* node_net.c */
int node_collect_netclass(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_netstat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_sockstat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_conntrack(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_arp(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_softnet(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_udp_queues(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);

/* node_sys.c */
int node_collect_time(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_timex(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_filefd(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_vmstat(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_os(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);
int node_collect_selinux(struct vg_collector *c, struct node_ctx *ctx, struct vg_emit *emit);

#endif

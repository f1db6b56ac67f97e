/*
 * container_logs_parse.h - the pure parts of the container_logs collector:
 * Kubernetes and Docker metadata from paths, file fingerprints and the
 * checkpoint file format. Tested on strings.
 */
#ifndef CONTAINER_LOGS_PARSE_H
#define CONTAINER_LOGS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* What a log file's path says about its container. Strings are
 * NUL-terminated; empty when unknown. restart_count is -1 when unknown. */
struct clog_meta {
    char namespace_[64];
    char pod[254];
    char container[64];
    char container_id[65];
    char pod_uid[40];
    char container_name[128]; /* Docker's own name of the container */
    char image[256];
    int64_t restart_count;
};

void clog_meta_init(struct clog_meta *m);

/* kubelet's link: /var/log/containers/<pod>_<namespace>_<container>-<id>.log
 * (only the base name is read). Fills pod, namespace, container and
 * container_id; false (m unchanged) when the name does not have that shape. */
bool clog_meta_from_container_link(const char *path, struct clog_meta *m);

/* kubelet's file: .../pods/<namespace>_<pod>_<uid>/<container>/<n>.log
 * (the last three components are read). Fills namespace, pod, pod_uid,
 * container and restart_count; false when the path does not have that shape. */
bool clog_meta_from_pod_file(const char *path, struct clog_meta *m);

/* Docker: .../containers/<id>/<id>-json.log (rotated: -json.log.N).
 * Writes the 64-hex id into id[65]; false when the path does not say. */
bool clog_docker_id_from_path(const char *path, char id[65]);

/* Docker's <id>/config.v2.json: fills container_name (without its leading
 * '/'), image, and from the io.kubernetes.* labels namespace, pod,
 * container and pod_uid. VG_OK, or VG_EPARSE when json is not a JSON
 * object (m is then unchanged); missing keys are left empty. */
int clog_meta_from_docker_config(const char *json, size_t len, struct clog_meta *m);

/* 64-bit FNV-1a of p[0..n), continuing from h (start with CLOG_HASH_INIT):
 * the core's vg_fnv1a_more (fingerprints in checkpoints depend on it). */
#define CLOG_HASH_INIT VG_FNV1A_INIT
uint64_t clog_hash(uint64_t h, const void *p, size_t n);

/* The fingerprint of a file: the hash of its first line (up to and with
 * its '\n'), or of its first `max` bytes when no '\n' comes before them.
 * head holds the file's first n bytes. Returns the length covered, or 0
 * when it is not known yet (no '\n' in head and n < max). */
size_t clog_fingerprint(const char *head, size_t n, size_t max, uint64_t *hash);

/* The identity of a file that records carry as their source. */
uint64_t clog_source_id(uint64_t dev, uint64_t ino, uint64_t fp_hash);

/* One checkpoint: the position up to which every record of a file was
 * delivered, how the file is recognised, and where it really lived. */
struct clog_ckpt_entry {
    uint64_t dev, ino;
    uint64_t fp_len, fp_hash;
    uint64_t offset;
    uint64_t flags; /* CLOG_CKPT_* */
    uint64_t size;  /* its size when last seen (0: unknown) */
    char *path;     /* the path it was found by (malloc'd) */
    char *real;     /* the file itself, links resolved (malloc'd) */
};

/* The file was rotated away or truncated, or read to its end and left. */
#define CLOG_CKPT_GONE 1u
/* It was truncated in place (copytruncate): a copy of it found later (same
 * fingerprint, another inode) continues from its offset. */
#define CLOG_CKPT_TRUNCATED 2u

/* The checkpoint file's first line (v1 files are read too), and the line
 * after it: "# written <UNIX ns>". */
#define CLOG_CKPT_HEADER    "# vigil container_logs checkpoints v2\n"
#define CLOG_CKPT_HEADER_V1 "# vigil container_logs checkpoints v1"
#define CLOG_CKPT_WRITTEN   "# written "

/* Appends one entry as a line:
 * "<dev> <ino> <fp_len> <fp_hash hex> <offset> <flags> <size> <path>\t<real>\n"
 * (paths escaped: backslash, newline, carriage return and tab as \\ \n \r \t). */
int clog_ckpt_format(const struct clog_ckpt_entry *e, struct vg_buf *out);

/* Parses one such line (without its '\n'); v1: a line of the first format,
 * without size and real path ("<dev> <ino> <fp_len> <hash> <offset> <flags>
 * <path>"; real is then the path). VG_OK (e->path and e->real allocated:
 * clog_ckpt_entry_free), VG_EPARSE, or VG_ENOMEM. */
int clog_ckpt_parse_line(const char *line, size_t len, bool v1, struct clog_ckpt_entry *e);

/* Frees the strings of e (not e itself) and sets them to NULL. */
void clog_ckpt_entry_free(struct clog_ckpt_entry *e);

/* A copy of e with its own strings. VG_OK or VG_ENOMEM (out untouched). */
int clog_ckpt_entry_copy(const struct clog_ckpt_entry *e, struct clog_ckpt_entry *out);

#endif

/*
 * gzip.h - one-shot gzip with a deflate stream kept for reuse: the /metrics
 * exposition and the Elasticsearch output compress whole bodies this way.
 */
#ifndef VG_GZIP_H
#define VG_GZIP_H

#include <stddef.h>
#include <zlib.h>

/* Sets z up for gzip (one member per call of vg_gzip) at level 1 (fastest)
 * to 9. VG_OK, VG_EINVAL for another level, VG_ENOMEM. End with deflateEnd. */
int vg_gzip_init(z_stream *z, int level);

/* The most bytes vg_gzip may write for len bytes of input (z between
 * calls of vg_gzip, which leaves it reset). */
size_t vg_gzip_bound(z_stream *z, size_t len);

/* Compresses in[0..len) as one gzip member into out[0..cap), cap at least
 * vg_gzip_bound(z, len); *n gets its size. VG_OK, or VG_EINVAL (input over
 * 2 GiB, cap too small, a stream that was not set up). */
int vg_gzip(z_stream *z, const void *in, size_t len, void *out, size_t cap, size_t *n);

#endif

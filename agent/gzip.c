/*
 * gzip.c - one-shot gzip on a reused deflate stream; see gzip.h.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "gzip.h"
#include "vigil.h"

int vg_gzip_init(z_stream *z, int level)
{
    memset(z, 0, sizeof(*z));
    if (level < 1 || level > 9)
        return VG_EINVAL;
    /* windowBits 15 + 16: a gzip header and trailer around the deflate data */
    if (deflateInit2(z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return VG_ENOMEM;
    return VG_OK;
}

size_t vg_gzip_bound(z_stream *z, size_t len)
{
    return (size_t)deflateBound(z, (uLong)len);
}

int vg_gzip(z_stream *z, const void *in, size_t len, void *out, size_t cap, size_t *n)
{
    int zrc;

    if (len > UINT_MAX / 2 || cap < vg_gzip_bound(z, len))
        return VG_EINVAL;
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    z->next_out = out;
    z->avail_out = (uInt)(cap < UINT_MAX ? cap : UINT_MAX);
    /* deflateBound is room enough for a single Z_FINISH */
    zrc = deflate(z, Z_FINISH);
    *n = (size_t)z->total_out;
    /* reset after, not before: deflateBound of a finished stream leaves
     * out the gzip header, so the next bound must see a fresh one */
    if (deflateReset(z) != Z_OK || zrc != Z_STREAM_END)
        return VG_EINVAL;
    return VG_OK;
}

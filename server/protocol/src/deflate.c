/* deflate.c — raw deflate (RFC 1951, no zlib header) for snapshot
 * sections, so browsers can use DecompressionStream('deflate-raw') and
 * Node zlib.inflateRawSync. Inflation is bounded by a size the caller
 * already checked against its limit: never more than `want` bytes out.
 *
 * zlib's default settings (level 6, memLevel 8): on the automerge-paper
 * snapshot level 9 was 0.8% smaller and made encoding ~4x slower, its
 * long match chains crawling through the repetitive delete columns. */
#include <stdlib.h>
#include <zlib.h>

#include "proto_int.h"
#include "snap_int.h"

int proto__deflate(const void *in, size_t n, weft_buf *out)
{
    z_stream z = {0};
    out->n = 0;
    if (n > UINT32_MAX)
        return WEFT_PROTO_E_VALUE;
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return WEFT_PROTO_E_ZLIB;
    size_t bound = deflateBound(&z, (uLong)n);
    int rc = proto__grow((void **)&out->p, &out->cap, bound, 1);
    if (rc) {
        deflateEnd(&z);
        return rc;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->p;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    if (zr != Z_STREAM_END) {
        deflateEnd(&z);
        return WEFT_PROTO_E_ZLIB;
    }
    out->n = z.total_out;
    deflateEnd(&z);
    return 0;
}

int proto__inflate(const uint8_t *in, size_t n, uint8_t *dst, size_t want)
{
    z_stream z = {0};
    int rc;
    if (n > UINT32_MAX || want > UINT32_MAX)
        return WEFT_PROTO_E_INFLATE;
    if (inflateInit2(&z, -15) != Z_OK)
        return WEFT_PROTO_E_NOMEM;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)dst;
    z.avail_out = (uInt)want;
    int zr = inflate(&z, Z_FINISH);
    /* Exactly `want` bytes, a complete stream, no bytes after it. With
     * avail_out 0 and the stream not finished, zlib says Z_BUF_ERROR (or
     * Z_OK): too much data, which we never write anywhere. */
    if (zr == Z_STREAM_END && z.total_out == want && z.avail_in == 0)
        rc = 0;
    else if (zr == Z_MEM_ERROR)
        rc = WEFT_PROTO_E_NOMEM;
    else
        rc = WEFT_PROTO_E_INFLATE;
    inflateEnd(&z);
    return rc;
}

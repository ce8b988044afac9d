/* deflate.c — raw deflate (RFC 1951, no zlib header) for snapshot
 * sections, so browsers can use DecompressionStream('deflate-raw') and
 * Node zlib.inflateRawSync. Inflation is bounded by a size the caller
 * already checked against its limit: never more than `want` bytes out.
 *
 * zlib's default settings (level 6, memLevel 8): on the automerge-paper
 * snapshot level 9 was 0.8% smaller and made encoding ~4x slower, its
 * long match chains crawling through the repetitive delete columns.
 * One stream serves all 16 sections of a snapshot (deflateReset between
 * them), and its window and hash table are no bigger than the largest
 * section needs: window 2^w with w the bits of that size (9 … 15),
 * memLevel w - 7 (8 at w = 15, the default). A fresh default stream per
 * section made a tiny document's encode cost ~450 us, nearly all of it
 * allocating and clearing 64 KiB hash tables; a large section compresses
 * exactly as with the defaults. Every inflater with a 32 KiB window reads
 * the smaller windows. */
#include <stdlib.h>
#include <zlib.h>

#include "proto_int.h"
#include "snap_int.h"

struct proto__deflater {
    z_stream z;
};

int proto__deflater_new(proto__deflater **out, size_t max_in)
{
    proto__deflater *d = calloc(1, sizeof *d);
    int wbits = 9;
    *out = NULL;
    if (!d)
        return WEFT_PROTO_E_NOMEM;
    while (wbits < 15 && ((size_t)1 << wbits) < max_in)
        wbits++;
    int zr = deflateInit2(&d->z, 6, Z_DEFLATED, -wbits, wbits - 7, Z_DEFAULT_STRATEGY);
    if (zr != Z_OK) {
        free(d);
        return zr == Z_MEM_ERROR ? WEFT_PROTO_E_NOMEM : WEFT_PROTO_E_ZLIB;
    }
    *out = d;
    return 0;
}

void proto__deflater_free(proto__deflater *d)
{
    if (!d)
        return;
    deflateEnd(&d->z);
    free(d);
}

int proto__deflate(proto__deflater *d, const void *in, size_t n, weft_buf *out)
{
    z_stream *z = &d->z;
    out->n = 0;
    if (n > UINT32_MAX)
        return WEFT_PROTO_E_VALUE;
    if (deflateReset(z) != Z_OK)
        return WEFT_PROTO_E_ZLIB;
    size_t bound = deflateBound(z, (uLong)n);
    int rc = proto__grow((void **)&out->p, &out->cap, bound, 1);
    if (rc)
        return rc;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)n;
    z->next_out = (Bytef *)out->p;
    z->avail_out = (uInt)bound;
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
        return WEFT_PROTO_E_ZLIB;
    out->n = z->total_out;
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

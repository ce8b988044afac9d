/* deflate.c — raw deflate (RFC 1951, no zlib header) for snapshot
 * sections, so browsers can use DecompressionStream('deflate-raw') and
 * Node zlib.inflateRawSync. Inflation is bounded by a size the caller
 * already checked against its limit: never more than `want` bytes out.
 *
 * Inflating is libdeflate's: every section is inflated whole into a buffer
 * of its declared size, which is what libdeflate does (no streaming state,
 * no window copies), 2.7x faster than zlib's inflate on the automerge-paper
 * snapshot (0.37 vs 1.0 ms for its 16 sections), where zlib was a third of
 * the load. Deflating stays zlib's (the golden vectors are its bytes):
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
#include <libdeflate.h>
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
    /* level 6 again after a stored section (deflateParams on a reset
     * stream takes effect at once) */
    if (deflateReset(z) != Z_OK || deflateParams(z, 6, Z_DEFAULT_STRATEGY) != Z_OK)
        return WEFT_PROTO_E_ZLIB;
    /* room for either form: deflate's bound, or zlib's own bound for
     * stored blocks (at most 64 KiB each, 5-byte headers) */
    size_t stored = n + 5 * (n / 65535 + 1), bound = deflateBound(z, (uLong)n),
           sbound = n + (n >> 5) + (n >> 7) + (n >> 11) + 12;
    if (bound < sbound)
        bound = sbound;
    int rc = proto__grow((void **)&out->p, &out->cap, bound, 1);
    if (rc)
        return rc;
    for (int level = 6;; level = 0) {
        z->next_in = (Bytef *)in;
        z->avail_in = (uInt)n;
        z->next_out = (Bytef *)out->p;
        z->avail_out = (uInt)bound;
        if (deflate(z, Z_FINISH) != Z_STREAM_END)
            return WEFT_PROTO_E_ZLIB;
        out->n = z->total_out;
        /* Stored blocks (5 bytes each per 64 KiB) when deflate saves less
         * than a third: inflating them is a copy, not a Huffman decode. */
        if (level == 0 || stored * 2 > out->n * 3)
            break;
        if (deflateReset(z) != Z_OK || deflateParams(z, 0, Z_DEFAULT_STRATEGY) != Z_OK)
            return WEFT_PROTO_E_ZLIB;
    }
    return 0;
}

int proto__inflater_new(proto__inflater **out)
{
    *out = (proto__inflater *)libdeflate_alloc_decompressor();
    return *out ? 0 : WEFT_PROTO_E_NOMEM;
}

void proto__inflater_free(proto__inflater *z)
{
    if (z)
        libdeflate_free_decompressor((struct libdeflate_decompressor *)z);
}

int proto__inflate(proto__inflater *z, const uint8_t *in, size_t n, uint8_t *dst, size_t want)
{
    size_t used = 0, got = 0;
    if (n > UINT32_MAX || want > UINT32_MAX)
        return WEFT_PROTO_E_INFLATE;
    /* Exactly `want` bytes, a complete stream, no bytes after it. More
     * data than `want` is INSUFFICIENT_SPACE: never written anywhere. */
    enum libdeflate_result r = libdeflate_deflate_decompress_ex(
        (struct libdeflate_decompressor *)z, in, n, dst, want, &used, &got);
    return r == LIBDEFLATE_SUCCESS && got == want && used == n ? 0 : WEFT_PROTO_E_INFLATE;
}

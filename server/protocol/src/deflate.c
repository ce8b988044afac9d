/* deflate.c — raw deflate (RFC 1951, no zlib header) for snapshot
 * sections, so browsers can use DecompressionStream('deflate-raw') and
 * Node zlib.inflateRawSync. Inflation is bounded by a size the caller
 * already checked against its limit: never more than `want` bytes out.
 *
 * Both directions are libdeflate's, which works on whole buffers, as a
 * snapshot's sections are:
 *  - inflating every section whole into a buffer of its declared size is
 *    2.7x faster than zlib's inflate on the automerge-paper snapshot (0.37
 *    vs 1.0 ms for its 16 sections), where zlib was a third of the load;
 *  - deflating at level 6 is 2.5-3x faster than zlib's level 6 and a few
 *    percent smaller (20 KB of typed text: 0.15 vs 0.43 ms; 182 KB: 2.5 vs
 *    6.7 ms). Encoding runs on the server's event loop, every
 *    --snapshot-every batches per room, so its time is every member's
 *    latency (S6r, docs/benchmarks.md).
 * Level 9 was 0.8% smaller than 6 with zlib and ~4x slower, its long match
 * chains crawling through the repetitive delete columns. One compressor
 * per encode serves all 16 sections; allocating it costs ~5 us (libdeflate
 * clears only the tables an input uses). */
#include <libdeflate.h>
#include <stdlib.h>

#include "proto_int.h"
#include "snap_int.h"

struct proto__deflater {
    struct libdeflate_compressor *c6, *c0; /* level 6; level 0 (stored), made when needed */
};

int proto__deflater_new(proto__deflater **out)
{
    proto__deflater *d = calloc(1, sizeof *d);
    *out = NULL;
    if (!d || !(d->c6 = libdeflate_alloc_compressor(6))) {
        free(d);
        return WEFT_PROTO_E_NOMEM;
    }
    *out = d;
    return 0;
}

void proto__deflater_free(proto__deflater *d)
{
    if (!d)
        return;
    libdeflate_free_compressor(d->c6);
    libdeflate_free_compressor(d->c0);
    free(d);
}

int proto__deflate(proto__deflater *d, const void *in, size_t n, weft_buf *out)
{
    out->n = 0;
    if (n > UINT32_MAX)
        return WEFT_PROTO_E_VALUE;
    /* stored blocks take 5 bytes per 64 KiB block (libdeflate's blocks are
     * smaller, hence its own bound) */
    size_t stored = n + 5 * (n / 65535 + 1), bound = libdeflate_deflate_compress_bound(d->c6, n);
    int rc = proto__grow((void **)&out->p, &out->cap, bound, 1);
    if (rc)
        return rc;
    out->n = libdeflate_deflate_compress(d->c6, in, n, out->p, bound);
    if (out->n == 0)
        return WEFT_PROTO_E_ZLIB;
    /* Stored blocks when deflate saves less than a third: inflating them is
     * a copy, not a Huffman decode. */
    if (stored * 2 <= out->n * 3) {
        if (!d->c0 && !(d->c0 = libdeflate_alloc_compressor(0)))
            return WEFT_PROTO_E_NOMEM;
        bound = libdeflate_deflate_compress_bound(d->c0, n);
        if ((rc = proto__grow((void **)&out->p, &out->cap, bound, 1)))
            return rc;
        out->n = libdeflate_deflate_compress(d->c0, in, n, out->p, bound);
        if (out->n == 0)
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
    enum libdeflate_result r = libdeflate_deflate_decompress_ex((struct libdeflate_decompressor *)z,
                                                                in, n, dst, want, &used, &got);
    return r == LIBDEFLATE_SUCCESS && got == want && used == n ? 0 : WEFT_PROTO_E_INFLATE;
}

/* snap_int.h — snapshot helpers shared by snapshot.c and deflate.c. */
#ifndef WEFT_SNAP_INT_H
#define WEFT_SNAP_INT_H

#include "proto_int.h"

/* Raw deflate of in[0..n) into out (replaced), level 9. */
int proto__deflate(const void *in, size_t n, weft_buf *out);
/* Raw inflate of in[0..n) into out (replaced): exactly `want` bytes and
 * one complete stream, else WEFT_PROTO_E_INFLATE. */
int proto__inflate(const uint8_t *in, size_t n, size_t want, weft_buf *out);

/* Zigzag of a 32-bit difference (two's complement), a bijection on u32. */
static inline uint32_t proto__zz(uint32_t d)
{
    return (d << 1) ^ (0u - (d >> 31));
}
static inline uint32_t proto__unzz(uint32_t z)
{
    return (z >> 1) ^ (0u - (z & 1));
}

#endif

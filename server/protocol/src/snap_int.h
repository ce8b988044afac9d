/* snap_int.h — snapshot helpers shared by snapshot.c, column.c and
 * deflate.c.
 *
 * A snapshot column is a byte string of unsigned LEB128 varints, one per
 * value (docs/protocol.md §5): 7 bits per byte, least significant group
 * first, high bit set on every byte but the last. Canonical: at most 5
 * bytes, no value >= 2^32, no trailing zero group (so every u32 has one
 * encoding). Readers never trust a column: every read checks the bytes
 * that remain. */
#ifndef WEFT_SNAP_INT_H
#define WEFT_SNAP_INT_H

#include "proto_int.h"

/* A raw deflate stream (level 6), reused for inputs of at most max_in
 * bytes, its window and tables sized for them (deflate.c). */
typedef struct proto__deflater proto__deflater;
int proto__deflater_new(proto__deflater **out, size_t max_in); /* *out NULL on failure */
void proto__deflater_free(proto__deflater *d);                 /* NULL is fine */
/* Raw deflate of in[0..n) into out (replaced), one complete stream. */
int proto__deflate(proto__deflater *d, const void *in, size_t n, weft_buf *out);
/* A raw inflater (libdeflate's whole-buffer decompressor), reused for
 * every section of a snapshot. */
typedef struct proto__inflater proto__inflater;
int proto__inflater_new(proto__inflater **out); /* *out NULL on failure */
void proto__inflater_free(proto__inflater *z);   /* NULL is fine */
/* Raw inflate of in[0..n) into dst[0..want): exactly `want` bytes and one
 * complete stream, else WEFT_PROTO_E_INFLATE. dst is never NULL. */
int proto__inflate(proto__inflater *z, const uint8_t *in, size_t n, uint8_t *dst, size_t want);

/* Zigzag of a 32-bit difference (two's complement), a bijection on u32. */
static inline uint32_t proto__zz(uint32_t d)
{
    return (d << 1) ^ (0u - (d >> 31));
}
static inline uint32_t proto__unzz(uint32_t z)
{
    return (z >> 1) ^ (0u - (z & 1));
}

/* ---- writing a column ---------------------------------------------------- */

/* Appends the varint of v to b; the sticky *err is set on NOMEM. */
void proto__col_put_slow(weft_buf *b, uint32_t v, int *err);

static inline void proto__col_put(weft_buf *b, uint32_t v, int *err)
{
    if (v < 0x80 && b->n < b->cap) {
        b->p[b->n++] = (char)v;
        return;
    }
    proto__col_put_slow(b, v, err);
}

/* ---- reading a column ------------------------------------------------------ */

typedef struct proto__col {
    const uint8_t *p, *end;
} proto__col;

static inline void proto__col_init(proto__col *c, const uint8_t *p, size_t n)
{
    c->p = p;
    c->end = p + n;
}

/* Reads a varint of two or more bytes (or fails). */
int proto__col_next_slow(proto__col *c, uint32_t *v);

/* Reads the next value: WEFT_PROTO_E_TRUNCATED when the column has ended
 * (or ends inside a value), _NONCANONICAL for a trailing zero group,
 * _INTRANGE for a value >= 2^32 or a sixth byte. */
static inline int proto__col_next(proto__col *c, uint32_t *v)
{
    if (c->p < c->end && *c->p < 0x80) {
        *v = *c->p++;
        return 0;
    }
    /* two bytes, the second a canonical last group (not 0) */
    if (c->end - c->p >= 2 && c->p[1] < 0x80 && c->p[1] != 0) {
        *v = (uint32_t)(c->p[0] & 0x7f) | (uint32_t)c->p[1] << 7;
        c->p += 2;
        return 0;
    }
    return proto__col_next_slow(c, v);
}

static inline bool proto__col_more(const proto__col *c)
{
    return c->p < c->end;
}

/* Number of values in the column if it is well formed (its bytes below
 * 0x80, each of which ends a value); <= its length. */
size_t proto__col_count(const proto__col *c);

/* 0 when the column is used up; otherwise WEFT_PROTO_E_TRAILING (whole
 * values left over) or the error reading the rest gives. */
int proto__col_done(const proto__col *c);

#endif

/* scan.c — the bounds pre-check run on untrusted bytes before msgpack-c.
 *
 * A small walker over msgpack headers. It never allocates and never trusts
 * a declared length: each array count, str and bin length must fit in the
 * bytes that remain (an array element takes at least one byte), so the
 * 5-byte frame dd ff ff ff ff (an array of 2^32-1 elements, which msgpack-c
 * would allocate up front) is TRUNCATED here. It also enforces the
 * canonical rules of docs/protocol.md. */
#include <string.h>

#include "proto_int.h"

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum { K_SCALAR, K_ARRAY, K_STR, K_BIN };

/* Reads the header at p[0..avail): its kind, the count/length it declares
 * and the header size. */
static int header(const uint8_t *p, size_t avail, int *kind, uint32_t *n, size_t *hlen)
{
    uint8_t b = p[0];
    *n = 0;
    *hlen = 1;
    *kind = K_SCALAR;
    if (b <= 0x7f || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b >= 0xe0)
        return WEFT_PROTO_E_NEGATIVE;
    if (b >= 0x90 && b <= 0x9f) {
        *kind = K_ARRAY;
        *n = b & 0x0f;
        return 0;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        *kind = K_STR;
        *n = b & 0x1f;
        return 0;
    }
    if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf)
        return WEFT_PROTO_E_MAP;
    if (b == 0xca || b == 0xcb)
        return WEFT_PROTO_E_FLOAT;
    if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8))
        return WEFT_PROTO_E_EXT;
    if (b == 0xc1)
        return WEFT_PROTO_E_RESERVED;

    /* Formats with a fixed-size payload after the tag byte. */
    size_t need;
    switch (b) {
    case 0xcc:
    case 0xd0:
    case 0xc4:
    case 0xd9:
        need = 1;
        break;
    case 0xcd:
    case 0xd1:
    case 0xc5:
    case 0xda:
    case 0xdc:
        need = 2;
        break;
    case 0xce:
    case 0xd2:
    case 0xc6:
    case 0xdb:
    case 0xdd:
        need = 4;
        break;
    case 0xcf:
    case 0xd3:
        need = 8;
        break;
    default:
        return WEFT_PROTO_E_RESERVED; /* unreachable: every byte is covered */
    }
    if (avail - 1 < need)
        return WEFT_PROTO_E_TRUNCATED;
    *hlen = 1 + need;
    const uint8_t *q = p + 1;
    switch (b) {
    case 0xcc:
        return q[0] < 0x80 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xcd:
        return be16(q) < 0x100 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xce:
        return be32(q) < 0x10000 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xcf:
        return be32(q) ? WEFT_PROTO_E_INTRANGE : WEFT_PROTO_E_NONCANONICAL;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        /* Signed formats: negative values are not allowed, non-negative
         * ones have a smaller unsigned form. */
        return (q[0] & 0x80) ? WEFT_PROTO_E_NEGATIVE : WEFT_PROTO_E_NONCANONICAL;
    case 0xc4:
        *kind = K_BIN;
        *n = q[0];
        return 0;
    case 0xc5:
        *kind = K_BIN;
        *n = be16(q);
        return *n < 0x100 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xc6:
        *kind = K_BIN;
        *n = be32(q);
        return *n < 0x10000 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xd9:
        *kind = K_STR;
        *n = q[0];
        return *n < 0x20 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xda:
        *kind = K_STR;
        *n = be16(q);
        return *n < 0x100 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xdb:
        *kind = K_STR;
        *n = be32(q);
        return *n < 0x10000 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xdc:
        *kind = K_ARRAY;
        *n = be16(q);
        return *n < 0x10 ? WEFT_PROTO_E_NONCANONICAL : 0;
    case 0xdd:
        *kind = K_ARRAY;
        *n = be32(q);
        return *n < 0x10000 ? WEFT_PROTO_E_NONCANONICAL : 0;
    }
    return WEFT_PROTO_E_RESERVED; /* unreachable */
}

int proto__scan_value(const uint8_t *p, size_t len, uint32_t max_depth, size_t *end)
{
    uint32_t left[PROTO__DEPTH_CAP]; /* elements still to read, per open array */
    uint32_t depth = 0;
    size_t i = 0;
    if (max_depth > PROTO__DEPTH_CAP)
        max_depth = PROTO__DEPTH_CAP;
    for (;;) {
        if (i >= len)
            return WEFT_PROTO_E_TRUNCATED;
        int kind;
        uint32_t n;
        size_t hlen;
        int rc = header(p + i, len - i, &kind, &n, &hlen);
        if (rc)
            return rc;
        i += hlen;
        size_t rest = len - i;
        if (kind == K_ARRAY) {
            if (depth + 1 > max_depth)
                return WEFT_PROTO_E_DEPTH;
            if (n > rest)
                return WEFT_PROTO_E_TRUNCATED;
            if (n > 0) {
                left[depth++] = n;
                continue;
            }
        } else if (kind == K_STR || kind == K_BIN) {
            if (n > rest)
                return WEFT_PROTO_E_TRUNCATED;
            if (kind == K_STR && weft_utf8_count((const char *)p + i, n, NULL, NULL) != 0)
                return WEFT_PROTO_E_UTF8;
            i += n;
        }
        /* One value complete: close every array it completes. */
        while (depth > 0 && --left[depth - 1] == 0)
            depth--;
        if (depth == 0)
            break;
    }
    *end = i;
    return 0;
}

int weft_proto_scan(const uint8_t *p, size_t len, const weft_proto_limits *lim)
{
    weft_proto_limits def = WEFT_PROTO_LIMITS_DEFAULT;
    if (!lim)
        lim = &def;
    if (len > lim->max_frame)
        return WEFT_PROTO_E_TOOBIG;
    size_t end;
    int rc = proto__scan_value(p, len, lim->max_depth, &end);
    if (rc)
        return rc;
    return end == len ? 0 : WEFT_PROTO_E_TRAILING;
}

int proto__elem_span(const uint8_t *p, size_t len, uint32_t index, size_t *off, size_t *n)
{
    int kind;
    uint32_t count;
    size_t hlen, end;
    if (len == 0)
        return WEFT_PROTO_E_TRUNCATED;
    int rc = header(p, len, &kind, &count, &hlen);
    if (rc)
        return rc;
    if (kind != K_ARRAY || index >= count)
        return WEFT_PROTO_E_SHAPE;
    size_t i = hlen;
    for (uint32_t k = 0;; k++) {
        rc = proto__scan_value(p + i, len - i, PROTO__DEPTH_CAP, &end);
        if (rc)
            return rc;
        if (k == index) {
            *off = i;
            *n = end;
            return 0;
        }
        i += end;
    }
}

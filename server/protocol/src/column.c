/* column.c — snapshot columns: canonical unsigned LEB128 varints in a byte
 * string (cols_int.h has the rules; the fast paths are inline there), the
 * growable arrays every part of the codec uses, and the version vector
 * rules: what the WebAssembly engine needs besides snapcols.c. */
#include <stdlib.h>

#include "cols_int.h"

int proto__grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return WEFT_PROTO_E_NOMEM;
        ncap *= 2;
    }
    void *np = realloc(*p, ncap * elem);
    if (!np)
        return WEFT_PROTO_E_NOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

void proto__col_put_slow(weft_buf *b, uint32_t v, int *err)
{
    if (*err)
        return;
    if (b->n > SIZE_MAX - 5 || proto__grow((void **)&b->p, &b->cap, b->n + 5, 1)) {
        *err = WEFT_PROTO_E_NOMEM;
        return;
    }
    uint8_t *o = (uint8_t *)b->p + b->n;
    size_t k = 0;
    while (v >= 0x80) {
        o[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[k++] = (uint8_t)v;
    b->n += k;
}

int proto__col_next_slow(proto__col *c, uint32_t *v)
{
    const uint8_t *p = c->p;
    uint32_t x = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (p == c->end)
            return WEFT_PROTO_E_TRUNCATED;
        uint32_t b = *p++;
        if (shift == 28) {
            /* The fifth byte holds bits 28-31 only: more is >= 2^32 or a
             * sixth byte. */
            if (b >= 0x10)
                return WEFT_PROTO_E_INTRANGE;
            if (b == 0)
                return WEFT_PROTO_E_NONCANONICAL;
            x |= b << 28;
            break;
        }
        x |= (b & 0x7f) << shift;
        if (b < 0x80) {
            if (b == 0 && shift > 0)
                return WEFT_PROTO_E_NONCANONICAL; /* overlong: a zero last group */
            break;
        }
    }
    c->p = p;
    *v = x;
    return 0;
}

size_t proto__col_count(const proto__col *c)
{
    size_t n = 0;
    for (const uint8_t *p = c->p; p < c->end; p++)
        n += *p < 0x80;
    return n;
}

int proto__col_done(const proto__col *c)
{
    if (c->p == c->end)
        return 0;
    proto__col rest = *c;
    uint32_t v;
    int rc = proto__col_next(&rest, &v);
    return rc ? rc : WEFT_PROTO_E_TRAILING;
}

/* The rules of every version vector on the wire (vv.c decodes them; a
 * snapshot's, inflated by JS, is checked here too): agents strictly
 * increasing, never WEFT_NONE, no zero next_seq. */
int proto__vv_check(const weft_vv *vv)
{
    for (size_t i = 0; i < vv->n; i++) {
        if (vv->v[i].agent == WEFT_NONE || vv->v[i].next_seq == 0)
            return WEFT_PROTO_E_VALUE;
        if (i > 0 && vv->v[i].agent <= vv->v[i - 1].agent)
            return WEFT_PROTO_E_ORDER;
    }
    return vv->n > UINT32_MAX ? WEFT_PROTO_E_VALUE : 0;
}

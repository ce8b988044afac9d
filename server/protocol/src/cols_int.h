/* cols_int.h — a snapshot's columns and text, inflated: the varint
 * column format and the loader that turns them into a document. Nothing
 * here needs msgpack or a deflate library, so the same code is compiled
 * into the WebAssembly engine (crdt/wasm), where JS inflates the sections
 * and this decoder loads them (docs/protocol.md §5).
 *
 * A snapshot column is a byte string of unsigned LEB128 varints, one per
 * value: 7 bits per byte, least significant group first, high bit set on
 * every byte but the last. Canonical: at most 5 bytes, no value >= 2^32,
 * no trailing zero group (so every u32 has one encoding). Readers never
 * trust a column: every read checks the bytes that remain. */
#ifndef WEFT_COLS_INT_H
#define WEFT_COLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/protocol.h"

/* Grows *p (an array of elem-sized items, capacity *cap) to hold `need`. */
int proto__grow(void **p, size_t *cap, size_t need, size_t elem);
/* 0 when vv follows the wire's rules, else WEFT_PROTO_E_ORDER / _VALUE. */
int proto__vv_check(const weft_vv *vv);

/* The 15 columns, in snapshot order. */
enum {
    C_AGENTS,
    C_R_AGENT,
    C_R_SEQ,
    C_R_LEN,
    C_R_FLAGS,
    C_R_X,
    C_R_XA,
    C_D_AGENT,
    C_D_SEQ,
    C_D_TAGENT,
    C_D_TSEQ,
    C_D_LEN,
    C_S_AGENT,
    C_S_SEQ,
    C_S_LEN,
    C_COUNT
};

/* Origin codes. */
enum { O_NONE = 0, O_ADJ = 1, O_SAME = 2, O_OTHER = 3 };

/* ---- origin codes (shared by both directions, so they agree) ---------- */

static inline bool same_id(weft_id a, uint32_t agent, uint32_t seq)
{
    return a.agent == agent && a.seq == seq;
}

/* prev: the run before r in document order, or NULL. */
static inline int ol_code(const weft_run *r, const weft_run *prev)
{
    if (weft_id_is_none(r->ol))
        return O_NONE;
    if (prev && same_id(r->ol, prev->agent, prev->seq + prev->len - 1))
        return O_ADJ;
    if (r->ol.agent == r->agent && r->ol.seq < r->seq)
        return O_SAME;
    return O_OTHER;
}

/* next: the run after r in document order, or NULL. */
static inline int or_code(const weft_run *r, const weft_run *next)
{
    if (weft_id_is_none(r->or))
        return O_NONE;
    if (next && same_id(r->or, next->agent, next->seq))
        return O_ADJ;
    if (r->or.agent == r->agent)
        return O_SAME;
    return O_OTHER;
}

/* true when b continues a as one canonical run. */
static inline bool mergeable(const weft_run *a, const weft_run *b)
{
    return a->agent == b->agent && b->seq == a->seq + a->len &&
           same_id(b->ol, a->agent, a->seq + a->len - 1) && weft_id_eq(a->or, b->or) &&
           a->deleted == b->deleted;
}

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

/* ---- loading (snapcols.c) ------------------------------------------------ */

/* A snapshot's sections, inflated: col[i] holds len[i] bytes of column i,
 * text the text section. Nothing is copied; the caller keeps them alive
 * until proto__cols_load returns. */
typedef struct proto__cols {
    const uint8_t *col[C_COUNT];
    size_t len[C_COUNT];
    const char *text;
    size_t text_n;
} proto__cols;

/* Loads runs, delete records and spans into doc (new and empty), checking
 * every rule of docs/protocol.md §5 on the way; the inflated bytes may be
 * freed afterwards. Then proto__cols_finish. */
int proto__cols_load(const proto__cols *in, weft_doc *doc);
/* weft_doc_load_finish, then doc's version must equal vv [VVMISMATCH]. */
int proto__cols_finish(weft_doc *doc, const weft_vv *vv);
/* The visible text (NUL-terminated, out->n bytes without it; replaced)
 * from r_len, r_flags and the text alone: the other columns may be empty. */
int proto__cols_text(const proto__cols *in, weft_buf *out);

#endif

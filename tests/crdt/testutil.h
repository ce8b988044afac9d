/*
 * testutil.h — tiny test support for the crdt suite: CHECK macros, a seeded
 * PRNG, owned op lists, UTF-8 helpers. No framework: a failed CHECK prints
 * file:line plus the current context (seed, iteration) and exits non-zero.
 */
#ifndef WEFT_TESTUTIL_H
#define WEFT_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/crdt.h"

/* Printed before any CHECK failure message: set it to the seed etc. */
extern char test_ctx[256];

void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            test_fail(__FILE__, __LINE__, "CHECK failed: %s", #c);                                 \
    } while (0)

#define CHECK_MSG(c, ...)                                                                          \
    do {                                                                                           \
        if (!(c))                                                                                  \
            test_fail(__FILE__, __LINE__, __VA_ARGS__);                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            test_fail(__FILE__, __LINE__, "CHECK_EQ failed: %s == %lld, %s == %lld", #a, a_, #b,   \
                      b_);                                                                         \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (want))                                                                         \
            test_fail(__FILE__, __LINE__, "%s returned %d (%s), want %d (%s)", #expr, rc_,         \
                      test_errname(rc_), (want), test_errname(want));                              \
    } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

#define CHECK_STR(got, gotlen, want)                                                               \
    do {                                                                                           \
        if (!test_str_eq((got), (gotlen), (want)))                                                 \
            test_fail(__FILE__, __LINE__, "%s: got \"%.*s\", want \"%s\"", #got, (int)(gotlen),    \
                      (got), (want));                                                              \
    } while (0)

bool test_str_eq(const char *got, size_t gotlen, const char *want);
/* Name of a return code (engine codes and the positive apply outcomes). */
const char *test_errname(int rc);

/* ---- PRNG (splitmix64; deterministic everywhere) ---- */
typedef struct rng {
    uint64_t s;
} rng;
void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
/* Uniform in [0, n) (n > 0). */
uint32_t rng_below(rng *r, uint32_t n);
/* true with probability num/den. */
bool rng_chance(rng *r, uint32_t num, uint32_t den);

/* WEFT_SEED / WEFT_ITERS from the environment, or the defaults. */
uint64_t test_seed(uint64_t dflt);
unsigned long test_iters(unsigned long dflt);

/* ---- owned op lists (text copied, freed with the list) ---- */
typedef struct toplist {
    weft_op *v;
    size_t n, cap;
} toplist;
void toplist_init(toplist *l);
void toplist_free(toplist *l);
/* Appends a deep copy of op. */
void toplist_push(toplist *l, const weft_op *op);
void toplist_push_all(toplist *l, const weft_op *ops, size_t n);
void toplist_copy(toplist *dst, const toplist *src);
/* Deep copy of one op (text malloc'd); free with top_free. */
weft_op top_dup(const weft_op *op);
void top_free(weft_op *op);
bool top_equal(const weft_op *a, const weft_op *b);
void top_print(FILE *f, const weft_op *op);
void toplist_print(FILE *f, const toplist *l);

/* ---- growable string ---- */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;
void sbuf_init(sbuf *b);
void sbuf_free(sbuf *b);
void sbuf_put(sbuf *b, const char *s, size_t n);
void sbuf_puts(sbuf *b, const char *s);

/* ---- UTF-8 helpers (independent of the engine) ---- */
/* Encodes a code point (no validation); returns bytes written (1-4). */
int u8_encode(uint32_t cp, char *out);
/* Strict decoder: -1 on invalid UTF-8 (overlong, truncated, > U+10FFFF),
 * -2 on a surrogate, else the number of code points written to out (which
 * may be NULL to count). */
long u8_decode(const char *s, size_t n, uint32_t *out);
/* UTF-16 units of a code point. */
static inline uint32_t u16_units(uint32_t cp)
{
    return cp >= 0x10000 ? 2 : 1;
}

/* A random short UTF-8 string of 1..maxcp code points mixing ASCII, 2-,
 * 3- and 4-byte chars (emoji). Written to buf (>= 4*maxcp bytes). */
size_t rand_text(rng *r, uint32_t maxcp, char *buf, uint32_t *ncp);

#endif

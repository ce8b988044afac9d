#include "testutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char test_ctx[256];

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    if (test_ctx[0])
        fprintf(stderr, "[%s] ", test_ctx);
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    /* _Exit: skip atexit, so LeakSanitizer does not bury the message
     * under the objects the aborted test still held */
    _Exit(1);
}

bool test_str_eq(const char *got, size_t gotlen, const char *want)
{
    size_t wl = strlen(want);
    return gotlen == wl && (wl == 0 || memcmp(got, want, wl) == 0);
}

const char *test_errname(int rc)
{
    switch (rc) {
    case WEFT_APPLIED:
        return "OK/APPLIED";
    case WEFT_DUPLICATE:
        return "DUPLICATE";
    case WEFT_PARKED:
        return "PARKED";
#define NAME_(name, val, msg)                                                                      \
    case val:                                                                                      \
        return "WEFT_E_" #name;
        WEFT_ERRNO_MAP(NAME_)
#undef NAME_
    default:
        return "?";
    }
}

void rng_seed(rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ull + 1;
}

uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

bool rng_chance(rng *r, uint32_t num, uint32_t den)
{
    return rng_below(r, den) < num;
}

uint64_t test_seed(uint64_t dflt)
{
    const char *e = getenv("WEFT_SEED");
    return e && *e ? strtoull(e, NULL, 0) : dflt;
}

unsigned long test_iters(unsigned long dflt)
{
    const char *e = getenv("WEFT_ITERS");
    return e && *e ? strtoul(e, NULL, 0) : dflt;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return q;
}

void toplist_init(toplist *l)
{
    l->v = NULL;
    l->n = l->cap = 0;
}

void toplist_free(toplist *l)
{
    for (size_t i = 0; i < l->n; i++)
        top_free(&l->v[i]);
    free(l->v);
    toplist_init(l);
}

weft_op top_dup(const weft_op *op)
{
    weft_op c = *op;
    if (op->kind == WEFT_OP_INS) {
        char *t = xrealloc(NULL, op->bytes + 1);
        if (op->bytes)
            memcpy(t, op->text, op->bytes);
        t[op->bytes] = 0;
        c.text = t;
    } else {
        c.text = NULL;
        c.bytes = 0;
    }
    return c;
}

void top_free(weft_op *op)
{
    free((char *)op->text);
    op->text = NULL;
}

void toplist_push(toplist *l, const weft_op *op)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = top_dup(op);
}

void toplist_push_all(toplist *l, const weft_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        toplist_push(l, &ops[i]);
}

void toplist_copy(toplist *dst, const toplist *src)
{
    toplist_init(dst);
    toplist_push_all(dst, src->v, src->n);
}

bool top_equal(const weft_op *a, const weft_op *b)
{
    if (a->kind != b->kind || a->id.agent != b->id.agent || a->id.seq != b->id.seq ||
        a->len != b->len)
        return false;
    if (a->kind == WEFT_OP_DEL)
        return a->target.agent == b->target.agent && a->target.seq == b->target.seq;
    return weft_id_eq(a->ol, b->ol) && weft_id_eq(a->or, b->or) && a->bytes == b->bytes &&
           memcmp(a->text, b->text, a->bytes) == 0;
}

static void id_print(FILE *f, weft_id id)
{
    if (weft_id_is_none(id))
        fprintf(f, "NONE");
    else
        fprintf(f, "(%u,%u)", id.agent, id.seq);
}

void top_print(FILE *f, const weft_op *op)
{
    if (op->kind == WEFT_OP_INS) {
        fprintf(f, "Ins id=(%u,%u) len=%u ol=", op->id.agent, op->id.seq, op->len);
        id_print(f, op->ol);
        fprintf(f, " or=");
        id_print(f, op->or);
        fprintf(f, " text=\"%.*s\"", (int)op->bytes, op->text);
    } else if (op->kind == WEFT_OP_DEL) {
        fprintf(f, "Del id=(%u,%u) len=%u target=", op->id.agent, op->id.seq, op->len);
        id_print(f, op->target);
    } else {
        fprintf(f, "Op kind=%u", op->kind);
    }
}

void toplist_print(FILE *f, const toplist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        fprintf(f, "  [%zu] ", i);
        top_print(f, &l->v[i]);
        fputc('\n', f);
    }
}

void sbuf_init(sbuf *b)
{
    b->p = NULL;
    b->n = b->cap = 0;
}

void sbuf_free(sbuf *b)
{
    free(b->p);
    sbuf_init(b);
}

void sbuf_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void sbuf_puts(sbuf *b, const char *s)
{
    sbuf_put(b, s, strlen(s));
}

int u8_encode(uint32_t cp, char *o)
{
    unsigned char *u = (unsigned char *)o;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | (cp >> 18));
    u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

long u8_decode(const char *s, size_t n, uint32_t *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    long count = 0;
    bool surrogate = false;
    while (i < n) {
        uint32_t c = u[i], cp, min;
        size_t k;
        if (c < 0x80) {
            cp = c, k = 0, min = 0;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F, k = 1, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F, k = 2, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07, k = 3, min = 0x10000;
        } else {
            return -1;
        }
        if (k && i + k >= n)
            return -1; /* truncated */
        for (size_t j = 1; j <= k; j++) {
            if ((u[i + j] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (u[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF)
            return -1;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            surrogate = true;
        if (out)
            out[count] = cp;
        count++;
        i += k + 1;
    }
    return surrogate ? -2 : count;
}

size_t rand_text(rng *r, uint32_t maxcp, char *buf, uint32_t *ncp)
{
    static const uint32_t pool[] = {
        'a',     'b', 'c', 'd', 'e', 'x', 'y', 'z', ' ', '\n', 0xE9, /* é (2 bytes) */
        0x3A9,                                                       /* Ω */
        0x4E2D,                                                      /* 中 (3 bytes) */
        0x20AC,                                                      /* € */
        0x1F600, /* 😀 (4 bytes, surrogate pair in UTF-16) */
        0x1F44D, /* 👍 */
        0x10348, /* 𐍈 */
    };
    uint32_t n = 1 + rng_below(r, maxcp);
    size_t b = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cp = rng_chance(r, 1, 2) ? (uint32_t)('a' + rng_below(r, 26))
                                          : pool[rng_below(r, sizeof pool / sizeof pool[0])];
        b += (size_t)u8_encode(cp, buf + b);
    }
    *ncp = n;
    return b;
}

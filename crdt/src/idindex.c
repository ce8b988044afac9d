/* idindex.c — per-agent ID index: a sorted array of chunks of sorted
 * (key, val) pairs. An entry covers [key, next key). Appends at the end
 * (new seqs) are O(1); inserts in the middle (run splits) move at most one
 * chunk's entries and, when a chunk fills, the chunk pointer array.
 * Loading a snapshot builds an index whole from sorted keys (idx__build,
 * full chunks) instead of inserting entry by entry. */
#include "load_int.h"

void idx__cleanup(idindex *x)
{
    for (uint32_t i = 0; i < x->n; i++)
        free(x->c[i]);
    free(x->c);
    free(x->first);
    memset(x, 0, sizeof *x);
}

/* Index of the last chunk whose first key <= seq, or NIL. */
static uint32_t chunk_for(const idindex *x, uint32_t seq)
{
    if (x->n == 0 || x->first[0] > seq)
        return NIL;
    if (x->first[x->n - 1] <= seq)
        return x->n - 1;
    uint32_t g = x->last;
    if (g + 1 < x->n && x->first[g] <= seq && seq < x->first[g + 1])
        return g;
    uint32_t lo = 0, hi = x->n - 1; /* first[lo] <= seq < first[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (x->first[mid] <= seq)
            lo = mid;
        else
            hi = mid;
    }
    ((idindex *)x)->last = lo; /* a guess for the next lookup, not state */
    return lo;
}

/* Index of the last entry of c with key <= seq (c->key[0] <= seq). */
static uint32_t entry_for(const chunk *c, uint32_t seq)
{
    uint32_t lo = 0, hi = c->n;
    if (c->key[c->n - 1] <= seq)
        return c->n - 1;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->key[mid] <= seq)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Chunk and position of the entry whose key is exactly `key`. */
static int find_exact(const idindex *x, uint32_t key, uint32_t *ci, uint32_t *i)
{
    *ci = chunk_for(x, key);
    if (*ci == NIL)
        return WEFT_E_NOTFOUND;
    *i = entry_for(x->c[*ci], key);
    return x->c[*ci]->key[*i] == key ? 0 : WEFT_E_NOTFOUND;
}

int idx__find(const idindex *x, uint32_t seq, uint32_t *key, uint32_t *val)
{
    uint32_t ci = chunk_for(x, seq);
    if (ci == NIL)
        return WEFT_E_NOTFOUND;
    const chunk *c = x->c[ci];
    uint32_t i = entry_for(c, seq);
    *key = c->key[i];
    *val = c->val[i];
    return 0;
}

int idx__seek(const idindex *x, uint32_t seq, idx_pos *p)
{
    uint32_t ci = chunk_for(x, seq);
    if (ci == NIL)
        return WEFT_E_NOTFOUND;
    p->c = ci;
    p->i = entry_for(x->c[ci], seq);
    return 0;
}

int idx__next(const idindex *x, idx_pos *p, uint32_t *key, uint32_t *val)
{
    while (p->c < x->n && p->i >= x->c[p->c]->n) {
        p->c++;
        p->i = 0;
    }
    if (p->c >= x->n)
        return 0;
    *key = x->c[p->c]->key[p->i];
    *val = x->c[p->c]->val[p->i];
    p->i++;
    return 1;
}

static int insert_chunk(idindex *x, uint32_t at, chunk *c)
{
    if (x->n == x->cap) {
        uint32_t nc = x->cap ? x->cap * 2 : 4;
        chunk **q = realloc(x->c, nc * sizeof *q);
        if (!q)
            return WEFT_E_NOMEM;
        x->c = q;
        uint32_t *f = realloc(x->first, nc * sizeof *f);
        if (!f)
            return WEFT_E_NOMEM;
        x->first = f;
        x->cap = nc;
    }
    memmove(&x->c[at + 1], &x->c[at], (x->n - at) * sizeof x->c[0]);
    memmove(&x->first[at + 1], &x->first[at], (x->n - at) * sizeof x->first[0]);
    x->c[at] = c;
    x->first[at] = c->n ? c->key[0] : 0;
    x->n++;
    return 0;
}

int idx__insert(idindex *x, uint32_t key, uint32_t val)
{
    uint32_t ci = chunk_for(x, key);
    if (ci == NIL) {
        if (x->n == 0 || x->c[0]->n == CHUNK_MAX) {
            chunk *c = calloc(1, sizeof *c);
            if (!c || insert_chunk(x, 0, c)) {
                free(c);
                return WEFT_E_NOMEM;
            }
        }
        ci = 0;
    }
    chunk *c = x->c[ci];
    uint32_t i = c->n == 0 || c->key[0] > key ? 0 : entry_for(c, key) + 1;
    if (c->n == CHUNK_MAX) {
        if (i == CHUNK_MAX && ci == x->n - 1) {
            /* appending past a full last chunk: start a new one */
            chunk *nc = calloc(1, sizeof *nc);
            if (!nc || insert_chunk(x, x->n, nc)) {
                free(nc);
                return WEFT_E_NOMEM;
            }
            nc->key[0] = key;
            nc->val[0] = val;
            nc->n = 1;
            x->first[x->n - 1] = key;
            return 0;
        }
        chunk *nc = calloc(1, sizeof *nc);
        if (!nc || insert_chunk(x, ci + 1, nc)) {
            free(nc);
            return WEFT_E_NOMEM;
        }
        uint32_t half = CHUNK_MAX / 2;
        memcpy(nc->key, c->key + half, (CHUNK_MAX - half) * sizeof(uint32_t));
        memcpy(nc->val, c->val + half, (CHUNK_MAX - half) * sizeof(uint32_t));
        nc->n = CHUNK_MAX - half;
        c->n = half;
        x->first[ci + 1] = nc->key[0];
        if (i > half) {
            c = nc;
            i -= half;
            ci++;
        }
    }
    memmove(&c->key[i + 1], &c->key[i], (c->n - i) * sizeof(uint32_t));
    memmove(&c->val[i + 1], &c->val[i], (c->n - i) * sizeof(uint32_t));
    c->key[i] = key;
    c->val[i] = val;
    c->n++;
    x->first[ci] = c->key[0];
    return 0;
}

int idx__remove(idindex *x, uint32_t key)
{
    uint32_t ci, i;
    if (find_exact(x, key, &ci, &i))
        return WEFT_E_NOTFOUND;
    chunk *c = x->c[ci];
    memmove(&c->key[i], &c->key[i + 1], (c->n - i - 1) * sizeof(uint32_t));
    memmove(&c->val[i], &c->val[i + 1], (c->n - i - 1) * sizeof(uint32_t));
    c->n--;
    if (c->n == 0) {
        free(c);
        memmove(&x->c[ci], &x->c[ci + 1], (x->n - ci - 1) * sizeof x->c[0]);
        memmove(&x->first[ci], &x->first[ci + 1], (x->n - ci - 1) * sizeof x->first[0]);
        x->n--;
    } else {
        x->first[ci] = c->key[0];
    }
    return 0;
}

size_t idx__mem(const idindex *x)
{
    return x->cap * (sizeof(chunk *) + sizeof(uint32_t)) + x->n * sizeof(chunk);
}

/* Moves entry `key` to `nkey`; the caller guarantees the order of entries
 * is unchanged (nkey lies strictly between the neighbours' keys). */
int idx__rekey(idindex *x, uint32_t key, uint32_t nkey)
{
    uint32_t ci, i;
    if (find_exact(x, key, &ci, &i))
        return WEFT_E_NOTFOUND;
    x->c[ci]->key[i] = nkey;
    if (i == 0)
        x->first[ci] = nkey;
    return 0;
}

int idx__build(idindex *x, const uint64_t *ent, uint32_t n)
{
    uint32_t nc = n / CHUNK_MAX + (n % CHUNK_MAX != 0);
    if (nc == 0)
        return 0;
    x->c = malloc((size_t)nc * sizeof *x->c);
    x->first = malloc((size_t)nc * sizeof *x->first);
    if (!x->c || !x->first)
        goto nomem;
    x->cap = nc;
    for (uint32_t i = 0; i < nc; i++) {
        uint32_t at = i * CHUNK_MAX, k = n - at < CHUNK_MAX ? n - at : CHUNK_MAX;
        chunk *c = malloc(sizeof *c); /* only [0, n) of a chunk is ever read */
        if (!c)
            goto nomem;
        c->n = k;
        for (uint32_t j = 0; j < k; j++) {
            c->key[j] = (uint32_t)(ent[at + j] >> 32);
            c->val[j] = (uint32_t)ent[at + j];
        }
        x->c[x->n++] = c;
        x->first[i] = c->key[0];
    }
    x->last = 0;
    return 0;
nomem:
    idx__cleanup(x);
    return WEFT_E_NOMEM;
}

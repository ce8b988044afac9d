/* tree.c — the content tree: an order-statistic B-tree of runs in document
 * order, counting visible code points and UTF-16 units (doc_int.h). */
#include "doc_int.h"

static uint32_t run_cp(const run *r)
{
    return r->deleted ? 0 : r->len;
}
static uint32_t run_u16(const run *r)
{
    return r->deleted ? 0 : r->u16;
}

static int leaf_new(weft_doc *d, uint32_t *out)
{
    if (doc__grow((void **)&d->leaves, &d->leaves_cap, d->nleaves + 1, sizeof(leaf)))
        return WEFT_E_NOMEM;
    leaf *l = &d->leaves[d->nleaves];
    memset(l, 0, sizeof *l);
    l->parent = l->prev = l->next = NIL;
    *out = d->nleaves++;
    return 0;
}

static int inner_new(weft_doc *d, uint32_t *out)
{
    if (doc__grow((void **)&d->inners, &d->inners_cap, d->ninners + 1, sizeof(inner)))
        return WEFT_E_NOMEM;
    inner *n = &d->inners[d->ninners];
    memset(n, 0, sizeof *n);
    n->parent = NIL;
    *out = d->ninners++;
    return 0;
}

int tree__init(weft_doc *d)
{
    uint32_t l;
    if (leaf_new(d, &l))
        return WEFT_E_NOMEM;
    d->root = d->first_leaf = d->last_leaf = l;
    d->height = 0;
    d->cache_leaf = NIL;
    d->finger = NIL;
    d->typing = NIL;
    d->pend_leaf = NIL;
    return 0;
}

void tree__cleanup(weft_doc *d)
{
    free(d->leaves);
    free(d->inners);
}

static uint32_t parent_of(const weft_doc *d, uint32_t node, int is_leaf)
{
    return is_leaf ? d->leaves[node].parent : d->inners[node].parent;
}

static void set_parent(weft_doc *d, uint32_t node, int is_leaf, uint32_t p, uint32_t pidx)
{
    if (is_leaf) {
        d->leaves[node].parent = p;
        d->leaves[node].pidx = pidx;
    } else {
        d->inners[node].parent = p;
        d->inners[node].pidx = pidx;
    }
}

static void totals(const weft_doc *d, uint32_t node, int is_leaf, uint32_t *cp, uint32_t *u16)
{
    if (is_leaf) {
        *cp = d->leaves[node].cp;
        *u16 = d->leaves[node].u16;
        return;
    }
    const inner *in = &d->inners[node];
    uint32_t a = 0, b = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        a += in->cp[i];
        b += in->u16[i];
    }
    *cp = a;
    *u16 = b;
}

static uint32_t pidx_of(const weft_doc *d, uint32_t node, int is_leaf)
{
    return is_leaf ? d->leaves[node].pidx : d->inners[node].pidx;
}

uint32_t tree__leaf_index(const weft_doc *d, uint32_t h)
{
    const leaf *l = &d->leaves[d->runs[h].leaf];
    uint32_t g = d->hint;
    if (g < l->n && l->r[g] == h)
        return g;
    if (g + 1 < l->n && l->r[g + 1] == h)
        return g + 1;
    if (g > 0 && g - 1 < l->n && l->r[g - 1] == h)
        return g - 1;
    for (uint32_t i = 0; i < l->n; i++) {
        if (l->r[i] == h) {
            ((weft_doc *)d)->hint = i; /* a cache, not state */
            return i;
        }
    }
    return NIL;
}

/* Recomputes the entries on the path from node to the root. */
static void fix_path(weft_doc *d, uint32_t node, int is_leaf)
{
    uint32_t p = parent_of(d, node, is_leaf);
    while (p != NIL) {
        inner *in = &d->inners[p];
        uint32_t i = pidx_of(d, node, is_leaf);
        totals(d, node, is_leaf, &in->cp[i], &in->u16[i]);
        node = p;
        is_leaf = 0;
        p = in->parent;
    }
}

/* Inserts child at position `at` of inner node p, splitting p (and its
 * ancestors) when full. Entries above may be stale: callers fix_path. */
static int inner_add(weft_doc *d, uint32_t p, uint32_t at, uint32_t child, int kid_leaf)
{
    if (d->inners[p].n == INNER_MAX) {
        uint32_t q;
        if (inner_new(d, &q))
            return WEFT_E_NOMEM;
        inner *P = &d->inners[p], *Q = &d->inners[q];
        uint32_t half = INNER_MAX / 2;
        Q->n = INNER_MAX - half;
        memcpy(Q->child, P->child + half, Q->n * sizeof(uint32_t));
        memcpy(Q->cp, P->cp + half, Q->n * sizeof(uint32_t));
        memcpy(Q->u16, P->u16 + half, Q->n * sizeof(uint32_t));
        P->n = half;
        for (uint32_t i = 0; i < Q->n; i++)
            set_parent(d, Q->child[i], kid_leaf, q, i);
        if (d->nsplit + 2 <= sizeof d->split_log / sizeof d->split_log[0]) {
            d->split_log[d->nsplit++] = p;
            d->split_log[d->nsplit++] = q;
        }
        if (P->parent == NIL) {
            uint32_t r;
            if (inner_new(d, &r))
                return WEFT_E_NOMEM;
            P = &d->inners[p];
            Q = &d->inners[q];
            inner *R = &d->inners[r];
            R->n = 2;
            R->child[0] = p;
            R->child[1] = q;
            totals(d, p, 0, &R->cp[0], &R->u16[0]);
            totals(d, q, 0, &R->cp[1], &R->u16[1]);
            P->parent = Q->parent = r;
            P->pidx = 0;
            Q->pidx = 1;
            d->root = r;
            d->height++;
        } else {
            uint32_t gp = P->parent;
            int rc = inner_add(d, gp, P->pidx + 1, q, 0);
            if (rc)
                return rc;
        }
        if (at > half) {
            p = q;
            at -= half;
        }
    }
    inner *P = &d->inners[p];
    memmove(&P->child[at + 1], &P->child[at], (P->n - at) * sizeof(uint32_t));
    memmove(&P->cp[at + 1], &P->cp[at], (P->n - at) * sizeof(uint32_t));
    memmove(&P->u16[at + 1], &P->u16[at], (P->n - at) * sizeof(uint32_t));
    P->child[at] = child;
    P->n++;
    for (uint32_t i = at; i < P->n; i++)
        set_parent(d, P->child[i], kid_leaf, p, i);
    totals(d, child, kid_leaf, &P->cp[at], &P->u16[at]);
    return 0;
}

/* Links new leaf nl after lf and hangs it in the tree. */
static int leaf_link_after(weft_doc *d, uint32_t lf, uint32_t nl)
{
    tree__sync(d);
    leaf *L = &d->leaves[lf], *N = &d->leaves[nl];
    N->prev = lf;
    N->next = L->next;
    if (L->next != NIL)
        d->leaves[L->next].prev = nl;
    else
        d->last_leaf = nl;
    L->next = nl;
    if (L->parent == NIL) {
        uint32_t r;
        if (inner_new(d, &r))
            return WEFT_E_NOMEM;
        inner *R = &d->inners[r];
        R->n = 2;
        R->child[0] = lf;
        R->child[1] = nl;
        d->leaves[lf].parent = d->leaves[nl].parent = r;
        d->leaves[lf].pidx = 0;
        d->leaves[nl].pidx = 1;
        totals(d, lf, 1, &R->cp[0], &R->u16[0]);
        totals(d, nl, 1, &R->cp[1], &R->u16[1]);
        d->root = r;
        d->height = 1;
        return 0;
    }
    uint32_t p = d->leaves[lf].parent;
    d->nsplit = 0;
    int rc = inner_add(d, p, d->leaves[lf].pidx + 1, nl, 1);
    if (rc)
        return rc;
    /* every node whose children changed gets its path recomputed, bottom-up */
    fix_path(d, lf, 1);
    fix_path(d, nl, 1);
    for (uint32_t k = 0; k < d->nsplit; k++)
        fix_path(d, d->split_log[k], 0);
    return 0;
}

/* Splits full leaf lf in two halves; returns the new right leaf. */
static int leaf_split(weft_doc *d, uint32_t lf, uint32_t *out)
{
    tree__sync(d);
    uint32_t nl;
    if (leaf_new(d, &nl))
        return WEFT_E_NOMEM;
    leaf *L = &d->leaves[lf], *N = &d->leaves[nl];
    uint32_t half = L->n / 2;
    N->n = L->n - half;
    memcpy(N->r, L->r + half, N->n * sizeof(uint32_t));
    memcpy(N->vcp, L->vcp + half, N->n * sizeof(uint32_t));
    L->n = half;
    for (uint32_t i = 0; i < N->n; i++) {
        run *r = &d->runs[N->r[i]];
        r->leaf = nl;
        N->cp += run_cp(r);
        N->u16 += run_u16(r);
    }
    L->cp -= N->cp;
    L->u16 -= N->u16;
    d->cache_leaf = NIL;
    *out = nl;
    return leaf_link_after(d, lf, nl);
}

/* Adds the pending deltas to the inner entries above the pending leaf. */
void tree__flush(weft_doc *d)
{
    const leaf *L = &d->leaves[d->pend_leaf];
    uint32_t i = L->pidx, p = L->parent;
    while (p != NIL) {
        inner *in = &d->inners[p];
        in->cp[i] += d->pend_cp;
        in->u16[i] += d->pend_u16;
        i = in->pidx;
        p = in->parent;
    }
    d->pend_leaf = NIL;
}

void tree__adjust(weft_doc *d, uint32_t h, int32_t dcp, int32_t du16)
{
    if (dcp == 0 && du16 == 0) {
        if (h != d->typing)
            d->typing = NIL;
        return;
    }
    tree__adjust_at(d, h, tree__leaf_index(d, h), dcp, du16);
}

int tree__insert_after(weft_doc *d, uint32_t after, uint32_t h)
{
    d->typing = NIL; /* what follows some run changes */
    uint32_t lf, at;
    if (after == NIL) {
        lf = d->first_leaf;
        at = 0;
    } else {
        lf = d->runs[after].leaf;
        at = tree__leaf_index(d, after) + 1;
    }
    if (d->leaves[lf].n == LEAF_MAX) {
        uint32_t nl;
        if (at == LEAF_MAX && d->leaves[lf].next == NIL) {
            /* appending at the very end: open a fresh leaf */
            if (leaf_new(d, &nl) || leaf_link_after(d, lf, nl))
                return WEFT_E_NOMEM;
            lf = nl;
            at = 0;
        } else {
            if (leaf_split(d, lf, &nl))
                return WEFT_E_NOMEM;
            uint32_t half = d->leaves[lf].n;
            if (at > half) {
                lf = nl;
                at -= half;
            }
        }
    }
    leaf *L = &d->leaves[lf];
    memmove(&L->r[at + 1], &L->r[at], (L->n - at) * sizeof(uint32_t));
    memmove(&L->vcp[at + 1], &L->vcp[at], (L->n - at) * sizeof(uint32_t));
    L->r[at] = h;
    L->vcp[at] = 0;
    L->n++;
    d->hint = at;
    run *r = &d->runs[h];
    r->leaf = lf;
    tree__adjust(d, h, (int32_t)run_cp(r), (int32_t)run_u16(r));
    return 0;
}

void tree__remove(weft_doc *d, uint32_t h)
{
    uint32_t lf = d->runs[h].leaf;
    leaf *L = &d->leaves[lf];
    uint32_t i = tree__leaf_index(d, h);
    memmove(&L->r[i], &L->r[i + 1], (L->n - i - 1) * sizeof(uint32_t));
    memmove(&L->vcp[i], &L->vcp[i + 1], (L->n - i - 1) * sizeof(uint32_t));
    L->n--;
}

uint32_t tree__len(const weft_doc *d, int by16)
{
    tree__sync((weft_doc *)d); /* the sums' value does not change */
    uint32_t cp, u16;
    totals(d, d->root, d->height == 0, &cp, &u16);
    return by16 ? u16 : cp;
}

int tree__find(weft_doc *d, uint32_t pos, int by16, uint32_t *h, uint32_t *off)
{
    uint32_t lf;
    uint32_t base_cp = 0, base_u16 = 0;
    if (!by16 && d->finger != NIL && pos >= d->finger_cp) {
        const run *f = &d->runs[d->finger];
        if (!f->deleted && pos - d->finger_cp < f->len) {
            *h = d->finger;
            *off = pos - d->finger_cp;
            return 0;
        }
    }
    uint32_t query = pos;
    if (d->cache_leaf != NIL) {
        const leaf *C = &d->leaves[d->cache_leaf];
        uint32_t b = by16 ? d->cache_u16 : d->cache_cp;
        uint32_t w = by16 ? C->u16 : C->cp;
        if (pos >= b && pos - b < w) {
            lf = d->cache_leaf;
            pos -= b;
            goto in_leaf;
        }
    }
    {
        tree__sync(d);
        uint32_t node = d->root;
        for (uint32_t ht = d->height; ht > 0; ht--) {
            const inner *in = &d->inners[node];
            uint32_t i = 0;
            for (; i < in->n; i++) {
                uint32_t w = by16 ? in->u16[i] : in->cp[i];
                if (pos < w)
                    break;
                pos -= w;
                base_cp += in->cp[i];
                base_u16 += in->u16[i];
            }
            if (i == in->n)
                return WEFT_E_RANGE;
            node = in->child[i];
        }
        lf = node;
        d->cache_leaf = lf;
        d->cache_cp = base_cp;
        d->cache_u16 = base_u16;
    }
in_leaf : {
    const leaf *L = &d->leaves[lf];
    if (!by16) {
        for (uint32_t i = 0; i < L->n; i++) {
            uint32_t w = L->vcp[i];
            if (pos < w) {
                *h = L->r[i];
                *off = pos;
                d->hint = i;
                d->finger = L->r[i];
                d->finger_cp = query - pos;
                return 0;
            }
            pos -= w;
        }
        return WEFT_E_RANGE;
    }
    for (uint32_t i = 0; i < L->n; i++) {
        const run *r = &d->runs[L->r[i]];
        uint32_t w = r->deleted ? 0 : r->u16;
        if (pos < w) {
            *h = L->r[i];
            *off = pos;
            d->hint = i;
            return 0;
        }
        pos -= w;
    }
}
    return WEFT_E_RANGE;
}

void tree__pos(const weft_doc *d, uint32_t h, uint32_t *cp, uint32_t *u16)
{
    tree__sync((weft_doc *)d); /* the sums' value does not change */
    uint32_t a = 0, b = 0;
    uint32_t lf = d->runs[h].leaf;
    const leaf *L = &d->leaves[lf];
    uint32_t idx = tree__leaf_index(d, h);
    for (uint32_t i = 0; i < idx; i++)
        a += L->vcp[i];
    if (u16) {
        for (uint32_t i = 0; i < idx; i++)
            b += run_u16(&d->runs[L->r[i]]);
    }
    uint32_t k = L->pidx, p = L->parent;
    while (p != NIL) {
        const inner *in = &d->inners[p];
        for (uint32_t i = 0; i < k; i++) {
            a += in->cp[i];
            b += in->u16[i];
        }
        k = in->pidx;
        p = in->parent;
    }
    *cp = a;
    if (u16)
        *u16 = b;
}

uint32_t tree__next(const weft_doc *d, uint32_t h)
{
    uint32_t lf = d->runs[h].leaf;
    uint32_t i = tree__leaf_index(d, h) + 1;
    while (lf != NIL) {
        if (i < d->leaves[lf].n)
            return d->leaves[lf].r[i];
        lf = d->leaves[lf].next;
        i = 0;
    }
    return NIL;
}

uint32_t tree__first(const weft_doc *d)
{
    for (uint32_t lf = d->first_leaf; lf != NIL; lf = d->leaves[lf].next) {
        if (d->leaves[lf].n)
            return d->leaves[lf].r[0];
    }
    return NIL;
}

/*
 * treemodel.c — tree FugueMax. Every char is a node with ordered left and
 * right children; the document is the in-order walk (left subtrees, the
 * node, right subtrees), tombstones included. A list-form op (ol, or)
 * names its tree slot: it is a left child of `or` when or's own origin
 * left equals ol (the generator found or directly after ol inside ol's
 * right subtree), else a right child of ol (the root for START). Left
 * siblings go in ascending (agent, seq); right siblings in descending
 * walk position of their right origins (END counts as furthest right),
 * then ascending (agent, seq).
 */
#include "treemodel.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct kids {
    uint32_t *v;
    size_t n, cap;
} kids;

typedef struct tnode {
    weft_id id, ol, or ;
    uint32_t cp;
    bool deleted;
    kids left, right;
} tnode;

struct tmodel {
    tnode *nodes; /* [0] is the root */
    size_t n, cap;
    /* walk scratch */
    uint32_t *walk;
    size_t nwalk;
    long *pos; /* node -> walk position */
};

static void *tz(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

tmodel *tmodel_new(void)
{
    tmodel *t = tz(sizeof *t);
    t->cap = 64;
    t->nodes = tz(t->cap * sizeof *t->nodes);
    t->n = 1;
    t->nodes[0].id = WEFT_ID_NONE;
    return t;
}

void tmodel_free(tmodel *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->nodes[i].left.v);
        free(t->nodes[i].right.v);
    }
    free(t->nodes);
    free(t->walk);
    free(t->pos);
    free(t);
}

static long find(const tmodel *t, weft_id id)
{
    if (weft_id_is_none(id))
        return 0;
    for (size_t i = 1; i < t->n; i++)
        if (t->nodes[i].id.agent == id.agent && t->nodes[i].id.seq == id.seq)
            return (long)i;
    fprintf(stderr, "treemodel: unknown id (%u,%u)\n", id.agent, id.seq);
    abort();
}

static void walk_rec(tmodel *t, uint32_t x)
{
    /* explicit stack to survive long forward-typing chains */
    typedef struct {
        uint32_t node;
        int phase; /* 0 left kids, 1 self, 2 right kids */
        size_t i;
    } frame;
    size_t cap = 64, sp = 0;
    frame *st = tz(cap * sizeof *st);
    st[sp++] = (frame){x, 0, 0};
    while (sp) {
        frame *f = &st[sp - 1];
        tnode *nd = &t->nodes[f->node];
        uint32_t child = UINT32_MAX;
        if (f->phase == 0) {
            if (f->i < nd->left.n)
                child = nd->left.v[f->i++];
            else
                f->phase = 1, f->i = 0;
        }
        if (child == UINT32_MAX && f->phase == 1) {
            if (f->node != 0)
                t->walk[t->nwalk++] = f->node;
            f->phase = 2;
        }
        if (child == UINT32_MAX && f->phase == 2) {
            if (f->i < nd->right.n)
                child = nd->right.v[f->i++];
            else {
                sp--;
                continue;
            }
        }
        if (child != UINT32_MAX) {
            if (sp == cap) {
                cap *= 2;
                st = realloc(st, cap * sizeof *st);
                if (!st)
                    abort();
            }
            st[sp++] = (frame){child, 0, 0};
        }
    }
    free(st);
}

static void walk(tmodel *t)
{
    free(t->walk);
    free(t->pos);
    t->walk = tz(t->n * sizeof *t->walk);
    t->pos = tz(t->n * sizeof *t->pos);
    t->nwalk = 0;
    walk_rec(t, 0);
    for (size_t i = 0; i < t->nwalk; i++)
        t->pos[t->walk[i]] = (long)i;
}

static bool id_less(weft_id a, weft_id b)
{
    return a.agent < b.agent || (a.agent == b.agent && a.seq < b.seq);
}

/* Walk position of a right origin; END is after everything. */
static long or_pos(const tmodel *t, weft_id or)
{
    return weft_id_is_none(or) ? LONG_MAX : t->pos[find(t, or)];
}

/* true when right sibling a goes before right sibling b */
static bool right_before(const tmodel *t, uint32_t a, uint32_t b)
{
    long pa = or_pos(t, t->nodes[a].or), pb = or_pos(t, t->nodes[b].or);
    if (pa != pb)
        return pa > pb; /* right origin further right first */
    return id_less(t->nodes[a].id, t->nodes[b].id);
}

static void kids_insert(kids *k, size_t at, uint32_t x)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 4;
        k->v = realloc(k->v, k->cap * sizeof *k->v);
        if (!k->v)
            abort();
    }
    memmove(k->v + at + 1, k->v + at, (k->n - at) * sizeof *k->v);
    k->v[at] = x;
    k->n++;
}

static void insert_char(tmodel *t, weft_id id, weft_id ol, weft_id or, uint32_t cp)
{
    walk(t); /* positions of existing nodes */
    if (t->n == t->cap) {
        t->cap *= 2;
        t->nodes = realloc(t->nodes, t->cap * sizeof *t->nodes);
        if (!t->nodes)
            abort();
    }
    uint32_t x = (uint32_t)t->n++;
    tnode *nd = &t->nodes[x];
    memset(nd, 0, sizeof *nd);
    nd->id = id;
    nd->ol = ol;
    nd->or = or ;
    nd->cp = cp;
    long r = weft_id_is_none(or) ? -1 : find(t, or);
    if (r > 0 && weft_id_eq(t->nodes[r].ol, ol) &&
        (weft_id_is_none(ol) || t->nodes[r].ol.seq == ol.seq)) {
        kids *k = &t->nodes[r].left;
        size_t at = 0;
        while (at < k->n && id_less(t->nodes[k->v[at]].id, id))
            at++;
        kids_insert(k, at, x);
    } else {
        long p = find(t, ol);
        kids *k = &t->nodes[p].right;
        size_t at = 0;
        while (at < k->n && right_before(t, k->v[at], x))
            at++;
        kids_insert(k, at, x);
    }
}

void tmodel_apply(tmodel *t, const weft_op *op)
{
    if (op->kind == WEFT_OP_INS) {
        uint32_t *cps = tz((op->len + 1) * sizeof *cps);
        u8_decode(op->text, op->bytes, cps);
        for (uint32_t k = 0; k < op->len; k++)
            insert_char(t, (weft_id){op->id.agent, op->id.seq + k},
                        k ? (weft_id){op->id.agent, op->id.seq + k - 1} : op->ol, op->or, cps[k]);
        free(cps);
    } else {
        for (uint32_t k = 0; k < op->len; k++)
            t->nodes[find(t, (weft_id){op->target.agent, op->target.seq + k})].deleted = true;
    }
}

void tmodel_text(const tmodel *t, sbuf *b)
{
    tmodel *m = (tmodel *)t;
    walk(m);
    b->n = 0;
    sbuf_put(b, "", 0);
    for (size_t i = 0; i < m->nwalk; i++) {
        const tnode *nd = &m->nodes[m->walk[i]];
        if (!nd->deleted) {
            char tmp[4];
            sbuf_put(b, tmp, (size_t)u8_encode(nd->cp, tmp));
        }
    }
}

/* check.c — weft_doc_check(): walks every invariant of doc_int.h. For tests
 * and fuzzers; O(n). */
#include "doc_int.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            return WEFT_E_CORRUPT;                                                                 \
    } while (0)

/* Walks a subtree: its visible totals, and whether it holds the pending
 * leaf (the stored entries above that leaf lack the pending deltas). */
static int check_node(const weft_doc *d, uint32_t node, uint32_t height, uint32_t parent,
                      uint32_t *cp, uint32_t *u16, uint32_t *leaves, bool *pend)
{
    if (height == 0) {
        *pend = node == d->pend_leaf;
        const leaf *L = &d->leaves[node];
        CHECK(L->parent == parent);
        CHECK(L->n <= LEAF_MAX);
        CHECK(L->n > 0 || (parent == NIL && d->live_runs == 0));
        uint32_t a = 0, b = 0;
        for (uint32_t i = 0; i < L->n; i++) {
            CHECK(L->r[i] < d->nruns);
            const run *r = &d->runs[L->r[i]];
            CHECK(r->leaf == node && r->slot < d->nag && r->len > 0);
            CHECK(L->vcp[i] == (r->deleted ? 0 : r->len));
            if (!r->deleted) {
                a += r->len;
                b += r->u16;
            }
        }
        CHECK(L->cp == a && L->u16 == b);
        *cp = a;
        *u16 = b;
        (*leaves)++;
        return 0;
    }
    const inner *in = &d->inners[node];
    CHECK(in->parent == parent && in->n >= 1 && in->n <= INNER_MAX);
    CHECK(in->n >= 2 || parent != NIL);
    uint32_t a = 0, b = 0;
    *pend = false;
    for (uint32_t i = 0; i < in->n; i++) {
        uint32_t ca, cb;
        bool p;
        int rc = check_node(d, in->child[i], height - 1, node, &ca, &cb, leaves, &p);
        if (rc)
            return rc;
        CHECK((height == 1 ? d->leaves[in->child[i]].pidx : d->inners[in->child[i]].pidx) == i);
        if (p) {
            ca -= d->pend_cp;
            cb -= d->pend_u16;
        }
        CHECK(in->cp[i] == ca && in->u16[i] == cb);
        if (p) {
            ca += d->pend_cp;
            cb += d->pend_u16;
            *pend = true;
        }
        a += ca;
        b += cb;
    }
    *cp = a;
    *u16 = b;
    return 0;
}

static int check_runs(const weft_doc *d)
{
    uint32_t prev = NIL, count = 0;
    for (uint32_t lf = d->first_leaf; lf != NIL; lf = d->leaves[lf].next) {
        CHECK(d->leaves[lf].prev == prev);
        prev = lf;
        for (uint32_t i = 0; i < d->leaves[lf].n; i++) {
            const run *r = &d->runs[d->leaves[lf].r[i]];
            const agent_slot *a = &d->ag[r->slot];
            CHECK((uint64_t)r->text_off + r->bytes <= a->text_n);
            uint32_t cps, u16;
            CHECK(weft_utf8_count(a->text + r->text_off, r->bytes, &cps, &u16) == 0);
            CHECK(cps == r->len && u16 == r->u16);
            CHECK(r->seq + r->len <= a->next_seq);
            uint32_t key, val;
            CHECK(idx__find(&a->idx, r->seq, &key, &val) == 0);
            CHECK(key == r->seq && val == d->leaves[lf].r[i]);
            count++;
        }
    }
    CHECK(prev == d->last_leaf);
    CHECK(count == d->live_runs);
    return 0;
}

static int check_index(const weft_doc *d)
{
    for (uint32_t s = 0; s < d->nag; s++) {
        const agent_slot *a = &d->ag[s];
        idx_pos p = {0, 0};
        uint32_t key, val, expect = 0;
        while (idx__next(&a->idx, &p, &key, &val)) {
            CHECK(key == expect);
            if (val & DEL_BIT) {
                CHECK((val & ~DEL_BIT) < d->ndels);
                const del_rec *r = &d->dels[val & ~DEL_BIT];
                CHECK(r->slot == s && r->seq == key);
                expect = key + r->len;
            } else {
                CHECK(val < d->nruns);
                const run *r = &d->runs[val];
                CHECK(r->slot == s && r->seq == key && r->leaf != NIL);
                expect = key + r->len;
            }
        }
        CHECK(expect == a->next_seq);
        if (s > 0)
            CHECK(d->ag[d->ag_sorted[s - 1]].id < d->ag[d->ag_sorted[s]].id);
    }
    return 0;
}

static int check_log(const weft_doc *d)
{
    uint32_t *next = calloc((size_t)d->nag + 1, sizeof *next);
    if (!next)
        return WEFT_E_NOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < d->nspans && !rc; i++) {
        const span_rec *sp = &d->spans[i];
        if (sp->slot >= d->nag || sp->seq != next[sp->slot] || sp->len == 0)
            rc = WEFT_E_CORRUPT;
        else
            next[sp->slot] += sp->len;
    }
    for (uint32_t s = 0; s < d->nag && !rc; s++) {
        if (next[s] != d->ag[s].next_seq)
            rc = WEFT_E_CORRUPT;
    }
    free(next);
    if (rc)
        return rc;
    /* every delete record targets tombstones */
    for (uint32_t i = 0; i < d->ndels; i++) {
        const del_rec *r = &d->dels[i];
        uint32_t cur = del__lo(r), end = cur + r->len;
        while (cur < end) {
            uint32_t h, isdel;
            CHECK(doc__lookup(d, (weft_id){r->target.agent, cur}, &h, &isdel) == 0 && !isdel);
            CHECK(d->runs[h].deleted);
            cur = d->runs[h].seq + d->runs[h].len;
        }
    }
    return 0;
}

int weft_doc_check(const weft_doc *d)
{
    if (d->loading)
        return WEFT_E_CORRUPT;
    uint32_t cp, u16, leaves = 0;
    bool pend;
    int rc = check_node(d, d->root, d->height, NIL, &cp, &u16, &leaves, &pend);
    if (!rc && (cp != d->len_cp || u16 != d->len_u16))
        rc = WEFT_E_CORRUPT;
    if (!rc && d->pend_leaf != NIL && !pend) /* a pending leaf is in the tree */
        rc = WEFT_E_CORRUPT;
    if (!rc)
        rc = check_runs(d);
    if (!rc)
        rc = check_index(d);
    if (!rc)
        rc = check_log(d);
    if (!rc && !doc__tombs_exact(d))
        rc = WEFT_E_CORRUPT;
    return rc;
}

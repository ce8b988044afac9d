/* doc.c — the document object: agents, the run pool, splitting and merging
 * runs, delete records and the apply-order log. */
#include "doc_int.h"

int doc__grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint64_t nc = *cap ? (uint64_t)*cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    if (nc > UINT32_MAX || nc * elem > SIZE_MAX / 2)
        return WEFT_E_NOMEM;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q)
        return WEFT_E_NOMEM;
    *p = q;
    *cap = (uint32_t)nc;
    return 0;
}

weft_doc *weft_doc_new(uint32_t agent)
{
    weft_doc *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->me = NIL;
    d->free_run = NIL;
    d->typing = NIL;
    d->cache_leaf = NIL;
    d->pend_leaf = NIL;
    if (tree__init(d))
        goto fail;
    if (agent != WEFT_NONE && weft_doc_set_agent(d, agent))
        goto fail;
    return d;
fail:
    weft_doc_free(d);
    return NULL;
}

void weft_doc_free(weft_doc *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i < d->nag; i++) {
        free(d->ag[i].text);
        idx__cleanup(&d->ag[i].idx);
    }
    for (uint32_t i = 0; i < d->nparked; i++)
        free(d->parked[i].text);
    free(d->parked);
    free(d->ag);
    free(d->ag_sorted);
    free(d->runs);
    free(d->dels);
    free(d->spans);
    free(d->scratch);
    free(d->load_text);
    tree__cleanup(d);
    free(d);
}

uint32_t doc__slot_find(const weft_doc *d, uint32_t agent)
{
    if (d->ag_last < d->nag && d->ag[d->ag_last].id == agent)
        return d->ag_last;
    uint32_t lo = 0, hi = d->nag;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t a = d->ag[d->ag_sorted[mid]].id;
        if (a < agent)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < d->nag && d->ag[d->ag_sorted[lo]].id == agent) {
        ((weft_doc *)d)->ag_last = d->ag_sorted[lo];
        return d->ag_sorted[lo];
    }
    return NIL;
}

int doc__slot_get(weft_doc *d, uint32_t agent, uint32_t *slot)
{
    if (agent == WEFT_NONE)
        return WEFT_E_AGENT;
    uint32_t s = doc__slot_find(d, agent);
    if (s != NIL) {
        *slot = s;
        return 0;
    }
    if (doc__grow((void **)&d->ag, &d->ag_cap, d->nag + 1, sizeof(agent_slot)) ||
        doc__grow((void **)&d->ag_sorted, &d->ag_sorted_cap, d->nag + 1, sizeof(uint32_t)))
        return WEFT_E_NOMEM;
    s = d->nag;
    memset(&d->ag[s], 0, sizeof(agent_slot));
    d->ag[s].id = agent;
    d->ag[s].tail = NIL;
    uint32_t lo = 0;
    while (lo < d->nag && d->ag[d->ag_sorted[lo]].id < agent)
        lo++;
    memmove(&d->ag_sorted[lo + 1], &d->ag_sorted[lo], (d->nag - lo) * sizeof(uint32_t));
    d->ag_sorted[lo] = s;
    d->nag++;
    d->ag_last = s;
    *slot = s;
    return 0;
}

int weft_doc_set_agent(weft_doc *d, uint32_t agent)
{
    if (agent == WEFT_NONE) {
        d->me = NIL;
        return 0;
    }
    uint32_t s;
    int rc = doc__slot_get(d, agent, &s);
    if (rc)
        return rc;
    d->me = s;
    d->typing = NIL;
    return 0;
}

uint32_t weft_doc_agent(const weft_doc *d)
{
    return d->me == NIL ? WEFT_NONE : d->ag[d->me].id;
}

uint32_t doc__vv(const weft_doc *d, uint32_t agent)
{
    uint32_t s = doc__slot_find(d, agent);
    return s == NIL ? 0 : d->ag[s].next_seq;
}

uint32_t weft_doc_next_seq(const weft_doc *d, uint32_t agent)
{
    return doc__vv(d, agent);
}

uint32_t doc__run_new(weft_doc *d)
{
    uint32_t h;
    if (d->free_run != NIL) {
        h = d->free_run;
        d->free_run = d->runs[h].leaf;
    } else {
        if (doc__grow((void **)&d->runs, &d->runs_cap, d->nruns + 1, sizeof(run)))
            return NIL;
        h = d->nruns++;
    }
    memset(&d->runs[h], 0, sizeof(run));
    d->runs[h].leaf = NIL;
    d->live_runs++;
    return h;
}

void doc__run_free(weft_doc *d, uint32_t h)
{
    if (d->finger == h) /* the handle will be reused: its start would be stale */
        d->finger = NIL;
    if (d->typing == h)
        d->typing = NIL;
    d->runs[h].len = 0;
    d->runs[h].slot = NIL;
    d->runs[h].leaf = d->free_run;
    d->free_run = h;
    d->live_runs--;
}

int doc__arena_grow(weft_doc *d, uint32_t slot, const char *s, uint32_t n, uint32_t *off)
{
    agent_slot *a = &d->ag[slot];
    if ((uint64_t)a->text_n + n > UINT32_MAX / 2)
        return WEFT_E_NOMEM;
    if (doc__grow((void **)&a->text, &a->text_cap, a->text_n + n, 1))
        return WEFT_E_NOMEM;
    memcpy(a->text + a->text_n, s, n);
    *off = a->text_n;
    a->text_n += n;
    return 0;
}

/* Splits run h so that it keeps its first k chars (0 < k < len); the rest
 * becomes a new run right after it. */
int doc__split(weft_doc *d, uint32_t h, uint32_t k, uint32_t *right)
{
    uint32_t nh = doc__run_new(d);
    if (nh == NIL)
        return WEFT_E_NOMEM;
    run *r = &d->runs[h], *n = &d->runs[nh];
    const char *t = doc__run_text(d, r);
    uint32_t boff = utf8__offset(t, r->bytes, r->len, k);
    uint32_t u16l = r->bytes == r->len ? k : utf8__u16(t, boff);
    n->slot = r->slot;
    n->seq = r->seq + k;
    n->len = r->len - k;
    n->ol = (weft_id){d->ag[r->slot].id, r->seq + k - 1};
    n->or = r->or ;
    n->text_off = r->text_off + boff;
    n->bytes = r->bytes - boff;
    n->u16 = r->u16 - u16l;
    n->deleted = r->deleted;
    r->len = k;
    r->bytes = boff;
    r->u16 = u16l;
    if (!r->deleted)
        tree__adjust(d, h, -(int32_t)n->len, -(int32_t)n->u16);
    int rc = tree__insert_after(d, h, nh);
    if (!rc)
        rc = idx__insert(&d->ag[n->slot].idx, n->seq, nh);
    if (rc)
        return rc;
    *right = nh;
    return 0;
}

static bool mergeable(const weft_doc *d, const run *a, const run *b)
{
    return a->slot == b->slot && a->seq + a->len == b->seq && a->deleted == b->deleted &&
           b->ol.agent == d->ag[a->slot].id && b->ol.seq == b->seq - 1 &&
           weft_id_eq(a->or, b->or) && a->text_off + a->bytes == b->text_off;
}

/* Merges the run after h (same leaf) into h when they form one run. */
int doc__try_merge_next(weft_doc *d, uint32_t h)
{
    if (d->loading)
        return 0;
    run *a = &d->runs[h];
    const leaf *L = &d->leaves[a->leaf];
    uint32_t i = tree__leaf_index(d, h);
    if (i + 1 >= L->n)
        return 0;
    uint32_t nh = L->r[i + 1];
    run *b = &d->runs[nh];
    if (!mergeable(d, a, b))
        return 0;
    a->len += b->len;
    a->bytes += b->bytes;
    a->u16 += b->u16;
    d->leaves[a->leaf].vcp[i] += d->leaves[a->leaf].vcp[i + 1];
    tree__remove(d, nh);
    idx__remove(&d->ag[b->slot].idx, b->seq);
    doc__run_free(d, nh);
    return 1;
}

void doc__merge_around(weft_doc *d, uint32_t h)
{
    uint32_t i = tree__leaf_index(d, h);
    if (i > 0) {
        uint32_t p = d->leaves[d->runs[h].leaf].r[i - 1];
        if (doc__try_merge_next(d, p))
            h = p;
    }
    doc__try_merge_next(d, h);
}

int doc__del_record(weft_doc *d, uint32_t slot, uint32_t seq, weft_id target, uint32_t len)
{
    if (d->ndels > 0) {
        del_rec *l = &d->dels[d->ndels - 1];
        if (l->slot == slot && l->seq + l->len == seq && l->target.agent == target.agent) {
            if ((!l->rev || l->len == 1) && l->target.seq + l->len == target.seq) {
                l->rev = 0;
                l->len += len;
                return 0;
            }
            if ((l->rev || l->len == 1) && len == 1 && del__lo(l) == target.seq + 1) {
                l->rev = 1;
                l->len += 1;
                return 0;
            }
        }
    }
    if (d->ndels >= DEL_BIT - 1)
        return WEFT_E_OVERFLOW;
    if (doc__grow((void **)&d->dels, &d->dels_cap, d->ndels + 1, sizeof(del_rec)))
        return WEFT_E_NOMEM;
    int rc = idx__insert(&d->ag[slot].idx, seq, DEL_BIT | d->ndels);
    if (rc)
        return rc;
    d->dels[d->ndels++] = (del_rec){slot, seq, target, len, 0};
    return 0;
}

int doc__span_add(weft_doc *d, uint32_t slot, uint32_t seq, uint32_t len)
{
    if (doc__grow((void **)&d->spans, &d->spans_cap, d->nspans + 1, sizeof(span_rec)))
        return WEFT_E_NOMEM;
    d->spans[d->nspans++] = (span_rec){slot, seq, len};
    return 0;
}

int doc__lookup(const weft_doc *d, weft_id id, uint32_t *h, uint32_t *isdel)
{
    uint32_t s = doc__slot_find(d, id.agent);
    if (s == NIL || id.seq >= d->ag[s].next_seq)
        return WEFT_E_NOTFOUND;
    uint32_t key, val;
    if (idx__find(&d->ag[s].idx, id.seq, &key, &val))
        return WEFT_E_NOTFOUND;
    *isdel = (val & DEL_BIT) != 0;
    *h = val & ~DEL_BIT;
    return 0;
}

int doc__mark_deleted(weft_doc *d, uint32_t h, weft_patchlist *patches)
{
    run *r = &d->runs[h];
    if (r->deleted)
        return 0;
    if (patches) {
        uint32_t cp, u16;
        tree__pos(d, h, &cp, &u16);
        int rc = patch__push(patches, cp, u16, r->len, r->u16, NULL, 0, 0, 0);
        if (rc)
            return rc;
    }
    r->deleted = 1;
    tree__adjust(d, h, -(int32_t)r->len, -(int32_t)r->u16);
    return 0;
}

/* Whether run b continues run a (b right after a in the list). */
static bool continues(const weft_doc *d, const run *a, const run *b)
{
    return a->slot == b->slot && a->seq + a->len == b->seq && b->ol.agent == d->ag[a->slot].id &&
           b->ol.seq == b->seq - 1 && weft_id_eq(a->or, b->or) &&
           a->text_off + a->bytes == b->text_off;
}

/* Byte offsets of chars off and off+k of run r, and the UTF-16 units
 * between them (ASCII runs need no scan). */
static void run_slice(const weft_doc *d, const run *r, uint32_t off, uint32_t k, uint32_t *b0,
                      uint32_t *b1, uint32_t *u)
{
    if (r->bytes == r->len) {
        *b0 = off;
        *b1 = off + k;
        *u = k;
        return;
    }
    const char *t = doc__run_text(d, r);
    *b0 = utf8__offset(t, r->bytes, r->len, off);
    *b1 = *b0 + utf8__offset(t + *b0, r->bytes - *b0, r->len - off, k);
    *u = utf8__u16(t + *b0, *b1 - *b0);
}

/* Moves chars [off, off+k) of live run h into the tombstone nb that
 * continues it: its tail into nb after it, or its head into nb before it.
 * Nothing splits and nothing merges (backspace, delete key). */
static int delete_across(weft_doc *d, uint32_t h, run *nb, uint32_t off, uint32_t k, bool tail,
                         weft_patchlist *patches)
{
    run *r = &d->runs[h];
    uint32_t b0, b1, u;
    run_slice(d, r, off, k, &b0, &b1, &u);
    int rc;
    if (patches) {
        uint32_t cp, p16;
        tree__pos(d, h, &cp, &p16);
        uint32_t o16 = r->bytes == r->len ? off : utf8__u16(doc__run_text(d, r), b0);
        if ((rc = patch__push(patches, cp + off, p16 + o16, k, u, NULL, 0, 0, 0)))
            return rc;
    }
    idindex *x = &d->ag[r->slot].idx;
    uint32_t agent = d->ag[r->slot].id;
    if (tail) {
        rc = idx__rekey_at(x, &d->rekey_at, nb->seq, nb->seq - k);
        nb->seq -= k;
        nb->ol = (weft_id){agent, nb->seq - 1};
        nb->text_off -= b1 - b0;
    } else {
        rc = idx__rekey_at(x, &d->rekey_at, r->seq, r->seq + k);
        r->seq += k;
        r->ol = (weft_id){agent, r->seq - 1};
        r->text_off += b1 - b0;
    }
    nb->len += k;
    nb->bytes += b1 - b0;
    nb->u16 += u;
    r->len -= k;
    r->bytes -= b1 - b0;
    r->u16 -= u;
    tree__adjust(d, h, -(int32_t)k, -(int32_t)u);
    return rc;
}

/* Deletes chars [off, off+k) of live run h (0 < k, off+k <= len). When the
 * deleted part touches a tombstone that continues the run, the chars move
 * across instead of splitting and merging back (backspace, delete key).
 * Otherwise the deleted part becomes its own run; it can merge with a
 * neighbour only when it is the whole run (a part's neighbours in the same
 * leaf are the live rest of h, or were just found not to continue it). */
int doc__delete_in_run(weft_doc *d, uint32_t h, uint32_t off, uint32_t k, weft_patchlist *patches)
{
    run *r = &d->runs[h];
    const leaf *L = &d->leaves[r->leaf];
    uint32_t i = tree__leaf_index(d, h);
    bool tail = off > 0 && off + k == r->len, head = off == 0 && k < r->len;
    run *nb = NULL;
    if (tail && i + 1 < L->n)
        nb = &d->runs[L->r[i + 1]];
    else if (head && i > 0)
        nb = &d->runs[L->r[i - 1]];
    if (nb && nb->deleted && (tail ? continues(d, r, nb) : continues(d, nb, r)))
        return delete_across(d, h, nb, off, k, tail, patches);
    int rc;
    bool whole = off == 0 && k == r->len;
    if (off > 0 && (rc = doc__split(d, h, off, &h)))
        return rc;
    if (d->runs[h].len > k) {
        uint32_t right;
        if ((rc = doc__split(d, h, k, &right)))
            return rc;
    }
    if ((rc = doc__mark_deleted(d, h, patches)))
        return rc;
    if (whole)
        doc__merge_around(d, h);
    return 0;
}

uint32_t weft_doc_len(const weft_doc *d)
{
    return d->len_cp;
}
uint32_t weft_doc_len16(const weft_doc *d)
{
    return d->len_u16;
}

size_t weft_doc_bytes(const weft_doc *d)
{
    size_t n = 0;
    for (uint32_t lf = d->first_leaf; lf != NIL; lf = d->leaves[lf].next) {
        const leaf *L = &d->leaves[lf];
        for (uint32_t i = 0; i < L->n; i++) {
            const run *r = &d->runs[L->r[i]];
            if (!r->deleted)
                n += r->bytes;
        }
    }
    return n;
}

int weft_doc_text(const weft_doc *d, weft_buf *out)
{
    size_t need = weft_doc_bytes(d);
    if (need + 1 > out->cap) {
        char *p = realloc(out->p, need + 1);
        if (!p)
            return WEFT_E_NOMEM;
        out->p = p;
        out->cap = need + 1;
    }
    size_t n = 0;
    for (uint32_t lf = d->first_leaf; lf != NIL; lf = d->leaves[lf].next) {
        const leaf *L = &d->leaves[lf];
        for (uint32_t i = 0; i < L->n; i++) {
            const run *r = &d->runs[L->r[i]];
            if (!r->deleted) {
                memcpy(out->p + n, doc__run_text(d, r), r->bytes);
                n += r->bytes;
            }
        }
    }
    out->p[n] = 0;
    out->n = n;
    return 0;
}

int weft_doc_version(const weft_doc *d, weft_vv *out)
{
    out->n = 0;
    for (uint32_t i = 0; i < d->nag; i++) {
        const agent_slot *a = &d->ag[d->ag_sorted[i]];
        if (a->next_seq) {
            int rc = weft_vv_set(out, a->id, a->next_seq);
            if (rc)
                return rc;
        }
    }
    return 0;
}

size_t weft_doc_parked(const weft_doc *d)
{
    return d->nparked;
}
size_t weft_doc_parked_bytes(const weft_doc *d)
{
    return d->parked_bytes;
}
size_t weft_doc_run_count(const weft_doc *d)
{
    return d->live_runs;
}

size_t weft_doc_mem(const weft_doc *d)
{
    size_t m = sizeof *d + (size_t)d->runs_cap * sizeof(run) +
               (size_t)d->leaves_cap * sizeof(leaf) + (size_t)d->inners_cap * sizeof(inner) +
               (size_t)d->ag_cap * (sizeof(agent_slot) + sizeof(uint32_t)) +
               (size_t)d->dels_cap * sizeof(del_rec) + (size_t)d->spans_cap * sizeof(span_rec) +
               (size_t)d->parked_cap * sizeof(parked_op) + d->parked_bytes +
               (size_t)d->scratch_cap * sizeof(uint32_t) + d->load_text_cap;
    for (uint32_t i = 0; i < d->nag; i++)
        m += d->ag[i].text_cap + idx__mem(&d->ag[i].idx);
    return m;
}

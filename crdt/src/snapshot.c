/* snapshot.c — canonical runs, delete records and spans out; a document
 * rebuilt from them in. Loading checks that the pieces fit together, since
 * they come from disk or the network. */
#include "doc_int.h"

void weft_run_iter_init(weft_run_iter *it, const weft_doc *d)
{
    it->doc = d;
    it->leaf = d->first_leaf;
    it->idx = 0;
}

static const run *iter_peek(weft_run_iter *it)
{
    const weft_doc *d = it->doc;
    while (it->leaf != NIL && it->idx >= d->leaves[it->leaf].n) {
        it->leaf = d->leaves[it->leaf].next;
        it->idx = 0;
    }
    return it->leaf == NIL ? NULL : &d->runs[d->leaves[it->leaf].r[it->idx]];
}

bool weft_run_iter_next(weft_run_iter *it, weft_run *out)
{
    const weft_doc *d = it->doc;
    const run *r = iter_peek(it);
    if (!r)
        return false;
    it->idx++;
    uint32_t agent = d->ag[r->slot].id;
    *out = (weft_run){agent,   r->seq, r->len, r->ol, r->or, r->deleted != 0, doc__run_text(d, r),
                      r->bytes};
    uint32_t slot = r->slot, text_end = r->text_off + r->bytes;
    const run *n;
    while ((n = iter_peek(it)) && n->slot == slot && n->seq == out->seq + out->len &&
           (n->deleted != 0) == out->deleted && n->ol.agent == agent && n->ol.seq == n->seq - 1 &&
           weft_id_eq(n->or, out->or) && n->text_off == text_end) {
        out->len += n->len;
        out->bytes += n->bytes;
        text_end += n->bytes;
        it->idx++;
    }
    return true;
}

/* Reverse records are shown as their single-char forward pieces, so the
 * public delete list is forward-only; sequential access is O(1). */
size_t weft_doc_del_count(const weft_doc *d)
{
    size_t n = 0;
    for (uint32_t i = 0; i < d->ndels; i++)
        n += d->dels[i].rev ? d->dels[i].len : 1;
    return n;
}

weft_del weft_doc_del_get(const weft_doc *d, size_t i)
{
    weft_doc *m = (weft_doc *)d; /* the cursor is a cache, not state */
    if (i < m->dget_i || m->dget_rec >= d->ndels) {
        m->dget_i = 0;
        m->dget_rec = 0;
        m->dget_off = 0;
    }
    while (m->dget_i < i && m->dget_rec < d->ndels) {
        const del_rec *r = &d->dels[m->dget_rec];
        if (r->rev && m->dget_off + 1 < r->len) {
            m->dget_off++;
        } else {
            m->dget_rec++;
            m->dget_off = 0;
        }
        m->dget_i++;
    }
    if (m->dget_rec >= d->ndels)
        return (weft_del){WEFT_ID_NONE, WEFT_ID_NONE, 0};
    const del_rec *r = &d->dels[m->dget_rec];
    uint32_t agent = d->ag[r->slot].id;
    if (!r->rev)
        return (weft_del){{agent, r->seq}, r->target, r->len};
    return (weft_del){
        {agent, r->seq + m->dget_off}, {r->target.agent, del__target_of(r, m->dget_off)}, 1};
}

size_t weft_doc_span_count(const weft_doc *d)
{
    return d->nspans;
}

weft_span weft_doc_span_get(const weft_doc *d, size_t i)
{
    const span_rec *s = &d->spans[i];
    return (weft_span){d->ag[s->slot].id, s->seq, s->len};
}

static int load_begin(weft_doc *d)
{
    if (d->loading)
        return 0;
    if (d->nspans || d->ndels || d->live_runs)
        return WEFT_E_BADLOAD;
    d->loading = 1;
    return 0;
}

int weft_doc_load_run(weft_doc *d, const weft_run *in)
{
    int rc = load_begin(d);
    if (rc)
        return rc;
    uint32_t cps, u16, slot, off;
    if (in->agent == WEFT_NONE || in->len == 0 || (uint64_t)in->seq + in->len >= UINT32_MAX ||
        (!in->text && in->bytes))
        return WEFT_E_BADLOAD;
    if ((rc = weft_utf8_count(in->text, in->bytes, &cps, &u16)))
        return rc;
    if (cps != in->len)
        return WEFT_E_BADLOAD;
    if ((rc = doc__slot_get(d, in->agent, &slot)))
        return rc;
    /* duplicates and overlaps are caught by finish_coverage */
    if ((rc = doc__arena_append(d, slot, in->text, in->bytes, &off)))
        return rc;
    uint32_t h = doc__run_new(d);
    if (h == NIL)
        return WEFT_E_NOMEM;
    run *r = &d->runs[h];
    r->slot = slot;
    r->seq = in->seq;
    r->len = in->len;
    r->ol = in->ol;
    r->or = in->or ;
    r->text_off = off;
    r->bytes = in->bytes;
    r->u16 = u16;
    r->deleted = in->deleted;
    const leaf *last = &d->leaves[d->last_leaf];
    uint32_t after = last->n ? last->r[last->n - 1] : NIL;
    if ((rc = tree__insert_after(d, after, h)))
        return rc;
    return idx__insert(&d->ag[slot].idx, in->seq, h);
}

int weft_doc_load_del(weft_doc *d, const weft_del *in)
{
    int rc = load_begin(d);
    if (rc)
        return rc;
    uint32_t slot;
    if (in->id.agent == WEFT_NONE || in->target.agent == WEFT_NONE || in->len == 0 ||
        (uint64_t)in->id.seq + in->len >= UINT32_MAX ||
        (uint64_t)in->target.seq + in->len >= UINT32_MAX)
        return WEFT_E_BADLOAD;
    if ((rc = doc__slot_get(d, in->id.agent, &slot)))
        return rc;
    /* delete records of one agent are appended in seq order */
    if (d->ndels && d->dels[d->ndels - 1].slot == slot &&
        d->dels[d->ndels - 1].seq + d->dels[d->ndels - 1].len > in->id.seq)
        return WEFT_E_BADLOAD;
    return doc__del_record(d, slot, in->id.seq, in->target, in->len);
}

int weft_doc_load_span(weft_doc *d, const weft_span *in)
{
    int rc = load_begin(d);
    if (rc)
        return rc;
    uint32_t slot;
    if (in->agent == WEFT_NONE || in->len == 0 || (uint64_t)in->seq + in->len >= UINT32_MAX)
        return WEFT_E_BADLOAD;
    if ((rc = doc__slot_get(d, in->agent, &slot)))
        return rc;
    if (d->ag[slot].load_next != in->seq)
        return WEFT_E_BADLOAD;
    d->ag[slot].load_next += in->len;
    return doc__span_record(d, slot, in->seq, in->len);
}

/* Every agent's index covers [0, n) exactly; sets next_seq. */
static int finish_coverage(weft_doc *d)
{
    for (uint32_t s = 0; s < d->nag; s++) {
        agent_slot *a = &d->ag[s];
        idx_pos p = {0, 0};
        uint32_t key, val, expect = 0;
        while (idx__next(&a->idx, &p, &key, &val)) {
            uint32_t len;
            if (val & DEL_BIT) {
                const del_rec *r = &d->dels[val & ~DEL_BIT];
                len = r->len;
            } else {
                len = d->runs[val].len;
            }
            if (key != expect)
                return WEFT_E_BADLOAD;
            expect = key + len;
        }
        if (a->load_next != expect)
            return WEFT_E_BADLOAD;
        a->next_seq = expect;
    }
    return 0;
}

/* Whether the tombstones are exactly the chars the delete records target.
 * Targets are marked in one bitmap per agent (seq space); then every
 * deleted run must be fully marked, every live run unmarked, and the marks
 * must all fall in deleted runs (their count equals the tombstones'). */
/* Bits [lo, hi) of b, a word at a time: how many were clear before being
 * set (mark), or whether all are `want` (test). */
static uint64_t range_mask(uint32_t w, uint32_t lo, uint32_t hi)
{
    uint32_t a = w * 64 > lo ? 0 : lo - w * 64, z = (w + 1) * 64 < hi ? 64 : hi - w * 64;
    uint64_t top = z == 64 ? ~(uint64_t)0 : (((uint64_t)1 << z) - 1);
    return top & ~(((uint64_t)1 << a) - 1);
}

static uint64_t mark_range(uint64_t *b, uint32_t lo, uint32_t hi)
{
    uint64_t fresh = 0;
    for (uint32_t w = lo / 64; w <= (hi - 1) / 64; w++) {
        uint64_t m = range_mask(w, lo, hi);
        fresh += (uint64_t)__builtin_popcountll(m & ~b[w]);
        b[w] |= m;
    }
    return fresh;
}

static bool run_marks(const uint64_t *b, const run *r, bool want)
{
    uint32_t lo = r->seq, hi = r->seq + r->len;
    for (uint32_t w = lo / 64; w <= (hi - 1) / 64; w++) {
        uint64_t m = range_mask(w, lo, hi);
        if ((b[w] & m) != (want ? m : 0))
            return false;
    }
    return true;
}

bool doc__tombs_exact(const weft_doc *d)
{
    size_t words = 0;
    for (uint32_t s = 0; s < d->nag; s++)
        words += d->ag[s].next_seq / 64 + 1;
    uint64_t *bits = calloc(words, sizeof *bits);
    size_t *base = malloc(((size_t)d->nag + 1) * sizeof *base);
    bool ok = bits && base;
    for (uint32_t s = 0, w = 0; ok && s < d->nag; s++) {
        base[s] = w;
        w += d->ag[s].next_seq / 64 + 1;
    }
    uint64_t targeted = 0, tomb = 0;
    for (uint32_t i = 0; ok && i < d->ndels; i++) {
        const del_rec *r = &d->dels[i];
        uint32_t ts = doc__slot_find(d, r->target.agent);
        if (ts == NIL || (r->rev && r->target.seq < r->len - 1) ||
            (uint64_t)del__lo(r) + r->len > d->ag[ts].next_seq) {
            ok = false;
            break;
        }
        targeted += mark_range(bits + base[ts], del__lo(r), del__lo(r) + r->len);
    }
    for (uint32_t lf = d->first_leaf; ok && lf != NIL; lf = d->leaves[lf].next) {
        for (uint32_t i = 0; ok && i < d->leaves[lf].n; i++) {
            const run *r = &d->runs[d->leaves[lf].r[i]];
            ok = run_marks(bits + base[r->slot], r, r->deleted != 0);
            tomb += r->deleted ? r->len : 0;
        }
    }
    free(bits);
    free(base);
    return ok && targeted == tomb;
}

/* Deletes target inserted chars that are deleted; deleted runs are exactly
 * the targeted chars. */
static int finish_deletes(weft_doc *d)
{
    return doc__tombs_exact(d) ? 0 : WEFT_E_BADLOAD;
}

/* Origins exist, are inserted chars, and lie on the right sides. */
static int finish_origins(weft_doc *d)
{
    uint32_t *ord = malloc(((size_t)d->nruns + 1) * sizeof *ord);
    if (!ord)
        return WEFT_E_NOMEM;
    uint32_t k = 0;
    for (uint32_t lf = d->first_leaf; lf != NIL; lf = d->leaves[lf].next) {
        for (uint32_t i = 0; i < d->leaves[lf].n; i++)
            ord[d->leaves[lf].r[i]] = k++;
    }
    int rc = 0;
    for (uint32_t lf = d->first_leaf; lf != NIL && !rc; lf = d->leaves[lf].next) {
        for (uint32_t i = 0; i < d->leaves[lf].n && !rc; i++) {
            uint32_t h = d->leaves[lf].r[i], o, isdel;
            const run *r = &d->runs[h];
            if (r->ol.agent != WEFT_NONE &&
                (doc__lookup(d, r->ol, &o, &isdel) || isdel || ord[o] >= ord[h]))
                rc = WEFT_E_BADLOAD;
            /* origin-right may sit inside a run: the halves of a split merge back */
            if (r->or.agent != WEFT_NONE &&
                         (doc__lookup(d, r->or, &o, &isdel) || isdel || ord[o] <= ord[h]))
                rc = WEFT_E_BADLOAD;
        }
    }
    free(ord);
    return rc;
}

/* Lays each agent's text out in seq order so adjacent runs can merge. */
static int finish_arenas(weft_doc *d)
{
    for (uint32_t s = 0; s < d->nag; s++) {
        agent_slot *a = &d->ag[s];
        char *t = malloc(a->text_n ? a->text_n : 1);
        if (!t)
            return WEFT_E_NOMEM;
        uint32_t n = 0, key, val;
        idx_pos p = {0, 0};
        while (idx__next(&a->idx, &p, &key, &val)) {
            if (val & DEL_BIT)
                continue;
            run *r = &d->runs[val];
            memcpy(t + n, a->text + r->text_off, r->bytes);
            r->text_off = n;
            n += r->bytes;
        }
        free(a->text);
        a->text = t;
        a->text_cap = a->text_n ? a->text_n : 1;
    }
    return 0;
}

int weft_doc_load_finish(weft_doc *d)
{
    if (!d->loading)
        return d->nspans || d->live_runs ? WEFT_E_BADLOAD : 0;
    int rc = finish_coverage(d);
    if (!rc)
        rc = finish_deletes(d);
    if (!rc)
        rc = finish_origins(d);
    if (!rc)
        rc = finish_arenas(d);
    if (rc)
        return rc;
    d->loading = 0; /* runs from weft_run_iter are canonical: nothing to merge */
    return 0;
}

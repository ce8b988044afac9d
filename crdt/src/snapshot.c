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
    uint32_t cps, u16, slot, key, val, off;
    if (in->agent == WEFT_NONE || in->len == 0 || (uint64_t)in->seq + in->len >= UINT32_MAX ||
        (!in->text && in->bytes))
        return WEFT_E_BADLOAD;
    if ((rc = weft_utf8_count(in->text, in->bytes, &cps, &u16)))
        return rc;
    if (cps != in->len)
        return WEFT_E_BADLOAD;
    if ((rc = doc__slot_get(d, in->agent, &slot)))
        return rc;
    if (!idx__find(&d->ag[slot].idx, in->seq, &key, &val) && key == in->seq)
        return WEFT_E_BADLOAD;
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
    uint32_t slot, key, val;
    if (in->id.agent == WEFT_NONE || in->target.agent == WEFT_NONE || in->len == 0 ||
        (uint64_t)in->id.seq + in->len >= UINT32_MAX ||
        (uint64_t)in->target.seq + in->len >= UINT32_MAX)
        return WEFT_E_BADLOAD;
    if ((rc = doc__slot_get(d, in->id.agent, &slot)))
        return rc;
    if (!idx__find(&d->ag[slot].idx, in->id.seq, &key, &val) && key == in->id.seq)
        return WEFT_E_BADLOAD;
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

static int del_target_cmp(const void *x, const void *y)
{
    const weft_del *a = x, *b = y;
    if (a->target.agent != b->target.agent)
        return a->target.agent < b->target.agent ? -1 : 1;
    return a->target.seq < b->target.seq ? -1 : a->target.seq > b->target.seq;
}

/* Whether the tombstones are exactly the chars some delete record targets
 * (counting distinct targets against deleted run lengths). */
bool doc__tombs_exact(const weft_doc *d)
{
    uint64_t targeted = 0, tomb = 0;
    weft_del *t = malloc(((size_t)d->ndels + 1) * sizeof *t);
    if (!t)
        return false;
    for (uint32_t i = 0; i < d->ndels; i++)
        t[i] = (weft_del){{0, 0}, {d->dels[i].target.agent, del__lo(&d->dels[i])}, d->dels[i].len};
    qsort(t, d->ndels, sizeof *t, del_target_cmp);
    uint32_t cur_agent = WEFT_NONE, cur_end = 0;
    for (uint32_t i = 0; i < d->ndels; i++) {
        uint32_t s = t[i].target.seq, e = s + t[i].len;
        if (t[i].target.agent != cur_agent || s >= cur_end) {
            targeted += e - s;
            cur_agent = t[i].target.agent;
            cur_end = e;
        } else if (e > cur_end) {
            targeted += e - cur_end;
            cur_end = e;
        }
    }
    free(t);
    for (uint32_t i = 0; i < d->nruns; i++) {
        if (d->runs[i].slot != NIL && d->runs[i].leaf != NIL && d->runs[i].deleted)
            tomb += d->runs[i].len;
    }
    return targeted == tomb;
}

/* Deletes target inserted chars that are deleted; deleted runs are exactly
 * the targeted chars. */
static int finish_deletes(weft_doc *d)
{
    for (uint32_t i = 0; i < d->ndels; i++) {
        const del_rec *r = &d->dels[i];
        uint32_t ts = doc__slot_find(d, r->target.agent);
        if (ts == NIL || (r->rev && r->target.seq < r->len - 1) ||
            (uint64_t)del__lo(r) + r->len > d->ag[ts].next_seq)
            return WEFT_E_BADLOAD;
        uint32_t cur = del__lo(r), end = cur + r->len;
        while (cur < end) {
            uint32_t h, isdel;
            if (doc__lookup(d, (weft_id){r->target.agent, cur}, &h, &isdel) || isdel ||
                !d->runs[h].deleted)
                return WEFT_E_BADLOAD;
            uint32_t stop = d->runs[h].seq + d->runs[h].len;
            cur = stop < end ? stop : end;
        }
    }
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
    d->loading = 0;
    /* the runs came canonical, but merging keeps memory down if not */
    for (uint32_t lf = d->first_leaf; lf != NIL; lf = d->leaves[lf].next) {
        for (uint32_t i = 0; i < d->leaves[lf].n; i++) {
            while (doc__try_merge_next(d, d->leaves[lf].r[i]))
                ;
        }
    }
    return 0;
}

/* history.c — reading the document: ops since a version, text at a version,
 * authorship, deleters, cursor anchors and UTF-16 conversion. */
#include "doc_int.h"

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

int weft_doc_ops_since(const weft_doc *d, const weft_vv *since, weft_oplist *out)
{
    for (uint32_t si = 0; si < d->nspans; si++) {
        const span_rec *sp = &d->spans[si];
        const agent_slot *a = &d->ag[sp->slot];
        uint32_t have = weft_vv_get(since, a->id);
        uint32_t lo = sp->seq > have ? sp->seq : have, hi = sp->seq + sp->len;
        if (lo >= hi)
            continue;
        idx_pos p;
        uint32_t key, val;
        if (idx__seek(&a->idx, lo, &p))
            return WEFT_E_CORRUPT;
        while (lo < hi && idx__next(&a->idx, &p, &key, &val)) {
            weft_op op;
            memset(&op, 0, sizeof op);
            op.id = (weft_id){a->id, lo};
            if (val & DEL_BIT) {
                const del_rec *r = &d->dels[val & ~DEL_BIT];
                uint32_t stop = min32(r->seq + r->len, hi);
                op.kind = WEFT_OP_DEL;
                op.ol = op.or = WEFT_ID_NONE;
                if (r->rev) { /* one wire op per char: wire deletes run forward */
                    for (; lo + 1 < stop; lo++) {
                        op.id.seq = lo;
                        op.len = 1;
                        op.target = (weft_id){r->target.agent, del__target_of(r, lo - r->seq)};
                        int rc = weft_oplist_push(out, &op);
                        if (rc)
                            return rc;
                    }
                    op.id.seq = lo;
                }
                op.len = stop - lo;
                op.target = (weft_id){r->target.agent, del__target_of(r, lo - r->seq)};
            } else {
                const run *r = &d->runs[val];
                uint32_t stop = min32(r->seq + r->len, hi);
                const char *t = doc__run_text(d, r);
                uint32_t b0 = utf8__offset(t, r->bytes, r->len, lo - r->seq);
                uint32_t b1 = utf8__offset(t, r->bytes, r->len, stop - r->seq);
                op.kind = WEFT_OP_INS;
                op.len = stop - lo;
                op.ol = lo == r->seq ? r->ol : (weft_id){a->id, lo - 1};
                op.or = r->or ;
                op.target = WEFT_ID_NONE;
                op.text = t + b0;
                op.bytes = b1 - b0;
            }
            int rc = weft_oplist_push(out, &op);
            if (rc)
                return rc;
            lo += op.len;
        }
    }
    return 0;
}

typedef struct range {
    uint32_t agent, seq, end;
} range;

static int range_cmp(const void *x, const void *y)
{
    const range *a = x, *b = y;
    if (a->agent != b->agent)
        return a->agent < b->agent ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int buf_put(weft_buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p)
            return WEFT_E_NOMEM;
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

/* Emits chars [from, to) (seq offsets within run r) as text. */
static int put_chars(const weft_doc *d, const run *r, uint32_t from, uint32_t to, weft_buf *out)
{
    const char *t = doc__run_text(d, r);
    uint32_t b0 = utf8__offset(t, r->bytes, r->len, from);
    uint32_t b1 = utf8__offset(t, r->bytes, r->len, to);
    return buf_put(out, t + b0, b1 - b0);
}

int weft_doc_text_at(const weft_doc *d, const weft_vv *at, weft_buf *out)
{
    out->n = 0;
    int rc = buf_put(out, "", 0);
    if (rc)
        return rc;
    range *rs = malloc(((size_t)d->ndels + 1) * sizeof *rs);
    if (!rs)
        return WEFT_E_NOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < d->ndels; i++) {
        const del_rec *r = &d->dels[i];
        uint32_t v = weft_vv_get(at, d->ag[r->slot].id);
        if (v <= r->seq)
            continue;
        uint32_t len = min32(r->len, v - r->seq);
        uint32_t lo = r->rev ? r->target.seq - len + 1 : r->target.seq;
        rs[n++] = (range){r->target.agent, lo, lo + len};
    }
    qsort(rs, n, sizeof *rs, range_cmp);
    size_t m = 0; /* merge into disjoint ranges */
    for (size_t i = 0; i < n; i++) {
        if (m && rs[m - 1].agent == rs[i].agent && rs[i].seq <= rs[m - 1].end) {
            if (rs[i].end > rs[m - 1].end)
                rs[m - 1].end = rs[i].end;
        } else {
            rs[m++] = rs[i];
        }
    }
    for (uint32_t lf = d->first_leaf; lf != NIL && !rc; lf = d->leaves[lf].next) {
        const leaf *L = &d->leaves[lf];
        for (uint32_t i = 0; i < L->n && !rc; i++) {
            const run *r = &d->runs[L->r[i]];
            uint32_t agent = d->ag[r->slot].id;
            uint32_t v = weft_vv_get(at, agent);
            if (v <= r->seq)
                continue;
            uint32_t end = r->seq + min32(r->len, v - r->seq);
            if (!r->deleted) {
                rc = put_chars(d, r, 0, end - r->seq, out);
                continue;
            }
            /* first range that ends after r->seq */
            size_t lo = 0, hi = m;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (rs[mid].agent < agent || (rs[mid].agent == agent && rs[mid].end <= r->seq))
                    lo = mid + 1;
                else
                    hi = mid;
            }
            uint32_t cur = r->seq;
            for (size_t k = lo; k < m && rs[k].agent == agent && rs[k].seq < end && !rc; k++) {
                if (rs[k].seq > cur)
                    rc = put_chars(d, r, cur - r->seq, rs[k].seq - r->seq, out);
                cur = rs[k].end;
            }
            if (!rc && cur < end)
                rc = put_chars(d, r, cur - r->seq, end - r->seq, out);
        }
    }
    free(rs);
    return rc;
}

int weft_doc_id_at(const weft_doc *d, uint32_t pos, weft_id *out)
{
    uint32_t h, off;
    if (pos >= weft_doc_len(d) || tree__find((weft_doc *)d, pos, 0, &h, &off))
        return WEFT_E_RANGE;
    *out = (weft_id){d->ag[d->runs[h].slot].id, d->runs[h].seq + off};
    return 0;
}

int weft_doc_deleter(const weft_doc *d, weft_id target, weft_id *deleter)
{
    for (uint32_t i = 0; i < d->ndels; i++) {
        const del_rec *r = &d->dels[i];
        uint32_t lo = del__lo(r);
        if (r->target.agent == target.agent && target.seq >= lo && target.seq - lo < r->len) {
            uint32_t k = r->rev ? r->target.seq - target.seq : target.seq - lo;
            *deleter = (weft_id){d->ag[r->slot].id, r->seq + k};
            return 0;
        }
    }
    return WEFT_E_NOTFOUND;
}

int weft_doc_anchor(const weft_doc *d, uint32_t pos, int32_t assoc, weft_anchor *out)
{
    uint32_t len = weft_doc_len(d);
    if (pos > len)
        return WEFT_E_RANGE;
    out->assoc = assoc;
    if (assoc >= 0) {
        if (pos == len) {
            out->id = WEFT_ANCHOR_END_ID;
            return 0;
        }
        return weft_doc_id_at(d, pos, &out->id);
    }
    if (pos == 0) {
        out->id = WEFT_ANCHOR_START_ID;
        return 0;
    }
    return weft_doc_id_at(d, pos - 1, &out->id);
}

int weft_doc_anchor_pos(const weft_doc *d, weft_anchor a, uint32_t *pos)
{
    if (a.id.agent == WEFT_NONE) {
        if (a.id.seq > 1)
            return WEFT_E_NOTFOUND;
        *pos = a.id.seq == 0 ? 0 : weft_doc_len(d);
        return 0;
    }
    uint32_t h, isdel;
    if (doc__lookup(d, a.id, &h, &isdel) || isdel)
        return WEFT_E_NOTFOUND;
    const run *r = &d->runs[h];
    uint32_t cp;
    tree__pos(d, h, &cp, NULL);
    if (r->deleted)
        *pos = cp;
    else
        *pos = cp + (a.id.seq - r->seq) + (a.assoc < 0 ? 1 : 0);
    return 0;
}

int weft_doc_pos16(const weft_doc *d, uint32_t pos, uint32_t *pos16)
{
    uint32_t len = weft_doc_len(d);
    if (pos > len)
        return WEFT_E_RANGE;
    if (pos == len) {
        *pos16 = weft_doc_len16(d);
        return 0;
    }
    uint32_t h, off, cp, u16;
    if (tree__find((weft_doc *)d, pos, 0, &h, &off))
        return WEFT_E_CORRUPT;
    const run *r = &d->runs[h];
    tree__pos(d, h, &cp, &u16);
    const char *t = doc__run_text(d, r);
    *pos16 =
        u16 + (r->bytes == r->len ? off : utf8__u16(t, utf8__offset(t, r->bytes, r->len, off)));
    return 0;
}

int weft_doc_pos_from16(const weft_doc *d, uint32_t pos16, uint32_t *pos)
{
    uint32_t len16 = weft_doc_len16(d);
    if (pos16 > len16)
        return WEFT_E_RANGE;
    if (pos16 == len16) {
        *pos = weft_doc_len(d);
        return 0;
    }
    uint32_t h, off16, cp, u16;
    if (tree__find((weft_doc *)d, pos16, 1, &h, &off16))
        return WEFT_E_CORRUPT;
    const run *r = &d->runs[h];
    tree__pos(d, h, &cp, &u16);
    int mid = 0;
    uint32_t k =
        r->bytes == r->len ? off16 : utf8__cp_of_u16(doc__run_text(d, r), r->bytes, off16, &mid);
    if (mid)
        return WEFT_E_RANGE;
    *pos = cp + k;
    return 0;
}

/* integrate.c — remote ops: validation, idempotence, causal parking and the
 * FugueMax placement of inserts (crdt-brief §1.3, §5.2).
 *
 * Placement scans only the runs strictly between the insert's origins
 * (the "region"). Every run of the region is stamped first; then, walking
 * left to right, a run o with the same origin-left as ours is a sibling:
 * same origin-right too => lower (agent, seq) goes first; o's origin-right
 * inside the region (left of ours) => FugueMax puts us before o, but we
 * keep scanning tentatively past o and its descendants (runs whose
 * origin-left is stamped) until a decision; o's origin-right right of ours
 * => we go after o. A run whose origin-left lies before ours ends the scan.
 * Only a run's first char can decide: its later chars hang off the run
 * itself, so a run is one step. */
#include "doc_int.h"

static int validate(const weft_op *op, uint32_t *u16)
{
    if (op->id.agent == WEFT_NONE || op->len == 0)
        return WEFT_E_BADOP;
    if ((uint64_t)op->id.seq + op->len >= UINT32_MAX)
        return WEFT_E_OVERFLOW;
    if (op->kind == WEFT_OP_INS) {
        uint32_t cps;
        if (!op->text && op->bytes)
            return WEFT_E_BADOP;
        int rc = weft_utf8_count(op->text, op->bytes, &cps, u16);
        if (rc)
            return rc;
        if (cps != op->len)
            return WEFT_E_BADOP;
        if ((op->ol.agent != WEFT_NONE && op->ol.agent == op->id.agent &&
             op->ol.seq >= op->id.seq) ||
            (op->or.agent != WEFT_NONE && op->or.agent == op->id.agent && op->or.seq >= op->id.seq))
            return WEFT_E_BADOP;
        return 0;
    }
    if (op->kind != WEFT_OP_DEL)
        return WEFT_E_BADOP;
    if (op->target.agent == WEFT_NONE || (uint64_t)op->target.seq + op->len >= UINT32_MAX)
        return WEFT_E_BADOP;
    if (op->target.agent == op->id.agent && op->target.seq + op->len > op->id.seq)
        return WEFT_E_BADOP;
    return 0;
}

/* Checks the first k seqs of op against what the document holds. */
static bool same_as_known(const weft_doc *d, const weft_op *op, uint32_t k)
{
    uint32_t s = doc__slot_find(d, op->id.agent);
    idx_pos p;
    if (s == NIL || idx__seek(&d->ag[s].idx, op->id.seq, &p))
        return false;
    uint32_t cur = op->id.seq, end = op->id.seq + k;
    uint32_t tcp = 0, tb = 0; /* code points / bytes of op text consumed */
    uint32_t key, val;
    while (cur < end && idx__next(&d->ag[s].idx, &p, &key, &val)) {
        if (op->kind == WEFT_OP_DEL) {
            if (!(val & DEL_BIT))
                return false;
            const del_rec *r = &d->dels[val & ~DEL_BIT];
            uint32_t stop = r->seq + r->len < end ? r->seq + r->len : end;
            if (cur < r->seq || r->target.agent != op->target.agent)
                return false;
            /* a forward record matches everywhere if it matches once */
            for (; cur < stop; cur = r->rev ? cur + 1 : stop) {
                if (del__target_of(r, cur - r->seq) != op->target.seq + (cur - op->id.seq))
                    return false;
            }
            continue;
        }
        if (val & DEL_BIT)
            return false;
        const run *r = &d->runs[val];
        if (cur < r->seq)
            return false;
        uint32_t stop = r->seq + r->len < end ? r->seq + r->len : end;
        weft_id ol = cur == r->seq ? r->ol : (weft_id){op->id.agent, cur - 1};
        weft_id want = cur == op->id.seq ? op->ol : (weft_id){op->id.agent, cur - 1};
        if (!weft_id_eq(ol, want) || !weft_id_eq(r->or, op->or))
            return false;
        const char *t = doc__run_text(d, r);
        uint32_t b0 = utf8__offset(t, r->bytes, r->len, cur - r->seq);
        uint32_t b1 = utf8__offset(t, r->bytes, r->len, stop - r->seq);
        uint32_t ob = utf8__offset(op->text + tb, op->bytes - tb, op->len - tcp, stop - cur);
        if (ob != b1 - b0 || memcmp(t + b0, op->text + tb, ob) != 0)
            return false;
        tb += ob;
        tcp += stop - cur;
        cur = stop;
    }
    return cur >= end;
}

/* Finds an origin's run: 0 (h = its run, NIL for START/END), WEFT_PARKED
 * when it is not known yet, WEFT_E_BADOP when it names a delete. */
static int origin_find(const weft_doc *d, weft_id id, uint32_t *h)
{
    uint32_t isdel;
    *h = NIL;
    if (id.agent == WEFT_NONE)
        return 0;
    if (doc__lookup(d, id, h, &isdel))
        return WEFT_PARKED;
    return isdel ? WEFT_E_BADOP : 0;
}

static bool stamped(const weft_doc *d, weft_id id, uint32_t stamp)
{
    uint32_t h, isdel;
    if (id.agent == WEFT_NONE || doc__lookup(d, id, &h, &isdel) || isdel)
        return false;
    return d->runs[h].stamp == stamp;
}

static bool id_less(weft_id a, weft_id b)
{
    return a.agent < b.agent || (a.agent == b.agent && a.seq < b.seq);
}

/* Finds where the region scan puts the new run: the run to insert after
 * (NIL = document start). */
static int place(weft_doc *d, const weft_op *op, uint32_t L, uint32_t R, uint32_t *after)
{
    uint32_t first = L == NIL ? tree__first(d) : tree__next(d, L);
    if (first == R) {
        *after = L;
        return 0;
    }
    uint32_t n = 0;
    for (uint32_t h = first; h != R; h = tree__next(d, h)) {
        if (h == NIL)
            return WEFT_E_BADOP; /* origin-right is not after origin-left */
        if (doc__grow((void **)&d->scratch, &d->scratch_cap, n + 1, sizeof(uint32_t)))
            return WEFT_E_NOMEM;
        d->scratch[n++] = h;
    }
    uint32_t stamp = ++d->stamp;
    if (stamp == 0) {
        for (uint32_t i = 0; i < d->nruns; i++)
            d->runs[i].stamp = 0;
        stamp = d->stamp = 1;
    }
    for (uint32_t i = 0; i < n; i++)
        d->runs[d->scratch[i]].stamp = stamp;
    uint32_t slot = 0;
    bool scanning = false;
    for (uint32_t i = 0; i < n; i++) {
        const run *o = &d->runs[d->scratch[i]];
        weft_id oid = {d->ag[o->slot].id, o->seq};
        if (weft_id_eq(o->ol, op->ol)) {
            if (weft_id_eq(o->or, op->or)) {
                if (id_less(op->id, oid))
                    break;
                scanning = false;
            } else if (stamped(d, o->or, stamp)) {
                scanning = true;
            } else {
                scanning = false;
            }
        } else if (!stamped(d, o->ol, stamp)) {
            break;
        }
        if (!scanning)
            slot = i + 1;
    }
    *after = slot == 0 ? L : d->scratch[slot - 1];
    return 0;
}

/* Places op; L and R are the runs holding its origins (NIL: START/END). */
static int integrate_ins(weft_doc *d, const weft_op *op, uint32_t L, uint32_t R, uint32_t u16,
                         weft_patchlist *patches)
{
    uint32_t slot;
    int rc = doc__slot_get(d, op->id.agent, &slot);
    if (rc)
        return rc;
    if (L != NIL && L == R && op->or.seq <= op->ol.seq)
        return WEFT_E_BADOP; /* within one run the walk in place() cannot see it */
    if (L != NIL) {
        uint32_t k = op->ol.seq - d->runs[L].seq, right;
        if (k + 1 < d->runs[L].len) {
            if ((rc = doc__split(d, L, k + 1, &right)))
                return rc;
            if (R == L)
                R = right;
        }
    }
    if (R != NIL) {
        uint32_t k = op->or.seq - d->runs[R].seq;
        if (k > 0 && (rc = doc__split(d, R, k, &R)))
            return rc;
    }
    uint32_t after;
    if ((rc = place(d, op, L, R, &after)))
        return rc;
    agent_slot *a = &d->ag[slot];
    run *x = after == NIL ? NULL : &d->runs[after];
    uint32_t target;
    if (x && x->slot == slot && x->seq + x->len == op->id.seq && !x->deleted &&
        op->ol.agent == a->id && op->ol.seq == op->id.seq - 1 && weft_id_eq(x->or, op->or) &&
        x->text_off + x->bytes == a->text_n) {
        uint32_t off;
        if ((rc = doc__arena_append(d, slot, op->text, op->bytes, &off)))
            return rc;
        x = &d->runs[after];
        x->len += op->len;
        x->bytes += op->bytes;
        x->u16 += u16;
        tree__adjust(d, after, (int32_t)op->len, (int32_t)u16);
        target = after;
    } else {
        uint32_t off;
        if ((rc = doc__arena_append(d, slot, op->text, op->bytes, &off)))
            return rc;
        uint32_t nh = doc__run_new(d);
        if (nh == NIL)
            return WEFT_E_NOMEM;
        run *n = &d->runs[nh];
        n->slot = slot;
        n->seq = op->id.seq;
        n->len = op->len;
        n->ol = op->ol;
        n->or = op->or ;
        n->text_off = off;
        n->bytes = op->bytes;
        n->u16 = u16;
        if ((rc = tree__insert_after(d, after, nh)) ||
            (rc = idx__insert(&d->ag[slot].idx, op->id.seq, nh)))
            return rc;
        target = nh;
    }
    if (patches) {
        uint32_t cp, p16;
        tree__pos(d, target, &cp, &p16);
        const run *t = &d->runs[target];
        uint32_t k = op->id.seq - t->seq;
        const char *tx = doc__run_text(d, t);
        uint32_t b = utf8__offset(tx, t->bytes, t->len, k);
        uint32_t k16 = t->bytes == t->len ? k : utf8__u16(tx, b);
        if ((rc = patch__push(patches, cp + k, p16 + k16, 0, 0, op->text, op->bytes, op->len, u16)))
            return rc;
    }
    d->ag[slot].next_seq = op->id.seq + op->len;
    d->ag[slot].tail = target;
    return doc__span_record(d, slot, op->id.seq, op->len);
}

/* Remote typing: op continues its agent's last run, at that run's end, and
 * the run is followed directly by op's origin-right, so the region is empty
 * and the run just grows. 0 applied, 1 not this case, <0 error. */
static int extend_tail(weft_doc *d, const weft_op *op, uint32_t u16, weft_patchlist *patches)
{
    uint32_t s = doc__slot_find(d, op->id.agent);
    if (s == NIL || d->ag[s].tail >= d->nruns)
        return 1;
    agent_slot *a = &d->ag[s];
    uint32_t h = a->tail;
    run *r = &d->runs[h];
    if (r->slot != s || r->seq + r->len != op->id.seq || r->deleted || op->ol.agent != a->id ||
        op->ol.seq != op->id.seq - 1 || !weft_id_eq(r->or, op->or) ||
        r->text_off + r->bytes != a->text_n)
        return 1;
    uint32_t nx = tree__next(d, h);
    weft_id first =
        nx == NIL ? WEFT_ID_NONE : (weft_id){d->ag[d->runs[nx].slot].id, d->runs[nx].seq};
    if (!weft_id_eq(first, op->or))
        return 1;
    uint32_t off;
    int rc = doc__arena_append(d, s, op->text, op->bytes, &off);
    if (rc)
        return rc;
    r = &d->runs[h];
    r->len += op->len;
    r->bytes += op->bytes;
    r->u16 += u16;
    tree__adjust(d, h, (int32_t)op->len, (int32_t)u16);
    if (patches) {
        uint32_t cp, p16;
        tree__pos(d, h, &cp, &p16);
        if ((rc = patch__push(patches, cp + r->len - op->len, p16 + r->u16 - u16, 0, 0, op->text,
                              op->bytes, op->len, u16)))
            return rc;
    }
    a->next_seq = op->id.seq + op->len;
    return doc__span_record(d, s, op->id.seq, op->len);
}

static int apply_del(weft_doc *d, const weft_op *op, weft_patchlist *patches)
{
    uint32_t ts = doc__slot_find(d, op->target.agent);
    uint32_t cur = op->target.seq, end = cur + op->len;
    /* every target must be an inserted char: check before changing anything */
    if (op->len == 1) {
        uint32_t h, isdel;
        if (doc__lookup(d, op->target, &h, &isdel) || isdel)
            return WEFT_E_BADOP;
    } else {
        idx_pos p;
        uint32_t key, val;
        if (idx__seek(&d->ag[ts].idx, cur, &p))
            return WEFT_E_BADOP;
        while (idx__next(&d->ag[ts].idx, &p, &key, &val) && key < end) {
            if (val & DEL_BIT)
                return WEFT_E_BADOP;
        }
    }
    uint32_t slot;
    int rc = doc__slot_get(d, op->id.agent, &slot);
    if (rc)
        return rc;
    while (cur < end) {
        uint32_t h, isdel;
        doc__lookup(d, (weft_id){op->target.agent, cur}, &h, &isdel);
        run *r = &d->runs[h];
        if (r->deleted) {
            uint32_t stop = r->seq + r->len;
            cur = stop < end ? stop : end;
            continue;
        }
        uint32_t off = cur - r->seq;
        uint32_t n = r->len - off < end - cur ? r->len - off : end - cur;
        if ((rc = doc__delete_in_run(d, h, off, n, patches)))
            return rc;
        cur += n;
    }
    if ((rc = doc__del_record(d, slot, op->id.seq, op->target, op->len)))
        return rc;
    d->ag[slot].next_seq = op->id.seq + op->len;
    return doc__span_record(d, slot, op->id.seq, op->len);
}

/* Applies one op or says why not; never parks by itself. */
static int apply_one(weft_doc *d, const weft_op *in, weft_patchlist *patches)
{
    uint32_t u16 = 0;
    int rc = validate(in, &u16);
    if (rc)
        return rc;
    weft_op op = *in;
    uint32_t vv = doc__vv(d, op.id.agent);
    if (op.id.seq > vv)
        return WEFT_PARKED;
    if (op.id.seq < vv) {
        uint32_t k = vv - op.id.seq;
        if (k > op.len)
            k = op.len;
        if (!same_as_known(d, &op, k))
            return WEFT_E_CONFLICT;
        if (k == op.len)
            return WEFT_DUPLICATE;
        /* trim the known prefix */
        if (op.kind == WEFT_OP_INS) {
            uint32_t b = utf8__offset(op.text, op.bytes, op.len, k);
            op.text += b;
            op.bytes -= b;
            op.ol = (weft_id){op.id.agent, op.id.seq + k - 1};
        } else {
            op.target.seq += k;
        }
        op.id.seq += k;
        op.len -= k;
        if (validate(&op, &u16))
            return WEFT_E_BADOP;
    }
    if (op.kind == WEFT_OP_INS) {
        if ((rc = extend_tail(d, &op, u16, patches)) <= 0)
            return rc;
        uint32_t L, R;
        int a = origin_find(d, op.ol, &L), b = origin_find(d, op.or, &R);
        if (a < 0 || b < 0)
            return WEFT_E_BADOP;
        if (a || b)
            return WEFT_PARKED;
        return integrate_ins(d, &op, L, R, u16, patches);
    }
    if ((uint64_t)op.target.seq + op.len > doc__vv(d, op.target.agent))
        return WEFT_PARKED;
    return apply_del(d, &op, patches);
}

static int park(weft_doc *d, const weft_op *op)
{
    for (uint32_t i = 0; i < d->nparked; i++) {
        const weft_op *p = &d->parked[i].op;
        if (p->id.agent != op->id.agent || p->id.seq >= op->id.seq + op->len ||
            op->id.seq >= p->id.seq + p->len)
            continue; /* no shared IDs */
        bool same = p->kind == op->kind && p->id.seq == op->id.seq && p->len == op->len &&
                    (op->kind == WEFT_OP_INS
                         ? weft_id_eq(p->ol, op->ol) && weft_id_eq(p->or, op->or) &&
                               p->bytes == op->bytes && memcmp(p->text, op->text, op->bytes) == 0
                         : weft_id_eq(p->target, op->target));
        if (same)
            return WEFT_PARKED; /* re-delivered while waiting: keep one copy */
        if (p->id.seq == op->id.seq && p->len == op->len)
            return WEFT_E_CONFLICT; /* the same IDs with other content */
    }
    if (doc__grow((void **)&d->parked, &d->parked_cap, d->nparked + 1, sizeof(parked_op)))
        return WEFT_E_NOMEM;
    parked_op *p = &d->parked[d->nparked];
    p->op = *op;
    p->text = NULL;
    if (op->kind == WEFT_OP_INS && op->bytes) {
        p->text = malloc(op->bytes);
        if (!p->text)
            return WEFT_E_NOMEM;
        memcpy(p->text, op->text, op->bytes);
    }
    p->op.text = p->text;
    d->nparked++;
    d->parked_bytes += op->bytes + sizeof(parked_op);
    return 0;
}

static void unpark_at(weft_doc *d, uint32_t i)
{
    d->parked_bytes -= d->parked[i].op.bytes + sizeof(parked_op);
    free(d->parked[i].text);
    d->parked[i] = d->parked[--d->nparked];
}

/* Retries parked ops until none of them makes progress. Parked ops that
 * turn out invalid are dropped. */
static int drain(weft_doc *d, weft_patchlist *patches)
{
    bool progress = true;
    while (progress && d->nparked) {
        progress = false;
        for (uint32_t i = 0; i < d->nparked;) {
            int rc = apply_one(d, &d->parked[i].op, patches);
            if (rc == WEFT_E_NOMEM)
                return rc;
            if (rc == WEFT_PARKED) {
                i++;
                continue;
            }
            unpark_at(d, i);
            progress = true;
        }
    }
    return 0;
}

int integrate__apply(weft_doc *d, const weft_op *op, weft_patchlist *patches)
{
    int rc = apply_one(d, op, patches);
    if (rc == WEFT_PARKED) {
        int prc = park(d, op);
        return prc < 0 ? prc : WEFT_PARKED;
    }
    if (rc == WEFT_APPLIED && d->nparked) {
        int drc = drain(d, patches);
        if (drc)
            return drc;
    }
    return rc;
}

int weft_doc_apply(weft_doc *d, const weft_op *op, weft_patchlist *patches)
{
    d->typing = NIL; /* remote ops may grow my own runs too */
    return integrate__apply(d, op, patches);
}

/* local.c — local edits under the pinned generation rule (crdt-brief §1.4):
 * origin-left is the visible char before the cursor (or START), origin-right
 * the very next item after it, tombstones included (or END). The region
 * between the two is empty by construction, so the new run lands exactly at
 * the cursor without a scan. */
#include "doc_int.h"

static weft_id first_id(const weft_doc *d, uint32_t h)
{
    if (h == NIL)
        return WEFT_ID_NONE;
    return (weft_id){d->ag[d->runs[h].slot].id, d->runs[h].seq};
}

/* Typing one ASCII char where my last insert ended (d->typing): the run
 * grows by one char and the op continues the last one. 0 when done, 1 when
 * the general path must do it (no room in the arena, say). */
static int type_char(weft_doc *d, const char *utf8, weft_oplist *out, int *rc)
{
    agent_slot *me = &d->ag[d->me];
    run *r = &d->runs[d->typing];
    uint32_t seq = me->next_seq;
    if (r->slot != d->me || r->seq + r->len != seq || r->deleted ||
        r->text_off + r->bytes != me->text_n || me->text_n == me->text_cap ||
        seq + 1 >= UINT32_MAX)
        return 1;
    me->text[me->text_n++] = *utf8;
    r->len++;
    r->bytes++;
    r->u16++;
    const leaf *L = &d->leaves[r->leaf];
    uint32_t i = d->typing_idx; /* a guess: merges may have moved it */
    if (i >= L->n || L->r[i] != d->typing) {
        d->hint = i;
        d->typing_idx = i = tree__leaf_index(d, d->typing);
    }
    tree__adjust_at(d, d->typing, i, 1, 1);
    d->typing_cp++;
    me->next_seq = seq + 1;
    *rc = doc__span_record(d, d->me, seq, 1);
    if (!*rc && out)
        *rc = oplist__push_char(out, me->id, seq, r->or, utf8);
    return 0;
}

int weft_doc_insert(weft_doc *d, uint32_t pos, const char *utf8, size_t bytes, weft_oplist *out)
{
    if (d->me == NIL)
        return WEFT_E_READONLY;
    int rc = 0;
    if (bytes == 1 && (unsigned char)utf8[0] < 0x80 && d->typing != NIL && pos == d->typing_cp &&
        pos <= d->len_cp && type_char(d, utf8, out, &rc) == 0)
        return rc;
    if (bytes > UINT32_MAX / 4)
        return WEFT_E_RANGE;
    uint32_t cps = 1, u16 = 1;
    if (bytes != 1 || (unsigned char)utf8[0] >= 0x80) /* one ASCII char: typing */
        rc = weft_utf8_count(utf8, bytes, &cps, &u16);
    if (rc)
        return rc;
    if (pos > d->len_cp)
        return WEFT_E_RANGE;
    if (cps == 0)
        return 0;
    agent_slot *me = &d->ag[d->me];
    if ((uint64_t)me->next_seq + cps >= UINT32_MAX)
        return WEFT_E_OVERFLOW;
    uint32_t seq = me->next_seq;
    weft_id ol = WEFT_ID_NONE, or = WEFT_ID_NONE;
    uint32_t after = NIL, typed;
    if (d->typing != NIL && pos == d->typing_cp) {
        /* typing on: my last insert ended run `typed` here and nothing has
         * changed since, so the item after it is still its origin-right */
        typed = d->typing;
        run *r = &d->runs[typed];
        if (r->slot == d->me && r->seq + r->len == seq && !r->deleted &&
            r->text_off + r->bytes == me->text_n) {
            uint32_t off2;
            if ((rc = doc__arena_append(d, d->me, utf8, (uint32_t)bytes, &off2)))
                return rc;
            r = &d->runs[typed];
            ol = (weft_id){me->id, seq - 1};
            or = r->or ;
            r->len += cps;
            r->bytes += (uint32_t)bytes;
            r->u16 += u16;
            d->hint = d->typing_idx; /* a guess: merges may have moved it */
            tree__adjust(d, typed, (int32_t)cps, (int32_t)u16);
            goto done;
        }
    }
    if (pos > 0) {
        uint32_t h, off;
        rc = tree__find(d, pos - 1, 0, &h, &off);
        if (rc)
            return WEFT_E_CORRUPT;
        run *r = &d->runs[h];
        ol = (weft_id){d->ag[r->slot].id, r->seq + off};
        if (off + 1 < r->len) {
            uint32_t right;
            or = (weft_id){ol.agent, ol.seq + 1};
            rc = doc__split(d, h, off + 1, &right);
            if (rc)
                return rc;
        } else {
            or = first_id(d, tree__next(d, h));
            if (r->slot == d->me && r->seq + r->len == seq && !r->deleted &&
                weft_id_eq(r->or, or) && r->text_off + r->bytes == me->text_n) {
                uint32_t off2;
                rc = doc__arena_append(d, d->me, utf8, (uint32_t)bytes, &off2);
                if (rc)
                    return rc;
                r = &d->runs[h];
                r->len += cps;
                r->bytes += (uint32_t)bytes;
                r->u16 += u16;
                tree__adjust(d, h, (int32_t)cps, (int32_t)u16);
                typed = h;
                goto done;
            }
        }
        after = h;
    } else {
        or = first_id(d, tree__first(d));
    }
    {
        uint32_t off2;
        rc = doc__arena_append(d, d->me, utf8, (uint32_t)bytes, &off2);
        if (rc)
            return rc;
        uint32_t nh = doc__run_new(d);
        if (nh == NIL)
            return WEFT_E_NOMEM;
        run *n = &d->runs[nh];
        n->slot = d->me;
        n->seq = seq;
        n->len = cps;
        n->ol = ol;
        n->or = or ;
        n->text_off = off2;
        n->bytes = (uint32_t)bytes;
        n->u16 = u16;
        rc = tree__insert_after(d, after, nh);
        if (!rc)
            rc = idx__insert(&d->ag[d->me].idx, seq, nh);
        if (rc)
            return rc;
        typed = nh;
    }
done:
    d->typing = typed;
    d->typing_cp = pos + cps;
    d->typing_idx = d->hint; /* both paths above left the hint on `typed` */
    me = &d->ag[d->me];
    me->next_seq = seq + cps;
    rc = doc__span_record(d, d->me, seq, cps);
    if (rc)
        return rc;
    if (out) {
        weft_op op = {WEFT_OP_INS, {me->id, seq}, cps, ol, or, WEFT_ID_NONE, utf8, (uint32_t)bytes};
        return weft_oplist_push(out, &op);
    }
    return 0;
}

/* Deletes the one char at pos (backspace, the delete key): weft_doc_delete's
 * loop for len 1, without the loop. */
static int delete_char(weft_doc *d, uint32_t pos, weft_oplist *out)
{
    uint32_t h, off;
    if (tree__find(d, pos, 0, &h, &off))
        return WEFT_E_CORRUPT;
    const run *r = &d->runs[h];
    weft_id target = {d->ag[r->slot].id, r->seq + off};
    int rc = doc__delete_in_run(d, h, off, 1, NULL);
    if (rc)
        return rc;
    agent_slot *me = &d->ag[d->me];
    uint32_t seq = me->next_seq;
    if ((rc = doc__del_record(d, d->me, seq, target, 1)))
        return rc;
    me->next_seq = seq + 1;
    if ((rc = doc__span_record(d, d->me, seq, 1)))
        return rc;
    return out ? oplist__push_del(out, me->id, seq, target) : 0;
}

int weft_doc_delete(weft_doc *d, uint32_t pos, uint32_t len, weft_oplist *out)
{
    if (d->me == NIL)
        return WEFT_E_READONLY;
    d->typing = NIL;
    uint32_t total = d->len_cp;
    if (pos > total || len > total - pos)
        return WEFT_E_RANGE;
    if ((uint64_t)d->ag[d->me].next_seq + len >= UINT32_MAX)
        return WEFT_E_OVERFLOW;
    if (len == 1)
        return delete_char(d, pos, out);
    while (len > 0) {
        uint32_t h, off;
        int rc = tree__find(d, pos, 0, &h, &off);
        if (rc)
            return WEFT_E_CORRUPT;
        run *r = &d->runs[h];
        uint32_t n = r->len - off < len ? r->len - off : len;
        weft_id target = {d->ag[r->slot].id, r->seq + off};
        rc = doc__delete_in_run(d, h, off, n, NULL);
        agent_slot *me = &d->ag[d->me];
        uint32_t seq = me->next_seq;
        if (!rc)
            rc = doc__del_record(d, d->me, seq, target, n);
        if (rc)
            return rc;
        me->next_seq = seq + n;
        rc = doc__span_record(d, d->me, seq, n);
        if (!rc && out) {
            weft_op op = {WEFT_OP_DEL,  {me->id, seq}, n,    WEFT_ID_NONE,
                          WEFT_ID_NONE, target,        NULL, 0};
            rc = weft_oplist_push(out, &op);
        }
        if (rc)
            return rc;
        len -= n;
    }
    return 0;
}

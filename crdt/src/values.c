/* values.c — the small caller-owned value types: lists, buffers, vectors. */
#include "doc_int.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return WEFT_E_NOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

/* Copies text into a list-owned buffer, rebasing earlier pointers if the
 * buffer moves. */
static int text_copy(char **buf, size_t *n, size_t *cap, const char *s, uint32_t bytes,
                     const char **out, void *items, size_t nitems, size_t stride, size_t textoff)
{
    if (*n + bytes + 1 > *cap) {
        /* move by hand (not realloc) so the old pointers can be rebased */
        size_t nc = *cap ? *cap * 2 : 256;
        while (nc < *n + bytes + 1)
            nc *= 2;
        char *nb = malloc(nc);
        if (!nb)
            return WEFT_E_NOMEM;
        if (*n)
            memcpy(nb, *buf, *n);
        for (size_t i = 0; i < nitems; i++) {
            const char **tp = (const char **)((char *)items + i * stride + textoff);
            if (*tp)
                *tp = nb + (*tp - *buf);
        }
        free(*buf);
        *buf = nb;
        *cap = nc;
    }
    if (bytes)
        memcpy(*buf + *n, s, bytes);
    *out = *buf + *n;
    *n += bytes;
    return 0;
}

void weft_oplist_init(weft_oplist *l)
{
    memset(l, 0, sizeof *l);
}

void weft_oplist_cleanup(weft_oplist *l)
{
    free(l->ops);
    free(l->text);
    memset(l, 0, sizeof *l);
}

/* Whether op b (with its text at `text`) continues op a, so they can be one. */
static bool op_follows(const weft_op *a, const weft_op *b, const char *text)
{
    if (a->kind != b->kind || a->id.agent != b->id.agent || a->id.seq + a->len != b->id.seq)
        return false;
    if (a->kind == WEFT_OP_DEL)
        return a->target.agent == b->target.agent && a->target.seq + a->len == b->target.seq;
    return b->ol.agent == a->id.agent && b->ol.seq == b->id.seq - 1 && weft_id_eq(a->or, b->or) &&
           a->text + a->bytes == text;
}

int weft_oplist_push(weft_oplist *l, const weft_op *op)
{
    uint32_t bytes = op->kind == WEFT_OP_INS ? op->bytes : 0;
    const char *text = NULL;
    if (bytes && l->text_n + bytes < l->text_cap) { /* room: copy in place */
        char *dst = l->text + l->text_n;
        if (bytes <= 8) /* typing: no call */
            for (uint32_t i = 0; i < bytes; i++)
                dst[i] = op->text[i];
        else
            memcpy(dst, op->text, bytes);
        l->text_n += bytes;
        text = dst;
    } else if (bytes) {
        int rc = text_copy(&l->text, &l->text_n, &l->text_cap, op->text, bytes, &text, l->ops, l->n,
                           sizeof(weft_op), offsetof(weft_op, text));
        if (rc)
            return rc;
    }
    if (l->n && op_follows(&l->ops[l->n - 1], op, text)) {
        weft_op *last = &l->ops[l->n - 1];
        last->len += op->len;
        last->bytes += bytes;
        return 0;
    }
    if (l->n == l->cap) {
        int rc = grow((void **)&l->ops, &l->cap, l->n + 1, sizeof(weft_op));
        if (rc)
            return rc;
    }
    weft_op *o = &l->ops[l->n++];
    *o = *op;
    o->text = text;
    o->bytes = bytes;
    return 0;
}

int oplist__push_char(weft_oplist *l, uint32_t agent, uint32_t seq, weft_id or, const char *c)
{
    if (l->text_n + 1 >= l->text_cap || l->n == l->cap) { /* no room: the general way */
        weft_op op = {WEFT_OP_INS, {agent, seq}, 1, {agent, seq - 1}, or, WEFT_ID_NONE, c, 1};
        return weft_oplist_push(l, &op);
    }
    char *dst = l->text + l->text_n++;
    *dst = *c;
    if (l->n) { /* op_follows: the origin-left continues by construction */
        weft_op *a = &l->ops[l->n - 1];
        if (a->kind == WEFT_OP_INS && a->id.agent == agent && a->id.seq + a->len == seq &&
            weft_id_eq(a->or, or) && a->text + a->bytes == dst) {
            a->len++;
            a->bytes++;
            return 0;
        }
    }
    weft_op *o = &l->ops[l->n++];
    o->kind = WEFT_OP_INS;
    o->id = (weft_id){agent, seq};
    o->len = 1;
    o->ol = (weft_id){agent, seq - 1};
    o->or = or ;
    o->target = WEFT_ID_NONE;
    o->text = dst;
    o->bytes = 1;
    return 0;
}

int oplist__push_del(weft_oplist *l, uint32_t agent, uint32_t seq, weft_id target)
{
    if (l->n) { /* op_follows for deletes */
        weft_op *a = &l->ops[l->n - 1];
        if (a->kind == WEFT_OP_DEL && a->id.agent == agent && a->id.seq + a->len == seq &&
            a->target.agent == target.agent && a->target.seq + a->len == target.seq) {
            a->len++;
            return 0;
        }
    }
    if (l->n == l->cap) {
        int rc = grow((void **)&l->ops, &l->cap, l->n + 1, sizeof(weft_op));
        if (rc)
            return rc;
    }
    l->ops[l->n++] = (weft_op){WEFT_OP_DEL, {agent, seq}, 1, WEFT_ID_NONE, WEFT_ID_NONE, target,
                               NULL, 0};
    return 0;
}

void weft_patchlist_init(weft_patchlist *l)
{
    memset(l, 0, sizeof *l);
}

void weft_patchlist_cleanup(weft_patchlist *l)
{
    free(l->p);
    free(l->text);
    memset(l, 0, sizeof *l);
}

int patch__push(weft_patchlist *l, uint32_t pos, uint32_t pos16, uint32_t del, uint32_t del16,
                const char *text, uint32_t bytes, uint32_t ins, uint32_t ins16)
{
    weft_patch p = {pos, del, ins, pos16, del16, ins16, NULL, bytes};
    int rc = text_copy(&l->text, &l->text_n, &l->text_cap, text, bytes, &p.text, l->p, l->n,
                       sizeof(weft_patch), offsetof(weft_patch, text));
    if (rc)
        return rc;
    if (l->n > 0) {
        weft_patch *q = &l->p[l->n - 1];
        /* typing: an insert right after the previous insert */
        if (q->del == 0 && del == 0 && pos == q->pos + q->ins && q->text + q->bytes == p.text) {
            q->ins += ins;
            q->ins16 += ins16;
            q->bytes += bytes;
            return 0;
        }
        /* deleting forward at the same place, or backspacing */
        if (q->ins == 0 && ins == 0 && (pos == q->pos || pos + del == q->pos)) {
            q->pos = pos < q->pos ? pos : q->pos;
            q->pos16 = pos16 < q->pos16 ? pos16 : q->pos16;
            q->del += del;
            q->del16 += del16;
            return 0;
        }
    }
    int rc2 = grow((void **)&l->p, &l->cap, l->n + 1, sizeof(weft_patch));
    if (rc2)
        return rc2;
    l->p[l->n++] = p;
    return 0;
}

void weft_buf_init(weft_buf *b)
{
    memset(b, 0, sizeof *b);
}
void weft_buf_cleanup(weft_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void weft_vv_init(weft_vv *vv)
{
    memset(vv, 0, sizeof *vv);
}
void weft_vv_cleanup(weft_vv *vv)
{
    free(vv->v);
    memset(vv, 0, sizeof *vv);
}

static size_t vv_lower(const weft_vv *vv, uint32_t agent)
{
    size_t lo = 0, hi = vv->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (vv->v[mid].agent < agent)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t weft_vv_get(const weft_vv *vv, uint32_t agent)
{
    if (!vv)
        return 0;
    size_t i = vv_lower(vv, agent);
    return i < vv->n && vv->v[i].agent == agent ? vv->v[i].next_seq : 0;
}

int weft_vv_set(weft_vv *vv, uint32_t agent, uint32_t next_seq)
{
    if (agent == WEFT_NONE)
        return WEFT_E_AGENT;
    size_t i = vv_lower(vv, agent);
    if (i < vv->n && vv->v[i].agent == agent) {
        if (next_seq) {
            vv->v[i].next_seq = next_seq;
        } else {
            memmove(&vv->v[i], &vv->v[i + 1], (vv->n - i - 1) * sizeof vv->v[0]);
            vv->n--;
        }
        return 0;
    }
    if (!next_seq)
        return 0;
    int rc = grow((void **)&vv->v, &vv->cap, vv->n + 1, sizeof vv->v[0]);
    if (rc)
        return rc;
    memmove(&vv->v[i + 1], &vv->v[i], (vv->n - i) * sizeof vv->v[0]);
    vv->v[i] = (weft_vv_entry){agent, next_seq};
    vv->n++;
    return 0;
}

bool weft_vv_leq(const weft_vv *a, const weft_vv *b)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].next_seq > weft_vv_get(b, a->v[i].agent))
            return false;
    }
    return true;
}

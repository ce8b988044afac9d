/* encode.c — weft_proto_msg to frames. Every check the decoder makes is
 * made here too, so whatever we send, we would also accept. */
#include <string.h>

#include "proto_int.h"

static void fail(proto__writer *w, int err)
{
    if (!w->err)
        w->err = err;
}

static void w_text(proto__writer *w, weft_proto_str s)
{
    if (s.len && !s.p)
        fail(w, WEFT_PROTO_E_VALUE);
    else if (weft_utf8_count(s.p, s.len, NULL, NULL) != 0)
        fail(w, WEFT_PROTO_E_UTF8);
    else
        proto__w_str(w, s.p, s.len);
}

static void w_agent(proto__writer *w, uint32_t agent)
{
    if (agent == WEFT_NONE)
        fail(w, WEFT_PROTO_E_VALUE);
    proto__w_u32(w, agent);
}

static void w_id_or_nil(proto__writer *w, weft_id id)
{
    if (weft_id_is_none(id)) {
        proto__w_nil(w);
        return;
    }
    proto__w_arr(w, 2);
    proto__w_u32(w, id.agent);
    proto__w_u32(w, id.seq);
}

static bool fits(uint32_t seq, uint32_t len)
{
    return (uint64_t)seq + len <= UINT32_MAX;
}

static void w_op(proto__writer *w, const weft_op *op)
{
    proto__w_arr(w, 6);
    proto__w_u32(w, op->kind);
    w_agent(w, op->id.agent);
    proto__w_u32(w, op->id.seq);
    if (op->len == 0 || !fits(op->id.seq, op->len))
        fail(w, WEFT_PROTO_E_VALUE);
    if (op->kind == WEFT_OP_INS) {
        uint32_t cps = 0;
        w_id_or_nil(w, op->ol);
        w_id_or_nil(w, op->or);
        if (op->bytes && !op->text)
            fail(w, WEFT_PROTO_E_VALUE);
        else if (weft_utf8_count(op->text, op->bytes, &cps, NULL) != 0)
            fail(w, WEFT_PROTO_E_UTF8);
        else if (cps != op->len)
            fail(w, WEFT_PROTO_E_VALUE);
        else
            proto__w_str(w, op->text, op->bytes);
    } else if (op->kind == WEFT_OP_DEL) {
        w_agent(w, op->target.agent);
        proto__w_u32(w, op->target.seq);
        proto__w_u32(w, op->len);
        if (!fits(op->target.seq, op->len))
            fail(w, WEFT_PROTO_E_VALUE);
    } else {
        fail(w, WEFT_PROTO_E_VALUE);
    }
}

static void w_batch_parts(proto__writer *w, const weft_id *par, size_t npar, const weft_op *ops,
                          size_t nops)
{
    if (nops == 0 || npar > UINT32_MAX || nops > UINT32_MAX) {
        fail(w, WEFT_PROTO_E_VALUE);
        return;
    }
    proto__w_arr(w, 2);
    proto__w_arr(w, (uint32_t)npar);
    for (size_t i = 0; i < npar; i++) {
        if (weft_id_is_none(par[i]))
            fail(w, WEFT_PROTO_E_VALUE);
        if (i > 0 && !(par[i - 1].agent < par[i].agent ||
                       (par[i - 1].agent == par[i].agent && par[i - 1].seq < par[i].seq)))
            fail(w, WEFT_PROTO_E_ORDER);
        w_id_or_nil(w, par[i]);
    }
    proto__w_arr(w, (uint32_t)nops);
    for (size_t i = 0; i < nops; i++)
        w_op(w, &ops[i]);
}

static void w_batch(proto__writer *w, const weft_proto_msg *m, const weft_proto_batch *b)
{
    if (b->parents_off > m->nparents || b->nparents > m->nparents - b->parents_off ||
        b->ops_off > m->nops || b->nops > m->nops - b->ops_off) {
        fail(w, WEFT_PROTO_E_VALUE);
        return;
    }
    w_batch_parts(w, b->nparents ? m->parents + b->parents_off : NULL, b->nparents,
                  b->nops ? m->ops + b->ops_off : NULL, b->nops);
}

static void w_anchor(proto__writer *w, weft_anchor a)
{
    proto__w_arr(w, 3);
    proto__w_u32(w, a.assoc < 0 ? 1 : 0);
    if (a.id.agent == WEFT_NONE) {
        if (a.id.seq > 1)
            fail(w, WEFT_PROTO_E_VALUE);
        proto__w_nil(w);
    } else {
        proto__w_u32(w, a.id.agent);
    }
    proto__w_u32(w, a.id.seq);
}

static void w_user(proto__writer *w, const weft_proto_user *u)
{
    proto__w_arr(w, 2);
    w_text(w, u->name);
    w_text(w, u->colour);
}

/* agent, clock, state|nil (without an array header). */
static void w_presence_fields(proto__writer *w, const weft_proto_presence *p)
{
    w_agent(w, p->agent);
    proto__w_u32(w, p->clock);
    if (!p->has_state) {
        proto__w_nil(w);
        return;
    }
    proto__w_arr(w, 3);
    w_anchor(w, p->anchor);
    w_anchor(w, p->head);
    w_user(w, &p->user);
}

static void enc_welcome(proto__writer *w, const weft_proto_msg *m)
{
    proto__w_arr(w, 9);
    proto__w_u32(w, WEFT_MSG_WELCOME);
    w_agent(w, m->agent);
    proto__w_u32(w, m->next_seq);
    proto__vv_encode(w, &m->vv);
    proto__w_u32(w, m->lsn);
    proto__w_u32(w, m->body);
    switch (m->body) {
    case WEFT_BODY_NONE:
        proto__w_nil(w);
        break;
    case WEFT_BODY_SNAPSHOT: {
        /* Embedded verbatim: it must be one canonical msgpack array that
         * still fits the default depth one level down. */
        weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
        lim.max_frame = SIZE_MAX;
        lim.max_depth = WEFT_PROTO_MAX_DEPTH - 1;
        const uint8_t *sp = (const uint8_t *)m->snapshot.p;
        if (!sp || m->snapshot.len == 0 ||
            !((sp[0] & 0xf0) == 0x90 || sp[0] == 0xdc || sp[0] == 0xdd) ||
            weft_proto_scan(sp, m->snapshot.len, &lim) != 0)
            fail(w, WEFT_PROTO_E_VALUE);
        else
            proto__write_raw(w, m->snapshot.p, m->snapshot.len);
        break;
    }
    case WEFT_BODY_OPS:
        if (m->nbatches == 0 || m->nbatches > UINT32_MAX) /* none: body kind 0 */
            fail(w, WEFT_PROTO_E_VALUE);
        proto__w_arr(w, (uint32_t)m->nbatches);
        for (size_t i = 0; i < m->nbatches; i++) {
            if (!m->batches[i].has_lsn)
                fail(w, WEFT_PROTO_E_VALUE);
            if (i > 0 && m->batches[i].lsn <= m->batches[i - 1].lsn)
                fail(w, WEFT_PROTO_E_ORDER);
            proto__w_arr(w, 2);
            proto__w_u32(w, m->batches[i].lsn);
            w_batch(w, m, &m->batches[i]);
        }
        break;
    default:
        fail(w, WEFT_PROTO_E_VALUE);
    }
    if (m->npresence > UINT32_MAX)
        fail(w, WEFT_PROTO_E_VALUE);
    proto__w_arr(w, (uint32_t)m->npresence);
    for (size_t i = 0; i < m->npresence; i++) {
        if (i > 0 && m->presence[i].agent <= m->presence[i - 1].agent)
            fail(w, WEFT_PROTO_E_ORDER);
        proto__w_arr(w, 3);
        w_presence_fields(w, &m->presence[i]);
    }
    proto__w_bool(w, m->more);
}

static void enc(proto__writer *w, const weft_proto_msg *m)
{
    switch (m->type) {
    case WEFT_MSG_HELLO:
        proto__w_arr(w, 7);
        proto__w_u32(w, m->type);
        proto__w_u32(w, m->proto);
        w_text(w, m->doc);
        if (m->has_token)
            w_text(w, m->token);
        else
            proto__w_nil(w);
        if (m->has_agent)
            w_agent(w, m->agent);
        else
            proto__w_nil(w);
        if (proto__vv_check(&m->vv))
            fail(w, proto__vv_check(&m->vv));
        proto__vv_encode(w, &m->vv);
        if (m->has_user)
            w_user(w, &m->user);
        else
            proto__w_nil(w);
        return;
    case WEFT_MSG_WELCOME:
        if (proto__vv_check(&m->vv))
            fail(w, proto__vv_check(&m->vv));
        enc_welcome(w, m);
        return;
    case WEFT_MSG_OPS:
        if (m->nbatches != 1) {
            fail(w, WEFT_PROTO_E_VALUE);
            return;
        }
        proto__w_arr(w, 3);
        proto__w_u32(w, m->type);
        if (m->batches[0].has_lsn)
            proto__w_u32(w, m->batches[0].lsn);
        else
            proto__w_nil(w);
        w_batch(w, m, &m->batches[0]);
        return;
    case WEFT_MSG_ACK:
        proto__w_arr(w, 4);
        proto__w_u32(w, m->type);
        w_agent(w, m->agent);
        proto__w_u32(w, m->next_seq);
        proto__w_u32(w, m->lsn);
        return;
    case WEFT_MSG_PRESENCE:
        if (m->npresence != 1) {
            fail(w, WEFT_PROTO_E_VALUE);
            return;
        }
        proto__w_arr(w, 4);
        proto__w_u32(w, m->type);
        w_presence_fields(w, &m->presence[0]);
        return;
    case WEFT_MSG_LEAVE:
        proto__w_arr(w, 2);
        proto__w_u32(w, m->type);
        w_agent(w, m->agent);
        return;
    case WEFT_MSG_PING:
    case WEFT_MSG_PONG:
        proto__w_arr(w, 2);
        proto__w_u32(w, m->type);
        proto__w_u32(w, m->t);
        return;
    case WEFT_MSG_ERROR:
        proto__w_arr(w, 3);
        proto__w_u32(w, m->type);
        proto__w_u32(w, m->code);
        w_text(w, m->message);
        return;
    default:
        fail(w, WEFT_PROTO_E_TYPE);
    }
}

int weft_proto_encode(const weft_proto_msg *m, weft_buf *out)
{
    proto__writer w;
    proto__writer_init(&w, out);
    enc(&w, m);
    return proto__writer_done(&w);
}

int weft_proto_encode_ack(weft_buf *out, uint32_t agent, uint32_t next_seq, uint32_t lsn)
{
    weft_proto_msg m;
    weft_proto_msg_init(&m);
    m.type = WEFT_MSG_ACK;
    m.agent = agent;
    m.next_seq = next_seq;
    m.lsn = lsn;
    int rc = weft_proto_encode(&m, out);
    weft_proto_msg_cleanup(&m);
    return rc;
}

int weft_proto_encode_leave(weft_buf *out, uint32_t agent)
{
    proto__writer w;
    proto__writer_init(&w, out);
    proto__w_arr(&w, 2);
    proto__w_u32(&w, WEFT_MSG_LEAVE);
    w_agent(&w, agent);
    return proto__writer_done(&w);
}

int weft_proto_encode_ping(weft_buf *out, uint32_t type, uint32_t t)
{
    proto__writer w;
    proto__writer_init(&w, out);
    if (type != WEFT_MSG_PING && type != WEFT_MSG_PONG)
        fail(&w, WEFT_PROTO_E_TYPE);
    proto__w_arr(&w, 2);
    proto__w_u32(&w, type);
    proto__w_u32(&w, t);
    return proto__writer_done(&w);
}

int weft_proto_encode_error(weft_buf *out, uint32_t code, const char *message)
{
    proto__writer w;
    weft_proto_str s = {message ? message : "", message ? (uint32_t)strlen(message) : 0};
    proto__writer_init(&w, out);
    proto__w_arr(&w, 3);
    proto__w_u32(&w, WEFT_MSG_ERROR);
    proto__w_u32(&w, code);
    w_text(&w, s);
    return proto__writer_done(&w);
}

int weft_proto_batch_encode(const weft_id *parents, size_t nparents, const weft_op *ops,
                            size_t nops, weft_buf *out)
{
    proto__writer w;
    proto__writer_init(&w, out);
    w_batch_parts(&w, parents, nparents, ops, nops);
    return proto__writer_done(&w);
}

int weft_proto_vv_encode(const weft_vv *vv, weft_buf *out)
{
    proto__writer w;
    proto__writer_init(&w, out);
    int rc = proto__vv_check(vv);
    if (rc)
        fail(&w, rc);
    proto__vv_encode(&w, vv);
    return proto__writer_done(&w);
}

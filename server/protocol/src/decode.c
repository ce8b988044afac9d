/* decode.c — frames to weft_proto_msg (layouts: docs/protocol.md). */
#include <string.h>

#include "proto_int.h"

/* Id = [agent, seq] | nil (WEFT_ID_NONE: START/END). */
static int id_or_nil(const msgpack_object *o, weft_id *id)
{
    const msgpack_object *e;
    int rc;
    if (proto__is_nil(o)) {
        *id = WEFT_ID_NONE;
        return 0;
    }
    if ((rc = proto__arr(o, 2, &e)) || (rc = proto__agent(&e[0], &id->agent)) ||
        (rc = proto__u32(&e[1], &id->seq)))
        return rc;
    return 0;
}

static bool id_less(weft_id a, weft_id b)
{
    return a.agent < b.agent || (a.agent == b.agent && a.seq < b.seq);
}

static bool fits(uint32_t seq, uint32_t len)
{
    return (uint64_t)seq + len <= UINT32_MAX;
}

/* Ins = [0, agent, seq, ol, or, text]; Del = [1, agent, seq, t_agent, t_seq, len]. */
static int op_decode(const msgpack_object *o, weft_op *op)
{
    const msgpack_object *it;
    int rc;
    uint32_t kind;
    memset(op, 0, sizeof *op);
    if ((rc = proto__arr(o, 6, &it)) || (rc = proto__u32(&it[0], &kind)) ||
        (rc = proto__agent(&it[1], &op->id.agent)) || (rc = proto__u32(&it[2], &op->id.seq)))
        return rc;
    op->kind = kind;
    if (kind == WEFT_OP_INS) {
        weft_proto_str s;
        if ((rc = id_or_nil(&it[3], &op->ol)) || (rc = id_or_nil(&it[4], &op->or)) ||
            (rc = proto__str(&it[5], &s)))
            return rc;
        op->target = WEFT_ID_NONE;
        op->text = s.p;
        op->bytes = s.len;
        if (weft_utf8_count(s.p, s.len, &op->len, NULL) != 0)
            return WEFT_PROTO_E_UTF8;
        if (op->len == 0)
            return WEFT_PROTO_E_VALUE;
    } else if (kind == WEFT_OP_DEL) {
        op->ol = op->or = WEFT_ID_NONE;
        if ((rc = proto__agent(&it[3], &op->target.agent)) ||
            (rc = proto__u32(&it[4], &op->target.seq)) || (rc = proto__u32(&it[5], &op->len)))
            return rc;
        if (op->len == 0 || !fits(op->target.seq, op->len))
            return WEFT_PROTO_E_VALUE;
    } else {
        return WEFT_PROTO_E_VALUE;
    }
    return fits(op->id.seq, op->len) ? 0 : WEFT_PROTO_E_VALUE;
}

/* Batch = [parents: [Id ...] strictly increasing, ops: [Op ...] non-empty]. */
static int batch_decode(const msgpack_object *o, bool has_lsn, uint32_t lsn, weft_proto_msg *m)
{
    const msgpack_object *it, *par, *ops;
    uint32_t npar, nops;
    int rc;
    if ((rc = proto__arr(o, 2, &it)) || (rc = proto__arr_any(&it[0], &par, &npar)) ||
        (rc = proto__arr_any(&it[1], &ops, &nops)))
        return rc;
    if (nops == 0)
        return WEFT_PROTO_E_VALUE;
    if ((rc = weft_proto_msg_add_batch(m, has_lsn, lsn, NULL, 0, NULL, 0)) ||
        (rc = proto__grow((void **)&m->parents, &m->parents_cap, m->nparents + npar,
                          sizeof *m->parents)) ||
        (rc = proto__grow((void **)&m->ops, &m->ops_cap, m->nops + nops, sizeof *m->ops)))
        return rc;
    weft_proto_batch *b = &m->batches[m->nbatches - 1];
    for (uint32_t i = 0; i < npar; i++) {
        weft_id id;
        if (proto__is_nil(&par[i]))
            return WEFT_PROTO_E_SHAPE;
        if ((rc = id_or_nil(&par[i], &id)))
            return rc;
        if (i > 0 && !id_less(m->parents[m->nparents - 1], id))
            return WEFT_PROTO_E_ORDER;
        m->parents[m->nparents++] = id;
    }
    for (uint32_t i = 0; i < nops; i++) {
        if ((rc = op_decode(&ops[i], &m->ops[m->nops])))
            return rc;
        m->nops++;
    }
    b->nparents = npar;
    b->nops = nops;
    return 0;
}

/* Anchor = [side, agent|nil, seq]: side 0 = assoc >= 0, 1 = assoc < 0;
 * agent nil: seq 0 = START, 1 = END. */
static int anchor_decode(const msgpack_object *o, weft_anchor *a)
{
    const msgpack_object *it;
    uint32_t side;
    int rc;
    if ((rc = proto__arr(o, 3, &it)) || (rc = proto__u32(&it[0], &side)))
        return rc;
    if (side > 1)
        return WEFT_PROTO_E_VALUE;
    a->assoc = side ? -1 : 0;
    if (proto__is_nil(&it[1]))
        a->id.agent = WEFT_NONE;
    else if ((rc = proto__agent(&it[1], &a->id.agent)))
        return rc;
    if ((rc = proto__u32(&it[2], &a->id.seq)))
        return rc;
    if (a->id.agent == WEFT_NONE && a->id.seq > 1)
        return WEFT_PROTO_E_VALUE;
    return 0;
}

/* User = [name: str, colour: str]. */
static int user_decode(const msgpack_object *o, weft_proto_user *u)
{
    const msgpack_object *it;
    int rc;
    if ((rc = proto__arr(o, 2, &it)) || (rc = proto__str(&it[0], &u->name)) ||
        (rc = proto__str(&it[1], &u->colour)))
        return rc;
    return 0;
}

/* Presence fields agent, clock, state|nil at it[0..3);
 * state = [anchor, head, user]. */
static int presence_decode(const msgpack_object *it, weft_proto_presence *p)
{
    const msgpack_object *st;
    int rc;
    memset(p, 0, sizeof *p);
    if ((rc = proto__agent(&it[0], &p->agent)) || (rc = proto__u32(&it[1], &p->clock)))
        return rc;
    if (proto__is_nil(&it[2]))
        return 0;
    p->has_state = true;
    if ((rc = proto__arr(&it[2], 3, &st)) || (rc = anchor_decode(&st[0], &p->anchor)) ||
        (rc = anchor_decode(&st[1], &p->head)) || (rc = user_decode(&st[2], &p->user)))
        return rc;
    return 0;
}

static int dec_hello(const msgpack_object *it, uint32_t n, weft_proto_msg *m)
{
    int rc;
    if (n != 7)
        return WEFT_PROTO_E_SHAPE;
    if ((rc = proto__u32(&it[1], &m->proto)) || (rc = proto__str(&it[2], &m->doc)))
        return rc;
    m->has_token = !proto__is_nil(&it[3]);
    if (m->has_token && (rc = proto__str(&it[3], &m->token)))
        return rc;
    m->has_agent = !proto__is_nil(&it[4]);
    if (m->has_agent && (rc = proto__agent(&it[4], &m->agent)))
        return rc;
    if ((rc = proto__vv_decode(&it[5], &m->vv)))
        return rc;
    m->has_user = !proto__is_nil(&it[6]);
    if (m->has_user && (rc = user_decode(&it[6], &m->user)))
        return rc;
    return 0;
}

static int dec_welcome(const msgpack_object *it, uint32_t n, const uint8_t *frame, size_t len,
                       weft_proto_msg *m)
{
    const msgpack_object *pres, *ent, *e;
    uint32_t npres, nent;
    int rc;
    if (n != 9)
        return WEFT_PROTO_E_SHAPE;
    m->has_agent = true;
    if ((rc = proto__agent(&it[1], &m->agent)) || (rc = proto__u32(&it[2], &m->next_seq)) ||
        (rc = proto__vv_decode(&it[3], &m->vv)) || (rc = proto__u32(&it[4], &m->lsn)) ||
        (rc = proto__u32(&it[5], &m->body)))
        return rc;
    switch (m->body) {
    case WEFT_BODY_NONE:
        if (!proto__is_nil(&it[6]))
            return WEFT_PROTO_E_SHAPE;
        break;
    case WEFT_BODY_SNAPSHOT: {
        size_t off, sn;
        if (it[6].type != MSGPACK_OBJECT_ARRAY)
            return WEFT_PROTO_E_SHAPE;
        if ((rc = proto__elem_span(frame, len, 6, &off, &sn)))
            return rc;
        m->snapshot.p = (const char *)frame + off;
        m->snapshot.len = (uint32_t)sn;
        break;
    }
    case WEFT_BODY_OPS:
        if ((rc = proto__arr_any(&it[6], &ent, &nent)))
            return rc;
        if (nent == 0) /* that is body kind 0 */
            return WEFT_PROTO_E_VALUE;
        for (uint32_t i = 0; i < nent; i++) {
            uint32_t lsn;
            if ((rc = proto__arr(&ent[i], 2, &e)) || (rc = proto__u32(&e[0], &lsn)))
                return rc;
            if (i > 0 && lsn <= m->batches[m->nbatches - 1].lsn)
                return WEFT_PROTO_E_ORDER;
            if ((rc = batch_decode(&e[1], true, lsn, m)))
                return rc;
        }
        break;
    default:
        return WEFT_PROTO_E_VALUE;
    }
    if ((rc = proto__arr_any(&it[7], &pres, &npres)))
        return rc;
    if ((rc = proto__grow((void **)&m->presence, &m->presence_cap, npres, sizeof *m->presence)))
        return rc;
    for (uint32_t i = 0; i < npres; i++) {
        if ((rc = proto__arr(&pres[i], 3, &e)) || (rc = presence_decode(e, &m->presence[i])))
            return rc;
        if (i > 0 && m->presence[i].agent <= m->presence[i - 1].agent)
            return WEFT_PROTO_E_ORDER;
        m->npresence = i + 1;
    }
    return proto__bool(&it[8], &m->more);
}

static int decode_obj(const msgpack_object *root, const uint8_t *frame, size_t len,
                      weft_proto_msg *m)
{
    const msgpack_object *it;
    uint32_t n;
    int rc;
    if ((rc = proto__arr_any(root, &it, &n)))
        return rc;
    if (n == 0 || (rc = proto__u32(&it[0], &m->type)))
        return WEFT_PROTO_E_SHAPE;
    switch (m->type) {
    case WEFT_MSG_HELLO:
        return dec_hello(it, n, m);
    case WEFT_MSG_WELCOME:
        return dec_welcome(it, n, frame, len, m);
    case WEFT_MSG_OPS: {
        bool has_lsn;
        if (n != 3)
            return WEFT_PROTO_E_SHAPE;
        has_lsn = !proto__is_nil(&it[1]);
        if (has_lsn && (rc = proto__u32(&it[1], &m->lsn)))
            return rc;
        return batch_decode(&it[2], has_lsn, m->lsn, m);
    }
    case WEFT_MSG_ACK:
        m->has_agent = true;
        if (n != 4)
            return WEFT_PROTO_E_SHAPE;
        if ((rc = proto__agent(&it[1], &m->agent)) || (rc = proto__u32(&it[2], &m->next_seq)) ||
            (rc = proto__u32(&it[3], &m->lsn)))
            return rc;
        return 0;
    case WEFT_MSG_PRESENCE:
        if (n != 4)
            return WEFT_PROTO_E_SHAPE;
        if ((rc = proto__grow((void **)&m->presence, &m->presence_cap, 1, sizeof *m->presence)))
            return rc;
        if ((rc = presence_decode(&it[1], &m->presence[0])))
            return rc;
        m->npresence = 1;
        return 0;
    case WEFT_MSG_LEAVE:
        m->has_agent = true;
        if (n != 2)
            return WEFT_PROTO_E_SHAPE;
        return proto__agent(&it[1], &m->agent);
    case WEFT_MSG_PING:
    case WEFT_MSG_PONG:
        if (n != 2)
            return WEFT_PROTO_E_SHAPE;
        return proto__u32(&it[1], &m->t);
    case WEFT_MSG_ERROR:
        if (n != 3)
            return WEFT_PROTO_E_SHAPE;
        if ((rc = proto__u32(&it[1], &m->code)) || (rc = proto__str(&it[2], &m->message)))
            return rc;
        return 0;
    default:
        return WEFT_PROTO_E_TYPE;
    }
}

/* Decodes one root object of p[0..len) with fn, after the scan has checked
 * it against lim. Returns the first error. */
typedef int (*root_fn)(const msgpack_object *root, const uint8_t *p, size_t len, void *out);

static int decode_root(const uint8_t *p, size_t len, const weft_proto_limits *lim, root_fn fn,
                       void *out)
{
    msgpack_unpacked up;
    int rc = weft_proto_scan(p, len, lim);
    if (rc)
        return rc;
    msgpack_unpacked_init(&up);
    rc = proto__unpack(p, len, &up);
    if (rc == 0)
        rc = fn(&up.data, p, len, out);
    msgpack_unpacked_destroy(&up);
    return rc;
}

static int msg_root(const msgpack_object *root, const uint8_t *p, size_t len, void *out)
{
    return decode_obj(root, p, len, out);
}

static int batch_root(const msgpack_object *root, const uint8_t *p, size_t len, void *out)
{
    (void)p;
    (void)len;
    return batch_decode(root, false, 0, out);
}

static int vv_root(const msgpack_object *root, const uint8_t *p, size_t len, void *out)
{
    (void)p;
    (void)len;
    return proto__vv_decode(root, out);
}

int weft_proto_decode(const uint8_t *frame, size_t len, const weft_proto_limits *lim,
                      weft_proto_msg *m)
{
    weft_proto_msg_reset(m);
    int rc = decode_root(frame, len, lim, msg_root, m);
    if (rc)
        weft_proto_msg_reset(m);
    return rc;
}

int weft_proto_batch_decode(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                            weft_proto_msg *m)
{
    weft_proto_msg_reset(m);
    int rc = decode_root(p, len, lim, batch_root, m);
    if (rc)
        weft_proto_msg_reset(m);
    return rc;
}

int weft_proto_vv_decode(const uint8_t *p, size_t len, const weft_proto_limits *lim, weft_vv *vv)
{
    vv->n = 0;
    int rc = decode_root(p, len, lim, vv_root, vv);
    if (rc)
        vv->n = 0;
    return rc;
}

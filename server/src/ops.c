/* ops.c — an op batch from a client: validate, apply, broadcast, commit.
 *
 * The batch is applied op by op to the room's engine. What the server did
 * not have yet (a resent prefix is trimmed off) is broadcast at once with
 * the LSN it will get, and submitted to storage; the author's ack waits for
 * the commit (commit.c). A batch the server already had entirely is acked
 * once everything before it is durable. If an op is rejected, the ops
 * before it stay accepted (engine, log and peers agree) and the session is
 * closed with the rejection's code.
 */
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define RO_VIOLATIONS_MAX 3

static uint32_t ops_validate(session *s, const weft_proto_msg *m, const char **why)
{
    const weft_op *ops = m->ops + m->batches[0].ops_off;
    size_t n = m->batches[0].nops;
    uint32_t expect = ops[0].id.seq;
    uint64_t ins = 0;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].id.agent != s->agent) {
            *why = "ops of an agent this session does not own";
            return WEFT_CLOSE_AGENT_CONFLICT;
        }
    }
    if (expect > s->next_seq) {
        *why = "seq gap: ops are missing before this batch";
        return WEFT_CLOSE_BAD_OP;
    }
    for (size_t i = 0; i < n; i++) {
        if (ops[i].id.seq != expect) {
            *why = "seqs within the batch are not contiguous";
            return WEFT_CLOSE_BAD_OP;
        }
        expect = ops[i].id.seq + ops[i].len;
        if (ops[i].kind == WEFT_OP_INS)
            ins += ops[i].bytes;
    }
    if (weft_doc_bytes(s->room->doc) + ins > s->srv->cfg->max_doc) {
        *why = "document size limit reached";
        return WEFT_CLOSE_DOC_TOO_LARGE;
    }
    return 0;
}

static uint32_t apply_err_close(int rc)
{
    if (rc == WEFT_E_CONFLICT)
        return WEFT_CLOSE_AGENT_CONFLICT;
    if (rc == WEFT_E_NOMEM)
        return WEFT_CLOSE_INTERNAL;
    return WEFT_CLOSE_BAD_OP;
}

static int broadcast_batch(room *r, session *author, const weft_proto_msg *m, uint64_t lsn)
{
    weft_proto_msg om;
    weft_proto_msg_init(&om);
    om.type = WEFT_MSG_OPS;
    weft_buf b;
    weft_buf_init(&b);
    int rc =
        weft_proto_msg_add_batch(&om, true, (uint32_t)lsn, m->parents + m->batches[0].parents_off,
                                 m->batches[0].nparents, author->kept.ops, author->kept.n);
    if (rc == 0)
        rc = weft_proto_encode(&om, &b);
    frame *f = rc ? NULL : frame_new(b.p, b.n);
    if (f) {
        room_broadcast(r, f, author);
        frame_unref(f);
    }
    weft_buf_cleanup(&b);
    weft_proto_msg_cleanup(&om);
    return f ? 0 : -1;
}

static int submit_batch(session *s, frame *bf, uint64_t lsn)
{
    room *r = s->room;
    server *srv = s->srv;
    req *q = req_new(srv, REQ_APPEND, r, s);
    if (!q)
        return WEFT_STORE_E_NOMEM;
    uint32_t seq = s->kept.ops[0].id.seq;
    q->lsn = lsn;
    q->agent = s->agent;
    q->next_seq = s->next_seq;
    weft_store_append_req ar = {r->id,     s->agent,           seq, s->next_seq - seq, s->user,
                                wall_ms(), {bf->data, bf->len}};
    int rc = weft_store_submit_append(srv->store, &ar, (uint64_t)(uintptr_t)q);
    if (rc) {
        r->nreqs--;
        session_unref(s);
        free(q);
    }
    return rc;
}

/* The accepted ops (s->kept) become batch lsn: storage, pending, peers. */
static void ops_commit(session *s, const weft_proto_msg *m)
{
    room *r = s->room;
    uint64_t lsn = r->lsn_assigned + 1;
    weft_buf b;
    weft_buf_init(&b);
    int rc = weft_proto_batch_encode(m->parents + m->batches[0].parents_off, m->batches[0].nparents,
                                     s->kept.ops, s->kept.n, &b);
    frame *bf = rc ? NULL : frame_new(b.p, b.n);
    weft_buf_cleanup(&b);
    rc = bf ? submit_batch(s, bf, lsn) : WEFT_STORE_E_NOMEM;
    if (rc) {
        frame_unref(bf);
        room_fail(r, rc);
        return;
    }
    r->lsn_assigned = lsn;
    room_pending_push(r, lsn, bf);
    frame_unref(bf);
    metrics.ops_total++;
    if (broadcast_batch(r, s, m, lsn))
        room_fail(r, WEFT_STORE_E_NOMEM);
    room_maybe_snapshot(r, false);
}

static void parked_update(room *r)
{
    size_t p = weft_doc_parked(r->doc);
    metrics.parked = metrics.parked + p - r->parked;
    r->parked = p;
}

/* A resent op of IDs the room accepted. With nothing parked every accepted
 * op is applied, so the engine only compares it: a duplicate, or different
 * content (a conflict). With ops parked it is not applied at all: the
 * engine might take it in place of a parked one the log holds. */
static uint32_t op_resent(session *s, const weft_op *op, const char **why)
{
    room *r = s->room;
    if (weft_doc_parked(r->doc) > 0)
        return 0;
    int rc = weft_doc_apply(r->doc, op, NULL);
    if (rc == WEFT_DUPLICATE)
        return 0;
    if (rc >= 0) { /* cannot happen (see above); if it did, engine and log differ */
        log_error("resent op applied doc=\"%s\" agent=%u seq=%u", r->name, op->id.agent,
                  op->id.seq);
        room_fail(r, WEFT_STORE_E_CONFLICT);
        *why = "internal error";
        return WEFT_CLOSE_TRY_AGAIN;
    }
    *why = weft_strerror(rc);
    return apply_err_close(rc);
}

/* A new op (or the new tail of one): applied, then kept for the log. */
static uint32_t op_new(session *s, const weft_op *op, const char **why)
{
    int rc = weft_doc_apply(s->room->doc, op, NULL);
    if (rc < 0) {
        *why = weft_strerror(rc);
        return apply_err_close(rc);
    }
    uint32_t end = op->id.seq + op->len;
    if (weft_oplist_push(&s->kept, op) || weft_vv_set(&s->room->accepted, s->agent, end)) {
        *why = "out of memory";
        return WEFT_CLOSE_INTERNAL;
    }
    s->next_seq = end;
    return 0;
}

/*
 * Applies every op; keeps what was new in s->kept. 0 or a close code.
 * The engine and the log must hold exactly the same ops: what the room
 * already accepted (below s->next_seq) is only compared (op_resent), and a
 * partly known op is trimmed before it is applied.
 */
static uint32_t ops_apply(session *s, const weft_proto_msg *m, const char **why)
{
    const weft_op *ops = m->ops + m->batches[0].ops_off;
    weft_oplist_clear(&s->kept);
    for (size_t i = 0; i < m->batches[0].nops; i++) {
        weft_op op = ops[i];
        uint32_t end = op.id.seq + op.len, code = 0;
        if (end <= s->next_seq) {
            code = op_resent(s, &op, why);
        } else {
            if (op.id.seq < s->next_seq)
                op_trim(&op, s->next_seq - op.id.seq);
            code = op_new(s, &op, why);
        }
        if (code)
            return code;
    }
    return 0;
}

static bool ops_allowed(session *s)
{
    if (s->state != S_LIVE) {
        session_close(s, WEFT_CLOSE_UNEXPECTED, "ops before welcome", true);
        return false;
    }
    if (!limits_rate_take(s)) {
        session_close(s, WEFT_CLOSE_RATE_LIMIT, "op rate limit exceeded", true);
        return false;
    }
    if (!s->write) {
        if (++s->ro_violations > RO_VIOLATIONS_MAX)
            session_close(s, WEFT_CLOSE_READ_ONLY, "read-only session: ops refused", true);
        else
            session_error(s, WEFT_CLOSE_READ_ONLY, "read-only session: ops dropped");
        return false;
    }
    return true;
}

void ops_handle(session *s, const weft_proto_msg *m)
{
    const char *why = NULL;
    if (!ops_allowed(s))
        return;
    uint32_t code = ops_validate(s, m, &why);
    if (code) {
        session_close(s, code, why, true);
        return;
    }
    room *r = s->room;
    size_t parked_before = r->parked;
    code = ops_apply(s, m, &why);
    parked_update(r);
    if (s->kept.n > 0)
        ops_commit(s, m);
    else if (!code)
        room_ack_wait(r, s, s->agent, s->next_seq, r->lsn_assigned);
    if (!code && r->parked > parked_before && r->parked > s->srv->cfg->max_parked) {
        code = WEFT_CLOSE_BAD_OP;
        why = "too many ops waiting for missing dependencies";
    }
    if (code)
        session_close(s, code, why, true);
}

/* commit.c — storage completions: acks after commits, agents, docs, snapshots. */
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdlib.h>

req *req_new(server *srv, req_kind kind, room *r, session *s)
{
    req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->kind = kind;
    q->room = r;
    q->s = s ? session_ref(s) : NULL;
    q->t0_us = lws_now_usecs();
    r->nreqs++;
    return q;
}

static void complete_append(req *q, const weft_store_completion *c)
{
    room *r = q->room;
    metrics_commit((double)(lws_now_usecs() - q->t0_us) / 1e6);
    if (c->status != 0 || c->lsn != q->lsn) {
        /* LSNs were promised to peers: the room cannot continue */
        log_error("commit doc=\"%s\" lsn=%llu got=%llu status=\"%s\"", r->name,
                  (unsigned long long)q->lsn, (unsigned long long)c->lsn,
                  weft_store_strerror(c->status));
        room_fail(r, c->status < 0 ? c->status : WEFT_STORE_E_CONFLICT);
        return;
    }
    room_durable(r, c->lsn, q->agent, q->next_seq);
    session *s = q->s;
    if (s && s->state == S_LIVE) {
        weft_buf b;
        weft_buf_init(&b);
        if (weft_proto_encode_ack(&b, q->agent, q->next_seq, (uint32_t)c->lsn) == 0)
            session_send_bytes(s, &b, false);
        weft_buf_cleanup(&b);
    }
}

static void complete_agent(req *q, const weft_store_completion *c)
{
    session *s = q->s;
    if (c->status < 0) {
        log_error("agent_new doc=\"%s\" status=\"%s\"", q->room->name,
                  weft_store_strerror(c->status));
        session_close(s, WEFT_CLOSE_INTERNAL, "cannot allocate an agent", true);
        return;
    }
    if (room_agent_add(q->room, c->agent, s->user)) {
        session_close(s, WEFT_CLOSE_INTERNAL, "out of memory", true);
        return;
    }
    if (s->room == q->room)
        hello_agent_assigned(s, c->agent);
}

void commit_complete(server *srv, const weft_store_completion *c)
{
    req *q = (req *)(uintptr_t)c->token;
    switch (q->kind) {
    case REQ_APPEND:
        complete_append(q, c);
        break;
    case REQ_AGENT:
        complete_agent(q, c);
        break;
    case REQ_DOC:
        room_created(q->room, c);
        break;
    case REQ_SNAPSHOT:
        if (c->status < 0)
            log_warn("snapshot doc=\"%s\" lsn=%llu status=\"%s\"", q->room->name,
                     (unsigned long long)q->lsn, weft_store_strerror(c->status));
        break;
    }
    q->room->nreqs--;
    if (q->s)
        session_unref(q->s);
    free(q);
}

void commit_drain(server *srv)
{
    weft_store_completion cs[64];
    size_t n;
    while ((n = weft_store_poll(srv->store, cs, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            commit_complete(srv, &cs[i]);
}

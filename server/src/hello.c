/* hello.c — hello: check, authorise, join the room, assign the agent. */
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

static void expiry_cb(wtimer *t)
{
    session *s = lws_container_of(t, session, expiry_timer);
    session_close(s, WEFT_CLOSE_TOKEN_EXPIRED, "token expired", true);
}

static void expiry_arm(session *s)
{
    if (!s->token_exp)
        return;
    int64_t ms = (int64_t)s->token_exp * 1000 - wall_ms();
    if (ms < 1)
        ms = 1;
    wtimer_schedule(&s->expiry_timer, expiry_cb, ms);
}

static uint32_t hello_check(session *s, const weft_proto_msg *m, const char **why)
{
    if (s->state != S_NEW) {
        *why = "hello was already received";
        return WEFT_CLOSE_UNEXPECTED;
    }
    if (m->proto != WEFT_PROTO_VERSION) {
        *why = "unsupported protocol version (this server speaks 1)";
        return WEFT_CLOSE_PROTO_VERSION;
    }
    if (m->doc.len == 0 || m->doc.len > 1024 || memchr(m->doc.p, 0, m->doc.len)) {
        /* storage and tokens take names as C strings: a NUL would alias another name */
        *why = "document name must be 1 to 1024 bytes, without NUL";
        return WEFT_CLOSE_BAD_MESSAGE;
    }
    if (s->srv->stopping) {
        *why = "server shutting down";
        return WEFT_CLOSE_GOING_AWAY;
    }
    uint32_t code = auth_hello(s, m, why);
    if (code)
        metrics.auth_failures++;
    return code;
}

void hello_handle(session *s, const weft_proto_msg *m)
{
    const char *why = NULL;
    wtimer_cancel(&s->hello_timer);
    uint32_t code = hello_check(s, m, &why);
    if (code) {
        session_close(s, code, why, true);
        return;
    }
    room *r = room_open(s->srv, m->doc.p, m->doc.len, s->write, &code);
    if (!r) {
        session_close(s, code,
                      code == WEFT_CLOSE_UNKNOWN_DOC ? "no such document" : "cannot open document",
                      true);
        return;
    }
    weft_vv_cleanup(&s->hello_vv);
    weft_vv_init(&s->hello_vv);
    for (size_t i = 0; i < m->vv.n; i++)
        weft_vv_set(&s->hello_vv, m->vv.v[i].agent, m->vv.v[i].next_seq);
    s->hello_has_agent = m->has_agent;
    s->hello_agent = m->agent;
    s->state = S_JOINING;
    log_info("hello session=%llu user=%s doc=\"%s\" write=%d agent=%s", (unsigned long long)s->id,
             s->user, r->name, s->write, m->has_agent ? "reuse" : "new");
    room_join(r, s);
    expiry_arm(s);
    if (r->state == R_READY)
        hello_assign_agent(s);
}

static bool same_user(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Takes over an agent from an older connection of the same user. */
static void hello_takeover(session *s)
{
    for (session *o = s->room->members; o; o = o->room_next)
        if (o != s && o->has_agent && o->agent == s->hello_agent)
            session_close(o, WEFT_CLOSE_AGENT_CONFLICT, "agent taken over by a newer connection",
                          true);
}

void hello_assign_agent(session *s)
{
    room *r = s->room;
    server *srv = s->srv;
    if (s->hello_has_agent) {
        const agent_user *a = room_agent_find(r, s->hello_agent);
        if (a && same_user(a->user, s->user)) {
            hello_takeover(s);
            hello_agent_assigned(s, s->hello_agent);
            return;
        }
        log_info("agent_refused session=%llu agent=%u reason=%s", (unsigned long long)s->id,
                 s->hello_agent, a ? "other user" : "unknown");
    }
    req *q = req_new(srv, REQ_AGENT, r, s);
    if (!q ||
        weft_store_submit_agent(srv->store, r->id, s->user, wall_ms(), (uint64_t)(uintptr_t)q)) {
        if (q) {
            r->nreqs--;
            session_unref(s);
            free(q);
        }
        session_close(s, WEFT_CLOSE_INTERNAL, "cannot allocate an agent", true);
    }
}

void hello_agent_assigned(session *s, uint32_t agent)
{
    if (s->state != S_JOINING)
        return;
    s->has_agent = true;
    s->agent = agent;
    uint32_t applied = weft_doc_next_seq(s->room->doc, agent);
    uint32_t accepted = weft_vv_get(&s->room->accepted, agent);
    s->next_seq = applied > accepted ? applied : accepted;
    sync_welcome(s);
}

/* presence.c — cursors and selections: stamped, throttled, expired.
 *
 * A member's latest state is kept in its session and marked dirty; a room
 * timer sends every dirty state at most every PRESENCE_THROTTLE_MS (latest
 * wins). A state not refreshed for --presence-ttl (30 s) is dropped (nil state,
 * clock + 1); a closing session sends leave(agent).
 */
#include "log.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define PRESENCE_THROTTLE_MS 50

static void presence_to_wire(const session *s, weft_proto_presence *p)
{
    memset(p, 0, sizeof *p);
    p->agent = s->agent;
    p->clock = s->pres.clock;
    p->has_state = s->pres.has_state;
    if (!p->has_state)
        return;
    p->anchor = s->pres.anchor;
    p->head = s->pres.head;
    p->user.name = (weft_proto_str){s->pres.name, (uint32_t)strlen(s->pres.name)};
    p->user.colour = (weft_proto_str){s->pres.colour, (uint32_t)strlen(s->pres.colour)};
}

static void presence_send(session *s)
{
    weft_proto_msg m;
    weft_proto_msg_init(&m);
    m.type = WEFT_MSG_PRESENCE;
    weft_proto_presence p;
    presence_to_wire(s, &p);
    weft_buf b;
    weft_buf_init(&b);
    if (weft_proto_msg_add_presence(&m, &p) == 0 && weft_proto_encode(&m, &b) == 0) {
        frame *f = frame_new(b.p, b.n);
        if (f) {
            room_broadcast(s->room, f, s);
            frame_unref(f);
        }
    }
    weft_buf_cleanup(&b);
    weft_proto_msg_cleanup(&m);
}

static void presence_cb(wtimer *t)
{
    room *r = lws_container_of(t, room, presence_timer);
    r->presence_armed = false;
    for (session *s = r->members; s; s = s->room_next) {
        if (s->pres.dirty && s->state == S_LIVE)
            presence_send(s);
        s->pres.dirty = false;
    }
}

void presence_arm(room *r)
{
    if (r->presence_armed)
        return;
    r->presence_armed = true;
    wtimer_schedule(&r->presence_timer, presence_cb, PRESENCE_THROTTLE_MS);
}

static void presence_store(session *s, const weft_proto_presence *p)
{
    presence_state *ps = &s->pres;
    ps->clock = p->clock;
    ps->has_state = p->has_state;
    ps->refreshed_ms = now_ms();
    ps->dirty = true;
    if (!p->has_state)
        return;
    ps->anchor = p->anchor;
    ps->head = p->head;
    /* the name is the token's (or hello's, in open mode): a client cannot
     * pose as someone else; only an unnamed open-mode client picks one here */
    if (s->user_named || p->user.name.len == 0)
        copy_utf8(ps->name, sizeof ps->name, s->user, strlen(s->user));
    else
        copy_utf8(ps->name, sizeof ps->name, p->user.name.p, p->user.name.len);
    if (p->user.colour.len > 0)
        copy_utf8(ps->colour, sizeof ps->colour, p->user.colour.p, p->user.colour.len);
    else
        copy_utf8(ps->colour, sizeof ps->colour, s->colour, strlen(s->colour));
}

void presence_handle(session *s, const weft_proto_msg *m)
{
    if (s->state != S_LIVE) {
        session_close(s, WEFT_CLOSE_UNEXPECTED, "presence before welcome", true);
        return;
    }
    const weft_proto_presence *p = &m->presence[0];
    if (p->agent != s->agent) {
        session_close(s, WEFT_CLOSE_AGENT_CONFLICT,
                      "presence of an agent this session does not own", true);
        return;
    }
    if (s->pres.refreshed_ms && p->clock < s->pres.clock)
        return; /* older than what we have */
    presence_store(s, p);
    presence_arm(s->room);
}

void presence_leave(session *s)
{
    if (!s->has_agent || !s->room)
        return;
    for (session *o = s->room->members; o; o = o->room_next)
        if (o != s && o->has_agent && o->agent == s->agent && o->state == S_LIVE)
            return; /* a newer connection holds the agent */
    weft_buf b;
    weft_buf_init(&b);
    if (weft_proto_encode_leave(&b, s->agent) == 0) {
        frame *f = frame_new(b.p, b.n);
        if (f) {
            room_broadcast(s->room, f, s);
            frame_unref(f);
        }
    }
    weft_buf_cleanup(&b);
}

static void presence_expire_room(room *r, int64_t t, int64_t ttl_ms)
{
    for (session *s = r->members; s; s = s->room_next) {
        if (!s->pres.has_state || t - s->pres.refreshed_ms < ttl_ms)
            continue;
        s->pres.has_state = false;
        s->pres.clock++;
        s->pres.dirty = true;
        presence_arm(r);
    }
}

void presence_expire(server *srv)
{
    int64_t t = now_ms(), ttl_ms = (int64_t)srv->cfg->presence_ttl * 1000;
    for (int i = 0; i < ROOM_BUCKETS; i++)
        for (room *r = srv->rooms[i]; r; r = r->hash_next)
            presence_expire_room(r, t, ttl_ms);
}

static int cmp_session_agent(const void *a, const void *b)
{
    const session *x = *(session *const *)a, *y = *(session *const *)b;
    return x->agent < y->agent ? -1 : x->agent > y->agent;
}

int presence_add_all(room *r, weft_proto_msg *m, const session *except)
{
    session **v = malloc((r->nmembers ? r->nmembers : 1) * sizeof *v);
    if (!v)
        return -1;
    size_t n = 0;
    for (session *s = r->members; s; s = s->room_next)
        if (s != except && s->state == S_LIVE && s->has_agent && s->pres.has_state)
            v[n++] = s;
    qsort(v, n, sizeof *v, cmp_session_agent);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i > 0 && v[i]->agent == v[i - 1]->agent)
            continue;
        weft_proto_presence p;
        presence_to_wire(v[i], &p);
        rc = weft_proto_msg_add_presence(m, &p);
    }
    free(v);
    return rc;
}

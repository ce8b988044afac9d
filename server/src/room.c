/* room.c — one open document: its engine, members, agents and log positions. */
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

static void room_idle_cb(wtimer *t);

static uint32_t name_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h % ROOM_BUCKETS;
}

static room *room_find(server *srv, const char *name, size_t len)
{
    for (room *r = srv->rooms[name_hash(name, len)]; r; r = r->hash_next)
        if (strlen(r->name) == len && memcmp(r->name, name, len) == 0)
            return r;
    return NULL;
}

static room *room_new(server *srv, const char *name, size_t len)
{
    room *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->name = malloc(len + 1);
    r->doc = weft_doc_new(WEFT_NONE);
    if (!r->name || !r->doc) {
        free(r->name);
        weft_doc_free(r->doc);
        free(r);
        return NULL;
    }
    memcpy(r->name, name, len);
    r->name[len] = 0;
    r->srv = srv;
    weft_buf_init(&r->snap);
    weft_vv_init(&r->durable);
    weft_vv_init(&r->accepted);
    uint32_t h = name_hash(name, len);
    r->hash_next = srv->rooms[h];
    srv->rooms[h] = r;
    metrics.rooms++;
    return r;
}

static void room_unlink(room *r)
{
    room **pp = &r->srv->rooms[name_hash(r->name, strlen(r->name))];
    while (*pp && *pp != r)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = r->hash_next;
}

/* ---- loading ------------------------------------------------------------------- */

typedef struct load_ctx {
    room *r;
    int err;
    bool snap_bad; /* the snapshot did not load (format or corruption) */
    weft_proto_msg m;
    weft_vv tail; /* max seq + len per agent over the batches after the snapshot */
} load_ctx;

static int load_snap(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    load_ctx *lc = ctx;
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_frame = SIZE_MAX / 2;
    uint32_t l;
    room *r = lc->r;
    lc->err = weft_proto_snapshot_load(state.ptr, state.len, &lim, r->doc, &l);
    r->snap_lsn = lsn;
    lc->snap_bad = lc->err && lc->err != WEFT_PROTO_E_NOMEM && lc->err != WEFT_E_NOMEM;
    /* Keep the bytes: when no batch follows, they are the welcome of every
     * empty client until the next change (room_snapshot), so a cold join
     * does not encode again what it just decoded. */
    char *p = lc->err ? NULL : malloc(state.len ? state.len : 1);
    if (p) {
        memcpy(p, state.ptr, state.len);
        free(r->snap.p);
        r->snap = (weft_buf){p, state.len, state.len};
        r->snap_at = lsn;
        r->snap_valid = true;
    }
    return lc->err ? 1 : 0;
}

static int load_batch(void *ctx, const weft_store_batch *b)
{
    load_ctx *lc = ctx;
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_frame = SIZE_MAX / 2;
    lc->err = weft_proto_batch_decode(b->ops.ptr, b->ops.len, &lim, &lc->m);
    if (!lc->err && weft_vv_get(&lc->tail, b->agent) < b->seq + b->len)
        lc->err = weft_vv_set(&lc->tail, b->agent, b->seq + b->len);
    for (size_t i = 0; !lc->err && i < lc->m.nops; i++) {
        int rc = weft_doc_apply(lc->r->doc, &lc->m.ops[i], NULL);
        if (rc == WEFT_E_NOMEM)
            lc->err = rc;
        else if (rc < 0) /* one bad op must not make the document unloadable */
            log_error("room_load doc=\"%s\" lsn=%llu op=%zu skipped=\"%s\" (run weft check)",
                      lc->r->name, (unsigned long long)b->lsn, i, weft_strerror(rc));
    }
    return lc->err ? 1 : 0;
}

static int load_agent(void *ctx, const weft_store_agent_row *a)
{
    load_ctx *lc = ctx;
    lc->err = room_agent_add(lc->r, a->agent, a->user);
    return lc->err ? 1 : 0;
}

/* durable = accepted = the engine's version, raised by the log's tail: ops
 * parked in the engine (waiting for dependencies) are stored all the same,
 * and their authors continue after them. */
static int room_load_versions(room *r, const weft_vv *tail)
{
    int rc = weft_doc_version(r->doc, &r->durable);
    for (size_t i = 0; rc == 0 && i < tail->n; i++)
        if (weft_vv_get(&r->durable, tail->v[i].agent) < tail->v[i].next_seq)
            rc = weft_vv_set(&r->durable, tail->v[i].agent, tail->v[i].next_seq);
    r->accepted.n = 0;
    for (size_t i = 0; rc == 0 && i < r->durable.n; i++)
        rc = weft_vv_set(&r->accepted, r->durable.v[i].agent, r->durable.v[i].next_seq);
    return rc;
}

/* Snapshot + tail + agents from storage into r (fresh). 0 or an error. */
static int room_load(room *r)
{
    server *srv = r->srv;
    load_ctx lc = {.r = r};
    weft_proto_msg_init(&lc.m);
    weft_vv_init(&lc.tail);
    uint64_t head = 0;
    int64_t t0 = now_ms();
    int rc = weft_store_load(srv->store, r->id, UINT64_MAX, load_snap, load_batch, &lc, &head);
    if (lc.snap_bad) {
        /* A snapshot this version cannot read (another format, or damaged):
         * it is only a cache of the log, so replay the whole log instead;
         * the next snapshot is written in this version's format. */
        log_warn("room_load doc=\"%s\" snapshot=%llu unreadable=\"%s\": replaying the log", r->name,
                 (unsigned long long)r->snap_lsn, weft_proto_strerror(lc.err));
        weft_doc *fresh = weft_doc_new(WEFT_NONE);
        if (!fresh) {
            rc = WEFT_PROTO_E_NOMEM;
        } else {
            weft_doc_free(r->doc);
            r->doc = fresh;
            r->snap_lsn = 0;
            r->snap_valid = false;
            lc.err = 0;
            lc.tail.n = 0;
            rc = weft_store_load(srv->store, r->id, UINT64_MAX, NULL, load_batch, &lc, &head);
        }
    }
    if (rc == 0 && !lc.err)
        rc = weft_store_agents(srv->store, r->id, load_agent, &lc);
    weft_proto_msg_cleanup(&lc.m);
    if (lc.err)
        rc = lc.err;
    if (rc == 0)
        rc = room_load_versions(r, &lc.tail);
    weft_vv_cleanup(&lc.tail);
    if (rc) {
        log_error("room_load doc=\"%s\" err=\"%s\"", r->name,
                  rc <= -100 || rc > -20 ? weft_proto_strerror(rc) : weft_store_strerror(rc));
        return rc;
    }
    r->lsn_assigned = r->lsn_durable = head;
    r->state = R_READY;
    r->parked = weft_doc_parked(r->doc);
    metrics.parked += r->parked;
    log_info("room_load doc=\"%s\" lsn=%llu snapshot=%llu agents=%zu bytes=%zu ms=%lld", r->name,
             (unsigned long long)head, (unsigned long long)r->snap_lsn, r->nagents,
             weft_doc_bytes(r->doc), (long long)(now_ms() - t0));
    return 0;
}

room *room_open(server *srv, const char *name, size_t len, bool create, uint32_t *err)
{
    room *r = room_find(srv, name, len);
    if (r)
        return r;
    char *z = strndup(name, len);
    if (!z) {
        *err = WEFT_CLOSE_INTERNAL;
        return NULL;
    }
    weft_store_doc id = 0;
    int rc = weft_store_doc_find(srv->store, z, &id);
    free(z);
    if (rc == WEFT_STORE_E_NOTFOUND && !create) {
        *err = WEFT_CLOSE_UNKNOWN_DOC;
        return NULL;
    }
    if (rc && rc != WEFT_STORE_E_NOTFOUND) {
        log_error("doc_find doc=\"%.*s\" err=\"%s\"", (int)len, name, weft_store_strerror(rc));
        *err = WEFT_CLOSE_INTERNAL;
        return NULL;
    }
    r = room_new(srv, name, len);
    if (!r) {
        *err = WEFT_CLOSE_INTERNAL;
        return NULL;
    }
    if (rc == 0) {
        r->id = id;
        if (room_load(r)) {
            room_unload_now(r);
            *err = WEFT_CLOSE_INTERNAL;
            return NULL;
        }
        return r;
    }
    r->state = R_CREATING;
    req *q = req_new(srv, REQ_DOC, r, NULL);
    if (!q || weft_store_submit_doc(srv->store, r->name, wall_ms(), (uint64_t)(uintptr_t)q)) {
        free(q);
        if (q)
            r->nreqs--;
        room_unload_now(r);
        *err = WEFT_CLOSE_INTERNAL;
        return NULL;
    }
    log_info("doc_create doc=\"%s\"", r->name);
    return r;
}

void room_created(room *r, const weft_store_completion *c)
{
    if (c->status < 0 || r->state != R_CREATING) {
        if (c->status < 0)
            room_fail(r, c->status);
        return;
    }
    r->id = c->doc;
    if (room_load(r)) {
        room_fail(r, WEFT_STORE_E_CORRUPT);
        return;
    }
    session *next;
    for (session *s = r->members; s; s = next) {
        next = s->room_next;
        if (s->state == S_JOINING)
            hello_assign_agent(s);
    }
    if (r->nmembers == 0) /* everyone left while it was being created */
        wtimer_schedule(&r->idle_timer, room_idle_cb, (int64_t)r->srv->cfg->idle_unload * 1000);
}

/* ---- members -------------------------------------------------------------------- */

void room_join(room *r, session *s)
{
    wtimer_cancel(&r->idle_timer);
    s->room = r;
    s->room_prev = NULL;
    s->room_next = r->members;
    if (r->members)
        r->members->room_prev = s;
    r->members = s;
    r->nmembers++;
}

void room_leave(room *r, session *s)
{
    presence_leave(s);
    if (s->room_prev)
        s->room_prev->room_next = s->room_next;
    else
        r->members = s->room_next;
    if (s->room_next)
        s->room_next->room_prev = s->room_prev;
    s->room = NULL;
    s->room_prev = s->room_next = NULL;
    r->nmembers--;
    if (r->nmembers == 0 && r->state == R_READY && !r->srv->destroying)
        wtimer_schedule(&r->idle_timer, room_idle_cb, (int64_t)r->srv->cfg->idle_unload * 1000);
    if (r->nmembers == 0 && r->state == R_FAILED)
        room_unload_now(r);
}

void room_broadcast(room *r, frame *f, session *except)
{
    for (session *s = r->members; s; s = s->room_next)
        if (s != except && s->state == S_LIVE)
            session_send(s, f, true);
}

/* ---- agents ------------------------------------------------------------------------ */

int room_agent_add(room *r, uint32_t agent, const char *user)
{
    if (r->nagents == r->agents_cap) {
        size_t cap = r->agents_cap ? r->agents_cap * 2 : 8;
        agent_user *a = realloc(r->agents, cap * sizeof *a);
        if (!a)
            return WEFT_STORE_E_NOMEM;
        r->agents = a;
        r->agents_cap = cap;
    }
    char *u = user ? strdup(user) : NULL;
    if (user && !u)
        return WEFT_STORE_E_NOMEM;
    /* agents arrive in increasing order (storage hands them out that way) */
    size_t i = r->nagents;
    while (i > 0 && r->agents[i - 1].agent > agent) {
        r->agents[i] = r->agents[i - 1];
        i--;
    }
    r->agents[i] = (agent_user){agent, u};
    r->nagents++;
    return 0;
}

const agent_user *room_agent_find(const room *r, uint32_t agent)
{
    size_t lo = 0, hi = r->nagents;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->agents[mid].agent < agent)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->nagents && r->agents[lo].agent == agent ? &r->agents[lo] : NULL;
}

/* ---- log positions ----------------------------------------------------------------- */

void room_pending_push(room *r, uint64_t lsn, frame *batch)
{
    if (r->npending == r->pending_cap) {
        size_t cap = r->pending_cap ? r->pending_cap * 2 : 16;
        pending_batch *p = realloc(r->pending, cap * sizeof *p);
        if (!p) {
            room_fail(r, WEFT_STORE_E_NOMEM);
            return;
        }
        r->pending = p;
        r->pending_cap = cap;
    }
    r->pending[r->npending++] = (pending_batch){lsn, frame_ref(batch)};
}

static void room_waiters_run(room *r)
{
    size_t keep = 0;
    for (size_t i = 0; i < r->nwaiters; i++) {
        ack_waiter *w = &r->waiters[i];
        if (w->lsn > r->lsn_durable) {
            r->waiters[keep++] = *w;
            continue;
        }
        weft_buf b;
        weft_buf_init(&b);
        if (weft_proto_encode_ack(&b, w->agent, w->next_seq, (uint32_t)w->lsn) == 0)
            session_send_bytes(w->s, &b, false);
        weft_buf_cleanup(&b);
        session_unref(w->s);
    }
    r->nwaiters = keep;
}

void room_ack_wait(room *r, session *s, uint32_t agent, uint32_t next_seq, uint64_t lsn)
{
    if (r->nwaiters == r->waiters_cap) {
        size_t cap = r->waiters_cap ? r->waiters_cap * 2 : 8;
        ack_waiter *w = realloc(r->waiters, cap * sizeof *w);
        if (!w) {
            session_close(s, WEFT_CLOSE_INTERNAL, "out of memory", true);
            return;
        }
        r->waiters = w;
        r->waiters_cap = cap;
    }
    r->waiters[r->nwaiters++] = (ack_waiter){session_ref(s), agent, next_seq, lsn};
    room_waiters_run(r);
}

void room_durable(room *r, uint64_t lsn, uint32_t agent, uint32_t next_seq)
{
    if (lsn > r->lsn_durable)
        r->lsn_durable = lsn;
    if (weft_vv_get(&r->durable, agent) < next_seq)
        weft_vv_set(&r->durable, agent, next_seq);
    size_t keep = 0;
    for (size_t i = 0; i < r->npending; i++) {
        if (r->pending[i].lsn <= r->lsn_durable)
            frame_unref(r->pending[i].batch);
        else
            r->pending[keep++] = r->pending[i];
    }
    r->npending = keep;
    room_waiters_run(r);
}

/* ---- snapshots and unloading -------------------------------------------------------------- */

int room_snapshot(room *r, const weft_buf **out)
{
    /* every change to the document assigns a new LSN, so the LSN names the state */
    if (!r->snap_valid || r->snap_at != r->lsn_assigned) {
        r->snap_valid = false;
        int rc = weft_proto_snapshot_encode(r->doc, (uint32_t)r->lsn_assigned, &r->snap);
        if (rc)
            return rc;
        r->snap_at = r->lsn_assigned;
        r->snap_valid = true;
    }
    *out = &r->snap;
    return 0;
}

void room_maybe_snapshot(room *r, bool force)
{
    server *srv = r->srv;
    if (r->state != R_READY || r->lsn_assigned <= r->snap_lsn || weft_doc_parked(r->doc) > 0)
        return;
    if (!force && r->lsn_assigned - r->snap_lsn < srv->cfg->snapshot_every)
        return;
    /* One periodic snapshot per loop pass: encoding holds the loop (1-2 ms
     * for a 20,000-char document), and rooms that type at the same pace
     * reach K together (S6r: ten rooms in one pass held every ack up to
     * 20 ms). A room left out tries again with its next batch; its tail
     * is a little longer than K meanwhile. */
    if (!force && srv->snap_pass == srv->pass + 1)
        return;
    if (!force)
        srv->snap_pass = srv->pass + 1;
    const weft_buf *bp = NULL;
    int rc = room_snapshot(r, &bp);
    req *q = rc ? NULL : req_new(srv, REQ_SNAPSHOT, r, NULL);
    if (q) {
        q->lsn = r->lsn_assigned;
        weft_store_bytes st = {(const uint8_t *)bp->p, bp->n};
        rc = weft_store_submit_snapshot(srv->store, r->id, r->lsn_assigned, st, wall_ms(),
                                        (uint64_t)(uintptr_t)q);
        if (rc) {
            r->nreqs--;
            free(q);
        }
    }
    if (rc == 0)
        r->snap_lsn = r->lsn_assigned;
    log_info("snapshot doc=\"%s\" lsn=%llu bytes=%zu status=%d", r->name,
             (unsigned long long)r->lsn_assigned, bp ? bp->n : 0, rc);
}

static void room_idle_cb(wtimer *t)
{
    room *r = lws_container_of(t, room, idle_timer);
    if (r->nmembers > 0 || r->state != R_READY)
        return;
    if (r->lsn_durable < r->lsn_assigned) { /* commits in flight: look again soon */
        wtimer_schedule(&r->idle_timer, room_idle_cb, 100);
        return;
    }
    room_maybe_snapshot(r, true);
    log_info("room_unload doc=\"%s\" lsn=%llu", r->name, (unsigned long long)r->lsn_assigned);
    room_unload_now(r);
}

void room_fail(room *r, int err)
{
    if (r->state == R_FAILED || r->state == R_UNLOADED)
        return;
    log_error("room_fail doc=\"%s\" err=\"%s\"", r->name, weft_store_strerror(err));
    r->state = R_FAILED;
    room_unlink(r);
    for (session *s = r->members; s; s = s->room_next)
        session_close(s, WEFT_CLOSE_TRY_AGAIN, "storage error: reconnect and resync", true);
    if (r->nmembers == 0)
        room_unload_now(r);
}

void room_unload_now(room *r)
{
    if (r->state == R_UNLOADED)
        return;
    if (r->state != R_FAILED)
        room_unlink(r);
    r->state = R_UNLOADED;
    wtimer_cancel(&r->idle_timer);
    wtimer_cancel(&r->presence_timer);
    r->dead_next = r->srv->dead_rooms;
    r->srv->dead_rooms = r;
}

void room_free(room *r)
{
    metrics.parked -= r->parked;
    metrics.rooms--;
    for (size_t i = 0; i < r->npending; i++)
        frame_unref(r->pending[i].batch);
    for (size_t i = 0; i < r->nwaiters; i++)
        session_unref(r->waiters[i].s);
    for (size_t i = 0; i < r->nagents; i++)
        free(r->agents[i].user);
    free(r->pending);
    free(r->waiters);
    free(r->agents);
    weft_buf_cleanup(&r->snap);
    weft_vv_cleanup(&r->durable);
    weft_vv_cleanup(&r->accepted);
    weft_doc_free(r->doc);
    free(r->name);
    free(r);
}

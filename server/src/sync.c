/* sync.c — the welcome: exactly what the joining client lacks, in chunks.
 *
 * An empty version vector gets a snapshot of the room's engine (one frame).
 * Otherwise the batches the client lacks, each trimmed to what its vector
 * lacks, about SYNC_CHUNK bytes per welcome frame. Chunks are produced one
 * at a time, when the client's queue has run empty (sync_pump from the
 * writeable callback), so a slow client costs one chunk of memory and
 * heartbeats flow between chunks. The range is fixed at hello time: the
 * LSNs after the smallest one the client lacks (weft_store_since) up to the
 * room's last assigned LSN, read from storage or, if not committed yet,
 * from room->pending. Whatever is sent to the session meanwhile (later
 * broadcasts, acks, presence) waits in s->deferred and follows the last
 * chunk.
 */
#include "log.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define SYNC_CHUNK (64u << 10)

typedef struct sync_state {
    weft_vv have;      /* the client's version: what to trim */
    weft_vv vv;        /* the server's version at hello */
    uint32_t next_seq; /* durable next seq of the client's agent at hello */
    uint64_t next_lsn; /* next LSN to look at */
    uint64_t end_lsn;  /* the last LSN of this sync */
} sync_state;

/* One chunk being built. */
typedef struct chunk {
    session *s;
    sync_state *st;
    weft_proto_msg m;   /* the welcome frame */
    weft_proto_msg dec; /* scratch: one decoded batch */
    uint8_t **copies;   /* batch bytes the chunk's op texts point into */
    size_t ncopies, copies_cap;
    weft_op *kept;
    size_t kept_cap;
    size_t bytes;
    bool full;
    int err;
} chunk;

void op_trim(weft_op *op, uint32_t k)
{
    if (op->kind == WEFT_OP_INS) {
        const char *p = op->text, *end = op->text + op->bytes;
        for (uint32_t i = 0; i < k && p < end; i++)
            do
                p++;
            while (p < end && ((uint8_t)*p & 0xc0) == 0x80);
        op->bytes -= (uint32_t)(p - op->text);
        op->text = p;
        op->ol = (weft_id){op->id.agent, op->id.seq + k - 1};
    } else {
        op->target.seq += k;
    }
    op->id.seq += k;
    op->len -= k;
}

/* ---- building one chunk -------------------------------------------------------- */

static uint8_t *chunk_copy(chunk *c, const uint8_t *p, size_t len)
{
    if (c->ncopies == c->copies_cap) {
        size_t cap = c->copies_cap ? c->copies_cap * 2 : 16;
        uint8_t **v = realloc(c->copies, cap * sizeof *v);
        if (!v)
            return NULL;
        c->copies = v;
        c->copies_cap = cap;
    }
    uint8_t *b = malloc(len ? len : 1);
    if (b) {
        memcpy(b, p, len);
        c->copies[c->ncopies++] = b;
    }
    return b;
}

/* The ops of c->dec the client lacks, trimmed, into c->kept. */
static size_t chunk_trim(chunk *c)
{
    if (c->kept_cap < c->dec.nops) {
        weft_op *k = realloc(c->kept, c->dec.nops * sizeof *k);
        if (!k) {
            c->err = WEFT_PROTO_E_NOMEM;
            return 0;
        }
        c->kept = k;
        c->kept_cap = c->dec.nops;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->dec.nops; i++) {
        weft_op op = c->dec.ops[i];
        uint32_t known = weft_vv_get(&c->st->have, op.id.agent);
        if (op.id.seq + op.len <= known)
            continue;
        if (op.id.seq < known)
            op_trim(&op, known - op.id.seq);
        c->kept[n++] = op;
    }
    return n;
}

/* Adds batch lsn unless the chunk is full: then c->full and next_lsn stays. */
static void chunk_add(chunk *c, uint64_t lsn, const uint8_t *p, size_t len)
{
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_frame = SIZE_MAX / 2;
    uint8_t *b = chunk_copy(c, p, len);
    int rc = b ? weft_proto_batch_decode(b, len, &lim, &c->dec) : WEFT_PROTO_E_NOMEM;
    size_t n = rc ? 0 : chunk_trim(c);
    if (rc || c->err) {
        c->err = rc ? rc : c->err;
        return;
    }
    if (n > 0 && c->m.nbatches > 0 && c->bytes + len > SYNC_CHUNK) {
        c->full = true; /* this batch opens the next chunk */
        return;
    }
    if (n > 0)
        c->err = weft_proto_msg_add_batch(&c->m, true, (uint32_t)lsn, c->dec.parents,
                                          c->dec.nparents, c->kept, n);
    c->bytes += len;
    c->st->next_lsn = lsn + 1;
}

static int chunk_store_batch(void *ctx, const weft_store_batch *b)
{
    chunk *c = ctx;
    if (b->lsn < c->st->next_lsn || b->lsn > c->st->end_lsn)
        return 0;
    chunk_add(c, b->lsn, b->ops.ptr, b->ops.len);
    return c->full || c->err ? 1 : 0;
}

/* Fills c from storage, then from the batches still being committed. */
static void chunk_fill(chunk *c)
{
    session *s = c->s;
    room *r = s->room;
    int rc = weft_store_range(s->srv->store, r->id, c->st->next_lsn, c->st->end_lsn,
                              chunk_store_batch, c);
    if (rc < 0 && !c->err)
        c->err = rc;
    for (size_t i = 0; i < r->npending && !c->full && !c->err; i++) {
        pending_batch *pb = &r->pending[i];
        if (pb->lsn >= c->st->next_lsn && pb->lsn <= c->st->end_lsn)
            chunk_add(c, pb->lsn, pb->batch->data, pb->batch->len);
    }
}

/* Encodes c as a welcome frame into s's queue. */
static void chunk_emit(chunk *c, bool more, const weft_vv *vv, uint32_t next_seq, uint64_t lsn)
{
    session *s = c->s;
    weft_proto_msg *m = &c->m;
    m->type = WEFT_MSG_WELCOME;
    m->agent = s->agent;
    m->next_seq = next_seq;
    m->lsn = (uint32_t)lsn;
    m->more = more;
    if (m->body != WEFT_BODY_SNAPSHOT)
        m->body = m->nbatches ? WEFT_BODY_OPS : WEFT_BODY_NONE;
    for (size_t i = 0; i < vv->n && !c->err; i++)
        c->err = weft_vv_set(&m->vv, vv->v[i].agent, vv->v[i].next_seq);
    if (!more && !c->err && presence_add_all(s->room, m, s))
        c->err = WEFT_PROTO_E_NOMEM;
    weft_buf b;
    weft_buf_init(&b);
    if (!c->err)
        c->err = weft_proto_encode(m, &b);
    frame *f = c->err ? NULL : frame_new(b.p, b.n);
    if (f) {
        outq_push(&s->q, f, false);
        frame_unref(f);
    } else if (!c->err) {
        c->err = WEFT_PROTO_E_NOMEM;
    }
    weft_buf_cleanup(&b);
}

static void chunk_init(chunk *c, session *s, sync_state *st)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->st = st;
    weft_proto_msg_init(&c->m);
    weft_proto_msg_init(&c->dec);
}

static void chunk_cleanup(chunk *c)
{
    for (size_t i = 0; i < c->ncopies; i++)
        free(c->copies[i]);
    free(c->copies);
    free(c->kept);
    weft_proto_msg_cleanup(&c->m);
    weft_proto_msg_cleanup(&c->dec);
}

/* ---- the sync state ---------------------------------------------------------------- */

static void sync_free(sync_state *st)
{
    if (!st)
        return;
    weft_vv_cleanup(&st->have);
    weft_vv_cleanup(&st->vv);
    free(st);
}

/* The sync is over: what was deferred follows the last chunk. */
static void sync_finish(session *s)
{
    sync_free(s->sync);
    s->sync = NULL;
    frame *f;
    while (!outq_empty(&s->deferred)) {
        bool counted = s->deferred.items[s->deferred.head].counted;
        f = outq_pop(&s->deferred);
        outq_push(&s->q, f, counted);
        frame_unref(f);
    }
    outq_cleanup(&s->deferred);
}

void sync_abort(session *s)
{
    if (!s->sync)
        return;
    sync_free(s->sync);
    s->sync = NULL;
    outq_cleanup(&s->deferred);
}

void sync_pump(session *s)
{
    sync_state *st = s->sync;
    chunk c;
    chunk_init(&c, s, st);
    chunk_fill(&c);
    bool more = c.full;
    if (!c.err)
        chunk_emit(&c, more, &st->vv, st->next_seq, st->end_lsn);
    int err = c.err;
    chunk_cleanup(&c);
    if (err) {
        log_error("welcome session=%llu err=\"%s\"", (unsigned long long)s->id,
                  err <= -100 ? weft_proto_strerror(err) : weft_store_strerror(err));
        session_close(s, WEFT_CLOSE_INTERNAL, "cannot build the welcome", true);
    } else if (!more) {
        sync_finish(s);
    }
}

/* Smallest LSN holding something the client lacks (0: none). */
static int first_lsn_cb(void *ctx, const weft_store_batch *b)
{
    *(uint64_t *)ctx = b->lsn;
    return 1;
}

static uint64_t sync_first_lsn(session *s)
{
    const weft_vv *vv = &s->hello_vv;
    room *r = s->room;
    weft_store_vv_entry *e = malloc((vv->n ? vv->n : 1) * sizeof *e);
    uint64_t first = 0;
    if (!e)
        return 1;
    for (size_t i = 0; i < vv->n; i++)
        e[i] = (weft_store_vv_entry){vv->v[i].agent, vv->v[i].next_seq};
    int rc = weft_store_since(s->srv->store, r->id, e, vv->n, first_lsn_cb, &first);
    free(e);
    if (rc < 0 || first == 0) /* not committed yet, or unreadable: scan what is pending */
        first = rc < 0 ? 1 : r->lsn_durable + 1;
    return first;
}

static int sync_start(session *s)
{
    room *r = s->room;
    sync_state *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    weft_vv_init(&st->have);
    weft_vv_init(&st->vv);
    st->have = s->hello_vv; /* takes the hello's vector */
    weft_vv_init(&s->hello_vv);
    st->next_seq = weft_vv_get(&r->durable, s->agent);
    st->end_lsn = r->lsn_assigned;
    st->next_lsn = sync_first_lsn(s);
    if (weft_doc_version(r->doc, &st->vv)) {
        sync_free(st);
        return -1;
    }
    s->sync = st;
    return 0;
}

/* An empty client: one welcome with a snapshot (or nothing, for an empty doc). */
static int sync_snapshot(session *s)
{
    room *r = s->room;
    chunk c;
    chunk_init(&c, s, NULL);
    const weft_buf *snap = NULL;
    if (r->lsn_assigned > 0 || weft_doc_len(r->doc) > 0) {
        c.err = room_snapshot(r, &snap);
        c.m.body = WEFT_BODY_SNAPSHOT;
        if (snap)
            c.m.snapshot = (weft_proto_str){snap->p, (uint32_t)snap->n};
    }
    weft_vv vv;
    weft_vv_init(&vv);
    if (!c.err && weft_doc_version(r->doc, &vv))
        c.err = WEFT_PROTO_E_NOMEM;
    if (!c.err)
        chunk_emit(&c, false, &vv, weft_vv_get(&r->durable, s->agent), r->lsn_assigned);
    int err = c.err;
    weft_vv_cleanup(&vv);
    chunk_cleanup(&c);
    return err;
}

void sync_welcome(session *s)
{
    /* A snapshot cannot hold parked ops: while there are any, an empty client
     * gets the whole log instead, or it would miss them when they apply. */
    bool snapshot = s->hello_vv.n == 0 && weft_doc_parked(s->room->doc) == 0;
    int err = snapshot ? sync_snapshot(s) : sync_start(s);
    if (err) {
        log_error("welcome session=%llu err=%d", (unsigned long long)s->id, err);
        session_close(s, WEFT_CLOSE_INTERNAL, "cannot build the welcome", true);
        return;
    }
    s->state = S_LIVE;
    log_info("welcome session=%llu doc=\"%s\" agent=%u lsn=%llu body=%s", (unsigned long long)s->id,
             s->room->name, s->agent, (unsigned long long)s->room->lsn_assigned,
             snapshot ? "snapshot" : "ops");
    lws_callback_on_writable(s->wsi);
}

/* sync.c — the welcome: exactly what the joining client lacks, in chunks.
 *
 * An empty version vector gets a snapshot of the room's engine (one frame).
 * Otherwise the batches the client lacks: committed ones from storage
 * (weft_store_since), then the ones still being committed (room->pending),
 * each trimmed to what the client's vector lacks, about SYNC_CHUNK bytes
 * per welcome frame. All chunks are queued at once, before any later
 * broadcast, so ordering holds; they do not count against --outbound-max.
 */
#include "log.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define SYNC_CHUNK (64u << 10)

typedef struct sync_ctx {
    session *s;
    room *r;
    weft_proto_msg m;   /* the chunk being built */
    weft_proto_msg dec; /* scratch: one decoded batch */
    uint8_t **copies;   /* batch bytes the chunk's op texts point into */
    size_t ncopies, copies_cap;
    weft_op *kept;
    size_t kept_cap;
    size_t chunk_bytes;
    uint64_t last_lsn;
    int err;
} sync_ctx;

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

static void sync_header(sync_ctx *sc)
{
    session *s = sc->s;
    weft_proto_msg *m = &sc->m;
    m->type = WEFT_MSG_WELCOME;
    m->agent = s->agent;
    m->next_seq = weft_vv_get(&sc->r->durable, s->agent);
    m->lsn = (uint32_t)sc->r->lsn_assigned;
    if (weft_doc_version(sc->r->doc, &m->vv))
        sc->err = WEFT_PROTO_E_NOMEM;
}

static void sync_emit(sync_ctx *sc, bool more)
{
    weft_proto_msg *m = &sc->m;
    sync_header(sc);
    if (m->body != WEFT_BODY_SNAPSHOT)
        m->body = m->nbatches ? WEFT_BODY_OPS : WEFT_BODY_NONE;
    m->more = more;
    if (!more && presence_add_all(sc->r, m, sc->s))
        sc->err = WEFT_PROTO_E_NOMEM;
    weft_buf b;
    weft_buf_init(&b);
    int rc = sc->err ? sc->err : weft_proto_encode(m, &b);
    if (rc == 0)
        session_send_bytes(sc->s, &b, false);
    else
        sc->err = rc;
    weft_buf_cleanup(&b);
    weft_proto_msg_reset(m);
    for (size_t i = 0; i < sc->ncopies; i++)
        free(sc->copies[i]);
    sc->ncopies = 0;
    sc->chunk_bytes = 0;
}

static uint8_t *sync_copy(sync_ctx *sc, const uint8_t *p, size_t len)
{
    if (sc->ncopies == sc->copies_cap) {
        size_t cap = sc->copies_cap ? sc->copies_cap * 2 : 16;
        uint8_t **c = realloc(sc->copies, cap * sizeof *c);
        if (!c)
            return NULL;
        sc->copies = c;
        sc->copies_cap = cap;
    }
    uint8_t *c = malloc(len ? len : 1);
    if (c) {
        memcpy(c, p, len);
        sc->copies[sc->ncopies++] = c;
    }
    return c;
}

/* The ops of dec the client lacks, trimmed, into sc->kept. */
static size_t sync_trim(sync_ctx *sc)
{
    if (sc->kept_cap < sc->dec.nops) {
        weft_op *k = realloc(sc->kept, sc->dec.nops * sizeof *k);
        if (!k)
            return 0;
        sc->kept = k;
        sc->kept_cap = sc->dec.nops;
    }
    size_t n = 0;
    for (size_t i = 0; i < sc->dec.nops; i++) {
        weft_op op = sc->dec.ops[i];
        uint32_t known = weft_vv_get(&sc->s->hello_vv, op.id.agent);
        if (op.id.seq + op.len <= known)
            continue;
        if (op.id.seq < known)
            op_trim(&op, known - op.id.seq);
        sc->kept[n++] = op;
    }
    return n;
}

static int sync_add(sync_ctx *sc, uint64_t lsn, const uint8_t *p, size_t len)
{
    if (sc->m.nbatches > 0 && sc->chunk_bytes + len > SYNC_CHUNK)
        sync_emit(sc, true);
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_frame = SIZE_MAX / 2;
    uint8_t *c = sync_copy(sc, p, len);
    int rc = c ? weft_proto_batch_decode(c, len, &lim, &sc->dec) : WEFT_PROTO_E_NOMEM;
    size_t n = rc ? 0 : sync_trim(sc);
    if (rc == 0 && n > 0)
        rc = weft_proto_msg_add_batch(&sc->m, true, (uint32_t)lsn, sc->dec.parents,
                                      sc->dec.nparents, sc->kept, n);
    sc->chunk_bytes += len;
    sc->last_lsn = lsn;
    if (rc)
        sc->err = rc;
    return rc;
}

static int sync_store_batch(void *ctx, const weft_store_batch *b)
{
    sync_ctx *sc = ctx;
    if (b->lsn > sc->r->lsn_assigned)
        return 0;
    return sync_add(sc, b->lsn, b->ops.ptr, b->ops.len) ? 1 : 0;
}

static void sync_ops(sync_ctx *sc)
{
    const weft_vv *vv = &sc->s->hello_vv;
    weft_store_vv_entry *e = malloc((vv->n ? vv->n : 1) * sizeof *e);
    if (!e) {
        sc->err = WEFT_PROTO_E_NOMEM;
        return;
    }
    for (size_t i = 0; i < vv->n; i++)
        e[i] = (weft_store_vv_entry){vv->v[i].agent, vv->v[i].next_seq};
    int rc = weft_store_since(sc->s->srv->store, sc->r->id, e, vv->n, sync_store_batch, sc);
    free(e);
    if (rc && !sc->err)
        sc->err = rc < 0 ? rc : WEFT_PROTO_E_NOMEM;
    for (size_t i = 0; !sc->err && i < sc->r->npending; i++) {
        pending_batch *pb = &sc->r->pending[i];
        if (pb->lsn > sc->last_lsn)
            sync_add(sc, pb->lsn, pb->batch->data, pb->batch->len);
    }
}

static void sync_snapshot(sync_ctx *sc, weft_buf *snap)
{
    if (sc->r->lsn_assigned == 0 && weft_doc_len(sc->r->doc) == 0)
        return; /* nothing to send */
    int rc = weft_proto_snapshot_encode(sc->r->doc, (uint32_t)sc->r->lsn_assigned, snap);
    if (rc) {
        sc->err = rc;
        return;
    }
    sc->m.body = WEFT_BODY_SNAPSHOT;
    sc->m.snapshot = (weft_proto_str){snap->p, (uint32_t)snap->n};
}

void sync_welcome(session *s)
{
    sync_ctx sc = {.s = s, .r = s->room};
    weft_proto_msg_init(&sc.m);
    weft_proto_msg_init(&sc.dec);
    weft_buf snap;
    weft_buf_init(&snap);
    if (s->hello_vv.n == 0)
        sync_snapshot(&sc, &snap);
    else
        sync_ops(&sc);
    if (!sc.err)
        sync_emit(&sc, false);
    if (sc.err) {
        log_error("welcome session=%llu err=%d", (unsigned long long)s->id, sc.err);
        session_close(s, WEFT_CLOSE_INTERNAL, "cannot build the welcome", true);
    } else {
        s->state = S_LIVE;
        log_info("welcome session=%llu doc=\"%s\" agent=%u lsn=%llu body=%s queued=%zu",
                 (unsigned long long)s->id, s->room->name, s->agent,
                 (unsigned long long)s->room->lsn_assigned,
                 snap.n       ? "snapshot"
                 : s->q.n > 1 ? "ops"
                              : "none",
                 s->q.bytes_all);
    }
    for (size_t i = 0; i < sc.ncopies; i++)
        free(sc.copies[i]);
    free(sc.copies);
    free(sc.kept);
    weft_buf_cleanup(&snap);
    weft_proto_msg_cleanup(&sc.m);
    weft_proto_msg_cleanup(&sc.dec);
    weft_vv_cleanup(&s->hello_vv);
    weft_vv_init(&s->hello_vv);
}

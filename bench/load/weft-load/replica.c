/* replica.c — the engine side of a connection: hello and welcome, remote
 * batches into the replica, local typing into batches, presence, acks, and
 * the frontier (the parents of the next local batch, as client-js keeps it).
 *
 * Hot path (every keystroke and every delivery): no allocation once the
 * scratch buffers and the per-connection arrays have grown.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static weft_proto_msg g_enc;
static weft_buf g_buf;
static weft_oplist g_ops;
static bool g_init;

static void scratch_init(void)
{
    if (g_init)
        return;
    weft_proto_msg_init(&g_enc);
    weft_buf_init(&g_buf);
    weft_oplist_init(&g_ops);
    g_init = true;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* ---- the frontier ------------------------------------------------------------- */

static int id_cmp(weft_id a, weft_id b)
{
    if (a.agent != b.agent)
        return a.agent < b.agent ? -1 : 1;
    return (a.seq > b.seq) - (a.seq < b.seq);
}

void replica_frontier_local(conn *c, const weft_op *last)
{
    if (grow((void **)&c->front, &c->front_cap, 1, sizeof *c->front))
        return;
    c->front[0] = (weft_id){last->id.agent, last->id.seq + last->len - 1};
    c->nfront = 1;
}

static bool id_in(const weft_id *v, size_t n, weft_id id)
{
    for (size_t i = 0; i < n; i++)
        if (weft_id_eq(v[i], id))
            return true;
    return false;
}

/* Adds (or raises) the head of op's agent in the frontier. */
static void frontier_head(conn *c, const weft_op *op)
{
    weft_id last = {op->id.agent, op->id.seq + op->len - 1};
    for (size_t i = 0; i < c->nfront; i++)
        if (c->front[i].agent == last.agent) {
            if (c->front[i].seq < last.seq)
                c->front[i] = last;
            return;
        }
    if (grow((void **)&c->front, &c->front_cap, c->nfront + 1, sizeof *c->front))
        return;
    size_t i = c->nfront++;
    for (; i > 0 && id_cmp(c->front[i - 1], last) > 0; i--) /* keep it sorted */
        c->front[i] = c->front[i - 1];
    c->front[i] = last;
}

/* A remote batch: its parents leave the frontier, its heads join it. The
 * frontier holds one entry per agent at most (a handful per room). */
static void frontier_remote(conn *c, const weft_id *parents, size_t np, const weft_op *ops,
                            size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nfront; i++)
        if (!id_in(parents, np, c->front[i]))
            c->front[k++] = c->front[i];
    c->nfront = k;
    for (size_t i = 0; i < n; i++)
        frontier_head(c, &ops[i]);
}

static void frontier_from_vv(conn *c, const weft_vv *vv)
{
    c->nfront = 0;
    if (grow((void **)&c->front, &c->front_cap, vv->n, sizeof *c->front))
        return;
    for (size_t i = 0; i < vv->n; i++)
        c->front[c->nfront++] = (weft_id){vv->v[i].agent, vv->v[i].next_seq - 1};
}

/* ---- hello and welcome ----------------------------------------------------------- */

int replica_hello(conn *c)
{
    scratch_init();
    char name[32];
    snprintf(name, sizeof name, "load-%u", c->idx);
    weft_proto_msg_reset(&g_enc);
    g_enc.type = WEFT_MSG_HELLO;
    g_enc.proto = WEFT_PROTO_VERSION;
    g_enc.doc = (weft_proto_str){c->room->name, (uint32_t)strlen(c->room->name)};
    g_enc.has_user = true;
    g_enc.user.name = (weft_proto_str){name, (uint32_t)strlen(name)};
    g_enc.user.colour = (weft_proto_str){"#3b82f6", 7};
    int rc = weft_proto_encode(&g_enc, &g_buf);
    if (rc == 0)
        rc = conn_send(c, &g_buf);
    if (rc)
        run_error("conn %u: cannot send hello", c->idx);
    return rc;
}

static int apply_batches(conn *c, const weft_proto_msg *m)
{
    for (size_t b = 0; b < m->nbatches; b++) {
        const weft_proto_batch *bt = &m->batches[b];
        const weft_op *ops = m->ops + bt->ops_off;
        for (size_t i = 0; i < bt->nops; i++) {
            int rc = weft_doc_apply(c->doc, &ops[i], NULL);
            if (rc < 0) {
                run_error("conn %u: engine refused a welcome op: %s", c->idx, weft_strerror(rc));
                return -1;
            }
        }
        frontier_remote(c, m->parents + bt->parents_off, bt->nparents, ops, bt->nops);
    }
    return 0;
}

int replica_welcome(conn *c, const weft_proto_msg *m, bool *done)
{
    if (!c->doc) {
        c->agent = m->agent;
        c->acked = m->next_seq;
        c->doc = weft_doc_new(m->agent);
        if (!c->doc) {
            run_error("conn %u: out of memory", c->idx);
            return -1;
        }
    }
    int rc = 0;
    int64_t t0 = mono_ns();
    if (m->body == WEFT_BODY_SNAPSHOT) {
        weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
        uint32_t lsn;
        if (c->role == ROLE_JOINER && !m->more) {
            /* The snapshot is the whole welcome: its text is the document
             * now, what an editor shows before the replica is built. */
            rc = weft_proto_snapshot_text((const uint8_t *)m->snapshot.p, m->snapshot.len, &lim,
                                          &c->shown, &lsn);
            c->t_text_ns = mono_ns();
            c->text_ns = c->t_text_ns - t0;
            t0 = c->t_text_ns; /* load_ns: the replica's part only */
            if (rc)
                run_error("conn %u: snapshot text does not read: %s", c->idx,
                          weft_proto_strerror(rc));
        }
        if (rc == 0) {
            rc = weft_proto_snapshot_load((const uint8_t *)m->snapshot.p, m->snapshot.len, &lim,
                                          c->doc, &lsn);
            if (rc)
                run_error("conn %u: snapshot does not load: %s", c->idx, weft_proto_strerror(rc));
            else
                frontier_from_vv(c, &m->vv);
        }
    } else if (m->body == WEFT_BODY_OPS) {
        rc = apply_batches(c, m);
    }
    c->load_ns += mono_ns() - t0;
    *done = !m->more;
    return rc ? -1 : 0;
}

/* ---- remote batches -------------------------------------------------------------- */

/* Latency of every char of op that a typist of this room sent. */
static void count_delivery(conn *c, const weft_op *op, int64_t now)
{
    conn *t = c->room ? room_typist(c->room, op->id.agent) : NULL;
    if (!t || t == c)
        return;
    for (uint32_t k = 0; k < op->len; k++) {
        uint32_t seq = op->id.seq + k;
        if (seq >= t->sent_cap || t->sent_ns[seq] == 0)
            continue;
        g.delivered++;
        samples_add(&g.lat, (double)(now - t->sent_ns[seq]) / 1e6);
    }
}

int replica_ops(conn *c, const weft_proto_msg *m, int64_t now)
{
    if (m->nbatches != 1)
        return 0;
    const weft_proto_batch *bt = &m->batches[0];
    const weft_op *ops = m->ops + bt->ops_off;
    for (size_t i = 0; i < bt->nops; i++) {
        int rc = weft_doc_apply(c->doc, &ops[i], NULL);
        if (rc < 0) {
            run_error("conn %u: engine refused op %u:%u: %s", c->idx, ops[i].id.agent,
                      ops[i].id.seq, weft_strerror(rc));
            return -1;
        }
        count_delivery(c, &ops[i], now);
    }
    frontier_remote(c, m->parents + bt->parents_off, bt->nparents, ops, bt->nops);
    return 0;
}

/* ---- acknowledgements ------------------------------------------------------------- */

static int inflight_push(conn *c, uint32_t end_seq, int64_t t)
{
    if (c->fl_n == c->fl_cap) {
        size_t cap = c->fl_cap ? c->fl_cap * 2 : 16;
        inflight *v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < c->fl_n; i++)
            v[i] = c->fl[(c->fl_head + i) % c->fl_cap];
        free(c->fl);
        c->fl = v;
        c->fl_head = 0;
        c->fl_cap = cap;
    }
    c->fl[(c->fl_head + c->fl_n++) % c->fl_cap] = (inflight){end_seq, t};
    return 0;
}

void replica_ack(conn *c, const weft_proto_msg *m, int64_t now)
{
    if (m->agent != c->agent)
        return;
    if (m->next_seq > c->acked)
        c->acked = m->next_seq;
    while (c->fl_n && c->fl[c->fl_head].end_seq <= c->acked) {
        samples_add(&g.ack, (double)(now - c->fl[c->fl_head].t_ns) / 1e6);
        if (g.measuring)
            g.acks_in_window++;
        c->fl_head = (c->fl_head + 1) % c->fl_cap;
        c->fl_n--;
    }
}

/* ---- local edits ------------------------------------------------------------------- */

/* Encodes ops [0, n) as one batch after the frontier and queues it. */
static int send_batch(conn *c, const weft_op *ops, size_t n, int64_t t)
{
    weft_proto_msg_reset(&g_enc);
    g_enc.type = WEFT_MSG_OPS;
    int rc = weft_proto_msg_add_batch(&g_enc, false, 0, c->front, c->nfront, ops, n);
    if (rc == 0)
        rc = weft_proto_encode(&g_enc, &g_buf);
    if (rc == 0)
        rc = conn_send(c, &g_buf);
    if (rc == 0)
        rc = inflight_push(c, ops[n - 1].id.seq + ops[n - 1].len, t);
    if (rc) {
        run_error("conn %u: cannot send a batch", c->idx);
        return -1;
    }
    replica_frontier_local(c, &ops[n - 1]);
    return 0;
}

static int remember_typed(conn *c, uint32_t seq, char ch, int64_t now)
{
    size_t old = c->sent_cap;
    if (grow((void **)&c->sent_ns, &c->sent_cap, (size_t)seq + 1, sizeof *c->sent_ns) ||
        grow((void **)&c->typed, &c->typed_cap, c->typed_n + 1, 1))
        return -1;
    if (c->sent_cap > old) /* 0 = not typed here (e.g. seqs from before a reconnect) */
        memset(c->sent_ns + old, 0, (c->sent_cap - old) * sizeof *c->sent_ns);
    c->sent_ns[seq] = now;
    c->typed[c->typed_n++] = ch;
    return 0;
}

/* Where the next char goes: after our last one, else a random gap. */
static uint32_t cursor_pos(conn *c)
{
    uint32_t pos;
    if (c->has_cursor && weft_doc_anchor_pos(c->doc, c->cursor, &pos) == 0)
        return pos;
    uint32_t len = weft_doc_len(c->doc);
    c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((c->rng >> 33) % ((uint64_t)len + 1));
}

int replica_type(conn *c, char ch, int64_t now)
{
    scratch_init();
    uint32_t pos = cursor_pos(c);
    weft_oplist_clear(&g_ops);
    int rc = weft_doc_insert(c->doc, pos, &ch, 1, &g_ops);
    if (rc < 0 || g_ops.n != 1) {
        run_error("conn %u: local insert failed: %s", c->idx, weft_strerror(rc));
        return -1;
    }
    const weft_op *op = &g_ops.ops[0];
    if (remember_typed(c, op->id.seq, ch, now)) {
        run_error("conn %u: out of memory", c->idx);
        return -1;
    }
    c->cursor = (weft_anchor){op->id, -1}; /* the gap after this char */
    c->has_cursor = true;
    g.sent++; /* typists type only in the measured phase */
    g.expected += c->room->n - 1;
    return send_batch(c, op, 1, now);
}

int replica_presence(conn *c)
{
    weft_proto_presence p;
    memset(&p, 0, sizeof p);
    p.agent = c->agent;
    p.clock = ++c->pres_clock;
    p.has_state = true;
    p.anchor = p.head = c->cursor;
    p.user.name = (weft_proto_str){"load", 4};
    p.user.colour = (weft_proto_str){"#3b82f6", 7};
    weft_proto_msg_reset(&g_enc);
    g_enc.type = WEFT_MSG_PRESENCE;
    int rc = weft_proto_msg_add_presence(&g_enc, &p);
    if (rc == 0)
        rc = weft_proto_encode(&g_enc, &g_buf);
    if (rc == 0)
        rc = conn_send(c, &g_buf);
    if (rc)
        run_error("conn %u: cannot send presence", c->idx);
    return rc;
}

/* Bytes of a canonical msgpack uint, str header, Id? (docs/protocol.md §1). */
static size_t u_size(uint32_t v)
{
    return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : 5;
}

static size_t str_hdr_size(uint32_t n)
{
    return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

static size_t id_size(weft_id id)
{
    return weft_id_is_none(id) ? 1 : 1 + u_size(id.agent) + u_size(id.seq);
}

/* The exact size of an op on the wire (Ins / Del, §2). */
static size_t op_size(const weft_op *op)
{
    size_t n = 2 + u_size(op->id.agent) + u_size(op->id.seq);
    if (op->kind == WEFT_OP_INS)
        return n + id_size(op->ol) + id_size(op->or) + str_hdr_size(op->bytes) + op->bytes;
    return n + u_size(op->target.agent) + u_size(op->target.seq) + u_size(op->len);
}

int replica_send_oplist(conn *c, const weft_oplist *l, size_t max_frame, size_t *nbatches,
                        size_t *bytes_out)
{
    scratch_init();
    /* [3, nil, [parents, ops]]: three array headers (<= 5 bytes each), type, nil, parents */
    const size_t overhead = 3 * 5 + 2 + 5 + 11 * (c->nfront + 1);
    size_t i = 0;
    *nbatches = 0;
    *bytes_out = 0;
    while (i < l->n) {
        size_t j = i, bytes = overhead;
        while (j < l->n && (j == i || bytes + op_size(&l->ops[j]) <= max_frame))
            bytes += op_size(&l->ops[j++]);
        if (send_batch(c, &l->ops[i], j - i, mono_ns()))
            return -1;
        if (g_buf.n > max_frame) {
            run_error("conn %u: a batch of %zu bytes is over --max-frame", c->idx, g_buf.n);
            return -1;
        }
        (*nbatches)++;
        *bytes_out += g_buf.n;
        i = j;
    }
    return 0;
}

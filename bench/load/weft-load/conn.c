/* conn.c — one client WebSocket: connect, receive assembly, the send
 * queue, close, and routing each decoded message to the replica. The lws
 * callback only routes; each case calls a named function. */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_KEEP_MAX (256u << 10) /* a bigger assembly buffer is freed after use */

/* One decoded message at a time: the scratch is reused (single thread). */
static weft_proto_msg g_dec;
static bool g_dec_init;

int conn_connect(conn *c)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = g.ctx;
    ci.address = g.o.host;
    ci.port = g.o.port;
    ci.path = g.o.path;
    ci.host = g.o.host;
    ci.protocol = WEFT_PROTO_SUBPROTOCOL;
    ci.local_protocol_name = WEFT_PROTO_SUBPROTOCOL;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    c->st = C_CONNECTING;
    c->close_code = 0;
    c->t_start_ns = mono_ns();
    if (!lws_client_connect_via_info(&ci)) {
        c->st = C_DONE;
        c->wsi = NULL;
        return -1;
    }
    return 0;
}

void conn_close(conn *c)
{
    if (c->st == C_DONE || c->st == C_CLOSING)
        return;
    c->st = C_CLOSING;
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

/* ---- the send queue ----------------------------------------------------------- */

static int txq_grow(txq *q)
{
    size_t cap = q->cap ? q->cap * 2 : 8;
    txframe *f = calloc(cap, sizeof *f);
    if (!f)
        return -1;
    for (size_t i = 0; i < q->cap; i++) /* unwrap, keeping the idle slots' buffers */
        f[i] = q->f[(q->head + i) % q->cap];
    free(q->f);
    q->f = f;
    q->head = 0;
    q->cap = cap;
    return 0;
}

int conn_send(conn *c, const weft_buf *b)
{
    txq *q = &c->q;
    if (q->n == q->cap && txq_grow(q))
        return -1;
    txframe *f = &q->f[(q->head + q->n) % q->cap];
    if (f->cap < LWS_PRE + b->n) {
        size_t cap = LWS_PRE + b->n < 256 ? 256 : LWS_PRE + b->n;
        uint8_t *p = realloc(f->buf, cap);
        if (!p)
            return -1;
        f->buf = p;
        f->cap = cap;
    }
    memcpy(f->buf + LWS_PRE, b->p, b->n);
    f->len = b->n;
    q->n++;
    if (c->wsi && c->st != C_CONNECTING)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* One frame per WRITEABLE (toolchain.md); re-arm while frames remain. */
static int conn_writeable(conn *c)
{
    if (c->st == C_CLOSING) {
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    txq *q = &c->q;
    if (!q->n)
        return 0;
    txframe *f = &q->f[q->head];
    int n = lws_write(c->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_BINARY);
    q->head = (q->head + 1) % q->cap;
    q->n--;
    if (n < (int)f->len) {
        run_error("conn %u: write failed", c->idx);
        return -1;
    }
    if (q->n)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* ---- messages --------------------------------------------------------------- */

static void conn_welcome(conn *c, const weft_proto_msg *m)
{
    bool done = false;
    if (c->st != C_SYNCING) {
        run_error("conn %u: welcome in state %d", c->idx, c->st);
        return;
    }
    if (!c->t_welcome_ns)
        c->t_welcome_ns = mono_ns();
    if (replica_welcome(c, m, &done)) {
        conn_close(c);
        return;
    }
    if (done) {
        c->st = C_LIVE;
        c->t_synced_ns = mono_ns();
        g.drv.synced(c);
    }
}

static void conn_server_error(conn *c, const weft_proto_msg *m)
{
    c->close_code = m->code;
    if (c->st != C_CLOSING)
        run_error("conn %u (%s): server error %u: %.*s", c->idx, c->room ? c->room->name : "?",
                  m->code, (int)m->message.len, m->message.p);
}

static void conn_ping(conn *c, const weft_proto_msg *m)
{
    weft_buf b;
    weft_buf_init(&b);
    if (weft_proto_encode_ping(&b, WEFT_MSG_PONG, m->t) == 0)
        conn_send(c, &b);
    weft_buf_cleanup(&b);
}

static void conn_message(conn *c, const uint8_t *p, size_t len)
{
    int64_t now = mono_ns();
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    if (!g_dec_init) {
        weft_proto_msg_init(&g_dec);
        g_dec_init = true;
    }
    weft_proto_msg *m = &g_dec;
    int rc = weft_proto_decode(p, len, &lim, m);
    if (rc) {
        run_error("conn %u: undecodable message (%zu bytes): %s", c->idx, len,
                  weft_proto_strerror(rc));
        conn_close(c);
        return;
    }
    switch (m->type) {
    case WEFT_MSG_WELCOME:
        conn_welcome(c, m);
        break;
    case WEFT_MSG_OPS:
        if (c->st == C_LIVE && replica_ops(c, m, now))
            conn_close(c);
        break;
    case WEFT_MSG_ACK:
        replica_ack(c, m, now);
        g.drv.acked(c);
        break;
    case WEFT_MSG_PING:
        conn_ping(c, m);
        break;
    case WEFT_MSG_ERROR:
        conn_server_error(c, m);
        break;
    default: /* presence, leave, pong: a replica needs nothing from them here */
        break;
    }
    weft_proto_msg_reset(m);
}

/* ---- lws callback cases -------------------------------------------------------------- */

static int rx_reserve(conn *c, size_t need)
{
    if (need <= c->rx_cap)
        return 0;
    size_t cap = c->rx_cap ? c->rx_cap : 16384;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(c->rx, cap);
    if (!p)
        return -1;
    c->rx = p;
    c->rx_cap = cap;
    return 0;
}

static int conn_receive(conn *c, struct lws *wsi, const uint8_t *in, size_t len)
{
    bool first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
    if (first && final) { /* the common case: decode in place */
        conn_message(c, in, len);
        return 0;
    }
    if (first)
        c->rx_len = 0;
    if (rx_reserve(c, c->rx_len + len + lws_remaining_packet_payload(wsi))) {
        run_error("conn %u: out of memory", c->idx);
        return -1;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!final)
        return 0;
    conn_message(c, c->rx, c->rx_len);
    c->rx_len = 0;
    if (c->rx_cap > RX_KEEP_MAX) {
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
    return 0;
}

static void conn_established(conn *c)
{
    c->st = C_SYNCING;
    c->t_open_ns = mono_ns();
    if (replica_hello(c))
        conn_close(c);
    else if (c->q.n)
        lws_callback_on_writable(c->wsi);
}

static void conn_gone(conn *c, const char *why)
{
    if (c->st == C_DONE)
        return;
    if (c->st != C_CLOSING && !g.done) /* after the result, lws_context_destroy closes all */
        run_error("conn %u (%s): connection lost in state %d: %s (close code %u)", c->idx,
                  c->room ? c->room->name : "?", c->st, why, c->close_code);
    c->st = C_DONE;
    c->wsi = NULL;
    g.drv.closed(c);
}

static void conn_peer_close(conn *c, const uint8_t *in, size_t len)
{
    if (len >= 2)
        c->close_code = (uint32_t)in[0] << 8 | in[1];
}

int conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    conn *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        conn_established(c);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return c->st == C_DONE ? -1 : conn_receive(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return c->st == C_DONE ? -1 : conn_writeable(c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        conn_peer_close(c, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        conn_gone(c, in && len ? (const char *)in : "connection error");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        conn_gone(c, "closed");
        return 0;
    default:
        return 0;
    }
}

void conn_cleanup(conn *c)
{
    for (size_t i = 0; i < c->q.cap; i++)
        free(c->q.f[i].buf);
    free(c->q.f);
    free(c->rx);
    free(c->front);
    free(c->sent_ns);
    free(c->typed);
    free(c->fl);
    weft_buf_cleanup(&c->shown);
    if (c->doc)
        weft_doc_free(c->doc);
    memset(c, 0, sizeof *c);
}

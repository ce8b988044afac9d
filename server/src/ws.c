/* ws.c — the lws callback: routes each reason to a named function. */
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define HELLO_TIMEOUT_S 10
#define RX_MSGS_PER_PASS 32

static void hello_timeout_cb(wtimer *t)
{
    session *s = lws_container_of(t, session, hello_timer);
    if (s->state == S_NEW)
        session_close(s, WEFT_CLOSE_HELLO_TIMEOUT, "no hello within 10 s", true);
}

/* "a, weft.1 ,b" contains weft.1? */
static bool has_subprotocol(const char *list)
{
    const char *want = WEFT_PROTO_SUBPROTOCOL;
    size_t wl = strlen(want);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == wl && memcmp(p, want, wl) == 0)
            return true;
        p += n;
    }
    return false;
}

/* Checks made on the upgrade: 0, or a close code with *why. */
static uint32_t ws_admit(session *s, struct lws *wsi, const char **why)
{
    server *srv = s->srv;
    char buf[256];
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_PROTOCOL) <= 0 || !has_subprotocol(buf)) {
        *why = "subprotocol weft.1 required";
        return WEFT_CLOSE_PROTOCOL_ERROR;
    }
    if (limits_origin_ok(srv, wsi)) {
        metrics.auth_failures++;
        *why = "origin not allowed";
        return WEFT_CLOSE_POLICY;
    }
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_GET_URI) <= 0 || strcmp(buf, "/ws") != 0) {
        *why = "the WebSocket endpoint is /ws";
        return WEFT_CLOSE_POLICY;
    }
    if (srv->stopping) {
        *why = "server shutting down";
        return WEFT_CLOSE_GOING_AWAY;
    }
    if (srv->nsessions > srv->cfg->max_conns) {
        *why = "too many connections";
        return WEFT_CLOSE_TOO_MANY;
    }
    return 0;
}

static int ws_established(struct lws *wsi, conn_data *cd)
{
    server *srv = lws_context_user(lws_get_context(wsi));
    session *s = session_new(srv, wsi);
    cd->s = s;
    if (!s)
        return -1;
    char arg[2048];
    const char *tok = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof arg);
    if (tok) /* points after "token=" inside arg */
        s->query_token = strdup(tok);
    const char *why = NULL;
    uint32_t code = ws_admit(s, wsi, &why);
    char peer[64];
    if (!lws_get_peer_simple(wsi, peer, sizeof peer))
        strcpy(peer, "?");
    log_info("ws_open session=%llu peer=%s", (unsigned long long)s->id, peer);
    if (code) {
        session_close(s, code, why, true);
        return 0;
    }
    wtimer_schedule(&s->hello_timer, hello_timeout_cb, HELLO_TIMEOUT_S * 1000);
    return 0;
}

/* One whole message; `p` lives only for this call (handlers copy what they keep). */
static void ws_message(session *s, const uint8_t *p, size_t len)
{
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_frame = s->srv->cfg->max_frame;
    weft_proto_msg m;
    weft_proto_msg_init(&m);
    int rc = weft_proto_decode(p, len, &lim, &m);
    if (rc) {
        session_close(s, weft_proto_err_close(rc), weft_proto_strerror(rc), true);
    } else if (s->state == S_NEW && m.type != WEFT_MSG_HELLO) {
        session_close(s, WEFT_CLOSE_UNEXPECTED, "the first message must be hello", true);
    } else if (m.type == WEFT_MSG_HELLO) {
        hello_handle(s, &m);
    } else if (m.type == WEFT_MSG_OPS) {
        ops_handle(s, &m);
    } else if (m.type == WEFT_MSG_PRESENCE) {
        presence_handle(s, &m);
    } else if (m.type == WEFT_MSG_PING) {
        weft_buf b;
        weft_buf_init(&b);
        if (weft_proto_encode_ping(&b, WEFT_MSG_PONG, m.t) == 0)
            session_send_bytes(s, &b, true);
        weft_buf_cleanup(&b);
    } else if (m.type != WEFT_MSG_PONG) {
        session_close(s, WEFT_CLOSE_UNEXPECTED, "message type not accepted from clients", true);
    }
    weft_proto_msg_cleanup(&m);
}

static void ws_count_message(session *s, struct lws *wsi)
{
    server *srv = s->srv;
    if (s->rx_pass != srv->pass) {
        s->rx_pass = srv->pass;
        s->msgs_in_pass = 0;
    }
    if (++s->msgs_in_pass < RX_MSGS_PER_PASS || s->rx_paused || s->state == S_CLOSING)
        return;
    lws_rx_flow_control(wsi, 0); /* lws keeps what it already read for later */
    s->rx_paused = true;
    s->paused_next = srv->paused;
    srv->paused = session_ref(s);
}

void ws_resume_paused(server *srv)
{
    session *s = srv->paused;
    srv->paused = NULL;
    while (s) {
        session *next = s->paused_next;
        s->rx_paused = false;
        if (s->wsi)
            lws_rx_flow_control(s->wsi, 1 | LWS_RXFLOW_REASON_FLAG_PROCESS_NOW);
        session_unref(s);
        s = next;
    }
}

static int rx_reserve(session *s, size_t need)
{
    if (need <= s->rx_cap)
        return 0;
    size_t cap = s->rx_cap ? s->rx_cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(s->rx, cap);
    if (!p)
        return -1;
    s->rx = p;
    s->rx_cap = cap;
    return 0;
}

static void ws_receive(session *s, struct lws *wsi, const void *in, size_t len)
{
    metrics.bytes_in += len;
    s->last_rx_ms = now_ms();
    s->idle_pinged = false;
    if (s->state == S_CLOSING || s->state == S_DEAD)
        return;
    if (lws_is_first_fragment(wsi)) {
        s->rx_len = 0;
        if (!lws_frame_is_binary(wsi)) {
            session_close(s, WEFT_CLOSE_UNSUPPORTED_DATA, "binary frames only", true);
            return;
        }
    }
    size_t remaining = lws_remaining_packet_payload(wsi);
    size_t total = s->rx_len + len + remaining;
    if (total > s->srv->cfg->max_frame) {
        session_close(s, WEFT_CLOSE_TOO_LARGE, "message larger than --max-frame", true);
        return;
    }
    if (s->rx_len == 0 && remaining == 0 && lws_is_final_fragment(wsi)) {
        /* the common case, a message in one piece: decoded where lws put it,
         * so an idle connection holds no receive buffer of its own */
        ws_message(s, in, len);
        ws_count_message(s, wsi);
        return;
    }
    if (rx_reserve(s, s->rx_len + len)) {
        session_close(s, WEFT_CLOSE_INTERNAL, "out of memory", true);
        return;
    }
    memcpy(s->rx + s->rx_len, in, len);
    s->rx_len += len;
    if (remaining || !lws_is_final_fragment(wsi))
        return;
    ws_message(s, s->rx, s->rx_len);
    s->rx_len = 0;
    ws_count_message(s, wsi);
    free(s->rx); /* messages in pieces are rare: do not keep their buffer */
    s->rx = NULL;
    s->rx_cap = 0;
}

static int filter_connection(struct lws *wsi)
{
    server *srv = lws_context_user(lws_get_context(wsi));
    return srv->stopping ? -1 : 0;
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    conn_data *cd = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return filter_connection(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(wsi, cd);
    case LWS_CALLBACK_RECEIVE:
        if (cd && cd->s)
            ws_receive(cd->s, wsi, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return cd && cd->s ? session_writeable(cd->s) : 0;
    case LWS_CALLBACK_CLOSED:
        if (cd && cd->s)
            session_gone(cd->s);
        if (cd)
            cd->s = NULL;
        return 0;
    default:
        return http_callback(wsi, reason, user, in, len);
    }
}

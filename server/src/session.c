/* session.c — one WebSocket connection: its queue, its close, its lifetime. */
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOSE_GRACE_MS 100
#define WRITE_MAX_FRAMES 256
#define WRITE_MAX_BYTES (256u << 10)

session *session_new(server *srv, struct lws *wsi)
{
    session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = ++srv->next_session_id;
    s->srv = srv;
    s->wsi = wsi;
    s->refs = 1; /* the connection's */
    s->state = S_NEW;
    weft_vv_init(&s->hello_vv);
    weft_oplist_init(&s->kept);
    outq_init(&s->q);
    outq_init(&s->deferred);
    s->bucket = 4.0 * srv->cfg->rate;
    s->bucket_ms = now_ms();
    s->last_rx_ms = s->bucket_ms;
    s->all_next = srv->sessions;
    if (srv->sessions)
        srv->sessions->all_prev = s;
    srv->sessions = s;
    srv->nsessions++;
    metrics.connections++;
    return s;
}

session *session_ref(session *s)
{
    s->refs++;
    return s;
}

static void session_free(session *s)
{
    outq_cleanup(&s->q);
    outq_cleanup(&s->deferred);
    weft_vv_cleanup(&s->hello_vv);
    weft_oplist_cleanup(&s->kept);
    free(s->rx);
    free(s->query_token);
    free(s);
}

static void session_ping(session *s, int64_t t)
{
    weft_buf b;
    weft_buf_init(&b);
    if (weft_proto_encode_ping(&b, WEFT_MSG_PING, (uint32_t)t) == 0)
        session_send_bytes(s, &b, false);
    weft_buf_cleanup(&b);
    s->idle_pinged = true;
}

void session_idle_check(server *srv)
{
    int64_t ping = 1000 * (int64_t)srv->cfg->ping, t = now_ms();
    for (session *s = srv->sessions; s; s = s->all_next) {
        if (s->state != S_LIVE && s->state != S_JOINING)
            continue; /* S_NEW has the hello timeout */
        int64_t quiet = t - s->last_rx_ms;
        if (quiet > 2 * ping)
            session_close(s, WEFT_CLOSE_IDLE_TIMEOUT, "idle too long: no message or pong", true);
        else if (quiet > ping && !s->idle_pinged)
            session_ping(s, t);
    }
}

void session_sweep(server *srv)
{
    session *s = srv->dead_sessions;
    srv->dead_sessions = NULL;
    while (s) {
        session *next = s->dead_next;
        session_free(s);
        s = next;
    }
}

void session_unref(session *s)
{
    if (--s->refs > 0)
        return;
    if (s->state != S_DEAD) { /* cannot happen: the connection holds one */
        log_error("session_unref id=%llu state=%d refs=0", (unsigned long long)s->id, s->state);
        return;
    }
    s->dead_next = s->srv->dead_sessions;
    s->srv->dead_sessions = s;
}

void session_gone(session *s)
{
    log_info("ws_closed session=%llu user=%s doc=\"%s\"", (unsigned long long)s->id,
             s->user[0] ? s->user : "-", s->room ? s->room->name : "-");
    wtimer_cancel(&s->hello_timer);
    wtimer_cancel(&s->expiry_timer);
    wtimer_cancel(&s->close_timer);
    if (s->room)
        room_leave(s->room, s);
    sync_abort(s);
    outq_cleanup(&s->q);
    s->wsi = NULL;
    s->state = S_DEAD;
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else
        s->srv->sessions = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    s->srv->nsessions--;
    metrics.connections--;
    session_unref(s);
}

void session_send(session *s, frame *f, bool counted)
{
    if (!s->wsi || s->state == S_CLOSING || s->state == S_DEAD || s->srv->destroying)
        return;
    /* during the initial sync everything waits behind the welcome chunks */
    if (outq_push(s->sync ? &s->deferred : &s->q, f, counted)) {
        session_close(s, WEFT_CLOSE_INTERNAL, "out of memory", true);
        return;
    }
    if (counted && s->q.bytes + s->deferred.bytes > s->srv->cfg->outbound_max) {
        metrics.slow_closes++;
        log_warn("slow_consumer session=%llu queued=%zu", (unsigned long long)s->id, s->q.bytes);
        session_close(s, WEFT_CLOSE_TRY_AGAIN, "too far behind: reconnect and resync", true);
        return;
    }
    lws_callback_on_writable(s->wsi);
}

void session_send_bytes(session *s, const weft_buf *b, bool counted)
{
    frame *f = frame_new(b->p, b->n);
    if (!f) {
        session_close(s, WEFT_CLOSE_INTERNAL, "out of memory", true);
        return;
    }
    session_send(s, f, counted);
    frame_unref(f);
}

void session_error(session *s, uint32_t code, const char *msg)
{
    weft_buf b;
    weft_buf_init(&b);
    if (weft_proto_encode_error(&b, code, msg) == 0)
        session_send_bytes(s, &b, false);
    weft_buf_cleanup(&b);
}

void session_close(session *s, uint32_t code, const char *msg, bool drop)
{
    if (!s->wsi || s->state == S_CLOSING || s->state == S_DEAD || s->srv->destroying)
        return;
    log_info("ws_close session=%llu user=%s code=%u reason=\"%s\"", (unsigned long long)s->id,
             s->user[0] ? s->user : "-", code, msg);
    sync_abort(s);
    if (drop)
        outq_cleanup(&s->q);
    session_error(s, code, msg);
    s->close_code = code;
    snprintf(s->close_msg, sizeof s->close_msg, "%s", msg);
    s->state = S_CLOSING;
    /* a client that reads nothing never becomes writeable: give it 5 s */
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, 5);
    lws_callback_on_writable(s->wsi);
}

static void close_grace_cb(wtimer *t)
{
    session *s = lws_container_of(t, session, close_timer);
    s->close_ready = true;
    if (s->wsi)
        lws_callback_on_writable(s->wsi);
}

/* The close after the queue drained: a grace period first, then the close
 * frame with the code (returning -1 makes lws send it). */
static int session_write_close(session *s)
{
    if (!s->close_ready) {
        /* Let what the client already sent arrive and be discarded first:
         * closing with unread input makes the kernel send a RST, and the
         * client may lose the error frame and the close code with it. */
        if (!wtimer_pending(&s->close_timer))
            wtimer_schedule(&s->close_timer, close_grace_cb, CLOSE_GRACE_MS);
        return 0;
    }
    lws_close_reason(s->wsi, (enum lws_close_status)s->close_code, (unsigned char *)s->close_msg,
                     strlen(s->close_msg));
    return -1;
}

/*
 * Writes queued frames: several per callback, as lws allows when
 * lws_partial_buffered() is checked after each write (lws-ws-state.h).
 * One frame per callback, i.e. per poll pass, let a busy document's
 * broadcasts pile up in every member's queue faster than they drained
 * while the readers' side takes a whole receive buffer of messages per pass.
 */
int session_writeable(session *s)
{
    size_t bytes = 0;
    int frames = 0;
    while (frames < WRITE_MAX_FRAMES && bytes < WRITE_MAX_BYTES) {
        if (s->sync && outq_empty(&s->q))
            sync_pump(s);
        frame *f = outq_pop(&s->q);
        if (!f)
            break;
        int n = lws_write(s->wsi, f->data, f->len, LWS_WRITE_BINARY);
        metrics.bytes_out += f->len;
        bytes += f->len;
        frames++;
        frame_unref(f);
        if (n < 0)
            return -1;
        if (lws_partial_buffered(s->wsi))
            break;
    }
    if (frames == 0 && s->state == S_CLOSING)
        return session_write_close(s);
    if (!outq_empty(&s->q) || s->sync || s->state == S_CLOSING)
        lws_callback_on_writable(s->wsi);
    return 0;
}

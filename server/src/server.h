/*
 * server.h — the state of `weft serve`: the server, its rooms (one per open
 * document) and sessions (one per WebSocket), and the functions the modules
 * call on each other.
 *
 * Threads: everything here belongs to the lws service thread. The storage
 * writer thread only calls lws_cancel_service() (store_wake in serve.c).
 *
 * Lifetimes: a session outlives its connection while storage requests or
 * ack waiters still reference it (refs); a room outlives its unloading
 * while requests are outstanding (nreqs). Both are freed only by
 * server_sweep(), which runs between event-loop passes, never inside a
 * callback ("mark, then sweep").
 */
#ifndef WEFT_SERVER_SERVER_H
#define WEFT_SERVER_SERVER_H

#include "config.h"
#include "outq.h"
#include "timer.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/crdt.h"
#include "weft/protocol.h"
#include "weft/storage.h"

typedef struct server server;
typedef struct room room;
typedef struct session session;

/* ---- sessions (session.c) -------------------------------------------------- */

typedef enum session_state {
    S_NEW,     /* connected, waiting for hello */
    S_JOINING, /* hello accepted, waiting for the room or an agent */
    S_LIVE,    /* welcome sent: ops and presence flow */
    S_CLOSING, /* error queued, close follows */
    S_DEAD     /* connection gone; freed by the sweep when refs == 0 */
} session_state;

typedef struct presence_state {
    bool has_state, dirty;
    uint32_t clock;
    weft_anchor anchor, head;
    char name[64], colour[32];
    int64_t refreshed_ms; /* monotonic ms of the last refresh */
} presence_state;

struct session {
    uint64_t id;
    server *srv;
    struct lws *wsi; /* NULL once the connection is gone */
    session_state state;
    int refs;
    session *dead_next;
    session *all_prev, *all_next; /* server's list of open connections */

    room *room;
    session *room_prev, *room_next;

    /* identity */
    char user[64];
    char colour[32]; /* hello's, used when a presence carries none */
    bool user_named; /* user came from the token or hello, not a default */
    bool write;
    uint64_t token_exp; /* unix seconds, 0 = none */
    char *query_token;  /* ?token= of the upgrade request, if any */
    bool has_agent;
    uint32_t agent;
    uint32_t next_seq; /* next seq this session may send (accepted, parked included) */

    /* hello, kept until the welcome */
    bool hello_has_agent;
    uint32_t hello_agent;
    weft_vv hello_vv;

    /* receive assembly */
    uint8_t *rx;
    size_t rx_len, rx_cap;
    bool rx_text;

    outq q;
    struct sync_state *sync; /* initial sync in progress (sync.c), else NULL */
    outq deferred;           /* what is sent to s during its sync, queued after it */
    uint32_t close_code;
    char close_msg[124];

    double bucket; /* rate limit tokens */
    int64_t bucket_ms;
    int ro_violations;

    presence_state pres;
    weft_oplist kept; /* scratch for accepted ops */

    bool close_ready; /* the grace after the error frame has passed */
    uint64_t rx_pass; /* the service pass msgs_in_pass counts for */
    uint32_t msgs_in_pass;
    bool rx_paused; /* on srv->paused until the next pass */
    session *paused_next;
    int64_t last_rx_ms; /* monotonic ms of the client's last message */
    bool idle_pinged;   /* a ping went out since then */
    wtimer hello_timer, expiry_timer, close_timer;
};

session *session_new(server *srv, struct lws *wsi);
session *session_ref(session *s);
void session_unref(session *s);
/* The connection closed: leave the room, mark dead (freed by the sweep). */
void session_gone(session *s);
/* Queues f to the client (one more reference). counted: against --outbound-max. */
void session_send(session *s, frame *f, bool counted);
/* Encodes and queues bytes as a new frame. */
void session_send_bytes(session *s, const weft_buf *b, bool counted);
/* Sends error(code, msg), then closes with code. drop: discard what is
 * still queued first (the client is misbehaving or too slow). */
void session_close(session *s, uint32_t code, const char *msg, bool drop);
/* Sends error(code, msg) but keeps the connection open. */
void session_error(session *s, uint32_t code, const char *msg);
/* Idle policy, every tick: a session silent for --ping gets a ping
 * message (the client answers pong); silent for twice --ping, it is closed
 * with 4013. lws's own WebSocket pings hang up dead TCP at three times. */
void session_idle_check(server *srv);
/* Frees the sessions marked dead whose last reference is gone. */
void session_sweep(server *srv);
/* Writes one queued frame (LWS_CALLBACK_SERVER_WRITEABLE). -1 closes. */
int session_writeable(session *s);

/* ---- rooms (room.c) ----------------------------------------------------------- */

typedef struct pending_batch {
    uint64_t lsn;
    frame *batch; /* encoded batch as stored */
} pending_batch;

typedef struct ack_waiter {
    session *s;
    uint32_t agent, next_seq;
    uint64_t lsn;
} ack_waiter;

typedef struct agent_user {
    uint32_t agent;
    char *user; /* may be NULL */
} agent_user;

typedef enum room_state { R_CREATING, R_READY, R_FAILED, R_UNLOADED } room_state;

struct room {
    server *srv;
    room *hash_next, *dead_next;
    char *name;
    weft_store_doc id;
    room_state state;
    weft_doc *doc;
    uint64_t lsn_assigned, lsn_durable, snap_lsn;
    weft_vv durable;  /* agent -> next seq that is durable (parked ops included) */
    weft_vv accepted; /* agent -> next seq accepted (durable or being committed) */
    size_t parked;    /* as last counted into metrics.parked */
    weft_buf snap;    /* encoded snapshot at snap_at (cache: joins, stored snapshots) */
    uint64_t snap_at;
    bool snap_valid;

    agent_user *agents;
    size_t nagents, agents_cap;

    session *members;
    uint32_t nmembers;

    pending_batch *pending;
    size_t npending, pending_cap;
    ack_waiter *waiters;
    size_t nwaiters, waiters_cap;
    int nreqs; /* storage requests outstanding */

    bool presence_armed;
    wtimer idle_timer, presence_timer;
};

/* The room for `name`, loading it (or starting its creation when create is
 * set) if it is not open. *err gets a close code on failure. */
room *room_open(server *srv, const char *name, size_t len, bool create, uint32_t *err);
void room_join(room *r, session *s);
void room_leave(room *r, session *s);
/* Queues f to every live member but `except`. */
void room_broadcast(room *r, frame *f, session *except);
/* Closes every member and drops the room from the table (storage failure). */
void room_fail(room *r, int err);
/* Registers an agent handed out in this room. */
int room_agent_add(room *r, uint32_t agent, const char *user);
const agent_user *room_agent_find(const room *r, uint32_t agent);
/* The doc was created (completion of weft_store_submit_doc). */
void room_created(room *r, const weft_store_completion *c);
/* A snapshot at the assigned LSN, if K batches passed and no other room's
 * periodic snapshot was encoded in this loop pass (or force). */
void room_maybe_snapshot(room *r, bool force);
void room_pending_push(room *r, uint64_t lsn, frame *batch);
void room_durable(room *r, uint64_t lsn, uint32_t agent, uint32_t next_seq);
void room_ack_wait(room *r, session *s, uint32_t agent, uint32_t next_seq, uint64_t lsn);
void room_unload_now(room *r);
/* The encoded snapshot of the room's state at its assigned LSN, from the
 * cache when nothing changed since it was made. 0 or an error. */
int room_snapshot(room *r, const weft_buf **out);
void room_free(room *r);

/* ---- the server (serve.c) ------------------------------------------------------- */

#define ROOM_BUCKETS 1024

typedef enum req_kind { REQ_APPEND = 1, REQ_SNAPSHOT, REQ_AGENT, REQ_DOC } req_kind;

typedef struct req {
    req_kind kind;
    room *room;
    session *s; /* referenced, may be NULL */
    uint64_t lsn;
    uint32_t agent, next_seq;
    int64_t t0_us;
} req;

struct server {
    config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    weft_store *store;
    room *rooms[ROOM_BUCKETS];
    room *dead_rooms;
    session *dead_sessions;
    session *sessions; /* every open connection */
    bool destroying;   /* lws_context_destroy is running: schedule nothing */
    uint64_t next_session_id;
    uint32_t nsessions;
    bool stopping;
    int64_t stop_deadline_ms;
    int stop_phase;
    wtimer tick_timer;
    struct api_worker *api;
    uint64_t pass;   /* event-loop passes (ev_run calls) so far */
    uint64_t snap_pass; /* pass + 1 of the last periodic snapshot (0: none yet) */
    session *paused; /* sessions whose reading waits for the next pass (referenced) */
};

/* Monotonic and wall clocks in ms. */
int64_t now_ms(void);
int64_t wall_ms(void);
/* A storage request descriptor (the completion token). */
req *req_new(server *srv, req_kind kind, room *r, session *s);
/* Handles one storage completion (commit.c). */
void commit_complete(server *srv, const weft_store_completion *c);
/* Handles every pending completion. */
void commit_drain(server *srv);

/* ---- messages (hello.c, ops.c, presence.c, sync.c) ----------------------------------- */

void hello_handle(session *s, const weft_proto_msg *m);
/* The room is ready: find or allocate s's agent, then welcome. */
void hello_assign_agent(session *s);
void hello_agent_assigned(session *s, uint32_t agent);
void ops_handle(session *s, const weft_proto_msg *m);
void presence_handle(session *s, const weft_proto_msg *m);
void presence_arm(room *r);
void presence_leave(session *s);
void presence_expire(server *srv);
int presence_add_all(room *r, weft_proto_msg *m, const session *except);
/* Sends the welcome (chunked) and makes s live. */
void sync_welcome(session *s);
/* Queues the next welcome chunk (s's queue ran empty while it syncs). */
void sync_pump(session *s);
/* Ends a sync early (the session closes); deferred frames are dropped. */
void sync_abort(session *s);
/* Trims an op's first k seqs (k < op->len). */
void op_trim(weft_op *op, uint32_t k);

/* ---- HTTP (http.c, static.c) ------------------------------------------------------------ */

typedef struct http_state {
    const unsigned char *body;
    char *owned; /* malloc'ed body, or NULL for embedded files */
    size_t len, off;
    int status;
    const char *ctype;
    bool ready; /* the reply is known: headers, then the body */
    bool headers_sent;
    struct api_job *job; /* waiting for the API worker (api.c) */
} http_state;

typedef struct static_file {
    const char *path; /* "/index.html" */
    const unsigned char *data;
    size_t len;
} static_file;

/* Per-connection data lws allocates: a WebSocket's session or an HTTP reply. */
typedef union conn_data {
    session *s;
    http_state h;
} conn_data;

/* The embedded file for a request path ("/" is "/index.html"); NULL if none. */
const static_file *static_find(const char *path);
const char *static_content_type(const char *path);
void http_state_cleanup(http_state *h);
/* Hands the API worker's answers to their connections (event loop). */
void http_api_drain(server *srv);

/* Fairness: after RX_MSGS_PER_PASS messages in one service pass a
 * connection's reading pauses until the next pass (ws.c), so one flooding
 * client cannot fill every peer's queue faster than writing drains them. */
void ws_resume_paused(server *srv);

/* ---- dispatch (ws.c, http.c) ------------------------------------------------------------ */

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* ---- limits and auth (limits.c, auth.c) ------------------------------------------------ */

/* 0 if the upgrade's Origin is acceptable. */
int limits_origin_ok(server *srv, struct lws *wsi);
/* Takes one op-message token; false when the bucket is empty. */
bool limits_rate_take(session *s);
/* Copies at most cap-1 bytes of UTF-8, cut at a character boundary. */
void copy_utf8(char *dst, size_t cap, const char *src, size_t len);
/* Checks hello's token (or ?token=); fills s->user/write/token_exp.
 * 0 or a close code, with *why set. */
uint32_t auth_hello(session *s, const weft_proto_msg *m, const char **why);

#endif

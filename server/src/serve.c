/* serve.c — `weft serve`: the lws context, the event loop, signals, shutdown. */
#include "api.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Per-connection receive buffer inside lws: one is allocated for every
 * connection, so it is kept small (idle connections are most of them);
 * larger messages arrive in pieces and are assembled in ws.c. */
#define RX_BUFFER 2048u
/* The most one send() may take of a frame. With 0, lws caps every send at
 * the receive buffer size: a 122 KB welcome went out as 60 sends of 2 KB,
 * one per loop pass, ~0.3 ms of a warm join (S4). The kernel takes what
 * fits; lws keeps the rest and sends it when the socket is writeable. */
#define TX_PACKET (1u << 20)
/* Per-thread buffer lws reads from sockets into (one for the server). */
#define SERV_BUFFER (64u << 10)
#define SHUTDOWN_GRACE_MS 10000

int serve_main(int argc, char **argv);

static volatile sig_atomic_t g_signal;
static struct lws_context *volatile g_ctx;
/* The event loop is libev's (epoll), run by run_loop: with lws's default
 * poll() loop every wakeup polled every socket (75 % of the server's CPU at
 * 1,000 connections) and lws 4.1 busy-polls the last millisecond before
 * each timer. One ev_run(EVRUN_ONCE) is one pass, as lws_service() was.
 * The loop is created here and held by timer.c (wtimer_loop). */

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
    g_signal = sig;
    if (g_ctx)
        lws_cancel_service(g_ctx); /* writes to a pipe: safe here */
}

/* Storage writer thread: completions are ready. */
static void store_wake(void *ctx)
{
    server *srv = ctx;
    if (srv->ctx)
        lws_cancel_service(srv->ctx);
}

static void tick_cb(wtimer *t)
{
    server *srv = lws_container_of(t, server, tick_timer);
    presence_expire(srv);
    session_idle_check(srv);
    /* lws's own timers (close handshakes, ping validity) are serviced when
     * lws sees an event; its libev plugin may have armed its wake-up for a
     * later one (timer.h), so give it an event every tick */
    lws_cancel_service(srv->ctx);
    /* 250 ms: a ping goes out well before twice --ping even with --ping 1 */
    wtimer_schedule(&srv->tick_timer, tick_cb, srv->stopping ? 50 : 250);
}

static const struct lws_protocols protocols[] = {
    {"http", ws_callback, sizeof(conn_data), 0, 0, NULL, 0},
    {WEFT_PROTO_SUBPROTOCOL, ws_callback, sizeof(conn_data), RX_BUFFER, 0, NULL, TX_PACKET},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* A client with no subprotocol binds to weft.1 (then gets a 1002 with a reason). */
static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, WEFT_PROTO_SUBPROTOCOL,
                                                      ""};

static lws_retry_bo_t retry_policy;

static int create_context(server *srv)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBEV;
    if (srv->cfg->tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = srv;
    info.pt_serv_buf_size = SERV_BUFFER;
    info.count_threads = 1;
    /* no fd_limit_per_thread: sized from RLIMIT_NOFILE, lws indexes its
     * connection table by fd; a set limit makes every lookup a linear scan */
    static void *loops[1];
    loops[0] = ev_loop_new(EVFLAG_AUTO);
    if (!loops[0])
        return -1;
    wtimer_set_loop(loops[0]);
    info.foreign_loops = loops;
    srv->ctx = lws_create_context(&info);
    g_ctx = srv->ctx;
    return srv->ctx ? 0 : -1;
}

static int create_vhost(server *srv)
{
    config *c = srv->cfg;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = c->port;
    info.iface = c->host;
    info.protocols = protocols;
    info.pvo = &pvo;
    info.vhost_name = "weft";
    /* dead TCP: lws pings and hangs up; live but silent clients: session_idle_check */
    unsigned ping = c->ping, hangup = 3 * c->ping;
    retry_policy.secs_since_valid_ping = (uint16_t)(ping > 65534 ? 65534 : ping);
    retry_policy.secs_since_valid_hangup = (uint16_t)(hangup > 65535 ? 65535 : hangup);
    info.retry_and_idle_policy = &retry_policy;
    if (!c->host_v6)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (c->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* per vhost too, or no TLS */
        info.ssl_cert_filepath = c->tls_cert;
        info.ssl_private_key_filepath = c->tls_key;
        info.alpn = "http/1.1";
    }
    srv->vhost = lws_create_vhost(srv->ctx, &info);
    return srv->vhost ? 0 : -1;
}

static void announce(server *srv)
{
    config *c = srv->cfg;
    const char *scheme = c->tls_cert ? "https" : "http";
    if (c->host_v6)
        fprintf(stderr, "weft: listening on %s://[%s]:%d/\n", scheme, c->host, c->port);
    else
        fprintf(stderr, "weft: listening on %s://%s:%d/\n", scheme, c->host, c->port);
    if (!c->secret)
        log_warn("OPEN MODE: no --secret-file or WEFT_SECRET: every client can read and write "
                 "every document without a token");
}

static void shutdown_begin(server *srv)
{
    srv->stopping = true;
    srv->stop_phase = 1;
    srv->stop_deadline_ms = now_ms() + SHUTDOWN_GRACE_MS;
    log_info("shutdown signal=%d sessions=%u", (int)g_signal, srv->nsessions);
    wtimer_schedule(&srv->tick_timer, tick_cb, 50);
}

static bool rooms_settled(server *srv)
{
    for (int i = 0; i < ROOM_BUCKETS; i++)
        for (room *r = srv->rooms[i]; r; r = r->hash_next)
            if (r->lsn_durable < r->lsn_assigned || r->state == R_CREATING)
                return false;
    return true;
}

/* Commits and acks done: snapshot every room, close every client with 1001. */
static void shutdown_close_all(server *srv)
{
    for (int i = 0; i < ROOM_BUCKETS; i++)
        for (room *r = srv->rooms[i]; r; r = r->hash_next)
            room_maybe_snapshot(r, true);
    for (session *s = srv->sessions; s; s = s->all_next)
        session_close(s, WEFT_CLOSE_GOING_AWAY, "server shutting down", false);
}

/* true when the loop may end. */
static bool shutdown_step(server *srv)
{
    bool late = now_ms() > srv->stop_deadline_ms;
    if (srv->stop_phase == 1 && (rooms_settled(srv) || late)) {
        shutdown_close_all(srv);
        srv->stop_phase = 2;
    }
    return srv->stop_phase == 2 && (srv->nsessions == 0 || late);
}

static void server_sweep(server *srv)
{
    session_sweep(srv);
    room **pp = &srv->dead_rooms;
    while (*pp) {
        room *r = *pp;
        if (r->nreqs == 0 && r->nmembers == 0) {
            *pp = r->dead_next;
            room_free(r);
        } else {
            pp = &r->dead_next;
        }
    }
}

static void run_loop(server *srv)
{
    for (;;) {
        ev_run(wtimer_loop(), EVRUN_ONCE);
        srv->pass++;
        ws_resume_paused(srv);
        commit_drain(srv);
        http_api_drain(srv);
        weft_store_flush(srv->store);
        server_sweep(srv);
        if (g_signal && !srv->stopping)
            shutdown_begin(srv);
        if (srv->stopping && shutdown_step(srv))
            break;
    }
}

static void destroy_context(server *srv)
{
    if (srv->ctx)
        lws_context_destroy(srv->ctx);
    srv->ctx = g_ctx = NULL;
    struct ev_loop *loop = wtimer_loop();
    wtimer_set_loop(NULL);
    if (loop)
        ev_loop_destroy(loop);
}

/* After the loop: wait for outstanding commits, then free everything. */
static void server_teardown(server *srv)
{
    int64_t until = now_ms() + 5000;
    weft_store_flush(srv->store);
    for (;;) {
        commit_drain(srv);
        bool busy = false;
        for (int i = 0; i < ROOM_BUCKETS && !busy; i++)
            for (room *r = srv->rooms[i]; r && !busy; r = r->hash_next)
                busy = r->nreqs > 0;
        for (room *r = srv->dead_rooms; r && !busy; r = r->dead_next)
            busy = r->nreqs > 0;
        if (!busy || now_ms() > until)
            break;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    ws_resume_paused(srv); /* drops the references */
    srv->destroying = true;
    destroy_context(srv); /* closes HTTP connections: their jobs are orphaned */
    api_stop(srv->api);   /* before the store: the worker reads it */
    weft_store_close(srv->store);
    for (int i = 0; i < ROOM_BUCKETS; i++)
        while (srv->rooms[i])
            room_unload_now(srv->rooms[i]);
    while (srv->dead_rooms) {
        room *r = srv->dead_rooms;
        srv->dead_rooms = r->dead_next;
        room_free(r);
    }
    session_sweep(srv);
}

static int open_store(server *srv)
{
    weft_store_options so = {.wake = store_wake, .wake_ctx = srv};
    int rc = weft_store_open(srv->cfg->db, &so, &srv->store);
    if (rc)
        fprintf(stderr, "weft: cannot open database %s: %s\n", srv->cfg->db,
                weft_store_strerror(rc));
    return rc;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int serve_main(int argc, char **argv)
{
    config cfg;
    int rc = config_parse(&cfg, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    log_set_level(cfg.log_level);
    log_hook_lws();
    server srv = {.cfg = &cfg};
    install_signals();
    if (create_context(&srv)) {
        fprintf(stderr, "weft: cannot create the libwebsockets context\n");
        destroy_context(&srv);
        config_cleanup(&cfg);
        return 1;
    }
    if (open_store(&srv) || !(srv.api = api_start(srv.store, srv.ctx)) || create_vhost(&srv)) {
        if (srv.api)
            fprintf(stderr, "weft: cannot listen on %s:%d\n", cfg.host, cfg.port);
        else if (srv.store)
            fprintf(stderr, "weft: cannot start the history API thread\n");
        destroy_context(&srv);
        api_stop(srv.api);
        if (srv.store)
            weft_store_close(srv.store);
        config_cleanup(&cfg);
        return 1;
    }
    announce(&srv);
    wtimer_schedule(&srv.tick_timer, tick_cb, 1000);
    run_loop(&srv);
    server_teardown(&srv);
    log_info("shutdown complete");
    config_cleanup(&cfg);
    return 0;
}

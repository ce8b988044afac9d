/*
 * load.h — weft-load: the Weft side of the load generator (issue 6,
 * bench/load/README.md, "The contract"). One process, one thread, one lws context, many
 * client connections; every connection is a full replica (weft_doc) that
 * speaks the real protocol: hello, welcome (chunked or a snapshot), ops,
 * acks, presence, ping/pong.
 *
 * Modules:
 *   opts.c     command line and per-scenario defaults
 *   conn.c     one WebSocket: the lws callback, receive assembly, the send
 *              queue, routing decoded messages
 *   replica.c  the engine side of a connection: welcome, remote batches,
 *              local typing, presence, the frontier (parents of a batch)
 *   stats.c    latency samples, percentiles, CPU, the JSON result line
 *   rooms.c    S1, S2, S3, S5, S6: rooms of typists/writers and readers
 *   join.c     S4: upload a trace, then warm and cold joins
 *   probe.c    the server's /metrics (is a room still loaded?)
 *
 * Latency: a typist records a monotonic timestamp per seq it types
 * (conn.sent_ns, indexed by seq); a receiver finds the typist through its
 * room's agent table and subtracts. Same process, same clock.
 */
#ifndef WEFT_LOAD_H
#define WEFT_LOAD_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/crdt.h"
#include "weft/protocol.h"

/* ---- options (opts.c) ----------------------------------------------------------- */

typedef struct opts {
    char host[256];
    int port;
    char path[256];
    int scenario; /* 1..6 */
    int rooms, clients, typists;
    double rate, secs;
    int presence;
    char room_prefix[256];
    uint64_t seed;
    char trace[1024];
    int joins;
    double cold_wait;
    int writers, window;
    size_t max_frame;
    int max_pending; /* connections handshaking at once */
} opts;

/* Parses argv into o (defaults filled per scenario). 0, or -1 after a
 * message on stderr; 1 for --help (printed). */
int opts_parse(opts *o, int argc, char **argv);

/* ---- statistics (stats.c) ------------------------------------------------------- */

/* Growable sample list of milliseconds. */
typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

void samples_add(samples *s, double ms);
void samples_free(samples *s);

typedef struct lat_summary {
    size_t n;
    double p50, p95, p99, max;
} lat_summary;

/* Sorts s in place and summarises it (n == 0: everything 0). */
lat_summary samples_summary(samples *s);

/* Monotonic nanoseconds. */
int64_t mono_ns(void);
/* User + system CPU seconds of this process. */
double cpu_secs(void);

/* ---- timers (timer.c) ----------------------------------------------------------- */

/* A timer: caller-allocated, zeroed before first use. */
typedef struct ltimer ltimer;
typedef void (*ltimer_cb)(ltimer *t);
struct ltimer {
    int64_t due_ns; /* monotonic */
    ltimer_cb cb;
    size_t slot; /* heap index + 1, 0 = not scheduled */
};

/* The timerfd, adopted into the context's default vhost. 0 or -1. */
int timers_init(struct lws_context *ctx);
/* (Re)schedules t at monotonic due_ns. */
void timer_at(ltimer *t, int64_t due_ns, ltimer_cb cb);
void timer_cancel(ltimer *t);
/* The lws protocol callback of the timerfd ("weft-load-timer"). */
int timer_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len);

/* ---- connections (conn.c) --------------------------------------------------------- */

typedef enum conn_role { ROLE_READER, ROLE_TYPIST, ROLE_BUILDER, ROLE_JOINER } conn_role;

typedef enum conn_state {
    C_NEW,        /* not connected yet */
    C_CONNECTING, /* TCP + upgrade in progress */
    C_SYNCING,    /* hello sent, welcome chunks arriving */
    C_LIVE,       /* synced */
    C_CLOSING,    /* we asked for a close */
    C_DONE        /* connection gone */
} conn_state;

typedef struct txframe {
    uint8_t *buf; /* LWS_PRE bytes of headroom, then the message */
    size_t len, cap;
} txframe;

/* Ring of frames waiting for WRITEABLE; slots keep their buffers. */
typedef struct txq {
    txframe *f;
    size_t head, n, cap;
} txq;

/* A batch sent and not yet acknowledged. */
typedef struct inflight {
    uint32_t end_seq; /* acked once next_seq >= end_seq */
    int64_t t_ns;
} inflight;

typedef struct lroom lroom;

typedef struct conn {
    struct lws *wsi;
    lroom *room;
    uint32_t idx;
    conn_role role;
    conn_state st;
    uint32_t close_code; /* from the server's close frame or error message */
    int64_t t_start_ns, t_synced_ns;
    int64_t t_open_ns, t_welcome_ns; /* upgrade done; first welcome frame in */
    int64_t load_ns;                 /* spent applying welcome chunks */
    /* S4 joiners: the visible text read from a one-chunk snapshot welcome
     * (weft_proto_snapshot_text), before the replica is built from it */
    int64_t t_text_ns, text_ns;
    weft_buf shown;

    /* the replica */
    weft_doc *doc;
    uint32_t agent;
    weft_id *front; /* frontier: parents of the next local batch, sorted */
    size_t nfront, front_cap;

    uint8_t *rx; /* receive assembly of a fragmented message */
    size_t rx_len, rx_cap;
    txq q;

    /* typing */
    bool has_cursor;
    weft_anchor cursor; /* after our last char */
    int64_t *sent_ns;   /* by seq: when the char was typed */
    size_t sent_cap;
    char *typed; /* what this connection typed, in order */
    size_t typed_n, typed_cap;
    uint32_t pres_clock;
    int64_t next_due_ns;
    uint64_t rng;
    ltimer tm;

    /* acknowledgements */
    inflight *fl;
    size_t fl_head, fl_n, fl_cap;
    uint32_t acked; /* next_seq of the last ack */
} conn;

/* Starts connecting c (state C_CONNECTING). 0 or -1. */
int conn_connect(conn *c);
/* Asks for a normal close (1000); the driver hears conn_closed later. */
void conn_close(conn *c);
/* Queues an encoded message (copied into a reused slot). 0 or -1. */
int conn_send(conn *c, const weft_buf *b);
/* Frees what c holds (not c itself). */
void conn_cleanup(conn *c);
/* The lws protocol callback for "weft.1". */
int conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* ---- replica (replica.c) ----------------------------------------------------------- */

/* Sends hello (fresh client: no agent, empty vector). */
int replica_hello(conn *c);
/* One welcome frame; *done when it was the last chunk. */
int replica_welcome(conn *c, const weft_proto_msg *m, bool *done);
/* A broadcast batch from the server. */
int replica_ops(conn *c, const weft_proto_msg *m, int64_t now);
/* An ack: drops acknowledged batches (ack latencies to the driver). */
void replica_ack(conn *c, const weft_proto_msg *m, int64_t now);
/* Types one char at the cursor and sends it as one batch. */
int replica_type(conn *c, char ch, int64_t now);
/* Sends the cursor as presence. */
int replica_presence(conn *c);
/* Sends the ops of l as batches of at most max_frame bytes each. */
int replica_send_oplist(conn *c, const weft_oplist *l, size_t max_frame, size_t *nbatches,
                        size_t *bytes);
/* The frontier after local ops (their last ID). */
void replica_frontier_local(conn *c, const weft_op *last);
/* Seqs of c's agent typed and not yet acknowledged. */
static inline bool replica_all_acked(const conn *c)
{
    return c->fl_n == 0;
}

/* ---- rooms -------------------------------------------------------------------------- */

typedef struct agent_ref {
    uint32_t agent;
    conn *c;
} agent_ref;

struct lroom {
    char name[320];
    conn **members;
    size_t n;
    agent_ref *typists; /* sorted by agent once everyone is synced */
    size_t ntypists;
};

/* The typist of room r with this agent, or NULL (binary search). */
conn *room_typist(const lroom *r, uint32_t agent);
/* Sorts r->typists by agent (after every member is synced). */
void room_index_typists(lroom *r);

/* ---- the run (main.c) ---------------------------------------------------------------- */

/* What a scenario driver is told about its connections. */
typedef struct driver {
    void (*synced)(conn *c);
    void (*closed)(conn *c);
    void (*acked)(conn *c);
} driver;

typedef struct load_run {
    opts o;
    struct lws_context *ctx;
    driver drv;
    bool done;
    int exit_code;

    bool measuring;
    int64_t t_measure0, t_measure1;
    double cpu0, cpu1;

    uint64_t sent;      /* chars typed in the measured phase */
    uint64_t expected;  /* deliveries they call for */
    uint64_t delivered; /* chars received by replicas other than the author */
    uint64_t acks_in_window;
    uint64_t errors;
    samples lat, ack;

    char notes[16][256];
    int nnotes;
} load_run;

extern load_run g;

/* Adds a note (printf format) to the result. */
void run_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Counts an error and says why on stderr. */
void run_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints one JSON event line ({"event":"ready"} ...). */
void run_event(const char *name);
/* Starts / ends the measured phase (events, clock, CPU). */
void run_measure_start(void);
void run_measure_end(void);
/* Schedules cb on t after ms milliseconds. */
void run_after(ltimer *t, double ms, ltimer_cb cb);

/* The result line's scenario-specific parts. */
typedef struct result {
    int conns, rooms;
    bool have_traffic; /* sent/expected/delivered/lat/opsPerSec apply */
    bool have_ack;
    bool have_acks_per_sec;
    bool have_join;
    lat_summary join_warm, join_cold;           /* until the replica is built */
    lat_summary join_warm_text, join_cold_text; /* until the text is in hand */
    bool have_join_cold;
    bool have_doc_chars;
    uint64_t doc_chars;
    bool have_sent;
    uint64_t sent_override; /* S4: ops uploaded */
    bool converged;
} result;

/* Prints the result line. */
void run_result(const result *r);

/* Scenario drivers: set up connections and timers; the loop runs them. */
int rooms_start(void);
int join_start(void);

/* ---- the server's /metrics (probe.c) --------------------------------------------------- */

/* Reads gauge `name` from http://host:port/metrics (blocking, 2 s timeout).
 * 0 and *value, or -1. */
int probe_metric(const char *host, int port, const char *name, double *value);

#endif

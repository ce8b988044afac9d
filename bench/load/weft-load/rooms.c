/*
 * rooms.c — the room scenarios: S1 latency, S2 fan-out, S3 many rooms, S5
 * idle connections, S6 durable writers.
 *
 * Phases: connect every replica (at most --max-pending handshaking at
 * once) and wait for each welcome → "ready" → measured phase (typists
 * type at --rate from a random phase; S6 writers keep --window single-char
 * batches in flight, the next sent when one is acknowledged, or with
 * --rate type on a fixed schedule like typists; S5 holds)
 * → drain (every delivery and ack arrives, or 30 s) → convergence: every
 * replica of a room holds the same text, and in it each typist's chars,
 * in document order, are exactly what it typed, in typing order.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_MAX_MS 30000.0
#define DRAIN_POLL_MS 20.0

static struct {
    conn *conns;
    int nconns;
    lroom *rooms;
    int nrooms;
    int next_connect, pending, synced, failed;
    bool ready;
    int64_t t_connect0, t_drain0;
    double period_ns; /* typing interval */
    ltimer phase_tm, connect_tm;
    samples lag; /* how late typists' timers fire: is the client keeping up? */
} R;

/* ---- rooms' typist index --------------------------------------------------------- */

static int agent_cmp(const void *a, const void *b)
{
    uint32_t x = ((const agent_ref *)a)->agent, y = ((const agent_ref *)b)->agent;
    return (x > y) - (x < y);
}

void room_index_typists(lroom *r)
{
    for (size_t i = 0; i < r->ntypists; i++)
        r->typists[i].agent = r->typists[i].c->agent;
    qsort(r->typists, r->ntypists, sizeof *r->typists, agent_cmp);
}

/* Index of agent's typist in r->typists, or r->ntypists. */
static size_t typist_index(const lroom *r, uint32_t agent)
{
    size_t lo = 0, hi = r->ntypists;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->typists[mid].agent < agent)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->ntypists && r->typists[lo].agent == agent ? lo : r->ntypists;
}

conn *room_typist(const lroom *r, uint32_t agent)
{
    size_t k = typist_index(r, agent);
    return k < r->ntypists ? r->typists[k].c : NULL;
}

/* ---- convergence ----------------------------------------------------------------------- */

/* Each typist's chars, in document order, are what it typed, in order. */
static bool room_typed_ok(lroom *r, const weft_doc *doc)
{
    size_t *seen = calloc(r->ntypists ? r->ntypists : 1, sizeof *seen);
    bool ok = seen != NULL;
    weft_run_iter it;
    weft_run run;
    weft_run_iter_init(&it, doc);
    while (ok && weft_run_iter_next(&it, &run)) {
        if (run.deleted)
            continue;
        size_t k = typist_index(r, run.agent);
        conn *t = k < r->ntypists ? r->typists[k].c : NULL;
        ok = t && run.seq == seen[k] && run.seq + run.bytes <= t->typed_n &&
             memcmp(run.text, t->typed + run.seq, run.bytes) == 0;
        if (ok)
            seen[k] += run.bytes;
    }
    for (size_t k = 0; ok && k < r->ntypists; k++)
        ok = seen[k] == r->typists[k].c->typed_n;
    free(seen);
    return ok;
}

static bool room_converged(lroom *r)
{
    weft_buf ref, txt;
    weft_buf_init(&ref);
    weft_buf_init(&txt);
    bool ok =
        r->n > 0 && r->members[0]->st == C_LIVE && weft_doc_text(r->members[0]->doc, &ref) == 0;
    for (size_t i = 1; ok && i < r->n; i++) {
        conn *c = r->members[i];
        ok = c->st == C_LIVE && weft_doc_text(c->doc, &txt) == 0 && txt.n == ref.n &&
             memcmp(txt.p, ref.p, ref.n) == 0;
    }
    if (ok)
        ok = room_typed_ok(r, r->members[0]->doc);
    if (!ok)
        fprintf(stderr, "weft-load: room %s did not converge\n", r->name);
    weft_buf_cleanup(&ref);
    weft_buf_cleanup(&txt);
    return ok;
}

/* ---- the end ----------------------------------------------------------------------------- */

static void finish(void)
{
    bool converged = R.failed == 0 && R.ready;
    for (int i = 0; converged && i < R.nrooms; i++)
        converged = room_converged(&R.rooms[i]);
    int s = g.o.scenario;
    result res = {.conns = R.nconns, .rooms = R.nrooms, .converged = converged};
    res.have_traffic = s != 5;
    res.have_ack = s != 5;
    res.have_acks_per_sec = s == 6;
    if (s == 6 && g.o.rate > 0)
        run_note("writers %d over %d rooms, each typing %.0f single-char batches/s on a fixed "
                 "schedule (%.0f/s offered); ack = when the batch was due to durable ack",
                 g.o.writers, R.nrooms, g.o.rate, g.o.rate * g.o.writers);
    else if (s == 6)
        run_note(
            "writers %d over %d rooms, window %d single-char batches; ack = send to durable ack",
            g.o.writers, R.nrooms, g.o.window);
    else if (s != 5)
        run_note("ack = send to durable ack of the typist's own batches (not part of the contract "
                 "for this scenario)");
    if (R.lag.n) {
        lat_summary l = samples_summary(&R.lag);
        run_note("client keeping up: typing timers fired late by p50 %.3f ms, p99 %.3f ms, max "
                 "%.3f ms",
                 l.p50, l.p99, l.max);
    }
    samples_free(&R.lag);
    run_result(&res);
}

static bool all_acked(void)
{
    for (int i = 0; i < R.nconns; i++)
        if (R.conns[i].st == C_LIVE && !replica_all_acked(&R.conns[i]))
            return false;
    return true;
}

static void drain_cb(ltimer *t)
{
    double waited = (double)(mono_ns() - R.t_drain0) / 1e6;
    if ((g.delivered >= g.expected && all_acked()) || waited > DRAIN_MAX_MS) {
        if (waited > DRAIN_MAX_MS)
            run_note("drain timed out after %.0f ms: delivered %llu of %llu", waited,
                     (unsigned long long)g.delivered, (unsigned long long)g.expected);
        finish();
        return;
    }
    run_after(t, DRAIN_POLL_MS, drain_cb);
}

static void end_cb(ltimer *t)
{
    run_measure_end();
    R.t_drain0 = mono_ns();
    drain_cb(t);
}

/* ---- typing ------------------------------------------------------------------------------- */

static char next_char(conn *c)
{
    c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
    unsigned x = (unsigned)(c->rng >> 33) % 32;
    return x < 26 ? (char)('a' + x) : x < 30 ? ' ' : '\n';
}

static void type_one(conn *c, int64_t now)
{
    if (replica_type(c, next_char(c), now) || (g.o.presence && replica_presence(c)))
        conn_close(c);
}

static void typist_cb(ltimer *t)
{
    conn *c = lws_container_of(t, conn, tm);
    if (!g.measuring || c->st != C_LIVE)
        return;
    int64_t now = mono_ns();
    samples_add(&R.lag, (double)(now - c->next_due_ns) / 1e6);
    /* S6 at a rate is open-loop: an ack's latency runs from when the batch
     * was due, so a client that falls behind cannot hide server delay */
    type_one(c, g.o.scenario == 6 ? c->next_due_ns : now);
    c->next_due_ns += (int64_t)R.period_ns;
    timer_at(&c->tm, c->next_due_ns, typist_cb);
}

/* S6 without --rate: keep --window batches in flight (closed loop). */
static bool s6_closed_loop(void)
{
    return g.o.scenario == 6 && g.o.rate <= 0;
}

static void writer_fill(conn *c)
{
    int64_t now = mono_ns();
    while (g.measuring && c->st == C_LIVE && c->fl_n < (size_t)g.o.window)
        type_one(c, now);
}

static void start_typing(void)
{
    int64_t t0 = mono_ns();
    for (int i = 0; i < R.nconns; i++) {
        conn *c = &R.conns[i];
        if (c->role != ROLE_TYPIST)
            continue;
        if (s6_closed_loop()) {
            writer_fill(c);
            continue;
        }
        c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
        double phase = (double)(c->rng >> 11) / 9007199254740992.0 * R.period_ns;
        c->next_due_ns = t0 + (int64_t)phase;
        timer_at(&c->tm, c->next_due_ns, typist_cb);
    }
}

/* ---- connecting ----------------------------------------------------------------------------- */

static void everyone_ready(void)
{
    R.ready = true;
    timer_cancel(&R.connect_tm);
    for (int i = 0; i < R.nrooms; i++)
        room_index_typists(&R.rooms[i]);
    run_note("connect phase: %d connections synced in %.3f s", R.nconns,
             (double)(mono_ns() - R.t_connect0) / 1e9);
    run_event("ready");
    run_measure_start();
    start_typing();
    run_after(&R.phase_tm, g.o.secs * 1000.0, end_cb);
}

static void connect_more(void)
{
    while (R.pending < g.o.max_pending && R.next_connect < R.nconns) {
        conn *c = &R.conns[R.next_connect++];
        R.pending++;
        if (conn_connect(c)) {
            run_error("conn %u: cannot start connecting", c->idx);
            R.pending--;
            R.failed++;
        }
    }
    if (!R.ready && R.synced + R.failed == R.nconns) {
        if (R.failed) {
            run_note("%d of %d connections failed before sync", R.failed, R.nconns);
            g.t_measure0 = g.t_measure1 = mono_ns();
            g.cpu0 = g.cpu1 = cpu_secs();
            finish();
        } else {
            everyone_ready();
        }
    }
}

static void on_synced(conn *c)
{
    R.pending--;
    R.synced++;
    connect_more();
}

static void on_closed(conn *c)
{
    if (R.ready || g.done)
        return;
    R.pending--;
    R.failed++;
    connect_more();
}

static void on_acked(conn *c)
{
    if (s6_closed_loop() && c->role == ROLE_TYPIST)
        writer_fill(c);
}

/* A connect phase that never completes (server stuck) still ends with a result. */
static void connect_timeout_cb(ltimer *t)
{
    if (R.ready || g.done)
        return;
    run_note("connect phase timed out: %d synced, %d failed of %d", R.synced, R.failed, R.nconns);
    run_error("connect phase timed out");
    g.t_measure0 = g.t_measure1 = mono_ns();
    g.cpu0 = g.cpu1 = cpu_secs();
    finish();
}

/* ---- setup ----------------------------------------------------------------------------------- */

static int room_size(int i)
{
    if (g.o.scenario == 6)
        return g.o.writers / R.nrooms + (i < g.o.writers % R.nrooms);
    return g.o.clients;
}

static int room_typists(int i)
{
    int n = g.o.scenario == 6 ? room_size(i) : g.o.typists;
    if (g.o.scenario == 5)
        n = 0;
    return n < room_size(i) ? n : room_size(i);
}

static int setup_room(lroom *r, int i, int *next_conn)
{
    snprintf(r->name, sizeof r->name, "%s%d", g.o.room_prefix, i);
    r->n = (size_t)room_size(i);
    r->ntypists = (size_t)room_typists(i);
    r->members = calloc(r->n ? r->n : 1, sizeof *r->members);
    r->typists = calloc(r->ntypists ? r->ntypists : 1, sizeof *r->typists);
    if (!r->members || !r->typists)
        return -1;
    for (size_t k = 0; k < r->n; k++) {
        conn *c = &R.conns[(*next_conn)++];
        c->idx = (uint32_t)(c - R.conns);
        c->room = r;
        c->role = k < r->ntypists ? ROLE_TYPIST : ROLE_READER;
        c->rng = g.o.seed * 0x9e3779b97f4a7c15ull + c->idx * 0xbf58476d1ce4e5b9ull + 1;
        r->members[k] = c;
        if (k < r->ntypists)
            r->typists[k].c = c;
    }
    return 0;
}

int rooms_start(void)
{
    int s = g.o.scenario;
    R.nrooms = s == 6 && g.o.writers < g.o.rooms ? g.o.writers : g.o.rooms;
    R.nconns = 0;
    for (int i = 0; i < R.nrooms; i++)
        R.nconns += room_size(i);
    R.conns = calloc((size_t)R.nconns, sizeof *R.conns);
    R.rooms = calloc((size_t)R.nrooms, sizeof *R.rooms);
    if (!R.conns || !R.rooms) {
        fprintf(stderr, "weft-load: out of memory\n");
        return -1;
    }
    int next = 0;
    for (int i = 0; i < R.nrooms; i++)
        if (setup_room(&R.rooms[i], i, &next)) {
            fprintf(stderr, "weft-load: out of memory\n");
            return -1;
        }
    R.period_ns = g.o.rate > 0 ? 1e9 / g.o.rate : 1e9;
    g.drv = (driver){on_synced, on_closed, on_acked};
    R.t_connect0 = mono_ns();
    run_after(&R.connect_tm, 60000.0 + R.nconns * 10.0, connect_timeout_cb);
    connect_more();
    return 0;
}

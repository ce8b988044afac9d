/*
 * join.c — S4: how long a fresh client takes to hold a big document.
 *
 * A builder replica replays an editing trace (bench/trace's reader, the
 * whole history) as local edits and sends the resulting ops in batches of
 * at most --max-frame bytes; when the server has acknowledged the last one
 * (durable), the join phase starts:
 *   warm: the builder stays connected (the room stays loaded); --joins
 *         fresh replicas connect one at a time, each to the full final text,
 *         then close. Join time = connect start → welcome applied (the
 *         replica built); text time = connect start → the visible text read
 *         from the snapshot (weft_proto_snapshot_text), before the replica
 *         is built, when the snapshot is the whole welcome.
 *   cold: (--cold-wait > 0) the builder leaves; before each sample the
 *         server must unload the room. It does so --idle-unload seconds
 *         after the room's last member left, once its commits are in (it
 *         retries every 100 ms), after a final snapshot, and the room is
 *         freed at the next sweep (server/src/room.c room_idle_cb). So each
 *         sample waits --cold-wait after the previous joiner's close, then
 *         polls the server's weft_rooms gauge until it reads 0 (at most 10 s
 *         more) so that a cold sample is never a warm one in disguise.
 */
#include "load.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNLOAD_POLL_MS 100.0
#define UNLOAD_MAX_EXTRA_MS 10000.0

static struct {
    trace t;
    lroom room;
    conn *conns; /* [0] builder, then joiners */
    int nconns, next;
    uint32_t final_seq;
    size_t nops, nbatches, upload_bytes;
    int64_t t_upload0;
    bool uploaded, cold, text_ok;
    int joined_warm, joined_cold, bad_joins, extra_waits, probe_failures;
    double extra_wait_ms;
    int64_t t_wait0;
    samples warm, cold_s;         /* join until the replica is built */
    samples warm_text, cold_text; /* join until the text is in hand */
    samples part[2][4]; /* warm/cold: connect+upgrade, hello to first welcome frame, read the
                           text, build the replica */
    ltimer tm;
} J;

/* ---- the end ------------------------------------------------------------------------ */

static void finish(void)
{
    if (g.measuring)
        run_measure_end();
    result res = {.conns = J.next, .rooms = 1};
    res.have_sent = true;
    res.sent_override = J.nops;
    res.have_join = true;
    res.join_warm = samples_summary(&J.warm);
    res.have_join_cold = g.o.cold_wait > 0;
    res.join_cold = samples_summary(&J.cold_s);
    res.join_warm_text = samples_summary(&J.warm_text);
    res.join_cold_text = samples_summary(&J.cold_text);
    res.have_doc_chars = true;
    res.doc_chars = J.t.end_cps;
    res.converged = J.text_ok && J.bad_joins == 0 && J.joined_warm == g.o.joins &&
                    (!res.have_join_cold || J.joined_cold == g.o.joins);
    for (int k = 0; k < 2; k++) {
        lat_summary a = samples_summary(&J.part[k][0]), b = samples_summary(&J.part[k][1]),
                    t = samples_summary(&J.part[k][2]), d = samples_summary(&J.part[k][3]);
        if (a.n)
            run_note("%s join p50 parts: TCP+upgrade %.3f ms, hello to first welcome frame %.3f ms "
                     "(server: room, agent commit, snapshot), client reads the text %.3f ms, "
                     "then builds the replica %.3f ms",
                     k ? "cold" : "warm", a.p50, b.p50, t.p50, d.p50);
    }
    if (res.have_join_cold)
        run_note("cold: %.1f s wait after each close; %d samples needed %.0f ms more for "
                 "weft_rooms to reach 0; %d probes failed",
                 g.o.cold_wait, J.extra_waits, J.extra_wait_ms, J.probe_failures);
    else
        run_note("no cold phase (--cold-wait 0)");
    run_result(&res);
    samples_free(&J.warm);
    samples_free(&J.cold_s);
    samples_free(&J.warm_text);
    samples_free(&J.cold_text);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++)
            samples_free(&J.part[k][i]);
    trace_cleanup(&J.t);
}

/* ---- joins ------------------------------------------------------------------------------ */

static bool holds_final_text(conn *c)
{
    if (weft_doc_len(c->doc) != J.t.end_cps)
        return false;
    weft_buf b;
    weft_buf_init(&b);
    bool ok =
        weft_doc_text(c->doc, &b) == 0 && b.n == J.t.end_bytes && memcmp(b.p, J.t.end, b.n) == 0;
    weft_buf_cleanup(&b);
    return ok;
}

static void start_join(void)
{
    if (J.next >= J.nconns) {
        finish();
        return;
    }
    conn *c = &J.conns[J.next++];
    c->idx = (uint32_t)(c - J.conns);
    c->room = &J.room;
    c->role = ROLE_JOINER;
    if (conn_connect(c)) {
        run_error("join %u: cannot start connecting", c->idx);
        finish();
    }
}

static void joiner_synced(conn *c)
{
    double ms = (double)(c->t_synced_ns - c->t_start_ns) / 1e6;
    if (!holds_final_text(c)) {
        J.bad_joins++;
        run_error("join %u: the replica does not hold the final text (%u chars)", c->idx,
                  weft_doc_len(c->doc));
    }
    /* a welcome in several chunks has no early text: it is in hand once synced */
    double text_ms = c->t_text_ns ? (double)(c->t_text_ns - c->t_start_ns) / 1e6 : ms;
    if (c->t_text_ns &&
        (c->shown.n != J.t.end_bytes || memcmp(c->shown.p, J.t.end, c->shown.n) != 0)) {
        J.bad_joins++;
        run_error("join %u: the snapshot's text is not the final text", c->idx);
    }
    weft_buf_cleanup(&c->shown);
    samples_add(J.cold ? &J.cold_s : &J.warm, ms);
    samples_add(J.cold ? &J.cold_text : &J.warm_text, text_ms);
    samples *part = J.part[J.cold];
    samples_add(&part[0], (double)(c->t_open_ns - c->t_start_ns) / 1e6);
    samples_add(&part[1], (double)(c->t_welcome_ns - c->t_open_ns) / 1e6);
    samples_add(&part[2], (double)c->text_ns / 1e6);
    samples_add(&part[3], (double)c->load_ns / 1e6);
    if (J.cold)
        J.joined_cold++;
    else
        J.joined_warm++;
    weft_doc_free(c->doc); /* a few MB each: keep memory flat */
    c->doc = NULL;
    conn_close(c);
}

static void unload_poll_cb(ltimer *t)
{
    double rooms = 0;
    double extra = (double)(mono_ns() - J.t_wait0) / 1e6;
    if (probe_metric(g.o.host, g.o.port, "weft_rooms", &rooms)) {
        J.probe_failures++; /* no /metrics: trust the wait */
    } else if (rooms > 0 && extra < UNLOAD_MAX_EXTRA_MS) {
        run_after(t, UNLOAD_POLL_MS, unload_poll_cb);
        return;
    } else if (rooms > 0) {
        run_error("cold join: the server still has %.0f rooms loaded", rooms);
    }
    if (extra > 1.0) {
        J.extra_waits++;
        J.extra_wait_ms += extra;
    }
    start_join();
}

static void cold_wait_cb(ltimer *t)
{
    J.t_wait0 = mono_ns();
    unload_poll_cb(t);
}

/* The previous sample's connection is gone: the next one. */
static void next_sample(void)
{
    bool warm_done = J.next - 1 >= g.o.joins; /* conns 1 .. joins are the warm ones */
    if (!warm_done) {
        start_join();
        return;
    }
    if (g.o.cold_wait <= 0) {
        finish();
        return;
    }
    if (!J.cold) { /* the builder leaves; cold samples begin */
        J.cold = true;
        conn_close(&J.conns[0]);
        return;
    }
    run_after(&J.tm, g.o.cold_wait * 1000.0, cold_wait_cb);
}

/* ---- building and uploading ------------------------------------------------------------- */

static int replay(conn *c, weft_oplist *ops)
{
    int64_t t0 = mono_ns();
    for (size_t i = 0; i < J.t.npatches; i++) {
        const trace_patch *p = &J.t.patches[i];
        int rc = 0;
        if (p->del)
            rc = weft_doc_delete(c->doc, p->pos, p->del, ops);
        if (rc >= 0 && p->bytes)
            rc = weft_doc_insert(c->doc, p->pos, J.t.text + p->off, p->bytes, ops);
        if (rc < 0) {
            run_error("trace patch %zu: %s", i, weft_strerror(rc));
            return -1;
        }
    }
    J.text_ok = holds_final_text(c);
    if (!J.text_ok)
        run_error("the replayed trace does not give its endContent");
    run_note("trace replayed locally: %zu patches, %zu ops, %u chars, %.1f ms", J.t.npatches,
             ops->n, J.t.end_cps, (double)(mono_ns() - t0) / 1e6);
    return 0;
}

static void builder_synced(conn *c)
{
    weft_oplist ops;
    weft_oplist_init(&ops);
    if (weft_doc_len(c->doc) != 0)
        run_error("room %s is not empty: use a fresh --room-prefix", J.room.name);
    int rc = replay(c, &ops);
    J.nops = ops.n;
    J.final_seq = weft_doc_next_seq(c->doc, c->agent);
    J.t_upload0 = mono_ns();
    if (rc == 0)
        rc = replica_send_oplist(c, &ops, g.o.max_frame, &J.nbatches, &J.upload_bytes);
    weft_oplist_cleanup(&ops);
    if (rc) {
        conn_close(c);
        finish();
    }
}

static void upload_done(void)
{
    J.uploaded = true;
    run_note("upload: %zu ops in %zu batches, %zu bytes (max frame %zu), acknowledged after "
             "%.1f ms",
             J.nops, J.nbatches, J.upload_bytes, g.o.max_frame,
             (double)(mono_ns() - J.t_upload0) / 1e6);
    run_event("ready");
    run_measure_start();
    start_join();
}

/* ---- driver callbacks ------------------------------------------------------------------- */

static void on_synced(conn *c)
{
    if (c->role == ROLE_BUILDER)
        builder_synced(c);
    else
        joiner_synced(c);
}

static void on_acked(conn *c)
{
    if (c->role == ROLE_BUILDER && !J.uploaded && c->acked >= J.final_seq && J.nbatches)
        upload_done();
}

static void on_closed(conn *c)
{
    if (g.done)
        return;
    if (c->role == ROLE_BUILDER && !J.cold) { /* lost before the join phase was over */
        finish();
        return;
    }
    if (c->role == ROLE_JOINER && !c->t_synced_ns) /* closed before it was synced */
        J.bad_joins++;
    next_sample();
}

int join_start(void)
{
    char err[512];
    int64_t t0 = mono_ns();
    if (trace_load(&J.t, g.o.trace, err, sizeof err)) {
        fprintf(stderr, "weft-load: %s\n", err);
        return -1;
    }
    const char *base = strrchr(g.o.trace, '/');
    run_note("trace %s loaded in %.0f ms", base ? base + 1 : g.o.trace,
             (double)(mono_ns() - t0) / 1e6);
    J.nconns = 1 + g.o.joins * (g.o.cold_wait > 0 ? 2 : 1);
    J.conns = calloc((size_t)J.nconns, sizeof *J.conns);
    static conn *members[1];
    if (!J.conns)
        return -1;
    snprintf(J.room.name, sizeof J.room.name, "%s0", g.o.room_prefix);
    members[0] = &J.conns[0];
    J.room.members = members;
    J.room.n = 1;
    g.drv = (driver){on_synced, on_closed, on_acked};
    conn *b = &J.conns[0];
    b->room = &J.room;
    b->role = ROLE_BUILDER;
    J.next = 1;
    return conn_connect(b);
}

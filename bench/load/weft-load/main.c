/*
 * weft-load — drives `weft serve` through the load scenarios S1..S6 of
 * bench/load/README.md ("The contract") and prints JSON lines (ready, measure-start,
 * measure-end, result) on stdout; diagnostics go to stderr.
 *
 *   weft-load --url ws://127.0.0.1:PORT --scenario S1 [options]
 *
 * Single-threaded: one lws context, every connection a client of it, every
 * timer an lws_sul. See load.h for the modules.
 */
#include "load.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <ev.h>

load_run g;

/* ---- notes, errors, events --------------------------------------------------------- */

void run_note(const char *fmt, ...)
{
    if (g.nnotes >= (int)(sizeof g.notes / sizeof g.notes[0]))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g.notes[g.nnotes++], sizeof g.notes[0], fmt, ap);
    va_end(ap);
}

void run_error(const char *fmt, ...)
{
    g.errors++;
    if (g.errors > 50) /* the count is in the result; keep stderr readable */
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("weft-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void run_event(const char *name)
{
    printf("{\"event\":\"%s\"}\n", name);
    fflush(stdout);
}

void run_measure_start(void)
{
    run_event("measure-start");
    g.cpu0 = cpu_secs();
    g.t_measure0 = mono_ns();
    g.measuring = true;
}

void run_measure_end(void)
{
    g.measuring = false;
    g.t_measure1 = mono_ns();
    g.cpu1 = cpu_secs();
    run_event("measure-end");
}

void run_after(ltimer *t, double ms, ltimer_cb cb)
{
    timer_at(t, mono_ns() + (ms <= 0 ? 0 : (int64_t)(ms * 1e6)), cb);
}

/* ---- the result line ------------------------------------------------------------------- */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void json_lat(const char *key, bool have, const lat_summary *l)
{
    printf(",\"%s\":", key);
    if (!have || !l->n) {
        printf("null");
        return;
    }
    printf("{\"n\":%zu,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f}", l->n, l->p50, l->p95,
           l->p99, l->max);
}

void run_result(const result *r)
{
    double secs = (double)(g.t_measure1 - g.t_measure0) / 1e9;
    lat_summary lat = samples_summary(&g.lat), ack = samples_summary(&g.ack);
    printf("{\"event\":\"result\",\"system\":\"weft\",\"scenario\":\"S%d\",\"conns\":%d,"
           "\"rooms\":%d,\"secs\":%.3f",
           g.o.scenario, r->conns, r->rooms, secs);
    if (r->have_traffic)
        printf(",\"sent\":%llu,\"expected\":%llu,\"delivered\":%llu", (unsigned long long)g.sent,
               (unsigned long long)g.expected, (unsigned long long)g.delivered);
    else if (r->have_sent)
        printf(",\"sent\":%llu,\"expected\":null,\"delivered\":null",
               (unsigned long long)r->sent_override);
    else
        printf(",\"sent\":null,\"expected\":null,\"delivered\":null");
    json_lat("lat", r->have_traffic, &lat);
    if (r->have_traffic && secs > 0)
        printf(",\"opsPerSec\":%.1f", (double)g.delivered / secs);
    else
        printf(",\"opsPerSec\":null");
    printf(",\"converged\":%s", r->converged ? "true" : "false");
    json_lat("ack", r->have_ack, &ack);
    if (r->have_acks_per_sec && secs > 0)
        printf(",\"acksPerSec\":%.1f", (double)g.acks_in_window / secs);
    else
        printf(",\"acksPerSec\":null");
    json_lat("joinWarm", r->have_join, &r->join_warm);
    json_lat("joinCold", r->have_join_cold, &r->join_cold);
    json_lat("joinWarmText", r->have_join, &r->join_warm_text);
    json_lat("joinColdText", r->have_join_cold, &r->join_cold_text);
    if (r->have_doc_chars)
        printf(",\"docChars\":%llu", (unsigned long long)r->doc_chars);
    else
        printf(",\"docChars\":null");
    printf(",\"clientCpuSec\":%.3f,\"errors\":%llu,\"notes\":[", g.cpu1 - g.cpu0,
           (unsigned long long)g.errors);
    for (int i = 0; i < g.nnotes; i++) {
        if (i)
            putchar(',');
        json_str(g.notes[i]);
    }
    printf("]}\n");
    fflush(stdout);
    if (!r->converged || g.errors)
        g.exit_code = 1;
    g.done = true;
}

/* ---- setup ------------------------------------------------------------------------------- */

static const struct lws_protocols protocols[] = {
    {WEFT_PROTO_SUBPROTOCOL, conn_callback, 0, 16384, 0, NULL, 0},
    {"weft-load-timer", timer_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* S5 opens thousands of sockets: take the hard limit. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

static int total_conns(void)
{
    const opts *o = &g.o;
    if (o->scenario == 4)
        return 1 + 2 * o->joins;
    if (o->scenario == 6)
        return o->writers;
    return o->rooms * o->clients;
}

/* The loop we run ourselves: lws_service() on lws 4.1's libev plugin does
 * not return between events, so the end of a run could not stop it. */
static struct ev_loop *g_loop;

static struct lws_context *create_context(void)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.pt_serv_buf_size = 65536;
    /* no fd_limit_per_thread: lws 4.1 then finds a wsi by a linear search
     * over its table (wsi_from_fd, 15% of S3's client CPU); sized by the
     * rlimit, the table is indexed by fd */
    info.count_threads = 1;
    /* poll() over every socket per wakeup cost 85% of S3's client CPU at
     * 1,000 connections: lws's libev plugin (epoll) costs per event */
    static void *loops[1];
    g_loop = ev_loop_new(EVFLAG_AUTO);
    if (!g_loop)
        return NULL;
    loops[0] = g_loop;
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBEV;
    return lws_create_context(&info);
}

int main(int argc, char **argv)
{
    int rc = opts_parse(&g.o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    rlim_t nofile = raise_nofile();
    if ((rlim_t)total_conns() + 64 > nofile)
        fprintf(stderr, "weft-load: %d connections but RLIMIT_NOFILE is %llu\n", total_conns(),
                (unsigned long long)nofile);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    g.ctx = create_context();
    if (!g.ctx) {
        fprintf(stderr, "weft-load: cannot create the lws context\n");
        return 2;
    }
    if (timers_init(g.ctx)) {
        fprintf(stderr, "weft-load: cannot set up the timerfd\n");
        lws_context_destroy(g.ctx);
        return 2;
    }
    rc = g.o.scenario == 4 ? join_start() : rooms_start();
    if (rc) {
        lws_context_destroy(g.ctx);
        return 2;
    }
    while (!g.done)
        ev_run(g_loop, EVRUN_ONCE);
    lws_context_destroy(g.ctx);
    ev_loop_destroy(g_loop);
    samples_free(&g.lat);
    samples_free(&g.ack);
    return g.exit_code;
}

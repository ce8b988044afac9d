/*
 * store_bench.c — durable acks per second and document load time.
 *
 *   weft-store-bench [--dir DIR] [--seconds S] [--snapshot-kib N]
 *
 * 1. Durable batches/s. A loop plays the server's event loop: each turn it
 *    polls completions, submits `per_turn` single-op batches (as many
 *    clients would), flushes, and sleeps on the wake callback only when
 *    `window` batches are in flight. Every ack is durable (WAL,
 *    synchronous=FULL). Measured with group commit and with one commit per
 *    batch (max_group = 1), plus 16-op batches for ops/s. Ack latency is
 *    submit -> completion polled.
 * 2. Load time of a document with an automerge-paper-sized history
 *    (259,778 single-op batches, like the trace) from a fresh connection:
 *    latest snapshot + tail, and full replay without a snapshot.
 *
 * Op bytes are synthetic (sizes of single-op batches in the wire format,
 * docs/protocol.md), since the store never looks inside them.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "weft/storage.h"

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)
#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0)                                                                               \
            DIE("%s:%d: %s: %s", __FILE__, __LINE__, #expr, weft_store_strerror(rc_));             \
    } while (0)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- wake-up (what lws_cancel_service does for the server) ---------------- */

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static unsigned long wakes;

static void wake(void *ctx)
{
    pthread_mutex_lock(&wmu);
    wakes++;
    pthread_cond_signal(&wcv);
    pthread_mutex_unlock(&wmu);
}

/* ---- 1. durable acks ------------------------------------------------------- */

typedef struct ack_result {
    double secs;
    uint64_t acks, commits;
    double p50_ms, p99_ms, max_ms;
} ack_result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fill_op(uint8_t *buf, size_t n, uint64_t i)
{
    for (size_t k = 0; k < n; k++)
        buf[k] = (uint8_t)(i * 31 + k * 7);
}

static ack_result run_acks(const char *path, uint32_t max_group, uint32_t per_turn, uint32_t window,
                           uint32_t ops_per_batch, double seconds)
{
    enum { CAP = 1 << 22 };
    static double sent_at[CAP];
    static double lat[CAP];
    static weft_store_completion c[4096];
    uint8_t buf[1024];
    weft_store *s = NULL;
    weft_store_options o = {.wake = wake, .max_group = max_group};
    unlink(path);
    OK(weft_store_open(path, &o, &s));
    weft_store_doc doc = 0;
    uint32_t agent = 0;
    OK(weft_store_doc_ensure(s, "bench", 0, &doc));
    OK(weft_store_agent_new(s, doc, "bench", 0, &agent));
    weft_store_stats st0, st1;
    weft_store_get_stats(s, &st0);

    size_t op_bytes = ops_per_batch == 1 ? 28 : 14 * ops_per_batch;
    uint64_t next = 0, acked = 0, inflight = 0;
    double t0 = now_s(), end = t0 + seconds;
    int stopping = 0;
    while (!stopping || inflight) {
        pthread_mutex_lock(&wmu);
        unsigned long seen = wakes;
        pthread_mutex_unlock(&wmu);
        size_t n;
        while ((n = weft_store_poll(s, c, 4096)) > 0) {
            double t = now_s();
            for (size_t i = 0; i < n; i++) {
                if (c[i].status != 0)
                    DIE("append failed: %s", weft_store_strerror(c[i].status));
                lat[acked++] = t - sent_at[c[i].token];
            }
            inflight -= n;
        }
        if (!stopping && now_s() >= end)
            stopping = 1;
        if (stopping && !inflight)
            break;
        if (!stopping && inflight + per_turn <= window && next + per_turn < CAP) {
            for (uint32_t i = 0; i < per_turn; i++, next++) {
                fill_op(buf, op_bytes, next);
                weft_store_append_req r = {.doc = doc,
                                           .agent = agent,
                                           .seq = (uint32_t)(next * ops_per_batch),
                                           .len = ops_per_batch,
                                           .author = "bench",
                                           .received_at = (int64_t)next,
                                           .ops = {buf, op_bytes}};
                sent_at[next] = now_s();
                OK(weft_store_submit_append(s, &r, next));
            }
            inflight += per_turn;
            weft_store_flush(s);
            continue;
        }
        pthread_mutex_lock(&wmu);
        while (wakes == seen)
            pthread_cond_wait(&wcv, &wmu);
        pthread_mutex_unlock(&wmu);
    }
    double secs = now_s() - t0;
    weft_store_get_stats(s, &st1);
    weft_store_close(s);
    qsort(lat, acked, sizeof *lat, cmp_double);
    ack_result r = {
        .secs = secs,
        .acks = acked,
        .commits = st1.commits - st0.commits,
        .p50_ms = acked ? lat[acked / 2] * 1e3 : 0,
        .p99_ms = acked ? lat[(size_t)((double)acked * 0.99)] * 1e3 : 0,
        .max_ms = acked ? lat[acked - 1] * 1e3 : 0,
    };
    return r;
}

static void print_acks(const char *label, uint32_t per_turn, uint32_t window, uint32_t ops,
                       ack_result r)
{
    printf("| %-22s | %5u | %6u | %3u | %9.0f | %10.0f | %8.1f | %7.2f | %7.2f | %7.2f |\n", label,
           per_turn, window, ops, (double)r.acks / r.secs, (double)r.acks * ops / r.secs,
           (double)r.acks / (double)(r.commits ? r.commits : 1), r.p50_ms, r.p99_ms, r.max_ms);
    fflush(stdout);
}

/* ---- 2. load --------------------------------------------------------------- */

#define TRACE_BATCHES 259778u /* automerge-paper: one op per transaction */

typedef struct sink {
    uint64_t bytes, batches, sum;
} sink;

static int sink_batch(void *ctx, const weft_store_batch *b)
{
    sink *k = ctx;
    k->batches++;
    k->bytes += b->ops.len;
    k->sum += b->ops.len ? b->ops.ptr[b->ops.len - 1] : 0;
    return 0;
}

static int sink_snap(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    sink *k = ctx;
    k->bytes += state.len;
    for (size_t i = 0; i < state.len; i += 4096)
        k->sum += state.ptr[i];
    return 0;
}

static void build_history(const char *path, size_t snap_bytes, uint64_t snap_lsn)
{
    static weft_store_completion c[4096];
    uint8_t buf[64];
    weft_store *s = NULL;
    weft_store_options o = {.wake = wake};
    unlink(path);
    OK(weft_store_open(path, &o, &s));
    weft_store_doc doc = 0;
    uint32_t agent = 0;
    OK(weft_store_doc_ensure(s, "automerge-paper", 0, &doc));
    OK(weft_store_agent_new(s, doc, "martin", 0, &agent));
    for (uint32_t i = 0; i < TRACE_BATCHES;) {
        uint32_t k = 0;
        for (; k < 4096 && i < TRACE_BATCHES; k++, i++) {
            /* 70% inserts (~28 B encoded), 30% deletes (~22 B) like the trace */
            size_t n = (i * 2654435761u) % 10 < 7 ? 28 : 22;
            fill_op(buf, n, i);
            weft_store_append_req r = {.doc = doc,
                                       .agent = agent,
                                       .seq = i,
                                       .len = 1,
                                       .author = "martin",
                                       .received_at = i,
                                       .ops = {buf, n}};
            OK(weft_store_submit_append(s, &r, i));
        }
        weft_store_flush(s);
        for (uint32_t got = 0; got < k;) {
            pthread_mutex_lock(&wmu);
            unsigned long seen = wakes;
            pthread_mutex_unlock(&wmu);
            size_t n = weft_store_poll(s, c, 4096);
            for (size_t j = 0; j < n; j++)
                if (c[j].status)
                    DIE("append: %s", weft_store_strerror(c[j].status));
            got += (uint32_t)n;
            if (n)
                continue;
            pthread_mutex_lock(&wmu);
            while (wakes == seen)
                pthread_cond_wait(&wcv, &wmu);
            pthread_mutex_unlock(&wmu);
        }
    }
    if (snap_bytes) {
        uint8_t *state = malloc(snap_bytes);
        fill_op(state, snap_bytes, 7);
        OK(weft_store_snapshot_put(s, doc, snap_lsn, (weft_store_bytes){state, snap_bytes}, 0));
        free(state);
    }
    weft_store_close(s);
}

typedef struct load_result {
    double first_ms, first_max_ms, median_ms, min_ms;
    uint64_t batches, bytes;
} load_result;

/* Loads once from each of `fresh` newly opened stores (new connections,
 * cold SQLite cache; the OS page cache stays warm), then `reps` times from
 * one store. */
static load_result time_load(const char *path, int with_snapshot, int fresh, int reps)
{
    double t[64], first[64];
    load_result r = {0};
    weft_store *s = NULL;
    weft_store_doc doc = 0;
    for (int f = 0; f <= fresh; f++) {
        OK(weft_store_open(path, NULL, &s));
        OK(weft_store_doc_find(s, "automerge-paper", &doc));
        int n = f < fresh ? 1 : reps;
        for (int i = 0; i < n; i++) {
            sink k = {0};
            double t0 = now_s();
            OK(weft_store_load(s, doc, UINT64_MAX, with_snapshot ? sink_snap : NULL, sink_batch, &k,
                               NULL));
            double ms = (now_s() - t0) * 1e3;
            if (f < fresh)
                first[f] = ms;
            else
                t[i] = ms;
            r.batches = k.batches;
            r.bytes = k.bytes;
        }
        weft_store_close(s);
    }
    qsort(first, (size_t)fresh, sizeof *first, cmp_double);
    r.first_ms = first[fresh / 2];
    r.first_max_ms = first[fresh - 1];
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    r.median_ms = t[reps / 2];
    r.min_ms = t[0];
    return r;
}

/* A reconnecting client that lacks the last `behind` batches. */
static load_result time_since(const char *path, uint32_t behind, int reps)
{
    double t[64];
    load_result r = {0};
    weft_store *s = NULL;
    OK(weft_store_open(path, NULL, &s));
    weft_store_doc doc = 0;
    OK(weft_store_doc_find(s, "automerge-paper", &doc));
    weft_store_vv_entry vv = {0, TRACE_BATCHES - behind}; /* the bench's only agent is 0 */
    for (int i = 0; i < reps; i++) {
        sink k = {0};
        double t0 = now_s();
        OK(weft_store_since(s, doc, &vv, 1, sink_batch, &k));
        t[i] = (now_s() - t0) * 1e3;
        r.batches = k.batches;
        r.bytes = k.bytes;
    }
    weft_store_close(s);
    r.first_ms = t[0];
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    r.median_ms = t[reps / 2];
    r.min_ms = t[0];
    return r;
}

/* ---- main ------------------------------------------------------------------- */

static void machine(void)
{
    struct utsname u;
    char line[256], model[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            snprintf(model, sizeof model, "%s", p ? p + 2 : line);
            model[strcspn(model, "\n")] = 0;
            break;
        }
    }
    if (f)
        fclose(f);
    uname(&u);
    char commit[64] = "?";
    FILE *g = popen("git -C " WEFT_SOURCE_DIR " rev-parse --short HEAD 2>/dev/null", "r");
    if (g) {
        if (fgets(commit, sizeof commit, g))
            commit[strcspn(commit, "\n")] = 0;
        pclose(g);
    }
    printf("machine: %s, %ld CPUs, %s %s; commit %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
           u.sysname, u.release, commit);
}

int main(int argc, char **argv)
{
    const char *dir = ".";
    double seconds = 3;
    size_t snap_kib = 1024;
    int acks = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--snapshot-kib") && i + 1 < argc)
            snap_kib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--load-only"))
            acks = 0;
        else
            DIE("usage: %s [--dir DIR] [--seconds S] [--snapshot-kib N] [--load-only]", argv[0]);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/weft-store-bench.db", dir);
    machine();
    printf("database: %s (WAL, synchronous=FULL); %.1f s per row\n\n", path, seconds);

    if (!acks)
        goto load;
    printf("## Durable acks\n\n");
    printf("| mode                   | batches/turn | window | ops/batch | batches/s | ops/s | "
           "batches/commit | p50 ms | p99 ms | max ms |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    static const uint32_t turns[][2] = {{1, 4096}, {16, 4096}, {256, 4096}, {16, 256}};
    for (size_t i = 0; i < sizeof turns / sizeof turns[0]; i++)
        print_acks("group commit", turns[i][0], turns[i][1], 1,
                   run_acks(path, 0, turns[i][0], turns[i][1], 1, seconds));
    print_acks("group commit", 16, 4096, 16, run_acks(path, 0, 16, 4096, 16, seconds));
    print_acks("commit per batch", 16, 64, 1, run_acks(path, 1, 16, 64, 1, seconds));
    print_acks("commit per batch", 1, 1, 1, run_acks(path, 1, 1, 1, 1, seconds));

load:
    printf("\n## Loading a document with %u batches (automerge-paper)\n\n", TRACE_BATCHES);
    printf("| case | batches read | bytes read | fresh store: median ms | fresh: max ms | "
           "warm: median ms | warm: min ms |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|\n");
    double t0 = now_s();
    /* Snapshot every 1000 ops: the latest is at 259,000, 778 batches follow. */
    build_history(path, snap_kib * 1024, 259000);
    double build_s = now_s() - t0;
    load_result r = time_load(path, 1, 9, 21);
    printf("| snapshot (%zu KiB) + tail | %llu | %llu | %.2f | %.2f | %.2f | %.2f |\n", snap_kib,
           (unsigned long long)r.batches, (unsigned long long)r.bytes, r.first_ms, r.first_max_ms,
           r.median_ms, r.min_ms);
    r = time_load(path, 0, 3, 5);
    printf("| full replay, no snapshot | %llu | %llu | %.2f | %.2f | %.2f | %.2f |\n",
           (unsigned long long)r.batches, (unsigned long long)r.bytes, r.first_ms, r.first_max_ms,
           r.median_ms, r.min_ms);
    static const uint32_t behinds[] = {100, 10000};
    for (size_t i = 0; i < 2; i++) {
        r = time_since(path, behinds[i], 21);
        printf("| since(vv), client %u behind | %llu | %llu | %.2f | - | %.2f | %.2f |\n",
               behinds[i], (unsigned long long)r.batches, (unsigned long long)r.bytes, r.first_ms,
               r.median_ms, r.min_ms);
    }
    build_history(path, snap_kib * 1024, TRACE_BATCHES - 999); /* worst tail: K-1 */
    r = time_load(path, 1, 9, 21);
    printf("| snapshot + worst tail (999) | %llu | %llu | %.2f | %.2f | %.2f | %.2f |\n",
           (unsigned long long)r.batches, (unsigned long long)r.bytes, r.first_ms, r.first_max_ms,
           r.median_ms, r.min_ms);
    printf("\n(history of %u batches written in %.2f s with group commit)\n", TRACE_BATCHES,
           build_s);
    unlink(path);
    char p2[1100];
    snprintf(p2, sizeof p2, "%s-wal", path);
    unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path);
    unlink(p2);
    return 0;
}

/*
 * test_powerloss.c — kill -9 plus a simulated power cut; nothing acknowledged
 * is lost.
 *
 * Like test_crash.c, but the child's SQLite goes through plossvfs.c, which
 * logs an undo record before every write and a mark at every fsync. After
 * the kill the parent undoes, per file, a random part of what was written
 * since that file's last fsync (the disk lost its cache), then checks the
 * same promises as test_crash.c. This is the test that fails if a commit is
 * acknowledged before its fsync (synchronous=NORMAL fails it at once).
 *
 * The original test_crash.c description follows.
 *
 *
 * Each round forks a child that allocates a fresh agent and appends batches
 * (groups of 1..64 per "turn", with a snapshot now and then) as fast as it
 * can, reporting every acknowledged batch on a pipe as soon as its
 * completion arrives. The parent SIGKILLs it after a random 2..120 ms, then
 * reopens the database (WAL recovery) and checks:
 *
 *  - PRAGMA integrity_check is "ok";
 *  - every reported batch is present, byte-identical, at a dense LSN;
 *  - what the round stored is a prefix 0..m-1 of the agent's seqs (commits
 *    are whole: no batch from the middle of a group without its
 *    predecessors), each row byte-identical to what the child generated;
 *  - earlier rounds' rows are untouched (the head only grows).
 *
 * WEFT_CRASH_SEED and WEFT_CRASH_ROUNDS override the defaults.
 *
 * WEFT_PLOSS_SEED and WEFT_PLOSS_ROUNDS override the defaults here.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plossvfs.h"
#include "test_util.h"
#include "waker.h"

typedef struct report {
    uint32_t agent, seq;
} report;

static uint64_t rng;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33) % n;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3);
        c += w;
        n -= (size_t)w;
    }
}

/* The child: never returns. */
static char log_path[512];

static void child_main(const char *path, weft_store_doc doc, int fd)
{
    if (plossvfs_install(log_path) != SQLITE_OK)
        _exit(9);
    static uint8_t buf[16384];
    static weft_store_completion c[64];
    waker w;
    waker_init(&w);
    weft_store *s = NULL;
    weft_store_options o = {.wake = waker_wake, .wake_ctx = &w};
    if (weft_store_open(path, &o, &s))
        _exit(4);
    uint32_t agent = 0;
    if (weft_store_agent_new(s, doc, "crash", 0, &agent))
        _exit(5);
    report hello = {agent, UINT32_MAX};
    write_all(fd, &hello, sizeof hello);

    uint32_t seq = 0;
    uint64_t last_lsn = 0;
    uint64_t turn_rng = agent * 7919u + 1;
    for (;;) {
        turn_rng = turn_rng * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t k = 1 + (uint32_t)(turn_rng >> 33) % 64;
        for (uint32_t i = 0; i < k; i++) {
            size_t n = test_payload(agent, seq + i, buf, sizeof buf);
            weft_store_append_req r = {.doc = doc,
                                       .agent = agent,
                                       .seq = seq + i,
                                       .len = 1,
                                       .author = "crash",
                                       .received_at = seq + i,
                                       .ops = {buf, n}};
            if (weft_store_submit_append(s, &r, seq + i))
                _exit(6);
        }
        bool snap = last_lsn && (turn_rng >> 20) % 16 == 0;
        if (snap) {
            size_t n = test_payload(agent ^ 0x5a5a5a5au, (uint32_t)last_lsn, buf, sizeof buf);
            if (weft_store_submit_snapshot(s, doc, last_lsn, (weft_store_bytes){buf, n}, 0, 1))
                _exit(7);
        }
        weft_store_flush(s);
        waker_collect(&w, s, c, k + snap);
        for (uint32_t i = 0; i < k + snap; i++) {
            if (c[i].status != 0)
                _exit(8);
            if (c[i].kind != WEFT_STORE_REQ_APPEND)
                continue;
            report r = {agent, c[i].seq};
            write_all(fd, &r, sizeof r);
            last_lsn = c[i].lsn;
        }
        seq += k;
    }
}

typedef struct round_check {
    uint32_t agent;
    uint32_t next_seq; /* prefix property */
    uint64_t next_lsn;
    size_t rows;
} round_check;

static int check_row(void *ctx, const weft_store_batch *b)
{
    static uint8_t buf[16384];
    round_check *rc = ctx;
    CHECK(b->lsn == rc->next_lsn);
    rc->next_lsn++;
    CHECK(b->agent == rc->agent);
    CHECK(b->seq == rc->next_seq && b->len == 1);
    rc->next_seq++;
    size_t n = test_payload(b->agent, b->seq, buf, sizeof buf);
    CHECK(b->ops.len == n && memcmp(b->ops.ptr, buf, n) == 0);
    rc->rows++;
    return 0;
}

static int count_row(void *ctx, const weft_store_batch *b)
{
    ++*(size_t *)ctx;
    return 0;
}

/* A snapshot's bytes were generated from (its writer's agent ^ k, lsn); the
 * writer is the agent of the row at that LSN. */
static weft_store *g_store;
static weft_store_doc g_doc;

static int snap_agent(void *ctx, const weft_store_batch *b)
{
    *(uint32_t *)ctx = b->agent;
    return 0;
}

static int check_snap(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    static uint8_t buf[16384];
    uint32_t agent = UINT32_MAX;
    (void)ctx;
    CHECK(lsn > 0);
    /* Reads from inside a callback must not reenter the store: use a second
     * store on the same file. */
    weft_store *s2 = g_store;
    CHECK_OK(weft_store_range(s2, g_doc, lsn, lsn, snap_agent, &agent));
    CHECK(agent != UINT32_MAX);
    size_t n = test_payload(agent ^ 0x5a5a5a5au, (uint32_t)lsn, buf, sizeof buf);
    CHECK(state.len == n && memcmp(state.ptr, buf, n) == 0);
    return 0;
}

static void integrity_ok(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    const char *res = (const char *)sqlite3_column_text(st, 0);
    if (!res || strcmp(res, "ok") != 0) {
        fprintf(stderr, "integrity_check: %s\n", res ? res : "(null)");
        exit(1);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    char dir[256], path[512];
    const char *e = getenv("WEFT_PLOSS_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 10) : 20261121;
    e = getenv("WEFT_PLOSS_ROUNDS");
    int rounds = e ? atoi(e) : 24;
    rng = seed;
    test_tmpdir(dir, sizeof dir, "ploss");
    snprintf(path, sizeof path, "%s/ploss.db", dir);
    snprintf(log_path, sizeof log_path, "%s/undo.log", dir);

    weft_store *s = NULL;
    weft_store_doc doc = 0;
    CHECK_OK(weft_store_open(path, NULL, &s));
    CHECK_OK(weft_store_doc_ensure(s, "crash", 0, &doc));
    weft_store_close(s);

    uint64_t head = 0;
    size_t total_reported = 0, total_rows = 0, total_undone = 0;
    report *reps = NULL;
    size_t cap = 0;
    for (int round = 0; round < rounds; round++) {
        int p[2];
        CHECK(pipe(p) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child_main(path, doc, p[1]);
        }
        close(p[1]);

        /* Read reports until the deadline, then kill, then drain. One round
         * in four counts the delay from the fork (kills during open,
         * recovery and migration); the others from the child's first report,
         * so a slow machine (sanitizers, a busy CI) still kills mid-append. */
        uint32_t delay_ms = 2 + rnd(119);
        bool from_fork = rnd(4) == 0;
        long deadline = from_fork ? (long)delay_ms : 10000; /* ms since t0 */
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        size_t n = 0;
        bool killed = false;
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (!killed && el >= deadline) {
                CHECK(kill(pid, SIGKILL) == 0);
                killed = true;
            }
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            int pr = poll(&pf, 1, killed ? -1 : (int)(deadline - el));
            if (pr < 0 && errno == EINTR)
                continue;
            CHECK(pr >= 0);
            if (pr == 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 4096;
                reps = realloc(reps, cap * sizeof *reps);
                CHECK(reps);
            }
            ssize_t r = read(p[0], (char *)reps + n * sizeof *reps, sizeof *reps);
            if (r == 0)
                break;
            CHECK(r == (ssize_t)sizeof *reps); /* 8-byte writes to a pipe are atomic */
            if (n++ == 0 && !from_fork)
                deadline = el + (long)delay_ms;
        }
        close(p[0]);
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        long undone = plossvfs_power_cut(log_path, seed + (uint64_t)round);
        CHECK(undone >= 0);
        total_undone += (size_t)undone;

        integrity_ok(path);
        CHECK_OK(weft_store_open(path, NULL, &s));
        CHECK_OK(weft_store_open(path, NULL, &g_store));
        g_doc = doc;
        if (n == 0) { /* killed before it even allocated an agent */
            weft_store_close(g_store);
            weft_store_close(s);
            continue;
        }
        CHECK(reps[0].seq == UINT32_MAX);
        round_check rc = {.agent = reps[0].agent, .next_lsn = head + 1};
        CHECK_OK(weft_store_range(s, doc, head + 1, UINT64_MAX, check_row, &rc));
        /* Every acknowledged batch is there: the child reports in seq order,
         * and the rows form the prefix 0 .. next_seq-1. */
        for (size_t i = 1; i < n; i++) {
            CHECK(reps[i].agent == rc.agent);
            CHECK(reps[i].seq == i - 1);
            CHECK(reps[i].seq < rc.next_seq);
        }
        /* Earlier rounds are untouched: the head never moves back, and the
         * document still loads (latest snapshot + tail) up to the new head. */
        uint64_t new_head = head + rc.rows, loaded = 0;
        size_t tail = 0;
        CHECK_OK(weft_store_load(s, doc, UINT64_MAX, check_snap, count_row, &tail, &loaded));
        CHECK(loaded == new_head);
        CHECK(rc.next_lsn == new_head + 1);
        head = new_head;
        total_reported += n - 1;
        total_rows += rc.rows;
        weft_store_close(g_store);
        weft_store_close(s);
        printf("round %2d: killed %3u ms after %s, %5ld writes lost, %6zu acknowledged, %6zu "
               "stored\n",
               round, delay_ms, from_fork ? "fork " : "start", undone, n - 1, rc.rows);
    }
    printf("seed %llu: %d rounds, %zu unsynced writes lost, %zu acknowledged batches, %zu "
           "stored, all present\n",
           (unsigned long long)seed, rounds, total_undone, total_reported, total_rows);
    CHECK(total_undone > 0);
    CHECK(total_reported > 0);
    free(reps);
    test_rmdir(dir);
    return 0;
}

/* crashkit.c — the kill -9 harness: the writer child, the killer, the checks.
 * See crashkit.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashkit.h"
#include "integrity.h"
#include "waker.h"

static uint32_t rnd(crashkit *k, uint32_t n)
{
    k->rng = k->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(k->rng >> 33) % n;
}

/* ---- the child ------------------------------------------------------------ */

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

/* Appends turns until killed, reporting each acknowledged batch on fd. Never
 * returns. */
static void child_main(const char *path, weft_store_doc doc, int fd)
{
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
    crashkit_report hello = {agent, UINT32_MAX};
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
            crashkit_report r = {agent, c[i].seq};
            write_all(fd, &r, sizeof r);
            last_lsn = c[i].lsn;
        }
        seq += k;
    }
}

/* ---- the parent ----------------------------------------------------------- */

void crashkit_init(crashkit *k, const char *tag, const char *seed_env, const char *rounds_env)
{
    *k = (crashkit){0};
    const char *e = getenv(seed_env);
    k->seed = e ? strtoull(e, NULL, 10) : 20261121;
    e = getenv(rounds_env);
    k->rounds = e ? atoi(e) : 24;
    k->rng = k->seed;
    test_tmpdir(k->dir, sizeof k->dir, tag);
    snprintf(k->path, sizeof k->path, "%s/%s.db", k->dir, tag);

    weft_store *s = NULL;
    CHECK_OK(weft_store_open(k->path, NULL, &s));
    CHECK_OK(weft_store_doc_ensure(s, "crash", 0, &k->doc));
    weft_store_close(s);
}

void crashkit_cleanup(crashkit *k)
{
    free(k->reps);
    k->reps = NULL;
    test_rmdir(k->dir);
}

/* Stores the next report from fd; false at the end of the pipe. */
static bool read_report(crashkit *k, int fd, size_t n)
{
    if (n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 4096;
        k->reps = realloc(k->reps, k->cap * sizeof *k->reps);
        CHECK(k->reps);
    }
    ssize_t r = read(fd, (char *)k->reps + n * sizeof *k->reps, sizeof *k->reps);
    if (r == 0)
        return false;
    CHECK(r == (ssize_t)sizeof *k->reps); /* 8-byte writes to a pipe are atomic */
    return true;
}

void crashkit_kill(crashkit *k, crashkit_setup_fn setup, void *ctx, crashkit_round *rd)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (setup && setup(ctx))
            _exit(9);
        child_main(k->path, k->doc, p[1]);
    }
    close(p[1]);

    /* Read reports until the deadline, then kill, then drain. One round
     * in four counts the delay from the fork (kills during open,
     * recovery and migration); the others from the child's first report,
     * so a slow machine (sanitizers, a busy CI) still kills mid-append. */
    *rd = (crashkit_round){0};
    rd->delay_ms = 2 + rnd(k, 119);
    rd->from_fork = rnd(k, 4) == 0;
    long deadline = rd->from_fork ? (long)rd->delay_ms : 10000; /* ms since t0 */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
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
        if (!read_report(k, p[0], rd->reports))
            break;
        if (rd->reports++ == 0 && !rd->from_fork)
            deadline = el + (long)rd->delay_ms;
    }
    close(p[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* ---- the checks ----------------------------------------------------------- */

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

/* What weft_store_load() calls back into. Reads from inside a callback must
 * not reenter the store: `reader` is a second store on the same file. */
typedef struct load_check {
    weft_store *reader;
    weft_store_doc doc;
    size_t tail;
} load_check;

static int count_row(void *ctx, const weft_store_batch *b)
{
    (void)b;
    ((load_check *)ctx)->tail++;
    return 0;
}

static int snap_agent(void *ctx, const weft_store_batch *b)
{
    *(uint32_t *)ctx = b->agent;
    return 0;
}

/* A snapshot's bytes were generated from (its writer's agent ^ k, lsn); the
 * writer is the agent of the row at that LSN. */
static int check_snap(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    static uint8_t buf[16384];
    load_check *lc = ctx;
    uint32_t agent = UINT32_MAX;
    CHECK(lsn > 0);
    CHECK_OK(weft_store_range(lc->reader, lc->doc, lsn, lsn, snap_agent, &agent));
    CHECK(agent != UINT32_MAX);
    size_t n = test_payload(agent ^ 0x5a5a5a5au, (uint32_t)lsn, buf, sizeof buf);
    CHECK(state.len == n && memcmp(state.ptr, buf, n) == 0);
    return 0;
}

bool crashkit_check(crashkit *k, crashkit_round *rd)
{
    weft_store *s = NULL;
    load_check lc = {.doc = k->doc};
    test_integrity_ok(k->path);
    CHECK_OK(weft_store_open(k->path, NULL, &s));
    CHECK_OK(weft_store_open(k->path, NULL, &lc.reader));
    if (rd->reports == 0) { /* killed before it even allocated an agent */
        weft_store_close(lc.reader);
        weft_store_close(s);
        return false;
    }
    const crashkit_report *reps = k->reps;
    size_t n = rd->reports;
    CHECK(reps[0].seq == UINT32_MAX);
    round_check rc = {.agent = reps[0].agent, .next_lsn = k->head + 1};
    CHECK_OK(weft_store_range(s, k->doc, k->head + 1, UINT64_MAX, check_row, &rc));
    /* Every acknowledged batch is there: the child reports in seq order,
     * and the rows form the prefix 0 .. next_seq-1. */
    for (size_t i = 1; i < n; i++) {
        CHECK(reps[i].agent == rc.agent);
        CHECK(reps[i].seq == i - 1);
        CHECK(reps[i].seq < rc.next_seq);
    }
    /* Earlier rounds are untouched: the head never moves back, and the
     * document still loads (latest snapshot + tail) up to the new head. */
    uint64_t new_head = k->head + rc.rows, loaded = 0;
    CHECK_OK(weft_store_load(s, k->doc, UINT64_MAX, check_snap, count_row, &lc, &loaded));
    CHECK(loaded == new_head);
    CHECK(rc.next_lsn == new_head + 1);
    k->head = new_head;
    k->total_reported += n - 1;
    k->total_rows += rc.rows;
    rd->acked = n - 1;
    rd->stored = rc.rows;
    weft_store_close(lc.reader);
    weft_store_close(s);
    return true;
}

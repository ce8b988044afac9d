/*
 * test_fault.c — disk full, I/O errors and a busy database come back as
 * error codes, never a crash, never a silent loss.
 *
 * A wrapping VFS (faultvfs.c) fails the Nth write or fsync. After every
 * scenario the database is reopened without faults and checked: integrity
 * ok, every acknowledged batch present and byte-identical, LSNs dense, and
 * every batch that failed either absent or (if the failure hit after its
 * commit record reached the file) present byte-identical; re-appending it
 * answers 0 or WEFT_STORE_ALREADY.
 */
#include <sqlite3.h>

#include "faultvfs.h"
#include "integrity.h"
#include "test_util.h"
#include "waker.h"

static char dir[256];
static waker w;

typedef struct sent {
    uint32_t agent, seq;
    int status;
} sent;

static weft_store *open_at(const char *path, uint32_t busy_ms)
{
    weft_store *s = NULL;
    weft_store_options o = {.wake = waker_wake, .wake_ctx = &w, .busy_timeout_ms = busy_ms};
    CHECK_OK(weft_store_open(path, &o, &s));
    return s;
}

static weft_store_append_req payload_req(weft_store_doc doc, uint32_t agent, uint32_t seq,
                                         uint8_t *buf, size_t cap)
{
    size_t n = test_payload(agent, seq, buf, cap);
    return (weft_store_append_req){
        .doc = doc, .agent = agent, .seq = seq, .len = 1, .received_at = seq, .ops = {buf, n}};
}

/* Submits `k` appends (agent, seq0..) as one turn; records their outcome. */
static void turn(weft_store *s, weft_store_doc doc, uint32_t agent, uint32_t seq0, uint32_t k,
                 sent *out)
{
    static uint8_t buf[16384];
    weft_store_completion c[64];
    CHECK(k <= 64);
    uint32_t staged = 0;
    for (uint32_t i = 0; i < k; i++) {
        weft_store_append_req r = payload_req(doc, agent, seq0 + i, buf, sizeof buf);
        out[i] = (sent){agent, seq0 + i, 0};
        int rc = weft_store_submit_append(s, &r, i);
        if (rc) {
            CHECK_RC(rc, WEFT_STORE_E_FAILED);
            out[i].status = rc;
        } else {
            staged++;
        }
    }
    weft_store_flush(s);
    waker_collect(&w, s, c, staged);
    for (uint32_t i = 0; i < staged; i++) {
        CHECK(c[i].token < k);
        out[c[i].token].status = c[i].status;
        CHECK(c[i].status == 0 || c[i].status == WEFT_STORE_E_FULL ||
              c[i].status == WEFT_STORE_E_IO || c[i].status == WEFT_STORE_E_BUSY ||
              c[i].status == WEFT_STORE_E_FAILED);
    }
}

typedef struct scan {
    uint64_t next_lsn;
    size_t rows;
} scan;

static int scan_row(void *ctx, const weft_store_batch *b)
{
    static uint8_t buf[16384];
    scan *sc = ctx;
    CHECK(b->lsn == sc->next_lsn++);
    size_t n = test_payload(b->agent, b->seq, buf, sizeof buf);
    CHECK(b->len == 1 && b->ops.len == n && memcmp(b->ops.ptr, buf, n) == 0);
    sc->rows++;
    return 0;
}

/* Reopens without faults and checks the promises (see the top). */
static void verify(const char *path, weft_store_doc doc, const sent *v, size_t n)
{
    static uint8_t buf[16384];
    faultvfs_disarm();
    test_integrity_ok(path);
    weft_store *s = open_at(path, 0);
    scan sc = {.next_lsn = 1};
    CHECK_OK(weft_store_range(s, doc, 1, UINT64_MAX, scan_row, &sc));
    /* Re-append everything sent, as one group (one fsync, not n). */
    for (size_t i = 0; i < n; i++) {
        weft_store_append_req r = payload_req(doc, v[i].agent, v[i].seq, buf, sizeof buf);
        CHECK_OK(weft_store_submit_append(s, &r, i));
    }
    weft_store_flush(s);
    for (size_t got = 0; got < n;) {
        weft_store_completion c[64];
        size_t k = n - got < 64 ? n - got : 64;
        waker_collect(&w, s, c, k);
        for (size_t j = 0; j < k; j++) {
            const sent *x = &v[c[j].token];
            if (x->status == 0)
                CHECK_RC(c[j].status, WEFT_STORE_ALREADY); /* acknowledged: still there */
            else
                CHECK(c[j].status == 0 || c[j].status == WEFT_STORE_ALREADY);
        }
        got += k;
    }
    weft_store_close(s);
    test_integrity_ok(path);
}

static void path_for(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* A new database `name` in the test directory (its path into path[0..n))
 * holding document "d". */
static weft_store *fresh_store(char *path, size_t n, const char *name, uint32_t busy_ms,
                               weft_store_doc *doc)
{
    path_for(path, n, name);
    weft_store *s = open_at(path, busy_ms);
    CHECK_OK(weft_store_doc_ensure(s, "d", 0, doc));
    return s;
}

/* Every batch in v[from..to) ended with `want`. */
static void expect_status(const sent *v, int from, int to, int want)
{
    for (int i = from; i < to; i++)
        CHECK_RC(v[i].status, want);
}

/* Disk full: the group fails with FULL, the store stays usable, a retry
 * stores it. */
static void test_disk_full(void)
{
    char path[512];
    sent v[64];
    weft_store_doc doc = 0;
    weft_store *s = fresh_store(path, sizeof path, "full.db", 0, &doc);
    turn(s, doc, 0, 0, 10, v);
    expect_status(v, 0, 10, 0);

    faultvfs_arm(FAULT_WRITE, 0, SQLITE_FULL, true);
    turn(s, doc, 0, 10, 10, v + 10);
    expect_status(v, 10, 20, WEFT_STORE_E_FULL);
    CHECK_OK(weft_store_failed(s));
    uint64_t lsn = 0;
    uint8_t buf[16384];
    weft_store_append_req r = payload_req(doc, 0, 10, buf, sizeof buf);
    CHECK_RC(weft_store_append(s, &r, &lsn), WEFT_STORE_E_FULL);
    /* Reads go on while the disk is full. */
    scan sc = {.next_lsn = 1};
    CHECK_OK(weft_store_range(s, doc, 1, UINT64_MAX, scan_row, &sc));
    CHECK(sc.rows == 10);

    faultvfs_disarm(); /* space freed */
    turn(s, doc, 0, 10, 10, v + 10);
    expect_status(v, 10, 20, 0);
    weft_store_stats st;
    weft_store_get_stats(s, &st);
    CHECK(st.rollbacks == 2 && st.errors == 11);
    weft_store_close(s);
    verify(path, doc, v, 20);
    s = open_at(path, 0);
    sc = (scan){.next_lsn = 1};
    CHECK_OK(weft_store_range(s, doc, 1, UINT64_MAX, scan_row, &sc));
    CHECK(sc.rows == 20); /* LSNs dense: the failed group left no hole */
    weft_store_close(s);
}

/* fsync fails: the store reports itself failed, refuses more work, reads
 * still work; after a reopen everything acknowledged is there. */
static void test_fsync_error(void)
{
    char path[512];
    sent v[64];
    weft_store_doc doc = 0;
    weft_store *s = fresh_store(path, sizeof path, "fsync.db", 0, &doc);
    turn(s, doc, 0, 0, 10, v);
    faultvfs_arm(FAULT_SYNC, 0, SQLITE_IOERR_FSYNC, false);
    turn(s, doc, 0, 10, 10, v + 10);
    expect_status(v, 10, 20, WEFT_STORE_E_IO);
    CHECK_RC(weft_store_failed(s), WEFT_STORE_E_IO);
    CHECK(faultvfs_injected() > 0);
    turn(s, doc, 0, 20, 5, v + 20);
    expect_status(v, 20, 25, WEFT_STORE_E_FAILED);
    uint32_t agent;
    CHECK_RC(weft_store_agent_new(s, doc, "x", 0, &agent), WEFT_STORE_E_FAILED);
    scan sc = {.next_lsn = 1};
    CHECK_OK(weft_store_range(s, doc, 1, UINT64_MAX, scan_row, &sc));
    CHECK(sc.rows == 10);
    weft_store_close(s);
    verify(path, doc, v, 25);
}

/* Write error in the middle of a commit. */
static void test_write_error(void)
{
    char path[512];
    sent v[64];
    weft_store_doc doc = 0;
    weft_store *s = fresh_store(path, sizeof path, "write.db", 0, &doc);
    turn(s, doc, 0, 0, 10, v);
    faultvfs_arm(FAULT_WRITE, 3, SQLITE_IOERR_WRITE, false);
    turn(s, doc, 0, 10, 40, v + 10);
    expect_status(v, 10, 50, WEFT_STORE_E_IO);
    CHECK_RC(weft_store_failed(s), WEFT_STORE_E_IO);
    weft_store_close(s);
    verify(path, doc, v, 50);
}

static long mark[2]; /* call counts when the fault was (or would be) armed */

/* One workload: 8 turns of appends from two agents with a snapshot and an
 * agent allocation in the middle. Fault armed (if any) after the first turn;
 * returns how many batches were sent into v. */
static size_t workload(const char *path, int kind, long at, weft_store_doc *doc, sent *v)
{
    weft_store *s = open_at(path, 0);
    CHECK_OK(weft_store_doc_ensure(s, "d", 0, doc));
    size_t n = 0;
    turn(s, *doc, 0, 0, 5, v);
    n += 5;
    mark[0] = faultvfs_calls(FAULT_WRITE);
    mark[1] = faultvfs_calls(FAULT_SYNC);
    if (at >= 0) {
        int rc = (at % 3 == 0) ? SQLITE_FULL : (kind ? SQLITE_IOERR_FSYNC : SQLITE_IOERR_WRITE);
        faultvfs_arm(kind ? FAULT_SYNC : FAULT_WRITE, at, rc, rc == SQLITE_FULL);
    }
    for (uint32_t t = 0; t < 8; t++) {
        uint32_t k = 20 + (t % 3) * 10;
        turn(s, *doc, t % 2, 5 + t * 40, k, v + n);
        n += k;
        if (t == 3) {
            uint8_t st[3000];
            memset(st, (int)t, sizeof st);
            int r1 = weft_store_snapshot_put(s, *doc, 5, (weft_store_bytes){st, sizeof st}, 0);
            CHECK(r1 == 0 || r1 == WEFT_STORE_E_FULL || r1 == WEFT_STORE_E_IO ||
                  r1 == WEFT_STORE_E_FAILED);
            uint32_t ag;
            r1 = weft_store_agent_new(s, *doc, "u", 0, &ag);
            CHECK(r1 == 0 || r1 == WEFT_STORE_E_FULL || r1 == WEFT_STORE_E_IO ||
                  r1 == WEFT_STORE_E_FAILED);
        }
    }
    weft_store_close(s);
    return n;
}

/* Faults at positions spread over every write and fsync of the workload. */
static void test_sweep(void)
{
    static sent v[400];
    char path[512], name[64];
    weft_store_doc doc = 0;
    long calls[2];
    /* A clean run counts the workload's writes and fsyncs. */
    path_for(path, sizeof path, "sweep-clean.db");
    size_t n = workload(path, 0, -1, &doc, v);
    calls[FAULT_WRITE] = faultvfs_calls(FAULT_WRITE) - mark[0];
    calls[FAULT_SYNC] = faultvfs_calls(FAULT_SYNC) - mark[1];
    verify(path, doc, v, n);
    int points = 0, hits = 0;
    for (int kind = 0; kind < 2; kind++) {
        long step = calls[kind] / (kind ? 12 : 20);
        for (long at = 0; at<calls[kind]; at += step> 0 ? step : 1) {
            snprintf(name, sizeof name, "sweep-%d-%ld.db", kind, at);
            path_for(path, sizeof path, name);
            long before = faultvfs_injected();
            n = workload(path, kind, at, &doc, v);
            hits += faultvfs_injected() > before;
            points++;
            verify(path, doc, v, n);
        }
    }
    printf("sweep: %ld writes, %ld fsyncs per run; %d fault points, %d hit\n", calls[FAULT_WRITE],
           calls[FAULT_SYNC], points, hits);
    CHECK(hits == points);
}

/* Another process holds the write lock: BUSY after the timeout, the store
 * stays usable, reads never wait. */
static void test_busy(void)
{
    char path[512];
    sent v[64];
    weft_store_doc doc = 0;
    weft_store *s = fresh_store(path, sizeof path, "busy.db", 50, &doc);
    turn(s, doc, 0, 0, 5, v);

    sqlite3 *other = NULL;
    CHECK(sqlite3_open(path, &other) == SQLITE_OK);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    turn(s, doc, 0, 5, 5, v + 5);
    expect_status(v, 5, 10, WEFT_STORE_E_BUSY);
    CHECK_OK(weft_store_failed(s));
    scan sc = {.next_lsn = 1};
    CHECK_OK(weft_store_range(s, doc, 1, UINT64_MAX, scan_row, &sc));
    CHECK(sc.rows == 5);
    CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(other);

    turn(s, doc, 0, 5, 5, v + 5);
    expect_status(v, 5, 10, 0);
    weft_store_close(s);
    verify(path, doc, v, 10);
}

/* Faults while creating and migrating a database: an error, never a crash,
 * and the file opens cleanly afterwards. */
static void test_open_faults(void)
{
    int errors = 0;
    for (long at = 0; at < 12; at++) {
        char path[512], name[64];
        snprintf(name, sizeof name, "open-%ld.db", at);
        path_for(path, sizeof path, name);
        weft_store *s = NULL;
        faultvfs_arm(at % 2 ? FAULT_SYNC : FAULT_WRITE, at / 2,
                     at % 4 == 0 ? SQLITE_FULL : SQLITE_IOERR_WRITE, false);
        int rc = weft_store_open(path, NULL, &s);
        faultvfs_disarm();
        if (rc) {
            CHECK(s == NULL);
            CHECK(rc == WEFT_STORE_E_FULL || rc == WEFT_STORE_E_IO);
            errors++;
        } else {
            weft_store_close(s);
        }
        CHECK_OK(weft_store_open(path, NULL, &s));
        weft_store_doc doc;
        CHECK(weft_store_doc_ensure(s, "d", 0, &doc) >= 0);
        weft_store_close(s);
        test_integrity_ok(path);
    }
    CHECK(errors > 0);
}

int main(void)
{
    CHECK(faultvfs_install() == SQLITE_OK);
    waker_init(&w);
    test_tmpdir(dir, sizeof dir, "fault");
    test_disk_full();
    test_fsync_error();
    test_write_error();
    test_busy();
    test_open_faults();
    test_sweep();
    test_rmdir(dir);
    waker_cleanup(&w);
    printf("ok\n");
    return 0;
}

/* test_store.c — the store's interface: open and migrate, documents, agents,
 * append and its idempotence, group commit, load, ranges, since-vv, history,
 * backup, two stores on one file, and a frozen version-1 database. */
#include <pthread.h>
#include <sqlite3.h>

#include "test_util.h"
#include "waker.h"

static char dir[256];

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static weft_store *open_store(const char *name, waker *w)
{
    char path[512];
    weft_store *s = NULL;
    weft_store_options o = {.wake = w ? waker_wake : NULL, .wake_ctx = w};
    path_in(path, sizeof path, name);
    CHECK_OK(weft_store_open(path, &o, &s));
    CHECK(s != NULL);
    return s;
}

static int64_t pragma_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql error: %s\n", msg);
        exit(1);
    }
    sqlite3_close(db);
}

static weft_store_append_req batch(weft_store_doc doc, uint32_t agent, uint32_t seq, uint32_t len,
                                   const void *bytes, size_t n)
{
    return (weft_store_append_req){
        .doc = doc,
        .agent = agent,
        .seq = seq,
        .len = len,
        .author = "ann",
        .received_at = 1000 + seq,
        .ops = {bytes, n},
    };
}

/* ---- collecting reads ----------------------------------------------------- */

typedef struct rec {
    uint64_t lsn;
    uint32_t agent, seq, len;
    size_t n;
    uint8_t bytes[16384];
} rec;

typedef struct recs {
    rec *v;
    size_t n, cap;
    uint64_t snap_lsn;
    size_t snap_len;
    int snaps;
} recs;

static int rec_batch(void *ctx, const weft_store_batch *b)
{
    recs *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        CHECK(r->v);
    }
    rec *x = &r->v[r->n++];
    x->lsn = b->lsn;
    x->agent = b->agent;
    x->seq = b->seq;
    x->len = b->len;
    CHECK(b->ops.len <= sizeof x->bytes);
    x->n = b->ops.len;
    if (b->ops.len)
        memcpy(x->bytes, b->ops.ptr, b->ops.len);
    return 0;
}

static int rec_snap(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    recs *r = ctx;
    r->snaps++;
    r->snap_lsn = lsn;
    r->snap_len = state.len;
    return 0;
}

static void recs_reset(recs *r)
{
    free(r->v);
    *r = (recs){0};
}

typedef struct agent_list {
    int n;
    uint32_t agents[8];
    char users[8][16];
    int64_t created[8];
} agent_list;

static int agent_cb(void *ctx, const weft_store_agent_row *r)
{
    agent_list *l = ctx;
    CHECK(l->n < 8);
    l->agents[l->n] = r->agent;
    snprintf(l->users[l->n], sizeof l->users[0], "%s", r->user ? r->user : "");
    l->created[l->n] = r->created;
    l->n++;
    return 0;
}

typedef struct doc_list {
    int n;
    weft_store_doc ids[8];
    char names[8][16];
    uint64_t head[8];
    uint32_t next_agent[8];
} doc_list;

static int doc_cb(void *ctx, const weft_store_doc_row *d)
{
    doc_list *l = ctx;
    CHECK(l->n < 8);
    l->ids[l->n] = d->id;
    snprintf(l->names[l->n], sizeof l->names[0], "%s", d->name);
    l->head[l->n] = d->head_lsn;
    l->next_agent[l->n] = d->next_agent;
    l->n++;
    return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_open_migrate(void)
{
    char path[512];
    weft_store *s = open_store("a.db", NULL);
    weft_store_close(s);
    path_in(path, sizeof path, "a.db");
    CHECK(pragma_int(path, "PRAGMA user_version") == weft_store_schema_version());
    CHECK(pragma_int(path, "PRAGMA application_id") == 0x57454654);
    CHECK(pragma_int(path, "SELECT count(*) FROM sqlite_schema WHERE name='ops'") == 1);
    s = open_store("a.db", NULL); /* reopening migrates nothing */
    weft_store_close(s);

    /* Somebody else's database is refused, not adopted. */
    path_in(path, sizeof path, "other.db");
    raw_exec(path, "CREATE TABLE t(x)");
    CHECK_RC(weft_store_open(path, NULL, &s), WEFT_STORE_E_CORRUPT);
    CHECK(s == NULL);

    /* A newer schema is refused and left alone. */
    path_in(path, sizeof path, "newer.db");
    s = open_store("newer.db", NULL);
    weft_store_close(s);
    raw_exec(path, "PRAGMA user_version=99");
    CHECK_RC(weft_store_open(path, NULL, &s), WEFT_STORE_E_SCHEMA);
    CHECK(pragma_int(path, "PRAGMA user_version") == 99);

    /* Not a database at all. */
    path_in(path, sizeof path, "garbage.db");
    FILE *f = fopen(path, "wb");
    CHECK(f);
    for (int i = 0; i < 4096; i++)
        fputc(i * 7 + 3, f);
    fclose(f);
    CHECK_RC(weft_store_open(path, NULL, &s), WEFT_STORE_E_CORRUPT);

    path_in(path, sizeof path, "no/such/dir/x.db");
    CHECK_RC(weft_store_open(path, NULL, &s), WEFT_STORE_E_CANTOPEN);
    CHECK_RC(weft_store_open("", NULL, &s), WEFT_STORE_E_INVAL);
}

static void test_docs_agents(void)
{
    weft_store *s = open_store("docs.db", NULL);
    weft_store_doc a = 0, a2 = 0, b = 0, found = 0;
    CHECK_OK(weft_store_doc_ensure(s, "alpha", 10, &a));
    CHECK(a > 0);
    CHECK_RC(weft_store_doc_ensure(s, "alpha", 11, &a2), WEFT_STORE_ALREADY);
    CHECK(a2 == a);
    CHECK_OK(weft_store_doc_ensure(s, "beta", 12, &b));
    CHECK(b != a);
    CHECK_OK(weft_store_doc_find(s, "beta", &found));
    CHECK(found == b);
    CHECK_RC(weft_store_doc_find(s, "gamma", &found), WEFT_STORE_E_NOTFOUND);
    CHECK_RC(weft_store_doc_ensure(s, "", 1, &found), WEFT_STORE_E_INVAL);

    uint32_t ag = 99;
    for (uint32_t i = 0; i < 3; i++) {
        CHECK_OK(weft_store_agent_new(s, a, i == 1 ? NULL : "bob", 20 + i, &ag));
        CHECK(ag == i);
    }
    CHECK_OK(weft_store_agent_new(s, b, "carol", 30, &ag));
    CHECK(ag == 0); /* per document */
    CHECK_RC(weft_store_agent_new(s, 12345, "x", 1, &ag), WEFT_STORE_E_NOTFOUND);
    weft_store_close(s);

    s = open_store("docs.db", NULL); /* numbers survive a restart, never reused */
    CHECK_OK(weft_store_agent_new(s, a, "dave", 40, &ag));
    CHECK(ag == 3);

    agent_list got = {0};
    CHECK_OK(weft_store_agents(s, a, agent_cb, &got));
    CHECK(got.n == 4);
    for (int i = 0; i < 4; i++)
        CHECK(got.agents[i] == (uint32_t)i);
    CHECK(strcmp(got.users[0], "bob") == 0 && got.users[1][0] == 0);
    CHECK(strcmp(got.users[3], "dave") == 0 && got.created[3] == 40);
    CHECK_RC(weft_store_agents(s, 999, agent_cb, &got), WEFT_STORE_E_NOTFOUND);

    doc_list docs = {0};
    CHECK_OK(weft_store_docs(s, doc_cb, &docs));
    CHECK(docs.n == 2 && docs.ids[0] == a && docs.ids[1] == b);
    CHECK(strcmp(docs.names[0], "alpha") == 0 && docs.next_agent[0] == 4);
    CHECK(docs.head[0] == 0);
    weft_store_close(s);
}

static void test_append_idempotent(void)
{
    weft_store *s = open_store("append.db", NULL);
    weft_store_doc d = 0, e = 0;
    uint64_t lsn = 0;
    CHECK_OK(weft_store_doc_ensure(s, "d", 1, &d));
    CHECK_OK(weft_store_doc_ensure(s, "e", 1, &e));
    weft_store_append_req r = batch(d, 0, 0, 3, "abc", 3);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 1);
    r = batch(d, 0, 3, 2, "de", 2);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 2);
    r = batch(d, 1, 0, 1, "x", 1);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 3);
    r = batch(e, 0, 0, 1, "y", 1);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 1); /* LSNs are per document */

    /* Same batch again: already stored, original LSN, nothing changes. */
    r = batch(d, 0, 0, 3, "abc", 3);
    r.author = "someone else";
    r.received_at = 99999;
    CHECK_RC(weft_store_append(s, &r, &lsn), WEFT_STORE_ALREADY);
    CHECK(lsn == 1);
    /* Same IDs, other bytes; other length; overlapping ranges: conflicts. */
    r = batch(d, 0, 0, 3, "abd", 3);
    CHECK_RC(weft_store_append(s, &r, &lsn), WEFT_STORE_E_CONFLICT);
    r = batch(d, 0, 0, 2, "abc", 3);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_CONFLICT);
    r = batch(d, 0, 2, 2, "cd", 2);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_CONFLICT);
    r = batch(d, 0, 4, 5, "efghi", 5);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_CONFLICT);
    /* Bad requests never reach the disk. */
    r = batch(d, 0, 10, 0, "", 0);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_INVAL);
    r = batch(d, 0, UINT32_MAX, 2, "zz", 2);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_INVAL);
    r = batch(777, 0, 0, 1, "z", 1);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_NOTFOUND);
    /* Seqs below the agent's tip that no batch holds yet are fine (the
     * store does not enforce contiguity; the server does). */
    r = batch(d, 3, 10, 2, "kl", 2);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 4);
    r = batch(d, 3, 0, 4, "ghij", 4);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 5);
    r = batch(d, 3, 4, 7, "mnopqrs", 7);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_CONFLICT); /* runs into 10 */
    r = batch(d, 3, 4, 6, "mnopqr", 6);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 6);
    /* An empty payload is allowed (the codec decides what bytes mean). */
    r = batch(d, 2, 0, 1, "", 0);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 7);
    CHECK_RC(weft_store_append(s, &r, &lsn), WEFT_STORE_ALREADY);

    weft_store_stats st;
    weft_store_get_stats(s, &st);
    CHECK(st.appended == 8 && st.already == 2 && st.conflicts == 5);
    weft_store_close(s);

    /* After a restart the log continues and re-appends are still known. */
    s = open_store("append.db", NULL);
    r = batch(d, 0, 3, 2, "de", 2);
    CHECK_RC(weft_store_append(s, &r, &lsn), WEFT_STORE_ALREADY);
    CHECK(lsn == 2);
    r = batch(d, 0, 5, 1, "f", 1);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 8);
    r = batch(d, 3, 2, 1, "i", 1);
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_E_CONFLICT);
    recs got = {0};
    CHECK_OK(weft_store_range(s, d, 1, 100, rec_batch, &got));
    CHECK(got.n == 8);
    CHECK(got.v[0].n == 3 && memcmp(got.v[0].bytes, "abc", 3) == 0 && got.v[0].len == 3);
    CHECK(got.v[6].n == 0 && got.v[6].agent == 2);
    for (size_t i = 0; i < got.n; i++)
        CHECK(got.v[i].lsn == i + 1);
    recs_reset(&got);
    weft_store_close(s);
}

static void test_group_commit(void)
{
    enum { N = 500 };
    waker w;
    waker_init(&w);
    weft_store *s = open_store("group.db", &w);
    weft_store_doc d = 0;
    CHECK_OK(weft_store_doc_ensure(s, "g", 1, &d));
    weft_store_stats before, after;
    weft_store_get_stats(s, &before);

    /* One turn: N submits, one flush -> one transaction. */
    uint8_t buf[16];
    for (uint32_t i = 0; i < N; i++) {
        snprintf((char *)buf, sizeof buf, "op%u", i);
        weft_store_append_req r = batch(d, 7, i, 1, buf, strlen((char *)buf));
        CHECK_OK(weft_store_submit_append(s, &r, 1000 + i));
    }
    /* A conflict inside the group fails alone. */
    weft_store_append_req bad = batch(d, 7, 3, 1, "nope", 4);
    CHECK_OK(weft_store_submit_append(s, &bad, 1));
    weft_store_append_req unknown = batch(4242, 7, 0, 1, "x", 1);
    CHECK_OK(weft_store_submit_append(s, &unknown, 2));
    CHECK_OK(weft_store_submit_agent(s, d, "u", 5, 3));
    CHECK_OK(weft_store_submit_doc(s, "g2", 5, 4));
    weft_store_flush(s);

    static weft_store_completion c[N + 4];
    waker_collect(&w, s, c, N + 4);
    for (uint32_t i = 0; i < N; i++) {
        CHECK(c[i].token == 1000 + i && c[i].kind == WEFT_STORE_REQ_APPEND);
        CHECK_OK(c[i].status);
        CHECK(c[i].lsn == i + 1 && c[i].doc == d && c[i].agent == 7 && c[i].seq == i);
    }
    CHECK(c[N].token == 1 && c[N].status == WEFT_STORE_E_CONFLICT);
    CHECK(c[N + 1].token == 2 && c[N + 1].status == WEFT_STORE_E_NOTFOUND);
    CHECK(c[N + 2].token == 3 && c[N + 2].status == 0 && c[N + 2].agent == 0);
    CHECK(c[N + 3].token == 4 && c[N + 3].status == 0 && c[N + 3].doc > d);
    weft_store_get_stats(s, &after);
    CHECK(after.commits == before.commits + 1);
    CHECK(after.max_group == N + 4);
    CHECK(weft_store_poll(s, c, 4) == 0);

    CHECK(after.queued == 0);
    /* Nothing moves before the flush. */
    weft_store_append_req r = batch(d, 8, 0, 1, "late", 4);
    CHECK_OK(weft_store_submit_append(s, &r, 77));
    CHECK(weft_store_poll(s, c, 1) == 0);
    weft_store_get_stats(s, &before);
    CHECK(before.commits == after.commits && before.queued == 1);
    weft_store_flush(s);
    waker_collect(&w, s, c, 1);
    CHECK(c[0].token == 77 && c[0].status == 0 && c[0].lsn == N + 1);
    weft_store_close(s);

    /* max_group = 1: one commit per request (the benchmark's baseline). */
    char path[512];
    path_in(path, sizeof path, "group.db");
    weft_store_options o = {.wake = waker_wake, .wake_ctx = &w, .max_group = 1};
    CHECK_OK(weft_store_open(path, &o, &s));
    for (uint32_t i = 0; i < 10; i++) {
        r = batch(d, 9, i, 1, "k", 1);
        CHECK_OK(weft_store_submit_append(s, &r, i));
    }
    weft_store_flush(s);
    waker_collect(&w, s, c, 10);
    weft_store_get_stats(s, &after);
    CHECK(after.commits == 10 && after.max_group == 1);
    weft_store_close(s);

    /* Close commits what was submitted but never flushed. */
    CHECK_OK(weft_store_open(path, NULL, &s));
    r = batch(d, 10, 0, 1, "kept", 4);
    CHECK_OK(weft_store_submit_append(s, &r, 1));
    weft_store_close(s);
    CHECK_OK(weft_store_open(path, NULL, &s));
    CHECK_RC(weft_store_append(s, &r, NULL), WEFT_STORE_ALREADY);
    weft_store_close(s);
    waker_cleanup(&w);
}

static void test_load_range(void)
{
    weft_store *s = open_store("load.db", NULL);
    weft_store_doc d = 0, empty = 0;
    CHECK_OK(weft_store_doc_ensure(s, "d", 1, &d));
    CHECK_OK(weft_store_doc_ensure(s, "empty", 1, &empty));
    uint8_t buf[16384];
    for (uint32_t i = 0; i < 100; i++) {
        size_t n = test_payload(1, i, buf, sizeof buf);
        weft_store_append_req r = batch(d, 1, i, 1, buf, n);
        CHECK_OK(weft_store_append(s, &r, NULL));
    }
    recs got = {0};
    uint64_t head = 0;
    /* No snapshot: the whole log. */
    CHECK_OK(weft_store_load(s, d, UINT64_MAX, rec_snap, rec_batch, &got, &head));
    CHECK(got.snaps == 0 && got.n == 100 && head == 100);
    for (uint32_t i = 0; i < 100; i++) {
        size_t n = test_payload(1, i, buf, sizeof buf);
        CHECK(got.v[i].lsn == i + 1 && got.v[i].n == n && memcmp(got.v[i].bytes, buf, n) == 0);
    }
    recs_reset(&got);

    uint8_t state[5000];
    memset(state, 0xab, sizeof state);
    CHECK_OK(weft_store_snapshot_put(s, d, 60, (weft_store_bytes){state, sizeof state}, 5));
    CHECK_RC(weft_store_snapshot_put(s, d, 101, (weft_store_bytes){state, 1}, 5),
             WEFT_STORE_E_INVAL);
    CHECK_RC(weft_store_snapshot_put(s, 999, 1, (weft_store_bytes){state, 1}, 5),
             WEFT_STORE_E_NOTFOUND);
    CHECK_OK(weft_store_load(s, d, UINT64_MAX, rec_snap, rec_batch, &got, &head));
    CHECK(got.snaps == 1 && got.snap_lsn == 60 && got.snap_len == sizeof state);
    CHECK(got.n == 40 && got.v[0].lsn == 61 && got.v[39].lsn == 100 && head == 100);
    recs_reset(&got);

    /* As of an older version: no snapshot <= 50 yet, then one at 30. */
    CHECK_OK(weft_store_load(s, d, 50, rec_snap, rec_batch, &got, &head));
    CHECK(got.snaps == 0 && got.n == 50 && head == 50);
    recs_reset(&got);
    CHECK_OK(weft_store_snapshot_put(s, d, 30, (weft_store_bytes){state, 10}, 6));
    CHECK_OK(weft_store_load(s, d, 50, rec_snap, rec_batch, &got, &head));
    CHECK(got.snaps == 1 && got.snap_lsn == 30 && got.n == 20 && got.v[0].lsn == 31);
    recs_reset(&got);
    /* Replacing a snapshot at the same LSN. */
    CHECK_OK(weft_store_snapshot_put(s, d, 30, (weft_store_bytes){state, 11}, 7));
    CHECK_OK(weft_store_load(s, d, 50, rec_snap, rec_batch, &got, NULL));
    CHECK(got.snap_len == 11);
    recs_reset(&got);
    /* Snapshot at the head: nothing after it. */
    CHECK_OK(weft_store_snapshot_put(s, d, 100, (weft_store_bytes){state, 3}, 8));
    CHECK_OK(weft_store_load(s, d, UINT64_MAX, rec_snap, rec_batch, &got, &head));
    CHECK(got.snaps == 1 && got.snap_lsn == 100 && got.n == 0 && head == 100);
    recs_reset(&got);
    /* No snapshot callback: replay from the start. */
    CHECK_OK(weft_store_load(s, d, UINT64_MAX, NULL, rec_batch, &got, &head));
    CHECK(got.n == 100 && head == 100);
    recs_reset(&got);

    CHECK_OK(weft_store_load(s, empty, UINT64_MAX, rec_snap, rec_batch, &got, &head));
    CHECK(got.n == 0 && got.snaps == 0 && head == 0);
    CHECK_RC(weft_store_load(s, 999, UINT64_MAX, rec_snap, rec_batch, &got, &head),
             WEFT_STORE_E_NOTFOUND);

    CHECK_OK(weft_store_range(s, d, 10, 20, rec_batch, &got));
    CHECK(got.n == 11 && got.v[0].lsn == 10 && got.v[10].lsn == 20);
    recs_reset(&got);
    CHECK_OK(weft_store_range(s, d, 95, UINT64_MAX, rec_batch, &got));
    CHECK(got.n == 6);
    recs_reset(&got);
    CHECK_OK(weft_store_range(s, d, 20, 10, rec_batch, &got));
    CHECK(got.n == 0);

    doc_list docs = {0};
    CHECK_OK(weft_store_docs(s, doc_cb, &docs));
    CHECK(docs.n == 2 && docs.head[0] == 100 && docs.head[1] == 0);

    /* received_at = 1000 + seq: the version at a time. */
    uint64_t at = 99;
    CHECK_OK(weft_store_lsn_at_time(s, d, 1049, &at));
    CHECK(at == 50);
    CHECK_OK(weft_store_lsn_at_time(s, d, 999, &at));
    CHECK(at == 0);
    CHECK_OK(weft_store_lsn_at_time(s, d, INT64_MAX, &at));
    CHECK(at == 100);
    CHECK_RC(weft_store_lsn_at_time(s, 999, 0, &at), WEFT_STORE_E_NOTFOUND);
    weft_store_close(s);
}

static int stop_after_3(void *ctx, const weft_store_batch *b)
{
    int *n = ctx;
    return ++*n == 3 ? 42 : 0;
}

/* Brute force: every stored batch with seq+len > vv[agent], in LSN order. */
static void check_since(weft_store *s, weft_store_doc d, const recs *all,
                        const weft_store_vv_entry *vv, size_t n)
{
    recs got = {0};
    CHECK_OK(weft_store_since(s, d, vv, n, rec_batch, &got));
    size_t k = 0;
    for (size_t i = 0; i < all->n; i++) {
        uint32_t have = 0;
        for (size_t j = 0; j < n; j++)
            if (vv[j].agent == all->v[i].agent)
                have = vv[j].next_seq;
        if ((uint64_t)all->v[i].seq + all->v[i].len <= have)
            continue;
        CHECK(k < got.n);
        CHECK(got.v[k].lsn == all->v[i].lsn);
        k++;
    }
    CHECK(k == got.n);
    recs_reset(&got);
}

static void test_since_vv(void)
{
    weft_store *s = open_store("since.db", NULL);
    weft_store_doc d = 0;
    CHECK_OK(weft_store_doc_ensure(s, "d", 1, &d));
    /* Three agents interleaved, batches of 1..4 seqs. */
    uint32_t next[3] = {0, 0, 0};
    uint64_t x = 12345;
    for (int i = 0; i < 300; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t a = (uint32_t)(x >> 33) % 3, len = 1 + (uint32_t)(x >> 40) % 4;
        weft_store_append_req r = batch(d, a * 10, next[a], len, &x, sizeof x);
        CHECK_OK(weft_store_append(s, &r, NULL));
        next[a] += len;
    }
    recs all = {0};
    CHECK_OK(weft_store_range(s, d, 1, UINT64_MAX, rec_batch, &all));
    CHECK(all.n == 300);

    check_since(s, d, &all, NULL, 0);
    weft_store_vv_entry full[3] = {{0, next[0]}, {10, next[1]}, {20, next[2]}};
    check_since(s, d, &all, full, 3);
    recs none = {0};
    CHECK_OK(weft_store_since(s, d, full, 3, rec_batch, &none));
    CHECK(none.n == 0);
    for (int t = 0; t < 200; t++) {
        weft_store_vv_entry vv[4];
        size_t n = 0;
        for (uint32_t a = 0; a < 3; a++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            if ((x >> 60) % 4 == 0)
                continue; /* absent agent */
            vv[n++] = (weft_store_vv_entry){a * 10, (uint32_t)((x >> 20) % (next[a] + 3))};
        }
        if (t % 5 == 0)
            vv[n++] = (weft_store_vv_entry){99, 5}; /* agent the store never saw */
        /* unsorted input is fine */
        if (n > 1) {
            weft_store_vv_entry tmp = vv[0];
            vv[0] = vv[n - 1];
            vv[n - 1] = tmp;
        }
        check_since(s, d, &all, vv, n);
    }
    int calls = 0;
    CHECK_RC(weft_store_since(s, d, NULL, 0, stop_after_3, &calls), 42);
    CHECK(calls == 3);
    CHECK_RC(weft_store_since(s, 999, NULL, 0, rec_batch, &none), WEFT_STORE_E_NOTFOUND);

    /* vv_at: max seq+len per agent over LSN <= n. */
    for (uint64_t at = 0; at <= 300; at += 37) {
        weft_store_vv_entry *vv = NULL;
        size_t n = 0;
        CHECK_OK(weft_store_vv_at(s, d, at, &vv, &n));
        uint32_t want[3] = {0, 0, 0};
        for (size_t i = 0; i < at; i++)
            want[all.v[i].agent / 10] = all.v[i].seq + all.v[i].len;
        size_t k = 0;
        for (uint32_t a = 0; a < 3; a++) {
            if (!want[a])
                continue;
            CHECK(k < n && vv[k].agent == a * 10 && vv[k].next_seq == want[a]);
            k++;
        }
        CHECK(k == n);
        free(vv);
    }
    recs_reset(&all);
    weft_store_close(s);
}

static void test_backup_and_two_stores(void)
{
    char bpath[512];
    weft_store *s = open_store("main.db", NULL), *t = open_store("main.db", NULL);
    weft_store_doc d = 0, d2 = 0;
    uint64_t lsn = 0;
    CHECK_OK(weft_store_doc_ensure(s, "shared", 1, &d));
    weft_store_append_req r = batch(d, 0, 0, 1, "a", 1);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 1);
    /* Another connection (e.g. `weft import` beside the server) writes: the
     * first store notices and keeps LSNs dense. */
    CHECK_RC(weft_store_doc_ensure(t, "shared", 1, &d2), WEFT_STORE_ALREADY);
    CHECK(d2 == d);
    r = batch(d, 1, 0, 1, "b", 1);
    CHECK_OK(weft_store_append(t, &r, &lsn));
    CHECK(lsn == 2);
    r = batch(d, 0, 1, 1, "c", 1);
    CHECK_OK(weft_store_append(s, &r, &lsn));
    CHECK(lsn == 3);
    weft_store_close(t);

    path_in(bpath, sizeof bpath, "backup.db");
    CHECK_OK(weft_store_backup(s, bpath));
    CHECK_RC(weft_store_backup(s, bpath), WEFT_STORE_E_BACKEND); /* exists */
    weft_store_close(s);
    s = open_store("backup.db", NULL);
    recs got = {0};
    CHECK_OK(weft_store_range(s, d, 1, UINT64_MAX, rec_batch, &got));
    CHECK(got.n == 3 && got.v[2].bytes[0] == 'c');
    recs_reset(&got);
    weft_store_close(s);
}

/* A reader thread loads the document over and over while the owner
 * appends: every load is a consistent prefix (LSNs 1..head, bytes intact)
 * and the head never goes back. */
typedef struct reader_ctx {
    weft_store *s;
    weft_store_doc d;
    int stop; /* under mu */
    pthread_mutex_t mu;
    uint64_t loads;
    int bad;
} reader_ctx;

typedef struct prefix_check {
    uint64_t next;
    int bad;
} prefix_check;

static int prefix_row(void *ctx, const weft_store_batch *b)
{
    prefix_check *p = ctx;
    uint8_t buf[16384];
    size_t n = test_payload(4, b->seq, buf, sizeof buf);
    if (b->lsn != p->next || b->seq != b->lsn - 1 || b->ops.len != n ||
        memcmp(b->ops.ptr, buf, n) != 0)
        p->bad = 1;
    p->next++;
    return 0;
}

static void *reader_main(void *arg)
{
    reader_ctx *c = arg;
    uint64_t last_head = 0; /* per reader: another reader's load may be newer */
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        prefix_check p = {.next = 1};
        uint64_t head = 0;
        int rc = weft_store_load(c->s, c->d, UINT64_MAX, NULL, prefix_row, &p, &head);
        weft_store_vv_entry vv = {4, (uint32_t)(head / 2)};
        prefix_check q = {.next = head / 2 + 1};
        int rc2 = weft_store_since(c->s, c->d, &vv, 1, prefix_row, &q);
        pthread_mutex_lock(&c->mu);
        if (rc || rc2 || p.bad || q.bad || p.next != head + 1 || head < last_head ||
            q.next < head + 1)
            c->bad = 1;
        last_head = head;
        c->loads++;
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

static void test_concurrent_reads(void)
{
    waker w;
    waker_init(&w);
    weft_store *s = open_store("conc.db", &w);
    reader_ctx c = {.s = s};
    pthread_mutex_init(&c.mu, NULL);
    CHECK_OK(weft_store_doc_ensure(s, "c", 1, &c.d));
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, reader_main, &c) == 0);
    static uint8_t buf[16384];
    static weft_store_completion done[100];
    for (uint32_t t = 0; t < 20; t++) {
        for (uint32_t i = 0; i < 100; i++) {
            uint32_t seq = t * 100 + i;
            size_t n = test_payload(4, seq, buf, sizeof buf);
            weft_store_append_req r = batch(c.d, 4, seq, 1, buf, n);
            CHECK_OK(weft_store_submit_append(s, &r, seq));
        }
        weft_store_flush(s);
        waker_collect(&w, s, done, 100);
        for (int i = 0; i < 100; i++)
            CHECK_OK(done[i].status);
    }
    pthread_mutex_lock(&c.mu);
    c.stop = 1;
    pthread_mutex_unlock(&c.mu);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(!c.bad && c.loads > 0);
    pthread_mutex_destroy(&c.mu);
    weft_store_close(s);
    waker_cleanup(&w);
}

/* Bad values and bad pages on disk come back as errors, never a crash. */
static void test_bad_disk_bytes(void)
{
    char path[512];
    path_in(path, sizeof path, "bad.db");
    weft_store *s = open_store("bad.db", NULL);
    weft_store_doc d = 0;
    CHECK_OK(weft_store_doc_ensure(s, "d", 1, &d));
    static uint8_t buf[4000];
    for (uint32_t i = 0; i < 300; i++) {
        memset(buf, (int)i, sizeof buf);
        weft_store_append_req r = batch(d, 0, i, 1, buf, 100 + i * 13 % 3900);
        CHECK_OK(weft_store_append(s, &r, NULL));
    }
    weft_store_close(s);

    /* Values no Weft program writes. */
    raw_exec(path, "UPDATE ops SET agent=-1 WHERE lsn=5; UPDATE ops SET len=x'00' WHERE lsn=7;"
                   "UPDATE documents SET next_agent=-3");
    s = open_store("bad.db", NULL);
    recs got = {0};
    CHECK_RC(weft_store_range(s, d, 1, 10, rec_batch, &got), WEFT_STORE_E_CORRUPT);
    recs_reset(&got);
    CHECK_OK(weft_store_range(s, d, 8, 20, rec_batch, &got)); /* the rest is fine */
    recs_reset(&got);
    doc_list docs = {0};
    CHECK_RC(weft_store_docs(s, doc_cb, &docs), WEFT_STORE_E_CORRUPT);
    uint32_t a;
    CHECK(weft_store_agent_new(s, d, "x", 1, &a) < 0);
    weft_store_close(s);

    /* Garbage over pages in the middle of the file. */
    raw_exec(path, "PRAGMA wal_checkpoint(TRUNCATE)");
    FILE *f = fopen(path, "r+b");
    CHECK(f);
    CHECK(fseek(f, 4096 * 3, SEEK_SET) == 0);
    for (int i = 0; i < 4096 * 4; i++)
        fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    int rc = weft_store_open(path, NULL, &s);
    if (rc == 0) {
        int r1 = weft_store_range(s, d, 1, UINT64_MAX, rec_batch, &got);
        recs_reset(&got);
        int r2 = weft_store_load(s, d, UINT64_MAX, rec_snap, rec_batch, &got, NULL);
        recs_reset(&got);
        weft_store_append_req r = batch(d, 0, 1000, 1, "z", 1);
        int r3 = weft_store_append(s, &r, NULL);
        CHECK(r1 == WEFT_STORE_E_CORRUPT || r2 == WEFT_STORE_E_CORRUPT ||
              r3 == WEFT_STORE_E_CORRUPT);
        weft_store_close(s);
    } else {
        CHECK_RC(rc, WEFT_STORE_E_CORRUPT);
    }
}

/* The writer checkpoints the WAL itself once it passes 1000 pages. */
static void test_checkpoint(void)
{
    waker w;
    waker_init(&w);
    weft_store *s = open_store("ckpt.db", &w);
    weft_store_doc d = 0;
    CHECK_OK(weft_store_doc_ensure(s, "c", 1, &d));
    static uint8_t big[8000];
    static weft_store_completion c[100];
    for (uint32_t t = 0; t < 8; t++) {
        for (uint32_t i = 0; i < 100; i++) {
            memset(big, (int)(t * 100 + i), sizeof big);
            weft_store_append_req r = batch(d, 0, t * 100 + i, 1, big, sizeof big);
            CHECK_OK(weft_store_submit_append(s, &r, i));
        }
        weft_store_flush(s);
        waker_collect(&w, s, c, 100);
        for (int i = 0; i < 100; i++)
            CHECK_OK(c[i].status);
    }
    weft_store_stats st;
    weft_store_get_stats(s, &st);
    CHECK(st.commits == 9 && st.checkpoints >= 1 && st.checkpoint_errors == 0);
    recs got = {0};
    CHECK_OK(weft_store_range(s, d, 800, 800, rec_batch, &got));
    CHECK(got.n == 1 && got.v[0].n == sizeof big && got.v[0].bytes[0] == (uint8_t)799);
    recs_reset(&got);
    weft_store_close(s);
    waker_cleanup(&w);
}

/* A version-1 database as this program's first release wrote it: frozen, so
 * that every later schema keeps opening old files. Never edit. */
static const char golden_v1[] =
    "PRAGMA application_id=1464157780;"
    "CREATE TABLE documents(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created INTEGER NOT NULL, next_agent INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE agents(doc INTEGER NOT NULL, agent INTEGER NOT NULL, user TEXT,"
    " created INTEGER NOT NULL, PRIMARY KEY(doc, agent)) WITHOUT ROWID;"
    "CREATE TABLE ops(doc INTEGER NOT NULL, lsn INTEGER NOT NULL, agent INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, len INTEGER NOT NULL, author TEXT, received_at INTEGER NOT NULL,"
    " bytes BLOB NOT NULL, PRIMARY KEY(doc, lsn)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX ops_id ON ops(doc, agent, seq);"
    "CREATE TABLE snapshots(id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, lsn INTEGER NOT NULL,"
    " created INTEGER NOT NULL, state BLOB NOT NULL, UNIQUE(doc, lsn));"
    "INSERT INTO documents VALUES(1, 'notes', 1700000000000, 2);"
    "INSERT INTO agents VALUES(1, 0, 'ann', 1700000000001), (1, 1, 'bob', 1700000000002);"
    "INSERT INTO ops VALUES(1, 1, 0, 0, 2, 'ann', 1700000000010, x'92909196000000c0c0a26869');"
    "INSERT INTO ops VALUES(1, 2, 1, 0, 1, 'bob', 1700000000020, x'0102');"
    "INSERT INTO snapshots VALUES(1, 1, 1, 1700000000030, x'cafe');"
    "PRAGMA user_version=1;";

static void test_golden_v1(void)
{
    char path[512];
    path_in(path, sizeof path, "golden-v1.db");
    raw_exec(path, golden_v1);
    weft_store *s = NULL;
    CHECK_OK(weft_store_open(path, NULL, &s));
    weft_store_doc d = 0;
    CHECK_OK(weft_store_doc_find(s, "notes", &d));
    CHECK(d == 1);
    recs got = {0};
    uint64_t head = 0;
    CHECK_OK(weft_store_load(s, d, UINT64_MAX, rec_snap, rec_batch, &got, &head));
    CHECK(got.snaps == 1 && got.snap_lsn == 1 && got.snap_len == 2);
    CHECK(got.n == 1 && got.v[0].lsn == 2 && got.v[0].n == 2 && head == 2);
    recs_reset(&got);
    agent_list ag = {0};
    CHECK_OK(weft_store_agents(s, d, agent_cb, &ag));
    CHECK(ag.n == 2 && strcmp(ag.users[1], "bob") == 0);
    uint32_t a = 0;
    CHECK_OK(weft_store_agent_new(s, d, "cy", 5, &a));
    CHECK(a == 2);
    weft_store_append_req r = batch(d, 0, 0, 2, "\x92\x90\x91\x96\0\0\0\xc0\xc0\xa2hi", 12);
    CHECK_RC(weft_store_append(s, &r, &head), WEFT_STORE_ALREADY);
    CHECK(head == 1);
    weft_store_close(s);
}

int main(void)
{
    test_tmpdir(dir, sizeof dir, "store");
    test_open_migrate();
    test_docs_agents();
    test_append_idempotent();
    test_group_commit();
    test_load_range();
    test_since_vv();
    test_backup_and_two_stores();
    test_checkpoint();
    test_concurrent_reads();
    test_bad_disk_bytes();
    test_golden_v1();
    test_rmdir(dir);
    printf("ok\n");
    return 0;
}

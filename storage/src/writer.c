/*
 * writer.c — the writer thread: takes groups of requests off the ready list
 * and applies each group in one transaction (group commit).
 *
 * Per request, an error that concerns only that request (unknown document,
 * conflicting bytes, bad LSN) becomes its status and the others go on; the
 * request wrote nothing before failing. Any other error (disk full, I/O,
 * busy, corruption) abandons the whole transaction: every request of the
 * group completes with that error and nothing of it is stored. FULL, BUSY and
 * NOMEM leave the store usable; the rest fail it (store_int.h).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Checkpoint once the WAL holds this many pages (SQLite's default). */
#define CHECKPOINT_PAGES 1000

/* Replaces SQLite's automatic checkpoint, which would run inside COMMIT and
 * delay the acks of the group that triggered it: we checkpoint after the
 * completions are out (writer_main). */
static int wal_hook(void *ctx, sqlite3 *db, const char *name, int pages)
{
    ((weft_store *)ctx)->wal_pages = pages;
    return SQLITE_OK;
}

/* ---- statements ----------------------------------------------------------- */

int store__writer_prepare(weft_store *s)
{
    static const struct {
        size_t off;
        const char *sql;
    } defs[] = {
#define W_(field) offsetof(store_wstmts, field)
        {W_(begin), "BEGIN IMMEDIATE"},
        {W_(commit), "COMMIT"},
        {W_(rollback), "ROLLBACK"},
        {W_(data_version), "PRAGMA data_version"},
        {W_(doc_head), "SELECT (SELECT max(lsn) FROM ops WHERE doc=?1) FROM documents WHERE id=?1"},
        {W_(agent_tip),
         "SELECT seq+len FROM ops WHERE doc=?1 AND agent=?2 ORDER BY seq DESC LIMIT 1"},
        {W_(op_probe), "SELECT seq, len, lsn, bytes FROM ops WHERE doc=?1 AND agent=?2 AND seq<?3 "
                       "ORDER BY seq DESC LIMIT 1"},
        {W_(op_insert), "INSERT INTO ops(doc, lsn, agent, seq, len, author, received_at, bytes) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
        {W_(snap_insert), "INSERT OR REPLACE INTO snapshots(doc, lsn, created, state) "
                          "VALUES(?1, ?2, ?3, ?4)"},
        {W_(agent_bump), "UPDATE documents SET next_agent=next_agent+1 WHERE id=?1 "
                         "AND next_agent<4294967295 RETURNING next_agent-1"},
        {W_(agent_insert), "INSERT INTO agents(doc, agent, user, created) VALUES(?1, ?2, ?3, ?4)"},
        {W_(doc_by_name), "SELECT id FROM documents WHERE name=?1"},
        {W_(doc_insert), "INSERT INTO documents(name, created) VALUES(?1, ?2)"},
#undef W_
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)&s->w + defs[i].off);
        int err = store__prepare(s->wdb, defs[i].sql, slot);
        if (err)
            return err;
    }
    sqlite3_wal_hook(s->wdb, wal_hook, s);
    return 0;
}

void store__writer_finalize(weft_store *s)
{
    sqlite3_stmt **p = (sqlite3_stmt **)&s->w;
    for (size_t i = 0; i < sizeof s->w / sizeof *p; i++) {
        sqlite3_finalize(p[i]);
        p[i] = NULL;
    }
}

/* Steps a statement that returns no row we need and resets it. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return store__map_rc(rc) ? store__map_rc(rc) : WEFT_STORE_E_BACKEND;
}

static int rc_err(int rc)
{
    int err = store__map_rc(rc);
    return err ? err : WEFT_STORE_E_BACKEND;
}

/* ---- cache: next LSN per document, seq end per agent ----------------------
 * Open addressing on (doc, agent), doc > 0. Lets the common append (a new
 * batch at its agent's tip) skip the overlap probe. */

static void cache_clear(weft_store *s)
{
    if (s->cache)
        memset(s->cache, 0, s->cache_cap * sizeof *s->cache);
    s->cache_n = 0;
}

static size_t cache_hash(weft_store_doc doc, uint32_t agent, size_t mask)
{
    uint64_t h =
        ((uint64_t)doc * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)agent * 0xC2B2AE3D27D4EB4Full);
    return (size_t)(h ^ (h >> 29)) & mask;
}

static wcache_slot *cache_find(weft_store *s, weft_store_doc doc, uint32_t agent)
{
    if (!s->cache_cap)
        return NULL;
    size_t mask = s->cache_cap - 1;
    for (size_t i = cache_hash(doc, agent, mask);; i = (i + 1) & mask) {
        wcache_slot *e = &s->cache[i];
        if (e->doc == doc && e->agent == agent)
            return e;
        if (e->doc == 0)
            return NULL;
    }
}

/* Sets (doc, agent) to val; returns the slot, NULL when out of memory. */
static wcache_slot *cache_put(weft_store *s, weft_store_doc doc, uint32_t agent, uint64_t val)
{
    if ((s->cache_n + 1) * 2 > s->cache_cap) {
        size_t old_cap = s->cache_cap, cap = old_cap ? old_cap * 2 : 64;
        wcache_slot *old = s->cache, *fresh = calloc(cap, sizeof *fresh);
        if (!fresh)
            return NULL;
        s->cache = fresh;
        s->cache_cap = cap;
        s->cache_n = 0;
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i].doc)
                cache_put(s, old[i].doc, old[i].agent, old[i].val);
        }
        free(old);
    }
    size_t mask = s->cache_cap - 1, i = cache_hash(doc, agent, mask);
    while (s->cache[i].doc != 0 && !(s->cache[i].doc == doc && s->cache[i].agent == agent))
        i = (i + 1) & mask;
    if (s->cache[i].doc == 0)
        s->cache_n++;
    s->cache[i] = (wcache_slot){doc, agent, val};
    return &s->cache[i];
}

/* The slot holding doc's next LSN, loading it from the database. A missing
 * document is a request error (*req_err), anything else is fatal (return). */
static int doc_slot(weft_store *s, weft_store_doc doc, wcache_slot **out, int *req_err)
{
    *out = cache_find(s, doc, WCACHE_LSN);
    if (*out)
        return 0;
    sqlite3_stmt *st = s->w.doc_head;
    sqlite3_bind_int64(st, 1, doc);
    int rc = sqlite3_step(st);
    int64_t head = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        *req_err = WEFT_STORE_E_NOTFOUND;
        return 0;
    }
    if (rc != SQLITE_ROW)
        return rc_err(rc);
    if (head < 0) {
        *req_err = WEFT_STORE_E_CORRUPT;
        return 0;
    }
    *out = cache_put(s, doc, WCACHE_LSN, (uint64_t)head + 1);
    return *out ? 0 : WEFT_STORE_E_NOMEM;
}

/* The slot holding the end of agent's stored seqs in doc (0 if none). */
static int tip_slot(weft_store *s, weft_store_doc doc, uint32_t agent, wcache_slot **out)
{
    *out = cache_find(s, doc, agent);
    if (*out)
        return 0;
    sqlite3_stmt *st = s->w.agent_tip;
    sqlite3_bind_int64(st, 1, doc);
    sqlite3_bind_int64(st, 2, agent);
    int rc = sqlite3_step(st);
    int64_t end = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rc_err(rc);
    *out = cache_put(s, doc, agent, end < 0 ? 0 : (uint64_t)end);
    return *out ? 0 : WEFT_STORE_E_NOMEM;
}

/* ---- applying one request -----------------------------------------------
 * Each returns 0 or a fatal error; the request's own outcome goes to
 * r->status. */

/* Looks for a stored batch of r's agent that r repeats or overlaps: sets
 * r->status to WEFT_STORE_ALREADY (with r->lsn) or WEFT_STORE_E_CONFLICT. */
static int probe(weft_store *s, store_req *r)
{
    /* The stored batch of this agent with the highest seq below our end. */
    sqlite3_stmt *st = s->w.op_probe;
    sqlite3_bind_int64(st, 1, r->doc);
    sqlite3_bind_int64(st, 2, r->agent);
    sqlite3_bind_int64(st, 3, (int64_t)r->seq + r->len);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0), len = sqlite3_column_int64(st, 1);
        if (seq == r->seq) {
            const void *b = sqlite3_column_blob(st, 3);
            size_t n = (size_t)sqlite3_column_bytes(st, 3);
            bool same = len == r->len && n == r->nbytes && (n == 0 || memcmp(b, r->bytes, n) == 0);
            r->status = same ? WEFT_STORE_ALREADY : WEFT_STORE_E_CONFLICT;
            r->lsn = same ? (uint64_t)sqlite3_column_int64(st, 2) : 0;
        } else if (seq + len > (int64_t)r->seq) {
            r->status = WEFT_STORE_E_CONFLICT;
        }
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc_err(rc);
}

static int apply_append(weft_store *s, store_req *r)
{
    wcache_slot *slot = NULL, *tip = NULL;
    int req_err = 0;
    int err = doc_slot(s, r->doc, &slot, &req_err);
    if (err || req_err) {
        r->status = req_err;
        return err;
    }
    if ((err = tip_slot(s, r->doc, r->agent, &tip)) != 0)
        return err;
    /* At or past the agent's tip nothing can repeat or overlap: no probe. */
    if (r->seq < tip->val) {
        if ((err = probe(s, r)) != 0 || r->status)
            return err;
    }
    uint64_t end = (uint64_t)r->seq + r->len;
    if (end > tip->val)
        tip->val = end;
    /* (tip may move if the table grows: look the LSN slot up again.) */
    slot = cache_find(s, r->doc, WCACHE_LSN);

    sqlite3_stmt *st = s->w.op_insert;
    sqlite3_bind_int64(st, 1, r->doc);
    sqlite3_bind_int64(st, 2, (int64_t)slot->val);
    sqlite3_bind_int64(st, 3, r->agent);
    sqlite3_bind_int64(st, 4, r->seq);
    sqlite3_bind_int64(st, 5, r->len);
    if (r->text)
        sqlite3_bind_text(st, 6, r->text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int64(st, 7, r->time);
    sqlite3_bind_blob(st, 8, r->bytes, (int)r->nbytes, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        /* Cannot happen unless the file disagrees with the cache; the
         * statement rolled back alone. Forget what we thought we knew. */
        cache_clear(s);
        r->status = WEFT_STORE_E_CONFLICT;
        return 0;
    }
    if (rc != SQLITE_DONE)
        return rc_err(rc);
    r->lsn = slot->val++;
    return 0;
}

static int apply_snapshot(weft_store *s, store_req *r)
{
    wcache_slot *slot = NULL;
    int req_err = 0;
    int err = doc_slot(s, r->doc, &slot, &req_err);
    if (err || req_err) {
        r->status = req_err;
        return err;
    }
    if (r->lsn >= slot->val) {
        r->status = WEFT_STORE_E_INVAL; /* a snapshot of ops not stored */
        return 0;
    }
    sqlite3_stmt *st = s->w.snap_insert;
    sqlite3_bind_int64(st, 1, r->doc);
    sqlite3_bind_int64(st, 2, (int64_t)r->lsn);
    sqlite3_bind_int64(st, 3, r->time);
    sqlite3_bind_blob(st, 4, r->bytes, (int)r->nbytes, SQLITE_STATIC);
    err = step_done(st);
    sqlite3_clear_bindings(st);
    return err;
}

static int apply_agent(weft_store *s, store_req *r)
{
    sqlite3_stmt *st = s->w.agent_bump;
    sqlite3_bind_int64(st, 1, r->doc);
    int rc = sqlite3_step(st);
    int64_t agent = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st); /* RETURNING: finish the UPDATE */
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rc_err(rc);
    if (agent < 0) {
        r->status = WEFT_STORE_E_NOTFOUND; /* or the agent space is spent */
        return 0;
    }
    st = s->w.agent_insert;
    sqlite3_bind_int64(st, 1, r->doc);
    sqlite3_bind_int64(st, 2, agent);
    if (r->text)
        sqlite3_bind_text(st, 3, r->text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, r->time);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        /* agents holds a number documents.next_agent says is free: the file
         * was edited by hand. The bump above is part of the transaction and
         * stays, so the next request tries the next number. */
        r->status = WEFT_STORE_E_CORRUPT;
        return 0;
    }
    if (rc != SQLITE_DONE)
        return rc_err(rc);
    r->agent = (uint32_t)agent;
    return 0;
}

static int apply_doc(weft_store *s, store_req *r)
{
    sqlite3_stmt *st = s->w.doc_by_name;
    sqlite3_bind_text(st, 1, r->text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r->doc = sqlite3_column_int64(st, 0);
        r->status = WEFT_STORE_ALREADY;
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rc_err(rc);
    if (r->status)
        return 0;
    st = s->w.doc_insert;
    sqlite3_bind_text(st, 1, r->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->time);
    int err = step_done(st);
    if (err)
        return err;
    r->doc = sqlite3_last_insert_rowid(s->wdb);
    return cache_put(s, r->doc, WCACHE_LSN, 1) ? 0 : WEFT_STORE_E_NOMEM;
}

static int apply(weft_store *s, store_req *r)
{
    switch (r->kind) {
    case WEFT_STORE_REQ_APPEND:
        return apply_append(s, r);
    case WEFT_STORE_REQ_SNAPSHOT:
        return apply_snapshot(s, r);
    case WEFT_STORE_REQ_AGENT:
        return apply_agent(s, r);
    case WEFT_STORE_REQ_DOC:
        return apply_doc(s, r);
    }
    r->status = WEFT_STORE_E_INVAL;
    return 0;
}

/* ---- one transaction ------------------------------------------------------ */

/* Forgets cached LSNs if another connection wrote since our last look. */
static int check_data_version(weft_store *s)
{
    sqlite3_stmt *st = s->w.data_version;
    int rc = sqlite3_step(st);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc_err(rc);
    if (v != s->data_version) {
        cache_clear(s);
        s->data_version = v;
    }
    return 0;
}

/* Applies the group in one transaction. Returns 0 when it committed (each
 * request's status says how it went) or the error that abandoned it. */
static int run_group(weft_store *s, req_list *group)
{
    int err = step_done(s->w.begin);
    if (err)
        return err;
    if ((err = check_data_version(s)) != 0)
        goto rollback;
    for (store_req *r = group->head; r; r = r->next) {
        if ((err = apply(s, r)) != 0)
            goto rollback;
    }
    if ((err = step_done(s->w.commit)) != 0)
        goto rollback;
    /* Our own commit moves data_version only for other connections. */
    return 0;

rollback:
    if (!sqlite3_get_autocommit(s->wdb))
        step_done(s->w.rollback);
    cache_clear(s);
    return err;
}

static void count(weft_store_stats *st, const store_req *r)
{
    st->requests++;
    if (r->status == 0 && r->kind == WEFT_STORE_REQ_APPEND)
        st->appended++;
    else if (r->status == WEFT_STORE_ALREADY && r->kind == WEFT_STORE_REQ_APPEND)
        st->already++;
    else if (r->status == WEFT_STORE_E_CONFLICT)
        st->conflicts++;
    else if (r->status < 0)
        st->errors++;
}

/* Moves finished requests to `done` (or wakes their synchronous callers).
 * Called with s->mu held; returns whether an asynchronous one finished. */
static bool finish(weft_store *s, req_list *group)
{
    bool any_async = false, any_sync = false;
    store_req *r;
    while ((r = store__list_pop(group)) != NULL) {
        count(&s->stats, r);
        if (r->sync) {
            r->done = true;
            any_sync = true;
        } else {
            store__list_push(&s->done, r);
            any_async = true;
        }
    }
    if (any_sync)
        pthread_cond_broadcast(&s->done_cv);
    return any_async;
}

/* A passive checkpoint (never waits for readers), called with s->mu held
 * and released around the I/O. A failure loses nothing: the frames stay in
 * the WAL and the next checkpoint copies them again, fsync included. */
static void checkpoint(weft_store *s)
{
    pthread_mutex_unlock(&s->mu);
    int rc = sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    s->wal_pages = 0;
    pthread_mutex_lock(&s->mu);
    if (rc == SQLITE_OK)
        s->stats.checkpoints++;
    else if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
        s->stats.checkpoint_errors++;
}

static void take_group(weft_store *s, req_list *group)
{
    uint32_t max = s->opts.max_group;
    if (max == 0 || s->ready.n <= max) {
        store__list_splice(group, &s->ready);
        return;
    }
    while (group->n < max)
        store__list_push(group, store__list_pop(&s->ready));
}

void *store__writer_main(void *arg)
{
    weft_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->ready.head && !s->stopping)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (!s->ready.head)
            break;
        req_list group = {0};
        take_group(s, &group);
        s->applying = group.n;
        int failed = s->failed;
        pthread_mutex_unlock(&s->mu);

        int err = failed ? WEFT_STORE_E_FAILED : run_group(s, &group);
        if (err) {
            for (store_req *r = group.head; r; r = r->next) {
                r->status = err;
                r->lsn = 0;
            }
        }

        pthread_mutex_lock(&s->mu);
        if (!failed) {
            if (err)
                s->stats.rollbacks++;
            else
                s->stats.commits++;
            if (group.n > s->stats.max_group)
                s->stats.max_group = group.n;
            if (err && !store__rc_is_transient(err))
                s->failed = err;
        }
        s->applying = 0;
        bool wake = finish(s, &group);
        if (wake && s->opts.wake) {
            pthread_mutex_unlock(&s->mu);
            s->opts.wake(s->opts.wake_ctx);
            pthread_mutex_lock(&s->mu);
        }
        if (s->wal_pages >= CHECKPOINT_PAGES && !s->failed)
            checkpoint(s);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * read.c — synchronous reads on the read connection. Every public function
 * takes `rmu`, runs one read transaction (a consistent view of the last
 * commit) and hands rows to the caller's callback, whose pointers are valid
 * only during the call.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int store__reader_prepare(weft_store *s)
{
    static const struct {
        size_t off;
        const char *sql;
    } defs[] = {
#define R_(field) offsetof(store_rstmts, field)
        {R_(begin), "BEGIN"},
        {R_(commit), "COMMIT"},
        {R_(rollback), "ROLLBACK"},
        {R_(doc_by_name), "SELECT id FROM documents WHERE name=?1"},
        {R_(doc_exists), "SELECT 1 FROM documents WHERE id=?1"},
        {R_(docs), "SELECT id, name, created, next_agent, "
                   "(SELECT max(lsn) FROM ops WHERE doc=documents.id) FROM documents ORDER BY id"},
        {R_(agents), "SELECT agent, user, created FROM agents WHERE doc=?1 ORDER BY agent"},
        {R_(snap_latest), "SELECT lsn, state FROM snapshots WHERE doc=?1 AND lsn<=?2 "
                          "ORDER BY lsn DESC LIMIT 1"},
        {R_(ops_range), "SELECT lsn, agent, seq, len, author, received_at, bytes FROM ops "
                        "WHERE doc=?1 AND lsn>=?2 AND lsn<=?3 ORDER BY lsn"},
        {R_(agent_next), "SELECT agent FROM ops INDEXED BY ops_id WHERE doc=?1 AND agent>?2 "
                         "ORDER BY agent LIMIT 1"},
        {R_(agent_first_lsn),
         /* The first batch ending past ?3 starts at the batch holding seq
          * ?3-1 if it reaches ?3, else at seq ?3. min(lsn) over the rest of
          * the agent's range reads only the (doc, agent, seq) index, which
          * holds lsn; INDEXED BY keeps the planner from walking the whole log
          * in LSN order instead. */
         "SELECT min(lsn) FROM ops INDEXED BY ops_id WHERE doc=?1 AND agent=?2 AND seq>=coalesce("
         "(SELECT CASE WHEN seq+len>?3 THEN seq ELSE ?3 END FROM ops INDEXED BY ops_id "
         "WHERE doc=?1 AND agent=?2 AND seq<?3 ORDER BY seq DESC LIMIT 1), ?3)"},
        {R_(vv_at), "SELECT agent, max(seq+len) FROM ops WHERE doc=?1 AND lsn<=?2 "
                    "GROUP BY agent ORDER BY agent"},
        {R_(lsn_at_time), "SELECT lsn FROM ops WHERE doc=?1 AND received_at<=?2 "
                          "ORDER BY lsn DESC LIMIT 1"},
#undef R_
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)&s->r + defs[i].off);
        int err = store__prepare(s->rdb, defs[i].sql, slot);
        if (err)
            return err;
    }
    return 0;
}

void store__reader_finalize(weft_store *s)
{
    sqlite3_stmt **p = (sqlite3_stmt **)&s->r;
    for (size_t i = 0; i < sizeof s->r / sizeof *p; i++) {
        sqlite3_finalize(p[i]);
        p[i] = NULL;
    }
}

static int rc_err(int rc)
{
    int err = store__map_rc(rc);
    return err ? err : WEFT_STORE_E_BACKEND;
}

static int64_t clamp_lsn(uint64_t lsn)
{
    return lsn > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)lsn;
}

/* Opens a read transaction: takes rmu, BEGIN. */
static int read_begin(weft_store *s)
{
    pthread_mutex_lock(&s->rmu);
    int rc = sqlite3_step(s->r.begin);
    sqlite3_reset(s->r.begin);
    if (rc != SQLITE_DONE) {
        pthread_mutex_unlock(&s->rmu);
        return rc_err(rc);
    }
    return 0;
}

/* Ends it (commit when err is 0, else rollback), releases rmu, passes err on. */
static int read_end(weft_store *s, int err)
{
    sqlite3_stmt *st = err ? s->r.rollback : s->r.commit;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && !sqlite3_get_autocommit(s->rdb)) {
        sqlite3_step(s->r.rollback);
        sqlite3_reset(s->r.rollback);
    }
    if (!err && rc != SQLITE_DONE)
        err = rc_err(rc);
    pthread_mutex_unlock(&s->rmu);
    return err;
}

static int doc_exists(weft_store *s, weft_store_doc doc)
{
    sqlite3_stmt *st = s->r.doc_exists;
    sqlite3_bind_int64(st, 1, doc);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? WEFT_STORE_E_NOTFOUND : rc_err(rc);
}

/* read_begin, then doc_exists: on any failure the transaction is already
 * ended and the error is returned; on 0 the caller must read_end. */
static int read_begin_doc(weft_store *s, weft_store_doc doc)
{
    int err = read_begin(s);
    if (err)
        return err;
    if ((err = doc_exists(s, doc)) != 0)
        return read_end(s, err);
    return 0;
}

/* Ends a row loop over st: a last step that is not SQLITE_DONE becomes the
 * error unless one is already set; resets st and passes the error on. */
static int rows_end(sqlite3_stmt *st, int rc, int err)
{
    if (!err && rc != SQLITE_DONE)
        err = rc_err(rc);
    sqlite3_reset(st);
    return err;
}

/* A stored integer that must fit a u32 (bad disk bytes are not our callers'
 * problem to crash on). */
static int col_u32(sqlite3_stmt *st, int i, uint32_t *out)
{
    int64_t v = sqlite3_column_int64(st, i);
    if (v < 0 || v > (int64_t)UINT32_MAX)
        return WEFT_STORE_E_CORRUPT;
    *out = (uint32_t)v;
    return 0;
}

static uint32_t vv_lookup(const weft_store_vv_entry *vv, size_t n, uint32_t agent)
{
    for (size_t lo = 0, hi = n; lo < hi;) {
        size_t mid = (lo + hi) / 2;
        if (vv[mid].agent == agent)
            return vv[mid].next_seq;
        if (vv[mid].agent < agent)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Runs ops_range (already bound) and hands rows to fn; rows with
 * seq + len <= vv[agent] are skipped when vv is given (sorted by agent). */
static int emit_ops(sqlite3_stmt *st, const weft_store_vv_entry *vv, size_t nvv,
                    weft_store_batch_fn fn, void *ctx, uint64_t *last)
{
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        weft_store_batch b;
        int64_t lsn = sqlite3_column_int64(st, 0);
        if (lsn < 0 || col_u32(st, 1, &b.agent) || col_u32(st, 2, &b.seq) ||
            col_u32(st, 3, &b.len)) {
            err = WEFT_STORE_E_CORRUPT;
            break;
        }
        b.lsn = (uint64_t)lsn;
        if (last)
            *last = b.lsn;
        if (vv) {
            uint32_t have = vv_lookup(vv, nvv, b.agent);
            if ((uint64_t)b.seq + b.len <= have)
                continue;
        }
        b.author = (const char *)sqlite3_column_text(st, 4);
        b.received_at = sqlite3_column_int64(st, 5);
        b.ops.ptr = sqlite3_column_blob(st, 6);
        b.ops.len = (size_t)sqlite3_column_bytes(st, 6);
        if ((err = fn(ctx, &b)) != 0)
            break;
    }
    return rows_end(st, rc, err);
}

static int bind_range(sqlite3_stmt *st, weft_store_doc doc, uint64_t first, uint64_t last)
{
    sqlite3_bind_int64(st, 1, doc);
    sqlite3_bind_int64(st, 2, clamp_lsn(first));
    sqlite3_bind_int64(st, 3, clamp_lsn(last));
    return 0;
}

/* ---- documents and agents ------------------------------------------------- */

int weft_store_doc_find(weft_store *s, const char *name, weft_store_doc *doc)
{
    if (!name || !doc)
        return WEFT_STORE_E_INVAL;
    *doc = 0;
    int err = read_begin(s);
    if (err)
        return err;
    sqlite3_stmt *st = s->r.doc_by_name;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *doc = sqlite3_column_int64(st, 0);
    else
        err = rc == SQLITE_DONE ? WEFT_STORE_E_NOTFOUND : rc_err(rc);
    sqlite3_reset(st);
    return read_end(s, err);
}

int weft_store_docs(weft_store *s, weft_store_doc_fn fn, void *ctx)
{
    if (!fn)
        return WEFT_STORE_E_INVAL;
    int err = read_begin(s), rc;
    if (err)
        return err;
    sqlite3_stmt *st = s->r.docs;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        weft_store_doc_row d = {
            .id = sqlite3_column_int64(st, 0),
            .name = (const char *)sqlite3_column_text(st, 1),
            .created = sqlite3_column_int64(st, 2),
        };
        int64_t head = sqlite3_column_int64(st, 4);
        if (!d.name || head < 0 || col_u32(st, 3, &d.next_agent)) {
            err = WEFT_STORE_E_CORRUPT;
            break;
        }
        d.head_lsn = (uint64_t)head;
        if ((err = fn(ctx, &d)) != 0)
            break;
    }
    return read_end(s, rows_end(st, rc, err));
}

int weft_store_agents(weft_store *s, weft_store_doc doc, weft_store_agent_fn fn, void *ctx)
{
    if (!fn)
        return WEFT_STORE_E_INVAL;
    int err = read_begin_doc(s, doc), rc = SQLITE_DONE;
    if (err)
        return err;
    sqlite3_stmt *st = s->r.agents;
    sqlite3_bind_int64(st, 1, doc);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        weft_store_agent_row a = {
            .user = (const char *)sqlite3_column_text(st, 1),
            .created = sqlite3_column_int64(st, 2),
        };
        if (col_u32(st, 0, &a.agent)) {
            err = WEFT_STORE_E_CORRUPT;
            break;
        }
        if ((err = fn(ctx, &a)) != 0)
            break;
    }
    return read_end(s, rows_end(st, rc, err));
}

/* ---- the op log ----------------------------------------------------------- */

int weft_store_load(weft_store *s, weft_store_doc doc, uint64_t upto,
                    weft_store_snapshot_fn snap_fn, weft_store_batch_fn batch_fn, void *ctx,
                    uint64_t *head)
{
    uint64_t from = 0;
    if (head)
        *head = 0;
    if (!batch_fn)
        return WEFT_STORE_E_INVAL;
    int err = read_begin_doc(s, doc);
    if (err)
        return err;

    sqlite3_stmt *st = s->r.snap_latest;
    sqlite3_bind_int64(st, 1, doc);
    sqlite3_bind_int64(st, 2, clamp_lsn(upto));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t lsn = sqlite3_column_int64(st, 0);
        weft_store_bytes state = {sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1)};
        if (lsn < 0)
            err = WEFT_STORE_E_CORRUPT;
        else if (snap_fn)
            err = snap_fn(ctx, (uint64_t)lsn, state);
        from = lsn < 0 ? 0 : (uint64_t)lsn;
        if (head)
            *head = from;
    } else if (rc != SQLITE_DONE) {
        err = rc_err(rc);
    }
    sqlite3_reset(st);
    /* Without a snapshot callback the caller wants the whole log. */
    if (!snap_fn)
        from = 0;
    if (!err) {
        bind_range(s->r.ops_range, doc, from + 1, upto);
        err = emit_ops(s->r.ops_range, NULL, 0, batch_fn, ctx, head);
    }
    return read_end(s, err);
}

int weft_store_range(weft_store *s, weft_store_doc doc, uint64_t first, uint64_t last,
                     weft_store_batch_fn fn, void *ctx)
{
    if (!fn)
        return WEFT_STORE_E_INVAL;
    int err = read_begin_doc(s, doc);
    if (err)
        return err;
    bind_range(s->r.ops_range, doc, first, last);
    err = emit_ops(s->r.ops_range, NULL, 0, fn, ctx, NULL);
    return read_end(s, err);
}

static int cmp_vv(const void *a, const void *b)
{
    uint32_t x = ((const weft_store_vv_entry *)a)->agent,
             y = ((const weft_store_vv_entry *)b)->agent;
    return x < y ? -1 : x > y;
}

/* The smallest LSN of a batch the holder of vv lacks, 0 if none: per agent
 * (found by skip-scanning the (doc, agent, seq) index), the first batch that
 * ends past vv[agent]. */
static int since_first_lsn(weft_store *s, weft_store_doc doc, const weft_store_vv_entry *vv,
                           size_t n, uint64_t *first)
{
    int64_t agent = -1;
    *first = 0;
    for (;;) {
        sqlite3_stmt *st = s->r.agent_next;
        sqlite3_bind_int64(st, 1, doc);
        sqlite3_bind_int64(st, 2, agent);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            agent = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return 0;
        if (rc != SQLITE_ROW)
            return rc_err(rc);
        if (agent < 0 || agent > (int64_t)UINT32_MAX)
            return WEFT_STORE_E_CORRUPT;

        st = s->r.agent_first_lsn;
        sqlite3_bind_int64(st, 1, doc);
        sqlite3_bind_int64(st, 2, agent);
        sqlite3_bind_int64(st, 3, vv_lookup(vv, n, (uint32_t)agent));
        rc = sqlite3_step(st);
        int64_t lsn = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        bool null = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return rc_err(rc);
        if (!null && lsn > 0 && (*first == 0 || (uint64_t)lsn < *first))
            *first = (uint64_t)lsn;
    }
}

int weft_store_since(weft_store *s, weft_store_doc doc, const weft_store_vv_entry *vv, size_t n,
                     weft_store_batch_fn fn, void *ctx)
{
    weft_store_vv_entry *sorted = NULL;
    uint64_t first = 0;
    if (!fn || (n && !vv))
        return WEFT_STORE_E_INVAL;
    if (n) {
        if (!(sorted = malloc(n * sizeof *sorted)))
            return WEFT_STORE_E_NOMEM;
        memcpy(sorted, vv, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_vv);
    }
    int err = read_begin_doc(s, doc);
    if (err)
        goto out;
    err = since_first_lsn(s, doc, sorted, n, &first);
    if (!err && first) {
        bind_range(s->r.ops_range, doc, first, UINT64_MAX);
        err = emit_ops(s->r.ops_range, sorted, n, fn, ctx, NULL);
    }
    err = read_end(s, err);
out:
    free(sorted);
    return err;
}

int weft_store_vv_at(weft_store *s, weft_store_doc doc, uint64_t lsn, weft_store_vv_entry **out,
                     size_t *n)
{
    weft_store_vv_entry *v = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_DONE;
    if (!out || !n)
        return WEFT_STORE_E_INVAL;
    *out = NULL;
    *n = 0;
    int err = read_begin_doc(s, doc);
    if (err)
        return err;
    sqlite3_stmt *st = s->r.vv_at;
    sqlite3_bind_int64(st, 1, doc);
    sqlite3_bind_int64(st, 2, clamp_lsn(lsn));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        weft_store_vv_entry e;
        if (col_u32(st, 0, &e.agent) || col_u32(st, 1, &e.next_seq)) {
            err = WEFT_STORE_E_CORRUPT;
            break;
        }
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 8;
            weft_store_vv_entry *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                err = WEFT_STORE_E_NOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        v[len++] = e;
    }
    err = read_end(s, rows_end(st, rc, err));
    if (err) {
        free(v);
        return err;
    }
    *out = v;
    *n = len;
    return 0;
}

int weft_store_lsn_at_time(weft_store *s, weft_store_doc doc, int64_t time, uint64_t *lsn)
{
    if (!lsn)
        return WEFT_STORE_E_INVAL;
    *lsn = 0;
    int err = read_begin_doc(s, doc);
    if (err)
        return err;
    sqlite3_stmt *st = s->r.lsn_at_time;
    sqlite3_bind_int64(st, 1, doc);
    sqlite3_bind_int64(st, 2, time);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        if (v < 0)
            err = WEFT_STORE_E_CORRUPT;
        else
            *lsn = (uint64_t)v;
    } else if (rc != SQLITE_DONE) {
        err = rc_err(rc);
    }
    sqlite3_reset(st);
    return read_end(s, err);
}

/* ---- backup --------------------------------------------------------------- */

/* On a connection of its own, so a long backup does not hold up reads. */
int weft_store_backup(weft_store *s, const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (!path || !*path)
        return WEFT_STORE_E_INVAL;
    int rc = sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    int err = rc == SQLITE_OK ? 0 : rc_err(rc);
    if (!err) {
        sqlite3_busy_timeout(db, (int)s->opts.busy_timeout_ms);
        err = store__prepare(db, "VACUUM INTO ?1", &st);
    }
    if (!err) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            err = rc_err(rc);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return err;
}

/*
 * store.c — opening and closing a store, the request queues, submit, flush,
 * poll, and the synchronous write wrappers. The thread model is described at
 * the top of store_int.h.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define MAX_NAME_BYTES 1024

/* ---- lists ---------------------------------------------------------------- */

void store__list_push(req_list *l, store_req *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

store_req *store__list_pop(req_list *l)
{
    store_req *r = l->head;
    if (r) {
        l->head = r->next;
        if (!l->head)
            l->tail = NULL;
        l->n--;
        r->next = NULL;
    }
    return r;
}

/* Moves all of src to the end of dst. */
void store__list_splice(req_list *dst, req_list *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    dst->n += src->n;
    *src = (req_list){0};
}

static void list_free(req_list *l)
{
    store_req *r;
    while ((r = store__list_pop(l)) != NULL)
        free(r);
}

/* ---- requests ------------------------------------------------------------- */

/* A request with copies of text (may be NULL) and bytes in one allocation. */
static store_req *req_new(weft_store_req_kind kind, uint64_t token, const char *text,
                          weft_store_bytes bytes)
{
    size_t tlen = text ? strlen(text) + 1 : 0;
    if (bytes.len > (size_t)INT_MAX || (bytes.len && !bytes.ptr))
        return NULL;
    store_req *r = calloc(1, sizeof *r + tlen + bytes.len);
    if (!r)
        return NULL;
    r->kind = kind;
    r->token = token;
    if (text) {
        memcpy(r->data, text, tlen);
        r->text = (const char *)r->data;
    }
    if (bytes.len)
        memcpy(r->data + tlen, bytes.ptr, bytes.len);
    r->bytes = r->data + tlen;
    r->nbytes = bytes.len;
    return r;
}

static int check_append(const weft_store_append_req *q)
{
    if (!q || q->doc <= 0 || q->len == 0 || (uint64_t)q->seq + q->len > UINT32_MAX ||
        q->agent == UINT32_MAX || (q->ops.len && !q->ops.ptr) || q->ops.len > (size_t)INT_MAX)
        return WEFT_STORE_E_INVAL;
    return 0;
}

/* Payloads SQLite cannot hold in one row are the caller's error, not a
 * transaction failure that would take the other requests down with it. */
static bool too_big(const weft_store *s, size_t bytes, const char *text)
{
    size_t t = text ? strlen(text) : 0;
    return bytes > s->max_bytes || t > s->max_bytes - bytes;
}

static int make_append(const weft_store *s, const weft_store_append_req *q, uint64_t token,
                       store_req **out)
{
    int err = check_append(q);
    if (err)
        return err;
    if (too_big(s, q->ops.len, q->author))
        return WEFT_STORE_E_INVAL;
    store_req *r = req_new(WEFT_STORE_REQ_APPEND, token, q->author, q->ops);
    if (!r)
        return WEFT_STORE_E_NOMEM;
    r->doc = q->doc;
    r->agent = q->agent;
    r->seq = q->seq;
    r->len = q->len;
    r->time = q->received_at;
    *out = r;
    return 0;
}

static int make_snapshot(const weft_store *s, weft_store_doc doc, uint64_t lsn,
                         weft_store_bytes state, int64_t now, uint64_t token, store_req **out)
{
    if (doc <= 0 || lsn > (uint64_t)INT64_MAX || (state.len && !state.ptr) ||
        state.len > (size_t)INT_MAX || too_big(s, state.len, NULL))
        return WEFT_STORE_E_INVAL;
    store_req *r = req_new(WEFT_STORE_REQ_SNAPSHOT, token, NULL, state);
    if (!r)
        return WEFT_STORE_E_NOMEM;
    r->doc = doc;
    r->lsn = lsn;
    r->time = now;
    *out = r;
    return 0;
}

static int make_agent(const weft_store *s, weft_store_doc doc, const char *user, int64_t now,
                      uint64_t token, store_req **out)
{
    if (doc <= 0 || too_big(s, 0, user))
        return WEFT_STORE_E_INVAL;
    store_req *r = req_new(WEFT_STORE_REQ_AGENT, token, user, (weft_store_bytes){0});
    if (!r)
        return WEFT_STORE_E_NOMEM;
    r->doc = doc;
    r->time = now;
    *out = r;
    return 0;
}

static int make_doc(const char *name, int64_t now, uint64_t token, store_req **out)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MAX_NAME_BYTES)
        return WEFT_STORE_E_INVAL;
    store_req *r = req_new(WEFT_STORE_REQ_DOC, token, name, (weft_store_bytes){0});
    if (!r)
        return WEFT_STORE_E_NOMEM;
    r->time = now;
    *out = r;
    return 0;
}

/* ---- asynchronous path ---------------------------------------------------- */

/* Stages r (taking ownership), or frees it and reports why not. */
static int stage(weft_store *s, store_req *r)
{
    int err = 0;
    pthread_mutex_lock(&s->mu);
    if (s->stopping)
        err = WEFT_STORE_E_CLOSED;
    else if (s->failed)
        err = WEFT_STORE_E_FAILED;
    else
        store__list_push(&s->staged, r);
    pthread_mutex_unlock(&s->mu);
    if (err)
        free(r);
    return err;
}

int weft_store_submit_append(weft_store *s, const weft_store_append_req *q, uint64_t token)
{
    store_req *r = NULL;
    int err = make_append(s, q, token, &r);
    return err ? err : stage(s, r);
}

int weft_store_submit_snapshot(weft_store *s, weft_store_doc doc, uint64_t lsn,
                               weft_store_bytes state, int64_t now, uint64_t token)
{
    store_req *r = NULL;
    int err = make_snapshot(s, doc, lsn, state, now, token, &r);
    return err ? err : stage(s, r);
}

int weft_store_submit_agent(weft_store *s, weft_store_doc doc, const char *user, int64_t now,
                            uint64_t token)
{
    store_req *r = NULL;
    int err = make_agent(s, doc, user, now, token, &r);
    return err ? err : stage(s, r);
}

int weft_store_submit_doc(weft_store *s, const char *name, int64_t now, uint64_t token)
{
    store_req *r = NULL;
    int err = make_doc(name, now, token, &r);
    return err ? err : stage(s, r);
}

void weft_store_flush(weft_store *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->staged.n) {
        store__list_splice(&s->ready, &s->staged);
        pthread_cond_signal(&s->work_cv);
    }
    pthread_mutex_unlock(&s->mu);
}

size_t weft_store_poll(weft_store *s, weft_store_completion *out, size_t max)
{
    req_list got = {0};
    pthread_mutex_lock(&s->mu);
    while (got.n < max && s->done.head)
        store__list_push(&got, store__list_pop(&s->done));
    pthread_mutex_unlock(&s->mu);

    size_t n = 0;
    store_req *r;
    while ((r = store__list_pop(&got)) != NULL) {
        out[n++] = (weft_store_completion){
            .token = r->token,
            .kind = r->kind,
            .status = r->status,
            .doc = r->doc,
            .lsn = r->lsn,
            .agent = r->agent,
            .seq = r->seq,
            .len = r->len,
        };
        free(r);
    }
    return n;
}

int weft_store_failed(weft_store *s)
{
    pthread_mutex_lock(&s->mu);
    int f = s->failed;
    pthread_mutex_unlock(&s->mu);
    return f;
}

void weft_store_get_stats(weft_store *s, weft_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->queued = s->staged.n + s->ready.n + s->applying;
    pthread_mutex_unlock(&s->mu);
}

/* ---- synchronous path ----------------------------------------------------- */

/* Queues r for the writer on its own and waits until it is done. Takes
 * ownership of r; returns its status and leaves its outputs in *res. */
static int run_sync(weft_store *s, store_req *r, store_req *res)
{
    int err = 0;
    r->sync = true;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        err = WEFT_STORE_E_CLOSED;
    } else if (s->failed) {
        err = WEFT_STORE_E_FAILED;
    } else {
        store__list_push(&s->ready, r);
        pthread_cond_signal(&s->work_cv);
        while (!r->done)
            pthread_cond_wait(&s->done_cv, &s->mu);
        err = r->status;
        *res = *r;
    }
    pthread_mutex_unlock(&s->mu);
    free(r);
    return err;
}

int weft_store_append(weft_store *s, const weft_store_append_req *q, uint64_t *lsn)
{
    store_req *r = NULL, res;
    int err = make_append(s, q, 0, &r);
    if (err)
        return err;
    err = run_sync(s, r, &res);
    if (lsn)
        *lsn = err >= 0 ? res.lsn : 0;
    return err;
}

int weft_store_snapshot_put(weft_store *s, weft_store_doc doc, uint64_t lsn, weft_store_bytes state,
                            int64_t now)
{
    store_req *r = NULL, res;
    int err = make_snapshot(s, doc, lsn, state, now, 0, &r);
    return err ? err : run_sync(s, r, &res);
}

int weft_store_agent_new(weft_store *s, weft_store_doc doc, const char *user, int64_t now,
                         uint32_t *agent)
{
    store_req *r = NULL, res;
    int err = make_agent(s, doc, user, now, 0, &r);
    if (err)
        return err;
    err = run_sync(s, r, &res);
    if (agent)
        *agent = err >= 0 ? res.agent : UINT32_MAX;
    return err;
}

int weft_store_doc_ensure(weft_store *s, const char *name, int64_t now, weft_store_doc *doc)
{
    store_req *r = NULL, res;
    int err = make_doc(name, now, 0, &r);
    if (err)
        return err;
    err = run_sync(s, r, &res);
    if (doc)
        *doc = err >= 0 ? res.doc : 0;
    return err;
}

/* ---- open and close -------------------------------------------------------- */

/* Opens one connection with the store's pragmas. */
static int open_conn(const char *path, int flags, uint32_t busy_ms, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    int err = store__map_rc(rc);
    if (rc != SQLITE_OK) {
        if (!err)
            err = WEFT_STORE_E_CANTOPEN;
        goto fail;
    }
    sqlite3_busy_timeout(db, (int)busy_ms);
    *out = db;
    return 0;
fail:
    sqlite3_close(db);
    *out = NULL;
    return err;
}

/* WAL with synchronous=FULL: a commit returns only after the WAL is fsynced. */
static int set_wal(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(db, "PRAGMA journal_mode=WAL", &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        err = (mode && strcmp((const char *)mode, "wal") == 0) ? 0 : WEFT_STORE_E_BACKEND;
    } else {
        err = store__map_rc(rc) ? store__map_rc(rc) : WEFT_STORE_E_BACKEND;
    }
    sqlite3_finalize(st);
    if (!err)
        err = store__exec(db, "PRAGMA synchronous=FULL");
    return err;
}

static void store_free(weft_store *s)
{
    store__reader_finalize(s);
    store__writer_finalize(s);
    sqlite3_close(s->rdb);
    sqlite3_close(s->wdb);
    list_free(&s->staged);
    list_free(&s->ready);
    list_free(&s->done);
    free(s->cache);
    free(s->path);
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->work_cv);
    pthread_mutex_destroy(&s->rmu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int weft_store_open(const char *path, const weft_store_options *opts, weft_store **out)
{
    int err;
    weft_store *s = NULL;
    if (!out)
        return WEFT_STORE_E_INVAL;
    *out = NULL;
    if (!path || !*path)
        return WEFT_STORE_E_INVAL;
    if (!(s = calloc(1, sizeof *s)))
        return WEFT_STORE_E_NOMEM;
    if (opts)
        s->opts = *opts;
    if (!s->opts.busy_timeout_ms)
        s->opts.busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
    if (!(s->path = strdup(path))) {
        free(s);
        return WEFT_STORE_E_NOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);

    err = open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, s->opts.busy_timeout_ms,
                    &s->wdb);
    if (err)
        goto fail;
    if ((err = set_wal(s->wdb)) != 0)
        goto fail;
    if ((err = store__migrate(s->wdb)) != 0)
        goto fail;
    if ((err = store__writer_prepare(s)) != 0)
        goto fail;
    s->max_bytes = (size_t)sqlite3_limit(s->wdb, SQLITE_LIMIT_LENGTH, -1) - 1024;
    err = open_conn(path, SQLITE_OPEN_READWRITE, s->opts.busy_timeout_ms, &s->rdb);
    if (err)
        goto fail;
    if ((err = store__reader_prepare(s)) != 0)
        goto fail;
    if (pthread_create(&s->writer, NULL, store__writer_main, s) != 0) {
        err = WEFT_STORE_E_THREAD;
        goto fail;
    }
    *out = s;
    return 0;

fail:
    store_free(s);
    return err;
}

void weft_store_close(weft_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    store__list_splice(&s->ready, &s->staged);
    s->stopping = true;
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    store_free(s);
}

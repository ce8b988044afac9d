/*
 * store_int.h — internals of the SQLite store.
 *
 * Shape. One weft_store holds two SQLite connections to the same WAL
 * database file:
 *
 *   wdb  the writer's. Used by the opening thread for the schema migration,
 *        then only by the writer thread (writer.c). Every write goes here.
 *   rdb  the readers'. Guarded by `rmu`; every read function takes the mutex
 *        for one read transaction (read.c). WAL lets it read the last
 *        committed state while the writer commits.
 *
 * Requests travel through three intrusive lists guarded by `mu`:
 *
 *   staged --weft_store_flush--> ready --writer--> done --weft_store_poll
 *
 * The writer takes the whole ready list (or max_group requests of it) and
 * applies it in one BEGIN IMMEDIATE ... COMMIT. A flush moves the whole
 * staged list at once, so the requests of one event-loop turn are never
 * split across transactions (unless max_group asks for it). Synchronous
 * requests skip `staged` and `done`: their caller waits on `done_cv` for
 * req->done.
 *
 * Invariants:
 *  - the writer thread is the only user of wdb and of `lsn_cache` after open;
 *  - a request is on exactly one list, or owned by the writer while it is
 *    applied, or (sync) owned by its waiting caller once done;
 *  - cache(doc, WCACHE_LSN) is the next LSN of doc and cache(doc, agent)
 *    the end of agent's stored seqs, as of the writer's current
 *    transaction; the cache is cleared whenever a transaction rolls back or
 *    another connection has written (PRAGMA data_version moved).
 */
#ifndef WEFT_STORE_INT_H
#define WEFT_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "weft/storage.h"

/* 'WEFT' in PRAGMA application_id marks a Weft database. */
#define STORE_APPLICATION_ID 0x57454654

typedef struct store_req {
    struct store_req *next;
    weft_store_req_kind kind;
    uint64_t token;
    bool sync, done;
    /* inputs */
    weft_store_doc doc;
    uint32_t agent, seq, len;
    uint64_t lsn; /* SNAPSHOT input, APPEND output */
    int64_t time;
    const char *text; /* author / user / name; points into data[], or NULL */
    const uint8_t *bytes;
    size_t nbytes;
    /* output */
    int status;
    uint8_t data[];
} store_req;

typedef struct req_list {
    store_req *head, *tail;
    size_t n;
} req_list;

/* Writer-side cache entry: agent == UINT32_MAX holds the document's next
 * LSN; any other agent the end (max seq+len) of its stored seqs. */
typedef struct wcache_slot {
    weft_store_doc doc; /* 0: empty */
    uint32_t agent;
    uint64_t val;
} wcache_slot;

#define WCACHE_LSN UINT32_MAX

typedef struct store_wstmts {
    sqlite3_stmt *begin, *commit, *rollback, *data_version;
    sqlite3_stmt *doc_head, *agent_tip, *op_probe, *op_insert;
    sqlite3_stmt *snap_insert, *agent_bump, *agent_insert;
    sqlite3_stmt *doc_by_name, *doc_insert;
} store_wstmts;

typedef struct store_rstmts {
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *doc_by_name, *doc_exists, *docs, *agents;
    sqlite3_stmt *snap_latest, *ops_range, *agent_next, *agent_first_lsn, *vv_at, *lsn_at_time;
} store_rstmts;

struct weft_store {
    weft_store_options opts;
    char *path; /* for extra connections (backup) */

    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* writer waits for ready work or stop */
    pthread_cond_t done_cv; /* synchronous callers wait for req->done */
    req_list staged, ready, done;
    size_t applying; /* requests the writer has taken and not finished */
    bool stopping;
    int failed; /* sticky error, 0 while healthy */
    weft_store_stats stats;
    pthread_t writer;
    size_t max_bytes; /* largest payload one row can hold (SQLITE_LIMIT_LENGTH) */

    /* writer thread only */
    sqlite3 *wdb;
    store_wstmts w;
    wcache_slot *cache;
    size_t cache_cap, cache_n;
    int64_t data_version;
    int wal_pages; /* WAL size after the last commit (wal hook) */

    /* readers, under rmu */
    pthread_mutex_t rmu;
    sqlite3 *rdb;
    store_rstmts r;
};

/* errors.c */
int store__map_rc(int rc);
bool store__rc_is_transient(int err);

/* schema.c: migrates db to the current version (1 transaction). */
int store__migrate(sqlite3 *db);
int store__exec(sqlite3 *db, const char *sql);
int store__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);

/* writer.c */
int store__writer_prepare(weft_store *s);
void store__writer_finalize(weft_store *s);
void *store__writer_main(void *arg);

/* read.c */
int store__reader_prepare(weft_store *s);
void store__reader_finalize(weft_store *s);

/* list helpers (store.c) */
void store__list_push(req_list *l, store_req *r);
store_req *store__list_pop(req_list *l);
void store__list_splice(req_list *dst, req_list *src);

#endif /* WEFT_STORE_INT_H */

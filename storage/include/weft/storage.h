/*
 * weft/storage.h — Weft's durable op log: documents, agents, op batches and
 * snapshots.
 *
 * Backend-neutral: no type from the database engine appears here. The SQLite
 * implementation (storage/src) is the embedded single-node default; the
 * format, the durability contract and the thread rules are in
 * docs/storage.md.
 *
 * Encoded op batches and snapshots are opaque bytes to the store: it keeps
 * them byte for byte and never looks inside. It knows their IDs only through
 * the (agent, seq, len) the caller passes beside them.
 *
 * Threads. weft_store_open() starts a writer thread with its own connection.
 * Writes are submitted from the owner thread (the event loop) and complete
 * asynchronously:
 *
 *   weft_store_submit_*()      stage a request; never blocks on I/O
 *   weft_store_flush()         hand every request staged since the last
 *                              flush to the writer: they commit together in
 *                              one transaction (group commit)
 *   wake(ctx)                  called on the writer thread when completions
 *                              are ready (the server calls lws_cancel_service)
 *   weft_store_poll()          on the owner thread: take the completions
 *
 * submit/flush/poll belong to one owner thread. Reads (weft_store_load,
 * _range, _since, _docs, _agents, _doc_find, _vv_at, _lsn_at_time, _backup) run
 * synchronously on a separate read connection that is guarded by a mutex:
 * any thread may call them; they see only committed data and never wait for
 * a commit in progress (WAL). The synchronous writes (weft_store_append,
 * _snapshot_put, _agent_new, _doc_ensure) block their caller until the
 * commit is durable: for command-line tools and tests, not for the event
 * loop. Any thread may call them.
 *
 * Errors: 0 is success, WEFT_STORE_ALREADY (positive) means "this batch was
 * already stored, byte for byte", negatives are WEFT_STORE_E_* codes named by
 * weft_store_strerror().
 *
 * The store never logs, never reads the clock (times are passed in, in any
 * unit the caller picks; the server uses Unix milliseconds) and never aborts
 * on bad bytes from the disk: those come back as WEFT_STORE_E_CORRUPT.
 */
#ifndef WEFT_STORAGE_H
#define WEFT_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

#define WEFT_STORE_ERRNO_MAP(X)                                                                    \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(NOTFOUND, -3, "no such document")                                                            \
    X(CONFLICT, -4, "IDs already stored with different bytes")                                     \
    X(FULL, -5, "disk full")                                                                       \
    X(IO, -6, "I/O error")                                                                         \
    X(BUSY, -7, "database busy (locked by another connection)")                                    \
    X(CORRUPT, -8, "database file is corrupt or not a Weft database")                              \
    X(SCHEMA, -9, "database schema is newer than this program")                                    \
    X(CANTOPEN, -10, "cannot open database file")                                                  \
    X(READONLY, -11, "database is read-only")                                                      \
    X(FAILED, -12, "store failed after an I/O error; close and reopen it")                         \
    X(CLOSED, -13, "store is closing")                                                             \
    X(THREAD, -14, "cannot start the writer thread")                                               \
    X(BACKEND, -15, "unexpected database error")

typedef enum weft_store_err {
#define WEFT_STORE_ERR_ENUM_(name, val, msg) WEFT_STORE_E_##name = (val),
    WEFT_STORE_ERRNO_MAP(WEFT_STORE_ERR_ENUM_)
#undef WEFT_STORE_ERR_ENUM_
} weft_store_err;

/* Positive outcome of an append: the same batch (doc, agent, seq, len and
 * bytes) was stored before; nothing changed, its original LSN is reported. */
#define WEFT_STORE_ALREADY 1

/* Message for a WEFT_STORE_E_* code ("success" for 0, "already stored" for
 * WEFT_STORE_ALREADY, "unknown error" otherwise). */
const char *weft_store_strerror(int err);

/* ---- value types --------------------------------------------------------- */

/* Document id: assigned by the store, > 0. */
typedef int64_t weft_store_doc;

/* A borrowed byte slice. */
typedef struct weft_store_bytes {
    const uint8_t *ptr;
    size_t len;
} weft_store_bytes;

/* Version vector entry: agent -> next expected seq. */
typedef struct weft_store_vv_entry {
    uint32_t agent;
    uint32_t next_seq;
} weft_store_vv_entry;

/* One op batch to append: agent's seqs seq .. seq+len-1 (len >= 1,
 * seq + len <= 2^32, agent < UINT32_MAX), encoded by the caller. `author` (NUL-terminated, may be
 * NULL) is who sent it; `received_at` is the caller's clock. The store copies everything it keeps
 * during the call. */
typedef struct weft_store_append_req {
    weft_store_doc doc;
    uint32_t agent, seq, len;
    const char *author;
    int64_t received_at;
    weft_store_bytes ops;
} weft_store_append_req;

/* One stored batch as a read hands it out. Pointers are valid only during the
 * callback that receives it; ops.ptr may be NULL when ops.len is 0. */
typedef struct weft_store_batch {
    uint64_t lsn;
    uint32_t agent, seq, len;
    const char *author; /* NULL if none */
    int64_t received_at;
    weft_store_bytes ops;
} weft_store_batch;

/* Read callbacks. A nonzero return stops the read, which returns that value.
 * Callbacks run while the read connection is held: they must not call the
 * store's read functions themselves. */
typedef int (*weft_store_batch_fn)(void *ctx, const weft_store_batch *b);
typedef int (*weft_store_snapshot_fn)(void *ctx, uint64_t lsn, weft_store_bytes state);

typedef struct weft_store_doc_row {
    weft_store_doc id;
    const char *name;
    int64_t created;
    uint64_t head_lsn; /* 0 when the log is empty */
    uint32_t next_agent;
} weft_store_doc_row;
typedef int (*weft_store_doc_fn)(void *ctx, const weft_store_doc_row *d);

typedef struct weft_store_agent_row {
    uint32_t agent;
    const char *user; /* NULL if none */
    int64_t created;
} weft_store_agent_row;
typedef int (*weft_store_agent_fn)(void *ctx, const weft_store_agent_row *a);

/* ---- opening and closing ------------------------------------------------- */

typedef struct weft_store weft_store;

typedef struct weft_store_options {
    /* Called on the writer thread after completions were queued (and when
     * the store fails). Must be cheap and thread-safe. May be NULL. */
    void (*wake)(void *ctx);
    void *wake_ctx;
    /* How long a write waits for a lock held by another process before
     * completing with WEFT_STORE_E_BUSY, in ms. 0: the default (5000). */
    uint32_t busy_timeout_ms;
    /* Most requests committed in one transaction; 0: no limit (a flushed
     * group is never split). 1 commits every request alone: the
     * benchmark's baseline, never what a server wants. */
    uint32_t max_group;
} weft_store_options;

/* Opens (creating if needed) the store at `path` and migrates its schema to
 * the current version. `opts` may be NULL. *out is NULL on failure. */
int weft_store_open(const char *path, const weft_store_options *opts, weft_store **out);

/* Flushes what is staged, waits for the writer to commit everything queued,
 * stops it and frees the store. Completions not yet polled are dropped. No
 * other call on the store may run or follow. */
void weft_store_close(weft_store *s);

/* Current schema version (PRAGMA user_version of a migrated database). */
int weft_store_schema_version(void);

/* ---- asynchronous writes (owner thread) -----------------------------------
 *
 * Each submit stages one request tagged with the caller's `token` and
 * returns at once (0, or an error: nothing was staged). The request is
 * committed after the next weft_store_flush(); its completion comes back
 * from weft_store_poll(). Staged requests of one flush are applied in order.
 */

typedef enum weft_store_req_kind {
    WEFT_STORE_REQ_APPEND = 1,
    WEFT_STORE_REQ_SNAPSHOT = 2,
    WEFT_STORE_REQ_AGENT = 3,
    WEFT_STORE_REQ_DOC = 4
} weft_store_req_kind;

typedef struct weft_store_completion {
    uint64_t token;
    weft_store_req_kind kind;
    /* 0; WEFT_STORE_ALREADY (append: batch already stored; doc: the name
     * existed); or a negative error: nothing of the request is stored, or,
     * after FULL/IO/BUSY, it is stored only if a retry reports ALREADY. */
    int status;
    weft_store_doc doc;
    uint64_t lsn;      /* APPEND: the batch's LSN */
    uint32_t agent;    /* AGENT: the new agent number; APPEND: echo */
    uint32_t seq, len; /* APPEND: echo */
} weft_store_completion;

/* Appends a batch; the completion carries its LSN (per document, from 1,
 * monotonic). Re-appending a stored batch completes WEFT_STORE_ALREADY;
 * the same IDs with other bytes, or a seq range overlapping a stored batch
 * of the same agent differently, complete WEFT_STORE_E_CONFLICT. */
int weft_store_submit_append(weft_store *s, const weft_store_append_req *r, uint64_t token);

/* Stores a snapshot of `doc` at `lsn` (state after every batch with LSN <=
 * lsn). A second snapshot at the same LSN replaces the first. */
int weft_store_submit_snapshot(weft_store *s, weft_store_doc doc, uint64_t lsn,
                               weft_store_bytes state, int64_t now, uint64_t token);

/* Allocates the document's next agent number (0, 1, 2 ...; never reused)
 * and records it for `user` (may be NULL). */
int weft_store_submit_agent(weft_store *s, weft_store_doc doc, const char *user, int64_t now,
                            uint64_t token);

/* Finds or creates the document called `name` (1 .. 1024 bytes of UTF-8,
 * not checked). The completion's status is WEFT_STORE_ALREADY if it existed. */
int weft_store_submit_doc(weft_store *s, const char *name, int64_t now, uint64_t token);

/* Hands everything staged since the last flush to the writer as one group:
 * it commits in one transaction (unless max_group splits it). Call it once
 * per event-loop turn. */
void weft_store_flush(weft_store *s);

/* Moves up to `max` completions into out[]; returns how many. */
size_t weft_store_poll(weft_store *s, weft_store_completion *out, size_t max);

/* 0 while the store accepts writes; else the error that failed it
 * (WEFT_STORE_E_IO, WEFT_STORE_E_CORRUPT ...). A failed store refuses new
 * requests with WEFT_STORE_E_FAILED and completes queued ones with it;
 * reads still work. Recover by closing and reopening the store. */
int weft_store_failed(weft_store *s);

typedef struct weft_store_stats {
    uint64_t commits;   /* transactions committed */
    uint64_t rollbacks; /* transactions abandoned after an error */
    uint64_t requests;  /* requests completed (any status) */
    uint64_t appended;  /* batches newly stored */
    uint64_t already;   /* re-appends answered WEFT_STORE_ALREADY */
    uint64_t conflicts;
    uint64_t errors;            /* requests completed with another negative status */
    uint64_t max_group;         /* largest number of requests in one transaction */
    uint64_t queued;            /* now: requests staged, ready or being applied (backlog) */
    uint64_t checkpoints;       /* WAL checkpoints run (after acks went out) */
    uint64_t checkpoint_errors; /* failed ones: harmless, the WAL keeps the data */
} weft_store_stats;

void weft_store_get_stats(weft_store *s, weft_store_stats *out);

/* ---- synchronous writes (any thread; block until durable) ---------------- */

/* 0 or WEFT_STORE_ALREADY with *lsn set, or an error. lsn may be NULL. */
int weft_store_append(weft_store *s, const weft_store_append_req *r, uint64_t *lsn);
int weft_store_snapshot_put(weft_store *s, weft_store_doc doc, uint64_t lsn, weft_store_bytes state,
                            int64_t now);
int weft_store_agent_new(weft_store *s, weft_store_doc doc, const char *user, int64_t now,
                         uint32_t *agent);
/* 0 (created) or WEFT_STORE_ALREADY (existed), *doc set. */
int weft_store_doc_ensure(weft_store *s, const char *name, int64_t now, weft_store_doc *doc);

/* ---- reads (any thread; committed data only) ----------------------------- */

/* The document called `name`: 0 and *doc, or WEFT_STORE_E_NOTFOUND. */
int weft_store_doc_find(weft_store *s, const char *name, weft_store_doc *doc);

/* Every document, by id. */
int weft_store_docs(weft_store *s, weft_store_doc_fn fn, void *ctx);

/* The document's agents, by number. WEFT_STORE_E_NOTFOUND for no document. */
int weft_store_agents(weft_store *s, weft_store_doc doc, weft_store_agent_fn fn, void *ctx);

/* Loads the document as of LSN `upto` (UINT64_MAX: the head): the latest
 * snapshot with lsn <= upto goes to snap_fn (not called if there is none),
 * then every batch with snapshot lsn < LSN <= upto to batch_fn, in LSN order.
 * One consistent read. With snap_fn NULL, every batch up to `upto` goes to
 * batch_fn (replay from the start). *head (may be NULL) gets the last LSN
 * delivered or covered by the snapshot. */
int weft_store_load(weft_store *s, weft_store_doc doc, uint64_t upto,
                    weft_store_snapshot_fn snap_fn, weft_store_batch_fn batch_fn, void *ctx,
                    uint64_t *head);

/* Every batch with first <= LSN <= last, in LSN order. */
int weft_store_range(weft_store *s, weft_store_doc doc, uint64_t first, uint64_t last,
                     weft_store_batch_fn fn, void *ctx);

/* Every batch the holder of version vector vv[0..n) lacks, i.e. with
 * seq + len > vv[agent] (0 for absent agents), in LSN order, untrimmed. */
int weft_store_since(weft_store *s, weft_store_doc doc, const weft_store_vv_entry *vv, size_t n,
                     weft_store_batch_fn fn, void *ctx);

/* The version vector at LSN `lsn` (max seq+len per agent over batches with
 * LSN <= lsn), sorted by agent, malloc'ed: the caller frees *out with free().
 * *n = 0 and *out = NULL for an empty result. */
int weft_store_vv_at(weft_store *s, weft_store_doc doc, uint64_t lsn, weft_store_vv_entry **out,
                     size_t *n);

/* The last LSN of a batch received at or before `time` (caller's clock, as
 * passed to append), 0 if none: "the document as it was at time t". Scans
 * back from the head. */
int weft_store_lsn_at_time(weft_store *s, weft_store_doc doc, int64_t time, uint64_t *lsn);

/* Writes a consistent, compacted copy of the whole store to `path` (which
 * must not exist) while the store keeps running. */
int weft_store_backup(weft_store *s, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_STORAGE_H */

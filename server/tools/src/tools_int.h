/*
 * tools_int.h — what the files of server/tools share: byte buffers,
 * base64, a JSON writer, time formats, and the history reader that the API
 * and the CLI are both built on.
 *
 * History model. Version N of a document is the state after every batch
 * with LSN <= N (docs/crdt.md, "History"). The reader rebuilds it exactly
 * as the server loads a room: the latest snapshot with lsn <= N, then the
 * batches after it, decoded by the protocol codec and integrated by the
 * engine. Comparing two versions A <= B needs no second rebuild: the
 * document at B holds every char of A (a list CRDT never reorders), and a
 * char is visible at version V iff its ID is below vv_V and no delete
 * record whose deleter ID is below vv_V covers it (vv_V from
 * weft_store_vv_at). Walking the canonical runs once in document order
 * with both visibilities gives an exact character diff in O(n).
 */
#ifndef WEFT_TOOLS_INT_H
#define WEFT_TOOLS_INT_H

#include "weft/protocol.h"
#include "weft/tools.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers (weft_buf, append-only, always NUL-terminated) ------------- */

int tools__put(weft_buf *b, const void *p, size_t n);
int tools__puts(weft_buf *b, const char *s);
int tools__printf(weft_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- base64 (RFC 4648) ----------------------------------------------------- */

/* url: the URL alphabet without padding; else the standard one with. */
size_t tools__b64_len(size_t n, bool url);
/* Writes the encoding of p[0..n) plus a NUL; cap must be > b64_len. */
void tools__b64_encode(const uint8_t *p, size_t n, bool url, char *out);
/* Decodes exactly s[0..len) into out (cap bytes): 0 and *outn, or -1 for any
 * character outside the alphabet, wrong padding, non-zero trailing bits (a
 * string has one encoding only) or too little room. */
int tools__b64_decode(const char *s, size_t len, bool url, uint8_t *out, size_t cap, size_t *outn);

/* ---- tokens ------------------------------------------------------------------ */

/* Signs arbitrary payload bytes as a token (no checks on the payload): for
 * the fuzzer, which needs signed garbage to reach the payload parser. */
int tools__token_sign(const uint8_t *key, size_t keylen, const uint8_t *payload, size_t n,
                      char *out, size_t cap);

/* ---- JSON writer ------------------------------------------------------------- */

/* Appends s[0..n) as a JSON string literal: quotes, escapes for '"', '\\',
 * control characters, U+2028/U+2029; invalid UTF-8 bytes become U+FFFD. */
int tools__json_str(weft_buf *b, const char *s, size_t n);
/* A NUL-terminated string or null. */
int tools__json_cstr(weft_buf *b, const char *s);

/* ---- time -------------------------------------------------------------------- */

/* "2026-11-21T10:00:00Z" (optional .fraction) or Unix seconds (digits) into
 * Unix milliseconds; -1 if neither. */
int tools__time_parse(const char *s, int64_t *ms);
/* Unix milliseconds as "2026-11-21T10:00:00.123Z" (out: >= 32 bytes). */
void tools__time_format(int64_t ms, char *out, size_t cap);
/* Strict unsigned decimal (no sign, no spaces, no leading zeros but "0"). */
int tools__parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out);

/* ---- errors -------------------------------------------------------------------- */

/* A store error as a tools error (NOTFOUND stays NOTFOUND, NOMEM stays NOMEM). */
int tools__store_err(int err);

/* ---- history reader ---------------------------------------------------------- */

typedef struct tools_docinfo {
    weft_store_doc id;
    char *name;
    int64_t created;
    uint64_t head;
    uint32_t next_agent;
} tools_docinfo;

/* Every document (*n of them, malloc'ed array; free with tools__docs_free). */
int tools__docs(weft_store *st, tools_docinfo **out, size_t *n);
void tools__docs_free(tools_docinfo *d, size_t n);
/* One document by name: 0, WEFT_TOOLS_E_NOTFOUND or another error. name in
 * *out is a copy: free it. */
int tools__doc_info(weft_store *st, const char *name, tools_docinfo *out);

/* Agent -> user (agents table; NULL user: the author of the agent's first
 * batch, filled by tools__times_load). */
typedef struct tools_agent {
    uint32_t agent;
    char *user;
    int64_t created;
} tools_agent;

typedef struct tools_agents {
    tools_agent *a;
    size_t n;
} tools_agents;

int tools__agents_load(weft_store *st, weft_store_doc doc, tools_agents *out);
void tools__agents_free(tools_agents *ag);
const char *tools__agent_user(const tools_agents *ag, uint32_t agent);

/* When each seq of each agent was received: batch (agent, seq, len, time)
 * for LSN 1 .. upto, sorted by (agent, seq). */
typedef struct tools_tbatch {
    uint32_t agent, seq, len;
    int64_t time;
} tools_tbatch;

typedef struct tools_times {
    tools_tbatch *b;
    size_t n, cap;
} tools_times;

/* Fills t from the log up to `upto`; agents with no user in ag get the
 * author of their first batch. */
int tools__times_load(weft_store *st, weft_store_doc doc, uint64_t upto, tools_times *t,
                      tools_agents *ag);
void tools__times_free(tools_times *t);
/* Latest time among agent's seqs [seq, seq+len); 0 if unknown. */
int64_t tools__times_max(const tools_times *t, uint32_t agent, uint32_t seq, uint32_t len);

/* Decodes one stored batch, checks it is what the row says (every op by
 * b->agent, seqs contiguous from b->seq, total b->len) and integrates it.
 * WEFT_TOOLS_E_CORRUPT (with a reason in why, if not NULL) on any failure.
 * m is scratch. */
int tools__apply_batch(weft_doc *d, const weft_store_batch *b, weft_proto_msg *m, const char **why);

/* Rebuilds the document at LSN `upto` (UINT64_MAX: the head) from the
 * latest snapshot at or before it plus the batches after. *out is a new
 * document (NULL on failure); *lsn the version reached. With
 * use_snapshots false, replays the log from LSN 1. */
int tools__build(weft_store *st, weft_store_doc doc, uint64_t upto, bool use_snapshots,
                 weft_doc **out, uint64_t *lsn);

/* Blame: visible chars grouped into spans of one agent. */
typedef struct tools_span {
    uint32_t agent;
    size_t off, bytes; /* into the text */
    uint32_t len;      /* code points */
    int64_t time;      /* newest char's batch time */
} tools_span;

typedef struct tools_blame {
    weft_buf text;
    tools_span *s;
    size_t n, cap;
    tools_agents agents;
    uint64_t lsn;
} tools_blame;

int tools__blame(weft_store *st, weft_store_doc doc, uint64_t lsn, tools_blame *out);
void tools__blame_free(tools_blame *b);

/* Diff between versions a and b: segments in document order. */
typedef enum tools_diffop { TOOLS_EQ = 0, TOOLS_INS = 1, TOOLS_DEL = 2 } tools_diffop;

typedef struct tools_seg {
    tools_diffop op;
    size_t off, bytes;
} tools_seg;

typedef struct tools_diff {
    weft_buf text;
    tools_seg *s;
    size_t n, cap;
} tools_diff;

int tools__diff(weft_store *st, weft_store_doc doc, uint64_t a, uint64_t b, tools_diff *out);
void tools__diff_free(tools_diff *d);

/* The version vector at LSN lsn (weft_store_vv_at as an engine vv). */
int tools__vv_at(weft_store *st, weft_store_doc doc, uint64_t lsn, weft_vv *out);

/* Every snapshot LSN of the document, ascending (malloc'ed). */
int tools__snapshot_lsns(weft_store *st, weft_store_doc doc, uint64_t head, uint64_t **out,
                         size_t *n);
/* Loads the snapshot stored at exactly `lsn` into a new document. */
int tools__snapshot_doc(weft_store *st, weft_store_doc doc, uint64_t lsn, weft_doc **out);

/* Compares two documents' text, canonical runs and version vectors. 0 or
 * WEFT_TOOLS_E_MISMATCH with a description in why (cap bytes). */
int tools__doc_compare(const weft_doc *a, const weft_doc *b, char *why, size_t cap);

/* Rebuilds from the log alone and compares with every snapshot (replay and
 * check). Reports progress and mismatches to `log` (may be NULL). *nsnap
 * gets the number of snapshots compared; the rebuilt document goes to
 * *out when out is not NULL. With repair_ms >= 0, every snapshot that
 * differs or does not load is replaced by the rebuilt state at its LSN
 * (stored with that time) and counted in *repaired instead of failing. */
int tools__replay(weft_store *st, const tools_docinfo *di, FILE *log, size_t *nsnap, weft_doc **out,
                  int64_t repair_ms, size_t *repaired);

/* ---- export / import (export.c) --------------------------------------------------- */

/* Writes document `name` as an export file to out; messages to log. */
int tools__export(weft_store *st, const char *name, FILE *out, FILE *log);
/* Reads an export file, verifies it, and writes it as a new document
 * (named `as`, or the file's name). WEFT_TOOLS_E_EXISTS if that name is
 * taken. st NULL: only parse and verify the file (replayed in memory). */
int tools__import(weft_store *st, FILE *in, const char *as, FILE *log);

/* ---- CLI commands (cli_history.c) ------------------------------------------------------ */

typedef struct tools_cli {
    FILE *out, *err;
    weft_store *st;
} tools_cli;

/* A version given on the command line: LSN, ISO time or @unix-seconds. */
typedef struct tools_at {
    bool set, is_time;
    uint64_t lsn;
    int64_t ms;
} tools_at;

int tools__cli_cat(tools_cli *c, const char *doc, const tools_at *at);
int tools__cli_log(tools_cli *c, const char *doc, uint64_t from, uint64_t to);
int tools__cli_blame(tools_cli *c, const char *doc, const tools_at *at);
int tools__cli_diff(tools_cli *c, const char *doc, uint64_t a, uint64_t b);

#endif

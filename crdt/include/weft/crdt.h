/*
 * weft/crdt.h — the Weft text CRDT engine (FugueMax, run-length encoded).
 *
 * Pure C11: libc only, no I/O, clock, randomness, logging or global state.
 * The algorithm, its invariants and worked examples are in docs/crdt.md and
 * at the top of crdt/src/doc_int.h.
 *
 * Units: positions and lengths are Unicode code points unless a name ends
 * in 16 (UTF-16 code units, what browser editors count). Text is UTF-8.
 *
 * Errors: functions returning int give 0 (or a positive status named
 * below) on success and a negative WEFT_E_* code on failure;
 * weft_strerror() names each code.
 */
#ifndef WEFT_CRDT_H
#define WEFT_CRDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

#define WEFT_ERRNO_MAP(X)                                                                          \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(UTF8, -2, "invalid UTF-8")                                                                   \
    X(SURROGATE, -3, "surrogate code point in text")                                               \
    X(RANGE, -4, "position or length out of range")                                                \
    X(AGENT, -5, "invalid agent")                                                                  \
    X(BADOP, -6, "malformed operation")                                                            \
    X(CONFLICT, -7, "known ID with different content")                                             \
    X(OVERFLOW, -8, "sequence number space exhausted")                                             \
    X(NOTFOUND, -9, "unknown ID")                                                                  \
    X(BADLOAD, -10, "inconsistent document state")                                                 \
    X(READONLY, -11, "document has no local agent")                                                \
    X(CORRUPT, -12, "engine invariant violated")

typedef enum weft_err {
#define WEFT_ERR_ENUM_(name, val, msg) WEFT_E_##name = (val),
    WEFT_ERRNO_MAP(WEFT_ERR_ENUM_)
#undef WEFT_ERR_ENUM_
} weft_err;

/* Message for a WEFT_E_* code ("success" for 0, "unknown error" otherwise). */
const char *weft_strerror(int err);

/* Positive outcomes of weft_doc_apply(). */
enum {
    WEFT_APPLIED = 0,   /* integrated (possibly after trimming a known prefix) */
    WEFT_DUPLICATE = 1, /* every ID was already known with the same content */
    WEFT_PARKED = 2     /* dependencies missing: kept, applied when they come */
};

/* ---- value types --------------------------------------------------------- */

/* Agent value reserved for "no character": START in an origin-left slot,
 * END in an origin-right slot. Real agents are 0 .. WEFT_NONE-1. */
#define WEFT_NONE UINT32_MAX

typedef struct weft_id {
    uint32_t agent;
    uint32_t seq;
} weft_id;

#define WEFT_ID_NONE ((weft_id){WEFT_NONE, 0})

static inline bool weft_id_is_none(weft_id id)
{
    return id.agent == WEFT_NONE;
}
static inline bool weft_id_eq(weft_id a, weft_id b)
{
    return a.agent == b.agent && (a.agent == WEFT_NONE || a.seq == b.seq);
}

typedef enum weft_op_kind { WEFT_OP_INS = 0, WEFT_OP_DEL = 1 } weft_op_kind;

/*
 * One operation. Both kinds consume `len` seqs of id.agent starting at
 * id.seq.
 *  INS: inserts `len` code points (`text`, `bytes` UTF-8 bytes). The first
 *       char has origin-left `ol` (WEFT_ID_NONE = START); char k>0 has
 *       origin-left (id.agent, id.seq+k-1); every char has origin-right `or`
 *       (WEFT_ID_NONE = END).
 *  DEL: deletes the chars target.agent, target.seq .. target.seq+len-1;
 *       deleter seq id.seq+k removes target.seq+k.
 * Ops handed out in a weft_oplist point at text the list owns.
 */
typedef struct weft_op {
    uint32_t kind; /* weft_op_kind */
    weft_id id;
    uint32_t len;
    weft_id ol, or ;  /* INS only */
    weft_id target;   /* DEL only */
    const char *text; /* INS only */
    uint32_t bytes;   /* INS only */
} weft_op;

/* A growable list of ops (caller-allocated; _init / _cleanup). The list
 * owns a copy of its ops' text: op.text stays valid until the list is
 * cleared or cleaned up. Appending merges an op into the previous one when
 * the two form one op. */
typedef struct weft_oplist {
    weft_op *ops;
    size_t n, cap;
    char *text;
    size_t text_n, text_cap;
} weft_oplist;

void weft_oplist_init(weft_oplist *l);
void weft_oplist_cleanup(weft_oplist *l);
static inline void weft_oplist_clear(weft_oplist *l)
{
    l->n = 0;
    l->text_n = 0;
}
/* Appends a copy of op (and its text); merges with the last op if possible. */
int weft_oplist_push(weft_oplist *l, const weft_op *op);

/* Version vector: agent -> next seq, entries sorted by agent, no zeros.
 * Caller-allocated; _init / _cleanup. */
typedef struct weft_vv_entry {
    uint32_t agent;
    uint32_t next_seq;
} weft_vv_entry;

typedef struct weft_vv {
    weft_vv_entry *v;
    size_t n, cap;
} weft_vv;

void weft_vv_init(weft_vv *vv);
void weft_vv_cleanup(weft_vv *vv);
uint32_t weft_vv_get(const weft_vv *vv, uint32_t agent);
/* Sets agent's next seq (0 removes the entry). */
int weft_vv_set(weft_vv *vv, uint32_t agent, uint32_t next_seq);
/* true when every ID in a is also in b. */
bool weft_vv_leq(const weft_vv *a, const weft_vv *b);

/*
 * An index-based change produced by integrating remote ops, for an editor:
 * at `pos` delete `del` code points, then insert `text` (`ins` code points).
 * The *16 fields give the same change in UTF-16 units. Patches of one list
 * apply in order, each against the text left by the previous one.
 */
typedef struct weft_patch {
    uint32_t pos, del, ins;
    uint32_t pos16, del16, ins16;
    const char *text; /* owned by the patch list */
    uint32_t bytes;
} weft_patch;

typedef struct weft_patchlist {
    weft_patch *p;
    size_t n, cap;
    char *text;
    size_t text_n, text_cap;
} weft_patchlist;

void weft_patchlist_init(weft_patchlist *l);
void weft_patchlist_cleanup(weft_patchlist *l);
static inline void weft_patchlist_clear(weft_patchlist *l)
{
    l->n = 0;
    l->text_n = 0;
}

/* A growable byte buffer (caller-allocated; _init / _cleanup). */
typedef struct weft_buf {
    char *p;
    size_t n, cap;
} weft_buf;

void weft_buf_init(weft_buf *b);
void weft_buf_cleanup(weft_buf *b);

/* ---- documents ----------------------------------------------------------- */

typedef struct weft_doc weft_doc;

/* A new empty document whose local edits use `agent` (WEFT_NONE: none, the
 * document only integrates remote ops, as the server does). NULL on OOM. */
weft_doc *weft_doc_new(uint32_t agent);
void weft_doc_free(weft_doc *doc);

/* Changes the local agent (e.g. once the server has assigned one). Local
 * edits continue at that agent's next seq in this document. */
int weft_doc_set_agent(weft_doc *doc, uint32_t agent);
uint32_t weft_doc_agent(const weft_doc *doc);

/* Local edits (pinned generation rule, docs/crdt.md). The ops to send are
 * appended to `out` (may be NULL). Invalid UTF-8 or surrogates: WEFT_E_UTF8 /
 * WEFT_E_SURROGATE and nothing changes. */
int weft_doc_insert(weft_doc *doc, uint32_t pos, const char *utf8, size_t bytes, weft_oplist *out);
int weft_doc_delete(weft_doc *doc, uint32_t pos, uint32_t len, weft_oplist *out);

/* Integrates a remote op: WEFT_APPLIED, WEFT_DUPLICATE or WEFT_PARKED, or a
 * negative error (nothing changed). Applying an op can also apply parked ops
 * that were waiting for it. Editor patches for everything that became
 * visible or invisible are appended to `patches` (may be NULL: cheaper). */
int weft_doc_apply(weft_doc *doc, const weft_op *op, weft_patchlist *patches);

/* Ops waiting for missing dependencies, and the bytes they hold. */
size_t weft_doc_parked(const weft_doc *doc);
size_t weft_doc_parked_bytes(const weft_doc *doc);

/* Visible length in code points / UTF-16 units / UTF-8 bytes. */
uint32_t weft_doc_len(const weft_doc *doc);
uint32_t weft_doc_len16(const weft_doc *doc);
size_t weft_doc_bytes(const weft_doc *doc);

/* Copies the visible text (no NUL) into `out`, replacing its contents. */
int weft_doc_text(const weft_doc *doc, weft_buf *out);

/* Position conversion between code points and UTF-16 units, O(log n).
 * pos16 inside a surrogate pair: WEFT_E_RANGE. */
int weft_doc_pos16(const weft_doc *doc, uint32_t pos, uint32_t *pos16);
int weft_doc_pos_from16(const weft_doc *doc, uint32_t pos16, uint32_t *pos);

/* The current version vector (inserts and deletes). */
int weft_doc_version(const weft_doc *doc, weft_vv *out);
/* Next seq of one agent (0 if unknown). */
uint32_t weft_doc_next_seq(const weft_doc *doc, uint32_t agent);

/* Every op not covered by `since` (NULL = everything), trimmed, in an order
 * that respects dependencies (the order they were applied). */
int weft_doc_ops_since(const weft_doc *doc, const weft_vv *since, weft_oplist *out);

/* The visible text at version `at` (which must be <= the doc's version). */
int weft_doc_text_at(const weft_doc *doc, const weft_vv *at, weft_buf *out);

/* The visible char at pos: its ID (authorship: agent). */
int weft_doc_id_at(const weft_doc *doc, uint32_t pos, weft_id *out);

/* The delete that first removed char `target` (in apply order):
 * 0 and *deleter set; WEFT_E_NOTFOUND if it is visible or unknown. */
int weft_doc_deleter(const weft_doc *doc, weft_id target, weft_id *deleter);

/* ---- cursor anchors -------------------------------------------------------- */

/* An anchor is a char ID plus assoc: assoc >= 0 binds to the char after the
 * gap, assoc < 0 to the char before it. id WEFT_ANCHOR_START / _END name
 * the document's ends. */
typedef struct weft_anchor {
    weft_id id;
    int32_t assoc;
} weft_anchor;

#define WEFT_ANCHOR_START_ID ((weft_id){WEFT_NONE, 0})
#define WEFT_ANCHOR_END_ID ((weft_id){WEFT_NONE, 1})

/* The anchor for gap `pos` (0 .. len). */
int weft_doc_anchor(const weft_doc *doc, uint32_t pos, int32_t assoc, weft_anchor *out);
/* The gap an anchor names now; WEFT_E_NOTFOUND for an unknown ID (keep the
 * last known position). A deleted char resolves to where it was. */
int weft_doc_anchor_pos(const weft_doc *doc, weft_anchor a, uint32_t *pos);

/* ---- runs, deletes and order: snapshots ------------------------------------ */

/* A canonical run: maximal, see docs/crdt.md. Tombstones keep their text. */
typedef struct weft_run {
    uint32_t agent, seq, len;
    weft_id ol, or ;
    bool deleted;
    const char *text;
    uint32_t bytes;
} weft_run;

/* A delete record: deleter seqs id.seq .. id.seq+len-1 of id.agent removed
 * chars of target.agent. Forward (rev false): id.seq+k removed
 * target.seq+k. Reverse (rev true, len >= 2; backspacing): id.seq+k
 * removed target.seq-k, so target is the highest char it removed. */
typedef struct weft_del {
    weft_id id;
    weft_id target;
    uint32_t len;
    bool rev;
} weft_del;

/* A span of one agent's seqs, in the order the document applied them. */
typedef struct weft_span {
    uint32_t agent, seq, len;
} weft_span;

/* Iterates canonical runs in document order (tombstones included). The
 * document must not change during iteration. */
typedef struct weft_run_iter {
    const weft_doc *doc;
    uint32_t leaf, idx; /* next in-memory run to look at */
} weft_run_iter;

void weft_run_iter_init(weft_run_iter *it, const weft_doc *doc);
bool weft_run_iter_next(weft_run_iter *it, weft_run *out);

/* Delete records in apply order, forward only: a reverse record shows as
 * its single-char pieces (sequential access is O(1) per call). */
size_t weft_doc_del_count(const weft_doc *doc);
weft_del weft_doc_del_get(const weft_doc *doc, size_t i);
/* The same records in their compact form, reverse records whole (what
 * snapshots store): O(1) random access; i out of range gives len 0. */
size_t weft_doc_delrec_count(const weft_doc *doc);
weft_del weft_doc_delrec_get(const weft_doc *doc, size_t i);
/* The apply-order span log. */
size_t weft_doc_span_count(const weft_doc *doc);
weft_span weft_doc_span_get(const weft_doc *doc, size_t i);

/* Loading a document from a snapshot: on a new empty document append runs
 * in document order, delete records and spans in apply order, then call
 * weft_doc_load_finish(), which checks everything fits together (every seq
 * covered exactly once, deletes target inserted chars, deleted flags agree,
 * origins exist) and returns WEFT_E_BADLOAD if not. Delete records may come
 * in either form (weft_doc_del_get's or weft_doc_delrec_get's); one that
 * continues the previous record is merged into it as the engine merges
 * deletes (a forward record as one piece, a reverse one char by char), so
 * weft_doc_delrec_get(doc, i) equals the i-th record loaded exactly when
 * the records came from weft_doc_delrec_get. The work is done by
 * weft_doc_load_finish: the other calls only append. */
int weft_doc_load_run(weft_doc *doc, const weft_run *run);
int weft_doc_load_del(weft_doc *doc, const weft_del *del);
int weft_doc_load_span(weft_doc *doc, const weft_span *span);
int weft_doc_load_finish(weft_doc *doc);
/* Optional, before the first load call: room for this many runs, delete
 * records and bytes of run text (a hint, e.g. from a snapshot's column
 * counts and text length; loading more still works, and nothing is checked
 * against it). */
int weft_doc_load_reserve(weft_doc *doc, size_t runs, size_t dels, size_t bytes);

/* ---- diagnostics ------------------------------------------------------------ */

/* Walks every invariant (tree order and counts, ID index, runs, version
 * vector, tombstones). 0 or WEFT_E_CORRUPT. */
int weft_doc_check(const weft_doc *doc);

/* Heap bytes held by the document. */
size_t weft_doc_mem(const weft_doc *doc);
/* Number of in-memory runs (not necessarily canonical). */
size_t weft_doc_run_count(const weft_doc *doc);

/* Validates UTF-8 (no surrogates, no overlongs): 0 and the code point and
 * UTF-16 unit counts, or WEFT_E_UTF8 / WEFT_E_SURROGATE. */
int weft_utf8_count(const char *s, size_t bytes, uint32_t *cps, uint32_t *units16);
/* Whether s[0..bytes) is all ASCII (then it is valid UTF-8 of `bytes` code
 * points and UTF-16 units); a word at a time, for loaders' fast paths. */
bool weft_utf8_is_ascii(const char *s, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif

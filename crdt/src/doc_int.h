/*
 * doc_int.h — the engine's internals. Read this before changing crdt/src.
 *
 * IDS. Every character ever inserted has an ID (agent, seq). Every inserted
 * and every deleted code point consumes one seq of its agent, so the
 * version vector (agent -> next seq) names any version, deletes included.
 *
 * ORIGINS. An inserted char remembers origin-left (ol: the visible char
 * before the cursor when it was typed, or START) and origin-right (or: the
 * item right after ol in the full list, tombstones included, or END). The
 * list order of items never changes once placed; every item lies strictly
 * between its two origins on every replica.
 *
 * RUNS. Characters live in runs: chars (agent, seq .. seq+len-1) where char
 * k>0 has ol = (agent, seq+k-1) and every char shares `or` and the deleted
 * flag. A run is split when an insert lands inside it or a delete covers
 * part of it, and adjacent runs merge back when they fit that shape and
 * their text is adjacent in the agent's arena (canonical: weft_run_iter
 * merges across leaves too, so the canonical run list is unique).
 *
 * ORDERING RULE (FugueMax in list form, crdt-brief §1.3). A remote insert is
 * placed by scanning only the runs strictly between its origins: see
 * integrate.c. Local inserts follow the pinned generation rule (§1.4), so
 * their region is empty and they land exactly at the cursor.
 *
 * DELETES. A delete marks chars as tombstones; tombstones keep their text.
 * Delete records (deleter seq range -> target seq range) are kept in apply
 * order, so "text at version V" filters the runs by V (history.c).
 *
 * CONTAINERS.
 *  - runs: a pool (array) of struct run; a handle is its index, stable for
 *    the run's life. Merged-away runs go on a free list.
 *  - content tree: an order-statistic B-tree over runs in document order.
 *    Leaves hold up to LEAF_MAX run handles and are linked prev/next;
 *    inner nodes hold up to INNER_MAX children and, per child, the visible
 *    code points and UTF-16 units below it. Every leaf has the same depth.
 *    run.leaf points back at the run's leaf. Leaves are never empty.
 *    Length changes update the leaf at once but the inner entries above
 *    one leaf (pend_leaf) lazily: they lack pend_cp / pend_u16 until
 *    tree__sync, which runs before anything reads or restructures inner
 *    sums, or when a change hits another leaf. Typing and backspacing in
 *    one place thus never walk up the tree.
 *  - per agent: next seq, a text arena (UTF-8 of that agent's inserts in
 *    seq order) and an ID index: a sorted chunked array of
 *    (first seq -> run handle | DEL_BIT | delete record) entries that
 *    covers [0, next_seq) without gaps.
 *  - spans: the apply order of (agent, seq range), merged when contiguous;
 *    it is a causal order, used to emit ops since a version.
 *  - parked: remote ops whose dependencies are missing, with a copy of text.
 *
 * INVARIANTS (weft_doc_check walks them all): tree shape, parent links and
 * sums (those above pend_leaf short by the pending deltas); leaf links; run.leaf; run text is valid UTF-8 of len code points
 * and u16 units; the ID index covers every agent's [0, next_seq) once, in
 * order, each entry naming a run or delete record that starts at its key;
 * deleted runs are exactly the chars some delete record targets; spans of
 * each agent are contiguous from 0 to next_seq.
 */
#ifndef WEFT_DOC_INT_H
#define WEFT_DOC_INT_H

#include "weft/crdt.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define LEAF_MAX 32
#define INNER_MAX 16
#define DEL_BIT 0x80000000u
#define CHUNK_MAX 64

typedef struct run {
    uint32_t slot; /* agent slot (doc->ag index) */
    uint32_t seq, len;
    weft_id ol, or ;
    uint32_t text_off; /* byte offset in the slot's arena */
    uint32_t bytes, u16;
    uint32_t leaf;
    uint32_t stamp; /* integrate region marker */
    uint32_t deleted;
} run;

typedef struct leaf {
    uint32_t parent;
    uint32_t pidx; /* index in the parent's child array */
    uint32_t n;
    uint32_t prev, next;
    uint32_t cp, u16; /* visible totals of this leaf */
    uint32_t r[LEAF_MAX];
    uint32_t vcp[LEAF_MAX]; /* visible code points of r[i]: scans stay in the leaf */
} leaf;

typedef struct inner {
    uint32_t parent;
    uint32_t pidx;
    uint32_t n;
    uint32_t child[INNER_MAX];
    uint32_t cp[INNER_MAX], u16[INNER_MAX];
} inner;

typedef struct chunk {
    uint32_t n;
    uint32_t key[CHUNK_MAX];
    uint32_t val[CHUNK_MAX];
} chunk;

typedef struct idindex {
    chunk **c;
    uint32_t *first; /* c[i]->key[0], contiguous for the binary search */
    uint32_t n, cap;
    uint32_t last; /* chunk of the last lookup (a guess) */
} idindex;

/* iteration: position (chunk, i) */
typedef struct idx_pos {
    uint32_t c, i;
} idx_pos;

typedef struct agent_slot {
    uint32_t id;
    uint32_t next_seq;
    char *text;
    uint32_t text_n, text_cap;
    idindex idx;
    uint32_t load_next; /* loading: next span seq expected */
    uint32_t load_ents; /* loading: runs and delete records appended */
    uint32_t tail;      /* run that held this agent's last inserted char (a guess) */
} agent_slot;

/* A delete record: deleter seqs seq .. seq+len-1 of one agent. Forward:
 * seq+k removed target.seq+k (selection delete, delete key). Reverse:
 * seq+k removed target.seq-k (backspacing), so target is the highest. */
typedef struct del_rec {
    uint32_t slot, seq; /* deleter */
    weft_id target;
    uint32_t len;
    uint32_t rev;
} del_rec;

static inline uint32_t del__lo(const del_rec *r)
{
    return r->rev ? r->target.seq - r->len + 1 : r->target.seq;
}
static inline uint32_t del__target_of(const del_rec *r, uint32_t k)
{
    return r->rev ? r->target.seq - k : r->target.seq + k;
}

typedef struct span_rec {
    uint32_t slot, seq, len;
} span_rec;

typedef struct parked_op {
    weft_op op;
    char *text;
} parked_op;

struct weft_doc {
    uint32_t me; /* local agent slot or NIL */

    run *runs;
    uint32_t nruns, runs_cap, free_run, live_runs;

    leaf *leaves;
    uint32_t nleaves, leaves_cap;
    inner *inners;
    uint32_t ninners, inners_cap;
    uint32_t root;   /* leaf index if height == 0, else inner index */
    uint32_t height; /* 0: root is a leaf */
    uint32_t first_leaf, last_leaf;

    agent_slot *ag;
    uint32_t nag, ag_cap;
    uint32_t *ag_sorted; /* slot indices sorted by agent id */
    uint32_t ag_sorted_cap;
    uint32_t ag_last; /* lookup cache */

    del_rec *dels;
    uint32_t ndels, dels_cap;
    span_rec *spans;
    uint32_t nspans, spans_cap;

    parked_op *parked;
    uint32_t nparked, parked_cap;
    size_t parked_bytes;

    uint32_t stamp;
    uint32_t *scratch; /* integrate region */
    uint32_t scratch_cap;

    /* position cache for local edits: a leaf and its visible start */
    uint32_t cache_leaf, cache_cp, cache_u16;
    uint32_t hint; /* index in its leaf of the run last found (a guess) */
    /* typing: the run my last local insert ended, and the visible position
     * right after it; valid while nothing else changed lengths or what
     * follows that run (tree__adjust, tree__insert_after, run_free) */
    uint32_t typing, typing_cp, typing_idx;
    /* finger: the run last found by position and its visible start; valid
     * while every visible-length change since was to that run itself */
    uint32_t finger, finger_cp;
    /* where the ID index entry last moved by a delete is (a guess) */
    idx_pos rekey_at;
    uint32_t len_cp, len_u16; /* visible totals */
    /* the inner entries above leaf pend_leaf lack pend_cp / pend_u16 (wrapping
     * adds): length changes in one leaf walk up once (tree__sync) */
    uint32_t pend_leaf, pend_cp, pend_u16;
    /* weft_doc_del_get walks forward pieces of reverse records in order */
    size_t dget_i;
    uint32_t dget_rec, dget_off;
    /* inner nodes split during one insert, bottom-up (their sums are fixed after) */
    uint32_t split_log[64];
    uint32_t nsplit;
    uint32_t loading;
    /* loading: every run's text in the order loaded (run text_off points
     * here until finish_agent lays each agent's text out in seq order) */
    char *load_text;
    uint32_t load_text_n, load_text_cap;
};

/* doc.c */
int doc__grow(void **p, uint32_t *cap, uint32_t need, size_t elem);
uint32_t doc__slot_find(const weft_doc *d, uint32_t agent);
int doc__slot_get(weft_doc *d, uint32_t agent, uint32_t *slot);
static inline uint32_t doc__agent(const weft_doc *d, uint32_t slot)
{
    return d->ag[slot].id;
}
uint32_t doc__run_new(weft_doc *d);
void doc__run_free(weft_doc *d, uint32_t h);
int doc__arena_grow(weft_doc *d, uint32_t slot, const char *s, uint32_t n, uint32_t *off);
/* Appends n bytes of an agent's inserted text; *off is where they went. */
static inline int doc__arena_append(weft_doc *d, uint32_t slot, const char *s, uint32_t n,
                                    uint32_t *off)
{
    agent_slot *a = &d->ag[slot];
    if (n <= 4 && a->text_cap - a->text_n >= 4) { /* typing: no call */
        for (uint32_t i = 0; i < n; i++)
            a->text[a->text_n + i] = s[i];
        *off = a->text_n;
        a->text_n += n;
        return 0;
    }
    return doc__arena_grow(d, slot, s, n, off);
}
static inline const char *doc__run_text(const weft_doc *d, const run *r)
{
    return d->ag[r->slot].text + r->text_off;
}
int doc__split(weft_doc *d, uint32_t h, uint32_t k, uint32_t *right);
int doc__try_merge_next(weft_doc *d, uint32_t h);
void doc__merge_around(weft_doc *d, uint32_t h);
int doc__del_record(weft_doc *d, uint32_t slot, uint32_t seq, weft_id target, uint32_t len);
int doc__span_add(weft_doc *d, uint32_t slot, uint32_t seq, uint32_t len);
/* Logs that slot's seqs [seq, seq+len) were applied (apply order). */
static inline int doc__span_record(weft_doc *d, uint32_t slot, uint32_t seq, uint32_t len)
{
    span_rec *l = d->nspans ? &d->spans[d->nspans - 1] : NULL;
    if (l && l->slot == slot && l->seq + l->len == seq) { /* the common case */
        l->len += len;
        return 0;
    }
    return doc__span_add(d, slot, seq, len);
}
int doc__lookup(const weft_doc *d, weft_id id, uint32_t *h, uint32_t *isdel);
uint32_t doc__vv(const weft_doc *d, uint32_t agent);
int doc__mark_deleted(weft_doc *d, uint32_t h, weft_patchlist *patches);
bool doc__tombs_exact(const weft_doc *d);
int doc__delete_in_run(weft_doc *d, uint32_t h, uint32_t off, uint32_t k, weft_patchlist *patches);

/* utf8.c */
uint32_t utf8__offset(const char *s, uint32_t bytes, uint32_t cps, uint32_t k);
uint32_t utf8__u16(const char *s, uint32_t bytes);
uint32_t utf8__cp_of_u16(const char *s, uint32_t bytes, uint32_t u16, int *mid);
/* Copies n bytes from src to dst (not overlapping) and says whether they
 * are all ASCII: weft_utf8_is_ascii and memcpy in one pass (a load does it
 * for every run). */
static inline bool utf8__copy_is_ascii(char *dst, const char *src, size_t n)
{
    uint64_t acc = 0, w;
    if (n >= 8) {
        for (size_t i = 0; i + 8 <= n; i += 8) {
            memcpy(&w, src + i, 8);
            memcpy(dst + i, &w, 8);
            acc |= w;
        }
        memcpy(&w, src + n - 8, 8);
        memcpy(dst + n - 8, &w, 8);
        acc |= w;
    } else {
        for (size_t i = 0; i < n; i++) {
            dst[i] = src[i];
            acc |= (unsigned char)src[i];
        }
    }
    return (acc & 0x8080808080808080u) == 0;
}

/* tree.c */
int tree__init(weft_doc *d);
void tree__cleanup(weft_doc *d);
int tree__find(weft_doc *d, uint32_t pos, int by16, uint32_t *h, uint32_t *off);
uint32_t tree__leaf_index(const weft_doc *d, uint32_t h);
int tree__insert_after(weft_doc *d, uint32_t after, uint32_t h);
void tree__remove(weft_doc *d, uint32_t h);
void tree__flush(weft_doc *d);
/* Brings the inner sums up to date: before reading or restructuring them. */
static inline void tree__sync(weft_doc *d)
{
    if (d->pend_leaf != NIL)
        tree__flush(d);
}
/* Changes run h's visible length (it is entry i of its leaf) by dcp code
 * points and du16 UTF-16 units: the leaf at once, the inner entries above
 * it later (pend_leaf). Forgets the caches the change makes stale. */
static inline void tree__adjust_at(weft_doc *d, uint32_t h, uint32_t i, int32_t dcp, int32_t du16)
{
    if (h != d->typing)
        d->typing = NIL;
    uint32_t lf = d->runs[h].leaf;
    if (lf != d->cache_leaf)
        d->cache_leaf = NIL;
    if (h != d->finger)
        d->finger = NIL;
    d->len_cp += (uint32_t)dcp;
    d->len_u16 += (uint32_t)du16;
    leaf *L = &d->leaves[lf];
    L->vcp[i] += (uint32_t)dcp;
    L->cp += (uint32_t)dcp;
    L->u16 += (uint32_t)du16;
    if (lf != d->pend_leaf) { /* the inner sums above lf lag from here on */
        tree__sync(d);
        d->pend_leaf = lf;
        d->pend_cp = d->pend_u16 = 0;
    }
    d->pend_cp += (uint32_t)dcp;
    d->pend_u16 += (uint32_t)du16;
}
void tree__adjust(weft_doc *d, uint32_t h, int32_t dcp, int32_t du16);
void tree__pos(const weft_doc *d, uint32_t h, uint32_t *cp, uint32_t *u16);
uint32_t tree__next(const weft_doc *d, uint32_t h);
uint32_t tree__first(const weft_doc *d);
static inline uint32_t tree__total_cp(const weft_doc *d)
{
    return d->height == 0 ? d->leaves[d->root].cp : 0;
}
uint32_t tree__len(const weft_doc *d, int by16);

/* idindex.c */
void idx__cleanup(idindex *x);
int idx__find(const idindex *x, uint32_t seq, uint32_t *key, uint32_t *val);
int idx__insert(idindex *x, uint32_t key, uint32_t val);
int idx__remove(idindex *x, uint32_t key);
int idx__rekey(idindex *x, uint32_t key, uint32_t nkey);
size_t idx__mem(const idindex *x);
int idx__seek(const idindex *x, uint32_t seq, idx_pos *p);
int idx__next(const idindex *x, idx_pos *p, uint32_t *key, uint32_t *val);
/* idx__rekey with a guess: *at is where entry `key` was last seen (any
 * value), and is left where it is now. Backspacing and the delete key move
 * one run's start a char at a time, so the guess is right in a chain. */
static inline int idx__rekey_at(idindex *x, idx_pos *at, uint32_t key, uint32_t nkey)
{
    idx_pos p = *at;
    if (!(p.c < x->n && p.i < x->c[p.c]->n && x->c[p.c]->key[p.i] == key)) {
        if (idx__seek(x, key, &p) || x->c[p.c]->key[p.i] != key)
            return WEFT_E_NOTFOUND;
    }
    x->c[p.c]->key[p.i] = nkey;
    if (p.i == 0)
        x->first[p.c] = nkey;
    *at = p;
    return 0;
}

/* integrate.c */
int integrate__apply(weft_doc *d, const weft_op *op, weft_patchlist *patches);

/* values.c */
/* weft_oplist_push of the insert of one char c (one byte) with ID
 * (agent, seq), origin-left (agent, seq-1) and origin-right `or`. */
int oplist__push_char(weft_oplist *l, uint32_t agent, uint32_t seq, weft_id or, const char *c);
/* weft_oplist_push of the delete of one char, target, with ID (agent, seq). */
int oplist__push_del(weft_oplist *l, uint32_t agent, uint32_t seq, weft_id target);
int patch__push(weft_patchlist *l, uint32_t pos, uint32_t pos16, uint32_t del, uint32_t del16,
                const char *text, uint32_t bytes, uint32_t ins, uint32_t ins16);

#endif

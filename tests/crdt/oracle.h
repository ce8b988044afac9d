/*
 * oracle.h — the suite's reference model: a deliberately simple FugueMax
 * list, one item per code point, written straight from the crdt brief
 * (integrate: §1.3 region scan with stamps; local insert: §1.4 pinned
 * generation rule; readiness / trimming / parking: §5.2; history: §7;
 * anchors: §6). Everything is O(n) or worse; it exists to be obviously
 * right, and shares no code with crdt/ (only the value types of crdt.h).
 */
#ifndef WEFT_ORACLE_H
#define WEFT_ORACLE_H

#include "testutil.h"

typedef struct oracle oracle;

/* Result codes mirror weft_doc_apply's (0 applied, 1 duplicate, 2 parked,
 * negative WEFT_E_* errors) so tests can compare the two directly. */

oracle *oracle_new(uint32_t agent);
void oracle_free(oracle *o);
void oracle_set_agent(oracle *o, uint32_t agent);

/* Local edits: generate (pinned rule) and integrate; the ops are appended
 * to out (may be NULL). */
int oracle_insert(oracle *o, uint32_t pos, const char *utf8, size_t bytes, toplist *out);
int oracle_delete(oracle *o, uint32_t pos, uint32_t len, toplist *out);

/* What a local insert would generate, without changing anything. */
int oracle_plan_insert(const oracle *o, uint32_t pos, const char *utf8, size_t bytes, weft_op *op);
/* The IDs a local delete of [pos, pos+len) would target, in visible order. */
int oracle_plan_delete(const oracle *o, uint32_t pos, uint32_t len, weft_id *targets);

/* Remote op (also used for own ops generated elsewhere). */
int oracle_apply(oracle *o, const weft_op *op);
size_t oracle_parked(const oracle *o);

uint32_t oracle_len(const oracle *o);
uint32_t oracle_len16(const oracle *o);
/* Visible text, replacing b's contents. */
void oracle_text(const oracle *o, sbuf *b);
/* Visible text at a version (entries read directly from the struct). */
void oracle_text_at(const oracle *o, const weft_vv *at, sbuf *b);
uint32_t oracle_next_seq(const oracle *o, uint32_t agent);
/* Agents known, sorted, with next seq: fills up to max entries. */
size_t oracle_version(const oracle *o, weft_vv_entry *out, size_t max);

/* Visible char at pos: its ID and code point. */
int oracle_char_at(const oracle *o, uint32_t pos, weft_id *id, uint32_t *cp);
/* The first deleter (apply order) of char id: 0, or WEFT_E_NOTFOUND if
 * it is visible or unknown. */
int oracle_deleter(const oracle *o, weft_id id, weft_id *deleter);
/* Items in the full list (tombstones included) and the ID at index i. */
size_t oracle_size(const oracle *o);
weft_id oracle_item_at(const oracle *o, size_t i);
/* UTF-16 offset of code point pos. */
uint32_t oracle_pos16(const oracle *o, uint32_t pos);

/* Canonical runs (brief §9.2) of the whole list, tombstones included. */
typedef struct orun {
    uint32_t agent, seq, len;
    weft_id ol, or ;
    bool deleted;
    sbuf text;
} orun;
size_t oracle_runs(const oracle *o, orun **out);
void oracle_runs_free(orun *runs, size_t n);

/* Cursor anchors, brief §6. */
int oracle_anchor(const oracle *o, uint32_t pos, int32_t assoc, weft_anchor *out);
int oracle_anchor_pos(const oracle *o, weft_anchor a, uint32_t *pos);

/* Self-check of the model's own bookkeeping; 0 if fine. */
int oracle_check(const oracle *o);

#endif

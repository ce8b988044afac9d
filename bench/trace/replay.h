/*
 * replay.h — the two timed workloads of weft-trace-bench.
 *
 * Local replay: one document with agent 1 applies every trace patch through
 * weft_doc_insert / weft_doc_delete; each trace transaction is one engine
 * transaction whose ops are collected in one weft_oplist (cleared per txn),
 * as a client would before sending them.
 *
 * Remote apply: the ops of a local replay, one weft_op per engine op in
 * generation order (never merged across transactions: each transaction is
 * one network update), applied with weft_doc_apply to a document with no
 * local agent, as the server does.
 */
#ifndef WEFT_BENCH_REPLAY_H
#define WEFT_BENCH_REPLAY_H

#include "trace.h"

#include <weft/crdt.h>

/* Ops copied out of a local replay; they own their text. */
typedef struct op_log {
    weft_op *ops;
    size_t n, cap;
    size_t *text_off; /* ops[i].text is fixed up by op_log_finish */
    char *text;
    size_t text_n, text_cap;
} op_log;

void op_log_init(op_log *log);
void op_log_cleanup(op_log *log);

/* Where a replay failed, for the error message. */
typedef struct replay_fail {
    int rc;       /* WEFT_E_* (or a positive weft_doc_apply status) */
    size_t index; /* patch (local) or op (remote) index */
} replay_fail;

/* Replays trace t into a new document (*out, caller frees); milliseconds
 * in *ms. With log != NULL every op is also copied into log (that copying is
 * timed too: use log only on an untimed pass). 0 or a negative WEFT_E_*. */
int replay_local(const trace *t, op_log *log, weft_doc **out, double *ms, replay_fail *fail);

/* Applies every op of log to a new document with no local agent (*out,
 * caller frees). 0 when every op came back WEFT_APPLIED, else the first
 * other result (negative WEFT_E_* or WEFT_DUPLICATE / WEFT_PARKED). */
int replay_remote(const op_log *log, weft_doc **out, double *ms, replay_fail *fail);

/* 1 when the document's visible text is exactly the trace's endContent. */
int replay_text_ok(const weft_doc *doc, const trace *t);

#endif

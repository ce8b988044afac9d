/*
 * replay.c — local replay of a trace and remote application of its ops.
 */
#include "replay.h"

#include "sysinfo.h"

#include <stdlib.h>
#include <string.h>

void op_log_init(op_log *log)
{
    memset(log, 0, sizeof *log);
}

void op_log_cleanup(op_log *log)
{
    free(log->ops);
    free(log->text_off);
    free(log->text);
    memset(log, 0, sizeof *log);
}

/* Copies one op and its text; text pointers are set by op_log_finish. */
static int op_log_push(op_log *log, const weft_op *op)
{
    if (log->n == log->cap) {
        size_t ncap = log->cap ? 2 * log->cap : 4096;
        weft_op *nops = realloc(log->ops, ncap * sizeof *nops);
        if (!nops)
            return WEFT_E_NOMEM;
        log->ops = nops;
        size_t *noff = realloc(log->text_off, ncap * sizeof *noff);
        if (!noff)
            return WEFT_E_NOMEM;
        log->text_off = noff;
        log->cap = ncap;
    }
    if (trace_grow((void **)&log->text, &log->text_cap, log->text_n + op->bytes, 1))
        return WEFT_E_NOMEM;
    log->ops[log->n] = *op;
    log->ops[log->n].text = NULL;
    log->text_off[log->n] = log->text_n;
    if (op->bytes)
        memcpy(log->text + log->text_n, op->text, op->bytes);
    log->text_n += op->bytes;
    log->n++;
    return 0;
}

static void op_log_finish(op_log *log)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->ops[i].kind == WEFT_OP_INS)
            log->ops[i].text = log->text + log->text_off[i];
}

static int apply_patch(weft_doc *doc, const trace *t, const trace_patch *p, weft_oplist *ops)
{
    int rc = 0;
    if (p->del)
        rc = weft_doc_delete(doc, p->pos, p->del, ops);
    if (rc >= 0 && p->bytes)
        rc = weft_doc_insert(doc, p->pos, t->text + p->off, p->bytes, ops);
    return rc;
}

static int log_txn(op_log *log, const weft_oplist *ops)
{
    for (size_t i = 0; i < ops->n; i++)
        if (op_log_push(log, &ops->ops[i]))
            return WEFT_E_NOMEM;
    return 0;
}

int replay_local(const trace *t, op_log *log, weft_doc **out, double *ms, replay_fail *fail)
{
    int rc = 0;
    size_t pi = 0;
    weft_oplist ops;
    weft_oplist_init(&ops);
    double t0 = sys_now_ms();
    weft_doc *doc = weft_doc_new(1);
    if (!doc) {
        rc = WEFT_E_NOMEM;
        goto out;
    }
    for (size_t ti = 0; ti < t->ntxns; ti++) {
        weft_oplist_clear(&ops);
        for (; pi < t->txn_end[ti]; pi++)
            if ((rc = apply_patch(doc, t, &t->patches[pi], &ops)) < 0)
                goto out;
        if (log && (rc = log_txn(log, &ops)) < 0)
            goto out;
    }
    *ms = sys_now_ms() - t0;
    if (log)
        op_log_finish(log);
out:
    weft_oplist_cleanup(&ops);
    if (rc < 0) {
        fail->rc = rc;
        fail->index = pi;
        weft_doc_free(doc);
        doc = NULL;
    }
    *out = doc;
    return rc < 0 ? rc : 0;
}

int replay_remote(const op_log *log, weft_doc **out, double *ms, replay_fail *fail)
{
    int rc = 0;
    size_t i = 0;
    double t0 = sys_now_ms();
    weft_doc *doc = weft_doc_new(WEFT_NONE);
    if (!doc) {
        rc = WEFT_E_NOMEM;
        goto out;
    }
    for (; i < log->n; i++)
        if ((rc = weft_doc_apply(doc, &log->ops[i], NULL)) != WEFT_APPLIED)
            goto out;
    *ms = sys_now_ms() - t0;
out:
    if (rc != 0) {
        fail->rc = rc;
        fail->index = i;
        weft_doc_free(doc);
        doc = NULL;
    }
    *out = doc;
    return rc;
}

int replay_text_ok(const weft_doc *doc, const trace *t)
{
    weft_buf buf;
    weft_buf_init(&buf);
    int ok = weft_doc_text(doc, &buf) == 0 && buf.n == t->end_bytes &&
             (buf.n == 0 || memcmp(buf.p, t->end, buf.n) == 0);
    weft_buf_cleanup(&buf);
    return ok;
}

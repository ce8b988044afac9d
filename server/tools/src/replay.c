/* replay.c — rebuilding a document from its op log alone and comparing the
 * result with every stored snapshot (weft replay, weft check). */
#include "tools_int.h"

#include <inttypes.h>
#include <stdio.h>

static bool id_eq(weft_id a, weft_id b)
{
    return a.agent == b.agent && a.seq == b.seq;
}

static int compare_text(const weft_doc *a, const weft_doc *b, char *why, size_t cap)
{
    weft_buf ta, tb;
    weft_buf_init(&ta);
    weft_buf_init(&tb);
    int rc = weft_doc_text(a, &ta) || weft_doc_text(b, &tb) ? WEFT_TOOLS_E_NOMEM : 0;
    if (!rc && (ta.n != tb.n || (ta.n && memcmp(ta.p, tb.p, ta.n) != 0))) {
        size_t i = 0;
        while (i < ta.n && i < tb.n && ta.p[i] == tb.p[i])
            i++;
        snprintf(why, cap, "text differs from byte %zu (replayed %zu bytes, snapshot %zu)", i, ta.n,
                 tb.n);
        rc = WEFT_TOOLS_E_MISMATCH;
    }
    weft_buf_cleanup(&ta);
    weft_buf_cleanup(&tb);
    return rc;
}

static int compare_runs(const weft_doc *a, const weft_doc *b, char *why, size_t cap)
{
    weft_run_iter ia, ib;
    weft_run ra, rb;
    weft_run_iter_init(&ia, a);
    weft_run_iter_init(&ib, b);
    for (size_t i = 0;; i++) {
        bool ha = weft_run_iter_next(&ia, &ra), hb = weft_run_iter_next(&ib, &rb);
        if (!ha && !hb)
            return 0;
        if (ha != hb) {
            snprintf(why, cap, "run count differs: %s has more runs from #%zu",
                     ha ? "replay" : "snapshot", i);
            return WEFT_TOOLS_E_MISMATCH;
        }
        if (ra.agent != rb.agent || ra.seq != rb.seq || ra.len != rb.len || !id_eq(ra.ol, rb.ol) ||
            !id_eq(ra.or, rb.or) || ra.deleted != rb.deleted || ra.bytes != rb.bytes ||
            memcmp(ra.text, rb.text, ra.bytes) != 0) {
            snprintf(why, cap,
                     "run #%zu differs: replay (%" PRIu32 ",%" PRIu32 ") len %" PRIu32
                     "%s, snapshot (%" PRIu32 ",%" PRIu32 ") len %" PRIu32 "%s",
                     i, ra.agent, ra.seq, ra.len, ra.deleted ? " deleted" : "", rb.agent, rb.seq,
                     rb.len, rb.deleted ? " deleted" : "");
            return WEFT_TOOLS_E_MISMATCH;
        }
    }
}

static int compare_vv(const weft_doc *a, const weft_doc *b, char *why, size_t cap)
{
    weft_vv va, vb;
    weft_vv_init(&va);
    weft_vv_init(&vb);
    int rc = weft_doc_version(a, &va) || weft_doc_version(b, &vb) ? WEFT_TOOLS_E_NOMEM : 0;
    if (!rc && (va.n != vb.n || (va.n && memcmp(va.v, vb.v, va.n * sizeof *va.v) != 0))) {
        snprintf(why, cap, "version vectors differ (%zu vs %zu agents)", va.n, vb.n);
        rc = WEFT_TOOLS_E_MISMATCH;
    }
    weft_vv_cleanup(&va);
    weft_vv_cleanup(&vb);
    return rc;
}

int tools__doc_compare(const weft_doc *a, const weft_doc *b, char *why, size_t cap)
{
    int rc = compare_text(a, b, why, cap);
    if (!rc)
        rc = compare_runs(a, b, why, cap);
    if (!rc)
        rc = compare_vv(a, b, why, cap);
    return rc;
}

typedef struct replay_ctx {
    weft_doc *doc;
    weft_proto_msg m;
    uint64_t next; /* expected LSN */
    const char *why;
    uint64_t bad;
} replay_ctx;

static int replay_cb(void *ctx, const weft_store_batch *b)
{
    replay_ctx *c = ctx;
    if (b->lsn != c->next) {
        c->why = "LSNs not dense";
        c->bad = b->lsn;
        return WEFT_TOOLS_E_CORRUPT;
    }
    c->next++;
    int rc = tools__apply_batch(c->doc, b, &c->m, &c->why);
    if (rc)
        c->bad = b->lsn;
    return rc;
}

/* Applies LSNs c->next .. last. */
static int replay_to(weft_store *st, const tools_docinfo *di, replay_ctx *c, uint64_t last,
                     FILE *log)
{
    if (last < c->next)
        return 0;
    int rc = weft_store_range(st, di->id, c->next, last, replay_cb, c);
    if (!rc && c->next != last + 1) {
        c->why = "batches missing from the log";
        c->bad = c->next;
        rc = WEFT_TOOLS_E_CORRUPT;
    }
    if (rc && log) {
        if (c->why)
            fprintf(log, "%s: LSN %" PRIu64 ": %s\n", di->name, c->bad, c->why);
        else
            fprintf(log, "%s: reading the log: %s\n", di->name,
                    rc < -200 ? weft_tools_strerror(rc) : weft_store_strerror(rc));
    }
    return rc < 0 && rc > -200 ? tools__store_err(rc) : rc;
}

/* Replaces the snapshot at lsn with the encoding of d. */
static int repair(weft_store *st, const tools_docinfo *di, const weft_doc *d, uint64_t lsn,
                  int64_t now)
{
    weft_buf b;
    weft_buf_init(&b);
    int rc = weft_proto_snapshot_encode(d, (uint32_t)lsn, &b) ? WEFT_TOOLS_E_NOMEM : 0;
    if (!rc)
        rc = tools__store_err(weft_store_snapshot_put(
            st, di->id, lsn, (weft_store_bytes){(const uint8_t *)b.p, b.n}, now));
    weft_buf_cleanup(&b);
    return rc;
}

int tools__replay(weft_store *st, const tools_docinfo *di, FILE *log, size_t *nsnap, weft_doc **out,
                  int64_t repair_ms, size_t *repaired)
{
    if (repaired)
        *repaired = 0;
    uint64_t *lsns = NULL;
    size_t n = 0, bad = 0;
    *nsnap = 0;
    if (out)
        *out = NULL;
    replay_ctx c = {.next = 1};
    weft_proto_msg_init(&c.m);
    int rc = tools__snapshot_lsns(st, di->id, di->head, &lsns, &n);
    if (!rc && !(c.doc = weft_doc_new(WEFT_NONE)))
        rc = WEFT_TOOLS_E_NOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = replay_to(st, di, &c, lsns[i], log);
        if (rc)
            break;
        weft_doc *snap = NULL;
        char why[256];
        int src = tools__snapshot_doc(st, di->id, lsns[i], &snap);
        if (src == WEFT_TOOLS_E_NOMEM) {
            rc = src;
            break;
        }
        if (src)
            snprintf(why, sizeof why, "does not load (%s)", weft_tools_strerror(src));
        else
            src = tools__doc_compare(c.doc, snap, why, sizeof why);
        weft_doc_free(snap);
        if (src == WEFT_TOOLS_E_NOMEM) {
            rc = src;
            break;
        }
        if (src) {
            if (log)
                fprintf(log, "%s: snapshot at LSN %" PRIu64 " differs from the log: %s\n", di->name,
                        lsns[i], why);
            if (repair_ms < 0 || lsns[i] > UINT32_MAX) {
                bad++;
            } else if ((rc = repair(st, di, c.doc, lsns[i], repair_ms)) == 0) {
                if (repaired)
                    ++*repaired;
                if (log)
                    fprintf(log, "%s: snapshot at LSN %" PRIu64 " replaced by the log's state\n",
                            di->name, lsns[i]);
            }
        }
        (*nsnap)++;
    }
    if (!rc)
        rc = replay_to(st, di, &c, di->head, log);
    if (!rc && weft_doc_check(c.doc) != 0) {
        if (log)
            fprintf(log, "%s: the rebuilt document fails weft_doc_check\n", di->name);
        rc = WEFT_TOOLS_E_CORRUPT;
    }
    if (!rc && weft_doc_parked(c.doc) && log)
        fprintf(log, "%s: warning: %zu ops wait for dependencies the log does not hold\n", di->name,
                weft_doc_parked(c.doc));
    if (!rc && bad)
        rc = WEFT_TOOLS_E_MISMATCH;
    free(lsns);
    weft_proto_msg_cleanup(&c.m);
    if (out && (!rc || rc == WEFT_TOOLS_E_MISMATCH))
        *out = c.doc;
    else
        weft_doc_free(c.doc);
    return rc;
}

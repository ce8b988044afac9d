/*
 * api.c — the WebAssembly export layer over the engine (weft/crdt.h).
 *
 * Compiled only for wasm32-wasi together with the engine sources; the JS
 * side is weft-engine.js. Every export is named wf_*.
 *
 * Calling convention
 *  - A document handle (wf_doc *) wraps the engine's weft_doc plus the op
 *    and patch lists of the pending transaction, so JS passes one pointer.
 *  - Integers are i32 in wasm; u32 values (agents, seqs) travel as their
 *    bit patterns and JS reads them with `>>> 0`.
 *  - Functions that return a position return it as a non-negative i32, or
 *    a negative WEFT_E_* code.
 *  - Bulk results are written to one reusable output area (wf_out_ptr /
 *    wf_out_len), valid until the next call. JS copies what it keeps.
 *
 * Flat encodings (little-endian u32 words; text is UTF-8):
 *  ops     [n, text_start, n x OP, text...]   OP = kind agent seq len
 *          ol.agent ol.seq or.agent or.seq target.agent target.seq
 *          text_off bytes  (12 words; text_off relative to text_start)
 *  patches [n, text_start, n x PATCH, text...]  PATCH = pos del ins pos16
 *          del16 ins16 text_off bytes  (8 words)
 *  runs    [n, text_start, n x RUN, text...]  RUN = agent seq len ol.agent
 *          ol.seq or.agent or.seq deleted text_off bytes  (10 words)
 *  dels    [n, n x (id.agent id.seq target.agent target.seq len)]
 *  spans   [n, n x (agent seq len)]
 *  vv      [n, n x (agent next_seq)]
 * text_start is a byte offset from the start of the encoding. The same
 * encodings are accepted as input by wf_apply_ops and wf_load_*.
 *  snapshot sections  [16 x len, the bytes]: a snapshot's 15 inflated
 *          columns then its text, back to back (wf_load_snapshot)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cols_int.h" /* server/protocol/src: the snapshot column loader */
#include "weft/crdt.h"

/* Exported to JS under its own name. The exports are the interface, so
 * they have no prototypes in a header. */
#define WF_API(name) __attribute__((export_name(#name)))
#pragma clang diagnostic ignored "-Wmissing-prototypes"

enum { OP_WORDS = 12, PATCH_WORDS = 8, RUN_WORDS = 10, DEL_WORDS = 5, SPAN_WORDS = 3 };

typedef struct wf_doc {
    weft_doc *doc;
    weft_oplist ops;        /* local ops of the pending transaction */
    weft_patchlist patches; /* patches of the last wf_apply* call */
} wf_doc;

/* The output area: grown, never shrunk. */
static weft_buf out;

/* ---- output helpers --------------------------------------------------------- */

static int out_reserve(size_t bytes)
{
    if (bytes <= out.cap)
        return 0;
    size_t cap = out.cap ? out.cap : 256;
    while (cap < bytes)
        cap *= 2;
    char *p = realloc(out.p, cap);
    if (!p)
        return WEFT_E_NOMEM;
    out.p = p;
    out.cap = cap;
    return 0;
}

static uint32_t *out_words(void)
{
    return (uint32_t *)(void *)out.p;
}

/* Reserves a header + n records of `words` words + `text` bytes. */
static int out_begin(size_t n, size_t words, size_t text)
{
    size_t head = 4 * (2 + n * words);
    int rc = out_reserve(head + text);
    if (rc < 0)
        return rc;
    out_words()[0] = (uint32_t)n;
    out_words()[1] = (uint32_t)head;
    out.n = head;
    return 0;
}

/* Appends text bytes after the header, returns its offset from text_start. */
static uint32_t out_text(const char *s, uint32_t bytes)
{
    uint32_t off = (uint32_t)(out.n - out_words()[1]);
    if (bytes)
        memcpy(out.p + out.n, s, bytes);
    out.n += bytes;
    return off;
}

static int out_bytes(const char *s, size_t n)
{
    int rc = out_reserve(n ? n : 1);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(out.p, s, n);
    out.n = n;
    return 0;
}

static int out_plain(const uint32_t *w, size_t n)
{
    return out_bytes((const char *)w, 4 * n);
}

static int encode_ops(const weft_oplist *l)
{
    size_t text = 0;
    for (size_t i = 0; i < l->n; i++)
        text += l->ops[i].kind == WEFT_OP_INS ? l->ops[i].bytes : 0;
    int rc = out_begin(l->n, OP_WORDS, text);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < l->n; i++) {
        const weft_op *op = &l->ops[i];
        bool ins = op->kind == WEFT_OP_INS;
        uint32_t *w = out_words() + 2 + i * OP_WORDS;
        w[0] = op->kind;
        w[1] = op->id.agent;
        w[2] = op->id.seq;
        w[3] = op->len;
        w[4] = ins ? op->ol.agent : WEFT_NONE;
        w[5] = ins ? op->ol.seq : 0;
        w[6] = ins ? op->or.agent : WEFT_NONE;
        w[7] = ins ? op->or.seq : 0;
        w[8] = ins ? WEFT_NONE : op->target.agent;
        w[9] = ins ? 0 : op->target.seq;
        w[11] = ins ? op->bytes : 0;
        w[10] = out_text(op->text, w[11]);
    }
    return 0;
}

static int encode_patches(const weft_patchlist *l)
{
    size_t text = 0;
    for (size_t i = 0; i < l->n; i++)
        text += l->p[i].bytes;
    int rc = out_begin(l->n, PATCH_WORDS, text);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < l->n; i++) {
        const weft_patch *p = &l->p[i];
        uint32_t *w = out_words() + 2 + i * PATCH_WORDS;
        w[0] = p->pos;
        w[1] = p->del;
        w[2] = p->ins;
        w[3] = p->pos16;
        w[4] = p->del16;
        w[5] = p->ins16;
        w[7] = p->bytes;
        w[6] = out_text(p->text, p->bytes);
    }
    return 0;
}

/* ---- input helpers ------------------------------------------------------------ */

static weft_id id_of(uint32_t agent, uint32_t seq)
{
    return agent == WEFT_NONE ? WEFT_ID_NONE : (weft_id){agent, seq};
}

/* Decodes record i of an ops encoding at `enc`. */
static weft_op decode_op(const uint8_t *enc, uint32_t i)
{
    const uint32_t *w = (const uint32_t *)(const void *)enc + 2 + (size_t)i * OP_WORDS;
    const uint32_t text_start = ((const uint32_t *)(const void *)enc)[1];
    weft_op op = {0};
    op.kind = w[0];
    op.id = (weft_id){w[1], w[2]};
    op.len = w[3];
    op.ol = id_of(w[4], w[5]);
    op.or = id_of(w[6], w[7]);
    op.target = (weft_id){w[8], w[9]};
    op.text = (const char *)enc + text_start + w[10];
    op.bytes = w[11];
    return op;
}

static int vv_from(weft_vv *vv, const uint32_t *w)
{
    for (uint32_t i = 0; i < w[0]; i++) {
        int rc = weft_vv_set(vv, w[1 + 2 * i], w[2 + 2 * i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- memory, errors, output area ------------------------------------------------ */

WF_API(wf_malloc) void *wf_malloc(size_t n)
{
    return malloc(n ? n : 1);
}
WF_API(wf_free) void wf_free(void *p)
{
    free(p);
}
WF_API(wf_out_ptr) char *wf_out_ptr(void)
{
    return out.p;
}
WF_API(wf_out_len) size_t wf_out_len(void)
{
    return out.n;
}

/* Writes weft_strerror(err) to the output area. */
WF_API(wf_strerror) int wf_strerror(int err)
{
    const char *s = weft_proto_strerror(err); /* the engine's codes too */
    return out_bytes(s, strlen(s));
}

/* The WEFT_PROTO_E_* name of err ("VALUE", ...), or "" for another code. */
WF_API(wf_proto_errname) int wf_proto_errname(int err)
{
    const char *s = weft_proto_errname(err);
    return out_bytes(s ? s : "", s ? strlen(s) : 0);
}

/* ---- documents -------------------------------------------------------------------- */

WF_API(wf_doc_new) wf_doc *wf_doc_new(uint32_t agent)
{
    wf_doc *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->doc = weft_doc_new(agent);
    if (!d->doc) {
        free(d);
        return NULL;
    }
    weft_oplist_init(&d->ops);
    weft_patchlist_init(&d->patches);
    return d;
}

WF_API(wf_doc_free) void wf_doc_free(wf_doc *d)
{
    if (!d)
        return;
    weft_oplist_cleanup(&d->ops);
    weft_patchlist_cleanup(&d->patches);
    weft_doc_free(d->doc);
    free(d);
}

WF_API(wf_set_agent) int wf_set_agent(wf_doc *d, uint32_t agent)
{
    return weft_doc_set_agent(d->doc, agent);
}
WF_API(wf_agent) uint32_t wf_agent(wf_doc *d)
{
    return weft_doc_agent(d->doc);
}
WF_API(wf_len) uint32_t wf_len(wf_doc *d)
{
    return weft_doc_len(d->doc);
}
WF_API(wf_len16) uint32_t wf_len16(wf_doc *d)
{
    return weft_doc_len16(d->doc);
}
WF_API(wf_bytes) size_t wf_bytes(wf_doc *d)
{
    return weft_doc_bytes(d->doc);
}
WF_API(wf_next_seq) uint32_t wf_next_seq(wf_doc *d, uint32_t agent)
{
    return weft_doc_next_seq(d->doc, agent);
}
WF_API(wf_parked) size_t wf_parked(wf_doc *d)
{
    return weft_doc_parked(d->doc);
}
WF_API(wf_check) int wf_check(wf_doc *d)
{
    return weft_doc_check(d->doc);
}
WF_API(wf_mem) size_t wf_mem(wf_doc *d)
{
    return weft_doc_mem(d->doc);
}
WF_API(wf_run_count) size_t wf_run_count(wf_doc *d)
{
    return weft_doc_run_count(d->doc);
}

WF_API(wf_pos16) int wf_pos16(wf_doc *d, uint32_t pos)
{
    uint32_t p16;
    int rc = weft_doc_pos16(d->doc, pos, &p16);
    return rc < 0 ? rc : (int)p16;
}

WF_API(wf_pos_from16) int wf_pos_from16(wf_doc *d, uint32_t pos16)
{
    uint32_t p;
    int rc = weft_doc_pos_from16(d->doc, pos16, &p);
    return rc < 0 ? rc : (int)p;
}

/* ---- local edits: appended to the pending transaction ------------------------------ */

WF_API(wf_insert) int wf_insert(wf_doc *d, uint32_t pos, const char *utf8, size_t bytes)
{
    return weft_doc_insert(d->doc, pos, utf8, bytes, &d->ops);
}

WF_API(wf_delete) int wf_delete(wf_doc *d, uint32_t pos, uint32_t len)
{
    return weft_doc_delete(d->doc, pos, len, &d->ops);
}

WF_API(wf_insert16) int wf_insert16(wf_doc *d, uint32_t pos16, const char *utf8, size_t bytes)
{
    uint32_t pos;
    int rc = weft_doc_pos_from16(d->doc, pos16, &pos);
    return rc < 0 ? rc : weft_doc_insert(d->doc, pos, utf8, bytes, &d->ops);
}

WF_API(wf_delete16) int wf_delete16(wf_doc *d, uint32_t pos16, uint32_t len16)
{
    uint32_t a, b;
    int rc = weft_doc_pos_from16(d->doc, pos16, &a);
    if (rc == 0)
        rc = weft_doc_pos_from16(d->doc, pos16 + len16, &b);
    return rc < 0 ? rc : weft_doc_delete(d->doc, a, b - a, &d->ops);
}

/* Number of ops in the pending transaction. */
WF_API(wf_pending) size_t wf_pending(wf_doc *d)
{
    return d->ops.n;
}

/* Encodes the pending transaction's ops to the output area and clears it. */
WF_API(wf_take_ops) int wf_take_ops(wf_doc *d)
{
    int rc = encode_ops(&d->ops);
    weft_oplist_clear(&d->ops);
    return rc;
}

/* Clears the pending transaction without encoding it (benchmarks). */
WF_API(wf_drop_ops) void wf_drop_ops(wf_doc *d)
{
    weft_oplist_clear(&d->ops);
}

/* ---- remote ops --------------------------------------------------------------------- */

/* Applies one op given field by field. want_patches: encode the patches. */
WF_API(wf_apply)
int wf_apply(wf_doc *d, uint32_t kind, uint32_t agent, uint32_t seq, uint32_t len, uint32_t ola,
             uint32_t ols, uint32_t ora, uint32_t ors, uint32_t ta, uint32_t ts, const char *text,
             uint32_t bytes, int want_patches)
{
    weft_op op = {.kind = kind,
                  .id = {agent, seq},
                  .len = len,
                  .ol = id_of(ola, ols),
                  .or = id_of(ora, ors),
                  .target = {ta, ts},
                  .text = text,
                  .bytes = bytes};
    weft_patchlist_clear(&d->patches);
    int rc = weft_doc_apply(d->doc, &op, want_patches ? &d->patches : NULL);
    if (rc >= 0 && want_patches) {
        int erc = encode_patches(&d->patches);
        if (erc < 0)
            return erc;
    }
    return rc;
}

/*
 * Applies every op of an ops encoding in order (parking what is not ready).
 * Returns the number of ops, or the first negative error (ops before it
 * stay applied). want_patches: the patches of the whole batch are encoded
 * to the output area.
 */
WF_API(wf_apply_ops) int wf_apply_ops(wf_doc *d, const uint8_t *enc, int want_patches)
{
    uint32_t n = ((const uint32_t *)(const void *)enc)[0];
    weft_patchlist_clear(&d->patches);
    for (uint32_t i = 0; i < n; i++) {
        weft_op op = decode_op(enc, i);
        int rc = weft_doc_apply(d->doc, &op, want_patches ? &d->patches : NULL);
        if (rc < 0)
            return rc;
    }
    if (want_patches) {
        int rc = encode_patches(&d->patches);
        if (rc < 0)
            return rc;
    }
    return (int)n;
}

/* ---- reading -------------------------------------------------------------------------- */

WF_API(wf_text) int wf_text(wf_doc *d)
{
    out.n = 0;
    return weft_doc_text(d->doc, &out);
}

/* Text at version `vv` (a vv encoding). */
WF_API(wf_text_at) int wf_text_at(wf_doc *d, const uint32_t *vvw)
{
    weft_vv vv;
    weft_vv_init(&vv);
    int rc = vv_from(&vv, vvw);
    if (rc == 0) {
        out.n = 0;
        rc = weft_doc_text_at(d->doc, &vv, &out);
    }
    weft_vv_cleanup(&vv);
    return rc;
}

WF_API(wf_version) int wf_version(wf_doc *d)
{
    weft_vv vv;
    weft_vv_init(&vv);
    int rc = weft_doc_version(d->doc, &vv);
    if (rc == 0)
        rc = out_reserve(4 * (1 + 2 * vv.n));
    if (rc == 0) {
        uint32_t *w = out_words();
        w[0] = (uint32_t)vv.n;
        for (size_t i = 0; i < vv.n; i++) {
            w[1 + 2 * i] = vv.v[i].agent;
            w[2 + 2 * i] = vv.v[i].next_seq;
        }
        out.n = 4 * (1 + 2 * vv.n);
    }
    weft_vv_cleanup(&vv);
    return rc;
}

/* Ops not covered by `vvw` (a vv encoding; NULL: everything). */
WF_API(wf_ops_since) int wf_ops_since(wf_doc *d, const uint32_t *vvw)
{
    weft_vv vv;
    weft_oplist l;
    weft_vv_init(&vv);
    weft_oplist_init(&l);
    int rc = vvw ? vv_from(&vv, vvw) : 0;
    if (rc == 0)
        rc = weft_doc_ops_since(d->doc, vvw ? &vv : NULL, &l);
    if (rc == 0)
        rc = encode_ops(&l);
    weft_oplist_cleanup(&l);
    weft_vv_cleanup(&vv);
    return rc;
}

/* [agent, seq] of the visible char at pos. */
WF_API(wf_id_at) int wf_id_at(wf_doc *d, uint32_t pos)
{
    weft_id id;
    int rc = weft_doc_id_at(d->doc, pos, &id);
    return rc < 0 ? rc : out_plain((uint32_t[]){id.agent, id.seq}, 2);
}

/* [agent, seq] of the delete that first removed (ta, ts). */
WF_API(wf_deleter) int wf_deleter(wf_doc *d, uint32_t ta, uint32_t ts)
{
    weft_id id;
    int rc = weft_doc_deleter(d->doc, (weft_id){ta, ts}, &id);
    return rc < 0 ? rc : out_plain((uint32_t[]){id.agent, id.seq}, 2);
}

/* [agent, seq, assoc] of the anchor for gap pos. */
WF_API(wf_anchor) int wf_anchor(wf_doc *d, uint32_t pos, int32_t assoc)
{
    weft_anchor a;
    int rc = weft_doc_anchor(d->doc, pos, assoc, &a);
    return rc < 0 ? rc : out_plain((uint32_t[]){a.id.agent, a.id.seq, (uint32_t)a.assoc}, 3);
}

WF_API(wf_anchor_pos) int wf_anchor_pos(wf_doc *d, uint32_t agent, uint32_t seq, int32_t assoc)
{
    weft_anchor a = {{agent, seq}, assoc};
    uint32_t pos;
    int rc = weft_doc_anchor_pos(d->doc, a, &pos);
    return rc < 0 ? rc : (int)pos;
}

/* ---- snapshots ------------------------------------------------------------------------- */

WF_API(wf_runs) int wf_runs(wf_doc *d)
{
    weft_run_iter it;
    weft_run r;
    size_t n = 0, text = 0;
    weft_run_iter_init(&it, d->doc);
    while (weft_run_iter_next(&it, &r)) {
        n++;
        text += r.bytes;
    }
    int rc = out_begin(n, RUN_WORDS, text);
    if (rc < 0)
        return rc;
    weft_run_iter_init(&it, d->doc);
    for (size_t i = 0; i < n && weft_run_iter_next(&it, &r); i++) {
        uint32_t *w = out_words() + 2 + i * RUN_WORDS;
        w[0] = r.agent;
        w[1] = r.seq;
        w[2] = r.len;
        w[3] = r.ol.agent;
        w[4] = weft_id_is_none(r.ol) ? 0 : r.ol.seq;
        w[5] = r.or.agent;
        w[6] = weft_id_is_none(r.or) ? 0 : r.or.seq;
        w[7] = r.deleted;
        w[9] = r.bytes;
        w[8] = out_text(r.text, r.bytes);
    }
    return 0;
}

WF_API(wf_dels) int wf_dels(wf_doc *d)
{
    size_t n = weft_doc_del_count(d->doc);
    int rc = out_reserve(4 * (1 + n * DEL_WORDS));
    if (rc < 0)
        return rc;
    out_words()[0] = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        weft_del x = weft_doc_del_get(d->doc, i);
        uint32_t *w = out_words() + 1 + i * DEL_WORDS;
        w[0] = x.id.agent;
        w[1] = x.id.seq;
        w[2] = x.target.agent;
        w[3] = x.target.seq;
        w[4] = x.len;
    }
    out.n = 4 * (1 + n * DEL_WORDS);
    return 0;
}

WF_API(wf_spans) int wf_spans(wf_doc *d)
{
    size_t n = weft_doc_span_count(d->doc);
    int rc = out_reserve(4 * (1 + n * SPAN_WORDS));
    if (rc < 0)
        return rc;
    out_words()[0] = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        weft_span s = weft_doc_span_get(d->doc, i);
        uint32_t *w = out_words() + 1 + i * SPAN_WORDS;
        w[0] = s.agent;
        w[1] = s.seq;
        w[2] = s.len;
    }
    out.n = 4 * (1 + n * SPAN_WORDS);
    return 0;
}

WF_API(wf_load_runs) int wf_load_runs(wf_doc *d, const uint8_t *enc)
{
    const uint32_t *h = (const uint32_t *)(const void *)enc;
    for (uint32_t i = 0; i < h[0]; i++) {
        const uint32_t *w = h + 2 + (size_t)i * RUN_WORDS;
        weft_run r = {.agent = w[0],
                      .seq = w[1],
                      .len = w[2],
                      .ol = id_of(w[3], w[4]),
                      .or = id_of(w[5], w[6]),
                      .deleted = w[7] != 0,
                      .text = (const char *)enc + h[1] + w[8],
                      .bytes = w[9]};
        int rc = weft_doc_load_run(d->doc, &r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

WF_API(wf_load_dels) int wf_load_dels(wf_doc *d, const uint32_t *h)
{
    for (uint32_t i = 0; i < h[0]; i++) {
        const uint32_t *w = h + 1 + (size_t)i * DEL_WORDS;
        weft_del x = {.id = {w[0], w[1]}, .target = {w[2], w[3]}, .len = w[4], .rev = false};
        int rc = weft_doc_load_del(d->doc, &x);
        if (rc < 0)
            return rc;
    }
    return 0;
}

WF_API(wf_load_spans) int wf_load_spans(wf_doc *d, const uint32_t *h)
{
    for (uint32_t i = 0; i < h[0]; i++) {
        const uint32_t *w = h + 1 + (size_t)i * SPAN_WORDS;
        weft_span s = {w[0], w[1], w[2]};
        int rc = weft_doc_load_span(d->doc, &s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

WF_API(wf_load_finish) int wf_load_finish(wf_doc *d)
{
    return weft_doc_load_finish(d->doc);
}

/* A snapshot into this new, empty document, by the server's own decoder
 * (server/protocol/src/snapcols.c): JS inflates the sections and checks
 * the frame (format, shape, the bomb limit); `enc` holds the 15 columns and
 * the text, inflated ("snapshot sections" above), `vvw` the snapshot's
 * version [n, n x (agent next_seq)]. Finishes the load. Returns 0 or a
 * negative WEFT_PROTO_E_* / WEFT_E_* code; after a failure free the doc. */
WF_API(wf_load_snapshot) int wf_load_snapshot(wf_doc *d, const uint8_t *enc, const uint32_t *vvw)
{
    const uint32_t *len = (const uint32_t *)(const void *)enc;
    const uint8_t *p = enc + 4 * (C_COUNT + 1);
    proto__cols c;
    for (int i = 0; i < C_COUNT; i++) {
        c.col[i] = p;
        c.len[i] = len[i];
        p += len[i];
    }
    c.text = (const char *)p;
    c.text_n = len[C_COUNT];
    weft_vv vv;
    weft_vv_init(&vv);
    /* as given (weft_vv_set would sort it), then the wire's rules */
    int rc = proto__grow((void **)&vv.v, &vv.cap, vvw[0], sizeof *vv.v);
    for (uint32_t i = 0; !rc && i < vvw[0]; i++)
        vv.v[vv.n++] = (weft_vv_entry){vvw[1 + 2 * i], vvw[2 + 2 * i]};
    if (!rc)
        rc = proto__vv_check(&vv);
    if (!rc)
        rc = proto__cols_load(&c, d->doc);
    if (!rc)
        rc = proto__cols_finish(d->doc, &vv);
    weft_vv_cleanup(&vv);
    return rc;
}

/*
 * diff_driver.c — a deterministic exerciser of the engine, built natively and
 * as a wasm32-wasi command; test/diff.test.mjs requires both builds to print
 * the same bytes.
 *
 *   weft-diff-driver random SEED [STEPS]   seeded 3-replica history
 *   weft-diff-driver scenarios             crdt-brief §10 scenarios 1-13
 *
 * Everything the engine returns is printed in a fixed text format: every op
 * generated, every apply status and patch, every intermediate text, version
 * vectors, anchors, canonical runs, delete records and spans. Engine errors
 * are printed, never fatal, so a divergence shows up as a diff rather than a
 * crash. Lines containing "FAIL" are self-checks that went wrong (patches
 * not reproducing the text, replicas not converging, a scenario giving the
 * wrong text): the test reports them separately.
 *
 * Randomness is splitmix64 seeded from the command line: no rand(), no
 * clock, nothing that differs between the two builds. Nothing printed may
 * depend on pointer size (weft_doc_mem, in-memory run counts).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/crdt.h"

/* ---- deterministic randomness (splitmix64) ------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for n > 0. */
static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(rng_next() % n);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- printing -------------------------------------------------------------- */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* A quoted string: printable ASCII as is, everything else as \xHH. */
static void out_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('"');
}

static void out_id(weft_id id)
{
    if (weft_id_is_none(id))
        out("-");
    else
        out("%" PRIu32 ":%" PRIu32, id.agent, id.seq);
}

static void out_rc(int rc)
{
    if (rc < 0)
        out(" rc=%d(%s)", rc, weft_strerror(rc));
    else
        out(" rc=%d", rc);
}

static void out_op(const char *tag, const weft_op *op)
{
    out("%s ", tag);
    if (op->kind == WEFT_OP_INS) {
        out("I %" PRIu32 ":%" PRIu32 " len=%" PRIu32 " ol=", op->id.agent, op->id.seq, op->len);
        out_id(op->ol);
        out(" or=");
        out_id(op->or);
        out(" ");
        out_str(op->text, op->bytes);
    } else {
        out("D %" PRIu32 ":%" PRIu32 " len=%" PRIu32 " t=", op->id.agent, op->id.seq, op->len);
        out_id(op->target);
    }
    out("\n");
}

static void out_vv(const char *tag, const weft_doc *doc)
{
    weft_vv vv;
    weft_vv_init(&vv);
    int rc = weft_doc_version(doc, &vv);
    out("%s vv", tag);
    for (size_t i = 0; i < vv.n; i++)
        out(" %" PRIu32 "=%" PRIu32, vv.v[i].agent, vv.v[i].next_seq);
    if (rc)
        out_rc(rc);
    out("\n");
    weft_vv_cleanup(&vv);
}

/* The visible text, appended to `into` (cleared first). */
static int doc_text(const weft_doc *doc, weft_buf *into)
{
    into->n = 0;
    return weft_doc_text(doc, into);
}

static void out_text(const char *tag, const weft_doc *doc)
{
    weft_buf b;
    weft_buf_init(&b);
    int rc = doc_text(doc, &b);
    out("%s text len=%" PRIu32 " len16=%" PRIu32 " bytes=%zu check=%d ", tag, weft_doc_len(doc),
        weft_doc_len16(doc), weft_doc_bytes(doc), weft_doc_check(doc));
    out_str(b.p, b.n);
    if (rc)
        out_rc(rc);
    out(" parked=%zu\n", weft_doc_parked(doc));
    weft_buf_cleanup(&b);
}

static void out_runs(const char *tag, const weft_doc *doc)
{
    weft_run_iter it;
    weft_run r;
    size_t n = 0;
    weft_run_iter_init(&it, doc);
    while (weft_run_iter_next(&it, &r)) {
        out("%s run %" PRIu32 ":%" PRIu32 " len=%" PRIu32 " ol=", tag, r.agent, r.seq, r.len);
        out_id(r.ol);
        out(" or=");
        out_id(r.or);
        out(" %s ", r.deleted ? "del" : "vis");
        out_str(r.text, r.bytes);
        out("\n");
        n++;
    }
    out("%s runs=%zu\n", tag, n);
    for (size_t i = 0; i < weft_doc_del_count(doc); i++) {
        weft_del d = weft_doc_del_get(doc, i);
        out("%s del ", tag);
        out_id(d.id);
        out(" t=");
        out_id(d.target);
        out(" len=%" PRIu32 "\n", d.len);
    }
    for (size_t i = 0; i < weft_doc_span_count(doc); i++) {
        weft_span s = weft_doc_span_get(doc, i);
        out("%s span %" PRIu32 ":%" PRIu32 " len=%" PRIu32 "\n", tag, s.agent, s.seq, s.len);
    }
}

/* ---- canonical state comparison ------------------------------------------------ */

static bool runs_equal(const weft_doc *a, const weft_doc *b)
{
    weft_run_iter ia, ib;
    weft_run ra, rb;
    weft_run_iter_init(&ia, a);
    weft_run_iter_init(&ib, b);
    for (;;) {
        bool ha = weft_run_iter_next(&ia, &ra), hb = weft_run_iter_next(&ib, &rb);
        if (ha != hb)
            return false;
        if (!ha)
            return true;
        if (ra.agent != rb.agent || ra.seq != rb.seq || ra.len != rb.len ||
            !weft_id_eq(ra.ol, rb.ol) || !weft_id_eq(ra.or, rb.or) || ra.deleted != rb.deleted ||
            ra.bytes != rb.bytes || (ra.bytes && memcmp(ra.text, rb.text, ra.bytes) != 0))
            return false;
    }
}

static bool text_equal(const weft_doc *a, const weft_doc *b)
{
    weft_buf x, y;
    weft_buf_init(&x);
    weft_buf_init(&y);
    bool eq = doc_text(a, &x) == 0 && doc_text(b, &y) == 0 && x.n == y.n &&
              (x.n == 0 || memcmp(x.p, y.p, x.n) == 0);
    weft_buf_cleanup(&x);
    weft_buf_cleanup(&y);
    return eq;
}

/* ---- UTF-8 helpers ---------------------------------------------------------------- */

/* Byte offset of code point `cp` in s[0..n) (n if past the end). */
static size_t utf8_offset(const char *s, size_t n, uint32_t cp)
{
    size_t i = 0;
    while (i < n && cp > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        cp--;
    }
    return i;
}

/* ---- replicas and the shadow text patches must reproduce -------------------------- */

typedef struct replica {
    weft_doc *doc;
    char name[8];
    weft_buf shadow; /* text rebuilt from local edits and apply patches */
    weft_oplist ops;
    weft_patchlist patches;
} replica;

static void replica_init(replica *r, uint32_t agent, const char *name)
{
    r->doc = weft_doc_new(agent);
    if (!r->doc) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    weft_buf_init(&r->shadow);
    weft_oplist_init(&r->ops);
    weft_patchlist_init(&r->patches);
}

static void replica_cleanup(replica *r)
{
    weft_doc_free(r->doc);
    weft_buf_cleanup(&r->shadow);
    weft_oplist_cleanup(&r->ops);
    weft_patchlist_cleanup(&r->patches);
}

/* Splices the shadow: at code point pos delete del, insert text. */
static void shadow_splice(replica *r, uint32_t pos, uint32_t del, const char *text, size_t bytes)
{
    weft_buf *s = &r->shadow;
    const char *old = s->p ? s->p : "";
    size_t a = utf8_offset(old, s->n, pos);
    size_t b = a + utf8_offset(old + a, s->n - a, del);
    size_t n = s->n - (b - a) + bytes;
    char *p = xmalloc(n);
    if (a)
        memcpy(p, s->p, a);
    if (bytes)
        memcpy(p + a, text, bytes);
    if (s->n > b)
        memcpy(p + a + bytes, s->p + b, s->n - b);
    free(s->p);
    s->p = p;
    s->n = s->cap = n;
}

/* Prints whether the shadow still equals the document's text. */
static void shadow_verify(replica *r)
{
    weft_buf t;
    weft_buf_init(&t);
    doc_text(r->doc, &t);
    if (t.n != r->shadow.n || (t.n && memcmp(t.p, r->shadow.p, t.n) != 0)) {
        out("%s shadow FAIL ", r->name);
        out_str(r->shadow.p, r->shadow.n);
        out("\n");
        /* Resynchronise so one failure is reported once. */
        weft_buf_cleanup(&r->shadow);
        r->shadow = t;
        return;
    }
    weft_buf_cleanup(&t);
}

static void print_new_ops(replica *r)
{
    for (size_t i = 0; i < r->ops.n; i++)
        out_op(r->name, &r->ops.ops[i]);
    weft_oplist_clear(&r->ops);
}

static int local_insert(replica *r, uint32_t pos, const char *s)
{
    size_t bytes = strlen(s);
    int rc = weft_doc_insert(r->doc, pos, s, bytes, &r->ops);
    out("%s ins @%" PRIu32 " ", r->name, pos);
    out_str(s, bytes);
    out_rc(rc);
    out("\n");
    if (rc == 0)
        shadow_splice(r, pos, 0, s, bytes);
    print_new_ops(r);
    return rc;
}

static int local_delete(replica *r, uint32_t pos, uint32_t len)
{
    int rc = weft_doc_delete(r->doc, pos, len, &r->ops);
    out("%s del @%" PRIu32 " len=%" PRIu32, r->name, pos, len);
    out_rc(rc);
    out("\n");
    if (rc == 0)
        shadow_splice(r, pos, len, "", 0);
    print_new_ops(r);
    return rc;
}

/* Applies one op to r, printing the status and patches. */
static int remote_apply(replica *r, const weft_op *op)
{
    weft_patchlist_clear(&r->patches);
    int rc = weft_doc_apply(r->doc, op, &r->patches);
    out_op(r->name, op);
    out("%s apply", r->name);
    out_rc(rc);
    out("\n");
    for (size_t i = 0; i < r->patches.n; i++) {
        const weft_patch *p = &r->patches.p[i];
        out("%s patch pos=%" PRIu32 " del=%" PRIu32 " ins=%" PRIu32 " pos16=%" PRIu32
            " del16=%" PRIu32 " ins16=%" PRIu32 " ",
            r->name, p->pos, p->del, p->ins, p->pos16, p->del16, p->ins16);
        out_str(p->text, p->bytes);
        out("\n");
        shadow_splice(r, p->pos, p->del, p->text, p->bytes);
    }
    return rc;
}

/* Splits op at k (0 < k < len) into a (first k) and b (the rest). */
static void op_split(const weft_op *op, uint32_t k, weft_op *a, weft_op *b)
{
    *a = *b = *op;
    a->len = k;
    b->len = op->len - k;
    b->id.seq = op->id.seq + k;
    if (op->kind == WEFT_OP_INS) {
        size_t off = utf8_offset(op->text, op->bytes, k);
        a->bytes = (uint32_t)off;
        b->text = op->text + off;
        b->bytes = op->bytes - (uint32_t)off;
        b->ol = (weft_id){op->id.agent, op->id.seq + k - 1};
    } else {
        b->target.seq = op->target.seq + k;
    }
}

static void shuffle_ops(weft_op *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below((uint32_t)i);
        weft_op t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

enum sync_mode { SYNC_ORDERED, SYNC_SHUFFLED, SYNC_SPLIT, SYNC_TWICE, SYNC_MODES };
static const char *const sync_names[] = {"ordered", "shuffled", "split", "twice"};

/* Gives dst the ops of src it lacks (SYNC_TWICE: all of src's ops, twice). */
static void sync_from(replica *dst, const replica *src, enum sync_mode mode)
{
    weft_vv vv;
    weft_oplist l;
    weft_vv_init(&vv);
    weft_oplist_init(&l);
    int rc = weft_doc_version(dst->doc, &vv);
    if (rc == 0)
        rc = weft_doc_ops_since(src->doc, mode == SYNC_TWICE ? NULL : &vv, &l);
    out("sync %s<-%s %s ops=%zu", dst->name, src->name, sync_names[mode], l.n);
    out_rc(rc);
    out("\n");
    size_t n = l.n;
    weft_op *v = xmalloc(sizeof *v * (2 * n + 1));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const weft_op *op = &l.ops[i];
        if (mode == SYNC_SPLIT && op->len > 1) {
            op_split(op, 1 + rng_below(op->len - 1), &v[m], &v[m + 1]);
            m += 2;
        } else {
            v[m++] = *op;
        }
    }
    if (mode == SYNC_SHUFFLED || mode == SYNC_SPLIT)
        shuffle_ops(v, m);
    for (int round = 0; round < (mode == SYNC_TWICE ? 2 : 1); round++)
        for (size_t i = 0; i < m; i++)
            remote_apply(dst, &v[i]);
    /* Split or shuffled pieces may leave ops parked; the in-order pass
     * completes them (duplicates of known ops are fine). */
    if (mode == SYNC_SHUFFLED || mode == SYNC_SPLIT)
        for (size_t i = 0; i < n; i++)
            remote_apply(dst, &l.ops[i]);
    free(v);
    shadow_verify(dst);
    out_text(dst->name, dst->doc);
    weft_oplist_cleanup(&l);
    weft_vv_cleanup(&vv);
}

/* ---- random history ------------------------------------------------------------------ */

static const char *const alphabet[] = {
    "a",
    "b",
    "c",
    "d",
    "e",
    " ",
    "\n",
    "x",
    "y",
    "z", /* ASCII */
    "\xc3\xa9",
    "\xc3\x9f",
    "\xd0\x96", /* é ß Ж */
    "\xe2\x82\xac",
    "\xe4\xb8\xad",
    "\xe2\x86\x91", /* € 中 ↑ */
    "\xf0\x9f\x98\x80",
    "\xf0\x9f\x8e\x89",
    "\xf0\x9d\x84\x9e", /* 😀 🎉 𝄞 */
};
#define ALPHABET_N (sizeof alphabet / sizeof alphabet[0])

/* A random string of 1..max code points (at most 4 bytes each). */
static void random_text(char *buf, uint32_t max)
{
    uint32_t n = 1 + rng_below(max);
    buf[0] = 0;
    for (uint32_t i = 0; i < n; i++)
        strcat(buf, alphabet[rng_below(ALPHABET_N)]);
}

typedef struct saved_anchor {
    int replica;
    weft_anchor a;
} saved_anchor;

typedef struct saved_version {
    weft_vv vv;
    weft_buf text;
} saved_version;

static void step_insert(replica *r)
{
    char text[4 * 8 + 1];
    uint32_t len = weft_doc_len(r->doc);
    uint32_t pos = rng_below(len + 1);
    uint32_t style = rng_below(10);
    random_text(text, 8);
    if (style < 6) {
        local_insert(r, pos, text);
    } else {
        /* Typing one code point at a time: forwards (style 6-7) or backwards. */
        size_t i = 0, bytes = strlen(text);
        while (i < bytes) {
            size_t j = i + 1;
            while (j < bytes && ((unsigned char)text[j] & 0xc0) == 0x80)
                j++;
            char one[5] = {0};
            memcpy(one, text + i, j - i);
            if (local_insert(r, pos, one) == 0 && style < 8)
                pos++;
            i = j;
        }
    }
}

/* An insert at a UTF-16 offset, as an editor would give it. */
static void step_insert16(replica *r)
{
    char text[4 * 4 + 1];
    uint32_t len16 = weft_doc_len16(r->doc), pos16 = rng_below(len16 + 1), pos = 0, back = 0;
    int rc = weft_doc_pos_from16(r->doc, pos16, &pos);
    out("%s from16 %" PRIu32, r->name, pos16);
    out_rc(rc);
    if (rc == WEFT_E_RANGE && pos16 > 0)
        rc = weft_doc_pos_from16(r->doc, pos16 - 1, &pos); /* inside a pair: step back */
    int rc2 = weft_doc_pos16(r->doc, pos, &back);
    out(" -> %" PRIu32 " -> %" PRIu32, pos, back);
    out_rc(rc2);
    out("\n");
    if (rc < 0)
        return;
    random_text(text, 4);
    local_insert(r, pos, text);
}

static void step_delete(replica *r)
{
    uint32_t len = weft_doc_len(r->doc);
    if (len == 0) {
        out("%s del skipped (empty)\n", r->name);
        return;
    }
    uint32_t pos = rng_below(len);
    uint32_t max = len - pos < 6 ? len - pos : 6;
    local_delete(r, pos, 1 + rng_below(max));
}

static void step_anchor(replica *reps, saved_anchor *anchors, size_t *n_anchors, int ri)
{
    replica *r = &reps[ri];
    uint32_t pos = rng_below(weft_doc_len(r->doc) + 1);
    int32_t assoc = rng_below(2) ? 1 : -1;
    weft_anchor a = {WEFT_ID_NONE, 0};
    int rc = weft_doc_anchor(r->doc, pos, assoc, &a);
    out("%s anchor @%" PRIu32 " assoc=%" PRId32 " -> ", r->name, pos, assoc);
    out_id(a.id);
    out("/%" PRIu32, a.id.seq);
    out_rc(rc);
    out("\n");
    if (rc == 0) {
        anchors[*n_anchors % 8] = (saved_anchor){ri, a};
        (*n_anchors)++;
    }
    size_t live = *n_anchors < 8 ? *n_anchors : 8;
    for (size_t i = 0; i < live; i++) {
        uint32_t p = 0;
        const saved_anchor *s = &anchors[i];
        int prc = weft_doc_anchor_pos(reps[s->replica].doc, s->a, &p);
        out("  anchor%zu on %s -> %" PRIu32, i, reps[s->replica].name, prc == 0 ? p : 0);
        out_rc(prc);
        out("\n");
    }
}

static void check_history(const replica *r, saved_version *versions, size_t n)
{
    weft_buf t;
    weft_buf_init(&t);
    for (size_t i = 0; i < n; i++) {
        t.n = 0;
        int rc = weft_doc_text_at(r->doc, &versions[i].vv, &t);
        bool ok = rc == 0 && t.n == versions[i].text.n &&
                  (t.n == 0 || memcmp(t.p, versions[i].text.p, t.n) == 0);
        out("text_at %zu %s", i, ok ? "ok" : "FAIL");
        out_rc(rc);
        out(" ");
        out_str(t.p, t.n);
        out("\n");
    }
    weft_buf_cleanup(&t);
}

/* Authorship and deleters of the final document. */
static void check_blame(const replica *r)
{
    uint32_t len = weft_doc_len(r->doc);
    for (uint32_t i = 0; i < 6 && len > 0; i++) {
        uint32_t pos = rng_below(len);
        weft_id id = WEFT_ID_NONE;
        int rc = weft_doc_id_at(r->doc, pos, &id);
        out("id_at %" PRIu32 " ", pos);
        out_id(id);
        out_rc(rc);
        out("\n");
    }
    size_t nd = weft_doc_del_count(r->doc);
    for (size_t i = 0; i < nd && i < 8; i++) {
        weft_del d = weft_doc_del_get(r->doc, i);
        weft_id who = WEFT_ID_NONE;
        int rc = weft_doc_deleter(r->doc, d.target, &who);
        out("deleter ");
        out_id(d.target);
        out(" -> ");
        out_id(who);
        out_rc(rc);
        out("\n");
    }
}

/* Snapshot round trip: load replica 0's runs, deletes and spans into a new
 * document, compare, then keep editing it and sync it back. */
static void check_snapshot(replica *reps, uint32_t new_agent)
{
    replica z;
    replica_init(&z, WEFT_NONE, "z");
    weft_run_iter it;
    weft_run run;
    int rc = 0;
    weft_run_iter_init(&it, reps[0].doc);
    while (rc == 0 && weft_run_iter_next(&it, &run))
        rc = weft_doc_load_run(z.doc, &run);
    for (size_t i = 0; rc == 0 && i < weft_doc_del_count(reps[0].doc); i++) {
        weft_del d = weft_doc_del_get(reps[0].doc, i);
        rc = weft_doc_load_del(z.doc, &d);
    }
    for (size_t i = 0; rc == 0 && i < weft_doc_span_count(reps[0].doc); i++) {
        weft_span s = weft_doc_span_get(reps[0].doc, i);
        rc = weft_doc_load_span(z.doc, &s);
    }
    if (rc == 0)
        rc = weft_doc_load_finish(z.doc);
    out("snapshot load");
    out_rc(rc);
    out(" text %s runs %s\n", text_equal(z.doc, reps[0].doc) ? "ok" : "FAIL",
        runs_equal(z.doc, reps[0].doc) ? "ok" : "FAIL");
    out_vv("z", z.doc);
    doc_text(z.doc, &z.shadow);
    rc = weft_doc_set_agent(z.doc, new_agent);
    out("z set_agent %" PRIu32, new_agent);
    out_rc(rc);
    out("\n");
    local_insert(&z, weft_doc_len(z.doc) / 2, "[\xf0\x9f\x93\x8e]");
    if (weft_doc_len(z.doc) > 2)
        local_delete(&z, 0, 2);
    out_text("z", z.doc);
    sync_from(&reps[1], &z, SYNC_ORDERED);
    replica_cleanup(&z);
}

/* Rebuild from the full op log on an observer (no agent). */
static void check_rebuild(replica *reps)
{
    replica o;
    replica_init(&o, WEFT_NONE, "o");
    sync_from(&o, &reps[0], SYNC_ORDERED);
    out("rebuild text %s runs %s\n", text_equal(o.doc, reps[0].doc) ? "ok" : "FAIL",
        runs_equal(o.doc, reps[0].doc) ? "ok" : "FAIL");
    replica_cleanup(&o);
}

static void merge_all(replica *reps, int n)
{
    for (int round = 0; round < 2; round++)
        for (int d = 0; d < n; d++)
            for (int s = 0; s < n; s++)
                if (d != s)
                    sync_from(&reps[d], &reps[s], SYNC_ORDERED);
}

static void run_random(uint64_t seed, uint32_t steps)
{
    static const uint32_t agent_pool[] = {1, 2, 3, 7, 1000, 0x7fffffff, 0x80000000, 0xfffffffe};
    replica reps[3];
    saved_anchor anchors[8];
    saved_version versions[8];
    size_t n_anchors = 0, n_versions = 0;
    uint32_t agents[3];

    rng_state = seed;
    for (int i = 0; i < 3; i++) {
        bool dup;
        do {
            agents[i] = agent_pool[rng_below(8)];
            dup = false;
            for (int j = 0; j < i; j++)
                dup |= agents[j] == agents[i];
        } while (dup);
        char name[8];
        snprintf(name, sizeof name, "r%d", i);
        replica_init(&reps[i], agents[i], name);
    }
    out("random seed=%" PRIu64 " steps=%" PRIu32 " agents=%" PRIu32 ",%" PRIu32 ",%" PRIu32 "\n",
        seed, steps, agents[0], agents[1], agents[2]);

    for (uint32_t step = 0; step < steps; step++) {
        int ri = (int)rng_below(3);
        replica *r = &reps[ri];
        uint32_t action = rng_below(100);
        out("step %" PRIu32 " %s\n", step, r->name);
        if (action < 40) {
            step_insert(r);
        } else if (action < 52) {
            step_insert16(r);
        } else if (action < 72) {
            step_delete(r);
        } else if (action < 94) {
            int si = (ri + 1 + (int)rng_below(2)) % 3;
            sync_from(r, &reps[si], (enum sync_mode)rng_below(SYNC_MODES));
            continue; /* sync_from printed the text */
        } else {
            step_anchor(reps, anchors, &n_anchors, ri);
        }
        shadow_verify(r);
        out_text(r->name, r->doc);
        if (ri == 0 && n_versions < 8 && rng_below(4) == 0) {
            saved_version *v = &versions[n_versions++];
            weft_vv_init(&v->vv);
            weft_buf_init(&v->text);
            weft_doc_version(r->doc, &v->vv);
            doc_text(r->doc, &v->text);
            out_vv("saved", r->doc);
        }
    }

    out("merge\n");
    merge_all(reps, 3);
    bool conv = true;
    for (int i = 1; i < 3; i++)
        conv &= text_equal(reps[0].doc, reps[i].doc) && runs_equal(reps[0].doc, reps[i].doc);
    out("converged %s\n", conv ? "ok" : "FAIL");
    for (int i = 0; i < 3; i++)
        out_vv(reps[i].name, reps[i].doc);
    out_text("final", reps[0].doc);
    out_runs("final", reps[0].doc);
    check_history(&reps[0], versions, n_versions);
    check_blame(&reps[0]);
    check_rebuild(reps);
    check_snapshot(reps, 4242);
    out_text("end", reps[1].doc);

    for (size_t i = 0; i < n_versions; i++) {
        weft_vv_cleanup(&versions[i].vv);
        weft_buf_cleanup(&versions[i].text);
    }
    for (int i = 0; i < 3; i++)
        replica_cleanup(&reps[i]);
}

/* ---- crdt-brief §10 scenarios 1-13 ------------------------------------------------------ */

/* Types `s` forwards at pos, one code point per call (ins in the brief). */
static void ins(replica *r, uint32_t pos, const char *s)
{
    for (size_t i = 0; s[i];) {
        size_t j = i + 1;
        while (s[j] && ((unsigned char)s[j] & 0xc0) == 0x80)
            j++;
        char one[5] = {0};
        memcpy(one, s + i, j - i);
        local_insert(r, pos++, one);
        i = j;
    }
    out_text(r->name, r->doc);
}

/* Types the ASCII string `s` backwards: each char at pos (insBack). */
static void ins_back(replica *r, uint32_t pos, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        char one[2] = {s[i], 0};
        local_insert(r, pos, one);
    }
    out_text(r->name, r->doc);
}

static void del(replica *r, uint32_t pos, uint32_t len)
{
    local_delete(r, pos, len);
    out_text(r->name, r->doc);
}

static void sync1(replica *dst, const replica *src)
{
    sync_from(dst, src, SYNC_ORDERED);
}

/* Every op of the scenario delivered to observers in random orders. */
static void check_orders(const replica *merged, int orders)
{
    weft_oplist l;
    weft_oplist_init(&l);
    weft_doc_ops_since(merged->doc, NULL, &l);
    weft_op *v = xmalloc(sizeof *v * (l.n + 1));
    int same = 0;
    for (int k = 0; k < orders; k++) {
        weft_doc *o = weft_doc_new(WEFT_NONE);
        if (!o)
            exit(2);
        memcpy(v, l.ops, sizeof *v * l.n);
        shuffle_ops(v, l.n);
        for (size_t i = 0; i < l.n; i++)
            weft_doc_apply(o, &v[i], NULL);
        same += text_equal(o, merged->doc) && runs_equal(o, merged->doc) &&
                weft_doc_parked(o) == 0 && weft_doc_check(o) == 0;
        weft_doc_free(o);
    }
    out("orders %d same=%d %s\n", orders, same, same == orders ? "ok" : "FAIL");
    free(v);
    weft_oplist_cleanup(&l);
}

static void scenario_end(int num, replica *reps, int n, const char *expect)
{
    merge_all(reps, n);
    weft_buf t;
    weft_buf_init(&t);
    doc_text(reps[0].doc, &t);
    bool ok = t.n == strlen(expect) && memcmp(t.p, expect, t.n) == 0;
    for (int i = 1; i < n; i++)
        ok &= text_equal(reps[0].doc, reps[i].doc) && runs_equal(reps[0].doc, reps[i].doc);
    out("scenario %d result ", num);
    out_str(t.p, t.n);
    out(" expect ");
    out_str(expect, strlen(expect));
    out(" %s\n", ok ? "ok" : "FAIL");
    out_vv("merged", reps[0].doc);
    out_runs("merged", reps[0].doc);
    check_orders(&reps[0], 30);
    weft_buf_cleanup(&t);
    for (int i = 0; i < n; i++)
        replica_cleanup(&reps[i]);
}

/* Replicas named a, b, c, ... with the given agents. */
static void scenario_begin(int num, const char *title, replica *reps, int n, const uint32_t *agents)
{
    out("scenario %d: %s\n", num, title);
    for (int i = 0; i < n; i++) {
        char name[2] = {(char)('a' + i), 0};
        replica_init(&reps[i], agents[i], name);
    }
}

/* Replica 0 types `text`, every other replica receives it. */
static void shared(replica *reps, int n, const char *text)
{
    ins(&reps[0], 0, text);
    for (int i = 1; i < n; i++)
        sync1(&reps[i], &reps[0]);
}

static void fig7(int num, uint32_t agent_x, uint32_t agent_y)
{
    replica r[5];
    const uint32_t agents[] = {1, 2, 3, agent_x, agent_y};
    scenario_begin(num, "Fig. 7, FugueMax vs Fugue (x, y = agents)", r, 5, agents);
    ins(&r[0], 0, "A");
    ins(&r[1], 0, "B");
    ins(&r[2], 0, "C");
    sync1(&r[3], &r[0]);
    sync1(&r[3], &r[2]);
    ins(&r[3], 1, "X");
    sync1(&r[4], &r[0]);
    sync1(&r[4], &r[1]);
    ins(&r[4], 1, "Y");
    scenario_end(num, r, 5, "AXYBC");
}

static void run_scenarios(void)
{
    static const uint32_t abc[] = {1, 2, 3};
    replica r[3];
    rng_state = 0x5eed;

    scenario_begin(1, "concurrent single chars", r, 2, abc);
    ins(&r[0], 0, "A");
    ins(&r[1], 0, "B");
    scenario_end(1, r, 2, "AB");

    scenario_begin(2, "forward runs", r, 2, abc);
    ins(&r[0], 0, "abc");
    ins(&r[1], 0, "xyz");
    scenario_end(2, r, 2, "abcxyz");

    scenario_begin(3, "backward runs", r, 2, abc);
    ins_back(&r[0], 0, "cba");
    ins_back(&r[1], 0, "zyx");
    scenario_end(3, r, 2, "abcxyz");

    scenario_begin(4, "runs with tails", r, 2, abc);
    ins(&r[0], 0, "M");
    ins(&r[0], 0, "L");
    ins(&r[0], 2, "R");
    ins(&r[1], 0, "m");
    ins(&r[1], 0, "l");
    ins(&r[1], 2, "r");
    scenario_end(4, r, 2, "LMRlmr");

    scenario_begin(5, "Yjs multi-replica anomaly (a=1, b=2, c=3)", r, 3, abc);
    ins(&r[2], 0, "b");
    sync1(&r[0], &r[2]);
    ins(&r[0], 0, "a");
    ins(&r[1], 0, "x");
    scenario_end(5, r, 3, "xab");

    fig7(6, 4, 5);
    fig7(6, 5, 4);

    scenario_begin(7, "three-way typing at one spot", r, 3, abc);
    shared(r, 3, "<>");
    ins(&r[0], 1, "one");
    ins(&r[1], 1, "two");
    ins(&r[2], 1, "three");
    scenario_end(7, r, 3, "<onetwothree>");

    scenario_begin(8, "mixed directions", r, 2, abc);
    shared(r, 2, "Q");
    ins_back(&r[0], 1, "cba");
    ins(&r[1], 1, "xyz");
    scenario_end(8, r, 2, "Qabcxyz");

    scenario_begin(9, "insert vs deletion of both neighbours", r, 2, abc);
    shared(r, 2, "ab");
    ins(&r[0], 1, "X");
    del(&r[1], 0, 2);
    scenario_end(9, r, 2, "X");

    scenario_begin(10, "origin right is a tombstone", r, 2, abc);
    shared(r, 2, "abc");
    del(&r[0], 1, 1);
    ins(&r[0], 1, "X");
    ins(&r[1], 2, "Y");
    scenario_end(10, r, 2, "aXYc");

    scenario_begin(11, "concurrent double delete", r, 2, abc);
    shared(r, 2, "abc");
    del(&r[0], 1, 1);
    del(&r[1], 1, 1);
    scenario_end(11, r, 2, "ac");

    scenario_begin(12, "delete range vs insert inside it", r, 2, abc);
    shared(r, 2, "abcd");
    del(&r[0], 1, 2);
    ins(&r[1], 2, "X");
    scenario_end(12, r, 2, "aXd");

    scenario_begin(13, "prepend/append after merge", r, 2, abc);
    shared(r, 2, "hello");
    ins(&r[0], 5, " world");
    ins(&r[1], 0, "Say: ");
    sync1(&r[0], &r[1]);
    ins(&r[0], 0, ">");
    scenario_end(13, r, 2, ">Say: hello world");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "scenarios") == 0) {
        run_scenarios();
    } else if (argc >= 3 && strcmp(argv[1], "random") == 0) {
        uint64_t seed = strtoull(argv[2], NULL, 0);
        uint32_t steps = argc >= 4 ? (uint32_t)strtoul(argv[3], NULL, 0) : 200;
        run_random(seed, steps);
    } else {
        fprintf(stderr, "usage: %s random SEED [STEPS] | scenarios\n", argv[0]);
        return 2;
    }
    out("end\n");
    return fflush(stdout) == 0 ? 0 : 1;
}

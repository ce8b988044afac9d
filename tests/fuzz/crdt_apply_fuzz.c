/*
 * crdt_apply_fuzz.c — fuzz target: remote op application (weft_doc_apply)
 * interleaved with local edits, on two or three documents.
 *
 * The input is decoded by a tiny total decoder: every byte string is some
 * scenario, and reading past the end yields zeros. Layout:
 *
 *   byte 0    flags. bit 0: add a third document with no local agent (the
 *             "server"); bit 1: chaos mode (see below).
 *   then up to MAX_STEPS steps, each a command byte c, acting on document
 *   d = (c >> 4) % ndocs, followed by its argument bytes:
 *     c & 15  0-2   local insert         [pos][text spec][text bytes...]
 *             3-4   local delete         [pos][len]
 *             5-7   deliver a pooled op  [index][slice]  (whole or a slice)
 *             8-10  forged remote op     (see forge_op)
 *             11    sync: ops_since(version of d) of doc e applied to d  [e]
 *             12    switch d's local agent, or reload d from a snapshot  [k]
 *             13    position probes: pos16 and anchor round trips  [pos][assoc]
 *             14    history probes: text_at now and at the previous probe's
 *                   version, id_at / deleter  [pos]
 *             15    deliver every pooled op to d, newest first (parking)
 *
 * Pooled ops are the genuine ops local edits produced (documents 0 and 1
 * edit as agents 1/2 + 10k, never sharing one). Forged ops are made up:
 * agents from a small set, seqs near weft_doc_next_seq (so they are often
 * valid, sometimes duplicate, overlapping, out of order or absurd), origins
 * and delete targets picked from the document's runs or near-miss IDs, text
 * from a table of valid characters (NUL, 2-, 3- and 4-byte UTF-8) or raw
 * bytes (invalid UTF-8, surrogates, overlongs), declared lengths usually
 * right and sometimes wrong.
 *
 * Strict mode (bit 1 clear): forged ops only ever reach the server document,
 * and nothing flows from the server to documents 0/1, so 0 and 1 see only
 * genuine ops: every apply there must succeed (>= 0), and at the end, after
 * exchanging everything, 0 and 1 must have converged with nothing parked.
 * Chaos mode: forged ops reach any document; only the checks below hold.
 *
 * Checked after every step, on every document: weft_doc_check() == 0; the
 * visible text equals a shadow copy maintained from our own edits and from
 * the patches weft_doc_apply reports (positions, UTF-16 fields and text of
 * every patch verified); len / len16 / bytes agree with the text; a failed
 * call changes nothing (text, version). Probes check UTF-16 positions,
 * anchors, and text_at against texts the document had earlier. At the end,
 * every document's weft_doc_ops_since(NULL) applied to a fresh document, and
 * its runs / deletes / spans loaded as a snapshot, reproduce its text and
 * version.
 */
#include "fuzz_target.h"

#include <weft/crdt.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DOCS 3
#define SERVER 2 /* index of the document with no local agent */
#define MAX_STEPS 300
#define POOL_MAX 128
#define MAX_TEXT 96

/* ---- failure ------------------------------------------------------------- */

_Noreturn static void fail(int line, const char *what, long value)
{
    fprintf(stderr, "crdt_apply_fuzz.c:%d: check failed: %s (value %ld)\n", line, what, value);
    abort();
}

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail(__LINE__, #cond, 0);                                                              \
    } while (0)
/* REQUIRE that also prints an engine return code. */
#define REQUIRE_RC(cond, rc)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail(__LINE__, #cond, (long)(rc));                                                     \
    } while (0)

/* ---- tracing (WEFT_FUZZ_TRACE=1 prints every step, for triage) -------- */

static bool tracing;

static void trace_op(const char *what, int d, const weft_op *op, int rc)
{
    if (!tracing)
        return;
    fprintf(stderr, "  %s doc%d %s (%u,%u) len %u", what, d, op->kind ? "DEL" : "INS", op->id.agent,
            op->id.seq, op->len);
    if (op->kind == WEFT_OP_DEL)
        fprintf(stderr, " target (%u,%u)", op->target.agent, op->target.seq);
    else
        fprintf(stderr, " ol (%u,%u) or (%u,%u) text %u bytes \"%.*s\"", op->ol.agent, op->ol.seq,
                op->or.agent, op->or.seq, op->bytes, (int)op->bytes, op->text);
    fprintf(stderr, " -> %d\n", rc);
}

/* ---- input cursor (total) ---------------------------------------------- */

typedef struct cursor {
    const uint8_t *p;
    size_t n, i;
} cursor;

static uint8_t next8(cursor *c)
{
    return c->i < c->n ? c->p[c->i++] : 0;
}

static uint32_t next32(cursor *c)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 8 | next8(c);
    return v;
}

/* ---- UTF-8 (our own, independent of the engine's) ---------------------- */

/* Strict validation: no overlongs, no surrogates, <= U+10FFFF. */
static bool utf8_valid(const char *s, size_t n, uint32_t *cps, uint32_t *u16)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = 0, u = 0;
    for (size_t i = 0; i < n;) {
        unsigned b = p[i];
        size_t k = b < 0x80                 ? 1
                   : b >= 0xC2 && b <= 0xDF ? 2
                   : b >= 0xE0 && b <= 0xEF ? 3
                   : b >= 0xF0 && b <= 0xF4 ? 4
                                            : 0;
        if (!k || i + k > n)
            return false;
        uint32_t cp = k == 1 ? b : b & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        c++;
        u += k == 4 ? 2 : 1;
        i += k;
    }
    *cps = c;
    *u16 = u;
    return true;
}

/* Byte offset of code point `pos` in valid UTF-8 s (n if pos is the end). */
static size_t utf8_offset(const char *s, size_t n, uint32_t pos)
{
    size_t i = 0;
    for (; i < n && pos; pos--)
        for (i++; i < n && ((unsigned char)s[i] & 0xC0) == 0x80; i++)
            ;
    return i;
}

static uint32_t utf8_units16(const char *s, size_t n)
{
    uint32_t u = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned b = (unsigned char)s[i];
        u += (b & 0xC0) != 0x80;
        u += b >= 0xF0; /* 4-byte sequence: a surrogate pair */
    }
    return u;
}

/* ---- shadow text ---------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_reserve(sbuf *s, size_t need)
{
    if (need <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need)
        cap *= 2;
    char *np = realloc(s->p, cap);
    REQUIRE(np != NULL);
    s->p = np;
    s->cap = cap;
}

/* Replaces bytes [at, at+del) with ins[0 .. bytes). */
static void sb_splice(sbuf *s, size_t at, size_t del, const char *ins, size_t bytes)
{
    sb_reserve(s, s->n - del + bytes);
    memmove(s->p + at + bytes, s->p + at + del, s->n - at - del);
    if (bytes)
        memcpy(s->p + at, ins, bytes);
    s->n = s->n - del + bytes;
}

/* ---- the world -------------------------------------------------------------- */

typedef struct pooled {
    weft_op op; /* op.text points at text */
    char *text;
} pooled;

typedef struct world {
    weft_doc *doc[MAX_DOCS];
    sbuf shadow[MAX_DOCS]; /* expected visible text */
    int ndocs;
    bool chaos;
    pooled pool[POOL_MAX];
    size_t npool, pool_next;
    weft_oplist out;
    weft_patchlist patches;
    weft_buf text;
    weft_vv vv_a, vv_b;
    /* history: a version of each document and its text at that version */
    weft_vv past_vv[MAX_DOCS];
    sbuf past_text[MAX_DOCS];
    bool has_past[MAX_DOCS];
} world;

static bool is_server(const world *w, int d)
{
    return w->ndocs == MAX_DOCS && d == SERVER;
}

/* Documents 0 and 1 in strict mode see genuine ops only. */
static bool genuine_only(const world *w, int d)
{
    return !w->chaos && !is_server(w, d);
}

static void load_text(world *w, const weft_doc *doc)
{
    int rc = weft_doc_text(doc, &w->text);
    REQUIRE_RC(rc == 0, rc);
}

static bool text_is(const weft_buf *b, const sbuf *s)
{
    return b->n == s->n && (s->n == 0 || memcmp(b->p, s->p, s->n) == 0);
}

static void resync_shadow(world *w, int d)
{
    load_text(w, w->doc[d]);
    w->shadow[d].n = 0;
    sb_splice(&w->shadow[d], 0, 0, w->text.p, w->text.n);
}

static bool vv_equal(const weft_vv *a, const weft_vv *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof a->v[0]) == 0);
}

static void get_version(const weft_doc *doc, weft_vv *vv)
{
    int rc = weft_doc_version(doc, vv);
    REQUIRE_RC(rc == 0, rc);
}

/* Every document: invariants, text == shadow, lengths agree with the text. */
static void check_all(world *w)
{
    for (int d = 0; d < w->ndocs; d++) {
        int rc = weft_doc_check(w->doc[d]);
        REQUIRE_RC(rc == 0, rc);
        load_text(w, w->doc[d]);
        REQUIRE(text_is(&w->text, &w->shadow[d]));
        uint32_t cps, u16;
        REQUIRE(utf8_valid(w->text.p, w->text.n, &cps, &u16));
        REQUIRE(weft_doc_len(w->doc[d]) == cps);
        REQUIRE(weft_doc_len16(w->doc[d]) == u16);
        REQUIRE(weft_doc_bytes(w->doc[d]) == w->text.n);
    }
}

/* ---- pool of genuine ops ---------------------------------------------------- */

static void pool_add(world *w, const weft_op *op)
{
    pooled *slot;
    if (w->npool < POOL_MAX) {
        slot = &w->pool[w->npool++];
    } else {
        slot = &w->pool[w->pool_next];
        w->pool_next = (w->pool_next + 1) % POOL_MAX;
        free(slot->text);
    }
    slot->op = *op;
    slot->text = NULL;
    if (op->kind == WEFT_OP_INS) {
        slot->text = malloc(op->bytes ? op->bytes : 1);
        REQUIRE(slot->text != NULL);
        if (op->bytes)
            memcpy(slot->text, op->text, op->bytes);
    }
    slot->op.text = slot->text;
}

static void pool_free(world *w)
{
    for (size_t i = 0; i < w->npool; i++)
        free(w->pool[i].text);
    w->npool = 0;
}

/* Part [k, k+m) of a genuine op: itself a valid op. */
static weft_op slice_op(const weft_op *op, uint32_t k, uint32_t m)
{
    weft_op s = *op;
    s.id.seq += k;
    s.len = m;
    if (op->kind == WEFT_OP_DEL) {
        s.target.seq += k;
        return s;
    }
    if (k > 0)
        s.ol = (weft_id){op->id.agent, op->id.seq + k - 1};
    size_t a = utf8_offset(op->text, op->bytes, k);
    size_t e = utf8_offset(op->text, op->bytes, k + m);
    s.text = op->text + a;
    s.bytes = (uint32_t)(e - a);
    return s;
}

/* ---- applying and checking patches ------------------------------------------ */

static void shadow_patch(sbuf *s, const weft_patch *p)
{
    uint32_t cps, u16;
    REQUIRE(utf8_valid(s->p, s->n, &cps, &u16));
    REQUIRE(p->pos <= cps && p->del <= cps - p->pos);
    size_t a = utf8_offset(s->p, s->n, p->pos);
    size_t e = utf8_offset(s->p, s->n, p->pos + p->del);
    REQUIRE(p->pos16 == utf8_units16(s->p, a));
    REQUIRE(p->del16 == utf8_units16(s->p + a, e - a));
    uint32_t ins = 0, ins16 = 0;
    REQUIRE(p->bytes == 0 || utf8_valid(p->text, p->bytes, &ins, &ins16));
    REQUIRE(ins == p->ins && ins16 == p->ins16);
    sb_splice(s, a, e - a, p->text, p->bytes);
}

/* Applies op to document d and checks what can be checked right away.
 * With_patches: the reported patches are verified against the shadow text;
 * otherwise the shadow is re-read. */
static int apply_op(world *w, int d, const weft_op *op, bool with_patches)
{
    weft_patchlist_clear(&w->patches);
    get_version(w->doc[d], &w->vv_a);
    int rc = weft_doc_apply(w->doc[d], op, with_patches ? &w->patches : NULL);
    trace_op("apply", d, op, rc);
    REQUIRE_RC(rc >= 0 || !genuine_only(w, d), rc);
    REQUIRE_RC(rc == WEFT_APPLIED || rc == WEFT_DUPLICATE || rc == WEFT_PARKED || rc < 0, rc);
    get_version(w->doc[d], &w->vv_b);
    if (rc < 0 || rc == WEFT_DUPLICATE || rc == WEFT_PARKED) {
        /* Nothing integrated: no patch, same version. */
        REQUIRE_RC(w->patches.n == 0, rc);
        REQUIRE_RC(vv_equal(&w->vv_a, &w->vv_b), rc);
    } else {
        REQUIRE(weft_vv_leq(&w->vv_a, &w->vv_b) && !vv_equal(&w->vv_a, &w->vv_b));
    }
    if (!with_patches) {
        resync_shadow(w, d);
        return rc;
    }
    for (size_t i = 0; i < w->patches.n; i++)
        shadow_patch(&w->shadow[d], &w->patches.p[i]);
    return rc;
}

/* ---- text generation --------------------------------------------------------- */

static const char *const CHARS[] = {
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    " ",
    "\n",
    "\xC3\xA9" /* é */,
    "\xE2\x86\x91" /* ↑ */,
    "\xE2\x86\x92" /* → */,
    "\xF0\x9F\x98\x80" /* 😀 */,
    "\xF0\x9D\x84\x9E" /* 𝄞 */,
    "\xEF\xBF\xBF" /* U+FFFF */,
    "\xF4\x8F\xBF\xBF" /* U+10FFFF */,
    "" /* U+0000 */,
};
#define NCHARS (sizeof CHARS / sizeof CHARS[0])

/* Byte sequences that are not valid UTF-8 for the engine. */
static const char *const BAD[] = {
    "\xED\xA0\x80" /* surrogate D800 */,
    "\xED\xBF\xBF" /* DFFF */,
    "\xC0\x80" /* overlong */,
    "\xE0\x80\xAF" /* overlong */,
    "\xF4\x90\x80\x80" /* > 10FFFF */,
    "\x80",
    "\xC3",
    "\xF0\x9F\x98" /* truncated */,
    "\xFF",
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static void put_char(char *buf, size_t *n, const char *c)
{
    size_t len = c[0] ? strlen(c) : 1; /* "" stands for U+0000 */
    if (*n + len <= MAX_TEXT) {
        memcpy(buf + *n, c, len);
        *n += len;
    }
}

/* Text spec byte t: count = 1 + (t & 7) (t & 7 == 7: 8 + next byte % 40);
 * t >> 3: 0-23 table chars, 24-27 an ASCII run, 28-29 raw bytes, 30-31
 * valid chars with one bad sequence in the middle. */
static size_t gen_text(cursor *c, char *buf)
{
    uint8_t t = next8(c);
    size_t count = 1 + (t & 7), n = 0;
    unsigned mode = t >> 3;
    if ((t & 7) == 7)
        count = 8 + next8(c) % 40;
    if (mode >= 28 && mode < 30) {
        for (size_t i = 0; i < count; i++)
            buf[n++] = (char)next8(c);
        return n;
    }
    uint8_t base = mode >= 24 ? next8(c) : 0;
    for (size_t i = 0; i < count; i++) {
        if (mode >= 24 && mode < 28) {
            buf[n++] = (char)('a' + (base + i) % 26);
        } else if (mode >= 30 && i == count / 2) {
            put_char(buf, &n, BAD[next8(c) % NBAD]);
        } else {
            put_char(buf, &n, CHARS[next8(c) % NCHARS]);
        }
    }
    return n;
}

/* The engine's validator must agree with ours. */
static bool text_valid(const char *s, size_t n, uint32_t *cps)
{
    uint32_t mine_c = 0, mine_u = 0, eng_c = 0, eng_u = 0;
    bool ok = utf8_valid(s, n, &mine_c, &mine_u);
    int rc = weft_utf8_count(s, n, &eng_c, &eng_u);
    REQUIRE_RC((rc == 0) == ok, rc);
    REQUIRE(!ok || (eng_c == mine_c && eng_u == mine_u));
    *cps = mine_c;
    return ok;
}

/* Position from a byte: spread over 0..len when b < 240, past the end
 * (len + b - 240, mostly invalid) otherwise. */
static uint32_t pick_pos(uint8_t b, uint32_t len)
{
    return b < 240 ? (uint32_t)((uint64_t)b * (len + 1) / 240) : len + (b - 240);
}

/* ---- local edits ----------------------------------------------------------------- */

/* Checks the ops a successful local edit produced and pools them. */
static void check_local_ops(world *w, int d, uint32_t kind, uint32_t seq0, uint32_t count)
{
    uint32_t agent = weft_doc_agent(w->doc[d]), seq = seq0;
    for (size_t i = 0; i < w->out.n; i++) {
        const weft_op *op = &w->out.ops[i];
        REQUIRE(op->kind == kind && op->id.agent == agent && op->id.seq == seq && op->len > 0);
        seq += op->len;
        pool_add(w, op);
    }
    REQUIRE(seq - seq0 == count);
    REQUIRE(weft_doc_next_seq(w->doc[d], agent) == seq0 + count);
}

static void local_insert(world *w, int d, cursor *c)
{
    weft_doc *doc = w->doc[d];
    uint32_t len = weft_doc_len(doc), agent = weft_doc_agent(doc), cps;
    uint32_t pos = pick_pos(next8(c), len);
    char buf[MAX_TEXT];
    size_t n = gen_text(c, buf);
    bool valid = text_valid(buf, n, &cps);
    uint32_t seq0 = agent == WEFT_NONE ? 0 : weft_doc_next_seq(doc, agent);
    weft_oplist_clear(&w->out);
    int rc = weft_doc_insert(doc, pos, buf, n, &w->out);
    bool expect_ok = agent != WEFT_NONE && valid && pos <= len && n > 0;
    REQUIRE_RC(!expect_ok || rc == 0, rc);
    REQUIRE_RC(rc <= 0, rc);
    if (agent == WEFT_NONE || !valid || pos > len)
        REQUIRE_RC(rc < 0, rc);
    if (rc < 0 || n == 0) {
        REQUIRE(w->out.n == 0);
        if (agent != WEFT_NONE)
            REQUIRE(weft_doc_next_seq(doc, agent) == seq0);
        return;
    }
    if (tracing)
        fprintf(stderr, "  insert doc%d pos %u \"%.*s\" -> %d\n", d, pos, (int)n, buf, rc);
    check_local_ops(w, d, WEFT_OP_INS, seq0, cps);
    sbuf *s = &w->shadow[d];
    sb_splice(s, utf8_offset(s->p, s->n, pos), 0, buf, n);
}

static void local_delete(world *w, int d, cursor *c)
{
    weft_doc *doc = w->doc[d];
    uint32_t len = weft_doc_len(doc), agent = weft_doc_agent(doc);
    uint8_t pb = next8(c), lb = next8(c);
    uint32_t pos = pb < 240 && len ? (uint32_t)((uint64_t)pb * len / 240) : pick_pos(pb, len);
    uint32_t room = pos < len ? len - pos : 0, cnt;
    if (lb < 240 && room)
        cnt = 1 + lb % (room < 16 ? room : 16);
    else
        cnt = lb >= 240 ? lb - 240u : 1;
    uint32_t seq0 = agent == WEFT_NONE ? 0 : weft_doc_next_seq(doc, agent);
    weft_oplist_clear(&w->out);
    int rc = weft_doc_delete(doc, pos, cnt, &w->out);
    bool expect_ok = agent != WEFT_NONE && cnt > 0 && pos <= len && cnt <= len - pos;
    REQUIRE_RC(!expect_ok || rc == 0, rc);
    REQUIRE_RC(rc <= 0, rc);
    if (agent == WEFT_NONE || pos > len || cnt > len - pos)
        REQUIRE_RC(rc < 0, rc);
    if (rc < 0 || cnt == 0) {
        REQUIRE(w->out.n == 0);
        if (agent != WEFT_NONE)
            REQUIRE(weft_doc_next_seq(doc, agent) == seq0);
        return;
    }
    if (tracing)
        fprintf(stderr, "  delete doc%d pos %u len %u -> %d\n", d, pos, cnt, rc);
    check_local_ops(w, d, WEFT_OP_DEL, seq0, cnt);
    sbuf *s = &w->shadow[d];
    size_t a = utf8_offset(s->p, s->n, pos), e = utf8_offset(s->p, s->n, pos + cnt);
    sb_splice(s, a, e - a, NULL, 0);
}

/* ---- remote ops ------------------------------------------------------------------- */

static void deliver_pooled(world *w, int d, cursor *c)
{
    uint8_t ib = next8(c), sb = next8(c);
    if (!w->npool)
        return;
    const weft_op *op = &w->pool[ib % w->npool].op;
    weft_op s = *op;
    if (sb >= 128) {
        uint32_t k = (sb & 15) % op->len;
        uint32_t m = 1 + ((uint32_t)(sb >> 4) & 7) % (op->len - k);
        s = slice_op(op, k, m);
    }
    apply_op(w, d, &s, true);
}

static const uint32_t AGENTS[8] = {1, 2, 3, 3, 4, 0, WEFT_NONE - 1, WEFT_NONE};

/* Char number g (0-based, tombstones included) of the document, or NONE. */
static weft_id char_at(const weft_doc *doc, uint64_t g, uint32_t *left_in_run)
{
    weft_run_iter it;
    weft_run r;
    weft_run_iter_init(&it, doc);
    while (weft_run_iter_next(&it, &r)) {
        if (g < r.len) {
            if (left_in_run)
                *left_in_run = r.len - (uint32_t)g;
            return (weft_id){r.agent, r.seq + (uint32_t)g};
        }
        g -= r.len;
    }
    return WEFT_ID_NONE;
}

static uint64_t total_chars(const weft_doc *doc)
{
    weft_run_iter it;
    weft_run r;
    uint64_t n = 0;
    weft_run_iter_init(&it, doc);
    while (weft_run_iter_next(&it, &r))
        n += r.len;
    return n;
}

/* An ID that may or may not exist: an agent from the set, a seq just below
 * (or at) its next seq, sometimes NONE. */
static weft_id near_id(const weft_doc *doc, cursor *c)
{
    uint8_t b = next8(c);
    if (b < 32)
        return WEFT_ID_NONE;
    uint32_t agent = AGENTS[b & 7];
    uint32_t next = agent == WEFT_NONE ? 0 : weft_doc_next_seq(doc, agent);
    return (weft_id){agent, next - 1 - ((b >> 3) & 3)};
}

/* A forged op, decoded from: [kind/agent/seq byte (+4 raw seq bytes)]
 * then INS [origins...][text spec][text...][len byte] or DEL [target...]. */
static void forge_op(const weft_doc *doc, cursor *c, weft_op *op, char *buf)
{
    uint8_t b = next8(c);
    memset(op, 0, sizeof *op);
    op->kind = b & 1;
    op->id.agent = AGENTS[(b >> 1) & 7];
    uint32_t next = op->id.agent == WEFT_NONE ? 0 : weft_doc_next_seq(doc, op->id.agent);
    static const int32_t DELTA[4] = {-1, 1, -3, 2};
    unsigned mode = b >> 4;
    op->id.seq = mode < 10    ? next
                 : mode < 14  ? next + (uint32_t)DELTA[mode - 10]
                 : mode == 14 ? next32(c)
                              : UINT32_MAX - next8(c);
    op->ol = op->or = op->target = WEFT_ID_NONE;
    uint8_t ob = next8(c);
    uint64_t total = total_chars(doc);
    uint64_t g = (uint64_t)next8(c) * (total + 1) / 256;
    if (op->kind == WEFT_OP_DEL) {
        uint32_t left = 1;
        op->target = (ob & 3) < 2 ? char_at(doc, g, &left) : near_id(doc, c);
        op->len = (ob & 3) == 3 ? next8(c) % 8 : 1 + (ob >> 2) % left;
        return;
    }
    if ((ob & 3) < 2) { /* a real gap: adjacent in the full list */
        op->ol = g ? char_at(doc, g - 1, NULL) : WEFT_ID_NONE;
        op->or = char_at(doc, g, NULL);
    } else {
        op->ol = (ob & 3) == 2 ? near_id(doc, c) : char_at(doc, g, NULL);
        op->or = near_id(doc, c);
    }
    size_t n = gen_text(c, buf);
    uint32_t cps = 0, units = 0;
    if (!utf8_valid(buf, n, &cps, &units))
        for (size_t i = 0; i < n; i++)
            cps += ((unsigned char)buf[i] & 0xC0) != 0x80;
    uint8_t lb = next8(c);
    op->len = lb < 200 ? cps : lb - 200u;
    op->text = buf;
    op->bytes = (uint32_t)n;
}

static void forged(world *w, int d, cursor *c)
{
    if (!w->chaos) {
        if (w->ndocs < MAX_DOCS)
            d = -1;
        else
            d = SERVER;
    }
    weft_op op;
    char buf[MAX_TEXT];
    forge_op(w->doc[d < 0 ? 0 : d], c, &op, buf);
    if (d >= 0)
        apply_op(w, d, &op, true);
}

/* Document d applies everything e has beyond d's version. */
static void sync_from(world *w, int d, int e, bool with_patches)
{
    weft_oplist ops;
    weft_oplist_init(&ops);
    get_version(w->doc[d], &w->vv_a);
    int rc = weft_doc_ops_since(w->doc[e], &w->vv_a, &ops);
    REQUIRE_RC(rc == 0, rc);
    for (size_t i = 0; i < ops.n; i++)
        apply_op(w, d, &ops.ops[i], with_patches);
    if (genuine_only(w, d)) {
        get_version(w->doc[e], &w->vv_a);
        get_version(w->doc[d], &w->vv_b);
        REQUIRE(weft_vv_leq(&w->vv_a, &w->vv_b));
    }
    weft_oplist_cleanup(&ops);
}

static void sync_step(world *w, int d, cursor *c)
{
    int e = next8(c) % w->ndocs;
    if (e == d || (genuine_only(w, d) && is_server(w, e)))
        return;
    sync_from(w, d, e, false);
}

static void flush_pool(world *w, int d)
{
    for (size_t i = w->npool; i-- > 0;)
        apply_op(w, d, &w->pool[i].op, false);
}

/* ---- agents and probes ------------------------------------------------------------ */

static void reload_from_snapshot(world *w, int d);

/* [k]: k % 8 < 4 switches d's local agent, otherwise d is reloaded from a
 * snapshot of itself. */
static void switch_agent(world *w, int d, cursor *c)
{
    uint32_t k = next8(c) % 8;
    if (k >= 4) {
        reload_from_snapshot(w, d);
        return;
    }
    if (is_server(w, d) && !w->chaos)
        return; /* the server never authors ops in strict mode */
    int rc = weft_doc_set_agent(w->doc[d], (uint32_t)d + 1 + 10 * k);
    REQUIRE_RC(rc == 0, rc);
}

static void position_probes(world *w, int d, cursor *c)
{
    const weft_doc *doc = w->doc[d];
    const sbuf *s = &w->shadow[d];
    uint32_t len = weft_doc_len(doc);
    uint32_t pos = pick_pos(next8(c), len), pos16 = 0, back = 0;
    int32_t assoc = next8(c) & 1 ? 1 : -1;
    int rc = weft_doc_pos16(doc, pos, &pos16);
    if (pos > len) {
        REQUIRE_RC(rc < 0, rc);
        return;
    }
    REQUIRE_RC(rc == 0, rc);
    REQUIRE(pos16 == utf8_units16(s->p, utf8_offset(s->p, s->n, pos)));
    rc = weft_doc_pos_from16(doc, pos16, &back);
    REQUIRE_RC(rc == 0 && back == pos, rc);
    weft_anchor a;
    rc = weft_doc_anchor(doc, pos, assoc, &a);
    REQUIRE_RC(rc == 0, rc);
    rc = weft_doc_anchor_pos(doc, a, &back);
    REQUIRE_RC(rc == 0 && back == pos, rc);
}

/* text_at(version) is the current text; text_at(an earlier version) is the
 * text the document had then; the char at pos is visible (no deleter). */
static void history_probes(world *w, int d, cursor *c)
{
    const weft_doc *doc = w->doc[d];
    uint32_t len = weft_doc_len(doc), pos = pick_pos(next8(c), len);
    weft_buf at;
    weft_buf_init(&at);
    get_version(doc, &w->vv_a);
    int rc = weft_doc_text_at(doc, &w->vv_a, &at);
    REQUIRE_RC(rc == 0, rc);
    REQUIRE(text_is(&at, &w->shadow[d]));
    if (w->has_past[d]) {
        REQUIRE(weft_vv_leq(&w->past_vv[d], &w->vv_a));
        rc = weft_doc_text_at(doc, &w->past_vv[d], &at);
        REQUIRE_RC(rc == 0, rc);
        REQUIRE(text_is(&at, &w->past_text[d]));
    }
    /* Remember this point for the next probe. */
    w->has_past[d] = true;
    w->past_text[d].n = 0;
    sb_splice(&w->past_text[d], 0, 0, w->shadow[d].p, w->shadow[d].n);
    for (size_t i = 0; i < w->vv_a.n; i++) {
        rc = weft_vv_set(&w->past_vv[d], w->vv_a.v[i].agent, w->vv_a.v[i].next_seq);
        REQUIRE_RC(rc == 0, rc);
    }
    weft_buf_cleanup(&at);
    weft_id id, del;
    rc = weft_doc_id_at(doc, pos, &id);
    if (pos >= len) {
        REQUIRE_RC(rc < 0, rc);
        return;
    }
    REQUIRE_RC(rc == 0, rc);
    rc = weft_doc_deleter(doc, id, &del);
    REQUIRE_RC(rc == WEFT_E_NOTFOUND, rc);
}

/* ---- end of run -------------------------------------------------------------------- */

/* A fresh document fed doc's ops_since(NULL) has the same text and version. */
static void check_rebuild(world *w, const weft_doc *doc)
{
    weft_oplist ops;
    weft_oplist_init(&ops);
    int rc = weft_doc_ops_since(doc, NULL, &ops);
    REQUIRE_RC(rc == 0, rc);
    weft_doc *fresh = weft_doc_new(WEFT_NONE);
    REQUIRE(fresh != NULL);
    for (size_t i = 0; i < ops.n; i++) {
        rc = weft_doc_apply(fresh, &ops.ops[i], NULL);
        REQUIRE_RC(rc == WEFT_APPLIED, rc);
    }
    rc = weft_doc_check(fresh);
    REQUIRE_RC(rc == 0, rc);
    REQUIRE(weft_doc_parked(fresh) == 0);
    weft_buf a;
    weft_buf_init(&a);
    load_text(w, doc);
    rc = weft_doc_text(fresh, &a);
    REQUIRE_RC(rc == 0, rc);
    REQUIRE(a.n == w->text.n && (a.n == 0 || memcmp(a.p, w->text.p, a.n) == 0));
    get_version(doc, &w->vv_a);
    get_version(fresh, &w->vv_b);
    REQUIRE(vv_equal(&w->vv_a, &w->vv_b));
    weft_buf_cleanup(&a);
    weft_doc_free(fresh);
    weft_oplist_cleanup(&ops);
}

/* A new document loaded from doc's runs, delete records and spans (what a
 * snapshot holds), with the same text and version. */
static weft_doc *snapshot_copy(world *w, const weft_doc *doc)
{
    weft_doc *s = weft_doc_new(WEFT_NONE);
    REQUIRE(s != NULL);
    weft_run_iter it;
    weft_run r;
    int rc;
    weft_run_iter_init(&it, doc);
    while (weft_run_iter_next(&it, &r)) {
        rc = weft_doc_load_run(s, &r);
        REQUIRE_RC(rc == 0, rc);
    }
    for (size_t i = 0; i < weft_doc_del_count(doc); i++) {
        weft_del del = weft_doc_del_get(doc, i);
        rc = weft_doc_load_del(s, &del);
        REQUIRE_RC(rc == 0, rc);
    }
    for (size_t i = 0; i < weft_doc_span_count(doc); i++) {
        weft_span span = weft_doc_span_get(doc, i);
        rc = weft_doc_load_span(s, &span);
        REQUIRE_RC(rc == 0, rc);
    }
    rc = weft_doc_load_finish(s);
    REQUIRE_RC(rc == 0, rc);
    rc = weft_doc_check(s);
    REQUIRE_RC(rc == 0, rc);
    weft_buf a;
    weft_buf_init(&a);
    load_text(w, doc);
    rc = weft_doc_text(s, &a);
    REQUIRE_RC(rc == 0, rc);
    REQUIRE(a.n == w->text.n && (a.n == 0 || memcmp(a.p, w->text.p, a.n) == 0));
    weft_buf_cleanup(&a);
    get_version(doc, &w->vv_a);
    get_version(s, &w->vv_b);
    REQUIRE(vv_equal(&w->vv_a, &w->vv_b));
    return s;
}

/* The snapshot copy of doc already knows every op doc can send. */
static void check_snapshot(world *w, const weft_doc *doc)
{
    weft_doc *s = snapshot_copy(w, doc);
    weft_oplist ops;
    weft_oplist_init(&ops);
    int rc = weft_doc_ops_since(doc, NULL, &ops);
    REQUIRE_RC(rc == 0, rc);
    for (size_t i = 0; i < ops.n; i++) {
        rc = weft_doc_apply(s, &ops.ops[i], NULL);
        REQUIRE_RC(rc == WEFT_DUPLICATE, rc);
    }
    weft_oplist_cleanup(&ops);
    weft_doc_free(s);
}

/* Document d is replaced by its snapshot copy (same local agent), as after
 * a restart: everything later must work on the loaded document. Parked ops
 * are not part of a snapshot and are lost, as they would be. */
static void reload_from_snapshot(world *w, int d)
{
    weft_doc *s = snapshot_copy(w, w->doc[d]);
    uint32_t agent = weft_doc_agent(w->doc[d]);
    if (agent != WEFT_NONE) {
        int rc = weft_doc_set_agent(s, agent);
        REQUIRE_RC(rc == 0, rc);
    }
    weft_doc_free(w->doc[d]);
    w->doc[d] = s;
}

/* Strict mode: after exchanging everything, documents 0 and 1 converge. */
static void check_convergence(world *w)
{
    sync_from(w, 0, 1, true);
    sync_from(w, 1, 0, true);
    check_all(w);
    load_text(w, w->doc[1]);
    REQUIRE(text_is(&w->text, &w->shadow[0]));
    get_version(w->doc[0], &w->vv_a);
    get_version(w->doc[1], &w->vv_b);
    REQUIRE(vv_equal(&w->vv_a, &w->vv_b));
    REQUIRE(weft_doc_parked(w->doc[0]) == 0 && weft_doc_parked(w->doc[1]) == 0);
}

/* ---- driver -------------------------------------------------------------------------- */

static void step(world *w, cursor *c)
{
    uint8_t cmd = next8(c);
    int d = (cmd >> 4) % w->ndocs;
    if (tracing)
        fprintf(stderr, "step @%zu: command %u on doc%d\n", c->i - 1, cmd & 15, d);
    switch (cmd & 15) {
    case 0:
    case 1:
    case 2:
        local_insert(w, d, c);
        break;
    case 3:
    case 4:
        local_delete(w, d, c);
        break;
    case 5:
    case 6:
    case 7:
        deliver_pooled(w, d, c);
        break;
    case 8:
    case 9:
    case 10:
        forged(w, d, c);
        break;
    case 11:
        sync_step(w, d, c);
        break;
    case 12:
        switch_agent(w, d, c);
        break;
    case 13:
        position_probes(w, d, c);
        break;
    case 14:
        history_probes(w, d, c);
        break;
    default:
        flush_pool(w, d);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cursor c = {data, size, 0};
    tracing = getenv("WEFT_FUZZ_TRACE") != NULL;
    world *w = calloc(1, sizeof *w);
    REQUIRE(w != NULL);
    uint8_t flags = next8(&c);
    w->ndocs = flags & 1 ? 3 : 2;
    w->chaos = flags & 2;
    for (int d = 0; d < w->ndocs; d++) {
        w->doc[d] = weft_doc_new(is_server(w, d) ? WEFT_NONE : (uint32_t)d + 1);
        REQUIRE(w->doc[d] != NULL);
        sb_reserve(&w->shadow[d], 64); /* never NULL: pointer arithmetic on it */
        sb_reserve(&w->past_text[d], 64);
        weft_vv_init(&w->past_vv[d]);
    }
    weft_oplist_init(&w->out);
    weft_patchlist_init(&w->patches);
    weft_buf_init(&w->text);
    weft_vv_init(&w->vv_a);
    weft_vv_init(&w->vv_b);
    for (int s = 0; s < MAX_STEPS && c.i < c.n; s++) {
        step(w, &c);
        check_all(w);
    }
    if (!w->chaos)
        check_convergence(w);
    for (int d = 0; d < w->ndocs; d++) {
        check_rebuild(w, w->doc[d]);
        check_snapshot(w, w->doc[d]);
    }
    for (int d = 0; d < w->ndocs; d++) {
        weft_doc_free(w->doc[d]);
        free(w->shadow[d].p);
        free(w->past_text[d].p);
        weft_vv_cleanup(&w->past_vv[d]);
    }
    pool_free(w);
    weft_oplist_cleanup(&w->out);
    weft_patchlist_cleanup(&w->patches);
    weft_buf_cleanup(&w->text);
    weft_vv_cleanup(&w->vv_a);
    weft_vv_cleanup(&w->vv_b);
    free(w);
    return 0;
}

/* snapshot.c — a document's whole state as one compact msgpack value.
 *
 * Snapshot = [format 3, lsn, vv, columns: [section x 15], text: section]
 * section  = [inflated length, raw deflate: bin]
 * Inflated, text is the UTF-8 of every canonical run (tombstones
 * included) in document order, and each column is a list of u32 values
 * written as canonical LEB128 varints (snap_int.h, column.c):
 *   agents                      every agent referenced below, increasing
 *   r_agent r_seq r_len r_flags r_x r_xa     runs, document order
 *   d_agent d_seq d_tagent d_tseq d_len      delete records, apply order,
 *                                            compact (weft_doc_delrec_get)
 *   s_agent s_seq s_len                      apply-order spans
 * Agents are indexes into `agents`; seqs are zigzag deltas (see below);
 * r_flags = deleted | ol_code << 1 | or_code << 3, d_len = len << 1 | rev,
 * and the origins that the codes do not imply are taken in order from
 * r_x / r_xa. docs/protocol.md
 * has the tables. Every choice is forced (the smallest code that applies),
 * so a state has one encoding apart from the deflate streams. */
#include <stdlib.h>
#include <string.h>

#include "snap_int.h"

/* 3: delete records in the engine's compact form, reverse (backspace) runs
 * whole, d_len = len << 1 | rev. (2 listed them forward-only, so every
 * backspaced char was a record of its own: 50,251 records for
 * automerge-paper instead of 7,334, a third of the load's time. 1, one
 * deflated msgpack array of integer arrays, loaded every integer as a
 * msgpack object. Neither was released.) */
#define SNAP_FORMAT 3u

enum {
    C_AGENTS,
    C_R_AGENT,
    C_R_SEQ,
    C_R_LEN,
    C_R_FLAGS,
    C_R_X,
    C_R_XA,
    C_D_AGENT,
    C_D_SEQ,
    C_D_TAGENT,
    C_D_TSEQ,
    C_D_LEN,
    C_S_AGENT,
    C_S_SEQ,
    C_S_LEN,
    C_COUNT
};

/* Origin codes. */
enum { O_NONE = 0, O_ADJ = 1, O_SAME = 2, O_OTHER = 3 };

/* ---- origin codes (shared by both directions, so they agree) ---------- */

static bool same_id(weft_id a, uint32_t agent, uint32_t seq)
{
    return a.agent == agent && a.seq == seq;
}

/* prev: the run before r in document order, or NULL. */
static int ol_code(const weft_run *r, const weft_run *prev)
{
    if (weft_id_is_none(r->ol))
        return O_NONE;
    if (prev && same_id(r->ol, prev->agent, prev->seq + prev->len - 1))
        return O_ADJ;
    if (r->ol.agent == r->agent && r->ol.seq < r->seq)
        return O_SAME;
    return O_OTHER;
}

/* next: the run after r in document order, or NULL. */
static int or_code(const weft_run *r, const weft_run *next)
{
    if (weft_id_is_none(r->or))
        return O_NONE;
    if (next && same_id(r->or, next->agent, next->seq))
        return O_ADJ;
    if (r->or.agent == r->agent)
        return O_SAME;
    return O_OTHER;
}

/* true when b continues a as one canonical run. */
static bool mergeable(const weft_run *a, const weft_run *b)
{
    return a->agent == b->agent && b->seq == a->seq + a->len &&
           same_id(b->ol, a->agent, a->seq + a->len - 1) && weft_id_eq(a->or, b->or) &&
           a->deleted == b->deleted;
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct enc_state {
    weft_run *runs;
    size_t nruns, runs_cap;
    uint32_t *agents;
    size_t nagents;
    weft_buf c[C_COUNT]; /* the columns' varints */
    int err;             /* sticky, from col() */
    uint32_t *next;      /* per agent index: expected next seq */
    weft_buf text, z;
    proto__deflater *zs;
    weft_vv vv;
} enc_state;

static void col(enc_state *s, int c, uint32_t v)
{
    proto__col_put(&s->c[c], v, &s->err);
}

/* The index of agent a in the table; an agent missing from it (which the
 * engine's invariants rule out) fails the encode instead of writing a
 * wrong index. */
static uint32_t agent_idx(enc_state *s, uint32_t a)
{
    size_t lo = 0, hi = s->nagents;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->agents[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->nagents || s->agents[lo] != a)
        s->err = WEFT_PROTO_E_VALUE;
    return (uint32_t)lo;
}

/* The runs, and the agents table: exactly the agents of the version
 * vector (sorted). Every agent a column names is one of them (a run's
 * and its origins' chars, a delete's deleter and target, an apply span
 * are all applied ops), and each of them has applied ops, so it has an
 * apply span. Collecting the agents from the columns instead cost a sort
 * of one entry per run and span: 45% of encoding a document that five
 * writers typed into together. */
static int collect(enc_state *s, const weft_doc *doc)
{
    weft_run_iter it;
    weft_run r;
    int rc;
    weft_run_iter_init(&it, doc);
    while (weft_run_iter_next(&it, &r)) {
        if ((rc = proto__grow((void **)&s->runs, &s->runs_cap, s->nruns + 1, sizeof *s->runs)))
            return rc;
        s->runs[s->nruns++] = r;
    }
    if ((rc = weft_doc_version(doc, &s->vv)))
        return rc;
    s->nagents = s->vv.n;
    s->agents = malloc((s->nagents ? s->nagents : 1) * sizeof *s->agents);
    s->next = calloc(s->nagents ? s->nagents : 1, sizeof *s->next);
    if (!s->agents || !s->next)
        return WEFT_PROTO_E_NOMEM;
    for (size_t i = 0; i < s->nagents; i++)
        s->agents[i] = s->vv.v[i].agent;
    return 0;
}

/* A byte per value, which most values need: col() then rarely grows. */
static int reserve(enc_state *s, const weft_doc *doc)
{
    size_t nd = weft_doc_delrec_count(doc);
    for (int i = 0; i < C_COUNT; i++) {
        size_t want = i >= C_D_AGENT && i <= C_D_LEN  ? nd
                      : i >= C_R_AGENT && i <= C_R_XA ? s->nruns
                                                      : 0;
        if (want > SIZE_MAX - 16 || proto__grow((void **)&s->c[i].p, &s->c[i].cap, want + 16, 1))
            return WEFT_PROTO_E_NOMEM;
    }
    return 0;
}

static int enc_runs(enc_state *s)
{
    size_t bytes = 0;
    for (size_t i = 0; i < s->nruns; i++) {
        if (s->runs[i].bytes > SIZE_MAX - bytes)
            return WEFT_PROTO_E_NOMEM;
        bytes += s->runs[i].bytes;
    }
    if (proto__grow((void **)&s->text.p, &s->text.cap, bytes ? bytes : 1, 1))
        return WEFT_PROTO_E_NOMEM;
    memset(s->next, 0, (s->nagents ? s->nagents : 1) * sizeof *s->next);
    for (size_t i = 0; i < s->nruns; i++) {
        const weft_run *r = &s->runs[i];
        const weft_run *prev = i ? &s->runs[i - 1] : NULL;
        const weft_run *nxt = i + 1 < s->nruns ? &s->runs[i + 1] : NULL;
        uint32_t ai = agent_idx(s, r->agent);
        int olc = ol_code(r, prev), orc = or_code(r, nxt);
        col(s, C_R_AGENT, ai);
        col(s, C_R_SEQ, proto__zz(r->seq - s->next[ai]));
        col(s, C_R_LEN, r->len);
        col(s, C_R_FLAGS, (uint32_t)r->deleted | (uint32_t)olc << 1 | (uint32_t)orc << 3);
        s->next[ai] = r->seq + r->len;
        if (olc == O_SAME)
            col(s, C_R_X, r->seq - r->ol.seq - 1);
        if (olc == O_OTHER) {
            col(s, C_R_XA, agent_idx(s, r->ol.agent));
            col(s, C_R_X, r->ol.seq);
        }
        if (orc == O_SAME)
            col(s, C_R_X, proto__zz(r->or.seq - r->seq));
        if (orc == O_OTHER) {
            col(s, C_R_XA, agent_idx(s, r->or.agent));
            col(s, C_R_X, r->or.seq);
        }
        if (r->bytes) {
            memcpy(s->text.p + s->text.n, r->text, r->bytes);
            s->text.n += r->bytes;
        }
    }
    return s->err;
}

static int enc_dels_spans(enc_state *s, const weft_doc *doc)
{
    uint32_t prev_t = 0;
    size_t nd = weft_doc_delrec_count(doc), ns = weft_doc_span_count(doc);
    memset(s->next, 0, (s->nagents ? s->nagents : 1) * sizeof *s->next);
    for (size_t i = 0; i < nd; i++) {
        weft_del d = weft_doc_delrec_get(doc, i);
        if (d.len > UINT32_MAX >> 1)
            return WEFT_PROTO_E_VALUE;
        uint32_t ai = agent_idx(s, d.id.agent);
        col(s, C_D_AGENT, ai);
        col(s, C_D_SEQ, proto__zz(d.id.seq - s->next[ai]));
        col(s, C_D_TAGENT, agent_idx(s, d.target.agent));
        col(s, C_D_TSEQ, proto__zz(d.target.seq - prev_t));
        col(s, C_D_LEN, d.len << 1 | (uint32_t)d.rev);
        s->next[ai] = d.id.seq + d.len;
        prev_t = d.target.seq;
    }
    memset(s->next, 0, (s->nagents ? s->nagents : 1) * sizeof *s->next);
    for (size_t i = 0; i < ns; i++) {
        weft_span sp = weft_doc_span_get(doc, i);
        uint32_t ai = agent_idx(s, sp.agent);
        col(s, C_S_AGENT, ai);
        col(s, C_S_SEQ, proto__zz(sp.seq - s->next[ai]));
        col(s, C_S_LEN, sp.len);
        s->next[ai] = sp.seq + sp.len;
    }
    for (size_t i = 0; i < s->nagents; i++)
        col(s, C_AGENTS, s->agents[i]);
    return s->err;
}

static void enc_free(enc_state *s)
{
    free(s->runs);
    free(s->agents);
    free(s->next);
    for (int i = 0; i < C_COUNT; i++)
        weft_buf_cleanup(&s->c[i]);
    weft_buf_cleanup(&s->text);
    weft_buf_cleanup(&s->z);
    proto__deflater_free(s->zs);
    weft_vv_cleanup(&s->vv);
}

/* [inflated length, deflated bytes], s->z as scratch. */
static int put_section(enc_state *s, proto__writer *w, const weft_buf *b)
{
    int rc;
    if (b->n > UINT32_MAX)
        return WEFT_PROTO_E_VALUE;
    if ((rc = proto__deflate(s->zs, b->p, b->n, &s->z)))
        return rc;
    proto__w_arr(w, 2);
    proto__w_u32(w, (uint32_t)b->n);
    proto__w_bin(w, s->z.p, s->z.n);
    return 0;
}

int weft_proto_snapshot_encode(const weft_doc *doc, uint32_t lsn, weft_buf *out)
{
    enc_state s;
    proto__writer w;
    int rc;
    memset(&s, 0, sizeof s);
    weft_vv_init(&s.vv);
    for (int i = 0; i < C_COUNT; i++)
        weft_buf_init(&s.c[i]);
    out->n = 0;
    if ((rc = collect(&s, doc)) || (rc = reserve(&s, doc)) || (rc = enc_runs(&s)) ||
        (rc = enc_dels_spans(&s, doc)))
        goto done;
    size_t max_in = s.text.n;
    for (int i = 0; i < C_COUNT; i++)
        max_in = s.c[i].n > max_in ? s.c[i].n : max_in;
    if ((rc = proto__deflater_new(&s.zs, max_in)))
        goto done;

    proto__writer_init(&w, out);
    proto__w_arr(&w, 5);
    proto__w_u32(&w, SNAP_FORMAT);
    proto__w_u32(&w, lsn);
    proto__vv_encode(&w, &s.vv);
    proto__w_arr(&w, C_COUNT);
    for (int i = 0; i < C_COUNT && !rc; i++)
        rc = put_section(&s, &w, &s.c[i]);
    if (!rc)
        rc = put_section(&s, &w, &s.text);
    if (!rc)
        rc = proto__writer_done(&w);
done:
    if (rc)
        out->n = 0;
    enc_free(&s);
    return rc;
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct dec_state {
    proto__col c[C_COUNT];
    uint32_t nagents;
    uint32_t *agent_tab;
    bool *used;
    uint32_t *next;
    weft_buf meta, text;
    proto__inflater *zi;
    bool ascii; /* the whole text (the usual case: no run needs a look) */
    weft_vv vv, have;
} dec_state;

static int rd(dec_state *s, int c, uint32_t *v)
{
    return proto__col_next(&s->c[c], v);
}

/* Every listed column used up: a leftover value is TRAILING. */
static int cols_done(const dec_state *s, int from, int to)
{
    for (int i = from; i <= to; i++) {
        int rc = proto__col_done(&s->c[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int agent_at(dec_state *s, uint32_t idx, uint32_t *agent)
{
    if (idx >= s->nagents)
        return WEFT_PROTO_E_VALUE;
    s->used[idx] = true;
    *agent = s->agent_tab[idx];
    return 0;
}

/* Reads an origin given its code (ol when is_left). */
static inline int origin(dec_state *s, const weft_run *r, bool is_left, int code,
                         const weft_run *adj, weft_id *id)
{
    uint32_t x, xa;
    int rc;
    switch (code) {
    case O_NONE:
        *id = WEFT_ID_NONE;
        return 0;
    case O_ADJ:
        if (!adj)
            return WEFT_PROTO_E_VALUE;
        id->agent = adj->agent;
        id->seq = is_left ? adj->seq + adj->len - 1 : adj->seq;
        return 0;
    case O_SAME:
        if ((rc = rd(s, C_R_X, &x)))
            return rc;
        id->agent = r->agent;
        if (is_left) {
            if (x >= r->seq)
                return WEFT_PROTO_E_VALUE;
            id->seq = r->seq - 1 - x;
        } else {
            id->seq = r->seq + proto__unzz(x);
        }
        return 0;
    default:
        if ((rc = rd(s, C_R_XA, &xa)) || (rc = agent_at(s, xa, &id->agent)) ||
            (rc = rd(s, C_R_X, &id->seq)))
            return rc;
        return 0;
    }
}

/* The end of `len` code points from t[off..n): a code point is a byte and
 * the continuation bytes after it; (size_t)-1 if the text ends first. */
static size_t skip_code_points(const unsigned char *t, size_t off, size_t n, uint32_t len)
{
    for (uint32_t k = 0; k < len; k++) {
        if (off >= n)
            return (size_t)-1;
        off++;
        while (off < n && (t[off] & 0xc0) == 0x80)
            off++;
    }
    return off;
}

/* The slice of the text at *off holding `len` code points (all valid
 * UTF-8) into r; an all-ASCII slice (the common case) is len bytes, any
 * other is walked and then validated. */
static int dec_text(const dec_state *s, size_t *off, weft_run *r)
{
    const unsigned char *t = (const unsigned char *)s->text.p;
    size_t start = *off, n = s->text.n, end;
    if (r->len <= n - start && (s->ascii || weft_utf8_is_ascii((const char *)t + start, r->len))) {
        end = start + r->len;
    } else {
        end = skip_code_points(t, start, n, r->len);
        if (end == (size_t)-1)
            return weft_utf8_count(s->text.p + start, n - start, NULL, NULL) ? WEFT_PROTO_E_UTF8
                                                                             : WEFT_PROTO_E_VALUE;
        if (weft_utf8_count(s->text.p + start, end - start, NULL, NULL) != 0)
            return WEFT_PROTO_E_UTF8;
    }
    r->text = s->text.p + start;
    r->bytes = (uint32_t)(end - start);
    *off = end;
    return 0;
}

/* Reads the next run's agent, seq and len (r_agent, r_seq, r_len). */
static inline int dec_run_head(dec_state *s, weft_run *r)
{
    uint32_t ai, v;
    int rc;
    if ((rc = rd(s, C_R_AGENT, &ai)) || (rc = agent_at(s, ai, &r->agent)) ||
        (rc = rd(s, C_R_SEQ, &v)) || (rc = rd(s, C_R_LEN, &r->len)))
        return rc;
    r->seq = s->next[ai] + proto__unzz(v);
    if (r->len == 0 || (uint64_t)r->seq + r->len > UINT32_MAX)
        return WEFT_PROTO_E_VALUE;
    s->next[ai] = r->seq + r->len;
    return 0;
}

/* Decodes the runs and loads each into doc as soon as it is checked, one
 * run ahead (origin code 1 names the next run's first char). The slices of
 * the text cover it exactly, each starting on a lead byte, so validating
 * them validates it all. */
static int dec_runs(dec_state *s, weft_doc *doc)
{
    /* One value per run in r_agent: the count is bounded by its bytes. */
    size_t n = proto__col_count(&s->c[C_R_AGENT]), off = 0;
    uint32_t v;
    int rc;
    if (n > UINT32_MAX)
        return WEFT_PROTO_E_VALUE;
    /* A hint, capped so that no column count can make it allocate more
     * than the text justifies: every run has text, and a delete record
     * removes at least one char (more records than chars, from repeated
     * concurrent deletes, only grow the list later). */
    size_t nd = proto__col_count(&s->c[C_D_LEN]);
    if ((rc = weft_doc_load_reserve(doc, n < s->text.n ? n : s->text.n,
                                    nd < s->text.n ? nd : s->text.n, s->text.n)))
        return rc;
    weft_run prev, cur, nxt;
    memset(&cur, 0, sizeof cur);
    memset(&nxt, 0, sizeof nxt);
    if (n && (rc = dec_run_head(s, &nxt)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        weft_run *r = &cur;
        const weft_run *pr = i ? &prev : NULL, *nx = NULL;
        r->agent = nxt.agent;
        r->seq = nxt.seq;
        r->len = nxt.len;
        if (i + 1 < n) { /* origin code 1 reads only its agent and seq */
            if ((rc = dec_run_head(s, &nxt)))
                return rc;
            nx = &nxt;
        }
        if ((rc = rd(s, C_R_FLAGS, &v)))
            return rc;
        if (v >> 5)
            return WEFT_PROTO_E_VALUE;
        r->deleted = v & 1;
        int olc = (int)(v >> 1 & 3), orc = (int)(v >> 3 & 3);
        if ((rc = origin(s, r, true, olc, pr, &r->ol)) ||
            (rc = origin(s, r, false, orc, nx, &r->or)))
            return rc;
        /* The forced choices: anything else has another encoding. */
        if (ol_code(r, pr) != olc || or_code(r, nx) != orc || (pr && mergeable(pr, r)))
            return WEFT_PROTO_E_NONCANONICAL;
        if ((rc = dec_text(s, &off, r)) || (rc = weft_doc_load_run(doc, r)))
            return rc;
        prev = cur;
    }
    if ((rc = cols_done(s, C_R_AGENT, C_R_XA)))
        return rc;
    if (off == s->text.n)
        return 0;
    return weft_utf8_count(s->text.p + off, s->text.n - off, NULL, NULL) ? WEFT_PROTO_E_UTF8
                                                                         : WEFT_PROTO_E_VALUE;
}

static bool del_eq(const weft_del *a, const weft_del *b)
{
    return a->id.agent == b->id.agent && a->id.seq == b->id.seq &&
           a->target.agent == b->target.agent && a->target.seq == b->target.seq &&
           a->len == b->len && a->rev == b->rev;
}

static int load_dels_spans(dec_state *s, weft_doc *doc)
{
    uint32_t ai, v, prev_t = 0;
    int rc;
    memset(s->next, 0, (s->nagents ? s->nagents : 1) * sizeof *s->next);
    for (size_t i = 0; proto__col_more(&s->c[C_D_AGENT]); i++) {
        weft_del d;
        if ((rc = rd(s, C_D_AGENT, &ai)) || (rc = agent_at(s, ai, &d.id.agent)) ||
            (rc = rd(s, C_D_SEQ, &v)))
            return rc;
        d.id.seq = s->next[ai] + proto__unzz(v);
        if ((rc = rd(s, C_D_TAGENT, &v)) || (rc = agent_at(s, v, &d.target.agent)) ||
            (rc = rd(s, C_D_TSEQ, &v)) || (rc = rd(s, C_D_LEN, &d.len)))
            return rc;
        d.target.seq = prev_t + proto__unzz(v);
        prev_t = d.target.seq;
        d.rev = d.len & 1;
        d.len >>= 1;
        if (d.len == 0 || (uint64_t)d.id.seq + d.len > UINT32_MAX ||
            (d.rev ? d.target.seq < d.len - 1 : (uint64_t)d.target.seq + d.len > UINT32_MAX))
            return WEFT_PROTO_E_VALUE;
        if (d.rev && d.len == 1)
            return WEFT_PROTO_E_NONCANONICAL; /* one char is a forward record */
        s->next[ai] = d.id.seq + d.len;
        if ((rc = weft_doc_load_del(doc, &d)))
            return rc;
        /* a record the engine merges into the one before has another encoding */
        weft_del got = weft_doc_delrec_get(doc, i);
        if (weft_doc_delrec_count(doc) != i + 1 || !del_eq(&got, &d))
            return WEFT_PROTO_E_NONCANONICAL;
    }
    if ((rc = cols_done(s, C_D_SEQ, C_D_LEN)))
        return rc;
    memset(s->next, 0, (s->nagents ? s->nagents : 1) * sizeof *s->next);
    while (proto__col_more(&s->c[C_S_AGENT])) {
        weft_span sp;
        if ((rc = rd(s, C_S_AGENT, &ai)) || (rc = agent_at(s, ai, &sp.agent)) ||
            (rc = rd(s, C_S_SEQ, &v)) || (rc = rd(s, C_S_LEN, &sp.len)))
            return rc;
        sp.seq = s->next[ai] + proto__unzz(v);
        if (sp.len == 0 || (uint64_t)sp.seq + sp.len > UINT32_MAX)
            return WEFT_PROTO_E_VALUE;
        s->next[ai] = sp.seq + sp.len;
        if ((rc = weft_doc_load_span(doc, &sp)))
            return rc;
    }
    return cols_done(s, C_S_SEQ, C_S_LEN);
}

/* [inflated length, deflated bytes] */
static int get_section(const msgpack_object *o, uint32_t *len, const uint8_t **z, size_t *zn)
{
    const msgpack_object *e;
    int rc;
    if ((rc = proto__arr(o, 2, &e)) || (rc = proto__u32(&e[0], len)) ||
        (rc = proto__bin(&e[1], z, zn)))
        return rc;
    return 0;
}

/* Bit i: column i is inflated (the text always is). */
#define WANT_ALL ((1u << C_COUNT) - 1)
#define WANT_TEXT (1u << C_R_LEN | 1u << C_R_FLAGS)

/* Inflates the wanted columns (one after the other into s->meta; the
 * others stay empty) and the text, after checking that the declared sizes
 * of all sections add up to at most max. */
static int dec_sections(dec_state *s, const msgpack_object *cols, const msgpack_object *text,
                        size_t max, unsigned want)
{
    uint32_t len[C_COUNT + 1];
    const uint8_t *z[C_COUNT + 1];
    size_t zn[C_COUNT + 1], off = 0;
    uint64_t total = 0;
    int rc;
    for (int i = 0; i <= C_COUNT; i++) {
        if ((rc = get_section(i < C_COUNT ? &cols[i] : text, &len[i], &z[i], &zn[i])))
            return rc;
        total += len[i];
    }
    if (total > max)
        return WEFT_PROTO_E_BOMB;
    size_t ncols = 0;
    for (int i = 0; i < C_COUNT; i++)
        if (want >> i & 1)
            ncols += len[i];
    if ((rc = proto__grow((void **)&s->meta.p, &s->meta.cap, ncols ? ncols : 1, 1)) ||
        (rc = proto__grow((void **)&s->text.p, &s->text.cap, len[C_COUNT] ? len[C_COUNT] : 1, 1)) ||
        (rc = proto__inflater_new(&s->zi)))
        return rc;
    for (int i = 0; i < C_COUNT; i++) {
        uint8_t *dst = (uint8_t *)s->meta.p + off;
        if (!(want >> i & 1))
            continue;
        if ((rc = proto__inflate(s->zi, z[i], zn[i], dst, len[i])))
            return rc;
        proto__col_init(&s->c[i], dst, len[i]);
        off += len[i];
    }
    s->meta.n = ncols;
    if ((rc = proto__inflate(s->zi, z[C_COUNT], zn[C_COUNT], (uint8_t *)s->text.p, len[C_COUNT])))
        return rc;
    s->text.n = len[C_COUNT];
    s->ascii = weft_utf8_is_ascii(s->text.p, s->text.n);
    return 0;
}

/* The agents column: the table the other columns index. */
static int dec_agents(dec_state *s)
{
    size_t na = proto__col_count(&s->c[C_AGENTS]);
    int rc;
    if (na > UINT32_MAX)
        return WEFT_PROTO_E_VALUE;
    s->agent_tab = calloc(na ? na : 1, sizeof *s->agent_tab);
    s->used = calloc(na ? na : 1, sizeof *s->used);
    s->next = calloc(na ? na : 1, sizeof *s->next);
    if (!s->agent_tab || !s->used || !s->next)
        return WEFT_PROTO_E_NOMEM;
    s->nagents = (uint32_t)na;
    for (uint32_t i = 0; i < na; i++) {
        if ((rc = rd(s, C_AGENTS, &s->agent_tab[i])))
            return rc;
        if (s->agent_tab[i] == WEFT_NONE)
            return WEFT_PROTO_E_VALUE;
        if (i > 0 && s->agent_tab[i] <= s->agent_tab[i - 1])
            return WEFT_PROTO_E_ORDER;
    }
    return proto__col_done(&s->c[C_AGENTS]);
}

static int vv_equal(const weft_vv *a, const weft_vv *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].agent != b->v[i].agent || a->v[i].next_seq != b->v[i].next_seq)
            return 0;
    return 1;
}

static void dec_init(dec_state *s, msgpack_unpacked *up)
{
    memset(s, 0, sizeof *s);
    weft_vv_init(&s->vv);
    weft_vv_init(&s->have);
    msgpack_unpacked_init(up);
}

static void dec_free(dec_state *s, msgpack_unpacked *up)
{
    msgpack_unpacked_destroy(up);
    free(s->agent_tab);
    free(s->used);
    free(s->next);
    weft_buf_cleanup(&s->meta);
    weft_buf_cleanup(&s->text);
    proto__inflater_free(s->zi);
    weft_vv_cleanup(&s->vv);
    weft_vv_cleanup(&s->have);
}

/* The frame `[3, lsn, vv, columns, text]`: checks its shape and inflates
 * the wanted sections. */
static int dec_frame(dec_state *s, msgpack_unpacked *up, const uint8_t *p, size_t len,
                     const weft_proto_limits *lim, uint32_t *lsn, unsigned want)
{
    weft_proto_limits def = WEFT_PROTO_LIMITS_DEFAULT;
    const msgpack_object *it, *cols;
    uint32_t n, fmt;
    int rc;
    if (!lim)
        lim = &def;
    if ((rc = weft_proto_scan(p, len, lim)) || (rc = proto__unpack(p, len, up)) ||
        (rc = proto__arr_any(&up->data, &it, &n)))
        return rc;
    if (n == 0 || proto__u32(&it[0], &fmt))
        return WEFT_PROTO_E_SHAPE;
    if (fmt != SNAP_FORMAT)
        return WEFT_PROTO_E_FORMAT;
    if ((rc = proto__arr(&up->data, 5, &it)) || (rc = proto__u32(&it[1], lsn)) ||
        (rc = proto__vv_decode(&it[2], &s->vv)) || (rc = proto__arr(&it[3], C_COUNT, &cols)))
        return rc;
    return dec_sections(s, cols, &it[4], lim->max_inflate, want);
}

/* The visible text: the runs' slices of the text section (r_len), those
 * without the deleted flag (r_flags bit 0), in document order. */
static int dec_live_text(dec_state *s, weft_buf *out)
{
    size_t n = proto__col_count(&s->c[C_R_LEN]), off = 0;
    int rc;
    out->n = 0;
    if ((rc = proto__grow((void **)&out->p, &out->cap, s->text.n + 1, 1)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        weft_run r;
        uint32_t v;
        if ((rc = rd(s, C_R_LEN, &r.len)) || (rc = rd(s, C_R_FLAGS, &v)))
            return rc;
        if (r.len == 0 || v >> 5)
            return WEFT_PROTO_E_VALUE;
        if ((rc = dec_text(s, &off, &r)))
            return rc;
        if (!(v & 1)) {
            memcpy(out->p + out->n, r.text, r.bytes);
            out->n += r.bytes;
        }
    }
    out->p[out->n] = 0;
    if ((rc = cols_done(s, C_R_LEN, C_R_FLAGS)))
        return rc;
    if (off == s->text.n)
        return 0;
    return weft_utf8_count(s->text.p + off, s->text.n - off, NULL, NULL) ? WEFT_PROTO_E_UTF8
                                                                         : WEFT_PROTO_E_VALUE;
}

int weft_proto_snapshot_text(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                             weft_buf *text, uint32_t *lsn)
{
    msgpack_unpacked up;
    dec_state s;
    dec_init(&s, &up);
    int rc = dec_frame(&s, &up, p, len, lim, lsn, WANT_TEXT);
    if (!rc)
        rc = dec_live_text(&s, text);
    if (rc)
        text->n = 0;
    dec_free(&s, &up);
    return rc;
}

int weft_proto_snapshot_load(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                             weft_doc *doc, uint32_t *lsn)
{
    msgpack_unpacked up;
    dec_state s;
    int rc;
    dec_init(&s, &up);
    if ((rc = dec_frame(&s, &up, p, len, lim, lsn, WANT_ALL)) || (rc = dec_agents(&s)) ||
        (rc = dec_runs(&s, doc)))
        goto done;
    if ((rc = load_dels_spans(&s, doc)))
        goto done;
    for (uint32_t i = 0; i < s.nagents; i++)
        if (!s.used[i]) {
            rc = WEFT_PROTO_E_NONCANONICAL;
            goto done;
        }
    /* Everything is copied into doc by now: hand the inflated bytes back
     * before the engine allocates its indexes, which can then reuse them. */
    weft_buf_cleanup(&s.meta);
    weft_buf_cleanup(&s.text);
    if ((rc = weft_doc_load_finish(doc)) || (rc = weft_doc_version(doc, &s.have)))
        goto done;
    if (!vv_equal(&s.vv, &s.have))
        rc = WEFT_PROTO_E_VVMISMATCH;
done:
    dec_free(&s, &up);
    return rc;
}

/* snapcols.c — loading a snapshot's inflated columns and text into a
 * document (cols_int.h; the format is docs/protocol.md §5). Shared by the
 * native codec (snapshot.c, after msgpack and inflate) and the WebAssembly
 * engine (crdt/wasm/api.c, after JS inflated the sections). */
#include <stdlib.h>
#include <string.h>

#include "cols_int.h"

typedef struct dec_state {
    proto__col c[C_COUNT];
    uint32_t nagents;
    uint32_t *agent_tab;
    bool *used;
    uint32_t *next;
    weft_buf text; /* borrowed: the caller's bytes (p, n) */
    bool ascii;    /* the whole text (the usual case: no run needs a look) */
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

/* 0 when the runs' slices ended exactly at the end of the text (off);
 * otherwise what is wrong with the rest: invalid UTF-8, or text no run
 * covers. */
static int text_done(const dec_state *s, size_t off)
{
    if (off == s->text.n)
        return 0;
    return weft_utf8_count(s->text.p + off, s->text.n - off, NULL, NULL) ? WEFT_PROTO_E_UTF8
                                                                         : WEFT_PROTO_E_VALUE;
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
    return text_done(s, off);
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

static void dec_init(dec_state *s, const proto__cols *in)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < C_COUNT; i++)
        if (in->col[i]) /* a column the caller did not inflate stays empty */
            proto__col_init(&s->c[i], in->col[i], in->len[i]);
    s->text.p = (char *)in->text;
    s->text.n = in->text_n;
    s->ascii = weft_utf8_is_ascii(in->text, in->text_n);
}

static void dec_free(dec_state *s)
{
    free(s->agent_tab);
    free(s->used);
    free(s->next);
}

int proto__cols_load(const proto__cols *in, weft_doc *doc)
{
    dec_state s;
    dec_init(&s, in);
    int rc = dec_agents(&s);
    if (!rc)
        rc = dec_runs(&s, doc);
    if (!rc)
        rc = load_dels_spans(&s, doc);
    for (uint32_t i = 0; !rc && i < s.nagents; i++)
        if (!s.used[i])
            rc = WEFT_PROTO_E_NONCANONICAL;
    dec_free(&s);
    return rc;
}

int proto__cols_finish(weft_doc *doc, const weft_vv *vv)
{
    weft_vv have;
    weft_vv_init(&have);
    int rc = weft_doc_load_finish(doc);
    if (!rc)
        rc = weft_doc_version(doc, &have);
    if (!rc && !vv_equal(vv, &have))
        rc = WEFT_PROTO_E_VVMISMATCH;
    weft_vv_cleanup(&have);
    return rc;
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
    return text_done(s, off);
}

int proto__cols_text(const proto__cols *in, weft_buf *out)
{
    dec_state s;
    dec_init(&s, in);
    int rc = dec_live_text(&s, out);
    dec_free(&s);
    if (rc)
        out->n = 0;
    return rc;
}

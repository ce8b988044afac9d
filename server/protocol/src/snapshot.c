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

/* ---- encoding ------------------------------------------------------------ */

typedef struct enc_state {
    weft_run *runs;
    size_t nruns, runs_cap;
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
    size_t lo = 0, hi = s->vv.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->vv.v[mid].agent < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->vv.n || s->vv.v[lo].agent != a)
        s->err = WEFT_PROTO_E_VALUE;
    return (uint32_t)lo;
}

/* The runs, and the agents table: exactly the agents of the version
 * vector (sorted; agent_idx searches it). Every agent a column names is one of them (a run's
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
    s->next = calloc(s->vv.n ? s->vv.n : 1, sizeof *s->next);
    return s->next ? 0 : WEFT_PROTO_E_NOMEM;
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
    memset(s->next, 0, (s->vv.n ? s->vv.n : 1) * sizeof *s->next);
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
    memset(s->next, 0, (s->vv.n ? s->vv.n : 1) * sizeof *s->next);
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
    memset(s->next, 0, (s->vv.n ? s->vv.n : 1) * sizeof *s->next);
    for (size_t i = 0; i < ns; i++) {
        weft_span sp = weft_doc_span_get(doc, i);
        uint32_t ai = agent_idx(s, sp.agent);
        col(s, C_S_AGENT, ai);
        col(s, C_S_SEQ, proto__zz(sp.seq - s->next[ai]));
        col(s, C_S_LEN, sp.len);
        s->next[ai] = sp.seq + sp.len;
    }
    for (size_t i = 0; i < s->vv.n; i++)
        col(s, C_AGENTS, s->vv.v[i].agent);
    return s->err;
}

static void enc_free(enc_state *s)
{
    free(s->runs);
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
    if ((rc = proto__deflater_new(&s.zs)))
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

/* ---- decoding: the frame and the inflating (snapcols.c loads the rest) ---- */

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

typedef struct frame_state {
    msgpack_unpacked up;
    weft_buf meta, text; /* the inflated columns, back to back; the text */
    proto__inflater *zi;
    weft_vv vv;
    proto__cols cols; /* pointing into meta and text */
} frame_state;

/* Inflates the wanted columns (one after the other into s->meta; the
 * others stay empty) and the text, after checking that the declared sizes
 * of all sections add up to at most max. */
static int dec_sections(frame_state *s, const msgpack_object *cols, const msgpack_object *text,
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
        s->cols.col[i] = dst;
        s->cols.len[i] = len[i];
        off += len[i];
    }
    s->meta.n = ncols;
    if ((rc = proto__inflate(s->zi, z[C_COUNT], zn[C_COUNT], (uint8_t *)s->text.p, len[C_COUNT])))
        return rc;
    s->text.n = len[C_COUNT];
    s->cols.text = s->text.p;
    s->cols.text_n = s->text.n;
    return 0;
}

static void frame_init(frame_state *s)
{
    memset(s, 0, sizeof *s);
    weft_vv_init(&s->vv);
    msgpack_unpacked_init(&s->up);
}

static void frame_free(frame_state *s)
{
    msgpack_unpacked_destroy(&s->up);
    weft_buf_cleanup(&s->meta);
    weft_buf_cleanup(&s->text);
    proto__inflater_free(s->zi);
    weft_vv_cleanup(&s->vv);
}

/* The frame `[3, lsn, vv, columns, text]`: checks its shape and inflates
 * the wanted sections. */
static int dec_frame(frame_state *s, const uint8_t *p, size_t len, const weft_proto_limits *lim,
                     uint32_t *lsn, unsigned want)
{
    weft_proto_limits def = WEFT_PROTO_LIMITS_DEFAULT;
    const msgpack_object *it, *cols;
    uint32_t n, fmt;
    int rc;
    if (!lim)
        lim = &def;
    if ((rc = weft_proto_scan(p, len, lim)) || (rc = proto__unpack(p, len, &s->up)) ||
        (rc = proto__arr_any(&s->up.data, &it, &n)))
        return rc;
    if (n == 0 || proto__u32(&it[0], &fmt))
        return WEFT_PROTO_E_SHAPE;
    if (fmt != SNAP_FORMAT)
        return WEFT_PROTO_E_FORMAT;
    if ((rc = proto__arr(&s->up.data, 5, &it)) || (rc = proto__u32(&it[1], lsn)) ||
        (rc = proto__vv_decode(&it[2], &s->vv)) || (rc = proto__arr(&it[3], C_COUNT, &cols)))
        return rc;
    return dec_sections(s, cols, &it[4], lim->max_inflate, want);
}

int weft_proto_snapshot_text(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                             weft_buf *text, uint32_t *lsn)
{
    frame_state s;
    frame_init(&s);
    int rc = dec_frame(&s, p, len, lim, lsn, WANT_TEXT);
    if (!rc)
        rc = proto__cols_text(&s.cols, text);
    if (rc)
        text->n = 0;
    frame_free(&s);
    return rc;
}

int weft_proto_snapshot_load(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                             weft_doc *doc, uint32_t *lsn)
{
    frame_state s;
    frame_init(&s);
    int rc = dec_frame(&s, p, len, lim, lsn, WANT_ALL);
    if (!rc)
        rc = proto__cols_load(&s.cols, doc);
    /* Everything is copied into doc by now: hand the inflated bytes back
     * before the engine allocates its indexes, which can then reuse them. */
    weft_buf_cleanup(&s.meta);
    weft_buf_cleanup(&s.text);
    if (!rc)
        rc = proto__cols_finish(doc, &s.vv);
    frame_free(&s);
    return rc;
}

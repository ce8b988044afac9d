/* blame.c — who wrote each visible char (blame) and what changed between
 * two versions (diff), both by one walk over the canonical runs. */
#include "tools_int.h"

/* Bytes of the UTF-8 sequence starting with lead byte c (text from the
 * engine is valid). */
static uint32_t u8len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Reallocates a full array *p (*cap elements of elem bytes) to twice its
 * capacity, 64 at first: 0, or WEFT_TOOLS_E_NOMEM with *p and *cap unchanged. */
static int grow_full(void **p, size_t *cap, size_t elem)
{
    size_t nc = *cap ? *cap * 2 : 64;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return WEFT_TOOLS_E_NOMEM;
    *p = np;
    *cap = nc;
    return 0;
}

/* Starts text with an empty put (so its pointer is set even when nothing
 * follows), then hands every canonical run of d to fn until one fails. */
static int walk_runs(const weft_doc *d, weft_buf *text, int (*fn)(void *ctx, const weft_run *r),
                     void *ctx)
{
    int rc = tools__put(text, "", 0);
    weft_run_iter it;
    weft_run r;
    if (!rc)
        weft_run_iter_init(&it, d);
    while (!rc && weft_run_iter_next(&it, &r))
        rc = fn(ctx, &r);
    return rc;
}

/* ---- blame ------------------------------------------------------------------------ */

void tools__blame_free(tools_blame *b)
{
    weft_buf_cleanup(&b->text);
    free(b->s);
    tools__agents_free(&b->agents);
    memset(b, 0, sizeof *b);
}

static int span_push(tools_blame *b, const weft_run *r, int64_t t)
{
    tools_span *last = b->n ? &b->s[b->n - 1] : NULL;
    if (last && last->agent == r->agent) {
        last->bytes += r->bytes;
        last->len += r->len;
        if (t > last->time)
            last->time = t;
    } else {
        if (b->n == b->cap && grow_full((void **)&b->s, &b->cap, sizeof *b->s))
            return WEFT_TOOLS_E_NOMEM;
        b->s[b->n++] = (tools_span){r->agent, b->text.n, r->bytes, r->len, t};
    }
    return tools__put(&b->text, r->text, r->bytes);
}

typedef struct blame_ctx {
    tools_blame *out;
    const tools_times *t;
} blame_ctx;

/* Visible runs only, each with the latest time of its chars. */
static int blame_run(void *ctx, const weft_run *r)
{
    blame_ctx *c = ctx;
    if (r->deleted)
        return 0;
    return span_push(c->out, r, tools__times_max(c->t, r->agent, r->seq, r->len));
}

int tools__blame(weft_store *st, weft_store_doc doc, uint64_t lsn, tools_blame *out)
{
    memset(out, 0, sizeof *out);
    weft_buf_init(&out->text);
    weft_doc *d = NULL;
    tools_times t = {0};
    int rc = tools__build(st, doc, lsn, true, &d, &out->lsn);
    if (!rc)
        rc = tools__agents_load(st, doc, &out->agents);
    if (!rc)
        rc = tools__times_load(st, doc, out->lsn, &t, &out->agents);
    blame_ctx c = {out, &t};
    if (!rc)
        rc = walk_runs(d, &out->text, blame_run, &c);
    tools__times_free(&t);
    weft_doc_free(d);
    if (rc)
        tools__blame_free(out);
    return rc;
}

/* ---- diff ---------------------------------------------------------------------------- */

/* Chars of one target agent deleted at a version: [lo, hi). */
typedef struct drange {
    uint32_t agent, lo, hi;
} drange;

typedef struct dset {
    drange *r;
    size_t n;
} dset;

static int drange_cmp(const void *x, const void *y)
{
    const drange *a = x, *b = y;
    if (a->agent != b->agent)
        return a->agent < b->agent ? -1 : 1;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Every char deleted by a deleter ID below vv, as merged sorted ranges. */
static int dset_build(const weft_doc *d, const weft_vv *vv, dset *out)
{
    size_t cnt = weft_doc_del_count(d), n = 0;
    out->r = malloc((cnt + 1) * sizeof *out->r);
    out->n = 0;
    if (!out->r)
        return WEFT_TOOLS_E_NOMEM;
    for (size_t i = 0; i < cnt; i++) {
        weft_del x = weft_doc_del_get(d, i);
        uint32_t v = weft_vv_get(vv, x.id.agent);
        if (x.len == 0 || v <= x.id.seq)
            continue;
        uint32_t len = x.len < v - x.id.seq ? x.len : v - x.id.seq;
        out->r[n++] = (drange){x.target.agent, x.target.seq, x.target.seq + len};
    }
    qsort(out->r, n, sizeof *out->r, drange_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && out->r[m - 1].agent == out->r[i].agent && out->r[i].lo <= out->r[m - 1].hi) {
            if (out->r[i].hi > out->r[m - 1].hi)
                out->r[m - 1].hi = out->r[i].hi;
        } else {
            out->r[m++] = out->r[i];
        }
    }
    out->n = m;
    return 0;
}

/* A cursor over one run's chars: visible at the version? */
typedef struct vis {
    const dset *ds;
    size_t k;      /* current range */
    uint32_t next; /* vv[agent] */
    uint32_t agent;
} vis;

static void vis_start(vis *v, const dset *ds, const weft_vv *vv, uint32_t agent, uint32_t seq)
{
    v->ds = ds;
    v->agent = agent;
    v->next = weft_vv_get(vv, agent);
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const drange *r = &ds->r[mid];
        if (r->agent < agent || (r->agent == agent && r->hi <= seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    v->k = lo;
}

/* Visibility of char seq; seqs must be asked in increasing order. */
static bool vis_at(vis *v, uint32_t seq)
{
    if (seq >= v->next)
        return false;
    const dset *ds = v->ds;
    while (v->k < ds->n && ds->r[v->k].agent == v->agent && ds->r[v->k].hi <= seq)
        v->k++;
    return !(v->k < ds->n && ds->r[v->k].agent == v->agent && ds->r[v->k].lo <= seq);
}

void tools__diff_free(tools_diff *d)
{
    weft_buf_cleanup(&d->text);
    free(d->s);
    memset(d, 0, sizeof *d);
}

static int seg_push(tools_diff *d, tools_diffop op, const char *p, size_t bytes)
{
    if (d->n && d->s[d->n - 1].op == op) {
        d->s[d->n - 1].bytes += bytes;
    } else {
        if (d->n == d->cap && grow_full((void **)&d->s, &d->cap, sizeof *d->s))
            return WEFT_TOOLS_E_NOMEM;
        d->s[d->n++] = (tools_seg){op, d->text.n, bytes};
    }
    return tools__put(&d->text, p, bytes);
}

/* Emits one run's chars classified by their visibility at A and B. */
static int diff_run(tools_diff *out, const weft_run *r, const dset *da, const weft_vv *va,
                    const dset *db, const weft_vv *vb)
{
    vis a, b;
    vis_start(&a, da, va, r->agent, r->seq);
    vis_start(&b, db, vb, r->agent, r->seq);
    int cur = -1; /* class of the pending chars: tools_diffop, or 3 = in neither */
    size_t start = 0, off = 0;
    int rc = 0;
    for (uint32_t k = 0; k < r->len && !rc; k++) {
        bool va_ = vis_at(&a, r->seq + k), vb_ = vis_at(&b, r->seq + k);
        int cls = va_ && vb_ ? TOOLS_EQ : vb_ ? TOOLS_INS : va_ ? TOOLS_DEL : 3;
        if (cls != cur) {
            if (cur >= 0 && cur != 3 && off > start)
                rc = seg_push(out, (tools_diffop)cur, r->text + start, off - start);
            cur = cls;
            start = off;
        }
        off += u8len((unsigned char)r->text[off]);
        if (off > r->bytes)
            return WEFT_TOOLS_E_CORRUPT;
    }
    if (!rc && cur >= 0 && cur != 3 && off > start)
        rc = seg_push(out, (tools_diffop)cur, r->text + start, off - start);
    return rc;
}

typedef struct diff_ctx {
    tools_diff *out;
    const dset *da;
    const weft_vv *va;
    const dset *db;
    const weft_vv *vb;
} diff_ctx;

static int diff_walk(void *ctx, const weft_run *r)
{
    diff_ctx *c = ctx;
    return diff_run(c->out, r, c->da, c->va, c->db, c->vb);
}

int tools__diff(weft_store *st, weft_store_doc doc, uint64_t a, uint64_t b, tools_diff *out)
{
    memset(out, 0, sizeof *out);
    weft_buf_init(&out->text);
    weft_vv va, vb;
    weft_vv_init(&va);
    weft_vv_init(&vb);
    dset da = {0}, db = {0};
    weft_doc *d = NULL;
    uint64_t built;
    int rc = tools__build(st, doc, a > b ? a : b, true, &d, &built);
    if (!rc)
        rc = tools__vv_at(st, doc, a, &va);
    if (!rc)
        rc = tools__vv_at(st, doc, b, &vb);
    if (!rc)
        rc = dset_build(d, &va, &da);
    if (!rc)
        rc = dset_build(d, &vb, &db);
    diff_ctx c = {out, &da, &va, &db, &vb};
    if (!rc)
        rc = walk_runs(d, &out->text, diff_walk, &c);
    free(da.r);
    free(db.r);
    weft_vv_cleanup(&va);
    weft_vv_cleanup(&vb);
    weft_doc_free(d);
    if (rc)
        tools__diff_free(out);
    return rc;
}

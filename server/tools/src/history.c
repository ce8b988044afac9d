/* history.c — reading a document's past from the store: documents, agents,
 * batch times, rebuilding a version, snapshots and version vectors. */
#include "tools_int.h"

/* ---- documents --------------------------------------------------------------- */

typedef struct docs_ctx {
    tools_docinfo *d;
    size_t n, cap;
    const char *only; /* NULL: every document */
    int err;
} docs_ctx;

static int docs_cb(void *ctx, const weft_store_doc_row *r)
{
    docs_ctx *c = ctx;
    if (c->only && strcmp(c->only, r->name) != 0)
        return 0;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        tools_docinfo *nd = realloc(c->d, nc * sizeof *nd);
        if (!nd)
            return c->err = WEFT_TOOLS_E_NOMEM;
        c->d = nd;
        c->cap = nc;
    }
    tools_docinfo *d = &c->d[c->n];
    d->name = strdup(r->name);
    if (!d->name)
        return c->err = WEFT_TOOLS_E_NOMEM;
    d->id = r->id;
    d->created = r->created;
    d->head = r->head_lsn;
    d->next_agent = r->next_agent;
    c->n++;
    return 0;
}

void tools__docs_free(tools_docinfo *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(d[i].name);
    free(d);
}

int tools__docs(weft_store *st, tools_docinfo **out, size_t *n)
{
    docs_ctx c = {0};
    int rc = weft_store_docs(st, docs_cb, &c);
    if (c.err || rc) {
        tools__docs_free(c.d, c.n);
        return c.err ? c.err : tools__store_err(rc);
    }
    *out = c.d;
    *n = c.n;
    return 0;
}

int tools__doc_info(weft_store *st, const char *name, tools_docinfo *out)
{
    weft_store_doc id;
    int rc = weft_store_doc_find(st, name, &id);
    if (rc)
        return tools__store_err(rc);
    docs_ctx c = {.only = name};
    rc = weft_store_docs(st, docs_cb, &c);
    if (c.err || rc || c.n != 1) {
        tools__docs_free(c.d, c.n);
        return c.err ? c.err : rc ? tools__store_err(rc) : WEFT_TOOLS_E_NOTFOUND;
    }
    *out = c.d[0];
    free(c.d);
    return 0;
}

/* ---- agents and times ----------------------------------------------------------- */

static int agent_cb(void *ctx, const weft_store_agent_row *r)
{
    tools_agents *ag = ctx;
    tools_agent *na = realloc(ag->a, (ag->n + 1) * sizeof *na);
    if (!na)
        return WEFT_TOOLS_E_NOMEM;
    ag->a = na;
    tools_agent *a = &ag->a[ag->n];
    a->agent = r->agent;
    a->created = r->created;
    a->user = NULL;
    if (r->user && !(a->user = strdup(r->user)))
        return WEFT_TOOLS_E_NOMEM;
    ag->n++;
    return 0;
}

void tools__agents_free(tools_agents *ag)
{
    for (size_t i = 0; i < ag->n; i++)
        free(ag->a[i].user);
    free(ag->a);
    ag->a = NULL;
    ag->n = 0;
}

int tools__agents_load(weft_store *st, weft_store_doc doc, tools_agents *out)
{
    out->a = NULL;
    out->n = 0;
    int rc = weft_store_agents(st, doc, agent_cb, out);
    if (rc) {
        tools__agents_free(out);
        return rc < -200 ? rc : tools__store_err(rc);
    }
    return 0;
}

static tools_agent *agent_find(const tools_agents *ag, uint32_t agent)
{
    size_t lo = 0, hi = ag->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ag->a[mid].agent < agent)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ag->n && ag->a[lo].agent == agent ? &ag->a[lo] : NULL;
}

const char *tools__agent_user(const tools_agents *ag, uint32_t agent)
{
    const tools_agent *a = agent_find(ag, agent);
    return a ? a->user : NULL;
}

typedef struct times_ctx {
    tools_times *t;
    tools_agents *ag;
} times_ctx;

/* Gives an agent without a user the author of its first batch (an agent
 * missing from the agents table is added). */
static int agent_note_author(tools_agents *ag, uint32_t agent, const char *author, int64_t t)
{
    tools_agent *a = agent_find(ag, agent);
    if (a && a->user)
        return 0;
    if (!author && a)
        return 0;
    char *u = author ? strdup(author) : NULL;
    if (author && !u)
        return WEFT_TOOLS_E_NOMEM;
    if (a) {
        a->user = u;
        return 0;
    }
    tools_agent *na = realloc(ag->a, (ag->n + 1) * sizeof *na);
    if (!na) {
        free(u);
        return WEFT_TOOLS_E_NOMEM;
    }
    ag->a = na;
    size_t i = ag->n++;
    while (i > 0 && ag->a[i - 1].agent > agent) {
        ag->a[i] = ag->a[i - 1];
        i--;
    }
    ag->a[i] = (tools_agent){agent, u, t};
    return 0;
}

static int times_cb(void *ctx, const weft_store_batch *b)
{
    times_ctx *c = ctx;
    tools_times *t = c->t;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        tools_tbatch *nb = realloc(t->b, nc * sizeof *nb);
        if (!nb)
            return WEFT_TOOLS_E_NOMEM;
        t->b = nb;
        t->cap = nc;
    }
    t->b[t->n++] = (tools_tbatch){b->agent, b->seq, b->len, b->received_at};
    return c->ag ? agent_note_author(c->ag, b->agent, b->author, b->received_at) : 0;
}

static int tbatch_cmp(const void *x, const void *y)
{
    const tools_tbatch *a = x, *b = y;
    if (a->agent != b->agent)
        return a->agent < b->agent ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void tools__times_free(tools_times *t)
{
    free(t->b);
    memset(t, 0, sizeof *t);
}

int tools__times_load(weft_store *st, weft_store_doc doc, uint64_t upto, tools_times *t,
                      tools_agents *ag)
{
    memset(t, 0, sizeof *t);
    times_ctx c = {t, ag};
    int rc = upto ? weft_store_range(st, doc, 1, upto, times_cb, &c) : 0;
    if (rc) {
        tools__times_free(t);
        return rc < -200 ? rc : tools__store_err(rc);
    }
    if (t->n)
        qsort(t->b, t->n, sizeof *t->b, tbatch_cmp);
    return 0;
}

int64_t tools__times_max(const tools_times *t, uint32_t agent, uint32_t seq, uint32_t len)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* first batch of agent ending after seq */
        size_t mid = lo + (hi - lo) / 2;
        const tools_tbatch *b = &t->b[mid];
        if (b->agent < agent || (b->agent == agent && (uint64_t)b->seq + b->len <= seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t best = 0;
    for (; lo < t->n && t->b[lo].agent == agent && t->b[lo].seq < (uint64_t)seq + len; lo++)
        if (t->b[lo].time > best)
            best = t->b[lo].time;
    return best;
}

/* ---- rebuilding a version ------------------------------------------------------------ */

int tools__apply_batch(weft_doc *d, const weft_store_batch *b, weft_proto_msg *m, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    int rc = weft_proto_batch_decode(b->ops.ptr, b->ops.len, NULL, m);
    if (rc) {
        *why = weft_proto_strerror(rc);
        return rc == WEFT_PROTO_E_NOMEM ? WEFT_TOOLS_E_NOMEM : WEFT_TOOLS_E_CORRUPT;
    }
    uint64_t next = b->seq;
    for (size_t i = 0; i < m->nops; i++) {
        const weft_op *op = &m->ops[i];
        if (op->id.agent != b->agent || op->id.seq != next) {
            *why = "batch ops do not match the row's agent and seq";
            return WEFT_TOOLS_E_CORRUPT;
        }
        next += op->len;
    }
    if (m->nops == 0 || next != (uint64_t)b->seq + b->len) {
        *why = "batch ops do not cover the row's seq range";
        return WEFT_TOOLS_E_CORRUPT;
    }
    for (size_t i = 0; i < m->nops; i++) {
        rc = weft_doc_apply(d, &m->ops[i], NULL);
        if (rc < 0) {
            *why = weft_strerror(rc);
            return rc == WEFT_E_NOMEM ? WEFT_TOOLS_E_NOMEM : WEFT_TOOLS_E_CORRUPT;
        }
    }
    return 0;
}

typedef struct build_ctx {
    weft_doc *doc;
    weft_proto_msg m;
    bool snap_bad;
} build_ctx;

static int build_snap_cb(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    build_ctx *c = ctx;
    uint32_t l;
    int rc = weft_proto_snapshot_load(state.ptr, state.len, NULL, c->doc, &l);
    if (rc) {
        c->snap_bad = true;
        return rc == WEFT_PROTO_E_NOMEM || rc == WEFT_E_NOMEM ? WEFT_TOOLS_E_NOMEM
                                                              : WEFT_TOOLS_E_CORRUPT;
    }
    return 0;
}

static int build_batch_cb(void *ctx, const weft_store_batch *b)
{
    build_ctx *c = ctx;
    return tools__apply_batch(c->doc, b, &c->m, NULL);
}

static int build_once(weft_store *st, weft_store_doc doc, uint64_t upto, bool snaps, build_ctx *c,
                      uint64_t *lsn)
{
    c->doc = weft_doc_new(WEFT_NONE);
    if (!c->doc)
        return WEFT_TOOLS_E_NOMEM;
    uint64_t head = 0;
    int rc = weft_store_load(st, doc, upto, snaps ? build_snap_cb : NULL, build_batch_cb, c, &head);
    if (rc) {
        weft_doc_free(c->doc);
        c->doc = NULL;
        return rc < -200 ? rc : tools__store_err(rc);
    }
    *lsn = head;
    return 0;
}

int tools__build(weft_store *st, weft_store_doc doc, uint64_t upto, bool use_snapshots,
                 weft_doc **out, uint64_t *lsn)
{
    *out = NULL;
    build_ctx c = {0};
    weft_proto_msg_init(&c.m);
    int rc = build_once(st, doc, upto, use_snapshots, &c, lsn);
    if (rc == WEFT_TOOLS_E_CORRUPT && c.snap_bad) /* a bad snapshot is only a cache */
        rc = build_once(st, doc, upto, false, &c, lsn);
    weft_proto_msg_cleanup(&c.m);
    if (!rc)
        *out = c.doc;
    return rc;
}

int tools__vv_at(weft_store *st, weft_store_doc doc, uint64_t lsn, weft_vv *out)
{
    weft_store_vv_entry *e = NULL;
    size_t n = 0;
    int rc = weft_store_vv_at(st, doc, lsn, &e, &n);
    if (rc)
        return tools__store_err(rc);
    for (size_t i = 0; i < n && !rc; i++)
        if (weft_vv_set(out, e[i].agent, e[i].next_seq))
            rc = WEFT_TOOLS_E_NOMEM;
    free(e);
    return rc;
}

/* ---- snapshots ---------------------------------------------------------------------- */

enum { FOUND = 1, NONE = 2 };

typedef struct snap_ctx {
    uint64_t lsn;
    weft_doc *doc;
    int err;
} snap_ctx;

static int snap_lsn_cb(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    ((snap_ctx *)ctx)->lsn = lsn;
    return FOUND;
}

static int stop_cb(void *ctx, const weft_store_batch *b)
{
    return NONE; /* a batch before any snapshot: there is none at or below upto */
}

int tools__snapshot_lsns(weft_store *st, weft_store_doc doc, uint64_t head, uint64_t **out,
                         size_t *n)
{
    uint64_t *v = NULL;
    size_t k = 0, cap = 0;
    uint64_t upto = head;
    int rc = 0;
    for (;;) {
        snap_ctx c = {0};
        int r = weft_store_load(st, doc, upto, snap_lsn_cb, stop_cb, &c, NULL);
        if (r != FOUND) {
            if (r != 0 && r != NONE)
                rc = tools__store_err(r);
            break;
        }
        if (k == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = WEFT_TOOLS_E_NOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        v[k++] = c.lsn;
        if (c.lsn == 0 || c.lsn > upto)
            break;
        upto = c.lsn - 1;
    }
    if (rc) {
        free(v);
        return rc;
    }
    for (size_t i = 0; i < k / 2; i++) { /* found newest first */
        uint64_t x = v[i];
        v[i] = v[k - 1 - i];
        v[k - 1 - i] = x;
    }
    *out = v;
    *n = k;
    return 0;
}

static int snap_load_cb(void *ctx, uint64_t lsn, weft_store_bytes state)
{
    snap_ctx *c = ctx;
    if (lsn != c->lsn)
        return NONE;
    uint32_t l;
    c->err = weft_proto_snapshot_load(state.ptr, state.len, NULL, c->doc, &l);
    return FOUND;
}

int tools__snapshot_doc(weft_store *st, weft_store_doc doc, uint64_t lsn, weft_doc **out)
{
    *out = NULL;
    snap_ctx c = {.lsn = lsn, .doc = weft_doc_new(WEFT_NONE)};
    if (!c.doc)
        return WEFT_TOOLS_E_NOMEM;
    int r = weft_store_load(st, doc, lsn, snap_load_cb, stop_cb, &c, NULL);
    if (r != FOUND || c.err) {
        weft_doc_free(c.doc);
        if (r == FOUND)
            return c.err == WEFT_E_NOMEM || c.err == WEFT_PROTO_E_NOMEM ? WEFT_TOOLS_E_NOMEM
                                                                        : WEFT_TOOLS_E_CORRUPT;
        return r == NONE || r == 0 ? WEFT_TOOLS_E_NOTFOUND : tools__store_err(r);
    }
    *out = c.doc;
    return 0;
}

/* api.c — the JSON history API (docs/api.md): GET routes under /api/docs. */
#include "tools_int.h"

#include <inttypes.h>

#define LOG_LIMIT_DEFAULT 500
#define LOG_LIMIT_MAX 5000
#define VERSIONS_LIMIT_DEFAULT 5000
#define VERSIONS_LIMIT_MAX 100000
#define NAME_MAX_BYTES 1024

typedef struct req {
    weft_store *st;
    const char *query;
    weft_buf *out;
    int status;
} req;

/* ---- responses ------------------------------------------------------------------- */

static int fail(req *r, int status, const char *msg)
{
    r->out->n = 0;
    r->status = status;
    int rc = tools__puts(r->out, "{\"error\":");
    if (!rc)
        rc = tools__json_cstr(r->out, msg);
    return rc ? rc : tools__puts(r->out, "}");
}

/* Answers a tools error: 404 for an unknown document, 500 otherwise. */
static int fail_err(req *r, int err)
{
    if (err == WEFT_TOOLS_E_NOTFOUND)
        return fail(r, 404, "no such document");
    if (err == WEFT_TOOLS_E_NOMEM)
        return err;
    return fail(r, 500, weft_tools_strerror(err));
}

/* ---- URL decoding -------------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes s[0..n) into out (cap bytes incl. NUL). plus (query
 * strings): '+' means space and a bad escape is an error. -1 for a bad
 * escape, a NUL, or no room. */
static int pct_decode(const char *s, size_t n, bool plus, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 < n && (h = hexval(s[i + 1])) >= 0 && (l = hexval(s[i + 2])) >= 0) {
                c = (char)(h << 4 | l);
                i += 2;
            } else if (plus) {
                return -1; /* query strings: strict */
            }              /* a name: a '%' without two hex digits is itself (already decoded) */
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = 0;
    return 0;
}

/* Finds key in the query: 1 and the decoded value, 0 if absent, -1 if it
 * does not decode. */
static int qget(const char *q, const char *key, char *val, size_t cap)
{
    size_t kl = strlen(key);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t nl = eq ? (size_t)(eq - q) : len;
        if (nl == kl && memcmp(q, key, kl) == 0) {
            if (!eq)
                return pct_decode("", 0, true, val, cap) ? -1 : 1;
            return pct_decode(eq + 1, len - nl - 1, true, val, cap) ? -1 : 1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* An unsigned query parameter: 1 found, 0 absent (value untouched), -1 bad. */
static int qnum(req *r, const char *key, uint64_t max, uint64_t *v)
{
    char buf[32];
    int f = qget(r->query, key, buf, sizeof buf);
    if (f <= 0)
        return f;
    return tools__parse_u64(buf, strlen(buf), max, v) ? -1 : 1;
}

static int bad_param(req *r, const char *key)
{
    char msg[96];
    snprintf(msg, sizeof msg, "parameter '%s' must be an unsigned integer in range", key);
    return fail(r, 400, msg);
}

/* ---- routes ---------------------------------------------------------------------------- */

typedef struct last_ctx {
    int64_t time;
} last_ctx;

static int last_cb(void *ctx, const weft_store_batch *b)
{
    ((last_ctx *)ctx)->time = b->received_at;
    return 0;
}

/* When the document last changed: its head batch's time, else created. */
static int doc_updated(weft_store *st, const tools_docinfo *d, int64_t *t)
{
    last_ctx c = {d->created};
    int rc = d->head ? weft_store_range(st, d->id, d->head, d->head, last_cb, &c) : 0;
    *t = c.time;
    return tools__store_err(rc);
}

static int put_docrow(weft_buf *o, weft_store *st, const tools_docinfo *d)
{
    int64_t upd;
    int rc = doc_updated(st, d, &upd);
    if (!rc)
        rc = tools__puts(o, "{\"name\":");
    if (!rc)
        rc = tools__json_cstr(o, d->name);
    if (!rc)
        rc = tools__printf(o, ",\"lsn\":%" PRIu64 ",\"created\":%" PRId64 ",\"updated\":%" PRId64,
                           d->head, d->created, upd);
    return rc;
}

static int route_docs(req *r)
{
    tools_docinfo *d;
    size_t n;
    int rc = tools__docs(r->st, &d, &n);
    if (rc)
        return fail_err(r, rc);
    rc = tools__puts(r->out, "[");
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = tools__puts(r->out, ",");
        if (!rc)
            rc = put_docrow(r->out, r->st, &d[i]);
        if (!rc)
            rc = tools__puts(r->out, "}");
    }
    if (!rc)
        rc = tools__puts(r->out, "]");
    tools__docs_free(d, n);
    return rc ? fail_err(r, rc) : 0;
}

static int route_info(req *r, const tools_docinfo *d)
{
    tools_agents ag;
    uint64_t *snaps = NULL;
    size_t ns = 0;
    int rc = tools__agents_load(r->st, d->id, &ag);
    if (rc)
        return fail_err(r, rc);
    rc = tools__snapshot_lsns(r->st, d->id, d->head, &snaps, &ns);
    if (!rc)
        rc = put_docrow(r->out, r->st, d);
    if (!rc)
        rc = tools__printf(r->out, ",\"next_agent\":%" PRIu32 ",\"agents\":[", d->next_agent);
    for (size_t i = 0; i < ag.n && !rc; i++) {
        rc = tools__printf(r->out, "%s{\"agent\":%" PRIu32 ",\"user\":", i ? "," : "",
                           ag.a[i].agent);
        if (!rc)
            rc = tools__json_cstr(r->out, ag.a[i].user);
        if (!rc)
            rc = tools__printf(r->out, ",\"created\":%" PRId64 "}", ag.a[i].created);
    }
    if (!rc)
        rc = tools__puts(r->out, "],\"snapshots\":[");
    for (size_t i = 0; i < ns && !rc; i++)
        rc = tools__printf(r->out, "%s%" PRIu64, i ? "," : "", snaps[i]);
    if (!rc)
        rc = tools__puts(r->out, "]}");
    free(snaps);
    tools__agents_free(&ag);
    return rc ? fail_err(r, rc) : 0;
}

/* The version named by ?lsn= or ?time= (default: the head). 0 and *lsn, or
 * an answer already written (1). */
static int version_param(req *r, const tools_docinfo *d, uint64_t *lsn)
{
    uint64_t v = d->head;
    int fl = qnum(r, "lsn", UINT64_MAX, &v);
    char tb[64];
    int ft = qget(r->query, "time", tb, sizeof tb);
    if (fl < 0)
        return bad_param(r, "lsn") ? -1 : 1;
    if (fl > 0 && ft != 0)
        return fail(r, 400, "give lsn or time, not both") ? -1 : 1;
    if (fl > 0 && v > d->head) {
        char msg[128];
        snprintf(msg, sizeof msg, "lsn %" PRIu64 " is beyond the document's head (%" PRIu64 ")", v,
                 d->head);
        return fail(r, 400, msg) ? -1 : 1;
    }
    if (ft != 0) {
        int64_t ms;
        if (ft < 0 || tools__time_parse(tb, &ms))
            return fail(r, 400, "time must be ISO-8601 UTC (2026-11-21T10:00:00Z) or Unix seconds")
                       ? -1
                       : 1;
        int rc = weft_store_lsn_at_time(r->st, d->id, ms, &v);
        if (rc)
            return fail_err(r, tools__store_err(rc)) ? -1 : 1;
    }
    *lsn = v;
    return 0;
}

static int route_text(req *r, const tools_docinfo *d)
{
    uint64_t lsn, got;
    int rc = version_param(r, d, &lsn);
    if (rc)
        return rc < 0 ? WEFT_TOOLS_E_NOMEM : 0;
    weft_doc *doc;
    rc = tools__build(r->st, d->id, lsn, true, &doc, &got);
    if (rc)
        return fail_err(r, rc);
    weft_buf t;
    weft_buf_init(&t);
    rc = weft_doc_text(doc, &t) ? WEFT_TOOLS_E_NOMEM : 0;
    weft_doc_free(doc);
    if (!rc)
        rc = tools__printf(r->out, "{\"lsn\":%" PRIu64 ",\"text\":", lsn);
    if (!rc)
        rc = tools__json_str(r->out, t.p ? t.p : "", t.n);
    if (!rc)
        rc = tools__puts(r->out, "}");
    weft_buf_cleanup(&t);
    return rc ? fail_err(r, rc) : 0;
}

static int put_id(weft_buf *o, const char *key, weft_id id)
{
    if (weft_id_is_none(id))
        return tools__printf(o, ",\"%s\":null", key);
    return tools__printf(o, ",\"%s\":[%" PRIu32 ",%" PRIu32 "]", key, id.agent, id.seq);
}

typedef struct log_ctx {
    weft_buf *out;
    weft_proto_msg m;
    const tools_agents *ag;
    size_t nops;
} log_ctx;

static int log_cb(void *ctx, const weft_store_batch *b)
{
    log_ctx *c = ctx;
    int rc = weft_proto_batch_decode(b->ops.ptr, b->ops.len, NULL, &c->m);
    if (rc)
        return WEFT_TOOLS_E_CORRUPT;
    const char *user = b->author ? b->author : tools__agent_user(c->ag, b->agent);
    for (size_t i = 0; i < c->m.nops && !rc; i++) {
        const weft_op *op = &c->m.ops[i];
        rc = tools__printf(c->out,
                           "%s{\"lsn\":%" PRIu64 ",\"agent\":%" PRIu32 ",\"seq\":%" PRIu32
                           ",\"len\":%" PRIu32 ",\"user\":",
                           c->nops++ ? "," : "", b->lsn, op->id.agent, op->id.seq, op->len);
        if (!rc)
            rc = tools__json_cstr(c->out, user);
        if (!rc)
            rc = tools__printf(c->out, ",\"time\":%" PRId64 ",\"kind\":\"%s\"", b->received_at,
                               op->kind == WEFT_OP_INS ? "ins" : "del");
        if (!rc && op->kind == WEFT_OP_INS) {
            rc = tools__puts(c->out, ",\"text\":");
            if (!rc)
                rc = tools__json_str(c->out, op->text, op->bytes);
            if (!rc)
                rc = put_id(c->out, "ol", op->ol);
            if (!rc)
                rc = put_id(c->out, "or", op->or);
        } else if (!rc) {
            rc = put_id(c->out, "target", op->target);
        }
        if (!rc)
            rc = tools__puts(c->out, "}");
    }
    return rc;
}

/* from/to/limit paging shared by log and versions: 0 and the LSN range
 * [*first, *last] (empty when first > last) and *next (0 = none). */
static int page_params(req *r, const tools_docinfo *d, uint64_t ldef, uint64_t lmax,
                       uint64_t *first, uint64_t *last, uint64_t *next)
{
    uint64_t from = 1, to = d->head, limit = ldef;
    if (qnum(r, "from", UINT64_MAX, &from) < 0)
        return bad_param(r, "from") ? -1 : 1;
    if (qnum(r, "to", UINT64_MAX, &to) < 0)
        return bad_param(r, "to") ? -1 : 1;
    if (qnum(r, "limit", lmax, &limit) < 0 || limit == 0)
        return bad_param(r, "limit") ? -1 : 1;
    if (from == 0)
        from = 1;
    if (to > d->head)
        to = d->head;
    *first = from;
    *last = from <= to && to - from >= limit ? from + limit - 1 : to;
    *next = *last < to ? *last + 1 : 0;
    return 0;
}

static int put_next(weft_buf *o, uint64_t next)
{
    return next ? tools__printf(o, "],\"next\":%" PRIu64 "}", next)
                : tools__puts(o, "],\"next\":null}");
}

typedef struct page {
    uint64_t first, last, next;
    tools_agents ag;
} page;

/* Reads log's or versions' paging params and loads the document's agents.
 * true: pg is ready (the caller frees pg->ag); false: the route is answered
 * and *ret is what it returns. */
static bool page_open(req *r, const tools_docinfo *d, uint64_t ldef, uint64_t lmax, page *pg,
                      int *ret)
{
    int rc = page_params(r, d, ldef, lmax, &pg->first, &pg->last, &pg->next);
    if (rc) {
        *ret = rc < 0 ? WEFT_TOOLS_E_NOMEM : 0;
        return false;
    }
    rc = tools__agents_load(r->st, d->id, &pg->ag);
    if (rc) {
        *ret = fail_err(r, rc);
        return false;
    }
    return true;
}

/* Unless rc (the status so far) is set, hands the page's batches to fn and
 * closes the list with the next link; fn's own (tools) errors pass through. */
static int page_emit(req *r, const tools_docinfo *d, const page *pg, int rc, weft_store_batch_fn fn,
                     void *ctx)
{
    if (!rc && pg->first <= pg->last) {
        rc = weft_store_range(r->st, d->id, pg->first, pg->last, fn, ctx);
        rc = rc < -200 ? rc : tools__store_err(rc);
    }
    if (!rc)
        rc = put_next(r->out, pg->next);
    return rc;
}

static int route_log(req *r, const tools_docinfo *d)
{
    page pg;
    int rc;
    if (!page_open(r, d, LOG_LIMIT_DEFAULT, LOG_LIMIT_MAX, &pg, &rc))
        return rc;
    log_ctx c = {.out = r->out, .ag = &pg.ag};
    weft_proto_msg_init(&c.m);
    rc = tools__puts(r->out, "{\"ops\":[");
    rc = page_emit(r, d, &pg, rc, log_cb, &c);
    weft_proto_msg_cleanup(&c.m);
    tools__agents_free(&pg.ag);
    return rc ? fail_err(r, rc) : 0;
}

typedef struct ver_ctx {
    weft_buf *out;
    const tools_agents *ag;
    bool any;
} ver_ctx;

static int ver_cb(void *ctx, const weft_store_batch *b)
{
    ver_ctx *c = ctx;
    int rc = tools__printf(
        c->out, "%s{\"lsn\":%" PRIu64 ",\"time\":%" PRId64 ",\"agent\":%" PRIu32 ",\"user\":",
        c->any ? "," : "", b->lsn, b->received_at, b->agent);
    c->any = true;
    if (!rc)
        rc = tools__json_cstr(c->out, b->author ? b->author : tools__agent_user(c->ag, b->agent));
    return rc ? rc : tools__puts(c->out, "}");
}

static int route_versions(req *r, const tools_docinfo *d)
{
    page pg;
    int rc;
    if (!page_open(r, d, VERSIONS_LIMIT_DEFAULT, VERSIONS_LIMIT_MAX, &pg, &rc))
        return rc;
    ver_ctx c = {r->out, &pg.ag, false};
    rc = tools__printf(r->out, "{\"lsn\":%" PRIu64 ",\"created\":%" PRId64 ",\"versions\":[",
                       d->head, d->created);
    rc = page_emit(r, d, &pg, rc, ver_cb, &c);
    tools__agents_free(&pg.ag);
    return rc ? fail_err(r, rc) : 0;
}

static int route_blame(req *r, const tools_docinfo *d)
{
    uint64_t lsn;
    int rc = version_param(r, d, &lsn);
    if (rc)
        return rc < 0 ? WEFT_TOOLS_E_NOMEM : 0;
    tools_blame b;
    rc = tools__blame(r->st, d->id, lsn, &b);
    if (rc)
        return fail_err(r, rc);
    rc = tools__printf(r->out, "{\"lsn\":%" PRIu64 ",\"spans\":[", b.lsn);
    for (size_t i = 0; i < b.n && !rc; i++) {
        const tools_span *s = &b.s[i];
        rc = tools__puts(r->out, i ? ",{\"text\":" : "{\"text\":");
        if (!rc)
            rc = tools__json_str(r->out, b.text.p + s->off, s->bytes);
        if (!rc)
            rc = tools__printf(r->out, ",\"agent\":%" PRIu32 ",\"user\":", s->agent);
        if (!rc)
            rc = tools__json_cstr(r->out, tools__agent_user(&b.agents, s->agent));
        if (!rc)
            rc = tools__printf(r->out, ",\"time\":%" PRId64 "}", s->time);
    }
    if (!rc)
        rc = tools__puts(r->out, "]}");
    tools__blame_free(&b);
    return rc ? fail_err(r, rc) : 0;
}

static int route_diff(req *r, const tools_docinfo *d)
{
    uint64_t a = 0, b = 0;
    int fa = qnum(r, "from", d->head, &a), fb = qnum(r, "to", d->head, &b);
    if (fa <= 0 || fb <= 0)
        return fail(r, 400, "diff needs from and to: LSNs between 0 and the document's head");
    tools_diff df;
    int rc = tools__diff(r->st, d->id, a, b, &df);
    if (rc)
        return fail_err(r, rc);
    static const char *const names[] = {"eq", "ins", "del"};
    rc = tools__printf(r->out, "{\"from\":%" PRIu64 ",\"to\":%" PRIu64 ",\"ops\":[", a, b);
    for (size_t i = 0; i < df.n && !rc; i++) {
        rc = tools__printf(r->out, "%s{\"op\":\"%s\",\"text\":", i ? "," : "", names[df.s[i].op]);
        if (!rc)
            rc = tools__json_str(r->out, df.text.p + df.s[i].off, df.s[i].bytes);
        if (!rc)
            rc = tools__puts(r->out, "}");
    }
    if (!rc)
        rc = tools__puts(r->out, "]}");
    tools__diff_free(&df);
    return rc ? fail_err(r, rc) : 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* The route is named by the path's last segment, so a name may contain '/'
 * whether it arrives percent-encoded or already decoded (libwebsockets
 * decodes the path before the server sees it). */
static int route_doc(req *r, const char *rest)
{
    static const char *const subs[] = {"text", "log", "blame", "diff", "versions"};
    size_t n = strlen(rest), k = 0;
    if (n && rest[n - 1] == '/')
        n--;
    size_t nl = n;
    for (k = 0; k < 5; k++) {
        size_t sl = strlen(subs[k]);
        if (n > sl + 1 && rest[n - sl - 1] == '/' && memcmp(rest + n - sl, subs[k], sl) == 0) {
            nl = n - sl - 1;
            break;
        }
    }
    char name[NAME_MAX_BYTES + 1];
    if (nl == 0 || pct_decode(rest, nl, false, name, sizeof name))
        return fail(r, 400, "bad document name");
    tools_docinfo d;
    int rc = tools__doc_info(r->st, name, &d);
    if (rc)
        return fail_err(r, rc);
    switch (k) {
    case 0:
        rc = route_text(r, &d);
        break;
    case 1:
        rc = route_log(r, &d);
        break;
    case 2:
        rc = route_blame(r, &d);
        break;
    case 3:
        rc = route_diff(r, &d);
        break;
    case 4:
        rc = route_versions(r, &d);
        break;
    default:
        rc = route_info(r, &d);
    }
    free(d.name);
    return rc;
}

int weft_api_get(weft_store *st, const char *path, const char *query, weft_buf *out, int *status)
{
    out->n = 0;
    req r = {st, query, out, 200};
    int rc;
    char *copy = NULL;
    if (path && !query && (query = strchr(path, '?')) != NULL) {
        if (!(copy = strndup(path, (size_t)(query - path))))
            return WEFT_TOOLS_E_NOMEM;
        r.query = query + 1;
        path = copy;
    }
    static const char prefix[] = "/api/docs";
    if (!st || !path || strncmp(path, prefix, sizeof prefix - 1) != 0)
        rc = fail(&r, 404, "no such route (see docs/api.md)");
    else if (path[sizeof prefix - 1] == 0 || strcmp(path + sizeof prefix - 1, "/") == 0)
        rc = route_docs(&r);
    else if (path[sizeof prefix - 1] == '/')
        rc = route_doc(&r, path + sizeof prefix);
    else
        rc = fail(&r, 404, "no such route (see docs/api.md)");
    free(copy);
    if (rc) {
        r.status = 500;
        out->n = 0;
        rc = fail(&r, 500, weft_tools_strerror(rc));
        if (rc)
            out->n = 0; /* not even the error fits: no body at all */
    }
    *status = r.status;
    return rc;
}

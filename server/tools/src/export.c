/* export.c — `weft export` / `weft import`: a self-contained, line-oriented
 * file holding a document's agents and every op batch (docs/cli.md, "Export
 * file format").
 *
 *   line 1
 * {"weft_export":1,"doc":NAME,"created":T,"head":N,"agents":[{"agent","user","created"}...]} line
 * 1+i  {"lsn":i,"agent":A,"seq":S,"len":L,"author":U|null,"time":T,"ops":BASE64} last
 * {"end":true,"batches":N,"text":TEXT,"vv":[[agent,next_seq]...]}
 *
 * "ops" is the stored batch exactly (protocol codec bytes, standard base64
 * with padding). The trailer's text and vv let an import prove it rebuilt
 * the same document. Import validates the whole file and replays it in
 * memory before it writes anything.
 */
#include "tools_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#define EXPORT_VERSION 1
#define IMPORT_GROUP 4096
/* Agent numbers a file may skip in total (each costs a row on import). */
#define MAX_AGENT_GAP (1u << 20)

/* ---- export ------------------------------------------------------------------------ */

typedef struct exp_ctx {
    FILE *out;
    weft_buf line;
    char *b64;
    size_t b64cap;
    weft_doc *doc;
    weft_proto_msg m;
    uint64_t count;
    const char *why;
    int err;
} exp_ctx;

static int exp_cb(void *ctx, const weft_store_batch *b)
{
    exp_ctx *c = ctx;
    int rc = tools__apply_batch(c->doc, b, &c->m, &c->why);
    if (rc)
        return c->err = rc;
    size_t need = tools__b64_len(b->ops.len, false) + 1;
    if (need > c->b64cap) {
        char *nb = realloc(c->b64, need);
        if (!nb)
            return c->err = WEFT_TOOLS_E_NOMEM;
        c->b64 = nb;
        c->b64cap = need;
    }
    tools__b64_encode(b->ops.ptr, b->ops.len, false, c->b64);
    c->line.n = 0;
    rc = tools__printf(&c->line,
                       "{\"lsn\":%" PRIu64 ",\"agent\":%" PRIu32 ",\"seq\":%" PRIu32
                       ",\"len\":%" PRIu32 ",\"author\":",
                       b->lsn, b->agent, b->seq, b->len);
    if (!rc)
        rc = tools__json_cstr(&c->line, b->author);
    if (!rc)
        rc = tools__printf(&c->line, ",\"time\":%" PRId64 ",\"ops\":\"%s\"}\n", b->received_at,
                           c->b64);
    if (rc)
        return c->err = rc;
    if (fwrite(c->line.p, 1, c->line.n, c->out) != c->line.n)
        return c->err = WEFT_TOOLS_E_IO;
    c->count++;
    return 0;
}

static int put_vv(weft_buf *o, const weft_doc *d)
{
    weft_vv vv;
    weft_vv_init(&vv);
    int rc = weft_doc_version(d, &vv) ? WEFT_TOOLS_E_NOMEM : tools__puts(o, "[");
    for (size_t i = 0; i < vv.n && !rc; i++)
        rc = tools__printf(o, "%s[%" PRIu32 ",%" PRIu32 "]", i ? "," : "", vv.v[i].agent,
                           vv.v[i].next_seq);
    if (!rc)
        rc = tools__puts(o, "]");
    weft_vv_cleanup(&vv);
    return rc;
}

int tools__export(weft_store *st, const char *name, FILE *out, FILE *log)
{
    tools_docinfo di;
    int rc = tools__doc_info(st, name, &di); /* the head first: see the agents below */
    if (rc)
        return rc;
    tools_agents ag = {0};
    exp_ctx c = {.out = out};
    weft_buf_init(&c.line);
    weft_proto_msg_init(&c.m);
    /* Every batch at or below the head was committed after its agent, so
     * reading agents after the head misses none of them. */
    rc = tools__agents_load(st, di.id, &ag);
    if (!rc && !(c.doc = weft_doc_new(WEFT_NONE)))
        rc = WEFT_TOOLS_E_NOMEM;
    if (!rc)
        rc = tools__printf(&c.line, "{\"weft_export\":%d,\"doc\":", EXPORT_VERSION);
    if (!rc)
        rc = tools__json_cstr(&c.line, di.name);
    if (!rc)
        rc = tools__printf(&c.line, ",\"created\":%" PRId64 ",\"head\":%" PRIu64 ",\"agents\":[",
                           di.created, di.head);
    for (size_t i = 0; i < ag.n && !rc; i++) {
        rc = tools__printf(&c.line, "%s{\"agent\":%" PRIu32 ",\"user\":", i ? "," : "",
                           ag.a[i].agent);
        if (!rc)
            rc = tools__json_cstr(&c.line, ag.a[i].user);
        if (!rc)
            rc = tools__printf(&c.line, ",\"created\":%" PRId64 "}", ag.a[i].created);
    }
    if (!rc)
        rc = tools__puts(&c.line, "]}\n");
    if (!rc && fwrite(c.line.p, 1, c.line.n, out) != c.line.n)
        rc = WEFT_TOOLS_E_IO;
    if (!rc && di.head) {
        rc = weft_store_range(st, di.id, 1, di.head, exp_cb, &c);
        rc = c.err ? c.err : tools__store_err(rc);
        if (!rc && c.count != di.head)
            rc = WEFT_TOOLS_E_CORRUPT;
        if (rc == WEFT_TOOLS_E_CORRUPT && log)
            fprintf(log, "export: %s: batch %" PRIu64 ": %s\n", di.name, c.count + 1,
                    c.why ? c.why : "missing");
    }
    weft_buf text;
    weft_buf_init(&text);
    if (!rc && weft_doc_text(c.doc, &text))
        rc = WEFT_TOOLS_E_NOMEM;
    c.line.n = 0;
    if (!rc)
        rc = tools__printf(&c.line, "{\"end\":true,\"batches\":%" PRIu64 ",\"text\":", c.count);
    if (!rc)
        rc = tools__json_str(&c.line, text.p ? text.p : "", text.n);
    if (!rc)
        rc = tools__puts(&c.line, ",\"vv\":");
    if (!rc)
        rc = put_vv(&c.line, c.doc);
    if (!rc)
        rc = tools__puts(&c.line, "}\n");
    if (!rc && (fwrite(c.line.p, 1, c.line.n, out) != c.line.n || fflush(out) != 0))
        rc = WEFT_TOOLS_E_IO;
    if (!rc && log)
        fprintf(log, "export: %s: %" PRIu64 " batch%s, %zu agent%s\n", di.name, c.count,
                c.count == 1 ? "" : "es", ag.n, ag.n == 1 ? "" : "s");
    weft_buf_cleanup(&text);
    weft_buf_cleanup(&c.line);
    weft_proto_msg_cleanup(&c.m);
    weft_doc_free(c.doc);
    free(c.b64);
    tools__agents_free(&ag);
    free(di.name);
    return rc;
}

/* ---- import: parsing ------------------------------------------------------------------- */

typedef struct ibatch {
    uint32_t agent, seq, len;
    char *author;
    int64_t time;
    uint8_t *bytes;
    size_t n;
} ibatch;

typedef struct ifile {
    char *doc;
    int64_t created;
    tools_agents agents;
    ibatch *b;
    size_t n, cap;
    char *text;
    size_t text_n;
    weft_vv vv;
    uint64_t line; /* for messages */
} ifile;

static void ifile_free(ifile *f)
{
    free(f->doc);
    tools__agents_free(&f->agents);
    for (size_t i = 0; i < f->n; i++) {
        free(f->b[i].author);
        free(f->b[i].bytes);
    }
    free(f->b);
    free(f->text);
    weft_vv_cleanup(&f->vv);
}

static bool get_u(json_t *o, const char *k, uint64_t max, uint64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x) || json_integer_value(x) < 0 || (uint64_t)json_integer_value(x) > max)
        return false;
    *v = (uint64_t)json_integer_value(x);
    return true;
}

static bool get_i(json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x))
        return false;
    *v = json_integer_value(x);
    return true;
}

/* A string or null member: true and a copy (NULL for null). */
static bool get_sn(json_t *o, const char *k, char **out)
{
    json_t *x = json_object_get(o, k);
    *out = NULL;
    if (json_is_null(x))
        return true;
    if (!json_is_string(x) || memchr(json_string_value(x), 0, json_string_length(x)))
        return false;
    return (*out = strdup(json_string_value(x))) != NULL;
}

static int parse_header(ifile *f, json_t *h)
{
    uint64_t ver;
    int64_t created;
    json_t *ags = json_object_get(h, "agents");
    if (!get_u(h, "weft_export", UINT32_MAX, &ver) || ver != EXPORT_VERSION ||
        !get_i(h, "created", &created) || !json_is_array(ags) || !get_sn(h, "doc", &f->doc) ||
        !f->doc || !*f->doc)
        return WEFT_TOOLS_E_FORMAT;
    f->created = created;
    size_t n = json_array_size(ags);
    if (n && !(f->agents.a = calloc(n, sizeof *f->agents.a)))
        return WEFT_TOOLS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(ags, i);
        uint64_t agent;
        int64_t t;
        char *user;
        if (!json_is_object(a) || !get_u(a, "agent", WEFT_NONE - 1, &agent) ||
            !get_i(a, "created", &t) || !get_sn(a, "user", &user))
            return WEFT_TOOLS_E_FORMAT;
        f->agents.a[f->agents.n++] = (tools_agent){(uint32_t)agent, user, t};
        if (i && f->agents.a[i - 1].agent >= agent)
            return WEFT_TOOLS_E_FORMAT; /* strictly increasing */
        if (agent > i + MAX_AGENT_GAP)
            return WEFT_TOOLS_E_FORMAT; /* numbers the import would have to burn */
    }
    return 0;
}

static int parse_batch(ifile *f, json_t *o)
{
    uint64_t lsn, agent, seq, len;
    int64_t t;
    json_t *ops = json_object_get(o, "ops");
    if (!get_u(o, "lsn", UINT64_MAX, &lsn) || lsn != f->n + 1 ||
        !get_u(o, "agent", WEFT_NONE - 1, &agent) || !get_u(o, "seq", UINT32_MAX, &seq) ||
        !get_u(o, "len", UINT32_MAX, &len) || len == 0 || seq + len > UINT32_MAX ||
        !get_i(o, "time", &t) || !json_is_string(ops))
        return WEFT_TOOLS_E_FORMAT;
    bool known = false;
    for (size_t i = 0; i < f->agents.n && !known; i++)
        known = f->agents.a[i].agent == agent;
    if (!known)
        return WEFT_TOOLS_E_FORMAT;
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 256;
        ibatch *nb = realloc(f->b, nc * sizeof *nb);
        if (!nb)
            return WEFT_TOOLS_E_NOMEM;
        f->b = nb;
        f->cap = nc;
    }
    ibatch *b = &f->b[f->n];
    memset(b, 0, sizeof *b);
    size_t sl = json_string_length(ops);
    size_t cap = sl / 4 * 3 + 3;
    if (!get_sn(o, "author", &b->author))
        return WEFT_TOOLS_E_FORMAT;
    f->n++; /* owned from here on, freed by ifile_free */
    if (!(b->bytes = malloc(cap)))
        return WEFT_TOOLS_E_NOMEM;
    if (tools__b64_decode(json_string_value(ops), sl, false, b->bytes, cap, &b->n) || b->n == 0)
        return WEFT_TOOLS_E_FORMAT;
    b->agent = (uint32_t)agent;
    b->seq = (uint32_t)seq;
    b->len = (uint32_t)len;
    b->time = t;
    return 0;
}

static int parse_trailer(ifile *f, json_t *o)
{
    uint64_t count;
    json_t *text = json_object_get(o, "text"), *vv = json_object_get(o, "vv");
    if (!json_is_true(json_object_get(o, "end")) || !get_u(o, "batches", UINT64_MAX, &count) ||
        count != f->n || !json_is_string(text) || !json_is_array(vv))
        return WEFT_TOOLS_E_FORMAT;
    f->text_n = json_string_length(text);
    if (!(f->text = malloc(f->text_n + 1)))
        return WEFT_TOOLS_E_NOMEM;
    memcpy(f->text, json_string_value(text), f->text_n + 1);
    for (size_t i = 0; i < json_array_size(vv); i++) {
        json_t *e = json_array_get(vv, i);
        json_t *a = json_array_get(e, 0), *s = json_array_get(e, 1);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_integer(a) ||
            !json_is_integer(s) || json_integer_value(a) < 0 ||
            json_integer_value(a) >= WEFT_NONE || json_integer_value(s) <= 0 ||
            json_integer_value(s) > UINT32_MAX)
            return WEFT_TOOLS_E_FORMAT;
        if (weft_vv_set(&f->vv, (uint32_t)json_integer_value(a), (uint32_t)json_integer_value(s)))
            return WEFT_TOOLS_E_NOMEM;
    }
    return 0;
}

static int parse_file(ifile *f, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0, state = 0; /* 0 header, 1 batches, 2 done */
    while (!rc && (len = getline(&line, &cap, in)) >= 0) {
        f->line++;
        if (state == 2) {
            rc = WEFT_TOOLS_E_FORMAT; /* bytes after the trailer */
            break;
        }
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(o))
            rc = WEFT_TOOLS_E_FORMAT;
        else if (state == 0)
            rc = parse_header(f, o), state = 1;
        else if (json_object_get(o, "end"))
            rc = parse_trailer(f, o), state = 2;
        else
            rc = parse_batch(f, o);
        json_decref(o);
    }
    if (!rc && ferror(in))
        rc = WEFT_TOOLS_E_IO;
    if (!rc && state != 2)
        rc = WEFT_TOOLS_E_FORMAT; /* truncated */
    free(line);
    return rc;
}

/* ---- import: verifying and writing ------------------------------------------------------ */

static weft_store_batch as_batch(const ibatch *b, uint64_t lsn)
{
    return (weft_store_batch){lsn, b->agent, b->seq, b->len, b->author, b->time, {b->bytes, b->n}};
}

/* Replays the file in memory; the result must match the trailer. */
static int verify_file(const ifile *f, weft_doc **out, FILE *log)
{
    weft_doc *d = weft_doc_new(WEFT_NONE);
    if (!d)
        return WEFT_TOOLS_E_NOMEM;
    weft_proto_msg m;
    weft_proto_msg_init(&m);
    int rc = 0;
    for (size_t i = 0; i < f->n && !rc; i++) {
        weft_store_batch b = as_batch(&f->b[i], i + 1);
        const char *why;
        rc = tools__apply_batch(d, &b, &m, &why);
        if (rc && log)
            fprintf(log, "import: batch %zu: %s\n", i + 1, why ? why : weft_tools_strerror(rc));
    }
    weft_proto_msg_cleanup(&m);
    weft_buf t;
    weft_vv vv;
    weft_buf_init(&t);
    weft_vv_init(&vv);
    if (!rc && (weft_doc_text(d, &t) || weft_doc_version(d, &vv)))
        rc = WEFT_TOOLS_E_NOMEM;
    if (!rc && (t.n != f->text_n || (t.n && memcmp(t.p, f->text, t.n) != 0) || vv.n != f->vv.n ||
                (vv.n && memcmp(vv.v, f->vv.v, vv.n * sizeof *vv.v)))) {
        if (log)
            fprintf(log, "import: the replayed document differs from the file's final text\n");
        rc = WEFT_TOOLS_E_MISMATCH;
    }
    if (!rc && weft_doc_check(d))
        rc = WEFT_TOOLS_E_CORRUPT;
    weft_buf_cleanup(&t);
    weft_vv_cleanup(&vv);
    if (rc)
        weft_doc_free(d);
    else
        *out = d;
    return rc;
}

static void nap(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* Waits for the n completions of the requests just flushed: each must
 * succeed and report what its token says (the LSN of an append, the number
 * of a new agent) — anything else means another writer got in between. */
static int wait_done(weft_store *st, size_t n)
{
    weft_store_completion cs[256];
    size_t done = 0;
    while (done < n) {
        size_t k = weft_store_poll(st, cs, 256);
        if (!k) {
            nap();
            continue;
        }
        for (size_t j = 0; j < k; j++) {
            const weft_store_completion *c = &cs[j];
            if (c->status != 0)
                return c->status < 0 ? tools__store_err(c->status) : WEFT_TOOLS_E_STORE;
            uint64_t got = c->kind == WEFT_STORE_REQ_APPEND ? c->lsn : c->agent;
            if (got != c->token)
                return WEFT_TOOLS_E_STORE;
        }
        done += k;
    }
    return 0;
}

/* Appends batches [from, to) as one group (one transaction). */
static int append_group(weft_store *st, weft_store_doc doc, const ifile *f, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const ibatch *b = &f->b[i];
        weft_store_append_req r = {doc,       b->agent, b->seq,          b->len,
                                   b->author, b->time,  {b->bytes, b->n}};
        int rc = weft_store_submit_append(st, &r, i + 1);
        if (rc)
            return tools__store_err(rc);
    }
    weft_store_flush(st);
    return wait_done(st, to - from);
}

/* Agents keep their numbers: a new document hands out 0, 1, 2 ..., so
 * every number up to the highest is allocated in order (numbers the file
 * lacks get no user). */
static int agents_write(weft_store *st, weft_store_doc doc, const ifile *f)
{
    if (!f->agents.n)
        return 0;
    uint64_t top = f->agents.a[f->agents.n - 1].agent;
    size_t k = 0;
    for (uint64_t a = 0; a <= top;) {
        uint64_t end = a + IMPORT_GROUP <= top + 1 ? a + IMPORT_GROUP : top + 1, n = end - a;
        for (; a < end; a++) {
            const tools_agent *src =
                k < f->agents.n && f->agents.a[k].agent == a ? &f->agents.a[k++] : NULL;
            int rc = weft_store_submit_agent(st, doc, src ? src->user : NULL,
                                             src ? src->created : f->created, a);
            if (rc)
                return tools__store_err(rc);
        }
        weft_store_flush(st);
        int rc = wait_done(st, n);
        if (rc)
            return rc;
    }
    return 0;
}

static int write_doc(weft_store *st, const ifile *f, const char *name, const weft_doc *d,
                     weft_store_doc *id)
{
    int rc = weft_store_doc_find(st, name, id);
    if (rc != WEFT_STORE_E_NOTFOUND)
        return rc ? tools__store_err(rc) : WEFT_TOOLS_E_EXISTS;
    rc = weft_store_doc_ensure(st, name, f->created, id);
    if (rc)
        return rc == WEFT_STORE_ALREADY ? WEFT_TOOLS_E_EXISTS : tools__store_err(rc);
    rc = agents_write(st, *id, f);
    for (size_t i = 0; i < f->n && !rc; i += IMPORT_GROUP)
        rc = append_group(st, *id, f, i, i + IMPORT_GROUP < f->n ? i + IMPORT_GROUP : f->n);
    weft_buf snap;
    weft_buf_init(&snap);
    if (!rc && weft_proto_snapshot_encode(d, (uint32_t)f->n, &snap))
        rc = WEFT_TOOLS_E_NOMEM;
    int64_t last = f->n ? f->b[f->n - 1].time : f->created;
    if (!rc && f->n)
        rc = tools__store_err(weft_store_snapshot_put(
            st, *id, f->n, (weft_store_bytes){(const uint8_t *)snap.p, snap.n}, last));
    weft_buf_cleanup(&snap);
    return rc;
}

int tools__import(weft_store *st, FILE *in, const char *as, FILE *log)
{
    ifile f = {0};
    weft_vv_init(&f.vv);
    weft_doc *d = NULL, *back = NULL;
    int rc = parse_file(&f, in);
    if (rc == WEFT_TOOLS_E_FORMAT && log)
        fprintf(log, "import: line %" PRIu64 ": not a valid Weft export line\n", f.line);
    if (!rc)
        rc = verify_file(&f, &d, log);
    const char *name = as ? as : f.doc;
    weft_store_doc id = 0;
    if (!rc && !st) { /* only checking the file */
        if (log)
            fprintf(log, "import: valid export of '%s': %zu batch%s, %zu agent%s\n", f.doc, f.n,
                    f.n == 1 ? "" : "es", f.agents.n, f.agents.n == 1 ? "" : "s");
        goto out;
    }
    if (!rc)
        rc = write_doc(st, &f, name, d, &id);
    if (rc == WEFT_TOOLS_E_EXISTS && log)
        fprintf(log, "import: document '%s' exists already (choose another with --as)\n", name);
    uint64_t lsn;
    char why[256] = "";
    if (!rc)
        rc = tools__build(st, id, UINT64_MAX, false, &back, &lsn);
    if (!rc && (lsn != f.n || tools__doc_compare(back, d, why, sizeof why))) {
        if (log)
            fprintf(log, "import: '%s' read back differs: %s\n", name, why);
        rc = WEFT_TOOLS_E_MISMATCH;
    }
    if (!rc && log)
        fprintf(log, "import: '%s': %zu batch%s, %zu agent%s, %zu bytes of text\n", name, f.n,
                f.n == 1 ? "" : "es", f.agents.n, f.agents.n == 1 ? "" : "s", f.text_n);
out:
    weft_doc_free(back);
    weft_doc_free(d);
    ifile_free(&f);
    return rc;
}

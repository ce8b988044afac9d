/* cli_history.c — weft cat, log, blame and diff: the history API's content
 * for a terminal. Each returns an exit code (0 ok, 1 failure). */
#include "tools_int.h"

#include <inttypes.h>
#include <stdio.h>

static int report(tools_cli *c, const char *doc, int rc)
{
    if (rc == WEFT_TOOLS_E_NOTFOUND)
        fprintf(c->err, "weft: no document '%s'\n", doc);
    else if (rc)
        fprintf(c->err, "weft: %s: %s\n", doc, weft_tools_strerror(rc));
    return rc ? 1 : 0;
}

/* Resolves --at against the document: an LSN <= head. */
static int resolve_at(tools_cli *c, const tools_docinfo *d, const tools_at *at, uint64_t *lsn)
{
    *lsn = d->head;
    if (!at || !at->set)
        return 0;
    if (at->is_time) {
        int rc = weft_store_lsn_at_time(c->st, d->id, at->ms, lsn);
        return rc ? tools__store_err(rc) : 0;
    }
    if (at->lsn > d->head) {
        fprintf(c->err, "weft: %s: LSN %" PRIu64 " is beyond the head (%" PRIu64 ")\n", d->name,
                at->lsn, d->head);
        return WEFT_TOOLS_E_INVAL;
    }
    *lsn = at->lsn;
    return 0;
}

int tools__cli_cat(tools_cli *c, const char *doc, const tools_at *at)
{
    tools_docinfo d;
    int rc = tools__doc_info(c->st, doc, &d);
    if (rc)
        return report(c, doc, rc);
    uint64_t lsn, got;
    weft_doc *wd = NULL;
    weft_buf t;
    weft_buf_init(&t);
    rc = resolve_at(c, &d, at, &lsn);
    if (!rc)
        rc = tools__build(c->st, d.id, lsn, true, &wd, &got);
    if (!rc && weft_doc_text(wd, &t))
        rc = WEFT_TOOLS_E_NOMEM;
    if (!rc && t.n && fwrite(t.p, 1, t.n, c->out) != t.n)
        rc = WEFT_TOOLS_E_IO;
    weft_buf_cleanup(&t);
    weft_doc_free(wd);
    free(d.name);
    return rc == WEFT_TOOLS_E_INVAL ? 1 : report(c, doc, rc);
}

typedef struct log_ctx {
    tools_cli *c;
    const tools_agents *ag;
    weft_proto_msg m;
    weft_buf line;
} log_ctx;

static int log_cb(void *ctx, const weft_store_batch *b)
{
    log_ctx *l = ctx;
    int rc = weft_proto_batch_decode(b->ops.ptr, b->ops.len, NULL, &l->m);
    if (rc)
        return WEFT_TOOLS_E_CORRUPT;
    char when[40];
    tools__time_format(b->received_at, when, sizeof when);
    const char *user = b->author ? b->author : tools__agent_user(l->ag, b->agent);
    for (size_t i = 0; i < l->m.nops && !rc; i++) {
        const weft_op *op = &l->m.ops[i];
        l->line.n = 0;
        rc = tools__printf(&l->line, "%-6" PRIu64 " %s %-12s %" PRIu32 ":%" PRIu32 " ", b->lsn,
                           when, user ? user : "-", op->id.agent, op->id.seq);
        if (!rc && op->kind == WEFT_OP_INS) {
            rc = tools__puts(&l->line, "ins ");
            if (!rc)
                rc = tools__json_str(&l->line, op->text, op->bytes);
        } else if (!rc) {
            rc = tools__printf(&l->line, "del %" PRIu32 " at %" PRIu32 ":%" PRIu32, op->len,
                               op->target.agent, op->target.seq);
        }
        if (!rc)
            rc = tools__puts(&l->line, "\n");
        if (!rc && fwrite(l->line.p, 1, l->line.n, l->c->out) != l->line.n)
            rc = WEFT_TOOLS_E_IO;
    }
    return rc;
}

int tools__cli_log(tools_cli *c, const char *doc, uint64_t from, uint64_t to)
{
    tools_docinfo d;
    int rc = tools__doc_info(c->st, doc, &d);
    if (rc)
        return report(c, doc, rc);
    tools_agents ag;
    rc = tools__agents_load(c->st, d.id, &ag);
    if (!rc) {
        log_ctx l = {.c = c, .ag = &ag};
        weft_proto_msg_init(&l.m);
        weft_buf_init(&l.line);
        if (to > d.head)
            to = d.head;
        if (from < 1)
            from = 1;
        if (from <= to) {
            rc = weft_store_range(c->st, d.id, from, to, log_cb, &l);
            rc = rc < -200 ? rc : tools__store_err(rc);
        }
        weft_proto_msg_cleanup(&l.m);
        weft_buf_cleanup(&l.line);
        tools__agents_free(&ag);
    }
    free(d.name);
    return report(c, doc, rc);
}

int tools__cli_blame(tools_cli *c, const char *doc, const tools_at *at)
{
    tools_docinfo d;
    int rc = tools__doc_info(c->st, doc, &d);
    if (rc)
        return report(c, doc, rc);
    uint64_t lsn;
    tools_blame b;
    rc = resolve_at(c, &d, at, &lsn);
    if (!rc)
        rc = tools__blame(c->st, d.id, lsn, &b);
    free(d.name);
    if (rc)
        return rc == WEFT_TOOLS_E_INVAL ? 1 : report(c, doc, rc);
    weft_buf line;
    weft_buf_init(&line);
    for (size_t i = 0; i < b.n && !rc; i++) {
        const tools_span *s = &b.s[i];
        const char *user = tools__agent_user(&b.agents, s->agent);
        char when[40];
        tools__time_format(s->time, when, sizeof when);
        line.n = 0;
        rc = tools__printf(&line, "%-12s %-5" PRIu32 " %s ", user ? user : "-", s->agent, when);
        if (!rc)
            rc = tools__json_str(&line, b.text.p + s->off, s->bytes);
        if (!rc)
            rc = tools__puts(&line, "\n");
        if (!rc && fwrite(line.p, 1, line.n, c->out) != line.n)
            rc = WEFT_TOOLS_E_IO;
    }
    weft_buf_cleanup(&line);
    tools__blame_free(&b);
    return report(c, doc, rc);
}

int tools__cli_diff(tools_cli *c, const char *doc, uint64_t a, uint64_t b)
{
    tools_docinfo d;
    int rc = tools__doc_info(c->st, doc, &d);
    if (rc)
        return report(c, doc, rc);
    if (a > d.head || b > d.head) {
        fprintf(c->err, "weft: %s: LSNs must be at most the head (%" PRIu64 ")\n", doc, d.head);
        free(d.name);
        return 1;
    }
    tools_diff df;
    rc = tools__diff(c->st, d.id, a, b, &df);
    free(d.name);
    if (rc)
        return report(c, doc, rc);
    static const char *const open[] = {"", "{+", "[-"}, *const close[] = {"", "+}", "-]"};
    bool nl = true;
    for (size_t i = 0; i < df.n; i++) {
        const tools_seg *s = &df.s[i];
        fputs(open[s->op], c->out);
        fwrite(df.text.p + s->off, 1, s->bytes, c->out);
        fputs(close[s->op], c->out);
        nl = s->op == TOOLS_EQ && s->bytes && df.text.p[s->off + s->bytes - 1] == '\n';
    }
    if (!nl)
        fputc('\n', c->out);
    if (ferror(c->out))
        rc = WEFT_TOOLS_E_IO;
    tools__diff_free(&df);
    return report(c, doc, rc);
}

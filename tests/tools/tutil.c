/* tutil.c — the tools tests' fixture (see tutil.h). */
#include "tutil.h"

#include <unistd.h>

static const char *const USERS[2] = {"alice", "bob"};

void fx_open_empty(fx *f)
{
    memset(f, 0, sizeof *f);
    const char *base = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/weft-tools-XXXXXX", base && *base ? base : "/tmp");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->db, sizeof f->db, "%s/weft.db", f->dir);
    CHECK(weft_store_open(f->db, NULL, &f->st) == 0);
    CHECK(weft_store_doc_ensure(f->st, "notes", 1700000000000, &f->doc) == 0);
    for (uint32_t a = 0; a < 2; a++) {
        uint32_t got;
        CHECK(weft_store_agent_new(f->st, f->doc, USERS[a], 1700000000000, &got) == 0);
        CHECK_EQ(got, a);
        CHECK((f->rep[a] = weft_doc_new(a)) != NULL);
    }
    CHECK((f->server = weft_doc_new(WEFT_NONE)) != NULL);
    f->text[0] = strdup("");
    f->time = 1700000000000;
}

static char *doc_text(const weft_doc *d)
{
    weft_buf b;
    weft_buf_init(&b);
    CHECK(weft_doc_text(d, &b) == 0);
    char *s = malloc(b.n + 1);
    CHECK(s);
    memcpy(s, b.p ? b.p : "", b.n);
    s[b.n] = 0;
    weft_buf_cleanup(&b);
    return s;
}

/* Appends the ops as one batch by agent `who` and integrates it on the
 * server replica. */
static void commit(fx *f, int who, const weft_oplist *ops)
{
    CHECK(ops->n > 0);
    weft_buf enc;
    weft_buf_init(&enc);
    CHECK(weft_proto_batch_encode(NULL, 0, ops->ops, ops->n, &enc) == 0);
    uint32_t len = 0;
    for (size_t i = 0; i < ops->n; i++)
        len += ops->ops[i].len;
    f->time += 60000; /* one minute apart */
    weft_store_append_req r = {f->doc,
                               (uint32_t)who,
                               ops->ops[0].id.seq,
                               len,
                               USERS[who],
                               f->time,
                               {(const uint8_t *)enc.p, enc.n}};
    uint64_t lsn;
    CHECK(weft_store_append(f->st, &r, &lsn) == 0);
    CHECK_EQ(lsn, f->lsn + 1);
    CHECK(lsn < FX_MAX);
    f->lsn = lsn;
    for (size_t i = 0; i < ops->n; i++)
        CHECK(weft_doc_apply(f->server, &ops->ops[i], NULL) == WEFT_APPLIED);
    f->text[lsn] = doc_text(f->server);
    f->at[lsn] = f->time;
    weft_buf_cleanup(&enc);
}

void fx_insert(fx *f, int who, uint32_t pos, const char *text)
{
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK(weft_doc_insert(f->rep[who], pos, text, strlen(text), &l) == 0);
    commit(f, who, &l);
    weft_oplist_cleanup(&l);
}

void fx_delete(fx *f, int who, uint32_t pos, uint32_t len)
{
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK(weft_doc_delete(f->rep[who], pos, len, &l) == 0);
    commit(f, who, &l);
    weft_oplist_cleanup(&l);
}

void fx_replace(fx *f, int who, uint32_t pos, uint32_t len, const char *text)
{
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK(weft_doc_delete(f->rep[who], pos, len, &l) == 0);
    CHECK(weft_doc_insert(f->rep[who], pos, text, strlen(text), &l) == 0);
    commit(f, who, &l);
    weft_oplist_cleanup(&l);
}

void fx_sync(fx *f, int who)
{
    weft_vv have;
    weft_vv_init(&have);
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK(weft_doc_version(f->rep[who], &have) == 0);
    CHECK(weft_doc_ops_since(f->rep[1 - who], &have, &l) == 0);
    for (size_t i = 0; i < l.n; i++)
        CHECK(weft_doc_apply(f->rep[who], &l.ops[i], NULL) >= 0);
    weft_oplist_cleanup(&l);
    weft_vv_cleanup(&have);
}

void fx_snapshot(fx *f)
{
    weft_buf b;
    weft_buf_init(&b);
    CHECK(weft_proto_snapshot_encode(f->server, (uint32_t)f->lsn, &b) == 0);
    CHECK(weft_store_snapshot_put(f->st, f->doc, f->lsn,
                                  (weft_store_bytes){(const uint8_t *)b.p, b.n}, f->time) == 0);
    weft_buf_cleanup(&b);
}

void fx_open(fx *f)
{
    fx_open_empty(f);
    fx_insert(f, 0, 0, "Hello world\n"); /* 1 */
    fx_sync(f, 1);
    fx_insert(f, 1, 0, "Bob: "); /* 2 */
    fx_sync(f, 0);
    fx_insert(f, 0, 17, "second line \"quoted\" \\ tab\t"); /* 3 */
    fx_snapshot(f);
    fx_sync(f, 1);
    /* concurrent: alice appends, bob deletes "world" */
    fx_insert(f, 0, 44, " ALICE h\xc3\xa9llo \xf0\x9f\x98\x80"); /* 4 */
    fx_delete(f, 1, 11, 5);                                      /* 5 */
    fx_sync(f, 0);
    fx_sync(f, 1);
    fx_replace(f, 1, 5, 5,
               "Bo\xe2\x80\xa8"
               "b\x01!"); /* 6: U+2028 and a control char */
    fx_snapshot(f);
    fx_sync(f, 0);
    fx_delete(f, 0, 0, 3); /* 7 */
    fx_sync(f, 1);
    fx_insert(f, 1, 2, "x"); /* 8: inside alice's deleted/kept area */
    fx_sync(f, 0);
}

void fx_close(fx *f)
{
    weft_store_close(f->st);
    for (int a = 0; a < 2; a++)
        weft_doc_free(f->rep[a]);
    weft_doc_free(f->server);
    for (int i = 0; i < FX_MAX; i++)
        free(f->text[i]);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    CHECK(system(cmd) == 0);
}

static char *slurp(FILE *t)
{
    fflush(t);
    long n = ftell(t);
    CHECK(n >= 0);
    char *s = malloc((size_t)n + 1);
    CHECK(s);
    rewind(t);
    CHECK(fread(s, 1, (size_t)n, t) == (size_t)n);
    s[n] = 0;
    fclose(t);
    return s;
}

int fx_cli(fx *f, char **out, char **err, const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    char **v = calloc((size_t)argc + 2, sizeof *v);
    CHECK(v);
    v[0] = "weft";
    for (int i = 0; i < argc; i++)
        v[i + 1] = (char *)argv[i];
    FILE *o = tmpfile(), *e = tmpfile();
    CHECK(o && e);
    int rc = weft_cli_run_io(argc + 1, v, f->db, o, e);
    free(v);
    char *so = slurp(o), *se = slurp(e);
    if (out)
        *out = so;
    else
        free(so);
    if (err)
        *err = se;
    else
        free(se);
    return rc;
}

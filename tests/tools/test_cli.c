/* test_cli.c — the weft commands run as functions: cat/log/blame/diff
 * output, replay and check (and that both catch a corrupted snapshot),
 * export -> import round trip, token, help and usage errors. */
#include "tutil.h"

#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#define RUN(f, out, err, ...) fx_cli(f, out, err, (const char *const[]){__VA_ARGS__, NULL})

static void test_help(fx *f)
{
    static const char *const cmds[] = {"cat",    "log",    "blame", "diff", "replay",
                                       "export", "import", "token", "check"};
    char *out, *err;
    CHECK_EQ(RUN(f, &out, &err, "--help"), 0);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        CHECK(strstr(out, cmds[i]));
    CHECK(strstr(out, "serve"));
    free(out);
    free(err);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        CHECK_EQ(RUN(f, &out, &err, cmds[i], "--help"), 0);
        CHECK(strncmp(out, "usage: weft ", 12) == 0 && strstr(out, cmds[i]));
        free(out);
        free(err);
        CHECK_EQ(RUN(f, &out, &err, "help", cmds[i]), 0);
        CHECK(strncmp(out, "usage: weft ", 12) == 0);
        free(out);
        free(err);
    }
    CHECK_EQ(RUN(f, NULL, &err, "frobnicate"), 2);
    CHECK(strstr(err, "unknown command"));
    free(err);
    CHECK_EQ(RUN(f, NULL, &err, "cat"), 2);
    free(err);
    CHECK_EQ(RUN(f, NULL, &err, "cat", "notes", "--bogus"), 2);
    free(err);
    CHECK_EQ(RUN(f, NULL, &err, "cat", "notes", "--at"), 2);
    free(err);
    CHECK_EQ(RUN(f, NULL, &err, "cat", "notes", "extra"), 2);
    free(err);
    CHECK_EQ(RUN(f, NULL, &err, "diff", "notes", "1", "x"), 2);
    free(err);
    CHECK_EQ(RUN(f, NULL, &err, "cat", "notes", "--db", "/nonexistent/weft.db"), 1);
    CHECK(strstr(err, "no database"));
    free(err);
    CHECK_EQ(RUN(f, NULL, &err, "cat", "nope"), 1);
    CHECK(strstr(err, "no document"));
    free(err);
}

static void test_cat(fx *f)
{
    char *out, *err;
    for (uint64_t n = 0; n <= f->lsn; n++) {
        char at[24];
        snprintf(at, sizeof at, "%" PRIu64, n);
        CHECK_EQ(RUN(f, &out, &err, "cat", "notes", "--at", at), 0);
        CHECK_STR(out, f->text[n]);
        free(out);
        free(err);
    }
    CHECK_EQ(RUN(f, &out, &err, "cat", "notes"), 0);
    CHECK_STR(out, f->text[f->lsn]);
    free(out);
    free(err);
    char db[320];
    snprintf(db, sizeof db, "--db=%s", f->db);
    char t[40];
    snprintf(t, sizeof t, "@%" PRId64, f->at[3] / 1000);
    CHECK_EQ(RUN(f, &out, &err, "cat", db, "notes", "--at", t), 0);
    CHECK_STR(out, f->text[3]);
    free(out);
    free(err);
    snprintf(t, sizeof t, "%" PRId64, f->at[4] / 1000);
    CHECK_EQ(RUN(f, &out, &err, "cat", "notes", "--time", t), 0);
    CHECK_STR(out, f->text[4]);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "cat", "notes", "--at", "2023-11-14T22:15:00Z"), 0);
    CHECK_STR(out, f->text[1]);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "cat", "notes", "--at", "99"), 1);
    free(out);
    free(err);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_log_blame_diff(fx *f)
{
    char *out, *err;
    CHECK_EQ(RUN(f, &out, &err, "log", "notes"), 0);
    CHECK(count_lines(out) >= f->lsn);
    CHECK(strstr(out, "ins \"Bob: \""));
    CHECK(strstr(out, "del 5 at 0:"));
    CHECK(strstr(out, "2023-11-14T22:14:20.000Z"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "log", "notes", "--from", "2", "--to", "2"), 0);
    CHECK_EQ(count_lines(out), 1);
    CHECK(strstr(out, "bob"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "blame", "notes", "--at", "2"), 0);
    CHECK_EQ(count_lines(out), 2);
    CHECK(strncmp(out, "bob ", 4) == 0 && strstr(out, "\"Bob: \"\n"));
    CHECK(strstr(out, "\nalice ") && strstr(out, "\"Hello world\\n\"\n"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "blame", "notes"), 0);
    CHECK(strstr(out, "alice") && strstr(out, "bob"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "diff", "notes", "4", "5"), 0);
    CHECK(strstr(out, "Bob: Hello [-world-]\nsecond"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "diff", "notes", "1", "2"), 0);
    CHECK_STR(out, "{+Bob: +}Hello world\n");
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "diff", "notes", "1", "99"), 1);
    free(out);
    free(err);
}

static void test_token_cmd(fx *f)
{
    char path[320];
    snprintf(path, sizeof path, "%s/secret", f->dir);
    FILE *k = fopen(path, "w");
    CHECK(k);
    fputs("topsecret\n", k);
    fclose(k);
    char *out, *err;
    CHECK_EQ(RUN(f, &out, &err, "token", "--secret-file", path, "--user", "alice", "--doc",
                 "team/*", "--read-only", "--ttl", "60"),
             0);
    size_t n = strlen(out);
    CHECK(n > 10 && out[n - 1] == '\n');
    out[n - 1] = 0;
    weft_token t;
    uint64_t now = (uint64_t)time(NULL);
    CHECK(weft_token_verify((const uint8_t *)"topsecret", 9, out, now, &t) == 0);
    CHECK_STR(t.user, "alice");
    CHECK_STR(t.doc, "team/*");
    CHECK(!t.write && t.exp >= now + 59 && t.exp <= now + 61);
    CHECK(weft_token_verify((const uint8_t *)"topsecret", 9, out, now + 61, &t) ==
          WEFT_TOOLS_E_EXPIRED);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "token", "--secret-file", path, "--user", "bob", "--doc", "x",
                 "--ttl", "0"),
             0);
    out[strlen(out) - 1] = 0;
    CHECK(weft_token_verify((const uint8_t *)"topsecret", 9, out, UINT64_MAX, &t) == 0);
    CHECK(t.write && t.exp == 0);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "token", "--secret-file", path, "--user", "bob"), 2);
    free(out);
    free(err);
    CHECK_EQ(
        RUN(f, &out, &err, "token", "--secret-file", "/nonexistent", "--user", "b", "--doc", "x"),
        1);
    free(out);
    free(err);
}

static void test_replay_check(fx *f)
{
    char *out, *err;
    CHECK_EQ(RUN(f, &out, &err, "replay", "notes"), 0);
    CHECK(strstr(out, "8 batches replayed, 2 snapshots match"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "check"), 0);
    CHECK(strstr(out, "pages: ok") && strstr(out, "notes: ok") && strstr(out, "0 problems"));
    free(out);
    free(err);
}

/* A snapshot that does not match the log: the state at LSN 7 stored as if
 * it were LSN 8's (only bob's "x" is missing). */
static void test_corrupt_snapshot(fx *f)
{
    weft_doc *d = weft_doc_new(WEFT_NONE);
    weft_vv vv;
    weft_vv_init(&vv);
    weft_oplist l;
    weft_oplist_init(&l);
    weft_store_vv_entry *e;
    size_t n;
    CHECK(weft_store_vv_at(f->st, f->doc, 7, &e, &n) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(weft_vv_set(&vv, e[i].agent, e[i].next_seq) == 0);
    free(e);
    /* every op of the server replica up to version 7 */
    weft_oplist all;
    weft_oplist_init(&all);
    CHECK(weft_doc_ops_since(f->server, NULL, &all) == 0);
    for (size_t i = 0; i < all.n; i++)
        if (all.ops[i].id.seq < weft_vv_get(&vv, all.ops[i].id.agent))
            CHECK(weft_doc_apply(d, &all.ops[i], NULL) >= 0);
    weft_buf b;
    weft_buf_init(&b);
    CHECK(weft_proto_snapshot_encode(d, 8, &b) == 0);
    CHECK(weft_store_snapshot_put(f->st, f->doc, 8, (weft_store_bytes){(uint8_t *)b.p, b.n},
                                  f->time) == 0);
    char *out, *err;
    CHECK_EQ(RUN(f, &out, &err, "replay", "notes"), 1);
    CHECK(strstr(err, "snapshot at LSN 8 differs from the log"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "check"), 1);
    CHECK(strstr(err, "snapshot at LSN 8"));
    CHECK(strstr(out, "1 problem"));
    free(out);
    free(err);
    /* garbage bytes as a snapshot */
    CHECK(weft_store_snapshot_put(f->st, f->doc, 8, (weft_store_bytes){(const uint8_t *)"\x93", 1},
                                  f->time) == 0);
    CHECK_EQ(RUN(f, &out, &err, "replay", "notes"), 1);
    CHECK(strstr(err, "does not load"));
    free(out);
    free(err);
    /* history reads fall back to the log when the snapshot is bad */
    CHECK_EQ(RUN(f, &out, &err, "cat", "notes"), 0);
    CHECK_STR(out, f->text[8]);
    free(out);
    free(err);
    /* --repair replaces it with the log's state */
    CHECK_EQ(RUN(f, &out, &err, "replay", "notes", "--repair"), 0);
    CHECK(strstr(err, "snapshot at LSN 8 replaced"));
    CHECK(strstr(out, "(after repair)"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "replay", "notes"), 0);
    CHECK(!strstr(out, "repair"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "check"), 0);
    free(out);
    free(err);
    weft_buf_cleanup(&b);
    weft_oplist_cleanup(&all);
    weft_oplist_cleanup(&l);
    weft_vv_cleanup(&vv);
    weft_doc_free(d);
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    CHECK(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *s = malloc((size_t)n + 1);
    CHECK(fread(s, 1, (size_t)n, fp) == (size_t)n);
    s[n] = 0;
    fclose(fp);
    return s;
}

static void test_export_import(fx *f)
{
    char p1[320], p2[320];
    snprintf(p1, sizeof p1, "%s/notes.weft", f->dir);
    snprintf(p2, sizeof p2, "%s/copy.weft", f->dir);
    char *out, *err;
    CHECK_EQ(RUN(f, &out, &err, "export", "notes", "-o", p1), 0);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "import", p1, "--as", "copy"), 0);
    CHECK(strstr(err, "'copy': 8 batches, 2 agents"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "cat", "copy"), 0);
    CHECK_STR(out, f->text[f->lsn]);
    free(out);
    free(err);
    for (uint64_t n = 0; n <= f->lsn; n++) {
        char at[24];
        snprintf(at, sizeof at, "%" PRIu64, n);
        CHECK_EQ(RUN(f, &out, &err, "cat", "copy", "--at", at), 0);
        CHECK_STR(out, f->text[n]);
        free(out);
        free(err);
    }
    CHECK_EQ(RUN(f, &out, &err, "blame", "copy"), 0);
    char *b1 = out;
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "blame", "notes"), 0);
    CHECK_STR(b1, out);
    free(b1);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "replay", "copy"), 0);
    free(out);
    free(err);
    /* exporting the copy gives the same file but for the name */
    CHECK_EQ(RUN(f, &out, &err, "export", "copy", "-o", p2), 0);
    free(out);
    free(err);
    char *x1 = read_file(p1), *x2 = read_file(p2);
    char *l1 = strchr(x1, '\n'), *l2 = strchr(x2, '\n');
    CHECK(l1 && l2);
    CHECK_STR(l1, l2);
    CHECK(strstr(x1, "\"doc\":\"notes\"") && strstr(x2, "\"doc\":\"copy\""));
    free(x1);
    free(x2);
    /* to stdout */
    CHECK_EQ(RUN(f, &out, &err, "export", "notes"), 0);
    x1 = read_file(p1);
    CHECK_STR(out, x1);
    free(out);
    free(err);
    /* the name is taken */
    CHECK_EQ(RUN(f, &out, &err, "import", p1, "--as", "copy"), 1);
    CHECK(strstr(err, "exists"));
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "import", p1), 1);
    free(out);
    free(err);
    /* into a fresh database under the file's own name */
    char db2[340], dbopt[360];
    snprintf(db2, sizeof db2, "%s/other.db", f->dir);
    snprintf(dbopt, sizeof dbopt, "--db=%s", db2);
    CHECK_EQ(RUN(f, &out, &err, "import", p1, dbopt), 0);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "cat", "notes", dbopt), 0);
    CHECK_STR(out, f->text[f->lsn]);
    free(out);
    free(err);
    /* --check reads the file only */
    CHECK_EQ(RUN(f, &out, &err, "import", p1, "--check", "--db", "/nonexistent/x.db"), 0);
    CHECK(strstr(err, "valid export of 'notes': 8 batches, 2 agents") && !*out);
    free(out);
    free(err);
    /* damaged files are refused before anything is written */
    static const char *const damage[][2] = {
        {"\"text\":\"", "\"text\":\"X"}, /* trailer text differs */
        {"\"lsn\":2,", "\"lsn\":3,"},    /* LSN gap */
        {"\"weft_export\":1", "\"weft_export\":9"},
        {"\"seq\":0,", "\"seq\":1,"}, /* row does not match its ops */
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        char *pos = strstr(x1, damage[i][0]);
        CHECK(pos);
        char bad[340];
        snprintf(bad, sizeof bad, "%s/bad%zu.weft", f->dir, i);
        FILE *fp = fopen(bad, "wb");
        fwrite(x1, 1, (size_t)(pos - x1), fp);
        fputs(damage[i][1], fp);
        fputs(pos + strlen(damage[i][0]), fp);
        fclose(fp);
        CHECK_EQ(RUN(f, &out, &err, "import", bad, "--as", "broken"), 1);
        free(out);
        free(err);
        CHECK_EQ(RUN(f, &out, &err, "import", bad, "--check"), 1);
        free(out);
        free(err);
    }
    char trunc[340];
    snprintf(trunc, sizeof trunc, "%s/trunc.weft", f->dir);
    FILE *fp = fopen(trunc, "wb");
    fwrite(x1, 1, strlen(x1) / 2, fp);
    fclose(fp);
    CHECK_EQ(RUN(f, &out, &err, "import", trunc, "--as", "broken"), 1);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "cat", "broken"), 1); /* nothing was written */
    free(out);
    free(err);
    free(x1);
}

/* A larger session: many small batches from two users, snapshots every
 * 50 LSNs; replay, check, export/import and diff stay consistent. */
static void test_bigger(void)
{
    fx g;
    fx_open_empty(&g);
    uint32_t x = 12345;
    for (int i = 0; i < FX_MAX - 2; i++) {
        int who = i % 3 == 0;
        x = x * 1103515245 + 12345;
        fx_sync(&g, who);
        uint32_t len = weft_doc_len(g.rep[who]);
        if (len > 20 && x % 4 == 0)
            fx_delete(&g, who, (x >> 8) % (len - 5), 1 + (x >> 4) % 4);
        else
            fx_insert(&g, who, len ? (x >> 8) % (len + 1) : 0, i % 2 ? "ab\xc3\xa9" : "Z");
        if (g.lsn % 20 == 0)
            fx_snapshot(&g);
    }
    char *out, *err;
    CHECK_EQ(RUN(&g, &out, &err, "replay", "notes"), 0);
    free(out);
    free(err);
    CHECK_EQ(RUN(&g, &out, &err, "check"), 0);
    free(out);
    free(err);
    for (uint64_t n = 0; n <= g.lsn; n += 7) {
        char at[24];
        snprintf(at, sizeof at, "%" PRIu64, n);
        CHECK_EQ(RUN(&g, &out, &err, "cat", "notes", "--at", at), 0);
        CHECK_STR(out, g.text[n]);
        free(out);
        free(err);
    }
    fx_close(&g);
}

/* Stored batches that do not decode, or decode to ops that do not match
 * their row or do not apply: every reader fails cleanly (exit 1 / 500),
 * naming the LSN where it can. */
static void test_corrupt_log(void)
{
    fx g;
    fx_open_empty(&g);
    fx_insert(&g, 0, 0, "fine");
    static const struct {
        const char *bytes;
        size_t n;
        uint32_t agent, seq, len;
    } bad[] = {
        {"\x93\x01", 2, 0, 4, 1},                                           /* not a batch */
        {"\x92\x90\x91\x96\x00\x00\x05\xc0\xc0\xa1x", 11, 0, 4, 1},         /* seq 5, row says 4 */
        {"\x92\x90\x91\x96\x00\x00\x00\x92\x00\x00\xc0\xa1x", 13, 0, 0, 1}, /* own origin */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "bad%zu", i);
        weft_store_doc d;
        CHECK(weft_store_doc_ensure(g.st, name, 1, &d) == 0);
        weft_store_append_req r = {d,
                                   bad[i].agent,
                                   bad[i].seq,
                                   bad[i].len,
                                   "x",
                                   5,
                                   {(const uint8_t *)bad[i].bytes, bad[i].n}};
        CHECK(weft_store_append(g.st, &r, NULL) == 0);
        char *out, *err;
        CHECK_EQ(RUN(&g, &out, &err, "replay", name), 1);
        CHECK(strstr(err, "LSN 1:"));
        free(out);
        free(err);
        static const char *const cmds[] = {"cat", "blame", "export", "log"};
        for (size_t k = 0; k < 4; k++) {
            if (i > 0 && k == 3)
                continue; /* log shows ops that decode, whatever they mean */
            CHECK_EQ(RUN(&g, &out, &err, cmds[k], name), 1);
            free(out);
            free(err);
        }
        weft_buf body;
        weft_buf_init(&body);
        int status;
        char path[64];
        snprintf(path, sizeof path, "/api/docs/%s/text", name);
        CHECK(weft_api_get(g.st, path, NULL, &body, &status) == 0);
        CHECK_EQ(status, 500);
        CHECK(strstr(body.p, "\"error\""));
        snprintf(path, sizeof path, "/api/docs/%s/diff", name);
        CHECK(weft_api_get(g.st, path, "from=0&to=1", &body, &status) == 0);
        CHECK_EQ(status, 500);
        weft_buf_cleanup(&body);
    }
    /* an origin nobody stored: parked, not an error (its dependency may
     * still come), but replay says so */
    weft_store_doc d;
    CHECK(weft_store_doc_ensure(g.st, "parked", 1, &d) == 0);
    weft_store_append_req r = {
        d,
        0,
        4,
        1,
        "x",
        5,
        {(const uint8_t *)"\x92\x90\x91\x96\x00\x00\x04\x92\x07\x07\xc0\xa1x", 13}};
    CHECK(weft_store_append(g.st, &r, NULL) == 0);
    char *out, *err;
    CHECK_EQ(RUN(&g, &out, &err, "replay", "parked"), 0);
    CHECK(strstr(err, "warning: 1 ops wait for dependencies"));
    free(out);
    free(err);
    CHECK_EQ(RUN(&g, &out, &err, "cat", "parked"), 0);
    CHECK_STR(out, "");
    free(out);
    free(err);
    CHECK_EQ(RUN(&g, &out, &err, "check"), 1);
    CHECK(strstr(out, "notes: ok") && strstr(out, "parked: ok") && strstr(out, "3 problems"));
    free(out);
    free(err);
    fx_close(&g);
}

typedef struct agents_seen {
    uint32_t n;
    char users[4][8];
} agents_seen;

static int agent_row(void *ctx, const weft_store_agent_row *a)
{
    agents_seen *s = ctx;
    CHECK(a->agent == s->n && s->n < 4);
    snprintf(s->users[s->n++], sizeof s->users[0], "%s", a->user ? a->user : "-");
    return 0;
}

/* A file whose agent list skips numbers still imports with the same agent
 * numbers (the skipped ones are allocated without a user). */
static void test_import_agent_gap(fx *f)
{
    weft_store_doc d;
    CHECK(weft_store_doc_ensure(f->st, "gap", 1, &d) == 0);
    static const char *const users[] = {"u0", "u1", "u2"};
    for (uint32_t a = 0; a < 3; a++) {
        uint32_t got;
        CHECK(weft_store_agent_new(f->st, d, users[a], 1, &got) == 0 && got == a);
    }
    weft_doc *w = weft_doc_new(2);
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK(weft_doc_insert(w, 0, "hi", 2, &l) == 0);
    weft_buf b;
    weft_buf_init(&b);
    CHECK(weft_proto_batch_encode(NULL, 0, l.ops, l.n, &b) == 0);
    weft_store_append_req r = {d, 2, 0, 2, "u2", 7, {(const uint8_t *)b.p, b.n}};
    CHECK(weft_store_append(f->st, &r, NULL) == 0);
    char *out, *err;
    CHECK_EQ(RUN(f, &out, &err, "export", "gap"), 0);
    const char *drop = "{\"agent\":1,\"user\":\"u1\",\"created\":1},";
    char *pos = strstr(out, drop);
    CHECK(pos);
    memmove(pos, pos + strlen(drop), strlen(pos + strlen(drop)) + 1);
    char path[340];
    snprintf(path, sizeof path, "%s/gap.weft", f->dir);
    FILE *fp = fopen(path, "wb");
    fputs(out, fp);
    fclose(fp);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "import", path, "--as", "gap2"), 0);
    free(out);
    free(err);
    CHECK_EQ(RUN(f, &out, &err, "cat", "gap2"), 0);
    CHECK_STR(out, "hi");
    free(out);
    free(err);
    CHECK(weft_store_doc_find(f->st, "gap2", &d) == 0);
    agents_seen seen = {0};
    CHECK(weft_store_agents(f->st, d, agent_row, &seen) == 0);
    CHECK_EQ(seen.n, 3);
    CHECK_STR(seen.users[0], "u0");
    CHECK_STR(seen.users[1], "-");
    CHECK_STR(seen.users[2], "u2");
    weft_buf_cleanup(&b);
    weft_oplist_cleanup(&l);
    weft_doc_free(w);
}

int main(void)
{
    fx f;
    fx_open(&f);
    test_help(&f);
    test_cat(&f);
    test_log_blame_diff(&f);
    test_token_cmd(&f);
    test_replay_check(&f);
    test_export_import(&f);
    test_corrupt_snapshot(&f);
    test_import_agent_gap(&f);
    fx_close(&f);
    test_bigger();
    test_corrupt_log();
    printf("tools cli: ok\n");
    return 0;
}

/* test_api.c — the JSON history API against a store filled with real
 * encoded batches (tutil.c): text at every LSN equals the replay, blame
 * names the right users, diff reconstructs both texts, paging, errors. */
#include "tutil.h"

#include <inttypes.h>
#include <jansson.h>

static json_t *get(fx *f, const char *path, const char *query, int want_status)
{
    weft_buf out;
    weft_buf_init(&out);
    int status = 0;
    CHECK(weft_api_get(f->st, path, query, &out, &status) == 0);
    if (status != want_status) {
        fprintf(stderr, "GET %s?%s: status %d, want %d: %.*s\n", path, query ? query : "", status,
                want_status, (int)out.n, out.p);
        exit(1);
    }
    json_error_t je;
    json_t *j = json_loadb(out.p, out.n, 0, &je); /* also checks UTF-8 */
    if (!j) {
        fprintf(stderr, "GET %s: bad JSON (%s): %.*s\n", path, je.text, (int)out.n, out.p);
        exit(1);
    }
    weft_buf_cleanup(&out);
    return j;
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    CHECK(json_is_string(v));
    return json_string_value(v);
}

static long long iget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    CHECK(json_is_integer(v));
    return json_integer_value(v);
}

static void test_docs(fx *f)
{
    json_t *j = get(f, "/api/docs", NULL, 200);
    CHECK(json_is_array(j) && json_array_size(j) == 1);
    json_t *d = json_array_get(j, 0);
    CHECK_STR(sget(d, "name"), "notes");
    CHECK_EQ(iget(d, "lsn"), f->lsn);
    CHECK_EQ(iget(d, "created"), 1700000000000);
    CHECK_EQ(iget(d, "updated"), f->at[f->lsn]);
    json_decref(j);
    j = get(f, "/api/docs/", NULL, 200);
    json_decref(j);
    j = get(f, "/api/docs/notes", NULL, 200);
    CHECK_EQ(json_array_size(json_object_get(j, "agents")), 2);
    CHECK_STR(sget(json_array_get(json_object_get(j, "agents"), 1), "user"), "bob");
    json_t *snaps = json_object_get(j, "snapshots");
    CHECK_EQ(json_array_size(snaps), 2);
    CHECK_EQ(json_integer_value(json_array_get(snaps, 0)), 3);
    CHECK_EQ(json_integer_value(json_array_get(snaps, 1)), 6);
    json_decref(j);
}

static void test_text(fx *f)
{
    weft_vv vv;
    weft_vv_init(&vv);
    weft_buf b;
    weft_buf_init(&b);
    for (uint64_t n = 0; n <= f->lsn; n++) {
        char q[32];
        snprintf(q, sizeof q, "lsn=%" PRIu64, n);
        json_t *j = get(f, "/api/docs/notes/text", q, 200);
        CHECK_EQ(iget(j, "lsn"), n);
        CHECK_STR(sget(j, "text"), f->text[n]);
        CHECK_EQ(json_string_length(json_object_get(j, "text")), strlen(f->text[n]));
        json_decref(j);
        /* the other path of crdt-brief §7: filter the head by vv_N */
        weft_store_vv_entry *e;
        size_t ne;
        CHECK(weft_store_vv_at(f->st, f->doc, n, &e, &ne) == 0);
        vv.n = 0;
        for (size_t i = 0; i < ne; i++)
            CHECK(weft_vv_set(&vv, e[i].agent, e[i].next_seq) == 0);
        free(e);
        CHECK(weft_doc_text_at(f->server, &vv, &b) == 0);
        CHECK(b.n == strlen(f->text[n]) && memcmp(b.p, f->text[n], b.n) == 0);
        /* by time: the time of LSN n is version n */
        if (n) {
            snprintf(q, sizeof q, "time=%" PRId64, f->at[n] / 1000);
            j = get(f, "/api/docs/notes/text", q, 200);
            CHECK_EQ(iget(j, "lsn"), n);
            CHECK_STR(sget(j, "text"), f->text[n]);
            json_decref(j);
        }
    }
    json_t *j = get(f, "/api/docs/notes/text", NULL, 200); /* head */
    CHECK_STR(sget(j, "text"), f->text[f->lsn]);
    json_decref(j);
    j = get(f, "/api/docs/notes/text", "time=2023-11-14T22:15:00Z", 200);
    CHECK_EQ(iget(j, "lsn"), 1); /* 1700000060 s = 2023-11-14T22:14:20Z */
    json_decref(j);
    j = get(f, "/api/docs/notes/text", "time=2000-01-01T00:00:00Z", 200);
    CHECK_EQ(iget(j, "lsn"), 0);
    CHECK_STR(sget(j, "text"), "");
    json_decref(j);
    weft_buf_cleanup(&b);
    weft_vv_cleanup(&vv);
}

/* The user who inserted each visible char of the server replica. */
static void expected_authors(fx *f, uint64_t lsn, char *who, size_t cap)
{
    (void)lsn;
    uint32_t len = weft_doc_len(f->server);
    CHECK(len < cap);
    for (uint32_t p = 0; p < len; p++) {
        weft_id id;
        CHECK(weft_doc_id_at(f->server, p, &id) == 0);
        who[p] = id.agent == 0 ? 'a' : 'b';
    }
    who[len] = 0;
}

static void test_blame(fx *f)
{
    char who[256], got[256];
    expected_authors(f, f->lsn, who, sizeof who);
    json_t *j = get(f, "/api/docs/notes/blame", NULL, 200);
    CHECK_EQ(iget(j, "lsn"), f->lsn);
    json_t *spans = json_object_get(j, "spans");
    CHECK(json_array_size(spans) >= 2);
    char text[512] = "";
    size_t k = 0;
    long long prev_agent = -1;
    for (size_t i = 0; i < json_array_size(spans); i++) {
        json_t *s = json_array_get(spans, i);
        const char *t = sget(s, "text");
        long long agent = iget(s, "agent");
        CHECK(agent != prev_agent); /* merged */
        prev_agent = agent;
        CHECK_STR(sget(s, "user"), agent == 0 ? "alice" : "bob");
        CHECK(iget(s, "time") >= f->at[1] && iget(s, "time") <= f->at[f->lsn]);
        strcat(text, t);
        uint32_t cps, u16;
        CHECK(weft_utf8_count(t, strlen(t), &cps, &u16) == 0);
        for (uint32_t c = 0; c < cps; c++)
            got[k++] = agent == 0 ? 'a' : 'b';
    }
    got[k] = 0;
    CHECK_STR(text, f->text[f->lsn]);
    CHECK_STR(got, who);
    json_decref(j);
    /* at LSN 2: "Bob: " by bob, then alice's "Hello world\n" */
    j = get(f, "/api/docs/notes/blame", "lsn=2", 200);
    spans = json_object_get(j, "spans");
    CHECK_EQ(json_array_size(spans), 2);
    CHECK_STR(sget(json_array_get(spans, 0), "text"), "Bob: ");
    CHECK_STR(sget(json_array_get(spans, 0), "user"), "bob");
    CHECK_EQ(iget(json_array_get(spans, 0), "time"), f->at[2]);
    CHECK_STR(sget(json_array_get(spans, 1), "user"), "alice");
    CHECK_EQ(iget(json_array_get(spans, 1), "time"), f->at[1]);
    json_decref(j);
}

static void test_diff(fx *f)
{
    for (uint64_t a = 0; a <= f->lsn; a++) {
        for (uint64_t b = 0; b <= f->lsn; b++) {
            char q[64];
            snprintf(q, sizeof q, "from=%" PRIu64 "&to=%" PRIu64, a, b);
            json_t *j = get(f, "/api/docs/notes/diff", q, 200);
            CHECK_EQ(iget(j, "from"), a);
            CHECK_EQ(iget(j, "to"), b);
            json_t *ops = json_object_get(j, "ops");
            char ta[512] = "", tb[512] = "";
            const char *prev = "";
            for (size_t i = 0; i < json_array_size(ops); i++) {
                json_t *o = json_array_get(ops, i);
                const char *op = sget(o, "op"), *t = sget(o, "text");
                CHECK(*t);
                CHECK(strcmp(op, prev) != 0); /* adjacent segments merged */
                prev = op;
                if (strcmp(op, "ins") != 0)
                    strcat(ta, t);
                if (strcmp(op, "del") != 0)
                    strcat(tb, t);
                if (a == b)
                    CHECK_STR(op, "eq");
            }
            CHECK_STR(ta, f->text[a]);
            CHECK_STR(tb, f->text[b]);
            json_decref(j);
        }
    }
    /* 4 -> 5: bob's delete of "world" is the only change */
    json_t *j = get(f, "/api/docs/notes/diff", "from=4&to=5", 200);
    json_t *ops = json_object_get(j, "ops");
    int dels = 0;
    for (size_t i = 0; i < json_array_size(ops); i++)
        if (strcmp(sget(json_array_get(ops, i), "op"), "del") == 0) {
            CHECK_STR(sget(json_array_get(ops, i), "text"), "world");
            dels++;
        } else {
            CHECK_STR(sget(json_array_get(ops, i), "op"), "eq");
        }
    CHECK_EQ(dels, 1);
    json_decref(j);
}

static void test_log(fx *f)
{
    /* page through with limit 3 */
    uint64_t from = 1, seen_lsn = 0;
    size_t pages = 0, ins = 0, del = 0;
    for (;;) {
        char q[64];
        snprintf(q, sizeof q, "from=%" PRIu64 "&limit=3", from);
        json_t *j = get(f, "/api/docs/notes/log", q, 200);
        json_t *ops = json_object_get(j, "ops");
        for (size_t i = 0; i < json_array_size(ops); i++) {
            json_t *o = json_array_get(ops, i);
            uint64_t lsn = (uint64_t)iget(o, "lsn");
            CHECK(lsn >= seen_lsn && lsn >= from && lsn < from + 3);
            seen_lsn = lsn;
            long long agent = iget(o, "agent");
            CHECK_STR(sget(o, "user"), agent == 0 ? "alice" : "bob");
            CHECK_EQ(iget(o, "time"), f->at[lsn]);
            CHECK(iget(o, "len") >= 1 && iget(o, "seq") >= 0);
            if (strcmp(sget(o, "kind"), "ins") == 0) {
                ins++;
                CHECK(strlen(sget(o, "text")) > 0);
                CHECK(json_object_get(o, "ol") && json_object_get(o, "or"));
            } else {
                CHECK_STR(sget(o, "kind"), "del");
                CHECK(json_array_size(json_object_get(o, "target")) == 2);
                del++;
            }
        }
        pages++;
        json_t *next = json_object_get(j, "next");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        CHECK_EQ(json_integer_value(next), from + 3);
        from = (uint64_t)json_integer_value(next);
        json_decref(j);
    }
    CHECK_EQ(seen_lsn, f->lsn);
    CHECK_EQ(pages, (f->lsn + 2) / 3);
    CHECK_EQ(ins, 6);
    CHECK(del >= 3);
    json_t *j = get(f, "/api/docs/notes/log", "from=2&to=2", 200);
    CHECK(json_array_size(json_object_get(j, "ops")) == 1);
    CHECK_STR(sget(json_array_get(json_object_get(j, "ops"), 0), "text"), "Bob: ");
    CHECK(json_is_null(json_object_get(j, "next")));
    json_decref(j);
}

static void test_versions(fx *f)
{
    json_t *j = get(f, "/api/docs/notes/versions", NULL, 200);
    json_t *v = json_object_get(j, "versions");
    CHECK_EQ(json_array_size(v), f->lsn);
    for (size_t i = 0; i < json_array_size(v); i++) {
        CHECK_EQ(iget(json_array_get(v, i), "lsn"), i + 1);
        CHECK_EQ(iget(json_array_get(v, i), "time"), f->at[i + 1]);
    }
    json_decref(j);
    j = get(f, "/api/docs/notes/versions", "from=3&limit=2", 200);
    CHECK_EQ(json_array_size(json_object_get(j, "versions")), 2);
    CHECK_EQ(json_integer_value(json_object_get(j, "next")), 5);
    json_decref(j);
}

static void test_errors(fx *f)
{
    json_decref(get(f, "/api/docs/nope/text", NULL, 404));
    json_decref(get(f, "/api/docs/notes/nothing/here", NULL, 404));
    json_decref(get(f, "/api/other", NULL, 404));
    json_decref(get(f, "/api/docsx", NULL, 404));
    json_decref(get(f, "/api/docs/notes/text", "lsn=abc", 400));
    json_decref(get(f, "/api/docs/notes/text", "lsn=-1", 400));
    json_decref(get(f, "/api/docs/notes/text", "lsn=99", 400));
    json_decref(get(f, "/api/docs/notes/text", "lsn=18446744073709551616", 400));
    json_decref(get(f, "/api/docs/notes/text", "lsn=1&time=5", 400));
    json_decref(get(f, "/api/docs/notes/text", "time=yesterday", 400));
    json_decref(get(f, "/api/docs/notes/text", "lsn=%zz", 400));
    json_decref(get(f, "/api/docs/notes/diff", "from=1", 400));
    json_decref(get(f, "/api/docs/notes/diff", "from=1&to=99", 400));
    json_decref(get(f, "/api/docs/notes/log", "limit=0", 400));
    json_decref(get(f, "/api/docs/notes/log", "limit=5001", 400));
    json_decref(get(f, "/api/docs/%00/text", NULL, 400));
    json_t *j = get(f, "/api/docs/notes/text?lsn=2", NULL, 200); /* query inside the path */
    CHECK_STR(sget(j, "text"), f->text[2]);
    json_decref(j);
}

/* Names with '/', spaces, '%' and non-ASCII, percent-encoded or not. */
static void test_names(fx *f)
{
    static const char *const names[] = {"a b/c", "caf\xc3\xa9", "50% off", "x/text"};
    static const char *const enc[] = {"a%20b%2Fc", "caf%C3%A9", "50%25%20off", "x%2Ftext"};
    for (int i = 0; i < 4; i++) {
        weft_store_doc d;
        CHECK(weft_store_doc_ensure(f->st, names[i], 1, &d) == 0);
        char path[128];
        snprintf(path, sizeof path, "/api/docs/%s/text", enc[i]);
        json_t *j = get(f, path, NULL, 200);
        CHECK_STR(sget(j, "text"), "");
        json_decref(j);
        snprintf(path, sizeof path, "/api/docs/%s", enc[i]);
        j = get(f, path, NULL, 200);
        CHECK_STR(sget(j, "name"), names[i]);
        json_decref(j);
    }
    /* already decoded by the HTTP layer */
    json_decref(get(f, "/api/docs/a b/c/log", NULL, 200));
    json_decref(get(f, "/api/docs/50% off/blame", NULL, 200));
    json_t *j = get(f, "/api/docs", NULL, 200);
    CHECK_EQ(json_array_size(j), 5);
    json_decref(j);
}

/* Agents recorded without a user (or not at all) are named after the
 * author of their first batch. */
static void test_author_fallback(fx *f)
{
    weft_store_doc d;
    CHECK(weft_store_doc_ensure(f->st, "anon", 1, &d) == 0);
    uint32_t got;
    CHECK(weft_store_agent_new(f->st, d, NULL, 1, &got) == 0 && got == 0);
    for (uint32_t a = 0; a < 2; a++) { /* agent 1 never got a row */
        weft_doc *w = weft_doc_new(a);
        weft_oplist l;
        weft_oplist_init(&l);
        CHECK(weft_doc_insert(w, 0, a ? "B" : "A", 1, &l) == 0);
        weft_buf b;
        weft_buf_init(&b);
        CHECK(weft_proto_batch_encode(NULL, 0, l.ops, l.n, &b) == 0);
        weft_store_append_req r = {
            d, a, 0, 1, a ? "writer-b" : "writer-a", 9, {(const uint8_t *)b.p, b.n}};
        CHECK(weft_store_append(f->st, &r, NULL) == 0);
        weft_buf_cleanup(&b);
        weft_oplist_cleanup(&l);
        weft_doc_free(w);
    }
    json_t *j = get(f, "/api/docs/anon/blame", NULL, 200);
    json_t *spans = json_object_get(j, "spans");
    CHECK_EQ(json_array_size(spans), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *s = json_array_get(spans, i);
        CHECK_STR(sget(s, "user"), iget(s, "agent") ? "writer-b" : "writer-a");
    }
    json_decref(j);
}

int main(void)
{
    fx f;
    fx_open(&f);
    test_docs(&f);
    test_text(&f);
    test_blame(&f);
    test_diff(&f);
    test_log(&f);
    test_versions(&f);
    test_errors(&f);
    test_names(&f);
    test_author_fallback(&f);
    fx_close(&f);
    printf("tools api: ok\n");
    return 0;
}

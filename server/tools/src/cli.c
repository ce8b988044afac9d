/* cli.c — the `weft` command line (every command but serve): argument
 * parsing, help, opening the store, and the commands that are not about
 * reading history (token, replay, check, export, import). */
#include "tools_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXPOS 4
#define DEFAULT_TTL 86400

typedef struct optdef {
    const char *name; /* "--db" */
    bool arg;         /* takes a value */
} optdef;

typedef struct cmd {
    const char *name;
    int npos_min, npos_max;
    const optdef *opts; /* NULL-terminated */
    const char *usage;
    const char *help;
} cmd;

typedef struct args {
    const char *pos[MAXPOS];
    int npos;
    const char *val[8]; /* parallel to cmd->opts; flags get "" */
    bool help;
} args;

static const optdef O_DB[] = {{"--db", true}, {NULL, false}};
static const optdef O_REPLAY[] = {{"--db", true}, {"--repair", false}, {NULL, false}};
static const optdef O_CAT[] = {{"--db", true}, {"--at", true}, {"--time", true}, {NULL, false}};
static const optdef O_LOG[] = {{"--db", true}, {"--from", true}, {"--to", true}, {NULL, false}};
static const optdef O_BLAME[] = {{"--db", true}, {"--at", true}, {"--time", true}, {NULL, false}};
static const optdef O_EXPORT[] = {{"--db", true}, {"-o", true}, {NULL, false}};
static const optdef O_IMPORT[] = {
    {"--db", true}, {"--as", true}, {"--check", false}, {NULL, false}};
static const optdef O_TOKEN[] = {{"--secret-file", true}, {"--user", true}, {"--doc", true},
                                 {"--read-only", false},  {"--ttl", true},  {NULL, false}};

static const cmd CMDS[] = {
    {"cat", 1, 1, O_CAT, "weft cat DOC [--at LSN|TIME] [--db PATH]",
     "Prints the document's text (the head, or the version at LSN or TIME).\n"
     "  --at LSN      the version after log entry LSN (0 = empty)\n"
     "  --at TIME     the version at an ISO-8601 UTC time, e.g. 2026-11-21T10:00:00Z,\n"
     "                or @SECONDS (Unix time)\n"
     "  --time TIME   the same with TIME as ISO-8601 or plain Unix seconds\n"},
    {"log", 1, 1, O_LOG, "weft log DOC [--from LSN] [--to LSN] [--db PATH]",
     "Prints the op log, one op per line: LSN, time, user, agent:seq, then\n"
     "ins \"text\" or del N at agent:seq.\n"},
    {"blame", 1, 1, O_BLAME, "weft blame DOC [--at LSN|TIME] [--db PATH]",
     "Prints who wrote each part of the text: one line per span of consecutive\n"
     "chars by one agent: user, agent, time of the span's newest char, text.\n"},
    {"diff", 3, 3, O_DB, "weft diff DOC A B [--db PATH]",
     "Character diff between versions A and B (LSNs): unchanged text as is,\n"
     "deletions as [-text-], insertions as {+text+}.\n"},
    {"replay", 1, 1, O_REPLAY, "weft replay DOC [--repair] [--db PATH]",
     "Rebuilds the document from its op log alone and compares the result with\n"
     "every stored snapshot (text, canonical runs, version vector). Exit 1 on\n"
     "a mismatch.\n"
     "  --repair   replace every snapshot that differs (or does not load) with\n"
     "             the state rebuilt from the log; exit 0 if that fixed all\n"},
    {"export", 1, 1, O_EXPORT, "weft export DOC [-o FILE] [--db PATH] > FILE",
     "Writes the document (agents and every op batch) as a self-contained file\n"
     "(docs/cli.md, \"Export file format\") to stdout or FILE.\n"},
    {"import", 1, 1, O_IMPORT, "weft import FILE [--as NAME] [--check] [--db PATH]",
     "Reads an export file (- for stdin), checks it rebuilds the text it\n"
     "records, and stores it as a new document (the file's name, or NAME).\n"
     "LSNs are reassigned; agents keep their numbers and users.\n"
     "  --check   only check the file (no database is opened or written)\n"},
    {"token", 0, 0, O_TOKEN,
     "weft token --secret-file F --user U --doc PATTERN [--read-only] [--ttl SECS]",
     "Prints a signed access token. PATTERN is a document name or a prefix\n"
     "ending in '*' ('*' = every document). --ttl: seconds until it expires\n"
     "(default 86400; 0 = never). Without --secret-file the key comes from\n"
     "the environment variable WEFT_SECRET.\n"},
    {"check", 0, 0, O_DB, "weft check [--db PATH]",
     "Checks the database: reads every page (a compacting copy into a\n"
     "temporary file), then for every document rebuilds it from the log,\n"
     "runs the engine's invariant check, and compares the log with every\n"
     "snapshot and with the normal snapshot-based load. Exit 1 on any problem.\n"},
};
#define NCMDS (sizeof CMDS / sizeof CMDS[0])

static void overview(FILE *f)
{
    fputs("usage: weft COMMAND [ARGS]\n\n"
          "  weft serve [OPTIONS]   (weft serve --help)\n",
          f);
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(f, "  %s\n", CMDS[i].usage);
    fputs("\nEvery command takes --help. --db defaults to ./weft.db. TIME is ISO-8601 UTC\n"
          "(2026-11-21T10:00:00Z) or Unix seconds. Details: docs/cli.md.\n",
          f);
}

static int parse(const cmd *c, int argc, char **argv, args *a, FILE *err)
{
    memset(a, 0, sizeof *a);
    bool dashdash = false;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!dashdash && strcmp(s, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (!dashdash && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)) {
            a->help = true;
            continue;
        }
        if (!dashdash && s[0] == '-' && s[1] != 0) {
            const char *eq = strchr(s, '=');
            size_t nl = eq ? (size_t)(eq - s) : strlen(s);
            size_t k = 0;
            while (c->opts[k].name &&
                   !(strlen(c->opts[k].name) == nl && memcmp(c->opts[k].name, s, nl) == 0))
                k++;
            if (!c->opts[k].name) {
                fprintf(err, "weft %s: unknown option %s\n", c->name, s);
                return -1;
            }
            if (!c->opts[k].arg) {
                if (eq) {
                    fprintf(err, "weft %s: %s takes no value\n", c->name, c->opts[k].name);
                    return -1;
                }
                a->val[k] = "";
            } else if (eq) {
                a->val[k] = eq + 1;
            } else if (i + 1 < argc) {
                a->val[k] = argv[++i];
            } else {
                fprintf(err, "weft %s: %s needs a value\n", c->name, c->opts[k].name);
                return -1;
            }
            continue;
        }
        if (a->npos == MAXPOS || a->npos == c->npos_max) {
            fprintf(err, "weft %s: unexpected argument '%s'\n", c->name, s);
            return -1;
        }
        a->pos[a->npos++] = s;
    }
    if (!a->help && a->npos < c->npos_min) {
        fprintf(err, "weft %s: missing arguments\nusage: %s\n", c->name, c->usage);
        return -1;
    }
    return 0;
}

static const char *opt(const cmd *c, const args *a, const char *name)
{
    for (size_t k = 0; c->opts[k].name; k++)
        if (strcmp(c->opts[k].name, name) == 0)
            return a->val[k];
    return NULL;
}

static int parse_lsn(FILE *err, const char *what, const char *s, uint64_t *v)
{
    if (tools__parse_u64(s, strlen(s), UINT64_MAX, v) == 0)
        return 0;
    fprintf(err, "weft: %s must be an LSN (unsigned integer), not '%s'\n", what, s);
    return -1;
}

/* --at: LSN, ISO time or @seconds; --time: ISO time or seconds. */
static int parse_at(FILE *err, const char *at, const char *tm, tools_at *out)
{
    memset(out, 0, sizeof *out);
    if (at && tm) {
        fprintf(err, "weft: give --at or --time, not both\n");
        return -1;
    }
    if (!at && !tm)
        return 0;
    out->set = true;
    if (at && at[0] != '@' && !strchr(at, '-') && !strchr(at, ':'))
        return parse_lsn(err, "--at", at, &out->lsn);
    out->is_time = true;
    const char *s = at ? (at[0] == '@' ? at + 1 : at) : tm;
    if (tools__time_parse(s, &out->ms) == 0)
        return 0;
    fprintf(err, "weft: '%s' is not a time (2026-11-21T10:00:00Z or Unix seconds)\n", s);
    return -1;
}

/* Opens the database; read commands refuse to create a missing file. */
static int open_store(const char *path, bool create, weft_store **st, FILE *err)
{
    struct stat sb;
    if (!create && stat(path, &sb) != 0) {
        fprintf(err, "weft: no database at %s (use --db PATH)\n", path);
        return -1;
    }
    int rc = weft_store_open(path, NULL, st);
    if (rc) {
        fprintf(err, "weft: cannot open %s: %s\n", path, weft_store_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- token --------------------------------------------------------------------------- */

static int cmd_token(const cmd *c, const args *a, FILE *out, FILE *err)
{
    const char *secret = opt(c, a, "--secret-file"), *user = opt(c, a, "--user"),
               *doc = opt(c, a, "--doc"), *ttl_s = opt(c, a, "--ttl");
    if (!user || !doc) {
        fprintf(err, "weft token: --user and --doc are required\nusage: %s\n", c->usage);
        return 2;
    }
    uint8_t key[WEFT_TOKEN_KEY_MAX];
    size_t keylen = 0;
    if (secret) {
        int rc = weft_token_key_load(secret, key, sizeof key, &keylen);
        if (rc) {
            fprintf(err, "weft token: %s: %s\n", secret,
                    rc == WEFT_TOOLS_E_INVAL ? "empty secret" : weft_tools_strerror(rc));
            return 1;
        }
    } else {
        const char *env = getenv("WEFT_SECRET");
        if (!env || !*env || strlen(env) > sizeof key) {
            fprintf(err, "weft token: give --secret-file (or set WEFT_SECRET)\n");
            return 2;
        }
        keylen = strlen(env);
        while (keylen && isspace((unsigned char)env[keylen - 1])) /* as the server does */
            keylen--;
        memcpy(key, env, keylen);
    }
    uint64_t ttl = DEFAULT_TTL;
    if (ttl_s && tools__parse_u64(ttl_s, strlen(ttl_s), UINT32_MAX, &ttl)) {
        fprintf(err, "weft token: --ttl must be a number of seconds\n");
        return 2;
    }
    weft_token t;
    memset(&t, 0, sizeof t);
    if (strlen(user) >= sizeof t.user || strlen(doc) >= sizeof t.doc) {
        fprintf(err, "weft token: user must be < 64 bytes, doc pattern < 128 bytes\n");
        return 2;
    }
    strcpy(t.user, user);
    strcpy(t.doc, doc);
    t.write = opt(c, a, "--read-only") == NULL;
    t.exp = ttl ? (uint64_t)time(NULL) + ttl : 0;
    char tok[WEFT_TOKEN_MAX];
    int rc = weft_token_mint(key, keylen, &t, tok, sizeof tok);
    if (rc) {
        fprintf(err, "weft token: %s (user and doc: UTF-8 without control characters)\n",
                weft_tools_strerror(rc));
        return 2;
    }
    fprintf(out, "%s\n", tok);
    return 0;
}

/* ---- replay and check ------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_replay(weft_store *st, const char *name, bool fix, FILE *out, FILE *err)
{
    tools_docinfo d;
    int rc = tools__doc_info(st, name, &d);
    if (rc) {
        fprintf(err, "weft replay: %s: %s\n", name, weft_tools_strerror(rc));
        return 1;
    }
    size_t ns, fixed;
    rc = tools__replay(st, &d, err, &ns, NULL, fix ? now_ms() : -1, &fixed);
    if (!rc)
        fprintf(out, "%s: %" PRIu64 " batches replayed, %zu snapshot%s match the log%s\n", d.name,
                d.head, ns, ns == 1 ? "" : "s", fixed ? " (after repair)" : "");
    else if (rc != WEFT_TOOLS_E_MISMATCH && rc != WEFT_TOOLS_E_CORRUPT)
        fprintf(err, "weft replay: %s: %s\n", name, weft_tools_strerror(rc));
    else
        fprintf(err, "weft replay: %s: FAILED (%s)\n", name, weft_tools_strerror(rc));
    free(d.name);
    return rc ? 1 : 0;
}

/* Reads every page of the database by writing a compacted copy (SQLite's
 * VACUUM INTO, via weft_store_backup) to a temporary directory. */
static int page_scan(weft_store *st, FILE *err)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/weft-check-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(err, "weft check: cannot create a temporary directory\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/copy.db", dir);
    int rc = weft_store_backup(st, path);
    unlink(path);
    rmdir(dir);
    if (rc) {
        fprintf(err, "weft check: reading every page failed: %s\n", weft_store_strerror(rc));
        return -1;
    }
    return 0;
}

static int check_doc(weft_store *st, const tools_docinfo *d, FILE *out, FILE *err)
{
    size_t ns;
    weft_doc *replayed = NULL, *loaded = NULL;
    int rc = tools__replay(st, d, err, &ns, &replayed, -1, NULL);
    bool ok = rc == 0;
    if (rc && rc != WEFT_TOOLS_E_MISMATCH && rc != WEFT_TOOLS_E_CORRUPT)
        fprintf(err, "%s: %s\n", d->name, weft_tools_strerror(rc));
    uint64_t lsn;
    if (replayed) { /* the way the server loads it: latest snapshot + tail */
        char why[256];
        int lr = tools__build(st, d->id, UINT64_MAX, true, &loaded, &lsn);
        if (lr || weft_doc_check(loaded) || lsn != d->head ||
            tools__doc_compare(replayed, loaded, why, sizeof why)) {
            fprintf(err, "%s: loading from the latest snapshot differs from the log%s%s\n", d->name,
                    lr ? "" : ": ", lr ? "" : why);
            ok = false;
        }
    }
    if (ok)
        fprintf(out, "%s: ok (%" PRIu64 " batches, %zu snapshot%s, %" PRIu32 " chars)\n", d->name,
                d->head, ns, ns == 1 ? "" : "s", weft_doc_len(replayed));
    weft_doc_free(replayed);
    weft_doc_free(loaded);
    return ok ? 0 : -1;
}

static int cmd_check(weft_store *st, FILE *out, FILE *err)
{
    int bad = 0;
    if (page_scan(st, err))
        bad++;
    else
        fprintf(out, "pages: ok\n");
    tools_docinfo *d;
    size_t n;
    int rc = tools__docs(st, &d, &n);
    if (rc) {
        fprintf(err, "weft check: listing documents: %s\n", weft_tools_strerror(rc));
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (check_doc(st, &d[i], out, err))
            bad++;
    tools__docs_free(d, n);
    fprintf(out, "%zu document%s checked, %d problem%s\n", n, n == 1 ? "" : "s", bad,
            bad == 1 ? "" : "s");
    return bad ? 1 : 0;
}

/* ---- export and import ---------------------------------------------------------------- */

static int cmd_export(weft_store *st, const char *name, const char *path, FILE *out, FILE *err)
{
    FILE *f = path ? fopen(path, "wb") : out;
    if (!f) {
        fprintf(err, "weft export: cannot write %s\n", path);
        return 1;
    }
    int rc = tools__export(st, name, f, err);
    if (path && fclose(f) != 0 && !rc)
        rc = WEFT_TOOLS_E_IO;
    if (rc && rc != WEFT_TOOLS_E_CORRUPT)
        fprintf(err, "weft export: %s: %s\n", name, weft_tools_strerror(rc));
    return rc ? 1 : 0;
}

static int cmd_import(weft_store *st, const char *path, const char *as, FILE *out, FILE *err)
{
    bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(err, "weft import: cannot read %s\n", path);
        return 1;
    }
    int rc = tools__import(st, f, as, err);
    if (!std_in)
        fclose(f);
    if (rc && rc != WEFT_TOOLS_E_EXISTS)
        fprintf(err, "weft import: %s: %s\n", path, weft_tools_strerror(rc));
    return rc ? 1 : 0;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static int run(const cmd *c, const args *a, const char *db, FILE *out, FILE *err)
{
    const char *name = c->name;
    if (strcmp(name, "token") == 0)
        return cmd_token(c, a, out, err);
    uint64_t x = 0, y = UINT64_MAX;
    tools_at at;
    if (strcmp(name, "diff") == 0 &&
        (parse_lsn(err, "A", a->pos[1], &x) || parse_lsn(err, "B", a->pos[2], &y)))
        return 2;
    if (strcmp(name, "log") == 0) {
        x = 1;
        if ((opt(c, a, "--from") && parse_lsn(err, "--from", opt(c, a, "--from"), &x)) ||
            (opt(c, a, "--to") && parse_lsn(err, "--to", opt(c, a, "--to"), &y)))
            return 2;
    }
    if ((strcmp(name, "cat") == 0 || strcmp(name, "blame") == 0) &&
        parse_at(err, opt(c, a, "--at"), opt(c, a, "--time"), &at))
        return 2;
    if (strcmp(name, "import") == 0 && opt(c, a, "--check"))
        return cmd_import(NULL, a->pos[0], NULL, out, err);
    const char *path = opt(c, a, "--db") ? opt(c, a, "--db") : db;
    weft_store *st;
    if (open_store(path, strcmp(name, "import") == 0, &st, err))
        return 1;
    tools_cli cl = {out, err, st};
    int rc;
    if (strcmp(name, "cat") == 0)
        rc = tools__cli_cat(&cl, a->pos[0], &at);
    else if (strcmp(name, "log") == 0)
        rc = tools__cli_log(&cl, a->pos[0], x, y);
    else if (strcmp(name, "blame") == 0)
        rc = tools__cli_blame(&cl, a->pos[0], &at);
    else if (strcmp(name, "diff") == 0)
        rc = tools__cli_diff(&cl, a->pos[0], x, y);
    else if (strcmp(name, "replay") == 0)
        rc = cmd_replay(st, a->pos[0], opt(c, a, "--repair") != NULL, out, err);
    else if (strcmp(name, "export") == 0)
        rc = cmd_export(st, a->pos[0], opt(c, a, "-o"), out, err);
    else if (strcmp(name, "import") == 0)
        rc = cmd_import(st, a->pos[0], opt(c, a, "--as"), out, err);
    else
        rc = cmd_check(st, out, err);
    weft_store_close(st);
    fflush(out);
    return rc;
}

static const cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(CMDS[i].name, name) == 0)
            return &CMDS[i];
    return NULL;
}

int weft_cli_run_io(int argc, char **argv, const char *default_db, FILE *out, FILE *err)
{
    if (argc < 1 || !argv)
        return 2;
    /* argv[0] is the program; tolerate a caller that starts at the command */
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (!find_cmd(base) || strcmp(base, argv[0]) != 0) {
        argc--;
        argv++;
    }
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        const cmd *c = argc >= 2 ? find_cmd(argv[1]) : NULL;
        if (c)
            fprintf(out, "usage: %s\n\n%s", c->usage, c->help);
        else
            overview(out);
        return argc < 1 ? 2 : 0;
    }
    const cmd *c = find_cmd(argv[0]);
    if (!c) {
        fprintf(err, "weft: unknown command '%s'\n", argv[0]);
        overview(err);
        return 2;
    }
    args a;
    if (parse(c, argc - 1, argv + 1, &a, err))
        return 2;
    if (a.help) {
        fprintf(out, "usage: %s\n\n%s", c->usage, c->help);
        return 0;
    }
    return run(c, &a, default_db ? default_db : "weft.db", out, err);
}

int weft_cli_run(int argc, char **argv, const char *default_db)
{
    return weft_cli_run_io(argc, argv, default_db, stdout, stderr);
}

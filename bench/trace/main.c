/*
 * weft-trace-bench — replays a real editing trace through the engine.
 *
 *   weft-trace-bench [--json] [--runs N] [--snapshot-out PATH] TRACE.json.gz
 *
 * Measures, as medians over N runs (default 5) after one untimed pass that
 * collects the ops and warms up:
 *   replayMs      local replay: agent 1 applies every patch, one engine
 *                 transaction (one weft_oplist) per trace transaction;
 *   remoteMs      weft_doc_apply of those ops (patches=NULL) into a fresh
 *                 document with no local agent, as the server does;
 *   encodeMs, encodedBytes, loadMs
 *                 snapshot of the remote-built document encoded and loaded
 *                 back into a new document through the protocol codec
 *                 (weft_proto_snapshot_*; null in a build without it);
 * and once, before the timed runs:
 *   rssDeltaLoaded  bytes of resident memory (/proc/self/statm) gained while
 *                 building a document from the remote ops. Earlier documents
 *                 are freed and free heap returned to the OS (malloc_trim)
 *                 first; the trace and the op log are already resident and
 *                 not counted;
 *   memBytes      weft_doc_mem() of that same document;
 *   rssDeltaSnapshot  the same for a document loaded from that document's
 *                 snapshot (null without the codec): what a server holds
 *                 for a room loaded from storage.
 * textOk is true when every replay, apply and load ended with exactly the
 * trace's endContent. With --json the last line of output is one JSON object.
 *
 * Exit status: 0 text ok; 1 wrong text or an engine error; 2 usage or an
 * unreadable trace; 77 the trace file does not exist (ctest: skipped).
 */
#include "replay.h"
#include "snapcodec.h"
#include "sysinfo.h"
#include "trace.h"

#include "weft_git_commit.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_BADTEXT 1
#define EXIT_USAGE 2
#define EXIT_SKIP 77
#define MAX_RUNS 1000

typedef struct options {
    bool json;
    int runs;
    const char *path;
    const char *snapshot_out; /* write the encoded snapshot there (bench/client) */
} options;

static const char *g_snapshot_out;

/* One series of timings (ms), one entry per run. */
typedef struct series {
    double v[MAX_RUNS];
    int n;
} series;

typedef struct results {
    series replay, remote, encode, load;
    bool have_codec;
    size_t encoded_bytes;
    long long rss_delta, snap_rss_delta; /* snap_*: -1 without the codec */
    size_t mem_bytes, local_mem_bytes, run_count, snap_mem_bytes;
    size_t nops;
    bool text_ok;
} results;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(series *s)
{
    qsort(s->v, (size_t)s->n, sizeof s->v[0], cmp_double);
    return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static int parse_args(int argc, char **argv, options *o)
{
    o->json = false;
    o->runs = 5;
    o->path = NULL;
    o->snapshot_out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o->json = true;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > MAX_RUNS)
                return -1;
            o->runs = (int)n;
        } else if (strcmp(argv[i], "--snapshot-out") == 0 && i + 1 < argc) {
            o->snapshot_out = argv[++i];
        } else if (argv[i][0] == '-' || o->path) {
            return -1;
        } else {
            o->path = argv[i];
        }
    }
    return o->path ? 0 : -1;
}

static void report_fail(const char *what, const replay_fail *f)
{
    fprintf(stderr, "weft-trace-bench: %s failed at %s %zu: %s (%d)\n", what,
            strcmp(what, "local replay") == 0 ? "patch" : "op", f->index,
            f->rc < 0                 ? weft_strerror(f->rc)
            : f->rc == WEFT_DUPLICATE ? "duplicate"
                                      : "parked",
            f->rc);
}

/* Untimed first pass: collects the ops and checks the text. */
static int collect_ops(const trace *t, op_log *log, results *r)
{
    weft_doc *doc;
    double ms;
    replay_fail f;
    if (replay_local(t, log, &doc, &ms, &f)) {
        report_fail("local replay", &f);
        return -1;
    }
    r->text_ok = replay_text_ok(doc, t);
    r->local_mem_bytes = weft_doc_mem(doc);
    weft_doc_free(doc);
    r->nops = log->n;
    return 0;
}

/* Builds the document the snapshot runs use, measuring its memory. */
static weft_doc *build_loaded(const trace *t, const op_log *log, results *r)
{
    weft_doc *doc;
    double ms;
    replay_fail f;
    sys_trim_heap();
    size_t before = sys_rss_bytes();
    if (replay_remote(log, &doc, &ms, &f)) {
        report_fail("remote apply", &f);
        return NULL;
    }
    r->rss_delta = (long long)sys_rss_bytes() - (long long)before;
    r->mem_bytes = weft_doc_mem(doc);
    r->run_count = weft_doc_run_count(doc);
    r->text_ok &= replay_text_ok(doc, t);
    return doc;
}

/* The memory of a document loaded from doc's snapshot, the way a server
 * loads a room: the snapshot bytes are resident before the delta starts. */
static void measure_snapshot_loaded(const weft_doc *doc, results *r)
{
    weft_buf msg;
    weft_doc *loaded = NULL;
    weft_buf_init(&msg);
    r->snap_rss_delta = -1;
    if (snap_encode(doc, &msg) == 0) {
        sys_trim_heap();
        size_t before = sys_rss_bytes();
        if (snap_load(msg.p, msg.n, &loaded) == 0) {
            sys_trim_heap(); /* the loader's scratch (inflated columns) is freed */
            r->snap_rss_delta = (long long)sys_rss_bytes() - (long long)before;
            r->snap_mem_bytes = weft_doc_mem(loaded);
        }
    }
    weft_doc_free(loaded);
    weft_buf_cleanup(&msg);
}

/* One snapshot encode + load of doc; false on a codec error. */
static bool snapshot_run(const trace *t, const weft_doc *doc, results *r)
{
    weft_buf msg;
    weft_doc *loaded = NULL;
    bool ok = false;
    weft_buf_init(&msg);
    double t0 = sys_now_ms();
    int rc = snap_encode(doc, &msg);
    double t1 = sys_now_ms();
    if (rc == SNAP_UNAVAILABLE) {
        ok = true;
        goto out;
    }
    if (rc < 0 || (rc = snap_load(msg.p, msg.n, &loaded)) != 0) {
        fprintf(stderr, "weft-trace-bench: snapshot: %s (%d)\n", snap_strerror(rc), rc);
        goto out;
    }
    double t2 = sys_now_ms();
    r->have_codec = true;
    r->encoded_bytes = msg.n;
    r->encode.v[r->encode.n++] = t1 - t0;
    r->load.v[r->load.n++] = t2 - t1;
    r->text_ok &= replay_text_ok(loaded, t);
    ok = true;
    if (g_snapshot_out) {
        FILE *f = fopen(g_snapshot_out, "wb");
        ok = f && fwrite(msg.p, 1, msg.n, f) == msg.n;
        if (f && fclose(f))
            ok = false;
        if (!ok)
            fprintf(stderr, "weft-trace-bench: cannot write %s\n", g_snapshot_out);
        g_snapshot_out = NULL; /* once */
    }
out:
    weft_doc_free(loaded);
    weft_buf_cleanup(&msg);
    return ok;
}

static int timed_runs(const trace *t, const op_log *log, const weft_doc *loaded, int runs,
                      results *r)
{
    replay_fail f;
    for (int i = 0; i < runs; i++) {
        weft_doc *doc;
        double ms;
        if (replay_local(t, NULL, &doc, &ms, &f)) {
            report_fail("local replay", &f);
            return -1;
        }
        r->replay.v[r->replay.n++] = ms;
        r->text_ok &= replay_text_ok(doc, t);
        weft_doc_free(doc);
        if (replay_remote(log, &doc, &ms, &f)) {
            report_fail("remote apply", &f);
            return -1;
        }
        r->remote.v[r->remote.n++] = ms;
        r->text_ok &= replay_text_ok(doc, t);
        weft_doc_free(doc);
        if (!snapshot_run(t, loaded, r))
            return -1;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void print_row(const char *name, series *s)
{
    if (!s->n) {
        printf("  %-22s %10s   (built without the protocol codec)\n", name, "n/a");
        return;
    }
    double med = median(s); /* sorts: min and max are the ends */
    printf("  %-22s %10.2f %10.2f %10.2f\n", name, med, s->v[0], s->v[s->n - 1]);
}

static void print_human(const options *o, const trace *t, results *r)
{
    char cpu[256];
    sys_cpu_model(cpu, sizeof cpu);
    printf("weft-trace-bench  commit %s\n", WEFT_GIT_COMMIT);
    printf("machine   %ld CPUs, %s\n", sys_nproc(), cpu);
    printf("trace     %s: %zu txns (%zu with >1 patch), %zu patches\n", base_name(o->path),
           t->ntxns, t->multi_patch_txns, t->npatches);
    printf("          +%llu / -%llu code points; end %u code points, %zu bytes\n",
           (unsigned long long)t->ins_cps, (unsigned long long)t->del_cps, t->end_cps,
           t->end_bytes);
    printf("ops       %zu engine ops from the local replay\n", r->nops);
    printf("runs      %d timed (after 1 untimed pass)\n\n", o->runs);
    printf("  %-22s %10s %10s %10s\n", "ms", "median", "min", "max");
    print_row("local replay", &r->replay);
    print_row("remote apply", &r->remote);
    print_row("snapshot encode", &r->encode);
    print_row("snapshot load", &r->load);
    if (r->have_codec)
        printf("  %-22s %10zu\n", "snapshot bytes", r->encoded_bytes);
    printf("\nmemory    remote-built doc: weft_doc_mem %zu B, RSS delta %lld B, %zu runs\n",
           r->mem_bytes, r->rss_delta, r->run_count);
    printf("          local doc: weft_doc_mem %zu B\n", r->local_mem_bytes);
    if (r->snap_rss_delta >= 0)
        printf("          snapshot-loaded doc: weft_doc_mem %zu B, RSS delta %lld B\n",
               r->snap_mem_bytes, r->snap_rss_delta);
    printf("text      %s\n", r->text_ok ? "ok" : "MISMATCH");
}

static json_t *median_or_null(series *s)
{
    return s->n ? json_real(median(s)) : json_null();
}

static void print_json(const options *o, const trace *t, results *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "replayMs", median_or_null(&r->replay));
    json_object_set_new(j, "remoteMs", median_or_null(&r->remote));
    json_object_set_new(j, "encodeMs", median_or_null(&r->encode));
    json_object_set_new(j, "encodedBytes",
                        r->have_codec ? json_integer((json_int_t)r->encoded_bytes) : json_null());
    json_object_set_new(j, "loadMs", median_or_null(&r->load));
    json_object_set_new(j, "rssDeltaLoaded", json_integer(r->rss_delta));
    json_object_set_new(j, "rssDeltaSnapshot",
                        r->snap_rss_delta >= 0 ? json_integer(r->snap_rss_delta) : json_null());
    json_object_set_new(j, "textOk", json_boolean(r->text_ok));
    json_object_set_new(j, "memBytes", json_integer((json_int_t)r->mem_bytes));
    json_object_set_new(j, "localMemBytes", json_integer((json_int_t)r->local_mem_bytes));
    json_object_set_new(j, "ops", json_integer((json_int_t)r->nops));
    json_object_set_new(j, "runs", json_integer(o->runs));
    json_object_set_new(j, "trace", json_string(base_name(o->path)));
    json_object_set_new(j, "commit", json_string(WEFT_GIT_COMMIT));
    json_object_set_new(j, "nproc", json_integer(sys_nproc()));
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

int main(int argc, char **argv)
{
    options o;
    trace t;
    op_log log;
    results *r = calloc(1, sizeof *r);
    weft_doc *loaded = NULL;
    char err[512];
    int status = EXIT_BADTEXT;
    if (!r || parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: weft-trace-bench [--json] [--runs N] [--snapshot-out PATH] "
                        "TRACE.json.gz\n");
        free(r);
        return EXIT_USAGE;
    }
    g_snapshot_out = o.snapshot_out;
    op_log_init(&log);
    int rc = trace_load(&t, o.path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "weft-trace-bench: %s%s\n", err, rc == TRACE_ENOENT ? " (skipping)" : "");
        status = rc == TRACE_ENOENT ? EXIT_SKIP : EXIT_USAGE;
        goto out;
    }
    if (collect_ops(&t, &log, r) || !(loaded = build_loaded(&t, &log, r)) ||
        (measure_snapshot_loaded(loaded, r), timed_runs(&t, &log, loaded, o.runs, r))) {
        r->text_ok = false;
        goto report;
    }
    print_human(&o, &t, r);
report:
    if (o.json)
        print_json(&o, &t, r);
    status = r->text_ok ? 0 : EXIT_BADTEXT;
out:
    weft_doc_free(loaded);
    op_log_cleanup(&log);
    trace_cleanup(&t);
    free(r);
    return status;
}

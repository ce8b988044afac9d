/* opts.c — weft-load's command line (bench/load/README.md, "The contract") and the
 * defaults of each scenario. */
#include "load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef WEFT_LOAD_DEFAULT_TRACE
#define WEFT_LOAD_DEFAULT_TRACE "../shared/traces/automerge-paper.json.gz"
#endif

static void usage(FILE *f)
{
    fputs("usage: weft-load --url ws://HOST:PORT[/ws] --scenario S1..S6 [options]\n"
          "  --rooms N --clients N (per room) --typists N (per room)\n"
          "  --rate CHARS_PER_SEC (per typist) --secs S --presence 0|1\n"
          "  --room-prefix STR --seed N\n"
          "  S4: --trace PATH --joins N --cold-wait SECS (0: no cold phase)\n"
          "      --max-frame BYTES (largest op message, default 1048576)\n"
          "  S6: --writers N --window N (batches in flight per writer), or\n"
          "      --rate N (single-char batches per second per writer, open loop)\n"
          "  --max-pending N   connections handshaking at once (default 100)\n"
          "stdout: JSON lines only (ready, measure-start, measure-end, result);\n"
          "diagnostics go to stderr.\n",
          f);
}

/* Scenario defaults (README.md, "The contract"); -1 / negative means "not given". */
static void opts_defaults(opts *o)
{
    static const struct {
        int rooms, clients, typists;
        double rate, secs;
        int presence;
    } d[7] = {
        {0},
        {1, 2, 1, 100, 10, 0}, /* S1 latency */
        {1, 50, 5, 10, 15, 1}, /* S2 fan-out */
        {200, 5, 1, 5, 15, 0}, /* S3 many rooms */
        {1, 1, 0, 0, 0, 0},    /* S4 join */
        {1000, 5, 0, 0, 5, 0}, /* S5 idle */
        {10, 5, 5, 0, 10, 0},  /* S6 durable: writers fill the rooms */
    };
    int s = o->scenario;
    if (o->rooms < 0)
        o->rooms = d[s].rooms;
    if (o->clients < 0)
        o->clients = d[s].clients;
    if (o->typists < 0)
        o->typists = d[s].typists;
    if (o->rate < 0)
        o->rate = d[s].rate;
    if (o->secs < 0)
        o->secs = d[s].secs;
    if (o->presence < 0)
        o->presence = d[s].presence;
    if (o->writers < 0)
        o->writers = 50;
    if (o->window < 0)
        o->window = 4;
    if (o->joins < 0)
        o->joins = 20;
    if (o->cold_wait < 0)
        o->cold_wait = 0;
    if (!o->trace[0])
        snprintf(o->trace, sizeof o->trace, "%s", WEFT_LOAD_DEFAULT_TRACE);
    if (!o->room_prefix[0])
        snprintf(o->room_prefix, sizeof o->room_prefix, "weft-load-S%d-%ld-%ld-", s, (long)getpid(),
                 (long)time(NULL));
}

static int parse_url(opts *o, const char *url)
{
    const char *p = url;
    if (strncmp(p, "ws://", 5) != 0) {
        fprintf(stderr, "weft-load: --url: only ws://HOST:PORT[/path] (got '%s')\n", url);
        return -1;
    }
    p += 5;
    const char *slash = strchr(p, '/');
    size_t hp = slash ? (size_t)(slash - p) : strlen(p);
    const char *colon = memchr(p, ':', hp);
    if (!colon || (size_t)(colon - p) >= sizeof o->host || colon == p) {
        fprintf(stderr, "weft-load: --url: expected ws://HOST:PORT (got '%s')\n", url);
        return -1;
    }
    memcpy(o->host, p, (size_t)(colon - p));
    o->host[colon - p] = 0;
    o->port = atoi(colon + 1);
    if (o->port <= 0 || o->port > 65535) {
        fprintf(stderr, "weft-load: --url: bad port in '%s'\n", url);
        return -1;
    }
    snprintf(o->path, sizeof o->path, "%s", slash && slash[1] ? slash : "/ws");
    return 0;
}

static int num(const char *opt, const char *v, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || x < min || x > max) {
        fprintf(stderr, "weft-load: %s: expected a number in [%g, %g], got '%s'\n", opt, min, max,
                v);
        return -1;
    }
    *out = x;
    return 0;
}

static int set_int(const char *opt, const char *v, int min, int max, int *out)
{
    double x;
    if (num(opt, v, min, max, &x))
        return -1;
    if (x != (int)x) {
        fprintf(stderr, "weft-load: %s: expected an integer, got '%s'\n", opt, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int set_str(const char *opt, const char *v, char *dst, size_t cap)
{
    if (strlen(v) >= cap) {
        fprintf(stderr, "weft-load: %s: too long\n", opt);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int parse_scenario(const char *v)
{
    if ((v[0] == 'S' || v[0] == 's') && v[1] >= '1' && v[1] <= '6' && !v[2])
        return v[1] - '0';
    fprintf(stderr, "weft-load: --scenario: expected S1..S6, got '%s'\n", v);
    return -1;
}

/* One option with its value. */
static int opt_set(opts *o, const char *k, const char *v, bool *have_url)
{
    double x;
    if (!strcmp(k, "--url")) {
        *have_url = true;
        return parse_url(o, v);
    }
    if (!strcmp(k, "--scenario"))
        return (o->scenario = parse_scenario(v)) < 0 ? -1 : 0;
    if (!strcmp(k, "--rooms"))
        return set_int(k, v, 1, 100000, &o->rooms);
    if (!strcmp(k, "--clients"))
        return set_int(k, v, 1, 100000, &o->clients);
    if (!strcmp(k, "--typists"))
        return set_int(k, v, 0, 100000, &o->typists);
    if (!strcmp(k, "--rate"))
        return num(k, v, 0.01, 100000, &o->rate);
    if (!strcmp(k, "--secs"))
        return num(k, v, 0, 86400, &o->secs);
    if (!strcmp(k, "--presence"))
        return set_int(k, v, 0, 1, &o->presence);
    if (!strcmp(k, "--room-prefix"))
        return set_str(k, v, o->room_prefix, sizeof o->room_prefix - 32);
    if (!strcmp(k, "--seed")) {
        if (num(k, v, 0, 9007199254740992.0, &x))
            return -1;
        o->seed = (uint64_t)x;
        return 0;
    }
    if (!strcmp(k, "--trace"))
        return set_str(k, v, o->trace, sizeof o->trace);
    if (!strcmp(k, "--joins"))
        return set_int(k, v, 1, 100000, &o->joins);
    if (!strcmp(k, "--cold-wait"))
        return num(k, v, 0, 3600, &o->cold_wait);
    if (!strcmp(k, "--writers"))
        return set_int(k, v, 1, 100000, &o->writers);
    if (!strcmp(k, "--window"))
        return set_int(k, v, 1, 10000, &o->window);
    if (!strcmp(k, "--max-frame")) {
        if (num(k, v, 4096, 1 << 30, &x))
            return -1;
        o->max_frame = (size_t)x;
        return 0;
    }
    if (!strcmp(k, "--max-pending"))
        return set_int(k, v, 1, 100000, &o->max_pending);
    fprintf(stderr, "weft-load: unknown option '%s' (see --help)\n", k);
    return -1;
}

int opts_parse(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->rooms = o->clients = o->typists = o->presence = o->joins = -1;
    o->writers = o->window = -1;
    o->rate = o->secs = o->cold_wait = -1;
    o->seed = 1;
    o->max_frame = 1u << 20;
    o->max_pending = 100;
    bool have_url = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        char key[64];
        const char *eq = strchr(a, '=');
        const char *val;
        if (!strncmp(a, "--", 2) && eq && (size_t)(eq - a) < sizeof key) {
            memcpy(key, a, (size_t)(eq - a));
            key[eq - a] = 0;
            val = eq + 1;
        } else if (i + 1 < argc) {
            snprintf(key, sizeof key, "%s", a);
            val = argv[++i];
        } else {
            fprintf(stderr, "weft-load: %s needs a value (see --help)\n", a);
            return -1;
        }
        if (opt_set(o, key, val, &have_url))
            return -1;
    }
    if (!have_url || !o->scenario) {
        usage(stderr);
        return -1;
    }
    opts_defaults(o);
    return 0;
}

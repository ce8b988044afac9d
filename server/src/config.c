/* config.c — parsing `weft serve` options. */
#include "config.h"

#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_usage(void)
{
    fputs(
        "usage: weft serve [options]\n"
        "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; [::1]:PORT for "
        "IPv6)\n"
        "  --db PATH              database file (default ./weft.db)\n"
        "  --secret-file PATH     HMAC key for tokens (or env WEFT_SECRET); none: open mode\n"
        "  --allow-origin ORIGIN  allowed browser Origin (repeatable; '*' allows all)\n"
        "  --tls-cert FILE --tls-key FILE   serve https and wss\n"
        "  --max-frame BYTES      largest client message (default 1048576; beyond: close 1009)\n"
        "  --max-doc BYTES        largest document, visible UTF-8 bytes (default 16777216)\n"
        "  --max-conns N          most WebSocket connections (default 10000)\n"
        "  --rate OPS             op messages per second per connection, burst 4x (default 2000)\n"
        "  --max-parked N         ops waiting for dependencies per document (default 1000)\n"
        "  --outbound-max BYTES   queued bytes per connection before close 1013 (default 8388608)\n"
        "  --snapshot-every K     op batches between snapshots (default 1000)\n"
        "  --idle-unload SECS     unload a document this long after its last client left (default "
        "30)\n"
        "  --ping SECS            ping idle connections; hang up after twice this (default 30)\n"
        "  --presence-ttl SECS    drop a cursor not refreshed for this long (default 30)\n"
        "  --log-level LEVEL      error|warn|info|debug (default info)\n",
        stdout); /* asked for: stdout, like every --help */
}

static void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->host, "127.0.0.1");
    c->port = 8080;
    c->db = "./weft.db";
    c->max_frame = 1048576;
    c->max_doc = 16777216;
    c->outbound_max = 8388608;
    c->max_conns = 10000;
    c->rate = 2000;
    c->max_parked = 1000;
    c->snapshot_every = 1000;
    c->idle_unload = 30;
    c->ping = 30;
    c->presence_ttl = 30;
    c->log_level = LOG_INFO;
}

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "weft: %s: expected a number from %llu to %llu, got '%s'\n", opt,
                (unsigned long long)min, (unsigned long long)max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_listen(config *c, const char *s)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hl;
    if (!colon)
        goto bad;
    if (s[0] == '[') {
        if (colon == s || colon[-1] != ']')
            goto bad;
        h = s + 1;
        hl = (size_t)(colon - 1 - h);
        c->host_v6 = true;
    } else {
        hl = (size_t)(colon - s);
        c->host_v6 = false;
    }
    if (hl == 0 || hl >= sizeof c->host)
        goto bad;
    memcpy(c->host, h, hl);
    c->host[hl] = 0;
    uint64_t port;
    if (parse_u64("--listen", colon + 1, 1, 65535, &port))
        return -1;
    c->port = (int)port;
    return 0;
bad:
    fprintf(stderr, "weft: --listen: expected HOST:PORT or [IPv6]:PORT, got '%s'\n", s);
    return -1;
}

static int secret_set(config *c, const char *bytes, size_t n, const char *from)
{
    while (n > 0 && isspace((unsigned char)bytes[n - 1])) /* as weft_token_key_load */
        n--;
    if (n == 0) {
        fprintf(stderr, "weft: %s: the secret is empty\n", from);
        return -1;
    }
    free(c->secret);
    c->secret = malloc(n);
    if (!c->secret)
        return -1;
    memcpy(c->secret, bytes, n);
    c->secret_len = n;
    return 0;
}

static int secret_read_file(config *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "weft: --secret-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return secret_set(c, buf, n, path);
}

/* Options that take a number: name, field offset, min, max, width. */
typedef struct num_opt {
    const char *name;
    size_t off;
    uint64_t min, max;
    int wide; /* 1: size_t field, 0: uint32_t */
} num_opt;

static const num_opt num_opts[] = {
    {"--max-frame", offsetof(config, max_frame), 64, 1u << 30, 1},
    {"--max-doc", offsetof(config, max_doc), 1, 1ull << 32, 1},
    {"--outbound-max", offsetof(config, outbound_max), 4096, 1ull << 34, 1},
    {"--max-conns", offsetof(config, max_conns), 1, 1000000, 0},
    {"--rate", offsetof(config, rate), 1, 1000000, 0},
    {"--max-parked", offsetof(config, max_parked), 0, 10000000, 0},
    {"--snapshot-every", offsetof(config, snapshot_every), 1, 100000000, 0},
    {"--idle-unload", offsetof(config, idle_unload), 0, 86400, 0},
    {"--ping", offsetof(config, ping), 1, 30000, 0},
    {"--presence-ttl", offsetof(config, presence_ttl), 1, 86400, 0},
};

static int parse_num_opt(config *c, const char *opt, const char *val, int *handled)
{
    for (size_t i = 0; i < sizeof num_opts / sizeof num_opts[0]; i++) {
        const num_opt *o = &num_opts[i];
        if (strcmp(opt, o->name) != 0)
            continue;
        *handled = 1;
        uint64_t v;
        if (parse_u64(opt, val, o->min, o->max, &v))
            return -1;
        if (o->wide)
            *(size_t *)((char *)c + o->off) = (size_t)v;
        else
            *(uint32_t *)((char *)c + o->off) = (uint32_t)v;
        return 0;
    }
    *handled = 0;
    return 0;
}

static int parse_opt(config *c, const char *opt, const char *val)
{
    int handled;
    int r = parse_num_opt(c, opt, val, &handled);
    if (handled)
        return r;
    if (strcmp(opt, "--listen") == 0)
        return parse_listen(c, val);
    if (strcmp(opt, "--db") == 0) {
        c->db = val;
    } else if (strcmp(opt, "--secret-file") == 0) {
        return secret_read_file(c, val);
    } else if (strcmp(opt, "--allow-origin") == 0) {
        if (strcmp(val, "*") == 0)
            c->origin_any = true;
        else if (c->norigins < CONFIG_MAX_ORIGINS)
            c->origins[c->norigins++] = val;
        else {
            fprintf(stderr, "weft: too many --allow-origin (at most %d)\n", CONFIG_MAX_ORIGINS);
            return -1;
        }
    } else if (strcmp(opt, "--tls-cert") == 0) {
        c->tls_cert = val;
    } else if (strcmp(opt, "--tls-key") == 0) {
        c->tls_key = val;
    } else if (strcmp(opt, "--log-level") == 0) {
        c->log_level = log_level_parse(val);
        if (c->log_level < 0) {
            fprintf(stderr, "weft: --log-level: expected error|warn|info|debug\n");
            return -1;
        }
    } else {
        fprintf(stderr, "weft serve: unknown option '%s' (see weft serve --help)\n", opt);
        return -1;
    }
    return 0;
}

static int config_check(config *c)
{
    if (!c->tls_cert != !c->tls_key) {
        fprintf(stderr, "weft: --tls-cert and --tls-key go together\n");
        return -1;
    }
    const char *env = getenv("WEFT_SECRET");
    if (!c->secret && env && *env)
        return secret_set(c, env, strlen(env), "WEFT_SECRET");
    return 0;
}

static bool option_known(const char *a)
{
    static const char *const names[] = {"--listen",       "--db",       "--secret-file",
                                        "--allow-origin", "--tls-cert", "--tls-key",
                                        "--log-level"};
    size_t n = strcspn(a, "=");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncmp(a, names[i], n) == 0)
            return true;
    for (size_t i = 0; i < sizeof num_opts / sizeof num_opts[0]; i++)
        if (strlen(num_opts[i].name) == n && strncmp(a, num_opts[i].name, n) == 0)
            return true;
    return false;
}

int config_parse(config *c, int argc, char **argv)
{
    config_defaults(c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            config_usage();
            return 1;
        }
        if (!option_known(a)) {
            fprintf(stderr, "weft serve: unknown option '%s' (see weft serve --help)\n", a);
            return -1;
        }
        const char *eq = strchr(a, '=');
        char opt[64];
        const char *val;
        if (strncmp(a, "--", 2) == 0 && eq && (size_t)(eq - a) < sizeof opt) {
            memcpy(opt, a, (size_t)(eq - a));
            opt[eq - a] = 0;
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "weft serve: %s needs a value (see weft serve --help)\n", a);
                return -1;
            }
            snprintf(opt, sizeof opt, "%s", a);
            val = argv[++i];
        }
        if (parse_opt(c, opt, val))
            return -1;
    }
    return config_check(c);
}

void config_cleanup(config *c)
{
    free(c->secret);
    c->secret = NULL;
}

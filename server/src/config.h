/* config.h — `weft serve` options (docs/operations.md lists them). */
#ifndef WEFT_SERVER_CONFIG_H
#define WEFT_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_ORIGINS 32

typedef struct config {
    char host[256]; /* listen address: IPv4 literal or IPv6 literal without brackets */
    bool host_v6;
    int port;
    const char *db;
    uint8_t *secret; /* NULL: open mode */
    size_t secret_len;
    const char *origins[CONFIG_MAX_ORIGINS];
    int norigins;
    bool origin_any;
    const char *tls_cert, *tls_key;
    size_t max_frame, max_doc, outbound_max;
    uint32_t max_conns, rate, max_parked, snapshot_every, idle_unload, ping, presence_ttl;
    int log_level;
} config;

/* Fills c from `weft serve` arguments (argv[0] is "serve") and WEFT_SECRET.
 * Returns 0, 1 when --help was printed, or -1 after printing an error. */
int config_parse(config *c, int argc, char **argv);
void config_cleanup(config *c);
void config_usage(void);

#endif

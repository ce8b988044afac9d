/* metrics.h — process-wide counters, rendered as Prometheus text at /metrics. */
#ifndef WEFT_SERVER_METRICS_H
#define WEFT_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_COMMIT_BUCKETS 12

typedef struct metrics_t {
    uint64_t connections; /* open WebSocket sessions (gauge) */
    uint64_t rooms;       /* loaded documents (gauge) */
    uint64_t ops_total;   /* op batches accepted */
    uint64_t bytes_in, bytes_out;
    uint64_t outbound_bytes; /* queued in every outbound queue (gauge) */
    uint64_t slow_closes;
    uint64_t auth_failures;
    uint64_t parked; /* ops parked over every room (gauge) */
    uint64_t commit_buckets[METRICS_COMMIT_BUCKETS];
    uint64_t commit_count;
    double commit_sum;
} metrics_t;

extern metrics_t metrics;

/* Records one commit latency (seconds) in the histogram. */
void metrics_commit(double secs);
/* Renders every metric as Prometheus text into a malloc'ed string. */
char *metrics_render(size_t *len);

#endif

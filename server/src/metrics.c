/* metrics.c — Prometheus text exposition of the server's counters. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

metrics_t metrics;

static const double commit_bounds[METRICS_COMMIT_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

void metrics_commit(double secs)
{
    int i = 0;
    while (i < METRICS_COMMIT_BUCKETS - 1 && secs > commit_bounds[i])
        i++;
    metrics.commit_buckets[i]++;
    metrics.commit_count++;
    metrics.commit_sum += secs;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && (size_t)n < b->cap - b->n) {
            b->n += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
}

static void metric(sbuf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
              (unsigned long long)v);
}

static void render_histogram(sbuf *b)
{
    const char *n = "weft_commit_seconds";
    sb_printf(b, "# HELP %s Time from submitting an op batch to its durable commit.\n", n);
    sb_printf(b, "# TYPE %s histogram\n", n);
    uint64_t cum = 0;
    for (int i = 0; i < METRICS_COMMIT_BUCKETS - 1; i++) {
        cum += metrics.commit_buckets[i];
        sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", n, commit_bounds[i], (unsigned long long)cum);
    }
    cum += metrics.commit_buckets[METRICS_COMMIT_BUCKETS - 1];
    sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", n, (unsigned long long)cum);
    sb_printf(b, "%s_sum %.6f\n%s_count %llu\n", n, metrics.commit_sum, n,
              (unsigned long long)metrics.commit_count);
}

char *metrics_render(size_t *len)
{
    sbuf b = {0};
    metric(&b, "weft_connections", "gauge", "Open WebSocket connections.", metrics.connections);
    metric(&b, "weft_rooms", "gauge", "Documents loaded in memory.", metrics.rooms);
    metric(&b, "weft_ops_total", "counter", "Op batches accepted from clients.", metrics.ops_total);
    metric(&b, "weft_bytes_in_total", "counter", "WebSocket message bytes received.",
           metrics.bytes_in);
    metric(&b, "weft_bytes_out_total", "counter", "WebSocket message bytes sent.",
           metrics.bytes_out);
    render_histogram(&b);
    metric(&b, "weft_outbound_queue_bytes", "gauge", "Bytes waiting in outbound queues.",
           metrics.outbound_bytes);
    metric(&b, "weft_slow_consumer_closes_total", "counter",
           "Connections closed with 1013 because they fell behind.", metrics.slow_closes);
    metric(&b, "weft_auth_failures_total", "counter",
           "Rejected tokens, origins and forbidden documents.", metrics.auth_failures);
    metric(&b, "weft_parked_ops", "gauge", "Ops waiting for missing dependencies.", metrics.parked);
    *len = b.n;
    return b.p;
}

/* stats.c — latency samples and their percentiles, clocks, CPU. */
#include "load.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

void samples_add(samples *s, double ms)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return; /* a lost sample under OOM; the count says so */
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ms;
}

void samples_free(samples *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p% of them at or below. */
static double rank(const samples *s, double p)
{
    size_t k = (size_t)((p / 100.0) * (double)s->n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > s->n)
        k = s->n;
    return s->v[k - 1];
}

lat_summary samples_summary(samples *s)
{
    lat_summary r = {0};
    if (!s->n)
        return r;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    r.n = s->n;
    r.p50 = rank(s, 50);
    r.p95 = rank(s, 95);
    r.p99 = rank(s, 99);
    r.max = s->v[s->n - 1];
    return r;
}

int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* limits.c — Origin allowlist and the per-connection op rate limit. */
#include "log.h"
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Origin "http(s)://AUTH" names the same host as AUTH (the Host header or
 * the listen address). */
static bool origin_same_host(const char *origin, const char *auth)
{
    const char *p = strstr(origin, "://");
    if (!p || !auth[0])
        return false;
    size_t scheme = (size_t)(p - origin);
    if (!(scheme == 4 && strncasecmp(origin, "http", 4) == 0) &&
        !(scheme == 5 && strncasecmp(origin, "https", 5) == 0))
        return false;
    return strcasecmp(p + 3, auth) == 0;
}

int limits_origin_ok(server *srv, struct lws *wsi)
{
    const config *c = srv->cfg;
    char origin[256], host[256], listen[300];
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
        return 0; /* not a browser: Origin protects browsers only */
    if (c->origin_any || (c->norigins == 0 && !c->secret))
        return 0;
    for (int i = 0; i < c->norigins; i++)
        if (strcasecmp(origin, c->origins[i]) == 0)
            return 0;
    if (c->norigins > 0)
        return -1;
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
        host[0] = 0;
    snprintf(listen, sizeof listen, c->host_v6 ? "[%s]:%d" : "%s:%d", c->host, c->port);
    return origin_same_host(origin, host) || origin_same_host(origin, listen) ? 0 : -1;
}

bool limits_rate_take(session *s)
{
    double rate = s->srv->cfg->rate, burst = 4.0 * rate;
    int64_t t = now_ms();
    s->bucket += (double)(t - s->bucket_ms) * rate / 1000.0;
    if (s->bucket > burst)
        s->bucket = burst;
    s->bucket_ms = t;
    if (s->bucket < 1.0)
        return false;
    s->bucket -= 1.0;
    return true;
}

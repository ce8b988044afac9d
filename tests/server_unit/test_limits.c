/* The per-connection op rate limit: a token bucket of 4 x --rate that
 * refills at --rate per second. */
#include "check.h"
#include "server.h"

#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rate = 100;
    server srv;
    memset(&srv, 0, sizeof srv);
    srv.cfg = &cfg;
    session s;
    memset(&s, 0, sizeof s);
    s.srv = &srv;
    s.bucket = 4.0 * cfg.rate; /* as session_new starts it */
    s.bucket_ms = now_ms();

    int taken = 0;
    while (limits_rate_take(&s) && taken < 1000)
        taken++;
    CHECK(taken >= 400 && taken <= 402); /* the burst, plus what refilled meanwhile */
    CHECK(!limits_rate_take(&s));
    sleep_ms(120); /* ~12 tokens at 100/s */
    int more = 0;
    while (limits_rate_take(&s) && more < 1000)
        more++;
    CHECK(more >= 8 && more <= 100); /* a loaded machine oversleeps */
    s.bucket_ms -= 3600 * 1000; /* an hour idle: the bucket never exceeds the burst */
    more = 0;
    while (limits_rate_take(&s) && more < 1000)
        more++;
    CHECK(more >= 400 && more <= 402);
    return CHECK_DONE();
}

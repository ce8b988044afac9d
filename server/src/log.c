/* log.c — one line per event, with a UTC timestamp and a level. */
#include "log.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_level = LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(int level)
{
    g_level = level;
}

int log_get_level(void)
{
    return g_level;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > g_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

static void lws_emit(int lws_level, const char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    log_msg(lws_level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws msg=\"%.*s\"", (int)n, line);
}

void log_hook_lws(void)
{
    int lv = LLL_ERR | (g_level >= LOG_DEBUG ? LLL_WARN : 0);
    if (getenv("WEFT_LWS_DEBUG")) /* lws's own notices and info lines, for debugging */
        lv |= LLL_WARN | LLL_NOTICE | LLL_INFO;
    lws_set_log_level(lv, lws_emit);
}

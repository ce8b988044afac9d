/* log.h — one line per event on stderr: time, level, event, key=value pairs. */
#ifndef WEFT_SERVER_LOG_H
#define WEFT_SERVER_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Parses "error" / "warn" / "info" / "debug"; -1 for anything else. */
int log_level_parse(const char *s);
void log_set_level(int level);
int log_get_level(void);
/* Routes libwebsockets' own errors and warnings into our log. */
void log_hook_lws(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

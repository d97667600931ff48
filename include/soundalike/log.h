/* log.h: leveled logging to stderr, the one piece of global state.
 * Thread-safe: each message is written with a single write. */
#ifndef SOUNDALIKE_LOG_H
#define SOUNDALIKE_LOG_H

typedef enum sa_log_level {
    SA_LOG_ERROR = 0,
    SA_LOG_WARN = 1,
    SA_LOG_INFO = 2,
    SA_LOG_DEBUG = 3,
} sa_log_level;

void sa_log_set_level(sa_log_level level);
sa_log_level sa_log_get_level(void);
void sa_log(sa_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sa_log_error(...) sa_log(SA_LOG_ERROR, __VA_ARGS__)
#define sa_log_warn(...) sa_log(SA_LOG_WARN, __VA_ARGS__)
#define sa_log_info(...) sa_log(SA_LOG_INFO, __VA_ARGS__)
#define sa_log_debug(...) sa_log(SA_LOG_DEBUG, __VA_ARGS__)

#endif

/* log.c: leveled logging to stderr. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "soundalike/log.h"

static atomic_int current_level = SA_LOG_WARN;

void sa_log_set_level(sa_log_level level) { atomic_store(&current_level, (int)level); }

sa_log_level sa_log_get_level(void) { return (sa_log_level)atomic_load(&current_level); }

void sa_log(sa_log_level level, const char *fmt, ...) {
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if ((int)level > atomic_load(&current_level))
        return;
    char line[2048];
    int off = snprintf(line, sizeof line, "soundalike: %s: ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)off + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    /* one write per message, so lines from several threads never interleave */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

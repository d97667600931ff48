/* error.c: error codes and the per-thread detail message. */
#include <stdio.h>
#include <string.h>

#include "soundalike/error.h"

static _Thread_local char detail[1024];

const char *sa_strerror(sa_err err) {
    switch (err) {
    case SA_OK: return "ok";
    case SA_ERR_NOMEM: return "out of memory";
    case SA_ERR_IO: return "input/output error";
    case SA_ERR_INVALID: return "invalid argument";
    case SA_ERR_NOT_FOUND: return "not found";
    case SA_ERR_FORMAT: return "corrupt or unrecognised data";
    case SA_ERR_UNSUPPORTED: return "unsupported";
    case SA_ERR_DB: return "store error";
    case SA_ERR_STALE: return "stale";
    case SA_ERR_BUSY: return "busy";
    case SA_ERR_RANGE: return "value out of range";
    case SA_ERR_CONFLICT: return "conflict";
    case SA_ERR_DENIED: return "permission denied";
    case SA_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

sa_err sa_error_setv(sa_err err, const char *fmt, va_list ap) {
    /* formatted aside first: callers often wrap the current detail ("%s: %s", what, sa_error_detail()) */
    char text[sizeof detail];
    vsnprintf(text, sizeof text, fmt, ap);
    memcpy(detail, text, sizeof detail);
    return err;
}

sa_err sa_error_set(sa_err err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sa_error_setv(err, fmt, ap);
    va_end(ap);
    return err;
}

const char *sa_error_detail(void) { return detail; }

void sa_error_clear(void) { detail[0] = '\0'; }

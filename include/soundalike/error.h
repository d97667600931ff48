/* error.h: the error values every soundalike function returns.
 *
 * A function that can fail returns sa_err: SA_OK (0) or a negative code.
 * The code says what kind of failure it was; the detail (which file, which
 * field, what the library underneath said) is kept per thread and read with
 * sa_error_detail() right after the failing call, like errno. */
#ifndef SOUNDALIKE_ERROR_H
#define SOUNDALIKE_ERROR_H

#include <stdarg.h>

typedef enum sa_err {
    SA_OK = 0,
    SA_ERR_NOMEM = -1,       /* out of memory */
    SA_ERR_IO = -2,          /* a file or socket could not be read or written */
    SA_ERR_INVALID = -3,     /* a bad argument or parameter from the caller */
    SA_ERR_NOT_FOUND = -4,   /* no such track, file, row or key */
    SA_ERR_FORMAT = -5,      /* data is corrupt, truncated or not what it claims */
    SA_ERR_UNSUPPORTED = -6, /* valid, but not something we handle (e.g. no audio stream) */
    SA_ERR_DB = -7,          /* the store failed */
    SA_ERR_STALE = -8,       /* a cached artefact no longer matches its source */
    SA_ERR_BUSY = -9,        /* a resource is locked or in use; try again */
    SA_ERR_RANGE = -10,      /* a value outside its allowed range */
    SA_ERR_CONFLICT = -11,   /* the request conflicts with the current state */
    SA_ERR_DENIED = -12,     /* not allowed (path outside the library, bad key) */
    SA_ERR_INTERNAL = -13,   /* a bug: an invariant did not hold */
} sa_err;

/* A short, static description of the code ("out of memory"). */
const char *sa_strerror(sa_err err);

/* Records a detail message for this thread and returns err, so that a
 * failure is reported in one line: return sa_error_set(SA_ERR_IO, "...%s", p); */
sa_err sa_error_set(sa_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
sa_err sa_error_setv(sa_err err, const char *fmt, va_list ap);

/* The detail of this thread's last sa_error_set, or "" when none. Valid until
 * the next sa_error_set/sa_error_clear on the same thread. */
const char *sa_error_detail(void);
void sa_error_clear(void);

#endif

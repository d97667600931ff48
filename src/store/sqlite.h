/* sqlite.h: the SQLite backend's connection and the helpers its files share
 * (internal to src/store). */
#ifndef SA_STORE_SQLITE_H
#define SA_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/backend.h"

/* One slot per cached statement; each is used by exactly one function. */
typedef enum sq_stmt_id {
    SQ_TRACK_BY_ID,
    SQ_TRACK_BY_PATH,
    SQ_TRACK_PUT,
    SQ_TRACK_SET_STATUS,
    SQ_TRACKS_PAGE,
    SQ_TRACKS_PAGE_STATUS,
    SQ_COUNT_TRACKS,
    SQ_SCAN_BEGIN,
    SQ_TRACK_SEEN,
    SQ_MARK_MISSING,
    SQ_KEEP_UNDER,
    SQ_FEATURES_PUT,
    SQ_FEATURES_GET,
    SQ_FEATURES_VERSION,
    SQ_VECTOR_PUT,
    SQ_VECTOR_GET,
    SQ_VECTOR_DELETE,
    SQ_VECTORS_LOAD,
    SQ_VECTORS_GENERATION,
    SQ_VECTORS_COUNT,
    SQ_VECTORS_CHANGED,
    SQ_INDEX_META_PUT,
    SQ_INDEX_META_GET,
    SQ_STMT_COUNT
} sq_stmt_id;

typedef struct sq_store {
    sa_store base; /* first: sa_store * and sq_store * convert both ways */
    sqlite3 *db;
    char *path;
    int schema_version;
    int tx_depth; /* sa_store_begin calls not yet committed or rolled back */
    sqlite3_stmt *stmts[SQ_STMT_COUNT];
} sq_store;

static inline sq_store *sq_of(sa_store *s) { return (sq_store *)s; }

/* Records the connection's last error as an sa_err: what (printf format)
 * says what was being done; the SQLite message and the file follow. */
sa_err sq_error(sq_store *sq, const char *what, ...) __attribute__((format(printf, 2, 3)));

/* Runs SQL text that returns no rows (several statements allowed). */
sa_err sq_exec(sq_store *sq, const char *sql, const char *what);

/* The cached statement of slot id, prepared from sql on first use. */
sa_err sq_stmt(sq_store *sq, sq_stmt_id id, const char *sql, sqlite3_stmt **out);

/* Binds parameters 1, 2, ... by a format, one letter each: 'i' int64_t,
 * 'n' int, 'd' double, 't' text (NULL binds SQL NULL), 'b' a blob given as
 * (const void *, int bytes). Text and blobs are not copied: they must live
 * until the statement is reset. */
sa_err sq_bind(sq_store *sq, sqlite3_stmt *st, const char *fmt, ...);

/* One step: SA_OK with *row 1 for a row, 0 when done, or the error. */
sa_err sq_step(sq_store *sq, sqlite3_stmt *st, int *row, const char *what, ...)
    __attribute__((format(printf, 4, 5)));

/* Steps a statement that returns no rows to its end and resets it. */
sa_err sq_run(sq_store *sq, sqlite3_stmt *st, const char *what, ...) __attribute__((format(printf, 3, 4)));

/* Ends the use of a statement so it holds no lock. Its result only repeats
 * the last step's error, which that step already reported. */
static inline void sq_reset(sqlite3_stmt *st) { (void)sqlite3_reset(st); }

/* Column i as a malloc'd string, NULL for SQL NULL; SA_ERR_NOMEM when the
 * text could not be had. */
sa_err sq_column_strdup(sqlite3_stmt *st, int i, char **out);

/* Schema: runs the migrations this build knows (sqlite_schema.c). */
sa_err sq_migrate(sq_store *sq);

/* The backend's operations, by file. */
sa_err sq_track_by_id(sa_store *s, int64_t id, sa_track *out);
sa_err sq_track_by_path(sa_store *s, const char *path, sa_track *out);
sa_err sq_track_put(sa_store *s, const sa_track *t, int64_t *id);
sa_err sq_track_set_status(sa_store *s, int64_t id, sa_track_status status, const char *error);
sa_err sq_tracks_each(sa_store *s, int status, sa_track_fn fn, void *ctx);
sa_err sq_count_tracks(sa_store *s, sa_store_counts *out);
sa_err sq_tracks_query(sa_store *s, const sa_track_query *q, sa_track_fn fn, void *ctx, int64_t *total);
sa_err sq_scan_begin(sa_store *s, int64_t *scan_id);
sa_err sq_track_seen(sa_store *s, int64_t id, int64_t scan_id);
sa_err sq_mark_missing(sa_store *s, const char *root, int64_t scan_id, int64_t *count);
sa_err sq_keep_under(sa_store *s, const char *folder, int64_t scan_id);

sa_err sq_features_put(sa_store *s, int64_t track_id, const sa_feature_group *g);
sa_err sq_features_get(sa_store *s, int64_t track_id, sa_features *f);
sa_err sq_features_version(sa_store *s, int64_t track_id, const char *analyzer, int *version);

sa_err sq_vector_put(sa_store *s, int64_t track_id, const char *profile, const float *v, int dim);
sa_err sq_vector_get(sa_store *s, int64_t track_id, const char *profile, float *v, int dim);
sa_err sq_vector_delete(sa_store *s, int64_t track_id, const char *profile);
sa_err sq_vectors_load(sa_store *s, const char *profile, int dim, int64_t **ids, float **data, size_t *n);
sa_err sq_vectors_count(sa_store *s, const char *profile, int64_t *count);
sa_err sq_vectors_generation(sa_store *s, const char *profile, int64_t *generation);
sa_err sq_vectors_changed_since(sa_store *s, const char *profile, int dim, int64_t since, sa_vector_changes *out);
sa_err sq_index_meta_put(sa_store *s, const sa_index_meta *m);
sa_err sq_index_meta_get(sa_store *s, const char *name, sa_index_meta *out);

#endif

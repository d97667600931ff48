/* sqlite.c: the SQLite backend's connection: open and close, the pragmas that
 * make it safe (WAL, busy timeout, foreign keys), the statement cache, error
 * reporting and transactions.
 *
 * Durability: WAL with synchronous=NORMAL keeps the file consistent through
 * a kill -9 or a power cut at any moment (a power cut may lose the last
 * commits, never half of one). Every function writes with one statement
 * (triggers included) or inside one transaction, so no reader ever sees half
 * of a write. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soundalike/log.h"
#include "store/sqlite.h"

#define BUSY_TIMEOUT_MS 10000

static sa_err code_of(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return SA_ERR_BUSY;
    case SQLITE_NOMEM: return SA_ERR_NOMEM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return SA_ERR_FORMAT;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY: return SA_ERR_IO;
    /* the only foreign keys point at tracks and scans: a write named one that does not exist */
    case SQLITE_CONSTRAINT: return rc == SQLITE_CONSTRAINT_FOREIGNKEY ? SA_ERR_NOT_FOUND : SA_ERR_DB;
    default: return SA_ERR_DB;
    }
}

static sa_err sq_verror(sq_store *sq, const char *what, va_list ap) {
    char doing[512];
    vsnprintf(doing, sizeof doing, what, ap);
    return sa_error_set(code_of(sqlite3_extended_errcode(sq->db)), "%s: %s (%s)", doing, sqlite3_errmsg(sq->db),
                        sq->path);
}

sa_err sq_error(sq_store *sq, const char *what, ...) {
    va_list ap;
    va_start(ap, what);
    sa_err err = sq_verror(sq, what, ap);
    va_end(ap);
    return err;
}

sa_err sq_exec(sq_store *sq, const char *sql, const char *what) {
    return sqlite3_exec(sq->db, sql, NULL, NULL, NULL) == SQLITE_OK ? SA_OK : sq_error(sq, "%s", what);
}

sa_err sq_stmt(sq_store *sq, sq_stmt_id id, const char *sql, sqlite3_stmt **out) {
    if (!sq->stmts[id] &&
        sqlite3_prepare_v3(sq->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &sq->stmts[id], NULL) != SQLITE_OK)
        return sq_error(sq, "preparing \"%.60s...\"", sql);
    *out = sq->stmts[id];
    return SA_OK;
}

sa_err sq_bind(sq_store *sq, sqlite3_stmt *st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = SQLITE_OK;
    for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        int col = i + 1;
        switch (fmt[i]) {
        case 'i': rc = sqlite3_bind_int64(st, col, va_arg(ap, int64_t)); break;
        case 'n': rc = sqlite3_bind_int(st, col, va_arg(ap, int)); break;
        case 'd': rc = sqlite3_bind_double(st, col, va_arg(ap, double)); break;
        case 't': {
            const char *text = va_arg(ap, const char *);
            rc = text ? sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC) : sqlite3_bind_null(st, col);
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            int bytes = va_arg(ap, int);
            rc = sqlite3_bind_blob(st, col, p, bytes, SQLITE_STATIC);
            break;
        }
        default:
            va_end(ap);
            return sa_error_set(SA_ERR_INTERNAL, "sq_bind: bad format letter '%c'", fmt[i]);
        }
    }
    va_end(ap);
    return rc == SQLITE_OK ? SA_OK : sq_error(sq, "binding the parameters of \"%.60s...\"", sqlite3_sql(st));
}

static sa_err sq_vstep(sq_store *sq, sqlite3_stmt *st, int *row, const char *what, va_list ap) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        *row = rc == SQLITE_ROW;
        return SA_OK;
    }
    return sq_verror(sq, what, ap);
}

sa_err sq_step(sq_store *sq, sqlite3_stmt *st, int *row, const char *what, ...) {
    va_list ap;
    va_start(ap, what);
    sa_err err = sq_vstep(sq, st, row, what, ap);
    va_end(ap);
    return err;
}

sa_err sq_run(sq_store *sq, sqlite3_stmt *st, const char *what, ...) {
    int row;
    va_list ap;
    va_start(ap, what);
    sa_err err;
    do
        err = sq_vstep(sq, st, &row, what, ap);
    while (!err && row);
    va_end(ap);
    sq_reset(st);
    return err;
}

sa_err sq_column_strdup(sqlite3_stmt *st, int i, char **out) {
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return SA_OK;
    const unsigned char *text = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (!text || !(*out = malloc(n + 1)))
        return sa_error_set(SA_ERR_NOMEM, "reading text column %d of \"%.60s...\"", i, sqlite3_sql(st));
    memcpy(*out, text, n + 1);
    return SA_OK;
}

/* ---- transactions ----
 * sa_store_begin nests: the outermost level is BEGIN IMMEDIATE (it takes the
 * write lock at once, waiting out other writers, instead of failing later
 * when a read would have to become a write), inner levels are savepoints. */

/* SQLite rolls a whole transaction back by itself after some errors (disk
 * full, I/O, out of memory): the levels the caller still holds are gone. */
static int tx_lost(sq_store *sq) { return sq->tx_depth > 0 && sqlite3_get_autocommit(sq->db); }

static sa_err sq_begin(sa_store *s) {
    sq_store *sq = sq_of(s);
    if (tx_lost(sq))
        return sa_error_set(SA_ERR_DB, "the open transaction was rolled back after an error; roll back first (%s)",
                            sq->path);
    sa_err err = sq->tx_depth == 0 ? sq_exec(sq, "BEGIN IMMEDIATE", "beginning a transaction")
                                   : sq_exec(sq, "SAVEPOINT sa_nested", "beginning a nested transaction");
    if (!err)
        sq->tx_depth++;
    return err;
}

/* Rolls back the innermost level; the caller has already counted it closed. */
static sa_err rollback_level(sq_store *sq) {
    if (sq->tx_depth == 0)
        return sq_exec(sq, "ROLLBACK", "rolling back a transaction");
    return sq_exec(sq, "ROLLBACK TO sa_nested; RELEASE sa_nested", "rolling back a nested transaction");
}

static sa_err sq_rollback(sa_store *s) {
    sq_store *sq = sq_of(s);
    if (sq->tx_depth == 0)
        return SA_OK;
    int lost = tx_lost(sq);
    sq->tx_depth--;
    return lost ? SA_OK : rollback_level(sq);
}

static sa_err sq_commit(sa_store *s) {
    sq_store *sq = sq_of(s);
    if (sq->tx_depth == 0)
        return sa_error_set(SA_ERR_INVALID, "commit without a transaction (%s)", sq->path);
    int lost = tx_lost(sq);
    sq->tx_depth--;
    if (lost)
        return sa_error_set(SA_ERR_DB, "transaction was rolled back after an error; nothing committed (%s)",
                            sq->path);
    sa_err err = sq->tx_depth == 0 ? sq_exec(sq, "COMMIT", "committing a transaction")
                                   : sq_exec(sq, "RELEASE sa_nested", "committing a nested transaction");
    /* a failed commit ends its level too, so no transaction stays open by accident */
    if (err && !sqlite3_get_autocommit(sq->db) && rollback_level(sq) != SA_OK)
        sa_log_warn("store %s: rollback after a failed commit failed too", sq->path);
    return err;
}

/* ---- open and close ---- */

static int sq_schema_version(sa_store *s) { return sq_of(s)->schema_version; }

static void sq_close(sa_store *s) {
    sq_store *sq = sq_of(s);
    for (int i = 0; i < SQ_STMT_COUNT; i++)
        sqlite3_finalize(sq->stmts[i]); /* its result repeats the statement's last error */
    if (sqlite3_close(sq->db) != SQLITE_OK)
        sa_log_warn("store %s: close: %s", sq->path, sqlite3_errmsg(sq->db));
    free(sq->path);
    free(sq);
}

static const sa_store_ops sq_ops = {
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .track_by_id = sq_track_by_id,
    .track_by_path = sq_track_by_path,
    .track_put = sq_track_put,
    .track_set_status = sq_track_set_status,
    .tracks_each = sq_tracks_each,
    .count_tracks = sq_count_tracks,
    .tracks_query = sq_tracks_query,
    .scan_begin = sq_scan_begin,
    .track_seen = sq_track_seen,
    .mark_missing = sq_mark_missing,
    .keep_under = sq_keep_under,
    .features_put = sq_features_put,
    .features_get = sq_features_get,
    .features_version = sq_features_version,
    .vector_put = sq_vector_put,
    .vector_get = sq_vector_get,
    .vector_delete = sq_vector_delete,
    .vectors_load = sq_vectors_load,
    .vectors_count = sq_vectors_count,
    .vectors_generation = sq_vectors_generation,
    .vectors_changed_since = sq_vectors_changed_since,
    .index_meta_put = sq_index_meta_put,
    .index_meta_get = sq_index_meta_get,
};

static int copy_first_column(void *ctx, int ncol, char **values, char **names) {
    (void)names;
    if (ncol > 0 && values[0])
        snprintf(ctx, 16, "%s", values[0]);
    return 0;
}

/* The pragmas; the first to read the file finds out whether it is a database. */
static sa_err configure(sq_store *sq) {
    if (sqlite3_busy_timeout(sq->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
        return sq_error(sq, "setting the busy timeout");
    sa_err err = sq_exec(sq, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    if (err)
        return err;
    char mode[16] = "";
    if (sqlite3_exec(sq->db, "PRAGMA journal_mode = WAL", copy_first_column, mode, NULL) != SQLITE_OK) {
        if ((sqlite3_extended_errcode(sq->db) & 0xff) == SQLITE_NOTADB)
            return sa_error_set(SA_ERR_FORMAT, "%s is not a SQLite database", sq->path);
        return sq_error(sq, "switching to WAL mode");
    }
    /* an in-memory database reports "memory": it has no file to protect */
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
        return sa_error_set(SA_ERR_DB, "%s: WAL mode refused (journal mode is '%s'); is it on a network file system?",
                            sq->path, mode);
    return sq_exec(sq, "PRAGMA synchronous = NORMAL", "setting synchronous = NORMAL");
}

sa_err sa_sqlite_open(const char *path, sa_store **out) {
    sq_store *sq = calloc(1, sizeof *sq);
    if (!sq)
        return sa_error_set(SA_ERR_NOMEM, "opening store %s", path);
    sq->base.ops = &sq_ops;
    /* this SQLite takes names starting with "file:" as URIs; "./" keeps them plain paths */
    size_t n = strlen(path) + 3;
    sq->path = malloc(n);
    if (!sq->path) {
        free(sq);
        return sa_error_set(SA_ERR_NOMEM, "opening store %s", path);
    }
    snprintf(sq->path, n, "%s%s", strncmp(path, "file:", 5) == 0 ? "./" : "", path);
    sa_err err;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (sqlite3_open_v2(sq->path, &sq->db, flags, NULL) != SQLITE_OK)
        err = sq->db ? sq_error(sq, "opening the store") : sa_error_set(SA_ERR_NOMEM, "opening store %s", path);
    else
        err = configure(sq);
    err = err ? err : sq_migrate(sq);
    if (err) {
        sq_close(&sq->base); /* sqlite3_close accepts the NULL a failed open may leave */
        return err;
    }
    *out = &sq->base;
    return SA_OK;
}

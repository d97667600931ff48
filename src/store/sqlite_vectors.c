/* sqlite_vectors.c: vectors (float32 blobs), their generation counters and
 * index metadata in SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite.h"

/* A blob is the vector's floats as they lie in memory, so loading is a copy. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vectors are stored as little-endian float32: this host needs byte swapping added"
#endif

sa_err sq_vector_put(sa_store *s, int64_t track_id, const char *profile, const float *v, int dim) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_VECTOR_PUT,
                         "INSERT INTO vectors (track_id, profile, dim, data) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (track_id, profile) DO UPDATE SET dim = excluded.dim, data = excluded.data",
                         &st);
    err = err ? err : sq_bind(sq, st, "itnb", track_id, profile, dim, (const void *)v, dim * (int)sizeof *v);
    return err ? err
               : sq_run(sq, st, "storing the %s vector of track %lld", profile, (long long)track_id);
}

/* The stored floats of the current row, checked against dim: columns
 * track_id, dim, data from first on. */
static sa_err row_floats(sqlite3_stmt *st, int first, const char *profile, int dim, const void **out) {
    long long id = sqlite3_column_int64(st, first);
    int stored = sqlite3_column_int(st, first + 1);
    if (stored != dim)
        return sa_error_set(SA_ERR_FORMAT, "the %s vector of track %lld has %d dimensions, expected %d", profile, id,
                            stored, dim);
    const void *blob = sqlite3_column_blob(st, first + 2);
    int bytes = sqlite3_column_bytes(st, first + 2);
    if (bytes != dim * (int)sizeof(float))
        return sa_error_set(SA_ERR_FORMAT, "the %s vector of track %lld holds %d bytes, %d dimensions need %d",
                            profile, id, bytes, dim, dim * (int)sizeof(float));
    if (!blob)
        return sa_error_set(SA_ERR_NOMEM, "reading the %s vector of track %lld", profile, id);
    *out = blob;
    return SA_OK;
}

sa_err sq_vector_get(sa_store *s, int64_t track_id, const char *profile, float *v, int dim) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_VECTOR_GET,
                         "SELECT track_id, dim, data FROM vectors WHERE track_id = ? AND profile = ?", &st);
    err = err ? err : sq_bind(sq, st, "it", track_id, profile);
    if (err)
        return err;
    int row;
    const void *blob;
    err = sq_step(sq, st, &row, "reading the %s vector of track %lld", profile, (long long)track_id);
    if (!err && !row)
        err = sa_error_set(SA_ERR_NOT_FOUND, "track %lld has no %s vector", (long long)track_id, profile);
    if (!err && (err = row_floats(st, 0, profile, dim, &blob)) == SA_OK)
        memcpy(v, blob, (size_t)dim * sizeof *v);
    sq_reset(st);
    return err;
}

sa_err sq_vector_delete(sa_store *s, int64_t track_id, const char *profile) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_VECTOR_DELETE, "DELETE FROM vectors WHERE track_id = ? AND profile = ?", &st);
    err = err ? err : sq_bind(sq, st, "it", track_id, profile);
    return err ? err
               : sq_run(sq, st, "deleting the %s vector of track %lld", profile, (long long)track_id);
}

/* Room for at least n + 1 vectors in the two arrays. */
static sa_err grow(int64_t **ids, float **data, size_t *cap, size_t n, int dim) {
    if (n < *cap)
        return SA_OK;
    size_t want = *cap ? *cap * 2 : 4096;
    int64_t *more_ids = realloc(*ids, want * sizeof **ids);
    if (!more_ids)
        return sa_error_set(SA_ERR_NOMEM, "loading %zu vectors", want);
    *ids = more_ids;
    float *more_data = realloc(*data, want * (size_t)dim * sizeof **data);
    if (!more_data)
        return sa_error_set(SA_ERR_NOMEM, "loading %zu vectors of %d dimensions", want, dim);
    *data = more_data;
    *cap = want;
    return SA_OK;
}

sa_err sq_vectors_load(sa_store *s, const char *profile, int dim, int64_t **ids, float **data, size_t *n) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_VECTORS_LOAD,
                         "SELECT v.track_id, v.dim, v.data FROM vectors v JOIN tracks t ON t.id = v.track_id"
                         " WHERE v.profile = ? AND t.status = 'analyzed' ORDER BY v.track_id",
                         &st);
    err = err ? err : sq_bind(sq, st, "t", profile);
    if (err)
        return err;
    size_t cap = 0, count = 0;
    int row;
    while ((err = sq_step(sq, st, &row, "loading %s vectors", profile)) == SA_OK && row) {
        const void *blob;
        if ((err = row_floats(st, 0, profile, dim, &blob)) != SA_OK || (err = grow(ids, data, &cap, count, dim)))
            break;
        (*ids)[count] = sqlite3_column_int64(st, 0);
        memcpy(*data + count * (size_t)dim, blob, (size_t)dim * sizeof(float));
        count++;
    }
    sq_reset(st);
    if (err) {
        free(*ids);
        free(*data);
        *ids = NULL;
        *data = NULL;
        return err;
    }
    *n = count;
    return SA_OK;
}

sa_err sq_vectors_count(sa_store *s, const char *profile, int64_t *count) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_VECTORS_COUNT,
                         "SELECT COUNT(*) FROM vectors v JOIN tracks t ON t.id = v.track_id"
                         " WHERE v.profile = ? AND t.status = 'analyzed'",
                         &st);
    err = err ? err : sq_bind(sq, st, "t", profile);
    if (err)
        return err;
    int row;
    err = sq_step(sq, st, &row, "counting the vectors of profile %s", profile);
    if (!err)
        *count = row ? sqlite3_column_int64(st, 0) : 0;
    sq_reset(st);
    return err;
}

sa_err sq_vectors_generation(sa_store *s, const char *profile, int64_t *generation) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_VECTORS_GENERATION,
                         "SELECT generation FROM vector_generations WHERE profile = ?", &st);
    err = err ? err : sq_bind(sq, st, "t", profile);
    if (err)
        return err;
    int row;
    err = sq_step(sq, st, &row, "reading the generation of profile %s", profile);
    if (!err)
        *generation = row ? sqlite3_column_int64(st, 0) : 0;
    sq_reset(st);
    return err;
}

/* Appends id to the gone list, growing it by doubling. */
static sa_err push_gone(sa_vector_changes *c, size_t *cap, int64_t id) {
    if (c->n_gone == *cap) {
        size_t want = *cap ? *cap * 2 : 256;
        int64_t *more = realloc(c->gone_ids, want * sizeof *more);
        if (!more)
            return sa_error_set(SA_ERR_NOMEM, "loading %zu deleted vector ids", want);
        c->gone_ids = more;
        *cap = want;
    }
    c->gone_ids[c->n_gone++] = id;
    return SA_OK;
}

sa_err sq_vectors_changed_since(sa_store *s, const char *profile, int dim, int64_t since, sa_vector_changes *out) {
    /* the generation first: whatever the rows show beyond it is re-read next time */
    sa_err err = sq_vectors_generation(s, profile, &out->generation);
    if (err)
        return err;
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    err = sq_stmt(sq, SQ_VECTORS_CHANGED,
                  "SELECT t.status = 'analyzed', v.track_id, v.dim, v.data FROM vectors v"
                  " JOIN tracks t ON t.id = v.track_id WHERE v.profile = ?1 AND v.generation > ?2"
                  " UNION ALL SELECT 0, track_id, NULL, NULL FROM vector_deletions"
                  " WHERE profile = ?1 AND generation > ?2",
                  &st);
    err = err ? err : sq_bind(sq, st, "ti", profile, since);
    if (err)
        return err;
    size_t cap_put = 0, cap_gone = 0;
    int row;
    while ((err = sq_step(sq, st, &row, "reading the %s vectors changed since generation %lld", profile,
                          (long long)since)) == SA_OK &&
           row) {
        int64_t id = sqlite3_column_int64(st, 1);
        const void *blob;
        if (!sqlite3_column_int(st, 0)) {
            err = push_gone(out, &cap_gone, id);
        } else if ((err = row_floats(st, 1, profile, dim, &blob)) == SA_OK &&
                   (err = grow(&out->put_ids, &out->put_data, &cap_put, out->n_put, dim)) == SA_OK) {
            out->put_ids[out->n_put] = id;
            memcpy(out->put_data + out->n_put * (size_t)dim, blob, (size_t)dim * sizeof(float));
            out->n_put++;
        }
        if (err)
            break;
    }
    sq_reset(st);
    if (err)
        sa_vector_changes_clear(out);
    return err;
}

/* ---- index metadata ---- */

sa_err sq_index_meta_put(sa_store *s, const sa_index_meta *m) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_INDEX_META_PUT,
                         "INSERT INTO index_meta (name, profile, type, dim, count, generation, build_time_s,"
                         " built_at, checksum, file, recall_at_10, requested_type)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE WHEN ?11 >= 0 THEN ?11 END,"
                         " nullif(?12, ''))"
                         " ON CONFLICT (name) DO UPDATE SET profile = excluded.profile, type = excluded.type,"
                         " dim = excluded.dim, count = excluded.count, generation = excluded.generation,"
                         " build_time_s = excluded.build_time_s, built_at = excluded.built_at,"
                         " checksum = excluded.checksum, file = excluded.file, recall_at_10 = excluded.recall_at_10,"
                         " requested_type = excluded.requested_type",
                         &st);
    err = err ? err
              : sq_bind(sq, st, "tttniidittdt", m->name, m->profile, m->type, m->dim, m->count, m->generation,
                        m->build_time_s, m->built_at, m->checksum, m->file, m->recall_at_10, m->requested);
    return err ? err : sq_run(sq, st, "storing the metadata of index %s", m->name);
}

/* Copies text column col into a fixed field of cap bytes. */
static sa_err copy_text(sqlite3_stmt *st, int col, char *dst, size_t cap, const char *index, const char *field) {
    const char *text = (const char *)sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!text)
        return sa_error_set(SA_ERR_NOMEM, "reading %s of index %s", field, index);
    if (n >= cap)
        return sa_error_set(SA_ERR_FORMAT, "the stored %s of index %s is longer than %zu bytes", field, index,
                            cap - 1);
    memcpy(dst, text, n + 1);
    return SA_OK;
}

sa_err sq_index_meta_get(sa_store *s, const char *name, sa_index_meta *out) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_INDEX_META_GET,
                         "SELECT name, profile, type, dim, count, generation, build_time_s, built_at, checksum,"
                         " file, coalesce(recall_at_10, -1), coalesce(requested_type, '') FROM index_meta"
                         " WHERE name = ?",
                         &st);
    err = err ? err : sq_bind(sq, st, "t", name);
    if (err)
        return err;
    int row;
    err = sq_step(sq, st, &row, "reading the metadata of index %s", name);
    if (!err && !row)
        err = sa_error_set(SA_ERR_NOT_FOUND, "no index named %s was recorded", name);
    if (!err)
        err = copy_text(st, 0, out->name, sizeof out->name, name, "name");
    if (!err)
        err = copy_text(st, 1, out->profile, sizeof out->profile, name, "profile");
    if (!err)
        err = copy_text(st, 2, out->type, sizeof out->type, name, "type");
    if (!err)
        err = copy_text(st, 8, out->checksum, sizeof out->checksum, name, "checksum");
    if (!err)
        err = copy_text(st, 9, out->file, sizeof out->file, name, "file");
    if (!err)
        err = copy_text(st, 11, out->requested, sizeof out->requested, name, "requested type");
    if (!err) {
        out->dim = sqlite3_column_int(st, 3);
        out->count = sqlite3_column_int64(st, 4);
        out->generation = sqlite3_column_int64(st, 5);
        out->build_time_s = sqlite3_column_double(st, 6);
        out->built_at = sqlite3_column_int64(st, 7);
        out->recall_at_10 = sqlite3_column_double(st, 10);
    }
    sq_reset(st);
    return err;
}

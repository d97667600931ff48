/* sqlite_features.c: feature groups in SQLite, one JSON text per track and
 * analyzer. */
#include <stdio.h>
#include <stdlib.h>

#include "store/sqlite.h"

sa_err sq_features_put(sa_store *s, int64_t track_id, const sa_feature_group *g) {
    sq_store *sq = sq_of(s);
    char *json;
    sa_err err = sa_feature_group_to_json(g, &json);
    if (err)
        return err;
    sqlite3_stmt *st;
    err = sq_stmt(sq, SQ_FEATURES_PUT,
                  "INSERT INTO features (track_id, analyzer, version, data) VALUES (?, ?, ?, ?)"
                  " ON CONFLICT (track_id, analyzer) DO UPDATE SET version = excluded.version, data = excluded.data",
                  &st);
    err = err ? err : sq_bind(sq, st, "itnt", track_id, g->analyzer, g->version, json);
    err = err ? err : sq_run(sq, st, "storing %s features of track %lld", g->analyzer, (long long)track_id);
    free(json);
    return err;
}

/* Parses one stored group and puts it into f, replacing f's group of that analyzer. */
static sa_err put_group(int64_t track_id, const char *analyzer, int version, const char *json, sa_features *f) {
    sa_features one = {0};
    sa_feature_group *g;
    sa_err err = sa_features_group(&one, analyzer, version, &g);
    /* sa_error_set formats aside, so the detail it wraps may be its own */
    if (!err && (err = sa_feature_group_from_json(g, json)) == SA_ERR_FORMAT)
        err = sa_error_set(err, "stored features of track %lld: %s", (long long)track_id, sa_error_detail());
    if (!err)
        err = sa_features_put_group(f, g);
    sa_features_clear(&one);
    return err;
}

sa_err sq_features_get(sa_store *s, int64_t track_id, sa_features *f) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_FEATURES_GET,
                         "SELECT analyzer, version, data FROM features WHERE track_id = ? ORDER BY analyzer", &st);
    err = err ? err : sq_bind(sq, st, "i", track_id);
    if (err)
        return err;
    int row;
    while ((err = sq_step(sq, st, &row, "reading features of track %lld", (long long)track_id)) == SA_OK && row) {
        const char *analyzer = (const char *)sqlite3_column_text(st, 0);
        const char *json = (const char *)sqlite3_column_text(st, 2);
        if (!analyzer || !json) {
            err = sa_error_set(SA_ERR_NOMEM, "reading features of track %lld", (long long)track_id);
            break;
        }
        err = put_group(track_id, analyzer, sqlite3_column_int(st, 1), json, f);
        if (err)
            break;
    }
    sq_reset(st);
    return err;
}

sa_err sq_features_version(sa_store *s, int64_t track_id, const char *analyzer, int *version) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_FEATURES_VERSION,
                         "SELECT version FROM features WHERE track_id = ? AND analyzer = ?", &st);
    err = err ? err : sq_bind(sq, st, "it", track_id, analyzer);
    if (err)
        return err;
    int row;
    err = sq_step(sq, st, &row, "reading the %s features version of track %lld", analyzer, (long long)track_id);
    if (!err)
        *version = row ? sqlite3_column_int(st, 0) : 0;
    sq_reset(st);
    return err;
}

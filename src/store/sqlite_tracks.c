/* sqlite_tracks.c: tracks and scans in SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite.h"

/* The column order read_track expects. */
#define TRACK_COLUMNS                                                                                            \
    "id, path, size, mtime_ns, content_hash, status, error, duration_s, sample_rate, channels, codec, title, " \
    "artist, album, genre, scanned_at, analyzed_at"

/* A walk reads this many tracks, then calls back with no statement open, so
 * the callback may use the store freely and no read lock is held meanwhile. */
#define WALK_PAGE 256

static sa_err read_track(sqlite3_stmt *st, sa_track *t) {
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    const char *status = (const char *)sqlite3_column_text(st, 5);
    if (sa_track_status_parse(status, &t->status) != SA_OK)
        return sa_error_set(SA_ERR_FORMAT, "track %lld has an unknown status '%s'", (long long)t->id,
                            status ? status : "");
    struct {
        int col;
        char **dst;
    } texts[] = {{1, &t->path},   {4, &t->content_hash}, {6, &t->error}, {10, &t->codec},
                 {11, &t->title}, {12, &t->artist},      {13, &t->album}, {14, &t->genre}};
    sa_err err = SA_OK;
    for (size_t i = 0; i < sizeof texts / sizeof *texts && !err; i++)
        err = sq_column_strdup(st, texts[i].col, texts[i].dst);
    if (err) {
        sa_track_clear(t);
        return err;
    }
    t->size = sqlite3_column_int64(st, 2);
    t->mtime_ns = sqlite3_column_int64(st, 3);
    t->duration_s = sqlite3_column_double(st, 7);
    t->sample_rate = sqlite3_column_int(st, 8);
    t->channels = sqlite3_column_int(st, 9);
    t->scanned_at = sqlite3_column_int64(st, 15);
    t->analyzed_at = sqlite3_column_int64(st, 16); /* NULL reads as 0: never */
    return SA_OK;
}

/* Reads the one track a bound lookup statement finds, then resets it. */
static sa_err lookup(sq_store *sq, sqlite3_stmt *st, sa_track *out, const char *what) {
    int row;
    sa_err err = sq_step(sq, st, &row, "reading %s", what);
    if (!err && !row)
        err = sa_error_set(SA_ERR_NOT_FOUND, "no %s in the store", what);
    if (!err)
        err = read_track(st, out);
    sq_reset(st);
    return err;
}

sa_err sq_track_by_id(sa_store *s, int64_t id, sa_track *out) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_TRACK_BY_ID, "SELECT " TRACK_COLUMNS " FROM tracks WHERE id = ?", &st);
    err = err ? err : sq_bind(sq, st, "i", id);
    if (err)
        return err;
    char what[48];
    snprintf(what, sizeof what, "track %lld", (long long)id);
    return lookup(sq, st, out, what);
}

sa_err sq_track_by_path(sa_store *s, const char *path, sa_track *out) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_TRACK_BY_PATH, "SELECT " TRACK_COLUMNS " FROM tracks WHERE path = ?", &st);
    err = err ? err : sq_bind(sq, st, "t", path);
    if (err)
        return err;
    char what[1100];
    snprintf(what, sizeof what, "track %s", path);
    return lookup(sq, st, out, what);
}

sa_err sq_track_put(sa_store *s, const sa_track *t, int64_t *id) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_TRACK_PUT,
                         "INSERT INTO tracks (path, size, mtime_ns, content_hash, status, error, duration_s,"
                         " sample_rate, channels, codec, title, artist, album, genre, scanned_at, analyzed_at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0))"
                         " ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
                         " content_hash = excluded.content_hash, status = excluded.status, error = excluded.error,"
                         " duration_s = excluded.duration_s, sample_rate = excluded.sample_rate,"
                         " channels = excluded.channels, codec = excluded.codec, title = excluded.title,"
                         " artist = excluded.artist, album = excluded.album, genre = excluded.genre,"
                         " scanned_at = excluded.scanned_at, analyzed_at = excluded.analyzed_at"
                         " RETURNING id",
                         &st);
    err = err ? err
              : sq_bind(sq, st, "tiitttdnntttttii", t->path, t->size, t->mtime_ns, t->content_hash,
                        sa_track_status_name(t->status), t->error, t->duration_s, t->sample_rate, t->channels,
                        t->codec, t->title, t->artist, t->album, t->genre, t->scanned_at, t->analyzed_at);
    if (err)
        return err;
    int row;
    err = sq_step(sq, st, &row, "storing track %s", t->path);
    if (!err && !row)
        err = sa_error_set(SA_ERR_INTERNAL, "storing track %s returned no id", t->path);
    if (!err)
        *id = sqlite3_column_int64(st, 0);
    sq_reset(st);
    return err;
}

/* SA_ERR_NOT_FOUND when the last statement changed no row. */
static sa_err changed_one(sq_store *sq, int64_t id) {
    if (sqlite3_changes64(sq->db) == 0)
        return sa_error_set(SA_ERR_NOT_FOUND, "no track %lld in the store", (long long)id);
    return SA_OK;
}

sa_err sq_track_set_status(sa_store *s, int64_t id, sa_track_status status, const char *error) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_TRACK_SET_STATUS,
                         "UPDATE tracks SET status = ?2, error = ?3,"
                         " analyzed_at = CASE WHEN ?2 = 'analyzed' THEN ?4 ELSE analyzed_at END"
                         " WHERE id = ?1",
                         &st);
    err = err ? err : sq_bind(sq, st, "itti", id, sa_track_status_name(status), error, (int64_t)time(NULL));
    err = err ? err : sq_run(sq, st, "setting the status of track %lld", (long long)id);
    return err ? err : changed_one(sq, id);
}

/* Reads up to WALK_PAGE tracks with id > after (of status, when >= 0). */
static sa_err read_page(sq_store *sq, int status, int64_t after, sa_track *page, size_t *n) {
    sqlite3_stmt *st = NULL;
    sa_err err = status < 0
                     ? sq_stmt(sq, SQ_TRACKS_PAGE,
                               "SELECT " TRACK_COLUMNS " FROM tracks WHERE id > ?1 ORDER BY id LIMIT ?2", &st)
                     : sq_stmt(sq, SQ_TRACKS_PAGE_STATUS,
                               "SELECT " TRACK_COLUMNS
                               " FROM tracks WHERE status = ?3 AND id > ?1 ORDER BY id LIMIT ?2",
                               &st);
    if (!err)
        err = status < 0 ? sq_bind(sq, st, "in", after, WALK_PAGE)
                         : sq_bind(sq, st, "int", after, WALK_PAGE, sa_track_status_name((sa_track_status)status));
    *n = 0;
    int row = 1;
    while (!err && (err = sq_step(sq, st, &row, "walking tracks")) == SA_OK && row) {
        err = read_track(st, &page[*n]);
        if (!err)
            (*n)++;
    }
    if (st)
        sq_reset(st);
    if (err) {
        for (size_t i = 0; i < *n; i++)
            sa_track_clear(&page[i]);
        *n = 0;
    }
    return err;
}

sa_err sq_tracks_each(sa_store *s, int status, sa_track_fn fn, void *ctx) {
    sq_store *sq = sq_of(s);
    sa_track *page = calloc(WALK_PAGE, sizeof *page);
    if (!page)
        return sa_error_set(SA_ERR_NOMEM, "walking tracks");
    int64_t after = INT64_MIN;
    size_t n;
    int stop = 0;
    sa_err err;
    do {
        err = read_page(sq, status, after, page, &n);
        for (size_t i = 0; i < n && !stop; i++)
            stop = fn(&page[i], ctx);
        if (n)
            after = page[n - 1].id;
        for (size_t i = 0; i < n; i++)
            sa_track_clear(&page[i]);
    } while (!err && !stop && n == WALK_PAGE);
    free(page);
    return err;
}

sa_err sq_count_tracks(sa_store *s, sa_store_counts *out) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_COUNT_TRACKS, "SELECT status, count(*) FROM tracks GROUP BY status", &st);
    if (err)
        return err;
    int row;
    while ((err = sq_step(sq, st, &row, "counting tracks")) == SA_OK && row) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        sa_track_status status;
        if (sa_track_status_parse(name, &status) != SA_OK) {
            err = sa_error_set(SA_ERR_FORMAT, "tracks hold an unknown status '%s' (%s)", name ? name : "", sq->path);
            break;
        }
        out->by_status[status] = sqlite3_column_int64(st, 1);
        out->total += out->by_status[status];
    }
    sq_reset(st);
    return err;
}

sa_err sq_scan_begin(sa_store *s, int64_t *scan_id) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_SCAN_BEGIN, "INSERT INTO scans (started_at) VALUES (?) RETURNING id", &st);
    err = err ? err : sq_bind(sq, st, "i", (int64_t)time(NULL));
    if (err)
        return err;
    int row;
    err = sq_step(sq, st, &row, "starting a scan");
    if (!err && !row)
        err = sa_error_set(SA_ERR_INTERNAL, "starting a scan returned no id (%s)", sq->path);
    if (!err)
        *scan_id = sqlite3_column_int64(st, 0);
    sq_reset(st);
    return err;
}

sa_err sq_track_seen(sa_store *s, int64_t id, int64_t scan_id) {
    sq_store *sq = sq_of(s);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_TRACK_SEEN, "UPDATE tracks SET last_seen_scan = ?2 WHERE id = ?1", &st);
    err = err ? err : sq_bind(sq, st, "ii", id, scan_id);
    err = err ? err : sq_run(sq, st, "recording that scan %lld saw track %lld", (long long)scan_id, (long long)id);
    return err ? err : changed_one(sq, id);
}

sa_err sq_mark_missing(sa_store *s, const char *root, int64_t scan_id, int64_t *count) {
    sq_store *sq = sq_of(s);
    /* Paths under root are exactly those in [root "/", root "0"): '0' follows
     * '/' in byte order. A range, unlike LIKE, has no wildcards to escape and
     * uses the path index. */
    size_t n = strlen(root);
    char *low = malloc(2 * (n + 2));
    if (!low)
        return sa_error_set(SA_ERR_NOMEM, "marking missing tracks under %s", root);
    char *high = low + n + 2;
    snprintf(low, n + 2, "%s/", root);
    snprintf(high, n + 2, "%s0", root);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, SQ_MARK_MISSING,
                         "UPDATE tracks SET status = 'missing'"
                         " WHERE path >= ?1 AND path < ?2 AND last_seen_scan IS NOT ?3 AND status <> 'missing'",
                         &st);
    err = err ? err : sq_bind(sq, st, "tti", low, high, scan_id);
    err = err ? err : sq_run(sq, st, "marking missing tracks under %s/", root);
    if (!err)
        *count = sqlite3_changes64(sq->db);
    free(low);
    return err;
}

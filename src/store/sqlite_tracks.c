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

/* Runs statement which (?1, ?2: the bounds of the paths under root; ?3:
 * scan_id) and returns how many rows it changed. Paths under root are
 * exactly those in [root "/", root "0"): '0' follows '/' in byte order. A
 * range, unlike LIKE, has no wildcards to escape and uses the path index. */
static sa_err update_under(sq_store *sq, int which, const char *sql, const char *root, int64_t scan_id,
                           const char *what, int64_t *count) {
    size_t n = strlen(root);
    char *low = malloc(2 * (n + 2));
    if (!low)
        return sa_error_set(SA_ERR_NOMEM, "%s under %s", what, root);
    char *high = low + n + 2;
    snprintf(low, n + 2, "%s/", root);
    snprintf(high, n + 2, "%s0", root);
    sqlite3_stmt *st;
    sa_err err = sq_stmt(sq, which, sql, &st);
    err = err ? err : sq_bind(sq, st, "tti", low, high, scan_id);
    err = err ? err : sq_run(sq, st, "%s under %s/", what, root);
    if (!err && count)
        *count = sqlite3_changes64(sq->db);
    free(low);
    return err;
}

sa_err sq_mark_missing(sa_store *s, const char *root, int64_t scan_id, int64_t *count) {
    return update_under(sq_of(s), SQ_MARK_MISSING,
                        "UPDATE tracks SET status = 'missing'"
                        " WHERE path >= ?1 AND path < ?2 AND last_seen_scan IS NOT ?3 AND status <> 'missing'",
                        root, scan_id, "marking missing tracks", count);
}

sa_err sq_keep_under(sa_store *s, const char *folder, int64_t scan_id) {
    return update_under(sq_of(s), SQ_KEEP_UNDER,
                        "UPDATE tracks SET last_seen_scan = ?3 WHERE path >= ?1 AND path < ?2", folder, scan_id,
                        "keeping the tracks", NULL);
}

/* ---- listing ---- */

enum { QUERY_MAX_ARGS = 16 };

/* The SQL of a listing and its arguments, bound in order; the SQL text
 * holds only fixed pieces, every value a client gave is an argument. */
typedef struct query_sql {
    char text[2048];
    size_t len;
    int overflow;
    struct {
        char kind; /* 't' text, 'd' double, 'i' integer */
        const char *text;
        double num;
        int64_t i;
    } args[QUERY_MAX_ARGS];
    int n_args;
} query_sql;

static void sql_add(query_sql *b, const char *piece) {
    size_t n = strlen(piece);
    if (b->len + n >= sizeof b->text) {
        b->overflow = 1;
        return;
    }
    memcpy(b->text + b->len, piece, n + 1);
    b->len += n;
}

static void sql_arg(query_sql *b, char kind, const char *text, double num, int64_t i) {
    if (b->n_args == QUERY_MAX_ARGS) {
        b->overflow = 1;
        return;
    }
    b->args[b->n_args].kind = kind;
    b->args[b->n_args].text = text;
    b->args[b->n_args].num = num;
    b->args[b->n_args].i = i;
    b->n_args++;
}

/* FROM and WHERE: only the feature groups it filters or sorts by are joined. */
static void query_from(query_sql *b, const sa_track_query *q) {
    sql_add(b, " FROM tracks");
    if (q->bpm_min > 0 || q->bpm_max > 0 || q->order == SA_ORDER_BPM)
        sql_add(b, " LEFT JOIN features r ON r.track_id = tracks.id AND r.analyzer = 'rhythm'");
    if (q->key || q->scale)
        sql_add(b, " LEFT JOIN features k ON k.track_id = tracks.id AND k.analyzer = 'tonal'");
    if (q->tag_rank > 0)
        sql_add(b, " LEFT JOIN features m ON m.track_id = tracks.id AND m.analyzer = 'musicnn'");
    sql_add(b, " WHERE 1");
    if (q->statuses) {
        sql_add(b, " AND status IN (''");
        for (int st = SA_TRACK_PENDING; st <= SA_TRACK_MISSING; st++)
            if (q->statuses & (1u << st)) {
                sql_add(b, ", ?");
                sql_arg(b, 't', sa_track_status_name((sa_track_status)st), 0, 0);
            }
        sql_add(b, ")");
    }
    if (q->text) {
        sql_add(b, " AND (instr(lower(path), lower(?)) OR instr(lower(coalesce(title, '')), lower(?))"
                   " OR instr(lower(coalesce(artist, '')), lower(?)) OR instr(lower(coalesce(album, '')), lower(?)))");
        for (int i = 0; i < 4; i++)
            sql_arg(b, 't', q->text, 0, 0);
    }
    const struct {
        const char *value, *sql;
    } texts[] = {{q->artist, " AND instr(lower(coalesce(artist, '')), lower(?))"},
                 {q->album, " AND instr(lower(coalesce(album, '')), lower(?))"},
                 {q->key, " AND json_extract(k.data, '$.key') = ?"},
                 {q->scale, " AND json_extract(k.data, '$.scale') = ?"}};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        if (texts[i].value) {
            sql_add(b, texts[i].sql);
            sql_arg(b, 't', texts[i].value, 0, 0);
        }
    if (q->bpm_min > 0) {
        sql_add(b, " AND json_extract(r.data, '$.bpm[0]') >= ?");
        sql_arg(b, 'd', NULL, q->bpm_min, 0);
    }
    if (q->bpm_max > 0) {
        sql_add(b, " AND json_extract(r.data, '$.bpm[0]') <= ?");
        sql_arg(b, 'd', NULL, q->bpm_max, 0);
    }
    if (q->tag_rank > 0) { /* fewer than tag_rank tags score higher than this one */
        sql_add(b, " AND m.data IS NOT NULL AND (SELECT count(*) FROM json_each(m.data, '$.tags') e"
                   " WHERE e.value > json_extract(m.data, '$.tags[' || ? || ']')) < ?");
        sql_arg(b, 'i', NULL, 0, q->tag);
        sql_arg(b, 'i', NULL, 0, q->tag_rank);
    }
}

static void query_order(query_sql *b, const sa_track_query *q) {
    static const char *const columns[] = {"tracks.id", "path", "lower(title)", "lower(artist)", "lower(album)",
                                          "duration_s", "json_extract(r.data, '$.bpm[0]')", "analyzed_at"};
    const char *dir = q->descending ? " DESC" : "";
    const char *col = columns[q->order];
    char piece[256];
    if (q->order == SA_ORDER_ID)
        snprintf(piece, sizeof piece, " ORDER BY tracks.id%s", dir);
    else
        snprintf(piece, sizeof piece, " ORDER BY %s IS NULL, %s%s, tracks.id%s", col, col, dir, dir);
    sql_add(b, piece);
    sql_add(b, " LIMIT ? OFFSET ?");
    sql_arg(b, 'i', NULL, 0, q->limit > 0 ? q->limit : -1);
    sql_arg(b, 'i', NULL, 0, q->offset > 0 ? q->offset : 0);
}

static sa_err prepare_query(sq_store *sq, const query_sql *b, sqlite3_stmt **st) {
    if (b->overflow)
        return sa_error_set(SA_ERR_INTERNAL, "a track listing's SQL is too long");
    if (sqlite3_prepare_v2(sq->db, b->text, -1, st, NULL) != SQLITE_OK)
        return sq_error(sq, "preparing a track listing");
    sa_err err = SA_OK;
    for (int i = 0; i < b->n_args && !err; i++) {
        char kind = b->args[i].kind;
        int rc = kind == 't'   ? sqlite3_bind_text(*st, i + 1, b->args[i].text, -1, SQLITE_STATIC)
                 : kind == 'd' ? sqlite3_bind_double(*st, i + 1, b->args[i].num)
                               : sqlite3_bind_int64(*st, i + 1, b->args[i].i);
        if (rc != SQLITE_OK)
            err = sq_error(sq, "binding a track listing");
    }
    if (err) {
        sqlite3_finalize(*st);
        *st = NULL;
    }
    return err;
}

static sa_err count_selected(sq_store *sq, const sa_track_query *q, int64_t *total) {
    query_sql b = {.len = 0};
    sql_add(&b, "SELECT count(*)");
    query_from(&b, q);
    sqlite3_stmt *st;
    sa_err err = prepare_query(sq, &b, &st);
    if (err)
        return err;
    int row;
    err = sq_step(sq, st, &row, "counting a track listing");
    *total = !err && row ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return err;
}

/* Reads the selected page into *out (n tracks, malloc'd). */
static sa_err read_selected(sq_store *sq, const sa_track_query *q, sa_track **out, size_t *n) {
    query_sql b = {.len = 0};
    sql_add(&b, "SELECT " TRACK_COLUMNS);
    query_from(&b, q);
    query_order(&b, q);
    sqlite3_stmt *st;
    sa_err err = prepare_query(sq, &b, &st);
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int row = 1;
    while (!err && (err = sq_step(sq, st, &row, "reading a track listing")) == SA_OK && row) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            sa_track *grown = realloc(*out, cap * sizeof *grown);
            if (!grown) {
                err = sa_error_set(SA_ERR_NOMEM, "a track listing");
                break;
            }
            *out = grown;
        }
        err = read_track(st, &(*out)[*n]);
        if (!err)
            (*n)++;
    }
    sqlite3_finalize(st);
    return err;
}

sa_err sq_tracks_query(sa_store *s, const sa_track_query *q, sa_track_fn fn, void *ctx, int64_t *total) {
    sq_store *sq = sq_of(s);
    sa_err err = count_selected(sq, q, total);
    sa_track *page = NULL;
    size_t n = 0;
    if (!err)
        err = read_selected(sq, q, &page, &n);
    int stop = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stop)
            stop = fn(&page[i], ctx);
        sa_track_clear(&page[i]);
    }
    free(page);
    return err;
}

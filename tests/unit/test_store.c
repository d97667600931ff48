/* test_store.c: the store on a real SQLite file: schema, tracks, scans,
 * features, vectors, index metadata, transactions, concurrency and crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "soundalike/store.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    char db[320];
    sa_store *s;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx || !tu_tempdir(fx->dir, sizeof fx->dir)) {
        free(fx);
        return -1;
    }
    /* a folder that does not exist yet: open must create it */
    snprintf(fx->db, sizeof fx->db, "%s/nested/dir/store.db", fx->dir);
    if (sa_store_open(fx->db, &fx->s) != SA_OK) {
        fprintf(stderr, "open %s: %s\n", fx->db, sa_error_detail());
        tu_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    sa_store_close(fx->s);
    tu_rmtree(fx->dir);
    free(fx);
    return 0;
}

/* ---- helpers ---- */

/* Runs SQL on its own connection, as another tool would. */
static void raw_exec(const char *db, const char *sql) {
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(h, 10000), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_free(msg);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

static int64_t raw_int(const char *db, const char *sql) {
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    return v;
}

/* The text of the first column of the first row, read on its own connection. */
static void raw_text(const char *db, const char *sql, char *out, size_t cap) {
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *text = (const char *)sqlite3_column_text(st, 0);
    assert_non_null(text);
    snprintf(out, cap, "%s", text);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

static int64_t put(sa_store *s, const char *path, sa_track_status status) {
    sa_track t = {.path = (char *)path, .size = 1000, .mtime_ns = 5, .status = status};
    int64_t id = -1;
    assert_int_equal(sa_store_track_put(s, &t, &id), SA_OK);
    assert_true(id > 0);
    return id;
}

static sa_track_status status_of(sa_store *s, int64_t id) {
    sa_track t;
    assert_int_equal(sa_store_track_by_id(s, id, &t), SA_OK);
    sa_track_status st = t.status;
    sa_track_clear(&t);
    return st;
}

static int64_t generation(sa_store *s, const char *profile) {
    int64_t g = -1;
    assert_int_equal(sa_store_vectors_generation(s, profile, &g), SA_OK);
    return g;
}

static void fill(float *v, int dim, float seed) {
    for (int i = 0; i < dim; i++)
        v[i] = seed + 0.001f * (float)i;
}

/* ---- schema ---- */

static void test_migrations_once(void **state) {
    fixture *fx = *state;
    struct stat st;
    assert_int_equal(stat(fx->db, &st), 0);
    int version = sa_store_schema_version(fx->s);
    assert_true(version >= 1);
    sa_store_close(fx->s);
    fx->s = NULL;
    for (int i = 0; i < 2; i++) { /* re-opening migrates nothing */
        assert_int_equal(sa_store_open(fx->db, &fx->s), SA_OK);
        assert_int_equal(sa_store_schema_version(fx->s), version);
        sa_store_close(fx->s);
        fx->s = NULL;
    }
    assert_int_equal(raw_int(fx->db, "SELECT count(*) FROM schema_migrations"), version);
    assert_int_equal(raw_int(fx->db, "SELECT max(version) FROM schema_migrations"), version);
    assert_int_equal(raw_int(fx->db, "SELECT count(*) FROM sqlite_master WHERE name IN ('tracks', 'scans',"
                                     " 'features', 'vectors', 'vector_generations', 'index_meta', 'tracks_status')"),
                     7);
    char mode[16];
    raw_text(fx->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(sa_store_open(fx->db, &fx->s), SA_OK);
}

static void test_newer_schema_refused(void **state) {
    fixture *fx = *state;
    int version = sa_store_schema_version(fx->s);
    sa_store_close(fx->s);
    fx->s = NULL;
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 'from the future', 0)", version + 1);
    raw_exec(fx->db, sql);
    sa_store *s = NULL;
    assert_int_equal(sa_store_open(fx->db, &s), SA_ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(sa_error_detail(), "newer"));
    raw_exec(fx->db, "DELETE FROM schema_migrations WHERE name = 'from the future'");
    assert_int_equal(sa_store_open(fx->db, &fx->s), SA_OK);
}

static void test_bad_locations(void **state) {
    fixture *fx = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/notes.txt", fx->dir);
    char text[8192];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    assert_int_equal(tu_write_file(path, text, sizeof text), 0);
    sa_store *s = NULL;
    assert_int_equal(sa_store_open(path, &s), SA_ERR_FORMAT);
    assert_null(s);
    assert_non_null(strstr(sa_error_detail(), "not a SQLite database"));
    assert_non_null(strstr(sa_error_detail(), path));

    /* a folder to create where a file is */
    char under_file[480];
    snprintf(under_file, sizeof under_file, "%s/sub/store.db", path);
    assert_int_equal(sa_store_open(under_file, &s), SA_ERR_IO);
    assert_null(s);

    assert_int_equal(sa_store_open("postgresql://user:secret@db.example/music", &s), SA_ERR_UNSUPPORTED);
    assert_non_null(strstr(sa_error_detail(), "PostgreSQL"));
    assert_null(strstr(sa_error_detail(), "secret"));
    assert_int_equal(sa_store_open("postgres://db/music", &s), SA_ERR_UNSUPPORTED);
    assert_int_equal(sa_store_open("mysql://db/music", &s), SA_ERR_UNSUPPORTED);
    assert_int_equal(sa_store_open("", &s), SA_ERR_INVALID);
    assert_null(s);
}

/* ---- tracks ---- */

static void test_track_roundtrip(void **state) {
    fixture *fx = *state;
    const char *path = "/music/Björk/Jóga — 日本語 🎵.flac";
    sa_track t = {
        .path = (char *)path,
        .size = 123456789012LL,
        .mtime_ns = 1700000000123456789LL,
        .content_hash = (char *)"9f86d081884c7d65",
        .status = SA_TRACK_PENDING,
        .duration_s = 305.25,
        .sample_rate = 44100,
        .channels = 2,
        .codec = (char *)"flac",
        .title = (char *)"Jóga",
        .artist = (char *)"Björk",
        .album = (char *)"Homogenic",
        .scanned_at = 1700000001,
    };
    int64_t id;
    assert_int_equal(sa_store_track_put(fx->s, &t, &id), SA_OK);

    sa_track a, b;
    assert_int_equal(sa_store_track_by_id(fx->s, id, &a), SA_OK);
    assert_int_equal(sa_store_track_by_path(fx->s, path, &b), SA_OK);
    assert_int_equal(a.id, id);
    assert_int_equal(b.id, id);
    assert_string_equal(a.path, path);
    assert_int_equal(a.size, t.size);
    assert_int_equal(a.mtime_ns, t.mtime_ns);
    assert_string_equal(a.content_hash, t.content_hash);
    assert_int_equal(a.status, SA_TRACK_PENDING);
    assert_null(a.error);
    assert_true(a.duration_s == t.duration_s);
    assert_int_equal(a.sample_rate, 44100);
    assert_int_equal(a.channels, 2);
    assert_string_equal(a.codec, "flac");
    assert_string_equal(a.title, "Jóga");
    assert_string_equal(a.artist, "Björk");
    assert_string_equal(a.album, "Homogenic");
    assert_null(a.genre);
    assert_int_equal(a.scanned_at, t.scanned_at);
    assert_int_equal(a.analyzed_at, 0);
    assert_string_equal(b.title, a.title);
    sa_track_clear(&a);
    sa_track_clear(&b);
    assert_null(a.path);

    /* the same path updates the row in place */
    t.size = 42;
    t.genre = (char *)"electronic";
    t.title = NULL;
    t.status = SA_TRACK_FAILED;
    t.error = (char *)"truncated";
    int64_t again;
    assert_int_equal(sa_store_track_put(fx->s, &t, &again), SA_OK);
    assert_int_equal(again, id);
    assert_int_equal(sa_store_track_by_path(fx->s, path, &a), SA_OK);
    assert_int_equal(a.size, 42);
    assert_string_equal(a.genre, "electronic");
    assert_null(a.title);
    assert_int_equal(a.status, SA_TRACK_FAILED);
    assert_string_equal(a.error, "truncated");
    sa_track_clear(&a);

    /* one character apart is another track */
    int64_t other = put(fx->s, "/music/Björk/Jóga — 日本語 🎵.flaC", SA_TRACK_PENDING);
    assert_true(other != id);

    assert_int_equal(sa_store_track_by_id(fx->s, other + 1000, &a), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_store_track_by_path(fx->s, "/music/nope.mp3", &a), SA_ERR_NOT_FOUND);
    sa_track rel = {.path = (char *)"music/x.mp3"};
    assert_int_equal(sa_store_track_put(fx->s, &rel, &id), SA_ERR_INVALID);
    rel.path = (char *)"/music/x.mp3";
    rel.status = (sa_track_status)7;
    assert_int_equal(sa_store_track_put(fx->s, &rel, &id), SA_ERR_INVALID);
}

static void test_status_and_counts(void **state) {
    fixture *fx = *state;
    int64_t a = put(fx->s, "/m/a.mp3", SA_TRACK_PENDING);
    int64_t b = put(fx->s, "/m/b.mp3", SA_TRACK_PENDING);
    int64_t c = put(fx->s, "/m/c.mp3", SA_TRACK_PENDING);
    time_t before = time(NULL);
    assert_int_equal(sa_store_track_set_status(fx->s, a, SA_TRACK_ANALYZED, NULL), SA_OK);
    assert_int_equal(sa_store_track_set_status(fx->s, b, SA_TRACK_FAILED, "no audio stream"), SA_OK);
    sa_track t;
    assert_int_equal(sa_store_track_by_id(fx->s, a, &t), SA_OK);
    assert_int_equal(t.status, SA_TRACK_ANALYZED);
    assert_true(t.analyzed_at >= before && t.analyzed_at <= time(NULL));
    sa_track_clear(&t);
    assert_int_equal(sa_store_track_by_id(fx->s, b, &t), SA_OK);
    assert_int_equal(t.status, SA_TRACK_FAILED);
    assert_string_equal(t.error, "no audio stream");
    assert_int_equal(t.analyzed_at, 0);
    sa_track_clear(&t);

    sa_store_counts n;
    assert_int_equal(sa_store_count_tracks(fx->s, &n), SA_OK);
    assert_int_equal(n.total, 3);
    assert_int_equal(n.by_status[SA_TRACK_PENDING], 1);
    assert_int_equal(n.by_status[SA_TRACK_ANALYZED], 1);
    assert_int_equal(n.by_status[SA_TRACK_FAILED], 1);
    assert_int_equal(n.by_status[SA_TRACK_MISSING], 0);

    /* a retry that succeeds clears the error */
    assert_int_equal(sa_store_track_set_status(fx->s, b, SA_TRACK_ANALYZED, NULL), SA_OK);
    assert_int_equal(sa_store_track_by_id(fx->s, b, &t), SA_OK);
    assert_null(t.error);
    sa_track_clear(&t);
    assert_int_equal(status_of(fx->s, c), SA_TRACK_PENDING);
    assert_int_equal(sa_store_track_set_status(fx->s, c + 99, SA_TRACK_FAILED, "x"), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_store_track_set_status(fx->s, c, (sa_track_status)9, NULL), SA_ERR_INVALID);

    sa_track_status parsed;
    for (int i = SA_TRACK_PENDING; i <= SA_TRACK_MISSING; i++) {
        assert_int_equal(sa_track_status_parse(sa_track_status_name((sa_track_status)i), &parsed), SA_OK);
        assert_int_equal(parsed, i);
    }
    assert_int_equal(sa_track_status_parse("gone", &parsed), SA_ERR_INVALID);
}

typedef struct walk {
    sa_store *s;
    int calls;
    int stop_after; /* 0: never */
    int64_t last_id;
    int in_order;
    int set_analyzed; /* writes to the store from inside the walk */
} walk;

static int on_track(const sa_track *t, void *ctx) {
    walk *w = ctx;
    w->calls++;
    if (t->id <= w->last_id)
        w->in_order = 0;
    w->last_id = t->id;
    if (w->set_analyzed && sa_store_track_set_status(w->s, t->id, SA_TRACK_ANALYZED, NULL) != SA_OK)
        return -1;
    return w->stop_after && w->calls >= w->stop_after;
}

static void test_walks(void **state) {
    fixture *fx = *state;
    enum { N = 700 }; /* several pages */
    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    for (int i = 0; i < N; i++) {
        char path[64];
        snprintf(path, sizeof path, "/lib/%04d.ogg", i);
        put(fx->s, path, (sa_track_status)(i % 3 == 0 ? SA_TRACK_PENDING : SA_TRACK_FAILED));
    }
    assert_int_equal(sa_store_commit(fx->s), SA_OK);
    int pending = (N + 2) / 3;

    walk w = {.s = fx->s, .in_order = 1};
    assert_int_equal(sa_store_tracks_each(fx->s, -1, on_track, &w), SA_OK);
    assert_int_equal(w.calls, N);
    assert_true(w.in_order);

    w = (walk){.s = fx->s, .in_order = 1};
    assert_int_equal(sa_store_tracks_each(fx->s, SA_TRACK_PENDING, on_track, &w), SA_OK);
    assert_int_equal(w.calls, pending);
    assert_true(w.in_order);

    for (int stop = 1; stop <= 300; stop += 299) {
        w = (walk){.s = fx->s, .in_order = 1, .stop_after = stop};
        assert_int_equal(sa_store_tracks_each(fx->s, SA_TRACK_FAILED, on_track, &w), SA_OK);
        assert_int_equal(w.calls, stop);
    }

    /* every pending track seen once, though the walk changes their status */
    w = (walk){.s = fx->s, .in_order = 1, .set_analyzed = 1};
    assert_int_equal(sa_store_tracks_each(fx->s, SA_TRACK_PENDING, on_track, &w), SA_OK);
    assert_int_equal(w.calls, pending);
    sa_store_counts n;
    assert_int_equal(sa_store_count_tracks(fx->s, &n), SA_OK);
    assert_int_equal(n.by_status[SA_TRACK_PENDING], 0);
    assert_int_equal(n.by_status[SA_TRACK_ANALYZED], pending);
    assert_int_equal(n.total, N);

    w = (walk){.s = fx->s};
    assert_int_equal(sa_store_tracks_each(fx->s, SA_TRACK_MISSING, on_track, &w), SA_OK);
    assert_int_equal(w.calls, 0);
    assert_int_equal(sa_store_tracks_each(fx->s, 4, on_track, &w), SA_ERR_INVALID);
}

/* ---- scans ---- */

static void test_mark_missing(void **state) {
    fixture *fx = *state;
    int64_t seen = put(fx->s, "/music/a.mp3", SA_TRACK_ANALYZED);
    int64_t gone = put(fx->s, "/music/sub/b.mp3", SA_TRACK_ANALYZED);
    int64_t sibling = put(fx->s, "/music2/c.mp3", SA_TRACK_ANALYZED);
    int64_t underscore = put(fx->s, "/mu_ic/d.mp3", SA_TRACK_PENDING);
    int64_t percent = put(fx->s, "/m%/e.mp3", SA_TRACK_PENDING);
    int64_t exact_name = put(fx->s, "/music", SA_TRACK_PENDING); /* a file named like the root */
    int64_t elsewhere = put(fx->s, "/other/f.mp3", SA_TRACK_PENDING);

    int64_t scan, scan2;
    assert_int_equal(sa_store_scan_begin(fx->s, &scan), SA_OK);
    assert_int_equal(sa_store_scan_begin(fx->s, &scan2), SA_OK);
    assert_true(scan2 > scan);
    assert_int_equal(sa_store_track_seen(fx->s, seen, scan), SA_OK);
    assert_int_equal(sa_store_track_seen(fx->s, elsewhere + 50, scan), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_store_track_seen(fx->s, seen, scan + 500), SA_ERR_NOT_FOUND); /* no such scan */

    int64_t count = -1;
    assert_int_equal(sa_store_mark_missing(fx->s, "/music/", scan, &count), SA_OK);
    assert_int_equal(count, 1);
    assert_int_equal(status_of(fx->s, gone), SA_TRACK_MISSING);
    assert_int_equal(status_of(fx->s, seen), SA_TRACK_ANALYZED);
    assert_int_equal(status_of(fx->s, sibling), SA_TRACK_ANALYZED);
    assert_int_equal(status_of(fx->s, exact_name), SA_TRACK_PENDING);
    assert_int_equal(status_of(fx->s, underscore), SA_TRACK_PENDING);

    /* already missing: nothing changes twice */
    assert_int_equal(sa_store_mark_missing(fx->s, "/music", scan, &count), SA_OK);
    assert_int_equal(count, 0);

    /* LIKE wildcards in a root are plain characters */
    assert_int_equal(sa_store_mark_missing(fx->s, "/mu_ic", scan, &count), SA_OK);
    assert_int_equal(count, 1);
    assert_int_equal(status_of(fx->s, underscore), SA_TRACK_MISSING);
    assert_int_equal(status_of(fx->s, seen), SA_TRACK_ANALYZED);
    assert_int_equal(sa_store_mark_missing(fx->s, "/m%", scan, &count), SA_OK);
    assert_int_equal(count, 1);
    assert_int_equal(status_of(fx->s, percent), SA_TRACK_MISSING);
    assert_int_equal(status_of(fx->s, sibling), SA_TRACK_ANALYZED);

    /* the file system root holds everything */
    assert_int_equal(sa_store_mark_missing(fx->s, "/", scan, &count), SA_OK);
    assert_int_equal(count, 3); /* music2/c, the file /music, other/f */
    assert_int_equal(status_of(fx->s, seen), SA_TRACK_ANALYZED);
    assert_int_equal(sa_store_mark_missing(fx->s, "music", scan, &count), SA_ERR_INVALID);
}

/* A folder kept by a scan: its tracks count as seen, its neighbours do not. */
static void test_keep_under(void **state) {
    fixture *fx = *state;
    int64_t kept = put(fx->s, "/music/closed/a.mp3", SA_TRACK_ANALYZED);
    int64_t deeper = put(fx->s, "/music/closed/sub/b.mp3", SA_TRACK_PENDING);
    int64_t beside = put(fx->s, "/music/closed2/c.mp3", SA_TRACK_ANALYZED);
    int64_t scan, count = -1;
    assert_int_equal(sa_store_scan_begin(fx->s, &scan), SA_OK);
    assert_int_equal(sa_store_keep_under(fx->s, "/music/closed/", scan), SA_OK);
    assert_int_equal(sa_store_mark_missing(fx->s, "/music", scan, &count), SA_OK);
    assert_int_equal(count, 1);
    assert_int_equal(status_of(fx->s, kept), SA_TRACK_ANALYZED);
    assert_int_equal(status_of(fx->s, deeper), SA_TRACK_PENDING);
    assert_int_equal(status_of(fx->s, beside), SA_TRACK_MISSING);
    assert_int_equal(sa_store_keep_under(fx->s, "closed", scan), SA_ERR_INVALID);
    assert_int_equal(sa_store_keep_under(fx->s, NULL, scan), SA_ERR_INVALID);
}

/* ---- features ---- */

static void test_features(void **state) {
    fixture *fx = *state;
    int64_t id = put(fx->s, "/m/f.flac", SA_TRACK_PENDING);
    sa_features f = {0};
    sa_feature_group *g, *r;
    float chroma[12];
    for (int i = 0; i < 12; i++)
        chroma[i] = 1.0f / (float)(i + 3);
    assert_int_equal(sa_features_group(&f, "tonal", 2, &g), SA_OK);
    assert_int_equal(sa_features_set(g, "chroma", chroma, 12), SA_OK);
    assert_int_equal(sa_features_set_text(g, "key", "F#"), SA_OK);
    assert_int_equal(sa_store_features_put(fx->s, id, g), SA_OK);
    /* a new group may move the others: g is not used past this point */
    assert_int_equal(sa_features_group(&f, "rhythm", 1, &r), SA_OK);
    assert_int_equal(sa_features_set_scalar(r, "bpm", 127.25f), SA_OK);
    assert_int_equal(sa_store_features_put(fx->s, id, r), SA_OK);

    int version = -1;
    assert_int_equal(sa_store_features_version(fx->s, id, "tonal", &version), SA_OK);
    assert_int_equal(version, 2);
    assert_int_equal(sa_store_features_version(fx->s, id, "musicnn", &version), SA_OK);
    assert_int_equal(version, 0);

    sa_features back = {0};
    assert_int_equal(sa_store_features_get(fx->s, id, &back), SA_OK);
    assert_int_equal(back.count, 2);
    const sa_feature *c = sa_features_get(&back, "tonal", "chroma");
    assert_non_null(c);
    assert_int_equal(c->count, 12);
    assert_memory_equal(c->values, chroma, sizeof chroma);
    assert_string_equal(sa_features_get(&back, "tonal", "key")->text, "F#");
    float bpm;
    assert_int_equal(sa_features_scalar(&back, "rhythm", "bpm", &bpm), SA_OK);
    assert_true(bpm == 127.25f);

    /* a new version replaces the whole group */
    assert_int_equal(sa_features_group(&f, "tonal", 3, &g), SA_OK);
    assert_int_equal(sa_features_set_text(g, "scale", "minor"), SA_OK);
    assert_int_equal(sa_store_features_put(fx->s, id, g), SA_OK);
    assert_int_equal(sa_store_features_version(fx->s, id, "tonal", &version), SA_OK);
    assert_int_equal(version, 3);
    assert_int_equal(sa_store_features_get(fx->s, id, &back), SA_OK);
    assert_int_equal(sa_features_find_group(&back, "tonal")->version, 3);
    assert_null(sa_features_get(&back, "tonal", "chroma"));
    assert_string_equal(sa_features_get(&back, "tonal", "scale")->text, "minor");
    sa_features_clear(&back);

    r = (sa_feature_group *)sa_features_find_group(&f, "rhythm");
    assert_int_equal(sa_store_features_put(fx->s, id + 77, r), SA_ERR_NOT_FOUND);

    raw_exec(fx->db, "UPDATE features SET data = '{\"bpm\": [1, ' WHERE analyzer = 'rhythm'");
    assert_int_equal(sa_store_features_get(fx->s, id, &back), SA_ERR_FORMAT);
    char expect[64];
    snprintf(expect, sizeof expect, "track %lld", (long long)id);
    assert_non_null(strstr(sa_error_detail(), expect));
    /* the track, then what the parser found wrong: the wrapped detail is kept */
    snprintf(expect, sizeof expect, "stored features of track %lld: ", (long long)id);
    assert_memory_equal(sa_error_detail(), expect, strlen(expect));
    assert_true(strlen(sa_error_detail()) > strlen(expect) + 5);
    assert_null(strstr(sa_error_detail() + strlen(expect), "stored features of track"));
    sa_features_clear(&back);
    sa_features_clear(&f);
}

/* ---- vectors ---- */

static void test_vectors(void **state) {
    fixture *fx = *state;
    enum { DIM = 67 };
    int64_t a = put(fx->s, "/v/a.mp3", SA_TRACK_ANALYZED);
    int64_t b = put(fx->s, "/v/b.mp3", SA_TRACK_ANALYZED);
    int64_t c = put(fx->s, "/v/c.mp3", SA_TRACK_PENDING);
    float va[DIM], vb[DIM], vc[DIM], out[DIM];
    fill(va, DIM, 0.5f);
    fill(vb, DIM, -0.25f);
    fill(vc, DIM, 2.0f);

    int64_t g0 = generation(fx->s, "default");
    assert_int_equal(g0, 0);
    assert_int_equal(sa_store_vector_put(fx->s, a, "default", va, DIM), SA_OK);
    int64_t g1 = generation(fx->s, "default");
    assert_true(g1 > g0);
    assert_int_equal(sa_store_vector_put(fx->s, b, "default", vb, DIM), SA_OK);
    assert_int_equal(sa_store_vector_put(fx->s, c, "default", vc, DIM), SA_OK);
    assert_int_equal(sa_store_vector_put(fx->s, a, "rich", vb, 17), SA_OK);
    int64_t g2 = generation(fx->s, "default");
    assert_true(g2 > g1);

    assert_int_equal(sa_store_vector_get(fx->s, a, "default", out, DIM), SA_OK);
    assert_memory_equal(out, va, sizeof va);
    assert_int_equal(sa_store_vector_get(fx->s, a, "rich", out, 17), SA_OK);
    assert_memory_equal(out, vb, 17 * sizeof(float));
    assert_int_equal(sa_store_vector_get(fx->s, a, "default", out, 17), SA_ERR_FORMAT);
    assert_int_equal(sa_store_vector_get(fx->s, b, "rich", out, 17), SA_ERR_NOT_FOUND);

    /* only analyzed tracks load, in id order */
    int64_t *ids;
    float *data;
    size_t n;
    assert_int_equal(sa_store_vectors_load(fx->s, "default", DIM, &ids, &data, &n), SA_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], a);
    assert_int_equal(ids[1], b);
    assert_memory_equal(data, va, sizeof va);
    assert_memory_equal(data + DIM, vb, sizeof vb);
    free(ids);
    free(data);
    int64_t count = -1;
    assert_int_equal(sa_store_vectors_count(fx->s, "default", &count), SA_OK);
    assert_int_equal(count, 2); /* the pending track's vector does not count */
    assert_int_equal(sa_store_vectors_count(fx->s, "nothing", &count), SA_OK);
    assert_int_equal(count, 0);

    /* a status change of a track with a vector changes the generation */
    int64_t g3 = generation(fx->s, "default");
    int64_t rich = generation(fx->s, "rich");
    assert_int_equal(sa_store_track_set_status(fx->s, c, SA_TRACK_ANALYZED, NULL), SA_OK);
    int64_t g4 = generation(fx->s, "default");
    assert_true(g4 > g3);
    assert_int_equal(generation(fx->s, "rich"), rich); /* c has no rich vector */
    assert_int_equal(sa_store_vectors_load(fx->s, "default", DIM, &ids, &data, &n), SA_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(data + 2 * DIM, vc, sizeof vc);
    free(ids);
    free(data);

    /* replacing and deleting */
    assert_int_equal(sa_store_vector_put(fx->s, a, "default", vc, DIM), SA_OK);
    int64_t g5 = generation(fx->s, "default");
    assert_true(g5 > g4);
    assert_int_equal(sa_store_vector_get(fx->s, a, "default", out, DIM), SA_OK);
    assert_memory_equal(out, vc, sizeof vc);
    assert_int_equal(sa_store_vector_delete(fx->s, b, "default"), SA_OK);
    int64_t g6 = generation(fx->s, "default");
    assert_true(g6 > g5);
    assert_int_equal(sa_store_vector_get(fx->s, b, "default", out, DIM), SA_ERR_NOT_FOUND);
    assert_int_equal(generation(fx->s, "rich"), rich);

    /* errors */
    assert_int_equal(sa_store_vector_put(fx->s, c + 100, "default", va, DIM), SA_ERR_NOT_FOUND);
    va[3] = NAN;
    assert_int_equal(sa_store_vector_put(fx->s, a, "default", va, DIM), SA_ERR_INVALID);
    assert_int_equal(sa_store_vector_put(fx->s, a, "default", vb, 0), SA_ERR_RANGE);
    assert_int_equal(sa_store_vectors_load(fx->s, "default", 17, &ids, &data, &n), SA_ERR_FORMAT);
    assert_null(ids);
    assert_null(data);
    assert_int_equal(generation(fx->s, "default"), g6); /* failures wrote nothing */

    /* a blob that does not match its dimension is named by its track */
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE vectors SET data = zeroblob(12) WHERE track_id = %lld AND profile = 'default'",
             (long long)c);
    raw_exec(fx->db, sql);
    assert_int_equal(sa_store_vectors_load(fx->s, "default", DIM, &ids, &data, &n), SA_ERR_FORMAT);
    char expect[64];
    snprintf(expect, sizeof expect, "track %lld", (long long)c);
    assert_non_null(strstr(sa_error_detail(), expect));
    assert_int_equal(sa_store_vector_get(fx->s, c, "default", out, DIM), SA_ERR_FORMAT);

    /* an empty profile loads nothing */
    assert_int_equal(sa_store_vectors_load(fx->s, "none", DIM, &ids, &data, &n), SA_OK);
    assert_int_equal(n, 0);
    free(ids);
    free(data);
}

static void test_load_100k(void **state) {
    fixture *fx = *state;
    enum { N = 100000, DIM = 67 };
    float v[DIM];
    clock_t w0 = clock();
    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    for (int i = 0; i < N; i++) {
        char path[64];
        snprintf(path, sizeof path, "/big/%06d.mp3", i);
        /* every tenth track is not analyzed and must not load */
        int64_t id = put(fx->s, path, i % 10 == 9 ? SA_TRACK_PENDING : SA_TRACK_ANALYZED);
        fill(v, DIM, (float)i);
        assert_int_equal(sa_store_vector_put(fx->s, id, "default", v, DIM), SA_OK);
    }
    assert_int_equal(sa_store_commit(fx->s), SA_OK);
    double write_s = (double)(clock() - w0) / CLOCKS_PER_SEC;

    struct timespec t0, t1;
    int64_t *ids;
    float *data;
    size_t n;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sa_store_vectors_load(fx->s, "default", DIM, &ids, &data, &n), SA_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double load_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    assert_int_equal(n, N - N / 10);
    for (size_t k = 0; k < n; k += 997) {
        int i = (int)(k / 9 * 10 + k % 9); /* the k-th analyzed track */
        fill(v, DIM, (float)i);
        assert_memory_equal(data + k * DIM, v, sizeof v);
        assert_true(k == 0 || ids[k] > ids[k - 1]);
    }
    free(ids);
    free(data);
    print_message("store: wrote 100k tracks + vectors in %.2f s CPU, loaded %zu x %d in %.3f s\n", write_s, n,
                  (int)DIM, load_s);
    assert_true(load_s < 5.0); /* a gross regression, not a benchmark */
}

/* ---- index metadata ---- */

static void test_index_meta(void **state) {
    fixture *fx = *state;
    sa_index_meta m;
    memset(&m, 0, sizeof m); /* padding too: the round trip is compared byte for byte */
    m.dim = 67;
    m.count = 12345;
    m.generation = 99;
    m.build_time_s = 1.5;
    m.built_at = 1700000000;
    m.recall_at_10 = -1;
    snprintf(m.name, sizeof m.name, "music_library");
    snprintf(m.profile, sizeof m.profile, "default");
    snprintf(m.type, sizeof m.type, "IVF256,PQ67x8");
    snprintf(m.checksum, sizeof m.checksum, "%064d", 7);
    snprintf(m.file, sizeof m.file, "/var/lib/soundalike/índex.faiss");
    assert_int_equal(sa_store_index_meta_put(fx->s, &m), SA_OK);
    sa_index_meta out;
    assert_int_equal(sa_store_index_meta_get(fx->s, "music_library", &out), SA_OK);
    assert_memory_equal(&out, &m, sizeof m);

    m.recall_at_10 = 0.975;
    m.count = 12346;
    snprintf(m.type, sizeof m.type, "flat");
    assert_int_equal(sa_store_index_meta_put(fx->s, &m), SA_OK);
    assert_int_equal(sa_store_index_meta_get(fx->s, "music_library", &out), SA_OK);
    assert_true(out.recall_at_10 == 0.975);
    assert_int_equal(out.count, 12346);
    assert_string_equal(out.type, "flat");
    assert_int_equal(raw_int(fx->db, "SELECT count(*) FROM index_meta"), 1);
    assert_int_equal(sa_store_index_meta_get(fx->s, "other", &out), SA_ERR_NOT_FOUND);

    memset(m.profile, 'x', sizeof m.profile); /* unterminated */
    assert_int_equal(sa_store_index_meta_put(fx->s, &m), SA_ERR_INVALID);
}

/* ---- transactions and concurrency ---- */

static void test_transactions(void **state) {
    fixture *fx = *state;
    sa_track t;
    assert_int_equal(sa_store_rollback(fx->s), SA_OK); /* none open */
    assert_int_equal(sa_store_commit(fx->s), SA_ERR_INVALID);

    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    int64_t id = put(fx->s, "/t/discarded.mp3", SA_TRACK_ANALYZED);
    float v[4] = {1, 2, 3, 4};
    assert_int_equal(sa_store_vector_put(fx->s, id, "p", v, 4), SA_OK);
    assert_int_equal(sa_store_rollback(fx->s), SA_OK);
    assert_int_equal(sa_store_track_by_path(fx->s, "/t/discarded.mp3", &t), SA_ERR_NOT_FOUND);
    assert_int_equal(generation(fx->s, "p"), 0);

    /* nested: the inner level rolls back alone */
    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    put(fx->s, "/t/outer.mp3", SA_TRACK_PENDING);
    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    put(fx->s, "/t/inner.mp3", SA_TRACK_PENDING);
    assert_int_equal(sa_store_rollback(fx->s), SA_OK);
    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    put(fx->s, "/t/inner2.mp3", SA_TRACK_PENDING);
    assert_int_equal(sa_store_commit(fx->s), SA_OK);
    assert_int_equal(sa_store_commit(fx->s), SA_OK);
    assert_int_equal(sa_store_track_by_path(fx->s, "/t/outer.mp3", &t), SA_OK);
    sa_track_clear(&t);
    assert_int_equal(sa_store_track_by_path(fx->s, "/t/inner2.mp3", &t), SA_OK);
    sa_track_clear(&t);
    assert_int_equal(sa_store_track_by_path(fx->s, "/t/inner.mp3", &t), SA_ERR_NOT_FOUND);

    /* a failed write inside a transaction leaves the rest of it */
    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    put(fx->s, "/t/kept.mp3", SA_TRACK_PENDING);
    assert_int_equal(sa_store_vector_put(fx->s, 987654, "p", v, 4), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_store_commit(fx->s), SA_OK);
    assert_int_equal(sa_store_track_by_path(fx->s, "/t/kept.mp3", &t), SA_OK);
    sa_track_clear(&t);
}

static void test_wal_reader_and_writer(void **state) {
    fixture *fx = *state;
    sa_store *reader;
    assert_int_equal(sa_store_open(fx->db, &reader), SA_OK);
    int64_t id = put(fx->s, "/w/first.mp3", SA_TRACK_ANALYZED);
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(sa_store_vector_put(fx->s, id, "p", v, 8), SA_OK);

    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    put(fx->s, "/w/second.mp3", SA_TRACK_PENDING);
    /* the reader neither waits for the writer nor sees its open transaction */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sa_store_counts n;
    assert_int_equal(sa_store_count_tracks(reader, &n), SA_OK);
    assert_int_equal(n.total, 1);
    sa_track t;
    assert_int_equal(sa_store_track_by_path(reader, "/w/second.mp3", &t), SA_ERR_NOT_FOUND);
    int64_t *ids;
    float *data;
    size_t count;
    assert_int_equal(sa_store_vectors_load(reader, "p", 8, &ids, &data, &count), SA_OK);
    assert_int_equal(count, 1);
    free(ids);
    free(data);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 2);
    /* a store opened meanwhile needs no write lock either */
    sa_store *third;
    assert_int_equal(sa_store_open(fx->db, &third), SA_OK);
    sa_store_close(third);
    assert_int_equal(sa_store_commit(fx->s), SA_OK);

    assert_int_equal(sa_store_track_by_path(reader, "/w/second.mp3", &t), SA_OK);
    sa_track_clear(&t);
    sa_store_close(reader);
}

/* A child writes pairs of tracks with their vectors, one transaction per
 * pair, until it is killed with SIGKILL; the store must stay whole. */
static void crash_writer(const char *db) {
    sa_store *s;
    if (sa_store_open(db, &s) != SA_OK)
        _exit(2);
    float v[16];
    for (int i = 0;; i++) {
        if (sa_store_begin(s) != SA_OK)
            _exit(3);
        for (int k = 0; k < 2; k++) {
            char path[64];
            snprintf(path, sizeof path, "/crash/%08d-%d.mp3", i, k);
            sa_track t = {.path = path, .status = SA_TRACK_ANALYZED};
            int64_t id;
            fill(v, 16, (float)i);
            if (sa_store_track_put(s, &t, &id) != SA_OK || sa_store_vector_put(s, id, "p", v, 16) != SA_OK)
                _exit(4);
        }
        if (sa_store_commit(s) != SA_OK)
            _exit(5);
    }
}

static void test_survives_kill9(void **state) {
    fixture *fx = *state;
    sa_store_close(fx->s);
    fx->s = NULL;
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            crash_writer(fx->db);
        sa_store *watch;
        assert_int_equal(sa_store_open(fx->db, &watch), SA_OK);
        sa_store_counts n = {0};
        int64_t before = 0;
        assert_int_equal(sa_store_count_tracks(watch, &n), SA_OK);
        before = n.total;
        for (int tries = 0; tries < 2000 && n.total < before + 40; tries++) {
            usleep(5000);
            assert_int_equal(sa_store_count_tracks(watch, &n), SA_OK);
        }
        sa_store_close(watch);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        assert_int_equal(sa_store_open(fx->db, &fx->s), SA_OK);
        assert_int_equal(sa_store_count_tracks(fx->s, &n), SA_OK);
        assert_true(n.total >= before + 40);
        assert_int_equal(n.total % 2, 0); /* never half a transaction */
        int64_t *ids;
        float *data;
        size_t count;
        assert_int_equal(sa_store_vectors_load(fx->s, "p", 16, &ids, &data, &count), SA_OK);
        assert_int_equal((int64_t)count, n.total); /* every track has its vector */
        free(ids);
        free(data);
        sa_store_close(fx->s);
        fx->s = NULL;
        char integrity[256];
        raw_text(fx->db, "PRAGMA integrity_check", integrity, sizeof integrity);
        assert_string_equal(integrity, "ok");
    }
    assert_int_equal(sa_store_open(fx->db, &fx->s), SA_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_locations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_track_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_under, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_100k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_reader_and_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survives_kill9, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_library_index.c: the index kept in step with the store: the store's
 * list of changed vectors, incremental catch-up, rebuilds and their
 * reasons, the "auto" type, recall measured at build, and the check that
 * `index verify` and `index stats` report. Tracks and vectors are written
 * straight to the store (no audio), in the 17-d "descriptors" profile. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "soundalike/index.h"
#include "soundalike/library.h"
#include "soundalike/store.h"
#include "testutil.h"

#define PROFILE "descriptors"
enum { DIM = 17 };

typedef struct fixture {
    char dir[256], db[400], index[512];
    sa_store *s;
    uint64_t rng;
} fixture;

static float uniform(fixture *fx) {
    uint64_t z = (fx->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (float)((double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* A unit vector near one of 20 fixed directions, so that an IVF has structure to find. */
static void clustered(fixture *fx, float *v) {
    int c = (int)((uniform(fx) + 1) * 10) % 20;
    double norm = 0;
    for (int i = 0; i < DIM; i++) {
        v[i] = (i == c % DIM ? 2.0f : 0.0f) + (c >= DIM && i == 0 ? -2.0f : 0.0f) + uniform(fx);
        norm += (double)v[i] * v[i];
    }
    for (int i = 0; i < DIM; i++)
        v[i] = (float)(v[i] / sqrt(norm));
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_non_null(tu_tempdir(fx->dir, sizeof fx->dir));
    snprintf(fx->db, sizeof fx->db, "%s/library.db", fx->dir);
    assert_int_equal(sa_library_index_path(fx->db, PROFILE, fx->index, sizeof fx->index), SA_OK);
    assert_int_equal(sa_store_open(fx->db, &fx->s), SA_OK);
    fx->rng = 42;
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

/* Adds an analysed track number i with a random vector; returns its id. */
static int64_t add_track(fixture *fx, int i) {
    char path[64];
    snprintf(path, sizeof path, "/music/track%06d.mp3", i);
    sa_track t = {.path = path, .status = SA_TRACK_ANALYZED};
    int64_t id;
    float v[DIM];
    clustered(fx, v);
    assert_int_equal(sa_store_track_put(fx->s, &t, &id), SA_OK);
    assert_int_equal(sa_store_vector_put(fx->s, id, PROFILE, v, DIM), SA_OK);
    return id;
}

static void add_tracks(fixture *fx, int first, int n) {
    assert_int_equal(sa_store_begin(fx->s), SA_OK);
    for (int i = first; i < first + n; i++)
        add_track(fx, i);
    assert_int_equal(sa_store_commit(fx->s), SA_OK);
}

static void revector(fixture *fx, int64_t id) {
    float v[DIM];
    clustered(fx, v);
    assert_int_equal(sa_store_vector_put(fx->s, id, PROFILE, v, DIM), SA_OK);
}

static int64_t generation(fixture *fx) {
    int64_t g;
    assert_int_equal(sa_store_vectors_generation(fx->s, PROFILE, &g), SA_OK);
    return g;
}

static int in_ids(const int64_t *ids, size_t n, int64_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

static sa_index *open_index(fixture *fx, int want_how) {
    sa_index *idx = NULL;
    int how = -1;
    assert_int_equal(sa_library_index_open(fx->s, PROFILE, fx->index, &idx, &how), SA_OK);
    if (how != want_how)
        fail_msg("open: %d, wanted %d", how, want_how);
    return idx;
}

static sa_index_meta recorded(fixture *fx) {
    sa_index_meta m;
    assert_int_equal(sa_store_index_meta_get(fx->s, "music_library", &m), SA_OK);
    return m;
}

/* The index holds exactly the stored vectors, and `index verify` agrees. */
static void expect_in_step(fixture *fx, const sa_index *idx) {
    int64_t *ids;
    float *data;
    size_t n;
    float v[DIM];
    assert_int_equal(sa_store_vectors_load(fx->s, PROFILE, DIM, &ids, &data, &n), SA_OK);
    assert_int_equal(sa_index_count(idx), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sa_index_get(idx, ids[i], v), SA_OK);
        assert_memory_equal(v, data + i * DIM, sizeof v);
    }
    free(ids);
    free(data);
    sa_library_index_report r;
    assert_int_equal(sa_library_index_check(fx->s, &r), SA_OK);
    if (!r.current)
        fail_msg("check: %s", r.verdict);
    assert_string_equal(r.verdict, "ok");
    assert_int_equal(r.indexed, (int64_t)n);
    assert_int_equal(r.total_vectors, (int64_t)n);
}

/* ---- the store's changes ---- */

static void test_changes_since(void **state) {
    fixture *fx = *state;
    sa_vector_changes ch;
    assert_int_equal(sa_store_vectors_changed_since(fx->s, PROFILE, DIM, 0, &ch), SA_OK);
    assert_int_equal(ch.n_put + ch.n_gone, 0);
    assert_int_equal(ch.generation, 0);
    int64_t ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = add_track(fx, i);
    int64_t g = generation(fx);
    assert_int_equal(sa_store_vectors_changed_since(fx->s, PROFILE, DIM, 0, &ch), SA_OK);
    assert_int_equal(ch.n_put, 10);
    assert_int_equal(ch.generation, g);
    sa_vector_changes_clear(&ch);

    revector(fx, ids[1]);                                                          /* replaced */
    assert_int_equal(sa_store_vector_delete(fx->s, ids[2], PROFILE), SA_OK);       /* deleted */
    assert_int_equal(sa_store_track_set_status(fx->s, ids[3], SA_TRACK_MISSING, NULL), SA_OK); /* gone */
    assert_int_equal(sa_store_vector_delete(fx->s, ids[4], PROFILE), SA_OK);       /* deleted, then back */
    revector(fx, ids[4]);
    assert_int_equal(sa_store_track_set_status(fx->s, ids[5], SA_TRACK_PENDING, NULL), SA_OK); /* re-analysed */
    assert_int_equal(sa_store_track_set_status(fx->s, ids[5], SA_TRACK_ANALYZED, NULL), SA_OK);
    int64_t fresh = add_track(fx, 100);
    /* another profile's vector is not a change of this one */
    float other[DIM] = {1};
    assert_int_equal(sa_store_vector_put(fx->s, ids[6], "default-other", other, DIM), SA_OK);

    assert_int_equal(sa_store_vectors_changed_since(fx->s, PROFILE, DIM, g, &ch), SA_OK);
    assert_true(ch.generation > g);
    assert_int_equal(ch.n_put, 4);
    assert_int_equal(ch.n_gone, 2);
    int64_t want_put[] = {ids[1], ids[4], ids[5], fresh}, want_gone[] = {ids[2], ids[3]};
    for (int i = 0; i < 4; i++)
        assert_true(in_ids(ch.put_ids, ch.n_put, want_put[i]));
    for (int i = 0; i < 2; i++)
        assert_true(in_ids(ch.gone_ids, ch.n_gone, want_gone[i]));
    float v[DIM];
    for (size_t i = 0; i < ch.n_put; i++) {
        assert_int_equal(sa_store_vector_get(fx->s, ch.put_ids[i], PROFILE, v, DIM), SA_OK);
        assert_memory_equal(v, ch.put_data + i * DIM, sizeof v);
    }
    int64_t g2 = ch.generation;
    sa_vector_changes_clear(&ch);
    sa_vector_changes_clear(&ch); /* cleared twice is harmless */
    assert_int_equal(sa_store_vectors_changed_since(fx->s, PROFILE, DIM, g2, &ch), SA_OK);
    assert_int_equal(ch.n_put + ch.n_gone, 0);
    assert_int_equal(ch.generation, g2);
    /* a vector of the wrong dimension is named */
    assert_int_equal(sa_store_vectors_changed_since(fx->s, PROFILE, DIM + 1, 0, &ch), SA_ERR_FORMAT);
    assert_null(ch.put_ids);
    assert_int_equal(sa_store_vectors_changed_since(fx->s, NULL, DIM, 0, &ch), SA_ERR_INVALID);
}

/* ---- building and opening ---- */

/* A rebuild repeats the last request for the same profile, else "auto". */
static void test_rebuild_type(void **state) {
    (void)state;
    sa_index_meta meta = {.profile = "default", .type = "ivf", .requested = "auto"};
    assert_string_equal(sa_library_index_rebuild_type(&meta, "default"), "auto");
    meta.requested[0] = '\0';
    assert_string_equal(sa_library_index_rebuild_type(&meta, "default"), "ivf");
    snprintf(meta.requested, sizeof meta.requested, "hnsw");
    assert_string_equal(sa_library_index_rebuild_type(&meta, "default"), "hnsw");
    assert_string_equal(sa_library_index_rebuild_type(&meta, "rich"), "auto");
    meta = (sa_index_meta){.profile = "default"};
    assert_string_equal(sa_library_index_rebuild_type(&meta, "default"), "auto");
    assert_string_equal(sa_library_index_rebuild_type(NULL, "default"), "auto");
}

static void test_auto_type(void **state) {
    (void)state;
    assert_string_equal(sa_library_index_auto_type(67, 0), "flat");
    assert_string_equal(sa_library_index_auto_type(67, 30000), "flat");
    assert_string_equal(sa_library_index_auto_type(67, 31300), "flat");
    assert_string_equal(sa_library_index_auto_type(67, 31400), "ivf");
    assert_string_equal(sa_library_index_auto_type(67, 100000), "ivf");
    assert_string_equal(sa_library_index_auto_type(17, 120000), "flat");
    assert_string_equal(sa_library_index_auto_type(229, 10000), "ivf");
}

static void test_build_then_load(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 300);
    sa_index *idx = open_index(fx, SA_INDEX_REBUILT); /* none yet */
    sa_index_meta m = recorded(fx);
    assert_string_equal(m.type, "flat");
    assert_string_equal(m.requested, "auto");
    assert_true(m.recall_at_10 == 1.0);
    assert_int_equal(m.count, 300);
    assert_int_equal(m.generation, generation(fx));
    expect_in_step(fx, idx);
    sa_index_free(idx);
    idx = open_index(fx, SA_INDEX_LOADED);
    sa_index_free(idx);
    /* the query is never its own result */
    int64_t *ids;
    float *data;
    size_t n;
    assert_int_equal(sa_store_vectors_load(fx->s, PROFILE, DIM, &ids, &data, &n), SA_OK);
    idx = open_index(fx, SA_INDEX_LOADED);
    sa_hit hits[5];
    size_t found;
    assert_int_equal(sa_index_search_id(idx, ids[7], 5, NULL, 0, NULL, hits, &found), SA_OK);
    assert_int_equal(found, 5);
    for (size_t i = 0; i < found; i++)
        assert_true(hits[i].id != ids[7]);
    free(ids);
    free(data);
    sa_index_free(idx);
}

static void test_catch_up(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 200);
    sa_index_free(open_index(fx, SA_INDEX_REBUILT));
    sa_index_meta before = recorded(fx);
    /* every kind of change */
    add_tracks(fx, 1000, 5);
    revector(fx, 3);
    revector(fx, 4);
    assert_int_equal(sa_store_vector_delete(fx->s, 5, PROFILE), SA_OK);
    assert_int_equal(sa_store_track_set_status(fx->s, 6, SA_TRACK_MISSING, NULL), SA_OK);
    assert_int_equal(sa_store_track_set_status(fx->s, 7, SA_TRACK_FAILED, "broken"), SA_OK);
    sa_library_index_report r;
    assert_int_equal(sa_library_index_check(fx->s, &r), SA_OK);
    assert_false(r.current);
    assert_non_null(strstr(r.verdict, "stale"));

    sa_index *idx = open_index(fx, SA_INDEX_UPDATED);
    expect_in_step(fx, idx);
    sa_index_meta after = recorded(fx);
    assert_int_equal(after.count, 202);
    assert_int_equal(after.generation, generation(fx));
    assert_int_equal(after.built_at, before.built_at); /* caught up, not rebuilt */
    assert_string_not_equal(after.checksum, before.checksum);
    sa_index_free(idx);
    /* what was caught up was saved */
    idx = open_index(fx, SA_INDEX_LOADED);
    sa_index_free(idx);
    /* a track analysed again (same vector) changes nothing that matters, but is caught up */
    assert_int_equal(sa_store_track_set_status(fx->s, 8, SA_TRACK_PENDING, NULL), SA_OK);
    assert_int_equal(sa_store_track_set_status(fx->s, 8, SA_TRACK_ANALYZED, NULL), SA_OK);
    idx = open_index(fx, SA_INDEX_UPDATED);
    expect_in_step(fx, idx);
    sa_index_free(idx);
}

/* An approximate index is tuned at build, caught up while changes are few,
 * rebuilt when they are many, and keeps the type asked for. */
static void test_ivf_upkeep(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 3000);
    sa_index_meta m;
    sa_index *idx;
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, "ivf", fx->index, &idx, &m), SA_OK);
    assert_string_equal(m.type, "ivf");
    assert_string_equal(m.requested, "");
    assert_true(m.recall_at_10 >= 0.99);
    assert_true(m.recall_at_10 <= 1.0);
    sa_index_info info;
    assert_int_equal(sa_index_info_get(idx, &info), SA_OK);
    print_message("ivf: %d lists, nprobe %d, recall@10 %.4f\n", info.nlist, info.nprobe, m.recall_at_10);
    assert_true(info.nlist > 1);
    assert_true(info.nprobe >= 1 && info.nprobe <= info.nlist);
    sa_index_free(idx);
    sa_library_index_report r;
    assert_int_equal(sa_library_index_check(fx->s, &r), SA_OK);
    assert_true(r.current);
    assert_int_equal(r.info.nprobe, info.nprobe); /* the tuned setting is saved with it */

    add_tracks(fx, 5000, 100);
    idx = open_index(fx, SA_INDEX_UPDATED);
    expect_in_step(fx, idx);
    assert_string_equal(sa_index_type(idx), "ivf");
    sa_index_free(idx);

    for (int64_t id = 1; id <= 1700; id++) /* more than half of it */
        revector(fx, id);
    idx = open_index(fx, SA_INDEX_REBUILT);
    expect_in_step(fx, idx);
    assert_string_equal(sa_index_type(idx), "ivf");
    m = recorded(fx);
    assert_true(m.recall_at_10 >= 0.99);
    sa_index_free(idx);
}

/* HNSW cannot delete: removed vectors stay, filtered, until they pass a fifth of it. */
static void test_hnsw_dead_share(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 1000);
    sa_index *idx;
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, "hnsw", fx->index, &idx, NULL), SA_OK);
    sa_index_free(idx);
    for (int64_t id = 1; id <= 100; id++)
        assert_int_equal(sa_store_track_set_status(fx->s, id, SA_TRACK_MISSING, NULL), SA_OK);
    idx = open_index(fx, SA_INDEX_UPDATED);
    expect_in_step(fx, idx);
    sa_index_info info;
    assert_int_equal(sa_index_info_get(idx, &info), SA_OK);
    assert_int_equal(info.count, 900);
    assert_int_equal(info.stored, 1000);
    sa_index_free(idx);
    for (int64_t id = 101; id <= 250; id++)
        assert_int_equal(sa_store_track_set_status(fx->s, id, SA_TRACK_MISSING, NULL), SA_OK);
    idx = open_index(fx, SA_INDEX_REBUILT);
    assert_string_equal(sa_index_type(idx), "hnsw");
    assert_int_equal(sa_index_info_get(idx, &info), SA_OK);
    assert_int_equal(info.stored, 750);
    expect_in_step(fx, idx);
    sa_index_free(idx);
}

/* A file that cannot be trusted is detected, reported and rebuilt. */
static void test_untrusted_files(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 100);
    sa_index_free(open_index(fx, SA_INDEX_REBUILT));
    /* corrupt */
    FILE *f = fopen(fx->index, "r+b");
    assert_non_null(f);
    fseek(f, 80, SEEK_SET);
    fputs("corrupt", f);
    fclose(f);
    sa_library_index_report r;
    assert_int_equal(sa_library_index_check(fx->s, &r), SA_OK);
    assert_true(r.recorded);
    assert_false(r.loaded);
    assert_false(r.current);
    assert_non_null(strstr(r.verdict, "checksum"));
    sa_index_free(open_index(fx, SA_INDEX_REBUILT));
    /* missing */
    assert_int_equal(remove(fx->index), 0);
    sa_index_free(open_index(fx, SA_INDEX_REBUILT));
    /* a valid file holding other vectors than the store, recorded as if it matched */
    sa_index *idx = open_index(fx, SA_INDEX_LOADED);
    assert_int_equal(sa_index_remove(idx, 10), SA_OK);
    sa_index_meta m = recorded(fx);
    assert_int_equal(sa_index_save(idx, fx->index, m.checksum), SA_OK);
    m.count = 99;
    assert_int_equal(sa_store_index_meta_put(fx->s, &m), SA_OK);
    sa_index_free(idx);
    assert_int_equal(sa_library_index_check(fx->s, &r), SA_OK);
    assert_true(r.loaded);
    assert_false(r.current);
    assert_string_equal(r.verdict, "track 10 is stored but not indexed");
    /* a record newer than the store (a store restored from a backup) */
    sa_index_free(open_index(fx, SA_INDEX_LOADED)); /* its checksum matches: trusted by open */
    m.generation = generation(fx) + 5;
    assert_int_equal(sa_store_index_meta_put(fx->s, &m), SA_OK);
    idx = open_index(fx, SA_INDEX_REBUILT);
    expect_in_step(fx, idx);
    sa_index_free(idx);
    /* a wrong profile name is an error, not a rebuild */
    assert_int_equal(sa_library_index_open(fx->s, "no such profile", fx->index, &idx, NULL), SA_ERR_INVALID);
}

static void test_rebuild_keeps_asked_type(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 500);
    sa_index *idx;
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, "IVF8,Flat", fx->index, &idx, NULL), SA_OK);
    sa_index_meta m = recorded(fx);
    assert_true(m.recall_at_10 > 0 && m.recall_at_10 <= 1); /* a factory string is measured, not tuned */
    sa_index_free(idx);
    assert_int_equal(remove(fx->index), 0);
    idx = open_index(fx, SA_INDEX_REBUILT);
    assert_string_equal(sa_index_type(idx), "IVF8,Flat");
    sa_index_free(idx);
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, "auto", fx->index, &idx, NULL), SA_OK);
    sa_index_free(idx);
    assert_int_equal(remove(fx->index), 0);
    idx = open_index(fx, SA_INDEX_REBUILT);
    assert_string_equal(sa_index_type(idx), "flat");
    assert_string_equal(recorded(fx).requested, "auto");
    sa_index_free(idx);
    /* a type FAISS rejects fails the build and leaves the record alone */
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, "IVF8,Bogus", fx->index, &idx, NULL), SA_ERR_INVALID);
    assert_string_equal(recorded(fx).requested, "auto");
    /* a type the record cannot hold whole is refused, not cut short */
    char long_type[80];
    memset(long_type, 'x', sizeof long_type - 1);
    long_type[sizeof long_type - 1] = '\0';
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, long_type, fx->index, &idx, NULL), SA_ERR_INVALID);
    assert_non_null(strstr(sa_error_detail(), "too long"));
    assert_string_equal(recorded(fx).requested, "auto");
}

/* A path the record cannot hold whole is refused: recorded cut short, the
 * file would never match its record and every open would rebuild. */
static void test_path_too_long(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 50);
    char path[1200]; /* a valid path: dir/./././.../lib.index */
    size_t n = (size_t)snprintf(path, sizeof path, "%s", fx->dir);
    while (n < 1100)
        n += (size_t)snprintf(path + n, sizeof path - n, "/.");
    snprintf(path + n, sizeof path - n, "/lib.index");
    sa_index *idx = NULL;
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, "flat", path, &idx, NULL), SA_ERR_INVALID);
    assert_null(idx);
    assert_non_null(strstr(sa_error_detail(), "too long"));
    sa_index_meta m;
    assert_int_equal(sa_store_index_meta_get(fx->s, "music_library", &m), SA_ERR_NOT_FOUND);
}

static void test_check_without_index(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 3);
    sa_library_index_report r;
    assert_int_equal(sa_library_index_check(fx->s, &r), SA_OK);
    assert_false(r.recorded);
    assert_false(r.current);
    assert_int_equal(r.total_files, 3);
    assert_int_equal(r.analyzed_files, 3);
    assert_string_equal(r.verdict, "no index recorded");
}

/* A rebuild builds aside: a reader of the old index keeps its answers
 * while the store changes and a new index is built and saved over its file. */
typedef struct old_reader {
    const sa_index *idx;
    const float *query;
    sa_hit first[10];
    atomic_int stop;
    int same; /* every answer equalled the first */
} old_reader;

static void *old_reader_main(void *arg) {
    old_reader *r = arg;
    r->same = 1;
    while (!atomic_load(&r->stop)) {
        sa_hit hits[10];
        size_t n;
        if (sa_index_search(r->idx, r->query, 10, NULL, 0, hits, &n) != SA_OK || n != 10)
            r->same = 0;
        for (size_t i = 0; i < n; i++)
            if (hits[i].id != r->first[i].id || hits[i].score != r->first[i].score)
                r->same = 0;
    }
    return NULL;
}

static void test_rebuild_aside(void **state) {
    fixture *fx = *state;
    add_tracks(fx, 0, 2000);
    sa_index *old = open_index(fx, SA_INDEX_REBUILT);
    float q[DIM];
    clustered(fx, q);
    old_reader r = {.idx = old, .query = q};
    size_t n;
    assert_int_equal(sa_index_search(old, q, 10, NULL, 0, r.first, &n), SA_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, old_reader_main, &r), 0);
    for (int64_t id = 1; id <= 1500; id++) /* most of the library changes */
        revector(fx, id);
    sa_index *fresh;
    assert_int_equal(sa_library_index_build(fx->s, PROFILE, "ivf", fx->index, &fresh, NULL), SA_OK);
    atomic_store(&r.stop, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(r.same);
    assert_int_equal(sa_index_count(old), 2000);
    expect_in_step(fx, fresh);
    sa_index_free(old);
    sa_index_free(fresh);
}

int main(void) {
    sa_index_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changes_since, setup, teardown),
        cmocka_unit_test(test_auto_type),
        cmocka_unit_test(test_rebuild_type),
        cmocka_unit_test_setup_teardown(test_build_then_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ivf_upkeep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hnsw_dead_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_asked_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_without_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_aside, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_store_query.c: sa_store_tracks_query: filters on file tags and stored features, order, paging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "soundalike/store.h"
#include "testutil.h"

enum { N = 12 };

typedef struct fixture {
    char dir[256];
    char db[320];
    sa_store *s;
} fixture;

/* Track i: artist "Artist <i % 3>", bpm 80 + 10 i (none for i = 11), key C# for even i
 * and A otherwise, minor when i % 4 == 0; tag i % 5 is its strongest tag, tag 7 its second. */
static void add_track(sa_store *s, int i) {
    char path[64], artist[32];
    snprintf(path, sizeof path, "/music/%c%02d.mp3", 'a' + (i * 5) % N, i);
    snprintf(artist, sizeof artist, "Artist %d", i % 3);
    sa_track t = {.path = path, .status = i == 3 ? SA_TRACK_FAILED : SA_TRACK_ANALYZED, .artist = artist,
                  .album = i < 6 ? "Early Works" : NULL, .duration_s = 100 + i, .title = i == 5 ? "zebra" : NULL};
    int64_t id;
    assert_int_equal(sa_store_track_put(s, &t, &id), SA_OK);
    sa_features f = {0};
    sa_feature_group *g;
    if (i != 11) {
        assert_int_equal(sa_features_group(&f, "rhythm", 1, &g), SA_OK);
        assert_int_equal(sa_features_set_scalar(g, "bpm", 80.0f + 10.0f * (float)i), SA_OK);
    }
    assert_int_equal(sa_features_group(&f, "tonal", 1, &g), SA_OK);
    assert_int_equal(sa_features_set_text(g, "key", i % 2 ? "A" : "C#"), SA_OK);
    assert_int_equal(sa_features_set_text(g, "scale", i % 4 ? "major" : "minor"), SA_OK);
    assert_int_equal(sa_features_group(&f, "musicnn", 1, &g), SA_OK);
    float tags[50];
    for (int k = 0; k < 50; k++)
        tags[k] = 0.01f * (float)(k % 3);
    tags[i % 5] = 0.9f;
    tags[7] = 0.5f;
    assert_int_equal(sa_features_set(g, "tags", tags, 50), SA_OK);
    for (size_t k = 0; k < f.count; k++)
        assert_int_equal(sa_store_features_put(s, id, &f.groups[k]), SA_OK);
    sa_features_clear(&f);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx || !tu_tempdir(fx->dir, sizeof fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->db, sizeof fx->db, "%s/store.db", fx->dir);
    if (sa_store_open(fx->db, &fx->s) != SA_OK) {
        fprintf(stderr, "open %s: %s\n", fx->db, sa_error_detail());
        tu_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    for (int i = 0; i < N; i++)
        add_track(fx->s, i);
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

typedef struct seen {
    int64_t ids[N];
    char paths[N][64];
    int n;
} seen;

static int collect(const sa_track *t, void *ctx) {
    seen *s = ctx;
    s->ids[s->n] = t->id;
    snprintf(s->paths[s->n], sizeof s->paths[0], "%s", t->path);
    s->n++;
    return 0;
}

static seen run(fixture *fx, const sa_track_query *q, int64_t *total) {
    seen s = {.n = 0};
    assert_int_equal(sa_store_tracks_query(fx->s, q, collect, &s, total), SA_OK);
    return s;
}

static void test_everything_by_id(void **state) {
    fixture *fx = *state;
    sa_track_query q = {0};
    int64_t total;
    seen s = run(fx, &q, &total);
    assert_int_equal(total, N);
    assert_int_equal(s.n, N);
    for (int i = 1; i < N; i++)
        assert_true(s.ids[i] > s.ids[i - 1]);
    q.descending = 1;
    s = run(fx, &q, &total);
    for (int i = 1; i < N; i++)
        assert_true(s.ids[i] < s.ids[i - 1]);
}

static void test_paging(void **state) {
    fixture *fx = *state;
    sa_track_query q = {.limit = 5, .offset = 10};
    int64_t total;
    seen s = run(fx, &q, &total);
    assert_int_equal(total, N); /* the total ignores the page */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ids[0], 11);
    q.offset = 100;
    s = run(fx, &q, &total);
    assert_int_equal(s.n, 0);
    assert_int_equal(total, N);
}

static void test_filters(void **state) {
    fixture *fx = *state;
    int64_t total;
    sa_track_query q = {.statuses = 1u << SA_TRACK_FAILED};
    seen s = run(fx, &q, &total);
    assert_int_equal(total, 1);
    assert_int_equal(s.ids[0], 4); /* track 3 */
    q = (sa_track_query){.artist = "artist 1"}; /* any case */
    s = run(fx, &q, &total);
    assert_int_equal(total, 4); /* 1, 4, 7, 10 */
    q = (sa_track_query){.text = "ZEBRA"};
    s = run(fx, &q, &total);
    assert_int_equal(total, 1);
    q = (sa_track_query){.text = "early"};
    s = run(fx, &q, &total);
    assert_int_equal(total, 6);
    q = (sa_track_query){.bpm_min = 100, .bpm_max = 130};
    s = run(fx, &q, &total);
    assert_int_equal(total, 4); /* 2, 3, 4, 5 */
    q = (sa_track_query){.key = "C#", .scale = "minor"};
    s = run(fx, &q, &total);
    assert_int_equal(total, 3); /* 0, 4, 8 */
    q = (sa_track_query){.tag = 7, .tag_rank = 2}; /* second for everyone */
    s = run(fx, &q, &total);
    assert_int_equal(total, N);
    q = (sa_track_query){.tag = 7, .tag_rank = 1};
    s = run(fx, &q, &total);
    assert_int_equal(total, 0);
    q = (sa_track_query){.tag = 2, .tag_rank = 1}; /* strongest for 2 and 7 */
    s = run(fx, &q, &total);
    assert_int_equal(total, 2);
    /* a value with SQL in it is only a value */
    q = (sa_track_query){.artist = "' OR 1=1 --"};
    s = run(fx, &q, &total);
    assert_int_equal(total, 0);
}

static void test_order(void **state) {
    fixture *fx = *state;
    int64_t total;
    sa_track_query q = {.order = SA_ORDER_BPM, .descending = 1};
    seen s = run(fx, &q, &total);
    assert_int_equal(s.n, N);
    assert_int_equal(s.ids[0], 11);     /* track 10: 180 BPM */
    assert_int_equal(s.ids[N - 1], 12); /* track 11 has no tempo: last */
    q = (sa_track_query){.order = SA_ORDER_PATH};
    s = run(fx, &q, &total);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(s.paths[i - 1], s.paths[i]) < 0);
    q = (sa_track_query){.order = SA_ORDER_DURATION, .descending = 1, .limit = 1};
    s = run(fx, &q, &total);
    assert_int_equal(s.ids[0], N);
}

static void test_bad_query(void **state) {
    fixture *fx = *state;
    seen s = {.n = 0};
    sa_track_query q = {.order = (sa_track_order)99};
    assert_int_equal(sa_store_tracks_query(fx->s, &q, collect, &s, NULL), SA_ERR_INVALID);
    q = (sa_track_query){.tag = -1, .tag_rank = 3};
    assert_int_equal(sa_store_tracks_query(fx->s, &q, collect, &s, NULL), SA_ERR_INVALID);
    assert_int_equal(sa_store_tracks_query(fx->s, NULL, collect, &s, NULL), SA_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_everything_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_query, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

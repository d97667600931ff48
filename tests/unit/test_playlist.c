/* test_playlist.c: similar tracks over a real library: scanning, the analysis pool and index upkeep on real audio. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "soundalike/descriptors.h"
#include "soundalike/library.h"
#include "soundalike/playlist.h"
#include "soundalike/profile.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    char music[300];
    char db[300];
    sa_store *s;
} fixture;

static const char *const clips[] = {
    "corpus/annotated/essentia-audio/recorded/hiphop.mp3",
    "corpus/annotated/essentia-audio/recorded/dubstep.ogg",
    "corpus/annotated/essentia-audio/recorded/flamenco.flac",
    "corpus/annotated/essentia-audio/recorded/techno_loop.mp3",
    "models/musicnn/examples/joram-moments_of_clarity-08-solipsism-59-88.mp3",
};
enum { N_CLIPS = sizeof clips / sizeof clips[0] };

static void copy_clip(const fixture *fx, int i, const char *name) {
    char src[512], dst[600];
    tu_shared_path(src, sizeof src, clips[i]);
    snprintf(dst, sizeof dst, "%s/%s", fx->music, name);
    assert_int_equal(tu_copy_file(src, dst, 0), 0);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_non_null(tu_tempdir(fx->dir, sizeof fx->dir));
    snprintf(fx->music, sizeof fx->music, "%s/music", fx->dir);
    snprintf(fx->db, sizeof fx->db, "%s/library.db", fx->dir);
    assert_int_equal(mkdir(fx->music, 0755), 0);
    for (int i = 0; i < N_CLIPS; i++) {
        char name[32];
        snprintf(name, sizeof name, "clip%d%s", i, strrchr(clips[i], '.'));
        copy_clip(fx, i, name);
    }
    copy_clip(fx, 0, "duplicate of clip0.mp3");
    copy_clip(fx, 2, "flac data.bin");
    char path[600];
    snprintf(path, sizeof path, "%s/words.mp3", fx->music);
    assert_int_equal(tu_write_file(path, "not audio\n", 10), 0);
    snprintf(path, sizeof path, "%s/loop", fx->music);
    assert_int_equal(symlink(fx->music, path), 0);
    assert_int_equal(sa_store_open(fx->db, &fx->s), SA_OK);
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

static void scan(fixture *fx, sa_scan_report *r) {
    const char *roots[] = {fx->music};
    assert_int_equal(sa_library_scan(fx->s, roots, 1, r), SA_OK);
}

static void analyze(fixture *fx, sa_analysis_progress *p) {
    const sa_analyzer *list[] = {sa_loudness_analyzer(), sa_rhythm_analyzer(), sa_tonal_analyzer()};
    sa_analyze_options o = {.jobs = 2, .analyzers = list, .n_analyzers = 3};
    assert_int_equal(sa_library_analyze(fx->s, &o, p), SA_OK);
}

static void test_scan_and_rescan(void **state) {
    fixture *fx = *state;
    sa_scan_report r;
    scan(fx, &r);
    assert_int_equal(r.added, N_CLIPS + 2); /* + the duplicate and the FLAC named .bin */
    assert_int_equal(r.failed, 1);          /* words.mp3 */
    assert_int_equal(r.missing, 0);
    scan(fx, &r);
    assert_int_equal(r.added + r.changed + r.missing, 0);
    assert_int_equal(r.unchanged, N_CLIPS + 3);

    char path[600];
    snprintf(path, sizeof path, "%s/clip1.ogg", fx->music);
    assert_int_equal(unlink(path), 0);
    scan(fx, &r);
    assert_int_equal(r.missing, 1);
    sa_track t = {0};
    assert_int_equal(sa_store_track_by_path(fx->s, path, &t), SA_OK);
    assert_int_equal(t.status, SA_TRACK_MISSING);
    sa_track_clear(&t);
    copy_clip(fx, 1, "clip1.ogg"); /* back, but a new mtime: changed */
    scan(fx, &r);
    assert_int_equal(r.changed, 1);

    const char *bad[] = {"/nonexistent/folder"};
    assert_int_equal(sa_library_scan(fx->s, bad, 1, &r), SA_ERR_NOT_FOUND);
}

static void test_analyze_vectors_and_similar(void **state) {
    fixture *fx = *state;
    sa_scan_report r;
    scan(fx, &r);
    sa_analysis_progress p;
    analyze(fx, &p);
    assert_int_equal(p.total, N_CLIPS + 2);
    assert_int_equal(p.failed, 0);
    assert_true(p.audio_s > 60);
    analyze(fx, &p);
    assert_int_equal(p.total, 0); /* nothing left to do */

    /* vectors built by older profiles are rebuilt from the stored features, without decoding */
    sa_features old = {0};
    sa_feature_group *marker;
    assert_int_equal(sa_features_group(&old, "profiles", SA_PROFILES_VERSION - 1, &marker), SA_OK);
    assert_int_equal(sa_store_features_put(fx->s, 2, marker), SA_OK);
    assert_int_equal(sa_store_vector_delete(fx->s, 2, "descriptors"), SA_OK);
    sa_features_clear(&old);
    analyze(fx, &p);
    assert_int_equal(p.total, 0);
    float v[17];
    assert_int_equal(sa_store_vector_get(fx->s, 2, "descriptors", v, 17), SA_OK);

    const char *profile;
    assert_int_equal(sa_library_profile(fx->s, &profile), SA_OK);
    assert_string_equal(profile, "descriptors");
    char ipath[400];
    assert_int_equal(sa_library_index_path(fx->db, profile, ipath, sizeof ipath), SA_OK);
    sa_index *idx;
    int rebuilt;
    assert_int_equal(sa_library_index_open(fx->s, profile, ipath, &idx, &rebuilt), SA_OK);
    assert_int_equal(rebuilt, SA_INDEX_REBUILT); /* none yet */
    assert_int_equal(sa_index_count(idx), N_CLIPS + 2);
    sa_index_free(idx);
    assert_int_equal(sa_library_index_open(fx->s, profile, ipath, &idx, &rebuilt), SA_OK);
    assert_int_equal(rebuilt, SA_INDEX_LOADED); /* up to date: loaded, not rebuilt */

    char q[600];
    snprintf(q, sizeof q, "%s/clip0.mp3", fx->music);
    sa_track t = {0};
    assert_int_equal(sa_store_track_by_path(fx->s, q, &t), SA_OK);
    sa_playlist pl = {0};
    assert_int_equal(sa_playlist_similar(fx->s, idx, profile, t.id, 20, &pl), SA_OK);
    assert_int_equal(pl.count, N_CLIPS); /* all but itself and its duplicate */
    for (size_t i = 0; i < pl.count; i++) {
        assert_true(pl.items[i].id != t.id);
        assert_null(strstr(pl.items[i].path, "duplicate"));
        assert_true(pl.items[i].similarity <= 1.0001f && pl.items[i].similarity >= -1.0001f);
        if (i)
            assert_true(pl.items[i].similarity <= pl.items[i - 1].similarity);
    }
    sa_playlist_stats st;
    sa_playlist_summarise(&pl, &st);
    assert_float_equal(st.max, pl.items[0].similarity, 0);
    assert_float_equal(st.range, st.max - st.min, 1e-6f);
    sa_playlist_clear(&pl);
    sa_track_clear(&t);
    sa_index_free(idx);

    /* a corrupt file is detected and rebuilt */
    FILE *f = fopen(ipath, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 64, SEEK_SET), 0);
    assert_true(fputs("corrupt", f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(sa_library_index_open(fx->s, profile, ipath, &idx, &rebuilt), SA_OK);
    assert_int_equal(rebuilt, SA_INDEX_REBUILT);
    sa_index_free(idx);
    /* a re-analysed track makes it stale */
    assert_int_equal(sa_store_track_set_status(fx->s, 1, SA_TRACK_PENDING, NULL), SA_OK);
    analyze(fx, &p);
    assert_int_equal(p.total, 1);
    assert_int_equal(sa_library_index_open(fx->s, profile, ipath, &idx, &rebuilt), SA_OK);
    assert_int_equal(rebuilt, SA_INDEX_UPDATED); /* caught up with the one changed vector */
    sa_index_free(idx);
}

static void test_failures_are_recorded(void **state) {
    fixture *fx = *state;
    char path[600];
    snprintf(path, sizeof path, "%s/clip2.flac", fx->music);
    sa_scan_report r;
    scan(fx, &r);
    /* the file turns bad after the scan: analysis records why and goes on */
    assert_int_equal(truncate(path, 10), 0);
    sa_analysis_progress p;
    analyze(fx, &p);
    assert_int_equal(p.failed, 1);
    assert_int_equal(p.done, N_CLIPS + 2);
    sa_track t = {0};
    assert_int_equal(sa_store_track_by_path(fx->s, path, &t), SA_OK);
    assert_int_equal(t.status, SA_TRACK_FAILED);
    assert_non_null(t.error);
    assert_true(strlen(t.error) > 5);
    sa_track_clear(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scan_and_rescan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_analyze_vectors_and_similar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_are_recorded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* analysis_files.h: helpers of the analysis tests: one analyzer on a file of the shared corpus, bad input. */
#ifndef SOUNDALIKE_TEST_ANALYSIS_FILES_H
#define SOUNDALIKE_TEST_ANALYSIS_FILES_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "soundalike/pipeline.h"
#include "testutil.h"

/* The path of shared/rel in path; 0 (saying so) when the file is absent
 * because the annotated corpus is, so that a test skips it. A file absent
 * from a corpus that is there fails the test: a wrong or stale path must
 * not pass as a skip. */
static inline int af_shared_file(const char *rel, char *path, size_t cap) {
    tu_shared_path(path, cap, rel);
    FILE *probe = fopen(path, "rb");
    if (probe) {
        fclose(probe);
        return 1;
    }
    char corpus[4096];
    tu_shared_path(corpus, sizeof corpus, "corpus/annotated");
    DIR *dir = opendir(corpus);
    if (dir) {
        closedir(dir);
        fail_msg("%s is absent from the corpus at %s", path, corpus);
    }
    print_message("skipped: %s is absent\n", path);
    return 0;
}

/* Decodes shared/rel through the pipeline with analyzer a into f; returns 0
 * when the file is absent (af_shared_file), so that a test skips it. */
static inline int af_analyse_file(const char *rel, const sa_analyzer *a, sa_features *f) {
    char path[4096];
    if (!af_shared_file(rel, path, sizeof path))
        return 0;
    const sa_analyzer *list[] = {a};
    sa_err err = sa_pipeline_run(path, list, 1, f, NULL, NULL);
    if (err)
        print_message("%s: %s\n", path, sa_error_detail());
    assert_int_equal(err, SA_OK);
    return 1;
}

/* Streams n mono samples of x at rate through analyzer a, in blocks of at
 * most block frames (uneven sizes test the carry-over), as from a stereo
 * file at native_rate; the result goes into f. */
static inline void af_run_blocks(const sa_analyzer *a, int native_rate, const float *x, size_t n, int rate,
                                 size_t block, sa_features *f) {
    sa_stream_info info = {.native_rate = native_rate, .channels = 2, .duration_s = (double)n / rate};
    void *state = NULL;
    assert_int_equal(a->start(a->config, &info, &state), SA_OK);
    for (size_t at = 0; at < n;) {
        size_t frames = n - at < block ? n - at : block;
        sa_audio_block b = {.mono = x + at, .frames = frames, .channels = 1, .rate = rate};
        assert_int_equal(a->feed(state, &b), SA_OK);
        at += frames;
    }
    assert_int_equal(a->finish(state, f), SA_OK);
    a->free(state);
}

/* An analyzer named name refuses a block at a sample rate it did not ask
 * for, saying which rate it got, and a block at its rate without mono
 * audio, saying so. */
static inline void af_expect_wrong_rate_refused(const sa_analyzer *a, const char *name, int wrong_rate) {
    assert_string_equal(a->name, name);
    sa_stream_info info = {.native_rate = 44100, .channels = 1};
    void *st = NULL;
    assert_int_equal(a->start(a->config, &info, &st), SA_OK);
    float buf[16] = {0};
    sa_audio_block no_mono = {.interleaved = buf, .frames = 16, .channels = 1,
                              .rate = a->rate ? a->rate : info.native_rate};
    assert_int_equal(a->feed(st, &no_mono), SA_ERR_INVALID);
    if (!strstr(sa_error_detail(), "without mono") && !strstr(sa_error_detail(), "without it"))
        fail_msg("%s: the error \"%s\" should say the block has no mono audio", name, sa_error_detail());
    sa_audio_block b = {.mono = buf, .frames = 16, .channels = 1, .rate = wrong_rate};
    assert_int_equal(a->feed(st, &b), SA_ERR_INVALID);
    char got[32];
    snprintf(got, sizeof got, "%d Hz", wrong_rate);
    if (!strstr(sa_error_detail(), got))
        fail_msg("%s: the error \"%s\" should say %s", name, sa_error_detail(), got);
    a->free(st);
    a->free(NULL);
}

#endif

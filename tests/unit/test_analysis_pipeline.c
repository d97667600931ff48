/* test_analysis_pipeline.c: what the pipeline streams to an analyzer at the native rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "analysis_files.h"
#include "soundalike/pipeline.h"

/* Counts the frames it is given and those whose mono sample is not the
 * average of the channels, bit for bit. */
typedef struct checker {
    int channels;
    size_t frames, wrong;
} checker;

static sa_err checker_start(void *config, const sa_stream_info *info, void **state) {
    (void)config;
    checker *c = calloc(1, sizeof *c);
    if (!c)
        return SA_ERR_NOMEM;
    c->channels = info->channels;
    *state = c;
    return SA_OK;
}

static sa_err checker_feed(void *state, const sa_audio_block *block) {
    checker *c = state;
    for (size_t i = 0; i < block->frames; i++) {
        const float *f = block->interleaved + i * (size_t)c->channels;
        float expected = c->channels == 1 ? f[0] : (f[0] + f[1]) * 0.5f;
        c->wrong += block->mono[i] != expected;
    }
    c->frames += block->frames;
    return SA_OK;
}

static sa_err checker_finish(void *state, sa_features *features) {
    checker *c = state;
    sa_feature_group *g;
    sa_err err = sa_features_group(features, "checker", 1, &g);
    if (!err)
        err = sa_features_set_scalar(g, "frames", (float)c->frames);
    if (!err)
        err = sa_features_set_scalar(g, "wrong", (float)c->wrong);
    if (!err)
        err = sa_features_set_scalar(g, "channels", (float)c->channels);
    return err;
}

static const sa_analyzer checker_analyzer = {
    .name = "checker",
    .version = 1,
    .rate = 0,
    .start = checker_start,
    .feed = checker_feed,
    .finish = checker_finish,
    .free = free,
};

/* The mono stream is the average of the two channels of a stereo file,
 * and the channel itself for a mono file, on every frame. */
static void test_mono_is_the_average(void **state) {
    (void)state;
    const struct {
        const char *rel;
        int channels;
    } files[] = {
        {"corpus/annotated/essentia-audio/recorded/dubstep.flac", 2},
        {"corpus/annotated/essentia-audio/recorded/359500__mtg__sax-tenor-e-major.wav", 1},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        if (!af_shared_file(files[i].rel, path, sizeof path))
            continue;
        const sa_analyzer *list[] = {&checker_analyzer};
        sa_features f = {0};
        sa_pipeline_result res = {0};
        assert_int_equal(sa_pipeline_run(path, list, 1, &f, NULL, &res), SA_OK);
        float frames, wrong, channels;
        assert_int_equal(sa_features_scalar(&f, "checker", "frames", &frames), SA_OK);
        assert_int_equal(sa_features_scalar(&f, "checker", "wrong", &wrong), SA_OK);
        assert_int_equal(sa_features_scalar(&f, "checker", "channels", &channels), SA_OK);
        assert_int_equal((int)channels, files[i].channels);
        assert_true(frames > 1000.0f);
        assert_float_equal(wrong, 0.0f, 0.0f);
        sa_features_clear(&f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono_is_the_average),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_analysis_pipeline.c: what the pipeline streams to an analyzer at the native rate, and which
 * resampled streams analyzers share. */
#include <math.h>
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
        sa_audio_info info = {0};
        assert_int_equal(sa_pipeline_run(path, list, 1, &f, &info, &res), SA_OK);
        float frames, wrong, channels;
        assert_int_equal(sa_features_scalar(&f, "checker", "frames", &frames), SA_OK);
        assert_int_equal(sa_features_scalar(&f, "checker", "wrong", &wrong), SA_OK);
        assert_int_equal(sa_features_scalar(&f, "checker", "channels", &channels), SA_OK);
        assert_int_equal((int)channels, files[i].channels);
        assert_true(frames > 1000.0f);
        assert_float_equal(frames, res.decoded_s * info.sample_rate, 1.0); /* every decoded frame came */
        assert_float_equal(wrong, 0.0f, 0.0f);
        sa_audio_info_clear(&info);
        sa_features_clear(&f);
    }
}

/* Sums the mono samples and their squares it is given, into the feature
 * group its config names. */
typedef struct summer {
    const char *group;
    double sum, squares, frames;
} summer;

static sa_err summer_start(void *config, const sa_stream_info *info, void **state) {
    (void)info;
    summer *m = calloc(1, sizeof *m);
    if (!m)
        return SA_ERR_NOMEM;
    m->group = config;
    *state = m;
    return SA_OK;
}

static sa_err summer_feed(void *state, const sa_audio_block *block) {
    summer *m = state;
    for (size_t i = 0; i < block->frames; i++) {
        m->sum += block->mono[i];
        m->squares += (double)block->mono[i] * block->mono[i];
    }
    m->frames += (double)block->frames;
    return SA_OK;
}

static sa_err summer_finish(void *state, sa_features *features) {
    summer *m = state;
    sa_feature_group *g;
    sa_err err = sa_features_group(features, m->group, 1, &g);
    const float values[3] = {(float)m->sum, (float)m->squares, (float)m->frames};
    return err ? err : sa_features_set(g, "sums", values, 3);
}

/* At one rate, analyzers of one quality share a stream and those of
 * another get their own: two BEST ones see the same samples bit for bit,
 * a FAST one as many samples but filtered otherwise. */
static void test_streams_by_quality(void **state) {
    (void)state;
    char path[4096];
    if (!af_shared_file("corpus/annotated/essentia-audio/recorded/techno_loop.mp3", path, sizeof path))
        return;
    static const char *const groups[] = {"fast", "best", "best_too"};
    static const sa_resample_quality quality[] = {SA_RESAMPLE_FAST, SA_RESAMPLE_BEST, SA_RESAMPLE_BEST};
    sa_analyzer an[3];
    const sa_analyzer *list[3];
    for (int i = 0; i < 3; i++) {
        an[i] = (sa_analyzer){.name = groups[i], .version = 1, .rate = 22050, .quality = quality[i],
                              .start = summer_start, .feed = summer_feed, .finish = summer_finish,
                              .free = free, .config = (void *)groups[i]};
        list[i] = &an[i];
    }
    sa_features f = {0};
    assert_int_equal(sa_pipeline_run(path, list, 3, &f, NULL, NULL), SA_OK);
    const sa_feature *sums[3];
    for (int i = 0; i < 3; i++) {
        sums[i] = sa_features_get(&f, groups[i], "sums");
        assert_non_null(sums[i]);
        assert_int_equal(sums[i]->count, 3);
    }
    for (int k = 0; k < 3; k++) /* shared: the very same samples */
        assert_true(sums[1]->values[k] == sums[2]->values[k]);
    assert_true(sums[0]->values[1] != sums[1]->values[1]); /* another filter */
    assert_float_equal(sums[0]->values[1], sums[1]->values[1], 0.01 * sums[1]->values[1]); /* the same sound */
    assert_float_equal(sums[0]->values[2], sums[1]->values[2], 64.0); /* as many samples, to a filter's delay */
    sa_features_clear(&f);
}

/* An analyzer whose feed fails with the detail its config gives. */
static sa_err failer_start(void *config, const sa_stream_info *info, void **state) {
    (void)info;
    *state = config;
    return SA_OK;
}

static sa_err failer_feed(void *state, const sa_audio_block *block) {
    (void)block;
    return sa_error_set(SA_ERR_FORMAT, "%s", (const char *)state);
}

static sa_err failer_finish(void *state, sa_features *features) {
    (void)state;
    (void)features;
    return SA_OK;
}

static void failer_free(void *state) { (void)state; }

/* An analyzer's error reaches the caller with the analyzer's name before
 * its detail once, whether the analyzer named itself or not, from the
 * native stream and from a resampled one. */
static void test_error_names_the_analyzer(void **state) {
    (void)state;
    char path[4096];
    if (!af_shared_file("corpus/annotated/essentia-audio/recorded/dubstep.flac", path, sizeof path))
        return;
    static const char *const details[] = {"bad block", "failer: bad block"};
    static const int rates[] = {0, 22050};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (size_t d = 0; d < sizeof details / sizeof details[0]; d++) {
            const sa_analyzer failer = {.name = "failer", .version = 1, .rate = rates[r], .start = failer_start,
                                        .feed = failer_feed, .finish = failer_finish, .free = failer_free,
                                        .config = (void *)details[d]};
            const sa_analyzer *list[] = {&checker_analyzer, &failer};
            sa_features f = {0};
            assert_int_equal(sa_pipeline_run(path, list, 2, &f, NULL, NULL), SA_ERR_FORMAT);
            assert_string_equal(sa_error_detail(), "failer: bad block");
            sa_features_clear(&f);
        }
}

static sa_err nan_finish(void *state, sa_features *features) {
    (void)state;
    sa_feature_group *g;
    sa_err err = sa_features_group(features, "nan", 1, &g);
    return err ? err : sa_features_set_scalar(g, "value", NAN);
}

/* An analyzer that measures a non-finite value fails the file, with an
 * error naming the analyzer and the feature: the library then records the
 * track as failed and goes on, as for any other bad file. */
static void test_non_finite_fails_the_file(void **state) {
    (void)state;
    char path[4096];
    if (!af_shared_file("corpus/annotated/essentia-audio/recorded/dubstep.flac", path, sizeof path))
        return;
    sa_analyzer nan = checker_analyzer;
    nan.name = "nan";
    nan.finish = nan_finish;
    const sa_analyzer *list[] = {&nan};
    sa_features f = {0};
    assert_int_equal(sa_pipeline_run(path, list, 1, &f, NULL, NULL), SA_ERR_INVALID);
    assert_string_equal(sa_error_detail(), "nan: feature nan.value: a non-finite value at 0");
    sa_features_clear(&f);
}

/* Analyzers asking for more streams than the pipeline keeps are refused
 * before any decoding, naming the one that asked. */
static void test_too_many_streams(void **state) {
    (void)state;
    char path[4096];
    if (!af_shared_file("corpus/annotated/essentia-audio/recorded/dubstep.flac", path, sizeof path))
        return;
    static const int rates[] = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 11000, 13000};
    enum { N = sizeof rates / sizeof rates[0] };
    sa_analyzer an[N];
    const sa_analyzer *list[N];
    for (size_t i = 0; i < N; i++) {
        an[i] = checker_analyzer;
        an[i].rate = rates[i];
        an[i].name = i + 1 == N ? "last" : "checker";
        list[i] = &an[i];
    }
    sa_features f = {0};
    assert_int_equal(sa_pipeline_run(path, list, N, &f, NULL, NULL), SA_ERR_INVALID);
    assert_string_equal(sa_error_detail(), "last: analyzers ask for more than 8 streams");
    assert_int_equal(f.count, 0);
    sa_features_clear(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono_is_the_average),
        cmocka_unit_test(test_streams_by_quality),
        cmocka_unit_test(test_error_names_the_analyzer),
        cmocka_unit_test(test_too_many_streams),
        cmocka_unit_test(test_non_finite_fails_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_analysis_loudness.c: the loudness analyzer on EBU Tech 3341/3342 signals, at both qualities. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "soundalike/descriptors.h"
#include "soundalike/pipeline.h"
#include "testutil.h"

/* A stretch of sine at a level in dBFS (peak), the same in every channel. */
typedef struct segment {
    double seconds;
    double dbfs;
} segment;

#define BLOCK 1009 /* odd on purpose: blocks never line up with 100 ms steps, nor with decimation */

/* Every case runs at the analyzer's own quality (FAST: decimated from
 * 44.1 kHz up) and at BEST (every sample). */
static const sa_resample_quality qualities[] = {SA_RESAMPLE_FAST, SA_RESAMPLE_BEST};

/* Streams the segments (a sine at hz) through the analyzer at quality q and leaves its group in f. */
static void run_segments_at(const segment *segs, size_t nseg, int rate, int channels, sa_resample_quality q,
                            double hz, sa_features *f) {
    const sa_analyzer *a = sa_loudness_analyzer();
    sa_stream_info info = {.native_rate = rate, .channels = channels, .quality = q};
    void *state = NULL;
    assert_int_equal(a->start(a->config, &info, &state), SA_OK);
    float *buf = malloc(sizeof(float) * BLOCK * (size_t)channels);
    assert_non_null(buf);
    int64_t t = 0;
    for (size_t s = 0; s < nseg; s++) {
        int64_t n = (int64_t)llround(segs[s].seconds * rate);
        float amp = (float)pow(10.0, segs[s].dbfs / 20.0);
        while (n > 0) {
            size_t frames = n < BLOCK ? (size_t)n : BLOCK;
            for (size_t i = 0; i < frames; i++) {
                float x = amp * (float)sin(2.0 * M_PI * hz * (double)(t + (int64_t)i) / rate);
                for (int c = 0; c < channels; c++)
                    buf[i * (size_t)channels + (size_t)c] = x;
            }
            sa_audio_block b = {.interleaved = buf, .frames = frames, .channels = channels, .rate = rate};
            assert_int_equal(a->feed(state, &b), SA_OK);
            t += (int64_t)frames;
            n -= (int64_t)frames;
        }
    }
    free(buf);
    assert_int_equal(a->finish(state, f), SA_OK);
    a->free(state);
}

static void run_segments(const segment *segs, size_t nseg, int rate, int channels, sa_features *f) {
    run_segments_at(segs, nseg, rate, channels, sa_loudness_analyzer()->quality, 1000.0, f);
}

static float get(const sa_features *f, const char *name) {
    float v = NAN;
    assert_int_equal(sa_features_scalar(f, "loudness", name, &v), SA_OK);
    assert_true(isfinite(v));
    return v;
}

static void expect_integrated(const segment *segs, size_t n, int rate, int channels, float lufs) {
    for (size_t q = 0; q < sizeof qualities / sizeof qualities[0]; q++) {
        sa_features f = {0};
        run_segments_at(segs, n, rate, channels, qualities[q], 1000.0, &f);
        assert_float_equal(get(&f, "integrated_lufs"), lufs, 0.1f);
        assert_float_equal(get(&f, "track_gain_db"), SA_LOUDNESS_REFERENCE_LUFS - lufs, 0.1f);
        sa_features_clear(&f);
    }
}

static void expect_range(const segment *segs, size_t n, float lu) {
    for (size_t q = 0; q < sizeof qualities / sizeof qualities[0]; q++) {
        sa_features f = {0};
        run_segments_at(segs, n, 48000, 2, qualities[q], 1000.0, &f);
        assert_float_equal(get(&f, "range_lu"), lu, 1.0f); /* Tech 3342 tolerance */
        sa_features_clear(&f);
    }
}

/* Tech 3341 cases 1 and 2: a steady stereo sine reads its own level. */
static void test_steady_sine(void **state) {
    (void)state;
    const segment s23[] = {{20, -23}}, s33[] = {{20, -33}};
    expect_integrated(s23, 1, 48000, 2, -23.0f);
    expect_integrated(s33, 1, 48000, 2, -33.0f);
    expect_integrated(s23, 1, 44100, 2, -23.0f);
}

/* Tech 3341 cases 3-5: the absolute and relative gates. */
static void test_gating(void **state) {
    (void)state;
    const segment c3[] = {{10, -36}, {60, -23}, {10, -36}};
    const segment c4[] = {{10, -72}, {10, -36}, {60, -23}, {10, -36}, {10, -72}};
    const segment c5[] = {{20, -26}, {20.1, -20}, {20, -26}};
    expect_integrated(c3, 3, 48000, 2, -23.0f);
    expect_integrated(c4, 5, 48000, 2, -23.0f);
    expect_integrated(c5, 3, 48000, 2, -23.0f);
}

/* Tech 3342 cases 1-4: loudness range. */
static void test_range(void **state) {
    (void)state;
    const segment c1[] = {{20, -20}, {20, -30}};
    const segment c2[] = {{20, -20}, {20, -15}};
    const segment c3[] = {{20, -40}, {20, -20}};
    const segment c4[] = {{20, -50}, {20, -35}, {20, -20}, {20, -35}, {20, -50}};
    expect_range(c1, 2, 10.0f);
    expect_range(c2, 2, 5.0f);
    expect_range(c3, 2, 20.0f);
    expect_range(c4, 5, 15.0f);
}

/* The analyzer's own quality decimates from 44.1 kHz up; the power of a
 * tone above the new Nyquist frequency folds into the band below instead
 * of being lost, so it measures within 0.2 LU of every sample. Rates
 * below 44.1 kHz are measured whole, and give the same as BEST. */
static void test_decimation(void **state) {
    (void)state;
    assert_int_equal(sa_loudness_analyzer()->quality, SA_RESAMPLE_FAST);
    const int rates[] = {44100, 48000, 96000, 32000};
    const double tones[] = {100.0, 3000.0, 9000.0, 15000.0};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (size_t k = 0; k < sizeof tones / sizeof tones[0]; k++) {
            if (tones[k] >= 0.45 * rates[r])
                continue;
            const segment s[] = {{5, -20}};
            sa_features fast = {0}, best = {0};
            run_segments_at(s, 1, rates[r], 2, SA_RESAMPLE_FAST, tones[k], &fast);
            run_segments_at(s, 1, rates[r], 2, SA_RESAMPLE_BEST, tones[k], &best);
            float d = get(&fast, "integrated_lufs") - get(&best, "integrated_lufs");
            if (rates[r] < 44100)
                assert_float_equal(d, 0.0f, 0.0f);
            else
                assert_float_equal(d, 0.0f, 0.2f);
            assert_float_equal(get(&fast, "sample_peak_dbfs"), get(&best, "sample_peak_dbfs"), 0.0f);
            sa_features_clear(&fast);
            sa_features_clear(&best);
        }
}

/* Through the pipeline, a 44.1 kHz stereo recording measured decimated (the
 * analyzer) and on every frame (a copy held to BEST): the stream info
 * carries the quality, and the two agree within the histogram's bins. */
static void test_pipeline_qualities(void **state) {
    (void)state;
    char path[4096];
    tu_shared_path(path, sizeof path, "corpus/annotated/essentia-audio/recorded/dubstep.wav");
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        print_message("skipped: %s is absent\n", path);
        return;
    }
    fclose(probe);
    sa_analyzer best = *sa_loudness_analyzer();
    best.quality = SA_RESAMPLE_BEST;
    const sa_analyzer *fast_list[] = {sa_loudness_analyzer()}, *best_list[] = {&best};
    sa_features fast = {0}, every = {0};
    assert_int_equal(sa_pipeline_run(path, fast_list, 1, &fast, NULL, NULL), SA_OK);
    assert_int_equal(sa_pipeline_run(path, best_list, 1, &every, NULL, NULL), SA_OK);
    /* libebur128's histogram has 0.1 LU bins: one bin for the integrated
     * loudness, two for the range (a difference of two binned percentiles) */
    assert_float_equal(get(&fast, "integrated_lufs"), get(&every, "integrated_lufs"), 0.11f);
    assert_float_equal(get(&fast, "range_lu"), get(&every, "range_lu"), 0.21f);
    assert_float_equal(get(&fast, "sample_peak_dbfs"), get(&every, "sample_peak_dbfs"), 0.0f);
    sa_features_clear(&fast);
    sa_features_clear(&every);
}

/* A mono file is as loud as its stereo copy (dual mono). */
static void test_mono_as_dual_mono(void **state) {
    (void)state;
    const segment s[] = {{10, -23}};
    expect_integrated(s, 1, 44100, 1, -23.0f);
}

static void test_peak(void **state) {
    (void)state;
    const segment s[] = {{5, -30}, {5, -6}};
    sa_features f = {0};
    run_segments(s, 2, 44100, 2, &f);
    /* 1 kHz at 44.1 kHz lands within 0.01 dB of its crest within a second */
    assert_float_equal(get(&f, "sample_peak_dbfs"), -6.0f, 0.01f);
    sa_features_clear(&f);
}

/* Silence and a few samples give the documented floors, never -inf or NaN. */
static void test_silence_and_short(void **state) {
    (void)state;
    const segment silence[] = {{5, -400}};
    const segment blip[] = {{0.01, -10}};
    sa_features f = {0};
    run_segments(silence, 1, 44100, 2, &f);
    assert_float_equal(get(&f, "integrated_lufs"), SA_LOUDNESS_FLOOR_LUFS, 0.0f);
    assert_float_equal(get(&f, "range_lu"), 0.0f, 0.0f);
    assert_float_equal(get(&f, "sample_peak_dbfs"), SA_LOUDNESS_FLOOR_PEAK_DB, 0.0f);
    run_segments(blip, 1, 44100, 1, &f);
    assert_float_equal(get(&f, "integrated_lufs"), SA_LOUDNESS_FLOOR_LUFS, 0.0f);
    assert_float_equal(get(&f, "sample_peak_dbfs"), -10.0f, 0.5f);
    sa_features_clear(&f);
}

static void test_bad_input(void **state) {
    (void)state;
    const sa_analyzer *a = sa_loudness_analyzer();
    assert_string_equal(a->name, "loudness");
    assert_int_equal(a->rate, 0);
    void *st = NULL;
    sa_stream_info none = {.native_rate = 44100, .channels = 0};
    assert_int_equal(a->start(a->config, &none, &st), SA_ERR_INVALID);
    sa_stream_info info = {.native_rate = 44100, .channels = 2};
    assert_int_equal(a->start(a->config, &info, &st), SA_OK);
    float buf[8] = {0};
    sa_audio_block mono = {.interleaved = buf, .frames = 8, .channels = 1, .rate = 44100};
    assert_int_equal(a->feed(st, &mono), SA_ERR_INVALID);
    sa_audio_block missing = {.mono = buf, .frames = 8, .channels = 2, .rate = 44100};
    assert_int_equal(a->feed(st, &missing), SA_ERR_INVALID);
    a->free(st);
    a->free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_sine),     cmocka_unit_test(test_gating),
        cmocka_unit_test(test_range),           cmocka_unit_test(test_decimation),
        cmocka_unit_test(test_pipeline_qualities),
        cmocka_unit_test(test_mono_as_dual_mono),
        cmocka_unit_test(test_peak),            cmocka_unit_test(test_silence_and_short),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

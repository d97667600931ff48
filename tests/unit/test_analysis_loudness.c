/* test_analysis_loudness.c: the loudness analyzer on EBU Tech 3341/3342 signals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "soundalike/descriptors.h"

/* A stretch of 1 kHz sine at a level in dBFS (peak), the same in every channel. */
typedef struct segment {
    double seconds;
    double dbfs;
} segment;

#define BLOCK 1009 /* odd on purpose: blocks never line up with 100 ms steps */

/* Streams the segments through the analyzer and leaves its group in f. */
static void run_segments(const segment *segs, size_t nseg, int rate, int channels, sa_features *f) {
    const sa_analyzer *a = sa_loudness_analyzer();
    sa_stream_info info = {.native_rate = rate, .channels = channels};
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
                float x = amp * (float)sin(2.0 * M_PI * 1000.0 * (double)(t + (int64_t)i) / rate);
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

static float get(const sa_features *f, const char *name) {
    float v = NAN;
    assert_int_equal(sa_features_scalar(f, "loudness", name, &v), SA_OK);
    assert_true(isfinite(v));
    return v;
}

static void expect_integrated(const segment *segs, size_t n, int rate, int channels, float lufs) {
    sa_features f = {0};
    run_segments(segs, n, rate, channels, &f);
    assert_float_equal(get(&f, "integrated_lufs"), lufs, 0.1f);
    assert_float_equal(get(&f, "track_gain_db"), SA_LOUDNESS_REFERENCE_LUFS - lufs, 0.1f);
    sa_features_clear(&f);
}

static void expect_range(const segment *segs, size_t n, float lu) {
    sa_features f = {0};
    run_segments(segs, n, 48000, 2, &f);
    assert_float_equal(get(&f, "range_lu"), lu, 1.0f); /* Tech 3342 tolerance */
    sa_features_clear(&f);
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
        cmocka_unit_test(test_range),           cmocka_unit_test(test_mono_as_dual_mono),
        cmocka_unit_test(test_peak),            cmocka_unit_test(test_silence_and_short),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_analysis_loudness.c: the loudness analyzer on EBU Tech 3341/3342 signals and recordings, against libebur128. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "soundalike/descriptors.h"
#include <ebur128.h>

#include "soundalike/audio.h"
#include "analysis_files.h"

/* A stretch of sine at a level in dBFS (peak), the same in every channel. */
typedef struct segment {
    double seconds;
    double dbfs;
} segment;

#define BLOCK 1009 /* odd on purpose: blocks never line up with 100 ms steps */

/* The analyzer and libebur128 (every frame, exact mode: no histogram
 * bins) fed the same audio. */
typedef struct metered {
    const sa_analyzer *a;
    void *state;
    ebur128_state *oracle;
} metered;

static void metered_start(metered *m, int rate, int channels) {
    m->a = sa_loudness_analyzer();
    sa_stream_info info = {.native_rate = rate, .channels = channels};
    assert_int_equal(m->a->start(m->a->config, &info, &m->state), SA_OK);
    m->oracle = ebur128_init((unsigned)channels, (unsigned long)rate, EBUR128_MODE_I | EBUR128_MODE_LRA);
    assert_non_null(m->oracle);
    if (channels == 1)
        assert_int_equal(ebur128_set_channel(m->oracle, 0, EBUR128_DUAL_MONO), EBUR128_SUCCESS);
}

static void metered_feed(metered *m, const float *interleaved, size_t frames, int channels, int rate) {
    sa_audio_block b = {.interleaved = interleaved, .frames = frames, .channels = channels, .rate = rate};
    assert_int_equal(m->a->feed(m->state, &b), SA_OK);
    assert_int_equal(ebur128_add_frames_float(m->oracle, interleaved, frames), EBUR128_SUCCESS);
}

static float get(const sa_features *f, const char *name) {
    float v = NAN;
    assert_int_equal(sa_features_scalar(f, "loudness", name, &v), SA_OK);
    assert_true(isfinite(v));
    return v;
}

/* Finishes both meters, leaves the analyzer's group in f, and checks it
 * against libebur128: integrated loudness within lufs_tol LU and range
 * within lra_tol LU when libebur128 finds them defined. */
static void metered_finish(metered *m, sa_features *f, double lufs_tol, double lra_tol) {
    assert_int_equal(m->a->finish(m->state, f), SA_OK);
    m->a->free(m->state);
    double lufs, lra;
    assert_int_equal(ebur128_loudness_global(m->oracle, &lufs), EBUR128_SUCCESS);
    assert_int_equal(ebur128_loudness_range(m->oracle, &lra), EBUR128_SUCCESS);
    ebur128_destroy(&m->oracle);
    if (isfinite(lufs) && lufs > SA_LOUDNESS_FLOOR_LUFS)
        assert_float_equal(get(f, "integrated_lufs"), lufs, lufs_tol);
    else
        assert_float_equal(get(f, "integrated_lufs"), SA_LOUDNESS_FLOOR_LUFS, 0.0f);
    assert_float_equal(get(f, "range_lu"), lra, lra_tol);
}

/* Differences with libebur128 on generated tones: both filter in double,
 * so they differ by rounding only. */
#define TONE_TOL 1e-3

/* Streams the segments (a sine at hz) through the analyzer and libebur128
 * and leaves the analyzer's group in f. */
static void run_segments_at(const segment *segs, size_t nseg, int rate, int channels, double hz, sa_features *f) {
    metered m;
    metered_start(&m, rate, channels);
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
            metered_feed(&m, buf, frames, channels, rate);
            t += (int64_t)frames;
            n -= (int64_t)frames;
        }
    }
    free(buf);
    metered_finish(&m, f, TONE_TOL, TONE_TOL);
}

static void run_segments(const segment *segs, size_t nseg, int rate, int channels, sa_features *f) {
    run_segments_at(segs, nseg, rate, channels, 1000.0, f);
}

static void expect_integrated(const segment *segs, size_t n, int rate, int channels, float lufs) {
    sa_features f = {0};
    run_segments(segs, n, rate, channels, &f);
    assert_float_equal(get(&f, "integrated_lufs"), lufs, 0.1f); /* Tech 3341 tolerance */
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

/* The filter is designed for each rate: tones across the band, from 8 to
 * 192 kHz, agree with libebur128 (run_segments_at checks). A tone at
 * 20 Hz, far below the high-pass, tests the precision of its state. */
static void test_rates_and_tones(void **state) {
    (void)state;
    const int rates[] = {8000, 22050, 44100, 48000, 96000, 192000};
    const double tones[] = {20.0, 100.0, 3000.0, 9000.0, 15000.0};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (size_t k = 0; k < sizeof tones / sizeof tones[0]; k++) {
            if (tones[k] >= 0.45 * rates[r])
                continue;
            const segment s[] = {{4, -20}, {4, -45}};
            sa_features f = {0};
            run_segments_at(s, 2, rates[r], 2, tones[k], &f);
            sa_features_clear(&f);
        }
}

/* Below 4 kHz the shelf is left out, and a 500 Hz tone at 3 kHz reads
 * near the same tone at 48 kHz: 0.6 LU above it, as the high-pass's
 * numerator (1, -2, 1 in BS.1770, kept so by libebur128 at every rate)
 * lifts 500 Hz by 0.68 dB at 3 kHz, where the shelf leaves out 0.04 dB. */
static void test_low_rate(void **state) {
    (void)state;
    const segment s[] = {{10, -20}};
    sa_features low = {0}, high = {0};
    sa_stream_info info = {.native_rate = 3000, .channels = 1};
    const sa_analyzer *a = sa_loudness_analyzer();
    void *st = NULL;
    assert_int_equal(a->start(a->config, &info, &st), SA_OK);
    float *buf = malloc(sizeof(float) * 3000 * 10);
    assert_non_null(buf);
    for (int i = 0; i < 3000 * 10; i++)
        buf[i] = 0.1f * (float)sin(2.0 * M_PI * 500.0 * i / 3000.0);
    sa_audio_block b = {.interleaved = buf, .frames = 3000 * 10, .channels = 1, .rate = 3000};
    assert_int_equal(a->feed(st, &b), SA_OK);
    assert_int_equal(a->finish(st, &low), SA_OK);
    a->free(st);
    free(buf);
    run_segments_at(s, 1, 48000, 1, 500.0, &high);
    float l = get(&low, "integrated_lufs"), h = get(&high, "integrated_lufs");
    if (!(l > h + 0.5f && l < h + 0.7f))
        fail_msg("a 500 Hz tone reads %g LUFS at 3 kHz, %g at 48 kHz", (double)l, (double)h);
    sa_features_clear(&low);
    sa_features_clear(&high);
}

/* Recordings of the shared corpus, decoded as the pipeline decodes them,
 * agree with libebur128 within 0.05 LU (integrated) and 0.1 LU (range). */
static void test_recordings(void **state) {
    (void)state;
    const char *files[] = {
        "corpus/annotated/essentia-audio/recorded/dubstep.wav",
        "corpus/annotated/essentia-audio/recorded/flamenco.flac",
        "corpus/annotated/essentia-audio/recorded/hiphop.mp3",
        "corpus/annotated/essentia-audio/recorded/techno_loop.mp3",
        "corpus/annotated/essentia-audio/recorded/vignesh.wav",
        "corpus/annotated/essentia-audio/recorded/359500__mtg__sax-tenor-e-major.wav",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        if (!af_shared_file(files[i], path, sizeof path))
            continue;
        sa_audio_decoder *dec = NULL;
        assert_int_equal(sa_audio_decoder_open(path, 2, &dec, NULL), SA_OK);
        int rate = sa_audio_decoder_rate(dec), channels = sa_audio_decoder_channels(dec);
        metered m;
        metered_start(&m, rate, channels);
        float *buf = malloc(sizeof(float) * 4096 * (size_t)channels);
        assert_non_null(buf);
        size_t n;
        sa_err err;
        while ((err = sa_audio_decoder_read(dec, buf, 4096, &n)) == SA_OK && n > 0)
            metered_feed(&m, buf, n, channels, rate);
        assert_int_equal(err, SA_OK); /* the whole file, not a prefix both meters share */
        free(buf);
        sa_audio_decoder_free(dec);
        sa_features f = {0};
        metered_finish(&m, &f, 0.05, 0.1);
        sa_features_clear(&f);
    }
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
    sa_stream_info too_low = {.native_rate = 999, .channels = 2};
    assert_int_equal(a->start(a->config, &too_low, &st), SA_ERR_INVALID);
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
        cmocka_unit_test(test_range),           cmocka_unit_test(test_rates_and_tones),
        cmocka_unit_test(test_recordings),      cmocka_unit_test(test_low_rate),
        cmocka_unit_test(test_mono_as_dual_mono),
        cmocka_unit_test(test_peak),            cmocka_unit_test(test_silence_and_short),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_analysis_rhythm.c: the rhythm analyzer on click tracks and labelled recordings, and the pulse strength at a given tempo. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "analysis/tempo.h"
#include "dsp/onset.h"
#include "soundalike/descriptors.h"
#include "analysis_files.h"

#define RATE 22050

/* Streams n samples of x through an analyzer in uneven blocks. */
static void run_analyzer(const sa_analyzer *a, const float *x, size_t n, sa_features *f) {
    af_run_blocks(a, 44100, x, n, RATE, 3001, f);
}

/* Adds strokes to x (n samples): per_minute of them, the first at offset
 * seconds, each decaying with time constant decay seconds; a sine of hz,
 * or white noise (a drum) for hz 0. */
static void add_strokes(float *x, size_t n, double per_minute, double offset, double amplitude, double hz,
                        double decay) {
    uint32_t noise = 1;
    size_t k = 0;
    for (double t = offset; t < (double)n / RATE; t = offset + (double)++k * 60.0 / per_minute) {
        size_t start = (size_t)llround(t * RATE);
        for (size_t i = 0; i < 10 * decay * RATE && start + i < n; i++) {
            double s = (double)i / RATE;
            noise = noise * 1664525u + 1013904223u;
            double wave = hz > 0.0 ? sin(2.0 * M_PI * hz * s) : (double)(noise >> 8) / (1 << 23) - 1.0;
            x[start + i] += (float)(amplitude * exp(-s / decay) * wave);
        }
    }
}

static float *silence(double seconds, size_t *n) {
    *n = (size_t)(seconds * RATE);
    float *x = calloc(*n, sizeof *x);
    assert_non_null(x);
    return x;
}

/* seconds of clicks (2 kHz, 5 ms decay) at bpm, the first at offset seconds. */
static float *click_track(double bpm, double seconds, double offset, size_t *n) {
    float *x = silence(seconds, n);
    add_strokes(x, *n, bpm, offset, 0.5, 2000.0, 0.005);
    return x;
}

static float scalar(const sa_features *f, const char *name) {
    float v = NAN;
    assert_int_equal(sa_features_scalar(f, "rhythm", name, &v), SA_OK);
    assert_true(isfinite(v));
    return v;
}

static void check_clicks(double bpm) {
    const double offset = 0.25;
    size_t n;
    float *x = click_track(bpm, 30.0, offset, &n);
    sa_features f = {0};
    run_analyzer(sa_rhythm_analyzer(), x, n, &f);
    free(x);
    assert_float_equal(scalar(&f, "bpm"), bpm, 0.01 * bpm);
    float confidence = scalar(&f, "confidence");
    assert_true(confidence > 0.5f && confidence <= 1.0f);
    /* every beat on a click (within 2 envelope frames), one per click after the first few */
    const sa_feature *beats = sa_features_get(&f, "rhythm", "beats");
    assert_non_null(beats);
    double period = 60.0 / bpm;
    assert_true(beats->count >= (size_t)(30.0 / period) - 3);
    for (size_t i = 0; i < beats->count; i++) {
        double k = round((beats->values[i] - offset) / period);
        assert_true(fabs(beats->values[i] - (offset + k * period)) < 0.025);
        if (i > 0)
            assert_float_equal(beats->values[i] - beats->values[i - 1], period, 0.025);
    }
    sa_features_clear(&f);
}

static void test_clicks_90(void **state) {
    (void)state;
    check_clicks(90.0);
}

static void test_clicks_120(void **state) {
    (void)state;
    check_clicks(120.0);
}

static void test_clicks_140(void **state) {
    (void)state;
    check_clicks(140.0);
}

/* The pulse strength is the confidence at the tempo found, strong at the
 * beat and its multiples and absent at 3/2 of it. */
static void test_pulse(void **state) {
    (void)state;
    size_t n;
    float *x = click_track(120.0, 30.0, 0.25, &n);
    sa_features f = {0};
    run_analyzer(sa_rhythm_analyzer(), x, n, &f);
    sa_onset *o;
    assert_int_equal(sa_onset_new(RATE, &o), SA_OK);
    assert_int_equal(sa_onset_feed(o, x, n), SA_OK);
    free(x);
    size_t frames;
    const float *env = sa_onset_envelope(o, &frames);
    float fps = sa_onset_rate(o);
    double at_beat, at_half, at_three_halves, found;
    assert_int_equal(sa_tempo_pulse(env, frames, fps, 120.0, &at_beat), SA_OK);
    assert_int_equal(sa_tempo_pulse(env, frames, fps, 60.0, &at_half), SA_OK);
    assert_int_equal(sa_tempo_pulse(env, frames, fps, 180.0, &at_three_halves), SA_OK);
    assert_int_equal(sa_tempo_pulse(env, frames, fps, scalar(&f, "bpm"), &found), SA_OK);
    assert_float_equal(found, scalar(&f, "confidence"), 1e-5);
    assert_true(at_beat > 0.5 && at_half > 0.5);
    assert_true(at_three_halves < 0.1);
    assert_int_equal(sa_tempo_pulse(env, frames, fps, 0.0, &found), SA_ERR_INVALID);
    assert_int_equal(sa_tempo_pulse(env, (size_t)(3 * fps), fps, 40.0, &found), SA_OK); /* under two periods */
    assert_true(found == 0.0);
    sa_onset_free(o);
    sa_features_clear(&f);
}

/* The tempo of 30 s of clicks on every subdivision (per_minute of them)
 * and a drum (a burst of noise) on every beat_every-th one. */
static float drummed_bpm(double per_minute, int beat_every) {
    size_t n;
    float *x = click_track(per_minute, 30.0, 0.25, &n);
    add_strokes(x, n, per_minute / beat_every, 0.25, 0.3, 0.0, 0.01);
    sa_features f = {0};
    run_analyzer(sa_rhythm_analyzer(), x, n, &f);
    free(x);
    float bpm = scalar(&f, "bpm");
    sa_features_clear(&f);
    return bpm;
}

/* 6/8: eighths with the drum on every third, the dotted quarter at 60 to
 * 100 per minute. The beat is the dotted quarter; two eighths (1.5 times
 * its tempo), the tempo a reading in simple meter finds, are no level of
 * the meter. */
static void test_compound_meter(void **state) {
    (void)state;
    for (double beat = 60.0; beat <= 100.0; beat += 10.0) {
        float bpm = drummed_bpm(3.0 * beat, 3);
        if (fabsf(bpm - (float)beat) > 0.04f * beat)
            print_message("6/8 at %.0f: %.2f BPM\n", beat, bpm);
        assert_float_equal(bpm, beat, 0.04 * beat);
    }
}

/* Simple meter with the same drum: eighths at 200 per minute, the drum on
 * every other one (the beat, 100 BPM), then on every fourth (beats 1 and
 * 3, a half tempo of 50 that the accents make plausible): both stay at
 * 100, neither is mistaken for compound. */
static void test_simple_meter(void **state) {
    (void)state;
    assert_float_equal(drummed_bpm(200.0, 2), 100.0f, 4.0f);
    assert_float_equal(drummed_bpm(200.0, 4), 100.0f, 4.0f);
}

/* No tempo, no confidence, no beats, nothing non-finite. */
static void check_no_tempo(const sa_features *f) {
    assert_float_equal(scalar(f, "bpm"), 0.0f, 0.0f);
    assert_float_equal(scalar(f, "confidence"), 0.0f, 0.0f);
    const sa_feature *beats = sa_features_get(f, "rhythm", "beats");
    assert_non_null(beats);
    assert_int_equal(beats->count, 0);
}

/* Silence and a fraction of a second: no tempo, no beats, nothing non-finite. */
static void test_silence_and_short(void **state) {
    (void)state;
    size_t n = 10 * RATE;
    float *x = calloc(n, sizeof *x);
    assert_non_null(x);
    sa_features f = {0};
    run_analyzer(sa_rhythm_analyzer(), x, n, &f);
    check_no_tempo(&f);
    free(x);
    x = click_track(120.0, 0.5, 0.1, &n);
    run_analyzer(sa_rhythm_analyzer(), x, n, &f);
    check_no_tempo(&f);
    free(x);
    sa_features_clear(&f);
}

static void test_bad_block(void **state) {
    (void)state;
    af_expect_wrong_rate_refused(sa_rhythm_analyzer(), "rhythm", 44100);
}

/* Human-annotated or reference tempi of real recordings, within 4 % (MIREX Accuracy 1). */
static void test_labelled_recordings(void **state) {
    (void)state;
    static const struct {
        const char *path;
        float bpm;
    } cases[] = {
        {"corpus/annotated/essentia-audio/recorded/techno_loop.mp3", 125.0f},
        {"corpus/annotated/essentia-audio/recorded/dubstep.wav", 139.98f},
        {"corpus/annotated/mirdata/ballroom/B_1.0/audio/Waltz/Media-105901.wav", 84.0f},
        {"corpus/annotated/mirdata/gtzan_genre/gtzan_genre/genres/country/country.00000.wav", 85.53f},
        {"corpus/annotated/mirdata/hainsworth/H_1.0/audio/hains001.flac", 100.16f},
        {"corpus/annotated/librosa-data/audio/admiralbob77_-_Choice_-_Drum-bass.ogg", 136.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sa_features f = {0};
        if (af_analyse_file(cases[i].path, sa_rhythm_analyzer(), &f)) {
            float bpm = scalar(&f, "bpm");
            if (fabsf(bpm - cases[i].bpm) > 0.04f * cases[i].bpm)
                print_message("%s: %.2f BPM, expected %.2f\n", cases[i].path, bpm, cases[i].bpm);
            assert_true(fabsf(bpm - cases[i].bpm) <= 0.04f * cases[i].bpm);
        }
        sa_features_clear(&f);
    }
}

/* The analyzer reads a FAST 22050 Hz stream; a copy held to BEST, run on
 * its own, reads a kaiser_best one, and both find the same tempo and beats
 * within a frame on labelled recordings. (That one run gives each quality
 * its own stream is test_analysis_pipeline's.) */
static void test_fast_stream_as_best(void **state) {
    (void)state;
    static const char *const files[] = {"corpus/annotated/essentia-audio/recorded/techno_loop.mp3",
                                        "corpus/annotated/mirdata/hainsworth/H_1.0/audio/hains001.flac"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        if (!af_shared_file(files[i], path, sizeof path))
            continue;
        sa_analyzer best = *sa_rhythm_analyzer();
        best.quality = SA_RESAMPLE_BEST;
        const sa_analyzer *fast_list[] = {sa_rhythm_analyzer()}, *best_list[] = {&best};
        sa_features fast = {0}, exact = {0};
        assert_int_equal(sa_pipeline_run(path, fast_list, 1, &fast, NULL, NULL), SA_OK);
        assert_int_equal(sa_pipeline_run(path, best_list, 1, &exact, NULL, NULL), SA_OK);
        assert_float_equal(scalar(&fast, "bpm"), scalar(&exact, "bpm"), 0.01f * scalar(&exact, "bpm"));
        const sa_feature *a = sa_features_get(&fast, "rhythm", "beats"), *b = sa_features_get(&exact, "rhythm", "beats");
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(a->count, b->count);
        for (size_t k = 0; k < a->count; k++)
            assert_float_equal(a->values[k], b->values[k], 0.012f);
        sa_features_clear(&fast);
        sa_features_clear(&exact);
    }
}

/* madmom's annotated beats of its sample: each found within 70 ms (the usual F-measure window). */
static void test_annotated_beats(void **state) {
    (void)state;
    static const float truth[] = {0.0913f, 0.7997f, 1.4806f, 2.1478f};
    sa_features f = {0};
    if (af_analyse_file("corpus/annotated/madmom/tests/data/audio/sample.wav", sa_rhythm_analyzer(), &f)) {
        const sa_feature *beats = sa_features_get(&f, "rhythm", "beats");
        assert_non_null(beats);
        for (size_t i = 0; i < sizeof truth / sizeof truth[0]; i++) {
            float nearest = INFINITY;
            for (size_t k = 0; k < beats->count; k++)
                if (fabsf(beats->values[k] - truth[i]) < fabsf(nearest - truth[i]))
                    nearest = beats->values[k];
            assert_true(fabsf(nearest - truth[i]) <= 0.07f);
        }
    }
    sa_features_clear(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clicks_90),           cmocka_unit_test(test_clicks_120),
        cmocka_unit_test(test_clicks_140),          cmocka_unit_test(test_compound_meter),
        cmocka_unit_test(test_simple_meter),        cmocka_unit_test(test_silence_and_short),
        cmocka_unit_test(test_bad_block),           cmocka_unit_test(test_labelled_recordings),
        cmocka_unit_test(test_annotated_beats),     cmocka_unit_test(test_fast_stream_as_best),
        cmocka_unit_test(test_pulse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

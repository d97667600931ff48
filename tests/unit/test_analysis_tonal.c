/* test_analysis_tonal.c: the tonal analyzer on synthesised tones and chords, and labelled recordings. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "soundalike/descriptors.h"
#include "analysis_files.h"

#define RATE 22050

static void run_analyzer(const float *x, size_t n, sa_features *f) {
    af_run_blocks(sa_tonal_analyzer(), 48000, x, n, RATE, 5003, f);
}

/* Adds a note (MIDI number, detuned by cents) with 6 partials of amplitude 1/h
 * from sample `from` for n samples, with 10 ms fades. */
static void add_note(float *x, size_t from, size_t n, int midi, double cents) {
    double f0 = 440.0 * pow(2.0, (midi - 69 + cents / 100.0) / 12.0);
    size_t fade = RATE / 100;
    for (size_t i = 0; i < n; i++) {
        double env = i < fade ? (double)i / fade : n - i < fade ? (double)(n - i) / fade : 1.0;
        double s = 0.0;
        for (int h = 1; h <= 6; h++)
            s += sin(2.0 * M_PI * h * f0 * (double)i / RATE) / h;
        x[from + i] += (float)(0.1 * env * s);
    }
}

/* A cadence I-IV-V-I (major) or i-iv-V-i (minor, harmonic V) on tonic (a MIDI
 * note), one chord per second, played 4 times with a bass note. */
static float *cadence(int tonic, int minor, double cents, size_t *n) {
    const int major_chords[4][3] = {{0, 4, 7}, {5, 9, 12}, {7, 11, 14}, {0, 4, 7}};
    const int minor_chords[4][3] = {{0, 3, 7}, {5, 8, 12}, {7, 11, 14}, {0, 3, 7}};
    const int(*chords)[3] = minor ? minor_chords : major_chords;
    *n = 16 * RATE;
    float *x = calloc(*n, sizeof *x);
    assert_non_null(x);
    for (int c = 0; c < 16; c++) {
        for (int k = 0; k < 3; k++)
            add_note(x, (size_t)c * RATE, RATE, tonic + chords[c % 4][k], cents);
        add_note(x, (size_t)c * RATE, RATE, tonic - 12 + chords[c % 4][0], cents);
    }
    return x;
}

static const char *text(const sa_features *f, const char *name) {
    const sa_feature *it = sa_features_get(f, "tonal", name);
    assert_non_null(it);
    assert_non_null(it->text);
    return it->text;
}

static float scalar(const sa_features *f, const char *name) {
    float v = NAN;
    assert_int_equal(sa_features_scalar(f, "tonal", name, &v), SA_OK);
    assert_true(isfinite(v));
    return v;
}

static void check_cadence(int tonic, int minor, double cents, const char *key) {
    size_t n;
    float *x = cadence(tonic, minor, cents, &n);
    sa_features f = {0};
    run_analyzer(x, n, &f);
    free(x);
    if (strcmp(text(&f, "key"), key) != 0 || strcmp(text(&f, "scale"), minor ? "minor" : "major") != 0)
        print_message("expected %s %s, got %s %s\n", key, minor ? "minor" : "major", text(&f, "key"),
                      text(&f, "scale"));
    assert_string_equal(text(&f, "key"), key);
    assert_string_equal(text(&f, "scale"), minor ? "minor" : "major");
    assert_true(scalar(&f, "strength") > 0.5f && scalar(&f, "strength") <= 1.0f);
    assert_float_equal(scalar(&f, "tuning_cents"), cents, 3.0);
    sa_features_clear(&f);
}

static void test_cadences(void **state) {
    (void)state;
    check_cadence(60, 0, 0.0, "C");
    check_cadence(57, 1, 0.0, "A");
    check_cadence(66, 0, 0.0, "F#");
    check_cadence(63, 1, 0.0, "D#");
    check_cadence(62, 0, 0.0, "D");
    check_cadence(55, 1, 0.0, "G");
}

/* Off 440 Hz tuning by up to 45 cents, the key stays and the offset is measured. */
static void test_detuned_cadences(void **state) {
    (void)state;
    check_cadence(64, 0, -40.0, "E");
    check_cadence(65, 1, 30.0, "F");
    check_cadence(59, 0, 45.0, "B");
}

/* A 440 Hz sine: all of the chroma at A. */
static void test_a440(void **state) {
    (void)state;
    size_t n = 5 * RATE;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2.0 * M_PI * 440.0 * (double)i / RATE));
    sa_features f = {0};
    run_analyzer(x, n, &f);
    free(x);
    const sa_feature *chroma = sa_features_get(&f, "tonal", "chroma");
    assert_non_null(chroma);
    assert_int_equal(chroma->count, 12);
    assert_float_equal(chroma->values[9], 1.0f, 0.0f);
    for (int k = 0; k < 12; k++)
        if (k != 9)
            assert_true(chroma->values[k] < 0.01f); /* a peak counts at its own pitch class only */
    assert_float_equal(scalar(&f, "dominant"), 9.0f, 0.0f);
    assert_float_equal(scalar(&f, "tuning_cents"), 0.0f, 1.0f);
    sa_features_clear(&f);
}

/* The documented values of silence, all finite. */
static void check_silent(const sa_features *f) {
    assert_string_equal(text(f, "key"), "C");
    assert_string_equal(text(f, "scale"), "major");
    assert_float_equal(scalar(f, "strength"), 0.0f, 0.0f);
    assert_float_equal(scalar(f, "dominant"), 0.0f, 0.0f);
    (void)scalar(f, "tuning_cents"); /* present and finite */
    const sa_feature *chroma = sa_features_get(f, "tonal", "chroma");
    assert_non_null(chroma);
    assert_int_equal(chroma->count, 12);
    for (int k = 0; k < 12; k++)
        assert_float_equal(chroma->values[k], 0.0f, 0.0f);
}

/* Silence, long and shorter than a frame: each run checked on its own, as
 * the second overwrites the first's values. */
static void test_silence(void **state) {
    (void)state;
    size_t n = 3 * RATE;
    float *x = calloc(n, sizeof *x);
    assert_non_null(x);
    sa_features f = {0};
    run_analyzer(x, n, &f);
    check_silent(&f);
    run_analyzer(x, 10, &f); /* shorter than a frame */
    check_silent(&f);
    free(x);
    sa_features_clear(&f);
}

/* A chroma shaped like a key's own profile gives that key with strength 1. */
static void test_key_estimate(void **state) {
    (void)state;
    static const float kk_minor[12] = {6.33f, 2.68f, 3.52f, 5.38f, 2.60f, 3.53f,
                                       2.54f, 4.75f, 3.98f, 2.69f, 3.34f, 3.17f};
    float chroma[12];
    for (int i = 0; i < 12; i++)
        chroma[(i + 4) % 12] = kk_minor[i]; /* E minor */
    sa_key key;
    assert_int_equal(sa_key_estimate(chroma, SA_KEY_PROFILE_KRUMHANSL, &key), SA_OK);
    assert_int_equal(key.tonic, 4);
    assert_int_equal(key.minor, 1);
    assert_float_equal(key.strength, 1.0f, 1e-5f);
    for (int p = 0; p < SA_KEY_PROFILE_COUNT; p++) {
        assert_int_equal(sa_key_estimate(chroma, (sa_key_profile)p, &key), SA_OK);
        assert_non_null(sa_key_profile_name((sa_key_profile)p));
    }
    assert_int_equal(sa_key_estimate(chroma, SA_KEY_PROFILE_COUNT, &key), SA_ERR_INVALID);
    assert_string_equal(sa_key_name(1), "C#");
    assert_string_equal(sa_key_name(11), "B");
    assert_null(sa_key_name(12));
    assert_null(sa_key_profile_name(SA_KEY_PROFILE_COUNT));
}

static void test_bad_block(void **state) {
    (void)state;
    af_expect_wrong_rate_refused(sa_tonal_analyzer(), "tonal", 16000);
}

/* Keys of labelled recordings (ground_truth.tsv). */
static void test_labelled_recordings(void **state) {
    (void)state;
    static const struct {
        const char *path, *key, *scale;
    } cases[] = {
        {"corpus/annotated/essentia-audio/recorded/359628__mtg__sax-tenor-d-minor.wav", "D", "minor"},
        {"corpus/annotated/madmom/tests/data/audio/sample2.wav", "A", "minor"},
        {"corpus/annotated/madmom/tests/data/audio/sample.wav", "G#", "major"},
        {"corpus/annotated/mirdata/beatport_key/audio/100066 Lindstrom - Monsteer (Original Mix).mp3", "D",
         "minor"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sa_features f = {0};
        if (af_analyse_file(cases[i].path, sa_tonal_analyzer(), &f)) {
            if (strcmp(text(&f, "key"), cases[i].key) != 0 || strcmp(text(&f, "scale"), cases[i].scale) != 0)
                print_message("%s: %s %s, expected %s %s\n", cases[i].path, text(&f, "key"), text(&f, "scale"),
                              cases[i].key, cases[i].scale);
            assert_string_equal(text(&f, "key"), cases[i].key);
            assert_string_equal(text(&f, "scale"), cases[i].scale);
        }
        sa_features_clear(&f);
    }
}

/* Guitars tuned to A = 432 Hz: -31.8 cents (the labels allow +-2 Hz, 8 cents). */
static void test_tuning_432(void **state) {
    (void)state;
    const char *files[] = {"corpus/annotated/essentia-audio/recorded/Guitar-A4-432-1.ogg",
                           "corpus/annotated/essentia-audio/recorded/Guitar-A4-432-2.ogg"};
    for (size_t i = 0; i < 2; i++) {
        sa_features f = {0};
        if (af_analyse_file(files[i], sa_tonal_analyzer(), &f))
            assert_float_equal(scalar(&f, "tuning_cents"), -31.8f, 8.0f);
        sa_features_clear(&f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cadences),    cmocka_unit_test(test_detuned_cadences),
        cmocka_unit_test(test_a440),        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_key_estimate), cmocka_unit_test(test_bad_block),
        cmocka_unit_test(test_labelled_recordings), cmocka_unit_test(test_tuning_432),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_dsp.c: STFT (and the other dsp pieces) on signals with known spectra. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "soundalike/stft.h"

static void test_stft_tone_peak(void **state) {
    (void)state;
    sa_stft *s;
    assert_int_equal(sa_stft_new(1024, SA_WINDOW_HANN_PERIODIC, &s), SA_OK);
    assert_int_equal(sa_stft_bins(s), 513);
    float frame[1024], mag[513];
    /* a sine exactly on bin 100: the periodic Hann spreads it over bins 99-101 */
    for (int i = 0; i < 1024; i++)
        frame[i] = sinf(2.0f * 3.14159265f * 100.0f * (float)i / 1024.0f);
    sa_stft_magnitude(s, frame, mag);
    int best = 0;
    for (int k = 1; k < 513; k++)
        if (mag[k] > mag[best])
            best = k;
    assert_int_equal(best, 100);
    assert_float_equal(mag[100], 256.0f, 0.5f); /* n/4 for a unit sine under Hann */
    assert_float_equal(mag[99], 128.0f, 0.5f);
    assert_true(mag[110] < 1e-3f);
    sa_stft_free(s);
}

static void test_stft_bad_size(void **state) {
    (void)state;
    sa_stft *s = NULL;
    assert_int_equal(sa_stft_new(1, SA_WINDOW_HANN_PERIODIC, &s), SA_ERR_INVALID);
    assert_null(s);
    sa_stft_free(NULL);
}

/* The power spectrum of a sine on bin 37 of 512, through s, each bin
 * compared with a unit-amplitude reference computed once; returns the
 * largest difference relative to the peak (float rounding: about 1e-7). */
static float tone_error(sa_stft *s, const float *reference, float amplitude) {
    float frame[512], power[257];
    for (int i = 0; i < 512; i++)
        frame[i] = amplitude * sinf(2.0f * 3.14159265f * 37.0f * (float)i / 512.0f);
    sa_stft_power(s, frame, power);
    float worst = 0.0f;
    for (int k = 0; k < 257; k++)
        worst = fmaxf(worst, fabsf(power[k] - amplitude * amplitude * reference[k]));
    return worst / (amplitude * amplitude * reference[37]);
}

static float shared_reference[257];

static void *transform_many(void *arg) {
    (void)arg;
    sa_stft *s = NULL;
    float worst = INFINITY;
    if (sa_stft_new(512, SA_WINDOW_HANN_PERIODIC, &s) == SA_OK) {
        worst = 0.0f;
        for (int i = 0; i < 300; i++)
            worst = fmaxf(worst, tone_error(s, shared_reference, 1.0f + (float)(i % 3)));
        sa_stft_free(s);
    }
    float *out = malloc(sizeof *out);
    if (out)
        *out = worst;
    return out;
}

/* Objects of one size share one FFTW plan: two of them used in turn, and
 * four threads using their own at once, each get the spectrum of their
 * own frame. */
static void test_stft_shared_plan(void **state) {
    (void)state;
    sa_stft *a, *b;
    assert_int_equal(sa_stft_new(512, SA_WINDOW_HANN_PERIODIC, &a), SA_OK);
    assert_int_equal(sa_stft_new(512, SA_WINDOW_HANN_PERIODIC, &b), SA_OK);
    float frame[512];
    for (int i = 0; i < 512; i++)
        frame[i] = sinf(2.0f * 3.14159265f * 37.0f * (float)i / 512.0f);
    sa_stft_power(a, frame, shared_reference);
    assert_true(shared_reference[37] > 1e4f);
    for (int i = 0; i < 10; i++) {
        assert_true(tone_error(b, shared_reference, 3.0f) < 1e-5f);
        assert_true(tone_error(a, shared_reference, 0.5f) < 1e-5f);
    }
    sa_stft_free(a);
    sa_stft_free(b);
    pthread_t threads[4];
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, transform_many, NULL), 0);
    for (int t = 0; t < 4; t++) {
        void *worst = NULL;
        assert_int_equal(pthread_join(threads[t], &worst), 0);
        assert_non_null(worst);
        assert_true(*(float *)worst < 1e-5f);
        free(worst);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stft_tone_peak),
        cmocka_unit_test(test_stft_bad_size),
        cmocka_unit_test(test_stft_shared_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_dsp_chroma.c: the pitch-class profile's band, its rate reduction and its streaming. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dsp/chroma.h"

/* n samples at rate of sines at freqs[i] with amplitudes amps[i]. */
static float *tones(int rate, size_t n, const double *freqs, const double *amps, int count) {
    float *x = calloc(n, sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < count; k++)
            x[i] += (float)(amps[k] * sin(2.0 * M_PI * freqs[k] * (double)i / rate));
    return x;
}

/* The profile of x fed in blocks of `block` samples. */
static void profile(int rate, const float *x, size_t n, size_t block, float pcp[12], float *tuning) {
    sa_chroma *c;
    assert_int_equal(sa_chroma_new(rate, &c), SA_OK);
    for (size_t at = 0; at < n; at += block)
        assert_int_equal(sa_chroma_feed(c, x + at, n - at < block ? n - at : block), SA_OK);
    sa_chroma_profile(c, pcp, tuning);
    sa_chroma_free(c);
}

/* A loud C8 (4186 Hz) lies above the analysed band: it neither counts nor,
 * once the rate is reduced to 5512.5 Hz, folds down to 1326 Hz (near E6). */
static void test_above_band_ignored(void **state) {
    (void)state;
    const double freqs[] = {440.0, 4186.0}, amps[] = {0.1, 0.5};
    size_t n = 4 * 22050;
    float *x = tones(22050, n, freqs, amps, 2);
    float pcp[12], tuning;
    profile(22050, x, n, 4096, pcp, &tuning);
    free(x);
    assert_float_equal(pcp[9], 1.0f, 0.0f);
    for (int k = 0; k < 12; k++)
        if (k != 9)
            assert_true(pcp[k] < 1e-3f);
    assert_float_equal(tuning, 0.0f, 1.0f);
}

/* The profile does not depend on how the audio is cut into blocks. */
static void test_block_sizes(void **state) {
    (void)state;
    const double freqs[] = {261.63, 329.63, 392.0, 98.0}, amps[] = {0.2, 0.15, 0.1, 0.3}; /* C, E, G over a low G */
    size_t n = 3 * 22050;
    float *x = tones(22050, n, freqs, amps, 4);
    float whole[12], bits[12], odd[12], t1, t2, t3;
    profile(22050, x, n, n, whole, &t1);
    profile(22050, x, n, 1, bits, &t2);
    profile(22050, x, n, 3001, odd, &t3);
    free(x);
    for (int k = 0; k < 12; k++) {
        assert_float_equal(bits[k], whole[k], 1e-5f);
        assert_float_equal(odd[k], whole[k], 1e-5f);
    }
    assert_float_equal(t2, t1, 1e-3f);
    assert_float_equal(t3, t1, 1e-3f);
    /* each class gets its tones' power: G 0.3^2 + 0.1^2, C 0.2^2, E 0.15^2 */
    assert_float_equal(whole[7], 1.0f, 0.0f);
    assert_float_equal(whole[0], 0.4f, 0.03f);
    assert_float_equal(whole[4], 0.225f, 0.03f);
    assert_true(whole[1] < 0.01f && whole[6] < 0.01f);
}

/* Rates that take three, one or no halvings give the same profile of a chord. */
static void test_rates(void **state) {
    (void)state;
    const double freqs[] = {293.66, 349.23, 440.0, 146.83}, amps[] = {0.2, 0.15, 0.1, 0.3}; /* D minor */
    const int rates[] = {44100, 16000, 8000};
    float ref[12], pcp[12], tuning;
    size_t n = 3 * 22050;
    float *x = tones(22050, n, freqs, amps, 4);
    profile(22050, x, n, 4096, ref, &tuning);
    free(x);
    for (int r = 0; r < 3; r++) {
        n = 3 * (size_t)rates[r];
        x = tones(rates[r], n, freqs, amps, 4);
        profile(rates[r], x, n, 4096, pcp, &tuning);
        free(x);
        for (int k = 0; k < 12; k++)
            assert_float_equal(pcp[k], ref[k], 0.02f);
        assert_float_equal(tuning, 0.0f, 1.0f);
    }
}

/* A chord tuned 30 cents sharp, and one tuned to A = 432 Hz (31.8 cents
 * flat): the tuning is measured, and the notes keep their classes. */
static void test_tuning(void **state) {
    (void)state;
    const double cents[] = {30.0, 1200.0 * log2(432.0 / 440.0)};
    for (int t = 0; t < 2; t++) {
        double shift = pow(2.0, cents[t] / 1200.0);
        const double freqs[] = {261.63 * shift, 329.63 * shift, 392.0 * shift, 98.0 * shift}; /* C, E, G, low G */
        const double amps[] = {0.2, 0.15, 0.1, 0.3};
        size_t n = 3 * 22050;
        float *x = tones(22050, n, freqs, amps, 4);
        float pcp[12], tuning;
        profile(22050, x, n, 4096, pcp, &tuning);
        free(x);
        assert_float_equal(tuning, (float)cents[t], 2.0f);
        assert_float_equal(pcp[7], 1.0f, 0.0f);
        assert_float_equal(pcp[0], 0.4f, 0.03f);
        assert_float_equal(pcp[4], 0.225f, 0.03f);
        for (int k = 0; k < 12; k++)
            if (k != 0 && k != 4 && k != 7)
                assert_true(pcp[k] < 0.01f);
    }
}

static void test_bad_rate(void **state) {
    (void)state;
    sa_chroma *c = NULL;
    assert_int_equal(sa_chroma_new(4000, &c), SA_ERR_INVALID);
    assert_null(c);
    sa_chroma_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_above_band_ignored),
        cmocka_unit_test(test_block_sizes),
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_tuning),
        cmocka_unit_test(test_bad_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

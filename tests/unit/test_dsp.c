/* test_dsp.c: STFT (and the other dsp pieces) on signals with known spectra. */
#include <math.h>
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stft_tone_peak),
        cmocka_unit_test(test_stft_bad_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

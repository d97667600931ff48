/* test_dsp_onset.c: the onset-strength envelope's timing, its silence and its streaming. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/onset.h"

enum { RATE = 22050, HOP = 256, CLICK_EVERY = RATE / 2, FIRST_CLICK = RATE / 4 };

/* Two seconds of silence with a click (a short decaying burst) every half
 * second from FIRST_CLICK on. */
static float *clicks(size_t n) {
    float *x = calloc(n, sizeof *x);
    assert_non_null(x);
    for (size_t at = FIRST_CLICK; at < n; at += CLICK_EVERY)
        for (size_t i = 0; i < 64 && at + i < n; i++)
            x[at + i] = (i % 2 ? -0.5f : 0.5f) * expf(-(float)i / 16.0f);
    return x;
}

/* The envelope of x fed in blocks of `block` samples; the caller frees it. */
static float *envelope(const float *x, size_t n, size_t block, size_t *count, float *rate) {
    sa_onset *o;
    assert_int_equal(sa_onset_new(RATE, &o), SA_OK);
    for (size_t at = 0; at < n; at += block)
        assert_int_equal(sa_onset_feed(o, x + at, n - at < block ? n - at : block), SA_OK);
    const float *env = sa_onset_envelope(o, count);
    float *copy = malloc((*count ? *count : 1) * sizeof *copy);
    assert_non_null(copy);
    if (*count)
        memcpy(copy, env, *count * sizeof *copy);
    *rate = sa_onset_rate(o);
    sa_onset_free(o);
    return copy;
}

/* One value per hop, the first centred on sample 0; each click is a peak
 * at its own time, and silence and decays give exactly 0. */
static void test_clicks_peak_at_their_time(void **state) {
    (void)state;
    size_t n = 2 * RATE, count;
    float *x = clicks(n), rate;
    float *env = envelope(x, n, 4096, &count, &rate);
    free(x);
    assert_float_equal(rate, (float)RATE / HOP, 1e-3f);
    /* frames of 512 samples, the first one half made of the zeros before t = 0 */
    assert_int_equal(count, (n + HOP - 2 * HOP) / HOP + 1);
    int peaks = 0;
    for (size_t at = FIRST_CLICK; at < n; at += CLICK_EVERY, peaks++) {
        size_t centre = (at + HOP / 2) / HOP, best = centre - 3;
        for (size_t i = centre - 3; i <= centre + 3 && i < count; i++)
            if (env[i] > env[best])
                best = i;
        assert_true(env[best] > 1.0f);
        assert_true(best + 1 >= centre && best <= centre + 1); /* within one hop: 12 ms */
    }
    assert_int_equal(peaks, 4);
    for (size_t i = 0; i < count; i++) {
        size_t t = i * HOP, from_click = (t + CLICK_EVERY - FIRST_CLICK) % CLICK_EVERY;
        if (from_click > 3 * HOP && from_click < CLICK_EVERY - 3 * HOP) /* no click in its frame */
            assert_float_equal(env[i], 0.0f, 0.0f);
    }
    free(env);
}

/* The envelope does not depend on how the audio is cut into blocks. */
static void test_block_sizes(void **state) {
    (void)state;
    size_t n = RATE, whole_n, ones_n, odd_n;
    float *x = clicks(n), rate;
    for (size_t i = 0; i < n; i++)
        x[i] += 0.1f * sinf(2.0f * (float)M_PI * 440.0f * (float)i / RATE) * (float)(i / 3000 % 2);
    float *whole = envelope(x, n, n, &whole_n, &rate);
    float *ones = envelope(x, n, 1, &ones_n, &rate);
    float *odd = envelope(x, n, 3001, &odd_n, &rate);
    free(x);
    assert_int_equal(ones_n, whole_n);
    assert_int_equal(odd_n, whole_n);
    assert_memory_equal(ones, whole, whole_n * sizeof *whole);
    assert_memory_equal(odd, whole, whole_n * sizeof *whole);
    free(whole), free(ones), free(odd);
}

static void test_bad_rate(void **state) {
    (void)state;
    sa_onset *o = NULL;
    assert_int_equal(sa_onset_new(4000, &o), SA_ERR_INVALID);
    assert_int_equal(sa_onset_new(192001, &o), SA_ERR_INVALID);
    assert_null(o);
    sa_onset_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clicks_peak_at_their_time),
        cmocka_unit_test(test_block_sizes),
        cmocka_unit_test(test_bad_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

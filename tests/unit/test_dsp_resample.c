/* test_dsp_resample.c: the resampler: kaiser_best against the tagger's reference audio, both qualities on known signals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "soundalike/resample.h"
#include "testutil.h"

#define EXAMPLES "models/musicnn/examples/"

/* Resamples x (n samples) at quality q feeding blocks of `block` samples; returns the malloc'd output and its length. */
static float *resample_q(int in_rate, int out_rate, sa_resample_quality q, const float *x, size_t n, size_t block,
                         size_t *out_n) {
    sa_resampler *r;
    assert_int_equal(sa_resampler_new_quality(in_rate, out_rate, q, &r), SA_OK);
    size_t cap = sa_resampler_max_output(r, block), total = 0, got;
    float *out = malloc(((size_t)((double)n * out_rate / in_rate) + cap) * sizeof(float));
    assert_non_null(out);
    for (size_t i = 0; i < n; i += block) {
        size_t k = n - i < block ? n - i : block;
        assert_int_equal(sa_resampler_process(r, x + i, k, out + total, &got), SA_OK);
        assert_true(got <= cap);
        total += got;
    }
    assert_int_equal(sa_resampler_flush(r, out + total, cap, &got), SA_OK);
    total += got;
    assert_int_equal(sa_resampler_flush(r, out + total, cap, &got), SA_ERR_INVALID);
    sa_resampler_free(r);
    *out_n = total;
    return out;
}

static float *resample_all(int in_rate, int out_rate, const float *x, size_t n, size_t block, size_t *out_n) {
    return resample_q(in_rate, out_rate, SA_RESAMPLE_BEST, x, n, block, out_n);
}

static float *read_f32(const char *path, size_t *n) {
    float *x = tu_read_f32(path, n);
    assert_non_null(x);
    return x;
}

/* The reference's own input: the MP3 decoded by the ffmpeg program to
 * 16-bit stereo at 22.05 kHz (as audioread did), scaled by 1/32768 and
 * averaged over the channels in float32. */
static float *reference_input(size_t *n) {
    char mp3[4096], cmd[8300];
    tu_shared_path(mp3, sizeof mp3, EXAMPLES "TRWJAZW128F42760DD_test.mp3");
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -i '%s' -f s16le -acodec pcm_s16le -", mp3);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, len = 0;
    int16_t *pcm = malloc(cap * 2 * sizeof *pcm);
    assert_non_null(pcm);
    size_t got;
    while ((got = fread(pcm + 2 * len, 2 * sizeof *pcm, cap - len, p)) > 0)
        if ((len += got) == cap) {
            pcm = realloc(pcm, (cap *= 2) * 2 * sizeof *pcm);
            assert_non_null(pcm);
        }
    assert_int_equal(pclose(p), 0);
    float *mono = malloc(len * sizeof *mono);
    assert_non_null(mono);
    for (size_t i = 0; i < len; i++)
        mono[i] = (pcm[2 * i] / 32768.0f + pcm[2 * i + 1] / 32768.0f) / 2.0f;
    free(pcm);
    *n = len;
    return mono;
}

/* 22.05 kHz -> 16 kHz reproduces the tagger's reference audio bit for bit,
 * whatever the block size. */
static void test_matches_reference(void **state) {
    (void)state;
    char path[4096];
    size_t n_ref, n_in, n_out;
    float *ref = read_f32(tu_shared_path(path, sizeof path, EXAMPLES "TRWJAZW128F42760DD_test.16k.f32"), &n_ref);
    float *in = reference_input(&n_in);
    assert_int_equal(n_in, 660340);
    const size_t blocks[] = {8192, 997, 1 << 20};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        float *out = resample_all(22050, 16000, in, n_in, blocks[b], &n_out);
        assert_int_equal(n_out, n_ref);
        size_t differ = 0;
        for (size_t i = 0; i < n_ref; i++)
            differ += out[i] != ref[i];
        assert_int_equal(differ, 0);
        free(out);
    }
    free(in);
    free(ref);
}

/* At either quality, feeding one sample at a time gives the same samples
 * as one big block, and ceil(n * out / in) of them. */
static void test_block_size_invariant(void **state) {
    (void)state;
    char path[4096];
    size_t n, n1, n2;
    tu_shared_path(path, sizeof path, EXAMPLES "joram-moments_of_clarity-08-solipsism-59-88.16k.f32");
    float *x = read_f32(path, &n);
    n = 40000;
    const int rates[][2] = {{16000, 44100}, {16000, 11025}, {16000, 8000}, {16000, 22050}, {16000, 15999}};
    const sa_resample_quality qs[] = {SA_RESAMPLE_BEST, SA_RESAMPLE_FAST};
    for (size_t q = 0; q < 2; q++)
        for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
            float *a = resample_q(rates[k][0], rates[k][1], qs[q], x, n, n, &n1);
            float *b = resample_q(rates[k][0], rates[k][1], qs[q], x, n, 1, &n2);
            assert_int_equal(n1, n2);
            assert_int_equal(n1, (size_t)ceil((double)n * rates[k][1] / rates[k][0]));
            assert_memory_equal(a, b, n1 * sizeof(float));
            free(a);
            free(b);
        }
    free(x);
}

/* 0.5 sin(2 pi f t + 0.3) sampled n times at rate. */
static float *sine(double f, int rate, size_t n) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2.0 * M_PI * f * (double)i / rate + 0.3));
    return x;
}

/* FAST as resample.h states it: below 0.8 of the lower Nyquist frequency a
 * sine comes out as the same sine at the output's times (so no delay),
 * within 1e-4 of its amplitude (1e-3 when the phases are rounded: 44056 Hz
 * to 22050 Hz is 11025/22028); when downsampling, what lies above 1.2 of
 * the output's Nyquist frequency comes out 90 dB down or more. */
static void test_fast_sines(void **state) {
    (void)state;
    const int rates[][2] = {{44100, 22050}, {48000, 22050}, {96000, 22050}, {22050, 16000},
                            {16000, 22050}, {8000, 22050}, {44056, 22050}};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        const int in = rates[k][0], out = rates[k][1];
        const double nyquist = 0.5 * (in < out ? in : out), tolerance = in == 44056 ? 1e-3 : 1e-4;
        const size_t n = (size_t)in / 2;
        for (double f = 0.05 * nyquist; f <= 0.8 * nyquist; f += 0.075 * nyquist) {
            float *x = sine(f, in, n);
            size_t m;
            float *y = resample_q(in, out, SA_RESAMPLE_FAST, x, n, 4096, &m);
            double err = 0.0;
            for (size_t i = 100; i + 100 < m; i++) /* away from the edges */
                err = fmax(err, fabs(y[i] - 0.5 * sin(2.0 * M_PI * f * (double)i / out + 0.3)));
            if (err >= 0.5 * tolerance)
                print_message("%d -> %d Hz, %.0f Hz: error %g\n", in, out, f, err / 0.5);
            assert_true(err < 0.5 * tolerance);
            free(x);
            free(y);
        }
        for (double f = 0.6 * out; in > out && f < 0.5 * in; f += 0.02 * in) {
            float *x = sine(f, in, n);
            size_t m;
            float *y = resample_q(in, out, SA_RESAMPLE_FAST, x, n, 4096, &m);
            double leak = 0.0;
            for (size_t i = 100; i + 100 < m; i++)
                leak = fmax(leak, fabs(y[i]));
            assert_true(leak < 0.5 * pow(10.0, -90.0 / 20.0));
            free(x);
            free(y);
        }
    }
}

/* A sine well inside both bands comes out as the same sine at the new rate;
 * one above the new Nyquist frequency is removed. Measures resampy's
 * filter as it is, quirks included. */
static void test_sines(void **state) {
    (void)state;
    const int rates[][2] = {{44100, 16000}, {48000, 16000}, {22050, 16000}, {8000, 16000}, {11025, 16000}};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        const int in_rate = rates[k][0], out_rate = rates[k][1];
        const double pi = 3.14159265358979323846, f = 1000.0, above = 10000.0;
        const size_t n = (size_t)in_rate;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        for (size_t i = 0; i < n; i++) {
            x[i] = (float)(0.5 * sin(2 * pi * f * (double)i / in_rate));
            /* 10 kHz is above 16 kHz's Nyquist frequency; only downsampling inputs can hold it */
            y[i] = in_rate > out_rate ? (float)(0.5 * sin(2 * pi * above * (double)i / in_rate)) : 0.0f;
        }
        size_t nx, ny;
        float *ox = resample_all(in_rate, out_rate, x, n, 4096, &nx);
        float *oy = resample_all(in_rate, out_rate, y, n, 4096, &ny);
        double err = 0.0, leak = 0.0;
        /* away from the edges, where the filter sees the signal's start and end */
        for (size_t i = 200; i + 200 < nx; i++) {
            double want = 0.5 * sin(2 * pi * f * (double)i / out_rate);
            err = fmax(err, fabs(ox[i] - want));
            leak = fmax(leak, fabs(oy[i]));
        }
        /* resampy steps through its filter table by int(ratio * 512) entries,
         * not ratio * 512, when downsampling: the filter it applies is
         * slightly compressed, which costs 0.3% of amplitude at 1 kHz from
         * 44.1 kHz (0.06% from 22.05 kHz) and limits the stopband to about
         * -65 dB. Upsampling reads the table exactly. */
        assert_true(err < (in_rate > out_rate ? 2e-3 : 1e-6));
        assert_true(leak < 5e-4);
        free(x), free(y), free(ox), free(oy);
    }
}

static void test_identity_and_errors(void **state) {
    (void)state;
    sa_resampler *r = NULL;
    assert_int_equal(sa_resampler_new(0, 16000, &r), SA_ERR_INVALID);
    assert_int_equal(sa_resampler_new(16000, -1, &r), SA_ERR_INVALID);
    assert_int_equal(sa_resampler_new_quality(44100, 22050, (sa_resample_quality)7, &r), SA_ERR_INVALID);
    assert_null(r);
    sa_resampler_free(NULL);
    /* BEST's table has 512 entries per input sample: a smaller ratio is refused, not divided by zero */
    assert_int_equal(sa_resampler_new(48000, 80, &r), SA_ERR_INVALID);
    assert_null(r);
    assert_non_null(strstr(sa_error_detail(), "48000 Hz to 80 Hz"));
    assert_int_equal(sa_resampler_new(512 * 80, 80, &r), SA_OK);
    sa_resampler_free(r);
    r = NULL;
    assert_int_equal(sa_resampler_new_quality(48000, 80, SA_RESAMPLE_FAST, &r), SA_OK);
    sa_resampler_free(r);
    r = NULL;
    float in[100], out[100];
    for (int i = 0; i < 100; i++)
        in[i] = (float)i / 7.0f;
    size_t got;
    assert_int_equal(sa_resampler_new(16000, 16000, &r), SA_OK);
    assert_int_equal(sa_resampler_max_output(r, 100), 100);
    assert_int_equal(sa_resampler_process(r, in, 100, out, &got), SA_OK);
    assert_int_equal(got, 100);
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(sa_resampler_flush(r, out, 100, &got), SA_OK);
    assert_int_equal(got, 0);
    assert_int_equal(sa_resampler_process(r, in, 100, out, &got), SA_ERR_INVALID);
    sa_resampler_free(r);
    for (int q = SA_RESAMPLE_BEST; q <= SA_RESAMPLE_FAST; q++) {
        /* a flush buffer smaller than what is left is refused, not overrun */
        assert_int_equal(sa_resampler_new_quality(44100, 16000, (sa_resample_quality)q, &r), SA_OK);
        assert_int_equal(sa_resampler_process(r, in, 100, out, &got), SA_OK);
        assert_int_equal(sa_resampler_flush(r, out, 1, &got), SA_ERR_RANGE);
        sa_resampler_free(r);
        /* an empty stream gives nothing */
        assert_int_equal(sa_resampler_new_quality(44100, 16000, (sa_resample_quality)q, &r), SA_OK);
        assert_int_equal(sa_resampler_flush(r, out, 100, &got), SA_OK);
        assert_int_equal(got, 0);
        sa_resampler_free(r);
        /* equal rates pass through */
        assert_int_equal(sa_resampler_new_quality(22050, 22050, (sa_resample_quality)q, &r), SA_OK);
        assert_int_equal(sa_resampler_process(r, in, 100, out, &got), SA_OK);
        assert_int_equal(got, 100);
        assert_memory_equal(in, out, sizeof in);
        sa_resampler_free(r);
    }
}

/* Outputs [a, b) of r from x (n samples of a stream) read from the span
 * sa_resampler_span gives, cut to the stream; compared with the whole
 * stream's resampling. */
static void check_range(sa_resampler *r, const float *x, size_t n, const float *whole, int64_t a, int64_t b) {
    int64_t first, end;
    assert_int_equal(sa_resampler_span(r, a, b, &first, &end), SA_OK);
    assert_true(first >= 0 && (end > first || a == b));
    bool at_end = end >= (int64_t)n;
    if (at_end)
        end = (int64_t)n;
    float *out = malloc((size_t)(b - a) * sizeof *out);
    assert_non_null(out);
    assert_int_equal(sa_resampler_range(r, x + first, first, (size_t)(end - first), at_end, a, b, out), SA_OK);
    assert_memory_equal(out, whole + a, (size_t)(b - a) * sizeof *out);
    free(out);
}

/* Ranges give the whole stream's samples bit for bit at the same indices,
 * near its start and end too, whatever order they are asked in; inputs
 * short of the span, FAST objects and mixed use are refused. */
static void test_ranges(void **state) {
    (void)state;
    const int rates[][2] = {{44100, 16000}, {48000, 16000}, {22050, 16000}, {8000, 16000}, {16000, 16000}};
    const size_t n = 300001;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    uint32_t seed = 12345;
    for (size_t i = 0; i < n; i++) { /* a tone and noise, so every tap matters */
        seed = seed * 1664525u + 1013904223u;
        x[i] = 0.5f * (float)sin(0.01 * (double)i) + (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    for (size_t c = 0; c < sizeof rates / sizeof rates[0]; c++) {
        size_t total;
        float *whole = resample_all(rates[c][0], rates[c][1], x, n, 4096, &total);
        sa_resampler *r;
        assert_int_equal(sa_resampler_new(rates[c][0], rates[c][1], &r), SA_OK);
        const int64_t t = (int64_t)total;
        /* forward, overlapping the previous one (as the tagger's windows do),
         * back before it, empty, and at the end */
        const int64_t ranges[][2] = {{0, 1000},      {5000, 9001},   {8500, 12000},         {11000, 11500},
                                     {9001, 9001},   {2000, 2500},   {t / 2, t / 2 + 777}, {t / 2 + 700, t / 2 + 900},
                                     {t - 3000, t}, {t - 1, t},     {0, t}};
        for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++)
            check_range(r, x, n, whole, ranges[k][0], ranges[k][1]);
        float out[64], cap[8192];
        size_t got;
        if (rates[c][0] != rates[c][1]) {
            /* an input one sample short of what the outputs read */
            int64_t first, end;
            assert_int_equal(sa_resampler_span(r, 50000, 50064, &first, &end), SA_OK);
            assert_int_equal(sa_resampler_range(r, x + first + 40, first + 40, (size_t)(end - first - 40), false,
                                                50000, 50064, out),
                             SA_ERR_RANGE);
            assert_int_equal(sa_resampler_range(r, x + first, first, 40, false, 50000, 50064, out), SA_ERR_RANGE);
        }
        assert_int_equal(sa_resampler_range(r, x, 0, n, true, t, t + 1, out), SA_ERR_RANGE); /* past the end */
        assert_int_equal(sa_resampler_span(r, 10, 5, &(int64_t){0}, &(int64_t){0}), SA_ERR_INVALID);
        assert_int_equal(sa_resampler_process(r, x, 100, cap, &got), SA_ERR_INVALID);
        sa_resampler_free(r);
        free(whole);
    }
    sa_resampler *r;
    assert_int_equal(sa_resampler_new_quality(44100, 22050, SA_RESAMPLE_FAST, &r), SA_OK);
    int64_t first, end;
    assert_int_equal(sa_resampler_span(r, 0, 10, &first, &end), SA_ERR_INVALID);
    sa_resampler_free(r);
    free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_block_size_invariant),
        cmocka_unit_test(test_sines),
        cmocka_unit_test(test_fast_sines),
        cmocka_unit_test(test_identity_and_errors),
        cmocka_unit_test(test_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

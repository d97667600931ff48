/* resample.c: streaming band-limited resampling with resampy's kaiser_best filter.
 *
 * The tagger was trained on audio that librosa 0.7 resampled with resampy's
 * "kaiser_best" filter, and its tags move at the 1e-2 level with another
 * resampler, so this follows resampy's interpolation step by step: the
 * right half of a Kaiser-windowed sinc (64 zero crossings, 512 table entries
 * per crossing, beta 14.769656459379492, roll-off 0.9475937167399596) in a
 * table, read with linear interpolation between entries, stretched and
 * scaled by the ratio when downsampling, and a time register that advances
 * by in/out input samples per output sample, summed in double as resampy
 * does. Output length is ceil(n * out / in), like librosa: resampy computes
 * floor(n * out / in) samples and librosa pads the rest with zeros.
 *
 * The table is regrouped by phase, so that the taps of a wing read it
 * contiguously, two at a time in SSE2 registers (x86-64's baseline).
 *
 * Streaming: an output sample is computed once every input it reads has
 * arrived (its right wing is complete); the history kept is the filter's
 * two wings, so memory does not depend on the track. Equal rates pass the
 * audio through untouched, as librosa does. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "soundalike/resample.h"

enum {
    ZERO_CROSSINGS = 64,
    TABLE_PER_CROSSING = 512,
    TABLE_LEN = ZERO_CROSSINGS * TABLE_PER_CROSSING + 1,
    MAX_RATE = 1000000,
};
static const double KAISER_BETA = 14.769656459379492;
static const double ROLLOFF = 0.9475937167399596;

struct sa_resampler {
    double ratio; /* out_rate / in_rate */
    double step;  /* input samples per output sample */
    double scale; /* min(1, ratio): how much the filter is stretched */
    int index_step; /* table entries between two input samples */
    int wing;       /* most taps on either side of an output sample */
    bool identity;
    bool flushed;
    /* the filter table, scaled by the ratio when downsampling, and the step
     * from each entry to the next (0 for the last), both regrouped by
     * phase: the entries r, r + index_step, r + 2 index_step, ... that one
     * wing reads are contiguous from phase_start[r] on */
    double *win, *delta;
    int *phase_start;
    float *hist;   /* input samples from absolute index hist_base on */
    size_t hist_len, hist_cap;
    int64_t hist_base;
    int64_t n_in;  /* input samples received */
    int64_t n_out; /* output samples written */
    double time;   /* the next output's position, in input samples */
};

/* Modified Bessel function of the first kind, order 0, by its power series
 * (all terms positive, so it is accurate to a few ulp for the beta used). */
static double bessel_i0(double x) {
    double term = 1.0, sum = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 200 && term > sum * 1e-18; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

/* The right half of the windowed sinc, as resampy's sinc_window builds it,
 * regrouped by phase (see struct sa_resampler). */
static void fill_table(sa_resampler *r, double *table) {
    const double pi = 3.14159265358979323846;
    const int n = TABLE_LEN - 1, step = r->index_step;
    const double i0_beta = bessel_i0(KAISER_BETA);
    for (int i = 0; i <= n; i++) {
        double x = (double)i / n;
        double taper = bessel_i0(KAISER_BETA * sqrt(1.0 - x * x)) / i0_beta;
        double y = pi * (ROLLOFF * ((double)i / TABLE_PER_CROSSING));
        double sinc = i == 0 ? 1.0 : sin(y) / y;
        table[i] = taper * (ROLLOFF * sinc) * r->scale;
    }
    int k = 0;
    for (int phase = 0; phase < step; phase++) {
        r->phase_start[phase] = k;
        for (int i = phase; i <= n; i += step, k++) {
            r->win[k] = table[i];
            r->delta[k] = i < n ? table[i + 1] - table[i] : 0.0;
        }
    }
}

sa_err sa_resampler_new(int in_rate, int out_rate, sa_resampler **out) {
    if (in_rate <= 0 || out_rate <= 0 || in_rate > MAX_RATE || out_rate > MAX_RATE)
        return sa_error_set(SA_ERR_INVALID, "resampling from %d Hz to %d Hz: rates must be 1..%d", in_rate,
                            out_rate, MAX_RATE);
    sa_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return sa_error_set(SA_ERR_NOMEM, "resampler");
    r->ratio = (double)out_rate / in_rate;
    r->identity = in_rate == out_rate;
    if (!r->identity) {
        r->step = 1.0 / r->ratio;
        r->scale = r->ratio < 1.0 ? r->ratio : 1.0;
        r->index_step = (int)(r->scale * TABLE_PER_CROSSING);
        r->wing = TABLE_LEN / r->index_step;
        double *table = malloc(TABLE_LEN * sizeof *table);
        r->win = malloc(TABLE_LEN * sizeof *r->win);
        r->delta = malloc(TABLE_LEN * sizeof *r->delta);
        r->phase_start = malloc((size_t)r->index_step * sizeof *r->phase_start);
        if (!table || !r->win || !r->delta || !r->phase_start) {
            free(table);
            sa_resampler_free(r);
            return sa_error_set(SA_ERR_NOMEM, "resampling filter");
        }
        fill_table(r, table);
        free(table);
    }
    *out = r;
    return SA_OK;
}

void sa_resampler_free(sa_resampler *r) {
    if (!r)
        return;
    free(r->win);
    free(r->delta);
    free(r->phase_start);
    free(r->hist);
    free(r);
}

size_t sa_resampler_max_output(const sa_resampler *r, size_t n) {
    if (r->identity)
        return n;
    /* pending outputs wait for at most one wing of input; the +4 covers
     * rounding and the zero librosa's ceil may add at the end */
    return (size_t)((double)(n + 2 * (size_t)r->wing + 2) * r->ratio) + 4;
}

/* SSE2-sized vectors: x86-64's baseline, so no build flag is needed */
typedef double v2d __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));

static v2d load_v2d(const double *p) {
    v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* x[0] and x[dir] as doubles. */
static v2d load_x(const float *x, int dir) {
    v2f v = {x[0], x[dir]};
    return __builtin_convertvector(v, v2d);
}

/* One wing of the filter at a fractional table position: the sum of
 * x[dir * i] weighted by the interpolated table, over at most taps taps.
 * The sum is in double like resampy's, but in eight interleaved parts; the
 * order of double adds changes the float result only when a sum lies
 * within 1e-16 of a float rounding boundary, and the reference audio is
 * matched bit for bit. */
static double wing_sum(const sa_resampler *r, double frac, const float *x, int dir, int64_t taps) {
    double index_frac = frac * TABLE_PER_CROSSING;
    int offset = (int)index_frac;
    double eta = index_frac - offset;
    int64_t fit = (TABLE_LEN - offset) / r->index_step;
    if (taps > fit)
        taps = fit;
    /* entries offset, offset + index_step, ... are contiguous in the phase's run */
    const int start = r->phase_start[offset % r->index_step] + offset / r->index_step;
    const double *win = r->win + start, *delta = r->delta + start;
    v2d a = {0.0, 0.0}, b = a, c = a, d = a;
    int64_t i = 0;
    for (; i + 8 <= taps; i += 8) {
        a += (load_v2d(win + i) + eta * load_v2d(delta + i)) * load_x(x + dir * i, dir);
        b += (load_v2d(win + i + 2) + eta * load_v2d(delta + i + 2)) * load_x(x + dir * (i + 2), dir);
        c += (load_v2d(win + i + 4) + eta * load_v2d(delta + i + 4)) * load_x(x + dir * (i + 4), dir);
        d += (load_v2d(win + i + 6) + eta * load_v2d(delta + i + 6)) * load_x(x + dir * (i + 6), dir);
    }
    double sum = 0.0;
    for (; i < taps; i++)
        sum += (win[i] + eta * delta[i]) * x[dir * i];
    a = (a + b) + (c + d);
    return sum + (a[0] + a[1]);
}

/* The output at r->time, from the inputs received so far (n_in of them). */
static float output_sample(const sa_resampler *r) {
    int64_t n = (int64_t)r->time;
    double frac = r->scale * (r->time - (double)n);
    const float *x = r->hist + (n - r->hist_base);
    double left = wing_sum(r, frac, x, -1, n + 1);
    return (float)(left + wing_sum(r, r->scale - frac, x + 1, 1, r->n_in - n - 1));
}

static sa_err hist_append(sa_resampler *r, const float *in, size_t n) {
    if (r->hist_len + n > r->hist_cap) {
        size_t cap = (r->hist_len + n) * 2;
        float *grown = realloc(r->hist, cap * sizeof *grown);
        if (!grown)
            return sa_error_set(SA_ERR_NOMEM, "resampler history of %zu samples", cap);
        r->hist = grown;
        r->hist_cap = cap;
    }
    memcpy(r->hist + r->hist_len, in, n * sizeof *in);
    r->hist_len += n;
    r->n_in += (int64_t)n;
    return SA_OK;
}

/* Keeps only the inputs that outputs still to come can read. */
static void hist_trim(sa_resampler *r) {
    int64_t keep_from = (int64_t)r->time - r->wing;
    if (keep_from <= r->hist_base)
        return;
    size_t drop = (size_t)(keep_from - r->hist_base);
    if (drop > r->hist_len)
        drop = r->hist_len;
    memmove(r->hist, r->hist + drop, (r->hist_len - drop) * sizeof *r->hist);
    r->hist_len -= drop;
    r->hist_base += (int64_t)drop;
}

sa_err sa_resampler_process(sa_resampler *r, const float *in, size_t n, float *out, size_t *produced) {
    *produced = 0;
    if (r->flushed)
        return sa_error_set(SA_ERR_INVALID, "resampler fed after its flush");
    if (r->identity) {
        memcpy(out, in, n * sizeof *in);
        *produced = n;
        return SA_OK;
    }
    sa_err err = hist_append(r, in, n);
    if (err)
        return err;
    size_t k = 0;
    while ((int64_t)r->time + r->wing < r->n_in) {
        out[k++] = output_sample(r);
        r->time += r->step;
    }
    r->n_out += (int64_t)k;
    *produced = k;
    hist_trim(r);
    return SA_OK;
}

sa_err sa_resampler_flush(sa_resampler *r, float *out, size_t cap, size_t *produced) {
    *produced = 0;
    if (r->flushed)
        return sa_error_set(SA_ERR_INVALID, "resampler flushed twice");
    r->flushed = true;
    if (r->identity)
        return SA_OK;
    int64_t computed = (int64_t)((double)r->n_in * r->ratio);
    int64_t total = (int64_t)ceil((double)r->n_in * r->ratio);
    if (total - r->n_out > (int64_t)cap)
        return sa_error_set(SA_ERR_RANGE, "resampler flush needs %lld samples, buffer holds %zu",
                            (long long)(total - r->n_out), cap);
    size_t k = 0;
    for (; r->n_out < computed; r->n_out++) {
        out[k++] = output_sample(r);
        r->time += r->step;
    }
    for (; r->n_out < total; r->n_out++)
        out[k++] = 0.0f;
    *produced = k;
    return SA_OK;
}

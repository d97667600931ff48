/* chroma.c: harmonic pitch-class profile (HPCP, after Gomez 2006) with tuning estimation.
 *
 * Each frame (about 186 ms, Blackman-Harris, half overlap) yields its
 * spectral peaks between 25 Hz and 5 kHz, refined by parabolic
 * interpolation. The bass often names the key: starting at 60 Hz instead
 * cost 0.04 of the weighted key score in bench/accuracy, even though bins
 * of 5.4 Hz cannot separate semitones below about 90 Hz.
 *
 * A peak at f may be the h-th harmonic of a note at f/h, so it adds its
 * power at the pitch class of f/h for h = 1..4, weighted by 1/h^2: the
 * power of the h-th harmonic of a tone whose partials fall as 1/h. (Gomez's
 * 0.6^(h-1) on power moved mass to the subdominant and chose keys a fourth
 * too high more often in bench/accuracy; 1/h^2 scored as well as no
 * harmonics at all.) Pitch classes are kept at 10 cents resolution
 * relative to A = 440 Hz; a frame's histogram is scaled to a maximum of 1
 * (loud and quiet passages count alike) and added to the track's.
 *
 * Tuning: the deviation of each peak from the nearest equal-tempered
 * semitone is an angle on a circle of one semitone; the amplitude-weighted
 * circular mean of those angles is the tuning offset. The fine histogram is
 * folded to 12 classes only at the end, around the semitones of the
 * measured tuning, so a track tuned to 432 Hz keeps its notes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/chroma.h"
#include "soundalike/stft.h"

enum { FINE_PER_SEMITONE = 10, FINE_BINS = 12 * FINE_PER_SEMITONE, HARMONICS = 4 };
#define FMIN 25.0
#define FMAX 5000.0
#define PEAK_FLOOR 3e-5f     /* -90 dB re a full-scale sine: below is silence */
#define PEAK_RELATIVE 0.01f  /* -40 dB re the frame's loudest peak */

struct sa_chroma {
    int rate, n_fft, hop;
    sa_stft *stft;
    float *frame;
    int fill;
    float *power;   /* |X[k]|^2 of the frame */
    int kmin, kmax; /* bins searched for peaks */
    float frame_hist[FINE_BINS];
    double hist[FINE_BINS]; /* sum of the frames' normalised histograms */
    double tune_cos, tune_sin;
};

sa_err sa_chroma_new(int rate, sa_chroma **out) {
    if (rate < 8000 || rate > 192000)
        return sa_error_set(SA_ERR_INVALID, "chroma: sample rate %d out of range", rate);
    sa_chroma *c = calloc(1, sizeof *c);
    if (!c)
        return sa_error_set(SA_ERR_NOMEM, "chroma");
    c->rate = rate;
    c->n_fft = 1024;
    while (c->n_fft < 0.18 * rate)
        c->n_fft *= 2;
    c->hop = c->n_fft / 2;
    c->kmin = (int)floor(FMIN * c->n_fft / rate);
    if (c->kmin < 1)
        c->kmin = 1;
    c->kmax = (int)ceil(fmin(FMAX, 0.45 * rate) * c->n_fft / rate);
    c->frame = malloc(sizeof(float) * (size_t)c->n_fft);
    c->power = malloc(sizeof(float) * (size_t)(c->n_fft / 2 + 1));
    sa_err err = c->frame && c->power ? SA_OK : sa_error_set(SA_ERR_NOMEM, "chroma buffers");
    if (!err)
        err = sa_stft_new(c->n_fft, SA_WINDOW_BLACKMAN_HARRIS, &c->stft);
    if (err) {
        sa_chroma_free(c);
        return err;
    }
    *out = c;
    return SA_OK;
}

void sa_chroma_free(sa_chroma *c) {
    if (!c)
        return;
    sa_stft_free(c->stft);
    free(c->frame);
    free(c->power);
    free(c);
}

/* Adds weight at semitone position p (relative to A 440) to the fine histogram, split
 * between the two nearest bins. */
static void add_pitch(float *hist, float p, float weight) {
    float q = p * FINE_PER_SEMITONE;
    q -= FINE_BINS * floorf(q / FINE_BINS);
    int lo = (int)q;
    float f = q - (float)lo;
    hist[lo % FINE_BINS] += (1.0f - f) * weight;
    hist[(lo + 1) % FINE_BINS] += f * weight;
}

/* Adds one peak (frequency, amplitude) as the harmonics it may be. Single
 * precision is ample: a semitone position is off by less than 1e-5. */
static void add_peak(sa_chroma *c, float freq, float amp) {
    float p = 12.0f * log2f(freq / 440.0f);
    float dev = p - floorf(p + 0.5f), s, co;
    sincosf(2.0f * (float)M_PI * dev, &s, &co);
    c->tune_cos += amp * co;
    c->tune_sin += amp * s;
    static const float octaves[HARMONICS] = {0.0f, 12.0f, 19.01955f, 24.0f}; /* 12 log2(h) */
    for (int h = 1; h <= HARMONICS; h++)
        add_pitch(c->frame_hist, p - octaves[h - 1], amp * amp / (float)(h * h));
}

static void analyse_frame(sa_chroma *c) {
    /* peaks are found on the power spectrum (the same bins as on magnitudes, no square roots) */
    sa_stft_power(c->stft, c->frame, c->power);
    const float *pw = c->power;
    const float scale = 2.0f / (0.35875f * (float)c->n_fft); /* a full-scale sine peaks at 1 */
    float loudest = 0.0f;
    for (int k = c->kmin; k <= c->kmax; k++)
        loudest = pw[k] > loudest ? pw[k] : loudest;
    if (loudest * scale * scale < PEAK_FLOOR * PEAK_FLOOR)
        return;
    float floor_power = loudest * PEAK_RELATIVE * PEAK_RELATIVE;
    memset(c->frame_hist, 0, sizeof c->frame_hist);
    for (int k = c->kmin; k <= c->kmax; k++) {
        float m = pw[k];
        if (m < floor_power || m <= pw[k - 1] || m < pw[k + 1])
            continue;
        /* parabola through the log magnitudes (half the log powers) of the peak and its neighbours */
        float a = 0.5f * logf(pw[k - 1] + 1e-30f), b = 0.5f * logf(m), g = 0.5f * logf(pw[k + 1] + 1e-30f);
        float den = a - 2.0f * b + g;
        float d = den < 0.0f ? 0.5f * (a - g) / den : 0.0f;
        float amp = expf(b - 0.25f * (a - g) * d) * scale;
        add_peak(c, ((float)k + d) * (float)c->rate / (float)c->n_fft, amp);
    }
    float top = 0.0f;
    for (int i = 0; i < FINE_BINS; i++)
        top = c->frame_hist[i] > top ? c->frame_hist[i] : top;
    if (top > 0.0f)
        for (int i = 0; i < FINE_BINS; i++)
            c->hist[i] += c->frame_hist[i] / top;
}

sa_err sa_chroma_feed(sa_chroma *c, const float *x, size_t n) {
    while (n > 0) {
        size_t take = (size_t)(c->n_fft - c->fill);
        if (take > n)
            take = n;
        memcpy(c->frame + c->fill, x, take * sizeof(float));
        c->fill += (int)take;
        x += take;
        n -= take;
        if (c->fill < c->n_fft)
            break;
        analyse_frame(c);
        memmove(c->frame, c->frame + c->hop, sizeof(float) * (size_t)(c->n_fft - c->hop));
        c->fill = c->n_fft - c->hop;
    }
    return SA_OK;
}

void sa_chroma_profile(const sa_chroma *c, float pcp[12], float *tuning_cents) {
    double tuning = atan2(c->tune_sin, c->tune_cos) / (2.0 * M_PI); /* semitones, [-0.5, 0.5] */
    if (tuning >= 0.5)
        tuning -= 1.0;
    double sum[12] = {0};
    for (int i = 0; i < FINE_BINS; i++) {
        double u = (double)i / FINE_PER_SEMITONE - tuning; /* semitones above the tuned A */
        double nearest = floor(u + 0.5);
        double w = cos(M_PI * (u - nearest));
        int cls = ((int)nearest + 9) % 12; /* A is class 9 when C is 0 */
        sum[cls] += w * w * c->hist[i];
    }
    double top = 0.0;
    for (int k = 0; k < 12; k++)
        top = fmax(top, sum[k]);
    for (int k = 0; k < 12; k++)
        pcp[k] = top > 0.0 ? (float)(sum[k] / top) : 0.0f;
    if (tuning_cents)
        *tuning_cents = (float)(100.0 * tuning);
}

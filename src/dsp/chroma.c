/* chroma.c: pitch-class profile of spectral peaks (after Gomez's HPCP, 2006) with tuning estimation.
 *
 * Only the band from 25 Hz to 2 kHz is analysed: bench/accuracy scored the
 * same key (0.763 weighted) with the peaks below 1.5, 2 or 2.5 kHz as with
 * those below 5 kHz, and 0.758 below 1 kHz. So the input is first halved in
 * rate (halfband filters of a few taps) while the halved rate stays at 2.5
 * times the band's top or more: 22050 Hz becomes 5512.5 Hz, and each
 * frame's FFT is a quarter as long as it would be at the input rate.
 *
 * Each frame (about 186 ms, Blackman-Harris, half overlap) yields its
 * spectral peaks, refined by parabolic interpolation. The bass often names
 * the key: starting at 60 Hz instead of 25 cost 0.04 of the weighted key
 * score in bench/accuracy, even though bins of 5.4 Hz cannot separate
 * semitones below about 90 Hz.
 *
 * A peak adds its power at its own pitch class. Over the 60 key labels,
 * also crediting the pitch classes a peak would be the 3rd harmonic of, as
 * Gomez's HPCP does, scored 0.758 with weights 1/h^2 on the h-th harmonic
 * and less with slower decays; suppressing peaks that lower peaks explain
 * as harmonics, weighting the bass up, whitening the spectrum, weighting
 * peaks by amplitude instead of power, and weighting frames by energy or
 * tonalness all scored lower; gating quiet frames moved the score up or
 * down by 0.01-0.02 with the gate's level, no consistent gain.
 * The 41 "notes" labels come from each MIDI file's pitch-class histogram of
 * note durations; this chroma correlates with it at 0.939 on average
 * (Pearson, per file), but that similarity tracks the key score poorly.
 * Variants as weighted key score / mean correlation (0.763 / 0.939 as it
 * is): a class's presence per frame (above 0.05-0.7 of the frame's largest)
 * 0.66-0.78 / 0.84-0.93; classes per frame raised to 0.25-3, or
 * soft-thresholded at 0.05-0.3, 0.66-0.78 / 0.88-0.93; frames scaled by
 * their sum 0.768 / 0.926; a peak hold decaying by 0.3-0.95 a frame
 * 0.60-0.75 / 0.74-0.94; onsets weighted up 0.69-0.76 / 0.91-0.93; bands
 * from 25-60 Hz to 1-2.5 kHz 0.71-0.78 / 0.93-0.94; 0.1-1 of a peak's power
 * taken from the peaks at its 3rd and/or 5th harmonic
 * 0.73-0.78 / 0.940-0.945; each peak counted once above 0.001-0.3 of the
 * frame's loudest 0.58-0.74 / 0.74-0.93; peak powers raised to 0.25-3
 * 0.60-0.78 / 0.83-0.94; harmonic-percussive separation before peak picking
 * (Fitzgerald 2010: medians over 3-31 frames and 5-65 bins, masks of
 * exponent 1-20) 0.56-0.75 / 0.88-0.95, closer to the notes but worse keys.
 * None raised both at neighbouring settings; the margin of the labelled
 * key's correlation over the next key's (clipped at 0.25) averages 0.046
 * here and at most 0.047 in any variant.
 * Pitch classes are kept at 10 cents resolution relative to A = 440 Hz; a
 * frame's histogram is scaled to a maximum of 1 (loud and quiet passages
 * count alike) and added to the track's.
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

enum { FINE_PER_SEMITONE = 10, FINE_BINS = 12 * FINE_PER_SEMITONE, MAX_STAGES = 8, CHUNK = 2048, LANES = 4 };
#define FMIN 25.0
#define FMAX 2000.0
#define PEAK_FLOOR 3e-5f    /* -90 dB re a full-scale sine: below is silence */
#define PEAK_RELATIVE 0.01f /* -40 dB re the frame's loudest peak */

/* One halving of the rate: a halfband lowpass (every other tap zero but the
 * centre's), evaluated only at the samples kept. */
typedef struct halfband {
    int half;    /* the filter spans centre +- half samples (half is odd) */
    float centre; /* the weight of the centre sample */
    float *taps;  /* taps[j]: the weight of the samples 2j+1 either side of the centre */
    float *buf;   /* input not yet consumed: the span of the next output and what follows */
    float *even;  /* buf's even samples, then zeros */
    float *odd;   /* buf's odd samples, then zeros */
    int have;     /* samples in buf */
} halfband;

struct sa_chroma {
    double rate; /* of the analysed stream, after the halvings */
    int n_fft, hop;
    int stages;
    halfband stage[MAX_STAGES];
    float *work[2]; /* a chunk's output of the stages */
    sa_stft *stft;
    float *frame;
    int fill;
    float *power;   /* |X[k]|^2 of the frame */
    int kmin, kmax; /* bins searched for peaks */
    float frame_hist[FINE_BINS];
    double hist[FINE_BINS]; /* sum of the frames' normalised histograms */
    double tune_cos, tune_sin;
};

/* A Blackman-windowed sinc (stopband at -74 dB) that passes FMAX and stops
 * from out_rate - FMAX up, so that nothing folds into the band when every
 * other sample is dropped. Its length follows from the transition width
 * (about 5.5 / width taps for a Blackman window). */
static sa_err halfband_init(halfband *h, double in_rate) {
    double width = (in_rate / 2.0 - 2.0 * FMAX) / in_rate; /* cycles per sample */
    int half = (int)ceil(5.5 / width / 2.0);
    half |= 1; /* the outermost taps are then nonzero */
    h->half = half;
    h->taps = malloc(sizeof(float) * (size_t)(half + 1) / 2);
    h->buf = calloc((size_t)(2 * half + 2 + CHUNK), sizeof(float));
    h->even = calloc((size_t)(half + 2 + CHUNK / 2 + LANES), sizeof(float));
    h->odd = calloc((size_t)(half + 2 + CHUNK / 2 + LANES), sizeof(float));
    if (!h->taps || !h->buf || !h->even || !h->odd)
        return sa_error_set(SA_ERR_NOMEM, "chroma filter");
    double sum = 0.5;
    for (int j = 0; 2 * j + 1 <= half; j++) {
        double k = 2 * j + 1, t = M_PI * (k / (half + 1) + 1.0); /* window phase, 0 to 2 pi over the span */
        double w = 0.42 - 0.5 * cos(t) + 0.08 * cos(2.0 * t);
        h->taps[j] = (float)(w * sin(M_PI * k / 2.0) / (M_PI * k));
        sum += 2.0 * h->taps[j];
    }
    for (int j = 0; 2 * j + 1 <= half; j++) /* unit gain at 0 Hz */
        h->taps[j] = (float)(h->taps[j] / sum);
    h->centre = (float)(0.5 / sum);
    return SA_OK;
}
typedef float v4f __attribute__((vector_size(4 * LANES)));

/* Feeds n <= CHUNK samples to stage h; writes the outputs now complete to
 * out (room for LANES more) and returns their number. Output m is centred
 * on the odd sample 2m + half, so its other taps read even samples only:
 * with the samples split by parity, each tap is a pass over contiguous
 * arrays, LANES outputs at a time (the last group runs into the arrays'
 * zeroed padding; what it computes there is not returned). */
static int halfband_run(halfband *h, const float *x, int n, float *out) {
    memcpy(h->buf + h->have, x, sizeof(float) * (size_t)n);
    h->have += n;
    int made = h->have > 2 * h->half ? (h->have - 2 * h->half + 1) / 2 : 0;
    for (int i = 0; 2 * i < h->have; i++) { /* an odd have copies one sample past it, never used */
        h->even[i] = h->buf[2 * i];
        h->odd[i] = h->buf[2 * i + 1];
    }
    int r = (h->half - 1) / 2; /* the centre of output 0 is odd sample r */
    for (int m = 0; m < made; m += LANES) {
        v4f y, before, after;
        memcpy(&y, h->odd + r + m, sizeof y);
        y *= h->centre;
        for (int j = 0; j <= r; j++) {
            memcpy(&before, h->even + r - j + m, sizeof before);
            memcpy(&after, h->even + r + 1 + j + m, sizeof after);
            y += h->taps[j] * (before + after);
        }
        memcpy(out + m, &y, sizeof y);
    }
    h->have -= 2 * made;
    memmove(h->buf, h->buf + 2 * made, sizeof(float) * (size_t)h->have);
    return made;
}

sa_err sa_chroma_new(int rate, sa_chroma **out) {
    if (rate < 8000 || rate > 192000)
        return sa_error_set(SA_ERR_INVALID, "chroma: sample rate %d out of range", rate);
    sa_chroma *c = calloc(1, sizeof *c);
    if (!c)
        return sa_error_set(SA_ERR_NOMEM, "chroma");
    c->rate = rate;
    sa_err err = SA_OK;
    /* halve while the halved rate stays at 2.5 FMAX or more: room for a short filter */
    while (!err && c->rate / 2.0 >= 2.5 * FMAX && c->stages < MAX_STAGES) {
        err = halfband_init(&c->stage[c->stages++], c->rate);
        c->rate /= 2.0;
    }
    c->n_fft = 256;
    while (c->n_fft < 0.18 * c->rate)
        c->n_fft *= 2;
    c->hop = c->n_fft / 2;
    c->kmin = (int)floor(FMIN * c->n_fft / c->rate);
    if (c->kmin < 1)
        c->kmin = 1;
    c->kmax = (int)ceil(fmin(FMAX, 0.45 * c->rate) * c->n_fft / c->rate);
    c->work[0] = malloc(sizeof(float) * (CHUNK + LANES));
    c->work[1] = malloc(sizeof(float) * (CHUNK + LANES));
    c->frame = malloc(sizeof(float) * (size_t)c->n_fft);
    c->power = malloc(sizeof(float) * (size_t)(c->n_fft / 2 + 1));
    if (!err && !(c->work[0] && c->work[1] && c->frame && c->power))
        err = sa_error_set(SA_ERR_NOMEM, "chroma buffers");
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
    for (int s = 0; s < c->stages; s++) {
        free(c->stage[s].taps);
        free(c->stage[s].buf);
        free(c->stage[s].even);
        free(c->stage[s].odd);
    }
    free(c->work[0]);
    free(c->work[1]);
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

/* Adds one peak (frequency, amplitude) to the tuning and the frame's
 * histogram. Single precision is ample: a semitone position is off by less
 * than 1e-5. */
static void add_peak(sa_chroma *c, float freq, float amp) {
    float p = 12.0f * log2f(freq / 440.0f);
    float dev = p - floorf(p + 0.5f), s, co;
    sincosf(2.0f * (float)M_PI * dev, &s, &co);
    c->tune_cos += amp * co;
    c->tune_sin += amp * s;
    add_pitch(c->frame_hist, p, amp * amp);
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

/* Adds n samples at the analysed rate to the frames. */
static void add_samples(sa_chroma *c, const float *x, int n) {
    while (n > 0) {
        int take = c->n_fft - c->fill < n ? c->n_fft - c->fill : n;
        memcpy(c->frame + c->fill, x, sizeof(float) * (size_t)take);
        c->fill += take;
        x += take;
        n -= take;
        if (c->fill < c->n_fft)
            break;
        analyse_frame(c);
        memmove(c->frame, c->frame + c->hop, sizeof(float) * (size_t)(c->n_fft - c->hop));
        c->fill = c->n_fft - c->hop;
    }
}

sa_err sa_chroma_feed(sa_chroma *c, const float *x, size_t n) {
    while (n > 0) {
        int take = n < CHUNK ? (int)n : CHUNK;
        const float *in = x;
        int got = take;
        for (int s = 0; s < c->stages; s++) {
            got = halfband_run(&c->stage[s], in, got, c->work[s % 2]);
            in = c->work[s % 2];
        }
        add_samples(c, in, got);
        x += take;
        n -= (size_t)take;
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

/* melspec.c: streaming mel spectrogram with librosa 0.7's framing and filterbank.
 *
 * The samples of the stream are kept from the first one the next frame
 * reads; a frame is computed as soon as its last sample has arrived, and
 * the frames that reach past the end wait for the flush, which knows where
 * the reflection starts. Bands are stored as the run of bins where their
 * triangle is non-zero, so a frame costs one FFT and a few hundred
 * multiply-adds. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "soundalike/melspec.h"
#include "soundalike/stft.h"

struct sa_melspec {
    sa_melspec_config cfg;
    int bins;
    sa_stft *stft;
    float *weights; /* [n_mels][bins] */
    int *first, *last; /* per band, its non-zero bins first..last (last < first: none) */
    float *power;   /* one frame's spectrum */
    float *frame;   /* one frame's samples, when it needs the reflection */
    float *hist;    /* stream samples from absolute index hist_base on */
    size_t hist_len, hist_cap;
    int64_t hist_base;
    int64_t n_in;   /* samples received */
    int64_t next;   /* index of the next frame to compute */
    bool flushed;
};

/* Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa htk=False). */
static const double MEL_F_SP = 200.0 / 3.0;
static const double MEL_MIN_LOG_HZ = 1000.0;

static double hz_to_mel(double hz) {
    const double min_log_mel = MEL_MIN_LOG_HZ / MEL_F_SP, logstep = log(6.4) / 27.0;
    return hz >= MEL_MIN_LOG_HZ ? min_log_mel + log(hz / MEL_MIN_LOG_HZ) / logstep : hz / MEL_F_SP;
}

static double mel_to_hz(double mel) {
    const double min_log_mel = MEL_MIN_LOG_HZ / MEL_F_SP, logstep = log(6.4) / 27.0;
    return mel >= min_log_mel ? MEL_MIN_LOG_HZ * exp(logstep * (mel - min_log_mel)) : MEL_F_SP * mel;
}

/* numpy.linspace(start, stop, n)[i]: start + i * step, the last one exactly stop. */
static double linspace(double start, double stop, int n, int i) {
    return i == n - 1 ? stop : (double)i * ((stop - start) / (n - 1)) + start;
}

sa_err sa_mel_filterbank(int rate, int n_fft, int n_mels, float lo_hz, float hi_hz, float *weights) {
    if (hi_hz <= 0.0f)
        hi_hz = (float)rate / 2.0f;
    if (rate <= 0 || n_fft < 2 || n_mels < 1 || lo_hz < 0.0f || lo_hz >= hi_hz || hi_hz > (float)rate / 2.0f)
        return sa_error_set(SA_ERR_INVALID, "mel filterbank: %d bands from %g to %g Hz at %d Hz, FFT %d", n_mels,
                            (double)lo_hz, (double)hi_hz, rate, n_fft);
    const int bins = n_fft / 2 + 1;
    double *edges = malloc((size_t)(n_mels + 2) * sizeof *edges);
    if (!edges)
        return sa_error_set(SA_ERR_NOMEM, "mel filterbank");
    const double mel_lo = hz_to_mel(lo_hz), mel_hi = hz_to_mel(hi_hz);
    for (int i = 0; i < n_mels + 2; i++)
        edges[i] = mel_to_hz(linspace(mel_lo, mel_hi, n_mels + 2, i));
    for (int m = 0; m < n_mels; m++) {
        const double enorm = 2.0 / (edges[m + 2] - edges[m]);
        for (int k = 0; k < bins; k++) {
            double f = linspace(0.0, rate / 2.0, bins, k);
            double lower = -(edges[m] - f) / (edges[m + 1] - edges[m]);
            double upper = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
            double tri = lower < upper ? lower : upper;
            if (tri < 0.0)
                tri = 0.0;
            /* librosa stores the triangle as float32, then scales it in double */
            weights[(size_t)m * bins + k] = (float)((double)(float)tri * enorm);
        }
    }
    free(edges);
    return SA_OK;
}

/* The value of x rounded to the nearest float16 (ties to even, subnormals
 * included), as numpy's astype(float16) does; saturates at the largest
 * finite float16. */
static float round_to_half(float x) {
    if (!(x > 0.0f))
        return 0.0f;
    int e;
    frexpf(x, &e); /* x = m * 2^e, 0.5 <= m < 1 */
    int q = e - 1 - 10; /* 10 fraction bits below the leading one */
    if (q < -24)
        q = -24; /* float16 subnormals are multiples of 2^-24 */
    float r = ldexpf(rintf(ldexpf(x, -q)), q);
    return r < 65504.0f ? r : 65504.0f;
}

sa_err sa_melspec_new(const sa_melspec_config *cfg, sa_melspec **out) {
    if (cfg->hop < 1 || cfg->hop > cfg->n_fft)
        return sa_error_set(SA_ERR_INVALID, "mel spectrogram: hop %d for frames of %d", cfg->hop, cfg->n_fft);
    if (cfg->output != SA_MEL_POWER && cfg->output != SA_MEL_LOG_MUSICNN)
        return sa_error_set(SA_ERR_INVALID, "mel spectrogram: unknown output %d", (int)cfg->output);
    sa_melspec *m = calloc(1, sizeof *m);
    if (!m)
        return sa_error_set(SA_ERR_NOMEM, "mel spectrogram");
    m->cfg = *cfg;
    sa_err err = sa_stft_new(cfg->n_fft, SA_WINDOW_HANN_PERIODIC, &m->stft);
    if (err) {
        free(m);
        return err;
    }
    m->bins = cfg->n_fft / 2 + 1;
    m->weights = malloc((size_t)cfg->n_mels * (size_t)m->bins * sizeof *m->weights);
    m->first = malloc((size_t)cfg->n_mels * sizeof *m->first);
    m->last = malloc((size_t)cfg->n_mels * sizeof *m->last);
    m->power = malloc((size_t)m->bins * sizeof *m->power);
    m->frame = malloc((size_t)cfg->n_fft * sizeof *m->frame);
    if (!m->weights || !m->first || !m->last || !m->power || !m->frame)
        err = sa_error_set(SA_ERR_NOMEM, "mel spectrogram");
    if (!err)
        err = sa_mel_filterbank(cfg->rate, cfg->n_fft, cfg->n_mels, cfg->fmin, cfg->fmax, m->weights);
    if (err) {
        sa_melspec_free(m);
        return err;
    }
    for (int b = 0; b < cfg->n_mels; b++) {
        const float *w = m->weights + (size_t)b * m->bins;
        m->first[b] = 0;
        m->last[b] = -1;
        for (int k = 0; k < m->bins; k++)
            if (w[k] != 0.0f) {
                if (m->last[b] < 0)
                    m->first[b] = k;
                m->last[b] = k;
            }
    }
    *out = m;
    return SA_OK;
}

void sa_melspec_free(sa_melspec *m) {
    if (!m)
        return;
    sa_stft_free(m->stft);
    free(m->weights);
    free(m->first);
    free(m->last);
    free(m->power);
    free(m->frame);
    free(m->hist);
    free(m);
}

size_t sa_melspec_max_frames(const sa_melspec *m, size_t n) {
    return (n + (size_t)m->cfg.n_fft) / (size_t)m->cfg.hop + 2;
}

/* Band energies (and their compression) of the frame starting at samples. */
static void frame_bands(sa_melspec *m, const float *samples, float *bands) {
    sa_stft_power(m->stft, samples, m->power);
    for (int b = 0; b < m->cfg.n_mels; b++) {
        const float *w = m->weights + (size_t)b * m->bins;
        float e = 0.0f;
        for (int k = m->first[b]; k <= m->last[b]; k++)
            e += w[k] * m->power[k];
        bands[b] = m->cfg.output == SA_MEL_LOG_MUSICNN ? log10f(10000.0f * round_to_half(e) + 1.0f) : e;
    }
}

/* Index i of the stream extended by reflection at both ends (numpy's
 * 'reflect' padding, repeated for streams shorter than the padding). */
static int64_t reflect(int64_t i, int64_t n) {
    if (n == 1)
        return 0;
    const int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

/* Computes frame t; its samples must all be in the history (reflected ones
 * included), which process and flush guarantee. */
static void compute_frame(sa_melspec *m, int64_t t, float *bands) {
    const int64_t start = t * m->cfg.hop - m->cfg.n_fft / 2, end = start + m->cfg.n_fft;
    if (start >= 0 && end <= m->n_in) {
        frame_bands(m, m->hist + (start - m->hist_base), bands);
        return;
    }
    for (int64_t i = start; i < end; i++)
        m->frame[i - start] = m->hist[reflect(i, m->n_in) - m->hist_base];
    frame_bands(m, m->frame, bands);
}

/* Drops the samples that no frame still to come reads (a whole frame back
 * is kept for the reflection at the end). */
static void hist_trim(sa_melspec *m) {
    int64_t keep_from = m->next * m->cfg.hop - m->cfg.n_fft;
    if (keep_from <= m->hist_base)
        return;
    size_t drop = (size_t)(keep_from - m->hist_base);
    memmove(m->hist, m->hist + drop, (m->hist_len - drop) * sizeof *m->hist);
    m->hist_len -= drop;
    m->hist_base = keep_from;
}

sa_err sa_melspec_process(sa_melspec *m, const float *in, size_t n, float *frames, size_t *produced) {
    *produced = 0;
    if (m->flushed)
        return sa_error_set(SA_ERR_INVALID, "mel spectrogram fed after its flush");
    if (m->hist_len + n > m->hist_cap) {
        size_t cap = (m->hist_len + n) * 2;
        float *grown = realloc(m->hist, cap * sizeof *grown);
        if (!grown)
            return sa_error_set(SA_ERR_NOMEM, "mel spectrogram history of %zu samples", cap);
        m->hist = grown;
        m->hist_cap = cap;
    }
    memcpy(m->hist + m->hist_len, in, n * sizeof *in);
    m->hist_len += n;
    m->n_in += (int64_t)n;
    /* a frame is complete when its last sample has come; strictly before
     * the end, so that the first frame's reflection (samples 1..n_fft/2)
     * has come too */
    size_t k = 0;
    while (m->next * m->cfg.hop + m->cfg.n_fft / 2 < m->n_in) {
        compute_frame(m, m->next++, frames + k * (size_t)m->cfg.n_mels);
        k++;
    }
    *produced = k;
    hist_trim(m);
    return SA_OK;
}

sa_err sa_melspec_flush(sa_melspec *m, float *frames, size_t cap, size_t *produced) {
    *produced = 0;
    if (m->flushed)
        return sa_error_set(SA_ERR_INVALID, "mel spectrogram flushed twice");
    m->flushed = true;
    if (m->n_in == 0)
        return SA_OK;
    const int64_t total = 1 + m->n_in / m->cfg.hop;
    if (total - m->next > (int64_t)cap)
        return sa_error_set(SA_ERR_RANGE, "mel spectrogram flush needs %lld frames, buffer holds %zu",
                            (long long)(total - m->next), cap);
    size_t k = 0;
    for (; m->next < total; m->next++, k++)
        compute_frame(m, m->next, frames + k * (size_t)m->cfg.n_mels);
    *produced = k;
    return SA_OK;
}

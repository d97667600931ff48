/* resample.c: streaming band-limited resampling, resampy's kaiser_best filter or a short polyphase one.
 *
 * BEST. The tagger was trained on audio that librosa 0.7 resampled with
 * resampy's "kaiser_best" filter, and its tags move at the 1e-2 level with
 * another resampler, so this follows resampy's interpolation step by step:
 * the right half of a Kaiser-windowed sinc (64 zero crossings, 512 table
 * entries per crossing, beta 14.769656459379492, roll-off
 * 0.9475937167399596) in a table, read with linear interpolation between
 * entries, stretched and scaled by the ratio when downsampling, and a time
 * register that advances by in/out input samples per output sample, summed
 * in double as resampy does. Output length is ceil(n * out / in), like
 * librosa: resampy computes floor(n * out / in) samples and librosa pads
 * the rest with zeros. The table is regrouped by phase, so that the taps of
 * a wing read it contiguously, four at a time; the loop is compiled twice,
 * for x86-64's baseline (SSE2) and for AVX2, and the machine picks one when
 * the program loads. Both do the same double operations in the same order
 * (no fused multiply-add: FMA is not enabled), so they give the same bits.
 *
 * FAST. The descriptors need the band they analyse, not resampy's bits. A
 * Kaiser-windowed sinc (beta 10, 16 zero crossings on each side, cut off at
 * the lower Nyquist frequency) is sampled once per phase: for out/in = L/M
 * in lowest terms there are L phases (at most MAX_PHASES; rarer ratios
 * round the phase to the nearest of MAX_PHASES), each a row of taps summing
 * to 1, and the time is kept exactly as an integer count of 1/L input
 * samples. An output is then one dot product in float: 64 taps from 44.1
 * or 48 kHz to 22.05 kHz, against BEST's 256 interpolated ones in double.
 * From an exact factor 2 down (44.1 to 22.05 kHz) every other tap is zero
 * and the row symmetric: that case sums 17 products an output
 * (halfband_run).
 *
 * Streaming, either quality: an output sample is computed once every input
 * it reads has arrived; the history kept is the filter's span, so memory
 * does not depend on the track. Equal rates pass the audio through
 * untouched, as librosa does.
 *
 * Ranges (BEST). The same loop, pointed at a stretch of input the caller
 * holds: the history is that stretch, the input count its end, and the
 * time register is brought to the first output asked for by the same
 * additions the stream would have made, so each output reads the same
 * inputs with the same weights and comes out with the same bits. */
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
    FAST_ZERO_CROSSINGS = 16, /* on each side */
    FAST_TAP_GROUP = 16,      /* rows are padded to a multiple of this (two AVX vectors) */
    MAX_PHASES = 1024,
    BEST_CHUNK = 1024, /* outputs computed together, in the order of their table phase */
};
static const double KAISER_BETA = 14.769656459379492;
static const double ROLLOFF = 0.9475937167399596;
static const double FAST_BETA = 10.0;
static const double PI = 3.14159265358979323846;

/* What an object has been used for: the stream calls and the range calls
 * keep different things in the history, so one object does one of them. */
typedef enum resampler_use { USE_NONE, USE_STREAM, USE_RANGES } resampler_use;

struct sa_resampler {
    sa_resample_quality quality;
    resampler_use use;
    double ratio; /* out_rate / in_rate */
    bool identity;
    bool flushed;
    size_t reach;  /* most inputs a pending output may still wait for */
    /* input samples from absolute index hist_base on: doubles for BEST
     * (converted once, not once per tap), floats for FAST */
    void *hist;
    size_t elem; /* sizeof one of them */
    size_t hist_len, hist_cap;
    int64_t hist_base;
    int64_t n_in;  /* input samples received (ranges: the end of the stretch held) */
    int64_t n_out; /* output samples written (ranges: the output whose time is in time) */
    /* BEST */
    double step;    /* input samples per output sample */
    double scale;   /* min(1, ratio): how much the filter is stretched */
    int index_step; /* table entries between two input samples */
    int wing;       /* most taps on either side of an output sample */
    /* the filter table, scaled by the ratio when downsampling, and the step
     * from each entry to the next (0 for the last), both regrouped by
     * phase: the entries r, r + index_step, r + 2 index_step, ... that one
     * wing reads are contiguous from phase_start[r] on */
    double *win, *delta;
    int *phase_start;
    double time; /* the next output's position, in input samples */
    /* ranges: time at output mark_out (the start of the latest range), kept
     * so that a range starting inside the previous one resumes from there */
    int64_t mark_out;
    double mark_time;
    /* one chunk of outputs: their times, and their order by table offset */
    double *chunk_time;
    int *chunk_order, *offset_count;
    /* FAST: output k lies at input time k M / L; its taps read inputs
     * floor(k M / L) - half + 1 on, taps of them, with row phase(k) */
    int64_t up, down; /* L and M */
    int64_t pos;      /* n_out * M, the next output's time in 1/L input samples */
    int phases, half, taps;
    float *coef; /* phases rows of taps */
};

/* Modified Bessel function of the first kind, order 0, by its power series
 * (all terms positive, so it is accurate to a few ulp for the betas used). */
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
    const int n = TABLE_LEN - 1, step = r->index_step;
    const double i0_beta = bessel_i0(KAISER_BETA);
    for (int i = 0; i <= n; i++) {
        double x = (double)i / n;
        double taper = bessel_i0(KAISER_BETA * sqrt(1.0 - x * x)) / i0_beta;
        double y = PI * (ROLLOFF * ((double)i / TABLE_PER_CROSSING));
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

static sa_err best_init(sa_resampler *r) {
    r->step = 1.0 / r->ratio;
    r->scale = r->ratio < 1.0 ? r->ratio : 1.0;
    r->index_step = (int)(r->scale * TABLE_PER_CROSSING);
    r->wing = TABLE_LEN / r->index_step;
    r->reach = 2 * (size_t)r->wing;
    double *table = malloc(TABLE_LEN * sizeof *table);
    r->win = malloc(TABLE_LEN * sizeof *r->win);
    r->delta = malloc(TABLE_LEN * sizeof *r->delta);
    r->phase_start = malloc((size_t)r->index_step * sizeof *r->phase_start);
    r->chunk_time = malloc(BEST_CHUNK * sizeof *r->chunk_time);
    r->chunk_order = malloc(BEST_CHUNK * sizeof *r->chunk_order);
    r->offset_count = malloc(((size_t)r->index_step + 2) * sizeof *r->offset_count);
    if (!table || !r->win || !r->delta || !r->phase_start || !r->chunk_time || !r->chunk_order ||
        !r->offset_count) {
        free(table);
        return sa_error_set(SA_ERR_NOMEM, "resampling filter");
    }
    fill_table(r, table);
    free(table);
    return SA_OK;
}

static int64_t gcd(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Appends n samples of in (zeros when in is NULL) to the history. */
static sa_err hist_append(sa_resampler *r, const float *in, size_t n) {
    if (r->hist_len + n > r->hist_cap) {
        size_t cap = (r->hist_len + n) * 2;
        void *grown = realloc(r->hist, cap * r->elem);
        if (!grown)
            return sa_error_set(SA_ERR_NOMEM, "resampler history of %zu samples", cap);
        r->hist = grown;
        r->hist_cap = cap;
    }
    if (r->elem == sizeof(double)) {
        double *d = (double *)r->hist + r->hist_len;
        for (size_t i = 0; i < n; i++)
            d[i] = in ? in[i] : 0.0;
    } else if (in) {
        memcpy((float *)r->hist + r->hist_len, in, n * sizeof *in);
    } else {
        memset((float *)r->hist + r->hist_len, 0, n * sizeof *in);
    }
    r->hist_len += n;
    return SA_OK;
}

/* The FAST filter at distance d input samples from the output's time. */
static double fast_kernel(double d, double cutoff, double half_width) {
    double u = d / half_width;
    if (fabs(u) >= 1.0)
        return 0.0;
    double x = PI * cutoff * d;
    double sinc = x == 0.0 ? 1.0 : sin(x) / x;
    return cutoff * sinc * bessel_i0(FAST_BETA * sqrt(1.0 - u * u)) / bessel_i0(FAST_BETA);
}

static sa_err fast_init(sa_resampler *r, int in_rate, int out_rate) {
    int64_t g = gcd(in_rate, out_rate);
    r->up = out_rate / g;
    r->down = in_rate / g;
    r->phases = r->up < MAX_PHASES ? (int)r->up : MAX_PHASES;
    double cutoff = r->ratio < 1.0 ? r->ratio : 1.0; /* in cycles per 2 input samples */
    double half_width = FAST_ZERO_CROSSINGS / cutoff;
    r->half = (int)half_width + 1;
    r->taps = (2 * r->half + FAST_TAP_GROUP - 1) / FAST_TAP_GROUP * FAST_TAP_GROUP;
    r->reach = (size_t)r->taps;
    r->coef = malloc((size_t)r->phases * (size_t)r->taps * sizeof *r->coef);
    double *row = malloc((size_t)r->taps * sizeof *row);
    if (!r->coef || !row) {
        free(row);
        return sa_error_set(SA_ERR_NOMEM, "resampling filter");
    }
    for (int p = 0; p < r->phases; p++) {
        double frac = (double)p / r->phases, sum = 0.0;
        for (int m = 0; m < r->taps; m++) {
            row[m] = fast_kernel((double)(m - r->half + 1) - frac, cutoff, half_width);
            sum += row[m];
        }
        /* unit gain at 0 Hz for every phase, so no phase modulates the level */
        for (int m = 0; m < r->taps; m++)
            r->coef[(size_t)p * (size_t)r->taps + (size_t)m] = (float)(row[m] / sum);
    }
    free(row);
    /* the inputs before the first are zeros: the first output reads half - 1 of them */
    r->hist_base = -(int64_t)(r->half - 1);
    return hist_append(r, NULL, (size_t)(r->half - 1));
}

sa_err sa_resampler_new_quality(int in_rate, int out_rate, sa_resample_quality quality, sa_resampler **out) {
    if (in_rate <= 0 || out_rate <= 0 || in_rate > MAX_RATE || out_rate > MAX_RATE)
        return sa_error_set(SA_ERR_INVALID, "resampling from %d Hz to %d Hz: rates must be 1..%d", in_rate,
                            out_rate, MAX_RATE);
    if (quality != SA_RESAMPLE_BEST && quality != SA_RESAMPLE_FAST)
        return sa_error_set(SA_ERR_INVALID, "resampling quality %d", (int)quality);
    /* BEST stretches its table by the ratio: below 1/TABLE_PER_CROSSING no
     * table entry would lie between two input samples */
    if (quality == SA_RESAMPLE_BEST && (int64_t)out_rate * TABLE_PER_CROSSING < in_rate)
        return sa_error_set(SA_ERR_INVALID, "resampling from %d Hz to %d Hz: BEST quality needs out/in >= 1/%d",
                            in_rate, out_rate, TABLE_PER_CROSSING);
    sa_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return sa_error_set(SA_ERR_NOMEM, "resampler");
    r->quality = quality;
    r->elem = quality == SA_RESAMPLE_BEST ? sizeof(double) : sizeof(float);
    r->ratio = (double)out_rate / in_rate;
    r->identity = in_rate == out_rate;
    sa_err err = SA_OK;
    if (!r->identity)
        err = quality == SA_RESAMPLE_BEST ? best_init(r) : fast_init(r, in_rate, out_rate);
    if (err) {
        sa_resampler_free(r);
        return err;
    }
    *out = r;
    return SA_OK;
}

sa_err sa_resampler_new(int in_rate, int out_rate, sa_resampler **out) {
    return sa_resampler_new_quality(in_rate, out_rate, SA_RESAMPLE_BEST, out);
}

void sa_resampler_free(sa_resampler *r) {
    if (!r)
        return;
    free(r->win);
    free(r->delta);
    free(r->phase_start);
    free(r->chunk_time);
    free(r->chunk_order);
    free(r->offset_count);
    free(r->coef);
    free(r->hist);
    free(r);
}

size_t sa_resampler_max_output(const sa_resampler *r, size_t n) {
    if (r->identity)
        return n;
    /* pending outputs wait for at most reach inputs; the +4 covers
     * rounding and the zero librosa's ceil may add at the end */
    return (size_t)((double)(n + r->reach + 2) * r->ratio) + 4;
}

/* The BEST loop is built for two instruction sets (best_run); what it
 * calls must be compiled into each build, not called across. */
#define INLINE static inline __attribute__((always_inline))

/* SSE2 and AVX2 sized vectors; the compiler splits the wider ones for SSE2 */
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));

/* Sets *w to the table interpolated at eta over win[0..3] and delta[0..3],
 * and *v to x[0], x[dir], x[2 dir] and x[3 dir] (dir is 1 or -1). Results
 * go through pointers: a 32-byte vector returned by value would have a
 * different ABI in the AVX2 and baseline builds. */
INLINE void load_taps(const double *win, const double *delta, double eta, const double *x, int dir, v4d *w,
                      v4d *v) {
    v4d a, d;
    memcpy(&a, win, sizeof a);
    memcpy(&d, delta, sizeof d);
    *w = a + eta * d;
    memcpy(v, dir > 0 ? x : x - 3, sizeof *v);
    if (dir < 0)
        *v = __builtin_shuffle(*v, (v4l){3, 2, 1, 0});
}

/* One wing of the filter at a fractional table position: the sum of
 * x[dir * i] weighted by the interpolated table, over at most taps taps.
 * The sum is in double like resampy's, in eight interleaved parts (lane j
 * of a and b sums the taps j and j + 4 modulo 8) added up in a fixed
 * order; the order of double adds changes the float result only when a
 * sum lies within 1e-16 of a float rounding boundary, and the reference
 * audio is matched bit for bit. */
INLINE double wing_sum(const sa_resampler *r, double frac, const double *x, int dir, int64_t taps) {
    double index_frac = frac * TABLE_PER_CROSSING;
    int offset = (int)index_frac;
    double eta = index_frac - offset;
    int64_t fit = (TABLE_LEN - offset) / r->index_step;
    if (taps > fit)
        taps = fit;
    /* entries offset, offset + index_step, ... are contiguous in the phase's run */
    const int start = r->phase_start[offset % r->index_step] + offset / r->index_step;
    const double *win = r->win + start, *delta = r->delta + start;
    v4d a = {0.0, 0.0, 0.0, 0.0}, b = a;
    int64_t i = 0;
    for (; i + 8 <= taps; i += 8) {
        v4d w, v;
        load_taps(win + i, delta + i, eta, x + dir * i, dir, &w, &v);
        a += w * v;
        load_taps(win + i + 4, delta + i + 4, eta, x + dir * (i + 4), dir, &w, &v);
        b += w * v;
    }
    double sum = 0.0;
    for (; i < taps; i++)
        sum += (win[i] + eta * delta[i]) * x[dir * i];
    double even = (a[0] + a[2]) + (b[0] + b[2]), odd = (a[1] + a[3]) + (b[1] + b[3]);
    return sum + (even + odd);
}

/* The table offset of the left wing of the output at time t (the right
 * wing's follows from it). */
static int best_offset(const sa_resampler *r, double t) {
    return (int)(r->scale * (t - (double)(int64_t)t) * TABLE_PER_CROSSING);
}

/* The BEST output at time t, from the inputs received so far (n_in of them). */
INLINE float best_output(const sa_resampler *r, double t) {
    int64_t n = (int64_t)t;
    double frac = r->scale * (t - (double)n);
    const double *x = (const double *)r->hist + (n - r->hist_base);
    double left = wing_sum(r, frac, x, -1, n + 1);
    return (float)(left + wing_sum(r, r->scale - frac, x + 1, 1, r->n_in - n - 1));
}

/* Writes count BEST outputs from r->time on. An output reads two runs of
 * the table (half a megabyte from 44.1 to 16 kHz), chosen by its phase,
 * and consecutive outputs have different phases; so outputs are computed
 * a chunk at a time in the order of their phase, and outputs of one phase
 * find its runs in the cache. Each output is computed as it would be
 * alone: the order changes nothing but the speed. */
__attribute__((target_clones("avx2", "default"))) static void best_run(sa_resampler *r, float *out, int64_t count) {
    int *cnt = r->offset_count;
    for (int64_t done = 0; done < count; done += BEST_CHUNK) {
        int m = count - done < BEST_CHUNK ? (int)(count - done) : BEST_CHUNK;
        memset(cnt, 0, ((size_t)r->index_step + 2) * sizeof *cnt);
        for (int j = 0; j < m; j++) { /* the time register is summed, as resampy does */
            r->chunk_time[j] = r->time;
            cnt[best_offset(r, r->time) + 1]++;
            r->time += r->step;
        }
        for (int o = 0; o <= r->index_step; o++)
            cnt[o + 1] += cnt[o];
        for (int j = 0; j < m; j++)
            r->chunk_order[cnt[best_offset(r, r->chunk_time[j])]++] = j;
        for (int j = 0; j < m; j++) {
            int k = r->chunk_order[j];
            out[done + k] = best_output(r, r->chunk_time[k]);
        }
    }
}

/* Writes count FAST outputs from r->pos on, each the dot product of its
 * phase's row of taps with the inputs it covers; built for SSE2 and AVX2
 * like best_run (the sums are the same, lane for lane). */
__attribute__((target_clones("avx2", "default"))) static void fast_run(sa_resampler *r, float *out, int64_t count) {
    int64_t n = r->pos / r->up, rem = r->pos % r->up;
    const int64_t whole = r->down / r->up, part = r->down % r->up;
    const float *hist = (const float *)r->hist;
    for (int64_t k = 0; k < count; k++) {
        int64_t first = n, phase = rem;
        if (r->phases != r->up) { /* the nearest of MAX_PHASES, maybe the next input's first */
            phase = (rem * r->phases + r->up / 2) / r->up;
            if (phase == r->phases) {
                phase = 0;
                first++;
            }
        }
        const float *x = hist + (first - r->half + 1 - r->hist_base);
        const float *c = r->coef + (size_t)phase * (size_t)r->taps;
        v8f a = {0.0f}, b = a;
        for (int i = 0; i < r->taps; i += FAST_TAP_GROUP) {
            v8f c0, c1, x0, x1;
            memcpy(&c0, c + i, sizeof c0);
            memcpy(&c1, c + i + 8, sizeof c1);
            memcpy(&x0, x + i, sizeof x0);
            memcpy(&x1, x + i + 8, sizeof x1);
            a += c0 * x0;
            b += c1 * x1;
        }
        a += b;
        out[k] = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
        n += whole;
        rem += part;
        if (rem >= r->up) {
            rem -= r->up;
            n++;
        }
    }
    r->pos += count * r->down;
}

/* Factor 2 down (44.1 to 22.05 kHz, the common case). FAST's filter is
 * then a half-band one: its sinc is zero at every even distance but 0, so
 * output k is the centre tap times input 2k plus, for j = 0..15, tap
 * 2j + 1 times the sum of the two odd neighbours 2k + 2j + 1 and
 * 2k - 2j - 1 (the row is symmetric). With the odd inputs copied apart,
 * eight outputs are summed at once: 17 multiplies per output instead of
 * 80, the same filter up to the order of the float additions. */
enum { HALFBAND_PAIRS = FAST_ZERO_CROSSINGS, HALFBAND_CHUNK = 256 };

__attribute__((target_clones("avx2", "default"))) static void halfband_run(sa_resampler *r, float *out,
                                                                           int64_t count) {
    const float *hist = (const float *)r->hist, *c = r->coef + r->half - 1; /* c[d]: the tap at distance d */
    /* odd[t] is input 2 (k0 - HALFBAND_PAIRS + t) + 1, even[t] input 2 (k0 + t), for the chunk from k0 */
    float odd[HALFBAND_CHUNK + 2 * HALFBAND_PAIRS], even[HALFBAND_CHUNK], y[HALFBAND_CHUNK];
    for (int64_t done = 0; done < count; done += HALFBAND_CHUNK) {
        int64_t m = count - done < HALFBAND_CHUNK ? count - done : HALFBAND_CHUNK;
        const float *x = hist + (2 * (r->n_out + done) - r->hist_base); /* input 2 k0 */
        memset(odd, 0, sizeof odd);
        memset(even, 0, sizeof even);
        for (int64_t t = 0; t < m + 2 * HALFBAND_PAIRS - 1; t++)
            odd[t] = x[2 * (t - HALFBAND_PAIRS) + 1];
        for (int64_t t = 0; t < m; t++)
            even[t] = x[2 * t];
        for (int64_t k = 0; k < m; k += 8) {
            v8f e, acc;
            memcpy(&e, even + k, sizeof e);
            acc = c[0] * e;
            for (int j = 0; j < HALFBAND_PAIRS; j++) {
                v8f right, left;
                memcpy(&right, odd + k + HALFBAND_PAIRS + j, sizeof right);
                memcpy(&left, odd + k + HALFBAND_PAIRS - 1 - j, sizeof left);
                acc += c[2 * j + 1] * (right + left);
            }
            memcpy(y + k, &acc, sizeof acc);
        }
        memcpy(out + done, y, (size_t)m * sizeof *out);
    }
    r->pos += count * r->down;
}

/* How many outputs can be computed from the inputs held (n_in of them, or
 * more when zeros were appended at the flush). */
static int64_t ready(const sa_resampler *r) {
    int64_t held = r->hist_base + (int64_t)r->hist_len, k = 0;
    if (r->quality == SA_RESAMPLE_BEST) {
        /* the time register is summed, not multiplied, as resampy does */
        for (double t = r->time; (int64_t)t + r->wing < held; k++)
            t += r->step;
        return k;
    }
    /* the last input output k reads is floor(k M / L) - half + taps (one
     * more when its phase rounds up) */
    int64_t last_ok = held - 1 - (r->taps - r->half) - (r->phases == r->up ? 0 : 1);
    if (last_ok < 0)
        return 0;
    int64_t total = ((last_ok + 1) * r->up - 1) / r->down + 1; /* outputs with floor(k M / L) <= last_ok */
    return total > r->n_out ? total - r->n_out : 0;
}

/* Computes count outputs into out. */
static void run(sa_resampler *r, float *out, int64_t count) {
    if (r->quality == SA_RESAMPLE_BEST)
        best_run(r, out, count);
    else if (r->up == 1 && r->down == 2)
        halfband_run(r, out, count);
    else
        fast_run(r, out, count);
    r->n_out += count;
}

/* Keeps only the inputs that outputs still to come can read. */
static void hist_trim(sa_resampler *r) {
    int64_t keep_from = r->quality == SA_RESAMPLE_BEST ? (int64_t)r->time - r->wing
                                                       : r->pos / r->up - r->half + 1;
    if (keep_from <= r->hist_base)
        return;
    size_t drop = (size_t)(keep_from - r->hist_base);
    if (drop > r->hist_len)
        drop = r->hist_len;
    memmove(r->hist, (char *)r->hist + drop * r->elem, (r->hist_len - drop) * r->elem);
    r->hist_len -= drop;
    r->hist_base += (int64_t)drop;
}

/* Claims r for the stream calls or for the range calls. */
static sa_err claim(sa_resampler *r, resampler_use use) {
    if (r->use != USE_NONE && r->use != use)
        return sa_error_set(SA_ERR_INVALID, "resampler used both as a stream and for ranges");
    r->use = use;
    return SA_OK;
}

sa_err sa_resampler_process(sa_resampler *r, const float *in, size_t n, float *out, size_t *produced) {
    *produced = 0;
    if (r->flushed)
        return sa_error_set(SA_ERR_INVALID, "resampler fed after its flush");
    sa_err err = claim(r, USE_STREAM);
    if (err)
        return err;
    if (r->identity) {
        memcpy(out, in, n * sizeof *in);
        *produced = n;
        return SA_OK;
    }
    err = hist_append(r, in, n);
    if (err)
        return err;
    r->n_in += (int64_t)n;
    int64_t k = ready(r);
    run(r, out, k);
    *produced = (size_t)k;
    hist_trim(r);
    return SA_OK;
}

sa_err sa_resampler_flush(sa_resampler *r, float *out, size_t cap, size_t *produced) {
    *produced = 0;
    if (r->flushed)
        return sa_error_set(SA_ERR_INVALID, "resampler flushed twice");
    sa_err err = claim(r, USE_STREAM);
    if (err)
        return err;
    r->flushed = true;
    if (r->identity)
        return SA_OK;
    int64_t total = (int64_t)ceil((double)r->n_in * r->ratio);
    if (total - r->n_out > (int64_t)cap)
        return sa_error_set(SA_ERR_RANGE, "resampler flush needs %lld samples, buffer holds %zu",
                            (long long)(total - r->n_out), cap);
    /* BEST reads only the inputs that exist and computes resampy's
     * floor(n * out / in) outputs; FAST reads zeros past the end */
    int64_t computed = r->quality == SA_RESAMPLE_BEST ? (int64_t)((double)r->n_in * r->ratio) : total;
    err = r->quality == SA_RESAMPLE_FAST ? hist_append(r, NULL, (size_t)r->taps + 1) : SA_OK;
    if (err)
        return err;
    int64_t k = computed - r->n_out;
    run(r, out, k);
    for (; r->n_out < total; r->n_out++)
        out[k++] = 0.0f;
    *produced = (size_t)k;
    return SA_OK;
}

static sa_err check_range_args(const sa_resampler *r, int64_t a, int64_t b) {
    if (!r->identity && r->quality != SA_RESAMPLE_BEST)
        return sa_error_set(SA_ERR_INVALID, "resampler ranges need the BEST quality");
    if (a < 0 || b < a)
        return sa_error_set(SA_ERR_INVALID, "resampler range [%lld, %lld)", (long long)a, (long long)b);
    return SA_OK;
}

/* k * step, moved by dir (+1 or -1) past anything the summed register can
 * hold for output k: each of its k additions rounds by at most half an ulp
 * of a time no later than output k's, k * (k * step) * 2^-53 in all,
 * doubled for the rounding of step and of this product, plus one. */
static double time_bound(const sa_resampler *r, int64_t k, int dir) {
    double t = (double)k * r->step;
    return t + dir * ((double)k * t * 0x1p-52 + 1.0);
}

sa_err sa_resampler_span(const sa_resampler *r, int64_t a, int64_t b, int64_t *first, int64_t *end) {
    sa_err err = check_range_args(r, a, b);
    if (err)
        return err;
    if (r->identity || a == b) {
        *first = a;
        *end = b;
        return SA_OK;
    }
    /* output k reads inputs floor(t) - wing + 1 .. floor(t) + wing; two more each side */
    *first = (int64_t)floor(time_bound(r, a, -1)) - r->wing - 1;
    if (*first < 0)
        *first = 0;
    *end = (int64_t)floor(time_bound(r, b - 1, 1)) + r->wing + 3;
    return SA_OK;
}

sa_err sa_resampler_range(sa_resampler *r, const float *in, int64_t first, size_t n, bool at_end, int64_t a,
                          int64_t b, float *out) {
    sa_err err = check_range_args(r, a, b);
    if (!err && first < 0)
        err = sa_error_set(SA_ERR_INVALID, "resampler range input from %lld", (long long)first);
    if (!err)
        err = claim(r, USE_RANGES);
    if (err)
        return err;
    const int64_t end = first + (int64_t)n;
    if (r->identity) {
        if (a < first || b > end)
            return sa_error_set(SA_ERR_RANGE, "resampler range [%lld, %lld) from inputs [%lld, %lld)",
                                (long long)a, (long long)b, (long long)first, (long long)end);
        memcpy(out, in + (a - first), (size_t)(b - a) * sizeof *out);
        return SA_OK;
    }
    /* as the flush: resampy's floor(total * ratio) outputs, then librosa's zeros up to the ceiling */
    int64_t computed = b;
    if (at_end) {
        if (b > (int64_t)ceil((double)end * r->ratio))
            return sa_error_set(SA_ERR_RANGE, "resampler range [%lld, %lld) past the end of %lld inputs",
                                (long long)a, (long long)b, (long long)end);
        int64_t whole = (int64_t)((double)end * r->ratio);
        computed = whole < b ? whole : b;
    }
    if (a < r->n_out) { /* back to the latest mark, the same sums as from 0 */
        r->time = a >= r->mark_out ? r->mark_time : 0.0;
        r->n_out = a >= r->mark_out ? r->mark_out : 0;
    }
    for (; r->n_out < a; r->n_out++)
        r->time += r->step;
    r->mark_out = a;
    r->mark_time = r->time;
    if (computed > a) {
        double last = r->time;
        for (int64_t k = a + 1; k < computed; k++)
            last += r->step;
        /* the left wing reads back to the stream's start, the right one stops at the stretch's end */
        int64_t lo = (int64_t)r->time - r->wing + 1, hi = (int64_t)last + r->wing + 1;
        if ((first > 0 && first > lo) || (!at_end && end < hi))
            return sa_error_set(SA_ERR_RANGE,
                                "resampler range [%lld, %lld) reads inputs [%lld, %lld), given [%lld, %lld)",
                                (long long)a, (long long)b, (long long)(lo > 0 ? lo : 0), (long long)hi,
                                (long long)first, (long long)end);
        r->hist_len = 0;
        r->hist_base = first;
        err = hist_append(r, in, n);
        if (err)
            return err;
        r->n_in = end;
        run(r, out, computed - a);
    }
    for (int64_t k = computed > a ? computed : a; k < b; k++)
        out[k - a] = 0.0f;
    return SA_OK;
}

/* loudness.c: the "loudness" analyzer, EBU R128 loudness and ReplayGain 2.0 gain.
 *
 * Why a meter of our own. libebur128 filters in double precision sample by
 * sample through a generic 4th-order loop and keeps the filtered audio in
 * a 3 s ring, which it sums again for every 400 ms gating block (every
 * 100 ms) and every 3 s short-term window (every second): each sample is
 * read about eight times, and the meter cost as much as decoding. This one
 * does the same measurement in one pass:
 *
 * - K-weighting (ITU-R BS.1770-4): the high shelf and the 38 Hz high-pass,
 *   designed for the actual rate from the analogue parameters exactly as
 *   libebur128 designs them, each a direct form I biquad. The state stays
 *   in double: the high-pass's poles lie within 0.6 % of z = 1 at 44.1 kHz,
 *   where float state would lose the low end of quiet passages, and a
 *   double biquad costs no more than a float one (no data-parallel form of
 *   a recursion to gain from). The two channels are the two lanes of one
 *   SSE2 vector; a mono file fills both lanes with its one channel, which
 *   is the dual mono weighting of BS.1770 (a mono track plays from both
 *   loudspeakers, so it measures as loud as its stereo copy).
 * - The squares of the weighted samples are summed once per 100 ms
 *   sub-block ((rate + 5) / 10 frames, as libebur128 counts them). A
 *   400 ms gating block (75 % overlap) is the sum of four sub-blocks, a
 *   3 s short-term window the sum of thirty, taken every second from 3 s
 *   on, as libebur128 takes them for the loudness range (Tech 3342 asks
 *   for an overlap of at least 2 s).
 * - Gating blocks above -70 LUFS and short-term values above -70 LUFS are
 *   kept (10 and 1 double a second of audio); the integrated loudness
 *   (relative gate -10 LU) and the loudness range (relative gate -20 LU,
 *   10th to 95th percentile, libebur128's rounding of the ranks) come
 *   from them exactly, where libebur128's fixed-memory mode rounds to
 *   0.1 LU bins.
 *
 * Validation: tests/unit/test_analysis_loudness.c measures the EBU Tech
 * 3341 cases 1-5 and Tech 3342 cases 1-4 against their nominal values and
 * against libebur128 (every frame, exact mode), and corpus recordings
 * against libebur128 within 0.05 LU integrated and 0.1 LU range;
 * bench/analysis.c reports the difference on the corpus tracks it runs.
 * libebur128 stays the reference implementation for both. Every frame is
 * measured: at a seventh to a tenth of libebur128's cost (bench_analysis
 * on 8 corpus tracks: 0.105 to 0.15 against 1.03 to 1.1 ms per second of
 * audio, under a fifth of the cost of decoding) the decimation that halved
 * libebur128's cost is not worth its error any more. The filter loop is
 * then near its floor: each recursion waits on a multiply and an add per
 * frame, and reordering the pairs of frames to shorten that chain gained
 * nothing measurable. The sample peak is taken over every sample. */
#include <math.h>
#include <stdlib.h>

#include "soundalike/descriptors.h"

#define LOUDNESS_VERSION 3
/* The shelf, centred at 1.68 kHz, can be designed only well below the
 * Nyquist frequency. Below this rate it is left out: the band it would
 * lift lies above what the file holds (it lifts 500 Hz by 0.04 dB). */
#define SHELF_MIN_RATE 4000
#define MIN_RATE 1000 /* lower is no longer sound anyone plays */
#define GATING_SUBBLOCKS 4      /* 400 ms */
#define SHORT_TERM_SUBBLOCKS 30 /* 3 s */
#define SHORT_TERM_STEP 10      /* one short-term value a second */
#define ABSOLUTE_GATE_LUFS (-70.0)
#define RELATIVE_GATE_LU (-10.0)
#define RANGE_GATE_LU (-20.0)
/* Frames filtered between two checks for vanishing state: at most a few
 * nats of decay a frame (under 0.8 for the fastest pole, the shelf's
 * near 8 kHz) keep a state above
 * the flush threshold far from the subnormals, which are slow. */
#define FLUSH_FRAMES 64
#define FLUSH_BELOW 1e-60

typedef double v2d __attribute__((vector_size(16)));

/* K-weighting coefficients (a0 = 1), the same in both lanes. */
typedef struct k_weighting {
    v2d b0, b1, b2, a1, a2; /* high shelf */
    v2d c1, c2;             /* high-pass; its numerator is 1, -2, 1 */
} k_weighting;

/* Direct form I state of the cascade: the high-pass reads the shelf's output history. */
typedef struct k_state {
    v2d x1, x2; /* input */
    v2d u1, u2; /* shelf output */
    v2d z1, z2; /* high-pass output */
} k_state;

/* A growing list of energies. */
typedef struct energies {
    double *v;
    size_t n, cap;
} energies;

typedef struct loudness_state {
    int channels;
    int rate;
    k_weighting k;
    k_state z;
    size_t subblock_frames; /* frames in 100 ms */
    size_t subblock_left;   /* frames still missing from the current sub-block */
    double subblock_sum;    /* weighted squares so far in the current sub-block */
    double recent[SHORT_TERM_SUBBLOCKS]; /* sums of the last sub-blocks, a ring */
    size_t subblocks;                    /* completed so far */
    energies gating;                     /* mean square of the gating blocks above the absolute gate */
    energies short_term;                 /* same, short-term windows */
    float peak;                          /* largest |sample| so far */
} loudness_state;

static v2d both(double x) { return (v2d){x, x}; }

/* The two BS.1770-4 stages re-designed for rate from their analogue
 * parameters, as libebur128 does (the published coefficients are those
 * of 48 kHz). */
static void k_design(k_weighting *k, int rate) {
    const double pi = 3.14159265358979323846;
    double f0, q, kk, a0;
    if (rate < SHELF_MIN_RATE) {
        *k = (k_weighting){.b0 = both(1.0)}; /* passes the input through */
    } else {
        f0 = 1681.974450955533;
        q = 0.7071752369554196;
        double gain_db = 3.999843853973347;
        kk = tan(pi * f0 / rate);
        double vh = pow(10.0, gain_db / 20.0), vb = pow(vh, 0.4996667741545416);
        a0 = 1.0 + kk / q + kk * kk;
        k->b0 = both((vh + vb * kk / q + kk * kk) / a0);
        k->b1 = both(2.0 * (kk * kk - vh) / a0);
        k->b2 = both((vh - vb * kk / q + kk * kk) / a0);
        k->a1 = both(2.0 * (kk * kk - 1.0) / a0);
        k->a2 = both((1.0 - kk / q + kk * kk) / a0);
    }
    f0 = 38.13547087602444;
    q = 0.5003270373238773;
    kk = tan(pi * f0 / rate);
    a0 = 1.0 + kk / q + kk * kk;
    k->c1 = both(2.0 * (kk * kk - 1.0) / a0);
    k->c2 = both((1.0 - kk / q + kk * kk) / a0);
}

static v2d flushed(v2d v) {
    for (int i = 0; i < 2; i++)
        v[i] = fabs(v[i]) < FLUSH_BELOW ? 0.0 : v[i];
    return v;
}

/* K-weights n frames (at most FLUSH_FRAMES) of interleaved audio and
 * returns the sum of the squares of both lanes. The feedback terms are
 * added last, so that each recursion waits on one multiply and one add.
 * Inlined with a constant channel count (1 or 2), the frame is read in
 * one load. */
static inline double k_weigh(const k_weighting *k, k_state *s, const float *in, size_t n, int channels) {
    v2d x1 = s->x1, x2 = s->x2, u1 = s->u1, u2 = s->u2, z1 = s->z1, z2 = s->z2, sum = {0.0, 0.0};
    const size_t step = (size_t)channels, last = step - 1;
    for (size_t i = 0; i < n; i++) {
        v2d x = {in[i * step], in[i * step + last]};
        v2d u = (k->b0 * x + k->b1 * x1 + k->b2 * x2 - k->a2 * u2) - k->a1 * u1;
        v2d z = (u - both(2.0) * u1 + u2 - k->c2 * z2) - k->c1 * z1;
        sum += z * z;
        x2 = x1;
        x1 = x;
        u2 = u1;
        u1 = u;
        z2 = z1;
        z1 = z;
    }
    *s = (k_state){.x1 = x1, .x2 = x2, .u1 = flushed(u1), .u2 = flushed(u2), .z1 = flushed(z1), .z2 = flushed(z2)};
    return sum[0] + sum[1];
}

/* BS.1770 loudness of a mean square; energy_of is its inverse. */
static double lufs_of(double energy) { return 10.0 * log10(energy) - 0.691; }
static double energy_of(double lufs) { return pow(10.0, (lufs + 0.691) / 10.0); }

static sa_err energies_add(energies *e, double v) {
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 1024;
        double *grown = realloc(e->v, cap * sizeof *grown);
        if (!grown)
            return sa_error_set(SA_ERR_NOMEM, "loudness: %zu block energies", cap);
        e->v = grown;
        e->cap = cap;
    }
    e->v[e->n++] = v;
    return SA_OK;
}

/* Mean square of the last count sub-blocks (count <= SHORT_TERM_SUBBLOCKS, all completed). */
static double recent_mean(const loudness_state *s, size_t count) {
    double sum = 0.0;
    for (size_t i = s->subblocks - count; i < s->subblocks; i++)
        sum += s->recent[i % SHORT_TERM_SUBBLOCKS];
    return sum / (double)(count * s->subblock_frames);
}

/* Closes the current sub-block: a new gating block ends here, and every
 * tenth a short-term window. */
static sa_err end_subblock(loudness_state *s) {
    s->recent[s->subblocks % SHORT_TERM_SUBBLOCKS] = s->subblock_sum;
    s->subblocks++;
    s->subblock_sum = 0.0;
    s->subblock_left = s->subblock_frames;
    const double gate = energy_of(ABSOLUTE_GATE_LUFS);
    sa_err err = SA_OK;
    if (s->subblocks >= GATING_SUBBLOCKS) {
        double e = recent_mean(s, GATING_SUBBLOCKS);
        if (e >= gate)
            err = energies_add(&s->gating, e);
    }
    if (!err && s->subblocks >= SHORT_TERM_SUBBLOCKS && (s->subblocks - SHORT_TERM_SUBBLOCKS) % SHORT_TERM_STEP == 0) {
        double e = recent_mean(s, SHORT_TERM_SUBBLOCKS);
        if (e >= gate)
            err = energies_add(&s->short_term, e);
    }
    return err;
}

static void loudness_free(void *state) {
    loudness_state *s = state;
    if (!s)
        return;
    free(s->gating.v);
    free(s->short_term.v);
    free(s);
}

static sa_err loudness_start(void *config, const sa_stream_info *info, void **state) {
    (void)config;
    if (info->channels < 1 || info->channels > 2 || info->native_rate < MIN_RATE)
        return sa_error_set(SA_ERR_INVALID, "loudness: %d channels at %d Hz (1 or 2 from %d Hz)", info->channels,
                            info->native_rate, MIN_RATE);
    loudness_state *s = calloc(1, sizeof *s);
    if (!s)
        return sa_error_set(SA_ERR_NOMEM, "loudness state");
    s->channels = info->channels;
    s->rate = info->native_rate;
    k_design(&s->k, s->rate);
    s->subblock_frames = (size_t)(s->rate + 5) / 10;
    s->subblock_left = s->subblock_frames;
    *state = s;
    return SA_OK;
}

/* The largest of peak and the |x[i]|, kept in eight running maxima: a
 * single one would wait on itself at every sample. */
static float largest(const float *x, size_t n, float peak) {
    float m[8] = {peak, peak, peak, peak, peak, peak, peak, peak};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float a = fabsf(x[i + j]);
            m[j] = a > m[j] ? a : m[j];
        }
    for (; i < n; i++) {
        float a = fabsf(x[i]);
        m[0] = a > m[0] ? a : m[0];
    }
    for (int j = 1; j < 8; j++)
        m[0] = m[j] > m[0] ? m[j] : m[0];
    return m[0];
}

static sa_err loudness_feed(void *state, const sa_audio_block *block) {
    loudness_state *s = state;
    if (!block->interleaved || block->channels != s->channels || block->rate != s->rate)
        return sa_error_set(SA_ERR_INVALID, "loudness: got %d channels at %d Hz, expected %d at %d Hz",
                            block->channels, block->rate, s->channels, s->rate);
    const float *in = block->interleaved;
    size_t left = block->frames;
    while (left > 0) {
        size_t n = left < s->subblock_left ? left : s->subblock_left;
        n = n < FLUSH_FRAMES ? n : FLUSH_FRAMES;
        s->subblock_sum += s->channels == 2 ? k_weigh(&s->k, &s->z, in, n, 2) : k_weigh(&s->k, &s->z, in, n, 1);
        in += n * (size_t)s->channels;
        left -= n;
        s->subblock_left -= n;
        if (s->subblock_left == 0) {
            sa_err err = end_subblock(s);
            if (err)
                return err;
        }
    }
    s->peak = largest(block->interleaved, block->frames * (size_t)s->channels, s->peak);
    return SA_OK;
}

/* Integrated loudness of the gating blocks above the absolute gate;
 * -inf when none passes the gates. */
static double integrated(const energies *blocks) {
    double mean = 0.0;
    for (size_t i = 0; i < blocks->n; i++)
        mean += blocks->v[i];
    if (blocks->n == 0)
        return -HUGE_VAL;
    const double threshold = mean / (double)blocks->n * pow(10.0, RELATIVE_GATE_LU / 10.0);
    double sum = 0.0;
    size_t kept = 0;
    for (size_t i = 0; i < blocks->n; i++)
        if (blocks->v[i] >= threshold) {
            sum += blocks->v[i];
            kept++;
        }
    return kept ? lufs_of(sum / (double)kept) : -HUGE_VAL;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Loudness range (Tech 3342) of the short-term windows above the absolute
 * gate, sorted in place; 0 when none passes the gates. */
static double range(energies *windows) {
    if (windows->n == 0)
        return 0.0;
    qsort(windows->v, windows->n, sizeof *windows->v, ascending);
    double mean = 0.0;
    for (size_t i = 0; i < windows->n; i++)
        mean += windows->v[i];
    const double threshold = mean / (double)windows->n * pow(10.0, RANGE_GATE_LU / 10.0);
    size_t first = 0;
    while (first < windows->n && windows->v[first] < threshold)
        first++;
    const double *kept = windows->v + first;
    size_t n = windows->n - first;
    if (n == 0)
        return 0.0;
    /* the ranks as libebur128 rounds them */
    double low = kept[(size_t)((double)(n - 1) * 0.1 + 0.5)], high = kept[(size_t)((double)(n - 1) * 0.95 + 0.5)];
    return lufs_of(high) - lufs_of(low);
}

/* value, or floor when it is below floor or not a number (silence gives -inf). */
static float floored(double value, float floor) {
    return isfinite(value) && value > floor ? (float)value : floor;
}

static sa_err loudness_finish(void *state, sa_features *features) {
    loudness_state *s = state;
    float lufs = floored(integrated(&s->gating), SA_LOUDNESS_FLOOR_LUFS);
    float peak_db = floored(20.0 * log10(s->peak), SA_LOUDNESS_FLOOR_PEAK_DB);

    sa_feature_group *g;
    sa_err err = sa_features_group(features, "loudness", LOUDNESS_VERSION, &g);
    if (!err)
        err = sa_features_set_scalar(g, "integrated_lufs", lufs);
    if (!err)
        err = sa_features_set_scalar(g, "range_lu", floored(range(&s->short_term), 0.0f));
    if (!err)
        err = sa_features_set_scalar(g, "sample_peak_dbfs", peak_db);
    if (!err)
        err = sa_features_set_scalar(g, "track_gain_db", SA_LOUDNESS_REFERENCE_LUFS - lufs);
    return err;
}

static const sa_analyzer loudness_analyzer = {
    .name = "loudness",
    .version = LOUDNESS_VERSION,
    .rate = 0,
    .quality = SA_RESAMPLE_BEST, /* every frame is measured */
    .start = loudness_start,
    .feed = loudness_feed,
    .finish = loudness_finish,
    .free = loudness_free,
    .config = NULL,
};

const sa_analyzer *sa_loudness_analyzer(void) { return &loudness_analyzer; }

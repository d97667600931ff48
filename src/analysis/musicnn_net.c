/* musicnn_net.c: the MusiCNN network, forward pass, as im2col + sgemm.
 *
 * Per patch of 187 x 96 log-mel frames (ARCHITECTURE.md, section 3):
 *   front end: a scalar batch norm, then two "timbral" convolutions (7 x 38
 *     and 7 x 67 over time x mel, 204 filters) and three "temporal" ones
 *     (128, 64, 32 frames x 1 mel, 51 filters), each conv + bias, ReLU,
 *     batch norm, then the maximum over the mel axis: 561 features a frame;
 *   mid end: three 7-frame convolutions over time (64 filters), the last two
 *     with a residual, all four stages concatenated: 753 features a frame;
 *   back end: maximum and mean over time (interleaved), batch norm, dense
 *     200 + ReLU, batch norm (the embedding), dense 50, sigmoid.
 *
 * Layouts are time-major. The front-end convolutions are matrix products of
 * an im2col matrix whose rows are (frame, mel offset) and whose columns the
 * kernel's taps, built a few frames at a time so that it stays in cache.
 * The mid-end needs no im2col: with patches stacked in one array, each
 * padded by three zero frames on both sides, a 7-frame convolution is the
 * sum of seven products of the array shifted by one frame, whose rows are
 * contiguous; the rows that straddle two patches are computed and ignored
 * (6 of every 193). The maximum over mel of a ReLU'd batch norm is taken
 * before the ReLU and the batch norm, as the max (or min where the batch
 * norm's scale is negative, see mc_conv.sign) of the convolution, which
 * saves two passes over the largest arrays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "analysis/musicnn.h"

enum {
    T = SA_MUSICNN_PATCH_FRAMES,
    MELS = SA_MUSICNN_MELS,
    TEMPORAL_BEFORE = 63,              /* 'SAME' padding before the longest temporal kernel (128) */
    TEMPORAL_ROW = T + 127,            /* a padded mel band, time along the row */
    CHUNK_ROWS = 256,                  /* im2col rows per product */
    MAX_TAPS = 7 * 67,                 /* longest im2col row (the 7 x 67 timbral kernel) */
    MAX_FILTERS = 204,
};

struct mc_work {
    float *timbral_in;  /* [batch][193][96] normalised input, 3 zero frames each side */
    float *temporal_in; /* [batch][96][314] the same, transposed, 'SAME'-padded for 128 taps */
    float *cols;        /* im2col chunk, [rows][taps] */
    float *prod;        /* its product with the kernel, [rows][filters] */
    float *hi;          /* one frame's per-filter max over the mel axis */
    float *front;       /* [batch][193][561] front-end output, zero-padded frames */
    float *mid[3];      /* [batch][193][64] mid-end outputs, zero-padded frames */
    float *acc;         /* [batch * 193][64] a mid-end convolution before its ReLU */
    float *pooled;      /* [batch][1506] */
    float *hidden;      /* [batch][200] */
    float *logits;      /* [batch][50] */
};

sa_err mc_work_new(size_t batch, mc_work **out) {
    mc_work *w = calloc(1, sizeof *w);
    if (!w)
        return sa_error_set(SA_ERR_NOMEM, "tagger workspace");
    const size_t rows = CHUNK_ROWS > MELS ? CHUNK_ROWS : MELS;
    /* calloc: the padding frames are written once here and never again */
    w->timbral_in = calloc(batch * MC_PADDED * MELS, sizeof(float));
    w->temporal_in = calloc(batch * MELS * TEMPORAL_ROW, sizeof(float));
    w->cols = malloc(rows * MAX_TAPS * sizeof(float));
    w->prod = malloc(rows * MAX_FILTERS * sizeof(float));
    w->hi = malloc(MAX_FILTERS * sizeof(float));
    w->front = calloc(batch * MC_PADDED * MC_FRONT, sizeof(float));
    for (int i = 0; i < 3; i++)
        w->mid[i] = calloc(batch * MC_PADDED * MC_MID, sizeof(float));
    w->acc = malloc(batch * MC_PADDED * MC_MID * sizeof(float));
    w->pooled = malloc(batch * MC_POOLED * sizeof(float));
    w->hidden = malloc(batch * SA_MUSICNN_EMBEDDING * sizeof(float));
    w->logits = malloc(batch * SA_MUSICNN_TAGS * sizeof(float));
    if (!w->timbral_in || !w->temporal_in || !w->cols || !w->prod || !w->hi || !w->front || !w->mid[0] ||
        !w->mid[1] || !w->mid[2] || !w->acc || !w->pooled || !w->hidden || !w->logits) {
        mc_work_free(w);
        return sa_error_set(SA_ERR_NOMEM, "tagger workspace for %zu patches", batch);
    }
    *out = w;
    return SA_OK;
}

void mc_work_free(mc_work *w) {
    if (!w)
        return;
    free(w->timbral_in);
    free(w->temporal_in);
    free(w->cols);
    free(w->prod);
    free(w->hi);
    free(w->front);
    for (int i = 0; i < 3; i++)
        free(w->mid[i]);
    free(w->acc);
    free(w->pooled);
    free(w->hidden);
    free(w->logits);
    free(w);
}

/* The input batch norm, written into both padded layouts. */
static void normalise_input(const sa_musicnn *m, mc_work *w, const float *logmel, size_t n) {
    for (size_t b = 0; b < n; b++) {
        const float *x = logmel + b * T * MELS;
        float *tim = w->timbral_in + (b * MC_PADDED + MC_PAD) * MELS;
        float *tem = w->temporal_in + b * MELS * TEMPORAL_ROW + TEMPORAL_BEFORE;
        for (int t = 0; t < T; t++)
            for (int f = 0; f < MELS; f++) {
                float v = m->bn0_scale * x[t * MELS + f] + m->bn0_shift;
                tim[t * MELS + f] = v;
                tem[f * TEMPORAL_ROW + t] = v;
            }
    }
}

/* Where a front-end convolution reads: im2col row (t, i) is `segs` runs of
 * `len` floats, run s at src + t * t_step + i * i_step + s * seg_step, for
 * `width` positions i along the mel axis. */
typedef struct im2col_plan {
    const float *src;
    int t_step, i_step, seg_step, segs, len, width;
} im2col_plan;

/* Column-wise maximum of a rows x cols matrix. */
static void max_rows(const float *restrict x, int rows, int cols, float *restrict hi) {
    memcpy(hi, x, (size_t)cols * sizeof *hi);
    for (int i = 1; i < rows; i++) {
        const float *v = x + (size_t)i * cols;
        for (int c = 0; c < cols; c++)
            hi[c] = v[c] > hi[c] ? v[c] : hi[c];
    }
}

/* One front-end block: for each frame, the maximum over mel positions of
 * BN(ReLU(conv + bias)), written to out[t * MC_FRONT + c]. */
static void front_conv(const mc_conv *L, mc_work *w, const im2col_plan *p, float *out) {
    const int taps = p->segs * p->len, co = L->cout;
    const int chunk = CHUNK_ROWS / p->width > 0 ? CHUNK_ROWS / p->width : 1;
    for (int t0 = 0; t0 < T; t0 += chunk) {
        const int nt = T - t0 < chunk ? T - t0 : chunk, rows = nt * p->width;
        float *row = w->cols;
        for (int t = t0; t < t0 + nt; t++)
            for (int i = 0; i < p->width; i++)
                for (int s = 0; s < p->segs; s++, row += p->len)
                    memcpy(row, p->src + t * p->t_step + i * p->i_step + s * p->seg_step,
                           (size_t)p->len * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, co, taps, 1.0f, w->cols, taps, L->kernel, co,
                    0.0f, w->prod, co);
        for (int t = 0; t < nt; t++) {
            max_rows(w->prod + (size_t)t * p->width * co, p->width, co, w->hi);
            float *o = out + (size_t)(t0 + t) * MC_FRONT;
            for (int c = 0; c < co; c++) {
                /* the max over mel of the conv, or its min where the kernel was negated */
                float x = L->sign[c] * w->hi[c] + L->bias[c];
                o[c] = L->scale[c] * (x > 0.0f ? x : 0.0f) + L->shift[c];
            }
        }
    }
}

static void front_end(const sa_musicnn *m, mc_work *w, size_t b) {
    float *out = w->front + (b * MC_PADDED + MC_PAD) * MC_FRONT;
    const float *tim = w->timbral_in + b * MC_PADDED * MELS;
    int offset = 0;
    for (int k = 0; k < 2; k++) {
        const mc_conv *L = &m->timbral[k];
        /* row (t, i): the kernel's 7 frames x kw mel bands from padded frame t, band i */
        im2col_plan p = {tim, MELS, 1, MELS, L->kh, L->kw, MELS - L->kw + 1};
        front_conv(L, w, &p, out + offset);
        offset += L->cout;
    }
    for (int k = 0; k < 3; k++) {
        const mc_conv *L = &m->temporal[k];
        /* row (t, f): kh frames of band f, starting where this kernel's 'SAME' padding starts */
        const int before = (L->kh - 1) / 2;
        im2col_plan p = {w->temporal_in + b * MELS * TEMPORAL_ROW + TEMPORAL_BEFORE - before, 1, TEMPORAL_ROW, 0, 1,
                         L->kh, MELS};
        front_conv(L, w, &p, out + offset);
        offset += L->cout;
    }
}

/* A mid-end block over n stacked padded patches: 7-frame convolution of in
 * ([n * 193][cin]) as seven shifted products, then ReLU and batch norm,
 * plus residual when given, into out's patch frames. */
static void mid_conv(const mc_conv *L, mc_work *w, size_t n, const float *in, int cin, const float *residual,
                     float *out) {
    const int rows = (int)n * MC_PADDED - (L->kh - 1);
    for (int k = 0; k < L->kh; k++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, MC_MID, cin, 1.0f, in + (size_t)k * cin, cin,
                    L->kernel + (size_t)k * cin * MC_MID, MC_MID, k ? 1.0f : 0.0f, w->acc, MC_MID);
    for (size_t b = 0; b < n; b++)
        for (int t = 0; t < T; t++) {
            const float *a = w->acc + (b * MC_PADDED + t) * MC_MID;
            const size_t at = (b * MC_PADDED + MC_PAD + t) * MC_MID;
            for (int c = 0; c < MC_MID; c++) {
                float x = a[c] + L->bias[c];
                float y = L->scale[c] * (x > 0.0f ? x : 0.0f) + L->shift[c];
                out[at + c] = residual ? y + residual[at + c] : y;
            }
        }
}

/* Max and mean over time of `width` features of one patch, interleaved into pooled. */
static void pool(const float *x, int stride, int width, float *pooled) {
    for (int c = 0; c < width; c++) {
        float hi = x[c];
        double sum = 0.0;
        for (int t = 0; t < T; t++) {
            float v = x[(size_t)t * stride + c];
            hi = v > hi ? v : hi;
            sum += v;
        }
        pooled[2 * c] = hi;
        pooled[2 * c + 1] = (float)(sum / T);
    }
}

static void back_end(const sa_musicnn *m, mc_work *w, size_t n, float *tags, float *embedding) {
    for (size_t b = 0; b < n; b++) {
        float *p = w->pooled + b * MC_POOLED;
        pool(w->front + (b * MC_PADDED + MC_PAD) * MC_FRONT, MC_FRONT, MC_FRONT, p);
        for (int i = 0; i < 3; i++)
            pool(w->mid[i] + (b * MC_PADDED + MC_PAD) * MC_MID, MC_MID, MC_MID, p + 2 * (MC_FRONT + i * MC_MID));
    }
    const int E = SA_MUSICNN_EMBEDDING, K = SA_MUSICNN_TAGS;
    for (size_t b = 0; b < n; b++)
        memcpy(w->hidden + b * E, m->dense_b, (size_t)E * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, E, MC_POOLED, 1.0f, w->pooled, MC_POOLED,
                m->dense_w, E, 1.0f, w->hidden, E);
    for (size_t b = 0; b < n; b++) {
        float *h = w->hidden + b * E;
        for (int j = 0; j < E; j++)
            h[j] = m->emb_scale[j] * (h[j] > 0.0f ? h[j] : 0.0f) + m->emb_shift[j];
        memcpy(w->logits + b * K, m->out_b, (size_t)K * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, K, E, 1.0f, w->hidden, E, m->out_w, K, 1.0f,
                w->logits, K);
    if (embedding)
        memcpy(embedding, w->hidden, n * E * sizeof(float));
    if (tags)
        for (size_t i = 0; i < n * K; i++)
            tags[i] = 1.0f / (1.0f + expf(-w->logits[i]));
}

void mc_network_run(const sa_musicnn *m, mc_work *w, const float *logmel, size_t n, float *tags,
                    float *embedding) {
    normalise_input(m, w, logmel, n);
    for (size_t b = 0; b < n; b++)
        front_end(m, w, b);
    mid_conv(&m->mid[0], w, n, w->front, MC_FRONT, NULL, w->mid[0]);
    mid_conv(&m->mid[1], w, n, w->mid[0], MC_MID, w->mid[0], w->mid[1]);
    mid_conv(&m->mid[2], w, n, w->mid[1], MC_MID, w->mid[1], w->mid[2]);
    back_end(m, w, n, tags, embedding);
}

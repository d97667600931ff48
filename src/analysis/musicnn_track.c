/* musicnn_track.c: tagging a stream of audio, and the analyzer over it.
 *
 * The track is cut into patches of 187 log-mel frames of its 16 kHz
 * resampling (patches do not overlap; frames left at the end are dropped,
 * as upstream does). Which patches go through the network:
 *   - whole track: all of them; only running sums are kept.
 *   - K patches (the default): the centres of K equal parts of the track,
 *     placed from the duration estimate: patch floor((j + 1/2) * P / K) for
 *     j = 0, 1, ..., with P the estimated patch count. The plan goes on past
 *     K when the track is longer than estimated (or the estimate is 0:
 *     then P = K, every patch); when more than 2K results are kept, every
 *     other one is dropped and the plan's step doubles, so the kept patches
 *     stay evenly spread over the whole track and never exceed 2K. A track
 *     shorter than estimated has fewer patches; one that ends before the
 *     first planned patch is tagged on its last complete patch.
 * Only the patches the plan reaches are computed. The input arrives at the
 * file's own rate and is kept from the first sample the next planned patch
 * needs (while no patch has been tagged, from the first one the last
 * complete patch may need); when all of them have come, the patch's window
 * is resampled to 16 kHz alone (sa_resampler_range: the same samples as a
 * resampling of the whole track) and turned into frames by a mel stage of
 * its own. The window starts one frame early, so that the patch's first
 * frame reads real samples where the stream's would, not a reflection,
 * and ends one sample after its last frame's last sample, the point where
 * the stream's mel stage computes that frame; a window that reaches the
 * stream's end is flushed like the stream, and sees the same reflection.
 * So each frame has the bits it has when the whole track goes through.
 * Selected patches wait in a small batch and go through the network
 * together. A track shorter than one patch is padded with silence (log-mel
 * 0). Memory: the input from the next window on (a window and a block at
 * most; about two patches before the first is tagged), one window and its
 * frames, the batch and at most 2K + batch results, whatever the track's
 * length. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "analysis/musicnn.h"
#include "soundalike/melspec.h"
#include "soundalike/resample.h"

enum {
    T = SA_MUSICNN_PATCH_FRAMES,
    MELS = SA_MUSICNN_MELS,
    PATCH = T * MELS,
    TAGS = SA_MUSICNN_TAGS,
    EMB = SA_MUSICNN_EMBEDDING,
    HOP = 256,              /* SA_MELSPEC_MUSICNN's hop, half its frame */
    WINDOW = (T + 1) * HOP + 1, /* 16 kHz samples of a patch's window (see above) */
    FEED_SAMPLES = 8192,    /* input taken at once, so the kept input stays bounded */
    ANALYZER_VERSION = 1,
};

typedef struct patch_result {
    int64_t slot; /* j, the plan slot it filled */
    float tags[TAGS];
    float emb[EMB];
} patch_result;

typedef struct mc_track {
    const sa_musicnn *m;
    int rate;          /* of the input */
    sa_resampler *rs;  /* rate -> 16 kHz, by ranges */
    /* the input, samples ring_base .. n_in - 1 */
    float *ring;
    size_t ring_cap;
    int64_t ring_base, n_in;
    float *pcm;        /* one window at 16 kHz */
    float *frames;     /* its mel frames */
    size_t frames_cap;
    bool picked;       /* a patch has been queued */
    /* the plan: the next patch is slot_patch(slot); the whole track is stride 1, step 1 */
    int want;          /* K; 0 for the whole track */
    double stride;     /* patches between slots: max(1, P / K) */
    int64_t slot, slot_step;
    /* selected patches waiting for the network */
    float *batch;      /* [MC_BATCH][187][96] */
    int64_t batch_slot[MC_BATCH];
    size_t batch_n;
    mc_work *work;
    float tags_out[MC_BATCH * TAGS], emb_out[MC_BATCH * EMB];
    /* results: a list in spread mode, sums for the whole track */
    patch_result *kept;
    size_t n_kept;
    double sum_tags[TAGS], sum_emb[EMB];
    size_t n_summed;
} mc_track;

static void track_free(mc_track *s) {
    if (!s)
        return;
    sa_resampler_free(s->rs);
    free(s->ring);
    free(s->pcm);
    free(s->frames);
    free(s->batch);
    free(s->kept);
    mc_work_free(s->work);
    free(s);
}

static int64_t slot_patch(const mc_track *s, int64_t slot) { return (int64_t)floor(((double)slot + 0.5) * s->stride); }

/* Where patch p's window starts at 16 kHz: one frame before the patch's
 * first frame starts, so that the window's frame 1 is the patch's first
 * (frame 0 for the first patch, whose reflection is the stream's). */
static int64_t window_start(int64_t p) { return p == 0 ? 0 : (p * T - 1) * HOP; }

/* The local index of the patch's first frame in its window. */
static int64_t window_lead(int64_t p) { return p == 0 ? 0 : 1; }

/* Where it ends: one sample past the last one of the patch's last frame,
 * where the stream's mel stage computes that frame. */
static int64_t window_end(int64_t p) { return window_start(p) + window_lead(p) * HOP + WINDOW - HOP; }

/* The input samples [*first, *end) that patch p's window reads. */
static sa_err window_input(const mc_track *s, int64_t p, int64_t *first, int64_t *end) {
    return sa_resampler_span(s->rs, window_start(p), window_end(p), first, end);
}

static sa_err track_new(const sa_musicnn *m, int rate, double duration_s, mc_track **out) {
    mc_track *s = calloc(1, sizeof *s);
    if (!s)
        return sa_error_set(SA_ERR_NOMEM, "tagger state");
    s->m = m;
    s->rate = rate;
    s->want = m->patches;
    s->slot_step = 1;
    s->stride = 1.0;
    if (s->want > 0 && duration_s > 0.0 && isfinite(duration_s)) {
        /* the patch count of librosa's framing for that many samples */
        double frames = 1.0 + floor(duration_s * SA_MUSICNN_RATE / HOP);
        double est = floor(frames / T);
        if (est > s->want)
            s->stride = est / s->want;
    }
    sa_melspec_config cfg = SA_MELSPEC_MUSICNN;
    sa_melspec *mel = NULL;
    sa_err err = sa_resampler_new(rate, SA_MUSICNN_RATE, &s->rs);
    if (!err)
        err = sa_melspec_new(&cfg, &mel);
    if (!err)
        err = mc_work_new(MC_BATCH, &s->work);
    if (!err) {
        s->frames_cap = sa_melspec_max_frames(mel, WINDOW) + sa_melspec_max_frames(mel, 0);
        s->frames = malloc(s->frames_cap * MELS * sizeof(float));
        s->pcm = malloc(WINDOW * sizeof(float));
        s->batch = malloc(MC_BATCH * PATCH * sizeof(float));
        s->kept = s->want > 0 ? malloc((2 * (size_t)s->want + MC_BATCH) * sizeof *s->kept) : NULL;
        if (!s->frames || !s->pcm || !s->batch || (s->want > 0 && !s->kept))
            err = sa_error_set(SA_ERR_NOMEM, "tagger state");
    }
    sa_melspec_free(mel);
    if (err) {
        track_free(s);
        return err;
    }
    *out = s;
    return SA_OK;
}
/* Drops every other kept result (by plan slot) and doubles the plan's step,
 * until at most 2K are left. */
static void thin(mc_track *s) {
    while (s->n_kept > 2 * (size_t)s->want) {
        s->slot_step *= 2;
        size_t k = 0;
        for (size_t i = 0; i < s->n_kept; i++)
            if (s->kept[i].slot % s->slot_step == 0)
                s->kept[k++] = s->kept[i];
        s->n_kept = k;
        s->slot = (s->slot + s->slot_step - 1) / s->slot_step * s->slot_step;
    }
}

static void run_batch(mc_track *s) {
    if (s->batch_n == 0)
        return;
    mc_network_run(s->m, s->work, s->batch, s->batch_n, s->tags_out, s->emb_out);
    for (size_t b = 0; b < s->batch_n; b++) {
        const float *tags = s->tags_out + b * TAGS, *emb = s->emb_out + b * EMB;
        if (s->want == 0) {
            for (int i = 0; i < TAGS; i++)
                s->sum_tags[i] += tags[i];
            for (int i = 0; i < EMB; i++)
                s->sum_emb[i] += emb[i];
            s->n_summed++;
        } else {
            patch_result *r = &s->kept[s->n_kept++];
            r->slot = s->batch_slot[b];
            memcpy(r->tags, tags, sizeof r->tags);
            memcpy(r->emb, emb, sizeof r->emb);
        }
    }
    s->batch_n = 0;
    if (s->want > 0)
        thin(s);
}

static void queue_patch(mc_track *s, const float *patch, int64_t slot) {
    memcpy(s->batch + s->batch_n * PATCH, patch, PATCH * sizeof(float));
    s->batch_slot[s->batch_n++] = slot;
    if (s->batch_n == MC_BATCH)
        run_batch(s);
}

/* Queues patch[187][96] as the plan's next slot. */
static void take_patch(mc_track *s, const float *patch) {
    int64_t slot = s->slot;
    s->slot += s->slot_step; /* before queueing: a run may thin and move the plan on */
    s->picked = true;
    queue_patch(s, patch, slot);
}

/* The 16 kHz stream's length once n_in input samples have come: at the
 * end (ceil, with librosa's padding) or so far (at least that). */
static int64_t stream_len(const mc_track *s, bool at_end) {
    double x = (double)s->n_in * ((double)SA_MUSICNN_RATE / s->rate);
    return (int64_t)(at_end ? ceil(x) : floor(x));
}

/* Complete patches in a 16 kHz stream of n samples (librosa's 1 + n / hop frames). */
static int64_t complete_patches(int64_t n) { return n > 0 ? (1 + n / HOP) / T : 0; }

/* Computes patch p's frames from the input kept: s->frames from frame
 * window_lead(p) on, 187 of them, silence where a stream shorter than a
 * patch has none. at_end: the input has ended. */
static sa_err patch_frames(mc_track *s, int64_t p, bool at_end, const float **patch) {
    const int64_t a = window_start(p), total = stream_len(s, true);
    int64_t b = window_end(p), first, end;
    bool stream_end = at_end && b >= total;
    if (stream_end)
        b = total;
    sa_err err = sa_resampler_span(s->rs, a, b, &first, &end);
    if (err)
        return err;
    if (first < s->ring_base)
        return sa_error_set(SA_ERR_INVALID, "tagger: patch %lld needs input %lld, kept from %lld", (long long)p,
                            (long long)first, (long long)s->ring_base);
    if (end >= s->n_in)
        end = s->n_in;
    err = sa_resampler_range(s->rs, s->ring + (first - s->ring_base), first, (size_t)(end - first),
                             at_end && end == s->n_in, a, b, s->pcm);
    if (err)
        return err;
    sa_melspec_config cfg = SA_MELSPEC_MUSICNN;
    sa_melspec *mel;
    err = sa_melspec_new(&cfg, &mel);
    if (err)
        return err;
    size_t made = 0, more = 0;
    err = sa_melspec_process(mel, s->pcm, (size_t)(b - a), s->frames, &made);
    if (!err && stream_end)
        err = sa_melspec_flush(mel, s->frames + made * MELS, s->frames_cap - made, &more);
    sa_melspec_free(mel);
    if (err)
        return err;
    size_t lead = (size_t)window_lead(p), have = made + more;
    if (have < lead + T)
        memset(s->frames + have * MELS, 0, (lead + T - have) * MELS * sizeof(float));
    *patch = s->frames + lead * MELS;
    return SA_OK;
}

/* Drops the input that neither the next planned patch nor, while none has
 * been tagged, the last complete patch (the stand-in) can read. */
static sa_err trim_input(mc_track *s) {
    int64_t keep, end, stand_in = complete_patches(stream_len(s, false)) - 1;
    sa_err err = window_input(s, slot_patch(s, s->slot), &keep, &end);
    if (!err && !s->picked) {
        int64_t from = 0;
        if (stand_in >= 0)
            err = window_input(s, stand_in, &from, &end);
        if (from < keep)
            keep = from;
    }
    if (err)
        return err;
    if (keep > s->n_in)
        keep = s->n_in;
    /* moved only once as much can go as stays, so each sample is moved a
     * bounded number of times; the ring holds at most twice what is kept */
    if (keep > s->ring_base && keep - s->ring_base >= s->n_in - keep) {
        size_t drop = (size_t)(keep - s->ring_base);
        memmove(s->ring, s->ring + drop, (size_t)(s->n_in - keep) * sizeof *s->ring);
        s->ring_base = keep;
    }
    return SA_OK;
}

/* Takes n input samples and tags every planned patch whose window they complete. */
static sa_err track_take(mc_track *s, const float *in, size_t n) {
    size_t len = (size_t)(s->n_in - s->ring_base);
    if (len + n > s->ring_cap) {
        size_t cap = (len + n) * 2;
        float *grown = realloc(s->ring, cap * sizeof *grown);
        if (!grown)
            return sa_error_set(SA_ERR_NOMEM, "tagger input of %zu samples", cap);
        s->ring = grown;
        s->ring_cap = cap;
    }
    memcpy(s->ring + len, in, n * sizeof *in);
    s->n_in += (int64_t)n;
    for (;;) {
        int64_t p = slot_patch(s, s->slot), first, end;
        const float *patch;
        sa_err err = window_input(s, p, &first, &end);
        if (!err && end > s->n_in)
            break;
        if (!err)
            err = patch_frames(s, p, false, &patch);
        if (err)
            return err;
        take_patch(s, patch);
    }
    return trim_input(s);
}

static sa_err track_feed(mc_track *s, const float *in, size_t n) {
    for (size_t i = 0; i < n; i += FEED_SAMPLES) {
        sa_err err = track_take(s, in + i, n - i < FEED_SAMPLES ? n - i : FEED_SAMPLES);
        if (err)
            return err;
    }
    return SA_OK;
}

/* Ends the stream and writes the track's mean tags and embedding. */
static sa_err track_finish(mc_track *s, float *tags, float *emb, size_t *patches) {
    if (s->n_in == 0)
        return sa_error_set(SA_ERR_FORMAT, "no audio to tag");
    const int64_t complete = complete_patches(stream_len(s, true));
    const float *patch;
    for (int64_t p; (p = slot_patch(s, s->slot)) < complete;) {
        sa_err err = patch_frames(s, p, true, &patch);
        if (err)
            return err;
        take_patch(s, patch);
    }
    run_batch(s);
    if (!s->picked) { /* the last complete patch, or the stream padded with silence */
        sa_err err = patch_frames(s, complete > 0 ? complete - 1 : 0, true, &patch);
        if (err)
            return err;
        queue_patch(s, patch, 0);
        run_batch(s);
    }
    double st[TAGS] = {0}, se[EMB] = {0};
    const double *sum_tags = s->sum_tags, *sum_emb = s->sum_emb;
    size_t count = s->n_summed;
    if (s->want > 0) {
        for (size_t k = 0; k < s->n_kept; k++) {
            for (int i = 0; i < TAGS; i++)
                st[i] += s->kept[k].tags[i];
            for (int i = 0; i < EMB; i++)
                se[i] += s->kept[k].emb[i];
        }
        sum_tags = st;
        sum_emb = se;
        count = s->n_kept;
    }
    for (int i = 0; tags && i < TAGS; i++)
        tags[i] = (float)(sum_tags[i] / (double)count);
    for (int i = 0; emb && i < EMB; i++)
        emb[i] = (float)(sum_emb[i] / (double)count);
    if (patches)
        *patches = count;
    return SA_OK;
}

sa_err sa_musicnn_run_audio(const sa_musicnn *m, const float *pcm, size_t n, float *tags, float *embedding,
                            size_t *patches) {
    mc_track *s;
    sa_err err = track_new(m, SA_MUSICNN_RATE, (double)n / SA_MUSICNN_RATE, &s);
    if (err)
        return err;
    err = track_feed(s, pcm, n);
    if (!err)
        err = track_finish(s, tags, embedding, patches);
    track_free(s);
    return err;
}

static sa_err analyzer_start(void *config, const sa_stream_info *info, void **state) {
    mc_track *s;
    sa_err err = track_new(config, info->native_rate, info->duration_s, &s);
    if (!err)
        *state = s;
    return err;
}

static sa_err analyzer_feed(void *state, const sa_audio_block *block) {
    mc_track *s = state;
    if (!block->mono)
        return sa_error_set(SA_ERR_INVALID, "the tagger reads mono audio, given a block without it");
    if (block->rate != s->rate)
        return sa_error_set(SA_ERR_INVALID, "the tagger was started at %d Hz, given %d Hz audio", s->rate,
                            block->rate);
    return track_feed(s, block->mono, block->frames);
}

static sa_err analyzer_finish(void *state, sa_features *features) {
    mc_track *s = state;
    float tags[TAGS], emb[EMB];
    size_t patches;
    sa_feature_group *g;
    sa_err err = track_finish(s, tags, emb, &patches);
    if (!err)
        err = sa_features_group(features, "musicnn", ANALYZER_VERSION, &g);
    if (!err)
        err = sa_features_set(g, "tags", tags, TAGS);
    if (!err)
        err = sa_features_set(g, "embedding", emb, EMB);
    if (!err)
        err = sa_features_set_text(g, "model", s->m->name);
    if (!err)
        err = sa_features_set_scalar(g, "patches", (float)patches);
    return err;
}

static void analyzer_free(void *state) { track_free(state); }

void sa_musicnn_analyzer(sa_musicnn *m, sa_analyzer *out) {
    /* workers tag one track each; BLAS threads would only fight them for the cores */
    openblas_set_num_threads(1);
    /* the file's own rate: it resamples the windows of its patches itself */
    *out = (sa_analyzer){.name = "musicnn",
                         .version = ANALYZER_VERSION,
                         .rate = 0,
                         .start = analyzer_start,
                         .feed = analyzer_feed,
                         .finish = analyzer_finish,
                         .free = analyzer_free,
                         .config = m};
}

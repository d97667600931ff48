/* musicnn_track.c: tagging a stream of 16 kHz audio, and the analyzer over it.
 *
 * Audio becomes log-mel frames as it arrives; every 187 frames make a patch
 * (patches do not overlap; frames left at the end are dropped, as upstream
 * does). Which patches go through the network:
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
 * Selected patches wait in a small batch and go through the network
 * together. A track shorter than one patch is padded with silence (log-mel
 * 0). Memory: the mel history, two patches of frames (the one being
 * filled and the last complete one), the batch and at most 2K + batch
 * results, whatever the track's length. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "analysis/musicnn.h"
#include "soundalike/melspec.h"

enum {
    T = SA_MUSICNN_PATCH_FRAMES,
    MELS = SA_MUSICNN_MELS,
    PATCH = T * MELS,
    TAGS = SA_MUSICNN_TAGS,
    EMB = SA_MUSICNN_EMBEDDING,
    FEED_SAMPLES = 8192, /* samples given to the mel stage at once */
    ANALYZER_VERSION = 1,
};

typedef struct patch_result {
    int64_t slot; /* j, the plan slot it filled */
    float tags[TAGS];
    float emb[EMB];
} patch_result;

typedef struct mc_track {
    const sa_musicnn *m;
    sa_melspec *mel;
    float *frames;   /* mel output of one feed step */
    size_t frames_cap;
    float *cur;      /* the patch being filled, [187][96] */
    float *last;     /* the last complete patch */
    bool have_last;
    int64_t n_frames;
    /* the plan (spread mode) */
    int want;        /* K; 0 for the whole track */
    double stride;   /* patches between slots: max(1, P / K) */
    int64_t slot, slot_step;
    /* selected patches waiting for the network */
    float *batch;    /* [MC_BATCH][187][96] */
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
    sa_melspec_free(s->mel);
    free(s->frames);
    free(s->cur);
    free(s->last);
    free(s->batch);
    free(s->kept);
    mc_work_free(s->work);
    free(s);
}

static int64_t slot_patch(const mc_track *s, int64_t slot) { return (int64_t)floor(((double)slot + 0.5) * s->stride); }

static sa_err track_new(const sa_musicnn *m, double duration_s, mc_track **out) {
    mc_track *s = calloc(1, sizeof *s);
    if (!s)
        return sa_error_set(SA_ERR_NOMEM, "tagger state");
    s->m = m;
    s->want = m->patches;
    s->slot_step = 1;
    s->stride = 1.0;
    if (s->want > 0 && duration_s > 0.0 && isfinite(duration_s)) {
        /* the patch count of librosa's framing for that many samples */
        double frames = 1.0 + floor(duration_s * SA_MUSICNN_RATE / 256.0);
        double est = floor(frames / T);
        if (est > s->want)
            s->stride = est / s->want;
    }
    sa_melspec_config cfg = SA_MELSPEC_MUSICNN;
    sa_err err = sa_melspec_new(&cfg, &s->mel);
    if (!err)
        err = mc_work_new(MC_BATCH, &s->work);
    if (!err) {
        s->frames_cap = sa_melspec_max_frames(s->mel, FEED_SAMPLES);
        s->frames = malloc(s->frames_cap * MELS * sizeof(float));
        s->cur = malloc(PATCH * sizeof(float));
        s->last = malloc(PATCH * sizeof(float));
        s->batch = malloc(MC_BATCH * PATCH * sizeof(float));
        s->kept = s->want > 0 ? malloc((2 * (size_t)s->want + MC_BATCH) * sizeof *s->kept) : NULL;
        if (!s->frames || !s->cur || !s->last || !s->batch || (s->want > 0 && !s->kept))
            err = sa_error_set(SA_ERR_NOMEM, "tagger state");
    }
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

/* Patch p (0-based) has just been completed in s->cur. */
static void patch_done(mc_track *s, int64_t p) {
    if (s->want == 0) {
        queue_patch(s, s->cur, p);
    } else if (p == slot_patch(s, s->slot)) {
        int64_t slot = s->slot;
        s->slot += s->slot_step; /* before queueing: a run may thin and move the plan on */
        queue_patch(s, s->cur, slot);
    }
    float *t = s->last;
    s->last = s->cur;
    s->cur = t;
    s->have_last = true;
}

static void add_frames(mc_track *s, const float *frames, size_t n) {
    for (size_t i = 0; i < n; i++) {
        memcpy(s->cur + (s->n_frames % T) * MELS, frames + i * MELS, MELS * sizeof(float));
        if (++s->n_frames % T == 0)
            patch_done(s, s->n_frames / T - 1);
    }
}

static sa_err track_feed(mc_track *s, const float *pcm, size_t n) {
    for (size_t i = 0; i < n; i += FEED_SAMPLES) {
        size_t k = n - i < FEED_SAMPLES ? n - i : FEED_SAMPLES, made;
        sa_err err = sa_melspec_process(s->mel, pcm + i, k, s->frames, &made);
        if (err)
            return err;
        add_frames(s, s->frames, made);
    }
    return SA_OK;
}

/* Ends the stream and writes the track's mean tags and embedding. */
static sa_err track_finish(mc_track *s, float *tags, float *emb, size_t *patches) {
    size_t made;
    sa_err err = sa_melspec_flush(s->mel, s->frames, s->frames_cap, &made);
    if (err)
        return err;
    add_frames(s, s->frames, made);
    if (s->n_frames == 0)
        return sa_error_set(SA_ERR_FORMAT, "no audio to tag");
    run_batch(s);
    if (s->n_kept == 0 && s->n_summed == 0) {
        if (!s->have_last) { /* shorter than a patch: pad with silence */
            size_t have = (size_t)s->n_frames * MELS;
            memset(s->cur + have, 0, (PATCH - have) * sizeof(float));
        }
        queue_patch(s, s->have_last ? s->last : s->cur, 0);
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
    sa_err err = track_new(m, (double)n / SA_MUSICNN_RATE, &s);
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
    sa_err err = track_new(config, info->duration_s, &s);
    if (!err)
        *state = s;
    return err;
}

static sa_err analyzer_feed(void *state, const sa_audio_block *block) {
    if (block->rate != SA_MUSICNN_RATE)
        return sa_error_set(SA_ERR_INVALID, "the tagger reads %d Hz audio, was given %d Hz", SA_MUSICNN_RATE,
                            block->rate);
    return track_feed(state, block->mono, block->frames);
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
    *out = (sa_analyzer){.name = "musicnn",
                         .version = ANALYZER_VERSION,
                         .rate = SA_MUSICNN_RATE,
                         .start = analyzer_start,
                         .feed = analyzer_feed,
                         .finish = analyzer_finish,
                         .free = analyzer_free,
                         .config = m};
}

/* rhythm.c: the "rhythm" analyzer: tempo, its confidence and the beat times.
 *
 * It keeps only the onset envelope of the track (86 floats per second of
 * audio) and estimates everything from it at the end. */
#include <stdlib.h>

#include "analysis/tempo.h"
#include "dsp/onset.h"
#include "soundalike/descriptors.h"

#define RHYTHM_VERSION 3
#define RHYTHM_RATE 22050

static sa_err rhythm_start(void *config, const sa_stream_info *info, void **state) {
    (void)config;
    (void)info;
    sa_onset *o;
    sa_err err = sa_onset_new(RHYTHM_RATE, &o);
    if (err)
        return err;
    *state = o;
    return SA_OK;
}

static sa_err rhythm_feed(void *state, const sa_audio_block *block) {
    if (!block->mono || block->rate != RHYTHM_RATE)
        return sa_error_set(SA_ERR_INVALID, "rhythm: got %s at %d Hz, expected mono audio at %d Hz",
                            block->mono ? "mono audio" : "a block without mono audio", block->rate, RHYTHM_RATE);
    return sa_onset_feed(state, block->mono, block->frames);
}

static sa_err rhythm_finish(void *state, sa_features *features) {
    size_t n;
    const float *env = sa_onset_envelope(state, &n);
    float fps = sa_onset_rate(state);
    sa_tempo tempo;
    sa_err err = sa_tempo_estimate(env, n, fps, &tempo);
    if (err)
        return err;
    float *beats = NULL;
    size_t count = 0;
    err = sa_tempo_beats(env, n, fps, tempo.bpm, &beats, &count);
    sa_feature_group *g;
    if (!err)
        err = sa_features_group(features, "rhythm", RHYTHM_VERSION, &g);
    if (!err)
        err = sa_features_set_scalar(g, "bpm", tempo.bpm);
    if (!err)
        err = sa_features_set_scalar(g, "confidence", tempo.confidence);
    if (!err)
        err = sa_features_set(g, "beats", beats, count);
    free(beats);
    return err;
}

static void rhythm_free(void *state) { sa_onset_free(state); }

static const sa_analyzer rhythm_analyzer = {
    .name = "rhythm",
    .version = RHYTHM_VERSION,
    .rate = RHYTHM_RATE,
    .quality = SA_RESAMPLE_FAST, /* 37 of 40 onset bands lie below 8.8 kHz, where FAST is exact */
    .start = rhythm_start,
    .feed = rhythm_feed,
    .finish = rhythm_finish,
    .free = rhythm_free,
    .config = NULL,
};

const sa_analyzer *sa_rhythm_analyzer(void) { return &rhythm_analyzer; }

/* tonal.c: the "tonal" analyzer: key, scale, key strength, chroma and tuning.
 *
 * It keeps only the chroma accumulators (dsp/chroma.h) and decides the key
 * at the end from the track's mean profile. */
#include <stdlib.h>

#include "dsp/chroma.h"
#include "soundalike/descriptors.h"

#define TONAL_VERSION 3
#define TONAL_RATE 22050

static sa_err tonal_start(void *config, const sa_stream_info *info, void **state) {
    (void)config;
    (void)info;
    sa_chroma *c;
    sa_err err = sa_chroma_new(TONAL_RATE, &c);
    if (err)
        return err;
    *state = c;
    return SA_OK;
}

static sa_err tonal_feed(void *state, const sa_audio_block *block) {
    if (!block->mono || block->rate != TONAL_RATE)
        return sa_error_set(SA_ERR_INVALID, "tonal: got %s at %d Hz, expected mono audio at %d Hz",
                            block->mono ? "mono audio" : "a block without mono audio", block->rate, TONAL_RATE);
    return sa_chroma_feed(state, block->mono, block->frames);
}

static sa_err tonal_finish(void *state, sa_features *features) {
    float pcp[12], tuning;
    sa_chroma_profile(state, pcp, &tuning);
    int dominant = 0;
    for (int k = 1; k < 12; k++)
        if (pcp[k] > pcp[dominant])
            dominant = k;
    sa_key key;
    sa_err err = sa_key_estimate(pcp, SA_KEY_PROFILE_DEFAULT, &key);
    sa_feature_group *g;
    if (!err)
        err = sa_features_group(features, "tonal", TONAL_VERSION, &g);
    if (!err)
        err = sa_features_set_text(g, "key", sa_key_name(key.tonic));
    if (!err)
        err = sa_features_set_text(g, "scale", key.minor ? "minor" : "major");
    if (!err)
        err = sa_features_set_scalar(g, "strength", key.strength);
    if (!err)
        err = sa_features_set(g, "chroma", pcp, 12);
    if (!err)
        err = sa_features_set_scalar(g, "dominant", (float)dominant);
    if (!err)
        err = sa_features_set_scalar(g, "tuning_cents", tuning);
    return err;
}

static void tonal_free(void *state) { sa_chroma_free(state); }

static const sa_analyzer tonal_analyzer = {
    .name = "tonal",
    .version = TONAL_VERSION,
    .rate = TONAL_RATE,
    .quality = SA_RESAMPLE_FAST, /* chroma reads up to 2 kHz, well inside the exact band */
    .start = tonal_start,
    .feed = tonal_feed,
    .finish = tonal_finish,
    .free = tonal_free,
    .config = NULL,
};

const sa_analyzer *sa_tonal_analyzer(void) { return &tonal_analyzer; }

/* analyzer.h: the interface every per-track analyzer implements.
 *
 * The analysis pipeline decodes a file once and streams its audio, block by
 * block, to every analyzer at the sample rate that analyzer asked for. An
 * analyzer keeps only what it needs between blocks, so memory is bounded by
 * the analyzer, not by the length of the track. At the end it writes its
 * results as one feature group named after itself. */
#ifndef SOUNDALIKE_ANALYZER_H
#define SOUNDALIKE_ANALYZER_H

#include <stddef.h>

#include "soundalike/error.h"
#include "soundalike/features.h"
#include "soundalike/resample.h"

/* One block of audio as an analyzer receives it. */
typedef struct sa_audio_block {
    const float *mono;        /* frames samples, the channels averaged */
    const float *interleaved; /* frames * channels samples, the file's channels (native rate only) */
    size_t frames;
    int channels;
    int rate;
} sa_audio_block;

/* What the pipeline knows of a track when an analyzer starts. */
typedef struct sa_stream_info {
    int native_rate;   /* the file's sample rate */
    int channels;      /* the file's channels (at most 2 after downmix) */
    double duration_s; /* from the container, an estimate; 0 when unknown */
} sa_stream_info;

typedef struct sa_analyzer {
    const char *name; /* feature group name, e.g. "loudness" */
    int version;      /* bump when results change; stored features of older versions are redone */
    int rate;         /* sample rate it wants; 0 = the file's own rate (interleaved is then set) */
    /* How exactly it needs that rate. SA_RESAMPLE_BEST (0, the default):
     * resampy's kaiser_best, as the tagger was trained on. SA_RESAMPLE_FAST:
     * a cheaper filter, faithful below 0.8 of the Nyquist frequency (the
     * descriptors); at rate 0 the file's own samples come as they are,
     * whatever the quality. The pipeline shares one stream per (rate,
     * quality). */
    sa_resample_quality quality;
    /* Creates per-track state. */
    sa_err (*start)(void *config, const sa_stream_info *info, void **state);
    sa_err (*feed)(void *state, const sa_audio_block *block);
    /* Writes the group into features. */
    sa_err (*finish)(void *state, sa_features *features);
    void (*free)(void *state);
    void *config; /* shared read-only between threads (e.g. loaded model weights) */
} sa_analyzer;

#endif

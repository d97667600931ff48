/* pipeline.h: decode a file once and run a set of analyzers over its audio.
 *
 * The pipeline streams the decoded audio block by block to every analyzer
 * at the sample rate it asked for (resampling once per distinct rate and
 * quality), so memory is bounded by the analyzers, never by the length of
 * the track.
 * Thread-safe: several pipelines may run at once on distinct files, sharing
 * the same analyzers (their config is read-only). */
#ifndef SOUNDALIKE_PIPELINE_H
#define SOUNDALIKE_PIPELINE_H

#include <stddef.h>

#include "soundalike/analyzer.h"
#include "soundalike/audio.h"
#include "soundalike/error.h"
#include "soundalike/features.h"

typedef struct sa_pipeline_result {
    double decoded_s;      /* seconds of audio decoded */
    long long bad_packets; /* packets skipped as corrupt */
} sa_pipeline_result;

/* Decodes path and runs the n analyzers on it; each writes its feature
 * group into features. info (may be NULL) gets the file's facts, result
 * (may be NULL) what was decoded. A file with no audio at all, or one that
 * an analyzer rejects, fails with the analyzer's error. */
sa_err sa_pipeline_run(const char *path, const sa_analyzer *const *analyzers, size_t n, sa_features *features,
                       sa_audio_info *info, sa_pipeline_result *result);

#endif

/* tempo.h: tempo estimation and beat tracking on an onset envelope (private).
 *
 * Both work on a whole envelope (see dsp/onset.h) at fps values per second:
 * the rhythm analyzer keeps the envelope of a track and calls these once. */
#ifndef SOUNDALIKE_ANALYSIS_TEMPO_H
#define SOUNDALIKE_ANALYSIS_TEMPO_H

#include <stddef.h>

#include "soundalike/error.h"

typedef struct sa_tempo {
    float bpm;        /* in [SA_RHYTHM_MIN_BPM, SA_RHYTHM_MAX_BPM], 0 when no pulse */
    float confidence; /* [0, 1] */
} sa_tempo;

/* Estimates the main tempo of env. */
sa_err sa_tempo_estimate(const float *env, size_t n, float fps, sa_tempo *out);

/* How strongly env recurs at the period of bpm: the autocorrelation of its
 * detrended envelope at that lag over the one at lag 0, in [-1, 1] (the
 * confidence of a tempo is this at the tempo, floored at 0); 0 when env
 * holds fewer than two periods. */
sa_err sa_tempo_pulse(const float *env, size_t n, float fps, double bpm, double *strength);

/* Beat times (seconds) of env at tempo bpm, by dynamic programming; *beats
 * is malloc'd (NULL when *count is 0), the caller frees it. */
sa_err sa_tempo_beats(const float *env, size_t n, float fps, float bpm, float **beats, size_t *count);

#endif

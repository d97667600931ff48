/* chroma.h: a streaming, tuning-aware pitch-class profile (private to the analyzers).
 *
 * Mono audio goes in block by block; the object keeps one frame of audio
 * at a reduced rate, its filters' few samples of history, a fine
 * pitch-class histogram and a tuning sum, so memory does not depend on the
 * length of the track. At
 * any time it can report the track's mean profile, folded to the 12 pitch
 * classes around the tuning it measured. */
#ifndef SOUNDALIKE_DSP_CHROMA_H
#define SOUNDALIKE_DSP_CHROMA_H

#include <stddef.h>

#include "soundalike/error.h"

typedef struct sa_chroma sa_chroma;

/* rate: the sample rate of the audio to come (8 kHz to 192 kHz). */
sa_err sa_chroma_new(int rate, sa_chroma **out);
void sa_chroma_free(sa_chroma *c); /* NULL accepted */

sa_err sa_chroma_feed(sa_chroma *c, const float *x, size_t n);

/* The mean profile so far, pitch classes C..B, scaled so that the largest
 * is 1 (all 0 when no frame had a tonal peak). tuning_cents, when not NULL,
 * receives the measured deviation of the tuning from A = 440 Hz, in
 * [-50, 50) cents. */
void sa_chroma_profile(const sa_chroma *c, float pcp[12], float *tuning_cents);

#endif

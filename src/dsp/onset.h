/* onset.h: a streaming onset-strength envelope (private to the analyzers).
 *
 * Mono audio goes in block by block; out comes one value per hop: the
 * half-wave rectified rise of log-compressed mel band magnitudes between
 * consecutive frames, summed over the bands (spectral flux). Frames are
 * centred: value i describes time i * hop / rate seconds. Only the last
 * frame of audio and the envelope itself are kept (4 bytes per hop). */
#ifndef SOUNDALIKE_DSP_ONSET_H
#define SOUNDALIKE_DSP_ONSET_H

#include <stddef.h>

#include "soundalike/error.h"

typedef struct sa_onset sa_onset;

/* rate: the sample rate of the audio to come (8 kHz to 192 kHz). */
sa_err sa_onset_new(int rate, sa_onset **out);
void sa_onset_free(sa_onset *o); /* NULL accepted */

sa_err sa_onset_feed(sa_onset *o, const float *x, size_t n);

/* Envelope values per second (rate / hop). */
float sa_onset_rate(const sa_onset *o);

/* The envelope so far: *n values, owned by o, valid until the next feed. */
const float *sa_onset_envelope(const sa_onset *o, size_t *n);

#endif

/* resample.h: streaming band-limited resampling of mono float audio.
 *
 * A windowed-sinc polyphase resampler with the quality of resampy's
 * "kaiser_best" filter (the tagger's front end depends on it at the 1e-2
 * level), usable on a stream of blocks so that memory does not grow with the
 * track. Not thread-safe per object; one object per stream. */
#ifndef SOUNDALIKE_RESAMPLE_H
#define SOUNDALIKE_RESAMPLE_H

#include <stddef.h>

#include "soundalike/error.h"

typedef struct sa_resampler sa_resampler;

sa_err sa_resampler_new(int in_rate, int out_rate, sa_resampler **out);
void sa_resampler_free(sa_resampler *r);

/* Upper bound of the output frames that n input frames can produce; with
 * n = 0, of what sa_resampler_flush writes (any n gives enough for it). */
size_t sa_resampler_max_output(const sa_resampler *r, size_t n);

/* Feeds n input samples; writes the samples that are now complete into out
 * (capacity from sa_resampler_max_output) and their number into *produced. */
sa_err sa_resampler_process(sa_resampler *r, const float *in, size_t n, float *out, size_t *produced);

/* Ends the stream: writes the remaining samples (input padded with zeros),
 * ceil(n_in * out_rate / in_rate) in all, as librosa does. SA_ERR_RANGE
 * when they do not fit in cap; after a flush the object only accepts free. */
sa_err sa_resampler_flush(sa_resampler *r, float *out, size_t cap, size_t *produced);

#endif

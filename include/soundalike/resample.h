/* resample.h: streaming band-limited resampling of mono float audio.
 *
 * Two qualities. SA_RESAMPLE_BEST is a windowed-sinc resampler with the
 * quality of resampy's "kaiser_best" filter, matching it sample for sample
 * (the tagger's front end depends on it at the 1e-2 level). SA_RESAMPLE_FAST
 * is a short polyphase Kaiser filter in single precision, for analyses
 * that only need the band below 0.8 of the lower Nyquist frequency (the
 * descriptors): there a sine comes out within 1e-4 of its amplitude (within
 * 1e-3 for rates whose ratio, in lowest terms, has a numerator over 1024),
 * and what lies above 1.2 of the output's Nyquist frequency is suppressed by
 * 90 dB or more, at about a tenth of BEST's cost (a twentieth from an
 * exact factor 2 down, where its filter is a half-band one). Both are
 * usable on a stream of blocks, so memory does not grow with the track, and both keep
 * output sample k at input time k * in_rate / out_rate (no delay). Equal
 * rates pass the audio through untouched. Not thread-safe per object; one
 * object per stream. */
#ifndef SOUNDALIKE_RESAMPLE_H
#define SOUNDALIKE_RESAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"

typedef enum sa_resample_quality {
    SA_RESAMPLE_BEST = 0, /* resampy's kaiser_best, bit for bit */
    SA_RESAMPLE_FAST = 1, /* 16 zero crossings a side of a Kaiser-windowed sinc, float */
} sa_resample_quality;

typedef struct sa_resampler sa_resampler;

/* A BEST resampler: sa_resampler_new_quality(in, out, SA_RESAMPLE_BEST, out).
 * Rates are 1 to 1000000 Hz, and BEST needs out_rate >= in_rate / 512;
 * SA_ERR_INVALID otherwise. */
sa_err sa_resampler_new(int in_rate, int out_rate, sa_resampler **out);
sa_err sa_resampler_new_quality(int in_rate, int out_rate, sa_resample_quality quality, sa_resampler **out);
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

/* Random access, for a reader that needs a few stretches of a long stream
 * (SA_RESAMPLE_BEST or equal rates; an object serves either the stream
 * calls above or these). Output k of BEST is a function of the inputs
 * within the filter's half-length (64 zero crossings: 64 inputs when
 * upsampling, 64 * in_rate / out_rate when downsampling) of its time,
 * which resampy sums step by step and is therefore k * in_rate / out_rate
 * only up to the rounding of k additions.
 *
 * sa_resampler_span gives [*first, *end), input samples that include
 * every input outputs [a, b) read: the half-length plus two samples either
 * side of the times of a and b - 1, widened by a bound of that rounding
 * (under a sample for a day of audio at 16 kHz), first clipped at 0.
 * SA_ERR_INVALID for a FAST object or a <= b not holding with a >= 0. */
sa_err sa_resampler_span(const sa_resampler *r, int64_t a, int64_t b, int64_t *first, int64_t *end);

/* Writes outputs [a, b) into out, bit for bit those that streaming the
 * whole input through process and flush writes at those indices. in holds
 * the n input samples from index first on; they must include what the
 * outputs read (a span from sa_resampler_span does), except that they may
 * stop at the stream's start (first 0) or its end (at_end: in[n - 1] is
 * the stream's last sample; outputs then stop at ceil(total * out / in)
 * and the last of them are librosa's padding zeros). SA_ERR_RANGE when
 * they do not. Cheapest when the ranges asked for start in order (they
 * may overlap): the time register is summed on from the previous range's
 * start, and from 0 only after a range that starts before it. */
sa_err sa_resampler_range(sa_resampler *r, const float *in, int64_t first, size_t n, bool at_end, int64_t a,
                          int64_t b, float *out);

#endif

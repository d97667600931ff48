/* melspec.h: streaming mel spectrogram (librosa 0.7 conventions).
 *
 * Frames follow librosa's melspectrogram with center=True: frame t is
 * centred on sample t * hop, the signal is extended by reflection (not
 * zeros) at both ends, a stream of n samples gives 1 + n / hop frames,
 * each windowed by a periodic Hann window. Bands are triangles on the
 * Slaney mel scale, each scaled to unit area (librosa's htk=False,
 * norm=1). Audio arrives in blocks of any size; memory holds one frame of
 * history, not the track. Not thread-safe per object; one object per
 * stream (creating objects is thread-safe). */
#ifndef SOUNDALIKE_MELSPEC_H
#define SOUNDALIKE_MELSPEC_H

#include <stddef.h>

#include "soundalike/error.h"

typedef enum sa_mel_output {
    SA_MEL_POWER = 0, /* band energies of |X|^2 */
    /* log10(10000 m + 1) of each band energy m rounded to float16 first,
     * the input MusiCNN was trained on (energies past float16's range
     * saturate at 65504 instead of becoming infinite) */
    SA_MEL_LOG_MUSICNN = 1,
} sa_mel_output;

typedef struct sa_melspec_config {
    int rate;   /* input sample rate */
    int n_fft;  /* frame length and FFT size */
    int hop;    /* 1..n_fft samples between frames */
    int n_mels; /* bands */
    float fmin; /* lowest band edge in Hz */
    float fmax; /* highest band edge in Hz; 0 means rate / 2 */
    sa_mel_output output;
} sa_melspec_config;

/* MusiCNN's front end: 16 kHz, 512-sample frames every 256, 96 bands up to 8 kHz. */
#define SA_MELSPEC_MUSICNN ((sa_melspec_config){16000, 512, 256, 96, 0.0f, 0.0f, SA_MEL_LOG_MUSICNN})

/* Writes the filterbank as weights[band * (n_fft / 2 + 1) + bin], float32
 * exactly as librosa.filters.mel computes it. */
sa_err sa_mel_filterbank(int rate, int n_fft, int n_mels, float fmin, float fmax, float *weights);

typedef struct sa_melspec sa_melspec;

sa_err sa_melspec_new(const sa_melspec_config *cfg, sa_melspec **out);
void sa_melspec_free(sa_melspec *m); /* NULL accepted */

/* Upper bound of the frames that feeding n samples can complete; with
 * n = 0, of the frames that sa_melspec_flush writes. */
size_t sa_melspec_max_frames(const sa_melspec *m, size_t n);

/* Feeds n samples; writes each frame that is now complete as n_mels floats
 * into frames (capacity from sa_melspec_max_frames) and their number into
 * *produced. */
sa_err sa_melspec_process(sa_melspec *m, const float *in, size_t n, float *frames, size_t *produced);

/* Ends the stream and writes the last frames (those that reach past the end
 * and see its reflection). An empty stream gives no frame. */
sa_err sa_melspec_flush(sa_melspec *m, float *frames, size_t cap, size_t *produced);

#endif

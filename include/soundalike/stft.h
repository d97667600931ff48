/* stft.h: windowed real FFT frames (FFTW, single precision).
 *
 * One object per thread and frame size: it owns its window and buffers.
 * FFTW plans are made once per size for the whole process and shared by
 * the objects (at most 16 sizes), so creating an object is cheap. Creating
 * and freeing objects is thread-safe (FFTW's planner is not, so planning
 * is serialised here). */
#ifndef SOUNDALIKE_STFT_H
#define SOUNDALIKE_STFT_H

#include "soundalike/error.h"

typedef struct sa_stft sa_stft;

typedef enum sa_window {
    SA_WINDOW_HANN_PERIODIC = 0, /* w[i] = 0.5 - 0.5 cos(2 pi i / n) */
    SA_WINDOW_HANN_SYMMETRIC = 1,
    SA_WINDOW_BLACKMAN_HARRIS = 2, /* 4-term, 92 dB sidelobes */
} sa_window;

sa_err sa_stft_new(int n_fft, sa_window window, sa_stft **out);
void sa_stft_free(sa_stft *s); /* NULL accepted */

int sa_stft_size(const sa_stft *s); /* n_fft */
int sa_stft_bins(const sa_stft *s); /* n_fft / 2 + 1 */

/* Windows frame (n_fft samples) and writes the power |X[k]|^2 of each of
 * the bins into power. */
void sa_stft_power(sa_stft *s, const float *frame, float *power);
/* Same, writing magnitudes |X[k]|. */
void sa_stft_magnitude(sa_stft *s, const float *frame, float *magnitude);

#endif

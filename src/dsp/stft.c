/* stft.c: windowed real FFT frames over FFTW. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "soundalike/stft.h"

struct sa_stft {
    int n;
    float *window;
    float *in;
    fftwf_complex *out;
    fftwf_plan plan; /* shared, from plan_for */
};

/* A plan depends only on the size here (FFTW_ESTIMATE reads no data, and
 * every array comes from fftwf_malloc, so all have the same alignment),
 * and FFTW lets several threads execute one plan at once on arrays of
 * their own. So each size is planned once for the process and kept: an
 * analyzer's start costs no planning and no wait on the planner's lock,
 * which FFTW's global planner state requires. Few sizes are in use. */
enum { MAX_PLANS = 16 };
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int n;
    fftwf_plan plan;
} plans[MAX_PLANS];
static int n_plans;

/* The plan of a real FFT of size n, made on in and out the first time; NULL when it cannot be made. */
static fftwf_plan plan_for(int n, float *in, fftwf_complex *out) {
    fftwf_plan plan = NULL;
    pthread_mutex_lock(&planner_lock);
    for (int i = 0; i < n_plans && !plan; i++)
        if (plans[i].n == n)
            plan = plans[i].plan;
    if (!plan && n_plans < MAX_PLANS) {
        plan = fftwf_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
        if (plan) {
            plans[n_plans].n = n;
            plans[n_plans++].plan = plan;
        }
    }
    pthread_mutex_unlock(&planner_lock);
    return plan;
}

static void fill_window(float *w, int n, sa_window kind) {
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < n; i++) {
        double x;
        switch (kind) {
        case SA_WINDOW_HANN_SYMMETRIC:
            x = 0.5 - 0.5 * cos(2.0 * pi * i / (n - 1));
            break;
        case SA_WINDOW_BLACKMAN_HARRIS: {
            double t = 2.0 * pi * i / n;
            x = 0.35875 - 0.48829 * cos(t) + 0.14128 * cos(2 * t) - 0.01168 * cos(3 * t);
            break;
        }
        case SA_WINDOW_HANN_PERIODIC:
        default:
            x = 0.5 - 0.5 * cos(2.0 * pi * i / n);
            break;
        }
        w[i] = (float)x;
    }
}

sa_err sa_stft_new(int n_fft, sa_window window, sa_stft **out) {
    if (n_fft < 2 || n_fft > (1 << 20))
        return sa_error_set(SA_ERR_INVALID, "FFT size %d out of range", n_fft);
    sa_stft *s = calloc(1, sizeof *s);
    if (!s)
        return sa_error_set(SA_ERR_NOMEM, "stft");
    s->n = n_fft;
    s->window = fftwf_malloc(sizeof(float) * (size_t)n_fft);
    s->in = fftwf_malloc(sizeof(float) * (size_t)n_fft);
    s->out = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(n_fft / 2 + 1));
    if (s->window && s->in && s->out)
        s->plan = plan_for(n_fft, s->in, s->out);
    if (!s->plan) {
        sa_stft_free(s);
        return sa_error_set(SA_ERR_NOMEM, "FFT plan of size %d (at most %d sizes)", n_fft, MAX_PLANS);
    }
    fill_window(s->window, n_fft, window);
    *out = s;
    return SA_OK;
}

void sa_stft_free(sa_stft *s) {
    if (!s)
        return;
    fftwf_free(s->window);
    fftwf_free(s->in);
    fftwf_free(s->out);
    free(s);
}

int sa_stft_size(const sa_stft *s) { return s->n; }

int sa_stft_bins(const sa_stft *s) { return s->n / 2 + 1; }

/* The loops below are elementwise, which -O2 leaves scalar; written with
 * 8-float vectors they do the same operations on the same values, so the
 * results are bit for bit those of the scalar loops, several times faster. */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

static void transform(sa_stft *s, const float *frame) {
    int i = 0;
    for (; i + 8 <= s->n; i += 8) {
        v8f x, w;
        memcpy(&x, frame + i, sizeof x);
        memcpy(&w, s->window + i, sizeof w);
        x *= w;
        memcpy(s->in + i, &x, sizeof x);
    }
    for (; i < s->n; i++)
        s->in[i] = frame[i] * s->window[i];
    fftwf_execute_dft_r2c(s->plan, s->in, s->out);
}

void sa_stft_power(sa_stft *s, const float *frame, float *power) {
    transform(s, frame);
    const float *z = (const float *)s->out; /* re, im, re, im, ... */
    int k = 0;
    for (; k + 8 <= s->n / 2 + 1; k += 8) {
        v8f a, b;
        memcpy(&a, z + 2 * k, sizeof a);
        memcpy(&b, z + 2 * k + 8, sizeof b);
        a *= a;
        b *= b;
        v8f re = __builtin_shuffle(a, b, (v8i){0, 2, 4, 6, 8, 10, 12, 14});
        v8f im = __builtin_shuffle(a, b, (v8i){1, 3, 5, 7, 9, 11, 13, 15});
        re += im;
        memcpy(power + k, &re, sizeof re);
    }
    for (; k <= s->n / 2; k++)
        power[k] = s->out[k][0] * s->out[k][0] + s->out[k][1] * s->out[k][1];
}

void sa_stft_magnitude(sa_stft *s, const float *frame, float *magnitude) {
    sa_stft_power(s, frame, magnitude);
    for (int k = 0; k <= s->n / 2; k++)
        magnitude[k] = sqrtf(magnitude[k]);
}

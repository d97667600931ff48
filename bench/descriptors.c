/* descriptors.c: time of the descriptor analyzers against the time of decoding the same files.
 *
 * Usage: bench_descriptors [FILE...]
 * (default: the annotated clips listed in the shared ground_truth.tsv)
 *
 * Each file is decoded once, streamed like the pipeline does it: decoding
 * (FFmpeg, at most 2 channels, native rate), the mono downmix and the
 * resampling to 22050 Hz (the pipeline's share, shared by rhythm and tonal)
 * and each analyzer's start/feed/finish are timed apart, in CPU time of
 * the thread (other processes on the machine do not count). The figure of
 * merit is descriptor time / decode time (loudness + rhythm + tonal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soundalike/audio.h"
#include "soundalike/descriptors.h"
#include "soundalike/resample.h"

enum { BLOCK = 8192, RATE = 22050, N_AN = 3 };

typedef struct timing {
    double audio_s, decode_s, resample_s, analyzer_s[N_AN];
} timing;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The analyzers of the bench, in the order of timing.analyzer_s. */
static const sa_analyzer *analyzer(int i) {
    return i == 0 ? sa_loudness_analyzer() : i == 1 ? sa_rhythm_analyzer() : sa_tonal_analyzer();
}

typedef struct run {
    sa_audio_decoder *dec;
    sa_resampler *rs; /* NULL when the file is at RATE already */
    void *state[N_AN];
    float *pcm, *mono, *resampled;
    size_t cap;
    int channels, rate;
} run;

static void run_free(run *r) {
    for (int i = 0; i < N_AN; i++)
        if (r->state[i])
            analyzer(i)->free(r->state[i]);
    sa_resampler_free(r->rs);
    sa_audio_decoder_free(r->dec);
    free(r->pcm);
    free(r->mono);
    free(r->resampled);
}

/* Feeds a block to every analyzer that reads it, timing each. */
static sa_err feed_all(run *r, const sa_audio_block *native, const sa_audio_block *low, timing *t) {
    for (int i = 0; i < N_AN; i++) {
        const sa_analyzer *a = analyzer(i);
        const sa_audio_block *b = a->rate == 0 ? native : low;
        if (!b || b->frames == 0)
            continue;
        double t0 = now_s();
        sa_err err = a->feed(r->state[i], b);
        t->analyzer_s[i] += now_s() - t0;
        if (err)
            return err;
    }
    return SA_OK;
}

/* Downmixes and resamples n decoded frames (flushes when n is 0) and feeds them. */
static sa_err process(run *r, size_t n, timing *t) {
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        float s = 0.0f;
        for (int c = 0; c < r->channels; c++)
            s += r->pcm[i * (size_t)r->channels + (size_t)c];
        r->mono[i] = s / (float)r->channels;
    }
    sa_audio_block low = {.mono = r->mono, .frames = n, .channels = 1, .rate = RATE};
    if (r->rs) {
        size_t produced = 0;
        sa_err err = n ? sa_resampler_process(r->rs, r->mono, n, r->resampled, &produced)
                       : sa_resampler_flush(r->rs, r->resampled, r->cap, &produced);
        if (err)
            return err;
        low.mono = r->resampled;
        low.frames = produced;
    }
    t->resample_s += now_s() - t0;
    sa_audio_block native = {.mono = r->mono, .interleaved = r->pcm, .frames = n, .channels = r->channels,
                             .rate = r->rate};
    return feed_all(r, &native, &low, t);
}

static sa_err open_run(run *r, const char *path, timing *t) {
    double t0 = now_s();
    sa_audio_info info = {0};
    sa_err err = sa_audio_decoder_open(path, 2, &r->dec, &info);
    t->decode_s += now_s() - t0;
    if (err)
        return err;
    r->channels = sa_audio_decoder_channels(r->dec);
    r->rate = sa_audio_decoder_rate(r->dec);
    sa_stream_info si = {.native_rate = r->rate, .channels = r->channels, .duration_s = info.duration_s};
    sa_audio_info_clear(&info);
    if (r->rate != RATE && (err = sa_resampler_new(r->rate, RATE, &r->rs)))
        return err;
    r->cap = r->rs ? sa_resampler_max_output(r->rs, BLOCK) : 0;
    r->pcm = malloc(sizeof(float) * BLOCK * (size_t)r->channels);
    r->mono = malloc(sizeof(float) * BLOCK);
    r->resampled = malloc(sizeof(float) * (r->cap ? r->cap : 1));
    if (!r->pcm || !r->mono || !r->resampled)
        return sa_error_set(SA_ERR_NOMEM, "buffers");
    for (int i = 0; i < N_AN && !err; i++) {
        t0 = now_s();
        err = analyzer(i)->start(NULL, &si, &r->state[i]);
        t->analyzer_s[i] += now_s() - t0;
    }
    return err;
}

static sa_err time_file(const char *path, timing *t) {
    run r = {0};
    sa_err err = open_run(&r, path, t);
    size_t total = 0;
    while (!err) {
        size_t n = 0;
        double t0 = now_s();
        err = sa_audio_decoder_read(r.dec, r.pcm, BLOCK, &n);
        t->decode_s += now_s() - t0;
        if (err || n == 0)
            break;
        total += n;
        err = process(&r, n, t);
    }
    if (!err && r.rs)
        err = process(&r, 0, t);
    sa_features f = {0};
    for (int i = 0; i < N_AN && !err; i++) {
        double t0 = now_s();
        err = analyzer(i)->finish(r.state[i], &f);
        t->analyzer_s[i] += now_s() - t0;
    }
    sa_features_clear(&f);
    if (!err)
        t->audio_s = (double)total / r.rate;
    run_free(&r);
    return err;
}

static void print_row(const char *name, const timing *t) {
    double desc = t->analyzer_s[0] + t->analyzer_s[1] + t->analyzer_s[2];
    printf("%8.1f %8.3f %8.3f %8.3f %8.3f %8.3f %6.2f  %s\n", t->audio_s, t->decode_s, t->resample_s,
           t->analyzer_s[0], t->analyzer_s[1], t->analyzer_s[2], t->decode_s > 0 ? desc / t->decode_s : 0.0,
           name);
}

/* The annotated clips of the shared folder, as a NULL-terminated list of malloc'd paths. */
static char **default_files(void) {
    const char *shared = getenv("SA_SHARED_DIR") ? getenv("SA_SHARED_DIR") : SA_SHARED_DIR;
    char path[4096];
    snprintf(path, sizeof path, "%s/corpus/annotated/ground_truth.tsv", shared);
    FILE *in = fopen(path, "r");
    if (!in)
        return NULL;
    char **files = NULL, *line = NULL;
    size_t cap = 0, n = 0;
    int header = 1, ok = 1;
    while (ok && getline(&line, &cap, in) > 0) {
        if (header) {
            header = 0;
            continue;
        }
        line[strcspn(line, "\t\r\n")] = '\0';
        char **grown = realloc(files, (n + 2) * sizeof *grown);
        ok = grown != NULL;
        if (ok) {
            files = grown;
            snprintf(path, sizeof path, "%s/corpus/annotated/%s", shared, line);
            files[n] = strdup(path);
            files[n + 1] = NULL;
            ok = files[n++] != NULL;
        }
    }
    free(line);
    fclose(in);
    if (!ok)
        fprintf(stderr, "bench_descriptors: out of memory reading %s\n", path);
    return files;
}

int main(int argc, char **argv) {
    char **defaults = argc > 1 ? NULL : default_files();
    char **files = argc > 1 ? argv + 1 : defaults;
    if (!files) {
        fprintf(stderr, "usage: %s FILE... (no default list found)\n", argv[0]);
        return 2;
    }
    printf("%8s %8s %8s %8s %8s %8s %6s\n", "audio s", "decode", "resample", "loudness", "rhythm", "tonal",
           "ratio");
    timing sum = {0};
    int failed = 0;
    for (int i = 0; files[i]; i++) {
        timing t = {0};
        sa_err err = time_file(files[i], &t);
        if (err) {
            fprintf(stderr, "bench_descriptors: %s: %s (%s)\n", files[i], sa_strerror(err), sa_error_detail());
            failed++;
            continue;
        }
        print_row(files[i], &t);
        sum.audio_s += t.audio_s;
        sum.decode_s += t.decode_s;
        sum.resample_s += t.resample_s;
        for (int a = 0; a < N_AN; a++)
            sum.analyzer_s[a] += t.analyzer_s[a];
    }
    print_row("total (ratio = (loudness + rhythm + tonal) / decode)", &sum);
    for (int i = 0; defaults && defaults[i]; i++)
        free(defaults[i]);
    free(defaults);
    return failed ? 1 : 0;
}

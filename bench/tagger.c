/* tagger.c: speed of the MusiCNN tagger, and how many patches a track needs.
 *
 *   bench_tagger [--model-dir DIR] [--model NAME] [--minutes M] [--file AUDIO]
 *   bench_tagger --study [--model-dir DIR] [--model NAME] FILE...
 *
 * The first form measures, on one core (OpenBLAS single-threaded, as in an
 * analysis worker): the sgemm peak of this machine, the network's GFLOP/s
 * against it, the mel front end and the resampler, and audio seconds tagged
 * per CPU second in the default and whole-track modes, from 16 kHz audio
 * and (with --file) from a file through the decoder and resampler as the
 * analysis pipeline runs it. The second decodes
 * each file, tags every patch, and reports how close the mean over K
 * patches spread evenly (the analyzer's selection) comes to the whole-track
 * mean, for several K. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "soundalike/audio.h"
#include "soundalike/melspec.h"
#include "soundalike/pipeline.h"
#include "soundalike/resample.h"
#include "soundalike/tagger.h"

enum { T = SA_MUSICNN_PATCH_FRAMES, MELS = SA_MUSICNN_MELS, TAGS = SA_MUSICNN_TAGS, EMB = SA_MUSICNN_EMBEDDING };

/* Multiply-adds of one patch, dense count (ARCHITECTURE.md 3.6). */
static double patch_flops(void) {
    const double t = T;
    double macs = t * 59 * 7 * 38 * 204 + t * 30 * 7 * 67 * 204            /* timbral */
                  + t * 96 * (128 + 64 + 32) * 51                            /* temporal */
                  + t * 7 * 561 * 64 + 2 * t * 7 * 64 * 64                   /* mid end */
                  + 1506.0 * 200 + 200.0 * 50;                               /* back end */
    return 2.0 * macs;
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const char *what) {
    fprintf(stderr, "bench_tagger: %s: %s\n", what, sa_error_detail());
    return 1;
}

/* malloc for the benchmark's buffers: without one there is nothing to
 * measure, so it ends the run, saying what was asked. */
static void *alloc_or_exit(size_t bytes, const char *what) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "bench_tagger: out of memory for %s (%zu bytes)\n", what, bytes);
        exit(1);
    }
    return p;
}

/* A whole file of float32 samples; NULL when it cannot be read. */
static float *read_f32(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    float *x = alloc_or_exit((size_t)size, path);
    if (fread(x, 1, (size_t)size, f) != (size_t)size) {
        free(x);
        x = NULL;
    }
    fclose(f);
    *n = (size_t)size / sizeof(float);
    return x;
}

/* Best of three runs of an m x n x k sgemm, in GFLOP/s. */
static double sgemm_gflops(int m, int n, int k) {
    float *a = alloc_or_exit((size_t)m * k * sizeof *a, "sgemm"), *b = alloc_or_exit((size_t)k * n * sizeof *b, "sgemm"),
          *c = alloc_or_exit((size_t)m * n * sizeof *c, "sgemm");
    memset(c, 0, (size_t)m * n * sizeof *c);
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)k * n; i++)
        b[i] = (float)(i % 5) * 0.1f;
    double best = 0.0;
    for (int r = 0; r < 3; r++) {
        int reps = 0;
        double t0 = cpu_seconds(), t;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
            reps++;
        } while ((t = cpu_seconds() - t0) < 0.3);
        double g = 2.0 * m * n * k * reps / t * 1e-9;
        best = g > best ? g : best;
    }
    free(a), free(b), free(c);
    return best;
}

/* CPU seconds per call of tagging pcm, at least `min_s` of runs. */
static double time_audio(const sa_musicnn *m, const float *pcm, size_t n, size_t *patches) {
    int reps = 0;
    double t0 = cpu_seconds(), t;
    do {
        if (sa_musicnn_run_audio(m, pcm, n, NULL, NULL, patches))
            return -1.0;
        reps++;
    } while ((t = cpu_seconds() - t0) < 1.0);
    return t / reps;
}

/* Decoding, resampling and tagging a file as the pipeline does, default and whole track. */
static int speed_file(sa_musicnn *m, const char *file) {
    const int settings[] = {sa_musicnn_patches(m), SA_MUSICNN_WHOLE_TRACK};
    for (int s = 0; s < 2; s++) {
        sa_musicnn_set_patches(m, settings[s]);
        sa_analyzer tagger;
        sa_musicnn_analyzer(m, &tagger);
        const sa_analyzer *list[] = {&tagger};
        sa_features f = {0};
        sa_pipeline_result res;
        float patches = 0;
        double t0 = cpu_seconds();
        if (sa_pipeline_run(file, list, 1, &f, NULL, &res))
            return die(file);
        double t = cpu_seconds() - t0;
        sa_features_scalar(&f, "musicnn", "patches", &patches);
        sa_features_clear(&f);
        printf("%s, %.1f s, decoded + resampled + tagged, %s: %.0f patches, %.2f CPU s, %.0f s of audio per CPU "
               "second\n",
               file, res.decoded_s, settings[s] ? "default" : "whole track", patches, t, res.decoded_s / t);
    }
    sa_musicnn_set_patches(m, settings[0]);
    return 0;
}

static int speed(sa_musicnn *m, const char *model_dir, double minutes) {
    char path[8192];
    size_t n_mel, n_pcm;
    snprintf(path, sizeof path, "%s/examples/joram-moments_of_clarity-08-solipsism-59-88.logmel.f32", model_dir);
    float *logmel = read_f32(path, &n_mel);
    snprintf(path, sizeof path, "%s/examples/TRWJAZW128F42760DD_test.16k.f32", model_dir);
    float *clip = read_f32(path, &n_pcm);
    if (!logmel || !clip) {
        fprintf(stderr, "bench_tagger: the example files are not in %s/examples\n", model_dir);
        free(logmel);
        free(clip);
        return 1;
    }
    const double flops = patch_flops();
    const double peak = sgemm_gflops(2048, 2048, 2048);
    printf("sgemm peak (1 core): 2048^3 %.1f GFLOP/s; shapes of the two timbral convs: %.1f, %.1f GFLOP/s\n", peak,
           sgemm_gflops(472, 204, 266), sgemm_gflops(510, 204, 469));

    const size_t patches = n_mel / (T * MELS);
    float *tags = alloc_or_exit(patches * TAGS * sizeof *tags, "tags");
    const size_t batches[] = {1, 4};
    for (int b = 0; b < 2; b++) {
        int reps = 0;
        double t0 = cpu_seconds(), t;
        do {
            for (size_t i = 0; i < patches; i += batches[b]) {
                size_t k = patches - i < batches[b] ? patches - i : batches[b];
                if (sa_musicnn_run_patches(m, logmel + i * T * MELS, k, tags + i * TAGS, NULL))
                    return die("network");
            }
            reps++;
        } while ((t = cpu_seconds() - t0) < 2.0);
        double per_patch = t / (reps * (double)patches);
        printf("network, %zu patch%s a call: %.1f ms a patch, %.1f GFLOP/s = %.0f%% of the sgemm peak "
               "(%.2f GFLOP a patch)\n",
               batches[b], batches[b] > 1 ? "es" : "", per_patch * 1e3, flops / per_patch * 1e-9,
               100.0 * flops / per_patch * 1e-9 / peak, flops * 1e-9);
    }
    free(tags);

    /* a long track made of the example clip repeated */
    const size_t total = (size_t)(minutes * 60.0 * SA_MUSICNN_RATE);
    float *pcm = alloc_or_exit(total * sizeof *pcm, "the long track");
    for (size_t i = 0; i < total; i += n_pcm)
        memcpy(pcm + i, clip, (total - i < n_pcm ? total - i : n_pcm) * sizeof *pcm);
    sa_melspec_config cfg = SA_MELSPEC_MUSICNN;
    sa_melspec *mel;
    if (sa_melspec_new(&cfg, &mel))
        return die("mel");
    float *frames = alloc_or_exit(sa_melspec_max_frames(mel, total) * MELS * sizeof *frames, "mel frames");
    size_t made;
    double t0 = cpu_seconds();
    sa_err err = sa_melspec_process(mel, pcm, total, frames, &made);
    double t_mel = cpu_seconds() - t0;
    sa_melspec_free(mel);
    free(frames);
    if (err)
        return die("mel");
    printf("mel front end: %.0f s of audio per CPU second\n", (double)total / SA_MUSICNN_RATE / t_mel);

    const int rates[] = {44100, 22050};
    for (int r = 0; r < 2; r++) {
        sa_resampler *rs;
        size_t n_in = (size_t)(minutes * 60.0 * rates[r]);
        if (sa_resampler_new(rates[r], SA_MUSICNN_RATE, &rs))
            return die("resampler");
        float *in = alloc_or_exit(n_in * sizeof *in, "resampler input"),
              *out = alloc_or_exit(sa_resampler_max_output(rs, n_in) * sizeof *out, "resampler output");
        for (size_t i = 0; i < n_in; i++)
            in[i] = clip[i % n_pcm];
        t0 = cpu_seconds();
        err = sa_resampler_process(rs, in, n_in, out, &made);
        double t_rs = cpu_seconds() - t0;
        if (err)
            return die("resampler");
        printf("resampler %d -> 16000 Hz: %.0f s of audio per CPU second\n", rates[r],
               (double)n_in / rates[r] / t_rs);
        sa_resampler_free(rs);
        free(in), free(out);
    }

    const int settings[] = {sa_musicnn_patches(m), SA_MUSICNN_WHOLE_TRACK};
    for (int s = 0; s < 2; s++) {
        sa_musicnn_set_patches(m, settings[s]);
        size_t used;
        double t = time_audio(m, pcm, total, &used);
        if (t < 0)
            return die("tagging");
        printf("tagging a %.1f-minute track from 16 kHz audio, %s: %zu patches, %.2f CPU s, %.0f s of audio per "
               "CPU second\n",
               minutes, settings[s] ? "default" : "whole track", used, t, (double)total / SA_MUSICNN_RATE / t);
    }
    sa_musicnn_set_patches(m, settings[0]);
    free(pcm);
    free(clip);
    free(logmel);
    return 0;
}

/* ---- the patch study ---- */

/* Decodes path to 16 kHz mono (channels averaged, kaiser_best resampling). */
static sa_err decode_16k(const char *path, float **out, size_t *n) {
    sa_audio_decoder *dec;
    sa_err err = sa_audio_decoder_open(path, 1, &dec, NULL);
    if (err)
        return err;
    int rate = sa_audio_decoder_rate(dec);
    sa_resampler *rs = NULL;
    enum { BLOCK = 16384 };
    float block[BLOCK];
    size_t cap = 1 << 20, len = 0, got;
    float *pcm = malloc(cap * sizeof *pcm);
    err = pcm ? sa_resampler_new(rate, SA_MUSICNN_RATE, &rs) : sa_error_set(SA_ERR_NOMEM, "%s: 16 kHz audio", path);
    size_t room = rs ? sa_resampler_max_output(rs, BLOCK) : 0;
    for (;;) {
        size_t frames = 0;
        if (!err)
            err = sa_audio_decoder_read(dec, block, BLOCK, &frames);
        if (!err && len + room > cap) {
            float *grown = realloc(pcm, (cap *= 2) * sizeof *pcm);
            err = grown ? SA_OK : sa_error_set(SA_ERR_NOMEM, "%s: %zu samples at 16 kHz", path, cap);
            if (grown)
                pcm = grown;
        }
        if (err)
            break;
        err = frames ? sa_resampler_process(rs, block, frames, pcm + len, &got)
                     : sa_resampler_flush(rs, pcm + len, room, &got);
        len += got;
        if (err || !frames)
            break;
    }
    sa_resampler_free(rs);
    sa_audio_decoder_free(dec);
    if (err) {
        free(pcm);
        return err;
    }
    *out = pcm;
    *n = len;
    return SA_OK;
}

/* Every patch's tags and embedding for a 16 kHz signal, and their count;
 * on an error *tags and *emb are NULL. */
static sa_err taggram(const sa_musicnn *m, const float *pcm, size_t n, float **tags, float **emb, size_t *patches) {
    *tags = *emb = NULL;
    *patches = 0;
    sa_melspec_config cfg = SA_MELSPEC_MUSICNN;
    sa_melspec *mel;
    sa_err err = sa_melspec_new(&cfg, &mel);
    if (err)
        return err;
    float *frames = alloc_or_exit((sa_melspec_max_frames(mel, n) + sa_melspec_max_frames(mel, 0)) * MELS * sizeof *frames,
                                  "mel frames");
    size_t a = 0, b = 0;
    err = sa_melspec_process(mel, pcm, n, frames, &a);
    if (!err)
        err = sa_melspec_flush(mel, frames + a * MELS, sa_melspec_max_frames(mel, 0), &b);
    sa_melspec_free(mel);
    size_t count = (a + b) / T;
    if (!err) {
        *tags = alloc_or_exit((count ? count : 1) * TAGS * sizeof **tags, "tags");
        *emb = alloc_or_exit((count ? count : 1) * EMB * sizeof **emb, "embeddings");
        err = sa_musicnn_run_patches(m, frames, count, *tags, *emb);
    }
    free(frames);
    if (err) {
        free(*tags), free(*emb);
        *tags = *emb = NULL;
        return err;
    }
    *patches = count;
    return SA_OK;
}

/* Mean over the patches the analyzer picks for K with an exact duration
 * estimate: floor((j + 1/2) * P / K), or all when P <= K. */
static void spread_mean(const float *x, int dim, size_t patches, int k, float *mean) {
    double stride = patches > (size_t)k ? (double)patches / k : 1.0;
    size_t used = patches > (size_t)k ? (size_t)k : patches;
    for (int i = 0; i < dim; i++) {
        double s = 0.0;
        for (size_t j = 0; j < used; j++)
            s += x[(size_t)floor(((double)j + 0.5) * stride) * dim + i];
        mean[i] = (float)(s / (double)used);
    }
}

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++)
        ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

/* How many of a's top 5 are in b's top 5. */
static int top5_overlap(const float *a, const float *b) {
    int ta[5], tb[5], common = 0;
    const float *src[2] = {a, b};
    int *dst[2] = {ta, tb};
    for (int s = 0; s < 2; s++)
        for (int j = 0; j < 5; j++) {
            int best = -1;
            for (int i = 0; i < TAGS; i++) {
                int taken = 0;
                for (int q = 0; q < j; q++)
                    taken |= dst[s][q] == i;
                if (!taken && (best < 0 || src[s][i] > src[s][best]))
                    best = i;
            }
            dst[s][j] = best;
        }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            common += ta[i] == tb[j];
    return common;
}

/* Reports how far the mean over K spread patches lies from the whole-track mean. */
static int study(const sa_musicnn *m, char **files, int n_files) {
    static const int ks[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16};
    enum { NK = sizeof ks / sizeof ks[0] };
    double max_err[NK] = {0}, sum_err[NK] = {0}, worst[NK] = {0}, sum_cos[NK] = {0}, min_cos[NK],
           sum_emb_cos[NK] = {0}, top5[NK] = {0}, same5[NK] = {0};
    for (int k = 0; k < NK; k++)
        min_cos[k] = 1.0;
    int tracks = 0;
    double total_patches = 0;
    for (int f = 0; f < n_files; f++) {
        float *pcm, *tags, *emb;
        size_t n;
        if (decode_16k(files[f], &pcm, &n)) {
            fprintf(stderr, "skipped %s: %s\n", files[f], sa_error_detail());
            continue;
        }
        size_t patches;
        sa_err err = taggram(m, pcm, n, &tags, &emb, &patches);
        free(pcm);
        if (err) {
            fprintf(stderr, "skipped %s: %s\n", files[f], sa_error_detail());
            continue;
        }
        if (patches < 2) { /* nothing to choose from */
            free(tags), free(emb);
            continue;
        }
        float whole[TAGS], whole_emb[EMB], part[TAGS], part_emb[EMB];
        spread_mean(tags, TAGS, patches, (int)patches, whole);
        spread_mean(emb, EMB, patches, (int)patches, whole_emb);
        for (int k = 0; k < NK; k++) {
            spread_mean(tags, TAGS, patches, ks[k], part);
            spread_mean(emb, EMB, patches, ks[k], part_emb);
            double e = 0.0;
            for (int i = 0; i < TAGS; i++)
                e = fmax(e, fabs(part[i] - whole[i]));
            max_err[k] += e;
            worst[k] = fmax(worst[k], e);
            double mean_abs = 0.0;
            for (int i = 0; i < TAGS; i++)
                mean_abs += fabs(part[i] - whole[i]) / TAGS;
            sum_err[k] += mean_abs;
            double c = cosine(part, whole, TAGS);
            sum_cos[k] += c;
            min_cos[k] = fmin(min_cos[k], c);
            sum_emb_cos[k] += cosine(part_emb, whole_emb, EMB);
            int o = top5_overlap(part, whole);
            top5[k] += o / 5.0;
            same5[k] += o == 5;
        }
        tracks++;
        total_patches += (double)patches;
        free(tags), free(emb);
        fprintf(stderr, "\r%d/%d tracks", f + 1, n_files);
    }
    fprintf(stderr, "\n");
    if (!tracks) {
        fprintf(stderr, "bench_tagger: no track of 2 patches or more\n");
        return 1;
    }
    printf("%d tracks, %.0f patches on average (%.1f minutes); mean over K patches vs the whole track, %s:\n", tracks,
           total_patches / tracks, total_patches / tracks * T * 256 / SA_MUSICNN_RATE / 60.0, sa_musicnn_name(m));
    printf("   K  max|dtag| mean  worst  mean|dtag|  tag cos mean  min    emb cos  top5 overlap  same top5\n");
    for (int k = 0; k < NK; k++)
        printf("%4d  %14.4f %6.4f  %10.5f  %12.5f %7.4f  %8.5f  %12.3f  %9.3f\n", ks[k], max_err[k] / tracks,
               worst[k], sum_err[k] / tracks, sum_cos[k] / tracks, min_cos[k], sum_emb_cos[k] / tracks,
               top5[k] / tracks, same5[k] / tracks);
    return 0;
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *model_name = NULL, *file = NULL;
    double minutes = 4.0;
    int do_study = 0, first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model-dir") == 0 && i + 1 < argc)
            model_dir = argv[++i];
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model_name = argv[++i];
        else if (strcmp(argv[i], "--minutes") == 0 && i + 1 < argc)
            minutes = atof(argv[++i]);
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--study") == 0)
            do_study = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: %s [--model-dir DIR] [--model NAME] [--minutes M] [--file AUDIO] | --study FILE...\n",
                    argv[0]);
            return 2;
        } else {
            first_file = i;
            break;
        }
    }
    openblas_set_num_threads(1); /* one core, as in an analysis worker */
    char path[4096], dir[4096];
    if (sa_musicnn_find_model(model_dir ? model_dir : SA_SHARED_DIR "/models/musicnn", model_name, path, sizeof path))
        return die("model");
    sa_musicnn *m;
    if (sa_musicnn_load(path, &m))
        return die("model");
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    printf("model %s (%s), default %d patches\n", sa_musicnn_name(m), path, sa_musicnn_patches(m));
    int rc = do_study ? study(m, argv + first_file, argc - first_file) : speed(m, dir, minutes);
    if (!rc && !do_study && file)
        rc = speed_file(m, file);
    sa_musicnn_free(m);
    return rc;
}

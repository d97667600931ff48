/* analysis.c: CPU time of the whole analysis of a track, stage by stage, with the current and the old settings.
 *
 * Usage: bench_analysis [-v] [--old | --now] [--no-tagger] [--model-dir DIR] [--limit N] [FILE...]
 *
 * Files: those given, else the tracks of 3 to 5 minutes listed in
 * ~/.cache/soundalike-corpus/manifest.tsv (corpus/get_corpus.sh).
 *
 * Each file goes through sa_pipeline_run, single-threaded, with the
 * analyzer set of a library run (the MusiCNN tagger in its default mode
 * when its model is found: in --model-dir, else $SOUNDALIKE_MODEL_DIR,
 * else the shared folder's models/musicnn). Every analyzer is wrapped so that its
 * start, feed and finish are timed in CPU time of the thread. Decoding and
 * resampling happen inside the pipeline; they are timed apart on the same
 * file: a decode-only pass (which keeps the mono track), then every stream
 * the analyzers ask for, resampled from that track as the pipeline does
 * it. "other" is what the pipeline spent beyond these (the downmix,
 * copies); it may come out slightly negative, as the passes are timed
 * separately.
 *
 * Two settings, both run by default on the same files: "now", the
 * analyzers as they are, and "old", every analyzer held to
 * SA_RESAMPLE_BEST (every stream resampled with kaiser_best, loudness on
 * every sample), which is how the descriptors ran before the FAST quality
 * existed. The tagger reads the file's own rate and resamples only its
 * patches' windows, alike in both; "old" does not reproduce its former
 * resampling of the whole track, so old / now understates that gain. The report gives each stage as CPU seconds, milliseconds per
 * second of audio and a ratio to decoding; the descriptors' share (loudness,
 * rhythm and tonal, with and without the resampling of their stream); the
 * tracks of 3 to 5 minutes analysed per CPU second; and how far the
 * descriptors of "now" lie from those of "old". A second decoding feeds
 * libebur128 (every frame, exact mode), the loudness analyzer's
 * reference: its cost and its difference with the analyzer are reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ebur128.h>

#include "soundalike/analyzers.h"
#include "soundalike/audio.h"
#include "soundalike/descriptors.h"
#include "soundalike/pipeline.h"
#include "soundalike/resample.h"

enum { BLOCK = 8192, MAX_AN = 8, MAX_STAGES = 24, MODES = 2 };
#define TYPICAL_MIN_S 180.0
#define TYPICAL_MAX_S 300.0

static const char *const mode_names[MODES] = {"now", "old"};

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- timed analyzers ---- */

typedef struct timed {
    sa_analyzer self; /* what the pipeline runs; its config is this struct */
    const sa_analyzer *inner;
    double cpu_s; /* of the current file */
} timed;

typedef struct timed_state {
    timed *t;
    void *inner;
} timed_state;

static sa_err timed_start(void *config, const sa_stream_info *info, void **state) {
    timed *t = config;
    timed_state *s = calloc(1, sizeof *s);
    if (!s)
        return sa_error_set(SA_ERR_NOMEM, "timed analyzer");
    s->t = t;
    double t0 = cpu_now();
    sa_err err = t->inner->start(t->inner->config, info, &s->inner);
    t->cpu_s += cpu_now() - t0;
    if (err) {
        free(s);
        return err;
    }
    *state = s;
    return SA_OK;
}

static sa_err timed_feed(void *state, const sa_audio_block *block) {
    timed_state *s = state;
    double t0 = cpu_now();
    sa_err err = s->t->inner->feed(s->inner, block);
    s->t->cpu_s += cpu_now() - t0;
    return err;
}

static sa_err timed_finish(void *state, sa_features *features) {
    timed_state *s = state;
    double t0 = cpu_now();
    sa_err err = s->t->inner->finish(s->inner, features);
    s->t->cpu_s += cpu_now() - t0;
    return err;
}

static void timed_free(void *state) {
    timed_state *s = state;
    if (!s)
        return;
    double t0 = cpu_now();
    s->t->inner->free(s->inner);
    s->t->cpu_s += cpu_now() - t0;
    free(s);
}

/* Wraps inner; old holds it to SA_RESAMPLE_BEST. */
static void timed_init(timed *t, const sa_analyzer *inner, int old) {
    t->inner = inner;
    t->cpu_s = 0.0;
    t->self = *inner;
    t->self.quality = old ? SA_RESAMPLE_BEST : inner->quality;
    t->self.start = timed_start;
    t->self.feed = timed_feed;
    t->self.finish = timed_finish;
    t->self.free = timed_free;
    t->self.config = t;
}

/* ---- stages ---- */

typedef struct stage {
    char name[48];
    double cpu_s;
} stage;

typedef struct tally {
    stage stages[MAX_STAGES];
    int n;
    double audio_s, total_s;
    double typical_audio_s, typical_total_s;
    int typical_n, files;
    /* the loudness analyzer against libebur128 on every frame */
    double reference_s, reference_lufs_max, reference_lufs_sum, reference_lra_max;
    int reference_n;
} tally;

static stage *stage_get(tally *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->stages[i].name, name) == 0)
            return &t->stages[i];
    if (t->n == MAX_STAGES)
        return NULL;
    stage *s = &t->stages[t->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->cpu_s = 0.0;
    return s;
}

static void stage_add(tally *t, const char *name, double cpu_s) {
    stage *s = stage_get(t, name);
    if (s)
        s->cpu_s += cpu_s;
}

static double stage_cpu(const tally *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->stages[i].name, name) == 0)
            return t->stages[i].cpu_s;
    return 0.0;
}

/* ---- the passes ---- */

typedef struct track {
    float *mono; /* the whole track, downmixed */
    size_t frames;
    int rate;
} track;

/* Decodes path as the pipeline does (at most 2 channels, native rate) and
 * keeps the mono downmix; the decoding alone is timed into *cpu_s. */
static sa_err decode_pass(const char *path, track *tr, double *cpu_s) {
    sa_audio_decoder *dec = NULL;
    double t0 = cpu_now();
    sa_err err = sa_audio_decoder_open(path, 2, &dec, NULL);
    *cpu_s = cpu_now() - t0;
    if (err)
        return err;
    int ch = sa_audio_decoder_channels(dec);
    float *pcm = malloc(sizeof(float) * BLOCK * (size_t)ch);
    size_t cap = 0;
    err = pcm ? SA_OK : sa_error_set(SA_ERR_NOMEM, "decode buffer");
    while (!err) {
        size_t n = 0;
        t0 = cpu_now();
        err = sa_audio_decoder_read(dec, pcm, BLOCK, &n);
        *cpu_s += cpu_now() - t0;
        if (err || n == 0)
            break;
        if (tr->frames + n > cap) {
            cap = 2 * (tr->frames + n);
            float *grown = realloc(tr->mono, cap * sizeof *grown);
            if (!grown) {
                err = sa_error_set(SA_ERR_NOMEM, "track of %zu frames", cap);
                break;
            }
            tr->mono = grown;
        }
        for (size_t i = 0; i < n; i++) {
            float s = 0.0f;
            for (int c = 0; c < ch; c++)
                s += pcm[i * (size_t)ch + (size_t)c];
            tr->mono[tr->frames + i] = s / (float)ch;
        }
        tr->frames += n;
    }
    tr->rate = sa_audio_decoder_rate(dec);
    free(pcm);
    sa_audio_decoder_free(dec);
    return err;
}

/* What libebur128 measured on a file, the reference of the loudness analyzer. */
typedef struct reference {
    double lufs, lra, cpu_s;
} reference;

/* Decodes path again, untimed (the decode pass's timing stays clear of
 * libebur128's use of the caches), and measures it with libebur128 on
 * every frame in exact mode (no histogram bins), as the loudness analyzer
 * would: a mono file as dual mono. Only libebur128 is timed. */
static sa_err reference_pass(const char *path, reference *ref) {
    sa_audio_decoder *dec = NULL;
    *ref = (reference){0};
    sa_err err = sa_audio_decoder_open(path, 2, &dec, NULL);
    if (err)
        return err;
    int ch = sa_audio_decoder_channels(dec);
    float *pcm = malloc(sizeof(float) * BLOCK * (size_t)ch);
    double t0 = cpu_now();
    ebur128_state *meter =
        ebur128_init((unsigned)ch, (unsigned long)sa_audio_decoder_rate(dec), EBUR128_MODE_I | EBUR128_MODE_LRA);
    if (meter && ch == 1 && ebur128_set_channel(meter, 0, EBUR128_DUAL_MONO) != EBUR128_SUCCESS)
        ebur128_destroy(&meter);
    ref->cpu_s = cpu_now() - t0;
    err = !pcm ? sa_error_set(SA_ERR_NOMEM, "decode buffer")
               : !meter ? sa_error_set(SA_ERR_UNSUPPORTED, "libebur128 refused the stream") : SA_OK;
    size_t n = 0;
    while (!err && !(err = sa_audio_decoder_read(dec, pcm, BLOCK, &n)) && n > 0) {
        t0 = cpu_now();
        if (ebur128_add_frames_float(meter, pcm, n) != EBUR128_SUCCESS)
            err = sa_error_set(SA_ERR_NOMEM, "libebur128 could not take %zu frames", n);
        ref->cpu_s += cpu_now() - t0;
    }
    t0 = cpu_now();
    if (!err && (ebur128_loudness_global(meter, &ref->lufs) != EBUR128_SUCCESS ||
                 ebur128_loudness_range(meter, &ref->lra) != EBUR128_SUCCESS))
        err = sa_error_set(SA_ERR_NOMEM, "libebur128 could not compute loudness");
    if (meter)
        ebur128_destroy(&meter);
    ref->cpu_s += cpu_now() - t0;
    free(pcm);
    sa_audio_decoder_free(dec);
    return err;
}

/* Resamples the track to rate at quality in pipeline-sized blocks; the CPU time into *cpu_s. */
static sa_err resample_pass(const track *tr, int rate, sa_resample_quality quality, double *cpu_s) {
    sa_resampler *r = NULL;
    double t0 = cpu_now();
    sa_err err = sa_resampler_new_quality(tr->rate, rate, quality, &r);
    size_t cap = err ? 0 : sa_resampler_max_output(r, BLOCK), got;
    float *out = err ? NULL : malloc(cap * sizeof *out);
    if (!err && !out)
        err = sa_error_set(SA_ERR_NOMEM, "resampling buffer");
    for (size_t i = 0; !err && i < tr->frames; i += BLOCK)
        err = sa_resampler_process(r, tr->mono + i, tr->frames - i < BLOCK ? tr->frames - i : BLOCK, out, &got);
    if (!err)
        err = sa_resampler_flush(r, out, cap, &got);
    *cpu_s = cpu_now() - t0;
    free(out);
    sa_resampler_free(r);
    return err;
}

static const char *quality_name(sa_resample_quality q) { return q == SA_RESAMPLE_FAST ? "fast" : "best"; }

/* Times the resampling of every distinct stream that the analyzers ask for. */
static sa_err resample_streams(const track *tr, const timed *an, size_t n, tally *t) {
    for (size_t a = 0; a < n; a++) {
        const sa_analyzer *x = &an[a].self;
        if (x->rate <= 0 || x->rate == tr->rate)
            continue;
        int seen = 0;
        for (size_t b = 0; b < a; b++)
            seen |= an[b].self.rate == x->rate && an[b].self.quality == x->quality;
        if (seen)
            continue;
        double cpu_s;
        sa_err err = resample_pass(tr, x->rate, x->quality, &cpu_s);
        if (err)
            return err;
        char name[48];
        snprintf(name, sizeof name, "resample %d %s", x->rate, quality_name(x->quality));
        stage_add(t, name, cpu_s);
    }
    return SA_OK;
}

/* Runs one file in one mode; its features stay in f for comparison, libebur128's measures in *ref. */
static sa_err run_file(const char *path, const sa_analyzer *const *list, size_t n, int old, tally *t,
                       sa_features *f, reference *ref, int verbose) {
    timed an[MAX_AN];
    const sa_analyzer *wrapped[MAX_AN];
    for (size_t a = 0; a < n; a++) {
        timed_init(&an[a], list[a], old);
        wrapped[a] = &an[a].self;
    }
    track tr = {0};
    double decode_s;
    sa_err err = decode_pass(path, &tr, &decode_s);
    if (!err)
        err = reference_pass(path, ref);
    tally file = {0};
    if (!err)
        err = resample_streams(&tr, an, n, &file);
    free(tr.mono);
    sa_pipeline_result res = {0};
    double t0 = cpu_now();
    if (!err)
        err = sa_pipeline_run(path, wrapped, n, f, NULL, &res);
    double total = cpu_now() - t0;
    if (err)
        return err;
    stage_add(t, "decode", decode_s);
    double other = total - decode_s;
    for (int s = 0; s < file.n; s++) {
        stage_add(t, file.stages[s].name, file.stages[s].cpu_s);
        other -= file.stages[s].cpu_s;
    }
    for (size_t a = 0; a < n; a++) {
        stage_add(t, an[a].self.name, an[a].cpu_s);
        other -= an[a].cpu_s;
    }
    stage_add(t, "other", other);
    t->files++;
    t->audio_s += res.decoded_s;
    t->total_s += total;
    if (res.decoded_s >= TYPICAL_MIN_S && res.decoded_s <= TYPICAL_MAX_S) {
        t->typical_n++;
        t->typical_audio_s += res.decoded_s;
        t->typical_total_s += total;
    }
    if (verbose)
        printf("  %s %6.1f s audio  %6.3f CPU s  decode %6.3f  %s\n", mode_names[old], res.decoded_s, total,
               decode_s, path);
    return SA_OK;
}

/* ---- comparison of the descriptors ---- */

typedef struct drift {
    int n, tempo_changed, key_changed;
    double lufs_max, lra_max, peak_max, lufs_sum;
} drift;

static float scalar_or_nan(const sa_features *f, const char *group, const char *name) {
    float v;
    return sa_features_scalar(f, group, name, &v) == SA_OK ? v : NAN;
}

static int same_text(const sa_features *a, const sa_features *b, const char *group, const char *name) {
    const sa_feature *x = sa_features_get(a, group, name), *y = sa_features_get(b, group, name);
    return x && y && x->text && y->text && strcmp(x->text, y->text) == 0;
}

static void compare(drift *d, const sa_features *now, const sa_features *old) {
    double dl = fabs(scalar_or_nan(now, "loudness", "integrated_lufs") - scalar_or_nan(old, "loudness", "integrated_lufs"));
    double dr = fabs(scalar_or_nan(now, "loudness", "range_lu") - scalar_or_nan(old, "loudness", "range_lu"));
    double dp =
        fabs(scalar_or_nan(now, "loudness", "sample_peak_dbfs") - scalar_or_nan(old, "loudness", "sample_peak_dbfs"));
    float bn = scalar_or_nan(now, "rhythm", "bpm"), bo = scalar_or_nan(old, "rhythm", "bpm");
    d->n++;
    d->lufs_max = fmax(d->lufs_max, dl);
    d->lufs_sum += dl;
    d->lra_max = fmax(d->lra_max, dr);
    d->peak_max = fmax(d->peak_max, dp);
    d->tempo_changed += !(fabsf(bn - bo) <= 0.04f * bo);
    d->key_changed += !(same_text(now, old, "tonal", "key") && same_text(now, old, "tonal", "scale"));
}

/* The loudness group of f against libebur128's measures of the same file,
 * floored as the analyzer floors them. */
static void against_reference(tally *t, const sa_features *f, const reference *ref) {
    double lufs = isfinite(ref->lufs) && ref->lufs > SA_LOUDNESS_FLOOR_LUFS ? ref->lufs : SA_LOUDNESS_FLOOR_LUFS;
    double dl = fabs(scalar_or_nan(f, "loudness", "integrated_lufs") - lufs);
    double dr = fabs(scalar_or_nan(f, "loudness", "range_lu") - ref->lra);
    t->reference_n++;
    t->reference_s += ref->cpu_s;
    t->reference_lufs_max = fmax(t->reference_lufs_max, dl);
    t->reference_lufs_sum += dl;
    t->reference_lra_max = fmax(t->reference_lra_max, dr);
}

/* ---- report ---- */

static void report_mode(const tally *t, const char *mode) {
    double decode = stage_cpu(t, "decode");
    printf("\n%s: %d files, %.1f s of audio, %.2f CPU s\n", mode, t->files, t->audio_s, t->total_s);
    printf("  %-22s %9s %12s %9s\n", "stage", "CPU s", "ms/audio s", "/decode");
    for (int i = 0; i < t->n; i++)
        printf("  %-22s %9.3f %12.3f %9.2f\n", t->stages[i].name, t->stages[i].cpu_s,
               1000.0 * t->stages[i].cpu_s / t->audio_s, decode > 0 ? t->stages[i].cpu_s / decode : 0.0);
    printf("  %-22s %9.3f %12.3f %9.2f\n", "total", t->total_s, 1000.0 * t->total_s / t->audio_s,
           decode > 0 ? t->total_s / decode : 0.0);
    double desc = stage_cpu(t, "loudness") + stage_cpu(t, "rhythm") + stage_cpu(t, "tonal");
    double stream = 0.0;
    for (int i = 0; i < t->n; i++)
        if (strncmp(t->stages[i].name, "resample 22050", 14) == 0)
            stream += t->stages[i].cpu_s;
    if (decode > 0) {
        printf("  descriptors / decode: %.2f (%.2f with the resampling of their 22050 Hz stream)\n",
               desc / decode, (desc + stream) / decode);
        printf("  loudness + that resampling + other / decode: %.2f (the part outside rhythm and tonal)\n",
               (stage_cpu(t, "loudness") + stream + stage_cpu(t, "other")) / decode);
    }
    if (t->typical_n)
        printf("  tracks of 3-5 min: %d, %.2f CPU s each on average, %.2f tracks per CPU second\n", t->typical_n,
               t->typical_total_s / t->typical_n, t->typical_n / t->typical_total_s);
    if (t->reference_n && t->reference_s > 0)
        printf("  loudness against libebur128 (every frame, exact mode: %.3f ms/audio s, %.1f x the analyzer's"
               " time) on %d files: integrated within %.4f LU (mean %.4f), range within %.4f LU\n",
               1000.0 * t->reference_s / t->audio_s, t->reference_s / stage_cpu(t, "loudness"), t->reference_n,
               t->reference_lufs_max, t->reference_lufs_sum / t->reference_n, t->reference_lra_max);
}

/* The manifest's audio tracks of 3 to 5 minutes, as a NULL-terminated list of malloc'd paths. */
static char **manifest_files(void) {
    char dir[4096], path[4096 + 16];
    snprintf(dir, sizeof dir, "%s/.cache/soundalike-corpus", getenv("HOME") ? getenv("HOME") : ".");
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *in = fopen(path, "r");
    if (!in)
        return NULL;
    char **files = NULL, *line = NULL;
    size_t cap = 0, n = 0;
    int ok = 1, c_path = -1, c_dur = -1, c_kind = -1;
    for (int row = 0; ok && getline(&line, &cap, in) > 0; row++) {
        line[strcspn(line, "\r\n")] = '\0';
        char *field[16];
        int nf = 0;
        for (char *p = line; p && nf < 16; nf++) {
            field[nf] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        if (row == 0) {
            for (int i = 0; i < nf; i++) {
                c_path = strcmp(field[i], "path") == 0 ? i : c_path;
                c_dur = strcmp(field[i], "duration_s") == 0 ? i : c_dur;
                c_kind = strcmp(field[i], "kind") == 0 ? i : c_kind;
            }
            ok = c_path >= 0 && c_dur >= 0 && c_kind >= 0;
            continue;
        }
        if (nf <= c_path || nf <= c_dur || nf <= c_kind || strcmp(field[c_kind], "audio") != 0)
            continue;
        double d = strtod(field[c_dur], NULL);
        if (d < TYPICAL_MIN_S || d > TYPICAL_MAX_S)
            continue;
        char **grown = realloc(files, (n + 2) * sizeof *grown);
        ok = grown != NULL;
        if (ok) {
            files = grown;
            files[n + 1] = NULL;
            ok = asprintf(&files[n], "%s/%s", dir, field[c_path]) >= 0;
            files[n] = ok ? files[n] : NULL;
            n += ok;
        }
    }
    free(line);
    fclose(in);
    if (!ok)
        fprintf(stderr, "bench_analysis: could not read %s\n", path);
    return files;
}

typedef struct options {
    int verbose, modes[MODES], limit;
    sa_analyzer_config cfg;
} options;

static int parse(int argc, char **argv, options *o) {
    int i = 1;
    o->modes[0] = o->modes[1] = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-v") == 0)
            o->verbose = 1;
        else if (strcmp(argv[i], "--now") == 0)
            o->modes[1] = 0;
        else if (strcmp(argv[i], "--old") == 0)
            o->modes[0] = 0;
        else if (strcmp(argv[i], "--no-tagger") == 0)
            o->cfg.without_tagger = 1;
        else if (strcmp(argv[i], "--model-dir") == 0 && i + 1 < argc)
            o->cfg.model_dir = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            o->limit = atoi(argv[++i]);
        else
            return -1;
    }
    return o->modes[0] || o->modes[1] ? i : -1;
}

int main(int argc, char **argv) {
    options opt = {0};
    int first = parse(argc, argv, &opt);
    if (first < 0) {
        fprintf(stderr, "usage: %s [-v] [--old | --now] [--no-tagger] [--model-dir DIR] [--limit N] [FILE...]\n",
                argv[0]);
        return 2;
    }
    /* the shared folder's model, unless told otherwise */
    if (!opt.cfg.model_dir && !getenv("SOUNDALIKE_MODEL_DIR"))
        opt.cfg.model_dir = SA_SHARED_DIR "/models/musicnn";
    sa_analyzer_set *set = NULL;
    if (sa_analyzer_set_new(&opt.cfg, &set)) {
        fprintf(stderr, "bench_analysis: %s\n", sa_error_detail());
        return 1;
    }
    size_t n;
    const sa_analyzer *const *list = sa_analyzer_set_list(set, &n);
    if (n > MAX_AN) {
        fprintf(stderr, "bench_analysis: %zu analyzers, more than the %d it can time\n", n, MAX_AN);
        sa_analyzer_set_free(set);
        return 1;
    }
    char **defaults = first < argc ? NULL : manifest_files();
    char **files = first < argc ? argv + first : defaults;
    if (!files) {
        fprintf(stderr, "bench_analysis: no files given and no corpus manifest found\n");
        sa_analyzer_set_free(set);
        return 2;
    }
    if (sa_analyzer_set_missing_tagger(set))
        printf("without the tagger: %s\n", sa_analyzer_set_missing_tagger(set));
    tally tallies[MODES] = {0};
    drift d = {0};
    int failed = 0;
    for (int i = 0; files[i] && (opt.limit <= 0 || i < opt.limit); i++) {
        sa_features f[MODES] = {0};
        sa_err err = SA_OK;
        tally before[MODES]; /* a file counts in both modes or in neither */
        memcpy(before, tallies, sizeof before);
        for (int m = 0; m < MODES && !err; m++) {
            reference ref;
            if (opt.modes[m])
                err = run_file(files[i], list, n, m, &tallies[m], &f[m], &ref, opt.verbose);
            if (opt.modes[m] && !err)
                against_reference(&tallies[m], &f[m], &ref);
        }
        if (err) {
            fprintf(stderr, "bench_analysis: %s: %s (%s)\n", files[i], sa_strerror(err), sa_error_detail());
            memcpy(tallies, before, sizeof before);
            failed++;
        } else if (opt.modes[0] && opt.modes[1]) {
            compare(&d, &f[0], &f[1]);
        }
        for (int m = 0; m < MODES; m++)
            sa_features_clear(&f[m]);
    }
    for (int m = 0; m < MODES; m++)
        if (opt.modes[m] && tallies[m].files)
            report_mode(&tallies[m], mode_names[m]);
    if (opt.modes[0] && opt.modes[1] && tallies[0].total_s > 0) {
        printf("\nold / now: %.2f x the CPU time", tallies[1].total_s / tallies[0].total_s);
        if (tallies[0].typical_total_s > 0)
            printf(" (tracks of 3-5 min: %.2f -> %.2f tracks per CPU second)",
                   tallies[1].typical_n / tallies[1].typical_total_s, tallies[0].typical_n / tallies[0].typical_total_s);
        printf("\nnow against old on %d files: integrated loudness within %.3f LU (mean %.3f), range within %.3f LU,"
               " sample peak within %.3f dB; tempo moved on %d, key on %d\n",
               d.n, d.lufs_max, d.n ? d.lufs_sum / d.n : 0.0, d.lra_max, d.peak_max, d.tempo_changed,
               d.key_changed);
    }
    for (int i = 0; defaults && defaults[i]; i++)
        free(defaults[i]);
    free(defaults);
    sa_analyzer_set_free(set);
    return failed ? 1 : 0;
}

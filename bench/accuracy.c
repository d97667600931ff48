/* accuracy.c: tempo and key accuracy of the descriptors on labelled audio, with aubio's tempo beside them.
 *
 * Usage: bench_accuracy [-v] [--no-aubio] [--corpus DIR]
 *
 * Datasets: the annotated clips of the shared folder (ground_truth.tsv), in
 * two sets by the source of their labels ("annotated/human": a dataset's
 * or a person's annotation; "annotated/other": a test's expected value, an
 * algorithm's output, a title, a file name, ...), and,
 * when DIR/midi_truth.tsv exists (get_corpus.sh DIR --render-midi; DIR
 * defaults to ~/.cache/soundalike-corpus), the soundtracks whose MIDI
 * scores give their tempo and key, one dataset per package. Tempo: MIREX
 * Accuracy 1 (within 4 %) and Accuracy 2 (also at 2, 3, 1/2 or 1/3 of the
 * label), only for labels of a constant tempo; `aubio tempo` (aubio-tools)
 * is scored on the same files; with -v, each tempo missed also shows how
 * strongly the onset envelope pulses at the label's tempo, at the multiples
 * Accuracy 2 counts, and at ours (the autocorrelation at that period over
 * its value at lag 0: near 0 or below, the audio does not pulse there). Key: the MIREX weighted score (1 same key,
 * 0.5 a fifth above, 0.3 relative, 0.2 parallel) and the share of exact
 * keys, for every key profile set (the analyzer's is marked *). Key labels
 * are of three kinds: "key" (a stated key or a MIDI key signature),
 * "notes" (the corpus script's Krumhansl estimate from the MIDI notes, a
 * weaker label that leans towards that profile) and "algo" (a clip's key
 * as another key detector found it, marked "(algorithm)"). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis/tempo.h"
#include "dsp/onset.h"
#include "soundalike/descriptors.h"
#include "soundalike/pipeline.h"

extern char **environ;

enum { MAX_FIELDS = 32, MAX_SETS = 32, NO_KEY = -1 };

typedef struct label {
    double bpm; /* 0 when none */
    int key;    /* tonic + 12 * minor, NO_KEY when none */
    int notes_key;
    int algo_key;
} label;

typedef struct tempo_tally {
    int n, acc1, acc2, aubio_n, aubio1, aubio2;
} tempo_tally;

typedef struct key_tally {
    int n, exact[SA_KEY_PROFILE_COUNT];
    double weighted[SA_KEY_PROFILE_COUNT];
} key_tally;

typedef struct dataset {
    char name[64];
    int files, failed;
    tempo_tally tempo;
    key_tally key, notes, algo;
    double ours_s, aubio_s;
} dataset;

typedef struct options {
    int verbose, aubio;
    const char *corpus;
} options;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Splits line (modified in place) at tabs; returns the number of fields. */
static int split_tabs(char *line, char **fields) {
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < MAX_FIELDS;) {
        fields[n++] = p;
        p = strchr(p, '\t');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

static int column(char **header, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(header[i], name) == 0)
            return i;
    return -1;
}

/* "F# minor", "Ab major (algorithm)", "E major (scale)" -> tonic + 12 * minor; NO_KEY otherwise. */
static int parse_key(const char *s) {
    static const int base[7] = {9, 11, 0, 2, 4, 5, 7}; /* A..G */
    if (!s || *s < 'A' || *s > 'G')
        return NO_KEY;
    int tonic = base[*s++ - 'A'];
    if (*s == '#' || *s == 'b')
        tonic += *s++ == '#' ? 1 : -1;
    tonic = (tonic + 12) % 12;
    if (strncmp(s, " major", 6) == 0)
        return tonic;
    if (strncmp(s, " minor", 6) == 0)
        return tonic + 12;
    return NO_KEY;
}

static const char *key_text(int key, char *buf, size_t cap) {
    if (key == NO_KEY)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%s %s", sa_key_name(key % 12), key >= 12 ? "minor" : "major");
    return buf;
}

/* MIREX key score of estimate est against reference ref. */
static double key_score(int est, int ref) {
    int et = est % 12, rt = ref % 12, em = est >= 12, rm = ref >= 12;
    if (est == ref)
        return 1.0;
    if (em == rm && (et - rt + 12) % 12 == 7)
        return 0.5;
    if (!rm && em && (et - rt + 12) % 12 == 9)
        return 0.3;
    if (rm && !em && (et - rt + 12) % 12 == 3)
        return 0.3;
    if (et == rt)
        return 0.2;
    return 0.0;
}

static int within(double est, double ref) { return fabs(est - ref) <= 0.04 * ref; }

/* 1: Accuracy 1, 2: Accuracy 2 only, 0: neither. */
static int tempo_grade(double est, double ref) {
    if (within(est, ref))
        return 1;
    static const double factors[] = {2.0, 3.0, 0.5, 1.0 / 3.0};
    for (int i = 0; i < 4; i++)
        if (within(est, ref * factors[i]))
            return 2;
    return 0;
}

/* Runs `aubio tempo -i path` and returns the tempo it prints, 0 when none. */
static double aubio_tempo(const char *path) {
    int fd[2];
    if (pipe(fd) != 0)
        return 0.0;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fd[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"aubio", "tempo", "-i", (char *)path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "aubio", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fd[1]);
    double bpm = 0.0;
    FILE *out = fdopen(fd[0], "r");
    if (!out) {
        close(fd[0]);
    } else {
        char line[512];
        while (fgets(line, sizeof line, out)) {
            double v;
            if (sscanf(line, "%lf bpm", &v) == 1 && strstr(line, "bpm"))
                bpm = v;
        }
        fclose(out);
    }
    if (rc == 0)
        waitpid(pid, NULL, 0);
    return bpm;
}

/* A bench-only analyzer: the onset envelope of the rhythm analyzer (its
 * config), at that analyzer's rate and resampling, kept as group
 * "envelope" (its values, and its frames per second) for the pulse
 * strengths of a missed tempo. */
static sa_err envelope_start(void *config, const sa_stream_info *info, void **state) {
    (void)info;
    const sa_analyzer *rhythm = config;
    sa_onset *o;
    sa_err err = sa_onset_new(rhythm->rate, &o);
    *state = err ? NULL : o;
    return err;
}

static sa_err envelope_feed(void *state, const sa_audio_block *block) {
    if (!block->mono)
        return sa_error_set(SA_ERR_INVALID, "envelope: a block without mono audio");
    return sa_onset_feed(state, block->mono, block->frames);
}

static sa_err envelope_finish(void *state, sa_features *features) {
    size_t n;
    const float *env = sa_onset_envelope(state, &n);
    sa_feature_group *g;
    sa_err err = sa_features_group(features, "envelope", 1, &g);
    if (!err)
        err = sa_features_set(g, "values", env, n);
    if (!err)
        err = sa_features_set_scalar(g, "fps", sa_onset_rate(state));
    return err;
}

static void envelope_free(void *state) { sa_onset_free(state); }

/* Prints the pulse strengths of a missed tempo: at the label's tempo times
 * 1/3, 1/2, 1, 2 and 3, then at ours. The envelope is measured in a run of
 * its own, so that it stays out of the timings. */
static void print_pulses(const char *path, double ref, float est) {
    const sa_analyzer *rhythm = sa_rhythm_analyzer();
    const sa_analyzer envelope = {.name = "envelope", .version = 1, .rate = rhythm->rate,
                                  .quality = rhythm->quality, .start = envelope_start, .feed = envelope_feed,
                                  .finish = envelope_finish, .free = envelope_free, .config = (void *)rhythm};
    const sa_analyzer *list[] = {&envelope};
    sa_features f = {0};
    float fps = 0.0f;
    sa_err err = sa_pipeline_run(path, list, 1, &f, NULL, NULL);
    if (!err)
        err = sa_features_scalar(&f, "envelope", "fps", &fps);
    const sa_feature *env = sa_features_get(&f, "envelope", "values");
    if (err || !env) {
        printf("        pulse: %s (%s)\n", sa_strerror(err ? err : SA_ERR_INTERNAL),
               err ? sa_error_detail() : "no envelope");
        sa_features_clear(&f);
        return;
    }
    static const double factors[] = {1.0 / 3.0, 0.5, 1.0, 2.0, 3.0};
    printf("        pulse at the label x1/3 x1/2 x1 x2 x3:");
    for (int i = 0; i < 5; i++) {
        double p = 0.0;
        if (sa_tempo_pulse(env->values, env->count, fps, ref * factors[i], &p) == SA_OK)
            printf(" %5.2f", p);
        else
            printf("     -");
    }
    double p = 0.0;
    if (est > 0.0f && sa_tempo_pulse(env->values, env->count, fps, est, &p) == SA_OK)
        printf("   at ours: %5.2f\n", p);
    else
        printf("   at ours: -\n");
    sa_features_clear(&f);
}

static void score_tempo(dataset *d, const options *opt, const char *path, double ref, float est) {
    int grade = tempo_grade(est, ref);
    d->tempo.n++;
    d->tempo.acc1 += grade == 1;
    d->tempo.acc2 += grade >= 1;
    double aubio = 0.0;
    int agrade = 0;
    if (opt->aubio) {
        double t0 = now_s();
        aubio = aubio_tempo(path);
        d->aubio_s += now_s() - t0;
        agrade = tempo_grade(aubio, ref);
        d->tempo.aubio_n++;
        d->tempo.aubio1 += agrade == 1;
        d->tempo.aubio2 += agrade >= 1;
    }
    if (opt->verbose) {
        static const char *const marks[] = {"--", "A1", "A2"};
        printf("  tempo %-10s ref %7.2f  ours %7.2f %s", d->name, ref, est, marks[grade]);
        if (opt->aubio)
            printf("  aubio %7.2f %s", aubio, marks[agrade]);
        printf("  %s\n", path);
        if (grade != 1)
            print_pulses(path, ref, est);
    }
}

static void score_key(key_tally *t, const char *kind, const options *opt, const char *path, int ref,
                      const int *est) {
    t->n++;
    for (int p = 0; p < SA_KEY_PROFILE_COUNT; p++) {
        double s = key_score(est[p], ref);
        t->weighted[p] += s;
        t->exact[p] += s == 1.0;
    }
    if (opt->verbose) {
        char a[32], b[32];
        printf("  %-5s ref %-9s ours %-9s %.1f  %s\n", kind, key_text(ref, a, sizeof a),
               key_text(est[SA_KEY_PROFILE_DEFAULT], b, sizeof b), key_score(est[SA_KEY_PROFILE_DEFAULT], ref),
               path);
    }
}

/* Analyses one file and adds it to d's tallies. */
static void evaluate(dataset *d, const options *opt, const char *path, const label *lab) {
    const sa_analyzer *list[] = {sa_rhythm_analyzer(), sa_tonal_analyzer()};
    sa_features f = {0};
    d->files++;
    double t0 = now_s();
    sa_err err = sa_pipeline_run(path, list, 2, &f, NULL, NULL);
    d->ours_s += now_s() - t0;
    float bpm = 0.0f;
    const sa_feature *chroma = sa_features_get(&f, "tonal", "chroma");
    if (!err)
        err = sa_features_scalar(&f, "rhythm", "bpm", &bpm);
    if (!err && (!chroma || chroma->count != 12))
        err = sa_error_set(SA_ERR_INTERNAL, "no chroma");
    int est[SA_KEY_PROFILE_COUNT];
    for (int p = 0; !err && p < SA_KEY_PROFILE_COUNT; p++) {
        sa_key k;
        err = sa_key_estimate(chroma->values, (sa_key_profile)p, &k);
        est[p] = k.tonic + 12 * k.minor;
    }
    if (err) {
        fprintf(stderr, "bench_accuracy: %s: %s (%s)\n", path, sa_strerror(err), sa_error_detail());
        d->failed++;
    } else {
        if (lab->bpm > 0)
            score_tempo(d, opt, path, lab->bpm, bpm);
        if (lab->key != NO_KEY)
            score_key(&d->key, "key", opt, path, lab->key, est);
        if (lab->notes_key != NO_KEY)
            score_key(&d->notes, "notes", opt, path, lab->notes_key, est);
        if (lab->algo_key != NO_KEY)
            score_key(&d->algo, "algo", opt, path, lab->algo_key, est);
    }
    sa_features_clear(&f);
}

static dataset *find_set(dataset *sets, int *n, const char *name) {
    for (int i = 0; i < *n; i++)
        if (strcmp(sets[i].name, name) == 0)
            return &sets[i];
    if (*n == MAX_SETS)
        return NULL;
    dataset *d = &sets[(*n)++];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    return d;
}

/* The audio of a midi_truth.tsv row: its audio_counterpart, or the rendering
 * get_corpus.sh --render-midi writes (rendered/PKG/NAME.flac for midi/PKG/NAME.mid). */
static int midi_audio(const char *dir, const char *counterpart, const char *midi, char *out, size_t cap) {
    if (counterpart && *counterpart) {
        snprintf(out, cap, "%s/%s", dir, counterpart);
    } else {
        size_t len = strlen(midi);
        if (strncmp(midi, "midi/", 5) != 0 || len < 9)
            return 0;
        snprintf(out, cap, "%s/rendered/%.*s.flac", dir, (int)(len - 9), midi + 5);
    }
    return access(out, R_OK) == 0;
}

/* Reads one truth table: annotated (ground_truth.tsv) or MIDI (midi_truth.tsv). */
static int run_table(const char *dir, const char *file, int midi, const options *opt, dataset *sets, int *nsets) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "bench_accuracy: %s: %s (skipped)\n", path, strerror(errno));
        return 0;
    }
    char *line = NULL, *header_line = NULL, *header[MAX_FIELDS], *fields[MAX_FIELDS];
    size_t cap = 0;
    int nh = 0, ok = 1;
    if (getline(&line, &cap, in) > 0 && !(header_line = strdup(line))) {
        fprintf(stderr, "bench_accuracy: %s: out of memory for the header\n", path);
        free(line);
        fclose(in);
        return 0;
    }
    if (header_line)
        nh = split_tabs(header_line, header);
    int c_path = column(header, nh, "path"), c_bpm = column(header, nh, "tempo_bpm"),
        c_key = column(header, nh, midi ? "key_signature" : "key"), c_const = column(header, nh, "tempo_constant"),
        c_notes = column(header, nh, "key_from_notes"), c_audio = column(header, nh, "audio_counterpart"),
        c_pkg = column(header, nh, "source_package"), c_kind = column(header, nh, "gt_kind");
    if (c_path < 0 || c_bpm < 0 || c_key < 0 || (midi && (c_const < 0 || c_notes < 0 || c_pkg < 0)) ||
        (!midi && c_kind < 0)) {
        fprintf(stderr, "bench_accuracy: %s: missing columns\n", path);
        ok = 0;
    }
    while (ok && getline(&line, &cap, in) > 0) {
        int n = split_tabs(line, fields);
        if (n < nh)
            continue;
        label lab = {.bpm = strtod(fields[c_bpm], NULL), .key = parse_key(fields[c_key]), .notes_key = NO_KEY,
                     .algo_key = NO_KEY};
        char audio[4096];
        const char *set = "annotated";
        if (midi) {
            int blupi = strstr(fields[c_pkg], "planetblupi") != NULL;
            if (strcmp(fields[c_const], "yes") != 0)
                lab.bpm = 0;
            if (blupi) /* its key signatures are placeholders */
                lab.key = NO_KEY;
            lab.notes_key = parse_key(fields[c_notes]);
            set = blupi ? "planetblupi" : fields[c_pkg];
            if (!midi_audio(dir, c_audio >= 0 ? fields[c_audio] : NULL, fields[c_path], audio, sizeof audio))
                continue;
        } else {
            snprintf(audio, sizeof audio, "%s/%s", dir, fields[c_path]);
            int human = strncmp(fields[c_kind], "dataset annotation", 18) == 0 || strncmp(fields[c_kind], "human", 5) == 0;
            set = human ? "annotated/human" : "annotated/other";
            if (strstr(fields[c_key], "(algorithm)")) {
                lab.algo_key = lab.key;
                lab.key = NO_KEY;
            }
        }
        if (lab.bpm <= 0 && lab.key == NO_KEY && lab.notes_key == NO_KEY && lab.algo_key == NO_KEY)
            continue;
        dataset *d = find_set(sets, nsets, set);
        if (d)
            evaluate(d, opt, audio, &lab);
        else
            fprintf(stderr, "bench_accuracy: more than %d data sets, %s (of %s) left out\n", MAX_SETS, audio, set);
    }
    free(line);
    free(header_line);
    fclose(in);
    return ok;
}

static void print_key_row(const char *name, const char *kind, const key_tally *t) {
    if (t->n == 0)
        return;
    printf("%-22s %-5s %4d", name, kind, t->n);
    for (int p = 0; p < SA_KEY_PROFILE_COUNT; p++)
        printf("  %5.3f/%4.2f%s", t->weighted[p] / t->n, (double)t->exact[p] / t->n,
               p == SA_KEY_PROFILE_DEFAULT ? "*" : " ");
    printf("\n");
}

static void add_key(key_tally *sum, const key_tally *t) {
    sum->n += t->n;
    for (int p = 0; p < SA_KEY_PROFILE_COUNT; p++) {
        sum->weighted[p] += t->weighted[p];
        sum->exact[p] += t->exact[p];
    }
}

static void report(const dataset *sets, int n, const options *opt) {
    dataset all = {.name = "all"};
    printf("\nTempo (MIREX): Accuracy 1 within 4 %%, Accuracy 2 also x2, x3, 1/2, 1/3\n");
    printf("%-22s %5s %5s %7s %7s %11s %11s %9s %9s\n", "dataset", "files", "tempo", "Acc1", "Acc2", "aubio Acc1",
           "aubio Acc2", "ours s", "aubio s");
    for (int i = 0; i <= n; i++) {
        const dataset *d = i < n ? &sets[i] : &all;
        if (i < n) {
            all.files += d->files;
            all.failed += d->failed;
            all.tempo.n += d->tempo.n;
            all.tempo.acc1 += d->tempo.acc1;
            all.tempo.acc2 += d->tempo.acc2;
            all.tempo.aubio_n += d->tempo.aubio_n;
            all.tempo.aubio1 += d->tempo.aubio1;
            all.tempo.aubio2 += d->tempo.aubio2;
            all.ours_s += d->ours_s;
            all.aubio_s += d->aubio_s;
            add_key(&all.key, &d->key);
            add_key(&all.notes, &d->notes);
            add_key(&all.algo, &d->algo);
        }
        const tempo_tally *t = &d->tempo;
        printf("%-22s %5d %5d", d->name, d->files, t->n);
        if (t->n)
            printf(" %7.3f %7.3f", (double)t->acc1 / t->n, (double)t->acc2 / t->n);
        else
            printf(" %7s %7s", "-", "-");
        if (opt->aubio && t->aubio_n)
            printf(" %11.3f %11.3f", (double)t->aubio1 / t->aubio_n, (double)t->aubio2 / t->aubio_n);
        else
            printf(" %11s %11s", "-", "-");
        printf(" %9.1f %9.1f%s\n", d->ours_s, d->aubio_s, d->failed ? "  (some files failed)" : "");
    }
    printf("\nKey: MIREX weighted score / share exact, per profile set (* = the analyzer's)\n");
    printf("%-22s %-5s %4s", "dataset", "label", "n");
    for (int p = 0; p < SA_KEY_PROFILE_COUNT; p++)
        printf("  %-11s", sa_key_profile_name((sa_key_profile)p));
    printf("\n");
    for (int i = 0; i <= n; i++) {
        const dataset *d = i < n ? &sets[i] : &all;
        print_key_row(d->name, "key", &d->key);
        print_key_row(d->name, "notes", &d->notes);
        print_key_row(d->name, "algo", &d->algo);
    }
    key_tally every = all.key;
    add_key(&every, &all.notes);
    add_key(&every, &all.algo);
    print_key_row("all", "every", &every);
}

int main(int argc, char **argv) {
    options opt = {.aubio = 1};
    char corpus[4096] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            opt.verbose = 1;
        else if (strcmp(argv[i], "--no-aubio") == 0)
            opt.aubio = 0;
        else if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc)
            snprintf(corpus, sizeof corpus, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [-v] [--no-aubio] [--corpus DIR]\n", argv[0]);
            return 2;
        }
    }
    if (!*corpus)
        snprintf(corpus, sizeof corpus, "%s/.cache/soundalike-corpus", getenv("HOME") ? getenv("HOME") : ".");
    const char *shared = getenv("SA_SHARED_DIR") ? getenv("SA_SHARED_DIR") : SA_SHARED_DIR;
    char annotated[4096];
    snprintf(annotated, sizeof annotated, "%s/corpus/annotated", shared);
    dataset sets[MAX_SETS];
    int nsets = 0;
    int ok = run_table(annotated, "ground_truth.tsv", 0, &opt, sets, &nsets);
    run_table(corpus, "midi_truth.tsv", 1, &opt, sets, &nsets);
    report(sets, nsets, &opt);
    return ok ? 0 : 1;
}

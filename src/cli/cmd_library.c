/* cmd_library.c: `soundalike scan` and `soundalike analyze`. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "soundalike/library.h"

static int run_scan(cli_ctx *ctx, int argc, char **argv) {
    int first, rc;
    sa_store *s;
    if (!cli_begin(ctx, &cli_cmd_scan, argc, argv, NULL, NULL, NULL, NULL, 1, -1, &first, &s, &rc))
        return rc;
    sa_scan_report r;
    sa_err err = sa_library_scan(s, (const char *const *)&argv[first], (size_t)(argc - first), &r);
    sa_store_close(s);
    if (err)
        return cli_fail(ctx, err, "scan failed");
    if (ctx->json)
        return cli_print_json(json_pack("{sI sI sI sI sI sI sI sI}", "files", (json_int_t)r.files, "added",
                                        (json_int_t)r.added, "changed", (json_int_t)r.changed, "unchanged",
                                        (json_int_t)r.unchanged, "failed", (json_int_t)r.failed, "ignored",
                                        (json_int_t)r.ignored, "missing", (json_int_t)r.missing,
                                        "unreadable", (json_int_t)r.unreadable));
    printf("%lld files: %lld new, %lld changed, %lld unchanged, %lld not readable audio, %lld other files "
           "ignored, %lld missing since the last scan\n",
           (long long)r.files, (long long)r.added, (long long)r.changed, (long long)r.unchanged,
           (long long)r.failed, (long long)r.ignored, (long long)r.missing);
    if (r.unreadable)
        printf("%lld folders or files could not be read: their tracks were kept as they were\n",
               (long long)r.unreadable);
    return CLI_OK;
}

const cli_command cli_cmd_scan = {"scan", "DIR...", "Find the audio files under each folder and record them.",
                                  NULL, run_scan};

/* ---- analyze ---- */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void format_duration(double s, char *out, size_t cap) {
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else
        snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
}

/* One status line, rewritten in place: only on a terminal. */
static void show_progress(const sa_analysis_progress *p, void *ctx) {
    (void)ctx;
    double rate = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0;
    double speed = p->elapsed_s > 0 ? p->audio_s / p->elapsed_s : 0;
    char eta[32] = "-";
    if (rate > 0)
        format_duration((double)(p->total - p->done) / rate, eta, sizeof eta);
    fprintf(stderr, "\r\033[K%lld/%lld tracks  %.2f tracks/s  %.1fx real time  ETA %s  %lld failed",
            (long long)p->done, (long long)p->total, rate, speed, eta, (long long)p->failed);
    if (p->done == p->total)
        fputc('\n', stderr);
}

typedef struct analyze_opts {
    long jobs;
} analyze_opts;

static int analyze_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx;
    analyze_opts *o = state;
    if (opt == 'J')
        return cli_parse_count(arg, 1024, &o->jobs) ? CLI_USAGE : CLI_OK;
    return CLI_USAGE;
}

static int report_analysis(const cli_ctx *ctx, const sa_analysis_progress *p) {
    if (ctx->json)
        return cli_print_json(json_pack("{sI sI sI sf sf sb}", "total", (json_int_t)p->total, "analyzed",
                                        (json_int_t)(p->done - p->failed), "failed", (json_int_t)p->failed,
                                        "seconds", p->elapsed_s, "audio_seconds", p->audio_s, "interrupted",
                                        stop_flag != 0));
    printf("%lld tracks analysed, %lld failed, in %.1f s (%.1f s of audio, %.1fx real time)%s\n",
           (long long)(p->done - p->failed), (long long)p->failed, p->elapsed_s, p->audio_s,
           p->elapsed_s > 0 ? p->audio_s / p->elapsed_s : 0.0, stop_flag ? "; interrupted" : "");
    if (p->failed)
        printf("see the failures with: %s stats --failed\n", ctx->prog);
    return CLI_OK;
}

/* Catches an existing index up with the analysis and saves it; a library
 * that never had one gets it at its first query or `index build`. */
static sa_err update_index(const cli_ctx *ctx, sa_store *s) {
    sa_index_meta meta;
    sa_err err = sa_store_index_meta_get(s, "music_library", &meta);
    if (err == SA_ERR_NOT_FOUND)
        return SA_OK;
    const char *profile;
    sa_index *idx = NULL;
    if (!err)
        err = cli_open_index(ctx, s, &profile, &idx);
    sa_index_free(idx);
    return err;
}

static int run_analyze(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {{"jobs", required_argument, NULL, 'J'}, {0, 0, 0, 0}};
    analyze_opts o = {0};
    int first, rc;
    sa_store *s;
    if (!cli_begin(ctx, &cli_cmd_analyze, argc, argv, own, "J:", analyze_option, &o, 0, 0, &first, &s, &rc))
        return rc;
    sa_analyzer_set *set;
    sa_err err = cli_load_analyzers(ctx, &set);
    if (err) {
        sa_store_close(s);
        return cli_fail(ctx, err, "cannot load the analyzers");
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa_analyze_options ao = {.jobs = (int)o.jobs, .stop = &stop_flag};
    ao.analyzers = sa_analyzer_set_list(set, &ao.n_analyzers);
    if (isatty(STDERR_FILENO) && !ctx->json)
        ao.progress = show_progress;
    sa_analysis_progress p;
    err = sa_library_analyze(s, &ao, &p);
    sa_analyzer_set_free(set);
    if (err) {
        sa_store_close(s);
        return cli_fail(ctx, err, "analysis stopped");
    }
    /* what was analysed is stored whatever becomes of the index: report it first */
    int rc_report = report_analysis(ctx, &p);
    err = update_index(ctx, s); /* also after a run that only rebuilt vectors for new profiles */
    sa_store_close(s);
    if (err)
        return cli_fail(ctx, err, "the analysis is stored, but the index could not be brought up to date");
    return rc_report;
}

const cli_command cli_cmd_analyze = {
    "analyze", "", "Analyse every pending track (and redo what a newer analyzer measures differently).",
    "  -J, --jobs N       worker threads (default: one per core)\n", run_analyze};

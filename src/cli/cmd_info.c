/* cmd_info.c: `soundalike show` and `soundalike stats`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "soundalike/features_json.h"
#include "soundalike/library.h"
#include "soundalike/profile.h"

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *track_json(const sa_track *t) {
    return json_pack("{sI ss sI sI so ss so sf si si so so so so so sI sI}", "id", (json_int_t)t->id, "path",
                     t->path, "size", (json_int_t)t->size, "mtime_ns", (json_int_t)t->mtime_ns, "content_hash",
                     str_or_null(t->content_hash), "status", sa_track_status_name(t->status), "error",
                     str_or_null(t->error), "duration_s", t->duration_s, "sample_rate", t->sample_rate,
                     "channels", t->channels, "codec", str_or_null(t->codec), "title", str_or_null(t->title),
                     "artist", str_or_null(t->artist), "album", str_or_null(t->album), "genre",
                     str_or_null(t->genre), "scanned_at", (json_int_t)t->scanned_at, "analyzed_at",
                     (json_int_t)t->analyzed_at);
}

/* Profiles for which the track has a vector. */
static json_t *vectors_json(sa_store *s, int64_t id) {
    json_t *arr = json_array();
    size_t n;
    const sa_profile *const *all = sa_profile_all(&n);
    for (size_t i = 0; i < n; i++) {
        float *v = malloc((size_t)all[i]->dim * sizeof *v);
        if (v && sa_store_vector_get(s, id, all[i]->name, v, all[i]->dim) == SA_OK)
            json_array_append_new(arr, json_pack("{ss si}", "profile", all[i]->name, "dimension", all[i]->dim));
        free(v);
    }
    return arr;
}

static void print_value(const sa_feature *it) {
    if (it->text) {
        printf("%s", it->text);
        return;
    }
    size_t shown = it->count > 12 ? 12 : it->count;
    for (size_t k = 0; k < shown; k++)
        printf("%s%.4g", k ? " " : "", (double)it->values[k]);
    if (shown < it->count)
        printf(" ... (%zu values)", it->count);
}

static void print_track(const sa_track *t, const sa_features *f) {
    printf("track %lld: %s\n", (long long)t->id, t->path);
    printf("  status     %s%s%s\n", sa_track_status_name(t->status), t->error ? ": " : "", t->error ? t->error : "");
    printf("  file       %lld bytes, %s, %d Hz, %d channels, %.1f s\n", (long long)t->size,
           t->codec ? t->codec : "?", t->sample_rate, t->channels, t->duration_s);
    const char *labels[] = {"title", "artist", "album", "genre"};
    const char *values[] = {t->title, t->artist, t->album, t->genre};
    for (int i = 0; i < 4; i++)
        if (values[i])
            printf("  %-10s %s\n", labels[i], values[i]);
    for (size_t g = 0; g < f->count; g++) {
        printf("  %s (v%d)\n", f->groups[g].analyzer, f->groups[g].version);
        for (size_t i = 0; i < f->groups[g].count; i++) {
            printf("    %-18s ", f->groups[g].items[i].name);
            print_value(&f->groups[g].items[i]);
            putchar('\n');
        }
    }
}

static int run_show(cli_ctx *ctx, int argc, char **argv) {
    int first, rc;
    sa_store *s;
    if (!cli_begin(ctx, &cli_cmd_show, argc, argv, NULL, NULL, NULL, NULL, 1, 1, &first, &s, &rc))
        return rc;
    sa_track t = {0};
    sa_features f = {0};
    sa_err err = cli_find_track(s, argv[first], &t);
    if (!err)
        err = sa_store_features_get(s, t.id, &f);
    if (!err && ctx->json) {
        json_t *j = track_json(&t);
        json_object_set_new(j, "features", sa_features_json(&f));
        json_object_set_new(j, "vectors", vectors_json(s, t.id));
        rc = cli_print_json(j);
    } else if (!err) {
        print_track(&t, &f);
    }
    sa_store_close(s);
    sa_features_clear(&f);
    sa_track_clear(&t);
    return err ? cli_fail(ctx, err, argv[first]) : rc;
}

const cli_command cli_cmd_show = {"show", "TRACK",
                                  "Everything stored about one track (a path or an id): file facts, status, "
                                  "every feature.",
                                  NULL, run_show};

/* ---- stats ---- */

typedef struct stats_opts {
    int failed;
} stats_opts;

static int stats_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx, (void)arg;
    if (opt != 'F')
        return CLI_USAGE;
    ((stats_opts *)state)->failed = 1;
    return CLI_OK;
}

static int print_failure(const sa_track *t, void *ctx) {
    json_t *arr = ctx;
    if (arr)
        json_array_append_new(arr, json_pack("{sI ss ss}", "id", (json_int_t)t->id, "path", t->path, "error",
                                             t->error ? t->error : ""));
    else
        printf("%lld\t%s\t%s\n", (long long)t->id, t->path, t->error ? t->error : "");
    return 0;
}

static int list_failures(const cli_ctx *ctx, sa_store *s) {
    json_t *arr = ctx->json ? json_array() : NULL;
    sa_err err = sa_store_tracks_each(s, SA_TRACK_FAILED, print_failure, arr);
    if (err) {
        json_decref(arr);
        return cli_fail(ctx, err, "cannot list failures");
    }
    return arr ? cli_print_json(arr) : CLI_OK;
}

static int run_stats(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {{"failed", no_argument, NULL, 'F'}, {0, 0, 0, 0}};
    stats_opts o = {0};
    int first, rc;
    sa_store *s;
    if (!cli_begin(ctx, &cli_cmd_stats, argc, argv, own, "", stats_option, &o, 0, 0, &first, &s, &rc))
        return rc;
    if (o.failed) {
        rc = list_failures(ctx, s);
        sa_store_close(s);
        return rc;
    }
    sa_store_counts c;
    sa_index_meta meta = {0};
    sa_err err = sa_store_count_tracks(s, &c);
    sa_err merr = err ? err : sa_store_index_meta_get(s, "music_library", &meta);
    int has_index = merr == SA_OK;
    if (merr && merr != SA_ERR_NOT_FOUND)
        err = merr;
    sa_store_close(s);
    if (err)
        return cli_fail(ctx, err, "cannot read the library");
    int64_t analyzed = c.by_status[SA_TRACK_ANALYZED];
    int64_t indexed = has_index ? meta.count : 0;
    double coverage = analyzed > 0 ? 100.0 * (double)indexed / (double)analyzed : 0.0;
    if (ctx->json)
        return cli_print_json(json_pack(
            "{ss so so sI sI sI sI sI sf so sb sb sI sI sI so so}", "index_name", "music_library", "index_type",
            has_index ? json_string(meta.type) : json_null(), "vector_dimension",
            has_index ? json_integer(meta.dim) : json_null(), "total_vectors", (json_int_t)indexed,
            "indexed_vectors", (json_int_t)indexed, "total_files", (json_int_t)c.total, "analyzed_files",
            (json_int_t)analyzed, "indexed_files", (json_int_t)indexed, "index_coverage", coverage,
            "build_time", has_index ? json_real(meta.build_time_s) : json_null(), "faiss_available", 1,
            "index_loaded", has_index, "pending_files", (json_int_t)c.by_status[SA_TRACK_PENDING],
            "failed_files", (json_int_t)c.by_status[SA_TRACK_FAILED], "missing_files",
            (json_int_t)c.by_status[SA_TRACK_MISSING], "profile",
            has_index ? json_string(meta.profile) : json_null(), "built_at",
            has_index ? json_integer(meta.built_at) : json_null()));
    printf("files      %lld (%lld analysed, %lld pending, %lld failed, %lld missing)\n", (long long)c.total,
           (long long)analyzed, (long long)c.by_status[SA_TRACK_PENDING],
           (long long)c.by_status[SA_TRACK_FAILED], (long long)c.by_status[SA_TRACK_MISSING]);
    if (has_index)
        printf("index      %s, profile %s, %d dimensions, %lld vectors (%.1f%% of analysed), built in %.3f s\n",
               meta.type, meta.profile, meta.dim, (long long)meta.count, coverage, meta.build_time_s);
    else
        printf("index      none yet (built by the first query, or by '%s index build')\n", ctx->prog);
    return CLI_OK;
}

const cli_command cli_cmd_stats = {"stats", "", "Library and index statistics.",
                                   "  --failed           list the tracks that failed, with why\n", run_stats};

/* ---- list ---- */

typedef struct list_opts {
    int status; /* -1: every track */
} list_opts;

static int list_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx;
    sa_track_status st;
    if (opt != 'S' || sa_track_status_parse(arg, &st) != SA_OK)
        return CLI_USAGE;
    ((list_opts *)state)->status = (int)st;
    return CLI_OK;
}

static int list_track(const sa_track *t, void *ctx) {
    json_t *arr = ctx;
    if (arr)
        json_array_append_new(arr, track_json(t));
    else
        printf("%lld\t%s\t%s\n", (long long)t->id, t->path, sa_track_status_name(t->status));
    return 0;
}

static int run_list(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {{"status", required_argument, NULL, 'S'}, {0, 0, 0, 0}};
    list_opts o = {-1};
    int first, rc;
    sa_store *s;
    if (!cli_begin(ctx, &cli_cmd_list, argc, argv, own, "", list_option, &o, 0, 0, &first, &s, &rc))
        return rc;
    json_t *arr = ctx->json ? json_array() : NULL;
    sa_err err = sa_store_tracks_each(s, o.status, list_track, arr);
    sa_store_close(s);
    if (err) {
        json_decref(arr);
        return cli_fail(ctx, err, "cannot list the tracks");
    }
    return arr ? cli_print_json(arr) : CLI_OK;
}

const cli_command cli_cmd_list = {"list", "", "The tracks of the library: id, path and status, one per line.",
                                  "  --status S         only tracks that are pending, analyzed, failed or missing\n",
                                  run_list};

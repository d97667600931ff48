/* cmd_query.c: `soundalike similar` and `soundalike playlist`. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "soundalike/pipeline.h"
#include "soundalike/playlist.h"
#include "soundalike/profile.h"

typedef struct query_opts {
    long n;
} query_opts;

static int query_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx;
    query_opts *o = state;
    if (opt == 'n')
        return cli_parse_count(arg, 10000, &o->n) ? CLI_USAGE : CLI_OK;
    return CLI_USAGE;
}

/* The query as the user named it and what it resolved to. */
typedef struct query {
    char path[PATH_MAX];
    int64_t id; /* 0 for a file outside the library */
} query;

/* Analyses a file that is not in the library and builds its vector in profile. */
static sa_err vector_of_file(const cli_ctx *ctx, const char *path, const char *profile_name, float *v) {
    const sa_profile *profile = sa_profile_find(profile_name);
    sa_analyzer_set *set;
    sa_err err = cli_load_analyzers(ctx, &set);
    if (err)
        return err;
    size_t n;
    const sa_analyzer *const *list = sa_analyzer_set_list(set, &n);
    sa_features f = {0};
    err = sa_pipeline_run(path, list, n, &f, NULL, NULL);
    if (!err) {
        err = sa_profile_build(profile, &f, v);
        if (err)
            err = sa_error_set(err, "cannot build a %s vector for %s (%s)", profile->name, path,
                               sa_error_detail());
    }
    sa_features_clear(&f);
    sa_analyzer_set_free(set);
    return err;
}

static sa_err run_query(const cli_ctx *ctx, sa_store *s, const char *arg, size_t n, query *q, sa_playlist *out) {
    const char *profile;
    sa_index *idx = NULL;
    sa_err err = cli_open_index(ctx, s, &profile, &idx);
    if (err)
        return err;
    sa_track t = {0};
    err = cli_find_track(s, arg, &t);
    if (!err) {
        snprintf(q->path, sizeof q->path, "%s", t.path);
        q->id = t.id;
        if (t.status != SA_TRACK_ANALYZED)
            err = sa_error_set(SA_ERR_CONFLICT, "%s is %s%s%s", t.path, sa_track_status_name(t.status),
                               t.error ? ": " : "", t.error ? t.error : "");
        else
            err = sa_playlist_similar(s, idx, profile, t.id, n, out);
    } else if (err == SA_ERR_NOT_FOUND && realpath(arg, q->path)) {
        /* not in the library: analyse the file itself */
        float *v = malloc((size_t)sa_index_dim(idx) * sizeof *v);
        err = v ? vector_of_file(ctx, q->path, profile, v) : sa_error_set(SA_ERR_NOMEM, "query vector");
        if (!err)
            err = sa_playlist_similar_vector(s, idx, v, NULL, n, out);
        free(v);
    }
    sa_track_clear(&t);
    sa_index_free(idx);
    return err;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static json_t *items_json(const sa_playlist *p) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < p->count; i++)
        json_array_append_new(arr, json_pack("{ss ss sf sI}", "track_path", p->items[i].path, "track_name",
                                             base_name(p->items[i].path), "similarity",
                                             (double)p->items[i].similarity, "track_id",
                                             (json_int_t)p->items[i].id));
    return arr;
}

static void print_items(const sa_playlist *p) {
    for (size_t i = 0; i < p->count; i++)
        printf("%3zu. %6.3f  %s\n", i + 1, (double)p->items[i].similarity, p->items[i].path);
}

static int print_similar(const cli_ctx *ctx, const query *q, const sa_playlist *p, long requested) {
    (void)requested;
    if (ctx->json)
        return cli_print_json(json_pack("{ss ss sI so}", "query_file", q->path, "query_name", base_name(q->path),
                                        "total_results", (json_int_t)p->count, "similar_tracks", items_json(p)));
    printf("similar to %s:\n", q->path);
    print_items(p);
    return CLI_OK;
}

static int print_playlist(const cli_ctx *ctx, const query *q, const sa_playlist *p, long requested) {
    sa_playlist_stats st;
    sa_playlist_summarise(p, &st);
    if (ctx->json)
        return cli_print_json(json_pack(
            "{ss ss sI sI so s{sf sf sf sf}}", "seed_track", q->path, "seed_name", base_name(q->path),
            "playlist_length", (json_int_t)p->count, "requested_length", (json_int_t)requested, "playlist",
            items_json(p), "statistics", "average_similarity", (double)st.average, "min_similarity",
            (double)st.min, "max_similarity", (double)st.max, "similarity_range", (double)st.range));
    printf("playlist from %s (%zu tracks, similarity %.3f to %.3f, average %.3f):\n", q->path, p->count,
           (double)st.min, (double)st.max, (double)st.average);
    printf("  0.  seed   %s\n", q->path);
    print_items(p);
    return CLI_OK;
}

/* similar and playlist: the same query, printed in the guide's two shapes. */
static int run_query_command(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, long default_n,
                             int (*print)(const cli_ctx *, const query *, const sa_playlist *, long)) {
    static const struct option own[] = {{"count", required_argument, NULL, 'n'}, {0, 0, 0, 0}};
    query_opts o = {.n = default_n};
    int first, rc;
    sa_store *s;
    if (!cli_begin(ctx, cmd, argc, argv, own, "n:", query_option, &o, 1, 1, &first, &s, &rc))
        return rc;
    query q = {{0}, 0};
    sa_playlist p = {0};
    sa_err err = run_query(ctx, s, argv[first], (size_t)o.n, &q, &p);
    sa_store_close(s);
    rc = err ? cli_fail(ctx, err, argv[first]) : print(ctx, &q, &p, o.n);
    sa_playlist_clear(&p);
    return rc;
}

static int run_similar(cli_ctx *ctx, int argc, char **argv) {
    return run_query_command(ctx, &cli_cmd_similar, argc, argv, 5, print_similar);
}

static int run_playlist(cli_ctx *ctx, int argc, char **argv) {
    return run_query_command(ctx, &cli_cmd_playlist, argc, argv, 10, print_playlist);
}

const cli_command cli_cmd_similar = {
    "similar", "TRACK",
    "The tracks that sound most like TRACK (a path or a track id; a file outside the library is analysed).",
    "  -n, --count N      how many (default 5)\n", run_similar};

const cli_command cli_cmd_playlist = {"playlist", "SEED", "A playlist of the tracks nearest to SEED.",
                                      "  -n, --count N      how many tracks after the seed (default 10)\n",
                                      run_playlist};

/* cmd_tags.c: `soundalike tags` (a track's style tags) and `soundalike model import`. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "soundalike/pipeline.h"
#include "soundalike/tagger.h"

typedef struct tags_opts {
    long top;
    int whole_track;
    const char *model;
} tags_opts;

enum { OPT_TOP = 3000, OPT_WHOLE, OPT_MODEL, OPT_OUTPUT };

static int tags_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx;
    tags_opts *o = state;
    switch (opt) {
    case OPT_TOP: return cli_parse_count(arg, SA_MUSICNN_TAGS, &o->top) ? CLI_USAGE : CLI_OK;
    case OPT_WHOLE: o->whole_track = 1; return CLI_OK;
    case OPT_MODEL: o->model = arg; return CLI_OK;
    default: return CLI_USAGE;
    }
}

/* Tags measured for one track, with where they come from. */
typedef struct track_tags {
    char path[PATH_MAX];
    float tags[SA_MUSICNN_TAGS];
    int patches;
    const char *source; /* "stored" or "computed" */
} track_tags;

static sa_err load_model(const cli_ctx *ctx, const char *name, sa_musicnn **m) {
    char path[4096];
    sa_err err = sa_musicnn_find_model(ctx->model_dir, name, path, sizeof path);
    return err ? err : sa_musicnn_load(path, m);
}

/* The stored tags of a library track when they are of this model. */
static int stored_tags(const cli_ctx *ctx, const char *arg, const sa_musicnn *m, track_tags *out) {
    sa_store *s;
    if (cli_open_store(ctx, &s) != SA_OK)
        return 0;
    sa_track t = {0};
    sa_features f = {0};
    int found = 0;
    if (cli_find_track(s, arg, &t) == SA_OK && sa_store_features_get(s, t.id, &f) == SA_OK) {
        const sa_feature *tags = sa_features_get(&f, "musicnn", "tags");
        const sa_feature *model = sa_features_get(&f, "musicnn", "model");
        float patches = 0;
        sa_features_scalar(&f, "musicnn", "patches", &patches);
        if (tags && tags->count == SA_MUSICNN_TAGS && model && model->text &&
            strcmp(model->text, sa_musicnn_name(m)) == 0) {
            memcpy(out->tags, tags->values, sizeof out->tags);
            snprintf(out->path, sizeof out->path, "%s", t.path);
            out->patches = (int)patches;
            out->source = "stored";
            found = 1;
        }
    }
    sa_features_clear(&f);
    sa_track_clear(&t);
    sa_store_close(s);
    return found;
}

static sa_err computed_tags(const char *arg, sa_musicnn *m, int whole_track, track_tags *out) {
    if (!realpath(arg, out->path))
        return sa_error_set(SA_ERR_NOT_FOUND, "%s: %s", arg, strerror(errno));
    sa_err err = sa_musicnn_set_patches(m, whole_track ? SA_MUSICNN_WHOLE_TRACK : SA_MUSICNN_DEFAULT_PATCHES);
    sa_analyzer tagger;
    sa_musicnn_analyzer(m, &tagger);
    const sa_analyzer *list[] = {&tagger};
    sa_features f = {0};
    if (!err)
        err = sa_pipeline_run(out->path, list, 1, &f, NULL, NULL);
    const sa_feature *tags = sa_features_get(&f, "musicnn", "tags");
    float patches = 0;
    if (!err && (!tags || tags->count != SA_MUSICNN_TAGS))
        err = sa_error_set(SA_ERR_INTERNAL, "the tagger wrote no tags");
    if (!err) {
        memcpy(out->tags, tags->values, sizeof out->tags);
        sa_features_scalar(&f, "musicnn", "patches", &patches);
        out->patches = (int)patches;
        out->source = "computed";
    }
    sa_features_clear(&f);
    return err;
}

static int print_tags(const cli_ctx *ctx, const sa_musicnn *m, const track_tags *tt, int top) {
    int order[SA_MUSICNN_TAGS];
    for (int i = 0; i < SA_MUSICNN_TAGS; i++)
        order[i] = i;
    for (int i = 1; i < SA_MUSICNN_TAGS; i++) /* insertion sort, best first */
        for (int j = i; j > 0 && tt->tags[order[j]] > tt->tags[order[j - 1]]; j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    if (ctx->json) {
        json_t *arr = json_array();
        for (int i = 0; i < top; i++)
            json_array_append_new(arr, json_pack("{ss sf}", "tag", sa_musicnn_tag(m, order[i]), "score",
                                                 (double)tt->tags[order[i]]));
        return cli_print_json(json_pack("{ss ss si ss so}", "track", tt->path, "model", sa_musicnn_name(m),
                                        "patches", tt->patches, "source", tt->source, "tags", arr));
    }
    printf("%s (%s, %s over %d patches)\n", tt->path, sa_musicnn_name(m), tt->source, tt->patches);
    for (int i = 0; i < top; i++)
        printf("  %.3f  %s\n", (double)tt->tags[order[i]], sa_musicnn_tag(m, order[i]));
    return CLI_OK;
}

static int run_tags(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {{"top", required_argument, NULL, OPT_TOP},
                                        {"whole-track", no_argument, NULL, OPT_WHOLE},
                                        {"model", required_argument, NULL, OPT_MODEL},
                                        {0, 0, 0, 0}};
    tags_opts o = {.top = 10};
    int first, rc;
    if (!cli_begin(ctx, &cli_cmd_tags, argc, argv, own, "", tags_option, &o, 1, 1, &first, NULL, &rc))
        return rc;
    sa_musicnn *m = NULL;
    sa_err err = load_model(ctx, o.model, &m);
    if (err)
        return cli_fail(ctx, err, "cannot load the tagger model");
    track_tags tt = {.source = NULL};
    if (o.whole_track || !stored_tags(ctx, argv[first], m, &tt))
        err = computed_tags(argv[first], m, o.whole_track, &tt);
    rc = err ? cli_fail(ctx, err, argv[first]) : print_tags(ctx, m, &tt, (int)o.top);
    sa_musicnn_free(m);
    return rc;
}

const cli_command cli_cmd_tags = {
    "tags", "TRACK",
    "The MusiCNN style tags of a track: stored ones for a library track, computed for any other file.",
    "  --top K            how many tags (default 10)\n"
    "  --whole-track      tag every 3-second patch (default: 12 spread over the track)\n"
    "  --model NAME       msd-musicnn (default) or mtt-musicnn\n",
    run_tags};

/* ---- model import ---- */

typedef struct model_opts {
    const char *output;
    const char *model;
} model_opts;

static int model_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx;
    model_opts *o = state;
    if (opt == OPT_OUTPUT)
        o->output = arg;
    else if (opt == OPT_MODEL)
        o->model = arg;
    else
        return CLI_USAGE;
    return CLI_OK;
}

/* "msd-musicnn" or "mtt-musicnn" from a Keras file name such as MSD_musicnn.h5. */
static const char *model_from_name(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncasecmp(base, "msd", 3) == 0)
        return "msd-musicnn";
    if (strncasecmp(base, "mtt", 3) == 0)
        return "mtt-musicnn";
    return NULL;
}

static sa_err default_model_dir(char *out, size_t cap) {
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && *xdg == '/')
        n = snprintf(out, cap, "%s/soundalike/models", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.local/share/soundalike/models", home);
    else
        return sa_error_set(SA_ERR_INVALID, "no HOME: give --output");
    if (n < 0 || (size_t)n >= cap)
        return sa_error_set(SA_ERR_INVALID,
                            "the models folder under $XDG_DATA_HOME or $HOME is too long: give --output");
    for (char *p = out + 1; *p; p++) { /* mkdir -p */
        if (*p != '/')
            continue;
        *p = '\0';
        int bad = mkdir(out, 0755) != 0 && errno != EEXIST;
        *p = '/';
        if (bad)
            return sa_error_set(SA_ERR_IO, "%s: %s", out, strerror(errno));
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        return sa_error_set(SA_ERR_IO, "%s: %s", out, strerror(errno));
    return SA_OK;
}

static int run_model(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {
        {"output", required_argument, NULL, OPT_OUTPUT}, {"model", required_argument, NULL, OPT_MODEL}, {0, 0, 0, 0}};
    model_opts o = {0};
    int first, rc;
    if (!cli_begin(ctx, &cli_cmd_model, argc, argv, own, "", model_option, &o, 2, 2, &first, NULL, &rc))
        return rc;
    if (strcmp(argv[first], "import") != 0)
        return cli_usage(ctx, "usage: model import FILE.h5");
    const char *h5 = argv[first + 1];
    const char *model = o.model ? o.model : model_from_name(h5);
    if (!model)
        return cli_usage(ctx, "cannot tell the model from '%s': give --model msd-musicnn or mtt-musicnn", h5);
    char weights[4200], tags[4300], dir[4096];
    /* cut short, the weights would be written to another file */
    int n = o.output ? snprintf(weights, sizeof weights, "%s", o.output) : 0;
    if (n < 0 || (size_t)n >= sizeof weights)
        return cli_usage(ctx, "--output path too long (at most %zu bytes)", sizeof weights - 1);
    sa_err err = o.output ? SA_OK : default_model_dir(dir, sizeof dir);
    if (!err && !o.output && (size_t)snprintf(weights, sizeof weights, "%s/%s.weights", dir, model) >= sizeof weights)
        return cli_usage(ctx, "--model name too long");
    if (err)
        return cli_fail(ctx, err, h5);
    size_t stem = strlen(weights) - (strlen(weights) > 8 && !strcmp(weights + strlen(weights) - 8, ".weights") ? 8 : 0);
    snprintf(tags, sizeof tags, "%.*s.tags.txt", (int)stem, weights);
    if (!err)
        err = sa_musicnn_import_h5(h5, weights);
    if (!err)
        err = sa_musicnn_write_tags(model, tags);
    sa_musicnn *check = NULL;
    if (!err) /* the written model must load */
        err = sa_musicnn_load(weights, &check);
    sa_musicnn_free(check);
    if (err)
        return cli_fail(ctx, err, h5);
    printf("%s written (tags in %s)\n", weights, tags);
    return CLI_OK;
}

const cli_command cli_cmd_model = {
    "model", "import FILE.h5",
    "Convert the public Keras re-export of the MusiCNN weights (MSD_musicnn.h5, MTT_musicnn.h5) to soundalike's "
    "weights file.",
    "  --output PATH      where to write it (default: $XDG_DATA_HOME/soundalike/models/<model>.weights)\n"
    "  --model NAME       msd-musicnn or mtt-musicnn (default: from the file name)\n",
    run_model};

/* cmd_index.c: `soundalike index build|stats|verify`. */
#include <string.h>

#include "cli.h"
#include "soundalike/library.h"

typedef struct index_opts {
    const char *type;
    int force;
} index_opts;

enum { OPT_TYPE = 2000, OPT_FORCE };

static int index_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx;
    index_opts *o = state;
    if (opt == OPT_TYPE)
        o->type = arg;
    else if (opt == OPT_FORCE)
        o->force = 1;
    else
        return CLI_USAGE;
    return CLI_OK;
}

static int print_meta(const cli_ctx *ctx, const sa_index_meta *m, const char *verdict) {
    if (ctx->json)
        return cli_print_json(json_pack("{ss ss ss si sI sf sI ss ss ss}", "index_name", m->name, "profile",
                                        m->profile, "index_type", m->type, "vector_dimension", m->dim,
                                        "total_vectors", (json_int_t)m->count, "build_time", m->build_time_s,
                                        "built_at", (json_int_t)m->built_at, "checksum", m->checksum, "file",
                                        m->file, "state", verdict));
    printf("index %s: %s, profile %s, %d dimensions, %lld vectors, built in %.3f s\nfile %s (checksum %s)\n%s\n",
           m->name, m->type, m->profile, m->dim, (long long)m->count, m->build_time_s, m->file, m->checksum,
           verdict);
    return CLI_OK;
}

static int index_build(cli_ctx *ctx, sa_store *s, const index_opts *o) {
    const char *profile;
    sa_err err = sa_library_profile(s, &profile);
    if (!err && !profile)
        err = sa_error_set(SA_ERR_NOT_FOUND, "no analysed tracks yet: run '%s analyze' first", ctx->prog);
    char path[4200];
    if (!err)
        err = sa_library_index_path(ctx->db, profile, path, sizeof path);
    sa_index_meta meta = {0};
    if (err)
        return cli_fail(ctx, err, "cannot build the index");
    sa_index *idx = NULL;
    int rebuilt = 1;
    if (!o->force && !o->type) /* only when the recorded one is stale */
        err = sa_library_index_open(s, profile, path, &idx, &rebuilt);
    else
        err = sa_library_index_build(s, profile, o->type ? o->type : "flat", path, &idx, NULL);
    sa_index_free(idx);
    if (!err)
        err = sa_store_index_meta_get(s, "music_library", &meta);
    if (err)
        return cli_fail(ctx, err, "cannot build the index");
    return print_meta(ctx, &meta, rebuilt ? "built" : "up to date, kept (use --force to rebuild)");
}

/* Exit 0 only when the file matches what the store recorded and holds. */
static int index_verify(cli_ctx *ctx, sa_store *s) {
    sa_index_meta meta = {0};
    sa_err err = sa_store_index_meta_get(s, "music_library", &meta);
    if (err)
        return cli_fail(ctx, err, "no index recorded");
    char checksum[72];
    int64_t generation = 0;
    sa_index *idx = NULL;
    const char *verdict = "ok";
    err = sa_store_vectors_generation(s, meta.profile, &generation);
    if (err)
        return cli_fail(ctx, err, "cannot read the store");
    if (sa_index_load(meta.file, &idx, checksum) != SA_OK)
        verdict = sa_error_detail();
    else if (strcmp(checksum, meta.checksum) != 0)
        verdict = "checksum differs from the recorded one";
    else if ((int64_t)sa_index_count(idx) != meta.count || sa_index_dim(idx) != meta.dim)
        verdict = "size differs from the recorded one";
    else if (generation != meta.generation)
        verdict = "stale: vectors changed since it was built";
    char copy[512];
    snprintf(copy, sizeof copy, "%s", verdict); /* the detail buffer may be reused */
    sa_index_free(idx);
    print_meta(ctx, &meta, copy);
    return strcmp(copy, "ok") == 0 ? CLI_OK : CLI_ERROR;
}

static int run_index(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {
        {"type", required_argument, NULL, OPT_TYPE}, {"force", no_argument, NULL, OPT_FORCE}, {0, 0, 0, 0}};
    index_opts o = {0};
    int first, rc;
    if (!cli_begin(ctx, &cli_cmd_index, argc, argv, own, "", index_option, &o, 1, 1, &first, NULL, &rc))
        return rc;
    const char *action = argv[first];
    if (strcmp(action, "build") != 0 && strcmp(action, "stats") != 0 && strcmp(action, "verify") != 0)
        return cli_usage(ctx, "unknown action '%s'", action);
    sa_store *s;
    sa_err err = cli_open_store(ctx, &s);
    if (err)
        return cli_fail(ctx, err, "cannot open the library");
    if (strcmp(action, "build") == 0) {
        rc = index_build(ctx, s, &o);
    } else if (strcmp(action, "verify") == 0) {
        rc = index_verify(ctx, s);
    } else {
        sa_index_meta meta = {0};
        err = sa_store_index_meta_get(s, "music_library", &meta);
        rc = err ? cli_fail(ctx, err, "no index recorded") : print_meta(ctx, &meta, "recorded");
    }
    sa_store_close(s);
    return rc;
}

const cli_command cli_cmd_index = {
    "index", "build|stats|verify", "Build, describe or verify the similarity index.",
    "  --type TYPE        build: flat (exact), ivf, hnsw or a FAISS factory string\n"
    "  --force            build: rebuild even when the index is up to date\n",
    run_index};

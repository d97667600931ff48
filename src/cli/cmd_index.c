/* cmd_index.c: `soundalike index build|stats|verify`. */
#include <string.h>
#include <time.h>

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
    if (opt == OPT_TYPE && *arg)
        o->type = arg;
    else if (opt == OPT_FORCE)
        o->force = 1;
    else
        return CLI_USAGE;
    return CLI_OK;
}

/* A setting the index does not have (0) prints as JSON null. */
static json_t *int_or_null(long long v) { return v > 0 ? json_integer(v) : json_null(); }

/* NULL text prints as JSON null. */
static json_t *text_or_null(const char *text) { return text ? json_string(text) : json_null(); }

static json_t *report_json(const sa_library_index_report *r, const char *state) {
    const sa_index_meta *m = &r->meta;
    const sa_index_info *in = &r->info;
    bool rec = r->recorded, loaded = r->loaded;
    char when[32] = "";
    time_t t = (time_t)m->built_at;
    struct tm tm;
    if (rec && gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *j = json_object();
    /* the guide's statistics first, then ours */
    json_object_set_new(j, "index_name", json_string("music_library"));
    json_object_set_new(j, "index_type", text_or_null(rec ? m->type : NULL));
    json_object_set_new(j, "vector_dimension", rec ? json_integer(m->dim) : json_null());
    json_object_set_new(j, "total_vectors", json_integer(r->total_vectors));
    json_object_set_new(j, "indexed_vectors", json_integer(r->indexed));
    json_object_set_new(j, "total_files", json_integer(r->total_files));
    json_object_set_new(j, "analyzed_files", json_integer(r->analyzed_files));
    json_object_set_new(j, "indexed_files", json_integer(r->indexed));
    json_object_set_new(j, "index_coverage", json_real(r->coverage));
    json_object_set_new(j, "build_time", rec ? json_real(m->build_time_s) : json_null());
    json_object_set_new(j, "faiss_available", json_true());
    json_object_set_new(j, "index_loaded", json_boolean(loaded));
    json_object_set_new(j, "requested_type", text_or_null(!rec ? NULL : m->requested[0] ? m->requested : m->type));
    json_object_set_new(j, "description", text_or_null(loaded ? in->detail : NULL));
    json_object_set_new(j, "profile", text_or_null(rec ? m->profile : NULL));
    json_object_set_new(j, "built_at", rec ? json_integer(m->built_at) : json_null());
    json_object_set_new(j, "last_rebuild", text_or_null(rec ? when : NULL));
    json_object_set_new(j, "recall_at_10", rec && m->recall_at_10 >= 0 ? json_real(m->recall_at_10) : json_null());
    json_object_set_new(j, "memory_bytes", loaded ? json_integer((json_int_t)in->memory_bytes) : json_null());
    json_object_set_new(j, "stored_vectors", loaded ? json_integer((json_int_t)in->stored) : json_null());
    json_object_set_new(j, "nlist", int_or_null(in->nlist));
    json_object_set_new(j, "nprobe", int_or_null(in->nprobe));
    json_object_set_new(j, "hnsw_m", int_or_null(in->m));
    json_object_set_new(j, "ef_search", int_or_null(in->ef_search));
    json_object_set_new(j, "file", text_or_null(rec ? m->file : NULL));
    json_object_set_new(j, "checksum", text_or_null(rec ? m->checksum : NULL));
    json_object_set_new(j, "up_to_date", json_boolean(r->current));
    json_object_set_new(j, "state", json_string(state));
    return j;
}

static void print_settings(const sa_index_info *in) {
    if (in->nlist)
        printf(", nprobe %d of %d lists", in->nprobe, in->nlist);
    if (in->m)
        printf(", HNSW M %d, efSearch %d, efConstruction %d", in->m, in->ef_search, in->ef_construction);
}

static int print_report(const cli_ctx *ctx, const sa_library_index_report *r, const char *state) {
    if (ctx->json)
        return cli_print_json(report_json(r, state));
    printf("files      %lld (%lld analysed)\n", (long long)r->total_files, (long long)r->analyzed_files);
    if (!r->recorded) {
        printf("index      none yet (built by the first query, or by '%s index build')\n", ctx->prog);
        return CLI_OK;
    }
    const sa_index_meta *m = &r->meta;
    char when[32] = "?";
    time_t t = (time_t)m->built_at;
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    printf("index      %s: %s%s%s, profile %s, %d dimensions\n", m->name, m->type, m->requested[0] ? ", chosen by " : "",
           m->requested, m->profile, m->dim);
    if (r->loaded)
        printf("           %s\n", r->info.detail);
    printf("vectors    %lld indexed of %lld stored (coverage %.1f%% of analysed files)\n", (long long)r->indexed,
           (long long)r->total_vectors, r->coverage);
    printf("built      %s in %.3f s", when, m->build_time_s);
    if (m->recall_at_10 >= 0)
        printf(", recall@10 %.4f", m->recall_at_10);
    print_settings(&r->info);
    printf("\n");
    if (r->loaded)
        printf("memory     %.1f MB (%zu vectors held)\n", (double)r->info.memory_bytes / 1e6, r->info.stored);
    printf("file       %s (checksum %s)\nstate      %s\n", m->file, m->checksum, state);
    return CLI_OK;
}

/* The check after a build, printed with what the build did. */
static int report_after(const cli_ctx *ctx, sa_store *s, const char *state) {
    sa_library_index_report r;
    sa_err err = sa_library_index_check(s, &r);
    return err ? cli_fail(ctx, err, "cannot check the index") : print_report(ctx, &r, state);
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
    sa_err merr = err ? err : sa_store_index_meta_get(s, "music_library", &meta);
    if (merr && merr != SA_ERR_NOT_FOUND)
        err = merr;
    if (err)
        return cli_fail(ctx, err, "cannot build the index");
    /* asked for what was asked last time (or nothing): kept, or caught up, unless forced */
    bool recorded = merr == SA_OK && strcmp(meta.profile, profile) == 0;
    const char *last = recorded ? (meta.requested[0] ? meta.requested : meta.type) : NULL;
    const char *want = o->type ? o->type : last ? last : "auto";
    sa_index *idx = NULL;
    int how = SA_INDEX_REBUILT;
    if (!o->force && last && strcmp(want, last) == 0)
        err = sa_library_index_open(s, profile, path, &idx, &how);
    else
        err = sa_library_index_build(s, profile, want, path, &idx, NULL);
    sa_index_free(idx);
    if (err)
        return cli_fail(ctx, err, "cannot build the index");
    return report_after(ctx, s, how == SA_INDEX_LOADED    ? "up to date, kept (use --force to rebuild)"
                                : how == SA_INDEX_UPDATED ? "caught up with the library"
                                                          : "built");
}

/* Exit 0 only when the file matches what the store recorded and holds. */
static int index_check(cli_ctx *ctx, sa_store *s, bool verify) {
    sa_library_index_report r;
    sa_err err = sa_library_index_check(s, &r);
    if (err)
        return cli_fail(ctx, err, "cannot check the index");
    int rc = print_report(ctx, &r, r.verdict);
    if (verify && !r.current) {
        fprintf(stderr, "%s %s: the index does not match the library: %s\n", ctx->prog, ctx->command, r.verdict);
        return CLI_ERROR;
    }
    return rc;
}

static int run_index(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {
        {"type", required_argument, NULL, OPT_TYPE}, {"force", no_argument, NULL, OPT_FORCE}, {0, 0, 0, 0}};
    index_opts o = {0};
    int first;
    int rc = cli_parse(ctx, &cli_cmd_index, argc, argv, own, "", index_option, &o, &first);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (first + 1 != argc)
        return cli_usage(ctx, "give one action: build, stats or verify");
    const char *action = argv[first];
    bool build = strcmp(action, "build") == 0, verify = strcmp(action, "verify") == 0;
    if (!build && !verify && strcmp(action, "stats") != 0)
        return cli_usage(ctx, "unknown action '%s'", action);
    if (!build && (o.type || o.force))
        return cli_usage(ctx, "--type and --force belong to 'build'");
    sa_store *s;
    sa_err err = cli_open_store(ctx, &s);
    if (err)
        return cli_fail(ctx, err, "cannot open the library");
    rc = build ? index_build(ctx, s, &o) : index_check(ctx, s, verify);
    sa_store_close(s);
    return rc;
}

const cli_command cli_cmd_index = {
    "index", "build|stats|verify", "Build, describe or verify the similarity index.",
    "  --type TYPE        build: auto (the default: exact while that is fast, else IVF tuned\n"
    "                     to recall@10 >= 0.99), flat (exact), ivf, hnsw, ivfsq, ivfpq,\n"
    "                     faiss-ivf, or a FAISS factory string such as IVF1024,Flat\n"
    "  --force            build: rebuild even when the index is up to date\n"
    "stats prints what the index is and holds; verify exits 1 when its file does not\n"
    "match the library (corrupt, stale, or holding other vectors).\n",
    run_index};

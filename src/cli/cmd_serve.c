/* cmd_serve.c: `soundalike serve`: the REST API until SIGINT or SIGTERM. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "soundalike/server.h"

enum { MAX_ROOTS = 64 };

enum {
    OPT_HOST = 3000,
    OPT_PORT,
    OPT_LIBRARY,
    OPT_API_KEY,
    OPT_DATA_DIR,
    OPT_WEB,
    OPT_THREADS,
    OPT_JOB_THREADS,
    OPT_ANALYSIS_JOBS,
    OPT_MAX_BODY,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_PER_IP,
    OPT_TIMEOUT,
    OPT_REQUEST_TIMEOUT,
};

typedef struct serve_opts {
    sa_server_config cfg;
    const char *roots[MAX_ROOTS];
    char *env_roots; /* a copy of $SOUNDALIKE_LIBRARY, split in place */
} serve_opts;

static int count_option(const char *arg, long max, long *out) { return cli_parse_count(arg, max, out) ? CLI_USAGE : 0; }

static int serve_option(cli_ctx *ctx, int opt, const char *arg, void *state) {
    (void)ctx;
    serve_opts *o = state;
    sa_server_config *c = &o->cfg;
    long v = 0;
    int rc = 0;
    switch (opt) {
    case OPT_HOST: c->host = arg; break;
    case OPT_PORT: {
        char *end;
        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || end == arg || *end || v < 0 || v > 65535)
            return CLI_USAGE;
        c->port = (int)v;
        break;
    }
    case OPT_LIBRARY:
        if (o->cfg.n_library_roots == MAX_ROOTS)
            return CLI_USAGE;
        o->roots[o->cfg.n_library_roots++] = arg;
        break;
    case OPT_API_KEY: c->api_key = arg; break;
    case OPT_DATA_DIR: c->data_dir = arg; break;
    case OPT_WEB: c->web_dir = arg; break;
    case OPT_THREADS: rc = count_option(arg, 256, &v), c->threads = (int)v; break;
    case OPT_JOB_THREADS: rc = count_option(arg, 64, &v), c->job_threads = (int)v; break;
    case OPT_ANALYSIS_JOBS: rc = count_option(arg, 256, &v), c->analysis_jobs = (int)v; break;
    case OPT_MAX_BODY: rc = count_option(arg, 1L << 30, &v), c->max_body = (size_t)v; break;
    case OPT_MAX_CONNECTIONS: rc = count_option(arg, 100000, &v), c->max_connections = (unsigned)v; break;
    case OPT_MAX_PER_IP: rc = count_option(arg, 100000, &v), c->max_per_ip = (unsigned)v; break;
    case OPT_TIMEOUT: rc = count_option(arg, 86400, &v), c->idle_timeout_s = (unsigned)v; break;
    case OPT_REQUEST_TIMEOUT: rc = count_option(arg, 86400, &v), c->request_timeout_s = (unsigned)v; break;
    default: return CLI_USAGE;
    }
    return rc;
}

/* Library folders from $SOUNDALIKE_LIBRARY (separated by ':') when none was given. */
static int roots_from_env(serve_opts *o) {
    const char *env = getenv("SOUNDALIKE_LIBRARY");
    if (o->cfg.n_library_roots || !env || !*env)
        return 0;
    o->env_roots = strdup(env);
    if (!o->env_roots)
        return -1;
    for (char *save, *dir = strtok_r(o->env_roots, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
        if (o->cfg.n_library_roots < MAX_ROOTS)
            o->roots[o->cfg.n_library_roots++] = dir;
    return 0;
}

static int run_serve(cli_ctx *ctx, int argc, char **argv) {
    static const struct option own[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"library", required_argument, NULL, OPT_LIBRARY},
        {"api-key", required_argument, NULL, OPT_API_KEY},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"web", required_argument, NULL, OPT_WEB},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"job-threads", required_argument, NULL, OPT_JOB_THREADS},
        {"analysis-jobs", required_argument, NULL, OPT_ANALYSIS_JOBS},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"max-per-ip", required_argument, NULL, OPT_MAX_PER_IP},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
        {0, 0, 0, 0},
    };
    serve_opts o = {.cfg = {.port = 8000}};
    int first;
    int rc = cli_parse(ctx, &cli_cmd_serve, argc, argv, own, "", serve_option, &o, &first);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (first < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first]);
    if (roots_from_env(&o) != 0)
        return cli_fail(ctx, SA_ERR_NOMEM, "reading $SOUNDALIKE_LIBRARY");
    o.cfg.db = ctx->db;
    o.cfg.model_dir = ctx->model_dir;
    o.cfg.library_roots = o.roots;
    if (!o.cfg.api_key)
        o.cfg.api_key = getenv("SOUNDALIKE_API_KEY");
    /* every thread the server starts inherits this mask: only sigwait below sees the signals */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    sa_server *srv;
    sa_err err = sa_server_new(&o.cfg, &srv);
    free(o.env_roots);
    if (err)
        return cli_fail(ctx, err, "cannot serve");
    const char *host = o.cfg.host ? o.cfg.host : "127.0.0.1";
    if (ctx->json)
        cli_print_json(json_pack("{ss si}", "host", host, "port", sa_server_port(srv)));
    else
        printf("serving http://%s:%d/ (library folders: %zu%s)\n", host, sa_server_port(srv), o.cfg.n_library_roots,
               o.cfg.api_key && *o.cfg.api_key ? ", API key required to change the library" : "");
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    fprintf(stderr, "%s serve: stopping (%s)\n", ctx->prog, sig == SIGINT ? "SIGINT" : "SIGTERM");
    sa_server_free(srv);
    return CLI_OK;
}

const cli_command cli_cmd_serve = {
    "serve", "", "Serve the REST API (the seed's /api/faiss endpoints and the library) over HTTP.",
    "  --host H           address to listen on (default 127.0.0.1)\n"
    "  --port P           port (default 8000; 0 picks a free one)\n"
    "  --library DIR      a folder client paths may name (repeatable; default $SOUNDALIKE_LIBRARY,\n"
    "                     folders separated by ':'); without one every path is refused\n"
    "  --api-key KEY      required by the routes that change the library (default $SOUNDALIKE_API_KEY)\n"
    "  --data-dir DIR     where save-index and load-index may go (default: the database's folder)\n"
    "  --web DIR          static files served at / (the web page)\n"
    "  --threads N        HTTP event threads (default: one per core)\n"
    "  --job-threads N    threads for long requests: analysing files, building indexes (default 2)\n"
    "  --analysis-jobs N  workers of a background analysis (default 1)\n"
    "  --max-body BYTES   largest request body (default 1 MiB)\n"
    "  --max-connections N  open connections (default 512); --max-per-ip N from one address\n"
    "  --timeout S        close connections idle this long (default 15)\n"
    "  --request-timeout S  answer 503 to a long request not done by then (default 120)\n",
    run_serve};

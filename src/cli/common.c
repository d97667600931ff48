/* common.c: option parsing, errors and resources shared by the commands. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "soundalike/library.h"
#include "soundalike/log.h"

enum { OPT_DB = 1000, OPT_MODEL_DIR, OPT_HELP };

static const struct option common_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"model-dir", required_argument, NULL, OPT_MODEL_DIR},
    {"json", no_argument, NULL, 'j'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
};
enum { N_COMMON = sizeof common_options / sizeof common_options[0] };

/* The library location from the environment; 0 when it did not fit in
 * cap, since a path cut short would open another database. */
static int default_db(char *out, size_t cap) {
    const char *env = getenv("SOUNDALIKE_DB");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(out, cap, "%s", env);
    else if (xdg && *xdg == '/')
        n = snprintf(out, cap, "%s/soundalike/library.db", xdg);
    else
        n = snprintf(out, cap, "%s/.local/share/soundalike/library.db", home && *home ? home : ".");
    return n >= 0 && (size_t)n < cap;
}

static void print_help(const cli_ctx *ctx, const cli_command *cmd) {
    printf("usage: %s %s [options] %s\n%s\n\noptions:\n%s", ctx->prog, cmd->name, cmd->args, cmd->summary,
           cmd->help ? cmd->help : "");
    printf("  --db PATH          the library database (default: $SOUNDALIKE_DB or\n"
           "                     $XDG_DATA_HOME/soundalike/library.db)\n"
           "  --model-dir DIR    where the tagger weights are (default: $SOUNDALIKE_MODEL_DIR,\n"
           "                     then the data directory)\n"
           "  -j, --json         machine-readable output\n"
           "  -v, --verbose      say more (twice: debug)\n"
           "  -h, --help         this help\n");
}

int cli_parse(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, const struct option *own,
              const char *own_short, cli_option_fn fn, void *cmd_state, int *first) {
    struct option all[64];
    size_t n = 0;
    for (; own && own[n].name && n < 64 - N_COMMON - 1; n++)
        all[n] = own[n];
    memcpy(&all[n], common_options, sizeof common_options);
    memset(&all[n + N_COMMON], 0, sizeof all[0]);
    char shorts[64];
    snprintf(shorts, sizeof shorts, "jvh%s", own_short ? own_short : "");
    ctx->command = cmd->name;
    int db_fits = default_db(ctx->db, sizeof ctx->db);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            if (!*optarg)
                return cli_usage(ctx, "--db needs a path");
            if (strlen(optarg) >= sizeof ctx->db)
                return cli_usage(ctx, "--db path too long (at most %zu bytes)", sizeof ctx->db - 1);
            snprintf(ctx->db, sizeof ctx->db, "%s", optarg);
            db_fits = 1;
            break;
        case OPT_MODEL_DIR: ctx->model_dir = optarg; break;
        case 'j': ctx->json = 1; break;
        case 'v': sa_log_set_level(++ctx->verbose >= 2 ? SA_LOG_DEBUG : SA_LOG_INFO); break;
        case 'h': print_help(ctx, cmd); return -1;
        case '?':
        case ':':
            return cli_usage(ctx, "unknown option or missing value: %s", argv[optind - 1]);
        default: {
            int rc = fn ? fn(ctx, c, optarg, cmd_state) : CLI_USAGE;
            if (rc)
                return rc == CLI_USAGE ? cli_usage(ctx, "bad option %s", argv[optind - 1]) : rc;
        }
        }
    }
    if (!db_fits)
        return cli_usage(ctx, "the library path from $SOUNDALIKE_DB, $XDG_DATA_HOME or $HOME is too long "
                              "(at most %zu bytes)", sizeof ctx->db - 1);
    *first = optind;
    return CLI_OK;
}

int cli_begin(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, const struct option *own,
              const char *own_short, cli_option_fn fn, void *cmd_state, int min, int max, int *first,
              sa_store **s, int *exit_code) {
    int rc = cli_parse(ctx, cmd, argc, argv, own, own_short, fn, cmd_state, first);
    int operands = argc - *first;
    if (rc == CLI_OK && operands < min)
        rc = cli_usage(ctx, "%s expected", cmd->args);
    else if (rc == CLI_OK && max >= 0 && operands > max)
        rc = cli_usage(ctx, "unexpected argument '%s'", argv[*first + max]);
    if (rc == CLI_OK && s) {
        sa_err err = cli_open_store(ctx, s);
        if (err)
            rc = cli_fail(ctx, err, "cannot open the library");
    }
    *exit_code = rc < 0 ? CLI_OK : rc;
    return rc == CLI_OK;
}

int cli_fail(const cli_ctx *ctx, sa_err err, const char *what) {
    const char *detail = sa_error_detail();
    size_t len = strlen(what);
    if (strncmp(detail, what, len) == 0 && detail[len] == ':') /* the detail names it already (often a path) */
        fprintf(stderr, "%s %s: %s\n", ctx->prog, ctx->command, detail);
    else
        fprintf(stderr, "%s %s: %s: %s\n", ctx->prog, ctx->command, what, *detail ? detail : sa_strerror(err));
    return CLI_ERROR;
}

int cli_usage(const cli_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s %s: ", ctx->prog, ctx->command ? ctx->command : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s %s --help)\n", ctx->prog, ctx->command ? ctx->command : "");
    va_end(ap);
    return CLI_USAGE;
}

int cli_parse_count(const char *arg, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

sa_err cli_open_store(const cli_ctx *ctx, sa_store **out) {
    sa_err err = sa_store_open(ctx->db, out);
    if (err)
        return sa_error_set(err, "%s: %s", ctx->db, sa_error_detail());
    return SA_OK;
}

static int all_digits(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

sa_err cli_find_track(sa_store *s, const char *arg, sa_track *out) {
    if (all_digits(arg)) {
        struct stat st;
        if (stat(arg, &st) != 0) /* a file named "12" in the current folder wins */
            return sa_store_track_by_id(s, strtoll(arg, NULL, 10), out);
    }
    char real[PATH_MAX];
    if (!realpath(arg, real))
        return sa_error_set(SA_ERR_NOT_FOUND, "%s: %s", arg, strerror(errno));
    sa_err err = sa_store_track_by_path(s, real, out);
    if (err == SA_ERR_NOT_FOUND)
        return sa_error_set(err, "%s is not in the library", real);
    return err;
}

sa_err cli_open_index(const cli_ctx *ctx, sa_store *s, const char **profile, sa_index **idx) {
    sa_err err = sa_library_profile(s, profile);
    if (err)
        return err;
    if (!*profile)
        return sa_error_set(SA_ERR_NOT_FOUND, "no analysed tracks yet: run '%s scan DIR' and '%s analyze'",
                            ctx->prog, ctx->prog);
    char path[4200];
    err = sa_library_index_path(ctx->db, *profile, path, sizeof path);
    return err ? err : sa_library_index_open(s, *profile, path, idx, NULL);
}

sa_err cli_load_analyzers(const cli_ctx *ctx, sa_analyzer_set **out) {
    sa_analyzer_config cfg = {.model_dir = ctx->model_dir};
    sa_err err = sa_analyzer_set_new(&cfg, out);
    if (err)
        return err;
    const char *why = sa_analyzer_set_missing_tagger(*out);
    if (why)
        fprintf(stderr, "%s: the MusiCNN tagger is off (%s): vectors hold the 17 descriptors only\n", ctx->prog,
                why);
    return SA_OK;
}

int cli_print_json(json_t *j) {
    if (!j) {
        fprintf(stderr, "out of memory\n");
        return CLI_ERROR;
    }
    int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) == 0 ? CLI_OK : CLI_ERROR;
    fputc('\n', stdout);
    json_decref(j);
    return rc;
}

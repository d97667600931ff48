/* cli.h: what the subcommands of the soundalike command share. */
#ifndef SOUNDALIKE_CLI_H
#define SOUNDALIKE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "soundalike/analyzers.h"
#include "soundalike/error.h"
#include "soundalike/index.h"
#include "soundalike/store.h"

/* Exit codes. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

/* Options every command takes, parsed by cli_parse. */
typedef struct cli_ctx {
    const char *prog;      /* "soundalike" */
    const char *command;   /* "similar" */
    char db[4096];         /* the store location */
    const char *model_dir; /* NULL: the default search */
    int json;
    int verbose;
} cli_ctx;

/* A subcommand's own options: getopt_long entries (terminated by a zero
 * entry) and a handler for each; the handler returns 0, or CLI_USAGE. */
typedef int (*cli_option_fn)(cli_ctx *ctx, int opt, const char *arg, void *cmd_state);

typedef struct cli_command {
    const char *name;
    const char *args;    /* "TRACK", "DIR..." */
    const char *summary; /* one line */
    const char *help;    /* the command's own options, one per line */
    int (*run)(cli_ctx *ctx, int argc, char **argv);
} cli_command;

/* Parses argv (argv[0] is the command name) with the common options and
 * the command's own; on return *first is the index of the first operand.
 * Returns CLI_OK, CLI_USAGE, or -1 when --help was printed. */
int cli_parse(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, const struct option *own,
              const char *own_short, cli_option_fn fn, void *cmd_state, int *first);

/* cli_parse, then checks that there are min to max operands (max < 0: no
 * limit) and, when s is not NULL, opens the store. Returns 1 to go on, or 0
 * with *exit_code set (CLI_OK after --help, else the error's code). */
int cli_begin(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, const struct option *own,
              const char *own_short, cli_option_fn fn, void *cmd_state, int min, int max, int *first,
              sa_store **s, int *exit_code);

/* Prints "soundalike CMD: message: detail" for err and returns CLI_ERROR. */
int cli_fail(const cli_ctx *ctx, sa_err err, const char *what);
/* Prints a usage error and returns CLI_USAGE. */
int cli_usage(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a positive count in [1, max]. */
int cli_parse_count(const char *arg, long max, long *out);

sa_err cli_open_store(const cli_ctx *ctx, sa_store **out);

/* Resolves TRACK (an id, or a path of a library track) to a stored track.
 * SA_ERR_NOT_FOUND when it is neither. */
sa_err cli_find_track(sa_store *s, const char *arg, sa_track *out);

/* The library's profile and its index, loaded or rebuilt. */
sa_err cli_open_index(const cli_ctx *ctx, sa_store *s, const char **profile, sa_index **idx);

/* Loads the analyzers (the tagger when its model is found). */
sa_err cli_load_analyzers(const cli_ctx *ctx, sa_analyzer_set **out);

/* Prints j to stdout, indented, and frees it. */
int cli_print_json(json_t *j);

/* The commands. */
extern const cli_command cli_cmd_scan, cli_cmd_analyze, cli_cmd_similar, cli_cmd_playlist, cli_cmd_show,
    cli_cmd_stats, cli_cmd_index, cli_cmd_list, cli_cmd_tags, cli_cmd_model;
extern const cli_command cli_cmd_serve;

#endif

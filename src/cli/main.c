/* main.c: the soundalike command: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command *const commands[] = {&cli_cmd_scan, &cli_cmd_analyze, &cli_cmd_similar,
                                              &cli_cmd_playlist, &cli_cmd_show, &cli_cmd_stats,
                                              &cli_cmd_list, &cli_cmd_tags, &cli_cmd_index, &cli_cmd_model,
                                              &cli_cmd_serve};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *out) {
    fprintf(out, "usage: soundalike COMMAND [options] [arguments]\n\n"
                 "Finds the music in a library that sounds alike.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'soundalike COMMAND --help' describes a command's options.\n"
                 "exit status: 0 ok, 1 error, 2 bad usage\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("soundalike 0.1.0\n");
        return CLI_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i]->name) == 0) {
            cli_ctx ctx = {.prog = "soundalike"};
            return commands[i]->run(&ctx, argc - 1, argv + 1);
        }
    fprintf(stderr, "soundalike: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}

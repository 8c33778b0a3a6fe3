/* main.c - the mtrank command-line tool: dispatches `mtrank <command> [options]` to the commands,
 * each a thin client of include/mtrank.h. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct command {
    const char *name;              /* as typed */
    int (*run)(int, char **);      /* entry point */
    const char *summary;           /* one line for `mtrank help` */
} command;

static const command commands[] = {
    {"train", cmd_train, "train a model on a delimited text file described by a spec"},
    {"eval", cmd_eval, "metrics of a saved model on labelled data (--json)"},
    {"predict", cmd_predict, "scores of a saved model, one CSV column per task"},
    {"info", cmd_info, "what a model file holds"},
    {"rank", cmd_rank, "rank candidate lists: models, score fusion and rules (--formula, --rules)"},
    {"compile", cmd_compile, "compile text data to the binary form (.mtrd) for fast loading"},
    {"experiment", cmd_experiment, "reproduce an experiment: census, synthetic, esmm (see mtrank experiment)"},
    {"gen", cmd_gen, "generate data: synthetic (MMoE tasks), ccp (impressions), sessions (ranking lists)"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void general_help(FILE *out) {
    fprintf(out, "mtrank %s - multi-task ranking models\n\nusage: mtrank <command> [options]\n\ncommands:\n",
            MTR_VERSION_STRING);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-12s %s\n", "help", "this text, or `mtrank help <command>` for a command's options");
    fprintf(out, "\nexample: mtrank experiment census --group 1 --runs 10\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        general_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2) {
            for (int i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *help_argv[] = {argv[0], argv[2], "--help", NULL};
                    return commands[i].run(3, help_argv);
                }
            fprintf(stderr, "mtrank: unknown command '%s'\n", argv[2]);
            return 2;
        }
        general_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("mtrank %s\n", MTR_VERSION_STRING);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc, argv);
    fprintf(stderr, "mtrank: unknown command '%s'\n\n", name);
    general_help(stderr);
    return 2;
}

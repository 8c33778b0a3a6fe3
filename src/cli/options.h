/* options.h - command-line options described by a table: each entry names an option, its type and the
 * variable it sets. Usage text prints each option's current value, so the defaults shown are the ones
 * in the struct the command really uses. Bad values are errors, never silently replaced. */
#ifndef MTR_CLI_OPTIONS_H
#define MTR_CLI_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

typedef enum cli_type {
    CLI_INT,        /* int, within [lo, hi] */
    CLI_FLOAT,      /* float, within [lo, hi] */
    CLI_DOUBLE,     /* double, within [lo, hi] when lo < hi, else any number (a config check bounds it) */
    CLI_U64,        /* uint64_t */
    CLI_STRING,     /* const char * (points into argv) */
    CLI_FLAG,       /* int set to 1 */
    CLI_LAYERS,     /* "16,8" -> int array target, count in count_target; "none" or "" = no layers */
    CLI_MODEL_KIND, /* mtr_model_kind */
    CLI_ACTIVATION, /* mtr_activation */
    CLI_OPTIMIZER   /* mtr_optimizer */
} cli_type;

typedef struct cli_option {
    const char *name;   /* without the leading "--" */
    cli_type type;      /* how to parse */
    void *target;       /* variable set */
    int *count_target;  /* CLI_LAYERS: number of layers */
    double lo, hi;      /* CLI_INT / CLI_FLOAT / CLI_DOUBLE bounds */
    const char *help;   /* one line */
} cli_option;

/* Parse argv[first..argc). Positional arguments are collected into positional[] (at most
 * max_positional). Returns 0, or -1 with a message in err ("--epochs: not an integer: 'x'"). */
int cli_parse(int argc, char **argv, int first, const cli_option *opts, int n_opts, const char **positional,
              int max_positional, int *n_positional, char *err, size_t err_size);
/* "usage: mtrank <synopsis>" and one line per option with its current value. */
void cli_usage(FILE *out, const char *synopsis, const char *description, const cli_option *opts, int n_opts);

#endif

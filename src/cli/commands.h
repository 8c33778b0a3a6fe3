/* commands.h - the CLI's subcommands (one file each) and the helpers they share. Each returns the
 * process exit status: 0 success, 1 failure, 2 usage error. */
#ifndef MTR_CLI_COMMANDS_H
#define MTR_CLI_COMMANDS_H

#include "mtrank.h"
#include "util/clock.h"

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_experiment(int argc, char **argv);
/* `mtrank experiment esmm` (cmd_experiment_esmm.c), dispatched by cmd_experiment. */
int cmd_experiment_esmm(int argc, char **argv);
int cmd_gen(int argc, char **argv);
/* `mtrank experiment synthetic` (cmd_experiment_synthetic.c), dispatched by cmd_experiment. */
int experiment_synthetic(int argc, char **argv);
/* `mtrank experiment multiobjective` (cmd_experiment_multiobjective.c), dispatched by cmd_experiment. */
int cmd_experiment_multiobjective(int argc, char **argv);
int cmd_rank(int argc, char **argv);

/* argv contains -h or --help after the command name. */
int wants_help(int argc, char **argv);
/* Print "mtrank CMD: MSG" and a pointer to the command's help; returns 2. */
int usage_error(const char *cmd, const char *msg);
/* Where a generator writes the dataset spec beside its output `out`: *spec_out when given, else (unless
 * out is "-") FILE without .gz and then without .csv, plus .spec (ccp.csv.gz -> ccp.spec), built in buf.
 * Returns NULL, or the problem (path too long, spec and output the same file). */
const char *cli_spec_out(const char *out, const char **spec_out, char *buf, size_t size);
/* Rows to score: a compiled .mtrd file, or text parsed with the model's schema. */
mtr_dataset *open_data_for_model(const mtr_schema *schema, const char *path, int labels_required,
                                 mtr_error *err);

#endif

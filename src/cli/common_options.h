/* common_options.h - the option table entries shared by `train` and `experiment`: the model
 * architecture and the training settings, bound to the library's own config structs. */
#ifndef MTR_CLI_COMMON_OPTIONS_H
#define MTR_CLI_COMMON_OPTIONS_H

#include "cli/options.h"
#include "mtrank.h"

#define MODEL_OPTION_COUNT 7
#define TRAIN_OPTION_COUNT 9

/* Fill opts[0..MODEL_OPTION_COUNT) with options bound to *cfg. */
void model_options(cli_option *opts, mtr_model_config *cfg);
/* Fill opts[0..TRAIN_OPTION_COUNT) with options bound to *cfg. task_weights receives the raw
 * --task-weights text (apply it with apply_task_weights). */
void train_options(cli_option *opts, mtr_train_config *cfg, const char **task_weights);
/* "1,0.5" -> cfg->task_weight[0..n); -1 with a message when malformed or the count differs. */
int apply_task_weights(const char *text, mtr_train_config *cfg, int n_tasks, char *err, size_t es);

#endif

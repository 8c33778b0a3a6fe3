/* common_options.c - see common_options.h. */
#include "cli/common_options.h"

#include <stdio.h>
#include <string.h>

#include "util/parse_number.h"

void model_options(cli_option *o, mtr_model_config *c) {
    o[0] = (cli_option){"model", CLI_MODEL_KIND, &c->kind, NULL, 0, 0,
                        "architecture: single-task, shared-bottom, omoe, mmoe"};
    o[1] = (cli_option){"embedding", CLI_INT, &c->embedding_dim, NULL, 1, 1024, "embedding size per field"};
    o[2] = (cli_option){"experts", CLI_INT, &c->n_experts, NULL, 1, 256, "experts (omoe, mmoe)"};
    o[3] = (cli_option){"bottom", CLI_LAYERS, c->bottom_layers, &c->n_bottom_layers, 0, 0,
                        "widths of each expert's / the bottom's layers"};
    o[4] = (cli_option){"towers", CLI_LAYERS, c->tower_layers, &c->n_tower_layers, 0, 0,
                        "widths of each task tower's hidden layers"};
    o[5] = (cli_option){"activation", CLI_ACTIVATION, &c->activation, NULL, 0, 0, "relu, tanh, sigmoid, linear"};
    o[6] = (cli_option){"conversion-task", CLI_INT, &c->conversion_task, NULL, -1, MTR_MAX_TASKS - 1,
                        "ESMM: this task's output is pCVR, learned through pCTR (task 0) x pCVR; -1 none"};
}

void train_options(cli_option *o, mtr_train_config *c, const char **task_weights) {
    o[0] = (cli_option){"optimizer", CLI_OPTIMIZER, &c->optimizer, NULL, 0, 0, "adam, adagrad, sgd"};
    o[1] = (cli_option){"lr", CLI_FLOAT, &c->learning_rate, NULL, 1e-9, 100, "learning rate"};
    o[2] = (cli_option){"l2", CLI_FLOAT, &c->l2, NULL, 0, 100, "L2 penalty on weights"};
    o[3] = (cli_option){"batch", CLI_INT, &c->batch_size, NULL, 1, 1 << 20, "batch size"};
    o[4] = (cli_option){"epochs", CLI_INT, &c->max_epochs, NULL, 1, 100000, "epochs at most"};
    o[5] = (cli_option){"patience", CLI_INT, &c->patience, NULL, 1, 100000,
                        "stop after this many epochs without a better validation AUC of the main task"};
    o[6] = (cli_option){"main-task", CLI_INT, &c->main_task, NULL, 0, MTR_MAX_TASKS - 1,
                        "index of the task that drives early stopping"};
    o[7] = (cli_option){"threads", CLI_INT, &c->n_threads, NULL, 1, 256, "worker threads"};
    o[8] = (cli_option){"task-weights", CLI_STRING, (void *)task_weights, NULL, 0, 0,
                        "loss weight per task, comma-separated (default all 1)"};
}

int apply_task_weights(const char *text, mtr_train_config *cfg, int n_tasks, char *err, size_t es) {
    if (!text) return 0;
    int n = 0;
    const char *p = text;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        float v;
        if (n >= n_tasks || mtr_parse_float(p, len, &v) != 0 || v < 0) {
            snprintf(err, es, "--task-weights: expected %d non-negative numbers, got '%s'", n_tasks, text);
            return -1;
        }
        cfg->task_weight[n++] = v;
        p += len;
        if (*p == ',') p++;
    }
    if (n != n_tasks) {
        snprintf(err, es, "--task-weights: expected %d numbers (one per task), got %d", n_tasks, n);
        return -1;
    }
    return 0;
}

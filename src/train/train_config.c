/* train_config.c - training configuration: defaults, validation, optimizer names. */
#include <math.h>
#include <string.h>

#include "mtrank.h"

static const char *const optimizer_names[] = {"adam", "adagrad", "sgd"};

void mtr_train_config_default(mtr_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->optimizer = MTR_OPT_ADAM;
    cfg->learning_rate = 1e-3f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->epsilon = 1e-8f;
    cfg->l2 = 0.0f;
    cfg->batch_size = 1024;
    cfg->max_epochs = 40;
    cfg->patience = 5;
    cfg->main_task = 0;
    for (int t = 0; t < MTR_MAX_TASKS; t++) cfg->task_weight[t] = 1.0f;
    cfg->seed = 1;
    cfg->n_threads = 1;
}

const char *mtr_train_config_check(const mtr_train_config *cfg, int n_tasks) {
    if ((unsigned)cfg->optimizer > MTR_OPT_SGD) return "unknown optimizer";
    if (!(cfg->learning_rate > 0.0f) || !isfinite(cfg->learning_rate)) return "learning rate must be > 0";
    if (!(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) || !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f))
        return "Adam betas must be in [0, 1)";
    if (!(cfg->epsilon > 0.0f)) return "epsilon must be > 0";
    if (!(cfg->l2 >= 0.0f) || !isfinite(cfg->l2)) return "L2 must be >= 0";
    if (cfg->batch_size < 1 || cfg->batch_size > (1 << 20)) return "batch size must be in 1..1048576";
    if (cfg->max_epochs < 1) return "epochs must be >= 1";
    if (cfg->patience < 1) return "patience must be >= 1";
    if (cfg->main_task < 0 || cfg->main_task >= n_tasks) return "main task index out of range";
    for (int t = 0; t < n_tasks; t++)
        if (!(cfg->task_weight[t] >= 0.0f) || !isfinite(cfg->task_weight[t]))
            return "task weights must be finite and >= 0";
    if (cfg->n_threads < 1 || cfg->n_threads > 256) return "threads must be in 1..256";
    if (cfg->on_step && cfg->step_interval < 1) return "step interval must be >= 1";
    return NULL;
}

const char *mtr_optimizer_name(mtr_optimizer opt) {
    return (unsigned)opt <= MTR_OPT_SGD ? optimizer_names[opt] : "unknown";
}

int mtr_optimizer_parse(const char *name, mtr_optimizer *opt) {
    for (int i = 0; i <= MTR_OPT_SGD; i++)
        if (strcmp(name, optimizer_names[i]) == 0) {
            *opt = (mtr_optimizer)i;
            return 0;
        }
    return -1;
}

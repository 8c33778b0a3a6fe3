/* model_config.c - model configuration: defaults, validation and the names used on the command line
 * and in model files. */
#include <stdio.h>
#include <string.h>

#include "mtrank.h"

static const char *const kind_names[] = {"single-task", "shared-bottom", "omoe", "mmoe"};
static const char *const activation_names[] = {"relu", "tanh", "sigmoid", "linear"};

void mtr_model_config_default(mtr_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = MTR_MODEL_MMOE;
    cfg->embedding_dim = 4;
    cfg->n_experts = 8;
    cfg->n_bottom_layers = 1;
    cfg->bottom_layers[0] = 16;
    cfg->n_tower_layers = 1;
    cfg->tower_layers[0] = 8;
    cfg->activation = MTR_ACT_RELU;
    cfg->task_mask = 0;
    cfg->conversion_task = -1;
}

const char *mtr_model_config_check(const mtr_model_config *cfg) {
    if ((unsigned)cfg->kind > MTR_MODEL_MMOE) return "unknown model kind";
    if (cfg->embedding_dim < 1 || cfg->embedding_dim > 1024) return "embedding size must be in 1..1024";
    if ((cfg->kind == MTR_MODEL_OMOE || cfg->kind == MTR_MODEL_MMOE) &&
        (cfg->n_experts < 1 || cfg->n_experts > 256))
        return "number of experts must be in 1..256";
    int moe = cfg->kind == MTR_MODEL_OMOE || cfg->kind == MTR_MODEL_MMOE;
    if (cfg->n_bottom_layers < (moe ? 1 : 0) || cfg->n_bottom_layers > MTR_MAX_LAYERS)
        return moe ? "experts need 1..8 layers" : "bottom layers: need 0..8 layers (0 = towers on the input)";
    for (int i = 0; i < cfg->n_bottom_layers; i++)
        if (cfg->bottom_layers[i] < 1 || cfg->bottom_layers[i] > 65536)
            return "expert/bottom layer widths must be in 1..65536";
    if (cfg->n_tower_layers < 0 || cfg->n_tower_layers > MTR_MAX_LAYERS)
        return "tower layers: need 0..8 layers";
    for (int i = 0; i < cfg->n_tower_layers; i++)
        if (cfg->tower_layers[i] < 1 || cfg->tower_layers[i] > 65536)
            return "tower layer widths must be in 1..65536";
    if ((unsigned)cfg->activation > MTR_ACT_LINEAR) return "unknown activation";
    if (cfg->conversion_task == 0 || cfg->conversion_task < -1 || cfg->conversion_task >= MTR_MAX_TASKS)
        return "conversion task must be -1 (none) or a task index >= 1 (task 0 is the click task)";
    return NULL;
}

const char *mtr_model_kind_name(mtr_model_kind kind) {
    return (unsigned)kind <= MTR_MODEL_MMOE ? kind_names[kind] : "unknown";
}

int mtr_model_kind_parse(const char *name, mtr_model_kind *kind) {
    for (int i = 0; i <= MTR_MODEL_MMOE; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *kind = (mtr_model_kind)i;
            return 0;
        }
    return -1;
}

const char *mtr_activation_name(mtr_activation act) {
    return (unsigned)act <= MTR_ACT_LINEAR ? activation_names[act] : "unknown";
}

int mtr_activation_parse(const char *name, mtr_activation *act) {
    for (int i = 0; i <= MTR_ACT_LINEAR; i++)
        if (strcmp(name, activation_names[i]) == 0) {
            *act = (mtr_activation)i;
            return 0;
        }
    return -1;
}

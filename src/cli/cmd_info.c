/* cmd_info.c - `mtrank info MODEL`: what a model file holds (architecture, tasks, inputs with their
 * vocabulary sizes, tensors, the spec it was trained with). Loading verifies the whole file first. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"

int cmd_info(int argc, char **argv) {
    int show_spec = 0;
    cli_option opts[] = {{"spec", CLI_FLAG, &show_spec, NULL, 0, 0, "also print the dataset spec text"}};
    if (wants_help(argc, argv)) {
        cli_usage(stdout, "info MODEL [--spec]", "Describes a model file after verifying it.", opts, 1);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 2, opts, 1, pos, 1, &n_pos, msg, sizeof msg) != 0) return usage_error("info", msg);
    if (n_pos != 1) return usage_error("info", "name one model file");
    mtr_error err = {{0}};
    mtr_model *m = mtr_model_load(pos[0], &err);
    if (!m) {
        fprintf(stderr, "mtrank info: %s\n", err.message);
        return 1;
    }
    const mtr_model_config *c = mtr_model_get_config(m);
    const mtr_schema *s = mtr_model_schema(m);
    printf("file          %s (checksum ok)\n", pos[0]);
    printf("model         %s\n", mtr_model_kind_name(c->kind));
    printf("embedding     %d per field\n", c->embedding_dim);
    if (c->kind == MTR_MODEL_OMOE || c->kind == MTR_MODEL_MMOE) printf("experts       %d\n", c->n_experts);
    printf("bottom layers");
    for (int i = 0; i < c->n_bottom_layers; i++) printf(" %d", c->bottom_layers[i]);
    printf("\ntower layers ");
    for (int i = 0; i < c->n_tower_layers; i++) printf(" %d", c->tower_layers[i]);
    if (c->n_tower_layers == 0) printf(" none");
    printf("\nactivation    %s\n", mtr_activation_name(c->activation));
    printf("parameters    %zu\n", mtr_model_parameter_count(m));
    printf("flops/sample  %.0f (forward)\n", mtr_model_flops_per_sample(m));
    int T = mtr_schema_task_count(s);
    printf("\ntasks (%d):\n", T);
    for (int t = 0; t < T; t++)
        printf("  %-24s %s\n", mtr_schema_task_name(s, t),
               mtr_schema_task_kind(s, t) == MTR_TASK_BINARY ? "binary" : "regression");
    int F = mtr_schema_categorical_count(s), N = mtr_schema_numeric_count(s);
    printf("\ncategorical inputs (%d), vocabulary size incl. out-of-vocabulary and missing ids:\n", F);
    for (int f = 0; f < F; f++)
        printf("  %-24s %u\n", mtr_schema_categorical_name(s, f), mtr_schema_vocab_size(s, f));
    printf("\nnumeric inputs (%d):\n", N);
    for (int i = 0; i < N; i++) printf("  %s\n", mtr_schema_numeric_name(s, i));
    printf("\ntensors (%d):\n", mtr_model_tensor_count(m));
    for (int i = 0; i < mtr_model_tensor_count(m); i++) {
        int nd;
        uint64_t d[4];
        const char *name = mtr_model_tensor_info(m, i, &nd, d);
        printf("  %-40s [", name);
        for (int k = 0; k < nd; k++) printf(k ? ", %llu" : "%llu", (unsigned long long)d[k]);
        printf("]\n");
    }
    if (show_spec) printf("\nspec:\n%s\n", mtr_schema_spec_text(s));
    mtr_model_free(m);
    return 0;
}

/* cmd_eval.c - `mtrank eval`: per-task metrics of a saved model on labelled data. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/report.h"

int cmd_eval(int argc, char **argv) {
    const char *model_path = NULL, *data_path = NULL;
    int threads = 1, json = 0;
    cli_option opts[] = {
        {"model", CLI_STRING, &model_path, NULL, 0, 0, "model file"},
        {"data", CLI_STRING, &data_path, NULL, 0, 0, "labelled data (text in the model's spec, or .mtrd)"},
        {"threads", CLI_INT, &threads, NULL, 1, 256, "worker threads"},
        {"json", CLI_FLAG, &json, NULL, 0, 0, "print metrics as JSON"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "eval --model MODEL --data FILE [--json]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis, "Exact per-task AUC, log loss, MSE and R^2.", opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 2, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0) return usage_error("eval", msg);
    if (!model_path || !data_path) return usage_error("eval", "--model and --data are required");

    mtr_error err = {{0}};
    mtr_model *model = mtr_model_load(model_path, &err);
    mtr_dataset *ds = model ? open_data_for_model(mtr_model_schema(model), data_path, 1, &err) : NULL;
    mtr_task_metrics m[MTR_MAX_TASKS];
    mtr_view v;
    int rc = 1;
    if (ds) {
        v = mtr_view_all(ds);
        if (mtr_evaluate(model, &v, m, threads, &err) == 0) rc = 0;
    }
    if (rc == 0) {
        const mtr_schema *schema = mtr_model_schema(model);
        int T = mtr_schema_task_count(schema);
        if (json) {
            json_t *doc = json_object();
            json_object_set_new(doc, "model", json_string(model_path));
            json_object_set_new(doc, "data", json_string(data_path));
            json_object_set_new(doc, "rows", json_integer((json_int_t)v.count));
            json_object_set_new(doc, "metrics", report_metrics_json(schema, m, T));
            report_json_print(doc);
            json_decref(doc);
        } else {
            report_metrics_text(stdout, schema, m, T);
        }
    } else {
        fprintf(stderr, "mtrank eval: %s\n", err.message);
    }
    mtr_dataset_free(ds);
    mtr_model_free(model);
    return rc;
}

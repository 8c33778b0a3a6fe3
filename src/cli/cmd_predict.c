/* cmd_predict.c - `mtrank predict`: one score column per task, as CSV, to a file or stdout. Scores are
 * printed with 9 significant digits, which round-trips a float exactly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"

int cmd_predict(int argc, char **argv) {
    const char *model_path = NULL, *data_path = NULL, *out_path = "-";
    int threads = 1;
    cli_option opts[] = {
        {"model", CLI_STRING, &model_path, NULL, 0, 0, "model file"},
        {"data", CLI_STRING, &data_path, NULL, 0, 0, "rows to score (text in the model's spec, or .mtrd)"},
        {"out", CLI_STRING, &out_path, NULL, 0, 0, "CSV output, - for stdout"},
        {"threads", CLI_INT, &threads, NULL, 1, 256, "worker threads"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "predict --model MODEL --data FILE [--out FILE|-]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "Writes a header of task names, then one line per input row: probabilities for binary\n"
                  "tasks, values for regression tasks. Label columns may be absent from the input. For an\n"
                  "ESMM model (trained with --conversion-task) the conversion task's column is pCVR, the\n"
                  "conversion probability given a click, and a last column ctcvr = pCTR x pCVR follows.",
                  opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 2, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("predict", msg);
    if (!model_path || !data_path) return usage_error("predict", "--model and --data are required");

    mtr_error err = {{0}};
    int rc = 1;
    float *scores = NULL;
    FILE *out = NULL;
    mtr_model *model = mtr_model_load(model_path, &err);
    mtr_dataset *ds = model ? open_data_for_model(mtr_model_schema(model), data_path, 0, &err) : NULL;
    if (!ds) goto fail;
    const mtr_schema *schema = mtr_model_schema(model);
    int T = mtr_schema_task_count(schema);
    mtr_view v = mtr_view_all(ds);
    scores = malloc((v.count + 1) * (size_t)T * sizeof *scores);
    if (!scores) {
        snprintf(err.message, sizeof err.message, "out of memory for %zu rows", v.count);
        goto fail;
    }
    if (mtr_predict(model, &v, scores, threads, &err) != 0) goto fail;
    out = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "w");
    if (!out) {
        snprintf(err.message, sizeof err.message, "%s: %s", out_path, strerror(errno));
        goto fail;
    }
    /* ESMM: the conversion task's column is pCVR (given a click); ctcvr = pCTR x pCVR follows */
    int conv = mtr_model_get_config(model)->conversion_task;
    for (int t = 0; t < T; t++) fprintf(out, t ? ",%s" : "%s", mtr_schema_task_name(schema, t));
    if (conv > 0) fputs(",ctcvr", out);
    fputc('\n', out);
    for (size_t i = 0; i < v.count; i++) {
        const float *row = scores + i * (size_t)T;
        for (int t = 0; t < T; t++) fprintf(out, t ? ",%.9g" : "%.9g", row[t]);
        if (conv > 0) fprintf(out, ",%.9g", row[0] * row[conv]);
        fputc('\n', out);
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err.message, sizeof err.message, "%s: write failed: %s", out_path, strerror(errno));
        goto fail;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank predict: %s\n", err.message);
done:
    if (out && out != stdout) fclose(out);
    free(scores);
    mtr_dataset_free(ds);
    mtr_model_free(model);
    return rc;
}

/* cmd_train.c - `mtrank train`: fit the schema on the training file, train one model with early
 * stopping on validation data, report test metrics, save the model. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/data_prep.h"
#include "cli/progress.h"
#include "cli/report.h"

typedef struct train_args {
    const char *spec;        /* dataset spec file */
    const char *train;       /* training text file */
    const char *valid;       /* validation text file */
    const char *test;        /* test text file */
    float split_test;        /* fraction of the test file used as validation (0 = none) */
    uint64_t split_seed;     /* seed of that split */
    const char *out;         /* model file to write */
    const char *cache;       /* compiled-data cache directory */
    int no_cache;            /* parse text into memory instead */
    uint64_t seed;           /* weights and shuffling */
    int quiet;               /* no progress output */
    int json;                /* JSON summary on stdout */
    const char *task_weights;/* raw --task-weights */
} train_args;

static const char *synopsis = "train --spec FILE --train FILE [--valid FILE | --test FILE --split-test 0.5] "
                              "--out MODEL [options]";

int cmd_train(int argc, char **argv) {
    train_args a = {NULL, NULL, NULL, NULL, 0.0f, 1, NULL, "mtrank-cache", 0, 1, 0, 0, NULL};
    mtr_model_config mc;
    mtr_train_config tc;
    mtr_model_config_default(&mc);
    mtr_train_config_default(&tc);
    cli_option opts[32];
    int n = 0;
    opts[n++] = (cli_option){"spec", CLI_STRING, &a.spec, NULL, 0, 0, "dataset spec file"};
    opts[n++] = (cli_option){"train", CLI_STRING, &a.train, NULL, 0, 0, "training data (text, plain or .gz)"};
    opts[n++] = (cli_option){"valid", CLI_STRING, &a.valid, NULL, 0, 0, "validation data"};
    opts[n++] = (cli_option){"test", CLI_STRING, &a.test, NULL, 0, 0, "test data"};
    opts[n++] = (cli_option){"split-test", CLI_FLOAT, &a.split_test, NULL, 0, 0.99,
                             "use this fraction of the test file as validation data"};
    opts[n++] = (cli_option){"split-seed", CLI_U64, &a.split_seed, NULL, 0, 0, "seed of the test split"};
    opts[n++] = (cli_option){"out", CLI_STRING, &a.out, NULL, 0, 0, "model file to write"};
    opts[n++] = (cli_option){"cache", CLI_STRING, &a.cache, NULL, 0, 0, "directory for compiled data"};
    opts[n++] = (cli_option){"no-cache", CLI_FLAG, &a.no_cache, NULL, 0, 0, "parse text into memory instead"};
    opts[n++] = (cli_option){"seed", CLI_U64, &a.seed, NULL, 0, 0, "random seed (weights, shuffling)"};
    opts[n++] = (cli_option){"quiet", CLI_FLAG, &a.quiet, NULL, 0, 0, "no progress output"};
    opts[n++] = (cli_option){"json", CLI_FLAG, &a.json, NULL, 0, 0, "print the summary as JSON"};
    model_options(opts + n, &mc);
    n += MODEL_OPTION_COUNT;
    train_options(opts + n, &tc, &a.task_weights);
    n += TRAIN_OPTION_COUNT;

    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis, "Trains one model and saves it with its schema.", opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 2, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0) return usage_error("train", msg);
    if (!a.spec || !a.train || !a.out) return usage_error("train", "--spec, --train and --out are required");
    if (a.valid && a.split_test > 0) return usage_error("train", "--valid and --split-test exclude each other");
    if (a.split_test > 0 && !a.test) return usage_error("train", "--split-test needs --test");
    if (strcmp(a.train, "-") == 0)
        return usage_error("train", "--train cannot be - (standard input): the training file is read twice");
    const char *bad_model = mtr_model_config_check(&mc);
    if (bad_model) {
        snprintf(msg, sizeof msg, "--model/--embedding/--experts/--bottom/--towers: %s", bad_model);
        return usage_error("train", msg);
    }

    mtr_error err = {{0}};
    int rc = 1;
    mtr_spec *spec = NULL;
    mtr_schema *schema = NULL;
    mtr_dataset *dtrain = NULL, *dvalid = NULL, *dtest = NULL;
    mtr_model *model = NULL;
    mtr_view vtrain, vvalid = {0}, vtest = {0}, split_a = {0}, split_b = {0};
    const char *cache = a.no_cache ? NULL : a.cache;

    if (!(spec = mtr_spec_load(a.spec, &err))) goto fail;
    if (!(schema = mtr_schema_fit(spec, a.train, &err))) goto fail;
    int T = mtr_schema_task_count(schema);
    if (apply_task_weights(a.task_weights, &tc, T, msg, sizeof msg) != 0) {
        rc = usage_error("train", msg);
        goto done;
    }
    if (tc.main_task >= T) {
        snprintf(msg, sizeof msg, "--main-task: %d is not a task index (%s has %d task%s)", tc.main_task, a.spec,
                 T, T == 1 ? "" : "s");
        rc = usage_error("train", msg);
        goto done;
    }
    tc.seed = a.seed;
    if (!(dtrain = prepare_dataset(schema, a.train, cache, &err))) goto fail;
    vtrain = mtr_view_all(dtrain);
    if (a.valid) {
        if (!(dvalid = prepare_dataset(schema, a.valid, cache, &err))) goto fail;
        vvalid = mtr_view_all(dvalid);
    }
    if (a.test) {
        if (!(dtest = prepare_dataset(schema, a.test, cache, &err))) goto fail;
        vtest = mtr_view_all(dtest);
        if (a.split_test > 0) {
            if (mtr_view_split(dtest, a.split_test, a.split_seed, &split_a, &split_b, &err) != 0) goto fail;
            vvalid = split_a;
            vtest = split_b;
        }
    }
    if (!(model = mtr_model_create(schema, &mc, a.seed, &err))) goto fail;

    progress_state ps;
    progress_init(&ps, schema, a.quiet || a.json, NULL);
    tc.progress = progress_callback;
    tc.progress_user = &ps;
    if (!a.quiet && !a.json)
        fprintf(stderr, "%s: %zu parameters, %zu training rows, %zu validation rows\n",
                mtr_model_kind_name(mc.kind), mtr_model_parameter_count(model), vtrain.count, vvalid.count);
    mtr_train_result res;
    if (mtr_train(model, &vtrain, vvalid.data ? &vvalid : NULL, &tc, &res, &err) != 0) goto fail;
    mtr_task_metrics test_metrics[MTR_MAX_TASKS];
    if (vtest.data && mtr_evaluate(model, &vtest, test_metrics, tc.n_threads, &err) != 0) goto fail;
    if (mtr_model_save(model, a.out, &err) != 0) goto fail;

    if (a.json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "model", json_string(mtr_model_kind_name(mc.kind)));
        json_object_set_new(doc, "parameters", json_integer((json_int_t)mtr_model_parameter_count(model)));
        json_object_set_new(doc, "epochs_run", json_integer(res.epochs_run));
        json_object_set_new(doc, "best_epoch", json_integer(res.best_epoch));
        json_object_set_new(doc, "seconds", json_real(res.seconds));
        if (vvalid.data) json_object_set_new(doc, "valid", report_metrics_json(schema, res.best_valid, T));
        if (vtest.data) json_object_set_new(doc, "test", report_metrics_json(schema, test_metrics, T));
        json_object_set_new(doc, "out", json_string(a.out));
        report_json_print(doc);
        json_decref(doc);
    } else {
        printf("trained %d epochs in %.1fs (best epoch %d), saved %s\n", res.epochs_run, res.seconds,
               res.best_epoch, a.out);
        if (vvalid.data) {
            printf("\nvalidation (best epoch):\n");
            report_metrics_text(stdout, schema, res.best_valid, T);
        }
        if (vtest.data) {
            printf("\ntest:\n");
            report_metrics_text(stdout, schema, test_metrics, T);
        }
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank train: %s\n", err.message);
    rc = 1;
done:
    mtr_model_free(model);
    mtr_view_free_rows(&split_a);
    mtr_view_free_rows(&split_b);
    mtr_dataset_free(dtrain);
    mtr_dataset_free(dvalid);
    mtr_dataset_free(dtest);
    mtr_schema_free(schema);
    mtr_spec_free(spec);
    return rc;
}

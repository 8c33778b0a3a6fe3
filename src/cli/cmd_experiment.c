/* cmd_experiment.c - `mtrank experiment census`: the MMoE paper's census-income experiment (Ma et al.,
 * KDD 2018, section 6.3, Tables 1 and 2). Every model is trained --runs times with different seeds on
 * the training file, early-stopped on a seeded half of the test file and measured on the other half;
 * the table gives, per task, the best and mean test AUC over runs, and the time. Runs are spread over
 * --jobs worker threads (each run single-threaded), so results do not depend on --jobs. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/data_prep.h"
#include "cli/options.h"
#include "cli/report.h"

#define MAX_MODELS 4

typedef struct census_args {
    int group;               /* 1 or 2 */
    int runs;                /* trainings per model */
    const char *models;      /* comma-separated model kinds */
    const char *data_dir;    /* folder with the census files and specs */
    const char *cache;       /* compiled-data cache */
    uint64_t seed;           /* base seed; run r uses a seed derived from it */
    uint64_t split_seed;     /* seed of the validation/test split of the test file */
    int jobs;                /* concurrent runs */
    int json;                /* JSON on stdout */
    int quiet;               /* no progress */
    int embedding;           /* embedding size per field */
    int experts;             /* experts of OMoE/MMoE */
    int expert_units;        /* units per expert */
    int shared_units;        /* shared bottom width */
    int single_units;        /* each single-task network's bottom width */
    int tower_units;         /* tower hidden width */
    int epochs;              /* epochs at most */
    int patience;            /* early-stopping patience */
    int batch;               /* batch size */
    float lr;                /* Adam learning rate */
} census_args;

typedef struct run_result {
    double test_auc[MTR_MAX_TASKS];  /* test AUC per task */
    double valid_auc[MTR_MAX_TASKS]; /* validation AUC per task at the best epoch */
    int epochs;                      /* epochs run */
    double seconds;                  /* wall time of training and testing */
    size_t parameters;               /* model size */
    int failed;                      /* an error happened (message in error) */
    mtr_error error;                 /* what went wrong */
} run_result;

static void model_config_for(const census_args *a, mtr_model_kind kind, mtr_model_config *c) {
    mtr_model_config_default(c);
    c->kind = kind;
    c->embedding_dim = a->embedding;
    c->n_experts = a->experts;
    c->n_bottom_layers = 1;
    c->bottom_layers[0] = kind == MTR_MODEL_SHARED_BOTTOM ? a->shared_units
                          : kind == MTR_MODEL_SINGLE_TASK ? a->single_units
                                                          : a->expert_units;
    c->n_tower_layers = 1;
    c->tower_layers[0] = a->tower_units;
}

static void one_run(const census_args *a, const mtr_schema *schema, mtr_model_kind kind, int run,
                    const mtr_view *train, const mtr_view *valid, const mtr_view *test, run_result *out) {
    double t0 = mtr_seconds_now();
    mtr_model_config mc;
    model_config_for(a, kind, &mc);
    mtr_train_config tc;
    mtr_train_config_default(&tc);
    tc.max_epochs = a->epochs;
    tc.patience = a->patience;
    tc.batch_size = a->batch;
    tc.learning_rate = a->lr;
    tc.n_threads = 1;
    uint64_t seed = a->seed * 1000003ULL + (uint64_t)run;
    tc.seed = seed;
    mtr_model *m = mtr_model_create(schema, &mc, seed, &out->error);
    mtr_train_result res;
    mtr_task_metrics tm[MTR_MAX_TASKS];
    if (!m || mtr_train(m, train, valid, &tc, &res, &out->error) != 0 ||
        mtr_evaluate(m, test, tm, 1, &out->error) != 0) {
        out->failed = 1;
        mtr_model_free(m);
        return;
    }
    int T = mtr_schema_task_count(schema);
    for (int t = 0; t < T; t++) {
        out->test_auc[t] = tm[t].auc;
        out->valid_auc[t] = res.best_valid[t].auc;
    }
    out->epochs = res.epochs_run;
    out->parameters = mtr_model_parameter_count(m);
    out->seconds = mtr_seconds_now() - t0;
    mtr_model_free(m);
}

typedef struct summary {
    double best, mean, std; /* over runs */
} summary;

static summary summarize(const run_result *r, int runs, int task) {
    summary s = {-INFINITY, 0, 0};
    for (int i = 0; i < runs; i++) {
        s.mean += r[i].test_auc[task];
        if (r[i].test_auc[task] > s.best) s.best = r[i].test_auc[task];
    }
    s.mean /= runs;
    for (int i = 0; i < runs; i++) s.std += (r[i].test_auc[task] - s.mean) * (r[i].test_auc[task] - s.mean);
    s.std = runs > 1 ? sqrt(s.std / (runs - 1)) : 0.0;
    return s;
}

static int parse_models(const char *list, mtr_model_kind *kinds, int *n, char *msg, size_t ms) {
    *n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_MODELS || mtr_model_kind_parse(tok, &kinds[*n]) != 0) {
            snprintf(msg, ms, "--models: unknown or too many models in '%s' (single-task, shared-bottom, omoe, mmoe)",
                     list);
            return -1;
        }
        (*n)++;
    }
    if (*n == 0) {
        snprintf(msg, ms, "--models: name at least one model");
        return -1;
    }
    return 0;
}

static int census(int argc, char **argv) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    census_args a = {1, 10, "single-task,shared-bottom,omoe,mmoe", "data/census-income", "mtrank-cache", 1, 1,
                     cpus > 0 ? (int)cpus : 1, 0, 0, 4, 8, 16, 128, 64, 8, 40, 5, 1024, 1e-3f};
    cli_option opts[] = {
        {"group", CLI_INT, &a.group, NULL, 1, 2, "task group: 1 income + never married, 2 education + never married"},
        {"runs", CLI_INT, &a.runs, NULL, 1, 100000, "trainings per model, each with its own seed"},
        {"models", CLI_STRING, &a.models, NULL, 0, 0, "models to compare"},
        {"data-dir", CLI_STRING, &a.data_dir, NULL, 0, 0, "folder with census-income.{data,test}.gz and the specs"},
        {"cache", CLI_STRING, &a.cache, NULL, 0, 0, "directory for compiled data"},
        {"seed", CLI_U64, &a.seed, NULL, 0, 0, "base seed of the runs"},
        {"split-seed", CLI_U64, &a.split_seed, NULL, 0, 0, "seed of the 1:1 validation/test split"},
        {"jobs", CLI_INT, &a.jobs, NULL, 1, 256, "runs trained at once (one thread each)"},
        {"json", CLI_FLAG, &a.json, NULL, 0, 0, "print results as JSON"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, 0, 0, "no progress output"},
        {"embedding", CLI_INT, &a.embedding, NULL, 1, 1024, "embedding size per field"},
        {"experts", CLI_INT, &a.experts, NULL, 1, 256, "experts of omoe and mmoe"},
        {"expert-units", CLI_INT, &a.expert_units, NULL, 1, 65536, "units per expert"},
        {"shared-units", CLI_INT, &a.shared_units, NULL, 1, 65536, "shared-bottom width"},
        {"single-units", CLI_INT, &a.single_units, NULL, 1, 65536, "bottom width of each single-task network"},
        {"tower-units", CLI_INT, &a.tower_units, NULL, 1, 65536, "tower hidden units"},
        {"epochs", CLI_INT, &a.epochs, NULL, 1, 100000, "epochs at most"},
        {"patience", CLI_INT, &a.patience, NULL, 1, 100000, "early-stopping patience (epochs)"},
        {"batch", CLI_INT, &a.batch, NULL, 1, 1 << 20, "batch size"},
        {"lr", CLI_FLOAT, &a.lr, NULL, 1e-9, 100, "Adam learning rate"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "experiment census [--group 1|2] [--runs N] [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "The MMoE paper's census-income experiment (section 6.3): group 1 = income (main) and never\n"
                  "married; group 2 = education at least college (main) and never married. Prints best and\n"
                  "mean test AUC per task over the runs, as in the paper's Tables 1 and 2.",
                  opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("experiment", msg);
    mtr_model_kind kinds[MAX_MODELS];
    int n_models;
    if (parse_models(a.models, kinds, &n_models, msg, sizeof msg) != 0) return usage_error("experiment", msg);

    char spec_path[1024], train_path[1024], test_path[1024];
    snprintf(spec_path, sizeof spec_path, "%s/census-group%d.spec", a.data_dir, a.group);
    snprintf(train_path, sizeof train_path, "%s/census-income.data.gz", a.data_dir);
    snprintf(test_path, sizeof test_path, "%s/census-income.test.gz", a.data_dir);

    mtr_error err = {{0}};
    int rc = 1;
    mtr_spec *spec = NULL;
    mtr_schema *schema = NULL;
    mtr_dataset *dtrain = NULL, *dtest = NULL;
    mtr_view vvalid = {0}, vtest = {0};
    run_result *results = NULL;
    double t_start = mtr_seconds_now();
    if (!(spec = mtr_spec_load(spec_path, &err))) goto fail;
    if (!(schema = mtr_schema_fit(spec, train_path, &err))) goto fail;
    if (!(dtrain = prepare_dataset(schema, train_path, a.cache, &err))) goto fail;
    if (!(dtest = prepare_dataset(schema, test_path, a.cache, &err))) goto fail;
    if (mtr_view_split(dtest, 0.5, a.split_seed, &vvalid, &vtest, &err) != 0) goto fail;
    mtr_view vtrain = mtr_view_all(dtrain);
    double t_data = mtr_seconds_now() - t_start;
    int T = mtr_schema_task_count(schema);

    int n_jobs = n_models * a.runs;
    results = calloc((size_t)n_jobs, sizeof *results);
    if (!results) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto fail;
    }
    int live = !a.quiet && !a.json && isatty(STDERR_FILENO), done_jobs = 0;
    if (!a.quiet && !a.json)
        fprintf(stderr, "census group %d: %zu train, %zu validation, %zu test rows; %d models x %d runs on %d jobs\n",
                a.group, vtrain.count, vvalid.count, vtest.count, n_models, a.runs, a.jobs);
    double t_train = mtr_seconds_now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(a.jobs)
    for (int j = 0; j < n_jobs; j++) {
        int mi = j % n_models, run = j / n_models;
        one_run(&a, schema, kinds[mi], run, &vtrain, &vvalid, &vtest, &results[mi * a.runs + run]);
#pragma omp critical
        {
            done_jobs++;
            if (live) progress_runs(done_jobs, n_jobs, t_train);
        }
    }
    if (live) progress_runs_clear();
    double wall = mtr_seconds_now() - t_start;
    for (int j = 0; j < n_jobs; j++)
        if (results[j].failed) {
            err = results[j].error;
            goto fail;
        }

    if (a.json) {
        json_t *doc = json_object(), *models = json_array();
        json_object_set_new(doc, "experiment", json_string("census"));
        json_object_set_new(doc, "group", json_integer(a.group));
        json_object_set_new(doc, "runs", json_integer(a.runs));
        json_object_set_new(doc, "train_rows", json_integer((json_int_t)vtrain.count));
        json_object_set_new(doc, "valid_rows", json_integer((json_int_t)vvalid.count));
        json_object_set_new(doc, "test_rows", json_integer((json_int_t)vtest.count));
        for (int mi = 0; mi < n_models; mi++) {
            const run_result *r = &results[mi * a.runs];
            json_t *jm = json_object(), *tasks = json_object();
            json_object_set_new(jm, "model", json_string(mtr_model_kind_name(kinds[mi])));
            json_object_set_new(jm, "parameters", json_integer((json_int_t)r[0].parameters));
            for (int t = 0; t < T; t++) {
                summary s = summarize(r, a.runs, t);
                json_t *jt = json_object(), *vals = json_array();
                json_object_set_new(jt, "best_auc", report_json_number(s.best));
                json_object_set_new(jt, "mean_auc", report_json_number(s.mean));
                json_object_set_new(jt, "std_auc", report_json_number(s.std));
                for (int i = 0; i < a.runs; i++) json_array_append_new(vals, report_json_number(r[i].test_auc[t]));
                json_object_set_new(jt, "test_auc", vals);
                json_object_set_new(tasks, mtr_schema_task_name(schema, t), jt);
            }
            json_object_set_new(jm, "tasks", tasks);
            double secs = 0, epochs = 0;
            for (int i = 0; i < a.runs; i++) secs += r[i].seconds, epochs += r[i].epochs;
            json_object_set_new(jm, "mean_seconds_per_run", json_real(secs / a.runs));
            json_object_set_new(jm, "mean_epochs", json_real(epochs / a.runs));
            json_array_append_new(models, jm);
        }
        json_object_set_new(doc, "models", models);
        json_object_set_new(doc, "data_seconds", json_real(t_data));
        json_object_set_new(doc, "wall_seconds", json_real(wall));
        report_json_print(doc);
        json_decref(doc);
    } else {
        printf("Census-income group %d, %d run%s per model: test AUC over runs (test = %zu rows, validation = %zu)\n\n",
               a.group, a.runs, a.runs == 1 ? "" : "s", vtest.count, vvalid.count);
        printf("%-14s", "");
        for (int t = 0; t < T; t++) printf(" | %-26.26s", mtr_schema_task_name(schema, t));
        printf(" |\n%-14s", "model");
        for (int t = 0; t < T; t++) printf(" | %8s %8s %8s", "best", "mean", "std");
        printf(" | %8s %6s %8s\n", "params", "epochs", "s/run");
        for (int mi = 0; mi < n_models; mi++) {
            const run_result *r = &results[mi * a.runs];
            printf("%-14s", mtr_model_kind_name(kinds[mi]));
            for (int t = 0; t < T; t++) {
                summary s = summarize(r, a.runs, t);
                printf(" | %8.4f %8.4f %8.4f", s.best, s.mean, s.std);
            }
            double secs = 0, epochs = 0;
            for (int i = 0; i < a.runs; i++) secs += r[i].seconds, epochs += r[i].epochs;
            printf(" | %8zu %6.1f %8.1f\n", r[0].parameters, epochs / a.runs, secs / a.runs);
        }
        printf("\nwall time %.1fs (data %.1fs), %d jobs\n", wall, t_data, a.jobs);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank experiment census: %s\n", err.message);
done:
    free(results);
    mtr_view_free_rows(&vvalid);
    mtr_view_free_rows(&vtest);
    mtr_dataset_free(dtrain);
    mtr_dataset_free(dtest);
    mtr_schema_free(schema);
    mtr_spec_free(spec);
    return rc;
}

int cmd_experiment(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        fprintf(argc < 3 ? stderr : stdout, /* no experiment named is a usage error */
                "usage: mtrank experiment <name> [options]\n\nexperiments:\n"
                "  census     MMoE paper, census-income Tables 1 and 2 (mtrank experiment census --help)\n"
                "  synthetic  MMoE paper, task relatedness, Figures 2, 4, 5 (mtrank experiment synthetic --help)\n"
                "  esmm       ESMM paper, post-click conversion estimators on simulated impressions\n"
                "  multiobjective  issue 5: fusion, rules, BPR, LambdaMART and MMoE on simulated sessions\n");
        return argc < 3 ? 2 : 0;
    }
    if (strcmp(argv[2], "census") == 0) return census(argc, argv);
    if (strcmp(argv[2], "synthetic") == 0) return experiment_synthetic(argc, argv);
    if (strcmp(argv[2], "esmm") == 0) return cmd_experiment_esmm(argc, argv);
    if (strcmp(argv[2], "multiobjective") == 0) return cmd_experiment_multiobjective(argc, argv);
    fprintf(stderr, "mtrank experiment: unknown experiment '%s' (census, synthetic, esmm, multiobjective)\n", argv[2]);
    return 2;
}

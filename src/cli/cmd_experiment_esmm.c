/* cmd_experiment_esmm.c - `mtrank experiment esmm`: the ESMM paper's comparison (Ma et al., SIGIR 2018,
 * Table 2) on simulated impressions whose truth is known. Data come from the impression simulator (train
 * and test are two streams of one world); each run trains one shared CTR network and then every
 * estimator with its own seeds; the table gives, per method, CVR AUC on clicked test impressions (the
 * paper's definition), CTCVR AUC on all of them, and CVR AUC over the entire impression space against
 * the counterfactual conversions, as mean and standard deviation over runs. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/data_prep.h"
#include "cli/options.h"
#include "cli/report.h"

typedef struct esmm_args {
    int runs;                 /* runs per method */
    const char *methods;      /* comma-separated method names */
    uint64_t rows;            /* training impressions */
    uint64_t test_rows;       /* test impressions */
    uint64_t data_seed;       /* the simulated world */
    float overlap;            /* click/conversion factor overlap */
    float ctr, cvr;           /* simulator targets */
    int users, items;         /* simulated world size */
    uint64_t seed;            /* base seed of the runs */
    int jobs;                 /* trainings at once */
    int epochs;               /* passes over the training data at most */
    int patience;             /* early stopping on a held-out 10 % of each network's sample */
    const char *stop;         /* its metric: "loss" or "auc" */
    int batch;                /* batch size */
    float lr;                 /* Adam learning rate */
    int embedding;            /* embedding per field */
    int tower_layers[MTR_MAX_LAYERS]; /* tower widths */
    int n_tower_layers;       /* their count */
    const char *cache;        /* generated and compiled data */
    int json, quiet;          /* output */
} esmm_args;

typedef struct method_result {
    mtr_conversion_metrics m; /* on the test impressions */
    double ctcvr_auc_true_pctr; /* CTCVR AUC of true pCTR x this pCVR: the pCVR's worth where clicks are */
    double ctcvr_auc_shared_ctr; /* the paper's CTCVR protocol: the run's shared CTR network's pCTR x this pCVR */
    size_t rows;              /* rows the CVR/CTCVR network trained on */
    size_t params;            /* parameters (CTR network included where used) */
    double seconds;           /* training time of the method (the shared CTR network not included) */
    int failed;               /* error in `error` */
    mtr_error error;          /* what went wrong */
} method_result;

typedef struct test_truth {
    float *click, *purchase;  /* labels of the test view */
    float *cf, *true_pcvr;    /* counterfactual conversion and true pCVR */
    float *true_pctr;         /* true click probability */
} test_truth;

/* Generate one stream of the world into the cache (once: the name carries every setting). */
static int simulate(const esmm_args *a, uint64_t stream, uint64_t rows, char *csv, size_t cap, char *spec,
                    mtr_error *err) {
    mtr_ccp_config c;
    mtr_ccp_config_default(&c);
    c.rows = rows;
    c.seed = a->data_seed;
    c.stream = stream;
    c.overlap = a->overlap;
    c.ctr = a->ctr;
    c.cvr = a->cvr;
    c.n_users = a->users;
    c.n_items = a->items;
    snprintf(csv, cap, "%s/ccp-r%llu-s%llu-st%llu-o%g-c%g-v%g-u%d-i%d.csv", a->cache, (unsigned long long)rows,
             (unsigned long long)c.seed, (unsigned long long)stream, c.overlap, c.ctr, c.cvr,
             c.n_users, c.n_items);
    snprintf(spec, cap, "%.*s.spec", (int)(strlen(csv) - 4), csv);
    if (access(csv, R_OK) == 0 && access(spec, R_OK) == 0) return 0;
    if (mkdir_cache(a->cache, err) != 0) return -1;
    return mtr_gen_ccp_write(&c, csv, spec, NULL, err);
}

static void cvr_config(const esmm_args *a, mtr_cvr_method method, uint64_t seed, mtr_cvr_config *c) {
    mtr_cvr_config_default(c, method);
    c->model.embedding_dim = a->embedding;
    c->model.n_tower_layers = a->n_tower_layers;
    memcpy(c->model.tower_layers, a->tower_layers, sizeof c->model.tower_layers);
    c->seed = seed;
}

static void train_config(const esmm_args *a, mtr_train_config *t) {
    mtr_train_config_default(t);
    t->max_epochs = a->epochs;
    t->patience = a->patience;
    t->stop_on_loss = strcmp(a->stop, "auc") != 0;
    t->batch_size = a->batch;
    t->learning_rate = a->lr;
    t->n_threads = 1;
}

static int parse_methods(const char *list, mtr_cvr_method *out, int *n, char *msg, size_t ms) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MTR_CVR_METHODS || mtr_cvr_method_parse(tok, &out[*n]) != 0) {
            snprintf(msg, ms, "--methods: unknown method '%s' (base, aman, oversampling, unbias, division, esmm-ns, esmm)",
                     tok);
            return -1;
        }
        (*n)++;
    }
    if (*n == 0) {
        snprintf(msg, ms, "--methods: name at least one method");
        return -1;
    }
    return 0;
}

typedef struct stat3 {
    double mean, std, n; /* over runs */
} stat3;

static stat3 stats(const method_result *r, int runs, double (*get)(const method_result *)) {
    stat3 s = {0, 0, runs};
    for (int i = 0; i < runs; i++) s.mean += get(&r[i]);
    s.mean /= runs;
    for (int i = 0; i < runs; i++) s.std += (get(&r[i]) - s.mean) * (get(&r[i]) - s.mean);
    s.std = runs > 1 ? sqrt(s.std / (runs - 1)) : 0.0;
    return s;
}

static double get_cvr(const method_result *r) { return r->m.cvr_auc; }
static double get_ctcvr(const method_result *r) { return r->m.ctcvr_auc; }
static double get_entire(const method_result *r) { return r->m.cvr_auc_entire; }
static double get_ctr(const method_result *r) { return r->m.ctr_auc; }
static double get_pcvr_all(const method_result *r) { return r->m.mean_pcvr_all; }
static double get_ctcvr_true_pctr(const method_result *r) { return r->ctcvr_auc_true_pctr; }
static double get_ctcvr_shared_ctr(const method_result *r) { return r->ctcvr_auc_shared_ctr; }

/* CTCVR AUC of another pCTR x a method's pCVR, over all test impressions; `scratch` holds n floats. */
static double recombined_ctcvr_auc(const float *pctr, const float *pcvr, const float *purchase, size_t n,
                                   float *scratch) {
    for (size_t i = 0; i < n; i++) scratch[i] = pctr[i] * pcvr[i];
    return mtr_auc(scratch, purchase, n, 1);
}

/* pCTR of the run's shared CTR network on the test view, into out[0 .. n_test). */
static int predict_ctr(const mtr_model *ctr, const mtr_view *test, float *out, mtr_error *err) {
    int T = mtr_schema_task_count(mtr_model_schema(ctr));
    float *all = malloc((test->count + 1) * (size_t)T * sizeof *all);
    if (!all) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    int rc = mtr_predict(ctr, test, all, 1, err);
    for (size_t i = 0; rc == 0 && i < test->count; i++) out[i] = all[i * T];
    free(all);
    return rc;
}

int cmd_experiment_esmm(int argc, char **argv) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    esmm_args a = {5, "base,aman,oversampling,unbias,division,esmm-ns,esmm", 2000000, 500000, 1, 0.5f, 0.04f,
                   0.01f, 0, 0, 1, cpus > 0 ? (int)cpus : 1, 10, 1, "loss", 1024, 1e-3f, 18, {360, 200, 80}, 3, "mtrank-cache", 0, 0};
    mtr_ccp_config world;
    mtr_ccp_config_default(&world);
    a.users = world.n_users;
    a.items = world.n_items;
    cli_option opts[] = {
        {"runs", CLI_INT, &a.runs, NULL, 1, 1000, "runs per method, each with its own seeds"},
        {"methods", CLI_STRING, &a.methods, NULL, 0, 0, "estimators to compare"},
        {"rows", CLI_U64, &a.rows, NULL, 0, 0, "simulated training impressions"},
        {"test-rows", CLI_U64, &a.test_rows, NULL, 0, 0, "simulated test impressions"},
        {"data-seed", CLI_U64, &a.data_seed, NULL, 0, 0, "seed of the simulated world"},
        {"overlap", CLI_FLOAT, &a.overlap, NULL, 0, 1, "share of latent factors click and conversion have in common"},
        {"ctr", CLI_FLOAT, &a.ctr, NULL, 1e-4, 0.9, "simulated mean click rate"},
        {"cvr", CLI_FLOAT, &a.cvr, NULL, 1e-4, 0.9, "simulated mean conversion rate after a click"},
        {"users", CLI_INT, &a.users, NULL, 1, 1 << 30, "simulated users"},
        {"items", CLI_INT, &a.items, NULL, 1, 1 << 30, "simulated items"},
        {"seed", CLI_U64, &a.seed, NULL, 0, 0, "base seed of the runs"},
        {"jobs", CLI_INT, &a.jobs, NULL, 1, 256, "trainings at once (one thread each)"},
        {"epochs", CLI_INT, &a.epochs, NULL, 1, 1000, "passes over each network's sample at most"},
        {"patience", CLI_INT, &a.patience, NULL, 1, 1000, "epochs without a better held-out metric before stopping"},
        {"stop", CLI_STRING, &a.stop, NULL, 0, 0,
         "early-stopping metric on the held-out rows: loss (log loss) or auc (of the main task)"},
        {"batch", CLI_INT, &a.batch, NULL, 1, 1 << 20, "batch size"},
        {"lr", CLI_FLOAT, &a.lr, NULL, 1e-9, 100, "Adam learning rate"},
        {"embedding", CLI_INT, &a.embedding, NULL, 1, 1024, "embedding size per field"},
        {"towers", CLI_LAYERS, a.tower_layers, &a.n_tower_layers, 0, 0, "tower hidden layers (paper: 360,200,80)"},
        {"cache", CLI_STRING, &a.cache, NULL, 0, 0, "directory for simulated and compiled data"},
        {"json", CLI_FLAG, &a.json, NULL, 0, 0, "print results as JSON"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, 0, 0, "no progress output"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "experiment esmm [--runs N] [--rows N] [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "The ESMM paper's comparison of post-click conversion estimators on simulated impressions:\n"
                  "CVR AUC on clicked impressions, CTCVR AUC on all, and CVR AUC over the entire space against\n"
                  "the counterfactual conversions the simulator records (mean and std over runs).",
                  opts, n_opts);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n_opts, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("experiment", msg);
    mtr_cvr_method methods[MTR_CVR_METHODS];
    int n_methods;
    if (parse_methods(a.methods, methods, &n_methods, msg, sizeof msg) != 0) return usage_error("experiment", msg);
    if (strcmp(a.stop, "loss") != 0 && strcmp(a.stop, "auc") != 0)
        return usage_error("experiment", "--stop: loss or auc");
    if (a.rows < 1000 || a.test_rows < 1000) return usage_error("experiment", "--rows and --test-rows: at least 1000");

    mtr_error err = {{0}};
    int rc = 1;
    char train_csv[1024], train_spec[1100], test_csv[1024], test_spec[1100];
    mtr_spec *spec = NULL;
    mtr_schema *schema = NULL;
    mtr_dataset *dtrain = NULL, *dtest = NULL;
    method_result *results = NULL;
    mtr_model **ctr = NULL;
    float *ctr_test = NULL; /* per run, the shared CTR network's pCTR on the test impressions */
    test_truth truth = {0};
    double t0 = mtr_seconds_now();
    int live = !a.quiet && !a.json && isatty(STDERR_FILENO);
    if (!a.quiet && !a.json) fprintf(stderr, "simulating %llu + %llu impressions (cached in %s)...\n",
                                     (unsigned long long)a.rows, (unsigned long long)a.test_rows, a.cache);
    if (simulate(&a, 0, a.rows, train_csv, sizeof train_csv, train_spec, &err) != 0) goto fail;
    if (simulate(&a, 1, a.test_rows, test_csv, sizeof test_csv, test_spec, &err) != 0) goto fail;
    if (!(spec = mtr_spec_load(train_spec, &err))) goto fail;
    if (!(schema = mtr_schema_fit(spec, train_csv, &err))) goto fail;
    if (!(dtrain = prepare_dataset(schema, train_csv, a.cache, &err))) goto fail;
    if (!(dtest = prepare_dataset(schema, test_csv, a.cache, &err))) goto fail;
    double t_data = mtr_seconds_now() - t0;
    mtr_view vtrain = mtr_view_all(dtrain), vtest = mtr_view_all(dtest);
    size_t n_test = vtest.count;
    int i_cf = -1, i_pcvr = -1, i_pctr = -1;
    for (int i = 0; i < mtr_schema_aux_count(schema); i++) {
        if (strcmp(mtr_schema_aux_name(schema, i), "cf_purchase") == 0) i_cf = i;
        if (strcmp(mtr_schema_aux_name(schema, i), "true_pcvr") == 0) i_pcvr = i;
        if (strcmp(mtr_schema_aux_name(schema, i), "true_pctr") == 0) i_pctr = i;
    }
    truth.click = malloc(n_test * sizeof(float));
    truth.purchase = malloc(n_test * sizeof(float));
    truth.cf = malloc(n_test * sizeof(float));
    truth.true_pcvr = malloc(n_test * sizeof(float));
    truth.true_pctr = malloc(n_test * sizeof(float));
    results = calloc((size_t)n_methods * a.runs, sizeof *results);
    ctr = calloc((size_t)a.runs, sizeof *ctr);
    ctr_test = malloc((size_t)a.runs * n_test * sizeof *ctr_test);
    int no_aux = i_cf < 0 || i_pcvr < 0 || i_pctr < 0;
    if (!truth.click || !truth.purchase || !truth.cf || !truth.true_pcvr || !truth.true_pctr || !results || !ctr ||
        !ctr_test || no_aux) {
        snprintf(err.message, sizeof err.message, "%s",
                 no_aux ? "the simulated data lacks its aux columns" : "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n_test; i++) {
        truth.click[i] = mtr_dataset_label(dtest, i, 0);
        truth.purchase[i] = mtr_dataset_label(dtest, i, 1);
        truth.cf[i] = mtr_dataset_aux(dtest, i, i_cf);
        truth.true_pcvr[i] = mtr_dataset_aux(dtest, i, i_pcvr);
        truth.true_pctr[i] = mtr_dataset_aux(dtest, i, i_pctr);
    }
    mtr_train_config tc;
    train_config(&a, &tc);

    /* phase 1: one CTR network per run, shared by the methods that pair a CVR network with it, and by every
     * method for the paper's CTCVR protocol (pCTR of one independently trained CTR network x each pCVR) */
    int failed = 0, done = 0, total = n_methods * a.runs + a.runs;
#pragma omp parallel for schedule(dynamic, 1) num_threads(a.jobs)
    for (int r = 0; r < a.runs; r++) {
        mtr_cvr_config c;
        mtr_error e;
        cvr_config(&a, MTR_CVR_BASE, a.seed * 1000003ULL + (uint64_t)r, &c);
        ctr[r] = mtr_cvr_train_ctr(schema, &c, &vtrain, &tc, &e);
        int ok = ctr[r] && predict_ctr(ctr[r], &vtest, ctr_test + (size_t)r * n_test, &e) == 0;
#pragma omp critical
        {
            if (!ok && !failed) failed = 1, err = e;
            done++;
            if (live) fprintf(stderr, "\r%d/%d trainings done, %.0fs   ", done, total, mtr_seconds_now() - t0);
        }
    }
    if (failed) goto fail;
    /* phase 2: every (run, method) */
#pragma omp parallel for schedule(dynamic, 1) num_threads(a.jobs)
    for (int j = 0; j < n_methods * a.runs; j++) {
        int mi = j % n_methods, r = j / n_methods;
        method_result *out = &results[mi * a.runs + r];
        double ts = mtr_seconds_now();
        mtr_cvr_config c;
        cvr_config(&a, methods[mi], a.seed * 1000003ULL + (uint64_t)r, &c);
        mtr_cvr_model *m = mtr_cvr_train(schema, &c, &vtrain, &tc, ctr[r], &out->error);
        float *p = m ? malloc(4 * n_test * sizeof *p) : NULL;
        if (!m || !p || mtr_cvr_predict(m, &vtest, p, p + n_test, p + 2 * n_test, 1, &out->error) != 0) {
            out->failed = 1;
        } else {
            out->seconds = mtr_seconds_now() - ts;
            out->rows = mtr_cvr_training_rows(m);
            out->params = mtr_cvr_parameter_count(m);
            mtr_conversion_metrics_compute(p, 1, p + n_test, 1, truth.click, truth.purchase, 1, truth.cf,
                                           truth.true_pcvr, 1, n_test, &out->m);
            const float *pcvr = p + n_test;
            float *scratch = p + 3 * n_test;
            out->ctcvr_auc_true_pctr = recombined_ctcvr_auc(truth.true_pctr, pcvr, truth.purchase, n_test, scratch);
            out->ctcvr_auc_shared_ctr =
                recombined_ctcvr_auc(ctr_test + (size_t)r * n_test, pcvr, truth.purchase, n_test, scratch);
        }
        free(p);
        mtr_cvr_free(m);
#pragma omp critical
        {
            done++;
            if (live) fprintf(stderr, "\r%d/%d trainings done, %.0fs   ", done, total, mtr_seconds_now() - t0);
        }
    }
    if (live) fprintf(stderr, "\r%60s\r", "");
    for (int j = 0; j < n_methods * a.runs; j++)
        if (results[j].failed) {
            err = results[j].error;
            goto fail;
        }
    double wall = mtr_seconds_now() - t0;
    const method_result *base = NULL, *esmm = NULL;
    for (int mi = 0; mi < n_methods; mi++) {
        if (methods[mi] == MTR_CVR_BASE) base = &results[mi * a.runs];
        if (methods[mi] == MTR_CVR_ESMM) esmm = &results[mi * a.runs];
    }
    const mtr_conversion_metrics *m0 = &results[0].m;
    if (a.json) {
        json_t *doc = json_object(), *arr = json_array();
        json_object_set_new(doc, "experiment", json_string("esmm"));
        json_object_set_new(doc, "runs", json_integer(a.runs));
        json_object_set_new(doc, "train_rows", json_integer((json_int_t)vtrain.count));
        json_object_set_new(doc, "test_rows", json_integer((json_int_t)n_test));
        json_object_set_new(doc, "test_clicks", json_integer((json_int_t)m0->clicks));
        json_object_set_new(doc, "test_purchases", json_integer((json_int_t)m0->purchases));
        json_object_set_new(doc, "overlap", json_real(a.overlap));
        json_object_set_new(doc, "patience", json_integer(a.patience));
        json_object_set_new(doc, "stop", json_string(a.stop));
        for (int mi = 0; mi < n_methods; mi++) {
            const method_result *r = &results[mi * a.runs];
            json_t *jm = json_object();
            json_object_set_new(jm, "method", json_string(mtr_cvr_method_name(methods[mi])));
            struct {
                const char *name;
                double (*get)(const method_result *);
            } cols[] = {{"ctr_auc", get_ctr},
                        {"cvr_auc_clicked", get_cvr},
                        {"ctcvr_auc", get_ctcvr},
                        {"cvr_auc_entire_space", get_entire},
                        {"ctcvr_auc_true_pctr", get_ctcvr_true_pctr},
                        {"ctcvr_auc_shared_ctr", get_ctcvr_shared_ctr},
                        {"mean_pcvr_all", get_pcvr_all}};
            for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
                stat3 s = stats(r, a.runs, cols[k].get);
                json_t *v = json_object(), *vals = json_array();
                json_object_set_new(v, "mean", report_json_number(s.mean));
                json_object_set_new(v, "std", report_json_number(s.std));
                for (int i = 0; i < a.runs; i++) json_array_append_new(vals, report_json_number(cols[k].get(&r[i])));
                json_object_set_new(v, "runs", vals);
                json_object_set_new(jm, cols[k].name, v);
            }
            json_object_set_new(jm, "mean_true_pcvr_all", report_json_number(r[0].m.mean_true_pcvr));
            json_object_set_new(jm, "training_rows", json_integer((json_int_t)r[0].rows));
            json_object_set_new(jm, "parameters", json_integer((json_int_t)r[0].params));
            double secs = 0;
            for (int i = 0; i < a.runs; i++) secs += r[i].seconds;
            json_object_set_new(jm, "mean_seconds", json_real(secs / a.runs));
            json_array_append_new(arr, jm);
        }
        json_object_set_new(doc, "methods", arr);
        json_object_set_new(doc, "data_seconds", json_real(t_data));
        json_object_set_new(doc, "wall_seconds", json_real(wall));
        report_json_print(doc);
        json_decref(doc);
    } else {
        printf("ESMM comparison on simulated impressions: %zu train, %zu test (%zu clicks, %zu purchases), "
               "overlap %.2f, %d run%s; early stopping on held-out %s, patience %d\n\n",
               vtrain.count, n_test, m0->clicks, m0->purchases, a.overlap, a.runs, a.runs == 1 ? "" : "s",
               strcmp(a.stop, "auc") == 0 ? "AUC" : "log loss", a.patience);
        printf("%-13s | %-17s | %-17s | %-17s | %-17s | %-17s | %-17s | %9s %10s %7s\n", "method",
               "CVR AUC (clicked)", "CTCVR AUC (all)", "CTCVR, shared CTR", "CVR AUC (entire)", "CTCVR, true pCTR",
               "CTR AUC (all)", "mean pCVR", "train rows", "s/run");
        for (int mi = 0; mi < n_methods; mi++) {
            const method_result *r = &results[mi * a.runs];
            stat3 c1 = stats(r, a.runs, get_cvr), c2 = stats(r, a.runs, get_ctcvr), c3 = stats(r, a.runs, get_entire),
                  c4 = stats(r, a.runs, get_ctr), c5 = stats(r, a.runs, get_pcvr_all),
                  c6 = stats(r, a.runs, get_ctcvr_true_pctr), c7 = stats(r, a.runs, get_ctcvr_shared_ctr);
            double secs = 0;
            for (int i = 0; i < a.runs; i++) secs += r[i].seconds;
            printf("%-13s | %.4f +- %.4f  | %.4f +- %.4f  | %.4f +- %.4f  | %.4f +- %.4f  | %.4f +- %.4f  | "
                   "%.4f +- %.4f  | %9.5f %10zu %7.1f\n",
                   mtr_cvr_method_name(methods[mi]), c1.mean, c1.std, c2.mean, c2.std, c7.mean, c7.std, c3.mean,
                   c3.std, c6.mean, c6.std, c4.mean, c4.std, c5.mean, r[0].rows, secs / a.runs);
        }
        printf("\n\"CTCVR AUC (all)\": the method's own pCTCVR; \"CTCVR, shared CTR\": the paper's protocol, the pCTR of "
               "one independently\ntrained CTR network (per run, the same for every method) x the method's pCVR; "
               "\"CTCVR, true pCTR\": the\nsimulator's true pCTR x the method's pCVR (how well its pCVR ranks where "
               "clicks happen)\n");
        printf("mean true pCVR over all test impressions: %.5f; over clicked: CVR %.5f\n", m0->mean_true_pcvr,
               m0->cvr_clicked);
        if (base && esmm) {
            stat3 be = stats(base, a.runs, get_entire), ee = stats(esmm, a.runs, get_entire);
            stat3 bc = stats(base, a.runs, get_ctcvr), ec = stats(esmm, a.runs, get_ctcvr);
            stat3 bs = stats(base, a.runs, get_ctcvr_shared_ctr), es = stats(esmm, a.runs, get_ctcvr_shared_ctr);
            double se = fmax(be.std, ee.std), sc = fmax(bc.std, ec.std), ss = fmax(bs.std, es.std);
            printf("ESMM - BASE: entire-space CVR AUC %+.4f (%.1f x the larger std), CTCVR AUC %+.4f (%.1f x), "
                   "CTCVR with the shared CTR %+.4f (%.1f x)\n",
                   ee.mean - be.mean, se > 0 ? (ee.mean - be.mean) / se : INFINITY, ec.mean - bc.mean,
                   sc > 0 ? (ec.mean - bc.mean) / sc : INFINITY, es.mean - bs.mean,
                   ss > 0 ? (es.mean - bs.mean) / ss : INFINITY);
        }
        printf("wall time %.1fs (data %.1fs), %d jobs\n", wall, t_data, a.jobs);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank experiment esmm: %s\n", err.message);
done:
    if (ctr)
        for (int r = 0; r < a.runs; r++) mtr_model_free(ctr[r]);
    free(ctr);
    free(ctr_test);
    free(results);
    free(truth.click);
    free(truth.purchase);
    free(truth.cf);
    free(truth.true_pcvr);
    free(truth.true_pctr);
    mtr_dataset_free(dtrain);
    mtr_dataset_free(dtest);
    mtr_schema_free(schema);
    mtr_spec_free(spec);
    return rc;
}

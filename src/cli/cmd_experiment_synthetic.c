/* cmd_experiment_synthetic.c - `mtrank experiment synthetic`: the MMoE paper's study of task relatedness
 * on synthetic data (Ma et al., KDD 2018, section 3.2 and Figures 2, 4 and 5).
 *
 * For every correlation P and run r, a fresh problem and fresh data are generated (seed derived from
 * --seed and r), and Shared-Bottom, OMoE and MMoE are trained on it with Adam and squared error on both
 * tasks. Recorded per run: the training loss every --step-interval steps (Figure 4: mean curves), the
 * final loss (Figure 5: histograms) and the Pearson correlation of the two labels (Figure 2). The report
 * folder gets a README.md with the tables, SVG plots and the raw numbers as CSV.
 *
 * Design choices, and why:
 *  - Paired runs: run r uses the same data seed for every P and every model, so P changes only the
 *    direction of w2 (u1, u2, alpha, beta and the inputs stay) and the models see identical data. The
 *    comparisons between models and between correlations then measure the models, not the draw.
 *  - The loss is the trainer's objective: MSE(y1) + MSE(y2) (task weights 1). Curves are the mean
 *    minibatch loss of each interval; the "final loss" is that objective evaluated after training on the
 *    whole training set (the paper's final training loss, not a noisy last batch); the held-out loss is
 *    the same on --test-rows fresh rows of the same problem.
 *  - Defaults (100000 training rows, batch 128, 2 epochs = 1563 Adam steps, lr 0.003): each row is seen
 *    twice, so training and held-out losses agree and the curves show trainability rather than
 *    overfitting; lr 0.003 trains all models to near the noise floor in the budget (0.001 leaves them
 *    far from it, 0.01 adds step noise). The full default (200 runs x 3 P x 3 models) takes 10 to 15
 *    minutes on two cores. docs/synthetic-study.md has the measurements behind these choices.
 *  - Runs are spread over --jobs threads (dynamic schedule), each run single-threaded, and every number
 *    is reduced in a fixed order afterwards, so results do not depend on --jobs. */
#include <assert.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/options.h"
#include "cli/report.h"
#include "report/csv_writer.h"
#include "report/svg_plot.h"
#include "util/parse_number.h"
#include "util/rng.h"

#define N_MODELS 3
#define MAX_CORRS 16
#define GRID_POINTS 11   /* Figure 2: P = 0, 0.1, ..., 1 */
#define GRID_SEEDS 40    /* problems per grid point: the problems differ more than samples do */
#define GRID_ROWS 2000   /* rows per problem: sampling error of a correlation about 0.02 */
#define CLOSE_RELATIVE 0.05 /* "close": means within 5% of each other */

static const mtr_model_kind kinds[N_MODELS] = {MTR_MODEL_SHARED_BOTTOM, MTR_MODEL_OMOE, MTR_MODEL_MMOE};
static const char *const model_labels[N_MODELS] = {"Shared-Bottom", "OMoE", "MMoE"};

typedef struct synth_args {
    const char *corr_list;     /* comma-separated correlations P */
    int runs;                  /* runs per correlation (each trains every model) */
    uint64_t seed;             /* base seed; run r's data and models derive from it */
    int jobs;                  /* runs at once, one thread each */
    int json;                  /* summary as JSON on stdout */
    int quiet;                 /* no progress */
    const char *report;        /* report folder, or "none" */
    mtr_synthetic_config data; /* generator settings; correlation and seed are set per run */
    int rows;                  /* training rows per run */
    int test_rows;             /* held-out rows per run */
    int experts;               /* experts of OMoE and MMoE */
    int expert_units;          /* units per expert */
    int shared_units;          /* Shared-Bottom's bottom width */
    int tower_units;           /* tower hidden units */
    int epochs;                /* passes over the training rows */
    int batch;                 /* rows per step */
    float lr;                  /* Adam learning rate */
    int step_interval;         /* steps per loss-curve point */
    int bins;                  /* histogram bins */
} synth_args;

typedef struct model_run {
    double train_loss;    /* MSE(y1) + MSE(y2) on the whole training set after training */
    double test_loss;     /* the same on the held-out rows */
    double train_mse[2];  /* per task */
    double test_mse[2];   /* per task */
    double seconds;       /* training wall time */
    size_t parameters;    /* model size */
} model_run;

typedef struct run_result {
    uint64_t data_seed;          /* seed of this run's problem and data */
    double label_corr;           /* Pearson correlation of y1 and y2 in the training rows */
    model_run model[N_MODELS];   /* per model */
    int failed;                  /* an error happened (message in error) */
    mtr_error error;             /* what went wrong */
} run_result;

typedef struct stats {
    double mean, std, min, max; /* std with n - 1 */
} stats;

/* Where a run's loss curve goes: the trainer's on_step writes point n. */
typedef struct curve_sink {
    double *values; /* cap points */
    int n;          /* points written */
    int cap;        /* points expected */
} curve_sink;

static void on_step(long step, double mean_loss, void *user) {
    curve_sink *c = user;
    (void)step;
    if (c->n < c->cap) c->values[c->n++] = mean_loss;
}

static stats stats_of(const double *v, size_t n, size_t stride) {
    stats s = {0, 0, INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride];
        s.mean += x;
        s.min = fmin(s.min, x);
        s.max = fmax(s.max, x);
    }
    s.mean /= (double)n;
    for (size_t i = 0; i < n; i++) s.std += (v[i * stride] - s.mean) * (v[i * stride] - s.mean);
    s.std = n > 1 ? sqrt(s.std / (double)(n - 1)) : 0.0;
    return s;
}

static uint64_t run_data_seed(const synth_args *a, int run) { return mtr_seed_mix(a->seed, (uint64_t)run); }

static long total_steps(const synth_args *a) {
    return (long)a->epochs * (((long)a->rows + a->batch - 1) / a->batch);
}

static void model_config_for(const synth_args *a, mtr_model_kind kind, mtr_model_config *c) {
    mtr_model_config_default(c);
    c->kind = kind;
    c->n_experts = a->experts;
    c->n_bottom_layers = 1;
    c->bottom_layers[0] = kind == MTR_MODEL_SHARED_BOTTOM ? a->shared_units : a->expert_units;
    c->n_tower_layers = 1;
    c->tower_layers[0] = a->tower_units;
}

/* One run: generate, then train and measure every model. curves gets N_MODELS x n_points values. */
static void one_run(const synth_args *a, double P, int run, int n_points, run_result *out, double *curves) {
    mtr_synthetic_config sc = a->data;
    sc.correlation = P;
    sc.seed = out->data_seed = run_data_seed(a, run);
    mtr_schema *schema = NULL;
    mtr_dataset *train = mtr_synthetic_generate(&sc, (size_t)a->rows, 0, &schema, &out->error);
    mtr_dataset *test = train ? mtr_synthetic_generate(&sc, (size_t)a->test_rows, 1, NULL, &out->error) : NULL;
    if (!train || !test) goto fail;
    out->label_corr = mtr_label_correlation(train, 0, 1);
    mtr_view vtrain = mtr_view_all(train), vtest = mtr_view_all(test);
    for (int mi = 0; mi < N_MODELS; mi++) {
        model_run *mr = &out->model[mi];
        mtr_model_config mc;
        model_config_for(a, kinds[mi], &mc);
        uint64_t model_seed = mtr_seed_mix(sc.seed, 1000 + (uint64_t)mi);
        mtr_model *m = mtr_model_create(schema, &mc, model_seed, &out->error);
        if (!m) goto fail;
        curve_sink sink = {curves + (size_t)mi * (size_t)n_points, 0, n_points};
        mtr_train_config tc;
        mtr_train_config_default(&tc);
        tc.learning_rate = a->lr;
        tc.batch_size = a->batch;
        tc.max_epochs = a->epochs;
        tc.n_threads = 1;
        tc.seed = model_seed;
        tc.on_step = on_step;
        tc.step_user = &sink;
        tc.step_interval = a->step_interval;
        mtr_train_result res;
        mtr_task_metrics tm[2], hm[2];
        double t0 = mtr_seconds_now();
        int rc = mtr_train(m, &vtrain, NULL, &tc, &res, &out->error);
        mr->seconds = mtr_seconds_now() - t0;
        if (rc == 0) rc = mtr_evaluate(m, &vtrain, tm, 1, &out->error);
        if (rc == 0) rc = mtr_evaluate(m, &vtest, hm, 1, &out->error);
        mr->parameters = mtr_model_parameter_count(m);
        mtr_model_free(m);
        if (rc != 0) goto fail;
        for (int t = 0; t < 2; t++) {
            mr->train_mse[t] = tm[t].mse;
            mr->test_mse[t] = hm[t].mse;
        }
        mr->train_loss = tm[0].mse + tm[1].mse;
        mr->test_loss = hm[0].mse + hm[1].mse;
        assert(sink.n == n_points); /* the step count is known before training */
    }
    goto done;
fail:
    out->failed = 1;
done:
    mtr_dataset_free(train);
    mtr_dataset_free(test);
    mtr_schema_free(schema);
}

/* Figure 2's grid: mean label correlation over GRID_SEEDS problems for P = 0, 0.1, ..., 1, with the
 * configured sine terms (row 0) and with none (row 1, linear tasks). */
static int label_correlation_grid(const synth_args *a, double grid[2][GRID_POINTS], double grid_std[2][GRID_POINTS],
                                  mtr_error *err) {
    double *v = malloc(2 * GRID_POINTS * GRID_SEEDS * sizeof *v);
    if (!v) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(a->jobs)
    for (int j = 0; j < 2 * GRID_POINTS * GRID_SEEDS; j++) {
        int linear = j / (GRID_POINTS * GRID_SEEDS), p = j / GRID_SEEDS % GRID_POINTS, s = j % GRID_SEEDS;
        mtr_synthetic_config sc = a->data;
        sc.correlation = p / (double)(GRID_POINTS - 1);
        if (linear) sc.n_sin = 0;
        sc.seed = mtr_seed_mix(a->seed ^ 0x6772696451ULL, (uint64_t)s); /* not the runs' seeds */
        mtr_error e;
        mtr_dataset *ds = mtr_synthetic_generate(&sc, GRID_ROWS, 0, NULL, &e);
        v[j] = ds ? mtr_label_correlation(ds, 0, 1) : NAN;
        mtr_dataset_free(ds);
        if (!ds) {
#pragma omp critical
            {
                failed = 1;
                *err = e;
            }
        }
    }
    for (int k = 0; k < 2 && !failed; k++)
        for (int p = 0; p < GRID_POINTS; p++) {
            stats s = stats_of(v + (k * GRID_POINTS + p) * GRID_SEEDS, GRID_SEEDS, 1);
            grid[k][p] = s.mean;
            grid_std[k][p] = s.std;
        }
    free(v);
    return failed ? -1 : 0;
}

static int parse_corr_list(const char *list, double *corr, int *n, char *msg, size_t ms) {
    *n = 0;
    const char *p = list;
    while (1) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        double v;
        if (*n == MAX_CORRS) {
            snprintf(msg, ms, "--corr: at most %d correlations", MAX_CORRS);
            return -1;
        }
        if (mtr_parse_double(p, len, &v) != 0 || v < -1.0 || v > 1.0) {
            snprintf(msg, ms, "--corr: expected comma-separated numbers in [-1, 1], got '%.*s' in '%s'", (int)len, p,
                     list);
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (corr[i] == v) {
                snprintf(msg, ms, "--corr: %g is listed twice", v);
                return -1;
            }
        corr[(*n)++] = v;
        if (!q) break;
        p = q + 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- summaries */

typedef struct summary {
    int n_corr;                             /* correlations */
    double corr[MAX_CORRS];                 /* the P values as given */
    stats label[MAX_CORRS];                 /* label correlation over runs */
    stats train[MAX_CORRS][N_MODELS];       /* final training loss over runs */
    stats test[MAX_CORRS][N_MODELS];        /* held-out loss over runs */
    double seconds[MAX_CORRS][N_MODELS];    /* mean training seconds per run */
    size_t parameters[N_MODELS];            /* model sizes */
    /* paired differences of final training loss, a - b over runs: mean, standard error, share b < a */
    double diff_mean[MAX_CORRS][N_MODELS][N_MODELS];
    double diff_se[MAX_CORRS][N_MODELS][N_MODELS];
    double b_wins[MAX_CORRS][N_MODELS][N_MODELS];
    double grid[2][GRID_POINTS];            /* Figure 2: mean label correlation, [0] with sines, [1] linear */
    double grid_std[2][GRID_POINTS];        /* and its spread over problems */
} summary;

static int summarize(const synth_args *a, const run_result *res, summary *s) {
    int R = a->runs;
    double *v = malloc((size_t)R * sizeof *v);
    double *w = malloc((size_t)R * sizeof *w);
    if (!v || !w) {
        free(v);
        free(w);
        return -1;
    }
    for (int ci = 0; ci < s->n_corr; ci++) {
        const run_result *r = res + (size_t)ci * (size_t)R;
        for (int i = 0; i < R; i++) v[i] = r[i].label_corr;
        s->label[ci] = stats_of(v, (size_t)R, 1);
        for (int mi = 0; mi < N_MODELS; mi++) {
            double secs = 0;
            for (int i = 0; i < R; i++) {
                v[i] = r[i].model[mi].train_loss;
                w[i] = r[i].model[mi].test_loss;
                secs += r[i].model[mi].seconds;
            }
            s->train[ci][mi] = stats_of(v, (size_t)R, 1);
            s->test[ci][mi] = stats_of(w, (size_t)R, 1);
            s->seconds[ci][mi] = secs / R;
            s->parameters[mi] = r[0].model[mi].parameters;
        }
        for (int ma = 0; ma < N_MODELS; ma++)
            for (int mb = 0; mb < N_MODELS; mb++) {
                int wins = 0;
                for (int i = 0; i < R; i++) {
                    v[i] = r[i].model[ma].train_loss - r[i].model[mb].train_loss;
                    wins += v[i] > 0.0;
                }
                stats d = stats_of(v, (size_t)R, 1);
                s->diff_mean[ci][ma][mb] = d.mean;
                s->diff_se[ci][ma][mb] = d.std / sqrt((double)R);
                s->b_wins[ci][ma][mb] = (double)wins / R;
            }
    }
    free(v);
    free(w);
    return 0;
}

/* ---------------------------------------------------------------- findings */

typedef struct finding {
    const char *claim; /* the paper's statement */
    int holds;         /* 1 holds, 0 does not, -1 not tested (the correlations needed were not run) */
    char evidence[600];/* the numbers behind the verdict */
} finding;

#define N_FINDINGS 5

static int find_corr(const summary *s, double P) {
    for (int i = 0; i < s->n_corr; i++)
        if (s->corr[i] == P) return i;
    return -1;
}

static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, n - used, fmt, ap);
    va_end(ap);
}

static void judge(const summary *s, finding f[N_FINDINGS]) {
    enum { SB = 0, OM = 1, MM = 2 };
    memset(f, 0, N_FINDINGS * sizeof *f);
    f[0].claim = "both MoE models beat Shared-Bottom at every correlation (mean final loss)";
    f[0].holds = 1;
    for (int ci = 0; ci < s->n_corr; ci++) {
        int ok = s->train[ci][OM].mean < s->train[ci][SB].mean && s->train[ci][MM].mean < s->train[ci][SB].mean;
        f[0].holds &= ok;
        append(f[0].evidence, sizeof f[0].evidence, "%sP=%g: SB %.4f, OMoE %.4f, MMoE %.4f (MMoE better than SB in %.0f%% of runs)",
               ci ? "; " : "", s->corr[ci], s->train[ci][SB].mean, s->train[ci][OM].mean, s->train[ci][MM].mean,
               100 * s->b_wins[ci][SB][MM]);
    }
    int c1 = find_corr(s, 1.0), c5 = find_corr(s, 0.5);
    f[1].claim = "OMoE and MMoE are close at P = 1 (means within 5%)";
    f[1].holds = -1;
    if (c1 >= 0) {
        double om = s->train[c1][OM].mean, mm = s->train[c1][MM].mean;
        f[1].holds = fabs(om - mm) <= CLOSE_RELATIVE * fmin(om, mm);
        snprintf(f[1].evidence, sizeof f[1].evidence, "OMoE %.4f, MMoE %.4f: %.1f%% apart; paired OMoE - MMoE %.5f +- %.5f",
                 om, mm, 100 * fabs(om - mm) / fmin(om, mm), s->diff_mean[c1][OM][MM], s->diff_se[c1][OM][MM]);
    }
    f[2].claim = "MMoE is clearly better than OMoE at P = 0.5 (at least 5% lower mean, paired difference > 2 s.e.)";
    f[2].holds = -1;
    if (c5 >= 0) {
        double om = s->train[c5][OM].mean, mm = s->train[c5][MM].mean, d = s->diff_mean[c5][OM][MM],
               se = s->diff_se[c5][OM][MM];
        f[2].holds = mm <= (1 - CLOSE_RELATIVE) * om && d > 2 * se;
        snprintf(f[2].evidence, sizeof f[2].evidence,
                 "OMoE %.4f, MMoE %.4f (%.1f%% lower); paired OMoE - MMoE %.5f +- %.5f; MMoE lower in %.0f%% of runs",
                 om, mm, 100 * (om - mm) / om, d, se, 100 * s->b_wins[c5][OM][MM]);
    }
    f[3].claim = "Shared-Bottom's final losses spread wider than the MoE models' (standard deviation over runs)";
    f[3].holds = 1;
    for (int ci = 0; ci < s->n_corr; ci++) {
        f[3].holds &= s->train[ci][SB].std > s->train[ci][OM].std && s->train[ci][SB].std > s->train[ci][MM].std;
        append(f[3].evidence, sizeof f[3].evidence, "%sP=%g: std SB %.4f, OMoE %.4f, MMoE %.4f", ci ? "; " : "",
               s->corr[ci], s->train[ci][SB].std, s->train[ci][OM].std, s->train[ci][MM].std);
    }
    f[4].claim = "the generated label correlation tracks P (its mean rises strictly with P, on the grid and over the runs)";
    f[4].holds = 1;
    for (int p = 1; p < GRID_POINTS; p++) f[4].holds &= s->grid[0][p] > s->grid[0][p - 1];
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int cj = 0; cj < s->n_corr; cj++)
            if (s->corr[ci] < s->corr[cj]) f[4].holds &= s->label[ci].mean < s->label[cj].mean;
    for (int ci = 0; ci < s->n_corr; ci++)
        append(f[4].evidence, sizeof f[4].evidence, "%sP=%g: %.3f +- %.3f over runs", ci ? "; " : "", s->corr[ci],
               s->label[ci].mean, s->label[ci].std);
    append(f[4].evidence, sizeof f[4].evidence, "; grid P = 0, 0.5, 1: %.3f, %.3f, %.3f", s->grid[0][0],
           s->grid[0][GRID_POINTS / 2], s->grid[0][GRID_POINTS - 1]);
}

static const char *verdict(int holds) { return holds > 0 ? "holds" : holds == 0 ? "does not hold" : "not tested"; }

/* ---------------------------------------------------------------- report files */

/* "0.9" -> "P0.9": part of file names */
static void corr_tag(double P, char *out, size_t n) { snprintf(out, n, "P%g", P); }

static int write_svg(const char *dir, const char *name, char *svg, mtr_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!svg) return -1;
    int rc = mtr_text_file_save(path, svg, err);
    free(svg);
    return rc;
}

static int write_plots(const synth_args *a, const summary *s, const run_result *res, const double *mean_curve,
                       int n_points, mtr_error *err) {
    int R = a->runs;
    char name[256], title[256], tag[32];
    double *steps = malloc((size_t)n_points * sizeof *steps), *finals = malloc((size_t)N_MODELS * R * sizeof *finals);
    if (!steps || !finals) {
        free(steps);
        free(finals);
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    for (int p = 0; p < n_points; p++) steps[p] = (double)(p + 1) * a->step_interval;
    int rc = 0;
    for (int ci = 0; ci < s->n_corr && rc == 0; ci++) {
        corr_tag(s->corr[ci], tag, sizeof tag);
        mtr_plot_series series[N_MODELS];
        for (int mi = 0; mi < N_MODELS; mi++)
            series[mi] = (mtr_plot_series){model_labels[mi], steps,
                                           mean_curve + ((size_t)ci * N_MODELS + (size_t)mi) * (size_t)n_points,
                                           (size_t)n_points};
        snprintf(title, sizeof title, "Training loss, P = %g (mean of %d runs)", s->corr[ci], R);
        mtr_plot_options o = {title, "training step", "loss: MSE(y1) + MSE(y2), log scale", 0, 0, 1, 0, 0};
        snprintf(name, sizeof name, "fig4_loss_curves_%s.svg", tag);
        rc = write_svg(a->report, name, mtr_svg_line_chart(&o, series, N_MODELS, err), err);
        if (rc) break;
        for (int mi = 0; mi < N_MODELS; mi++) {
            for (int i = 0; i < R; i++) finals[(size_t)mi * R + i] = res[(size_t)ci * R + i].model[mi].train_loss;
            series[mi] = (mtr_plot_series){model_labels[mi], NULL, finals + (size_t)mi * R, (size_t)R};
        }
        snprintf(title, sizeof title, "Final training loss over %d runs, P = %g", R, s->corr[ci]);
        mtr_plot_options h = {title, "final loss: MSE(y1) + MSE(y2) on the training set", "runs", 0, 0, 0, 0, a->bins};
        snprintf(name, sizeof name, "fig5_final_loss_%s.svg", tag);
        rc = write_svg(a->report, name, mtr_svg_histogram(&h, series, N_MODELS, err), err);
    }
    if (rc == 0) {
        double gx[GRID_POINTS], ex[MAX_CORRS], ey[MAX_CORRS];
        for (int p = 0; p < GRID_POINTS; p++) gx[p] = p / (double)(GRID_POINTS - 1);
        for (int ci = 0; ci < s->n_corr; ci++) ex[ci] = s->corr[ci], ey[ci] = s->label[ci].mean;
        char nonlinear[96], linear[96], runs_name[96];
        snprintf(nonlinear, sizeof nonlinear, "labels as generated (m = %d)", a->data.n_sin);
        snprintf(linear, sizeof linear, "linear labels (m = 0)");
        snprintf(runs_name, sizeof runs_name, "experiment runs (mean of %d)", R);
        mtr_plot_series series[4] = {
            {"y = P", gx, gx, GRID_POINTS},
            {nonlinear, gx, s->grid[0], GRID_POINTS},
            {linear, gx, s->grid[1], GRID_POINTS},
            {runs_name, ex, ey, (size_t)s->n_corr},
        };
        mtr_plot_options o = {"Label Pearson correlation against P = cos(w1, w2)", "P", "Pearson correlation of y1, y2",
                              0, 0, 0, 1, 0};
        rc = write_svg(a->report, "fig2_label_correlation.svg", mtr_svg_line_chart(&o, series, 4, err), err);
    }
    free(steps);
    free(finals);
    return rc;
}

static int write_csvs(const synth_args *a, const summary *s, const run_result *res, const double *curves,
                      int n_points, mtr_error *err) {
    int R = a->runs;
    char path[4096];
    mtr_csv c;
    static const char *const h_final[] = {"correlation", "run", "data_seed", "model", "parameters", "train_loss",
                                          "test_loss", "train_mse_y1", "train_mse_y2", "test_mse_y1", "test_mse_y2"};
    snprintf(path, sizeof path, "%s/final_losses.csv", a->report);
    if (mtr_csv_open(&c, path, h_final, 11, err) != 0) return -1;
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int i = 0; i < R; i++)
            for (int mi = 0; mi < N_MODELS; mi++) {
                const run_result *r = &res[(size_t)ci * R + i];
                const model_run *m = &r->model[mi];
                mtr_csv_double(&c, s->corr[ci]);
                mtr_csv_int(&c, i);
                mtr_csv_u64(&c, r->data_seed);
                mtr_csv_text(&c, mtr_model_kind_name(kinds[mi]));
                mtr_csv_int(&c, (long long)m->parameters);
                mtr_csv_double(&c, m->train_loss);
                mtr_csv_double(&c, m->test_loss);
                mtr_csv_double(&c, m->train_mse[0]);
                mtr_csv_double(&c, m->train_mse[1]);
                mtr_csv_double(&c, m->test_mse[0]);
                mtr_csv_double(&c, m->test_mse[1]);
                if (mtr_csv_end_row(&c, err) != 0) goto fail;
            }
    if (mtr_csv_close(&c, err) != 0) return -1;

    static const char *const h_curve[] = {"correlation", "model", "step", "mean_loss", "std_loss", "min_loss",
                                          "max_loss"};
    snprintf(path, sizeof path, "%s/loss_curves.csv", a->report);
    if (mtr_csv_open(&c, path, h_curve, 7, err) != 0) return -1;
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int mi = 0; mi < N_MODELS; mi++)
            for (int p = 0; p < n_points; p++) {
                /* consecutive runs of one (P, model) are N_MODELS * n_points values apart */
                const double *first = curves + ((size_t)ci * R * N_MODELS + (size_t)mi) * (size_t)n_points + p;
                stats st = stats_of(first, (size_t)R, (size_t)N_MODELS * (size_t)n_points);
                mtr_csv_double(&c, s->corr[ci]);
                mtr_csv_text(&c, mtr_model_kind_name(kinds[mi]));
                mtr_csv_int(&c, (long long)(p + 1) * a->step_interval);
                mtr_csv_double(&c, st.mean);
                mtr_csv_double(&c, st.std);
                mtr_csv_double(&c, st.min);
                mtr_csv_double(&c, st.max);
                if (mtr_csv_end_row(&c, err) != 0) goto fail;
            }
    if (mtr_csv_close(&c, err) != 0) return -1;

    static const char *const h_corr[] = {"correlation", "run", "data_seed", "label_correlation"};
    snprintf(path, sizeof path, "%s/label_correlation.csv", a->report);
    if (mtr_csv_open(&c, path, h_corr, 4, err) != 0) return -1;
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int i = 0; i < R; i++) {
            const run_result *r = &res[(size_t)ci * R + i];
            mtr_csv_double(&c, s->corr[ci]);
            mtr_csv_int(&c, i);
            mtr_csv_u64(&c, r->data_seed);
            mtr_csv_double(&c, r->label_corr);
            if (mtr_csv_end_row(&c, err) != 0) goto fail;
        }
    if (mtr_csv_close(&c, err) != 0) return -1;

    static const char *const h_grid[] = {"P", "sine_terms", "problems", "rows", "mean_label_correlation",
                                         "std_label_correlation"};
    snprintf(path, sizeof path, "%s/label_correlation_grid.csv", a->report);
    if (mtr_csv_open(&c, path, h_grid, 6, err) != 0) return -1;
    for (int k = 0; k < 2; k++)
        for (int p = 0; p < GRID_POINTS; p++) {
            mtr_csv_double(&c, p / (double)(GRID_POINTS - 1));
            mtr_csv_int(&c, k ? 0 : a->data.n_sin);
            mtr_csv_int(&c, GRID_SEEDS);
            mtr_csv_int(&c, GRID_ROWS);
            mtr_csv_double(&c, s->grid[k][p]);
            mtr_csv_double(&c, s->grid_std[k][p]);
            if (mtr_csv_end_row(&c, err) != 0) goto fail;
        }
    return mtr_csv_close(&c, err);
fail:
    mtr_csv_abort(&c);
    return -1;
}

/* The command as typed, for the README (arguments with spaces or quotes single-quoted). */
static void command_line(int argc, char **argv, char *out, size_t n) {
    snprintf(out, n, "mtrank");
    for (int i = 1; i < argc; i++) {
        if (!argv[i][0] || strpbrk(argv[i], " \t'\"$\\|&;<>*?`")) append(out, n, " '%s'", argv[i]);
        else append(out, n, " %s", argv[i]);
    }
}

static int write_readme(const synth_args *a, const summary *s, const finding *f, const double *mean_curve,
                        int n_points, const char *cmd, double wall, mtr_error *err) {
    char path[4096], tag[32];
    snprintf(path, sizeof path, "%s/README.md", a->report);
    mtr_atomic_file af;
    if (mtr_atomic_open(&af, path, err) != 0) return -1;
    FILE *o = af.f;
    const mtr_synthetic_config *d = &a->data;
    fprintf(o, "# Task relatedness on synthetic data (MMoE paper, section 3.2, Figures 2, 4, 5)\n\n");
    fprintf(o, "Generated by `%s` (mtrank %s).\n\n", cmd, MTR_VERSION_STRING);
    fprintf(o, "- Wall time: **%.1f s** (%.1f min) with %d jobs: %d runs x %d correlations x %d models.\n", wall,
            wall / 60, a->jobs, a->runs, s->n_corr, N_MODELS);
    fprintf(o, "- Data per run: d = %d, c = %g, m = %d sine terms, alpha ~ N(0, %g^2), beta ~ N(0, %g^2), noise sd %g; "
               "%d training rows and %d held-out rows, fresh for every run (seed from --seed %llu and the run number, "
               "shared by the correlations and models of that run).\n",
            d->dim, d->scale, d->n_sin, d->alpha_sd, d->beta_sd, d->noise_sd, a->rows, a->test_rows,
            (unsigned long long)a->seed);
    fprintf(o, "- Models: Shared-Bottom with one bottom layer of %d units (%zu parameters); OMoE (%zu) and MMoE (%zu) "
               "with %d experts of %d units; towers of %d units; ReLU.\n",
            a->shared_units, s->parameters[0], s->parameters[1], s->parameters[2], a->experts, a->expert_units,
            a->tower_units);
    fprintf(o, "- Training: Adam, learning rate %g, batch %d, %d epochs = %ld steps, loss MSE(y1) + MSE(y2); curve "
               "points average the minibatch loss over %d steps (%d points).\n",
            (double)a->lr, a->batch, a->epochs, total_steps(a), a->step_interval, n_points);
    fprintf(o, "- **Final loss** = MSE(y1) + MSE(y2) of the trained model on its whole training set (Figure 5 and the "
               "tables); **held-out** = the same on the held-out rows. The label noise alone costs 2 x %g^2 = %.4g "
               "(the noise floor; \"mean above noise\" subtracts it).\n\n",
            d->noise_sd, 2 * d->noise_sd * d->noise_sd);

    fprintf(o, "## The paper's findings\n\n");
    for (int k = 0; k < N_FINDINGS; k++)
        fprintf(o, "- %s: **%s**. %s.\n", f[k].claim, verdict(f[k].holds), f[k].evidence);

    fprintf(o, "\n## Final loss per correlation and model (Figure 5)\n\n");
    double floor_loss = 2 * d->noise_sd * d->noise_sd;
    fprintf(o, "| P | model | params | mean | mean above noise | std | min | max | held-out mean | held-out std | "
               "s/run |\n");
    fprintf(o, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int mi = 0; mi < N_MODELS; mi++) {
            const stats *t = &s->train[ci][mi], *h = &s->test[ci][mi];
            fprintf(o, "| %g | %s | %zu | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.2f |\n", s->corr[ci],
                    model_labels[mi], s->parameters[mi], t->mean, t->mean - floor_loss, t->std, t->min, t->max,
                    h->mean, h->std, s->seconds[ci][mi]);
        }
    fprintf(o, "\nPaired differences of the final loss over the %d runs (mean +- standard error; \"lower in\" = share "
               "of runs where the second model's loss is lower):\n\n", a->runs);
    fprintf(o, "| P | SB - OMoE | OMoE lower in | SB - MMoE | MMoE lower in | OMoE - MMoE | MMoE lower in |\n");
    fprintf(o, "|---|---:|---:|---:|---:|---:|---:|\n");
    static const int pairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
    for (int ci = 0; ci < s->n_corr; ci++) {
        fprintf(o, "| %g", s->corr[ci]);
        for (int k = 0; k < 3; k++) {
            int x = pairs[k][0], y = pairs[k][1];
            fprintf(o, " | %.5f +- %.5f | %.0f%%", s->diff_mean[ci][x][y], s->diff_se[ci][x][y],
                    100 * s->b_wins[ci][x][y]);
        }
        fprintf(o, " |\n");
    }
    fprintf(o, "\n");
    for (int ci = 0; ci < s->n_corr; ci++) {
        corr_tag(s->corr[ci], tag, sizeof tag);
        fprintf(o, "![Final loss histogram, P = %g](fig5_final_loss_%s.svg)\n", s->corr[ci], tag);
    }

    fprintf(o, "\n## Training loss against steps (Figure 4)\n\n");
    fprintf(o, "Mean over runs of the minibatch training loss (log scale in the plots); every point in "
               "[loss_curves.csv](loss_curves.csv).\n\n");
    int marks[5] = {0, n_points / 8, n_points / 4, n_points / 2, n_points - 1};
    fprintf(o, "| P | model |");
    for (int k = 0; k < 5; k++) fprintf(o, " step %ld |", (long)(marks[k] + 1) * a->step_interval);
    fprintf(o, "\n|---|---|---:|---:|---:|---:|---:|\n");
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int mi = 0; mi < N_MODELS; mi++) {
            const double *c = mean_curve + ((size_t)ci * N_MODELS + (size_t)mi) * (size_t)n_points;
            fprintf(o, "| %g | %s |", s->corr[ci], model_labels[mi]);
            for (int k = 0; k < 5; k++) fprintf(o, " %.4f |", c[marks[k]]);
            fprintf(o, "\n");
        }
    fprintf(o, "\n");
    for (int ci = 0; ci < s->n_corr; ci++) {
        corr_tag(s->corr[ci], tag, sizeof tag);
        fprintf(o, "![Training loss, P = %g](fig4_loss_curves_%s.svg)\n", s->corr[ci], tag);
    }

    fprintf(o, "\n## Label correlation against P (Figure 2)\n\n");
    fprintf(o, "Pearson correlation of y1 and y2 in each run's training rows:\n\n");
    fprintf(o, "| P | mean | std | min | max |\n|---|---:|---:|---:|---:|\n");
    for (int ci = 0; ci < s->n_corr; ci++)
        fprintf(o, "| %g | %.4f | %.4f | %.4f | %.4f |\n", s->corr[ci], s->label[ci].mean, s->label[ci].std,
                s->label[ci].min, s->label[ci].max);
    fprintf(o, "\nOver a grid of P (%d problems of %d rows each per point), with the configured sine terms and "
               "without them (linear tasks; their correlation is P c^2 / (c^2 + noise^2) = %.3f P):\n\n",
            GRID_SEEDS, GRID_ROWS, d->scale * d->scale / (d->scale * d->scale + d->noise_sd * d->noise_sd));
    fprintf(o, "| P |");
    for (int p = 0; p < GRID_POINTS; p++) fprintf(o, " %g |", p / (double)(GRID_POINTS - 1));
    fprintf(o, "\n|---|");
    for (int p = 0; p < GRID_POINTS; p++) fprintf(o, "---:|");
    fprintf(o, "\n| m = %d |", d->n_sin);
    for (int p = 0; p < GRID_POINTS; p++) fprintf(o, " %.3f |", s->grid[0][p]);
    fprintf(o, "\n| m = 0 |");
    for (int p = 0; p < GRID_POINTS; p++) fprintf(o, " %.3f |", s->grid[1][p]);
    fprintf(o, "\n\n![Label correlation against P](fig2_label_correlation.svg)\n\n");

    fprintf(o, "## Files\n\n");
    fprintf(o, "- [final_losses.csv](final_losses.csv): every run's final and held-out loss, per task too.\n");
    fprintf(o, "- [loss_curves.csv](loss_curves.csv): mean, std, min, max over runs of the training loss per step.\n");
    fprintf(o, "- [label_correlation.csv](label_correlation.csv): every run's label correlation; "
               "[label_correlation_grid.csv](label_correlation_grid.csv): the grid above.\n");
    return mtr_atomic_commit(&af, err);
}

static void print_text(const synth_args *a, const summary *s, const finding *f, double wall) {
    printf("Synthetic task relatedness, %d run%s per correlation: final training loss MSE(y1) + MSE(y2)\n\n", a->runs,
           a->runs == 1 ? "" : "s");
    printf("%6s %-14s %8s %8s %8s %8s %8s | %9s %8s\n", "P", "model", "params", "mean", "std", "min", "max",
           "held-out", "s/run");
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int mi = 0; mi < N_MODELS; mi++) {
            const stats *t = &s->train[ci][mi];
            printf("%6g %-14s %8zu %8.4f %8.4f %8.4f %8.4f | %9.4f %8.2f\n", s->corr[ci], model_labels[mi],
                   s->parameters[mi], t->mean, t->std, t->min, t->max, s->test[ci][mi].mean, s->seconds[ci][mi]);
        }
    printf("\nlabel correlation:");
    for (int ci = 0; ci < s->n_corr; ci++) printf("  P=%g: %.4f", s->corr[ci], s->label[ci].mean);
    printf("\n\n");
    for (int k = 0; k < N_FINDINGS; k++) printf("%-13s %s\n", verdict(f[k].holds), f[k].claim);
    printf("\nwall time %.1fs, %d jobs", wall, a->jobs);
    if (strcmp(a->report, "none") != 0) printf("; report in %s/README.md", a->report);
    printf("\n");
}

static void print_json(const synth_args *a, const summary *s, const finding *f, double wall, long steps) {
    json_t *doc = json_object(), *corrs = json_array(), *findings = json_array();
    json_object_set_new(doc, "experiment", json_string("synthetic"));
    json_object_set_new(doc, "runs", json_integer(a->runs));
    json_object_set_new(doc, "train_rows", json_integer(a->rows));
    json_object_set_new(doc, "test_rows", json_integer(a->test_rows));
    json_object_set_new(doc, "steps", json_integer(steps));
    json_object_set_new(doc, "learning_rate", json_real(a->lr));
    json_object_set_new(doc, "batch", json_integer(a->batch));
    json_object_set_new(doc, "loss", json_string("MSE(y1) + MSE(y2) on the whole training set after training"));
    for (int ci = 0; ci < s->n_corr; ci++) {
        json_t *jc = json_object(), *models = json_array(), *lab = json_object();
        json_object_set_new(jc, "P", json_real(s->corr[ci]));
        json_object_set_new(lab, "mean", report_json_number(s->label[ci].mean));
        json_object_set_new(lab, "std", report_json_number(s->label[ci].std));
        json_object_set_new(lab, "min", report_json_number(s->label[ci].min));
        json_object_set_new(lab, "max", report_json_number(s->label[ci].max));
        json_object_set_new(jc, "label_correlation", lab);
        for (int mi = 0; mi < N_MODELS; mi++) {
            json_t *jm = json_object(), *tr = json_object(), *te = json_object();
            const stats *t = &s->train[ci][mi], *h = &s->test[ci][mi];
            json_object_set_new(jm, "model", json_string(mtr_model_kind_name(kinds[mi])));
            json_object_set_new(jm, "parameters", json_integer((json_int_t)s->parameters[mi]));
            json_object_set_new(tr, "mean", report_json_number(t->mean));
            json_object_set_new(tr, "std", report_json_number(t->std));
            json_object_set_new(tr, "min", report_json_number(t->min));
            json_object_set_new(tr, "max", report_json_number(t->max));
            json_object_set_new(te, "mean", report_json_number(h->mean));
            json_object_set_new(te, "std", report_json_number(h->std));
            json_object_set_new(jm, "final_loss", tr);
            json_object_set_new(jm, "held_out_loss", te);
            json_object_set_new(jm, "mean_seconds_per_run", json_real(s->seconds[ci][mi]));
            json_array_append_new(models, jm);
        }
        json_object_set_new(jc, "models", models);
        json_array_append_new(corrs, jc);
    }
    json_object_set_new(doc, "correlations", corrs);
    for (int k = 0; k < N_FINDINGS; k++) {
        json_t *jf = json_object();
        json_object_set_new(jf, "claim", json_string(f[k].claim));
        json_object_set_new(jf, "verdict", json_string(verdict(f[k].holds)));
        json_object_set_new(jf, "evidence", json_string(f[k].evidence));
        json_array_append_new(findings, jf);
    }
    json_object_set_new(doc, "findings", findings);
    json_object_set_new(doc, "report", strcmp(a->report, "none") ? json_string(a->report) : json_null());
    json_object_set_new(doc, "jobs", json_integer(a->jobs));
    json_object_set_new(doc, "wall_seconds", json_real(wall));
    report_json_print(doc);
    json_decref(doc);
}

/* ---------------------------------------------------------------- the command */

int experiment_synthetic(int argc, char **argv) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    synth_args a = {0};
    a.corr_list = "1,0.9,0.5";
    a.runs = 200;
    a.seed = 1;
    a.jobs = cpus > 0 ? (int)cpus : 1;
    a.report = "reports/synthetic";
    mtr_synthetic_config_default(&a.data);
    a.rows = 100000;
    a.test_rows = 10000;
    a.experts = 8;
    a.expert_units = 16;
    a.shared_units = 113;
    a.tower_units = 8;
    a.epochs = 2;
    a.batch = 128;
    a.lr = 0.003f;
    a.step_interval = 20;
    a.bins = 30;
    cli_option opts[] = {
        {"corr", CLI_STRING, &a.corr_list, NULL, 0, 0, "correlations P = cos(w1, w2) to study, comma-separated"},
        {"runs", CLI_INT, &a.runs, NULL, 1, 100000, "runs per correlation, each with fresh data and weights"},
        {"seed", CLI_U64, &a.seed, NULL, 0, 0, "base seed; run r's data and models derive from it"},
        {"jobs", CLI_INT, &a.jobs, NULL, 1, 256, "runs trained at once (one thread each)"},
        {"report", CLI_STRING, &a.report, NULL, 0, 0, "report folder (README.md, SVG plots, CSV); none = no files"},
        {"json", CLI_FLAG, &a.json, NULL, 0, 0, "print the summary as JSON"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, 0, 0, "no progress output"},
        {"rows", CLI_INT, &a.rows, NULL, 1, 100000000, "training rows generated per run"},
        {"test-rows", CLI_INT, &a.test_rows, NULL, 1, 100000000, "held-out rows generated per run"},
        {"dim", CLI_INT, &a.data.dim, NULL, 2, 65536, "d, input dimension"},
        {"scale", CLI_DOUBLE, &a.data.scale, NULL, 0, 0, "c, the length of w1 and w2"},
        {"sin", CLI_INT, &a.data.n_sin, NULL, 0, 100000, "m, sine terms per label"},
        {"alpha-sd", CLI_DOUBLE, &a.data.alpha_sd, NULL, 0, 0, "alpha_i ~ N(0, alpha-sd^2)"},
        {"beta-sd", CLI_DOUBLE, &a.data.beta_sd, NULL, 0, 0, "beta_i ~ N(0, beta-sd^2)"},
        {"noise", CLI_DOUBLE, &a.data.noise_sd, NULL, 0, 0, "label noise standard deviation"},
        {"experts", CLI_INT, &a.experts, NULL, 1, 256, "experts of OMoE and MMoE"},
        {"expert-units", CLI_INT, &a.expert_units, NULL, 1, 65536, "units per expert"},
        {"shared-units", CLI_INT, &a.shared_units, NULL, 1, 65536, "Shared-Bottom width (113: as many parameters)"},
        {"tower-units", CLI_INT, &a.tower_units, NULL, 1, 65536, "tower hidden units"},
        {"epochs", CLI_INT, &a.epochs, NULL, 1, 100000, "passes over the training rows"},
        {"batch", CLI_INT, &a.batch, NULL, 1, 1 << 20, "rows per Adam step"},
        {"lr", CLI_FLOAT, &a.lr, NULL, 1e-9, 100, "Adam learning rate"},
        {"step-interval", CLI_INT, &a.step_interval, NULL, 1, 1 << 30, "steps per loss-curve point"},
        {"bins", CLI_INT, &a.bins, NULL, 1, 10000, "histogram bins"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "experiment synthetic [--corr 1,0.9,0.5] [--runs N] [--report DIR] [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "The MMoE paper's synthetic study (section 3.2, Figures 2, 4 and 5): for every correlation P and\n"
                  "run, fresh data from `mtrank gen synthetic`'s generator; Shared-Bottom, OMoE and MMoE trained with\n"
                  "Adam on MSE(y1) + MSE(y2). Writes README.md with tables, SVG plots (loss curves, final-loss\n"
                  "histograms, label correlation against P) and CSV to --report. Results do not depend on --jobs.",
                  opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("experiment", msg);
    const char *problem = mtr_synthetic_config_check(&a.data);
    if (problem) return usage_error("experiment", problem);
    summary *s = calloc(1, sizeof *s);
    if (!s) {
        fprintf(stderr, "mtrank experiment synthetic: out of memory\n");
        return 1;
    }
    if (parse_corr_list(a.corr_list, s->corr, &s->n_corr, msg, sizeof msg) != 0) {
        free(s);
        return usage_error("experiment", msg);
    }
    long steps = total_steps(&a);
    int n_points = (int)(steps / a.step_interval);
    if (n_points < 1) {
        free(s);
        snprintf(msg, sizeof msg, "--step-interval %d is longer than the whole training (%ld steps)", a.step_interval,
                 steps);
        return usage_error("experiment", msg);
    }
    int report = strcmp(a.report, "none") != 0;
    int n_jobs = s->n_corr * a.runs, rc = 1;
    mtr_error err = {{0}};
    char cmd[2048];
    command_line(argc, argv, cmd, sizeof cmd);
    run_result *results = calloc((size_t)n_jobs, sizeof *results);
    double *curves = malloc((size_t)n_jobs * N_MODELS * (size_t)n_points * sizeof *curves);
    double *mean_curve = calloc((size_t)s->n_corr * N_MODELS * (size_t)n_points, sizeof *mean_curve);
    if (!results || !curves || !mean_curve) {
        snprintf(err.message, sizeof err.message, "out of memory for %d runs of %d curve points", n_jobs, n_points);
        goto fail;
    }
    if (report && report_make_dirs(a.report, &err) != 0) goto fail;

    int live = !a.quiet && !a.json && isatty(STDERR_FILENO), done_jobs = 0;
    if (!a.quiet && !a.json)
        fprintf(stderr, "synthetic: %d correlations x %d runs x %d models, %d + %d rows per run, %ld steps, %d jobs\n",
                s->n_corr, a.runs, N_MODELS, a.rows, a.test_rows, steps, a.jobs);
    double t_start = mtr_seconds_now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(a.jobs)
    for (int j = 0; j < n_jobs; j++) {
        /* run-major order, so a partial progress line has seen every correlation */
        int ci = j % s->n_corr, run = j / s->n_corr;
        size_t slot = (size_t)ci * (size_t)a.runs + (size_t)run;
        one_run(&a, s->corr[ci], run, n_points, &results[slot], curves + slot * N_MODELS * (size_t)n_points);
#pragma omp critical
        {
            done_jobs++;
            if (live) progress_runs(done_jobs, n_jobs, t_start);
        }
    }
    if (live) progress_runs_clear();
    for (int j = 0; j < n_jobs; j++)
        if (results[j].failed) {
            err = results[j].error;
            goto fail;
        }
    if (label_correlation_grid(&a, s->grid, s->grid_std, &err) != 0) goto fail;
    double wall = mtr_seconds_now() - t_start;

    if (summarize(&a, results, s) != 0) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto fail;
    }
    for (int ci = 0; ci < s->n_corr; ci++)
        for (int mi = 0; mi < N_MODELS; mi++) {
            double *m = mean_curve + ((size_t)ci * N_MODELS + (size_t)mi) * (size_t)n_points;
            for (int p = 0; p < n_points; p++) {
                const double *first = curves + ((size_t)ci * a.runs * N_MODELS + (size_t)mi) * (size_t)n_points + p;
                m[p] = stats_of(first, (size_t)a.runs, (size_t)N_MODELS * (size_t)n_points).mean;
            }
        }
    finding f[N_FINDINGS];
    judge(s, f);
    if (report && (write_plots(&a, s, results, mean_curve, n_points, &err) != 0 ||
                   write_csvs(&a, s, results, curves, n_points, &err) != 0 ||
                   write_readme(&a, s, f, mean_curve, n_points, cmd, wall, &err) != 0))
        goto fail;
    if (a.json) print_json(&a, s, f, wall, steps);
    else print_text(&a, s, f, wall);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank experiment synthetic: %s\n", err.message);
done:
    free(results);
    free(curves);
    free(mean_curve);
    free(s);
    return rc;
}

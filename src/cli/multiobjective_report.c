/* multiobjective_report.c - the output of `mtrank experiment multiobjective` (multiobjective.h lists the
 * pieces): means and standard deviations over runs, the table (text or markdown), the JSON document, and the
 * report folder: results.csv, two SVG plots and README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/multiobjective.h"
#include "cli/report.h"
#include "report/csv_writer.h"
#include "report/svg_plot.h"
#include "util/atomic_file.h"

/* ---------------------------------------------------------------- output */

static const char *const OBJ_LABEL[N_OBJ] = {"click", "cart", "fav", "purchase", "dwell"};

/* The numbers of a result, in a fixed order, for averaging. */
#define N_BASE_METRICS 15
static int result_values(const strategy_result *r, double *v) {
    const truth_metrics *m = &r->m;
    int k = 0;
    for (int o = 0; o < N_OBJ; o++) v[k++] = m->ndcg[o];
    v[k++] = m->purchases, v[k++] = m->gmv, v[k++] = m->categories, v[k++] = m->promoted, v[k++] = m->fresh;
    v[k++] = m->low_quality, v[k++] = m->shown, v[k++] = r->model_us, v[k++] = r->rank_us;
    v[k++] = (double)r->params;
    for (int i = 0; i < r->n_rules; i++) v[k++] = r->acted[i];
    return k;
}

static void set_values(strategy_result *r, const double *v) {
    truth_metrics *m = &r->m;
    int k = 0;
    for (int o = 0; o < N_OBJ; o++) m->ndcg[o] = v[k++];
    m->purchases = v[k++], m->gmv = v[k++], m->categories = v[k++], m->promoted = v[k++], m->fresh = v[k++];
    m->low_quality = v[k++], m->shown = v[k++], r->model_us = v[k++], r->rank_us = v[k++];
    r->params = (size_t)v[k++];
    for (int i = 0; i < r->n_rules; i++) r->acted[i] = v[k++];
}

void mo_aggregate(outcome *oc) {
    for (int k = 0; k < oc->n_results; k++) {
        double sum[N_BASE_METRICS + MTR_MAX_RULES] = {0}, sq[N_BASE_METRICS + MTR_MAX_RULES] = {0};
        double v[N_BASE_METRICS + MTR_MAX_RULES];
        int n = 0, runs = oc->res[k].strategy < 0 ? 1 : oc->runs;
        for (int r = 0; r < runs; r++) {
            n = result_values(&oc->res[r * oc->n_results + k], v);
            for (int i = 0; i < n; i++) sum[i] += v[i], sq[i] += v[i] * v[i];
        }
        oc->mean[k] = oc->sd[k] = oc->res[k];
        for (int i = 0; i < n; i++) {
            double mu = sum[i] / runs, var = runs > 1 ? (sq[i] - runs * mu * mu) / (runs - 1) : 0;
            v[i] = mu;
            sum[i] = var > 0 ? sqrt(var) : 0;
        }
        set_values(&oc->mean[k], v);
        set_values(&oc->sd[k], sum);
        oc->sd[k].params = 0;
    }
}

void mo_print_table(FILE *o, const outcome *oc, const strategy_result *rows, const strategy_result *sd, int n,
                    int markdown) {
    if (markdown) {
        fprintf(o, "| ranking | params | NDCG@10 click | cart | fav | purchase | dwell | purchases@10 | GMV@10 | "
                   "categories@10 | promoted@10 | new@10 | low-q@10 | model us/1k | rank us/1k |\n");
        fprintf(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    } else {
        fprintf(o, "%-24s %9s | %-34s | %8s %14s %6s | %5s %5s %5s | %6s %6s\n", "ranking", "params",
                "NDCG@10: click  cart   fav  purch  dwell", "purch@10", "GMV@10", "cat@10", "promo", "new", "low-q",
                "model", "rank");
        fprintf(o, "%-24s %9s | %-34s | %8s %14s %6s | %5s %5s %5s | %6s %6s\n", "", "", "", "",
                oc->runs > 1 ? "(+- sd)" : "", "", "@10", "@10", "@10", "us/1k", "us/1k");
    }
    for (int i = 0; i < n; i++) {
        const strategy_result *r = &rows[i];
        const truth_metrics *m = &r->m;
        char params[32] = "-", model[32] = "-", gmv[48];
        if (r->strategy >= 0) snprintf(params, sizeof params, "%zu", r->params);
        if (r->strategy >= 0) snprintf(model, sizeof model, "%.0f", r->model_us);
        if (sd && oc->runs > 1 && r->strategy >= 0) snprintf(gmv, sizeof gmv, "%.3f +- %.3f", m->gmv, sd[i].m.gmv);
        else snprintf(gmv, sizeof gmv, "%.3f", m->gmv);
        if (markdown)
            fprintf(o, "| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %s | %.2f | %.2f | %.2f | %.2f | %s | %.0f |\n",
                    r->name, params, m->ndcg[0], m->ndcg[1], m->ndcg[2], m->ndcg[3], m->ndcg[4], m->purchases, gmv,
                    m->categories, m->promoted, m->fresh, m->low_quality, model, r->rank_us);
        else
            fprintf(o, "%-24s %9s | %6.4f %6.4f %6.4f %6.4f %6.4f | %8.4f %14s %6.2f | %5.2f %5.2f %5.2f | %6s %6.0f\n",
                    r->name, params, m->ndcg[0], m->ndcg[1], m->ndcg[2], m->ndcg[3], m->ndcg[4], m->purchases, gmv,
                    m->categories, m->promoted, m->fresh, m->low_quality, model, r->rank_us);
    }
}

static json_t *json_metrics(const strategy_result *r) {
    json_t *j = json_object(), *nd = json_object();
    for (int o = 0; o < N_OBJ; o++) json_object_set_new(nd, OBJ_LABEL[o], report_json_number(r->m.ndcg[o]));
    json_object_set_new(j, "ndcg_at_10", nd);
    json_object_set_new(j, "purchases_at_10", report_json_number(r->m.purchases));
    json_object_set_new(j, "gmv_at_10", report_json_number(r->m.gmv));
    json_object_set_new(j, "categories_at_10", report_json_number(r->m.categories));
    json_object_set_new(j, "promoted_at_10", report_json_number(r->m.promoted));
    json_object_set_new(j, "new_at_10", report_json_number(r->m.fresh));
    json_object_set_new(j, "low_quality_at_10", report_json_number(r->m.low_quality));
    json_object_set_new(j, "shown_at_10", report_json_number(r->m.shown));
    json_object_set_new(j, "model_us_per_1000", r->strategy >= 0 ? report_json_number(r->model_us) : json_null());
    json_object_set_new(j, "rank_us_per_1000", report_json_number(r->rank_us));
    json_t *acts = json_array();
    for (int k = 0; k < r->n_rules; k++) json_array_append_new(acts, report_json_number(r->acted[k]));
    json_object_set_new(j, "rule_acted_per_request", acts);
    return j;
}

static json_t *json_result(const strategy_result *r, const strategy_result *sd) {
    json_t *j = json_metrics(r);
    json_object_set_new(j, "name", json_string(r->name));
    json_object_set_new(j, "strategy", r->strategy >= 0 ? json_string(STRATEGY_NAMES[r->strategy]) : json_null());
    json_object_set_new(j, "rules", json_boolean(r->rules));
    json_object_set_new(j, "parameters", r->strategy >= 0 ? json_integer((json_int_t)r->params) : json_null());
    if (sd) json_object_set_new(j, "sd", json_metrics(sd));
    return j;
}

const char *mo_job_name(const job *j) {
    static const char *const obj[N_OBJ] = {"per-objective click", "per-objective cart", "per-objective fav",
                                           "per-objective purchase", "per-objective dwell"};
    return j->kind == JOB_LAMBDAMART ? "lambdamart" : j->kind == JOB_MMOE ? "mmoe" : j->kind == JOB_BPR ? "bpr" : obj[j->task];
}

static const char *job_metric(const job *j) {
    return j->kind == JOB_LAMBDAMART || j->kind == JOB_BPR ? "graded NDCG@10"
           : j->kind == JOB_OBJECTIVE && j->task == MTR_SESSIONS_DWELL ? "R^2" : "AUC";
}

json_t *mo_json_doc(const mo_args *a, const outcome *oc) {
    json_t *doc = json_object(), *arr = json_array(), *tr = json_array(), *fu = json_array(), *runs = json_array();
    json_object_set_new(doc, "experiment", json_string("multiobjective"));
    json_object_set_new(doc, "runs", json_integer(oc->runs));
    json_object_set_new(doc, "train_requests", json_integer((json_int_t)a->requests));
    json_object_set_new(doc, "valid_requests", json_integer((json_int_t)a->valid_requests));
    json_object_set_new(doc, "test_requests", json_integer((json_int_t)a->test_requests));
    json_object_set_new(doc, "list_length", json_integer(a->list_length));
    json_object_set_new(doc, "target", json_string(a->target));
    json_object_set_new(doc, "formula", json_string(a->formula));
    json_object_set_new(doc, "rules_file", json_string(a->rules));
    json_t *rl = json_array();
    for (int r = 0; r < oc->n_rules; r++) json_array_append_new(rl, json_string(oc->rule_desc[r]));
    json_object_set_new(doc, "rules", rl);
    for (int i = 0; i < oc->n_results; i++) json_array_append_new(arr, json_result(&oc->mean[i], &oc->sd[i]));
    json_object_set_new(doc, "results", arr);
    for (int r = 0; r < oc->runs; r++) {
        json_t *one = json_array();
        for (int i = 0; i < oc->n_results; i++)
            if (oc->res[r * oc->n_results + i].strategy >= 0)
                json_array_append_new(one, json_result(&oc->res[r * oc->n_results + i], NULL));
        json_array_append_new(runs, one);
    }
    json_object_set_new(doc, "per_run", runs);
    for (int i = 0; i < oc->n_jobs; i++) {
        const job *j = &oc->jobs[i];
        json_t *jj = json_object();
        json_object_set_new(jj, "name", json_string(mo_job_name(j)));
        json_object_set_new(jj, "run", json_integer(j->run));
        json_object_set_new(jj, "parameters", json_integer((json_int_t)j->params));
        json_object_set_new(jj, "epochs", json_integer(j->epochs));
        json_object_set_new(jj, "kept", json_integer(j->best_epoch));
        json_object_set_new(jj, "valid_metric", json_string(job_metric(j)));
        json_object_set_new(jj, "valid_value", report_json_number(j->valid_metric));
        json_object_set_new(jj, "seconds", json_real(j->seconds));
        json_array_append_new(tr, jj);
    }
    json_object_set_new(doc, "trainings", tr);
    for (int r = 0; r < oc->runs; r++)
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!oc->has[s] || (s != S_PER_OBJECTIVE && s != S_MMOE)) continue;
            const fusion_fit *f = &oc->fit[r * N_STRATEGIES + s];
            json_t *js = json_object(), *pv = json_object();
            json_object_set_new(js, "strategy", json_string(STRATEGY_NAMES[s]));
            json_object_set_new(js, "run", json_integer(r));
            for (int k = 0; k < oc->rg.n; k++) json_object_set_new(pv, oc->rg.names[k], json_real(f->values[k]));
            json_object_set_new(js, "params", pv);
            json_object_set_new(js, "valid_target", report_json_number(f->valid_metric));
            json_object_set_new(js, "valid_target_at_centre", report_json_number(f->default_metric));
            json_array_append_new(fu, js);
        }
    json_object_set_new(doc, "fusion", fu);
    json_t *ab = json_array();
    for (int i = 0; i < oc->n_ablation; i++) json_array_append_new(ab, json_result(&oc->ablation[i], NULL));
    json_object_set_new(doc, "rule_ablation", ab);
    json_object_set_new(doc, "mmoe_flops_per_candidate", report_json_number(oc->mmoe_flops));
    json_object_set_new(doc, "data_seconds", json_real(oc->data_seconds));
    json_object_set_new(doc, "train_seconds", json_real(oc->train_seconds));
    json_object_set_new(doc, "wall_seconds", json_real(oc->wall));
    json_object_set_new(doc, "jobs", json_integer(a->jobs));
    json_object_set_new(doc, "report", strcmp(a->report, "none") ? json_string(a->report) : json_null());
    return doc;
}

static void csv_row(mtr_csv *c, const char *run, const strategy_result *r) {
    mtr_csv_text(c, run);
    mtr_csv_text(c, r->name);
    mtr_csv_text(c, r->strategy >= 0 ? STRATEGY_NAMES[r->strategy] : "reference");
    mtr_csv_int(c, r->rules);
    if (r->strategy >= 0) mtr_csv_u64(c, r->params);
    else mtr_csv_text(c, "");
    for (int o = 0; o < N_OBJ; o++) mtr_csv_double(c, r->m.ndcg[o]);
    mtr_csv_double(c, r->m.purchases);
    mtr_csv_double(c, r->m.gmv);
    mtr_csv_double(c, r->m.categories);
    mtr_csv_double(c, r->m.promoted);
    mtr_csv_double(c, r->m.fresh);
    mtr_csv_double(c, r->m.low_quality);
    mtr_csv_double(c, r->m.shown);
    mtr_csv_double(c, r->strategy >= 0 ? r->model_us : NAN);
    mtr_csv_double(c, r->rank_us);
}

/* results.csv: every ranking of every run, then the means and standard deviations over runs. */
int mo_write_csv(const mo_args *a, const outcome *oc, mtr_error *err) {
    static const char *const h[] = {"run", "name", "strategy", "rules", "parameters", "ndcg10_click", "ndcg10_cart",
                                    "ndcg10_fav", "ndcg10_purchase", "ndcg10_dwell", "purchases10", "gmv10",
                                    "categories10", "promoted10", "new10", "low_quality10", "shown10",
                                    "model_us_per_1000", "rank_us_per_1000"};
    char path[4200], run[32];
    snprintf(path, sizeof path, "%s/results.csv", a->report);
    mtr_csv c;
    if (mtr_csv_open(&c, path, h, 19, err) != 0) return -1;
    for (int r = 0; r < oc->runs; r++)
        for (int i = 0; i < oc->n_results; i++) {
            if (oc->res[r * oc->n_results + i].strategy < 0 && r > 0) continue;
            snprintf(run, sizeof run, "%d", r);
            csv_row(&c, run, &oc->res[r * oc->n_results + i]);
            if (mtr_csv_end_row(&c, err) != 0) goto fail;
        }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < oc->n_results; i++) {
            csv_row(&c, k ? "sd" : "mean", k ? &oc->sd[i] : &oc->mean[i]);
            if (mtr_csv_end_row(&c, err) != 0) goto fail;
        }
    return mtr_csv_close(&c, err);
fail:
    mtr_csv_abort(&c);
    return -1;
}

static int write_svg(const char *dir, const char *name, char *svg, mtr_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!svg) return -1;
    int rc = mtr_text_file_save(path, svg, err);
    free(svg);
    return rc;
}

int mo_write_plots(const mo_args *a, const outcome *oc, mtr_error *err) {
    /* GMV@10 against distinct categories@10: one point per ranking (run means), named in the legend */
    double xs[MAX_RESULTS], ys[MAX_RESULTS];
    mtr_plot_series s[MAX_RESULTS];
    int n = 0;
    for (int i = 0; i < oc->n_results && n < MTR_PLOT_MAX_SERIES; i++) {
        const strategy_result *r = &oc->mean[i];
        if (r->strategy < 0) continue; /* the references are in the table (the oracle is off the scale) */
        xs[n] = r->m.categories;
        ys[n] = r->m.gmv;
        s[n] = (mtr_plot_series){r->name, &xs[n], &ys[n], 1};
        n++;
    }
    mtr_plot_options o = {"GMV@10 against category diversity (test requests, truth; mean over runs)",
                          "distinct categories in the top 10", "GMV@10 (price x true purchase probability)", 0, 0,
                          0, 1, 0};
    if (n > 0 && write_svg(a->report, "gmv_vs_diversity.svg", mtr_svg_line_chart(&o, s, n, err), err) != 0) return -1;
    /* NDCG@10 per objective, one line per ranking */
    double xo[N_OBJ] = {0, 1, 2, 3, 4}, yo[MAX_RESULTS][N_OBJ];
    n = 0;
    for (int i = 0; i < oc->n_results && n < MTR_PLOT_MAX_SERIES; i++) {
        const strategy_result *r = &oc->mean[i];
        if (r->strategy < 0) continue;
        for (int k = 0; k < N_OBJ; k++) yo[n][k] = r->m.ndcg[k];
        s[n] = (mtr_plot_series){r->name, xo, yo[n], N_OBJ};
        n++;
    }
    mtr_plot_options p = {"NDCG@10 per objective (0 click, 1 cart, 2 fav, 3 purchase, 4 dwell)", "objective",
                          "NDCG@10 (truth; mean over runs)", 0, 0, 0, 1, 0};
    if (n > 0 && write_svg(a->report, "ndcg_per_objective.svg", mtr_svg_line_chart(&p, s, n, err), err) != 0) return -1;
    return 0;
}

static const strategy_result *find_result(const outcome *oc, const char *name) {
    for (int i = 0; i < oc->n_results; i++)
        if (strcmp(oc->mean[i].name, name) == 0) return &oc->mean[i];
    return NULL;
}

int mo_write_readme(const mo_args *a, const outcome *oc, const char *cmd, mtr_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/README.md", a->report);
    mtr_atomic_file af;
    if (mtr_atomic_open(&af, path, err) != 0) return -1;
    FILE *o = af.f;
    fprintf(o, "# Multi-objective ranking: fusion, rules and learning to rank, head to head\n\n");
    fprintf(o, "Generated by `%s` (mtrank %s). docs/multiobjective.md explains the setup and discusses the "
               "results.\n\n", cmd, MTR_VERSION_STRING);
    fprintf(o, "- Wall time: **%.1f s** (%.1f min) with %d jobs: data %.1f s, training %.1f s (%d trainings).\n",
            oc->wall, oc->wall / 60, a->jobs, oc->data_seconds, oc->train_seconds, oc->n_jobs);
    fprintf(o, "- Simulated sessions (data seed %llu): %llu training, %llu validation and %llu test requests of %d "
               "candidates (%zu, %zu and %zu rows); %d users, %d items. %d run%s: every model trained with the "
               "run's seeds (from --seed %llu), the data the same.\n",
            (unsigned long long)a->data_seed, (unsigned long long)a->requests, (unsigned long long)a->valid_requests,
            (unsigned long long)a->test_requests, a->list_length, oc->n_train, oc->n_valid, oc->n_test, a->users,
            a->items, oc->runs, oc->runs == 1 ? "" : "s", (unsigned long long)a->seed);
    fprintf(o, "- Test metrics from the simulator's truth (no position bias), means over the %llu test requests: "
               "NDCG@10 per objective (relevance: true_click; true_click x true_cart, x true_fav, x true_purchase; "
               "dwell: utility_engagement / the list's largest), purchases@10 (sum of true_click x true_purchase), "
               "GMV@10 (sum of utility_gmv = price x true_click x true_purchase), distinct categories, and how many "
               "promoted, new (< 7 days) and low-quality items the top 10 holds.\n",
            (unsigned long long)a->test_requests);
    fprintf(o, "- Cost: parameters; scoring (`model us/1k`) and fusion + rules (`rank us/1k`) wall time per 1000 "
               "candidates, measured request by request (%d candidates each) through `mtr_rank_request` on one "
               "thread (LambdaMART: features, trees and `mtr_rank_scored`).\n", a->list_length);
    fprintf(o, "- Formula (per-objective and mmoe): `%s`; parameters searched (%s, %d points, ranges `%s`) on the "
               "validation requests for the best **%s@10 from logged outcomes**. Rules: `%s`.\n\n",
            a->formula, a->search, a->budget, a->ranges, a->target, a->rules);
    fprintf(o, "## Results (mean over %d run%s)\n\n", oc->runs, oc->runs == 1 ? "" : "s");
    mo_print_table(o, oc, oc->mean, oc->sd, oc->n_results, 1);
    fprintf(o, "\n`logged` is the logging policy's order, `oracle-gmv` the candidates sorted by their true expected "
               "GMV (the best GMV@10 there is without rules).\n\n");
    if (oc->runs > 1) {
        fprintf(o, "Standard deviation over the runs:\n\n| ranking | NDCG@10 click | purchase | purchases@10 | GMV@10 | "
                   "categories@10 |\n|---|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < oc->n_results; i++)
            if (oc->mean[i].strategy >= 0)
                fprintf(o, "| %s | %.4f | %.4f | %.4f | %.3f | %.2f |\n", oc->mean[i].name, oc->sd[i].m.ndcg[0],
                        oc->sd[i].m.ndcg[3], oc->sd[i].m.purchases, oc->sd[i].m.gmv, oc->sd[i].m.categories);
        fprintf(o, "\n");
    }
    fprintf(o, "![GMV@10 against categories](gmv_vs_diversity.svg)\n\n![NDCG per objective](ndcg_per_objective.svg)\n\n");
    fprintf(o, "## Rules\n\nCandidates each rule acted on, per request (of all %d, not only the top 10; mean over runs):\n\n"
               "| ranking |", a->list_length);
    for (int r = 0; r < oc->n_rules; r++) fprintf(o, " `%s` |", oc->rule_desc[r]);
    fprintf(o, "\n|---|");
    for (int r = 0; r < oc->n_rules; r++) fprintf(o, "---:|");
    fprintf(o, "\n");
    for (int i = 0; i < oc->n_results; i++) {
        const strategy_result *r = &oc->mean[i];
        if (!r->rules) continue;
        fprintf(o, "| %s |", r->name);
        for (int k = 0; k < r->n_rules; k++) fprintf(o, " %.2f |", r->acted[k]);
        fprintf(o, "\n");
    }
    if (oc->n_ablation > 0) {
        fprintf(o, "\nWhat each rule costs: %s (run 0) ranked with no rules, all rules, all but one, and one alone:\n\n",
                STRATEGY_NAMES[oc->ablation_strategy]);
        mo_print_table(o, oc, oc->ablation, NULL, oc->n_ablation, 1);
    }
    fprintf(o, "\n## Fusion parameters found\n\n| strategy | run | parameters | validation %s@10 (logged) | at the "
               "ranges' centres |\n|---|---:|---|---:|---:|\n", a->target);
    for (int r = 0; r < oc->runs; r++)
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!oc->has[s] || (s != S_PER_OBJECTIVE && s != S_MMOE)) continue;
            const fusion_fit *f = &oc->fit[r * N_STRATEGIES + s];
            fprintf(o, "| %s | %d | ", STRATEGY_NAMES[s], r);
            for (int k = 0; k < oc->rg.n; k++) fprintf(o, "%s%s = %.4g", k ? ", " : "", oc->rg.names[k], f->values[k]);
            fprintf(o, " | %.4f | %.4f |\n", f->valid_metric, f->default_metric);
        }
    fprintf(o, "\n## Trainings\n\n| model | run | parameters | epochs (trees) run | kept | validation metric | value | "
               "seconds |\n|---|---:|---:|---:|---:|---|---:|---:|\n");
    for (int i = 0; i < oc->n_jobs; i++) {
        const job *j = &oc->jobs[i];
        fprintf(o, "| %s | %d | %zu | %d | %d | %s | %.4f | %.1f |\n", mo_job_name(j), j->run, j->params, j->epochs,
                j->best_epoch, job_metric(j), j->valid_metric, j->seconds);
    }
    if (oc->mmoe_path[0])
        fprintf(o, "\nThe MMoE of run 0 (%.0f forward FLOPs per candidate) is saved as `%s` for "
                   "`bench_mtrank rank-model --model`.\n", oc->mmoe_flops, oc->mmoe_path);
    fprintf(o, "\nEvery number is in [results.csv](results.csv).\n");
    const strategy_result *lo = find_result(oc, "logged"), *or = find_result(oc, "oracle-gmv");
    if (lo && or)
        fprintf(o, "\nFor scale: the logged order gives GMV@10 %.3f and the oracle %.3f.\n", lo->m.gmv, or->m.gmv);
    if (ferror(o)) {
        mtr_atomic_abort(&af);
        snprintf(err->message, sizeof err->message, "%.900s: write failed", path);
        return -1;
    }
    return mtr_atomic_commit(&af, err);
}

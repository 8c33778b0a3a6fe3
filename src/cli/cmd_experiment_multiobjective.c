/* cmd_experiment_multiobjective.c - `mtrank experiment multiobjective`: issue 5's head-to-head of the ways
 * to turn many predicted objectives into one ordered list, on simulated sessions whose truth is known
 * (docs/sessions-simulator.md). One world, three request streams: train, validation, test.
 *
 * Strategies, each ranked without and with the rules file (data/multiobjective/default.rules):
 *   per-objective  one single-task network per objective (click, cart, fav, purchase binary; dwell
 *                  regression), each early-stopped on its own validation metric; scores fused by the formula
 *   bpr            one network trained on preference pairs from the objective order (purchase > cart > fav >
 *                  click > impression) within a request; its score ranks
 *   lambdamart     boosted trees on dense features (item fields, ids as numbers, per-id statistics of the
 *                  training stream) with graded relevance 4..0 from the same order
 *   mmoe           one MMoE with a tower per objective; its outputs fused by the same formula
 * The formula's parameters for per-objective and mmoe are found by mtr_fusion_search on the validation
 * requests, maximising --target computed from LOGGED outcomes (what a team has); every model is
 * early-stopped on logged validation outcomes too. Test metrics use the simulator's TRUTH (position-free
 * probabilities), so no position bias: NDCG@10 per objective, purchases@10, GMV@10, distinct categories@10,
 * and cost (parameters; scoring and ranking time per 1000 candidates, measured through mtr_rank_request).
 *
 * Trainings run as --jobs concurrent single-threaded jobs; the results do not depend on --jobs. Test
 * ranking and timing run afterwards on one thread. Output: a table (or --json) and a report folder.
 *
 * This file holds the options and the command driver; the pieces it drives are in multiobjective_*.c
 * (multiobjective.h lists them). */
#include <errno.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/data_prep.h"
#include "cli/multiobjective.h"
#include "cli/options.h"
#include "cli/report.h"
#include "util/error.h"

static const char DEFAULT_FORMULA[] =
    "(purchase + a_cart * cart + a_fav * fav + a_click * click) * price ^ p * (1 + max(dwell, 0) / 60) ^ d";
static const char DEFAULT_RANGES[] = "a_cart=0.001:3:log,a_fav=0.001:3:log,a_click=0.0001:1:log,p=0:1.5,d=0:2";

static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, n - used, fmt, ap);
    va_end(ap);
}

static void command_line(int argc, char **argv, char *out, size_t n) {
    snprintf(out, n, "mtrank");
    for (int i = 1; i < argc; i++) {
        if (!argv[i][0] || strpbrk(argv[i], " \t'\"$\\|&;<>*?`()^")) append(out, n, " '%s'", argv[i]);
        else append(out, n, " %s", argv[i]);
    }
}

/* ---------------------------------------------------------------- the command */

static int parse_strategies(const char *list, int has[N_STRATEGIES], char *msg, size_t ms) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    memset(has, 0, N_STRATEGIES * sizeof *has);
    int any = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int s = 0; s < N_STRATEGIES; s++)
            if (strcmp(tok, STRATEGY_NAMES[s]) == 0) found = s;
        if (found < 0) {
            snprintf(msg, ms, "--strategies: unknown strategy '%s' (per-objective, bpr, lambdamart, mmoe)", tok);
            return -1;
        }
        has[found] = any = 1;
    }
    if (!any) {
        snprintf(msg, ms, "--strategies: name at least one");
        return -1;
    }
    return 0;
}


static char *read_text(const char *path, mtr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->message, sizeof err->message, "%.900s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0, n;
    char *s = malloc(cap);
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0)
        if ((len += n) + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
    int bad = !s || ferror(f);
    fclose(f);
    if (bad) {
        free(s);
        snprintf(err->message, sizeof err->message, "%.900s: cannot read", path);
        return NULL;
    }
    s[len] = '\0';
    return s;
}

/* Rules text of the file's rules in canonical form: all but `skip` (-1: none), or only `only` (>= 0). */
static void rules_subset(const outcome *oc, int skip, int only, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int r = 0; r < oc->n_rules; r++)
        if (r != skip && (only < 0 || r == only)) append(buf, cap, "%s\n", oc->rule_desc[r]);
}

int cmd_experiment_multiobjective(int argc, char **argv) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    mo_args a;
    memset(&a, 0, sizeof a);
    a.requests = 30000;
    a.valid_requests = 5000;
    a.test_requests = 5000;
    a.list_length = 100;
    a.users = 100000;
    a.items = 200000;
    a.data_seed = 1;
    a.seed = 1;
    a.runs = 3;
    a.jobs = cpus > 0 ? (int)cpus : 1;
    a.strategies = "per-objective,bpr,lambdamart,mmoe";
    a.rules = "data/multiobjective/default.rules";
    a.formula = DEFAULT_FORMULA;
    a.ranges = DEFAULT_RANGES;
    a.target = "gmv";
    a.search = "random";
    a.budget = 200;
    a.order = "purchase,cart,fav,click";
    a.epochs = 10;
    a.patience = 2;
    a.batch = 1024;
    a.lr = 1e-3f;
    a.embedding = 8;
    a.units = 32;
    a.experts = 8;
    a.expert_units = 32;
    a.towers = 16;
    a.mmoe_main = "purchase";
    a.bpr_negatives = 10;
    a.trees = 300;
    a.leaves = 31;
    a.cache = "mtrank-cache";
    a.report = "reports/multiobjective";
    cli_option opts[] = {
        {"requests", CLI_U64, &a.requests, NULL, 0, 0, "training requests (simulated stream 0)"},
        {"valid-requests", CLI_U64, &a.valid_requests, NULL, 0, 0, "validation requests (stream 1): early stopping, fusion search"},
        {"test-requests", CLI_U64, &a.test_requests, NULL, 0, 0, "test requests (stream 2): every reported metric"},
        {"list-length", CLI_INT, &a.list_length, NULL, 10, MTR_SESSIONS_MAX_LIST, "candidates per request"},
        {"users", CLI_INT, &a.users, NULL, 100, 100000000, "simulated users"},
        {"items", CLI_INT, &a.items, NULL, 100, 100000000, "simulated items"},
        {"data-seed", CLI_U64, &a.data_seed, NULL, 0, 0, "seed of the simulated world"},
        {"seed", CLI_U64, &a.seed, NULL, 0, 0, "base seed of the models, pair sampling and the search"},
        {"runs", CLI_INT, &a.runs, NULL, 1, 100, "trainings of every model, each run with its own seeds"},
        {"jobs", CLI_INT, &a.jobs, NULL, 1, 256, "trainings at once (one thread each)"},
        {"strategies", CLI_STRING, &a.strategies, NULL, 0, 0, "per-objective, bpr, lambdamart, mmoe"},
        {"rules", CLI_STRING, &a.rules, NULL, 0, 0, "rules file of the +rules rankings"},
        {"formula", CLI_STRING, &a.formula, NULL, 0, 0, "fusion formula of per-objective and mmoe"},
        {"ranges", CLI_STRING, &a.ranges, NULL, 0, 0, "its parameters: name=lo:hi[:log],..."},
        {"target", CLI_STRING, &a.target, NULL, 0, 0, "validation metric the search maximises: gmv, purchases, ndcg"},
        {"search", CLI_STRING, &a.search, NULL, 0, 0, "random or grid"},
        {"budget", CLI_INT, &a.budget, NULL, 1, 1000000, "points the search evaluates"},
        {"order", CLI_STRING, &a.order, NULL, 0, 0, "objective order of BPR pairs and LambdaMART grades, best first"},
        {"epochs", CLI_INT, &a.epochs, NULL, 1, 1000, "epochs at most (networks)"},
        {"patience", CLI_INT, &a.patience, NULL, 1, 1000, "epochs without a better validation metric before stopping"},
        {"batch", CLI_INT, &a.batch, NULL, 1, 1 << 20, "batch size (pairs for BPR)"},
        {"lr", CLI_FLOAT, &a.lr, NULL, 1e-9, 100, "Adam learning rate"},
        {"embedding", CLI_INT, &a.embedding, NULL, 1, 1024, "embedding size per field"},
        {"units", CLI_INT, &a.units, NULL, 1, 65536, "bottom layer of each per-objective and the BPR network"},
        {"experts", CLI_INT, &a.experts, NULL, 1, 256, "MMoE experts"},
        {"expert-units", CLI_INT, &a.expert_units, NULL, 1, 65536, "units per MMoE expert"},
        {"towers", CLI_INT, &a.towers, NULL, 1, 65536, "tower hidden units (every network)"},
        {"mmoe-main", CLI_STRING, &a.mmoe_main, NULL, 0, 0, "objective whose validation AUC early-stops MMoE"},
        {"bpr-negatives", CLI_INT, &a.bpr_negatives, NULL, 0, 1000, "impressions paired with each positive"},
        {"trees", CLI_INT, &a.trees, NULL, 1, 100000, "LambdaMART trees at most"},
        {"leaves", CLI_INT, &a.leaves, NULL, 2, 65536, "LambdaMART leaves per tree"},
        {"cache", CLI_STRING, &a.cache, NULL, 0, 0, "directory for simulated and compiled data"},
        {"report", CLI_STRING, &a.report, NULL, 0, 0, "report folder (README.md, SVG, CSV), or none"},
        {"json", CLI_FLAG, &a.json, NULL, 0, 0, "print results as JSON"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, 0, 0, "no progress output"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "experiment multiobjective [--requests N] [--runs N] [--jobs N] [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "Issue 5's comparison on simulated sessions: per-objective networks + fusion, BPR, LambdaMART and\n"
                  "MMoE + fusion, each without and with rules; NDCG@10 per objective, purchases@10, GMV@10 and\n"
                  "categories@10 from the simulator's truth, and cost. See docs/multiobjective.md.",
                  opts, n_opts);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n_opts, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("experiment", msg);
    int has[N_STRATEGIES], order[4], n_order, target, mmoe_main = -1;
    outcome *oc = calloc(1, sizeof *oc);
    if (!oc) return usage_error("experiment", "out of memory");
    if (parse_strategies(a.strategies, has, msg, sizeof msg) != 0 || mo_parse_order(a.order, order, &n_order, msg, sizeof msg) != 0 ||
        mo_parse_ranges(a.ranges, &oc->rg, msg, sizeof msg) != 0) {
        free(oc);
        return usage_error("experiment", msg);
    }
    target = strcmp(a.target, "gmv") == 0 ? TARGET_GMV : strcmp(a.target, "purchases") == 0 ? TARGET_PURCHASES
             : strcmp(a.target, "ndcg") == 0 ? TARGET_NDCG : -1;
    for (int t = 0; t < MTR_SESSIONS_DWELL; t++)
        if (strcmp(a.mmoe_main, mtr_sessions_task_name(t)) == 0) mmoe_main = t;
    const char *bad = target < 0 ? "--target: gmv, purchases or ndcg"
                      : mmoe_main < 0 ? "--mmoe-main: click, cart, fav or purchase"
                      : strcmp(a.search, "random") && strcmp(a.search, "grid") ? "--search: random or grid"
                      : a.requests < 10 || a.valid_requests < 10 || a.test_requests < 10
                          ? "--requests, --valid-requests, --test-requests: at least 10 each"
                          : NULL;
    if (bad) {
        free(oc);
        return usage_error("experiment", bad);
    }
    memcpy(oc->has, has, sizeof has);
    oc->runs = a.runs;

    mtr_error err = {{0}};
    int rc = 1;
    stream tr, va, te;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    memset(&te, 0, sizeof te);
    char csv[3][1024], spec_path[3][1100];
    mtr_spec *spec = NULL;
    mtr_schema *schema = NULL;
    mtr_dataset *ds[3] = {NULL, NULL, NULL};
    id_stats st;
    memset(&st, 0, sizeof st);
    float *lm_tx = NULL, *lm_vx = NULL, *rel_t = NULL, *rel_v = NULL, *Xv = NULL;
    size_t *grp_t = NULL, *grp_v = NULL;
    job *jobs = NULL;
    int n_jobs = 0;
    run_models *rms = NULL;
    char *rules_text = NULL, *subset = NULL;
    double t0 = mtr_seconds_now();
    int live = !a.quiet && !a.json && isatty(STDERR_FILENO);
    int talk = !a.quiet && !a.json;

    /* the rules, checked now rather than after the trainings: against the fused variables and against BPR's
       (its score is the variable "bpr") */
    if (!(rules_text = read_text(a.rules, &err))) goto fail;
    {
        static const char *const bpr_vars[5] = {"bpr", "price", "age_days", "promotion", "low_quality"};
        static const mtr_rank_fields fused = {VARS, N_VARS, KEYS, N_KEYS}, bpr = {bpr_vars, 5, KEYS, N_KEYS};
        mtr_rules *ru = mtr_rules_parse(rules_text, a.rules, &fused, &err);
        mtr_rules *rb = ru && has[S_BPR] ? mtr_rules_parse(rules_text, a.rules, &bpr, &err) : NULL;
        int ok = ru && (!has[S_BPR] || rb);
        if (ok) {
            oc->n_rules = mtr_rules_count(ru);
            for (int r = 0; r < oc->n_rules; r++) mtr_rules_describe(ru, r, oc->rule_desc[r], sizeof oc->rule_desc[r]);
        }
        mtr_rules_free(ru);
        mtr_rules_free(rb);
        if (!ok) goto fail;
    }

    /* ---- data: three streams of one world */
    if (talk) fprintf(stderr, "simulating %llu + %llu + %llu requests of %d candidates (cached in %s)...\n",
                      (unsigned long long)a.requests, (unsigned long long)a.valid_requests,
                      (unsigned long long)a.test_requests, a.list_length, a.cache);
    uint64_t sizes[3] = {a.requests, a.valid_requests, a.test_requests};
    stream *streams[3] = {&tr, &va, &te};
    for (int k = 0; k < 3; k++)
        if (mo_load_stream(&a, (uint64_t)k, sizes[k], streams[k], csv[k], sizeof csv[k], spec_path[k], &err) != 0) goto fail;
    if (!(spec = mtr_spec_load(spec_path[0], &err))) goto fail;
    if (!(schema = mtr_schema_fit(spec, csv[0], &err))) goto fail;
    for (int k = 0; k < 3; k++) {
        static const char *const what[3] = {"training stream", "validation stream", "test stream"};
        if (!(ds[k] = prepare_dataset(schema, csv[k], a.cache, &err))) goto fail;
        if (mo_check_stream(streams[k], ds[k], schema, what[k], &err) != 0) goto fail;
        mo_set_grades(streams[k], order, n_order);
    }
    oc->n_train = tr.n, oc->n_valid = va.n, oc->n_test = te.n;
    mtr_sessions_config world;
    mo_sessions_config(&a, 0, a.requests, &world);
    /* LambdaMART's inputs: features, graded relevance, groups */
    if (has[S_LAMBDAMART]) {
        if (mo_id_stats_build(&st, &tr, &world, &err) != 0) goto fail;
        lm_tx = mo_lm_matrix(&tr, &st, 1);
        lm_vx = mo_lm_matrix(&va, &st, 0);
        rel_t = malloc(tr.n * sizeof *rel_t);
        rel_v = malloc(va.n * sizeof *rel_v);
        grp_t = malloc((tr.n_req + 1) * sizeof *grp_t);
        grp_v = malloc((va.n_req + 1) * sizeof *grp_v);
        if (!lm_tx || !lm_vx || !rel_t || !rel_v || !grp_t || !grp_v) {
            snprintf(err.message, sizeof err.message, "out of memory for LambdaMART features");
            goto fail;
        }
        for (size_t i = 0; i < tr.n; i++) rel_t[i] = tr.grade[i];
        for (size_t i = 0; i < va.n; i++) rel_v[i] = va.grade[i];
        memcpy(grp_t, tr.start, (tr.n_req + 1) * sizeof *grp_t);
        memcpy(grp_v, va.start, (va.n_req + 1) * sizeof *grp_v);
    }
    double dwell_var = 0, dwell_mean = 0;
    for (size_t i = 0; i < tr.n; i++) dwell_mean += tr.label[i * N_OBJ + MTR_SESSIONS_DWELL];
    dwell_mean /= (double)tr.n;
    for (size_t i = 0; i < tr.n; i++) {
        double d = tr.label[i * N_OBJ + MTR_SESSIONS_DWELL] - dwell_mean;
        dwell_var += d * d;
    }
    dwell_var /= (double)tr.n;
    oc->data_seconds = mtr_seconds_now() - t0;

    /* ---- trainings: every run's, the longest first */
    int per_run = has[S_LAMBDAMART] + has[S_MMOE] + has[S_BPR] + (has[S_PER_OBJECTIVE] ? N_OBJ : 0);
    jobs = calloc((size_t)(a.runs * per_run), sizeof *jobs);
    rms = calloc((size_t)a.runs, sizeof *rms);
    oc->fit = calloc((size_t)a.runs * N_STRATEGIES, sizeof *oc->fit);
    oc->res = calloc((size_t)a.runs * MAX_RESULTS, sizeof *oc->res);
    subset = malloc((size_t)(MTR_MAX_RULES + 1) * 160);
    if (!jobs || !rms || !oc->fit || !oc->res || !subset) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto fail;
    }
    for (int kind = JOB_LAMBDAMART; kind <= JOB_OBJECTIVE; kind++)
        for (int r = 0; r < a.runs; r++) {
            static const int strategy_of[4] = {S_LAMBDAMART, S_MMOE, S_BPR, S_PER_OBJECTIVE};
            /* LambdaMART has no randomness at these settings (all features and groups, bin edges from every
               row up to 200000 sampled ones): one training serves every run */
            if (!has[strategy_of[kind]] || (kind == JOB_LAMBDAMART && r > 0)) continue;
            for (int t = 0; t < (kind == JOB_OBJECTIVE ? N_OBJ : 1); t++) {
                jobs[n_jobs].kind = kind;
                jobs[n_jobs].task = t;
                jobs[n_jobs++].run = r;
            }
        }
    oc->jobs = jobs;
    oc->n_jobs = n_jobs;
    shared sh = {&a, schema, mtr_view_all(ds[0]), mtr_view_all(ds[1]), &tr, &va, order, n_order, mmoe_main,
                 dwell_var > 0 ? (float)(1.0 / dwell_var) : 1.0f, lm_tx, lm_vx, grp_t, grp_v, rel_t, rel_v};
    if (talk) fprintf(stderr, "data ready in %.1fs (%zu + %zu + %zu rows); %d trainings (%d runs) on %d jobs...\n",
                      oc->data_seconds, tr.n, va.n, te.n, n_jobs, a.runs, a.jobs);
    double t_train = mtr_seconds_now();
    int done_jobs = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(a.jobs)
    for (int j = 0; j < n_jobs; j++) {
        mo_run_job(&sh, &jobs[j]);
#pragma omp critical
        {
            done_jobs++;
            if (live) {
                fprintf(stderr, "\r%d/%d trainings done (last: %s, run %d), %.0fs   ", done_jobs, n_jobs,
                        mo_job_name(&jobs[j]), jobs[j].run, mtr_seconds_now() - t_train);
                fflush(stderr);
            }
        }
    }
    if (live) fprintf(stderr, "\r%79s\r", "");
    oc->train_seconds = mtr_seconds_now() - t_train;
    for (int j = 0; j < n_jobs; j++) {
        if (jobs[j].failed) {
            err = jobs[j].error;
            mtr_fail_prefix(&err, "%s (run %d)", mo_job_name(&jobs[j]), jobs[j].run);
            goto fail;
        }
        run_models *m = &rms[jobs[j].run];
        if (jobs[j].kind == JOB_LAMBDAMART) m->lm = &jobs[j];
        if (jobs[j].kind == JOB_MMOE) m->mmoe = &jobs[j];
        if (jobs[j].kind == JOB_BPR) m->bpr = &jobs[j];
        if (jobs[j].kind == JOB_OBJECTIVE) m->obj[jobs[j].task] = &jobs[j];
    }
    for (int r = 1; r < a.runs; r++) rms[r].lm = rms[0].lm;

    /* ---- per run: fusion parameters on the validation requests, then every ranking of the test requests */
    int n_strat = 0;
    for (int s = 0; s < N_STRATEGIES; s++) n_strat += has[s];
    oc->n_results = 2 * n_strat + 2;
    for (int r = 0; r < a.runs; r++) {
        if (talk) fprintf(stderr, "run %d: fusion search (%s, %d points, %s@10 logged), then %zu test requests...\n", r,
                          a.search, a.budget, a.target, te.n_req);
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!has[s] || (s != S_PER_OBJECTIVE && s != S_MMOE)) continue;
            const float *cols[N_OBJ];
            size_t strides[N_OBJ];
            for (int o = 0; o < N_OBJ; o++) {
                cols[o] = s == S_MMOE ? rms[r].mmoe->valid_scores + o : rms[r].obj[o]->valid_scores;
                strides[o] = s == S_MMOE ? N_OBJ : 1;
            }
            free(Xv);
            if (!(Xv = mo_valid_matrix(&va, cols, strides))) {
                snprintf(err.message, sizeof err.message, "out of memory");
                goto fail;
            }
            if (mo_fit_fusion(&a, &oc->rg, target, &va, Xv, a.seed + (uint64_t)r, &oc->fit[r * N_STRATEGIES + s], &err) != 0)
                goto fail;
        }
        int k = 0;
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!has[s]) continue;
            for (int with_rules = 0; with_rules < 2; with_rules++) {
                strategy_result *res = &oc->res[r * oc->n_results + k++];
                snprintf(res->name, sizeof res->name, "%s%s", STRATEGY_NAMES[s], with_rules ? "+rules" : "");
                if (mo_test_strategy(&a, ds[2], &te, &st, &rms[r], s, &oc->rg, &oc->fit[r * N_STRATEGIES + s],
                                     with_rules ? rules_text : NULL, res, &err) != 0) {
                    mtr_fail_prefix(&err, "testing %s (run %d)", res->name, r);
                    goto fail;
                }
            }
        }
    }
    {   /* references, the same for every run: the logging policy's order and the GMV oracle */
        float *sc = malloc((te.n + 1) * sizeof *sc);
        if (!sc) {
            snprintf(err.message, sizeof err.message, "out of memory");
            goto fail;
        }
        for (int k = 0; k < 2; k++) {
            strategy_result *res = &oc->res[2 * n_strat + k];
            snprintf(res->name, sizeof res->name, "%s", k ? "oracle-gmv" : "logged");
            res->strategy = -1;
            for (size_t q = 0; q < te.n_req; q++)
                for (size_t i = te.start[q]; i < te.start[q + 1]; i++)
                    sc[i] = k ? te.truth[i * MTR_SESSIONS_TRUTH + MTR_SESSIONS_UTILITY_GMV] : -(float)(i - te.start[q]);
            if (mo_test_scored(&a, &te, NULL, NULL, sc, NULL, res, &err) != 0) {
                free(sc);
                goto fail;
            }
            for (int r = 1; r < a.runs; r++) oc->res[r * oc->n_results + 2 * n_strat + k] = *res;
        }
        free(sc);
    }
    /* ---- what each rule costs, on run 0's MMoE (else per-objective) */
    oc->ablation_strategy = has[S_MMOE] ? S_MMOE : has[S_PER_OBJECTIVE] ? S_PER_OBJECTIVE : -1;
    if (oc->ablation_strategy >= 0 && oc->n_rules > 0) {
        int s = oc->ablation_strategy;
        for (int i = 0; i < n_strat * 2; i++)
            if (oc->res[i].strategy == s) {
                oc->ablation[oc->n_ablation] = oc->res[i];
                snprintf(oc->ablation[oc->n_ablation++].name, sizeof oc->ablation[0].name, "%s",
                         oc->res[i].rules ? "all rules" : "no rules");
            }
        for (int only = 0; only < 2; only++)
            for (int k = 0; k < oc->n_rules; k++) {
                strategy_result *res = &oc->ablation[oc->n_ablation++];
                rules_subset(oc, only ? -1 : k, only ? k : -1, subset, (size_t)(MTR_MAX_RULES + 1) * 160);
                char kind[32];
                snprintf(kind, sizeof kind, "%.20s", oc->rule_desc[k] + 5); /* after "rule " */
                kind[strcspn(kind, " ")] = '\0';
                snprintf(res->name, sizeof res->name, "%s %.16s (%d)", only ? "only" : "without", kind, k);
                if (mo_test_strategy(&a, ds[2], &te, &st, &rms[0], s, &oc->rg, &oc->fit[s], subset, res, &err) != 0) {
                    mtr_fail_prefix(&err, "rule ablation");
                    goto fail;
                }
            }
    }
    mo_aggregate(oc);
    if (rms[0].mmoe) {
        oc->mmoe_flops = mtr_model_flops_per_sample(rms[0].mmoe->model);
        snprintf(oc->mmoe_path, sizeof oc->mmoe_path, "%s/multiobjective-mmoe.mtrm", a.cache);
        if (mtr_model_save(rms[0].mmoe->model, oc->mmoe_path, &err) != 0) goto fail;
    }
    oc->wall = mtr_seconds_now() - t0;

    /* ---- output */
    if (strcmp(a.report, "none") != 0) {
        char cmd[4096];
        command_line(argc, argv, cmd, sizeof cmd);
        if (report_make_dirs(a.report, &err) != 0 || mo_write_csv(&a, oc, &err) != 0 || mo_write_plots(&a, oc, &err) != 0 ||
            mo_write_readme(&a, oc, cmd, &err) != 0)
            goto fail;
    }
    if (a.json) {
        json_t *doc = mo_json_doc(&a, oc);
        report_json_print(doc);
        json_decref(doc);
    } else {
        printf("Multi-objective ranking on simulated sessions: %zu train, %zu validation, %zu test requests of %d; "
               "test metrics from the truth, mean over %d run%s\n\n",
               tr.n_req, va.n_req, te.n_req, a.list_length, a.runs, a.runs == 1 ? "" : "s");
        mo_print_table(stdout, oc, oc->mean, oc->sd, oc->n_results, 0);
        if (oc->n_ablation > 0) {
            printf("\nrule ablation (%s, run 0):\n", STRATEGY_NAMES[oc->ablation_strategy]);
            mo_print_table(stdout, oc, oc->ablation, NULL, oc->n_ablation, 0);
        }
        printf("\nwall time %.1fs (data %.1fs, training %.1fs), %d jobs", oc->wall, oc->data_seconds,
               oc->train_seconds, a.jobs);
        if (strcmp(a.report, "none") != 0) printf("; report in %s/README.md", a.report);
        printf("\n");
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank experiment multiobjective: %s\n", err.message);
done:
    for (int j = 0; j < n_jobs; j++) {
        mtr_model_free(jobs[j].model);
        mtr_lambdamart_free(jobs[j].lm);
        free(jobs[j].valid_scores);
    }
    free(jobs);
    free(rms);
    free(rules_text);
    free(subset);
    free(Xv);
    free(lm_tx);
    free(lm_vx);
    free(rel_t);
    free(rel_v);
    free(grp_t);
    free(grp_v);
    mo_id_stats_free(&st);
    for (int k = 0; k < 3; k++) mtr_dataset_free(ds[k]);
    mtr_schema_free(schema);
    mtr_spec_free(spec);
    mo_stream_free(&tr);
    mo_stream_free(&va);
    mo_stream_free(&te);
    free(oc->fit);
    free(oc->res);
    free(oc);
    return rc;
}

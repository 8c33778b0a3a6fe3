/* multiobjective.h - private header of `mtrank experiment multiobjective` (not part of the library; only the
 * files below include it): the constants and types its files share, and the functions that cross them.
 * The pieces, one purpose each:
 *   cmd_experiment_multiobjective.c  options and the command driver: data, trainings, fusion search, test
 *                                    rankings, rule ablation and output, in that order
 *   multiobjective_data.c            the three simulated streams, the objective order (grades), the test
 *                                    metrics from the truth and the validation metrics from logged outcomes,
 *                                    LambdaMART's features
 *   multiobjective_train.c           one training job: a per-objective network, BPR, LambdaMART or MMoE, each
 *                                    early-stopped on its validation metric
 *   multiobjective_rank.c            the fusion formula's parameter search on the validation requests, and
 *                                    ranking the test requests with each strategy, without and with the rules
 *   multiobjective_report.c          averages over runs, the table, JSON, results.csv, SVG plots, README.md
 * Functions that cross files are named mo_*; everything else stays static in its file. */
#ifndef MTR_CLI_MULTIOBJECTIVE_H
#define MTR_CLI_MULTIOBJECTIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/commands.h"
#include "mtrank.h"

/* ---- constants and names */
#define N_OBJ MTR_SESSIONS_TASKS /* click, cart, fav, purchase, dwell */
#define TOP 10                   /* every list metric is @10 */
#define N_VARS 9                 /* the formula's variables: 5 model outputs, 4 item fields */
#define N_KEYS 3                 /* category, brand, shop */
#define N_LM 33                  /* LambdaMART features */
#define MAX_RANGES 16            /* formula parameters searched */
#define STAT_SMOOTH 20.0         /* per-id rates shrink towards the global rate with this many impressions */

static const char *const VARS[N_VARS] = {"click", "cart", "fav", "purchase", "dwell",
                                         "price", "age_days", "promotion", "low_quality"};
static const char *const FIELDS[4] = {"price", "age_days", "promotion", "low_quality"};
static const char *const KEYS[N_KEYS] = {"category", "brand", "shop"};

enum { S_PER_OBJECTIVE, S_BPR, S_LAMBDAMART, S_MMOE, N_STRATEGIES };
static const char *const STRATEGY_NAMES[N_STRATEGIES] = {"per-objective", "bpr", "lambdamart", "mmoe"};
enum { TARGET_GMV, TARGET_PURCHASES, TARGET_NDCG };

/* The command's options (their defaults are set in cmd_experiment_multiobjective). */
typedef struct mo_args {
    uint64_t requests, valid_requests, test_requests; /* per stream */
    int list_length;           /* candidates per request */
    int users, items;          /* world size */
    uint64_t data_seed;        /* the world */
    uint64_t seed;             /* models, sampling, search */
    int jobs;                  /* trainings at once */
    const char *strategies;    /* comma-separated */
    const char *rules;         /* rules file */
    const char *formula;       /* fusion formula */
    const char *ranges;        /* its parameters' search ranges */
    const char *target;        /* validation metric the search maximises */
    const char *search;        /* random or grid */
    int budget;                /* search points */
    const char *order;         /* objective order for BPR and LambdaMART, best first */
    int epochs;                /* epochs at most (networks) */
    int patience;              /* epochs without a better validation metric before stopping */
    int batch;                 /* batch size (pairs for BPR) */
    float lr;                  /* Adam learning rate */
    int embedding;             /* embedding per field (every network) */
    int units;                 /* per-objective and BPR networks: bottom layer width */
    int experts, expert_units; /* MMoE */
    int towers;                /* tower hidden width (every network) */
    const char *mmoe_main;     /* task whose validation metric early-stops MMoE */
    int bpr_negatives;         /* impressions sampled per positive */
    int trees, leaves;         /* LambdaMART */
    const char *cache;         /* generated and compiled data */
    const char *report;        /* report folder, or "none" */
    int runs;                  /* trainings of every model, with their own seeds */
    int json;                  /* JSON on stdout instead of the table */
    int quiet;                 /* no progress on stderr */
} mo_args;

/* ---- data (multiobjective_data.c) */

/* Everything the experiment needs per candidate that the compiled rows do not keep raw. Rows are in
 * generation order, which is the order of the CSV and so of the compiled dataset. */
typedef struct stream {
    size_t n, n_req;          /* candidates, requests */
    size_t cap, req_cap;      /* allocated */
    size_t *start;            /* (n_req + 1) request r is rows start[r] .. start[r+1] */
    uint16_t *req_attr;       /* (n_req, 9) age_bucket, gender, city, purchase_power, user_segment, hour,
                                 weekday, device, scene */
    uint32_t *recent;         /* (n_req, MTR_SESSIONS_MAX_BAG) favourite categories */
    uint8_t *n_recent;        /* (n_req) */
    uint32_t *keys;           /* (n, 3) category, brand, shop */
    uint64_t *item;           /* (n) item id */
    float *num;               /* (n, 4) price, age_days, promotion, low_quality */
    float *label;             /* (n, 5) logged click, cart, fav, purchase, dwell */
    float *truth;             /* (n, 8) MTR_SESSIONS_TRUE_* */
    uint8_t *grade;           /* (n) graded relevance from the objective order */
    uint32_t *rows;           /* (n) 0..n-1, so a request is a view slice */
} stream;

/* Test metrics from the truth, summed over lists (divided at the end). */
typedef struct truth_metrics {
    double ndcg[N_OBJ];        /* NDCG@10 per objective */
    double ndcg_lists[N_OBJ];  /* lists with something relevant */
    double purchases, gmv;     /* expected purchases and GMV in the top 10 */
    double categories;         /* distinct categories in the top 10 */
    double promoted, fresh, low_quality; /* such items in the top 10 */
    double shown;              /* items in the top 10 (10 unless drops leave fewer) */
    double lists;              /* lists */
} truth_metrics;

/* Per-id training statistics: impressions and logged clicks, carts and purchases per id, over all
 * training requests and per fold (request index mod STAT_FOLDS). A training row's features use the other
 * folds only (out-of-fold target encoding): with its own request's outcomes counted, a row's label would
 * leak into its features, and leaving just its own row out would leak it in reverse (a clicked row sees a
 * lower rate than an unclicked one of the same item). Validation and test rows use every fold. */
#define STAT_FOLDS 5
#define N_ENTITY 4 /* item, category, brand, shop */

typedef struct id_stats {
    uint32_t size[N_ENTITY];                       /* ids per entity */
    float *v[STAT_FOLDS + 1][N_ENTITY];            /* per fold (last: all) (size, 4): impressions, clicks,
                                                      carts, purchases */
    double rate[3];                                /* global click, cart, purchase rates per impression */
} id_stats;

/* ---- training jobs (multiobjective_train.c) */

/* What a job trains. */
enum { JOB_LAMBDAMART, JOB_MMOE, JOB_BPR, JOB_OBJECTIVE };

/* One training: what it trains, what it gave. */
typedef struct job {
    int kind;                  /* JOB_* */
    int task;                  /* JOB_OBJECTIVE: the objective */
    int run;                   /* which run: its seeds */
    mtr_model *model;          /* trained network (not LambdaMART) */
    mtr_lambdamart *lm;        /* trained trees */
    float *valid_scores;       /* (n_valid, outputs) validation predictions, for the fusion search */
    size_t params;             /* parameters */
    int epochs, best_epoch;    /* epochs (trees for LambdaMART) trained and kept */
    double valid_metric;       /* the job's early-stopping metric at the kept epoch */
    double seconds;            /* training wall time */
    int failed;                /* an error happened (message in error) */
    mtr_error error;           /* what went wrong */
} job;

/* What every training job reads (never writes). */
typedef struct shared {
    const mo_args *a;          /* options */
    const mtr_schema *schema;  /* of every network */
    mtr_view train, valid;     /* compiled rows of the training and validation streams */
    const stream *tr, *va;     /* their side arrays (labels, grades, ids) */
    const int *order;          /* objective order, best first */
    int n_order;               /* its length */
    int mmoe_main;             /* task that early-stops MMoE */
    float dwell_weight;        /* MMoE's dwell loss weight: 1 / variance of the training dwell labels */
    const float *lm_train_x, *lm_valid_x; /* LambdaMART features (n, N_LM) */
    size_t *group_train, *group_valid;    /* request boundaries */
    float *rel_train, *rel_valid;         /* graded relevance */
} shared;

/* ---- fusion and test ranking (multiobjective_rank.c) */

/* The formula's parameters with their search ranges, from --ranges. */
typedef struct ranges {
    int n;                                /* parameters */
    char names[MAX_RANGES][MTR_MAX_NAME]; /* their names (r[] and p[] point here) */
    mtr_param_range r[MAX_RANGES];        /* search ranges */
    mtr_fusion_param p[MAX_RANGES];       /* initial values: the ranges' centres */
} ranges;

/* The fusion search's result for one strategy of one run. */
typedef struct fusion_fit {
    double values[MAX_RANGES]; /* best point */
    double valid_metric;       /* its validation metric */
    double default_metric;     /* the formula at the ranges' centres, for comparison */
} fusion_fit;

/* One ranking of the test requests: its truth metrics and its cost. */
typedef struct strategy_result {
    char name[48];             /* e.g. "mmoe+rules" */
    int strategy;              /* S_*, or -1 for a reference order */
    int rules;                 /* ranked with the rules */
    truth_metrics m;           /* on the test requests */
    int n_rules;               /* rules applied (0 without) */
    double acted[MTR_MAX_RULES]; /* per rule: candidates it acted on, per request */
    size_t params;             /* model parameters */
    double model_us, rank_us;  /* per 1000 candidates: scoring, and fusion + rules */
} strategy_result;

/* The trained models of one run. */
typedef struct run_models {
    job *lm;                   /* LambdaMART (shared by the runs) */
    job *mmoe, *bpr;           /* the run's MMoE and BPR networks */
    job *obj[N_OBJ];           /* its per-objective networks */
} run_models;

/* ---- output (multiobjective_report.c) */

#define MAX_RESULTS (2 * N_STRATEGIES + 2)  /* every strategy without and with rules, two references */
#define MAX_ABLATION (2 * MTR_MAX_RULES + 2) /* no rules, all, each rule left out, each rule alone */

/* Everything the outputs need. */
typedef struct outcome {
    int runs;                  /* training runs (seeds) */
    int n_results;             /* rankings per run, the references last */
    strategy_result *res;      /* (runs, n_results) */
    strategy_result mean[MAX_RESULTS], sd[MAX_RESULTS]; /* over runs (references: one evaluation, sd 0) */
    int has[N_STRATEGIES];     /* strategies run */
    job *jobs;                 /* trainings, run by run */
    int n_jobs;
    fusion_fit *fit;           /* (runs, N_STRATEGIES): per-objective and mmoe */
    ranges rg;                 /* the formula's parameters */
    int n_rules;               /* rules in the rules file */
    char rule_desc[MTR_MAX_RULES][160]; /* each in canonical form */
    int ablation_strategy;     /* strategy of the rule ablation (run 0), -1 for none */
    int n_ablation;
    strategy_result ablation[MAX_ABLATION];
    double wall, data_seconds, train_seconds;
    size_t n_train, n_valid, n_test;
    char mmoe_path[1200];      /* saved MMoE model of run 0, or "" */
    double mmoe_flops;         /* its forward FLOPs per candidate */
} outcome;

/* ---- multiobjective_data.c: streams, objective order, list metrics, LambdaMART features */
void mo_stream_free(stream *s);
void mo_sessions_config(const mo_args *a, uint64_t stream_no, uint64_t requests, mtr_sessions_config *c);
int mo_load_stream(const mo_args *a, uint64_t stream_no, uint64_t requests, stream *s, char *csv, size_t cap,
                   char *spec, mtr_error *err);
int mo_check_stream(const stream *s, const mtr_dataset *ds, const mtr_schema *schema, const char *what,
                    mtr_error *err);
int mo_parse_order(const char *text, int *order, int *n, char *msg, size_t ms);
void mo_set_grades(stream *s, const int *order, int n_order);
void mo_add_truth(truth_metrics *m, const stream *s, size_t req, const uint32_t *order, size_t n_ranked,
                  float *scratch);
void mo_finish_truth(truth_metrics *m);
double mo_logged_metric(int target, const stream *s, size_t req, const uint32_t *order, size_t n_ranked,
                        int *counted, float *scratch);
double mo_logged_metric_of_scores(int target, const stream *s, const float *scores);
void mo_id_stats_free(id_stats *st);
int mo_id_stats_build(id_stats *st, const stream *train, const mtr_sessions_config *world, mtr_error *err);
void mo_lm_features(const stream *s, const id_stats *st, size_t r, size_t i, int oof, float *x);
float *mo_lm_matrix(const stream *s, const id_stats *st, int oof);

/* ---- multiobjective_train.c: one training job; jobs run concurrently (each reads sh, writes only *j) */
void mo_run_job(const shared *sh, job *j);

/* ---- multiobjective_rank.c: fusion and its search, test ranking */
int mo_parse_ranges(const char *text, ranges *out, char *msg, size_t ms);
float *mo_valid_matrix(const stream *va, const float *const cols[N_OBJ], const size_t strides[N_OBJ]);
int mo_fit_fusion(const mo_args *a, const ranges *rg, int target, const stream *va, const float *X,
                  uint64_t seed, fusion_fit *out, mtr_error *err);
int mo_test_scored(const mo_args *a, const stream *te, const id_stats *st, const mtr_lambdamart *lm,
                   const float *scores, const char *rules_text, strategy_result *out, mtr_error *err);
int mo_test_strategy(const mo_args *a, const mtr_dataset *ds, const stream *te, const id_stats *st,
                     const run_models *rm, int s, const ranges *rg, const fusion_fit *fit, const char *rules_text,
                     strategy_result *r, mtr_error *err);

/* ---- multiobjective_report.c: output */
void mo_aggregate(outcome *oc);
void mo_print_table(FILE *o, const outcome *oc, const strategy_result *rows, const strategy_result *sd, int n,
                    int markdown);
const char *mo_job_name(const job *j);
json_t *mo_json_doc(const mo_args *a, const outcome *oc);
int mo_write_csv(const mo_args *a, const outcome *oc, mtr_error *err);
int mo_write_plots(const mo_args *a, const outcome *oc, mtr_error *err);
int mo_write_readme(const mo_args *a, const outcome *oc, const char *cmd, mtr_error *err);

#endif

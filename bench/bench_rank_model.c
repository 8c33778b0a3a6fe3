/* bench_rank_model.c - the whole ranking stage for one request of 1000 candidates on one core, through
 * mtr_rank_request: the MMoE of `mtrank experiment multiobjective` (5 objectives), the experiment's fusion
 * formula and every rule kind (data/multiobjective/default.rules: low-quality drop, exposure cap, promote,
 * new, diversity). Reports the model time against the model's forward FLOPs at this machine's sgemm rate
 * (measured with mtr_sgemm on the input layer's shape, 1000 x D x C, after checking it against the naive
 * reference), and the fusion + rules time (target: under 100 us). The model runs with the input-layer path
 * chosen per batch (what serving uses: a request's user and context fields are one embedding row each, so
 * the projected path applies) and forced dense (the path whose work is the FLOP count).
 *
 * Candidates come from the session simulator (the experiment's world, seed 1): 50 requests of 1000, cycled.
 * Without --model, an MMoE of the experiment's default shape is created with random weights on a schema
 * fitted to them (timing does not depend on the weights); --model takes the experiment's trained one
 * (mtrank-cache/multiobjective-mmoe.mtrm).
 *
 * bench_mmoe.c owns main(); it calls bench_rank_model(argc, argv) with the arguments after "rank-model":
 *   bench_mtrank rank-model [--model FILE] [--rules FILE] [--candidates N] [--requests N] [--json] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "models/model.h"
#include "mtrank.h"
#include "ops/ops.h"
#include "util/parse_number.h"
#include "util/rng.h"
#include "util/clock.h"

int bench_rank_model(int argc, char **argv);

#define RM_LISTS 50 /* distinct requests, cycled */

/* The experiment's defaults (src/cli/cmd_experiment_multiobjective.c): keep them in step. */
#define RM_EMBEDDING 8
#define RM_EXPERTS 8
#define RM_EXPERT_UNITS 32
#define RM_TOWERS 16
static const char RM_FORMULA[] =
    "(purchase + a_cart * cart + a_fav * fav + a_click * click) * price ^ p * (1 + max(dwell, 0) / 60) ^ d";
static const mtr_fusion_param RM_PARAMS[] = {{"a_cart", 0.1}, {"a_fav", 0.01}, {"a_click", 0.05}, {"p", 0.6}, {"d", 1.4}};
static const char *const RM_FIELDS[] = {"price", "age_days", "promotion", "low_quality"};
static const char *const RM_KEYS[] = {"category", "brand", "shop"};

static int rm_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of v[0..n), sorting it */
static double rm_quantile(double *v, int n, double q) {
    qsort(v, (size_t)n, sizeof *v, rm_cmp);
    return v[(int)(q * (n - 1) + 0.5)];
}

/* GFLOP/s of C (M, N) = A (M, K) B (K, N), the forward input layer's shape; median of 7 timings. Returns
 * a negative value when mtr_sgemm disagrees with the reference. */
static double rm_sgemm_rate(int M, int N, int K) {
    float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * N * sizeof(float));
    float *C = malloc((size_t)M * N * sizeof(float)), *R = malloc((size_t)M * N * sizeof(float));
    if (!A || !B || !C || !R) return -1;
    mtr_rng rng;
    mtr_rng_seed(&rng, 1);
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)mtr_rng_normal(&rng);
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)mtr_rng_normal(&rng);
    mtr_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    mtr_sgemm_reference(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, R, N);
    int ok = 1;
    for (size_t i = 0; i < (size_t)M * N; i++)
        if (fabsf(C[i] - R[i]) > 1e-3f * (1.0f + fabsf(R[i]))) ok = 0;
    double t[7];
    int reps = 50;
    for (int r = 0; r < 7 && ok; r++) {
        double t0 = mtr_seconds_now();
        for (int i = 0; i < reps; i++) mtr_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        t[r] = (mtr_seconds_now() - t0) / reps;
    }
    free(A);
    free(B);
    free(C);
    free(R);
    return ok ? 2.0 * M * N * K / rm_quantile(t, 7, 0.5) / 1e9 : -1;
}

/* Raw item fields and ids of the simulated candidates, in generation order. */
typedef struct rm_data {
    size_t n, cap;
    float *fields;   /* (n, 4) price, age_days, promotion, low_quality */
    uint64_t *items; /* (n) */
} rm_data;

static int rm_collect(const mtr_session_request *req, void *user) {
    rm_data *d = user;
    for (int k = 0; k < req->n; k++) {
        if (d->n == d->cap) return 1;
        const mtr_session_candidate *c = &req->cand[k];
        float *f = d->fields + d->n * 4;
        f[0] = c->price, f[1] = c->age_days, f[2] = c->promotion, f[3] = c->low_quality;
        d->items[d->n++] = c->item;
    }
    return 0;
}

typedef struct rm_timing {
    double model_us, model_p90, rank_us, rank_p90; /* per request: median and 90th percentile */
    size_t ranked;                                 /* candidates in the final lists, summed */
} rm_timing;

static int rm_time(mtr_ranker *r, const mtr_dataset *ds, const rm_data *d, uint32_t *rows, int cand, int requests,
                   rm_timing *out, mtr_error *err) {
    double *tm = malloc((size_t)requests * sizeof *tm), *tr = malloc((size_t)requests * sizeof *tr);
    if (!tm || !tr) {
        free(tm);
        free(tr);
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    out->ranked = 0;
    int rc = 0;
    for (int q = -10; q < requests && rc == 0; q++) { /* 10 warm-up requests first */
        size_t lo = (size_t)((q + RM_LISTS * 100) % RM_LISTS) * (size_t)cand;
        mtr_request req;
        memset(&req, 0, sizeof req);
        req.rows = (mtr_view){ds, rows + lo, (size_t)cand};
        req.fields = d->fields + lo * 4;
        req.field_stride = 4;
        req.item_ids = d->items + lo;
        mtr_request_result res;
        rc = mtr_rank_request(r, &req, &res, err);
        if (rc == 0 && q >= 0) {
            tm[q] = res.model_seconds * 1e6;
            tr[q] = res.rank_seconds * 1e6;
            out->ranked += res.n_ranked[0];
        }
    }
    if (rc == 0) {
        out->model_us = rm_quantile(tm, requests, 0.5);
        out->model_p90 = rm_quantile(tm, requests, 0.9);
        out->rank_us = rm_quantile(tr, requests, 0.5);
        out->rank_p90 = rm_quantile(tr, requests, 0.9);
    }
    free(tm);
    free(tr);
    return rc;
}

int bench_rank_model(int argc, char **argv) {
    const char *model_path = NULL, *rules_path = "data/multiobjective/default.rules";
    long cand = 1000, requests = 500;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--model") == 0 && v) model_path = v, i++;
        else if (strcmp(a, "--rules") == 0 && v) rules_path = v, i++;
        else if (strcmp(a, "--candidates") == 0 && v && mtr_parse_long(v, strlen(v), 10, MTR_SESSIONS_MAX_LIST, &cand) == 0) i++;
        else if (strcmp(a, "--requests") == 0 && v && mtr_parse_long(v, strlen(v), 1, 1000000, &requests) == 0) i++;
        else if (strcmp(a, "--json") == 0) json = 1;
        else {
            fprintf(stderr, "usage: bench_mtrank rank-model [--model FILE] [--rules FILE] [--candidates 10..1000] "
                            "[--requests N] [--json]\n");
            return 2;
        }
    }
    mtr_error err = {{0}};
    int rc = 1;
    char dir[] = "/tmp/mtrank-bench-XXXXXX", csv[64], spec_path[64];
    rm_data d = {0, 0, NULL, NULL};
    mtr_spec *spec = NULL;
    mtr_schema *schema = NULL;
    mtr_model *model = NULL;
    mtr_dataset *ds = NULL;
    mtr_ranker *ranker = NULL;
    mtr_fusion *fusion = NULL;
    mtr_rules *rules = NULL;
    uint32_t *rows = NULL;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench: cannot create a temporary directory\n");
        return 1;
    }
    snprintf(csv, sizeof csv, "%s/s.csv", dir);
    snprintf(spec_path, sizeof spec_path, "%s/s.spec", dir);

    /* candidates: RM_LISTS requests of `cand`, raw fields collected, rows read with the model's schema */
    mtr_sessions_config sc;
    mtr_sessions_config_default(&sc);
    sc.requests = RM_LISTS;
    sc.list_length = (int)cand;
    size_t n = (size_t)RM_LISTS * (size_t)cand;
    d.cap = n;
    d.fields = malloc(n * 4 * sizeof *d.fields);
    d.items = malloc(n * sizeof *d.items);
    rows = malloc(n * sizeof *rows);
    if (!d.fields || !d.items || !rows) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) rows[i] = (uint32_t)i;
    if (mtr_gen_sessions_write(&sc, csv, spec_path, NULL, &err) != 0 || mtr_gen_sessions(&sc, rm_collect, &d, NULL, &err) != 0)
        goto done;
    if (model_path) {
        if (!(model = mtr_model_load(model_path, &err))) goto done;
    } else {
        mtr_model_config mc;
        mtr_model_config_default(&mc);
        mc.kind = MTR_MODEL_MMOE;
        mc.embedding_dim = RM_EMBEDDING;
        mc.n_experts = RM_EXPERTS;
        mc.n_bottom_layers = 1;
        mc.bottom_layers[0] = RM_EXPERT_UNITS;
        mc.n_tower_layers = 1;
        mc.tower_layers[0] = RM_TOWERS;
        if (!(spec = mtr_spec_load(spec_path, &err)) || !(schema = mtr_schema_fit(spec, csv, &err)) ||
            !(model = mtr_model_create(schema, &mc, 1, &err)))
            goto done;
    }
    if (!(ds = mtr_dataset_read_text(mtr_model_schema(model), csv, 0, &err))) goto done;

    /* the ranking stage */
    mtr_ranker_model rm = {model, NULL};
    mtr_ranker_config cfg = {&rm, 1, RM_FIELDS, 4, RM_KEYS, 3, (size_t)cand, 0, NULL};
    if (!(ranker = mtr_ranker_create(&cfg, &err))) goto done;
    const mtr_rank_fields *fl = mtr_ranker_fields(ranker);
    if (!(fusion = mtr_fusion_compile(RM_FORMULA, fl->vars, fl->n_vars, RM_PARAMS, 5, &err))) goto done;
    if (!(rules = mtr_rules_load(rules_path, fl, &err))) goto done;
    if (mtr_ranker_set_ranking(ranker, fusion, rules, &err) != 0) goto done;

    const mtr_net *net = &model->nets[0];
    int D = net->input_dim, C = net->input_cols;
    double flops = mtr_model_flops_per_sample(model);
    size_t params = mtr_model_parameter_count(model);
    double gflops = rm_sgemm_rate((int)cand, C, D);
    if (gflops < 0) {
        snprintf(err.message, sizeof err.message, "mtr_sgemm disagrees with the reference on %ld x %d x %d; not timing",
                 cand, D, C);
        goto done;
    }
    rm_timing t_auto, t_dense;
    model->input_path = MTR_INPUT_AUTO;
    if (rm_time(ranker, ds, &d, rows, (int)cand, (int)requests, &t_auto, &err) != 0) goto done;
    model->input_path = MTR_INPUT_DENSE;
    if (rm_time(ranker, ds, &d, rows, (int)cand, (int)requests, &t_dense, &err) != 0) goto done;
    model->input_path = MTR_INPUT_AUTO;
    double flop_us = flops * (double)cand / (gflops * 1e9) * 1e6; /* the model's FLOPs at the sgemm rate */
    int n_rules = mtr_rules_count(rules);
    if (json) {
        printf("{\n  \"model\": \"%s\", \"parameters\": %zu, \"input_dim\": %d, \"input_cols\": %d,\n",
               model_path ? model_path : "mmoe (random weights)", params, D, C);
        printf("  \"forward_flops_per_candidate\": %.0f, \"candidates\": %ld, \"requests\": %ld, \"rules\": %d,\n",
               flops, cand, requests, n_rules);
        printf("  \"sgemm_gflops\": %.2f, \"model_us_at_sgemm_rate\": %.1f,\n", gflops, flop_us);
        printf("  \"model_us\": {\"auto\": %.1f, \"auto_p90\": %.1f, \"dense\": %.1f, \"dense_p90\": %.1f},\n",
               t_auto.model_us, t_auto.model_p90, t_dense.model_us, t_dense.model_p90);
        printf("  \"model_over_flop_time\": {\"auto\": %.3f, \"dense\": %.3f},\n", t_auto.model_us / flop_us,
               t_dense.model_us / flop_us);
        printf("  \"fusion_rules_us\": %.1f, \"fusion_rules_p90_us\": %.1f,\n", t_auto.rank_us, t_auto.rank_p90);
        printf("  \"ranked_per_request\": %.1f\n}\n", (double)t_auto.ranked / (double)requests);
    } else {
        printf("ranking %ld candidates per request on one core: MMoE (5 objectives) -> fusion -> %d rules\n", cand,
               n_rules);
        printf("model: %s; %zu parameters; input layer %d x %d (%d experts x %d, %d gates); towers %d\n",
               model_path ? model_path : "experiment default shape, random weights", params, D, C, net->n_experts,
               net->width[0], net->n_gates, net->n_tower_layers ? net->tower_width[0] : 0);
        printf("forward: %.0f FLOP per candidate = %.1f MFLOP per request\n", flops, flops * (double)cand / 1e6);
        printf("sgemm (OpenBLAS, 1 thread) on %ld x %d x %d: %.1f GFLOP/s -> the model's FLOPs take %.0f us\n\n", cand,
               D, C, gflops, flop_us);
        printf("%-34s %10s %10s %12s\n", "stage (median over requests)", "median us", "p90 us", "x FLOP time");
        printf("%-34s %10.1f %10.1f %12.2f\n", "model, input path per batch", t_auto.model_us, t_auto.model_p90,
               t_auto.model_us / flop_us);
        printf("%-34s %10.1f %10.1f %12.2f\n", "model, dense input layer", t_dense.model_us, t_dense.model_p90,
               t_dense.model_us / flop_us);
        printf("%-34s %10.1f %10.1f %12s\n", "fusion + all rules", t_auto.rank_us, t_auto.rank_p90, "");
        printf("\nfusion + rules %s 100 us; model %s 2x its FLOP time (%.2fx)\n",
               t_auto.rank_us < 100 ? "under" : "OVER", t_auto.model_us <= 2 * flop_us ? "within" : "NOT within",
               t_auto.model_us / flop_us);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench rank-model: %s\n", err.message);
    unlink(csv);
    unlink(spec_path);
    rmdir(dir);
    mtr_ranker_free(ranker);
    mtr_rules_free(rules);
    mtr_fusion_free(fusion);
    mtr_dataset_free(ds);
    mtr_model_free(model);
    mtr_schema_free(schema);
    mtr_spec_free(spec);
    free(d.fields);
    free(d.items);
    free(rows);
    return rc;
}

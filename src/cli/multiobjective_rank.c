/* multiobjective_rank.c - ranking in `mtrank experiment multiobjective` (multiobjective.h lists the pieces):
 * the fusion formula's parameter search on the validation requests (logged outcomes), and ranking every
 * test request with a strategy, without or with the rules, accumulating the truth metrics and the time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/multiobjective.h"
#include "util/parse_number.h"

/* ---------------------------------------------------------------- fusion and its search */

/* "name=lo:hi[:log],..." */
int mo_parse_ranges(const char *text, ranges *out, char *msg, size_t ms) {
    memset(out, 0, sizeof *out);
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[200];
        if (len >= sizeof item || out->n == MAX_RANGES) {
            snprintf(msg, ms, "--ranges: item too long or more than %d parameters", MAX_RANGES);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '='), *c1 = eq ? strchr(eq, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        double lo, hi;
        int log_scale = c2 && strcmp(c2 + 1, "log") == 0;
        if (!eq || !c1 || eq == item || (size_t)(eq - item) >= MTR_MAX_NAME || (c2 && !log_scale) ||
            mtr_parse_double(eq + 1, (size_t)(c1 - eq - 1), &lo) != 0 ||
            mtr_parse_double(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), &hi) != 0 || lo > hi ||
            (log_scale && lo <= 0)) {
            snprintf(msg, ms, "--ranges: expected name=lo:hi or name=lo:hi:log (lo <= hi, lo > 0 for log), got '%s'",
                     item);
            return -1;
        }
        int k = out->n++;
        memcpy(out->names[k], item, (size_t)(eq - item));
        out->r[k] = (mtr_param_range){out->names[k], lo, hi, log_scale};
        out->p[k] = (mtr_fusion_param){out->names[k], log_scale ? sqrt(lo * hi) : 0.5 * (lo + hi)};
        p += len + (end ? 1 : 0);
    }
    return 0;
}

typedef struct search_user {
    const stream *va;          /* validation requests (logged outcomes) */
    const float *X;            /* (n_valid, N_VARS) */
    mtr_rank_context *ctx;     /* the fusion being searched, no rules */
    int target;                /* TARGET_* */
} search_user;

static double search_metric(const mtr_fusion *fusion, void *user) {
    (void)fusion; /* the context holds it, with the point's parameters */
    search_user *u = user;
    float scratch[MTR_SESSIONS_MAX_LIST];
    double sum = 0, lists = 0;
    mtr_error err;
    for (size_t r = 0; r < u->va->n_req; r++) {
        size_t lo = u->va->start[r];
        mtr_rank_list list = {u->va->start[r + 1] - lo, u->X + lo * N_VARS, N_VARS, NULL, 0, NULL, 0};
        mtr_rank_result res;
        if (mtr_rank(u->ctx, &list, &res, &err) != 0) return NAN;
        int counted;
        sum += mo_logged_metric(u->target, u->va, r, res.order, res.n_ranked, &counted, scratch);
        lists += counted;
    }
    return lists > 0 ? sum / lists : NAN;
}

/* Validation variables: model outputs (5) then item fields (4). */
float *mo_valid_matrix(const stream *va, const float *const cols[N_OBJ], const size_t strides[N_OBJ]) {
    float *X = malloc((va->n + 1) * N_VARS * sizeof *X);
    if (!X) return NULL;
    for (size_t i = 0; i < va->n; i++) {
        for (int o = 0; o < N_OBJ; o++) X[i * N_VARS + o] = cols[o][i * strides[o]];
        memcpy(X + i * N_VARS + N_OBJ, va->num + i * 4, 4 * sizeof(float));
    }
    return X;
}

int mo_fit_fusion(const mo_args *a, const ranges *rg, int target, const stream *va, const float *X,
                  uint64_t seed, fusion_fit *out, mtr_error *err) {
    mtr_fusion *f = mtr_fusion_compile(a->formula, VARS, N_VARS, rg->p, rg->n, err);
    if (!f) return -1;
    mtr_rank_context *ctx = mtr_rank_context_create(f, NULL, MTR_SESSIONS_MAX_LIST, NULL, err);
    int rc = -1;
    if (ctx) {
        search_user u = {va, X, ctx, target};
        out->default_metric = search_metric(f, &u);
        rc = mtr_fusion_search(f, strcmp(a->search, "grid") == 0 ? MTR_SEARCH_GRID : MTR_SEARCH_RANDOM, rg->r, rg->n,
                               a->budget, seed, search_metric, &u, out->values, &out->valid_metric, err);
    }
    mtr_rank_context_free(ctx);
    mtr_fusion_free(f);
    return rc;
}

/* ---------------------------------------------------------------- test ranking */

static void count_acts(strategy_result *out, const uint32_t *mask, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < out->n_rules; r++) out->acted[r] += (mask[i] >> r) & 1u;
}

static void finish_acts(strategy_result *out, size_t n_req) {
    for (int r = 0; r < out->n_rules; r++) out->acted[r] /= n_req ? (double)n_req : 1.0;
}

/* Rank every test request with a ranker (networks) and accumulate the truth metrics and the time. */
static int test_ranker(const mo_args *a, const mtr_dataset *ds, const stream *te, mtr_ranker_model *models,
                       int n_models, const ranges *rg, const double *values, const char *rules_text,
                       strategy_result *out, mtr_error *err) {
    mtr_ranker_config cfg = {models, n_models, FIELDS, 4, KEYS, N_KEYS, (size_t)a->list_length, 0, NULL};
    mtr_ranker *r = mtr_ranker_create(&cfg, err);
    mtr_fusion *f = NULL;
    mtr_rules *rules = NULL;
    float *scratch = malloc(MTR_SESSIONS_MAX_LIST * sizeof *scratch);
    int rc = -1;
    if (!r || !scratch) goto done;
    const mtr_rank_fields *fl = mtr_ranker_fields(r);
    if (rg) {
        if (!(f = mtr_fusion_compile(a->formula, fl->vars, fl->n_vars, rg->p, rg->n, err))) goto done;
        for (int k = 0; k < rg->n; k++) mtr_fusion_set_param(f, k, values[k]);
    }
    if (rules_text && !(rules = mtr_rules_parse(rules_text, a->rules, fl, err))) goto done;
    if (mtr_ranker_set_ranking(r, f, rules, err) != 0) goto done;
    out->n_rules = rules ? mtr_rules_count(rules) : 0;
    double model_s = 0, rank_s = 0;
    for (size_t q = 0; q < te->n_req; q++) {
        size_t lo = te->start[q], n = te->start[q + 1] - lo;
        mtr_request req;
        memset(&req, 0, sizeof req);
        req.rows = (mtr_view){ds, te->rows + lo, n};
        req.fields = te->num + lo * 4;
        req.field_stride = 4;
        req.keys = te->keys + lo * 3;
        req.key_stride = 3;
        req.item_ids = te->item + lo;
        mtr_request_result res;
        if (mtr_rank_request(r, &req, &res, err) != 0) goto done;
        model_s += res.model_seconds;
        rank_s += res.rank_seconds;
        mo_add_truth(&out->m, te, q, res.order, res.n_ranked[0], scratch);
        count_acts(out, res.rules_mask, n);
    }
    mo_finish_truth(&out->m);
    finish_acts(out, te->n_req);
    out->model_us = 1e6 * model_s / (double)te->n * 1000.0;
    out->rank_us = 1e6 * rank_s / (double)te->n * 1000.0;
    rc = 0;
done:
    free(scratch);
    mtr_rules_free(rules);
    mtr_fusion_free(f);
    mtr_ranker_free(r);
    return rc;
}

/* Rank every test request by given scores: LambdaMART (lm != NULL: features and trees per request) or a
 * reference order (scores != NULL). */
int mo_test_scored(const mo_args *a, const stream *te, const id_stats *st, const mtr_lambdamart *lm,
                   const float *scores, const char *rules_text, strategy_result *out, mtr_error *err) {
    static const mtr_rank_fields fields = {VARS, N_VARS, KEYS, N_KEYS};
    mtr_rules *rules = rules_text ? mtr_rules_parse(rules_text, a->rules, &fields, err) : NULL;
    mtr_rank_context *ctx = rules_text && !rules ? NULL : mtr_rank_context_create(NULL, rules, MTR_SESSIONS_MAX_LIST,
                                                                                  NULL, err);
    float *X = malloc(MTR_SESSIONS_MAX_LIST * (N_VARS + N_LM + 2) * sizeof *X);
    int rc = -1;
    if (!ctx || !X) goto done;
    float *feat = X + MTR_SESSIONS_MAX_LIST * N_VARS, *s = feat + MTR_SESSIONS_MAX_LIST * N_LM,
          *scratch = s + MTR_SESSIONS_MAX_LIST;
    for (size_t i = 0; i < MTR_SESSIONS_MAX_LIST * N_VARS; i++) X[i] = NAN; /* model columns: unused */
    out->n_rules = rules ? mtr_rules_count(rules) : 0;
    double model_s = 0, rank_s = 0;
    for (size_t q = 0; q < te->n_req; q++) {
        size_t lo = te->start[q], n = te->start[q + 1] - lo;
        double t0 = mtr_seconds_now();
        if (lm) {
            for (size_t i = 0; i < n; i++) mo_lm_features(te, st, q, lo + i, 0, feat + i * N_LM);
            if (mtr_lambdamart_predict(lm, feat, n, N_LM, s, 1, err) != 0) goto done;
        } else {
            memcpy(s, scores + lo, n * sizeof *s);
        }
        double t1 = mtr_seconds_now();
        for (size_t i = 0; i < n; i++) memcpy(X + i * N_VARS + N_OBJ, te->num + (lo + i) * 4, 4 * sizeof(float));
        mtr_rank_list list = {n, X, N_VARS, te->keys + lo * 3, 3, te->item + lo, 0};
        mtr_rank_result res;
        if (mtr_rank_scored(ctx, &list, s, &res, err) != 0) goto done;
        double t2 = mtr_seconds_now();
        model_s += t1 - t0;
        rank_s += t2 - t1;
        mo_add_truth(&out->m, te, q, res.order, res.n_ranked, scratch);
        count_acts(out, res.rules_mask, n);
    }
    mo_finish_truth(&out->m);
    finish_acts(out, te->n_req);
    out->model_us = lm ? 1e6 * model_s / (double)te->n * 1000.0 : 0;
    out->rank_us = 1e6 * rank_s / (double)te->n * 1000.0;
    rc = 0;
done:
    free(X);
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
    return rc;
}

/* Rank the test requests with strategy s of a run, with the rules in rules_text (NULL: none). */
int mo_test_strategy(const mo_args *a, const mtr_dataset *ds, const stream *te, const id_stats *st,
                     const run_models *rm, int s, const ranges *rg, const fusion_fit *fit, const char *rules_text,
                     strategy_result *r, mtr_error *err) {
    r->strategy = s;
    r->rules = rules_text != NULL;
    if (s == S_LAMBDAMART) {
        r->params = rm->lm->params;
        return mo_test_scored(a, te, st, rm->lm->lm, NULL, rules_text, r, err);
    }
    if (s == S_BPR) {
        mtr_ranker_model m = {rm->bpr->model, "bpr"};
        r->params = rm->bpr->params;
        return test_ranker(a, ds, te, &m, 1, NULL, NULL, rules_text, r, err);
    }
    if (s == S_MMOE) {
        mtr_ranker_model m = {rm->mmoe->model, NULL};
        r->params = rm->mmoe->params;
        return test_ranker(a, ds, te, &m, 1, rg, fit->values, rules_text, r, err);
    }
    mtr_ranker_model m[N_OBJ];
    r->params = 0;
    for (int o = 0; o < N_OBJ; o++) {
        m[o] = (mtr_ranker_model){rm->obj[o]->model, NULL};
        r->params += rm->obj[o]->params;
    }
    return test_ranker(a, ds, te, m, N_OBJ, rg, fit->values, rules_text, r, err);
}

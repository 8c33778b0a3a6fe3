/* lambdamart.c - LambdaMART (Burges, "From RankNet to LambdaRank to LambdaMART", 2010): boosted
 * regression trees whose targets are the lambda gradients of NDCG@K. Per tree: lambdas and Newton weights
 * for every training list from the current scores (lists in parallel), one tree grown on them by
 * histograms (gbdt_tree.c, features binned once by gbdt_bins.c), leaf values -G / (H + l2) times the
 * learning rate added to the scores; with validation data, NDCG@K after every tree for early stopping.
 * Also the configuration, prediction and the model file. Scores are summed in double in tree order, so
 * predicting a training or validation row reproduces the score training saw, bit for bit. Nothing here
 * prints; threads only split independent work (lists, rows, feature blocks), so results do not depend on
 * the thread count. */
#include "rank/lambdamart.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/list_metrics.h"
#include "io/tensor_file.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/clock.h"

/* Bump when a reader of the previous version could misread a new LambdaMART file (the meaning of a
 * tensor or key changes). New keys or tensors that old readers can ignore need no bump. */
#define LAMBDAMART_FORMAT 1
#define MAX_RELEVANCE 31.0f  /* 2^31 - 1 is the largest gain; beyond, grades are surely a mistake */
#define MAX_FEATURES (1 << 24) /* node feature indices are stored as float, exact below 2^24 */
#define PREDICT_BLOCK 64     /* rows scored together, so a tree's nodes stay in cache across them */
_Static_assert(PREDICT_BLOCK <= 256, "tree_add keeps row numbers in bytes");

/* ---------------------------------------------------------------- configuration */

void mtr_lambdamart_config_default(mtr_lambdamart_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->n_trees = 300;
    cfg->learning_rate = 0.1f;
    cfg->max_leaves = 31;
    cfg->max_depth = 0;
    cfg->min_samples_leaf = 20;
    cfg->min_hessian_leaf = 1e-3f;
    cfg->l2 = 1.0f;
    cfg->max_bins = 255;
    cfg->bin_sample_rows = 200000;
    cfg->feature_fraction = 1.0f;
    cfg->group_fraction = 1.0f;
    cfg->ndcg_k = 10;
    cfg->sigma = 1.0f;
    cfg->early_stopping_rounds = 30;
    cfg->seed = 1;
    cfg->n_threads = 1;
}

const char *mtr_lambdamart_config_check(const mtr_lambdamart_config *c) {
    if (!c) return "no configuration";
    if (c->n_trees < 1 || c->n_trees > 1000000) return "n_trees must be in 1..1000000";
    if (!(c->learning_rate > 0.0f && c->learning_rate <= 1.0f)) return "learning_rate must be in (0, 1]";
    if (c->max_leaves < 2 || c->max_leaves > 65536) return "max_leaves must be in 2..65536";
    if (c->max_depth < 0 || c->max_depth > 64) return "max_depth must be in 0..64 (0 = no limit)";
    if (c->min_samples_leaf < 1) return "min_samples_leaf must be >= 1";
    if (!(c->min_hessian_leaf >= 0.0f) || !isfinite(c->min_hessian_leaf))
        return "min_hessian_leaf must be a finite number >= 0";
    if (!(c->l2 >= 0.0f) || !isfinite(c->l2)) return "l2 must be a finite number >= 0";
    if (c->l2 == 0.0f && c->min_hessian_leaf == 0.0f)
        return "l2 and min_hessian_leaf cannot both be 0 (a leaf value would divide by zero)";
    if (c->max_bins < 2 || c->max_bins > 255) return "max_bins must be in 2..255";
    if (!(c->feature_fraction > 0.0f && c->feature_fraction <= 1.0f)) return "feature_fraction must be in (0, 1]";
    if (!(c->group_fraction > 0.0f && c->group_fraction <= 1.0f)) return "group_fraction must be in (0, 1]";
    if (c->ndcg_k < 0) return "ndcg_k must be >= 0 (0 = whole list)";
    if (!(c->sigma > 0.0f) || !isfinite(c->sigma)) return "sigma must be a finite number > 0";
    if (c->early_stopping_rounds < 0) return "early_stopping_rounds must be >= 0 (0 = off)";
    if (c->n_threads < 1 || c->n_threads > 256) return "n_threads must be in 1..256";
    return NULL;
}

/* ---------------------------------------------------------------- lambda gradients */

int mtr_lambda_ws_init(mtr_lambda_ws *ws, size_t cap) {
    memset(ws, 0, sizeof *ws);
    if (cap == 0) cap = 1;
    if (cap > SIZE_MAX / (4 * sizeof(double))) return -1;
    ws->cap = cap;
    ws->order = malloc(cap * sizeof *ws->order);
    ws->scratch = malloc(2 * cap * sizeof *ws->scratch);
    ws->fscore = malloc(cap * sizeof *ws->fscore);
    ws->acc = malloc(2 * cap * sizeof *ws->acc);
    ws->disc = malloc(cap * sizeof *ws->disc);
    ws->e = malloc(cap * sizeof *ws->e);
    if (ws->order && ws->scratch && ws->fscore && ws->acc && ws->disc && ws->e) return 0;
    mtr_lambda_ws_free(ws);
    return -1;
}

void mtr_lambda_ws_free(mtr_lambda_ws *ws) {
    free(ws->order);
    free(ws->scratch);
    free(ws->fscore);
    free(ws->acc);
    free(ws->disc);
    free(ws->e);
    memset(ws, 0, sizeof *ws);
}

double mtr_lambda_list(const double *scores, const float *relevance, const double *gain, size_t m,
                       size_t k, double inv_idcg, double sigma, float *gh, mtr_lambda_ws *ws) {
    for (size_t i = 0; i < m; i++) ws->fscore[i] = (float)scores[i];
    mtr_list_order(ws->fscore, m, ws->order, ws->scratch);
    if (!(inv_idcg > 0.0)) {
        memset(gh, 0, 2 * m * sizeof *gh);
        return 1.0;
    }
    double ndcg = mtr_list_dcg(ws->fscore, relevance, ws->order, m, k) * inv_idcg;
    const uint32_t *order = ws->order;
    size_t kk = (k == 0 || k > m) ? m : k;
    double *acc = ws->acc, *disc = ws->disc, *e = ws->e;
    memset(acc, 0, 2 * m * sizeof *acc);
    for (size_t p = 0; p < kk; p++) disc[p] = mtr_list_discount(p);
    /* e_i = exp(sigma (s_i - s_top)) in (0, 1], so that rho = 1 / (1 + exp(sigma (s_hi - s_lo))) =
     * e_lo / (e_lo + e_hi) costs a division instead of an exp per pair. Both underflow only when both
     * items score ~700 / sigma below the top one; then exp is called. */
    const double top = scores[order[0]];
    for (size_t i = 0; i < m; i++) e[i] = exp(sigma * (scores[i] - top));
    /* Pairs with at least one item in the top kk; below kk both discounts are 0 and so is delta. */
    for (size_t p = 0; p < kk; p++) {
        uint32_t i = order[p];
        float ri = relevance[i];
        double gi = gain[i], di = disc[p];
        for (size_t q = p + 1; q < m; q++) {
            uint32_t j = order[q];
            float rj = relevance[j];
            if (ri == rj) continue;
            double dj = q < kk ? disc[q] : 0.0;
            double delta = fabs(gi - gain[j]) * (di - dj) * inv_idcg; /* di >= dj: p < q */
            uint32_t hi = ri > rj ? i : j, lo = ri > rj ? j : i;
            double sum = e[lo] + e[hi];
            double rho = sum > 0.0 ? e[lo] / sum : 1.0 / (1.0 + exp(sigma * (scores[hi] - scores[lo])));
            double lambda = sigma * rho * delta, w = sigma * sigma * rho * (1.0 - rho) * delta;
            acc[2 * hi] -= lambda;
            acc[2 * lo] += lambda;
            acc[2 * hi + 1] += w;
            acc[2 * lo + 1] += w;
        }
    }
    for (size_t i = 0; i < 2 * m; i++) gh[i] = (float)acc[i];
    return ndcg;
}

/* ---------------------------------------------------------------- data checks */

static int check_data(const mtr_rank_data *data, const char *what, mtr_error *err) {
    if (!data) return mtr_fail(err, "%s: missing", what);
    if (data->n == 0) return mtr_fail(err, "%s: no rows", what);
    if (data->n > UINT32_MAX) return mtr_fail(err, "%s: %zu rows, at most %u are supported", what, data->n, UINT32_MAX);
    if (data->d < 1 || data->d > MAX_FEATURES)
        return mtr_fail(err, "%s: %d features, expected 1..%d", what, data->d, MAX_FEATURES);
    if (data->n > SIZE_MAX / sizeof(float) / (size_t)data->d)
        return mtr_fail(err, "%s: %zu rows x %d features overflow", what, data->n, data->d);
    if (data->n_groups == 0) return mtr_fail(err, "%s: no query groups", what);
    if (!data->X || !data->relevance || !data->group_start)
        return mtr_fail(err, "%s: NULL features, relevance or group boundaries", what);
    const size_t *gs = data->group_start;
    if (gs[0] != 0) return mtr_fail(err, "%s: group_start[0] must be 0, got %zu", what, gs[0]);
    for (size_t g = 0; g < data->n_groups; g++)
        if (gs[g + 1] < gs[g])
            return mtr_fail(err, "%s: group_start[%zu] = %zu is below group_start[%zu] = %zu", what, g + 1,
                            gs[g + 1], g, gs[g]);
    if (gs[data->n_groups] != data->n)
        return mtr_fail(err, "%s: the last group ends at row %zu, but there are %zu rows", what,
                        gs[data->n_groups], data->n);
    for (size_t i = 0; i < data->n; i++) {
        float r = data->relevance[i];
        if (!(r >= 0.0f && r <= MAX_RELEVANCE))
            return mtr_fail(err, "%s: row %zu: relevance %g is not in [0, %g]", what, i, (double)r,
                            (double)MAX_RELEVANCE);
    }
    return 0;
}

/* Per group 1 / ideal DCG@k (0 when nothing is relevant); returns the groups with a relevant item. */
static size_t group_stats(const mtr_rank_data *data, size_t k, double *inv_idcg, mtr_lambda_ws *ws) {
    size_t relevant = 0;
    for (size_t g = 0; g < data->n_groups; g++) {
        size_t a = data->group_start[g], m = data->group_start[g + 1] - a;
        double ideal = m ? mtr_list_ideal_dcg(data->relevance + a, m, k, ws->order, ws->scratch) : 0.0;
        inv_idcg[g] = ideal > 0.0 ? 1.0 / ideal : 0.0;
        relevant += ideal > 0.0;
    }
    return relevant;
}

static size_t longest_group(const mtr_rank_data *data) {
    size_t longest = 0;
    for (size_t g = 0; g < data->n_groups; g++) {
        size_t m = data->group_start[g + 1] - data->group_start[g];
        if (m > longest) longest = m;
    }
    return longest;
}

/* ---------------------------------------------------------------- model storage */

static void model_free_arrays(mtr_lambdamart *m) {
    free(m->node_start);
    free(m->leaf_start);
    free(m->nodes);
    free(m->leaf_value);
    free(m->feature_gain);
}

void mtr_lambdamart_free(mtr_lambdamart *model) {
    if (!model) return;
    model_free_arrays(model);
    free(model);
}

/* Capacity (elements of `size` bytes) to hold `need`, doubling from `cap` so appends are amortised O(1);
 * 0 on overflow. */
static size_t grown(size_t cap, size_t need, size_t size) {
    size_t c = cap ? cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size) return 0;
        c *= 2;
    }
    return c;
}

/* Make room for `extra_nodes` more nodes (and their gains) and `extra_leaves` leaves. */
static int reserve_tree(mtr_lambdamart *m, double **node_gain, size_t *node_cap, size_t *leaf_cap, size_t n_nodes,
                        size_t n_leaves, size_t extra_nodes, size_t extra_leaves) {
    if (n_nodes + extra_nodes > *node_cap) {
        size_t c = grown(*node_cap, n_nodes + extra_nodes, sizeof *m->nodes);
        if (!c) return -1;
        mtr_gbdt_node *nodes = realloc(m->nodes, c * sizeof *nodes);
        if (!nodes) return -1;
        m->nodes = nodes;
        double *gain = realloc(*node_gain, c * sizeof *gain);
        if (!gain) return -1;
        *node_gain = gain;
        *node_cap = c;
    }
    if (n_leaves + extra_leaves > *leaf_cap) {
        size_t c = grown(*leaf_cap, n_leaves + extra_leaves, sizeof *m->leaf_value);
        if (!c) return -1;
        float *leaf = realloc(m->leaf_value, c * sizeof *leaf);
        if (!leaf) return -1;
        m->leaf_value = leaf;
        *leaf_cap = c;
    }
    return 0;
}

/* acc[r] += score of tree t for row X[r] (d features), r < rn <= PREDICT_BLOCK. The rows walk the tree
 * together, one level per pass over the rows still inside it: each walk is a chain of dependent loads,
 * and interleaving the rows' chains keeps the core busy where one row at a time would wait on loads and
 * mispredicted branches (about 1.6x faster measured). The step is branch-free; rows that reach a leaf
 * drop out of the active list. */
static void tree_add(const mtr_lambdamart *m, int t, const float *X, size_t d, size_t rn, double *acc) {
    const float *leaf = m->leaf_value + m->leaf_start[t];
    if (m->node_start[t + 1] == m->node_start[t]) {
        for (size_t r = 0; r < rn; r++) acc[r] += (double)leaf[0];
        return;
    }
    const mtr_gbdt_node *nodes = m->nodes + m->node_start[t];
    int32_t at[PREDICT_BLOCK];
    uint8_t active[PREDICT_BLOCK];
    for (size_t r = 0; r < rn; r++) {
        at[r] = 0;
        active[r] = (uint8_t)r;
    }
    size_t n_active = rn;
    while (n_active > 0) {
        size_t w = 0;
        for (size_t k = 0; k < n_active; k++) {
            uint8_t r = active[k];
            const mtr_gbdt_node *nd = &nodes[at[r]];
            float v = X[r * d + (size_t)nd->feature];
            int left = (v <= nd->threshold) | ((v != v) & nd->default_left); /* v != v: missing */
            int32_t next = left ? nd->left : nd->right;
            at[r] = next;
            active[w] = r;
            w += next >= 0;
        }
        n_active = w;
    }
    for (size_t r = 0; r < rn; r++) acc[r] += (double)leaf[~at[r]];
}

/* ---------------------------------------------------------------- training */

typedef struct trainer {
    const mtr_rank_data *train, *valid;
    const mtr_lambdamart_config *cfg;
    size_t k;                 /* ndcg_k */
    int n_chunks;             /* work chunks (= threads) for lists and rows */
    mtr_lambda_ws *ws;        /* (n_chunks) per-chunk list work space */
    double *gain;             /* (n) 2^rel - 1 of each training row */
    double *inv_idcg;         /* (n_groups) training */
    double *v_inv_idcg;       /* (valid n_groups) */
    double *scores;           /* (n) training scores */
    float *gh;                /* (2 n) gradient, hessian per training row */
    double *group_ndcg;       /* (max(n_groups, valid n_groups)) per-list NDCG, summed in order */
    double *vscores;          /* (valid n) */
    float *vfscores;          /* (valid n) as float, for the metric */
} trainer;

/* Lambdas for every training list from tr->scores; returns mean NDCG@k over lists with a relevant item. */
static double compute_gradients(trainer *tr) {
    const mtr_rank_data *data = tr->train;
    const size_t G = data->n_groups;
    const double sigma = tr->cfg->sigma;
#pragma omp parallel for schedule(static, 1) num_threads(tr->n_chunks) if (tr->n_chunks > 1)
    for (int c = 0; c < tr->n_chunks; c++) {
        size_t g0 = G * (size_t)c / (size_t)tr->n_chunks, g1 = G * (size_t)(c + 1) / (size_t)tr->n_chunks;
        for (size_t g = g0; g < g1; g++) {
            size_t a = data->group_start[g], m = data->group_start[g + 1] - a;
            if (m == 0) continue;
            tr->group_ndcg[g] = mtr_lambda_list(tr->scores + a, data->relevance + a, tr->gain + a, m, tr->k,
                                                tr->inv_idcg[g], sigma, tr->gh + 2 * a, &tr->ws[c]);
        }
    }
    double sum = 0.0;
    size_t counted = 0;
    for (size_t g = 0; g < G; g++)
        if (tr->inv_idcg[g] > 0.0) {
            sum += tr->group_ndcg[g];
            counted++;
        }
    return counted ? sum / (double)counted : NAN;
}

/* Mean NDCG@k of the validation scores over lists with a relevant item (ties averaged, as mtr_ndcg). */
static double valid_ndcg(trainer *tr) {
    const mtr_rank_data *data = tr->valid;
    const size_t G = data->n_groups;
    for (size_t i = 0; i < data->n; i++) tr->vfscores[i] = (float)tr->vscores[i];
#pragma omp parallel for schedule(static, 1) num_threads(tr->n_chunks) if (tr->n_chunks > 1)
    for (int c = 0; c < tr->n_chunks; c++) {
        size_t g0 = G * (size_t)c / (size_t)tr->n_chunks, g1 = G * (size_t)(c + 1) / (size_t)tr->n_chunks;
        mtr_lambda_ws *ws = &tr->ws[c];
        for (size_t g = g0; g < g1; g++) {
            size_t a = data->group_start[g], m = data->group_start[g + 1] - a;
            if (m == 0 || !(tr->v_inv_idcg[g] > 0.0)) continue;
            mtr_list_order(tr->vfscores + a, m, ws->order, ws->scratch);
            tr->group_ndcg[g] =
                mtr_list_dcg(tr->vfscores + a, data->relevance + a, ws->order, m, tr->k) * tr->v_inv_idcg[g];
        }
    }
    double sum = 0.0;
    size_t counted = 0;
    for (size_t g = 0; g < G; g++)
        if (tr->v_inv_idcg[g] > 0.0) {
            sum += tr->group_ndcg[g];
            counted++;
        }
    return counted ? sum / (double)counted : NAN;
}

static void trainer_free(trainer *tr) {
    if (tr->ws)
        for (int c = 0; c < tr->n_chunks; c++) mtr_lambda_ws_free(&tr->ws[c]);
    free(tr->ws);
    free(tr->gain);
    free(tr->inv_idcg);
    free(tr->v_inv_idcg);
    free(tr->scores);
    free(tr->gh);
    free(tr->group_ndcg);
    free(tr->vscores);
    free(tr->vfscores);
}

/* Sample `want` of `n` indices uniformly (selection sampling), ascending, into out; returns want. */
static size_t sample_sorted(mtr_rng *rng, size_t n, size_t want, uint32_t *out) {
    size_t taken = 0;
    for (size_t i = 0; i < n && taken < want; i++)
        if (mtr_rng_uniform(rng) * (double)(n - i) < (double)(want - taken)) out[taken++] = (uint32_t)i;
    return taken;
}

static size_t fraction_count(float fraction, size_t n) {
    size_t c = (size_t)llround((double)fraction * (double)n);
    return c < 1 ? 1 : c > n ? n : c;
}

mtr_lambdamart *mtr_lambdamart_train(const mtr_rank_data *train, const mtr_rank_data *valid,
                                     const mtr_lambdamart_config *cfg, mtr_lambdamart_progress_fn progress,
                                     void *progress_user, mtr_error *err) {
    const char *problem = mtr_lambdamart_config_check(cfg);
    if (problem) {
        mtr_fail(err, "LambdaMART configuration: %s", problem);
        return NULL;
    }
    if (check_data(train, "training data", err) != 0) return NULL;
    if (valid) {
        if (check_data(valid, "validation data", err) != 0) return NULL;
        if (valid->d != train->d) {
            mtr_fail(err, "validation data has %d features, training data %d", valid->d, train->d);
            return NULL;
        }
    }
    const double t_start = mtr_seconds_now();
    const size_t n = train->n, G = train->n_groups, d = (size_t)train->d;
    const mtr_lambdamart_config c = *cfg;

    trainer tr = {.train = train, .valid = valid, .cfg = &c, .k = (size_t)c.ndcg_k};
    mtr_gbdt_bins bins = {0};
    mtr_gbdt_grower *grower = NULL;
    mtr_lambdamart *model = NULL;
    mtr_lambdamart_report *reports = NULL;
    uint32_t *all_rows = NULL, *rows = NULL, *group_pick = NULL, *feature_order = NULL;
    uint8_t *feature_mask = NULL;
    double *node_gain = NULL;
    size_t node_cap = 0, leaf_cap = 0;
    int ok = 0;

    /* work spaces, per-row and per-group arrays */
    size_t longest = longest_group(train);
    if (valid && longest_group(valid) > longest) longest = longest_group(valid);
    tr.n_chunks = c.n_threads;
    if ((size_t)tr.n_chunks > G) tr.n_chunks = (int)G;
    size_t max_groups = valid && valid->n_groups > G ? valid->n_groups : G;
    tr.ws = calloc((size_t)tr.n_chunks, sizeof *tr.ws);
    tr.gain = malloc(n * sizeof *tr.gain);
    tr.inv_idcg = malloc(G * sizeof *tr.inv_idcg);
    tr.scores = calloc(n, sizeof *tr.scores);
    tr.gh = malloc(2 * n * sizeof *tr.gh);
    tr.group_ndcg = calloc(max_groups, sizeof *tr.group_ndcg);
    all_rows = malloc(n * sizeof *all_rows);
    rows = c.group_fraction < 1.0f ? malloc(n * sizeof *rows) : NULL;
    group_pick = c.group_fraction < 1.0f ? malloc(G * sizeof *group_pick) : NULL;
    feature_order = malloc(d * sizeof *feature_order);
    feature_mask = malloc(d);
    reports = malloc((size_t)c.n_trees * sizeof *reports);
    model = calloc(1, sizeof *model);
    int oom = !tr.ws || !tr.gain || !tr.inv_idcg || !tr.scores || !tr.gh || !tr.group_ndcg || !all_rows ||
              (c.group_fraction < 1.0f && (!rows || !group_pick)) || !feature_order || !feature_mask ||
              !reports || !model;
    for (int ch = 0; !oom && ch < tr.n_chunks; ch++) oom = mtr_lambda_ws_init(&tr.ws[ch], longest) != 0;
    if (valid && !oom) {
        tr.v_inv_idcg = malloc(valid->n_groups * sizeof *tr.v_inv_idcg);
        tr.vscores = calloc(valid->n, sizeof *tr.vscores);
        tr.vfscores = malloc(valid->n * sizeof *tr.vfscores);
        oom = !tr.v_inv_idcg || !tr.vscores || !tr.vfscores;
    }
    if (oom) {
        mtr_fail(err, "LambdaMART: out of memory for %zu training rows", n);
        goto done;
    }
    model->cfg = c;
    model->d = train->d;
    model->node_start = calloc((size_t)c.n_trees + 1, sizeof *model->node_start);
    model->leaf_start = calloc((size_t)c.n_trees + 1, sizeof *model->leaf_start);
    model->feature_gain = calloc(d, sizeof *model->feature_gain);
    if (!model->node_start || !model->leaf_start || !model->feature_gain) {
        mtr_fail(err, "LambdaMART: out of memory");
        goto done;
    }

    for (size_t i = 0; i < n; i++) {
        tr.gain[i] = mtr_list_gain(train->relevance[i]);
        all_rows[i] = (uint32_t)i;
    }
    group_stats(train, tr.k, tr.inv_idcg, &tr.ws[0]);
    size_t useful = 0;
    for (size_t g = 0; g < G; g++) {
        const float *r = train->relevance + train->group_start[g];
        size_t m = train->group_start[g + 1] - train->group_start[g];
        for (size_t i = 1; i < m && !useful; i++) useful = r[i] != r[0];
    }
    if (!useful) {
        mtr_fail(err, "training data: no query group holds two different relevance values, so there is "
                      "no pair to learn from");
        goto done;
    }
    if (valid && group_stats(valid, tr.k, tr.v_inv_idcg, &tr.ws[0]) == 0) {
        mtr_fail(err, "validation data: no query group has an item with relevance > 0, so NDCG cannot "
                      "compare models");
        goto done;
    }

    if (mtr_gbdt_bins_build(&bins, train->X, n, train->d, c.max_bins, c.bin_sample_rows, c.seed, c.n_threads,
                            err) != 0)
        goto done;
    grower = mtr_gbdt_grower_new(&bins, &c, err);
    if (!grower) goto done;

    double train_ndcg = compute_gradients(&tr);
    double best_valid = -INFINITY;
    int best_tree = 0, trained = 0, stop = 0;
    size_t n_nodes = 0, n_leaves = 0;
    const size_t n_features_tree = fraction_count(c.feature_fraction, d);
    const size_t n_groups_tree = fraction_count(c.group_fraction, G);
    const int sampling = n_features_tree < d || n_groups_tree < G;
    for (size_t f = 0; f < d; f++) feature_order[f] = (uint32_t)f;
    memset(feature_mask, 1, d);

    for (int t = 0; t < c.n_trees && !stop; t++) {
        mtr_rng rng;
        mtr_rng_seed(&rng, mtr_seed_mix(c.seed, (uint64_t)t + 1));
        if (n_features_tree < d) {
            /* a partial Fisher-Yates shuffle picks the tree's features */
            for (size_t f = 0; f < n_features_tree; f++) {
                size_t j = f + (size_t)mtr_rng_below(&rng, d - f);
                uint32_t tmp = feature_order[f];
                feature_order[f] = feature_order[j];
                feature_order[j] = tmp;
            }
            memset(feature_mask, 0, d);
            for (size_t f = 0; f < n_features_tree; f++) feature_mask[feature_order[f]] = 1;
        }
        const uint32_t *tree_rows = all_rows;
        size_t m = n;
        if (n_groups_tree < G) {
            size_t picked = sample_sorted(&rng, G, n_groups_tree, group_pick);
            m = 0;
            for (size_t p = 0; p < picked; p++)
                for (size_t i = train->group_start[group_pick[p]]; i < train->group_start[group_pick[p] + 1]; i++)
                    rows[m++] = (uint32_t)i;
            tree_rows = rows;
        }
        const mtr_gbdt_tree *tree = mtr_gbdt_grow(grower, tr.gh, tree_rows, m, feature_mask);
        if (tree->n_nodes == 0 && !sampling) {
            /* a constant tree leaves the order, hence the gradients, as they are: nothing more to learn */
            if (t == 0) {
                mtr_fail(err, "LambdaMART: the first tree found no split (min_samples_leaf %d, "
                              "min_hessian_leaf %g, %zu rows)", c.min_samples_leaf,
                         (double)c.min_hessian_leaf, n);
                goto done;
            }
            break;
        }

        /* append the tree */
        if (reserve_tree(model, &node_gain, &node_cap, &leaf_cap, n_nodes, n_leaves, (size_t)tree->n_nodes,
                         (size_t)tree->n_leaves) != 0) {
            mtr_fail(err, "LambdaMART: out of memory storing tree %d", t + 1);
            goto done;
        }
        mtr_gbdt_node *nodes = model->nodes + n_nodes;
        float *leaf = model->leaf_value + n_leaves;
        memcpy(nodes, tree->nodes, (size_t)tree->n_nodes * sizeof *nodes);
        memcpy(node_gain + n_nodes, tree->node_gain, (size_t)tree->n_nodes * sizeof *node_gain);
        for (int i = 0; i < tree->n_leaves; i++) leaf[i] = (float)(c.learning_rate * tree->leaf_value[i]);
        n_nodes += (size_t)tree->n_nodes;
        n_leaves += (size_t)tree->n_leaves;
        model->node_start[t + 1] = n_nodes;
        model->leaf_start[t + 1] = n_leaves;
        model->n_trees = t + 1;
        trained = t + 1;

        /* training scores: rows of the tree by leaf range; with group sampling, every row by its bins */
        if (m == n) {
            const uint32_t *idx = mtr_gbdt_rows(grower);
            for (int l = 0; l < tree->n_leaves; l++)
                for (size_t r = tree->leaf_begin[l]; r < tree->leaf_end[l]; r++) tr.scores[idx[r]] += (double)leaf[l];
        } else {
            for (size_t i = 0; i < n; i++)
                tr.scores[i] += (double)leaf[mtr_gbdt_tree_leaf_binned(tree, bins.bin + i * d)];
        }

        mtr_lambdamart_report *rep = &reports[t];
        rep->tree = t + 1;
        rep->n_trees = c.n_trees;
        rep->leaves = tree->n_leaves;
        rep->valid_ndcg = NAN;
        if (valid) {
            const size_t n_blocks = (valid->n + PREDICT_BLOCK - 1) / PREDICT_BLOCK;
#pragma omp parallel for schedule(static) num_threads(c.n_threads) if (c.n_threads > 1 && n_blocks > 64)
            for (size_t blk = 0; blk < n_blocks; blk++) {
                size_t r0 = blk * PREDICT_BLOCK, rn = valid->n - r0 < PREDICT_BLOCK ? valid->n - r0 : PREDICT_BLOCK;
                tree_add(model, t, valid->X + r0 * d, d, rn, tr.vscores + r0);
            }
            rep->valid_ndcg = valid_ndcg(&tr);
            if (rep->valid_ndcg > best_valid) {
                best_valid = rep->valid_ndcg;
                best_tree = t + 1;
            }
        } else {
            best_tree = t + 1;
        }
        train_ndcg = compute_gradients(&tr); /* for the next tree, and this report */
        rep->train_ndcg = train_ndcg;
        rep->best_tree = best_tree;
        rep->seconds = mtr_seconds_now() - t_start;
        if (progress && progress(rep, progress_user) != 0) stop = 1;
        if (valid && c.early_stopping_rounds > 0 && t + 1 - best_tree >= c.early_stopping_rounds) stop = 1;
    }

    /* keep the best trees; their gains per feature, summed in double in node order */
    model->n_trees = best_tree;
    double *gain_sum = calloc(d, sizeof *gain_sum);
    if (!gain_sum) {
        mtr_fail(err, "LambdaMART: out of memory");
        goto done;
    }
    for (size_t i = 0; i < model->node_start[best_tree]; i++) gain_sum[model->nodes[i].feature] += node_gain[i];
    for (size_t f = 0; f < d; f++) model->feature_gain[f] = (float)gain_sum[f];
    free(gain_sum);
    model->report = reports[best_tree - 1];
    model->report.tree = trained;
    model->report.seconds = mtr_seconds_now() - t_start;
    ok = 1;

done:
    if (!ok) {
        mtr_lambdamart_free(model);
        model = NULL;
    }
    trainer_free(&tr);
    mtr_gbdt_bins_free(&bins);
    mtr_gbdt_grower_free(grower);
    free(reports);
    free(all_rows);
    free(rows);
    free(group_pick);
    free(feature_order);
    free(feature_mask);
    free(node_gain);
    return model;
}

/* ---------------------------------------------------------------- prediction and accessors */

int mtr_lambdamart_predict(const mtr_lambdamart *model, const float *X, size_t n, int d, float *scores,
                           int n_threads, mtr_error *err) {
    if (!model) return mtr_fail(err, "LambdaMART predict: no model");
    if (d != model->d) return mtr_fail(err, "LambdaMART predict: rows have %d features, the model %d", d, model->d);
    if (n == 0) return 0;
    if (!X || !scores) return mtr_fail(err, "LambdaMART predict: NULL features or output");
    if (n > SIZE_MAX / sizeof(float) / (size_t)d) return mtr_fail(err, "LambdaMART predict: too many rows");
    if (n_threads < 1) n_threads = 1;
    size_t n_blocks = (n + PREDICT_BLOCK - 1) / PREDICT_BLOCK;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1 && n_blocks > 1)
    for (size_t blk = 0; blk < n_blocks; blk++) {
        size_t r0 = blk * PREDICT_BLOCK, rn = n - r0 < PREDICT_BLOCK ? n - r0 : PREDICT_BLOCK;
        double acc[PREDICT_BLOCK] = {0};
        for (int t = 0; t < model->n_trees; t++) tree_add(model, t, X + r0 * (size_t)d, (size_t)d, rn, acc);
        for (size_t r = 0; r < rn; r++) scores[r0 + r] = (float)acc[r];
    }
    return 0;
}

int mtr_lambdamart_tree_count(const mtr_lambdamart *model) {
    return model ? model->n_trees : 0;
}

int mtr_lambdamart_feature_count(const mtr_lambdamart *model) {
    return model ? model->d : 0;
}

const mtr_lambdamart_config *mtr_lambdamart_get_config(const mtr_lambdamart *model) {
    return model ? &model->cfg : NULL;
}

const mtr_lambdamart_report *mtr_lambdamart_summary(const mtr_lambdamart *model) {
    return model ? &model->report : NULL;
}

const float *mtr_lambdamart_feature_gain(const mtr_lambdamart *model) {
    return model ? model->feature_gain : NULL;
}

/* ---------------------------------------------------------------- model file */

/* Metadata keys (all prefixed "lambdamart."), and the tensors:
 *   tree_sizes (trees, 2): internal nodes, leaves of each tree
 *   nodes (total nodes, 5): feature, threshold, default_left, left, right (integers stored exactly as f32)
 *   leaf_values (total leaves), feature_gain (features) */
#define NODE_FIELDS 5

int mtr_lambdamart_save(const mtr_lambdamart *model, const char *path, mtr_error *err) {
    if (!model) return mtr_fail(err, "%s: no model to save", path);
    const size_t T = (size_t)model->n_trees, nn = model->node_start[T], nl = model->leaf_start[T];
    if (nn >= MAX_FEATURES || nl >= MAX_FEATURES)
        return mtr_fail(err, "%s: %zu nodes are too many for the file format (at most %d)", path, nn, MAX_FEATURES - 1);
    float *sizes = malloc((2 * T + 1) * sizeof *sizes);
    float *nodes = malloc((NODE_FIELDS * nn + 1) * sizeof *nodes);
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    if (!sizes || !nodes || !w) {
        free(sizes);
        free(nodes);
        mtr_tfile_writer_free(w);
        return mtr_fail(err, "%s: out of memory", path);
    }
    for (size_t t = 0; t < T; t++) {
        sizes[2 * t] = (float)(model->node_start[t + 1] - model->node_start[t]);
        sizes[2 * t + 1] = (float)(model->leaf_start[t + 1] - model->leaf_start[t]);
    }
    for (size_t i = 0; i < nn; i++) {
        const mtr_gbdt_node *nd = &model->nodes[i];
        float *o = nodes + NODE_FIELDS * i;
        o[0] = (float)nd->feature;
        o[1] = nd->threshold;
        o[2] = (float)nd->default_left;
        o[3] = (float)nd->left;
        o[4] = (float)nd->right;
    }
    const mtr_lambdamart_config *c = &model->cfg;
    const mtr_lambdamart_report *r = &model->report;
    mtr_tfile_put_string(w, "mtrank.file", "lambdamart", 10);
    mtr_tfile_put_string(w, "mtrank.version", MTR_VERSION_STRING, strlen(MTR_VERSION_STRING));
    mtr_tfile_put_u64(w, "lambdamart.format", LAMBDAMART_FORMAT);
    mtr_tfile_put_u64(w, "lambdamart.features", (uint64_t)model->d);
    mtr_tfile_put_u64(w, "lambdamart.trees", T);
    mtr_tfile_put_u64(w, "lambdamart.n_trees", (uint64_t)c->n_trees);
    mtr_tfile_put_f64(w, "lambdamart.learning_rate", c->learning_rate);
    mtr_tfile_put_u64(w, "lambdamart.max_leaves", (uint64_t)c->max_leaves);
    mtr_tfile_put_u64(w, "lambdamart.max_depth", (uint64_t)c->max_depth);
    mtr_tfile_put_u64(w, "lambdamart.min_samples_leaf", (uint64_t)c->min_samples_leaf);
    mtr_tfile_put_f64(w, "lambdamart.min_hessian_leaf", c->min_hessian_leaf);
    mtr_tfile_put_f64(w, "lambdamart.l2", c->l2);
    mtr_tfile_put_u64(w, "lambdamart.max_bins", (uint64_t)c->max_bins);
    mtr_tfile_put_u64(w, "lambdamart.bin_sample_rows", (uint64_t)c->bin_sample_rows);
    mtr_tfile_put_f64(w, "lambdamart.feature_fraction", c->feature_fraction);
    mtr_tfile_put_f64(w, "lambdamart.group_fraction", c->group_fraction);
    mtr_tfile_put_u64(w, "lambdamart.ndcg_k", (uint64_t)c->ndcg_k);
    mtr_tfile_put_f64(w, "lambdamart.sigma", c->sigma);
    mtr_tfile_put_u64(w, "lambdamart.early_stopping_rounds", (uint64_t)c->early_stopping_rounds);
    mtr_tfile_put_u64(w, "lambdamart.seed", c->seed);
    mtr_tfile_put_u64(w, "lambdamart.n_threads", (uint64_t)c->n_threads);
    mtr_tfile_put_u64(w, "lambdamart.trained_trees", (uint64_t)r->tree);
    mtr_tfile_put_u64(w, "lambdamart.last_tree_leaves", (uint64_t)r->leaves);
    mtr_tfile_put_f64(w, "lambdamart.train_ndcg", r->train_ndcg);
    mtr_tfile_put_f64(w, "lambdamart.valid_ndcg", r->valid_ndcg);
    mtr_tfile_put_f64(w, "lambdamart.train_seconds", r->seconds);
    uint64_t dims[2] = {T, 2};
    mtr_tfile_put_tensor(w, "tree_sizes", sizes, 2, dims);
    dims[0] = nn;
    dims[1] = NODE_FIELDS;
    mtr_tfile_put_tensor(w, "nodes", nodes, 2, dims);
    dims[0] = nl;
    mtr_tfile_put_tensor(w, "leaf_values", model->leaf_value, 1, dims);
    dims[0] = (uint64_t)model->d;
    mtr_tfile_put_tensor(w, "feature_gain", model->feature_gain, 1, dims);
    int rc = mtr_tfile_writer_commit(w, path, err);
    mtr_tfile_writer_free(w);
    free(sizes);
    free(nodes);
    return rc;
}

/* A float holding an integer in [lo, hi], as stored by save. */
static int float_int(float v, long lo, long hi, long *out) {
    if (!(v >= (float)lo && v <= (float)hi) || v != floorf(v)) return -1;
    *out = (long)v;
    return 0;
}

static int get_u64_in(const mtr_tfile *f, const char *key, uint64_t lo, uint64_t hi, uint64_t *v, mtr_error *err) {
    if (mtr_tfile_get_u64(f, key, v, err) != 0) return -1;
    if (*v < lo || *v > hi)
        return mtr_fail(err, "%s: %s = %llu is out of range %llu..%llu", mtr_tfile_path(f), key,
                        (unsigned long long)*v, (unsigned long long)lo, (unsigned long long)hi);
    return 0;
}

static int get_f32(const mtr_tfile *f, const char *key, float *v, mtr_error *err) {
    double x;
    if (mtr_tfile_get_f64(f, key, &x, err) != 0) return -1;
    *v = (float)x;
    return 0;
}

static int read_config(const mtr_tfile *f, mtr_lambdamart_config *c, mtr_lambdamart_report *r, mtr_error *err) {
    uint64_t v;
    mtr_lambdamart_config_default(c);
    memset(r, 0, sizeof *r);
    const uint64_t I = INT32_MAX;
    if (get_u64_in(f, "lambdamart.n_trees", 1, I, &v, err)) return -1;
    c->n_trees = (int)v;
    if (get_f32(f, "lambdamart.learning_rate", &c->learning_rate, err)) return -1;
    if (get_u64_in(f, "lambdamart.max_leaves", 2, I, &v, err)) return -1;
    c->max_leaves = (int)v;
    if (get_u64_in(f, "lambdamart.max_depth", 0, I, &v, err)) return -1;
    c->max_depth = (int)v;
    if (get_u64_in(f, "lambdamart.min_samples_leaf", 1, I, &v, err)) return -1;
    c->min_samples_leaf = (int)v;
    if (get_f32(f, "lambdamart.min_hessian_leaf", &c->min_hessian_leaf, err)) return -1;
    if (get_f32(f, "lambdamart.l2", &c->l2, err)) return -1;
    if (get_u64_in(f, "lambdamart.max_bins", 2, 255, &v, err)) return -1;
    c->max_bins = (int)v;
    if (get_u64_in(f, "lambdamart.bin_sample_rows", 0, SIZE_MAX, &v, err)) return -1;
    c->bin_sample_rows = (size_t)v;
    if (get_f32(f, "lambdamart.feature_fraction", &c->feature_fraction, err)) return -1;
    if (get_f32(f, "lambdamart.group_fraction", &c->group_fraction, err)) return -1;
    if (get_u64_in(f, "lambdamart.ndcg_k", 0, I, &v, err)) return -1;
    c->ndcg_k = (int)v;
    if (get_f32(f, "lambdamart.sigma", &c->sigma, err)) return -1;
    if (get_u64_in(f, "lambdamart.early_stopping_rounds", 0, I, &v, err)) return -1;
    c->early_stopping_rounds = (int)v;
    if (mtr_tfile_get_u64(f, "lambdamart.seed", &c->seed, err)) return -1;
    if (get_u64_in(f, "lambdamart.n_threads", 1, 256, &v, err)) return -1;
    c->n_threads = (int)v;
    const char *problem = mtr_lambdamart_config_check(c);
    if (problem) return mtr_fail(err, "%s: bad LambdaMART configuration: %s", mtr_tfile_path(f), problem);
    if (get_u64_in(f, "lambdamart.trained_trees", 1, I, &v, err)) return -1;
    r->tree = (int)v;
    r->n_trees = c->n_trees;
    if (get_u64_in(f, "lambdamart.last_tree_leaves", 1, I, &v, err)) return -1;
    r->leaves = (int)v;
    if (mtr_tfile_get_f64(f, "lambdamart.train_ndcg", &r->train_ndcg, err)) return -1;
    if (mtr_tfile_get_f64(f, "lambdamart.valid_ndcg", &r->valid_ndcg, err)) return -1;
    if (mtr_tfile_get_f64(f, "lambdamart.train_seconds", &r->seconds, err)) return -1;
    return 0;
}

/* Check tree t (nodes nd[0..nn), leaves 0..nl-1): features in range, thresholds not NaN, every child
 * after its parent, every node but the root and every leaf reached exactly once. `seen` has nn + nl
 * entries. */
static int check_tree(const char *path, size_t t, const mtr_gbdt_node *nd, size_t nn, size_t nl, int d,
                      unsigned char *seen, mtr_error *err) {
    if (nl != nn + 1) return mtr_fail(err, "%s: tree %zu has %zu nodes and %zu leaves (expected %zu leaves)", path, t, nn, nl, nn + 1);
    memset(seen, 0, nn + nl);
    for (size_t i = 0; i < nn; i++) {
        if (nd[i].feature < 0 || nd[i].feature >= d)
            return mtr_fail(err, "%s: tree %zu node %zu: feature %d is not in 0..%d", path, t, i, nd[i].feature, d - 1);
        if (isnan(nd[i].threshold)) return mtr_fail(err, "%s: tree %zu node %zu: threshold is NaN", path, t, i);
        int32_t ch[2] = {nd[i].left, nd[i].right};
        for (int s = 0; s < 2; s++) {
            int32_t x = ch[s];
            size_t slot;
            if (x >= 0) {
                if ((size_t)x <= i || (size_t)x >= nn)
                    return mtr_fail(err, "%s: tree %zu node %zu: child node %d is not in %zu..%zu", path, t, i, x,
                                    i + 1, nn - 1);
                slot = (size_t)x;
            } else {
                if ((size_t)~x >= nl)
                    return mtr_fail(err, "%s: tree %zu node %zu: leaf %d is not in 0..%zu", path, t, i, ~x, nl - 1);
                slot = nn + (size_t)~x;
            }
            if (seen[slot]++)
                return mtr_fail(err, "%s: tree %zu: %s %ld is reached twice", path, t, x >= 0 ? "node" : "leaf",
                                (long)(x >= 0 ? x : ~x));
        }
    }
    /* nn nodes have 2 nn = nn - 1 + nl child slots, each distinct: every non-root node and leaf is used */
    return 0;
}

mtr_lambdamart *mtr_lambdamart_load(const char *path, mtr_error *err) {
    mtr_tfile *f = mtr_tfile_open(path, err);
    if (!f) return NULL;
    mtr_lambdamart *m = calloc(1, sizeof *m);
    unsigned char *seen = NULL;
    int ok = 0;
    const char *s;
    size_t len;
    uint64_t v, T, d;
    if (!m) {
        mtr_fail(err, "%s: out of memory", path);
        goto done;
    }
    if (mtr_tfile_get_string(f, "mtrank.file", &s, &len, err) != 0) goto done;
    if (len != 10 || memcmp(s, "lambdamart", 10) != 0) {
        mtr_fail(err, "%s: not a LambdaMART model (the file holds a '%.*s')", path, (int)(len < 64 ? len : 64), s);
        goto done;
    }
    if (mtr_tfile_get_u64(f, "lambdamart.format", &v, err) != 0) goto done;
    if (v == 0 || v > LAMBDAMART_FORMAT) {
        mtr_fail(err, "%s: LambdaMART format %llu, this build reads up to %d%s", path, (unsigned long long)v,
                 LAMBDAMART_FORMAT, v ? ": written by a newer mtrank, upgrade mtrank" : " (file corrupt)");
        goto done;
    }
    if (get_u64_in(f, "lambdamart.features", 1, MAX_FEATURES, &d, err) != 0) goto done;
    if (get_u64_in(f, "lambdamart.trees", 1, 1000000, &T, err) != 0) goto done;
    if (read_config(f, &m->cfg, &m->report, err) != 0) goto done;
    if ((uint64_t)m->report.tree < T) {
        mtr_fail(err, "%s: lambdamart.trained_trees = %d is below the %llu trees stored", path, m->report.tree,
                 (unsigned long long)T);
        goto done;
    }
    m->report.best_tree = (int)T;
    m->d = (int)d;
    uint64_t dims[2] = {T, 2};
    const float *sizes = mtr_tfile_get_tensor(f, "tree_sizes", 2, dims, err);
    if (!sizes) goto done;
    m->node_start = malloc((T + 1) * sizeof *m->node_start);
    m->leaf_start = malloc((T + 1) * sizeof *m->leaf_start);
    if (!m->node_start || !m->leaf_start) {
        mtr_fail(err, "%s: out of memory", path);
        goto done;
    }
    m->node_start[0] = m->leaf_start[0] = 0;
    size_t max_tree = 0;
    for (size_t t = 0; t < T; t++) {
        long nn, nl;
        if (float_int(sizes[2 * t], 0, MAX_FEATURES, &nn) || float_int(sizes[2 * t + 1], 1, MAX_FEATURES, &nl)) {
            mtr_fail(err, "%s: tree %zu: bad size (%g nodes, %g leaves)", path, t, (double)sizes[2 * t],
                     (double)sizes[2 * t + 1]);
            goto done;
        }
        m->node_start[t + 1] = m->node_start[t] + (size_t)nn;
        m->leaf_start[t + 1] = m->leaf_start[t] + (size_t)nl;
        if ((size_t)(nn + nl) > max_tree) max_tree = (size_t)(nn + nl);
        if (m->node_start[t + 1] >= MAX_FEATURES || m->leaf_start[t + 1] >= MAX_FEATURES) {
            mtr_fail(err, "%s: more than %d nodes", path, MAX_FEATURES - 1);
            goto done;
        }
    }
    size_t nn = m->node_start[T], nl = m->leaf_start[T];
    dims[0] = nn;
    dims[1] = NODE_FIELDS;
    const float *nodes = mtr_tfile_get_tensor(f, "nodes", 2, dims, err);
    if (!nodes) goto done;
    dims[0] = nl;
    const float *leaves = mtr_tfile_get_tensor(f, "leaf_values", 1, dims, err);
    if (!leaves) goto done;
    dims[0] = d;
    const float *gain = mtr_tfile_get_tensor(f, "feature_gain", 1, dims, err);
    if (!gain) goto done;
    m->nodes = malloc((nn ? nn : 1) * sizeof *m->nodes);
    m->leaf_value = malloc(nl * sizeof *m->leaf_value);
    m->feature_gain = malloc(d * sizeof *m->feature_gain);
    seen = malloc(max_tree);
    if (!m->nodes || !m->leaf_value || !m->feature_gain || !seen) {
        mtr_fail(err, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < nn; i++) {
        const float *o = nodes + NODE_FIELDS * i;
        long feature, dl, left, right;
        if (float_int(o[0], -1, MAX_FEATURES, &feature) || float_int(o[2], 0, 1, &dl) ||
            float_int(o[3], -MAX_FEATURES - 1, MAX_FEATURES, &left) ||
            float_int(o[4], -MAX_FEATURES - 1, MAX_FEATURES, &right)) {
            mtr_fail(err, "%s: node %zu: a field is not an integer in range", path, i);
            goto done;
        }
        m->nodes[i] = (mtr_gbdt_node){o[1], (int32_t)feature, (int32_t)left, (int32_t)right, (int32_t)dl};
    }
    for (size_t i = 0; i < nl; i++) {
        if (!isfinite(leaves[i])) {
            mtr_fail(err, "%s: leaf value %zu is not finite", path, i);
            goto done;
        }
        m->leaf_value[i] = leaves[i];
    }
    for (size_t i = 0; i < d; i++) m->feature_gain[i] = gain[i];
    for (size_t t = 0; t < T; t++)
        if (check_tree(path, t, m->nodes + m->node_start[t], m->node_start[t + 1] - m->node_start[t],
                       m->leaf_start[t + 1] - m->leaf_start[t], m->d, seen, err) != 0)
            goto done;
    m->n_trees = (int)T;
    ok = 1;
done:
    free(seen);
    mtr_tfile_close(f);
    if (!ok) {
        mtr_lambdamart_free(m);
        return NULL;
    }
    return m;
}

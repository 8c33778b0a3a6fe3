/* test_lambdamart.c - LambdaMART: lambda gradients of a 3-item list by hand and against finite
 * differences of the pairwise cost, quantile binning, a split on a hand-built feature (and the side
 * missing values take), ranking a planted relevance function far better than a single feature or chance,
 * determinism (seed, thread count), early stopping reproducing the reported validation NDCG, save/load
 * giving bit-identical scores, refused corrupt, truncated, foreign and malformed files, and clear errors
 * for bad configurations and data. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/list_metrics.h"
#include "io/tensor_file.h"
#include "mtrank.h"
#include "rank/lambdamart.h"
#include "test.h"
#include "util/rng.h"

/* ---------------------------------------------------------------- helpers */

/* A planted ranking problem: x ~ U(-1, 1)^d (d >= 5) with 5 % of x1 missing; utility
 * u = 1.5 x0 + sin(3 x1) + 2 x2 x3 - 0.8 |x4| (x1 missing counts as 0); relevance 0..4 from u plus
 * N(0, 0.3^2) noise cut at 0.5, 1, 1.5, 2. */
typedef struct planted {
    float *X, *rel, *utility;
    size_t *group_start;
    mtr_rank_data data;
} planted;

static void planted_make(planted *p, size_t groups, size_t per_group, int d, uint64_t seed) {
    size_t n = groups * per_group;
    p->X = malloc(n * (size_t)d * sizeof *p->X);
    p->rel = malloc(n * sizeof *p->rel);
    p->utility = malloc(n * sizeof *p->utility);
    p->group_start = malloc((groups + 1) * sizeof *p->group_start);
    mtr_rng rng;
    mtr_rng_seed(&rng, seed);
    for (size_t g = 0; g <= groups; g++) p->group_start[g] = g * per_group;
    for (size_t i = 0; i < n; i++) {
        float *x = p->X + i * (size_t)d;
        for (int f = 0; f < d; f++) x[f] = (float)(2.0 * mtr_rng_uniform(&rng) - 1.0);
        if (mtr_rng_uniform(&rng) < 0.05) x[1] = NAN;
        double x1 = isnan(x[1]) ? 0.0 : x[1];
        double u = 1.5 * x[0] + sin(3.0 * x1) + 2.0 * x[2] * x[3] - 0.8 * fabs(x[4]);
        double v = u + 0.3 * mtr_rng_normal(&rng);
        p->utility[i] = (float)u;
        p->rel[i] = v < 0.5 ? 0.0f : v < 1.0 ? 1.0f : v < 1.5 ? 2.0f : v < 2.0 ? 3.0f : 4.0f;
    }
    p->data = (mtr_rank_data){p->X, p->rel, p->group_start, n, groups, d};
}

static void planted_free(planted *p) {
    free(p->X);
    free(p->rel);
    free(p->utility);
    free(p->group_start);
}

/* Small, fast settings for the tests. */
static void small_config(mtr_lambdamart_config *c) {
    mtr_lambdamart_config_default(c);
    c->n_trees = 60;
    c->max_leaves = 15;
    c->min_samples_leaf = 10;
    c->learning_rate = 0.2f;
    c->early_stopping_rounds = 0;
}

static double mean_ndcg(const float *scores, const planted *p, int k) {
    mtr_list_metrics m;
    mtr_error err = {{0}};
    if (mtr_list_metrics_compute(scores, p->rel, p->group_start, p->data.n_groups, k, &m, &err) != 0) return NAN;
    return m.ndcg;
}

static float *predict_all(const mtr_lambdamart *m, const planted *p, int threads) {
    float *s = malloc(p->data.n * sizeof *s);
    mtr_error err = {{0}};
    int rc = mtr_lambdamart_predict(m, p->X, p->data.n, p->data.d, s, threads, &err);
    CHECK_MSG(rc == 0, "predict: %s", err.message);
    return s;
}

/* ---------------------------------------------------------------- lambda gradients */

TEST(lambdamart_lambdas_three_items_by_hand) {
    /* scores rank item0, item1, item2; relevance 0, 2, 1 (gains 0, 3, 1) */
    const double s[3] = {0.5, 0.2, -0.1};
    const float rel[3] = {0, 2, 1};
    const double gain[3] = {0, 3, 1};
    const double d1 = 1.0, d2 = 1.0 / log2(3.0), d3 = 0.5;
    const double idcg = 3.0 * d1 + 1.0 * d2;
    mtr_lambda_ws ws;
    CHECK_EQ_INT(mtr_lambda_ws_init(&ws, 3), 0);
    float gh[6];
    double ndcg = mtr_lambda_list(s, rel, gain, 3, 0, 1.0 / idcg, 1.0, gh, &ws);
    CHECK_NEAR(ndcg, (3.0 * d2 + 1.0 * d3) / idcg, 1e-12);
    /* pair (item1 > item0): swapping ranks 1 and 2 changes NDCG by |3 - 0| |d1 - d2| / idcg */
    double delta10 = 3.0 * (d1 - d2) / idcg, rho10 = 1.0 / (1.0 + exp(s[1] - s[0]));
    /* pair (item2 > item0): ranks 1 and 3 */
    double delta20 = 1.0 * (d1 - d3) / idcg, rho20 = 1.0 / (1.0 + exp(s[2] - s[0]));
    /* pair (item1 > item2): ranks 2 and 3 */
    double delta12 = 2.0 * (d2 - d3) / idcg, rho12 = 1.0 / (1.0 + exp(s[1] - s[2]));
    double g0 = rho10 * delta10 + rho20 * delta20;
    double g1 = -rho10 * delta10 - rho12 * delta12;
    double g2 = -rho20 * delta20 + rho12 * delta12;
    double h0 = rho10 * (1 - rho10) * delta10 + rho20 * (1 - rho20) * delta20;
    double h1 = rho10 * (1 - rho10) * delta10 + rho12 * (1 - rho12) * delta12;
    double h2 = rho20 * (1 - rho20) * delta20 + rho12 * (1 - rho12) * delta12;
    CHECK_NEAR(gh[0], g0, 1e-7);
    CHECK_NEAR(gh[2], g1, 1e-7);
    CHECK_NEAR(gh[4], g2, 1e-7);
    CHECK_NEAR(gh[1], h0, 1e-7);
    CHECK_NEAR(gh[3], h1, 1e-7);
    CHECK_NEAR(gh[5], h2, 1e-7);
    CHECK(gh[0] > 0 && gh[2] < 0); /* the irrelevant leader is pushed down, the best item up */
    CHECK_NEAR((double)gh[0] + gh[2] + gh[4], 0.0, 1e-7);

    /* NDCG@1: only pairs involving rank 1 count, with discounts 1 and 0; ideal DCG@1 = 3 */
    ndcg = mtr_lambda_list(s, rel, gain, 3, 1, 1.0 / 3.0, 1.0, gh, &ws);
    CHECK_NEAR(ndcg, 0.0, 1e-12);
    double e10 = 3.0 / 3.0, e20 = 1.0 / 3.0;
    CHECK_NEAR(gh[0], rho10 * e10 + rho20 * e20, 1e-7);
    CHECK_NEAR(gh[2], -rho10 * e10, 1e-7);
    CHECK_NEAR(gh[4], -rho20 * e20, 1e-7);
    CHECK_NEAR(gh[3], rho10 * (1 - rho10) * e10, 1e-7);

    /* sigma scales: g by sigma (and rho), h by sigma^2 */
    const double sg = 2.0;
    ndcg = mtr_lambda_list(s, rel, gain, 3, 1, 1.0 / 3.0, sg, gh, &ws);
    double r10 = 1.0 / (1.0 + exp(sg * (s[1] - s[0])));
    CHECK_NEAR(gh[2], -sg * r10 * e10, 1e-7);
    CHECK_NEAR(gh[3], sg * sg * r10 * (1 - r10) * e10, 1e-7);

    /* nothing relevant: zero gradients, NDCG 1 */
    const float zero[3] = {0, 0, 0};
    const double zg[3] = {0, 0, 0};
    CHECK_NEAR(mtr_lambda_list(s, zero, zg, 3, 0, 0.0, 1.0, gh, &ws), 1.0, 0);
    for (int i = 0; i < 6; i++) CHECK(gh[i] == 0.0f);
    mtr_lambda_ws_free(&ws);
}

/* The pairwise cost whose gradient the lambdas are, with the |delta NDCG| weights of the current ranking
 * held fixed: C(s) = sum over pairs delta * log(1 + exp(-sigma (s_hi - s_lo))). */
static double pair_cost(const double *s, const float *rel, const double *gain, size_t m, size_t k,
                        double inv_idcg, double sigma, const uint32_t *order) {
    size_t kk = (k == 0 || k > m) ? m : k;
    double c = 0.0;
    for (size_t p = 0; p < kk; p++)
        for (size_t q = p + 1; q < m; q++) {
            uint32_t i = order[p], j = order[q];
            if (rel[i] == rel[j]) continue;
            double dp = 1.0 / log2(p + 2.0), dq = q < kk ? 1.0 / log2(q + 2.0) : 0.0;
            double delta = fabs(gain[i] - gain[j]) * (dp - dq) * inv_idcg;
            uint32_t hi = rel[i] > rel[j] ? i : j, lo = rel[i] > rel[j] ? j : i;
            c += delta * log1p(exp(-sigma * (s[hi] - s[lo])));
        }
    return c;
}

TEST(lambdamart_lambdas_match_finite_differences) {
    enum { M = 9 };
    mtr_rng rng;
    mtr_rng_seed(&rng, 3);
    double s[M], gain[M];
    float rel[M], fs[M];
    for (int i = 0; i < M; i++) {
        s[i] = mtr_rng_normal(&rng);
        rel[i] = (float)mtr_rng_below(&rng, 4);
        gain[i] = exp2(rel[i]) - 1.0;
        fs[i] = (float)s[i];
    }
    uint32_t order[M];
    uint64_t scratch[2 * M];
    mtr_list_order(fs, M, order, scratch);
    mtr_lambda_ws ws;
    CHECK_EQ_INT(mtr_lambda_ws_init(&ws, M), 0);
    for (size_t k = 0; k <= 4; k += 2) {
        uint32_t iord[M];
        uint64_t isc[2 * M];
        double ideal = mtr_list_ideal_dcg(rel, M, k, iord, isc);
        const double sigma = 1.3;
        float gh[2 * M];
        mtr_lambda_list(s, rel, gain, M, k, 1.0 / ideal, sigma, gh, &ws);
        const double h = 1e-4;
        for (int i = 0; i < M; i++) {
            double sp[M], sm[M];
            memcpy(sp, s, sizeof sp);
            memcpy(sm, s, sizeof sm);
            sp[i] += h;
            sm[i] -= h;
            double c0 = pair_cost(s, rel, gain, M, k, 1.0 / ideal, sigma, order);
            double cp = pair_cost(sp, rel, gain, M, k, 1.0 / ideal, sigma, order);
            double cm = pair_cost(sm, rel, gain, M, k, 1.0 / ideal, sigma, order);
            CHECK_NEAR(gh[2 * i], (cp - cm) / (2 * h), 1e-6);
            CHECK_NEAR(gh[2 * i + 1], (cp - 2 * c0 + cm) / (h * h), 1e-4);
        }
    }
    mtr_lambda_ws_free(&ws);
}

/* ---------------------------------------------------------------- binning */

TEST(lambdamart_bins_quantiles_and_thresholds) {
    enum { N = 1000 };
    float *X = malloc(N * 3 * sizeof *X);
    mtr_rng rng;
    mtr_rng_seed(&rng, 11);
    for (int i = 0; i < N; i++) {
        X[i * 3 + 0] = (float)(i % 5);                                   /* 5 distinct values */
        X[i * 3 + 1] = (float)mtr_rng_uniform(&rng);                     /* continuous */
        X[i * 3 + 2] = i % 2 ? 0.0f : (i % 10 == 0 ? NAN : (float)i);    /* half zeros, 10 % missing */
    }
    mtr_gbdt_bins b;
    mtr_error err = {{0}};
    CHECK_EQ_INT(mtr_gbdt_bins_build(&b, X, N, 3, 16, 0, 1, 1, &err), 0);
    CHECK_EQ_INT(b.n_bins[0], 6); /* each distinct value its own bin, plus the missing bin */
    CHECK_NEAR(b.upper[b.offset[0] + 1], 0.5, 1e-7);
    CHECK_NEAR(b.upper[b.offset[0] + 4], 3.5, 1e-7);
    CHECK(isinf(b.upper[b.offset[0] + 5]));
    CHECK_EQ_INT(b.n_bins[1], 17); /* 16 value bins of about 1000 / 16 rows */
    size_t count[17] = {0};
    for (int i = 0; i < N; i++) count[b.bin[i * 3 + 1]]++;
    CHECK_EQ_INT(count[0], 0);
    for (int k = 1; k <= 16; k++) CHECK_MSG(count[k] >= 50 && count[k] <= 75, "bin %d holds %zu rows", k, count[k]);
    /* the heavy value 0 gets a bin of its own, the missing rows bin 0 */
    size_t zeros_bin = 0, missing = 0;
    for (int i = 0; i < N; i++) {
        if (X[i * 3 + 2] == 0.0f) {
            if (zeros_bin == 0) zeros_bin = b.bin[i * 3 + 2];
            CHECK_EQ_INT(b.bin[i * 3 + 2], zeros_bin);
        }
        missing += b.bin[i * 3 + 2] == 0;
    }
    CHECK_EQ_INT(missing, N / 10);
    for (int i = 0; i < N; i++)
        if (X[i * 3 + 2] != 0.0f && b.bin[i * 3 + 2] != 0) CHECK(b.bin[i * 3 + 2] != zeros_bin);
    /* for every row and threshold: bin <= t exactly when value <= upper[t]; thresholds increase */
    for (int f = 0; f < 3; f++) {
        const float *up = b.upper + b.offset[f];
        for (int t = 2; t < b.n_bins[f]; t++) CHECK(up[t] > up[t - 1]);
        for (int i = 0; i < N; i++) {
            float v = X[i * 3 + f];
            if (isnan(v)) continue;
            for (int t = 1; t < b.n_bins[f]; t++) CHECK((b.bin[i * 3 + f] <= t) == (v <= up[t]));
        }
    }
    mtr_gbdt_bins_free(&b);
    free(X);
}

/* ---------------------------------------------------------------- splits */

TEST(lambdamart_split_finds_the_threshold) {
    /* one list of 200: x0 = i / 200, relevant exactly when x0 > 0.6; x1 is noise */
    enum { N = 200 };
    float X[N * 2], rel[N];
    mtr_rng rng;
    mtr_rng_seed(&rng, 5);
    for (int i = 0; i < N; i++) {
        X[2 * i] = (float)i / N;
        X[2 * i + 1] = (float)mtr_rng_uniform(&rng);
        rel[i] = X[2 * i] > 0.6f ? 1.0f : 0.0f;
    }
    size_t gs[2] = {0, N};
    mtr_rank_data data = {X, rel, gs, N, 1, 2};
    mtr_lambdamart_config c;
    mtr_lambdamart_config_default(&c);
    c.n_trees = 1;
    c.max_leaves = 2;
    c.min_samples_leaf = 1;
    c.learning_rate = 1.0f;
    c.ndcg_k = 0;
    mtr_error err = {{0}};
    mtr_lambdamart *m = mtr_lambdamart_train(&data, NULL, &c, NULL, NULL, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m) return;
    CHECK_EQ_INT(m->n_trees, 1);
    CHECK_EQ_INT(m->node_start[1], 1);
    const mtr_gbdt_node *nd = &m->nodes[0];
    CHECK_EQ_INT(nd->feature, 0);
    /* between the largest irrelevant value (0.6) and the smallest relevant one (0.605) */
    CHECK_MSG(nd->threshold >= 0.6f && nd->threshold < 0.605f, "threshold %.9g", (double)nd->threshold);
    CHECK(m->leaf_value[~nd->right] > m->leaf_value[~nd->left]);
    CHECK(m->feature_gain[0] > 0.0f && m->feature_gain[1] == 0.0f);
    /* predictions: two values, split exactly at the threshold */
    float probe[4] = {0.6f, 0.5f, 0.604f, 0.5f}, out[2];
    CHECK_EQ_INT(mtr_lambdamart_predict(m, probe, 2, 2, out, 1, &err), 0);
    CHECK(out[0] == m->leaf_value[~nd->left] && out[1] == m->leaf_value[~nd->right]);
    mtr_lambdamart_free(m);

    /* missing values: the relevant rows above 0.6 and every row with x0 missing go together */
    for (int i = 0; i < N; i += 4)
        if (rel[i] > 0) X[2 * i] = NAN;
    for (int i = 1; i < N; i += 7) {
        X[2 * i] = NAN;
        rel[i] = 1.0f;
    }
    m = mtr_lambdamart_train(&data, NULL, &c, NULL, NULL, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m) return;
    nd = &m->nodes[0];
    CHECK_EQ_INT(nd->feature, 0);
    CHECK_EQ_INT(nd->default_left, 0);
    CHECK(nd->threshold >= 0.6f && nd->threshold < 0.605f);
    float nan_row[2] = {NAN, 0.5f};
    CHECK_EQ_INT(mtr_lambdamart_predict(m, nan_row, 1, 2, out, 1, &err), 0);
    CHECK(out[0] == m->leaf_value[~nd->right]);
    mtr_lambdamart_free(m);
}

/* ---------------------------------------------------------------- learning */

TEST(lambdamart_ranks_planted_relevance) {
    planted tr, va, te;
    planted_make(&tr, 150, 30, 8, 1);
    planted_make(&va, 40, 30, 8, 2);
    planted_make(&te, 80, 30, 8, 3);
    mtr_lambdamart_config c;
    small_config(&c);
    mtr_error err = {{0}};
    mtr_lambdamart *m = mtr_lambdamart_train(&tr.data, &va.data, &c, NULL, NULL, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (m) {
        float *s = predict_all(m, &te, 1);
        float *x0 = malloc(te.data.n * sizeof *x0), *noise = malloc(te.data.n * sizeof *noise);
        mtr_rng rng;
        mtr_rng_seed(&rng, 9);
        for (size_t i = 0; i < te.data.n; i++) {
            x0[i] = te.X[i * 8];
            noise[i] = (float)mtr_rng_uniform(&rng);
        }
        double model = mean_ndcg(s, &te, 10), oracle = mean_ndcg(te.utility, &te, 10);
        double single = mean_ndcg(x0, &te, 10), chance = mean_ndcg(noise, &te, 10);
        CHECK_MSG(model > oracle - 0.05, "NDCG@10 %.4f, oracle (true utility) %.4f", model, oracle);
        CHECK_MSG(model > single + 0.15, "NDCG@10 %.4f, x0 alone %.4f", model, single);
        CHECK_MSG(model > chance + 0.3, "NDCG@10 %.4f, random %.4f", model, chance);
        /* the features the utility uses carry the gain; x5..x7 are noise */
        const float *gain = mtr_lambdamart_feature_gain(m);
        double used = gain[0] + gain[1] + gain[2] + gain[3], unused = gain[5] + gain[6] + gain[7];
        CHECK_MSG(used > 20 * unused, "gain of used features %g, of noise %g", used, unused);
        const mtr_lambdamart_report *r = mtr_lambdamart_summary(m);
        CHECK_EQ_INT(r->tree, 60);
        CHECK_EQ_INT(r->best_tree, mtr_lambdamart_tree_count(m));
        CHECK(r->train_ndcg > r->valid_ndcg - 0.02 && r->valid_ndcg > 0.85);
        float *st = predict_all(m, &tr, 1);
        CHECK_NEAR(mean_ndcg(st, &tr, 10), r->train_ndcg, 1e-12); /* scores seen in training = predict */
        free(st);
        free(s);
        free(x0);
        free(noise);
    }
    mtr_lambdamart_free(m);
    planted_free(&tr);
    planted_free(&va);
    planted_free(&te);
}

TEST(lambdamart_deterministic_for_seed_and_threads) {
    planted tr;
    planted_make(&tr, 60, 20, 6, 4);
    mtr_lambdamart_config c;
    small_config(&c);
    c.n_trees = 15;
    c.feature_fraction = 0.6f;
    c.group_fraction = 0.7f;
    c.bin_sample_rows = 500; /* a sampled bin placement too */
    mtr_error err = {{0}};
    mtr_lambdamart *a = mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err);
    mtr_lambdamart *b = mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err);
    c.n_threads = 2;
    mtr_lambdamart *t2 = mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err);
    c.n_threads = 1;
    c.seed = 2;
    mtr_lambdamart *other = mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err);
    CHECK_MSG(a && b && t2 && other, "%s", err.message);
    if (a && b && t2 && other) {
        float *sa = predict_all(a, &tr, 1), *sb = predict_all(b, &tr, 1);
        float *s2 = predict_all(t2, &tr, 1), *so = predict_all(other, &tr, 1), *sp = predict_all(a, &tr, 2);
        CHECK(memcmp(sa, sb, tr.data.n * sizeof *sa) == 0);
        CHECK(memcmp(sa, s2, tr.data.n * sizeof *sa) == 0); /* 2 training threads */
        CHECK(memcmp(sa, sp, tr.data.n * sizeof *sa) == 0); /* 2 predicting threads */
        CHECK(memcmp(sa, so, tr.data.n * sizeof *sa) != 0); /* another seed samples otherwise */
        /* training walked the trees on bins for the rows outside each tree's sample: the scores it saw
         * are those predict gives from the raw features */
        CHECK_NEAR(mean_ndcg(sa, &tr, c.ndcg_k), mtr_lambdamart_summary(a)->train_ndcg, 1e-12);
        free(sa);
        free(sb);
        free(s2);
        free(so);
        free(sp);
    }
    mtr_lambdamart_free(a);
    mtr_lambdamart_free(b);
    mtr_lambdamart_free(t2);
    mtr_lambdamart_free(other);
    planted_free(&tr);
}

static int count_reports(const mtr_lambdamart_report *r, void *user) {
    int *calls = user;
    (*calls)++;
    CHECK_EQ_INT(r->tree, *calls);
    CHECK(r->leaves >= 1 && r->seconds >= 0.0);
    return r->tree >= 4; /* stop after 4 trees */
}

TEST(lambdamart_early_stopping_and_progress) {
    /* relevance unrelated to the features: validation NDCG stops improving early */
    planted tr, va;
    planted_make(&tr, 60, 20, 6, 5);
    planted_make(&va, 40, 20, 6, 6);
    mtr_rng rng;
    mtr_rng_seed(&rng, 8);
    for (size_t i = 0; i < tr.data.n; i++) tr.rel[i] = (float)mtr_rng_below(&rng, 3);
    mtr_lambdamart_config c;
    small_config(&c);
    c.n_trees = 200;
    c.early_stopping_rounds = 5;
    mtr_error err = {{0}};
    mtr_lambdamart *m = mtr_lambdamart_train(&tr.data, &va.data, &c, NULL, NULL, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (m) {
        const mtr_lambdamart_report *r = mtr_lambdamart_summary(m);
        CHECK_MSG(r->tree < 200, "trained %d trees", r->tree);
        CHECK_EQ_INT(r->tree - r->best_tree, 5);
        CHECK_EQ_INT(mtr_lambdamart_tree_count(m), r->best_tree);
        /* the kept model's validation NDCG is what training reported for it, exactly */
        float *s = predict_all(m, &va, 1);
        CHECK_NEAR(mean_ndcg(s, &va, c.ndcg_k), r->valid_ndcg, 1e-12);
        free(s);
    }
    mtr_lambdamart_free(m);
    /* a progress callback that asks to stop */
    int calls = 0;
    c.early_stopping_rounds = 0;
    m = mtr_lambdamart_train(&tr.data, NULL, &c, count_reports, &calls, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    CHECK_EQ_INT(calls, 4);
    CHECK_EQ_INT(mtr_lambdamart_tree_count(m), 4);
    mtr_lambdamart_free(m);
    planted_free(&tr);
    planted_free(&va);
}

/* ---------------------------------------------------------------- files */

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size);
    *n = fread(b, 1, (size_t)size, f);
    fclose(f);
    return b;
}

TEST(lambdamart_save_load_bit_identical) {
    planted tr, te;
    planted_make(&tr, 60, 20, 6, 7);
    planted_make(&te, 30, 20, 6, 8);
    mtr_lambdamart_config c;
    small_config(&c);
    c.n_trees = 20;
    mtr_error err = {{0}};
    mtr_lambdamart *m = mtr_lambdamart_train(&tr.data, &te.data, &c, NULL, NULL, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m) return;
    const char *path = mtr_test_path("lm.mtrm");
    CHECK_MSG(mtr_lambdamart_save(m, path, &err) == 0, "%s", err.message);
    mtr_lambdamart *l = mtr_lambdamart_load(path, &err);
    CHECK_MSG(l != NULL, "%s", err.message);
    if (l) {
        float *a = predict_all(m, &te, 1), *b = predict_all(l, &te, 1);
        CHECK(memcmp(a, b, te.data.n * sizeof *a) == 0);
        free(a);
        free(b);
        CHECK_EQ_INT(mtr_lambdamart_tree_count(l), mtr_lambdamart_tree_count(m));
        CHECK_EQ_INT(mtr_lambdamart_feature_count(l), 6);
        const mtr_lambdamart_config *cl = mtr_lambdamart_get_config(l), *cm = mtr_lambdamart_get_config(m);
        CHECK(cl->n_trees == cm->n_trees && cl->learning_rate == cm->learning_rate &&
              cl->max_leaves == cm->max_leaves && cl->max_depth == cm->max_depth &&
              cl->min_samples_leaf == cm->min_samples_leaf && cl->min_hessian_leaf == cm->min_hessian_leaf &&
              cl->l2 == cm->l2 && cl->max_bins == cm->max_bins && cl->bin_sample_rows == cm->bin_sample_rows &&
              cl->feature_fraction == cm->feature_fraction && cl->group_fraction == cm->group_fraction &&
              cl->ndcg_k == cm->ndcg_k && cl->sigma == cm->sigma &&
              cl->early_stopping_rounds == cm->early_stopping_rounds && cl->seed == cm->seed &&
              cl->n_threads == cm->n_threads);
        const mtr_lambdamart_report *rl = mtr_lambdamart_summary(l), *rm = mtr_lambdamart_summary(m);
        CHECK(rl->tree == rm->tree && rl->n_trees == rm->n_trees && rl->leaves == rm->leaves &&
              rl->train_ndcg == rm->train_ndcg && rl->valid_ndcg == rm->valid_ndcg &&
              rl->best_tree == rm->best_tree && rl->seconds == rm->seconds);
        CHECK(memcmp(mtr_lambdamart_feature_gain(l), mtr_lambdamart_feature_gain(m), 6 * sizeof(float)) == 0);
        /* the wrong feature count is refused */
        float out[1];
        CHECK_EQ_INT(mtr_lambdamart_predict(l, te.X, 1, 5, out, 1, &err), -1);
        CHECK_CONTAINS(err.message, "rows have 5 features, the model 6");
    }
    mtr_lambdamart_free(l);

    /* truncated and corrupted copies are refused with the reason */
    size_t size;
    unsigned char *bytes = read_all(path, &size);
    CHECK(bytes != NULL && size > 200);
    if (bytes) {
        const char *cut = mtr_test_write_file("lm_cut.mtrm", (const char *)bytes, size / 2);
        CHECK(mtr_lambdamart_load(cut, &err) == NULL);
        CHECK_CONTAINS(err.message, "truncated");
        bytes[size / 2] ^= 0x10;
        const char *bad = mtr_test_write_file("lm_bad.mtrm", (const char *)bytes, size);
        CHECK(mtr_lambdamart_load(bad, &err) == NULL);
        CHECK_CONTAINS(err.message, "checksum mismatch");
        free(bytes);
    }
    CHECK(mtr_lambdamart_load(mtr_test_path("missing.mtrm"), &err) == NULL);
    CHECK_CONTAINS(err.message, "missing.mtrm");
    mtr_lambdamart_free(m);
    planted_free(&tr);
    planted_free(&te);
}

/* A hand-written LambdaMART file of one tree with n_nodes (0..2) nodes given as rows of 5, n_nodes + 1
 * leaves valued -1, 0, 1, a file kind and a format number. */
static const char *write_tree_file(const char *name, const char *kind, uint64_t format, const float *nodes,
                                   int n_nodes) {
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    mtr_tfile_put_string(w, "mtrank.file", kind, strlen(kind));
    mtr_tfile_put_u64(w, "lambdamart.format", format);
    mtr_tfile_put_u64(w, "lambdamart.features", 2);
    mtr_tfile_put_u64(w, "lambdamart.trees", 1);
    mtr_lambdamart_config c;
    mtr_lambdamart_config_default(&c);
    mtr_tfile_put_u64(w, "lambdamart.n_trees", 1);
    mtr_tfile_put_f64(w, "lambdamart.learning_rate", c.learning_rate);
    mtr_tfile_put_u64(w, "lambdamart.max_leaves", 3);
    mtr_tfile_put_u64(w, "lambdamart.max_depth", 0);
    mtr_tfile_put_u64(w, "lambdamart.min_samples_leaf", 1);
    mtr_tfile_put_f64(w, "lambdamart.min_hessian_leaf", 0.001);
    mtr_tfile_put_f64(w, "lambdamart.l2", 1);
    mtr_tfile_put_u64(w, "lambdamart.max_bins", 255);
    mtr_tfile_put_u64(w, "lambdamart.bin_sample_rows", 0);
    mtr_tfile_put_f64(w, "lambdamart.feature_fraction", 1);
    mtr_tfile_put_f64(w, "lambdamart.group_fraction", 1);
    mtr_tfile_put_u64(w, "lambdamart.ndcg_k", 10);
    mtr_tfile_put_f64(w, "lambdamart.sigma", 1);
    mtr_tfile_put_u64(w, "lambdamart.early_stopping_rounds", 0);
    mtr_tfile_put_u64(w, "lambdamart.seed", 1);
    mtr_tfile_put_u64(w, "lambdamart.n_threads", 1);
    mtr_tfile_put_u64(w, "lambdamart.trained_trees", 1);
    mtr_tfile_put_u64(w, "lambdamart.last_tree_leaves", 3);
    mtr_tfile_put_f64(w, "lambdamart.train_ndcg", 0.5);
    mtr_tfile_put_f64(w, "lambdamart.valid_ndcg", NAN);
    mtr_tfile_put_f64(w, "lambdamart.train_seconds", 0.1);
    const float sizes[2] = {(float)n_nodes, (float)n_nodes + 1};
    static const float leaves[3] = {-1, 0, 1}, gain[2] = {1, 1};
    uint64_t dims[2] = {1, 2};
    mtr_tfile_put_tensor(w, "tree_sizes", sizes, 2, dims);
    dims[0] = (uint64_t)n_nodes;
    dims[1] = 5;
    mtr_tfile_put_tensor(w, "nodes", nodes, 2, dims);
    dims[0] = (uint64_t)n_nodes + 1;
    mtr_tfile_put_tensor(w, "leaf_values", leaves, 1, dims);
    dims[0] = 2;
    mtr_tfile_put_tensor(w, "feature_gain", gain, 1, dims);
    const char *path = mtr_test_path(name);
    mtr_error err = {{0}};
    CHECK_MSG(mtr_tfile_writer_commit(w, path, &err) == 0, "%s", err.message);
    mtr_tfile_writer_free(w);
    return path;
}

TEST(lambdamart_load_refuses_malformed_trees) {
    /* node 0: x0 <= 0.5 ? leaf 0 : node 1; node 1: x1 <= 0 ? leaf 1 : leaf 2 */
    const float good[10] = {0, 0.5f, 1, ~0, 1, /**/ 1, 0.0f, 0, ~1, ~2};
    mtr_error err = {{0}};
    mtr_lambdamart *m = mtr_lambdamart_load(write_tree_file("good.mtrm", "lambdamart", 1, good, 2), &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (m) {
        float x[8] = {0.2f, 9, 0.7f, -1, 0.7f, 1, NAN, 1}, s[4];
        CHECK_EQ_INT(mtr_lambdamart_predict(m, x, 4, 2, s, 1, &err), 0);
        /* leaf 0; node 1 then leaf 1; node 1 then leaf 2; missing x0 goes left (default_left 1): leaf 0 */
        CHECK(s[0] == -1.0f && s[1] == 0.0f && s[2] == 1.0f && s[3] == -1.0f);
        mtr_lambdamart_free(m);
    }
    /* a tree that is a single leaf (no node at all) scores its leaf for every row */
    m = mtr_lambdamart_load(write_tree_file("stump.mtrm", "lambdamart", 1, good, 0), &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (m) {
        float x[4] = {0.2f, 9, NAN, NAN}, s[2];
        CHECK_EQ_INT(mtr_lambdamart_predict(m, x, 2, 2, s, 1, &err), 0);
        CHECK(s[0] == -1.0f && s[1] == -1.0f);
        mtr_lambdamart_free(m);
    }
    float cyc[10];
    memcpy(cyc, good, sizeof cyc);
    cyc[4] = 0; /* node 0's right child is node 0 itself */
    CHECK(mtr_lambdamart_load(write_tree_file("cycle.mtrm", "lambdamart", 1, cyc, 2), &err) == NULL);
    CHECK_CONTAINS(err.message, "tree 0 node 0: child node 0 is not in 1..1");
    memcpy(cyc, good, sizeof cyc);
    cyc[9] = ~1; /* leaf 1 reached twice, leaf 2 never */
    CHECK(mtr_lambdamart_load(write_tree_file("twice.mtrm", "lambdamart", 1, cyc, 2), &err) == NULL);
    CHECK_CONTAINS(err.message, "leaf 1 is reached twice");
    memcpy(cyc, good, sizeof cyc);
    cyc[5] = 2; /* feature 2 of 2 */
    CHECK(mtr_lambdamart_load(write_tree_file("feat.mtrm", "lambdamart", 1, cyc, 2), &err) == NULL);
    CHECK_CONTAINS(err.message, "feature 2 is not in 0..1");
    memcpy(cyc, good, sizeof cyc);
    cyc[3] = 0.5f; /* not an integer */
    CHECK(mtr_lambdamart_load(write_tree_file("frac.mtrm", "lambdamart", 1, cyc, 2), &err) == NULL);
    CHECK_CONTAINS(err.message, "node 0: a field is not an integer");
    CHECK(mtr_lambdamart_load(write_tree_file("newer.mtrm", "lambdamart", 2, good, 2), &err) == NULL);
    CHECK_CONTAINS(err.message, "upgrade mtrank");
    CHECK(mtr_lambdamart_load(write_tree_file("other.mtrm", "model", 1, good, 2), &err) == NULL);
    CHECK_CONTAINS(err.message, "not a LambdaMART model");
}

/* ---------------------------------------------------------------- errors */

TEST(lambdamart_bad_config_and_data) {
    planted tr;
    planted_make(&tr, 10, 10, 5, 9);
    mtr_lambdamart_config c;
    mtr_lambdamart_config_default(&c);
    CHECK(mtr_lambdamart_config_check(&c) == NULL);
    mtr_error err = {{0}};
    c.n_trees = 0;
    CHECK(mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "LambdaMART configuration: n_trees must be in 1..");
    mtr_lambdamart_config_default(&c);
    c.max_leaves = 1;
    CHECK(mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "max_leaves must be in 2..65536");
    mtr_lambdamart_config_default(&c);
    c.learning_rate = NAN;
    CHECK(mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "learning_rate must be in (0, 1]");
    mtr_lambdamart_config_default(&c);
    c.l2 = 0;
    c.min_hessian_leaf = 0;
    CHECK_CONTAINS(mtr_lambdamart_config_check(&c), "cannot both be 0");
    mtr_lambdamart_config_default(&c);
    c.max_bins = 256;
    CHECK_CONTAINS(mtr_lambdamart_config_check(&c), "max_bins must be in 2..255");
    mtr_lambdamart_config_default(&c);
    c.group_fraction = 0;
    CHECK_CONTAINS(mtr_lambdamart_config_check(&c), "group_fraction");
    mtr_lambdamart_config_default(&c);

    /* data */
    mtr_rank_data bad = tr.data;
    bad.group_start = (const size_t[]){0, 50, 99};
    bad.n_groups = 2;
    CHECK(mtr_lambdamart_train(&bad, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "training data: the last group ends at row 99, but there are 100 rows");
    bad = tr.data;
    tr.rel[17] = -1.0f;
    CHECK(mtr_lambdamart_train(&bad, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "training data: row 17: relevance -1 is not in [0, 31]");
    tr.rel[17] = NAN;
    CHECK(mtr_lambdamart_train(&bad, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "row 17: relevance nan");
    for (size_t i = 0; i < tr.data.n; i++) tr.rel[i] = 2.0f;
    CHECK(mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "no query group holds two different relevance values");
    tr.rel[3] = 0.0f;
    mtr_rank_data v = tr.data;
    v.d = 2;
    CHECK(mtr_lambdamart_train(&tr.data, &v, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "validation data has 2 features, training data 5");
    c.min_samples_leaf = 60; /* no list can be split into two leaves of 60 rows of 100 */
    CHECK(mtr_lambdamart_train(&tr.data, NULL, &c, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "the first tree found no split");
    planted_free(&tr);
}

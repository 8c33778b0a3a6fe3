/* lambdamart.h - internals of LambdaMART (include/mtrank.h has the public API): the model's layout, the
 * quantile binning of features (gbdt_bins.c), the histogram tree grower (gbdt_tree.c) and the lambda
 * gradients (lambdamart.c). Exposed for the tests; nothing else includes it.
 *
 * Trees are stored as arrays: per tree its internal nodes (children always have larger indices than
 * their parent, so a walk terminates) and its leaf values. A node sends x to the left when
 * x[feature] <= threshold, a missing (NaN) value to the side learnt in training. During training the
 * same test is made on bin numbers: bin(x) <= bin_threshold, because the threshold is the upper edge of
 * that bin. */
#ifndef MTR_RANK_LAMBDAMART_H
#define MTR_RANK_LAMBDAMART_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* ---------------------------------------------------------------- trees and the model */

/* One internal (split) node. */
typedef struct mtr_gbdt_node {
    float threshold;      /* x[feature] <= threshold goes left (may be +inf: "not missing" goes left) */
    int32_t feature;      /* column of X */
    int32_t left, right;  /* >= 0: internal node of the same tree (> this node); < 0: leaf ~child */
    int32_t default_left; /* 1: a missing value goes left, 0: right */
} mtr_gbdt_node;

struct mtr_lambdamart {
    mtr_lambdamart_config cfg;   /* as trained */
    int d;                       /* features */
    int n_trees;                 /* trees kept */
    size_t *node_start;          /* (n_trees + 1): tree t's nodes are nodes[node_start[t] .. [t+1]) */
    size_t *leaf_start;          /* (n_trees + 1): its leaves leaf_value[leaf_start[t] .. [t+1]) */
    mtr_gbdt_node *nodes;        /* all trees' internal nodes; a tree's root is its node 0, or its leaf
                                    0 when it has no node */
    float *leaf_value;           /* all trees' leaf values, learning rate included */
    float *feature_gain;         /* (d) split gain summed over the kept trees */
    mtr_lambdamart_report report; /* training summary at the kept tree count */
};

/* Score of one tree for row x (d floats). */
static inline float mtr_gbdt_tree_value(const mtr_gbdt_node *nodes, const float *leaf, const float *x) {
    int32_t i = 0;
    while (i >= 0) {
        const mtr_gbdt_node *nd = &nodes[i];
        float v = x[nd->feature];
        i = (isnan(v) ? nd->default_left : v <= nd->threshold) ? nd->left : nd->right;
    }
    return leaf[~i];
}

/* ---------------------------------------------------------------- feature binning (gbdt_bins.c) */

/* Every feature's values cut into at most max_bins quantile bins (edges from a seeded sample of rows),
 * plus bin 0 for missing values; the training rows stored as bin numbers. */
typedef struct mtr_gbdt_bins {
    size_t n;         /* rows */
    int d;            /* features */
    uint8_t *bin;     /* (n, d) row-major: 0 = missing, 1 .. n_bins[f] - 1 value bins */
    int *n_bins;      /* (d) bins of feature f, the missing bin included: 2 .. max_bins + 1 */
    size_t *offset;   /* (d + 1) feature f's bins are entries offset[f] .. offset[f+1] of a histogram */
    float *upper;     /* (offset[d]) upper[offset[f] + b] = largest value in bin b (b >= 1) as a split
                         threshold: value v is in the first bin b with v <= upper; the last bin's is +inf.
                         Entry b = 0 (missing) is unused. Strictly increasing in b. */
} mtr_gbdt_bins;

/* Build bins for X (n, d). `sample_rows` rows (0 or >= n: all) chosen with `seed` place the edges. */
int mtr_gbdt_bins_build(mtr_gbdt_bins *bins, const float *X, size_t n, int d, int max_bins,
                        size_t sample_rows, uint64_t seed, int n_threads, mtr_error *err);
void mtr_gbdt_bins_free(mtr_gbdt_bins *bins);

/* ---------------------------------------------------------------- tree growth (gbdt_tree.c) */

/* A tree as grown: nodes in creation order (a parent before its children), leaf values before shrinkage,
 * and for every leaf the range of the grower's row index that landed in it. */
typedef struct mtr_gbdt_tree {
    int n_nodes;            /* internal nodes (= n_leaves - 1) */
    int n_leaves;           /* leaves, >= 1 */
    mtr_gbdt_node *nodes;   /* (max_leaves - 1) */
    uint8_t *bin_threshold; /* (max_leaves - 1) bins <= this go left (the missing bin 0 by default_left) */
    double *leaf_value;     /* (max_leaves) Newton step -G / (H + l2), learning rate not applied */
    size_t *leaf_begin;     /* (max_leaves) rows rows[leaf_begin[l] .. leaf_end[l]) of mtr_gbdt_rows */
    size_t *leaf_end;       /* (max_leaves) */
    double *node_gain;      /* (max_leaves - 1) split gain of each node */
} mtr_gbdt_tree;

/* Buffers for growing trees on one binned data set, allocated once: histograms for max_leaves leaves,
 * the row index and its partition buffer. */
typedef struct mtr_gbdt_grower mtr_gbdt_grower;

mtr_gbdt_grower *mtr_gbdt_grower_new(const mtr_gbdt_bins *bins, const mtr_lambdamart_config *cfg,
                                     mtr_error *err);
void mtr_gbdt_grower_free(mtr_gbdt_grower *g);
/* Grow one tree on `rows` (m ascending row numbers) with gradient pairs gh[2 i], gh[2 i + 1] (gradient,
 * hessian of row i), splitting only on features f with feature_mask[f] != 0. Deterministic; the result
 * lives in the grower until the next call. Growth: best-first by split gain, within max_leaves,
 * max_depth, min_samples_leaf, min_hessian_leaf. */
const mtr_gbdt_tree *mtr_gbdt_grow(mtr_gbdt_grower *g, const float *gh, const uint32_t *rows, size_t m,
                                   const uint8_t *feature_mask);
/* The grower's row index after a grow: leaves' rows are ranges of it. */
const uint32_t *mtr_gbdt_rows(const mtr_gbdt_grower *g);

/* Leaf of a grown tree that a training row (its d bin numbers) falls in. */
static inline int mtr_gbdt_tree_leaf_binned(const mtr_gbdt_tree *t, const uint8_t *row_bins) {
    int32_t i = t->n_nodes > 0 ? 0 : -1;
    while (i >= 0) {
        const mtr_gbdt_node *nd = &t->nodes[i];
        uint8_t b = row_bins[nd->feature];
        i = (b == 0 ? nd->default_left : b <= t->bin_threshold[i]) ? nd->left : nd->right;
    }
    return ~i;
}

/* ---------------------------------------------------------------- lambda gradients (lambdamart.c) */

/* Work space for one list of up to `cap` items. */
typedef struct mtr_lambda_ws {
    size_t cap;        /* items */
    uint32_t *order;   /* (cap) ranking by current score */
    uint64_t *scratch; /* (2 cap) sort keys */
    float *fscore;     /* (cap) scores as float, the precision the ranking is taken at */
    double *acc;       /* (2 cap) gradient and hessian sums */
    double *disc;      /* (cap) discounts of the top positions */
    double *e;         /* (cap) exp(sigma (score - top score)) */
} mtr_lambda_ws;

int mtr_lambda_ws_init(mtr_lambda_ws *ws, size_t cap);
void mtr_lambda_ws_free(mtr_lambda_ws *ws);

/* Lambda gradients of NDCG@k for one list of m items (Burges 2010): for each pair i, j with rel_i >
 * rel_j of which at least one is ranked in the top k by the current scores (ties in index order),
 *   rho = 1 / (1 + exp(sigma (s_i - s_j))),  delta = |NDCG change when i and j swap places|,
 *   g_i -= sigma rho delta,  g_j += sigma rho delta,  h_i, h_j += sigma^2 rho (1 - rho) delta,
 * the gradient and second-order weight of the pairwise cost delta * log(1 + exp(-sigma (s_i - s_j))).
 * gh[2 i], gh[2 i + 1] are overwritten with g_i, h_i. `gain` is each item's 2^rel - 1 and inv_idcg is
 * 1 / ideal DCG@k (0 when nothing is relevant: all gradients 0). Returns NDCG@k of the scores (tied
 * scores averaged, as mtr_ndcg), 1 when nothing is relevant. */
double mtr_lambda_list(const double *scores, const float *relevance, const double *gain, size_t m,
                       size_t k, double inv_idcg, double sigma, float *gh, mtr_lambda_ws *ws);

#endif

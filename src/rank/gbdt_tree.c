/* gbdt_tree.c - growing one regression tree on binned features from gradient pairs (Newton boosting):
 * per leaf a histogram of (sum g, sum h, count) per feature bin; the best split of a leaf maximises
 *   gain = GL^2 / (HL + l2) + GR^2 / (HR + l2) - G^2 / (H + l2)
 * over features, thresholds between bins and the side missing values go to; the leaf with the largest
 * gain is split next (best-first, as LightGBM). A leaf's rows are a range of one index array, split by a
 * stable partition; of two children only the smaller one's histogram is built from rows, the larger one's
 * is the parent's minus it. All buffers (histograms for max_leaves leaves, the index and its partition
 * buffer) are allocated once per training run. Threads build a histogram by blocks of features, so the
 * sums, and the tree, do not depend on the thread count. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rank/lambdamart.h"
#include "util/error.h"

/* Gains at or below this are noise (sums of zero gradients), not a reason to split. */
#define MIN_GAIN 1e-12
/* Rows x features below which a histogram is built by one thread. */
#define PARALLEL_WORK 65536

typedef struct hist_entry {
    double g;   /* sum of gradients */
    double h;   /* sum of hessians */
    uint32_t n; /* rows */
} hist_entry;

typedef struct split_info {
    double gain;      /* > MIN_GAIN when a split was found */
    int feature;      /* -1: no usable split */
    int bin;          /* value bins 1..bin go left */
    int default_left; /* missing values go left */
    double gl, hl;    /* left child's sums */
    size_t nl;        /* left child's rows */
} split_info;

typedef struct leaf_info {
    size_t begin, end; /* rows idx[begin .. end) */
    int depth;         /* root = 0 */
    int parent;        /* internal node pointing here; -1 for the root */
    int is_left;       /* which child of parent */
    hist_entry *hist;  /* its histogram while it may be split, else NULL */
    double g, h;       /* sums over its rows */
    split_info best;   /* its best split */
} leaf_info;

struct mtr_gbdt_grower {
    const mtr_gbdt_bins *bins;  /* the training rows' bins */
    mtr_lambdamart_config cfg;  /* limits and l2 */
    size_t hist_size;           /* entries of one histogram (all features' bins) */
    hist_entry *hist_pool;      /* max_leaves histograms */
    hist_entry **free_hist;     /* stack of unused histograms */
    int n_free;                 /* its height */
    leaf_info *leaves;          /* (max_leaves) */
    uint32_t *idx;              /* (n) rows of the tree, grouped by leaf */
    uint32_t *tmp;              /* (n) partition buffer */
    int *feats;                 /* (d) features that may be split on this tree */
    int n_feats;                /* their count */
    mtr_gbdt_tree tree;         /* the last tree grown */
};

void mtr_gbdt_grower_free(mtr_gbdt_grower *g) {
    if (!g) return;
    free(g->hist_pool);
    free(g->free_hist);
    free(g->leaves);
    free(g->idx);
    free(g->tmp);
    free(g->feats);
    free(g->tree.nodes);
    free(g->tree.bin_threshold);
    free(g->tree.leaf_value);
    free(g->tree.leaf_begin);
    free(g->tree.leaf_end);
    free(g->tree.node_gain);
    free(g);
}

mtr_gbdt_grower *mtr_gbdt_grower_new(const mtr_gbdt_bins *bins, const mtr_lambdamart_config *cfg,
                                     mtr_error *err) {
    mtr_gbdt_grower *g = calloc(1, sizeof *g);
    if (!g) {
        mtr_fail(err, "out of memory");
        return NULL;
    }
    g->bins = bins;
    g->cfg = *cfg;
    size_t L = (size_t)cfg->max_leaves, d = (size_t)bins->d;
    g->hist_size = bins->offset[d];
    if (g->hist_size > SIZE_MAX / sizeof(hist_entry) / L) {
        mtr_gbdt_grower_free(g);
        mtr_fail(err, "histograms for %zu leaves are too large", L);
        return NULL;
    }
    size_t hist_bytes = L * g->hist_size * sizeof(hist_entry);
    g->hist_pool = malloc(hist_bytes);
    g->free_hist = malloc(L * sizeof *g->free_hist);
    g->leaves = malloc(L * sizeof *g->leaves);
    g->idx = malloc(bins->n * sizeof *g->idx);
    g->tmp = malloc(bins->n * sizeof *g->tmp);
    g->feats = malloc(d * sizeof *g->feats);
    g->tree.nodes = malloc((L - 1) * sizeof *g->tree.nodes);
    g->tree.bin_threshold = malloc(L - 1);
    g->tree.leaf_value = malloc(L * sizeof *g->tree.leaf_value);
    g->tree.leaf_begin = malloc(L * sizeof *g->tree.leaf_begin);
    g->tree.leaf_end = malloc(L * sizeof *g->tree.leaf_end);
    g->tree.node_gain = malloc((L - 1) * sizeof *g->tree.node_gain);
    if (!g->hist_pool || !g->free_hist || !g->leaves || !g->idx || !g->tmp || !g->feats ||
        !g->tree.nodes || !g->tree.bin_threshold || !g->tree.leaf_value || !g->tree.leaf_begin ||
        !g->tree.leaf_end || !g->tree.node_gain) {
        mtr_gbdt_grower_free(g);
        mtr_fail(err, "out of memory for tree growth (histograms need %zu bytes for %zu leaves)",
                 hist_bytes, L);
        return NULL;
    }
    return g;
}

const uint32_t *mtr_gbdt_rows(const mtr_gbdt_grower *g) {
    return g->idx;
}

static hist_entry *take_hist(mtr_gbdt_grower *g) {
    assert(g->n_free > 0);
    return g->free_hist[--g->n_free];
}

static void give_hist(mtr_gbdt_grower *g, hist_entry **h) {
    if (*h) g->free_hist[g->n_free++] = *h;
    *h = NULL;
}

/* Histogram of rows idx[begin..end) over the features feats[f0..f1). */
static void hist_rows(const mtr_gbdt_grower *g, hist_entry *hist, const float *gh, size_t begin, size_t end,
                      int f0, int f1) {
    const mtr_gbdt_bins *b = g->bins;
    const size_t d = (size_t)b->d, *off = b->offset;
    const int *feats = g->feats;
    for (int k = f0; k < f1; k++)
        memset(hist + off[feats[k]], 0, (size_t)b->n_bins[feats[k]] * sizeof *hist);
    const uint32_t *idx = g->idx;
    if (f0 == 0 && f1 == b->d) { /* every feature: the common case, without the indirection */
        for (size_t r = begin; r < end; r++) {
            size_t i = idx[r];
            double gv = gh[2 * i], hv = gh[2 * i + 1];
            const uint8_t *row = b->bin + i * d;
            for (size_t f = 0; f < d; f++) {
                hist_entry *e = hist + off[f] + row[f];
                e->g += gv;
                e->h += hv;
                e->n++;
            }
        }
        return;
    }
    for (size_t r = begin; r < end; r++) {
        size_t i = idx[r];
        double gv = gh[2 * i], hv = gh[2 * i + 1];
        const uint8_t *row = b->bin + i * d;
        for (int k = f0; k < f1; k++) {
            int f = feats[k];
            hist_entry *e = hist + off[f] + row[f];
            e->g += gv;
            e->h += hv;
            e->n++;
        }
    }
}

static void hist_build(const mtr_gbdt_grower *g, hist_entry *hist, const float *gh, size_t begin, size_t end) {
    int nth = g->cfg.n_threads;
    if (nth > g->n_feats) nth = g->n_feats;
    if (nth <= 1 || (end - begin) * (size_t)g->n_feats < PARALLEL_WORK) {
        hist_rows(g, hist, gh, begin, end, 0, g->n_feats);
        return;
    }
    /* Thread c takes a contiguous block of features: every entry is summed in row order by one thread. */
#pragma omp parallel for schedule(static, 1) num_threads(nth)
    for (int c = 0; c < nth; c++) {
        int f0 = (int)((long)g->n_feats * c / nth), f1 = (int)((long)g->n_feats * (c + 1) / nth);
        hist_rows(g, hist, gh, begin, end, f0, f1);
    }
}

/* a -= b over the features that may be split. */
static void hist_subtract(const mtr_gbdt_grower *g, hist_entry *a, const hist_entry *b) {
    const size_t *off = g->bins->offset;
    for (int k = 0; k < g->n_feats; k++) {
        int f = g->feats[k];
        for (size_t e = off[f]; e < off[f + 1]; e++) {
            a[e].g -= b[e].g;
            a[e].h -= b[e].h;
            a[e].n -= b[e].n;
        }
    }
}

static double score(double g, double h, double l2) {
    return g * g / (h + l2);
}

/* Whether a leaf may be split at all (before looking at its histogram). */
static int splittable(const mtr_gbdt_grower *g, const leaf_info *leaf) {
    const mtr_lambdamart_config *c = &g->cfg;
    if (c->max_depth > 0 && leaf->depth >= c->max_depth) return 0;
    return leaf->end - leaf->begin >= 2 * (size_t)c->min_samples_leaf;
}

static void find_best(const mtr_gbdt_grower *g, leaf_info *leaf) {
    const mtr_lambdamart_config *c = &g->cfg;
    const double l2 = c->l2, min_h = c->min_hessian_leaf;
    const size_t min_n = (size_t)c->min_samples_leaf, N = leaf->end - leaf->begin;
    const double G = leaf->g, H = leaf->h, parent = score(G, H, l2);
    split_info best = {.gain = MIN_GAIN, .feature = -1};
    for (int k = 0; k < g->n_feats; k++) {
        int f = g->feats[k], nb = g->bins->n_bins[f];
        const hist_entry *e = leaf->hist + g->bins->offset[f];
        const hist_entry miss = e[0];
        double gl = 0, hl = 0;
        size_t nl = 0;
        for (int b = 1; b < nb; b++) {
            if (e[b].n == 0) continue; /* same partition as the previous threshold */
            gl += e[b].g;
            hl += e[b].h;
            nl += e[b].n;
            /* missing values right */
            size_t nr = N - nl;
            double gr = G - gl, hr = H - hl;
            if (nl >= min_n && nr >= min_n && hl >= min_h && hr >= min_h) {
                double gain = score(gl, hl, l2) + score(gr, hr, l2) - parent;
                if (gain > best.gain)
                    best = (split_info){gain, f, b, miss.n == 0 && nl >= nr, gl, hl, nl};
            }
            /* missing values left */
            if (miss.n > 0) {
                double gl2 = gl + miss.g, hl2 = hl + miss.h;
                size_t nl2 = nl + miss.n, nr2 = N - nl2;
                double gr2 = G - gl2, hr2 = H - hl2;
                if (nl2 >= min_n && nr2 >= min_n && hl2 >= min_h && hr2 >= min_h) {
                    double gain = score(gl2, hl2, l2) + score(gr2, hr2, l2) - parent;
                    if (gain > best.gain) best = (split_info){gain, f, b, 1, gl2, hl2, nl2};
                }
            }
        }
    }
    leaf->best = best;
}

/* Stable partition of the leaf's rows: left ones stay in front, in order. Returns the boundary. */
static size_t partition(mtr_gbdt_grower *g, const leaf_info *leaf) {
    const split_info *s = &leaf->best;
    const size_t d = (size_t)g->bins->d, f = (size_t)s->feature;
    const uint8_t *bin = g->bins->bin, sb = (uint8_t)s->bin, dl = (uint8_t)s->default_left;
    uint32_t *idx = g->idx, *tmp = g->tmp;
    size_t w = leaf->begin, t = 0;
    for (size_t r = leaf->begin; r < leaf->end; r++) {
        uint32_t i = idx[r];
        uint8_t b = bin[(size_t)i * d + f];
        if (b == 0 ? dl : b <= sb) idx[w++] = i;
        else tmp[t++] = i;
    }
    memcpy(idx + w, tmp, t * sizeof *idx);
    return w;
}

const mtr_gbdt_tree *mtr_gbdt_grow(mtr_gbdt_grower *g, const float *gh, const uint32_t *rows, size_t m,
                                   const uint8_t *feature_mask) {
    const mtr_gbdt_bins *b = g->bins;
    const int L = g->cfg.max_leaves;
    mtr_gbdt_tree *t = &g->tree;
    t->n_nodes = 0;
    t->n_leaves = 1;
    g->n_feats = 0;
    for (int f = 0; f < b->d; f++)
        if (feature_mask[f]) g->feats[g->n_feats++] = f;
    g->n_free = 0;
    for (int l = L - 1; l >= 0; l--) g->free_hist[g->n_free++] = g->hist_pool + (size_t)l * g->hist_size;

    memcpy(g->idx, rows, m * sizeof *rows);
    leaf_info *leaves = g->leaves;
    leaf_info *root = &leaves[0];
    *root = (leaf_info){.begin = 0, .end = m, .parent = -1, .best = {.feature = -1}};
    for (size_t r = 0; r < m; r++) {
        root->g += gh[2 * (size_t)rows[r]];
        root->h += gh[2 * (size_t)rows[r] + 1];
    }
    if (splittable(g, root) && g->n_feats > 0) {
        root->hist = take_hist(g);
        hist_build(g, root->hist, gh, 0, m);
        find_best(g, root);
    }

    while (t->n_leaves < L) {
        int l = -1;
        for (int i = 0; i < t->n_leaves; i++)
            if (leaves[i].best.feature >= 0 && (l < 0 || leaves[i].best.gain > leaves[l].best.gain)) l = i;
        if (l < 0) break;
        leaf_info *p = &leaves[l];
        const split_info s = p->best;
        int k = t->n_nodes++, r = t->n_leaves++;
        mtr_gbdt_node *nd = &t->nodes[k];
        nd->feature = s.feature;
        nd->threshold = b->upper[b->offset[s.feature] + (size_t)s.bin];
        nd->default_left = s.default_left;
        nd->left = ~l;
        nd->right = ~r;
        t->bin_threshold[k] = (uint8_t)s.bin;
        if (p->parent >= 0) {
            if (p->is_left) t->nodes[p->parent].left = k;
            else t->nodes[p->parent].right = k;
        }
        t->node_gain[k] = s.gain;

        size_t mid = partition(g, p);
        assert(mid - p->begin == s.nl);
        hist_entry *parent_hist = p->hist;
        leaf_info left = {.begin = p->begin, .end = mid, .depth = p->depth + 1, .parent = k, .is_left = 1,
                          .g = s.gl, .h = s.hl, .best = {.feature = -1}};
        leaf_info right = {.begin = mid, .end = p->end, .depth = p->depth + 1, .parent = k, .is_left = 0,
                           .g = p->g - s.gl, .h = p->h - s.hl, .best = {.feature = -1}};
        leaves[l] = left;
        leaves[r] = right;
        leaf_info *cl = &leaves[l], *cr = &leaves[r];
        int more = t->n_leaves < L; /* another split may follow */
        int want_l = more && splittable(g, cl), want_r = more && splittable(g, cr);
        if (want_l || want_r) {
            /* the smaller child from its rows, the larger as parent minus smaller */
            leaf_info *small = (cl->end - cl->begin <= cr->end - cr->begin) ? cl : cr;
            leaf_info *large = small == cl ? cr : cl;
            small->hist = take_hist(g);
            hist_build(g, small->hist, gh, small->begin, small->end);
            hist_subtract(g, parent_hist, small->hist);
            large->hist = parent_hist;
            parent_hist = NULL;
            if (want_l) find_best(g, cl);
            if (want_r) find_best(g, cr);
        }
        give_hist(g, &parent_hist);
        if (cl->best.feature < 0) give_hist(g, &cl->hist);
        if (cr->best.feature < 0) give_hist(g, &cr->hist);
    }
    for (int i = 0; i < t->n_leaves; i++) {
        give_hist(g, &leaves[i].hist);
        double den = leaves[i].h + g->cfg.l2; /* 0 only for a root without any pair (g = 0 too) */
        t->leaf_value[i] = den > 0 ? -leaves[i].g / den : 0.0;
        t->leaf_begin[i] = leaves[i].begin;
        t->leaf_end[i] = leaves[i].end;
    }
    return t;
}

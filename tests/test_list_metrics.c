/* test_list_metrics.c - NDCG@k, reciprocal rank and precision@k on lists worked out by hand (graded
 * relevance, k beyond the list, nothing relevant, tied scores at and across the cut-off), input-order
 * independence, a naive O(n^2) reference for long lists (the radix-sorted path), the per-group means and
 * the errors they report. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/list_metrics.h"
#include "mtrank.h"
#include "test.h"
#include "util/rng.h"

static double D(int pos1) { /* discount of 1-based rank */
    return 1.0 / log2(1.0 + pos1);
}

TEST(list_ndcg_graded_by_hand) {
    /* ranked: item0 (rel 1), item1 (rel 2), item2 (rel 0) */
    const float s[3] = {3, 2, 1}, r[3] = {1, 2, 0};
    double dcg = 1.0 * D(1) + 3.0 * D(2), ideal = 3.0 * D(1) + 1.0 * D(2);
    CHECK_NEAR(mtr_ndcg(s, r, 3, 3), dcg / ideal, 1e-12);
    CHECK_NEAR(mtr_ndcg(s, r, 3, 0), dcg / ideal, 1e-12);   /* 0 = whole list */
    CHECK_NEAR(mtr_ndcg(s, r, 3, 10), dcg / ideal, 1e-12);  /* k beyond the list */
    CHECK_NEAR(mtr_ndcg(s, r, 3, 1), 1.0 / 3.0, 1e-12);     /* DCG@1 = 1, ideal@1 = 3 */
    CHECK_NEAR(mtr_ndcg(s, r, 3, 2), dcg / ideal, 1e-12);   /* rank 3 has gain 0 */
    /* the ideal order scores 1 at every k */
    const float best[3] = {2, 3, 1};
    for (int k = 0; k <= 4; k++) CHECK_NEAR(mtr_ndcg(best, r, 3, k), 1.0, 1e-12);
    /* fractional grades: gain 2^1.5 - 1 */
    const float rf[2] = {0, 1.5f}, sf[2] = {1, 0};
    double g = pow(2.0, 1.5) - 1.0;
    CHECK_NEAR(mtr_ndcg(sf, rf, 2, 0), g * D(2) / (g * D(1)), 1e-12);
}

TEST(list_nothing_relevant_and_empty) {
    const float s[3] = {0.3f, 0.1f, 0.2f}, z[3] = {0, 0, 0};
    CHECK_NEAR(mtr_ndcg(s, z, 3, 10), 1.0, 0);
    CHECK_NEAR(mtr_reciprocal_rank(s, z, 3), 0.0, 0);
    CHECK_NEAR(mtr_precision_at_k(s, z, 3, 2), 0.0, 0);
    CHECK_NEAR(mtr_ndcg(NULL, NULL, 0, 5), 1.0, 0);
    CHECK_NEAR(mtr_reciprocal_rank(NULL, NULL, 0), 0.0, 0);
    CHECK_NEAR(mtr_precision_at_k(NULL, NULL, 0, 5), 0.0, 0);
}

TEST(list_ties_are_averaged) {
    /* items 0 and 1 tie at the top: rel 2 and 0; item 2 (rel 1) third */
    const float s[3] = {1, 1, 0}, r[3] = {2, 0, 1};
    double ideal = 3.0 * D(1) + 1.0 * D(2);
    double dcg_a = 3.0 * D(1) + 1.0 * D(3); /* rel 2 first */
    double dcg_b = 3.0 * D(2) + 1.0 * D(3); /* rel 0 first */
    double want = 0.5 * (dcg_a + dcg_b) / ideal;
    CHECK_NEAR(mtr_ndcg(s, r, 3, 0), want, 1e-12);
    /* the same list in another input order: same value */
    const float s2[3] = {0, 1, 1}, r2[3] = {1, 0, 2};
    CHECK_NEAR(mtr_ndcg(s2, r2, 3, 0), want, 1e-12);
    /* a run of 3 across k = 1: the one relevant item is at rank 1 with probability 1/3 */
    const float t3[3] = {5, 5, 5}, r3[3] = {0, 1, 0};
    CHECK_NEAR(mtr_ndcg(t3, r3, 3, 1), 1.0 / 3.0, 1e-12);
    /* across k = 2: expected discount of the run's ranks 1..2 (rank 3 is cut) */
    CHECK_NEAR(mtr_ndcg(t3, r3, 3, 2), (D(1) + D(2)) / 3.0, 1e-12);
    /* -0 and +0 tie */
    const float sz[2] = {-0.0f, 0.0f}, rz[2] = {0, 1}, rz2[2] = {1, 0};
    CHECK_NEAR(mtr_ndcg(sz, rz, 2, 0), mtr_ndcg(sz, rz2, 2, 0), 1e-15);
    CHECK_NEAR(mtr_ndcg(sz, rz, 2, 0), 0.5 * (1.0 + D(2)), 1e-12);
}

TEST(list_reciprocal_rank_by_hand) {
    const float s[3] = {3, 2, 1}, r[3] = {0, 0, 2};
    CHECK_NEAR(mtr_reciprocal_rank(s, r, 3), 1.0 / 3.0, 1e-15);
    const float t[2] = {1, 1}, rt[2] = {1, 0};
    CHECK_NEAR(mtr_reciprocal_rank(t, rt, 2), 0.5 * 1.0 + 0.5 * 0.5, 1e-15);
    /* 3 tied, 2 relevant: first relevant at rank 1 unless the irrelevant one leads (p = 1/3) */
    const float u[3] = {7, 7, 7}, ru[3] = {0, 1, 3};
    CHECK_NEAR(mtr_reciprocal_rank(u, ru, 3), 2.0 / 3.0 + (1.0 / 3.0) * 0.5, 1e-15);
    /* a tied run after a clear leader: ranks 2..4, one relevant of 3 */
    const float v[4] = {9, 1, 1, 1}, rv[4] = {0, 0, 2, 0};
    CHECK_NEAR(mtr_reciprocal_rank(v, rv, 4), (1.0 / 2 + 1.0 / 3 + 1.0 / 4) / 3.0, 1e-15);
}

TEST(list_precision_by_hand) {
    const float s[4] = {4, 3, 2, 1}, r[4] = {1, 0, 1, 3};
    CHECK_NEAR(mtr_precision_at_k(s, r, 4, 2), 0.5, 1e-15);
    CHECK_NEAR(mtr_precision_at_k(s, r, 4, 3), 2.0 / 3.0, 1e-15);
    CHECK_NEAR(mtr_precision_at_k(s, r, 4, 0), 0.75, 1e-15);   /* whole list */
    CHECK_NEAR(mtr_precision_at_k(s, r, 4, 10), 0.3, 1e-15);   /* trec_eval: missing ranks count 0 */
    /* a tie straddling k = 2: one relevant of the 2 tied items, one of their 2 ranks inside */
    const float t[4] = {2, 1, 1, 0}, rt[4] = {1, 1, 0, 0};
    CHECK_NEAR(mtr_precision_at_k(t, rt, 4, 2), (1.0 + 0.5) / 2.0, 1e-15);
}

TEST(list_bad_input_gives_nan) {
    const float s[2] = {NAN, 1}, r[2] = {1, 0};
    CHECK(isnan(mtr_ndcg(s, r, 2, 0)));
    CHECK(isnan(mtr_reciprocal_rank(s, r, 2)));
    const float s2[2] = {1, 0}, neg[2] = {-1, 0}, inf[2] = {INFINITY, 0};
    CHECK(isnan(mtr_ndcg(s2, neg, 2, 0)));
    CHECK(isnan(mtr_precision_at_k(s2, inf, 2, 1)));
    CHECK(isnan(mtr_ndcg(s2, r, 2, -1)));
}

/* Naive reference: each item's expected discount is the mean over the ranks its tie run can take,
 * found by counting strictly higher and equal scores (no sorting at all). */
static double naive_ndcg(const float *s, const float *r, size_t n, size_t k) {
    size_t kk = (k == 0 || k > n) ? n : k;
    double dcg = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t above = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            above += s[j] > s[i];
            equal += s[j] == s[i];
        }
        double disc = 0.0;
        for (size_t p = above; p < above + equal; p++)
            if (p < kk) disc += 1.0 / log2((double)p + 2.0);
        dcg += (exp2(r[i]) - 1.0) * disc / (double)equal;
    }
    /* ideal: relevance sorted descending by selection */
    float *rs = malloc(n * sizeof *rs);
    memcpy(rs, r, n * sizeof *rs);
    double ideal = 0.0;
    for (size_t p = 0; p < kk; p++) {
        size_t best = p;
        for (size_t j = p + 1; j < n; j++)
            if (rs[j] > rs[best]) best = j;
        float t = rs[p];
        rs[p] = rs[best];
        rs[best] = t;
        ideal += (exp2(rs[p]) - 1.0) / log2((double)p + 2.0);
    }
    free(rs);
    return ideal > 0 ? dcg / ideal : 1.0;
}

TEST(list_long_lists_match_naive_reference) {
    mtr_rng rng;
    mtr_rng_seed(&rng, 7);
    enum { N = 300 };
    float s[N], r[N];
    for (int trial = 0; trial < 20; trial++) {
        size_t n = 1 + (size_t)mtr_rng_below(&rng, N);
        for (size_t i = 0; i < n; i++) {
            /* few distinct scores (many ties) in half the trials; negative and positive values */
            s[i] = trial % 2 ? (float)mtr_rng_below(&rng, 7) - 3.0f : (float)mtr_rng_normal(&rng);
            r[i] = (float)mtr_rng_below(&rng, 5);
        }
        for (int k = 0; k <= 12; k += 4)
            CHECK_NEAR(mtr_ndcg(s, r, n, k), naive_ndcg(s, r, n, (size_t)k), 1e-10);
        /* the order: descending values, ties by index */
        uint32_t order[N];
        uint64_t scratch[2 * N];
        mtr_list_order(s, n, order, scratch);
        for (size_t p = 1; p < n; p++) {
            float a = s[order[p - 1]], b = s[order[p]];
            CHECK(a > b || (a == b && order[p - 1] < order[p]));
        }
    }
}

TEST(list_metrics_over_groups) {
    /* group 0: nothing relevant (counted, left out of the means); group 1: perfect; group 2: reversed */
    const float s[7] = {1, 2, 3, 2, 1, 1, 2};
    const float r[7] = {0, 0, 2, 1, 0, 1, 0};
    const size_t gs[4] = {0, 2, 5, 7};
    mtr_list_metrics m;
    mtr_error err = {{0}};
    CHECK_EQ_INT(mtr_list_metrics_compute(s, r, gs, 3, 10, &m, &err), 0);
    CHECK_EQ_INT(m.groups, 3);
    CHECK_EQ_INT(m.groups_relevant, 2);
    CHECK_EQ_INT(m.k, 10);
    double g2 = mtr_ndcg(s + 5, r + 5, 2, 10);
    CHECK_NEAR(g2, D(2), 1e-12);
    CHECK_NEAR(m.ndcg, (1.0 + g2) / 2.0, 1e-12);
    CHECK_NEAR(m.mrr, (1.0 + 0.5) / 2.0, 1e-12);
    CHECK_NEAR(m.precision, (2.0 / 10 + 1.0 / 10) / 2.0, 1e-12);
    /* empty groups are skipped */
    const size_t gse[5] = {0, 2, 2, 5, 7};
    mtr_list_metrics m2;
    CHECK_EQ_INT(mtr_list_metrics_compute(s, r, gse, 4, 10, &m2, &err), 0);
    CHECK_EQ_INT(m2.groups, 3);
    CHECK_NEAR(m2.ndcg, m.ndcg, 0);
    /* no relevant item anywhere: NaN means */
    const float z[2] = {0, 0};
    const size_t g1[2] = {0, 2};
    CHECK_EQ_INT(mtr_list_metrics_compute(s, z, g1, 1, 10, &m2, &err), 0);
    CHECK(isnan(m2.ndcg) && m2.groups == 1 && m2.groups_relevant == 0);
}

TEST(list_metrics_errors_name_the_problem) {
    const float s[3] = {1, NAN, 0}, r[3] = {1, 0, 0}, bad_r[3] = {1, 0, -2};
    const float ok_s[3] = {1, 2, 0};
    mtr_list_metrics m;
    mtr_error err = {{0}};
    const size_t gs[2] = {0, 3};
    CHECK_EQ_INT(mtr_list_metrics_compute(s, r, gs, 1, 5, &m, &err), -1);
    CHECK_CONTAINS(err.message, "row 1: score is NaN");
    CHECK_EQ_INT(mtr_list_metrics_compute(ok_s, bad_r, gs, 1, 5, &m, &err), -1);
    CHECK_CONTAINS(err.message, "row 2: relevance -2");
    const size_t back[3] = {0, 2, 1};
    CHECK_EQ_INT(mtr_list_metrics_compute(ok_s, r, back, 2, 5, &m, &err), -1);
    CHECK_CONTAINS(err.message, "group_start[2] = 1 is below group_start[1] = 2");
    const size_t start1[2] = {1, 3};
    CHECK_EQ_INT(mtr_list_metrics_compute(ok_s, r, start1, 1, 5, &m, &err), -1);
    CHECK_CONTAINS(err.message, "group_start[0] must be 0");
    CHECK_EQ_INT(mtr_list_metrics_compute(ok_s, r, gs, 1, -1, &m, &err), -1);
    CHECK_CONTAINS(err.message, "k must be >= 0");
}

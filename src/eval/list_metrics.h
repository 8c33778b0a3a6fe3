/* list_metrics.h - the pieces of the list metrics (list_metrics.c) that LambdaMART training shares:
 * ordering a list by score with a deterministic tie rule, the gain and discount of NDCG, DCG with tied
 * scores averaged and the ideal DCG. Lists hold fewer than 2^32 items; callers have checked that scores
 * are not NaN and relevance is finite and >= 0. */
#ifndef MTR_EVAL_LIST_METRICS_H
#define MTR_EVAL_LIST_METRICS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Gain of a relevance grade: 2^rel - 1 (0 for rel = 0). */
static inline double mtr_list_gain(float rel) {
    return exp2((double)rel) - 1.0;
}

/* Discount of the item at 0-based position p: 1 / log2(p + 2). */
static inline double mtr_list_discount(size_t p) {
    return 1.0 / log2((double)p + 2.0);
}

/* order[0..n) = 0..n-1 sorted by v descending, equal values by index ascending (so the result does not
 * depend on the sort's internals). `scratch` holds 2 n uint64. -0 and +0 are equal. */
void mtr_list_order(const float *v, size_t n, uint32_t *order, uint64_t *scratch);

/* DCG@k of the list ranked by `order` (from mtr_list_order on `scores`): every run of equal scores gets,
 * for each of its items, the mean discount of the positions the run occupies (positions >= k count 0).
 * k = 0 or k >= n: the whole list. */
double mtr_list_dcg(const float *scores, const float *relevance, const uint32_t *order, size_t n, size_t k);

/* The best DCG@k any order reaches (relevance sorted descending). `order` (n) and `scratch` (2 n uint64)
 * are work space. */
double mtr_list_ideal_dcg(const float *relevance, size_t n, size_t k, uint32_t *order, uint64_t *scratch);

#endif

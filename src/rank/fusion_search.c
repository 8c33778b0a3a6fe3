/* fusion_search.c - grid or seeded random search over a fusion's parameters for the largest value of a
 * caller's list metric. The fusion is not recompiled: each point only sets parameters. Points are
 * visited in a fixed order and the first point with the largest metric wins (NaN counts as the worst),
 * so a deterministic metric gives a deterministic answer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rank/fusion.h"
#include "util/error.h"
#include "util/rng.h"

/* Point j of g on [lo, hi] (evenly spaced, in log space when asked; g = 1 gives the midpoint). */
static double grid_point(const mtr_param_range *r, int j, int g) {
    if (g == 1) return r->log_scale ? sqrt(r->lo * r->hi) : 0.5 * (r->lo + r->hi);
    if (j == g - 1) return r->hi; /* exactly, whatever the rounding of the steps */
    double t = (double)j / (g - 1);
    if (r->log_scale) return exp(log(r->lo) + t * (log(r->hi) - log(r->lo)));
    return r->lo + t * (r->hi - r->lo);
}

static double random_point(const mtr_param_range *r, mtr_rng *rng) {
    double u = mtr_rng_uniform(rng);
    if (r->log_scale) return exp(log(r->lo) + u * (log(r->hi) - log(r->lo)));
    return r->lo + u * (r->hi - r->lo);
}

static int power_exceeds(long g, int d, long budget) {
    long total = 1;
    for (int k = 0; k < d; k++) {
        total *= g; /* total <= budget < 2^31 before, g < 2^31: no overflow */
        if (total > budget) return 1;
    }
    return 0;
}

/* Largest g with g^d <= budget (at least 1). */
static long grid_size(int budget, int d) {
    long g = (long)floor(pow((double)budget, 1.0 / d));
    if (g < 1) g = 1;
    while (g > 1 && power_exceeds(g, d, budget)) g--;
    while (!power_exceeds(g + 1, d, budget)) g++;
    return g;
}

static int better(double m, double best) { return !isnan(m) && (isnan(best) || m > best); }

int mtr_fusion_search(mtr_fusion *f, mtr_search_method method, const mtr_param_range *ranges, int n_ranges,
                      int budget, uint64_t seed, mtr_fusion_metric_fn metric, void *user, double *best_values,
                      double *best_metric, mtr_error *err) {
    if (!f || !metric || !ranges) return mtr_fail(err, "fusion search: no fusion, ranges or metric");
    if (method != MTR_SEARCH_GRID && method != MTR_SEARCH_RANDOM)
        return mtr_fail(err, "fusion search: unknown method %d", (int)method);
    if (n_ranges < 1 || n_ranges > f->n_params)
        return mtr_fail(err, "fusion search: %d ranges for a formula with %d parameters", n_ranges, f->n_params);
    if (budget < 1) return mtr_fail(err, "fusion search: budget %d, need at least 1 evaluation", budget);
    int *slot = malloc((size_t)n_ranges * sizeof *slot);
    double *best = malloc((size_t)n_ranges * sizeof *best);
    if (!slot || !best) {
        free(slot);
        free(best);
        return mtr_fail(err, "fusion search: out of memory");
    }
    int rc = 0;
    for (int k = 0; k < n_ranges && rc == 0; k++) {
        const mtr_param_range *r = &ranges[k];
        slot[k] = r->name ? mtr_fusion_param_find(f, r->name) : -1;
        if (slot[k] < 0)
            rc = mtr_fail(err, "fusion search: range %d: '%s' is not a parameter of the formula", k,
                          r->name ? r->name : "(null)");
        else if (!isfinite(r->lo) || !isfinite(r->hi) || r->lo > r->hi)
            rc = mtr_fail(err, "fusion search: range '%s': need finite lo <= hi, got [%g, %g]", r->name, r->lo, r->hi);
        else if (r->log_scale && r->lo <= 0)
            rc = mtr_fail(err, "fusion search: range '%s': a log scale needs lo > 0, got %g", r->name, r->lo);
        for (int j = 0; j < k && rc == 0; j++)
            if (slot[j] == slot[k]) rc = mtr_fail(err, "fusion search: parameter '%s' has two ranges", r->name);
    }
    if (rc == 0) {
        double best_m = NAN;
        long n_points = budget;
        long g = 1;
        if (method == MTR_SEARCH_GRID) {
            g = grid_size(budget, n_ranges);
            n_points = 1;
            for (int k = 0; k < n_ranges; k++) n_points *= g;
        }
        mtr_rng rng;
        mtr_rng_seed(&rng, seed);
        for (long t = 0; t < n_points; t++) {
            if (method == MTR_SEARCH_GRID) {
                long rest = t; /* mixed radix, the last range fastest */
                for (int k = n_ranges - 1; k >= 0; k--) {
                    mtr_fusion_set_param(f, slot[k], grid_point(&ranges[k], (int)(rest % g), (int)g));
                    rest /= g;
                }
            } else {
                for (int k = 0; k < n_ranges; k++) mtr_fusion_set_param(f, slot[k], random_point(&ranges[k], &rng));
            }
            double m = metric(f, user);
            if (t == 0 || better(m, best_m)) {
                best_m = m;
                for (int k = 0; k < n_ranges; k++) best[k] = mtr_fusion_get_param(f, slot[k]);
            }
        }
        for (int k = 0; k < n_ranges; k++) {
            mtr_fusion_set_param(f, slot[k], best[k]);
            if (best_values) best_values[k] = best[k];
        }
        if (best_metric) *best_metric = best_m;
    }
    free(slot);
    free(best);
    return rc;
}

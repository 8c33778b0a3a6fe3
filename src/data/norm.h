/* norm.h - numeric normalisation: every norm is y = (transform(x) - shift) * scale, where transform is
 * the identity or a signed log1p and shift/scale are fitted on the training file. Keeping one formula
 * means compiling, serialising and fingerprinting never need to know which norm produced the numbers. */
#ifndef MTR_DATA_NORM_H
#define MTR_DATA_NORM_H

#include <math.h>
#include <stdint.h>

#include "data/spec.h"

/* Running statistics of transform(x) over the training file (Welford, in double). */
typedef struct mtr_norm_stats {
    uint64_t n;  /* values seen */
    double min;  /* smallest transformed value */
    double max;  /* largest transformed value */
    double mean; /* running mean */
    double m2;   /* running sum of squared deviations from the mean */
} mtr_norm_stats;

static inline int mtr_norm_uses_log(mtr_norm norm) {
    return norm == MTR_NORM_LOG1P || norm == MTR_NORM_LOG1P_STANDARD;
}

/* sign(x) * log1p(|x|) for the log norms, x otherwise. */
static inline double mtr_norm_transform(mtr_norm norm, double x) {
    if (!mtr_norm_uses_log(norm)) return x;
    return x < 0 ? -log1p(-x) : log1p(x);
}

static inline double mtr_norm_apply(mtr_norm norm, double shift, double scale, double x) {
    return (mtr_norm_transform(norm, x) - shift) * scale;
}

void mtr_norm_stats_add(mtr_norm_stats *st, mtr_norm norm, double x);
/* shift and scale for `norm` from the statistics. A constant (or empty) column gets scale 1, so nothing
 * divides by zero and training rows all map to 0. */
void mtr_norm_finish(mtr_norm norm, const mtr_norm_stats *st, double *shift, double *scale);

#endif

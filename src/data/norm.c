/* norm.c - fitting normalisation statistics and norm names; see norm.h. */
#include "data/norm.h"

#include <string.h>

static const char *const norm_names[] = {"none", "minmax", "standard", "log1p", "log1p_standard"};

const char *mtr_norm_name(mtr_norm norm) {
    return (unsigned)norm < sizeof norm_names / sizeof *norm_names ? norm_names[norm] : "?";
}

int mtr_norm_parse(const char *name, mtr_norm *norm) {
    for (unsigned i = 0; i < sizeof norm_names / sizeof *norm_names; i++)
        if (strcmp(name, norm_names[i]) == 0) {
            *norm = (mtr_norm)i;
            return 0;
        }
    return -1;
}

void mtr_norm_stats_add(mtr_norm_stats *st, mtr_norm norm, double x) {
    double t = mtr_norm_transform(norm, x);
    if (st->n == 0 || t < st->min) st->min = t;
    if (st->n == 0 || t > st->max) st->max = t;
    st->n++;
    double delta = t - st->mean;
    st->mean += delta / (double)st->n;
    st->m2 += delta * (t - st->mean);
}

void mtr_norm_finish(mtr_norm norm, const mtr_norm_stats *st, double *shift, double *scale) {
    *shift = 0.0;
    *scale = 1.0;
    if (st->n == 0) return;
    if (norm == MTR_NORM_MINMAX) {
        *shift = st->min;
        double range = st->max - st->min;
        if (range > 0 && isfinite(1.0 / range)) *scale = 1.0 / range;
    } else if (norm == MTR_NORM_STANDARD || norm == MTR_NORM_LOG1P_STANDARD) {
        *shift = st->mean;
        double var = st->m2 / (double)st->n;
        double sd = var > 0 ? sqrt(var) : 0.0;
        if (sd > 0 && isfinite(1.0 / sd)) *scale = 1.0 / sd;
    }
}

/* synthetic.h - the MMoE paper's synthetic task pair (Ma et al., KDD 2018, section 3.2) beyond the public
 * entry points in mtrank.h: the drawn problem itself (u1, u2, w1, w2, alpha, beta), so tests and studies
 * can check the construction, and the noise-free label function.
 *
 * Random streams, all derived from cfg->seed with mtr_seed_mix: stream 0 draws the problem (u1, u2 from
 * Gaussian vectors, then alpha, then beta); stream 1 + s draws the rows of sample stream s (per row: x,
 * then the noise of y1, then of y2). So the correlation P changes w2 but no random draw, and the same
 * seed with two sample streams gives training and test data of one problem. */
#ifndef MTR_GEN_SYNTHETIC_H
#define MTR_GEN_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

typedef struct mtr_synthetic_problem {
    int dim;          /* d */
    int n_sin;        /* m */
    double noise_sd;  /* label noise standard deviation */
    double *u1, *u2;  /* (d) orthonormal: Gram-Schmidt on two Gaussian vectors */
    double *w1, *w2;  /* (d) w1 = c u1, w2 = c (P u1 + sqrt(1 - P^2) u2) */
    double *alpha;    /* (m) sine frequencies, shared by both tasks */
    double *beta;     /* (m) sine phases, shared by both tasks */
    uint64_t seed;    /* the configuration's seed; sample streams derive from it */
} mtr_synthetic_problem;

/* Draw the problem of cfg (checked first). Free with mtr_synthetic_problem_free. */
int mtr_synthetic_problem_init(mtr_synthetic_problem *p, const mtr_synthetic_config *cfg, mtr_error *err);
void mtr_synthetic_problem_free(mtr_synthetic_problem *p);

/* y_k without noise for input x (d floats): w_k.x + sum_i sin(alpha_i w_k.x + beta_i); task is 0 or 1. */
double mtr_synthetic_label_mean(const mtr_synthetic_problem *p, int task, const float *x);

/* `rows` rows of sample stream `stream` into an in-memory dataset (0 categorical, d numeric, 2 labels). */
mtr_dataset *mtr_synthetic_problem_sample(const mtr_synthetic_problem *p, size_t rows, uint64_t stream,
                                          mtr_error *err);

/* The schema of the generated data: numeric inputs x0..x{d-1}, regression tasks y1 and y2. */
mtr_schema *mtr_synthetic_schema(int dim, mtr_error *err);

#endif

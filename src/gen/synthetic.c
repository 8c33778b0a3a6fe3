/* synthetic.c - the MMoE paper's synthetic task pair with controlled relatedness (Ma et al., KDD 2018,
 * section 3.2); see synthetic.h for the random streams and mtrank.h for the public calls.
 *
 * The paper's recipe, with P the cosine of the two tasks' weight vectors:
 *   u1, u2 orthogonal unit vectors in R^d       (Gram-Schmidt on two standard Gaussian vectors)
 *   w1 = c u1,  w2 = c (P u1 + sqrt(1 - P^2) u2)
 *   x ~ N(0, I_d)
 *   y_k = w_k.x + sum_{i=1..m} sin(alpha_i w_k.x + beta_i) + eps_k,  eps_k ~ N(0, noise_sd^2)
 * alpha and beta are drawn once per problem and shared by both tasks, so the only difference between the
 * tasks is the direction of w_k. Inputs are stored as floats; labels are computed in double from the
 * stored (float) inputs, so a row can be checked exactly against mtr_synthetic_label_mean. */
#include "gen/synthetic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/schema.h"
#include "util/error.h"
#include "util/rng.h"

#define MAX_DIM 65536   /* inputs: far above the paper's 100, well below the schema's column limit */
#define MAX_SIN 100000  /* sine terms */

void mtr_synthetic_config_default(mtr_synthetic_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->correlation = 1.0;
    cfg->dim = 100;
    cfg->scale = 0.3;
    cfg->n_sin = 5;
    cfg->alpha_sd = 1.0;
    cfg->beta_sd = 1.0;
    cfg->noise_sd = 0.1;
    cfg->seed = 1;
}

const char *mtr_synthetic_config_check(const mtr_synthetic_config *cfg) {
    if (!(cfg->correlation >= -1.0 && cfg->correlation <= 1.0))
        return "correlation P (the cosine of w1 and w2) must be in [-1, 1]";
    if (cfg->dim < 2) return "dimension d must be >= 2 (two orthogonal directions are needed)";
    if (cfg->dim > MAX_DIM) return "dimension d must be <= 65536";
    if (!(cfg->scale > 0.0) || !isfinite(cfg->scale)) return "scale c must be finite and > 0";
    if (cfg->n_sin < 0 || cfg->n_sin > MAX_SIN) return "number of sine terms m must be in 0..100000";
    if (!(cfg->alpha_sd >= 0.0) || !isfinite(cfg->alpha_sd)) return "alpha standard deviation must be finite and >= 0";
    if (!(cfg->beta_sd >= 0.0) || !isfinite(cfg->beta_sd)) return "beta standard deviation must be finite and >= 0";
    if (!(cfg->noise_sd >= 0.0) || !isfinite(cfg->noise_sd)) return "noise standard deviation must be finite and >= 0";
    return NULL;
}

void mtr_synthetic_problem_free(mtr_synthetic_problem *p) {
    if (!p) return;
    free(p->u1); /* one block holds u1, u2, w1, w2, alpha, beta */
    memset(p, 0, sizeof *p);
}

static double dot(const double *a, const double *b, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* v /= |v|; returns the norm before scaling. */
static double normalize(double *v, int n) {
    double norm = sqrt(dot(v, v, n));
    if (norm > 0.0)
        for (int i = 0; i < n; i++) v[i] /= norm;
    return norm;
}

int mtr_synthetic_problem_init(mtr_synthetic_problem *p, const mtr_synthetic_config *cfg, mtr_error *err) {
    memset(p, 0, sizeof *p);
    const char *problem = mtr_synthetic_config_check(cfg);
    if (problem) return mtr_fail(err, "synthetic data: %s", problem);
    size_t d = (size_t)cfg->dim, m = (size_t)cfg->n_sin;
    double *block = malloc((4 * d + 2 * m) * sizeof *block);
    if (!block) return mtr_fail(err, "synthetic data: out of memory");
    p->dim = cfg->dim;
    p->n_sin = cfg->n_sin;
    p->noise_sd = cfg->noise_sd;
    p->seed = cfg->seed;
    p->u1 = block;
    p->u2 = block + d;
    p->w1 = block + 2 * d;
    p->w2 = block + 3 * d;
    p->alpha = block + 4 * d;
    p->beta = block + 4 * d + m;

    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, 0));
    /* Gram-Schmidt. A Gaussian pair is degenerate with probability zero; redraw u2 if it ever is. */
    for (size_t i = 0; i < d; i++) p->u1[i] = mtr_rng_normal(&rng);
    while (normalize(p->u1, cfg->dim) < 1e-12)
        for (size_t i = 0; i < d; i++) p->u1[i] = mtr_rng_normal(&rng);
    for (;;) {
        for (size_t i = 0; i < d; i++) p->u2[i] = mtr_rng_normal(&rng);
        double proj = dot(p->u1, p->u2, cfg->dim);
        for (size_t i = 0; i < d; i++) p->u2[i] -= proj * p->u1[i];
        if (normalize(p->u2, cfg->dim) > 1e-9) break;
    }
    /* a second projection removes what rounding left of u1 in u2 (u1.u2 ~ 1e-17 after it) */
    double proj = dot(p->u1, p->u2, cfg->dim);
    for (size_t i = 0; i < d; i++) p->u2[i] -= proj * p->u1[i];
    normalize(p->u2, cfg->dim);

    double P = cfg->correlation, Q = sqrt(1.0 - P * P), c = cfg->scale;
    for (size_t i = 0; i < d; i++) {
        p->w1[i] = c * p->u1[i];
        p->w2[i] = c * (P * p->u1[i] + Q * p->u2[i]);
    }
    for (size_t i = 0; i < m; i++) p->alpha[i] = cfg->alpha_sd * mtr_rng_normal(&rng);
    for (size_t i = 0; i < m; i++) p->beta[i] = cfg->beta_sd * mtr_rng_normal(&rng);
    return 0;
}

double mtr_synthetic_label_mean(const mtr_synthetic_problem *p, int task, const float *x) {
    const double *w = task == 0 ? p->w1 : p->w2;
    double z = 0.0;
    for (int i = 0; i < p->dim; i++) z += w[i] * (double)x[i];
    double y = z;
    for (int i = 0; i < p->n_sin; i++) y += sin(p->alpha[i] * z + p->beta[i]);
    return y;
}

mtr_dataset *mtr_synthetic_problem_sample(const mtr_synthetic_problem *p, size_t rows, uint64_t stream,
                                          mtr_error *err) {
    if (rows == 0) {
        mtr_fail(err, "synthetic data: rows must be >= 1");
        return NULL;
    }
    if (stream == UINT64_MAX) {
        mtr_fail(err, "synthetic data: sample stream out of range");
        return NULL;
    }
    uint32_t *rec;
    mtr_dataset *ds = mtr_dataset_alloc(rows, 0, p->dim, 2, &rec, err);
    if (!ds) {
        mtr_fail_prefix(err, "synthetic data");
        return NULL;
    }
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(p->seed, stream + 1));
    size_t words = ds->record_words;
    for (size_t r = 0; r < rows; r++) {
        float *x = (float *)(rec + r * words), *y = x + p->dim;
        for (int i = 0; i < p->dim; i++) x[i] = (float)mtr_rng_normal(&rng);
        for (int k = 0; k < 2; k++) {
            double noise = p->noise_sd * mtr_rng_normal(&rng);
            y[k] = (float)(mtr_synthetic_label_mean(p, k, x) + noise);
        }
    }
    return ds;
}

mtr_schema *mtr_synthetic_schema(int dim, mtr_error *err) {
    if (dim < 2 || dim > MAX_DIM) {
        mtr_fail(err, "synthetic data: dimension d must be in 2..%d, got %d", MAX_DIM, dim);
        return NULL;
    }
    char *names = malloc((size_t)dim * 16);
    const char **ptrs = malloc((size_t)dim * sizeof *ptrs);
    mtr_schema *s = NULL;
    if (!names || !ptrs) {
        mtr_fail(err, "synthetic data: out of memory");
    } else {
        for (int i = 0; i < dim; i++) {
            snprintf(names + (size_t)i * 16, 16, "x%d", i);
            ptrs[i] = names + (size_t)i * 16;
        }
        static const char *const tasks[2] = {"y1", "y2"};
        static const mtr_task_kind kinds[2] = {MTR_TASK_REGRESSION, MTR_TASK_REGRESSION};
        s = mtr_schema_synthetic(0, NULL, NULL, dim, ptrs, 2, tasks, kinds, err);
    }
    free(names);
    free(ptrs);
    return s;
}

mtr_dataset *mtr_synthetic_generate(const mtr_synthetic_config *cfg, size_t rows, uint64_t stream,
                                    mtr_schema **schema, mtr_error *err) {
    if (schema) *schema = NULL;
    mtr_synthetic_problem p;
    if (mtr_synthetic_problem_init(&p, cfg, err) != 0) return NULL;
    mtr_dataset *ds = mtr_synthetic_problem_sample(&p, rows, stream, err);
    mtr_synthetic_problem_free(&p);
    if (!ds) return NULL;
    if (schema) {
        *schema = mtr_synthetic_schema(cfg->dim, err);
        if (!*schema) {
            mtr_dataset_free(ds);
            return NULL;
        }
        /* so the data passes the trainer's "compiled with this schema" check, in memory and as .mtrd */
        ds->schema_fingerprint = mtr_schema_fingerprint(*schema);
    }
    return ds;
}

double mtr_label_correlation(const mtr_dataset *ds, int task_a, int task_b) {
    if (!ds || task_a < 0 || task_b < 0 || task_a >= ds->n_tasks || task_b >= ds->n_tasks) return NAN;
    double sa = 0.0, sb = 0.0;
    size_t n = 0;
    for (size_t r = 0; r < ds->n_rows; r++) {
        const float *y = mtr_row_labels(ds, r);
        if (isnan(y[task_a]) || isnan(y[task_b])) continue;
        sa += y[task_a];
        sb += y[task_b];
        n++;
    }
    if (n < 2) return NAN;
    double ma = sa / (double)n, mb = sb / (double)n, saa = 0.0, sbb = 0.0, sab = 0.0;
    for (size_t r = 0; r < ds->n_rows; r++) {
        const float *y = mtr_row_labels(ds, r);
        if (isnan(y[task_a]) || isnan(y[task_b])) continue;
        double a = y[task_a] - ma, b = y[task_b] - mb;
        saa += a * a;
        sbb += b * b;
        sab += a * b;
    }
    if (!(saa > 0.0) || !(sbb > 0.0)) return NAN;
    return sab / sqrt(saa * sbb);
}

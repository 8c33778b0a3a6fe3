/* loss.c - the per-task losses over a strided column of predictions, skipping unlabelled (NaN) rows.
 * Forward returns the plain sum and the labelled count so per-thread partial results add up exactly;
 * per-row losses are formed in double where that is free and summed in double. */
#include <assert.h>
#include <math.h>

#include "ops/ops.h"

float mtr_sigmoid(float z) {
    /* exp of a non-positive argument only, so nothing overflows: sigmoid(-100) is 3.7e-44, not 0/inf */
    if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

/* loss = max(z,0) - z*y + log(1 + exp(-|z|)), which equals -y log s(z) - (1-y) log(1 - s(z)) */
double bce_with_logits_forward(const float *logit, const float *label, int ld, int B, size_t *n_labelled) {
    assert(B >= 0 && ld >= 1);
    double sum = 0.0;
    size_t n = 0;
    for (int i = 0; i < B; i++) {
        float y = label[(size_t)i * ld];
        if (isnan(y)) continue;
        float z = logit[(size_t)i * ld];
        double lin = (z > 0.0f ? (double)z : 0.0) - (double)z * y;
        sum += lin + (double)log1pf(expf(-fabsf(z)));
        n++;
    }
    *n_labelled = n;
    return sum;
}

/* dz += scale * (sigmoid(z) - y) */
void bce_with_logits_backward(float *dz, const float *logit, const float *label, int ld, int B,
                              float scale) {
    assert(B >= 0 && ld >= 1);
    for (int i = 0; i < B; i++) {
        size_t k = (size_t)i * ld;
        float y = label[k];
        if (isnan(y)) continue;
        dz[k] += scale * (mtr_sigmoid(logit[k]) - y);
    }
}

/* loss = (pred - y)^2 */
double mse_forward(const float *pred, const float *label, int ld, int B, size_t *n_labelled) {
    assert(B >= 0 && ld >= 1);
    double sum = 0.0;
    size_t n = 0;
    for (int i = 0; i < B; i++) {
        float y = label[(size_t)i * ld];
        if (isnan(y)) continue;
        double d = (double)pred[(size_t)i * ld] - y;
        sum += d * d;
        n++;
    }
    *n_labelled = n;
    return sum;
}

/* dz += scale * 2 (pred - y) */
void mse_backward(float *dz, const float *pred, const float *label, int ld, int B, float scale) {
    assert(B >= 0 && ld >= 1);
    for (int i = 0; i < B; i++) {
        size_t k = (size_t)i * ld;
        float y = label[k];
        if (isnan(y)) continue;
        dz[k] += scale * 2.0f * (pred[k] - y);
    }
}

/* ESMM's CTCVR loss. With pc = s(zc), pv = s(zv) and p = pc pv:
 *   log p     = -softplus(-zc) - softplus(-zv)
 *   1 - p     = s(-zc) + s(zc) s(-zv)            (no cancellation when both are near 1)
 *   dL/dzc    = (1 - pc) (-y + (1 - y) p / (1 - p)),  dL/dzv likewise with (1 - pv). */
static double softplus(double x) { return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x))); }
static double sigmoid_d(double z) { return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

double ctcvr_loss_forward(const float *zc, int ldc, const float *zv, int ldv, const float *label, int ldl, int B,
                          size_t *n_labelled) {
    double sum = 0.0;
    size_t n = 0;
    for (int i = 0; i < B; i++) {
        float y = label[(size_t)i * ldl];
        if (isnan(y)) continue;
        double c = zc[(size_t)i * ldc], v = zv[(size_t)i * ldv];
        double log_p = -softplus(-c) - softplus(-v);
        double one_minus_p = sigmoid_d(-c) + sigmoid_d(c) * sigmoid_d(-v);
        sum += -(double)y * log_p - (1.0 - y) * log(one_minus_p > 1e-300 ? one_minus_p : 1e-300);
        n++;
    }
    *n_labelled = n;
    return sum;
}

void ctcvr_loss_backward(float *dzc, int lddc, float *dzv, int lddv, const float *zc, int ldc, const float *zv,
                         int ldv, const float *label, int ldl, int B, float scale) {
    for (int i = 0; i < B; i++) {
        float y = label[(size_t)i * ldl];
        if (isnan(y)) continue;
        double c = zc[(size_t)i * ldc], v = zv[(size_t)i * ldv];
        double pc = sigmoid_d(c), pv = sigmoid_d(v);
        double one_minus_p = sigmoid_d(-c) + pc * sigmoid_d(-v);
        double odds = pc * pv / (one_minus_p > 1e-300 ? one_minus_p : 1e-300);
        double common = -(double)y + (1.0 - y) * odds;
        dzc[(size_t)i * lddc] += (float)(scale * sigmoid_d(-c) * common);
        dzv[(size_t)i * lddv] += (float)(scale * sigmoid_d(-v) * common);
    }
}

/* BPR: for pairs of consecutive rows (2i preferred over 2i+1), loss = -log sigmoid(s_2i - s_2i+1)
 * = softplus(-(s_2i - s_2i+1)); gradient w.r.t. the difference is -sigmoid(-(difference)). */
double bpr_loss_forward(const float *s, int ld, int n_pairs) {
    double sum = 0.0;
    for (int i = 0; i < n_pairs; i++) {
        double d = (double)s[(size_t)(2 * i) * ld] - (double)s[(size_t)(2 * i + 1) * ld];
        sum += softplus(-d);
    }
    return sum;
}

void bpr_loss_backward(float *ds, const float *s, int ld, int n_pairs, float scale) {
    for (int i = 0; i < n_pairs; i++) {
        size_t a = (size_t)(2 * i) * ld, b = (size_t)(2 * i + 1) * ld;
        double g = -sigmoid_d(-((double)s[a] - (double)s[b]));
        ds[a] += (float)(scale * g);
        ds[b] -= (float)(scale * g);
    }
}

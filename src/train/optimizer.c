/* optimizer.c - the update rules; see optimizer.h. Loops are plain so gcc vectorises them. */
#include "train/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int mtr_optimizer_init(mtr_optimizer_state *st, const mtr_train_config *cfg, size_t n_params,
                       mtr_error *err) {
    memset(st, 0, sizeof *st);
    st->kind = cfg->optimizer;
    st->lr = cfg->learning_rate;
    st->beta1 = cfg->beta1;
    st->beta2 = cfg->beta2;
    st->epsilon = cfg->epsilon;
    st->l2 = cfg->l2;
    st->n_params = n_params;
    size_t bytes = (n_params ? n_params : 1) * sizeof(float);
    if (st->kind == MTR_OPT_ADAM) st->m = calloc(1, bytes);
    if (st->kind != MTR_OPT_SGD) st->v = calloc(1, bytes);
    if ((st->kind == MTR_OPT_ADAM && !st->m) || (st->kind != MTR_OPT_SGD && !st->v)) {
        mtr_optimizer_free(st);
        return mtr_fail(err, "out of memory for optimizer state (%zu parameters)", n_params);
    }
    return 0;
}

void mtr_optimizer_free(mtr_optimizer_state *st) {
    free(st->m);
    free(st->v);
    st->m = st->v = NULL;
}

void mtr_optimizer_begin_step(mtr_optimizer_state *st) {
    st->step++;
    if (st->kind == MTR_OPT_ADAM) {
        double t = (double)st->step;
        st->step_size = (float)(st->lr * sqrt(1.0 - pow(st->beta2, t)) / (1.0 - pow(st->beta1, t)));
    } else {
        st->step_size = st->lr;
    }
}

void mtr_optimizer_update(mtr_optimizer_state *st, float *params, size_t offset, const float *g, size_t n,
                          int decay) {
    float *restrict w = params + offset;
    const float l2 = decay ? st->l2 : 0.0f, step = st->step_size, eps = st->epsilon;
    switch (st->kind) {
    case MTR_OPT_ADAM: {
        float *restrict m = st->m + offset, *restrict v = st->v + offset;
        const float b1 = st->beta1, b2 = st->beta2;
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + l2 * w[i];
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            w[i] -= step * m[i] / (sqrtf(v[i]) + eps);
        }
        break;
    }
    case MTR_OPT_ADAGRAD: {
        float *restrict v = st->v + offset;
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + l2 * w[i];
            v[i] += gi * gi;
            w[i] -= step * gi / (sqrtf(v[i]) + eps);
        }
        break;
    }
    case MTR_OPT_SGD:
        for (size_t i = 0; i < n; i++) w[i] -= step * (g[i] + l2 * w[i]);
        break;
    }
}

/* optimizer.h - Adam, Adagrad and SGD over the parameter slab: dense ranges for weights and biases,
 * single rows for embeddings (only rows a batch touched are updated: "lazy" Adam, sparse Adagrad).
 * Moments use the parameter slab's layout, so a parameter at offset i has its state at offset i. */
#ifndef MTR_TRAIN_OPTIMIZER_H
#define MTR_TRAIN_OPTIMIZER_H

#include <stddef.h>

#include "mtrank.h"

typedef struct mtr_optimizer_state {
    mtr_optimizer kind;   /* update rule */
    float lr;             /* base learning rate */
    float beta1, beta2;   /* Adam moment decay */
    float epsilon;        /* denominator guard (Adam, Adagrad) */
    float l2;             /* L2 penalty added to the gradient of decayed tensors */
    float *m;             /* Adam first moment (n_params), NULL otherwise */
    float *v;             /* Adam second moment / Adagrad accumulator (n_params), NULL for SGD */
    size_t n_params;      /* slab size */
    long step;            /* updates done; Adam's bias correction uses it */
    float step_size;      /* this step's effective learning rate (bias-corrected for Adam) */
} mtr_optimizer_state;

int mtr_optimizer_init(mtr_optimizer_state *st, const mtr_train_config *cfg, size_t n_params,
                       mtr_error *err);
void mtr_optimizer_free(mtr_optimizer_state *st);
/* Start an update: advance the step count and compute this step's effective learning rate. */
void mtr_optimizer_begin_step(mtr_optimizer_state *st);
/* Update params[offset .. offset+n) with gradient g (g[0] belongs to params[offset]). */
void mtr_optimizer_update(mtr_optimizer_state *st, float *params, size_t offset, const float *g, size_t n,
                          int decay);

#endif

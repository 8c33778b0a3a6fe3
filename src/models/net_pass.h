/* net_pass.h - forward and backward of one net (see model.h) over a batch, on buffers sized once for
 * the largest batch so that no pass allocates. */
#ifndef MTR_MODELS_NET_PASS_H
#define MTR_MODELS_NET_PASS_H

#include "data/batch.h"
#include "models/model.h"
#include "ops/embedding_projection.h"
#include "ops/sparse_rows.h"

/* Activations (and, for training, their gradients) of one net for up to max_batch rows. Matrices are
 * row-major (B, width); comments give each one's width. */
typedef struct mtr_net_buffers {
    int max_batch;                                  /* rows the buffers hold */
    int n_out;                                      /* stride of out/dout: the model's task count */
    float *x;                                       /* (D) pooled embeddings then numeric inputs */
    float *a0;                                      /* (input_cols) activated expert units | gate probs */
    float *act[MTR_MAX_LAYERS];                     /* act[l] (E*width[l]) for l >= 1 */
    float *mix;                                     /* (n_tasks*U) per-task mixture of expert outputs */
    float *tower[MTR_MAX_TASKS][MTR_MAX_LAYERS];    /* (tower_width[l]) activated tower units */
    float *out;                                     /* (n_out) logits or regression values; own tasks */
    /* gradients: NULL when allocated for inference */
    float *dx;                                      /* (n_fields*emb_dim) gradient of the embeddings */
    float *da0, *dz0;                               /* (input_cols) w.r.t. a0 and its pre-activation */
    float *dact[MTR_MAX_LAYERS], *dz[MTR_MAX_LAYERS];/* (E*width[l]) for l >= 1 */
    float *dmix;                                    /* (n_tasks*U) */
    float *dtower[MTR_MAX_TASKS][MTR_MAX_LAYERS];   /* (tower_width[l]) w.r.t. activated units */
    float *dtower_z[MTR_MAX_TASKS][MTR_MAX_LAYERS + 1]; /* w.r.t. pre-activations; last = output */
    float *dout;                                    /* (n_out) gradient of the loss w.r.t. out */
    float *block;                                   /* the single allocation behind all of the above */
    mtr_projection proj;                            /* the batch's ids, distinct pairs, projections */
    int factored;                                   /* this batch's input layer went through proj */
} mtr_net_buffers;

/* Bytes needed, to check arena sizes and report memory. */
size_t mtr_net_buffers_floats(const mtr_net *net, int n_out, int max_batch, int training);
/* max_ids_per_row: the most categorical ids one row of the data holds (mtr_dataset's max_row_ids). */
int mtr_net_buffers_init(mtr_net_buffers *nb, const mtr_net *net, int n_out, int max_batch,
                         uint32_t max_ids_per_row, int training);
void mtr_net_buffers_free(mtr_net_buffers *nb);

/* The input layer's embedding part goes through per-row projections (embedding_projection.h) when a
 * batch uses at most this fraction of distinct rows per field value, else through the dense GEMM. */
#define MTR_PROJECTION_MAX_DISTINCT 0.5

/* Forward the batch's rows. Writes nb->out[:, task] for the net's tasks (raw logits / values). */
void mtr_net_forward(const mtr_model *m, const mtr_net *net, mtr_net_buffers *nb, const mtr_batch *batch);
/* After mtr_net_forward: task t's scores of the B rows, dst[b * stride], as predictions are reported (a
 * probability for a binary task, the value for a regression task). */
void mtr_net_task_scores(const mtr_model *m, const mtr_net_buffers *nb, int t, float *dst, size_t stride, int B);

/* What task t's first tower layer after the input layer reads (its stem), with stride and width. */
const float *mtr_net_tower_stem(const mtr_net *net, const mtr_net_buffers *nb, int t, int *ld, int *width);

/* Backward from nb->dout (filled by the loss). Accumulates dense gradients into `grad` (a slab with
 * the model's parameter layout) and embedding gradients into `emb_grad`. */
void mtr_net_backward(const mtr_model *m, const mtr_net *net, mtr_net_buffers *nb, float *grad,
                      mtr_sparse_rows *emb_grad, const mtr_batch *batch);

#endif

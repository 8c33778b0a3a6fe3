/* batch_loss.h - the loss of a batch (or of one worker's slice of it) and its gradients: forward every
 * net, apply each task's loss scaled by task_weight / labelled rows of the whole batch, backward.
 * The trainer runs it per worker; the gradient tests run it on the whole model. */
#ifndef MTR_TRAIN_BATCH_LOSS_H
#define MTR_TRAIN_BATCH_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "data/batch.h"
#include "models/net_pass.h"

/* nb[k] and emb[k] belong to net k. `labelled[t]` is the number of rows with a label for task t in the
 * whole batch (the loss is a mean over the batch even when a worker sees only a slice). loss_sum[t]
 * receives the sum of task t's per-row losses over these rows (unweighted). `grad` (dense slab) and
 * emb[] accumulate; the caller zeroes them. With backward = 0 only the losses are computed.
 * pairwise_task >= 0 selects BPR instead: rows come in (preferred, other) pairs, only that task's output
 * is trained, and labelled[pairwise_task] holds the batch's pair count. */
void mtr_batch_loss(const mtr_model *m, mtr_net_buffers *nb, mtr_sparse_rows *emb, float *grad,
                    const mtr_batch *batch, const size_t *labelled, const float *task_weight, int pairwise_task,
                    double *loss_sum, int backward);

#endif

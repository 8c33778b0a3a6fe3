/* batch_loss.c - see batch_loss.h. Every net runs forward first, because the ESMM structure couples
 * two outputs (pCTR and pCVR) that may live in different nets (ESMM-NS); then every task's loss is
 * applied, then every net runs backward. */
#include "train/batch_loss.h"

#include <string.h>

#include "ops/ops.h"

void mtr_batch_loss(const mtr_model *m, mtr_net_buffers *nb, mtr_sparse_rows *emb, float *grad,
                    const mtr_batch *batch, const size_t *labelled, const float *task_weight, int pairwise_task,
                    double *loss_sum, int backward) {
    int T = m->n_tasks, net_of[MTR_MAX_TASKS], B = batch->n_rows;
    const float *labels = batch->labels;
    for (int k = 0; k < m->n_nets; k++) {
        const mtr_net *net = &m->nets[k];
        mtr_net_forward(m, net, &nb[k], batch);
        if (backward) memset(nb[k].dout, 0, (size_t)B * T * sizeof(float));
        for (int t = 0; t < net->n_tasks; t++) net_of[net->task[t]] = k;
    }
    int conv = m->cfg.conversion_task;
    for (int g = 0; g < T; g++) {
        loss_sum[g] = 0.0;
        if (!mtr_model_has_task(m, g)) continue;
        mtr_net_buffers *b = &nb[net_of[g]];
        size_t n_lab;
        float scale = labelled[g] ? task_weight[g] / (float)labelled[g] : 0.0f;
        if (pairwise_task >= 0) {
            if (g != pairwise_task) continue;
            loss_sum[g] = bpr_loss_forward(b->out + g, T, B / 2);
            if (backward) bpr_loss_backward(b->dout + g, b->out + g, T, B / 2, scale);
        } else if (g == conv) {
            /* pCTCVR = pCTR x pCVR against this task's label, on every labelled row */
            mtr_net_buffers *c = &nb[net_of[0]];
            loss_sum[g] = ctcvr_loss_forward(c->out, T, b->out + g, T, labels + g, T, B, &n_lab);
            if (backward) ctcvr_loss_backward(c->dout, T, b->dout + g, T, c->out, T, b->out + g, T, labels + g, T, B, scale);
        } else if (m->kind[g] == MTR_TASK_BINARY) {
            loss_sum[g] = bce_with_logits_forward(b->out + g, labels + g, T, B, &n_lab);
            if (backward) bce_with_logits_backward(b->dout + g, b->out + g, labels + g, T, B, scale);
        } else {
            loss_sum[g] = mse_forward(b->out + g, labels + g, T, B, &n_lab);
            if (backward) mse_backward(b->dout + g, b->out + g, labels + g, T, B, scale);
        }
    }
    if (backward)
        for (int k = 0; k < m->n_nets; k++) mtr_net_backward(m, &m->nets[k], &nb[k], grad, &emb[k], batch);
}

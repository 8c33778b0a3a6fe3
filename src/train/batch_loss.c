/* batch_loss.c - see batch_loss.h. */
#include "train/batch_loss.h"

#include <string.h>

#include "ops/ops.h"

void mtr_batch_loss(const mtr_model *m, mtr_net_buffers *nb, mtr_sparse_rows *emb, float *grad,
                    const uint32_t *ids, const float *numeric, const float *labels, int B, const size_t *labelled,
                    const float *task_weight, double *loss_sum, int backward) {
    int T = m->n_tasks;
    for (int k = 0; k < m->n_nets; k++) {
        const mtr_net *net = &m->nets[k];
        mtr_net_buffers *b = &nb[k];
        mtr_net_forward(m, net, b, ids, numeric, B);
        if (backward) memset(b->dout, 0, (size_t)B * T * sizeof(float));
        for (int t = 0; t < net->n_tasks; t++) {
            int g = net->task[t];
            size_t n_lab;
            float scale = labelled[g] ? task_weight[g] / (float)labelled[g] : 0.0f;
            if (m->kind[g] == MTR_TASK_BINARY) {
                loss_sum[g] = bce_with_logits_forward(b->out + g, labels + g, T, B, &n_lab);
                if (backward) bce_with_logits_backward(b->dout + g, b->out + g, labels + g, T, B, scale);
            } else {
                loss_sum[g] = mse_forward(b->out + g, labels + g, T, B, &n_lab);
                if (backward) mse_backward(b->dout + g, b->out + g, labels + g, T, B, scale);
            }
        }
        if (backward) mtr_net_backward(m, net, b, grad, &emb[k], ids, B);
    }
}

/* net_backward.c - backward pass of one net, in the reverse order of net_forward.c. Gradient buffers
 * are zeroed here once per batch; the ops accumulate into them. */
#include <string.h>

#include "models/net_pass.h"
#include "ops/ops.h"

static void zero_rows(float *p, int B, int width) { memset(p, 0, (size_t)B * (size_t)width * sizeof(float)); }

/* Gradient buffer matching mtr_net_tower_stem: where task t's tower sends d(its input). */
static float *tower_stem_grad(const mtr_net *net, mtr_net_buffers *nb, int t, int *ld) {
    int cols = net->input_cols;
    if (net->n_layers == 0) {
        *ld = cols;
        return nb->da0 + (size_t)t * mtr_net_stem_width(net);
    }
    int E = net->n_experts, U = mtr_net_expert_out(net), L = net->n_layers;
    if (net->n_gates > 0) {
        *ld = net->n_tasks * U;
        return nb->dmix + (size_t)(net->n_gates == 1 ? 0 : t) * U;
    }
    *ld = L == 1 ? cols : E * U;
    return L == 1 ? nb->da0 : nb->dact[L - 1];
}

/* Input layer backward from dz0: W_in's gradient and the embeddings' (projected or dense path). */
static void input_layer_backward(const mtr_model *m, const mtr_net *net, mtr_net_buffers *nb, float *grad,
                                 mtr_sparse_rows *emb_grad, const mtr_batch *batch) {
    int B = batch->n_rows;
    const float *P = m->params;
    const mtr_tensor *T = m->tensors;
    int D = net->input_dim, F = net->n_fields, K = net->emb_dim, cols = net->input_cols;
    const float *w_in = P + T[net->t_input_w].offset, *table = P + T[net->t_embedding].offset;
    float *dw_in = grad + T[net->t_input_w].offset, *db_in = grad + T[net->t_input_b].offset;
    if (nb->factored) {
        dense_backward(NULL, 0, dw_in + (size_t)F * K * cols, cols, db_in, nb->dz0, cols, nb->x + F * K, D,
                       w_in + (size_t)F * K * cols, cols, B, net->n_numeric, cols);
        embedding_projection_backward(&nb->proj, dw_in, cols, emb_grad, nb->dz0, cols, table, w_in, cols, B);
        return;
    }
    dense_backward(NULL, 0, dw_in, cols, db_in, nb->dz0, cols, nb->x, D, w_in, cols, B, D, cols);
    if (F == 0) return;
    /* d(embeddings) = dz0 * W_in[0 : F*K, :]^T, only the embedding rows of the input */
    mtr_sgemm(0, 1, B, F * K, cols, 1.0f, nb->dz0, cols, w_in, cols, 0.0f, nb->dx, F * K);
    embedding_bag_backward(&net->layout, batch->id_start, batch->ids, emb_grad, nb->dx, F * K, K, B);
}

void mtr_net_backward(const mtr_model *m, const mtr_net *net, mtr_net_buffers *nb, float *grad,
                      mtr_sparse_rows *emb_grad, const mtr_batch *batch) {
    int B = batch->n_rows;
    const float *P = m->params;
    const mtr_tensor *T = m->tensors;
    int E = net->n_experts, cols = net->input_cols, L = net->n_layers;
    int start = mtr_net_tower_start(net), TL = net->n_tower_layers;
    mtr_activation act = m->cfg.activation;

    zero_rows(nb->da0, B, cols);
    zero_rows(nb->dz0, B, cols);
    for (int l = 1; l < L; l++) zero_rows(nb->dact[l], B, E * net->width[l]);
    if (net->n_gates > 0) zero_rows(nb->dmix, B, net->n_tasks * mtr_net_expert_out(net));

    /* towers, each back to its stem (a0's block, the mixture, or the expert output) */
    for (int t = 0; t < net->n_tasks; t++) {
        int g = net->task[t];
        if (start == 1 && TL == 0) {
            /* the output is a0's column t, a pre-activation: its gradient goes straight to dz0 */
            for (int b = 0; b < B; b++) nb->dz0[(size_t)b * cols + t] += nb->dout[(size_t)b * nb->n_out + g];
            continue;
        }
        const float *dy = nb->dout + g;
        int ld_dy = nb->n_out;
        for (int l = TL; l >= start; l--) {
            int out = l < TL ? net->tower_width[l] : 1;
            const float *x;
            float *dx;
            int ldx, lddx, in_width;
            if (l > start) {
                in_width = net->tower_width[l - 1];
                x = nb->tower[t][l - 1];
                ldx = in_width;
                dx = nb->dtower[t][l - 1];
                lddx = in_width;
                zero_rows(dx, B, in_width);
            } else {
                x = mtr_net_tower_stem(net, nb, t, &ldx, &in_width);
                dx = tower_stem_grad(net, nb, t, &lddx);
            }
            if (l < TL) {
                /* dy is d(activated units); turn it into d(pre-activation) */
                float *dz = nb->dtower_z[t][l];
                zero_rows(dz, B, out);
                activation_backward(dz, out, dy, ld_dy, nb->tower[t][l], out, B, out, act);
                dy = dz;
                ld_dy = out;
            }
            dense_backward(dx, lddx, grad + T[net->t_tower_w[t][l]].offset, out,
                           grad + T[net->t_tower_b[t][l]].offset, dy, ld_dy, x, ldx,
                           P + T[net->t_tower_w[t][l]].offset, out, B, in_width, out);
            dy = dx;
            ld_dy = lddx;
        }
    }

    if (L == 0) {
        /* a0 was the towers' activated first layers (or raw outputs, handled above) */
        if (TL > 0) activation_backward(nb->dz0, cols, nb->da0, cols, nb->a0, cols, B, cols, act);
        input_layer_backward(m, net, nb, grad, emb_grad, batch);
        return;
    }

    int U1 = net->width[0], U = mtr_net_expert_out(net);
    float *dh = L == 1 ? nb->da0 : nb->dact[L - 1];
    int ldh = L == 1 ? cols : E * U;
    const float *h = L == 1 ? nb->a0 : nb->act[L - 1];
    /* mixtures: gradients to the gate probabilities (in da0's gate part) and to the experts */
    for (int g = 0; g < net->n_gates; g++)
        mixture_backward(nb->da0 + E * U1 + g * E, cols, dh, ldh, nb->dmix + g * U, net->n_tasks * U,
                         nb->a0 + E * U1 + g * E, cols, h, ldh, B, E, U);

    /* further expert layers, last to first */
    for (int l = L - 1; l >= 1; l--) {
        int in = net->width[l - 1], out = net->width[l];
        zero_rows(nb->dz[l], B, E * out);
        activation_backward(nb->dz[l], E * out, nb->dact[l], E * out, nb->act[l], E * out, B, E * out, act);
        const float *src = l == 1 ? nb->a0 : nb->act[l - 1];
        int ld_src = l == 1 ? cols : E * in;
        float *dsrc = l == 1 ? nb->da0 : nb->dact[l - 1];
        const float *w = P + T[net->t_layer_w[l]].offset;
        float *dw = grad + T[net->t_layer_w[l]].offset, *db = grad + T[net->t_layer_b[l]].offset;
        for (int e = 0; e < E; e++)
            dense_backward(dsrc + e * in, ld_src, dw + (size_t)e * in * out, out, db + e * out,
                           nb->dz[l] + e * out, E * out, src + e * in, ld_src, w + (size_t)e * in * out, out,
                           B, in, out);
    }

    /* input layer: pre-activation gradients of the expert units and the gate logits */
    activation_backward(nb->dz0, cols, nb->da0, cols, nb->a0, cols, B, E * U1, act);
    if (net->n_gates > 0)
        softmax_backward(nb->dz0 + E * U1, cols, nb->da0 + E * U1, cols, nb->a0 + E * U1, cols, B,
                         net->n_gates, E);
    input_layer_backward(m, net, nb, grad, emb_grad, batch);
}

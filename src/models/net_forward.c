/* net_forward.c - forward pass of one net over a batch (architecture in model.h). */
#include <string.h>

#include "models/net_pass.h"
#include "ops/embedding_projection.h"
#include "ops/ops.h"

/* The expert stack's output: its buffer and row stride. With one layer it is the expert part of a0. */
static const float *expert_output(const mtr_net *net, const mtr_net_buffers *nb, int *ld) {
    int L = net->n_layers;
    if (L == 1) {
        *ld = net->input_cols;
        return nb->a0;
    }
    *ld = net->n_experts * net->width[L - 1];
    return nb->act[L - 1];
}

/* What task t's first tower layer after the input layer reads: its block of a0 (no bottom), its gate's
 * mixture, or the expert output when there is no gate. */
const float *mtr_net_tower_stem(const mtr_net *net, const mtr_net_buffers *nb, int t, int *ld, int *width) {
    if (net->n_layers == 0) {
        *ld = net->input_cols;
        *width = mtr_net_stem_width(net);
        return nb->a0 + (size_t)t * *width;
    }
    *width = mtr_net_expert_out(net);
    if (net->n_gates == 0) return expert_output(net, nb, ld);
    int U = *width, mix_block = net->n_gates == 1 ? 0 : t;
    *ld = net->n_tasks * U;
    return nb->mix + (size_t)mix_block * U;
}

/* x = [embeddings | numeric] and a0 = x W_in + b; the embedding part goes through per-row
 * projections or, on the dense path, a gather and one GEMM. */
static void input_layer_forward(const mtr_model *m, const mtr_net *net, mtr_net_buffers *nb,
                                const mtr_batch *batch) {
    int B = batch->n_rows;
    const float *numeric = batch->numeric;
    const float *P = m->params;
    const mtr_tensor *T = m->tensors;
    int D = net->input_dim, F = net->n_fields, K = net->emb_dim, cols = net->input_cols;
    if (net->n_numeric > 0)
        for (int b = 0; b < B; b++)
            memcpy(nb->x + (size_t)b * D + F * K, numeric + (size_t)b * net->n_numeric,
                   (size_t)net->n_numeric * sizeof(float));
    nb->factored = 0;
    if (F > 0) {
        uint32_t distinct = embedding_projection_collect(&nb->proj, &net->layout, batch->id_start, batch->ids, B);
        nb->factored = m->input_path == MTR_INPUT_PROJECTED ||
                       (m->input_path == MTR_INPUT_AUTO &&
                        (distinct <= MTR_PROJECTION_MAX_DISTINCT * nb->proj.n_entries ||
                         mtr_projection_whole_table(&nb->proj)));
    }
    const float *w_in = P + T[net->t_input_w].offset, *b_in = P + T[net->t_input_b].offset;
    const float *table = P + T[net->t_embedding].offset;
    if (nb->factored) {
        /* numeric rows of W by GEMM, embedding rows by per-row projections */
        dense_forward(nb->a0, cols, nb->x + F * K, D, w_in + (size_t)F * K * cols, cols, b_in, B,
                      net->n_numeric, cols);
        embedding_projection_forward(&nb->proj, nb->a0, cols, table, w_in, cols, B);
    } else {
        if (F > 0) embedding_bag_forward(&net->layout, batch->id_start, batch->ids, nb->x, D, table, K, B);
        dense_forward(nb->a0, cols, nb->x, D, w_in, cols, b_in, B, D, cols);
    }
}

void mtr_net_forward(const mtr_model *m, const mtr_net *net, mtr_net_buffers *nb, const mtr_batch *batch) {
    int B = batch->n_rows;
    const float *P = m->params;
    const mtr_tensor *T = m->tensors;
    int E = net->n_experts, cols = net->input_cols;
    mtr_activation act = m->cfg.activation;
    input_layer_forward(m, net, nb, batch);

    if (net->n_layers == 0) {
        /* a0 holds the towers' first layers, or the outputs themselves when towers have no layers */
        if (net->n_tower_layers > 0) activation_forward(nb->a0, cols, nb->a0, cols, B, cols, act);
    } else {
        int U1 = net->width[0];
        activation_forward(nb->a0, cols, nb->a0, cols, B, E * U1, act);
        if (net->n_gates > 0) softmax_forward(nb->a0 + E * U1, cols, nb->a0 + E * U1, cols, B, net->n_gates, E);
        /* further expert layers, one GEMM per expert on its column block */
        for (int l = 1; l < net->n_layers; l++) {
            int in = net->width[l - 1], out = net->width[l];
            const float *src = l == 1 ? nb->a0 : nb->act[l - 1];
            int ld_src = l == 1 ? cols : E * in;
            const float *w = P + T[net->t_layer_w[l]].offset, *bias = P + T[net->t_layer_b[l]].offset;
            for (int e = 0; e < E; e++)
                dense_forward(nb->act[l] + e * out, E * out, src + e * in, ld_src, w + (size_t)e * in * out, out,
                              bias + e * out, B, in, out);
            activation_forward(nb->act[l], E * out, nb->act[l], E * out, B, E * out, act);
        }
        /* mixtures: one per gate */
        if (net->n_gates > 0) {
            int ldh, U = mtr_net_expert_out(net);
            const float *h = expert_output(net, nb, &ldh);
            for (int g = 0; g < net->n_gates; g++)
                mixture_forward(nb->mix + g * U, net->n_tasks * U, nb->a0 + E * U1 + g * E, cols, h, ldh, B, E, U);
        }
    }

    /* towers */
    int start = mtr_net_tower_start(net), TL = net->n_tower_layers;
    for (int t = 0; t < net->n_tasks; t++) {
        int g = net->task[t];
        if (start == 1 && TL == 0) {
            /* no bottom, no tower layers: the output is the input layer's column t */
            for (int b = 0; b < B; b++) nb->out[(size_t)b * nb->n_out + g] = nb->a0[(size_t)b * cols + t];
            continue;
        }
        int ld_in, width;
        const float *in = mtr_net_tower_stem(net, nb, t, &ld_in, &width);
        for (int l = start; l < TL; l++) {
            int out = net->tower_width[l];
            dense_forward(nb->tower[t][l], out, in, ld_in, P + T[net->t_tower_w[t][l]].offset, out,
                          P + T[net->t_tower_b[t][l]].offset, B, width, out);
            activation_forward(nb->tower[t][l], out, nb->tower[t][l], out, B, out, act);
            in = nb->tower[t][l];
            ld_in = out;
            width = out;
        }
        dense_forward(nb->out + g, nb->n_out, in, ld_in, P + T[net->t_tower_w[t][TL]].offset, 1,
                      P + T[net->t_tower_b[t][TL]].offset, B, width, 1);
    }
}

void mtr_net_task_scores(const mtr_model *m, const mtr_net_buffers *nb, int t, float *dst, size_t stride, int B) {
    const float *out = nb->out + t;
    size_t T = (size_t)m->n_tasks;
    if (m->kind[t] == MTR_TASK_BINARY)
        for (int b = 0; b < B; b++) dst[(size_t)b * stride] = mtr_sigmoid(out[(size_t)b * T]);
    else
        for (int b = 0; b < B; b++) dst[(size_t)b * stride] = out[(size_t)b * T];
}

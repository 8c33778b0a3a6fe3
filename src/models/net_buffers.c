/* net_buffers.c - sizing and carving one allocation into a net's activation and gradient buffers.
 * The same walk is used to count and to carve, so the two cannot disagree. */
#include <stdlib.h>
#include <string.h>

#include "models/net_pass.h"

typedef struct carver {
    float *base;  /* NULL while counting */
    size_t used;  /* floats handed out so far */
    int rows;     /* rows per matrix */
} carver;

/* Hand out a (rows, width) matrix, 64-byte aligned. */
static float *take(carver *c, int width) {
    size_t n = ((size_t)c->rows * (size_t)width + 15) & ~(size_t)15;
    float *p = c->base ? c->base + c->used : NULL;
    c->used += n;
    return p;
}

static void walk(carver *c, mtr_net_buffers *nb, const mtr_net *net, int n_out, int training) {
    int E = net->n_experts, U = mtr_net_expert_out(net);
    nb->x = take(c, net->input_dim);
    nb->a0 = take(c, net->input_cols);
    for (int l = 1; l < net->n_layers; l++) nb->act[l] = take(c, E * net->width[l]);
    nb->mix = net->n_gates > 0 ? take(c, net->n_tasks * U) : NULL;
    for (int t = 0; t < net->n_tasks; t++)
        for (int l = 0; l < net->n_tower_layers; l++) nb->tower[t][l] = take(c, net->tower_width[l]);
    nb->out = take(c, n_out);
    if (!training) return;
    nb->dx = take(c, net->n_fields * net->emb_dim);
    nb->da0 = take(c, net->input_cols);
    nb->dz0 = take(c, net->input_cols);
    for (int l = 1; l < net->n_layers; l++) {
        nb->dact[l] = take(c, E * net->width[l]);
        nb->dz[l] = take(c, E * net->width[l]);
    }
    nb->dmix = net->n_gates > 0 ? take(c, net->n_tasks * U) : NULL;
    for (int t = 0; t < net->n_tasks; t++) {
        for (int l = 0; l < net->n_tower_layers; l++) {
            nb->dtower[t][l] = take(c, net->tower_width[l]);
            nb->dtower_z[t][l] = take(c, net->tower_width[l]);
        }
    }
    nb->dout = take(c, n_out);
}

size_t mtr_net_buffers_floats(const mtr_net *net, int n_out, int max_batch, int training) {
    mtr_net_buffers scratch;
    memset(&scratch, 0, sizeof scratch);
    carver c = {NULL, 0, max_batch};
    walk(&c, &scratch, net, n_out, training);
    return c.used;
}

int mtr_net_buffers_init(mtr_net_buffers *nb, const mtr_net *net, int n_out, int max_batch,
                         uint32_t max_ids_per_row, int training) {
    memset(nb, 0, sizeof *nb);
    size_t n = mtr_net_buffers_floats(net, n_out, max_batch, training);
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) return -1;
    memset(p, 0, n * sizeof(float));
    carver c = {p, 0, max_batch};
    walk(&c, nb, net, n_out, training);
    nb->block = p;
    nb->max_batch = max_batch;
    nb->n_out = n_out;
    if (net->n_fields > 0 &&
        mtr_projection_init(&nb->proj, net->virtual_offset[net->n_fields], net->n_fields, net->emb_dim,
                            net->input_cols, max_batch, max_ids_per_row) != 0) {
        mtr_net_buffers_free(nb);
        return -1;
    }
    return 0;
}

void mtr_net_buffers_free(mtr_net_buffers *nb) {
    mtr_projection_free(&nb->proj);
    free(nb->block);
    memset(nb, 0, sizeof *nb);
}

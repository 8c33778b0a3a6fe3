/* model_init.c - deterministic weight initialisation: every tensor draws from its own stream derived
 * from the seed and the tensor's index, so adding a tensor does not change the others' values. */
#include <math.h>

#include "models/model.h"
#include "util/rng.h"

void mtr_model_init_weights(mtr_model *model, uint64_t seed) {
    for (int i = 0; i < model->n_tensors; i++) {
        const mtr_tensor *t = &model->tensors[i];
        float *w = model->params + t->offset;
        mtr_rng rng;
        mtr_rng_seed(&rng, mtr_seed_mix(seed, (uint64_t)i + 1));
        double limit;
        if (t->is_embedding) {
            limit = 0.05; /* small uniform, as Keras and PyTorch recommender code do */
        } else if (!t->decay) {
            for (size_t j = 0; j < t->size; j++) w[j] = 0.0f; /* biases */
            continue;
        } else {
            /* Glorot uniform over the last two dims (fan_in, fan_out); 3-d tensors are stacks. */
            double fan_in = (double)t->dims[t->ndim - 2], fan_out = (double)t->dims[t->ndim - 1];
            limit = sqrt(6.0 / (fan_in + fan_out));
        }
        for (size_t j = 0; j < t->size; j++) w[j] = (float)((2.0 * mtr_rng_uniform(&rng) - 1.0) * limit);
    }
}

/* fixtures.c - see fixtures.h. */
#include "fixtures.h"

#include <math.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "data/schema.h"
#include "util/rng.h"

mtr_schema *fixture_schema(mtr_task_kind second_task) {
    uint32_t vocab[3] = {5, 7, 4};
    const char *cat_names[3] = {"user", "item", "slot"};
    const char *num_names[2] = {"price", "age"};
    const char *task_names[2] = {"click", "value"};
    mtr_task_kind kinds[2] = {MTR_TASK_BINARY, second_task};
    mtr_error err;
    return mtr_schema_synthetic(3, vocab, cat_names, 2, num_names, 2, task_names, kinds, &err);
}

mtr_dataset *fixture_dataset(const mtr_schema *schema, size_t rows, uint64_t seed, int nan_every) {
    mtr_error err;
    uint32_t *rec;
    mtr_dataset *ds = mtr_dataset_alloc(rows, 3, 2, 2, &rec, &err);
    if (!ds) return NULL;
    mtr_rng rng;
    mtr_rng_seed(&rng, 12345); /* effects are fixed; rows vary with seed */
    double effect[3][8];
    for (int f = 0; f < 3; f++)
        for (int i = 0; i < 8; i++) effect[f][i] = mtr_rng_normal(&rng);
    mtr_rng_seed(&rng, seed);
    uint32_t vocab[3] = {5, 7, 4};
    for (size_t r = 0; r < rows; r++) {
        uint32_t *ids = rec + r * 7;
        float *num = (float *)(ids + 3), *lab = num + 2;
        double z = 0;
        for (int f = 0; f < 3; f++) {
            ids[f] = (uint32_t)mtr_rng_below(&rng, vocab[f]);
            z += effect[f][ids[f]];
        }
        num[0] = (float)mtr_rng_normal(&rng);
        num[1] = (float)mtr_rng_normal(&rng);
        z += 1.5 * num[0] - num[1] * num[1] * 0.5;
        lab[0] = mtr_rng_uniform(&rng) < 1.0 / (1.0 + exp(-z)) ? 1.0f : 0.0f;
        double v = 0.7 * z + 0.5 * sin(3.0 * num[1]);
        if (mtr_schema_task_kind(schema, 1) == MTR_TASK_BINARY)
            lab[1] = mtr_rng_uniform(&rng) < 1.0 / (1.0 + exp(-v)) ? 1.0f : 0.0f;
        else
            lab[1] = (float)(v + 0.1 * mtr_rng_normal(&rng));
        if (nan_every > 0 && r % (size_t)nan_every == 0) lab[1] = NAN;
    }
    return ds;
}

/* fixtures.c - see fixtures.h. */
#include "fixtures.h"

#include <math.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "data/dataset_writer.h"
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

mtr_schema *fixture_multi_schema(void) {
    uint32_t vocab[4] = {5, 6, 6, 4};
    const char *cats[4] = {"user", "tags", "liked", "slot"}, *nums[1] = {"price"}, *tasks[2] = {"click", "buy"};
    unsigned char multi[4] = {0, 1, 1, 0}, mean[4] = {0, 1, 0, 0};
    int table[4] = {0, 1, 1, 2};
    mtr_schema_synthetic_desc d = {4, vocab, cats, multi, mean, table, 1, nums, 2, tasks, NULL, 0, NULL};
    mtr_error err;
    return mtr_schema_synthetic_ex(&d, &err);
}

mtr_dataset *fixture_multi_dataset(const mtr_schema *schema, size_t rows, uint64_t seed, const char *path) {
    mtr_error err;
    mtr_dataset_writer *w = mtr_dataset_writer_open(path, schema, &err);
    if (!w) return NULL;
    mtr_rng rng;
    mtr_rng_seed(&rng, seed);
    for (size_t r = 0; r < rows; r++) {
        uint32_t start[5], ids[8];
        int n = 0;
        start[0] = 0;
        ids[n++] = (uint32_t)mtr_rng_below(&rng, 5);
        start[1] = (uint32_t)n;
        int tags = (int)mtr_rng_below(&rng, 4), liked = (int)mtr_rng_below(&rng, 3);
        double z = 0.3 * ids[0] - 0.6;
        for (int i = 0; i < tags; i++) ids[n] = (uint32_t)mtr_rng_below(&rng, 6), z += 0.4 * ids[n++] - 1.0;
        start[2] = (uint32_t)n;
        for (int i = 0; i < liked; i++) ids[n] = (uint32_t)mtr_rng_below(&rng, 6), z -= 0.2 * ids[n++];
        start[3] = (uint32_t)n;
        ids[n++] = (uint32_t)mtr_rng_below(&rng, 4);
        start[4] = (uint32_t)n;
        float num = (float)mtr_rng_normal(&rng), labels[2];
        z += num;
        labels[0] = mtr_rng_uniform(&rng) < 1 / (1 + exp(-z)) ? 1.0f : 0.0f;
        labels[1] = mtr_rng_uniform(&rng) < 1 / (1 + exp(1.0 - z)) ? 1.0f : 0.0f;
        if (mtr_dataset_writer_add(w, start, ids, &num, labels, NULL, &err) != 0) {
            mtr_dataset_writer_abort(w);
            return NULL;
        }
    }
    if (mtr_dataset_writer_commit(w, &err) != 0) return NULL;
    return mtr_dataset_open(path, schema, &err);
}

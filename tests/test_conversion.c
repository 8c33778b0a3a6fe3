/* test_conversion.c - the ESMM paper's estimators: sample selection of each method (exact row counts),
 * the outputs' identities (pCTCVR = pCTR x pCVR; DIVISION's pCVR = pCTCVR / pCTR clipped), and that the
 * entire-space estimators learn a planted conversion signal. */
#include <math.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "data/schema.h"
#include "test.h"
#include "util/rng.h"

/* 3 fields; click ~ s(zc), counterfactual conversion ~ s(zv), purchase = click and conversion. */
static mtr_dataset *impressions(size_t n, uint64_t seed, size_t *clicks, size_t *purchases) {
    mtr_error err;
    uint32_t *rec;
    mtr_dataset *ds = mtr_dataset_alloc(n, 3, 1, 2, &rec, &err);
    mtr_rng rng;
    mtr_rng_seed(&rng, seed);
    *clicks = *purchases = 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t *ids = rec + r * 6;
        float *num = (float *)(ids + 3), *lab = num + 1;
        for (int f = 0; f < 3; f++) ids[f] = (uint32_t)mtr_rng_below(&rng, 6);
        num[0] = (float)mtr_rng_normal(&rng);
        double zc = -2.0 + 0.8 * ids[0] - 0.5 * ids[1] + 0.5 * num[0];
        double zv = -1.0 + 0.7 * ids[2] - 0.6 * ids[0];
        int click = mtr_rng_uniform(&rng) < 1 / (1 + exp(-zc));
        int conv = mtr_rng_uniform(&rng) < 1 / (1 + exp(-zv));
        lab[0] = (float)click;
        lab[1] = (float)(click && conv);
        *clicks += (size_t)click;
        *purchases += (size_t)(click && conv);
    }
    return ds;
}

static mtr_schema *impression_schema(void) {
    uint32_t vocab[3] = {6, 6, 6};
    const char *cats[3] = {"user", "item", "shop"}, *nums[1] = {"price"}, *tasks[2] = {"click", "purchase"};
    mtr_task_kind kinds[2] = {MTR_TASK_BINARY, MTR_TASK_BINARY};
    mtr_error err;
    return mtr_schema_synthetic(3, vocab, cats, 1, nums, 2, tasks, kinds, &err);
}

TEST(conversion_methods_select_train_and_predict) {
    mtr_schema *schema = impression_schema();
    size_t clicks, purchases;
    mtr_dataset *ds = impressions(20000, 5, &clicks, &purchases);
    mtr_view all = mtr_view_all(ds);
    CHECK(clicks > 1000 && purchases > 100);
    mtr_train_config tc;
    mtr_train_config_default(&tc);
    tc.max_epochs = 3;
    tc.batch_size = 256;
    tc.learning_rate = 0.01f;
    mtr_error err;
    mtr_cvr_config base;
    mtr_cvr_config_default(&base, MTR_CVR_BASE);
    base.model.embedding_dim = 4;
    base.model.n_tower_layers = 1;
    base.model.tower_layers[0] = 8;
    mtr_model *ctr = mtr_cvr_train_ctr(schema, &base, &all, &tc, &err);
    CHECK_MSG(ctr != NULL, "%s", err.message);
    float *p1 = malloc(20000 * sizeof(float)), *p2 = malloc(20000 * sizeof(float)), *p3 = malloc(20000 * sizeof(float));
    float *labels = malloc(20000 * 2 * sizeof(float));
    for (size_t r = 0; r < 20000; r++) {
        labels[2 * r] = mtr_dataset_label(ds, r, 0);
        labels[2 * r + 1] = mtr_dataset_label(ds, r, 1);
    }
    for (int method = 0; method < MTR_CVR_METHODS; method++) {
        mtr_cvr_config cfg = base;
        cfg.method = (mtr_cvr_method)method;
        mtr_cvr_model *m = mtr_cvr_train(schema, &cfg, &all, &tc, ctr, &err);
        CHECK_MSG(m != NULL, "%s: %s", mtr_cvr_method_name(cfg.method), err.message);
        if (!m) continue;
        size_t rows = mtr_cvr_training_rows(m);
        switch (cfg.method) {
        case MTR_CVR_BASE: CHECK_EQ_INT(rows, clicks); break;
        case MTR_CVR_OVERSAMPLING: /* 4 more copies of the purchases in the fitted 90 % of the clicks */
            CHECK_MSG((rows - clicks) % 4 == 0 && rows - clicks < 4 * purchases &&
                          rows - clicks > 4 * (size_t)(0.8 * (double)purchases),
                      "oversampling rows %zu (clicks %zu, purchases %zu)", rows, clicks, purchases);
            break;
        case MTR_CVR_AMAN:
            CHECK_MSG(fabs((double)rows - clicks - 0.1 * (20000.0 - clicks)) < 4 * sqrt(0.09 * (20000.0 - clicks)),
                      "aman rows %zu", rows);
            break;
        case MTR_CVR_UNBIAS: CHECK(rows > 0 && rows < clicks); break;
        default: CHECK_EQ_INT(rows, 20000);
        }
        CHECK(mtr_cvr_predict(m, &all, p1, p2, p3, 1, &err) == 0);
        int identity_ok = 1;
        for (size_t i = 0; i < 20000; i++) {
            if (cfg.method == MTR_CVR_DIVISION) {
                float want = fminf(p3[i] / p1[i], 1.0f);
                if (fabsf(p2[i] - want) > 1e-6f * fmaxf(1.0f, want)) identity_ok = 0;
            } else if (p3[i] != p1[i] * p2[i]) {
                identity_ok = 0;
            }
            if (!(p1[i] >= 0 && p1[i] <= 1 && p2[i] >= 0 && p2[i] <= 1)) identity_ok = 0;
        }
        CHECK_MSG(identity_ok, "%s: output identity broken", mtr_cvr_method_name(cfg.method));
        mtr_conversion_metrics cm;
        mtr_conversion_metrics_compute(p1, 1, p2, 1, labels, labels + 1, 2, NULL, NULL, 1, 20000, &cm);
        CHECK_MSG(cm.ctr_auc > 0.7, "%s: CTR AUC %.3f", mtr_cvr_method_name(cfg.method), cm.ctr_auc);
        CHECK_MSG(cm.cvr_auc > 0.6, "%s: CVR AUC %.3f", mtr_cvr_method_name(cfg.method), cm.cvr_auc);
        CHECK_MSG(cm.ctcvr_auc > 0.7, "%s: CTCVR AUC %.3f", mtr_cvr_method_name(cfg.method), cm.ctcvr_auc);
        mtr_cvr_free(m);
    }
    mtr_cvr_method parsed;
    CHECK(mtr_cvr_method_parse("esmm-ns", &parsed) == 0 && parsed == MTR_CVR_ESMM_NS);
    CHECK(mtr_cvr_method_parse("ESMM", &parsed) == -1);
    free(p1), free(p2), free(p3), free(labels);
    mtr_model_free(ctr);
    mtr_dataset_free(ds);
    mtr_schema_free(schema);
}

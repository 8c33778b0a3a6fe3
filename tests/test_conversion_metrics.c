/* test_conversion_metrics.c - each conversion metric over its own sample space, by hand. */
#include <math.h>

#include "mtrank.h"
#include "test.h"

TEST(conversion_metrics_use_the_right_sample_spaces) {
    /* 6 impressions; clicked rows 0, 1, 2; purchase only on row 1 */
    float pctr[6] = {0.9f, 0.8f, 0.7f, 0.1f, 0.2f, 0.3f};
    float pcvr[6] = {0.1f, 0.5f, 0.2f, 0.9f, 0.05f, 0.3f};
    float click[6] = {1, 1, 1, 0, 0, 0}, buy[6] = {0, 1, 0, 0, 0, 0};
    float cf[6] = {0, 1, 0, 1, 0, 0}, truth[6] = {0.1f, 0.6f, 0.2f, 0.7f, 0.1f, 0.2f};
    mtr_conversion_metrics m;
    mtr_conversion_metrics_compute(pctr, 1, pcvr, 1, click, buy, 1, cf, truth, 1, 6, &m);
    CHECK_EQ_INT(m.impressions, 6);
    CHECK_EQ_INT(m.clicks, 3);
    CHECK_EQ_INT(m.purchases, 1);
    CHECK_NEAR(m.ctr_auc, 1.0, 1e-12);            /* every clicked pCTR above every unclicked */
    CHECK_NEAR(m.cvr_auc, 1.0, 1e-12);            /* on clicked rows: 0.5 beats 0.1 and 0.2 */
    /* CTCVR scores: .09 .40 .14 .09 .01 .09; the purchase (.40) is the top one */
    CHECK_NEAR(m.ctcvr_auc, 1.0, 1e-12);
    /* entire space vs counterfactuals: positives rows 1 (.5) and 3 (.9); negatives .1 .2 .05 .3 -> all below */
    CHECK_NEAR(m.cvr_auc_entire, 1.0, 1e-12);
    CHECK_NEAR(m.mean_pctr, 0.5, 1e-6);
    CHECK_NEAR(m.click_rate, 0.5, 1e-12);
    CHECK_NEAR(m.mean_pcvr_clicked, 0.8 / 3, 1e-6);
    CHECK_NEAR(m.cvr_clicked, 1.0 / 3, 1e-12);
    CHECK_NEAR(m.mean_true_pcvr, 1.9 / 6, 1e-6);
    /* a pCVR that ranks the unclicked counterfactual converter last: entire-space AUC drops, clicked AUC not */
    pcvr[3] = 0.0f;
    mtr_conversion_metrics_compute(pctr, 1, pcvr, 1, click, buy, 1, cf, truth, 1, 6, &m);
    CHECK_NEAR(m.cvr_auc, 1.0, 1e-12);
    CHECK_NEAR(m.cvr_auc_entire, 0.5, 1e-12); /* row 1 beats all 4 negatives, row 3 beats none */
    /* without counterfactuals the entire-space AUC is NaN; NaN labels are skipped */
    click[5] = NAN;
    mtr_conversion_metrics_compute(pctr, 1, pcvr, 1, click, buy, 1, NULL, NULL, 1, 6, &m);
    CHECK(isnan(m.cvr_auc_entire) && isnan(m.mean_true_pcvr));
    CHECK_EQ_INT(m.impressions, 5);
}

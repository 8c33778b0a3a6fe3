/* conversion_metrics.c - CTR, CVR and CTCVR metrics each over its own sample space: CVR AUC is measured
 * on clicked impressions (the ESMM paper's definition), and, on simulated data, also over the entire
 * impression space against the counterfactual conversions. Built on the exact AUC of metrics.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"

void mtr_conversion_metrics_compute(const float *pctr, size_t pctr_stride, const float *pcvr,
                                    size_t pcvr_stride, const float *click, const float *purchase,
                                    size_t label_stride, const float *cf_purchase, const float *true_pcvr,
                                    size_t truth_stride, size_t n, mtr_conversion_metrics *out) {
    memset(out, 0, sizeof *out);
    out->ctr_auc = out->cvr_auc = out->ctcvr_auc = out->cvr_auc_entire = NAN;
    out->mean_true_pcvr = NAN;
    /* compact copies: all impressions (pCTR, pCVR, pCTCVR, labels) and the clicked subset */
    float *buf = malloc((n ? n : 1) * 8 * sizeof *buf);
    if (!buf) return;
    float *a_ctr = buf, *a_cvr = buf + n, *a_ctcvr = buf + 2 * n, *a_click = buf + 3 * n;
    float *a_buy = buf + 4 * n, *a_cf = buf + 5 * n, *c_cvr = buf + 6 * n, *c_buy = buf + 7 * n;
    size_t m = 0, k = 0;
    double s_ctr = 0, s_click = 0, s_cvr_all = 0, s_true = 0, s_ctcvr = 0, s_buy = 0, s_cvr_c = 0, s_buy_c = 0;
    for (size_t i = 0; i < n; i++) {
        float y = click[i * label_stride], z = purchase[i * label_stride];
        if (isnan(y) || isnan(z)) continue;
        float p1 = pctr[i * pctr_stride], p2 = pcvr[i * pcvr_stride];
        a_ctr[m] = p1, a_cvr[m] = p2, a_ctcvr[m] = p1 * p2, a_click[m] = y, a_buy[m] = z;
        a_cf[m] = cf_purchase ? cf_purchase[i * truth_stride] : NAN;
        s_ctr += p1, s_click += y, s_cvr_all += p2, s_ctcvr += (double)p1 * p2, s_buy += z;
        if (true_pcvr) s_true += true_pcvr[i * truth_stride];
        if (y >= 0.5f) {
            c_cvr[k] = p2, c_buy[k] = z;
            s_cvr_c += p2, s_buy_c += z;
            k++;
        }
        m++;
    }
    out->impressions = m;
    out->clicks = k;
    out->purchases = (size_t)s_buy;
    if (m > 0) {
        out->ctr_auc = mtr_auc(a_ctr, a_click, m, 1);
        out->ctcvr_auc = mtr_auc(a_ctcvr, a_buy, m, 1);
        if (cf_purchase) out->cvr_auc_entire = mtr_auc(a_cvr, a_cf, m, 1);
        out->mean_pctr = s_ctr / m, out->click_rate = s_click / m;
        out->mean_pcvr_all = s_cvr_all / m, out->mean_pctcvr = s_ctcvr / m, out->purchase_rate = s_buy / m;
        if (true_pcvr) out->mean_true_pcvr = s_true / m;
    }
    if (k > 0) {
        out->cvr_auc = mtr_auc(c_cvr, c_buy, k, 1);
        out->mean_pcvr_clicked = s_cvr_c / k, out->cvr_clicked = s_buy_c / k;
    }
    free(buf);
}

/* metrics.c - evaluation metrics of one task's scores against its labels: exact ROC AUC (tied scores
 * count half), log loss, mean squared error, R^2 and the means. A NaN label marks a row without a
 * label and is skipped everywhere; a binary label counts as positive when it is >= 0.5 (labels are 0
 * or 1 in practice). Sums are accumulated in double. Nothing here prints; mtr_auc allocates one block
 * per call (8 bytes per labelled row: once per evaluation, not per batch) and returns NaN if that fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"

#define LOG_LOSS_EPS 1e-7 /* probabilities are clamped to [eps, 1 - eps] so one bad score stays finite */

static int is_positive(float label) {
    return label >= 0.5f;
}

/* Map a float to a 32-bit key whose unsigned order is the float order: positives get the sign bit
 * set, negatives are inverted (so more negative sorts lower). -0 is mapped as +0 so the two tie, as
 * they compare equal. NaN never gets here. */
static uint32_t order_key(float x) {
    uint32_t u;
    if (x == 0.0f) x = 0.0f;
    memcpy(&u, &x, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* Stable LSD radix sort of 32-bit keys in three passes of 11, 11 and 10 bits (n >= 1). A pass in
 * which every key has the same digit is skipped, which is common: scores in (0,1) share their top
 * bits. Returns the buffer that holds the result, `keys` or `tmp`. */
static uint32_t *radix_sort(uint32_t *keys, uint32_t *tmp, size_t n, size_t (*hist)[2048]) {
    memset(hist, 0, 3 * sizeof *hist);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = keys[i];
        hist[0][k & 2047]++;
        hist[1][(k >> 11) & 2047]++;
        hist[2][k >> 22]++;
    }
    uint32_t *src = keys, *dst = tmp;
    for (int d = 0; d < 3; d++) {
        size_t *h = hist[d];
        int shift = 11 * d;
        if (h[(src[0] >> shift) & 2047] == n) continue;
        size_t sum = 0;
        for (int b = 0; b < 2048; b++) {
            size_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) dst[h[(src[i] >> shift) & 2047]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* Exact AUC: sort the positives' and the negatives' score keys separately, then walk both:
 * U = sum over positives of (negatives scored lower) + half (negatives tied). */
double mtr_auc(const float *scores, const float *labels, size_t n, size_t stride) {
    if (n == 0 || stride == 0) return NAN;
    size_t pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++) {
        float y = labels[i * stride];
        if (isnan(y)) continue;
        if (isnan(scores[i * stride])) return NAN; /* the ranking is undefined */
        if (is_positive(y)) pos++;
        else neg++;
    }
    if (pos == 0 || neg == 0) return NAN;

    size_t m = pos + neg, hist_bytes = 3 * 2048 * sizeof(size_t);
    if (m > (SIZE_MAX - hist_bytes) / (2 * sizeof(uint32_t))) return NAN;
    void *block = malloc(hist_bytes + 2 * m * sizeof(uint32_t));
    if (!block) return NAN;
    size_t(*hist)[2048] = block;
    uint32_t *keys = (uint32_t *)(void *)((char *)block + hist_bytes), *tmp = keys + m;
    uint32_t *pk = keys, *nk = keys + pos; /* positives, then negatives */
    size_t p = 0, q = 0;
    for (size_t i = 0; i < n; i++) {
        float y = labels[i * stride];
        if (isnan(y)) continue;
        if (is_positive(y)) pk[p++] = order_key(scores[i * stride]);
        else nk[q++] = order_key(scores[i * stride]);
    }
    const uint32_t *sp = radix_sort(pk, tmp, pos, hist);
    const uint32_t *sn = radix_sort(nk, tmp + pos, neg, hist);

    /* 2U in integers: exact while 2*pos*neg < 2^64, so for any input below 2^32 labelled rows. */
    uint64_t twice_u = 0;
    size_t below = 0, upto = 0; /* negatives with key < and <= the current positive key */
    for (size_t i = 0; i < pos;) {
        uint32_t key = sp[i];
        uint64_t c = 0;
        for (; i < pos && sp[i] == key; i++) c++;
        while (below < neg && sn[below] < key) below++;
        if (upto < below) upto = below;
        while (upto < neg && sn[upto] == key) upto++;
        twice_u += c * (2 * (uint64_t)below + (upto - below));
    }
    free(block);
    return (double)twice_u / (2.0 * (double)pos * (double)neg);
}

void mtr_task_metrics_compute(mtr_task_kind kind, const float *scores, const float *labels, size_t n,
                              size_t stride, mtr_task_metrics *out) {
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->auc = out->log_loss = out->mse = out->r2 = out->mean_score = out->mean_label = NAN;
    if (stride == 0) return;

    size_t count = 0, positives = 0;
    double sum_score = 0, sum_label = 0, sse = 0, log_loss = 0;
    for (size_t i = 0; i < n; i++) {
        double y = labels[i * stride], s = scores[i * stride];
        if (isnan(y)) continue;
        count++;
        sum_score += s;
        sum_label += y;
        sse += (s - y) * (s - y);
        if (kind == MTR_TASK_BINARY) {
            positives += is_positive((float)y);
            double p = s < LOG_LOSS_EPS ? LOG_LOSS_EPS : s > 1 - LOG_LOSS_EPS ? 1 - LOG_LOSS_EPS : s;
            if (y > 0) log_loss -= y * log(p); /* with 0/1 labels one log per row, not two */
            if (y < 1) log_loss -= (1 - y) * log(1 - p);
        }
    }
    out->count = count;
    out->positives = positives;
    if (count == 0) return;
    double mean_label = sum_label / (double)count;
    out->mean_score = sum_score / (double)count;
    out->mean_label = mean_label;
    out->mse = sse / (double)count;
    if (kind == MTR_TASK_BINARY) {
        out->log_loss = log_loss / (double)count;
        out->auc = mtr_auc(scores, labels, n, stride);
    } else {
        double sst = 0; /* second pass around the mean: no cancellation from sum of squares */
        for (size_t i = 0; i < n; i++) {
            double y = labels[i * stride];
            if (!isnan(y)) sst += (y - mean_label) * (y - mean_label);
        }
        out->r2 = sst > 0 ? 1.0 - sse / sst : NAN;
    }
}

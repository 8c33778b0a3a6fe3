/* list_metrics.c - metrics of ranked lists with graded relevance: NDCG@k, reciprocal rank, precision@k,
 * one list at a time or averaged over query groups. Exact (sums in double) and deterministic: items are
 * ranked by score, and every run of tied scores is scored by its expectation over the orders of the run,
 * so the input order never matters (McSherry & Najork, ECIR 2008). Sorting is a stable radix sort on the
 * scores' bits, so a list costs O(n) plus a small constant. Nothing here prints. */
#include "eval/list_metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"
#include "util/error.h"

/* Lists this short are sorted by insertion; above, radix passes pay for their 256-entry counts. */
#define INSERTION_MAX 48

/* A 32-bit key whose unsigned order is the float order (-0 maps as +0, so the two tie). */
static uint32_t order_key(float x) {
    uint32_t u;
    if (x == 0.0f) x = 0.0f;
    memcpy(&u, &x, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

void mtr_list_order(const float *v, size_t n, uint32_t *order, uint64_t *scratch) {
    /* key = (descending value key) << 32 | index: ascending keys are the wanted order, all distinct */
    uint64_t *a = scratch, *tmp = scratch + n;
    for (size_t i = 0; i < n; i++) a[i] = ((uint64_t)~order_key(v[i]) << 32) | (uint64_t)i;
    if (n <= INSERTION_MAX) {
        for (size_t i = 1; i < n; i++) {
            uint64_t k = a[i];
            size_t j = i;
            for (; j > 0 && a[j - 1] > k; j--) a[j] = a[j - 1];
            a[j] = k;
        }
    } else {
        /* LSD radix on the upper 32 bits, 8 bits a pass; stable, and the keys start in index order, so
         * equal values stay in index order. Passes where every key has the same digit are skipped. */
        size_t count[4][256];
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            for (int d = 0; d < 4; d++) count[d][(a[i] >> (32 + 8 * d)) & 255]++;
        uint64_t *src = a, *dst = tmp;
        for (int d = 0; d < 4; d++) {
            int shift = 32 + 8 * d;
            if (count[d][(src[0] >> shift) & 255] == n) continue;
            size_t sum = 0;
            for (int b = 0; b < 256; b++) {
                size_t c = count[d][b];
                count[d][b] = sum;
                sum += c;
            }
            for (size_t i = 0; i < n; i++) dst[count[d][(src[i] >> shift) & 255]++] = src[i];
            uint64_t *t = src;
            src = dst;
            dst = t;
        }
        a = src;
    }
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)a[i];
}

double mtr_list_dcg(const float *scores, const float *relevance, const uint32_t *order, size_t n,
                    size_t k) {
    size_t kk = (k == 0 || k > n) ? n : k;
    double dcg = 0.0;
    for (size_t p = 0; p < kk;) {
        float s = scores[order[p]];
        size_t q = p + 1;
        while (q < n && scores[order[q]] == s) q++;
        /* run [p, q): each item's expected discount is the mean over the run's positions below kk */
        double gain = 0.0, disc = 0.0;
        for (size_t r = p; r < q; r++) gain += mtr_list_gain(relevance[order[r]]);
        for (size_t r = p; r < q && r < kk; r++) disc += mtr_list_discount(r);
        dcg += gain * disc / (double)(q - p);
        p = q;
    }
    return dcg;
}

double mtr_list_ideal_dcg(const float *relevance, size_t n, size_t k, uint32_t *order, uint64_t *scratch) {
    mtr_list_order(relevance, n, order, scratch);
    size_t kk = (k == 0 || k > n) ? n : k;
    double dcg = 0.0;
    for (size_t p = 0; p < kk; p++) dcg += mtr_list_gain(relevance[order[p]]) * mtr_list_discount(p);
    return dcg;
}

/* ---------------------------------------------------------------- one list, with work space */

typedef struct list_ws {
    uint32_t *order;   /* (cap) ranking */
    uint64_t *scratch; /* (2 cap) sort keys */
} list_ws;

static int ws_alloc(list_ws *ws, size_t cap) {
    if (cap == 0) cap = 1;
    if (cap > SIZE_MAX / (2 * sizeof(uint64_t) + sizeof(uint32_t))) return -1;
    ws->order = malloc(cap * sizeof *ws->order);
    ws->scratch = malloc(2 * cap * sizeof *ws->scratch);
    if (ws->order && ws->scratch) return 0;
    free(ws->order);
    free(ws->scratch);
    return -1;
}

static void ws_free(list_ws *ws) {
    free(ws->order);
    free(ws->scratch);
}

static int relevance_ok(float r) {
    return isfinite(r) && r >= 0.0f;
}

/* Index of the first bad item, or n: NaN score or a relevance that is not finite and >= 0. */
static size_t first_bad(const float *scores, const float *relevance, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (isnan(scores[i]) || !relevance_ok(relevance[i])) return i;
    return n;
}

static int any_relevant(const float *relevance, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (relevance[i] > 0.0f) return 1;
    return 0;
}

/* NDCG@k with the ranking already in ws->order; the ideal order then overwrites it. */
static double ndcg_ordered(const float *scores, const float *relevance, size_t n, size_t k, list_ws *ws) {
    double dcg = mtr_list_dcg(scores, relevance, ws->order, n, k);
    double ideal = mtr_list_ideal_dcg(relevance, n, k, ws->order, ws->scratch);
    return ideal > 0.0 ? dcg / ideal : 1.0;
}

/* Expected 1 / rank of the first relevant item over the orders of tied runs. */
static double rr_ordered(const float *scores, const float *relevance, size_t n, const uint32_t *order) {
    for (size_t p = 0; p < n;) {
        float s = scores[order[p]];
        size_t q = p + 1;
        while (q < n && scores[order[q]] == s) q++;
        size_t m = q - p, rel = 0;
        for (size_t r = p; r < q; r++) rel += relevance[order[r]] > 0.0f;
        if (rel > 0) {
            /* P(the first relevant item of the run is at offset j) = C(m-1-j, rel-1) / C(m, rel);
             * P(0) = rel / m and P(j+1) / P(j) = (m - j - rel) / (m - j - 1). */
            double prob = (double)rel / (double)m, rr = 0.0;
            for (size_t j = 0; j + rel <= m; j++) {
                rr += prob / (double)(p + j + 1);
                if (j + 1 < m) prob *= (double)(m - j - rel) / (double)(m - j - 1);
            }
            return rr;
        }
        p = q;
    }
    return 0.0;
}

/* Expected relevant items in the top k, divided by k (by n when k = 0). */
static double precision_ordered(const float *scores, const float *relevance, size_t n, size_t k,
                                const uint32_t *order) {
    size_t kk = k == 0 ? n : k;
    if (kk == 0) return 0.0;
    double hits = 0.0;
    for (size_t p = 0; p < n && p < kk;) {
        float s = scores[order[p]];
        size_t q = p + 1;
        while (q < n && scores[order[q]] == s) q++;
        size_t rel = 0;
        for (size_t r = p; r < q; r++) rel += relevance[order[r]] > 0.0f;
        size_t inside = (q <= kk ? q : kk) - p; /* positions of the run within the top kk */
        hits += (double)rel * (double)inside / (double)(q - p);
        p = q;
    }
    return hits / (double)kk;
}

/* ---------------------------------------------------------------- public */

enum { METRIC_NDCG, METRIC_RR, METRIC_PRECISION };

static double one_list(int metric, const float *scores, const float *relevance, size_t n, int k) {
    if (k < 0) return NAN;
    if (n > 0 && (!scores || !relevance)) return NAN;
    if (first_bad(scores, relevance, n) < n) return NAN;
    if (n == 0) return metric == METRIC_NDCG ? 1.0 : 0.0;
    if (n > UINT32_MAX) return NAN;
    list_ws ws;
    if (ws_alloc(&ws, n) != 0) return NAN;
    mtr_list_order(scores, n, ws.order, ws.scratch);
    double v = metric == METRIC_NDCG ? ndcg_ordered(scores, relevance, n, (size_t)k, &ws)
             : metric == METRIC_RR   ? rr_ordered(scores, relevance, n, ws.order)
                                     : precision_ordered(scores, relevance, n, (size_t)k, ws.order);
    ws_free(&ws);
    return v;
}

double mtr_ndcg(const float *scores, const float *relevance, size_t n, int k) {
    return one_list(METRIC_NDCG, scores, relevance, n, k);
}

double mtr_reciprocal_rank(const float *scores, const float *relevance, size_t n) {
    return one_list(METRIC_RR, scores, relevance, n, 0);
}

double mtr_precision_at_k(const float *scores, const float *relevance, size_t n, int k) {
    return one_list(METRIC_PRECISION, scores, relevance, n, k);
}

int mtr_list_metrics_compute(const float *scores, const float *relevance, const size_t *group_start,
                             size_t n_groups, int k, mtr_list_metrics *out, mtr_error *err) {
    memset(out, 0, sizeof *out);
    out->k = k;
    out->ndcg = out->mrr = out->precision = NAN;
    if (k < 0) return mtr_fail(err, "list metrics: k must be >= 0 (0 = whole list), got %d", k);
    if (!group_start) return mtr_fail(err, "list metrics: no group boundaries");
    if (group_start[0] != 0)
        return mtr_fail(err, "list metrics: group_start[0] must be 0, got %zu", group_start[0]);
    size_t longest = 0;
    for (size_t g = 0; g < n_groups; g++) {
        if (group_start[g + 1] < group_start[g])
            return mtr_fail(err, "list metrics: group_start[%zu] = %zu is below group_start[%zu] = %zu",
                            g + 1, group_start[g + 1], g, group_start[g]);
        size_t m = group_start[g + 1] - group_start[g];
        if (m > longest) longest = m;
    }
    size_t n = group_start[n_groups];
    if (n > 0 && (!scores || !relevance)) return mtr_fail(err, "list metrics: NULL scores or relevance");
    size_t bad = first_bad(scores, relevance, n);
    if (bad < n) {
        if (isnan(scores[bad])) return mtr_fail(err, "list metrics: row %zu: score is NaN", bad);
        return mtr_fail(err, "list metrics: row %zu: relevance %g is not a finite number >= 0", bad,
                        (double)relevance[bad]);
    }
    if (longest > UINT32_MAX)
        return mtr_fail(err, "list metrics: a group of %zu rows is longer than 2^32 - 1", longest);
    list_ws ws;
    if (ws_alloc(&ws, longest) != 0)
        return mtr_fail(err, "list metrics: out of memory for a list of %zu rows", longest);
    double sum_ndcg = 0.0, sum_rr = 0.0, sum_prec = 0.0;
    for (size_t g = 0; g < n_groups; g++) {
        size_t a = group_start[g], m = group_start[g + 1] - a;
        if (m == 0) continue;
        out->groups++;
        const float *s = scores + a, *r = relevance + a;
        if (!any_relevant(r, m)) continue;
        out->groups_relevant++;
        mtr_list_order(s, m, ws.order, ws.scratch);
        sum_rr += rr_ordered(s, r, m, ws.order);
        sum_prec += precision_ordered(s, r, m, (size_t)k, ws.order);
        sum_ndcg += ndcg_ordered(s, r, m, (size_t)k, &ws); /* last: it reuses the order buffer */
    }
    ws_free(&ws);
    if (out->groups_relevant > 0) {
        double c = (double)out->groups_relevant;
        out->ndcg = sum_ndcg / c;
        out->mrr = sum_rr / c;
        out->precision = sum_prec / c;
    }
    return 0;
}

/* gbdt_bins.c - quantile binning of features for histogram tree building: each feature's non-missing
 * values in a seeded sample of rows are sorted, cut into at most max_bins bins of about equal counts (a
 * value is never split across bins, and a heavy value gets a bin of its own when that is closer to equal
 * counts), then every training row is stored as one byte per feature. Bin 0 holds missing values.
 * Bin edges are split thresholds: the midpoint between the largest value of a bin and the smallest of
 * the next, rounded to float and kept strictly between them, so a threshold test on the raw value and
 * a test on the bin number agree for every training row. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rank/lambdamart.h"
#include "util/error.h"
#include "util/rng.h"

/* Rows binned together, feature by feature: a tile of X stays in cache while its features are searched. */
#define BIN_TILE 256

/* A 32-bit key whose unsigned order is the float order (-0 maps as +0), and back. */
static uint32_t order_key(float x) {
    uint32_t u;
    if (x == 0.0f) x = 0.0f;
    memcpy(&u, &x, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static float key_value(uint32_t k) {
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* LSD radix sort of 32-bit keys, 8 bits a pass, passes with one digit skipped; result in a. */
static void sort_u32(uint32_t *a, uint32_t *tmp, size_t n) {
    if (n < 2) return;
    size_t count[4][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 4; d++) count[d][(a[i] >> (8 * d)) & 255]++;
    uint32_t *src = a, *dst = tmp;
    for (int d = 0; d < 4; d++) {
        int shift = 8 * d;
        if (count[d][(src[0] >> shift) & 255] == n) continue;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[d][b];
            count[d][b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) dst[count[d][(src[i] >> shift) & 255]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

/* Threshold between the largest value a of one bin and the smallest c of the next (a < c): the midpoint
 * when it rounds to a float in [a, c), else a itself (adjacent floats, or infinities). */
static float edge_between(float a, float c) {
    float t = (float)(((double)a + (double)c) * 0.5);
    return (t >= a && t < c) ? t : a;
}

/* Bins for one feature from its sorted non-missing sample keys (m of them). Distinct values are
 * compacted into keys[0..nv) with their counts in counts[]. Writes upper[1 .. nb-1] and returns nb, the
 * bin count with the missing bin 0. */
static int place_edges(uint32_t *keys, uint32_t *counts, size_t m, int max_bins, float *upper) {
    size_t nv = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && keys[j] == keys[i]) j++;
        keys[nv] = keys[i];
        counts[nv++] = (uint32_t)(j - i);
        i = j;
    }
    int nb = 1;
    if (nv <= (size_t)max_bins) {
        for (size_t i = 0; i + 1 < nv; i++) upper[nb++] = edge_between(key_value(keys[i]), key_value(keys[i + 1]));
    } else {
        /* Greedy: close a bin once it holds remaining / bins_left rows, or just before a run that would
         * overshoot that target by more than stopping short of it undershoots. */
        double remaining = (double)m;
        int bins_left = max_bins;
        size_t acc = 0;
        for (size_t i = 0; i < nv; i++) {
            if (acc > 0 && bins_left > 1) {
                double target = remaining / bins_left, with = (double)(acc + counts[i]);
                if (with > target && with - target > target - (double)acc) {
                    upper[nb++] = edge_between(key_value(keys[i - 1]), key_value(keys[i]));
                    remaining -= (double)acc;
                    bins_left--;
                    acc = 0;
                }
            }
            acc += counts[i];
            if (i + 1 < nv && bins_left > 1 && (double)acc >= remaining / bins_left) {
                upper[nb++] = edge_between(key_value(keys[i]), key_value(keys[i + 1]));
                remaining -= (double)acc;
                bins_left--;
                acc = 0;
            }
        }
    }
    upper[nb++] = INFINITY; /* the last value bin takes everything above */
    return nb;
}

void mtr_gbdt_bins_free(mtr_gbdt_bins *bins) {
    if (!bins) return;
    free(bins->bin);
    free(bins->n_bins);
    free(bins->offset);
    free(bins->upper);
    memset(bins, 0, sizeof *bins);
}

int mtr_gbdt_bins_build(mtr_gbdt_bins *bins, const float *X, size_t n, int d, int max_bins,
                        size_t sample_rows, uint64_t seed, int n_threads, mtr_error *err) {
    memset(bins, 0, sizeof *bins);
    if (n == 0 || d < 1 || max_bins < 2 || max_bins > 255 || n > UINT32_MAX)
        return mtr_fail(err, "binning: bad sizes (n %zu, d %d, max_bins %d)", n, d, max_bins);
    if (n > SIZE_MAX / (size_t)d) return mtr_fail(err, "binning: %zu rows x %d features overflow", n, d);
    if (n_threads < 1) n_threads = 1;
    int feature_threads = n_threads < d ? n_threads : d;
    size_t m = (sample_rows == 0 || sample_rows >= n) ? n : sample_rows;
    size_t stride = (size_t)max_bins + 2; /* per-feature upper[] scratch: nb <= max_bins + 1 */
    bins->n = n;
    bins->d = d;
    bins->bin = malloc(n * (size_t)d);
    bins->n_bins = malloc((size_t)d * sizeof *bins->n_bins);
    bins->offset = malloc(((size_t)d + 1) * sizeof *bins->offset);
    float *edges = malloc((size_t)d * stride * sizeof *edges);
    uint32_t *rows = m < n ? malloc(m * sizeof *rows) : NULL;
    uint32_t *work = malloc((size_t)feature_threads * 2 * m * sizeof *work);
    if (!bins->bin || !bins->n_bins || !bins->offset || !edges || (m < n && !rows) || !work) {
        free(edges);
        free(rows);
        free(work);
        mtr_gbdt_bins_free(bins);
        return mtr_fail(err, "binning: out of memory for %zu rows x %d features", n, d);
    }
    if (rows) {
        /* Selection sampling (Knuth's algorithm S): m rows uniformly, in ascending order. */
        mtr_rng rng;
        mtr_rng_seed(&rng, mtr_seed_mix(seed, 0xb1b5));
        size_t taken = 0;
        for (size_t i = 0; i < n && taken < m; i++)
            if (mtr_rng_uniform(&rng) * (double)(n - i) < (double)(m - taken)) rows[taken++] = (uint32_t)i;
    }
    /* Features in parallel: thread chunk c takes features c, c + nth, ...; each has its own buffers. */
#pragma omp parallel for schedule(static, 1) num_threads(feature_threads) if (feature_threads > 1)
    for (int c = 0; c < feature_threads; c++) {
        uint32_t *keys = work + (size_t)c * 2 * m, *tmp = keys + m;
        for (int f = c; f < d; f += feature_threads) {
            size_t k = 0;
            for (size_t s = 0; s < m; s++) {
                float v = X[(size_t)(rows ? rows[s] : s) * (size_t)d + (size_t)f];
                if (!isnan(v)) keys[k++] = order_key(v);
            }
            sort_u32(keys, tmp, k);
            bins->n_bins[f] = place_edges(keys, tmp, k, max_bins, edges + (size_t)f * stride);
        }
    }
    free(rows);
    free(work);
    bins->offset[0] = 0;
    for (int f = 0; f < d; f++) bins->offset[f + 1] = bins->offset[f] + (size_t)bins->n_bins[f];
    bins->upper = malloc(bins->offset[d] * sizeof *bins->upper);
    if (!bins->upper) {
        free(edges);
        mtr_gbdt_bins_free(bins);
        return mtr_fail(err, "binning: out of memory");
    }
    for (int f = 0; f < d; f++) {
        float *up = bins->upper + bins->offset[f];
        memcpy(up, edges + (size_t)f * stride, (size_t)bins->n_bins[f] * sizeof *up);
        up[0] = NAN; /* the missing bin has no threshold */
    }
    free(edges);
    /* Every row: bin = first b >= 1 with v <= upper[b] (the last upper is +inf); NaN -> 0. A search is a
     * chain of dependent loads, so rows are taken in tiles and each feature searched across the tile:
     * consecutive searches are then independent and overlap (3x faster than row by row). */
    const float *upper = bins->upper;
    const size_t *offset = bins->offset;
    const int *n_bins = bins->n_bins;
    uint8_t *out = bins->bin;
    const size_t n_tiles = (n + BIN_TILE - 1) / BIN_TILE;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1 && n_tiles > 16)
    for (size_t tile = 0; tile < n_tiles; tile++) {
        size_t i0 = tile * BIN_TILE, i1 = i0 + BIN_TILE < n ? i0 + BIN_TILE : n;
        for (int f = 0; f < d; f++) {
            const float *up = upper + offset[f];
            const size_t len0 = (size_t)n_bins[f] - 1;
            for (size_t i = i0; i < i1; i++) {
                float v = X[i * (size_t)d + (size_t)f];
                /* branchless lower bound over upper[1 .. nb-1]; gcc emits a branch for ?:, so a mask */
                const float *base = up + 1;
                size_t len = len0;
                while (len > 1) {
                    size_t half = len >> 1;
                    base += half & (0 - (size_t)(base[half - 1] < v));
                    len -= half;
                }
                size_t b = (size_t)(base - up) + (*base < v);
                out[i * (size_t)d + (size_t)f] = isnan(v) ? 0 : (uint8_t)b;
            }
        }
    }
    return 0;
}

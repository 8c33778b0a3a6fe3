/* gen_util.h - small pieces shared by the simulators (src/gen/ccp.c, src/gen/sessions.c): Walker alias
 * tables, normal draws in bulk, Zipf and lognormal share tables, small Poisson draws, zeroed aligned
 * arrays, intercept calibration, a growing text buffer, fast CSV number formatting and an atomic text
 * file. They were ccp.c's own static helpers; moving them changed no draw and no output byte of
 * `mtrank gen ccp` (checked against files written before the move). The alias draws are inline because
 * they sit in the simulators' per-row loops. */
#ifndef MTR_GEN_GEN_UTIL_H
#define MTR_GEN_GEN_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"
#include "util/rng.h"

/* ---------------------------------------------------------------- alias tables */

/* Two draws per column: the column, then a 32-bit coin. */
typedef struct mtr_alias_entry {
    uint32_t keep;  /* keep the column when the coin is below this (probability keep / 2^32) */
    uint32_t alias; /* the other outcome; the column itself when the column is full */
} mtr_alias_entry;

/* Walker's alias method (Vose's construction): a fixed discrete distribution sampled in O(1) with one
 * memory access, which matters when the table has 500k items and does not fit in cache. */
typedef struct mtr_alias_table {
    uint32_t n;         /* outcomes */
    mtr_alias_entry *e; /* (n) */
} mtr_alias_table;

/* Build from n >= 1 non-negative weights with a positive sum; -1 when out of memory. */
int mtr_alias_build(mtr_alias_table *t, const double *w, uint32_t n);
/* Frees the entries and zeroes the table; accepts a zeroed table. */
void mtr_alias_free(mtr_alias_table *t);

/* The first half of a draw: a uniform column and its coin (split so that a block of draws can prefetch
 * the columns before resolving them). */
static inline uint32_t mtr_alias_column(const mtr_alias_table *t, mtr_rng *rng, uint32_t *coin) {
    uint32_t i = (uint32_t)mtr_rng_below(rng, t->n);
    *coin = (uint32_t)(mtr_rng_next(rng) >> 32);
    return i;
}

static inline uint32_t mtr_alias_resolve(const mtr_alias_table *t, uint32_t column, uint32_t coin) {
    mtr_alias_entry e = t->e[column];
    return coin < e.keep ? column : e.alias;
}

static inline uint32_t mtr_alias_draw(const mtr_alias_table *t, mtr_rng *rng) {
    uint32_t coin, column = mtr_alias_column(t, rng, &coin);
    return mtr_alias_resolve(t, column, coin);
}

/* w[i] = 1 / (rank_i + 1)^s with the ranks a random permutation of 0..n-1 (one shuffle of the stream), so
 * that ids say nothing about popularity; -1 when out of memory. */
int mtr_zipf_weights(double *w, uint32_t n, double s, mtr_rng *rng);
/* An alias table of those weights. */
int mtr_zipf_alias(mtr_alias_table *t, uint32_t n, double s, mtr_rng *rng);
/* Small tables (n <= 64): weights exp(sd * N(0, 1)), one mtr_rng_normal per weight. */
int mtr_lognormal_alias(mtr_alias_table *t, uint32_t n, double sd, mtr_rng *rng);

/* ---------------------------------------------------------------- draws */

/* Standard normals in pairs (Marsaglia's polar method: one log per pair, no trigonometry), for a world's
 * millions of draws; mtr_rng_normal is used where single values are drawn. An odd n discards the last
 * pair's second value. */
void mtr_normal_fill(double *x, size_t n, mtr_rng *rng);
/* n floats ~ N(0, sd^2), through a scratch block of doubles (the same draws as mtr_normal_fill in blocks
 * of 256). */
void mtr_normal_fill_float(float *x, size_t n, double sd, mtr_rng *rng);
/* Poisson(mean) by inversion, one uniform; for small means (the loop stops at 1000). */
int mtr_poisson(double mean, mtr_rng *rng);

/* ---------------------------------------------------------------- small numeric helpers of the worlds */

/* a . b over n floats, summed in float in index order (the worlds' affinities; keep the order: generated
 * data depend on it). */
static inline double mtr_gen_dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return (double)s;
}
/* x truncated to an int in [lo, hi]; NaN gives lo. */
static inline int mtr_gen_clamp_int(double x, int lo, int hi) {
    if (!(x >= lo)) return lo;
    if (x > hi) return hi;
    return (int)x;
}
static inline double mtr_gen_sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }
/* lo <= x <= hi; false for NaN (config checks). */
static inline int mtr_gen_in_range(double x, double lo, double hi) { return x >= lo && x <= hi; }

/* ---------------------------------------------------------------- memory and calibration */

/* n * size zeroed bytes, 64-byte aligned (a d = 8 pair of taste vectors is one cache line), or NULL with
 * *failed set, so that a run of allocations is checked once. Free with free(). Callers bound n * size. */
void *mtr_gen_alloc(size_t n, size_t size, int *failed);

/* Solve sum_i wt_i sigmoid(b + z_i) / sum_i wt_i = target for b in (-range, range) (wt NULL = all 1):
 * Newton steps kept inside a shrinking bracket, bisection when a step would leave it. Returns -1 when the
 * weights sum to nothing or the solution is at the edge of the range. */
int mtr_solve_intercept(const double *z, const double *wt, size_t n, double target, double range, double *out);

/* ---------------------------------------------------------------- text */

/* A growing NUL-terminated string (for spec texts). Start from {0}; the caller frees s. */
typedef struct mtr_text {
    char *s;     /* NUL-terminated once anything is added */
    size_t len;  /* bytes used, without the NUL */
    size_t cap;  /* bytes allocated */
    int failed;  /* out of memory: further additions are ignored */
} mtr_text;

void mtr_text_add(mtr_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write `text` to `path` atomically (errors name the path). */
int mtr_write_text_file(const char *path, const char *text, mtr_error *err);

/* Decimal digits of v at p; returns the end. */
char *mtr_put_u32(char *p, uint32_t v);
/* A probability in [0, 1] with 9 significant digits (enough for a float to read back exactly): fixed
 * notation down to 1e-4 ("0.0401234567"), scientific below ("1.23456789e-07"), trailing zeros dropped;
 * 0 and 1 as "0" and "1". Much faster than printf, which matters at 10^8 rows. At most 16 bytes. */
char *mtr_put_prob(char *p, float value);
/* Any finite float with 9 significant digits, so that strtof reads back the same float: fixed notation
 * from 1e-4 up to below 1e9 ("12.3456789", "30.5"), else as mtr_put_prob's scientific form or "%.9g"; a
 * '-' in front of negative values. At most 24 bytes. */
char *mtr_put_float(char *p, float value);

#endif

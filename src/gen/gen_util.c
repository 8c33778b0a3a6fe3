/* gen_util.c - helpers shared by the simulators; see gen_util.h. The draws are made in exactly the order
 * ccp.c made them when these were its static functions, so moving them changed none of its output. */
#include "gen/gen_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic_file.h"

/* ---------------------------------------------------------------- alias tables */

void mtr_alias_free(mtr_alias_table *t) {
    free(t->e);
    memset(t, 0, sizeof *t);
}

int mtr_alias_build(mtr_alias_table *t, const double *w, uint32_t n) {
    t->n = n;
    t->e = malloc((size_t)n * sizeof *t->e);
    double *prob = malloc((size_t)n * sizeof *prob);
    uint32_t *small = malloc((size_t)n * sizeof *small), *large = malloc((size_t)n * sizeof *large);
    int rc = -1;
    if (t->e && prob && small && large) {
        double sum = 0.0;
        for (uint32_t i = 0; i < n; i++) sum += w[i];
        uint32_t ns = 0, nl = 0;
        for (uint32_t i = 0; i < n; i++) {
            prob[i] = w[i] * (double)n / sum;
            t->e[i].alias = i;
            if (prob[i] < 1.0) small[ns++] = i;
            else large[nl++] = i;
        }
        while (ns > 0 && nl > 0) {
            uint32_t s = small[--ns], l = large[nl - 1];
            t->e[s].alias = l;
            prob[l] -= 1.0 - prob[s];
            if (prob[l] < 1.0) {
                nl--;
                small[ns++] = l;
            }
        }
        /* columns left over are full up to rounding; their alias is themselves */
        while (nl > 0) prob[large[--nl]] = 1.0;
        while (ns > 0) prob[small[--ns]] = 1.0;
        for (uint32_t i = 0; i < n; i++)
            t->e[i].keep = prob[i] >= 1.0 ? UINT32_MAX : (uint32_t)(prob[i] * 4294967296.0);
        rc = 0;
    }
    free(prob);
    free(small);
    free(large);
    if (rc) mtr_alias_free(t);
    return rc;
}

int mtr_zipf_weights(double *w, uint32_t n, double s, mtr_rng *rng) {
    uint32_t *rank = malloc((size_t)n * sizeof *rank);
    if (!rank) return -1;
    for (uint32_t i = 0; i < n; i++) rank[i] = i;
    mtr_rng_shuffle_u32(rng, rank, n);
    for (uint32_t i = 0; i < n; i++) w[i] = pow((double)rank[i] + 1.0, -s);
    free(rank);
    return 0;
}

int mtr_zipf_alias(mtr_alias_table *t, uint32_t n, double s, mtr_rng *rng) {
    double *w = malloc((size_t)n * sizeof *w);
    int rc = w && mtr_zipf_weights(w, n, s, rng) == 0 ? mtr_alias_build(t, w, n) : -1;
    free(w);
    return rc;
}

int mtr_lognormal_alias(mtr_alias_table *t, uint32_t n, double sd, mtr_rng *rng) {
    double w[64];
    if (n > 64) return -1;
    for (uint32_t i = 0; i < n; i++) w[i] = exp(sd * mtr_rng_normal(rng));
    return mtr_alias_build(t, w, n);
}

/* ---------------------------------------------------------------- draws */

void mtr_normal_fill(double *x, size_t n, mtr_rng *rng) {
    for (size_t i = 0; i < n; i += 2) {
        double u, v, s;
        do {
            u = 2.0 * mtr_rng_uniform(rng) - 1.0;
            v = 2.0 * mtr_rng_uniform(rng) - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        double f = sqrt(-2.0 * log(s) / s);
        x[i] = u * f;
        if (i + 1 < n) x[i + 1] = v * f;
    }
}

void mtr_normal_fill_float(float *x, size_t n, double sd, mtr_rng *rng) {
    double buf[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t m = n - i < 256 ? n - i : 256;
        mtr_normal_fill(buf, m, rng);
        for (size_t j = 0; j < m; j++) x[i + j] = (float)(sd * buf[j]);
    }
}

int mtr_poisson(double mean, mtr_rng *rng) {
    double u = mtr_rng_uniform(rng), p = exp(-mean), cdf = p;
    int k = 0;
    while (u > cdf && k < 1000) {
        k++;
        p *= mean / k;
        cdf += p;
    }
    return k;
}

/* ---------------------------------------------------------------- memory and calibration */

void *mtr_gen_alloc(size_t n, size_t size, int *failed) {
    void *p = NULL;
    size_t bytes = n * size;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        *failed = 1;
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

int mtr_solve_intercept(const double *z, const double *wt, size_t n, double target, double range, double *out) {
    double lo = -range, hi = range, b = log(target / (1.0 - target));
    double wsum = 0.0;
    for (size_t i = 0; i < n; i++) wsum += wt ? wt[i] : 1.0;
    if (!(wsum > 0.0)) return -1;
    for (int iter = 0; iter < 200; iter++) {
        double f = 0.0, df = 0.0;
        for (size_t i = 0; i < n; i++) {
            double p = mtr_gen_sigmoid(b + z[i]), wi = wt ? wt[i] : 1.0;
            f += wi * p;
            df += wi * p * (1.0 - p);
        }
        f = f / wsum - target;
        df /= wsum;
        if (fabs(f) <= 1e-12 * target) break;
        if (f > 0) hi = b;
        else lo = b;
        if (hi - lo < 1e-12) break;
        double next = df > 0 ? b - f / df : 0.5 * (lo + hi);
        b = next > lo && next < hi ? next : 0.5 * (lo + hi);
    }
    if (b <= -range + 1e-6 || b >= range - 1e-6) return -1;
    *out = b;
    return 0;
}

/* ---------------------------------------------------------------- text */

void mtr_text_add(mtr_text *t, const char *fmt, ...) {
    if (t->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->s && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->failed = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

int mtr_write_text_file(const char *path, const char *text, mtr_error *err) {
    mtr_atomic_file af;
    int rc = mtr_atomic_open(&af, path, err);
    if (rc == 0) {
        fputs(text, af.f);
        rc = mtr_atomic_commit(&af, err);
    }
    return rc;
}

/* ---------------------------------------------------------------- numbers */

char *mtr_put_u32(char *p, uint32_t v) {
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* v * 10^k for 0 <= k, with exact powers up to 10^22. */
static double times_pow10(double v, int k) {
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    while (k > 22) {
        v *= 1e22;
        k -= 22;
    }
    return v * p10[k];
}

/* The 9 significant digits of v > 0 (v < 1e9): digits[0..8] and the decimal exponent of the first one,
 * v ~ d.dddddddd * 10^e. Returns the digit count without trailing zeros (at least 1), or 0 when rounding
 * carried v to 1e9 or more. log10 may be off by one near a power of 10, hence the retries. */
static int sig9(double v, char digits[9], int *exp10) {
    int e = (int)floor(log10(v));
    uint64_t m = 0;
    for (int tries = 0; tries < 4; tries++) {
        if (e > 8) return 0;
        m = (uint64_t)llround(times_pow10(v, 8 - e));
        if (m >= 1000000000u) e++;
        else if (m < 100000000u) e--;
        else break;
    }
    for (int i = 8; i >= 0; i--) {
        digits[i] = (char)('0' + m % 10);
        m /= 10;
    }
    int nd = 9;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    *exp10 = e;
    return nd;
}

/* d.ddde-XX for an exponent e < -4. */
static char *put_scientific(char *p, const char *digits, int nd, int e) {
    *p++ = digits[0];
    if (nd > 1) {
        *p++ = '.';
        memcpy(p, digits + 1, (size_t)nd - 1);
        p += nd - 1;
    }
    *p++ = 'e';
    *p++ = '-';
    int x = -e;
    if (x < 10) *p++ = '0';
    return mtr_put_u32(p, (uint32_t)x);
}

char *mtr_put_prob(char *p, float value) {
    double v = value;
    if (!(v > 0.0)) {
        *p++ = '0';
        return p;
    }
    if (v >= 1.0) {
        *p++ = '1';
        return p;
    }
    char digits[9];
    int e = 0, nd = sig9(v, digits, &e);
    if (e >= -4) {
        *p++ = '0';
        *p++ = '.';
        for (int z = -1; z > e; z--) *p++ = '0';
        memcpy(p, digits, (size_t)nd);
        return p + nd;
    }
    return put_scientific(p, digits, nd, e);
}

char *mtr_put_float(char *p, float value) {
    double v = value;
    if (v == 0.0) {
        *p++ = '0';
        return p;
    }
    if (v < 0.0) {
        *p++ = '-';
        v = -v;
    }
    char digits[9];
    int e = 0, nd = v < 1e9 ? sig9(v, digits, &e) : 0;
    if (nd == 0) return p + snprintf(p, 24, "%.9g", v); /* 1e9 and more, or not finite: rare, keep printf */
    if (e < -4) return put_scientific(p, digits, nd, e);
    if (e < 0) {
        *p++ = '0';
        *p++ = '.';
        for (int z = -1; z > e; z--) *p++ = '0';
        memcpy(p, digits, (size_t)nd);
        return p + nd;
    }
    memcpy(p, digits, (size_t)e + 1); /* the integer part, e + 1 <= 9 digits */
    p += e + 1;
    if (nd > e + 1) {
        *p++ = '.';
        memcpy(p, digits + e + 1, (size_t)(nd - e - 1));
        p += nd - e - 1;
    }
    return p;
}

/* test_ops.c - the layer ops of src/ops (dense, activations, softmax, mixture, embedding, losses).
 * Forward values are checked against double-precision references; backward against central finite
 * differences of those references for the scalar L = sum(out * r) with a fixed random r (the dy handed
 * to backward), with per-op tolerances. Also: accumulation (backward twice gives twice the gradient),
 * NULL gradients, padding columns left alone, in-place forward, and hand-computed values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ops/ops.h"
#include "test.h"
#include "util/rng.h"

/* MTR_TEST_GRAD_ERRORS=1 in the environment prints the worst error of each gradient check. */
#define FD_STEP 1e-3     /* central-difference step, taken on the double reference */
#define GRAD_FLOOR 1e-2  /* relative errors are taken against max(|analytic|, |numeric|, GRAD_FLOOR) */
#define PAD_VALUE 777.0f /* sentinel in padding columns, which no op may write */
/* Gradient tolerances. Float rounding of a sum of a few O(1) terms is ~1e-7 absolute, up to ~1e-5
 * against GRAD_FLOOR (over 230 seeds the worst was 2e-5, mixture dg); a wrong gradient is off by O(1). */
#define TOL_SUMS 5e-5  /* backward sums float products (dense, mixture dg, softmax, embedding, bce) or
                        * cancels (tanh 1 - y^2, sigmoid y (1 - y) with y near 1) */
#define TOL_EXACT 2e-6 /* backward is one or two roundings: relu, linear, mixture dh, mse */

/* ---------------------------------------------------------------- buffers */

static float *fnew(size_t n, float v) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = v;
    return p;
}

static float *fclone(const float *x, size_t n) {
    float *p = fnew(n, 0.0f);
    memcpy(p, x, n * sizeof *p);
    return p;
}

static double *dclone(const float *x, size_t n) {
    double *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = x[i];
    return p;
}

/* A rows x cols block of stride ld: the block uniform in [lo, hi] (with a random sign when
 * signed_abs, so |x| >= lo stays clear of relu's kink), the padding PAD_VALUE. */
static float *random_block(mtr_rng *rng, int rows, int cols, int ld, double lo, double hi, int signed_abs) {
    float *x = fnew((size_t)rows * ld, PAD_VALUE);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double v = lo + (hi - lo) * mtr_rng_uniform(rng);
            if (signed_abs && mtr_rng_uniform(rng) < 0.5) v = -v;
            x[(size_t)i * ld + j] = (float)v;
        }
    return x;
}

/* A rows x cols block of zeros with PAD_VALUE padding: a fresh gradient buffer. */
static float *zero_block(int rows, int cols, int ld) {
    float *x = fnew((size_t)rows * ld, PAD_VALUE);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) x[(size_t)i * ld + j] = 0.0f;
    return x;
}

/* Number of padding elements (columns cols..ld-1) that no longer hold PAD_VALUE. */
static int padding_damage(const float *x, int rows, int cols, int ld) {
    int bad = 0;
    for (int i = 0; i < rows; i++)
        for (int j = cols; j < ld; j++) bad += x[(size_t)i * ld + j] != PAD_VALUE;
    return bad;
}

/* worst |a - b| / max(|b|, floor) over a block; NaN counts as infinitely bad */
static double block_error(const float *a, int lda, const double *b, int ldb, int rows, int cols,
                          double floor) {
    double worst = 0.0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double ref = b[(size_t)i * ldb + j];
            double e = fabs(a[(size_t)i * lda + j] - ref) / fmax(fabs(ref), floor);
            if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
        }
    return worst;
}

/* worst |twice - 2 once| / max(|2 once|, GRAD_FLOOR): backward called a second time must add the same
 * again (up to float rounding: the second call adds into a non-zero sum) */
static double doubling_error(const float *once, const float *twice, int rows, int cols, int ld) {
    double worst = 0.0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            size_t k = (size_t)i * ld + j;
            double want = 2.0 * once[k];
            double e = fabs(twice[k] - want) / fmax(fabs(want), GRAD_FLOOR);
            if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
        }
    return worst;
}

#define CHECK_DOUBLED(what, once, twice, rows, cols, ld)                                              \
    do {                                                                                             \
        double e_ = doubling_error(once, twice, rows, cols, ld);                                     \
        CHECK_MSG(e_ <= TOL_SUMS, "%s: second backward did not add the same gradient again (error %.3g)", \
                  what, e_);                                                                         \
    } while (0)

/* ---------------------------------------------------------------- finite differences */

typedef double (*objective_fn)(const void *ctx);

typedef struct grad_report {
    double err;              /* worst relative error */
    int row, col;            /* where */
    double analytic, numeric; /* the two values there */
} grad_report;

/* Central differences of obj with respect to each element of a rows x cols block of param (stride
 * ldp), compared with grad (stride ldg). */
static grad_report grad_check(objective_fn obj, const void *ctx, double *param, int ldp, const float *grad,
                              int ldg, int rows, int cols) {
    grad_report rep = {0.0, -1, -1, 0.0, 0.0};
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double *q = param + (size_t)i * ldp + j, saved = *q;
            *q = saved + FD_STEP;
            double lp = obj(ctx);
            *q = saved - FD_STEP;
            double lm = obj(ctx);
            *q = saved;
            double num = (lp - lm) / (2.0 * FD_STEP), an = grad[(size_t)i * ldg + j];
            double e = fabs(an - num) / fmax(fmax(fabs(an), fabs(num)), GRAD_FLOOR);
            if (isnan(e)) e = INFINITY;
            if (e > rep.err || rep.row < 0) rep = (grad_report){e, i, j, an, num};
        }
    return rep;
}

#define CHECK_GRAD(what, rep, tol)                                                                   \
    do {                                                                                             \
        grad_report r_ = (rep);                                                                      \
        if (getenv("MTR_TEST_GRAD_ERRORS")) fprintf(stderr, "  %-28s max rel err %.3g\n", what, r_.err); \
        CHECK_MSG(r_.err <= (tol),                                                                   \
                  "%s: max relative error %.3g at (%d,%d): analytic %.9g, numeric %.9g (tol %g)", what, \
                  r_.err, r_.row, r_.col, r_.analytic, r_.numeric, (double)(tol));                   \
    } while (0)

/* ---------------------------------------------------------------- dense */

typedef struct dense_ctx {
    int B, K, N, ldx, ldw, ldr; /* sizes and strides */
    double *x, *w, *b;          /* inputs in double (b may be NULL) */
    const float *r;             /* dL/dy, stride ldr */
} dense_ctx;

static double dense_ref(const dense_ctx *c, int i, int n) {
    double y = c->b ? c->b[n] : 0.0;
    for (int k = 0; k < c->K; k++) y += c->x[(size_t)i * c->ldx + k] * c->w[(size_t)k * c->ldw + n];
    return y;
}

static double dense_objective(const void *p) {
    const dense_ctx *c = p;
    double L = 0.0;
    for (int i = 0; i < c->B; i++)
        for (int n = 0; n < c->N; n++) L += dense_ref(c, i, n) * c->r[(size_t)i * c->ldr + n];
    return L;
}

static double dense_forward_error(const dense_ctx *c, const float *y, int ldy) {
    double worst = 0.0;
    for (int i = 0; i < c->B; i++)
        for (int n = 0; n < c->N; n++) {
            double ref = dense_ref(c, i, n);
            double e = fabs(y[(size_t)i * ldy + n] - ref) / fmax(fabs(ref), 1.0);
            if (!(e <= worst)) worst = e;
        }
    return worst;
}

TEST(dense_forward_and_gradients) {
    const int B = 5, K = 7, N = 6, ldx = 9, ldw = 8, ldy = 10, lddx = 11, lddw = 7;
    mtr_rng rng;
    mtr_rng_seed(&rng, 101);
    float *x = random_block(&rng, B, K, ldx, -1, 1, 0), *w = random_block(&rng, K, N, ldw, -1, 1, 0);
    float *b = random_block(&rng, 1, N, N, -1, 1, 0), *r = random_block(&rng, B, N, ldy, -1, 1, 0);
    dense_ctx c = {B, K, N, ldx, ldw, ldy, dclone(x, (size_t)B * ldx), dclone(w, (size_t)K * ldw),
                   dclone(b, N), r};

    float *y = zero_block(B, N, ldy);
    dense_forward(y, ldy, x, ldx, w, ldw, b, B, K, N);
    CHECK_MSG(dense_forward_error(&c, y, ldy) <= 1e-6, "forward error %.3g", dense_forward_error(&c, y, ldy));
    CHECK_EQ_INT(padding_damage(y, B, N, ldy), 0);
    /* without bias; y holds the biased result, which must be overwritten */
    dense_forward(y, ldy, x, ldx, w, ldw, NULL, B, K, N);
    dense_ctx nob = c;
    nob.b = NULL;
    CHECK_MSG(dense_forward_error(&nob, y, ldy) <= 1e-6, "forward error without bias %.3g",
              dense_forward_error(&nob, y, ldy));

    float *dx = zero_block(B, K, lddx), *dw = zero_block(K, N, lddw), *db = zero_block(1, N, N);
    dense_backward(dx, lddx, dw, lddw, db, r, ldy, x, ldx, w, ldw, B, K, N);
    CHECK_GRAD("dense dx", grad_check(dense_objective, &c, c.x, ldx, dx, lddx, B, K), TOL_SUMS);
    CHECK_GRAD("dense dw", grad_check(dense_objective, &c, c.w, ldw, dw, lddw, K, N), TOL_SUMS);
    CHECK_GRAD("dense db", grad_check(dense_objective, &c, c.b, N, db, N, 1, N), TOL_SUMS);
    CHECK_EQ_INT(padding_damage(dx, B, K, lddx), 0);
    CHECK_EQ_INT(padding_damage(dw, K, N, lddw), 0);

    /* NULL gradients skip their work; the others come out the same */
    float *dx2 = zero_block(B, K, lddx), *dw2 = zero_block(K, N, lddw), *db2 = zero_block(1, N, N);
    dense_backward(dx2, lddx, NULL, 0, NULL, r, ldy, x, ldx, w, ldw, B, K, N);
    dense_backward(NULL, 0, dw2, lddw, NULL, r, ldy, x, ldx, w, ldw, B, K, N);
    dense_backward(NULL, 0, NULL, 0, db2, r, ldy, x, ldx, w, ldw, B, K, N);
    for (int i = 0; i < B * lddx; i++) CHECK_NEAR(dx2[i], dx[i], 1e-6);
    for (int i = 0; i < K * lddw; i++) CHECK_NEAR(dw2[i], dw[i], 1e-6);
    for (int i = 0; i < N; i++) CHECK_NEAR(db2[i], db[i], 1e-6);

    /* accumulation */
    float *dx1 = fclone(dx, (size_t)B * lddx), *dw1 = fclone(dw, (size_t)K * lddw), *db1 = fclone(db, N);
    dense_backward(dx, lddx, dw, lddw, db, r, ldy, x, ldx, w, ldw, B, K, N);
    CHECK_DOUBLED("dense dx", dx1, dx, B, K, lddx);
    CHECK_DOUBLED("dense dw", dw1, dw, K, N, lddw);
    CHECK_DOUBLED("dense db", db1, db, 1, N, N);

    /* K = 0: y = b */
    dense_forward(y, ldy, x, ldx, w, ldw, b, B, 0, N);
    for (int i = 0; i < B; i++)
        for (int n = 0; n < N; n++) CHECK(y[(size_t)i * ldy + n] == b[n]);

    float *bufs[] = {x, w, b, r, y, dx, dw, db, dx2, dw2, db2, dx1, dw1, db1};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(c.x);
    free(c.w);
    free(c.b);
}

/* ---------------------------------------------------------------- activations */

static double act_ref(mtr_activation act, double x) {
    switch (act) {
    case MTR_ACT_RELU: return x > 0.0 ? x : 0.0;
    case MTR_ACT_TANH: return tanh(x);
    case MTR_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    default: return x;
    }
}

typedef struct act_ctx {
    int B, N, ldx, ldr;  /* sizes and strides */
    mtr_activation act;  /* which function */
    double *x;           /* input in double */
    const float *r;      /* dL/dy, stride ldr */
} act_ctx;

static double act_objective(const void *p) {
    const act_ctx *c = p;
    double L = 0.0;
    for (int i = 0; i < c->B; i++)
        for (int j = 0; j < c->N; j++)
            L += act_ref(c->act, c->x[(size_t)i * c->ldx + j]) * c->r[(size_t)i * c->ldr + j];
    return L;
}

/* Every activation on three layouts: strided rows with a whole chunk and a tail, strided rows shorter
 * than a chunk, and contiguous rows (taken as one long row). */
TEST(activation_forward_and_gradients) {
    static const int layouts[][6] = {/* B, N, ldx, ldy, lddx, lddy */
                                     {3, 13, 15, 14, 16, 17},
                                     {4, 4, 6, 5, 7, 4},
                                     {3, 5, 5, 5, 5, 5}};
    static const char *names[] = {"relu", "tanh", "sigmoid", "linear"};
    mtr_rng rng;
    mtr_rng_seed(&rng, 202);
    for (int a = 0; a <= MTR_ACT_LINEAR; a++)
        for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
            mtr_activation act = (mtr_activation)a;
            const int B = layouts[l][0], N = layouts[l][1], ldx = layouts[l][2], ldy = layouts[l][3];
            const int lddx = layouts[l][4], lddy = layouts[l][5];
            char what[64];
            snprintf(what, sizeof what, "%s layout %zu", names[a], l);
            /* |x| in [0.05, 3]: both tanh branches, and FD_STEP never crosses relu's kink */
            float *x = random_block(&rng, B, N, ldx, 0.05, 3.0, 1);
            float *r = random_block(&rng, B, N, lddy, -1, 1, 0);
            act_ctx c = {B, N, ldx, lddy, act, dclone(x, (size_t)B * ldx), r};

            float *y = zero_block(B, N, ldy);
            activation_forward(y, ldy, x, ldx, B, N, act);
            double *yref = malloc((size_t)B * N * sizeof *yref);
            if (!yref) abort();
            for (int i = 0; i < B; i++)
                for (int j = 0; j < N; j++) yref[i * N + j] = act_ref(act, x[(size_t)i * ldx + j]);
            double fe = block_error(y, ldy, yref, N, B, N, 1e-6);
            CHECK_MSG(fe <= 1e-6, "%s: forward relative error %.3g", what, fe);
            CHECK_MSG(padding_damage(y, B, N, ldy) == 0, "%s: forward wrote padding", what);
            /* in place gives the same values */
            float *z = fclone(x, (size_t)B * ldx);
            activation_forward(z, ldx, z, ldx, B, N, act);
            int same = 1;
            for (int i = 0; i < B; i++)
                for (int j = 0; j < N; j++) same &= z[(size_t)i * ldx + j] == y[(size_t)i * ldy + j];
            CHECK_MSG(same, "%s: in-place forward differs", what);

            float *dx = zero_block(B, N, lddx);
            activation_backward(dx, lddx, r, lddy, y, ldy, B, N, act);
            int smooth = act == MTR_ACT_TANH || act == MTR_ACT_SIGMOID;
            CHECK_GRAD(what, grad_check(act_objective, &c, c.x, ldx, dx, lddx, B, N), smooth ? TOL_SUMS : TOL_EXACT);
            CHECK_MSG(padding_damage(dx, B, N, lddx) == 0, "%s: backward wrote padding", what);
            float *dx1 = fclone(dx, (size_t)B * lddx);
            activation_backward(dx, lddx, r, lddy, y, ldy, B, N, act);
            CHECK_DOUBLED(what, dx1, dx, B, N, lddx);

            free(x);
            free(r);
            free(c.x);
            free(y);
            free(yref);
            free(z);
            free(dx);
            free(dx1);
        }
}

/* tanh and sigmoid (vectorised approximations) to a few ulp over a fine grid, and safe far out. */
TEST(activation_accuracy_and_extremes) {
    enum { grid = 4001, n = grid + 8 };
    static const float tiny[8] = {1e-3f, -1e-3f, 1e-6f, -1e-6f, 1e-20f, -1e-20f, 3e-39f, -3e-39f};
    float *x = fnew(n, 0.0f), *y = fnew(n, 0.0f);
    double *ref = malloc(n * sizeof *ref);
    if (!ref) abort();
    for (int i = 0; i < grid; i++) x[i] = (float)(-20.0 + 40.0 * i / (grid - 1)); /* includes 0 */
    for (int i = 0; i < 8; i++) x[grid + i] = tiny[i]; /* tanh x = x here: no cancellation allowed */
    for (int a = MTR_ACT_TANH; a <= MTR_ACT_SIGMOID; a++) {
        activation_forward(y, n, x, n, 1, n, (mtr_activation)a);
        for (int i = 0; i < n; i++) ref[i] = act_ref((mtr_activation)a, x[i]);
        double e = block_error(y, n, ref, n, 1, n, 1e-30);
        if (getenv("MTR_TEST_GRAD_ERRORS")) fprintf(stderr, "  activation %d on [-20, 20]: max rel err %.3g\n", a, e);
        CHECK_MSG(e <= 5e-7, "activation %d: relative error %.3g on [-20, 20] and tiny values", a, e);
    }
    /* far out: finite, saturated, and a flat derivative */
    const float big[8] = {100.0f, -100.0f, 1e30f, -1e30f, INFINITY, -INFINITY, 88.5f, -88.5f};
    float t[8], s[8], d[8] = {0}, ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    activation_forward(t, 8, big, 8, 1, 8, MTR_ACT_TANH);
    activation_forward(s, 8, big, 8, 1, 8, MTR_ACT_SIGMOID);
    for (int i = 0; i < 8; i++) {
        float sign = big[i] > 0 ? 1.0f : -1.0f;
        CHECK_MSG(t[i] == sign, "tanh(%g) = %g", big[i], t[i]);
        CHECK_MSG(isfinite(s[i]) && s[i] >= 0.0f && s[i] <= 1.0f, "sigmoid(%g) = %g", big[i], s[i]);
        CHECK_MSG(big[i] > 0 ? s[i] == 1.0f : s[i] < 1e-37f, "sigmoid(%g) = %g", big[i], s[i]);
    }
    activation_backward(d, 8, ones, 8, s, 8, 1, 8, MTR_ACT_SIGMOID);
    activation_backward(d, 8, ones, 8, t, 8, 1, 8, MTR_ACT_TANH);
    for (int i = 0; i < 8; i++) CHECK_MSG(isfinite(d[i]) && fabsf(d[i]) < 1e-30f, "derivative at %g: %g", big[i], d[i]);
    /* NaN propagates through every activation rather than being hidden */
    for (int a = 0; a <= MTR_ACT_LINEAR; a++) {
        float v[3] = {1.0f, NAN, -1.0f}, o[3];
        activation_forward(o, 3, v, 3, 1, 3, (mtr_activation)a);
        CHECK_MSG(isnan(o[1]) && !isnan(o[0]) && !isnan(o[2]), "activation %d: NaN not propagated alone", a);
    }
    /* relu by hand */
    const float v[4] = {-2.0f, -0.0f, 0.5f, 3.0f};
    float o[4];
    activation_forward(o, 4, v, 4, 1, 4, MTR_ACT_RELU);
    CHECK(o[0] == 0.0f && o[1] == 0.0f && o[2] == 0.5f && o[3] == 3.0f);
    free(x);
    free(y);
    free(ref);
}

/* ---------------------------------------------------------------- softmax */

typedef struct softmax_ctx {
    int B, groups, E, ldl, ldr; /* sizes and strides */
    double *logits;             /* input in double */
    const float *r;             /* dL/dp, stride ldr */
} softmax_ctx;

/* p (B, groups*E) dense = softmax of c->logits, in double */
static void softmax_ref(const softmax_ctx *c, double *p) {
    int W = c->groups * c->E;
    for (int i = 0; i < c->B; i++)
        for (int g = 0; g < c->groups; g++) {
            const double *x = c->logits + (size_t)i * c->ldl + g * c->E;
            double *q = p + (size_t)i * W + g * c->E, m = x[0], s = 0.0;
            for (int e = 1; e < c->E; e++) m = fmax(m, x[e]);
            for (int e = 0; e < c->E; e++) s += q[e] = exp(x[e] - m);
            for (int e = 0; e < c->E; e++) q[e] /= s;
        }
}

static double softmax_objective(const void *p) {
    const softmax_ctx *c = p;
    int W = c->groups * c->E;
    double buf[3 * 2 * 16], L = 0.0; /* enough for the sizes used below */
    softmax_ref(c, buf);
    for (int i = 0; i < c->B; i++)
        for (int j = 0; j < W; j++) L += buf[i * W + j] * c->r[(size_t)i * c->ldr + j];
    return L;
}

/* groups = 2 with E = 4 (shorter than a chunk), 8 (one chunk) and 11 (a chunk and a tail). */
TEST(softmax_forward_and_gradients) {
    static const int Es[] = {4, 8, 11};
    mtr_rng rng;
    mtr_rng_seed(&rng, 303);
    for (size_t k = 0; k < sizeof Es / sizeof Es[0]; k++) {
        const int B = 3, groups = 2, E = Es[k], W = groups * E;
        const int ldl = W + 2, ldp = W + 3, lddl = W + 1, lddp = W + 4;
        char what[64];
        snprintf(what, sizeof what, "softmax E=%d", E);
        float *logits = random_block(&rng, B, W, ldl, -3, 3, 0);
        float *r = random_block(&rng, B, W, lddp, -1, 1, 0);
        softmax_ctx c = {B, groups, E, ldl, lddp, dclone(logits, (size_t)B * ldl), r};
        double pref[3 * 2 * 16];
        softmax_ref(&c, pref);

        float *p = zero_block(B, W, ldp);
        softmax_forward(p, ldp, logits, ldl, B, groups, E);
        double fe = block_error(p, ldp, pref, W, B, W, 1e-30);
        CHECK_MSG(fe <= 1e-6, "%s: forward relative error %.3g", what, fe);
        CHECK_MSG(padding_damage(p, B, W, ldp) == 0, "%s: forward wrote padding", what);
        for (int i = 0; i < B; i++)
            for (int g = 0; g < groups; g++) {
                double s = 0.0;
                for (int e = 0; e < E; e++) s += p[(size_t)i * ldp + g * E + e];
                CHECK_MSG(fabs(s - 1.0) <= 1e-6, "%s: row %d block %d sums to %.9g", what, i, g, s);
            }
        float *q = fclone(logits, (size_t)B * ldl);
        softmax_forward(q, ldl, q, ldl, B, groups, E);
        int same = 1;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < W; j++) same &= q[(size_t)i * ldl + j] == p[(size_t)i * ldp + j];
        CHECK_MSG(same, "%s: in-place forward differs", what);

        float *dl = zero_block(B, W, lddl);
        softmax_backward(dl, lddl, r, lddp, p, ldp, B, groups, E);
        CHECK_GRAD(what, grad_check(softmax_objective, &c, c.logits, ldl, dl, lddl, B, W), TOL_SUMS);
        CHECK_MSG(padding_damage(dl, B, W, lddl) == 0, "%s: backward wrote padding", what);
        float *dl1 = fclone(dl, (size_t)B * lddl);
        softmax_backward(dl, lddl, r, lddp, p, ldp, B, groups, E);
        CHECK_DOUBLED(what, dl1, dl, B, W, lddl);

        free(logits);
        free(r);
        free(c.logits);
        free(p);
        free(q);
        free(dl);
        free(dl1);
    }
}

TEST(softmax_hand_computed) {
    /* one row, four blocks of 3: known values, equal logits, and logits far beyond exp's range, where
     * only subtracting the maximum gives the right answer */
    const float x[12] = {1, 2, 3, 5, 5, 5, 1000, 0, -1000, 1000, 999, 0};
    float p[12];
    softmax_forward(p, 12, x, 12, 1, 4, 3);
    const double want[12] = {0.0900305731703805, 0.244728471054798, 0.665240955774822, 1 / 3.0, 1 / 3.0,
                             1 / 3.0, 1, 0, 0, 0.731058578630005, 0.268941421369995, 0};
    for (int i = 0; i < 12; i++) CHECK_NEAR(p[i], want[i], 2e-7);
    /* E = 8 (a path of its own): the maximum in the middle and in the last lane */
    const float x8[16] = {0, 0, 1000, 999, -5, 0, 0, 0, 3, 0, 0, 0, 0, 0, 999, 1000};
    float p8[16];
    softmax_forward(p8, 16, x8, 16, 1, 2, 8);
    for (int i = 0; i < 16; i++) {
        double w = i == 2 || i == 15 ? 0.731058578630005 : i == 3 || i == 14 ? 0.268941421369995 : 0.0;
        CHECK_MSG(fabs(p8[i] - w) <= 2e-7, "E=8: p[%d] = %.9g, want %.9g", i, p8[i], w);
    }
    /* E = 1 is a constant 1 */
    const float one[2] = {-7.0f, 42.0f};
    float q[2];
    softmax_forward(q, 2, one, 2, 1, 2, 1);
    CHECK(q[0] == 1.0f && q[1] == 1.0f);
}

/* ---------------------------------------------------------------- mixture */

typedef struct mixture_ctx {
    int B, E, U, ldg, ldh, ldr; /* sizes and strides */
    double *g, *h;              /* gates and expert outputs in double */
    const float *r;             /* dL/dm, stride ldr */
} mixture_ctx;

static double mixture_ref(const mixture_ctx *c, int i, int u) {
    double m = 0.0;
    for (int e = 0; e < c->E; e++)
        m += c->g[(size_t)i * c->ldg + e] * c->h[(size_t)i * c->ldh + (size_t)e * c->U + u];
    return m;
}

static double mixture_objective(const void *p) {
    const mixture_ctx *c = p;
    double L = 0.0;
    for (int i = 0; i < c->B; i++)
        for (int u = 0; u < c->U; u++) L += mixture_ref(c, i, u) * c->r[(size_t)i * c->ldr + u];
    return L;
}

/* (E, U) = (3, 11): one chunk and a tail per row; (8, 16): the default model's shape. */
TEST(mixture_forward_and_gradients) {
    static const int shapes[][2] = {{3, 11}, {8, 16}};
    mtr_rng rng;
    mtr_rng_seed(&rng, 404);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int B = 4, E = shapes[k][0], U = shapes[k][1];
        const int ldg = E + 2, ldh = E * U + 3, ldm = U + 1, lddg = E + 1, lddh = E * U + 5, lddm = U + 2;
        char what[64];
        float *g = random_block(&rng, B, E, ldg, 0, 1, 0), *h = random_block(&rng, B, E * U, ldh, -1, 1, 0);
        float *r = random_block(&rng, B, U, lddm, -1, 1, 0);
        mixture_ctx c = {B, E, U, ldg, ldh, lddm, dclone(g, (size_t)B * ldg), dclone(h, (size_t)B * ldh), r};

        float *m = zero_block(B, U, ldm);
        mixture_forward(m, ldm, g, ldg, h, ldh, B, E, U);
        double worst = 0.0;
        for (int i = 0; i < B; i++)
            for (int u = 0; u < U; u++) {
                double ref = mixture_ref(&c, i, u);
                worst = fmax(worst, fabs(m[(size_t)i * ldm + u] - ref) / fmax(fabs(ref), 1.0));
            }
        CHECK_MSG(worst <= 1e-6, "mixture E=%d U=%d: forward error %.3g", E, U, worst);
        CHECK_EQ_INT(padding_damage(m, B, U, ldm), 0);

        float *dg = zero_block(B, E, lddg), *dh = zero_block(B, E * U, lddh);
        mixture_backward(dg, lddg, dh, lddh, r, lddm, g, ldg, h, ldh, B, E, U);
        snprintf(what, sizeof what, "mixture E=%d U=%d dg", E, U);
        CHECK_GRAD(what, grad_check(mixture_objective, &c, c.g, ldg, dg, lddg, B, E), TOL_SUMS);
        snprintf(what, sizeof what, "mixture E=%d U=%d dh", E, U);
        CHECK_GRAD(what, grad_check(mixture_objective, &c, c.h, ldh, dh, lddh, B, E * U), TOL_EXACT);
        CHECK_EQ_INT(padding_damage(dg, B, E, lddg), 0);
        CHECK_EQ_INT(padding_damage(dh, B, E * U, lddh), 0);

        /* either gradient alone gives the same values */
        float *dg2 = zero_block(B, E, lddg), *dh2 = zero_block(B, E * U, lddh);
        mixture_backward(dg2, lddg, NULL, 0, r, lddm, g, ldg, h, ldh, B, E, U);
        mixture_backward(NULL, 0, dh2, lddh, r, lddm, g, ldg, h, ldh, B, E, U);
        CHECK(memcmp(dg2, dg, (size_t)B * lddg * sizeof *dg) == 0);
        CHECK(memcmp(dh2, dh, (size_t)B * lddh * sizeof *dh) == 0);

        float *dg1 = fclone(dg, (size_t)B * lddg), *dh1 = fclone(dh, (size_t)B * lddh);
        mixture_backward(dg, lddg, dh, lddh, r, lddm, g, ldg, h, ldh, B, E, U);
        CHECK_DOUBLED("mixture dg", dg1, dg, B, E, lddg);
        CHECK_DOUBLED("mixture dh", dh1, dh, B, E * U, lddh);

        /* one-hot gates select an expert exactly: row i takes expert i % E */
        for (int i = 0; i < B; i++)
            for (int e = 0; e < E; e++) g[(size_t)i * ldg + e] = e == i % E ? 1.0f : 0.0f;
        mixture_forward(m, ldm, g, ldg, h, ldh, B, E, U);
        for (int i = 0; i < B; i++)
            for (int u = 0; u < U; u++)
                CHECK_MSG(m[(size_t)i * ldm + u] == h[(size_t)i * ldh + (size_t)(i % E) * U + u],
                          "one-hot row %d unit %d: %g", i, u, m[(size_t)i * ldm + u]);

        float *bufs[] = {g, h, r, m, dg, dh, dg2, dh2, dg1, dh1};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
        free(c.g);
        free(c.h);
    }
}

/* ---------------------------------------------------------------- embedding */

typedef struct embedding_ctx {
    int B, F, D, ldi, ldr;    /* sizes and strides */
    const uint32_t *ids;      /* (B, F) stride ldi */
    const uint32_t *offsets;  /* first table row of each field */
    double *table;            /* (rows, D) in double */
    const float *r;           /* dL/dx, stride ldr */
} embedding_ctx;

static double embedding_objective(const void *p) {
    const embedding_ctx *c = p;
    double L = 0.0;
    for (int i = 0; i < c->B; i++)
        for (int f = 0; f < c->F; f++) {
            size_t row = c->offsets[f] + c->ids[(size_t)i * c->ldi + f];
            for (int j = 0; j < c->D; j++)
                L += c->table[row * c->D + j] * c->r[(size_t)i * c->ldr + (size_t)f * c->D + j];
        }
    return L;
}

/* Three fields of 3, 5 and 2 ids; the batch repeats ids within and across rows, and leaves table
 * rows 2 and 5 untouched. D = 4, 5, 12, 19 cover every copy/add path (4, tail, 8+4, 8+8+2+1). */
TEST(embedding_forward_and_gradients) {
    enum { B = 6, F = 3, ldi = F + 1, rows = 10 };
    static const uint32_t offsets[F] = {0, 3, 8};
    static const uint32_t ids[B * ldi] = {0, 1, 1, 99, 1, 4, 0, 99, 0, 1, 1, 99,
                                          0, 1, 0, 99, 1, 3, 1, 99, 0, 4, 1, 99};
    static const int Ds[] = {4, 5, 12, 19};
    mtr_rng rng;
    mtr_rng_seed(&rng, 505);
    for (size_t k = 0; k < sizeof Ds / sizeof Ds[0]; k++) {
        const int D = Ds[k], ldx = F * D + 3, lddx = F * D + 2;
        char what[64];
        snprintf(what, sizeof what, "embedding D=%d", D);
        float *table = random_block(&rng, rows, D, D, -1, 1, 0);
        float *r = random_block(&rng, B, F * D, lddx, -1, 1, 0);
        embedding_ctx c = {B, F, D, ldi, lddx, ids, offsets, dclone(table, (size_t)rows * D), r};

        float *x = zero_block(B, F * D, ldx);
        embedding_forward(x, ldx, ids, ldi, table, offsets, B, F, D);
        int exact = 1;
        for (int i = 0; i < B; i++)
            for (int f = 0; f < F; f++)
                for (int j = 0; j < D; j++)
                    exact &= x[(size_t)i * ldx + f * D + j] == table[(offsets[f] + ids[i * ldi + f]) * D + j];
        CHECK_MSG(exact, "%s: gathered rows differ from the table", what);
        CHECK_MSG(padding_damage(x, B, F * D, ldx) == 0, "%s: forward wrote padding", what);

        float *dt = zero_block(rows, D, D);
        embedding_backward(dt, r, lddx, ids, ldi, offsets, B, F, D);
        CHECK_GRAD(what, grad_check(embedding_objective, &c, c.table, D, dt, D, rows, D), TOL_SUMS);
        for (int j = 0; j < D; j++) CHECK(dt[2 * D + j] == 0.0f && dt[5 * D + j] == 0.0f);
        float *dt1 = fclone(dt, (size_t)rows * D);
        embedding_backward(dt, r, lddx, ids, ldi, offsets, B, F, D);
        CHECK_DOUBLED(what, dt1, dt, rows, D, D);

        free(table);
        free(r);
        free(c.table);
        free(x);
        free(dt);
        free(dt1);
    }
}

/* ---------------------------------------------------------------- losses */

typedef struct loss_ctx {
    int B, ld;          /* rows and stride */
    int mse;            /* 0: binary cross-entropy on logits, 1: squared error */
    double *z;          /* logits or predictions in double, stride ld */
    const float *label; /* stride ld; NaN = unlabelled */
} loss_ctx;

static double loss_ref(int mse, double z, double y) {
    if (mse) return (z - y) * (z - y);
    return -y * log(1.0 / (1.0 + exp(-z))) - (1.0 - y) * log(1.0 / (1.0 + exp(z)));
}

static double loss_objective(const void *p) {
    const loss_ctx *c = p;
    double L = 0.0;
    for (int i = 0; i < c->B; i++) {
        float y = c->label[(size_t)i * c->ld];
        if (!isnan(y)) L += loss_ref(c->mse, c->z[(size_t)i * c->ld], y);
    }
    return L;
}

/* Twelve rows in column 1 of an interleaved (12, 3) buffer; three rows unlabelled. */
TEST(loss_forward_and_gradients) {
    enum { B = 12, ld = 3, col = 1 };
    const float nan = NAN;
    const float labels[B] = {1, 0, nan, 1, 0.3f, 0, nan, 1, 1, 0, nan, 0};
    const float scale = 0.7f, base = 0.25f;
    mtr_rng rng;
    mtr_rng_seed(&rng, 606);
    for (int mse = 0; mse <= 1; mse++) {
        const char *what = mse ? "mse" : "bce_with_logits";
        float *z = random_block(&rng, B, ld, ld, -4, 4, 0), *label = fnew(B * ld, 5.0f);
        z[0 * ld + col] = 0.0f;
        z[1 * ld + col] = 9.0f;
        z[3 * ld + col] = -9.0f;
        for (int i = 0; i < B; i++) label[i * ld + col] = labels[i];
        loss_ctx c = {B, ld, mse, dclone(z + col, (size_t)B * ld - col), label + col};

        size_t n = 12345;
        double sum = mse ? mse_forward(z + col, label + col, ld, B, &n)
                         : bce_with_logits_forward(z + col, label + col, ld, B, &n);
        CHECK_EQ_INT(n, 9);
        double ref = loss_objective(&c);
        CHECK_MSG(fabs(sum - ref) <= 1e-6 * fabs(ref), "%s: sum %.9g, reference %.9g", what, sum, ref);

        float *dz = fnew(B * ld, base);
        if (mse)
            mse_backward(dz + col, z + col, label + col, ld, B, scale);
        else
            bce_with_logits_backward(dz + col, z + col, label + col, ld, B, scale);
        float *an = fnew(B * ld, 0.0f); /* the gradient of the plain sum */
        for (int i = 0; i < B; i++) an[i * ld] = (dz[i * ld + col] - base) / scale;
        CHECK_GRAD(what, grad_check(loss_objective, &c, c.z, ld, an, ld, B, 1), mse ? TOL_EXACT : TOL_SUMS);
        for (int i = 0; i < B; i++) {
            if (isnan(labels[i])) CHECK_MSG(dz[i * ld + col] == base, "%s: unlabelled row %d got a gradient", what, i);
            CHECK_MSG(dz[i * ld] == base && dz[i * ld + 2] == base, "%s: row %d: other columns touched", what, i);
        }
        float *dz1 = fclone(dz, B * ld);
        if (mse)
            mse_backward(dz + col, z + col, label + col, ld, B, scale);
        else
            bce_with_logits_backward(dz + col, z + col, label + col, ld, B, scale);
        for (int i = 0; i < B; i++) {
            float once = dz1[i * ld + col] - base, twice = dz[i * ld + col] - base;
            CHECK_MSG(fabsf(twice - 2.0f * once) <= 1e-6f * fmaxf(fabsf(once), 1.0f),
                      "%s: row %d: second backward added %g, first %g", what, i, twice - once, once);
        }

        free(z);
        free(label);
        free(c.z);
        free(dz);
        free(an);
        free(dz1);
    }
}

TEST(loss_hand_computed) {
    size_t n = 0;
    const float zero = 0.0f, one = 1.0f, nil = 0.0f;
    CHECK_NEAR(bce_with_logits_forward(&zero, &one, 1, 1, &n), log(2.0), 1e-7);
    CHECK_EQ_INT(n, 1);
    CHECK_NEAR(bce_with_logits_forward(&zero, &nil, 1, 1, &n), log(2.0), 1e-7);
    /* large logits: no overflow, exact limits */
    const float z[4] = {100.0f, -100.0f, 100.0f, -100.0f}, y[4] = {1, 1, 0, 0};
    const double want[4] = {0.0, 100.0, 100.0, 0.0};
    for (int i = 0; i < 4; i++) {
        double l = bce_with_logits_forward(z + i, y + i, 1, 1, &n);
        CHECK_MSG(isfinite(l) && fabs(l - want[i]) <= 1e-5, "bce(z=%g, y=%g) = %g", z[i], y[i], l);
    }
    float dz[4] = {0, 0, 0, 0};
    bce_with_logits_backward(dz, z, y, 1, 4, 2.0f);
    CHECK(dz[0] == 0.0f && dz[1] == -2.0f && dz[2] == 2.0f && dz[3] >= 0.0f && dz[3] < 1e-40f);
    float d0 = 0.0f;
    bce_with_logits_backward(&d0, &zero, &one, 1, 1, 1.0f);
    CHECK(d0 == -0.5f);
    /* squared error: (3 - 1)^2 = 4, gradient 2 (3 - 1) scale */
    const float p = 3.0f;
    CHECK(mse_forward(&p, &one, 1, 1, &n) == 4.0);
    float dp = 1.0f;
    mse_backward(&dp, &p, &one, 1, 1, 0.5f);
    CHECK(dp == 3.0f);
    /* all labels missing: zero loss, zero count, no gradient; B = 0 likewise */
    const float nan3[3] = {NAN, NAN, NAN}, zs[3] = {1, 2, 3};
    float g[3] = {7, 7, 7};
    n = 99;
    CHECK(bce_with_logits_forward(zs, nan3, 1, 3, &n) == 0.0);
    CHECK_EQ_INT(n, 0);
    n = 99;
    CHECK(mse_forward(zs, nan3, 1, 3, &n) == 0.0);
    CHECK_EQ_INT(n, 0);
    bce_with_logits_backward(g, zs, nan3, 1, 3, 1.0f);
    mse_backward(g, zs, nan3, 1, 3, 1.0f);
    CHECK(g[0] == 7.0f && g[1] == 7.0f && g[2] == 7.0f);
    n = 99;
    CHECK(mse_forward(zs, zs, 1, 0, &n) == 0.0);
    CHECK_EQ_INT(n, 0);
}

TEST(sigmoid_is_safe) {
    CHECK(mtr_sigmoid(0.0f) == 0.5f);
    CHECK(mtr_sigmoid(100.0f) == 1.0f);
    float s = mtr_sigmoid(-100.0f);
    CHECK_MSG(isfinite(s) && s > 0.0f && s < 1e-40f, "sigmoid(-100) = %g", s);
    CHECK(mtr_sigmoid(INFINITY) == 1.0f && mtr_sigmoid(-INFINITY) == 0.0f);
    CHECK_NEAR(mtr_sigmoid(-20.0f) / 2.0611536181902037e-09, 1.0, 1e-6);
    CHECK_NEAR(mtr_sigmoid(2.0f), 0.8807970779778823, 1e-7);
    CHECK(isnan(mtr_sigmoid(NAN)));
}

/* test_ops_ctcvr.c - ESMM's CTCVR loss (cross-entropy against sigmoid(zc) * sigmoid(zv)): hand values,
 * finite-difference gradients in double, stability at large logits, NaN labels skipped. */
#include <math.h>

#include "ops/ops.h"
#include "test.h"

static double loss_at(float zc, float zv, float y) {
    size_t n;
    return ctcvr_loss_forward(&zc, 1, &zv, 1, &y, 1, 1, &n);
}

TEST(ctcvr_loss_hand_values) {
    /* p = 0.5 * 0.5 = 0.25 */
    CHECK_NEAR(loss_at(0, 0, 1), log(4.0), 1e-12);
    CHECK_NEAR(loss_at(0, 0, 0), -log(0.75), 1e-12);
    /* sigmoid(2) * sigmoid(-1) by hand */
    double p = (1 / (1 + exp(-2.0))) * (1 / (1 + exp(1.0)));
    CHECK_NEAR(loss_at(2, -1, 1), -log(p), 1e-9);
    CHECK_NEAR(loss_at(2, -1, 0), -log(1 - p), 1e-9);
    /* both logits large and the label 0: 1 - p = s(-30) + s(30) s(-30) ~ 2 e^-30, still finite */
    double big = loss_at(30, 30, 0);
    CHECK(isfinite(big));
    CHECK_NEAR(big, 30 - log(2.0), 1e-6);
    CHECK_NEAR(loss_at(-40, 5, 1), 40 + log1p(exp(-5.0)), 1e-6);
    /* NaN label: skipped, counted out */
    float zc[2] = {1, 2}, zv[2] = {0, 0}, y[2] = {NAN, 1}, dzc[2] = {0, 0}, dzv[2] = {0, 0};
    size_t n;
    double s = ctcvr_loss_forward(zc, 1, zv, 1, y, 1, 2, &n);
    CHECK_EQ_INT(n, 1);
    CHECK_NEAR(s, loss_at(2, 0, 1), 1e-12);
    ctcvr_loss_backward(dzc, 1, dzv, 1, zc, 1, zv, 1, y, 1, 2, 1.0f);
    CHECK(dzc[0] == 0.0f && dzv[0] == 0.0f);
}

TEST(ctcvr_loss_gradient_by_finite_differences) {
    const float zs[][2] = {{0.3f, -0.7f}, {2.5f, 1.5f}, {-3.0f, 4.0f}, {6.0f, 6.0f}, {-1.0f, -8.0f}};
    for (int y = 0; y <= 1; y++)
        for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
            float zc = zs[i][0], zv = zs[i][1], label = (float)y, dzc = 0, dzv = 0;
            ctcvr_loss_backward(&dzc, 1, &dzv, 1, &zc, 1, &zv, 1, &label, 1, 1, 0.5f);
            const double h = 1e-3;
            double nc = (loss_at((float)(zc + h), zv, label) - loss_at((float)(zc - h), zv, label)) / (2 * h);
            double nv = (loss_at(zc, (float)(zv + h), label) - loss_at(zc, (float)(zv - h), label)) / (2 * h);
            CHECK_MSG(fabs(dzc - 0.5 * nc) < 1e-4 + 1e-3 * fabs(nc), "zc=%g zv=%g y=%d: dzc %g vs %g", zc, zv, y,
                      dzc, 0.5 * nc);
            CHECK_MSG(fabs(dzv - 0.5 * nv) < 1e-4 + 1e-3 * fabs(nv), "zc=%g zv=%g y=%d: dzv %g vs %g", zc, zv, y,
                      dzv, 0.5 * nv);
        }
}

TEST(bpr_loss_hand_values_and_gradient) {
    float s[4] = {2.0f, 0.5f, -1.0f, 3.0f}, ds[4] = {0, 0, 0, 0};
    /* pairs (2 over 0.5) and (-1 over 3) */
    double want = log1p(exp(-1.5)) + log1p(exp(4.0));
    CHECK_NEAR(bpr_loss_forward(s, 1, 2), want, 1e-9);
    bpr_loss_backward(ds, s, 1, 2, 1.0f);
    CHECK_NEAR(ds[0], -1 / (1 + exp(1.5)), 1e-6);
    CHECK_NEAR(ds[1], 1 / (1 + exp(1.5)), 1e-6);
    CHECK_NEAR(ds[2], -1 / (1 + exp(-4.0)), 1e-6);
    CHECK_NEAR(ds[0] + ds[1], 0.0, 1e-7);
    /* finite differences on every score */
    for (int k = 0; k < 4; k++) {
        float up[4], dn[4];
        for (int i = 0; i < 4; i++) up[i] = dn[i] = s[i];
        up[k] += 1e-3f, dn[k] -= 1e-3f;
        double num = (bpr_loss_forward(up, 1, 2) - bpr_loss_forward(dn, 1, 2)) / 2e-3;
        CHECK_NEAR(ds[k], num, 1e-3);
    }
    /* huge differences stay finite */
    float big[2] = {-500.0f, 500.0f};
    CHECK(isfinite(bpr_loss_forward(big, 1, 1)));
    CHECK_NEAR(bpr_loss_forward(big, 1, 1), 1000.0, 1e-6);
}

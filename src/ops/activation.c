/* activation.c - element-wise activations on strided (B, N) blocks. A block whose rows are contiguous
 * (every stride equal to N) is treated as one row of B*N, so narrow layers still fill whole chunks.
 * Forward may run in place (y == x with ldy == ldx): each chunk is read whole before it is written. Backward assumes dx
 * overlaps neither dy nor y. */
#include <assert.h>
#include <limits.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/vec.h"

static void forward_row(float *y, const float *x, int n, mtr_activation act) {
    switch (act) {
    case MTR_ACT_RELU: mtr_map8(mtr_relu8, y, x, n); break;
    case MTR_ACT_TANH: mtr_map8(mtr_tanh8, y, x, n); break;
    case MTR_ACT_SIGMOID: mtr_map8(mtr_sigmoid8, y, x, n); break;
    case MTR_ACT_LINEAR:
        if (y != x) memmove(y, x, (size_t)n * sizeof(float));
        break;
    default: assert(!"unknown activation");
    }
}

/* One row: dx += dy * act'(y), the derivative taken from the forward output y. Loads are unconditional
 * so the selects vectorise. */
static void backward_row(float *restrict dx, const float *restrict dy, const float *restrict y, int n,
                         mtr_activation act) {
    int i = 0;
    switch (act) {
    case MTR_ACT_RELU:
        for (; i + MTR_VW <= n; i += MTR_VW)
            for (int j = 0; j < MTR_VW; j++) {
                float g = dy[i + j], o = y[i + j];
                dx[i + j] += o > 0.0f ? g : 0.0f;
            }
        for (; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case MTR_ACT_TANH:
        for (; i + MTR_VW <= n; i += MTR_VW)
            for (int j = 0; j < MTR_VW; j++) dx[i + j] += dy[i + j] * (1.0f - y[i + j] * y[i + j]);
        for (; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case MTR_ACT_SIGMOID:
        for (; i + MTR_VW <= n; i += MTR_VW)
            for (int j = 0; j < MTR_VW; j++) dx[i + j] += dy[i + j] * y[i + j] * (1.0f - y[i + j]);
        for (; i < n; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case MTR_ACT_LINEAR: mtr_vec_add(dx, dy, n); break;
    default: assert(!"unknown activation");
    }
}

void activation_forward(float *y, int ldy, const float *x, int ldx, int B, int N, mtr_activation act) {
    assert(B >= 0 && N >= 0 && ldy >= N && ldx >= N);
    assert(y != x || ldy == ldx); /* in place means the same buffer, not overlapping rows */
    if (ldy == N && ldx == N && (long long)B * N <= INT_MAX) {
        forward_row(y, x, B * N, act);
        return;
    }
    for (int b = 0; b < B; b++) forward_row(y + (size_t)b * ldy, x + (size_t)b * ldx, N, act);
}

void activation_backward(float *dx, int lddx, const float *dy, int lddy, const float *y, int ldy, int B,
                         int N, mtr_activation act) {
    assert(B >= 0 && N >= 0 && lddx >= N && lddy >= N && ldy >= N);
    if (lddx == N && lddy == N && ldy == N && (long long)B * N <= INT_MAX) {
        backward_row(dx, dy, y, B * N, act);
        return;
    }
    for (int b = 0; b < B; b++)
        backward_row(dx + (size_t)b * lddx, dy + (size_t)b * lddy, y + (size_t)b * ldy, N, act);
}

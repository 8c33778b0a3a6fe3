/* ops.h - the math of every model: each op is a pair of free functions on plain row-major float
 * buffers, forward and backward. Conventions (after llm.c):
 *   - arguments: outputs first, then what backward needs, then inputs, weights, sizes;
 *   - a matrix argument `x` with leading dimension `ldx` has rows of stride ldx floats (ldx >= cols),
 *     so column slices of a wider buffer can be used in place;
 *   - backward ACCUMULATES into gradient buffers (dx[i] += ...); callers zero them once per batch;
 *     a NULL gradient pointer means "not needed" and skips that work;
 *   - no op allocates memory; none keeps state between calls.
 */
#ifndef MTR_OPS_H
#define MTR_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* ---- matrix multiply: C (M,N) = alpha * op(A) * op(B) + beta * C; row-major, op = transpose if
 * the flag is set. Fast path: OpenBLAS sgemm, single-threaded (mtrank threads over batches itself). */
void mtr_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
/* Naive reference with the same contract, for tests and the benchmark's correctness check. */
void mtr_sgemm_reference(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                         int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* ---- dense (fully connected) layer
 * x is (B, K) with stride ldx, w is (K, N) with stride ldw, b is (N) or NULL, y is (B, N) stride ldy.
 * forward: y = x w + b (overwrites y). */
void dense_forward(float *y, int ldy, const float *x, int ldx, const float *w, int ldw, const float *b,
                   int B, int K, int N);
/* backward: dx (B,K) += dy w^T ; dw (K,N) += x^T dy ; db (N) += column sums of dy. */
void dense_backward(float *dx, int lddx, float *dw, int lddw, float *db, const float *dy, int lddy,
                    const float *x, int ldx, const float *w, int ldw, int B, int K, int N);

/* ---- element-wise activation on a (B, N) block with stride ld; y may equal x (in place). */
void activation_forward(float *y, int ldy, const float *x, int ldx, int B, int N, mtr_activation act);
/* dx += dy * act'(.) where the derivative is computed from the forward OUTPUT y (relu: y > 0,
 * tanh: 1 - y^2, sigmoid: y (1 - y), linear: 1). */
void activation_backward(float *dx, int lddx, const float *dy, int lddy, const float *y, int ldy, int B,
                         int N, mtr_activation act);

/* ---- softmax over each row of `groups` consecutive blocks of E logits (one block per gate):
 * logits (B, groups*E) stride ldl, p the same shape stride ldp. p may equal logits. */
void softmax_forward(float *p, int ldp, const float *logits, int ldl, int B, int groups, int E);
/* dlogits += p * (dp - sum_e dp*p), per row and block. */
void softmax_backward(float *dlogits, int lddl, const float *dp, int lddp, const float *p, int ldp, int B,
                      int groups, int E);

/* ---- mixture of experts: m[b,:] = sum_e g[b,e] * h[b, e*U : (e+1)*U]
 * g is (B, E) stride ldg, h is (B, E*U) stride ldh, m is (B, U) stride ldm (overwritten). */
void mixture_forward(float *m, int ldm, const float *g, int ldg, const float *h, int ldh, int B, int E,
                     int U);
/* dg[b,e] += dot(dm[b], h[b,e]) ; dh[b,e,:] += g[b,e] * dm[b]. Either gradient may be NULL. */
void mixture_backward(float *dg, int lddg, float *dh, int lddh, const float *dm, int lddm, const float *g,
                      int ldg, const float *h, int ldh, int B, int E, int U);

/* ---- embedding gather: F categorical fields, each with its own rows inside one table.
 * table is (total_rows, D); field f's id i is table row offsets[f] + i.
 * ids is (B, F) stride ldi. x[b, f*D + j] = table[(offsets[f] + ids[b,f]) * D + j]; x stride ldx. */
void embedding_forward(float *x, int ldx, const uint32_t *ids, int ldi, const float *table,
                       const uint32_t *offsets, int B, int F, int D);
/* Dense-gradient form, for tests and small tables: dtable[row] += dx[b, f*D : (f+1)*D]. */
void embedding_backward(float *dtable, const float *dx, int lddx, const uint32_t *ids, int ldi,
                        const uint32_t *offsets, int B, int F, int D);

/* ---- losses over B predictions. Rows whose label is NaN are skipped (and get zero gradient).
 * Each returns the SUM of the per-row losses over labelled rows and writes the count of labelled
 * rows to *n_labelled; the caller divides (so batches split across threads add up exactly).
 * Backward: dz[i] += scale * dloss/dz[i], scale usually task_weight / labelled rows of the batch.
 * logit/pred/label/dz use stride ld (tasks interleaved in one (B, T) buffer). */
double bce_with_logits_forward(const float *logit, const float *label, int ld, int B, size_t *n_labelled);
void bce_with_logits_backward(float *dz, const float *logit, const float *label, int ld, int B,
                              float scale);
double mse_forward(const float *pred, const float *label, int ld, int B, size_t *n_labelled);
void mse_backward(float *dz, const float *pred, const float *label, int ld, int B, float scale);

/* ESMM's CTCVR loss on rows with a label: cross-entropy of y against p = sigmoid(zc) * sigmoid(zv),
 * zc the click logit and zv the conversion logit (each column with its own stride). Forward returns the
 * sum over labelled rows and their count; backward adds scale * dL/dzc and scale * dL/dzv. Stable for
 * logits of any size (log p and 1 - p are formed without cancellation). */
double ctcvr_loss_forward(const float *zc, int ldc, const float *zv, int ldv, const float *label, int ldl, int B,
                          size_t *n_labelled);
void ctcvr_loss_backward(float *dzc, int lddc, float *dzv, int lddv, const float *zc, int ldc, const float *zv,
                         int ldv, const float *label, int ldl, int B, float scale);

/* BPR (Rendle et al. 2009) over n_pairs pairs of consecutive rows: row 2i is preferred to row 2i+1 and
 * the loss is -log sigmoid(s[2i] - s[2i+1]), summed. Backward adds scale * dL/ds. Stable for any scores. */
double bpr_loss_forward(const float *s, int ld, int n_pairs);
void bpr_loss_backward(float *ds, const float *s, int ld, int n_pairs, float scale);

/* Numerically safe logistic function. */
float mtr_sigmoid(float z);

#endif

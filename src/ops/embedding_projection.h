/* embedding_projection.h - the embedding part of an input layer, computed per distinct embedding row.
 *
 * An input layer multiplies x = [e_1 .. e_F | numeric] by W (D, C). The embedding part of that product
 * is sum_f e_f W_f, where e_f = E[offsets[f] + id] is a row of the table and W_f the k rows of W that
 * field f meets. A batch of B rows uses only U distinct table rows (U <= B*F, and far fewer on data like
 * census: 541 rows serve 31k field values per batch), so projecting each distinct row once,
 * P[u] = E[u] W_f (k*C multiply-adds), and adding F projected rows per sample (F*C adds) does the work
 * of the dense GEMM (B*F*k*C multiply-adds) at a fraction of the cost. Backward mirrors it:
 * S[u] = sum of dz over the samples using u, then dW_f += E[u]^T S[u] and dE[u] += S[u] W_f^T.
 * Both directions sum rows in registers (a gather-sum), so each output row is stored once rather than
 * read and written once per field; backward first groups the samples by row (a counting sort).
 * The results equal the dense path's up to float rounding (tests compare both and check gradients).
 */
#ifndef MTR_OPS_EMBEDDING_PROJECTION_H
#define MTR_OPS_EMBEDDING_PROJECTION_H

#include <stdint.h>

#include "ops/sparse_rows.h"

typedef struct mtr_projection {
    int cols;            /* C: columns of the input layer */
    int dim;             /* k: embedding width */
    int n_fields;        /* F */
    uint32_t table_rows; /* rows of the embedding table */
    int32_t *slot;       /* (table_rows) slot of each row this batch uses, -1 elsewhere */
    uint32_t *rows;      /* (capacity) distinct rows in first-use order */
    uint16_t *field;     /* (capacity) field of each distinct row */
    uint32_t *use;       /* (max_batch, F) slot used by sample b's field f */
    uint32_t *first;     /* (capacity + 1) backward: where each slot's samples start in `users` */
    uint32_t *users;     /* (max_batch * F) backward: samples grouped by slot, in sample order */
    float *proj;         /* (capacity, C) P in forward, reused for S in backward */
    uint32_t count;      /* distinct rows of the current batch */
    uint32_t capacity;   /* min(table_rows, max_batch * F) */
    int frozen;          /* set by the caller when weights do not change between batches (prediction):
                            a table that fits is then projected whole, once, and kept */
    int table_ready;     /* frozen mode: proj holds every row of the table, slot = row */
} mtr_projection;

int mtr_projection_init(mtr_projection *p, uint32_t table_rows, int n_fields, int dim, int cols, int max_batch);
void mtr_projection_free(mtr_projection *p);

/* Frozen mode: projecting the whole table once pays when it fits the buffer. */
static inline int mtr_projection_whole_table(const mtr_projection *p) {
    return p->frozen && p->table_rows <= p->capacity;
}

/* Find the batch's distinct rows (ids (B, F) stride ldi; row = offsets[f] + id). Returns the count. */
uint32_t embedding_projection_collect(mtr_projection *p, const uint32_t *ids, int ldi, const uint32_t *offsets,
                                      int B);
/* z (B, C) stride ldz += sum_f E[row(b,f)] W_f. table is (rows, k); w is (D, C) stride ldw whose first
 * F*k rows are the embedding rows. Call after collect. */
void embedding_projection_forward(mtr_projection *p, float *z, int ldz, const float *table, const float *w,
                                  int ldw, int B);
/* From dz (B, C): dw's first F*k rows += E^T S, and dtable rows += S W_f^T into sparse rows. Overwrites
 * the projection buffer (forward's P is no longer valid). Call after forward on the same batch. */
void embedding_projection_backward(mtr_projection *p, float *dw, int lddw, mtr_sparse_rows *dtable,
                                   const float *dz, int lddz, const float *table, const float *w, int ldw,
                                   int B);

#endif

/* embedding_projection.h - the embedding part of an input layer over a batch whose rows hold any number
 * of ids per field (sum or mean pooling), by two paths that compute the same function:
 *
 * projected: an input layer multiplies x = [bag_1 .. bag_F | numeric] by W (D, C), and the embedding
 *   part of that product is sum over the row's ids of w_i E[row_i] W_f(i), W_f the k rows of W that
 *   field f meets and w_i the pooling weight (1, or 1/count for mean). A batch uses only U distinct
 *   (field, row) pairs (on census 541 serve 31k ids per batch), so projecting each once,
 *   P[u] = E[row] W_f (k*C multiply-adds), then adding w_i P[u_i] per id (C adds) does the work of the
 *   dense GEMM (B*F*k*C multiply-adds) at a fraction of the cost. Backward mirrors it:
 *   S[u] = sum over the ids using u of w_i dz[row of i], then dW_f += E[row]^T S[u], dE[row] += S[u] W_f^T.
 *   Sums run in registers (a gather-sum): each output row is stored once, not once per id; backward
 *   first groups the ids by pair (a counting sort).
 * dense: x's embedding columns are the pooled bags (embedding_bag_forward), then one GEMM; backward
 *   scatters d(x) back to the rows (embedding_bag_backward).
 *
 * Pairs are keyed by a "virtual row" (per-field offsets into the concatenated vocabularies), because a
 * table shared by several fields meets a different W_f through each field. */
#ifndef MTR_OPS_EMBEDDING_PROJECTION_H
#define MTR_OPS_EMBEDDING_PROJECTION_H

#include <stdint.h>

#include "ops/sparse_rows.h"

/* Where a net's fields live: field f's id i is embedding-table row table_offset[f] + i and virtual row
 * virtual_offset[f] + i; pool_mean[f] selects mean pooling. */
typedef struct mtr_field_layout {
    int n_fields;                    /* F */
    const uint32_t *table_offset;    /* (F) first table row of each field's table */
    const uint32_t *virtual_offset;  /* (F + 1) per-field offsets; the last is the virtual row count */
    const unsigned char *pool_mean;  /* (F) 1 = mean, 0 = sum; NULL = all sum */
} mtr_field_layout;

typedef struct mtr_projection {
    int cols;              /* C: columns of the input layer */
    int dim;               /* k: embedding width */
    int n_fields;          /* F */
    uint32_t virtual_rows; /* sum of the fields' vocabulary sizes */
    int32_t *slot;         /* (virtual_rows) slot of each pair this batch uses, -1 elsewhere */
    uint32_t *rows;        /* (capacity) table row of each distinct pair, in first-use order */
    uint16_t *field;       /* (capacity) field of each distinct pair */
    /* the batch's ids in order (row by row, field by field): */
    uint32_t *entry_start; /* (max_batch + 1) ids of row b are entries entry_start[b] .. entry_start[b+1] */
    uint32_t *use;         /* (max_entries) slot of each id */
    float *weight;         /* (max_entries) pooling weight of each id; filled only when !unit_weights */
    int unit_weights;      /* every weight of this batch is 1 */
    uint32_t *first;       /* (capacity + 1) backward: where each slot's ids start in `users` */
    uint32_t *users;       /* (max_entries) backward: ids grouped by slot, in batch order */
    float *proj;           /* (capacity, C) P in forward, reused for S in backward */
    uint32_t n_entries;    /* ids in the current batch */
    uint32_t count;        /* distinct pairs of the current batch */
    uint32_t capacity;     /* min(virtual_rows, max_entries) */
    uint32_t max_entries;  /* max_batch * (most ids in one row) */
    int max_batch;         /* rows per batch at most */
    int frozen;            /* set by the caller when weights do not change between batches (prediction):
                              a table that fits is then projected whole, once, and kept */
    int table_ready;       /* frozen mode: proj holds every virtual row, slot = virtual row */
} mtr_projection;

int mtr_projection_init(mtr_projection *p, uint32_t virtual_rows, int n_fields, int dim, int cols, int max_batch,
                        uint32_t max_ids_per_row);
void mtr_projection_free(mtr_projection *p);

/* Frozen mode: projecting the whole table once pays when it fits the buffer. */
static inline int mtr_projection_whole_table(const mtr_projection *p) {
    return p->frozen && p->virtual_rows <= p->capacity;
}

/* Take the batch's ids (CSR: row b's field f ids are ids[id_start[b*F+f] .. id_start[b*F+f+1])), find
 * the distinct pairs, the weights. Returns the number of distinct pairs. */
uint32_t embedding_projection_collect(mtr_projection *p, const mtr_field_layout *lay, const uint32_t *id_start,
                                      const uint32_t *ids, int B);
/* Projected path. z (B, C) stride ldz += sum over ids of w E[row] W_f. table is (rows, k); w is (D, C)
 * stride ldw whose first F*k rows are the embedding rows. Call after collect. */
void embedding_projection_forward(mtr_projection *p, float *z, int ldz, const float *table, const float *w,
                                  int ldw, int B);
/* From dz (B, C): dw's first F*k rows += E^T S, and dtable rows += S W_f^T into sparse rows. Overwrites
 * the projection buffer. Call after forward on the same batch. */
void embedding_projection_backward(mtr_projection *p, float *dw, int lddw, mtr_sparse_rows *dtable,
                                   const float *dz, int lddz, const float *table, const float *w, int ldw,
                                   int B);

/* Dense path. x[b, f*k : (f+1)*k] = pooled embeddings of row b's field f (zeros for an empty bag);
 * x (B, F*k) stride ldx; the batch's ids as for collect. */
void embedding_bag_forward(const mtr_field_layout *lay, const uint32_t *id_start, const uint32_t *ids, float *x,
                           int ldx, const float *table, int k, int B);
/* dtable rows += w * dx[b, f*k : (f+1)*k] for every id. */
void embedding_bag_backward(const mtr_field_layout *lay, const uint32_t *id_start, const uint32_t *ids,
                            mtr_sparse_rows *dtable, const float *dx, int lddx, int k, int B);

#endif

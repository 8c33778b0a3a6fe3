/* sparse_rows.h - the gradient of an embedding table for one batch, kept only for the rows the batch
 * touched: a row -> slot map over the whole table plus compact gradient rows. Clearing it costs the
 * number of touched rows, not the table size, so huge tables train at the cost of what a batch uses.
 * Rows appear in first-touch order, which is deterministic for given data. */
#ifndef MTR_OPS_SPARSE_ROWS_H
#define MTR_OPS_SPARSE_ROWS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mtr_sparse_rows {
    uint32_t table_rows; /* rows of the table this gradient belongs to */
    int dim;             /* floats per row */
    int32_t *slot;       /* (table_rows) slot of each touched row, -1 elsewhere */
    uint32_t *rows;      /* (capacity) touched rows in first-touch order */
    float *grad;         /* (capacity, dim) gradient of each touched row */
    uint32_t count;      /* touched rows so far */
    uint32_t capacity;   /* most rows one batch can touch (batch rows x fields) */
} mtr_sparse_rows;

/* Allocate; returns -1 when out of memory. */
int mtr_sparse_rows_init(mtr_sparse_rows *s, uint32_t table_rows, int dim, uint32_t capacity);
void mtr_sparse_rows_free(mtr_sparse_rows *s);
/* Forget every touched row (cost: the touched rows). */
void mtr_sparse_rows_clear(mtr_sparse_rows *s);

/* The gradient row of table row `row`, zeroed when first touched. Capacity must suffice (asserted). */
static inline float *mtr_sparse_rows_at(mtr_sparse_rows *s, uint32_t row) {
    int32_t k = s->slot[row];
    if (k < 0) {
        assert(s->count < s->capacity); /* capacity = min(table rows, batch x fields) */
        k = (int32_t)s->count++;
        s->slot[row] = k;
        s->rows[k] = row;
        float *g = s->grad + (size_t)k * s->dim;
        for (int j = 0; j < s->dim; j++) g[j] = 0.0f;
        return g;
    }
    return s->grad + (size_t)k * s->dim;
}

/* Embedding backward into sparse rows: grad[offsets[f] + ids[b,f]] += dx[b, f*D : (f+1)*D].
 * dx is (B, F*D) with stride lddx, ids (B, F) with stride ldi. */
void embedding_backward_sparse(mtr_sparse_rows *g, const float *dx, int lddx, const uint32_t *ids, int ldi,
                               const uint32_t *offsets, int B, int F, int D);

#endif

/* sparse_rows.c - row-sparse embedding gradients; see sparse_rows.h. */
#include "ops/sparse_rows.h"

#include <stdlib.h>
#include <string.h>

int mtr_sparse_rows_init(mtr_sparse_rows *s, uint32_t table_rows, int dim, uint32_t capacity) {
    memset(s, 0, sizeof *s);
    s->table_rows = table_rows;
    s->dim = dim;
    s->capacity = capacity;
    s->slot = malloc((table_rows ? table_rows : 1) * sizeof *s->slot);
    s->rows = malloc((capacity ? capacity : 1) * sizeof *s->rows);
    s->grad = malloc(((size_t)(capacity ? capacity : 1)) * (size_t)dim * sizeof *s->grad);
    if (!s->slot || !s->rows || !s->grad) {
        mtr_sparse_rows_free(s);
        return -1;
    }
    memset(s->slot, 0xff, (size_t)table_rows * sizeof *s->slot);
    return 0;
}

void mtr_sparse_rows_free(mtr_sparse_rows *s) {
    free(s->slot);
    free(s->rows);
    free(s->grad);
    memset(s, 0, sizeof *s);
}

void mtr_sparse_rows_clear(mtr_sparse_rows *s) {
    for (uint32_t k = 0; k < s->count; k++) s->slot[s->rows[k]] = -1;
    s->count = 0;
}

void embedding_backward_sparse(mtr_sparse_rows *g, const float *dx, int lddx, const uint32_t *ids, int ldi,
                               const uint32_t *offsets, int B, int F, int D) {
    for (int b = 0; b < B; b++) {
        const float *drow = dx + (size_t)b * lddx;
        const uint32_t *id = ids + (size_t)b * ldi;
        for (int f = 0; f < F; f++) {
            float *gr = mtr_sparse_rows_at(g, offsets[f] + id[f]);
            const float *src = drow + (size_t)f * D;
            for (int j = 0; j < D; j++) gr[j] += src[j];
        }
    }
}

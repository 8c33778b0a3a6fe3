/* embedding.c - gathering the embedding rows of a batch's categorical ids, and the dense-gradient
 * scatter back (for tests and small tables; training uses the sparse form in sparse_rows.c). Ids are
 * trusted: the data layer maps every value into its field's vocabulary. Assumes dtable overlaps no
 * input. */
#include <assert.h>

#include "ops/ops.h"
#include "ops/vec.h"

/* The gather loop, inlined below once per common D so each row copy is a fixed-size move. */
static inline void gather(float *x, int ldx, const uint32_t *ids, int ldi, const float *table,
                          const uint32_t *offsets, int B, int F, int D) {
    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * ldx;
        const uint32_t *idb = ids + (size_t)b * ldi;
        for (int f = 0; f < F; f++) {
            size_t row = (size_t)offsets[f] + idb[f];
            mtr_vec_copy(xb + (size_t)f * D, table + row * D, D);
        }
    }
}

/* ids is (B, F) stride ldi; x[b, f*D + j] = table[(offsets[f] + ids[b,f]) * D + j], x stride ldx */
void embedding_forward(float *x, int ldx, const uint32_t *ids, int ldi, const float *table,
                       const uint32_t *offsets, int B, int F, int D) {
    assert(B >= 0 && F >= 0 && D >= 0 && ldx >= F * D && ldi >= F);
    switch (D) {
    case 4: gather(x, ldx, ids, ldi, table, offsets, B, F, 4); break;
    case 8: gather(x, ldx, ids, ldi, table, offsets, B, F, 8); break;
    case 16: gather(x, ldx, ids, ldi, table, offsets, B, F, 16); break;
    default: gather(x, ldx, ids, ldi, table, offsets, B, F, D); break;
    }
}

/* dtable[offsets[f] + ids[b,f]] += dx[b, f*D : (f+1)*D]; repeated ids accumulate */
void embedding_backward(float *dtable, const float *dx, int lddx, const uint32_t *ids, int ldi,
                        const uint32_t *offsets, int B, int F, int D) {
    assert(B >= 0 && F >= 0 && D >= 0 && lddx >= F * D && ldi >= F);
    for (int b = 0; b < B; b++) {
        const float *dxb = dx + (size_t)b * lddx;
        const uint32_t *idb = ids + (size_t)b * ldi;
        for (int f = 0; f < F; f++) {
            size_t row = (size_t)offsets[f] + idb[f];
            mtr_vec_add(dtable + row * D, dxb + (size_t)f * D, D);
        }
    }
}

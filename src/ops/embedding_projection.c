/* embedding_projection.c - see embedding_projection.h. Inner loops run over the C columns with unit
 * stride so gcc vectorises them; nothing allocates after init. */
#include "ops/embedding_projection.h"

#include "ops/vec.h"

#include <stdlib.h>
#include <string.h>

/* dst[c] (+)= sum_i base[idx[i] * stride + c] for c < C, accumulating in registers 64 columns at a
 * time. With accumulate = 0, dst is overwritten. */
static void gather_sum(float *dst, int accumulate, const float *base, size_t stride, const uint32_t *idx, int n,
                       int C) {
    int c = 0;
#ifdef MTR_HAVE_VECTORS
    /* eight named accumulators: an array of vectors would live on the stack at -O2 */
    for (; c + 64 <= C; c += 64) {
        mtr_f8 a0, a1, a2, a3, a4, a5, a6, a7, x;
        if (accumulate) {
            mtr_load8(&a0, dst + c), mtr_load8(&a1, dst + c + 8), mtr_load8(&a2, dst + c + 16);
            mtr_load8(&a3, dst + c + 24), mtr_load8(&a4, dst + c + 32), mtr_load8(&a5, dst + c + 40);
            mtr_load8(&a6, dst + c + 48), mtr_load8(&a7, dst + c + 56);
        } else {
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = (mtr_f8)MTR_SPLAT(0.0f);
        }
        for (int i = 0; i < n; i++) {
            const float *r = base + (size_t)idx[i] * stride + c;
            mtr_load8(&x, r), a0 += x;
            mtr_load8(&x, r + 8), a1 += x;
            mtr_load8(&x, r + 16), a2 += x;
            mtr_load8(&x, r + 24), a3 += x;
            mtr_load8(&x, r + 32), a4 += x;
            mtr_load8(&x, r + 40), a5 += x;
            mtr_load8(&x, r + 48), a6 += x;
            mtr_load8(&x, r + 56), a7 += x;
        }
        mtr_store8(dst + c, &a0), mtr_store8(dst + c + 8, &a1), mtr_store8(dst + c + 16, &a2);
        mtr_store8(dst + c + 24, &a3), mtr_store8(dst + c + 32, &a4), mtr_store8(dst + c + 40, &a5);
        mtr_store8(dst + c + 48, &a6), mtr_store8(dst + c + 56, &a7);
    }
    for (; c + 8 <= C; c += 8) {
        mtr_f8 a;
        if (accumulate) mtr_load8(&a, dst + c);
        else a = (mtr_f8)MTR_SPLAT(0.0f);
        for (int i = 0; i < n; i++) {
            mtr_f8 x;
            mtr_load8(&x, base + (size_t)idx[i] * stride + c);
            a += x;
        }
        mtr_store8(dst + c, &a);
    }
#endif
    for (; c < C; c++) {
        float a = accumulate ? dst[c] : 0.0f;
        for (int i = 0; i < n; i++) a += base[(size_t)idx[i] * stride + c];
        dst[c] = a;
    }
}

int mtr_projection_init(mtr_projection *p, uint32_t table_rows, int n_fields, int dim, int cols, int max_batch) {
    memset(p, 0, sizeof *p);
    uint64_t uses = (uint64_t)max_batch * (uint64_t)n_fields;
    p->cols = cols;
    p->dim = dim;
    p->n_fields = n_fields;
    p->table_rows = table_rows;
    p->capacity = uses < table_rows ? (uint32_t)uses : table_rows;
    size_t cap = p->capacity ? p->capacity : 1;
    p->slot = malloc((table_rows ? table_rows : 1) * sizeof *p->slot);
    p->rows = malloc(cap * sizeof *p->rows);
    p->field = malloc(cap * sizeof *p->field);
    p->use = malloc((uses ? uses : 1) * sizeof *p->use);
    p->first = malloc((cap + 1) * sizeof *p->first);
    p->users = malloc((uses ? uses : 1) * sizeof *p->users);
    if (posix_memalign((void **)&p->proj, 64, cap * (size_t)cols * sizeof(float)) != 0) p->proj = NULL;
    if (!p->slot || !p->rows || !p->field || !p->use || !p->first || !p->users || !p->proj || n_fields > 65535) {
        mtr_projection_free(p);
        return -1;
    }
    memset(p->slot, 0xff, (size_t)table_rows * sizeof *p->slot);
    return 0;
}

void mtr_projection_free(mtr_projection *p) {
    free(p->slot);
    free(p->rows);
    free(p->field);
    free(p->use);
    free(p->first);
    free(p->users);
    free(p->proj);
    memset(p, 0, sizeof *p);
}

uint32_t embedding_projection_collect(mtr_projection *p, const uint32_t *ids, int ldi, const uint32_t *offsets,
                                      int B) {
    int F = p->n_fields;
    if (mtr_projection_whole_table(p)) {
        /* every row has its own slot: slot = row */
        if (!p->table_ready) {
            p->count = p->table_rows;
            for (int f = 0; f < F; f++)
                for (uint32_t r = offsets[f]; r < offsets[f + 1]; r++) p->rows[r] = r, p->field[r] = (uint16_t)f;
        }
        for (int b = 0; b < B; b++)
            for (int f = 0; f < F; f++) p->use[(size_t)b * F + f] = offsets[f] + ids[(size_t)b * ldi + f];
        return p->table_rows;
    }
    for (uint32_t u = 0; u < p->count; u++) p->slot[p->rows[u]] = -1;
    p->count = 0;
    for (int b = 0; b < B; b++) {
        const uint32_t *id = ids + (size_t)b * ldi;
        uint32_t *use = p->use + (size_t)b * F;
        for (int f = 0; f < F; f++) {
            uint32_t row = offsets[f] + id[f];
            int32_t s = p->slot[row];
            if (s < 0) {
                s = (int32_t)p->count++;
                p->slot[row] = s;
                p->rows[s] = row;
                p->field[s] = (uint16_t)f;
            }
            use[f] = (uint32_t)s;
        }
    }
    return p->count;
}

void embedding_projection_forward(mtr_projection *p, float *z, int ldz, const float *table, const float *w,
                                  int ldw, int B) {
    const int C = p->cols, k = p->dim, F = p->n_fields;
    /* P[u] = E[row u] W_f, for the batch's rows, or once for the whole table when frozen */
    uint32_t to_project = p->table_ready ? 0 : p->count;
    if (mtr_projection_whole_table(p)) p->table_ready = 1;
    for (uint32_t u = 0; u < to_project; u++) {
        float *out = p->proj + (size_t)u * C;
        const float *e = table + (size_t)p->rows[u] * k;
        const float *wf = w + (size_t)p->field[u] * k * ldw;
        memset(out, 0, (size_t)C * sizeof *out);
        for (int j = 0; j < k; j++) mtr_vec_axpy(out, e[j], wf + (size_t)j * ldw, C);
    }
    /* z[b] += sum_f P[use(b, f)] */
    for (int b = 0; b < B; b++) gather_sum(z + (size_t)b * ldz, 1, p->proj, (size_t)C, p->use + (size_t)b * F, F, C);
}

void embedding_projection_backward(mtr_projection *p, float *dw, int lddw, mtr_sparse_rows *dtable,
                                   const float *dz, int lddz, const float *table, const float *w, int ldw,
                                   int B) {
    const int C = p->cols, k = p->dim, F = p->n_fields;
    float *S = p->proj;
    /* group the samples by slot (counting sort, stable in sample order) */
    uint32_t U = p->count, n_uses = (uint32_t)B * (uint32_t)F;
    memset(p->first, 0, ((size_t)U + 1) * sizeof *p->first);
    for (uint32_t i = 0; i < n_uses; i++) p->first[p->use[i] + 1]++;
    for (uint32_t u = 0; u < U; u++) p->first[u + 1] += p->first[u];
    for (uint32_t i = 0; i < n_uses; i++) p->users[p->first[p->use[i]]++] = i / (uint32_t)F;
    /* first[u] now holds the end of slot u's samples, which is where slot u + 1's begin */
    for (uint32_t u = 0; u < U; u++) {
        uint32_t begin = u ? p->first[u - 1] : 0, end = p->first[u];
        /* S[u] = sum of dz rows of the samples that use u */
        float *s = S + (size_t)u * C;
        gather_sum(s, 0, dz, (size_t)lddz, p->users + begin, (int)(end - begin), C);
        const float *e = table + (size_t)p->rows[u] * k;
        size_t w_row = (size_t)p->field[u] * k;
        float *de = mtr_sparse_rows_at(dtable, p->rows[u]);
        for (int j = 0; j < k; j++) {
            /* dW_f[j] += e_j S[u] ; dE[u][j] += S[u] . W_f[j] */
            mtr_vec_axpy(dw + (w_row + (size_t)j) * lddw, e[j], s, C);
            de[j] += mtr_vec_dot(s, w + (w_row + (size_t)j) * ldw, C);
        }
    }
}

/* embedding_projection.c - see embedding_projection.h. Inner loops run over the C columns with unit
 * stride so gcc vectorises them; nothing allocates after init. */
#include "ops/embedding_projection.h"

#include <stdlib.h>
#include <string.h>

#include "ops/vec.h"

/* dst[c] (+)= sum_i wt[i] * base[idx[i] * stride + c] for c < C (wt NULL: all 1), accumulating in
 * registers 64 columns at a time. With accumulate = 0, dst is overwritten. */
static void gather_sum(float *dst, int accumulate, const float *base, size_t stride, const uint32_t *idx,
                       const float *wt, int n, int C) {
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
        if (!wt) {
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
        } else {
            for (int i = 0; i < n; i++) {
                const float *r = base + (size_t)idx[i] * stride + c;
                mtr_f8 w = MTR_SPLAT(wt[i]);
                mtr_load8(&x, r), a0 += w * x;
                mtr_load8(&x, r + 8), a1 += w * x;
                mtr_load8(&x, r + 16), a2 += w * x;
                mtr_load8(&x, r + 24), a3 += w * x;
                mtr_load8(&x, r + 32), a4 += w * x;
                mtr_load8(&x, r + 40), a5 += w * x;
                mtr_load8(&x, r + 48), a6 += w * x;
                mtr_load8(&x, r + 56), a7 += w * x;
            }
        }
        mtr_store8(dst + c, &a0), mtr_store8(dst + c + 8, &a1), mtr_store8(dst + c + 16, &a2);
        mtr_store8(dst + c + 24, &a3), mtr_store8(dst + c + 32, &a4), mtr_store8(dst + c + 40, &a5);
        mtr_store8(dst + c + 48, &a6), mtr_store8(dst + c + 56, &a7);
    }
    for (; c + 8 <= C; c += 8) {
        mtr_f8 a, x;
        if (accumulate) mtr_load8(&a, dst + c);
        else a = (mtr_f8)MTR_SPLAT(0.0f);
        for (int i = 0; i < n; i++) {
            mtr_load8(&x, base + (size_t)idx[i] * stride + c);
            if (wt) {
                mtr_f8 w = MTR_SPLAT(wt[i]);
                a += w * x;
            } else {
                a += x;
            }
        }
        mtr_store8(dst + c, &a);
    }
#endif
    for (; c < C; c++) {
        float a = accumulate ? dst[c] : 0.0f;
        for (int i = 0; i < n; i++) a += (wt ? wt[i] : 1.0f) * base[(size_t)idx[i] * stride + c];
        dst[c] = a;
    }
}

int mtr_projection_init(mtr_projection *p, uint32_t virtual_rows, int n_fields, int dim, int cols, int max_batch,
                        uint32_t max_ids_per_row) {
    memset(p, 0, sizeof *p);
    uint64_t entries = (uint64_t)max_batch * (uint64_t)max_ids_per_row;
    if (entries > UINT32_MAX || n_fields > 65535) return -1;
    p->cols = cols;
    p->dim = dim;
    p->n_fields = n_fields;
    p->virtual_rows = virtual_rows;
    p->max_batch = max_batch;
    p->max_entries = (uint32_t)entries;
    p->capacity = entries < virtual_rows ? (uint32_t)entries : virtual_rows;
    size_t cap = p->capacity ? p->capacity : 1, ent = entries ? entries : 1;
    p->slot = malloc((virtual_rows ? virtual_rows : 1) * sizeof *p->slot);
    p->rows = malloc(cap * sizeof *p->rows);
    p->field = malloc(cap * sizeof *p->field);
    p->entry_start = malloc(((size_t)max_batch + 1) * sizeof *p->entry_start);
    p->use = malloc(ent * sizeof *p->use);
    p->weight = malloc(ent * sizeof *p->weight);
    p->first = malloc((cap + 1) * sizeof *p->first);
    p->users = malloc(2 * ent * sizeof *p->users);
    if (posix_memalign((void **)&p->proj, 64, cap * (size_t)cols * sizeof(float)) != 0) p->proj = NULL;
    if (!p->slot || !p->rows || !p->field || !p->entry_start || !p->use || !p->weight || !p->first || !p->users ||
        !p->proj) {
        mtr_projection_free(p);
        return -1;
    }
    memset(p->slot, 0xff, (size_t)virtual_rows * sizeof *p->slot);
    return 0;
}

void mtr_projection_free(mtr_projection *p) {
    free(p->slot);
    free(p->rows);
    free(p->field);
    free(p->entry_start);
    free(p->use);
    free(p->weight);
    free(p->first);
    free(p->users);
    free(p->proj);
    memset(p, 0, sizeof *p);
}

uint32_t embedding_projection_collect(mtr_projection *p, const mtr_field_layout *lay, const uint32_t *id_start,
                                      const uint32_t *ids, int B) {
    int F = p->n_fields, whole = mtr_projection_whole_table(p);
    if (whole) {
        /* every virtual row has its own slot: slot = virtual row */
        if (!p->table_ready) {
            p->count = p->virtual_rows;
            for (int f = 0; f < F; f++)
                for (uint32_t v = lay->virtual_offset[f]; v < lay->virtual_offset[f + 1]; v++)
                    p->rows[v] = lay->table_offset[f] + (v - lay->virtual_offset[f]), p->field[v] = (uint16_t)f;
        }
    } else {
        for (uint32_t u = 0; u < p->count; u++) {
            uint32_t v = lay->virtual_offset[p->field[u]] + (p->rows[u] - lay->table_offset[p->field[u]]);
            p->slot[v] = -1;
        }
        p->count = 0;
    }
    int weighted = 0; /* mean pooling anywhere: weights are written */
    if (lay->pool_mean)
        for (int f = 0; f < F; f++) weighted |= lay->pool_mean[f];
    uint32_t e = 0;
    int unit = 1;
    for (int b = 0; b < B; b++) {
        p->entry_start[b] = e;
        const uint32_t *start = id_start + (size_t)b * F;
        for (int f = 0; f < F; f++) {
            uint32_t lo = start[f], hi = start[f + 1], voff = lay->virtual_offset[f];
            if (whole) {
                for (uint32_t i = lo; i < hi; i++) p->use[e + i - lo] = voff + ids[i];
            } else {
                for (uint32_t i = lo; i < hi; i++) {
                    uint32_t v = voff + ids[i];
                    int32_t s = p->slot[v];
                    if (s < 0) {
                        s = (int32_t)p->count++;
                        p->slot[v] = s;
                        p->rows[s] = lay->table_offset[f] + ids[i];
                        p->field[s] = (uint16_t)f;
                    }
                    p->use[e + i - lo] = (uint32_t)s;
                }
            }
            if (weighted) {
                float w = lay->pool_mean[f] && hi - lo > 1 ? 1.0f / (float)(hi - lo) : 1.0f;
                unit &= w == 1.0f;
                for (uint32_t i = lo; i < hi; i++) p->weight[e + i - lo] = w;
            }
            e += hi - lo;
        }
    }
    p->entry_start[B] = e;
    p->n_entries = e;
    p->unit_weights = unit;
    return p->count;
}

void embedding_projection_forward(mtr_projection *p, float *z, int ldz, const float *table, const float *w,
                                  int ldw, int B) {
    const int C = p->cols, k = p->dim;
    /* P[u] = E[row u] W_f, for the batch's pairs, or once for the whole table when frozen */
    uint32_t to_project = p->table_ready ? 0 : p->count;
    if (mtr_projection_whole_table(p)) p->table_ready = 1;
    for (uint32_t u = 0; u < to_project; u++) {
        float *out = p->proj + (size_t)u * C;
        const float *e = table + (size_t)p->rows[u] * k;
        const float *wf = w + (size_t)p->field[u] * k * ldw;
        memset(out, 0, (size_t)C * sizeof *out);
        for (int j = 0; j < k; j++) mtr_vec_axpy(out, e[j], wf + (size_t)j * ldw, C);
    }
    /* z[b] += sum over row b's ids of w P[use] */
    for (int b = 0; b < B; b++) {
        uint32_t lo = p->entry_start[b], n = p->entry_start[b + 1] - lo;
        gather_sum(z + (size_t)b * ldz, 1, p->proj, (size_t)C, p->use + lo, p->unit_weights ? NULL : p->weight + lo,
                   (int)n, C);
    }
}

void embedding_projection_backward(mtr_projection *p, float *dw, int lddw, mtr_sparse_rows *dtable,
                                   const float *dz, int lddz, const float *table, const float *w, int ldw,
                                   int B) {
    const int C = p->cols, k = p->dim;
    float *S = p->proj;
    /* group the ids by slot (counting sort, stable in batch order): users holds their rows (samples),
     * and after it their weights */
    uint32_t U = p->count, n = p->n_entries;
    uint32_t *sample = p->users;
    float *sample_weight = (float *)(p->users + p->max_entries);
    memset(p->first, 0, ((size_t)U + 1) * sizeof *p->first);
    for (uint32_t e = 0; e < n; e++) p->first[p->use[e] + 1]++;
    for (uint32_t u = 0; u < U; u++) p->first[u + 1] += p->first[u];
    for (int b = 0; b < B; b++)
        for (uint32_t e = p->entry_start[b]; e < p->entry_start[b + 1]; e++) {
            uint32_t at = p->first[p->use[e]]++;
            sample[at] = (uint32_t)b;
            sample_weight[at] = p->weight[e];
        }
    /* first[u] now holds the end of slot u's ids, which is where slot u + 1's begin */
    for (uint32_t u = 0; u < U; u++) {
        uint32_t begin = u ? p->first[u - 1] : 0, end = p->first[u];
        if (end == begin) continue; /* frozen-table slots a batch did not use */
        /* S[u] = sum of w dz over the ids that use u */
        float *s = S + (size_t)u * C;
        gather_sum(s, 0, dz, (size_t)lddz, sample + begin, p->unit_weights ? NULL : sample_weight + begin,
                   (int)(end - begin), C);
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

void embedding_bag_forward(const mtr_field_layout *lay, const uint32_t *id_start, const uint32_t *ids, float *x,
                           int ldx, const float *table, int k, int B) {
    const int F = lay->n_fields;
    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * ldx;
        memset(xb, 0, (size_t)F * k * sizeof *xb);
        const uint32_t *start = id_start + (size_t)b * F;
        for (int f = 0; f < F; f++) {
            uint32_t lo = start[f], hi = start[f + 1];
            float w = lay->pool_mean && lay->pool_mean[f] && hi - lo > 1 ? 1.0f / (float)(hi - lo) : 1.0f;
            for (uint32_t i = lo; i < hi; i++)
                mtr_vec_axpy(xb + (size_t)f * k, w, table + (size_t)(lay->table_offset[f] + ids[i]) * k, k);
        }
    }
}

void embedding_bag_backward(const mtr_field_layout *lay, const uint32_t *id_start, const uint32_t *ids,
                            mtr_sparse_rows *dtable, const float *dx, int lddx, int k, int B) {
    const int F = lay->n_fields;
    for (int b = 0; b < B; b++) {
        const float *db = dx + (size_t)b * lddx;
        const uint32_t *start = id_start + (size_t)b * F;
        for (int f = 0; f < F; f++) {
            uint32_t lo = start[f], hi = start[f + 1];
            float w = lay->pool_mean && lay->pool_mean[f] && hi - lo > 1 ? 1.0f / (float)(hi - lo) : 1.0f;
            for (uint32_t i = lo; i < hi; i++)
                mtr_vec_axpy(mtr_sparse_rows_at(dtable, lay->table_offset[f] + ids[i]), w, db + (size_t)f * k, k);
        }
    }
}

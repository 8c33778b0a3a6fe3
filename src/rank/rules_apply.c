/* rules_apply.c - ranking one request: fused scores, then the rules in order (rules.h says how score and
 * positional rules interact), then the exposure counts of what is shown. Everything works in a context
 * whose scratch is sized once for max_candidates, so a request allocates nothing.
 *
 * Orders are arrays of candidate indices. Sorting is a stable LSD radix sort on a 32-bit key made from
 * the float score (descending, -0 = +0, NaN last), run over the candidates already in "fused score, then
 * index" order, which makes that the tie-break for free. Positional moves are a merge of two runs by
 * target position; diversity is one greedy pass over the current list with a small hash table of key
 * counts (stamped, so it is never cleared). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rank/fusion.h"
#include "rank/rules.h"
#include "util/error.h"

#define LIVE 1u     /* flag: still in the list */
#define SELECTED 2u /* flag: chosen by the rule being applied */
#define SCORED 4u   /* flag: a score rule changed its adjusted score */

struct mtr_rank_context {
    const mtr_fusion *fusion;    /* borrowed; NULL: mtr_rank_scored only */
    const mtr_rules *rules;      /* borrowed; NULL: no rules */
    size_t max_n;                /* longest list accepted */
    int n_vars;                  /* columns a candidate row must have for the fusion */
    int n_cols_read;             /* columns the rules read (a scored list needs only these) */
    int n_keys;                  /* columns a key row must have */
    mtr_exposure_store *store;   /* in use: the caller's or own_store; NULL without an exposure rule */
    mtr_exposure_store own_store;/* the in-process store when the caller gave none */
    uint64_t last_request;       /* the latest request number (the clock when lists give none) */
    /* by candidate index, (max_n) each */
    float *fused;                /* fused (or given) score */
    float *adjusted;             /* after score rules */
    uint32_t *position;          /* final position or UINT32_MAX */
    uint32_t *fused_position;    /* position in the fused order */
    uint32_t *rules_mask;        /* rules that acted on it */
    int8_t *rule;                /* last rule that acted on it */
    uint8_t *reason;             /* what it did */
    uint8_t *flags;              /* LIVE, SELECTED */
    /* orders and work arrays, (max_n) each */
    uint32_t *base;              /* all candidates by fused score, then index */
    uint32_t *order;             /* the live list, then (in the result) the dropped ones */
    uint32_t *dropped;           /* dropped candidates in the order they were dropped */
    uint32_t *tmp_a, *tmp_b, *tmp_c; /* sort and merge buffers */
    uint32_t *key_a, *key_b;     /* sort keys / positions */
    uint32_t *sel;               /* candidates the current rule selected, in list order */
    uint64_t *ids;               /* item ids of the shown candidates, for the store */
    uint32_t *counts;            /* exposure counts from the store, by candidate */
    /* diversity: key value -> count, valid where stamp matches the current pass */
    uint32_t *h_key, *h_count, *h_stamp;
    uint32_t h_mask;             /* table size - 1 */
    uint32_t stamp;              /* current pass */
    void *slab;                  /* the one allocation behind every array above */
};

/* ---------------------------------------------------------------- context */

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static int same_names(char *const *a, int na, char *const *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return 0;
    return 1;
}

mtr_rank_context *mtr_rank_context_create(const mtr_fusion *fusion, const mtr_rules *rules, size_t max_candidates,
                                          mtr_exposure_store *store, mtr_error *err) {
    if (max_candidates == 0 || max_candidates > ((size_t)1 << 30)) {
        mtr_fail(err, "rank: max_candidates %zu, need 1 to 2^30", max_candidates);
        return NULL;
    }
    if (fusion && rules && rules->n_vars > 0 &&
        !same_names(fusion->var_names, fusion->n_vars, rules->var_names, rules->n_vars)) {
        mtr_fail(err, "rank: the rules were bound to %d variables and the fusion to %d, not the same columns in the "
                 "same order", rules->n_vars, fusion->n_vars);
        return NULL;
    }
    mtr_rank_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        mtr_fail(err, "rank: out of memory");
        return NULL;
    }
    ctx->fusion = fusion;
    ctx->rules = rules;
    ctx->max_n = max_candidates;
    ctx->n_cols_read = rules ? rules->n_cols_read : 0;
    ctx->n_vars = fusion ? fusion->n_vars : 0;
    if (ctx->n_cols_read > ctx->n_vars) ctx->n_vars = ctx->n_cols_read;
    ctx->n_keys = rules ? rules->n_keys : 0;

    size_t top = rules && rules->max_top > 0 ? (size_t)rules->max_top : 0;
    if (top > max_candidates) top = max_candidates;
    size_t h_size = 16;
    while (top && h_size < 2 * top) h_size *= 2;
    size_t n = max_candidates, off = 0;
    size_t o_fused = off; off += align64(n * 4);
    size_t o_adj = off; off += align64(n * 4);
    size_t o_pos = off; off += align64(n * 4);
    size_t o_fpos = off; off += align64(n * 4);
    size_t o_mask = off; off += align64(n * 4);
    size_t o_rule = off; off += align64(n);
    size_t o_reason = off; off += align64(n);
    size_t o_flags = off; off += align64(n);
    size_t o_base = off; off += align64(n * 4);
    size_t o_order = off; off += align64(n * 4);
    size_t o_drop = off; off += align64(n * 4);
    size_t o_ta = off; off += align64(n * 4);
    size_t o_tb = off; off += align64(n * 4);
    size_t o_tc = off; off += align64(n * 4);
    size_t o_ka = off; off += align64(n * 4);
    size_t o_kb = off; off += align64(n * 4);
    size_t o_sel = off; off += align64(n * 4);
    size_t o_ids = off; off += align64(n * 8);
    size_t o_counts = off; off += align64(n * 4);
    size_t o_hk = off; off += align64(h_size * 4);
    size_t o_hc = off; off += align64(h_size * 4);
    size_t o_hs = off; off += align64(h_size * 4);
    char *slab = aligned_alloc(64, off);
    if (!slab) {
        free(ctx);
        mtr_fail(err, "rank: out of memory for %zu candidates (%zu bytes)", max_candidates, off);
        return NULL;
    }
    memset(slab, 0, off);
    ctx->slab = slab;
    ctx->fused = (float *)(slab + o_fused);
    ctx->adjusted = (float *)(slab + o_adj);
    ctx->position = (uint32_t *)(slab + o_pos);
    ctx->fused_position = (uint32_t *)(slab + o_fpos);
    ctx->rules_mask = (uint32_t *)(slab + o_mask);
    ctx->rule = (int8_t *)(slab + o_rule);
    ctx->reason = (uint8_t *)(slab + o_reason);
    ctx->flags = (uint8_t *)(slab + o_flags);
    ctx->base = (uint32_t *)(slab + o_base);
    ctx->order = (uint32_t *)(slab + o_order);
    ctx->dropped = (uint32_t *)(slab + o_drop);
    ctx->tmp_a = (uint32_t *)(slab + o_ta);
    ctx->tmp_b = (uint32_t *)(slab + o_tb);
    ctx->tmp_c = (uint32_t *)(slab + o_tc);
    ctx->key_a = (uint32_t *)(slab + o_ka);
    ctx->key_b = (uint32_t *)(slab + o_kb);
    ctx->sel = (uint32_t *)(slab + o_sel);
    ctx->ids = (uint64_t *)(slab + o_ids);
    ctx->counts = (uint32_t *)(slab + o_counts);
    ctx->h_key = (uint32_t *)(slab + o_hk);
    ctx->h_count = (uint32_t *)(slab + o_hc);
    ctx->h_stamp = (uint32_t *)(slab + o_hs);
    ctx->h_mask = (uint32_t)(h_size - 1);

    if (rules && rules->exposure_rule >= 0) {
        if (store) {
            ctx->store = store;
        } else {
            const rank_rule *r = &rules->rules[rules->exposure_rule];
            /* the window's requests plus the current one, each showing `shown` */
            size_t cap = ((size_t)r->u.exposure.window + 1) * (size_t)r->u.exposure.shown;
            if (mtr_exposure_memory_init(&ctx->own_store, cap, err) != 0) {
                mtr_fail_prefix(err, "rank: exposure_cap on line %d", r->line);
                mtr_rank_context_free(ctx);
                return NULL;
            }
            ctx->store = &ctx->own_store;
        }
    }
    return ctx;
}

void mtr_rank_context_free(mtr_rank_context *ctx) {
    if (!ctx) return;
    if (ctx->store == &ctx->own_store) mtr_exposure_store_destroy(&ctx->own_store);
    free(ctx->slab);
    free(ctx);
}

/* ---------------------------------------------------------------- sorting */

/* Ascending key for descending scores: -0 = +0, NaN after everything. */
static inline uint32_t desc_key(float f) {
    if (f != f) return UINT32_MAX;
    if (f == 0.0f) f = 0.0f;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending in f */
    return ~u;
}

/* Stable sort of idx[0..m) by key[0..m) ascending, using tmp_idx and tmp_key; the result ends in idx. */
static void radix_sort(uint32_t *idx, uint32_t *key, uint32_t *tmp_idx, uint32_t *tmp_key, size_t m) {
    if (m < 2) return;
    if (m <= 24) { /* insertion sort: stable, and cheaper than four passes on tiny lists */
        for (size_t i = 1; i < m; i++) {
            uint32_t k = key[i], v = idx[i];
            size_t j = i;
            for (; j > 0 && key[j - 1] > k; j--) key[j] = key[j - 1], idx[j] = idx[j - 1];
            key[j] = k, idx[j] = v;
        }
        return;
    }
    uint32_t hist[4][256];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < m; i++) {
        uint32_t k = key[i];
        hist[0][k & 255]++;
        hist[1][(k >> 8) & 255]++;
        hist[2][(k >> 16) & 255]++;
        hist[3][k >> 24]++;
    }
    uint32_t *si = idx, *sk = key, *di = tmp_idx, *dk = tmp_key;
    for (int pass = 0; pass < 4; pass++) {
        uint32_t *h = hist[pass];
        int shift = 8 * pass;
        if (h[(sk[0] >> shift) & 255] == m) continue; /* every key has this digit: nothing moves */
        uint32_t sum = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < m; i++) {
            uint32_t k = sk[i], at = h[(k >> shift) & 255]++;
            di[at] = si[i];
            dk[at] = k;
        }
        uint32_t *t = si;
        si = di, di = t;
        t = sk, sk = dk, dk = t;
    }
    if (si != idx) memcpy(idx, si, m * sizeof *idx);
}

/* order[0..m) = the live candidates by adjusted score, then fused score, then index. The ones no score
 * rule touched still have adjusted = fused, so in base order they are already sorted; only the re-scored
 * ones are sorted (stably, from base order), then the two runs are merged on (adjusted key, fused
 * position). One full sort per request instead of one per group of score rules. */
static void sort_live(mtr_rank_context *ctx, size_t n) {
    uint32_t *u = ctx->tmp_c, *s = ctx->tmp_a, *s_key = ctx->key_a;
    const uint32_t *base = ctx->base, *fpos = ctx->fused_position;
    const uint8_t *flags = ctx->flags;
    const float *adj = ctx->adjusted;
    size_t nu = 0, ns = 0;
    for (size_t p = 0; p < n; p++) {
        uint32_t c = base[p];
        uint8_t fl = flags[c];
        if (!(fl & LIVE)) continue;
        if (fl & SCORED) {
            s[ns] = c;
            s_key[ns++] = desc_key(adj[c]);
        } else {
            u[nu++] = c;
        }
    }
    radix_sort(s, s_key, ctx->tmp_b, ctx->key_b, ns);
    uint32_t *out = ctx->order;
    size_t i = 0, j = 0, k = 0;
    while (i < nu && j < ns) {
        uint32_t cu = u[i], ku = desc_key(adj[cu]);
        int take_s = s_key[j] < ku || (s_key[j] == ku && fpos[s[j]] < fpos[cu]);
        out[k++] = take_s ? s[j] : cu;
        j += (size_t)take_s;
        i += (size_t)!take_s;
    }
    while (i < nu) out[k++] = u[i++];
    while (j < ns) out[k++] = s[j++];
}

/* ---------------------------------------------------------------- rules */

static inline void mark(mtr_rank_context *ctx, uint32_t c, int r, mtr_rank_reason why) {
    ctx->rule[c] = (int8_t)r;
    ctx->reason[c] = (uint8_t)why;
    ctx->rules_mask[c] |= 1u << r;
}

static inline unsigned nonzero(float v) { return (v != 0.0f) & (v == v); } /* NaN is not selected */

/* Set SELECTED on the live candidates rule r picks and clear it on the others; the picked ones also go,
 * in list order, to ctx->sel[0..*n_selected). Branch-free: a pick is a coin flip to the predictor. */
static int select_rule(mtr_rank_context *ctx, const rank_rule *r, const mtr_rank_list *list, size_t m,
                       uint64_t now, size_t *n_selected, mtr_error *err) {
    const uint32_t *restrict order = ctx->order;
    uint8_t *restrict flags = ctx->flags;
    uint32_t *restrict sel = ctx->sel;
    size_t k = 0;
#define PICK(COND)                                                                                 \
    for (size_t p = 0; p < m; p++) {                                                               \
        uint32_t c = order[p];                                                                     \
        unsigned s_ = (COND);                                                                      \
        flags[c] = (uint8_t)((flags[c] & ~SELECTED) | (s_ ? SELECTED : 0));                        \
        sel[k] = c;                                                                                \
        k += s_;                                                                                   \
    }
    if (r->kind == RULE_EXPOSURE_CAP) {
        mtr_exposure_store *st = ctx->store;
        uint64_t window = (uint64_t)r->u.exposure.window;
        if (now > window && st->expire(st->state, now - window, err) != 0) return -1;
        /* counts for every candidate in index order: no gather, and a few dropped ones cost little */
        if (list->n > 0 && st->get(st->state, list->item_ids, list->n, ctx->counts, err) != 0) return -1;
        const uint32_t *restrict counts = ctx->counts;
        uint32_t cap = (uint32_t)r->u.exposure.max_shown;
        PICK(counts[c] >= cap)
    } else {
        const float *restrict col = list->x + r->u.select.field;
        size_t stride = list->stride;
        float thr = r->u.select.threshold;
        switch (r->u.select.test) {
        case TEST_NONZERO: PICK(nonzero(col[(size_t)c * stride])) break;
        case TEST_BELOW: PICK(col[(size_t)c * stride] < thr) break;
        default: PICK(col[(size_t)c * stride] > thr) break;
        }
    }
#undef PICK
    *n_selected = k;
    return 0;
}

/* Move the selected candidates up (or down) by `dist` positions: a selected candidate at position p goes
 * just above the one that was at p - dist (just below the one at p + dist); the others and the selected
 * among themselves keep their order. A merge of the two runs by target 2p (others) and 2(p -+ dist) -+ 1. */
static void move_selected(mtr_rank_context *ctx, size_t m, int dist, int up, int r) {
    size_t nu = 0, ns = 0;
    uint32_t *u_c = ctx->tmp_a, *u_pos = ctx->key_a, *s_c = ctx->tmp_b, *s_pos = ctx->key_b;
    for (size_t p = 0; p < m; p++) {
        uint32_t c = ctx->order[p];
        size_t is_sel = (ctx->flags[c] & SELECTED) != 0;
        s_c[ns] = c, s_pos[ns] = (uint32_t)p;
        u_c[nu] = c, u_pos[nu] = (uint32_t)p;
        ns += is_sel;
        nu += !is_sel;
    }
    size_t i = 0, j = 0, out = 0;
    while (i < nu || j < ns) {
        int take_s;
        if (i == nu) take_s = 1;
        else if (j == ns) take_s = 0;
        else {
            int64_t tu = 2 * (int64_t)u_pos[i];
            int64_t ts = up ? 2 * ((int64_t)s_pos[j] - dist) - 1 : 2 * ((int64_t)s_pos[j] + dist) + 1;
            take_s = ts < tu;
        }
        if (take_s) ctx->order[out++] = s_c[j++];
        else ctx->order[out++] = u_c[i++];
    }
    for (size_t k = 0; k < ns; k++) mark(ctx, s_c[k], r, up ? MTR_REASON_UP : MTR_REASON_DOWN);
}

/* At most max_per_key candidates of one key value in the first `top` positions: walk the list taking
 * each candidate whose key is under its limit until the top is full; the passed-over candidates follow
 * in their order, then the rest. If the list runs out first, the passed-over ones fill the top anyway
 * (the limit cannot be met). Marked: those that ended lower than they were. */
static void diversity(mtr_rank_context *ctx, const rank_rule *r, const mtr_rank_list *list, size_t m, int ri) {
    size_t top = (size_t)r->u.diversity.top < m ? (size_t)r->u.diversity.top : m;
    uint32_t limit = (uint32_t)r->u.diversity.max_per_key;
    const uint32_t *keys = list->keys + r->u.diversity.key;
    size_t ks = list->key_stride;
    if (++ctx->stamp == 0) { /* wrapped: forget every old stamp */
        memset(ctx->h_stamp, 0, ((size_t)ctx->h_mask + 1) * sizeof *ctx->h_stamp);
        ctx->stamp = 1;
    }
    uint32_t *taken = ctx->tmp_a, *passed = ctx->tmp_b, *passed_pos = ctx->key_a;
    size_t n_taken = 0, n_passed = 0, p = 0;
    for (; p < m && n_taken < top; p++) {
        uint32_t c = ctx->order[p], kv = keys[(size_t)c * ks];
        if (kv == MTR_RANK_NO_KEY) {
            taken[n_taken++] = c;
            continue;
        }
        uint32_t h = (kv * 0x9e3779b1u) & ctx->h_mask;
        while (ctx->h_stamp[h] == ctx->stamp && ctx->h_key[h] != kv) h = (h + 1) & ctx->h_mask;
        if (ctx->h_stamp[h] != ctx->stamp) { /* first of its key */
            ctx->h_stamp[h] = ctx->stamp;
            ctx->h_key[h] = kv;
            ctx->h_count[h] = 0;
        }
        if (ctx->h_count[h] < limit) {
            ctx->h_count[h]++;
            taken[n_taken++] = c;
        } else {
            passed_pos[n_passed] = (uint32_t)p;
            passed[n_passed++] = c;
        }
    }
    /* n_taken + n_passed == p: the rest of the list stays where it is */
    memcpy(ctx->order, taken, n_taken * sizeof *taken);
    memcpy(ctx->order + n_taken, passed, n_passed * sizeof *passed);
    for (size_t k = 0; k < n_passed; k++)
        if (n_taken + k > passed_pos[k]) mark(ctx, passed[k], ri, MTR_REASON_DIVERSITY);
}

/* ---------------------------------------------------------------- one request */

/* `cols`: columns the candidate matrix must have (the fusion's when it runs, else the rules'). */
static int check_list(const mtr_rank_context *ctx, const mtr_rank_list *list, int cols, mtr_error *err) {
    if (!list) return mtr_fail(err, "rank: no list");
    if (list->n > ctx->max_n)
        return mtr_fail(err, "rank: %zu candidates, more than the %zu this context was created for", list->n,
                        ctx->max_n);
    if (list->n == 0) return 0;
    if (cols > 0 && (!list->x || list->stride < (size_t)cols))
        return mtr_fail(err, "rank: the candidate matrix needs %d columns (stride %zu%s)", cols, list->stride,
                        list->x ? "" : ", no matrix");
    const mtr_rules *rules = ctx->rules;
    if (!rules) return 0;
    int need_keys = 0;
    for (int i = 0; i < rules->n_rules; i++) need_keys |= rules->rules[i].kind == RULE_DIVERSITY;
    if (need_keys && (!list->keys || list->key_stride < (size_t)ctx->n_keys))
        return mtr_fail(err, "rank: the diversity rules need a key matrix of %d columns (key_stride %zu%s)",
                        ctx->n_keys, list->key_stride, list->keys ? "" : ", no keys");
    if (rules->exposure_rule >= 0 && !list->item_ids)
        return mtr_fail(err, "rank: the exposure_cap rule on line %d needs item ids",
                        rules->rules[rules->exposure_rule].line);
    return 0;
}

/* The rules over ctx->fused[0..n). */
static int apply(mtr_rank_context *ctx, const mtr_rank_list *list, mtr_rank_result *out, mtr_error *err) {
    size_t n = list->n;
    uint64_t now = list->request ? list->request : ctx->last_request + 1;
    if (now < ctx->last_request)
        return mtr_fail(err, "rank: request %llu comes after request %llu", (unsigned long long)now,
                        (unsigned long long)ctx->last_request);
    ctx->last_request = now;

    {   /* local restrict pointers: the byte stores would otherwise make GCC reload every ctx field */
        const float *restrict fused = ctx->fused;
        float *restrict adjusted = ctx->adjusted;
        uint32_t *restrict base = ctx->base, *restrict key = ctx->key_a, *restrict mask = ctx->rules_mask;
        memcpy(adjusted, fused, n * sizeof *adjusted);
        memset(ctx->rule, -1, n);
        memset(ctx->reason, MTR_REASON_NONE, n);
        memset(ctx->flags, LIVE, n);
        memset(mask, 0, n * sizeof *mask);
        for (size_t i = 0; i < n; i++) {
            base[i] = (uint32_t)i;
            key[i] = desc_key(fused[i]);
        }
        radix_sort(base, key, ctx->tmp_a, ctx->key_b, n);
        uint32_t *restrict fpos = ctx->fused_position;
        for (size_t p = 0; p < n; p++) fpos[base[p]] = (uint32_t)p;
        memcpy(ctx->order, base, n * sizeof *base);
    }
    size_t m = n, n_dropped = 0;
    int dirty = 0; /* adjusted scores changed since the list was last sorted */
    const mtr_rules *rules = ctx->rules;
    for (int ri = 0; rules && ri < rules->n_rules; ri++) {
        const rank_rule *r = &rules->rules[ri];
        if (r->kind == RULE_DIVERSITY) {
            if (dirty) sort_live(ctx, n), dirty = 0;
            diversity(ctx, r, list, m, ri);
            continue;
        }
        size_t n_sel;
        if (select_rule(ctx, r, list, m, now, &n_sel, err) != 0)
            return mtr_fail_prefix(err, "rank: rule %d (line %d)", ri, r->line);
        if (n_sel == 0) continue;
        switch (r->effect) {
        case EFFECT_MULTIPLY:
        case EFFECT_ADD: {
            float a = r->amount;
            int mul = r->effect == EFFECT_MULTIPLY;
            for (size_t j = 0; j < n_sel; j++) {
                uint32_t c = ctx->sel[j];
                ctx->adjusted[c] = mul ? ctx->adjusted[c] * a : ctx->adjusted[c] + a;
                ctx->flags[c] |= SCORED;
                mark(ctx, c, ri, MTR_REASON_SCORE);
            }
            dirty = 1;
            break;
        }
        case EFFECT_UP:
        case EFFECT_DOWN:
            if (dirty) { /* SELECTED is by candidate, so it survives the sort */
                sort_live(ctx, n);
                dirty = 0;
            }
            move_selected(ctx, m, r->positions, r->effect == EFFECT_UP, ri);
            break;
        case EFFECT_DROP: {
            size_t k = 0;
            uint32_t *restrict order = ctx->order;
            const uint8_t *restrict flags = ctx->flags;
            for (size_t p = 0; p < m; p++) { /* in place: k <= p */
                uint32_t c = order[p];
                order[k] = c;
                k += !(flags[c] & SELECTED);
            }
            m = k;
            for (size_t j = 0; j < n_sel; j++) {
                uint32_t c = ctx->sel[j];
                ctx->flags[c] = 0;
                ctx->dropped[n_dropped++] = c;
                mark(ctx, c, ri, MTR_REASON_DROP);
            }
            break;
        }
        default: break;
        }
    }
    if (dirty) sort_live(ctx, n);

    if (rules && rules->exposure_rule >= 0) {
        const rank_rule *r = &rules->rules[rules->exposure_rule];
        size_t shown = (size_t)r->u.exposure.shown < m ? (size_t)r->u.exposure.shown : m;
        for (size_t p = 0; p < shown; p++) ctx->ids[p] = list->item_ids[ctx->order[p]];
        if (shown > 0 && ctx->store->increment(ctx->store->state, ctx->ids, shown, now, err) != 0)
            return mtr_fail_prefix(err, "rank: recording exposures");
    }

    for (size_t i = 0; i < n; i++) ctx->position[i] = UINT32_MAX;
    for (size_t p = 0; p < m; p++) ctx->position[ctx->order[p]] = (uint32_t)p;
    memcpy(ctx->order + m, ctx->dropped, n_dropped * sizeof *ctx->dropped);

    out->n = n;
    out->n_ranked = m;
    out->order = ctx->order;
    out->position = ctx->position;
    out->fused_position = ctx->fused_position;
    out->fused = ctx->fused;
    out->adjusted = ctx->adjusted;
    out->rule = ctx->rule;
    out->reason = ctx->reason;
    out->rules_mask = ctx->rules_mask;
    return 0;
}

int mtr_rank(mtr_rank_context *ctx, const mtr_rank_list *list, mtr_rank_result *out, mtr_error *err) {
    if (!ctx->fusion) return mtr_fail(err, "rank: the context has no fusion formula; use mtr_rank_scored");
    if (check_list(ctx, list, ctx->n_vars, err) != 0) return -1;
    if (mtr_fusion_eval(ctx->fusion, list->x, list->n, list->stride, ctx->fused, err) != 0) return -1;
    return apply(ctx, list, out, err);
}

int mtr_rank_scored(mtr_rank_context *ctx, const mtr_rank_list *list, const float *scores, mtr_rank_result *out,
                    mtr_error *err) {
    if (check_list(ctx, list, ctx->n_cols_read, err) != 0) return -1;
    if (list->n > 0 && !scores) return mtr_fail(err, "rank: no scores");
    if (list->n > 0) memcpy(ctx->fused, scores, list->n * sizeof *scores);
    return apply(ctx, list, out, err);
}

/* multiobjective_data.c - the data side of `mtrank experiment multiobjective` (multiobjective.h lists the
 * pieces): the three simulated request streams and their side arrays, the objective order and its grades,
 * the test metrics from the simulator's truth and the validation metrics from logged outcomes, and
 * LambdaMART's dense features with their per-id statistics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/data_prep.h"
#include "cli/multiobjective.h"

/* ---------------------------------------------------------------- the streams */

void mo_stream_free(stream *s) {
    free(s->start);
    free(s->req_attr);
    free(s->recent);
    free(s->n_recent);
    free(s->keys);
    free(s->item);
    free(s->num);
    free(s->label);
    free(s->truth);
    free(s->grade);
    free(s->rows);
    memset(s, 0, sizeof *s);
}

static int stream_collect(const mtr_session_request *req, void *user) {
    stream *s = user;
    size_t n = s->n + (size_t)req->n;
    if (n > s->cap || s->n_req + 1 >= s->req_cap) return 1; /* sized from the config: cannot happen */
    size_t r = s->n_req;
    for (int i = 0; i < 5; i++) s->req_attr[r * 9 + i] = req->user_attr[i];
    for (int i = 0; i < 4; i++) s->req_attr[r * 9 + 5 + i] = req->context[i];
    s->n_recent[r] = (uint8_t)req->n_recent;
    for (int i = 0; i < req->n_recent; i++) s->recent[r * MTR_SESSIONS_MAX_BAG + i] = req->recent[i];
    s->start[r] = s->n;
    for (int k = 0; k < req->n; k++) {
        const mtr_session_candidate *c = &req->cand[k];
        size_t i = s->n + (size_t)k;
        s->keys[i * 3] = c->category;
        s->keys[i * 3 + 1] = c->brand;
        s->keys[i * 3 + 2] = c->shop;
        s->item[i] = c->item;
        s->num[i * 4] = c->price;
        s->num[i * 4 + 1] = c->age_days;
        s->num[i * 4 + 2] = c->promotion;
        s->num[i * 4 + 3] = c->low_quality;
        memcpy(s->label + i * N_OBJ, c->labels, N_OBJ * sizeof(float));
        memcpy(s->truth + i * MTR_SESSIONS_TRUTH, c->truth, MTR_SESSIONS_TRUTH * sizeof(float));
        s->rows[i] = (uint32_t)i;
    }
    s->n = n;
    s->n_req = r + 1;
    s->start[r + 1] = n;
    return 0;
}

void mo_sessions_config(const mo_args *a, uint64_t stream_no, uint64_t requests, mtr_sessions_config *c) {
    mtr_sessions_config_default(c);
    c->requests = requests;
    c->seed = a->data_seed;
    c->stream = stream_no;
    c->list_length = a->list_length;
    c->n_users = a->users;
    c->n_items = a->items;
}

/* Generate one stream into the cache as CSV (once: the name carries every setting) and collect its
 * side arrays by generating it again through the callback (deterministic, so the same requests). */
int mo_load_stream(const mo_args *a, uint64_t stream_no, uint64_t requests, stream *s, char *csv, size_t cap,
                   char *spec, mtr_error *err) {
    mtr_sessions_config c;
    mo_sessions_config(a, stream_no, requests, &c);
    const char *problem = mtr_sessions_config_check(&c);
    if (problem) {
        snprintf(err->message, sizeof err->message, "simulator: %s", problem);
        return -1;
    }
    snprintf(csv, cap, "%s/sessions-r%llu-s%llu-st%llu-L%d-u%d-i%d.csv", a->cache, (unsigned long long)requests,
             (unsigned long long)c.seed, (unsigned long long)stream_no, c.list_length, c.n_users, c.n_items);
    snprintf(spec, cap, "%.*s.spec", (int)(strlen(csv) - 4), csv);
    if (access(csv, R_OK) != 0 || access(spec, R_OK) != 0) {
        if (mkdir_cache(a->cache, err) != 0) return -1;
        if (mtr_gen_sessions_write(&c, csv, spec, NULL, err) != 0) return -1;
    }
    size_t n = (size_t)requests * (size_t)c.list_length;
    s->cap = n;
    s->req_cap = (size_t)requests + 2;
    s->start = malloc(s->req_cap * sizeof *s->start);
    s->req_attr = malloc(s->req_cap * 9 * sizeof *s->req_attr);
    s->recent = malloc(s->req_cap * MTR_SESSIONS_MAX_BAG * sizeof *s->recent);
    s->n_recent = malloc(s->req_cap);
    s->keys = malloc(n * 3 * sizeof *s->keys);
    s->item = malloc(n * sizeof *s->item);
    s->num = malloc(n * 4 * sizeof *s->num);
    s->label = malloc(n * N_OBJ * sizeof *s->label);
    s->truth = malloc(n * MTR_SESSIONS_TRUTH * sizeof *s->truth);
    s->grade = malloc(n);
    s->rows = malloc(n * sizeof *s->rows);
    if (!s->start || !s->req_attr || !s->recent || !s->n_recent || !s->keys || !s->item || !s->num || !s->label ||
        !s->truth || !s->grade || !s->rows) {
        snprintf(err->message, sizeof err->message, "out of memory for %zu candidates", n);
        return -1;
    }
    s->start[0] = 0;
    return mtr_gen_sessions(&c, stream_collect, s, NULL, err);
}

/* The compiled rows must be the collected candidates, in the same order. */
int mo_check_stream(const stream *s, const mtr_dataset *ds, const mtr_schema *schema, const char *what,
                    mtr_error *err) {
    int i_req = -1, i_price = -1;
    for (int i = 0; i < mtr_schema_aux_count(schema); i++) {
        if (strcmp(mtr_schema_aux_name(schema, i), "request_id") == 0) i_req = i;
        if (strcmp(mtr_schema_aux_name(schema, i), "utility_gmv") == 0) i_price = i;
    }
    if (mtr_dataset_rows(ds) != s->n || i_req < 0 || i_price < 0) {
        snprintf(err->message, sizeof err->message, "%s: the compiled data has %zu rows, the simulator gave %zu",
                 what, mtr_dataset_rows(ds), s->n);
        return -1;
    }
    for (size_t r = 0; r < s->n_req; r++)
        for (size_t i = s->start[r]; i < s->start[r + 1]; i++)
            if (mtr_dataset_aux(ds, i, i_req) != (float)r ||
                mtr_dataset_aux(ds, i, i_price) != s->truth[i * MTR_SESSIONS_TRUTH + MTR_SESSIONS_UTILITY_GMV]) {
                snprintf(err->message, sizeof err->message, "%s: row %zu of the compiled data is not the simulator's "
                         "(stale cache? remove %s)", what, i, "the cached sessions files");
                return -1;
            }
    return 0;
}

/* ---------------------------------------------------------------- objective order and list metrics */

/* "purchase,cart,fav,click" -> tasks best first; grades are n_order .. 1 for them, 0 for the rest. */
int mo_parse_order(const char *text, int *order, int *n, char *msg, size_t ms) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int t = -1;
        for (int k = 0; k < MTR_SESSIONS_DWELL; k++)
            if (strcmp(tok, mtr_sessions_task_name(k)) == 0) t = k;
        for (int k = 0; k < *n && t >= 0; k++)
            if (order[k] == t) t = -1;
        if (t < 0) {
            snprintf(msg, ms, "--order: '%s' is not a binary objective (click, cart, fav, purchase) or is repeated", tok);
            return -1;
        }
        order[(*n)++] = t;
    }
    if (*n == 0) {
        snprintf(msg, ms, "--order: name at least one objective");
        return -1;
    }
    return 0;
}

void mo_set_grades(stream *s, const int *order, int n_order) {
    for (size_t i = 0; i < s->n; i++) {
        int g = 0;
        for (int k = 0; k < n_order && !g; k++)
            if (s->label[i * N_OBJ + order[k]] > 0.5f) g = n_order - k;
        s->grade[i] = (uint8_t)g;
    }
}

static int cmp_desc_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* NDCG@TOP of a final list (order[0..shown)) against relevance rel[0..n) (>= 0), gain 2^rel - 1, the ideal
 * over all n candidates (dropped ones included: dropping a good item costs). NaN when nothing is relevant. */
static double ndcg_at(const uint32_t *order, size_t shown, const float *rel, size_t n, float *scratch) {
    double dcg = 0, idcg = 0;
    for (size_t p = 0; p < shown && p < TOP; p++) dcg += (exp2(rel[order[p]]) - 1) / log2(2.0 + (double)p);
    memcpy(scratch, rel, n * sizeof *rel);
    qsort(scratch, n, sizeof *scratch, cmp_desc_float);
    for (size_t p = 0; p < n && p < TOP; p++) idcg += (exp2(scratch[p]) - 1) / log2(2.0 + (double)p);
    return idcg > 0 ? dcg / idcg : NAN;
}

void mo_add_truth(truth_metrics *m, const stream *s, size_t req, const uint32_t *order, size_t n_ranked,
                  float *scratch) {
    size_t lo = s->start[req], n = s->start[req + 1] - lo, shown = n_ranked < TOP ? n_ranked : TOP;
    float rel[MTR_SESSIONS_MAX_LIST];
    const float *tr = s->truth + lo * MTR_SESSIONS_TRUTH;
    for (int o = 0; o < N_OBJ; o++) {
        float mx = 0;
        for (size_t i = 0; i < n; i++) {
            const float *t = tr + i * MTR_SESSIONS_TRUTH;
            float c = t[MTR_SESSIONS_TRUE_CLICK];
            rel[i] = o == MTR_SESSIONS_CLICK      ? c
                     : o == MTR_SESSIONS_CART     ? c * t[MTR_SESSIONS_TRUE_CART]
                     : o == MTR_SESSIONS_FAV      ? c * t[MTR_SESSIONS_TRUE_FAV]
                     : o == MTR_SESSIONS_PURCHASE ? c * t[MTR_SESSIONS_TRUE_PURCHASE]
                                                  : t[MTR_SESSIONS_UTILITY_ENGAGEMENT];
            if (rel[i] > mx) mx = rel[i];
        }
        if (o == MTR_SESSIONS_DWELL && mx > 0)
            for (size_t i = 0; i < n; i++) rel[i] /= mx; /* seconds -> [0, 1], where 2^rel - 1 is near-linear */
        double v = ndcg_at(order, shown, rel, n, scratch);
        if (v == v) m->ndcg[o] += v, m->ndcg_lists[o] += 1;
    }
    uint32_t cats[TOP];
    int n_cats = 0;
    for (size_t p = 0; p < shown; p++) {
        size_t i = order[p];
        const float *t = tr + i * MTR_SESSIONS_TRUTH;
        m->purchases += (double)t[MTR_SESSIONS_TRUE_CLICK] * t[MTR_SESSIONS_TRUE_PURCHASE];
        m->gmv += t[MTR_SESSIONS_UTILITY_GMV];
        uint32_t cat = s->keys[(lo + i) * 3];
        int seen = 0;
        for (int k = 0; k < n_cats; k++) seen |= cats[k] == cat;
        if (!seen) cats[n_cats++] = cat;
        const float *num = s->num + (lo + i) * 4;
        m->promoted += num[2] != 0;
        m->fresh += num[1] < 7;
        m->low_quality += num[3] != 0;
    }
    m->categories += n_cats;
    m->shown += (double)shown;
    m->lists += 1;
}

void mo_finish_truth(truth_metrics *m) {
    for (int o = 0; o < N_OBJ; o++) m->ndcg[o] = m->ndcg_lists[o] > 0 ? m->ndcg[o] / m->ndcg_lists[o] : NAN;
    double L = m->lists > 0 ? m->lists : 1;
    m->purchases /= L;
    m->gmv /= L;
    m->categories /= L;
    m->promoted /= L;
    m->fresh /= L;
    m->low_quality /= L;
    m->shown /= L;
}

/* The validation metric from LOGGED outcomes of one final list; *counted = 0 when the list does not count
 * (graded NDCG of a list without any positive). */
double mo_logged_metric(int target, const stream *s, size_t req, const uint32_t *order, size_t n_ranked,
                        int *counted, float *scratch) {
    size_t lo = s->start[req], n = s->start[req + 1] - lo, shown = n_ranked < TOP ? n_ranked : TOP;
    *counted = 1;
    if (target == TARGET_NDCG) {
        float rel[MTR_SESSIONS_MAX_LIST];
        for (size_t i = 0; i < n; i++) rel[i] = s->grade[lo + i];
        double v = ndcg_at(order, shown, rel, n, scratch);
        *counted = v == v;
        return v == v ? v : 0;
    }
    double sum = 0;
    for (size_t p = 0; p < shown; p++) {
        size_t i = lo + order[p];
        double bought = s->label[i * N_OBJ + MTR_SESSIONS_PURCHASE];
        sum += target == TARGET_GMV ? bought * s->num[i * 4] : bought;
    }
    return sum;
}

/* The mean logged metric of ranking every validation list by scores[i] (no rules). */
double mo_logged_metric_of_scores(int target, const stream *s, const float *scores) {
    mtr_error err;
    mtr_rank_context *ctx = mtr_rank_context_create(NULL, NULL, MTR_SESSIONS_MAX_LIST, NULL, &err);
    if (!ctx) return NAN;
    float scratch[MTR_SESSIONS_MAX_LIST];
    double sum = 0, lists = 0;
    for (size_t r = 0; r < s->n_req; r++) {
        size_t lo = s->start[r];
        mtr_rank_list list = {s->start[r + 1] - lo, NULL, 0, NULL, 0, NULL, 0};
        mtr_rank_result res;
        if (mtr_rank_scored(ctx, &list, scores + lo, &res, &err) != 0) {
            sum = NAN;
            break;
        }
        int counted;
        double v = mo_logged_metric(target, s, r, res.order, res.n_ranked, &counted, scratch);
        sum += v;
        lists += counted;
    }
    mtr_rank_context_free(ctx);
    return lists > 0 ? sum / lists : NAN;
}

/* ---------------------------------------------------------------- LambdaMART features */

void mo_id_stats_free(id_stats *st) {
    for (int f = 0; f <= STAT_FOLDS; f++)
        for (int e = 0; e < N_ENTITY; e++) free(st->v[f][e]);
}

static uint32_t entity_id(const stream *s, size_t i, int e) {
    return e == 0 ? (uint32_t)s->item[i] : s->keys[i * 3 + (size_t)(e - 1)];
}

int mo_id_stats_build(id_stats *st, const stream *train, const mtr_sessions_config *world, mtr_error *err) {
    memset(st, 0, sizeof *st);
    st->size[0] = (uint32_t)world->n_items;
    st->size[1] = (uint32_t)world->n_categories;
    st->size[2] = (uint32_t)world->n_brands;
    st->size[3] = (uint32_t)world->n_shops;
    for (int f = 0; f <= STAT_FOLDS; f++)
        for (int e = 0; e < N_ENTITY; e++)
            if (!(st->v[f][e] = calloc((size_t)st->size[e] * 4, sizeof(float)))) {
                snprintf(err->message, sizeof err->message, "out of memory for id statistics");
                return -1;
            }
    double tot[3] = {0};
    for (size_t r = 0; r < train->n_req; r++)
        for (size_t i = train->start[r]; i < train->start[r + 1]; i++) {
            const float *l = train->label + i * N_OBJ;
            float add[4] = {1, l[MTR_SESSIONS_CLICK], l[MTR_SESSIONS_CART], l[MTR_SESSIONS_PURCHASE]};
            for (int e = 0; e < N_ENTITY; e++) {
                size_t id = entity_id(train, i, e);
                float *fold = st->v[r % STAT_FOLDS][e] + id * 4, *all = st->v[STAT_FOLDS][e] + id * 4;
                for (int k = 0; k < 4; k++) fold[k] += add[k], all[k] += add[k];
            }
            tot[0] += add[1], tot[1] += add[2], tot[2] += add[3];
        }
    for (int k = 0; k < 3; k++) st->rate[k] = train->n ? tot[k] / (double)train->n : 0;
    return 0;
}

/* The N_LM features of candidate i of request r. oof: a training row (statistics of the other folds, the
 * count scaled to the whole training stream). */
void mo_lm_features(const stream *s, const id_stats *st, size_t r, size_t i, int oof, float *x) {
    const float *num = s->num + i * 4;
    int k = 0;
    for (int j = 0; j < 4; j++) x[k++] = num[j];                             /* price, age, promotion, low_quality */
    for (int j = 0; j < 3; j++) x[k++] = (float)s->keys[i * 3 + (size_t)j]; /* category, brand, shop as numbers */
    for (int j = 0; j < 9; j++) x[k++] = s->req_attr[r * 9 + (size_t)j];   /* user and context fields as numbers */
    uint32_t cat = s->keys[i * 3];
    int match = 0;
    for (int j = 0; j < s->n_recent[r]; j++) match |= s->recent[r * MTR_SESSIONS_MAX_BAG + (size_t)j] == cat;
    x[k++] = (float)match;                                                  /* a favourite category of the user */
    for (int e = 0; e < N_ENTITY; e++) {
        size_t id = entity_id(s, i, e);
        const float *all = st->v[STAT_FOLDS][e] + id * 4;
        double c = all[0], cl = all[1], ca = all[2], bu = all[3], scale = 1;
        if (oof) {
            const float *own = st->v[r % STAT_FOLDS][e] + id * 4;
            c -= own[0], cl -= own[1], ca -= own[2], bu -= own[3];
            scale = (double)STAT_FOLDS / (STAT_FOLDS - 1);
        }
        x[k++] = (float)log1p(c * scale);
        x[k++] = (float)((cl + STAT_SMOOTH * st->rate[0]) / (c + STAT_SMOOTH));
        x[k++] = (float)((ca + STAT_SMOOTH * st->rate[1]) / (c + STAT_SMOOTH));
        x[k++] = (float)((bu + STAT_SMOOTH * st->rate[2]) / (c + STAT_SMOOTH));
    }
}

float *mo_lm_matrix(const stream *s, const id_stats *st, int oof) {
    float *X = malloc(s->n * N_LM * sizeof *X);
    if (!X) return NULL;
    for (size_t r = 0; r < s->n_req; r++)
        for (size_t i = s->start[r]; i < s->start[r + 1]; i++) mo_lm_features(s, st, r, i, oof, X + i * N_LM);
    return X;
}

/* cmd_experiment_multiobjective.c - `mtrank experiment multiobjective`: issue 5's head-to-head of the ways
 * to turn many predicted objectives into one ordered list, on simulated sessions whose truth is known
 * (docs/sessions-simulator.md). One world, three request streams: train, validation, test.
 *
 * Strategies, each ranked without and with the rules file (data/multiobjective/default.rules):
 *   per-objective  one single-task network per objective (click, cart, fav, purchase binary; dwell
 *                  regression), each early-stopped on its own validation metric; scores fused by the formula
 *   bpr            one network trained on preference pairs from the objective order (purchase > cart > fav >
 *                  click > impression) within a request; its score ranks
 *   lambdamart     boosted trees on dense features (item fields, ids as numbers, per-id statistics of the
 *                  training stream) with graded relevance 4..0 from the same order
 *   mmoe           one MMoE with a tower per objective; its outputs fused by the same formula
 * The formula's parameters for per-objective and mmoe are found by mtr_fusion_search on the validation
 * requests, maximising --target computed from LOGGED outcomes (what a team has); every model is
 * early-stopped on logged validation outcomes too. Test metrics use the simulator's TRUTH (position-free
 * probabilities), so no position bias: NDCG@10 per objective, purchases@10, GMV@10, distinct categories@10,
 * and cost (parameters; scoring and ranking time per 1000 candidates, measured through mtr_rank_request).
 *
 * Trainings run as --jobs concurrent single-threaded jobs; the results do not depend on --jobs. Test
 * ranking and timing run afterwards on one thread. Output: a table (or --json) and a report folder. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/data_prep.h"
#include "cli/options.h"
#include "cli/report.h"
#include "report/csv_writer.h"
#include "report/svg_plot.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/parse_number.h"
#include "util/rng.h"

#define N_OBJ MTR_SESSIONS_TASKS /* click, cart, fav, purchase, dwell */
#define TOP 10                   /* every list metric is @10 */
#define N_VARS 9                 /* the formula's variables: 5 model outputs, 4 item fields */
#define N_KEYS 3                 /* category, brand, shop */
#define N_LM 33                  /* LambdaMART features */
#define MAX_RANGES 16            /* formula parameters searched */
#define STAT_SMOOTH 20.0         /* per-id rates shrink towards the global rate with this many impressions */

static const char *const VARS[N_VARS] = {"click", "cart", "fav", "purchase", "dwell",
                                         "price", "age_days", "promotion", "low_quality"};
static const char *const FIELDS[4] = {"price", "age_days", "promotion", "low_quality"};
static const char *const KEYS[N_KEYS] = {"category", "brand", "shop"};

static const char DEFAULT_FORMULA[] =
    "(purchase + a_cart * cart + a_fav * fav + a_click * click) * price ^ p * (1 + max(dwell, 0) / 60) ^ d";
static const char DEFAULT_RANGES[] = "a_cart=0.001:3:log,a_fav=0.001:3:log,a_click=0.0001:1:log,p=0:1.5,d=0:2";

enum { S_PER_OBJECTIVE, S_BPR, S_LAMBDAMART, S_MMOE, N_STRATEGIES };
static const char *const STRATEGY_NAMES[N_STRATEGIES] = {"per-objective", "bpr", "lambdamart", "mmoe"};
enum { TARGET_GMV, TARGET_PURCHASES, TARGET_NDCG };

typedef struct mo_args {
    uint64_t requests, valid_requests, test_requests; /* per stream */
    int list_length;           /* candidates per request */
    int users, items;          /* world size */
    uint64_t data_seed;        /* the world */
    uint64_t seed;             /* models, sampling, search */
    int jobs;                  /* trainings at once */
    const char *strategies;    /* comma-separated */
    const char *rules;         /* rules file */
    const char *formula;       /* fusion formula */
    const char *ranges;        /* its parameters' search ranges */
    const char *target;        /* validation metric the search maximises */
    const char *search;        /* random or grid */
    int budget;                /* search points */
    const char *order;         /* objective order for BPR and LambdaMART, best first */
    int epochs;                /* epochs at most (networks) */
    int patience;              /* epochs without a better validation metric before stopping */
    int batch;                 /* batch size (pairs for BPR) */
    float lr;                  /* Adam learning rate */
    int embedding;             /* embedding per field (every network) */
    int units;                 /* per-objective and BPR networks: bottom layer width */
    int experts, expert_units; /* MMoE */
    int towers;                /* tower hidden width (every network) */
    const char *mmoe_main;     /* task whose validation metric early-stops MMoE */
    int bpr_negatives;         /* impressions sampled per positive */
    int trees, leaves;         /* LambdaMART */
    const char *cache;         /* generated and compiled data */
    const char *report;        /* report folder, or "none" */
    int runs;                  /* trainings of every model, with their own seeds */
    int json;                  /* JSON on stdout instead of the table */
    int quiet;                 /* no progress on stderr */
} mo_args;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, n - used, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- the streams */

/* Everything the experiment needs per candidate that the compiled rows do not keep raw. Rows are in
 * generation order, which is the order of the CSV and so of the compiled dataset. */
typedef struct stream {
    size_t n, n_req;          /* candidates, requests */
    size_t cap, req_cap;      /* allocated */
    size_t *start;            /* (n_req + 1) request r is rows start[r] .. start[r+1] */
    uint16_t *req_attr;       /* (n_req, 9) age_bucket, gender, city, purchase_power, user_segment, hour,
                                 weekday, device, scene */
    uint32_t *recent;         /* (n_req, MTR_SESSIONS_MAX_BAG) favourite categories */
    uint8_t *n_recent;        /* (n_req) */
    uint32_t *keys;           /* (n, 3) category, brand, shop */
    uint64_t *item;           /* (n) item id */
    float *num;               /* (n, 4) price, age_days, promotion, low_quality */
    float *label;             /* (n, 5) logged click, cart, fav, purchase, dwell */
    float *truth;             /* (n, 8) MTR_SESSIONS_TRUE_* */
    uint8_t *grade;           /* (n) graded relevance from the objective order */
    uint32_t *rows;           /* (n) 0..n-1, so a request is a view slice */
} stream;

static void stream_free(stream *s) {
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

static void sessions_config(const mo_args *a, uint64_t stream_no, uint64_t requests, mtr_sessions_config *c) {
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
static int load_stream(const mo_args *a, uint64_t stream_no, uint64_t requests, stream *s, char *csv, size_t cap,
                       char *spec, mtr_error *err) {
    mtr_sessions_config c;
    sessions_config(a, stream_no, requests, &c);
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
static int check_stream(const stream *s, const mtr_dataset *ds, const mtr_schema *schema, const char *what,
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
static int parse_order(const char *text, int *order, int *n, char *msg, size_t ms) {
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

static void set_grades(stream *s, const int *order, int n_order) {
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

/* Test metrics from the truth, summed over lists (divided at the end). */
typedef struct truth_metrics {
    double ndcg[N_OBJ];        /* NDCG@10 per objective */
    double ndcg_lists[N_OBJ];  /* lists with something relevant */
    double purchases, gmv;     /* expected purchases and GMV in the top 10 */
    double categories;         /* distinct categories in the top 10 */
    double promoted, fresh, low_quality; /* such items in the top 10 */
    double shown;              /* items in the top 10 (10 unless drops leave fewer) */
    double lists;              /* lists */
} truth_metrics;

static void add_truth(truth_metrics *m, const stream *s, size_t req, const uint32_t *order, size_t n_ranked,
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

static void finish_truth(truth_metrics *m) {
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
static double logged_metric(int target, const stream *s, size_t req, const uint32_t *order, size_t n_ranked,
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
static double logged_metric_of_scores(int target, const stream *s, const float *scores) {
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
        double v = logged_metric(target, s, r, res.order, res.n_ranked, &counted, scratch);
        sum += v;
        lists += counted;
    }
    mtr_rank_context_free(ctx);
    return lists > 0 ? sum / lists : NAN;
}

/* ---------------------------------------------------------------- LambdaMART features */

/* Per-id training statistics: impressions and logged clicks, carts and purchases per id, over all
 * training requests and per fold (request index mod STAT_FOLDS). A training row's features use the other
 * folds only (out-of-fold target encoding): with its own request's outcomes counted, a row's label would
 * leak into its features, and leaving just its own row out would leak it in reverse (a clicked row sees a
 * lower rate than an unclicked one of the same item). Validation and test rows use every fold. */
#define STAT_FOLDS 5
#define N_ENTITY 4 /* item, category, brand, shop */

typedef struct id_stats {
    uint32_t size[N_ENTITY];                       /* ids per entity */
    float *v[STAT_FOLDS + 1][N_ENTITY];            /* per fold (last: all) (size, 4): impressions, clicks,
                                                      carts, purchases */
    double rate[3];                                /* global click, cart, purchase rates per impression */
} id_stats;

static void id_stats_free(id_stats *st) {
    for (int f = 0; f <= STAT_FOLDS; f++)
        for (int e = 0; e < N_ENTITY; e++) free(st->v[f][e]);
}

static uint32_t entity_id(const stream *s, size_t i, int e) {
    return e == 0 ? (uint32_t)s->item[i] : s->keys[i * 3 + (size_t)(e - 1)];
}

static int id_stats_build(id_stats *st, const stream *train, const mtr_sessions_config *world, mtr_error *err) {
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
static void lm_features(const stream *s, const id_stats *st, size_t r, size_t i, int oof, float *x) {
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

static float *lm_matrix(const stream *s, const id_stats *st, int oof) {
    float *X = malloc(s->n * N_LM * sizeof *X);
    if (!X) return NULL;
    for (size_t r = 0; r < s->n_req; r++)
        for (size_t i = s->start[r]; i < s->start[r + 1]; i++) lm_features(s, st, r, i, oof, X + i * N_LM);
    return X;
}

/* ---------------------------------------------------------------- training jobs */

enum { JOB_LAMBDAMART, JOB_MMOE, JOB_BPR, JOB_OBJECTIVE };

typedef struct job {
    int kind;                  /* JOB_* */
    int task;                  /* JOB_OBJECTIVE: the objective */
    int run;                   /* which run: its seeds */
    mtr_model *model;          /* trained network (not LambdaMART) */
    mtr_lambdamart *lm;        /* trained trees */
    float *valid_scores;       /* (n_valid, outputs) validation predictions, for the fusion search */
    size_t params;             /* parameters */
    int epochs, best_epoch;    /* epochs (trees for LambdaMART) trained and kept */
    double valid_metric;       /* the job's early-stopping metric at the kept epoch */
    double seconds;            /* training wall time */
    int failed;                /* an error happened (message in error) */
    mtr_error error;           /* what went wrong */
} job;

/* What every training job reads (never writes). */
typedef struct shared {
    const mo_args *a;          /* options */
    const mtr_schema *schema;  /* of every network */
    mtr_view train, valid;     /* compiled rows of the training and validation streams */
    const stream *tr, *va;     /* their side arrays (labels, grades, ids) */
    const int *order;          /* objective order, best first */
    int n_order;               /* its length */
    int mmoe_main;             /* task that early-stops MMoE */
    float dwell_weight;        /* MMoE's dwell loss weight: 1 / variance of the training dwell labels */
    const float *lm_train_x, *lm_valid_x; /* LambdaMART features (n, N_LM) */
    size_t *group_train, *group_valid;    /* request boundaries */
    float *rel_train, *rel_valid;         /* graded relevance */
} shared;

static void net_config(const mo_args *a, mtr_model_kind kind, uint32_t mask, mtr_model_config *c) {
    mtr_model_config_default(c);
    c->kind = kind;
    c->embedding_dim = a->embedding;
    c->task_mask = mask;
    c->n_bottom_layers = 1;
    c->bottom_layers[0] = kind == MTR_MODEL_MMOE ? a->expert_units : a->units;
    c->n_experts = a->experts;
    c->n_tower_layers = 1;
    c->tower_layers[0] = a->towers;
}

static void train_config(const mo_args *a, uint64_t seed, int main_task, mtr_train_config *t) {
    mtr_train_config_default(t);
    t->max_epochs = a->epochs;
    t->patience = a->patience;
    t->batch_size = a->batch;
    t->learning_rate = a->lr;
    t->n_threads = 1;
    t->seed = seed;
    t->main_task = main_task;
    t->init_output_bias = 1;
}

/* BPR's early stopping: after each epoch, graded NDCG@10 of the validation lists (logged); the best
 * epoch's model is kept in a file. */
typedef struct bpr_watch {
    const shared *sh;          /* validation data */
    mtr_model *model;          /* being trained */
    float *scores;             /* (n_valid) */
    const char *path;          /* best model so far */
    double best;               /* best validation graded NDCG@10 so far */
    int best_epoch, since_best;/* its epoch; epochs since */
    int last_epoch;            /* the epoch last evaluated */
    int failed;                /* predicting or saving failed (message in error) */
    mtr_error error;           /* what went wrong */
} bpr_watch;

static int bpr_progress(const mtr_epoch_report *rep, double fraction, void *user) {
    bpr_watch *w = user;
    if (fraction < 1.0 || rep->epoch == w->last_epoch) return 0; /* once per epoch, at its end */
    w->last_epoch = rep->epoch;
    const shared *sh = w->sh;
    if (mtr_predict(w->model, &sh->valid, w->scores, 1, &w->error) != 0) return w->failed = 1;
    /* the model predicts one task (click): column 0 of its (n, T) scores is what we need */
    int T = mtr_schema_task_count(sh->schema);
    for (size_t i = 0; i < sh->valid.count; i++) w->scores[i] = w->scores[i * (size_t)T];
    double v = logged_metric_of_scores(TARGET_NDCG, sh->va, w->scores);
    if (v > w->best || w->best_epoch == 0) {
        w->best = v;
        w->best_epoch = rep->epoch;
        w->since_best = 0;
        if (mtr_model_save(w->model, w->path, &w->error) != 0) return w->failed = 1;
    } else {
        w->since_best++;
    }
    return w->since_best >= sh->a->patience;
}

/* Preference pairs within each training request: every positive over every candidate of a lower positive
 * grade, and over `negatives` impressions (grade 0) drawn at random. */
static uint32_t *bpr_pairs(const stream *s, int negatives, uint64_t seed, size_t *n_pairs) {
    mtr_rng rng;
    mtr_rng_seed(&rng, seed);
    size_t cap = 1 << 20, n = 0;
    uint32_t *p = malloc(2 * cap * sizeof *p);
    uint32_t zero[MTR_SESSIONS_MAX_LIST];
    for (size_t r = 0; p && r < s->n_req; r++) {
        size_t lo = s->start[r], hi = s->start[r + 1], nz = 0;
        for (size_t i = lo; i < hi; i++)
            if (!s->grade[i]) zero[nz++] = (uint32_t)i;
        for (size_t i = lo; i < hi && p; i++) {
            if (!s->grade[i]) continue;
            size_t need = n + (hi - lo) + (size_t)negatives;
            if (need > cap) {
                while (cap < need) cap *= 2;
                uint32_t *q = realloc(p, 2 * cap * sizeof *q);
                if (!q) free(p);
                p = q;
                if (!p) break;
            }
            for (size_t j = lo; j < hi; j++)
                if (s->grade[j] && s->grade[j] < s->grade[i]) p[2 * n] = (uint32_t)i, p[2 * n + 1] = (uint32_t)j, n++;
            for (int k = 0; k < negatives && nz > 0; k++) {
                p[2 * n] = (uint32_t)i;
                p[2 * n + 1] = zero[mtr_rng_below(&rng, nz)];
                n++;
            }
        }
    }
    *n_pairs = n;
    return p;
}

typedef struct lm_watch {
    int *leaves;               /* (n) leaves of each tree */
    int n;                     /* trees at most */
} lm_watch;

static int lm_progress(const mtr_lambdamart_report *rep, void *user) {
    lm_watch *w = user;
    if (rep->tree >= 1 && rep->tree <= w->n) w->leaves[rep->tree - 1] = rep->leaves;
    return 0;
}

static void run_job(const shared *sh, job *j) {
    const mo_args *a = sh->a;
    double t0 = now_seconds();
    /* a job's seed depends on its run and model only, not on which other strategies run */
    uint64_t seed = (a->seed + 7919ULL * (uint64_t)j->run) * 1000003ULL + 16ULL * (uint64_t)j->kind + (uint64_t)j->task;
    int T = mtr_schema_task_count(sh->schema);
    size_t nv = sh->valid.count;
    mtr_model_config mc;
    mtr_train_config tc;
    mtr_train_result res;
    if (j->kind == JOB_LAMBDAMART) {
        mtr_rank_data tr = {sh->lm_train_x, sh->rel_train, sh->group_train, sh->tr->n, sh->tr->n_req, N_LM};
        mtr_rank_data va = {sh->lm_valid_x, sh->rel_valid, sh->group_valid, sh->va->n, sh->va->n_req, N_LM};
        mtr_lambdamart_config lc;
        mtr_lambdamart_config_default(&lc);
        lc.n_trees = a->trees;
        lc.max_leaves = a->leaves;
        lc.ndcg_k = TOP;
        lc.seed = seed;
        lc.n_threads = 1;
        lm_watch w = {calloc((size_t)a->trees, sizeof(int)), a->trees};
        if (!w.leaves) {
            snprintf(j->error.message, sizeof j->error.message, "out of memory");
            j->failed = 1;
            return;
        }
        j->lm = mtr_lambdamart_train(&tr, &va, &lc, lm_progress, &w, &j->error);
        if (!j->lm) {
            free(w.leaves);
            j->failed = 1;
            return;
        }
        const mtr_lambdamart_report *rep = mtr_lambdamart_summary(j->lm);
        j->epochs = rep->tree;
        j->best_epoch = rep->best_tree;
        j->valid_metric = rep->valid_ndcg;
        for (int t = 0; t < rep->best_tree && t < a->trees; t++) j->params += 2 * (size_t)w.leaves[t] - 1;
        free(w.leaves);
    } else if (j->kind == JOB_BPR) {
        net_config(a, MTR_MODEL_SINGLE_TASK, 1u << MTR_SESSIONS_CLICK, &mc);
        train_config(a, seed, MTR_SESSIONS_CLICK, &tc);
        tc.init_output_bias = 0;
        char path[1100];
        snprintf(path, sizeof path, "%s/multiobjective-bpr-best-%ld-run%d.mtrm", a->cache, (long)getpid(), j->run);
        bpr_watch w = {sh, NULL, malloc((nv + 1) * (size_t)T * sizeof(float)), path, -INFINITY, 0, 0, 0, 0, {{0}}};
        size_t n_pairs = 0;
        uint32_t *pairs = bpr_pairs(sh->tr, a->bpr_negatives, seed, &n_pairs);
        w.model = mtr_model_create(sh->schema, &mc, seed, &j->error);
        tc.progress = bpr_progress;
        tc.progress_user = &w;
        int ok = w.scores && pairs && w.model && n_pairs > 0 &&
                 mtr_train_pairs(w.model, &sh->train, pairs, n_pairs, &tc, &res, &j->error) == 0;
        if (ok && w.failed) j->error = w.error, ok = 0;
        if (ok && !w.scores) snprintf(j->error.message, sizeof j->error.message, "out of memory");
        mtr_model_free(w.model);
        free(w.scores);
        free(pairs);
        if (!ok) {
            if (!j->error.message[0]) snprintf(j->error.message, sizeof j->error.message, "BPR: no pairs or out of memory");
            unlink(path);
            j->failed = 1;
            return;
        }
        j->model = mtr_model_load(path, &j->error);
        unlink(path);
        if (!j->model) {
            j->failed = 1;
            return;
        }
        j->epochs = res.epochs_run;
        j->best_epoch = w.best_epoch;
        j->valid_metric = w.best;
        j->params = mtr_model_parameter_count(j->model);
    } else {
        int mmoe = j->kind == JOB_MMOE;
        int main_task = mmoe ? sh->mmoe_main : j->task;
        net_config(a, mmoe ? MTR_MODEL_MMOE : MTR_MODEL_SINGLE_TASK, mmoe ? 0 : 1u << j->task, &mc);
        train_config(a, seed, main_task, &tc);
        if (mmoe) tc.task_weight[MTR_SESSIONS_DWELL] = sh->dwell_weight;
        j->model = mtr_model_create(sh->schema, &mc, seed, &j->error);
        float *p = malloc((nv + 1) * (size_t)T * sizeof *p);
        j->valid_scores = malloc((nv + 1) * (size_t)(mmoe ? N_OBJ : 1) * sizeof *j->valid_scores);
        if (!j->model || !p || !j->valid_scores ||
            mtr_train(j->model, &sh->train, &sh->valid, &tc, &res, &j->error) != 0 ||
            mtr_predict(j->model, &sh->valid, p, 1, &j->error) != 0) {
            if (!j->error.message[0]) snprintf(j->error.message, sizeof j->error.message, "out of memory");
            free(p);
            j->failed = 1;
            return;
        }
        for (size_t i = 0; i < nv; i++) {
            if (mmoe) memcpy(j->valid_scores + i * N_OBJ, p + i * (size_t)T, N_OBJ * sizeof *p);
            else j->valid_scores[i] = p[i * (size_t)T + j->task];
        }
        free(p);
        const mtr_task_metrics *m = &res.best_valid[main_task];
        j->valid_metric = m->kind == MTR_TASK_BINARY ? m->auc : m->r2;
        j->epochs = res.epochs_run;
        j->best_epoch = res.best_epoch;
        j->params = mtr_model_parameter_count(j->model);
    }
    j->seconds = now_seconds() - t0;
}

/* ---------------------------------------------------------------- fusion and its search */

/* The formula's parameters with their search ranges, from --ranges. */
typedef struct ranges {
    int n;                                /* parameters */
    char names[MAX_RANGES][MTR_MAX_NAME]; /* their names (r[] and p[] point here) */
    mtr_param_range r[MAX_RANGES];        /* search ranges */
    mtr_fusion_param p[MAX_RANGES];       /* initial values: the ranges' centres */
} ranges;

/* "name=lo:hi[:log],..." */
static int parse_ranges(const char *text, ranges *out, char *msg, size_t ms) {
    memset(out, 0, sizeof *out);
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[200];
        if (len >= sizeof item || out->n == MAX_RANGES) {
            snprintf(msg, ms, "--ranges: item too long or more than %d parameters", MAX_RANGES);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '='), *c1 = eq ? strchr(eq, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        double lo, hi;
        int log_scale = c2 && strcmp(c2 + 1, "log") == 0;
        if (!eq || !c1 || eq == item || (size_t)(eq - item) >= MTR_MAX_NAME || (c2 && !log_scale) ||
            mtr_parse_double(eq + 1, (size_t)(c1 - eq - 1), &lo) != 0 ||
            mtr_parse_double(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), &hi) != 0 || lo > hi ||
            (log_scale && lo <= 0)) {
            snprintf(msg, ms, "--ranges: expected name=lo:hi or name=lo:hi:log (lo <= hi, lo > 0 for log), got '%s'",
                     item);
            return -1;
        }
        int k = out->n++;
        memcpy(out->names[k], item, (size_t)(eq - item));
        out->r[k] = (mtr_param_range){out->names[k], lo, hi, log_scale};
        out->p[k] = (mtr_fusion_param){out->names[k], log_scale ? sqrt(lo * hi) : 0.5 * (lo + hi)};
        p += len + (end ? 1 : 0);
    }
    return 0;
}

typedef struct search_user {
    const stream *va;          /* validation requests (logged outcomes) */
    const float *X;            /* (n_valid, N_VARS) */
    mtr_rank_context *ctx;     /* the fusion being searched, no rules */
    int target;                /* TARGET_* */
} search_user;

static double search_metric(const mtr_fusion *fusion, void *user) {
    (void)fusion; /* the context holds it, with the point's parameters */
    search_user *u = user;
    float scratch[MTR_SESSIONS_MAX_LIST];
    double sum = 0, lists = 0;
    mtr_error err;
    for (size_t r = 0; r < u->va->n_req; r++) {
        size_t lo = u->va->start[r];
        mtr_rank_list list = {u->va->start[r + 1] - lo, u->X + lo * N_VARS, N_VARS, NULL, 0, NULL, 0};
        mtr_rank_result res;
        if (mtr_rank(u->ctx, &list, &res, &err) != 0) return NAN;
        int counted;
        sum += logged_metric(u->target, u->va, r, res.order, res.n_ranked, &counted, scratch);
        lists += counted;
    }
    return lists > 0 ? sum / lists : NAN;
}

typedef struct fusion_fit {
    double values[MAX_RANGES]; /* best point */
    double valid_metric;       /* its validation metric */
    double default_metric;     /* the formula at the ranges' centres, for comparison */
} fusion_fit;

/* Validation variables: model outputs (5) then item fields (4). */
static float *valid_matrix(const stream *va, const float *const cols[N_OBJ], const size_t strides[N_OBJ]) {
    float *X = malloc((va->n + 1) * N_VARS * sizeof *X);
    if (!X) return NULL;
    for (size_t i = 0; i < va->n; i++) {
        for (int o = 0; o < N_OBJ; o++) X[i * N_VARS + o] = cols[o][i * strides[o]];
        memcpy(X + i * N_VARS + N_OBJ, va->num + i * 4, 4 * sizeof(float));
    }
    return X;
}

static int fit_fusion(const mo_args *a, const ranges *rg, int target, const stream *va, const float *X,
                      uint64_t seed, fusion_fit *out, mtr_error *err) {
    mtr_fusion *f = mtr_fusion_compile(a->formula, VARS, N_VARS, rg->p, rg->n, err);
    if (!f) return -1;
    mtr_rank_context *ctx = mtr_rank_context_create(f, NULL, MTR_SESSIONS_MAX_LIST, NULL, err);
    int rc = -1;
    if (ctx) {
        search_user u = {va, X, ctx, target};
        out->default_metric = search_metric(f, &u);
        rc = mtr_fusion_search(f, strcmp(a->search, "grid") == 0 ? MTR_SEARCH_GRID : MTR_SEARCH_RANDOM, rg->r, rg->n,
                               a->budget, seed, search_metric, &u, out->values, &out->valid_metric, err);
    }
    mtr_rank_context_free(ctx);
    mtr_fusion_free(f);
    return rc;
}

/* ---------------------------------------------------------------- test ranking */

typedef struct strategy_result {
    char name[48];             /* e.g. "mmoe+rules" */
    int strategy;              /* S_*, or -1 for a reference order */
    int rules;                 /* ranked with the rules */
    truth_metrics m;           /* on the test requests */
    int n_rules;               /* rules applied (0 without) */
    double acted[MTR_MAX_RULES]; /* per rule: candidates it acted on, per request */
    size_t params;             /* model parameters */
    double model_us, rank_us;  /* per 1000 candidates: scoring, and fusion + rules */
} strategy_result;

static void count_acts(strategy_result *out, const uint32_t *mask, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < out->n_rules; r++) out->acted[r] += (mask[i] >> r) & 1u;
}

static void finish_acts(strategy_result *out, size_t n_req) {
    for (int r = 0; r < out->n_rules; r++) out->acted[r] /= n_req ? (double)n_req : 1.0;
}

/* Rank every test request with a ranker (networks) and accumulate the truth metrics and the time. */
static int test_ranker(const mo_args *a, const mtr_dataset *ds, const stream *te, mtr_ranker_model *models,
                       int n_models, const ranges *rg, const double *values, const char *rules_text,
                       strategy_result *out, mtr_error *err) {
    mtr_ranker_config cfg = {models, n_models, FIELDS, 4, KEYS, N_KEYS, (size_t)a->list_length, 0, NULL};
    mtr_ranker *r = mtr_ranker_create(&cfg, err);
    mtr_fusion *f = NULL;
    mtr_rules *rules = NULL;
    float *scratch = malloc(MTR_SESSIONS_MAX_LIST * sizeof *scratch);
    int rc = -1;
    if (!r || !scratch) goto done;
    const mtr_rank_fields *fl = mtr_ranker_fields(r);
    if (rg) {
        if (!(f = mtr_fusion_compile(a->formula, fl->vars, fl->n_vars, rg->p, rg->n, err))) goto done;
        for (int k = 0; k < rg->n; k++) mtr_fusion_set_param(f, k, values[k]);
    }
    if (rules_text && !(rules = mtr_rules_parse(rules_text, a->rules, fl, err))) goto done;
    if (mtr_ranker_set_ranking(r, f, rules, err) != 0) goto done;
    out->n_rules = rules ? mtr_rules_count(rules) : 0;
    double model_s = 0, rank_s = 0;
    for (size_t q = 0; q < te->n_req; q++) {
        size_t lo = te->start[q], n = te->start[q + 1] - lo;
        mtr_request req;
        memset(&req, 0, sizeof req);
        req.rows = (mtr_view){ds, te->rows + lo, n};
        req.fields = te->num + lo * 4;
        req.field_stride = 4;
        req.keys = te->keys + lo * 3;
        req.key_stride = 3;
        req.item_ids = te->item + lo;
        mtr_request_result res;
        if (mtr_rank_request(r, &req, &res, err) != 0) goto done;
        model_s += res.model_seconds;
        rank_s += res.rank_seconds;
        add_truth(&out->m, te, q, res.order, res.n_ranked[0], scratch);
        count_acts(out, res.rules_mask, n);
    }
    finish_truth(&out->m);
    finish_acts(out, te->n_req);
    out->model_us = 1e6 * model_s / (double)te->n * 1000.0;
    out->rank_us = 1e6 * rank_s / (double)te->n * 1000.0;
    rc = 0;
done:
    free(scratch);
    mtr_rules_free(rules);
    mtr_fusion_free(f);
    mtr_ranker_free(r);
    return rc;
}

/* Rank every test request by given scores: LambdaMART (lm != NULL: features and trees per request) or a
 * reference order (scores != NULL). */
static int test_scored(const mo_args *a, const stream *te, const id_stats *st, const mtr_lambdamart *lm,
                       const float *scores, const char *rules_text, strategy_result *out, mtr_error *err) {
    static const mtr_rank_fields fields = {VARS, N_VARS, KEYS, N_KEYS};
    mtr_rules *rules = rules_text ? mtr_rules_parse(rules_text, a->rules, &fields, err) : NULL;
    mtr_rank_context *ctx = rules_text && !rules ? NULL : mtr_rank_context_create(NULL, rules, MTR_SESSIONS_MAX_LIST,
                                                                                  NULL, err);
    float *X = malloc(MTR_SESSIONS_MAX_LIST * (N_VARS + N_LM + 2) * sizeof *X);
    int rc = -1;
    if (!ctx || !X) goto done;
    float *feat = X + MTR_SESSIONS_MAX_LIST * N_VARS, *s = feat + MTR_SESSIONS_MAX_LIST * N_LM,
          *scratch = s + MTR_SESSIONS_MAX_LIST;
    for (size_t i = 0; i < MTR_SESSIONS_MAX_LIST * N_VARS; i++) X[i] = NAN; /* model columns: unused */
    out->n_rules = rules ? mtr_rules_count(rules) : 0;
    double model_s = 0, rank_s = 0;
    for (size_t q = 0; q < te->n_req; q++) {
        size_t lo = te->start[q], n = te->start[q + 1] - lo;
        double t0 = now_seconds();
        if (lm) {
            for (size_t i = 0; i < n; i++) lm_features(te, st, q, lo + i, 0, feat + i * N_LM);
            if (mtr_lambdamart_predict(lm, feat, n, N_LM, s, 1, err) != 0) goto done;
        } else {
            memcpy(s, scores + lo, n * sizeof *s);
        }
        double t1 = now_seconds();
        for (size_t i = 0; i < n; i++) memcpy(X + i * N_VARS + N_OBJ, te->num + (lo + i) * 4, 4 * sizeof(float));
        mtr_rank_list list = {n, X, N_VARS, te->keys + lo * 3, 3, te->item + lo, 0};
        mtr_rank_result res;
        if (mtr_rank_scored(ctx, &list, s, &res, err) != 0) goto done;
        double t2 = now_seconds();
        model_s += t1 - t0;
        rank_s += t2 - t1;
        add_truth(&out->m, te, q, res.order, res.n_ranked, scratch);
        count_acts(out, res.rules_mask, n);
    }
    finish_truth(&out->m);
    finish_acts(out, te->n_req);
    out->model_us = lm ? 1e6 * model_s / (double)te->n * 1000.0 : 0;
    out->rank_us = 1e6 * rank_s / (double)te->n * 1000.0;
    rc = 0;
done:
    free(X);
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
    return rc;
}

/* ---------------------------------------------------------------- output */

static int make_dirs(const char *path, mtr_error *err) {
    char buf[4096];
    if (!path[0] || snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err->message, sizeof err->message, "report folder '%.900s': empty or too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                snprintf(err->message, sizeof err->message, "%.900s: cannot create directory: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static void command_line(int argc, char **argv, char *out, size_t n) {
    snprintf(out, n, "mtrank");
    for (int i = 1; i < argc; i++) {
        if (!argv[i][0] || strpbrk(argv[i], " \t'\"$\\|&;<>*?`()^")) append(out, n, " '%s'", argv[i]);
        else append(out, n, " %s", argv[i]);
    }
}

#define MAX_RESULTS (2 * N_STRATEGIES + 2)  /* every strategy without and with rules, two references */
#define MAX_ABLATION (2 * MTR_MAX_RULES + 2) /* no rules, all, each rule left out, each rule alone */

/* Everything the outputs need. */
typedef struct outcome {
    int runs;                  /* training runs (seeds) */
    int n_results;             /* rankings per run, the references last */
    strategy_result *res;      /* (runs, n_results) */
    strategy_result mean[MAX_RESULTS], sd[MAX_RESULTS]; /* over runs (references: one evaluation, sd 0) */
    int has[N_STRATEGIES];     /* strategies run */
    job *jobs;                 /* trainings, run by run */
    int n_jobs;
    fusion_fit *fit;           /* (runs, N_STRATEGIES): per-objective and mmoe */
    ranges rg;                 /* the formula's parameters */
    int n_rules;               /* rules in the rules file */
    char rule_desc[MTR_MAX_RULES][160]; /* each in canonical form */
    int ablation_strategy;     /* strategy of the rule ablation (run 0), -1 for none */
    int n_ablation;
    strategy_result ablation[MAX_ABLATION];
    double wall, data_seconds, train_seconds;
    size_t n_train, n_valid, n_test;
    char mmoe_path[1200];      /* saved MMoE model of run 0, or "" */
    double mmoe_flops;         /* its forward FLOPs per candidate */
} outcome;

static const char *const OBJ_LABEL[N_OBJ] = {"click", "cart", "fav", "purchase", "dwell"};

/* The numbers of a result, in a fixed order, for averaging. */
#define N_BASE_METRICS 15
static int result_values(const strategy_result *r, double *v) {
    const truth_metrics *m = &r->m;
    int k = 0;
    for (int o = 0; o < N_OBJ; o++) v[k++] = m->ndcg[o];
    v[k++] = m->purchases, v[k++] = m->gmv, v[k++] = m->categories, v[k++] = m->promoted, v[k++] = m->fresh;
    v[k++] = m->low_quality, v[k++] = m->shown, v[k++] = r->model_us, v[k++] = r->rank_us;
    v[k++] = (double)r->params;
    for (int i = 0; i < r->n_rules; i++) v[k++] = r->acted[i];
    return k;
}

static void set_values(strategy_result *r, const double *v) {
    truth_metrics *m = &r->m;
    int k = 0;
    for (int o = 0; o < N_OBJ; o++) m->ndcg[o] = v[k++];
    m->purchases = v[k++], m->gmv = v[k++], m->categories = v[k++], m->promoted = v[k++], m->fresh = v[k++];
    m->low_quality = v[k++], m->shown = v[k++], r->model_us = v[k++], r->rank_us = v[k++];
    r->params = (size_t)v[k++];
    for (int i = 0; i < r->n_rules; i++) r->acted[i] = v[k++];
}

static void aggregate(outcome *oc) {
    for (int k = 0; k < oc->n_results; k++) {
        double sum[N_BASE_METRICS + MTR_MAX_RULES] = {0}, sq[N_BASE_METRICS + MTR_MAX_RULES] = {0};
        double v[N_BASE_METRICS + MTR_MAX_RULES];
        int n = 0, runs = oc->res[k].strategy < 0 ? 1 : oc->runs;
        for (int r = 0; r < runs; r++) {
            n = result_values(&oc->res[r * oc->n_results + k], v);
            for (int i = 0; i < n; i++) sum[i] += v[i], sq[i] += v[i] * v[i];
        }
        oc->mean[k] = oc->sd[k] = oc->res[k];
        for (int i = 0; i < n; i++) {
            double mu = sum[i] / runs, var = runs > 1 ? (sq[i] - runs * mu * mu) / (runs - 1) : 0;
            v[i] = mu;
            sum[i] = var > 0 ? sqrt(var) : 0;
        }
        set_values(&oc->mean[k], v);
        set_values(&oc->sd[k], sum);
        oc->sd[k].params = 0;
    }
}

static void print_table(FILE *o, const outcome *oc, const strategy_result *rows, const strategy_result *sd, int n,
                        int markdown) {
    if (markdown) {
        fprintf(o, "| ranking | params | NDCG@10 click | cart | fav | purchase | dwell | purchases@10 | GMV@10 | "
                   "categories@10 | promoted@10 | new@10 | low-q@10 | model us/1k | rank us/1k |\n");
        fprintf(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    } else {
        fprintf(o, "%-24s %9s | %-34s | %8s %14s %6s | %5s %5s %5s | %6s %6s\n", "ranking", "params",
                "NDCG@10: click  cart   fav  purch  dwell", "purch@10", "GMV@10", "cat@10", "promo", "new", "low-q",
                "model", "rank");
        fprintf(o, "%-24s %9s | %-34s | %8s %14s %6s | %5s %5s %5s | %6s %6s\n", "", "", "", "",
                oc->runs > 1 ? "(+- sd)" : "", "", "@10", "@10", "@10", "us/1k", "us/1k");
    }
    for (int i = 0; i < n; i++) {
        const strategy_result *r = &rows[i];
        const truth_metrics *m = &r->m;
        char params[32] = "-", model[32] = "-", gmv[48];
        if (r->strategy >= 0) snprintf(params, sizeof params, "%zu", r->params);
        if (r->strategy >= 0) snprintf(model, sizeof model, "%.0f", r->model_us);
        if (sd && oc->runs > 1 && r->strategy >= 0) snprintf(gmv, sizeof gmv, "%.3f +- %.3f", m->gmv, sd[i].m.gmv);
        else snprintf(gmv, sizeof gmv, "%.3f", m->gmv);
        if (markdown)
            fprintf(o, "| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %s | %.2f | %.2f | %.2f | %.2f | %s | %.0f |\n",
                    r->name, params, m->ndcg[0], m->ndcg[1], m->ndcg[2], m->ndcg[3], m->ndcg[4], m->purchases, gmv,
                    m->categories, m->promoted, m->fresh, m->low_quality, model, r->rank_us);
        else
            fprintf(o, "%-24s %9s | %6.4f %6.4f %6.4f %6.4f %6.4f | %8.4f %14s %6.2f | %5.2f %5.2f %5.2f | %6s %6.0f\n",
                    r->name, params, m->ndcg[0], m->ndcg[1], m->ndcg[2], m->ndcg[3], m->ndcg[4], m->purchases, gmv,
                    m->categories, m->promoted, m->fresh, m->low_quality, model, r->rank_us);
    }
}

static json_t *json_metrics(const strategy_result *r) {
    json_t *j = json_object(), *nd = json_object();
    for (int o = 0; o < N_OBJ; o++) json_object_set_new(nd, OBJ_LABEL[o], report_json_number(r->m.ndcg[o]));
    json_object_set_new(j, "ndcg_at_10", nd);
    json_object_set_new(j, "purchases_at_10", report_json_number(r->m.purchases));
    json_object_set_new(j, "gmv_at_10", report_json_number(r->m.gmv));
    json_object_set_new(j, "categories_at_10", report_json_number(r->m.categories));
    json_object_set_new(j, "promoted_at_10", report_json_number(r->m.promoted));
    json_object_set_new(j, "new_at_10", report_json_number(r->m.fresh));
    json_object_set_new(j, "low_quality_at_10", report_json_number(r->m.low_quality));
    json_object_set_new(j, "shown_at_10", report_json_number(r->m.shown));
    json_object_set_new(j, "model_us_per_1000", r->strategy >= 0 ? report_json_number(r->model_us) : json_null());
    json_object_set_new(j, "rank_us_per_1000", report_json_number(r->rank_us));
    json_t *acts = json_array();
    for (int k = 0; k < r->n_rules; k++) json_array_append_new(acts, report_json_number(r->acted[k]));
    json_object_set_new(j, "rule_acted_per_request", acts);
    return j;
}

static json_t *json_result(const strategy_result *r, const strategy_result *sd) {
    json_t *j = json_metrics(r);
    json_object_set_new(j, "name", json_string(r->name));
    json_object_set_new(j, "strategy", r->strategy >= 0 ? json_string(STRATEGY_NAMES[r->strategy]) : json_null());
    json_object_set_new(j, "rules", json_boolean(r->rules));
    json_object_set_new(j, "parameters", r->strategy >= 0 ? json_integer((json_int_t)r->params) : json_null());
    if (sd) json_object_set_new(j, "sd", json_metrics(sd));
    return j;
}

static const char *job_name(const job *j) {
    static const char *const obj[N_OBJ] = {"per-objective click", "per-objective cart", "per-objective fav",
                                           "per-objective purchase", "per-objective dwell"};
    return j->kind == JOB_LAMBDAMART ? "lambdamart" : j->kind == JOB_MMOE ? "mmoe" : j->kind == JOB_BPR ? "bpr" : obj[j->task];
}

static const char *job_metric(const job *j) {
    return j->kind == JOB_LAMBDAMART || j->kind == JOB_BPR ? "graded NDCG@10"
           : j->kind == JOB_OBJECTIVE && j->task == MTR_SESSIONS_DWELL ? "R^2" : "AUC";
}

static json_t *json_doc(const mo_args *a, const outcome *oc) {
    json_t *doc = json_object(), *arr = json_array(), *tr = json_array(), *fu = json_array(), *runs = json_array();
    json_object_set_new(doc, "experiment", json_string("multiobjective"));
    json_object_set_new(doc, "runs", json_integer(oc->runs));
    json_object_set_new(doc, "train_requests", json_integer((json_int_t)a->requests));
    json_object_set_new(doc, "valid_requests", json_integer((json_int_t)a->valid_requests));
    json_object_set_new(doc, "test_requests", json_integer((json_int_t)a->test_requests));
    json_object_set_new(doc, "list_length", json_integer(a->list_length));
    json_object_set_new(doc, "target", json_string(a->target));
    json_object_set_new(doc, "formula", json_string(a->formula));
    json_object_set_new(doc, "rules_file", json_string(a->rules));
    json_t *rl = json_array();
    for (int r = 0; r < oc->n_rules; r++) json_array_append_new(rl, json_string(oc->rule_desc[r]));
    json_object_set_new(doc, "rules", rl);
    for (int i = 0; i < oc->n_results; i++) json_array_append_new(arr, json_result(&oc->mean[i], &oc->sd[i]));
    json_object_set_new(doc, "results", arr);
    for (int r = 0; r < oc->runs; r++) {
        json_t *one = json_array();
        for (int i = 0; i < oc->n_results; i++)
            if (oc->res[r * oc->n_results + i].strategy >= 0)
                json_array_append_new(one, json_result(&oc->res[r * oc->n_results + i], NULL));
        json_array_append_new(runs, one);
    }
    json_object_set_new(doc, "per_run", runs);
    for (int i = 0; i < oc->n_jobs; i++) {
        const job *j = &oc->jobs[i];
        json_t *jj = json_object();
        json_object_set_new(jj, "name", json_string(job_name(j)));
        json_object_set_new(jj, "run", json_integer(j->run));
        json_object_set_new(jj, "parameters", json_integer((json_int_t)j->params));
        json_object_set_new(jj, "epochs", json_integer(j->epochs));
        json_object_set_new(jj, "kept", json_integer(j->best_epoch));
        json_object_set_new(jj, "valid_metric", json_string(job_metric(j)));
        json_object_set_new(jj, "valid_value", report_json_number(j->valid_metric));
        json_object_set_new(jj, "seconds", json_real(j->seconds));
        json_array_append_new(tr, jj);
    }
    json_object_set_new(doc, "trainings", tr);
    for (int r = 0; r < oc->runs; r++)
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!oc->has[s] || (s != S_PER_OBJECTIVE && s != S_MMOE)) continue;
            const fusion_fit *f = &oc->fit[r * N_STRATEGIES + s];
            json_t *js = json_object(), *pv = json_object();
            json_object_set_new(js, "strategy", json_string(STRATEGY_NAMES[s]));
            json_object_set_new(js, "run", json_integer(r));
            for (int k = 0; k < oc->rg.n; k++) json_object_set_new(pv, oc->rg.names[k], json_real(f->values[k]));
            json_object_set_new(js, "params", pv);
            json_object_set_new(js, "valid_target", report_json_number(f->valid_metric));
            json_object_set_new(js, "valid_target_at_centre", report_json_number(f->default_metric));
            json_array_append_new(fu, js);
        }
    json_object_set_new(doc, "fusion", fu);
    json_t *ab = json_array();
    for (int i = 0; i < oc->n_ablation; i++) json_array_append_new(ab, json_result(&oc->ablation[i], NULL));
    json_object_set_new(doc, "rule_ablation", ab);
    json_object_set_new(doc, "mmoe_flops_per_candidate", report_json_number(oc->mmoe_flops));
    json_object_set_new(doc, "data_seconds", json_real(oc->data_seconds));
    json_object_set_new(doc, "train_seconds", json_real(oc->train_seconds));
    json_object_set_new(doc, "wall_seconds", json_real(oc->wall));
    json_object_set_new(doc, "jobs", json_integer(a->jobs));
    json_object_set_new(doc, "report", strcmp(a->report, "none") ? json_string(a->report) : json_null());
    return doc;
}

static void csv_row(mtr_csv *c, const char *run, const strategy_result *r) {
    mtr_csv_text(c, run);
    mtr_csv_text(c, r->name);
    mtr_csv_text(c, r->strategy >= 0 ? STRATEGY_NAMES[r->strategy] : "reference");
    mtr_csv_int(c, r->rules);
    if (r->strategy >= 0) mtr_csv_u64(c, r->params);
    else mtr_csv_text(c, "");
    for (int o = 0; o < N_OBJ; o++) mtr_csv_double(c, r->m.ndcg[o]);
    mtr_csv_double(c, r->m.purchases);
    mtr_csv_double(c, r->m.gmv);
    mtr_csv_double(c, r->m.categories);
    mtr_csv_double(c, r->m.promoted);
    mtr_csv_double(c, r->m.fresh);
    mtr_csv_double(c, r->m.low_quality);
    mtr_csv_double(c, r->m.shown);
    mtr_csv_double(c, r->strategy >= 0 ? r->model_us : NAN);
    mtr_csv_double(c, r->rank_us);
}

/* results.csv: every ranking of every run, then the means and standard deviations over runs. */
static int write_csv(const mo_args *a, const outcome *oc, mtr_error *err) {
    static const char *const h[] = {"run", "name", "strategy", "rules", "parameters", "ndcg10_click", "ndcg10_cart",
                                    "ndcg10_fav", "ndcg10_purchase", "ndcg10_dwell", "purchases10", "gmv10",
                                    "categories10", "promoted10", "new10", "low_quality10", "shown10",
                                    "model_us_per_1000", "rank_us_per_1000"};
    char path[4200], run[32];
    snprintf(path, sizeof path, "%s/results.csv", a->report);
    mtr_csv c;
    if (mtr_csv_open(&c, path, h, 19, err) != 0) return -1;
    for (int r = 0; r < oc->runs; r++)
        for (int i = 0; i < oc->n_results; i++) {
            if (oc->res[r * oc->n_results + i].strategy < 0 && r > 0) continue;
            snprintf(run, sizeof run, "%d", r);
            csv_row(&c, run, &oc->res[r * oc->n_results + i]);
            if (mtr_csv_end_row(&c, err) != 0) goto fail;
        }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < oc->n_results; i++) {
            csv_row(&c, k ? "sd" : "mean", k ? &oc->sd[i] : &oc->mean[i]);
            if (mtr_csv_end_row(&c, err) != 0) goto fail;
        }
    return mtr_csv_close(&c, err);
fail:
    mtr_csv_abort(&c);
    return -1;
}

static int write_svg(const char *dir, const char *name, char *svg, mtr_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!svg) return -1;
    int rc = mtr_text_file_save(path, svg, err);
    free(svg);
    return rc;
}

static int write_plots(const mo_args *a, const outcome *oc, mtr_error *err) {
    /* GMV@10 against distinct categories@10: one point per ranking (run means), named in the legend */
    double xs[MAX_RESULTS], ys[MAX_RESULTS];
    mtr_plot_series s[MAX_RESULTS];
    int n = 0;
    for (int i = 0; i < oc->n_results && n < MTR_PLOT_MAX_SERIES; i++) {
        const strategy_result *r = &oc->mean[i];
        if (r->strategy < 0) continue; /* the references are in the table (the oracle is off the scale) */
        xs[n] = r->m.categories;
        ys[n] = r->m.gmv;
        s[n] = (mtr_plot_series){r->name, &xs[n], &ys[n], 1};
        n++;
    }
    mtr_plot_options o = {"GMV@10 against category diversity (test requests, truth; mean over runs)",
                          "distinct categories in the top 10", "GMV@10 (price x true purchase probability)", 0, 0,
                          0, 1, 0};
    if (n > 0 && write_svg(a->report, "gmv_vs_diversity.svg", mtr_svg_line_chart(&o, s, n, err), err) != 0) return -1;
    /* NDCG@10 per objective, one line per ranking */
    double xo[N_OBJ] = {0, 1, 2, 3, 4}, yo[MAX_RESULTS][N_OBJ];
    n = 0;
    for (int i = 0; i < oc->n_results && n < MTR_PLOT_MAX_SERIES; i++) {
        const strategy_result *r = &oc->mean[i];
        if (r->strategy < 0) continue;
        for (int k = 0; k < N_OBJ; k++) yo[n][k] = r->m.ndcg[k];
        s[n] = (mtr_plot_series){r->name, xo, yo[n], N_OBJ};
        n++;
    }
    mtr_plot_options p = {"NDCG@10 per objective (0 click, 1 cart, 2 fav, 3 purchase, 4 dwell)", "objective",
                          "NDCG@10 (truth; mean over runs)", 0, 0, 0, 1, 0};
    if (n > 0 && write_svg(a->report, "ndcg_per_objective.svg", mtr_svg_line_chart(&p, s, n, err), err) != 0) return -1;
    return 0;
}

static const strategy_result *find_result(const outcome *oc, const char *name) {
    for (int i = 0; i < oc->n_results; i++)
        if (strcmp(oc->mean[i].name, name) == 0) return &oc->mean[i];
    return NULL;
}

static int write_readme(const mo_args *a, const outcome *oc, const char *cmd, mtr_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/README.md", a->report);
    mtr_atomic_file af;
    if (mtr_atomic_open(&af, path, err) != 0) return -1;
    FILE *o = af.f;
    fprintf(o, "# Multi-objective ranking: fusion, rules and learning to rank, head to head\n\n");
    fprintf(o, "Generated by `%s` (mtrank %s). docs/multiobjective.md explains the setup and discusses the "
               "results.\n\n", cmd, MTR_VERSION_STRING);
    fprintf(o, "- Wall time: **%.1f s** (%.1f min) with %d jobs: data %.1f s, training %.1f s (%d trainings).\n",
            oc->wall, oc->wall / 60, a->jobs, oc->data_seconds, oc->train_seconds, oc->n_jobs);
    fprintf(o, "- Simulated sessions (data seed %llu): %llu training, %llu validation and %llu test requests of %d "
               "candidates (%zu, %zu and %zu rows); %d users, %d items. %d run%s: every model trained with the "
               "run's seeds (from --seed %llu), the data the same.\n",
            (unsigned long long)a->data_seed, (unsigned long long)a->requests, (unsigned long long)a->valid_requests,
            (unsigned long long)a->test_requests, a->list_length, oc->n_train, oc->n_valid, oc->n_test, a->users,
            a->items, oc->runs, oc->runs == 1 ? "" : "s", (unsigned long long)a->seed);
    fprintf(o, "- Test metrics from the simulator's truth (no position bias), means over the %llu test requests: "
               "NDCG@10 per objective (relevance: true_click; true_click x true_cart, x true_fav, x true_purchase; "
               "dwell: utility_engagement / the list's largest), purchases@10 (sum of true_click x true_purchase), "
               "GMV@10 (sum of utility_gmv = price x true_click x true_purchase), distinct categories, and how many "
               "promoted, new (< 7 days) and low-quality items the top 10 holds.\n",
            (unsigned long long)a->test_requests);
    fprintf(o, "- Cost: parameters; scoring (`model us/1k`) and fusion + rules (`rank us/1k`) wall time per 1000 "
               "candidates, measured request by request (%d candidates each) through `mtr_rank_request` on one "
               "thread (LambdaMART: features, trees and `mtr_rank_scored`).\n", a->list_length);
    fprintf(o, "- Formula (per-objective and mmoe): `%s`; parameters searched (%s, %d points, ranges `%s`) on the "
               "validation requests for the best **%s@10 from logged outcomes**. Rules: `%s`.\n\n",
            a->formula, a->search, a->budget, a->ranges, a->target, a->rules);
    fprintf(o, "## Results (mean over %d run%s)\n\n", oc->runs, oc->runs == 1 ? "" : "s");
    print_table(o, oc, oc->mean, oc->sd, oc->n_results, 1);
    fprintf(o, "\n`logged` is the logging policy's order, `oracle-gmv` the candidates sorted by their true expected "
               "GMV (the best GMV@10 there is without rules).\n\n");
    if (oc->runs > 1) {
        fprintf(o, "Standard deviation over the runs:\n\n| ranking | NDCG@10 click | purchase | purchases@10 | GMV@10 | "
                   "categories@10 |\n|---|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < oc->n_results; i++)
            if (oc->mean[i].strategy >= 0)
                fprintf(o, "| %s | %.4f | %.4f | %.4f | %.3f | %.2f |\n", oc->mean[i].name, oc->sd[i].m.ndcg[0],
                        oc->sd[i].m.ndcg[3], oc->sd[i].m.purchases, oc->sd[i].m.gmv, oc->sd[i].m.categories);
        fprintf(o, "\n");
    }
    fprintf(o, "![GMV@10 against categories](gmv_vs_diversity.svg)\n\n![NDCG per objective](ndcg_per_objective.svg)\n\n");
    fprintf(o, "## Rules\n\nCandidates each rule acted on, per request (of all %d, not only the top 10; mean over runs):\n\n"
               "| ranking |", a->list_length);
    for (int r = 0; r < oc->n_rules; r++) fprintf(o, " `%s` |", oc->rule_desc[r]);
    fprintf(o, "\n|---|");
    for (int r = 0; r < oc->n_rules; r++) fprintf(o, "---:|");
    fprintf(o, "\n");
    for (int i = 0; i < oc->n_results; i++) {
        const strategy_result *r = &oc->mean[i];
        if (!r->rules) continue;
        fprintf(o, "| %s |", r->name);
        for (int k = 0; k < r->n_rules; k++) fprintf(o, " %.2f |", r->acted[k]);
        fprintf(o, "\n");
    }
    if (oc->n_ablation > 0) {
        fprintf(o, "\nWhat each rule costs: %s (run 0) ranked with no rules, all rules, all but one, and one alone:\n\n",
                STRATEGY_NAMES[oc->ablation_strategy]);
        print_table(o, oc, oc->ablation, NULL, oc->n_ablation, 1);
    }
    fprintf(o, "\n## Fusion parameters found\n\n| strategy | run | parameters | validation %s@10 (logged) | at the "
               "ranges' centres |\n|---|---:|---|---:|---:|\n", a->target);
    for (int r = 0; r < oc->runs; r++)
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!oc->has[s] || (s != S_PER_OBJECTIVE && s != S_MMOE)) continue;
            const fusion_fit *f = &oc->fit[r * N_STRATEGIES + s];
            fprintf(o, "| %s | %d | ", STRATEGY_NAMES[s], r);
            for (int k = 0; k < oc->rg.n; k++) fprintf(o, "%s%s = %.4g", k ? ", " : "", oc->rg.names[k], f->values[k]);
            fprintf(o, " | %.4f | %.4f |\n", f->valid_metric, f->default_metric);
        }
    fprintf(o, "\n## Trainings\n\n| model | run | parameters | epochs (trees) run | kept | validation metric | value | "
               "seconds |\n|---|---:|---:|---:|---:|---|---:|---:|\n");
    for (int i = 0; i < oc->n_jobs; i++) {
        const job *j = &oc->jobs[i];
        fprintf(o, "| %s | %d | %zu | %d | %d | %s | %.4f | %.1f |\n", job_name(j), j->run, j->params, j->epochs,
                j->best_epoch, job_metric(j), j->valid_metric, j->seconds);
    }
    if (oc->mmoe_path[0])
        fprintf(o, "\nThe MMoE of run 0 (%.0f forward FLOPs per candidate) is saved as `%s` for "
                   "`bench_mtrank rank-model --model`.\n", oc->mmoe_flops, oc->mmoe_path);
    fprintf(o, "\nEvery number is in [results.csv](results.csv).\n");
    const strategy_result *lo = find_result(oc, "logged"), *or = find_result(oc, "oracle-gmv");
    if (lo && or)
        fprintf(o, "\nFor scale: the logged order gives GMV@10 %.3f and the oracle %.3f.\n", lo->m.gmv, or->m.gmv);
    if (ferror(o)) {
        mtr_atomic_abort(&af);
        snprintf(err->message, sizeof err->message, "%.900s: write failed", path);
        return -1;
    }
    return mtr_atomic_commit(&af, err);
}

/* ---------------------------------------------------------------- the command */

static int parse_strategies(const char *list, int has[N_STRATEGIES], char *msg, size_t ms) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    memset(has, 0, N_STRATEGIES * sizeof *has);
    int any = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int s = 0; s < N_STRATEGIES; s++)
            if (strcmp(tok, STRATEGY_NAMES[s]) == 0) found = s;
        if (found < 0) {
            snprintf(msg, ms, "--strategies: unknown strategy '%s' (per-objective, bpr, lambdamart, mmoe)", tok);
            return -1;
        }
        has[found] = any = 1;
    }
    if (!any) {
        snprintf(msg, ms, "--strategies: name at least one");
        return -1;
    }
    return 0;
}


static char *read_text(const char *path, mtr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->message, sizeof err->message, "%.900s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0, n;
    char *s = malloc(cap);
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0)
        if ((len += n) + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
    int bad = !s || ferror(f);
    fclose(f);
    if (bad) {
        free(s);
        snprintf(err->message, sizeof err->message, "%.900s: cannot read", path);
        return NULL;
    }
    s[len] = '\0';
    return s;
}

/* The trained models of one run. */
typedef struct run_models {
    job *lm;                   /* LambdaMART (shared by the runs) */
    job *mmoe, *bpr;           /* the run's MMoE and BPR networks */
    job *obj[N_OBJ];           /* its per-objective networks */
} run_models;

/* Rank the test requests with strategy s of a run, with the rules in rules_text (NULL: none). */
static int test_strategy(const mo_args *a, const mtr_dataset *ds, const stream *te, const id_stats *st,
                         const run_models *rm, int s, const ranges *rg, const fusion_fit *fit, const char *rules_text,
                         strategy_result *r, mtr_error *err) {
    r->strategy = s;
    r->rules = rules_text != NULL;
    if (s == S_LAMBDAMART) {
        r->params = rm->lm->params;
        return test_scored(a, te, st, rm->lm->lm, NULL, rules_text, r, err);
    }
    if (s == S_BPR) {
        mtr_ranker_model m = {rm->bpr->model, "bpr"};
        r->params = rm->bpr->params;
        return test_ranker(a, ds, te, &m, 1, NULL, NULL, rules_text, r, err);
    }
    if (s == S_MMOE) {
        mtr_ranker_model m = {rm->mmoe->model, NULL};
        r->params = rm->mmoe->params;
        return test_ranker(a, ds, te, &m, 1, rg, fit->values, rules_text, r, err);
    }
    mtr_ranker_model m[N_OBJ];
    r->params = 0;
    for (int o = 0; o < N_OBJ; o++) {
        m[o] = (mtr_ranker_model){rm->obj[o]->model, NULL};
        r->params += rm->obj[o]->params;
    }
    return test_ranker(a, ds, te, m, N_OBJ, rg, fit->values, rules_text, r, err);
}

/* Rules text of the file's rules in canonical form: all but `skip` (-1: none), or only `only` (>= 0). */
static void rules_subset(const outcome *oc, int skip, int only, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int r = 0; r < oc->n_rules; r++)
        if (r != skip && (only < 0 || r == only)) append(buf, cap, "%s\n", oc->rule_desc[r]);
}

int cmd_experiment_multiobjective(int argc, char **argv) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    mo_args a;
    memset(&a, 0, sizeof a);
    a.requests = 30000;
    a.valid_requests = 5000;
    a.test_requests = 5000;
    a.list_length = 100;
    a.users = 100000;
    a.items = 200000;
    a.data_seed = 1;
    a.seed = 1;
    a.runs = 3;
    a.jobs = cpus > 0 ? (int)cpus : 1;
    a.strategies = "per-objective,bpr,lambdamart,mmoe";
    a.rules = "data/multiobjective/default.rules";
    a.formula = DEFAULT_FORMULA;
    a.ranges = DEFAULT_RANGES;
    a.target = "gmv";
    a.search = "random";
    a.budget = 200;
    a.order = "purchase,cart,fav,click";
    a.epochs = 10;
    a.patience = 2;
    a.batch = 1024;
    a.lr = 1e-3f;
    a.embedding = 8;
    a.units = 32;
    a.experts = 8;
    a.expert_units = 32;
    a.towers = 16;
    a.mmoe_main = "purchase";
    a.bpr_negatives = 10;
    a.trees = 300;
    a.leaves = 31;
    a.cache = "mtrank-cache";
    a.report = "reports/multiobjective";
    cli_option opts[] = {
        {"requests", CLI_U64, &a.requests, NULL, 0, 0, "training requests (simulated stream 0)"},
        {"valid-requests", CLI_U64, &a.valid_requests, NULL, 0, 0, "validation requests (stream 1): early stopping, fusion search"},
        {"test-requests", CLI_U64, &a.test_requests, NULL, 0, 0, "test requests (stream 2): every reported metric"},
        {"list-length", CLI_INT, &a.list_length, NULL, 10, MTR_SESSIONS_MAX_LIST, "candidates per request"},
        {"users", CLI_INT, &a.users, NULL, 100, 100000000, "simulated users"},
        {"items", CLI_INT, &a.items, NULL, 100, 100000000, "simulated items"},
        {"data-seed", CLI_U64, &a.data_seed, NULL, 0, 0, "seed of the simulated world"},
        {"seed", CLI_U64, &a.seed, NULL, 0, 0, "base seed of the models, pair sampling and the search"},
        {"runs", CLI_INT, &a.runs, NULL, 1, 100, "trainings of every model, each run with its own seeds"},
        {"jobs", CLI_INT, &a.jobs, NULL, 1, 256, "trainings at once (one thread each)"},
        {"strategies", CLI_STRING, &a.strategies, NULL, 0, 0, "per-objective, bpr, lambdamart, mmoe"},
        {"rules", CLI_STRING, &a.rules, NULL, 0, 0, "rules file of the +rules rankings"},
        {"formula", CLI_STRING, &a.formula, NULL, 0, 0, "fusion formula of per-objective and mmoe"},
        {"ranges", CLI_STRING, &a.ranges, NULL, 0, 0, "its parameters: name=lo:hi[:log],..."},
        {"target", CLI_STRING, &a.target, NULL, 0, 0, "validation metric the search maximises: gmv, purchases, ndcg"},
        {"search", CLI_STRING, &a.search, NULL, 0, 0, "random or grid"},
        {"budget", CLI_INT, &a.budget, NULL, 1, 1000000, "points the search evaluates"},
        {"order", CLI_STRING, &a.order, NULL, 0, 0, "objective order of BPR pairs and LambdaMART grades, best first"},
        {"epochs", CLI_INT, &a.epochs, NULL, 1, 1000, "epochs at most (networks)"},
        {"patience", CLI_INT, &a.patience, NULL, 1, 1000, "epochs without a better validation metric before stopping"},
        {"batch", CLI_INT, &a.batch, NULL, 1, 1 << 20, "batch size (pairs for BPR)"},
        {"lr", CLI_FLOAT, &a.lr, NULL, 1e-9, 100, "Adam learning rate"},
        {"embedding", CLI_INT, &a.embedding, NULL, 1, 1024, "embedding size per field"},
        {"units", CLI_INT, &a.units, NULL, 1, 65536, "bottom layer of each per-objective and the BPR network"},
        {"experts", CLI_INT, &a.experts, NULL, 1, 256, "MMoE experts"},
        {"expert-units", CLI_INT, &a.expert_units, NULL, 1, 65536, "units per MMoE expert"},
        {"towers", CLI_INT, &a.towers, NULL, 1, 65536, "tower hidden units (every network)"},
        {"mmoe-main", CLI_STRING, &a.mmoe_main, NULL, 0, 0, "objective whose validation AUC early-stops MMoE"},
        {"bpr-negatives", CLI_INT, &a.bpr_negatives, NULL, 0, 1000, "impressions paired with each positive"},
        {"trees", CLI_INT, &a.trees, NULL, 1, 100000, "LambdaMART trees at most"},
        {"leaves", CLI_INT, &a.leaves, NULL, 2, 65536, "LambdaMART leaves per tree"},
        {"cache", CLI_STRING, &a.cache, NULL, 0, 0, "directory for simulated and compiled data"},
        {"report", CLI_STRING, &a.report, NULL, 0, 0, "report folder (README.md, SVG, CSV), or none"},
        {"json", CLI_FLAG, &a.json, NULL, 0, 0, "print results as JSON"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, 0, 0, "no progress output"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "experiment multiobjective [--requests N] [--runs N] [--jobs N] [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "Issue 5's comparison on simulated sessions: per-objective networks + fusion, BPR, LambdaMART and\n"
                  "MMoE + fusion, each without and with rules; NDCG@10 per objective, purchases@10, GMV@10 and\n"
                  "categories@10 from the simulator's truth, and cost. See docs/multiobjective.md.",
                  opts, n_opts);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n_opts, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("experiment", msg);
    int has[N_STRATEGIES], order[4], n_order, target, mmoe_main = -1;
    outcome *oc = calloc(1, sizeof *oc);
    if (!oc) return usage_error("experiment", "out of memory");
    if (parse_strategies(a.strategies, has, msg, sizeof msg) != 0 || parse_order(a.order, order, &n_order, msg, sizeof msg) != 0 ||
        parse_ranges(a.ranges, &oc->rg, msg, sizeof msg) != 0) {
        free(oc);
        return usage_error("experiment", msg);
    }
    target = strcmp(a.target, "gmv") == 0 ? TARGET_GMV : strcmp(a.target, "purchases") == 0 ? TARGET_PURCHASES
             : strcmp(a.target, "ndcg") == 0 ? TARGET_NDCG : -1;
    for (int t = 0; t < MTR_SESSIONS_DWELL; t++)
        if (strcmp(a.mmoe_main, mtr_sessions_task_name(t)) == 0) mmoe_main = t;
    const char *bad = target < 0 ? "--target: gmv, purchases or ndcg"
                      : mmoe_main < 0 ? "--mmoe-main: click, cart, fav or purchase"
                      : strcmp(a.search, "random") && strcmp(a.search, "grid") ? "--search: random or grid"
                      : a.requests < 10 || a.valid_requests < 10 || a.test_requests < 10
                          ? "--requests, --valid-requests, --test-requests: at least 10 each"
                          : NULL;
    if (bad) {
        free(oc);
        return usage_error("experiment", bad);
    }
    memcpy(oc->has, has, sizeof has);
    oc->runs = a.runs;

    mtr_error err = {{0}};
    int rc = 1;
    stream tr, va, te;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    memset(&te, 0, sizeof te);
    char csv[3][1024], spec_path[3][1100];
    mtr_spec *spec = NULL;
    mtr_schema *schema = NULL;
    mtr_dataset *ds[3] = {NULL, NULL, NULL};
    id_stats st;
    memset(&st, 0, sizeof st);
    float *lm_tx = NULL, *lm_vx = NULL, *rel_t = NULL, *rel_v = NULL, *Xv = NULL;
    size_t *grp_t = NULL, *grp_v = NULL;
    job *jobs = NULL;
    int n_jobs = 0;
    run_models *rms = NULL;
    char *rules_text = NULL, *subset = NULL;
    double t0 = now_seconds();
    int live = !a.quiet && !a.json && isatty(STDERR_FILENO);
    int talk = !a.quiet && !a.json;

    /* the rules, checked now rather than after the trainings: against the fused variables and against BPR's
       (its score is the variable "bpr") */
    if (!(rules_text = read_text(a.rules, &err))) goto fail;
    {
        static const char *const bpr_vars[5] = {"bpr", "price", "age_days", "promotion", "low_quality"};
        static const mtr_rank_fields fused = {VARS, N_VARS, KEYS, N_KEYS}, bpr = {bpr_vars, 5, KEYS, N_KEYS};
        mtr_rules *ru = mtr_rules_parse(rules_text, a.rules, &fused, &err);
        mtr_rules *rb = ru && has[S_BPR] ? mtr_rules_parse(rules_text, a.rules, &bpr, &err) : NULL;
        int ok = ru && (!has[S_BPR] || rb);
        if (ok) {
            oc->n_rules = mtr_rules_count(ru);
            for (int r = 0; r < oc->n_rules; r++) mtr_rules_describe(ru, r, oc->rule_desc[r], sizeof oc->rule_desc[r]);
        }
        mtr_rules_free(ru);
        mtr_rules_free(rb);
        if (!ok) goto fail;
    }

    /* ---- data: three streams of one world */
    if (talk) fprintf(stderr, "simulating %llu + %llu + %llu requests of %d candidates (cached in %s)...\n",
                      (unsigned long long)a.requests, (unsigned long long)a.valid_requests,
                      (unsigned long long)a.test_requests, a.list_length, a.cache);
    uint64_t sizes[3] = {a.requests, a.valid_requests, a.test_requests};
    stream *streams[3] = {&tr, &va, &te};
    for (int k = 0; k < 3; k++)
        if (load_stream(&a, (uint64_t)k, sizes[k], streams[k], csv[k], sizeof csv[k], spec_path[k], &err) != 0) goto fail;
    if (!(spec = mtr_spec_load(spec_path[0], &err))) goto fail;
    if (!(schema = mtr_schema_fit(spec, csv[0], &err))) goto fail;
    for (int k = 0; k < 3; k++) {
        static const char *const what[3] = {"training stream", "validation stream", "test stream"};
        if (!(ds[k] = prepare_dataset(schema, csv[k], a.cache, &err))) goto fail;
        if (check_stream(streams[k], ds[k], schema, what[k], &err) != 0) goto fail;
        set_grades(streams[k], order, n_order);
    }
    oc->n_train = tr.n, oc->n_valid = va.n, oc->n_test = te.n;
    mtr_sessions_config world;
    sessions_config(&a, 0, a.requests, &world);
    /* LambdaMART's inputs: features, graded relevance, groups */
    if (has[S_LAMBDAMART]) {
        if (id_stats_build(&st, &tr, &world, &err) != 0) goto fail;
        lm_tx = lm_matrix(&tr, &st, 1);
        lm_vx = lm_matrix(&va, &st, 0);
        rel_t = malloc(tr.n * sizeof *rel_t);
        rel_v = malloc(va.n * sizeof *rel_v);
        grp_t = malloc((tr.n_req + 1) * sizeof *grp_t);
        grp_v = malloc((va.n_req + 1) * sizeof *grp_v);
        if (!lm_tx || !lm_vx || !rel_t || !rel_v || !grp_t || !grp_v) {
            snprintf(err.message, sizeof err.message, "out of memory for LambdaMART features");
            goto fail;
        }
        for (size_t i = 0; i < tr.n; i++) rel_t[i] = tr.grade[i];
        for (size_t i = 0; i < va.n; i++) rel_v[i] = va.grade[i];
        memcpy(grp_t, tr.start, (tr.n_req + 1) * sizeof *grp_t);
        memcpy(grp_v, va.start, (va.n_req + 1) * sizeof *grp_v);
    }
    double dwell_var = 0, dwell_mean = 0;
    for (size_t i = 0; i < tr.n; i++) dwell_mean += tr.label[i * N_OBJ + MTR_SESSIONS_DWELL];
    dwell_mean /= (double)tr.n;
    for (size_t i = 0; i < tr.n; i++) {
        double d = tr.label[i * N_OBJ + MTR_SESSIONS_DWELL] - dwell_mean;
        dwell_var += d * d;
    }
    dwell_var /= (double)tr.n;
    oc->data_seconds = now_seconds() - t0;

    /* ---- trainings: every run's, the longest first */
    int per_run = has[S_LAMBDAMART] + has[S_MMOE] + has[S_BPR] + (has[S_PER_OBJECTIVE] ? N_OBJ : 0);
    jobs = calloc((size_t)(a.runs * per_run), sizeof *jobs);
    rms = calloc((size_t)a.runs, sizeof *rms);
    oc->fit = calloc((size_t)a.runs * N_STRATEGIES, sizeof *oc->fit);
    oc->res = calloc((size_t)a.runs * MAX_RESULTS, sizeof *oc->res);
    subset = malloc((size_t)(MTR_MAX_RULES + 1) * 160);
    if (!jobs || !rms || !oc->fit || !oc->res || !subset) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto fail;
    }
    for (int kind = JOB_LAMBDAMART; kind <= JOB_OBJECTIVE; kind++)
        for (int r = 0; r < a.runs; r++) {
            static const int strategy_of[4] = {S_LAMBDAMART, S_MMOE, S_BPR, S_PER_OBJECTIVE};
            /* LambdaMART has no randomness at these settings (all features and groups, bin edges from every
               row up to 200000 sampled ones): one training serves every run */
            if (!has[strategy_of[kind]] || (kind == JOB_LAMBDAMART && r > 0)) continue;
            for (int t = 0; t < (kind == JOB_OBJECTIVE ? N_OBJ : 1); t++) {
                jobs[n_jobs].kind = kind;
                jobs[n_jobs].task = t;
                jobs[n_jobs++].run = r;
            }
        }
    oc->jobs = jobs;
    oc->n_jobs = n_jobs;
    shared sh = {&a, schema, mtr_view_all(ds[0]), mtr_view_all(ds[1]), &tr, &va, order, n_order, mmoe_main,
                 dwell_var > 0 ? (float)(1.0 / dwell_var) : 1.0f, lm_tx, lm_vx, grp_t, grp_v, rel_t, rel_v};
    if (talk) fprintf(stderr, "data ready in %.1fs (%zu + %zu + %zu rows); %d trainings (%d runs) on %d jobs...\n",
                      oc->data_seconds, tr.n, va.n, te.n, n_jobs, a.runs, a.jobs);
    double t_train = now_seconds();
    int done_jobs = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(a.jobs)
    for (int j = 0; j < n_jobs; j++) {
        run_job(&sh, &jobs[j]);
#pragma omp critical
        {
            done_jobs++;
            if (live) {
                fprintf(stderr, "\r%d/%d trainings done (last: %s, run %d), %.0fs   ", done_jobs, n_jobs,
                        job_name(&jobs[j]), jobs[j].run, now_seconds() - t_train);
                fflush(stderr);
            }
        }
    }
    if (live) fprintf(stderr, "\r%79s\r", "");
    oc->train_seconds = now_seconds() - t_train;
    for (int j = 0; j < n_jobs; j++) {
        if (jobs[j].failed) {
            err = jobs[j].error;
            mtr_fail_prefix(&err, "%s (run %d)", job_name(&jobs[j]), jobs[j].run);
            goto fail;
        }
        run_models *m = &rms[jobs[j].run];
        if (jobs[j].kind == JOB_LAMBDAMART) m->lm = &jobs[j];
        if (jobs[j].kind == JOB_MMOE) m->mmoe = &jobs[j];
        if (jobs[j].kind == JOB_BPR) m->bpr = &jobs[j];
        if (jobs[j].kind == JOB_OBJECTIVE) m->obj[jobs[j].task] = &jobs[j];
    }
    for (int r = 1; r < a.runs; r++) rms[r].lm = rms[0].lm;

    /* ---- per run: fusion parameters on the validation requests, then every ranking of the test requests */
    int n_strat = 0;
    for (int s = 0; s < N_STRATEGIES; s++) n_strat += has[s];
    oc->n_results = 2 * n_strat + 2;
    for (int r = 0; r < a.runs; r++) {
        if (talk) fprintf(stderr, "run %d: fusion search (%s, %d points, %s@10 logged), then %zu test requests...\n", r,
                          a.search, a.budget, a.target, te.n_req);
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!has[s] || (s != S_PER_OBJECTIVE && s != S_MMOE)) continue;
            const float *cols[N_OBJ];
            size_t strides[N_OBJ];
            for (int o = 0; o < N_OBJ; o++) {
                cols[o] = s == S_MMOE ? rms[r].mmoe->valid_scores + o : rms[r].obj[o]->valid_scores;
                strides[o] = s == S_MMOE ? N_OBJ : 1;
            }
            free(Xv);
            if (!(Xv = valid_matrix(&va, cols, strides))) {
                snprintf(err.message, sizeof err.message, "out of memory");
                goto fail;
            }
            if (fit_fusion(&a, &oc->rg, target, &va, Xv, a.seed + (uint64_t)r, &oc->fit[r * N_STRATEGIES + s], &err) != 0)
                goto fail;
        }
        int k = 0;
        for (int s = 0; s < N_STRATEGIES; s++) {
            if (!has[s]) continue;
            for (int with_rules = 0; with_rules < 2; with_rules++) {
                strategy_result *res = &oc->res[r * oc->n_results + k++];
                snprintf(res->name, sizeof res->name, "%s%s", STRATEGY_NAMES[s], with_rules ? "+rules" : "");
                if (test_strategy(&a, ds[2], &te, &st, &rms[r], s, &oc->rg, &oc->fit[r * N_STRATEGIES + s],
                                  with_rules ? rules_text : NULL, res, &err) != 0) {
                    mtr_fail_prefix(&err, "testing %s (run %d)", res->name, r);
                    goto fail;
                }
            }
        }
    }
    {   /* references, the same for every run: the logging policy's order and the GMV oracle */
        float *sc = malloc((te.n + 1) * sizeof *sc);
        if (!sc) {
            snprintf(err.message, sizeof err.message, "out of memory");
            goto fail;
        }
        for (int k = 0; k < 2; k++) {
            strategy_result *res = &oc->res[2 * n_strat + k];
            snprintf(res->name, sizeof res->name, "%s", k ? "oracle-gmv" : "logged");
            res->strategy = -1;
            for (size_t q = 0; q < te.n_req; q++)
                for (size_t i = te.start[q]; i < te.start[q + 1]; i++)
                    sc[i] = k ? te.truth[i * MTR_SESSIONS_TRUTH + MTR_SESSIONS_UTILITY_GMV] : -(float)(i - te.start[q]);
            if (test_scored(&a, &te, NULL, NULL, sc, NULL, res, &err) != 0) {
                free(sc);
                goto fail;
            }
            for (int r = 1; r < a.runs; r++) oc->res[r * oc->n_results + 2 * n_strat + k] = *res;
        }
        free(sc);
    }
    /* ---- what each rule costs, on run 0's MMoE (else per-objective) */
    oc->ablation_strategy = has[S_MMOE] ? S_MMOE : has[S_PER_OBJECTIVE] ? S_PER_OBJECTIVE : -1;
    if (oc->ablation_strategy >= 0 && oc->n_rules > 0) {
        int s = oc->ablation_strategy;
        for (int i = 0; i < n_strat * 2; i++)
            if (oc->res[i].strategy == s) {
                oc->ablation[oc->n_ablation] = oc->res[i];
                snprintf(oc->ablation[oc->n_ablation++].name, sizeof oc->ablation[0].name, "%s",
                         oc->res[i].rules ? "all rules" : "no rules");
            }
        for (int only = 0; only < 2; only++)
            for (int k = 0; k < oc->n_rules; k++) {
                strategy_result *res = &oc->ablation[oc->n_ablation++];
                rules_subset(oc, only ? -1 : k, only ? k : -1, subset, (size_t)(MTR_MAX_RULES + 1) * 160);
                char kind[32];
                snprintf(kind, sizeof kind, "%.20s", oc->rule_desc[k] + 5); /* after "rule " */
                kind[strcspn(kind, " ")] = '\0';
                snprintf(res->name, sizeof res->name, "%s %.16s (%d)", only ? "only" : "without", kind, k);
                if (test_strategy(&a, ds[2], &te, &st, &rms[0], s, &oc->rg, &oc->fit[s], subset, res, &err) != 0) {
                    mtr_fail_prefix(&err, "rule ablation");
                    goto fail;
                }
            }
    }
    aggregate(oc);
    if (rms[0].mmoe) {
        oc->mmoe_flops = mtr_model_flops_per_sample(rms[0].mmoe->model);
        snprintf(oc->mmoe_path, sizeof oc->mmoe_path, "%s/multiobjective-mmoe.mtrm", a.cache);
        if (mtr_model_save(rms[0].mmoe->model, oc->mmoe_path, &err) != 0) goto fail;
    }
    oc->wall = now_seconds() - t0;

    /* ---- output */
    if (strcmp(a.report, "none") != 0) {
        char cmd[4096];
        command_line(argc, argv, cmd, sizeof cmd);
        if (make_dirs(a.report, &err) != 0 || write_csv(&a, oc, &err) != 0 || write_plots(&a, oc, &err) != 0 ||
            write_readme(&a, oc, cmd, &err) != 0)
            goto fail;
    }
    if (a.json) {
        json_t *doc = json_doc(&a, oc);
        report_json_print(doc);
        json_decref(doc);
    } else {
        printf("Multi-objective ranking on simulated sessions: %zu train, %zu validation, %zu test requests of %d; "
               "test metrics from the truth, mean over %d run%s\n\n",
               tr.n_req, va.n_req, te.n_req, a.list_length, a.runs, a.runs == 1 ? "" : "s");
        print_table(stdout, oc, oc->mean, oc->sd, oc->n_results, 0);
        if (oc->n_ablation > 0) {
            printf("\nrule ablation (%s, run 0):\n", STRATEGY_NAMES[oc->ablation_strategy]);
            print_table(stdout, oc, oc->ablation, NULL, oc->n_ablation, 0);
        }
        printf("\nwall time %.1fs (data %.1fs, training %.1fs), %d jobs", oc->wall, oc->data_seconds,
               oc->train_seconds, a.jobs);
        if (strcmp(a.report, "none") != 0) printf("; report in %s/README.md", a.report);
        printf("\n");
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank experiment multiobjective: %s\n", err.message);
done:
    for (int j = 0; j < n_jobs; j++) {
        mtr_model_free(jobs[j].model);
        mtr_lambdamart_free(jobs[j].lm);
        free(jobs[j].valid_scores);
    }
    free(jobs);
    free(rms);
    free(rules_text);
    free(subset);
    free(Xv);
    free(lm_tx);
    free(lm_vx);
    free(rel_t);
    free(rel_v);
    free(grp_t);
    free(grp_v);
    id_stats_free(&st);
    for (int k = 0; k < 3; k++) mtr_dataset_free(ds[k]);
    mtr_schema_free(schema);
    mtr_spec_free(spec);
    stream_free(&tr);
    stream_free(&va);
    stream_free(&te);
    free(oc->fit);
    free(oc->res);
    free(oc);
    return rc;
}

/* bench_rank.c - the ranking stage's cost per request on one core: score fusion of 1000 candidates with
 * the formula, then fusion plus every rule kind (diversity on category and on brand, promote, new
 * items, low-quality drop, exposure cap). A benchmark, not a test: before timing it checks that the
 * column-wise evaluator equals the one-at-a-time reference bit for bit and that the fast pow is within
 * 1 ulp of libm's powf. Reports the median and the 90th/99th percentiles over many requests, cycling
 * through a few pre-generated candidate lists (the model has just written them, so they are in cache).
 *
 * bench_mmoe.c owns main(); it calls bench_rank(argc, argv) with the arguments after "rank":
 *   bench_mtrank rank [--candidates N] [--requests N] [--json] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"
#include "rank/fusion.h"
#include "util/parse_number.h"
#include "util/rng.h"
#include "util/clock.h"

int bench_rank(int argc, char **argv);

#define BENCH_LISTS 8 /* distinct requests cycled through */

static const char *const rank_vars[] = {"ctr", "cvr", "cart", "fav", "stay", "price",
                                        "rule_weight", "promo", "age", "low_quality"};
#define RANK_NVARS 10
static const char *const rank_keys[] = {"category", "brand", "shop"};
static const mtr_fusion_param rank_params[] = {{"alpha", 0.5}, {"beta", 10.0}, {"p", 0.3},
                                               {"a", 0.2},     {"b", 0.1},     {"c", 0.1}};
static const char rank_formula[] = "ctr * (alpha + cvr) * (beta + price) ^ p * stay ^ a * cart ^ b * fav ^ c"
                                   " * rule_weight";
static const char rank_rules[] = "rule promote multiply=1.2\n"
                                 "rule new below=14 multiply=1.1\n"
                                 "rule low_quality drop\n"
                                 "rule exposure_cap max=3 window=100 shown=20\n"
                                 "rule diversity key=category max=2 top=20\n"
                                 "rule diversity key=brand max=1 top=20\n";

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of sorted v[0..n) */
static double quantile(const double *v, int n, double q) { return v[(int)(q * (n - 1) + 0.5)]; }

static void make_list(mtr_rng *rng, size_t n, float *x, uint32_t *keys, uint64_t *ids) {
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * RANK_NVARS;
        r[0] = (float)(0.002 + 0.1 * mtr_rng_uniform(rng));     /* ctr */
        r[1] = (float)(0.001 + 0.05 * mtr_rng_uniform(rng));    /* cvr */
        r[2] = (float)(0.001 + 0.02 * mtr_rng_uniform(rng));    /* cart */
        r[3] = (float)(0.001 + 0.02 * mtr_rng_uniform(rng));    /* fav */
        r[4] = (float)(1.0 + 60.0 * mtr_rng_uniform(rng));      /* stay, seconds */
        r[5] = (float)exp(3.0 + 1.5 * mtr_rng_normal(rng));     /* price */
        r[6] = 1.0f;                                            /* rule_weight */
        r[7] = mtr_rng_uniform(rng) < 0.1 ? 1.0f : 0.0f;        /* promo */
        r[8] = (float)mtr_rng_below(rng, 365);                  /* age, days */
        r[9] = mtr_rng_uniform(rng) < 0.05 ? 1.0f : 0.0f;       /* low_quality */
        keys[i * 3] = (uint32_t)mtr_rng_below(rng, 40);
        keys[i * 3 + 1] = (uint32_t)mtr_rng_below(rng, 400);
        keys[i * 3 + 2] = (uint32_t)mtr_rng_below(rng, 200);
        ids[i] = mtr_rng_below(rng, 20000);
    }
}

/* The fast paths against their references; 0 when they agree. */
static int check_kernels(const mtr_fusion *f, const float *x, size_t n, float *out) {
    mtr_error err = {{0}};
    if (mtr_fusion_eval(f, x, n, RANK_NVARS, out, &err) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        float ref = mtr_fusion_eval_one(f, x + i * RANK_NVARS);
        if (memcmp(&ref, &out[i], sizeof ref) != 0 && !(isnan(ref) && isnan(out[i]))) {
            fprintf(stderr, "bench_rank: candidate %zu: column-wise %.9g, reference %.9g\n", i, out[i], ref);
            return -1;
        }
    }
    mtr_rng rng;
    mtr_rng_seed(&rng, 17);
    for (int t = 0; t < 100000; t++) {
        float a = (float)exp(mtr_rng_uniform(&rng) * 60.0 - 30.0), b = (float)(mtr_rng_uniform(&rng) * 6.0 - 3.0);
        float fast = fz_powf(a, b), ref = powf(a, b);
        int32_t ia, ib;
        memcpy(&ia, &fast, 4);
        memcpy(&ib, &ref, 4);
        if (abs(ia - ib) > 1) {
            fprintf(stderr, "bench_rank: pow(%g, %g): fast %.9g, libm %.9g\n", a, b, fast, ref);
            return -1;
        }
    }
    return 0;
}

int bench_rank(int argc, char **argv) {
    long n_arg = 1000, requests_arg = 5000;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        if (strcmp(argv[i], "--candidates") == 0 && i + 1 < argc)
            bad = mtr_parse_long(argv[i + 1], strlen(argv[i + 1]), 1, 1L << 24, &n_arg) != 0, i++;
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
            bad = mtr_parse_long(argv[i + 1], strlen(argv[i + 1]), 10, 10000000, &requests_arg) != 0, i++;
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "rank") != 0) bad = 1;
        if (bad) {
            fprintf(stderr, "usage: bench_mtrank rank [--candidates 1..2^24 (1000)] [--requests 10..10^7 (5000)] "
                            "[--json]\n");
            return 2;
        }
    }
    size_t n = (size_t)n_arg;
    int requests = (int)requests_arg;
    mtr_error err = {{0}};
    mtr_rank_fields fields = {rank_vars, RANK_NVARS, rank_keys, 3};
    mtr_fusion *f = mtr_fusion_compile(rank_formula, rank_vars, RANK_NVARS, rank_params, 6, &err);
    mtr_rules *rules = f ? mtr_rules_parse(rank_rules, "bench", &fields, &err) : NULL;
    mtr_rank_context *ctx = rules ? mtr_rank_context_create(f, rules, n, NULL, &err) : NULL;
    if (!ctx) {
        fprintf(stderr, "bench_rank: %s\n", err.message);
        mtr_rules_free(rules);
        mtr_fusion_free(f);
        return 1;
    }
    float *x = malloc(BENCH_LISTS * n * RANK_NVARS * sizeof *x), *out = malloc(n * sizeof *out);
    uint32_t *keys = malloc(BENCH_LISTS * n * 3 * sizeof *keys);
    uint64_t *ids = malloc(BENCH_LISTS * n * sizeof *ids);
    double *t_fusion = malloc((size_t)requests * sizeof *t_fusion), *t_all = malloc((size_t)requests * sizeof *t_all);
    mtr_rng rng;
    mtr_rng_seed(&rng, 1);
    for (int k = 0; k < BENCH_LISTS; k++)
        make_list(&rng, n, x + k * n * RANK_NVARS, keys + k * n * 3, ids + k * n);
    int rc = 0;
    if (check_kernels(f, x, n, out) != 0) {
        fprintf(stderr, "bench_rank: the fast evaluator disagrees with the reference; not timing\n");
        rc = 1;
        goto done;
    }
    mtr_rank_list lists[BENCH_LISTS];
    for (int k = 0; k < BENCH_LISTS; k++) {
        mtr_rank_list l = {.n = n, .x = x + k * n * RANK_NVARS, .stride = RANK_NVARS, .keys = keys + k * n * 3,
                           .key_stride = 3, .item_ids = ids + k * n};
        lists[k] = l;
    }
    mtr_rank_result res;
    size_t ranked = 0, moved = 0;
    for (int warm = 0; warm < 200; warm++) mtr_rank(ctx, &lists[warm % BENCH_LISTS], &res, &err);
    for (int q = 0; q < requests; q++) {
        const mtr_rank_list *l = &lists[q % BENCH_LISTS];
        double t0 = mtr_seconds_now();
        mtr_fusion_eval(f, l->x, n, RANK_NVARS, out, &err);
        double t1 = mtr_seconds_now();
        if (mtr_rank(ctx, l, &res, &err) != 0) {
            fprintf(stderr, "bench_rank: %s\n", err.message);
            rc = 1;
            goto done;
        }
        double t2 = mtr_seconds_now();
        t_fusion[q] = (t1 - t0) * 1e6;
        t_all[q] = (t2 - t1) * 1e6;
        ranked += res.n_ranked;
        for (size_t c = 0; c < n; c++) moved += res.rule[c] >= 0;
    }
    qsort(t_fusion, (size_t)requests, sizeof *t_fusion, cmp_dbl);
    qsort(t_all, (size_t)requests, sizeof *t_all, cmp_dbl);
    double fm = quantile(t_fusion, requests, 0.5), am = quantile(t_all, requests, 0.5);
    if (json) {
        printf("{\"candidates\": %zu, \"requests\": %d, \"rules\": %d,\n", n, requests, mtr_rules_count(rules));
        printf(" \"fusion_us\": {\"median\": %.2f, \"p90\": %.2f, \"p99\": %.2f},\n", fm,
               quantile(t_fusion, requests, 0.9), quantile(t_fusion, requests, 0.99));
        printf(" \"fusion_rules_us\": {\"median\": %.2f, \"p90\": %.2f, \"p99\": %.2f},\n", am,
               quantile(t_all, requests, 0.9), quantile(t_all, requests, 0.99));
        printf(" \"mean_ranked\": %.1f, \"mean_acted_on\": %.1f}\n", (double)ranked / requests,
               (double)moved / requests);
    } else {
        printf("ranking stage, %zu candidates per request, %d requests, 1 thread\n", n, requests);
        printf("formula: %s  (%d instructions, %d registers)\n", rank_formula, f->n_insns, f->n_regs);
        char buf[128];
        for (int i = 0; i < mtr_rules_count(rules); i++)
            printf("  %s\n", mtr_rules_describe(rules, i, buf, sizeof buf));
        printf("%-20s %10s %10s %10s %14s\n", "stage", "median us", "p90 us", "p99 us", "ns/candidate");
        printf("%-20s %10.2f %10.2f %10.2f %14.1f\n", "fusion", fm, quantile(t_fusion, requests, 0.9),
               quantile(t_fusion, requests, 0.99), fm * 1e3 / (double)n);
        printf("%-20s %10.2f %10.2f %10.2f %14.1f\n", "fusion + all rules", am, quantile(t_all, requests, 0.9),
               quantile(t_all, requests, 0.99), am * 1e3 / (double)n);
        printf("per request: %.1f candidates ranked (rest dropped), %.1f acted on by a rule; target < 100 us: %s\n",
               (double)ranked / requests, (double)moved / requests, am < 100.0 ? "met" : "MISSED");
    }
done:
    free(x);
    free(out);
    free(keys);
    free(ids);
    free(t_fusion);
    free(t_all);
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
    mtr_fusion_free(f);
    return rc;
}

/* test_gen_ccp.c - the Ali-CCP-shaped impression simulator (src/gen/ccp.c) and `mtrank gen ccp`:
 * refusal of bad settings; determinism by seed (same bytes) and by row (a run is a prefix of a longer
 * one); gzip output equal to the CSV whatever the thread count; calibrated CTR and CVR among clicks;
 * label consistency (purchase = click AND cf_purchase); the counterfactual rate against the mean pCVR;
 * the overlap setting against the click/conversion logit correlation; sample selection bias; field ids,
 * bag sizes and exposure skew; the CSV text (probabilities read back exactly) and the spec (parsed and
 * fitted by the data layer); and the command end to end. Worlds are small so the file runs in well
 * under two seconds. */
#define _DEFAULT_SOURCE
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli_run.h"
#include "gen/ccp.h"
#include "mtrank.h"
#include "test.h"

/* A small world: the model is the same at any size, only the tables are shorter. */
static mtr_ccp_config small_config(uint64_t seed, uint64_t rows) {
    mtr_ccp_config c;
    mtr_ccp_config_default(&c);
    c.seed = seed;
    c.rows = rows;
    c.n_users = 4000;
    c.n_items = 10000;
    c.n_categories = 60;
    c.n_brands = 1000;
    c.n_shops = 2000;
    c.calibration_rows = 20000;
    return c;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    if (len) *len = (size_t)n;
    fclose(f);
    return buf;
}

/* The whole decompressed content of a gzip file (all members). */
static char *gunzip(const char *path, size_t *len) {
    gzFile g = gzopen(path, "rb");
    if (!g) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
        int got = gzread(g, buf + n, (unsigned)(cap - n));
        if (got <= 0) break;
        n += (size_t)got;
    }
    gzclose(g);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---------------------------------------------------------------- settings */

TEST(ccp_defaults_are_the_documented_ones) {
    mtr_ccp_config c;
    mtr_ccp_config_default(&c);
    CHECK(c.rows == 2000000 && c.seed == 1 && c.stream == 0);
    CHECK(c.ctr == 0.04 && c.cvr == 0.01 && c.overlap == 0.5);
    CHECK_EQ_INT(c.n_users, 200000);
    CHECK_EQ_INT(c.n_items, 500000);
    CHECK_EQ_INT(c.dim, 8);
    CHECK_EQ_INT(c.n_categories, 300);
    CHECK_EQ_INT(c.n_brands, 20000);
    CHECK_EQ_INT(c.n_shops, 50000);
    CHECK(c.item_zipf == 0.8 && c.exposure_strength == 1.0);
    CHECK_EQ_INT(c.candidates, 8);
    CHECK(c.click_affinity == 1.0 && c.conv_affinity == 1.0);
    CHECK(c.position_weight == 0.3 && c.price_weight == 0.5);
    CHECK_EQ_INT(c.calibration_rows, 400000);
    CHECK_EQ_INT(c.threads, 1);
    CHECK(mtr_ccp_config_check(&c) == NULL);
}

static int count_rows(const mtr_ccp_row *row, void *user) {
    (void)row;
    ++*(long *)user;
    return 0;
}

TEST(ccp_bad_settings_are_refused_with_clear_errors) {
    struct {
        const char *what; /* the setting, for the failure message */
        double value;     /* its bad value */
        const char *want; /* in the error */
    } bad[] = {
        {"ctr", 0.0, "ctr (the target mean click probability) must be in (0, 1)"},
        {"ctr", 1.0, "ctr (the target mean click probability) must be in (0, 1)"},
        {"ctr", -0.1, "must be in (0, 1)"},
        {"ctr", NAN, "must be in (0, 1)"},
        {"cvr", 0.0, "cvr (the target mean conversion probability among clicks) must be in (0, 1)"},
        {"cvr", 1.5, "cvr"},
        {"overlap", -0.01, "overlap must be in [0, 1]"},
        {"overlap", 1.01, "overlap must be in [0, 1]"},
        {"overlap", NAN, "overlap must be in [0, 1]"},
        {"rows", 0, "rows must be >= 1"},
        {"users", 0, "users must be in 1..100000000"},
        {"dim", 0, "dim"},
        {"candidates", 257, "candidates must be in 1..256"},
        {"calibration", 999, "calibration rows must be in 1000..100000000"},
        {"threads", 17, "threads must be in 0..16"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        mtr_ccp_config c = small_config(1, 10);
        if (!strcmp(bad[k].what, "ctr")) c.ctr = bad[k].value;
        else if (!strcmp(bad[k].what, "cvr")) c.cvr = bad[k].value;
        else if (!strcmp(bad[k].what, "overlap")) c.overlap = bad[k].value;
        else if (!strcmp(bad[k].what, "rows")) c.rows = (uint64_t)bad[k].value;
        else if (!strcmp(bad[k].what, "users")) c.n_users = (int)bad[k].value;
        else if (!strcmp(bad[k].what, "dim")) c.dim = (int)bad[k].value;
        else if (!strcmp(bad[k].what, "candidates")) c.candidates = (int)bad[k].value;
        else if (!strcmp(bad[k].what, "calibration")) c.calibration_rows = (int)bad[k].value;
        else c.threads = (int)bad[k].value;
        CHECK_CONTAINS(mtr_ccp_config_check(&c), bad[k].want);
        mtr_error err = {{0}};
        long rows = 0;
        CHECK_EQ_INT(mtr_gen_ccp(&c, count_rows, &rows, NULL, &err), -1);
        CHECK_CONTAINS(err.message, "ccp simulator: ");
        CHECK_CONTAINS(err.message, bad[k].want);
        CHECK_EQ_INT(rows, 0);
        CHECK_EQ_INT(mtr_gen_ccp_write(&c, mtr_test_path("bad.csv"), NULL, NULL, &err), -1);
        CHECK_CONTAINS(err.message, bad[k].want);
    }
    /* both sides of the boundaries that matter */
    mtr_ccp_config c = small_config(1, 1);
    c.overlap = 0.0;
    CHECK(mtr_ccp_config_check(&c) == NULL);
    c.overlap = 1.0;
    CHECK(mtr_ccp_config_check(&c) == NULL);
    c.ctr = 1e-6;
    c.cvr = 0.999;
    CHECK(mtr_ccp_config_check(&c) == NULL);
}

/* ---------------------------------------------------------------- determinism */

TEST(ccp_same_seed_gives_the_same_bytes_and_another_seed_other_bytes) {
    mtr_error err;
    const char *paths[4] = {mtr_test_path("det_a.csv"), mtr_test_path("det_b.csv"), mtr_test_path("det_c.csv"),
                            mtr_test_path("det_d.csv")};
    mtr_ccp_config c = small_config(11, 3000);
    CHECK_MSG(mtr_gen_ccp_write(&c, paths[0], NULL, NULL, &err) == 0, "%s", err.message);
    CHECK_MSG(mtr_gen_ccp_write(&c, paths[1], NULL, NULL, &err) == 0, "%s", err.message);
    c.seed = 12;
    CHECK_MSG(mtr_gen_ccp_write(&c, paths[2], NULL, NULL, &err) == 0, "%s", err.message);
    c.seed = 11;
    c.stream = 1;
    CHECK_MSG(mtr_gen_ccp_write(&c, paths[3], NULL, NULL, &err) == 0, "%s", err.message);
    size_t n[4];
    char *t[4];
    for (int i = 0; i < 4; i++) t[i] = slurp(paths[i], &n[i]);
    CHECK(t[0] && t[1] && t[2] && t[3]);
    if (t[0] && t[1] && t[2] && t[3]) {
        CHECK(n[0] == n[1] && memcmp(t[0], t[1], n[0]) == 0);
        CHECK(n[0] != n[2] || memcmp(t[0], t[2], n[0]) != 0);
        CHECK(n[0] != n[3] || memcmp(t[0], t[3], n[0]) != 0);
        /* only the rows change with the stream: the header is the same */
        size_t header = strlen(mtr_ccp_csv_header) + 1;
        CHECK(memcmp(t[0], t[3], header) == 0);
    }
    for (int i = 0; i < 4; i++) free(t[i]);
}

typedef struct row_log {
    mtr_ccp_row *rows; /* (cap) */
    size_t n, cap;
} row_log;

static int log_row(const mtr_ccp_row *row, void *user) {
    row_log *l = user;
    if (l->n < l->cap) l->rows[l->n] = *row;
    l->n++;
    return 0;
}

static int same_row(const mtr_ccp_row *a, const mtr_ccp_row *b) {
    return a->index == b->index && memcmp(a->id_start, b->id_start, sizeof a->id_start) == 0 &&
           memcmp(a->ids, b->ids, a->id_start[MTR_CCP_FIELDS] * sizeof(uint32_t)) == 0 &&
           memcmp(a->labels, b->labels, sizeof a->labels) == 0 && memcmp(a->aux, b->aux, sizeof a->aux) == 0 &&
           a->click_logit == b->click_logit && a->conv_logit == b->conv_logit;
}

TEST(ccp_a_run_is_the_prefix_of_a_longer_run) {
    /* neither length a multiple of the 64-row block the generator works in */
    mtr_ccp_config c = small_config(5, 1001);
    row_log a = {calloc(1001, sizeof(mtr_ccp_row)), 0, 1001}, b = {calloc(2999, sizeof(mtr_ccp_row)), 0, 2999};
    mtr_error err;
    CHECK(mtr_gen_ccp(&c, log_row, &a, NULL, &err) == 0);
    c.rows = 2999;
    CHECK(mtr_gen_ccp(&c, log_row, &b, NULL, &err) == 0);
    CHECK_EQ_INT(a.n, 1001);
    CHECK_EQ_INT(b.n, 2999);
    int same = 1;
    for (size_t i = 0; i < 1001 && a.n == 1001 && b.n == 2999; i++) same &= same_row(&a.rows[i], &b.rows[i]);
    CHECK_MSG(same, "the first 1001 rows of a 2999-row run differ from the 1001-row run");
    CHECK_EQ_INT(b.rows[2998].index, 2998);
    free(a.rows);
    free(b.rows);
}

TEST(ccp_gzip_output_is_the_csv_whatever_the_thread_count) {
    /* about 2.4 MB of CSV: two gzip members of up to 2 MiB of CSV each */
    mtr_ccp_config c = small_config(3, 24000);
    const char *plain = mtr_test_path("gz.csv"), *gz0 = mtr_test_path("gz0.csv.gz");
    const char *gz3 = mtr_test_path("gz3.csv.gz");
    mtr_error err;
    c.threads = 0;
    CHECK_MSG(mtr_gen_ccp_write(&c, plain, NULL, NULL, &err) == 0, "%s", err.message);
    CHECK_MSG(mtr_gen_ccp_write(&c, gz0, NULL, NULL, &err) == 0, "%s", err.message);
    c.threads = 3;
    CHECK_MSG(mtr_gen_ccp_write(&c, gz3, NULL, NULL, &err) == 0, "%s", err.message);
    size_t np = 0, n0 = 0, n3 = 0, nu = 0;
    char *p = slurp(plain, &np), *z0 = slurp(gz0, &n0), *z3 = slurp(gz3, &n3), *u = gunzip(gz3, &nu);
    CHECK(p && z0 && z3 && u);
    if (p && z0 && z3 && u) {
        CHECK_MSG(np > 2u << 20, "only %zu bytes of CSV: the test needs several gzip members", np);
        CHECK(n0 == n3 && memcmp(z0, z3, n0) == 0);
        CHECK(nu == np && memcmp(u, p, np) == 0);
        CHECK((unsigned char)z0[0] == 0x1f && (unsigned char)z0[1] == 0x8b);
        CHECK(n0 < np / 2);
    }
    free(p);
    free(z0);
    free(z3);
    free(u);
}

/* ---------------------------------------------------------------- the world's statistics */

typedef struct stats {
    double n, clicks, purchases, cf, sum_pctr, sum_pcvr, sum_pcvr_clicked, var_cf; /* var_cf: sum p(1-p) */
    double sx, sy, sxx, syy, sxy;             /* click and conversion logits */
    int bad_label;                            /* a row broke purchase = click AND cf_purchase */
    int bad_prob;                             /* a probability outside (0, 1) or not sigmoid(logit) */
} stats;

static int add_stats(const mtr_ccp_row *r, void *user) {
    stats *s = user;
    float click = r->labels[0], purchase = r->labels[1], cf = r->aux[2], pctr = r->aux[0], pcvr = r->aux[1];
    s->n++;
    s->clicks += click;
    s->purchases += purchase;
    s->cf += cf;
    s->sum_pctr += pctr;
    s->sum_pcvr += pcvr;
    s->var_cf += (double)pcvr * (1.0 - pcvr);
    if (click == 1.0f) s->sum_pcvr_clicked += pcvr;
    int binary = (click == 0.0f || click == 1.0f) && (cf == 0.0f || cf == 1.0f);
    if (!binary || purchase != (click == 1.0f && cf == 1.0f)) s->bad_label++;
    if (!(pctr > 0.0f && pctr < 1.0f && pcvr > 0.0f && pcvr < 1.0f) ||
        pctr != (float)(1.0 / (1.0 + exp(-r->click_logit))) || pcvr != (float)(1.0 / (1.0 + exp(-r->conv_logit))))
        s->bad_prob++;
    double x = r->click_logit, y = r->conv_logit;
    s->sx += x;
    s->sy += y;
    s->sxx += x * x;
    s->syy += y * y;
    s->sxy += x * y;
    return 0;
}

static double stats_correlation(const stats *s) {
    double n = s->n, cxy = s->sxy - s->sx * s->sy / n;
    double cxx = s->sxx - s->sx * s->sx / n, cyy = s->syy - s->sy * s->sy / n;
    return cxy / sqrt(cxx * cyy);
}

TEST(ccp_rates_are_calibrated_and_labels_consistent) {
    mtr_ccp_config c = small_config(1, 200000);
    c.calibration_rows = 100000;
    stats s = {0};
    mtr_ccp_summary sum;
    mtr_error err;
    CHECK_MSG(mtr_gen_ccp(&c, add_stats, &s, &sum, &err) == 0, "%s", err.message);
    CHECK_EQ_INT(s.n, 200000);
    double ctr = s.clicks / s.n, cvr = s.purchases / s.clicks;
    CHECK_NEAR(ctr, 0.04, 0.004);
    CHECK_NEAR(cvr, 0.01, 0.003);
    /* the calibration targets are expectations: the means of the true probabilities are much closer */
    CHECK_NEAR(s.sum_pctr / s.n, 0.04, 0.001);
    CHECK_NEAR(s.sum_pcvr_clicked / s.clicks, 0.01, 0.0006);
    /* purchase implies click, purchase = click AND cf_purchase, probabilities are sigmoid(logit) */
    CHECK_EQ_INT(s.bad_label, 0);
    CHECK_EQ_INT(s.bad_prob, 0);
    CHECK(s.purchases > 0 && s.purchases < s.clicks && s.purchases < s.cf);
    /* the summary is what the rows say */
    CHECK_EQ_INT(sum.rows, 200000);
    CHECK_EQ_INT(sum.clicks, (long long)s.clicks);
    CHECK_EQ_INT(sum.purchases, (long long)s.purchases);
    CHECK_EQ_INT(sum.cf_purchases, (long long)s.cf);
    CHECK_NEAR(sum.ctr, ctr, 1e-15);
    CHECK_NEAR(sum.cvr, cvr, 1e-15);
    CHECK_NEAR(sum.ctcvr, s.purchases / s.n, 1e-15);
    CHECK_NEAR(sum.mean_pcvr_clicked, s.sum_pcvr_clicked / s.clicks, 1e-12);
    CHECK_NEAR(sum.logit_correlation, stats_correlation(&s), 1e-9);
    CHECK(sum.click_intercept < -2.0 && sum.conv_intercept < sum.click_intercept);
    /* the counterfactual purchases are Bernoulli(true_pcvr) over ALL impressions: within 4 standard errors */
    CHECK_NEAR(s.cf, s.sum_pcvr, 4.0 * sqrt(s.var_cf));
    CHECK_NEAR(sum.cf_rate, sum.mean_pcvr, 4.0 * sqrt(s.var_cf) / s.n);
}

TEST(ccp_overlap_raises_the_click_conversion_correlation_and_selection_bias) {
    double corr[3], bias[3], overlap[3] = {0.0, 0.5, 1.0};
    for (int k = 0; k < 3; k++) {
        mtr_ccp_config c = small_config(2, 50000);
        c.overlap = overlap[k];
        mtr_ccp_summary s;
        mtr_error err;
        CHECK_MSG(mtr_gen_ccp(&c, NULL, NULL, &s, &err) == 0, "%s", err.message);
        corr[k] = s.logit_correlation;
        bias[k] = s.mean_pcvr_clicked / s.mean_pcvr; /* clicked impressions against all of them */
    }
    CHECK_MSG(corr[0] < corr[1] && corr[1] < corr[2], "correlations %g %g %g", corr[0], corr[1], corr[2]);
    CHECK_MSG(fabs(corr[0]) < 0.15, "overlap 0: correlation %g", corr[0]);
    CHECK_MSG(corr[2] > 0.8, "overlap 1: correlation %g", corr[2]);
    /* selection bias with the default overlap: the clicked rows convert far more than impressions do */
    CHECK_MSG(bias[1] > 1.5, "overlap 0.5: mean pCVR clicked / all = %g", bias[1]);
    CHECK_MSG(bias[2] > bias[1], "overlap 1: mean pCVR clicked / all = %g", bias[2]);
    CHECK_MSG(fabs(bias[0] - 1.0) < 0.15, "overlap 0: mean pCVR clicked / all = %g", bias[0]);
}

/* ---------------------------------------------------------------- rows */

typedef struct field_check {
    const mtr_ccp_config *cfg;
    uint32_t card[MTR_CCP_FIELDS];  /* cardinality of each field */
    long bag_sizes[2][MTR_CCP_MAX_BAG + 2]; /* counts of each size, the last slot for "too big" */
    int bad_ids, bad_shape, dup_in_bag;
    uint32_t *item_count;           /* (items) impressions per item */
    double pctr_pos0, n_pos0, pctr_far, n_far; /* mean pCTR at position 0 and at positions >= 20 */
} field_check;

static int check_fields(const mtr_ccp_row *r, void *user) {
    field_check *fc = user;
    if (r->id_start[0] != 0) fc->bad_shape++;
    for (int f = 0; f < MTR_CCP_FIELDS; f++) {
        uint32_t a = r->id_start[f], b = r->id_start[f + 1];
        if (b < a || b > MTR_CCP_MAX_IDS) {
            fc->bad_shape++;
            continue;
        }
        int bag = f == CCP_RECENT_CATEGORIES || f == CCP_RECENT_BRANDS;
        if (bag) fc->bag_sizes[f - CCP_RECENT_CATEGORIES][b - a > MTR_CCP_MAX_BAG ? MTR_CCP_MAX_BAG + 1 : b - a]++;
        else if (b - a != 1) fc->bad_shape++;
        for (uint32_t j = a; j < b; j++) {
            if (r->ids[j] >= fc->card[f]) fc->bad_ids++;
            for (uint32_t k = a; k < j; k++) fc->dup_in_bag += r->ids[k] == r->ids[j];
        }
    }
    fc->item_count[r->ids[r->id_start[CCP_ITEM_ID]]]++;
    uint32_t pos = r->ids[r->id_start[CCP_POSITION]];
    if (pos == 0) {
        fc->pctr_pos0 += r->aux[0];
        fc->n_pos0++;
    } else if (pos >= 20) {
        fc->pctr_far += r->aux[0];
        fc->n_far++;
    }
    return 0;
}

static int cmp_desc_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

TEST(ccp_fields_hold_valid_ids_and_bags_of_0_to_5) {
    mtr_ccp_config c = small_config(4, 60000);
    field_check fc = {.cfg = &c};
    const char *header_fields = strstr(mtr_ccp_csv_header, "cf_purchase,") + strlen("cf_purchase,");
    for (int f = 0; f < MTR_CCP_FIELDS; f++) {
        int max_ids = 0;
        const char *name = mtr_ccp_field(&c, f, &fc.card[f], &max_ids);
        CHECK(name != NULL && fc.card[f] >= 2);
        CHECK_EQ_INT(max_ids, f == CCP_RECENT_CATEGORIES || f == CCP_RECENT_BRANDS ? MTR_CCP_MAX_BAG : 1);
        /* the header lists the fields in row order */
        size_t len = strlen(name);
        CHECK(name && strncmp(header_fields, name, len) == 0);
        CHECK(header_fields[len] == (f + 1 < MTR_CCP_FIELDS ? ',' : '\0'));
        header_fields += len + 1;
    }
    CHECK(mtr_ccp_field(&c, MTR_CCP_FIELDS, NULL, NULL) == NULL && mtr_ccp_field(&c, -1, NULL, NULL) == NULL);
    CHECK_EQ_INT(fc.card[CCP_USER_ID], 4000);
    CHECK_EQ_INT(fc.card[CCP_ITEM_ID], 10000);
    CHECK_EQ_INT(fc.card[CCP_RECENT_BRANDS], 1000);
    fc.item_count = calloc((size_t)c.n_items, sizeof(uint32_t));
    mtr_error err;
    CHECK(mtr_gen_ccp(&c, check_fields, &fc, NULL, &err) == 0);
    CHECK_EQ_INT(fc.bad_ids, 0);
    CHECK_EQ_INT(fc.bad_shape, 0);
    CHECK_EQ_INT(fc.dup_in_bag, 0);
    for (int b = 0; b < 2; b++) {
        CHECK_EQ_INT(fc.bag_sizes[b][MTR_CCP_MAX_BAG + 1], 0); /* never more than 5 */
        CHECK(fc.bag_sizes[b][0] > 0);                        /* empty bags occur */
        CHECK(fc.bag_sizes[b][MTR_CCP_MAX_BAG] > 0);          /* and full ones */
        CHECK(fc.bag_sizes[b][2] > fc.bag_sizes[b][MTR_CCP_MAX_BAG]); /* Poisson(2) */
    }
    /* exposure is skewed: the 1% most shown items get far more than 1% of the impressions */
    qsort(fc.item_count, (size_t)c.n_items, sizeof(uint32_t), cmp_desc_u32);
    double top = 0.0;
    for (int i = 0; i < c.n_items / 100; i++) top += fc.item_count[i];
    CHECK_MSG(top / 60000.0 > 0.10, "top 1%% of items got %.3f of the impressions", top / 60000.0);
    /* position lowers the click probability */
    CHECK(fc.n_pos0 > 1000 && fc.n_far > 1000);
    CHECK_MSG(fc.pctr_pos0 / fc.n_pos0 > 1.5 * fc.pctr_far / fc.n_far, "mean pCTR at position 0: %g, at >= 20: %g",
              fc.pctr_pos0 / fc.n_pos0, fc.pctr_far / fc.n_far);
    free(fc.item_count);
}

TEST(ccp_exposure_favours_items_that_match_the_users_taste) {
    /* shown items have a higher click affinity than popularity alone would give, so less intercept is
     * needed for the same CTR */
    mtr_ccp_config c = small_config(6, 1);
    mtr_ccp_summary with, without;
    mtr_error err;
    CHECK(mtr_gen_ccp(&c, NULL, NULL, &with, &err) == 0);
    c.exposure_strength = 0.0;
    CHECK(mtr_gen_ccp(&c, NULL, NULL, &without, &err) == 0);
    CHECK_MSG(with.click_intercept < without.click_intercept - 0.3, "a0 %g with taste-driven exposure, %g without",
              with.click_intercept, without.click_intercept);
}

static int stop_at_4(const mtr_ccp_row *row, void *user) {
    (void)user;
    return row->index == 4;
}

TEST(ccp_the_row_callback_can_stop_generation) {
    mtr_ccp_config c = small_config(1, 100);
    mtr_error err = {{0}};
    CHECK_EQ_INT(mtr_gen_ccp(&c, stop_at_4, NULL, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "stopped by the row callback at row 4");
}

/* ---------------------------------------------------------------- text */

static void format_prob(float p, char *buf) {
    mtr_ccp_row r;
    memset(&r, 0, sizeof r);
    r.aux[0] = p;
    r.aux[1] = 0.5f;
    size_t n = mtr_ccp_format_row(&r, buf);
    buf[n] = '\0';
}

TEST(ccp_probabilities_read_back_exactly) {
    float probes[] = {0.04f, 0.5f,    0.1f,           0.999999940f, 1e-4f, 9.99999975e-5f, 1.00000005e-4f,
                      1e-7f, 3.3e-9f, 1.17549435e-38f, 1.4e-45f,    0.123456789f, 0.0f, 1.0f};
    char buf[MTR_CCP_LINE_MAX + 1];
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        format_prob(probes[k], buf);
        const char *p = buf + 4; /* after "0,0," */
        char *end;
        float back = strtof(p, &end);
        CHECK_MSG(back == probes[k] && *end == ',', "%.9g written as '%.20s' reads back as %.9g",
                  (double)probes[k], p, (double)back);
    }
    format_prob(0.04f, buf);
    CHECK(strncmp(buf, "0,0,0.0399999991,0.5,0,", 23) == 0);
    format_prob(1e-7f, buf);
    CHECK(strncmp(buf + 4, "1.00000001e-07,", 15) == 0);
    format_prob(1.00000005e-4f, buf); /* the smallest float >= 1e-4: fixed notation down to here */
    CHECK(strncmp(buf + 4, "0.000100000005,", 15) == 0);
    format_prob(1e-4f, buf); /* the float nearest 1e-4 is just below it */
    CHECK(strncmp(buf + 4, "9.99999975e-05,", 15) == 0);
    format_prob(1.4e-45f, buf); /* the smallest subnormal */
    CHECK(strncmp(buf + 4, "1.40129846e-45,", 15) == 0);
    format_prob(1.0f, buf);
    CHECK(strncmp(buf + 4, "1,", 2) == 0);
    format_prob(0.0f, buf);
    CHECK(strncmp(buf + 4, "0,", 2) == 0);
}

typedef struct text_check {
    char *expect; /* the CSV the callback rows format to */
    size_t len, cap;
    long empty_bags, joined_bags;
} text_check;

static int collect_text(const mtr_ccp_row *r, void *user) {
    text_check *t = user;
    if (t->cap - t->len < MTR_CCP_LINE_MAX) t->expect = realloc(t->expect, t->cap *= 2);
    t->len += mtr_ccp_format_row(r, t->expect + t->len);
    int n = (int)(r->id_start[CCP_RECENT_CATEGORIES + 1] - r->id_start[CCP_RECENT_CATEGORIES]);
    t->empty_bags += n == 0;
    t->joined_bags += n > 1;
    return 0;
}

TEST(ccp_csv_is_the_header_and_the_rows_of_the_callback) {
    mtr_ccp_config c = small_config(8, 2000);
    text_check t = {malloc(1 << 16), 0, 1 << 16, 0, 0};
    mtr_error err;
    CHECK(mtr_gen_ccp(&c, collect_text, &t, NULL, &err) == 0);
    const char *path = mtr_test_path("text.csv");
    CHECK_MSG(mtr_gen_ccp_write(&c, path, NULL, NULL, &err) == 0, "%s", err.message);
    size_t n;
    char *file = slurp(path, &n);
    size_t h = strlen(mtr_ccp_csv_header);
    CHECK(file && n == h + 1 + t.len);
    if (file && n == h + 1 + t.len) {
        const char *start = "click,purchase,true_pctr,true_pcvr,cf_purchase,user_id,";
        CHECK(strncmp(file, start, strlen(start)) == 0);
        CHECK(memcmp(file, mtr_ccp_csv_header, h) == 0 && file[h] == '\n');
        CHECK(memcmp(file + h + 1, t.expect, t.len) == 0);
        /* every line has 28 columns; bags are ';'-joined or empty */
        int lines = 0, bad = 0;
        for (char *line = file; *line; lines++) {
            char *nl = strchr(line, '\n');
            int commas = 0;
            for (char *q = line; q < nl; q++) commas += *q == ',';
            bad += commas != 27;
            line = nl + 1;
        }
        CHECK_EQ_INT(lines, 2001);
        CHECK_EQ_INT(bad, 0);
        CHECK(t.empty_bags > 0 && t.joined_bags > 0);
        CHECK(strstr(file, ",,") != NULL && strchr(file, ';') != NULL);
    }
    free(file);
    free(t.expect);
}

TEST(ccp_spec_describes_the_csv_and_the_data_layer_reads_it) {
    mtr_ccp_config c = small_config(9, 3000);
    mtr_error err;
    char *spec = mtr_ccp_spec_text(&c, &err);
    CHECK_MSG(spec != NULL, "%s", err.message);
    if (!spec) return;
    CHECK_CONTAINS(spec, "[input]\nheader = yes\ndelimiter = \",\"\n");
    CHECK_CONTAINS(spec, "\ntrue_pctr = aux");
    CHECK_CONTAINS(spec, "\ntrue_pcvr = aux\n");
    CHECK_CONTAINS(spec, "\ncf_purchase = aux\n");
    CHECK_CONTAINS(spec, "\nuser_id = categorical hash=8000 ");
    CHECK_CONTAINS(spec, "\nitem_id = categorical hash=20000 ");
    CHECK_CONTAINS(spec, "\nrecent_categories = categorical multi sep=\";\" pool=sum");
    CHECK_CONTAINS(spec, "\nrecent_brands = categorical multi sep=\";\" pool=sum");
    CHECK_CONTAINS(spec, "\nchannel = categorical\n");
    CHECK_CONTAINS(spec, "[task click]\ncolumn = click\ntype = binary\npositive = 1\nnegative = 0\n");
    CHECK_CONTAINS(spec, "[task purchase]\ncolumn = purchase\ntype = binary\npositive = 1\nnegative = 0\n");
    CHECK(strstr(spec, "[task click]") < strstr(spec, "[task purchase]")); /* click is task 0 */
    CHECK_EQ_INT(mtr_ccp_hash_buckets(500000), 1000000);
    /* the data layer parses it and fits it to the CSV the same configuration writes */
    const char *csv = mtr_test_path("fit.csv.gz"), *spec_path = mtr_test_path("fit.spec");
    CHECK_MSG(mtr_gen_ccp_write(&c, csv, spec_path, NULL, &err) == 0, "%s", err.message);
    size_t n;
    char *written = slurp(spec_path, &n);
    CHECK(written && strcmp(written, spec) == 0);
    free(written);
    mtr_spec *sp = mtr_spec_parse(spec, "<ccp spec>", &err);
    CHECK_MSG(sp != NULL, "%s", err.message);
    mtr_schema *schema = sp ? mtr_schema_fit(sp, csv, &err) : NULL;
    CHECK_MSG(!sp || schema != NULL, "%s", err.message);
    if (schema) {
        CHECK_EQ_INT(mtr_schema_task_count(schema), 2);
        CHECK(strcmp(mtr_schema_task_name(schema, 0), "click") == 0);
        CHECK(strcmp(mtr_schema_task_name(schema, 1), "purchase") == 0);
        CHECK_EQ_INT(mtr_schema_categorical_count(schema), MTR_CCP_FIELDS);
        CHECK_EQ_INT(mtr_schema_numeric_count(schema), 0);
        CHECK(strcmp(mtr_schema_categorical_name(schema, 0), "user_id") == 0);
        CHECK_EQ_INT(mtr_schema_vocab_size(schema, 0), 2 + 8000);
    }
    mtr_schema_free(schema);
    mtr_spec_free(sp);
    free(spec);
}

TEST(ccp_write_errors_name_the_file) {
    mtr_ccp_config c = small_config(1, 10);
    mtr_error err = {{0}};
    const char *path = mtr_test_path("no-such-dir/out.csv.gz");
    CHECK_EQ_INT(mtr_gen_ccp_write(&c, path, NULL, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "no-such-dir/out.csv.gz");
    CHECK_CONTAINS(err.message, "No such file or directory");
    /* a bad spec path fails after the data is written */
    err.message[0] = '\0';
    const char *ok = mtr_test_path("ok.csv"), *bad_spec = mtr_test_path("no-such-dir/x.spec");
    CHECK_EQ_INT(mtr_gen_ccp_write(&c, ok, bad_spec, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "no-such-dir/x.spec");
}

/* ---------------------------------------------------------------- the command */

TEST(ccp_cli_writes_data_spec_and_summary) {
    char out[4096], spec_default[4096];
    snprintf(out, sizeof out, "%s", mtr_test_path("cli.csv.gz"));
    snprintf(spec_default, sizeof spec_default, "%s", mtr_test_path("cli.spec"));
    cli_result r;
    CLI_RUN(&r, NULL, "gen", "ccp", "--rows", "3000", "--seed", "7", "--users", "4000", "--items", "10000",
            "--categories", "60", "--brands", "1000", "--shops", "2000", "--calibration-rows", "20000",
            "--threads", "2", "--out", out);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "wrote 3000 rows to ");
    CHECK_CONTAINS(r.out, "\nCTR 0.0");
    CHECK_CONTAINS(r.out, "\nCVR among clicks ");
    CHECK_CONTAINS(r.out, "\nCTCVR ");
    CHECK_CONTAINS(r.out, "click/conversion logit Pearson correlation 0.");
    CHECK_CONTAINS(r.out, "cli.spec"); /* the default spec name: FILE without .csv.gz, plus .spec */
    cli_result_free(&r);
    /* the same bytes as the library call with the same settings */
    mtr_ccp_config c = small_config(7, 3000);
    const char *lib = mtr_test_path("cli_lib.csv.gz");
    mtr_error err;
    mtr_ccp_summary s;
    CHECK(mtr_gen_ccp_write(&c, lib, NULL, &s, &err) == 0);
    size_t n1, n2;
    char *a = slurp(out, &n1), *b = slurp(lib, &n2);
    char *spec = slurp(spec_default, NULL), *want = mtr_ccp_spec_text(&c, &err);
    CHECK(a && b && n1 == n2 && memcmp(a, b, n1) == 0);
    CHECK(spec && want && strcmp(spec, want) == 0);
    free(a);
    free(b);
    free(spec);
    free(want);
    /* --spec-out names the spec; - writes the CSV to stdout and the summary to stderr */
    const char *spec_out = mtr_test_path("named.spec");
    CLI_RUN(&r, NULL, "gen", "ccp", "--rows", "5", "--users", "100", "--items", "200", "--brands", "50", "--shops",
            "50", "--categories", "10", "--calibration-rows", "1000", "--out", "-", "--spec-out", spec_out);
    CHECK_EQ_INT(r.status, 0);
    CHECK(strncmp(r.out, mtr_ccp_csv_header, strlen(mtr_ccp_csv_header)) == 0);
    int lines = 0;
    for (const char *q = r.out; *q; q++) lines += *q == '\n';
    CHECK_EQ_INT(lines, 6);
    CHECK_CONTAINS(r.err, "CVR among clicks");
    char *named = slurp(spec_out, NULL);
    CHECK(named && strstr(named, "[task purchase]"));
    free(named);
    cli_result_free(&r);
}

TEST(ccp_cli_refuses_bad_options) {
    const char *out = mtr_test_path("refused.csv");
    struct {
        const char *opt, *value, *want;
    } bad[] = {
        {"--ctr", "1.5", "ctr (the target mean click probability) must be in (0, 1)"},
        {"--ctr", "0", "must be in (0, 1)"},
        {"--ctr", "abc", "--ctr: expected a number, got 'abc'"},
        {"--cvr", "-0.01", "cvr"},
        {"--overlap", "1.5", "overlap must be in [0, 1]"},
        {"--overlap", "-1", "overlap must be in [0, 1]"},
        {"--rows", "0", "rows must be >= 1"},
        {"--rows", "-3", "--rows: expected a non-negative integer"},
        {"--users", "0", "--users: expected an integer in 1..100000000"},
        {"--threads", "99", "--threads"},
        {"--colour", "red", "unknown option '--colour'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cli_result r;
        CLI_RUN(&r, NULL, "gen", "ccp", "--rows", "10", bad[k].opt, bad[k].value, "--out", out);
        CHECK_EQ_INT(r.status, 2);
        CHECK_CONTAINS(r.err, bad[k].want);
        CHECK_CONTAINS(r.err, "mtrank gen ccp: ");
        cli_result_free(&r);
    }
    cli_result r;
    CLI_RUN(&r, NULL, "gen", "ccp", "--rows", "10");
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "--out is required");
    cli_result_free(&r);
    /* the spec would overwrite the data */
    char same[1024];
    snprintf(same, sizeof same, "%s", mtr_test_path("same.csv"));
    CLI_RUN(&r, NULL, "gen", "ccp", "--rows", "10", "--out", same, "--spec-out", same);
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "mtrank gen ccp: --spec-out must differ from --out");
    cli_result_free(&r);
    CHECK_MSG(access(same, F_OK) != 0, "%s was written", same);
    CLI_RUN(&r, NULL, "gen", "ccp", "--help");
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "--ctr V");
    CHECK_CONTAINS(r.out, "[0.04]");
    CHECK_CONTAINS(r.out, "[0.01]");
    CHECK_CONTAINS(r.out, "[0.5]");
    CHECK_CONTAINS(r.out, "[200000]");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "--help");
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "  ccp ");
    cli_result_free(&r);
}

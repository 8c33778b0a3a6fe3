/* test_gen_sessions.c - the multi-objective session simulator (src/gen/sessions.c) and `mtrank gen
 * sessions`: documented defaults and refusal of bad settings; determinism by seed (same bytes, gzip equal
 * to the CSV whatever the thread count) and by request (a run is a prefix of a longer one); calibrated
 * rates; label consistency (cart, fav, purchase and dwell only after a click; purchase likelier after a
 * cart); truth consistent with the labels on average, with and without position bias; list length,
 * distinct candidates and the logged positions; item shares (new, promoted, low quality) and that shares
 * move no draw; the CSV text (values read back exactly) against the callback; the spec parsed, fitted
 * and compiled by the data layer; and the command end to end. Worlds are small so the file runs in well
 * under two seconds. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli_run.h"
#include "gen/sessions.h"
#include "mtrank.h"
#include "test.h"

/* A small world: the model is the same at any size, only the tables are shorter. */
static mtr_sessions_config small_config(uint64_t seed, uint64_t requests) {
    mtr_sessions_config c;
    mtr_sessions_config_default(&c);
    c.seed = seed;
    c.requests = requests;
    c.list_length = 50;
    c.n_users = 2000;
    c.n_items = 5000;
    c.n_categories = 40;
    c.n_brands = 400;
    c.n_shops = 800;
    c.calibration_requests = 400;
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

TEST(sessions_defaults_are_the_documented_ones) {
    mtr_sessions_config c;
    mtr_sessions_config_default(&c);
    CHECK(c.requests == 10000 && c.seed == 1 && c.stream == 0);
    CHECK_EQ_INT(c.list_length, 100);
    CHECK(c.ctr == 0.05 && c.cart_rate == 0.15 && c.fav_rate == 0.08);
    CHECK(c.purchase_rate == 0.03 && c.cart_purchase_rate == 0.20);
    CHECK(c.dwell_median == 30.0 && c.dwell_sigma == 0.8 && c.overlap == 0.5);
    CHECK_EQ_INT(c.n_users, 100000);
    CHECK_EQ_INT(c.n_items, 200000);
    CHECK_EQ_INT(c.dim, 8);
    CHECK_EQ_INT(c.n_categories, 200);
    CHECK_EQ_INT(c.n_brands, 10000);
    CHECK_EQ_INT(c.n_shops, 20000);
    CHECK(c.item_zipf == 0.8 && c.retrieval_taste == 0.5 && c.logging_taste == 0.5 && c.logging_noise == 1.0);
    CHECK(c.position_scale == 10.0 && c.position_power == 0.7);
    CHECK(c.new_share == 0.04 && c.promotion_share == 0.10 && c.low_quality_share == 0.05);
    CHECK(c.price_median == 30.0 && c.price_weight == 0.5);
    CHECK_EQ_INT(c.calibration_requests, 2000);
    CHECK_EQ_INT(c.threads, 1);
    CHECK(mtr_sessions_config_check(&c) == NULL);
    /* names of the columns the experiment reads */
    uint32_t card;
    int max_ids;
    CHECK(strcmp(mtr_sessions_field(&c, 0, &card, &max_ids), "user_id") == 0 && card == 100000 && max_ids == 1);
    CHECK(strcmp(mtr_sessions_field(&c, 6, &card, &max_ids), "recent_categories") == 0 && card == 200 &&
          max_ids == MTR_SESSIONS_MAX_BAG);
    CHECK(strcmp(mtr_sessions_field(&c, MTR_SESSIONS_FIELDS - 1, &card, NULL), "shop") == 0 && card == 20000);
    CHECK(mtr_sessions_field(&c, MTR_SESSIONS_FIELDS, NULL, NULL) == NULL);
    CHECK(mtr_sessions_field(&c, -1, NULL, NULL) == NULL);
    CHECK(strcmp(mtr_sessions_task_name(MTR_SESSIONS_DWELL), "dwell") == 0 && !mtr_sessions_task_name(5));
    CHECK(strcmp(mtr_sessions_truth_name(MTR_SESSIONS_UTILITY_GMV), "utility_gmv") == 0);
    CHECK(strcmp(mtr_sessions_truth_name(MTR_SESSIONS_EXAMINE), "examine") == 0 && !mtr_sessions_truth_name(8));
    CHECK(strcmp(mtr_sessions_numeric_name(3), "low_quality") == 0 && !mtr_sessions_numeric_name(4));
}

TEST(sessions_bad_settings_are_refused_with_clear_errors) {
    mtr_sessions_config c = small_config(1, 10);
    CHECK(mtr_sessions_config_check(&c) == NULL);
#define REFUSED(field, value, message)                                                                   \
    do {                                                                                                 \
        mtr_sessions_config b = small_config(1, 10);                                                     \
        b.field = value;                                                                                 \
        const char *m = mtr_sessions_config_check(&b);                                                   \
        CHECK_CONTAINS(m, message);                                                                      \
    } while (0)
    REFUSED(requests, 0, "requests must be in 1..16777216");
    REFUSED(requests, MTR_SESSIONS_MAX_REQUESTS + 1ull, "requests must be in 1..16777216");
    REFUSED(list_length, 0, "list length must be in 1..1000");
    REFUSED(list_length, MTR_SESSIONS_MAX_LIST + 1, "list length must be in 1..1000");
    REFUSED(list_length, 2501, "list length"); /* too long for the list bound before the items bound */
    REFUSED(n_items, 99, "items must be at least twice the list length");
    REFUSED(ctr, 0.0, "ctr (the target logged click rate) must be in (0, 1)");
    REFUSED(ctr, 1.0, "ctr");
    REFUSED(ctr, NAN, "ctr");
    REFUSED(cart_rate, -0.1, "cart rate (carts per click) must be in (0, 1)");
    REFUSED(fav_rate, 1.5, "fav rate");
    REFUSED(purchase_rate, 0.0, "purchase rate (purchases per click without a cart)");
    REFUSED(cart_purchase_rate, 1.0, "cart purchase rate");
    REFUSED(dwell_median, 0.5, "dwell median must be in [1, 3600] seconds");
    REFUSED(dwell_sigma, 0.0, "dwell sigma");
    REFUSED(overlap, 1.5, "overlap must be in [0, 1]");
    REFUSED(n_users, 0, "users must be in");
    REFUSED(dim, 0, "dim");
    REFUSED(item_zipf, -1.0, "item Zipf");
    REFUSED(retrieval_taste, 1.01, "retrieval taste share");
    REFUSED(position_scale, 0.0, "position scale");
    REFUSED(position_power, -0.1, "position power");
    REFUSED(new_share, 1.1, "new item share");
    REFUSED(promotion_share, -0.5, "promotion share");
    REFUSED(low_quality_share, 0.6, "low-quality share must be in [0, 0.5]");
    REFUSED(price_median, 0.0, "price median");
    REFUSED(calibration_requests, 99, "calibration requests must be at least 100");
    REFUSED(calibration_requests, 200001, "calibration requests x list length must be at most 10000000");
    REFUSED(threads, 17, "threads");
#undef REFUSED
    /* the boundaries themselves are accepted */
    c.list_length = 1;
    c.n_items = 2;
    c.low_quality_share = 0.5;
    c.new_share = 1.0;
    c.position_power = 0.0;
    c.requests = MTR_SESSIONS_MAX_REQUESTS;
    CHECK(mtr_sessions_config_check(&c) == NULL);
    /* the generator refuses them with the simulator's prefix, and an unreachable ctr is named */
    mtr_error err = {{0}};
    c = small_config(1, 10);
    c.ctr = 2.0;
    CHECK_EQ_INT(mtr_gen_sessions(&c, NULL, NULL, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "session simulator: ctr");
    c.ctr = 0.5; /* the mean examination of 50 positions is about 0.46 */
    CHECK_EQ_INT(mtr_gen_sessions(&c, NULL, NULL, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "ctr 0.5 is out of reach");
    CHECK_CONTAINS(err.message, "mean examination is 0.4");
    c.position_power = 0.0; /* every position examined: now it can be met */
    CHECK_MSG(mtr_gen_sessions(&c, NULL, NULL, NULL, &err) == 0, "%s", err.message);
}

/* ---------------------------------------------------------------- collecting requests */

/* Everything a run hands out, kept for the checks (small runs only). */
typedef struct run_log {
    mtr_session_request *req;      /* (n_req) copies; cand points into cands */
    mtr_session_candidate *cands;  /* (n_req * L) */
    size_t n_req, cap, L;
} run_log;

static int log_request(const mtr_session_request *r, void *user) {
    run_log *l = user;
    if (l->n_req < l->cap && (size_t)r->n == l->L) {
        l->req[l->n_req] = *r;
        memcpy(l->cands + l->n_req * l->L, r->cand, l->L * sizeof *r->cand);
        l->req[l->n_req].cand = l->cands + l->n_req * l->L;
    }
    l->n_req++;
    return 0;
}

static run_log run(const mtr_sessions_config *c, mtr_sessions_summary *s) {
    run_log l = {calloc(c->requests, sizeof(mtr_session_request)),
                 calloc(c->requests * (size_t)c->list_length, sizeof(mtr_session_candidate)), 0, c->requests,
                 (size_t)c->list_length};
    mtr_error err;
    CHECK_MSG(mtr_gen_sessions(c, log_request, &l, s, &err) == 0, "%s", err.message);
    return l;
}

static void run_free(run_log *l) {
    free(l->req);
    free(l->cands);
}

static int same_request(const mtr_session_request *a, const mtr_session_request *b) {
    if (a->index != b->index || a->user != b->user || a->n != b->n || a->n_recent != b->n_recent) return 0;
    if (memcmp(a->user_attr, b->user_attr, sizeof a->user_attr) || memcmp(a->context, b->context, sizeof a->context))
        return 0;
    return memcmp(a->cand, b->cand, (size_t)a->n * sizeof *a->cand) == 0;
}

/* ---------------------------------------------------------------- determinism */

TEST(sessions_same_seed_gives_the_same_bytes_and_another_seed_other_bytes) {
    mtr_error err;
    const char *paths[4] = {mtr_test_path("sd_a.csv"), mtr_test_path("sd_b.csv"), mtr_test_path("sd_c.csv"),
                            mtr_test_path("sd_d.csv")};
    mtr_sessions_config c = small_config(11, 120);
    CHECK_MSG(mtr_gen_sessions_write(&c, paths[0], NULL, NULL, &err) == 0, "%s", err.message);
    CHECK_MSG(mtr_gen_sessions_write(&c, paths[1], NULL, NULL, &err) == 0, "%s", err.message);
    c.seed = 12;
    CHECK_MSG(mtr_gen_sessions_write(&c, paths[2], NULL, NULL, &err) == 0, "%s", err.message);
    c.seed = 11;
    c.stream = 1;
    CHECK_MSG(mtr_gen_sessions_write(&c, paths[3], NULL, NULL, &err) == 0, "%s", err.message);
    size_t n[4];
    char *t[4];
    for (int i = 0; i < 4; i++) t[i] = slurp(paths[i], &n[i]);
    CHECK(t[0] && t[1] && t[2] && t[3]);
    if (t[0] && t[1] && t[2] && t[3]) {
        CHECK(n[0] == n[1] && memcmp(t[0], t[1], n[0]) == 0);
        CHECK(n[0] != n[2] || memcmp(t[0], t[2], n[0]) != 0);
        CHECK(n[0] != n[3] || memcmp(t[0], t[3], n[0]) != 0);
        size_t header = strlen(mtr_sessions_csv_header) + 1;
        CHECK(memcmp(t[0], t[3], header) == 0 && t[0][header - 1] == '\n');
        int lines = 0;
        for (size_t i = 0; i < n[0]; i++) lines += t[0][i] == '\n';
        CHECK_EQ_INT(lines, 1 + 120 * 50);
    }
    for (int i = 0; i < 4; i++) free(t[i]);
}

TEST(sessions_a_run_is_the_prefix_of_a_longer_run) {
    mtr_sessions_config c = small_config(5, 37);
    run_log a = run(&c, NULL);
    c.requests = 90;
    run_log b = run(&c, NULL);
    CHECK_EQ_INT(a.n_req, 37);
    CHECK_EQ_INT(b.n_req, 90);
    int same = 1;
    for (size_t i = 0; i < 37 && a.n_req == 37 && b.n_req == 90; i++) same &= same_request(&a.req[i], &b.req[i]);
    CHECK_MSG(same, "the first 37 requests of a 90-request run differ from the 37-request run");
    CHECK_EQ_INT(b.req[89].index, 89);
    run_free(&a);
    run_free(&b);
}

TEST(sessions_gzip_output_is_the_csv_whatever_the_thread_count) {
    /* about 2.6 MB of CSV: two gzip members of up to 2 MiB of CSV each */
    mtr_sessions_config c = small_config(3, 300);
    const char *plain = mtr_test_path("sgz.csv"), *gz0 = mtr_test_path("sgz0.csv.gz");
    const char *gz2 = mtr_test_path("sgz2.csv.gz");
    mtr_error err;
    c.threads = 0;
    CHECK_MSG(mtr_gen_sessions_write(&c, plain, NULL, NULL, &err) == 0, "%s", err.message);
    CHECK_MSG(mtr_gen_sessions_write(&c, gz0, NULL, NULL, &err) == 0, "%s", err.message);
    c.threads = 2;
    CHECK_MSG(mtr_gen_sessions_write(&c, gz2, NULL, NULL, &err) == 0, "%s", err.message);
    size_t np = 0, n0 = 0, n2 = 0, nu = 0;
    char *p = slurp(plain, &np), *z0 = slurp(gz0, &n0), *z2 = slurp(gz2, &n2), *u = gunzip(gz2, &nu);
    CHECK(p && z0 && z2 && u);
    if (p && z0 && z2 && u) {
        CHECK_MSG(np > 2u << 20, "only %zu bytes of CSV: the test needs several gzip members", np);
        CHECK(n0 == n2 && memcmp(z0, z2, n0) == 0);
        CHECK(nu == np && memcmp(u, p, np) == 0);
        CHECK((unsigned char)z0[0] == 0x1f && (unsigned char)z0[1] == 0x8b);
        CHECK(n0 < np / 2);
    }
    free(p);
    free(z0);
    free(z2);
    free(u);
}

/* ---------------------------------------------------------------- rates, labels and truth */

TEST(sessions_rates_are_calibrated_and_labels_consistent) {
    mtr_sessions_config c = small_config(1, 4000);
    c.calibration_requests = 1000;
    mtr_sessions_summary s;
    run_log l = run(&c, &s);
    CHECK_EQ_INT(s.requests, 4000);
    CHECK_EQ_INT(s.candidates, 4000 * 50);
    /* the targets, within a few binomial standard deviations plus the calibration sample's error */
    CHECK_NEAR(s.ctr, 0.05, 0.004);
    CHECK_NEAR(s.cart_rate, 0.15, 0.02);
    CHECK_NEAR(s.fav_rate, 0.08, 0.015);
    CHECK_NEAR(s.purchase_nocart_rate, 0.03, 0.012);
    CHECK_NEAR(s.purchase_cart_rate, 0.20, 0.05);
    CHECK_NEAR(s.dwell_median, 30.0, 3.0);
    CHECK(s.purchase_cart_rate > 3.0 * s.purchase_nocart_rate); /* purchase likelier after a cart */
    CHECK(s.cart_lift > 0.3); /* the rest of the rise comes from the shared conversion taste and intent */
    /* overall purchases per click = 0.85 x 0.03 + 0.15 x 0.20 = 0.0555 */
    CHECK_NEAR(s.purchase_rate, 0.0555, 0.012);
    /* every row: labels binary, cart/fav/purchase imply a click, dwell > 0 exactly when clicked, truths in
     * range and consistent with each other; positions are the indices; candidates distinct */
    size_t bad_label = 0, bad_truth = 0, bad_list = 0, n_rows = 0;
    double clicks = 0, carts = 0, favs = 0, buys = 0, dwell_sum = 0;
    double e_click = 0, tc_sum = 0, tk = 0, tf = 0, tp = 0, td = 0;
    uint32_t *seen = calloc((size_t)c.n_items, sizeof *seen); /* request + 1 that last had the item */
    for (size_t r = 0; r < l.n_req; r++) {
        const mtr_session_request *q = &l.req[r];
        bad_list += q->n != 50 || q->index != r || q->n_recent < 1 || q->n_recent > MTR_SESSIONS_MAX_BAG;
        for (int k = 0; k < q->n; k++) {
            const mtr_session_candidate *x = &q->cand[k];
            const float *y = x->labels, *t = x->truth;
            n_rows++;
            bad_list += x->position != k || seen[x->item] == r + 1;
            seen[x->item] = (uint32_t)r + 1;
            int click = y[0] == 1.0f;
            for (int j = 0; j < 4; j++) bad_label += y[j] != 0.0f && y[j] != 1.0f;
            bad_label += !click && (y[1] != 0.0f || y[2] != 0.0f || y[3] != 0.0f || y[4] != 0.0f);
            bad_label += click && !(y[4] > 0.0f);
            for (int j = 0; j < 4; j++) bad_truth += !(t[j] > 0.0f && t[j] < 1.0f);
            bad_truth += !(t[MTR_SESSIONS_TRUE_DWELL] > 0.0f);
            double want_exam = pow(1.0 + k / 10.0, -0.7);
            bad_truth += fabs(t[MTR_SESSIONS_EXAMINE] - want_exam) > 1e-6;
            double pk = t[MTR_SESSIONS_TRUE_CART], split = pk * x->purchase_split[1] + (1 - pk) * x->purchase_split[0];
            bad_truth += fabs(t[MTR_SESSIONS_TRUE_PURCHASE] - split) > 1e-6 * split + 1e-9;
            bad_truth += !(x->purchase_split[1] > x->purchase_split[0]);
            double gmv = (double)t[0] * t[MTR_SESSIONS_TRUE_PURCHASE] * x->price;
            bad_truth += fabs(t[MTR_SESSIONS_UTILITY_GMV] - gmv) > 1e-5 * gmv;
            double eng = (double)t[0] * t[MTR_SESSIONS_TRUE_DWELL];
            bad_truth += fabs(t[MTR_SESSIONS_UTILITY_ENGAGEMENT] - eng) > 1e-5 * eng;
            e_click += (double)t[MTR_SESSIONS_EXAMINE] * t[0];
            tc_sum += t[0];
            if (!click) continue;
            clicks++;
            carts += y[1];
            favs += y[2];
            buys += y[3];
            dwell_sum += y[4];
            tk += t[1];
            tf += t[2];
            tp += t[3];
            td += t[4];
        }
    }
    free(seen);
    CHECK_EQ_INT(n_rows, 200000);
    CHECK_EQ_INT(bad_list, 0);
    CHECK_EQ_INT(bad_label, 0);
    CHECK_EQ_INT(bad_truth, 0);
    /* the summary counts what was handed out */
    CHECK_EQ_INT(s.clicks, (long long)clicks);
    CHECK_EQ_INT(s.carts, (long long)carts);
    CHECK_EQ_INT(s.favs, (long long)favs);
    CHECK_EQ_INT(s.purchases, (long long)buys);
    /* truth against labels on average: the expected counts are within 4 standard deviations */
    CHECK_NEAR(clicks, e_click, 4.0 * sqrt(e_click));
    CHECK_NEAR(carts, tk, 4.0 * sqrt(tk));
    CHECK_NEAR(favs, tf, 4.0 * sqrt(tf));
    CHECK_NEAR(buys, tp, 4.0 * sqrt(tp));
    CHECK_NEAR(dwell_sum / clicks, td / clicks, 0.06 * td / clicks);
    CHECK_NEAR(s.mean_expected_click, e_click / 200000.0, 1e-9);
    CHECK_NEAR(s.mean_true_click, tc_sum / 200000.0, 1e-9);
    /* with position bias the position-free click probability is well above the logged rate */
    CHECK(s.mean_true_click > 1.5 * s.ctr);
    CHECK(s.mean_examine > 0.4 && s.mean_examine < 0.5);
    CHECK(s.ideal_gmv_at10 > s.logged_gmv_at10);
    run_free(&l);
}

TEST(sessions_without_position_bias_mean_true_click_is_the_click_rate) {
    mtr_sessions_config c = small_config(2, 1500);
    c.position_power = 0.0;
    mtr_sessions_summary s;
    mtr_error err;
    CHECK_MSG(mtr_gen_sessions(&c, NULL, NULL, &s, &err) == 0, "%s", err.message);
    CHECK_NEAR(s.mean_examine, 1.0, 1e-12);
    double n = (double)s.candidates, sd = sqrt(s.mean_true_click * n) / n;
    CHECK_NEAR(s.mean_true_click, s.mean_expected_click, 1e-12);
    CHECK_NEAR(s.ctr, s.mean_true_click, 4.0 * sd);
    CHECK_NEAR(s.ctr, 0.05, 0.005);
    CHECK_NEAR(s.cart_rate, s.mean_true_cart_clicked, 4.0 * sqrt(0.15 * 0.85 / (double)s.clicks));
    CHECK_NEAR(s.fav_rate, s.mean_true_fav_clicked, 4.0 * sqrt(0.08 * 0.92 / (double)s.clicks));
}

TEST(sessions_position_bias_shows_in_the_logged_clicks) {
    /* clicks at the top 10 positions against the last 10: examination 1..0.53 against 0.25..0.22 */
    mtr_sessions_config c = small_config(4, 1500);
    run_log l = run(&c, NULL);
    double top = 0, bottom = 0, top_true = 0, bottom_true = 0;
    for (size_t r = 0; r < l.n_req; r++)
        for (int k = 0; k < 10; k++) {
            top += l.req[r].cand[k].labels[0];
            bottom += l.req[r].cand[40 + k].labels[0];
            top_true += l.req[r].cand[k].truth[0];
            bottom_true += l.req[r].cand[40 + k].truth[0];
        }
    CHECK_MSG(top > 2.0 * bottom, "top-10 clicks %g, last-10 clicks %g", top, bottom);
    /* the position-free truth differs far less: the logging policy knows the taste only a little */
    CHECK(top_true < 1.6 * bottom_true);
    run_free(&l);
}

TEST(sessions_item_shares_and_list_length) {
    mtr_sessions_config c = small_config(6, 400);
    c.list_length = 7;
    mtr_sessions_summary s;
    run_log l = run(&c, &s);
    CHECK_EQ_INT(s.candidates, 400 * 7);
    CHECK_EQ_INT(l.req[0].n, 7);
    CHECK_EQ_INT(l.req[399].cand[6].position, 6);
    run_free(&l);
    /* shares over many candidates: the flags do not depend on popularity, so with a flat popularity (a
     * small world's few popular items would dominate otherwise) the candidates' shares are the items' */
    c = small_config(6, 2000);
    c.item_zipf = 0.0;
    mtr_error err;
    CHECK_MSG(mtr_gen_sessions(&c, NULL, NULL, &s, &err) == 0, "%s", err.message);
    CHECK_NEAR(s.new_share, 0.04, 0.008);
    CHECK_NEAR(s.promotion_share, 0.10, 0.012);
    CHECK_NEAR(s.low_quality_share, 0.05, 0.01);
    c.new_share = 0.25;
    c.promotion_share = 0.5;
    c.low_quality_share = 0.0;
    CHECK_MSG(mtr_gen_sessions(&c, NULL, NULL, &s, &err) == 0, "%s", err.message);
    CHECK_NEAR(s.new_share, 0.25, 0.02);
    CHECK_NEAR(s.promotion_share, 0.5, 0.03);
    CHECK_EQ_INT(s.low_quality_share, 0);
}

TEST(sessions_shares_move_no_draw_and_low_quality_converts_less) {
    /* the same world with other shares retrieves the same items in the same logged order, for the same users */
    mtr_sessions_config c = small_config(8, 300);
    run_log a = run(&c, NULL);
    c.promotion_share = 0.3;
    c.low_quality_share = 0.2;
    c.new_share = 0.1;
    run_log b = run(&c, NULL);
    int same = a.n_req == b.n_req, lowq = 0, lowq_a = 0;
    for (size_t r = 0; same && r < a.n_req; r++) {
        same &= a.req[r].user == b.req[r].user && memcmp(a.req[r].context, b.req[r].context, 8) == 0;
        for (int k = 0; k < 50; k++) {
            same &= a.req[r].cand[k].item == b.req[r].cand[k].item && a.req[r].cand[k].price == b.req[r].cand[k].price;
            lowq += b.req[r].cand[k].low_quality;
            lowq_a += a.req[r].cand[k].low_quality;
            /* an item low-quality at share 0.05 stays so at 0.2 (the same uniform, a higher threshold) */
            same &= !a.req[r].cand[k].low_quality || b.req[r].cand[k].low_quality;
        }
    }
    CHECK(same);
    CHECK(lowq > 2 * lowq_a);
    /* low-quality items: fewer purchases per click, shorter dwell (more abandonment) */
    double pq[2] = {0, 0}, dq[2] = {0, 0}, nq[2] = {0, 0};
    for (size_t r = 0; r < b.n_req; r++)
        for (int k = 0; k < 50; k++) {
            const mtr_session_candidate *x = &b.req[r].cand[k];
            pq[x->low_quality] += x->truth[MTR_SESSIONS_TRUE_PURCHASE];
            dq[x->low_quality] += x->truth[MTR_SESSIONS_TRUE_DWELL];
            nq[x->low_quality]++;
        }
    CHECK(nq[1] > 100);
    CHECK(pq[1] / nq[1] < 0.7 * pq[0] / nq[0]);
    CHECK(dq[1] / nq[1] < 0.85 * dq[0] / nq[0]);
    run_free(&a);
    run_free(&b);
}

TEST(sessions_candidate_ids_and_numeric_fields) {
    mtr_sessions_config c = small_config(9, 50);
    run_log l = run(&c, NULL);
    int bad = 0;
    for (size_t r = 0; r < l.n_req; r++)
        for (int k = 0; k < 50; k++) {
            uint32_t start[MTR_SESSIONS_FIELDS + 1], ids[MTR_SESSIONS_MAX_IDS];
            int n = mtr_session_candidate_ids(&l.req[r], k, start, ids);
            bad += start[0] != 0 || start[MTR_SESSIONS_FIELDS] != (uint32_t)n;
            for (int f = 0; f < MTR_SESSIONS_FIELDS; f++) {
                uint32_t card;
                int max_ids;
                mtr_sessions_field(&c, f, &card, &max_ids);
                uint32_t m = start[f + 1] - start[f];
                bad += m < 1 || m > (uint32_t)max_ids;
                for (uint32_t j = start[f]; j < start[f + 1]; j++) bad += ids[j] >= card;
            }
            const mtr_session_candidate *x = &l.req[r].cand[k];
            bad += ids[start[SESS_ITEM_ID]] != x->item || ids[start[SESS_CATEGORY]] != x->category;
            bad += ids[start[SESS_USER_ID]] != l.req[r].user;
            float num[MTR_SESSIONS_NUMERIC];
            mtr_session_candidate_numeric(&l.req[r], k, num);
            bad += num[0] != x->price || !(num[0] >= 0.01f) || num[1] != x->age_days || num[1] != floorf(num[1]);
            bad += num[2] != (float)x->promotion || num[3] != (float)x->low_quality;
            bad += floorf(x->price * 100.0f + 0.5f) / 100.0f != x->price; /* whole cents */
        }
    CHECK_EQ_INT(bad, 0);
    run_free(&l);
}

static int stop_at_three(const mtr_session_request *r, void *user) {
    (void)user;
    return r->index == 3;
}

TEST(sessions_the_request_callback_can_stop_generation) {
    mtr_sessions_config c = small_config(1, 10);
    mtr_error err = {{0}};
    CHECK_EQ_INT(mtr_gen_sessions(&c, stop_at_three, NULL, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "stopped by the request callback at request 3");
}

/* ---------------------------------------------------------------- text */

/* The callback's requests formatted, for comparison with the file. */
typedef struct text_log {
    char *buf;
    size_t len, cap;
} text_log;

static int log_text(const mtr_session_request *r, void *user) {
    text_log *t = user;
    for (int k = 0; k < r->n; k++) {
        if (t->len + MTR_SESSIONS_LINE_MAX > t->cap) t->buf = realloc(t->buf, t->cap = 2 * t->cap + (1 << 20));
        t->len += mtr_sessions_format_row(r, k, t->buf + t->len);
    }
    return 0;
}

TEST(sessions_csv_is_the_header_and_the_rows_of_the_callback) {
    mtr_sessions_config c = small_config(13, 60);
    const char *path = mtr_test_path("cb.csv");
    mtr_error err;
    CHECK_MSG(mtr_gen_sessions_write(&c, path, NULL, NULL, &err) == 0, "%s", err.message);
    text_log t = {0};
    CHECK(mtr_gen_sessions(&c, log_text, &t, NULL, &err) == 0);
    size_t n;
    char *file = slurp(path, &n);
    size_t header = strlen(mtr_sessions_csv_header) + 1;
    CHECK(file && n == header + t.len && memcmp(file + header, t.buf, t.len) == 0);
    free(file);
    free(t.buf);
}

/* Split a CSV line at commas in place; returns the field count. */
static int split(char *line, char **f, int max) {
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && *p != '\n'; p++)
        if (*p == ',' && n < max) {
            *p = '\0';
            f[n++] = p + 1;
        }
    char *end = strchr(f[n - 1], '\n');
    if (end) *end = '\0';
    return n;
}

TEST(sessions_values_read_back_exactly) {
    mtr_sessions_config c = small_config(14, 40);
    run_log l = run(&c, NULL);
    int bad = 0, fields = 0;
    char line[MTR_SESSIONS_LINE_MAX];
    for (size_t r = 0; r < l.n_req; r++)
        for (int k = 0; k < 50; k++) {
            const mtr_session_candidate *x = &l.req[r].cand[k];
            size_t len = mtr_sessions_format_row(&l.req[r], k, line);
            bad += len >= MTR_SESSIONS_LINE_MAX || line[len - 1] != '\n';
            line[len] = '\0';
            char *f[40];
            fields = split(line, f, 40);
            if (fields != 34) continue;
            bad += strtoull(f[0], NULL, 10) != r || strtol(f[1], NULL, 10) != k;
            bad += strtof(f[17], NULL) != x->price || strtof(f[18], NULL) != x->age_days;
            for (int t = 0; t < MTR_SESSIONS_TASKS; t++) bad += strtof(f[21 + t], NULL) != x->labels[t];
            for (int i = 0; i < MTR_SESSIONS_TRUTH; i++) bad += strtof(f[26 + i], NULL) != x->truth[i];
        }
    CHECK_EQ_INT(fields, 34);
    CHECK_EQ_INT(bad, 0);
    run_free(&l);
}

TEST(sessions_spec_describes_the_csv_and_the_data_layer_reads_it) {
    mtr_sessions_config c = small_config(9, 300);
    mtr_error err;
    char *spec = mtr_sessions_spec_text(&c, &err);
    CHECK_MSG(spec != NULL, "%s", err.message);
    if (!spec) return;
    CHECK_CONTAINS(spec, "[input]\nheader = yes\ndelimiter = \",\"\n");
    CHECK_CONTAINS(spec, "\nrequest_id = aux ");
    CHECK_CONTAINS(spec, "\nposition_logged = aux ");
    CHECK_CONTAINS(spec, "\nutility_gmv = aux\n");
    CHECK_CONTAINS(spec, "\nexamine = aux\n");
    CHECK_CONTAINS(spec, "\nuser_id = categorical hash=4000 ");
    CHECK_CONTAINS(spec, "\nitem_id = categorical hash=10000 ");
    CHECK_CONTAINS(spec, "\nrecent_categories = categorical multi sep=\";\" pool=sum table=category");
    CHECK_CONTAINS(spec, "\nprice = numeric norm=log1p_standard\n");
    CHECK_CONTAINS(spec, "\nlow_quality = numeric norm=none\n");
    CHECK_CONTAINS(spec, "[task click]\ncolumn = click\ntype = binary\npositive = 1\nnegative = 0\n");
    CHECK_CONTAINS(spec, "column = dwell\ntype = regression\n");
    CHECK(strstr(spec, "[task click]") < strstr(spec, "[task cart]"));
    const char *csv = mtr_test_path("fit.csv.gz"), *spec_path = mtr_test_path("fit.spec");
    const char *mtrd = mtr_test_path("fit.mtrd");
    CHECK_MSG(mtr_gen_sessions_write(&c, csv, spec_path, NULL, &err) == 0, "%s", err.message);
    size_t n;
    char *written = slurp(spec_path, &n);
    CHECK(written && strcmp(written, spec) == 0);
    free(written);
    mtr_spec *sp = mtr_spec_parse(spec, "<sessions spec>", &err);
    CHECK_MSG(sp != NULL, "%s", err.message);
    mtr_schema *schema = sp ? mtr_schema_fit(sp, csv, &err) : NULL;
    CHECK_MSG(!sp || schema != NULL, "%s", err.message);
    if (schema) {
        CHECK_EQ_INT(mtr_schema_task_count(schema), 5);
        for (int t = 0; t < 5; t++) CHECK(strcmp(mtr_schema_task_name(schema, t), mtr_sessions_task_name(t)) == 0);
        CHECK(mtr_schema_task_kind(schema, 0) == MTR_TASK_BINARY);
        CHECK(mtr_schema_task_kind(schema, 4) == MTR_TASK_REGRESSION);
        CHECK_EQ_INT(mtr_schema_categorical_count(schema), MTR_SESSIONS_FIELDS);
        CHECK_EQ_INT(mtr_schema_numeric_count(schema), MTR_SESSIONS_NUMERIC); /* nothing missing: no flags */
        CHECK_EQ_INT(mtr_schema_aux_count(schema), 2 + MTR_SESSIONS_TRUTH);
        CHECK(strcmp(mtr_schema_aux_name(schema, 0), "request_id") == 0);
        CHECK(strcmp(mtr_schema_aux_name(schema, 2), "true_click") == 0);
        CHECK(strcmp(mtr_schema_categorical_name(schema, 6), "recent_categories") == 0);
        CHECK_EQ_INT(mtr_schema_field_multi(schema, 6), 1);
        /* recent_categories and category share one table */
        CHECK_EQ_INT(mtr_schema_table_count(schema), MTR_SESSIONS_FIELDS - 1);
        CHECK_EQ_INT(mtr_schema_field_table(schema, 6), mtr_schema_field_table(schema, SESS_CATEGORY));
        CHECK_EQ_INT(mtr_schema_vocab_size(schema, 0), 2 + 4000);
        /* it compiles, and the compiled rows carry the labels and the group key */
        CHECK_MSG(mtr_dataset_compile(schema, csv, mtrd, &err) == 0, "%s", err.message);
        mtr_dataset *ds = mtr_dataset_open(mtrd, schema, &err);
        CHECK_MSG(ds != NULL, "%s", err.message);
        if (ds) {
            CHECK_EQ_INT(mtr_dataset_rows(ds), 300 * 50);
            CHECK_EQ_INT(mtr_dataset_task_count(ds), 5);
            int bad = 0;
            for (size_t r = 0; r < mtr_dataset_rows(ds); r++) {
                bad += mtr_dataset_aux(ds, r, 0) != (float)(r / 50) || mtr_dataset_aux(ds, r, 1) != (float)(r % 50);
                float click = mtr_dataset_label(ds, r, 0), dwell = mtr_dataset_label(ds, r, 4);
                bad += (click == 1.0f) != (dwell > 0.0f);
                bad += mtr_dataset_label(ds, r, 3) == 1.0f && click != 1.0f;
            }
            CHECK_EQ_INT(bad, 0);
            mtr_dataset_free(ds);
        }
    }
    mtr_schema_free(schema);
    mtr_spec_free(sp);
    free(spec);
}

TEST(sessions_write_errors_name_the_file) {
    mtr_sessions_config c = small_config(1, 3);
    mtr_error err = {{0}};
    const char *path = mtr_test_path("no-such-dir/out.csv.gz");
    CHECK_EQ_INT(mtr_gen_sessions_write(&c, path, NULL, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "no-such-dir/out.csv.gz");
    CHECK_CONTAINS(err.message, "No such file or directory");
    err.message[0] = '\0';
    const char *ok = mtr_test_path("sok.csv"), *bad_spec = mtr_test_path("no-such-dir/x.spec");
    CHECK_EQ_INT(mtr_gen_sessions_write(&c, ok, bad_spec, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "no-such-dir/x.spec");
    c.list_length = 0;
    CHECK_EQ_INT(mtr_gen_sessions_write(&c, ok, NULL, NULL, &err), -1);
    CHECK_CONTAINS(err.message, "session simulator: list length");
}

/* ---------------------------------------------------------------- the command */

TEST(sessions_cli_writes_data_spec_and_summary) {
    char out[4096], spec_default[4096];
    snprintf(out, sizeof out, "%s", mtr_test_path("scli.csv.gz"));
    snprintf(spec_default, sizeof spec_default, "%s", mtr_test_path("scli.spec"));
    cli_result r;
    CLI_RUN(&r, NULL, "gen", "sessions", "--requests", "200", "--seed", "7", "--list-length", "50", "--users", "2000",
            "--items", "5000", "--categories", "40", "--brands", "400", "--shops", "800", "--calibration-requests",
            "400", "--threads", "2", "--out", out);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "wrote 200 requests x 50 candidates = 10000 rows to ");
    CHECK_CONTAINS(r.out, "\nCTR 0.0");
    CHECK_CONTAINS(r.out, "\nper click: cart ");
    CHECK_CONTAINS(r.out, "\ndwell over clicks: median ");
    CHECK_CONTAINS(r.out, "\ncandidates: new 0.0");
    CHECK_CONTAINS(r.out, "scli.spec");
    cli_result_free(&r);
    mtr_sessions_config c = small_config(7, 200);
    const char *lib = mtr_test_path("scli_lib.csv.gz");
    mtr_error err;
    CHECK(mtr_gen_sessions_write(&c, lib, NULL, NULL, &err) == 0);
    size_t n1, n2;
    char *a = slurp(out, &n1), *b = slurp(lib, &n2);
    char *spec = slurp(spec_default, NULL), *want = mtr_sessions_spec_text(&c, &err);
    CHECK(a && b && n1 == n2 && memcmp(a, b, n1) == 0);
    CHECK(spec && want && strcmp(spec, want) == 0);
    free(a);
    free(b);
    free(spec);
    free(want);
    /* - writes the CSV to stdout and the summary to stderr */
    const char *spec_out = mtr_test_path("snamed.spec");
    CLI_RUN(&r, NULL, "gen", "sessions", "--requests", "2", "--list-length", "3", "--users", "100", "--items", "200",
            "--brands", "50", "--shops", "50", "--categories", "10", "--calibration-requests", "100", "--out", "-",
            "--spec-out", spec_out);
    CHECK_EQ_INT(r.status, 0);
    CHECK(strncmp(r.out, mtr_sessions_csv_header, strlen(mtr_sessions_csv_header)) == 0);
    int lines = 0;
    for (const char *q = r.out; *q; q++) lines += *q == '\n';
    CHECK_EQ_INT(lines, 7);
    CHECK_CONTAINS(r.err, "per click: cart");
    char *named = slurp(spec_out, NULL);
    CHECK(named && strstr(named, "[task dwell]"));
    free(named);
    cli_result_free(&r);
}

TEST(sessions_cli_refuses_bad_options) {
    const char *out = mtr_test_path("srefused.csv");
    struct {
        const char *opt, *value, *want;
    } bad[] = {
        {"--ctr", "1.5", "ctr (the target logged click rate) must be in (0, 1)"},
        {"--ctr", "abc", "--ctr: expected a number, got 'abc'"},
        {"--cart-rate", "0", "cart rate"},
        {"--dwell-median", "0.1", "dwell median must be in [1, 3600] seconds"},
        {"--low-quality-share", "0.9", "low-quality share must be in [0, 0.5]"},
        {"--requests", "0", "requests must be in 1..16777216"},
        {"--list-length", "1001", "--list-length: expected an integer in 1..1000"},
        {"--items", "150", "items must be at least twice the list length"},
        {"--threads", "99", "--threads"},
        {"--colour", "red", "unknown option '--colour'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cli_result r;
        CLI_RUN(&r, NULL, "gen", "sessions", "--requests", "10", bad[k].opt, bad[k].value, "--out", out);
        CHECK_EQ_INT(r.status, 2);
        CHECK_CONTAINS(r.err, bad[k].want);
        CHECK_CONTAINS(r.err, "mtrank gen sessions: ");
        cli_result_free(&r);
    }
    cli_result r;
    CLI_RUN(&r, NULL, "gen", "sessions", "--requests", "10");
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "--out is required");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "sessions", "--help");
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "--cart-purchase-rate V");
    CHECK_CONTAINS(r.out, "[0.05]");
    CHECK_CONTAINS(r.out, "[0.15]");
    CHECK_CONTAINS(r.out, "[0.2]");
    CHECK_CONTAINS(r.out, "[100000]");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "--help");
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "  sessions ");
    cli_result_free(&r);
}

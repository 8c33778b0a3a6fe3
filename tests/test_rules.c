/* test_rules.c - re-ranking rules on small hand-built lists: each kind with its expected order, scores
 * and reasons, tie-breaking, rule order, the exposure cap across requests and its expiry, the in-process
 * exposure store against brute-force counting, config errors naming the file, line and key, empty and
 * too-long lists, and a 1000-candidate request with all five kinds checked for its invariants.
 *
 * The small list (scores already fused; formula "score"):
 *   cand  score  promo  age  low_quality  category  item
 *   0     0.9    0      30   0            1         100
 *   1     0.8    0      30   0            1         101
 *   2     0.7    1      30   0            1         102
 *   3     0.6    0      2    0            2         103
 *   4     0.5    0      30   1            2         104
 *   5     0.4    1      1    0            3         105
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"
#include "test.h"
#include "util/rng.h"

static const char *const VARS[] = {"score", "promo", "age", "low_quality"};
static const char *const KEYS[] = {"category", "brand"};
static const mtr_rank_fields FIELDS = {VARS, 4, KEYS, 2};

static const float SMALL_X[6][4] = {{0.9f, 0, 30, 0}, {0.8f, 0, 30, 0}, {0.7f, 1, 30, 0},
                                    {0.6f, 0, 2, 0},  {0.5f, 0, 30, 1}, {0.4f, 1, 1, 0}};
static const uint32_t SMALL_KEYS[6][2] = {{1, 10}, {1, 11}, {1, 12}, {2, 13}, {2, 14}, {3, 15}};
static const uint64_t SMALL_IDS[6] = {100, 101, 102, 103, 104, 105};

static mtr_rank_list small_list(void) {
    mtr_rank_list l = {.n = 6, .x = &SMALL_X[0][0], .stride = 4, .keys = &SMALL_KEYS[0][0], .key_stride = 2,
                       .item_ids = SMALL_IDS};
    return l;
}

/* A fusion "score", the rules from text, and a context for 16 candidates. */
typedef struct setup {
    mtr_fusion *fusion;
    mtr_rules *rules;
    mtr_rank_context *ctx;
} setup;

static int make(setup *s, const char *rules_text) {
    mtr_error err = {{0}};
    memset(s, 0, sizeof *s);
    s->fusion = mtr_fusion_compile("score", VARS, 4, NULL, 0, &err);
    s->rules = s->fusion ? mtr_rules_parse(rules_text, "test.rules", &FIELDS, &err) : NULL;
    s->ctx = s->rules ? mtr_rank_context_create(s->fusion, s->rules, 16, NULL, &err) : NULL;
    CHECK_MSG(s->ctx != NULL, "setup: %s", err.message);
    return s->ctx ? 0 : -1;
}

static void done(setup *s) {
    mtr_rank_context_free(s->ctx);
    mtr_rules_free(s->rules);
    mtr_fusion_free(s->fusion);
}

static void check_order(const mtr_rank_result *r, const int *expect, size_t n, int line) {
    int same = r->n == n;
    for (size_t i = 0; same && i < n; i++) same = r->order[i] == (uint32_t)expect[i];
    if (!same) {
        char got[256] = "", want[256] = "";
        for (size_t i = 0; i < r->n && i < 32; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%u ", r->order[i]);
        for (size_t i = 0; i < n; i++) snprintf(want + strlen(want), sizeof want - strlen(want), "%d ", expect[i]);
        mtr_test_fail(__FILE__, line, "order %s, expected %s", got, want);
    }
    for (size_t p = 0; p < r->n_ranked; p++) /* position is the inverse of order for the ranked ones */
        if (r->position[r->order[p]] != p) mtr_test_fail(__FILE__, line, "position of %u is not %zu", r->order[p], p);
    for (size_t p = r->n_ranked; p < r->n; p++)
        if (r->position[r->order[p]] != UINT32_MAX)
            mtr_test_fail(__FILE__, line, "dropped %u has a position", r->order[p]);
}
#define CHECK_ORDER(r, ...)                                                                         \
    do {                                                                                            \
        const int e_[] = {__VA_ARGS__};                                                             \
        check_order((r), e_, sizeof e_ / sizeof e_[0], __LINE__);                                   \
    } while (0)

static void check_marks(const mtr_rank_result *r, const int *rule, const int *reason, int line) {
    for (size_t c = 0; c < r->n; c++) {
        if (r->rule[c] != rule[c] || r->reason[c] != reason[c])
            mtr_test_fail(__FILE__, line, "candidate %zu: rule %d reason %s, expected rule %d reason %s", c, r->rule[c],
                          mtr_rank_reason_name((mtr_rank_reason)r->reason[c]), rule[c],
                          mtr_rank_reason_name((mtr_rank_reason)reason[c]));
    }
}
#define N_ MTR_REASON_NONE
#define S_ MTR_REASON_SCORE
#define U_ MTR_REASON_UP
#define D_ MTR_REASON_DOWN
#define X_ MTR_REASON_DROP
#define V_ MTR_REASON_DIVERSITY

static int rank_small(setup *s, const char *rules_text, mtr_rank_result *r) {
    if (make(s, rules_text) != 0) return -1;
    mtr_rank_list l = small_list();
    mtr_error err = {{0}};
    int rc = mtr_rank(s->ctx, &l, r, &err);
    CHECK_MSG(rc == 0, "rank: %s", err.message);
    return rc;
}

TEST(rules_none_sorts_by_score_with_ties) {
    setup s;
    mtr_rank_result r = {0};
    if (rank_small(&s, "# no rules\n\n", &r) == 0) {
        CHECK_ORDER(&r, 0, 1, 2, 3, 4, 5);
        CHECK_EQ_INT(r.n_ranked, 6);
        for (int c = 0; c < 6; c++) {
            CHECK(r.fused[c] == SMALL_X[c][0] && r.adjusted[c] == r.fused[c]);
            CHECK(r.rule[c] == -1 && r.rules_mask[c] == 0 && r.fused_position[c] == (uint32_t)c);
        }
    }
    done(&s);
    /* ties by index, -0 equal to +0, NaN last */
    const float scores[7] = {0.5f, 0.7f, 0.5f, NAN, 0.7f, -0.0f, 0.0f};
    mtr_error err = {{0}};
    mtr_rank_context *ctx = mtr_rank_context_create(NULL, NULL, 7, NULL, &err);
    mtr_rank_list l = {.n = 7};
    CHECK(mtr_rank_scored(ctx, &l, scores, &r, &err) == 0);
    CHECK_ORDER(&r, 1, 4, 0, 2, 5, 6, 3);
    /* and on a list long enough for the radix sort: scores i % 7, ties by index */
    mtr_rank_context_free(ctx);
    ctx = mtr_rank_context_create(NULL, NULL, 100, NULL, &err);
    float many[100];
    for (int i = 0; i < 100; i++) many[i] = (float)(i % 7) - 3.0f;
    l.n = 100;
    CHECK(mtr_rank_scored(ctx, &l, many, &r, &err) == 0);
    for (size_t p = 1; p < 100; p++) {
        uint32_t a = r.order[p - 1], b = r.order[p];
        CHECK(many[a] > many[b] || (many[a] == many[b] && a < b));
    }
    CHECK_EQ_INT(r.order[0], 6); /* 6 % 7 = 6 is the largest, index 6 the first of them */
    mtr_rank_context_free(ctx);
}

TEST(rules_diversity) {
    setup s;
    mtr_rank_result r = {0};
    /* max 2 of a category in the top 4: take 0, 1 (cat 1 full), pass 2, take 3, 4 -> 0 1 3 4 | 2 | 5 */
    if (rank_small(&s, "rule diversity key=category max=2 top=4\n", &r) == 0) {
        CHECK_ORDER(&r, 0, 1, 3, 4, 2, 5);
        const int rule[6] = {-1, -1, 0, -1, -1, -1}, why[6] = {N_, N_, V_, N_, N_, N_};
        check_marks(&r, rule, why, __LINE__);
        CHECK(r.adjusted[2] == r.fused[2]); /* positions only */
    }
    done(&s);
    /* max 1 in the top 3: take 0, pass 1 2, take 3, pass 4, take 5 -> 0 3 5 | 1 2 4 */
    if (rank_small(&s, "rule diversity key=category max=1 top=3", &r) == 0) {
        CHECK_ORDER(&r, 0, 3, 5, 1, 2, 4);
        const int rule[6] = {-1, 0, 0, -1, 0, -1}, why[6] = {N_, V_, V_, N_, V_, N_};
        check_marks(&r, rule, why, __LINE__);
    }
    done(&s);
    /* brands are all distinct: nothing moves */
    if (rank_small(&s, "rule diversity key=brand max=1 top=6", &r) == 0) CHECK_ORDER(&r, 0, 1, 2, 3, 4, 5);
    done(&s);
}

TEST(rules_diversity_unsatisfiable_and_no_key) {
    mtr_error err = {{0}};
    mtr_rules *rules = mtr_rules_parse("rule diversity key=category max=1 top=3", NULL, &FIELDS, &err);
    mtr_rank_context *ctx = mtr_rank_context_create(NULL, rules, 8, NULL, &err);
    CHECK_MSG(ctx != NULL, "%s", err.message);
    if (!ctx) return;
    float x[4][4] = {{0}};
    const float scores[4] = {4, 3, 2, 1};
    uint32_t keys[4][2] = {{7, 0}, {7, 0}, {7, 0}, {7, 0}};
    mtr_rank_list l = {.n = 4, .x = &x[0][0], .stride = 4, .keys = &keys[0][0], .key_stride = 2};
    mtr_rank_result r = {0};
    /* one key everywhere: take 0, pass the rest, the list runs out; nothing actually moved */
    CHECK(mtr_rank_scored(ctx, &l, scores, &r, &err) == 0);
    CHECK_ORDER(&r, 0, 1, 2, 3);
    for (int c = 0; c < 4; c++) CHECK(r.rule[c] == -1);
    /* unknown keys are never limited: 1 and 2 have none, 3 is passed over */
    keys[1][0] = keys[2][0] = MTR_RANK_NO_KEY;
    CHECK(mtr_rank_scored(ctx, &l, scores, &r, &err) == 0);
    CHECK_ORDER(&r, 0, 1, 2, 3);
    keys[1][0] = 7;
    keys[3][0] = 8; /* 0 taken, 1 passed, 2 (no key) taken, 3 taken -> 0 2 3 1 */
    CHECK(mtr_rank_scored(ctx, &l, scores, &r, &err) == 0);
    CHECK_ORDER(&r, 0, 2, 3, 1);
    CHECK(r.rule[1] == 0 && r.reason[1] == MTR_REASON_DIVERSITY);
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
}

TEST(rules_promote_score) {
    setup s;
    mtr_rank_result r = {0};
    /* promo items 2 and 5 doubled: 2 -> 1.4, 5 -> 0.8, which ties 1 (0.8): 1 first by its fused score */
    if (rank_small(&s, "rule promote field=promo multiply=2", &r) == 0) {
        CHECK_ORDER(&r, 2, 0, 1, 5, 3, 4);
        CHECK(r.adjusted[2] == 1.4f && r.adjusted[5] == 0.8f && r.adjusted[1] == 0.8f);
        CHECK(r.fused[2] == 0.7f);
        const int rule[6] = {-1, -1, 0, -1, -1, 0}, why[6] = {N_, N_, S_, N_, N_, S_};
        check_marks(&r, rule, why, __LINE__);
        CHECK(r.fused_position[5] == 5 && r.position[5] == 3);
    }
    done(&s);
    /* add 0.25: 2 -> 0.95, 5 -> 0.65 */
    if (rank_small(&s, "rule promote add=0.25   # field defaults to promo", &r) == 0) {
        CHECK_ORDER(&r, 2, 0, 1, 5, 3, 4);
        CHECK(r.adjusted[2] == 0.7f + 0.25f && r.adjusted[5] == 0.4f + 0.25f);
    }
    done(&s);
}

TEST(rules_promote_positions) {
    setup s;
    mtr_rank_result r = {0};
    /* up 2: 2 (at 2) goes above the one at 0; 5 (at 5) above the one at 3 -> 2 0 1 5 3 4 */
    if (rank_small(&s, "rule promote up=2", &r) == 0) {
        CHECK_ORDER(&r, 2, 0, 1, 5, 3, 4);
        const int rule[6] = {-1, -1, 0, -1, -1, 0}, why[6] = {N_, N_, U_, N_, N_, U_};
        check_marks(&r, rule, why, __LINE__);
        CHECK(r.adjusted[2] == r.fused[2]);
    }
    done(&s);
    /* up 10: both to the top, keeping their order */
    if (rank_small(&s, "rule promote up=10", &r) == 0) CHECK_ORDER(&r, 2, 5, 0, 1, 3, 4);
    done(&s);
    /* any column and test: score > 0.65 selects 0, 1, 2, here moved down 1 */
    if (rank_small(&s, "rule promote field=score above=0.65 down=1", &r) == 0) {
        /* 0, 1, 2 selected: targets 2*(p+1)+1 = 3, 5, 7; the others 2p: 3->6, 4->8, 5->10
           merged: 0(3) 1(5) 3(6) 2(7) 4(8) 5(10) */
        CHECK_ORDER(&r, 0, 1, 3, 2, 4, 5);
        CHECK(r.reason[0] == MTR_REASON_DOWN && r.reason[3] == MTR_REASON_NONE);
    }
    done(&s);
}

TEST(rules_new_items) {
    setup s;
    mtr_rank_result r = {0};
    /* age < 7: 3 (age 2) -> 0.95, 5 (age 1) -> 0.75 */
    if (rank_small(&s, "rule new field=age below=7 add=0.35", &r) == 0) {
        CHECK_ORDER(&r, 3, 0, 1, 5, 2, 4);
        const int rule[6] = {-1, -1, -1, 0, -1, 0}, why[6] = {N_, N_, N_, S_, N_, S_};
        check_marks(&r, rule, why, __LINE__);
    }
    done(&s);
    /* below=2: only 5 (age 1), moved up 3: above the one at 2 */
    if (rank_small(&s, "rule new below=2 up=3", &r) == 0) CHECK_ORDER(&r, 0, 1, 5, 2, 3, 4);
    done(&s);
}

TEST(rules_low_quality) {
    setup s;
    mtr_rank_result r = {0};
    if (rank_small(&s, "rule low_quality drop", &r) == 0) {
        CHECK_EQ_INT(r.n_ranked, 5);
        CHECK_ORDER(&r, 0, 1, 2, 3, 5, 4); /* the dropped one after the list */
        CHECK(r.rule[4] == 0 && r.reason[4] == MTR_REASON_DROP && r.position[4] == UINT32_MAX);
    }
    done(&s);
    /* demote by score: 0.5 * 0.5 = 0.25, below 5 (0.4) */
    if (rank_small(&s, "rule low_quality field=low_quality multiply=0.5", &r) == 0) {
        CHECK_ORDER(&r, 0, 1, 2, 3, 5, 4);
        CHECK(r.adjusted[4] == 0.25f && r.reason[4] == MTR_REASON_SCORE && r.n_ranked == 6);
    }
    done(&s);
    /* demote by positions, the test on another column: score below 0.85 and down 2 */
    if (rank_small(&s, "rule low_quality field=score above=0.85 down=2", &r) == 0) {
        CHECK_ORDER(&r, 1, 2, 0, 3, 4, 5); /* 0 goes just below the one at 2 */
        CHECK(r.reason[0] == MTR_REASON_DOWN);
    }
    done(&s);
}

/* Rule order matters: a score rule re-sorts the list, undoing earlier positional moves. */
TEST(rules_order_matters) {
    setup s;
    mtr_rank_result r = {0};
    /* promote first: adjusted order 2 0 1 5 3 4; then max 1 per category in the top 3:
       take 2 (c1), pass 0 1 (c1), take 5 (c3), take 3 (c2) -> 2 5 3 0 1 4 */
    if (rank_small(&s, "rule promote multiply=2\nrule diversity key=category max=1 top=3", &r) == 0) {
        CHECK_ORDER(&r, 2, 5, 3, 0, 1, 4);
        const int rule[6] = {1, 1, 0, -1, -1, 0}, why[6] = {V_, V_, S_, N_, N_, S_};
        check_marks(&r, rule, why, __LINE__);
        CHECK(r.rules_mask[2] == 1u && r.rules_mask[0] == 2u);
    }
    done(&s);
    /* diversity first (0 3 5 1 2 4), then the boost re-sorts by adjusted score: 2 0 1 5 3 4 */
    if (rank_small(&s, "rule diversity key=category max=1 top=3\nrule promote multiply=2", &r) == 0) {
        CHECK_ORDER(&r, 2, 0, 1, 5, 3, 4);
        CHECK(r.rules_mask[5] == 2u && r.rules_mask[1] == 1u && r.rules_mask[2] == 3u); /* 2: both acted */
        CHECK(r.rule[2] == 1 && r.reason[2] == MTR_REASON_SCORE);
    }
    done(&s);
    /* positional rules after the score rules keep their moves: drop 4, boost new items (3 -> 0.95,
       5 -> 0.75: order 3 0 1 5 2), then promoted up 1: 5 (at 3) targets 2*2-1 = 3, 2 (at 4) 2*3-1 = 5,
       the others 2p: 3(0) 0(2) 1(4) -> 3 0 5 1 2, then the dropped 4 */
    if (rank_small(&s, "rule low_quality drop\nrule new below=7 add=0.35\nrule promote up=1", &r) == 0) {
        CHECK_EQ_INT(r.n_ranked, 5);
        CHECK_ORDER(&r, 3, 0, 5, 1, 2, 4);
        CHECK(r.rules_mask[5] == 6u && r.rule[5] == 2 && r.reason[5] == MTR_REASON_UP);
    }
    done(&s);
}

/* max 1 exposure in a window of 2 requests, the first 2 positions count as shown; 3 items always listed.
 * request 1: nothing seen          -> 100 200 300, shows 100 200 (at 1)
 * request 2: 100:1 200:1           -> 300, shows 300 (at 2)
 * request 3: window 1..2: all seen -> nothing
 * request 4: window 2..3: 300:1    -> 100 200
 * request 5: window 3..4: 100 200  -> 300 */
TEST(rules_exposure_cap_across_requests) {
    mtr_error err = {{0}};
    mtr_rules *rules = mtr_rules_parse("rule exposure_cap max=1 window=2 shown=2\n", "t", &FIELDS, &err);
    mtr_rank_context *ctx = mtr_rank_context_create(NULL, rules, 8, NULL, &err);
    CHECK_MSG(ctx != NULL, "%s", err.message);
    if (!ctx) return;
    const float scores[3] = {0.9f, 0.8f, 0.7f};
    const uint64_t ids[3] = {100, 200, 300};
    mtr_rank_list l = {.n = 3, .item_ids = ids};
    mtr_rank_result r = {0};
    const size_t expect_n[5] = {3, 1, 0, 2, 1};
    const int expect_first[5] = {0, 2, -1, 0, 2};
    for (int q = 0; q < 5; q++) {
        if (mtr_rank_scored(ctx, &l, scores, &r, &err) != 0) {
            CHECK_MSG(0, "request %d: %s", q + 1, err.message);
            break;
        }
        CHECK_MSG(r.n_ranked == expect_n[q], "request %d: %zu ranked, expected %zu", q + 1, r.n_ranked, expect_n[q]);
        if (expect_first[q] >= 0) CHECK_EQ_INT(r.order[0], expect_first[q]);
        for (size_t p = r.n_ranked; p < r.n; p++) {
            CHECK(r.reason[r.order[p]] == MTR_REASON_DROP && r.rule[r.order[p]] == 0);
        }
    }
    /* explicit request numbers: jump to 10, the window 8..9 is empty, everything is shown again */
    l.request = 10;
    CHECK(mtr_rank_scored(ctx, &l, scores, &r, &err) == 0);
    CHECK_EQ_INT(r.n_ranked, 3);
    l.request = 9; /* going back in time is refused */
    CHECK(mtr_rank_scored(ctx, &l, scores, &r, &err) == -1);
    CHECK_CONTAINS(err.message, "request 9 comes after request 10");
    /* the auto clock continues after 10: request 11 sees 100 and 200 from 10 */
    l.request = 0;
    CHECK(mtr_rank_scored(ctx, &l, scores, &r, &err) == 0);
    CHECK_EQ_INT(r.n_ranked, 1);
    CHECK_EQ_INT(r.order[0], 2);
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
}

/* The cap demoting instead of dropping, with a caller's store shared by two contexts. */
TEST(rules_exposure_cap_demote_with_shared_store) {
    mtr_error err = {{0}};
    mtr_exposure_store store;
    CHECK(mtr_exposure_memory_init(&store, 100, &err) == 0);
    mtr_rules *rules = mtr_rules_parse("rule exposure_cap max=1 window=5 shown=1 down=5", "t", &FIELDS, &err);
    mtr_rank_context *a = mtr_rank_context_create(NULL, rules, 8, &store, &err);
    mtr_rank_context *b = mtr_rank_context_create(NULL, rules, 8, &store, &err);
    CHECK_MSG(a && b, "%s", err.message);
    if (a && b) {
        const float scores[3] = {0.9f, 0.8f, 0.7f};
        const uint64_t ids[3] = {100, 200, 300};
        mtr_rank_list l = {.n = 3, .item_ids = ids, .request = 1};
        mtr_rank_result r = {0};
        CHECK(mtr_rank_scored(a, &l, scores, &r, &err) == 0); /* shows 100 */
        CHECK_ORDER(&r, 0, 1, 2);
        l.request = 2;
        CHECK(mtr_rank_scored(b, &l, scores, &r, &err) == 0); /* b sees a's exposure: 100 to the end */
        CHECK_ORDER(&r, 1, 2, 0);
        CHECK(r.reason[0] == MTR_REASON_DOWN && r.n_ranked == 3);
    }
    mtr_rank_context_free(a);
    mtr_rank_context_free(b);
    mtr_rules_free(rules);
    mtr_exposure_store_destroy(&store);
}

/* The in-process store against brute-force counting over an event log, with many deletions. */
TEST(rules_exposure_store_memory) {
    mtr_error err = {{0}};
    mtr_exposure_store s;
    CHECK(mtr_exposure_memory_init(&s, 4, &err) == 0);
    const uint64_t a[2] = {1, 2}, one[1] = {1}, q[3] = {1, 2, 3};
    uint32_t counts[3];
    CHECK(s.increment(s.state, a, 2, 1, &err) == 0);
    CHECK(s.increment(s.state, one, 1, 2, &err) == 0);
    CHECK(s.get(s.state, q, 3, counts, &err) == 0);
    CHECK(counts[0] == 2 && counts[1] == 1 && counts[2] == 0);
    CHECK(s.expire(s.state, 2, &err) == 0); /* forgets request 1 */
    CHECK(s.get(s.state, q, 3, counts, &err) == 0);
    CHECK(counts[0] == 1 && counts[1] == 0 && counts[2] == 0);
    CHECK(s.increment(s.state, q, 3, 3, &err) == 0); /* 4 held: full */
    CHECK(s.increment(s.state, one, 1, 3, &err) == -1);
    CHECK_CONTAINS(err.message, "exposure store: full (4 exposures held, capacity 4, 1 more)");
    CHECK(s.increment(s.state, one, 0, 2, &err) == -1);
    CHECK_CONTAINS(err.message, "request 2 comes after request 3");
    mtr_exposure_store_destroy(&s);
    CHECK(s.state == NULL && s.get == NULL);

    /* random traffic: 40 item ids, up to 6 exposures per request, window 7 */
    CHECK(mtr_exposure_memory_init(&s, 64, &err) == 0);
    enum { N_REQ = 3000, WINDOW = 7 };
    static uint64_t log_item[N_REQ * 6];
    static uint64_t log_req[N_REQ * 6];
    size_t n_log = 0;
    mtr_rng rng;
    mtr_rng_seed(&rng, 9);
    int bad = 0;
    for (uint64_t req = 1; req <= N_REQ; req++) {
        if (req > WINDOW) CHECK(s.expire(s.state, req - WINDOW, &err) == 0);
        uint64_t items[40];
        uint32_t got[40];
        for (int i = 0; i < 40; i++) items[i] = (uint64_t)i * 0x100000001ULL; /* wide ids */
        CHECK(s.get(s.state, items, 40, got, &err) == 0);
        for (int i = 0; i < 40; i++) {
            uint32_t want = 0;
            for (size_t e = 0; e < n_log; e++) want += log_item[e] == items[i] && log_req[e] + WINDOW >= req;
            bad += got[i] != want;
        }
        int k = (int)mtr_rng_below(&rng, 7);
        uint64_t shown[6];
        for (int j = 0; j < k && j < 6; j++) {
            shown[j] = items[mtr_rng_below(&rng, 40)];
            log_item[n_log] = shown[j];
            log_req[n_log++] = req;
        }
        CHECK(s.increment(s.state, shown, (size_t)(k < 6 ? k : 6), req, &err) == 0);
    }
    CHECK_EQ_INT(bad, 0);
    mtr_exposure_store_destroy(&s);
}

TEST(rules_config_errors_name_file_line_and_key) {
    struct {
        const char *text;
        const char *expect;
    } cases[] = {
        {"# rules\nrule boots max=1", "test.rules:2: unknown rule kind 'boots' (kinds: diversity, promote, new, "
                                      "low_quality, exposure_cap)"},
        {"rule promote factr=2", "test.rules:1: rule promote: unknown key 'factr' (keys: field, above, below, "
                                 "multiply, add, up, down, drop)"},
        {"rule diversity key=category max=two top=3",
         "test.rules:1: rule diversity: key 'max': expected an integer from 1 to 1000000000, got 'two'"},
        {"rule diversity key=category max=0 top=3", "key 'max': expected an integer from 1 to 1000000000, got '0'"},
        {"rule diversity key=category top=3", "test.rules:1: rule diversity: missing key 'max'"},
        {"\n\n\nrule promote",
         "test.rules:4: rule promote: no effect: give one of multiply=, add=, up=, down= or drop"},
        {"rule promote multiply=2 up=1", "rule promote: keys 'multiply' and 'up' both set the effect"},
        {"rule promote field=promo2 up=1", "test.rules:1: rule promote: key 'field': 'promo2' is not a candidate "
                                           "variable (variables: score, promo, age, low_quality)"},
        {"rule diversity key=colour max=1 top=2",
         "rule diversity: key 'key': 'colour' is not a key column (keys: category, brand)"},
        {"rule promote up=1 up=2", "rule promote: key 'up' given twice"},
        {"rule promote foo", "rule promote: expected key=value, got 'foo'"},
        {"rule low_quality drop=1", "rule low_quality: key 'drop' takes no value: write drop"},
        {"rule promote multiply=-1", "rule promote: key 'multiply': expected a number >= 0, got '-1'"},
        {"rule promote add=lots", "rule promote: key 'add': expected a number, got 'lots'"},
        {"rule promote up=", "rule promote: key 'up': empty value"},
        {"rul promote up=1", "test.rules:1: expected 'rule <kind> key=value ...', got 'rul'"},
        {"rule", "test.rules:1: expected a rule kind after 'rule'"},
        {"rule exposure_cap max=1 window=2 shown=1\nrule exposure_cap max=2 window=2 shown=1",
         "test.rules:2: rule exposure_cap: only one exposure_cap rule is allowed (the first is on line 1)"},
        {"rule exposure_cap max=1 shown=1", "rule exposure_cap: missing key 'window'"},
        {"rule new add=1", "test.rules:1: rule new: missing key 'below'"},
        {"rule new field=score below=1 above=0 add=1", "rule new: unknown key 'above'"},
        {"rule low_quality above=1 below=2 drop", "rule low_quality: keys 'above' and 'below' both given"},
        {"rule diversity key=category max=1 top=2 drop", "rule diversity: unknown key 'drop' (keys: key, max, top)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mtr_error err = {{0}};
        mtr_rules *rules = mtr_rules_parse(cases[k].text, "test.rules", &FIELDS, &err);
        CHECK_MSG(rules == NULL, "case %zu parsed", k);
        mtr_rules_free(rules);
        CHECK_CONTAINS(err.message, cases[k].expect);
    }
    /* a default field that the candidates do not have */
    const char *vars[] = {"score"};
    mtr_rank_fields few = {vars, 1, NULL, 0};
    mtr_error err = {{0}};
    CHECK(mtr_rules_parse("rule promote up=1", "r", &few, &err) == NULL);
    CHECK_CONTAINS(err.message,
                   "r:1: rule promote: no field= given and no variable is named 'promo' (variables: score)");
    /* more than 32 rules */
    char many[40 * 40] = "";
    for (int i = 0; i < 33; i++) strcat(many, "rule promote up=1\n");
    CHECK(mtr_rules_parse(many, "r", &FIELDS, &err) == NULL);
    CHECK_CONTAINS(err.message, "r:33: more than 32 rules");
}

TEST(rules_load_file) {
    const char *text = "# a comment line\n"
                       "rule diversity key=category max=2 top=10   # trailing comment\n"
                       "\n"
                       "rule promote field=promo multiply=1.5\r\n"
                       "rule new field=age below=7 up=3\n"
                       "rule low_quality drop\n"
                       "rule exposure_cap max=3 window=100 shown=10\n";
    const char *path = mtr_test_write_file("ok.rules", text, strlen(text));
    mtr_error err = {{0}};
    mtr_rules *rules = mtr_rules_load(path, &FIELDS, &err);
    CHECK_MSG(rules != NULL, "%s", err.message);
    if (rules) {
        CHECK_EQ_INT(mtr_rules_count(rules), 5);
        char buf[128];
        const char *canon[5] = {"rule diversity key=category max=2 top=10", "rule promote field=promo multiply=1.5",
                                "rule new field=age below=7 up=3", "rule low_quality field=low_quality drop",
                                "rule exposure_cap max=3 window=100 shown=10 drop"};
        for (int i = 0; i < 5; i++) {
            CHECK_MSG(strcmp(mtr_rules_describe(rules, i, buf, sizeof buf), canon[i]) == 0, "rule %d: '%s'", i, buf);
            /* the canonical form reads back to itself */
            mtr_rules *again = mtr_rules_parse(buf, "canon", &FIELDS, &err);
            char buf2[128];
            CHECK(again && strcmp(mtr_rules_describe(again, 0, buf2, sizeof buf2), buf) == 0);
            mtr_rules_free(again);
        }
        CHECK(strcmp(mtr_rules_kind(rules, 3), "low_quality") == 0);
        mtr_rules_free(rules);
    }
    const char *bad = "rule promote multiply=1.5\nrule diversity key=category max=2 top=x\n";
    path = mtr_test_write_file("bad.rules", bad, strlen(bad));
    CHECK(mtr_rules_load(path, &FIELDS, &err) == NULL);
    char expect[600];
    snprintf(expect, sizeof expect, "%s:2: rule diversity: key 'top': expected an integer", path);
    CHECK_CONTAINS(err.message, expect);
    CHECK(mtr_rules_load(mtr_test_path("missing.rules"), &FIELDS, &err) == NULL);
    CHECK_CONTAINS(err.message, "cannot open rules file");
}

TEST(rules_empty_and_too_long_lists) {
    setup s;
    if (make(&s, "rule diversity key=category max=1 top=3\nrule promote up=1\nrule exposure_cap max=1 window=3 "
                 "shown=2") != 0) {
        done(&s);
        return;
    }
    mtr_error err = {{0}};
    mtr_rank_result r = {0};
    mtr_rank_list l = {.n = 0};
    CHECK_MSG(mtr_rank(s.ctx, &l, &r, &err) == 0, "%s", err.message);
    CHECK(r.n == 0 && r.n_ranked == 0);
    float x[17 * 4] = {0};
    uint32_t keys[17 * 2] = {0};
    uint64_t ids[17] = {0};
    mtr_rank_list big = {.n = 17, .x = x, .stride = 4, .keys = keys, .key_stride = 2, .item_ids = ids};
    CHECK(mtr_rank(s.ctx, &big, &r, &err) == -1);
    CHECK_CONTAINS(err.message, "rank: 17 candidates, more than the 16 this context was created for");
    big.n = 16; /* the maximum itself is fine */
    CHECK_MSG(mtr_rank(s.ctx, &big, &r, &err) == 0, "%s", err.message);
    CHECK_EQ_INT(r.n, 16);
    /* missing inputs */
    big.keys = NULL;
    CHECK(mtr_rank(s.ctx, &big, &r, &err) == -1);
    CHECK_CONTAINS(err.message, "the diversity rules need a key matrix of 2 columns");
    big.keys = keys;
    big.item_ids = NULL;
    CHECK(mtr_rank(s.ctx, &big, &r, &err) == -1);
    CHECK_CONTAINS(err.message, "the exposure_cap rule on line 3 needs item ids");
    big.item_ids = ids;
    big.stride = 3;
    CHECK(mtr_rank(s.ctx, &big, &r, &err) == -1);
    CHECK_CONTAINS(err.message, "the candidate matrix needs 4 columns (stride 3)");
    done(&s);
}

TEST(rules_context_checks) {
    mtr_error err = {{0}};
    const char *other[] = {"score", "promo", "age", "quality"};
    mtr_fusion *f = mtr_fusion_compile("score", other, 4, NULL, 0, &err);
    mtr_rules *rules = mtr_rules_parse("rule promote up=1", "r", &FIELDS, &err);
    CHECK(f && rules);
    CHECK(mtr_rank_context_create(f, rules, 10, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "not the same columns in the same order");
    CHECK(mtr_rank_context_create(f, NULL, 0, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "max_candidates 0");
    mtr_rank_context *ctx = mtr_rank_context_create(NULL, rules, 4, NULL, &err);
    mtr_rank_list l = {.n = 0};
    mtr_rank_result r = {0};
    CHECK(mtr_rank(ctx, &l, &r, &err) == -1);
    CHECK_CONTAINS(err.message, "no fusion formula; use mtr_rank_scored");
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
    mtr_fusion_free(f);
}

/* Fusion and rules together, with a formula over several columns and a parameter. */
TEST(rules_with_fusion_formula) {
    mtr_error err = {{0}};
    const mtr_fusion_param params[] = {{"w", 0.1}};
    mtr_fusion *f = mtr_fusion_compile("score + w * age", VARS, 4, params, 1, &err);
    mtr_rules *rules = mtr_rules_parse("rule low_quality drop", "r", &FIELDS, &err);
    mtr_rank_context *ctx = mtr_rank_context_create(f, rules, 6, NULL, &err);
    CHECK_MSG(ctx != NULL, "%s", err.message);
    if (ctx) {
        mtr_rank_list l = small_list();
        mtr_rank_result r = {0};
        /* fused: 3.9 3.8 3.7 0.8 (drop 3.5) 0.5 */
        CHECK(mtr_rank(ctx, &l, &r, &err) == 0);
        CHECK_ORDER(&r, 0, 1, 2, 3, 5, 4);
        CHECK(r.fused[0] == mtr_fusion_eval_one(f, SMALL_X[0]));
        mtr_fusion_set_param(f, 0, -0.1); /* now age counts against: 0.6-0.2 = 0.4 ... */
        /* fused: -2.1 -2.2 -2.3 0.4 (drop) 0.3 */
        CHECK(mtr_rank(ctx, &l, &r, &err) == 0);
        CHECK_ORDER(&r, 3, 5, 0, 1, 2, 4);
    }
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
    mtr_fusion_free(f);
}

/* 1000 candidates with all five kinds: the result is a permutation, the diversity limit holds in the
 * top, dropped candidates are the low-quality and over-exposed ones, and the same request on a fresh
 * context gives the same answer. */
TEST(rules_all_kinds_large_list) {
    const char *vars[] = {"ctr", "cvr", "price", "promo", "age", "low_quality"};
    const char *keys[] = {"category", "brand", "shop"};
    mtr_rank_fields fields = {vars, 6, keys, 3};
    const char *text = "rule promote multiply=1.3\n"
                       "rule new below=7 add=0.01\n"
                       "rule low_quality drop\n"
                       "rule exposure_cap max=2 window=5 shown=20\n"
                       "rule diversity key=category max=2 top=20\n";
    mtr_error err = {{0}};
    mtr_fusion *f = mtr_fusion_compile("ctr * (1 + cvr) * price ^ 0.3", vars, 6, NULL, 0, &err);
    mtr_rules *rules = mtr_rules_parse(text, "big", &fields, &err);
    mtr_rank_context *ctx = f && rules ? mtr_rank_context_create(f, rules, 1000, NULL, &err) : NULL;
    mtr_rank_context *ctx2 = f && rules ? mtr_rank_context_create(f, rules, 1000, NULL, &err) : NULL;
    CHECK_MSG(ctx && ctx2, "%s", err.message);
    enum { N = 1000 };
    static float x[N * 6];
    static uint32_t k[N * 3];
    static uint64_t ids[N];
    mtr_rng rng;
    mtr_rng_seed(&rng, 21);
    for (int q = 0; ctx && ctx2 && q < 4; q++) {
        for (int i = 0; i < N; i++) {
            float *r = x + i * 6;
            r[0] = (float)mtr_rng_uniform(&rng) * 0.1f;
            r[1] = (float)mtr_rng_uniform(&rng) * 0.05f;
            r[2] = (float)exp(mtr_rng_normal(&rng) + 3.0);
            r[3] = mtr_rng_uniform(&rng) < 0.1;
            r[4] = (float)mtr_rng_below(&rng, 365);
            r[5] = mtr_rng_uniform(&rng) < 0.05;
            k[i * 3] = (uint32_t)mtr_rng_below(&rng, 12);
            k[i * 3 + 1] = (uint32_t)mtr_rng_below(&rng, 100);
            k[i * 3 + 2] = (uint32_t)mtr_rng_below(&rng, 50);
            ids[i] = mtr_rng_below(&rng, 3000);
        }
        mtr_rank_list l = {.n = N, .x = x, .stride = 6, .keys = k, .key_stride = 3, .item_ids = ids};
        mtr_rank_result r = {0};
        CHECK_MSG(mtr_rank(ctx, &l, &r, &err) == 0, "%s", err.message);
        static int seen[N];
        memset(seen, 0, sizeof seen);
        for (size_t p = 0; p < r.n; p++) seen[r.order[p]]++;
        int perm = 1;
        for (int i = 0; i < N; i++) perm &= seen[i] == 1;
        CHECK(perm);
        int cat_count[12] = {0};
        for (size_t p = 0; p < 20 && p < r.n_ranked; p++) cat_count[k[r.order[p] * 3]]++;
        for (int c = 0; c < 12; c++) CHECK(cat_count[c] <= 2);
        for (size_t p = r.n_ranked; p < r.n; p++) {
            uint32_t c = r.order[p];
            CHECK(r.reason[c] == MTR_REASON_DROP && (r.rule[c] == 2 || r.rule[c] == 3));
            if (r.rule[c] == 2) CHECK(x[c * 6 + 5] != 0);
        }
        for (size_t p = 0; p < r.n_ranked; p++) CHECK(x[r.order[p] * 6 + 5] == 0);
        /* below the diversity-shaped top the list is sorted by adjusted score */
        for (size_t p = 21; p < r.n_ranked; p++) {
            uint32_t a = r.order[p - 1], b = r.order[p];
            if (r.reason[a] != MTR_REASON_DIVERSITY && r.reason[b] != MTR_REASON_DIVERSITY)
                CHECK(r.adjusted[a] >= r.adjusted[b]);
        }
        /* a fresh context gives the same order on the first request */
        if (q == 0) {
            size_t n_ranked = r.n_ranked;
            static uint32_t first[N];
            memcpy(first, r.order, sizeof first);
            mtr_rank_result r2 = {0};
            CHECK(mtr_rank(ctx2, &l, &r2, &err) == 0);
            CHECK(r2.n_ranked == n_ranked && memcmp(r2.order, first, sizeof first) == 0);
        }
    }
    mtr_rank_context_free(ctx);
    mtr_rank_context_free(ctx2);
    mtr_rules_free(rules);
    mtr_fusion_free(f);
}


/* Reference order: adjusted score descending (NaN last, -0 = +0), then fused, then index. */
static const float *ref_adj, *ref_fused;
static int ref_less(uint32_t a, uint32_t b) {
    float xa = ref_adj[a], xb = ref_adj[b];
    if (isnan(xa) != isnan(xb)) return isnan(xb);
    if (!isnan(xa) && xa != xb) return xa > xb;
    float fa = ref_fused[a], fb = ref_fused[b];
    if (isnan(fa) != isnan(fb)) return isnan(fb);
    if (!isnan(fa) && fa != fb) return fa > fb;
    return a < b;
}

/* The merge of untouched and re-scored candidates equals a full sort, on lists with many ties, NaNs and
 * signed zeros, after several score rules (and a drop between them). */
TEST(rules_resort_equals_full_sort) {
    const char *text = "rule promote multiply=2\nrule low_quality drop\nrule new below=100 add=-0.5\n"
                       "rule promote field=score above=0.5 multiply=0\n";
    mtr_error err = {{0}};
    mtr_rules *rules = mtr_rules_parse(text, "t", &FIELDS, &err);
    mtr_rank_context *ctx = rules ? mtr_rank_context_create(NULL, rules, 500, NULL, &err) : NULL;
    CHECK_MSG(ctx != NULL, "%s", err.message);
    if (!ctx) return;
    mtr_rng rng;
    mtr_rng_seed(&rng, 4);
    static float x[500 * 4], scores[500];
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + mtr_rng_below(&rng, 500);
        for (size_t i = 0; i < n; i++) {
            float v = (float)((int)mtr_rng_below(&rng, 9) - 4) * 0.25f; /* many ties */
            if (mtr_rng_below(&rng, 50) == 0) v = NAN;
            if (v == 0.0f && mtr_rng_below(&rng, 2)) v = -0.0f;
            scores[i] = v;
            x[i * 4] = v;
            x[i * 4 + 1] = mtr_rng_below(&rng, 3) == 0;
            x[i * 4 + 2] = (float)mtr_rng_below(&rng, 200);
            x[i * 4 + 3] = mtr_rng_below(&rng, 10) == 0;
        }
        mtr_rank_list l = {.n = n, .x = x, .stride = 4};
        mtr_rank_result r = {0};
        if (mtr_rank_scored(ctx, &l, scores, &r, &err) != 0) {
            CHECK_MSG(0, "%s", err.message);
            break;
        }
        ref_adj = r.adjusted;
        ref_fused = r.fused;
        int bad = 0;
        for (size_t p = 1; p < r.n_ranked; p++) bad += !ref_less(r.order[p - 1], r.order[p]);
        CHECK_MSG(bad == 0, "round %d: %d pairs out of order", round, bad);
        for (size_t p = 0; p < r.n_ranked; p++) CHECK(x[r.order[p] * 4 + 3] == 0);
    }
    mtr_rank_context_free(ctx);
    mtr_rules_free(rules);
}

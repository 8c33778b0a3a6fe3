/* test_rank_request.c - mtr_rank_request end to end on a tiny model: the variables are the model's
 * predictions (as mtr_predict gives them) and the item fields; without rules the order is the fused scores
 * sorted; a promote rule moves the expected candidate with its reason; a batch of lists equals the lists
 * ranked one by one; diversity keys come from the rows' categorical ids (unknown values are no key);
 * variable naming for named models; and every setup and request error with its message.
 *
 * The data (12 candidates, two requests of 6; price is aux, so it can come from the rows):
 *   req,user,category,price,promo,click,stay */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"
#include "rank/rank_request.h"
#include "test.h"

static const char SPEC[] = "[input]\nheader = yes\ndelimiter = \",\"\nmissing = \"?\"\n"
                           "[features]\nreq = aux\nprice = aux\nuser = categorical\ncategory = categorical\n"
                           "promo = numeric norm=none\n"
                           "[task click]\ncolumn = click\ntype = binary\npositive = 1\nnegative = 0\n"
                           "[task stay]\ncolumn = stay\ntype = regression\n";

static const char DATA[] = "req,user,category,price,promo,click,stay\n"
                           "0,u1,c1,10,0,1,3.5\n0,u1,c2,25,1,0,0\n0,u1,c1,5,0,0,0\n0,u1,c3,40,0,1,8\n"
                           "0,u1,?,12,1,0,0\n0,u1,c2,7,0,0,0\n"
                           "1,u2,c4,30,0,0,0\n1,u2,c4,15,1,1,2\n1,u2,c1,8,0,0,0\n1,u2,c3,60,0,1,20\n"
                           "1,u2,c2,22,0,0,0\n1,u2,c9,3,1,0,0\n";

typedef struct fixture {
    mtr_spec *spec;
    mtr_schema *schema;
    mtr_dataset *ds;
    mtr_model *model;
} fixture;

static int setup(fixture *f) {
    mtr_error err = {{0}};
    memset(f, 0, sizeof *f);
    const char *path = mtr_test_write_file("rank_request.csv", DATA, strlen(DATA));
    /* fit on the first 9 rows only, so that c9 (row 12) is out of vocabulary when ranking */
    const char *fit = mtr_test_write_file("rank_request_fit.csv", DATA, (size_t)(strstr(DATA, "1,u2,c3") - DATA));
    f->spec = mtr_spec_parse(SPEC, "<test>", &err);
    f->schema = f->spec ? mtr_schema_fit(f->spec, fit, &err) : NULL;
    f->ds = f->schema ? mtr_dataset_read_text(f->schema, path, 0, &err) : NULL;
    mtr_model_config mc;
    mtr_model_config_default(&mc);
    f->model = f->ds ? mtr_model_create(f->schema, &mc, 7, &err) : NULL;
    CHECK_MSG(f->model != NULL, "setup: %s", err.message);
    return f->model ? 0 : -1;
}

static void teardown(fixture *f) {
    mtr_model_free(f->model);
    mtr_dataset_free(f->ds);
    mtr_schema_free(f->schema);
    mtr_spec_free(f->spec);
}

TEST(rank_request_without_rules_sorts_fused_scores) {
    fixture f;
    if (setup(&f) != 0) return;
    mtr_error err = {{0}};
    const char *fields[] = {"price"};
    mtr_ranker_model rm = {f.model, NULL};
    mtr_ranker_config cfg = {&rm, 1, fields, 1, NULL, 0, 16, 0, NULL};
    mtr_ranker *r = mtr_ranker_create(&cfg, &err);
    CHECK_MSG(r != NULL, "%s", err.message);
    if (!r) return teardown(&f);
    const mtr_rank_fields *fl = mtr_ranker_fields(r);
    CHECK_EQ_INT(fl->n_vars, 3);
    CHECK(strcmp(fl->vars[0], "click") == 0 && strcmp(fl->vars[1], "stay") == 0 && strcmp(fl->vars[2], "price") == 0);
    mtr_fusion *fu = mtr_fusion_compile("click * price + 0.1 * stay", fl->vars, fl->n_vars, NULL, 0, &err);
    CHECK(fu != NULL && mtr_ranker_set_ranking(r, fu, NULL, &err) == 0);

    float pred[12 * 2];
    mtr_view all = mtr_view_all(f.ds);
    CHECK(mtr_predict(f.model, &all, pred, 1, &err) == 0);
    uint32_t rows[6] = {6, 7, 8, 9, 10, 11}; /* the second request, as a view */
    mtr_request req;
    memset(&req, 0, sizeof req);
    req.rows = (mtr_view){f.ds, rows, 6};
    mtr_request_result res;
    CHECK_MSG(mtr_rank_request(r, &req, &res, &err) == 0, "%s", err.message);
    CHECK_EQ_INT(res.n, 6);
    CHECK_EQ_INT(res.n_lists, 1);
    CHECK_EQ_INT(res.n_ranked[0], 6);
    CHECK_EQ_INT(res.n_vars, 3);
    static const float price[6] = {30, 15, 8, 60, 22, 3};
    for (int i = 0; i < 6; i++) {
        const float *x = res.x + i * 3;
        CHECK_NEAR(x[0], pred[rows[i] * 2], 1e-6 * fabs(pred[rows[i] * 2]) + 1e-7);
        CHECK_NEAR(x[1], pred[rows[i] * 2 + 1], 1e-5 * fabs(pred[rows[i] * 2 + 1]) + 1e-6);
        CHECK(x[2] == price[i]); /* raw, from the aux column */
        CHECK(res.fused[i] == mtr_fusion_eval_one(fu, x));
        CHECK(res.adjusted[i] == res.fused[i]);
        CHECK_EQ_INT(res.rule[i], -1);
        CHECK_EQ_INT(res.reason[i], MTR_REASON_NONE);
        CHECK_EQ_INT(res.rules_mask[i], 0);
    }
    for (int p = 0; p < 6; p++) {
        uint32_t c = res.order[p];
        CHECK_EQ_INT(res.position[c], p);
        CHECK_EQ_INT(res.fused_position[c], p);
        if (p > 0) {
            uint32_t b = res.order[p - 1];
            CHECK(res.fused[b] > res.fused[c] || (res.fused[b] == res.fused[c] && b < c));
        }
    }
    CHECK(res.model_seconds >= 0 && res.rank_seconds >= 0);
    mtr_ranker_free(r);
    mtr_fusion_free(fu);
    teardown(&f);
}

/* Rank the first request with "click * price" and, when rules_text is given, those rules; promo from the
 * caller's field matrix. */
static int rank_first(fixture *f, const char *rules_text, const float *promo, mtr_request_result *res,
                      mtr_ranker **keep, mtr_fusion **fu, mtr_rules **ru) {
    mtr_error err = {{0}};
    const char *fields[] = {"price", "promo"};
    mtr_ranker_model rm = {f->model, NULL};
    mtr_ranker_config cfg = {&rm, 1, fields, 2, NULL, 0, 8, 0, NULL};
    mtr_ranker *r = mtr_ranker_create(&cfg, &err);
    const mtr_rank_fields *fl = r ? mtr_ranker_fields(r) : NULL;
    *fu = fl ? mtr_fusion_compile("click * price", fl->vars, fl->n_vars, NULL, 0, &err) : NULL;
    *ru = *fu && rules_text ? mtr_rules_parse(rules_text, "test.rules", fl, &err) : NULL;
    static float x[6 * 2];
    static const float price[6] = {10, 25, 5, 40, 12, 7};
    for (int i = 0; i < 6; i++) x[i * 2] = price[i], x[i * 2 + 1] = promo[i];
    mtr_request req;
    memset(&req, 0, sizeof req);
    req.rows = (mtr_view){f->ds, NULL, 6};
    req.fields = x;
    req.field_stride = 2;
    int ok = *fu && (!rules_text || *ru) && mtr_ranker_set_ranking(r, *fu, *ru, &err) == 0 &&
             mtr_rank_request(r, &req, res, &err) == 0;
    CHECK_MSG(ok, "rank_first: %s", err.message);
    *keep = r;
    return ok ? 0 : -1;
}

TEST(rank_request_promote_rule_moves_the_expected_item) {
    fixture f;
    if (setup(&f) != 0) return;
    static const float none[6] = {0, 0, 0, 0, 0, 0};
    mtr_request_result base, moved;
    mtr_ranker *r0 = NULL, *r1 = NULL;
    mtr_fusion *f0 = NULL, *f1 = NULL;
    mtr_rules *u0 = NULL, *u1 = NULL;
    if (rank_first(&f, NULL, none, &base, &r0, &f0, &u0) == 0) {
        uint32_t fused_order[6];
        memcpy(fused_order, base.order, sizeof fused_order);
        /* promote the candidate at fused position 3: "up=2" puts it at position 1 */
        uint32_t c = fused_order[3];
        float promo[6] = {0, 0, 0, 0, 0, 0};
        promo[c] = 1;
        if (rank_first(&f, "rule promote field=promo up=2\n", promo, &moved, &r1, &f1, &u1) == 0) {
            CHECK_EQ_INT(moved.position[c], 1);
            CHECK_EQ_INT(moved.fused_position[c], 3);
            CHECK_EQ_INT(moved.rule[c], 0);
            CHECK_EQ_INT(moved.reason[c], MTR_REASON_UP);
            CHECK(strcmp(mtr_rank_reason_name((mtr_rank_reason)moved.reason[c]), "up") == 0);
            CHECK_EQ_INT(moved.rules_mask[c], 1);
            static const int expect[6] = {0, 2, 3, 1, 4, 5}; /* final position by fused position */
            for (int p = 0; p < 6; p++) {
                uint32_t d = fused_order[p];
                CHECK_EQ_INT(moved.position[d], expect[p]);
                CHECK_EQ_INT(moved.order[expect[p]], d);
                if (d != c) {
                    CHECK_EQ_INT(moved.reason[d], MTR_REASON_NONE);
                    CHECK_EQ_INT(moved.rule[d], -1);
                }
                CHECK(moved.fused[d] == base.fused[d]);
            }
            char desc[128];
            mtr_rules_describe(u1, 0, desc, sizeof desc);
            CHECK(strcmp(desc, "rule promote field=promo up=2") == 0);
        }
    }
    mtr_ranker_free(r0);
    mtr_ranker_free(r1);
    mtr_fusion_free(f0);
    mtr_fusion_free(f1);
    mtr_rules_free(u0);
    mtr_rules_free(u1);
    teardown(&f);
}

TEST(rank_request_batch_equals_lists_one_by_one) {
    fixture f;
    if (setup(&f) != 0) return;
    mtr_error err = {{0}};
    const char *fields[] = {"price"};
    mtr_ranker_model rm = {f.model, NULL};
    mtr_ranker_config cfg = {&rm, 1, fields, 1, NULL, 0, 12, 0, NULL};
    mtr_ranker *batch = mtr_ranker_create(&cfg, &err), *single = mtr_ranker_create(&cfg, &err);
    const mtr_rank_fields *fl = batch ? mtr_ranker_fields(batch) : NULL;
    mtr_fusion *fu = fl ? mtr_fusion_compile("stay + click * price", fl->vars, fl->n_vars, NULL, 0, &err) : NULL;
    CHECK_MSG(fu && single && mtr_ranker_set_ranking(batch, fu, NULL, &err) == 0 &&
                  mtr_ranker_set_ranking(single, fu, NULL, &err) == 0, "%s", err.message);
    if (fu && single) {
        size_t starts[3] = {0, 6, 12};
        mtr_request req;
        memset(&req, 0, sizeof req);
        req.rows = mtr_view_all(f.ds);
        req.n_lists = 2;
        req.list_start = starts;
        mtr_request_result all;
        CHECK_MSG(mtr_rank_request(batch, &req, &all, &err) == 0, "%s", err.message);
        CHECK_EQ_INT(all.n_lists, 2);
        for (int g = 0; g < 2; g++) {
            uint32_t rows[6];
            for (int i = 0; i < 6; i++) rows[i] = (uint32_t)(6 * g + i);
            mtr_request one;
            memset(&one, 0, sizeof one);
            one.rows = (mtr_view){f.ds, rows, 6};
            mtr_request_result res;
            CHECK_MSG(mtr_rank_request(single, &one, &res, &err) == 0, "%s", err.message);
            CHECK_EQ_INT(all.n_ranked[g], res.n_ranked[0]);
            for (int i = 0; i < 6; i++) {
                CHECK_NEAR(all.fused[6 * g + i], res.fused[i], 1e-5 * fabs(res.fused[i]) + 1e-6);
                CHECK_EQ_INT(all.position[6 * g + i], res.position[i]);
                CHECK_EQ_INT(all.order[6 * g + i], 6 * g + (int)res.order[i]); /* view positions of the batch */
            }
        }
    }
    mtr_ranker_free(batch);
    mtr_ranker_free(single);
    mtr_fusion_free(fu);
    teardown(&f);
}

TEST(rank_request_keys_from_rows_and_diversity) {
    fixture f;
    if (setup(&f) != 0) return;
    mtr_error err = {{0}};
    const char *keys[] = {"category"};
    mtr_ranker_model rm = {f.model, NULL};
    mtr_ranker_config cfg = {&rm, 1, NULL, 0, keys, 1, 12, 0, NULL};
    mtr_ranker *r = mtr_ranker_create(&cfg, &err);
    const mtr_rank_fields *fl = r ? mtr_ranker_fields(r) : NULL;
    mtr_fusion *fu = fl ? mtr_fusion_compile("click", fl->vars, fl->n_vars, NULL, 0, &err) : NULL;
    mtr_rules *ru = fu ? mtr_rules_parse("rule diversity key=category max=1 top=4\n", "test.rules", fl, &err) : NULL;
    CHECK_MSG(ru && mtr_ranker_set_ranking(r, fu, ru, &err) == 0, "%s", err.message);
    if (ru) {
        size_t starts[3] = {0, 6, 12};
        mtr_request req;
        memset(&req, 0, sizeof req);
        req.rows = mtr_view_all(f.ds);
        req.n_lists = 2;
        req.list_start = starts;
        mtr_request_result res;
        CHECK_MSG(mtr_rank_request(r, &req, &res, &err) == 0, "%s", err.message);
        /* row 4 has a missing category, row 11 one unseen in training: no key; the others distinct ids */
        CHECK(r->keys[4] == MTR_RANK_NO_KEY);
        CHECK(r->keys[11] == MTR_RANK_NO_KEY);
        CHECK(r->keys[0] == r->keys[2] && r->keys[1] == r->keys[5] && r->keys[0] != r->keys[1]);
        CHECK(r->keys[6] == r->keys[7] && r->keys[3] == r->keys[9] && r->keys[0] != MTR_RANK_NO_KEY);
        for (int g = 0; g < 2; g++) /* at most one per known category in each list's top 4 */
            for (int p = 0; p < 4; p++)
                for (int q = 0; q < p; q++) {
                    uint32_t a = r->keys[res.order[6 * g + p]], b = r->keys[res.order[6 * g + q]];
                    CHECK(a == MTR_RANK_NO_KEY || a != b);
                }
    }
    mtr_rules_free(ru);
    mtr_fusion_free(fu);
    mtr_ranker_free(r);
    teardown(&f);
}

TEST(rank_request_variable_names_of_named_models) {
    fixture f;
    if (setup(&f) != 0) return;
    mtr_error err = {{0}};
    mtr_model_config mc;
    mtr_model_config_default(&mc);
    mc.kind = MTR_MODEL_SINGLE_TASK;
    mc.task_mask = 1u; /* click only */
    mtr_model *ctr = mtr_model_create(f.schema, &mc, 3, &err);
    mtr_ranker_model rm[2] = {{f.model, "m"}, {ctr, "ctr"}};
    mtr_ranker_config cfg = {rm, 2, NULL, 0, NULL, 0, 4, 0, NULL};
    mtr_ranker *r = ctr ? mtr_ranker_create(&cfg, &err) : NULL;
    CHECK_MSG(r != NULL, "%s", err.message);
    if (r) {
        const mtr_rank_fields *fl = mtr_ranker_fields(r);
        CHECK_EQ_INT(fl->n_vars, 3);
        CHECK(strcmp(fl->vars[0], "m_click") == 0);
        CHECK(strcmp(fl->vars[1], "m_stay") == 0);
        CHECK(strcmp(fl->vars[2], "ctr") == 0);
    }
    mtr_ranker_free(r);
    mtr_model_free(ctr);
    teardown(&f);
}

TEST(rank_request_errors_say_what_is_wrong) {
    fixture f;
    if (setup(&f) != 0) return;
    mtr_error err = {{0}};
    mtr_ranker_model rm = {f.model, NULL};
    mtr_ranker_model twice[2] = {{f.model, NULL}, {f.model, NULL}};
    const char *bad_key[] = {"price"}, *fields[] = {"price", "promo"};

    mtr_ranker_config c0 = {&rm, 0, NULL, 0, NULL, 0, 8, 0, NULL};
    CHECK(mtr_ranker_create(&c0, &err) == NULL);
    CHECK_CONTAINS(err.message, "1 to 16 models are needed, got 0");
    mtr_ranker_config c1 = {&rm, 1, NULL, 0, bad_key, 1, 8, 0, NULL};
    CHECK(mtr_ranker_create(&c1, &err) == NULL);
    CHECK_CONTAINS(err.message, "key 'price' is not a categorical field");
    mtr_ranker_config c2 = {twice, 2, NULL, 0, NULL, 0, 8, 0, NULL};
    CHECK(mtr_ranker_create(&c2, &err) == NULL);
    CHECK_CONTAINS(err.message, "two variables are named 'click'");
    mtr_ranker_config c3 = {&rm, 1, NULL, 0, NULL, 0, 0, 0, NULL};
    CHECK(mtr_ranker_create(&c3, &err) == NULL);
    CHECK_CONTAINS(err.message, "max_candidates 0");

    /* a model of another schema */
    mtr_spec *spec2 = mtr_spec_parse(SPEC, "<test>", &err);
    const char *p2 = mtr_test_write_file("rank_request_other.csv", DATA, strlen(DATA));
    mtr_schema *s2 = spec2 ? mtr_schema_fit(spec2, p2, &err) : NULL; /* all rows: c9 in the vocabulary */
    mtr_model_config mc;
    mtr_model_config_default(&mc);
    mtr_model *other = s2 ? mtr_model_create(s2, &mc, 1, &err) : NULL;
    mtr_ranker_model mixed[2] = {{f.model, "a"}, {other, "b"}};
    mtr_ranker_config c4 = {mixed, 2, NULL, 0, NULL, 0, 8, 0, NULL};
    CHECK(other && mtr_ranker_create(&c4, &err) == NULL);
    CHECK_CONTAINS(err.message, "different schemas");

    mtr_ranker_config cfg = {&rm, 1, fields, 2, NULL, 0, 4, 0, NULL};
    mtr_ranker *r = mtr_ranker_create(&cfg, &err);
    CHECK_MSG(r != NULL, "%s", err.message);
    if (r) {
        mtr_request req;
        memset(&req, 0, sizeof req);
        req.rows = (mtr_view){f.ds, NULL, 3};
        mtr_request_result res;
        CHECK(mtr_rank_request(r, &req, &res, &err) != 0);
        CHECK_CONTAINS(err.message, "no formula and rules set");
        /* no formula with two model outputs */
        CHECK(mtr_ranker_set_ranking(r, NULL, NULL, &err) != 0);
        CHECK_CONTAINS(err.message, "the models give 2 scores");
        /* a formula bound to other variables */
        const char *vars[] = {"click", "stay"};
        mtr_fusion *wrong = mtr_fusion_compile("click", vars, 2, NULL, 0, &err);
        CHECK(wrong && mtr_ranker_set_ranking(r, wrong, NULL, &err) != 0);
        CHECK_CONTAINS(err.message, "compiled with other variables");
        const mtr_rank_fields *fl = mtr_ranker_fields(r);
        mtr_fusion *fu = mtr_fusion_compile("click * price", fl->vars, fl->n_vars, NULL, 0, &err);
        CHECK(fu && mtr_ranker_set_ranking(r, fu, NULL, &err) == 0);
        /* promo is numeric, not aux: it must come with the request */
        CHECK(mtr_rank_request(r, &req, &res, &err) != 0);
        CHECK_CONTAINS(err.message, "field 'promo' is not an aux column");
        float x[12 * 2] = {0};
        req.fields = x;
        req.field_stride = 2;
        req.rows.count = 5;
        CHECK(mtr_rank_request(r, &req, &res, &err) != 0);
        CHECK_CONTAINS(err.message, "5 candidates, more than the 4");
        req.rows.count = 4;
        size_t bad_starts[3] = {0, 2, 3};
        req.n_lists = 2;
        req.list_start = bad_starts;
        CHECK(mtr_rank_request(r, &req, &res, &err) != 0);
        CHECK_CONTAINS(err.message, "list_start must run from 0 to the 4 rows");
        req.n_lists = 0;
        req.list_start = NULL;
        CHECK_MSG(mtr_rank_request(r, &req, &res, &err) == 0, "%s", err.message);
        CHECK_EQ_INT(res.n_ranked[0], 4);
        /* rows of another schema */
        mtr_dataset *ds2 = s2 ? mtr_dataset_read_text(s2, p2, 0, &err) : NULL;
        req.rows = (mtr_view){ds2, NULL, 3};
        CHECK(ds2 && mtr_rank_request(r, &req, &res, &err) != 0);
        CHECK_CONTAINS(err.message, "compiled with another schema");
        mtr_dataset_free(ds2);
        mtr_fusion_free(wrong);
        mtr_fusion_free(fu);
    }
    mtr_ranker_free(r);
    mtr_model_free(other);
    mtr_schema_free(s2);
    mtr_spec_free(spec2);
    teardown(&f);
}

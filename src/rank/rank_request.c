/* rank_request.c - one ranking stage end to end (include/mtrank.h, "ranking requests"): gather a request's
 * rows once, run every model's nets on them, lay the outputs and the item fields out as the variable
 * matrix, then fuse and apply the rules list by list with one mtr_rank_context. rank_request.h describes
 * the ranker; every buffer is sized at creation, so a request allocates nothing. The forward pass is the
 * one mtr_predict runs (same nets, same sigmoid), so scores equal mtr_predict's bit for bit. */
#include "rank/rank_request.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "models/model.h"
#include "rank/fusion.h"
#include "rank/rules.h"
#include "util/error.h"
#include "util/clock.h"

#define MAX_CANDIDATES ((size_t)1 << 24) /* int batch sizes, and exact float positions */
#define IDS_PER_MULTI 16                 /* default id budget of a multi-valued field */

/* ---------------------------------------------------------------- creation */

static int add_var(mtr_ranker *r, const char *name, int model, int task, mtr_error *err) {
    if (r->n_vars == MTR_RANKER_MAX_VARS)
        return mtr_fail(err, "ranker: more than %d variables", MTR_RANKER_MAX_VARS);
    if (!name[0] || strlen(name) >= MTR_MAX_NAME)
        return mtr_fail(err, "ranker: variable name '%s' is empty or longer than %d bytes", name, MTR_MAX_NAME - 1);
    for (int i = 0; i < r->n_vars; i++)
        if (strcmp(r->var_names[i], name) == 0)
            return mtr_fail(err, "ranker: two variables are named '%s'%s", name,
                            model >= 0 ? " (name the models: {model, \"name\"})" : "");
    ranker_var *v = &r->var[r->n_vars];
    v->model = model;
    v->task = task;
    snprintf(r->var_names[r->n_vars], MTR_MAX_NAME, "%s", name);
    r->var_ptrs[r->n_vars] = r->var_names[r->n_vars];
    r->n_vars++;
    return 0;
}

/* The variables of model mi: its predicted tasks, named as include/mtrank.h says. */
static int add_model_vars(mtr_ranker *r, int mi, const char *name, mtr_error *err) {
    const mtr_model *m = r->models[mi].model;
    const mtr_schema *s = mtr_model_schema(m);
    int T = mtr_schema_task_count(s), predicted = 0;
    for (int t = 0; t < T; t++) predicted += mtr_model_has_task(m, t);
    for (int t = 0; t < T; t++) {
        if (!mtr_model_has_task(m, t)) continue;
        char buf[3 * MTR_MAX_NAME];
        const char *task = mtr_schema_task_name(s, t);
        if (!name || !name[0]) snprintf(buf, sizeof buf, "%s", task);
        else if (predicted == 1) snprintf(buf, sizeof buf, "%s", name);
        else snprintf(buf, sizeof buf, "%s_%s", name, task);
        if (add_var(r, buf, mi, t, err) != 0) return -1;
    }
    return 0;
}

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static int alloc_buffers(mtr_ranker *r, mtr_error *err) {
    size_t n = r->max_n;
    r->x = malloc(align16(n * (size_t)(r->n_vars ? r->n_vars : 1)) * sizeof *r->x);
    r->keys = malloc((n * (size_t)(r->n_keys ? r->n_keys : 1)) * sizeof *r->keys);
    r->score = malloc(n * sizeof *r->score);
    r->order = malloc(n * sizeof *r->order);
    r->position = malloc(n * sizeof *r->position);
    r->fused_position = malloc(n * sizeof *r->fused_position);
    r->rules_mask = malloc(n * sizeof *r->rules_mask);
    r->fused = malloc(n * sizeof *r->fused);
    r->adjusted = malloc(n * sizeof *r->adjusted);
    r->rule = malloc(n * sizeof *r->rule);
    r->reason = malloc(n * sizeof *r->reason);
    r->n_ranked = malloc((n + 1) * sizeof *r->n_ranked);
    if (!r->x || !r->keys || !r->score || !r->order || !r->position || !r->fused_position || !r->rules_mask ||
        !r->fused || !r->adjusted || !r->rule || !r->reason || !r->n_ranked)
        return mtr_fail(err, "ranker: out of memory for %zu candidates", n);
    /* the batch is sized from the schema's row shape: a dataset-like description of it */
    mtr_dataset shape;
    memset(&shape, 0, sizeof shape);
    shape.n_cat = r->n_cat;
    shape.n_num = r->n_num;
    shape.n_tasks = r->n_tasks;
    shape.n_aux = r->n_aux;
    shape.max_row_ids = r->max_ids_per_row;
    if (mtr_batch_init(&r->batch, &shape, (int)n, err) != 0) return mtr_fail_prefix(err, "ranker");
    for (int mi = 0; mi < r->n_models; mi++) {
        const mtr_model *m = r->models[mi].model;
        for (int k = 0; k < m->n_nets; k++) {
            if (mtr_net_buffers_init(&r->nb[mi][k], &m->nets[k], m->n_tasks, (int)n, r->max_ids_per_row, 0) != 0)
                return mtr_fail(err, "ranker: out of memory for the inference buffers of model %d (%zu rows)", mi, n);
            r->nb[mi][k].proj.frozen = 1; /* weights never change under a ranker */
        }
    }
    return 0;
}

mtr_ranker *mtr_ranker_create(const mtr_ranker_config *cfg, mtr_error *err) {
    if (!cfg || cfg->n_models < 1 || cfg->n_models > MTR_RANKER_MAX_MODELS || !cfg->models) {
        mtr_fail(err, "ranker: 1 to %d models are needed, got %d", MTR_RANKER_MAX_MODELS, cfg ? cfg->n_models : 0);
        return NULL;
    }
    if (cfg->max_candidates < 1 || cfg->max_candidates > MAX_CANDIDATES) {
        mtr_fail(err, "ranker: max_candidates %zu, need 1 to %zu", cfg->max_candidates, MAX_CANDIDATES);
        return NULL;
    }
    if (cfg->n_fields < 0 || (cfg->n_fields > 0 && !cfg->fields) || cfg->n_keys < 0 ||
        cfg->n_keys > MTR_RANKER_MAX_KEYS || (cfg->n_keys > 0 && !cfg->keys)) {
        mtr_fail(err, "ranker: %d fields and %d keys (at most %d keys), or their names missing", cfg->n_fields,
                 cfg->n_keys, MTR_RANKER_MAX_KEYS);
        return NULL;
    }
    mtr_ranker *r = calloc(1, sizeof *r);
    if (!r) {
        mtr_fail(err, "ranker: out of memory");
        return NULL;
    }
    r->n_models = cfg->n_models;
    r->max_n = cfg->max_candidates;
    r->store = cfg->store;
    for (int mi = 0; mi < cfg->n_models; mi++) {
        if (!cfg->models[mi].model) {
            mtr_fail(err, "ranker: model %d is NULL", mi);
            goto fail;
        }
        r->models[mi].model = cfg->models[mi].model;
    }
    r->schema = mtr_model_schema(r->models[0].model);
    uint64_t fp = mtr_schema_fingerprint(r->schema);
    for (int mi = 1; mi < r->n_models; mi++)
        if (mtr_schema_fingerprint(mtr_model_schema(r->models[mi].model)) != fp) {
            mtr_fail(err, "ranker: models %d and 0 have different schemas (another spec or training file): one "
                     "request's rows cannot feed both", mi);
            goto fail;
        }
    for (int mi = 0; mi < r->n_models; mi++)
        if (add_model_vars(r, mi, cfg->models[mi].name, err) != 0) goto fail;
    int n_aux = mtr_schema_aux_count(r->schema);
    for (int f = 0; f < cfg->n_fields; f++) {
        if (!cfg->fields[f]) {
            mtr_fail(err, "ranker: field %d has no name", f);
            goto fail;
        }
        r->field_aux[f] = -1;
        for (int a = 0; a < n_aux; a++)
            if (strcmp(mtr_schema_aux_name(r->schema, a), cfg->fields[f]) == 0) r->field_aux[f] = a;
        if (add_var(r, cfg->fields[f], -1, f, err) != 0) goto fail;
    }
    r->n_fields = cfg->n_fields;
    r->n_cat = mtr_schema_categorical_count(r->schema);
    r->n_num = mtr_schema_numeric_count(r->schema);
    r->n_tasks = mtr_schema_task_count(r->schema);
    r->n_aux = n_aux;
    for (int k = 0; k < cfg->n_keys; k++) {
        const char *name = cfg->keys[k] ? cfg->keys[k] : "";
        int found = -1;
        for (int f = 0; f < r->n_cat; f++)
            if (strcmp(mtr_schema_categorical_name(r->schema, f), name) == 0) found = f;
        if (found < 0 || mtr_schema_field_multi(r->schema, found)) {
            mtr_fail(err, "ranker: key '%s' is not a %scategorical field of the models' schema", name,
                     found < 0 ? "" : "single-valued ");
            goto fail;
        }
        r->key_field[k] = found;
        snprintf(r->key_names[k], MTR_MAX_NAME, "%s", name);
        r->key_ptrs[k] = r->key_names[k];
    }
    r->n_keys = cfg->n_keys;
    r->fields.vars = r->var_ptrs;
    r->fields.n_vars = r->n_vars;
    r->fields.keys = r->key_ptrs;
    r->fields.n_keys = r->n_keys;
    if (cfg->max_ids_per_row) {
        r->max_ids_per_row = cfg->max_ids_per_row;
    } else {
        uint32_t ids = 0;
        for (int f = 0; f < r->n_cat; f++) ids += mtr_schema_field_multi(r->schema, f) ? IDS_PER_MULTI : 1;
        r->max_ids_per_row = ids;
    }
    if (alloc_buffers(r, err) != 0) goto fail;
    return r;
fail:
    mtr_ranker_free(r);
    return NULL;
}

void mtr_ranker_free(mtr_ranker *r) {
    if (!r) return;
    mtr_rank_context_free(r->ctx);
    for (int mi = 0; mi < r->n_models; mi++)
        for (int k = 0; k < MTR_MAX_TASKS; k++) mtr_net_buffers_free(&r->nb[mi][k]);
    mtr_batch_free(&r->batch);
    free(r->x);
    free(r->keys);
    free(r->score);
    free(r->order);
    free(r->position);
    free(r->fused_position);
    free(r->rules_mask);
    free(r->fused);
    free(r->adjusted);
    free(r->rule);
    free(r->reason);
    free(r->n_ranked);
    free(r);
}

const mtr_rank_fields *mtr_ranker_fields(const mtr_ranker *r) { return &r->fields; }

static int names_match(char *const *a, int na, const char *const *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return 0;
    return 1;
}

int mtr_ranker_set_ranking(mtr_ranker *r, const mtr_fusion *fusion, const mtr_rules *rules, mtr_error *err) {
    if (fusion && !names_match(fusion->var_names, fusion->n_vars, r->var_ptrs, r->n_vars))
        return mtr_fail(err, "ranker: the formula was compiled with other variables than the ranker's %d "
                        "(compile it with mtr_ranker_fields)", r->n_vars);
    if (!fusion) {
        int outputs = r->n_vars - r->n_fields;
        if (outputs != 1)
            return mtr_fail(err, "ranker: no formula, and the models give %d scores: a formula must combine them",
                            outputs);
    }
    if (rules && ((rules->n_vars > 0 && !names_match(rules->var_names, rules->n_vars, r->var_ptrs, r->n_vars)) ||
                  (rules->n_keys > 0 && !names_match(rules->key_names, rules->n_keys, r->key_ptrs, r->n_keys))))
        return mtr_fail(err, "ranker: the rules were loaded with other variables or keys than the ranker's "
                             "(load them with mtr_ranker_fields)");
    mtr_rank_context *ctx = mtr_rank_context_create(fusion, rules, r->max_n, r->store, err);
    if (!ctx) return mtr_fail_prefix(err, "ranker");
    mtr_rank_context_free(r->ctx);
    r->ctx = ctx;
    r->fusion = fusion;
    r->rules = rules;
    return 0;
}

/* ---------------------------------------------------------------- one request */

static int check_request(const mtr_ranker *r, const mtr_request *req, size_t *n_lists, mtr_error *err) {
    if (!r->ctx) return mtr_fail(err, "rank request: no formula and rules set (mtr_ranker_set_ranking)");
    const mtr_dataset *ds = req->rows.data;
    size_t n = req->rows.count;
    if (!ds) return mtr_fail(err, "rank request: no rows");
    if (n > r->max_n)
        return mtr_fail(err, "rank request: %zu candidates, more than the %zu the ranker was created for", n, r->max_n);
    if (ds->n_cat != r->n_cat || ds->n_num != r->n_num || ds->n_tasks != r->n_tasks || ds->n_aux != r->n_aux)
        return mtr_fail(err, "rank request: the rows have %d categorical, %d numeric, %d label and %d aux columns; "
                        "the models' schema %d, %d, %d and %d", ds->n_cat, ds->n_num, ds->n_tasks, ds->n_aux,
                        r->n_cat, r->n_num, r->n_tasks, r->n_aux);
    if (ds->schema_fingerprint && ds->schema_fingerprint != mtr_schema_fingerprint(r->schema))
        return mtr_fail(err, "rank request: the rows were compiled with another schema than the models'");
    if (ds->max_row_ids > r->max_ids_per_row)
        return mtr_fail(err, "rank request: rows hold up to %u categorical ids, the ranker was sized for %u "
                        "(mtr_ranker_config.max_ids_per_row)", ds->max_row_ids, r->max_ids_per_row);
    if (req->rows.rows)
        for (size_t i = 0; i < n; i++)
            if (req->rows.rows[i] >= ds->n_rows)
                return mtr_fail(err, "rank request: view position %zu names row %u, the data has %zu", i,
                                req->rows.rows[i], ds->n_rows);
    if (r->n_fields > 0) {
        if (req->fields && req->field_stride < (size_t)r->n_fields)
            return mtr_fail(err, "rank request: field_stride %zu, the ranker has %d fields", req->field_stride,
                            r->n_fields);
        if (!req->fields)
            for (int f = 0; f < r->n_fields; f++)
                if (r->field_aux[f] < 0)
                    return mtr_fail(err, "rank request: field '%s' is not an aux column of the models' schema: "
                                    "pass its values in mtr_request.fields", r->var_names[r->n_vars - r->n_fields + f]);
    }
    if (req->keys && req->key_stride < (size_t)r->n_keys)
        return mtr_fail(err, "rank request: key_stride %zu, the ranker has %d keys", req->key_stride, r->n_keys);
    *n_lists = req->n_lists ? req->n_lists : 1;
    if (*n_lists > 1 || req->list_start) {
        if (!req->list_start) return mtr_fail(err, "rank request: %zu lists but no list_start", *n_lists);
        if (*n_lists > r->max_n) return mtr_fail(err, "rank request: %zu lists, more than %zu", *n_lists, r->max_n);
        if (req->list_start[0] != 0 || req->list_start[*n_lists] != n)
            return mtr_fail(err, "rank request: list_start must run from 0 to the %zu rows (it runs from %zu to %zu)",
                            n, req->list_start[0], req->list_start[*n_lists]);
        for (size_t g = 0; g < *n_lists; g++)
            if (req->list_start[g + 1] < req->list_start[g])
                return mtr_fail(err, "rank request: list %zu ends before it starts", g);
    }
    return 0;
}

/* Every model's forward pass over the gathered batch into the variable matrix, then the fields and keys. */
static void score_rows(mtr_ranker *r, const mtr_request *req) {
    int B = r->batch.n_rows, V = r->n_vars;
    for (int mi = 0; mi < r->n_models; mi++) {
        const mtr_model *m = r->models[mi].model;
        for (int k = 0; k < m->n_nets; k++) mtr_net_forward(m, &m->nets[k], &r->nb[mi][k], &r->batch);
    }
    for (int v = 0; v < V - r->n_fields; v++) {
        const ranker_var *rv = &r->var[v];
        const mtr_model *m = r->models[rv->model].model;
        /* the net that predicts this task */
        const mtr_net_buffers *nb = NULL;
        for (int k = 0; k < m->n_nets && !nb; k++)
            for (int j = 0; j < m->nets[k].n_tasks; j++)
                if (m->nets[k].task[j] == rv->task) nb = &r->nb[rv->model][k];
        assert(nb); /* a predicted task always has a net */
        mtr_net_task_scores(m, nb, rv->task, r->x + v, (size_t)V, B);
    }
    for (int f = 0; f < r->n_fields; f++) {
        float *dst = r->x + (V - r->n_fields + f);
        if (req->fields) {
            for (int b = 0; b < B; b++) dst[(size_t)b * V] = req->fields[(size_t)b * req->field_stride + f];
        } else {
            const float *aux = r->batch.aux + r->field_aux[f];
            for (int b = 0; b < B; b++) dst[(size_t)b * V] = aux[(size_t)b * r->n_aux];
        }
    }
    if (!req->keys) {
        int F = r->n_cat, K = r->n_keys;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                uint32_t id = r->batch.ids[r->batch.id_start[(size_t)b * F + r->key_field[k]]];
                r->keys[(size_t)b * K + k] = id == MTR_ID_OOV || id == MTR_ID_MISSING ? MTR_RANK_NO_KEY : id;
            }
    }
}

int mtr_rank_request(mtr_ranker *r, const mtr_request *req, mtr_request_result *out, mtr_error *err) {
    size_t n_lists = 0;
    if (!req) return mtr_fail(err, "rank request: no request");
    if (check_request(r, req, &n_lists, err) != 0) return -1;
    size_t n = req->rows.count;
    double t0 = mtr_seconds_now();
    r->batch.n_rows = (int)n;
    if (n > 0) {
        mtr_batch_gather(&r->batch, &req->rows, NULL, 0, (int)n);
        score_rows(r, req);
    }
    double t1 = mtr_seconds_now();
    const uint32_t *keys = req->keys ? req->keys : r->keys;
    size_t key_stride = req->keys ? req->key_stride : (size_t)r->n_keys;
    int V = r->n_vars;
    for (size_t g = 0; g < n_lists; g++) {
        size_t lo = req->list_start ? req->list_start[g] : 0, hi = req->list_start ? req->list_start[g + 1] : n;
        size_t len = hi - lo;
        mtr_rank_list list = {len,
                              r->x + lo * (size_t)V,
                              (size_t)V,
                              r->n_keys ? keys + lo * key_stride : NULL,
                              key_stride,
                              req->item_ids ? req->item_ids + lo : NULL,
                              req->request_ids ? req->request_ids[g] : 0};
        mtr_rank_result res;
        int rc;
        if (r->fusion) {
            rc = mtr_rank(r->ctx, &list, &res, err);
        } else {
            for (size_t i = 0; i < len; i++) r->score[i] = list.x[i * (size_t)V];
            rc = mtr_rank_scored(r->ctx, &list, r->score, &res, err);
        }
        if (rc != 0) return n_lists > 1 ? mtr_fail_prefix(err, "rank request: list %zu", g) : -1;
        r->n_ranked[g] = res.n_ranked;
        for (size_t i = 0; i < len; i++) {
            r->order[lo + i] = (uint32_t)lo + res.order[i];
            r->position[lo + i] = res.position[i];
            r->fused_position[lo + i] = res.fused_position[i];
            r->fused[lo + i] = res.fused[i];
            r->adjusted[lo + i] = res.adjusted[i];
            r->rule[lo + i] = res.rule[i];
            r->reason[lo + i] = res.reason[i];
            r->rules_mask[lo + i] = res.rules_mask[i];
        }
    }
    double t2 = mtr_seconds_now();
    out->n = n;
    out->n_lists = n_lists;
    out->n_ranked = r->n_ranked;
    out->order = r->order;
    out->position = r->position;
    out->fused_position = r->fused_position;
    out->fused = r->fused;
    out->adjusted = r->adjusted;
    out->rule = r->rule;
    out->reason = r->reason;
    out->rules_mask = r->rules_mask;
    out->x = r->x;
    out->n_vars = V;
    out->model_seconds = t1 - t0;
    out->rank_seconds = t2 - t1;
    return 0;
}

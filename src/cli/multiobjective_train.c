/* multiobjective_train.c - one training job of `mtrank experiment multiobjective` (multiobjective.h lists the
 * pieces): a per-objective network, BPR on preference pairs, LambdaMART or MMoE, each single-threaded and
 * early-stopped on its logged validation metric. Jobs run concurrently; a job reads only the shared inputs
 * and writes only its own result, and its seed depends on its run and model alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/multiobjective.h"
#include "util/rng.h"

/* ---------------------------------------------------------------- training jobs */

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
    double v = mo_logged_metric_of_scores(TARGET_NDCG, sh->va, w->scores);
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

void mo_run_job(const shared *sh, job *j) {
    const mo_args *a = sh->a;
    double t0 = mtr_seconds_now();
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
    j->seconds = mtr_seconds_now() - t0;
}

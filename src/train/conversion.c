/* conversion.c - the post-click conversion estimators of the ESMM paper, built from mtr_models: each
 * method is a choice of networks and of the sample each network trains on (see mtr_cvr_method).
 * Sampling is seeded; selected rows are views of the training data (rows may repeat), never copies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"
#include "util/error.h"
#include "util/rng.h"

static const char *const method_names[MTR_CVR_METHODS] = {"base",     "aman",    "oversampling", "unbias",
                                                          "division", "esmm-ns", "esmm"};

struct mtr_cvr_model {
    mtr_cvr_method method;   /* estimator */
    int purchase_task;       /* task index of purchase */
    float division_clip;     /* DIVISION's clip */
    const mtr_model *ctr;    /* pCTR: borrowed or owned_ctr; NULL for ESMM/ESMM-NS */
    mtr_model *owned_ctr;    /* a CTR network this estimator trained itself */
    mtr_model *main;         /* the CVR, CTCVR or ESMM network */
    size_t training_rows;    /* rows the main network trained on */
};

const char *mtr_cvr_method_name(mtr_cvr_method m) {
    return (unsigned)m < MTR_CVR_METHODS ? method_names[m] : "unknown";
}

int mtr_cvr_method_parse(const char *name, mtr_cvr_method *m) {
    for (int i = 0; i < MTR_CVR_METHODS; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *m = (mtr_cvr_method)i;
            return 0;
        }
    return -1;
}

void mtr_cvr_config_default(mtr_cvr_config *cfg, mtr_cvr_method method) {
    memset(cfg, 0, sizeof *cfg);
    cfg->method = method;
    mtr_model_config_default(&cfg->model);
    cfg->model.kind = MTR_MODEL_SHARED_BOTTOM;
    cfg->model.embedding_dim = 18;
    cfg->model.n_bottom_layers = 0;
    cfg->model.n_tower_layers = 3;
    cfg->model.tower_layers[0] = 360;
    cfg->model.tower_layers[1] = 200;
    cfg->model.tower_layers[2] = 80;
    cfg->purchase_task = 1;
    cfg->aman_rate = 0.1f;
    cfg->oversample = 5;
    cfg->unbias_quantile = 0.05f;
    cfg->division_clip = 1.0f;
    cfg->seed = 1;
}

/* Hold out a seeded `fraction` of a view's rows for early stopping: the network is validated on rows
 * drawn from the same sample it trains on. Both views own their row arrays. */
static int split_view(const mtr_view *v, double fraction, uint64_t seed, mtr_view *fit, mtr_view *hold,
                      mtr_error *err) {
    size_t n = v->count, n_hold = (size_t)(fraction * (double)n + 0.5);
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm), *a = malloc((n ? n : 1) * sizeof *a);
    uint32_t *b = malloc((n_hold ? n_hold : 1) * sizeof *b);
    if (!perm || !a || !b) {
        free(perm), free(a), free(b);
        return mtr_fail(err, "out of memory splitting %zu rows", n);
    }
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    mtr_rng rng;
    mtr_rng_seed(&rng, seed);
    mtr_rng_shuffle_u32(&rng, perm, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t row = v->rows ? v->rows[perm[i]] : perm[i];
        if (i < n_hold) b[i] = row;
        else a[i - n_hold] = row;
    }
    free(perm);
    *fit = (mtr_view){v->data, a, n - n_hold};
    *hold = (mtr_view){v->data, b, n_hold};
    return 0;
}

static int is_set(float v) { return !isnan(v) && v >= 0.5f; }

/* Repeat each row of `fit` whose `task` label is set `copies` times in all (OVERSAMPLING). Applied
 * after the held-out split, so no copy of a training positive lands in the held-out rows. */
static int oversample_view(mtr_view *fit, int task, int copies, mtr_error *err) {
    size_t extra = 0;
    for (size_t i = 0; i < fit->count; i++) extra += is_set(mtr_dataset_label(fit->data, fit->rows[i], task));
    extra *= (size_t)(copies - 1);
    uint32_t *rows = malloc((fit->count + extra + 1) * sizeof *rows);
    if (!rows) return mtr_fail(err, "out of memory oversampling %zu rows", fit->count);
    memcpy(rows, fit->rows, fit->count * sizeof *rows);
    size_t k = fit->count;
    for (size_t i = 0; i < fit->count; i++)
        if (is_set(mtr_dataset_label(fit->data, rows[i], task)))
            for (int c = 1; c < copies; c++) rows[k++] = rows[i];
    mtr_view_free_rows(fit);
    fit->rows = rows;
    fit->count = k;
    return 0;
}

/* Train `m` on `rows`, early-stopped on a held-out share of them (10 %) for its main task; with
 * copies > 1 the positives of the main task in the fitted share are repeated that often. Returns the
 * rows trained on (fitted + held out) in *n_rows. */
static int train_held_out(mtr_model *m, const mtr_view *rows, const mtr_train_config *tc_in, int main_task,
                          int copies, uint64_t seed, size_t *n_rows, mtr_error *err) {
    mtr_view fit, hold;
    if (split_view(rows, 0.1, mtr_seed_mix(seed, 404), &fit, &hold, err) != 0) return -1;
    mtr_train_config tc = *tc_in;
    tc.main_task = main_task;
    tc.seed = seed;
    tc.init_output_bias = 1; /* samples this imbalanced (1 % conversions) must not start at p = 0.5 */
    mtr_train_result res;
    int rc = copies > 1 ? oversample_view(&fit, main_task, copies, err) : 0;
    if (rc == 0) {
        *n_rows = fit.count + hold.count;
        rc = mtr_train(m, &fit, hold.count > 0 ? &hold : NULL, &tc, &res, err); /* too few rows: no hold-out */
    }
    mtr_view_free_rows(&fit);
    mtr_view_free_rows(&hold);
    return rc;
}

/* A single-task network of the configured shape predicting `task`. */
static mtr_model *train_single(const mtr_schema *schema, const mtr_cvr_config *cfg, int task, const mtr_view *rows,
                               const mtr_train_config *tc_in, int copies, uint64_t seed, size_t *n_rows,
                               mtr_error *err) {
    mtr_model_config mc = cfg->model;
    if (mc.kind == MTR_MODEL_OMOE || mc.kind == MTR_MODEL_MMOE) mc.kind = MTR_MODEL_SHARED_BOTTOM;
    if (mc.kind == MTR_MODEL_SHARED_BOTTOM && mc.n_bottom_layers > 0) mc.kind = MTR_MODEL_SINGLE_TASK;
    mc.task_mask = 1u << task;
    mc.conversion_task = -1;
    mtr_model *m = mtr_model_create(schema, &mc, seed, err);
    if (m && train_held_out(m, rows, tc_in, task, copies, seed, n_rows, err) != 0) {
        mtr_model_free(m);
        return NULL;
    }
    return m;
}

mtr_model *mtr_cvr_train_ctr(const mtr_schema *schema, const mtr_cvr_config *cfg, const mtr_view *train,
                             const mtr_train_config *tc, mtr_error *err) {
    size_t n_rows;
    return train_single(schema, cfg, 0, train, tc, 1, mtr_seed_mix(cfg->seed, 101), &n_rows, err);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Rows of `train` selected by the method (positions into the dataset, as a view's row indices). */
static int select_rows(const mtr_cvr_config *cfg, const mtr_view *train, const mtr_model *ctr, mtr_view *out,
                       mtr_error *err) {
    const mtr_dataset *ds = train->data;
    size_t n = train->count, cap = n;
    uint32_t *rows = malloc((cap ? cap : 1) * sizeof *rows);
    float *pctr = NULL;
    if (!rows) return mtr_fail(err, "out of memory selecting training rows");
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, 202));
    size_t k = 0;
    if (cfg->method == MTR_CVR_UNBIAS) {
        /* pCTR of every clicked row, then keep each with probability min(1, q / pCTR) */
        mtr_view clicked = {ds, NULL, 0};
        uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
        if (!idx) {
            free(rows);
            return mtr_fail(err, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            size_t r = train->rows ? train->rows[i] : i;
            if (is_set(mtr_dataset_label(ds, r, 0))) idx[clicked.count++] = (uint32_t)r;
        }
        clicked.rows = idx;
        int T = mtr_dataset_task_count(ds);
        pctr = malloc((clicked.count + 1) * (size_t)T * sizeof *pctr);
        float *sorted = malloc((clicked.count + 1) * sizeof *sorted);
        if (!pctr || !sorted || mtr_predict(ctr, &clicked, pctr, 1, err) != 0) {
            free(idx), free(rows), free(pctr), free(sorted);
            return pctr && sorted ? -1 : mtr_fail(err, "out of memory");
        }
        for (size_t i = 0; i < clicked.count; i++) sorted[i] = pctr[i * T];
        /* q: a low quantile of pCTR among clicks */
        qsort(sorted, clicked.count, sizeof *sorted, cmp_float);
        size_t nq = (size_t)(cfg->unbias_quantile * (double)(clicked.count ? clicked.count - 1 : 0));
        double q = clicked.count ? sorted[nq] : 1.0;
        for (size_t i = 0; i < clicked.count; i++) {
            double keep = q / (pctr[i * T] > 1e-12f ? pctr[i * T] : 1e-12);
            if (mtr_rng_uniform(&rng) < keep) rows[k++] = idx[i];
        }
        free(sorted);
        free(idx);
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t r = train->rows ? train->rows[i] : i;
            int clicked = is_set(mtr_dataset_label(ds, r, 0));
            switch (cfg->method) {
            case MTR_CVR_BASE:
            case MTR_CVR_OVERSAMPLING: /* its positives are repeated after the held-out split */
                if (clicked) rows[k++] = (uint32_t)r;
                break;
            case MTR_CVR_AMAN:
                if (clicked || mtr_rng_uniform(&rng) < cfg->aman_rate) rows[k++] = (uint32_t)r;
                break;
            default:
                rows[k++] = (uint32_t)r;
            }
        }
    }
    free(pctr);
    out->data = ds;
    out->rows = rows;
    out->count = k;
    if (k == 0) {
        free(rows);
        out->rows = NULL;
        return mtr_fail(err, "%s: no training rows left after sample selection (no clicks?)",
                        mtr_cvr_method_name(cfg->method));
    }
    return 0;
}

mtr_cvr_model *mtr_cvr_train(const mtr_schema *schema, const mtr_cvr_config *cfg, const mtr_view *train,
                             const mtr_train_config *tc, const mtr_model *ctr_model, mtr_error *err) {
    if ((unsigned)cfg->method >= MTR_CVR_METHODS) {
        mtr_fail(err, "unknown conversion method");
        return NULL;
    }
    int T = mtr_schema_task_count(schema), pt = cfg->purchase_task;
    if (T < 2 || pt < 1 || pt >= T || mtr_schema_task_kind(schema, 0) != MTR_TASK_BINARY ||
        mtr_schema_task_kind(schema, pt) != MTR_TASK_BINARY) {
        mtr_fail(err, "conversion estimators need a binary click task (task 0) and a binary purchase task");
        return NULL;
    }
    mtr_cvr_model *m = calloc(1, sizeof *m);
    if (!m) {
        mtr_fail(err, "out of memory");
        return NULL;
    }
    m->method = cfg->method;
    m->purchase_task = pt;
    m->division_clip = cfg->division_clip;
    uint64_t seed = mtr_seed_mix(cfg->seed, 303);
    if (cfg->method == MTR_CVR_ESMM || cfg->method == MTR_CVR_ESMM_NS) {
        mtr_model_config mc = cfg->model;
        if (cfg->method == MTR_CVR_ESMM_NS) mc.kind = MTR_MODEL_SINGLE_TASK;
        mc.task_mask = 1u | (1u << pt);
        mc.conversion_task = pt;
        m->main = mtr_model_create(schema, &mc, seed, err);
        /* early-stopped on the conversion task, scored as pCTR x pCVR against clicked-and-converted */
        if (!m->main || train_held_out(m->main, train, tc, pt, 1, seed, &m->training_rows, err) != 0) goto fail;
        return m;
    }
    if (ctr_model) {
        m->ctr = ctr_model;
    } else {
        m->owned_ctr = mtr_cvr_train_ctr(schema, cfg, train, tc, err);
        if (!m->owned_ctr) goto fail;
        m->ctr = m->owned_ctr;
    }
    mtr_view rows;
    if (select_rows(cfg, train, m->ctr, &rows, err) != 0) goto fail;
    int copies = cfg->method == MTR_CVR_OVERSAMPLING && cfg->oversample > 1 ? cfg->oversample : 1;
    m->main = train_single(schema, cfg, pt, &rows, tc, copies, seed, &m->training_rows, err);
    mtr_view_free_rows(&rows);
    if (!m->main) goto fail;
    return m;
fail:
    mtr_cvr_free(m);
    return NULL;
}

int mtr_cvr_predict(const mtr_cvr_model *m, const mtr_view *view, float *pctr, float *pcvr, float *pctcvr,
                    int n_threads, mtr_error *err) {
    int T = mtr_schema_task_count(mtr_model_schema(m->main)), pt = m->purchase_task;
    size_t n = view->count;
    float *a = malloc((n + 1) * (size_t)T * sizeof *a), *b = NULL;
    if (!a) return mtr_fail(err, "out of memory");
    int rc = -1;
    if (mtr_predict(m->main, view, a, n_threads, err) != 0) goto done;
    if (m->ctr) {
        b = malloc((n + 1) * (size_t)T * sizeof *b);
        if (!b) {
            mtr_fail(err, "out of memory");
            goto done;
        }
        if (mtr_predict(m->ctr, view, b, n_threads, err) != 0) goto done;
    }
    for (size_t i = 0; i < n; i++) {
        float ctr = m->ctr ? b[i * T] : a[i * T], main = a[i * T + pt], cvr, ctcvr;
        if (m->method == MTR_CVR_DIVISION) {
            ctcvr = main;
            cvr = ctr > 0 ? ctcvr / ctr : m->division_clip;
            if (cvr > m->division_clip) cvr = m->division_clip;
        } else {
            cvr = main;
            ctcvr = ctr * cvr;
        }
        pctr[i] = ctr;
        pcvr[i] = cvr;
        pctcvr[i] = ctcvr;
    }
    rc = 0;
done:
    free(a);
    free(b);
    return rc;
}

size_t mtr_cvr_parameter_count(const mtr_cvr_model *m) {
    return mtr_model_parameter_count(m->main) + (m->ctr ? mtr_model_parameter_count(m->ctr) : 0);
}

size_t mtr_cvr_training_rows(const mtr_cvr_model *m) { return m->training_rows; }

void mtr_cvr_free(mtr_cvr_model *m) {
    if (!m) return;
    mtr_model_free(m->owned_ctr);
    mtr_model_free(m->main);
    free(m);
}

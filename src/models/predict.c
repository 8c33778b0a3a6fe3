/* predict.c - scoring a view with a model (threads over row chunks) and evaluating it. Buffers are
 * allocated once per call and per thread, never per batch. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "data/batch.h"
#include "models/view_rows.h"
#include "models/net_pass.h"
#include "util/error.h"

#define PREDICT_CHUNK 1024

typedef struct predict_worker {
    mtr_net_buffers nb[MTR_MAX_NETS]; /* inference buffers per net */
    mtr_batch batch;                  /* the chunk's rows */
} predict_worker;

static void worker_free(predict_worker *w, int n_nets) {
    for (int k = 0; k < n_nets; k++) mtr_net_buffers_free(&w->nb[k]);
    mtr_batch_free(&w->batch);
}

static int worker_init(predict_worker *w, const mtr_model *m, const mtr_dataset *ds) {
    mtr_error ignored;
    if (mtr_batch_init(&w->batch, ds, PREDICT_CHUNK, &ignored) != 0) return -1;
    for (int k = 0; k < m->n_nets; k++) {
        if (mtr_net_buffers_init(&w->nb[k], &m->nets[k], m->n_tasks, PREDICT_CHUNK, ds->max_row_ids, 0) != 0)
            return -1;
        w->nb[k].proj.frozen = 1; /* weights are fixed for the whole call */
    }
    return 0;
}

int mtr_predict(const mtr_model *model, const mtr_view *view, float *scores, int n_threads, mtr_error *err) {
    const mtr_dataset *ds = view->data;
    if (ds->n_cat != model->nets[0].n_fields || ds->n_num != model->nets[0].n_numeric)
        return mtr_fail(err, "data has %d categorical and %d numeric inputs, the model expects %d and %d",
                        ds->n_cat, ds->n_num, model->nets[0].n_fields, model->nets[0].n_numeric);
    if (ds->schema_fingerprint && ds->schema_fingerprint != mtr_schema_fingerprint(model->schema))
        return mtr_fail(err, "the data was compiled with another schema than the model's (different "
                             "spec or vocabularies): compile it with the model's schema");
    if (n_threads < 1) n_threads = 1;
    size_t n_chunks = (view->count + PREDICT_CHUNK - 1) / PREDICT_CHUNK;
    if ((size_t)n_threads > n_chunks) n_threads = n_chunks > 0 ? (int)n_chunks : 1;
    predict_worker *workers = calloc((size_t)n_threads, sizeof *workers);
    if (!workers) return mtr_fail(err, "out of memory");
    int failed = 0;
    for (int t = 0; t < n_threads; t++)
        if (worker_init(&workers[t], model, ds) != 0) failed = 1;
    if (!failed) {
        int T = model->n_tasks;
        for (int t = 0; t < T; t++)
            if (!mtr_model_has_task(model, t))
                for (size_t i = 0; i < view->count; i++) scores[i * T + t] = NAN;
        /* chunks handed out one at a time: a thread slowed by anything else on its core does not hold the
         * others up (with a static split the 2-thread speed-up varied from 1.3x to 1.8x between calls).
         * Each chunk's scores are computed the same way whichever thread takes it. */
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (n_threads > 1)
        for (size_t c = 0; c < n_chunks; c++) {
            predict_worker *w = &workers[omp_get_thread_num()];
            size_t start = c * PREDICT_CHUNK;
            int B = (int)(view->count - start < PREDICT_CHUNK ? view->count - start : PREDICT_CHUNK);
            mtr_batch_gather(&w->batch, view, NULL, start, B);
            for (int k = 0; k < model->n_nets; k++) {
                const mtr_net *net = &model->nets[k];
                mtr_net_forward(model, net, &w->nb[k], &w->batch);
                for (int t = 0; t < net->n_tasks; t++)
                    mtr_net_task_scores(model, &w->nb[k], net->task[t], scores + start * T + net->task[t],
                                        (size_t)T, B);
            }
        }
    }
    for (int t = 0; t < n_threads; t++) worker_free(&workers[t], model->n_nets);
    free(workers);
    return failed ? mtr_fail(err, "out of memory for prediction buffers") : 0;
}

void mtr_scores_to_label_space(const mtr_model *model, float *scores, size_t n) {
    int c = model->cfg.conversion_task, T = model->n_tasks;
    if (c < 0) return;
    for (size_t i = 0; i < n; i++) scores[i * T + c] *= scores[i * T];
}

int mtr_evaluate(const mtr_model *model, const mtr_view *view, mtr_task_metrics *out, int n_threads,
                 mtr_error *err) {
    int T = model->n_tasks;
    size_t n = view->count;
    if (view->data->n_tasks != T)
        return mtr_fail(err, "the data has %d label columns, the model %d tasks", view->data->n_tasks, T);
    float *scores = malloc((n ? n : 1) * (size_t)T * sizeof *scores);
    float *labels = malloc((n ? n : 1) * (size_t)T * sizeof *labels);
    int rc = -1;
    if (!scores || !labels) {
        mtr_fail(err, "out of memory for %zu scores", n);
    } else if (mtr_predict(model, view, scores, n_threads, err) == 0) {
        mtr_scores_to_label_space(model, scores, n);
        mtr_view_labels(view, labels);
        for (int t = 0; t < T; t++)
            mtr_task_metrics_compute(model->kind[t], scores + t, labels + t, n, (size_t)T, &out[t]);
        rc = 0;
    }
    free(scores);
    free(labels);
    return rc;
}

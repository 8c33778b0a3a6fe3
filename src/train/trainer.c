/* trainer.c - the training loop: shuffled mini-batches split across worker threads (data parallel),
 * a deterministic reduction of their gradients, optimizer updates, per-epoch validation and early
 * stopping on the main task.
 *
 * Determinism: each worker always gets the same slice of a batch (rows [B*w/n, B*(w+1)/n)); dense
 * gradients are summed in worker order; embedding rows are merged in worker order into worker 0's
 * row list. So a seed and a thread count fix the result bit for bit.
 * Memory: everything is allocated before the first batch; the batch loop does not allocate. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/batch.h"
#include "models/view_rows.h"
#include "models/net_pass.h"
#include "ops/ops.h"
#include "train/batch_loss.h"
#include "train/optimizer.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/clock.h"

typedef struct worker {
    mtr_net_buffers nb[MTR_MAX_NETS]; /* activations and gradients per net */
    mtr_sparse_rows emb[MTR_MAX_NETS];/* embedding gradients per net */
    float *grad;                      /* dense gradient slab (model layout; embedding parts unused) */
    mtr_batch batch;                  /* this worker's slice of the batch, gathered */
    double loss[MTR_MAX_TASKS];       /* this batch's summed per-row loss per task */
} worker;

typedef struct trainer {
    mtr_model *model;                 /* being trained */
    const mtr_train_config *cfg;      /* settings */
    int n_workers;                    /* threads */
    int max_rows;                     /* rows per worker per batch at most */
    worker *workers;                  /* n_workers of them */
    mtr_optimizer_state opt;          /* moments */
    size_t labelled[MTR_MAX_TASKS];   /* labelled rows per task in the current batch (pairs for BPR) */
    int pairwise_task;                /* -1, or the task whose output BPR trains from row pairs */
    uint32_t *pair_rows;              /* BPR: (2 * batch) view positions of the batch's pairs */
} trainer;

static void trainer_free(trainer *tr) {
    if (tr->workers) {
        for (int w = 0; w < tr->n_workers; w++) {
            worker *wk = &tr->workers[w];
            for (int k = 0; k < tr->model->n_nets; k++) {
                mtr_net_buffers_free(&wk->nb[k]);
                mtr_sparse_rows_free(&wk->emb[k]);
            }
            free(wk->grad);
            mtr_batch_free(&wk->batch);
        }
        free(tr->workers);
    }
    mtr_optimizer_free(&tr->opt);
    free(tr->pair_rows);
}

static int trainer_init(trainer *tr, mtr_model *m, const mtr_train_config *cfg, const mtr_dataset *data,
                        int pairwise_task, mtr_error *err) {
    memset(tr, 0, sizeof *tr);
    tr->model = m;
    tr->cfg = cfg;
    tr->pairwise_task = pairwise_task;
    int unit = pairwise_task >= 0 ? 2 : 1, batch_rows = cfg->batch_size * unit;
    tr->n_workers = cfg->n_threads;
    if (tr->n_workers > cfg->batch_size) tr->n_workers = cfg->batch_size;
    tr->max_rows = unit * ((cfg->batch_size + tr->n_workers - 1) / tr->n_workers);
    if (pairwise_task >= 0 && !(tr->pair_rows = malloc((size_t)batch_rows * sizeof *tr->pair_rows)))
        return mtr_fail(err, "out of memory");
    if (mtr_optimizer_init(&tr->opt, cfg, m->n_params, err) != 0) return -1;
    tr->workers = calloc((size_t)tr->n_workers, sizeof *tr->workers);
    if (!tr->workers) return mtr_fail(err, "out of memory");
    size_t rows = (size_t)tr->max_rows, max_ids = data->max_row_ids;
    for (int w = 0; w < tr->n_workers; w++) {
        worker *wk = &tr->workers[w];
        wk->grad = calloc(m->n_params ? m->n_params : 1, sizeof *wk->grad);
        if (!wk->grad) return mtr_fail(err, "out of memory");
        if (mtr_batch_init(&wk->batch, data, tr->max_rows, err) != 0) return -1;
        for (int k = 0; k < m->n_nets; k++) {
            const mtr_net *net = &m->nets[k];
            uint32_t table_rows = net->field_offset[net->n_fields];
            /* worker 0 also receives the other workers' rows when they are merged */
            uint64_t touch = (uint64_t)(w == 0 ? (size_t)batch_rows : rows) * max_ids;
            uint32_t cap = touch < table_rows ? (uint32_t)touch : table_rows;
            if (mtr_net_buffers_init(&wk->nb[k], net, m->n_tasks, tr->max_rows, (uint32_t)max_ids, 1) != 0 ||
                mtr_sparse_rows_init(&wk->emb[k], table_rows, net->emb_dim, cap) != 0)
                return mtr_fail(err, "out of memory for training buffers");
        }
    }
    return 0;
}

/* Forward, loss and backward of worker w's slice of the batch. */
static void worker_pass(trainer *tr, int w, const mtr_view *view, const uint32_t *positions, int B) {
    mtr_model *m = tr->model;
    worker *wk = &tr->workers[w];
    /* BPR keeps each pair (two consecutive rows) within one worker */
    int unit = tr->pairwise_task >= 0 ? 2 : 1, units = B / unit;
    int lo = unit * (int)((long)units * w / tr->n_workers), hi = unit * (int)((long)units * (w + 1) / tr->n_workers);
    int rows = hi - lo, T = m->n_tasks;
    for (int t = 0; t < T; t++) wk->loss[t] = 0.0;
    for (int i = 0; i < m->n_tensors; i++)
        if (!m->tensors[i].is_embedding)
            memset(wk->grad + m->tensors[i].offset, 0, m->tensors[i].size * sizeof(float));
    for (int k = 0; k < m->n_nets; k++) mtr_sparse_rows_clear(&wk->emb[k]);
    if (rows <= 0) return;
    mtr_batch_gather(&wk->batch, view, positions + lo, 0, rows);
    mtr_batch_loss(m, wk->nb, wk->emb, wk->grad, &wk->batch, tr->labelled, tr->cfg->task_weight, tr->pairwise_task,
                   wk->loss, 1);
}

/* Worker 0 takes the other workers' embedding rows, in worker order. Single-threaded; its cost is the
 * number of touched rows, tiny next to the batch's GEMMs. */
static void merge_embedding_grads(trainer *tr) {
    for (int k = 0; k < tr->model->n_nets; k++) {
        mtr_sparse_rows *dst = &tr->workers[0].emb[k];
        for (int w = 1; w < tr->n_workers; w++) {
            const mtr_sparse_rows *src = &tr->workers[w].emb[k];
            for (uint32_t i = 0; i < src->count; i++) {
                float *g = mtr_sparse_rows_at(dst, src->rows[i]);
                const float *s = src->grad + (size_t)i * src->dim;
                for (int j = 0; j < src->dim; j++) g[j] += s[j];
            }
        }
    }
}

/* Worker w's share of the update: a slice of every dense tensor (gradients summed over workers in
 * order first) and a slice of the touched embedding rows. */
static void update_slice(trainer *tr, int w) {
    mtr_model *m = tr->model;
    int n = tr->n_workers;
    float *g0 = tr->workers[0].grad;
    for (int i = 0; i < m->n_tensors; i++) {
        const mtr_tensor *t = &m->tensors[i];
        if (t->is_embedding) continue;
        size_t lo = t->size * (size_t)w / (size_t)n, hi = t->size * (size_t)(w + 1) / (size_t)n;
        if (hi <= lo) continue;
        for (int v = 1; v < n; v++) {
            const float *gv = tr->workers[v].grad + t->offset;
            for (size_t j = lo; j < hi; j++) g0[t->offset + j] += gv[j];
        }
        mtr_optimizer_update(&tr->opt, m->params, t->offset + lo, g0 + t->offset + lo, hi - lo, t->decay);
    }
    for (int k = 0; k < m->n_nets; k++) {
        const mtr_sparse_rows *s = &tr->workers[0].emb[k];
        const mtr_tensor *t = &m->tensors[m->nets[k].t_embedding];
        size_t lo = (size_t)s->count * w / n, hi = (size_t)s->count * (w + 1) / n;
        for (size_t r = lo; r < hi; r++)
            mtr_optimizer_update(&tr->opt, m->params, t->offset + (size_t)s->rows[r] * s->dim,
                                 s->grad + r * s->dim, (size_t)s->dim, t->decay);
    }
}

/* One step on the B rows at view positions positions[0..B); returns the weighted loss. */
static double train_step(trainer *tr, const mtr_view *view, const uint32_t *positions, int B) {
    mtr_model *m = tr->model;
    int T = m->n_tasks;
    const mtr_dataset *ds = view->data;
    for (int t = 0; t < T; t++) tr->labelled[t] = 0;
    if (tr->pairwise_task >= 0) {
        tr->labelled[tr->pairwise_task] = (size_t)B / 2; /* the BPR loss is a mean over pairs */
    } else {
        for (int b = 0; b < B; b++) {
            const float *lab = mtr_row_labels(ds, mtr_view_row(view, positions[b]));
            for (int t = 0; t < T; t++) tr->labelled[t] += !isnan(lab[t]);
        }
    }
    int n = tr->n_workers;
    if (n == 1) {
        worker_pass(tr, 0, view, positions, B);
        mtr_optimizer_begin_step(&tr->opt);
        update_slice(tr, 0);
    } else {
#pragma omp parallel num_threads(n)
        {
            int w = omp_get_thread_num();
            worker_pass(tr, w, view, positions, B);
#pragma omp barrier
#pragma omp single
            {
                merge_embedding_grads(tr);
                mtr_optimizer_begin_step(&tr->opt);
            }
            update_slice(tr, w);
        }
    }
    double loss = 0.0;
    for (int t = 0; t < T; t++) {
        if (!tr->labelled[t]) continue;
        double sum = 0.0;
        for (int w = 0; w < n; w++) sum += tr->workers[w].loss[t];
        loss += tr->cfg->task_weight[t] * sum / (double)tr->labelled[t];
    }
    return loss;
}

/* Output biases at the labels' base rates (mtr_train_config.init_output_bias). */
static void init_output_biases(mtr_model *m, const mtr_view *train) {
    int T = m->n_tasks, conv = m->cfg.conversion_task;
    double sum[MTR_MAX_TASKS] = {0}, cnt[MTR_MAX_TASKS] = {0};
    for (size_t i = 0; i < train->count; i++) {
        const float *lab = mtr_row_labels(train->data, mtr_view_row(train, i));
        for (int t = 0; t < T; t++)
            if (!isnan(lab[t])) sum[t] += lab[t], cnt[t] += 1;
    }
    for (int k = 0; k < m->n_nets; k++) {
        const mtr_net *net = &m->nets[k];
        for (int j = 0; j < net->n_tasks; j++) {
            int t = net->task[j];
            if (!cnt[t]) continue;
            double mean = sum[t] / cnt[t], v;
            if (t == conv && cnt[0] > 0) mean = sum[0] > 0 ? mean / (sum[0] / cnt[0]) : 0.5;
            if (m->kind[t] == MTR_TASK_BINARY) {
                double p = fmin(fmax(mean, 1e-6), 1 - 1e-6);
                v = log(p / (1 - p));
            } else {
                v = mean;
            }
            float *bias;
            if (net->n_layers == 0 && net->n_tower_layers == 0) /* the output is an input-layer column */
                bias = m->params + m->tensors[net->t_input_b].offset + j;
            else
                bias = m->params + m->tensors[net->t_tower_b[j][net->n_tower_layers]].offset;
            *bias = (float)v;
        }
    }
}

/* The validation score that early stopping maximises: AUC for binary tasks, R^2 for regression; with
 * stop_on_loss, minus the log loss (binary) or the MSE (regression). */
static double selection_metric(const mtr_task_metrics *mt, int on_loss) {
    int binary = mt->kind == MTR_TASK_BINARY;
    double v = on_loss ? -(binary ? mt->log_loss : mt->mse) : binary ? mt->auc : mt->r2;
    return isnan(v) ? -INFINITY : v;
}

/* The training loop over rows, or over preference pairs (pairs != NULL: view positions, two per pair). */
static int train_impl(mtr_model *model, const mtr_view *train, const mtr_view *valid, const mtr_train_config *cfg,
                      const uint32_t *pairs, size_t n_pairs, mtr_train_result *result, mtr_error *err) {
    int T = model->n_tasks;
    const char *problem = mtr_train_config_check(cfg, T);
    if (problem) return mtr_fail(err, "training configuration: %s", problem);
    if (!mtr_model_has_task(model, cfg->main_task))
        return mtr_fail(err, "training configuration: the main task '%s' is not one the model predicts",
                        mtr_schema_task_name(model->schema, cfg->main_task));
    const mtr_view *views[2] = {train, valid};
    for (int i = 0; i < 2; i++) {
        if (!views[i]) continue;
        const mtr_dataset *ds = views[i]->data;
        if (ds->n_tasks != T || ds->n_cat != model->nets[0].n_fields || ds->n_num != model->nets[0].n_numeric)
            return mtr_fail(err, "%s data does not match the model's schema (%d/%d/%d inputs/tasks, model "
                                 "%d/%d/%d)", i ? "validation" : "training", ds->n_cat, ds->n_num,
                            ds->n_tasks, model->nets[0].n_fields, model->nets[0].n_numeric, T);
        if (ds->schema_fingerprint && ds->schema_fingerprint != mtr_schema_fingerprint(model->schema))
            return mtr_fail(err, "%s data was compiled with another schema than the model's",
                            i ? "validation" : "training");
    }
    if (train->count == 0 || (pairs && n_pairs == 0)) return mtr_fail(err, "training data is empty");

    memset(result, 0, sizeof *result);
    result->n_tasks = T;
    trainer tr;
    /* the units shuffled and batched: rows, or pairs of rows */
    size_t n = pairs ? n_pairs : train->count, n_valid = valid ? valid->count : 0;
    /* Rows are visited block by block: the blocks (consecutive view positions) in a shuffled order, the
     * rows of a block shuffled. One block of the whole view is a full shuffle; smaller blocks bound the
     * memory of the order and keep reads of data larger than memory close to sequential. */
    size_t window = cfg->shuffle_window && cfg->shuffle_window < n ? cfg->shuffle_window : n;
    size_t n_blocks = (n + window - 1) / window;
    uint32_t *order = malloc(window * sizeof *order), *block_order = malloc(n_blocks * sizeof *block_order);
    float *best_params = valid ? malloc(model->n_params * sizeof *best_params) : NULL;
    float *valid_scores = valid ? malloc((n_valid + 1) * (size_t)T * sizeof(float)) : NULL;
    float *valid_labels = valid ? malloc((n_valid + 1) * (size_t)T * sizeof(float)) : NULL;
    int rc = -1;
    if (trainer_init(&tr, model, cfg, train->data, pairs ? cfg->main_task : -1, err) != 0) goto done;
    if (!order || !block_order || (valid && (!best_params || !valid_scores || !valid_labels))) {
        mtr_fail(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_blocks; i++) block_order[i] = (uint32_t)i;
    if (valid) mtr_view_labels(valid, valid_labels);
    if (cfg->init_output_bias) init_output_biases(model, train);

    double t_start = mtr_seconds_now(), best_metric = -INFINITY, interval_loss = 0.0;
    int since_best = 0;
    long total_steps = 0;
    mtr_rng rng;
    mtr_rng_seed(&rng, cfg->seed);
    for (int epoch = 1; epoch <= cfg->max_epochs; epoch++) {
        mtr_epoch_report rep;
        memset(&rep, 0, sizeof rep);
        rep.epoch = epoch;
        rep.max_epochs = cfg->max_epochs;
        rep.n_tasks = T;
        mtr_rng_shuffle_u32(&rng, block_order, n_blocks);
        double t0 = mtr_seconds_now(), last_progress = t0, loss_sum = 0.0;
        size_t steps = 0, done_rows = 0;
        int stop = 0;
        for (size_t bi = 0; bi < n_blocks && !stop; bi++) {
            size_t first = (size_t)block_order[bi] * window, len = n - first < window ? n - first : window;
            for (size_t i = 0; i < len; i++) order[i] = (uint32_t)(first + i);
            mtr_rng_shuffle_u32(&rng, order, len);
            for (size_t start = 0; start < len; start += (size_t)cfg->batch_size) {
                int B = (int)(len - start < (size_t)cfg->batch_size ? len - start : (size_t)cfg->batch_size);
                double step_loss;
                if (pairs) {
                    for (int i = 0; i < B; i++) {
                        size_t p = order[start + (size_t)i];
                        tr.pair_rows[2 * i] = pairs[2 * p];
                        tr.pair_rows[2 * i + 1] = pairs[2 * p + 1];
                    }
                    step_loss = train_step(&tr, train, tr.pair_rows, 2 * B);
                } else {
                    step_loss = train_step(&tr, train, order + start, B);
                }
                done_rows += (size_t)B;
                loss_sum += step_loss;
                steps++;
                total_steps++;
                if (cfg->on_step) {
                    interval_loss += step_loss;
                    if (total_steps % cfg->step_interval == 0) {
                        cfg->on_step(total_steps, interval_loss / cfg->step_interval, cfg->step_user);
                        interval_loss = 0.0;
                    }
                }
                if (cfg->progress && (steps & 7) == 0 && done_rows < n) { /* [0, 1): the epoch's end is below */
                    double tn = mtr_seconds_now();
                    if (tn - last_progress > 0.25) {
                        last_progress = tn;
                        rep.train_loss = loss_sum / (double)steps;
                        rep.seconds = tn - t0;
                        rep.samples_per_second = (double)done_rows / (tn - t0);
                        if (cfg->progress(&rep, (double)done_rows / (double)n, cfg->progress_user)) {
                            stop = 1;
                            break;
                        }
                    }
                }
            }
            /* streaming: a block of consecutive rows is done for this epoch; let its pages go */
            if (window < n && !pairs && !train->rows) mtr_dataset_release_rows(train->data, first, len);
        }
        double t1 = mtr_seconds_now();
        result->epochs_run = epoch;
        result->train_samples += (double)n;
        rep.train_loss = steps ? loss_sum / (double)steps : 0.0;
        rep.seconds = t1 - t0;
        rep.samples_per_second = (double)n / (t1 - t0 > 0 ? t1 - t0 : 1e-9);
        if (valid) {
            if (mtr_predict(model, valid, valid_scores, cfg->n_threads, err) != 0) goto done;
            mtr_scores_to_label_space(model, valid_scores, n_valid);
            for (int t = 0; t < T; t++)
                mtr_task_metrics_compute(model->kind[t], valid_scores + t, valid_labels + t, n_valid,
                                         (size_t)T, &rep.valid[t]);
            double metric = selection_metric(&rep.valid[cfg->main_task], cfg->stop_on_loss);
            if (metric > best_metric || result->best_epoch == 0) {
                best_metric = metric;
                since_best = 0;
                rep.is_best = 1;
                result->best_epoch = epoch;
                memcpy(result->best_valid, rep.valid, sizeof rep.valid);
                memcpy(best_params, model->params, model->n_params * sizeof *best_params);
            } else {
                since_best++;
            }
        } else {
            result->best_epoch = epoch;
            rep.is_best = 1;
        }
        if (stop) break;
        if (cfg->progress && cfg->progress(&rep, 1.0, cfg->progress_user)) break;
        if (valid && since_best >= cfg->patience) break;
    }
    if (valid && result->best_epoch > 0)
        memcpy(model->params, best_params, model->n_params * sizeof *best_params);
    result->seconds = mtr_seconds_now() - t_start;
    rc = 0;
done:
    trainer_free(&tr);
    free(order);
    free(block_order);
    free(best_params);
    free(valid_scores);
    free(valid_labels);
    return rc;
}

int mtr_train(mtr_model *model, const mtr_view *train, const mtr_view *valid, const mtr_train_config *cfg,
              mtr_train_result *result, mtr_error *err) {
    return train_impl(model, train, valid, cfg, NULL, 0, result, err);
}

int mtr_train_pairs(mtr_model *model, const mtr_view *rows, const uint32_t *pairs, size_t n_pairs,
                    const mtr_train_config *cfg, mtr_train_result *result, mtr_error *err) {
    for (size_t i = 0; i < 2 * n_pairs; i++)
        if (pairs[i] >= rows->count)
            return mtr_fail(err, "pair %zu names view position %u, the view has %zu rows", i / 2, pairs[i], rows->count);
    return train_impl(model, rows, NULL, cfg, pairs, n_pairs, result, err);
}

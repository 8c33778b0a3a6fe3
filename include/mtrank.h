/* mtrank.h - the public API of libmtrank, a C toolkit for multi-task ranking models.
 *
 * The flow a user follows (the CLI in src/cli/ is a client of exactly this):
 *   spec   = mtr_spec_load("census.spec")            describe a delimited text file
 *   schema = mtr_schema_fit(spec, "train.gz")         vocabularies and normalisation from training data
 *   train  = mtr_dataset_compile(schema, "train.gz", "train.mtrd") then mtr_dataset_open("train.mtrd")
 *   model  = mtr_model_create(schema, &model_config)
 *   mtr_train(model, &train_view, &valid_view, &train_config, &result)
 *   mtr_model_save(model, "m.mtrm")  /  mtr_model_load("m.mtrm")  /  mtr_predict(...)
 *
 * Conventions: every call that can fail takes an mtr_error* and returns -1 or NULL on failure with a
 * message in it; the library never prints and never exits. Objects are opaque unless their struct is
 * shown here; each has a matching *_free that accepts NULL. Thread safety: distinct objects may be
 * used from distinct threads; a model may be used for prediction from several threads at once.
 */
#ifndef MTRANK_H
#define MTRANK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTR_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

/* Error messages name the file, the line and the field where that applies. */
typedef struct mtr_error {
    char message[1024]; /* NUL-terminated; empty when no error has been set */
} mtr_error;

/* ---------------------------------------------------------------- limits */

#define MTR_MAX_TASKS 16       /* tasks (objectives) per dataset and model */
#define MTR_MAX_LAYERS 8       /* hidden layers per expert, bottom or tower */
#define MTR_MAX_NAME 64        /* longest column, field or task name, including the NUL */

/* ---------------------------------------------------------------- data: spec and schema */

/* A dataset spec: how to read one kind of delimited text file (format, which column is what, how each
 * task's label is made). Parsed from a small text file; see docs/spec-format.md. */
typedef struct mtr_spec mtr_spec;

mtr_spec *mtr_spec_load(const char *path, mtr_error *err);
/* `origin` names the text in error messages (a path or "<string>"). */
mtr_spec *mtr_spec_parse(const char *text, const char *origin, mtr_error *err);
void mtr_spec_free(mtr_spec *spec);

/* A schema is a spec fitted to a training file: categorical vocabularies (with min count and an
 * out-of-vocabulary id), numeric normalisation statistics and missing-value flags. It fixes the model's
 * inputs, and is stored inside every model file so that predicting needs nothing else. */
typedef struct mtr_schema mtr_schema;

typedef enum mtr_task_kind {
    MTR_TASK_BINARY = 0,     /* label in {0,1}; sigmoid output, cross-entropy loss */
    MTR_TASK_REGRESSION = 1  /* real label; linear output, squared-error loss */
} mtr_task_kind;

mtr_schema *mtr_schema_fit(const mtr_spec *spec, const char *train_path, mtr_error *err);
void mtr_schema_free(mtr_schema *schema);

int mtr_schema_task_count(const mtr_schema *schema);
const char *mtr_schema_task_name(const mtr_schema *schema, int task);
mtr_task_kind mtr_schema_task_kind(const mtr_schema *schema, int task);
int mtr_schema_categorical_count(const mtr_schema *schema);   /* categorical input fields */
int mtr_schema_numeric_count(const mtr_schema *schema);       /* numeric inputs, missing flags included */
uint32_t mtr_schema_vocab_size(const mtr_schema *schema, int field); /* ids 0..size-1 incl. OOV, missing */
const char *mtr_schema_categorical_name(const mtr_schema *schema, int field);
const char *mtr_schema_numeric_name(const mtr_schema *schema, int input);
/* The spec text the schema was fitted from, as the user wrote it. */
const char *mtr_schema_spec_text(const mtr_schema *schema);
/* 64-bit fingerprint of everything that changes compiled data (spec, vocabularies, statistics). */
uint64_t mtr_schema_fingerprint(const mtr_schema *schema);

/* ---------------------------------------------------------------- data: compiled datasets */

/* A dataset in compiled form: per row the categorical ids, the normalised numeric inputs and one label
 * per task (NaN where the label is absent). Memory-mapped from a .mtrd file or built in memory. */
typedef struct mtr_dataset mtr_dataset;

/* Parse `text_path` (plain or .gz) with `schema` and write the compiled form to `out_path` atomically. */
int mtr_dataset_compile(const mtr_schema *schema, const char *text_path, const char *out_path,
                        mtr_error *err);
/* Map a compiled file. If `schema` is not NULL the file must have been compiled with it. */
mtr_dataset *mtr_dataset_open(const char *path, const mtr_schema *schema, mtr_error *err);
/* Parse text straight into memory (no file written); labels may be absent (predicting). */
mtr_dataset *mtr_dataset_read_text(const mtr_schema *schema, const char *text_path, int labels_required,
                                   mtr_error *err);
void mtr_dataset_free(mtr_dataset *ds);

size_t mtr_dataset_rows(const mtr_dataset *ds);
int mtr_dataset_task_count(const mtr_dataset *ds);
/* Label of `task` for `row` (NaN when absent). */
float mtr_dataset_label(const mtr_dataset *ds, size_t row, int task);

/* A view is a list of rows of a dataset (a split, a shuffle, a subsample) without copying data. */
typedef struct mtr_view {
    const mtr_dataset *data; /* the rows' source */
    const uint32_t *rows;    /* row indices into data; NULL means all rows 0..count-1 in order */
    size_t count;            /* number of rows in the view */
} mtr_view;

mtr_view mtr_view_all(const mtr_dataset *ds);
/* Split all rows of `ds` at random (seeded) into two views: `first` gets round(fraction * n) rows.
 * The index arrays are allocated; free them with mtr_view_free_rows. */
int mtr_view_split(const mtr_dataset *ds, double fraction, uint64_t seed, mtr_view *first,
                   mtr_view *second, mtr_error *err);
void mtr_view_free_rows(mtr_view *view);

/* ---------------------------------------------------------------- models */

typedef enum mtr_model_kind {
    MTR_MODEL_SINGLE_TASK = 0,   /* one independent network (embeddings, bottom, tower) per task */
    MTR_MODEL_SHARED_BOTTOM = 1, /* hard sharing: one bottom MLP, one tower per task */
    MTR_MODEL_OMOE = 2,          /* mixture of experts, one gate shared by all tasks */
    MTR_MODEL_MMOE = 3           /* multi-gate mixture of experts: one gate per task (Ma et al. 2018) */
} mtr_model_kind;

typedef enum mtr_activation {
    MTR_ACT_RELU = 0,
    MTR_ACT_TANH = 1,
    MTR_ACT_SIGMOID = 2,
    MTR_ACT_LINEAR = 3
} mtr_activation;

typedef struct mtr_model_config {
    mtr_model_kind kind;                 /* which architecture */
    int embedding_dim;                   /* embedding size per categorical field */
    int n_experts;                       /* experts for OMoE/MMoE (ignored otherwise) */
    int n_bottom_layers;                 /* hidden layers of each expert, or of the (shared) bottom */
    int bottom_layers[MTR_MAX_LAYERS];   /* their widths */
    int n_tower_layers;                  /* hidden layers of each task tower (0 = linear output) */
    int tower_layers[MTR_MAX_LAYERS];    /* their widths */
    mtr_activation activation;           /* hidden-layer activation */
} mtr_model_config;

/* Defaults: MMoE, embedding 4, 8 experts of one layer of 16 units, towers of one layer of 8, ReLU. */
void mtr_model_config_default(mtr_model_config *cfg);
/* NULL if the configuration is usable, else a static message saying what is wrong. */
const char *mtr_model_config_check(const mtr_model_config *cfg);
const char *mtr_model_kind_name(mtr_model_kind kind);
int mtr_model_kind_parse(const char *name, mtr_model_kind *kind);       /* 0 ok, -1 unknown */
const char *mtr_activation_name(mtr_activation act);
int mtr_activation_parse(const char *name, mtr_activation *act);        /* 0 ok, -1 unknown */

typedef struct mtr_model mtr_model;

/* The model copies the schema. Weights are initialised from `seed`. */
mtr_model *mtr_model_create(const mtr_schema *schema, const mtr_model_config *cfg, uint64_t seed,
                            mtr_error *err);
void mtr_model_free(mtr_model *model);
const mtr_schema *mtr_model_schema(const mtr_model *model);
const mtr_model_config *mtr_model_get_config(const mtr_model *model);
size_t mtr_model_parameter_count(const mtr_model *model);
/* The model's named tensors (as stored in its file), for inspection. */
int mtr_model_tensor_count(const mtr_model *model);
/* Name of tensor i; its shape goes to ndim and dims. */
const char *mtr_model_tensor_info(const mtr_model *model, int i, int *ndim, uint64_t dims[4]);
/* Forward FLOPs per sample (multiply-add = 2), for throughput reports. */
double mtr_model_flops_per_sample(const mtr_model *model);

/* Scores for every row of `view`: `scores` is (view->count, n_tasks) row-major; binary tasks get a
 * probability, regression tasks the predicted value. */
int mtr_predict(const mtr_model *model, const mtr_view *view, float *scores, int n_threads,
                mtr_error *err);

/* Model files: magic, format version, metadata (kind, sizes, task names, schema with vocabularies),
 * named tensors, checksum; written atomically. See docs/model-format.md. */
int mtr_model_save(const mtr_model *model, const char *path, mtr_error *err);
mtr_model *mtr_model_load(const char *path, mtr_error *err);

/* ---------------------------------------------------------------- evaluation */

typedef struct mtr_task_metrics {
    mtr_task_kind kind;  /* decides which fields are meaningful */
    size_t count;        /* rows with a label for this task */
    size_t positives;    /* binary: rows labelled 1 */
    double auc;          /* binary: exact ROC AUC, ties counted half; NaN if one class is absent */
    double log_loss;     /* binary: mean cross-entropy */
    double mse;          /* both kinds: mean squared error of the score */
    double r2;           /* regression: 1 - SSE/SST; NaN if the labels are constant */
    double mean_score;   /* mean prediction (calibration check) */
    double mean_label;   /* mean label */
} mtr_task_metrics;

/* Exact ROC AUC of scores against 0/1 labels (rows with NaN labels skipped); tied scores count half.
 * Returns NaN when either class is absent. */
double mtr_auc(const float *scores, const float *labels, size_t n, size_t stride);
/* All metrics of one task; `stride` steps through interleaved (n, n_tasks) arrays. */
void mtr_task_metrics_compute(mtr_task_kind kind, const float *scores, const float *labels, size_t n,
                              size_t stride, mtr_task_metrics *out);
/* Predict `view` and compute metrics for every task into out[0..n_tasks-1]. */
int mtr_evaluate(const mtr_model *model, const mtr_view *view, mtr_task_metrics *out, int n_threads,
                 mtr_error *err);

/* ---------------------------------------------------------------- training */

typedef enum mtr_optimizer {
    MTR_OPT_ADAM = 0,
    MTR_OPT_ADAGRAD = 1,
    MTR_OPT_SGD = 2
} mtr_optimizer;

typedef struct mtr_epoch_report {
    int epoch;                                   /* 1-based */
    int max_epochs;                              /* the configured limit */
    double train_loss;                           /* mean weighted loss over the epoch */
    double seconds;                              /* wall time of this epoch's training pass */
    double samples_per_second;                   /* training throughput this epoch */
    int n_tasks;                                 /* entries used in valid[] */
    mtr_task_metrics valid[MTR_MAX_TASKS];       /* validation metrics (when a validation view is set) */
    int is_best;                                 /* the main task's validation AUC improved */
} mtr_epoch_report;

/* Called after each epoch; return non-zero to stop training early. May also be called mid-epoch with
 * epoch progress in [0,1) for progress display (report->epoch is the running epoch then). */
typedef int (*mtr_progress_fn)(const mtr_epoch_report *report, double epoch_fraction, void *user);

/* Called every `step_interval` optimizer steps with the step count so far and the mean weighted
 * training loss of those steps (loss curves). */
typedef void (*mtr_step_fn)(long step, double mean_loss, void *user);

typedef struct mtr_train_config {
    mtr_optimizer optimizer;          /* update rule */
    float learning_rate;              /* step size */
    float beta1, beta2, epsilon;      /* Adam moments and the denominators' epsilon (Adagrad too) */
    float l2;                         /* L2 penalty on weights (not biases); embeddings: touched rows */
    int batch_size;                   /* samples per step */
    int max_epochs;                   /* passes over the training view at most */
    int patience;                     /* stop after this many epochs without a better main-task AUC */
    int main_task;                    /* task whose validation metric drives early stopping */
    float task_weight[MTR_MAX_TASKS]; /* loss weight per task */
    uint64_t seed;                    /* shuffling (weights are seeded at mtr_model_create) */
    int n_threads;                    /* worker threads; 1 = no threading */
    mtr_progress_fn progress;         /* optional callback, may be NULL */
    void *progress_user;              /* passed to progress */
    mtr_step_fn on_step;              /* optional per-step loss callback, may be NULL */
    int step_interval;                /* steps between on_step calls (>= 1 when on_step is set) */
    void *step_user;                  /* passed to on_step */
} mtr_train_config;

typedef struct mtr_train_result {
    int epochs_run;           /* epochs trained */
    int best_epoch;           /* epoch whose weights the model holds at the end */
    double seconds;           /* wall time of training including validation */
    double train_samples;     /* samples processed */
    int n_tasks;              /* entries used in best_valid */
    mtr_task_metrics best_valid[MTR_MAX_TASKS]; /* validation metrics at best_epoch */
} mtr_train_result;

/* Adam, lr 1e-3, batch 1024, 40 epochs, patience 5, main task 0, weights 1, seed 1, 1 thread. */
void mtr_train_config_default(mtr_train_config *cfg);
const char *mtr_train_config_check(const mtr_train_config *cfg, int n_tasks);
const char *mtr_optimizer_name(mtr_optimizer opt);
int mtr_optimizer_parse(const char *name, mtr_optimizer *opt);

/* Train in place. With a validation view, metrics are computed after every epoch, training stops early
 * on the main task's AUC (R^2 for regression) and the model ends holding the best epoch's weights. */
int mtr_train(mtr_model *model, const mtr_view *train, const mtr_view *valid,
              const mtr_train_config *cfg, mtr_train_result *result, mtr_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MTRANK_H */

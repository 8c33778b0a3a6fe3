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
/* A multi-valued field holds zero or more ids per row (`multi` columns, every field of format = aliccp);
 * the model pools their embeddings by sum or mean. 1 = multi-valued, 0 = exactly one id per row. */
int mtr_schema_field_multi(const mtr_schema *schema, int field);
int mtr_schema_field_pool_mean(const mtr_schema *schema, int field); /* 1 = mean, 0 = sum */
/* Embedding tables: fields with the same `table=` share one vocabulary and one table; every other field
 * has its own. Tables are numbered by their first field; a field's vocab size is its table's size. */
int mtr_schema_table_count(const mtr_schema *schema);
int mtr_schema_field_table(const mtr_schema *schema, int field);
uint32_t mtr_schema_table_size(const mtr_schema *schema, int table);   /* ids 0..size-1 */
const char *mtr_schema_table_name(const mtr_schema *schema, int table);
/* Aux columns: one float per row (NaN = missing) that is neither an input nor a label, e.g. a
 * simulator's true click probability. */
int mtr_schema_aux_count(const mtr_schema *schema);
const char *mtr_schema_aux_name(const mtr_schema *schema, int i);
/* The spec text the schema was fitted from, as the user wrote it. */
const char *mtr_schema_spec_text(const mtr_schema *schema);
/* 64-bit fingerprint of everything that changes compiled data (spec, vocabularies, statistics). */
uint64_t mtr_schema_fingerprint(const mtr_schema *schema);

/* ---------------------------------------------------------------- data: compiled datasets */

/* A dataset in compiled form: per row the categorical ids (one per single-valued field, any number per
 * multi-valued field), the normalised numeric inputs, one label per task (NaN where the label is absent)
 * and the aux values. Memory-mapped from a .mtrd file or built in memory. */
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
int mtr_dataset_aux_count(const mtr_dataset *ds);
/* Aux value `i` of `row` (NaN when missing). */
float mtr_dataset_aux(const mtr_dataset *ds, size_t row, int i);

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
    uint32_t task_mask;                  /* tasks the model predicts (bit t = task t); 0 = all tasks.
                                            Others get no tower, no loss, and NaN scores. */
    int conversion_task;                 /* ESMM structure: this task's output is pCVR, trained through
                                            pCTCVR = pCTR x pCVR against its label on every row, task 0
                                            being the click task (pCTR); -1 = none */
} mtr_model_config;

/* Defaults: MMoE, embedding 4, 8 experts of one layer of 16 units, towers of one layer of 8, ReLU,
 * all tasks, no conversion structure. */
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
/* Whether the model predicts task t (its task_mask). */
int mtr_model_has_task(const mtr_model *model, int task);
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
/* Post-click conversion metrics in the sample space each one belongs to (ESMM, Ma et al. 2018). */
typedef struct mtr_conversion_metrics {
    size_t impressions;          /* rows with click and purchase labels */
    size_t clicks;               /* of which clicked */
    size_t purchases;            /* of which purchased (clicked and converted) */
    double ctr_auc;              /* pCTR against click, over all impressions */
    double cvr_auc;              /* pCVR against purchase, over CLICKED impressions (the paper's CVR AUC) */
    double ctcvr_auc;            /* pCTR x pCVR against purchase, over all impressions */
    double cvr_auc_entire;       /* pCVR against the counterfactual conversion over ALL impressions
                                    (simulated data only; NaN without counterfactual labels) */
    double mean_pctr, click_rate;            /* calibration of pCTR over all impressions */
    double mean_pcvr_clicked, cvr_clicked;   /* calibration of pCVR over clicked impressions */
    double mean_pcvr_all, mean_true_pcvr;    /* over all impressions; the truth needs simulated data */
    double mean_pctcvr, purchase_rate;       /* calibration of pCTCVR over all impressions */
} mtr_conversion_metrics;

/* Rows with a NaN click or purchase label are skipped. cf_purchase and true_pcvr may be NULL.
 * Each array has its own stride (interleaved score or label buffers). */
void mtr_conversion_metrics_compute(const float *pctr, size_t pctr_stride, const float *pcvr,
                                    size_t pcvr_stride, const float *click, const float *purchase,
                                    size_t label_stride, const float *cf_purchase, const float *true_pcvr,
                                    size_t truth_stride, size_t n, mtr_conversion_metrics *out);

/* Predict `view` and compute metrics for every task into out[0..n_tasks-1]. Each task is scored with the
 * model's prediction of its label: for an ESMM conversion task that is pCTR x pCVR, not pCVR. */
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
    int patience;                     /* stop after this many epochs without a better main-task AUC (or
                                         loss, with stop_on_loss) */
    int main_task;                    /* task whose validation metric drives early stopping */
    float task_weight[MTR_MAX_TASKS]; /* loss weight per task */
    uint64_t seed;                    /* shuffling (weights are seeded at mtr_model_create) */
    int n_threads;                    /* worker threads; 1 = no threading */
    int init_output_bias;             /* before training, set each output's bias to the training labels'
                                         base rate (logit of the positive rate; the mean for regression;
                                         for an ESMM conversion task, logit of conversions per click),
                                         so small or imbalanced samples start calibrated */
    size_t shuffle_window;            /* 0: shuffle all rows each epoch; else visit blocks of this many
                                         consecutive rows in random order, each block shuffled (bounded
                                         memory, near-sequential reads of data larger than memory) */
    mtr_progress_fn progress;         /* optional callback, may be NULL */
    void *progress_user;              /* passed to progress */
    mtr_step_fn on_step;              /* optional per-step loss callback, may be NULL */
    int step_interval;                /* steps between on_step calls (>= 1 when on_step is set) */
    void *step_user;                  /* passed to on_step */
    int stop_on_loss;                 /* early stopping on the main task's validation log loss (MSE for
                                         regression) instead of its AUC (R^2): steadier when the validation
                                         rows hold few positives */
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
 * on the main task's AUC (R^2 for regression; or its loss, see stop_on_loss) and the model ends holding
 * the best epoch's weights. */
int mtr_train(mtr_model *model, const mtr_view *train, const mtr_view *valid,
              const mtr_train_config *cfg, mtr_train_result *result, mtr_error *err);

/* ---------------------------------------------------------------- synthetic data (MMoE paper section 3.2) */

/* Two regression tasks of controlled relatedness (Ma et al., KDD 2018, section 3.2): orthogonal unit
 * vectors u1, u2 in R^d, w1 = c u1, w2 = c (P u1 + sqrt(1 - P^2) u2), so that cos(w1, w2) = P;
 * x ~ N(0, I_d); y_k = w_k.x + sum_{i=1..m} sin(alpha_i w_k.x + beta_i) + noise, with alpha and beta drawn
 * once and shared by both tasks. The generated dataset has no categorical fields, d numeric inputs
 * x0..x{d-1} and the regression labels y1, y2 (squared-error loss). */
typedef struct mtr_synthetic_config {
    double correlation; /* P = cos(w1, w2), in [-1, 1] */
    int dim;            /* d, input dimension, >= 2 */
    double scale;       /* c, the length of w1 and w2, > 0 */
    int n_sin;          /* m, sine terms per label; 0 gives linear tasks */
    double alpha_sd;    /* alpha_i ~ N(0, alpha_sd^2) */
    double beta_sd;     /* beta_i ~ N(0, beta_sd^2) */
    double noise_sd;    /* each label's additive Gaussian noise, standard deviation >= 0 */
    uint64_t seed;      /* fixes u1, u2, alpha and beta; P changes w2 but no random draw */
} mtr_synthetic_config;

/* P = 1, d = 100, c = 0.3, m = 5, alpha_sd = beta_sd = 1, noise_sd = 0.1, seed 1. */
void mtr_synthetic_config_default(mtr_synthetic_config *cfg);
/* NULL if the configuration is usable, else a static message saying what is wrong. */
const char *mtr_synthetic_config_check(const mtr_synthetic_config *cfg);
/* `rows` (>= 1) samples of the problem fixed by cfg->seed, drawn from sample stream `stream`: one seed with
 * streams 0 and 1 gives training and test data of the same problem. Deterministic for (cfg, stream). If
 * `schema` is not NULL it receives the matching schema (free with mtr_schema_free). */
mtr_dataset *mtr_synthetic_generate(const mtr_synthetic_config *cfg, size_t rows, uint64_t stream,
                                    mtr_schema **schema, mtr_error *err);
/* Pearson correlation of two tasks' labels over the rows where both are present; NaN when fewer than two
 * such rows or either label is constant. */
double mtr_label_correlation(const mtr_dataset *ds, int task_a, int task_b);

/* ---------------------------------------------------------------- impression simulator (ESMM) */

/* Impressions -> clicks -> conversions in a world shaped like Ali-CCP (the ESMM paper's data): users and
 * items with latent tastes; each impression shows a user an item picked with popularity skew and taste
 * affinity, in a context; click ~ Bernoulli(pCTR); a counterfactual purchase ~ Bernoulli(pCVR) is drawn
 * for EVERY impression (what the user would have done after a click); purchase = click AND that draw.
 * Click and conversion share a fraction `overlap` of their latent factors, so the clicked impressions are
 * a biased sample for conversion (sample selection bias). The intercepts are calibrated on a sample so
 * that the mean pCTR is `ctr` and the mean pCVR over clicked impressions is `cvr`. Rows are streamed:
 * memory is bounded by the user and item tables whatever `rows` is. See docs/simulator.md. */
#define MTR_CCP_FIELDS 23  /* categorical fields per row: 9 user, 7 item, 7 context */
#define MTR_CCP_MAX_BAG 5  /* ids in a bag (recent_categories, recent_brands): 0 to this */
#define MTR_CCP_MAX_IDS (MTR_CCP_FIELDS - 2 + 2 * MTR_CCP_MAX_BAG) /* ids in a row at most */

typedef struct mtr_ccp_config {
    uint64_t rows;            /* impressions to generate, >= 1 */
    uint64_t seed;            /* fixes the world (users, items, effects) and the intercepts */
    uint64_t stream;          /* impression stream: same seed, other stream = new rows of the same world */
    double ctr;               /* target mean pCTR over impressions, in (0, 1) */
    double cvr;               /* target mean pCVR over clicked impressions, in (0, 1) */
    double overlap;           /* in [0, 1]: correlation of the click and conversion latent factors */
    int n_users;              /* users */
    int n_items;              /* items */
    int dim;                  /* latent taste dimension */
    int n_categories;         /* item categories */
    int n_brands;             /* brands (each belongs to one category) */
    int n_shops;              /* shops (each has a hidden quality) */
    double item_zipf;         /* item popularity ~ 1 / rank^item_zipf */
    int candidates;           /* popular items the feed considers per impression */
    double exposure_strength; /* softmax weight of click affinity when the feed picks among them; 0 = none */
    double click_affinity;    /* scale of the user-item click affinity in the click logit */
    double conv_affinity;     /* scale of the user-item conversion affinity in the conversion logit */
    double position_weight;   /* the click logit falls by this times log(1 + position) */
    double price_weight;      /* conversion logit slope on standardised log price (least wealthy users) */
    int calibration_rows;     /* impressions in the sample that calibrates the intercepts */
    int threads;              /* threads compressing .gz output besides the caller's (0..16); no effect on data */
} mtr_ccp_config;

/* One impression. The field ids are raw values 0..cardinality-1 (mtr_ccp_field), not vocabulary ids. */
typedef struct mtr_ccp_row {
    uint64_t index;                           /* 0-based row number within the stream */
    uint32_t id_start[MTR_CCP_FIELDS + 1];    /* field f's ids are ids[id_start[f] .. id_start[f+1]) */
    uint32_t ids[MTR_CCP_MAX_IDS];            /* CSR: one id per field, 0..5 for the two bags */
    float labels[2];                          /* click, purchase (0 or 1); purchase implies click */
    float aux[3];                             /* true_pctr, true_pcvr, cf_purchase (0 or 1) */
    double click_logit;                       /* logit(true_pctr) before rounding to float */
    double conv_logit;                        /* logit(true_pcvr) before rounding to float */
} mtr_ccp_row;

/* Called once per row in order; return non-zero to stop (mtr_gen_ccp then fails). */
typedef int (*mtr_ccp_row_fn)(const mtr_ccp_row *row, void *user);

typedef struct mtr_ccp_summary {
    uint64_t rows;             /* rows generated */
    uint64_t clicks;           /* rows with click = 1 */
    uint64_t purchases;        /* rows with purchase = 1 */
    uint64_t cf_purchases;     /* rows with cf_purchase = 1 (clicked or not) */
    double ctr;                /* clicks / rows */
    double cvr;                /* purchases / clicks (NaN without clicks) */
    double ctcvr;              /* purchases / rows */
    double cf_rate;            /* cf_purchases / rows */
    double mean_pctr;          /* mean true_pctr over all rows */
    double mean_pcvr;          /* mean true_pcvr over all rows */
    double mean_pcvr_clicked;  /* mean true_pcvr over clicked rows (NaN without clicks) */
    double logit_correlation;  /* Pearson correlation of click_logit and conv_logit over all rows */
    double click_intercept;    /* a0, the calibrated click intercept */
    double conv_intercept;     /* b0, the calibrated conversion intercept */
} mtr_ccp_summary;

/* 2 M rows, seed 1, stream 0, ctr 0.04, cvr 0.01, overlap 0.5, 200k users, 500k items, dim 8, 300 categories,
 * 20k brands, 50k shops, item Zipf 0.8, 8 candidates, exposure 1, affinities 1, position 0.3, price 0.5,
 * calibration on 400k impressions, 1 compression thread. */
void mtr_ccp_config_default(mtr_ccp_config *cfg);
/* NULL if the configuration is usable, else a static message saying what is wrong. */
const char *mtr_ccp_config_check(const mtr_ccp_config *cfg);
/* Name of field f (0..MTR_CCP_FIELDS-1) or NULL; its raw ids are 0..*cardinality-1 and a row holds
 * 1 (or 0..*max_ids for a bag) of them. Either pointer may be NULL. */
const char *mtr_ccp_field(const mtr_ccp_config *cfg, int f, uint32_t *cardinality, int *max_ids);
/* Build the world, calibrate, then call fn for each of cfg->rows rows (fn may be NULL: summary only).
 * `summary` (may be NULL) receives the realised rates. Deterministic for (cfg). */
int mtr_gen_ccp(const mtr_ccp_config *cfg, mtr_ccp_row_fn fn, void *user, mtr_ccp_summary *summary,
                mtr_error *err);
/* mtr_gen_ccp into a CSV file with a header (gzip level 1 when out_path ends in .gz; "-" = stdout), written
 * atomically, and the matching dataset spec into spec_path unless it is NULL. */
int mtr_gen_ccp_write(const mtr_ccp_config *cfg, const char *out_path, const char *spec_path,
                      mtr_ccp_summary *summary, mtr_error *err);

/* Learning to rank from preference pairs (BPR, Rendle et al. 2009): the output of cfg->main_task is a
 * ranking score and each pair adds -log sigmoid(s_preferred - s_other); `pairs` holds view positions,
 * preferred first, two per pair. The other tasks' labels are not used. */
int mtr_train_pairs(mtr_model *model, const mtr_view *rows, const uint32_t *pairs, size_t n_pairs,
                    const mtr_train_config *cfg, mtr_train_result *result, mtr_error *err);

/* ---------------------------------------------------------------- post-click conversion (ESMM) */

/* The ways to estimate post-click conversion that the ESMM paper (Ma et al., SIGIR 2018) compares. The
 * schema's task 0 is the click; the purchase task's label is "clicked and converted" on every row. */
typedef enum mtr_cvr_method {
    MTR_CVR_BASE = 0,         /* CVR network trained on clicked impressions only */
    MTR_CVR_AMAN = 1,         /* ... plus unclicked impressions sampled as negatives at aman_rate */
    MTR_CVR_OVERSAMPLING = 2, /* clicked impressions, each conversion repeated `oversample` times (after the
                                 held-out split for early stopping, so no copy is held out) */
    MTR_CVR_UNBIAS = 3,       /* clicked impressions rejection-sampled towards the impression
                                 distribution: kept with probability min(1, q / pCTR) */
    MTR_CVR_DIVISION = 4,     /* separate CTR and CTCVR networks on all impressions; pCVR = pCTCVR / pCTR */
    MTR_CVR_ESMM_NS = 5,      /* ESMM without shared embeddings */
    MTR_CVR_ESMM = 6          /* CTR and CVR towers on shared embeddings, loss CE(click, pCTR) +
                                 CE(purchase, pCTR x pCVR) over all impressions */
} mtr_cvr_method;
#define MTR_CVR_METHODS 7

typedef struct mtr_cvr_config {
    mtr_cvr_method method;    /* which estimator */
    mtr_model_config model;   /* the networks: embedding size, towers; ESMM may use an MMoE bottom */
    int purchase_task;        /* index of the purchase task (task 0 is the click) */
    float aman_rate;          /* AMAN: share of unclicked impressions taken as negatives */
    int oversample;           /* OVERSAMPLING: copies of each converted click */
    float unbias_quantile;    /* UNBIAS: q is this quantile of pCTR over clicked impressions */
    float division_clip;      /* DIVISION: pCVR = min(pCTCVR / pCTR, division_clip) */
    uint64_t seed;            /* weights and sampling */
} mtr_cvr_config;

/* The paper's setting: embedding 18 per field, towers 360-200-80 (then the output), no shared bottom,
 * purchase task 1, AMAN rate 0.1, oversampling 5, UNBIAS quantile 0.05, clip 1. */
void mtr_cvr_config_default(mtr_cvr_config *cfg, mtr_cvr_method method);
const char *mtr_cvr_method_name(mtr_cvr_method method);
int mtr_cvr_method_parse(const char *name, mtr_cvr_method *method);

typedef struct mtr_cvr_model mtr_cvr_model;

/* Train an estimator. Every network trains on its method's sample with 10 % of it held out for early
 * stopping (train_cfg's max_epochs and patience; ESMM is stopped on pCTR x pCVR's AUC). Methods that pair
 * a CVR (or CTCVR) network with a CTR network use `ctr_model` (borrowed, already trained, predicting
 * task 0) when it is not NULL, else they train their own. */
mtr_cvr_model *mtr_cvr_train(const mtr_schema *schema, const mtr_cvr_config *cfg, const mtr_view *train,
                             const mtr_train_config *train_cfg, const mtr_model *ctr_model, mtr_error *err);
/* A CTR network of the configuration's shape, trained on every impression (for sharing across methods). */
mtr_model *mtr_cvr_train_ctr(const mtr_schema *schema, const mtr_cvr_config *cfg, const mtr_view *train,
                             const mtr_train_config *train_cfg, mtr_error *err);
/* pCTR, pCVR and pCTCVR (= pCTR x pCVR, or the CTCVR network's output for DIVISION) for every row. */
int mtr_cvr_predict(const mtr_cvr_model *model, const mtr_view *view, float *pctr, float *pcvr, float *pctcvr,
                    int n_threads, mtr_error *err);
size_t mtr_cvr_parameter_count(const mtr_cvr_model *model);
/* Rows the CVR (or CTCVR) network was trained on, after the method's sample selection. */
size_t mtr_cvr_training_rows(const mtr_cvr_model *model);
void mtr_cvr_free(mtr_cvr_model *model);

/* ---------------------------------------------------------------- learning to rank: LambdaMART */

/* Ranked-list metrics of one list (a query group: the candidates of one request). Relevance is graded
 * (e.g. 4 purchase > 3 cart > 2 favourite > 1 click > 0 impression), finite and >= 0; an item is
 * "relevant" when its relevance is > 0. Items are ranked by score, highest first. Tied scores are
 * handled deterministically and without regard to input order: a metric is its expected value over the
 * orders of each run of tied items (for NDCG, each tied item gets the mean discount of the ranks the run
 * occupies: McSherry & Najork 2008). A NaN score, or a relevance that is negative, infinite or NaN, gives
 * NaN. */

/* NDCG@k: DCG = sum over ranks r = 1..k of (2^rel - 1) / log2(1 + r), divided by the DCG of the list
 * sorted by relevance. k = 0 or k >= n: the whole list. A list with nothing relevant (all relevance 0, or
 * n = 0) has NDCG 1: no order is better than another. */
double mtr_ndcg(const float *scores, const float *relevance, size_t n, int k);
/* 1 / rank of the first relevant item; 0 when nothing is relevant. */
double mtr_reciprocal_rank(const float *scores, const float *relevance, size_t n);
/* (relevant items in the top k) / k, trec_eval's convention: a list shorter than k counts the missing
 * ranks as not relevant. k = 0: the whole list (divided by n). 0 for an empty list. */
double mtr_precision_at_k(const float *scores, const float *relevance, size_t n, int k);

typedef struct mtr_list_metrics {
    int k;                   /* the cut-off used for NDCG and precision (0 = whole list) */
    size_t groups;           /* non-empty groups */
    size_t groups_relevant;  /* of which with at least one relevant item: the means are over these */
    double ndcg;             /* mean NDCG@k; NaN when no group has a relevant item */
    double mrr;              /* mean reciprocal rank */
    double precision;        /* mean precision@k */
} mtr_list_metrics;

/* Metrics averaged over query groups: group g is rows [group_start[g], group_start[g+1]), so
 * group_start has n_groups + 1 entries, starts at 0 and never decreases. Groups without a relevant item
 * are counted but left out of the means (every order of them is as good). -1 with a message on malformed
 * groups, a NaN score or a bad relevance (naming the row). */
int mtr_list_metrics_compute(const float *scores, const float *relevance, const size_t *group_start,
                             size_t n_groups, int k, mtr_list_metrics *out, mtr_error *err);

/* Learning-to-rank data: a dense feature matrix with graded relevance, in query groups. */
typedef struct mtr_rank_data {
    const float *X;            /* (n, d) row-major features; NaN = missing, infinities allowed */
    const float *relevance;    /* (n) graded relevance, finite, in [0, 31] */
    const size_t *group_start; /* (n_groups + 1): group g is rows [group_start[g], group_start[g+1]);
                                  group_start[0] = 0, non-decreasing, group_start[n_groups] = n */
    size_t n;                  /* rows (candidates), 1 .. 2^32 - 1 */
    size_t n_groups;           /* query groups (lists), >= 1 */
    int d;                     /* features per row, >= 1 */
} mtr_rank_data;

/* LambdaMART (Burges 2010): gradient-boosted regression trees fitted by Newton steps to the lambda
 * gradients of NDCG@K, on features pre-binned by quantiles of the training data. See docs/lambdamart.md. */
typedef struct mtr_lambdamart_config {
    int n_trees;               /* boosting rounds at most, 1..1000000 */
    float learning_rate;       /* shrinkage of every tree's leaf values, in (0, 1] */
    int max_leaves;            /* leaves per tree, 2..65536; trees grow best-first (leaf-wise) */
    int max_depth;             /* 0 = no limit; else leaves at this depth are not split (1..64) */
    int min_samples_leaf;      /* rows in a leaf at least, >= 1 */
    float min_hessian_leaf;    /* sum of second-order weights in a leaf at least, >= 0 */
    float l2;                  /* L2 penalty on leaf values: leaf = -G / (H + l2), >= 0 */
    int max_bins;              /* histogram bins per feature for values, 2..255 (missing gets one more) */
    size_t bin_sample_rows;    /* rows sampled (seeded) to place the bin edges; 0 = every row */
    float feature_fraction;    /* share of features each tree may split on, in (0, 1] */
    float group_fraction;      /* share of query groups each tree is fitted on (row subsampling by whole
                                  groups, so lists stay intact), in (0, 1] */
    int ndcg_k;                /* K of NDCG@K in the lambdas and the validation metric; 0 = whole list */
    float sigma;               /* steepness of the pairwise logistic in the lambdas, > 0 */
    int early_stopping_rounds; /* with validation data: stop after this many trees without a better
                                  validation NDCG@K; 0 = never stop early. The model always ends with
                                  the trees of the best validation NDCG@K. */
    uint64_t seed;             /* bin sample, feature and group sampling */
    int n_threads;             /* 1..256; results do not depend on it */
} mtr_lambdamart_config;

/* 300 trees, learning rate 0.1, 31 leaves, no depth limit, 20 rows and hessian 1e-3 per leaf, L2 1,
 * 255 bins placed on 200000 sampled rows, all features and groups, NDCG@10, sigma 1, early stopping
 * after 30 trees, seed 1, 1 thread. */
void mtr_lambdamart_config_default(mtr_lambdamart_config *cfg);
/* NULL if the configuration is usable, else a static message saying what is wrong. */
const char *mtr_lambdamart_config_check(const mtr_lambdamart_config *cfg);

/* Training progress after each tree, and the summary a model keeps (mtr_lambdamart_summary). */
typedef struct mtr_lambdamart_report {
    int tree;           /* trees in the model so far (the one just added is number `tree`) */
    int n_trees;        /* the configured maximum */
    int leaves;         /* leaves of the tree just added */
    double train_ndcg;  /* mean NDCG@K of the training groups with a relevant item */
    double valid_ndcg;  /* the same on the validation groups; NaN without validation data */
    int best_tree;      /* tree count with the best validation NDCG@K so far (= tree without one) */
    double seconds;     /* wall time since training started */
} mtr_lambdamart_report;

/* Called after each tree; return non-zero to stop (the model keeps the best trees so far). */
typedef int (*mtr_lambdamart_progress_fn)(const mtr_lambdamart_report *report, void *user);

typedef struct mtr_lambdamart mtr_lambdamart;

/* Train on `train`; `valid` (may be NULL, same d) drives early stopping. Deterministic for a seed. Fails
 * on a bad configuration, malformed data (naming the row or group), or training data in which no group
 * holds two different relevance values. */
mtr_lambdamart *mtr_lambdamart_train(const mtr_rank_data *train, const mtr_rank_data *valid,
                                     const mtr_lambdamart_config *cfg, mtr_lambdamart_progress_fn progress,
                                     void *progress_user, mtr_error *err);
/* One score per row of X (n, d), higher = ranked first; d must be the model's. Rows are independent and
 * the result does not depend on n_threads. */
int mtr_lambdamart_predict(const mtr_lambdamart *model, const float *X, size_t n, int d, float *scores,
                           int n_threads, mtr_error *err);
int mtr_lambdamart_tree_count(const mtr_lambdamart *model);
int mtr_lambdamart_feature_count(const mtr_lambdamart *model);
/* The configuration it was trained with. */
const mtr_lambdamart_config *mtr_lambdamart_get_config(const mtr_lambdamart *model);
/* The training report at the tree count the model kept (best_tree), except that `tree` counts every
 * tree trained (kept or not) and `seconds` is the whole training. */
const mtr_lambdamart_report *mtr_lambdamart_summary(const mtr_lambdamart *model);
/* Total split gain per feature (d values): which features the trees use. */
const float *mtr_lambdamart_feature_gain(const mtr_lambdamart *model);
/* Model files: the tensor container (magic, version, metadata, trees as arrays, checksum), written
 * atomically; loading checks that every tree is well formed. */
int mtr_lambdamart_save(const mtr_lambdamart *model, const char *path, mtr_error *err);
mtr_lambdamart *mtr_lambdamart_load(const char *path, mtr_error *err);
void mtr_lambdamart_free(mtr_lambdamart *model);

/* ---------------------------------------------------------------- multi-objective session simulator */

/* Requests (sessions) of one user with a candidate list each, for multi-objective ranking: the impression
 * simulator's kind of world (users and items with latent tastes, popularity, context) with five
 * objectives and known ground truth (docs/sessions-simulator.md). Per request: a user drawn by activity, a
 * context and a hidden shopping intent; `list_length` distinct candidates retrieved by popularity and from
 * the user's favourite categories; the logging policy orders them by popularity + taste + noise. Each
 * candidate has TRUE position-free probabilities: click if examined, then cart, favourite and purchase
 * given a click (purchase likelier after a cart) and the expected dwell given a click. The logged outcomes
 * are drawn under position bias: examined with exam(k) = (1 + k / position_scale)^-position_power at
 * logged position k, click ~ Bernoulli(exam x true_click), and cart, fav, purchase (after the cart draw)
 * and dwell only after a click. Intercepts are calibrated on a sample of requests so that the logged rates
 * meet the targets. Deterministic for (cfg); each request has its own random stream, so a run is the
 * prefix of a longer one. Memory is bounded by the world (users, items) and one request. */
#define MTR_SESSIONS_FIELDS 15      /* categorical fields per candidate: 7 user, 4 context, 4 item */
#define MTR_SESSIONS_MAX_BAG 5      /* ids in the recent_categories bag: 1 to this */
#define MTR_SESSIONS_MAX_IDS (MTR_SESSIONS_FIELDS - 1 + MTR_SESSIONS_MAX_BAG) /* ids per candidate at most */
#define MTR_SESSIONS_NUMERIC 4      /* numeric item fields: price, age_days, promotion, low_quality */
#define MTR_SESSIONS_TASKS 5        /* labels: click, cart, fav, purchase (0/1), dwell (seconds) */
#define MTR_SESSIONS_TRUTH 8        /* ground-truth values per candidate (MTR_SESSIONS_TRUE_*) */
#define MTR_SESSIONS_MAX_LIST 1000  /* candidates per request at most */
#define MTR_SESSIONS_MAX_REQUESTS 16777216 /* 2^24 requests at most: request ids stay exact as float aux */

/* Indices of mtr_session_candidate.labels (= task order of the spec) and .truth (= the CSV's order). */
enum { MTR_SESSIONS_CLICK, MTR_SESSIONS_CART, MTR_SESSIONS_FAV, MTR_SESSIONS_PURCHASE, MTR_SESSIONS_DWELL };
enum {
    MTR_SESSIONS_TRUE_CLICK,        /* P(click | examined), position-free */
    MTR_SESSIONS_TRUE_CART,         /* P(cart | click) */
    MTR_SESSIONS_TRUE_FAV,          /* P(favourite | click) */
    MTR_SESSIONS_TRUE_PURCHASE,     /* P(purchase | click), the cart draw averaged out */
    MTR_SESSIONS_TRUE_DWELL,        /* E[dwell | click], seconds */
    MTR_SESSIONS_UTILITY_GMV,       /* true_click x true_purchase x price: expected GMV per examination */
    MTR_SESSIONS_UTILITY_ENGAGEMENT, /* true_click x true_dwell: expected seconds per examination */
    MTR_SESSIONS_EXAMINE            /* exam(k) at the logged position: P(click) = examine x true_click */
};

typedef struct mtr_sessions_config {
    uint64_t requests;          /* requests (candidate lists) to generate, 1..MTR_SESSIONS_MAX_REQUESTS */
    uint64_t seed;              /* fixes the world (users, items, effects) and the intercepts */
    uint64_t stream;            /* request stream: same seed, other stream = new requests of the same world */
    int list_length;            /* candidates per request, 1..MTR_SESSIONS_MAX_LIST and at most n_items / 2 */
    double ctr;                 /* target logged clicks per candidate (examination included), in (0, 1) */
    double cart_rate;           /* target carts per click, in (0, 1) */
    double fav_rate;            /* target favourites per click, in (0, 1) */
    double purchase_rate;       /* target purchases per click that was not carted, in (0, 1) */
    double cart_purchase_rate;  /* target purchases per carted click, in (0, 1) */
    double dwell_median;        /* target median dwell of a click, seconds, in [1, 3600] */
    double dwell_sigma;         /* log-scale sd of a dwell around its candidate's mean, in [0.05, 3] */
    double overlap;             /* in [0, 1]: correlation of the click and conversion latent factors */
    int n_users;                /* users */
    int n_items;                /* items */
    int dim;                    /* latent taste dimension */
    int n_categories;           /* item categories */
    int n_brands;               /* brands (each in one category) */
    int n_shops;                /* shops (each with a hidden quality) */
    double item_zipf;           /* item popularity ~ 1 / rank^item_zipf */
    double retrieval_taste;     /* share of candidates retrieved from the user's favourite categories (the
                                   rest by popularity), in [0, 1] */
    double logging_taste;       /* logging policy: weight of the click affinity in its score, [0, 100] */
    double logging_noise;       /* logging policy: sd of the Gaussian noise in its score, [0, 100] */
    double position_scale;      /* examination (1 + k / scale)^-power at position k: scale in (0, 10^6] */
    double position_power;      /* ... and power in [0, 10]; 0 = every position is examined */
    double new_share;           /* share of items listed less than 7 days ago, in [0, 1] */
    double promotion_share;     /* share of promoted items, in [0, 1] */
    double low_quality_share;   /* share of low-quality items, in [0, 0.5] */
    double price_median;        /* median price (currency units), in [0.1, 10000] */
    double price_weight;        /* cart and purchase logit slope on log price (least wealthy users), [0, 100] */
    int calibration_requests;   /* requests of the sample that calibrates the intercepts, >= 100, and at
                                   most 10^7 candidates (x list_length) */
    int threads;                /* threads compressing .gz output besides the caller's (0..16); no effect on data */
} mtr_sessions_config;

/* One candidate of a request, in logged order. */
typedef struct mtr_session_candidate {
    uint32_t item;                      /* item_id, raw 0..n_items-1 */
    uint32_t category;                  /* the item's category (its brand's) */
    uint32_t brand;                     /* brand id */
    uint32_t shop;                      /* shop id */
    float price;                        /* currency units, a whole number of cents */
    float age_days;                     /* whole days since the item was listed; < 7 = new */
    uint8_t promotion;                  /* 1 = promoted */
    uint8_t low_quality;                /* 1 = low quality (converts less, more quick abandonment) */
    uint16_t position;                  /* logged position 0..n-1 (its index in the request) */
    float labels[MTR_SESSIONS_TASKS];   /* click, cart, fav, purchase (0/1; each of the last three implies a
                                           click), dwell (seconds, > 0 exactly when clicked, else 0) */
    float truth[MTR_SESSIONS_TRUTH];    /* MTR_SESSIONS_TRUE_* */
    float purchase_split[2];            /* P(purchase | click, no cart), P(purchase | click, cart) */
} mtr_session_candidate;

/* One request: the user and context fields are shared by its candidates. Ids are raw values
 * 0..cardinality-1 (mtr_sessions_field), not vocabulary ids. */
typedef struct mtr_session_request {
    uint64_t index;                        /* request_id, 0-based within the stream */
    uint32_t user;                         /* user_id */
    uint16_t user_attr[5];                 /* age_bucket, gender, city, purchase_power, user_segment */
    uint16_t context[4];                   /* hour, weekday, device, scene */
    int n_recent;                          /* ids in recent_categories, 1..MTR_SESSIONS_MAX_BAG */
    uint32_t recent[MTR_SESSIONS_MAX_BAG]; /* the user's favourite categories (retrieval draws from them) */
    double intent;                         /* hidden shopping intent, added to the cart and purchase logits */
    int n;                                 /* candidates (list_length) */
    const mtr_session_candidate *cand;     /* (n) in logged order: cand[k].position == k; the generator's
                                              memory, valid during the callback only */
} mtr_session_request;

/* Called once per request in order; return non-zero to stop (mtr_gen_sessions then fails). */
typedef int (*mtr_session_fn)(const mtr_session_request *req, void *user);

typedef struct mtr_sessions_summary {
    uint64_t requests;              /* requests generated */
    uint64_t candidates;            /* rows: requests x list_length */
    uint64_t clicks, carts, favs, purchases; /* rows with each label = 1 */
    uint64_t cart_purchases;        /* purchases of carted clicks */
    double ctr;                     /* clicks / candidates */
    double cart_rate;               /* carts / clicks (NaN without clicks; likewise below) */
    double fav_rate;                /* favourites / clicks */
    double purchase_rate;           /* purchases / clicks */
    double purchase_nocart_rate;    /* purchases without a cart / clicks without a cart */
    double purchase_cart_rate;      /* cart_purchases / carts */
    double dwell_median;            /* median dwell over clicks, seconds (histogram, 0.5 % resolution) */
    double dwell_mean;              /* mean dwell over clicks */
    double mean_examine;            /* mean examine over candidates */
    double mean_true_click;         /* mean true_click over candidates */
    double mean_expected_click;     /* mean examine x true_click: the expected ctr */
    double mean_true_cart_clicked;  /* mean true_cart over clicked candidates: the expected cart_rate */
    double mean_true_fav_clicked;   /* likewise fav */
    double mean_true_purchase_clicked; /* likewise purchase */
    double mean_true_dwell_clicked; /* mean true_dwell over clicks: the expected dwell_mean */
    double new_share;               /* candidates younger than 7 days */
    double promotion_share;         /* promoted candidates */
    double low_quality_share;       /* low-quality candidates */
    double gmv;                     /* sum of price over purchases */
    double logged_gmv_at10;         /* mean over requests of sum_{k<10} exam(k) utility_gmv, logged order */
    double ideal_gmv_at10;          /* the same with the candidates sorted by utility_gmv (the best order) */
    double click_intercept, cart_intercept, fav_intercept, purchase_intercept; /* calibrated */
    double cart_lift;               /* added to the purchase logit after a cart (calibrated) */
    double dwell_log_median;        /* calibrated log-dwell intercept */
} mtr_sessions_summary;

/* 10000 requests, seed 1, stream 0, 100 candidates, ctr 0.05, cart 0.15, fav 0.08, purchase 0.03 without
 * a cart and 0.20 after one, dwell median 30 s with log-sd 0.8, overlap 0.5, 100k users, 200k items,
 * dim 8, 200 categories, 10k brands, 20k shops, item Zipf 0.8, retrieval taste 0.5, logging taste 0.5
 * and noise 1, examination (1 + k/10)^-0.7, new 4 %, promoted 10 %, low quality 5 %, median price 30,
 * price weight 0.5, calibration on 2000 requests, 1 compression thread. */
void mtr_sessions_config_default(mtr_sessions_config *cfg);
/* NULL if the configuration is usable, else a static message saying what is wrong. */
const char *mtr_sessions_config_check(const mtr_sessions_config *cfg);
/* Name of categorical field f (0..MTR_SESSIONS_FIELDS-1) or NULL; its raw ids are 0..*cardinality-1 and a
 * candidate has one of them (1..*max_ids for the bag). Either pointer may be NULL. */
const char *mtr_sessions_field(const mtr_sessions_config *cfg, int f, uint32_t *cardinality, int *max_ids);
/* Names of numeric field i (price, age_days, promotion, low_quality), task t (click, cart, fav, purchase,
 * dwell) and truth value i (true_click ... examine), as in the CSV; NULL when out of range. */
const char *mtr_sessions_numeric_name(int i);
const char *mtr_sessions_task_name(int t);
const char *mtr_sessions_truth_name(int i);
/* Candidate k's categorical ids in field order, CSR: field f's ids are ids[id_start[f] .. id_start[f+1]).
 * Returns the number of ids. */
int mtr_session_candidate_ids(const mtr_session_request *req, int k, uint32_t id_start[MTR_SESSIONS_FIELDS + 1],
                              uint32_t ids[MTR_SESSIONS_MAX_IDS]);
/* Candidate k's numeric fields as written: price, age_days, promotion, low_quality. */
void mtr_session_candidate_numeric(const mtr_session_request *req, int k, float out[MTR_SESSIONS_NUMERIC]);
/* Build the world, calibrate, then call fn for each of cfg->requests requests (fn may be NULL: summary
 * only). `summary` (may be NULL) receives the realised rates. Deterministic for (cfg). */
int mtr_gen_sessions(const mtr_sessions_config *cfg, mtr_session_fn fn, void *user,
                     mtr_sessions_summary *summary, mtr_error *err);
/* mtr_gen_sessions into a CSV file with a header, one row per candidate (gzip level 1 when out_path ends
 * in .gz; "-" = stdout), written atomically, and the matching dataset spec into spec_path unless NULL. */
int mtr_gen_sessions_write(const mtr_sessions_config *cfg, const char *out_path, const char *spec_path,
                           mtr_sessions_summary *summary, mtr_error *err);

/* ---------------------------------------------------------------- ranking: fusion and rules */

/* Score fusion: one score per candidate from a formula over the candidate's variables (model scores such
 * as ctr, cvr, item fields such as price, age) and named parameters, for example
 *     ctr * (alpha + cvr) * (beta + price) ^ p * stay ^ a * cart ^ b * fav ^ c * rule_weight
 * Operators + - * / ^ (right-associative, above unary minus: -2^2 = -4), comparisons < <= > >= == != (1 or
 * 0, not chained), and, or, not, parentheses; functions min and max (2 or more arguments), log, exp, sqrt,
 * abs, clamp(x, lo, hi), if(cond, a, b). Float arithmetic with IEEE semantics: NaN propagates (log of a
 * negative number, a negative base to a non-integer power, 0/0, a NaN condition), log(0) = -inf.
 * docs/fusion-and-rules.md has the grammar and every edge case. Compiled once into a register program
 * with constants folded; evaluated column-wise over blocks of candidates without allocating. */
typedef struct mtr_fusion mtr_fusion;

typedef struct mtr_fusion_param {
    const char *name; /* an identifier, distinct from every variable and parameter */
    double value;     /* initial value */
} mtr_fusion_param;

/* Variable i of the formula is column i of the candidate matrix. Errors give the position:
 * "formula:1:17: unknown variable 'cvv' (variables: ctr, cvr; parameters: alpha) - did you mean 'cvr'?" */
mtr_fusion *mtr_fusion_compile(const char *formula, const char *const *vars, int n_vars,
                               const mtr_fusion_param *params, int n_params, mtr_error *err);
void mtr_fusion_free(mtr_fusion *fusion);
const char *mtr_fusion_formula(const mtr_fusion *fusion);
int mtr_fusion_var_count(const mtr_fusion *fusion);
int mtr_fusion_param_count(const mtr_fusion *fusion);
const char *mtr_fusion_param_name(const mtr_fusion *fusion, int i);
int mtr_fusion_param_find(const mtr_fusion *fusion, const char *name);   /* index, or -1 */
double mtr_fusion_get_param(const mtr_fusion *fusion, int i);
/* Change parameter i (or the one named) without recompiling; the program reads it as a float. Not safe
 * while another thread evaluates the same fusion. */
void mtr_fusion_set_param(mtr_fusion *fusion, int i, double value);
int mtr_fusion_set_param_named(mtr_fusion *fusion, const char *name, double value, mtr_error *err);

/* Scores of n candidates: x is (n, stride) row-major holding the variables in its first n_vars columns
 * (stride >= n_vars), out is (n). Allocation-free; fails only on a bad stride. */
int mtr_fusion_eval(const mtr_fusion *fusion, const float *x, size_t n, size_t stride, float *out,
                    mtr_error *err);
/* One candidate's score (row holds the n_vars variables): the reference, equal to mtr_fusion_eval's
 * result bit for bit. */
float mtr_fusion_eval_one(const mtr_fusion *fusion, const float *row);

/* Parameter search: grid or seeded random search over parameter ranges, maximising a caller's metric
 * (e.g. NDCG@10 over validation sessions, computed by ranking them with the fusion as it is set). */
typedef enum mtr_search_method {
    MTR_SEARCH_GRID = 0,   /* g points per range, g the largest with g^n_ranges <= budget (g = 1: midpoint) */
    MTR_SEARCH_RANDOM = 1  /* budget points drawn uniformly (in log space with log_scale) from the seed */
} mtr_search_method;

typedef struct mtr_param_range {
    const char *name; /* a parameter of the formula */
    double lo, hi;    /* inclusive range, lo <= hi, finite */
    int log_scale;    /* 1: points evenly spaced / drawn in log(value); needs lo > 0 */
} mtr_param_range;

/* Return the metric of the fusion with its current parameters; larger is better, NaN is worst. */
typedef double (*mtr_fusion_metric_fn)(const mtr_fusion *fusion, void *user);

/* Evaluate `metric` at each point (the fusion's parameters set to it), in a fixed order; the first point
 * with the largest metric wins. The fusion is left holding the best point's values; best_values
 * (n_ranges, in the order of `ranges`) and best_metric receive them. Deterministic for (ranges, budget,
 * seed) given a deterministic metric. */
int mtr_fusion_search(mtr_fusion *fusion, mtr_search_method method, const mtr_param_range *ranges,
                      int n_ranges, int budget, uint64_t seed, mtr_fusion_metric_fn metric, void *user,
                      double *best_values, double *best_metric, mtr_error *err);

/* Rules re-ranking, applied in order after fusion, from a config file of lines
 *     rule <kind> key=value ... [drop]          (# starts a comment)
 * Kinds: diversity (at most max= items per key= value in the top= positions), promote (field != 0), new
 * (field below= a limit), low_quality (field != 0), exposure_cap (items shown max= times in the last
 * window= requests, counting the first shown= of each final list). Every kind but diversity selects
 * candidates and applies one effect: multiply=F or add=A (the adjusted score; the list is re-sorted),
 * up=P or down=P (positions), or drop. Errors name the file, the line and the key. See
 * docs/fusion-and-rules.md. */
#define MTR_MAX_RULES 32
#define MTR_RANK_NO_KEY UINT32_MAX /* a key value no diversity limit counts (unknown category, ...) */

typedef struct mtr_rules mtr_rules;

/* The columns rules may name: the numeric variables (the fusion formula's, same order) and the
 * categorical keys (diversity). */
typedef struct mtr_rank_fields {
    const char *const *vars; /* (n_vars) names of the candidate matrix's columns */
    int n_vars;
    const char *const *keys; /* (n_keys) names of the key matrix's columns, e.g. category, brand, shop */
    int n_keys;
} mtr_rank_fields;

mtr_rules *mtr_rules_load(const char *path, const mtr_rank_fields *fields, mtr_error *err);
/* `origin` names the text in error messages (a path or "<string>"). */
mtr_rules *mtr_rules_parse(const char *text, const char *origin, const mtr_rank_fields *fields,
                           mtr_error *err);
void mtr_rules_free(mtr_rules *rules);
int mtr_rules_count(const mtr_rules *rules);
/* Kind of rule i: "diversity", "promote", "new", "low_quality" or "exposure_cap". */
const char *mtr_rules_kind(const mtr_rules *rules, int i);
/* Rule i in canonical config syntax ("rule promote field=promo multiply=1.5") into buf (always
 * NUL-terminated); returns buf. */
const char *mtr_rules_describe(const mtr_rules *rules, int i, char *buf, size_t size);

/* What a rule did to a candidate. */
typedef enum mtr_rank_reason {
    MTR_REASON_NONE = 0,      /* no rule acted on it */
    MTR_REASON_SCORE = 1,     /* its adjusted score was multiplied or increased */
    MTR_REASON_UP = 2,        /* moved up by positions */
    MTR_REASON_DOWN = 3,      /* moved down by positions */
    MTR_REASON_DROP = 4,      /* removed from the list */
    MTR_REASON_DIVERSITY = 5  /* pushed down: its key already had the maximum number of items in the top */
} mtr_rank_reason;
const char *mtr_rank_reason_name(mtr_rank_reason reason); /* "none", "score", "up", "down", "drop", "diversity" */

/* Exposure counters behind function pointers, so that they can live in another process or a shared
 * store: counts of exposures per item id, each exposure stamped with a request number. The in-process
 * implementation (mtr_exposure_memory_init) keeps an exact sliding window in fixed memory. */
typedef struct mtr_exposure_store {
    void *state; /* the implementation's */
    /* counts[i] = exposures of items[i] still held (not expired) */
    int (*get)(void *state, const uint64_t *items, size_t n, uint32_t *counts, mtr_error *err);
    /* one exposure of each items[i] at request `request` (non-decreasing from call to call) */
    int (*increment)(void *state, const uint64_t *items, size_t n, uint64_t request, mtr_error *err);
    /* forget every exposure made at a request < before */
    int (*expire)(void *state, uint64_t before, mtr_error *err);
    void (*destroy)(void *state); /* release state; may be NULL */
} mtr_exposure_store;

/* An in-process store holding up to `capacity` exposures at once (a window of W requests showing S items
 * each needs W * S); incrementing beyond that fails with a message. Not thread-safe. */
int mtr_exposure_memory_init(mtr_exposure_store *store, size_t capacity, mtr_error *err);
/* Calls store->destroy and clears the struct; accepts NULL. */
void mtr_exposure_store_destroy(mtr_exposure_store *store);

/* One request's candidates. */
typedef struct mtr_rank_list {
    size_t n;                  /* candidates */
    const float *x;            /* (n, stride): the variables (mtr_rank_fields.vars / the formula's) */
    size_t stride;             /* floats from one candidate's row to the next, >= n_vars */
    const uint32_t *keys;      /* (n, key_stride): key values for diversity rules; may be NULL without */
    size_t key_stride;         /* >= n_keys */
    const uint64_t *item_ids;  /* (n) item ids for exposure_cap; may be NULL without such a rule */
    uint64_t request;          /* request number for the exposure window (non-decreasing); 0 = the
                                  context's own count: 1 for its first request, then 2, ... */
} mtr_rank_list;

/* One request's outcome. The arrays belong to the context and stay valid until its next request. */
typedef struct mtr_rank_result {
    size_t n;                    /* candidates in the request */
    size_t n_ranked;             /* candidates in the final list: n minus the dropped */
    const uint32_t *order;       /* (n): order[0..n_ranked) the final list, best first; then the dropped
                                    candidates in the order they were dropped */
    const uint32_t *position;    /* (n) by candidate: final position, or UINT32_MAX when dropped */
    const uint32_t *fused_position; /* (n) by candidate: position in the order of the fused scores */
    const float *fused;          /* (n) by candidate: the formula's score (or the caller's) */
    const float *adjusted;       /* (n) by candidate: after multiply/add rules */
    const int8_t *rule;          /* (n) by candidate: the last rule that acted on it, -1 = none */
    const uint8_t *reason;       /* (n) by candidate: mtr_rank_reason of that rule's action */
    const uint32_t *rules_mask;  /* (n) by candidate: bit r set when rule r acted on it */
} mtr_rank_result;

/* Scratch for ranking lists of up to max_candidates, sized once: ranking then never allocates. `fusion`
 * and `rules` are borrowed (either may be NULL: no formula, or no rules). `store` is borrowed too; with
 * NULL the context keeps its own in-process store when the rules have an exposure cap. One context per
 * thread; several may share a fusion and rules. */
typedef struct mtr_rank_context mtr_rank_context;
mtr_rank_context *mtr_rank_context_create(const mtr_fusion *fusion, const mtr_rules *rules,
                                          size_t max_candidates, mtr_exposure_store *store, mtr_error *err);
void mtr_rank_context_free(mtr_rank_context *ctx);
/* Fuse, then apply the rules. Ties are broken by fused score, then candidate index; NaN scores rank last. */
int mtr_rank(mtr_rank_context *ctx, const mtr_rank_list *list, mtr_rank_result *out, mtr_error *err);
/* The rules alone over the caller's scores (n), e.g. a learning-to-rank model's; they stand in for the
 * fused scores. */
int mtr_rank_scored(mtr_rank_context *ctx, const mtr_rank_list *list, const float *scores,
                    mtr_rank_result *out, mtr_error *err);

/* ---------------------------------------------------------------- ranking requests */

/* One ranking stage end to end, for embedding in a server: the models score a request's candidates, the
 * fusion formula turns their outputs and the item fields into one score, the rules re-rank. Set up once:
 *     mtr_ranker *r = mtr_ranker_create(&cfg, &err);          models, item fields, key columns, capacity
 *     const mtr_rank_fields *f = mtr_ranker_fields(r);         the names formula and rules bind to
 *     mtr_fusion *fu = mtr_fusion_compile(formula, f->vars, f->n_vars, params, n_params, &err);
 *     mtr_rules *ru = mtr_rules_load("ranking.rules", f, &err);
 *     mtr_ranker_set_ranking(r, fu, ru, &err);
 * then every request is scored and ranked without allocating: mtr_rank_request(r, &req, &res, &err).
 * The variables (the columns formula and rules read) are, in order: each task each model predicts (a
 * probability for a binary task, the value for a regression task), then the item fields. A model without
 * a name gives variables named by its tasks ("click", "purchase"); a named model predicting one task gives
 * the variable `name`, one predicting several gives `name_task` for each. See docs/multiobjective.md. */
#define MTR_RANKER_MAX_MODELS 16 /* models one ranker runs */
#define MTR_RANKER_MAX_VARS 128  /* variables: model outputs plus item fields */
#define MTR_RANKER_MAX_KEYS 256  /* key columns */

typedef struct mtr_ranker_model {
    const mtr_model *model; /* borrowed: must outlive the ranker */
    const char *name;       /* NULL or "": variables named by task; else as above */
} mtr_ranker_model;

typedef struct mtr_ranker_config {
    const mtr_ranker_model *models; /* (n_models) 1..MTR_RANKER_MAX_MODELS, all of one schema (fingerprint) */
    int n_models;
    const char *const *fields;      /* (n_fields) item fields: variables whose raw values come with each
                                       request (price, age_days, ...), after the model outputs */
    int n_fields;
    const char *const *keys;        /* (n_keys) key columns of diversity rules: single-valued categorical
                                       fields of the schema (their values come from the rows, or the request) */
    int n_keys;                     /* 0..MTR_RANKER_MAX_KEYS */
    size_t max_candidates;          /* rows of one request at most (a batch: all its lists), 1..2^24 */
    uint32_t max_ids_per_row;       /* categorical ids one row may hold; 0 = one per single-valued field plus
                                       16 per multi-valued field */
    mtr_exposure_store *store;      /* borrowed, or NULL: as for mtr_rank_context_create */
} mtr_ranker_config;

typedef struct mtr_ranker mtr_ranker;

/* Checks the models share a schema, that variable names are distinct and that every key is a
 * single-valued categorical field; sizes every buffer for max_candidates. */
mtr_ranker *mtr_ranker_create(const mtr_ranker_config *cfg, mtr_error *err);
void mtr_ranker_free(mtr_ranker *r);
/* The variables (model outputs, then fields) and keys, owned by the ranker: what to compile the formula
 * and load the rules with. */
const mtr_rank_fields *mtr_ranker_fields(const mtr_ranker *r);
/* Use `fusion` and `rules` (borrowed; rules may be NULL) from now on; they must have been bound to
 * mtr_ranker_fields. fusion may be NULL when the models give exactly one variable: it is the score. May
 * be called again to switch formula or rules (this allocates; requests do not). */
int mtr_ranker_set_ranking(mtr_ranker *r, const mtr_fusion *fusion, const mtr_rules *rules, mtr_error *err);

/* The candidates of one request, or of a batch of requests scored together and ranked list by list. */
typedef struct mtr_request {
    mtr_view rows;               /* candidates: rows of a dataset read or compiled with the models' schema */
    size_t n_lists;              /* lists in the batch; 0 or 1: the view is one list */
    const size_t *list_start;    /* (n_lists + 1): list g is view positions [list_start[g], list_start[g+1]),
                                    from 0 to rows.count; NULL with one list */
    const uint64_t *request_ids; /* (n_lists) request numbers for the exposure window (non-decreasing), or
                                    NULL: the ranker counts requests itself */
    const float *fields;         /* (rows.count, field_stride) raw item-field values, columns in config order;
                                    NULL: each field is read from the rows' aux column of the same name */
    size_t field_stride;         /* >= n_fields */
    const uint32_t *keys;        /* (rows.count, key_stride) key values, columns in config order; NULL: the
                                    rows' categorical ids (an unknown or missing value is MTR_RANK_NO_KEY) */
    size_t key_stride;           /* >= n_keys */
    const uint64_t *item_ids;    /* (rows.count) item ids, needed by an exposure_cap rule; else may be NULL */
} mtr_request;

/* The outcome, indexed by view position. The arrays belong to the ranker and stay valid until its next
 * request. */
typedef struct mtr_request_result {
    size_t n;                       /* candidates: rows.count */
    size_t n_lists;                 /* lists */
    const size_t *n_ranked;         /* (n_lists) candidates in each final list: its length minus the dropped */
    const uint32_t *order;          /* (n): list g's slice [list_start[g], list_start[g+1]) holds its view
                                       positions, the final list best first, then the dropped ones */
    const uint32_t *position;       /* (n) final position within its list, or UINT32_MAX when dropped */
    const uint32_t *fused_position; /* (n) position within its list in the order of the fused scores */
    const float *fused;             /* (n) the formula's score */
    const float *adjusted;          /* (n) after multiply/add rules */
    const int8_t *rule;             /* (n) the last rule that acted on it, -1 = none */
    const uint8_t *reason;          /* (n) mtr_rank_reason of that rule's action */
    const uint32_t *rules_mask;     /* (n) bit r set when rule r acted on it */
    const float *x;                 /* (n, n_vars) the variables: model outputs, then fields */
    int n_vars;                     /* columns of x */
    double model_seconds;           /* wall time of the models (gathering the rows included) */
    double rank_seconds;            /* wall time of fusion and rules */
} mtr_request_result;

/* Score, fuse, apply the rules. Fails (with a message naming the list or the column) on rows of another
 * schema, more rows than max_candidates, malformed lists, or what mtr_rank refuses. */
int mtr_rank_request(mtr_ranker *r, const mtr_request *req, mtr_request_result *out, mtr_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MTRANK_H */

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
    int patience;                     /* stop after this many epochs without a better main-task AUC */
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

/* ---------------------------------------------------------------- post-click conversion (ESMM) */

/* The ways to estimate post-click conversion that the ESMM paper (Ma et al., SIGIR 2018) compares. The
 * schema's task 0 is the click; the purchase task's label is "clicked and converted" on every row. */
typedef enum mtr_cvr_method {
    MTR_CVR_BASE = 0,         /* CVR network trained on clicked impressions only */
    MTR_CVR_AMAN = 1,         /* ... plus unclicked impressions sampled as negatives at aman_rate */
    MTR_CVR_OVERSAMPLING = 2, /* clicked impressions, each conversion repeated `oversample` times */
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

#ifdef __cplusplus
}
#endif
#endif /* MTRANK_H */

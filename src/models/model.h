/* model.h - the model's internal layout, shared by construction, forward/backward, training and files.
 *
 * Every architecture of the MMoE family is built from "nets". A net reads the categorical ids through
 * its own embedding table, concatenates the numeric inputs, and runs:
 *   input layer   one GEMM: x (B, D) -> [ E experts' first layers | G gates' logits ]   (B, E*U1 + G*E)
 *   expert layers per expert, further hidden layers (E*U_l -> E*U_{l+1})
 *   mixture       per task, gate-weighted sum of the E expert outputs (only when G > 0)
 *   towers        per task, hidden layers then one output unit (logit or regression value)
 * The four model kinds are settings of (nets, E, G):
 *   Single-Task   one net per task, E = 1, G = 0     (no sharing at all)
 *   Shared-Bottom one net, E = 1, G = 0              (hard sharing of the bottom)
 *   OMoE          one net, E = n_experts, G = 1      (one gate for all tasks)
 *   MMoE          one net, E = n_experts, G = tasks  (one gate per task)
 *
 * All parameters live in one float slab; tensors are named views into it (offsets), so gradients and
 * optimizer moments reuse the same layout and the model file is one loop over the tensor list.
 */
#ifndef MTR_MODELS_MODEL_H
#define MTR_MODELS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"
#include "ops/embedding_projection.h"

#define MTR_MAX_NETS MTR_MAX_TASKS
/* Tensors: embedding + input w,b + 2 per extra expert layer + per task 2 per tower layer and output. */
#define MTR_MAX_TENSORS_PER_NET (3 + 2 * MTR_MAX_LAYERS + MTR_MAX_TASKS * 2 * (MTR_MAX_LAYERS + 1))

/* The input layer's embedding part: chosen per batch by how many distinct rows it uses, or forced. */
typedef enum mtr_input_path {
    MTR_INPUT_AUTO = 0,      /* projected when distinct rows <= MTR_PROJECTION_MAX_DISTINCT * uses */
    MTR_INPUT_DENSE = 1,     /* gather embeddings, one GEMM over the whole input */
    MTR_INPUT_PROJECTED = 2  /* per distinct row projections (ops/embedding_projection.h) */
} mtr_input_path;

typedef struct mtr_tensor {
    char name[MTR_MAX_NAME]; /* unique name, e.g. "net0.input.w"; the key in model files */
    size_t offset;           /* first float in the parameter slab */
    size_t size;             /* number of floats */
    int ndim;                /* 1..3 */
    uint64_t dims[4];        /* shape, row-major */
    int is_embedding;        /* row-sparse: dims = (rows, dim); updated only on rows a batch touched */
    int decay;               /* L2 applies (weights: yes, biases: no) */
} mtr_tensor;

typedef struct mtr_net {
    int n_tasks;                      /* tasks this net predicts */
    int task[MTR_MAX_TASKS];          /* their global task indices */
    int n_fields;                     /* categorical fields */
    int emb_dim;                      /* embedding width per field */
    int n_numeric;                    /* numeric inputs */
    int input_dim;                    /* D = n_fields * emb_dim + n_numeric */
    int n_experts;                    /* E */
    int n_gates;                      /* G: 0, 1 or n_tasks */
    int n_layers;                     /* expert (or bottom) hidden layers; 0 = no bottom: the towers read
                                         the input, their first layers fused into the input layer */
    int width[MTR_MAX_LAYERS];        /* units per expert in each layer */
    int input_cols;                   /* E * width[0] + G * E, or with no bottom n_tasks * (tower_width[0]
                                         or 1): columns of the input layer */
    int n_tower_layers;               /* hidden layers per tower */
    int tower_width[MTR_MAX_LAYERS];  /* their widths */
    uint32_t *field_offset;           /* (n_fields + 1) first row of each field's table in the net's
                                         embedding matrix (fields may share a table); last = rows */
    uint32_t *virtual_offset;         /* (n_fields + 1) per-field offsets of (field, id) pairs */
    unsigned char *pool_mean;         /* (n_fields) 1 = mean-pool a multi-valued field's embeddings */
    mtr_field_layout layout;          /* the three above, as the embedding ops take them */
    /* tensor indices into mtr_model.tensors */
    int t_embedding;                               /* (rows, emb_dim) */
    int t_input_w, t_input_b;                      /* (D, input_cols), (input_cols) */
    int t_layer_w[MTR_MAX_LAYERS];                 /* layer l >= 1: (E, width[l-1], width[l]) */
    int t_layer_b[MTR_MAX_LAYERS];                 /* (E, width[l]) */
    int t_tower_w[MTR_MAX_TASKS][MTR_MAX_LAYERS + 1]; /* per task, hidden layers then output (.., 1) */
    int t_tower_b[MTR_MAX_TASKS][MTR_MAX_LAYERS + 1];
} mtr_net;

struct mtr_model {
    mtr_model_config cfg;             /* architecture as configured */
    mtr_schema *schema;               /* owned copy: inputs, tasks, vocabularies */
    int n_tasks;                      /* the schema's tasks (width of scores and labels) */
    uint32_t task_mask;               /* tasks predicted (cfg.task_mask with 0 resolved to all) */
    mtr_task_kind kind[MTR_MAX_TASKS];/* per task */
    int n_nets;                       /* 1, or n_tasks for Single-Task */
    mtr_net nets[MTR_MAX_NETS];       /* the networks */
    int n_tensors;                    /* used entries of tensors */
    mtr_tensor *tensors;              /* named views into params */
    size_t n_params;                  /* floats in the slab */
    float *params;                    /* the parameter slab */
    mtr_input_path input_path;        /* how input layers multiply embeddings (not saved; tests, bench) */
};

/* Output width of a net's expert stack (the input width of each tower); 0 without a bottom. */
static inline int mtr_net_expert_out(const mtr_net *net) {
    return net->n_layers ? net->width[net->n_layers - 1] : 0;
}
/* First tower layer computed after the input layer: 1 when the input layer holds the towers' first
 * layers (no bottom), else 0. */
static inline int mtr_net_tower_start(const mtr_net *net) { return net->n_layers == 0 ? 1 : 0; }
/* Width of each task's block of the input layer when there is no bottom. */
static inline int mtr_net_stem_width(const mtr_net *net) {
    return net->n_tower_layers > 0 ? net->tower_width[0] : 1;
}

/* Turn mtr_predict's scores into predictions of each task's label: the conversion task's pCVR becomes
 * pCTR x pCVR (its label is clicked-and-converted on every row); other tasks are unchanged. */
void mtr_scores_to_label_space(const mtr_model *model, float *scores, size_t n);

/* Build the layout for `schema` and `cfg` and allocate a zeroed slab (no initialisation). */
mtr_model *mtr_model_alloc(const mtr_schema *schema, const mtr_model_config *cfg, mtr_error *err);
/* Initialise every tensor from `seed` (embeddings uniform +-0.05, weights Glorot uniform, biases 0). */
void mtr_model_init_weights(mtr_model *model, uint64_t seed);
int mtr_model_find_tensor(const mtr_model *model, const char *name);

#endif

/* rank_request.h - private to src/rank (and the tests and benchmark that look inside): the ranker behind
 * mtr_rank_request (include/mtrank.h, "ranking requests"). A ranker owns, sized once for max_candidates
 * rows, the gathered batch, every model net's inference buffers, the variable matrix the formula reads,
 * the key matrix of the diversity rules and the per-row result arrays; a request fills them and ranks
 * list by list through one mtr_rank_context, so nothing is allocated per request.
 *
 * Assumes the models share one schema (checked at creation by fingerprint), so one gather serves all of
 * them, and that the request's rows were read or compiled with that schema (checked per request). */
#ifndef MTR_RANK_RANK_REQUEST_H
#define MTR_RANK_RANK_REQUEST_H

#include <stdint.h>

#include "data/batch.h"
#include "models/net_pass.h"
#include "mtrank.h"

/* Where a variable's values come from. */
typedef struct ranker_var {
    int model;  /* index into models, or -1 for an item field */
    int task;   /* the model's task (its output column) or the field's index */
} ranker_var;

struct mtr_ranker {
    int n_models;                                   /* models run per request */
    mtr_ranker_model models[MTR_RANKER_MAX_MODELS]; /* borrowed models; names not kept (see var_names) */
    const mtr_schema *schema;                       /* the first model's (all share its fingerprint) */
    int n_vars;                                     /* model outputs, then fields */
    ranker_var var[MTR_RANKER_MAX_VARS];            /* where each variable comes from */
    char var_names[MTR_RANKER_MAX_VARS][MTR_MAX_NAME]; /* their names */
    const char *var_ptrs[MTR_RANKER_MAX_VARS];      /* var_names[i], as mtr_rank_fields wants them */
    int n_fields;                                   /* item fields (the last n_fields variables) */
    int field_aux[MTR_RANKER_MAX_VARS];             /* per field: the schema's aux column of that name, or -1 */
    int n_keys;                                     /* key columns */
    int key_field[MTR_RANKER_MAX_KEYS];                   /* per key: its categorical field in the schema */
    char key_names[MTR_RANKER_MAX_KEYS][MTR_MAX_NAME];    /* their names */
    const char *key_ptrs[MTR_RANKER_MAX_KEYS];            /* key_names[i] */
    mtr_rank_fields fields;                         /* {var_ptrs, n_vars, key_ptrs, n_keys} */
    size_t max_n;                                   /* rows per request at most */
    uint32_t max_ids_per_row;                       /* categorical ids per row the batch was sized for */
    int n_cat, n_num, n_tasks, n_aux;               /* the schema's row shape, checked against requests */
    mtr_exposure_store *store;                      /* borrowed, or NULL */
    const mtr_fusion *fusion;                       /* borrowed; NULL: the only variable is the score */
    const mtr_rules *rules;                         /* borrowed; may be NULL */
    mtr_rank_context *ctx;                          /* fusion + rules scratch, from mtr_ranker_set_ranking */
    mtr_batch batch;                                /* the request's rows, gathered */
    mtr_net_buffers nb[MTR_RANKER_MAX_MODELS][MTR_MAX_TASKS]; /* per model, per net */
    float *x;                                       /* (max_n, n_vars) variables */
    uint32_t *keys;                                 /* (max_n, n_keys) key values from the rows */
    float *score;                                   /* (max_n) the single variable when there is no fusion */
    /* results by view position, (max_n) each */
    uint32_t *order, *position, *fused_position, *rules_mask;
    float *fused, *adjusted;
    int8_t *rule;
    uint8_t *reason;
    size_t *n_ranked;                               /* (max_n + 1) per list */
};

#endif

/* model_layout.c - turns a schema and a model configuration into nets and named tensors in one
 * parameter slab (see model.h for the architecture), and the queries on that layout. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/schema.h"
#include "models/model.h"
#include "util/error.h"

typedef struct layout_builder {
    mtr_model *model; /* tensors are appended here */
    int capacity;     /* allocated entries of model->tensors */
} layout_builder;

__attribute__((format(printf, 6, 7))) static int add_tensor(layout_builder *lb, int ndim, const uint64_t *dims, int is_embedding, int decay,
                      const char *fmt, ...) {
    mtr_model *m = lb->model;
    if (m->n_tensors == lb->capacity) return -1; /* capacity is computed from the limits: cannot happen */
    mtr_tensor *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        t->size *= (size_t)dims[i];
    }
    t->offset = m->n_params;
    t->is_embedding = is_embedding;
    t->decay = decay;
    m->n_params += t->size;
    return m->n_tensors++;
}

/* Lay out one net; `prefix` names its tensors ("net0"). */
static int layout_net(layout_builder *lb, mtr_net *net, const char *prefix, mtr_error *err) {
    const mtr_model *m = lb->model;
    net->input_cols = net->n_layers == 0 ? net->n_tasks * mtr_net_stem_width(net)
                                         : net->n_experts * net->width[0] + net->n_gates * net->n_experts;

    uint64_t rows = net->field_offset[net->n_fields];
    uint64_t d2[2] = {rows > 0 ? rows : 1, (uint64_t)net->emb_dim};
    net->t_embedding = add_tensor(lb, 2, d2, 1, 1, "%s.embedding", prefix);

    uint64_t win[2] = {(uint64_t)net->input_dim, (uint64_t)net->input_cols};
    net->t_input_w = add_tensor(lb, 2, win, 0, 1, "%s.input.w", prefix);
    uint64_t bin[1] = {(uint64_t)net->input_cols};
    net->t_input_b = add_tensor(lb, 1, bin, 0, 0, "%s.input.b", prefix);

    for (int l = 1; l < net->n_layers; l++) {
        uint64_t w3[3] = {(uint64_t)net->n_experts, (uint64_t)net->width[l - 1], (uint64_t)net->width[l]};
        net->t_layer_w[l] = add_tensor(lb, 3, w3, 0, 1, "%s.expert_layer%d.w", prefix, l);
        uint64_t b2[2] = {(uint64_t)net->n_experts, (uint64_t)net->width[l]};
        net->t_layer_b[l] = add_tensor(lb, 2, b2, 0, 0, "%s.expert_layer%d.b", prefix, l);
    }
    for (int t = 0; t < net->n_tasks; t++) {
        const char *task_name = mtr_schema_task_name(m->schema, net->task[t]);
        int start = mtr_net_tower_start(net);
        if (start == 1 && net->n_tower_layers == 0) continue; /* the output is the input layer's column */
        int in = start ? net->tower_width[0] : mtr_net_expert_out(net);
        for (int l = start; l <= net->n_tower_layers; l++) {
            int out = l < net->n_tower_layers ? net->tower_width[l] : 1;
            uint64_t w[2] = {(uint64_t)in, (uint64_t)out};
            uint64_t b[1] = {(uint64_t)out};
            if (l < net->n_tower_layers) {
                net->t_tower_w[t][l] = add_tensor(lb, 2, w, 0, 1, "%s.tower.%s.layer%d.w", prefix, task_name, l);
                net->t_tower_b[t][l] = add_tensor(lb, 1, b, 0, 0, "%s.tower.%s.layer%d.b", prefix, task_name, l);
            } else {
                net->t_tower_w[t][l] = add_tensor(lb, 2, w, 0, 1, "%s.tower.%s.output.w", prefix, task_name);
                net->t_tower_b[t][l] = add_tensor(lb, 1, b, 0, 0, "%s.tower.%s.output.b", prefix, task_name);
            }
            in = out;
        }
    }
    if (m->n_tensors > lb->capacity || net->t_embedding < 0)
        return mtr_fail(err, "internal error: tensor table overflow");
    return 0;
}

static void net_free(mtr_net *net) {
    free(net->field_offset);
    free(net->virtual_offset);
    free(net->pool_mean);
    net->field_offset = net->virtual_offset = NULL;
    net->pool_mean = NULL;
}

void mtr_model_free(mtr_model *model) {
    if (!model) return;
    for (int i = 0; i < model->n_nets; i++) net_free(&model->nets[i]);
    free(model->tensors);
    free(model->params);
    mtr_schema_free(model->schema);
    free(model);
}

mtr_model *mtr_model_alloc(const mtr_schema *schema, const mtr_model_config *cfg, mtr_error *err) {
    const char *problem = mtr_model_config_check(cfg);
    if (problem) {
        mtr_fail(err, "model configuration: %s", problem);
        return NULL;
    }
    int n_tasks = mtr_schema_task_count(schema);
    if (n_tasks < 1 || n_tasks > MTR_MAX_TASKS) {
        mtr_fail(err, "model needs 1..%d tasks, the schema has %d", MTR_MAX_TASKS, n_tasks);
        return NULL;
    }
    int n_fields = mtr_schema_categorical_count(schema);
    int n_numeric = mtr_schema_numeric_count(schema);
    if (n_fields + n_numeric == 0) {
        mtr_fail(err, "the schema has no input features");
        return NULL;
    }
    mtr_model *m = calloc(1, sizeof *m);
    if (!m) {
        mtr_fail(err, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->n_tasks = n_tasks;
    uint32_t all = n_tasks == 32 ? 0xffffffffu : (1u << n_tasks) - 1u;
    m->task_mask = cfg->task_mask ? cfg->task_mask : all;
    if (m->task_mask & ~all) {
        mtr_fail(err, "task mask 0x%x names tasks the schema does not have (%d tasks)", cfg->task_mask, n_tasks);
        goto fail;
    }
    int active = 0;
    for (int t = 0; t < n_tasks; t++) active += (m->task_mask >> t) & 1u;
    if (cfg->conversion_task >= 0) {
        int c = cfg->conversion_task;
        if (c >= n_tasks || !((m->task_mask >> c) & 1u) || !(m->task_mask & 1u)) {
            mtr_fail(err, "conversion task %d: the model must predict it and task 0 (the click task)", c);
            goto fail;
        }
        if (mtr_schema_task_kind(schema, 0) != MTR_TASK_BINARY || mtr_schema_task_kind(schema, c) != MTR_TASK_BINARY) {
            mtr_fail(err, "conversion structure needs binary tasks ('%s' and '%s')", mtr_schema_task_name(schema, 0),
                     mtr_schema_task_name(schema, c));
            goto fail;
        }
    }
    for (int t = 0; t < n_tasks; t++) m->kind[t] = mtr_schema_task_kind(schema, t);
    m->schema = mtr_schema_copy(schema, err);
    if (!m->schema) goto fail;

    int single = cfg->kind == MTR_MODEL_SINGLE_TASK;
    m->n_nets = single ? active : 1;
    layout_builder lb = {m, m->n_nets * MTR_MAX_TENSORS_PER_NET};
    m->tensors = calloc((size_t)lb.capacity, sizeof *m->tensors);
    if (!m->tensors) {
        mtr_fail(err, "out of memory");
        goto fail;
    }
    for (int k = 0; k < m->n_nets; k++) {
        mtr_net *net = &m->nets[k];
        /* the net's tasks: the k-th active task alone (single-task), or every active task */
        net->n_tasks = 0;
        for (int t = 0, seen = 0; t < n_tasks; t++) {
            if (!((m->task_mask >> t) & 1u)) continue;
            if (!single || seen == k) net->task[net->n_tasks++] = t;
            seen++;
        }
        net->n_fields = n_fields;
        net->emb_dim = cfg->embedding_dim;
        net->n_numeric = n_numeric;
        net->input_dim = n_fields * cfg->embedding_dim + n_numeric;
        int moe = cfg->kind == MTR_MODEL_OMOE || cfg->kind == MTR_MODEL_MMOE;
        net->n_experts = moe ? cfg->n_experts : 1;
        net->n_gates = cfg->kind == MTR_MODEL_MMOE ? net->n_tasks : cfg->kind == MTR_MODEL_OMOE ? 1 : 0;
        net->n_layers = cfg->n_bottom_layers;
        memcpy(net->width, cfg->bottom_layers, sizeof net->width);
        net->n_tower_layers = cfg->n_tower_layers;
        memcpy(net->tower_width, cfg->tower_layers, sizeof net->tower_width);
        net->field_offset = malloc(((size_t)n_fields + 1) * sizeof *net->field_offset);
        net->virtual_offset = malloc(((size_t)n_fields + 1) * sizeof *net->virtual_offset);
        net->pool_mean = malloc((size_t)n_fields + 1);
        if (!net->field_offset || !net->virtual_offset || !net->pool_mean) {
            mtr_fail(err, "out of memory");
            goto fail;
        }
        /* tables back to back in one embedding matrix; each field points at its table's first row */
        int n_tables = mtr_schema_table_count(schema);
        uint64_t rows = 0, pairs = 0;
        for (int t = 0; t < n_tables; t++) {
            for (int f = 0; f < n_fields; f++)
                if (mtr_schema_field_table(schema, f) == t) net->field_offset[f] = (uint32_t)rows;
            rows += mtr_schema_table_size(schema, t);
        }
        for (int f = 0; f < n_fields; f++) {
            net->virtual_offset[f] = (uint32_t)pairs;
            pairs += mtr_schema_vocab_size(schema, f);
            net->pool_mean[f] = (unsigned char)mtr_schema_field_pool_mean(schema, f);
        }
        if (rows > UINT32_MAX || pairs > UINT32_MAX) {
            mtr_fail(err, "embedding tables too large (%llu rows)", (unsigned long long)pairs);
            goto fail;
        }
        net->field_offset[n_fields] = (uint32_t)rows;
        net->virtual_offset[n_fields] = (uint32_t)pairs;
        net->layout = (mtr_field_layout){n_fields, net->field_offset, net->virtual_offset, net->pool_mean};
        char prefix[32];
        snprintf(prefix, sizeof prefix, "net%d", single ? net->task[0] : 0);
        if (layout_net(&lb, net, prefix, err) != 0) goto fail;
    }
    m->params = calloc(m->n_params ? m->n_params : 1, sizeof *m->params);
    if (!m->params) {
        mtr_fail(err, "out of memory for %zu parameters", m->n_params);
        goto fail;
    }
    return m;
fail:
    mtr_model_free(m);
    return NULL;
}

int mtr_model_find_tensor(const mtr_model *model, const char *name) {
    for (int i = 0; i < model->n_tensors; i++)
        if (strcmp(model->tensors[i].name, name) == 0) return i;
    return -1;
}

mtr_model *mtr_model_create(const mtr_schema *schema, const mtr_model_config *cfg, uint64_t seed,
                            mtr_error *err) {
    mtr_model *m = mtr_model_alloc(schema, cfg, err);
    if (m) mtr_model_init_weights(m, seed);
    return m;
}

const mtr_schema *mtr_model_schema(const mtr_model *model) { return model->schema; }
int mtr_model_has_task(const mtr_model *model, int task) {
    return task >= 0 && task < model->n_tasks && ((model->task_mask >> task) & 1u);
}
const mtr_model_config *mtr_model_get_config(const mtr_model *model) { return &model->cfg; }
size_t mtr_model_parameter_count(const mtr_model *model) { return model->n_params; }

double mtr_model_flops_per_sample(const mtr_model *model) {
    double flops = 0;
    for (int k = 0; k < model->n_nets; k++) {
        const mtr_net *n = &model->nets[k];
        flops += 2.0 * n->input_dim * n->input_cols;
        for (int l = 1; l < n->n_layers; l++) flops += 2.0 * n->n_experts * n->width[l - 1] * n->width[l];
        int u = mtr_net_expert_out(n), start = mtr_net_tower_start(n);
        if (n->n_gates > 0) flops += 2.0 * n->n_tasks * n->n_experts * u;
        for (int t = 0; t < n->n_tasks; t++) {
            if (start == 1 && n->n_tower_layers == 0) continue;
            int in = start ? n->tower_width[0] : u;
            for (int l = start; l < n->n_tower_layers; l++) {
                flops += 2.0 * in * n->tower_width[l];
                in = n->tower_width[l];
            }
            flops += 2.0 * in;
        }
    }
    return flops;
}

int mtr_model_tensor_count(const mtr_model *model) { return model->n_tensors; }

const char *mtr_model_tensor_info(const mtr_model *model, int i, int *ndim, uint64_t dims[4]) {
    const mtr_tensor *t = &model->tensors[i];
    *ndim = t->ndim;
    for (int k = 0; k < 4; k++) dims[k] = k < t->ndim ? t->dims[k] : 0;
    return t->name;
}

/* model_file.c - saving and loading models in the tensor file container (src/io/tensor_file.h).
 * A model file holds everything predicting needs: the architecture, the task names and kinds, the
 * schema (spec text, vocabularies, normalisation statistics) and every tensor by name.
 * Metadata keys are listed in docs/model-format.md; `mtrank info` prints them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/schema.h"
#include "io/tensor_file.h"
#include "models/model.h"
#include "util/error.h"
#include "util/parse_number.h"

static void layers_to_string(const int *w, int n, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, i ? ",%d" : "%d", w[i]);
}

/* "16,8" -> widths; "" -> none. */
static int layers_from_string(const char *s, size_t len, int *w, int *n) {
    *n = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',') j++;
        long v;
        if (*n == MTR_MAX_LAYERS || mtr_parse_long(s + i, j - i, 1, 65536, &v) != 0) return -1;
        w[(*n)++] = (int)v;
        i = j + 1;
    }
    return 0;
}

int mtr_model_save(const mtr_model *model, const char *path, mtr_error *err) {
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    if (!w) return mtr_fail(err, "%s: out of memory", path);
    const mtr_model_config *c = &model->cfg;
    char buf[256];
    mtr_tfile_put_string(w, "mtrank.file", "model", 5);
    mtr_tfile_put_string(w, "mtrank.version", MTR_VERSION_STRING, strlen(MTR_VERSION_STRING));
    const char *kind = mtr_model_kind_name(c->kind);
    mtr_tfile_put_string(w, "model.kind", kind, strlen(kind));
    mtr_tfile_put_u64(w, "model.embedding_dim", (uint64_t)c->embedding_dim);
    mtr_tfile_put_u64(w, "model.n_experts", (uint64_t)c->n_experts);
    layers_to_string(c->bottom_layers, c->n_bottom_layers, buf, sizeof buf);
    mtr_tfile_put_string(w, "model.bottom_layers", buf, strlen(buf));
    layers_to_string(c->tower_layers, c->n_tower_layers, buf, sizeof buf);
    mtr_tfile_put_string(w, "model.tower_layers", buf, strlen(buf));
    const char *act = mtr_activation_name(c->activation);
    mtr_tfile_put_string(w, "model.activation", act, strlen(act));
    mtr_tfile_put_u64(w, "model.n_tasks", (uint64_t)model->n_tasks);
    mtr_tfile_put_u64(w, "model.task_mask", (uint64_t)model->task_mask);
    mtr_tfile_put_i64(w, "model.conversion_task", (int64_t)c->conversion_task);
    for (int t = 0; t < model->n_tasks; t++) {
        char key[64];
        const char *name = mtr_schema_task_name(model->schema, t);
        snprintf(key, sizeof key, "task.%d.name", t);
        mtr_tfile_put_string(w, key, name, strlen(name));
        snprintf(key, sizeof key, "task.%d.kind", t);
        const char *k = model->kind[t] == MTR_TASK_BINARY ? "binary" : "regression";
        mtr_tfile_put_string(w, key, k, strlen(k));
    }
    size_t schema_len;
    char *schema_text = mtr_schema_serialize(model->schema, &schema_len);
    if (!schema_text) {
        mtr_tfile_writer_free(w);
        return mtr_fail(err, "%s: out of memory", path);
    }
    mtr_tfile_put_string(w, "schema", schema_text, schema_len);
    for (int i = 0; i < model->n_tensors; i++) {
        const mtr_tensor *t = &model->tensors[i];
        mtr_tfile_put_tensor(w, t->name, model->params + t->offset, t->ndim, t->dims);
    }
    int rc = mtr_tfile_writer_commit(w, path, err);
    mtr_tfile_writer_free(w);
    free(schema_text);
    return rc;
}

static int get_config(const mtr_tfile *f, mtr_model_config *c, mtr_error *err) {
    const char *s;
    size_t len;
    uint64_t v;
    char name[64];
    mtr_model_config_default(c);
    if (mtr_tfile_get_string(f, "mtrank.file", &s, &len, err) != 0) return -1;
    if (len != 5 || memcmp(s, "model", 5) != 0)
        return mtr_fail(err, "%s: not a model file (it holds a '%.*s')", mtr_tfile_path(f), (int)len, s);
    if (mtr_tfile_get_string(f, "model.kind", &s, &len, err) != 0) return -1;
    snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), s);
    if (mtr_model_kind_parse(name, &c->kind) != 0)
        return mtr_fail(err, "%s: unknown model kind '%s'", mtr_tfile_path(f), name);
    if (mtr_tfile_get_u64(f, "model.embedding_dim", &v, err) != 0) return -1;
    c->embedding_dim = v > 100000 ? -1 : (int)v;
    if (mtr_tfile_get_u64(f, "model.n_experts", &v, err) != 0) return -1;
    c->n_experts = v > 100000 ? -1 : (int)v;
    if (mtr_tfile_get_string(f, "model.bottom_layers", &s, &len, err) != 0) return -1;
    if (layers_from_string(s, len, c->bottom_layers, &c->n_bottom_layers) != 0)
        return mtr_fail(err, "%s: bad model.bottom_layers '%.*s'", mtr_tfile_path(f), (int)len, s);
    if (mtr_tfile_get_string(f, "model.tower_layers", &s, &len, err) != 0) return -1;
    if (layers_from_string(s, len, c->tower_layers, &c->n_tower_layers) != 0)
        return mtr_fail(err, "%s: bad model.tower_layers '%.*s'", mtr_tfile_path(f), (int)len, s);
    if (mtr_tfile_get_string(f, "model.activation", &s, &len, err) != 0) return -1;
    snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), s);
    if (mtr_activation_parse(name, &c->activation) != 0)
        return mtr_fail(err, "%s: unknown activation '%s'", mtr_tfile_path(f), name);
    int64_t conv = -1;
    if (mtr_tfile_get_u64(f, "model.task_mask", &v, err) != 0) return -1;
    if (v > 0xffffffffu) return mtr_fail(err, "%s: bad model.task_mask", mtr_tfile_path(f));
    c->task_mask = (uint32_t)v;
    if (mtr_tfile_get_i64(f, "model.conversion_task", &conv, err) != 0) return -1;
    c->conversion_task = conv < -1 || conv >= MTR_MAX_TASKS ? -2 : (int)conv;
    const char *problem = mtr_model_config_check(c);
    if (problem) return mtr_fail(err, "%s: model configuration: %s", mtr_tfile_path(f), problem);
    return 0;
}

mtr_model *mtr_model_load(const char *path, mtr_error *err) {
    mtr_tfile *f = mtr_tfile_open(path, err);
    if (!f) return NULL;
    mtr_model *m = NULL;
    mtr_schema *schema = NULL;
    mtr_model_config cfg;
    const char *s;
    size_t len;
    uint64_t n_tasks;
    if (get_config(f, &cfg, err) != 0) goto done;
    if (mtr_tfile_get_string(f, "schema", &s, &len, err) != 0) goto done;
    schema = mtr_schema_deserialize(s, len, path, err);
    if (!schema) goto done;
    if (mtr_tfile_get_u64(f, "model.n_tasks", &n_tasks, err) != 0) goto done;
    if (n_tasks != (uint64_t)mtr_schema_task_count(schema)) {
        mtr_fail(err, "%s: model.n_tasks is %llu but the schema has %d tasks", path,
                 (unsigned long long)n_tasks, mtr_schema_task_count(schema));
        goto done;
    }
    m = mtr_model_alloc(schema, &cfg, err);
    if (!m) {
        mtr_fail_prefix(err, "%s", path);
        goto done;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const mtr_tensor *t = &m->tensors[i];
        const float *data = mtr_tfile_get_tensor(f, t->name, t->ndim, t->dims, err);
        if (!data) {
            mtr_model_free(m);
            m = NULL;
            goto done;
        }
        memcpy(m->params + t->offset, data, t->size * sizeof(float));
    }
done:
    mtr_schema_free(schema);
    mtr_tfile_close(f);
    return m;
}

/* label.c - label rules; see label.h and the [task] section of docs/spec-format.md. */
#include "data/label.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/parse_number.h"

static int in_list(const mtr_strlist *l, const mtr_field *v) {
    for (int i = 0; i < l->n; i++)
        if (l->lens[i] == v->len && memcmp(l->items[i], v->s, v->len) == 0) return 1;
    return 0;
}

mtr_label_status mtr_label_value(const mtr_task_spec *task, const mtr_field *value, int missing, float *out) {
    if (missing) {
        *out = NAN;
        return MTR_LABEL_OK;
    }
    double x;
    switch (task->rule) {
    case MTR_LABEL_VALUES:
        if (in_list(&task->positive, value)) *out = 1.0f;
        else if (task->negative.n == 0 || in_list(&task->negative, value)) *out = 0.0f;
        else return MTR_LABEL_UNKNOWN;
        return MTR_LABEL_OK;
    case MTR_LABEL_ABOVE:
    case MTR_LABEL_AT_LEAST:
        if (mtr_parse_double(value->s, value->len, &x) != 0) return MTR_LABEL_NOT_NUMBER;
        *out = (task->rule == MTR_LABEL_ABOVE ? x > task->threshold : x >= task->threshold) ? 1.0f : 0.0f;
        return MTR_LABEL_OK;
    case MTR_LABEL_NUMBER:
        if (mtr_parse_float(value->s, value->len, out) != 0) return MTR_LABEL_NOT_NUMBER;
        return MTR_LABEL_OK;
    }
    return MTR_LABEL_UNKNOWN;
}

int mtr_label_fail(mtr_error *err, mtr_label_status status, const mtr_task_spec *task, const mtr_field *value,
                   const char *path, size_t line) {
    char q[64];
    mtr_quote_value(q, sizeof q, value->s, value->len);
    if (status == MTR_LABEL_NOT_NUMBER)
        return mtr_fail(err, "%s: line %zu: column '%s': label of task '%s' is not a number: '%s'", path, line,
                        task->column, task->name, q);
    char expected[256] = "";
    size_t used = 0;
    const mtr_strlist *lists[2] = {&task->positive, &task->negative};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < lists[l]->n && used < sizeof expected - 8; i++) {
            int n = snprintf(expected + used, sizeof expected - used, "%s'%s'", used ? ", " : "",
                             lists[l]->items[i]);
            if (n < 0) break;
            used += (size_t)n;
        }
    if (used >= sizeof expected) snprintf(expected + sizeof expected - 4, 4, "...");
    return mtr_fail(err, "%s: line %zu: column '%s': unknown label value '%s' for task '%s' (expected one of %s)",
                    path, line, task->column, q, task->name, expected);
}

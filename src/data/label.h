/* label.h - turning a label column's value into a task label by the task's rule, shared by fitting
 * (which checks every training label) and encoding. */
#ifndef MTR_DATA_LABEL_H
#define MTR_DATA_LABEL_H

#include <stddef.h>

#include "data/spec.h"
#include "data/table.h"

typedef enum mtr_label_status {
    MTR_LABEL_OK = 0,         /* *out holds the label (NaN for a missing value) */
    MTR_LABEL_NOT_NUMBER = 1, /* a numeric rule met text */
    MTR_LABEL_UNKNOWN = 2     /* a value in neither the positive nor the negative list */
} mtr_label_status;

mtr_label_status mtr_label_value(const mtr_task_spec *task, const mtr_field *value, int missing, float *out);
/* The message for a failed status: "<path>: line N: column 'c': ..." naming the task and the value. */
int mtr_label_fail(mtr_error *err, mtr_label_status status, const mtr_task_spec *task, const mtr_field *value,
                   const char *path, size_t line);

#endif

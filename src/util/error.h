/* error.h - filling an mtr_error: the library's only way to report a problem (it never prints). */
#ifndef MTR_UTIL_ERROR_H
#define MTR_UTIL_ERROR_H

#include "mtrank.h"

/* Format a message into err (err may be NULL) and return -1, so callers can `return mtr_fail(...)`. */
int mtr_fail(mtr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an existing message: "context: old message". Returns -1. */
int mtr_fail_prefix(mtr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mtr_error_clear(mtr_error *err);

#endif

/* parse_number.h - strict number parsing for data and options: the whole text must be the number
 * (surrounding spaces allowed), no overflow, no empty string. Never atoi. */
#ifndef MTR_UTIL_PARSE_NUMBER_H
#define MTR_UTIL_PARSE_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/* `len` bytes of `s` (need not be NUL-terminated). Return 0 on success, -1 if not a finite number. */
int mtr_parse_double(const char *s, size_t len, double *out);
int mtr_parse_float(const char *s, size_t len, float *out);
/* Whole text is a base-10 integer within [lo, hi]. */
int mtr_parse_long(const char *s, size_t len, long lo, long hi, long *out);
int mtr_parse_u64(const char *s, size_t len, uint64_t *out);

#endif

/* parse_number.c - strtod/strtol with end pointer and errno checks; see parse_number.h. */
#include "util/parse_number.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copy into a NUL-terminated buffer with surrounding spaces removed; -1 if empty or too long. */
static int trimmed_copy(const char *s, size_t len, char *buf, size_t cap) {
    while (len > 0 && isspace((unsigned char)*s)) s++, len--;
    while (len > 0 && isspace((unsigned char)s[len - 1])) len--;
    if (len == 0 || len >= cap) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

int mtr_parse_double(const char *s, size_t len, double *out) {
    char buf[128];
    if (trimmed_copy(s, len, buf, sizeof buf) != 0) return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int mtr_parse_float(const char *s, size_t len, float *out) {
    double v;
    if (mtr_parse_double(s, len, &v) != 0 || fabs(v) > 3.4e38) return -1;
    *out = (float)v;
    return 0;
}

int mtr_parse_long(const char *s, size_t len, long lo, long hi, long *out) {
    char buf[64];
    if (trimmed_copy(s, len, buf, sizeof buf) != 0) return -1;
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int mtr_parse_u64(const char *s, size_t len, uint64_t *out) {
    char buf[64];
    if (trimmed_copy(s, len, buf, sizeof buf) != 0 || buf[0] == '-') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (*end != '\0' || errno == ERANGE) return -1;
    *out = (uint64_t)v;
    return 0;
}

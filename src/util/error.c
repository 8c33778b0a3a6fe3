/* error.c - formatting error messages into mtr_error. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mtr_fail(mtr_error *err, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int mtr_fail_prefix(mtr_error *err, const char *fmt, ...) {
    if (!err) return -1;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);
    /* the combined text may be cut at the buffer's end; that is acceptable for a message */
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3) n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t rest = sizeof err->message - n - 3;
    size_t old_len = strnlen(old, sizeof old);
    if (old_len > rest) old_len = rest;
    memcpy(err->message + n + 2, old, old_len);
    err->message[n + 2 + old_len] = '\0';
    return -1;
}

void mtr_error_clear(mtr_error *err) {
    if (err) err->message[0] = '\0';
}

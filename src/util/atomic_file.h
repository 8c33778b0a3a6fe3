/* atomic_file.h - write a file so that readers see either the old one or the complete new one:
 * write to "<path>.tmp.<pid>", fsync it, rename over <path>, fsync the directory. */
#ifndef MTR_UTIL_ATOMIC_FILE_H
#define MTR_UTIL_ATOMIC_FILE_H

#include <stdio.h>

#include "mtrank.h"

typedef struct mtr_atomic_file {
    FILE *f;             /* write here between open and commit */
    char path[4096];     /* final destination */
    char tmp_path[4200]; /* temporary file renamed onto path by commit */
} mtr_atomic_file;

int mtr_atomic_open(mtr_atomic_file *af, const char *path, mtr_error *err);
/* Flush, fsync, close, rename, fsync the directory. On failure the temp file is removed. */
int mtr_atomic_commit(mtr_atomic_file *af, mtr_error *err);
/* Give up: close and remove the temporary file. Safe to call after a failed commit. */
void mtr_atomic_abort(mtr_atomic_file *af);

#endif

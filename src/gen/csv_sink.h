/* csv_sink.h - the simulators' CSV output (src/gen/ccp.c, src/gen/sessions.c): a file written atomically
 * or standard output ("-"), gzip when the name ends in .gz. gzip output is a series of gzip members, one
 * per 2 MiB of CSV, compressed at level 1 by `n_threads` worker threads (0 = in the calling thread) while
 * the caller generates and formats rows, and written in order. Chunk boundaries depend only on the
 * bytes, so the file is the same for any number of threads. gzip, zcat and zlib's gzread (the data
 * layer's reader) read concatenated members as one stream. Moved out of ccp.c unchanged. */
#ifndef MTR_GEN_CSV_SINK_H
#define MTR_GEN_CSV_SINK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mtrank.h"
#include "util/atomic_file.h"

#define MTR_CSV_CHUNK (2u << 20) /* bytes of CSV per gzip member */
#define MTR_CSV_MAX_SLOTS 34     /* 2 per thread (16 at most) + 2 */

/* One chunk of CSV on its way to the file. */
typedef struct mtr_csv_slot {
    char *in;           /* (MTR_CSV_CHUNK) formatted CSV */
    size_t in_len;      /* bytes in `in` */
    unsigned char *out; /* (out_cap) the gzip member */
    size_t out_len;     /* bytes in `out` */
    size_t out_cap;     /* deflateBound of a full chunk */
    uint64_t seq;       /* order in the file */
    int state;          /* FREE -> FILLING -> FILLED -> BUSY -> DONE -> written -> FREE; guarded by mu */
    int zerr;           /* zlib error compressing it, or Z_OK */
} mtr_csv_slot;

/* The output: plain bytes go through one buffer straight to the FILE; gzip chunks go through the slots. */
typedef struct mtr_csv_out {
    mtr_atomic_file af;       /* the destination file unless to_stdout */
    const char *path;         /* as given, for messages */
    int to_stdout;            /* path is "-" */
    FILE *f;                  /* af.f or stdout */
    int gz;                   /* compress */
    int n_threads;            /* worker threads (0 = compress in the calling thread) */
    int n_slots;              /* slots in use */
    mtr_csv_slot slot[MTR_CSV_MAX_SLOTS];
    mtr_csv_slot *fill;       /* the slot being filled (gzip), or NULL */
    char *buf;                /* plain output buffer (MTR_CSV_CHUNK) */
    size_t len;               /* plain: bytes pending in buf */
    uint64_t next_seq;        /* seq of the next filled chunk */
    uint64_t write_seq;       /* seq of the next chunk to write */
    pthread_t threads[MTR_CSV_MAX_SLOTS];
    int started;              /* threads started */
    int stop;                 /* tell the workers to finish */
    pthread_mutex_t mu;
    pthread_cond_t work;      /* a slot was filled, or stop */
    pthread_cond_t done;      /* a slot was compressed */
    char error[512];          /* first write error */
} mtr_csv_out;

/* Open `path` ("-" = stdout) with n_threads (0..16) compression threads. On failure nothing is left
 * behind and err names the path. */
int mtr_csv_out_open(mtr_csv_out *o, const char *path, int n_threads, mtr_error *err);
/* Append n bytes (n <= MTR_CSV_CHUNK); -1 on a write or compression failure (the reason is kept in
 * o->error and reported by mtr_csv_out_close). */
int mtr_csv_out_write(mtr_csv_out *o, const char *p, size_t n);
/* With rc == 0: write everything pending and commit the file (or flush stdout); otherwise remove the
 * temporary file. Returns the final status; a write error replaces err's message with "PATH: reason". */
int mtr_csv_out_close(mtr_csv_out *o, int rc, mtr_error *err);

#endif

/* bench_esmm.c - `bench_mtrank esmm`: one epoch of ESMM in the paper's setting (embedding 18 per field,
 * towers 360-200-80, 23 sparse fields of the impression simulator) over N simulated impressions, at 1
 * and 2 threads, streamed (shuffle window of 1 M rows, pages of finished blocks released). Each
 * configuration runs in a child process so its peak resident memory is its own; running two sizes
 * shows that memory does not grow with the number of impressions. Reports samples/s, peak memory and
 * the GFLOP/s reached (dense-equivalent model FLOPs) against the machine's sgemm rate on the model's
 * input-layer shape.
 *
 * usage: bench_mtrank esmm [--rows 10000000,2000000] [--threads 1,2] [--cache DIR]
 * The simulated data are generated and compiled once into DIR (default mtrank-cache). */
#define _DEFAULT_SOURCE /* wait4 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include "data/schema.h"
#include "mtrank.h"
#include "ops/ops.h"
#include "util/clock.h"

static double gemm_rate(int M, int N, int K) {
    float *A = calloc((size_t)M * K, sizeof(float)), *B = calloc((size_t)K * N, sizeof(float));
    float *C = calloc((size_t)M * N, sizeof(float));
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 13) * 0.1f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 7) * 0.1f;
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = mtr_seconds_now();
        for (int i = 0; i < 20; i++) mtr_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        double g = 2.0 * M * N * K * 20 / (mtr_seconds_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    free(A), free(B), free(C);
    return best;
}

static int write_failed(mtr_error *err, const char *path) {
    snprintf(err->message, sizeof err->message, "%.900s: cannot write", path);
    return -1;
}

/* Generate, fit and compile N impressions once (cached by name), keeping the fitted schema beside the
 * compiled file (<name>.mtrd.schema) so the CSV can go; returns 0 and the compiled file's path. */
static int prepare(uint64_t rows, const char *cache, char *mtrd, size_t cap, mtr_error *err) {
    char csv[1024], spec[1024], schema_path[1100];
    snprintf(csv, sizeof csv, "%s/bench-ccp-%llu.csv", cache, (unsigned long long)rows);
    snprintf(spec, sizeof spec, "%s/bench-ccp-%llu.spec", cache, (unsigned long long)rows);
    snprintf(mtrd, cap, "%s/bench-ccp-%llu.mtrd", cache, (unsigned long long)rows);
    snprintf(schema_path, sizeof schema_path, "%s.schema", mtrd);
    if (access(mtrd, R_OK) == 0 && access(schema_path, R_OK) == 0) return 0;
    mtr_ccp_config c;
    mtr_ccp_config_default(&c);
    c.rows = rows;
    fprintf(stderr, "generating %llu impressions into %s ...\n", (unsigned long long)rows, csv);
    if (mtr_gen_ccp_write(&c, csv, spec, NULL, err) != 0) return -1;
    mtr_spec *s = mtr_spec_load(spec, err);
    mtr_schema *schema = s ? mtr_schema_fit(s, csv, err) : NULL;
    int rc = schema ? mtr_dataset_compile(schema, csv, mtrd, err) : -1;
    if (rc == 0) {
        size_t len;
        char *text = mtr_schema_serialize(schema, &len);
        FILE *f = fopen(schema_path, "wb");
        rc = text && f && fwrite(text, 1, len, f) == len ? 0 : write_failed(err, schema_path);
        if (f) fclose(f);
        free(text);
    }
    mtr_schema_free(schema);
    mtr_spec_free(s);
    remove(csv); /* the compiled file is what the benchmark reads */
    return rc;
}

static mtr_schema *load_schema(const char *mtrd, mtr_error *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s.schema", mtrd);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->message, sizeof err->message, "%.900s: cannot open", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    mtr_schema *s = got == (size_t)n ? mtr_schema_deserialize(text, (size_t)n, path, err) : NULL;
    free(text);
    return s;
}

typedef struct child_result {
    double samples_per_s; /* training throughput of the epoch */
    double seconds;       /* epoch wall time */
    double flops;         /* forward FLOPs per sample (dense-equivalent) */
    size_t params;        /* model parameters */
} child_result;

/* One epoch of ESMM over the compiled file (run in a child process). */
static int train_epoch(const mtr_schema *schema, const char *mtrd, int threads, child_result *out, mtr_error *err) {
    mtr_dataset *ds = mtr_dataset_open(mtrd, schema, err);
    if (!ds) return -1;
    mtr_cvr_config c;
    mtr_cvr_config_default(&c, MTR_CVR_ESMM);
    mtr_model_config mc = c.model;
    mc.task_mask = 3;
    mc.conversion_task = 1;
    mtr_model *m = mtr_model_create(schema, &mc, 1, err);
    if (!m) return -1;
    mtr_train_config tc;
    mtr_train_config_default(&tc);
    tc.max_epochs = 1;
    tc.n_threads = threads;
    tc.shuffle_window = 1u << 20;
    mtr_view v = mtr_view_all(ds);
    mtr_train_result res;
    double t0 = mtr_seconds_now();
    if (mtr_train(m, &v, NULL, &tc, &res, err) != 0) return -1;
    out->seconds = mtr_seconds_now() - t0;
    out->samples_per_s = (double)v.count / out->seconds;
    out->flops = mtr_model_flops_per_sample(m);
    out->params = mtr_model_parameter_count(m);
    mtr_model_free(m);
    mtr_dataset_free(ds);
    return 0;
}

int bench_esmm(int argc, char **argv) {
    const char *rows_list = "10000000,2000000", *threads_list = "1,2", *cache = "mtrank-cache";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) rows_list = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads_list = argv[++i];
        else if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc) cache = argv[++i];
        else {
            fprintf(stderr, "usage: bench_mtrank esmm [--rows N,N] [--threads T,T] [--cache DIR]\n");
            return 2;
        }
    }
    mtr_error err = {{0}};
    if (mkdir(cache, 0777) != 0 && access(cache, W_OK) != 0) {
        fprintf(stderr, "bench esmm: cannot use %s\n", cache);
        return 1;
    }
    double g_in = gemm_rate(1024, 720, 414), g_t1 = gemm_rate(1024, 200, 360);
    printf("ESMM, paper setting (embedding 18 x 23 fields, towers 360-200-80), batch 1024, Adam, 1 epoch,\n"
           "shuffle window 1M rows; sgemm on the input layer 1024x414x720: %.1f GFLOP/s, tower 1024x360x200: %.1f\n\n",
           g_in, g_t1);
    printf("%12s %7s %12s %9s %10s %8s %12s\n", "impressions", "threads", "samples/s", "epoch s", "GFLOP/s",
           "% sgemm", "peak RSS MB");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", rows_list);
    for (char *s1 = NULL, *r = strtok_r(buf, ",", &s1); r; r = strtok_r(NULL, ",", &s1)) {
        uint64_t rows = strtoull(r, NULL, 10);
        char mtrd[1024];
        if (prepare(rows, cache, mtrd, sizeof mtrd, &err) != 0) {
            fprintf(stderr, "bench esmm: %s\n", err.message);
            return 1;
        }
        char tb[64];
        snprintf(tb, sizeof tb, "%s", threads_list);
        for (char *s2 = NULL, *t = strtok_r(tb, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
            int threads = atoi(t) > 0 ? atoi(t) : 1;
            int fd[2];
            if (pipe(fd) != 0) return 1;
            pid_t pid = fork();
            if (pid == 0) {
                child_result cr = {0};
                mtr_error e = {{0}};
                mtr_schema *schema = load_schema(mtrd, &e);
                int rc = schema ? train_epoch(schema, mtrd, threads, &cr, &e) : -1;
                if (rc != 0) fprintf(stderr, "bench esmm: %s\n", e.message);
                if (write(fd[1], &cr, sizeof cr) < 0) _exit(3);
                _exit(rc == 0 ? 0 : 1);
            }
            close(fd[1]);
            child_result cr;
            ssize_t got = read(fd[0], &cr, sizeof cr);
            close(fd[0]);
            int status;
            struct rusage ru;
            wait4(pid, &status, 0, &ru);
            if (got != (ssize_t)sizeof cr || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench esmm: training failed\n");
                return 1;
            }
            double gf = cr.samples_per_s * 3.0 * cr.flops / 1e9;
            printf("%12llu %7d %12.0f %9.1f %10.1f %7.0f%% %12.0f\n", (unsigned long long)rows, threads,
                   cr.samples_per_s, cr.seconds, gf, 100.0 * gf / (g_in * threads), ru.ru_maxrss / 1024.0);
            fflush(stdout);
        }
    }
    return 0;
}

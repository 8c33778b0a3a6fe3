/* test_main.c - runs every registered test (optionally those whose name or file contains argv[1])
 * and prints "N passed, N failed". */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 2048

typedef struct {
    const char *name;
    const char *file;
    mtr_test_fn fn;
} registered_test;

static registered_test tests[MAX_TESTS];
static int n_tests;
static int current_failures;
static const char *current_name;
static char tmpdir[256];

void mtr_test_register(const char *name, const char *file, mtr_test_fn fn) {
    if (n_tests >= MAX_TESTS) {
        fprintf(stderr, "too many tests (raise MAX_TESTS)\n");
        abort();
    }
    tests[n_tests++] = (registered_test){name, file, fn};
}

void mtr_test_fail(const char *file, int line, const char *fmt, ...) {
    if (current_failures < 20) {
        fprintf(stderr, "FAIL %s (%s:%d): ", current_name, file, line);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    current_failures++;
}

const char *mtr_test_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/mtrank-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
    }
    return tmpdir;
}

/* Each test gets its own subdirectory, so tests cannot see each other's files. */
const char *mtr_test_path(const char *name) {
    static char slots[8][512];
    static int next;
    char *p = slots[next++ % 8];
    snprintf(p, 512, "%s/%s", mtr_test_tmpdir(), current_name ? current_name : "setup");
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        perror(p);
        abort();
    }
    size_t used = strlen(p);
    snprintf(p + used, 512 - used, "/%s", name);
    return p;
}

const char *mtr_test_write_file(const char *name, const char *text, size_t len) {
    const char *path = mtr_test_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

const char *mtr_test_data_dir(void) {
    const char *d = getenv("MTR_DATA_DIR");
    return d && *d ? d : "data";
}

static void remove_tmpdir(void) {
    if (!tmpdir[0]) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    struct timespec t0, t1;
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter) && !strstr(tests[i].file, filter)) continue;
        current_name = tests[i].name;
        current_failures = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6;
        if (current_failures) {
            failed++;
            fprintf(stderr, "not ok %s (%d failed checks)\n", tests[i].name, current_failures);
        } else {
            passed++;
            if (getenv("MTR_TEST_VERBOSE")) fprintf(stderr, "ok %s (%.1f ms)\n", tests[i].name, ms);
        }
    }
    remove_tmpdir();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

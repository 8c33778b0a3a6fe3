/* test.h - the test harness: TEST(name) registers a test at load time; CHECK* macros record failures
 * with file and line and let the test continue. The runner (tests/test_main.c) prints each failure and
 * ends with "N passed, N failed"; it exits non-zero when anything failed. */
#ifndef MTR_TEST_H
#define MTR_TEST_H

#include <math.h>
#include <stddef.h>
#include <string.h>

typedef void (*mtr_test_fn)(void);
void mtr_test_register(const char *name, const char *file, mtr_test_fn fn);
void mtr_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A fresh directory for this run's files, removed at exit; join(name) gives a path inside it. */
const char *mtr_test_tmpdir(void);
const char *mtr_test_path(const char *name); /* returns a static rotating buffer (8 slots) */
/* Write `text` to a file in the temp dir and return its path. */
const char *mtr_test_write_file(const char *name, const char *text, size_t len);
/* Directory of the repository's data/ (for census fixtures); from MTR_DATA_DIR or "data". */
const char *mtr_test_data_dir(void);

#define TEST(name)                                                                     \
    static void name(void);                                                            \
    __attribute__((constructor)) static void mtr_register_##name(void) {              \
        mtr_test_register(#name, __FILE__, name);                                      \
    }                                                                                  \
    static void name(void)

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) mtr_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                           \
    do {                                                                               \
        if (!(cond)) mtr_test_fail(__FILE__, __LINE__, __VA_ARGS__);                   \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                             \
    do {                                                                               \
        long long mtr_a_ = (long long)(a), mtr_b_ = (long long)(b);                    \
        if (mtr_a_ != mtr_b_)                                                          \
            mtr_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, mtr_a_, mtr_b_); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double mtr_a_ = (double)(a), mtr_b_ = (double)(b);                             \
        if (!(fabs(mtr_a_ - mtr_b_) <= (tol)))                                         \
            mtr_test_fail(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, mtr_a_, \
                          mtr_b_, (double)(tol));                                      \
    } while (0)

/* Substring check, e.g. that an error message names the file, line and field. */
#define CHECK_CONTAINS(haystack, needle)                                               \
    do {                                                                               \
        const char *mtr_h_ = (haystack), *mtr_n_ = (needle);                           \
        if (!mtr_h_ || !strstr(mtr_h_, mtr_n_))                                        \
            mtr_test_fail(__FILE__, __LINE__, "expected \"%s\" in \"%s\"", mtr_n_,     \
                          mtr_h_ ? mtr_h_ : "(null)");                                 \
    } while (0)

#endif

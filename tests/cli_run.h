/* cli_run.h - runs the mtrank command-line tool for the end-to-end tests (tests/test_cli.c): the
 * binary is the one named by the MTR_CLI environment variable (the Makefile sets it to the plain or
 * the sanitizer build). The child runs in the current test's temp directory, so a stray default
 * output (such as the mtrank-cache directory) never lands in the repository. */
#ifndef MTR_TESTS_CLI_RUN_H
#define MTR_TESTS_CLI_RUN_H

#include <stddef.h>

/* Seconds a single command may take before it is killed and the test fails. */
#define CLI_TIMEOUT_SECONDS 120

typedef struct cli_result {
    int status;     /* exit status 0..255; 128 + signal number when killed; -1 when it did not run */
    char *out;      /* everything written to stdout, NUL-terminated; never NULL after cli_run_at */
    size_t out_len; /* bytes in out, not counting the NUL */
    char *err;      /* everything written to stderr, NUL-terminated; never NULL after cli_run_at */
    size_t err_len; /* bytes in err, not counting the NUL */
} cli_result;

/* Run `$MTR_CLI args[0] args[1] ...` (args ends with NULL) with stdin read from stdin_path (NULL for
 * /dev/null). An unset or unusable MTR_CLI, a failure to start, a timeout, death by a signal, or
 * sanitizer output on stderr is recorded as a failure of the running test at file:line, so no CLI
 * test can pass without really running the binary. Free the result with cli_result_free. */
void cli_run_at(const char *file, int line, cli_result *r, const char *stdin_path, const char *const *args);
void cli_result_free(cli_result *r);

/* CLI_RUN(&r, stdin_path, "train", "--spec", path, ...): cli_run_at with the caller's location. */
#define CLI_RUN(r, stdin_path, ...)                                                                    \
    cli_run_at(__FILE__, __LINE__, (r), (stdin_path), (const char *const[]){__VA_ARGS__, NULL})

#endif

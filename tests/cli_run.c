/* cli_run.c - see cli_run.h. fork + execv with stdout and stderr on two pipes drained together by
 * poll(), so a child that fills one pipe while the parent waits on the other cannot deadlock. */
#define _DEFAULT_SOURCE
#include "cli_run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define MAX_ARGS 64

typedef struct growbuf {
    char *data;  /* bytes so far, NUL-terminated */
    size_t len;  /* bytes, not counting the NUL */
    size_t cap;  /* allocated bytes */
} growbuf;

static void growbuf_append(growbuf *b, const char *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            perror("cli_run: realloc");
            abort();
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The binary to run, resolved against the test's working directory (the child runs elsewhere).
 * Returns NULL, after recording why, when it is unusable. */
static const char *resolve_cli(const char *file, int line, char *buf, size_t size) {
    const char *cli = getenv("MTR_CLI");
    if (!cli || !*cli) {
        mtr_test_fail(file, line,
                      "MTR_CLI is not set: it must name the mtrank binary to test (make test sets it)");
        return NULL;
    }
    char full[PATH_MAX];
    if (realpath(cli, full) && access(full, X_OK) == 0) {
        snprintf(buf, size, "%s", full);
        return buf;
    }
    mtr_test_fail(file, line, "MTR_CLI=%s is not an executable file (%s)", cli, strerror(errno));
    return NULL;
}

/* In the child: wire up stdin, stdout, stderr, move to the test's directory and exec. */
static void child(const char *cli, const char *dir, const char *stdin_path, int out_fd, int err_fd,
                  const char *const *args) {
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
    if (chdir(dir) != 0) _exit(126);
    char *argv[MAX_ARGS + 2];
    int n = 0;
    argv[n++] = (char *)cli;
    for (int i = 0; args[i] && n <= MAX_ARGS; i++) argv[n++] = (char *)args[i];
    argv[n] = NULL;
    execv(cli, argv);
    fprintf(stderr, "cli_run: cannot execute %s: %s\n", cli, strerror(errno));
    _exit(127);
}

void cli_run_at(const char *file, int line, cli_result *r, const char *stdin_path, const char *const *args) {
    growbuf out = {0}, err = {0};
    growbuf_append(&out, "", 0);
    growbuf_append(&err, "", 0);
    r->status = -1;
    char cli_buf[PATH_MAX];
    const char *cli = resolve_cli(file, line, cli_buf, sizeof cli_buf);
    int n_args = 0;
    while (args[n_args]) n_args++;
    if (n_args > MAX_ARGS) {
        mtr_test_fail(file, line, "cli_run: more than %d arguments", MAX_ARGS);
        cli = NULL;
    }
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (cli && (pipe(po) != 0 || pipe(pe) != 0)) {
        mtr_test_fail(file, line, "cli_run: pipe: %s", strerror(errno));
        cli = NULL;
    }
    /* the per-test directory, with the trailing '/' that mtr_test_path("") leaves */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", mtr_test_path(""));
    pid_t pid = -1;
    if (cli) {
        fflush(NULL);
        pid = fork();
        if (pid < 0) mtr_test_fail(file, line, "cli_run: fork: %s", strerror(errno));
        if (pid == 0) {
            close(po[0]);
            close(pe[0]);
            child(cli, dir, stdin_path, po[1], pe[1], args);
        }
    }
    /* the parent keeps only the read ends, so end of file comes when the child exits */
    if (po[1] >= 0) close(po[1]);
    if (pe[1] >= 0) close(pe[1]);
    if (pid > 0) {
        struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        growbuf *bufs[2] = {&out, &err};
        int open_fds = 2, timed_out = 0;
        double deadline = now_seconds() + CLI_TIMEOUT_SECONDS;
        while (open_fds > 0) {
            int wait_ms = (int)((deadline - now_seconds()) * 1000.0);
            if (wait_ms <= 0) {
                timed_out = 1;
                break;
            }
            int ready = poll(fds, 2, wait_ms);
            if (ready < 0) {
                if (errno == EINTR) continue;
                mtr_test_fail(file, line, "cli_run: poll: %s", strerror(errno));
                break;
            }
            for (int i = 0; i < 2; i++) {
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                char chunk[65536];
                ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
                if (got > 0) {
                    growbuf_append(bufs[i], chunk, (size_t)got);
                } else if (got == 0 || errno != EINTR) {
                    fds[i].fd = -1; /* poll ignores negative descriptors */
                    open_fds--;
                }
            }
        }
        if (timed_out) {
            kill(pid, SIGKILL);
            mtr_test_fail(file, line, "%s %s: killed after %d s", cli, args[0] ? args[0] : "",
                          CLI_TIMEOUT_SECONDS);
        }
        int ws;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(ws)) r->status = WEXITSTATUS(ws);
        else if (WIFSIGNALED(ws)) r->status = 128 + WTERMSIG(ws);
        if (WIFSIGNALED(ws) && !timed_out)
            mtr_test_fail(file, line, "%s %s: killed by signal %d; stderr:\n%s", cli, args[0] ? args[0] : "",
                          WTERMSIG(ws), err.data);
        if (r->status == 126 || r->status == 127)
            mtr_test_fail(file, line, "cli_run: could not run %s (status %d): %s", cli, r->status, err.data);
        if (strstr(err.data, "Sanitizer") || strstr(err.data, "runtime error:"))
            mtr_test_fail(file, line, "%s %s: sanitizer report:\n%s", cli, args[0] ? args[0] : "", err.data);
    }
    if (po[0] >= 0) close(po[0]);
    if (pe[0] >= 0) close(pe[0]);
    r->out = out.data;
    r->out_len = out.len;
    r->err = err.data;
    r->err_len = err.len;
}

void cli_result_free(cli_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
    r->out_len = r->err_len = 0;
}

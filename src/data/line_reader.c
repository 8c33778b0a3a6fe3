/* line_reader.c - gzread into one buffer and hand out lines in place; see line_reader.h. The buffer
 * holds [start, end) of unread bytes; when no newline is left in it, the remainder moves to the front
 * and more is read, doubling the buffer only when a single line fills it. */
#include "data/line_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/error.h"

#define READ_CHUNK ((size_t)1 << 20) /* bytes asked of zlib per read; also the starting buffer size */

struct mtr_line_reader {
    gzFile gz;     /* the open file (zlib reads plain files unchanged) */
    char *path;    /* for messages */
    char *buf;     /* read buffer */
    size_t cap;    /* bytes allocated for buf */
    size_t start;  /* first unread byte in buf */
    size_t end;    /* one past the last valid byte in buf */
    size_t line;   /* number of the line last returned */
    int eof;       /* zlib reported the end of the data */
};

mtr_line_reader *mtr_line_reader_open(const char *path, mtr_error *err) {
    /* "-" is standard input; a duplicate descriptor, so closing the reader leaves stdin open */
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY);
    if (fd < 0) {
        mtr_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    mtr_line_reader *lr = calloc(1, sizeof *lr);
    size_t plen = strlen(path) + 1;
    if (lr) lr->path = malloc(plen);
    if (lr) lr->buf = malloc(READ_CHUNK);
    if (!lr || !lr->path || !lr->buf) {
        close(fd);
        mtr_line_reader_close(lr);
        mtr_fail(err, "%s: out of memory", path);
        return NULL;
    }
    memcpy(lr->path, path, plen);
    lr->cap = READ_CHUNK;
    lr->gz = gzdopen(fd, "rb");
    if (!lr->gz) {
        close(fd);
        mtr_line_reader_close(lr);
        mtr_fail(err, "%s: cannot open: out of memory", path);
        return NULL;
    }
    gzbuffer(lr->gz, 256u << 10);
    return lr;
}

void mtr_line_reader_close(mtr_line_reader *lr) {
    if (!lr) return;
    if (lr->gz) gzclose(lr->gz);
    free(lr->path);
    free(lr->buf);
    free(lr);
}

size_t mtr_line_reader_line(const mtr_line_reader *lr) { return lr->line; }

/* zlib's message without its "<fd:N>: " prefix. */
static const char *gz_message(gzFile gz, int *errnum) {
    const char *m = gzerror(gz, errnum);
    if (m && strncmp(m, "<fd:", 4) == 0) {
        const char *colon = strstr(m, ": ");
        if (colon) m = colon + 2;
    }
    return m && *m ? m : "unknown error";
}

/* Read more bytes after `end`, making room first. Returns 0, or -1 on error. */
static int fill(mtr_line_reader *lr, mtr_error *err) {
    if (lr->start > 0) {
        memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
        lr->end -= lr->start;
        lr->start = 0;
    }
    if (lr->end == lr->cap) {
        if (lr->cap > MTR_LINE_MAX)
            return mtr_fail(err, "%s: line %zu: line too long (more than %zu MiB)", lr->path, lr->line + 1,
                            MTR_LINE_MAX >> 20);
        size_t cap = lr->cap * 2;
        if (cap > MTR_LINE_MAX + READ_CHUNK) cap = MTR_LINE_MAX + READ_CHUNK;
        char *b = realloc(lr->buf, cap);
        if (!b) return mtr_fail(err, "%s: line %zu: out of memory for a long line", lr->path, lr->line + 1);
        lr->buf = b;
        lr->cap = cap;
    }
    size_t want = lr->cap - lr->end;
    if (want > READ_CHUNK) want = READ_CHUNK;
    int n = gzread(lr->gz, lr->buf + lr->end, (unsigned)want);
    int errnum = Z_OK;
    if (n < 0) {
        const char *m = gz_message(lr->gz, &errnum);
        if (errnum == Z_ERRNO)
            return mtr_fail(err, "%s: line %zu: read error: %s", lr->path, lr->line + 1, strerror(errno));
        return mtr_fail(err, "%s: line %zu: corrupt gzip data: %s", lr->path, lr->line + 1, m);
    }
    if (n == 0) {
        const char *m = gz_message(lr->gz, &errnum);
        if (errnum != Z_OK)
            return mtr_fail(err, "%s: line %zu: gzip data is truncated or corrupt: %s", lr->path,
                            lr->line + 1, m);
        lr->eof = 1;
    }
    lr->end += (size_t)n;
    return 0;
}

int mtr_line_reader_next(mtr_line_reader *lr, const char **line, size_t *len, mtr_error *err) {
    size_t scanned = 0; /* bytes after start already known to hold no newline */
    for (;;) {
        char *from = lr->buf + lr->start + scanned;
        char *nl = memchr(from, '\n', lr->end - lr->start - scanned);
        size_t n = nl ? (size_t)(nl - (lr->buf + lr->start)) : lr->end - lr->start;
        if (n > MTR_LINE_MAX)
            return mtr_fail(err, "%s: line %zu: line too long (more than %zu MiB)", lr->path, lr->line + 1,
                            MTR_LINE_MAX >> 20);
        if (nl || (lr->eof && n > 0)) {
            *line = lr->buf + lr->start;
            lr->start += n + (nl != NULL);
            if (n > 0 && (*line)[n - 1] == '\r') n--;
            *len = n;
            lr->line++;
            return 1;
        }
        if (lr->eof) return 0;
        scanned = n;
        if (fill(lr, err) != 0) return -1;
    }
}

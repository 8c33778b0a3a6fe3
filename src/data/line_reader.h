/* line_reader.h - reads a text file line by line, plain or gzip-compressed (zlib detects which), in
 * bounded memory: one buffer that grows only as far as the longest line, up to MTR_LINE_MAX. Lines are
 * numbered from 1 for error messages. A trailing "\r" is removed; the last line may lack its "\n". */
#ifndef MTR_DATA_LINE_READER_H
#define MTR_DATA_LINE_READER_H

#include <stddef.h>

#include "mtrank.h"

#define MTR_LINE_MAX ((size_t)16 << 20) /* longest accepted line, bytes without the newline */

typedef struct mtr_line_reader mtr_line_reader;

/* "-" reads standard input. Errors: "<path>: cannot open: <strerror>". */
mtr_line_reader *mtr_line_reader_open(const char *path, mtr_error *err);
/* Next line: 1 with *line and *len set (valid until the next call; not NUL-terminated), 0 at the end of the
 * file, -1 on error (read failure, corrupt or truncated gzip data, line longer than MTR_LINE_MAX). */
int mtr_line_reader_next(mtr_line_reader *lr, const char **line, size_t *len, mtr_error *err);
/* Number of the line last returned (0 before the first). */
size_t mtr_line_reader_line(const mtr_line_reader *lr);
void mtr_line_reader_close(mtr_line_reader *lr);

#endif

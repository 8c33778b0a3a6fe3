/* atomic_file.c - temp file + fsync + rename; see atomic_file.h. */
#define _POSIX_C_SOURCE 200809L
#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

int mtr_atomic_open(mtr_atomic_file *af, const char *path, mtr_error *err) {
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path) return mtr_fail(err, "%s: path too long", path);
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp_path, sizeof af->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp_path, "wb");
    if (!af->f) return mtr_fail(err, "%s: cannot create: %s", af->tmp_path, strerror(errno));
    return 0;
}

static void fsync_parent_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some filesystems refuse fsync on directories */
        close(fd);
    }
}

int mtr_atomic_commit(mtr_atomic_file *af, mtr_error *err) {
    if (!af->f) return mtr_fail(err, "%s: file is not open", af->path);
    int failed = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int saved = errno;
    if (fclose(af->f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    af->f = NULL;
    if (failed) {
        remove(af->tmp_path);
        return mtr_fail(err, "%s: write failed: %s", af->tmp_path, strerror(saved));
    }
    if (rename(af->tmp_path, af->path) != 0) {
        saved = errno;
        remove(af->tmp_path);
        return mtr_fail(err, "%s: cannot rename into place: %s", af->path, strerror(saved));
    }
    fsync_parent_dir(af->path);
    return 0;
}

void mtr_atomic_abort(mtr_atomic_file *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (af->tmp_path[0]) remove(af->tmp_path);
}

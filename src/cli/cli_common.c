/* cli_common.c - small helpers shared by the commands; see commands.h. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int wants_help(int argc, char **argv) {
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

int usage_error(const char *cmd, const char *msg) {
    fprintf(stderr, "mtrank %s: %s\n(see: mtrank help %s)\n", cmd, msg, cmd);
    return 2;
}

mtr_dataset *open_data_for_model(const mtr_schema *schema, const char *path, int labels_required,
                                 mtr_error *err) {
    size_t len = strlen(path);
    if (len > 5 && strcmp(path + len - 5, ".mtrd") == 0) return mtr_dataset_open(path, schema, err);
    return mtr_dataset_read_text(schema, path, labels_required, err);
}

const char *cli_spec_out(const char *out, const char **spec_out, char *buf, size_t size) {
    if (!*spec_out && strcmp(out, "-") != 0) {
        size_t n = strlen(out);
        if (n + 6 > size) return "--out: path too long";
        if (n > 3 && memcmp(out + n - 3, ".gz", 3) == 0) n -= 3;
        if (n > 4 && memcmp(out + n - 4, ".csv", 4) == 0) n -= 4;
        snprintf(buf, size, "%.*s.spec", (int)n, out);
        *spec_out = buf;
    }
    if (*spec_out && strcmp(*spec_out, out) == 0) return "--spec-out must differ from --out";
    return NULL;
}

/* cmd_compile.c - `mtrank compile`: fit a schema on a training file and compile text files into the
 * binary form (.mtrd), so later commands map them instead of parsing text. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"

int cmd_compile(int argc, char **argv) {
    const char *spec_path = NULL, *train_path = NULL, *data_path = NULL, *out_path = NULL;
    cli_option opts[] = {
        {"spec", CLI_STRING, &spec_path, NULL, 0, 0, "dataset spec file"},
        {"train", CLI_STRING, &train_path, NULL, 0, 0, "training file the vocabularies are fitted on"},
        {"data", CLI_STRING, &data_path, NULL, 0, 0, "file to compile (default: the training file)"},
        {"out", CLI_STRING, &out_path, NULL, 0, 0, "compiled file to write (.mtrd)"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "compile --spec FILE --train FILE [--data FILE] --out FILE.mtrd";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis, "Compiles delimited text into mtrank's binary dataset form.", opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 2, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0) return usage_error("compile", msg);
    if (!spec_path || !train_path || !out_path) return usage_error("compile", "--spec, --train and --out are required");
    if (strcmp(train_path, "-") == 0 && (!data_path || strcmp(data_path, "-") == 0))
        return usage_error("compile", "--train - (standard input) is read once: name another --data file");
    mtr_error err = {{0}};
    int rc = 1;
    mtr_spec *spec = mtr_spec_load(spec_path, &err);
    mtr_schema *schema = spec ? mtr_schema_fit(spec, train_path, &err) : NULL;
    if (schema && mtr_dataset_compile(schema, data_path ? data_path : train_path, out_path, &err) == 0) rc = 0;
    if (rc) fprintf(stderr, "mtrank compile: %s\n", err.message);
    else printf("wrote %s\n", out_path);
    mtr_schema_free(schema);
    mtr_spec_free(spec);
    return rc;
}

/* data_prep.h - turning the text files named on the command line into compiled datasets: fit the
 * schema on the training file, compile each file once into a cache directory (keyed by the schema's
 * fingerprint and the file's path, size, time and content checksum), then memory-map the compiled
 * files. Standard input ("-") is always parsed into memory. */
#ifndef MTR_CLI_DATA_PREP_H
#define MTR_CLI_DATA_PREP_H

#include "mtrank.h"

/* A compiled dataset for `path` under `schema`: opened from the cache when a valid one exists, compiled
 * into it otherwise. With cache_dir NULL the text is parsed into memory instead. */
mtr_dataset *prepare_dataset(const mtr_schema *schema, const char *path, const char *cache_dir,
                             mtr_error *err);

/* Create the cache directory if it does not exist. */
int mkdir_cache(const char *dir, mtr_error *err);

#endif

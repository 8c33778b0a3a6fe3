/* tensor_file.h - mtrank's container for models and checkpoints (after GGUF): a magic and a format
 * version, typed key/value metadata, an index of named tensors (dtype, shape, offset), tensor data
 * aligned to 64 bytes so the file could be mmapped, and a CRC-32 trailer over everything before it.
 * Written atomically. Reading checks magic, version, sizes (overflow-safe), bounds and the checksum
 * before anything is returned, and refuses newer versions with a hint to upgrade.
 *
 * Layout (little-endian):
 *   "MTRANKTF" (8 bytes) | u32 version | u32 flags(0) | u64 n_meta | u64 n_tensors
 *   n_meta x   { u32 key_len, key bytes, u32 type, value }   type 0 u64, 1 i64, 2 f64, 3 string
 *                                                          (u64 len + bytes), 4 f32 array (u64 n + data)
 *   n_tensors x { u32 name_len, name bytes, u32 dtype (0 = f32), u32 ndim (1..4), u64 dims[ndim],
 *                 u64 offset (from the start of the data section) }
 *   zero padding to a multiple of 64 | data section (each tensor at a 64-aligned offset)
 *   u32 crc32 of all preceding bytes | "MTRKEND\0"
 */
#ifndef MTR_IO_TENSOR_FILE_H
#define MTR_IO_TENSOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* Bump when a reader of the previous version could misread a new file (layout or meaning change).
 * Adding metadata keys or tensors that old readers ignore does not need a bump. */
#define MTR_TENSOR_FILE_VERSION 1

typedef struct mtr_tfile_writer mtr_tfile_writer;

/* Collect metadata and tensors in memory order of calls; nothing is written until commit.
 * Tensor data pointers must stay valid until commit. Keys and names are unique (checked at commit). */
mtr_tfile_writer *mtr_tfile_writer_new(void);
void mtr_tfile_put_u64(mtr_tfile_writer *w, const char *key, uint64_t v);
void mtr_tfile_put_i64(mtr_tfile_writer *w, const char *key, int64_t v);
void mtr_tfile_put_f64(mtr_tfile_writer *w, const char *key, double v);
void mtr_tfile_put_string(mtr_tfile_writer *w, const char *key, const char *s, size_t len);
void mtr_tfile_put_f32_array(mtr_tfile_writer *w, const char *key, const float *v, size_t n);
void mtr_tfile_put_tensor(mtr_tfile_writer *w, const char *name, const float *data, int ndim,
                          const uint64_t *dims);
/* Write everything to `path` atomically; frees nothing (call mtr_tfile_writer_free after). */
int mtr_tfile_writer_commit(mtr_tfile_writer *w, const char *path, mtr_error *err);
void mtr_tfile_writer_free(mtr_tfile_writer *w);

typedef struct mtr_tfile mtr_tfile;

/* Read and verify the whole file. Errors: missing file, not an mtrank file (bad magic), newer
 * version ("written by a newer mtrank (format N, this build reads up to M): upgrade mtrank"),
 * truncated, checksum mismatch, malformed index (out-of-range offsets, bad dims). */
mtr_tfile *mtr_tfile_open(const char *path, mtr_error *err);
void mtr_tfile_close(mtr_tfile *f);
const char *mtr_tfile_path(const mtr_tfile *f);
uint32_t mtr_tfile_version(const mtr_tfile *f);

/* Getters return 0 on success, -1 with a message naming the file and key when the key is missing or
 * has another type. Returned pointers live as long as the mtr_tfile. */
int mtr_tfile_get_u64(const mtr_tfile *f, const char *key, uint64_t *v, mtr_error *err);
int mtr_tfile_get_i64(const mtr_tfile *f, const char *key, int64_t *v, mtr_error *err);
int mtr_tfile_get_f64(const mtr_tfile *f, const char *key, double *v, mtr_error *err);
int mtr_tfile_get_string(const mtr_tfile *f, const char *key, const char **s, size_t *len,
                         mtr_error *err);
int mtr_tfile_get_f32_array(const mtr_tfile *f, const char *key, const float **v, size_t *n,
                            mtr_error *err);
int mtr_tfile_has(const mtr_tfile *f, const char *key);

/* The tensor `name` with exactly the expected shape, or NULL with an error naming file, tensor and
 * both shapes. */
const float *mtr_tfile_get_tensor(const mtr_tfile *f, const char *name, int ndim, const uint64_t *dims,
                                  mtr_error *err);

/* Enumeration, for `mtrank info`. */
size_t mtr_tfile_meta_count(const mtr_tfile *f);
/* key, type (0..4 as in the layout) of entry i. */
const char *mtr_tfile_meta_key(const mtr_tfile *f, size_t i, int *type);
size_t mtr_tfile_tensor_count(const mtr_tfile *f);
const char *mtr_tfile_tensor_info(const mtr_tfile *f, size_t i, int *ndim, uint64_t dims[4]);

#endif

/* dataset_file.h - the compiled dataset file (.mtrd, layout in docs/data-format.md): the header's fields,
 * shared by the streaming writer (dataset_writer.c) and the validating reader behind mtr_dataset_open
 * (dataset_file.c). */
#ifndef MTR_DATA_DATASET_FILE_H
#define MTR_DATA_DATASET_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* Data format version: must change whenever the meaning or position of any byte in the file changes
 * (header fields, record layout, row index, id conventions, checksum coverage). Readers refuse newer
 * versions, and older ones with a hint to recompile. Version 2 added multi-valued fields, aux values and
 * the row index. */
#define MTR_DATA_FORMAT_VERSION 2u
#define MTR_DATA_MAGIC "MTRKDATA"
#define MTR_DATA_HEADER_BYTES 128u /* the header; the field kinds follow it */
#define MTR_DATA_ALIGN 64u         /* records start at a multiple of this (SIMD loads) */
#define MTR_DATA_MAX_FIELDS (1u << 28) /* categorical, numeric or aux values per record at most */

/* Header field offsets (little-endian integers). */
enum {
    MTR_DOFF_MAGIC = 0,        /* 8 bytes "MTRKDATA" */
    MTR_DOFF_VERSION = 8,      /* u32 format version */
    MTR_DOFF_FLAGS = 12,       /* u32, 0 (reserved) */
    MTR_DOFF_ROWS = 16,        /* u64 rows */
    MTR_DOFF_CAT = 24,         /* u32 categorical fields (single- and multi-valued) */
    MTR_DOFF_NUM = 28,         /* u32 numeric inputs per record */
    MTR_DOFF_TASKS = 32,       /* u32 labels per record */
    MTR_DOFF_AUX = 36,         /* u32 aux values per record */
    MTR_DOFF_MULTI = 40,       /* u32 multi-valued fields */
    MTR_DOFF_FIXED_WORDS = 44, /* u32 words before the multi-valued ids (= cat + num + tasks + aux) */
    MTR_DOFF_FINGERPRINT = 48, /* u64 schema fingerprint (0 = none) */
    MTR_DOFF_DATA = 56,        /* u64 byte offset of the first record (a multiple of 64) */
    MTR_DOFF_WORDS = 64,       /* u64 words in all records */
    MTR_DOFF_INDEX = 72,       /* u64 byte offset of the row index (a multiple of 8), 0 without one */
    MTR_DOFF_MAX_IDS = 80      /* u32 most categorical ids in one row; 84..127 reserved, 0 */
};

/* Whether this machine stores words little-endian, as the file does (records are mapped as they are). */
int mtr_host_is_little_endian(void);

static inline void mtr_put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void mtr_put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t mtr_get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t mtr_get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Where the records start for n_cat fields: after the header and the field kinds, 64-aligned. */
static inline uint64_t mtr_data_offset(uint64_t n_cat) {
    return (MTR_DATA_HEADER_BYTES + n_cat + MTR_DATA_ALIGN - 1) / MTR_DATA_ALIGN * MTR_DATA_ALIGN;
}

#endif

/* checksum.h - CRC-32 (zlib's) over buffers larger than 4 GiB, for file trailers. */
#ifndef MTR_UTIL_CHECKSUM_H
#define MTR_UTIL_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0. */
uint32_t mtr_crc32(uint32_t crc, const void *data, size_t n);
/* FNV-1a 64-bit, for fingerprints and hashing ids (not for integrity). */
uint64_t mtr_fnv1a64(uint64_t h, const void *data, size_t n);
#define MTR_FNV1A64_INIT 0xcbf29ce484222325ULL

#endif

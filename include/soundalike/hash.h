/* hash.h: a fast non-cryptographic 64-bit hash (FNV-1a over 8-byte words)
 * for change detection and checksums; not for security. Thread-safe. */
#ifndef SOUNDALIKE_HASH_H
#define SOUNDALIKE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SA_HASH_SEED UINT64_C(0xcbf29ce484222325)

/* Continues the hash h over n bytes; start with SA_HASH_SEED. Each call ends
 * with a mixing step, so the value depends on how the bytes are split
 * between calls: compare only hashes made of the same pieces. */
uint64_t sa_hash64(uint64_t h, const void *data, size_t n);

/* Writes h as 16 lowercase hex digits and a NUL into out. */
void sa_hash64_hex(uint64_t h, char out[17]);

#endif

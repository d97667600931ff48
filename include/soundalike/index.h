/* index.h: nearest-neighbour search over track vectors by inner product.
 *
 * Vectors are L2-normalised by their profile, so the inner product is the
 * cosine similarity, in [-1, 1]. Track ids are the index ids. The exact
 * index is our own SIMD scan (runtime dispatch: AVX-512, AVX2, portable;
 * the same results on each); approximate and compressed types come from
 * FAISS behind this header (src/index/ is the only module that knows it).
 *
 * An index is a cache of the store: it is saved atomically (temporary name,
 * fsync, rename) with a checksum, and a loaded file is verified.
 * Thread safety: searches may run concurrently on one index; add, remove
 * and save need exclusive access (the caller locks, or builds aside and
 * swaps). */
#ifndef SOUNDALIKE_INDEX_H
#define SOUNDALIKE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"

typedef struct sa_index sa_index;

typedef struct sa_hit {
    int64_t id;
    float score; /* cosine similarity */
} sa_hit;

/* An empty exact (flat) index for vectors of dim floats. */
sa_err sa_index_new_flat(int dim, sa_index **out);
void sa_index_free(sa_index *idx); /* NULL accepted */

int sa_index_dim(const sa_index *idx);
size_t sa_index_count(const sa_index *idx);
const char *sa_index_type(const sa_index *idx); /* "flat", ... */

/* Adds n vectors (n*dim floats) with their ids; an id already present is
 * replaced. */
sa_err sa_index_add(sa_index *idx, const int64_t *ids, const float *vectors, size_t n);
/* Removes id; SA_ERR_NOT_FOUND when absent. */
sa_err sa_index_remove(sa_index *idx, int64_t id);
/* Copies the stored vector of id into v (dim floats); SA_ERR_NOT_FOUND when absent. */
sa_err sa_index_get(const sa_index *idx, int64_t id, float *v);

/* The k best hits for query (dim floats), best first, skipping the ids in
 * exclude (n_exclude of them, any order). out holds k hits; *found gets how
 * many were written (fewer when the index is small). */
sa_err sa_index_search(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                       size_t n_exclude, sa_hit *out, size_t *found);

/* Writes idx to path atomically; *checksum (72 bytes) gets the file's hex checksum. */
sa_err sa_index_save(const sa_index *idx, const char *path, char checksum[72]);
/* Reads an index written by sa_index_save, verifying its checksum; the
 * file's hex checksum goes to checksum when not NULL. SA_ERR_FORMAT on a
 * corrupt or truncated file. */
sa_err sa_index_load(const char *path, sa_index **out, char checksum[72]);

#endif

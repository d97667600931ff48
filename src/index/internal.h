/* internal.h: what each kind of index (flat scan, FAISS) implements behind index.h. */
#ifndef SA_INDEX_INTERNAL_H
#define SA_INDEX_INTERNAL_H

#include <stdbool.h>

#include "index/file.h"
#include "soundalike/index.h"

/* index.c checks the arguments (non-NULL pointers, finite vectors, k >= 1)
 * before calling any of these. */
typedef struct sa_index_ops {
    size_t (*count)(const sa_index *idx);
    sa_err (*add)(sa_index *idx, const int64_t *ids, const float *vectors, size_t n);
    sa_err (*remove)(sa_index *idx, int64_t id);
    sa_err (*get)(const sa_index *idx, int64_t id, float *v);
    /* exclude is sorted ascending; params is never NULL */
    sa_err (*search)(const sa_index *idx, const float *query, size_t k, const int64_t *exclude, size_t n_exclude,
                     const sa_search_params *params, sa_hit *out, size_t *found);
    /* as sa_index_search_batch, k >= 1 (NULL: index.c runs single searches in parallel) */
    sa_err (*search_batch)(const sa_index *idx, const float *queries, size_t nq, size_t k, const int64_t *skip,
                           const sa_search_params *params, sa_hit *out, size_t *found);
    /* as sa_index_search_range, exclude sorted (NULL: index.c widens top-k searches) */
    sa_err (*search_range)(const sa_index *idx, const float *query, float min_score, const int64_t *exclude,
                           size_t n_exclude, const sa_search_params *params, sa_hit **out, size_t *found);
    /* fills what it knows; count and type come from index.c */
    void (*info)(const sa_index *idx, sa_index_info *out);
    bool (*is_trained)(const sa_index *idx);
    /* trains on n vectors; called only while not trained (NULL when never) */
    sa_err (*train)(sa_index *idx, const float *vectors, size_t n);
    sa_err (*set_param)(sa_index *idx, const char *name, double value);
    /* writes the body of the file; the header and trailer are index.c's */
    sa_err (*save)(const sa_index *idx, sa_ixwriter *w);
    void (*free)(sa_index *idx);
} sa_index_ops;

/* The first member of every kind's struct. */
struct sa_index {
    const sa_index_ops *ops;
    int dim;
    uint32_t file_kind; /* SA_IXFILE_FLAT, ... */
    char type[SA_IXFILE_TYPE_MAX + 1];
};

/* Whether id is in exclude (sorted ascending). */
bool sa_index_excluded(const int64_t *exclude, size_t n_exclude, int64_t id);
/* Whether all n floats are finite. */
bool sa_index_finite(const float *v, size_t n);

/* Read a body (after the header) into a new index. */
sa_err sa_flat_load(sa_ixreader *r, const sa_ixfile_header *h, sa_index **out);
sa_err sa_ivf_load(sa_ixreader *r, const sa_ixfile_header *h, sa_index **out);
sa_err sa_faiss_load(sa_ixreader *r, const sa_ixfile_header *h, sa_index **out);

/* A new index of our own IVF ("ivf"), or FAISS-backed (any other type but "flat"). */
sa_err sa_ivf_new(int dim, size_t expected_count, sa_index **out);
sa_err sa_faiss_new(const char *type, int dim, size_t expected_count, sa_index **out);

/* The IVF list count for a library of n vectors: about 4*sqrt(n), but no
 * more than k-means can train well, with some 39 points per centroid. */
size_t sa_index_auto_nlist(size_t n);

/* n floats, 64-byte aligned (free with free); NULL when out of memory. */
float *sa_index_alloc_floats(size_t n);

/* A copy of query (dim floats) padded with zeros to stride floats,
 * 64-byte aligned, for the scan kernels; NULL when out of memory. */
float *sa_index_padded_query(const float *query, int dim, size_t stride);

#endif

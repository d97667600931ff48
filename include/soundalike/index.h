/* index.h: nearest-neighbour search over track vectors by inner product.
 *
 * Vectors are L2-normalised by their profile, so the inner product is the
 * cosine similarity, in [-1, 1]. Track ids are the index ids. The exact
 * index is our own SIMD scan (runtime dispatch: AVX-512, AVX2, portable;
 * the same results on each), split over threads for a large index; our
 * IVF runs on the same kernels. HNSW and the compressed types come from
 * FAISS behind this header (src/index/ is the only module that knows it).
 *
 * An index is a cache of the store: it is saved atomically (temporary name,
 * fsync, rename) with a checksum, and a loaded file is verified.
 * Thread safety: searches (every sa_index_search* and sa_index_info) may
 * run concurrently on one index; add, build, remove, set_param, tune and
 * save need exclusive access (the caller locks, or builds aside and swaps). */
#ifndef SOUNDALIKE_INDEX_H
#define SOUNDALIKE_INDEX_H

#include <stdbool.h>
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

/* An empty index of the given type for vectors of dim floats:
 *   "flat"   the exact scan (as sa_index_new_flat);
 *   "ivf"    our inverted lists over the same SIMD kernels: k-means
 *            centroids trained on a sample, each vector in the list of its
 *            nearest centroid, full vectors (exact scores); about 4*sqrt(n)
 *            lists (at most n/39, so that each list trains on enough
 *            points), where n is expected_count or the count given to
 *            sa_index_build, when larger;
 *   "faiss-ivf" FAISS's IVF-Flat, sized the same way;
 *   "ivfsq"  FAISS's IVF, sized so, holding 8-bit scalar-quantised vectors;
 *   "ivfpq"  FAISS's IVF, sized so, holding product-quantised vectors, one
 *            sub-quantiser per 4 dimensions (vectors are zero-padded to a
 *            multiple of 4, which leaves inner products unchanged);
 *   "hnsw"   FAISS HNSW with M 32;
 *   anything else is a FAISS index_factory string ("IVF4096,PQ16",
 *   "HNSW16", "Flat"), at most 63 characters.
 * Every type ranks by inner product. Any IVF visits 1/8 of its lists per
 * query and any HNSW uses efConstruction 80 and efSearch 64, until told
 * otherwise (sa_index_set_param). SA_ERR_INVALID, with FAISS's message,
 * when FAISS rejects the string. */
sa_err sa_index_new(const char *type, int dim, size_t expected_count, sa_index **out);
void sa_index_free(sa_index *idx); /* NULL accepted */

int sa_index_dim(const sa_index *idx);
size_t sa_index_count(const sa_index *idx);
const char *sa_index_type(const sa_index *idx); /* as given to sa_index_new */
/* Whether vectors can be added: IVF and PQ types need sa_index_build first. */
bool sa_index_is_trained(const sa_index *idx);

/* Adds n vectors (n*dim floats) with their ids (any but -1, which FAISS
 * uses for "no result"); an id already present is replaced (within one
 * call, the last vector of an id wins).
 * SA_ERR_CONFLICT on an index that is not trained. */
sa_err sa_index_add(sa_index *idx, const int64_t *ids, const float *vectors, size_t n);
/* Trains the index on these vectors when it needs it and is not trained
 * yet (choosing the IVF list count from the library size), then adds them. */
sa_err sa_index_build(sa_index *idx, const int64_t *ids, const float *vectors, size_t n);

/* Sets a parameter of an approximate index: "nprobe" (IVF lists visited
 * per query), "efSearch", "efConstruction" (HNSW), "M" (HNSW, while
 * empty), "nlist" (IVF, before sa_index_build), or, on a FAISS type, any
 * name FAISS's ParameterSpace knows. SA_ERR_INVALID for a name the type
 * lacks or a bad value; SA_ERR_CONFLICT when it is too late (M on a
 * filled index). */
sa_err sa_index_set_param(sa_index *idx, const char *name, double value);

/* Removes id; SA_ERR_NOT_FOUND when absent. Types that FAISS cannot
 * remove from (HNSW) drop the id from results and keep its vector until
 * the index is rebuilt. */
sa_err sa_index_remove(sa_index *idx, int64_t id);
/* Copies the stored vector of id into v (dim floats), as the index holds
 * it (quantised types: an approximation); SA_ERR_NOT_FOUND when absent. */
sa_err sa_index_get(const sa_index *idx, int64_t id, float *v);

/* The k best hits for query (dim floats), best first, skipping the ids in
 * exclude (n_exclude of them, any order). out holds k hits; *found gets how
 * many were written (fewer when the index is small). Scores are clamped to
 * [-1, 1] (quantised types only approximate them). */
sa_err sa_index_search(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                       size_t n_exclude, sa_hit *out, size_t *found);

/* Per-query settings; 0 keeps the index's own, and a setting the type
 * lacks is ignored. */
typedef struct sa_search_params {
    int nprobe;    /* IVF lists to visit */
    int ef_search; /* HNSW candidate list size */
} sa_search_params;

/* sa_index_search with per-query settings (params may be NULL). */
sa_err sa_index_search_with(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                            size_t n_exclude, const sa_search_params *params, sa_hit *out, size_t *found);

/* The k best hits for the stored vector of id, which is never among them
 * (nor the ids in exclude); SA_ERR_NOT_FOUND when id is not in the index. */
sa_err sa_index_search_id(const sa_index *idx, int64_t id, size_t k, const int64_t *exclude, size_t n_exclude,
                          const sa_search_params *params, sa_hit *out, size_t *found);

/* Every hit scoring at least min_score, best first, skipping the ids in
 * exclude: *out (malloc'd, the caller frees it; NULL when none) gets
 * *found hits. Approximate types return what they find (an IVF searches
 * the lists it visits). */
sa_err sa_index_search_range(const sa_index *idx, const float *query, float min_score, const int64_t *exclude,
                             size_t n_exclude, const sa_search_params *params, sa_hit **out, size_t *found);

/* nq searches at once (queries: nq*dim floats): query i writes its k best
 * hits to out + i*k and their number to found[i]. skip (may be NULL)
 * names one id per query to leave out (a track's own id; -1 for none).
 * Much faster than nq single searches for the exact scan, which reads the
 * vectors once for a block of queries; spread over the threads set by
 * sa_index_set_threads. */
sa_err sa_index_search_batch(const sa_index *idx, const float *queries, size_t nq, size_t k, const int64_t *skip,
                             const sa_search_params *params, sa_hit *out, size_t *found);

/* What an index is and holds, for statistics. */
typedef struct sa_index_info {
    size_t count;        /* vectors that searches can return */
    size_t stored;       /* vectors held: count plus removed ones not yet dropped (HNSW) */
    size_t memory_bytes; /* memory its data takes */
    size_t trained_for;  /* the library size its lists were shaped for; 0 when untrained or not IVF */
    int nlist, nprobe;   /* IVF lists and lists visited per query; 0 when not IVF */
    int m, ef_search, ef_construction; /* HNSW; 0 when not HNSW */
    char detail[128];    /* what it is, in FAISS's terms where FAISS holds it ("IVF4000,Flat") */
} sa_index_info;
sa_err sa_index_info_get(const sa_index *idx, sa_index_info *out);

/* Tunes the per-query setting of an approximate index (IVF: nprobe; HNSW:
 * efSearch), raising it until recall@10 against the exact answer reaches
 * target or the setting is exhaustive. The queries are n_queries of the
 * n stored (ids, vectors), spread evenly, each searched without itself;
 * the exact answers come from a scan of the same vectors. *recall gets the
 * recall@10 with the setting kept (1 for the exact index, which needs no
 * tuning). With target <= 0 it only measures. */
sa_err sa_index_tune(sa_index *idx, const int64_t *ids, const float *vectors, size_t n, size_t n_queries,
                     double target, double *recall);

/* How many threads the index may use (training, adding, batch searches,
 * and one exact scan of a large index) for work started from the calling
 * thread; 0 restores the default, all cores. An analysis worker sets 1, so
 * that the index and the worker pool do not fight over the cores; one big
 * build may use them all. */
void sa_index_set_threads(int n);

/* Writes idx to path atomically (FAISS types through FAISS's own
 * serialiser, inside the same checksummed file); checksum (72 bytes, may be
 * NULL) gets the file's checksum: 16 lowercase hex digits. */
sa_err sa_index_save(const sa_index *idx, const char *path, char checksum[72]);
/* Reads an index written by sa_index_save, verifying its checksum; the
 * file's hex checksum goes to checksum when not NULL. SA_ERR_FORMAT on a
 * corrupt or truncated file. */
sa_err sa_index_load(const char *path, sa_index **out, char checksum[72]);

#endif

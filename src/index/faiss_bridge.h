/* faiss_bridge.h: the C face of faiss_bridge.cpp, the one file that speaks
 * FAISS's C++ API. Every function catches every C++ exception and returns
 * an sa_err whose detail is FAISS's message. Indexes always use the inner
 * product metric. */
#ifndef SA_INDEX_FAISS_BRIDGE_H
#define SA_INDEX_FAISS_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* inside the extern "C" block: error.h itself has no C++ guard */
#include "soundalike/error.h"

typedef struct sa_fb sa_fb;

/* What the labels of an index are. */
typedef enum sa_fb_labels {
    /* the caller's ids (IVF natively, others wrapped in IndexIDMap2); removal by id */
    SA_FB_IDS = 1,
    /* 0, 1, 2, ... in order of addition: the index cannot remove, so the
     * caller maps labels to ids and filters out the ones it has dropped */
    SA_FB_KEYS = 2,
} sa_fb_labels;

/* A new empty index from a FAISS factory string, for vectors of dim floats.
 * An IVF index keeps a hash table from id to entry, for reconstruct and
 * removal. SA_ERR_INVALID when FAISS rejects the string. */
sa_err sa_fb_new(const char *factory, int dim, sa_fb **out);
void sa_fb_free(sa_fb *fb); /* NULL accepted */

sa_fb_labels sa_fb_label_mode(const sa_fb *fb);
int sa_fb_dim(const sa_fb *fb);
int64_t sa_fb_ntotal(const sa_fb *fb);
bool sa_fb_is_trained(const sa_fb *fb);
/* The number of IVF lists, 0 when the index is not IVF. */
size_t sa_fb_nlist(const sa_fb *fb);
bool sa_fb_is_hnsw(const sa_fb *fb);

/* The search settings an index has; 0 for those its type lacks. */
typedef struct sa_fb_settings {
    int nprobe;
    int m, ef_search, ef_construction;
} sa_fb_settings;
void sa_fb_settings_get(const sa_fb *fb, sa_fb_settings *out);

sa_err sa_fb_train(sa_fb *fb, const float *x, size_t n);
/* ids: n labels in SA_FB_IDS mode; NULL in SA_FB_KEYS mode. */
sa_err sa_fb_add(sa_fb *fb, const float *x, size_t n, const int64_t *ids);
/* SA_FB_IDS mode only. */
sa_err sa_fb_remove(sa_fb *fb, const int64_t *ids, size_t n);
sa_err sa_fb_reconstruct(const sa_fb *fb, int64_t label, float *v);

/* The k best labels and inner products for one query, best first; a label
 * of -1 ends the list early. nprobe and ef_search, when > 0, override the
 * index's own setting for this query (where the index has one). */
sa_err sa_fb_search(const sa_fb *fb, const float *q, size_t k, int nprobe, int ef_search, float *scores,
                    int64_t *labels);

/* "nprobe", "efSearch", "efConstruction", or any name FAISS's ParameterSpace knows. */
sa_err sa_fb_set_param(sa_fb *fb, const char *name, double value);

/* OpenMP threads for FAISS work started by the calling thread (0: all cores). */
void sa_fb_set_threads(int n);

/* Serialisation through FAISS's own writer and reader, by callbacks that
 * return an sa_err (their detail is kept when they fail). */
typedef sa_err (*sa_fb_write_fn)(void *ctx, const void *data, size_t n);
typedef sa_err (*sa_fb_read_fn)(void *ctx, void *data, size_t n);
sa_err sa_fb_write(const sa_fb *fb, sa_fb_write_fn write, void *ctx);
/* SA_ERR_FORMAT when FAISS cannot parse the data. */
sa_err sa_fb_read(sa_fb_read_fn read, void *ctx, sa_fb **out);

#ifdef __cplusplus
}
#endif

#endif

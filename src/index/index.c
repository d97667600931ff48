/* index.c: the public index API: argument checks, exclusion lists, what
 * every kind shares (search by id, the generic batch and range searches),
 * and the file container around each kind's body. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/internal.h"
#include "index/parallel.h"

bool sa_index_excluded(const int64_t *exclude, size_t n_exclude, int64_t id) {
    size_t lo = 0, hi = n_exclude;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (exclude[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n_exclude && exclude[lo] == id;
}

bool sa_index_finite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

size_t sa_index_auto_nlist(size_t n) {
    size_t nlist = (size_t)lround(4.0 * sqrt((double)n));
    if (nlist > n / 39)
        nlist = n / 39;
    return nlist ? nlist : 1;
}

float *sa_index_alloc_floats(size_t n) {
    /* aligned_alloc wants a whole number of alignments */
    if (n > (SIZE_MAX - 63) / sizeof(float))
        return NULL;
    return aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
}

float *sa_index_padded_query(const float *query, int dim, size_t stride) {
    float *q = sa_index_alloc_floats(stride);
    if (q) {
        memcpy(q, query, (size_t)dim * sizeof *q);
        memset(q + dim, 0, (stride - (size_t)dim) * sizeof *q);
    }
    return q;
}

void sa_index_free(sa_index *idx) {
    if (idx)
        idx->ops->free(idx);
}

int sa_index_dim(const sa_index *idx) { return idx->dim; }

size_t sa_index_count(const sa_index *idx) { return idx->ops->count(idx); }

const char *sa_index_type(const sa_index *idx) { return idx->type; }

bool sa_index_is_trained(const sa_index *idx) { return idx->ops->is_trained(idx); }

sa_err sa_index_new(const char *type, int dim, size_t expected_count, sa_index **out) {
    if (!type || !out)
        return sa_error_set(SA_ERR_INVALID, "sa_index_new: NULL argument");
    *out = NULL;
    if (strcmp(type, "flat") == 0)
        return sa_index_new_flat(dim, out);
    if (strcmp(type, "ivf") == 0)
        return sa_ivf_new(dim, expected_count, out);
    return sa_faiss_new(type, dim, expected_count, out);
}

static sa_err check_batch(const sa_index *idx, const int64_t *ids, const float *vectors, size_t n) {
    if (!idx || (n && (!ids || !vectors)))
        return sa_error_set(SA_ERR_INVALID, "adding to an index: NULL argument");
    if (n > SIZE_MAX / sizeof(float) / (size_t)idx->dim)
        return sa_error_set(SA_ERR_INVALID, "adding %zu vectors: too many", n);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == -1)
            return sa_error_set(SA_ERR_INVALID, "id -1 is reserved (it means \"no result\")");
        if (!sa_index_finite(vectors + i * (size_t)idx->dim, (size_t)idx->dim))
            return sa_error_set(SA_ERR_INVALID, "vector of id %lld has a NaN or infinite value",
                                (long long)ids[i]);
    }
    return SA_OK;
}

sa_err sa_index_add(sa_index *idx, const int64_t *ids, const float *vectors, size_t n) {
    sa_err err = check_batch(idx, ids, vectors, n);
    if (err)
        return err;
    if (!idx->ops->is_trained(idx))
        return sa_error_set(SA_ERR_CONFLICT, "an index of type \"%s\" must be trained by sa_index_build first",
                            idx->type);
    return idx->ops->add(idx, ids, vectors, n);
}

sa_err sa_index_build(sa_index *idx, const int64_t *ids, const float *vectors, size_t n) {
    sa_err err = check_batch(idx, ids, vectors, n);
    if (!err && !idx->ops->is_trained(idx))
        err = idx->ops->train(idx, vectors, n);
    return err ? err : idx->ops->add(idx, ids, vectors, n);
}

sa_err sa_index_set_param(sa_index *idx, const char *name, double value) {
    if (!idx || !name)
        return sa_error_set(SA_ERR_INVALID, "sa_index_set_param: NULL argument");
    return idx->ops->set_param(idx, name, value);
}

sa_err sa_index_remove(sa_index *idx, int64_t id) {
    if (!idx)
        return sa_error_set(SA_ERR_INVALID, "sa_index_remove: NULL index");
    return idx->ops->remove(idx, id);
}

sa_err sa_index_get(const sa_index *idx, int64_t id, float *v) {
    if (!idx || !v)
        return sa_error_set(SA_ERR_INVALID, "sa_index_get: NULL argument");
    return idx->ops->get(idx, id, v);
}

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A sorted copy of exclude, plus extra when it is not -1 (*out stays NULL
 * when the list is empty). */
static sa_err sorted_exclusions(const int64_t *exclude, size_t n, int64_t extra, int64_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = n + (extra != -1);
    if (*n_out == 0)
        return SA_OK;
    int64_t *sorted = malloc(*n_out * sizeof *sorted);
    if (!sorted)
        return sa_error_set(SA_ERR_NOMEM, "exclusion list of %zu ids", *n_out);
    if (n)
        memcpy(sorted, exclude, n * sizeof *sorted);
    if (extra != -1)
        sorted[n] = extra;
    qsort(sorted, *n_out, sizeof *sorted, cmp_id);
    *out = sorted;
    return SA_OK;
}

static const sa_search_params no_params = {0, 0};

/* rounding (or quantisation) can step just past a cosine's range */
static void clamp_scores(sa_hit *hits, size_t n) {
    for (size_t i = 0; i < n; i++)
        hits[i].score = hits[i].score > 1.0f ? 1.0f : hits[i].score < -1.0f ? -1.0f : hits[i].score;
}

/* The search with the exclusions already sorted. */
static sa_err search_sorted(const sa_index *idx, const float *query, size_t k, const int64_t *sorted, size_t n_sorted,
                            const sa_search_params *params, sa_hit *out, size_t *found) {
    *found = 0;
    if (k == 0)
        return SA_OK;
    sa_err err = idx->ops->search(idx, query, k, sorted, n_sorted, params ? params : &no_params, out, found);
    if (!err)
        clamp_scores(out, *found);
    return err;
}

sa_err sa_index_search(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                       size_t n_exclude, sa_hit *out, size_t *found) {
    return sa_index_search_with(idx, query, k, exclude, n_exclude, NULL, out, found);
}

sa_err sa_index_search_with(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                            size_t n_exclude, const sa_search_params *params, sa_hit *out, size_t *found) {
    if (!idx || !query || !found || (k && !out) || (n_exclude && !exclude))
        return sa_error_set(SA_ERR_INVALID, "sa_index_search: NULL argument");
    *found = 0;
    if (!sa_index_finite(query, (size_t)idx->dim))
        return sa_error_set(SA_ERR_INVALID, "query vector has a NaN or infinite value");
    int64_t *sorted;
    size_t n_sorted;
    sa_err err = sorted_exclusions(exclude, n_exclude, -1, &sorted, &n_sorted);
    if (!err)
        err = search_sorted(idx, query, k, sorted, n_sorted, params, out, found);
    free(sorted);
    return err;
}

sa_err sa_index_search_id(const sa_index *idx, int64_t id, size_t k, const int64_t *exclude, size_t n_exclude,
                          const sa_search_params *params, sa_hit *out, size_t *found) {
    if (!idx || !found || (k && !out) || (n_exclude && !exclude))
        return sa_error_set(SA_ERR_INVALID, "sa_index_search_id: NULL argument");
    *found = 0;
    if (id == -1)
        return sa_error_set(SA_ERR_NOT_FOUND, "id -1 is never in an index");
    float *v = malloc((size_t)idx->dim * sizeof *v);
    if (!v)
        return sa_error_set(SA_ERR_NOMEM, "query vector");
    int64_t *sorted = NULL;
    size_t n_sorted;
    sa_err err = idx->ops->get(idx, id, v);
    if (!err)
        err = sorted_exclusions(exclude, n_exclude, id, &sorted, &n_sorted);
    if (!err)
        err = search_sorted(idx, v, k, sorted, n_sorted, params, out, found);
    free(sorted);
    free(v);
    return err;
}

/* Widens a top-k search until its last hit falls below min_score or the
 * index has nothing more (for kinds without a range search of their own). */
static sa_err range_by_topk(const sa_index *idx, const float *query, float min_score, const int64_t *sorted,
                            size_t n_sorted, const sa_search_params *params, sa_hit **out, size_t *found) {
    size_t total = idx->ops->count(idx), k = total < 64 ? total : 64;
    sa_hit *hits = NULL;
    for (;;) {
        sa_hit *more = k ? realloc(hits, k * sizeof *hits) : hits;
        if (k && !more) {
            free(hits);
            return sa_error_set(SA_ERR_NOMEM, "%zu hits", k);
        }
        hits = more;
        sa_err err = search_sorted(idx, query, k, sorted, n_sorted, params, hits, found);
        if (err) {
            free(hits);
            return err;
        }
        if (*found < k || k == total || hits[*found - 1].score < min_score)
            break;
        k = k > total / 4 ? total : k * 4;
    }
    while (*found > 0 && hits[*found - 1].score < min_score)
        (*found)--;
    if (*found == 0) {
        free(hits);
        hits = NULL;
    }
    *out = hits;
    return SA_OK;
}

sa_err sa_index_search_range(const sa_index *idx, const float *query, float min_score, const int64_t *exclude,
                             size_t n_exclude, const sa_search_params *params, sa_hit **out, size_t *found) {
    if (!idx || !query || !out || !found || (n_exclude && !exclude))
        return sa_error_set(SA_ERR_INVALID, "sa_index_search_range: NULL argument");
    *out = NULL;
    *found = 0;
    if (!sa_index_finite(query, (size_t)idx->dim) || isnan(min_score))
        return sa_error_set(SA_ERR_INVALID, "query vector or minimum score has a NaN or infinite value");
    int64_t *sorted;
    size_t n_sorted;
    sa_err err = sorted_exclusions(exclude, n_exclude, -1, &sorted, &n_sorted);
    if (!err && idx->ops->search_range) {
        err = idx->ops->search_range(idx, query, min_score, sorted, n_sorted, params ? params : &no_params, out,
                                     found);
        if (!err)
            clamp_scores(*out, *found);
    } else if (!err) {
        err = range_by_topk(idx, query, min_score, sorted, n_sorted, params, out, found);
    }
    free(sorted);
    return err;
}

/* A batch of single searches is split over threads in parts of at least
 * this many queries (an approximate search takes some 0.1 ms). */
enum { BATCH_PART_QUERIES = 32 };

typedef struct batch_job {
    const sa_index *idx;
    const float *queries;
    size_t nq, k;
    const int64_t *skip;
    const sa_search_params *params;
    sa_hit *out;
    size_t *found;
} batch_job;

static sa_err batch_part(void *ctx, size_t part, size_t nparts) {
    const batch_job *j = ctx;
    sa_err err = SA_OK;
    for (size_t i = j->nq * part / nparts; !err && i < j->nq * (part + 1) / nparts; i++) {
        int has_skip = j->skip && j->skip[i] != -1;
        err = j->idx->ops->search(j->idx, j->queries + i * (size_t)j->idx->dim, j->k, has_skip ? &j->skip[i] : NULL,
                                  has_skip, j->params, j->out + i * j->k, &j->found[i]);
    }
    return err;
}

sa_err sa_index_search_batch(const sa_index *idx, const float *queries, size_t nq, size_t k, const int64_t *skip,
                             const sa_search_params *params, sa_hit *out, size_t *found) {
    if (!idx || (nq && (!queries || !found)) || (nq && k && !out))
        return sa_error_set(SA_ERR_INVALID, "sa_index_search_batch: NULL argument");
    if (nq > SIZE_MAX / sizeof(float) / (size_t)idx->dim || (k && nq > SIZE_MAX / sizeof(sa_hit) / k))
        return sa_error_set(SA_ERR_INVALID, "a batch of %zu queries is too large", nq);
    for (size_t i = 0; i < nq; i++)
        found[i] = 0;
    if (!sa_index_finite(queries, nq * (size_t)idx->dim))
        return sa_error_set(SA_ERR_INVALID, "a query vector has a NaN or infinite value");
    if (k == 0 || nq == 0)
        return SA_OK;
    params = params ? params : &no_params;
    sa_err err;
    if (idx->ops->search_batch) {
        err = idx->ops->search_batch(idx, queries, nq, k, skip, params, out, found);
    } else {
        batch_job j = {idx, queries, nq, k, skip, params, out, found};
        size_t threads = (size_t)sa_index_threads(), parts = nq / BATCH_PART_QUERIES;
        err = sa_index_parallel(parts < 1 ? 1 : parts < threads ? parts : threads, batch_part, &j);
    }
    for (size_t i = 0; !err && i < nq; i++)
        clamp_scores(out + i * k, found[i]);
    return err;
}

sa_err sa_index_info_get(const sa_index *idx, sa_index_info *out) {
    if (!idx || !out)
        return sa_error_set(SA_ERR_INVALID, "sa_index_info_get: NULL argument");
    memset(out, 0, sizeof *out);
    out->count = idx->ops->count(idx);
    idx->ops->info(idx, out);
    return SA_OK;
}

sa_err sa_index_save(const sa_index *idx, const char *path, char checksum[72]) {
    if (!idx || !path)
        return sa_error_set(SA_ERR_INVALID, "sa_index_save: NULL argument");
    sa_ixfile_header h = {.kind = idx->file_kind, .dim = idx->dim, .count = sa_index_count(idx)};
    memcpy(h.type, idx->type, sizeof h.type);
    sa_ixwriter w;
    sa_err err = sa_ixwriter_open(&w, path, &h);
    if (err)
        return err;
    err = idx->ops->save(idx, &w);
    if (err) {
        sa_ixwriter_abort(&w);
        return err;
    }
    return sa_ixwriter_commit(&w, checksum);
}

sa_err sa_index_load(const char *path, sa_index **out, char checksum[72]) {
    if (!path || !out)
        return sa_error_set(SA_ERR_INVALID, "sa_index_load: NULL argument");
    *out = NULL;
    sa_ixreader r;
    sa_ixfile_header h;
    char sum[72];
    sa_err err = sa_ixreader_open(&r, path, &h, sum);
    if (err)
        return err;
    sa_index *idx = NULL;
    switch (h.kind) {
    case SA_IXFILE_FLAT: err = sa_flat_load(&r, &h, &idx); break;
    case SA_IXFILE_FAISS: err = sa_faiss_load(&r, &h, &idx); break;
    case SA_IXFILE_IVF: err = sa_ivf_load(&r, &h, &idx); break;
    default: err = sa_error_set(SA_ERR_FORMAT, "%s: unknown index kind %u", path, (unsigned)h.kind); break;
    }
    if (!err)
        err = sa_ixreader_finish(&r);
    sa_ixreader_close(&r);
    if (err) {
        sa_index_free(idx);
        return err;
    }
    if (checksum)
        memcpy(checksum, sum, SA_IXFILE_TRAILER + 1);
    *out = idx;
    return SA_OK;
}

/* index.c: the public index API: argument checks, exclusion lists, and the
 * file container around each kind's body. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/faiss_bridge.h"
#include "index/internal.h"

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

void sa_index_set_threads(int n) { sa_fb_set_threads(n); }

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
    if (k == 0)
        return SA_OK;
    /* sorted once, so each candidate is checked by binary search */
    int64_t *sorted = NULL;
    if (n_exclude) {
        sorted = malloc(n_exclude * sizeof *sorted);
        if (!sorted)
            return sa_error_set(SA_ERR_NOMEM, "exclusion list of %zu ids", n_exclude);
        memcpy(sorted, exclude, n_exclude * sizeof *sorted);
        qsort(sorted, n_exclude, sizeof *sorted, cmp_id);
    }
    static const sa_search_params defaults = {0, 0};
    sa_err err = idx->ops->search(idx, query, k, sorted, n_exclude, params ? params : &defaults, out, found);
    free(sorted);
    /* rounding (or quantisation) can step just past a cosine's range */
    for (size_t i = 0; !err && i < *found; i++)
        out[i].score = out[i].score > 1.0f ? 1.0f : out[i].score < -1.0f ? -1.0f : out[i].score;
    return err;
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

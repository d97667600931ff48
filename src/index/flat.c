/* flat.c: the exact index: padded, aligned rows scanned by the SIMD kernels of
 * scan.c, a top-k heap, and an id -> slot map; removal moves the last row
 * into the hole so the rows stay dense. */
#include <stdlib.h>
#include <string.h>

#include "index/idmap.h"
#include "index/internal.h"
#include "index/scan.h"
#include "index/topk.h"

/* Rows scored per kernel call: the scores stay in L1 and the heap sees them
 * while the rows are still in cache. */
enum { BLOCK_ROWS = 256 };
_Static_assert(BLOCK_ROWS % SA_SCAN_ROWS == 0, "blocks hold whole kernel steps");

typedef struct flat_index {
    sa_index base;
    size_t stride;     /* floats per row */
    size_t count, cap; /* cap is a multiple of SA_SCAN_ROWS; rows past count are zero */
    float *rows;       /* cap * stride, 64-byte aligned */
    int64_t *ids;      /* cap: the id of each row */
    sa_idmap map;      /* id -> row */
} flat_index;

static flat_index *flat_of(const sa_index *idx) { return (flat_index *)idx; }

/* Makes room for n rows in all, so that adding them cannot fail half-way. */
static sa_err reserve(flat_index *f, size_t n) {
    if (n <= f->cap)
        return sa_idmap_reserve(&f->map, n);
    size_t cap = f->cap < 64 ? 64 : f->cap + f->cap / 2;
    if (cap < n)
        cap = n;
    cap = (cap + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS;
    if (cap > SIZE_MAX / sizeof(float) / f->stride)
        return sa_error_set(SA_ERR_NOMEM, "flat index of %zu vectors", n);
    float *rows = aligned_alloc(64, cap * f->stride * sizeof(float));
    int64_t *ids = realloc(f->ids, cap * sizeof *ids);
    if (ids)
        f->ids = ids;
    if (!rows || !ids) {
        free(rows);
        return sa_error_set(SA_ERR_NOMEM, "flat index of %zu vectors", n);
    }
    sa_err err = sa_idmap_reserve(&f->map, n);
    if (err) {
        free(rows);
        return err;
    }
    size_t used = f->count * f->stride;
    if (used)
        memcpy(rows, f->rows, used * sizeof(float));
    memset(rows + used, 0, (cap * f->stride - used) * sizeof(float));
    free(f->rows);
    f->rows = rows;
    f->cap = cap;
    return SA_OK;
}

static size_t flat_count(const sa_index *idx) { return flat_of(idx)->count; }

static sa_err flat_add(sa_index *idx, const int64_t *ids, const float *vectors, size_t n) {
    flat_index *f = flat_of(idx);
    if (n > SIZE_MAX - f->count)
        return sa_error_set(SA_ERR_NOMEM, "flat index of %zu + %zu vectors", f->count, n);
    sa_err err = reserve(f, f->count + n);
    if (err)
        return err;
    size_t dim = (size_t)idx->dim;
    for (size_t i = 0; i < n; i++) {
        size_t slot;
        if (!sa_idmap_find(&f->map, ids[i], &slot)) {
            slot = f->count++;
            f->ids[slot] = ids[i];
            sa_idmap_put(&f->map, ids[i], slot);
        }
        memcpy(f->rows + slot * f->stride, vectors + i * dim, dim * sizeof(float));
    }
    return SA_OK;
}

static sa_err flat_remove(sa_index *idx, int64_t id) {
    flat_index *f = flat_of(idx);
    size_t slot;
    if (!sa_idmap_find(&f->map, id, &slot))
        return sa_error_set(SA_ERR_NOT_FOUND, "id %lld is not in the index", (long long)id);
    size_t last = f->count - 1;
    if (slot != last) {
        memcpy(f->rows + slot * f->stride, f->rows + last * f->stride, f->stride * sizeof(float));
        f->ids[slot] = f->ids[last];
        sa_idmap_put(&f->map, f->ids[slot], slot);
    }
    memset(f->rows + last * f->stride, 0, f->stride * sizeof(float));
    sa_idmap_remove(&f->map, id);
    f->count--;
    return SA_OK;
}

static sa_err flat_get(const sa_index *idx, int64_t id, float *v) {
    const flat_index *f = flat_of(idx);
    size_t slot;
    if (!sa_idmap_find(&f->map, id, &slot))
        return sa_error_set(SA_ERR_NOT_FOUND, "id %lld is not in the index", (long long)id);
    memcpy(v, f->rows + slot * f->stride, (size_t)idx->dim * sizeof(float));
    return SA_OK;
}

static sa_err flat_search(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                          size_t n_exclude, const sa_search_params *params, sa_hit *out, size_t *found) {
    (void)params; /* an exact scan has nothing to tune */
    const flat_index *f = flat_of(idx);
    *found = 0;
    if (f->count == 0)
        return SA_OK;
    /* the kernels read the query with aligned loads, padding included */
    float *q = aligned_alloc(64, f->stride * sizeof(float));
    if (!q)
        return sa_error_set(SA_ERR_NOMEM, "search query");
    memcpy(q, query, (size_t)idx->dim * sizeof(float));
    memset(q + idx->dim, 0, (f->stride - (size_t)idx->dim) * sizeof(float));
    sa_topk top;
    sa_topk_init(&top, out, k < f->count ? k : f->count);
    float scores[BLOCK_ROWS];
    for (size_t start = 0; start < f->count; start += BLOCK_ROWS) {
        size_t n = f->count - start < BLOCK_ROWS ? f->count - start : BLOCK_ROWS;
        /* whole kernel steps: the rows past count are zero and within cap */
        size_t scan = (n + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS;
        sa_scan_dot(q, f->rows + start * f->stride, scan, f->stride, scores);
        for (size_t i = 0; i < n; i++) {
            int64_t id = f->ids[start + i];
            if (sa_topk_wants(&top, scores[i]) && !sa_index_excluded(exclude, n_exclude, id))
                sa_topk_push(&top, id, scores[i]);
        }
    }
    free(q);
    *found = sa_topk_finish(&top);
    return SA_OK;
}

static sa_err flat_save(const sa_index *idx, sa_ixwriter *w) {
    const flat_index *f = flat_of(idx);
    sa_err err = sa_ixwriter_write(w, f->ids, f->count * sizeof *f->ids);
    for (size_t i = 0; !err && i < f->count; i++)
        err = sa_ixwriter_write(w, f->rows + i * f->stride, (size_t)idx->dim * sizeof(float));
    return err;
}

static void flat_free(sa_index *idx) {
    flat_index *f = flat_of(idx);
    free(f->rows);
    free(f->ids);
    sa_idmap_free(&f->map);
    free(f);
}

static bool flat_is_trained(const sa_index *idx) {
    (void)idx;
    return true;
}

static sa_err flat_set_param(sa_index *idx, const char *name, double value) {
    (void)idx, (void)value;
    return sa_error_set(SA_ERR_INVALID, "the flat index has no parameter \"%s\"", name);
}

static const sa_index_ops flat_ops = {
    .count = flat_count,
    .add = flat_add,
    .remove = flat_remove,
    .get = flat_get,
    .search = flat_search,
    .is_trained = flat_is_trained,
    .train = NULL, /* never untrained */
    .set_param = flat_set_param,
    .save = flat_save,
    .free = flat_free,
};

sa_err sa_index_new_flat(int dim, sa_index **out) {
    if (!out)
        return sa_error_set(SA_ERR_INVALID, "sa_index_new_flat: out is NULL");
    *out = NULL;
    if (dim < 1 || dim > SA_IXFILE_DIM_MAX)
        return sa_error_set(SA_ERR_INVALID, "index dimension %d out of range (1..%d)", dim, SA_IXFILE_DIM_MAX);
    flat_index *f = calloc(1, sizeof *f);
    if (!f)
        return sa_error_set(SA_ERR_NOMEM, "flat index");
    f->base = (sa_index){.ops = &flat_ops, .dim = dim, .file_kind = SA_IXFILE_FLAT, .type = "flat"};
    f->stride = sa_scan_stride(dim);
    *out = &f->base;
    return SA_OK;
}

/* The body: count ids, then count rows of dim floats. Its size was fixed by
 * the header, so it is checked against the file before anything is allocated. */
sa_err sa_flat_load(sa_ixreader *r, const sa_ixfile_header *h, sa_index **out) {
    if (strcmp(h->type, "flat") != 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: a flat index file of type \"%s\"", r->path, h->type);
    uint64_t per_vector = sizeof(int64_t) + (uint64_t)h->dim * sizeof(float);
    uint64_t left = sa_ixreader_left(r);
    if (h->count > left / per_vector || h->count * per_vector != left)
        return sa_error_set(SA_ERR_FORMAT, "%s: %llu vectors of dimension %d do not fit its %llu body bytes",
                            r->path, (unsigned long long)h->count, h->dim, (unsigned long long)left);
    sa_index *idx;
    sa_err err = sa_index_new_flat(h->dim, &idx);
    if (err)
        return err;
    flat_index *f = flat_of(idx);
    size_t n = (size_t)h->count;
    err = reserve(f, n);
    if (!err)
        err = sa_ixreader_read(r, f->ids, n * sizeof *f->ids, "ids");
    for (size_t i = 0; !err && i < n; i++) {
        float *row = f->rows + i * f->stride;
        err = sa_ixreader_read(r, row, (size_t)h->dim * sizeof(float), "vectors");
        size_t other;
        if (!err && sa_idmap_find(&f->map, f->ids[i], &other))
            err = sa_error_set(SA_ERR_FORMAT, "%s: id %lld appears twice", r->path, (long long)f->ids[i]);
        else if (!err && !sa_index_finite(row, (size_t)h->dim))
            err = sa_error_set(SA_ERR_FORMAT, "%s: vector of id %lld is not finite", r->path,
                               (long long)f->ids[i]);
        if (!err) {
            sa_idmap_put(&f->map, f->ids[i], i);
            f->count++;
        }
    }
    if (err) {
        sa_index_free(idx);
        return err;
    }
    *out = idx;
    return SA_OK;
}

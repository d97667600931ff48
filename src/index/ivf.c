/* ivf.c: our IVF-Flat ("ivf"): inverted lists scanned by the exact index's
 * SIMD kernels.
 *
 * Training runs spherical k-means (kmeans.c) on a sample; the centroids
 * live in a flat index of their own, so choosing the lists to visit is an
 * exact top-nprobe search and assigning many vectors is a batch search.
 * Each list holds full vectors in padded, aligned rows like the flat
 * index, so scores are exact inner products and only the choice of lists
 * is approximate. An id maps to its list and position; removal moves the
 * list's last row into the hole. Why not FAISS's IndexIVFFlat: Debian's
 * FAISS is built for baseline x86-64, and scanning the lists with our
 * AVX-512 kernels answers the same probes several times faster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/idmap.h"
#include "index/internal.h"
#include "index/kmeans.h"
#include "index/scan.h"
#include "index/topk.h"

enum {
    KMEANS_ITERS = 12,
    BLOCK_ROWS = 256,       /* rows scored per kernel call, as in flat.c */
    MAX_SETTING = 1 << 24,  /* far above any sensible nlist or nprobe */
    IVF_BODY_HEADER = 32,   /* nlist, nprobe, nlist asked for, library size trained for */
};
#define KMEANS_SEED 0x5eedULL

_Static_assert(sizeof(size_t) >= 8, "an id map slot packs a list number and a position");
#define POS_BITS 32
#define POS_MASK ((size_t)0xffffffffu)

typedef struct ivf_list {
    float *rows;   /* cap * stride floats, 64-byte aligned; rows past n are zero */
    int64_t *ids;  /* cap */
    size_t n, cap; /* cap is a multiple of SA_SCAN_ROWS */
} ivf_list;

typedef struct ivf_index {
    sa_index base;
    size_t stride;      /* floats per row */
    size_t expected;    /* library size given at creation */
    size_t nlist_set;   /* nlist asked for; 0: from the library size */
    size_t nprobe;      /* lists visited per query; 0: an eighth of them */
    size_t trained_for; /* library size at training */
    size_t nlist;       /* 0 until trained */
    sa_index *coarse;   /* the centroids, as a flat index with ids 0..nlist-1 */
    ivf_list *lists;    /* nlist */
    sa_idmap map;       /* id -> list << POS_BITS | position */
    size_t count;
} ivf_index;

static ivf_index *ivf_of(const sa_index *idx) { return (ivf_index *)idx; }

static size_t effective_nprobe(const ivf_index *f, int asked) {
    size_t p = asked > 0 ? (size_t)asked : f->nprobe ? f->nprobe : (f->nlist + 7) / 8;
    return p < 1 ? 1 : p > f->nlist ? f->nlist : p;
}

/* ---- lists ---- */

/* Room for n rows in list l, so that adding them cannot fail half-way. */
static sa_err list_reserve(ivf_index *f, ivf_list *l, size_t n) {
    if (n <= l->cap)
        return SA_OK;
    size_t cap = l->cap < 8 ? 8 : l->cap + l->cap / 2;
    cap = cap < n ? n : cap;
    cap = (cap + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS;
    if (cap > POS_MASK || cap > SIZE_MAX / sizeof(float) / f->stride)
        return sa_error_set(SA_ERR_NOMEM, "an IVF list of %zu vectors", n);
    float *rows = sa_index_alloc_floats(cap * f->stride);
    int64_t *ids = realloc(l->ids, cap * sizeof *ids);
    if (ids)
        l->ids = ids;
    if (!rows || !ids) {
        free(rows);
        return sa_error_set(SA_ERR_NOMEM, "an IVF list of %zu vectors", n);
    }
    size_t used = l->n * f->stride;
    if (used)
        memcpy(rows, l->rows, used * sizeof *rows);
    memset(rows + used, 0, (cap * f->stride - used) * sizeof *rows);
    free(l->rows);
    l->rows = rows;
    l->cap = cap;
    return SA_OK;
}

/* Appends a vector to list number ln; room was reserved. */
static void list_append(ivf_index *f, size_t ln, int64_t id, const float *v) {
    ivf_list *l = &f->lists[ln];
    size_t pos = l->n++;
    memcpy(l->rows + pos * f->stride, v, (size_t)f->base.dim * sizeof *v);
    l->ids[pos] = id;
    sa_idmap_put(&f->map, id, ln << POS_BITS | pos);
    f->count++;
}

/* Drops the entry of id (at slot) from its list. */
static void list_drop(ivf_index *f, int64_t id, size_t slot) {
    ivf_list *l = &f->lists[slot >> POS_BITS];
    size_t pos = slot & POS_MASK, last = l->n - 1;
    if (pos != last) {
        memcpy(l->rows + pos * f->stride, l->rows + last * f->stride, f->stride * sizeof(float));
        l->ids[pos] = l->ids[last];
        sa_idmap_put(&f->map, l->ids[pos], (slot & ~POS_MASK) | pos);
    }
    memset(l->rows + last * f->stride, 0, f->stride * sizeof(float));
    l->n--;
    sa_idmap_remove(&f->map, id);
    f->count--;
}

/* Scores every row of l against the padded query, pushing the eligible ones. */
static void list_scan(const ivf_index *f, const ivf_list *l, const float *q, const int64_t *exclude,
                      size_t n_exclude, sa_topk *top) {
    float scores[BLOCK_ROWS];
    for (size_t start = 0; start < l->n; start += BLOCK_ROWS) {
        size_t n = l->n - start < BLOCK_ROWS ? l->n - start : BLOCK_ROWS;
        /* whole kernel steps: the rows past n are zero and within cap */
        sa_scan_dot(q, l->rows + start * f->stride, (n + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS, f->stride,
                    scores);
        for (size_t i = 0; i < n; i++)
            if (sa_topk_wants(top, scores[i]) && !sa_index_excluded(exclude, n_exclude, l->ids[start + i]))
                sa_topk_push(top, l->ids[start + i], scores[i]);
    }
}

/* ---- training ---- */

/* Takes nlist centroids: the coarse index and empty lists. */
static sa_err install_centroids(ivf_index *f, const float *centroids, size_t nlist) {
    int64_t *ids = malloc(nlist * sizeof *ids);
    ivf_list *lists = calloc(nlist, sizeof *lists);
    sa_index *coarse = NULL;
    sa_err err = ids && lists ? sa_index_new_flat(f->base.dim, &coarse)
                              : sa_error_set(SA_ERR_NOMEM, "%zu IVF lists", nlist);
    for (size_t c = 0; !err && c < nlist; c++)
        ids[c] = (int64_t)c;
    if (!err)
        err = sa_index_add(coarse, ids, centroids, nlist);
    free(ids);
    if (err) {
        sa_index_free(coarse);
        free(lists);
        return err;
    }
    f->coarse = coarse;
    f->lists = lists;
    f->nlist = nlist;
    return SA_OK;
}

static sa_err ivf_train(sa_index *idx, const float *vectors, size_t n) {
    ivf_index *f = ivf_of(idx);
    if (n == 0)
        return sa_error_set(SA_ERR_INVALID, "an IVF index needs vectors to train on");
    size_t library = f->expected > n ? f->expected : n;
    size_t nlist = f->nlist_set ? f->nlist_set : sa_index_auto_nlist(library);
    nlist = nlist < n ? nlist : n; /* every centroid starts at a point of its own */
    float *centroids = malloc(nlist * (size_t)idx->dim * sizeof *centroids);
    sa_err err = centroids ? sa_kmeans(vectors, n, idx->dim, nlist, KMEANS_ITERS, KMEANS_SEED, centroids)
                           : sa_error_set(SA_ERR_NOMEM, "%zu centroids", nlist);
    if (!err)
        err = install_centroids(f, centroids, nlist);
    if (!err)
        f->trained_for = library;
    free(centroids);
    return err;
}

/* ---- the index ---- */

static size_t ivf_count(const sa_index *idx) { return ivf_of(idx)->count; }

static bool ivf_is_trained(const sa_index *idx) { return ivf_of(idx)->nlist > 0; }

static sa_err ivf_add(sa_index *idx, const int64_t *ids, const float *vectors, size_t n) {
    ivf_index *f = ivf_of(idx);
    if (n == 0)
        return SA_OK;
    sa_hit *nearest = malloc(n * sizeof *nearest);
    size_t *found = malloc(n * sizeof *found), *extra = calloc(f->nlist, sizeof *extra);
    sa_err err = nearest && found && extra ? sa_index_search_batch(f->coarse, vectors, n, 1, NULL, NULL, nearest, found)
                                           : sa_error_set(SA_ERR_NOMEM, "adding %zu vectors", n);
    for (size_t i = 0; !err && i < n; i++)
        extra[nearest[i].id]++;
    for (size_t l = 0; !err && l < f->nlist; l++)
        if (extra[l])
            err = list_reserve(f, &f->lists[l], f->lists[l].n + extra[l]);
    if (!err)
        err = sa_idmap_reserve(&f->map, f->count + n);
    /* from here nothing fails; a replaced id (even earlier in this batch) leaves its old list first */
    for (size_t i = 0; !err && i < n; i++) {
        size_t slot;
        if (sa_idmap_find(&f->map, ids[i], &slot))
            list_drop(f, ids[i], slot);
        list_append(f, (size_t)nearest[i].id, ids[i], vectors + i * (size_t)idx->dim);
    }
    free(nearest);
    free(found);
    free(extra);
    return err;
}

static sa_err ivf_remove(sa_index *idx, int64_t id) {
    ivf_index *f = ivf_of(idx);
    size_t slot;
    if (!sa_idmap_find(&f->map, id, &slot))
        return sa_error_set(SA_ERR_NOT_FOUND, "id %lld is not in the index", (long long)id);
    list_drop(f, id, slot);
    return SA_OK;
}

static sa_err ivf_get(const sa_index *idx, int64_t id, float *v) {
    const ivf_index *f = ivf_of(idx);
    size_t slot;
    if (!sa_idmap_find(&f->map, id, &slot))
        return sa_error_set(SA_ERR_NOT_FOUND, "id %lld is not in the index", (long long)id);
    const ivf_list *l = &f->lists[slot >> POS_BITS];
    memcpy(v, l->rows + (slot & POS_MASK) * f->stride, (size_t)idx->dim * sizeof *v);
    return SA_OK;
}

static sa_err ivf_search(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                         size_t n_exclude, const sa_search_params *params, sa_hit *out, size_t *found) {
    const ivf_index *f = ivf_of(idx);
    *found = 0;
    if (f->count == 0)
        return SA_OK;
    size_t nprobe = effective_nprobe(f, params->nprobe), n_probe;
    sa_hit *probe = malloc(nprobe * sizeof *probe);
    float *q = sa_index_padded_query(query, idx->dim, f->stride);
    sa_err err = probe && q ? sa_index_search(f->coarse, query, nprobe, NULL, 0, probe, &n_probe)
                            : sa_error_set(SA_ERR_NOMEM, "search query");
    if (!err) {
        sa_topk top;
        sa_topk_init(&top, out, k < f->count ? k : f->count);
        for (size_t p = 0; p < n_probe; p++)
            list_scan(f, &f->lists[probe[p].id], q, exclude, n_exclude, &top);
        *found = sa_topk_finish(&top);
    }
    free(probe);
    free(q);
    return err;
}

static bool whole(double v, double lo, double hi) { return v >= lo && v <= hi && v == (double)(long long)v; }

static sa_err ivf_set_param(sa_index *idx, const char *name, double value) {
    ivf_index *f = ivf_of(idx);
    bool nlist = strcmp(name, "nlist") == 0;
    if (!nlist && strcmp(name, "nprobe") != 0)
        return sa_error_set(SA_ERR_INVALID, "an index of type \"ivf\" has no parameter \"%s\" (nprobe, nlist)", name);
    if (!whole(value, 1, MAX_SETTING))
        return sa_error_set(SA_ERR_INVALID, "%s = %g is not a whole number from 1 to %d", name, value, MAX_SETTING);
    if (!nlist) {
        f->nprobe = (size_t)value;
        return SA_OK;
    }
    if (f->nlist > 0)
        return sa_error_set(SA_ERR_CONFLICT, "nlist can change only before the index is built");
    f->nlist_set = (size_t)value;
    return SA_OK;
}

static void ivf_info(const sa_index *idx, sa_index_info *out) {
    const ivf_index *f = ivf_of(idx);
    size_t bytes = f->map.table ? (f->map.mask + 1) * sizeof(sa_idmap_entry) : 0;
    for (size_t l = 0; l < f->nlist; l++)
        bytes += f->lists[l].cap * (f->stride * sizeof(float) + sizeof(int64_t));
    if (f->coarse) {
        sa_index_info coarse;
        sa_index_info_get(f->coarse, &coarse);
        bytes += coarse.memory_bytes;
    }
    out->stored = f->count;
    out->memory_bytes = bytes + f->nlist * sizeof(ivf_list);
    out->trained_for = f->trained_for;
    out->nlist = (int)f->nlist;
    out->nprobe = f->nlist ? (int)effective_nprobe(f, 0) : 0;
    snprintf(out->detail, sizeof out->detail, "IVF%zu over the exact scan (%s)", f->nlist,
             sa_scan_path_name(sa_scan_current()));
}

static void ivf_free(sa_index *idx) {
    ivf_index *f = ivf_of(idx);
    for (size_t l = 0; l < f->nlist; l++) {
        free(f->lists[l].rows);
        free(f->lists[l].ids);
    }
    free(f->lists);
    sa_index_free(f->coarse);
    sa_idmap_free(&f->map);
    free(f);
}

/* ---- files: the body is nlist, nprobe, the nlist asked for and the
 * library size trained for (each 8 bytes), the nlist centroids, then each
 * list as its length, its ids and its vectors ---- */

static sa_err ivf_save(const sa_index *idx, sa_ixwriter *w) {
    const ivf_index *f = ivf_of(idx);
    uint64_t head[4] = {f->nlist, f->nprobe, f->nlist_set, f->trained_for};
    sa_err err = sa_ixwriter_write(w, head, sizeof head);
    float *v = malloc((size_t)idx->dim * sizeof *v);
    if (!err && !v)
        err = sa_error_set(SA_ERR_NOMEM, "saving an IVF index");
    for (size_t c = 0; !err && c < f->nlist; c++) {
        err = sa_index_get(f->coarse, (int64_t)c, v);
        if (!err)
            err = sa_ixwriter_write(w, v, (size_t)idx->dim * sizeof *v);
    }
    free(v);
    for (size_t l = 0; !err && l < f->nlist; l++) {
        const ivf_list *list = &f->lists[l];
        uint64_t n = list->n;
        err = sa_ixwriter_write(w, &n, sizeof n);
        if (!err)
            err = sa_ixwriter_write(w, list->ids, list->n * sizeof *list->ids);
        for (size_t i = 0; !err && i < list->n; i++)
            err = sa_ixwriter_write(w, list->rows + i * f->stride, (size_t)idx->dim * sizeof(float));
    }
    return err;
}

static const sa_index_ops ivf_ops = {
    .count = ivf_count,
    .add = ivf_add,
    .remove = ivf_remove,
    .get = ivf_get,
    .search = ivf_search,
    .search_batch = NULL, /* single searches in parallel: each reads only a few lists */
    .search_range = NULL, /* widening top-k searches over the visited lists */
    .info = ivf_info,
    .is_trained = ivf_is_trained,
    .train = ivf_train,
    .set_param = ivf_set_param,
    .save = ivf_save,
    .free = ivf_free,
};

sa_err sa_ivf_new(int dim, size_t expected_count, sa_index **out) {
    *out = NULL;
    if (dim < 1 || dim > SA_IXFILE_DIM_MAX)
        return sa_error_set(SA_ERR_INVALID, "index dimension %d out of range (1..%d)", dim, SA_IXFILE_DIM_MAX);
    ivf_index *f = calloc(1, sizeof *f);
    if (!f)
        return sa_error_set(SA_ERR_NOMEM, "IVF index");
    f->base = (sa_index){.ops = &ivf_ops, .dim = dim, .file_kind = SA_IXFILE_IVF, .type = "ivf"};
    f->stride = sa_scan_stride(dim);
    f->expected = expected_count;
    *out = &f->base;
    return SA_OK;
}

/* Reads the centroids and makes the lists. */
static sa_err load_centroids(sa_ixreader *r, ivf_index *f, size_t nlist) {
    size_t bytes = (size_t)f->base.dim * sizeof(float);
    if (nlist > sa_ixreader_left(r) / bytes)
        return sa_error_set(SA_ERR_FORMAT, "%s: %zu centroids do not fit the file", r->path, nlist);
    float *c = malloc(nlist * bytes);
    sa_err err = c ? sa_ixreader_read(r, c, nlist * bytes, "centroids") : sa_error_set(SA_ERR_NOMEM, "centroids");
    if (!err && !sa_index_finite(c, nlist * (size_t)f->base.dim))
        err = sa_error_set(SA_ERR_FORMAT, "%s: a centroid is not finite", r->path);
    if (!err)
        err = install_centroids(f, c, nlist);
    free(c);
    return err;
}

/* Reads list l: its length, ids and vectors, checked before they are kept. */
static sa_err load_list(sa_ixreader *r, ivf_index *f, size_t l) {
    uint64_t n;
    sa_err err = sa_ixreader_read(r, &n, sizeof n, "list length");
    uint64_t per_vector = sizeof(int64_t) + (uint64_t)f->base.dim * sizeof(float);
    if (!err && n > sa_ixreader_left(r) / per_vector)
        err = sa_error_set(SA_ERR_FORMAT, "%s: list %zu of %llu vectors does not fit the file", r->path, l,
                           (unsigned long long)n);
    ivf_list *list = &f->lists[l];
    if (!err)
        err = list_reserve(f, list, (size_t)n);
    if (!err)
        err = sa_idmap_reserve(&f->map, f->count + (size_t)n);
    if (!err)
        err = sa_ixreader_read(r, list->ids, (size_t)n * sizeof *list->ids, "ids");
    for (size_t i = 0; !err && i < n; i++) {
        float *row = list->rows + i * f->stride;
        size_t other;
        err = sa_ixreader_read(r, row, (size_t)f->base.dim * sizeof *row, "vectors");
        if (!err && !sa_index_finite(row, (size_t)f->base.dim))
            err = sa_error_set(SA_ERR_FORMAT, "%s: vector of id %lld is not finite", r->path, (long long)list->ids[i]);
        else if (!err && (list->ids[i] == -1 || sa_idmap_find(&f->map, list->ids[i], &other)))
            err = sa_error_set(SA_ERR_FORMAT, "%s: id %lld is reserved or appears twice", r->path,
                               (long long)list->ids[i]);
        if (!err) {
            sa_idmap_put(&f->map, list->ids[i], l << POS_BITS | i);
            list->n++;
            f->count++;
        }
    }
    return err;
}

sa_err sa_ivf_load(sa_ixreader *r, const sa_ixfile_header *h, sa_index **out) {
    if (strcmp(h->type, "ivf") != 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: an IVF index file of type \"%s\"", r->path, h->type);
    uint64_t head[IVF_BODY_HEADER / 8];
    sa_err err = sa_ixreader_read(r, head, sizeof head, "IVF header");
    if (err)
        return err;
    if (head[0] > MAX_SETTING || head[1] > MAX_SETTING || head[2] > MAX_SETTING || (head[0] == 0 && h->count))
        return sa_error_set(SA_ERR_FORMAT, "%s: bad IVF settings (nlist %llu, nprobe %llu)", r->path,
                            (unsigned long long)head[0], (unsigned long long)head[1]);
    sa_index *idx;
    err = sa_ivf_new(h->dim, (size_t)head[3], &idx);
    if (err)
        return err;
    ivf_index *f = ivf_of(idx);
    f->nprobe = (size_t)head[1];
    f->nlist_set = (size_t)head[2];
    f->trained_for = (size_t)head[3];
    if (head[0])
        err = load_centroids(r, f, (size_t)head[0]);
    for (size_t l = 0; !err && l < f->nlist; l++)
        err = load_list(r, f, l);
    if (!err && f->count != h->count)
        err = sa_error_set(SA_ERR_FORMAT, "%s: %zu vectors in the lists, the header says %llu", r->path, f->count,
                           (unsigned long long)h->count);
    if (err) {
        sa_index_free(idx);
        return err;
    }
    *out = idx;
    return SA_OK;
}

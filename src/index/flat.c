/* flat.c: the exact index: padded, aligned rows scanned by the SIMD kernels of
 * scan.c, a top-k heap, and an id -> slot map; removal moves the last row
 * into the hole so the rows stay dense. One scan of a large index is split
 * over threads; a batch reads each block of rows once for many queries.
 *
 * A single search of a large index reads half the bytes: each row is also
 * kept in half precision, scanned first; a row can belong to the exact top
 * k only if its half score lies within twice the rounding bound of the
 * k-th best half score, and those few candidates are scored again in
 * single precision. The answer is the full scan's, ties and all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/idmap.h"
#include "index/internal.h"
#include "index/parallel.h"
#include "index/scan.h"
#include "index/topk.h"

/* Rows scored per kernel call: the scores stay in L1 and the heap sees them
 * while the rows are still in cache. */
enum { BLOCK_ROWS = 256 };
_Static_assert(BLOCK_ROWS % SA_SCAN_ROWS == 0, "blocks hold whole kernel steps");

/* Below this many rows the vectors sit in the cache, where reading fewer
 * bytes saves little: the rows are scanned in single precision only (as
 * they are on the portable path, sa_scan_half_pays). */
enum { HALF_MIN_ROWS = 8192 };

typedef struct flat_index {
    sa_index base;
    size_t stride;     /* floats per row */
    size_t hstride;    /* halves per row */
    size_t count, cap; /* cap is a multiple of SA_SCAN_ROWS; rows past count are zero */
    float *rows;       /* cap * stride, 64-byte aligned */
    uint16_t *half;    /* cap * hstride: the rows in half precision, 64-byte aligned */
    bool half_ok;      /* every value ever stored fits half precision */
    double max_norm;   /* no row's length has exceeded it */
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
    float *rows = sa_index_alloc_floats(cap * f->stride);
    /* the half stride is a multiple of 16: a whole number of floats */
    uint16_t *half = (uint16_t *)sa_index_alloc_floats(cap * f->hstride / 2);
    int64_t *ids = realloc(f->ids, cap * sizeof *ids);
    if (ids)
        f->ids = ids;
    sa_err err = rows && half && ids ? sa_idmap_reserve(&f->map, n)
                                     : sa_error_set(SA_ERR_NOMEM, "flat index of %zu vectors", n);
    if (err) {
        free(rows);
        free(half);
        return err;
    }
    size_t used = f->count * f->stride, hused = f->count * f->hstride;
    if (used)
        memcpy(rows, f->rows, used * sizeof *rows);
    if (hused)
        memcpy(half, f->half, hused * sizeof *half);
    memset(rows + used, 0, (cap * f->stride - used) * sizeof *rows);
    memset(half + hused, 0, (cap * f->hstride - hused) * sizeof *half);
    free(f->rows);
    free(f->half);
    f->rows = rows;
    f->half = half;
    f->cap = cap;
    return SA_OK;
}

/* Fills the half-precision copy of row slot from its floats. */
static void note_half(flat_index *f, size_t slot) {
    const float *r = f->rows + slot * f->stride;
    uint16_t *h = f->half + slot * f->hstride;
    double norm = 0;
    for (int j = 0; j < f->base.dim; j++) {
        norm += (double)r[j] * r[j];
        if (fabsf(r[j]) > SA_SCAN_HALF_MAX)
            f->half_ok = false; /* for good: single precision only from now on */
        else
            h[j] = sa_scan_to_half(r[j]);
    }
    norm = sqrt(norm);
    if (norm > f->max_norm)
        f->max_norm = norm;
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
        note_half(f, slot);
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
        memcpy(f->half + slot * f->hstride, f->half + last * f->hstride, f->hstride * sizeof *f->half);
        f->ids[slot] = f->ids[last];
        sa_idmap_put(&f->map, f->ids[slot], slot);
    }
    memset(f->rows + last * f->stride, 0, f->stride * sizeof(float));
    memset(f->half + last * f->hstride, 0, f->hstride * sizeof *f->half);
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

/* Scores rows [start, end) against q (padded), pushing the eligible ones
 * into top. start is a multiple of SA_SCAN_ROWS. */
static void scan_rows(const flat_index *f, const float *q, size_t start, size_t end, const int64_t *exclude,
                      size_t n_exclude, sa_topk *top) {
    float scores[BLOCK_ROWS];
    for (; start < end; start += BLOCK_ROWS) {
        size_t n = end - start < BLOCK_ROWS ? end - start : BLOCK_ROWS;
        /* whole kernel steps: the rows past end are other rows, or zero and within cap */
        size_t scan = (n + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS;
        sa_scan_dot(q, f->rows + start * f->stride, scan, f->stride, scores);
        for (size_t i = 0; i < n; i++) {
            int64_t id = f->ids[start + i];
            if (sa_topk_wants(top, scores[i]) && !sa_index_excluded(exclude, n_exclude, id))
                sa_topk_push(top, id, scores[i]);
        }
    }
}

/* ---- the half-precision first pass ---- */

/* Twice the most a half-precision score can differ from the exact one for
 * query q: each stored value is rounded by at most 2^-11 of itself (2^-25
 * below the normal range), and each of the two float sums by at most
 * dim * 2^-24 of sum |q_i r_i| <= |q| |r|; a thousandth more for the
 * rounding of the bound itself. */
static float half_slack(const flat_index *f, const float *q) {
    double q2 = 0, q1 = 0;
    for (int j = 0; j < f->base.dim; j++) {
        q2 += (double)q[j] * q[j];
        q1 += fabs(q[j]);
    }
    double bound = sqrt(q2) * f->max_norm * (0x1p-11 + (f->base.dim + 1) * 0x1p-23) + q1 * 0x1p-25;
    return (float)(2.0 * bound * 1.001);
}

/* A row the first pass could not rule out, with its half score. */
typedef struct candidate {
    size_t slot;
    float approx;
} candidate;

typedef struct candidates {
    candidate *c;
    size_t n, cap;
} candidates;

static sa_err keep(candidates *c, size_t slot, float approx) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        candidate *more = realloc(c->c, cap * sizeof *more);
        if (!more)
            return sa_error_set(SA_ERR_NOMEM, "%zu search candidates", cap);
        c->c = more;
        c->cap = cap;
    }
    c->c[c->n++] = (candidate){slot, approx};
    return SA_OK;
}

/* Scores rows [start, end) in half precision: top keeps the best half
 * scores, c every eligible row within slack of top's k-th. */
static sa_err half_pass(const flat_index *f, const float *q, float slack, size_t start, size_t end,
                        const int64_t *exclude, size_t n_exclude, sa_topk *top, candidates *c) {
    float scores[BLOCK_ROWS];
    sa_err err = SA_OK;
    for (; !err && start < end; start += BLOCK_ROWS) {
        size_t n = end - start < BLOCK_ROWS ? end - start : BLOCK_ROWS;
        size_t scan = (n + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS;
        sa_scan_dot_half(q, f->half + start * f->hstride, scan, f->hstride, scores);
        for (size_t i = 0; !err && i < n; i++) {
            int64_t id = f->ids[start + i];
            if (!sa_topk_wants(top, scores[i] + slack) || sa_index_excluded(exclude, n_exclude, id))
                continue;
            err = keep(c, start + i, scores[i]);
            if (sa_topk_wants(top, scores[i]))
                sa_topk_push(top, id, scores[i]);
        }
    }
    return err;
}

/* ---- single searches, in parts over threads for a large index ---- */

/* One exact scan of a large index is split over threads in parts of at
 * least this many rows (each part's rows are 20 MB at 67 dimensions). */
enum { PART_ROWS = 1 << 16 };
_Static_assert(PART_ROWS % BLOCK_ROWS == 0, "parts hold whole blocks");

typedef struct scan_job {
    const flat_index *f;
    const float *q; /* padded to the half stride */
    float slack;    /* negative: single precision only */
    size_t k;
    const int64_t *exclude;
    size_t n_exclude;
    sa_hit *hits;      /* k per part: its best exact, or best half, scores */
    size_t *found;     /* per part */
    candidates *cands; /* per part */
} scan_job;

static sa_err scan_part(void *ctx, size_t part, size_t nparts) {
    scan_job *j = ctx;
    size_t blocks = (j->f->count + BLOCK_ROWS - 1) / BLOCK_ROWS;
    size_t start = blocks * part / nparts * BLOCK_ROWS, end = blocks * (part + 1) / nparts * BLOCK_ROWS;
    end = end < j->f->count ? end : j->f->count;
    sa_topk top;
    sa_topk_init(&top, j->hits + part * j->k, j->k);
    sa_err err = SA_OK;
    if (j->slack < 0)
        scan_rows(j->f, j->q, start, end, j->exclude, j->n_exclude, &top);
    else
        err = half_pass(j->f, j->q, j->slack, start, end, j->exclude, j->n_exclude, &top, &j->cands[part]);
    j->found[part] = sa_topk_finish(&top);
    return err;
}

/* Candidate rows gathered for exact scoring, eight at a time. */
typedef struct gathered {
    float *rows; /* SA_SCAN_ROWS * stride, 64-byte aligned */
    size_t slots[SA_SCAN_ROWS], n;
} gathered;

/* Scores the gathered rows and pushes them (each row's sum does not depend
 * on its neighbours, so a score is the one a full scan computes). */
static void score_gathered(const flat_index *f, const float *q, gathered *g, sa_topk *top) {
    float scores[SA_SCAN_ROWS];
    sa_scan_dot(q, g->rows, SA_SCAN_ROWS, f->stride, scores);
    for (size_t r = 0; r < g->n; r++)
        if (sa_topk_wants(top, scores[r]))
            sa_topk_push(top, f->ids[g->slots[r]], scores[r]);
    g->n = 0;
}

/* Scores exactly the candidates that may belong to the top k: those within
 * slack of the k-th best half score of all parts. */
static sa_err rescore(const scan_job *j, size_t nparts, sa_topk *top) {
    const flat_index *f = j->f;
    sa_hit *best = malloc(j->k * sizeof *best);
    gathered g = {.rows = sa_index_alloc_floats(SA_SCAN_ROWS * f->stride)};
    if (!best || !g.rows) {
        free(best);
        free(g.rows);
        return sa_error_set(SA_ERR_NOMEM, "rescoring a search");
    }
    memset(g.rows, 0, SA_SCAN_ROWS * f->stride * sizeof *g.rows);
    sa_topk half_top;
    sa_topk_init(&half_top, best, j->k);
    for (size_t p = 0; p < nparts; p++)
        for (size_t i = 0; i < j->found[p]; i++)
            if (sa_topk_wants(&half_top, j->hits[p * j->k + i].score))
                sa_topk_push(&half_top, j->hits[p * j->k + i].id, j->hits[p * j->k + i].score);
    for (size_t p = 0; p < nparts; p++)
        for (size_t i = 0; i < j->cands[p].n; i++) {
            const candidate *c = &j->cands[p].c[i];
            if (!sa_topk_wants(&half_top, c->approx + j->slack))
                continue;
            memcpy(g.rows + g.n * f->stride, f->rows + c->slot * f->stride, f->stride * sizeof *g.rows);
            g.slots[g.n++] = c->slot;
            if (g.n == SA_SCAN_ROWS)
                score_gathered(f, j->q, &g, top);
        }
    if (g.n > 0)
        score_gathered(f, j->q, &g, top);
    free(best);
    free(g.rows);
    return SA_OK;
}

/* The k best rows for a query padded to the half stride: in parts over
 * threads when the index is large; the parts' hits merge into the same top
 * k (ties by id, so the split does not change the result). */
static sa_err search_padded(const flat_index *f, const float *q, size_t k, const int64_t *exclude,
                            size_t n_exclude, sa_hit *out, size_t *found) {
    size_t nparts = f->count / PART_ROWS, threads = (size_t)sa_index_threads();
    nparts = nparts < 1 ? 1 : nparts < threads ? nparts : threads;
    float slack = f->half_ok && f->count >= HALF_MIN_ROWS && sa_scan_half_pays() ? half_slack(f, q) : -1.0f;
    scan_job j = {f, q, slack, k, exclude, n_exclude, malloc(nparts * k * sizeof(sa_hit)),
                  malloc(nparts * sizeof(size_t)), calloc(nparts, sizeof(candidates))};
    sa_err err = j.hits && j.found && j.cands ? sa_index_parallel(nparts, scan_part, &j)
                                              : sa_error_set(SA_ERR_NOMEM, "search of %zu hits", k);
    sa_topk top;
    sa_topk_init(&top, out, k);
    if (!err && slack >= 0)
        err = rescore(&j, nparts, &top);
    for (size_t p = 0; !err && slack < 0 && p < nparts; p++)
        for (size_t i = 0; i < j.found[p]; i++)
            if (sa_topk_wants(&top, j.hits[p * k + i].score))
                sa_topk_push(&top, j.hits[p * k + i].id, j.hits[p * k + i].score);
    for (size_t p = 0; j.cands && p < nparts; p++)
        free(j.cands[p].c);
    free(j.hits);
    free(j.found);
    free(j.cands);
    *found = err ? 0 : sa_topk_finish(&top);
    return err;
}

static sa_err flat_search(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                          size_t n_exclude, const sa_search_params *params, sa_hit *out, size_t *found) {
    (void)params; /* an exact scan has nothing to tune */
    const flat_index *f = flat_of(idx);
    *found = 0;
    if (f->count == 0)
        return SA_OK;
    float *q = sa_index_padded_query(query, idx->dim, f->hstride);
    if (!q)
        return sa_error_set(SA_ERR_NOMEM, "search query");
    sa_err err = search_padded(f, q, k < f->count ? k : f->count, exclude, n_exclude, out, found);
    free(q);
    return err;
}

/* ---- batches: a block of rows is read once from memory for every query
 * of a part, which then scores it from the cache ---- */

enum { BATCH_BLOCK_ROWS = 1024 }; /* 288 KB at 67 dimensions: stays in L2 */
#define BATCH_PART_WORK 4e6         /* rows times queries per thread, at the least */
_Static_assert(BATCH_BLOCK_ROWS % SA_SCAN_ROWS == 0, "blocks hold whole kernel steps");

typedef struct batch_job {
    const flat_index *f;
    const float *queries;
    size_t nq, k;
    const int64_t *skip;
    sa_hit *out;
    size_t *found;
} batch_job;

static sa_err batch_part(void *ctx, size_t part, size_t nparts) {
    batch_job *j = ctx;
    const flat_index *f = j->f;
    size_t first = j->nq * part / nparts, n = j->nq * (part + 1) / nparts - first;
    size_t k = j->k < f->count ? j->k : f->count;
    float *q = sa_index_alloc_floats(n * f->stride), *scores = malloc(BATCH_BLOCK_ROWS * sizeof *scores);
    sa_topk *tops = malloc(n * sizeof *tops);
    if (!q || !scores || !tops) {
        free(q);
        free(scores);
        free(tops);
        return sa_error_set(SA_ERR_NOMEM, "batch of %zu queries", n);
    }
    for (size_t i = 0; i < n; i++) {
        float *qi = q + i * f->stride;
        memcpy(qi, j->queries + (first + i) * (size_t)f->base.dim, (size_t)f->base.dim * sizeof *qi);
        memset(qi + f->base.dim, 0, (f->stride - (size_t)f->base.dim) * sizeof *qi);
        sa_topk_init(&tops[i], j->out + (first + i) * j->k, k);
    }
    for (size_t start = 0; start < f->count; start += BATCH_BLOCK_ROWS) {
        size_t rows = f->count - start < BATCH_BLOCK_ROWS ? f->count - start : BATCH_BLOCK_ROWS;
        size_t scan = (rows + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS;
        for (size_t i = 0; i < n; i++) {
            const int64_t *skip = j->skip && j->skip[first + i] != -1 ? &j->skip[first + i] : NULL;
            sa_scan_dot(q + i * f->stride, f->rows + start * f->stride, scan, f->stride, scores);
            for (size_t r = 0; r < rows; r++)
                if (sa_topk_wants(&tops[i], scores[r]) && (!skip || f->ids[start + r] != *skip))
                    sa_topk_push(&tops[i], f->ids[start + r], scores[r]);
        }
    }
    for (size_t i = 0; i < n; i++)
        j->found[first + i] = sa_topk_finish(&tops[i]);
    free(q);
    free(scores);
    free(tops);
    return SA_OK;
}

static sa_err flat_search_batch(const sa_index *idx, const float *queries, size_t nq, size_t k, const int64_t *skip,
                                const sa_search_params *params, sa_hit *out, size_t *found) {
    const flat_index *f = flat_of(idx);
    size_t threads = (size_t)sa_index_threads();
    if (f->count == 0 || nq < threads) { /* few queries: each scan is split over the threads instead */
        sa_err err = SA_OK;
        for (size_t i = 0; !err && i < nq; i++) {
            int has_skip = skip && skip[i] != -1;
            err = flat_search(idx, queries + i * (size_t)idx->dim, k, has_skip ? &skip[i] : NULL, has_skip, params,
                              out + i * k, &found[i]);
        }
        return err;
    }
    /* parts of some milliseconds each: a small batch stays on one thread */
    double parts = (double)f->count * (double)nq / BATCH_PART_WORK;
    batch_job j = {f, queries, nq, k, skip, out, found};
    return sa_index_parallel(parts < 1 ? 1 : parts < (double)threads ? (size_t)parts : threads, batch_part, &j);
}

/* ---- range: every row above a score ---- */

static int cmp_hit(const void *a, const void *b) {
    const sa_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

static sa_err flat_search_range(const sa_index *idx, const float *query, float min_score, const int64_t *exclude,
                                size_t n_exclude, const sa_search_params *params, sa_hit **out, size_t *found) {
    (void)params;
    const flat_index *f = flat_of(idx);
    float *q = sa_index_padded_query(query, idx->dim, f->stride);
    if (!q)
        return sa_error_set(SA_ERR_NOMEM, "search query");
    float scores[BLOCK_ROWS];
    sa_hit *hits = NULL;
    size_t n = 0, cap = 0;
    sa_err err = SA_OK;
    for (size_t start = 0; !err && start < f->count; start += BLOCK_ROWS) {
        size_t rows = f->count - start < BLOCK_ROWS ? f->count - start : BLOCK_ROWS;
        sa_scan_dot(q, f->rows + start * f->stride, (rows + SA_SCAN_ROWS - 1) / SA_SCAN_ROWS * SA_SCAN_ROWS,
                    f->stride, scores);
        for (size_t i = 0; !err && i < rows; i++) {
            int64_t id = f->ids[start + i];
            if (scores[i] < min_score || sa_index_excluded(exclude, n_exclude, id))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                sa_hit *more = realloc(hits, cap * sizeof *more);
                if (!more) {
                    err = sa_error_set(SA_ERR_NOMEM, "%zu hits", cap);
                    break;
                }
                hits = more;
            }
            hits[n++] = (sa_hit){id, scores[i]};
        }
    }
    free(q);
    if (err) {
        free(hits);
        return err;
    }
    if (n > 1) /* hits is NULL when none */
        qsort(hits, n, sizeof *hits, cmp_hit);
    *out = hits;
    *found = n;
    return SA_OK;
}

static void flat_info(const sa_index *idx, sa_index_info *out) {
    const flat_index *f = flat_of(idx);
    out->stored = f->count;
    out->memory_bytes = f->cap * (f->stride * sizeof(float) + f->hstride * sizeof(uint16_t) + sizeof(int64_t)) +
                        (f->map.table ? (f->map.mask + 1) * sizeof(sa_idmap_entry) : 0);
    snprintf(out->detail, sizeof out->detail, "exact scan (%s), rows of %zu floats%s",
             sa_scan_path_name(sa_scan_current()), f->stride,
             f->half_ok && f->count >= HALF_MIN_ROWS && sa_scan_half_pays() ? ", read first in half precision" : "");
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
    free(f->half);
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
    .search_batch = flat_search_batch,
    .search_range = flat_search_range,
    .info = flat_info,
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
    f->hstride = sa_scan_half_stride(dim);
    f->half_ok = true;
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
        if (!err && (f->ids[i] == -1 || sa_idmap_find(&f->map, f->ids[i], &other)))
            err = sa_error_set(SA_ERR_FORMAT, "%s: id %lld is reserved or appears twice", r->path,
                               (long long)f->ids[i]);
        else if (!err && !sa_index_finite(row, (size_t)h->dim))
            err = sa_error_set(SA_ERR_FORMAT, "%s: vector of id %lld is not finite", r->path,
                               (long long)f->ids[i]);
        if (!err) {
            note_half(f, i);
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

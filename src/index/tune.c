/* tune.c: recall@10 of an index against the exact answer on the library's
 * own vectors, and the smallest per-query setting that reaches a target. */
#include <stdlib.h>
#include <string.h>

#include "index/internal.h"

enum { RECALL_K = 10, HNSW_EF_MIN = 16, HNSW_EF_MAX = 4096 };

typedef struct probe_set {
    const sa_index *idx;
    size_t nq;
    const float *queries; /* nq * dim */
    const int64_t *self;  /* nq: each query's own id, left out of its answers */
    const sa_hit *exact;  /* nq * RECALL_K */
    const size_t *n_exact;
    sa_hit *hits; /* nq * RECALL_K, scratch */
    size_t *found;
} probe_set;

/* The exact answers for the chosen queries, from a flat scan of the same vectors. */
static sa_err exact_answers(const int64_t *ids, const float *vectors, size_t n, int dim, probe_set *ps, sa_hit *exact,
                            size_t *n_exact) {
    sa_index *flat;
    sa_err err = sa_index_new_flat(dim, &flat);
    if (!err)
        err = sa_index_add(flat, ids, vectors, n);
    if (!err)
        err = sa_index_search_batch(flat, ps->queries, ps->nq, RECALL_K, ps->self, NULL, exact, n_exact);
    sa_index_free(flat);
    return err;
}

static sa_err recall_with(probe_set *ps, const sa_search_params *params, double *recall) {
    sa_err err = sa_index_search_batch(ps->idx, ps->queries, ps->nq, RECALL_K, ps->self, params, ps->hits, ps->found);
    if (err)
        return err;
    size_t hit = 0, want = 0;
    for (size_t q = 0; q < ps->nq; q++) {
        const sa_hit *e = ps->exact + q * RECALL_K, *a = ps->hits + q * RECALL_K;
        want += ps->n_exact[q];
        for (size_t i = 0; i < ps->found[q]; i++)
            for (size_t j = 0; j < ps->n_exact[q]; j++)
                hit += a[i].id == e[j].id;
    }
    *recall = want ? (double)hit / (double)want : 1.0;
    return SA_OK;
}

/* The search parameters that set the tuned setting to value. */
static sa_search_params with_setting(bool ivf, size_t value) {
    sa_search_params p = {0, 0};
    if (ivf)
        p.nprobe = (int)value;
    else
        p.ef_search = (int)value;
    return p;
}

/* The smallest value in [lo, hi] whose recall reaches target (hi when
 * none does): doubling up from lo, then halving the last step. */
static sa_err smallest_setting(probe_set *ps, bool ivf, size_t lo, size_t hi, double target, size_t *best,
                               double *recall) {
    size_t below = lo - 1, v = lo;
    double r = 0;
    for (;;) {
        sa_search_params p = with_setting(ivf, v);
        sa_err err = recall_with(ps, &p, &r);
        if (err)
            return err;
        if (r >= target || v == hi)
            break;
        below = v;
        v = v > hi / 2 ? hi : v * 2;
    }
    *best = v;
    *recall = r;
    if (r < target) /* none reaches it: the most exhaustive setting */
        return SA_OK;
    while (*best - below > 1) { /* invariant: below fails, *best passes */
        size_t mid = below + (*best - below) / 2;
        sa_search_params p = with_setting(ivf, mid);
        sa_err err = recall_with(ps, &p, &r);
        if (err)
            return err;
        if (r >= target) {
            *best = mid;
            *recall = r;
        } else {
            below = mid;
        }
    }
    return SA_OK;
}

static sa_err tune_measured(sa_index *idx, probe_set *ps, double target, double *recall) {
    sa_index_info info;
    sa_err err = sa_index_info_get(idx, &info);
    if (err)
        return err;
    bool ivf = info.nlist > 0;
    if (target <= 0 || (!ivf && info.m == 0)) /* nothing to tune: measure as it is */
        return recall_with(ps, NULL, recall);
    size_t best, hi = ivf ? (size_t)info.nlist : HNSW_EF_MAX;
    err = smallest_setting(ps, ivf, ivf ? 1 : HNSW_EF_MIN, hi, target, &best, recall);
    if (!err)
        err = sa_index_set_param(idx, ivf ? "nprobe" : "efSearch", (double)best);
    return err;
}

sa_err sa_index_tune(sa_index *idx, const int64_t *ids, const float *vectors, size_t n, size_t n_queries,
                     double target, double *recall) {
    if (!idx || !recall || (n && (!ids || !vectors)))
        return sa_error_set(SA_ERR_INVALID, "sa_index_tune: NULL argument");
    *recall = -1;
    if (idx->file_kind == SA_IXFILE_FLAT) {
        *recall = 1; /* the exact scan is the reference */
        return SA_OK;
    }
    size_t nq = n_queries < n ? n_queries : n, dim = (size_t)idx->dim;
    if (nq == 0 || n < 2)
        return SA_OK; /* nothing to measure */
    float *queries = malloc(nq * dim * sizeof *queries);
    int64_t *self = malloc(nq * sizeof *self);
    sa_hit *exact = malloc(nq * RECALL_K * sizeof *exact), *hits = malloc(nq * RECALL_K * sizeof *hits);
    size_t *n_exact = malloc(nq * sizeof *n_exact), *found = malloc(nq * sizeof *found);
    sa_err err = queries && self && exact && hits && n_exact && found
                     ? SA_OK
                     : sa_error_set(SA_ERR_NOMEM, "recall measurement on %zu queries", nq);
    for (size_t q = 0; !err && q < nq; q++) { /* spread evenly over the library */
        size_t at = q * n / nq;
        memcpy(queries + q * dim, vectors + at * dim, dim * sizeof *queries);
        self[q] = ids[at];
    }
    probe_set ps = {idx, nq, queries, self, exact, n_exact, hits, found};
    if (!err)
        err = exact_answers(ids, vectors, n, idx->dim, &ps, exact, n_exact);
    if (!err)
        err = tune_measured(idx, &ps, target, recall);
    free(queries);
    free(self);
    free(exact);
    free(hits);
    free(n_exact);
    free(found);
    return err;
}

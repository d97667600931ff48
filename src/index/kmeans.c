/* kmeans.c: spherical k-means. The assignment step is a batch search with
 * k = 1 over a flat index of the centroids, so it runs on the same SIMD
 * kernels and threads as every exact search; means are summed in double
 * and normalised, which suits vectors compared by inner product. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/kmeans.h"
#include "soundalike/index.h"

static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* labels[i] = the centroid (of k) with the largest inner product with
 * vector i, for n vectors; in parallel, blocked as a batch search. */
static sa_err assign(const float *centroids, size_t k, int dim, const float *x, size_t n, int64_t *labels) {
    sa_index *flat = NULL;
    int64_t *ids = malloc(k * sizeof *ids);
    sa_hit *hits = malloc(n * sizeof *hits);
    size_t *found = malloc(n * sizeof *found);
    sa_err err = ids && hits && found ? sa_index_new_flat(dim, &flat)
                                      : sa_error_set(SA_ERR_NOMEM, "assigning %zu vectors", n);
    for (size_t c = 0; !err && c < k; c++)
        ids[c] = (int64_t)c;
    if (!err)
        err = sa_index_add(flat, ids, centroids, k);
    if (!err)
        err = sa_index_search_batch(flat, x, n, 1, NULL, NULL, hits, found);
    for (size_t i = 0; !err && i < n; i++)
        labels[i] = hits[i].id; /* k >= 1 centroids: every query finds one */
    sa_index_free(flat);
    free(ids);
    free(hits);
    free(found);
    return err;
}

/* Copies m of the n vectors, chosen at random, into sample (partial Fisher-Yates). */
static sa_err draw_sample(const float *x, size_t n, int dim, size_t m, uint64_t *rng, float *sample) {
    size_t *order = malloc(n * sizeof *order);
    if (!order)
        return sa_error_set(SA_ERR_NOMEM, "k-means sample of %zu", n);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 0; i < m; i++) {
        size_t j = i + (size_t)(next_random(rng) % (n - i));
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
        memcpy(sample + i * (size_t)dim, x + order[i] * (size_t)dim, (size_t)dim * sizeof *sample);
    }
    free(order);
    return SA_OK;
}

/* The new centroids: the normalised sums of their points; an empty (or
 * zero-sum) one restarts at a random sample point. */
static void update_centroids(const float *sample, size_t m, int dim, size_t k, const int64_t *labels, double *sums,
                             uint64_t *rng, float *centroids) {
    size_t d = (size_t)dim;
    memset(sums, 0, k * d * sizeof *sums);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d; j++)
            sums[(size_t)labels[i] * d + j] += sample[i * d + j];
    for (size_t c = 0; c < k; c++) {
        double norm = 0;
        for (size_t j = 0; j < d; j++)
            norm += sums[c * d + j] * sums[c * d + j];
        norm = sqrt(norm);
        if (norm > 0) {
            for (size_t j = 0; j < d; j++)
                centroids[c * d + j] = (float)(sums[c * d + j] / norm);
        } else {
            memcpy(centroids + c * d, sample + (size_t)(next_random(rng) % m) * d, d * sizeof *centroids);
        }
    }
}

sa_err sa_kmeans(const float *x, size_t n, int dim, size_t k, int iters, uint64_t seed, float *centroids) {
    if (k < 1 || k > n)
        return sa_error_set(SA_ERR_INVALID, "k-means of %zu centroids on %zu vectors", k, n);
    uint64_t rng = seed;
    size_t m = k * SA_KMEANS_SAMPLE_PER_CENTROID < n ? k * SA_KMEANS_SAMPLE_PER_CENTROID : n;
    float *sample = malloc(m * (size_t)dim * sizeof *sample);
    int64_t *labels = malloc(m * sizeof *labels), *before = malloc(m * sizeof *before);
    double *sums = malloc(k * (size_t)dim * sizeof *sums);
    sa_err err = sample && labels && before && sums ? draw_sample(x, n, dim, m, &rng, sample)
                                                    : sa_error_set(SA_ERR_NOMEM, "k-means of %zu centroids", k);
    /* the first k sample points are a random choice of distinct vectors */
    if (!err)
        memcpy(centroids, sample, k * (size_t)dim * sizeof *centroids);
    for (int it = 0; !err && it < iters; it++) {
        err = assign(centroids, k, dim, sample, m, labels);
        if (err || (it > 0 && memcmp(labels, before, m * sizeof *labels) == 0))
            break; /* converged: the centroids would not move */
        update_centroids(sample, m, dim, k, labels, sums, &rng, centroids);
        memcpy(before, labels, m * sizeof *labels);
    }
    free(sample);
    free(labels);
    free(before);
    free(sums);
    return err;
}

/* kmeans.h: spherical k-means for the IVF's coarse centroids. */
#ifndef SA_INDEX_KMEANS_H
#define SA_INDEX_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"

/* Trains k unit-length centroids (k*dim floats into centroids) on a sample
 * of at most k*SA_KMEANS_SAMPLE_PER_CENTROID of the n vectors, chosen with
 * seed, by iters rounds of Lloyd's algorithm with inner-product assignment
 * (the exact scan's batch search, on the caller's threads). 1 <= k <= n.
 * An emptied centroid restarts at a sample point. */
enum { SA_KMEANS_SAMPLE_PER_CENTROID = 64 };
sa_err sa_kmeans(const float *x, size_t n, int dim, size_t k, int iters, uint64_t seed, float *centroids);

#endif

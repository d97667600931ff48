/* index.c: single-query latency of the exact scan (each SIMD path) against
 * FAISS's IndexFlatIP and against the time to read the vectors once.
 *
 *   bench_index [--1m] [--queries N]
 *
 * Data: clustered unit vectors of 67 dimensions (the default profile), fixed
 * seed, 10k and 100k of them (and 1M with --1m). Every query is a top-10
 * search; latencies are per query, p50 and p99, in milliseconds, one
 * thread. The floor is the median time to stream the same number of bytes
 * (the 67-d vectors, unpadded) through the cache hierarchy. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/scan.h"
#include "soundalike/index.h"

enum { DIM = 67, K = 10, CLUSTERS = 256 };

static uint64_t rng_state = 12345;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(void) { return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0; }

static double rng_gauss(void) { return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * 3.14159265358979323846 * rng_unit()); }

static void normalise(float *v) {
    double norm = 0;
    for (int j = 0; j < DIM; j++)
        norm += (double)v[j] * v[j];
    for (int j = 0; j < DIM; j++)
        v[j] = (float)(v[j] / sqrt(norm));
}

/* n unit vectors around CLUSTERS random centres, noise as long as a centre. */
static float *clustered(size_t n, const float *centres) {
    float *v = malloc(n * DIM * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const float *c = centres + (rng_next() % CLUSTERS) * DIM;
        for (int j = 0; j < DIM; j++)
            v[i * DIM + j] = c[j] + (float)(rng_gauss() / sqrt(DIM));
        normalise(v + i * DIM);
    }
    return v;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct timing {
    double p50, p99;
} timing;

static timing percentiles(double *ms, size_t n) {
    qsort(ms, n, sizeof *ms, cmp_double);
    return (timing){ms[n / 2], ms[(size_t)((double)(n - 1) * 0.99)]};
}

/* Runs every query once as a warm-up, then times each; *agree counts the
 * top-10 ids shared with ref (when given). */
static int time_queries(const sa_index *idx, const float *queries, size_t nq, double *ms, sa_hit *hits,
                        const sa_hit *ref, size_t *agree, timing *out) {
    size_t found;
    for (size_t q = 0; q < nq; q++)
        if (sa_index_search(idx, queries + q * DIM, K, NULL, 0, hits + q * K, &found) != SA_OK)
            return -1;
    *agree = 0;
    for (size_t q = 0; q < nq; q++) {
        double t0 = now_ms();
        sa_err err = sa_index_search(idx, queries + q * DIM, K, NULL, 0, hits + q * K, &found);
        ms[q] = now_ms() - t0;
        if (err || found != K)
            return -1;
        for (size_t i = 0; ref && i < K; i++)
            for (size_t j = 0; j < K; j++)
                *agree += hits[q * K + i].id == ref[q * K + j].id;
    }
    *out = percentiles(ms, nq);
    return 0;
}

/* XOR of n 64-bit words in eight independent lanes, compiled for the widest
 * vectors the CPU has, so that memory (or cache), not arithmetic, limits it. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static uint64_t xor_words(const uint64_t *w,
                                                                                        size_t n) {
    uint64_t lane[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++)
            lane[l] ^= w[i + l];
    for (; i < n; i++)
        lane[0] ^= w[i];
    return lane[0] ^ lane[1] ^ lane[2] ^ lane[3] ^ lane[4] ^ lane[5] ^ lane[6] ^ lane[7];
}

/* The median time to read bytes once. */
static double read_floor_ms(size_t bytes, int reps) {
    size_t words = bytes / 8;
    uint64_t *buf = aligned_alloc(64, (words * 8 + 63) / 64 * 64);
    double *ms = malloc((size_t)reps * sizeof *ms);
    if (!buf || !ms) {
        free(buf);
        free(ms);
        return -1;
    }
    for (size_t i = 0; i < words; i++)
        buf[i] = i * 0x9e3779b97f4a7c15ULL;
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        uint64_t x = xor_words(buf, words);
        ms[r] = now_ms() - t0;
        sink ^= x;
    }
    (void)sink;
    double p50 = percentiles(ms, (size_t)reps).p50;
    free(buf);
    free(ms);
    return p50;
}

static int run_size(size_t n, size_t nq, const float *centres) {
    float *vecs = clustered(n, centres), *queries = clustered(nq, centres);
    int64_t *ids = malloc(n * sizeof *ids);
    double *ms = malloc(nq * sizeof *ms);
    sa_hit *ref = malloc(nq * K * sizeof *ref), *hits = malloc(nq * K * sizeof *hits);
    sa_index *flat = NULL, *faiss = NULL;
    int rc = -1;
    if (!vecs || !queries || !ids || !ms || !ref || !hits)
        goto done;
    for (size_t i = 0; i < n; i++)
        ids[i] = (int64_t)i;
    if (sa_index_new_flat(DIM, &flat) || sa_index_add(flat, ids, vecs, n) ||
        sa_index_new("Flat", DIM, n, &faiss) || sa_index_add(faiss, ids, vecs, n)) {
        fprintf(stderr, "building the indexes: %s\n", sa_error_detail());
        goto done;
    }
    double floor = read_floor_ms(n * DIM * sizeof(float), 51);
    printf("\n%zu vectors x %d floats (%.1f MB; the flat index reads %.1f MB, rows padded to %zu floats), "
           "%zu queries\n",
           n, DIM, (double)n * DIM * 4 / 1e6, (double)n * sa_scan_stride(DIM) * 4 / 1e6, sa_scan_stride(DIM), nq);
    printf("  %-22s %9s %9s %12s %10s\n", "", "p50 ms", "p99 ms", "p50/floor", "GB/s");
    printf("  %-22s %9.3f %9s %12s %10.1f\n", "read floor", floor, "", "1.00", (double)n * DIM * 4 / floor / 1e6);
    timing best = {0, 0}, t;
    size_t agree;
    for (int p = SA_SCAN_PORTABLE; p <= SA_SCAN_AVX512; p++) {
        if (sa_scan_force((sa_scan_path)p) != SA_OK)
            continue;
        if (time_queries(flat, queries, nq, ms, p == SA_SCAN_PORTABLE ? ref : hits,
                         p == SA_SCAN_PORTABLE ? NULL : ref, &agree, &t))
            goto done;
        char name[32];
        snprintf(name, sizeof name, "flat, %s", sa_scan_path_name((sa_scan_path)p));
        printf("  %-22s %9.3f %9.3f %12.2f %10.1f", name, t.p50, t.p99, t.p50 / floor,
               (double)n * sa_scan_stride(DIM) * 4 / t.p50 / 1e6);
        if (p != SA_SCAN_PORTABLE)
            printf("   top-10 agreement with portable %.4f", (double)agree / (double)(nq * K));
        printf("\n");
        best = t; /* the last supported path is the fastest, the one used by default */
    }
    if (time_queries(faiss, queries, nq, ms, hits, ref, &agree, &t))
        goto done;
    printf("  %-22s %9.3f %9.3f %12.2f %10.1f   top-10 agreement with flat %.4f\n", "FAISS IndexFlatIP", t.p50,
           t.p99, t.p50 / floor, (double)n * DIM * 4 / t.p50 / 1e6, (double)agree / (double)(nq * K));
    printf("  FAISS / best flat: p50 %.2fx, p99 %.2fx\n", t.p50 / best.p50, t.p99 / best.p99);
    rc = 0;
done:
    sa_index_free(flat);
    sa_index_free(faiss);
    free(vecs);
    free(queries);
    free(ids);
    free(ms);
    free(ref);
    free(hits);
    return rc;
}

int main(int argc, char **argv) {
    int million = 0;
    size_t nq = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--1m") == 0)
            million = 1;
        else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc)
            nq = (size_t)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--1m] [--queries N]\n", argv[0]);
            return 2;
        }
    }
    sa_index_set_threads(1); /* single-query latency: one thread on both sides */
    float centres[CLUSTERS * DIM];
    for (int c = 0; c < CLUSTERS; c++) {
        for (int j = 0; j < DIM; j++)
            centres[c * DIM + j] = (float)rng_gauss();
        normalise(centres + c * DIM);
    }
    printf("exact top-%d search, one query at a time; default scan path here: %s\n", K,
           sa_scan_path_name(sa_scan_current()));
    static const size_t sizes[] = {10000, 100000, 1000000};
    static const size_t default_queries[] = {1000, 300, 100};
    for (int s = 0; s < (million ? 3 : 2); s++)
        if (run_size(sizes[s], nq ? nq : default_queries[s], centres))
            return 1;
    return 0;
}

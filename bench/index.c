/* index.c: every index type on the same vectors, beside python3-faiss doing
 * the same work and the memory floor of one exact scan.
 *
 *   bench_index [--sizes 10k,100k,1m] [--types flat,ivf,hnsw] [--threads 1,2]
 *               [--queries N] [--db PATH] [--hnsw-1m] [--no-faiss] [--python PATH]
 *
 * Data: clustered unit vectors of 67 dimensions (the default profile; 256
 * centres, noise as long as a centre, fixed seed) with held-out queries
 * from the same clusters, at each size; or, with --db, the vectors of a
 * library's profile, queried by a sample of its own tracks.
 *
 * For each type and thread count: build time (training, adding, and for
 * the approximate types the tuning that sa_library_index_build does: the
 * smallest nprobe or efSearch with recall@10 >= 0.99 on the library's own
 * tracks), memory, single-query latency p50/p99 (top 10, one query per
 * call), batch throughput (all queries in one call) and recall@10 of the
 * held-out queries against the exact answer. HNSW at 1M takes FAISS many
 * minutes to build, so it runs there only with --hnsw-1m.
 *
 * The same vectors go to bench/index_faiss.py (Debian's python3-faiss,
 * IndexFlatIP, IVF-Flat with our nlist and tuned nprobe, HNSW with our M
 * and tuned efSearch), and our figures are printed as ratios to its. The
 * floor is the median time to read the vectors (unpadded) once, on one
 * thread and on two. */
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "index/scan.h"
#include "soundalike/index.h"
#include "soundalike/library.h"
#include "soundalike/profile.h"

enum { K = 10, CLUSTERS = 256, TUNE_QUERIES = 1000, MAX_TYPES = 8, MAX_THREADS = 4, MAX_RESULTS = 32 };
#define TARGET_RECALL 0.99

/* ---- data ---- */

static uint64_t rng_state = 12345;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(void) { return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0; }

static double rng_gauss(void) { return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * 3.14159265358979323846 * rng_unit()); }

static void normalise(float *v, int dim) {
    double norm = 0;
    for (int j = 0; j < dim; j++)
        norm += (double)v[j] * v[j];
    for (int j = 0; j < dim; j++)
        v[j] = (float)(v[j] / sqrt(norm));
}

/* n unit vectors around the centres, noise as long as a centre. */
static float *clustered(size_t n, const float *centres, int dim) {
    float *v = malloc(n * (size_t)dim * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const float *c = centres + (rng_next() % CLUSTERS) * (size_t)dim;
        for (int j = 0; j < dim; j++)
            v[i * (size_t)dim + j] = c[j] + (float)(rng_gauss() / sqrt(dim));
        normalise(v + i * (size_t)dim, dim);
    }
    return v;
}

/* What one run measures on: the library and its queries. */
typedef struct dataset {
    char name[64];
    int dim;
    size_t n, nq;
    int64_t *ids;
    float *vecs, *queries;
    sa_hit *exact; /* nq * K: the exact answers */
    size_t *n_exact;
} dataset;

static void dataset_free(dataset *d) {
    free(d->ids);
    free(d->vecs);
    free(d->queries);
    free(d->exact);
    free(d->n_exact);
}

/* ---- timing ---- */

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

/* p50/p99 of single searches, after one warm-up pass; hits gets the answers. */
static int time_queries(const sa_index *idx, const dataset *d, sa_hit *hits, timing *out) {
    double *ms = malloc(d->nq * sizeof *ms);
    size_t found;
    int rc = ms ? 0 : -1;
    for (size_t q = 0; !rc && q < d->nq; q++)
        rc = sa_index_search(idx, d->queries + q * (size_t)d->dim, K, NULL, 0, hits + q * K, &found) ? -1 : 0;
    for (size_t q = 0; !rc && q < d->nq; q++) {
        double t0 = now_ms();
        rc = sa_index_search(idx, d->queries + q * (size_t)d->dim, K, NULL, 0, hits + q * K, &found) ? -1 : 0;
        ms[q] = now_ms() - t0;
    }
    if (!rc)
        *out = percentiles(ms, d->nq);
    free(ms);
    return rc;
}

static double recall_of(const dataset *d, const sa_hit *hits, const size_t *found) {
    size_t hit = 0, want = 0;
    for (size_t q = 0; q < d->nq; q++) {
        want += d->n_exact[q];
        for (size_t i = 0; i < (found ? found[q] : K); i++)
            for (size_t j = 0; j < d->n_exact[q]; j++)
                hit += hits[q * K + i].id == d->exact[q * K + j].id;
    }
    return want ? (double)hit / (double)want : 1.0;
}

/* ---- the memory floor: XOR every word once, on t threads ---- */

/* Eight independent lanes, compiled for the widest vectors the CPU has, so
 * that memory (or cache), not arithmetic, limits it. */
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

typedef struct floor_part {
    const uint64_t *w;
    size_t n;
    uint64_t x;
} floor_part;

static void *floor_main(void *arg) {
    floor_part *p = arg;
    p->x = xor_words(p->w, p->n);
    return NULL;
}

/* The median time to read bytes once, split over t threads. */
static double read_floor_ms(size_t bytes, int t, int reps) {
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
        floor_part parts[MAX_THREADS];
        pthread_t th[MAX_THREADS];
        double t0 = now_ms();
        for (int i = 0; i < t; i++) {
            parts[i] = (floor_part){buf + words * (size_t)i / (size_t)t,
                                    words * (size_t)(i + 1) / (size_t)t - words * (size_t)i / (size_t)t, 0};
            if (i > 0)
                pthread_create(&th[i], NULL, floor_main, &parts[i]);
        }
        floor_main(&parts[0]);
        for (int i = 1; i < t; i++)
            pthread_join(th[i], NULL);
        ms[r] = now_ms() - t0;
        for (int i = 0; i < t; i++)
            sink ^= parts[i].x;
    }
    (void)sink;
    double p50 = percentiles(ms, (size_t)reps).p50;
    free(buf);
    free(ms);
    return p50;
}

/* ---- one result row ---- */

typedef struct result {
    char name[64];
    char kind[16]; /* flat, ivf, hnsw: what a FAISS row is compared with */
    int threads;
    double build_s, tune_s, memory_mb, qps, recall;
    timing t;
    int nlist, nprobe, ef_search;
} result;

typedef struct options {
    const char *types[MAX_TYPES];
    size_t n_types;
    int threads[MAX_THREADS];
    size_t n_threads;
    size_t queries;
    const char *db, *python;
    int hnsw_1m, faiss;
} options;

static void print_header(void) {
    printf("  %-30s %3s %9s %8s %9s %8s %8s %10s %9s  %s\n", "", "thr", "build s", "tune s", "memory MB", "p50 ms",
           "p99 ms", "batch q/s", "recall@10", "settings");
}

static void print_row(const result *r) {
    printf("  %-30s %3d %9.2f %8.2f %9.1f %8.3f %8.3f %10.0f %9.4f ", r->name, r->threads, r->build_s, r->tune_s,
           r->memory_mb, r->t.p50, r->t.p99, r->qps, r->recall);
    if (r->nlist)
        printf(" nprobe %d of %d lists", r->nprobe, r->nlist);
    if (r->ef_search)
        printf(" efSearch %d", r->ef_search);
    printf("\n");
}

/* Builds (and tunes) type on t threads and measures it. */
static int run_ours(const dataset *d, const char *type, int t, result *r) {
    sa_index_set_threads(t);
    sa_index *idx = NULL;
    sa_hit *hits = malloc(d->nq * K * sizeof *hits);
    size_t *found = malloc(d->nq * sizeof *found);
    double t0 = now_ms(), recall;
    sa_err err = hits && found ? sa_index_new(type, d->dim, d->n, &idx) : SA_ERR_NOMEM;
    if (!err)
        err = sa_index_build(idx, d->ids, d->vecs, d->n);
    double t1 = now_ms();
    int tuned = strcmp(type, "ivf") == 0 || strcmp(type, "hnsw") == 0 || strcmp(type, "faiss-ivf") == 0;
    if (!err && tuned)
        err = sa_index_tune(idx, d->ids, d->vecs, d->n, TUNE_QUERIES, TARGET_RECALL, &recall);
    double t2 = now_ms();
    sa_index_info info;
    if (!err)
        err = sa_index_info_get(idx, &info);
    *r = (result){.threads = t, .build_s = (t1 - t0) / 1e3, .tune_s = (t2 - t1) / 1e3};
    snprintf(r->name, sizeof r->name, "ours %s", type);
    snprintf(r->kind, sizeof r->kind, "%s", strstr(type, "ivf") ? "ivf" : type);
    int rc = err ? -1 : time_queries(idx, d, hits, &r->t);
    double b0 = now_ms();
    if (!rc && sa_index_search_batch(idx, d->queries, d->nq, K, NULL, NULL, hits, found) != SA_OK)
        rc = -1;
    if (!rc) {
        r->qps = (double)d->nq / ((now_ms() - b0) / 1e3);
        r->recall = recall_of(d, hits, found);
        r->memory_mb = (double)info.memory_bytes / 1e6;
        r->nlist = info.nlist;
        r->nprobe = info.nprobe;
        r->ef_search = info.ef_search;
    } else {
        fprintf(stderr, "%s: %s\n", type, sa_error_detail());
    }
    sa_index_set_threads(1);
    sa_index_free(idx);
    free(hits);
    free(found);
    return rc;
}

/* ---- the exact scan's SIMD paths ---- */

static int run_paths(const dataset *d, double floor1) {
    sa_index *flat = NULL;
    sa_hit *hits = malloc(d->nq * K * sizeof *hits);
    int rc = hits && !sa_index_new_flat(d->dim, &flat) && !sa_index_add(flat, d->ids, d->vecs, d->n) ? 0 : -1;
    sa_scan_path best = sa_scan_current();
    printf("  exact scan by SIMD path, one thread (each must give the exact answer):\n");
    for (int p = SA_SCAN_PORTABLE; !rc && p <= SA_SCAN_AVX512; p++) {
        timing t;
        if (sa_scan_force((sa_scan_path)p) != SA_OK)
            continue;
        rc = time_queries(flat, d, hits, &t);
        if (!rc)
            printf("    %-10s p50 %8.3f ms  p99 %8.3f ms  p50/floor %5.2f  recall@10 %.4f\n",
                   sa_scan_path_name((sa_scan_path)p), t.p50, t.p99, t.p50 / floor1, recall_of(d, hits, NULL));
    }
    sa_scan_force(best);
    sa_index_free(flat);
    free(hits);
    return rc;
}

/* ---- python3-faiss ---- */

static int write_floats(const char *path, const float *v, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(v, sizeof *v, n, f) == n;
    return (f && fclose(f) == 0 && ok) ? 0 : -1;
}

/* Runs index_faiss.py on the data with our settings; appends its rows. */
static int run_faiss(const dataset *d, const options *o, const result *ours, size_t n_ours, result *out,
                     size_t *n_out) {
    char dir[] = "/tmp/sa-bench-XXXXXX", vpath[64], qpath[64], cmd[1024], extra[256] = "", threads[32] = "";
    if (!mkdtemp(dir))
        return -1;
    snprintf(vpath, sizeof vpath, "%s/vectors.f32", dir);
    snprintf(qpath, sizeof qpath, "%s/queries.f32", dir);
    int rc = write_floats(vpath, d->vecs, d->n * (size_t)d->dim) || write_floats(qpath, d->queries, d->nq * (size_t)d->dim);
    for (size_t i = 0; i < n_ours; i++) { /* the same settings as ours */
        size_t len = strlen(extra);
        if (strcmp(ours[i].name, "ours ivf") == 0 && ours[i].threads == o->threads[0])
            snprintf(extra + len, sizeof extra - len, " --nlist %d --nprobe %d", ours[i].nlist, ours[i].nprobe);
        else if (strcmp(ours[i].kind, "hnsw") == 0 && ours[i].threads == o->threads[0])
            snprintf(extra + len, sizeof extra - len, " --hnsw-m 32 --ef-search %d", ours[i].ef_search);
    }
    for (size_t i = 0; i < o->n_threads; i++)
        snprintf(threads + strlen(threads), sizeof threads - strlen(threads), "%s%d", i ? "," : "", o->threads[i]);
    char src[] = __FILE__;
    snprintf(cmd, sizeof cmd, "%s %s/index_faiss.py %s %s --dim %d --k %d --threads %s%s", o->python, dirname(src),
             vpath, qpath, d->dim, K, threads, extra);
    FILE *p = rc ? NULL : popen(cmd, "r");
    char line[4096];
    while (p && fgets(line, sizeof line, p) && *n_out < MAX_RESULTS) {
        json_t *j = json_loads(line, 0, NULL);
        result *r = &out[*n_out];
        const char *name;
        *r = (result){0};
        if (j && json_unpack(j, "{ss si sf sF sf sf sf sf}", "name", &name, "threads", &r->threads, "build_s",
                             &r->build_s, "memory_bytes", &r->memory_mb, "p50_ms", &r->t.p50, "p99_ms", &r->t.p99,
                             "batch_qps", &r->qps, "recall_at_10", &r->recall) == 0) {
            snprintf(r->name, sizeof r->name, "FAISS %s", name);
            snprintf(r->kind, sizeof r->kind, "%s", strstr(name, "IVF") ? "ivf" : strstr(name, "HNSW") ? "hnsw" : "flat");
            r->memory_mb /= 1e6;
            (*n_out)++;
        }
        json_decref(j);
    }
    if (!p || pclose(p) != 0) {
        fprintf(stderr, "python3-faiss baseline failed: %s\n", cmd);
        rc = -1;
    }
    unlink(vpath);
    unlink(qpath);
    rmdir(dir);
    return rc;
}

/* ---- one dataset ---- */

static int exact_answers(dataset *d) {
    sa_index *flat = NULL;
    d->exact = malloc(d->nq * K * sizeof *d->exact);
    d->n_exact = malloc(d->nq * sizeof *d->n_exact);
    sa_index_set_threads(0);
    int rc = d->exact && d->n_exact && !sa_index_new_flat(d->dim, &flat) && !sa_index_add(flat, d->ids, d->vecs, d->n) &&
                     !sa_index_search_batch(flat, d->queries, d->nq, K, NULL, NULL, d->exact, d->n_exact)
                 ? 0
                 : -1;
    sa_index_set_threads(1);
    sa_index_free(flat);
    return rc;
}

static const result *find_row(const result *rows, size_t n, const char *prefix, const char *kind, int threads) {
    for (size_t i = 0; i < n; i++)
        if (strncmp(rows[i].name, prefix, strlen(prefix)) == 0 && strcmp(rows[i].kind, kind) == 0 &&
            rows[i].threads == threads)
            return &rows[i];
    return NULL;
}

static void print_ratios(const result *rows, size_t n, const options *o, double floor1, double floor2) {
    printf("  ours against FAISS (FAISS's time / ours: above 1, ours is faster) and the floor:\n");
    for (size_t i = 0; i < n; i++) {
        if (strncmp(rows[i].name, "ours ", 5) != 0)
            continue;
        const result *f = find_row(rows, n, "FAISS", rows[i].kind, rows[i].threads);
        printf("    %-22s %d thr:", rows[i].name + 5, rows[i].threads);
        if (f)
            printf(" p50 %6.2fx  p99 %6.2fx  batch %6.2fx  build %6.2fx (vs %s)", f->t.p50 / rows[i].t.p50,
                   f->t.p99 / rows[i].t.p99, rows[i].qps / f->qps, f->build_s / (rows[i].build_s + rows[i].tune_s),
                   f->name + 6);
        if (strcmp(rows[i].kind, "flat") == 0)
            printf("  p50/floor %.2f", rows[i].t.p50 / (rows[i].threads > 1 ? floor2 : floor1));
        printf("\n");
    }
    (void)o;
}

static int run_dataset(dataset *d, const options *o) {
    if (exact_answers(d)) {
        fprintf(stderr, "exact answers: %s\n", sa_error_detail());
        return -1;
    }
    size_t bytes = d->n * (size_t)d->dim * sizeof(float);
    double floor1 = read_floor_ms(bytes, 1, 31), floor2 = read_floor_ms(bytes, 2, 31);
    printf("\n%s: %zu vectors x %d floats (%.1f MB), %zu queries, top %d\n", d->name, d->n, d->dim, (double)bytes / 1e6,
           d->nq, K);
    printf("  memory floor of one exact scan: %.3f ms on 1 thread (%.1f GB/s), %.3f ms on 2 (%.1f GB/s)\n", floor1,
           (double)bytes / floor1 / 1e6, floor2, (double)bytes / floor2 / 1e6);
    if (run_paths(d, floor1))
        return -1;
    result rows[MAX_RESULTS];
    size_t n_rows = 0;
    print_header();
    for (size_t t = 0; t < o->n_types; t++) {
        if (strcmp(o->types[t], "hnsw") == 0 && d->n >= 1000000 && !o->hnsw_1m) {
            printf("  %-30s skipped at this size (FAISS takes many minutes to build it): --hnsw-1m\n", "ours hnsw");
            continue;
        }
        for (size_t i = 0; i < o->n_threads && n_rows < MAX_RESULTS; i++) {
            if (run_ours(d, o->types[t], o->threads[i], &rows[n_rows]))
                return -1;
            print_row(&rows[n_rows++]);
        }
    }
    size_t first_faiss = n_rows;
    if (o->faiss && run_faiss(d, o, rows, n_rows, rows, &n_rows))
        return -1;
    for (size_t i = first_faiss; i < n_rows; i++)
        print_row(&rows[i]);
    print_ratios(rows, n_rows, o, floor1, floor2);
    return 0;
}

static int synthetic(size_t n, size_t nq, const float *centres, const options *o) {
    dataset d = {.dim = 67, .n = n, .nq = nq};
    snprintf(d.name, sizeof d.name, "clustered %zuk", n / 1000);
    d.vecs = clustered(n, centres, d.dim);
    d.queries = clustered(nq, centres, d.dim);
    d.ids = malloc(n * sizeof *d.ids);
    int rc = d.vecs && d.queries && d.ids ? 0 : -1;
    for (size_t i = 0; !rc && i < n; i++)
        d.ids[i] = (int64_t)i;
    if (!rc)
        rc = run_dataset(&d, o);
    dataset_free(&d);
    return rc;
}

/* The vectors of a library's profile, queried by an even sample of its tracks. */
static int library(const options *o) {
    sa_store *s;
    const char *profile = NULL;
    dataset d = {0};
    int rc = sa_store_open(o->db, &s) || sa_library_profile(s, &profile) || !profile ? -1 : 0;
    const sa_profile *p = profile ? sa_profile_find(profile) : NULL;
    if (!rc && p && sa_store_vectors_load(s, profile, p->dim, &d.ids, &d.vecs, &d.n) == SA_OK && d.n > 0) {
        d.dim = p->dim;
        d.nq = o->queries && o->queries < d.n ? o->queries : d.n < 1000 ? d.n : 1000;
        d.queries = malloc(d.nq * (size_t)d.dim * sizeof *d.queries);
        for (size_t q = 0; d.queries && q < d.nq; q++)
            memcpy(d.queries + q * (size_t)d.dim, d.vecs + q * d.n / d.nq * (size_t)d.dim, (size_t)d.dim * sizeof(float));
        snprintf(d.name, sizeof d.name, "library %.40s", profile);
        rc = d.queries ? run_dataset(&d, o) : -1;
    } else {
        fprintf(stderr, "%s: no analysed vectors (%s)\n", o->db, sa_error_detail());
        rc = -1;
    }
    sa_store_close(s);
    dataset_free(&d);
    return rc;
}

/* Splits a comma list in place into at most max items. */
static size_t split(char *list, const char **items, size_t max) {
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        items[n++] = tok;
    return n;
}

static int usage(const char *prog) {
    fprintf(stderr,
            "usage: %s [--sizes 10k,100k,1m] [--types flat,ivf,hnsw] [--threads 1,2] [--queries N]\n"
            "          [--db PATH] [--hnsw-1m] [--no-faiss] [--python PATH]\n",
            prog);
    return 2;
}

int main(int argc, char **argv) {
    static char default_types[] = "flat,ivf,hnsw", default_sizes[] = "10k,100k";
    options o = {.python = "/usr/bin/python3", .faiss = 1, .threads = {1, 2}, .n_threads = 2};
    char *types = default_types, *sizes = default_sizes;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--hnsw-1m") == 0)
            o.hnsw_1m = 1;
        else if (strcmp(a, "--no-faiss") == 0)
            o.faiss = 0;
        else if (!next)
            return usage(argv[0]);
        else if (strcmp(a, "--sizes") == 0)
            sizes = argv[++i];
        else if (strcmp(a, "--types") == 0)
            types = argv[++i];
        else if (strcmp(a, "--queries") == 0)
            o.queries = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--db") == 0)
            o.db = argv[++i];
        else if (strcmp(a, "--python") == 0)
            o.python = argv[++i];
        else if (strcmp(a, "--threads") == 0) {
            const char *t[MAX_THREADS];
            o.n_threads = split(argv[++i], t, MAX_THREADS);
            for (size_t k = 0; k < o.n_threads; k++)
                if ((o.threads[k] = atoi(t[k])) < 1 || o.threads[k] > MAX_THREADS)
                    return usage(argv[0]);
        } else
            return usage(argv[0]);
    }
    o.n_types = split(types, o.types, MAX_TYPES);
    printf("top-%d search; default scan path here: %s; %ld cores online\n", K, sa_scan_path_name(sa_scan_current()),
           sysconf(_SC_NPROCESSORS_ONLN));
    if (o.db)
        return library(&o) ? 1 : 0;
    float centres[CLUSTERS * 67];
    for (int c = 0; c < CLUSTERS; c++) {
        for (int j = 0; j < 67; j++)
            centres[c * 67 + j] = (float)rng_gauss();
        normalise(centres + c * 67, 67);
    }
    const char *size_list[4];
    size_t n_sizes = split(sizes, size_list, 4);
    for (size_t s = 0; s < n_sizes; s++) {
        size_t n = strcmp(size_list[s], "10k") == 0    ? 10000
                   : strcmp(size_list[s], "100k") == 0 ? 100000
                   : strcmp(size_list[s], "1m") == 0   ? 1000000
                                                       : 0;
        if (!n)
            return usage(argv[0]);
        size_t nq = o.queries ? o.queries : n >= 1000000 ? 200 : n >= 100000 ? 500 : 1000;
        if (synthetic(n, nq, centres, &o))
            return 1;
    }
    return 0;
}

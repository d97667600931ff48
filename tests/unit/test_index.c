/* test_index.c: the index against a brute-force double-precision model, on
 * every scan path: the exact scan, our IVF, the FAISS types; search by id,
 * by threshold and in batches, on one thread and several. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "index/file.h"
#include "index/scan.h"
#include "soundalike/index.h"
#include "testutil.h"

/* Scores computed in float by different kernels agree with the double model
 * to this much; ranks may swap only between scores closer than this. */
#define TOL 1e-5

/* ---- data and the reference model ---- */

static uint64_t rng_state;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* uniform in [-1, 1) */
static float rng_float(void) { return (float)((double)(rng_next() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

static void random_unit(float *v, int dim) {
    double norm = 0;
    for (int i = 0; i < dim; i++) {
        v[i] = rng_float();
        norm += (double)v[i] * v[i];
    }
    for (int i = 0; i < dim; i++)
        v[i] = (float)(v[i] / sqrt(norm));
}

/* What the index should hold: ids and vectors, in any order. */
typedef struct model {
    int dim;
    size_t n;
    int64_t *ids;
    float *vecs;
} model;

static model model_random(int dim, size_t n) {
    model m = {dim, n, malloc(n * sizeof(int64_t)), malloc(n * (size_t)dim * sizeof(float))};
    assert_non_null(m.ids);
    assert_non_null(m.vecs);
    for (size_t i = 0; i < n; i++) {
        /* scattered, some negative, distinct while n <= 100000 */
        m.ids[i] = (int64_t)(rng_next() % 1000000) * 100000 + (int64_t)i - 50000000000LL;
        random_unit(m.vecs + i * (size_t)dim, dim);
    }
    return m;
}

static void model_free(model *m) {
    free(m->ids);
    free(m->vecs);
}

static double dot_exact(const float *a, const float *b, int dim) {
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return s;
}

static long model_find(const model *m, int64_t id) {
    for (size_t i = 0; i < m->n; i++)
        if (m->ids[i] == id)
            return (long)i;
    return -1;
}

static int in_list(const int64_t *list, size_t n, int64_t id) {
    for (size_t i = 0; i < n; i++)
        if (list[i] == id)
            return 1;
    return 0;
}

typedef struct ref_hit {
    int64_t id;
    double score;
} ref_hit;

static int cmp_ref(const void *a, const void *b) {
    const ref_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Checks hits against the model: the right number, every one eligible and
 * distinct, each score the exact dot product, and rank i holding a score
 * equal to the exact i-th best (so only near-ties may be ordered differently). */
static void check_search(const sa_index *idx, const model *m, const float *q, size_t k, const int64_t *excl,
                         size_t n_excl) {
    ref_hit *ref = malloc((m->n + 1) * sizeof *ref);
    sa_hit *hits = malloc((k + 1) * sizeof *hits);
    assert_non_null(ref);
    assert_non_null(hits);
    size_t n_ref = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!in_list(excl, n_excl, m->ids[i]))
            ref[n_ref++] = (ref_hit){m->ids[i], dot_exact(q, m->vecs + i * (size_t)m->dim, m->dim)};
    qsort(ref, n_ref, sizeof *ref, cmp_ref);

    size_t found = 12345;
    assert_int_equal(sa_index_search(idx, q, k, excl, n_excl, hits, &found), SA_OK);
    assert_int_equal(found, k < n_ref ? k : n_ref);
    for (size_t i = 0; i < found; i++) {
        long at = model_find(m, hits[i].id);
        assert_true(at >= 0);
        assert_false(in_list(excl, n_excl, hits[i].id));
        for (size_t j = 0; j < i; j++)
            assert_true(hits[j].id != hits[i].id);
        double exact = dot_exact(q, m->vecs + (size_t)at * (size_t)m->dim, m->dim);
        if (fabs(hits[i].score - exact) > TOL || fabs(exact - ref[i].score) > TOL)
            fail_msg("hit %zu: id %lld scores %.9f, exactly %.9f; rank %zu should score %.9f (id %lld)", i,
                     (long long)hits[i].id, (double)hits[i].score, exact, i, ref[i].score, (long long)ref[i].id);
        if (i > 0)
            assert_true(hits[i].score <= hits[i - 1].score);
    }
    free(ref);
    free(hits);
}

static sa_index *index_of(const model *m) {
    sa_index *idx;
    assert_int_equal(sa_index_new_flat(m->dim, &idx), SA_OK);
    assert_int_equal(sa_index_add(idx, m->ids, m->vecs, m->n), SA_OK);
    assert_int_equal(sa_index_count(idx), m->n);
    return idx;
}

/* ---- the scan paths ---- */

static const sa_scan_path all_paths[] = {SA_SCAN_PORTABLE, SA_SCAN_AVX2, SA_SCAN_AVX512};

/* Puts path p in force when this CPU has it. Whether it has it is asked of
 * the CPU here, not of the index, so a path refused by mistake fails the
 * test instead of skipping its checks. */
static bool force_path(sa_scan_path p) {
    __builtin_cpu_init();
    bool has = p == SA_SCAN_PORTABLE ||
               (p == SA_SCAN_AVX2 ? __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                                        __builtin_cpu_supports("f16c")
                                  : __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"));
    assert_int_equal(sa_scan_force(p), has ? SA_OK : SA_ERR_UNSUPPORTED);
    return has;
}

/* main() sets SA_INDEX_SIMD=portable before anything runs: the first use must honour it. */
static void test_env_selects_path(void **state) {
    (void)state;
    assert_int_equal(sa_scan_current(), SA_SCAN_PORTABLE);
    assert_string_equal(sa_scan_path_name(sa_scan_current()), "portable");
}

static void test_matches_reference(void **state) {
    (void)state;
    static const int dims[] = {17, 67, 200, 250};
    static const size_t ks[] = {1, 10, 100};
    rng_state = 1;
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
        model m = model_random(dims[d], 1003); /* not a multiple of the kernel step */
        sa_index *idx = index_of(&m);
        float *q = malloc((size_t)m.dim * sizeof *q);
        assert_non_null(q);
        for (size_t p = 0; p < 3; p++) {
            if (!force_path(all_paths[p]))
                continue;
            for (int t = 0; t < 5; t++) {
                random_unit(q, m.dim);
                for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
                    check_search(idx, &m, q, ks[ki], NULL, 0);
            }
            /* a stored vector finds itself first, with cosine 1 */
            sa_hit hit;
            size_t found;
            assert_int_equal(sa_index_search(idx, m.vecs + 7 * (size_t)m.dim, 1, NULL, 0, &hit, &found), SA_OK);
            assert_int_equal(found, 1);
            assert_true(hit.id == m.ids[7]);
            assert_float_equal(hit.score, 1.0f, 1e-5f);
        }
        free(q);
        sa_index_free(idx);
        model_free(&m);
    }
}

/* Every path returns the same ranking as the portable one, to float rounding.
 * It leaves the last path this CPU has in force, so the tests after it run
 * on the path a real run would choose. */
static void test_paths_agree(void **state) {
    (void)state;
    rng_state = 2;
    model m = model_random(67, 5000);
    sa_index *idx = index_of(&m);
    float q[67];
    enum { K = 50 };
    for (int t = 0; t < 10; t++) {
        random_unit(q, m.dim);
        sa_hit base[K], other[K];
        size_t n_base, n_other;
        assert_int_equal(sa_scan_force(SA_SCAN_PORTABLE), SA_OK);
        assert_int_equal(sa_index_search(idx, q, K, NULL, 0, base, &n_base), SA_OK);
        assert_int_equal(n_base, K);
        for (size_t p = 1; p < 3; p++) {
            if (!force_path(all_paths[p])) {
                print_message("scan path %s not supported here\n", sa_scan_path_name(all_paths[p]));
                continue;
            }
            assert_int_equal(sa_index_search(idx, q, K, NULL, 0, other, &n_other), SA_OK);
            assert_int_equal(n_other, n_base);
            for (size_t i = 0; i < K; i++) {
                assert_float_equal(other[i].score, base[i].score, 1e-6f);
                if (other[i].id == base[i].id)
                    continue;
                /* only near-ties may swap, or trade places at the cut-off */
                size_t j = 0;
                while (j < K && base[j].id != other[i].id)
                    j++;
                float twin = j < K ? base[j].score : base[K - 1].score;
                assert_float_equal(other[i].score, twin, 1e-6f);
            }
        }
    }
    sa_index_free(idx);
    model_free(&m);
}

/* ---- the half-precision first pass ---- */

/* The value of a finite binary16 bit pattern, computed independently. */
static float half_value(uint16_t h) {
    int e = h >> 10 & 31, m = h & 1023;
    float v = e ? ldexpf((float)(1024 + m), e - 25) : ldexpf((float)m, -24);
    return h & 0x8000 ? -v : v;
}

/* Every finite half converts back to itself; values between two halves go
 * to the nearer, ties to the even one; the tiniest round to zero. */
static void test_half_conversion(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h >> 10 & 31) == 31)
            continue; /* infinities and NaNs are never stored */
        float v = half_value((uint16_t)h);
        if (sa_scan_to_half(v) != h)
            fail_msg("%g (half %04x) converts to %04x", (double)v, (unsigned)h, (unsigned)sa_scan_to_half(v));
        if ((h & 0x7fff) == 0x7bff)
            continue; /* the largest: nothing above it */
        float next = half_value((uint16_t)(h + 1)), mid = (v + next) / 2; /* exact in a float */
        if (h & 0x8000)
            continue; /* negatives mirror positives: their bits were checked above */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        assert_int_equal(sa_scan_to_half(mid), even);
        assert_int_equal(sa_scan_to_half(nextafterf(mid, 1e9f)), h + 1);
        assert_int_equal(sa_scan_to_half(nextafterf(mid, -1e9f)), h);
    }
    assert_int_equal(sa_scan_to_half(ldexpf(1, -25)), 0); /* a tie with zero: even */
    assert_int_equal(sa_scan_to_half(nextafterf(ldexpf(1, -25), 1)), 1);
    assert_int_equal(sa_scan_to_half(1e-30f), 0);
    assert_int_equal(sa_scan_to_half(-1e-30f), 0x8000);
    assert_int_equal(sa_scan_to_half(SA_SCAN_HALF_MAX), 0x7bff);
    assert_int_equal(sa_scan_to_half(1.0f), 0x3c00);
}

/* Each path's half kernel sums the widened halves as the float kernel would. */
static void test_half_kernels(void **state) {
    (void)state;
    rng_state = 30;
    enum { N = 64, DIM = 67 };
    size_t hstride = sa_scan_half_stride(DIM);
    float *q = calloc(hstride, sizeof *q), *wide = calloc(N * hstride, sizeof *wide);
    uint16_t *half = aligned_alloc(64, N * hstride * sizeof *half);
    assert_non_null(q);
    assert_non_null(wide);
    assert_non_null(half);
    memset(half, 0, N * hstride * sizeof *half);
    random_unit(q, DIM);
    for (size_t i = 0; i < N; i++) {
        float v[DIM];
        random_unit(v, DIM);
        v[i % DIM] *= (float)(i % 3 == 0 ? 1e-6 : 1); /* some subnormal halves */
        for (int j = 0; j < DIM; j++) {
            half[i * hstride + (size_t)j] = sa_scan_to_half(v[j]);
            wide[i * hstride + (size_t)j] = half_value(half[i * hstride + (size_t)j]);
        }
    }
    float scores[N];
    for (size_t p = 0; p < 3; p++) {
        if (!force_path(all_paths[p]))
            continue;
        sa_scan_dot_half(q, half, N, hstride, scores);
        for (size_t i = 0; i < N; i++)
            assert_float_equal(scores[i], dot_exact(q, wide + i * hstride, DIM), 1e-6);
    }
    free(q);
    free(wide);
    free(half);
}

/* A library large enough for the half-precision first pass, full of near
 * ties (copies nudged by less than a half can tell): single searches on
 * every path give exactly what the single-precision batch scan gives. */
static void test_half_pass_is_exact(void **state) {
    (void)state;
    rng_state = 31;
    model m = model_random(67, 20000);
    /* rows 2000..4999: a tight bunch, whose scores differ by about what half
     * precision gets wrong, so that its first pass does misorder them */
    float centre[67];
    random_unit(centre, 67);
    for (size_t i = 2000; i < 5000; i++) {
        float *v = m.vecs + i * 67;
        double norm = 0;
        for (int j = 0; j < 67; j++) {
            v[j] = centre[j] + 1e-4f * rng_float();
            norm += (double)v[j] * v[j];
        }
        for (int j = 0; j < 67; j++) /* unit length: a cosine, not clamped */
            v[j] = (float)(v[j] / sqrt(norm));
    }
    for (size_t i = 10000; i < m.n; i++) { /* the second half: the first, nudged or copied */
        memcpy(m.vecs + i * 67, m.vecs + (i - 10000) * 67, 67 * sizeof(float));
        if (i % 2)
            m.vecs[i * 67 + i % 67] += 1e-6f;
    }
    sa_index *idx = index_of(&m);
    sa_index_info in;
    assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
    assert_true(!sa_scan_half_pays() || strstr(in.detail, "half precision"));
    enum { NQ_HALF = 12, KH = 30 };
    float *queries = malloc(NQ_HALF * 67 * sizeof *queries);
    assert_non_null(queries);
    for (int q = 0; q < NQ_HALF; q++) { /* stored vectors, random ones, and ones near the bunch */
        float *v = queries + q * 67;
        if (q % 3 == 1) {
            memcpy(v, m.vecs + (size_t)(q * 997 % 20000) * 67, 67 * sizeof(float));
        } else {
            random_unit(v, 67);
            double norm = 0;
            for (int j = 0; q % 3 == 2 && j < 67; j++) {
                v[j] = centre[j] + 0.05f * v[j];
                norm += (double)v[j] * v[j];
            }
            for (int j = 0; q % 3 == 2 && j < 67; j++)
                v[j] = (float)(v[j] / sqrt(norm));
        }
    }
    sa_hit batch[NQ_HALF * KH], one[KH];
    size_t found[NQ_HALF], n;
    int64_t excl[] = {m.ids[997], m.ids[10997]};
    for (size_t p = 0; p < 3; p++) {
        if (!force_path(all_paths[p]))
            continue;
        assert_int_equal(sa_index_search_batch(idx, queries, NQ_HALF, KH, NULL, NULL, batch, found), SA_OK);
        for (int q = 0; q < NQ_HALF; q++) {
            assert_int_equal(sa_index_search(idx, queries + q * 67, KH, NULL, 0, one, &n), SA_OK);
            assert_int_equal(n, found[q]);
            for (size_t i = 0; i < n; i++) {
                assert_true(one[i].id == batch[q * KH + i].id);
                assert_true(one[i].score == batch[q * KH + i].score);
            }
            check_search(idx, &m, queries + q * 67, KH, excl, 2);
        }
    }
    /* a value beyond half precision's range: single precision from then on, still exact */
    float big[67] = {0};
    big[3] = 1e5f;
    int64_t big_id = 77;
    assert_int_equal(sa_index_add(idx, &big_id, big, 1), SA_OK);
    assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
    assert_null(strstr(in.detail, "half precision"));
    float up[67] = {0}; /* the big vector wins by far (its score of 1e5 is reported clamped to 1) */
    up[3] = 1.0f;
    assert_int_equal(sa_index_search(idx, up, 1, NULL, 0, one, &n), SA_OK);
    assert_int_equal(n, 1);
    if (one[0].id != big_id || one[0].score != 1.0f)
        fail_msg("top hit %lld scores %g", (long long)one[0].id, (double)one[0].score);
    check_search(idx, &m, queries, 5, &big_id, 1); /* the others, exact beside it */
    assert_int_equal(sa_index_remove(idx, big_id), SA_OK);
    check_search(idx, &m, queries, 5, NULL, 0);
    assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
    assert_null(strstr(in.detail, "half precision")); /* from then on */
    free(queries);
    sa_index_free(idx);
    model_free(&m);
}

/* ---- behaviour ---- */

static void test_exclusion(void **state) {
    (void)state;
    rng_state = 3;
    model m = model_random(67, 700);
    sa_index *idx = index_of(&m);
    float q[67];
    random_unit(q, 67);
    /* the query's own id, its best neighbours, an absent id, a duplicate */
    sa_hit top[4];
    size_t found;
    assert_int_equal(sa_index_search(idx, q, 4, NULL, 0, top, &found), SA_OK);
    int64_t excl[] = {top[2].id, top[0].id, 999999999999LL, top[3].id, top[0].id};
    check_search(idx, &m, q, 10, excl, 5);
    check_search(idx, &m, q, 700, excl, 5); /* all but the excluded */
    /* excluding everything leaves nothing */
    sa_hit one;
    assert_int_equal(sa_index_search(idx, q, 1, m.ids, m.n, &one, &found), SA_OK);
    assert_int_equal(found, 0);
    sa_index_free(idx);
    model_free(&m);
}

static void test_replace_on_add(void **state) {
    (void)state;
    rng_state = 4;
    model m = model_random(17, 300);
    sa_index *idx = index_of(&m);
    /* re-adding ids replaces their vectors; the count stays */
    for (size_t i = 0; i < 150; i += 3)
        random_unit(m.vecs + i * 17, 17);
    assert_int_equal(sa_index_add(idx, m.ids, m.vecs, 150), SA_OK);
    assert_int_equal(sa_index_count(idx), 300);
    float v[17];
    for (size_t i = 0; i < 300; i++) {
        assert_int_equal(sa_index_get(idx, m.ids[i], v), SA_OK);
        assert_memory_equal(v, m.vecs + i * 17, sizeof v);
    }
    /* one batch naming an id twice keeps the later vector */
    float pair[34];
    random_unit(pair, 17);
    random_unit(pair + 17, 17);
    int64_t twice[2] = {m.ids[5], m.ids[5]};
    assert_int_equal(sa_index_add(idx, twice, pair, 2), SA_OK);
    assert_int_equal(sa_index_count(idx), 300);
    memcpy(m.vecs + 5 * 17, pair + 17, sizeof v);
    for (int t = 0; t < 5; t++) {
        float q[17];
        random_unit(q, 17);
        check_search(idx, &m, q, 20, NULL, 0);
    }
    sa_index_free(idx);
    model_free(&m);
}

/* Removes the model's live entry at from the index, keeping the model's
 * live entries first (it swaps places with the last live one); returns the
 * new number of live entries. Vectors are 67-d. */
static size_t model_remove_at(sa_index *idx, model *m, size_t live, size_t at) {
    float v[67];
    int64_t gone = m->ids[at];
    assert_int_equal(sa_index_remove(idx, gone), SA_OK);
    assert_int_equal(sa_index_remove(idx, gone), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_index_get(idx, gone, v), SA_ERR_NOT_FOUND);
    live--;
    m->ids[at] = m->ids[live];
    m->ids[live] = gone;
    memcpy(v, m->vecs + at * 67, sizeof v);
    memmove(m->vecs + at * 67, m->vecs + live * 67, sizeof v);
    memcpy(m->vecs + live * 67, v, sizeof v);
    return live;
}

/* Every live entry of the model is stored as it is, and a random query finds
 * the model's k best. */
static void check_model(sa_index *idx, const model *m, size_t live, size_t k) {
    float v[67], q[67];
    model now = {67, live, m->ids, m->vecs};
    for (size_t i = 0; i < live; i++) {
        assert_int_equal(sa_index_get(idx, m->ids[i], v), SA_OK);
        assert_memory_equal(v, m->vecs + i * 67, sizeof v);
    }
    random_unit(q, 67);
    check_search(idx, &now, q, k, NULL, 0);
}

/* A random run of adds and removes, checked against the model after each step:
 * exercises removal by swap with the last row and the id map's deletions. */
static void test_remove(void **state) {
    (void)state;
    rng_state = 5;
    model m = model_random(67, 2000);
    sa_index *idx;
    assert_int_equal(sa_index_new_flat(67, &idx), SA_OK);
    size_t live = 0; /* the model's first live entries are in the index */
    float q[67];
    for (int step = 0; step < 6000; step++) {
        if (live < m.n && (live == 0 || rng_next() % 3 != 0)) {
            assert_int_equal(sa_index_add(idx, &m.ids[live], m.vecs + live * 67, 1), SA_OK);
            live++;
        } else {
            live = model_remove_at(idx, &m, live, (size_t)(rng_next() % live));
        }
        assert_int_equal(sa_index_count(idx), live);
        if (step % 500 == 0)
            check_model(idx, &m, live, 10);
    }
    /* empty it, search it, fill it again */
    while (live > 0)
        assert_int_equal(sa_index_remove(idx, m.ids[--live]), SA_OK);
    sa_hit hit;
    size_t found = 99;
    random_unit(q, 67);
    assert_int_equal(sa_index_search(idx, q, 1, NULL, 0, &hit, &found), SA_OK);
    assert_int_equal(found, 0);
    assert_int_equal(sa_index_add(idx, m.ids, m.vecs, 10), SA_OK);
    model ten = {67, 10, m.ids, m.vecs};
    check_search(idx, &ten, q, 5, NULL, 0);
    sa_index_free(idx);
    model_free(&m);
}

static void test_empty_and_small(void **state) {
    (void)state;
    rng_state = 6;
    sa_index *idx;
    assert_int_equal(sa_index_new_flat(250, &idx), SA_OK);
    assert_int_equal(sa_index_dim(idx), 250);
    assert_string_equal(sa_index_type(idx), "flat");
    float q[250];
    random_unit(q, 250);
    sa_hit hits[20];
    size_t found = 99;
    assert_int_equal(sa_index_search(idx, q, 20, NULL, 0, hits, &found), SA_OK);
    assert_int_equal(found, 0);
    assert_int_equal(sa_index_search(idx, q, 0, NULL, 0, NULL, &found), SA_OK);
    assert_int_equal(found, 0);
    sa_index_free(idx);
    /* k larger than the count: all of them, best first */
    model m = model_random(250, 3);
    idx = index_of(&m);
    check_search(idx, &m, q, 20, NULL, 0);
    assert_int_equal(sa_index_add(idx, NULL, NULL, 0), SA_OK);
    sa_index_free(idx);
    model_free(&m);
    sa_index_free(NULL);
}

static void test_invalid_arguments(void **state) {
    (void)state;
    sa_index *idx = (sa_index *)1;
    assert_int_equal(sa_index_new_flat(0, &idx), SA_ERR_INVALID);
    assert_null(idx);
    assert_int_equal(sa_index_new_flat(SA_IXFILE_DIM_MAX + 1, &idx), SA_ERR_INVALID);
    assert_int_equal(sa_index_new_flat(4, &idx), SA_OK);
    float v[4] = {1, 0, 0, NAN};
    int64_t id = 1;
    assert_int_equal(sa_index_add(idx, &id, v, 1), SA_ERR_INVALID);
    assert_int_equal(sa_index_count(idx), 0);
    v[3] = 0;
    assert_int_equal(sa_index_add(idx, NULL, v, 1), SA_ERR_INVALID);
    id = -1;
    assert_int_equal(sa_index_add(idx, &id, v, 1), SA_ERR_INVALID);
    assert_int_equal(sa_index_count(idx), 0);
    sa_hit hit;
    size_t found;
    assert_int_equal(sa_index_search(idx, NULL, 1, NULL, 0, &hit, &found), SA_ERR_INVALID);
    assert_int_equal(sa_index_search(idx, v, 1, NULL, 0, NULL, &found), SA_ERR_INVALID);
    assert_int_equal(sa_index_search(idx, v, 1, NULL, 2, &hit, &found), SA_ERR_INVALID);
    v[0] = INFINITY;
    assert_int_equal(sa_index_search(idx, v, 1, NULL, 0, &hit, &found), SA_ERR_INVALID);
    assert_int_equal(sa_index_remove(idx, 42), SA_ERR_NOT_FOUND);
    sa_index_free(idx);
}

/* ---- files ---- */

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_save_load(void **state) {
    (void)state;
    rng_state = 7;
    char dir[256], path[512], sum[72], sum2[72];
    assert_non_null(tu_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/music.idx", dir);
    model m = model_random(67, 1500);
    sa_index *idx = index_of(&m);
    assert_int_equal(sa_index_remove(idx, m.ids[0]), SA_OK); /* saved after a removal */
    assert_int_equal(sa_index_save(idx, path, sum), SA_OK);
    assert_int_equal(strlen(sum), 16);
    assert_int_equal(strspn(sum, "0123456789abcdef"), 16);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */

    sa_index *back;
    assert_int_equal(sa_index_load(path, &back, sum2), SA_OK);
    assert_string_equal(sum, sum2);
    assert_int_equal(sa_index_count(back), 1499);
    assert_int_equal(sa_index_dim(back), 67);
    assert_string_equal(sa_index_type(back), "flat");
    float v[67];
    assert_int_equal(sa_index_get(back, m.ids[0], v), SA_ERR_NOT_FOUND);
    for (size_t i = 1; i < m.n; i++) {
        assert_int_equal(sa_index_get(back, m.ids[i], v), SA_OK);
        assert_memory_equal(v, m.vecs + i * 67, sizeof v);
    }
    model rest = {67, m.n - 1, m.ids + 1, m.vecs + 67};
    float q[67];
    random_unit(q, 67);
    check_search(back, &rest, q, 25, NULL, 0);

    /* saving again replaces the file; a different index gives a different checksum */
    assert_int_equal(sa_index_remove(back, m.ids[1]), SA_OK);
    assert_int_equal(sa_index_save(back, path, sum2), SA_OK);
    assert_string_not_equal(sum, sum2);
    assert_int_equal(count_entries(dir), 1);
    sa_index_free(back);
    assert_int_equal(sa_index_load(path, &back, NULL), SA_OK);
    assert_int_equal(sa_index_count(back), 1498);
    sa_index_free(back);

    /* an empty index round-trips too */
    sa_index *empty;
    assert_int_equal(sa_index_new_flat(17, &empty), SA_OK);
    assert_int_equal(sa_index_save(empty, path, NULL), SA_OK);
    sa_index_free(empty);
    assert_int_equal(sa_index_load(path, &empty, NULL), SA_OK);
    assert_int_equal(sa_index_count(empty), 0);
    assert_int_equal(sa_index_dim(empty), 17);
    sa_index_free(empty);

    /* a folder that does not exist */
    snprintf(path, sizeof path, "%s/no/such/folder/music.idx", dir);
    assert_int_equal(sa_index_save(idx, path, NULL), SA_ERR_IO);
    sa_index_free(idx);
    model_free(&m);
    tu_rmtree(dir);
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *buf = malloc(*n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *n, f), *n);
    fclose(f);
    return buf;
}

/* Writes bytes to path with a freshly computed, valid checksum: a file that
 * passes the hash check but whose fields lie. */
static void write_signed(const char *path, unsigned char *bytes, size_t n) {
    sa_hash64 h;
    sa_hash64_init(&h);
    sa_hash64_update(&h, bytes, n - SA_IXFILE_TRAILER);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sa_hash64_final(&h));
    memcpy(bytes + n - SA_IXFILE_TRAILER, hex, SA_IXFILE_TRAILER);
    assert_int_equal(tu_write_file(path, bytes, n), 0);
}

static void expect_format(const char *path, const char *detail) {
    sa_index *idx = (sa_index *)1;
    assert_int_equal(sa_index_load(path, &idx, NULL), SA_ERR_FORMAT);
    assert_null(idx);
    if (!strstr(sa_error_detail(), detail))
        fail_msg("detail \"%s\" lacks \"%s\"", sa_error_detail(), detail);
}

static void test_load_rejects_bad_files(void **state) {
    (void)state;
    rng_state = 8;
    char dir[256], good[512], bad[512];
    assert_non_null(tu_tempdir(dir, sizeof dir));
    snprintf(good, sizeof good, "%s/good.idx", dir);
    snprintf(bad, sizeof bad, "%s/bad.idx", dir);
    model m = model_random(17, 100);
    sa_index *idx = index_of(&m);
    assert_int_equal(sa_index_save(idx, good, NULL), SA_OK);
    sa_index_free(idx);
    size_t n;
    unsigned char *bytes = read_all(good, &n);
    assert_int_equal(n, 32 + 4 + 100 * (8 + 17 * 4) + 16);

    /* truncated anywhere */
    static const size_t cuts[] = {0, 7, 40, 47, 48, 100, 1000};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        assert_int_equal(tu_copy_file(good, bad, 0), 0);
        assert_int_equal(truncate(bad, (off_t)cuts[i]), 0);
        sa_index *out = (sa_index *)1;
        assert_int_equal(sa_index_load(bad, &out, NULL), SA_ERR_FORMAT);
        assert_null(out);
    }
    assert_int_equal(tu_copy_file(good, bad, n - 1), 0);
    expect_format(bad, "checksum");
    /* one flipped bit in the body, in the trailer */
    unsigned char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, bytes, n);
    copy[n / 2] ^= 0x10;
    assert_int_equal(tu_write_file(bad, copy, n), 0);
    expect_format(bad, "checksum mismatch");
    memcpy(copy, bytes, n);
    copy[n - 1] = copy[n - 1] == '0' ? '1' : '0';
    assert_int_equal(tu_write_file(bad, copy, n), 0);
    expect_format(bad, "checksum mismatch");
    /* not an index at all */
    memcpy(copy, bytes, n);
    memcpy(copy, "SQLite f", 8);
    assert_int_equal(tu_write_file(bad, copy, n), 0);
    expect_format(bad, "magic");

    /* valid checksums over lying fields */
    struct {
        size_t at;
        uint64_t value;
        int width;
        const char *detail;
    } lies[] = {
        {8, 2, 4, "version"},
        {12, 9, 4, "kind"},
        {16, 0, 4, "dimension"},
        {16, 16, 4, "do not fit"},
        {20, 0, 4, "type name length"},
        {20, 64, 4, "type name length"},
        {24, 101, 8, "do not fit"},
        {24, 1ULL << 60, 8, "do not fit"}, /* would be an absurd allocation */
        {24, 99, 8, "do not fit"},
        {32, 'F', 1, "flat index file of type"},
        {32, 1, 1, "printable"},
        {36, (uint64_t)m.ids[1], 8, "appears twice"},
        {36 + 8 * 5, UINT64_MAX, 8, "id -1 is reserved"}, /* -1 means "no result" */
        {36 + 800, 0x7fc00000, 4, "not finite"}, /* a NaN in the vectors */
    };
    for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
        memcpy(copy, bytes, n);
        memcpy(copy + lies[i].at, &lies[i].value, (size_t)lies[i].width);
        write_signed(bad, copy, n);
        expect_format(bad, lies[i].detail);
    }
    /* trailing bytes after the vectors */
    unsigned char *longer = malloc(n + 4);
    assert_non_null(longer);
    memcpy(longer, bytes, n - SA_IXFILE_TRAILER);
    memset(longer + n - SA_IXFILE_TRAILER, 0, 4);
    write_signed(bad, longer, n + 4);
    expect_format(bad, "do not fit");
    free(longer);

    sa_index *out;
    snprintf(bad, sizeof bad, "%s/missing.idx", dir);
    assert_int_equal(sa_index_load(bad, &out, NULL), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_index_load(dir, &out, NULL), SA_ERR_FORMAT); /* a folder */
    free(copy);
    free(bytes);
    model_free(&m);
    tu_rmtree(dir);
}

/* The hash does not depend on how the bytes are split across updates. */
static void test_hash_streaming(void **state) {
    (void)state;
    unsigned char data[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(rng_next() & 0xff);
    sa_hash64 whole, parts;
    sa_hash64_init(&whole);
    sa_hash64_update(&whole, data, sizeof data);
    for (size_t step = 1; step < 70; step += 3) {
        sa_hash64_init(&parts);
        for (size_t at = 0; at < sizeof data; at += step)
            sa_hash64_update(&parts, data + at, sizeof data - at < step ? sizeof data - at : step);
        assert_true(sa_hash64_final(&parts) == sa_hash64_final(&whole));
    }
    /* every length hashes differently from its neighbour, even when the extra bytes are zero */
    unsigned char zeros[64] = {0};
    uint64_t prev = 0;
    for (size_t len = 0; len <= sizeof zeros; len++) {
        sa_hash64_init(&parts);
        sa_hash64_update(&parts, zeros, len);
        uint64_t h = sa_hash64_final(&parts);
        assert_true(len == 0 || h != prev);
        prev = h;
    }
}

/* ---- FAISS types ---- */

static double rng_gauss(void) {
    double u = ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
    double v = (double)(rng_next() >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

/* n unit vectors around n_clusters random centres, like tracks that group
 * by style; the noise (1.5 times a centre's length) makes clusters overlap,
 * so that approximate indexes do miss some neighbours. */
static model model_clustered(int dim, size_t n, size_t n_clusters) {
    model m = model_random(dim, n);
    float *centres = malloc(n_clusters * (size_t)dim * sizeof *centres);
    assert_non_null(centres);
    for (size_t c = 0; c < n_clusters; c++)
        random_unit(centres + c * (size_t)dim, dim);
    for (size_t i = 0; i < n; i++) {
        const float *c = centres + (rng_next() % n_clusters) * (size_t)dim;
        float *v = m.vecs + i * (size_t)dim;
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            v[j] = c[j] + (float)(1.5 * rng_gauss() / sqrt(dim));
            norm += (double)v[j] * v[j];
        }
        for (int j = 0; j < dim; j++)
            v[j] = (float)(v[j] / sqrt(norm));
    }
    free(centres);
    return m;
}

enum { NQ = 100, RK = 10 };

/* recall@10 of idx against the exact index, over NQ queries */
static double recall_at_10(const sa_index *idx, const sa_index *exact, const float *queries,
                           const sa_search_params *params) {
    int dim = sa_index_dim(exact), hits = 0;
    for (int q = 0; q < NQ; q++) {
        sa_hit want[RK], got[RK];
        size_t n_want, n_got;
        assert_int_equal(sa_index_search(exact, queries + q * dim, RK, NULL, 0, want, &n_want), SA_OK);
        assert_int_equal(sa_index_search_with(idx, queries + q * dim, RK, NULL, 0, params, got, &n_got), SA_OK);
        assert_true(n_got <= RK); /* an IVF probing few lists may find fewer */
        for (size_t i = 0; i < n_got; i++) {
            assert_true(got[i].score >= -1.0f && got[i].score <= 1.0f);
            for (size_t j = 0; j < n_want; j++)
                hits += got[i].id == want[j].id;
        }
    }
    return (double)hits / (NQ * RK);
}

typedef struct faiss_case {
    const char *type;
    double min_recall;
} faiss_case;

/* The shared data for the FAISS tests: built once, it is the slow part. */
typedef struct faiss_fixture {
    model m;
    sa_index *exact;
    float *queries;
} faiss_fixture;

static int faiss_setup(void **state) {
    faiss_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    rng_state = 11;
    /* the queries come from the same clusters as the library */
    model all = model_clustered(67, 10000 + NQ, 100);
    fx->queries = malloc(NQ * 67 * sizeof(float));
    assert_non_null(fx->queries);
    memcpy(fx->queries, all.vecs + 10000 * 67, NQ * 67 * sizeof(float));
    all.n = 10000;
    fx->m = all;
    fx->exact = index_of(&fx->m);
    *state = fx;
    return 0;
}

static int faiss_teardown(void **state) {
    faiss_fixture *fx = *state;
    sa_index_free(fx->exact);
    model_free(&fx->m);
    free(fx->queries);
    free(fx);
    return 0;
}

/* Each type: built from the library, recall against the exact scan, and a
 * save/load round trip that answers exactly as before. */
static void test_faiss_types(void **state) {
    faiss_fixture *fx = *state;
    /* ivfpq: 17 sub-quantisers of 4 dimensions after padding 67 to 68 */
    static const faiss_case cases[] = {
        {"ivf", 0.95},   {"faiss-ivf", 0.95},  {"hnsw", 0.95}, {"ivfsq", 0.93},
        {"ivfpq", 0.60}, {"Flat", 0.999}, {"IVF64,Flat", 0.85},
    };
    char dir[256], path[512], sum[72], sum2[72];
    assert_non_null(tu_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/faiss.idx", dir);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sa_index *idx;
        assert_int_equal(sa_index_new(cases[c].type, 67, 0, &idx), SA_OK);
        assert_string_equal(sa_index_type(idx), cases[c].type);
        assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, fx->m.n), SA_OK);
        assert_true(sa_index_is_trained(idx));
        assert_int_equal(sa_index_count(idx), fx->m.n);
        double r = recall_at_10(idx, fx->exact, fx->queries, NULL);
        print_message("%-10s recall@10 %.3f\n", cases[c].type, r);
        assert_true(r >= cases[c].min_recall);

        assert_int_equal(sa_index_save(idx, path, sum), SA_OK);
        sa_index *back;
        assert_int_equal(sa_index_load(path, &back, sum2), SA_OK);
        assert_string_equal(sum, sum2);
        assert_string_equal(sa_index_type(back), cases[c].type);
        assert_int_equal(sa_index_count(back), fx->m.n);
        assert_int_equal(sa_index_dim(back), 67);
        for (int q = 0; q < 5; q++) {
            sa_hit a[RK], b[RK];
            size_t na, nb;
            assert_int_equal(sa_index_search(idx, fx->queries + q * 67, RK, NULL, 0, a, &na), SA_OK);
            assert_int_equal(sa_index_search(back, fx->queries + q * 67, RK, NULL, 0, b, &nb), SA_OK);
            assert_int_equal(na, nb);
            for (size_t i = 0; i < na; i++) {
                assert_true(a[i].id == b[i].id);
                assert_float_equal(a[i].score, b[i].score, 1e-6f);
            }
        }
        /* the stored vector comes back (quantised types: approximately) */
        float v[67];
        assert_int_equal(sa_index_get(back, fx->m.ids[42], v), SA_OK);
        assert_true(dot_exact(v, fx->m.vecs + 42 * 67, 67) > 0.9);
        sa_index_free(back);
        sa_index_free(idx);
    }
    tu_rmtree(dir);
}

/* nprobe per query: all lists make IVF-Flat exact; one list loses some. */
static void test_faiss_nprobe_per_query(void **state) {
    faiss_fixture *fx = *state;
    static const char *types[] = {"ivf", "faiss-ivf"};
    for (size_t t = 0; t < 2; t++) {
        sa_index *idx;
        assert_int_equal(sa_index_new(types[t], 67, fx->m.n, &idx), SA_OK);
        assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, fx->m.n), SA_OK);
        sa_search_params all = {.nprobe = 1 << 20}, one = {.nprobe = 1};
        double r_all = recall_at_10(idx, fx->exact, fx->queries, &all);
        double r_one = recall_at_10(idx, fx->exact, fx->queries, &one);
        print_message("%s nprobe=all recall@10 %.3f, nprobe=1 %.3f\n", types[t], r_all, r_one);
        assert_true(r_all >= 0.999);
        assert_true(r_one < r_all);
        /* the index's own setting, changed */
        assert_int_equal(sa_index_set_param(idx, "nprobe", 1), SA_OK);
        assert_true(recall_at_10(idx, fx->exact, fx->queries, NULL) == r_one);
        sa_index_free(idx);
    }
}

/* Exclusion, replace and removal behave as on the flat index, for our IVF
 * and each way FAISS holds ids: IVF natively, IndexIDMap2 around "Flat",
 * labels for HNSW. */
static void test_faiss_updates(void **state) {
    faiss_fixture *fx = *state;
    static const char *types[] = {"ivf", "faiss-ivf", "Flat", "hnsw"};
    const size_t n = 3000;
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        sa_index *idx;
        assert_int_equal(sa_index_new(types[t], 67, n, &idx), SA_OK);
        assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, n), SA_OK);
        sa_search_params exhaustive = {.nprobe = 1 << 20, .ef_search = 512};
        const float *q0 = fx->m.vecs; /* the vector of ids[0] */
        sa_hit hits[20];
        size_t found;
        /* a stored vector finds itself; excluded, it does not */
        assert_int_equal(sa_index_search_with(idx, q0, 5, NULL, 0, &exhaustive, hits, &found), SA_OK);
        assert_int_equal(found, 5);
        assert_true(hits[0].id == fx->m.ids[0]);
        assert_float_equal(hits[0].score, 1.0f, 1e-4f);
        int64_t excl[] = {hits[1].id, fx->m.ids[0]};
        int64_t kept = hits[2].id;
        assert_int_equal(sa_index_search_with(idx, q0, 5, excl, 2, &exhaustive, hits, &found), SA_OK);
        assert_int_equal(found, 5);
        assert_true(hits[0].id == kept);
        for (size_t i = 0; i < found; i++)
            assert_false(in_list(excl, 2, hits[i].id));
        /* removal */
        assert_int_equal(sa_index_remove(idx, fx->m.ids[0]), SA_OK);
        assert_int_equal(sa_index_remove(idx, fx->m.ids[0]), SA_ERR_NOT_FOUND);
        assert_int_equal(sa_index_count(idx), n - 1);
        float v[67];
        assert_int_equal(sa_index_get(idx, fx->m.ids[0], v), SA_ERR_NOT_FOUND);
        assert_int_equal(sa_index_search_with(idx, q0, 20, NULL, 0, &exhaustive, hits, &found), SA_OK);
        assert_int_equal(found, 20);
        for (size_t i = 0; i < found; i++)
            assert_true(hits[i].id != fx->m.ids[0]);
        /* re-added under the same id with another track's vector; replaced again */
        const float *q1 = fx->m.vecs + 1 * 67;
        assert_int_equal(sa_index_add(idx, &fx->m.ids[0], q1, 1), SA_OK);
        assert_int_equal(sa_index_add(idx, &fx->m.ids[0], fx->m.vecs + 2 * 67, 1), SA_OK);
        assert_int_equal(sa_index_count(idx), n);
        assert_int_equal(sa_index_get(idx, fx->m.ids[0], v), SA_OK);
        assert_memory_equal(v, fx->m.vecs + 2 * 67, sizeof v);
        assert_int_equal(sa_index_search_with(idx, fx->m.vecs + 2 * 67, 2, NULL, 0, &exhaustive, hits, &found),
                         SA_OK);
        assert_int_equal(found, 2);
        assert_true((hits[0].id == fx->m.ids[0] && hits[1].id == fx->m.ids[2]) ||
                    (hits[0].id == fx->m.ids[2] && hits[1].id == fx->m.ids[0]));
        /* nothing found for the old vector under that id any more */
        assert_int_equal(sa_index_search_with(idx, q1, 1, NULL, 0, &exhaustive, hits, &found), SA_OK);
        assert_true(hits[0].id == fx->m.ids[1]);
        /* a batch naming an id twice keeps the last vector and one entry */
        int64_t twice[2] = {fx->m.ids[5], fx->m.ids[5]};
        float pair[2 * 67];
        memcpy(pair, fx->m.vecs + 6 * 67, sizeof v);
        memcpy(pair + 67, fx->m.vecs + 7 * 67, sizeof v);
        assert_int_equal(sa_index_add(idx, twice, pair, 2), SA_OK);
        assert_int_equal(sa_index_count(idx), n);
        assert_int_equal(sa_index_get(idx, fx->m.ids[5], v), SA_OK);
        assert_memory_equal(v, fx->m.vecs + 7 * 67, sizeof v);
        /* the whole state survives a save and load */
        char dir[256], path[512];
        assert_non_null(tu_tempdir(dir, sizeof dir));
        snprintf(path, sizeof path, "%s/u.idx", dir);
        assert_int_equal(sa_index_save(idx, path, NULL), SA_OK);
        sa_index *back;
        assert_int_equal(sa_index_load(path, &back, NULL), SA_OK);
        assert_int_equal(sa_index_count(back), n);
        assert_int_equal(sa_index_get(back, fx->m.ids[0], v), SA_OK);
        assert_memory_equal(v, fx->m.vecs + 2 * 67, sizeof v);
        assert_int_equal(sa_index_search_with(back, q1, 1, NULL, 0, &exhaustive, hits, &found), SA_OK);
        assert_true(hits[0].id == fx->m.ids[1]);
        sa_index_free(back);
        tu_rmtree(dir);
        sa_index_free(idx);
    }
}

static void test_faiss_errors(void **state) {
    (void)state;
    sa_index *idx = (sa_index *)1;
    assert_int_equal(sa_index_new("IVF16,Bogus!!", 67, 0, &idx), SA_ERR_INVALID);
    assert_null(idx);
    if (!strstr(sa_error_detail(), "could not parse") || !strstr(sa_error_detail(), "Bogus!!"))
        fail_msg("detail: %s", sa_error_detail());
    assert_int_equal(sa_index_new("IVF16,PQ8", 67, 0, &idx), SA_ERR_INVALID); /* 8 does not divide 67 */
    assert_non_null(strstr(sa_error_detail(), "multiple of"));
    assert_int_equal(sa_index_new("hnsw", 0, 0, &idx), SA_ERR_INVALID);

    /* an IVF index must be built (trained) before a plain add */
    assert_int_equal(sa_index_new("ivf", 8, 0, &idx), SA_OK);
    assert_false(sa_index_is_trained(idx));
    float v[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    int64_t id = 1;
    assert_int_equal(sa_index_add(idx, &id, v, 1), SA_ERR_CONFLICT);
    assert_int_equal(sa_index_set_param(idx, "M", 16), SA_ERR_INVALID);
    assert_int_equal(sa_index_set_param(idx, "nlist", 0.5), SA_ERR_INVALID);
    assert_int_equal(sa_index_set_param(idx, "nlist", 1), SA_OK);
    assert_int_equal(sa_index_set_param(idx, "nprobe", -3), SA_ERR_INVALID);
    assert_int_equal(sa_index_set_param(idx, "noSuchThing", 1), SA_ERR_INVALID);
    assert_non_null(strstr(sa_error_detail(), "noSuchThing"));
    sa_index_free(idx);

    /* HNSW: M only while empty; searching with ef per query */
    assert_int_equal(sa_index_new("hnsw", 8, 0, &idx), SA_OK);
    assert_true(sa_index_is_trained(idx));
    assert_int_equal(sa_index_set_param(idx, "M", 8), SA_OK);
    assert_int_equal(sa_index_set_param(idx, "efSearch", 100), SA_OK);
    assert_int_equal(sa_index_set_param(idx, "nlist", 4), SA_ERR_INVALID);
    assert_int_equal(sa_index_add(idx, &id, v, 1), SA_OK);
    assert_int_equal(sa_index_set_param(idx, "M", 16), SA_ERR_CONFLICT);
    sa_hit hit;
    size_t found;
    sa_search_params p = {.ef_search = 5};
    assert_int_equal(sa_index_search_with(idx, v, 3, NULL, 0, &p, &hit, &found), SA_OK);
    assert_int_equal(found, 1);
    assert_true(hit.id == 1);
    sa_index_free(idx);

    /* the flat index has no parameters */
    assert_int_equal(sa_index_new("flat", 8, 0, &idx), SA_OK);
    assert_int_equal(sa_index_set_param(idx, "nprobe", 4), SA_ERR_INVALID);
    sa_index_free(idx);
}

/* A FAISS body that passes the checksum but that FAISS cannot parse. */
static void test_faiss_corrupt_body(void **state) {
    faiss_fixture *fx = *state;
    char dir[256], path[512];
    assert_non_null(tu_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/h.idx", dir);
    sa_index *idx;
    assert_int_equal(sa_index_new("hnsw", 67, 0, &idx), SA_OK);
    assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, 500), SA_OK);
    assert_int_equal(sa_index_save(idx, path, NULL), SA_OK);
    sa_index_free(idx);
    size_t n;
    unsigned char *bytes = read_all(path, &n);
    /* FAISS's data starts after our header, type name, body header and labels */
    size_t faiss_at = 32 + 4 + 16 + 500 * 9;
    unsigned char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, bytes, n);
    memcpy(copy + faiss_at, "XXXX", 4); /* FAISS's four-letter type code */
    write_signed(path, copy, n);
    expect_format(path, "faiss");
    memcpy(copy, bytes, n);
    copy[32 + 4] = 7; /* label mode */
    write_signed(path, copy, n);
    expect_format(path, "label mode");
    memcpy(copy, bytes, n);
    copy[32 + 4 + 16 + 500 * 8] = 2; /* a dropped-label flag */
    write_signed(path, copy, n);
    expect_format(path, "bad flag");
    memcpy(copy, bytes, n);
    memset(copy + 32 + 4 + 16 + 8 * 3, 0xff, 8); /* label 3 names id -1, which means "no result" */
    write_signed(path, copy, n);
    expect_format(path, "id -1 is reserved");
    /* cut inside FAISS's data, re-signed */
    memcpy(copy, bytes, n);
    memcpy(copy + faiss_at + 100, bytes + n - 16, 16);
    write_signed(path, copy, faiss_at + 116);
    expect_format(path, "truncated in the FAISS data");
    free(copy);
    free(bytes);
    tu_rmtree(dir);
}

/* ---- search by id, by threshold, in batches; statistics; threads ---- */

/* An IVF of m, visiting every list: exact, so the model checks it. */
static sa_index *ivf_of(const model *m, int nlist) {
    sa_index *idx;
    assert_int_equal(sa_index_new("ivf", m->dim, m->n, &idx), SA_OK);
    if (nlist)
        assert_int_equal(sa_index_set_param(idx, "nlist", nlist), SA_OK);
    assert_int_equal(sa_index_build(idx, m->ids, m->vecs, m->n), SA_OK);
    assert_int_equal(sa_index_set_param(idx, "nprobe", 1 << 20), SA_OK);
    return idx;
}

static void test_search_id(void **state) {
    (void)state;
    rng_state = 20;
    model m = model_random(67, 800);
    sa_index *kinds[2] = {index_of(&m), ivf_of(&m, 0)};
    for (int t = 0; t < 2; t++) {
        sa_hit a[10], b[10];
        size_t na, nb;
        int64_t other = m.ids[9];
        assert_int_equal(sa_index_search_id(kinds[t], m.ids[3], 10, &other, 1, NULL, a, &na), SA_OK);
        int64_t excl[2] = {m.ids[3], other};
        check_search(kinds[t], &m, m.vecs + 3 * 67, 10, excl, 2);
        assert_int_equal(sa_index_search(kinds[t], m.vecs + 3 * 67, 10, excl, 2, b, &nb), SA_OK);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_true(a[i].id == b[i].id);
            assert_true(a[i].score == b[i].score);
        }
        assert_int_equal(sa_index_search_id(kinds[t], 123, 10, NULL, 0, NULL, a, &na), SA_ERR_NOT_FOUND);
        assert_int_equal(sa_index_search_id(kinds[t], -1, 10, NULL, 0, NULL, a, &na), SA_ERR_NOT_FOUND);
        assert_int_equal(sa_index_search_id(kinds[t], m.ids[0], 10, NULL, 0, NULL, NULL, &na), SA_ERR_INVALID);
        sa_index_free(kinds[t]);
    }
    model_free(&m);
}

/* Every model vector scoring at least t, but those within TOL of t (where
 * float and double may disagree), must be among the hits; every hit must
 * score at least t; hits come best first, once each. */
static void check_range(const sa_index *idx, const model *m, const float *q, float t, const int64_t *excl,
                        size_t n_excl, int complete) {
    sa_hit *hits = (sa_hit *)1;
    size_t found = 99;
    assert_int_equal(sa_index_search_range(idx, q, t, excl, n_excl, NULL, &hits, &found), SA_OK);
    if (found == 0)
        assert_null(hits);
    for (size_t i = 0; i < found; i++) {
        assert_true(hits[i].score >= t);
        assert_false(in_list(excl, n_excl, hits[i].id));
        long at = model_find(m, hits[i].id);
        assert_true(at >= 0);
        assert_true(fabs(hits[i].score - dot_exact(q, m->vecs + (size_t)at * (size_t)m->dim, m->dim)) <= TOL);
        if (i > 0)
            assert_true(hits[i].score <= hits[i - 1].score);
        for (size_t j = 0; j < i; j++)
            assert_true(hits[j].id != hits[i].id);
    }
    for (size_t i = 0; complete && i < m->n; i++) {
        double s = dot_exact(q, m->vecs + i * (size_t)m->dim, m->dim);
        if (s < t + TOL || in_list(excl, n_excl, m->ids[i]))
            continue;
        int seen = 0;
        for (size_t j = 0; j < found && !seen; j++)
            seen = hits[j].id == m->ids[i];
        assert_true(seen);
    }
    free(hits);
}

static void test_search_range(void **state) {
    faiss_fixture *fx = *state;
    sa_index *ivf = ivf_of(&fx->m, 0), *hnsw;
    assert_int_equal(sa_index_new("hnsw", 67, 0, &hnsw), SA_OK);
    assert_int_equal(sa_index_build(hnsw, fx->m.ids, fx->m.vecs, fx->m.n), SA_OK);
    static const float thresholds[] = {0.9f, 0.6f, 0.3f, -2.0f, 2.0f};
    int64_t excl[] = {fx->m.ids[0], fx->m.ids[5]};
    for (int q = 0; q < 3; q++) {
        const float *v = fx->m.vecs + (size_t)q * 67; /* a stored vector: some neighbours are close */
        for (size_t t = 0; t < sizeof thresholds / sizeof *thresholds; t++) {
            check_range(fx->exact, &fx->m, v, thresholds[t], excl, 2, 1);
            check_range(ivf, &fx->m, v, thresholds[t], excl, 2, 1); /* visiting every list */
            check_range(hnsw, &fx->m, v, thresholds[t], excl, 2, 0);
        }
    }
    sa_hit *hits;
    size_t found;
    assert_int_equal(sa_index_search_range(fx->exact, fx->m.vecs, NAN, NULL, 0, NULL, &hits, &found), SA_ERR_INVALID);
    assert_int_equal(sa_index_search_range(fx->exact, NULL, 0.5f, NULL, 0, NULL, &hits, &found), SA_ERR_INVALID);
    sa_index_free(ivf);
    sa_index_free(hnsw);
}

/* A batch answers as the single searches do, on one thread or several. */
static void expect_batch_matches(const sa_index *idx, const float *queries, size_t nq, size_t k, int threads) {
    sa_hit *batch = malloc(nq * k * sizeof *batch), *one = malloc(k * sizeof *one);
    size_t *found = malloc(nq * sizeof *found);
    int64_t *skip = malloc(nq * sizeof *skip);
    assert_non_null(batch);
    assert_non_null(one);
    assert_non_null(found);
    assert_non_null(skip);
    sa_hit first;
    size_t n1;
    for (size_t q = 0; q < nq; q++) { /* every other query leaves out its best hit */
        assert_int_equal(sa_index_search(idx, queries + q * (size_t)sa_index_dim(idx), 1, NULL, 0, &first, &n1), SA_OK);
        skip[q] = q % 2 ? first.id : -1;
    }
    sa_index_set_threads(threads);
    assert_int_equal(sa_index_search_batch(idx, queries, nq, k, skip, NULL, batch, found), SA_OK);
    sa_index_set_threads(1);
    for (size_t q = 0; q < nq; q++) {
        size_t n;
        int has_skip = skip[q] != -1;
        assert_int_equal(sa_index_search(idx, queries + q * (size_t)sa_index_dim(idx), k, has_skip ? &skip[q] : NULL,
                                         has_skip, one, &n),
                         SA_OK);
        assert_int_equal(found[q], n);
        for (size_t i = 0; i < n; i++) {
            assert_true(batch[q * k + i].id == one[i].id);
            assert_true(batch[q * k + i].score == one[i].score);
        }
    }
    free(batch);
    free(one);
    free(found);
    free(skip);
}

static void test_search_batch(void **state) {
    faiss_fixture *fx = *state;
    sa_index *ivf = ivf_of(&fx->m, 0), *hnsw;
    assert_int_equal(sa_index_set_param(ivf, "nprobe", 4), SA_OK);
    assert_int_equal(sa_index_new("hnsw", 67, 0, &hnsw), SA_OK);
    assert_int_equal(sa_index_build(hnsw, fx->m.ids, fx->m.vecs, fx->m.n), SA_OK);
    const sa_index *kinds[] = {fx->exact, ivf, hnsw};
    for (int t = 0; t < 3; t++) {
        expect_batch_matches(kinds[t], fx->queries, NQ, 10, 1);
        expect_batch_matches(kinds[t], fx->queries, NQ, 10, 3);
        expect_batch_matches(kinds[t], fx->queries, 2, 25, 3); /* fewer queries than threads */
    }
    /* enough work for the exact batch to split over threads */
    expect_batch_matches(fx->exact, fx->m.vecs, 1200, 10, 3);
    /* more hits asked for than there are vectors */
    model small = model_random(17, 5);
    sa_index *tiny = index_of(&small);
    expect_batch_matches(tiny, small.vecs, 5, 8, 2);
    sa_index_free(tiny);
    model_free(&small);
    /* nothing to do, and bad input */
    size_t found[2] = {9, 9};
    sa_hit out[20];
    assert_int_equal(sa_index_search_batch(fx->exact, fx->queries, 0, 10, NULL, NULL, NULL, NULL), SA_OK);
    assert_int_equal(sa_index_search_batch(fx->exact, fx->queries, 2, 0, NULL, NULL, NULL, found), SA_OK);
    assert_int_equal(found[0] + found[1], 0);
    float bad[2 * 67];
    memcpy(bad, fx->queries, sizeof bad);
    bad[67 + 5] = NAN;
    assert_int_equal(sa_index_search_batch(fx->exact, bad, 2, 10, NULL, NULL, out, found), SA_ERR_INVALID);
    sa_index_free(ivf);
    sa_index_free(hnsw);
}

/* One scan of a large flat index split over threads finds what one thread finds. */
static void test_parallel_scan(void **state) {
    (void)state;
    rng_state = 21;
    model m = model_random(17, 140000); /* over two parts of 65536 rows */
    sa_index *idx = index_of(&m);
    float q[17];
    for (int t = 0; t < 4; t++) {
        random_unit(q, 17);
        sa_hit one[50], many[50];
        size_t n1, n2;
        int64_t excl = m.ids[100 + t];
        sa_index_set_threads(1);
        assert_int_equal(sa_index_search(idx, q, 50, &excl, 1, one, &n1), SA_OK);
        sa_index_set_threads(3);
        assert_int_equal(sa_index_search(idx, q, 50, &excl, 1, many, &n2), SA_OK);
        check_search(idx, &m, q, 50, &excl, 1);
        assert_int_equal(n1, n2);
        for (size_t i = 0; i < n1; i++) {
            assert_true(one[i].id == many[i].id);
            assert_true(one[i].score == many[i].score);
        }
    }
    sa_index_set_threads(1);
    sa_index_free(idx);
    model_free(&m);
}

static void test_info(void **state) {
    faiss_fixture *fx = *state;
    sa_index_info in;
    assert_int_equal(sa_index_info_get(fx->exact, &in), SA_OK);
    assert_int_equal(in.count, fx->m.n);
    assert_int_equal(in.stored, fx->m.n);
    assert_true(in.memory_bytes >= fx->m.n * (67 * sizeof(float) + sizeof(int64_t)));
    assert_true(in.memory_bytes < 2 * fx->m.n * (80 * sizeof(float) + sizeof(int64_t)));
    assert_int_equal(in.nlist + in.nprobe + in.m, 0);
    assert_non_null(strstr(in.detail, "exact"));

    sa_index *idx;
    assert_int_equal(sa_index_new("ivf", 67, 0, &idx), SA_OK);
    assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
    assert_int_equal(in.nlist + in.count + in.trained_for, 0);
    assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, fx->m.n), SA_OK);
    assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
    assert_int_equal(in.nlist, 256); /* 4 sqrt(10000) = 400, at most 10000 / 39 */
    assert_int_equal(in.nprobe, 32); /* an eighth */
    assert_int_equal(in.trained_for, fx->m.n);
    assert_true(in.memory_bytes >= fx->m.n * 67 * sizeof(float));
    assert_non_null(strstr(in.detail, "IVF256"));
    sa_index_free(idx);

    assert_int_equal(sa_index_new("hnsw", 67, 0, &idx), SA_OK);
    assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, 2000), SA_OK);
    assert_int_equal(sa_index_remove(idx, fx->m.ids[0]), SA_OK);
    assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
    assert_int_equal(in.count, 1999);
    assert_int_equal(in.stored, 2000);
    assert_int_equal(in.m, 32);
    assert_int_equal(in.ef_search, 64);
    assert_int_equal(in.ef_construction, 80);
    assert_true(in.memory_bytes >= 2000 * 67 * sizeof(float));
    sa_index_free(idx);
    assert_int_equal(sa_index_info_get(NULL, &in), SA_ERR_INVALID);
}

/* recall@10 of idx on n of the library's own vectors (each without itself), measured here. */
static double self_recall(const sa_index *idx, const faiss_fixture *fx, size_t n) {
    size_t hits = 0;
    for (size_t q = 0; q < n; q++) {
        size_t at = q * 37 % fx->m.n, nw, ng;
        sa_hit want[RK], got[RK];
        assert_int_equal(sa_index_search(fx->exact, fx->m.vecs + at * 67, RK, &fx->m.ids[at], 1, want, &nw), SA_OK);
        assert_int_equal(sa_index_search_id(idx, fx->m.ids[at], RK, NULL, 0, NULL, got, &ng), SA_OK);
        for (size_t i = 0; i < ng; i++)
            for (size_t j = 0; j < nw; j++)
                hits += got[i].id == want[j].id;
    }
    return (double)hits / (double)(n * RK);
}

static void test_tune(void **state) {
    faiss_fixture *fx = *state;
    double r;
    sa_index_info in;
    assert_int_equal(sa_index_tune(fx->exact, fx->m.ids, fx->m.vecs, fx->m.n, 100, 0.99, &r), SA_OK);
    assert_true(r == 1.0);
    static const char *types[] = {"ivf", "hnsw", "faiss-ivf"};
    for (int t = 0; t < 3; t++) {
        sa_index *idx;
        assert_int_equal(sa_index_new(types[t], 67, 0, &idx), SA_OK);
        assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, fx->m.n), SA_OK);
        /* measuring alone changes nothing */
        sa_index_info before;
        assert_int_equal(sa_index_info_get(idx, &before), SA_OK);
        double measured;
        assert_int_equal(sa_index_tune(idx, fx->m.ids, fx->m.vecs, fx->m.n, 300, 0, &measured), SA_OK);
        assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
        assert_int_equal(in.nprobe, before.nprobe);
        assert_int_equal(in.ef_search, before.ef_search);
        assert_true(measured > 0.5 && measured <= 1.0);
        assert_int_equal(sa_index_tune(idx, fx->m.ids, fx->m.vecs, fx->m.n, 1000, 0.99, &r), SA_OK);
        assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
        double check = self_recall(idx, fx, 500);
        print_message("%-9s tuned: recall@10 %.4f (measured here %.4f), nprobe %d of %d, efSearch %d\n", types[t], r,
                      check, in.nprobe, in.nlist, in.ef_search);
        assert_true(r >= 0.99 && r <= 1.0);
        assert_true(check >= 0.97); /* another sample of queries */
        if (in.nlist) { /* the smallest setting that reaches it: one less does not */
            assert_true(in.nprobe >= 1 && in.nprobe <= in.nlist);
            sa_search_params less = {.nprobe = in.nprobe - 1};
            if (less.nprobe > 0) {
                double lower;
                assert_int_equal(sa_index_set_param(idx, "nprobe", less.nprobe), SA_OK);
                assert_int_equal(sa_index_tune(idx, fx->m.ids, fx->m.vecs, fx->m.n, 1000, 0, &lower), SA_OK);
                assert_true(lower < 0.99);
            }
        } else {
            assert_true(in.ef_search >= 16 && in.ef_search <= 4096);
        }
        sa_index_free(idx);
    }
    /* too little to measure */
    sa_index *idx;
    assert_int_equal(sa_index_new("hnsw", 67, 0, &idx), SA_OK);
    assert_int_equal(sa_index_build(idx, fx->m.ids, fx->m.vecs, 1), SA_OK);
    assert_int_equal(sa_index_tune(idx, fx->m.ids, fx->m.vecs, 1, 10, 0.99, &r), SA_OK);
    assert_true(r == -1);
    sa_index_free(idx);
}

/* Random adds, replacements and removals on our IVF, checked against the
 * model after each step (every list visited, so its answers are exact). */
static void test_ivf_model(void **state) {
    (void)state;
    rng_state = 22;
    model m = model_random(67, 3000);
    model first = {67, 600, m.ids, m.vecs};
    sa_index *idx = ivf_of(&first, 0);
    size_t live = 600;
    for (int step = 0; step < 3000; step++) {
        unsigned r = (unsigned)(rng_next() % 5);
        if (r < 2 && live < m.n) { /* add a batch of 1 to 3 */
            size_t n = 1 + rng_next() % 3;
            n = live + n > m.n ? m.n - live : n;
            assert_int_equal(sa_index_add(idx, &m.ids[live], m.vecs + live * 67, n), SA_OK);
            live += n;
        } else if (r == 2 && live > 0) { /* replace */
            size_t at = (size_t)(rng_next() % live);
            random_unit(m.vecs + at * 67, 67);
            assert_int_equal(sa_index_add(idx, &m.ids[at], m.vecs + at * 67, 1), SA_OK);
        } else if (live > 0) {
            live = model_remove_at(idx, &m, live, (size_t)(rng_next() % live));
        }
        assert_int_equal(sa_index_count(idx), live);
        if (step % 300 == 0)
            check_model(idx, &m, live, 20);
    }
    sa_index_free(idx);
    model_free(&m);
}

static void test_ivf_settings_and_files(void **state) {
    (void)state;
    rng_state = 23;
    char dir[256], path[512], sum[72];
    assert_non_null(tu_tempdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/ivf.idx", dir);
    /* an IVF cannot train on nothing; an untrained one saves and loads */
    sa_index *idx;
    assert_int_equal(sa_index_new("ivf", 4, 0, &idx), SA_OK);
    assert_int_equal(sa_index_build(idx, NULL, NULL, 0), SA_ERR_INVALID);
    assert_int_equal(sa_index_set_param(idx, "nlist", 2), SA_OK);
    assert_int_equal(sa_index_set_param(idx, "nprobe", 0), SA_ERR_INVALID);
    assert_int_equal(sa_index_set_param(idx, "efSearch", 10), SA_ERR_INVALID);
    assert_int_equal(sa_index_save(idx, path, NULL), SA_OK);
    sa_index_free(idx);
    assert_int_equal(sa_index_load(path, &idx, NULL), SA_OK);
    assert_false(sa_index_is_trained(idx));
    model m = model_random(4, 40);
    assert_int_equal(sa_index_build(idx, m.ids, m.vecs, m.n), SA_OK); /* the nlist asked for was kept */
    sa_index_info in;
    assert_int_equal(sa_index_info_get(idx, &in), SA_OK);
    assert_int_equal(in.nlist, 2);
    assert_int_equal(sa_index_set_param(idx, "nlist", 3), SA_ERR_CONFLICT);
    assert_int_equal(sa_index_set_param(idx, "nprobe", 2), SA_OK);
    assert_int_equal(sa_index_save(idx, path, sum), SA_OK);
    sa_index *back;
    assert_int_equal(sa_index_load(path, &back, NULL), SA_OK);
    assert_int_equal(sa_index_info_get(back, &in), SA_OK);
    assert_int_equal(in.nlist, 2);
    assert_int_equal(in.nprobe, 2);
    assert_int_equal(sa_index_count(back), 40);
    check_search(back, &m, m.vecs, 40, NULL, 0);
    sa_index_free(back);
    sa_index_free(idx);

    /* lies under a valid checksum: header 32 + "ivf", then nlist, nprobe,
     * nlist asked, trained for, 2 centroids of 4 floats, then the lists */
    size_t n;
    unsigned char *bytes = read_all(path, &n), *copy = malloc(n);
    assert_non_null(copy);
    size_t body = 35, lists = body + 32 + 2 * 16;
    uint64_t n0;
    memcpy(&n0, bytes + lists, 8);
    struct {
        size_t at;
        uint64_t value;
        int width;
        const char *detail;
    } lies[] = {
        {body, 1ULL << 40, 8, "bad IVF settings"},
        {body + 8, 1ULL << 40, 8, "bad IVF settings"},
        {body, 0, 8, "bad IVF settings"}, /* untrained, yet holding vectors */
        {body, 1ULL << 20, 8, "do not fit"},
        {body + 32, 0x7fc00000, 4, "centroid is not finite"},
        {lists, n0 + 1, 8, ""}, /* the rest is read askew: some check fails */
        {lists, 1ULL << 50, 8, "does not fit"},
        {24, 41, 8, "header says"},
    };
    for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
        memcpy(copy, bytes, n);
        memcpy(copy + lies[i].at, &lies[i].value, (size_t)lies[i].width);
        write_signed(path, copy, n);
        expect_format(path, lies[i].detail);
    }
    /* an id twice: the second entry of the first list takes the first's id */
    assert_true(n0 >= 2);
    memcpy(copy, bytes, n);
    memcpy(copy + lists + 16, copy + lists + 8, 8);
    write_signed(path, copy, n);
    expect_format(path, "appears twice");
    free(copy);
    free(bytes);
    model_free(&m);
    tu_rmtree(dir);
}

/* Searches from many threads at once answer as they do one at a time. */
typedef struct reader {
    const sa_index *idx;
    const float *queries;
    const sa_hit *want; /* NQ * RK */
    int ok;
} reader;

static void *reader_main(void *arg) {
    reader *r = arg;
    r->ok = 1;
    for (int round = 0; round < 3; round++)
        for (size_t q = 0; q < NQ; q++) {
            sa_hit got[RK];
            size_t n;
            if (sa_index_search(r->idx, r->queries + q * 67, RK, NULL, 0, got, &n) != SA_OK)
                r->ok = 0;
            for (size_t i = 0; i < n; i++) /* field by field: a hit has padding */
                if (got[i].id != r->want[q * RK + i].id || got[i].score != r->want[q * RK + i].score)
                    r->ok = 0;
        }
    return NULL;
}

static void test_concurrent_searches(void **state) {
    faiss_fixture *fx = *state;
    sa_index *ivf = ivf_of(&fx->m, 0), *hnsw;
    assert_int_equal(sa_index_set_param(ivf, "nprobe", 8), SA_OK);
    assert_int_equal(sa_index_new("hnsw", 67, 0, &hnsw), SA_OK);
    assert_int_equal(sa_index_build(hnsw, fx->m.ids, fx->m.vecs, fx->m.n), SA_OK);
    const sa_index *kinds[] = {fx->exact, ivf, hnsw};
    for (int t = 0; t < 3; t++) {
        sa_hit *want = calloc(NQ * RK, sizeof *want);
        assert_non_null(want);
        for (size_t q = 0; q < NQ; q++) {
            size_t n;
            assert_int_equal(sa_index_search(kinds[t], fx->queries + q * 67, RK, NULL, 0, want + q * RK, &n), SA_OK);
        }
        enum { READERS = 4 };
        pthread_t th[READERS];
        reader r[READERS];
        for (int i = 0; i < READERS; i++) {
            r[i] = (reader){kinds[t], fx->queries, want, 0};
            assert_int_equal(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
        }
        for (int i = 0; i < READERS; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            assert_true(r[i].ok);
        }
        free(want);
    }
    sa_index_free(ivf);
    sa_index_free(hnsw);
}

/* LeakSanitizer's hook (unused without it): FAISS 1.7.3 leaks what it had
 * allocated when index_factory or read_index throws half-way, which the
 * bad-string and corrupt-file tests make it do. Only those two frames. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:faiss::read_index\nleak:parse_coarse_quantizer\n";
}

int main(void) {
    setenv("SA_INDEX_SIMD", "portable", 1);
    sa_index_set_threads(1); /* FAISS's OpenMP threads crawl on a busy machine */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_selects_path),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_paths_agree),
        cmocka_unit_test(test_half_conversion),
        cmocka_unit_test(test_half_kernels),
        cmocka_unit_test(test_half_pass_is_exact),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_replace_on_add),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_empty_and_small),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_load_rejects_bad_files),
        cmocka_unit_test(test_hash_streaming),
        cmocka_unit_test(test_faiss_errors),
        cmocka_unit_test(test_search_id),
        cmocka_unit_test(test_parallel_scan),
        cmocka_unit_test(test_ivf_model),
        cmocka_unit_test(test_ivf_settings_and_files),
    };
    const struct CMUnitTest faiss_tests[] = {
        cmocka_unit_test(test_faiss_types),
        cmocka_unit_test(test_faiss_nprobe_per_query),
        cmocka_unit_test(test_faiss_updates),
        cmocka_unit_test(test_faiss_corrupt_body),
        cmocka_unit_test(test_search_range),
        cmocka_unit_test(test_search_batch),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_tune),
        cmocka_unit_test(test_concurrent_searches),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests(faiss_tests, faiss_setup, faiss_teardown);
}

/* scan.c: the inner-product kernels of the exact index and their runtime dispatch. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

#include "index/scan.h"
#include "soundalike/log.h"

size_t sa_scan_stride(int dim) {
    return ((size_t)dim + SA_SCAN_ALIGN - 1) / SA_SCAN_ALIGN * SA_SCAN_ALIGN;
}

/* Portable C: 8 independent lanes per row, which the compiler can vectorise
 * without reassociating (the AVX2 kernel sums the same way). */
static void dot_portable(const float *q, const float *rows, size_t n, size_t stride, float *scores) {
    for (size_t i = 0; i < n; i++) {
        const float *r = rows + i * stride;
        float acc[SA_SCAN_ALIGN] = {0};
        for (size_t j = 0; j < stride; j += SA_SCAN_ALIGN)
            for (int l = 0; l < SA_SCAN_ALIGN; l++)
                acc[l] += q[j + l] * r[j + l];
        for (int w = SA_SCAN_ALIGN / 2; w > 0; w /= 2)
            for (int l = 0; l < w; l++)
                acc[l] += acc[l + w];
        scores[i] = acc[0];
    }
}

/* Reduces eight 8-lane accumulators (rows a..h) to one vector of eight sums,
 * with horizontal adds instead of eight separate reductions. */
__attribute__((target("avx"), always_inline)) static inline __m256
reduce8x8(__m256 a, __m256 b, __m256 c, __m256 d, __m256 e, __m256 f, __m256 g, __m256 h) {
    __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    __m256 efgh = _mm256_hadd_ps(_mm256_hadd_ps(e, f), _mm256_hadd_ps(g, h));
    /* each 128-bit half now holds partial sums of the four rows: add the halves */
    return _mm256_add_ps(_mm256_permute2f128_ps(abcd, efgh, 0x20), _mm256_permute2f128_ps(abcd, efgh, 0x31));
}

/* Each row is read start to end before the next, so the hardware
 * prefetcher sees one sequential stream (interleaving the 8 rows column by
 * column halved the speed on data larger than the cache). */
__attribute__((target("avx2,fma"))) static void dot_avx2(const float *q, const float *rows, size_t n,
                                                          size_t stride, float *scores) {
    for (size_t i = 0; i < n; i += SA_SCAN_ROWS) {
        const float *r = rows + i * stride;
        __m256 acc[SA_SCAN_ROWS];
        for (int k = 0; k < SA_SCAN_ROWS; k++) {
            acc[k] = _mm256_setzero_ps();
            for (size_t j = 0; j < stride; j += 8)
                acc[k] = _mm256_fmadd_ps(_mm256_load_ps(q + j), _mm256_load_ps(r + (size_t)k * stride + j), acc[k]);
        }
        _mm256_storeu_ps(scores + i,
                         reduce8x8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]));
    }
}

/* The upper and lower 256 bits of a 512-bit accumulator, added (AVX-512F only,
 * no DQ needed). */
__attribute__((target("avx512f"), always_inline)) static inline __m256 fold512(__m512 v) {
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return _mm256_add_ps(_mm512_castps512_ps256(v), hi);
}

/* Sixteen floats at a time, then the eight left when the stride is an odd
 * multiple of eight (rows and queries are only 32-byte aligned: unaligned
 * 512-bit loads). */
__attribute__((target("avx512f,fma"))) static void dot_avx512(const float *q, const float *rows, size_t n,
                                                           size_t stride, float *scores) {
    size_t wide = stride / 16 * 16;
    for (size_t i = 0; i < n; i += SA_SCAN_ROWS) {
        const float *r = rows + i * stride;
        __m256 sum[SA_SCAN_ROWS];
        for (int k = 0; k < SA_SCAN_ROWS; k++) {
            const float *row = r + (size_t)k * stride;
            __m512 acc = _mm512_setzero_ps();
            for (size_t j = 0; j < wide; j += 16)
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(row + j), acc);
            sum[k] = fold512(acc);
            if (wide < stride)
                sum[k] = _mm256_fmadd_ps(_mm256_load_ps(q + wide), _mm256_load_ps(row + wide), sum[k]);
        }
        _mm256_storeu_ps(scores + i, reduce8x8(sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7]));
    }
}

/* ---- half precision ---- */

size_t sa_scan_half_stride(int dim) {
    return ((size_t)dim + SA_SCAN_HALF_ALIGN - 1) / SA_SCAN_HALF_ALIGN * SA_SCAN_HALF_ALIGN;
}

uint16_t sa_scan_to_half(float v) {
    uint32_t x;
    memcpy(&x, &v, sizeof x);
    uint16_t sign = (uint16_t)(x >> 16 & 0x8000);
    uint32_t mag = x & 0x7fffffff;
    if (mag >= 0x38800000) { /* a normal half: drop 13 mantissa bits, nearest even */
        uint32_t r = mag - 0x38000000; /* exponent rebased from 127 to 15 */
        r += 0xfff + (r >> 13 & 1);
        return (uint16_t)(sign | r >> 13);
    }
    if (mag < 0x33000000) /* under half the smallest subnormal: zero */
        return sign;
    /* a subnormal half: the implicit bit made explicit, shifted into place */
    uint32_t e = mag >> 23, m = (mag & 0x7fffff) | 0x800000, shift = 126 - e;
    uint32_t r = m >> shift, rest = m & ((1u << shift) - 1), half_way = 1u << (shift - 1);
    r += rest > half_way || (rest == half_way && (r & 1));
    return (uint16_t)(sign | r);
}

/* binary16 to float, exactly (portable path) */
static float from_half(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = h >> 10 & 0x1f, m = h & 0x3ff, x;
    if (e == 0) { /* zero or subnormal: m * 2^-24 is exact in a float */
        float f = (float)m * 0x1p-24f;
        memcpy(&x, &f, sizeof x);
        x |= sign;
    } else {
        x = sign | (e + 112) << 23 | m << 13; /* never inf or NaN: stored values are finite */
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static void dot_half_portable(const float *q, const uint16_t *rows, size_t n, size_t hstride, float *scores) {
    for (size_t i = 0; i < n; i++) {
        const uint16_t *r = rows + i * hstride;
        float acc[SA_SCAN_ALIGN] = {0};
        for (size_t j = 0; j < hstride; j += SA_SCAN_ALIGN)
            for (int l = 0; l < SA_SCAN_ALIGN; l++)
                acc[l] += q[j + l] * from_half(r[j + l]);
        for (int w = SA_SCAN_ALIGN / 2; w > 0; w /= 2)
            for (int l = 0; l < w; l++)
                acc[l] += acc[l + w];
        scores[i] = acc[0];
    }
}

__attribute__((target("avx2,fma,f16c"))) static void dot_half_avx2(const float *q, const uint16_t *rows, size_t n,
                                                                    size_t hstride, float *scores) {
    for (size_t i = 0; i < n; i += SA_SCAN_ROWS) {
        const uint16_t *r = rows + i * hstride;
        __m256 acc[SA_SCAN_ROWS];
        for (int k = 0; k < SA_SCAN_ROWS; k++) {
            acc[k] = _mm256_setzero_ps();
            for (size_t j = 0; j < hstride; j += 8) {
                __m256 v = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(r + (size_t)k * hstride + j)));
                acc[k] = _mm256_fmadd_ps(_mm256_load_ps(q + j), v, acc[k]);
            }
        }
        _mm256_storeu_ps(scores + i, reduce8x8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]));
    }
}

__attribute__((target("avx512f,fma"))) static void dot_half_avx512(const float *q, const uint16_t *rows, size_t n,
                                                                    size_t hstride, float *scores) {
    for (size_t i = 0; i < n; i += SA_SCAN_ROWS) {
        const uint16_t *r = rows + i * hstride;
        __m256 sum[SA_SCAN_ROWS];
        for (int k = 0; k < SA_SCAN_ROWS; k++) {
            __m512 acc = _mm512_setzero_ps();
            for (size_t j = 0; j < hstride; j += 16) {
                __m512 v = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(r + (size_t)k * hstride + j)));
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), v, acc);
            }
            sum[k] = fold512(acc);
        }
        _mm256_storeu_ps(scores + i, reduce8x8(sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7]));
    }
}

static const char *const path_names[] = {"portable", "avx2", "avx512"};

/* -1 until resolved; every thread resolves to the same value, so a race is harmless. */
static atomic_int current_path = -1;

static int cpu_has(sa_scan_path path) {
    __builtin_cpu_init();
    switch (path) {
    case SA_SCAN_AVX512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    case SA_SCAN_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case SA_SCAN_PORTABLE: return 1;
    }
    return 0;
}

static sa_scan_path best_path(void) {
    if (cpu_has(SA_SCAN_AVX512))
        return SA_SCAN_AVX512;
    return cpu_has(SA_SCAN_AVX2) ? SA_SCAN_AVX2 : SA_SCAN_PORTABLE;
}

static sa_scan_path resolve_path(void) {
    const char *want = getenv("SA_INDEX_SIMD");
    if (!want || !*want)
        return best_path();
    for (int p = SA_SCAN_PORTABLE; p <= SA_SCAN_AVX512; p++) {
        if (strcmp(want, path_names[p]) != 0)
            continue;
        if (cpu_has((sa_scan_path)p))
            return (sa_scan_path)p;
        sa_log_warn("SA_INDEX_SIMD=%s: this CPU lacks it, using %s", want, path_names[best_path()]);
        return best_path();
    }
    sa_log_warn("SA_INDEX_SIMD=%s: unknown (portable, avx2 or avx512), using %s", want,
                path_names[best_path()]);
    return best_path();
}

sa_scan_path sa_scan_current(void) {
    int p = atomic_load_explicit(&current_path, memory_order_relaxed);
    if (p < 0) {
        p = (int)resolve_path();
        atomic_store_explicit(&current_path, p, memory_order_relaxed);
    }
    return (sa_scan_path)p;
}

const char *sa_scan_path_name(sa_scan_path path) {
    return (unsigned)path <= SA_SCAN_AVX512 ? path_names[path] : "unknown";
}

sa_err sa_scan_force(sa_scan_path path) {
    if ((unsigned)path > SA_SCAN_AVX512)
        return sa_error_set(SA_ERR_INVALID, "scan path %d", (int)path);
    if (!cpu_has(path))
        return sa_error_set(SA_ERR_UNSUPPORTED, "this CPU cannot run the %s scan", path_names[path]);
    atomic_store_explicit(&current_path, (int)path, memory_order_relaxed);
    return SA_OK;
}

void sa_scan_dot(const float *q, const float *rows, size_t n, size_t stride, float *scores) {
    switch (sa_scan_current()) {
    case SA_SCAN_AVX512: dot_avx512(q, rows, n, stride, scores); break;
    case SA_SCAN_AVX2: dot_avx2(q, rows, n, stride, scores); break;
    case SA_SCAN_PORTABLE: dot_portable(q, rows, n, stride, scores); break;
    }
}

void sa_scan_dot_half(const float *q, const uint16_t *rows, size_t n, size_t hstride, float *scores) {
    switch (sa_scan_current()) {
    case SA_SCAN_AVX512: dot_half_avx512(q, rows, n, hstride, scores); break;
    case SA_SCAN_AVX2: dot_half_avx2(q, rows, n, hstride, scores); break;
    case SA_SCAN_PORTABLE: dot_half_portable(q, rows, n, hstride, scores); break;
    }
}

bool sa_scan_half_pays(void) { return sa_scan_current() != SA_SCAN_PORTABLE; }

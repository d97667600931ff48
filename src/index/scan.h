/* scan.h: inner products of one query against many rows, with runtime CPU dispatch.
 *
 * Rows are stored with a stride that is a multiple of SA_SCAN_ALIGN floats
 * (so 32-byte aligned in a 64-byte aligned block), their padding zeroed,
 * and the row count handed to a kernel is a multiple of SA_SCAN_ROWS, so
 * no kernel has a remainder loop. Eight floats, not sixteen: a 67-d row
 * takes 72 floats instead of 80, and an exact scan is bound by memory.
 * Every path sums each row in independent lanes and then reduces them, so
 * the paths agree to float rounding. The path is chosen once, at first
 * use: the best the CPU supports, or the one named by the environment
 * variable SA_INDEX_SIMD=portable|avx2|avx512 (for tests and benchmarks). */
#ifndef SA_INDEX_SCAN_H
#define SA_INDEX_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"

enum { SA_SCAN_ALIGN = 8, SA_SCAN_ROWS = 8 };

typedef enum sa_scan_path {
    SA_SCAN_PORTABLE = 0,
    SA_SCAN_AVX2 = 1,
    SA_SCAN_AVX512 = 2,
} sa_scan_path;

/* The stride (floats per stored row) for vectors of dim floats. */
size_t sa_scan_stride(int dim);

/* scores[i] = <q, rows + i*stride> for i < n; n is a multiple of
 * SA_SCAN_ROWS; q and rows are 32-byte aligned and stride floats long. */
void sa_scan_dot(const float *q, const float *rows, size_t n, size_t stride, float *scores);

/* ---- half precision: what a single exact search reads first ----
 * A row is also kept as IEEE binary16, SA_SCAN_HALF_ALIGN halves to a
 * stride, so a scan reads half the bytes; the flat index then rescores the
 * few rows that may belong to the top k with sa_scan_dot (flat.c). */
enum { SA_SCAN_HALF_ALIGN = 16 };
/* The largest magnitude stored in half precision (binary16 holds 65504). */
#define SA_SCAN_HALF_MAX 65504.0f

/* Halves per stored row for vectors of dim floats (>= sa_scan_stride). */
size_t sa_scan_half_stride(int dim);
/* v in binary16, rounded to nearest even; |v| <= SA_SCAN_HALF_MAX. */
uint16_t sa_scan_to_half(float v);

/* scores[i] = <q, rows + i*hstride> with each half widened exactly to a
 * float, for i < n; n is a multiple of SA_SCAN_ROWS; q is hstride floats,
 * rows hstride halves, both 32-byte aligned. */
void sa_scan_dot_half(const float *q, const uint16_t *rows, size_t n, size_t hstride, float *scores);

/* Whether reading halves beats reading floats on the path in use: not on
 * the portable one, which widens each half in software. */
bool sa_scan_half_pays(void);

/* The path in use (resolving it on first call). */
sa_scan_path sa_scan_current(void);
const char *sa_scan_path_name(sa_scan_path path);
/* Forces a path for the whole process; SA_ERR_UNSUPPORTED when this CPU
 * lacks it. Not thread-safe against concurrent searches: tests only. */
sa_err sa_scan_force(sa_scan_path path);

#endif

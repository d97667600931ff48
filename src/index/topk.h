/* topk.h: the k best hits of a stream of scores, in a min-heap over the
 * caller's output array (no allocation). Ties go to the smaller id, so the
 * result does not depend on storage order. */
#ifndef SA_INDEX_TOPK_H
#define SA_INDEX_TOPK_H

#include <stddef.h>
#include <stdint.h>

#include "soundalike/index.h"

typedef struct sa_topk {
    sa_hit *heap; /* the worst kept hit at heap[0] */
    size_t k, n;
} sa_topk;

/* k >= 1 */
static inline void sa_topk_init(sa_topk *t, sa_hit *out, size_t k) { *t = (sa_topk){out, k, 0}; }

/* Whether a hit with this score could enter: a cheap test before the
 * caller does any further work on a candidate. Equal scores may enter
 * (ties are settled by id in push). */
static inline int sa_topk_wants(const sa_topk *t, float score) {
    return t->n < t->k || score >= t->heap[0].score;
}

void sa_topk_push(sa_topk *t, int64_t id, float score);
/* Sorts the kept hits best first; returns how many. */
size_t sa_topk_finish(sa_topk *t);

#endif

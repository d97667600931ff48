/* topk.c: a bounded min-heap of hits, then a heap sort into best-first order. */
#include "index/topk.h"

/* a ranks below b: lower score, or the same score and a larger id */
static int worse(const sa_hit *a, const sa_hit *b) {
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void sift_down(sa_hit *h, size_t n, size_t i) {
    for (;;) {
        size_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && worse(&h[l], &h[w]))
            w = l;
        if (r < n && worse(&h[r], &h[w]))
            w = r;
        if (w == i)
            return;
        sa_hit tmp = h[i];
        h[i] = h[w];
        h[w] = tmp;
        i = w;
    }
}

void sa_topk_push(sa_topk *t, int64_t id, float score) {
    sa_hit hit = {id, score};
    if (t->n < t->k) {
        size_t i = t->n++;
        while (i > 0 && worse(&hit, &t->heap[(i - 1) / 2])) {
            t->heap[i] = t->heap[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        t->heap[i] = hit;
    } else if (t->k > 0 && worse(&t->heap[0], &hit)) {
        t->heap[0] = hit;
        sift_down(t->heap, t->n, 0);
    }
}

size_t sa_topk_finish(sa_topk *t) {
    /* Repeatedly move the worst to the end: the array ends up best first. */
    for (size_t n = t->n; n > 1; n--) {
        sa_hit tmp = t->heap[0];
        t->heap[0] = t->heap[n - 1];
        t->heap[n - 1] = tmp;
        sift_down(t->heap, n - 1, 0);
    }
    return t->n;
}

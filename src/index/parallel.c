/* parallel.c: one job split over threads; errors come back with their detail. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/faiss_bridge.h"
#include "index/parallel.h"

/* 0: not set on this thread, so the default */
static _Thread_local int thread_limit;

void sa_index_set_threads(int n) {
    thread_limit = n > 0 ? n : 0;
    sa_fb_set_threads(n);
}

int sa_index_threads(void) {
    if (thread_limit > 0)
        return thread_limit;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

typedef struct part_run {
    sa_part_fn fn;
    void *ctx;
    size_t part, nparts;
    sa_err err;
    char detail[1024]; /* the error detail is per thread: carried back */
} part_run;

static void run_part(part_run *r) {
    r->err = r->fn(r->ctx, r->part, r->nparts);
    if (r->err)
        snprintf(r->detail, sizeof r->detail, "%s", sa_error_detail());
}

static void *part_main(void *arg) {
    sa_index_set_threads(1); /* its part is all this thread does */
    run_part(arg);
    return NULL;
}

sa_err sa_index_parallel(size_t nparts, sa_part_fn fn, void *ctx) {
    if (nparts <= 1)
        return nparts ? fn(ctx, 0, 1) : SA_OK;
    part_run *runs = calloc(nparts, sizeof *runs);
    pthread_t *threads = calloc(nparts, sizeof *threads);
    unsigned char *started = calloc(nparts, 1);
    if (!runs || !threads || !started) {
        free(runs);
        free(threads);
        free(started);
        return sa_error_set(SA_ERR_NOMEM, "%zu index threads", nparts);
    }
    for (size_t i = 0; i < nparts; i++) {
        runs[i] = (part_run){.fn = fn, .ctx = ctx, .part = i, .nparts = nparts};
        if (i > 0)
            started[i] = pthread_create(&threads[i], NULL, part_main, &runs[i]) == 0;
    }
    /* the calling thread does one part too: one thread for it meanwhile */
    int limit = thread_limit;
    sa_index_set_threads(1);
    for (size_t i = 0; i < nparts; i++)
        if (!started[i])
            run_part(&runs[i]);
    sa_index_set_threads(limit);
    sa_err err = SA_OK;
    for (size_t i = 0; i < nparts; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        if (!err && runs[i].err)
            err = sa_error_set(runs[i].err, "%s", runs[i].detail);
    }
    free(runs);
    free(threads);
    free(started);
    return err;
}

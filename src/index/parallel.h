/* parallel.h: splitting one index job over threads (no pool: a job is a
 * build, a batch or one scan of a large index, long next to starting a
 * thread). */
#ifndef SA_INDEX_PARALLEL_H
#define SA_INDEX_PARALLEL_H

#include <stddef.h>

#include "soundalike/error.h"

/* The threads work started from the calling thread may use
 * (sa_index_set_threads; by default the cores online). */
int sa_index_threads(void);

/* Part part (of nparts) of a job. */
typedef sa_err (*sa_part_fn)(void *ctx, size_t part, size_t nparts);

/* Runs fn for parts 0..nparts-1, part 0 on the calling thread and each
 * other on a thread of its own (which may use one thread itself); returns
 * the error of the first part that failed, with its detail. A thread that
 * cannot start leaves its part to the calling thread. */
sa_err sa_index_parallel(size_t nparts, sa_part_fn fn, void *ctx);

#endif

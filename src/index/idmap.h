/* idmap.h: an open-addressing hash map from track id to slot, for O(1) lookups. */
#ifndef SA_INDEX_IDMAP_H
#define SA_INDEX_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"

typedef struct sa_idmap_entry {
    int64_t id;
    size_t slot; /* SIZE_MAX: empty */
} sa_idmap_entry;

typedef struct sa_idmap {
    sa_idmap_entry *table;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
} sa_idmap;

/* A map starts zeroed ({0}); free releases it and zeroes it again. */
void sa_idmap_free(sa_idmap *m);
/* Makes room for n entries in all, so that the next puts cannot fail. */
sa_err sa_idmap_reserve(sa_idmap *m, size_t n);
bool sa_idmap_find(const sa_idmap *m, int64_t id, size_t *slot);
/* Inserts id or updates its slot; room must have been reserved. */
void sa_idmap_put(sa_idmap *m, int64_t id, size_t slot);
/* Removes id when present. */
void sa_idmap_remove(sa_idmap *m, int64_t id);

#endif

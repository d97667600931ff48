/* idmap.c: linear probing with backward-shift deletion (no tombstones, so
 * lookups stay short after many removals); the load is kept under 1/2. */
#include <stdlib.h>

#include "index/idmap.h"

/* The splitmix64 finaliser: ids are often sequential, which plain masking
 * would cluster. */
static size_t hash_id(int64_t id) {
    uint64_t x = (uint64_t)id;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

void sa_idmap_free(sa_idmap *m) {
    free(m->table);
    *m = (sa_idmap){0};
}

/* The position of id, or of the empty entry where it would go. */
static size_t probe(const sa_idmap_entry *table, size_t mask, int64_t id) {
    size_t i = hash_id(id) & mask;
    while (table[i].slot != SIZE_MAX && table[i].id != id)
        i = (i + 1) & mask;
    return i;
}

sa_err sa_idmap_reserve(sa_idmap *m, size_t n) {
    size_t cap = m->table ? m->mask + 1 : 0;
    if (n <= cap / 2)
        return SA_OK;
    size_t want = 16;
    while (want / 2 < n) {
        if (want > SIZE_MAX / 2 / sizeof(sa_idmap_entry))
            return sa_error_set(SA_ERR_NOMEM, "id map of %zu entries", n);
        want *= 2;
    }
    sa_idmap_entry *table = malloc(want * sizeof *table);
    if (!table)
        return sa_error_set(SA_ERR_NOMEM, "id map of %zu entries", n);
    for (size_t i = 0; i < want; i++)
        table[i].slot = SIZE_MAX;
    for (size_t i = 0; i < cap; i++)
        if (m->table[i].slot != SIZE_MAX)
            table[probe(table, want - 1, m->table[i].id)] = m->table[i];
    free(m->table);
    m->table = table;
    m->mask = want - 1;
    return SA_OK;
}

bool sa_idmap_find(const sa_idmap *m, int64_t id, size_t *slot) {
    if (!m->table)
        return false;
    size_t i = probe(m->table, m->mask, id);
    if (m->table[i].slot == SIZE_MAX)
        return false;
    *slot = m->table[i].slot;
    return true;
}

void sa_idmap_put(sa_idmap *m, int64_t id, size_t slot) {
    size_t i = probe(m->table, m->mask, id);
    if (m->table[i].slot == SIZE_MAX)
        m->count++;
    m->table[i] = (sa_idmap_entry){id, slot};
}

void sa_idmap_remove(sa_idmap *m, int64_t id) {
    if (!m->table)
        return;
    size_t i = probe(m->table, m->mask, id);
    if (m->table[i].slot == SIZE_MAX)
        return;
    /* Shift back every later entry of the run that the hole would cut off
     * from its home position. */
    for (size_t j = (i + 1) & m->mask; m->table[j].slot != SIZE_MAX; j = (j + 1) & m->mask) {
        size_t home = hash_id(m->table[j].id) & m->mask;
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->table[i] = m->table[j];
            i = j;
        }
    }
    m->table[i].slot = SIZE_MAX;
    m->count--;
}

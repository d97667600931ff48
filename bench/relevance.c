/* relevance.c: how often similar tracks are "relevant", per vector profile.
 *
 * Usage: bench_relevance DB ROOT [K]
 * DB is a library analysed by `soundalike analyze`; a track's label is the
 * first folder of its path below ROOT (for the soundtrack corpus: the
 * Debian package, so "same soundtrack" is the rough relevance label the
 * corpus README proposes). For every profile with vectors it prints the
 * mean precision@K of exact search (the query excluded) beside what random
 * neighbours would score, and their ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soundalike/index.h"
#include "soundalike/profile.h"
#include "soundalike/store.h"

typedef struct labels {
    int64_t *ids;
    char **names;
    size_t n, cap;
    const char *root;
    int out_of_memory;
} labels;

static int add_label(const sa_track *t, void *ctx) {
    labels *l = ctx;
    size_t len = strlen(l->root);
    if (strncmp(t->path, l->root, len) != 0 || t->path[len] != '/')
        return 0;
    const char *rest = t->path + len + 1, *slash = strchr(rest, '/');
    if (!slash)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        int64_t *ids = realloc(l->ids, cap * sizeof *ids);
        if (ids)
            l->ids = ids;
        char **names = realloc(l->names, cap * sizeof *names);
        if (names)
            l->names = names;
        if (!ids || !names)
            return l->out_of_memory = 1;
        l->cap = cap;
    }
    char *name = strndup(rest, (size_t)(slash - rest));
    if (!name)
        return l->out_of_memory = 1;
    l->ids[l->n] = t->id;
    l->names[l->n++] = name;
    return 0;
}

static void labels_clear(labels *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->ids);
}

static const char *label_of(const labels *l, int64_t id) {
    size_t lo = 0, hi = l->n; /* ids come sorted from the store: a binary search */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->n && l->ids[lo] == id ? l->names[lo] : NULL;
}

static void score_profile(sa_store *s, const sa_profile *p, const labels *l, size_t k) {
    int64_t *ids = NULL;
    float *data = NULL;
    size_t n = 0;
    sa_index *idx = NULL;
    if (sa_store_vectors_load(s, p->name, p->dim, &ids, &data, &n) != SA_OK || n < k + 1 ||
        sa_index_new_flat(p->dim, &idx) != SA_OK || sa_index_add(idx, ids, data, n) != SA_OK) {
        printf("%-12s %6zu vectors: not enough to score\n", p->name, n);
        goto done;
    }
    double precision = 0, chance = 0;
    size_t queries = 0;
    sa_hit *hits = malloc(k * sizeof *hits);
    for (size_t i = 0; hits && i < n; i++) {
        const char *mine = label_of(l, ids[i]);
        if (!mine)
            continue;
        size_t found = 0, same = 0, peers = 0;
        if (sa_index_search(idx, data + i * (size_t)p->dim, k, &ids[i], 1, hits, &found) != SA_OK)
            continue;
        for (size_t h = 0; h < found; h++) {
            const char *other = label_of(l, hits[h].id);
            same += other && strcmp(other, mine) == 0;
        }
        for (size_t j = 0; j < n; j++) {
            const char *other = label_of(l, ids[j]);
            peers += j != i && other && strcmp(other, mine) == 0;
        }
        precision += (double)same / (double)k;
        chance += (double)peers / (double)(n - 1);
        queries++;
    }
    free(hits);
    if (queries)
        printf("%-12s %6zu vectors: precision@%zu %.3f, random %.3f, ratio %.2f\n", p->name, n, k,
               precision / (double)queries, chance / (double)queries, precision / (chance ? chance : 1));
done:
    sa_index_free(idx);
    free(ids);
    free(data);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_relevance DB ROOT [K]\n");
        return 2;
    }
    size_t k = 10;
    if (argc > 3) {
        char *end;
        long v = strtol(argv[3], &end, 10);
        if (end == argv[3] || *end || v < 1 || v > 1000) {
            fprintf(stderr, "bench_relevance: K must be a number from 1 to 1000, not '%s'\n", argv[3]);
            return 2;
        }
        k = (size_t)v;
    }
    sa_store *s;
    if (sa_store_open(argv[1], &s) != SA_OK) {
        fprintf(stderr, "cannot open %s: %s\n", argv[1], sa_error_detail());
        return 1;
    }
    labels l = {.root = argv[2]};
    sa_err err = sa_store_tracks_each(s, SA_TRACK_ANALYZED, add_label, &l);
    if (err || l.out_of_memory) {
        fprintf(stderr, "reading the tracks of %s: %s\n", argv[1], err ? sa_error_detail() : "out of memory");
        labels_clear(&l);
        sa_store_close(s);
        return 1;
    }
    printf("%zu analysed tracks under %s\n", l.n, l.root);
    size_t np;
    const sa_profile *const *all = sa_profile_all(&np);
    for (size_t i = 0; i < np; i++)
        score_profile(s, all[i], &l, k);
    labels_clear(&l);
    sa_store_close(s);
    return 0;
}

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
        l->cap = l->cap ? l->cap * 2 : 256;
        l->ids = realloc(l->ids, l->cap * sizeof *l->ids);
        l->names = realloc(l->names, l->cap * sizeof *l->names);
        if (!l->ids || !l->names)
            return 1;
    }
    l->ids[l->n] = t->id;
    l->names[l->n++] = strndup(rest, (size_t)(slash - rest));
    return 0;
}

static const char *label_of(const labels *l, int64_t id) {
    for (size_t i = 0; i < l->n; i++) /* ids come sorted from the store */
        if (l->ids[i] == id)
            return l->names[i];
    return NULL;
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
    size_t k = argc > 3 ? (size_t)atoi(argv[3]) : 10;
    sa_store *s;
    if (k < 1 || sa_store_open(argv[1], &s) != SA_OK) {
        fprintf(stderr, "cannot open %s: %s\n", argv[1], sa_error_detail());
        return 1;
    }
    labels l = {.root = argv[2]};
    sa_store_tracks_each(s, SA_TRACK_ANALYZED, add_label, &l);
    printf("%zu analysed tracks under %s\n", l.n, l.root);
    size_t np;
    const sa_profile *const *all = sa_profile_all(&np);
    for (size_t i = 0; i < np; i++)
        score_profile(s, all[i], &l, k);
    for (size_t i = 0; i < l.n; i++)
        free(l.names[i]);
    free(l.names);
    free(l.ids);
    sa_store_close(s);
    return 0;
}

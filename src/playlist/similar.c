/* similar.c: nearest tracks to a track or a vector, resolved to paths. */
#include <stdlib.h>
#include <string.h>

#include "soundalike/playlist.h"

void sa_playlist_clear(sa_playlist *p) {
    for (size_t i = 0; i < p->count; i++)
        free(p->items[i].path);
    free(p->items);
    p->items = NULL;
    p->count = 0;
}

/* Appends hit h unless its track is a duplicate of the query or gone;
 * *taken says whether it was kept. */
static sa_err take_hit(sa_store *s, const sa_hit *h, const char *exclude_hash, sa_playlist *out, int *taken) {
    sa_track t = {0};
    *taken = 0;
    sa_err err = sa_store_track_by_id(s, h->id, &t);
    if (err == SA_ERR_NOT_FOUND) /* removed since the index was built */
        return SA_OK;
    if (err)
        return err;
    int duplicate = exclude_hash && t.content_hash && strcmp(t.content_hash, exclude_hash) == 0;
    if (!duplicate && t.status == SA_TRACK_ANALYZED) {
        sa_playlist_item *it = &out->items[out->count];
        it->id = h->id;
        it->path = t.path;
        it->similarity = h->score;
        t.path = NULL;
        out->count++;
        *taken = 1;
    }
    sa_track_clear(&t);
    return SA_OK;
}

/* Searches for n hits past the excluded ones: asks for a few more than n and
 * widens the search while duplicates or vanished tracks fill the gap. */
static sa_err search_resolved(sa_store *s, const sa_index *idx, const float *v, int64_t self,
                              const char *exclude_hash, size_t n, sa_playlist *out) {
    memset(out, 0, sizeof *out);
    if (n == 0)
        return SA_OK;
    size_t ask = n + 8;
    for (;;) {
        sa_hit *hits = malloc(ask * sizeof *hits);
        if (!hits) {
            sa_playlist_clear(out);
            return sa_error_set(SA_ERR_NOMEM, "search results");
        }
        size_t found = 0;
        sa_err err = sa_index_search(idx, v, ask, self > 0 ? &self : NULL, self > 0, hits, &found);
        sa_playlist_clear(out);
        out->items = calloc(n, sizeof *out->items);
        if (!err && !out->items)
            err = sa_error_set(SA_ERR_NOMEM, "playlist");
        for (size_t i = 0; !err && i < found && out->count < n; i++) {
            int taken;
            err = take_hit(s, &hits[i], exclude_hash, out, &taken);
        }
        free(hits);
        if (err) {
            sa_playlist_clear(out);
            return err;
        }
        if (out->count == n || found < ask) /* enough, or the index has no more */
            return SA_OK;
        ask *= 2;
    }
}

sa_err sa_playlist_similar(sa_store *s, const sa_index *idx, const char *profile, int64_t id, size_t n,
                           sa_playlist *out) {
    sa_track t = {0};
    sa_err err = sa_store_track_by_id(s, id, &t);
    if (err)
        return err;
    int dim = sa_index_dim(idx);
    float *v = malloc((size_t)dim * sizeof *v);
    if (!v) {
        sa_track_clear(&t);
        return sa_error_set(SA_ERR_NOMEM, "query vector");
    }
    err = sa_store_vector_get(s, id, profile, v, dim);
    if (err == SA_ERR_NOT_FOUND)
        err = sa_error_set(SA_ERR_NOT_FOUND, "track %lld (%s) has no %s vector: is it analysed?", (long long)id,
                           t.path, profile);
    if (!err)
        err = search_resolved(s, idx, v, id, t.content_hash, n, out);
    free(v);
    sa_track_clear(&t);
    return err;
}

sa_err sa_playlist_similar_vector(sa_store *s, const sa_index *idx, const float *v, const char *exclude_hash,
                                  size_t n, sa_playlist *out) {
    return search_resolved(s, idx, v, 0, exclude_hash, n, out);
}

void sa_playlist_summarise(const sa_playlist *p, sa_playlist_stats *out) {
    memset(out, 0, sizeof *out);
    if (p->count == 0)
        return;
    double sum = 0;
    out->min = out->max = p->items[0].similarity;
    for (size_t i = 0; i < p->count; i++) {
        float x = p->items[i].similarity;
        sum += x;
        out->min = x < out->min ? x : out->min;
        out->max = x > out->max ? x : out->max;
    }
    out->average = (float)(sum / (double)p->count);
    out->range = out->max - out->min;
}

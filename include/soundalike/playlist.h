/* playlist.h: "what sounds like this?" and "make me a playlist from this".
 *
 * Queries run against an index of one profile and resolve hits to tracks in
 * the store. The query track never comes back in its own results, nor do
 * exact duplicates of it (the same content hash). Safe to call from several
 * threads when each uses its own store connection and the index is not
 * being modified. */
#ifndef SOUNDALIKE_PLAYLIST_H
#define SOUNDALIKE_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"
#include "soundalike/index.h"
#include "soundalike/store.h"

typedef struct sa_playlist_item {
    int64_t id;
    char *path; /* owned */
    float similarity; /* cosine, [-1, 1] */
} sa_playlist_item;

typedef struct sa_playlist {
    sa_playlist_item *items; /* owned; count of them */
    size_t count;
} sa_playlist;

void sa_playlist_clear(sa_playlist *p);

/* The n tracks most similar to the stored track id (by its stored vector
 * in the index's profile). SA_ERR_NOT_FOUND when the track has no vector. */
sa_err sa_playlist_similar(sa_store *s, const sa_index *idx, const char *profile, int64_t id, size_t n,
                           sa_playlist *out);

/* The n tracks most similar to vector v (the index's dimension), skipping
 * the tracks whose content hash is exclude_hash (may be NULL). */
sa_err sa_playlist_similar_vector(sa_store *s, const sa_index *idx, const float *v, const char *exclude_hash,
                                  size_t n, sa_playlist *out);

/* Summary of a playlist's similarities (the guide's "statistics" block). */
typedef struct sa_playlist_stats {
    float average, min, max, range;
} sa_playlist_stats;
void sa_playlist_summarise(const sa_playlist *p, sa_playlist_stats *out);

#endif

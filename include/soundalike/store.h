/* store.h: the system of record (the only module that speaks SQL).
 *
 * One interface over the backends: SQLite (a file path, the default) and,
 * later, PostgreSQL (a postgresql:// URL). Tables: tracks, features (one row
 * per track and analyzer, with its version), vectors (float32 blobs per
 * profile) and index metadata. The schema is created and upgraded by
 * numbered migrations at open.
 *
 * A sa_store is one connection: use it from one thread at a time (open one
 * per thread when several need the store). Functions that write several rows
 * do so in one transaction; sa_store_begin/commit group more of them. */
#ifndef SOUNDALIKE_STORE_H
#define SOUNDALIKE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "soundalike/error.h"
#include "soundalike/features.h"

typedef struct sa_store sa_store;

typedef enum sa_track_status {
    SA_TRACK_PENDING = 0,  /* found, waiting for analysis */
    SA_TRACK_ANALYZED = 1, /* every analyzer's features stored */
    SA_TRACK_FAILED = 2,   /* could not be probed or analysed; error says why */
    SA_TRACK_MISSING = 3,  /* was in the library, gone at the last scan */
} sa_track_status;

const char *sa_track_status_name(sa_track_status s); /* "pending", ... */
sa_err sa_track_status_parse(const char *name, sa_track_status *out);

/* One row of tracks. Strings are owned (malloc'd, NULL when absent);
 * sa_track_clear frees them. */
typedef struct sa_track {
    int64_t id;
    char *path; /* absolute, as scanned */
    int64_t size;
    int64_t mtime_ns;
    char *content_hash; /* hex */
    sa_track_status status;
    char *error; /* why it failed, NULL otherwise */
    double duration_s;
    int sample_rate;
    int channels;
    char *codec;
    char *title, *artist, *album, *genre;
    int64_t scanned_at;  /* unix seconds */
    int64_t analyzed_at; /* unix seconds, 0 when never */
} sa_track;

void sa_track_clear(sa_track *t);

/* Opens (creating when absent) the store at location: a file path for
 * SQLite. Runs pending migrations. Parent folders are created. A file that is
 * not a SQLite database is SA_ERR_FORMAT; a store whose schema is newer than
 * this build knows, or a postgresql:// URL (not supported yet), is
 * SA_ERR_UNSUPPORTED. */
sa_err sa_store_open(const char *location, sa_store **out);
void sa_store_close(sa_store *s); /* NULL accepted; an open transaction is rolled back */

/* The schema version after migrations. */
int sa_store_schema_version(sa_store *s);

/* Transactions nest: an inner begin/commit or begin/rollback pair commits or
 * discards only the writes since its begin, and nothing is durable until the
 * outermost commit. begin waits (up to 10 s) for another connection's write
 * transaction, then fails with SA_ERR_BUSY. A commit that fails has rolled
 * its level back: do not roll back again after it. */
sa_err sa_store_begin(sa_store *s);
sa_err sa_store_commit(sa_store *s);
sa_err sa_store_rollback(sa_store *s); /* safe to call when no transaction is open */

/* ---- tracks ---- */

/* SA_ERR_NOT_FOUND when there is no such track. out is overwritten, not
 * freed first: sa_track_clear it between uses. */
sa_err sa_store_track_by_id(sa_store *s, int64_t id, sa_track *out);
sa_err sa_store_track_by_path(sa_store *s, const char *path, sa_track *out);

/* Inserts t (by path) or updates the file facts and status of the existing
 * row with that path; t->id is ignored, the row's id goes to *id (id may be
 * NULL). Every other field of t is written. The path must be absolute. */
sa_err sa_store_track_put(sa_store *s, const sa_track *t, int64_t *id);

/* Sets status and error text (NULL clears it) of one track; SA_TRACK_ANALYZED
 * also sets analyzed_at to now. SA_ERR_NOT_FOUND when there is no such track. */
sa_err sa_store_track_set_status(sa_store *s, int64_t id, sa_track_status status, const char *error);

/* Calls fn for each track with the given status (or every track when status
 * is negative), in id order; fn returning non-zero stops the walk early
 * (that value is not an error). The sa_track is valid only during the call.
 * Tracks are read a page at a time, so fn may use the store, writes included;
 * a track fn has changed is not visited again. */
typedef int (*sa_track_fn)(const sa_track *t, void *ctx);
sa_err sa_store_tracks_each(sa_store *s, int status, sa_track_fn fn, void *ctx);

/* Tracks by status (index by sa_track_status). */
typedef struct sa_store_counts {
    int64_t total;
    int64_t by_status[4];
} sa_store_counts;
sa_err sa_store_count_tracks(sa_store *s, sa_store_counts *out);

/* ---- listing: paged, filtered, sorted ---- */

typedef enum sa_track_order {
    SA_ORDER_ID = 0,
    SA_ORDER_PATH,
    SA_ORDER_TITLE,
    SA_ORDER_ARTIST,
    SA_ORDER_ALBUM,
    SA_ORDER_DURATION,
    SA_ORDER_BPM,
    SA_ORDER_ANALYZED_AT,
} sa_track_order;

/* Which tracks sa_store_tracks_query selects, and in what order; a zeroed
 * query selects every track by id. Text filters match a substring in any
 * (ASCII) case. Feature filters read the stored groups: tempo is "rhythm"
 * bpm, key and scale are "tonal" key and scale, the tag is an index into
 * "musicnn" tags; a track without the group is left out. */
typedef struct sa_track_query {
    unsigned statuses;         /* bit (1u << status) for each status wanted; 0: any */
    const char *text;          /* in the path, title, artist or album */
    const char *artist, *album;
    double bpm_min, bpm_max;   /* inclusive; 0: unbounded */
    const char *key, *scale;   /* exact: "C#", "minor" */
    int tag, tag_rank;         /* tag among the track's tag_rank highest; tag_rank 0: no tag filter */
    sa_track_order order;      /* ties (and NULLs, last) by id */
    int descending;
    int64_t offset, limit;     /* limit <= 0: all */
} sa_track_query;

/* Calls fn for each selected track in order, from offset, at most limit
 * of them (fn returning non-zero stops early, which is not an error);
 * *total (may be NULL) gets how many tracks the filters select in all.
 * The callback runs with no statement open, so it may use the store. */
sa_err sa_store_tracks_query(sa_store *s, const sa_track_query *q, sa_track_fn fn, void *ctx, int64_t *total);

/* ---- scans ---- */

/* Starts a scan: returns a new scan number. */
sa_err sa_store_scan_begin(sa_store *s, int64_t *scan_id);
/* Records that track id was seen by scan_id; SA_ERR_NOT_FOUND when there is
 * no such track or scan. */
sa_err sa_store_track_seen(sa_store *s, int64_t id, int64_t scan_id);
/* Marks missing every track under root (a folder, absolute: its path starts
 * with root and '/', compared byte for byte, no wildcards) not seen by
 * scan_id; *count gets how many changed (tracks already missing do not). */
sa_err sa_store_mark_missing(sa_store *s, const char *root, int64_t scan_id, int64_t *count);
/* Records every track under folder (absolute, as for mark_missing) as seen
 * by scan_id: a folder the scan could not read keeps its tracks as they are. */
sa_err sa_store_keep_under(sa_store *s, const char *folder, int64_t scan_id);

/* ---- features ---- */

/* Replaces the stored group of (track, g->analyzer) with g; SA_ERR_NOT_FOUND
 * when there is no such track. */
sa_err sa_store_features_put(sa_store *s, int64_t track_id, const sa_feature_group *g);
/* Loads every stored group of a track into f (added/replaced by analyzer). */
sa_err sa_store_features_get(sa_store *s, int64_t track_id, sa_features *f);
/* The stored version of one analyzer's group for a track, 0 when none. */
sa_err sa_store_features_version(sa_store *s, int64_t track_id, const char *analyzer, int *version);

/* ---- vectors ---- */

/* Replaces the vector of (track, profile). A non-finite value is
 * SA_ERR_INVALID; no such track is SA_ERR_NOT_FOUND. */
sa_err sa_store_vector_put(sa_store *s, int64_t track_id, const char *profile, const float *v, int dim);
/* SA_ERR_NOT_FOUND when the track has no vector in that profile. v holds dim
 * floats; a stored vector of another dimension is SA_ERR_FORMAT. */
sa_err sa_store_vector_get(sa_store *s, int64_t track_id, const char *profile, float *v, int dim);
/* Deleting a vector that is not there is not an error. */
sa_err sa_store_vector_delete(sa_store *s, int64_t track_id, const char *profile);

/* Every vector of a profile whose track is analyzed, in id order: *ids gets
 * n ids, *data n*dim floats (both malloc'd, the caller frees them; both NULL
 * when n is 0 or on failure). A vector of another dimension than dim is an
 * SA_ERR_FORMAT naming its track. One consistent snapshot, even while
 * another connection writes. */
sa_err sa_store_vectors_load(sa_store *s, const char *profile, int dim, int64_t **ids, float **data,
                             size_t *n);

/* How many vectors of profile belong to analyzed tracks. */
sa_err sa_store_vectors_count(sa_store *s, const char *profile, int64_t *count);

/* A number that changes whenever a vector of profile is written or deleted
 * (or the status of a track with a vector in profile changes), so an index
 * can tell it is stale; 0 for a profile never written. */
sa_err sa_store_vectors_generation(sa_store *s, const char *profile, int64_t *generation);

/* What changed in a profile's vectors after generation since: the vectors
 * of analyzed tracks written (or whose track became analyzed) since then,
 * and the ids whose vector was deleted or whose track stopped being
 * analyzed. An id is in at most one list; a gone id may never have been
 * indexed. Arrays are malloc'd (NULL when empty); sa_vector_changes_clear
 * frees them. */
typedef struct sa_vector_changes {
    int64_t generation; /* the profile's generation before the rows were read: the next since */
    size_t n_put;
    int64_t *put_ids;
    float *put_data; /* n_put * dim floats */
    size_t n_gone;
    int64_t *gone_ids;
} sa_vector_changes;

/* Fills *out (overwritten, not freed first). Changes made while it reads
 * may be included; they are newer than out->generation, so reading again
 * from there repeats them, and applying them twice is harmless. A vector of
 * another dimension than dim is SA_ERR_FORMAT naming its track. */
sa_err sa_store_vectors_changed_since(sa_store *s, const char *profile, int dim, int64_t since,
                                      sa_vector_changes *out);
void sa_vector_changes_clear(sa_vector_changes *c); /* NULL accepted */

/* ---- index metadata ---- */

typedef struct sa_index_meta {
    char name[64];      /* "music_library" */
    char profile[64];   /* vector profile */
    char type[64];      /* "flat", "ivf", "hnsw", a FAISS factory string */
    int dim;
    int64_t count;      /* vectors in the index */
    int64_t generation; /* sa_store_vectors_generation when built */
    double build_time_s;
    int64_t built_at;   /* unix seconds */
    char checksum[72];  /* hex checksum of the index file */
    char file[1024];    /* where the index file is */
    double recall_at_10; /* measured at build, -1 when not measured */
    char requested[64];  /* the type asked for when it was chosen ("auto"); "" when type was asked for */
} sa_index_meta;

/* Inserts or replaces the metadata of index m->name. */

sa_err sa_store_index_meta_put(sa_store *s, const sa_index_meta *m);
/* SA_ERR_NOT_FOUND when no index of that name was recorded. */
sa_err sa_store_index_meta_get(sa_store *s, const char *name, sa_index_meta *out);

#endif

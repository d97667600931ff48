/* library.h: the music library as a whole: scanning folders into the store,
 * analysing pending tracks with a worker pool, and keeping the index of a
 * vector profile in step with the stored vectors.
 *
 * Every function takes an open store used only by the calling thread; the
 * worker pool analyses files on its own threads and the caller's thread
 * writes results, one transaction per track, so a kill at any moment loses
 * nothing already stored. */
#ifndef SOUNDALIKE_LIBRARY_H
#define SOUNDALIKE_LIBRARY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soundalike/analyzer.h"
#include "soundalike/error.h"
#include "soundalike/features.h"
#include "soundalike/index.h"
#include "soundalike/store.h"

/* ---- scanning ---- */

typedef struct sa_scan_report {
    int64_t files;     /* regular files looked at */
    int64_t added;     /* new audio tracks */
    int64_t changed;   /* tracks whose file changed (to be analysed again) */
    int64_t unchanged; /* tracks left as they were */
    int64_t failed;    /* files with an audio name that are not readable audio */
    int64_t ignored;   /* other files that are not audio */
    int64_t missing;   /* tracks gone since the last scan */
    int64_t unreadable; /* folders and files that could not be read: their tracks are kept as they were */
} sa_scan_report;

/* Walks each root folder recursively (following symlinks, never twice into
 * the same folder), records every audio file found by probing its content,
 * re-probes only new or changed files (size, mtime) and marks tracks no
 * longer present as missing. A root that is not a readable folder is an
 * error; an unreadable file or sub-folder is reported and skipped, and the
 * tracks recorded under such a folder keep their status. */
sa_err sa_library_scan(sa_store *s, const char *const *roots, size_t n_roots, sa_scan_report *report);

/* Records one file as scanning its folder would (probed facts, content
 * hash; re-probed only when new or changed), in one transaction, and gives
 * its track id. A file that is not audio is recorded as failed when its
 * name promises audio, else it is SA_ERR_FORMAT and nothing is recorded;
 * a path that is not a regular file is SA_ERR_INVALID. */
sa_err sa_library_scan_file(sa_store *s, const char *path, int64_t *id);

/* ---- analysis ---- */

typedef struct sa_analysis_progress {
    int64_t done, failed, total;
    double elapsed_s;
    double audio_s; /* seconds of audio analysed so far */
} sa_analysis_progress;

typedef void (*sa_progress_fn)(const sa_analysis_progress *p, void *ctx);

typedef struct sa_analyze_options {
    int jobs; /* worker threads; <= 0 means one per core */
    const sa_analyzer *const *analyzers;
    size_t n_analyzers;
    sa_progress_fn progress; /* called on the caller's thread after each track; may be NULL */
    void *progress_ctx;
    volatile sig_atomic_t *stop; /* when it becomes non-zero, the run ends after the tracks in flight */
} sa_analyze_options;

/* Analyses every pending track, and every analysed track that lacks the
 * current version of one of the analyzers (running only those). Stores each
 * track's features, vectors of every profile it can fill, and status in one
 * transaction; a file that fails is recorded as failed with its error and
 * the run goes on. *report (may be NULL) gets the final progress. */
sa_err sa_library_analyze(sa_store *s, const sa_analyze_options *o, sa_analysis_progress *report);

/* Builds every profile's vector from the track's stored features, stores it
 * (vectors of profiles they cannot fill are deleted) and records them as
 * built under SA_PROFILES_VERSION. Part of the caller's transaction. */
sa_err sa_library_store_vectors(sa_store *s, int64_t track_id);

/* ---- index upkeep ---- */

/* The index file of a profile, beside the store: "<db folder>/<db name>.<profile>.index". */
sa_err sa_library_index_path(const char *db_location, const char *profile, char *out, size_t cap);

/* The profile a library uses: the most preferred profile with stored
 * vectors, or NULL when there are none. */
sa_err sa_library_profile(sa_store *s, const char **profile);

/* Builds the index of profile from the stored vectors, saves it atomically
 * to path, records its metadata (name "music_library") in the store. *out
 * (may be NULL) receives it. type is any of sa_index_new's, or "auto" (or
 * NULL): the exact scan while one scan reads little enough to be fast
 * (sa_library_index_auto_type), our IVF beyond. The IVF and HNSW types get
 * the smallest nprobe or efSearch that reaches recall@10 >= 0.99 against
 * exact search on a sample of the library's own tracks (each query
 * without itself); every type's recall is measured so and recorded
 * (compressed types and factory strings are measured, not tuned). */
sa_err sa_library_index_build(sa_store *s, const char *profile, const char *type, const char *path,
                              sa_index **out, sa_index_meta *meta);

/* What *rebuilt of sa_library_index_open reports: the file as saved, a
 * full rebuild, or the file brought up to date with the vectors changed
 * since it was saved (and saved again). */
enum { SA_INDEX_LOADED = 0, SA_INDEX_REBUILT = 1, SA_INDEX_UPDATED = 2 };

/* Loads the index at path and checks it against the store (profile,
 * dimension, count, vector generation, file checksum). A file behind the
 * store catches up: vectors written since are added or replaced, deleted
 * ones and those of tracks no longer analysed are removed, and it is saved
 * again. A missing or corrupt file is rebuilt from the stored vectors, as
 * is one that catching up would leave poor: an approximate index whose
 * changes exceed half its size or that has grown past twice the library
 * it was trained for, one whose removed-but-kept vectors (HNSW) pass a
 * fifth of it, or an "auto" one whose library now calls for another type.
 * A rebuild keeps the type asked for last time. *rebuilt (may be NULL)
 * says which (SA_INDEX_LOADED, ...). */
sa_err sa_library_index_open(sa_store *s, const char *profile, const char *path, sa_index **out,
                             int *rebuilt);

/* The type "auto" picks for count vectors of dim floats: "flat" while one
 * exact scan reads at most 8 MiB of vectors (31k of 67 dimensions), else
 * "ivf". */
const char *sa_library_index_auto_type(int dim, size_t count);

/* The type a rebuild of profile's index builds: what was asked for last
 * time (often "auto") when meta (the recorded index, or NULL) is that
 * profile's, else "auto". */
const char *sa_library_index_rebuild_type(const sa_index_meta *meta, const char *profile);

/* The recorded index held up against its file and the store. */
typedef struct sa_library_index_report {
    bool recorded;         /* the store records an index; the rest is zero when not */
    sa_index_meta meta;    /* as recorded */
    bool loaded;           /* its file loaded with the recorded checksum and size */
    sa_index_info info;    /* from the loaded file */
    bool current;          /* it holds exactly the profile's stored vectors (loaded, same generation) */
    char verdict[512];     /* "ok", or what is wrong */
    int64_t total_files;   /* tracks in the store, any status */
    int64_t analyzed_files;
    int64_t total_vectors; /* stored vectors of the profile (of analysed tracks) */
    int64_t indexed;       /* vectors in the index (the file's, else the record's) */
    double coverage;       /* indexed / analysed tracks, in percent */
} sa_library_index_report;

/* Fills *out without changing anything (no rebuild, no catching up); it
 * reads every stored vector of the profile to compare them with the file. */
sa_err sa_library_index_check(sa_store *s, sa_library_index_report *out);

#endif

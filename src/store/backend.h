/* backend.h: the operations a store backend implements (internal to src/store).
 *
 * store.c owns the public functions: it checks their arguments once for every
 * backend and forwards to the ops table of the backend the location chose. A
 * backend embeds struct sa_store as the first member of its own connection
 * struct, so it can cast the sa_store * it receives back to its own type. */
#ifndef SA_STORE_BACKEND_H
#define SA_STORE_BACKEND_H

#include "soundalike/store.h"

typedef struct sa_store_ops {
    void (*close)(sa_store *s);
    int (*schema_version)(sa_store *s);

    sa_err (*begin)(sa_store *s);
    sa_err (*commit)(sa_store *s);
    sa_err (*rollback)(sa_store *s);

    sa_err (*track_by_id)(sa_store *s, int64_t id, sa_track *out);
    sa_err (*track_by_path)(sa_store *s, const char *path, sa_track *out);
    sa_err (*track_put)(sa_store *s, const sa_track *t, int64_t *id);
    sa_err (*track_set_status)(sa_store *s, int64_t id, sa_track_status status, const char *error);
    sa_err (*tracks_each)(sa_store *s, int status, sa_track_fn fn, void *ctx);
    sa_err (*count_tracks)(sa_store *s, sa_store_counts *out);

    sa_err (*scan_begin)(sa_store *s, int64_t *scan_id);
    sa_err (*track_seen)(sa_store *s, int64_t id, int64_t scan_id);
    /* root has no trailing '/' ("" for the file system root) */
    sa_err (*mark_missing)(sa_store *s, const char *root, int64_t scan_id, int64_t *count);
    /* folder likewise */
    sa_err (*keep_under)(sa_store *s, const char *folder, int64_t scan_id);

    sa_err (*features_put)(sa_store *s, int64_t track_id, const sa_feature_group *g);
    sa_err (*features_get)(sa_store *s, int64_t track_id, sa_features *f);
    sa_err (*features_version)(sa_store *s, int64_t track_id, const char *analyzer, int *version);

    sa_err (*vector_put)(sa_store *s, int64_t track_id, const char *profile, const float *v, int dim);
    sa_err (*vector_get)(sa_store *s, int64_t track_id, const char *profile, float *v, int dim);
    sa_err (*vector_delete)(sa_store *s, int64_t track_id, const char *profile);
    sa_err (*vectors_load)(sa_store *s, const char *profile, int dim, int64_t **ids, float **data,
                           size_t *n);
    sa_err (*vectors_count)(sa_store *s, const char *profile, int64_t *count);
    sa_err (*vectors_generation)(sa_store *s, const char *profile, int64_t *generation);
    sa_err (*vectors_changed_since)(sa_store *s, const char *profile, int dim, int64_t since,
                                    sa_vector_changes *out);

    sa_err (*index_meta_put)(sa_store *s, const sa_index_meta *m);
    sa_err (*index_meta_get)(sa_store *s, const char *name, sa_index_meta *out);

    sa_err (*tracks_query)(sa_store *s, const sa_track_query *q, sa_track_fn fn, void *ctx, int64_t *total);
} sa_store_ops;

struct sa_store {
    const sa_store_ops *ops;
};

/* The SQLite backend: path is a file name (parent folders already exist). */
sa_err sa_sqlite_open(const char *path, sa_store **out);

#endif

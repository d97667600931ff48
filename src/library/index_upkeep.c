/* index_upkeep.c: stored vectors, and the index kept in step with them.
 *
 * The store is the system of record; an index file is a cache of one
 * profile's vectors. It is trusted only when its metadata in the store
 * matches (profile, dimension, count, vector generation) and the file's
 * checksum matches the one recorded; otherwise it is rebuilt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soundalike/library.h"
#include "soundalike/log.h"
#include "soundalike/profile.h"

#define INDEX_NAME "music_library"

sa_err sa_library_store_vectors(sa_store *s, int64_t track_id, const sa_features *f) {
    size_t n;
    const sa_profile *const *all = sa_profile_all(&n);
    sa_err err = SA_OK;
    for (size_t i = 0; !err && i < n; i++) {
        float *v = malloc((size_t)all[i]->dim * sizeof *v);
        if (!v)
            return sa_error_set(SA_ERR_NOMEM, "vector");
        if (all[i]->build(f, v) == SA_OK) {
            err = sa_store_vector_put(s, track_id, all[i]->name, v, all[i]->dim);
        } else {
            err = sa_store_vector_delete(s, track_id, all[i]->name);
            if (err == SA_ERR_NOT_FOUND)
                err = SA_OK;
        }
        free(v);
    }
    return err;
}

sa_err sa_library_index_path(const char *db_location, const char *profile, char *out, size_t cap) {
    if ((size_t)snprintf(out, cap, "%s.%s.index", db_location, profile) >= cap)
        return sa_error_set(SA_ERR_INVALID, "index path for %s is too long", db_location);
    return SA_OK;
}

sa_err sa_library_profile(sa_store *s, const char **profile) {
    size_t n;
    const sa_profile *const *all = sa_profile_all(&n);
    for (size_t i = 0; i < n; i++) {
        int64_t count = 0;
        sa_err err = sa_store_vectors_count(s, all[i]->name, &count);
        if (err)
            return err;
        if (count > 0) {
            *profile = all[i]->name;
            return SA_OK;
        }
    }
    *profile = NULL;
    return SA_OK;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

sa_err sa_library_index_build(sa_store *s, const char *profile_name, const char *type, const char *path,
                              sa_index **out, sa_index_meta *meta_out) {
    const sa_profile *profile = sa_profile_find(profile_name);
    if (!profile)
        return sa_error_set(SA_ERR_INVALID, "no vector profile named '%s'", profile_name);
    double t0 = now_s();
    sa_index_meta meta = {.dim = profile->dim, .recall_at_10 = -1};
    /* the generation is read first, so a vector written during the build makes the index stale */
    sa_err err = sa_store_vectors_generation(s, profile->name, &meta.generation);
    int64_t *ids = NULL;
    float *data = NULL;
    size_t n = 0;
    sa_index *idx = NULL;
    if (!err)
        err = sa_store_vectors_load(s, profile->name, profile->dim, &ids, &data, &n);
    if (!err)
        err = sa_index_new(type, profile->dim, n, &idx);
    if (!err)
        err = sa_index_build(idx, ids, data, n);
    free(ids);
    free(data);
    if (!err)
        err = sa_index_save(idx, path, meta.checksum);
    if (!err) {
        snprintf(meta.name, sizeof meta.name, "%s", INDEX_NAME);
        snprintf(meta.profile, sizeof meta.profile, "%s", profile->name);
        snprintf(meta.type, sizeof meta.type, "%s", sa_index_type(idx));
        snprintf(meta.file, sizeof meta.file, "%s", path);
        meta.count = (int64_t)sa_index_count(idx);
        meta.build_time_s = now_s() - t0;
        meta.built_at = (int64_t)time(NULL);
        err = sa_store_index_meta_put(s, &meta);
    }
    if (err) {
        sa_index_free(idx);
        return err;
    }
    sa_log_info("index of %lld %s vectors built in %.3f s", (long long)meta.count, profile->name,
                meta.build_time_s);
    if (meta_out)
        *meta_out = meta;
    if (out)
        *out = idx;
    else
        sa_index_free(idx);
    return SA_OK;
}

/* Why the recorded index cannot be used as it is, or NULL when it can. */
static const char *stale_reason(sa_store *s, const sa_profile *profile, const char *path,
                                const sa_index_meta *meta, sa_err *err) {
    int64_t generation = 0;
    *err = sa_store_vectors_generation(s, profile->name, &generation);
    if (*err)
        return NULL;
    if (strcmp(meta->profile, profile->name) != 0)
        return "it holds another profile";
    if (strcmp(meta->file, path) != 0)
        return "it was saved elsewhere";
    if (meta->dim != profile->dim)
        return "its dimension differs from the profile's";
    if (meta->generation != generation)
        return "vectors changed since it was built";
    return NULL;
}

/* Loads path and checks the file against meta; NULL with *idx set when it matches. */
static const char *load_checked(const char *path, const sa_index_meta *meta, sa_index **idx) {
    char checksum[72];
    if (sa_index_load(path, idx, checksum) != SA_OK)
        return sa_error_detail();
    const char *why = NULL;
    if (strcmp(checksum, meta->checksum) != 0)
        why = "its checksum differs from the recorded one";
    else if ((int64_t)sa_index_count(*idx) != meta->count || sa_index_dim(*idx) != meta->dim)
        why = "its size differs from the recorded one";
    if (why) {
        sa_index_free(*idx);
        *idx = NULL;
    }
    return why;
}

sa_err sa_library_index_open(sa_store *s, const char *profile_name, const char *path, sa_index **out,
                             int *rebuilt) {
    const sa_profile *profile = sa_profile_find(profile_name);
    if (!profile)
        return sa_error_set(SA_ERR_INVALID, "no vector profile named '%s'", profile_name);
    sa_index_meta meta = {0};
    const char *why = NULL;
    sa_err err = sa_store_index_meta_get(s, INDEX_NAME, &meta);
    int recorded = err == SA_OK;
    if (err == SA_ERR_NOT_FOUND)
        why = "none was built yet", err = SA_OK;
    else if (err)
        return err;
    if (!why)
        why = stale_reason(s, profile, path, &meta, &err);
    if (err)
        return err;
    sa_index *idx = NULL;
    if (!why)
        why = load_checked(path, &meta, &idx);
    if (rebuilt)
        *rebuilt = why != NULL;
    if (!why) {
        *out = idx;
        return SA_OK;
    }
    sa_log_info("rebuilding the %s index: %s", profile->name, why);
    /* a rebuild keeps the type the user chose last time */
    return sa_library_index_build(s, profile->name, recorded && meta.type[0] ? meta.type : "flat", path, out,
                                  NULL);
}

/* live.c: the live index: shared by reference, rebuilt aside and swapped, grown in place by add-track.
 *
 * Queries take a reference under a mutex held only to copy a pointer, so a
 * build (seconds for a large library) never blocks them: it builds a new
 * index with its own store connection and swaps the pointer; the old index
 * is freed when its last query releases it. add-track changes the index in
 * place under the index's write lock (a few microseconds). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/internal.h"

#define INDEX_NAME "music_library"

static const struct {
    const char *type, *name;
} type_names[] = {
    {"flat", "IndexFlatIP"}, {"ivf", "IndexIVFFlat"}, {"ivfsq", "IndexIVFScalarQuantizer"},
    {"ivfpq", "IndexIVFPQ"}, {"hnsw", "IndexHNSWFlat"},
};
enum { N_TYPE_NAMES = sizeof type_names / sizeof type_names[0] };

const char *srv_index_type_name(const char *type) {
    for (size_t i = 0; i < N_TYPE_NAMES; i++)
        if (strcmp(type, type_names[i].type) == 0)
            return type_names[i].name;
    return type;
}

const char *srv_index_type_parse(const char *name) {
    for (size_t i = 0; i < N_TYPE_NAMES; i++)
        if (strcasecmp(name, type_names[i].type) == 0 || strcasecmp(name, type_names[i].name) == 0)
            return type_names[i].type;
    return name;
}

static sa_err wrap(sa_index *idx, const sa_profile *profile, int64_t generation, double build_time_s,
                   srv_index **out) {
    srv_index *ix = calloc(1, sizeof *ix);
    if (!ix || pthread_rwlock_init(&ix->lock, NULL) != 0) {
        free(ix);
        sa_index_free(idx);
        return sa_error_set(SA_ERR_NOMEM, "live index");
    }
    atomic_init(&ix->refs, 1);
    ix->idx = idx;
    ix->profile = profile;
    ix->generation = generation;
    ix->build_time_s = build_time_s;
    *out = ix;
    return SA_OK;
}

srv_index *srv_index_acquire(sa_server *srv) {
    pthread_mutex_lock(&srv->index_mu);
    srv_index *ix = srv->index;
    if (ix)
        atomic_fetch_add_explicit(&ix->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&srv->index_mu);
    return ix;
}

void srv_index_release(srv_index *ix) {
    if (!ix || atomic_fetch_sub_explicit(&ix->refs, 1, memory_order_acq_rel) != 1)
        return;
    sa_index_free(ix->idx);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

/* Makes fresh (whose reference passes to the server) the live index. */
static void swap_in(sa_server *srv, srv_index *fresh) {
    pthread_mutex_lock(&srv->index_mu);
    srv_index *old = srv->index;
    srv->index = fresh;
    pthread_mutex_unlock(&srv->index_mu);
    srv_index_release(old);
}

void srv_index_clear(sa_server *srv) { swap_in(srv, NULL); }

/* Wraps idx as described by the metadata just recorded, swaps it in and
 * hands the caller a reference. */
static sa_err install(sa_server *srv, sa_store *s, sa_index *idx, const sa_profile *profile, srv_index **out) {
    sa_index_meta meta = {0};
    sa_err err = sa_store_index_meta_get(s, INDEX_NAME, &meta);
    if (err) {
        sa_index_free(idx);
        return err;
    }
    srv_index *ix = NULL;
    err = wrap(idx, profile, meta.generation, meta.build_time_s, &ix);
    if (err)
        return err;
    atomic_fetch_add(&ix->refs, 1);
    swap_in(srv, ix);
    *out = ix;
    return SA_OK;
}

static sa_err choose_profile(sa_store *s, const char *asked, const sa_profile **out) {
    const char *name = asked;
    sa_err err = name ? SA_OK : sa_library_profile(s, &name);
    if (err)
        return err;
    if (!name)
        return sa_error_set(SA_ERR_CONFLICT, "no analysed tracks yet: scan the library and analyse it first");
    const sa_profile *profile = sa_profile_find(name);
    int64_t count = 0;
    err = profile ? sa_store_vectors_count(s, name, &count) : sa_error_set(SA_ERR_INVALID, "no profile %s", name);
    if (!err && count == 0)
        err = sa_error_set(SA_ERR_CONFLICT, "no analysed track has a %s vector (%s)%s", name, profile->description,
                           strcmp(name, "descriptors") == 0 ? "" : ": is the MusiCNN tagger installed?");
    *out = profile;
    return err;
}

/* The live index when it is the one asked for and up to date, with a reference. */
static srv_index *reusable(sa_server *srv, sa_store *s, const sa_profile *profile, const char *type) {
    int64_t generation;
    if (sa_store_vectors_generation(s, profile->name, &generation) != SA_OK)
        return NULL;
    srv_index *cur = srv_index_acquire(srv);
    if (cur && cur->profile == profile && cur->generation == generation &&
        strcmp(sa_index_type(cur->idx), type) == 0)
        return cur;
    srv_index_release(cur);
    return NULL;
}

static sa_err build_locked(sa_server *srv, sa_store *s, srv_build *b) {
    const sa_profile *profile = NULL;
    sa_err err = choose_profile(s, b->profile, &profile);
    if (err)
        return err;
    char path[4200];
    err = sa_library_index_path(srv->db, profile->name, path, sizeof path);
    sa_index_meta meta = {0};
    sa_err merr = err ? err : sa_store_index_meta_get(s, INDEX_NAME, &meta);
    if (merr && merr != SA_ERR_NOT_FOUND)
        return merr;
    int recorded = merr == SA_OK && strcmp(meta.profile, profile->name) == 0;
    const char *type = b->type ? b->type : sa_library_index_rebuild_type(recorded ? &meta : NULL, profile->name);
    const char *concrete = type;
    if (strcmp(type, "auto") == 0) {
        int64_t count = 0;
        if ((err = sa_store_vectors_count(s, profile->name, &count)))
            return err;
        concrete = sa_library_index_auto_type(profile->dim, (size_t)count);
    }
    b->rebuilt = 1;
    if (!b->force && (b->index = reusable(srv, s, profile, concrete)) != NULL) {
        b->rebuilt = 0;
        return SA_OK;
    }
    sa_index *idx = NULL;
    if (!b->force && recorded && strcmp(meta.type, concrete) == 0)
        err = sa_library_index_open(s, profile->name, path, &idx, &b->rebuilt);
    else
        err = sa_library_index_build(s, profile->name, type, path, &idx, NULL);
    return err ? err : install(srv, s, idx, profile, &b->index);
}

sa_err srv_index_build(sa_server *srv, sa_store *s, srv_build *b) {
    pthread_mutex_lock(&srv->build_mu);
    atomic_store(&srv->building, 1);
    b->index = NULL;
    sa_err err = build_locked(srv, s, b);
    atomic_store(&srv->building, 0);
    pthread_mutex_unlock(&srv->build_mu);
    return err;
}

/* The profile whose own index file path is, or NULL; own gets that file as
 * the server spells it everywhere else (builds, startup, the recorded
 * file). Both are compared with their folders resolved: --db may be
 * relative or run through a symlink. */
static const sa_profile *own_file_of(sa_server *srv, const char *path, char own[PATH_MAX]) {
    char real[PATH_MAX];
    if (srv_path_real_folder(path, real, sizeof real) != SA_OK)
        return NULL;
    size_t n;
    const sa_profile *const *all = sa_profile_all(&n);
    for (size_t i = 0; i < n; i++) {
        char own_real[PATH_MAX];
        if (sa_library_index_path(srv->db, all[i]->name, own, PATH_MAX) == SA_OK &&
            srv_path_real_folder(own, own_real, sizeof own_real) == SA_OK && strcmp(own_real, real) == 0)
            return all[i];
    }
    return NULL;
}

static sa_err load_other(const char *path, sa_index **idx, const sa_profile **profile) {
    sa_err err = sa_index_load(path, idx, NULL);
    if (err)
        return err;
    size_t n;
    const sa_profile *const *all = sa_profile_all(&n);
    for (size_t i = 0; i < n; i++)
        if (all[i]->dim == sa_index_dim(*idx)) {
            *profile = all[i];
            return SA_OK;
        }
    int dim = sa_index_dim(*idx);
    sa_index_free(*idx);
    *idx = NULL;
    return sa_error_set(SA_ERR_FORMAT, "%s holds %d-dimensional vectors: no profile has that dimension", path, dim);
}

sa_err srv_index_load(sa_server *srv, sa_store *s, const char *path, srv_index **out, int *rebuilt) {
    pthread_mutex_lock(&srv->build_mu);
    char own[PATH_MAX];
    const sa_profile *profile = own_file_of(srv, path, own);
    sa_index *idx = NULL;
    sa_err err;
    *rebuilt = 0;
    if (profile) { /* checked against the store, rebuilt when stale */
        err = sa_library_index_open(s, profile->name, own, &idx, rebuilt);
        if (!err)
            err = install(srv, s, idx, profile, out);
    } else { /* a copy saved aside: its freshness is unknown */
        err = load_other(path, &idx, &profile);
        srv_index *ix = NULL;
        if (!err)
            err = wrap(idx, profile, -1, 0, &ix);
        if (!err) {
            atomic_fetch_add(&ix->refs, 1);
            swap_in(srv, ix);
            *out = ix;
        }
    }
    pthread_mutex_unlock(&srv->build_mu);
    return err;
}

sa_err srv_index_save(sa_server *srv, sa_store *s, const char *path, srv_index **saved, char checksum[72]) {
    srv_index *ix = srv_index_acquire(srv);
    if (!ix)
        return sa_error_set(SA_ERR_CONFLICT, "no index yet: POST /api/faiss/build-index first");
    /* index.h: saving needs the index to itself */
    pthread_rwlock_wrlock(&ix->lock);
    sa_err err = sa_index_save(ix->idx, path, checksum);
    sa_index_meta meta = {.dim = ix->profile->dim, .count = (int64_t)sa_index_count(ix->idx),
                          .generation = ix->generation, .build_time_s = ix->build_time_s,
                          .built_at = (int64_t)time(NULL), .recall_at_10 = -1};
    snprintf(meta.type, sizeof meta.type, "%s", sa_index_type(ix->idx));
    pthread_rwlock_unlock(&ix->lock);
    /* recorded only when a restart may trust it: the profile's own file, known fresh */
    char own[PATH_MAX];
    if (!err && ix->generation >= 0 && own_file_of(srv, path, own) == ix->profile) {
        snprintf(meta.name, sizeof meta.name, "%s", INDEX_NAME);
        snprintf(meta.profile, sizeof meta.profile, "%s", ix->profile->name);
        snprintf(meta.checksum, sizeof meta.checksum, "%s", checksum);
        if ((size_t)snprintf(meta.file, sizeof meta.file, "%s", own) >= sizeof meta.file)
            err = sa_error_set(SA_ERR_INVALID, "%s: too long a path to record", own);
        else
            err = sa_store_index_meta_put(s, &meta);
    }
    if (err) {
        srv_index_release(ix);
        return err;
    }
    *saved = ix;
    return SA_OK;
}

sa_err srv_index_add_track(sa_server *srv, sa_store *s, int64_t id, int64_t generation_before,
                           int64_t generation_after, int *indexed) {
    *indexed = 0;
    /* no build may start from vectors read before this track's were written and swap in after */
    pthread_mutex_lock(&srv->build_mu);
    srv_index *ix = srv_index_acquire(srv);
    sa_err err = SA_OK;
    float *v = ix ? malloc((size_t)ix->profile->dim * sizeof *v) : NULL;
    if (ix && !v)
        err = sa_error_set(SA_ERR_NOMEM, "vector");
    if (v) {
        err = sa_store_vector_get(s, id, ix->profile->name, v, ix->profile->dim);
        if (err == SA_ERR_NOT_FOUND) /* the track has no vector of the live profile */
            err = SA_OK;
        else if (!err) {
            pthread_rwlock_wrlock(&ix->lock);
            err = sa_index_add(ix->idx, &id, v, 1);
            if (!err && ix->generation == generation_before)
                ix->generation = generation_after;
            pthread_rwlock_unlock(&ix->lock);
            *indexed = err == SA_OK;
        }
    }
    free(v);
    srv_index_release(ix);
    pthread_mutex_unlock(&srv->build_mu);
    return err;
}

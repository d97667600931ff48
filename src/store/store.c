/* store.c: the public store API: picks a backend by location, checks
 * arguments once for every backend, and forwards to it. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/backend.h"

/* Far above any profile; keeps dim * sizeof(float) well inside an int. */
#define MAX_DIM 65536

static const char *const status_names[] = {"pending", "analyzed", "failed", "missing"};

const char *sa_track_status_name(sa_track_status s) {
    return (unsigned)s < sizeof status_names / sizeof *status_names ? status_names[s] : "unknown";
}

sa_err sa_track_status_parse(const char *name, sa_track_status *out) {
    for (size_t i = 0; name && i < sizeof status_names / sizeof *status_names; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *out = (sa_track_status)i;
            return SA_OK;
        }
    return sa_error_set(SA_ERR_INVALID, "unknown track status '%s'", name ? name : "(null)");
}

static int status_valid(int status) { return status >= SA_TRACK_PENDING && status <= SA_TRACK_MISSING; }

void sa_track_clear(sa_track *t) {
    if (!t)
        return;
    free(t->path);
    free(t->content_hash);
    free(t->error);
    free(t->codec);
    free(t->title);
    free(t->artist);
    free(t->album);
    free(t->genre);
    memset(t, 0, sizeof *t);
}

static sa_err invalid(const char *fn, const char *what) {
    return sa_error_set(SA_ERR_INVALID, "%s: %s", fn, what);
}

/* Creates the folders above the file path (like mkdir -p on its dirname). */
static sa_err make_parents(const char *path) {
    char *dir = strdup(path);
    if (!dir)
        return sa_error_set(SA_ERR_NOMEM, "store path %s", path);
    sa_err err = SA_OK;
    for (char *p = strchr(dir + 1, '/'); p && !err; p = strchr(p + 1, '/')) {
        *p = '\0';
        struct stat st;
        if (mkdir(dir, 0777) != 0) {
            int e = errno;
            if (e != EEXIST && !(stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
                err = sa_error_set(SA_ERR_IO, "cannot create folder %s for the store: %s", dir, strerror(e));
        }
        *p = '/';
    }
    free(dir);
    return err;
}

/* "scheme://..." with a letter-only scheme: a server URL, not a file. */
static int has_scheme(const char *location, const char *scheme) {
    size_t n = strlen(scheme);
    return strncmp(location, scheme, n) == 0 && strncmp(location + n, "://", 3) == 0;
}

static int is_url(const char *location) {
    size_t n = strspn(location, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+.-");
    return n > 0 && strncmp(location + n, "://", 3) == 0;
}

sa_err sa_store_open(const char *location, sa_store **out) {
    if (!location || !*location || !out)
        return invalid(__func__, "location and out are required");
    *out = NULL;
    /* the URL may carry a password: never echo it */
    if (has_scheme(location, "postgresql") || has_scheme(location, "postgres"))
        return sa_error_set(SA_ERR_UNSUPPORTED, "PostgreSQL stores (postgresql://...) are not supported "
                                                "by this build yet; use a SQLite file path");
    if (is_url(location))
        return sa_error_set(SA_ERR_UNSUPPORTED, "store location '%.*s://...' has an unknown scheme",
                            (int)strcspn(location, ":"), location);
    sa_err err = make_parents(location);
    return err ? err : sa_sqlite_open(location, out);
}

void sa_store_close(sa_store *s) {
    if (s)
        s->ops->close(s);
}

int sa_store_schema_version(sa_store *s) { return s ? s->ops->schema_version(s) : 0; }

sa_err sa_store_begin(sa_store *s) { return s ? s->ops->begin(s) : invalid(__func__, "no store"); }
sa_err sa_store_commit(sa_store *s) { return s ? s->ops->commit(s) : invalid(__func__, "no store"); }
sa_err sa_store_rollback(sa_store *s) { return s ? s->ops->rollback(s) : invalid(__func__, "no store"); }

/* ---- tracks ---- */

sa_err sa_store_track_by_id(sa_store *s, int64_t id, sa_track *out) {
    if (!s || !out)
        return invalid(__func__, "store and out are required");
    memset(out, 0, sizeof *out);
    return s->ops->track_by_id(s, id, out);
}

sa_err sa_store_track_by_path(sa_store *s, const char *path, sa_track *out) {
    if (!s || !path || !out)
        return invalid(__func__, "store, path and out are required");
    memset(out, 0, sizeof *out);
    return s->ops->track_by_path(s, path, out);
}

sa_err sa_store_track_put(sa_store *s, const sa_track *t, int64_t *id) {
    if (!s || !t)
        return invalid(__func__, "store and track are required");
    if (!t->path || t->path[0] != '/')
        return sa_error_set(SA_ERR_INVALID, "track path '%s' is not absolute", t->path ? t->path : "");
    if (!status_valid((int)t->status))
        return sa_error_set(SA_ERR_INVALID, "track %s: bad status %d", t->path, (int)t->status);
    int64_t ignored;
    return s->ops->track_put(s, t, id ? id : &ignored);
}

sa_err sa_store_track_set_status(sa_store *s, int64_t id, sa_track_status status, const char *error) {
    if (!s)
        return invalid(__func__, "no store");
    if (!status_valid((int)status))
        return sa_error_set(SA_ERR_INVALID, "track %lld: bad status %d", (long long)id, (int)status);
    return s->ops->track_set_status(s, id, status, error);
}

sa_err sa_store_tracks_each(sa_store *s, int status, sa_track_fn fn, void *ctx) {
    if (!s || !fn)
        return invalid(__func__, "store and fn are required");
    if (status >= 0 && !status_valid(status))
        return sa_error_set(SA_ERR_INVALID, "tracks_each: bad status %d", status);
    return s->ops->tracks_each(s, status < 0 ? -1 : status, fn, ctx);
}

sa_err sa_store_tracks_query(sa_store *s, const sa_track_query *q, sa_track_fn fn, void *ctx, int64_t *total) {
    if (!s || !q || !fn)
        return invalid(__func__, "store, query and fn are required");
    if (q->order < SA_ORDER_ID || q->order > SA_ORDER_ANALYZED_AT)
        return sa_error_set(SA_ERR_INVALID, "tracks_query: bad order %d", (int)q->order);
    if (q->tag_rank < 0 || (q->tag_rank > 0 && q->tag < 0))
        return sa_error_set(SA_ERR_INVALID, "tracks_query: bad tag %d (rank %d)", q->tag, q->tag_rank);
    int64_t ignored;
    return s->ops->tracks_query(s, q, fn, ctx, total ? total : &ignored);
}

sa_err sa_store_count_tracks(sa_store *s, sa_store_counts *out) {
    if (!s || !out)
        return invalid(__func__, "store and out are required");
    memset(out, 0, sizeof *out);
    return s->ops->count_tracks(s, out);
}

/* ---- scans ---- */

sa_err sa_store_scan_begin(sa_store *s, int64_t *scan_id) {
    if (!s || !scan_id)
        return invalid(__func__, "store and scan_id are required");
    return s->ops->scan_begin(s, scan_id);
}

sa_err sa_store_track_seen(sa_store *s, int64_t id, int64_t scan_id) {
    return s ? s->ops->track_seen(s, id, scan_id) : invalid(__func__, "no store");
}

/* *folder gets root without its trailing '/' ("/music/" and "/music" are
 * the same folder; "/" becomes "", the file system root). */
static sa_err folder_of(const char *root, char **folder) {
    if (root[0] != '/')
        return sa_error_set(SA_ERR_INVALID, "library folder '%s' is not absolute", root);
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    *folder = strndup(root, n);
    return *folder ? SA_OK : sa_error_set(SA_ERR_NOMEM, "library folder %s", root);
}

sa_err sa_store_mark_missing(sa_store *s, const char *root, int64_t scan_id, int64_t *count) {
    if (!s || !root || !count)
        return invalid(__func__, "store, root and count are required");
    char *folder;
    sa_err err = folder_of(root, &folder);
    if (err)
        return err;
    err = s->ops->mark_missing(s, folder, scan_id, count);
    free(folder);
    return err;
}

sa_err sa_store_keep_under(sa_store *s, const char *root, int64_t scan_id) {
    if (!s || !root)
        return invalid(__func__, "store and folder are required");
    char *folder;
    sa_err err = folder_of(root, &folder);
    if (err)
        return err;
    err = s->ops->keep_under(s, folder, scan_id);
    free(folder);
    return err;
}

/* ---- features ---- */

sa_err sa_store_features_put(sa_store *s, int64_t track_id, const sa_feature_group *g) {
    if (!s || !g || !g->analyzer || !*g->analyzer)
        return invalid(__func__, "store and a named feature group are required");
    return s->ops->features_put(s, track_id, g);
}

sa_err sa_store_features_get(sa_store *s, int64_t track_id, sa_features *f) {
    if (!s || !f)
        return invalid(__func__, "store and features are required");
    return s->ops->features_get(s, track_id, f);
}

sa_err sa_store_features_version(sa_store *s, int64_t track_id, const char *analyzer, int *version) {
    if (!s || !analyzer || !version)
        return invalid(__func__, "store, analyzer and version are required");
    return s->ops->features_version(s, track_id, analyzer, version);
}

/* ---- vectors ---- */

static sa_err check_vector_args(const char *fn, const char *profile, int dim) {
    if (!profile || !*profile)
        return invalid(fn, "a profile name is required");
    if (dim <= 0 || dim > MAX_DIM)
        return sa_error_set(SA_ERR_RANGE, "%s: dimension %d of profile %s is outside 1..%d", fn, dim, profile,
                            MAX_DIM);
    return SA_OK;
}

sa_err sa_store_vector_put(sa_store *s, int64_t track_id, const char *profile, const float *v, int dim) {
    if (!s || !v)
        return invalid(__func__, "store and vector are required");
    sa_err err = check_vector_args(__func__, profile, dim);
    if (err)
        return err;
    /* one NaN would poison every similarity computed against this vector */
    for (int i = 0; i < dim; i++)
        if (!isfinite(v[i]))
            return sa_error_set(SA_ERR_INVALID, "vector of track %lld (profile %s) has a non-finite value at %d",
                                (long long)track_id, profile, i);
    return s->ops->vector_put(s, track_id, profile, v, dim);
}

sa_err sa_store_vector_get(sa_store *s, int64_t track_id, const char *profile, float *v, int dim) {
    if (!s || !v)
        return invalid(__func__, "store and vector are required");
    sa_err err = check_vector_args(__func__, profile, dim);
    return err ? err : s->ops->vector_get(s, track_id, profile, v, dim);
}

sa_err sa_store_vector_delete(sa_store *s, int64_t track_id, const char *profile) {
    if (!s || !profile || !*profile)
        return invalid(__func__, "store and profile are required");
    return s->ops->vector_delete(s, track_id, profile);
}

sa_err sa_store_vectors_load(sa_store *s, const char *profile, int dim, int64_t **ids, float **data,
                             size_t *n) {
    if (!s || !ids || !data || !n)
        return invalid(__func__, "store, ids, data and n are required");
    *ids = NULL;
    *data = NULL;
    *n = 0;
    sa_err err = check_vector_args(__func__, profile, dim);
    return err ? err : s->ops->vectors_load(s, profile, dim, ids, data, n);
}

sa_err sa_store_vectors_count(sa_store *s, const char *profile, int64_t *count) {
    if (!s || !profile || !*profile || !count)
        return invalid(__func__, "store, profile and count are required");
    return s->ops->vectors_count(s, profile, count);
}

sa_err sa_store_vectors_generation(sa_store *s, const char *profile, int64_t *generation) {
    if (!s || !profile || !*profile || !generation)
        return invalid(__func__, "store, profile and generation are required");
    return s->ops->vectors_generation(s, profile, generation);
}

sa_err sa_store_vectors_changed_since(sa_store *s, const char *profile, int dim, int64_t since,
                                      sa_vector_changes *out) {
    if (!s || !out)
        return invalid(__func__, "store and out are required");
    memset(out, 0, sizeof *out);
    sa_err err = check_vector_args(__func__, profile, dim);
    return err ? err : s->ops->vectors_changed_since(s, profile, dim, since, out);
}

void sa_vector_changes_clear(sa_vector_changes *c) {
    if (!c)
        return;
    free(c->put_ids);
    free(c->put_data);
    free(c->gone_ids);
    memset(c, 0, sizeof *c);
}

/* ---- index metadata ---- */

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

sa_err sa_store_index_meta_put(sa_store *s, const sa_index_meta *m) {
    if (!s || !m)
        return invalid(__func__, "store and metadata are required");
    if (!TERMINATED(m->name) || !TERMINATED(m->profile) || !TERMINATED(m->type) || !TERMINATED(m->checksum) ||
        !TERMINATED(m->file) || !TERMINATED(m->requested))
        return invalid(__func__, "a text field of the index metadata is not terminated");
    if (!m->name[0])
        return invalid(__func__, "the index needs a name");
    return s->ops->index_meta_put(s, m);
}

sa_err sa_store_index_meta_get(sa_store *s, const char *name, sa_index_meta *out) {
    if (!s || !name || !out)
        return invalid(__func__, "store, name and out are required");
    memset(out, 0, sizeof *out);
    return s->ops->index_meta_get(s, name, out);
}

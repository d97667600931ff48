/* routes_faiss.c: the seed's endpoints under /api/faiss, with its parameters and response shapes.
 *
 * A library track is found by id or path and searched by its stored
 * vector, on the event thread (a scan of the index, well under a
 * millisecond per 100k tracks). Anything that decodes audio, builds or
 * writes an index is deferred to the job pool. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soundalike/log.h"
#include "soundalike/playlist.h"
#include "server/internal.h"

/* ---- results in the guide's shapes ---- */

static json_t *items_json(const sa_playlist *p) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < p->count; i++)
        if (json_array_append_new(arr, json_pack("{ss ss sf sI}", "track_path", p->items[i].path, "track_name",
                                                 srv_base_name(p->items[i].path), "similarity",
                                                 (double)p->items[i].similarity, "track_id",
                                                 (json_int_t)p->items[i].id)) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

/* What a similar-tracks or playlist request asked for, once resolved. */
typedef struct query {
    int playlist;     /* generate-playlist's shape instead of similar-tracks' */
    size_t n;         /* results asked for */
    int64_t id;       /* the stored track, or 0 for a file outside the library */
    char path[PATH_MAX];
} query;

static void reply_results(srv_request *req, const query *q, const sa_playlist *p) {
    json_t *id = q->id ? json_integer(q->id) : json_null();
    if (!q->playlist) {
        srv_reply_json(req, 200, json_pack("{ss ss sI so so}", "query_file", q->path, "query_name",
                                           srv_base_name(q->path), "total_results", (json_int_t)p->count,
                                           "similar_tracks", items_json(p), "query_track_id", id));
        return;
    }
    sa_playlist_stats st;
    sa_playlist_summarise(p, &st);
    srv_reply_json(req, 200,
                   json_pack("{ss ss sI sI so s{sf sf sf sf} so}", "seed_track", q->path, "seed_name",
                             srv_base_name(q->path), "playlist_length", (json_int_t)p->count, "requested_length",
                             (json_int_t)q->n, "playlist", items_json(p), "statistics", "average_similarity",
                             (double)st.average, "min_similarity", (double)st.min, "max_similarity", (double)st.max,
                             "similarity_range", (double)st.range, "seed_track_id", id));
}

static srv_index *live_or_409(srv_request *req) {
    srv_index *ix = srv_index_acquire(req->srv);
    if (!ix)
        srv_reply_error(req, 409, "no index yet: POST /api/faiss/build-index first");
    return ix;
}

/* Searches by a stored track or by a vector (v, when id is 0) and answers. */
static void search_and_reply(srv_request *req, sa_store *s, srv_index *ix, const query *q, const float *v) {
    sa_playlist p = {0};
    pthread_rwlock_rdlock(&ix->lock);
    sa_err err = q->id ? sa_playlist_similar(s, ix->idx, ix->profile->name, q->id, q->n, &p)
                       : sa_playlist_similar_vector(s, ix->idx, v, NULL, q->n, &p);
    pthread_rwlock_unlock(&ix->lock);
    if (err == SA_ERR_NOT_FOUND && q->id) /* analysed, but without a vector of the index's profile */
        srv_reply_error(req, 409, "%s", sa_error_detail());
    else if (err)
        srv_reply_err(req, err, "searching");
    else
        reply_results(req, q, &p);
    sa_playlist_clear(&p);
}

/* A file outside the library: analysed on a job thread, then searched. */
static void file_query_work(srv_request *req, void *ctx) {
    query *q = ctx;
    sa_store *s = srv_store(req);
    srv_index *ix = s ? live_or_409(req) : NULL;
    if (!ix)
        return;
    sa_features f = {0};
    float *v = malloc((size_t)ix->profile->dim * sizeof *v);
    if (!v)
        srv_reply_error(req, 503, "out of memory");
    else if (srv_analyse_file(req, q->path, &f) == 0 && srv_build_vector(req, ix->profile, &f, 1, v) == 0)
        search_and_reply(req, s, ix, q, v);
    free(v);
    sa_features_clear(&f);
    srv_index_release(ix);
}

/* Resolves the query track (by id, or by a path: a library track or any
 * audio file inside the library folders) and answers or defers. */
static void run_query(srv_request *req, query *q, const char *path, long long id) {
    sa_store *s = srv_store(req);
    if (!s)
        return;
    sa_track t = {0};
    int found;
    char real[PATH_MAX];
    if (id)
        found = srv_track_by_id(req, s, id, &t);
    else
        found = srv_client_path(req, path, real) < 0 ? -1 : srv_track_at(req, s, path, real, &t);
    srv_index *ix = found < 0 ? NULL : live_or_409(req);
    if (ix && found && t.status != SA_TRACK_ANALYZED) {
        srv_reply_error(req, 409, "%s is %s%s%s", t.path, sa_track_status_name(t.status), t.error ? ": " : "",
                        t.error ? t.error : "");
    } else if (ix && found) {
        q->id = t.id;
        snprintf(q->path, sizeof q->path, "%s", t.path);
        search_and_reply(req, s, ix, q, NULL);
    } else if (ix && !srv_can_make(req->srv, ix->profile)) {
        srv_reply_error(req, 409, "%s is not in the library, and analysing it for the %s index needs the MusiCNN "
                                  "tagger, which this server lacks", path, ix->profile->name);
    } else if (ix) {
        query *copy = malloc(sizeof *copy);
        if (!copy) {
            srv_reply_error(req, 503, "out of memory");
        } else {
            *copy = *q;
            snprintf(copy->path, sizeof copy->path, "%s", real);
            srv_defer(req, file_query_work, copy, free);
        }
    }
    srv_index_release(ix);
    sa_track_clear(&t);
}

void srv_h_similar_tracks(srv_request *req) {
    const char *path = NULL;
    long long id = 0, n;
    if (srv_param_str(req, "query_path", &path) < 0 || srv_param_int(req, "track_id", &id) < 0 ||
        srv_param_int(req, "top_n", &n) < 0)
        return;
    if (!id && (!path || !*path)) {
        srv_reply_error(req, 400, "give query_path (an audio file) or track_id");
        return;
    }
    query q = {.n = (size_t)n};
    run_query(req, &q, path, id);
}

void srv_h_generate_playlist(srv_request *req) {
    const char *seed = NULL;
    long long id = 0, n;
    if (srv_param_str(req, "seed_track", &seed) < 0 || srv_param_int(req, "track_id", &id) < 0 ||
        srv_param_int(req, "playlist_length", &n) < 0)
        return;
    if (!id)
        id = srv_track_id_text(seed, seed ? strlen(seed) : 0);
    if (!id && (!seed || !*seed)) {
        srv_reply_error(req, 400, "give seed_track (a path or a track id) or track_id");
        return;
    }
    query q = {.playlist = 1, .n = (size_t)n};
    run_query(req, &q, seed, id);
}

void srv_h_similar_by_vector(srv_request *req) {
    float *v = NULL;
    size_t n = 0;
    long long top;
    if (srv_param_vector(req, "query_vector", &v, &n) < 0 || srv_param_int(req, "top_n", &top) < 0) {
        free(v);
        return;
    }
    sa_store *s = srv_store(req);
    srv_index *ix = s ? live_or_409(req) : NULL;
    double norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += (double)v[i] * v[i];
    if (ix && n != (size_t)ix->profile->dim) {
        srv_reply_error(req, 422, "query_vector has %zu values; the index holds %d-dimensional %s vectors", n,
                        ix->profile->dim, ix->profile->name);
    } else if (ix && !(norm > 0)) {
        srv_reply_error(req, 422, "query_vector is zero: it points nowhere");
    } else if (ix) {
        sa_vector_normalize(v, (int)n);
        query q = {.n = (size_t)top};
        sa_playlist p = {0};
        pthread_rwlock_rdlock(&ix->lock);
        sa_err err = sa_playlist_similar_vector(s, ix->idx, v, NULL, q.n, &p);
        pthread_rwlock_unlock(&ix->lock);
        if (err)
            srv_reply_err(req, err, "searching");
        else
            srv_reply_json(req, 200, json_pack("{si ss sI so}", "vector_dimension", ix->profile->dim, "profile",
                                               ix->profile->name, "total_results", (json_int_t)p.count,
                                               "similar_tracks", items_json(&p)));
        sa_playlist_clear(&p);
    }
    srv_index_release(ix);
    free(v);
}

/* ---- extract-vector ---- */

typedef struct extract {
    const sa_profile *profile;
    int normalize;
    int64_t id; /* a stored, analysed track: its stored features are used */
    char path[PATH_MAX];
} extract;

static void reply_vector(srv_request *req, const extract *x, const float *v) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < x->profile->dim; i++)
        if (json_array_append_new(arr, json_real(v[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    srv_reply_json_precise(req, 200,
                           json_pack("{ss ss si sb sb so ss so}", "file_path", x->path, "file_name",
                                     srv_base_name(x->path), "vector_dimension", x->profile->dim,
                                     "include_tensorflow", strcmp(x->profile->name, "descriptors") != 0, "normalized",
                                     x->normalize, "vector", arr, "profile", x->profile->name, "track_id",
                                     x->id ? json_integer(x->id) : json_null()),
                           SRV_PRECISION_VECTOR);
}

/* Features of the stored track, or of the file analysed now. */
static void extract_work(srv_request *req, void *ctx) {
    extract *x = ctx;
    sa_features f = {0};
    float *v = malloc((size_t)x->profile->dim * sizeof *v);
    int ok = v != NULL;
    if (!v) {
        srv_reply_error(req, 503, "out of memory");
    } else if (x->id) {
        sa_store *s = srv_store(req);
        sa_err err = s ? sa_store_features_get(s, x->id, &f) : SA_OK;
        if (err)
            srv_reply_err(req, err, "reading the features");
        ok = s && !err;
    } else {
        ok = srv_analyse_file(req, x->path, &f) == 0;
    }
    if (ok && srv_build_vector(req, x->profile, &f, x->normalize, v) == 0)
        reply_vector(req, x, v);
    free(v);
    sa_features_clear(&f);
}

void srv_h_extract_vector(srv_request *req) {
    const char *path;
    int tf, normalize;
    if (srv_param_str(req, "file_path", &path) < 0 || srv_param_bool(req, "include_tensorflow", &tf) < 0 ||
        srv_param_bool(req, "normalize", &normalize) < 0)
        return;
    extract x = {.profile = sa_profile_find(tf ? "default" : "descriptors"), .normalize = normalize};
    sa_store *s = srv_store(req);
    sa_track t = {0};
    int found = !s || srv_client_path(req, path, x.path) < 0 ? -1 : srv_track_at(req, s, path, x.path, &t);
    if (found == 1 && t.status == SA_TRACK_ANALYZED) {
        x.id = t.id;
        extract_work(req, &x); /* a few small reads: no need for a job thread */
    } else if (found >= 0 && !srv_can_make(req->srv, x.profile)) {
        srv_reply_error(req, 409, "include_tensorflow=true needs the MusiCNN tagger, which this server lacks; "
                                  "ask with include_tensorflow=false");
    } else if (found >= 0) {
        extract *copy = malloc(sizeof *copy);
        if (copy) {
            *copy = x;
            srv_defer(req, extract_work, copy, free);
        } else {
            srv_reply_error(req, 503, "out of memory");
        }
    }
    sa_track_clear(&t);
}

/* ---- add-track ---- */

typedef struct add_job {
    char path[PATH_MAX];
} add_job;

/* Stores a fresh analysis of track id: features, vectors and status in one transaction. */
static sa_err store_analysis(sa_store *s, int64_t id, const sa_features *fresh) {
    sa_err err = sa_store_begin(s);
    if (err)
        return err;
    for (size_t g = 0; !err && g < fresh->count; g++)
        err = sa_store_features_put(s, id, &fresh->groups[g]);
    if (!err)
        err = sa_library_store_vectors(s, id);
    if (!err)
        err = sa_store_track_set_status(s, id, SA_TRACK_ANALYZED, NULL);
    if (err) {
        sa_store_rollback(s);
        return err;
    }
    return sa_store_commit(s);
}

/* The live profile's vector generation, 0 when there is no live index. */
static int64_t live_generation(sa_server *srv, sa_store *s) {
    srv_index *ix = srv_index_acquire(srv);
    int64_t g = 0;
    if (ix && sa_store_vectors_generation(s, ix->profile->name, &g) != SA_OK)
        g = -1;
    srv_index_release(ix);
    return g;
}

/* Analyses the file and stores the result (or the failure); 0 or -1 after replying. */
static int analyse_and_store(srv_request *req, sa_store *s, int64_t id, const char *path, int64_t gen[2]) {
    sa_features f = {0};
    if (srv_analyse_file(req, path, &f) < 0) {
        sa_features_clear(&f);
        /* recorded like a failed analysis, so the library says why */
        char why[512];
        snprintf(why, sizeof why, "%s", sa_error_detail());
        if (sa_store_track_set_status(s, id, SA_TRACK_FAILED, why) != SA_OK)
            sa_log_warn("%s: cannot record the failure: %s", path, sa_error_detail());
        return -1;
    }
    gen[0] = live_generation(req->srv, s);
    sa_err err = store_analysis(s, id, &f);
    gen[1] = live_generation(req->srv, s);
    sa_features_clear(&f);
    if (err) {
        srv_reply_err(req, err, "storing the analysis");
        return -1;
    }
    return 0;
}

static void add_work(srv_request *req, void *ctx) {
    add_job *a = ctx;
    sa_store *s = srv_store(req);
    if (!s)
        return;
    int64_t id = 0, gen[2] = {-1, -1};
    sa_track t = {0};
    sa_err err = sa_library_scan_file(s, a->path, &id);
    if (!err)
        err = sa_store_track_by_id(s, id, &t);
    int fresh = !err && t.status != SA_TRACK_ANALYZED;
    if (err == SA_ERR_FORMAT || err == SA_ERR_INVALID) { /* the client's file: not a 400 */
        srv_reply_error(req, 422, "%s", sa_error_detail());
    } else if (err) {
        srv_reply_err(req, err, NULL);
    } else if (t.status == SA_TRACK_FAILED) {
        srv_reply_error(req, 422, "%s: %s", a->path, t.error ? t.error : "not readable audio");
    } else if (!fresh || analyse_and_store(req, s, id, a->path, gen) == 0) {
        int indexed = 0;
        err = srv_index_add_track(req->srv, s, id, gen[0], gen[1], &indexed);
        srv_index *ix = srv_index_acquire(req->srv);
        if (err)
            srv_reply_err(req, err, "adding to the index");
        else
            srv_reply_json(req, 200, json_pack("{sb sI ss ss sb sb so so}", "success", 1, "track_id", (json_int_t)id,
                                               "file_path", a->path, "file_name", srv_base_name(a->path), "analyzed",
                                               fresh, "indexed", indexed, "total_vectors",
                                               ix ? json_integer((json_int_t)sa_index_count(ix->idx)) : json_null(),
                                               "vector_dimension", ix ? json_integer(ix->profile->dim) : json_null()));
        srv_index_release(ix);
    }
    sa_track_clear(&t);
}

void srv_h_add_track(srv_request *req) {
    const char *path;
    int tf;
    if (srv_param_str(req, "file_path", &path) < 0 || srv_param_bool(req, "include_tensorflow", &tf) < 0)
        return;
    add_job *a = malloc(sizeof *a);
    if (!a)
        srv_reply_error(req, 503, "out of memory");
    else if (srv_client_path(req, path, a->path) < 0)
        free(a);
    else
        srv_defer(req, add_work, a, free);
}

/* ---- the index ---- */

typedef struct build_job {
    const char *profile; /* static names */
    char type[64];
    int has_type, force;
} build_job;

static json_t *index_json(const srv_index *ix) {
    const char *type = sa_index_type(ix->idx);
    return json_pack("{sI si ss ss ss sf}", "total_vectors", (json_int_t)sa_index_count(ix->idx), "vector_dimension",
                     ix->profile->dim, "index_type", srv_index_type_name(type), "index_factory", type, "profile",
                     ix->profile->name, "build_time", ix->build_time_s);
}

/* index_json with "success": true and the fields of extra (stolen). */
static json_t *index_answer(const srv_index *ix, json_t *extra) {
    json_t *j = index_json(ix);
    int ok = j && extra && json_object_update(j, extra) == 0 && json_object_set_new(j, "success", json_true()) == 0;
    json_decref(extra);
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static void build_work(srv_request *req, void *ctx) {
    build_job *j = ctx;
    sa_store *s = srv_store(req);
    if (!s)
        return;
    srv_build b = {.profile = j->profile, .type = j->has_type ? j->type : NULL, .force = j->force};
    sa_index_set_threads(0); /* one big build may use every core */
    sa_err err = srv_index_build(req->srv, s, &b);
    sa_index_set_threads(1);
    if (err) {
        srv_reply_err(req, err, "cannot build the index");
        return;
    }
    srv_reply_json(req, 200, index_answer(b.index, json_pack("{sb}", "rebuilt", b.rebuilt)));
    srv_index_release(b.index);
}

void srv_h_build_index(srv_request *req) {
    int tf = -1, force;
    const char *type = NULL;
    if (srv_param_bool(req, "include_tensorflow", &tf) < 0 || srv_param_bool(req, "force_rebuild", &force) < 0 ||
        srv_param_str(req, "index_type", &type) < 0)
        return;
    build_job *j = calloc(1, sizeof *j);
    if (!j) {
        srv_reply_error(req, 503, "out of memory");
        return;
    }
    j->profile = tf < 0 ? NULL : tf ? "default" : "descriptors";
    j->force = force;
    if (type && *type) {
        if (strlen(type) >= sizeof j->type) {
            free(j);
            srv_reply_error(req, 400, "index_type is longer than %zu characters", sizeof j->type - 1);
            return;
        }
        snprintf(j->type, sizeof j->type, "%s", srv_index_type_parse(type));
        j->has_type = 1;
    }
    srv_defer(req, build_work, j, free);
}

void srv_h_statistics(srv_request *req) {
    sa_store *s = srv_store(req);
    if (!s)
        return;
    sa_store_counts c;
    sa_err err = sa_store_count_tracks(s, &c);
    srv_index *ix = srv_index_acquire(req->srv);
    int64_t stored = 0;
    if (!err && ix)
        err = sa_store_vectors_count(s, ix->profile->name, &stored);
    if (err) {
        srv_index_release(ix);
        srv_reply_err(req, err, "reading the store");
        return;
    }
    int64_t analyzed = c.by_status[SA_TRACK_ANALYZED];
    int64_t indexed = ix ? (int64_t)sa_index_count(ix->idx) : 0;
    srv_reply_json(req, 200,
                   json_pack("{ss so so sI sI sI sI sI sf so sb sb so sI sI sI}", "index_name", "music_library",
                             "index_type", ix ? json_string(srv_index_type_name(sa_index_type(ix->idx))) : json_null(),
                             "vector_dimension", ix ? json_integer(ix->profile->dim) : json_null(), "total_vectors",
                             (json_int_t)(ix ? stored : 0), "indexed_vectors", (json_int_t)indexed, "total_files",
                             (json_int_t)c.total, "analyzed_files", (json_int_t)analyzed, "indexed_files",
                             (json_int_t)indexed, "index_coverage",
                             analyzed > 0 ? 100.0 * (double)indexed / (double)analyzed : 0.0, "build_time",
                             ix ? json_real(ix->build_time_s) : json_null(), "faiss_available", 1, "index_loaded",
                             ix != NULL, "profile", ix ? json_string(ix->profile->name) : json_null(), "pending_files",
                             (json_int_t)c.by_status[SA_TRACK_PENDING], "failed_files",
                             (json_int_t)c.by_status[SA_TRACK_FAILED], "missing_files",
                             (json_int_t)c.by_status[SA_TRACK_MISSING]));
    srv_index_release(ix);
}

void srv_h_status(srv_request *req) {
    sa_server *srv = req->srv;
    srv_index *ix = srv_index_acquire(srv);
    const char *why = sa_analyzer_set_missing_tagger(srv->analyzers);
    json_t *j = json_pack("{ss sb sb so so so so sb so so sf sI}", "status", ix ? "ready" : "no_index",
                          "index_loaded", ix != NULL, "building", atomic_load(&srv->building),
                          "index_type", ix ? json_string(srv_index_type_name(sa_index_type(ix->idx))) : json_null(),
                          "vector_dimension", ix ? json_integer(ix->profile->dim) : json_null(), "total_vectors",
                          ix ? json_integer((json_int_t)sa_index_count(ix->idx)) : json_null(), "profile",
                          ix ? json_string(ix->profile->name) : json_null(), "tagger_available", srv->tagger != NULL,
                          "tagger_missing_reason", why ? json_string(why) : json_null(), "background",
                          srv_task_json(srv), "uptime_s", srv_clock() - srv->started, "long_requests",
                          (json_int_t)srv_jobs_waiting(srv));
    srv_index_release(ix);
    srv_reply_json(req, 200, j);
}

/* ---- save and load ---- */

typedef struct file_job {
    char path[PATH_MAX];
} file_job;

/* The live profile's own index file, or the library profile's when none is live. */
static int default_index_file(srv_request *req, char *out, size_t cap) {
    srv_index *ix = srv_index_acquire(req->srv);
    const char *profile = ix ? ix->profile->name : NULL; /* profiles are static: the name outlives ix */
    srv_index_release(ix);
    sa_err err = SA_OK;
    if (!profile) {
        sa_store *s = srv_store(req);
        if (!s)
            return -1;
        err = sa_library_profile(s, &profile);
        if (!err && !profile)
            err = sa_error_set(SA_ERR_CONFLICT, "no analysed tracks yet: there is no index file to name");
    }
    if (!err)
        err = sa_library_index_path(req->srv->db, profile, out, cap);
    if (err) {
        srv_reply_err(req, err, NULL);
        return -1;
    }
    return 0;
}

/* The data folder's file a client names (a relative name is taken in the
 * data folder), or the profile's own index file when it names none. */
static int index_file_param(srv_request *req, int must_exist, char *out) {
    sa_server *srv = req->srv;
    const char *given = NULL;
    if (srv_param_str(req, "path", &given) < 0)
        return -1;
    char joined[PATH_MAX + 8];
    if (!given || !*given) /* the server's own choice, beside the store, wherever the data folder is */
        return default_index_file(req, out, PATH_MAX);
    if (given[0] != '/') {
        snprintf(joined, sizeof joined, "%s/%s", srv->data_dir, given);
        given = joined;
    }
    sa_err err = must_exist ? srv_path_resolve(&srv->data_dir, 1, given, out, PATH_MAX)
                            : srv_path_resolve_new(&srv->data_dir, 1, given, out, PATH_MAX);
    if (err == SA_ERR_DENIED)
        err = sa_error_set(SA_ERR_DENIED, "%s is outside the server's data folder", given);
    if (err) {
        srv_reply_err(req, err, NULL);
        return -1;
    }
    return 0;
}

static void save_work(srv_request *req, void *ctx) {
    file_job *f = ctx;
    sa_store *s = srv_store(req);
    if (!s)
        return;
    srv_index *ix = NULL;
    char checksum[72];
    sa_err err = srv_index_save(req->srv, s, f->path, &ix, checksum);
    if (err) {
        srv_reply_err(req, err, "cannot save the index");
        return;
    }
    srv_reply_json(req, 200, index_answer(ix, json_pack("{ss ss}", "path", f->path, "checksum", checksum)));
    srv_index_release(ix);
}

static void load_work(srv_request *req, void *ctx) {
    file_job *f = ctx;
    sa_store *s = srv_store(req);
    if (!s)
        return;
    srv_index *ix = NULL;
    int rebuilt = 0;
    sa_err err = srv_index_load(req->srv, s, f->path, &ix, &rebuilt);
    if (err) {
        srv_reply_err(req, err, "cannot load the index");
        return;
    }
    srv_reply_json(req, 200, index_answer(ix, json_pack("{ss sb}", "path", f->path, "rebuilt", rebuilt)));
    srv_index_release(ix);
}

static void index_file_route(srv_request *req, int must_exist, srv_work_fn work) {
    file_job *f = malloc(sizeof *f);
    if (!f)
        srv_reply_error(req, 503, "out of memory");
    else if (index_file_param(req, must_exist, f->path) < 0)
        free(f);
    else
        srv_defer(req, work, f, free);
}

void srv_h_save_index(srv_request *req) {
    srv_index *ix = live_or_409(req);
    if (ix)
        index_file_route(req, 0, save_work);
    srv_index_release(ix);
}

void srv_h_load_index(srv_request *req) { index_file_route(req, 1, load_work); }

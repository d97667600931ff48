/* lookup.c: what the handlers share: client paths to tracks, analysing a file, building its vector. */
#include <limits.h>
#include <string.h>

#include "soundalike/pipeline.h"
#include "server/internal.h"

int srv_client_path(srv_request *req, const char *path, char *real) {
    sa_server *srv = req->srv;
    if (srv->n_roots == 0) {
        srv_reply_error(req, 403, "no library folders are configured (serve --library DIR): every path is refused");
        return -1;
    }
    sa_err err = srv_path_resolve(srv->roots, srv->n_roots, path, real, PATH_MAX);
    if (err) {
        srv_reply_err(req, err, NULL);
        return -1;
    }
    return 0;
}

int srv_track_at(srv_request *req, sa_store *s, const char *given, const char *real, sa_track *out) {
    /* the store keeps paths as scanned: a symlink inside a library folder keeps its own name */
    sa_err err = sa_store_track_by_path(s, real, out);
    if (err == SA_ERR_NOT_FOUND && strcmp(given, real) != 0)
        err = sa_store_track_by_path(s, given, out);
    if (err == SA_ERR_NOT_FOUND)
        return 0;
    if (err) {
        srv_reply_err(req, err, "reading the store");
        return -1;
    }
    return 1;
}

int srv_track_by_id(srv_request *req, sa_store *s, int64_t id, sa_track *out) {
    sa_err err = sa_store_track_by_id(s, id, out);
    if (err == SA_ERR_NOT_FOUND) {
        srv_reply_error(req, 404, "no track %lld", (long long)id);
        return -1;
    }
    if (err) {
        srv_reply_err(req, err, "reading the store");
        return -1;
    }
    return 1;
}

int srv_analyse_file(srv_request *req, const char *path, sa_features *f) {
    size_t n;
    const sa_analyzer *const *list = sa_analyzer_set_list(req->srv->analyzers, &n);
    sa_err err = sa_pipeline_run(path, list, n, f, NULL, NULL);
    if (!err)
        return 0;
    /* whatever the file does wrong is the client's file: never a 500 */
    unsigned status = err == SA_ERR_NOT_FOUND ? 404 : err == SA_ERR_NOMEM ? 503 : 422;
    const char *detail = *sa_error_detail() ? sa_error_detail() : sa_strerror(err);
    srv_reply_error(req, status, "cannot analyse %s: %s", path, detail);
    return -1;
}

int srv_can_make(const sa_server *srv, const sa_profile *profile) {
    /* every profile but the descriptors reads the tagger's output */
    return srv->tagger || strcmp(profile->name, "descriptors") == 0;
}

int srv_build_vector(srv_request *req, const sa_profile *profile, const sa_features *f, int normalize, float *v) {
    sa_err err = normalize ? sa_profile_build(profile, f, v) : profile->build_raw(f, v);
    if (!err)
        return 0;
    if (err == SA_ERR_NOT_FOUND)
        srv_reply_error(req, 409, "no %s vector (%s) can be made: %s%s", profile->name, profile->description,
                        sa_error_detail(),
                        srv_can_make(req->srv, profile) ? "" : "; the MusiCNN tagger is not installed on this server");
    else
        srv_reply_err(req, err, "building the vector");
    return -1;
}

/* routes_ops.c: operations: background scan and analysis, health, metrics, the OpenAPI description. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/internal.h"

enum { FAILURE_EXAMPLES = 20 };

static void start_task(srv_request *req, srv_task_kind kind) {
    sa_err err = srv_task_start(req->srv, kind);
    if (err)
        srv_reply_err(req, err, NULL);
    else
        srv_reply_json(req, 202, srv_task_json(req->srv));
}

void srv_h_library_scan(srv_request *req) { start_task(req, TASK_SCAN); }
void srv_h_analysis_start(srv_request *req) { start_task(req, TASK_ANALYSIS); }

typedef struct failures {
    json_t *list;
    int left;
} failures;

static int add_failure(const sa_track *t, void *arg) {
    failures *f = arg;
    if (json_array_append_new(f->list, json_pack("{sI ss so}", "id", (json_int_t)t->id, "path", t->path, "error",
                                                 t->error ? json_string(t->error) : json_null())) != 0)
        return 1; /* out of memory: fewer examples */
    return --f->left <= 0;
}

void srv_h_analysis_status(srv_request *req) {
    sa_store *s = srv_store(req);
    if (!s)
        return;
    sa_store_counts c;
    failures f = {json_array(), FAILURE_EXAMPLES};
    sa_err err = sa_store_count_tracks(s, &c);
    if (!err)
        err = f.list ? sa_store_tracks_each(s, SA_TRACK_FAILED, add_failure, &f) : sa_error_set(SA_ERR_NOMEM, "list");
    if (err) {
        json_decref(f.list);
        srv_reply_err(req, err, "reading the store");
        return;
    }
    json_t *library = json_pack("{sI sI sI sI sI}", "total", (json_int_t)c.total, "pending",
                                (json_int_t)c.by_status[SA_TRACK_PENDING], "analyzed",
                                (json_int_t)c.by_status[SA_TRACK_ANALYZED], "failed",
                                (json_int_t)c.by_status[SA_TRACK_FAILED], "missing",
                                (json_int_t)c.by_status[SA_TRACK_MISSING]);
    json_t *failed = json_pack("{sI so}", "total", (json_int_t)c.by_status[SA_TRACK_FAILED], "examples", f.list);
    srv_reply_json(req, 200, srv_json_with(srv_json_with(srv_task_json(req->srv), "library", library), "failures",
                                           failed));
}

/* 503 unless the store file is there, opens as a store and answers a query.
 * A fresh connection, not the thread's: that one may still hold a file
 * that was replaced or removed. */
void srv_h_health(srv_request *req) {
    sa_server *srv = req->srv;
    struct stat st;
    sa_store *s = NULL;
    sa_store_counts c;
    sa_err err = SA_OK;
    if (stat(srv->db, &st) != 0)
        err = sa_error_set(SA_ERR_DB, "%s: %s", srv->db, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        err = sa_error_set(SA_ERR_DB, "%s is not a file", srv->db);
    if (!err)
        err = sa_store_open(srv->db, &s);
    if (!err)
        err = sa_store_count_tracks(s, &c);
    sa_store_close(s);
    if (err) {
        srv_reply_error(req, 503, "the store is unavailable: %s", sa_error_detail());
        srv_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "5");
        return;
    }
    srv_index *ix = srv_index_acquire(srv);
    srv_reply_json(req, 200, json_pack("{ss ss sb sI sf}", "status", "ok", "store", "ok", "index_loaded", ix != NULL,
                                       "tracks", (json_int_t)c.total, "uptime_s", srv_clock() - srv->started));
    srv_index_release(ix);
}

void srv_h_metrics(srv_request *req) {
    char *text = srv_metrics_text(req->srv);
    struct MHD_Response *r =
        text ? MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free) : NULL;
    if (!r) {
        free(text);
        srv_reply_error(req, 503, "out of memory");
        return;
    }
    srv_reply_raw(req, 200, r);
    srv_reply_header(req, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
}

void srv_h_openapi(srv_request *req) {
    const char *text = req->srv->openapi;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        srv_reply_error(req, 503, "out of memory");
        return;
    }
    srv_reply_raw(req, 200, r);
    srv_reply_header(req, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
}

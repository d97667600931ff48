/* reply.c: answers: JSON bodies, errors as {"error", "detail"}, the sa_err to status map. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

/* The "error" value of each status: short and stable, for programs. */
static const char *status_name(unsigned status) {
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 416: return "range_not_satisfiable";
    case 422: return "unprocessable";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "error";
    }
}

unsigned srv_status_of(sa_err err) {
    switch (err) {
    case SA_OK: return 200;
    case SA_ERR_INVALID: return 400;
    case SA_ERR_NOT_FOUND: return 404;
    case SA_ERR_DENIED: return 403;
    case SA_ERR_CONFLICT: return 409;
    case SA_ERR_RANGE:
    case SA_ERR_FORMAT:
    case SA_ERR_UNSUPPORTED: return 422; /* a file that is not (decodable) audio */
    case SA_ERR_DB:
    case SA_ERR_BUSY:
    case SA_ERR_STALE: return 503;
    default: return 500;
    }
}

static struct MHD_Response *json_response(json_t *j, int precision) {
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(precision));
    if (!text)
        return NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (!r) {
        free(text);
        return NULL;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES ||
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

struct MHD_Response *srv_error_response(unsigned status, const char *detail) {
    json_t *j = json_pack("{ss ss}", "error", status_name(status), "detail", detail);
    struct MHD_Response *r = j ? json_response(j, SRV_PRECISION_SCORE) : NULL;
    json_decref(j);
    return r;
}

void srv_reply_raw(srv_request *req, unsigned status, struct MHD_Response *resp) {
    if (req->resp) { /* answered already */
        if (resp)
            MHD_destroy_response(resp);
        return;
    }
    req->status = status;
    req->resp = resp; /* NULL makes the access handler drop the connection */
}

void srv_reply_json_precise(srv_request *req, unsigned status, json_t *j, int precision) {
    if (!j) {
        srv_reply_raw(req, 500, srv_error_response(500, "out of memory building the answer"));
        return;
    }
    struct MHD_Response *r = json_response(j, precision);
    json_decref(j);
    if (!r)
        srv_reply_raw(req, 500, srv_error_response(500, "out of memory building the answer"));
    else
        srv_reply_raw(req, status, r);
}

void srv_reply_json(srv_request *req, unsigned status, json_t *j) {
    srv_reply_json_precise(req, status, j, SRV_PRECISION_SCORE);
}

void srv_reply_error(srv_request *req, unsigned status, const char *fmt, ...) {
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    srv_reply_raw(req, status, srv_error_response(status, detail));
}

void srv_reply_err(srv_request *req, sa_err err, const char *what) {
    const char *detail = sa_error_detail();
    if (!*detail)
        detail = sa_strerror(err);
    unsigned status = srv_status_of(err);
    if (what && *what)
        srv_reply_error(req, status, "%s: %s", what, detail);
    else
        srv_reply_error(req, status, "%s", detail);
    if (status == 503)
        srv_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "5");
}

void srv_reply_header(srv_request *req, const char *name, const char *value) {
    if (req->resp)
        (void)MHD_add_response_header(req->resp, name, value);
}

json_t *srv_json_with(json_t *obj, const char *key, json_t *value) {
    if (obj && value && json_object_set_new(obj, key, value) == 0)
        return obj;
    if (obj && value) /* set_new failed: it has freed value */
        value = NULL;
    json_decref(obj);
    json_decref(value);
    return NULL;
}

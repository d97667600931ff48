/* routes_tracks.c: the library beyond the guide: track listing and details, audio with Range, static files. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soundalike/features_json.h"
#include "soundalike/tagger.h"
#include "server/internal.h"

enum { LIST_TAGS = 3, DETAIL_TAGS = 10, TAG_RANK = 5 };

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* The name of tag i of a track tagged by model (the "musicnn" group's "model"). */
static void tag_name(const sa_server *srv, const char *model, int i, char *out, size_t cap) {
    const sa_musicnn *m = srv->tagger;
    if (m && model && strcmp(model, sa_musicnn_name(m)) == 0 && i < SA_MUSICNN_TAGS)
        snprintf(out, cap, "%s", sa_musicnn_tag(m, i));
    else /* tagged by another model than the one loaded: its names are not known here */
        snprintf(out, cap, "tag_%d", i);
}

/* The n highest tags: [{"tag", "score"}], best first. */
static json_t *top_tags(const sa_server *srv, const sa_features *f, int n) {
    const sa_feature *tags = sa_features_get(f, "musicnn", "tags");
    const sa_feature *model = sa_features_get(f, "musicnn", "model");
    json_t *arr = json_array();
    if (!tags || !tags->values || !arr)
        return arr;
    int taken[SA_MUSICNN_TAGS] = {0};
    int count = (int)tags->count < SA_MUSICNN_TAGS ? (int)tags->count : SA_MUSICNN_TAGS;
    for (int k = 0; k < n && k < count; k++) {
        int best = -1;
        for (int i = 0; i < count; i++)
            if (!taken[i] && (best < 0 || tags->values[i] > tags->values[best]))
                best = i;
        taken[best] = 1;
        char name[64];
        tag_name(srv, model ? model->text : NULL, best, name, sizeof name);
        if (json_array_append_new(arr, json_pack("{ss sf}", "tag", name, "score", (double)tags->values[best])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* tempo, key, scale and the top tags, where the track has them. */
static int add_summary(json_t *obj, const sa_server *srv, const sa_features *f, int n_tags) {
    float bpm;
    const sa_feature *key = sa_features_get(f, "tonal", "key"), *scale = sa_features_get(f, "tonal", "scale");
    return json_object_set_new(obj, "tempo",
                               sa_features_scalar(f, "rhythm", "bpm", &bpm) == SA_OK ? json_real(bpm) : json_null()) ||
           json_object_set_new(obj, "key", str_or_null(key ? key->text : NULL)) ||
           json_object_set_new(obj, "scale", str_or_null(scale ? scale->text : NULL)) ||
           json_object_set_new(obj, "top_tags", top_tags(srv, f, n_tags));
}

static json_t *track_json(const sa_track *t) {
    char audio[64];
    snprintf(audio, sizeof audio, "/api/tracks/%" PRId64 "/audio", t->id);
    return json_pack("{sI ss ss so so so so ss so sf so si si sI sI so ss}", "id", (json_int_t)t->id, "path", t->path,
                     "name", srv_base_name(t->path), "title", str_or_null(t->title), "artist", str_or_null(t->artist),
                     "album", str_or_null(t->album), "genre", str_or_null(t->genre), "status",
                     sa_track_status_name(t->status), "error", str_or_null(t->error), "duration_s", t->duration_s,
                     "codec", str_or_null(t->codec), "sample_rate", t->sample_rate, "channels", t->channels, "size",
                     (json_int_t)t->size, "scanned_at", (json_int_t)t->scanned_at, "analyzed_at",
                     t->analyzed_at ? json_integer(t->analyzed_at) : json_null(), "audio_url", audio);
}

/* ---- GET /api/tracks ---- */

typedef struct list_ctx {
    sa_server *srv;
    sa_store *store;
    json_t *tracks;
    sa_err err;
} list_ctx;

static int list_track(const sa_track *t, void *arg) {
    list_ctx *c = arg;
    json_t *j = track_json(t);
    sa_features f = {0};
    if (!j) {
        c->err = sa_error_set(SA_ERR_NOMEM, "track list");
    } else if (t->status == SA_TRACK_ANALYZED || t->analyzed_at) {
        c->err = sa_store_features_get(c->store, t->id, &f);
        if (!c->err && add_summary(j, c->srv, &f, LIST_TAGS) != 0)
            c->err = sa_error_set(SA_ERR_NOMEM, "track list");
    }
    if (!c->err && json_array_append_new(c->tracks, j) != 0)
        c->err = sa_error_set(SA_ERR_NOMEM, "track list");
    else if (c->err)
        json_decref(j);
    sa_features_clear(&f);
    return c->err != SA_OK;
}

/* "Db" and "c#" are "C#": the analyzer writes sharps. NULL when not a key. */
static const char *key_name(const char *s) {
    static const char *const sharps[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    static const char *const flats[12] = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"};
    for (int i = 0; i < 12; i++)
        if (strcasecmp(s, sharps[i]) == 0 || strcasecmp(s, flats[i]) == 0)
            return sharps[i];
    return NULL;
}

static int parse_order(srv_request *req, const char *sort, sa_track_query *q) {
    static const char *const names[] = {"id", "path", "title", "artist", "album", "duration", "tempo", "analyzed_at"};
    q->descending = sort[0] == '-';
    const char *name = sort + q->descending;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0) {
            q->order = (sa_track_order)i;
            return 0;
        }
    srv_reply_error(req, 400, "sort must be one of id, path, title, artist, album, duration, tempo, analyzed_at "
                              "(a leading '-' sorts descending), not '%s'", sort);
    return -1;
}

static int parse_tag(srv_request *req, const char *tag, sa_track_query *q) {
    const sa_musicnn *m = req->srv->tagger;
    for (int i = 0; m && i < SA_MUSICNN_TAGS; i++)
        if (strcasecmp(tag, sa_musicnn_tag(m, i)) == 0) {
            q->tag = i;
            q->tag_rank = TAG_RANK;
            return 0;
        }
    if (m)
        srv_reply_error(req, 422, "unknown tag '%s' (the %s model's tags: rock, pop, jazz, ...)", tag,
                        sa_musicnn_name(m));
    else
        srv_reply_error(req, 409, "tag names come from the MusiCNN model, which this server lacks");
    return -1;
}

/* The status filters: status= and analysed= both narrow the set. */
static int parse_statuses(srv_request *req, sa_track_query *q) {
    const char *status = NULL;
    int analysed = -1;
    if (srv_param_str(req, "status", &status) < 0 || srv_param_bool(req, "analysed", &analysed) < 0)
        return -1;
    unsigned all = (1u << (SA_TRACK_MISSING + 1)) - 1, set = all;
    sa_track_status st;
    if (status && *status) {
        if (sa_track_status_parse(status, &st) != SA_OK) {
            srv_reply_error(req, 400, "status must be pending, analyzed, failed or missing, not '%s'", status);
            return -1;
        }
        set = 1u << st;
    }
    if (analysed >= 0)
        set &= analysed ? 1u << SA_TRACK_ANALYZED : all & ~(1u << SA_TRACK_ANALYZED);
    /* an empty set must select nothing: a bit past every status does */
    q->statuses = set == all ? 0 : set ? set : 1u << (SA_TRACK_MISSING + 1);
    return 0;
}

static int parse_filters(srv_request *req, sa_track_query *q) {
    const char *key = NULL, *scale = NULL, *tag = NULL, *sort;
    if (srv_param_str(req, "q", &q->text) < 0 || srv_param_str(req, "artist", &q->artist) < 0 ||
        srv_param_str(req, "album", &q->album) < 0 || srv_param_number(req, "tempo_min", &q->bpm_min) < 0 ||
        srv_param_number(req, "tempo_max", &q->bpm_max) < 0 || srv_param_str(req, "key", &key) < 0 ||
        srv_param_str(req, "scale", &scale) < 0 || srv_param_str(req, "tag", &tag) < 0 ||
        srv_param_str(req, "sort", &sort) < 0 || parse_statuses(req, q) < 0 || parse_order(req, sort, q) < 0)
        return -1;
    if (q->bpm_min > 0 && q->bpm_max > 0 && q->bpm_min > q->bpm_max) {
        srv_reply_error(req, 422, "tempo_min (%g) is above tempo_max (%g)", q->bpm_min, q->bpm_max);
        return -1;
    }
    if (key && *key && !(q->key = key_name(key))) {
        srv_reply_error(req, 400, "key must be a tonic such as C, C#, Db or A, not '%s'", key);
        return -1;
    }
    if (scale && *scale) {
        if (strcasecmp(scale, "major") != 0 && strcasecmp(scale, "minor") != 0) {
            srv_reply_error(req, 400, "scale must be major or minor, not '%s'", scale);
            return -1;
        }
        q->scale = strcasecmp(scale, "major") == 0 ? "major" : "minor";
    }
    return tag && *tag ? parse_tag(req, tag, q) : 0;
}

void srv_h_tracks(srv_request *req) {
    sa_track_query q = {0};
    long long page, per_page;
    if (srv_param_int(req, "page", &page) < 0 || srv_param_int(req, "per_page", &per_page) < 0 ||
        parse_filters(req, &q) < 0)
        return;
    /* empty texts filter nothing */
    q.text = q.text && *q.text ? q.text : NULL;
    q.artist = q.artist && *q.artist ? q.artist : NULL;
    q.album = q.album && *q.album ? q.album : NULL;
    q.offset = (page - 1) * per_page;
    q.limit = per_page;
    sa_store *s = srv_store(req);
    if (!s)
        return;
    list_ctx c = {.srv = req->srv, .store = s, .tracks = json_array()};
    int64_t total = 0;
    sa_err err = c.tracks ? sa_store_tracks_query(s, &q, list_track, &c, &total) : sa_error_set(SA_ERR_NOMEM, "list");
    if (!err)
        err = c.err;
    if (err) {
        json_decref(c.tracks);
        srv_reply_err(req, err, "listing the tracks");
        return;
    }
    srv_reply_json(req, 200, json_pack("{sI sI sI sI so}", "total", (json_int_t)total, "page", (json_int_t)page,
                                       "per_page", (json_int_t)per_page, "pages",
                                       (json_int_t)((total + per_page - 1) / per_page), "tracks", c.tracks));
}

/* ---- GET /api/tracks/{id} ---- */

/* The profiles the track has a vector of. */
static json_t *vectors_json(sa_store *s, int64_t id, sa_err *err) {
    json_t *arr = json_array();
    size_t n;
    const sa_profile *const *all = sa_profile_all(&n);
    for (size_t i = 0; arr && !*err && i < n; i++) {
        float *v = malloc((size_t)all[i]->dim * sizeof *v);
        sa_err e = v ? sa_store_vector_get(s, id, all[i]->name, v, all[i]->dim) : SA_ERR_NOMEM;
        free(v);
        if (e == SA_OK &&
            json_array_append_new(arr, json_pack("{ss si}", "profile", all[i]->name, "dimension", all[i]->dim)) != 0)
            e = SA_ERR_NOMEM;
        if (e && e != SA_ERR_NOT_FOUND)
            *err = e == SA_ERR_NOMEM ? sa_error_set(e, "vectors") : e;
    }
    return arr;
}

void srv_h_track(srv_request *req) {
    sa_store *s = srv_store(req);
    sa_track t = {0};
    if (!s || srv_track_by_id(req, s, req->path_id, &t) < 0)
        return;
    sa_features f = {0};
    sa_err err = sa_store_features_get(s, t.id, &f);
    json_t *vectors = err ? NULL : vectors_json(s, t.id, &err);
    if (err) {
        json_decref(vectors);
        srv_reply_err(req, err, "reading the track");
    } else {
        json_t *j = srv_json_with(srv_json_with(track_json(&t), "features", sa_features_json(&f)), "vectors", vectors);
        if (j && add_summary(j, req->srv, &f, DETAIL_TAGS) != 0) {
            json_decref(j);
            j = NULL;
        }
        srv_reply_json(req, 200, j);
    }
    sa_features_clear(&f);
    sa_track_clear(&t);
}

/* ---- files: audio and static ---- */

/* A file as the answer, with Range support; takes fd. */
static void reply_file(srv_request *req, int fd, const char *content_type) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        srv_reply_error(req, 404, "not a regular file");
        return;
    }
    uint64_t size = (uint64_t)st.st_size, start = 0, len = size;
    const char *range = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    int r = srv_range_parse(range, size, &start, &len);
    char value[96];
    if (r < 0) {
        close(fd);
        srv_reply_error(req, 416, "the range '%s' lies outside the %" PRIu64 " bytes of the file", range, size);
        snprintf(value, sizeof value, "bytes */%" PRIu64, size);
        srv_reply_header(req, MHD_HTTP_HEADER_CONTENT_RANGE, value);
        return;
    }
    if (r > 0) /* no usable range: all of it */
        start = 0, len = size;
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, start);
    if (!resp) {
        close(fd);
        srv_reply_error(req, 503, "cannot stream the file");
        return;
    }
    srv_reply_raw(req, r == 0 ? 206 : 200, resp); /* the response owns fd now */
    srv_reply_header(req, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    srv_reply_header(req, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    srv_reply_header(req, "X-Content-Type-Options", "nosniff");
    if (r == 0) {
        snprintf(value, sizeof value, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1, size);
        srv_reply_header(req, MHD_HTTP_HEADER_CONTENT_RANGE, value);
    }
}

static void reply_open(srv_request *req, const char *real) {
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        srv_reply_error(req, 404, "%s cannot be opened", srv_base_name(real));
    else
        reply_file(req, fd, srv_content_type(real));
}

void srv_h_track_audio(srv_request *req) {
    sa_store *s = srv_store(req);
    sa_track t = {0};
    if (!s || srv_track_by_id(req, s, req->path_id, &t) < 0)
        return;
    char real[PATH_MAX];
    /* the store may hold tracks outside the folders this server was given: those stay private */
    if (srv_client_path(req, t.path, real) == 0)
        reply_open(req, real);
    sa_track_clear(&t);
}

void srv_serve_static(srv_request *req, const char *url) {
    char path[PATH_MAX + 16], real[PATH_MAX];
    size_t n = strlen(url);
    if (snprintf(path, sizeof path, "%s%s%s", req->srv->web_dir, url, n && url[n - 1] == '/' ? "index.html" : "") >=
        (int)sizeof path) {
        srv_reply_error(req, 404, "no such file");
        return;
    }
    sa_err err = srv_path_resolve(&req->srv->web_dir, 1, path, real, sizeof real);
    struct stat st;
    if (!err && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) { /* a folder: its index.html */
        strncat(path, "/index.html", sizeof path - strlen(path) - 1);
        err = srv_path_resolve(&req->srv->web_dir, 1, path, real, sizeof real);
    }
    if (err)
        srv_reply_error(req, 404, "no such file: %s", url);
    else
        reply_open(req, real);
}

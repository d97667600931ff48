/* routes.c: the route table (methods, paths, parameters), matching, and the OpenAPI description made from it.
 *
 * The table is the one place that says what the API accepts: parameters
 * are read and range-checked from it (params.c) and /api/openapi.json is
 * generated from it, so the description cannot drift from the code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

#define MAX_TOP 1000
#define MAX_ID 9007199254740991.0 /* 2^53 - 1: ids survive a JSON double */

static const srv_param p_build[] = {
    {"include_tensorflow", SRV_BOOL, 0, 0, 0, NULL,
     "true: the 67-d vectors with the MusiCNN tags; false: the 17 descriptors; absent: the library's profile"},
    {"force_rebuild", SRV_BOOL, 0, 0, 0, "false", "rebuild even when an up-to-date index exists"},
    {"index_type", SRV_STRING, 0, 0, 0, NULL,
     "flat (IndexFlatIP, exact), ivf (IndexIVFFlat), ivfsq, ivfpq, hnsw (IndexHNSWFlat) or a FAISS factory "
     "string; absent: the type built last"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_param p_similar[] = {
    {"query_path", SRV_STRING, 0, 0, 0, NULL,
     "an audio file inside the library folders (a library track, or any file, analysed on the fly)"},
    {"track_id", SRV_INT, 0, 1, MAX_ID, NULL, "a library track's id (instead of query_path)"},
    {"top_n", SRV_INT, 0, 1, MAX_TOP, "5", "how many similar tracks"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_param p_playlist[] = {
    {"seed_track", SRV_STRING, 0, 0, 0, NULL, "the seed: a path inside the library folders, or a track id"},
    {"track_id", SRV_INT, 0, 1, MAX_ID, NULL, "the seed's track id (instead of seed_track)"},
    {"playlist_length", SRV_INT, 0, 1, MAX_TOP, "10", "tracks after the seed"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_param p_extract[] = {
    {"file_path", SRV_STRING, 1, 0, 0, NULL, "an audio file inside the library folders"},
    {"include_tensorflow", SRV_BOOL, 0, 0, 0, "true", "true: 67-d with the MusiCNN tags; false: 17 descriptors"},
    {"normalize", SRV_BOOL, 0, 0, 0, "true",
     "L2-normalise the vector, the form the index holds (inner product is then cosine); false gives the "
     "weighted features as they are"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_param p_add[] = {
    {"file_path", SRV_STRING, 1, 0, 0, NULL, "an audio file inside the library folders"},
    {"include_tensorflow", SRV_BOOL, 0, 0, 0, "true", "kept for the guide's clients: every analyzer runs"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_param p_by_vector[] = {
    {"query_vector", SRV_VECTOR, 1, 0, 0, NULL,
     "the query: as many numbers as the index's dimension (normalised before the search)"},
    {"top_n", SRV_INT, 0, 1, MAX_TOP, "5", "how many similar tracks"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_param p_index_file[] = {
    {"path", SRV_STRING, 0, 0, 0, NULL,
     "an index file in the server's data folder (a relative name is taken there); absent: the profile's own"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_param p_tracks[] = {
    {"page", SRV_INT, 0, 1, 1e9, "1", "page number, from 1"},
    {"per_page", SRV_INT, 0, 1, 500, "50", "tracks per page"},
    {"status", SRV_STRING, 0, 0, 0, NULL, "pending, analyzed, failed or missing"},
    {"analysed", SRV_BOOL, 0, 0, 0, NULL, "true: analysed tracks only; false: the others"},
    {"q", SRV_STRING, 0, 0, 0, NULL, "text found in the path, title, artist or album (any case)"},
    {"artist", SRV_STRING, 0, 0, 0, NULL, "text found in the artist (any case)"},
    {"album", SRV_STRING, 0, 0, 0, NULL, "text found in the album (any case)"},
    {"tempo_min", SRV_NUMBER, 0, 0, 1000, NULL, "lowest tempo, BPM"},
    {"tempo_max", SRV_NUMBER, 0, 0, 1000, NULL, "highest tempo, BPM"},
    {"key", SRV_STRING, 0, 0, 0, NULL, "the key's tonic: C, C#, Db, ..., B"},
    {"scale", SRV_STRING, 0, 0, 0, NULL, "major or minor"},
    {"tag", SRV_STRING, 0, 0, 0, NULL, "a MusiCNN tag among the track's top 5 (rock, jazz, chill, ...)"},
    {"sort", SRV_STRING, 0, 0, 0, "id",
     "id, path, title, artist, album, duration, tempo or analyzed_at; a leading '-' sorts descending"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const srv_route routes[] = {
    {"POST", "/api/faiss/build-index", srv_h_build_index, ROUTE_MUTATES,
     "Build the index from the analysed tracks, or load the existing one", p_build},
    {"GET", "/api/faiss/statistics", srv_h_statistics, 0, "Index and library statistics", NULL},
    {"GET", "/api/faiss/status", srv_h_status, 0, "Whether an index is loaded, and what runs", NULL},
    {"GET", "/api/faiss/similar-tracks", srv_h_similar_tracks, 0, "The tracks most similar to one track or file",
     p_similar},
    {"POST", "/api/faiss/generate-playlist", srv_h_generate_playlist, 0,
     "A playlist of the tracks nearest to a seed, with similarity statistics", p_playlist},
    {"POST", "/api/faiss/extract-vector", srv_h_extract_vector, 0, "The feature vector of an audio file",
     p_extract},
    {"POST", "/api/faiss/add-track", srv_h_add_track, ROUTE_MUTATES,
     "Record, analyse and index one audio file now", p_add},
    {"POST", "/api/faiss/similar-by-vector", srv_h_similar_by_vector, 0, "The tracks nearest to a vector",
     p_by_vector},
    {"POST", "/api/faiss/save-index", srv_h_save_index, ROUTE_MUTATES, "Save the live index in the data folder",
     p_index_file},
    {"POST", "/api/faiss/load-index", srv_h_load_index, ROUTE_MUTATES,
     "Load an index from the data folder (checked against the store)", p_index_file},
    {"GET", "/api/tracks", srv_h_tracks, 0, "Library tracks: paged, filtered, sorted", p_tracks},
    {"GET", "/api/tracks/{id}", srv_h_track, ROUTE_PATH_ID, "One track: file facts, every feature, top tags",
     NULL},
    {"GET", "/api/tracks/{id}/audio", srv_h_track_audio, ROUTE_PATH_ID,
     "The track's audio file (HTTP Range supported)", NULL},
    {"POST", "/api/library/scan", srv_h_library_scan, ROUTE_MUTATES,
     "Scan the library folders in the background", NULL},
    {"POST", "/api/analysis/start", srv_h_analysis_start, ROUTE_MUTATES,
     "Analyse the pending tracks in the background, then rebuild the index", NULL},
    {"GET", "/api/analysis/status", srv_h_analysis_status, 0,
     "Progress of the background scan or analysis: rate, ETA, failures", NULL},
    {"GET", "/health", srv_h_health, 0, "200 when the store answers, 503 when it does not", NULL},
    {"GET", "/metrics", srv_h_metrics, 0, "Prometheus metrics: requests and latencies per route, index, queues",
     NULL},
    {"GET", "/api/openapi.json", srv_h_openapi, 0, "This description", NULL},
};

enum { N_ROUTES = sizeof routes / sizeof routes[0] };

const srv_route *srv_routes(size_t *n) {
    *n = N_ROUTES;
    return routes;
}

/* Whether path fits pattern; the {id} segment's value goes to *id. */
static int path_matches(const char *pattern, const char *path, int64_t *id) {
    while (*pattern && *path) {
        if (strncmp(pattern, "{id}", 4) == 0) {
            size_t n = strcspn(path, "/");
            if (n == 0)
                return 0;
            *id = srv_track_id_text(path, n);
            pattern += 4;
            path += n;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

const srv_route *srv_route_match(const char *method, const char *path, int *path_known, char *allow,
                                 size_t allow_cap, int64_t *id) {
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    *path_known = 0;
    size_t used = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < N_ROUTES; i++) {
        int64_t seg = 0;
        if (!path_matches(routes[i].pattern, path, &seg))
            continue;
        if (strcmp(routes[i].method, m) == 0) {
            *id = seg;
            return &routes[i];
        }
        *path_known = 1;
        int w = snprintf(allow + used, allow_cap - used, "%s%s", used ? ", " : "", routes[i].method);
        if (w > 0 && (size_t)w < allow_cap - used)
            used += (size_t)w;
    }
    return NULL;
}

/* ---- OpenAPI ---- */

static json_t *param_schema(const srv_param *p) {
    static const char *const types[] = {"string", "integer", "boolean", "number", "array"};
    json_t *s = json_pack("{ss}", "type", types[p->type]);
    if (p->type == SRV_VECTOR)
        json_object_set_new(s, "items", json_pack("{ss}", "type", "number"));
    if (p->min != 0 || p->max != 0) {
        json_object_set_new(s, "minimum", json_real(p->min));
        json_object_set_new(s, "maximum", json_real(p->max));
    }
    if (p->def)
        json_object_set_new(s, "default", json_string(p->def));
    return s;
}

static json_t *operation(const srv_route *r) {
    json_t *params = json_array(), *props = json_object(), *required = json_array();
    int bad = !params || !props || !required;
    if (!bad && (r->flags & ROUTE_PATH_ID))
        bad = json_array_append_new(params, json_pack("{ss ss sb ss s{ss si}}", "name", "id", "in", "path",
                                                      "required", 1, "description", "the track's id", "schema",
                                                      "type", "integer", "minimum", 1));
    for (const srv_param *p = r->params; !bad && p && p->name; p++) {
        bad = json_array_append_new(params, json_pack("{ss ss sb ss so}", "name", p->name, "in", "query",
                                                      "required", p->required, "description", p->description,
                                                      "schema", param_schema(p))) ||
              json_object_set_new(props, p->name, param_schema(p)) ||
              (p->required && json_array_append_new(required, json_string(p->name)));
    }
    json_t *op = bad ? NULL
                     : json_pack("{ss sO s{s{ss} s{ss} s{ss} s{ss} s{ss s{s{s{ss}}}}}}", "summary", r->summary,
                                 "parameters", params, "responses", "200", "description", "success", "400",
                                 "description", "bad parameter", "404", "description", "unknown track or file",
                                 "422", "description", "a value out of range, or a file that is not audio",
                                 "default", "description", "an error", "content", "application/json", "schema",
                                 "$ref", "#/components/schemas/Error");
    if (op && strcmp(r->method, "POST") == 0 && json_object_size(props) > 0)
        bad = json_object_set_new(op, "requestBody",
                                  json_pack("{sb s{s{s{ss sO sO}}}}", "required", 0, "content", "application/json",
                                            "schema", "type", "object", "properties", props, "required", required));
    if (op && !bad && (r->flags & ROUTE_MUTATES))
        bad = json_object_set_new(op, "security", json_pack("[{s[]}]", "ApiKey"));
    json_decref(params);
    json_decref(props);
    json_decref(required);
    if (bad) {
        json_decref(op);
        return NULL;
    }
    return op;
}

json_t *srv_openapi(void) {
    json_t *paths = json_object();
    for (size_t i = 0; paths && i < N_ROUTES; i++) {
        json_t *item = json_object_get(paths, routes[i].pattern);
        if (!item && json_object_set_new(paths, routes[i].pattern, item = json_object()) != 0) {
            json_decref(paths);
            return NULL;
        }
        char method[8];
        size_t k = 0;
        for (; routes[i].method[k] && k < sizeof method - 1; k++)
            method[k] = (char)(routes[i].method[k] | 0x20); /* OpenAPI spells methods in lower case */
        method[k] = '\0';
        if (json_object_set_new(item, method, operation(&routes[i])) != 0) {
            json_decref(paths);
            return NULL;
        }
    }
    return json_pack("{ss s{ss ss ss} so s{s{s{ss ss ss}} s{s{ss s{s{ss} s{ss}} s[ss]}}}}", "openapi", "3.0.3",
                     "info", "title", "soundalike", "version", "0.1.0", "description",
                     "Content-based music similarity: the seed's /api/faiss endpoints and the library API.", "paths",
                     paths, "components", "securitySchemes", "ApiKey", "type", "apiKey", "in", "header", "name",
                     "X-API-Key", "schemas", "Error", "type", "object", "properties", "error", "type", "string",
                     "detail", "type", "string", "required", "error", "detail");
}

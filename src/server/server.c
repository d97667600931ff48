/* server.c: the server's life cycle and the path of a request: routing, limits, the API key, the body, the answer.
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in (routing, the API key and the declared body size are
 * checked there, so a refused request never uploads), once per piece of
 * body, and once more when the body is complete (the handler runs). A
 * deferred request is called again after its job resumes it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "soundalike/log.h"
#include "server/internal.h"

enum {
    DEFAULT_PORT = 8000,
    DEFAULT_JOB_THREADS = 2,
    DEFAULT_JOB_QUEUE = 32,
    DEFAULT_MAX_CONNECTIONS = 512,
    DEFAULT_IDLE_TIMEOUT_S = 15,
    DEFAULT_REQUEST_TIMEOUT_S = 120,
    CONNECTION_MEMORY = 32 * 1024, /* per connection: bounds the request line and headers */
    DROP_LIMIT = 4,                /* a refused body is read up to this many times the limit, then cut */
};
#define DEFAULT_MAX_BODY ((size_t)1 << 20)

double srv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double srv_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- per-thread store connections ---- */

static void close_store(void *s) { sa_store_close(s); }

sa_store *srv_store(srv_request *req) {
    sa_server *srv = req->srv;
    sa_store *s = pthread_getspecific(srv->store_key);
    if (s)
        return s;
    /* a thread's first request: its searches stay on it (FAISS would start
     * a team of threads per query, and the pool is already one per core) */
    sa_index_set_threads(1);
    sa_err err = sa_store_open(srv->db, &s);
    if (!err && pthread_setspecific(srv->store_key, s) != 0) {
        sa_store_close(s);
        err = sa_error_set(SA_ERR_NOMEM, "thread-local store");
    }
    if (err) {
        srv_reply_error(req, 503, "the store is unavailable: %s", sa_error_detail());
        srv_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "5");
        return NULL;
    }
    return s;
}

/* ---- requests ---- */

static srv_request *request_new(sa_server *srv, struct MHD_Connection *conn) {
    srv_request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    req->t0 = srv_clock();
    size_t n_routes;
    srv_routes(&n_routes);
    req->route_slot = (int)n_routes; /* unmatched until routed */
    atomic_init(&req->refs, 1);
    atomic_init(&req->job_state, JOB_NONE);
    return req;
}

void srv_request_release(srv_request *req) {
    if (!req || atomic_fetch_sub(&req->refs, 1) != 1)
        return;
    if (req->work_ctx_free)
        req->work_ctx_free(req->work_ctx);
    if (req->resp)
        MHD_destroy_response(req->resp);
    if (req->timeout_resp)
        MHD_destroy_response(req->timeout_resp);
    json_decref(req->json);
    free(req->body);
    free(req);
}

/* Compares without returning early, so the time taken says nothing of the key. */
static int key_matches(const char *given, const char *key) {
    size_t a = strlen(given), b = strlen(key);
    unsigned diff = (unsigned)(a != b);
    for (size_t i = 0; i < b; i++)
        diff |= (unsigned char)key[i] ^ (unsigned char)(i < a ? given[i] : 0);
    return diff == 0;
}

static void check_key(srv_request *req) {
    const char *key = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-API-Key");
    const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!key && auth && strncasecmp(auth, "Bearer ", 7) == 0)
        key = auth + 7;
    if (!key) {
        srv_reply_error(req, 401, "this route changes the library: send the API key in X-API-Key");
        srv_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"soundalike\"");
    } else if (!key_matches(key, req->srv->api_key)) {
        srv_reply_error(req, 403, "wrong API key");
    }
}

static int wants_static(const sa_server *srv, const char *method, const char *url) {
    return srv->web_dir && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
           strncmp(url, "/api/", 5) != 0;
}

/* What can be decided from the request line and headers alone. */
static void begin(srv_request *req, const char *url, const char *method) {
    sa_server *srv = req->srv;
    int known;
    char allow[64];
    size_t n_routes;
    const srv_route *routes = srv_routes(&n_routes);
    req->route = srv_route_match(method, url, &known, allow, sizeof allow, &req->path_id);
    if (req->route)
        req->route_slot = (int)(req->route - routes);
    else if (!known && wants_static(srv, method, url))
        req->route_slot = (int)n_routes + 1;
    const char *length = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (known) {
        srv_reply_error(req, 405, "%s %s: this path answers %s", method, url, allow);
        srv_reply_header(req, MHD_HTTP_HEADER_ALLOW, allow);
    } else if (!req->route && !wants_static(srv, method, url)) {
        srv_reply_error(req, 404, "no route %s %s (see GET /api/openapi.json)", method, url);
    } else if (req->route && (req->route->flags & ROUTE_MUTATES) && srv->api_key) {
        check_key(req);
    }
    if (!req->status && length && strtoull(length, NULL, 10) > srv->max_body)
        srv_reply_error(req, 413, "the body is larger than %zu bytes", srv->max_body);
}

static void take_body(srv_request *req, const char *data, size_t n) {
    size_t max = req->srv->max_body;
    if (n > max - req->body_len) {
        srv_reply_error(req, 413, "the body is larger than %zu bytes", max);
        return;
    }
    if (req->body_len + n + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap * 2 : 1024;
        while (cap < req->body_len + n + 1)
            cap *= 2;
        char *grown = realloc(req->body, cap);
        if (!grown) {
            srv_reply_error(req, 503, "out of memory reading the body");
            return;
        }
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
}

static void dispatch(srv_request *req, const char *url) {
    if (!req->route) {
        srv_serve_static(req, url);
        return;
    }
    if ((req->route->flags & ROUTE_PATH_ID) && req->path_id <= 0) {
        srv_reply_error(req, 400, "the track id in %s must be a positive integer", url);
        return;
    }
    const char *type = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (srv_parse_body(req, type) < 0)
        return;
    req->route->handler(req);
    if (!req->status && !req->work)
        srv_reply_error(req, 500, "the handler of %s gave no answer", req->route->pattern);
}

/* Queues *resp (and lets it go): MHD holds its own reference until sent. */
static enum MHD_Result send_response(srv_request *req, unsigned status, struct MHD_Response **resp) {
    if (!*resp) /* out of memory making it: all that is left is to close */
        return MHD_NO;
    req->sent_status = status;
    enum MHD_Result r = MHD_queue_response(req->conn, status, *resp);
    MHD_destroy_response(*resp);
    *resp = NULL;
    return r;
}

static enum MHD_Result answer(srv_request *req) { return send_response(req, req->status, &req->resp); }

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    srv_request *req = *con_cls;
    if (!req) {
        req = request_new(cls, conn);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        begin(req, url, method);
        return req->status ? answer(req) : MHD_YES;
    }
    if (*upload_size) {
        /* MHD cannot answer in the middle of a body: a refused one is
         * read and dropped, up to a bound, then answered at its end */
        if (!req->status)
            take_body(req, upload, *upload_size);
        else if ((req->dropped += *upload_size) > DROP_LIMIT * req->srv->max_body)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->work) { /* resumed: by its job, or by the watchdog while the job may still run */
        if (atomic_load(&req->job_state) == JOB_TIMED_OUT)
            return send_response(req, req->timeout_status, &req->timeout_resp);
        return answer(req);
    }
    if (!req->status)
        dispatch(req, url);
    return req->work ? MHD_YES : answer(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)conn, (void)toe;
    sa_server *srv = cls;
    srv_request *req = *con_cls;
    if (!req)
        return;
    srv_metrics_record(&srv->metrics, req->route_slot, req->sent_status, srv_clock() - req->t0);
    *con_cls = NULL;
    srv_request_release(req);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    sa_log_debug("http: %s", line);
}

/* ---- life cycle ---- */

static sa_err copy_string(const char *s, char **out) {
    *out = NULL;
    if (!s)
        return SA_OK;
    *out = strdup(s);
    return *out ? SA_OK : sa_error_set(SA_ERR_NOMEM, "server config");
}

/* The real path of a folder that must exist. */
static sa_err real_folder(const char *path, const char *what, char **out) {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0)
        return sa_error_set(SA_ERR_NOT_FOUND, "%s %s: %s", what, path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sa_error_set(SA_ERR_INVALID, "%s %s is not a folder", what, path);
    return copy_string(real, out);
}

static sa_err take_config(sa_server *srv, const sa_server_config *cfg) {
    sa_err err = copy_string(cfg->db, &srv->db);
    if (!err && cfg->api_key && *cfg->api_key)
        err = copy_string(cfg->api_key, &srv->api_key);
    if (!err && cfg->n_library_roots) {
        srv->roots = calloc(cfg->n_library_roots, sizeof *srv->roots);
        if (!srv->roots)
            err = sa_error_set(SA_ERR_NOMEM, "library roots");
    }
    for (size_t i = 0; !err && i < cfg->n_library_roots; i++) {
        err = real_folder(cfg->library_roots[i], "library folder", &srv->roots[i]);
        srv->n_roots += err == SA_OK;
    }
    if (!err && cfg->web_dir)
        err = real_folder(cfg->web_dir, "web folder", &srv->web_dir);
    srv->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    srv->request_timeout_s = cfg->request_timeout_s ? cfg->request_timeout_s : DEFAULT_REQUEST_TIMEOUT_S;
    srv->analysis_jobs = cfg->analysis_jobs > 0 ? cfg->analysis_jobs : 1;
    return err;
}

/* The data folder: given, or the store's own folder (which opening the store created). */
static sa_err data_folder(sa_server *srv, const sa_server_config *cfg) {
    if (cfg->data_dir)
        return real_folder(cfg->data_dir, "data folder", &srv->data_dir);
    char *copy = strdup(srv->db);
    if (!copy)
        return sa_error_set(SA_ERR_NOMEM, "data folder");
    char *slash = strrchr(copy, '/');
    sa_err err = real_folder(slash == copy ? "/" : slash ? (*slash = '\0', copy) : ".", "data folder", &srv->data_dir);
    free(copy);
    return err;
}

static sa_err load_analyzers(sa_server *srv, const sa_server_config *cfg) {
    sa_analyzer_config acfg = {.model_dir = cfg->model_dir};
    sa_err err = sa_analyzer_set_new(&acfg, &srv->analyzers);
    if (err)
        return err;
    const char *why = sa_analyzer_set_missing_tagger(srv->analyzers);
    if (why)
        sa_log_warn("the MusiCNN tagger is off (%s): new vectors hold the 17 descriptors only", why);
    size_t n;
    const sa_analyzer *const *list = sa_analyzer_set_list(srv->analyzers, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->name, "musicnn") == 0)
            srv->tagger = list[i]->config; /* tagger.h: the analyzer's config is its model */
    return SA_OK;
}

/* Loads the index recorded in the store, if any; a failure leaves none (409 until built). */
static sa_err load_recorded_index(sa_server *srv) {
    sa_store *s;
    sa_err err = sa_store_open(srv->db, &s);
    if (err)
        return err;
    sa_index_meta meta;
    err = sa_store_index_meta_get(s, "music_library", &meta);
    if (!err) {
        srv_build b = {.profile = meta.profile};
        err = srv_index_build(srv, s, &b);
        if (err)
            sa_log_warn("the recorded index is not loaded (%s): POST /api/faiss/build-index to build one",
                        sa_error_detail());
        srv_index_release(b.index);
    }
    sa_store_close(s);
    return err == SA_ERR_DB || err == SA_ERR_NOMEM ? err : SA_OK;
}

static sa_err listen_address(const char *host, int port, struct sockaddr_storage *addr, int *ipv6) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0)
        return sa_error_set(SA_ERR_INVALID, "cannot listen on '%s': %s", host, gai_strerror(rc));
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    if (*ipv6)
        ((struct sockaddr_in6 *)addr)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
    return SA_OK;
}

static sa_err start_daemon(sa_server *srv, const sa_server_config *cfg) {
    const char *host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
    int port = cfg->port >= 0 && cfg->port <= 65535 ? cfg->port : -1;
    if (port < 0)
        return sa_error_set(SA_ERR_INVALID, "port %d is not in 0..65535", cfg->port);
    struct sockaddr_storage addr;
    int ipv6 = 0;
    sa_err err = listen_address(host, port, &addr, &ipv6);
    if (err)
        return err;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : cores > 0 ? (unsigned)cores : 1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (ipv6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections ? cfg->max_connections : (unsigned)DEFAULT_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->idle_timeout_s ? cfg->idle_timeout_s : (unsigned)DEFAULT_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_END);
    if (!srv->daemon)
        return sa_error_set(SA_ERR_IO, "cannot listen on %s port %d (in use, or not an address of this machine?)",
                            host, port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    return SA_OK;
}

/* Makes the locks and the store key; on failure it undoes what it made,
 * since sa_server_free may only destroy locks that exist. */
static sa_err init_locks(sa_server *srv) {
    pthread_mutex_t *const mutexes[] = {&srv->index_mu, &srv->build_mu, &srv->jobs.mu, &srv->task.mu};
    pthread_cond_t *const conds[] = {&srv->jobs.wake, &srv->jobs.tick};
    enum { N_MUTEXES = sizeof mutexes / sizeof *mutexes, N_CONDS = sizeof conds / sizeof *conds };
    size_t m = 0, c = 0;
    while (m < N_MUTEXES && pthread_mutex_init(mutexes[m], NULL) == 0)
        m++;
    while (m == N_MUTEXES && c < N_CONDS && pthread_cond_init(conds[c], NULL) == 0)
        c++;
    if (m == N_MUTEXES && c == N_CONDS && pthread_key_create(&srv->store_key, close_store) == 0)
        return SA_OK;
    while (c)
        pthread_cond_destroy(conds[--c]);
    while (m)
        pthread_mutex_destroy(mutexes[--m]);
    return sa_error_set(SA_ERR_NOMEM, "server locks");
}

sa_err sa_server_new(const sa_server_config *cfg, sa_server **out) {
    if (!cfg || !cfg->db || !*cfg->db || !out)
        return sa_error_set(SA_ERR_INVALID, "sa_server_new: a config with a store location is required");
    *out = NULL;
    sa_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return sa_error_set(SA_ERR_NOMEM, "server");
    srv->started = srv_clock();
    size_t n_routes;
    srv_routes(&n_routes);
    sa_err err = init_locks(srv);
    if (err) { /* nothing else is made yet */
        free(srv);
        return err;
    }
    err = take_config(srv, cfg);
    if (!err)
        err = load_recorded_index(srv); /* opens the store first: it creates the data folder */
    if (!err)
        err = data_folder(srv, cfg);
    if (!err)
        err = load_analyzers(srv, cfg);
    if (!err)
        err = srv_metrics_init(&srv->metrics, n_routes);
    json_t *api = err ? NULL : srv_openapi();
    if (!err && !(srv->openapi = api ? json_dumps(api, JSON_COMPACT) : NULL))
        err = sa_error_set(SA_ERR_NOMEM, "the OpenAPI description");
    json_decref(api);
    if (!err)
        err = srv_jobs_start(srv, cfg->job_threads > 0 ? cfg->job_threads : DEFAULT_JOB_THREADS,
                             cfg->job_queue > 0 ? cfg->job_queue : DEFAULT_JOB_QUEUE);
    if (!err)
        err = start_daemon(srv, cfg);
    if (err) {
        sa_server_free(srv);
        return err;
    }
    sa_log_info("listening on %s port %d", cfg->host && *cfg->host ? cfg->host : "127.0.0.1", srv->port);
    *out = srv;
    return SA_OK;
}

int sa_server_port(const sa_server *srv) { return srv ? srv->port : 0; }

void sa_server_free(sa_server *srv) {
    if (!srv)
        return;
    srv_task_stop(srv);
    srv_jobs_cancel(srv);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    srv_jobs_stop(srv);
    srv_index_clear(srv);
    sa_analyzer_set_free(srv->analyzers);
    srv_metrics_free(&srv->metrics);
    free(srv->openapi);
    for (size_t i = 0; i < srv->n_roots; i++)
        free(srv->roots[i]);
    free(srv->roots);
    free(srv->db);
    free(srv->data_dir);
    free(srv->web_dir);
    free(srv->api_key);
    pthread_key_delete(srv->store_key);
    pthread_mutex_destroy(&srv->index_mu);
    pthread_mutex_destroy(&srv->build_mu);
    pthread_mutex_destroy(&srv->jobs.mu);
    pthread_cond_destroy(&srv->jobs.wake);
    pthread_cond_destroy(&srv->jobs.tick);
    pthread_mutex_destroy(&srv->task.mu);
    free(srv);
}

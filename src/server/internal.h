/* internal.h: what the server's files share (internal to src/server).
 *
 * A request lives from the first call of the access handler to MHD's
 * completion callback. Its handler runs on an event thread and either
 * answers at once or defers work to the job pool; deferred work sees only
 * the values the handler parsed (never the connection, which may be gone)
 * and answers through the same reply functions. A request is reference
 * counted: the connection holds one reference and a job another. */
#ifndef SA_SERVER_INTERNAL_H
#define SA_SERVER_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "soundalike/analyzers.h"
#include "soundalike/index.h"
#include "soundalike/library.h"
#include "soundalike/profile.h"
#include "soundalike/server.h"
#include "soundalike/store.h"

typedef struct srv_request srv_request;
typedef void (*srv_handler)(srv_request *req);

/* ---- routes (routes.c) ---- */

typedef enum srv_param_type {
    SRV_STRING,
    SRV_INT,
    SRV_BOOL,
    SRV_NUMBER,
    SRV_VECTOR, /* a JSON array of numbers, or numbers separated by commas */
} srv_param_type;

/* A parameter: how it is read and checked, and how OpenAPI describes it. */
typedef struct srv_param {
    const char *name;
    srv_param_type type;
    int required;
    double min, max; /* SRV_INT and SRV_NUMBER: the allowed range (422 outside) */
    const char *def; /* the default, as text; NULL: none */
    const char *description;
} srv_param;

enum {
    ROUTE_MUTATES = 1, /* guarded by the API key */
    ROUTE_PATH_ID = 2, /* the pattern ends in {id}, a positive track id */
};

typedef struct srv_route {
    const char *method;
    const char *pattern; /* "/api/tracks/{id}": {id} stands for one path segment */
    srv_handler handler;
    unsigned flags;
    const char *summary;
    const srv_param *params; /* ends with a NULL name; NULL when none */
} srv_route;

/* The routes, in table order; *n gets their number. */
const srv_route *srv_routes(size_t *n);

/* Matches a method and path: the route, or NULL with *path_known set when
 * another method serves the path (405; allow gets those methods). *id
 * gets the {id} segment of a ROUTE_PATH_ID route (0 when it is not a
 * positive integer). */
const srv_route *srv_route_match(const char *method, const char *path, int *path_known, char *allow,
                                 size_t allow_cap, int64_t *id);

/* The OpenAPI 3 description of every route (a new reference). */
json_t *srv_openapi(void);

/* ---- requests (server.c) ---- */

typedef enum srv_job_state {
    JOB_NONE = 0,  /* answered on the event thread */
    JOB_PENDING,   /* queued or running */
    JOB_DONE,      /* the job answered */
    JOB_TIMED_OUT, /* the watchdog (or shutdown) answered 503 first */
} srv_job_state;

typedef void (*srv_work_fn)(srv_request *req, void *ctx);

struct srv_request {
    sa_server *srv;
    struct MHD_Connection *conn; /* only on the event thread */
    const srv_route *route;      /* NULL: unmatched */
    int route_slot;              /* metrics slot */
    int64_t path_id;
    double t0;
    char *body;
    size_t body_len, body_cap;
    size_t dropped; /* bytes of a refused body read and thrown away */
    json_t *json; /* the body's object, when one was sent */
    /* the answer: made by the handler, or by the job once deferred */
    unsigned status;
    struct MHD_Response *resp;
    unsigned sent_status; /* what was queued, for the metrics (event thread only) */
    /* deferred work (jobs.c) */
    atomic_int refs;
    atomic_int job_state;
    srv_work_fn work;
    void *work_ctx;
    void (*work_ctx_free)(void *);
    double deadline;
    struct MHD_Response *timeout_resp;
    unsigned timeout_status;
    srv_request *queue_next;              /* FIFO of jobs not started */
    srv_request *flight_prev, *flight_next; /* every deferred request not finished */
};

void srv_request_release(srv_request *req);

/* The calling thread's store connection (opened on first use, closed when
 * the thread ends); on failure replies 503 and returns NULL. */
sa_store *srv_store(srv_request *req);

/* ---- replies (reply.c) ---- */

/* JSON texts print reals with this many significant digits: 6 for scores,
 * 9 (float round trip) for vectors. */
enum { SRV_PRECISION_SCORE = 6, SRV_PRECISION_VECTOR = 9 };

/* Answers with j (stolen; NULL means out of memory). The first answer of a
 * request wins; later ones are dropped. */
void srv_reply_json(srv_request *req, unsigned status, json_t *j);
void srv_reply_json_precise(srv_request *req, unsigned status, json_t *j, int precision);
/* {"error": <the status's name>, "detail": <fmt>} */
void srv_reply_error(srv_request *req, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Answers an sa_err with the status it maps to and sa_error_detail(). */
void srv_reply_err(srv_request *req, sa_err err, const char *what);
unsigned srv_status_of(sa_err err);
/* Takes an MHD response made by the caller (files, text). */
void srv_reply_raw(srv_request *req, unsigned status, struct MHD_Response *resp);
/* Adds a header to the answer already made (no-op when there is none). */
void srv_reply_header(srv_request *req, const char *name, const char *value);
/* Sets obj[key] = value (stolen) and returns obj; when either is NULL or
 * the set fails, frees both and returns NULL, so calls nest. */
json_t *srv_json_with(json_t *obj, const char *key, json_t *value);
/* An error response as srv_reply_error makes it, for the job pool. */
struct MHD_Response *srv_error_response(unsigned status, const char *detail);

/* ---- parameters (params.c) ---- */

/* Each reads a parameter declared by the request's route, from the JSON
 * body first, then the query string; an absent one takes its default.
 * Returns 1 with *out set, 0 when absent without default, or -1 after
 * replying 400 (missing, malformed) or 422 (out of range). */
int srv_param_str(srv_request *req, const char *name, const char **out);
int srv_param_int(srv_request *req, const char *name, long long *out);
int srv_param_bool(srv_request *req, const char *name, int *out);
int srv_param_number(srv_request *req, const char *name, double *out);
/* The track id that the n characters at s spell in decimal; 0 when they
 * are not 1 to 18 digits (ids are positive and fit in 64 bits). */
int64_t srv_track_id_text(const char *s, size_t n);
/* *out is malloc'd (*n floats); the caller frees it. */
int srv_param_vector(srv_request *req, const char *name, float **out, size_t *n);
/* Parses the body as a JSON object (400 when it is not one, 415 when it is
 * not JSON); 0 or -1 after replying. */
int srv_parse_body(srv_request *req, const char *content_type);

/* ---- paths (paths.c) ---- */

/* Resolves a client's path inside one of the folders (real paths, no
 * trailing '/'): SA_OK with the real path, SA_ERR_DENIED when it resolves
 * (or, when absent, would resolve) outside them, SA_ERR_NOT_FOUND when it
 * is inside but does not exist, SA_ERR_INVALID when empty or too long. */
sa_err srv_path_resolve(char *const *dirs, size_t n_dirs, const char *path, char *out, size_t cap);
/* path with its folder resolved (relative parts, "..", symlinks) and its
 * file name kept: one form for every name of a file that may not exist yet.
 * SA_ERR_NOT_FOUND when the folder does not exist. */
sa_err srv_path_real_folder(const char *path, char *out, size_t cap);
/* Like srv_path_resolve for a file to be written: its folder must exist
 * inside one of dirs and its name must be a plain name. */
sa_err srv_path_resolve_new(char *const *dirs, size_t n_dirs, const char *path, char *out, size_t cap);
/* Whether real (a real path) is dir or lies under it. */
int srv_path_inside(const char *real, const char *dir);
/* The last component of a path. */
const char *srv_base_name(const char *path);
/* A Content-Type for a file name by its extension. */
const char *srv_content_type(const char *path);

/* Parses a Range header for a body of size bytes: 0 with one satisfiable
 * range (*start, *len), 1 when it is to be ignored (absent, not bytes,
 * several ranges, malformed), -1 when unsatisfiable (416). */
int srv_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *len);

/* ---- the live index (live.c) ---- */

/* The index queries use, shared by reference: replaced whole by a rebuild,
 * changed in place only by add-track under its write lock. */
typedef struct srv_index {
    atomic_int refs;
    pthread_rwlock_t lock; /* searches read, adds write */
    sa_index *idx;
    const sa_profile *profile;
    int64_t generation; /* the store's vector generation it reflects; -1: unknown */
    double build_time_s;
} srv_index;

/* The live index with a reference, or NULL when there is none. */
srv_index *srv_index_acquire(sa_server *srv);
void srv_index_release(srv_index *ix);

typedef struct srv_build {
    const char *profile; /* NULL: the library's */
    const char *type;    /* NULL: the type asked for last time ("auto" when none) */
    int force;
    /* results */
    int rebuilt;
    srv_index *index; /* the new live index, with a reference */
} srv_build;

/* Makes the live index as asked (reusing the live or recorded one unless
 * forced or of another type) and swaps it in. One build at a time. */
sa_err srv_index_build(sa_server *srv, sa_store *s, srv_build *b);
/* Replaces the live index with the file at path (checked against the
 * store when it is the profile's own index file). */
sa_err srv_index_load(sa_server *srv, sa_store *s, const char *path, srv_index **out, int *rebuilt);
/* Saves the live index to path; when path is the profile's own index file
 * its metadata is recorded so that a restart trusts it. */
sa_err srv_index_save(sa_server *srv, sa_store *s, const char *path, srv_index **saved, char checksum[72]);
/* Adds a stored track's vector to the live index (when it holds that
 * profile); *indexed says whether it did. generation_before/after bracket
 * the store write, so that the index stays known-fresh when it was. */
sa_err srv_index_add_track(sa_server *srv, sa_store *s, int64_t id, int64_t generation_before,
                           int64_t generation_after, int *indexed);
/* The FAISS class name the guide reports for a type ("IndexFlatIP"), and
 * the type a name given by a client stands for. */
const char *srv_index_type_name(const char *type);
const char *srv_index_type_parse(const char *name);
/* Drops the live index (server shutdown). */
void srv_index_clear(sa_server *srv);

/* ---- the job pool (jobs.c) ---- */

typedef struct srv_jobs {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers: work queued, or stopping */
    pthread_cond_t tick; /* the watchdog: stopping */
    srv_request *head, *tail; /* not started */
    srv_request *flight;      /* every deferred request not finished */
    size_t waiting, limit;
    int running;
    int stopping;
    pthread_t *threads;
    int n_threads;
    pthread_t watchdog;
    int watchdog_started;
} srv_jobs;

sa_err srv_jobs_start(sa_server *srv, int threads, int limit);
/* Answers every deferred request still in flight with 503 and resumes it. */
void srv_jobs_cancel(sa_server *srv);
/* Joins the threads (after the daemon stopped). */
void srv_jobs_stop(sa_server *srv);
/* Runs work(req, ctx) on a job thread; ctx (may be NULL) is freed with
 * ctx_free once done. Replies 503 when the queue is full or stopping. */
void srv_defer(srv_request *req, srv_work_fn work, void *ctx, void (*ctx_free)(void *));
size_t srv_jobs_waiting(sa_server *srv);

/* ---- background scans and analyses (tasks.c) ---- */

typedef enum srv_task_kind { TASK_NONE = 0, TASK_SCAN, TASK_ANALYSIS } srv_task_kind;
typedef enum srv_task_phase { PHASE_IDLE = 0, PHASE_RUNNING, PHASE_INDEXING, PHASE_DONE, PHASE_FAILED } srv_task_phase;

/* What /api/analysis/status shows of a task (copied out under the lock). */
typedef struct srv_task_state {
    srv_task_kind kind;
    srv_task_phase phase;
    double started, finished; /* unix seconds */
    sa_analysis_progress progress;
    sa_scan_report scan;
    char error[512];
} srv_task_state;

typedef struct srv_task {
    pthread_mutex_t mu;
    pthread_t thread;
    int joinable;
    srv_task_state st;
    volatile sig_atomic_t stop;
} srv_task;

/* Starts a scan or an analysis on its own thread: SA_ERR_CONFLICT when one runs. */
sa_err srv_task_start(sa_server *srv, srv_task_kind kind);
/* The task's state as JSON. */
json_t *srv_task_json(sa_server *srv);
/* Asks the task to stop and waits for it. */
void srv_task_stop(sa_server *srv);
/* Tracks not yet analysed in the running analysis, 0 when none runs. */
int64_t srv_task_backlog(sa_server *srv);

/* ---- metrics (metrics.c) ---- */

enum { SRV_LATENCY_BUCKETS = 14 };

typedef struct srv_route_stats {
    atomic_uint_fast64_t by_class[5]; /* 1xx .. 5xx */
    atomic_uint_fast64_t buckets[SRV_LATENCY_BUCKETS + 1];
    atomic_uint_fast64_t sum_us;
} srv_route_stats;

typedef struct srv_metrics {
    srv_route_stats *routes; /* one per route, then unmatched, then static files */
    size_t n;
} srv_metrics;

sa_err srv_metrics_init(srv_metrics *m, size_t n_routes);
void srv_metrics_free(srv_metrics *m);
void srv_metrics_record(srv_metrics *m, int slot, unsigned status, double seconds);
/* The Prometheus text exposition (malloc'd). */
char *srv_metrics_text(sa_server *srv);

/* ---- the server ---- */

struct sa_server {
    char *db;
    char **roots; /* real paths */
    size_t n_roots;
    char *data_dir; /* real path */
    char *web_dir;  /* real path, or NULL */
    char *api_key;
    size_t max_body;
    unsigned request_timeout_s;
    int analysis_jobs;
    sa_analyzer_set *analyzers;
    const void *tagger; /* the tagger's model when loaded (tag names) */
    pthread_key_t store_key;
    struct MHD_Daemon *daemon;
    int port;
    double started;
    pthread_mutex_t index_mu; /* guards the pointer only */
    srv_index *index;
    pthread_mutex_t build_mu; /* one build at a time */
    atomic_int building;
    srv_jobs jobs;
    srv_task task;
    srv_metrics metrics;
    char *openapi; /* the OpenAPI text, made once */
};

/* Unix time and a monotonic clock, in seconds. */
double srv_now(void);
double srv_clock(void);

/* ---- what the handlers share (lookup.c) ---- */

/* Resolves a client's path inside the library folders into real
 * (PATH_MAX bytes): 0, or -1 after replying 400, 403 or 404. */
int srv_client_path(srv_request *req, const char *path, char *real);
/* The stored track at a client's path (as given, or resolved): 1 when
 * found, 0 when the file is not in the library, -1 after replying. */
int srv_track_at(srv_request *req, sa_store *s, const char *given, const char *real, sa_track *out);
/* The stored track with id: 1 when found, -1 after replying (404). */
int srv_track_by_id(srv_request *req, sa_store *s, int64_t id, sa_track *out);
/* Analyses a file with the server's analyzers: 0 with f filled, or -1
 * after replying (422 when it is not audio). */
int srv_analyse_file(srv_request *req, const char *path, sa_features *f);
/* Builds a profile's vector from features, of unit length when normalize
 * is set (the indexed form), else as weighted: 0, or -1 after replying
 * 409 (a feature it needs is absent, e.g. the tags without the tagger). */
int srv_build_vector(srv_request *req, const sa_profile *profile, const sa_features *f, int normalize, float *v);
/* Whether the server can make vectors of profile for new files. */
int srv_can_make(const sa_server *srv, const sa_profile *profile);

/* ---- handlers ---- */

/* The guide's endpoints (routes_faiss.c). */
void srv_h_build_index(srv_request *req);
void srv_h_statistics(srv_request *req);
void srv_h_status(srv_request *req);
void srv_h_similar_tracks(srv_request *req);
void srv_h_generate_playlist(srv_request *req);
void srv_h_extract_vector(srv_request *req);
void srv_h_add_track(srv_request *req);
void srv_h_similar_by_vector(srv_request *req);
void srv_h_save_index(srv_request *req);
void srv_h_load_index(srv_request *req);
/* The library (routes_tracks.c). */
void srv_h_tracks(srv_request *req);
void srv_h_track(srv_request *req);
void srv_h_track_audio(srv_request *req);
/* Operations (routes_ops.c). */
void srv_h_library_scan(srv_request *req);
void srv_h_analysis_start(srv_request *req);
void srv_h_analysis_status(srv_request *req);
void srv_h_health(srv_request *req);
void srv_h_metrics(srv_request *req);
void srv_h_openapi(srv_request *req);
/* Static files from the web folder, for a GET outside the API. */
void srv_serve_static(srv_request *req, const char *url);

#endif

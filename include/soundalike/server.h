/* server.h: the REST API over a library's store and index (the only module that knows HTTP).
 *
 * The seed's endpoints under /api/faiss keep their parameters and response
 * shapes; /api/tracks, /api/library, /api/analysis, /health, /metrics and
 * /api/openapi.json go beyond them. Requests are served by a pool of event
 * threads (libmicrohttpd with epoll); work that can take long (analysing a
 * file, building or saving an index) runs on a separate, bounded pool of
 * job threads, so that a slow request never holds an event thread; scans
 * and analyses run in the background. Each thread has its own store
 * connection; the index is shared by reference and replaced by building a
 * new one aside, so queries never wait for a rebuild.
 *
 * Every file path a client sends must resolve, after symlinks, inside one
 * of the library roots, and index files are read and written only in the
 * data folder. Every error is a JSON object {"error": ..., "detail": ...}
 * with its HTTP status. */
#ifndef SOUNDALIKE_SERVER_H
#define SOUNDALIKE_SERVER_H

#include <stddef.h>

#include "soundalike/error.h"

typedef struct sa_server sa_server;

/* Zero or NULL fields take the default given. Strings are copied. */
typedef struct sa_server_config {
    const char *db;                   /* the store location (required) */
    const char *host;                 /* address to bind: "127.0.0.1" */
    int port;                         /* 0: a free port, read back with sa_server_port */
    const char *const *library_roots; /* folders client paths must resolve into; none: every path is refused */
    size_t n_library_roots;
    const char *data_dir;      /* where index files may be saved and loaded: the store's folder */
    const char *web_dir;       /* static files served at / (the web page); NULL: none */
    const char *api_key;       /* required by every mutating route when set */
    const char *model_dir;     /* tagger weights (see analyzers.h): the default search */
    int threads;               /* event threads: one per core */
    int job_threads;           /* threads for long requests: 2 */
    int job_queue;             /* long requests waiting at most; more get 503: 32 */
    int analysis_jobs;         /* workers of a background analysis: 1, leaving the other cores to queries */
    size_t max_body;           /* bytes of a request body: 1 MiB */
    unsigned max_connections;  /* open connections: 512 */
    unsigned max_per_ip;       /* open connections from one address: unlimited */
    unsigned idle_timeout_s;   /* a connection silent this long is closed: 15 */
    unsigned request_timeout_s; /* a long request unanswered this long gets 503: 120 */
} sa_server_config;

/* Opens the store, loads the analyzers and the recorded index (when there
 * is one), and starts listening. A root or data folder that does not exist
 * is SA_ERR_NOT_FOUND; an address in use is SA_ERR_IO. */
sa_err sa_server_new(const sa_server_config *cfg, sa_server **out);

/* The port it listens on. */
int sa_server_port(const sa_server *srv);

/* Stops listening, answers what is in flight with 503, waits for the
 * background work to stop and frees everything. NULL accepted. */
void sa_server_free(sa_server *srv);

#endif

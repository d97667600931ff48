/* jobs.c: the pool for long requests: a bounded queue, worker threads, a watchdog for deadlines.
 *
 * The event thread suspends the connection and queues the request; a
 * worker runs its work and resumes the connection with the answer. A
 * watchdog answers 503 to a request whose deadline passes first (the work
 * goes on, its answer is dropped), so no request waits forever and a full
 * queue answers 503 at once: slow work cannot starve the event threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "soundalike/log.h"
#include "server/internal.h"

enum { WATCH_PERIOD_MS = 200 };

static void flight_remove(srv_jobs *j, srv_request *req) {
    if (req->flight_prev)
        req->flight_prev->flight_next = req->flight_next;
    else
        j->flight = req->flight_next;
    if (req->flight_next)
        req->flight_next->flight_prev = req->flight_prev;
    req->flight_prev = req->flight_next = NULL;
}

/* Claims the answer for the watchdog; the caller holds the lock. */
static void time_out(srv_request *req, const char *detail) {
    int expected = JOB_PENDING;
    if (!atomic_compare_exchange_strong(&req->job_state, &expected, JOB_TIMED_OUT))
        return;
    req->timeout_status = 503;
    req->timeout_resp = srv_error_response(503, detail);
    if (req->timeout_resp)
        (void)MHD_add_response_header(req->timeout_resp, MHD_HTTP_HEADER_RETRY_AFTER, "10");
    MHD_resume_connection(req->conn);
}

static void run_one(sa_server *srv, srv_request *req) {
    if (atomic_load(&req->job_state) == JOB_PENDING)
        req->work(req, req->work_ctx);
    if (req->work_ctx_free)
        req->work_ctx_free(req->work_ctx);
    req->work_ctx = NULL;
    req->work_ctx_free = NULL;
    sa_error_clear();
    pthread_mutex_lock(&srv->jobs.mu);
    int expected = JOB_PENDING;
    if (atomic_compare_exchange_strong(&req->job_state, &expected, JOB_DONE))
        MHD_resume_connection(req->conn);
    else if (req->resp) { /* the watchdog answered first */
        MHD_destroy_response(req->resp);
        req->resp = NULL;
    }
    flight_remove(&srv->jobs, req);
    srv->jobs.running--;
    pthread_mutex_unlock(&srv->jobs.mu);
    srv_request_release(req);
}

static void *worker_main(void *arg) {
    sa_server *srv = arg;
    srv_jobs *j = &srv->jobs;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->head && !j->stopping)
            pthread_cond_wait(&j->wake, &j->mu);
        srv_request *req = j->head;
        if (!req)
            break;
        j->head = req->queue_next;
        if (!j->head)
            j->tail = NULL;
        j->waiting--;
        j->running++;
        pthread_mutex_unlock(&j->mu);
        run_one(srv, req);
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static void *watchdog_main(void *arg) {
    sa_server *srv = arg;
    srv_jobs *j = &srv->jobs;
    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WATCH_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&j->tick, &j->mu, &until);
        double now = srv_clock();
        char detail[160];
        snprintf(detail, sizeof detail, "not answered within %u s; the work goes on: see GET /api/faiss/status",
                 srv->request_timeout_s);
        for (srv_request *r = j->flight; r; r = r->flight_next)
            if (r->deadline <= now)
                time_out(r, detail);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

sa_err srv_jobs_start(sa_server *srv, int threads, int limit) {
    srv_jobs *j = &srv->jobs;
    j->limit = (size_t)limit;
    j->threads = calloc((size_t)threads, sizeof *j->threads);
    if (!j->threads)
        return sa_error_set(SA_ERR_NOMEM, "job threads");
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&j->threads[i], NULL, worker_main, srv) != 0)
            return sa_error_set(SA_ERR_NOMEM, "cannot start job thread %d", i);
        j->n_threads++;
    }
    if (pthread_create(&j->watchdog, NULL, watchdog_main, srv) != 0)
        return sa_error_set(SA_ERR_NOMEM, "cannot start the watchdog thread");
    j->watchdog_started = 1;
    return SA_OK;
}

void srv_jobs_cancel(sa_server *srv) {
    srv_jobs *j = &srv->jobs;
    pthread_mutex_lock(&j->mu);
    j->stopping = 1;
    for (srv_request *r = j->flight; r; r = r->flight_next)
        time_out(r, "the server is shutting down");
    pthread_cond_broadcast(&j->wake);
    pthread_cond_signal(&j->tick);
    pthread_mutex_unlock(&j->mu);
}

void srv_jobs_stop(sa_server *srv) {
    srv_jobs *j = &srv->jobs;
    pthread_mutex_lock(&j->mu);
    j->stopping = 1;
    pthread_cond_broadcast(&j->wake);
    pthread_cond_signal(&j->tick);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < j->n_threads; i++)
        pthread_join(j->threads[i], NULL);
    if (j->watchdog_started)
        pthread_join(j->watchdog, NULL);
    free(j->threads);
    j->threads = NULL;
    j->n_threads = 0;
    j->watchdog_started = 0;
}

void srv_defer(srv_request *req, srv_work_fn work, void *ctx, void (*ctx_free)(void *)) {
    sa_server *srv = req->srv;
    srv_jobs *j = &srv->jobs;
    pthread_mutex_lock(&j->mu);
    if (j->stopping || j->waiting >= j->limit) {
        pthread_mutex_unlock(&j->mu);
        if (ctx_free)
            ctx_free(ctx);
        srv_reply_error(req, 503, j->stopping ? "the server is shutting down"
                                              : "too many long requests waiting; try again shortly");
        srv_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "2");
        return;
    }
    req->work = work;
    req->work_ctx = ctx;
    req->work_ctx_free = ctx_free;
    req->deadline = srv_clock() + srv->request_timeout_s;
    atomic_store(&req->job_state, JOB_PENDING);
    atomic_fetch_add(&req->refs, 1);
    /* suspended before it is queued: a worker may resume it at once */
    MHD_suspend_connection(req->conn);
    req->queue_next = NULL;
    if (j->tail)
        j->tail->queue_next = req;
    else
        j->head = req;
    j->tail = req;
    j->waiting++;
    req->flight_next = j->flight;
    if (j->flight)
        j->flight->flight_prev = req;
    j->flight = req;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
}

size_t srv_jobs_waiting(sa_server *srv) {
    pthread_mutex_lock(&srv->jobs.mu);
    size_t n = srv->jobs.waiting + (size_t)srv->jobs.running;
    pthread_mutex_unlock(&srv->jobs.mu);
    return n;
}

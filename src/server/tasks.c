/* tasks.c: background scans and analyses, one at a time, with progress for /api/analysis/status.
 *
 * A task runs on its own thread with its own store connection; SQLite's
 * WAL lets the event threads read while it writes. After an analysis the
 * live index is rebuilt aside and swapped in, so queries see the new
 * tracks without ever waiting for them. */
#include <stdio.h>
#include <string.h>

#include "soundalike/log.h"
#include "server/internal.h"

static void on_progress(const sa_analysis_progress *p, void *ctx) {
    srv_task *t = ctx;
    pthread_mutex_lock(&t->mu);
    t->st.progress = *p;
    pthread_mutex_unlock(&t->mu);
}

static void set_phase(srv_task *t, srv_task_phase phase) {
    pthread_mutex_lock(&t->mu);
    t->st.phase = phase;
    pthread_mutex_unlock(&t->mu);
}

static sa_err run_scan(sa_server *srv, sa_store *s) {
    sa_scan_report r;
    sa_err err = sa_library_scan(s, (const char *const *)srv->roots, srv->n_roots, &r);
    if (!err) {
        pthread_mutex_lock(&srv->task.mu);
        srv->task.st.scan = r;
        pthread_mutex_unlock(&srv->task.mu);
    }
    return err;
}

static sa_err run_analysis(sa_server *srv, sa_store *s) {
    srv_task *t = &srv->task;
    sa_analyze_options o = {.jobs = srv->analysis_jobs, .progress = on_progress, .progress_ctx = t, .stop = &t->stop};
    o.analyzers = sa_analyzer_set_list(srv->analyzers, &o.n_analyzers);
    sa_analysis_progress p;
    sa_err err = sa_library_analyze(s, &o, &p);
    if (err || t->stop)
        return err;
    on_progress(&p, t);
    set_phase(t, PHASE_INDEXING);
    srv_build b = {0};
    err = srv_index_build(srv, s, &b);
    srv_index_release(b.index);
    if (err == SA_ERR_CONFLICT) /* nothing to index yet */
        err = SA_OK;
    return err;
}

static void *task_main(void *arg) {
    sa_server *srv = arg;
    srv_task *t = &srv->task;
    sa_store *s = NULL;
    sa_err err = sa_store_open(srv->db, &s);
    if (!err)
        err = t->st.kind == TASK_SCAN ? run_scan(srv, s) : run_analysis(srv, s);
    sa_store_close(s);
    pthread_mutex_lock(&t->mu);
    t->st.phase = err ? PHASE_FAILED : PHASE_DONE;
    if (err)
        snprintf(t->st.error, sizeof t->st.error, "%s", *sa_error_detail() ? sa_error_detail() : sa_strerror(err));
    t->st.finished = srv_now();
    pthread_mutex_unlock(&t->mu);
    if (err)
        sa_log_warn("background %s failed: %s", t->st.kind == TASK_SCAN ? "scan" : "analysis", t->st.error);
    return NULL;
}

sa_err srv_task_start(sa_server *srv, srv_task_kind kind) {
    srv_task *t = &srv->task;
    if (kind == TASK_SCAN && srv->n_roots == 0)
        return sa_error_set(SA_ERR_CONFLICT, "no library folders are configured: start the server with --library DIR");
    pthread_mutex_lock(&t->mu);
    if (t->st.phase == PHASE_RUNNING || t->st.phase == PHASE_INDEXING) {
        pthread_mutex_unlock(&t->mu);
        return sa_error_set(SA_ERR_CONFLICT, "%s is running already",
                            t->st.kind == TASK_SCAN ? "a scan" : "an analysis");
    }
    if (t->joinable) /* the last task has ended: only its thread is left to reap */
        pthread_join(t->thread, NULL);
    t->joinable = 0;
    memset(&t->st, 0, sizeof t->st);
    t->st.kind = kind;
    t->st.phase = PHASE_RUNNING;
    t->st.started = srv_now();
    t->stop = 0;
    sa_err err = SA_OK;
    if (pthread_create(&t->thread, NULL, task_main, srv) != 0) {
        t->st.phase = PHASE_FAILED;
        snprintf(t->st.error, sizeof t->st.error, "cannot start a thread");
        err = sa_error_set(SA_ERR_NOMEM, "cannot start the background thread");
    } else {
        t->joinable = 1;
    }
    pthread_mutex_unlock(&t->mu);
    return err;
}

void srv_task_stop(sa_server *srv) {
    srv_task *t = &srv->task;
    t->stop = 1;
    pthread_mutex_lock(&t->mu);
    int joinable = t->joinable;
    t->joinable = 0;
    pthread_mutex_unlock(&t->mu);
    if (joinable)
        pthread_join(t->thread, NULL);
}

int64_t srv_task_backlog(sa_server *srv) {
    srv_task *t = &srv->task;
    pthread_mutex_lock(&t->mu);
    const srv_task_state *st = &t->st;
    int64_t n = st->kind == TASK_ANALYSIS && st->phase == PHASE_RUNNING ? st->progress.total - st->progress.done : 0;
    pthread_mutex_unlock(&t->mu);
    return n;
}

static json_t *scan_json(const sa_scan_report *r) {
    return json_pack("{sI sI sI sI sI sI sI sI}", "files", (json_int_t)r->files, "added", (json_int_t)r->added,
                     "changed", (json_int_t)r->changed, "unchanged", (json_int_t)r->unchanged, "failed",
                     (json_int_t)r->failed, "ignored", (json_int_t)r->ignored, "missing", (json_int_t)r->missing,
                     "unreadable", (json_int_t)r->unreadable);
}

json_t *srv_task_json(sa_server *srv) {
    static const char *const phases[] = {"idle", "running", "indexing", "done", "failed"};
    srv_task *t = &srv->task;
    pthread_mutex_lock(&t->mu);
    srv_task_state st = t->st;
    pthread_mutex_unlock(&t->mu);
    const sa_analysis_progress *p = &st.progress;
    double elapsed = st.phase == PHASE_IDLE ? 0 : (st.finished ? st.finished : srv_now()) - st.started;
    double rate = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0;
    int active = st.phase == PHASE_RUNNING && st.kind == TASK_ANALYSIS;
    json_t *eta = active && rate > 0 ? json_real((double)(p->total - p->done) / rate) : json_null();
    json_t *kind = st.kind == TASK_NONE ? json_null() : json_string(st.kind == TASK_SCAN ? "scan" : "analysis");
    json_t *started = st.started ? json_integer((json_int_t)st.started) : json_null();
    json_t *finished = st.finished ? json_integer((json_int_t)st.finished) : json_null();
    json_t *scan = st.kind == TASK_SCAN && st.phase == PHASE_DONE ? scan_json(&st.scan) : json_null();
    return json_pack("{ss so so so sf s{sI sI sI sf} sf so sf sf so so}", "state", phases[st.phase], "task", kind,
                     "started_at", started, "finished_at", finished, "elapsed_s", elapsed, "progress", "done",
                     (json_int_t)p->done, "failed", (json_int_t)p->failed, "total", (json_int_t)p->total, "percent",
                     p->total > 0 ? 100.0 * (double)p->done / (double)p->total : 0.0, "rate_tracks_per_s", rate,
                     "eta_s", eta, "audio_s", p->audio_s, "realtime_factor",
                     p->elapsed_s > 0 ? p->audio_s / p->elapsed_s : 0.0, "scan", scan, "error",
                     st.error[0] ? json_string(st.error) : json_null());
}

/* analyze.c: the analysis worker pool.
 *
 * Workers take tracks from a shared list, run the pipeline and hand their
 * results to the calling thread, which alone writes to the store: one
 * transaction per track, so that a kill at any moment leaves every track
 * either fully stored or still pending, and SQLite never sees two writers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soundalike/library.h"
#include "soundalike/log.h"
#include "soundalike/pipeline.h"
#include "soundalike/profile.h"

enum { MAX_ANALYZERS = 16 };

/* The feature group that records which version of the profiles built a
 * track's vectors, so that a change of profiles rebuilds vectors from the
 * stored features without decoding anything again. */

typedef struct work_item {
    int64_t id;
    char *path;
    unsigned mask; /* which analyzers to run (bit i = analyzers[i]) */
} work_item;

typedef struct result {
    struct result *next;
    size_t item;
    sa_err err;
    char *error;
    sa_features features;
    double duration_s;
} result;

typedef struct pool {
    const sa_analyze_options *o;
    work_item *items;
    size_t n_items, cap_items;
    atomic_size_t next;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    result *head, *tail; /* finished, not yet written */
    int64_t *refresh;    /* analysed tracks whose vectors predate the profiles */
    size_t n_refresh, cap_refresh;
    int workers_left;
} pool;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int stop_requested(const pool *p) { return p->o->stop && *p->o->stop; }

/* ---- the work list ---- */

typedef struct collect_ctx {
    pool *p;
    sa_store *store;
    sa_err err;
} collect_ctx;

static int add_item(pool *p, const sa_track *t, unsigned mask) {
    if (p->n_items == p->cap_items) {
        size_t cap = p->cap_items ? p->cap_items * 2 : 256;
        work_item *grown = realloc(p->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->items = grown;
        p->cap_items = cap;
    }
    work_item *w = &p->items[p->n_items];
    w->id = t->id;
    w->mask = mask;
    w->path = strdup(t->path);
    if (!w->path)
        return -1;
    p->n_items++;
    return 0;
}

/* Analyzers whose stored version differs from theirs. */
static sa_err outdated_mask(sa_store *s, const sa_analyze_options *o, int64_t id, unsigned *mask) {
    *mask = 0;
    for (size_t a = 0; a < o->n_analyzers; a++) {
        int version = 0;
        sa_err err = sa_store_features_version(s, id, o->analyzers[a]->name, &version);
        if (err)
            return err;
        if (version != o->analyzers[a]->version)
            *mask |= 1u << a;
    }
    return SA_OK;
}

static int add_refresh(pool *p, int64_t id) {
    if (p->n_refresh == p->cap_refresh) {
        size_t cap = p->cap_refresh ? p->cap_refresh * 2 : 256;
        int64_t *grown = realloc(p->refresh, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->refresh = grown;
        p->cap_refresh = cap;
    }
    p->refresh[p->n_refresh++] = id;
    return 0;
}

static int collect_track(const sa_track *t, void *ctx) {
    collect_ctx *c = ctx;
    unsigned all = (1u << c->p->o->n_analyzers) - 1, mask = all;
    int profiles = SA_PROFILES_VERSION;
    if (t->status == SA_TRACK_ANALYZED) {
        c->err = outdated_mask(c->store, c->p->o, t->id, &mask);
        if (!c->err && !mask)
            c->err = sa_store_features_version(c->store, t->id, SA_PROFILES_GROUP, &profiles);
        if (c->err)
            return 1;
    } else if (t->status != SA_TRACK_PENDING) {
        return 0;
    }
    if (profiles != SA_PROFILES_VERSION && add_refresh(c->p, t->id) != 0) {
        c->err = sa_error_set(SA_ERR_NOMEM, "work list");
        return 1;
    }
    if (mask && add_item(c->p, t, mask) != 0) {
        c->err = sa_error_set(SA_ERR_NOMEM, "work list");
        return 1;
    }
    return 0;
}

static sa_err collect_work(pool *p, sa_store *s) {
    collect_ctx c = {.p = p, .store = s};
    sa_err err = sa_store_tracks_each(s, -1, collect_track, &c);
    return err ? err : c.err;
}

/* ---- workers ---- */

static void analyse_one(pool *p, size_t i, result *r) {
    const sa_analyze_options *o = p->o;
    const sa_analyzer *chosen[MAX_ANALYZERS];
    size_t n = 0;
    for (size_t a = 0; a < o->n_analyzers; a++)
        if (p->items[i].mask & (1u << a))
            chosen[n++] = o->analyzers[a];
    sa_pipeline_result res = {0};
    sa_audio_info info = {0};
    r->item = i;
    r->err = sa_pipeline_run(p->items[i].path, chosen, n, &r->features, &info, &res);
    if (r->err)
        r->error = strdup(sa_error_detail()[0] ? sa_error_detail() : sa_strerror(r->err));
    r->duration_s = res.decoded_s;
    sa_audio_info_clear(&info);
}

static void *worker_main(void *arg) {
    pool *p = arg;
    for (;;) {
        if (stop_requested(p))
            break;
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n_items)
            break;
        result *r = calloc(1, sizeof *r);
        if (!r) {
            sa_log_error("out of memory analysing %s", p->items[i].path);
            break;
        }
        analyse_one(p, i, r);
        pthread_mutex_lock(&p->lock);
        if (p->tail)
            p->tail->next = r;
        else
            p->head = r;
        p->tail = r;
        pthread_cond_signal(&p->ready);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_lock(&p->lock);
    p->workers_left--;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- writing results ---- */

/* Rebuilds the vectors of tracks analysed under older profiles, one
 * transaction each, until done or asked to stop. */
static sa_err refresh_vectors(pool *p, sa_store *s) {
    size_t done = 0;
    for (; done < p->n_refresh && !stop_requested(p); done++) {
        sa_err err = sa_store_begin(s);
        if (!err)
            err = sa_library_store_vectors(s, p->refresh[done]);
        if (err) {
            sa_store_rollback(s);
            return err;
        }
        if ((err = sa_store_commit(s)))
            return err;
    }
    if (done)
        sa_log_info("vectors of %zu tracks rebuilt for the current profiles", done);
    return SA_OK;
}

static sa_err store_success(sa_store *s, int64_t id, result *r) {
    sa_err err = SA_OK;
    for (size_t g = 0; !err && g < r->features.count; g++)
        err = sa_store_features_put(s, id, &r->features.groups[g]);
    if (!err)
        err = sa_library_store_vectors(s, id);
    sa_track t = {0};
    if (!err)
        err = sa_store_track_by_id(s, id, &t);
    if (!err) {
        if (r->duration_s > 0)
            t.duration_s = r->duration_s;
        t.status = SA_TRACK_ANALYZED;
        free(t.error);
        t.error = NULL;
        t.analyzed_at = (int64_t)time(NULL);
        int64_t same;
        err = sa_store_track_put(s, &t, &same);
    }
    sa_track_clear(&t);
    return err;
}

static sa_err store_result(sa_store *s, pool *p, result *r) {
    int64_t id = p->items[r->item].id;
    sa_err err = sa_store_begin(s);
    if (err)
        return err;
    if (r->err) {
        sa_log_info("%s: %s", p->items[r->item].path, r->error ? r->error : sa_strerror(r->err));
        err = sa_store_track_set_status(s, id, SA_TRACK_FAILED, r->error ? r->error : sa_strerror(r->err));
    } else {
        err = store_success(s, id, r);
    }
    if (err) {
        sa_store_rollback(s);
        return err;
    }
    return sa_store_commit(s);
}

static void result_free(result *r) {
    sa_features_clear(&r->features);
    free(r->error);
    free(r);
}

/* Writes results as they come until every worker has ended. */
static sa_err drain(pool *p, sa_store *s, sa_analysis_progress *prog, double t0) {
    sa_err err = SA_OK;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && p->workers_left > 0)
            pthread_cond_wait(&p->ready, &p->lock);
        result *r = p->head;
        if (!r)
            break;
        p->head = r->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        if (!err) {
            err = store_result(s, p, r);
            prog->done++;
            prog->failed += r->err != SA_OK;
            prog->audio_s += r->duration_s;
            prog->elapsed_s = now_s() - t0;
            if (p->o->progress)
                p->o->progress(prog, p->o->progress_ctx);
        }
        if (err) /* the store failed: let the workers finish without new work */
            atomic_store(&p->next, p->n_items);
        result_free(r);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return err;
}

static int default_jobs(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

sa_err sa_library_analyze(sa_store *s, const sa_analyze_options *o, sa_analysis_progress *report) {
    if (o->n_analyzers == 0 || o->n_analyzers > MAX_ANALYZERS)
        return sa_error_set(SA_ERR_INVALID, "%zu analyzers (1 to %d)", o->n_analyzers, MAX_ANALYZERS);
    pool p = {.o = o, .lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER};
    sa_analysis_progress prog = {0};
    double t0 = now_s();
    sa_err err = collect_work(&p, s);
    if (!err)
        err = refresh_vectors(&p, s);
    prog.total = (int64_t)p.n_items;
    int jobs = o->jobs > 0 ? o->jobs : default_jobs();
    if ((size_t)jobs > p.n_items)
        jobs = (int)p.n_items;
    pthread_t *threads = calloc(jobs > 0 ? (size_t)jobs : 1, sizeof *threads);
    if (!err && !threads)
        err = sa_error_set(SA_ERR_NOMEM, "worker threads");
    /* counted apart from workers_left, which running workers already lower:
     * every started thread must be joined before p leaves scope */
    int started = 0;
    for (int i = 0; !err && i < jobs; i++) {
        pthread_mutex_lock(&p.lock);
        p.workers_left++;
        pthread_mutex_unlock(&p.lock);
        if (pthread_create(&threads[i], NULL, worker_main, &p) != 0) {
            pthread_mutex_lock(&p.lock);
            p.workers_left--;
            pthread_mutex_unlock(&p.lock);
            err = sa_error_set(SA_ERR_NOMEM, "cannot start worker thread %d", i);
            break;
        }
        started++;
    }
    if (err)
        atomic_store(&p.next, p.n_items);
    sa_err werr = drain(&p, s, &prog, t0);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    for (size_t i = 0; i < p.n_items; i++)
        free(p.items[i].path);
    free(p.items);
    free(p.refresh);
    prog.elapsed_s = now_s() - t0;
    if (report)
        *report = prog;
    return err ? err : werr;
}

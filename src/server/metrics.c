/* metrics.c: request counts and latency histograms per route (lock-free counters), and /metrics in Prometheus text. */
#include <stdio.h>
#include <stdlib.h>

#include "server/internal.h"

static const double bounds[SRV_LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};

sa_err srv_metrics_init(srv_metrics *m, size_t n_routes) {
    m->n = n_routes + 2; /* then unmatched, then static files */
    m->routes = calloc(m->n, sizeof *m->routes);
    if (!m->routes)
        return sa_error_set(SA_ERR_NOMEM, "metrics");
    return SA_OK;
}

void srv_metrics_free(srv_metrics *m) {
    free(m->routes);
    m->routes = NULL;
}

void srv_metrics_record(srv_metrics *m, int slot, unsigned status, double seconds) {
    if (slot < 0 || (size_t)slot >= m->n)
        return;
    srv_route_stats *r = &m->routes[slot];
    unsigned cls = status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add_explicit(&r->by_class[cls - 1], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < SRV_LATENCY_BUCKETS && seconds > bounds[b])
        b++;
    atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, (uint_fast64_t)(seconds * 1e6), memory_order_relaxed);
}

static void slot_label(size_t slot, size_t n_routes, const srv_route *routes, const char **route, const char **method) {
    if (slot < n_routes) {
        *route = routes[slot].pattern;
        *method = routes[slot].method;
    } else {
        *route = slot == n_routes ? "unmatched" : "static";
        *method = "any";
    }
}

static void write_counts(FILE *f, const srv_metrics *m, size_t n_routes, const srv_route *routes) {
    fputs("# HELP soundalike_http_requests_total Requests answered, by route and status class.\n"
          "# TYPE soundalike_http_requests_total counter\n",
          f);
    for (size_t i = 0; i < m->n; i++) {
        const char *route, *method;
        slot_label(i, n_routes, routes, &route, &method);
        for (int c = 0; c < 5; c++) {
            uint_fast64_t v = atomic_load_explicit(&m->routes[i].by_class[c], memory_order_relaxed);
            if (v)
                fprintf(f, "soundalike_http_requests_total{route=\"%s\",method=\"%s\",code=\"%dxx\"} %llu\n", route,
                        method, c + 1, (unsigned long long)v);
        }
    }
}

static void write_latencies(FILE *f, const srv_metrics *m, size_t n_routes, const srv_route *routes) {
    fputs("# HELP soundalike_http_request_duration_seconds Time from the request's headers to the end of its answer.\n"
          "# TYPE soundalike_http_request_duration_seconds histogram\n",
          f);
    for (size_t i = 0; i < m->n; i++) {
        const srv_route_stats *r = &m->routes[i];
        uint_fast64_t total = 0;
        for (size_t b = 0; b <= SRV_LATENCY_BUCKETS; b++)
            total += atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
        if (!total)
            continue;
        const char *route, *method;
        slot_label(i, n_routes, routes, &route, &method);
        uint_fast64_t cumulative = 0;
        for (size_t b = 0; b <= SRV_LATENCY_BUCKETS; b++) {
            cumulative += atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
            char le[32];
            if (b < SRV_LATENCY_BUCKETS)
                snprintf(le, sizeof le, "%g", bounds[b]);
            else
                snprintf(le, sizeof le, "+Inf");
            fprintf(f, "soundalike_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%s\"} %llu\n",
                    route, method, le, (unsigned long long)cumulative);
        }
        fprintf(f, "soundalike_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n", route, method,
                (double)atomic_load_explicit(&r->sum_us, memory_order_relaxed) / 1e6);
        fprintf(f, "soundalike_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n", route, method,
                (unsigned long long)cumulative);
    }
}

static void gauge(FILE *f, const char *name, const char *help, double value) {
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, value);
}

char *srv_metrics_text(sa_server *srv) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    size_t n_routes;
    const srv_route *routes = srv_routes(&n_routes);
    write_counts(f, &srv->metrics, n_routes, routes);
    write_latencies(f, &srv->metrics, n_routes, routes);
    srv_index *ix = srv_index_acquire(srv);
    gauge(f, "soundalike_index_loaded", "1 when an index answers queries.", ix != NULL);
    gauge(f, "soundalike_index_vectors", "Vectors in the live index.", ix ? (double)sa_index_count(ix->idx) : 0);
    gauge(f, "soundalike_index_dimension", "Dimension of the live index.", ix ? ix->profile->dim : 0);
    srv_index_release(ix);
    gauge(f, "soundalike_index_building", "1 while an index is being built.", atomic_load(&srv->building));
    gauge(f, "soundalike_jobs_queue_length", "Long requests waiting for or running on a job thread.",
          (double)srv_jobs_waiting(srv));
    gauge(f, "soundalike_analysis_backlog", "Tracks the running analysis has yet to analyse.",
          (double)srv_task_backlog(srv));
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    gauge(f, "soundalike_http_connections", "Open HTTP connections.", info ? info->num_connections : 0);
    gauge(f, "soundalike_uptime_seconds", "Seconds since the server started.", srv_clock() - srv->started);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

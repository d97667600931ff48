/* test_server_http.c: a real server on 127.0.0.1 over a store of synthetic vectors:
 * routing and JSON errors, limits, the API key, rebuilds under concurrent
 * queries, slow clients, a store that goes away, metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "soundalike/profile.h"
#include "soundalike/server.h"
#include "soundalike/store.h"
#include "testutil.h"

enum { N_TRACKS = 300 };
#define API_KEY "s3cret-key"

typedef struct fixture {
    char dir[256];
    char db[PATH_MAX];
    char lib[PATH_MAX];
    sa_server *srv;
    int port;
} fixture;

/* ---- a tiny HTTP client: one request per connection ---- */

typedef struct reply {
    int status;
    char head[8192];
    char *body; /* malloc'd */
    json_t *json;
} reply;

static void reply_clear(reply *r) {
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *data, size_t n) {
    while (n) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends raw (a whole request) and reads the answer until the server closes. */
static int exchange(int port, const char *raw, size_t n, reply *r) {
    memset(r, 0, sizeof *r);
    int fd = connect_to(port);
    if (fd < 0)
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = send_all(fd, raw, n);
    for (ssize_t got = 1; rc == 0 && got > 0;) {
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
        got = recv(fd, buf + len, cap - len - 1, 0);
        if (got > 0)
            len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (rc != 0 || !end || sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    snprintf(r->head, sizeof r->head, "%.*s", (int)(end - buf), buf);
    r->body = strdup(end + 4);
    r->json = json_loads(r->body, 0, NULL);
    free(buf);
    return 0;
}

static int request(int port, const char *method, const char *target, const char *headers, const char *body, reply *r) {
    char raw[1 << 16];
    snprintf(raw, sizeof raw,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s", method,
             target, headers ? headers : "", body ? strlen(body) : 0, body ? body : "");
    return exchange(port, raw, strlen(raw), r);
}

/* An error answer: the status, and a JSON {"error", "detail"}. */
static void assert_error(const reply *r, int status) {
    if (r->status != status)
        fprintf(stderr, "wanted %d, got %d: %s\n", status, r->status, r->body ? r->body : "");
    assert_int_equal(r->status, status);
    assert_non_null(r->json);
    assert_true(json_is_string(json_object_get(r->json, "error")));
    assert_true(json_is_string(json_object_get(r->json, "detail")));
}

/* ---- a store of synthetic tracks ---- */

static void fill_store(const fixture *fx) {
    sa_store *s;
    assert_int_equal(sa_store_open(fx->db, &s), SA_OK);
    const sa_profile *p = sa_profile_find("default");
    float *v = malloc((size_t)p->dim * sizeof *v);
    unsigned seed = 7;
    assert_int_equal(sa_store_begin(s), SA_OK);
    for (int i = 0; i < N_TRACKS; i++) {
        char path[PATH_MAX + 32], hash[17];
        snprintf(path, sizeof path, "%s/track%03d.mp3", fx->lib, i);
        snprintf(hash, sizeof hash, "%016x", i + 1);
        sa_track t = {.path = path, .size = 1000 + i, .content_hash = hash, .status = SA_TRACK_ANALYZED,
                      .duration_s = 180, .scanned_at = 1, .analyzed_at = 2};
        int64_t id;
        assert_int_equal(sa_store_track_put(s, &t, &id), SA_OK);
        for (int k = 0; k < p->dim; k++)
            v[k] = (float)rand_r(&seed) / (float)RAND_MAX - 0.5f;
        sa_vector_normalize(v, p->dim);
        assert_int_equal(sa_store_vector_put(s, id, p->name, v, p->dim), SA_OK);
    }
    assert_int_equal(sa_store_commit(s), SA_OK);
    sa_store_close(s);
    free(v);
    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/track000.mp3", fx->lib); /* one real file, for audio */
    assert_int_equal(tu_write_file(file, "0123456789", 10), 0);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx || !tu_tempdir(fx->dir, sizeof fx->dir))
        return -1;
    snprintf(fx->db, sizeof fx->db, "%s/data/library.db", fx->dir);
    snprintf(fx->lib, sizeof fx->lib, "%s/lib", fx->dir);
    if (mkdir(fx->lib, 0777) != 0)
        return -1;
    fill_store(fx);
    const char *roots[] = {fx->lib};
    sa_server_config cfg = {.db = fx->db, .port = 0, .library_roots = roots, .n_library_roots = 1,
                            .api_key = API_KEY, .threads = 2, .max_body = 4096, .idle_timeout_s = 3,
                            .model_dir = fx->dir /* no model there: the tagger stays off, fast */};
    if (sa_server_new(&cfg, &fx->srv) != SA_OK) {
        fprintf(stderr, "server: %s\n", sa_error_detail());
        return -1;
    }
    fx->port = sa_server_port(fx->srv);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    sa_server_free(fx->srv);
    tu_rmtree(fx->dir);
    free(fx);
    return 0;
}

static void build_index(const fixture *fx, const char *extra) {
    reply r;
    char target[256];
    snprintf(target, sizeof target, "/api/faiss/build-index?%s", extra ? extra : "");
    assert_int_equal(request(fx->port, "POST", target, "X-API-Key: " API_KEY "\r\n", NULL, &r), 0);
    if (r.status != 200)
        fprintf(stderr, "build: %s\n", r.body);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total_vectors")), N_TRACKS);
    reply_clear(&r);
}

/* ---- tests ---- */

static void test_routing_errors(void **state) {
    fixture *fx = *state;
    reply r;
    assert_int_equal(request(fx->port, "GET", "/health", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    reply_clear(&r);
    assert_int_equal(request(fx->port, "GET", "/no/such/route", NULL, NULL, &r), 0);
    assert_error(&r, 404);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "PUT", "/api/faiss/statistics", NULL, NULL, &r), 0);
    assert_error(&r, 405);
    assert_non_null(strstr(r.head, "Allow: GET"));
    reply_clear(&r);
    assert_int_equal(request(fx->port, "GET", "/api/faiss/similar-tracks?track_id=1", NULL, NULL, &r), 0);
    assert_error(&r, 409); /* no index yet */
    reply_clear(&r);
    assert_int_equal(request(fx->port, "GET", "/api/tracks/0", NULL, NULL, &r), 0);
    assert_error(&r, 400);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "GET", "/api/tracks/123456", NULL, NULL, &r), 0);
    assert_error(&r, 404);
    reply_clear(&r);
}

static void test_api_key(void **state) {
    fixture *fx = *state;
    reply r;
    assert_int_equal(request(fx->port, "POST", "/api/faiss/build-index", NULL, NULL, &r), 0);
    assert_error(&r, 401);
    assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/build-index", "X-API-Key: wrong\r\n", NULL, &r), 0);
    assert_error(&r, 403);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/build-index", "X-API-Key: " API_KEY "x\r\n", NULL, &r), 0);
    assert_error(&r, 403);
    reply_clear(&r);
    /* a prefix of the key is not the key */
    assert_int_equal(request(fx->port, "POST", "/api/faiss/build-index", "X-API-Key: s3cret\r\n", NULL, &r), 0);
    assert_error(&r, 403);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/build-index",
                             "Authorization: Bearer " API_KEY "\r\n", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    reply_clear(&r);
    /* reads need no key */
    assert_int_equal(request(fx->port, "GET", "/api/faiss/statistics", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "indexed_vectors")), N_TRACKS);
    reply_clear(&r);
}

static void test_similar(void **state) {
    fixture *fx = *state;
    build_index(fx, NULL);
    reply r;
    assert_int_equal(request(fx->port, "GET", "/api/faiss/similar-tracks?track_id=7&top_n=9", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *list = json_object_get(r.json, "similar_tracks");
    assert_int_equal(json_array_size(list), 9);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total_results")), 9);
    size_t i;
    json_t *t;
    double last = 2;
    json_array_foreach(list, i, t) {
        assert_int_not_equal(json_integer_value(json_object_get(t, "track_id")), 7);
        double sim = json_number_value(json_object_get(t, "similarity"));
        assert_true(sim <= last + 1e-6 && sim >= -1.0001 && sim <= 1.0001);
        last = sim;
    }
    reply_clear(&r);
    /* the same as a JSON body */
    assert_int_equal(request(fx->port, "POST", "/api/faiss/generate-playlist",
                             "Content-Type: application/json\r\n", "{\"track_id\": 7, \"playlist_length\": 3}", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "playlist")), 3);
    assert_non_null(json_object_get(json_object_get(r.json, "statistics"), "similarity_range"));
    reply_clear(&r);
    const struct {
        const char *target;
        int status;
    } bad[] = {
        {"/api/faiss/similar-tracks?track_id=7&top_n=0", 422},
        {"/api/faiss/similar-tracks?track_id=7&top_n=1001", 422},
        {"/api/faiss/similar-tracks?track_id=7&top_n=abc", 400},
        {"/api/faiss/similar-tracks?track_id=7&top_n=99999999999999999999999", 422},
        {"/api/faiss/similar-tracks?track_id=-3", 422},
        {"/api/faiss/similar-tracks?track_id=999999", 404},
        {"/api/faiss/similar-tracks", 400},
        {"/api/faiss/similar-tracks?query_path=/etc/passwd", 403},
        {"/api/faiss/similar-tracks?query_path=..%2F..%2F..%2Fetc%2Fpasswd", 403},
        {"/api/faiss/similar-tracks?query_path=%2Fetc%2Fpasswd%00.mp3", 400},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        assert_int_equal(request(fx->port, "GET", bad[k].target, NULL, NULL, &r), 0);
        assert_error(&r, bad[k].status);
        reply_clear(&r);
    }
}

static void test_limits(void **state) {
    fixture *fx = *state;
    reply r;
    /* a declared body over the limit is refused before it is sent */
    const char *big = "POST /api/faiss/similar-by-vector HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
    assert_int_equal(exchange(fx->port, big, strlen(big), &r), 0);
    assert_error(&r, 413);
    reply_clear(&r);
    /* a chunked body that grows over the limit */
    char chunked[16384];
    int n = snprintf(chunked, sizeof chunked,
                     "POST /api/faiss/similar-by-vector HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n");
    memset(chunked + n, ' ', 5000);
    n += 5000;
    n += snprintf(chunked + n, sizeof chunked - (size_t)n, "\r\n0\r\n\r\n");
    assert_int_equal(exchange(fx->port, chunked, (size_t)n, &r), 0);
    assert_error(&r, 413);
    reply_clear(&r);
    /* headers are bounded by the connection's memory */
    char *huge = malloc(70000);
    n = snprintf(huge, 70000, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ");
    memset(huge + n, 'a', 60000);
    n += 60000;
    n += snprintf(huge + n, 70000 - (size_t)n, "\r\n\r\n");
    assert_int_equal(exchange(fx->port, huge, (size_t)n, &r), 0);
    assert_true(r.status == 431 || r.status == 413);
    reply_clear(&r);
    free(huge);
    /* what is not HTTP is refused by libmicrohttpd itself: the status still fits */
    const struct {
        const char *raw;
        int status;
    } not_http[] = {
        {"GET /health HTTP/7.1\r\nHost: x\r\nConnection: close\r\n\r\n", 505},
        {"POST /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: abc\r\n\r\n", 400},
    };
    for (size_t k = 0; k < sizeof not_http / sizeof *not_http; k++) {
        assert_int_equal(exchange(fx->port, not_http[k].raw, strlen(not_http[k].raw), &r), 0);
        assert_int_equal(r.status, not_http[k].status);
        reply_clear(&r);
    }
    /* malformed bodies */
    assert_int_equal(request(fx->port, "POST", "/api/faiss/similar-by-vector", "Content-Type: application/json\r\n",
                             "{\"query_vector\": [1, 2", &r), 0);
    assert_error(&r, 400);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/similar-by-vector", "Content-Type: application/json\r\n",
                             "[1, 2]", &r), 0);
    assert_error(&r, 400);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/similar-by-vector",
                             "Content-Type: application/x-www-form-urlencoded\r\n", "query_vector=1", &r), 0);
    assert_error(&r, 415);
    reply_clear(&r);
}

static void test_by_vector(void **state) {
    fixture *fx = *state;
    build_index(fx, "index_type=IndexFlatIP");
    reply r;
    char body[2048];
    int n = snprintf(body, sizeof body, "{\"top_n\": 4, \"query_vector\": [");
    for (int i = 0; i < 67; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s%d", i ? "," : "", i % 5);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    assert_int_equal(request(fx->port, "POST", "/api/faiss/similar-by-vector", "Content-Type: application/json\r\n",
                             body, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "similar_tracks")), 4);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/similar-by-vector?query_vector=1,2,3", NULL, NULL, &r), 0);
    assert_error(&r, 422); /* wrong dimension */
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/similar-by-vector?query_vector=1,x,3", NULL, NULL, &r), 0);
    assert_error(&r, 400);
    reply_clear(&r);
    assert_int_equal(request(fx->port, "POST", "/api/faiss/similar-by-vector", "Content-Type: application/json\r\n",
                             "{\"query_vector\": [1, \"a\"]}", &r), 0);
    assert_error(&r, 400);
    reply_clear(&r);
}

/* Queries from several threads while others rebuild the index again and again. */
typedef struct hammer {
    const fixture *fx;
    int rebuild;
    int failures, done;
} hammer;

static void *hammer_main(void *arg) {
    hammer *h = arg;
    for (int i = 0; i < 40; i++) {
        reply r;
        char target[128];
        if (h->rebuild)
            snprintf(target, sizeof target, "/api/faiss/build-index?force_rebuild=true&index_type=%s",
                     i % 2 ? "flat" : "hnsw");
        else
            snprintf(target, sizeof target, "/api/faiss/similar-tracks?track_id=%d&top_n=5", 1 + i * 7 % N_TRACKS);
        int rc = request(h->fx->port, h->rebuild ? "POST" : "GET", target,
                         h->rebuild ? "X-API-Key: " API_KEY "\r\n" : NULL, NULL, &r);
        if (rc != 0 || r.status != 200 ||
            (!h->rebuild && json_array_size(json_object_get(r.json, "similar_tracks")) != 5))
            h->failures++;
        h->done++;
        reply_clear(&r);
        if (h->rebuild && i == 10)
            break;
    }
    return NULL;
}

static void test_rebuild_under_load(void **state) {
    fixture *fx = *state;
    build_index(fx, NULL);
    hammer hs[5] = {{fx, 1, 0, 0}, {fx, 0, 0, 0}, {fx, 0, 0, 0}, {fx, 0, 0, 0}, {fx, 0, 0, 0}};
    pthread_t th[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hs[i]), 0);
    for (int i = 0; i < 5; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(hs[i].failures, 0);
        assert_true(hs[i].done > 0);
    }
}

/* Connections that send half a request and wait must not hold up others. */
static void test_slow_clients(void **state) {
    fixture *fx = *state;
    int slow[16];
    for (int i = 0; i < 16; i++) {
        slow[i] = connect_to(fx->port);
        assert_true(slow[i] >= 0);
        assert_int_equal(send_all(slow[i], "GET /health HTTP/1.1\r\nHost: x\r\n", 31), 0);
    }
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    reply r;
    assert_int_equal(request(fx->port, "GET", "/health", NULL, NULL, &r), 0);
    gettimeofday(&t1, NULL);
    assert_int_equal(r.status, 200);
    reply_clear(&r);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000 < 1000);
    /* the idle timeout (3 s here) closes them */
    sleep(4);
    char c;
    for (int i = 0; i < 16; i++) {
        assert_true(recv(slow[i], &c, 1, 0) <= 0);
        close(slow[i]);
    }
}

static void test_store_down(void **state) {
    fixture *fx = *state;
    char away[PATH_MAX + 8];
    snprintf(away, sizeof away, "%s.away", fx->db);
    assert_int_equal(rename(fx->db, away), 0);
    reply r;
    assert_int_equal(request(fx->port, "GET", "/health", NULL, NULL, &r), 0);
    assert_error(&r, 503);
    assert_non_null(strstr(r.head, "Retry-After: 5"));
    reply_clear(&r);
    assert_int_equal(tu_write_file(fx->db, "this is not a database, not at all....", 38), 0);
    assert_int_equal(request(fx->port, "GET", "/health", NULL, NULL, &r), 0);
    assert_error(&r, 503);
    reply_clear(&r);
    assert_int_equal(rename(away, fx->db), 0);
    assert_int_equal(request(fx->port, "GET", "/health", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    reply_clear(&r);
}

static void test_audio_and_metrics(void **state) {
    fixture *fx = *state;
    reply r;
    assert_int_equal(request(fx->port, "GET", "/api/tracks/1/audio", "Range: bytes=2-5\r\n", NULL, &r), 0);
    assert_int_equal(r.status, 206);
    assert_string_equal(r.body, "2345");
    assert_non_null(strstr(r.head, "Content-Range: bytes 2-5/10"));
    reply_clear(&r);
    assert_int_equal(request(fx->port, "GET", "/api/tracks/1/audio", "Range: bytes=10-\r\n", NULL, &r), 0);
    assert_error(&r, 416);
    assert_non_null(strstr(r.head, "Content-Range: bytes */10")); /* the size, for the client's next try */
    reply_clear(&r);
    assert_int_equal(request(fx->port, "GET", "/api/tracks/2/audio", NULL, NULL, &r), 0);
    assert_error(&r, 404); /* in the store, not on disk */
    reply_clear(&r);
    assert_int_equal(request(fx->port, "GET", "/metrics", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "soundalike_http_requests_total{route=\"/api/tracks/{id}/audio\",method=\"GET\","
                                   "code=\"2xx\"} 1"));
    assert_non_null(strstr(r.body, "soundalike_http_request_duration_seconds_bucket"));
    assert_non_null(strstr(r.body, "soundalike_index_loaded 0"));
    reply_clear(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routing_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_similar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audio_and_metrics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_server_routes.c: route matching (methods, {id}, 405's Allow), track ids as text, the OpenAPI description, index type names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/internal.h"

static const srv_route *match(const char *method, const char *path, int *known, char *allow, int64_t *id) {
    return srv_route_match(method, path, known, allow, 64, id);
}

static void test_match(void **state) {
    (void)state;
    int known;
    char allow[64];
    int64_t id = -1;
    const srv_route *r = match("GET", "/api/faiss/similar-tracks", &known, allow, &id);
    assert_non_null(r);
    assert_string_equal(r->pattern, "/api/faiss/similar-tracks");
    r = match("HEAD", "/health", &known, allow, &id); /* HEAD is GET without the body */
    assert_non_null(r);
    assert_string_equal(r->pattern, "/health");
    r = match("GET", "/api/tracks/42", &known, allow, &id);
    assert_non_null(r);
    assert_string_equal(r->pattern, "/api/tracks/{id}");
    assert_int_equal(id, 42);
    r = match("GET", "/api/tracks/42/audio", &known, allow, &id);
    assert_non_null(r);
    assert_string_equal(r->pattern, "/api/tracks/{id}/audio");
    assert_int_equal(id, 42);
    r = match("GET", "/api/tracks/x1", &known, allow, &id); /* matched; the handler refuses the id */
    assert_non_null(r);
    assert_int_equal(id, 0);
    r = match("GET", "/api/tracks/99999999999999999999", &known, allow, &id);
    assert_non_null(r);
    assert_int_equal(id, 0);
}

/* Path segments and seed_track values share one reading of a track id. */
static void test_track_id_text(void **state) {
    (void)state;
    assert_int_equal(srv_track_id_text("42", 2), 42);
    assert_int_equal(srv_track_id_text("42/audio", 2), 42);
    assert_int_equal(srv_track_id_text("999999999999999999", 18), 999999999999999999LL);
    assert_int_equal(srv_track_id_text("1000000000000000000", 19), 0); /* 19 digits may overflow */
    assert_int_equal(srv_track_id_text("4x", 2), 0);
    assert_int_equal(srv_track_id_text("-4", 2), 0);
    assert_int_equal(srv_track_id_text("", 0), 0);
    assert_int_equal(srv_track_id_text(NULL, 0), 0);
}

static void test_no_match(void **state) {
    (void)state;
    int known;
    char allow[64];
    int64_t id;
    assert_null(match("GET", "/api/faiss/similar-tracks/", &known, allow, &id));
    assert_false(known);
    assert_null(match("GET", "/api/tracks//audio", &known, allow, &id));
    assert_false(known);
    assert_null(match("GET", "/API/faiss/status", &known, allow, &id));
    assert_false(known);
    assert_null(match("GET", "", &known, allow, &id));
    assert_false(known);
    /* a known path with another method: 405 and what it allows */
    assert_null(match("DELETE", "/api/faiss/statistics", &known, allow, &id));
    assert_true(known);
    assert_string_equal(allow, "GET");
    assert_null(match("GET", "/api/faiss/build-index", &known, allow, &id));
    assert_true(known);
    assert_string_equal(allow, "POST");
}

static void test_every_route_declared(void **state) {
    (void)state;
    size_t n;
    const srv_route *routes = srv_routes(&n);
    assert_true(n >= 19);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(routes[i].handler);
        assert_true(strcmp(routes[i].method, "GET") == 0 || strcmp(routes[i].method, "POST") == 0);
        /* every mutating route is a POST, and every POST of the library's state is guarded */
        if (routes[i].flags & ROUTE_MUTATES)
            assert_string_equal(routes[i].method, "POST");
        for (const srv_param *p = routes[i].params; p && p->name; p++) {
            assert_non_null(p->description);
            assert_true(p->min <= p->max);
        }
    }
    /* the routes that change the library, the live index or its files */
    static const char *const guarded[] = {"/api/faiss/build-index", "/api/faiss/add-track",
                                          "/api/faiss/save-index",  "/api/faiss/load-index",
                                          "/api/library/scan",      "/api/analysis/start"};
    for (size_t g = 0; g < sizeof guarded / sizeof *guarded; g++) {
        const srv_route *r = NULL;
        for (size_t i = 0; i < n && !r; i++)
            if (strcmp(routes[i].pattern, guarded[g]) == 0)
                r = &routes[i];
        assert_non_null(r);
        assert_true(r->flags & ROUTE_MUTATES);
    }
}

static void test_openapi(void **state) {
    (void)state;
    json_t *doc = srv_openapi();
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    json_t *paths = json_object_get(doc, "paths");
    size_t n;
    const srv_route *routes = srv_routes(&n);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_object_get(paths, routes[i].pattern);
        assert_non_null(item);
        json_t *op = json_object_get(item, strcmp(routes[i].method, "GET") == 0 ? "get" : "post");
        assert_non_null(op);
        size_t declared = 0;
        for (const srv_param *p = routes[i].params; p && p->name; p++)
            declared++;
        size_t listed = json_array_size(json_object_get(op, "parameters"));
        assert_int_equal(listed, declared + ((routes[i].flags & ROUTE_PATH_ID) ? 1 : 0));
        assert_int_equal(json_object_get(op, "security") != NULL, (routes[i].flags & ROUTE_MUTATES) != 0);
    }
    /* top_n's range is described as it is enforced */
    json_t *params = json_object_get(json_object_get(json_object_get(paths, "/api/faiss/similar-tracks"), "get"),
                                     "parameters");
    int seen = 0;
    size_t i;
    json_t *p;
    json_array_foreach(params, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "name")), "top_n") == 0) {
            json_t *schema = json_object_get(p, "schema");
            assert_true(json_number_value(json_object_get(schema, "minimum")) == 1);
            assert_true(json_number_value(json_object_get(schema, "maximum")) == 1000);
            assert_string_equal(json_string_value(json_object_get(schema, "default")), "5");
            seen = 1;
        }
    }
    assert_true(seen);
    json_decref(doc);
}

static void test_index_type_names(void **state) {
    (void)state;
    assert_string_equal(srv_index_type_name("flat"), "IndexFlatIP");
    assert_string_equal(srv_index_type_name("hnsw"), "IndexHNSWFlat");
    assert_string_equal(srv_index_type_name("IVF64,PQ8"), "IVF64,PQ8");
    assert_string_equal(srv_index_type_parse("IndexFlatIP"), "flat");
    assert_string_equal(srv_index_type_parse("indexivfflat"), "ivf");
    assert_string_equal(srv_index_type_parse("HNSW"), "hnsw");
    assert_string_equal(srv_index_type_parse("IVF64,Flat"), "IVF64,Flat");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_track_id_text),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_every_route_declared),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_index_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

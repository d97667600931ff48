/* test_core.c: errors and feature groups. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "soundalike/error.h"
#include "soundalike/features.h"

static void test_error_detail(void **state) {
    (void)state;
    assert_int_equal(sa_error_set(SA_ERR_IO, "cannot read %s", "x.mp3"), SA_ERR_IO);
    assert_string_equal(sa_error_detail(), "cannot read x.mp3");
    assert_string_equal(sa_strerror(SA_ERR_NOT_FOUND), "not found");
    /* wrapping the current detail in a new one */
    sa_error_set(SA_ERR_FORMAT, "%s: %s", "decoding", sa_error_detail());
    assert_string_equal(sa_error_detail(), "decoding: cannot read x.mp3");
    sa_error_clear();
    assert_string_equal(sa_error_detail(), "");
}

static void test_features_roundtrip(void **state) {
    (void)state;
    sa_features f = {0};
    sa_feature_group *g;
    assert_int_equal(sa_features_group(&f, "tonal", 2, &g), SA_OK);
    float chroma[12];
    for (int i = 0; i < 12; i++)
        chroma[i] = 1.0f / 3.0f * (float)i + 1e-7f;
    assert_int_equal(sa_features_set(g, "chroma", chroma, 12), SA_OK);
    assert_int_equal(sa_features_set_text(g, "key", "C#"), SA_OK);
    assert_int_equal(sa_features_set_scalar(g, "strength", 0.75f), SA_OK);
    assert_int_equal(sa_features_set_scalar(g, "strength", 0.5f), SA_OK); /* replaces */
    assert_int_equal(g->count, 3);

    char *json = NULL;
    assert_int_equal(sa_feature_group_to_json(g, &json), SA_OK);
    sa_features back = {0};
    sa_feature_group *b;
    assert_int_equal(sa_features_group(&back, "tonal", 2, &b), SA_OK);
    assert_int_equal(sa_feature_group_from_json(b, json), SA_OK);
    free(json);
    const sa_feature *c = sa_features_get(&back, "tonal", "chroma");
    assert_non_null(c);
    assert_int_equal(c->count, 12);
    assert_memory_equal(c->values, chroma, sizeof chroma); /* exact round trip */
    assert_string_equal(sa_features_get(&back, "tonal", "key")->text, "C#");
    float s;
    assert_int_equal(sa_features_scalar(&back, "tonal", "strength", &s), SA_OK);
    assert_true(s == 0.5f);
    assert_int_equal(sa_features_scalar(&back, "tonal", "nope", &s), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_features_scalar(&back, "rhythm", "bpm", &s), SA_ERR_NOT_FOUND);

    /* a new version empties the group */
    assert_int_equal(sa_features_group(&f, "tonal", 3, &g), SA_OK);
    assert_int_equal(g->count, 0);
    assert_int_equal(sa_features_put_group(&f, b), SA_OK);
    assert_int_equal(sa_features_find_group(&f, "tonal")->version, 2);
    assert_int_equal(sa_features_find_group(&f, "tonal")->count, 3);
    sa_features_clear(&f);
    sa_features_clear(&back);
}

static void test_features_bad_json(void **state) {
    (void)state;
    sa_features f = {0};
    sa_feature_group *g;
    assert_int_equal(sa_features_group(&f, "x", 1, &g), SA_OK);
    assert_int_equal(sa_feature_group_from_json(g, "[1,2]"), SA_ERR_FORMAT);
    assert_int_equal(sa_feature_group_from_json(g, "{\"a\": [1, \"b\"]}"), SA_ERR_FORMAT);
    assert_int_equal(sa_feature_group_from_json(g, "{\"a\": {}}"), SA_ERR_FORMAT);
    assert_int_equal(sa_feature_group_from_json(g, "{not json"), SA_ERR_FORMAT);
    /* JSON cannot hold NaN: storing one is refused, not dropped from the array */
    float values[3] = {1.0f, NAN, 2.0f};
    assert_int_equal(sa_features_set(g, "v", values, 3), SA_OK);
    char *json = NULL;
    assert_int_equal(sa_feature_group_to_json(g, &json), SA_ERR_INVALID);
    assert_null(json);
    assert_non_null(strstr(sa_error_detail(), "x.v"));
    sa_features_clear(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_detail),
        cmocka_unit_test(test_features_roundtrip),
        cmocka_unit_test(test_features_bad_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_core.c: errors and feature groups. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "soundalike/error.h"
#include "soundalike/features.h"
#include "soundalike/features_json.h"
#include "soundalike/hash.h"

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
    /* JSON cannot hold NaN or infinity: such a value is refused where it is
     * set, naming it, and nothing of it is kept */
    float values[3] = {1.0f, NAN, 2.0f};
    assert_int_equal(sa_features_set(g, "v", values, 3), SA_ERR_INVALID);
    assert_non_null(strstr(sa_error_detail(), "x.v"));
    assert_int_equal(sa_features_set_scalar(g, "w", INFINITY), SA_ERR_INVALID);
    assert_int_equal(g->count, 0);
    sa_features_clear(&f);
}

/* The presentation form: groups by analyzer, with their version; a scalar
 * as a plain number, an array as an array, a text as a string. */
static void test_features_presentation_json(void **state) {
    (void)state;
    sa_features f = {0};
    sa_feature_group *g;
    assert_int_equal(sa_features_group(&f, "tonal", 2, &g), SA_OK);
    const float chroma[3] = {1.0f, 0.25f, 0.5f};
    assert_int_equal(sa_features_set(g, "chroma", chroma, 3), SA_OK);
    assert_int_equal(sa_features_set_text(g, "key", "C#"), SA_OK);
    assert_int_equal(sa_features_set_scalar(g, "strength", 0.75f), SA_OK);
    assert_int_equal(sa_features_group(&f, "rhythm", 1, &g), SA_OK);
    assert_int_equal(sa_features_set_scalar(g, "bpm", 120.5f), SA_OK);
    json_t *doc = sa_features_json(&f);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 2);
    json_t *tonal = json_object_get(doc, "tonal");
    assert_int_equal(json_integer_value(json_object_get(tonal, "version")), 2);
    assert_true(json_is_real(json_object_get(tonal, "strength")));
    assert_true(json_real_value(json_object_get(tonal, "strength")) == 0.75);
    assert_string_equal(json_string_value(json_object_get(tonal, "key")), "C#");
    json_t *arr = json_object_get(tonal, "chroma");
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(json_real_value(json_array_get(arr, i)) == chroma[i]);
    json_t *rhythm = json_object_get(doc, "rhythm");
    assert_int_equal(json_integer_value(json_object_get(rhythm, "version")), 1);
    assert_true(json_real_value(json_object_get(rhythm, "bpm")) == 120.5);
    json_decref(doc);
    sa_features_clear(&f);
}

/* Equal inputs hash alike; a seed, one flipped bit, or one byte more past
 * the last whole word gives another hash; the hex form is the value. */
static void test_hash(void **state) {
    (void)state;
    unsigned char data[21];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    uint64_t h = sa_hash64(SA_HASH_SEED, data, sizeof data);
    assert_true(h == sa_hash64(SA_HASH_SEED, data, sizeof data));
    assert_true(h != sa_hash64(SA_HASH_SEED + 1, data, sizeof data));
    assert_true(h != sa_hash64(SA_HASH_SEED, data, sizeof data - 1));
    assert_true(sa_hash64(SA_HASH_SEED, data, 16) != sa_hash64(SA_HASH_SEED, data, 17));
    for (size_t bit = 0; bit < 8 * sizeof data; bit++) {
        data[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        uint64_t flipped = sa_hash64(SA_HASH_SEED, data, sizeof data);
        data[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        if (flipped == h)
            fail_msg("flipping bit %zu does not change the hash", bit);
    }
    char hex[17];
    sa_hash64_hex(h, hex);
    assert_int_equal(strlen(hex), 16);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 16);
    assert_true(strtoull(hex, NULL, 16) == h);
    sa_hash64_hex(UINT64_C(0xabc), hex);
    assert_string_equal(hex, "0000000000000abc");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_detail),
        cmocka_unit_test(test_features_roundtrip),
        cmocka_unit_test(test_features_bad_json),
        cmocka_unit_test(test_features_presentation_json),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_vector.c: vector profiles built from features. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "soundalike/profile.h"

static void add_descriptors(sa_features *f, float bpm, const char *key, const char *scale) {
    sa_feature_group *g;
    assert_int_equal(sa_features_group(f, "rhythm", 1, &g), SA_OK);
    assert_int_equal(sa_features_set_scalar(g, "bpm", bpm), SA_OK);
    assert_int_equal(sa_features_set_scalar(g, "confidence", 0.8f), SA_OK);
    assert_int_equal(sa_features_group(f, "tonal", 1, &g), SA_OK);
    assert_int_equal(sa_features_set_text(g, "key", key), SA_OK);
    assert_int_equal(sa_features_set_text(g, "scale", scale), SA_OK);
    assert_int_equal(sa_features_set_scalar(g, "strength", 0.6f), SA_OK);
}

static float norm(const float *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return (float)sqrt(s);
}

static float dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return (float)s;
}

static void test_descriptor_layout(void **state) {
    (void)state;
    sa_features f = {0};
    add_descriptors(&f, 120.0f, "Bb", "minor");
    const sa_profile *p = sa_profile_find("descriptors");
    assert_non_null(p);
    assert_int_equal(p->dim, 17);
    float v[17];
    assert_int_equal(sa_profile_build(p, &f, v), SA_OK);
    assert_float_equal(norm(v, 17), 1.0f, 1e-5f);
    assert_float_equal(v[0], 0.0f, 1e-6f);  /* 120 BPM is the centre */
    assert_true(v[3 + 10] > 0);              /* Bb maps to A# */
    assert_float_equal(v[3], 0.0f, 0.0f);
    assert_true(v[16] > 0 && v[15] == 0.0f); /* minor */
    /* without tags the default profile is not buildable, descriptors is the best */
    assert_ptr_equal(sa_profile_best_for(&f), p);
    float big[67];
    assert_int_equal(sa_profile_build(sa_profile_find("default"), &f, big), SA_ERR_NOT_FOUND);
    sa_features_clear(&f);
}

static void test_tempo_is_scaled(void **state) {
    (void)state;
    /* two tracks alike but for tempo must stay far from cosine 1 only by a
     * bounded amount: the seed's raw BPM made everything ~0.99 */
    sa_features a = {0}, b = {0}, c = {0};
    add_descriptors(&a, 90.0f, "C", "major");
    add_descriptors(&b, 180.0f, "C", "major");
    add_descriptors(&c, 92.0f, "C", "major");
    const sa_profile *p = sa_profile_find("descriptors");
    float va[17], vb[17], vc[17];
    assert_int_equal(sa_profile_build(p, &a, va), SA_OK);
    assert_int_equal(sa_profile_build(p, &b, vb), SA_OK);
    assert_int_equal(sa_profile_build(p, &c, vc), SA_OK);
    assert_true(dot(va, vc, 17) > 0.99f);
    assert_true(dot(va, vb, 17) < 0.8f);
    sa_features_clear(&a);
    sa_features_clear(&b);
    sa_features_clear(&c);
}

static void test_default_and_rich(void **state) {
    (void)state;
    sa_features f = {0};
    add_descriptors(&f, 128.0f, "E", "major");
    float tags[50], emb[200], chroma[12];
    for (int i = 0; i < 50; i++)
        tags[i] = (float)i / 100.0f;
    for (int i = 0; i < 200; i++)
        emb[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < 12; i++)
        chroma[i] = i == 4 ? 1.0f : 0.2f;
    sa_feature_group *g;
    assert_int_equal(sa_features_group(&f, "musicnn", 1, &g), SA_OK);
    assert_int_equal(sa_features_set(g, "tags", tags, 50), SA_OK);
    assert_int_equal(sa_features_set(g, "embedding", emb, 200), SA_OK);
    assert_ptr_equal(sa_profile_best_for(&f), sa_profile_find("default"));
    float v[67];
    assert_int_equal(sa_profile_build(sa_profile_find("default"), &f, v), SA_OK);
    assert_float_equal(norm(v, 67), 1.0f, 1e-5f);
    assert_true(v[17 + 49] > v[17 + 1]); /* tag order kept */
    /* the raw vector is the same direction, not of unit length */
    float raw[67];
    assert_int_equal(sa_profile_find("default")->build_raw(&f, raw), SA_OK);
    float length = norm(raw, 67);
    assert_true(fabsf(length - 1.0f) > 0.1f);
    for (int i = 0; i < 67; i++)
        assert_float_equal(raw[i] / length, v[i], 1e-6f);
    const sa_profile *rich = sa_profile_find("rich");
    float r[229];
    assert_int_equal(rich->dim, 229);
    assert_int_equal(sa_profile_build(rich, &f, r), SA_ERR_NOT_FOUND); /* no chroma yet */
    assert_int_equal(sa_features_group(&f, "tonal", 1, &g), SA_OK);
    assert_int_equal(sa_features_set(g, "chroma", chroma, 12), SA_OK);
    assert_int_equal(sa_profile_build(rich, &f, r), SA_OK);
    assert_float_equal(norm(r, 229), 1.0f, 1e-5f);
    /* the descriptors, then the 12 chroma classes, then the embedding, each in its order */
    assert_true(r[3 + 4] > 0 && r[15] > 0);  /* E major */
    for (int i = 0; i < 12; i++)
        assert_float_equal(r[17 + i], r[17 + 4] * chroma[i], 1e-6f);
    for (int i = 0; i < 200; i++)
        assert_float_equal(r[29 + i], r[29 + 6] / 3.0f * emb[i], 1e-6f);
    assert_true(r[29 + 6] > 0);
    assert_null(sa_profile_find("nope"));
    sa_features_clear(&f);
}

static void test_bad_key(void **state) {
    (void)state;
    sa_features f = {0};
    add_descriptors(&f, 100.0f, "H", "major");
    float v[17];
    assert_int_equal(sa_profile_build(sa_profile_find("descriptors"), &f, v), SA_ERR_FORMAT);
    sa_features_clear(&f);
    float zero[3] = {0, 0, 0};
    sa_vector_normalize(zero, 3);
    assert_true(zero[0] == 0.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_layout),
        cmocka_unit_test(test_tempo_is_scaled),
        cmocka_unit_test(test_default_and_rich),
        cmocka_unit_test(test_bad_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

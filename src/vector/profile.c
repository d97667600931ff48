/* profile.c: the vector profiles and their fixed scaling.
 *
 * Layout of the default profile (DESIGN.md, "The feature vector"), each
 * group multiplied by its weight before the whole vector is L2-normalised:
 *
 *   0      tempo        (ln(bpm) - ln(120)) / 0.35, clipped to [-3, 3]
 *                       (log-tempo: 60 and 240 BPM lie two units from 120;
 *                       raw BPM would dominate every cosine)
 *   1      tempo confidence  [0, 1]
 *   2      key strength      [0, 1]
 *   3-14   key C, C#, ..., B one-hot
 *   15-16  scale major, minor one-hot
 *   17-66  50 MusiCNN tags (model order), mean sigmoid in [0, 1]
 *
 * The constants are fixed, never fitted to a library, so a track's vector
 * does not change when other tracks are added. */
#include <math.h>
#include <string.h>

#include "soundalike/profile.h"

enum { DESCRIPTOR_DIM = 17, TAG_COUNT = 50, CHROMA_DIM = 12, EMBEDDING_DIM = 200 };

/* Group weights: how much each musical aspect counts in the cosine. The
 * tag and embedding weights were chosen by measurement on the soundtrack
 * corpus (160 tracks, 12 soundtracks, "same soundtrack" as relevance,
 * bench/relevance.c): precision@10 of the default profile went from 0.31
 * with tags at 3 to 0.37 at 8 (flat beyond), and the rich profile's from
 * 0.31 with the embedding at 0.15 to 0.47 at 0.5 (random neighbours: 0.12). */
static const float W_TEMPO = 1.0f;
static const float W_TEMPO_CONFIDENCE = 0.5f;
static const float W_KEY_STRENGTH = 0.5f;
static const float W_KEY = 0.8f;
static const float W_SCALE = 0.6f;
static const float W_TAGS = 8.0f;
static const float W_CHROMA = 1.0f;
static const float W_EMBEDDING = 0.5f;

static const char *const key_names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

/* Pitch class of a key name, sharps or flats ("Bb" = "A#"); -1 when unknown. */
static int pitch_class(const char *name) {
    static const char *const flats[12] = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"};
    for (int i = 0; i < 12; i++)
        if (strcmp(name, key_names[i]) == 0 || strcmp(name, flats[i]) == 0)
            return i;
    return -1;
}

static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

static sa_err text_feature(const sa_features *f, const char *group, const char *name, const char **out) {
    const sa_feature *it = sa_features_get(f, group, name);
    if (!it || !it->text)
        return sa_error_set(SA_ERR_NOT_FOUND, "feature %s.%s is absent", group, name);
    *out = it->text;
    return SA_OK;
}

static sa_err array_feature(const sa_features *f, const char *group, const char *name, size_t n,
                            const float **out) {
    const sa_feature *it = sa_features_get(f, group, name);
    if (!it || !it->values || it->count != n)
        return sa_error_set(SA_ERR_NOT_FOUND, "feature %s.%s (%zu values) is absent", group, name, n);
    *out = it->values;
    return SA_OK;
}

/* The 17 descriptor dimensions, weighted, not normalised. */
static sa_err build_descriptors(const sa_features *f, float *out) {
    float bpm = 0, confidence = 0, strength = 0;
    const char *key = NULL, *scale = NULL;
    sa_err err;
    if ((err = sa_features_scalar(f, "rhythm", "bpm", &bpm)) ||
        (err = sa_features_scalar(f, "rhythm", "confidence", &confidence)) ||
        (err = sa_features_scalar(f, "tonal", "strength", &strength)) ||
        (err = text_feature(f, "tonal", "key", &key)) || (err = text_feature(f, "tonal", "scale", &scale)))
        return err;
    int pc = pitch_class(key);
    if (pc < 0)
        return sa_error_set(SA_ERR_FORMAT, "unknown key name '%s'", key);
    if (strcmp(scale, "major") != 0 && strcmp(scale, "minor") != 0)
        return sa_error_set(SA_ERR_FORMAT, "unknown scale '%s'", scale);
    memset(out, 0, DESCRIPTOR_DIM * sizeof(float));
    float z = bpm > 0 ? (logf(bpm) - logf(120.0f)) / 0.35f : 0.0f;
    out[0] = W_TEMPO * clampf(z, -3.0f, 3.0f);
    out[1] = W_TEMPO_CONFIDENCE * clampf(confidence, 0.0f, 1.0f);
    out[2] = W_KEY_STRENGTH * clampf(strength, 0.0f, 1.0f);
    out[3 + pc] = W_KEY;
    out[15 + (strcmp(scale, "minor") == 0)] = W_SCALE;
    return SA_OK;
}

static sa_err copy_weighted(const sa_features *f, const char *group, const char *name, size_t n, float w,
                            float *out) {
    const float *v = NULL;
    sa_err err = array_feature(f, group, name, n, &v);
    for (size_t i = 0; !err && i < n; i++)
        out[i] = w * v[i];
    return err;
}

static sa_err build_default_profile(const sa_features *f, float *out) {
    sa_err err = build_descriptors(f, out);
    if (!err)
        err = copy_weighted(f, "musicnn", "tags", TAG_COUNT, W_TAGS, out + DESCRIPTOR_DIM);
    return err;
}

static sa_err build_rich_profile(const sa_features *f, float *out) {
    sa_err err = build_descriptors(f, out);
    if (!err)
        err = copy_weighted(f, "tonal", "chroma", CHROMA_DIM, W_CHROMA, out + DESCRIPTOR_DIM);
    if (!err)
        err = copy_weighted(f, "musicnn", "embedding", EMBEDDING_DIM, W_EMBEDDING,
                            out + DESCRIPTOR_DIM + CHROMA_DIM);
    return err;
}

static const sa_profile default_profile = {
    "default", DESCRIPTOR_DIM + TAG_COUNT,
    "tempo, key, scale and the 50 MusiCNN tags (the seed's 67 dimensions)", build_default_profile};
static const sa_profile descriptor_profile = {
    "descriptors", DESCRIPTOR_DIM, "tempo, key and scale only (no tagger model)", build_descriptors};
static const sa_profile rich_profile = {
    "rich", DESCRIPTOR_DIM + CHROMA_DIM + EMBEDDING_DIM,
    "descriptors, mean chroma and the 200-d MusiCNN embedding", build_rich_profile};

static const sa_profile *const all_profiles[] = {&default_profile, &rich_profile, &descriptor_profile};

const sa_profile *const *sa_profile_all(size_t *n) {
    *n = sizeof all_profiles / sizeof all_profiles[0];
    return all_profiles;
}

const sa_profile *sa_profile_find(const char *name) {
    for (size_t i = 0; i < sizeof all_profiles / sizeof all_profiles[0]; i++)
        if (strcmp(all_profiles[i]->name, name) == 0)
            return all_profiles[i];
    return NULL;
}

const sa_profile *sa_profile_best_for(const sa_features *f) {
    float scratch[DESCRIPTOR_DIM + CHROMA_DIM + EMBEDDING_DIM];
    for (size_t i = 0; i < sizeof all_profiles / sizeof all_profiles[0]; i++)
        if (all_profiles[i]->build_raw(f, scratch) == SA_OK)
            return all_profiles[i];
    return NULL;
}

sa_err sa_profile_build(const sa_profile *p, const sa_features *f, float *out) {
    sa_err err = p->build_raw(f, out);
    if (!err)
        sa_vector_normalize(out, p->dim);
    return err;
}

void sa_vector_normalize(float *v, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)v[i] * v[i];
    if (sum <= 0)
        return;
    float inv = (float)(1.0 / sqrt(sum));
    for (int i = 0; i < n; i++)
        v[i] *= inv;
}

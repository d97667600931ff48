/* features.h: the named values an analyzer measured for one track.
 *
 * Every analyzer (loudness, rhythm, tonal, musicnn, ...) writes a group of
 * named features under its own name and version: a feature is an array of
 * floats (a scalar is an array of one) or a short text ("C#", "minor").
 * The store persists groups without knowing what is inside them, and vector
 * profiles read the values they need by (analyzer, name), so adding an
 * analyzer touches neither. */
#ifndef SOUNDALIKE_FEATURES_H
#define SOUNDALIKE_FEATURES_H

#include <stddef.h>

#include "soundalike/error.h"

typedef struct sa_feature {
    char *name;
    float *values; /* NULL for a text feature */
    size_t count;
    char *text; /* NULL for a numeric feature */
} sa_feature;

typedef struct sa_feature_group {
    char *analyzer;
    int version;
    sa_feature *items;
    size_t count;
} sa_feature_group;

/* Owns its groups; zero-initialise ({0}) before first use, sa_features_clear
 * to free. Not thread-safe: one owner at a time. */
typedef struct sa_features {
    sa_feature_group *groups;
    size_t count;
} sa_features;

/* Finds or creates the group for analyzer; a group that exists with another
 * version is emptied and takes the new version. */
sa_err sa_features_group(sa_features *f, const char *analyzer, int version, sa_feature_group **out);

/* Sets (replacing) a numeric feature of n values / a text feature in a group.
 * A NaN or infinite value is refused (SA_ERR_INVALID, naming it). */
sa_err sa_features_set(sa_feature_group *g, const char *name, const float *values, size_t n);
sa_err sa_features_set_scalar(sa_feature_group *g, const char *name, float value);
sa_err sa_features_set_text(sa_feature_group *g, const char *name, const char *text);

/* Lookups; NULL when absent. */
const sa_feature_group *sa_features_find_group(const sa_features *f, const char *analyzer);
const sa_feature *sa_features_get(const sa_features *f, const char *analyzer, const char *name);
/* The single value of a numeric feature; SA_ERR_NOT_FOUND when absent or not numeric. */
sa_err sa_features_scalar(const sa_features *f, const char *analyzer, const char *name, float *out);

/* Copies group g (deeply) into f, replacing f's group of the same analyzer;
 * g must not be one of f's own groups (it would be emptied or moved first). */
sa_err sa_features_put_group(sa_features *f, const sa_feature_group *g);

void sa_features_clear(sa_features *f);

/* A group's items as a JSON object text {"name": [..] or "text", ...}; *out
 * is malloc'd, the caller frees it; SA_ERR_INVALID when a value is NaN or
 * infinite (JSON has neither). The inverse adds the items to g. Floats
 * round-trip exactly. */
sa_err sa_feature_group_to_json(const sa_feature_group *g, char **out);
sa_err sa_feature_group_from_json(sa_feature_group *g, const char *json);

#endif

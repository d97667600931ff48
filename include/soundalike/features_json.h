/* features_json.h: feature groups as JSON documents for people and clients
 * (the CLI's `show --json`, the server's /api/tracks/{id}).
 *
 * Unlike sa_feature_group_to_json (the store's exact round-trip form), a
 * one-value feature becomes a plain number here. */
#ifndef SOUNDALIKE_FEATURES_JSON_H
#define SOUNDALIKE_FEATURES_JSON_H

#include <jansson.h>

#include "soundalike/features.h"

/* {"analyzer": {"version": N, "name": value, ...}, ...}; a new reference,
 * NULL when memory runs out. */
json_t *sa_features_json(const sa_features *f);

#endif

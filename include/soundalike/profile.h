/* profile.h: vector profiles, how a track's features become its vector.
 *
 * A profile has a name, a dimension and a builder that reads named features
 * and writes a fixed-layout float vector, weighted but not yet of unit
 * length; sa_profile_build then L2-normalises it, which is the form stored
 * and indexed (inner product is then cosine). Scaling constants
 * are fixed and documented in the builder (never fitted to the library), so a
 * vector does not change when other tracks are added. Vectors of different
 * profiles never share an index. Profiles are immutable and thread-safe. */
#ifndef SOUNDALIKE_PROFILE_H
#define SOUNDALIKE_PROFILE_H

#include "soundalike/error.h"
#include "soundalike/features.h"

/* Changes whenever a profile's layout or scaling changes: vectors built
 * under another version are rebuilt from the stored features. */
#define SA_PROFILES_VERSION 2
/* The feature group whose version records the profiles a track's stored
 * vectors were built under. */
#define SA_PROFILES_GROUP "profiles"

typedef struct sa_profile {
    const char *name;
    int dim;
    const char *description;
    /* Writes the dim weighted floats, not normalised, into out;
     * SA_ERR_NOT_FOUND when a feature it needs is absent. */
    sa_err (*build_raw)(const sa_features *f, float *out);
} sa_profile;

/* The stored and indexed form: build_raw, then scaled to unit length. */
sa_err sa_profile_build(const sa_profile *p, const sa_features *f, float *out);

/* The profiles that exist, in preference order; *n gets their number. */
const sa_profile *const *sa_profile_all(size_t *n);
/* NULL when no profile has that name. */
const sa_profile *sa_profile_find(const char *name);
/* The most preferred profile that f has every feature for; NULL when none. */
const sa_profile *sa_profile_best_for(const sa_features *f);

/* Scales v (n floats) to unit length; a zero vector stays zero. */
void sa_vector_normalize(float *v, int n);

#endif

/* analyzers.h: the set of analyzers a run uses.
 *
 * Loudness, rhythm and tonal descriptors always; the MusiCNN tagger when
 * its weights are found. Without weights the set still works (the vectors
 * are then the 17-d descriptor profile), and the reason is kept so the
 * caller can say it once. A set is read-only once made and may be shared by
 * every worker thread. */
#ifndef SOUNDALIKE_ANALYZERS_H
#define SOUNDALIKE_ANALYZERS_H

#include <stddef.h>

#include "soundalike/analyzer.h"
#include "soundalike/error.h"

typedef struct sa_analyzer_config {
    const char *model_dir;  /* NULL: $SOUNDALIKE_MODEL_DIR, then the default places */
    const char *model_name; /* NULL: "msd-musicnn" */
    int whole_track;        /* tag every patch instead of a fixed number */
    int without_tagger;     /* leave the tagger out on purpose */
} sa_analyzer_config;

typedef struct sa_analyzer_set sa_analyzer_set;

/* Fails only when memory runs out; a model that is absent or broken leaves
 * the tagger out, and sa_analyzer_set_missing_tagger says why. */
sa_err sa_analyzer_set_new(const sa_analyzer_config *cfg, sa_analyzer_set **out);
void sa_analyzer_set_free(sa_analyzer_set *set);

const sa_analyzer *const *sa_analyzer_set_list(const sa_analyzer_set *set, size_t *n);
/* Why the tagger is not in the set, or NULL when it is. */
const char *sa_analyzer_set_missing_tagger(const sa_analyzer_set *set);

#endif

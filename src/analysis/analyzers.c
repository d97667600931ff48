/* analyzers.c: the analyzers a run uses, the tagger among them when its model is found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soundalike/analyzers.h"
#include "soundalike/descriptors.h"
#include "soundalike/tagger.h"

enum { MAX_SET = 8 };

struct sa_analyzer_set {
    const sa_analyzer *list[MAX_SET];
    size_t n;
    sa_musicnn *model;
    sa_analyzer tagger; /* its config is model */
    char missing_tagger[1024];
};

/* Adds the tagger, or records why it is absent: a missing or broken model
 * leaves the descriptors running (the caller says why once). */
static sa_err add_tagger(sa_analyzer_set *set, const sa_analyzer_config *cfg) {
    char path[4096];
    sa_err err = sa_musicnn_find_model(cfg->model_dir, cfg->model_name, path, sizeof path);
    if (!err)
        err = sa_musicnn_load(path, &set->model);
    if (!err)
        err = sa_musicnn_set_patches(set->model, cfg->whole_track ? SA_MUSICNN_WHOLE_TRACK
                                                                  : SA_MUSICNN_DEFAULT_PATCHES);
    if (err == SA_ERR_NOMEM)
        return err;
    if (err) {
        snprintf(set->missing_tagger, sizeof set->missing_tagger, "%s", sa_error_detail());
        sa_musicnn_free(set->model);
        set->model = NULL;
        return SA_OK;
    }
    sa_musicnn_analyzer(set->model, &set->tagger);
    set->list[set->n++] = &set->tagger;
    return SA_OK;
}

sa_err sa_analyzer_set_new(const sa_analyzer_config *cfg, sa_analyzer_set **out) {
    sa_analyzer_set *set = calloc(1, sizeof *set);
    if (!set)
        return sa_error_set(SA_ERR_NOMEM, "analyzer set");
    set->list[set->n++] = sa_loudness_analyzer();
    set->list[set->n++] = sa_rhythm_analyzer();
    set->list[set->n++] = sa_tonal_analyzer();
    sa_err err = SA_OK;
    if (cfg->without_tagger)
        snprintf(set->missing_tagger, sizeof set->missing_tagger, "left out on request");
    else
        err = add_tagger(set, cfg);
    if (err) {
        sa_analyzer_set_free(set);
        return err;
    }
    *out = set;
    return SA_OK;
}

void sa_analyzer_set_free(sa_analyzer_set *set) {
    if (!set)
        return;
    sa_musicnn_free(set->model);
    free(set);
}

const sa_analyzer *const *sa_analyzer_set_list(const sa_analyzer_set *set, size_t *n) {
    *n = set->n;
    return set->list;
}

const char *sa_analyzer_set_missing_tagger(const sa_analyzer_set *set) {
    return set->missing_tagger[0] ? set->missing_tagger : NULL;
}

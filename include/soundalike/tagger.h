/* tagger.h: the MusiCNN music auto-tagger (Pons & Serra 2019) in plain C.
 *
 * A model is loaded once from an "MCNW" weights file (msd-musicnn.weights:
 * 50 Million Song Dataset tags; mtt-musicnn.weights: 50 MagnaTagATune
 * tags) with its tag names beside it (<name>.tags.txt), and is then
 * read-only: one model serves every thread. Audio is cut into patches of
 * 187 log-mel frames (3 s at 16 kHz); the network gives each patch 50 tag
 * probabilities and a 200-d embedding, and a track's values are their means.
 *
 * As an analyzer (sa_musicnn_analyzer) it reads mono at the file's own rate,
 * resamples to 16 kHz only the stretches its patches cover (the samples a
 * resampling of the whole track has there, so the results are the same),
 * and writes the feature group "musicnn": "tags" (50 floats, the model's
 * tag order), "embedding" (200 floats), "model" (text, e.g. "msd-musicnn")
 * and "patches" (how many patches the means are over). By default it tags
 * SA_MUSICNN_DEFAULT_PATCHES patches spread evenly over the track (chosen
 * as it streams, from the duration estimate, and still spread over the
 * whole track when the estimate is missing or wrong); or every patch.
 * Either way memory holds a few patches, not the track. A track shorter
 * than one patch is padded with silence (upstream MusiCNN fails on it). */
#ifndef SOUNDALIKE_TAGGER_H
#define SOUNDALIKE_TAGGER_H

#include <stddef.h>

#include "soundalike/analyzer.h"
#include "soundalike/error.h"

enum {
    SA_MUSICNN_RATE = 16000,        /* sample rate of its input */
    SA_MUSICNN_MELS = 96,           /* log-mel bands per frame */
    SA_MUSICNN_PATCH_FRAMES = 187,  /* frames per patch */
    SA_MUSICNN_TAGS = 50,
    SA_MUSICNN_EMBEDDING = 200,
    SA_MUSICNN_WHOLE_TRACK = 0,     /* patch setting: tag every patch */
    /* Patches tagged by default. On 113 full-length tracks (5.8 min on
     * average, 116 patches), against the mean over every patch, 12 patches
     * give tag vectors at cosine 0.9973 on average (worst 0.981) and 96% of
     * the top 5 tags, for a tenth of the work; 8 patches: 0.9948 (worst
     * 0.930), 16: 0.9983 (worst 0.982). */
    SA_MUSICNN_DEFAULT_PATCHES = 12,
};

typedef struct sa_musicnn sa_musicnn;

/* Finds <model_name>.weights (model_name NULL: "msd-musicnn") and writes
 * its path. Looks in model_dir when given, else in $SOUNDALIKE_MODEL_DIR
 * when set, else in $XDG_DATA_HOME/soundalike/models (default
 * ~/.local/share/soundalike/models), then ../shared/models/musicnn from the
 * current folder and from the parent of the executable's folder (a
 * development checkout). SA_ERR_NOT_FOUND names every place looked at. */
sa_err sa_musicnn_find_model(const char *model_dir, const char *model_name, char *path, size_t cap);

/* Loads and checks a weights file and the tag names beside it. A missing,
 * truncated or mismatched file fails (SA_ERR_IO, SA_ERR_FORMAT) with a
 * detail that names the file and what is wrong. */
sa_err sa_musicnn_load(const char *weights_path, sa_musicnn **out);
void sa_musicnn_free(sa_musicnn *m); /* NULL accepted */

/* The model's name (the weights file's name without ".weights") and tag i. */
const char *sa_musicnn_name(const sa_musicnn *m);
const char *sa_musicnn_tag(const sa_musicnn *m, int i);

/* How many patches a track is tagged on: n >= 1 spread evenly, or
 * SA_MUSICNN_WHOLE_TRACK. Set it before the model is shared between threads. */
sa_err sa_musicnn_set_patches(sa_musicnn *m, int patches);
int sa_musicnn_patches(const sa_musicnn *m);

/* Fills an analyzer (name "musicnn", version 1, rate 0: the file's own) whose config is
 * m; m must outlive it. Also makes OpenBLAS single-threaded: analysis runs
 * one track per worker thread. */
void sa_musicnn_analyzer(sa_musicnn *m, sa_analyzer *out);

/* Runs the network on n patches of log-mel input, logmel[n][187][96]
 * (time-major); writes tags[n][50] and embedding[n][200] (either may be
 * NULL). Thread-safe. */
sa_err sa_musicnn_run_patches(const sa_musicnn *m, const float *logmel, size_t n, float *tags, float *embedding);

/* Tags a whole 16 kHz mono signal with the model's patch setting, exactly as
 * the analyzer does: track-level tags[50] and embedding[200] (either may be
 * NULL) and the number of patches used (may be NULL). Thread-safe. */
sa_err sa_musicnn_run_audio(const sa_musicnn *m, const float *pcm, size_t n, float *tags, float *embedding,
                            size_t *patches);

/* Converts a Keras HDF5 re-export of the weights (musicnn_keras's
 * MSD_musicnn.h5 / MTT_musicnn.h5) into an MCNW file at weights_path,
 * written to a temporary name and renamed into place. The tensors are
 * checked by name and shape; the result is byte-identical to the
 * distributed .weights files. */
sa_err sa_musicnn_import_h5(const char *h5_path, const char *weights_path);

/* Writes the tag names of model_name ("msd-musicnn" or "mtt-musicnn"), one
 * per line in output order, to tags_path (atomically): the file that
 * sa_musicnn_load expects beside <model_name>.weights. */
sa_err sa_musicnn_write_tags(const char *model_name, const char *tags_path);

#endif

/* analysis_files.h: runs one analyzer on a file of the shared corpus (for the analysis tests). */
#ifndef SOUNDALIKE_TEST_ANALYSIS_FILES_H
#define SOUNDALIKE_TEST_ANALYSIS_FILES_H

#include <stdio.h>

#include "soundalike/pipeline.h"
#include "testutil.h"

/* Decodes shared/rel through the pipeline with analyzer a into f; returns 0
 * (saying so) when the file is absent, so that a test skips it. */
static inline int af_analyse_file(const char *rel, const sa_analyzer *a, sa_features *f) {
    char path[4096];
    tu_shared_path(path, sizeof path, rel);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        print_message("skipped: %s is absent\n", path);
        return 0;
    }
    fclose(probe);
    const sa_analyzer *list[] = {a};
    sa_err err = sa_pipeline_run(path, list, 1, f, NULL, NULL);
    if (err)
        print_message("%s: %s\n", path, sa_error_detail());
    assert_int_equal(err, SA_OK);
    return 1;
}

#endif

/* testutil.h: helpers shared by the unit tests. */
#ifndef SOUNDALIKE_TESTUTIL_H
#define SOUNDALIKE_TESTUTIL_H

#include <stddef.h>

/* The shared folder (models, corpus): $SA_SHARED_DIR or the build-time default. */
const char *tu_shared_dir(void);
/* shared/rel as a path in a static buffer of the caller's; returns buf. */
char *tu_shared_path(char *buf, size_t cap, const char *rel);
/* A fresh empty temporary folder (mkdtemp); removed by tu_rmtree. */
char *tu_tempdir(char *buf, size_t cap);
void tu_rmtree(const char *dir);
/* Writes n bytes to path; 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);
/* Copies the first n bytes (all when n is 0) of src to dst; 0 on success. */
int tu_copy_file(const char *src, const char *dst, size_t n);

/* Reads a whole file of raw float32 samples; *n gets their number. NULL
 * when it cannot be read; the caller frees the result. */
float *tu_read_f32(const char *path, size_t *n);

#endif

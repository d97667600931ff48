/* testutil.c: helpers shared by the unit tests. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

const char *tu_shared_dir(void) {
    const char *env = getenv("SA_SHARED_DIR");
    return env && *env ? env : SA_SHARED_DIR;
}

char *tu_shared_path(char *buf, size_t cap, const char *rel) {
    snprintf(buf, cap, "%s/%s", tu_shared_dir(), rel);
    return buf;
}

char *tu_tempdir(char *buf, size_t cap) {
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, cap, "%s/sa-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(buf);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int tu_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

int tu_copy_file(const char *src, const char *dst, size_t n) {
    FILE *in = fopen(src, "rb");
    if (!in)
        return -1;
    FILE *out = fopen(dst, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t total = 0, r;
    int rc = 0;
    while ((n == 0 || total < n) && (r = fread(buf, 1, sizeof buf, in)) > 0) {
        if (n && total + r > n)
            r = n - total;
        if (fwrite(buf, 1, r, out) != r)
            rc = -1;
        total += r;
    }
    if (ferror(in)) /* a read error ends the loop as the end of the file does */
        rc = -1;
    fclose(in);
    return (fclose(out) == 0) ? rc : -1;
}

float *tu_read_f32(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    float *x = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (x = malloc((size_t)size)) != NULL &&
        fread(x, 1, (size_t)size, f) != (size_t)size) {
        free(x);
        x = NULL;
    }
    fclose(f);
    *n = x ? (size_t)size / sizeof(float) : 0;
    return x;
}

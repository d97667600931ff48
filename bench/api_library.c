/* api_library.c: a synthetic library for bench/api.sh: N analysed tracks with
 * default-profile vectors in a store, and the same vectors as raw float32
 * (vectors.f32, track id order) with tracks.tsv (id, path) for the FastAPI
 * reproduction of the seed's stack, so both servers answer over the same data.
 *
 * usage: bench_api_library DB OUTDIR [N]
 * The vectors are drawn around 500 centres (genres of a sort), then
 * normalised, so that neighbours are nearer than chance as in a real library. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soundalike/profile.h"
#include "soundalike/store.h"

enum { CENTRES = 500, BATCH = 5000 };

static float gaussian(unsigned *seed) {
    float u = ((float)rand_r(seed) + 1.0f) / ((float)RAND_MAX + 2.0f);
    float v = ((float)rand_r(seed) + 1.0f) / ((float)RAND_MAX + 2.0f);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static int fail(const char *what) {
    fprintf(stderr, "bench_api_library: %s: %s\n", what, sa_error_detail());
    return 1;
}

static int put_batch(sa_store *s, const sa_profile *p, const float *centres, long from, long to, unsigned *seed,
                     FILE *vec, FILE *tsv) {
    float v[256];
    if (sa_store_begin(s) != SA_OK)
        return fail("begin");
    for (long i = from; i < to; i++) {
        char path[128], hash[17];
        snprintf(path, sizeof path, "/bench/library/artist%04ld/album%02ld/track%07ld.mp3", i % 5000, i % 7, i);
        snprintf(hash, sizeof hash, "%016lx", (unsigned long)i + 1);
        sa_track t = {.path = path, .size = 4000000 + i, .content_hash = hash, .status = SA_TRACK_ANALYZED,
                      .duration_s = 180 + (double)(i % 120), .codec = "mp3", .scanned_at = 1, .analyzed_at = 2};
        int64_t id;
        const float *c = centres + (size_t)(rand_r(seed) % CENTRES) * (size_t)p->dim;
        for (int k = 0; k < p->dim; k++)
            v[k] = c[k] + 0.35f * gaussian(seed);
        sa_vector_normalize(v, p->dim);
        if (sa_store_track_put(s, &t, &id) != SA_OK || sa_store_vector_put(s, id, p->name, v, p->dim) != SA_OK) {
            sa_store_rollback(s);
            return fail("storing a track");
        }
        if (fwrite(v, sizeof *v, (size_t)p->dim, vec) != (size_t)p->dim ||
            fprintf(tsv, "%lld\t%s\n", (long long)id, path) < 0) {
            fprintf(stderr, "bench_api_library: writing vectors.f32 or tracks.tsv: %s\n", strerror(errno));
            sa_store_rollback(s);
            return 1;
        }
    }
    return sa_store_commit(s) == SA_OK ? 0 : fail("commit");
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s DB OUTDIR [N]\n", argv[0]);
        return 2;
    }
    long n = 100000;
    if (argc == 4) {
        char *end;
        n = strtol(argv[3], &end, 10);
        if (end == argv[3] || *end || n <= 0) {
            fprintf(stderr, "bench_api_library: N must be a positive number, not '%s'\n", argv[3]);
            return 2;
        }
    }
    const sa_profile *p = sa_profile_find("default");
    if (!p || p->dim > 256) { /* v[] in put_batch holds 256 floats */
        fprintf(stderr, "bench_api_library: no default profile of at most 256 dimensions\n");
        return 2;
    }
    char vpath[4096], tpath[4096];
    snprintf(vpath, sizeof vpath, "%s/vectors.f32", argv[2]);
    snprintf(tpath, sizeof tpath, "%s/tracks.tsv", argv[2]);
    FILE *vec = fopen(vpath, "wb"), *tsv = fopen(tpath, "w");
    sa_store *s = NULL;
    float *centres = malloc((size_t)CENTRES * (size_t)p->dim * sizeof *centres);
    unsigned seed = 20240611;
    int rc = !vec || !tsv || !centres;
    if (rc)
        fprintf(stderr, "bench_api_library: cannot write in %s\n", argv[2]);
    if (!rc && sa_store_open(argv[1], &s) != SA_OK)
        rc = fail(argv[1]);
    for (size_t i = 0; !rc && i < (size_t)CENTRES * (size_t)p->dim; i++)
        centres[i] = gaussian(&seed);
    for (long from = 0; !rc && from < n; from += BATCH)
        rc = put_batch(s, p, centres, from, from + BATCH < n ? from + BATCH : n, &seed, vec, tsv);
    sa_store_close(s);
    free(centres);
    int closed = 1; /* both are closed, whatever the first gives */
    if (vec && fclose(vec) != 0)
        closed = 0;
    if (tsv && fclose(tsv) != 0)
        closed = 0;
    if (!closed) {
        fprintf(stderr, "bench_api_library: closing the vector files in %s: %s\n", argv[2], strerror(errno));
        rc = 1;
    }
    if (!rc)
        printf("%ld tracks of %d-d %s vectors in %s and %s\n", n, p->dim, p->name, argv[1], argv[2]);
    return rc;
}

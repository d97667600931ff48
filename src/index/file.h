/* file.h: the index file container: a header, a body that depends on the
 * index kind, and a trailer holding a 64-bit hash of everything before it,
 * as 16 hex digits.
 *
 *   offset  size  field
 *   0       8     magic "SAINDEX\0"
 *   8       4     format version (1)
 *   12      4     kind (SA_IXFILE_FLAT, SA_IXFILE_FAISS, SA_IXFILE_IVF)
 *   16      4     dimension
 *   20      4     length L of the type name (1..63)
 *   24      8     vector count
 *   32      L     type name ("flat", "hnsw", a factory string), no NUL
 *   32+L    ...   body
 *   end-16  16    hash of bytes [0, end-16) as lowercase hex
 *
 * Integers are little-endian. A file is written under a temporary name,
 * synced and renamed into place; a file is read only after its whole hash
 * has been checked, so no parser ever sees a corrupt body. */
#ifndef SA_INDEX_FILE_H
#define SA_INDEX_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "soundalike/error.h"

enum { SA_IXFILE_VERSION = 1, SA_IXFILE_FLAT = 1, SA_IXFILE_FAISS = 2, SA_IXFILE_IVF = 3 };
enum { SA_IXFILE_HEADER = 32, SA_IXFILE_TRAILER = 16, SA_IXFILE_TYPE_MAX = 63 };
/* The largest dimension any index accepts (a profile is far smaller). */
enum { SA_IXFILE_DIM_MAX = 65536 };

typedef struct sa_hash64 {
    uint64_t lane[4];
    uint64_t total;
    unsigned char buf[32];
} sa_hash64;

void sa_hash64_init(sa_hash64 *h);
void sa_hash64_update(sa_hash64 *h, const void *data, size_t n);
uint64_t sa_hash64_final(const sa_hash64 *h);

typedef struct sa_ixfile_header {
    uint32_t kind;
    int dim;
    uint64_t count;
    char type[SA_IXFILE_TYPE_MAX + 1];
} sa_ixfile_header;

/* Writing: bytes go to path.tmp.<pid> and through the hash. */
typedef struct sa_ixwriter {
    FILE *f;
    sa_hash64 hash;
    char *path, *tmp;
} sa_ixwriter;

sa_err sa_ixwriter_open(sa_ixwriter *w, const char *path, const sa_ixfile_header *h);
sa_err sa_ixwriter_write(sa_ixwriter *w, const void *data, size_t n);
/* Appends the trailer, syncs, renames into place and syncs the folder;
 * checksum (when not NULL) gets the hex hash. Releases w either way. */
sa_err sa_ixwriter_commit(sa_ixwriter *w, char checksum[72]);
/* Drops the temporary file; accepts a writer that failed to open. */
void sa_ixwriter_abort(sa_ixwriter *w);

/* Reading: open checks the size, the whole hash and the header. */
typedef struct sa_ixreader {
    FILE *f;
    const char *path;
    uint64_t pos, end; /* end: where the trailer starts */
} sa_ixreader;

sa_err sa_ixreader_open(sa_ixreader *r, const char *path, sa_ixfile_header *h, char checksum[72]);
/* SA_ERR_FORMAT when fewer than n body bytes are left; what names the field. */
sa_err sa_ixreader_read(sa_ixreader *r, void *data, size_t n, const char *what);
/* Body bytes not read yet. */
static inline uint64_t sa_ixreader_left(const sa_ixreader *r) { return r->end - r->pos; }
/* SA_ERR_FORMAT unless the body was read exactly to its end. */
sa_err sa_ixreader_finish(const sa_ixreader *r);
void sa_ixreader_close(sa_ixreader *r);

#endif

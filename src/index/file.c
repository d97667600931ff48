/* file.c: the index file container: hashing, atomic writes, verified reads. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/file.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "index files are written in host order");

static const char magic[8] = "SAINDEX";

/* ---- the hash: four independent multiply-rotate lanes over 8-byte words
 * (fast on long inputs), folded with the splitmix64 finaliser ---- */

#define HASH_P1 0x9e3779b97f4a7c15ULL
#define HASH_P2 0xc2b2ae3d27d4eb4fULL

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t lane_round(uint64_t acc, uint64_t word) { return rotl64(acc + word * HASH_P2, 31) * HASH_P1; }

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t load64(const unsigned char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static void hash_block(sa_hash64 *h, const unsigned char *p) {
    for (int i = 0; i < 4; i++)
        h->lane[i] = lane_round(h->lane[i], load64(p + 8 * i));
}

void sa_hash64_init(sa_hash64 *h) {
    memset(h, 0, sizeof *h);
    for (int i = 0; i < 4; i++)
        h->lane[i] = mix64(HASH_P1 * (uint64_t)(i + 1));
}

void sa_hash64_update(sa_hash64 *h, const void *data, size_t n) {
    if (n == 0) /* data may then be NULL */
        return;
    const unsigned char *p = data;
    size_t have = (size_t)(h->total % 32);
    h->total += n;
    if (have) {
        size_t take = n < 32 - have ? n : 32 - have;
        memcpy(h->buf + have, p, take);
        p += take, n -= take;
        if (have + take < 32)
            return;
        hash_block(h, h->buf);
    }
    for (; n >= 32; p += 32, n -= 32)
        hash_block(h, p);
    memcpy(h->buf, p, n);
}

uint64_t sa_hash64_final(const sa_hash64 *h) {
    uint64_t x = mix64(h->total ^ HASH_P2);
    for (int i = 0; i < 4; i++)
        x = mix64(x ^ h->lane[i]) * HASH_P1;
    size_t tail = (size_t)(h->total % 32);
    for (size_t off = 0; off < tail; off += 8) {
        unsigned char word[8] = {0};
        memcpy(word, h->buf + off, tail - off < 8 ? tail - off : 8);
        x = mix64(x ^ lane_round(0, load64(word)));
    }
    return x;
}

/* ---- header ---- */

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- writing ---- */

sa_err sa_ixwriter_open(sa_ixwriter *w, const char *path, const sa_ixfile_header *h) {
    *w = (sa_ixwriter){0};
    size_t tlen = strlen(h->type);
    if (tlen == 0 || tlen > SA_IXFILE_TYPE_MAX)
        return sa_error_set(SA_ERR_INVALID, "index type name \"%s\" must have 1 to %d characters", h->type,
                            SA_IXFILE_TYPE_MAX);
    size_t cap = strlen(path) + 32;
    w->path = strdup(path);
    w->tmp = malloc(cap);
    if (!w->path || !w->tmp) {
        sa_ixwriter_abort(w);
        return sa_error_set(SA_ERR_NOMEM, "saving index %s", path);
    }
    snprintf(w->tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
        sa_err err = sa_error_set(SA_ERR_IO, "cannot create %s: %s", w->tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        sa_ixwriter_abort(w);
        return err;
    }
    sa_hash64_init(&w->hash);
    unsigned char head[SA_IXFILE_HEADER];
    memcpy(head, magic, 8);
    put32(head + 8, SA_IXFILE_VERSION);
    put32(head + 12, h->kind);
    put32(head + 16, (uint32_t)h->dim);
    put32(head + 20, (uint32_t)tlen);
    put64(head + 24, h->count);
    sa_err err = sa_ixwriter_write(w, head, sizeof head);
    if (!err)
        err = sa_ixwriter_write(w, h->type, tlen);
    if (err)
        sa_ixwriter_abort(w);
    return err;
}

sa_err sa_ixwriter_write(sa_ixwriter *w, const void *data, size_t n) {
    if (n && fwrite(data, 1, n, w->f) != n)
        return sa_error_set(SA_ERR_IO, "writing %s: %s", w->tmp, strerror(errno));
    sa_hash64_update(&w->hash, data, n);
    return SA_OK;
}

static sa_err sync_folder(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return sa_error_set(SA_ERR_NOMEM, "saving index %s", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    sa_err err = SA_OK;
    if (fd < 0 || fsync(fd) != 0)
        err = sa_error_set(SA_ERR_IO, "cannot sync folder %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(dir);
    return err;
}

sa_err sa_ixwriter_commit(sa_ixwriter *w, char checksum[72]) {
    char hex[SA_IXFILE_TRAILER + 1];
    snprintf(hex, sizeof hex, "%016" PRIx64, sa_hash64_final(&w->hash));
    sa_err err = SA_OK;
    if (fwrite(hex, 1, SA_IXFILE_TRAILER, w->f) != SA_IXFILE_TRAILER || fflush(w->f) != 0 ||
        fsync(fileno(w->f)) != 0)
        err = sa_error_set(SA_ERR_IO, "writing %s: %s", w->tmp, strerror(errno));
    int closed = fclose(w->f);
    w->f = NULL;
    if (!err && closed != 0)
        err = sa_error_set(SA_ERR_IO, "writing %s: %s", w->tmp, strerror(errno));
    if (!err && rename(w->tmp, w->path) != 0)
        err = sa_error_set(SA_ERR_IO, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    if (err) {
        sa_ixwriter_abort(w);
        return err;
    }
    err = sync_folder(w->path);
    if (!err && checksum)
        memcpy(checksum, hex, sizeof hex);
    free(w->tmp);
    free(w->path);
    *w = (sa_ixwriter){0};
    return err;
}

void sa_ixwriter_abort(sa_ixwriter *w) {
    if (w->f) {
        fclose(w->f);
        unlink(w->tmp);
    } else if (w->tmp) {
        unlink(w->tmp); /* harmless when it was never created */
    }
    free(w->tmp);
    free(w->path);
    *w = (sa_ixwriter){0};
}

/* ---- reading ---- */

/* The error of a short fread: errno means something only when the stream
 * reports an error; otherwise the file ended early (it shrank while read). */
static sa_err read_failed(FILE *f, const char *path) {
    if (ferror(f))
        return sa_error_set(SA_ERR_IO, "reading %s: %s", path, strerror(errno));
    return sa_error_set(SA_ERR_IO, "reading %s: the file ended early (changed while being read?)", path);
}

static sa_err verify_hash(sa_ixreader *r, uint64_t size, char hex[SA_IXFILE_TRAILER + 1]) {
    sa_hash64 h;
    sa_hash64_init(&h);
    unsigned char buf[1 << 16];
    for (uint64_t left = size - SA_IXFILE_TRAILER; left > 0;) {
        size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
        if (fread(buf, 1, n, r->f) != n)
            return read_failed(r->f, r->path);
        sa_hash64_update(&h, buf, n);
        left -= n;
    }
    if (fread(hex, 1, SA_IXFILE_TRAILER, r->f) != SA_IXFILE_TRAILER)
        return read_failed(r->f, r->path);
    hex[SA_IXFILE_TRAILER] = '\0';
    for (int i = 0; i < SA_IXFILE_TRAILER; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return sa_error_set(SA_ERR_FORMAT, "%s: truncated or not an index file (no checksum at its end)",
                                r->path);
    char want[SA_IXFILE_TRAILER + 1];
    snprintf(want, sizeof want, "%016" PRIx64, sa_hash64_final(&h));
    if (strcmp(want, hex) != 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: checksum mismatch (file says %s, contents hash to %s)", r->path,
                            hex, want);
    return SA_OK;
}

static sa_err parse_header(sa_ixreader *r, sa_ixfile_header *h) {
    unsigned char head[SA_IXFILE_HEADER];
    sa_err err = sa_ixreader_read(r, head, sizeof head, "header");
    if (err)
        return err;
    uint32_t version = get32(head + 8), dim = get32(head + 16), tlen = get32(head + 20);
    if (version != SA_IXFILE_VERSION)
        return sa_error_set(SA_ERR_FORMAT, "%s: index format version %" PRIu32 ", this build reads %d", r->path,
                            version, SA_IXFILE_VERSION);
    if (dim < 1 || dim > SA_IXFILE_DIM_MAX)
        return sa_error_set(SA_ERR_FORMAT, "%s: dimension %" PRIu32 " out of range", r->path, dim);
    if (tlen < 1 || tlen > SA_IXFILE_TYPE_MAX)
        return sa_error_set(SA_ERR_FORMAT, "%s: type name length %" PRIu32 " out of range", r->path, tlen);
    h->kind = get32(head + 12);
    h->dim = (int)dim;
    memcpy(&h->count, head + 24, 8);
    err = sa_ixreader_read(r, h->type, tlen, "type name");
    if (err)
        return err;
    h->type[tlen] = '\0';
    for (uint32_t i = 0; i < tlen; i++)
        if (h->type[i] < 0x20 || h->type[i] > 0x7e)
            return sa_error_set(SA_ERR_FORMAT, "%s: type name is not printable text", r->path);
    return SA_OK;
}

sa_err sa_ixreader_open(sa_ixreader *r, const char *path, sa_ixfile_header *h, char checksum[72]) {
    *r = (sa_ixreader){.path = path};
    struct stat st;
    r->f = fopen(path, "rb");
    if (!r->f)
        return sa_error_set(errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "cannot open %s: %s", path,
                            strerror(errno));
    if (fstat(fileno(r->f), &st) != 0) {
        sa_err err = sa_error_set(SA_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        sa_ixreader_close(r);
        return err;
    }
    uint64_t size = (uint64_t)st.st_size;
    sa_err err = SA_OK;
    char hex[SA_IXFILE_TRAILER + 1], head[sizeof magic];
    if (!S_ISREG(st.st_mode))
        err = sa_error_set(SA_ERR_FORMAT, "%s: not a regular file", path);
    else if (fread(head, 1, sizeof head, r->f) != sizeof head || memcmp(head, magic, sizeof magic) != 0)
        err = sa_error_set(SA_ERR_FORMAT, "%s: not a soundalike index file (bad magic)", path);
    else if (fseek(r->f, 0, SEEK_SET) != 0)
        err = sa_error_set(SA_ERR_IO, "reading %s: %s", path, strerror(errno));
    else if (size < SA_IXFILE_HEADER + 1 + SA_IXFILE_TRAILER)
        err = sa_error_set(SA_ERR_FORMAT, "%s: truncated (%" PRIu64 " bytes, less than a header)", path, size);
    else
        err = verify_hash(r, size, hex);
    if (!err && fseek(r->f, 0, SEEK_SET) != 0)
        err = sa_error_set(SA_ERR_IO, "reading %s: %s", path, strerror(errno));
    if (!err) {
        r->end = size - SA_IXFILE_TRAILER;
        err = parse_header(r, h);
    }
    if (err) {
        sa_ixreader_close(r);
        return err;
    }
    if (checksum)
        memcpy(checksum, hex, sizeof hex);
    return SA_OK;
}

sa_err sa_ixreader_read(sa_ixreader *r, void *data, size_t n, const char *what) {
    if (n > sa_ixreader_left(r))
        return sa_error_set(SA_ERR_FORMAT, "%s: truncated in the %s", r->path, what);
    if (n && fread(data, 1, n, r->f) != n)
        return read_failed(r->f, r->path);
    r->pos += n;
    return SA_OK;
}

sa_err sa_ixreader_finish(const sa_ixreader *r) {
    if (sa_ixreader_left(r) != 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: %" PRIu64 " unexpected bytes after the index data", r->path,
                            sa_ixreader_left(r));
    return SA_OK;
}

void sa_ixreader_close(sa_ixreader *r) {
    if (r->f)
        fclose(r->f);
    r->f = NULL;
}

/* scan.c: walking music folders into the store.
 *
 * A file is audio when FFmpeg can probe an audio stream in it, whatever its
 * name. Files with a name that promises audio but fail the probe are kept as
 * failed tracks with the reason, so the user sees them; other non-audio files
 * (covers, playlists, notes) are ignored. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "soundalike/audio.h"
#include "soundalike/hash.h"
#include "soundalike/library.h"
#include "soundalike/log.h"

enum { HASH_SPAN = 65536, COMMIT_EVERY = 256 };

/* Folders already walked, by device and inode, so that symlink loops and
 * folders linked twice are entered once. */
typedef struct visited {
    dev_t *dev;
    ino_t *ino;
    size_t n, cap;
} visited;

typedef struct scan_ctx {
    sa_store *store;
    int64_t scan_id;
    sa_scan_report *report;
    visited dirs;
    int pending_writes;
} scan_ctx;

static int visited_add(visited *v, dev_t dev, ino_t ino) {
    for (size_t i = 0; i < v->n; i++)
        if (v->dev[i] == dev && v->ino[i] == ino)
            return 0;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        dev_t *d = realloc(v->dev, cap * sizeof *d);
        if (d)
            v->dev = d;
        ino_t *i = realloc(v->ino, cap * sizeof *i);
        if (i)
            v->ino = i;
        if (!d || !i)
            return -1;
        v->cap = cap;
    }
    v->dev[v->n] = dev;
    v->ino[v->n++] = ino;
    return 1;
}

static const char *extension(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    return dot ? dot + 1 : "";
}

static int ext_in(const char *ext, const char *const *list) {
    for (; *list; list++)
        if (strcasecmp(ext, *list) == 0)
            return 1;
    return 0;
}

/* Names that promise audio: failing to probe them is worth reporting. */
static int is_audio_name(const char *path) {
    static const char *const exts[] = {"mp3", "flac", "ogg", "oga", "opus", "m4a", "m4b", "aac", "mp4", "wav",
                                       "aif", "aiff", "aifc", "wma", "wv", "ape", "mpc", "mka", "alac", "dsf",
                                       "dff", "tta", "spx", "ac3", "mp2", NULL};
    return ext_in(extension(path), exts);
}

/* Names that are surely not audio, skipped without probing to keep scans fast. */
static int is_known_other(const char *path) {
    static const char *const exts[] = {"jpg", "jpeg", "png", "gif", "bmp", "webp", "txt", "nfo", "cue", "log",
                                       "pdf", "m3u", "m3u8", "pls", "xspf", "db", "ini", "xml", "json", "html",
                                       "htm", "lrc", "sfv", "md5", "accurip", "md", "url", "ds_store", NULL};
    return ext_in(extension(path), exts);
}

/* Size, first and last HASH_SPAN bytes: equal files hash equal, and a
 * library of any size hashes in one read of 128 KiB per new file. */
static sa_err content_hash(const char *path, int64_t size, char out[17]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sa_error_set(SA_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char *buf = malloc(HASH_SPAN);
    if (!buf) {
        close(fd);
        return sa_error_set(SA_ERR_NOMEM, "hash buffer");
    }
    uint64_t h = sa_hash64(SA_HASH_SEED, &size, sizeof size);
    off_t offsets[2] = {0, size > HASH_SPAN ? (off_t)(size - HASH_SPAN) : -1};
    sa_err err = SA_OK;
    for (int i = 0; i < 2 && !err; i++) {
        if (offsets[i] < 0)
            continue;
        ssize_t r = pread(fd, buf, HASH_SPAN, offsets[i]);
        if (r < 0)
            err = sa_error_set(SA_ERR_IO, "%s: %s", path, strerror(errno));
        else
            h = sa_hash64(h, buf, (size_t)r);
    }
    free(buf);
    close(fd);
    sa_hash64_hex(h, out);
    return err;
}

static sa_err periodic_commit(scan_ctx *c) {
    if (++c->pending_writes < COMMIT_EVERY)
        return SA_OK;
    c->pending_writes = 0;
    sa_err err = sa_store_commit(c->store);
    return err ? err : sa_store_begin(c->store);
}

/* Records a new or changed file: probed facts and pending, or failed with why. */
static sa_err record_file(scan_ctx *c, const char *path, const struct stat *st, int was_known) {
    sa_audio_info info = {0};
    sa_err perr = sa_audio_probe(path, &info);
    if (perr && !is_audio_name(path) && !was_known) {
        c->report->ignored++;
        return SA_OK;
    }
    char hash[17] = "";
    char why[512];
    sa_err err = SA_OK;
    if (!perr && (perr = content_hash(path, (int64_t)st->st_size, hash)) == SA_ERR_NOMEM)
        err = perr;
    if (err) {
        sa_audio_info_clear(&info);
        return err;
    }
    sa_track t = {.path = (char *)path, .size = (int64_t)st->st_size,
                  .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
                  .content_hash = hash, .scanned_at = (int64_t)time(NULL)};
    if (perr) { /* not audio, or unreadable: recorded, and the scan goes on */
        snprintf(why, sizeof why, "not readable audio: %s", sa_error_detail());
        t.status = SA_TRACK_FAILED;
        t.error = why;
        c->report->failed++;
    } else {
        t.status = SA_TRACK_PENDING;
        t.duration_s = info.duration_s;
        t.sample_rate = info.sample_rate;
        t.channels = info.channels;
        t.codec = info.codec;
        t.title = info.title;
        t.artist = info.artist;
        t.album = info.album;
        t.genre = info.genre;
        if (was_known)
            c->report->changed++;
        else
            c->report->added++;
    }
    int64_t id;
    err = sa_store_track_put(c->store, &t, &id);
    if (!err)
        err = sa_store_track_seen(c->store, id, c->scan_id);
    sa_audio_info_clear(&info);
    return err ? err : periodic_commit(c);
}

static sa_err visit_file(scan_ctx *c, const char *path, const struct stat *st) {
    c->report->files++;
    sa_track old = {0};
    sa_err err = sa_store_track_by_path(c->store, path, &old);
    if (err && err != SA_ERR_NOT_FOUND)
        return err;
    int known = (err == SA_OK);
    int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    if (known && old.size == (int64_t)st->st_size && old.mtime_ns == mtime_ns) {
        err = SA_OK;
        if (old.status == SA_TRACK_MISSING) /* back where it was, unchanged */
            err = sa_store_track_set_status(c->store, old.id,
                                            old.analyzed_at ? SA_TRACK_ANALYZED : SA_TRACK_PENDING, NULL);
        if (!err)
            err = sa_store_track_seen(c->store, old.id, c->scan_id);
        c->report->unchanged++;
        sa_track_clear(&old);
        return err;
    }
    sa_track_clear(&old);
    if (!known && is_known_other(path)) {
        c->report->ignored++;
        return SA_OK;
    }
    return record_file(c, path, st, known);
}

static sa_err walk(scan_ctx *c, const char *dir);

/* A folder or file that could not be read (a folder perhaps only in part:
 * permissions, a mount gone away, an I/O error) says nothing about the
 * tracks recorded at or under it: they are kept as they were, not marked
 * missing. */
static sa_err unreadable(scan_ctx *c, const char *path, int error) {
    sa_log_warn("%s: %s (skipped; its tracks are kept as they were)", path, strerror(error));
    c->report->unreadable++;
    sa_err err = sa_store_keep_under(c->store, *path ? path : "/", c->scan_id);
    sa_track t = {0};
    sa_err found = err ? err : sa_store_track_by_path(c->store, path, &t);
    if (!err && found == SA_OK)
        err = sa_store_track_seen(c->store, t.id, c->scan_id);
    else if (!err && found != SA_ERR_NOT_FOUND)
        err = found;
    sa_track_clear(&t);
    return err;
}

static sa_err visit_entry(scan_ctx *c, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
            return unreadable(c, path, errno);
        /* a dangling symlink, a symlink loop or a file removed meanwhile */
        sa_log_warn("%s: %s (skipped)", path, strerror(errno));
        return SA_OK;
    }
    if (S_ISDIR(st.st_mode)) {
        int fresh = visited_add(&c->dirs, st.st_dev, st.st_ino);
        if (fresh < 0)
            return sa_error_set(SA_ERR_NOMEM, "scan");
        return fresh ? walk(c, path) : SA_OK;
    }
    return S_ISREG(st.st_mode) ? visit_file(c, path, &st) : SA_OK;
}

static sa_err walk(scan_ctx *c, const char *dir) {
    DIR *d = opendir(*dir ? dir : "/");
    if (!d)
        return unreadable(c, dir, errno);
    sa_err err = SA_OK;
    struct dirent *e;
    char path[PATH_MAX];
    for (;;) {
        errno = 0;
        if (err || (e = readdir(d)) == NULL)
            break;
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) {
            sa_log_warn("%s/%s: path too long (skipped)", dir, e->d_name);
            continue;
        }
        err = visit_entry(c, path);
    }
    if (!err && errno != 0)
        err = unreadable(c, dir, errno);
    closedir(d);
    return err;
}

static sa_err scan_root(scan_ctx *c, const char *root) {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(root, real) || stat(real, &st) != 0)
        return sa_error_set(SA_ERR_NOT_FOUND, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sa_error_set(SA_ERR_INVALID, "%s is not a folder", root);
    if (access(real, R_OK | X_OK) != 0)
        return sa_error_set(SA_ERR_IO, "%s: %s", root, strerror(errno));
    if (visited_add(&c->dirs, st.st_dev, st.st_ino) < 0)
        return sa_error_set(SA_ERR_NOMEM, "scan");
    sa_err err = walk(c, strcmp(real, "/") == 0 ? "" : real);
    int64_t gone = 0;
    if (!err)
        err = sa_store_mark_missing(c->store, real, c->scan_id, &gone);
    c->report->missing += gone;
    return err;
}

sa_err sa_library_scan(sa_store *s, const char *const *roots, size_t n_roots, sa_scan_report *report) {
    sa_scan_report local = {0};
    scan_ctx c = {.store = s, .report = report ? report : &local};
    memset(c.report, 0, sizeof *c.report);
    sa_err err = sa_store_begin(s);
    if (!err)
        err = sa_store_scan_begin(s, &c.scan_id);
    for (size_t i = 0; !err && i < n_roots; i++)
        err = scan_root(&c, roots[i]);
    if (!err)
        err = sa_store_commit(s);
    else
        sa_store_rollback(s);
    free(c.dirs.dev);
    free(c.dirs.ino);
    return err;
}

sa_err sa_library_scan_file(sa_store *s, const char *path, int64_t *id) {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0)
        return sa_error_set(SA_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sa_error_set(SA_ERR_INVALID, "%s is not a regular file", path);
    sa_scan_report report = {0};
    scan_ctx c = {.store = s, .report = &report};
    sa_track t = {0};
    sa_err err = sa_store_begin(s);
    if (err)
        return err;
    err = sa_store_scan_begin(s, &c.scan_id);
    if (!err)
        err = visit_file(&c, real, &st);
    if (!err) {
        err = sa_store_track_by_path(s, real, &t);
        if (err == SA_ERR_NOT_FOUND)
            err = sa_error_set(SA_ERR_FORMAT, "%s is not audio", path);
    }
    if (!err)
        err = sa_store_commit(s);
    else
        sa_store_rollback(s);
    if (!err)
        *id = t.id;
    sa_track_clear(&t);
    return err;
}

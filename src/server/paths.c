/* paths.c: confining client paths to the configured folders, content types, Range headers.
 *
 * A path is judged by where it resolves (realpath: symlinks, "..", repeated
 * slashes), never by how it is spelled. A path that does not exist is
 * judged by where its deepest existing folder resolves, so that a client
 * learns nothing about files outside the folders: those are 403 whether
 * they exist or not. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server/internal.h"

int srv_path_inside(const char *real, const char *dir) {
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return real[0] == '/';
    return strncmp(real, dir, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

static int inside_any(char *const *dirs, size_t n_dirs, const char *real) {
    for (size_t i = 0; i < n_dirs; i++)
        if (srv_path_inside(real, dirs[i]))
            return 1;
    return 0;
}

const char *srv_base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The absolute form of path with ".", ".." and repeated slashes removed
 * by spelling alone (for a path that does not exist). */
static sa_err normalise(const char *path, char *out, size_t cap) {
    char joined[PATH_MAX * 2];
    if (path[0] == '/') {
        snprintf(joined, sizeof joined, "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return sa_error_set(SA_ERR_IO, "current folder: %s", strerror(errno));
        snprintf(joined, sizeof joined, "%s/%s", cwd, path);
    }
    size_t len = 0;
    out[0] = '\0';
    for (char *save, *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            char *slash = strrchr(out, '/');
            len = slash ? (size_t)(slash - out) : 0;
            out[len] = '\0';
            continue;
        }
        size_t n = strlen(part);
        if (len + 1 + n + 1 > cap)
            return sa_error_set(SA_ERR_INVALID, "path too long");
        out[len++] = '/';
        memcpy(out + len, part, n + 1);
        len += n;
    }
    if (len == 0)
        snprintf(out, cap, "/");
    return SA_OK;
}

/* Where a path that does not exist would be: its deepest existing folder,
 * resolved, followed by the rest as spelled. */
static sa_err resolve_absent(const char *path, char *out, size_t cap) {
    char norm[PATH_MAX];
    sa_err err = normalise(path, norm, sizeof norm);
    if (err)
        return err;
    char prefix[PATH_MAX], real[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", norm);
    for (;;) {
        char *slash = strrchr(prefix, '/');
        if (!slash || slash == prefix) { /* only the file system root is left */
            snprintf(out, cap, "%s", norm);
            return SA_OK;
        }
        *slash = '\0';
        if (realpath(prefix, real)) {
            const char *rest = norm + strlen(prefix);
            if ((size_t)snprintf(out, cap, "%s%s", strcmp(real, "/") == 0 ? "" : real, rest) >= cap)
                return sa_error_set(SA_ERR_INVALID, "path too long");
            return SA_OK;
        }
    }
}

sa_err srv_path_resolve(char *const *dirs, size_t n_dirs, const char *path, char *out, size_t cap) {
    if (!path || !*path)
        return sa_error_set(SA_ERR_INVALID, "an empty path");
    if (strlen(path) >= PATH_MAX)
        return sa_error_set(SA_ERR_INVALID, "path too long");
    char real[PATH_MAX];
    if (realpath(path, real)) {
        if (!inside_any(dirs, n_dirs, real))
            return sa_error_set(SA_ERR_DENIED, "%s is outside the library folders", path);
        if ((size_t)snprintf(out, cap, "%s", real) >= cap)
            return sa_error_set(SA_ERR_INVALID, "path too long");
        return SA_OK;
    }
    int e = errno;
    char where[PATH_MAX];
    sa_err err = resolve_absent(path, where, sizeof where);
    if (err)
        return err;
    if (!inside_any(dirs, n_dirs, where))
        return sa_error_set(SA_ERR_DENIED, "%s is outside the library folders", path);
    return sa_error_set(SA_ERR_NOT_FOUND, "%s: %s", path, strerror(e));
}

sa_err srv_path_real_folder(const char *path, char *out, size_t cap) {
    if (!path || !*path)
        return sa_error_set(SA_ERR_INVALID, "an empty path");
    if (strlen(path) >= PATH_MAX)
        return sa_error_set(SA_ERR_INVALID, "path too long");
    char norm[PATH_MAX], folder[PATH_MAX], real[PATH_MAX];
    sa_err err = normalise(path, norm, sizeof norm);
    if (err)
        return err;
    const char *name = srv_base_name(norm);
    if (!*name) /* "/" itself */
        return sa_error_set(SA_ERR_INVALID, "%s names no file", path);
    snprintf(folder, sizeof folder, "%.*s", (int)(name - norm), norm);
    if (!realpath(folder, real))
        return sa_error_set(SA_ERR_NOT_FOUND, "the folder of %s does not exist", path);
    if ((size_t)snprintf(out, cap, "%s/%s", strcmp(real, "/") == 0 ? "" : real, name) >= cap)
        return sa_error_set(SA_ERR_INVALID, "path too long");
    return SA_OK;
}

sa_err srv_path_resolve_new(char *const *dirs, size_t n_dirs, const char *path, char *out, size_t cap) {
    sa_err err = srv_path_real_folder(path, out, cap);
    if (err == SA_ERR_NOT_FOUND) { /* say where it would be, when that is outside */
        char where[PATH_MAX];
        if (resolve_absent(path, where, sizeof where) == SA_OK && !inside_any(dirs, n_dirs, where))
            return sa_error_set(SA_ERR_DENIED, "%s is outside the data folder", path);
        return sa_error_set(SA_ERR_NOT_FOUND, "the folder of %s does not exist", path);
    }
    if (err)
        return err;
    /* the folder must lie inside: "DATA/." names DATA itself, which is not a file in it */
    char *slash = strrchr(out, '/');
    char folder[PATH_MAX];
    snprintf(folder, sizeof folder, "%.*s", slash == out ? 1 : (int)(slash - out), out);
    if (!inside_any(dirs, n_dirs, folder))
        return sa_error_set(SA_ERR_DENIED, "%s is outside the data folder", path);
    return SA_OK;
}

const char *srv_content_type(const char *path) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"mp3", "audio/mpeg"},  {"flac", "audio/flac"}, {"ogg", "audio/ogg"},   {"oga", "audio/ogg"},
        {"opus", "audio/ogg"},  {"m4a", "audio/mp4"},   {"m4b", "audio/mp4"},   {"mp4", "audio/mp4"},
        {"aac", "audio/aac"},   {"wav", "audio/wav"},   {"aif", "audio/aiff"},  {"aiff", "audio/aiff"},
        {"webm", "audio/webm"}, {"mka", "audio/x-matroska"}, {"wma", "audio/x-ms-wma"},
        {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
        {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"ico", "image/x-icon"},
        {"webp", "image/webp"}, {"woff2", "font/woff2"}, {"woff", "font/woff"},
    };
    const char *name = srv_base_name(path);
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (strcasecmp(dot + 1, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Reads an unsigned decimal at *s (digits only, no sign); -1 when none or too large. */
static int read_u64(const char **s, uint64_t *out) {
    const char *p = *s;
    if (!isdigit((unsigned char)*p))
        return -1;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return 0;
}

int srv_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *len) {
    if (!header)
        return 1;
    const char *s = header + strspn(header, " \t");
    if (strncasecmp(s, "bytes", 5) != 0)
        return 1;
    s += 5;
    s += strspn(s, " \t");
    if (*s++ != '=')
        return 1;
    s += strspn(s, " \t");
    if (strchr(s, ','))
        return 1; /* several ranges: the whole body is a valid answer */
    uint64_t first = 0, last = 0;
    int has_first = read_u64(&s, &first) == 0;
    if (*s++ != '-')
        return 1;
    int has_last = read_u64(&s, &last) == 0;
    s += strspn(s, " \t");
    if (*s || (!has_first && !has_last) || (has_first && has_last && last < first))
        return 1;
    if (!has_first) { /* the last `last` bytes */
        if (last == 0 || size == 0)
            return -1;
        *len = last < size ? last : size;
        *start = size - *len;
        return 0;
    }
    if (first >= size)
        return -1;
    if (!has_last || last >= size)
        last = size - 1;
    *start = first;
    *len = last - first + 1;
    return 0;
}

/* musicnn_model.c: finding, loading and checking MusiCNN weights ("MCNW" v1).
 *
 * File layout (little-endian, no padding): "MCNW", uint32 version 1, uint32
 * tensor count 64, then per tensor, sorted by name: uint32 name length, the
 * name (a TF variable name such as "conv2d_5/kernel"), uint32 ndim, uint32
 * dims[ndim], float32 data in C order. The loader accepts exactly the 64
 * tensors of MusiCNN in that order with their shapes, so a file of another
 * model, a truncated one or one with extra bytes fails with a message that
 * says which tensor is wrong. At load the batch norms become one scale and
 * shift per channel, and the batch norm on the pooled features is folded
 * into the dense layer after it (nothing non-linear lies between them). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/musicnn.h"

#define BN(s, c)                                                                                                \
    {s "/beta", 1, {c}}, {s "/gamma", 1, {c}}, {s "/moving_mean", 1, {c}}, {s "/moving_variance", 1, {c}}
#define CONV(s, kh, kw, cin, cout) {s "/bias", 1, {cout}}, {s "/kernel", 4, {kh, kw, cin, cout}}
#define DENSE(s, in, out) {s "/bias", 1, {out}}, {s "/kernel", 2, {in, out}}

const mc_tensor_spec mc_tensor_specs[MC_TENSORS] = {
    BN("batch_normalization", 1),     BN("batch_normalization_1", 204), BN("batch_normalization_10", 200),
    BN("batch_normalization_2", 204), BN("batch_normalization_3", 51),  BN("batch_normalization_4", 51),
    BN("batch_normalization_5", 51),  BN("batch_normalization_6", 64),  BN("batch_normalization_7", 64),
    BN("batch_normalization_8", 64),  BN("batch_normalization_9", 1506),
    CONV("conv2d", 7, 38, 1, 204),    CONV("conv2d_1", 7, 67, 1, 204),  CONV("conv2d_2", 128, 1, 1, 51),
    CONV("conv2d_3", 64, 1, 1, 51),   CONV("conv2d_4", 32, 1, 1, 51),   CONV("conv2d_5", 7, 561, 1, 64),
    CONV("conv2d_6", 7, 64, 1, 64),   CONV("conv2d_7", 7, 64, 1, 64),
    DENSE("dense", 1506, 200),        DENSE("dense_1", 200, 50),
};

static const char MAGIC[4] = {'M', 'C', 'N', 'W'};
static const float BN_EPSILON = 1e-3f;

static size_t tensor_size(const mc_tensor_spec *s) {
    size_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= (size_t)s->dims[d];
    return n;
}

/* A bounded reader over the file's bytes that names the file when it runs out. */
typedef struct reader {
    const unsigned char *p, *end;
    const char *path;
} reader;

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static sa_err read_u32(reader *r, uint32_t *v, const char *what) {
    if (r->end - r->p < 4)
        return sa_error_set(SA_ERR_FORMAT, "%s: truncated: the file ends in %s", r->path, what);
    *v = le32(r->p);
    r->p += 4;
    return SA_OK;
}

static sa_err read_file(const char *path, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return sa_error_set(errno == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "%s: %s", path, strerror(errno));
    sa_err err = SA_OK;
    long len = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        err = sa_error_set(SA_ERR_IO, "%s: cannot tell its size: %s", path, strerror(errno));
    unsigned char *buf = err ? NULL : malloc((size_t)len + 1);
    if (!err && !buf)
        err = sa_error_set(SA_ERR_NOMEM, "%s: %ld bytes", path, len);
    if (!err && fread(buf, 1, (size_t)len, f) != (size_t)len)
        err = sa_error_set(SA_ERR_IO, "%s: read failed", path);
    fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    buf[len] = '\0'; /* lets a text file be read as a string */
    *data = buf;
    *size = (size_t)len;
    return SA_OK;
}

/* Reads tensor i's header and checks it against the spec, then its data. */
static sa_err read_tensor(reader *r, int i, float *data) {
    const mc_tensor_spec *s = &mc_tensor_specs[i];
    uint32_t len = 0, ndim = 0;
    char what[96];
    snprintf(what, sizeof what, "the header of tensor %d (%s)", i, s->name);
    sa_err err = read_u32(r, &len, what);
    if (err)
        return err;
    if ((size_t)(r->end - r->p) < len)
        return sa_error_set(SA_ERR_FORMAT, "%s: truncated: the file ends in %s", r->path, what);
    if (len != strlen(s->name) || memcmp(r->p, s->name, len) != 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: tensor %d is \"%.*s\" where MusiCNN has \"%s\"", r->path, i,
                            (int)(len < 64 ? len : 64), (const char *)r->p, s->name);
    r->p += len;
    if ((err = read_u32(r, &ndim, what)))
        return err;
    char got[96] = "", want[96] = "";
    int same = ndim == (uint32_t)s->ndim, at = 0;
    for (uint32_t d = 0; d < ndim && d < 8; d++) {
        uint32_t dim = 0;
        if ((err = read_u32(r, &dim, what)))
            return err;
        same = same && dim == (uint32_t)s->dims[d];
        at += snprintf(got + at, sizeof got - (size_t)at, "%s%u", d ? "," : "", dim);
    }
    if (!same) {
        for (int d = 0, k = 0; d < s->ndim; d++)
            k += snprintf(want + k, sizeof want - (size_t)k, "%s%d", d ? "," : "", s->dims[d]);
        return sa_error_set(SA_ERR_FORMAT, "%s: tensor %s has shape [%s%s] where MusiCNN's is [%s]", r->path,
                            s->name, got, ndim > 8 ? ",..." : "", want);
    }
    const size_t n = tensor_size(s);
    if ((size_t)(r->end - r->p) / 4 < n)
        return sa_error_set(SA_ERR_FORMAT, "%s: truncated: the file ends in the data of tensor %s", r->path,
                            s->name);
    const int variance = strstr(s->name, "/moving_variance") != NULL;
    for (size_t k = 0; k < n; k++, r->p += 4) {
        uint32_t bits = le32(r->p);
        memcpy(&data[k], &bits, sizeof bits);
        if (!isfinite(data[k]) || (variance && data[k] < 0.0f))
            return sa_error_set(SA_ERR_FORMAT, "%s: tensor %s holds %g at %zu", r->path, s->name, (double)data[k],
                                k);
    }
    return SA_OK;
}

static sa_err parse_weights(const char *path, const unsigned char *buf, size_t size, float *tensors,
                            float **at) {
    reader r = {buf, buf + size, path};
    if (size < sizeof MAGIC || memcmp(buf, MAGIC, sizeof MAGIC) != 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: not a MusiCNN weights file (no \"MCNW\" at the start)", path);
    r.p += sizeof MAGIC;
    uint32_t version = 0, count = 0;
    sa_err err = read_u32(&r, &version, "the header");
    if (!err && version != 1)
        err = sa_error_set(SA_ERR_UNSUPPORTED, "%s: MCNW version %u; this build reads version 1", path, version);
    if (!err)
        err = read_u32(&r, &count, "the header");
    if (!err && count != MC_TENSORS)
        err = sa_error_set(SA_ERR_FORMAT, "%s: %u tensors where MusiCNN has %d", path, count, MC_TENSORS);
    for (int i = 0; !err && i < MC_TENSORS; i++) {
        at[i] = tensors;
        err = read_tensor(&r, i, tensors);
        tensors += tensor_size(&mc_tensor_specs[i]);
    }
    if (!err && r.p != r.end)
        err = sa_error_set(SA_ERR_FORMAT, "%s: %zu unexpected bytes after the last tensor", path,
                           (size_t)(r.end - r.p));
    return err;
}

static float *tensor(float *const *at, const char *name) {
    for (int i = 0; i < MC_TENSORS; i++)
        if (strcmp(mc_tensor_specs[i].name, name) == 0)
            return at[i];
    return NULL; /* not reached: every name asked for is in the table */
}

/* Folds batch norm `scope` into scale and shift (c channels each). */
static void fold_bn(float *const *at, const char *scope, int c, float *scale, float *shift) {
    char name[64];
    snprintf(name, sizeof name, "%s/gamma", scope);
    const float *gamma = tensor(at, name);
    snprintf(name, sizeof name, "%s/beta", scope);
    const float *beta = tensor(at, name);
    snprintf(name, sizeof name, "%s/moving_mean", scope);
    const float *mean = tensor(at, name);
    snprintf(name, sizeof name, "%s/moving_variance", scope);
    const float *var = tensor(at, name);
    for (int i = 0; i < c; i++) {
        scale[i] = gamma[i] / sqrtf(var[i] + BN_EPSILON);
        shift[i] = beta[i] - mean[i] * scale[i];
    }
}

/* Sets up conv block `index` (TF scope conv2d_<index>) with batch norm bn;
 * takes 2 * cout floats of *derived, 3 * cout for the front end. A
 * front-end block is followed by a maximum over mel of BN(ReLU(conv)),
 * which is at the minimum of the conv where the BN's scale is negative:
 * those kernel columns are negated here, so that the network takes one
 * maximum everywhere and multiplies it by sign = -1 there. */
static void setup_conv(float *const *at, mc_conv *L, int index, const char *bn, float **derived) {
    char name[64];
    snprintf(name, sizeof name, index ? "conv2d_%d/kernel" : "conv2d/kernel", index);
    float *kernel = NULL;
    for (int i = 0; i < MC_TENSORS; i++)
        if (strcmp(mc_tensor_specs[i].name, name) == 0) {
            kernel = at[i];
            L->bias = at[i - 1]; /* "bias" sorts just before "kernel" */
            L->kh = mc_tensor_specs[i].dims[0];
            L->kw = mc_tensor_specs[i].dims[1] * mc_tensor_specs[i].dims[2];
            L->cout = mc_tensor_specs[i].dims[3];
        }
    const int co = L->cout;
    float *scale = *derived, *shift = scale + co;
    fold_bn(at, bn, co, scale, shift);
    L->kernel = kernel;
    L->scale = scale;
    L->shift = shift;
    L->sign = NULL;
    *derived += 2 * co;
    if (index < 5) {
        float *sign = *derived;
        for (int c = 0; c < co; c++) {
            sign[c] = scale[c] < 0.0f ? -1.0f : 1.0f;
            for (int k = 0; k < L->kh * L->kw && sign[c] < 0.0f; k++)
                kernel[(size_t)k * co + c] = -kernel[(size_t)k * co + c];
        }
        L->sign = sign;
        *derived += co;
    }
}

static sa_err build_model(sa_musicnn *m, float *const *at) {
    const int E = SA_MUSICNN_EMBEDDING;
    /* per conv: scale, shift (and sign in the front end); pooled BN (scratch) + folded dense; embedding BN */
    size_t n = 3 * MC_FRONT + 2 * 3 * MC_MID + 2 * MC_POOLED + (size_t)MC_POOLED * E + E + 2 * E;
    float *d = m->derived = malloc(n * sizeof(float));
    if (!d)
        return sa_error_set(SA_ERR_NOMEM, "tagger weights");
    fold_bn(at, "batch_normalization", 1, &m->bn0_scale, &m->bn0_shift);
    static const char *const bns[8] = {"batch_normalization_1", "batch_normalization_2", "batch_normalization_3",
                                       "batch_normalization_4", "batch_normalization_5", "batch_normalization_6",
                                       "batch_normalization_7", "batch_normalization_8"};
    mc_conv *convs[8] = {&m->timbral[0], &m->timbral[1], &m->temporal[0], &m->temporal[1],
                         &m->temporal[2], &m->mid[0],     &m->mid[1],      &m->mid[2]};
    for (int i = 0; i < 8; i++)
        setup_conv(at, convs[i], i, bns[i], &d);
    /* dense(BN9(v)) = v . (scale W) + (b + shift . W) */
    float *scale = d, *shift = d + MC_POOLED;
    fold_bn(at, "batch_normalization_9", MC_POOLED, scale, shift);
    const float *w = tensor(at, "dense/kernel"), *b = tensor(at, "dense/bias");
    float *dw = d + 2 * MC_POOLED, *db = dw + (size_t)MC_POOLED * E;
    for (int j = 0; j < E; j++) {
        double sum = b[j];
        for (int i = 0; i < MC_POOLED; i++)
            sum += (double)shift[i] * w[(size_t)i * E + j];
        db[j] = (float)sum;
    }
    for (int i = 0; i < MC_POOLED; i++)
        for (int j = 0; j < E; j++)
            dw[(size_t)i * E + j] = scale[i] * w[(size_t)i * E + j];
    m->dense_w = dw;
    m->dense_b = db;
    float *es = db + E;
    fold_bn(at, "batch_normalization_10", E, es, es + E);
    m->emb_scale = es;
    m->emb_shift = es + E;
    m->out_w = tensor(at, "dense_1/kernel");
    m->out_b = tensor(at, "dense_1/bias");
    return SA_OK;
}

/* Reads the tag names, one a line, from the file beside the weights. */
static sa_err load_tags(sa_musicnn *m, const char *path) {
    size_t size;
    unsigned char *text;
    sa_err err = read_file(path, &text, &size);
    if (err)
        return sa_error_set(err, "tag names of the model: %s", sa_error_detail());
    m->tag_text = (char *)text;
    int n = 0;
    for (char *line = m->tag_text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!*line || n == SA_MUSICNN_TAGS)
            return sa_error_set(SA_ERR_FORMAT, "%s: %s where %d tag names, one a line, were expected", path,
                                *line ? "more lines" : "an empty line", SA_MUSICNN_TAGS);
        m->tags[n++] = line;
        line = nl ? nl + 1 : line + strlen(line);
    }
    if (n != SA_MUSICNN_TAGS)
        return sa_error_set(SA_ERR_FORMAT, "%s: %d tag names where the model has %d", path, n, SA_MUSICNN_TAGS);
    return SA_OK;
}

static sa_err load_weights(sa_musicnn *m, const char *path) {
    unsigned char *buf;
    size_t size, total = 0;
    sa_err err = read_file(path, &buf, &size);
    if (err)
        return err;
    for (int i = 0; i < MC_TENSORS; i++)
        total += tensor_size(&mc_tensor_specs[i]);
    float *at[MC_TENSORS];
    m->tensors = malloc(total * sizeof(float));
    if (!m->tensors)
        err = sa_error_set(SA_ERR_NOMEM, "%s: %zu weights", path, total);
    if (!err)
        err = parse_weights(path, buf, size, m->tensors, at);
    free(buf);
    return err ? err : build_model(m, at);
}

sa_err sa_musicnn_load(const char *weights_path, sa_musicnn **out) {
    sa_musicnn *m = calloc(1, sizeof *m);
    if (!m)
        return sa_error_set(SA_ERR_NOMEM, "tagger");
    m->patches = SA_MUSICNN_DEFAULT_PATCHES;
    /* the name is the file's without folder and ".weights"; the tags are <name>.tags.txt beside it */
    const char *base = strrchr(weights_path, '/');
    base = base ? base + 1 : weights_path;
    size_t stem = strlen(weights_path), suffix = strlen(".weights");
    if (stem > suffix && strcmp(weights_path + stem - suffix, ".weights") == 0)
        stem -= suffix;
    size_t name_len = stem - (size_t)(base - weights_path);
    char *tags_path = malloc(stem + sizeof ".tags.txt");
    m->name = malloc(name_len + 1);
    sa_err err = (tags_path && m->name) ? SA_OK : sa_error_set(SA_ERR_NOMEM, "tagger");
    if (!err) {
        memcpy(m->name, base, name_len);
        m->name[name_len] = '\0';
        memcpy(tags_path, weights_path, stem);
        strcpy(tags_path + stem, ".tags.txt");
        err = load_weights(m, weights_path);
    }
    if (!err)
        err = load_tags(m, tags_path);
    free(tags_path);
    if (err) {
        sa_musicnn_free(m);
        return err;
    }
    *out = m;
    return SA_OK;
}

void sa_musicnn_free(sa_musicnn *m) {
    if (!m)
        return;
    free(m->name);
    free(m->tag_text);
    free(m->tensors);
    free(m->derived);
    free(m);
}

const char *sa_musicnn_name(const sa_musicnn *m) { return m->name; }

const char *sa_musicnn_tag(const sa_musicnn *m, int i) {
    return i >= 0 && i < SA_MUSICNN_TAGS ? m->tags[i] : NULL;
}

sa_err sa_musicnn_set_patches(sa_musicnn *m, int patches) {
    if (patches < 0)
        return sa_error_set(SA_ERR_INVALID, "tagger: %d patches", patches);
    m->patches = patches;
    return SA_OK;
}

int sa_musicnn_patches(const sa_musicnn *m) { return m->patches; }

sa_err sa_musicnn_run_patches(const sa_musicnn *m, const float *logmel, size_t n, float *tags, float *embedding) {
    mc_work *w;
    sa_err err = mc_work_new(MC_BATCH, &w);
    if (err)
        return err;
    const size_t patch = (size_t)SA_MUSICNN_PATCH_FRAMES * SA_MUSICNN_MELS;
    for (size_t i = 0; i < n; i += MC_BATCH) {
        size_t k = n - i < MC_BATCH ? n - i : MC_BATCH;
        mc_network_run(m, w, logmel + i * patch, k, tags ? tags + i * SA_MUSICNN_TAGS : NULL,
                       embedding ? embedding + i * SA_MUSICNN_EMBEDDING : NULL);
    }
    mc_work_free(w);
    return SA_OK;
}

/* Writes dir/name.weights into path when that file exists; appends the
 * place to `looked` either way. */
static int try_dir(const char *dir, const char *name, char *path, size_t cap, char *looked, size_t looked_cap) {
    size_t used = strlen(looked);
    /* the list only goes into a message, where a cut one will do */
    if (snprintf(looked + used, looked_cap - used, "%s%s", used ? ", " : "", dir) < 0)
        looked[used] = '\0';
    int n = snprintf(path, cap, "%s/%s.weights", dir, name);
    return n > 0 && (size_t)n < cap && access(path, R_OK) == 0;
}

sa_err sa_musicnn_find_model(const char *model_dir, const char *model_name, char *path, size_t cap) {
    const char *name = model_name ? model_name : "msd-musicnn";
    if (!*name || strchr(name, '/'))
        return sa_error_set(SA_ERR_INVALID, "bad model name \"%s\"", name);
    char looked[4096] = "", dir[PATH_MAX + 64];
    const char *env = getenv("SOUNDALIKE_MODEL_DIR");
    /* a folder that was asked for is the only place looked at */
    const char *only = model_dir ? model_dir : (env && *env ? env : NULL);
    if (only) {
        if (try_dir(only, name, path, cap, looked, sizeof looked))
            return SA_OK;
    } else {
        const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(dir, sizeof dir, "%s/soundalike/models", xdg);
        else
            snprintf(dir, sizeof dir, "%s/.local/share/soundalike/models", home ? home : "");
        if (try_dir(dir, name, path, cap, looked, sizeof looked))
            return SA_OK;
        if (try_dir("../shared/models/musicnn", name, path, cap, looked, sizeof looked))
            return SA_OK;
        char exe[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len > 0) {
            exe[len] = '\0';
            char *slash = strrchr(exe, '/'); /* the executable's folder ... */
            if (slash)
                *slash = '\0';
            slash = strrchr(exe, '/'); /* ... and its parent */
            if (slash) {
                *slash = '\0';
                snprintf(dir, sizeof dir, "%s/../shared/models/musicnn", exe);
                if (try_dir(dir, name, path, cap, looked, sizeof looked))
                    return SA_OK;
            }
        }
    }
    return sa_error_set(SA_ERR_NOT_FOUND, "no %s.weights in %s", name, looked);
}

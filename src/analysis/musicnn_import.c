/* musicnn_import.c: converting the Keras HDF5 re-export of MusiCNN's weights to MCNW.
 *
 * musicnn_keras's MSD_musicnn.h5 / MTT_musicnn.h5 store each tensor as
 * model_weights/<layer>/<layer>/<var>:0 (float32, TF's shape and byte
 * order). The Keras layer names are TF's except for the mid-end and the
 * back-end batch norms (table below), and some variable names carry a "_1"
 * suffix. Every dataset must map to one of MusiCNN's 64 tensors with its
 * shape; the MCNW file then lists them in the loader's (sorted) order, so
 * the output is byte-identical to the distributed .weights files. Uses
 * HDF5's error reporting silenced for the call; not thread-safe (Debian's
 * HDF5 is built without thread safety). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "analysis/musicnn.h"

static const char *const RENAMED[][2] = {
    {"midend_conv1", "conv2d_5"},
    {"midend_conv2", "conv2d_6"},
    {"midend_conv3", "conv2d_7"},
    {"bn_midend_conv1", "batch_normalization_6"},
    {"bn_midend_conv2", "batch_normalization_7"},
    {"bn_midend_conv3", "batch_normalization_8"},
    {"bn_flatpool", "batch_normalization_9"},
    {"bn_dense", "batch_normalization_10"},
};

typedef struct import_state {
    const char *path;
    float *data[MC_TENSORS]; /* NULL until found */
    sa_err err;
} import_state;

/* The TF variable name of dataset "<layer>/<layer>/<var>:0", or "" when the
 * path does not have that form. */
static void tf_name(const char *path, char *out, size_t cap) {
    out[0] = '\0';
    const char *a = strchr(path, '/'), *b = a ? strchr(a + 1, '/') : NULL;
    if (!b || strchr(b + 1, '/'))
        return;
    size_t layer_len = (size_t)(a - path);
    char layer[128], var[128];
    if (layer_len >= sizeof layer || strlen(b + 1) >= sizeof var)
        return;
    memcpy(layer, path, layer_len);
    layer[layer_len] = '\0';
    strcpy(var, b + 1);
    size_t n = strlen(var);
    if (n < 2 || strcmp(var + n - 2, ":0") != 0)
        return;
    var[n -= 2] = '\0';
    if (n > 2 && strcmp(var + n - 2, "_1") == 0)
        var[n - 2] = '\0';
    const char *mapped = layer;
    for (size_t i = 0; i < sizeof RENAMED / sizeof RENAMED[0]; i++)
        if (strcmp(layer, RENAMED[i][0]) == 0)
            mapped = RENAMED[i][1];
    snprintf(out, cap, "%s/%s", mapped, var);
}

static size_t spec_size(const mc_tensor_spec *s) {
    size_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= (size_t)s->dims[d];
    return n;
}

/* Reads dataset `name` (relative to g) as tensor i after checking its type and shape. */
static sa_err read_dataset(import_state *st, hid_t g, const char *name, int i) {
    const mc_tensor_spec *s = &mc_tensor_specs[i];
    if (st->data[i])
        return sa_error_set(SA_ERR_FORMAT, "%s: two datasets give tensor %s", st->path, s->name);
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0)
        return sa_error_set(SA_ERR_FORMAT, "%s: cannot open dataset %s", st->path, name);
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    hsize_t dims[MC_MAX_DIMS + 1];
    int ndim = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    int same = type >= 0 && H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 4 && ndim == s->ndim;
    if (same && H5Sget_simple_extent_dims(space, dims, NULL) == ndim)
        for (int d = 0; d < ndim; d++)
            same = same && dims[d] == (hsize_t)s->dims[d];
    else
        same = 0;
    sa_err err = SA_OK;
    if (!same)
        err = sa_error_set(SA_ERR_FORMAT, "%s: dataset %s is not float32 of MusiCNN's shape for %s", st->path, name,
                           s->name);
    if (!err && !(st->data[i] = malloc(spec_size(s) * sizeof(float))))
        err = sa_error_set(SA_ERR_NOMEM, "%s: tensor %s", st->path, s->name);
    if (!err && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, st->data[i]) < 0)
        err = sa_error_set(SA_ERR_FORMAT, "%s: cannot read dataset %s", st->path, name);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(ds);
    return err;
}

static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    import_state *st = data;
    (void)info;
    hid_t obj = H5Oopen(g, name, H5P_DEFAULT);
    if (obj < 0) {
        st->err = sa_error_set(SA_ERR_FORMAT, "%s: cannot open model_weights/%s", st->path, name);
        return -1;
    }
    H5I_type_t kind = H5Iget_type(obj);
    H5Oclose(obj);
    if (kind != H5I_DATASET)
        return 0;
    char tf[300];
    tf_name(name, tf, sizeof tf);
    for (int i = 0; i < MC_TENSORS; i++)
        if (strcmp(mc_tensor_specs[i].name, tf) == 0) {
            st->err = read_dataset(st, g, name, i);
            return st->err ? -1 : 0;
        }
    st->err = sa_error_set(SA_ERR_FORMAT, "%s: dataset model_weights/%s is no MusiCNN tensor", st->path, name);
    return -1;
}

static sa_err read_h5(import_state *st) {
    hid_t file = H5Fopen(st->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        int readable = access(st->path, R_OK) == 0, e = errno;
        if (readable)
            return sa_error_set(SA_ERR_FORMAT, "%s: not an HDF5 file", st->path);
        return sa_error_set(e == ENOENT ? SA_ERR_NOT_FOUND : SA_ERR_IO, "%s: %s", st->path, strerror(e));
    }
    hid_t g = H5Gopen2(file, "model_weights", H5P_DEFAULT);
    if (g < 0)
        st->err = sa_error_set(SA_ERR_FORMAT, "%s: no model_weights group (not a Keras weights file)", st->path);
    else if (H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, visit, st) < 0 && !st->err)
        st->err = sa_error_set(SA_ERR_FORMAT, "%s: cannot walk model_weights", st->path);
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(file);
    for (int i = 0; !st->err && i < MC_TENSORS; i++)
        if (!st->data[i])
            st->err =
                sa_error_set(SA_ERR_FORMAT, "%s: MusiCNN tensor %s is missing", st->path, mc_tensor_specs[i].name);
    return st->err;
}

static int put_u32(FILE *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

static int write_mcnw(FILE *f, float *const *data) {
    int bad = fwrite("MCNW", 1, 4, f) != 4 || put_u32(f, 1) || put_u32(f, MC_TENSORS);
    for (int i = 0; !bad && i < MC_TENSORS; i++) {
        const mc_tensor_spec *s = &mc_tensor_specs[i];
        size_t len = strlen(s->name);
        bad = put_u32(f, (uint32_t)len) || fwrite(s->name, 1, len, f) != len || put_u32(f, (uint32_t)s->ndim);
        for (int d = 0; !bad && d < s->ndim; d++)
            bad = put_u32(f, (uint32_t)s->dims[d]);
        for (size_t k = 0; !bad && k < spec_size(s); k++) {
            uint32_t bits;
            memcpy(&bits, &data[i][k], sizeof bits);
            bad = put_u32(f, bits);
        }
    }
    return bad ? -1 : 0;
}

static sa_err write_file(const char *path, float *const *data) {
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp-XXXXXX");
    if (!tmp)
        return sa_error_set(SA_ERR_NOMEM, "%s", path);
    memcpy(tmp, path, len);
    strcpy(tmp + len, ".tmp-XXXXXX");
    int fd = mkstemp(tmp);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    sa_err err = SA_OK;
    if (!f) {
        err = sa_error_set(SA_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
    } else {
        int bad = write_mcnw(f, data);
        if (fclose(f) != 0 || bad)
            err = sa_error_set(SA_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
        if (!err && rename(tmp, path) != 0)
            err = sa_error_set(SA_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
        if (err)
            unlink(tmp);
    }
    free(tmp);
    return err;
}

sa_err sa_musicnn_import_h5(const char *h5_path, const char *weights_path) {
    import_state st = {.path = h5_path};
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* failures are reported through sa_error_set */
    sa_err err = read_h5(&st);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    if (!err)
        err = write_file(weights_path, st.data);
    for (int i = 0; i < MC_TENSORS; i++)
        free(st.data[i]);
    return err;
}

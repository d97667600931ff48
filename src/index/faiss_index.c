/* faiss_index.c: the FAISS-backed types behind index.h.
 *
 * The named types ("faiss-ivf", "ivfsq", "ivfpq", "hnsw") become factory strings
 * sized from the library; any other type is a factory string as given.
 * Labels: an index that can remove (IVF, or others inside IndexIDMap2)
 * holds the track ids themselves. One that cannot (HNSW) is given labels
 * 0, 1, 2, ... in order of addition; this file keeps each label's track id
 * and marks the labels of removed or replaced tracks, which searches skip
 * (a track re-added after removal gets a new label, so the two never mix).
 * Exclusion and skipped labels are handled by asking FAISS for more hits
 * than wanted, and twice as many again while too few survive. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/faiss_bridge.h"
#include "index/idmap.h"
#include "index/internal.h"

typedef enum family { FAMILY_FACTORY, FAMILY_IVF, FAMILY_IVFSQ, FAMILY_IVFPQ, FAMILY_HNSW } family;

static const char *const family_names[] = {"", "faiss-ivf", "ivfsq", "ivfpq", "hnsw"};

enum {
    DEFAULT_M = 32,
    DEFAULT_EF_CONSTRUCTION = 80,
    DEFAULT_EF_SEARCH = 64,
    PQ_DIMS_PER_SUBQUANTIZER = 4,
    FAISS_BODY_HEADER = 16, /* label mode, FAISS dimension, label count */
};

typedef struct faiss_index {
    sa_index base;
    sa_fb *fb;
    family fam;
    int fdim;                          /* FAISS's dimension: dim, zero-padded for ivfpq */
    size_t expected;                   /* library size given at creation */
    char factory[128];                 /* what fb was made from */
    int m, ef_construction, ef_search; /* HNSW settings, kept to re-create fb */
    int nlist, nprobe;                 /* IVF settings; 0: from the library size */
    sa_idmap live;                     /* id -> label (SA_FB_KEYS); id -> 0 (SA_FB_IDS) */
    int64_t *key_ids;                  /* SA_FB_KEYS: the track id of each label */
    unsigned char *dead;               /* SA_FB_KEYS: 1 for labels no longer live */
    size_t nkeys, kcap;
} faiss_index;

static faiss_index *faiss_of(const sa_index *idx) { return (faiss_index *)idx; }

static bool by_label(const faiss_index *f) { return sa_fb_label_mode(f->fb) == SA_FB_KEYS; }

/* ---- sizing ---- */

static family family_of(const char *type) {
    for (int i = FAMILY_IVF; i <= FAMILY_HNSW; i++)
        if (strcmp(type, family_names[i]) == 0)
            return (family)i;
    return FAMILY_FACTORY;
}

/* Bits per PQ code: 8 (256 centroids per sub-quantiser) when there are
 * enough training points for them, fewer for a small library. */
static int pq_bits(size_t n) {
    int bits = 8;
    while (bits > 4 && ((size_t)39 << bits) > n)
        bits--;
    return bits;
}

static void factory_of(const faiss_index *f, size_t n, char *buf, size_t cap) {
    size_t nlist = f->nlist ? (size_t)f->nlist : sa_index_auto_nlist(n);
    switch (f->fam) {
    case FAMILY_IVF: snprintf(buf, cap, "IVF%zu,Flat", nlist); break;
    case FAMILY_IVFSQ: snprintf(buf, cap, "IVF%zu,SQ8", nlist); break;
    case FAMILY_IVFPQ:
        snprintf(buf, cap, "IVF%zu,PQ%dx%dnp", nlist, f->fdim / PQ_DIMS_PER_SUBQUANTIZER, pq_bits(n));
        break;
    case FAMILY_HNSW: snprintf(buf, cap, "HNSW%d,Flat", f->m); break;
    case FAMILY_FACTORY: snprintf(buf, cap, "%s", f->base.type); break;
    }
}

/* (Re)creates the empty FAISS index for a library of n vectors, with the
 * settings made so far (an IVF visits 1/8 of its lists unless told). */
static sa_err create(faiss_index *f, size_t n) {
    char factory[sizeof f->factory];
    factory_of(f, n, factory, sizeof factory);
    sa_fb *fb;
    sa_err err = sa_fb_new(factory, f->fdim, &fb);
    if (err)
        return err;
    size_t nlist = sa_fb_nlist(fb);
    if (sa_fb_is_hnsw(fb)) {
        err = sa_fb_set_param(fb, "efConstruction", f->ef_construction);
        if (!err)
            err = sa_fb_set_param(fb, "efSearch", f->ef_search);
    } else if (nlist > 0) {
        err = sa_fb_set_param(fb, "nprobe", f->nprobe ? f->nprobe : (double)((nlist + 7) / 8));
    }
    if (err) {
        sa_fb_free(fb);
        return err;
    }
    sa_fb_free(f->fb);
    f->fb = fb;
    memcpy(f->factory, factory, sizeof factory);
    return SA_OK;
}

/* ---- the index ---- */

static size_t faiss_count(const sa_index *idx) { return faiss_of(idx)->live.count; }

static bool faiss_is_trained(const sa_index *idx) { return sa_fb_is_trained(faiss_of(idx)->fb); }

/* The n vectors as FAISS wants them: fdim floats each (caller frees). */
static float *to_faiss(const faiss_index *f, const float *v, size_t n) {
    size_t dim = (size_t)f->base.dim, fdim = (size_t)f->fdim;
    float *x = calloc(n, fdim * sizeof *x);
    if (x)
        for (size_t i = 0; i < n; i++)
            memcpy(x + i * fdim, v + i * dim, dim * sizeof *x);
    return x;
}

static sa_err faiss_train(sa_index *idx, const float *vectors, size_t n) {
    faiss_index *f = faiss_of(idx);
    /* the list count follows the library actually given, when it is larger than expected */
    size_t library = f->expected > n ? f->expected : n;
    char factory[sizeof f->factory];
    factory_of(f, library, factory, sizeof factory);
    sa_err err = strcmp(factory, f->factory) != 0 ? create(f, library) : SA_OK;
    float *x = err ? NULL : to_faiss(f, vectors, n);
    if (!err && !x)
        err = sa_error_set(SA_ERR_NOMEM, "training on %zu vectors", n);
    if (!err)
        err = sa_fb_train(f->fb, x, n);
    if (!err)
        f->expected = library;
    free(x);
    return err;
}

static sa_err reserve_labels(faiss_index *f, size_t n) {
    if (n <= f->kcap)
        return SA_OK;
    size_t cap = f->kcap < 64 ? 64 : f->kcap * 2;
    if (cap < n)
        cap = n;
    int64_t *ids = realloc(f->key_ids, cap * sizeof *ids);
    if (ids)
        f->key_ids = ids;
    unsigned char *dead = ids ? realloc(f->dead, cap) : NULL;
    if (!dead)
        return sa_error_set(SA_ERR_NOMEM, "labels of %zu vectors", n);
    f->dead = dead;
    f->kcap = cap;
    return SA_OK;
}

/* Adds m vectors with distinct ids, of which the old ones are already present. */
static sa_err add_by_id(faiss_index *f, const int64_t *ids, const float *x, size_t m, const int64_t *old,
                        size_t n_old) {
    sa_err err = n_old ? sa_fb_remove(f->fb, old, n_old) : SA_OK;
    if (err)
        return err;
    err = sa_fb_add(f->fb, x, m, ids);
    if (err) { /* the replaced vectors are gone from FAISS: say so */
        for (size_t i = 0; i < n_old; i++)
            sa_idmap_remove(&f->live, old[i]);
        return err;
    }
    for (size_t i = 0; i < m; i++)
        sa_idmap_put(&f->live, ids[i], 0);
    return SA_OK;
}

static sa_err add_by_label(faiss_index *f, const int64_t *ids, const float *x, size_t m) {
    sa_err err = reserve_labels(f, f->nkeys + m);
    if (err)
        return err;
    if ((size_t)sa_fb_ntotal(f->fb) != f->nkeys)
        return sa_error_set(SA_ERR_INTERNAL, "FAISS holds %lld vectors, the label table %zu",
                            (long long)sa_fb_ntotal(f->fb), f->nkeys);
    err = sa_fb_add(f->fb, x, m, NULL);
    if (err)
        return err;
    for (size_t i = 0; i < m; i++) {
        size_t label = f->nkeys + i, old;
        if (sa_idmap_find(&f->live, ids[i], &old))
            f->dead[old] = 1;
        f->key_ids[label] = ids[i];
        f->dead[label] = 0;
        sa_idmap_put(&f->live, ids[i], label);
    }
    f->nkeys += m;
    return SA_OK;
}

static sa_err faiss_add(sa_index *idx, const int64_t *ids, const float *vectors, size_t n) {
    faiss_index *f = faiss_of(idx);
    if (n == 0)
        return SA_OK;
    /* FAISS would keep both vectors of an id named twice: the last one wins */
    sa_idmap batch = {0};
    int64_t *uids = malloc(n * sizeof *uids), *old = malloc(n * sizeof *old);
    float *x = to_faiss(f, vectors, n);
    sa_err err = uids && old && x ? sa_idmap_reserve(&batch, n) : sa_error_set(SA_ERR_NOMEM, "adding %zu vectors", n);
    size_t m = 0, n_old = 0;
    for (size_t i = 0; !err && i < n; i++)
        sa_idmap_put(&batch, ids[i], i);
    for (size_t i = 0; !err && i < n; i++) {
        size_t last, at;
        sa_idmap_find(&batch, ids[i], &last);
        if (last != i)
            continue;
        if (sa_idmap_find(&f->live, ids[i], &at))
            old[n_old++] = ids[i];
        /* compact x in place: row m <= row i */
        memmove(x + m * (size_t)f->fdim, x + i * (size_t)f->fdim, (size_t)f->fdim * sizeof *x);
        uids[m++] = ids[i];
    }
    if (!err)
        err = sa_idmap_reserve(&f->live, f->live.count + m);
    if (!err)
        err = by_label(f) ? add_by_label(f, uids, x, m) : add_by_id(f, uids, x, m, old, n_old);
    sa_idmap_free(&batch);
    free(uids);
    free(old);
    free(x);
    return err;
}

static sa_err faiss_remove(sa_index *idx, int64_t id) {
    faiss_index *f = faiss_of(idx);
    size_t label;
    if (!sa_idmap_find(&f->live, id, &label))
        return sa_error_set(SA_ERR_NOT_FOUND, "id %lld is not in the index", (long long)id);
    if (by_label(f)) {
        f->dead[label] = 1;
    } else {
        sa_err err = sa_fb_remove(f->fb, &id, 1);
        if (err)
            return err;
    }
    sa_idmap_remove(&f->live, id);
    return SA_OK;
}

static sa_err faiss_get(const sa_index *idx, int64_t id, float *v) {
    const faiss_index *f = faiss_of(idx);
    size_t label;
    if (!sa_idmap_find(&f->live, id, &label))
        return sa_error_set(SA_ERR_NOT_FOUND, "id %lld is not in the index", (long long)id);
    float *x = malloc((size_t)f->fdim * sizeof *x);
    if (!x)
        return sa_error_set(SA_ERR_NOMEM, "reading a vector");
    sa_err err = sa_fb_reconstruct(f->fb, by_label(f) ? (int64_t)label : id, x);
    if (!err)
        memcpy(v, x, (size_t)f->base.dim * sizeof *v);
    free(x);
    return err;
}

/* Keeps the hits among the first n results that are live and not excluded,
 * up to k; returns how many. */
static sa_err keep_hits(const faiss_index *f, const float *scores, const int64_t *labels, size_t n, size_t k,
                        const int64_t *exclude, size_t n_exclude, sa_hit *out, size_t *kept) {
    *kept = 0;
    for (size_t i = 0; i < n && labels[i] != -1 && *kept < k; i++) {
        int64_t id = labels[i];
        if (by_label(f)) {
            if (labels[i] < 0 || (size_t)labels[i] >= f->nkeys)
                return sa_error_set(SA_ERR_INTERNAL, "FAISS returned label %lld of %zu", (long long)labels[i],
                                    f->nkeys);
            if (f->dead[labels[i]])
                continue;
            id = f->key_ids[labels[i]];
        }
        if (!sa_index_excluded(exclude, n_exclude, id))
            out[(*kept)++] = (sa_hit){id, scores[i]};
    }
    return SA_OK;
}

static sa_err faiss_search(const sa_index *idx, const float *query, size_t k, const int64_t *exclude,
                           size_t n_exclude, const sa_search_params *params, sa_hit *out, size_t *found) {
    const faiss_index *f = faiss_of(idx);
    *found = 0;
    size_t total = (size_t)sa_fb_ntotal(f->fb);
    if (f->live.count == 0 || total == 0)
        return SA_OK;
    float *q = to_faiss(f, query, 1), *scores = NULL;
    int64_t *labels = NULL;
    sa_err err = q ? SA_OK : sa_error_set(SA_ERR_NOMEM, "search query");
    size_t fetch = k + n_exclude < k || k + n_exclude > total ? total : k + n_exclude;
    while (!err) {
        float *s = realloc(scores, fetch * sizeof *s);
        scores = s ? s : scores;
        int64_t *l = s ? realloc(labels, fetch * sizeof *l) : NULL;
        labels = l ? l : labels;
        if (!s || !l) {
            err = sa_error_set(SA_ERR_NOMEM, "search of %zu hits", fetch);
            break;
        }
        err = sa_fb_search(f->fb, q, fetch, params->nprobe, params->ef_search, scores, labels);
        if (!err)
            err = keep_hits(f, scores, labels, fetch, k, exclude, n_exclude, out, found);
        /* done when full, or when FAISS has nothing more to give */
        if (err || *found == k || fetch == total || labels[fetch - 1] == -1)
            break;
        fetch = fetch > total / 2 ? total : fetch * 2;
    }
    free(q);
    free(scores);
    free(labels);
    return err;
}

static bool whole(double v, double lo, double hi) { return v >= lo && v <= hi && v == floor(v); }

/* M and nlist shape the index: they re-create it, so only while it is empty. */
static sa_err set_shape(faiss_index *f, const char *name, double value) {
    bool is_m = strcmp(name, "M") == 0;
    bool ivf = f->fam == FAMILY_IVF || f->fam == FAMILY_IVFSQ || f->fam == FAMILY_IVFPQ;
    if (is_m ? f->fam != FAMILY_HNSW : !ivf)
        return sa_error_set(SA_ERR_INVALID, "an index of type \"%s\" has no settable \"%s\"%s", f->base.type, name,
                            f->fam == FAMILY_FACTORY ? " (set it in the factory string)" : "");
    if (!whole(value, is_m ? 2 : 1, is_m ? 256 : 1 << 24))
        return sa_error_set(SA_ERR_INVALID, "%s = %g is not a sensible whole number", name, value);
    if (f->live.count || sa_fb_ntotal(f->fb) || (!is_m && sa_fb_is_trained(f->fb)))
        return sa_error_set(SA_ERR_CONFLICT, "%s can change only before the index is %s", name,
                            is_m ? "filled" : "built");
    int *field = is_m ? &f->m : &f->nlist, was = *field;
    *field = (int)value;
    sa_err err = create(f, f->expected);
    if (err)
        *field = was;
    return err;
}

static sa_err faiss_set_param(sa_index *idx, const char *name, double value) {
    faiss_index *f = faiss_of(idx);
    if (strcmp(name, "M") == 0 || strcmp(name, "nlist") == 0)
        return set_shape(f, name, value);
    sa_err err = sa_fb_set_param(f->fb, name, value);
    if (err)
        return err;
    /* kept, so that a re-created index (at build) has them too */
    if (strcmp(name, "nprobe") == 0)
        f->nprobe = (int)value;
    else if (strcmp(name, "efSearch") == 0)
        f->ef_search = (int)value;
    else if (strcmp(name, "efConstruction") == 0)
        f->ef_construction = (int)value;
    return SA_OK;
}

/* ---- files: the body is the label mode, the FAISS dimension, the labels
 * (SA_FB_IDS: the live ids; SA_FB_KEYS: each label's id, then a byte per
 * label, 1 when dropped), then FAISS's own serialisation ---- */

static sa_err write_cb(void *ctx, const void *data, size_t n) { return sa_ixwriter_write(ctx, data, n); }

static sa_err read_cb(void *ctx, void *data, size_t n) { return sa_ixreader_read(ctx, data, n, "FAISS data"); }

static sa_err faiss_save(const sa_index *idx, sa_ixwriter *w) {
    const faiss_index *f = faiss_of(idx);
    uint32_t mode = (uint32_t)sa_fb_label_mode(f->fb), fdim = (uint32_t)f->fdim;
    uint64_t n = by_label(f) ? f->nkeys : f->live.count;
    unsigned char head[FAISS_BODY_HEADER];
    memcpy(head, &mode, 4);
    memcpy(head + 4, &fdim, 4);
    memcpy(head + 8, &n, 8);
    sa_err err = sa_ixwriter_write(w, head, sizeof head);
    if (err)
        return err;
    if (by_label(f)) {
        err = sa_ixwriter_write(w, f->key_ids, f->nkeys * sizeof *f->key_ids);
        if (!err)
            err = sa_ixwriter_write(w, f->dead, f->nkeys);
    } else if (f->live.table) {
        for (size_t i = 0; !err && i <= f->live.mask; i++)
            if (f->live.table[i].slot != SIZE_MAX)
                err = sa_ixwriter_write(w, &f->live.table[i].id, sizeof(int64_t));
    }
    return err ? err : sa_fb_write(f->fb, write_cb, w);
}

static sa_err count_cb(void *ctx, const void *data, size_t n) {
    (void)data;
    *(size_t *)ctx += n;
    return SA_OK;
}

static void faiss_info(const sa_index *idx, sa_index_info *out) {
    const faiss_index *f = faiss_of(idx);
    out->stored = (size_t)sa_fb_ntotal(f->fb);
    /* FAISS's serialisation is its data, laid out as in memory */
    size_t bytes = 0;
    if (sa_fb_write(f->fb, count_cb, &bytes) != SA_OK)
        bytes = 0;
    out->memory_bytes = bytes + f->kcap * (sizeof *f->key_ids + 1) +
                        (f->live.table ? (f->live.mask + 1) * sizeof(sa_idmap_entry) : 0);
    out->nlist = (int)sa_fb_nlist(f->fb);
    out->trained_for = out->nlist && sa_fb_is_trained(f->fb) ? f->expected : 0;
    sa_fb_settings st;
    sa_fb_settings_get(f->fb, &st);
    out->nprobe = st.nprobe;
    out->m = st.m;
    out->ef_search = st.ef_search;
    out->ef_construction = st.ef_construction;
    /* a loaded index was not made from a factory string here: its type says what it is */
    snprintf(out->detail, sizeof out->detail, "FAISS %.100s", f->factory[0] != '(' ? f->factory : f->base.type);
}

static void faiss_free(sa_index *idx) {
    faiss_index *f = faiss_of(idx);
    sa_fb_free(f->fb);
    sa_idmap_free(&f->live);
    free(f->key_ids);
    free(f->dead);
    free(f);
}

static const sa_index_ops faiss_ops = {
    .count = faiss_count,
    .add = faiss_add,
    .remove = faiss_remove,
    .get = faiss_get,
    .search = faiss_search,
    .info = faiss_info,
    .is_trained = faiss_is_trained,
    .train = faiss_train,
    .set_param = faiss_set_param,
    .save = faiss_save,
    .free = faiss_free,
};

/* An index with its settings but no FAISS index yet. */
static sa_err alloc_index(const char *type, int dim, size_t expected, faiss_index **out) {
    if (dim < 1 || dim > SA_IXFILE_DIM_MAX)
        return sa_error_set(SA_ERR_INVALID, "index dimension %d out of range (1..%d)", dim, SA_IXFILE_DIM_MAX);
    size_t tlen = strlen(type);
    if (tlen == 0 || tlen > SA_IXFILE_TYPE_MAX)
        return sa_error_set(SA_ERR_INVALID, "index type \"%s\" must have 1 to %d characters", type,
                            SA_IXFILE_TYPE_MAX);
    faiss_index *f = calloc(1, sizeof *f);
    if (!f)
        return sa_error_set(SA_ERR_NOMEM, "index of type %s", type);
    f->base = (sa_index){.ops = &faiss_ops, .dim = dim, .file_kind = SA_IXFILE_FAISS};
    memcpy(f->base.type, type, tlen + 1);
    f->fam = family_of(type);
    f->fdim = f->fam == FAMILY_IVFPQ ? (dim + PQ_DIMS_PER_SUBQUANTIZER - 1) / PQ_DIMS_PER_SUBQUANTIZER *
                                           PQ_DIMS_PER_SUBQUANTIZER
                                     : dim;
    f->expected = expected;
    f->m = DEFAULT_M;
    f->ef_construction = DEFAULT_EF_CONSTRUCTION;
    f->ef_search = DEFAULT_EF_SEARCH;
    *out = f;
    return SA_OK;
}

sa_err sa_faiss_new(const char *type, int dim, size_t expected_count, sa_index **out) {
    faiss_index *f = NULL;
    sa_err err = alloc_index(type, dim, expected_count, &f);
    if (err)
        return err;
    err = create(f, expected_count);
    if (err) {
        faiss_free(&f->base);
        return err;
    }
    *out = &f->base;
    return SA_OK;
}

/* Reads the label table into f; sizes were checked against the file. */
static sa_err load_labels(sa_ixreader *r, faiss_index *f, uint32_t mode, size_t n) {
    sa_err err = sa_idmap_reserve(&f->live, n);
    if (!err && mode == SA_FB_KEYS) {
        err = reserve_labels(f, n);
        if (!err)
            err = sa_ixreader_read(r, f->key_ids, n * sizeof *f->key_ids, "labels");
        if (!err)
            err = sa_ixreader_read(r, f->dead, n, "labels");
        f->nkeys = err ? 0 : n;
    }
    for (size_t i = 0; !err && i < n; i++) {
        int64_t id;
        size_t other;
        if (mode == SA_FB_IDS)
            err = sa_ixreader_read(r, &id, sizeof id, "ids");
        else if (f->dead[i] > 1)
            err = sa_error_set(SA_ERR_FORMAT, "%s: label %zu has a bad flag", r->path, i);
        else if (f->dead[i])
            continue;
        else
            id = f->key_ids[i];
        if (!err && (id == -1 || sa_idmap_find(&f->live, id, &other)))
            err = sa_error_set(SA_ERR_FORMAT, "%s: id %lld is reserved or appears twice", r->path, (long long)id);
        if (!err)
            sa_idmap_put(&f->live, id, mode == SA_FB_KEYS ? i : 0);
    }
    return err;
}

sa_err sa_faiss_load(sa_ixreader *r, const sa_ixfile_header *h, sa_index **out) {
    unsigned char head[FAISS_BODY_HEADER];
    sa_err err = sa_ixreader_read(r, head, sizeof head, "FAISS header");
    if (err)
        return err;
    uint32_t mode, fdim;
    uint64_t n;
    memcpy(&mode, head, 4);
    memcpy(&fdim, head + 4, 4);
    memcpy(&n, head + 8, 8);
    uint64_t per_label = mode == SA_FB_KEYS ? sizeof(int64_t) + 1 : sizeof(int64_t);
    if (mode != SA_FB_IDS && mode != SA_FB_KEYS)
        return sa_error_set(SA_ERR_FORMAT, "%s: unknown label mode %u", r->path, (unsigned)mode);
    if (fdim < (uint32_t)h->dim || fdim >= (uint32_t)h->dim + PQ_DIMS_PER_SUBQUANTIZER)
        return sa_error_set(SA_ERR_FORMAT, "%s: FAISS dimension %u for vectors of %d", r->path, (unsigned)fdim,
                            h->dim);
    if (n > sa_ixreader_left(r) / per_label || (mode == SA_FB_IDS && n != h->count))
        return sa_error_set(SA_ERR_FORMAT, "%s: %llu labels do not fit the file or its count of %llu", r->path,
                            (unsigned long long)n, (unsigned long long)h->count);
    faiss_index *f = NULL;
    err = alloc_index(h->type, h->dim, (size_t)h->count, &f);
    if (err)
        return err;
    f->fdim = (int)fdim;
    err = load_labels(r, f, mode, (size_t)n);
    if (!err && f->live.count != h->count)
        err = sa_error_set(SA_ERR_FORMAT, "%s: %zu live labels, the header says %llu", r->path, f->live.count,
                           (unsigned long long)h->count);
    if (!err)
        err = sa_fb_read(read_cb, r, &f->fb);
    if (!err && ((uint32_t)sa_fb_label_mode(f->fb) != mode || sa_fb_dim(f->fb) != (int)fdim ||
                 (uint64_t)sa_fb_ntotal(f->fb) != n))
        err = sa_error_set(SA_ERR_FORMAT, "%s: the FAISS index (%lld vectors of %d) does not match its labels",
                           r->path, (long long)sa_fb_ntotal(f->fb), sa_fb_dim(f->fb));
    if (err) {
        faiss_free(&f->base);
        return err;
    }
    snprintf(f->factory, sizeof f->factory, "(loaded)");
    *out = &f->base;
    return SA_OK;
}

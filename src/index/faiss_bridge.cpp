// faiss_bridge.cpp: the one C++ file: FAISS indexes behind the extern "C"
// functions of faiss_bridge.h. No exception leaves this file.
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <omp.h>

#include <faiss/AutoTune.h>
#include <faiss/IVFlib.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include "index/faiss_bridge.h"

struct sa_fb {
    std::unique_ptr<faiss::Index> top;  // what is saved and loaded
    faiss::IndexIDMap *idmap = nullptr; // top, when it maps labels to ids
    faiss::Index *inner = nullptr;      // what searches: idmap's index, or top
    faiss::IndexIVF *ivf = nullptr;     // the IVF inside inner, if any
    faiss::IndexHNSW *hnsw = nullptr;   // inner, when it is HNSW
    sa_fb_labels mode = SA_FB_KEYS;
};

namespace {

// FAISS messages read "Error in <signature> at <file>.cpp:<line>: <what>":
// the caller wants <what>. (No allocation: this runs inside a catch.)
const char *faiss_message(const char *full) {
    const char *at = std::strstr(full, ".cpp:");
    const char *colon = at ? std::strstr(at, ": ") : nullptr;
    return colon ? colon + 2 : full;
}

// Runs body, turning any exception into an sa_err of the given kind (out
// of memory stays out of memory) whose detail is FAISS's message, after
// what was being done and to what (subject, may be "").
template <typename F> sa_err guarded(sa_err kind, const char *doing, const char *subject, F &&body) {
    try {
        body();
        return SA_OK;
    } catch (const std::bad_alloc &) {
        return sa_error_set(SA_ERR_NOMEM, "faiss, %s%s: out of memory", doing, subject);
    } catch (const std::exception &e) {
        return sa_error_set(kind, "faiss, %s%s: %s", doing, subject, faiss_message(e.what()));
    } catch (...) {
        return sa_error_set(SA_ERR_INTERNAL, "faiss, %s%s: unknown exception", doing, subject);
    }
}

// Fills the views of fb from fb->top.
void attach(sa_fb *fb) {
    fb->idmap = dynamic_cast<faiss::IndexIDMap *>(fb->top.get());
    fb->inner = fb->idmap ? fb->idmap->index : fb->top.get();
    fb->ivf = faiss::ivflib::try_extract_index_ivf(fb->inner);
    fb->hnsw = dynamic_cast<faiss::IndexHNSW *>(fb->inner);
    // IVF (bare or after a transform) stores the caller's ids itself
    bool ivf_ids = dynamic_cast<faiss::IndexIVF *>(fb->inner) ||
                   (fb->ivf && dynamic_cast<faiss::IndexPreTransform *>(fb->inner));
    fb->mode = fb->idmap || ivf_ids ? SA_FB_IDS : SA_FB_KEYS;
}

// Whether an (empty) index implements remove_ids: FAISS says so only by throwing.
bool removable(faiss::Index *index) {
    try {
        faiss::IDSelectorRange none(0, 0);
        index->remove_ids(none);
        return true;
    } catch (const faiss::FaissException &) {
        return false;
    }
}

// The first error of a reader's or writer's callback, with its detail: FAISS
// then throws, and guarded's message would replace that detail, which says
// more (which file, truncated or full disk).
struct CallbackError {
    sa_err err = SA_OK;
    char detail[1024] = "";
    // Notes the result of a callback; whether it succeeded.
    bool note(sa_err result) {
        if (result != SA_OK) {
            err = result;
            std::snprintf(detail, sizeof detail, "%s", sa_error_detail());
        }
        return result == SA_OK;
    }
    // Returns err with its own detail again when the callback failed, else fallback.
    sa_err restore(sa_err fallback) const { return err != SA_OK ? sa_error_set(err, "%s", detail) : fallback; }
};

struct CallbackWriter : faiss::IOWriter {
    sa_fb_write_fn fn;
    void *ctx;
    CallbackError error;
    CallbackWriter(sa_fb_write_fn fn, void *ctx) : fn(fn), ctx(ctx) {}
    size_t operator()(const void *ptr, size_t size, size_t nitems) override {
        return error.err == SA_OK && error.note(fn(ctx, ptr, size * nitems)) ? nitems : 0;
    }
};

struct CallbackReader : faiss::IOReader {
    sa_fb_read_fn fn;
    void *ctx;
    CallbackError error;
    CallbackReader(sa_fb_read_fn fn, void *ctx) : fn(fn), ctx(ctx) {}
    size_t operator()(void *ptr, size_t size, size_t nitems) override {
        return error.err == SA_OK && error.note(fn(ctx, ptr, size * nitems)) ? nitems : 0;
    }
};

} // namespace

extern "C" {

sa_err sa_fb_new(const char *factory, int dim, sa_fb **out) {
    *out = nullptr;
    std::unique_ptr<sa_fb> fb;
    sa_err err = guarded(SA_ERR_INVALID, "creating index ", factory, [&] {
        fb.reset(new sa_fb);
        fb->top.reset(faiss::index_factory(dim, factory, faiss::METRIC_INNER_PRODUCT));
        attach(fb.get());
        if (fb->mode == SA_FB_KEYS && removable(fb->top.get())) {
            std::unique_ptr<faiss::IndexIDMap2> map(new faiss::IndexIDMap2(fb->top.get()));
            map->own_fields = true;
            fb->top.release();
            fb->top.reset(map.release());
            attach(fb.get());
        }
        if (fb->ivf) // reconstruct and remove by id
            fb->ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
    });
    if (err == SA_OK)
        *out = fb.release();
    return err;
}

void sa_fb_free(sa_fb *fb) { delete fb; }

sa_fb_labels sa_fb_label_mode(const sa_fb *fb) { return fb->mode; }

int sa_fb_dim(const sa_fb *fb) { return fb->top->d; }

int64_t sa_fb_ntotal(const sa_fb *fb) { return fb->top->ntotal; }

bool sa_fb_is_trained(const sa_fb *fb) { return fb->top->is_trained; }

size_t sa_fb_nlist(const sa_fb *fb) { return fb->ivf ? fb->ivf->nlist : 0; }

bool sa_fb_is_hnsw(const sa_fb *fb) { return fb->hnsw != nullptr; }

void sa_fb_settings_get(const sa_fb *fb, sa_fb_settings *out) {
    *out = sa_fb_settings{};
    if (fb->ivf)
        out->nprobe = (int)fb->ivf->nprobe;
    if (fb->hnsw) {
        // level 0 holds 2*M neighbours per vector, the upper levels M
        out->m = (int)fb->hnsw->hnsw.nb_neighbors(1);
        out->ef_search = fb->hnsw->hnsw.efSearch;
        out->ef_construction = fb->hnsw->hnsw.efConstruction;
    }
}

sa_err sa_fb_train(sa_fb *fb, const float *x, size_t n) {
    return guarded(SA_ERR_INVALID, "training", "", [&] { fb->top->train((faiss::Index::idx_t)n, x); });
}

sa_err sa_fb_add(sa_fb *fb, const float *x, size_t n, const int64_t *ids) {
    return guarded(SA_ERR_INVALID, "adding vectors", "", [&] {
        if (ids)
            fb->top->add_with_ids((faiss::Index::idx_t)n, x, ids);
        else
            fb->top->add((faiss::Index::idx_t)n, x);
    });
}

sa_err sa_fb_remove(sa_fb *fb, const int64_t *ids, size_t n) {
    return guarded(SA_ERR_UNSUPPORTED, "removing vectors", "", [&] {
        if (fb->ivf) { // its id hash table takes only an explicit list
            faiss::IDSelectorArray sel(n, ids);
            fb->top->remove_ids(sel);
        } else { // a hashed set: others test every stored vector against it
            faiss::IDSelectorBatch sel(n, ids);
            fb->top->remove_ids(sel);
        }
    });
}

sa_err sa_fb_reconstruct(const sa_fb *fb, int64_t label, float *v) {
    return guarded(SA_ERR_UNSUPPORTED, "reconstructing a vector", "", [&] { fb->top->reconstruct(label, v); });
}

sa_err sa_fb_search(const sa_fb *fb, const float *q, size_t k, int nprobe, int ef_search, float *scores,
                    int64_t *labels) {
    return guarded(SA_ERR_INVALID, "searching", "", [&] {
        // IndexIDMap refuses search parameters: search its index, then map the labels
        faiss::SearchParametersIVF ivf_params;
        faiss::SearchParametersHNSW hnsw_params;
        const faiss::SearchParameters *params = nullptr;
        if (nprobe > 0 && fb->ivf && fb->ivf == fb->inner) {
            ivf_params.nprobe = (size_t)nprobe;
            ivf_params.max_codes = fb->ivf->max_codes;
            params = &ivf_params;
        } else if (ef_search > 0 && fb->hnsw) {
            hnsw_params.efSearch = ef_search;
            params = &hnsw_params;
        }
        // FAISS splits work over queries: for one, a team of threads is only overhead
        int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        try {
            fb->inner->search(1, q, (faiss::Index::idx_t)k, scores, labels, params);
        } catch (...) {
            omp_set_num_threads(threads);
            throw;
        }
        omp_set_num_threads(threads);
        if (fb->idmap)
            for (size_t i = 0; i < k; i++)
                if (labels[i] >= 0)
                    labels[i] = fb->idmap->id_map[(size_t)labels[i]];
    });
}

sa_err sa_fb_set_param(sa_fb *fb, const char *name, double value) {
    return guarded(SA_ERR_INVALID, "setting ", name, [&] {
        std::string key(name);
        bool ours = key == "nprobe" || key == "efSearch" || key == "efConstruction";
        if (ours && !(value >= 1 && value <= INT_MAX && value == (double)(int)value))
            FAISS_THROW_FMT("%s must be a whole number >= 1, not %g", name, value);
        if (key == "nprobe" && fb->ivf)
            fb->ivf->nprobe = (size_t)value;
        else if (key == "efSearch" && fb->hnsw)
            fb->hnsw->hnsw.efSearch = (int)value;
        else if (key == "efConstruction" && fb->hnsw)
            fb->hnsw->hnsw.efConstruction = (int)value;
        else
            faiss::ParameterSpace().set_index_parameter(fb->top.get(), key, value);
    });
}

void sa_fb_set_threads(int n) { omp_set_num_threads(n > 0 ? n : omp_get_num_procs()); }

sa_err sa_fb_write(const sa_fb *fb, sa_fb_write_fn write, void *ctx) {
    CallbackWriter writer(write, ctx);
    sa_err err = guarded(SA_ERR_IO, "writing the index", "", [&] { faiss::write_index(fb->top.get(), &writer); });
    return writer.error.restore(err);
}

sa_err sa_fb_read(sa_fb_read_fn read, void *ctx, sa_fb **out) {
    *out = nullptr;
    CallbackReader reader(read, ctx);
    std::unique_ptr<sa_fb> fb;
    sa_err err = guarded(SA_ERR_FORMAT, "reading the index", "", [&] {
        fb.reset(new sa_fb);
        fb->top.reset(faiss::read_index(&reader));
        attach(fb.get());
    });
    err = reader.error.restore(err);
    if (err == SA_OK)
        *out = fb.release();
    return err;
}

} // extern "C"

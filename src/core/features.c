/* features.c: named feature groups and their JSON form. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "soundalike/features.h"

static void feature_clear(sa_feature *it) {
    free(it->name);
    free(it->values);
    free(it->text);
    memset(it, 0, sizeof *it);
}

static void group_clear(sa_feature_group *g) {
    for (size_t i = 0; i < g->count; i++)
        feature_clear(&g->items[i]);
    free(g->items);
    free(g->analyzer);
    memset(g, 0, sizeof *g);
}

static void group_empty(sa_feature_group *g) {
    for (size_t i = 0; i < g->count; i++)
        feature_clear(&g->items[i]);
    g->count = 0;
}

const sa_feature_group *sa_features_find_group(const sa_features *f, const char *analyzer) {
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->groups[i].analyzer, analyzer) == 0)
            return &f->groups[i];
    return NULL;
}

sa_err sa_features_group(sa_features *f, const char *analyzer, int version, sa_feature_group **out) {
    sa_feature_group *g = (sa_feature_group *)sa_features_find_group(f, analyzer);
    if (g) {
        if (g->version != version) {
            group_empty(g);
            g->version = version;
        }
        *out = g;
        return SA_OK;
    }
    sa_feature_group *grown = realloc(f->groups, (f->count + 1) * sizeof *grown);
    if (!grown)
        return sa_error_set(SA_ERR_NOMEM, "feature groups");
    f->groups = grown;
    g = &f->groups[f->count];
    memset(g, 0, sizeof *g);
    g->analyzer = strdup(analyzer);
    if (!g->analyzer)
        return sa_error_set(SA_ERR_NOMEM, "feature group name");
    g->version = version;
    f->count++;
    *out = g;
    return SA_OK;
}

/* The item named name, created empty when absent. */
static sa_err group_slot(sa_feature_group *g, const char *name, sa_feature **out) {
    for (size_t i = 0; i < g->count; i++)
        if (strcmp(g->items[i].name, name) == 0) {
            free(g->items[i].values);
            free(g->items[i].text);
            g->items[i].values = NULL;
            g->items[i].text = NULL;
            g->items[i].count = 0;
            *out = &g->items[i];
            return SA_OK;
        }
    sa_feature *grown = realloc(g->items, (g->count + 1) * sizeof *grown);
    if (!grown)
        return sa_error_set(SA_ERR_NOMEM, "features");
    g->items = grown;
    sa_feature *it = &g->items[g->count];
    memset(it, 0, sizeof *it);
    it->name = strdup(name);
    if (!it->name)
        return sa_error_set(SA_ERR_NOMEM, "feature name");
    g->count++;
    *out = it;
    return SA_OK;
}

sa_err sa_features_set(sa_feature_group *g, const char *name, const float *values, size_t n) {
    /* refused where it is made: stored, it could not be written as JSON, and
     * the analysis that made it fails alone instead of the run that stores it */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return sa_error_set(SA_ERR_INVALID, "feature %s.%s: a non-finite value at %zu", g->analyzer, name, i);
    sa_feature *it;
    sa_err err = group_slot(g, name, &it);
    if (err)
        return err;
    it->values = malloc((n ? n : 1) * sizeof(float));
    if (!it->values)
        return sa_error_set(SA_ERR_NOMEM, "feature %s", name);
    if (n)
        memcpy(it->values, values, n * sizeof(float));
    it->count = n;
    return SA_OK;
}

sa_err sa_features_set_scalar(sa_feature_group *g, const char *name, float value) {
    return sa_features_set(g, name, &value, 1);
}

sa_err sa_features_set_text(sa_feature_group *g, const char *name, const char *text) {
    sa_feature *it;
    sa_err err = group_slot(g, name, &it);
    if (err)
        return err;
    it->text = strdup(text);
    if (!it->text)
        return sa_error_set(SA_ERR_NOMEM, "feature %s", name);
    return SA_OK;
}

const sa_feature *sa_features_get(const sa_features *f, const char *analyzer, const char *name) {
    const sa_feature_group *g = sa_features_find_group(f, analyzer);
    if (!g)
        return NULL;
    for (size_t i = 0; i < g->count; i++)
        if (strcmp(g->items[i].name, name) == 0)
            return &g->items[i];
    return NULL;
}

sa_err sa_features_scalar(const sa_features *f, const char *analyzer, const char *name, float *out) {
    const sa_feature *it = sa_features_get(f, analyzer, name);
    if (!it || !it->values || it->count < 1)
        return sa_error_set(SA_ERR_NOT_FOUND, "feature %s.%s is absent", analyzer, name);
    *out = it->values[0];
    return SA_OK;
}

sa_err sa_features_put_group(sa_features *f, const sa_feature_group *src) {
    sa_feature_group *g;
    sa_err err = sa_features_group(f, src->analyzer, src->version, &g);
    if (err)
        return err;
    group_empty(g);
    for (size_t i = 0; i < src->count && !err; i++) {
        const sa_feature *it = &src->items[i];
        err = it->text ? sa_features_set_text(g, it->name, it->text)
                       : sa_features_set(g, it->name, it->values, it->count);
    }
    return err;
}

void sa_features_clear(sa_features *f) {
    for (size_t i = 0; i < f->count; i++)
        group_clear(&f->groups[i]);
    free(f->groups);
    f->groups = NULL;
    f->count = 0;
}

sa_err sa_feature_group_to_json(const sa_feature_group *g, char **out) {
    json_t *obj = json_object();
    if (!obj)
        return sa_error_set(SA_ERR_NOMEM, "json");
    for (size_t i = 0; i < g->count; i++) {
        const sa_feature *it = &g->items[i];
        json_t *v;
        if (it->text) {
            v = json_string(it->text);
        } else {
            /* every value is finite (sa_features_set), so json_real takes it */
            v = json_array();
            for (size_t j = 0; v && j < it->count; j++)
                if (json_array_append_new(v, json_real(it->values[j])) != 0) {
                    json_decref(v);
                    v = NULL;
                }
        }
        if (!v || json_object_set_new(obj, it->name, v) != 0) {
            json_decref(obj);
            return sa_error_set(SA_ERR_NOMEM, "json");
        }
    }
    /* 9 significant digits make every float round-trip exactly */
    *out = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9) | JSON_SORT_KEYS);
    json_decref(obj);
    return *out ? SA_OK : sa_error_set(SA_ERR_NOMEM, "json");
}

static sa_err set_from_json(sa_feature_group *g, const char *name, json_t *v) {
    if (json_is_string(v))
        return sa_features_set_text(g, name, json_string_value(v));
    if (!json_is_array(v))
        return sa_error_set(SA_ERR_FORMAT, "feature %s is neither text nor numbers", name);
    size_t n = json_array_size(v);
    float *vals = malloc((n ? n : 1) * sizeof *vals);
    if (!vals)
        return sa_error_set(SA_ERR_NOMEM, "feature %s", name);
    for (size_t j = 0; j < n; j++) {
        json_t *x = json_array_get(v, j);
        if (!json_is_number(x)) {
            free(vals);
            return sa_error_set(SA_ERR_FORMAT, "feature %s holds a non-number", name);
        }
        vals[j] = (float)json_number_value(x);
    }
    sa_err err = sa_features_set(g, name, vals, n);
    free(vals);
    return err;
}

sa_err sa_feature_group_from_json(sa_feature_group *g, const char *text) {
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    if (!obj || !json_is_object(obj)) {
        json_decref(obj);
        return sa_error_set(SA_ERR_FORMAT, "feature group %s: bad JSON: %s", g->analyzer,
                            obj ? "not an object" : jerr.text);
    }
    const char *name;
    json_t *v;
    sa_err err = SA_OK;
    json_object_foreach(obj, name, v) {
        err = set_from_json(g, name, v);
        if (err)
            break;
    }
    json_decref(obj);
    return err;
}

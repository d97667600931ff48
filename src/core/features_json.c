/* features_json.c: feature groups as JSON documents for people and clients. */
#include "soundalike/features_json.h"

static json_t *value_json(const sa_feature *it) {
    if (it->text)
        return json_string(it->text);
    if (it->count == 1)
        return json_real(it->values[0]);
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < it->count; k++)
        if (json_array_append_new(arr, json_real(it->values[k])) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *group_json(const sa_feature_group *g) {
    json_t *obj = json_pack("{si}", "version", g->version);
    for (size_t i = 0; obj && i < g->count; i++) {
        json_t *v = value_json(&g->items[i]);
        if (!v || json_object_set_new(obj, g->items[i].name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *sa_features_json(const sa_features *f) {
    json_t *groups = json_object();
    for (size_t g = 0; groups && g < f->count; g++) {
        json_t *v = group_json(&f->groups[g]);
        if (!v || json_object_set_new(groups, f->groups[g].analyzer, v) != 0) {
            json_decref(groups);
            return NULL;
        }
    }
    return groups;
}

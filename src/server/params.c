/* params.c: request parameters from the JSON body or the query string, checked against the route's declaration. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/internal.h"

enum { MAX_VECTOR = 65536 };

static const srv_param *declared(const srv_request *req, const char *name) {
    for (const srv_param *p = req->route ? req->route->params : NULL; p && p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* The raw value: a JSON value from the body, else a query-string text.
 * Returns 1 when present, 0 when absent, -1 after replying. */
static int raw_value(srv_request *req, const srv_param *p, json_t **j, const char **text) {
    *j = NULL;
    *text = NULL;
    if (!p) { /* a handler asking for an undeclared name is a bug */
        srv_reply_error(req, 500, "parameter not declared by the route");
        return -1;
    }
    json_t *v = req->json ? json_object_get(req->json, p->name) : NULL;
    if (v && !json_is_null(v)) {
        *j = v;
        return 1;
    }
    const char *value;
    size_t len;
    if (req->conn && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, p->name, strlen(p->name),
                                                   &value, &len) == MHD_YES) {
        if (value && strlen(value) != len) {
            srv_reply_error(req, 400, "%s contains a NUL character", p->name);
            return -1;
        }
        *text = value ? value : "";
        return 1;
    }
    return 0;
}

/* Looks up a parameter, applying its default; *text is the text to parse
 * unless *j (a JSON value) is set. */
static int lookup(srv_request *req, const char *name, const srv_param **p, json_t **j, const char **text) {
    *p = declared(req, name);
    int rc = raw_value(req, *p, j, text);
    if (rc)
        return rc;
    if ((*p)->def) {
        *text = (*p)->def;
        return 1;
    }
    if ((*p)->required) {
        srv_reply_error(req, 400, "missing parameter %s: %s", name, (*p)->description);
        return -1;
    }
    return 0;
}

static int bad_type(srv_request *req, const srv_param *p, const char *what) {
    srv_reply_error(req, 400, "%s must be %s", p->name, what);
    return -1;
}

static int check_range(srv_request *req, const srv_param *p, double v) {
    if (p->min == 0 && p->max == 0)
        return 1;
    if (v < p->min || v > p->max) {
        srv_reply_error(req, 422, "%s must be between %g and %g (got %g)", p->name, p->min, p->max, v);
        return -1;
    }
    return 1;
}

int srv_param_str(srv_request *req, const char *name, const char **out) {
    const srv_param *p;
    json_t *j;
    const char *text;
    int rc = lookup(req, name, &p, &j, &text);
    if (rc <= 0)
        return rc;
    if (j) {
        if (!json_is_string(j))
            return bad_type(req, p, "a string");
        text = json_string_value(j);
    }
    if (!*text && p->required) {
        srv_reply_error(req, 400, "%s must not be empty", name);
        return -1;
    }
    *out = text;
    return 1;
}

int64_t srv_track_id_text(const char *s, size_t n) {
    if (!s || n == 0 || n > 18)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int srv_param_int(srv_request *req, const char *name, long long *out) {
    const srv_param *p;
    json_t *j;
    const char *text;
    int rc = lookup(req, name, &p, &j, &text);
    if (rc <= 0)
        return rc;
    long long v;
    if (j) {
        if (!json_is_integer(j))
            return bad_type(req, p, "an integer");
        v = json_integer_value(j);
    } else {
        char *end;
        errno = 0;
        v = strtoll(text, &end, 10);
        if (errno == ERANGE)
            return check_range(req, p, v < 0 ? -HUGE_VAL : HUGE_VAL) < 0 ? -1 : bad_type(req, p, "a smaller integer");
        if (end == text || *end)
            return bad_type(req, p, "an integer");
    }
    if (check_range(req, p, (double)v) < 0)
        return -1;
    *out = v;
    return 1;
}

int srv_param_number(srv_request *req, const char *name, double *out) {
    const srv_param *p;
    json_t *j;
    const char *text;
    int rc = lookup(req, name, &p, &j, &text);
    if (rc <= 0)
        return rc;
    double v;
    if (j) {
        if (!json_is_number(j))
            return bad_type(req, p, "a number");
        v = json_number_value(j);
    } else {
        char *end;
        v = strtod(text, &end);
        if (end == text || *end || !isfinite(v))
            return bad_type(req, p, "a finite number");
    }
    if (check_range(req, p, v) < 0)
        return -1;
    *out = v;
    return 1;
}

int srv_param_bool(srv_request *req, const char *name, int *out) {
    const srv_param *p;
    json_t *j;
    const char *text;
    int rc = lookup(req, name, &p, &j, &text);
    if (rc <= 0)
        return rc;
    if (j) {
        if (!json_is_boolean(j))
            return bad_type(req, p, "true or false");
        *out = json_is_true(j);
        return 1;
    }
    /* the spellings FastAPI accepts */
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 1;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 1;
        }
    }
    return bad_type(req, p, "true or false");
}

static int vector_from_json(srv_request *req, const srv_param *p, json_t *j, float *v, size_t *n) {
    size_t i;
    json_t *x;
    json_array_foreach(j, i, x) {
        if (!json_is_number(x))
            return bad_type(req, p, "an array of numbers");
        v[i] = (float)json_number_value(x);
    }
    *n = json_array_size(j);
    return 1;
}

static int vector_from_text(srv_request *req, const srv_param *p, const char *text, float *v, size_t cap, size_t *n) {
    const char *s = text + strspn(text, " [");
    *n = 0;
    while (*s && *s != ']') {
        char *end;
        double x = strtod(s, &end);
        if (end == s || *n == cap)
            return bad_type(req, p, "numbers separated by commas");
        v[(*n)++] = (float)x;
        s = end + strspn(end, " ");
        if (*s == ',')
            s++;
    }
    if (*s == ']' && s[1 + strspn(s + 1, " ")] != '\0')
        return bad_type(req, p, "numbers separated by commas");
    return 1;
}

int srv_param_vector(srv_request *req, const char *name, float **out, size_t *n) {
    const srv_param *p;
    json_t *j;
    const char *text;
    int rc = lookup(req, name, &p, &j, &text);
    if (rc <= 0)
        return rc;
    if (j && !json_is_array(j))
        return bad_type(req, p, "an array of numbers");
    size_t cap = j ? json_array_size(j) : strlen(text) / 2 + 1;
    if (cap > MAX_VECTOR) {
        srv_reply_error(req, 422, "%s has more than %d values", name, MAX_VECTOR);
        return -1;
    }
    float *v = malloc((cap ? cap : 1) * sizeof *v);
    if (!v) {
        srv_reply_error(req, 500, "out of memory reading %s", name);
        return -1;
    }
    rc = j ? vector_from_json(req, p, j, v, n) : vector_from_text(req, p, text, v, cap, n);
    for (size_t i = 0; rc > 0 && i < *n; i++)
        if (!isfinite(v[i]))
            rc = bad_type(req, p, "finite numbers (within float range)");
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    return 1;
}

int srv_parse_body(srv_request *req, const char *content_type) {
    if (req->body_len == 0)
        return 0;
    size_t lead = strspn(req->body, " \t\r\n");
    if (!req->body[lead])
        return 0;
    int says_json = content_type && strstr(content_type, "json");
    if (!says_json && req->body[lead] != '{') {
        srv_reply_error(req, 415, "send parameters as a JSON object (Content-Type: application/json) "
                                  "or in the query string");
        return -1;
    }
    json_error_t e;
    req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!req->json) {
        srv_reply_error(req, 400, "the body is not valid JSON: %s (line %d, column %d)", e.text, e.line, e.column);
        return -1;
    }
    if (!json_is_object(req->json)) {
        srv_reply_error(req, 400, "the body must be a JSON object of parameters");
        return -1;
    }
    return 0;
}

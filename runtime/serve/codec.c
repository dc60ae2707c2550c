/* codec.c — the v2 tensor codec.  Parsing goes through the project's strict
 * JSON reader; numbers print with %.9g, which a float survives exactly. */
#include "runtime/serve/codec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/support/json.h"

/* An upper bound on the values a JSON text holds: each one after the first
 * in a container follows a comma, the first follows its bracket. */
static int64_t count_values(const uint8_t *s, size_t len) {
    int64_t n = 1;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        const uint8_t c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"')
            in_str = 1;
        else if (c == ',' || c == '[' || c == '{')
            n++;
    }
    return n;
}

static void copy_name(char *dst, size_t cap, const NcJson *v) { snprintf(dst, cap, "%s", v->s); }

/* Flattens (possibly nested) arrays of numbers into out[*k...]. */
static int flatten(const NcJson *v, float *out, int64_t numel, int64_t *k, int depth, NcError *e) {
    if (v->type == NC_JSON_NUMBER) {
        if (*k >= numel) return nc_errorf(e, "input data holds more values than its shape's %lld", (long long)numel);
        if (!(fabs(v->d) <= 3.4028234663852886e38))
            return nc_errorf(e, "input data: value at byte %zu is outside FP32's range", v->offset);
        out[(*k)++] = (float)v->d;
        return 0;
    }
    if (v->type != NC_JSON_ARRAY || depth > V2_MAX_DIMS)
        return nc_errorf(e, "input data: %s at byte %zu where a number was expected (FP32 data is numbers)",
                         nc_json_type_name(v->type), v->offset);
    for (int i = 0; i < v->n; i++)
        if (flatten(&v->items[i], out, numel, k, depth + 1, e)) return -1;
    return 0;
}

static int parse_outputs(const NcJson *outs, V2Request *r, NcError *e) {
    if (outs->type != NC_JSON_ARRAY) return nc_errorf(e, "\"outputs\" must be an array");
    if (outs->n > V2_MAX_OUTPUTS)
        return nc_errorf(e, "\"outputs\" names %d tensors (at most %d)", outs->n, V2_MAX_OUTPUTS);
    for (int i = 0; i < outs->n; i++) {
        const NcJson *o = &outs->items[i], *nm = nc_json_get(o, "name");
        if (o->type != NC_JSON_OBJECT || !nm || nm->type != NC_JSON_STRING)
            return nc_errorf(e, "outputs[%d] must be an object with a string \"name\"", i);
        copy_name(r->outputs[i].name, sizeof r->outputs[i].name, nm);
        r->outputs[i].binary = r->binary_output;
        const NcJson *p = nc_json_get(o, "parameters"), *bd = p ? nc_json_get(p, "binary_data") : NULL;
        if (bd && bd->type != NC_JSON_BOOL)
            return nc_errorf(e, "outputs[%d].parameters.binary_data must be a boolean", i);
        if (bd) r->outputs[i].binary = bd->boolean;
        for (int j = 0; j < i; j++)
            if (!strcmp(r->outputs[j].name, r->outputs[i].name))
                return nc_errorf(e, "output '%s' is requested twice", r->outputs[i].name);
    }
    r->noutputs = outs->n;
    return 0;
}

static int parse_input(const NcJson *in, const uint8_t *bin, size_t bin_len, V2Request *r, NcError *e) {
    const NcJson *nm = nc_json_get(in, "name"), *dt = nc_json_get(in, "datatype"), *sh = nc_json_get(in, "shape");
    if (in->type != NC_JSON_OBJECT || !nm || nm->type != NC_JSON_STRING)
        return nc_errorf(e, "inputs[0] must be an object with a string \"name\"");
    copy_name(r->input_name, sizeof r->input_name, nm);
    if (!dt || dt->type != NC_JSON_STRING) return nc_errorf(e, "input '%s': \"datatype\" is missing", r->input_name);
    if (strcmp(dt->s, "FP32")) {
        char got[64];
        nc_json_snip(got, sizeof got, dt->s, dt->slen);
        return nc_errorf(e, "input '%s': datatype '%s' is not supported (this model takes FP32)", r->input_name, got);
    }
    if (!sh || sh->type != NC_JSON_ARRAY || sh->n < 1 || sh->n > V2_MAX_DIMS)
        return nc_errorf(e, "input '%s': \"shape\" must be an array of 1 to %d integers", r->input_name, V2_MAX_DIMS);
    r->ndim = sh->n;
    r->numel = 1;
    for (int i = 0; i < sh->n; i++) {
        const NcJson *d = &sh->items[i];
        if (d->type != NC_JSON_NUMBER || !d->is_int || d->i < 0 || d->i > (1LL << 31))
            return nc_errorf(e, "input '%s': shape[%d] is not a dimension (a non-negative integer)", r->input_name, i);
        r->shape[i] = d->i;
        r->numel = r->numel * d->i;
        if (r->numel > (1LL << 31)) return nc_errorf(e, "input '%s': shape holds over 2^31 values", r->input_name);
    }
    const NcJson *p = nc_json_get(in, "parameters"), *bs = p ? nc_json_get(p, "binary_data_size") : NULL;
    const NcJson *data = nc_json_get(in, "data");
    r->data = nc_malloc((size_t)r->numel * sizeof(float) + 1);
    if (bs) {
        if (data) return nc_errorf(e, "input '%s': both \"data\" and binary_data_size are given", r->input_name);
        if (bs->type != NC_JSON_NUMBER || !bs->is_int || bs->i < 0)
            return nc_errorf(e, "input '%s': binary_data_size must be a non-negative integer", r->input_name);
        if (bs->i != r->numel * 4)
            return nc_errorf(e, "input '%s': binary_data_size is %lld bytes; shape %s of FP32 needs %lld",
                             r->input_name, (long long)bs->i, "given", (long long)(r->numel * 4));
        if ((size_t)bs->i != bin_len)
            return nc_errorf(e, "input '%s': binary_data_size is %lld bytes but %zu bytes follow the JSON header",
                             r->input_name, (long long)bs->i, bin_len);
        memcpy(r->data, bin, bin_len);
        return 0;
    }
    if (bin_len) return nc_errorf(e, "%zu bytes follow the JSON header but no input has binary_data_size", bin_len);
    if (!data) return nc_errorf(e, "input '%s': no \"data\" (and no binary_data_size)", r->input_name);
    int64_t k = 0;
    if (flatten(data, r->data, r->numel, &k, 0, e)) return nc_error_prefix(e, "input '%s'", r->input_name);
    if (k != r->numel)
        return nc_errorf(e, "input '%s': data holds %lld values; its shape needs %lld", r->input_name, (long long)k,
                         (long long)r->numel);
    return 0;
}

int v2_parse_request(const uint8_t *body, size_t len, int64_t header_len, int64_t max_values, V2Request *r, int *status,
                     NcError *e) {
    memset(r, 0, sizeof *r);
    *status = 400;
    if (header_len > (int64_t)len)
        return nc_errorf(e, "Inference-Header-Content-Length is %lld but the body has %zu bytes", (long long)header_len,
                         len);
    const size_t jlen = header_len >= 0 ? (size_t)header_len : len;
    if (count_values(body, jlen) > max_values) {
        *status = 413;
        return nc_errorf(e,
                         "the JSON holds more values than the largest input this model takes (%lld); send "
                         "large tensors with the binary-data extension",
                         (long long)max_values);
    }
    NcJson *j;
    if (nc_json_parse((const char *)body, jlen, "request JSON", &j, e)) return -1;
    int rc = -1;
    const NcJson *inputs = nc_json_get(j, "inputs"), *id = nc_json_get(j, "id"), *p = nc_json_get(j, "parameters");
    const NcJson *bo = p ? nc_json_get(p, "binary_data_output") : NULL, *outs = nc_json_get(j, "outputs");
    if (j->type != NC_JSON_OBJECT)
        nc_errorf(e, "the request must be a JSON object");
    else if (id && id->type != NC_JSON_STRING)
        nc_errorf(e, "\"id\" must be a string");
    else if (bo && bo->type != NC_JSON_BOOL)
        nc_errorf(e, "parameters.binary_data_output must be a boolean");
    else if (!inputs || inputs->type != NC_JSON_ARRAY || inputs->n != 1)
        nc_errorf(e, "\"inputs\" must be an array of one tensor (this model has one input)");
    else {
        if (id) r->id = nc_strndup(id->s, strlen(id->s));
        r->binary_output = bo && bo->boolean;
        rc = (outs && parse_outputs(outs, r, e)) || parse_input(&inputs->items[0], body + jlen, len - jlen, r, e) ? -1
                                                                                                                  : 0;
    }
    nc_json_free(j);
    if (rc) v2_request_free(r);
    return rc;
}

void v2_request_free(V2Request *r) {
    free(r->id);
    free(r->data);
    memset(r, 0, sizeof *r);
}

char *v2_response(const char *model, const char *id, const V2Tensor *t, int n, size_t *len, size_t *json_len) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) nc_out_of_memory(0);
    fputs("{\"model_name\": ", f);
    nc_json_put_str(f, model);
    fputs(", \"model_version\": \"1\"", f);
    if (id) fputs(", \"id\": ", f), nc_json_put_str(f, id);
    fputs(", \"outputs\": [", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        nc_json_put_str(f, t[i].name);
        fprintf(f, ", \"datatype\": \"FP32\", \"shape\": [%lld, %lld]", (long long)t[i].rows, (long long)t[i].cols);
        const int64_t count = t[i].rows * t[i].cols;
        if (t[i].binary) {
            fprintf(f, ", \"parameters\": {\"binary_data_size\": %lld}}", (long long)(count * 4));
            continue;
        }
        fputs(", \"data\": [", f);
        for (int64_t k = 0; k < count; k++) {
            if (k) fputs(", ", f);
            nc_json_put_num(f, "%.9g", t[i].data[k]);
        }
        fputs("]}", f);
    }
    fputs("]}", f);
    fflush(f);
    *json_len = size;
    for (int i = 0; i < n; i++)
        if (t[i].binary) fwrite(t[i].data, sizeof(float), (size_t)(t[i].rows * t[i].cols), f);
    fclose(f);
    *len = size;
    return buf;
}

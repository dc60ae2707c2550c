/* fuzz_serve.c — libFuzzer target: the KServe v2 request and tensor codec of
 * `serve` (runtime/serve/codec.c) on arbitrary bytes.  The first byte picks
 * how the body is read: JSON alone, or a JSON header of the next two bytes'
 * length followed by binary tensor data (the binary-data extension).  What
 * it accepts must hold exactly shape's product of values, and the response
 * written from those values must be JSON the strict reader takes back, with
 * every finite value the same float.  Replayed by tests/unit/test_fuzz_regress.c
 * (included with NC_FUZZ_NO_MAIN). */
#include "tests/fuzz/fuzz_main.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/serve/codec.c"

static void fuzz_serve_one(const uint8_t *data, size_t size) {
    if (size < 3) return;
    const int64_t hlen = data[0] & 1 ? (int64_t)(data[1] | data[2] << 8) : -1;
    data += 3, size -= 3;
    V2Request r;
    NcError e;
    int status = 0;
    e.msg[0] = 0;
    if (v2_parse_request(data, size, hlen, 1 << 16, &r, &status, &e)) {
        if (!e.msg[0] || (status != 400 && status != 413) || r.data || r.id) abort();
        return;
    }
    int64_t numel = 1;
    for (int i = 0; i < r.ndim; i++) numel *= r.shape[i];
    if (numel != r.numel || !r.data || r.ndim < 1 || r.ndim > V2_MAX_DIMS || r.noutputs > V2_MAX_OUTPUTS) abort();
    V2Tensor t[2] = {{"logits", 1, r.numel, r.data, 0}, {"features", 1, r.numel, r.data, 1}};
    size_t len, json_len;
    char *body = v2_response("fuzz", r.id, t, 2, &len, &json_len);
    if (len != json_len + (size_t)r.numel * 4) abort();
    NcJson *j;
    if (nc_json_parse(body, json_len, "response", &j, &e)) abort();
    const NcJson *out = nc_json_get(j, "outputs"), *d = out && out->n == 2 ? nc_json_get(&out->items[0], "data") : NULL;
    if (!d || d->n != r.numel) abort();
    for (int64_t k = 0; k < r.numel; k++)
        if (isfinite(r.data[k]) ? (float)d->items[k].d != r.data[k] : d->items[k].type != NC_JSON_NULL) abort();
    if (memcmp(body + json_len, r.data, (size_t)r.numel * 4)) abort();
    nc_json_free(j);
    free(body);
    v2_request_free(&r);
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_serve_one)
#endif

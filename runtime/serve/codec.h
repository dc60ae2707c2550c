/* codec.h — the Open Inference Protocol (KServe v2) tensor codec: an infer
 * request's JSON, with its tensors as JSON "data" or, by the binary-data
 * extension, as raw bytes after a JSON header of Inference-Header-Content-Length
 * bytes; and the response, JSON or JSON + binary.  No HTTP here (so the fuzz
 * target can drive it): routes.c checks shapes against the model. */
#ifndef NETC_SERVE_CODEC_H
#define NETC_SERVE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/support/base.h"

#define V2_MAX_DIMS    8
#define V2_MAX_OUTPUTS 8

typedef struct V2Output {
    char name[64];
    int binary; /* its parameters.binary_data, or the request's binary_data_output */
} V2Output;

typedef struct V2Request {
    char *id;            /* "id", or NULL */
    char input_name[64]; /* the one input tensor */
    int ndim;
    int64_t shape[V2_MAX_DIMS];
    int64_t numel;
    float *data;       /* numel FP32 values, row-major */
    int binary_output; /* parameters.binary_data_output */
    int noutputs;      /* 0: every output the model has */
    V2Output outputs[V2_MAX_OUTPUTS];
} V2Request;

/* Parses body[0, len): JSON alone (header_len < 0) or a JSON header of
 * header_len bytes followed by the binary tensor data.  max_values bounds the
 * JSON values (a request holding more than the largest input the model takes
 * is refused before the tree is built, so memory stays bounded).  On failure
 * the message says what was wrong and where; *status is the HTTP status to
 * answer (400, or 413 for too many values). */
int v2_parse_request(const uint8_t *body, size_t len, int64_t header_len, int64_t max_values, V2Request *r, int *status,
                     NcError *e);
void v2_request_free(V2Request *r);

/* One output tensor of a response: rows x cols FP32. */
typedef struct V2Tensor {
    const char *name;
    int64_t rows, cols;
    const float *data;
    int binary;
} V2Tensor;

/* The response body: JSON, then the binary tensors in order.  *json_len is
 * the JSON's length (the Inference-Header-Content-Length when some output is
 * binary); malloc'd, *len bytes in all. */
char *v2_response(const char *model, const char *id, const V2Tensor *t, int n, size_t *len, size_t *json_len);

#endif

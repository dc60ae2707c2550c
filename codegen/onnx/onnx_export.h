/* onnx_export.h — netc's graph IR as an ONNX model (opset 17) that ONNX
 * Runtime and netc's own importer (frontend/onnx/) read.
 *
 * The graph is exported as it is: elaborated (BatchNormalization nodes kept),
 * or after the BN-folding and fusion passes (fused epilogues, squeeze-excite
 * gates and input scales written back out as the ONNX ops they stand for).
 * Parameters become initializers under their IR names (timm's state_dict
 * keys), raw little-endian float32; shapes are the elaborated ones (fixed
 * resolution, and batch unless dynamic_batch, with TensorFlow-style "same" padding already
 * resolved into explicit, possibly asymmetric, pads). */
#ifndef NETC_ONNX_EXPORT_H
#define NETC_ONNX_EXPORT_H

#include "ir/ir.h"

#define NC_ONNX_EXPORT_OPSET 17

typedef struct NcOnnxExportOptions {
    /* The batch axis symbolic ("N") in the input and outputs, and reshape targets that copy it (0): one file
     * for any batch.  Refused (naming the layer) where a reshape does not keep the batch axis. */
    int dynamic_batch;
} NcOnnxExportOptions;

/* Writes g (its parameters bound) to path atomically: a temporary beside it,
 * renamed over it once complete; on failure path is untouched.  Returns 0;
 * -1 with "path: what" in e when the graph has no ONNX form (an op without
 * one names the op and the layer; an unbound parameter, a model past
 * protobuf's 2 GiB); -2 when the file could not be written. */
int nc_onnx_export(const NcGraph *g, const char *path, const NcOnnxExportOptions *opt, NcError *e);

/* The same into memory (malloc'd bytes in *data, *len), for tests. */
int nc_onnx_export_mem(const NcGraph *g, const NcOnnxExportOptions *opt, uint8_t **data, size_t *len, NcError *e);

/* The op table as text: each IR op and the ONNX ops it becomes (netc export --ops). */
void nc_onnx_export_describe(FILE *out);

#endif

/* onnx.h — the ONNX frontend's public face: an ONNX file (opsets 13 to 21, CNN
 * classifiers as torch.onnx.export writes them) in, the same verified graph IR
 * the .nn frontend makes out, its parameters already bound to the file's
 * initializers (so --weights is optional; a safetensors file with the
 * initializers' names replaces them). */
#ifndef NETC_ONNX_H
#define NETC_ONNX_H

#include "frontend/nn.h"

/* Does path name an ONNX file (ends in .onnx)?  The driver sends those here
 * instead of to nc_nn_elaborate. */
int nc_is_onnx_path(const char *path);

/* Reads and imports path.  opt gives the input's height and width where the
 * file's are symbolic (a fixed size that differs is an error) and the batch;
 * model, set and train are refused.  NULL with "file: node 'n' (Op, opset N):
 * what" in e on anything unsupported. */
NcGraph *nc_onnx_import(const char *path, const NcElabOptions *opt, NcError *e);

/* The same from bytes in memory (the fuzzer); external data is read relative
 * to dir, and refused when dir is NULL. */
NcGraph *nc_onnx_import_mem(const char *name, const uint8_t *data, size_t len, const char *dir,
                            const NcElabOptions *opt, NcError *e);

#endif

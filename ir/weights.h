/* weights.h — giving a graph's parameters their values: the deterministic
 * initialiser, or a safetensors file keyed by timm names. */
#ifndef NETC_WEIGHTS_H
#define NETC_WEIGHTS_H

#include "ir/ir.h"
#include "runtime/support/safetensors.h"

/* Allocates and fills every parameter with the deterministic recipe. */
void nc_weights_init_det(NcGraph *g);

/* Loads every parameter by name from a safetensors file (F32, F16, BF16, F64).
 * Strict, like PyTorch's load_state_dict: missing, unexpected (other than
 * num_batches_tracked) and wrong-shaped tensors are all errors, each named.
 * So are NaN or infinite values and negative BN variances, each tensor named
 * with its first bad index: a model holding them answers NaN. */
int nc_weights_load(NcGraph *g, const char *path, NcError *e);

/* The same from a file already read (nc_st_open), so that one file binds the
 * graphs of several resolutions without being read again. */
int nc_weights_bind(NcGraph *g, const NcSafetensors *st, NcError *e);

/* Writes every parameter as F32 safetensors (atomically). */
int nc_weights_save(const NcGraph *g, const char *path, NcError *e);

#endif

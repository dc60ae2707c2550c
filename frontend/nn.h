/* nn.h — the .nn frontend's public face: a description plus a resolution in,
 * a verified graph out. */
#ifndef NETC_NN_H
#define NETC_NN_H

#include "ir/ir.h"

typedef struct NcElabOptions {
    int height, width; /* input resolution */
    int batch;         /* default 1 */
    const char *model; /* which `model` of the file; NULL = the last one */
    int nset;          /* overrides of the model's keyword parameters: name=value */
    const char *const *set;
    int no_imports;      /* refuse `import` (the fuzzer sets this) */
    size_t memory_limit; /* bytes elaboration may hold; 0 = ELAB_MEMORY_LIMIT (frontend/elab.h) */
    int train;           /* dropout and drop_path make dropout nodes (inference: they are the identity) */
} NcElabOptions;

/* Reads `path` (and its imports), elaborates the model at the given size and
 * returns the graph, or NULL with a `file:line:col` message in e. */
NcGraph *nc_nn_elaborate(const char *path, const NcElabOptions *opt, NcError *e);

/* The same from text in memory (used by the fuzzer); imports resolve against
 * dir (may be NULL). */
NcGraph *nc_nn_elaborate_text(const char *name, const char *text, size_t len, const char *dir, const NcElabOptions *opt,
                              NcError *e);

#endif

/* bundle_writer.h — the compiler's side of runtime/bundle.h: serialise
 * planned graphs (one per resolution) and their shared weights. */
#ifndef NETC_BUNDLE_WRITER_H
#define NETC_BUNDLE_WRITER_H

#include "passes/pass.h"

/* Writes the bundle to `path` and, with weights_path non-NULL, the weights to
 * that separate file instead of inside the bundle (both atomically).
 * Parameters are shared between graphs by name. */
int nc_bundle_write(const char *path, const char *weights_path, const char *model, NcGraph *const *graphs,
                    const NcPlan *plans, int n, NcError *e);

#endif

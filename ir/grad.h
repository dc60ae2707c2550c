/* grad.h — what the gradient rules (grad_*.c) share: appending a gradient
 * node and reducing a gradient to a broadcast operand's shape. */
#ifndef NETC_GRAD_H
#define NETC_GRAD_H

#include "ir/ops.h"

/* Appends op(in) with attributes a under the forward node's scope; returns
 * the value id of its output `out` (or -1 with e set). */
int nc_grad_emit(NcGraph *g, NcOpKind op, int nin, const int *in, const NcAttrs *a, const char *scope, int out,
                 NcError *e);
/* The node index of the last node emitted (for multi-output gradient ops). */
static inline int nc_grad_last(const NcGraph *g) { return g->nodes.len - 1; }
/* a->sizes = v's shape. */
void nc_grad_sizes(NcAttrs *a, const NcValue *v);
/* The gradient dy reduced to the shape of value `to` (it broadcast to dy's):
 * dy itself when the shapes agree. */
int nc_grad_reduce_to(NcGraph *g, int dy, int to, const char *scope, NcError *e);

#endif

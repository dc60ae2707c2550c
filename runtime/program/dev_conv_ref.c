/* dev_conv_ref.c — the device layer's conv descriptor (runtime/device/device.h's
 * NcDevConv, what cuDNN is given on a GPU) run by the interpreter's reference
 * conv (ir/ref_conv.c), for the emulator and the stand-in cuDNN of
 * tests/cuda/fake_cuda.c: the descriptor is mapped back to a conv2d node, so a
 * wrong field in it (a pad, a stride) shows as a difference from the
 * interpreter in the emulated programs' tests. */
#include <string.h>

#include "ir/ops.h"
#include "runtime/device/device.h"
#include "runtime/program/dev_exec.h"

/* Exported (programs link -rdynamic): the stand-in cuDNN calls it by this name. */
void netc_dev_conv_reference(const NcDevConv *c, const float *x, const float *w, float *y);

void netc_dev_conv_reference(const NcDevConv *c, const float *x, const float *w, float *y) {
    NcNode node;
    memset(&node, 0, sizeof node);
    NcAttrs *a = &node.attrs;
    a->kernel[0] = (int)c->r, a->kernel[1] = (int)c->s, a->groups = c->groups;
    for (int i = 0; i < 2; i++) {
        a->stride[i] = c->stride[i], a->dilation[i] = c->dilation[i];
        a->pad[i] = a->pad[i + 2] = c->pad[i]; /* symmetric: top = bottom, left = right */
    }
    NcValue xv = {.ndim = 4, .shape = {c->n, c->c, c->h, c->w}};
    NcValue wv = {.ndim = 4, .shape = {c->k, c->c / c->groups, c->r, c->s}};
    NcValue yv = {.ndim = 4, .shape = {c->n, c->k, c->p, c->q}};
    NcKernelArgs k;
    memset(&k, 0, sizeof k);
    k.node = &node, k.in_v[0] = &xv, k.in_v[1] = &wv, k.out_v[0] = &yv;
    k.in[0] = x, k.in[1] = w, k.out[0] = y;
    nc_ref_conv2d(&k);
}

void nc_dev_exec_register_conv_reference(void) { nc_dev_set_conv_reference(netc_dev_conv_reference); }

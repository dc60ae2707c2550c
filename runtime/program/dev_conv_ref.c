/* dev_conv_ref.c — the device layer's conv descriptor (runtime/device/device.h's
 * NcDevConv, what cuDNN is given on a GPU) run by the interpreter's reference
 * conv and its gradients (ir/ref_conv.c, ir/ref_grad_conv.c), for the emulator
 * and the stand-in cuDNN of tests/cuda/fake_cudnn.c: the descriptor is mapped
 * back to a conv2d node, so a wrong field in it (a pad, a stride, the kind)
 * shows as a difference from the interpreter in the emulated programs' tests. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops.h"
#include "runtime/device/device.h"
#include "runtime/program/dev_exec.h"

/* Exported (programs link -rdynamic): the stand-in cuDNN calls it by this name. */
void netc_dev_conv_reference(const NcDevConv *c, float *x, float *w, float *y);

static float *widened(const uint16_t *h, int64_t n) {
    float *f = nc_malloc((size_t)n * sizeof(float) + 4);
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)h[i] << 16;
        memcpy(&f[i], &u, 4);
    }
    return f;
}

/* f32 to bf16, round to nearest even, a NaN kept quiet: codegen/cpu/cg_precision.h's nc_bf16_round and
 * codegen/cuda/cu_bf16.c's kernel (neither reachable from this layer), for cuDNN's bf16 output. */
static uint16_t bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

static void conv_f32(const NcDevConv *c, float *x, float *w, float *y);

/* x, w, y: the conv's three tensors (device.h), the one its kind computes written. */
void netc_dev_conv_reference(const NcDevConv *c, float *x, float *w, float *y) {
    if (!c->bf16) {
        conv_f32(c, x, w, y);
        return;
    }
    /* bf16 operands widened exactly, the reference's double sums, the result rounded to bf16 */
    const int64_t n[3] = {c->n * c->c * c->h * c->w, c->k * (c->c / c->groups) * c->r * c->s,
                          c->n * c->k * c->p * c->q}; /* x, w, y */
    const int out = c->kind == NC_DEV_CONV_BWD_DATA ? 0 : c->kind == NC_DEV_CONV_BWD_FILTER ? 1 : 2;
    float *t[3] = {x, w, y}, *f[3];
    for (int i = 0; i < 3; i++)
        f[i] = i == out ? nc_malloc((size_t)n[i] * sizeof(float) + 4) : widened((const uint16_t *)t[i], n[i]);
    conv_f32(c, f[0], f[1], f[2]);
    for (int64_t i = 0; i < n[out]; i++) ((uint16_t *)t[out])[i] = bf16_round(f[out][i]);
    for (int i = 0; i < 3; i++) free(f[i]);
}

/* The descriptor as the interpreter's node and values; its kind picks the reference kernel and the operands'
 * places (conv2d: x, w -> y; conv2d_grad_input: dy, w -> dx; conv2d_grad_weight: dy, x -> dw). */
static void conv_f32(const NcDevConv *c, float *x, float *w, float *y) {
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
    k.node = &node;
    switch (c->kind) {
    case NC_DEV_CONV_BWD_DATA:
        k.in_v[0] = &yv, k.in_v[1] = &wv, k.out_v[0] = &xv, k.in[0] = y, k.in[1] = w, k.out[0] = x;
        nc_ref_conv2d_grad_input(&k);
        break;
    case NC_DEV_CONV_BWD_FILTER:
        k.in_v[0] = &yv, k.in_v[1] = &xv, k.out_v[0] = &wv, k.in[0] = y, k.in[1] = x, k.out[0] = w;
        nc_ref_conv2d_grad_weight(&k);
        break;
    default:
        k.in_v[0] = &xv, k.in_v[1] = &wv, k.out_v[0] = &yv, k.in[0] = x, k.in[1] = w, k.out[0] = y;
        nc_ref_conv2d(&k);
    }
}

void nc_dev_exec_register_conv_reference(void) { nc_dev_set_conv_reference(netc_dev_conv_reference); }
